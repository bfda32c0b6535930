package treegen

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kind is an entry's file type as the tests compare it.
type Kind string

// Kinds, named as ls -l's first column does.
const (
	KindReg     Kind = "-"
	KindDir     Kind = "d"
	KindSymlink Kind = "l"
	KindChar    Kind = "c"
	KindBlock   Kind = "b"
	KindFifo    Kind = "p"
	KindSocket  Kind = "s"
)

// Entry is what a reader reports for one path: everything the round-trip
// tests compare. Perm holds the low 12 mode bits exactly as stat(2) has
// them (setuid 04000, setgid 02000, sticky 01000).
type Entry struct {
	Path         string // slash-separated, relative; "." is the root
	Kind         Kind
	Perm         uint32
	Size         int64  // regular files only
	Hash         string // regular files only: content hash, see Snapshot
	Target       string // symlinks only
	Major, Minor uint32 // devices only
	Nlink        uint64
	UID, GID     uint32
	Mtime        int64
	// Ino and Dev identify the inode, to group hard links.
	Ino, Dev uint64
}

// String is a one-line description for test failure messages.
func (e Entry) String() string {
	s := fmt.Sprintf("%s %s %04o n=%d %d/%d t=%d", e.Path, e.Kind, e.Perm, e.Nlink, e.UID, e.GID, e.Mtime)
	switch e.Kind {
	case KindReg:
		s += fmt.Sprintf(" size=%d hash=%s", e.Size, e.Hash)
	case KindSymlink:
		s += " -> " + e.Target
	case KindChar, KindBlock:
		s += fmt.Sprintf(" %d,%d", e.Major, e.Minor)
	}
	return s
}

// hashSeed keys the content hashes of one process. Snapshots are compared
// only within a process, and maphash (AES-based, over 5 GB/s) keeps the
// > 4 GiB file affordable where SHA-256 runs at ~150 MB/s on a loaded
// machine; a corrupted file matching by chance is a 2^-64 event.
var hashSeed = maphash.MakeSeed()

// Snapshot walks root without following symlinks and returns an entry per
// path (root included as "."), hashing every regular file's content.
func Snapshot(root string) (map[string]Entry, error) {
	out := map[string]Entry{}
	buf := make([]byte, 1<<20)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		e, err := stat(p, buf)
		if err != nil {
			return err
		}
		e.Path = filepath.ToSlash(rel)
		out[e.Path] = e
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("treegen: snapshot of %s: %w", root, err)
	}
	return out, nil
}

func stat(p string, buf []byte) (Entry, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return Entry{}, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	e := Entry{
		Perm:  st.Mode & 0o7777,
		Nlink: uint64(st.Nlink),
		UID:   st.Uid,
		GID:   st.Gid,
		Mtime: st.Mtim.Sec,
		Ino:   st.Ino,
		Dev:   st.Dev,
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		e.Kind = KindReg
		e.Size = st.Size
		h, err := hashFile(p, st.Size, buf)
		if err != nil {
			return e, err
		}
		e.Hash = h
	case syscall.S_IFDIR:
		e.Kind = KindDir
	case syscall.S_IFLNK:
		e.Kind = KindSymlink
		t, err := os.Readlink(p)
		if err != nil {
			return e, err
		}
		e.Target = t
	case syscall.S_IFCHR, syscall.S_IFBLK:
		e.Kind = KindChar
		if st.Mode&syscall.S_IFMT == syscall.S_IFBLK {
			e.Kind = KindBlock
		}
		e.Major, e.Minor = devMajor(st.Rdev), devMinor(st.Rdev)
	case syscall.S_IFIFO:
		e.Kind = KindFifo
	case syscall.S_IFSOCK:
		e.Kind = KindSocket
	default:
		return e, fmt.Errorf("%s: unknown file type %o", p, st.Mode)
	}
	return e, nil
}

// hashChunk is the unit of content hashing; holes and zero runs are
// skipped a chunk at a time.
const hashChunk = 64 << 10

// hashFile hashes a file's content as the sequence of its non-zero
// hashChunk-aligned chunks, each with its offset, so the hash equals the
// hash of the full byte stream's content for every reader (a zero chunk
// contributes nothing, wherever it comes from) while holes are skipped
// with SEEK_DATA where the file system reports them: the > 4 GiB sparse
// file then costs a few reads on the source instead of 4 GiB. Readers
// without hole reporting (squashfs) read everything; the size is checked
// separately against stat.
func hashFile(p string, size int64, buf []byte) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var h maphash.Hash
	h.SetSeed(hashSeed)
	buf = buf[:hashChunk]
	var offb [8]byte
	var total int64
	for off := int64(0); off < size; {
		// Jump to the next data region; on file systems without hole
		// reporting this returns off itself.
		if d, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA); err == nil {
			if d >= size {
				total += size - off
				break
			}
			if d > off {
				d -= d % hashChunk
				total += d - off
				off = d
			}
		} else if err == unix.ENXIO {
			// No data after off: the rest is a hole.
			total += size - off
			break
		}
		n, err := f.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			return "", fmt.Errorf("reading %s: %w", p, err)
		}
		if n == 0 {
			break
		}
		if !isZero(buf[:n]) {
			binary.LittleEndian.PutUint64(offb[:], uint64(off))
			h.Write(offb[:])
			h.Write(buf[:n])
		}
		off += int64(n)
		total += int64(n)
	}
	if total != size {
		return "", fmt.Errorf("reading %s: got %d bytes, stat says %d", p, total, size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// HashReader hashes size bytes read from r exactly as Snapshot hashes a
// file's content, for readers that are not file systems (an image reader's
// fs.File). It fails when r yields fewer or more bytes than size.
func HashReader(r io.Reader, size int64) (string, error) {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	buf := make([]byte, hashChunk)
	var offb [8]byte
	var off int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 && !isZero(buf[:n]) {
			binary.LittleEndian.PutUint64(offb[:], uint64(off))
			h.Write(offb[:])
			h.Write(buf[:n])
		}
		off += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	if off != size {
		return "", fmt.Errorf("got %d bytes, expected %d", off, size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var zeroChunk = make([]byte, hashChunk)

func isZero(b []byte) bool { return bytes.Equal(b, zeroChunk[:len(b)]) }

// devMajor and devMinor decode a Linux dev_t as glibc's major()/minor() do.
func devMajor(d uint64) uint32 { return uint32((d>>8)&0xfff | (d>>32)&^0xfff) }
func devMinor(d uint64) uint32 { return uint32(d&0xff | (d>>12)&^0xff) }

// Diff compares two snapshots and returns one line per difference, sorted,
// at most max lines (plus a count of the rest).
func Diff(want, got map[string]Entry, max int) []string {
	var out []string
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			out = append(out, "missing: "+w.String())
			continue
		}
		// Ino and Dev differ between any two file systems; hard links are
		// compared through Nlink and Groups.
		w.Ino, w.Dev, g.Ino, g.Dev = 0, 0, 0, 0
		if w != g {
			out = append(out, fmt.Sprintf("differs:\n\twant %s\n\tgot  %s", w, g))
		}
	}
	for p, g := range got {
		if _, ok := want[p]; !ok {
			out = append(out, "unexpected: "+g.String())
		}
	}
	sort.Strings(out)
	if len(out) > max {
		out = append(out[:max], fmt.Sprintf("... and %d more", len(out)-max))
	}
	return out
}

// Groups returns the hard-link groups of a snapshot: the sorted paths of
// every inode with more than one name, as sorted " | "-joined strings.
func Groups(s map[string]Entry) []string {
	by := map[[2]uint64][]string{}
	for p, e := range s {
		if e.Kind == KindDir {
			continue
		}
		k := [2]uint64{e.Dev, e.Ino}
		by[k] = append(by[k], p)
	}
	var out []string
	for _, ps := range by {
		if len(ps) > 1 {
			sort.Strings(ps)
			out = append(out, strings.Join(ps, " | "))
		}
	}
	sort.Strings(out)
	return out
}

package squashfs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// The reader is checked against images made by the reference mksquashfs
// (squashfs-tools) from a generated tree, never against our own writer, so
// it can in turn check the writer.

// rtMkdev encodes a Linux dev_t as glibc's makedev does (major 12+ bits,
// minor 20 bits, split).
func rtMkdev(major, minor uint32) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (ma&0xfff)<<8 | (ma&^0xfff)<<32 | mi&0xff | (mi&^0xff)<<12
}

// rtContent returns deterministic file contents of a kind.
func rtContent(kind string, n int, seed int64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewSource(seed))
	switch kind {
	case "random":
		r.Read(b)
	case "text":
		for i := range b {
			b[i] = "abcdefgh \n"[r.Intn(10)]
		}
	case "holes": // zero blocks between data: sparse blocks in the image
		for i := 0; i < n; i += 1 << 16 {
			if (i>>16)%2 == 1 {
				continue
			}
			end := min(i+1<<16, n)
			r.Read(b[i:end])
		}
	}
	return b
}

// rtMakeTree builds a tree with every inode type and the corner cases the
// format has: empty/one-block/multi-block files with and without tails,
// sparse blocks, duplicates, hard links, symlinks (relative, absolute
// dangling, to directories, looping), fifos, sockets, devices, special
// permission bits, owners, mtimes, UTF-8 and 255-byte names, deep nesting,
// and a directory big enough for several headers and metadata blocks.
func rtMakeTree(t *testing.T, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		require.NoError(t, err)
	}
	file := func(rel string, data []byte, perm os.FileMode) {
		t.Helper()
		p := filepath.Join(dir, rel)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, data, 0o644))
		must(os.Chmod(p, perm))
	}
	for i, n := range []int{0, 1, 100, 4095, 4096, 4097, 8191, 8192, 131071, 131072, 131073, 300000} {
		file(fmt.Sprintf("files/text-%d", n), rtContent("text", n, int64(i)), 0o644)
	}
	file("files/random-1M+5", rtContent("random", 1<<20+5, 1), 0o644)
	file("files/random-9000", rtContent("random", 9000, 2), 0o644)
	file("files/zeros-600000", make([]byte, 600000), 0o644)
	file("files/holes-700000", rtContent("holes", 700000, 3), 0o644)
	file("files/dup-of-text-300000", rtContent("text", 300000, 11), 0o644)
	file("files/empty2", nil, 0o644)

	file("perm/setuid", []byte("#!/bin/sh\n"), 0o4755|os.ModeSetuid)
	must(os.Chmod(filepath.Join(dir, "perm/setuid"), 0o755|os.ModeSetuid))
	file("perm/setgid", []byte("x"), 0o644)
	must(os.Chmod(filepath.Join(dir, "perm/setgid"), 0o2755|os.ModeSetgid))
	file("perm/none", []byte("secret"), 0)
	must(os.MkdirAll(filepath.Join(dir, "perm/sticky"), 0o755))
	must(os.Chmod(filepath.Join(dir, "perm/sticky"), 0o777|os.ModeSticky))
	file("perm/owned", []byte("owned"), 0o640)
	must(os.Lchown(filepath.Join(dir, "perm/owned"), 1234, 5678))
	file("perm/nobody", []byte("nobody"), 0o600)
	must(os.Lchown(filepath.Join(dir, "perm/nobody"), 65534, 100))

	file("links/hl1", rtContent("text", 5000, 5), 0o644)
	must(os.Link(filepath.Join(dir, "links/hl1"), filepath.Join(dir, "links/hl2")))
	must(os.Link(filepath.Join(dir, "links/hl1"), filepath.Join(dir, "files/hl3")))
	must(os.Symlink("../files/text-100", filepath.Join(dir, "links/rel")))
	must(os.Symlink("/nix/store/00000000000000000000000000000000-dangling/bin/x", filepath.Join(dir, "links/abs-dangling")))
	must(os.Symlink("/files", filepath.Join(dir, "links/abs-dir")))
	must(os.Symlink("../deep", filepath.Join(dir, "links/to-deep")))
	must(os.Symlink("loop2", filepath.Join(dir, "links/loop1")))
	must(os.Symlink("loop1", filepath.Join(dir, "links/loop2")))
	must(os.Symlink(strings.Repeat("x/", 1000)+"end", filepath.Join(dir, "links/long-target")))

	must(os.MkdirAll(filepath.Join(dir, "special"), 0o755))
	must(syscall.Mkfifo(filepath.Join(dir, "special/fifo"), 0o644))
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, "special/socket"), Net: "unix"})
	must(err)
	l.SetUnlinkOnClose(false)
	must(l.Close())
	must(syscall.Mknod(filepath.Join(dir, "special/char-1-3"), syscall.S_IFCHR|0o666, int(rtMkdev(1, 3))))
	must(syscall.Mknod(filepath.Join(dir, "special/block-8-1"), syscall.S_IFBLK|0o660, int(rtMkdev(8, 1))))
	must(syscall.Mknod(filepath.Join(dir, "special/char-big"), syscall.S_IFCHR|0o600, int(rtMkdev(4000, 1000000))))

	file("names/ünïcödé-名前-🙂", []byte("utf8"), 0o644)
	file("names/"+strings.Repeat("n", 255), []byte("long name"), 0o644)
	file("names/with space", nil, 0o644)

	deep := filepath.Join(dir, "deep")
	for i := 0; i < 40; i++ {
		deep = filepath.Join(deep, fmt.Sprintf("d%02d", i))
	}
	must(os.MkdirAll(deep, 0o755))
	must(os.WriteFile(filepath.Join(deep, "bottom"), []byte("bottom"), 0o644))

	// 700 entries with long names: about 70 KB of listing, so several
	// directory headers (at most 256 entries each), metadata blocks, and an
	// index.
	for i := 0; i < 700; i++ {
		name := fmt.Sprintf("big/entry-%04d-%s", i, strings.Repeat("p", 60+i%40))
		if i%7 == 0 {
			must(os.MkdirAll(filepath.Join(dir, name), 0o755))
			continue
		}
		file(name, []byte(name), 0o644)
	}
	// A second one, so that some indexed listing starts inside a metadata
	// block (the index offsets are relative to where the listing starts).
	for i := 0; i < 400; i++ {
		file(fmt.Sprintf("zbig/%s-%04d", strings.Repeat("q", 50), i), nil, 0o644)
	}
	must(os.MkdirAll(filepath.Join(dir, "plain/sub/empty"), 0o755))
	file("plain/a.txt", []byte("hello"), 0o644)
	file("plain/sub/b.bin", rtContent("random", 70000, 9), 0o644)

	// Extended attributes make mksquashfs write the extended form of every
	// inode type (only extended inodes carry an xattr index). trusted.* is
	// the namespace Linux allows on symlinks and special files (root only).
	for _, p := range []string{"special/fifo", "special/socket", "special/char-1-3", "special/block-8-1", "links/rel", "files/text-100", "perm/sticky"} {
		must(rtLsetxattr(filepath.Join(dir, p), "trusted.mkportable", []byte("x")))
	}

	// Modification times last: creating children changes a directory's.
	r := rand.New(rand.NewSource(42))
	must(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ts := time.Unix(1000000000+r.Int63n(1<<30), 0)
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // mksquashfs records symlink mtimes too, but os.Chtimes follows
		}
		return os.Chtimes(p, ts, ts)
	}))
	ts := time.Unix(1700000000, 0)
	must(os.Chtimes(dir, ts, ts))
}

// rtLsetxattr sets an extended attribute without following a symlink (the
// syscall package has no wrapper for lsetxattr).
func rtLsetxattr(path, name string, value []byte) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	n, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, errno := syscall.Syscall6(syscall.SYS_LSETXATTR, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(n)),
		uintptr(unsafe.Pointer(&value[0])), uintptr(len(value)), 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "lsetxattr", Path: path, Err: errno}
	}
	return nil
}

// rtMksquashfs runs mksquashfs on src with extra arguments and returns the
// image path.
func rtMksquashfs(t *testing.T, src string, args ...string) string {
	t.Helper()
	mk := testutil.RequireTool(t, "mksquashfs")
	img := filepath.Join(t.TempDir(), "image.sqfs")
	cmd := exec.Command(mk, append([]string{src, img, "-noappend", "-quiet", "-no-progress", "-processors", "1"}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "mksquashfs %v: %s", args, out)
	return img
}

// rtExpect says which attributes an image takes from the source tree: a
// mksquashfs image keeps owners and times; our writer stores root
// ownership and one fixed time.
type rtExpect struct {
	allRoot bool
	mtime   int64 // -1: the source's
	// looseLinks: the writer keeps no hard links and counts directory
	// links its own way (squashfs-tools-ng's gensquashfs -D);
	// looseRootTime: it does not take the root's time from the source;
	// fewIndexes: it indexes fewer directories than mksquashfs.
	looseLinks, looseRootTime, fewIndexes bool
}

// rtCompareTree checks every path of the source tree against an image
// mksquashfs made of it.
func rtCompareTree(t *testing.T, src string, r *Reader) {
	t.Helper()
	rtCompareTreeWith(t, src, r, rtExpect{mtime: -1})
}

// rtCompareTreeWith checks every path of the source tree against the image.
func rtCompareTreeWith(t *testing.T, src string, r *Reader, x rtExpect) {
	t.Helper()
	var want []string
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, err := filepath.Rel(src, p)
		require.NoError(t, err)
		rel = filepath.ToSlash(rel)
		want = append(want, rel)
		rtCompareEntry(t, p, rel, r, x)
		return nil
	}))

	var got []string
	require.NoError(t, fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err, p)
		got = append(got, p)
		info, err := d.Info()
		require.NoError(t, err, p)
		assert.Equal(t, d.Type(), info.Mode().Type(), p)
		assert.Equal(t, d.IsDir(), info.IsDir(), p)
		return nil
	}))
	sort.Strings(want)
	sort.Strings(got)
	assert.Equal(t, want, got, "the image's tree lists exactly the source's paths")
}

func rtCompareEntry(t *testing.T, p, rel string, r *Reader, x rtExpect) {
	t.Helper()
	var st syscall.Stat_t
	require.NoError(t, syscall.Lstat(p, &st))
	osInfo, err := os.Lstat(p)
	require.NoError(t, err)
	info, err := r.Lstat(rel)
	require.NoError(t, err, rel)
	ii := info.Sys().(*InodeInfo)

	assert.Equal(t, osInfo.Mode(), info.Mode(), "%s: mode", rel)
	assert.Equal(t, path2base(rel), info.Name(), "%s: name", rel)
	if x.allRoot {
		assert.Zero(t, ii.UID, "%s: uid", rel)
		assert.Zero(t, ii.GID, "%s: gid", rel)
	} else {
		assert.Equal(t, st.Uid, ii.UID, "%s: uid", rel)
		assert.Equal(t, st.Gid, ii.GID, "%s: gid", rel)
	}
	if !x.looseLinks {
		assert.Equal(t, uint32(st.Nlink), ii.Nlink, "%s: nlink", rel)
	}
	switch {
	case rel == "." && x.looseRootTime: // not compared
	case x.mtime >= 0:
		assert.Equal(t, x.mtime, info.ModTime().Unix(), "%s: mtime", rel)
		assert.Equal(t, uint32(x.mtime), ii.ModTime, "%s: mtime", rel)
	case osInfo.Mode()&fs.ModeSymlink == 0:
		assert.Equal(t, osInfo.ModTime().Unix(), info.ModTime().Unix(), "%s: mtime", rel)
	}
	switch {
	case osInfo.Mode().IsRegular():
		assert.Equal(t, osInfo.Size(), info.Size(), "%s: size", rel)
		want, err := os.ReadFile(p)
		require.NoError(t, err)
		got, err := r.ReadFile(rel)
		require.NoError(t, err, rel)
		require.Equal(t, sha256.Sum256(want), sha256.Sum256(got), "%s: contents", rel)
		rtCheckReadAt(t, r, rel, want)
	case osInfo.Mode()&fs.ModeSymlink != 0:
		want, err := os.Readlink(p)
		require.NoError(t, err)
		got, err := r.ReadLink(rel)
		require.NoError(t, err, rel)
		assert.Equal(t, want, got, "%s: target", rel)
		assert.Equal(t, int64(len(want)), info.Size(), "%s: symlink size", rel)
	case osInfo.IsDir():
		wantEnts, err := os.ReadDir(p)
		require.NoError(t, err)
		gotEnts, err := r.ReadDir(rel)
		require.NoError(t, err, rel)
		require.Equal(t, len(wantEnts), len(gotEnts), "%s: entries", rel)
		for i := range wantEnts {
			assert.Equal(t, wantEnts[i].Name(), gotEnts[i].Name(), "%s: entry %d", rel, i)
			assert.Equal(t, wantEnts[i].Type(), gotEnts[i].Type(), "%s: entry %d type", rel, i)
		}
	case osInfo.Mode()&fs.ModeDevice != 0:
		maj := uint32((st.Rdev>>8)&0xfff | (st.Rdev>>32)&^0xfff)
		mnr := uint32(st.Rdev&0xff | (st.Rdev>>12)&^0xff)
		assert.Equal(t, maj, ii.Devmajor, "%s: major", rel)
		assert.Equal(t, mnr, ii.Devminor, "%s: minor", rel)
	}
}

func path2base(rel string) string {
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		return rel[i+1:]
	}
	return rel
}

// rtCheckReadAt reads a file through ReadAt and Seek+Read at offsets around
// block boundaries.
func rtCheckReadAt(t *testing.T, r *Reader, rel string, want []byte) {
	t.Helper()
	f, err := r.Open(rel)
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	ra := f.(io.ReaderAt)
	sk := f.(io.ReadSeeker)
	bs := int(r.Superblock().BlockSize)
	for _, off := range []int{0, 1, bs - 1, bs, bs + 1, 3*bs - 2, len(want) - 1, len(want)} {
		if off < 0 || off > len(want) {
			continue
		}
		n := min(bs+10, len(want)-off)
		buf := make([]byte, n+1) // one byte more than available, near the end
		got, err := ra.ReadAt(buf, int64(off))
		if off+len(buf) > len(want) {
			assert.ErrorIs(t, err, io.EOF, "%s ReadAt(%d)", rel, off)
		} else {
			assert.NoError(t, err)
		}
		require.Equal(t, min(len(buf), len(want)-off), got, "%s ReadAt(%d)", rel, off)
		require.True(t, bytes.Equal(want[off:off+got], buf[:got]), "%s ReadAt(%d) bytes", rel, off)

		pos, err := sk.Seek(int64(off), io.SeekStart)
		require.NoError(t, err)
		require.Equal(t, int64(off), pos)
		rest, err := io.ReadAll(sk)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want[off:], rest), "%s Seek(%d)+Read", rel, off)
	}
}

// rtSourceTree builds the tree in a fresh directory (about 3 MB, well under
// a second).
func rtSourceTree(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t) // devices and foreign owners
	dir := t.TempDir()
	rtMakeTree(t, dir)
	return dir
}

func TestReaderMksquashfsImages(t *testing.T) {
	src := rtSourceTree(t)
	seen := map[uint16]bool{}
	tests := []struct {
		name string
		args []string
		comp string // compressor name the reader must see
	}{
		{"gzip", []string{"-comp", "gzip"}, "gzip"},
		{"gzip-level1-4K", []string{"-comp", "gzip", "-Xcompression-level", "1", "-b", "4096"}, "gzip"},
		{"xz", []string{"-comp", "xz"}, "xz"},
		{"xz-dict-bcj", []string{"-comp", "xz", "-Xdict-size", "50%", "-Xbcj", "x86", "-b", "64K"}, "xz"},
		{"zstd", []string{"-comp", "zstd"}, "zstd"},
		{"zstd-level3-1M", []string{"-comp", "zstd", "-Xcompression-level", "3", "-b", "1M"}, "zstd"},
		{"lz4", []string{"-comp", "lz4"}, "lz4"},
		{"lz4-hc", []string{"-comp", "lz4", "-Xhc"}, "lz4"},
		{"uncompressed", []string{"-noI", "-noD", "-noF", "-noX"}, "gzip"},
		{"no-fragments", []string{"-no-fragments", "-b", "8K"}, "gzip"},
		{"always-fragments", []string{"-always-use-fragments"}, "gzip"},
		{"no-dedup-exportable", []string{"-no-duplicates", "-exports", "-no-xattrs"}, "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := rtMksquashfs(t, src, tt.args...)
			r, err := OpenImage(img)
			require.NoError(t, err)
			defer func() { require.NoError(t, r.Close()) }()
			assert.Equal(t, tt.comp, r.Compressor().Name())
			rtCompareTree(t, src, r)
			rtCheckSemantics(t, r, rtExpect{mtime: -1})
			require.NoError(t, fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
				require.NoError(t, err)
				fi, err := r.Lstat(p)
				require.NoError(t, err)
				seen[fi.Sys().(*InodeInfo).Type] = true
				return nil
			}))
		})
	}
	// Across the images every one of the 14 inode types was decoded.
	for typ := uint16(inodeBasicDir); typ <= inodeExtSocket; typ++ {
		assert.True(t, seen[typ], "no image had an inode of type %d", typ)
	}
}

// rtCheckSemantics checks symlink following, errors and the fs interfaces
// on an image of rtMakeTree's tree.
func rtCheckSemantics(t *testing.T, r *Reader, x rtExpect) {
	t.Helper()
	// Hard links share one inode.
	if !x.looseLinks {
		var nums []uint32
		for _, p := range []string{"links/hl1", "links/hl2", "files/hl3"} {
			fi, err := r.Stat(p)
			require.NoError(t, err)
			nums = append(nums, fi.Sys().(*InodeInfo).Inode)
			assert.Equal(t, uint32(3), fi.Sys().(*InodeInfo).Nlink)
		}
		assert.Equal(t, nums[0], nums[1])
		assert.Equal(t, nums[0], nums[2])
	}

	// Open and Stat follow symlinks, relative and absolute (against the
	// image root), also in the middle of a path.
	b, err := r.ReadFile("links/rel")
	require.NoError(t, err)
	assert.Equal(t, rtContent("text", 100, 2), b)
	fi, err := r.Stat("links/abs-dir")
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	assert.Equal(t, "abs-dir", fi.Name())
	b, err = r.ReadFile("links/abs-dir/text-100")
	require.NoError(t, err)
	assert.Equal(t, rtContent("text", 100, 2), b)
	_, err = r.Stat("links/to-deep/d00/d01")
	require.NoError(t, err)
	fi, err = r.Lstat("links/abs-dir")
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSymlink, fi.Mode().Type())

	_, err = r.Stat("links/loop1")
	assert.ErrorIs(t, err, ErrLoop)
	_, err = r.Open("links/loop2/x")
	assert.ErrorIs(t, err, ErrLoop)
	_, err = r.Stat("links/abs-dangling")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = r.Stat("nope")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = r.Stat("files/text-100/x")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = r.Open("/files")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = r.Open("files/../files")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = r.ReadLink("files/text-100")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = r.ReadDir("files/text-100")
	assert.Error(t, err)
	_, err = r.ReadFile("files")
	assert.Error(t, err)
	f, err := r.Open("special/fifo")
	require.NoError(t, err)
	_, err = f.Read(make([]byte, 1))
	assert.Error(t, err)
	require.NoError(t, f.Close())

	// Root.
	fi, err = r.Stat(".")
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
	assert.Equal(t, ".", fi.Name())

	// The big directory's listing spans metadata blocks and headers; an
	// extended directory inode with an index names entries that exist.
	fi, err = r.Stat("big")
	require.NoError(t, err)
	ii := fi.Sys().(*InodeInfo)
	assert.Equal(t, uint16(inodeExtDir), ii.Type, "mksquashfs writes an extended inode for a listing over 8 KiB")
	require.NotEmpty(t, ii.DirIndex)
	prev := ""
	for _, e := range ii.DirIndex {
		_, err := r.Lstat("big/" + e.Name)
		assert.NoError(t, err, "index names %q", e.Name)
		assert.Greater(t, e.Name, prev)
		prev = e.Name
	}
	ents, err := r.ReadDir("big")
	require.NoError(t, err)
	assert.Len(t, ents, 700)
	rtCheckAllDirIndexes(t, r, x)

	// ReadDir on an open directory in chunks, as fs.ReadDirFile specifies.
	df, err := r.Open("big")
	require.NoError(t, err)
	var chunked []string
	for {
		es, err := df.(fs.ReadDirFile).ReadDir(100)
		for _, e := range es {
			chunked = append(chunked, e.Name())
		}
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.Len(t, es, 100)
	}
	assert.Len(t, chunked, 700)

	// The standard library's fs.FS conformance checks on a plain subtree.
	sub, err := fs.Sub(r, "plain")
	require.NoError(t, err)
	require.NoError(t, fstest.TestFS(sub, "a.txt", "sub/b.bin", "sub/empty"))
}

// rtCheckAllDirIndexes verifies every directory index in the image as the
// kernel would use it.
func rtCheckAllDirIndexes(t *testing.T, r *Reader, x rtExpect) {
	t.Helper()
	indexed, offset := 0, 0
	require.NoError(t, fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.IsDir() {
			return nil
		}
		in, _, err := r.resolve(p, false)
		require.NoError(t, err)
		if len(in.DirIndex) > 0 {
			indexed++
			if in.dirOffset != 0 {
				offset++
			}
		}
		assert.NoError(t, r.checkDirIndex(in), p)
		return nil
	}))
	if x.fewIndexes {
		assert.NotZero(t, indexed, "the tree has directories large enough for an index")
		return
	}
	assert.GreaterOrEqual(t, indexed, 2, "the tree has directories large enough for an index")
	assert.NotZero(t, offset, "some indexed listing starts inside a metadata block")
}

// TestReaderGensquashfsImages reads images of a third writer,
// squashfs-tools-ng's gensquashfs, whose layout choices differ from both
// mksquashfs's and ours.
func TestReaderGensquashfsImages(t *testing.T) {
	src := rtSourceTree(t)
	gen := testutil.RequireTool(t, "gensquashfs")
	for _, c := range []string{"gzip", "xz", "zstd", "lz4"} {
		t.Run(c, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "image.sqfs")
			out, err := exec.Command(gen, "--pack-dir", src, "--compressor", c, "--keep-time", "--keep-xattr", "--quiet", "--block-size", "8192", img).CombinedOutput()
			require.NoError(t, err, "gensquashfs: %s", out)
			r, err := OpenImage(img)
			require.NoError(t, err)
			defer func() { require.NoError(t, r.Close()) }()
			x := rtExpect{mtime: -1, looseLinks: true, looseRootTime: true, fewIndexes: true}
			rtCompareTreeWith(t, src, r, x)
			rtCheckSemantics(t, r, x)
		})
	}
}

// TestReaderLargeSparseFile reads a file over 4 GiB (extended file inode,
// 64-bit size) made of holes and a few marks. mksquashfs reads the whole
// file, so this takes about a minute.
func TestReaderLargeSparseFile(t *testing.T) {
	if testing.Short() {
		t.Skip("mksquashfs reads 4 GiB")
	}
	src := t.TempDir()
	p := filepath.Join(src, "big")
	f, err := os.Create(p)
	require.NoError(t, err)
	const size = 4<<30 + 3*4096 + 5
	marks := map[int64]string{0: "M0", 1 << 20: "M1", 4<<30 - 20: "M2", 4<<30 + 10: "M3", size - 2: "M4"}
	for off, m := range marks {
		_, err := f.WriteAt([]byte(m), off)
		require.NoError(t, err)
	}
	require.NoError(t, f.Truncate(size))
	require.NoError(t, f.Close())
	img := rtMksquashfs(t, src, "-comp", "zstd", "-b", "1M")

	r, err := OpenImage(img)
	require.NoError(t, err)
	defer func() { require.NoError(t, r.Close()) }()
	fi, err := r.Stat("big")
	require.NoError(t, err)
	assert.Equal(t, int64(size), fi.Size())
	assert.Equal(t, uint16(inodeExtFile), fi.Sys().(*InodeInfo).Type)
	rf, err := r.Open("big")
	require.NoError(t, err)
	for off, m := range marks {
		buf := make([]byte, 4)
		n, err := rf.(io.ReaderAt).ReadAt(buf, off-1)
		if off == 0 {
			n, err = rf.(io.ReaderAt).ReadAt(buf[1:], 0)
			n++
		}
		if off+3 > size {
			require.ErrorIs(t, err, io.EOF)
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, "\x00"+m+"\x00", string(buf[:4])[:n]+strings.Repeat("\x00", 4-n), "at %d", off)
	}
	// Every byte read sequentially: zeros except the marks.
	var pos int64
	buf := make([]byte, 1<<20)
	for {
		n, err := rf.Read(buf)
		for i := 0; i < n; i++ {
			if buf[i] != 0 {
				off := pos + int64(i)
				m, ok := marks[off]
				if !ok {
					m, ok = marks[off-1]
					ok = ok && len(m) == 2
					if ok {
						m = m[1:]
					}
				}
				require.True(t, ok && buf[i] == m[0], "unexpected byte %#x at %d", buf[i], off)
			}
		}
		pos += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
	}
	assert.Equal(t, int64(size), pos)
}

func TestReaderRejectsNonImages(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("hsqs"), make([]byte, 4096), bytes.Repeat([]byte("hsqs"), 100)} {
		_, err := NewReader(bytes.NewReader(data), int64(len(data)))
		require.Error(t, err)
		assert.True(t, errors.Is(err, ErrNotSquashfs) || errors.Is(err, ErrCorrupt), "%v", err)
	}
	_, err := OpenImage(filepath.Join(t.TempDir(), "missing.sqfs"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// TestReaderTruncatedImage: any truncation of a real image fails cleanly.
func TestReaderTruncatedImage(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), rtContent("text", 50000, 1), 0o644))
	img := rtMksquashfs(t, src, "-comp", "gzip", "-b", "4096")
	data, err := os.ReadFile(img)
	require.NoError(t, err)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	require.NoError(t, err)
	used := int(r.Superblock().BytesUsed)
	for cut := 0; cut < used; cut += 97 {
		d := data[:cut]
		r, err := NewReader(bytes.NewReader(d), int64(len(d)))
		if err != nil {
			continue
		}
		_, err = r.ReadFile("f")
		assert.Error(t, err, "cut at %d", cut)
	}
}

// TestReaderConcurrent reads every file of one image from several goroutines
// at once (run with -race): the caches are shared.
func TestReaderConcurrent(t *testing.T) {
	src := rtSourceTree(t)
	img := rtMksquashfs(t, src, "-comp", "zstd", "-b", "4096")
	r, err := OpenImage(img)
	require.NoError(t, err)
	defer func() { require.NoError(t, r.Close()) }()
	var files []string
	require.NoError(t, fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	}))
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := range files {
				p := files[(i+g*17)%len(files)]
				got, err := r.ReadFile(p)
				if err != nil {
					errs <- err
					return
				}
				want, err := os.ReadFile(filepath.Join(src, p))
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, want) {
					errs <- fmt.Errorf("%s: contents differ under concurrency", p)
					return
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < 8; g++ {
		assert.NoError(t, <-errs)
	}
}

func TestReaderCacheBounds(t *testing.T) {
	var c rdLRU[int, string]
	c.init(3, 10)
	c.put(1, "a", 4)
	c.put(2, "b", 4)
	_, ok := c.get(1) // 1 is now more recent than 2
	require.True(t, ok)
	c.put(3, "c", 4) // cost 12 > 10: evicts the least recently used, 2
	_, ok = c.get(2)
	assert.False(t, ok)
	_, ok = c.get(1)
	assert.True(t, ok)
	c.put(4, "d", 1)
	c.put(5, "e", 1) // 4 items > 3: evicts 3 (1 was used after it)
	assert.Len(t, c.items, 3)
	_, ok = c.get(3)
	assert.False(t, ok)
	c.put(6, "too big", 11)
	_, ok = c.get(6)
	assert.False(t, ok, "an item over the whole budget is not cached")
	c.put(5, "e2", 2) // replacing keeps the accounting right
	total := 0
	for _, it := range c.items {
		total += it.cost
	}
	assert.Equal(t, total, c.cost)
	assert.LessOrEqual(t, c.cost, 10)
}

// TestReaderEmptyRoot: an image whose root is empty has an empty directory
// table, so the id table's first block starts exactly at DirTableStart. The
// kernel and unsquashfs accept that layout; so must the reader.
func TestReaderEmptyRoot(t *testing.T) {
	var buf wtTruncBuffer
	w, err := NewWriter(&buf, Options{BlockSize: 4096, Workers: 1})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	img := buf.b
	r, err := NewReader(bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	entries, err := r.ReadDir(".")
	require.NoError(t, err)
	assert.Empty(t, entries)
	fi, err := r.Stat(".")
	require.NoError(t, err)
	assert.True(t, fi.IsDir())
}

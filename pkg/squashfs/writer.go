package squashfs

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"runtime"
	"sync/atomic"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// Type is the kind of an entry.
type Type uint8

// Entry types. The zero value is a regular file, as in archive/tar.
const (
	TypeReg     Type = iota // regular file; Size bytes follow through Write
	TypeDir                 // directory
	TypeSymlink             // symbolic link to Linkname, stored verbatim
	TypeLink                // hard link: another name for the earlier entry Linkname
	TypeChar                // character device Devmajor:Devminor
	TypeBlock               // block device Devmajor:Devminor
	TypeFifo                // named pipe
	TypeSocket              // unix socket
)

var typeNames = [...]string{"regular file", "directory", "symlink", "hard link", "character device", "block device", "fifo", "socket"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Header describes one entry of the image.
type Header struct {
	// Name is the slash-separated path relative to the image root
	// ("usr/bin/x"); "" or "." is the root directory itself.
	Name string
	Type Type
	// Mode holds the permission bits plus fs.ModeSetuid, fs.ModeSetgid and
	// fs.ModeSticky; type bits are ignored (Type decides).
	Mode fs.FileMode
	// Size is, for TypeReg, the exact number of bytes Write will receive.
	Size int64
	// Linkname is the target of a TypeSymlink (stored verbatim, never
	// followed) or, for TypeLink, the Name of an earlier non-directory entry.
	Linkname string
	// Devmajor and Devminor identify a TypeChar or TypeBlock device; the
	// format holds majors below 4096 and minors below 2^20.
	Devmajor, Devminor uint32
	// UID and GID own the entry; 0 is root.
	UID, GID uint32
}

// Options configure a Writer. The zero value is usable.
type Options struct {
	// BlockSize is the data block size, a power of two from 4 KiB to 1 MiB;
	// 0 means DefaultBlockSize (128 KiB).
	BlockSize int
	// Compressor compresses data and metadata; nil means compress.Default()
	// (gzip, as mksquashfs).
	Compressor compress.Compressor
	// Workers is the number of goroutines compressing data blocks; 0 means
	// runtime.GOMAXPROCS(0). The image is byte-identical for any value.
	Workers int
	// ModTime is the modification time of every inode and of the image, in
	// seconds since 1970 (default 0, like SOURCE_DATE_EPOCH=0); it must fit
	// an unsigned 32-bit integer. The clock is never read.
	ModTime int64
	// RootMode is the permission of the root directory. Non-zero, it wins
	// over an explicit "." header's mode (like mksquashfs -root-mode);
	// zero means the "." header's mode if there is one, else 0755.
	RootMode fs.FileMode
}

// Stats are progress counters, safe to read while the Writer works.
type Stats struct {
	Entries  int64 // entries in the tree so far (implied directories included, root excluded)
	BytesIn  int64 // file data bytes received
	BytesOut int64 // image bytes written so far
}

// Errors. Every error a Writer returns wraps one of these or an I/O error,
// and is sticky: once a call failed, every later call returns the same error.
var (
	ErrWriteTooLong  = errors.New("squashfs: write too long")
	ErrShortWrite    = errors.New("squashfs: fewer bytes written than the header's size")
	ErrDuplicate     = errors.New("squashfs: duplicate entry")
	ErrInvalidName   = errors.New("squashfs: invalid entry name")
	ErrInvalidHeader = errors.New("squashfs: invalid header")
	ErrParentNotDir  = errors.New("squashfs: parent is not a directory")
	ErrSizeChanged   = errors.New("squashfs: file changed size while read")
	ErrClosed        = errors.New("squashfs: writer closed")
)

// maxSymlinkLen is the longest symlink target: the kernel refuses a symlink
// inode larger than a page (fs/squashfs/inode.c "Corrupted symlink"), and
// Linux paths are at most PATH_MAX-1 = 4095 bytes.
const maxSymlinkLen = 4095

// fragRef locates a packed tail end: fragment index and offset in it.
type fragRef struct{ idx, off uint32 }

// Writer writes a SquashFS 4.0 image. Entries come through WriteHeader (and
// Write for file data) in any order; see the package documentation. A Writer
// is not safe for concurrent use, except Stats.
type Writer struct {
	opts      Options
	comp      compress.Compressor
	blockSize int
	mtime     uint32
	out       *imageOutput
	pipe      *blockPipeline

	root  *treeNode
	nodes map[treeKey]*treeNode

	cur    *dataBlock // block being filled with the current file's data
	frag   *dataBlock // fragment block being filled with tail ends
	nfrags uint32     // index of the fragment block being filled
	tails  map[[32]byte]fragRef

	file      *treeNode // regular file receiving data
	fileName  string
	remaining int64

	hardlinks map[devIno]string // AddFS: first name of each multiply linked file

	err     error
	closed  bool
	entries atomic.Int64
	bytesIn atomic.Int64
	final   atomic.Int64 // image size after Close
}

// NewWriter starts an image on w, at w's current offset. w must be able to
// seek back (to the superblock, and over the blocks of duplicate files);
// when it also has a Truncate(int64) error method, as *os.File does, the
// image ends exactly at its padded size. Call Close to finish the image and
// release the worker goroutines, also after an error.
func NewWriter(w io.WriteSeeker, opts Options) (*Writer, error) {
	if opts.BlockSize == 0 {
		opts.BlockSize = DefaultBlockSize
	}
	if err := CheckBlockSize(opts.BlockSize); err != nil {
		return nil, fmt.Errorf("squashfs: %w", err)
	}
	if opts.Compressor == nil {
		opts.Compressor = compress.Default()
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.ModTime < 0 || opts.ModTime > math.MaxUint32 {
		return nil, fmt.Errorf("squashfs: modification time %d does not fit the format's unsigned 32-bit seconds", opts.ModTime)
	}
	out, err := newImageOutput(w)
	if err != nil {
		return nil, err
	}
	// The superblock is written last, at Close; reserve its place. The
	// compressor options record follows it as one uncompressed metadata
	// block (format.adoc "Compression Options").
	head := make([]byte, SuperblockSize)
	if rec := opts.Compressor.Options(); rec != nil && !opts.Compressor.Uncompressed() {
		head, _, err = appendMetadataBlock(head, nil, rec, nil)
		if err != nil {
			return nil, err
		}
	}
	if _, err := out.Write(head); err != nil {
		return nil, err
	}
	wr := &Writer{
		opts:      opts,
		comp:      opts.Compressor,
		blockSize: opts.BlockSize,
		mtime:     uint32(opts.ModTime),
		out:       out,
		root:      &treeNode{typ: TypeDir, mode: 0o755},
		nodes:     make(map[treeKey]*treeNode),
		tails:     make(map[[32]byte]fragRef),
		hardlinks: make(map[devIno]string),
	}
	if opts.RootMode != 0 {
		wr.root.mode = modeBits(opts.RootMode)
	}
	wr.pipe = newBlockPipeline(out, opts.Compressor, opts.BlockSize, opts.Workers)
	return wr, nil
}

// Stats returns the progress counters; safe to call from any goroutine.
func (w *Writer) Stats() Stats {
	out := w.final.Load()
	if out == 0 {
		out = w.pipe.bytesOut.Load()
	}
	return Stats{Entries: w.entries.Load(), BytesIn: w.bytesIn.Load(), BytesOut: out}
}

// check returns the sticky error, picking up one from the pipeline.
func (w *Writer) check() error {
	if w.err != nil {
		return w.err
	}
	if err := w.pipe.failed(); err != nil {
		w.err = err
	}
	return w.err
}

// fail records err as the sticky error and returns it.
func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// WriteHeader adds an entry. Missing parent directories are created with mode
// 0755 owned by root; a later TypeDir header for such a directory sets its
// mode and owner. A regular file's Size bytes must then come through Write
// before the next WriteHeader or Close.
func (w *Writer) WriteHeader(h *Header) error {
	if err := w.check(); err != nil {
		return err
	}
	if w.file != nil {
		return w.fail(fmt.Errorf("%w: %s: %d of %d bytes missing", ErrShortWrite, w.fileName, w.remaining, w.file.size))
	}
	parts, err := splitName(h.Name)
	if err != nil {
		return w.fail(err)
	}
	if len(parts) == 0 {
		if h.Type != TypeDir {
			return w.fail(fmt.Errorf("%w: the root %q must be a directory, not a %v", ErrInvalidHeader, h.Name, h.Type))
		}
		if w.root.explicit {
			return w.fail(fmt.Errorf("%w: the root directory", ErrDuplicate))
		}
		w.root.explicit = true
		w.root.uid, w.root.gid = h.UID, h.GID
		if w.opts.RootMode == 0 {
			w.root.mode = modeBits(h.Mode)
		}
		return nil
	}
	dir, err := w.parentDir(h.Name, parts[:len(parts)-1])
	if err != nil {
		return w.fail(err)
	}
	key := treeKey{dir, parts[len(parts)-1]}
	if old := w.nodes[key]; old != nil {
		if old.typ == TypeDir && !old.explicit && h.Type == TypeDir {
			old.explicit = true
			old.mode = modeBits(h.Mode)
			old.uid, old.gid = h.UID, h.GID
			return nil
		}
		return w.fail(fmt.Errorf("%w: %s", ErrDuplicate, h.Name))
	}
	n := &treeNode{typ: h.Type, mode: modeBits(h.Mode), uid: h.UID, gid: h.GID, explicit: true}
	switch h.Type {
	case TypeReg:
		if h.Size < 0 || h.Size/int64(w.blockSize) > math.MaxInt32 {
			return w.fail(fmt.Errorf("%w: %s: size %d", ErrInvalidHeader, h.Name, h.Size))
		}
		n.size = h.Size
		n.fragIdx = fragmentNone
		if full := h.Size / int64(w.blockSize); full > 0 {
			n.blocks = make([]uint32, 0, full)
		}
	case TypeDir:
	case TypeSymlink:
		t := h.Linkname
		if t == "" || len(t) > maxSymlinkLen || containsNUL(t) {
			return w.fail(fmt.Errorf("%w: %s: symlink target of %d bytes must be 1..%d bytes without NUL", ErrInvalidHeader, h.Name, len(t), maxSymlinkLen))
		}
		n.target = t
	case TypeLink:
		target, err := w.lookup(h.Linkname)
		if err != nil {
			return w.fail(fmt.Errorf("%w: %s: hard link target %q: %w", ErrInvalidHeader, h.Name, h.Linkname, err))
		}
		target = target.resolve()
		if target.typ == TypeDir {
			return w.fail(fmt.Errorf("%w: %s: hard link to the directory %q", ErrInvalidHeader, h.Name, h.Linkname))
		}
		n = &treeNode{typ: TypeLink, link: target}
		target.links++
	case TypeChar, TypeBlock:
		if h.Devmajor >= 1<<12 || h.Devminor >= 1<<20 {
			return w.fail(fmt.Errorf("%w: %s: device %d:%d beyond the format's 12-bit major and 20-bit minor", ErrInvalidHeader, h.Name, h.Devmajor, h.Devminor))
		}
		n.rdev = encodeDevNumber(h.Devmajor, h.Devminor)
	case TypeFifo, TypeSocket:
	default:
		return w.fail(fmt.Errorf("%w: %s: unknown type %v", ErrInvalidHeader, h.Name, h.Type))
	}
	// The name is cloned so the tree does not keep the caller's whole path
	// string alive.
	n.name = cloneString(key.name)
	key.name = n.name
	w.nodes[key] = n
	dir.children = append(dir.children, n)
	w.entries.Add(1)
	if h.Type == TypeReg && h.Size > 0 {
		w.file, w.fileName, w.remaining = n, h.Name, h.Size
	}
	return nil
}

// parentDir returns the directory named by parts, creating missing ones.
func (w *Writer) parentDir(name string, parts []string) (*treeNode, error) {
	dir := w.root
	for i, p := range parts {
		n := w.nodes[treeKey{dir, p}]
		if n == nil {
			n = &treeNode{name: cloneString(p), typ: TypeDir, mode: 0o755}
			w.nodes[treeKey{dir, n.name}] = n
			dir.children = append(dir.children, n)
			w.entries.Add(1)
		} else if n.typ != TypeDir {
			return nil, fmt.Errorf("%w: %s: %s is a %v", ErrParentNotDir, name, joinParts(parts[:i+1]), n.typ)
		}
		dir = n
	}
	return dir, nil
}

// lookup finds an existing entry by name.
func (w *Writer) lookup(name string) (*treeNode, error) {
	parts, err := splitName(name)
	if err != nil {
		return nil, err
	}
	n := w.root
	for _, p := range parts {
		n = w.nodes[treeKey{n, p}]
		if n == nil {
			return nil, fs.ErrNotExist
		}
	}
	return n, nil
}

// Write adds data to the current regular file. Writing more than the
// header's Size fails with ErrWriteTooLong.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		if w.file == nil {
			return n, w.fail(fmt.Errorf("%w: %d bytes beyond the current entry", ErrWriteTooLong, len(p)))
		}
		if w.cur == nil {
			w.cur = w.pipe.get(kindData)
		}
		k := int(min(int64(len(p)), w.remaining, int64(w.blockSize-len(w.cur.in))))
		w.cur.in = append(w.cur.in, p[:k]...)
		p = p[k:]
		n += k
		w.advance(k)
	}
	return n, nil
}

// advance accounts for k bytes just added to w.cur: it submits the block when
// full and finishes the file when complete.
func (w *Writer) advance(k int) {
	w.remaining -= int64(k)
	w.bytesIn.Add(int64(k))
	if len(w.cur.in) == w.blockSize {
		w.cur.node = w.file
		w.pipe.submit(w.cur)
		w.cur = nil
	}
	if w.remaining == 0 {
		if w.cur != nil && len(w.cur.in) > 0 {
			w.packTail(w.file, w.cur.in)
			w.cur.in = w.cur.in[:0]
		}
		w.file = nil
	}
}

// readFrom fills the current file, named name and of size bytes, straight
// from r into block buffers (no intermediate copy), then checks that r is at
// its end: r yielding fewer or more bytes is ErrSizeChanged.
func (w *Writer) readFrom(r io.Reader, name string, size int64) error {
	for w.file != nil {
		if w.cur == nil {
			w.cur = w.pipe.get(kindData)
		}
		l := len(w.cur.in)
		k := int(min(w.remaining, int64(w.blockSize-l)))
		got, err := io.ReadFull(r, w.cur.in[l:l+k])
		w.cur.in = w.cur.in[:l+got]
		if got > 0 {
			w.advance(got)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return w.fail(fmt.Errorf("%w: %s: read %d bytes, expected %d", ErrSizeChanged, name, size-w.remaining, size))
		}
		if err != nil {
			return w.fail(fmt.Errorf("squashfs: reading %s: %w", name, err))
		}
		if err := w.check(); err != nil {
			return err
		}
	}
	var one [1]byte
	got, err := io.ReadFull(r, one[:])
	if got > 0 {
		return w.fail(fmt.Errorf("%w: %s: more than the expected %d bytes", ErrSizeChanged, name, size))
	}
	if err != io.EOF {
		return w.fail(fmt.Errorf("squashfs: reading %s: %w", name, err))
	}
	return nil
}

// packTail stores a file's tail end (its last size % block size bytes, or the
// whole file when smaller than a block) in a fragment block (format.adoc
// "Data and Fragment Blocks": tail-end packing). A tail equal to one stored
// before is not stored again: the file points at the earlier copy, which the
// format allows ("different file inodes are free to refer to the same
// fragment"). The decision depends only on the data, so it is the same for
// any number of workers.
func (w *Writer) packTail(n *treeNode, tail []byte) {
	key := sha256.Sum256(tail)
	if ref, ok := w.tails[key]; ok {
		n.fragIdx, n.fragOff = ref.idx, ref.off
		return
	}
	if w.frag != nil && len(w.frag.in)+len(tail) > w.blockSize {
		w.pipe.submit(w.frag)
		w.frag = nil
		w.nfrags++
	}
	if w.frag == nil {
		w.frag = w.pipe.get(kindFragment)
	}
	ref := fragRef{idx: w.nfrags, off: uint32(len(w.frag.in))}
	w.frag.in = append(w.frag.in, tail...)
	n.fragIdx, n.fragOff = ref.idx, ref.off
	w.tails[key] = ref
}

// Close writes the inode, directory, fragment and id tables and the
// superblock, and pads the image to a multiple of 4 KiB. It stops the worker
// goroutines also when an earlier call failed, and then returns that error.
func (w *Writer) Close() error {
	if w.closed {
		if w.err != nil {
			return w.err
		}
		return ErrClosed
	}
	w.closed = true
	err := w.check()
	if err == nil && w.file != nil {
		err = w.fail(fmt.Errorf("%w: %s: %d of %d bytes missing", ErrShortWrite, w.fileName, w.remaining, w.file.size))
	}
	if err == nil && w.frag != nil && len(w.frag.in) > 0 {
		w.pipe.submit(w.frag)
		w.frag = nil
		w.nfrags++
	}
	if perr := w.pipe.shutdown(); perr != nil {
		err = w.fail(perr)
	}
	if err != nil {
		return err
	}
	w.nodes, w.tails = nil, nil
	if err := w.writeTables(); err != nil {
		return w.fail(err)
	}
	w.err = ErrClosed
	return nil
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

func cloneString(s string) string { return string([]byte(s)) }

func joinParts(parts []string) string {
	s := ""
	for i, p := range parts {
		if i > 0 {
			s += "/"
		}
		s += p
	}
	return s
}

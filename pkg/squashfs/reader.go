package squashfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// This file holds the reader's image-level machinery: opening an image,
// checking the superblock and table layout, reading metadata blocks and
// lookup tables. The reader decodes the format with its own code, never the
// writer's, so that write-then-read tests compare two implementations.
//
// Every offset and length read from the image is checked before use, and
// every size the image claims is capped, so a corrupt or hostile image makes
// the reader return an error: it never panics, loops, or allocates memory
// out of proportion to what it is asked to read.

// Reader errors.
var (
	// ErrCorrupt is returned (wrapped, naming the structure at fault) when
	// an image contradicts the format.
	ErrCorrupt = errors.New("squashfs: corrupt image")
	// ErrLimit is returned when an image is well-formed as far as the
	// reader can tell but exceeds one of the reader's safety caps (see
	// MaxDirEntries, MaxFileBlocks).
	ErrLimit = errors.New("squashfs: image exceeds a reader limit")
	// ErrLoop is returned for symbolic links nested too deeply and for
	// directories that contain one of their ancestors.
	ErrLoop = errors.New("squashfs: too many levels of symbolic links or a directory cycle")
)

// Reader safety caps. Real images are far below them; a hostile image that
// claims more is rejected with ErrLimit instead of exhausting memory.
const (
	// MaxDirEntries caps the entries of one directory.
	MaxDirEntries = 1 << 20
	// MaxFileBlocks caps the block list of one file (4 bytes each in
	// memory): 2^22 blocks are 4 TiB at 1 MiB blocks, 16 GiB at 4 KiB.
	MaxFileBlocks = 1 << 22
	// maxSymlinkFollows is Linux's MAXSYMLINKS (include/linux/namei.h).
	maxSymlinkFollows = 40
	// maxSymlinkSize: the kernel rejects symlink inodes with targets
	// longer than a page (fs/squashfs/inode.c); Linux paths are at most
	// PATH_MAX (4096) bytes including the terminating NUL.
	maxSymlinkSize = 4096
	// rdMetaCacheSize and rdFragCacheSize bound the reader's caches:
	// metadata blocks are at most 8 KiB, fragment blocks one block size.
	// The directory cache holds up to rdDirCacheSize listings with
	// rdDirCacheEntries entries in all (at most about 20 MB with 256-byte
	// names); larger listings are decoded on every use.
	rdMetaCacheSize   = 64
	rdFragCacheSize   = 4
	rdDirCacheSize    = 64
	rdDirCacheEntries = 1 << 16
)

// Reader reads a SquashFS 4.0 image. It implements fs.FS, fs.ReadDirFS,
// fs.ReadFileFS and fs.StatFS over the image's tree, with symbolic links
// inside the image followed by Open and Stat (absolute targets resolve
// against the image root) and not by Lstat and ReadLink. A Reader is safe for
// concurrent use.
type Reader struct {
	ra     io.ReaderAt
	closer io.Closer
	sb     Superblock
	comp   compress.Compressor
	// end is the end of the image's data (bytes_used): nothing the reader
	// reads may extend past it.
	end int64

	ids      []uint32
	fragLocs []uint64 // metadata block positions of the fragment table

	mu        sync.Mutex
	metaCache rdLRU[int64, rdMetaBlock]
	fragCache rdLRU[uint32, []byte]
	dirCache  rdLRU[uint64, []rdEntry]
}

// The file system interfaces the Reader implements.
var (
	_ fs.FS         = (*Reader)(nil)
	_ fs.ReadDirFS  = (*Reader)(nil)
	_ fs.ReadFileFS = (*Reader)(nil)
	_ fs.StatFS     = (*Reader)(nil)
)

// rdMetaBlock is one decoded metadata block and the position of the next.
type rdMetaBlock struct {
	data []byte
	next int64
}

// NewReader reads the image of size bytes from r: it checks the superblock
// and the table layout and loads the id table. Files and directories are read
// on demand.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	rd := &Reader{ra: r}
	rd.metaCache.init(rdMetaCacheSize, rdMetaCacheSize)
	rd.fragCache.init(rdFragCacheSize, rdFragCacheSize)
	rd.dirCache.init(rdDirCacheSize, rdDirCacheEntries)

	var buf [SuperblockSize]byte
	if size < SuperblockSize {
		return nil, fmt.Errorf("%w: image is %d bytes", ErrNotSquashfs, size)
	}
	if _, err := r.ReadAt(buf[:], 0); err != nil {
		return nil, fmt.Errorf("squashfs: reading superblock: %w", err)
	}
	if err := rd.sb.UnmarshalBinary(buf[:]); err != nil {
		return nil, err
	}
	sb := &rd.sb
	if sb.BytesUsed > uint64(size) || sb.BytesUsed < SuperblockSize {
		return nil, fmt.Errorf("%w: bytes_used %d, image size %d", ErrCorrupt, sb.BytesUsed, size)
	}
	rd.end = int64(sb.BytesUsed)

	// Compressor options: one uncompressed metadata block right after the
	// superblock (format.adoc "Compression Options").
	var record []byte
	if sb.Flags&FlagCompressorOptions != 0 {
		var h [2]byte
		if err := rd.readAt(h[:], SuperblockSize); err != nil {
			return nil, fmt.Errorf("compressor options: %w", err)
		}
		hdr := binary.LittleEndian.Uint16(h[:])
		n := int(hdr & metadataSizeMask)
		if hdr&metadataUncompressed == 0 || n == 0 || n > 64 {
			return nil, fmt.Errorf("%w: compressor options header %#04x (want an uncompressed record of a few bytes)", ErrCorrupt, hdr)
		}
		record = make([]byte, n)
		if err := rd.readAt(record, SuperblockSize+2); err != nil {
			return nil, fmt.Errorf("compressor options: %w", err)
		}
	}
	comp, err := compress.ForImage(sb.Compressor, record, int(sb.BlockSize))
	if err != nil {
		return nil, fmt.Errorf("squashfs: %w", err)
	}
	rd.comp = comp

	if err := rd.checkLayout(); err != nil {
		return nil, err
	}
	if err := rd.loadIDs(); err != nil {
		return nil, err
	}
	if err := rd.loadFragmentIndex(); err != nil {
		return nil, err
	}
	root, err := rd.readInode(sb.RootInode)
	if err != nil {
		return nil, fmt.Errorf("root inode: %w", err)
	}
	if !root.isDir() {
		return nil, fmt.Errorf("%w: root inode is not a directory", ErrCorrupt)
	}
	return rd, nil
}

// OpenImage opens the image file at path. Close the Reader to close the file.
func OpenImage(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := NewReader(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

// Close closes the image file if OpenImage opened it; otherwise it does
// nothing (the caller owns the io.ReaderAt).
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	err := r.closer.Close()
	r.closer = nil
	return err
}

// Superblock returns the image's superblock.
func (r *Reader) Superblock() Superblock { return r.sb }

// Compressor returns the compressor the image names, configured from its
// options record.
func (r *Reader) Compressor() compress.Compressor { return r.comp }

// checkLayout checks the table positions as the kernel does at mount
// (fs/squashfs/super.c squashfs_fill_super): the inode table precedes the
// directory table, which precedes the first lookup table block, and all lie
// within bytes_used.
func (r *Reader) checkLayout() error {
	sb := &r.sb
	end := uint64(r.end)
	if sb.InodeTableStart < SuperblockSize || sb.InodeTableStart >= sb.DirTableStart || sb.DirTableStart >= end {
		return fmt.Errorf("%w: inode table at %d, directory table at %d, bytes_used %d", ErrCorrupt, sb.InodeTableStart, sb.DirTableStart, end)
	}
	if sb.IDTableStart >= end || sb.IDTableStart <= sb.DirTableStart {
		return fmt.Errorf("%w: id table at %d (directory table %d, bytes_used %d)", ErrCorrupt, sb.IDTableStart, sb.DirTableStart, end)
	}
	if sb.IDs == 0 {
		return fmt.Errorf("%w: empty id table", ErrCorrupt)
	}
	if sb.Fragments > 0 && (sb.FragmentTableStart >= end || sb.FragmentTableStart <= sb.DirTableStart) {
		return fmt.Errorf("%w: fragment table at %d (directory table %d, bytes_used %d)", ErrCorrupt, sb.FragmentTableStart, sb.DirTableStart, end)
	}
	if sb.RootInode&0xFFFF >= MetadataBlockSize {
		return fmt.Errorf("%w: root inode reference %#x", ErrCorrupt, sb.RootInode)
	}
	return nil
}

// readAt reads exactly len(p) bytes at off, which must lie within the image.
func (r *Reader) readAt(p []byte, off int64) error {
	if off < 0 || off > r.end || int64(len(p)) > r.end-off {
		return fmt.Errorf("%w: %d bytes at %d are beyond the image end %d", ErrCorrupt, len(p), off, r.end)
	}
	n, err := r.ra.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("squashfs: reading %d bytes at %d: %w", len(p), off, err)
}

// metaBlock returns the decoded metadata block whose 16-bit header is at
// pos (format.adoc "Packing Metadata"): the header's top bit marks it stored
// uncompressed, the low 15 bits give the stored size, and the payload is at
// most 8 KiB. limit is the end of the table the block belongs to.
func (r *Reader) metaBlock(pos, limit int64) (rdMetaBlock, error) {
	r.mu.Lock()
	b, ok := r.metaCache.get(pos)
	r.mu.Unlock()
	if ok {
		if b.next > limit {
			return rdMetaBlock{}, fmt.Errorf("%w: metadata block at %d crosses its table's end %d", ErrCorrupt, pos, limit)
		}
		return b, nil
	}
	if pos < 0 || pos > limit-2 {
		return rdMetaBlock{}, fmt.Errorf("%w: metadata block at %d outside its table (end %d)", ErrCorrupt, pos, limit)
	}
	var h [2]byte
	if err := r.readAt(h[:], pos); err != nil {
		return rdMetaBlock{}, err
	}
	hdr := binary.LittleEndian.Uint16(h[:])
	n := int64(hdr & metadataSizeMask)
	if n == 0 || n > MetadataBlockSize {
		return rdMetaBlock{}, fmt.Errorf("%w: metadata block at %d has stored size %d", ErrCorrupt, pos, n)
	}
	if n > limit-pos-2 {
		return rdMetaBlock{}, fmt.Errorf("%w: metadata block at %d (%d bytes) crosses its table's end %d", ErrCorrupt, pos, n, limit)
	}
	raw := make([]byte, n)
	if err := r.readAt(raw, pos+2); err != nil {
		return rdMetaBlock{}, err
	}
	data := raw
	if hdr&metadataUncompressed == 0 {
		var err error
		data, err = r.comp.Decompress(nil, raw, MetadataBlockSize)
		if err != nil {
			return rdMetaBlock{}, fmt.Errorf("%w: metadata block at %d: %w", ErrCorrupt, pos, err)
		}
	}
	b = rdMetaBlock{data: data, next: pos + 2 + n}
	r.mu.Lock()
	r.metaCache.put(pos, b, 1)
	r.mu.Unlock()
	return b, nil
}

// rdCursor reads a stream of metadata that may cross block boundaries
// (format.adoc "Packing Metadata": entries may span blocks; blocks follow
// each other without gaps). Every step moves forward in the image, so a
// cursor always ends, at the latest at limit.
type rdCursor struct {
	r     *Reader
	limit int64
	pos   int64 // header position of the current block
	block rdMetaBlock
	off   int
}

// cursor starts reading at offset off of the metadata block at pos.
func (r *Reader) cursor(pos int64, off int, limit int64) (*rdCursor, error) {
	if off < 0 || off >= MetadataBlockSize {
		return nil, fmt.Errorf("%w: metadata offset %d", ErrCorrupt, off)
	}
	b, err := r.metaBlock(pos, limit)
	if err != nil {
		return nil, err
	}
	if off > len(b.data) {
		return nil, fmt.Errorf("%w: offset %d beyond the %d bytes of the metadata block at %d", ErrCorrupt, off, len(b.data), pos)
	}
	return &rdCursor{r: r, limit: limit, pos: pos, block: b, off: off}, nil
}

// read fills p from the stream.
func (c *rdCursor) read(p []byte) error {
	for len(p) > 0 {
		if c.off == len(c.block.data) {
			b, err := c.r.metaBlock(c.block.next, c.limit)
			if err != nil {
				return err
			}
			c.pos, c.block, c.off = c.block.next, b, 0
		}
		n := copy(p, c.block.data[c.off:])
		c.off += n
		p = p[n:]
	}
	return nil
}

// tableEntry reads entry i (of size esize) of a lookup table whose metadata
// block positions are locs (format.adoc "Storing Lookup Tables"). Entries
// never straddle blocks because esize divides 8192.
func (r *Reader) tableEntry(locs []uint64, i uint64, esize int, p []byte) error {
	per := uint64(MetadataBlockSize / esize)
	bi := i / per
	if bi >= uint64(len(locs)) {
		return fmt.Errorf("%w: lookup table index %d beyond its %d blocks", ErrCorrupt, i, len(locs))
	}
	off := int(i%per) * esize
	b, err := r.metaBlock(int64(locs[bi]), r.end)
	if err != nil {
		return err
	}
	if off+esize > len(b.data) {
		return fmt.Errorf("%w: lookup table entry %d beyond its metadata block (%d bytes)", ErrCorrupt, i, len(b.data))
	}
	copy(p, b.data[off:off+esize])
	return nil
}

// tableLocations reads the list of metadata block positions of a lookup
// table of count entries of esize bytes, stored uncompressed at pos.
func (r *Reader) tableLocations(name string, pos uint64, count uint64, esize int) ([]uint64, error) {
	blocks := (count*uint64(esize) + MetadataBlockSize - 1) / MetadataBlockSize
	if pos >= uint64(r.end) || blocks > (uint64(r.end)-pos)/8 {
		return nil, fmt.Errorf("%w: %s table of %d entries at %d does not fit in the image", ErrCorrupt, name, count, pos)
	}
	raw := make([]byte, blocks*8)
	if err := r.readAt(raw, int64(pos)); err != nil {
		return nil, fmt.Errorf("%s table: %w", name, err)
	}
	locs := make([]uint64, blocks)
	for i := range locs {
		locs[i] = binary.LittleEndian.Uint64(raw[i*8:])
		// Lookup table blocks lie after the directory table (the kernel
		// checks each table's first block against the next table's). An
		// image with an empty root has an empty directory table, so the
		// first lookup block may start exactly where it does.
		if locs[i] < r.sb.DirTableStart || locs[i] >= uint64(r.end) {
			return nil, fmt.Errorf("%w: %s table block %d at %d", ErrCorrupt, name, i, locs[i])
		}
	}
	return locs, nil
}

// loadIDs reads the whole id table (format.adoc "ID Table"): at most 65535
// four-byte ids.
func (r *Reader) loadIDs() error {
	n := uint64(r.sb.IDs)
	locs, err := r.tableLocations("id", r.sb.IDTableStart, n, 4)
	if err != nil {
		return err
	}
	r.ids = make([]uint32, n)
	var b [4]byte
	for i := range r.ids {
		if err := r.tableEntry(locs, uint64(i), 4, b[:]); err != nil {
			return fmt.Errorf("id table: %w", err)
		}
		r.ids[i] = binary.LittleEndian.Uint32(b[:])
	}
	return nil
}

// loadFragmentIndex reads the fragment table's block positions; entries are
// read on demand.
func (r *Reader) loadFragmentIndex() error {
	if r.sb.Fragments == 0 {
		return nil
	}
	locs, err := r.tableLocations("fragment", r.sb.FragmentTableStart, uint64(r.sb.Fragments), 16)
	if err != nil {
		return err
	}
	r.fragLocs = locs
	return nil
}

// rdLRU is a small least-recently-used cache bounded by its number of items
// and by the total cost of the items (the caller states each item's cost);
// the caller locks.
type rdLRU[K comparable, V any] struct {
	maxItems, maxCost int
	cost              int
	tick              uint64
	items             map[K]*rdLRUItem[V]
}

type rdLRUItem[V any] struct {
	v    V
	cost int
	used uint64
}

func (c *rdLRU[K, V]) init(maxItems, maxCost int) {
	c.maxItems, c.maxCost = maxItems, maxCost
	c.items = make(map[K]*rdLRUItem[V], maxItems)
}

func (c *rdLRU[K, V]) get(k K) (V, bool) {
	it, ok := c.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	c.tick++
	it.used = c.tick
	return it.v, true
}

// put adds k, evicting least recently used items until both bounds hold
// (a linear scan per eviction: the caches hold at most a few dozen items).
// An item costing more than the whole budget is not cached.
func (c *rdLRU[K, V]) put(k K, v V, cost int) {
	if cost > c.maxCost {
		return
	}
	if old, ok := c.items[k]; ok {
		c.cost -= old.cost
		delete(c.items, k)
	}
	for len(c.items) > 0 && (len(c.items) >= c.maxItems || c.cost+cost > c.maxCost) {
		var oldest K
		first := true
		var min uint64
		for key, it := range c.items {
			if first || it.used < min {
				oldest, min, first = key, it.used, false
			}
		}
		c.cost -= c.items[oldest].cost
		delete(c.items, oldest)
	}
	c.tick++
	c.items[k] = &rdLRUItem[V]{v: v, cost: cost, used: c.tick}
	c.cost += cost
}

package squashfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
)

// rdFile is an open regular file: io.Reader, io.Seeker and io.ReaderAt over
// the file's blocks and tail fragment (format.adoc "Data and Fragment
// Blocks"). ReadAt may be called concurrently.
type rdFile struct {
	r    *Reader
	fi   *rdFileInfo
	path string

	mu  sync.Mutex
	off int64 // Read/Seek position
	// Block positions are the sum of the stored sizes before a block; the
	// last computed one is kept so sequential reads cost O(1).
	posIdx int
	pos    int64
	// The last decoded block, for reads smaller than a block.
	curIdx  int // -1: none
	curData []byte
	scratch []byte
}

func (r *Reader) newFile(fi *rdFileInfo, path string) *rdFile {
	return &rdFile{r: r, fi: fi, path: path, curIdx: -1, pos: int64(fi.in.BlocksStart)}
}

func (f *rdFile) Stat() (fs.FileInfo, error) { return f.fi, nil }
func (f *rdFile) Close() error               { return nil }

func (f *rdFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.readAtLocked(p, f.off)
	f.off += int64(n)
	return n, err
}

// ReadAt implements io.ReaderAt.
func (f *rdFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: errors.New("negative offset")}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.readAtLocked(p, off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

// Seek implements io.Seeker.
func (f *rdFile) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += f.fi.in.size
	default:
		return 0, &fs.PathError{Op: "seek", Path: f.path, Err: fs.ErrInvalid}
	}
	if offset < 0 {
		return 0, &fs.PathError{Op: "seek", Path: f.path, Err: fs.ErrInvalid}
	}
	f.off = offset
	return offset, nil
}

// readAtLocked copies file bytes at off into p; it returns io.EOF only when
// off is at or beyond the end.
func (f *rdFile) readAtLocked(p []byte, off int64) (int, error) {
	size := f.fi.in.size
	if off >= size {
		return 0, io.EOF
	}
	if int64(len(p)) > size-off {
		p = p[:size-off]
	}
	bs := int64(f.r.sb.BlockSize)
	n := 0
	for len(p) > 0 {
		idx := off / bs
		data, err := f.block(int(idx))
		if err != nil {
			return n, &fs.PathError{Op: "read", Path: f.path, Err: err}
		}
		k := copy(p, data[off-idx*bs:])
		if k == 0 {
			return n, &fs.PathError{Op: "read", Path: f.path, Err: fmt.Errorf("%w: no data at offset %d", ErrCorrupt, off)}
		}
		n += k
		off += int64(k)
		p = p[k:]
	}
	return n, nil
}

// blockLen is the number of file bytes in block idx.
func (f *rdFile) blockLen(idx int) int {
	bs := int64(f.r.sb.BlockSize)
	rest := f.fi.in.size - int64(idx)*bs
	if rest > bs {
		return int(bs)
	}
	return int(rest)
}

// block returns the bytes of block idx: a data block, or the tail from
// the fragment block when idx is past the block list.
func (f *rdFile) block(idx int) ([]byte, error) {
	if idx == f.curIdx {
		return f.curData, nil
	}
	in := f.fi.in
	want := f.blockLen(idx)
	// Decoding reuses curData's memory: forget which block it held, so a
	// failed decode cannot leave stale bytes labelled as a good block.
	f.curIdx = -1
	var data []byte
	if idx < len(in.Blocks) {
		pos, err := f.blockPos(idx)
		if err != nil {
			return nil, err
		}
		data, err = f.r.dataBlock(pos, in.Blocks[idx], f.curData[:0], &f.scratch)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", idx, err)
		}
	} else {
		if in.Fragment == fragmentNone || idx != len(in.Blocks) {
			return nil, fmt.Errorf("%w: offset beyond the block list and no fragment", ErrCorrupt)
		}
		frag, err := f.r.fragmentBlock(in.Fragment)
		if err != nil {
			return nil, err
		}
		end := int64(in.FragmentOffset) + int64(want)
		if end > int64(len(frag)) {
			return nil, fmt.Errorf("%w: tail of %d bytes at %d beyond fragment %d (%d bytes)", ErrCorrupt, want, in.FragmentOffset, in.Fragment, len(frag))
		}
		// Fragment blocks are shared and cached: never hand out an alias
		// the caller could keep while the block is evicted and reused.
		data = append(f.curData[:0], frag[in.FragmentOffset:end]...)
	}
	// A block that decodes short is padded with zeros (format.adoc "Data
	// and Fragment Blocks": that is how sparse files work); one that decodes
	// long holds bytes past the file's end, which are not the file's.
	if len(data) < want {
		if cap(data) >= want {
			clear(data[len(data):want])
			data = data[:want]
		} else {
			data = append(data, make([]byte, want-len(data))...)
		}
	}
	f.curIdx, f.curData = idx, data[:want]
	return f.curData, nil
}

// blockPos is where block idx starts: the blocks start plus the stored
// sizes of the blocks before it (format.adoc "File Inodes").
func (f *rdFile) blockPos(idx int) (int64, error) {
	if idx < f.posIdx {
		f.posIdx, f.pos = 0, int64(f.fi.in.BlocksStart)
	}
	for f.posIdx < idx {
		f.pos += int64(f.fi.in.Blocks[f.posIdx] & dataBlockSizeMask)
		f.posIdx++
	}
	if f.pos > f.r.end {
		return 0, fmt.Errorf("%w: block %d at %d beyond the image end", ErrCorrupt, idx, f.pos)
	}
	return f.pos, nil
}

// dataBlock reads the block at pos whose size word is w: 0 is a block of
// zeros (sparse), bit 24 set means stored raw, else compressed. It decodes
// into dst (reusing its memory) and uses *scratch for the stored bytes.
func (r *Reader) dataBlock(pos int64, w uint32, dst []byte, scratch *[]byte) ([]byte, error) {
	n := int(w & dataBlockSizeMask)
	if n == 0 {
		return dst[:0], nil // padded with zeros by the caller
	}
	if n > int(r.sb.BlockSize) {
		return nil, fmt.Errorf("%w: stored block of %d bytes (block size %d)", ErrCorrupt, n, r.sb.BlockSize)
	}
	if w&dataBlockUncompressed != 0 {
		dst = dst[:0]
		if cap(dst) < n {
			// One spare byte: decoders that detect overflow by reading
			// one byte past the limit can then reuse this buffer.
			dst = make([]byte, 0, r.sb.BlockSize+1)
		}
		dst = dst[:n]
		if err := r.readAt(dst, pos); err != nil {
			return nil, err
		}
		return dst, nil
	}
	if cap(*scratch) < n {
		*scratch = make([]byte, 0, r.sb.BlockSize)
	}
	raw := (*scratch)[:n]
	if err := r.readAt(raw, pos); err != nil {
		return nil, err
	}
	out, err := r.comp.Decompress(dst, raw, int(r.sb.BlockSize))
	if err != nil {
		return nil, fmt.Errorf("%w: block at %d: %w", ErrCorrupt, pos, err)
	}
	return out, nil
}

// fragmentBlock returns fragment block i, decoded, from the cache or the
// image (format.adoc "Fragment Table": start u64, size u32, unused u32).
// The returned slice is shared: read it, never modify it.
func (r *Reader) fragmentBlock(i uint32) ([]byte, error) {
	r.mu.Lock()
	b, ok := r.fragCache.get(i)
	r.mu.Unlock()
	if ok {
		return b, nil
	}
	if i >= r.sb.Fragments {
		return nil, fmt.Errorf("%w: fragment %d of %d", ErrCorrupt, i, r.sb.Fragments)
	}
	var e [16]byte
	if err := r.tableEntry(r.fragLocs, uint64(i), 16, e[:]); err != nil {
		return nil, fmt.Errorf("fragment table: %w", err)
	}
	start := binary.LittleEndian.Uint64(e[0:])
	w := binary.LittleEndian.Uint32(e[8:])
	if w&^(dataBlockUncompressed|dataBlockSizeMask) != 0 || start >= uint64(r.end) {
		return nil, fmt.Errorf("%w: fragment %d entry (start %d, size %#x)", ErrCorrupt, i, start, w)
	}
	var scratch []byte
	b, err := r.dataBlock(int64(start), w, nil, &scratch)
	if err != nil {
		return nil, fmt.Errorf("fragment %d: %w", i, err)
	}
	r.mu.Lock()
	r.fragCache.put(i, b, 1)
	r.mu.Unlock()
	return b, nil
}

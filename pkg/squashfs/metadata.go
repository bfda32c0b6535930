package squashfs

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// appendMetadataBlock appends one metadata block holding data (at most
// MetadataBlockSize bytes) to dst: a 16-bit little-endian header with the
// stored size in the low 15 bits and bit 15 set when the payload is stored
// uncompressed, then the payload (format.adoc "Packing Metadata").
//
// The payload is compressed with comp unless comp is nil or the "none"
// pseudo-compressor; a compressed form that is not smaller than data is
// dropped for the raw bytes, so a stored block never exceeds 8 KiB, which
// readers check. scratch is reusable compression space; the grown scratch is
// returned with the result.
func appendMetadataBlock(dst []byte, comp compress.Compressor, data, scratch []byte) (out, scratchOut []byte, err error) {
	if len(data) > MetadataBlockSize {
		return dst, scratch, fmt.Errorf("squashfs: metadata block of %d bytes exceeds %d", len(data), MetadataBlockSize)
	}
	if comp != nil && !comp.Uncompressed() {
		scratch, err = comp.Compress(scratch[:0], data)
		if err != nil {
			return dst, scratch, fmt.Errorf("squashfs: compressing metadata block: %w", err)
		}
		if len(scratch) < len(data) {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(len(scratch)))
			return append(dst, scratch...), scratch, nil
		}
	}
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(data))|metadataUncompressed)
	return append(dst, data...), scratch, nil
}

// metaBlockWriter turns a stream of metadata records (inodes, directory
// listings, lookup table entries) into consecutive metadata blocks of
// MetadataBlockSize uncompressed bytes each (format.adoc "Packing Metadata":
// records may straddle block boundaries, blocks are stored without gaps).
//
// It flushes a block as soon as it is full, so pos always names the block the
// next byte lands in with an offset below 8192: a reference to a record is
// (on-disk offset of its block relative to the table start) << 16 | offset in
// the uncompressed block, and the on-disk offset of the block being filled is
// simply the number of bytes written before it.
type metaBlockWriter struct {
	dst     io.Writer
	comp    compress.Compressor
	buf     []byte // uncompressed bytes of the block being filled
	enc     []byte // encoded block (header + payload) being written
	scratch []byte
	written uint64 // on-disk bytes written to dst (headers included)
	blocks  uint64 // blocks written
}

func newMetaBlockWriter(dst io.Writer, comp compress.Compressor) *metaBlockWriter {
	return &metaBlockWriter{dst: dst, comp: comp, buf: make([]byte, 0, MetadataBlockSize)}
}

// pos returns where the next byte goes: the on-disk offset of its metadata
// block relative to the table start, and the offset in the uncompressed block.
func (m *metaBlockWriter) pos() (block uint64, offset uint16) {
	return m.written, uint16(len(m.buf))
}

// ref is pos packed as an inode/metadata reference (format.adoc "Packing
// Metadata": upper 48 bits block location, lower 16 bits offset).
func (m *metaBlockWriter) ref() uint64 {
	b, o := m.pos()
	return b<<16 | uint64(o)
}

// upos is the position of the next byte in the uncompressed stream, as if all
// blocks of the table were laid out back to back.
func (m *metaBlockWriter) upos() uint64 {
	return m.blocks*MetadataBlockSize + uint64(len(m.buf))
}

func (m *metaBlockWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(m.buf[len(m.buf):cap(m.buf)], p)
		m.buf = m.buf[:len(m.buf)+k]
		p = p[k:]
		if len(m.buf) == MetadataBlockSize {
			if err := m.writeBlock(); err != nil {
				return n - len(p), err
			}
		}
	}
	return n, nil
}

// flush writes the partially filled last block, if any.
func (m *metaBlockWriter) flush() error {
	if len(m.buf) == 0 {
		return nil
	}
	return m.writeBlock()
}

func (m *metaBlockWriter) writeBlock() error {
	var err error
	m.enc, m.scratch, err = appendMetadataBlock(m.enc[:0], m.comp, m.buf, m.scratch)
	if err != nil {
		return err
	}
	if _, err := m.dst.Write(m.enc); err != nil {
		return err
	}
	m.written += uint64(len(m.enc))
	m.blocks++
	m.buf = m.buf[:0]
	return nil
}

// writeLookupTable stores table (fixed-size records) as a lookup table
// (format.adoc "Storing Lookup Tables"): the records chopped into metadata
// blocks of 8 KiB, followed by the uncompressed list of the absolute on-disk
// locations of those blocks as 64-bit integers. base is the absolute image
// offset at which dst writes. It returns the absolute offset of the location
// list, which is what the superblock points to, and the bytes written.
func writeLookupTable(dst io.Writer, base uint64, comp compress.Compressor, table []byte) (listStart, n uint64, err error) {
	var locs []byte
	var enc, scratch []byte
	pos := base
	for len(table) > 0 {
		k := min(len(table), MetadataBlockSize)
		enc, scratch, err = appendMetadataBlock(enc[:0], comp, table[:k], scratch)
		if err != nil {
			return 0, pos - base, err
		}
		if _, err := dst.Write(enc); err != nil {
			return 0, pos - base, err
		}
		locs = binary.LittleEndian.AppendUint64(locs, pos)
		pos += uint64(len(enc))
		table = table[k:]
	}
	listStart = pos
	if _, err := dst.Write(locs); err != nil {
		return 0, pos - base, err
	}
	pos += uint64(len(locs))
	return listStart, pos - base, nil
}

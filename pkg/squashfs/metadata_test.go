package squashfs

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// format.adoc "Packing Metadata": every metadata block is preceded by a u16
// holding its on-disk size, with the MSB set when stored uncompressed.
func TestAppendMetadataBlockRaw(t *testing.T) {
	got, _, err := appendMetadataBlock([]byte{0xAA}, nil, []byte("abc"), nil)
	require.NoError(t, err)
	assert.Equal(t, []byte{0xAA, 0x03, 0x80, 'a', 'b', 'c'}, got)

	none, err := compress.Parse("none", 4096)
	require.NoError(t, err)
	got, _, err = appendMetadataBlock(nil, none, bytes.Repeat([]byte{0}, 8192), nil)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x00, 0xA0}, got[:2], "8192 | 0x8000")
	assert.Len(t, got, 8194)

	_, _, err = appendMetadataBlock(nil, nil, make([]byte, 8193), nil)
	assert.Error(t, err, "a metadata block holds at most 8 KiB")
}

func TestAppendMetadataBlockCompressed(t *testing.T) {
	// gzip blocks are zlib streams (format.adoc "Supported Compressors");
	// decode with the standard library, not with the compressor under use.
	data := bytes.Repeat([]byte("squashfs metadata "), 400)[:7000]
	got, _, err := appendMetadataBlock(nil, compress.Default(), data, nil)
	require.NoError(t, err)
	hdr := binary.LittleEndian.Uint16(got)
	assert.Zero(t, hdr&0x8000, "compressed block has the MSB clear")
	require.Equal(t, int(hdr), len(got)-2)
	zr, err := zlib.NewReader(bytes.NewReader(got[2:]))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, data, plain)

	// Incompressible data is stored raw ("the uncompressed block is stored
	// instead").
	rnd := wtRandom(7, 300)
	got, _, err = appendMetadataBlock(nil, compress.Default(), rnd, nil)
	require.NoError(t, err)
	assert.Equal(t, uint16(300|0x8000), binary.LittleEndian.Uint16(got))
	assert.Equal(t, rnd, got[2:])
}

// Records may straddle blocks; a reference names the on-disk offset of the
// block (relative to the table) << 16 | the offset in the uncompressed block.
func TestMetaBlockWriterPositions(t *testing.T) {
	var out bytes.Buffer
	m := newMetaBlockWriter(&out, nil) // nil compressor: raw blocks of 8194 bytes
	blk, off := m.pos()
	assert.Equal(t, uint64(0), blk)
	assert.Equal(t, uint16(0), off)

	_, err := m.Write(make([]byte, 8190))
	require.NoError(t, err)
	blk, off = m.pos()
	assert.Equal(t, uint64(0), blk)
	assert.Equal(t, uint16(8190), off)
	assert.Zero(t, out.Len(), "nothing written before the block is full")

	_, err = m.Write([]byte{1, 2, 3, 4, 5, 6, 7})
	require.NoError(t, err)
	blk, off = m.pos()
	assert.Equal(t, uint64(8194), blk, "second block starts after 2 + 8192 bytes")
	assert.Equal(t, uint16(5), off)
	assert.Equal(t, uint64(8194)<<16|5, m.ref())
	assert.Equal(t, uint64(8192+5), m.upos())
	assert.Equal(t, 8194, out.Len())
	assert.Equal(t, []byte{1, 2}, out.Bytes()[8192:8194], "the straddling record's first part ends block one")

	// Filling a block exactly flushes it at once, so no reference ever
	// has offset 8192.
	_, err = m.Write(make([]byte, 8192-5))
	require.NoError(t, err)
	blk, off = m.pos()
	assert.Equal(t, uint64(2*8194), blk)
	assert.Equal(t, uint16(0), off)

	_, err = m.Write([]byte{9})
	require.NoError(t, err)
	require.NoError(t, m.flush())
	assert.Equal(t, []byte{0x01, 0x80, 9}, out.Bytes()[2*8194:])
}

// format.adoc "Storing Lookup Tables": the records in metadata blocks, then
// the uncompressed list of absolute block locations as u64.
func TestWriteLookupTable(t *testing.T) {
	table := make([]byte, 12000)
	for i := range table {
		table[i] = byte(i)
	}
	var out bytes.Buffer
	list, n, err := writeLookupTable(&out, 1000, nil, table)
	require.NoError(t, err)
	// Block 1: 8192 bytes at 1000 (8194 on disk); block 2: 3808 bytes at
	// 9194 (3810 on disk); the list at 13004.
	assert.Equal(t, uint64(13004), list)
	assert.Equal(t, uint64(8194+3810+16), n)
	b := out.Bytes()
	assert.Equal(t, []byte{0x00, 0xA0}, b[0:2])
	assert.Equal(t, table[:8192], b[2:8194])
	assert.Equal(t, []byte{0xE0, 0x8E}, b[8194:8196], "3808 = 0x0EE0, | 0x8000")
	assert.Equal(t, table[8192:], b[8196:12004])
	assert.Equal(t, []byte{0xE8, 0x03, 0, 0, 0, 0, 0, 0, 0xEA, 0x23, 0, 0, 0, 0, 0, 0}, b[12004:], "1000 and 9194")

	// An empty table is just an empty list at base.
	out.Reset()
	list, n, err = writeLookupTable(&out, 500, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, uint64(500), list)
	assert.Zero(t, n)
}

package squashfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// format.adoc "Directory Table": a header (u32 count - 1, u32 inode block
// start, s32 reference inode number) followed by entries (u16 offset in the
// inode block, s16 inode number difference, u16 basic type, u16 name size - 1,
// name).
func TestWriteDirListingBytes(t *testing.T) {
	var out bytes.Buffer
	m := newMetaBlockWriter(&out, nil)
	_, err := m.Write(make([]byte, 10)) // something before the listing
	require.NoError(t, err)
	l, _, err := writeDirListing(m, []dirListEntry{
		{Name: "a", Type: inodeBasicFile, Ref: 0x20<<16 | 0x30, Ino: 5},
		{Name: "bb", Type: inodeBasicDir, Ref: 0x20<<16 | 0x50, Ino: 4},
	}, nil)
	require.NoError(t, err)
	require.NoError(t, m.flush())
	assert.Equal(t, dirListing{Block: 0, Offset: 10, Size: 12 + 9 + 10}, l)
	want := []byte{
		1, 0, 0, 0, // count - 1
		0x20, 0, 0, 0, // inode metadata block
		5, 0, 0, 0, // reference inode number
		0x30, 0, 0, 0, 2, 0, 0, 0, 'a', // offset, +0, file, size 1
		0x50, 0, 0xFF, 0xFF, 1, 0, 1, 0, 'b', 'b', // offset, -1, dir, size 2
	}
	assert.Equal(t, want, out.Bytes()[2+10:])
}

// wtListingHeaders decodes a listing from the uncompressed stream and
// returns each header's position (relative to the listing), count, inode
// block and reference number, plus the decoded entries.
type wtHeader struct {
	Pos, Count, Block uint32
	Ino               int32
	First             string
}

func wtDecodeListing(t *testing.T, stream []byte, start, size int) ([]wtHeader, []dirListEntry) {
	t.Helper()
	le := binary.LittleEndian
	var hs []wtHeader
	var es []dirListEntry
	p := start
	for p < start+size {
		h := wtHeader{Pos: uint32(p - start), Count: le.Uint32(stream[p:]) + 1, Block: le.Uint32(stream[p+4:]), Ino: int32(le.Uint32(stream[p+8:]))}
		require.LessOrEqual(t, h.Count, uint32(256))
		p += 12
		for i := uint32(0); i < h.Count; i++ {
			off := le.Uint16(stream[p:])
			d := int16(le.Uint16(stream[p+2:]))
			typ := le.Uint16(stream[p+4:])
			n := int(le.Uint16(stream[p+6:])) + 1
			name := string(stream[p+8 : p+8+n])
			if i == 0 {
				h.First = name
			}
			es = append(es, dirListEntry{Name: name, Type: typ, Ref: uint64(h.Block)<<16 | uint64(off), Ino: uint32(h.Ino + int32(d))})
			p += 8 + n
		}
		hs = append(hs, h)
	}
	require.Equal(t, start+size, p)
	return hs, es
}

// wtRawStream strips the 2-byte headers of raw (uncompressed) metadata
// blocks, giving the uncompressed stream.
func wtRawStream(t *testing.T, b []byte) []byte {
	var s []byte
	for len(b) > 0 {
		h := binary.LittleEndian.Uint16(b)
		require.NotZero(t, h&0x8000)
		n := int(h & 0x7FFF)
		s = append(s, b[2:2+n]...)
		b = b[2+n:]
	}
	return s
}

func TestWriteDirListingSplits(t *testing.T) {
	var entries []dirListEntry
	// 300 entries in one inode block: 256 + 44 (SQUASHFS_DIR_COUNT).
	for i := 0; i < 300; i++ {
		entries = append(entries, dirListEntry{Name: fmt.Sprintf("n%03d", i), Type: 2, Ref: 0x40<<16 | uint64(i*4), Ino: uint32(1 + i)})
	}
	// Inode block changes: new header.
	entries = append(entries, dirListEntry{Name: "o1", Type: 2, Ref: 0x1000 << 16, Ino: 301})
	// Inode number too far from the header's (signed 16-bit difference).
	entries = append(entries, dirListEntry{Name: "o2", Type: 2, Ref: 0x1000<<16 | 8, Ino: 301 + 32767})
	entries = append(entries, dirListEntry{Name: "o3", Type: 2, Ref: 0x1000<<16 | 16, Ino: 301 + 32768})
	var out bytes.Buffer
	m := newMetaBlockWriter(&out, nil)
	l, _, err := writeDirListing(m, entries, nil)
	require.NoError(t, err)
	require.NoError(t, m.flush())
	hs, es := wtDecodeListing(t, wtRawStream(t, out.Bytes()), 0, int(l.Size))
	assert.Equal(t, entries, es)
	assert.Equal(t, []wtHeader{
		{Pos: 0, Count: 256, Block: 0x40, Ino: 1, First: "n000"},
		{Pos: 12 + 256*12, Count: 44, Block: 0x40, Ino: 257, First: "n256"},
		{Pos: 2*12 + 300*12, Count: 2, Block: 0x1000, Ino: 301, First: "o1"},
		{Pos: 3*12 + 300*12 + 2*10, Count: 1, Block: 0x1000, Ino: 301 + 32768, First: "o3"},
	}, hs)
	assert.Empty(t, l.Index, "the listing fits one metadata block")
}

// format.adoc "Directory Index": index = header offset from the listing
// start as if the uncompressed blocks were consecutive, start = location of
// the metadata block holding that header (relative to the table). The kernel
// computes the header's offset in that block as (listing offset + index) %
// 8192, so start must be the block the header really starts in. An index
// entry (and a header) is made whenever the listing since the last indexed
// header would exceed 8 KiB, as mksquashfs does.
func TestWriteDirListingIndex(t *testing.T) {
	var entries []dirListEntry
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("%04d%s", i, strings.Repeat("y", i%150))
		entries = append(entries, dirListEntry{Name: name, Type: 2, Ref: uint64(i/200)<<16 | uint64(i%200*40), Ino: uint32(10 + i)})
	}
	var out bytes.Buffer
	m := newMetaBlockWriter(&out, nil)
	_, err := m.Write(make([]byte, 5000))
	require.NoError(t, err)
	l, _, err := writeDirListing(m, entries, nil)
	require.NoError(t, err)
	require.NoError(t, m.flush())
	assert.Equal(t, uint32(0), l.Block)
	assert.Equal(t, uint16(5000), l.Offset)
	stream := wtRawStream(t, out.Bytes())
	hs, es := wtDecodeListing(t, stream, 5000, int(l.Size))
	assert.Equal(t, entries, es)

	require.Greater(t, len(l.Index), 5, "a listing of %d bytes", l.Size)
	headerAt := map[uint32]string{}
	for _, h := range hs {
		headerAt[h.Pos] = h.First
	}
	prev := uint32(0)
	for i, ix := range l.Index {
		abs := 5000 + int(ix.Index)
		assert.Equal(t, uint32(abs/8192*8194), ix.Start, "index %d: raw blocks are 8194 bytes on disk", i)
		first, ok := headerAt[ix.Index]
		require.True(t, ok, "index %d points at a header", i)
		assert.Equal(t, first, ix.Name)
		assert.LessOrEqual(t, ix.Index-prev, uint32(8192), "index %d: at most 8 KiB since the last", i)
		assert.Greater(t, ix.Index+8+uint32(len(ix.Name))-prev, uint32(8192), "index %d: not before the next entry would pass 8 KiB", i)
		prev = ix.Index
	}
	assert.LessOrEqual(t, l.Size-prev, uint32(8192), "no index missing at the end")
}

package squashfs

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// TestSuperblockLayout pins the byte layout of format.adoc "The Superblock":
// every field at its documented offset, little endian. The expected bytes are
// written out by hand from that table, not produced by the code under test.
func TestSuperblockLayout(t *testing.T) {
	sb := Superblock{
		Inodes: 0x11223344, ModTime: 0x55667788, BlockSize: 1 << 20, Fragments: 7,
		Compressor: compress.XZ, BlockLog: 20, Flags: FlagDuplicates | FlagNoXattrs, IDs: 1,
		RootInode: 0x0102030405060708, BytesUsed: 0x1000, IDTableStart: 0x2000,
		XattrTableStart: NoTable, InodeTableStart: 0x60, DirTableStart: 0x3000,
		FragmentTableStart: 0x4000, ExportTableStart: NoTable,
	}
	b, err := sb.MarshalBinary()
	require.NoError(t, err)
	want := "" +
		"68737173" + "44332211" + "88776655" + "00001000" + // magic, inodes, mtime, block_size
		"07000000" + "0400" + "1400" + "4002" + "0100" + // fragments, comp, block_log, flags, ids
		"0400" + "0000" + // version 4.0
		"0807060504030201" + "0010000000000000" + "0020000000000000" + // root, bytes_used, id_table
		"ffffffffffffffff" + "6000000000000000" + "0030000000000000" + // xattr, inode, dir tables
		"0040000000000000" + "ffffffffffffffff" // fragment, export tables
	assert.Equal(t, want, hex.EncodeToString(b))

	var back Superblock
	require.NoError(t, back.UnmarshalBinary(b))
	assert.Equal(t, sb, back)
}

func TestSuperblockRejects(t *testing.T) {
	good := Superblock{BlockSize: 4096, BlockLog: 12}
	b, _ := good.MarshalBinary()

	for name, mutate := range map[string]func([]byte) []byte{
		"short":          func(b []byte) []byte { return b[:95] },
		"magic":          func(b []byte) []byte { b[0] = 'x'; return b },
		"version":        func(b []byte) []byte { b[28] = 3; return b },
		"block size":     func(b []byte) []byte { b[12] = 1; return b },
		"block log":      func(b []byte) []byte { b[22] = 13; return b },
		"too big blocks": func(b []byte) []byte { b[14] = 0x20; b[22] = 21; return b },
	} {
		t.Run(name, func(t *testing.T) {
			c := mutate(append([]byte(nil), b...))
			var sb Superblock
			assert.ErrorIs(t, sb.UnmarshalBinary(c), ErrNotSquashfs)
		})
	}
	var sb Superblock
	assert.NoError(t, sb.UnmarshalBinary(b))
}

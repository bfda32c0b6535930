package squashfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Expected bytes follow the tables of format.adoc "Inode Table": a common
// header (u16 type, u16 permissions, u16 uid index, u16 gid index, u32 mtime,
// u32 inode number) and then the type's fields, all little endian.

func wtHeaderBytes(typ, mode, uid, gid byte) []byte {
	return []byte{
		typ, 0, mode, 0, uid, 0, gid, 0, // type, permissions (low byte given), uid, gid
		0x04, 0x03, 0x02, 0x01, // mtime 0x01020304
		0x2A, 0, 0, 0, // inode number 42
	}
}

func wtCat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func wtRec(typ uint16) inodeRecord {
	return inodeRecord{Type: typ, Mode: 0xA4, UID: 1, GID: 2, MTime: 0x01020304, Ino: 42}
}

func TestEncodeInodeBasicFile(t *testing.T) {
	r := wtRec(inodeBasicFile)
	r.BlocksStart, r.FragIndex, r.FragOffset, r.FileSize = 0x60, 3, 0x10, 0x20005
	r.Blocks = []uint32{0x1234, 0x01020000}
	want := wtCat(wtHeaderBytes(2, 0xA4, 1, 2),
		[]byte{0x60, 0, 0, 0},                      // blocks start
		[]byte{3, 0, 0, 0},                         // frag index
		[]byte{0x10, 0, 0, 0},                      // block offset
		[]byte{5, 0, 2, 0},                         // file size
		[]byte{0x34, 0x12, 0, 0, 0, 0, 0x02, 0x01}) // block sizes (second: uncompressed bit 24)
	assert.Equal(t, want, encodeInode(nil, &r))
}

func TestEncodeInodeExtendedFile(t *testing.T) {
	r := wtRec(inodeExtFile)
	r.BlocksStart, r.FileSize, r.Sparse, r.Nlink = 0x1_0000_0060, 0x1_0000_0001, 0x20000, 3
	r.FragIndex, r.FragOffset = fragmentNone, 0
	r.Blocks = []uint32{0}
	want := wtCat(wtHeaderBytes(9, 0xA4, 1, 2),
		[]byte{0x60, 0, 0, 0, 1, 0, 0, 0}, // blocks start u64
		[]byte{1, 0, 0, 0, 1, 0, 0, 0},    // file size u64
		[]byte{0, 0, 2, 0, 0, 0, 0, 0},    // sparse u64
		[]byte{3, 0, 0, 0},                // link count
		[]byte{0xFF, 0xFF, 0xFF, 0xFF},    // frag index: none
		[]byte{0, 0, 0, 0},                // block offset
		[]byte{0xFF, 0xFF, 0xFF, 0xFF},    // xattr index: none
		[]byte{0, 0, 0, 0})                // one sparse block
	assert.Equal(t, want, encodeInode(nil, &r))
}

func TestEncodeInodeDirectories(t *testing.T) {
	r := wtRec(inodeBasicDir)
	r.DirBlock, r.Nlink, r.DirSize, r.DirOffset, r.Parent = 0x2000, 4, 0x33, 0x100, 43
	want := wtCat(wtHeaderBytes(1, 0xA4, 1, 2),
		[]byte{0, 0x20, 0, 0}, // block index
		[]byte{4, 0, 0, 0},    // link count
		[]byte{0x33, 0},       // file size u16
		[]byte{0, 1},          // block offset
		[]byte{43, 0, 0, 0})   // parent inode
	assert.Equal(t, want, encodeInode(nil, &r))

	r = wtRec(inodeExtDir)
	r.DirBlock, r.Nlink, r.DirSize, r.DirOffset, r.Parent = 0x2000, 4, 0x10003, 0x100, 43
	r.DirIndex = []dirIndexEntry{{Index: 0x1F00, Start: 0x2100, Name: "abc"}}
	want = wtCat(wtHeaderBytes(8, 0xA4, 1, 2),
		[]byte{4, 0, 0, 0},             // link count
		[]byte{3, 0, 1, 0},             // file size u32
		[]byte{0, 0x20, 0, 0},          // block index
		[]byte{43, 0, 0, 0},            // parent inode
		[]byte{1, 0},                   // index count
		[]byte{0, 1},                   // block offset
		[]byte{0xFF, 0xFF, 0xFF, 0xFF}, // xattr index
		// "Directory Index": u32 index, u32 start, u32 name size - 1, name
		[]byte{0, 0x1F, 0, 0, 0, 0x21, 0, 0, 2, 0, 0, 0, 'a', 'b', 'c'})
	assert.Equal(t, want, encodeInode(nil, &r))
}

func TestEncodeInodeSymlinkDeviceIPC(t *testing.T) {
	r := wtRec(inodeBasicSymlink)
	r.Nlink, r.Target = 1, "/nix/x"
	assert.Equal(t, wtCat(wtHeaderBytes(3, 0xA4, 1, 2),
		[]byte{1, 0, 0, 0, 6, 0, 0, 0}, []byte("/nix/x")), encodeInode(nil, &r))

	r = wtRec(inodeBasicChar)
	r.Nlink, r.Rdev = 2, 0x0103
	assert.Equal(t, wtCat(wtHeaderBytes(5, 0xA4, 1, 2),
		[]byte{2, 0, 0, 0, 3, 1, 0, 0}), encodeInode(nil, &r))

	r = wtRec(inodeBasicBlock)
	r.Nlink, r.Rdev = 1, 0x0800
	assert.Equal(t, wtCat(wtHeaderBytes(4, 0xA4, 1, 2),
		[]byte{1, 0, 0, 0, 0, 8, 0, 0}), encodeInode(nil, &r))

	for _, typ := range []uint16{inodeBasicFifo, inodeBasicSocket} {
		r = wtRec(typ)
		r.Nlink = 1
		assert.Equal(t, wtCat(wtHeaderBytes(byte(typ), 0xA4, 1, 2), []byte{1, 0, 0, 0}), encodeInode(nil, &r))
	}
}

// The kernel decodes (fs/squashfs/inode.c new_decode_dev, format.adoc
// "Device Special Files") major = (dev & 0xFFF00) >> 8 and minor =
// (dev & 0xFF) | ((dev >> 12) & 0xFFF00).
func TestEncodeDevNumber(t *testing.T) {
	for _, c := range [][2]uint32{{0, 0}, {1, 3}, {8, 0}, {8, 300}, {259, 70000}, {4095, 1<<20 - 1}} {
		dev := encodeDevNumber(c[0], c[1])
		major := (dev & 0xFFF00) >> 8
		minor := (dev & 0xFF) | ((dev >> 12) & 0xFFF00)
		assert.Equal(t, c, [2]uint32{major, minor}, "dev %#x", dev)
	}
	assert.Equal(t, uint32(0x0103), encodeDevNumber(1, 3), "small numbers keep the old 8:8 layout")
}

func TestChooseInodeType(t *testing.T) {
	cases := []struct {
		r     inodeRecord
		basic uint16
		want  uint16
	}{
		{inodeRecord{FileSize: 1<<32 - 1, Nlink: 1}, inodeBasicFile, inodeBasicFile},
		{inodeRecord{FileSize: 1 << 32, Nlink: 1}, inodeBasicFile, inodeExtFile},
		{inodeRecord{BlocksStart: 1 << 32, Nlink: 1}, inodeBasicFile, inodeExtFile},
		{inodeRecord{Nlink: 2}, inodeBasicFile, inodeExtFile},
		{inodeRecord{Nlink: 1, Sparse: 4096}, inodeBasicFile, inodeExtFile},
		{inodeRecord{DirSize: 65535}, inodeBasicDir, inodeBasicDir},
		{inodeRecord{DirSize: 65536}, inodeBasicDir, inodeExtDir},
		{inodeRecord{DirSize: 100, DirIndex: []dirIndexEntry{{Name: "x"}}}, inodeBasicDir, inodeExtDir},
		{inodeRecord{Nlink: 5}, inodeBasicSymlink, inodeBasicSymlink},
		{inodeRecord{Nlink: 5}, inodeBasicChar, inodeBasicChar},
	}
	for i, c := range cases {
		chooseInodeType(&c.r, c.basic)
		assert.Equal(t, c.want, c.r.Type, "case %d", i)
	}
	assert.Equal(t, uint16(inodeBasicDir), basicType(inodeExtDir))
	assert.Equal(t, uint16(inodeBasicSocket), basicType(inodeExtSocket))
	assert.Equal(t, uint16(inodeBasicFile), basicType(inodeBasicFile))
}

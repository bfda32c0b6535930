package squashfs

import (
	"encoding/binary"
	"math"
)

// noXattr is the xattr index of an inode without extended attributes
// (format.adoc "Inode Table": xattr index 0xFFFFFFFF).
const noXattr = 0xFFFFFFFF

// inodeRecord holds every field an inode of any type can carry; encodeInode
// writes the ones its on-disk type has. Type is the on-disk inode type
// (inodeBasicDir ... inodeExtSocket); chooseInodeType picks basic or extended.
type inodeRecord struct {
	Type  uint16
	Mode  uint16 // permission bits only (format.adoc "Common Inode Header")
	UID   uint16 // id table indexes
	GID   uint16
	MTime uint32
	Ino   uint32
	Nlink uint32

	// Directories (format.adoc "Directory Inodes").
	DirBlock  uint32 // metadata block of the listing, relative to the directory table
	DirOffset uint16 // offset of the listing in that uncompressed block
	DirSize   uint32 // listing size + 3 (the kernel's "." and ".." slots)
	Parent    uint32
	DirIndex  []dirIndexEntry

	// Regular files (format.adoc "File Inodes").
	BlocksStart uint64
	FileSize    uint64
	Sparse      uint64
	FragIndex   uint32
	FragOffset  uint32
	Blocks      []uint32

	// Symlinks and devices.
	Target string
	Rdev   uint32
}

// basicType returns the basic inode type for an extended one; directory
// entries always store the basic type (format.adoc "Directory Table").
func basicType(t uint16) uint16 {
	if t > inodeBasicSocket {
		return t - 7
	}
	return t
}

// chooseInodeType sets r.Type to the basic type given by basic, or to its
// extended variant when a field does not fit the basic layout:
//   - directories: listing size + 3 above 65535 (u16 file size) or a
//     directory index present (only the extended inode carries one);
//   - files: size or blocks start at or beyond 4 GiB (u32 fields), a link
//     count above 1 or sparse bytes (only the extended inode stores them;
//     the kernel assumes nlink 1 for a basic file).
//
// Symlinks, devices and IPC inodes have a link count in the basic layout and
// need the extended one only for xattrs, which this writer never stores.
func chooseInodeType(r *inodeRecord, basic uint16) {
	r.Type = basic
	switch basic {
	case inodeBasicDir:
		if r.DirSize > math.MaxUint16 || len(r.DirIndex) > 0 {
			r.Type = inodeExtDir
		}
	case inodeBasicFile:
		if r.FileSize > math.MaxUint32 || r.BlocksStart > math.MaxUint32 || r.Nlink > 1 || r.Sparse > 0 {
			r.Type = inodeExtFile
		}
	}
}

// encodeInode appends the on-disk form of r to b: the common header
// (format.adoc "Common Inode Header") and the layout of r.Type's section.
func encodeInode(b []byte, r *inodeRecord) []byte {
	le := binary.LittleEndian
	b = le.AppendUint16(b, r.Type)
	b = le.AppendUint16(b, r.Mode)
	b = le.AppendUint16(b, r.UID)
	b = le.AppendUint16(b, r.GID)
	b = le.AppendUint32(b, r.MTime)
	b = le.AppendUint32(b, r.Ino)
	switch r.Type {
	case inodeBasicDir: // "Directory Inodes", basic
		b = le.AppendUint32(b, r.DirBlock)
		b = le.AppendUint32(b, r.Nlink)
		b = le.AppendUint16(b, uint16(r.DirSize))
		b = le.AppendUint16(b, r.DirOffset)
		b = le.AppendUint32(b, r.Parent)
	case inodeExtDir: // "Directory Inodes", extended, then "Directory Index"
		b = le.AppendUint32(b, r.Nlink)
		b = le.AppendUint32(b, r.DirSize)
		b = le.AppendUint32(b, r.DirBlock)
		b = le.AppendUint32(b, r.Parent)
		b = le.AppendUint16(b, uint16(len(r.DirIndex)))
		b = le.AppendUint16(b, r.DirOffset)
		b = le.AppendUint32(b, noXattr)
		for _, ix := range r.DirIndex {
			b = le.AppendUint32(b, ix.Index)
			b = le.AppendUint32(b, ix.Start)
			b = le.AppendUint32(b, uint32(len(ix.Name)-1))
			b = append(b, ix.Name...)
		}
	case inodeBasicFile: // "File Inodes", basic
		b = le.AppendUint32(b, uint32(r.BlocksStart))
		b = le.AppendUint32(b, r.FragIndex)
		b = le.AppendUint32(b, r.FragOffset)
		b = le.AppendUint32(b, uint32(r.FileSize))
		for _, s := range r.Blocks {
			b = le.AppendUint32(b, s)
		}
	case inodeExtFile: // "File Inodes", extended
		b = le.AppendUint64(b, r.BlocksStart)
		b = le.AppendUint64(b, r.FileSize)
		b = le.AppendUint64(b, r.Sparse)
		b = le.AppendUint32(b, r.Nlink)
		b = le.AppendUint32(b, r.FragIndex)
		b = le.AppendUint32(b, r.FragOffset)
		b = le.AppendUint32(b, noXattr)
		for _, s := range r.Blocks {
			b = le.AppendUint32(b, s)
		}
	case inodeBasicSymlink, inodeExtSymlink: // "Symbolic Links"
		b = le.AppendUint32(b, r.Nlink)
		b = le.AppendUint32(b, uint32(len(r.Target)))
		b = append(b, r.Target...)
		if r.Type == inodeExtSymlink {
			b = le.AppendUint32(b, noXattr)
		}
	case inodeBasicBlock, inodeBasicChar, inodeExtBlock, inodeExtChar: // "Device Special Files"
		b = le.AppendUint32(b, r.Nlink)
		b = le.AppendUint32(b, r.Rdev)
		if r.Type >= inodeExtDir {
			b = le.AppendUint32(b, noXattr)
		}
	case inodeBasicFifo, inodeBasicSocket, inodeExtFifo, inodeExtSocket: // "IPC Inodes"
		b = le.AppendUint32(b, r.Nlink)
		if r.Type >= inodeExtDir {
			b = le.AppendUint32(b, noXattr)
		}
	}
	return b
}

// encodeDevNumber packs a device number as the kernel decodes it
// (fs/squashfs/inode.c: new_decode_dev(rdev); format.adoc "Device Special
// Files": major = (dev & 0xFFF00) >> 8, minor = (dev & 0xFF) |
// ((dev >> 12) & 0xFFF00)). major must be below 4096 and minor below 2^20.
func encodeDevNumber(major, minor uint32) uint32 {
	return minor&0xFF | major<<8 | (minor&^0xFF)<<12
}

package squashfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// Superblock is the 96-byte header at offset 0 of every image
// (format.adoc "The Superblock"). All table positions are absolute byte
// offsets in the image.
type Superblock struct {
	Inodes             uint32
	ModTime            uint32
	BlockSize          uint32
	Fragments          uint32
	Compressor         compress.ID
	BlockLog           uint16
	Flags              uint16
	IDs                uint16
	RootInode          uint64 // inode reference: metadata block offset << 16 | offset in block
	BytesUsed          uint64
	IDTableStart       uint64
	XattrTableStart    uint64
	InodeTableStart    uint64
	DirTableStart      uint64
	FragmentTableStart uint64
	ExportTableStart   uint64
}

// ErrNotSquashfs is returned for data that does not start with a SquashFS 4.0
// superblock.
var ErrNotSquashfs = errors.New("squashfs: not a SquashFS 4.0 image")

// MarshalBinary encodes the superblock in its on-disk layout: little endian,
// fields in the order of format.adoc's table, magic and version included.
func (s *Superblock) MarshalBinary() ([]byte, error) {
	b := make([]byte, SuperblockSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], Magic)
	le.PutUint32(b[4:], s.Inodes)
	le.PutUint32(b[8:], s.ModTime)
	le.PutUint32(b[12:], s.BlockSize)
	le.PutUint32(b[16:], s.Fragments)
	le.PutUint16(b[20:], uint16(s.Compressor))
	le.PutUint16(b[22:], s.BlockLog)
	le.PutUint16(b[24:], s.Flags)
	le.PutUint16(b[26:], s.IDs)
	le.PutUint16(b[28:], VersionMajor)
	le.PutUint16(b[30:], VersionMinor)
	le.PutUint64(b[32:], s.RootInode)
	le.PutUint64(b[40:], s.BytesUsed)
	le.PutUint64(b[48:], s.IDTableStart)
	le.PutUint64(b[56:], s.XattrTableStart)
	le.PutUint64(b[64:], s.InodeTableStart)
	le.PutUint64(b[72:], s.DirTableStart)
	le.PutUint64(b[80:], s.FragmentTableStart)
	le.PutUint64(b[88:], s.ExportTableStart)
	return b, nil
}

// UnmarshalBinary decodes and checks a superblock: magic, version, and the
// block size / block_log pair the kernel also checks (fs/squashfs/super.c
// squashfs_fill_super).
func (s *Superblock) UnmarshalBinary(b []byte) error {
	if len(b) < SuperblockSize {
		return fmt.Errorf("%w: %d bytes, a superblock needs %d", ErrNotSquashfs, len(b), SuperblockSize)
	}
	le := binary.LittleEndian
	if m := le.Uint32(b[0:]); m != Magic {
		return fmt.Errorf("%w: magic %#08x", ErrNotSquashfs, m)
	}
	if maj, min := le.Uint16(b[28:]), le.Uint16(b[30:]); maj != VersionMajor || min != VersionMinor {
		return fmt.Errorf("%w: version %d.%d", ErrNotSquashfs, maj, min)
	}
	*s = Superblock{
		Inodes:             le.Uint32(b[4:]),
		ModTime:            le.Uint32(b[8:]),
		BlockSize:          le.Uint32(b[12:]),
		Fragments:          le.Uint32(b[16:]),
		Compressor:         compress.ID(le.Uint16(b[20:])),
		BlockLog:           le.Uint16(b[22:]),
		Flags:              le.Uint16(b[24:]),
		IDs:                le.Uint16(b[26:]),
		RootInode:          le.Uint64(b[32:]),
		BytesUsed:          le.Uint64(b[40:]),
		IDTableStart:       le.Uint64(b[48:]),
		XattrTableStart:    le.Uint64(b[56:]),
		InodeTableStart:    le.Uint64(b[64:]),
		DirTableStart:      le.Uint64(b[72:]),
		FragmentTableStart: le.Uint64(b[80:]),
		ExportTableStart:   le.Uint64(b[88:]),
	}
	if err := CheckBlockSize(int(s.BlockSize)); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSquashfs, err)
	}
	if int(s.BlockLog) != bits.TrailingZeros32(s.BlockSize) {
		return fmt.Errorf("%w: block_log %d does not match block size %d", ErrNotSquashfs, s.BlockLog, s.BlockSize)
	}
	return nil
}

// CheckBlockSize reports whether n is a legal data block size: a power of two
// from 4 KiB to 1 MiB (format.adoc "The Superblock": block_size).
func CheckBlockSize(n int) error {
	if n < MinBlockSize || n > MaxBlockSize || n&(n-1) != 0 {
		return fmt.Errorf("block size %d is not a power of two from %d to %d", n, MinBlockSize, MaxBlockSize)
	}
	return nil
}

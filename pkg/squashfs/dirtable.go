package squashfs

import (
	"encoding/binary"
	"fmt"
)

// dirListEntry is one name of a directory listing: the basic inode type, the
// inode's reference (block << 16 | offset in the inode table) and number.
type dirListEntry struct {
	Name string
	Type uint16
	Ref  uint64
	Ino  uint32
}

// dirIndexEntry is one entry of an extended directory inode's index
// (format.adoc "Directory Index"): the header's byte offset from the start of
// the listing, the directory-table-relative location of the metadata block
// the header starts in, and the first name after the header.
type dirIndexEntry struct {
	Index uint32
	Start uint32
	Name  string
}

// dirListing describes a written listing for its directory inode.
type dirListing struct {
	Block  uint32 // metadata block holding the listing start, relative to the directory table
	Offset uint16 // offset of the listing in that uncompressed block
	Size   uint32 // listing bytes (headers included), without the kernel's +3
	Index  []dirIndexEntry
}

const (
	dirHeaderSize = 12 // count, start, inode number (format.adoc "Directory Table")
	dirEntrySize  = 8  // offset, inode offset, type, name size; then the name
)

// writeDirListing writes the listing of one directory (entries sorted by name
// bytes) to the directory table m (format.adoc "Directory Table") and
// returns where it went and its index.
//
// A new header starts when the current one holds 256 entries (the kernel
// rejects more, SQUASHFS_DIR_COUNT), when the next entry's inode lies in a
// different inode metadata block (entries store only the offset in the
// header's block), when its inode number is not within a signed 16-bit
// difference of the header's, and when the listing since the last indexed
// header would grow beyond 8 KiB with the next entry. Headers started for the
// last reason get an index entry (format.adoc "Directory Index"), so a lookup
// scans at most about one metadata block. This is the rule mksquashfs
// follows; keeping it makes the choice between basic and extended directory
// inodes (which only the extended one can carry an index) the same as
// mksquashfs's, which sqfsdiff compares.
//
// The kernel (fs/squashfs/namei.c get_dir_index_using_name, dir.c
// get_dir_index_using_offset) jumps to the last index entry whose name is not
// greater than the looked-up name (or whose offset is not beyond f_pos) and
// computes the header's offset in its block as (listing offset + index) %
// 8192, so Start must be the block the header actually starts in: the block
// being filled when the header is written.
func writeDirListing(m *metaBlockWriter, entries []dirListEntry, scratch []byte) (dirListing, []byte, error) {
	blk, off := m.pos()
	l := dirListing{Block: uint32(blk), Offset: off}
	if blk > 0xFFFFFFFF {
		return l, scratch, fmt.Errorf("squashfs: directory table exceeds 4 GiB")
	}
	base := m.upos()
	u := base         // uncompressed position of the next run's header
	lastIndex := base // position of the last indexed header (or the listing start)
	le := binary.LittleEndian
	for i := 0; i < len(entries); {
		hdr := u
		first := entries[i]
		inodeBlock := first.Ref >> 16
		if i > 0 && hdr+dirEntrySize+uint64(len(first.Name))-lastIndex > MetadataBlockSize {
			b, _ := m.pos()
			l.Index = append(l.Index, dirIndexEntry{Index: uint32(hdr - base), Start: uint32(b), Name: first.Name})
			lastIndex = hdr
		}
		p := hdr + dirHeaderSize
		j := i
		for j < len(entries) && j-i < dirMaxEntriesPerHeader {
			e := entries[j]
			if j > i {
				if e.Ref>>16 != inodeBlock {
					break
				}
				if d := int64(e.Ino) - int64(first.Ino); d < dirInodeOffsetMin || d > dirInodeOffsetMax {
					break
				}
				if p+dirEntrySize+uint64(len(e.Name))-lastIndex > MetadataBlockSize {
					break
				}
			}
			p += dirEntrySize + uint64(len(e.Name))
			j++
		}
		scratch = le.AppendUint32(scratch[:0], uint32(j-i-1))
		scratch = le.AppendUint32(scratch, uint32(inodeBlock))
		scratch = le.AppendUint32(scratch, first.Ino)
		for _, e := range entries[i:j] {
			scratch = le.AppendUint16(scratch, uint16(e.Ref&0xFFFF))
			scratch = le.AppendUint16(scratch, uint16(int16(int64(e.Ino)-int64(first.Ino))))
			scratch = le.AppendUint16(scratch, e.Type)
			scratch = le.AppendUint16(scratch, uint16(len(e.Name)-1))
			scratch = append(scratch, e.Name...)
		}
		if _, err := m.Write(scratch); err != nil {
			return l, scratch, fmt.Errorf("squashfs: writing directory table: %w", err)
		}
		u = p
		i = j
	}
	if len(l.Index) > 0xFFFF || u-base > 0xFFFFFFFF-3 {
		return l, scratch, fmt.Errorf("squashfs: directory listing of %d bytes exceeds the extended directory inode's limits", u-base)
	}
	l.Size = uint32(u - base)
	return l, scratch, nil
}

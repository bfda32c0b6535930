package squashfs

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"time"
)

// InodeInfo is what FileInfo.Sys returns for files of a Reader: the inode as
// stored, with ids resolved through the id table.
type InodeInfo struct {
	// Inode is the inode number (format.adoc "Common Inode Header").
	Inode uint32
	// Nlink is the link count; basic file inodes have none stored and
	// count as 1.
	Nlink    uint32
	UID, GID uint32
	// Devmajor and Devminor decode a device inode's device number
	// (format.adoc "Device Special Files").
	Devmajor, Devminor uint32
	// Type is the on-disk inode type, 1..14 (8..14 are the extended forms).
	Type uint16
	// Ref is the inode reference: metadata block offset << 16 | offset.
	Ref uint64
	// ModTime is the stored modification time in seconds.
	ModTime uint32
	// Xattr is the extended-attribute index, 0xFFFFFFFF for none (and for
	// basic inodes, which cannot have any).
	Xattr uint32
	// ParentInode is a directory's parent inode number. For the root,
	// format.adoc says it SHOULD be 0; mksquashfs writes the inode count
	// plus one. The reader does not use it.
	ParentInode uint32
	// DirIndex is an extended directory's index (format.adoc "Directory
	// Index"); the reader does not need it to look names up.
	DirIndex []DirIndexEntry
	// BlocksStart, Blocks, Fragment, FragmentOffset and Sparse describe a
	// regular file's data (format.adoc "File Inodes"); Blocks holds the
	// stored size words (bit 24 set: stored uncompressed; 0: sparse).
	BlocksStart    uint64
	Blocks         []uint32
	Fragment       uint32
	FragmentOffset uint32
	Sparse         uint64
}

// DirIndexEntry is one entry of an extended directory's index.
type DirIndexEntry struct {
	// Index is the byte offset of a directory header within the listing.
	Index uint32
	// Start is that header's metadata block, relative to the directory
	// table.
	Start uint32
	// Name is the first name after that header.
	Name string
}

// rdInode is a decoded inode.
type rdInode struct {
	InodeInfo
	perm uint16 // permission bits as stored (including setuid/setgid/sticky)
	size int64  // regular files: bytes; dirs: the stored listing size (+3); symlinks: target length
	// Directories: where the listing starts (format.adoc "Directory
	// Inodes").
	dirBlock  uint32
	dirOffset uint16
	// Symlinks: the target, verbatim.
	target string
}

// basicType maps extended inode types to their basic form, as directory
// entries store them (format.adoc "Directory Table").
func rdBasicType(t uint16) uint16 {
	if t > inodeBasicSocket {
		return t - 7
	}
	return t
}

func (in *rdInode) isDir() bool     { return rdBasicType(in.Type) == inodeBasicDir }
func (in *rdInode) isFile() bool    { return rdBasicType(in.Type) == inodeBasicFile }
func (in *rdInode) isSymlink() bool { return rdBasicType(in.Type) == inodeBasicSymlink }

// mode is the fs.FileMode: permission bits, setuid/setgid/sticky, and the
// type from the inode type (the on-disk mode holds no type bits).
func (in *rdInode) mode() fs.FileMode {
	m := fs.FileMode(in.perm & 0o777)
	if in.perm&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if in.perm&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if in.perm&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	switch rdBasicType(in.Type) {
	case inodeBasicDir:
		m |= fs.ModeDir
	case inodeBasicSymlink:
		m |= fs.ModeSymlink
	case inodeBasicBlock:
		m |= fs.ModeDevice
	case inodeBasicChar:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case inodeBasicFifo:
		m |= fs.ModeNamedPipe
	case inodeBasicSocket:
		m |= fs.ModeSocket
	}
	return m
}

// readInode decodes the inode at ref (format.adoc "Inode Table").
func (r *Reader) readInode(ref uint64) (*rdInode, error) {
	blk, off := ref>>16, int(ref&0xFFFF)
	if blk >= r.sb.DirTableStart-r.sb.InodeTableStart {
		return nil, fmt.Errorf("%w: inode reference %#x outside the inode table", ErrCorrupt, ref)
	}
	// The inode table ends where the directory table starts.
	c, err := r.cursor(int64(r.sb.InodeTableStart+blk), off, int64(r.sb.DirTableStart))
	if err != nil {
		return nil, fmt.Errorf("inode %#x: %w", ref, err)
	}
	in, err := r.decodeInode(c)
	if err != nil {
		return nil, fmt.Errorf("inode %#x: %w", ref, err)
	}
	in.Ref = ref
	return in, nil
}

// rdFields decodes little-endian fields from a cursor, remembering the first
// error.
type rdFields struct {
	c   *rdCursor
	err error
	buf [8]byte
}

func (f *rdFields) bytes(n int) []byte {
	if f.err != nil {
		return f.buf[:n]
	}
	f.err = f.c.read(f.buf[:n])
	return f.buf[:n]
}

func (f *rdFields) u16() uint16 { return binary.LittleEndian.Uint16(f.bytes(2)) }
func (f *rdFields) u32() uint32 { return binary.LittleEndian.Uint32(f.bytes(4)) }
func (f *rdFields) u64() uint64 { return binary.LittleEndian.Uint64(f.bytes(8)) }

func (r *Reader) decodeInode(c *rdCursor) (*rdInode, error) {
	f := rdFields{c: c}
	in := &rdInode{}
	in.Type = f.u16()
	in.perm = f.u16()
	uidIdx, gidIdx := f.u16(), f.u16()
	in.ModTime = f.u32()
	in.Inode = f.u32()
	in.Xattr = 0xFFFFFFFF
	in.Fragment = fragmentNone
	if f.err != nil {
		return nil, f.err
	}
	if int(uidIdx) >= len(r.ids) || int(gidIdx) >= len(r.ids) {
		return nil, fmt.Errorf("%w: id index %d/%d beyond the %d ids", ErrCorrupt, uidIdx, gidIdx, len(r.ids))
	}
	in.UID, in.GID = r.ids[uidIdx], r.ids[gidIdx]
	if in.Inode == 0 || in.Inode > r.sb.Inodes {
		return nil, fmt.Errorf("%w: inode number %d (the image has %d)", ErrCorrupt, in.Inode, r.sb.Inodes)
	}
	if in.perm > 0o7777 {
		return nil, fmt.Errorf("%w: mode %#o has bits beyond 07777", ErrCorrupt, in.perm)
	}

	switch in.Type {
	case inodeBasicDir:
		in.dirBlock = f.u32()
		in.Nlink = f.u32()
		in.size = int64(f.u16())
		in.dirOffset = f.u16()
		in.ParentInode = f.u32()
	case inodeExtDir:
		in.Nlink = f.u32()
		in.size = int64(f.u32())
		in.dirBlock = f.u32()
		in.ParentInode = f.u32()
		nIndex := f.u16()
		in.dirOffset = f.u16()
		in.Xattr = f.u32()
		if f.err != nil {
			return nil, f.err
		}
		if err := r.decodeDirIndex(c, in, int(nIndex)); err != nil {
			return nil, err
		}
	case inodeBasicFile:
		in.BlocksStart = uint64(f.u32())
		in.Fragment = f.u32()
		in.FragmentOffset = f.u32()
		in.size = int64(f.u32())
		in.Nlink = 1
		if err := r.decodeBlockList(&f, in); err != nil {
			return nil, err
		}
	case inodeExtFile:
		in.BlocksStart = f.u64()
		size := f.u64()
		in.Sparse = f.u64()
		in.Nlink = f.u32()
		in.Fragment = f.u32()
		in.FragmentOffset = f.u32()
		in.Xattr = f.u32()
		if size > 1<<62 {
			return nil, fmt.Errorf("%w: file size %d", ErrCorrupt, size)
		}
		in.size = int64(size)
		if err := r.decodeBlockList(&f, in); err != nil {
			return nil, err
		}
	case inodeBasicSymlink, inodeExtSymlink:
		in.Nlink = f.u32()
		n := f.u32()
		if f.err != nil {
			return nil, f.err
		}
		if n == 0 || n > maxSymlinkSize {
			return nil, fmt.Errorf("%w: symlink target of %d bytes", ErrCorrupt, n)
		}
		t := make([]byte, n)
		if err := c.read(t); err != nil {
			return nil, err
		}
		in.target = string(t)
		in.size = int64(n)
		if in.Type == inodeExtSymlink {
			in.Xattr = f.u32()
		}
	case inodeBasicBlock, inodeBasicChar, inodeExtBlock, inodeExtChar:
		in.Nlink = f.u32()
		dev := f.u32()
		// format.adoc "Device Special Files": Linux's new_encode_dev.
		in.Devmajor = (dev & 0xFFF00) >> 8
		in.Devminor = (dev & 0xFF) | ((dev >> 12) & 0xFFF00)
		if in.Type > inodeBasicSocket {
			in.Xattr = f.u32()
		}
	case inodeBasicFifo, inodeBasicSocket, inodeExtFifo, inodeExtSocket:
		in.Nlink = f.u32()
		if in.Type > inodeBasicSocket {
			in.Xattr = f.u32()
		}
	default:
		return nil, fmt.Errorf("%w: inode type %d", ErrCorrupt, in.Type)
	}
	if f.err != nil {
		return nil, f.err
	}
	if in.Nlink == 0 {
		return nil, fmt.Errorf("%w: link count 0", ErrCorrupt)
	}
	if in.isDir() && in.dirOffset >= MetadataBlockSize {
		return nil, fmt.Errorf("%w: directory listing offset %d", ErrCorrupt, in.dirOffset)
	}
	return in, nil
}

// decodeBlockList reads a file's block sizes, one u32 per full block plus
// one for a tail not stored in a fragment (format.adoc "File Inodes").
func (r *Reader) decodeBlockList(f *rdFields, in *rdInode) error {
	if f.err != nil {
		return f.err
	}
	bs := int64(r.sb.BlockSize)
	n := in.size / bs
	if in.Fragment == fragmentNone {
		if in.size%bs != 0 {
			n++
		}
	} else {
		if in.Fragment >= r.sb.Fragments {
			return fmt.Errorf("%w: fragment index %d (the image has %d)", ErrCorrupt, in.Fragment, r.sb.Fragments)
		}
		if in.FragmentOffset >= r.sb.BlockSize {
			return fmt.Errorf("%w: fragment offset %d", ErrCorrupt, in.FragmentOffset)
		}
	}
	if n > MaxFileBlocks {
		return fmt.Errorf("%w: file of %d bytes has %d blocks (at most %d)", ErrLimit, in.size, n, MaxFileBlocks)
	}
	if n == 0 {
		return nil
	}
	raw := make([]byte, 4*n)
	if err := f.c.read(raw); err != nil {
		return fmt.Errorf("block list: %w", err)
	}
	in.Blocks = make([]uint32, n)
	for i := range in.Blocks {
		w := binary.LittleEndian.Uint32(raw[4*i:])
		if w&^(dataBlockUncompressed|dataBlockSizeMask) != 0 || w&dataBlockSizeMask > r.sb.BlockSize {
			return fmt.Errorf("%w: block %d size word %#x", ErrCorrupt, i, w)
		}
		in.Blocks[i] = w
	}
	return nil
}

// decodeDirIndex reads an extended directory's index entries (format.adoc
// "Directory Index"): index u32, start u32, name_size u32 (stored minus
// one), name.
func (r *Reader) decodeDirIndex(c *rdCursor, in *rdInode, n int) error {
	f := rdFields{c: c}
	for i := 0; i < n; i++ {
		var e DirIndexEntry
		e.Index = f.u32()
		e.Start = f.u32()
		size := f.u32()
		if f.err != nil {
			return fmt.Errorf("directory index: %w", f.err)
		}
		if size >= MaxNameLen+1 {
			return fmt.Errorf("%w: directory index name of %d bytes", ErrCorrupt, size+1)
		}
		name := make([]byte, size+1)
		if err := c.read(name); err != nil {
			return fmt.Errorf("directory index: %w", err)
		}
		e.Name = string(name)
		in.DirIndex = append(in.DirIndex, e)
	}
	return nil
}

// rdFileInfo implements fs.FileInfo for an inode under a name.
type rdFileInfo struct {
	name string
	in   *rdInode
}

func (fi *rdFileInfo) Name() string { return fi.name }

// Size is the file size for regular files, the target length for symlinks,
// and for directories the stored listing size, which is what the kernel
// reports as the directory's i_size.
func (fi *rdFileInfo) Size() int64 {
	switch rdBasicType(fi.in.Type) {
	case inodeBasicFile, inodeBasicSymlink, inodeBasicDir:
		return fi.in.size
	}
	return 0
}
func (fi *rdFileInfo) Mode() fs.FileMode  { return fi.in.mode() }
func (fi *rdFileInfo) ModTime() time.Time { return time.Unix(int64(fi.in.ModTime), 0).UTC() }
func (fi *rdFileInfo) IsDir() bool        { return fi.in.isDir() }

// Sys returns the *InodeInfo.
func (fi *rdFileInfo) Sys() any { return &fi.in.InodeInfo }

package squashfs

import (
	"bytes"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// tableWriter writes the inode and directory tables at Close.
//
// Order (format.adoc "Inode Table", "Directory Table"): a directory's
// listing needs the references and numbers of the inodes it names, and a
// directory inode needs the position of its listing. So the tree is written
// bottom up: for each directory, first the subtrees of its subdirectories
// (listings and inodes), then the inodes of all its children in name order,
// then its own listing; its inode follows in its parent's run, and the root's
// inode comes last. Inode numbers are handed out in exactly this order, so
// the children of one directory have consecutive numbers and neighbouring
// inodes (few directory headers), and the root gets the highest number, N.
// Like mksquashfs, the root's parent is N + 1.
type tableWriter struct {
	w       *Writer
	ids     *idTable
	im      *metaBlockWriter // inode table, straight into the image
	dm      *metaBlockWriter // directory table, buffered until the inode table is complete
	entries []dirListEntry
	buf     []byte
	scratch []byte
}

func sortTree(d *treeNode) {
	slices.SortFunc(d.children, func(a, b *treeNode) int { return strings.Compare(a.name, b.name) })
	for _, c := range d.children {
		if c.typ == TypeDir {
			sortTree(c)
		}
	}
}

func collectIDs(d *treeNode, ids []uint32) []uint32 {
	for _, c := range d.children {
		if c.link != nil {
			continue
		}
		ids = append(ids, c.uid, c.gid)
		if c.typ == TypeDir {
			ids = collectIDs(c, ids)
		}
	}
	return ids
}

// numberTree assigns inode numbers in the order writeDir writes inodes.
func numberTree(d *treeNode, next *uint32) {
	for _, c := range d.children {
		if c.typ == TypeDir {
			numberTree(c, next)
		}
	}
	for _, c := range d.children {
		if n := c.resolve(); n.ino == 0 {
			n.ino = *next
			*next++
		}
	}
}

func (t *tableWriter) writeDir(d *treeNode) error {
	for _, c := range d.children {
		if c.typ == TypeDir {
			if err := t.writeDir(c); err != nil {
				return err
			}
		}
	}
	for _, c := range d.children {
		if n := c.resolve(); !n.written {
			if err := t.writeInode(n, d.ino); err != nil {
				return err
			}
		}
	}
	t.entries = t.entries[:0]
	for _, c := range d.children {
		n := c.resolve()
		t.entries = append(t.entries, dirListEntry{Name: c.name, Type: entryInodeType(n.typ), Ref: n.ref, Ino: n.ino})
	}
	l, scratch, err := writeDirListing(t.dm, t.entries, t.scratch)
	t.scratch = scratch
	if err != nil {
		return err
	}
	d.dir = &l
	return nil
}

// entryInodeType is the basic inode type of an entry type.
func entryInodeType(typ Type) uint16 {
	switch typ {
	case TypeDir:
		return inodeBasicDir
	case TypeSymlink:
		return inodeBasicSymlink
	case TypeBlock:
		return inodeBasicBlock
	case TypeChar:
		return inodeBasicChar
	case TypeFifo:
		return inodeBasicFifo
	case TypeSocket:
		return inodeBasicSocket
	}
	return inodeBasicFile
}

func (t *tableWriter) writeInode(n *treeNode, parent uint32) error {
	r := inodeRecord{
		Mode:  n.mode,
		UID:   t.ids.lookup(n.uid),
		GID:   t.ids.lookup(n.gid),
		MTime: t.w.mtime,
		Ino:   n.ino,
		Nlink: 1 + n.links,
	}
	switch n.typ {
	case TypeDir:
		// A directory's link count is 2 + its subdirectories (its own "."
		// and its name in the parent, plus each child's "..").
		r.Nlink = 2
		for _, c := range n.children {
			if c.typ == TypeDir {
				r.Nlink++
			}
		}
		r.DirBlock, r.DirOffset = n.dir.Block, n.dir.Offset
		// The size counts 3 bytes more than the listing: the kernel's "."
		// and ".." positions (format.adoc "Directory Inodes").
		r.DirSize = n.dir.Size + 3
		r.DirIndex = n.dir.Index
		r.Parent = parent
	case TypeReg:
		r.FileSize = uint64(n.size)
		r.BlocksStart = n.start
		r.FragIndex = n.fragIdx
		if n.fragIdx != fragmentNone {
			r.FragOffset = n.fragOff
		}
		r.Blocks = n.blocks
		for _, s := range n.blocks {
			if s == 0 {
				r.Sparse += uint64(t.w.blockSize)
			}
		}
	case TypeSymlink:
		r.Target = n.target
	case TypeChar, TypeBlock:
		r.Rdev = n.rdev
	}
	chooseInodeType(&r, entryInodeType(n.typ))
	n.ref = t.im.ref()
	t.buf = encodeInode(t.buf[:0], &r)
	if _, err := t.im.Write(t.buf); err != nil {
		return fmt.Errorf("squashfs: writing inode table: %w", err)
	}
	n.written = true
	return nil
}

// writeTables writes everything after the data blocks: inode table,
// directory table, fragment table, id table (in the order the kernel's
// squashfs_fill_super checks them), then pads the image and writes the
// superblock.
func (w *Writer) writeTables() error {
	root := w.root
	sortTree(root)
	ids, err := newIDTable(collectIDs(root, []uint32{root.uid, root.gid}))
	if err != nil {
		return err
	}
	next := uint32(1)
	numberTree(root, &next)
	root.ino = next
	inodes := next

	out := w.out
	inodeStart := out.pos()
	var dirBuf bytes.Buffer
	t := &tableWriter{w: w, ids: ids, im: newMetaBlockWriter(out, w.comp), dm: newMetaBlockWriter(&dirBuf, w.comp)}
	if err := t.writeDir(root); err != nil {
		return err
	}
	if err := t.writeInode(root, inodes+1); err != nil {
		return err
	}
	if err := t.im.flush(); err != nil {
		return err
	}
	if err := t.dm.flush(); err != nil {
		return err
	}
	dirStart := out.pos()
	if _, err := out.Write(dirBuf.Bytes()); err != nil {
		return err
	}
	frags := w.pipe.frags
	fragStart, _, err := writeLookupTable(out, uint64(out.pos()), w.comp, encodeFragmentTable(frags))
	if err != nil {
		return fmt.Errorf("squashfs: writing fragment table: %w", err)
	}
	idStart, _, err := writeLookupTable(out, uint64(out.pos()), w.comp, ids.encode())
	if err != nil {
		return fmt.Errorf("squashfs: writing id table: %w", err)
	}
	used := out.pos()
	if pad := (PadSize - used%PadSize) % PadSize; pad > 0 {
		if _, err := out.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	end := out.pos()

	flags := FlagNoXattrs | FlagDuplicates | FlagAlwaysFragments
	if w.comp.Uncompressed() {
		flags |= FlagUncompressedInodes | FlagUncompressedData | FlagUncompressedFragments | FlagUncompressedXattrs | FlagUncompressedIDs
	} else if w.comp.Options() != nil {
		flags |= FlagCompressorOptions
	}
	sb := Superblock{
		Inodes:             inodes,
		ModTime:            w.mtime,
		BlockSize:          uint32(w.blockSize),
		Fragments:          uint32(len(frags)),
		Compressor:         w.comp.ID(),
		BlockLog:           uint16(bits.TrailingZeros32(uint32(w.blockSize))),
		Flags:              flags,
		IDs:                uint16(len(ids.ids)),
		RootInode:          root.ref,
		BytesUsed:          uint64(used),
		IDTableStart:       idStart,
		XattrTableStart:    NoTable,
		InodeTableStart:    uint64(inodeStart),
		DirTableStart:      uint64(dirStart),
		FragmentTableStart: fragStart,
		ExportTableStart:   NoTable,
	}
	head, err := sb.MarshalBinary()
	if err != nil {
		return err
	}
	if err := out.finish(end, head); err != nil {
		return err
	}
	w.final.Store(end)
	return nil
}

package squashfs

import (
	"fmt"
	"io/fs"
	"strings"
)

// treeNode is one entry of the image tree, held in memory until Close writes
// the inode and directory tables. Its size is part of the documented
// per-entry memory cost (doc.go).
type treeNode struct {
	name     string      // the entry's own name (one path component)
	children []*treeNode // TypeDir: the entries in it, sorted at Close
	link     *treeNode   // TypeLink: the entry whose inode this name shares
	blocks   []uint32    // TypeReg: size words of the full blocks
	target   string      // TypeSymlink: the target, verbatim
	size     int64       // TypeReg: file size
	start    uint64      // TypeReg: image offset of the first block
	ref      uint64      // inode reference once written (Close)
	dir      *dirListing // TypeDir: the written listing (Close)
	uid, gid uint32
	links    uint32 // number of TypeLink entries naming this one
	ino      uint32 // inode number (Close)
	fragIdx  uint32 // TypeReg: fragment holding the tail end, or fragmentNone
	fragOff  uint32
	rdev     uint32 // TypeChar, TypeBlock: encoded device number
	mode     uint16 // permission bits incl. setuid/setgid/sticky
	typ      Type
	explicit bool // TypeDir: given by a header (not only implied by a path)
	written  bool // inode written (Close)
}

// treeKey finds an entry by its directory and name during WriteHeader. One
// map for the whole tree costs less per entry than a map per directory.
type treeKey struct {
	parent *treeNode
	name   string
}

// splitName checks an entry name and returns its components. Names are
// slash-separated paths relative to the image root; every component must be
// 1..255 bytes (MaxNameLen: the kernel's limit, fs/squashfs/namei.c) and
// must not be "." or "..", nor contain '/' or NUL. The root itself is "" or
// "." and yields no components.
func splitName(name string) ([]string, error) {
	if name == "" || name == "." {
		return nil, nil
	}
	parts := strings.Split(name, "/")
	for _, c := range parts {
		switch {
		case c == "":
			return nil, fmt.Errorf("%w: %q has an empty path component", ErrInvalidName, name)
		case c == "." || c == "..":
			return nil, fmt.Errorf("%w: %q has a %q component", ErrInvalidName, name, c)
		case len(c) > MaxNameLen:
			return nil, fmt.Errorf("%w: %q has a component of %d bytes, at most %d are allowed", ErrInvalidName, name, len(c), MaxNameLen)
		case strings.IndexByte(c, 0) >= 0:
			return nil, fmt.Errorf("%w: %q contains a NUL byte", ErrInvalidName, name)
		}
	}
	return parts, nil
}

// modeBits converts a mode to the 12 permission bits squashfs stores
// (format.adoc "Common Inode Header": permissions only; the type comes from
// the inode type).
func modeBits(m fs.FileMode) uint16 {
	b := uint16(m.Perm())
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}

// resolve returns the entry owning n's inode (n itself unless n is a hard
// link).
func (n *treeNode) resolve() *treeNode {
	for n.link != nil {
		n = n.link
	}
	return n
}

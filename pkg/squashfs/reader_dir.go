package squashfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
)

// rdEntry is one directory entry (format.adoc "Directory Table").
type rdEntry struct {
	name  string
	ref   uint64 // inode reference
	typ   uint16 // basic inode type
	inode uint32 // inode number: header base + entry difference
}

// listing returns the sorted entries of directory inode in, from the
// directory cache or by decoding the listing: runs of at most 256 entries,
// each after a header (count-1 u32, inode block start u32, base inode
// number u32); each entry holds offset u16, inode difference s16, basic type
// u16, name size-1 u16 and the name. The stored size counts 3 bytes the
// listing does not have (the kernel's "." and ".." positions).
func (r *Reader) listing(in *rdInode) ([]rdEntry, error) {
	r.mu.Lock()
	ents, ok := r.dirCache.get(in.Ref)
	r.mu.Unlock()
	if ok {
		return ents, nil
	}
	ents, err := r.decodeListing(in, nil)
	if err != nil {
		return nil, fmt.Errorf("directory inode %d: %w", in.Inode, err)
	}
	r.mu.Lock()
	r.dirCache.put(in.Ref, ents, len(ents)+1)
	r.mu.Unlock()
	return ents, nil
}

// rdHeaderPos locates one directory header: its byte offset in the listing,
// the metadata block holding its first byte (relative to the directory
// table), its offset in that block, and the index of its first entry.
type rdHeaderPos struct {
	listingOff int64
	block      int64
	blockOff   int
	firstEntry int
}

// decodeListing decodes a listing; onHeader, if not nil, sees each header's
// position (for checkDirIndex).
func (r *Reader) decodeListing(in *rdInode, onHeader func(rdHeaderPos)) ([]rdEntry, error) {
	remain := in.size - 3
	if remain <= 0 {
		return nil, nil
	}
	if uint64(in.dirBlock) >= uint64(r.end)-r.sb.DirTableStart {
		return nil, fmt.Errorf("%w: listing block %d outside the directory table", ErrCorrupt, in.dirBlock)
	}
	c, err := r.cursor(int64(r.sb.DirTableStart)+int64(in.dirBlock), int(in.dirOffset), r.end)
	if err != nil {
		return nil, err
	}
	f := rdFields{c: c}
	var ents []rdEntry
	var name [MaxNameLen + 1]byte
	for remain > 0 {
		if remain < 12 {
			return nil, fmt.Errorf("%w: %d stray bytes at the end of a directory listing", ErrCorrupt, remain)
		}
		if onHeader != nil {
			h := rdHeaderPos{listingOff: in.size - 3 - remain, block: c.pos, blockOff: c.off, firstEntry: len(ents)}
			if c.off == len(c.block.data) { // the header starts the next block
				h.block, h.blockOff = c.block.next, 0
			}
			h.block -= int64(r.sb.DirTableStart)
			onHeader(h)
		}
		count := uint64(f.u32()) + 1
		start := f.u32()
		base := f.u32()
		remain -= 12
		if f.err != nil {
			return nil, f.err
		}
		// The kernel rejects more than 256 entries per header
		// (fs/squashfs/dir.c, SQUASHFS_DIR_COUNT).
		if count > dirMaxEntriesPerHeader {
			return nil, fmt.Errorf("%w: directory header with %d entries", ErrCorrupt, count)
		}
		if uint64(start) >= r.sb.DirTableStart-r.sb.InodeTableStart {
			return nil, fmt.Errorf("%w: directory header inode block %d outside the inode table", ErrCorrupt, start)
		}
		for ; count > 0; count-- {
			if remain < 8 {
				return nil, fmt.Errorf("%w: directory entry truncated", ErrCorrupt)
			}
			off := f.u16()
			diff := int16(f.u16())
			typ := f.u16()
			size := int(f.u16()) + 1
			remain -= 8
			if f.err != nil {
				return nil, f.err
			}
			if size > MaxNameLen+1 || int64(size) > remain {
				return nil, fmt.Errorf("%w: directory entry name of %d bytes", ErrCorrupt, size)
			}
			if err := c.read(name[:size]); err != nil {
				return nil, err
			}
			remain -= int64(size)
			if off >= MetadataBlockSize {
				return nil, fmt.Errorf("%w: directory entry inode offset %d", ErrCorrupt, off)
			}
			if typ < inodeBasicDir || typ > inodeBasicSocket {
				return nil, fmt.Errorf("%w: directory entry type %d", ErrCorrupt, typ)
			}
			n := name[:size]
			if bytes.IndexByte(n, '/') >= 0 || bytes.IndexByte(n, 0) >= 0 || string(n) == "." || string(n) == ".." {
				return nil, fmt.Errorf("%w: directory entry name %q", ErrCorrupt, n)
			}
			// Names are sorted byte-wise and unique: the kernel's lookup
			// (fs/squashfs/namei.c) stops at the first name that sorts
			// after the one sought.
			if k := len(ents); k > 0 && ents[k-1].name >= string(n) {
				return nil, fmt.Errorf("%w: directory entries %q and %q out of order", ErrCorrupt, ents[k-1].name, n)
			}
			if len(ents) >= MaxDirEntries {
				return nil, fmt.Errorf("%w: directory with more than %d entries", ErrLimit, MaxDirEntries)
			}
			ents = append(ents, rdEntry{
				name:  string(n),
				ref:   uint64(start)<<16 | uint64(off),
				typ:   typ,
				inode: uint32(int64(base) + int64(diff)),
			})
		}
	}
	return ents, nil
}

// checkDirIndex verifies an extended directory's index against its listing
// the way the kernel uses it (fs/squashfs/namei.c get_dir_index_using_name):
// each entry's index is the listing offset of a header, start the metadata
// block holding it, (index + the inode's block offset) mod 8192 its offset
// in that block, and name the header's first entry; names ascend.
func (r *Reader) checkDirIndex(in *rdInode) error {
	var heads []rdHeaderPos
	ents, err := r.decodeListing(in, func(h rdHeaderPos) { heads = append(heads, h) })
	if err != nil {
		return err
	}
	prev := ""
	for i, x := range in.DirIndex {
		if i > 0 && x.Name <= prev {
			return fmt.Errorf("%w: directory index names %q, %q out of order", ErrCorrupt, prev, x.Name)
		}
		prev = x.Name
		k := sort.Search(len(heads), func(k int) bool { return heads[k].listingOff >= int64(x.Index) })
		if k == len(heads) || heads[k].listingOff != int64(x.Index) {
			return fmt.Errorf("%w: directory index %d: no header at listing offset %d", ErrCorrupt, i, x.Index)
		}
		h := heads[k]
		if h.block != int64(x.Start) {
			return fmt.Errorf("%w: directory index %d: header in block %d, index says %d", ErrCorrupt, i, h.block, x.Start)
		}
		if want := (int(x.Index) + int(in.dirOffset)) % MetadataBlockSize; h.blockOff != want {
			return fmt.Errorf("%w: directory index %d: header at block offset %d, the kernel would look at %d", ErrCorrupt, i, h.blockOff, want)
		}
		if h.firstEntry >= len(ents) || ents[h.firstEntry].name != x.Name {
			return fmt.Errorf("%w: directory index %d names %q, not the header's first entry", ErrCorrupt, i, x.Name)
		}
	}
	return nil
}

// lookup finds name in directory in.
func (r *Reader) lookup(in *rdInode, name string) (*rdEntry, error) {
	ents, err := r.listing(in)
	if err != nil {
		return nil, err
	}
	i := sort.Search(len(ents), func(i int) bool { return ents[i].name >= name })
	if i < len(ents) && ents[i].name == name {
		return &ents[i], nil
	}
	return nil, fs.ErrNotExist
}

// entryInode reads the inode an entry names and checks it has the entry's
// type.
func (r *Reader) entryInode(e *rdEntry) (*rdInode, error) {
	in, err := r.readInode(e.ref)
	if err != nil {
		return nil, err
	}
	if rdBasicType(in.Type) != e.typ {
		return nil, fmt.Errorf("%w: entry %q has type %d, its inode type %d", ErrCorrupt, e.name, e.typ, in.Type)
	}
	// The kernel takes a file's inode number from the directory entry
	// (fs/squashfs/namei.c squashfs_lookup, dir.c squashfs_readdir), so an
	// entry that disagrees with its inode breaks hard-link identity.
	if e.inode != in.Inode {
		return nil, fmt.Errorf("%w: entry %q has inode number %d, its inode %d", ErrCorrupt, e.name, e.inode, in.Inode)
	}
	return in, nil
}

// resolve walks name (a validPath) from the root. Symbolic links in
// the middle are always followed, the last only when follow is set;
// absolute targets restart at the image root. It returns the inode and the
// name it was found under.
func (r *Reader) resolve(name string, follow bool) (*rdInode, string, error) {
	root, err := r.readInode(r.sb.RootInode)
	if err != nil {
		return nil, "", err
	}
	if name == "." {
		return root, ".", nil
	}
	// stack holds the directories from the root to the current one, for
	// ".." in symlink targets and to detect a directory that contains
	// itself.
	stack := []*rdInode{root}
	todo := strings.Split(name, "/")
	base := todo[len(todo)-1]
	followed := 0
	for len(todo) > 0 {
		comp := todo[0]
		todo = todo[1:]
		cur := stack[len(stack)-1]
		switch comp {
		case "", ".":
			if len(todo) == 0 {
				return cur, base, nil
			}
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			if len(todo) == 0 {
				return stack[len(stack)-1], base, nil
			}
			continue
		}
		if !cur.isDir() {
			return nil, "", fmt.Errorf("%w: not a directory", fs.ErrNotExist)
		}
		e, err := r.lookup(cur, comp)
		if err != nil {
			return nil, "", err
		}
		in, err := r.entryInode(e)
		if err != nil {
			return nil, "", err
		}
		if in.isSymlink() && (len(todo) > 0 || follow) {
			followed++
			if followed > maxSymlinkFollows {
				return nil, "", fmt.Errorf("%w: more than %d symbolic links", ErrLoop, maxSymlinkFollows)
			}
			if strings.HasPrefix(in.target, "/") {
				stack = stack[:1]
			}
			todo = append(strings.Split(in.target, "/"), todo...)
			continue
		}
		if in.isDir() {
			for _, a := range stack {
				if a.Ref == in.Ref {
					return nil, "", fmt.Errorf("%w: directory %q contains itself", ErrLoop, comp)
				}
			}
			stack = append(stack, in)
			if len(todo) == 0 {
				return in, base, nil
			}
			continue
		}
		if len(todo) == 0 {
			return in, base, nil
		}
		// A non-directory with more components to go: resolve fails at the
		// next component (not a directory).
		stack = append(stack, in)
	}
	return stack[len(stack)-1], base, nil
}

// rdPathErr wraps err for fs callers; corrupt-image errors keep their cause.
func rdPathErr(op, name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// Open opens the named file (fs.FS), following symbolic links.
func (r *Reader) Open(name string) (fs.File, error) {
	if !validPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	in, base, err := r.resolve(name, true)
	if err != nil {
		return nil, rdPathErr("open", name, err)
	}
	fi := &rdFileInfo{name: base, in: in}
	switch {
	case in.isDir():
		ents, err := r.listing(in)
		if err != nil {
			return nil, rdPathErr("open", name, err)
		}
		return &rdDirFile{r: r, fi: fi, path: name, ents: ents}, nil
	case in.isFile():
		return r.newFile(fi, name), nil
	}
	return &rdSpecialFile{fi: fi, path: name}, nil
}

// Stat returns the FileInfo of the named file (fs.StatFS), following
// symbolic links.
func (r *Reader) Stat(name string) (fs.FileInfo, error) {
	return r.stat("stat", name, true)
}

// Lstat returns the FileInfo of the named file without following a final
// symbolic link.
func (r *Reader) Lstat(name string) (fs.FileInfo, error) {
	return r.stat("lstat", name, false)
}

func (r *Reader) stat(op, name string, follow bool) (fs.FileInfo, error) {
	if !validPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	in, base, err := r.resolve(name, follow)
	if err != nil {
		return nil, rdPathErr(op, name, err)
	}
	return &rdFileInfo{name: base, in: in}, nil
}

// ReadLink returns the target of the named symbolic link, verbatim.
func (r *Reader) ReadLink(name string) (string, error) {
	if !validPath(name) {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	in, _, err := r.resolve(name, false)
	if err != nil {
		return "", rdPathErr("readlink", name, err)
	}
	if !in.isSymlink() {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return in.target, nil
}

// ReadDir returns the entries of the named directory sorted by name
// (fs.ReadDirFS).
func (r *Reader) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, rdPathErr("readdir", name, err)
	}
	d, ok := f.(*rdDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return d.ReadDir(-1)
}

// ReadFile returns the contents of the named file (fs.ReadFileFS).
func (r *Reader) ReadFile(name string) ([]byte, error) {
	f, err := r.Open(name)
	if err != nil {
		return nil, rdPathErr("readfile", name, err)
	}
	defer func() { _ = f.Close() }() // closing an image file handle cannot fail
	rf, ok := f.(*rdFile)
	if !ok {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errors.New("not a regular file")}
	}
	// Preallocate at most 64 MiB: the size is the image's claim.
	n := rf.fi.in.size
	if n > 64<<20 {
		n = 64 << 20
	}
	buf := bytes.NewBuffer(make([]byte, 0, n))
	if _, err := io.Copy(buf, rf); err != nil {
		return nil, rdPathErr("readfile", name, err)
	}
	return buf.Bytes(), nil
}

// rdDirEntry implements fs.DirEntry.
type rdDirEntry struct {
	r *Reader
	e rdEntry
}

func (d *rdDirEntry) Name() string { return d.e.name }
func (d *rdDirEntry) IsDir() bool  { return d.e.typ == inodeBasicDir }
func (d *rdDirEntry) Type() fs.FileMode {
	return (&rdInode{InodeInfo: InodeInfo{Type: d.e.typ}}).mode().Type()
}
func (d *rdDirEntry) Info() (fs.FileInfo, error) {
	in, err := d.r.entryInode(&d.e)
	if err != nil {
		return nil, rdPathErr("stat", d.e.name, err)
	}
	return &rdFileInfo{name: d.e.name, in: in}, nil
}
func (d *rdDirEntry) String() string { return fs.FormatDirEntry(d) }

// rdDirFile is an open directory (fs.ReadDirFile).
type rdDirFile struct {
	r    *Reader
	fi   *rdFileInfo
	path string
	ents []rdEntry
	pos  int
}

func (d *rdDirFile) Stat() (fs.FileInfo, error) { return d.fi, nil }
func (d *rdDirFile) Close() error               { return nil }
func (d *rdDirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.path, Err: errors.New("is a directory")}
}

// ReadDir returns the next n entries, or all remaining ones for n <= 0.
func (d *rdDirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.pos:]
	if n > 0 {
		if len(rest) == 0 {
			return nil, io.EOF
		}
		if n < len(rest) {
			rest = rest[:n]
		}
	}
	out := make([]fs.DirEntry, len(rest))
	for i := range rest {
		out[i] = &rdDirEntry{r: d.r, e: rest[i]}
	}
	d.pos += len(rest)
	return out, nil
}

// rdSpecialFile is an open device, fifo or socket: it has a FileInfo but no
// data the image could supply.
type rdSpecialFile struct {
	fi   *rdFileInfo
	path string
}

func (s *rdSpecialFile) Stat() (fs.FileInfo, error) { return s.fi, nil }
func (s *rdSpecialFile) Close() error               { return nil }
func (s *rdSpecialFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: s.path, Err: errors.New("not a regular file")}
}

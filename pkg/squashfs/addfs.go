package squashfs

import (
	"fmt"
	"io/fs"
	"syscall"
)

// AddOptions configure AddFS.
type AddOptions struct {
	// Prefix is the directory of the image that receives the contents of
	// the file system ("nix/store/xxx-foo"); "" is the image root. When
	// the file system's root is a file or symlink, it becomes the entry
	// Prefix itself.
	Prefix string
	// NoHardlinks stores every name of a multiply linked file as a separate
	// file (identical contents are still stored once) instead of one inode
	// with several names.
	NoHardlinks bool
}

// devIno identifies a file on the host for hard link detection.
type devIno struct{ dev, ino uint64 }

// readLinkFS is the optional method AddFS uses to read symlink targets (as
// DirFS and this package's Reader have; fs.ReadLinkFS needs Go 1.25).
type readLinkFS interface {
	ReadLink(name string) (string, error)
}

// AddFS adds everything in fsys under opts.Prefix, walking it in lexical
// order (fs.WalkDir): directories, regular files (streamed, never read
// whole), symlinks (targets through a ReadLink(name) (string, error) method
// of fsys, stored verbatim), and, when FileInfo.Sys() is a
// *syscall.Stat_t, character and block devices (its Rdev), fifos, sockets,
// and hard links (files with the same device and inode number, unless
// opts.NoHardlinks; remembered across AddFS calls of one Writer). Modes keep
// the permission, setuid, setgid and sticky bits; every entry is owned by
// root (like mksquashfs -all-root). A regular file must yield exactly the
// size its FileInfo reported, otherwise AddFS fails with ErrSizeChanged
// naming it.
func (w *Writer) AddFS(fsys fs.FS, opts AddOptions) error {
	if err := w.check(); err != nil {
		return err
	}
	if opts.Prefix != "" && opts.Prefix != "." {
		if _, err := splitName(opts.Prefix); err != nil {
			return w.fail(err)
		}
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("squashfs: reading %s: %w", p, err)
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("squashfs: reading %s: %w", p, err)
		}
		name := joinPrefix(opts.Prefix, p)
		return w.addFile(fsys, p, name, info, opts)
	})
	if err != nil {
		return w.fail(err)
	}
	return nil
}

func joinPrefix(prefix, p string) string {
	switch {
	case p == ".":
		return prefix
	case prefix == "" || prefix == ".":
		return p
	}
	return prefix + "/" + p
}

func (w *Writer) addFile(fsys fs.FS, p, name string, info fs.FileInfo, opts AddOptions) error {
	mode := info.Mode()
	h := Header{Name: name, Mode: mode & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)}
	st, _ := info.Sys().(*syscall.Stat_t)
	if st != nil && !mode.IsDir() && !opts.NoHardlinks && st.Nlink > 1 {
		key := devIno{uint64(st.Dev), uint64(st.Ino)} //nolint:unconvert // Stat_t field types differ between architectures
		if first, ok := w.hardlinks[key]; ok {
			return w.WriteHeader(&Header{Name: name, Type: TypeLink, Linkname: first})
		}
		w.hardlinks[key] = name
	}
	switch mode.Type() {
	case fs.ModeDir:
		h.Type = TypeDir
		return w.WriteHeader(&h)
	case 0:
		h.Type = TypeReg
		h.Size = info.Size()
		f, err := fsys.Open(p)
		if err != nil {
			return fmt.Errorf("squashfs: reading %s: %w", p, err)
		}
		defer func() { _ = f.Close() }() // read only: nothing to lose on close
		if err := w.WriteHeader(&h); err != nil {
			return err
		}
		return w.readFrom(f, name, h.Size)
	case fs.ModeSymlink:
		rl, ok := fsys.(readLinkFS)
		if !ok {
			return fmt.Errorf("squashfs: %s: a symlink, but the file system has no ReadLink method", p)
		}
		target, err := rl.ReadLink(p)
		if err != nil {
			return fmt.Errorf("squashfs: reading symlink %s: %w", p, err)
		}
		h.Type = TypeSymlink
		h.Linkname = target
		return w.WriteHeader(&h)
	case fs.ModeNamedPipe:
		h.Type = TypeFifo
		return w.WriteHeader(&h)
	case fs.ModeSocket:
		h.Type = TypeSocket
		return w.WriteHeader(&h)
	case fs.ModeDevice, fs.ModeDevice | fs.ModeCharDevice:
		if st == nil {
			return fmt.Errorf("squashfs: %s: a device, but its FileInfo has no *syscall.Stat_t for the device number", p)
		}
		h.Type = TypeBlock
		if mode&fs.ModeCharDevice != 0 {
			h.Type = TypeChar
		}
		h.Devmajor, h.Devminor = decodeHostDev(uint64(st.Rdev)) //nolint:unconvert // Stat_t field types differ between architectures
		return w.WriteHeader(&h)
	}
	return fmt.Errorf("squashfs: %s: unsupported file type %v", p, mode.Type())
}

// decodeHostDev splits a Linux dev_t as glibc's gnu_dev_major/gnu_dev_minor
// do (12+ bit major in bits 8-19 and 32-63, minor in bits 0-7 and 20-31).
func decodeHostDev(dev uint64) (major, minor uint32) {
	major = uint32((dev>>8)&0xFFF | (dev>>32)&^0xFFF)
	minor = uint32(dev&0xFF | (dev>>12)&^0xFF)
	return major, minor
}

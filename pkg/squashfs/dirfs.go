package squashfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// DirFS returns the directory tree rooted at dir as an fs.FS for AddFS, with
// lstat semantics: symlinks are never followed (Stat and ReadDir describe the
// link itself, ReadLink returns its target, Open refuses it), so a /nix/store
// path whose links point into a store that does not exist on the build host
// is read as it is. FileInfo.Sys() is the *syscall.Stat_t, which gives AddFS
// device numbers and hard links. dir itself may be a file or a symlink; it is
// then the single entry "." (with a trailing slash, "link/" is the directory
// the symlink points to, as for lstat(2)).
func DirFS(dir string) fs.FS { return dirFS(dir) }

type dirFS string

func (d dirFS) join(op, name string) (string, error) {
	if !validPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		// Verbatim: filepath.Join would drop a trailing slash, and "link/"
		// (the directory a symlink points to, as lstat(2) resolves it)
		// would become "link", the symlink itself.
		return string(d), nil
	}
	return filepath.Join(string(d), filepath.FromSlash(name)), nil
}

// Open opens a file or directory for reading; O_NOFOLLOW makes it fail on a
// symlink instead of reading whatever the link points to.
func (d dirFS) Open(name string) (fs.File, error) {
	p, err := d.join("open", name)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if nameTooLong(err) {
		err = d.viaShortPath(name, err, func(q string) (err error) {
			f, err = os.OpenFile(q, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Stat describes name itself, a symlink included (lstat).
func (d dirFS) Stat(name string) (fs.FileInfo, error) {
	p, err := d.join("stat", name)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(p)
	if nameTooLong(err) {
		err = d.viaShortPath(name, err, func(q string) (err error) {
			fi, err = os.Lstat(q)
			return err
		})
	}
	return fi, err
}

// ReadDir lists a directory sorted by name; entries' Info is lstat.
func (d dirFS) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := d.join("readdir", name)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(p)
	short := true
	if nameTooLong(err) {
		short = false
		err = d.viaShortPath(name, err, func(q string) (err error) {
			ents, err = os.ReadDir(q)
			return err
		})
	}
	if err != nil || (short && len(p)+1+MaxNameLen < pathMax) {
		return ents, err
	}
	// The entries' Info would lstat a path too long for the system call
	// (or one through a descriptor closed by now): take it through Stat,
	// which finds a way, while listing.
	out := make([]fs.DirEntry, len(ents))
	for i, e := range ents {
		fi, err := d.Stat(joinPrefix(name, e.Name()))
		if err != nil {
			return nil, err
		}
		out[i] = fs.FileInfoToDirEntry(fi)
	}
	return out, nil
}

// ReadLink returns a symlink's target verbatim.
func (d dirFS) ReadLink(name string) (string, error) {
	p, err := d.join("readlink", name)
	if err != nil {
		return "", err
	}
	target, err := os.Readlink(p)
	if nameTooLong(err) {
		err = d.viaShortPath(name, err, func(q string) (err error) {
			target, err = os.Readlink(q)
			return err
		})
	}
	return target, err
}

// pathMax is Linux's PATH_MAX: a path given to a system call has fewer
// bytes (including its NUL), however deep the tree it names may be.
const pathMax = 4096

func nameTooLong(err error) bool { return errors.Is(err, syscall.ENAMETOOLONG) }

// validPath is fs.ValidPath without its UTF-8 requirement: "." or a
// slash-separated relative path whose elements are not empty, "." or "..".
// Linux file names, NAR entry names and squashfs directory entries
// (format.adoc "Directory Table": name bytes) are any bytes but '/' and NUL,
// so a name such as "caf\xe9" (Latin-1) is a file like any other; refusing it
// made packing a store path that holds one fail.
func validPath(name string) bool {
	if name == "." {
		return true
	}
	for {
		i := strings.IndexByte(name, '/')
		elem := name
		if i >= 0 {
			elem = name[:i]
		}
		if elem == "" || elem == "." || elem == ".." || strings.IndexByte(elem, 0) >= 0 {
			return false
		}
		if i < 0 {
			return true
		}
		name = name[i+1:]
	}
}

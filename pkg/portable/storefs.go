package portable

import (
	"fmt"
	"io"
	"io/fs"

	"github.com/mkportable/mkportable/pkg/closure"
)

// storeMode is the mode a store object has in the image: what the Nix store
// canonicalises it to (read-only, executable only where the NAR has the
// executable flag: 0555 for directories and executables, 0444 otherwise).
// On a real store this changes nothing; a copy of a store (a checkout of
// test data, an unpacked archive) then gives the same image as the store,
// because the image depends only on what the NAR hash covers.
func storeMode(m fs.FileMode) fs.FileMode {
	switch {
	case m.IsDir():
		return m.Type() | 0o555
	case m.Type() == 0 && m&0o100 != 0: // NAR: executable if the owner may execute
		return 0o555
	case m.Type() == 0:
		return 0o444
	}
	return m // symlinks: the mode of a link is meaningless
}

// storeFS wraps squashfs.DirFS of a store path for AddFS: it gives AddFS
// canonical store modes and, when nar is set, turns AddFS's reads into the
// store path's NAR serialisation. AddFS walks with fs.WalkDir, which visits
// a directory, then lists it (ReadDir), then each entry in byte-wise order,
// depth first: NAR order. A directory enters the NAR when it is listed, a
// symlink when its target is read, a file when it is opened, with its
// contents as they are read. Should a future walk read in another order,
// the NAR writer refuses it and the build fails; it cannot pass wrongly.
type storeFS struct {
	fs.FS
	nar *closure.NarStream
	// files, when set, counts the regular files opened (AddFS opens each
	// file it adds once).
	files *int64
}

type readDirLinkFS interface {
	fs.ReadDirFS
	fs.StatFS
	ReadLink(name string) (string, error)
}

func (s storeFS) inner() readDirLinkFS { return s.FS.(readDirLinkFS) }

// ReadLink forwards to the wrapped file system (AddFS reads symlink targets
// through it).
func (s storeFS) ReadLink(name string) (string, error) {
	target, err := s.inner().ReadLink(name)
	if err != nil || s.nar == nil {
		return target, err
	}
	return target, s.nar.Symlink(name, target)
}

func (s storeFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := s.inner().Stat(name)
	if err != nil {
		return nil, err
	}
	return storeInfo{fi}, nil
}

func (s storeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if s.nar != nil {
		if err := s.nar.Dir(name); err != nil {
			return nil, err
		}
	}
	ents, err := s.inner().ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, len(ents))
	for i, e := range ents {
		out[i] = storeDirEntry{e}
	}
	return out, nil
}

func (s storeFS) Open(name string) (fs.File, error) {
	f, err := s.FS.Open(name)
	if err == nil && s.files != nil {
		*s.files++
	}
	if err != nil || s.nar == nil {
		return f, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("portable: opening %s: not a regular file", name)
	}
	w, err := s.nar.File(name, fi.Size(), fi.Mode()&0o100 != 0)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return teeFile{File: f, w: w}, nil
}

// teeFile copies what is read from File into w.
type teeFile struct {
	fs.File
	w io.Writer
}

func (t teeFile) Read(p []byte) (int, error) {
	n, err := t.File.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			return n, werr
		}
	}
	return n, err
}

type storeInfo struct{ fs.FileInfo }

func (i storeInfo) Mode() fs.FileMode { return storeMode(i.FileInfo.Mode()) }

type storeDirEntry struct{ fs.DirEntry }

func (e storeDirEntry) Info() (fs.FileInfo, error) {
	fi, err := e.DirEntry.Info()
	if err != nil {
		return nil, err
	}
	return storeInfo{fi}, nil
}

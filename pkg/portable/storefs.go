package portable

import (
	"io/fs"
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

// storeFS wraps squashfs.DirFS of a store path so that AddFS sees canonical
// store modes. Everything else (ReadLink, Open, Sys) passes through.
type storeFS struct{ fs.FS }

type readDirLinkFS interface {
	fs.ReadDirFS
	fs.StatFS
	ReadLink(name string) (string, error)
}

func (s storeFS) inner() readDirLinkFS { return s.FS.(readDirLinkFS) }

// ReadLink forwards to the wrapped file system (AddFS reads symlink targets
// through it).
func (s storeFS) ReadLink(name string) (string, error) { return s.inner().ReadLink(name) }

func (s storeFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := s.inner().Stat(name)
	if err != nil {
		return nil, err
	}
	return storeInfo{fi}, nil
}

func (s storeFS) ReadDir(name string) ([]fs.DirEntry, error) {
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

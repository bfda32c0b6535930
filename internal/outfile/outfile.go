// Package outfile writes an output file atomically: the data goes to a
// temporary file beside the destination, which is renamed over the
// destination only when everything succeeded. A failed run leaves neither
// the destination nor the temporary behind, so a half-written image is
// never mistaken for a good one.
package outfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// File is an output file under construction. Write to it (it embeds the
// *os.File, so it is an io.WriteSeeker with Truncate), then call Commit or
// Abort; Abort after Commit does nothing, so `defer f.Abort()` is safe.
type File struct {
	*os.File
	dest string
	done bool
}

// Create starts the file that will become dest, with mode perm.
func Create(dest string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(dest)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating temporary file for %s: %w", dest, err)
	}
	if err := f.Chmod(perm); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("setting mode of %s: %w", f.Name(), err)
	}
	return &File{File: f, dest: dest}, nil
}

// Commit flushes the data to disk and renames the temporary file to the
// destination.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("committing %s: already finished", f.dest)
	}
	f.done = true
	tmp := f.Name()
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", f.dest, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", f.dest, err)
	}
	if err := os.Rename(tmp, f.dest); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("renaming %s to %s: %w", tmp, f.dest, err)
	}
	return nil
}

// Abort removes the temporary file. It is a no-op after Commit or Abort.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	_ = f.Close()
	_ = os.Remove(f.Name())
}

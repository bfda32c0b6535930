package squashfs

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"syscall"
)

// chunkMax bounds the relative paths viaShortPath hands to openat(2), well
// below pathMax.
const chunkMax = 2048

// viaShortPath runs op on a path that names the same entry as name (relative
// to d) when d/name itself is longer than PATH_MAX (tooLong is that error):
// it opens name's parent directory by openat(2) steps of at most chunkMax
// bytes and gives op "/proc/self/fd/N/<base>", which the kernel resolves
// through the open descriptor N. The descriptor is closed when op returns;
// a file op opened stays open. Intermediate components resolve as they
// would in the long path (symlinks among them followed), so the result is
// what the long path would have named.
func (d dirFS) viaShortPath(name string, tooLong error, op func(short string) error) error {
	parent, base := path.Split(name)
	fd, err := openDirChain(string(d), strings.TrimSuffix(parent, "/"))
	if err != nil {
		return fmt.Errorf("%w (opening its parent directory step by step: %w)", tooLong, err)
	}
	defer func() { _ = syscall.Close(fd) }() // a directory opened for reading: nothing to lose
	if err := op("/proc/self/fd/" + strconv.Itoa(fd) + "/" + base); err != nil {
		return fmt.Errorf("%w (through /proc/self/fd: %w)", tooLong, err)
	}
	return nil
}

// openDirChain opens root/rel, a directory, walking rel in steps of at most
// chunkMax bytes (whole components, each at most MaxNameLen bytes).
func openDirChain(root, rel string) (int, error) {
	const flags = syscall.O_RDONLY | syscall.O_DIRECTORY | syscall.O_CLOEXEC
	fd, err := syscall.Open(root, flags, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	for rel != "" {
		chunk := rel
		if len(chunk) > chunkMax {
			chunk = chunk[:strings.LastIndexByte(chunk[:chunkMax], '/')]
		}
		next, err := syscall.Openat(fd, chunk, flags, 0)
		_ = syscall.Close(fd) // a directory opened for reading: nothing to lose
		if err != nil {
			return -1, &fs.PathError{Op: "openat", Path: chunk, Err: err}
		}
		fd = next
		rel = strings.TrimPrefix(rel[len(chunk):], "/")
	}
	return fd, nil
}

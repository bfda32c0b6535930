//go:build !linux

package squashfs

// viaShortPath has no way around a path longer than PATH_MAX here (the
// Linux version goes through /proc/self/fd): the error stays.
func (d dirFS) viaShortPath(name string, tooLong error, op func(short string) error) error {
	return tooLong
}

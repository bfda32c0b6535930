package squashfs

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseBlockSize reads a block size as mksquashfs's -b takes it: a byte
// count, or a count with a K or M suffix ("131072", "128K", "1M"). The result
// is checked with CheckBlockSize.
func ParseBlockSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	mult := 1
	switch {
	case strings.HasSuffix(t, "K") || strings.HasSuffix(t, "k"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M") || strings.HasSuffix(t, "m"):
		mult, t = 1<<20, t[:len(t)-1]
	}
	n, err := strconv.Atoi(t)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("block size %q: not a number of bytes, K or M", s)
	}
	if n > MaxBlockSize/mult {
		return 0, fmt.Errorf("block size %q: larger than %d bytes", s, MaxBlockSize)
	}
	n *= mult
	if err := CheckBlockSize(n); err != nil {
		return 0, fmt.Errorf("block size %q: %w", s, err)
	}
	return n, nil
}

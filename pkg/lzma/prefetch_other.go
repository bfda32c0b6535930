//go:build !amd64 && !arm64

package lzma

import "unsafe"

func prefetch5(a, b, c, d, e unsafe.Pointer) {}

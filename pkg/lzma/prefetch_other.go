//go:build !amd64 && !arm64

package lzma

import "unsafe"

func prefetch(addr unsafe.Pointer) {}

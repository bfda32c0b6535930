//go:build !amd64 && !arm64

package zstd

import "unsafe"

// mfPrefetch is a no-op where no prefetch instruction is wired.
func mfPrefetch(unsafe.Pointer) {}

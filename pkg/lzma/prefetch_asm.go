//go:build amd64 || arm64

package lzma

import "unsafe"

// prefetch5 asks the CPU to start loading the cache lines at five
// addresses. The match finder is bound by cache misses on its hash heads
// and tree nodes (2 to 8 MiB of tables per 1 MiB block); hinting the next
// positions' lines while the current one is searched hides part of that
// latency. A call into assembly cannot be inlined and makes the caller
// save its registers, so the hints of one position go in a single call.
//
//go:noescape
func prefetch5(a, b, c, d, e unsafe.Pointer)

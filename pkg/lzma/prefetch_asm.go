//go:build amd64 || arm64

package lzma

import "unsafe"

// prefetch asks the CPU to start loading the cache line at addr. The match
// finder is bound by cache misses on its hash heads and tree nodes (2 to 8
// MiB of tables per 1 MiB block); hinting the next positions' lines while
// the current one is searched hides part of that latency.
//
//go:noescape
func prefetch(addr unsafe.Pointer)

//go:build amd64 || arm64

package zstd

import "unsafe"

// mfPrefetch hints the CPU to load the cache line at addr. The match
// finder's tables (8 bytes of tree per input byte, 1 MiB of bucket heads)
// do not fit the caches, so each position's first bucket and tree node are
// misses; asking for the next positions' lines while this one is searched
// overlaps those misses with useful work. It is a hint: it changes nothing
// the program computes.
//
//go:noescape
func mfPrefetch(addr unsafe.Pointer)

// Package zstd is a Zstandard encoder (RFC 8878) that trades speed for size:
// a binary-tree match finder and a price-driven optimal parser choose the
// sequences, and the entropy stage writes them with Huffman-coded literals
// and FSE-coded sequence codes. It exists because the pure-Go encoder the
// project otherwise uses stops at roughly libzstd's level 9, while
// mksquashfs's zstd levels 15-22 (libzstd's btopt/btultra strategies) go
// much further; squashfs images must not be larger than the tool we replace.
//
// Output is one single-segment frame per call, without checksum or
// dictionary, which is what squashfs blocks are (format.adoc "Compressors",
// the kernel's fs/squashfs/zstd_wrapper.c). The package knows nothing of
// squashfs.
package zstd

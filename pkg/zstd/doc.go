// Package zstd is a Zstandard encoder (RFC 8878) that makes smaller frames
// than libzstd at the same level on squashfs data. It has three parsers over
// one entropy stage:
//
//   - HashEncoder: libzstd's "fast" and "double fast" designs, one or two
//     single-slot hash tables, with an optional lazy step; for the low
//     levels, where the whole of libzstd's compression costs little;
//   - FastEncoder: greedy/lazy parsing over rows of hashed positions with
//     repeat offsets tried first (libzstd's greedy/lazy/lazy2 designs);
//   - Encoder: a binary-tree match finder and a price-driven forward
//     optimal parser (libzstd's btopt/btultra idea) with exact repeat-offset
//     tracking, several passes per block. A lazy parse over the same
//     matches competes in every block and the smaller one is kept: the
//     optimal parser keeps one set of repeat offsets per position, and on
//     record-like text (log lines) a parse made only of matches that cycle
//     through earlier records' offsets can beat it.
//
// All hand each block's sequences to the entropy stage, which writes
// Huffman-coded literals (new table or the previous one, whichever is
// smaller) and FSE-coded sequence codes (predefined, RLE, new or repeated
// tables, whichever is smaller), and splits blocks where statistics change.
//
// It exists because the pure-Go encoder at hand (klauspost/compress) stops
// at roughly libzstd's level 9, and mksquashfs's higher levels go much
// further, while at the low levels libzstd is both smaller and faster than
// it; squashfs images must be no larger than the tool we replace's, in no
// more time.
//
// Output is one single-segment frame per call, without checksum or
// dictionary, which is what squashfs blocks are (format.adoc "Compressors",
// the kernel's fs/squashfs/zstd_wrapper.c). The output depends only on the
// input and the options. The package knows nothing of squashfs.
package zstd

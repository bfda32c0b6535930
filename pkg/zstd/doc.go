// Package zstd is a Zstandard encoder (RFC 8878) that makes smaller frames
// than libzstd at the same level on squashfs data. It has two parsers over
// one entropy stage:
//
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
// Both hand each block's sequences to the entropy stage, which writes
// Huffman-coded literals (new table or the previous one, whichever is
// smaller) and FSE-coded sequence codes (predefined, RLE, new or repeated
// tables, whichever is smaller), and splits blocks where statistics change.
//
// It exists because the pure-Go encoder the project otherwise uses stops at
// roughly libzstd's level 9, and mksquashfs's higher levels go much further;
// squashfs images must not be larger than the tool we replace.
//
// Output is one single-segment frame per call, without checksum or
// dictionary, which is what squashfs blocks are (format.adoc "Compressors",
// the kernel's fs/squashfs/zstd_wrapper.c). The output depends only on the
// input and the options. The package knows nothing of squashfs.
package zstd

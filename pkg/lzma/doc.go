// Package lzma is a raw LZMA2 encoder written for squashfs images: it
// compresses as well as liblzma's "normal" mode (xz -6, what mksquashfs
// -comp xz uses) where github.com/ulikunitz/xz's encoder is about 16 %
// larger.
//
// It is written from the LZMA specification (lzma-specification.txt of the
// LZMA SDK) and the LZMA2 chunk format as xz documents and decodes it:
//
//   - rangecoder.go: the range encoder and the bit price table (prices in
//     1/16 bit from the 11-bit probabilities);
//   - model.go, encoder.go: the probability model (literals with matched
//     literals after a match, match / rep0-3 / short rep, the two length
//     coders, distance slots with reverse-coded footer and align bits), the
//     price tables refreshed as the model adapts, and the LZMA2 framing:
//     chunks of at most 2 MiB in and 64 KiB out, the range coder flushed per
//     chunk, the dictionary reset once at the start, properties with the
//     first LZMA chunk, and stored chunks (with a state reset after them)
//     where LZMA does not pay;
//   - matchfinder.go: a bt4 binary-tree match finder over the whole input
//     in memory (2- and 3-byte hashes for short near matches, a binary
//     tree per 4-byte hash bucket for the longest ones), prefetching the
//     next positions' hash slots (prefetch_*.s);
//   - optimum.go: near-optimal parsing: dynamic programming over up to 4096
//     positions pricing literals, short reps, rep0-3 and normal matches of
//     every length, and literal+rep0 / rep+literal+rep0 /
//     match+literal+rep0 sequences, with state and rep distances tracked
//     along the cheapest path.
//
// Measured (BenchmarkMeasureCorpus, default options, 1 MiB blocks each coded
// alone, CPU time on a shared 2-core machine): on 72 MB of system libraries,
// executables, Go tools and Python sources the output is 0.9988 x liblzma
// preset 6 (0.858 x ulikunitz/xz) at the same speed per CPU second (3.03
// MB/s both); on 8 MB of Python sources alone 0.9968 x at 0.77-0.89 x
// the speed. NiceLen 64 / Depth 48 (xz's own) is 0.9999 x and a few percent
// faster.
//
// Reproduce:
//
//	LZMA_CORPUS=/path/to/file-or-dir LZMA_EVERY=4 go test ./pkg/lzma -run '^$' -bench MeasureCorpus -benchtime 1x -v
//	go test ./pkg/lzma -run XXX -bench . -benchtime 3x
package lzma

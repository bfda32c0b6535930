// Package deflate is a zlib (RFC 1950) / deflate (RFC 1951) encoder for
// whole in-memory buffers such as squashfs blocks (at most 1 MiB), tuned to
// give smaller output than zlib's compress2 at the same level in less time.
//
// Levels 1-7 parse lazily as zlib does, over 4-byte hash chains. Levels 8
// and 9 find all useful matches per position with a binary-tree match
// finder and choose the parse by a shortest path over bit prices taken from
// the Huffman code lengths a first parse would get. Every level then splits
// the parse into blocks where the statistics change (split.go) and codes
// each block as a dynamic, fixed or stored block, whichever is smallest.
// The output depends only on the input and the level.
package deflate

import (
	"encoding/binary"
	"fmt"
	"hash/adler32"
)

// params are one level's search settings.
type params struct {
	chains bool // lazy parse over hash chains instead of shortest paths over trees
	depth  int  // tree nodes or chain links visited per position
	nice   int  // a match this long ends the search and is taken whole
	passes int  // shortest-path rounds (each re-prices from the last)
	chunk  int  // shortest path: input bytes parsed under one price model
	good   int  // lazy: a previous match this long quarters the chain search
	lazy   int  // lazy: a previous match this long is taken without searching
}

// levels were chosen by measurement on 7.2 MB of squashfs-like data (a
// compiler binary, perl, Go and Python sources) in 1 MiB blocks, against
// zlib 1.2.13's compress2 on the same blocks (CPU seconds, one core):
//
//	level  zlib bytes  s     ours bytes  s
//	1      2806875     0.07  2587214     0.11
//	3      2679312     0.10  2515170     0.13
//	5      2525974     0.14  2487973     0.15
//	6      2505370     0.22  2473996     0.18
//	7      2498806     0.26  2465044     0.24
//	8      2492981     0.45  2410425     0.49
//	9      2491479     0.67  2397006     0.56
//
// Deeper searches and more shortest-path rounds gain about 0.1% each per
// 10-20% more time; two rounds at level 9 gave 0.1% for 20%. Level 8 keeps
// depth 8: at depth 4 (0.42 s, 2437754) it lost to level 7 on the debug
// information of a Go binary, where long similar strings make the trees
// deep and only the lazy parse's long chains reach the best matches.
var levels = [10]params{
	1: {chains: true, depth: 4, nice: 16, good: 4, lazy: 4},
	2: {chains: true, depth: 8, nice: 16, good: 4, lazy: 8},
	3: {chains: true, depth: 16, nice: 16, good: 4, lazy: 8},
	4: {chains: true, depth: 16, nice: 32, good: 4, lazy: 16},
	5: {chains: true, depth: 32, nice: 32, good: 4, lazy: 16},
	6: {chains: true, depth: 64, nice: 64, good: 8, lazy: 16},
	7: {chains: true, depth: 256, nice: 128, good: 8, lazy: 32},
	8: {depth: 8, nice: 32, passes: 1, chunk: 1 << 14},
	9: {depth: 16, nice: 48, passes: 1, chunk: 1 << 14},
}

// Encoder compresses buffers into zlib streams. Its tables are allocated
// once and reused by every call; it is not safe for concurrent use.
type Encoder struct {
	level  int
	p      params
	bt     btFinder
	hc     hashChains
	opt    optimalState
	tokens []token
	blocks []blockSpan
	hist   histogram
	hist2  histogram
	segs   []segment
	codes  codeSet
	hs     huffScratch
}

// blockSpan is a run of tokens coding src[srcStart:srcEnd].
type blockSpan struct {
	tokStart, tokEnd int
	srcStart, srcEnd int
}

// NewEncoder returns an encoder for level 1 (fastest) to 9 (smallest).
func NewEncoder(level int) (*Encoder, error) {
	if level < 1 || level > 9 {
		return nil, fmt.Errorf("deflate: level %d outside 1..9", level)
	}
	return &Encoder{level: level, p: levels[level]}, nil
}

// AppendZlib appends src compressed as one zlib stream (RFC 1950) to dst.
// It is meant for buffers of a few MiB at most (squashfs blocks): the match
// finders keep positions in 32 bits. dst must not overlap src.
func (e *Encoder) AppendZlib(dst, src []byte) []byte {
	// CMF 0x78: CM 8 (deflate), CINFO 7 (32 KiB window). FLG: FLEVEL as
	// zlib sets it for the level (RFC 1950 2.2), no preset dictionary,
	// FCHECK making CMF*256+FLG a multiple of 31.
	var flevel uint16
	switch {
	case e.level < 2:
		flevel = 0
	case e.level < 6:
		flevel = 1
	case e.level == 6:
		flevel = 2
	default:
		flevel = 3
	}
	hdr := uint16(0x78)<<8 | flevel<<6
	hdr += 31 - hdr%31
	dst = binary.BigEndian.AppendUint16(dst, hdr)
	w := bitWriter{out: dst}
	e.deflate(&w, src)
	w.alignByte()
	return binary.BigEndian.AppendUint32(w.out, adler32.Checksum(src))
}

// deflate writes src as a sequence of deflate blocks, the last one final.
func (e *Encoder) deflate(w *bitWriter, src []byte) {
	e.tokens = e.tokens[:0]
	e.blocks = e.blocks[:0]
	if e.p.chains {
		e.hc.reset()
		e.parseLazy(src)
	} else {
		e.bt.reset()
		e.opt.skipTo = 0
		e.opt.havePrev = false
		for start := 0; start < len(src); start += e.p.chunk {
			end := min(start+e.p.chunk, len(src))
			e.parseOptimal(src, start, end)
		}
	}
	e.splitBlocks(src)
	for i, b := range e.blocks {
		e.writeBlock(w, e.tokens[b.tokStart:b.tokEnd], src[b.srcStart:b.srcEnd], i == len(e.blocks)-1)
	}
}

package zstd

import (
	"errors"
	"fmt"
)

// Options are the encoder's search settings; larger values give smaller
// output in more time.
type Options struct {
	// NiceLen is the match length taken at once, without comparing it
	// with other choices (libzstd's "target length"); the match finder
	// also compares no further. 8..maxNiceLen.
	NiceLen int
	// Depth is how many tree nodes the match finder visits per position
	// (libzstd's search log, as a count). 1..maxDepth.
	Depth int
	// Passes is how many times each block is parsed: every pass after
	// the first is priced with the statistics of the one before. 1..4.
	Passes int
	// SeedPass parses the frame's first block once more before its
	// passes, to price it with statistics of its own instead of a guess.
	SeedPass bool
	// Exhaustive makes the final pass offer matches at every position,
	// also where the next position is already reached more cheaply
	// (which the default skips): a little smaller output with several
	// passes, in about 10% more time.
	Exhaustive bool
}

const (
	maxNiceLen = 4096
	maxDepth   = 1 << 12
	maxPasses  = 4
)

// DefaultOptions are the settings of the package's own measurements:
// smaller than libzstd level 19 on squashfs data, in less time.
var DefaultOptions = Options{NiceLen: 128, Depth: 48, Passes: 1, SeedPass: true}

var errOptions = errors.New("zstd: invalid options")

func (o *Options) check() error {
	switch {
	case o.NiceLen < 8 || o.NiceLen > maxNiceLen:
		return fmt.Errorf("%w: nice length %d not in 8..%d", errOptions, o.NiceLen, maxNiceLen)
	case o.Depth < 1 || o.Depth > maxDepth:
		return fmt.Errorf("%w: depth %d not in 1..%d", errOptions, o.Depth, maxDepth)
	case o.Passes < 1 || o.Passes > maxPasses:
		return fmt.Errorf("%w: passes %d not in 1..%d", errOptions, o.Passes, maxPasses)
	}
	return nil
}

// Encoder writes zstd frames. It keeps its tables between calls (they grow
// to the largest input seen) but no state: each call's output depends only
// on its input and the options. It is not safe for concurrent use.
type Encoder struct {
	opts Options
	p    parser
	w    blockWriter
}

// NewEncoder returns an encoder with the given options.
func NewEncoder(o Options) (*Encoder, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	return &Encoder{opts: o}, nil
}

// EncodeAll appends to dst one single-segment frame holding src (RFC 8878
// section 3.1.1): its window is the whole input, so matches reach back to
// the frame's start across block boundaries, and each block of up to
// Block_Maximum_Size bytes is parsed on its own (a sequence never crosses a
// block, section 3.1.1.2.4).
func (e *Encoder) EncodeAll(dst, src []byte) []byte {
	e.p.reset(src, &e.opts)
	e.w.reset()
	dst = appendFrameHeader(dst, len(src))
	if len(src) == 0 {
		// A frame has at least one block; an empty raw one here.
		dst, _ = e.w.appendBlock(dst, nil, nil, true)
		return dst
	}
	for start := 0; start < len(src); start += maxBlockSize {
		end := min(start+maxBlockSize, len(src))
		seqs, _ := e.p.parseBlock(start, end)
		// The parser chose between candidate parses by their split
		// (blockSplitter) and left it in e.p.parts.
		dst, e.p.reps = e.w.writeParts(dst, src[start:end], seqs, e.p.parts, e.p.reps, e.p.reps, end == len(src))
	}
	return dst
}

// blockPart is one block written for part of a parsed 128 KiB stretch: it
// ends at byte end of the stretch and holds the sequences before seqEnd.
type blockPart struct {
	end, seqEnd int
}

// writeParts writes block, a parsed stretch holding seqs, as the blocks
// parts name, the last one marked last if the frame ends there. The parse
// assumed the repeat offsets assumed; actual are the decoder's, and it
// returns the decoder's after the stretch. They differ once a part goes out
// raw or RLE, which carries no sequences and so changes no offset (section
// 3.1.1.5); the later parts are then recoded for the decoder, each match
// keeping its distance.
func (w *blockWriter) writeParts(dst, block []byte, seqs []Sequence, parts []blockPart, assumed, actual repeatOffsets, last bool) ([]byte, repeatOffsets) {
	pos, si := 0, 0
	for _, pt := range parts {
		part := seqs[si:pt.seqEnd]
		nextAssumed := assumed.after(part)
		same := actual == assumed
		if !same {
			actual.recode(part, assumed)
		}
		var compressed bool
		dst, compressed = w.appendBlock(dst, block[pos:pt.end], part, last && pt.end == len(block))
		switch {
		case compressed && same:
			// The usual case: the part was parsed for the
			// decoder's offsets, which end where the parse's do.
			actual = nextAssumed
		case compressed:
			actual = actual.after(part)
		}
		assumed = nextAssumed
		pos, si = pt.end, pt.seqEnd
	}
	return dst, actual
}

const (
	// maxSplitDepth halves a stretch at most this often (blocks of 4 KiB
	// and more: smaller ones seldom repay their table descriptions).
	maxSplitDepth = 5
	// partOverhead estimates, in bytes, what a block costs beyond its
	// entropy-coded content: block and section headers, and per symbol
	// in use a share of the Huffman and FSE table descriptions (RFC 8878
	// sections 4.2.1.1 and 4.1.1).
	partOverhead    = 12
	partSymOverhead = 0.4
)

// blockSplitter chooses the parts a parsed stretch is written as: whole,
// or its two halves (cut at the sequence boundary nearest the middle), each
// split the same way, whichever the estimate finds smaller. Statistics
// change within a stretch (files differ), and a block's own Huffman and FSE
// tables then fit each part better (section 3.1.1.2).
//
// The halving tree depends only on where the sequences end, so it is laid
// out first; the statistics of its leaves are counted in one pass over the
// stretch and every inner node's are the sum of its children's. Counting
// each candidate half anew instead reads the stretch once per level (six
// times at maxSplitDepth), which cost more than the parse at the low
// levels. The estimates are the same integers and the same floating-point
// sums either way, so the choice is too.
type blockSplitter struct {
	nodes []splitNode
}

// splitNode is a candidate part: src[start:end] holding seqs[s0:s1]; left
// and right index its halves, or are -1.
type splitNode struct {
	start, end, s0, s1 int
	left, right        int
	stats              symbolStats
	// extra is the raw extra bits of its sequences (section
	// 3.1.1.3.2.1.1), an integer, so its sum over two halves is exact.
	extra uint64
}

// split returns the parts src, parsed as seqs, is best written as (parts
// is reused), and their estimated bytes, the cost the parser compares
// candidate parses by.
func (sp *blockSplitter) split(parts []blockPart, src []byte, seqs []Sequence) ([]blockPart, float64) {
	sp.nodes = sp.nodes[:0]
	sp.layout(seqs, 0, len(src), 0, len(seqs), maxSplitDepth)
	// Children come after their parent: from the last node back, every
	// node's halves are counted before it.
	for i := len(sp.nodes) - 1; i >= 0; i-- {
		n := &sp.nodes[i]
		if n.left < 0 {
			n.stats = symbolStats{}
			n.stats.add(src[n.start:n.end], seqs[n.s0:n.s1])
			n.extra = extraBits(seqs[n.s0:n.s1])
			continue
		}
		l, r := &sp.nodes[n.left], &sp.nodes[n.right]
		n.stats = l.stats
		n.stats.merge(&r.stats)
		n.extra = l.extra + r.extra
	}
	return sp.choose(parts, 0, sp.cost(0))
}

// layout appends the node for src[start:end] holding seqs[s0:s1] and, depth
// allowing, its halves; it returns the node's index.
func (sp *blockSplitter) layout(seqs []Sequence, start, end, s0, s1, depth int) int {
	idx := len(sp.nodes)
	sp.nodes = append(sp.nodes, splitNode{start: start, end: end, s0: s0, s1: s1, left: -1, right: -1})
	if depth == 0 || s1-s0 < 2 {
		return idx
	}
	pos, cut := start, s0
	for cut < s1-1 && pos-start+int(seqs[cut].LitLen+seqs[cut].MatchLen) <= (end-start)/2 {
		pos += int(seqs[cut].LitLen + seqs[cut].MatchLen)
		cut++
	}
	if cut == s0 {
		return idx
	}
	l := sp.layout(seqs, start, pos, s0, cut, depth-1)
	r := sp.layout(seqs, pos, end, cut, s1, depth-1)
	sp.nodes[idx].left, sp.nodes[idx].right = l, r
	return idx
}

// choose appends node i's parts, given its cost whole, and returns their
// cost.
func (sp *blockSplitter) choose(parts []blockPart, i int, whole float64) ([]blockPart, float64) {
	n := &sp.nodes[i] // not a copy: a node holds its 1.5 KB of counts
	if n.left >= 0 {
		lc, rc := sp.cost(n.left), sp.cost(n.right)
		if lc+rc < whole {
			parts, lc = sp.choose(parts, n.left, lc)
			parts, rc = sp.choose(parts, n.right, rc)
			return parts, lc + rc
		}
	}
	return append(parts, blockPart{end: n.end, seqEnd: n.s1}), whole
}

// cost estimates the bytes of node i written as one block: its symbols'
// entropy, raw extra bits and the overheads above.
func (sp *blockSplitter) cost(i int) float64 {
	n := &sp.nodes[i]
	s := &n.stats
	syms := 0
	for _, c := range s.lit {
		syms += boolInt(c > 0)
	}
	if n.s1 > n.s0 {
		for _, c := range s.ll {
			syms += boolInt(c > 0)
		}
		for _, c := range s.ml {
			syms += boolInt(c > 0)
		}
		for _, c := range s.of {
			syms += boolInt(c > 0)
		}
	}
	bits := entropyBits(s.lit[:]) + entropyBits(s.ll[:]) + entropyBits(s.ml[:]) + entropyBits(s.of[:]) + float64(n.extra)
	return bits/8 + partOverhead + partSymOverhead*float64(syms)
}

// extraBits sums the raw extra bits of seqs' literal-length, match-length
// and offset codes.
func extraBits(seqs []Sequence) uint64 {
	var b uint64
	for _, q := range seqs {
		b += uint64(llExtraBits[llCode(q.LitLen)]) + uint64(mlExtraBits[mlCode(q.MatchLen)]) + uint64(ofCode(q.OffValue))
	}
	return b
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseAll runs the parser over src block by block as EncodeAll does, as
// if every block were written compressed, and calls fn with each block's
// bytes and sequences.
func (e *Encoder) parseAll(src []byte, fn func(block []byte, seqs []Sequence)) {
	e.p.reset(src, &e.opts)
	for start := 0; start < len(src); start += maxBlockSize {
		end := min(start+maxBlockSize, len(src))
		seqs, reps := e.p.parseBlock(start, end)
		fn(src[start:end], seqs)
		e.p.reps = reps
	}
}

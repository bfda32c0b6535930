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
		// (splitParts) and left it in e.p.parts.
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
		if actual != assumed {
			actual.recode(part, assumed)
		}
		var compressed bool
		dst, compressed = w.appendBlock(dst, block[pos:pt.end], part, last && pt.end == len(block))
		if compressed {
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

// splitParts appends the parts src (holding seqs) is best written as:
// whole, or its two halves (cut at the sequence boundary nearest the
// middle), each split the same way, whichever the estimate finds smaller.
// Statistics change within a stretch (files differ), and a block's own
// Huffman and FSE tables then fit each part better (section 3.1.1.2).
// whole is partCost(src, seqs), known to the caller. It also returns the
// estimated bytes of the parts, the cost the parser compares candidate
// parses by.
func splitParts(parts []blockPart, src []byte, seqs []Sequence, base, depth int, whole float64) ([]blockPart, float64) {
	if depth > 0 && len(seqs) >= 2 {
		pos, cut := 0, 0
		for cut < len(seqs)-1 && pos+int(seqs[cut].LitLen+seqs[cut].MatchLen) <= len(src)/2 {
			pos += int(seqs[cut].LitLen + seqs[cut].MatchLen)
			cut++
		}
		if cut > 0 && cut < len(seqs) {
			left, right := src[:pos], src[pos:]
			lc, rc := partCost(left, seqs[:cut]), partCost(right, seqs[cut:])
			if lc+rc < whole {
				parts, lc = splitParts(parts, left, seqs[:cut], base, depth-1, lc)
				n := len(parts)
				parts, rc = splitParts(parts, right, seqs[cut:], base+pos, depth-1, rc)
				for i := n; i < len(parts); i++ {
					parts[i].seqEnd += cut
				}
				return parts, lc + rc
			}
		}
	}
	return append(parts, blockPart{end: base + len(src), seqEnd: len(seqs)}), whole
}

// partCost estimates the bytes of a block holding src as seqs.
func partCost(src []byte, seqs []Sequence) float64 {
	var s symbolStats
	s.add(src, seqs)
	syms := 0
	for _, c := range s.lit {
		syms += boolInt(c > 0)
	}
	if len(seqs) > 0 {
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
	return s.entropyBits(seqs)/8 + partOverhead + partSymOverhead*float64(syms)
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

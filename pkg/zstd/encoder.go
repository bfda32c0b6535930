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
		seqs, reps := e.p.parseBlock(start, end)
		var compressed bool
		dst, compressed = e.w.appendBlock(dst, src[start:end], seqs, end == len(src))
		if compressed {
			// Raw and RLE blocks carry no sequences: the decoder's
			// repeat offsets stay as they were (section 3.1.1.5).
			e.p.reps = reps
		}
	}
	return dst
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

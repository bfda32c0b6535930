package zstd

import "testing"

// A deliberately simple greedy parser, used only to drive the entropy back
// end in tests: a single-entry hash table of 4-byte prefixes, plus the three
// repeat offsets tried first so that every Offset_Value 1..3 case of RFC
// 8878 section 3.1.1.5 shows up in the sequences.

// greedyRepeat resolves Offset_Value v after litLen literals against the
// repeat offsets r (section 3.1.1.5) and returns the distance and the repeat
// offsets that follow. dist is 0 when v names an impossible distance.
func greedyRepeat(r [3]uint32, litLen, v uint32) (dist uint32, next [3]uint32) {
	if v > 3 {
		d := v - 3
		return d, [3]uint32{d, r[0], r[1]}
	}
	idx := v - 1
	if litLen == 0 {
		// With no literals the codes shift by one: 1 is the second
		// repeat offset, 3 the first one minus one byte.
		idx++
	}
	switch idx {
	case 0:
		return r[0], r
	case 1:
		return r[1], [3]uint32{r[1], r[0], r[2]}
	case 2:
		return r[2], [3]uint32{r[2], r[0], r[1]}
	default:
		return r[0] - 1, [3]uint32{r[0] - 1, r[0], r[1]}
	}
}

type greedyParser struct {
	table    []int32 // hash of 4 bytes -> last position + 1
	reps     [3]uint32
	minMatch int
}

func newGreedyParser(minMatch int) *greedyParser {
	return &greedyParser{table: make([]int32, 1<<16), reps: [3]uint32{1, 4, 8}, minMatch: minMatch}
}

func greedyHash(b []byte) uint32 {
	v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	return (v * 2654435761) >> 16
}

func greedyMatchLen(src []byte, from, at, end int) int {
	n := 0
	for at+n < end && src[from+n] == src[at+n] {
		n++
	}
	return n
}

// parseBlock parses src[start:end]; src[:start] is history a match may
// reach (a single-segment frame's window is the whole content). It updates
// g.reps as the decoder would if the block is written compressed.
func (g *greedyParser) parseBlock(src []byte, start, end int) []Sequence {
	var seqs []Sequence
	lit := start
	for i := start; i+4 <= end; {
		litLen := uint32(i - lit)
		bestLen, bestV := 0, uint32(0)
		for v := uint32(1); v <= 3; v++ {
			d, _ := greedyRepeat(g.reps, litLen, v)
			if d == 0 || int(d) > i {
				continue
			}
			if l := greedyMatchLen(src, i-int(d), i, end); l > bestLen {
				bestLen, bestV = l, v
			}
		}
		h := greedyHash(src[i:])
		if c := int(g.table[h]) - 1; c >= 0 {
			if l := greedyMatchLen(src, c, i, end); l > bestLen+1 {
				bestLen, bestV = l, uint32(i-c)+3
			}
		}
		g.table[h] = int32(i + 1)
		if bestLen < g.minMatch || (bestV > 3 && bestLen < 4) {
			i++
			continue
		}
		if bestLen > maxMatchLen {
			bestLen = maxMatchLen
		}
		seqs = append(seqs, Sequence{LitLen: litLen, MatchLen: uint32(bestLen), OffValue: bestV})
		_, g.reps = greedyRepeat(g.reps, litLen, bestV)
		for j := i + 1; j < i+bestLen && j+4 <= end; j += 3 {
			g.table[greedyHash(src[j:])] = int32(j + 1)
		}
		i += bestLen
		lit = i
	}
	return seqs
}

// greedyFrame encodes data as one frame of blocks of blockSize bytes with
// the greedy parser, restoring the parser's repeat offsets after a block
// that was not written compressed, as the appendBlock contract requires.
func greedyFrame(tb testing.TB, w *blockWriter, data []byte, blockSize, minMatch int) []byte {
	tb.Helper()
	w.reset()
	out := appendFrameHeader(nil, len(data))
	if len(data) == 0 {
		out, _ = w.appendBlock(out, nil, nil, true)
		return out
	}
	g := newGreedyParser(minMatch)
	for start := 0; start < len(data); start += blockSize {
		end := min(start+blockSize, len(data))
		saved := g.reps
		seqs := g.parseBlock(data, start, end)
		var compressed bool
		out, compressed = w.appendBlock(out, data[start:end], seqs, end == len(data))
		if !compressed {
			g.reps = saved
		}
	}
	return out
}

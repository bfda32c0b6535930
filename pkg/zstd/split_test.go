package zstd

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// refSplit is the block splitter written the direct way, as it was before
// blockSplitter: each candidate half counted anew from its bytes and
// sequences, the halves' cost compared with the whole's, recursively.
func refSplit(parts []blockPart, src []byte, seqs []Sequence, base, depth int, whole float64) ([]blockPart, float64) {
	if depth > 0 && len(seqs) >= 2 {
		pos, cut := 0, 0
		for cut < len(seqs)-1 && pos+int(seqs[cut].LitLen+seqs[cut].MatchLen) <= len(src)/2 {
			pos += int(seqs[cut].LitLen + seqs[cut].MatchLen)
			cut++
		}
		if cut > 0 {
			left, right := src[:pos], src[pos:]
			lc, rc := refPartCost(left, seqs[:cut]), refPartCost(right, seqs[cut:])
			if lc+rc < whole {
				parts, lc = refSplit(parts, left, seqs[:cut], base, depth-1, lc)
				n := len(parts)
				parts, rc = refSplit(parts, right, seqs[cut:], base+pos, depth-1, rc)
				for i := n; i < len(parts); i++ {
					parts[i].seqEnd += cut
				}
				return parts, lc + rc
			}
		}
	}
	return append(parts, blockPart{end: base + len(src), seqEnd: len(seqs)}), whole
}

// refPartCost estimates a block's bytes from its own counts.
func refPartCost(src []byte, seqs []Sequence) float64 {
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

// TestBlockSplitterMatchesDirect: the splitter that counts leaves once and
// sums them up the tree chooses exactly the parts, and estimates exactly
// the cost, of the direct recursive one, on real parses (several inputs and
// parsers) and on synthetic blocks whose statistics change midway.
func TestBlockSplitterMatchesDirect(t *testing.T) {
	var sp blockSplitter
	check := func(what string, block []byte, seqs []Sequence) {
		want, wantCost := refSplit(nil, block, seqs, 0, maxSplitDepth, refPartCost(block, seqs))
		got, cost := sp.split(nil, block, seqs)
		require.Equal(t, want, got, what)
		require.Equal(t, wantCost, cost, what)
	}
	multi := 0
	for name, src := range hashTestInputs(t) {
		for _, o := range hashTestOptions {
			e, err := NewHashEncoder(o)
			require.NoError(t, err)
			ss, ls := e.reset(len(src))
			reps := initialRepeats
			for start := 0; start < len(src); start += maxBlockSize {
				end := min(start+maxBlockSize, len(src))
				var seqs []Sequence
				seqs, reps = e.parse(src, start, end, reps, ss, ls)
				check(name, src[start:end], seqs)
				parts, _ := sp.split(nil, src[start:end], seqs)
				if len(parts) > 1 {
					multi++
				}
			}
			e.base += uint32(len(src)) + 1
		}
	}
	rng := rand.New(rand.NewSource(13))
	for i := 0; i < 30; i++ {
		var reps [3]uint32 = initialRepeats
		a, sa := synthBlock(rng, nil, 200+rng.Intn(2000), func() int { return rng.Intn(8) }, func() int { return 3 + rng.Intn(30) },
			func() int { return 1 + rng.Intn(5000) }, 3, &reps)
		b, sb := synthBlockLits(rng, a, 100+rng.Intn(1000), func() int { return rng.Intn(40) }, func() int { return 3 + rng.Intn(6) },
			func() int { return 1 + rng.Intn(100) }, 0, &reps, func() byte { return byte(rng.Intn(256)) })
		block := append(append([]byte{}, a...), b...)
		check("synthetic", block, append(append([]Sequence{}, sa...), sb...))
	}
	check("empty", nil, nil)
	check("literals only", []byte("just some literals"), nil)
	require.Greater(t, multi, 10, "too few blocks were split to compare")
}

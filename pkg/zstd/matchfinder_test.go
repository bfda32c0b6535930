package zstd

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// level19Options are pkg/squashfs/compress's zstd level-19 parser options,
// the deepest search with the longest nice length: the worst case for
// degenerate input.
var level19Options = Options{NiceLen: 512, Depth: 64, Passes: 2, SeedPass: true}

// degenerateInputs are 1 MiB inputs that made every binary-tree insertion
// compare niceLen bytes: a run of one byte, a period-7 pattern, and the same
// pattern with a byte changed every 1000-odd bytes (so matches end at
// irregular places, inside blocks and across their ends).
func degenerateInputs() map[string][]byte {
	const n = 1 << 20
	rng := rand.New(rand.NewSource(7))
	run := bytes.Repeat([]byte{1}, n)
	period := make([]byte, 7)
	rng.Read(period)
	p7 := bytes.Repeat(period, n/7+1)[:n]
	broken := bytes.Clone(p7)
	for i := 500; i < n; i += 900 + rng.Intn(300) {
		broken[i] ^= byte(1 + rng.Intn(255))
	}
	return map[string][]byte{"run": run, "period7": p7, "period7-broken": broken}
}

// TestMatchFinderDegenerateWork pins the search work on degenerate input to
// no more than ordinary data's (it was about 2*niceLen compared bytes per
// input byte: a compare of niceLen for the hash3 candidate and one for the
// tree node each position replaces), and checks that every recorded match is real and that the
// positions inside a long match still offer it to the parser.
func TestMatchFinderDegenerateWork(t *testing.T) {
	o := level19Options
	for name, src := range degenerateInputs() {
		t.Run(name, func(t *testing.T) {
			var mf matchFinder
			mf.reset(src, o.NiceLen, o.Depth)
			niceAt := 0
			for start := 0; start < len(src); start += maxBlockSize {
				end := min(start+maxBlockSize, len(src))
				mf.findBlock(start, end)
				for p := start; p < end; p++ {
					ms := mf.matchesAt(p - start)
					require.NoError(t, checkMatches(src, p, ms, o.NiceLen))
					if k := len(ms); k > 0 && int(ms[k-1].length) == o.NiceLen {
						niceAt++
					}
				}
			}
			n := uint64(len(src))
			// Ordinary data (the bench tree) costs 15 to 35
			// compared bytes and 4 to 8 visits per byte here.
			assert.Less(t, mf.compared, 24*n, "bytes compared for %d input bytes", n)
			assert.Less(t, mf.visits, 2*n, "tree nodes visited for %d input bytes", n)
			if period := map[string]int{"run": 1, "period7": 7}[name]; period > 0 {
				// Every position from the second period on has a
				// match of niceLen, up to the last niceLen bytes.
				assert.Equal(t, len(src)-o.NiceLen-period+1, niceAt)
			}
		})
	}
}

// checkMatches checks the matches recorded at position p: lengths strictly
// increasing up to niceLen, each a real copy of the input.
func checkMatches(src []byte, p int, ms []btMatch, niceLen int) error {
	prev := 0
	for _, m := range ms {
		l, d := int(m.length), int(m.dist)
		if l <= prev || l > niceLen || d < 1 || d > p || p+l > len(src) {
			return fmt.Errorf("position %d: bad match %d@%d after length %d", p, l, d, prev)
		}
		if !bytes.Equal(src[p:p+l], src[p-d:p-d+l]) {
			return fmt.Errorf("position %d: match %d@%d is not in the input", p, l, d)
		}
		prev = l
	}
	return nil
}

// TestEncoderDegenerateInput encodes the degenerate inputs with the level-19
// options and checks the output with both independent decoders, and the
// match finder's work during the whole encode.
func TestEncoderDegenerateInput(t *testing.T) {
	e, err := NewEncoder(level19Options)
	require.NoError(t, err)
	for name, src := range degenerateInputs() {
		frame := e.EncodeAll(nil, src)
		n := uint64(len(src))
		assert.Less(t, e.p.mf.compared, 24*n, "%s: bytes compared", name)
		assert.Less(t, e.p.mf.visits, 2*n, "%s: tree nodes visited", name)
		// A 1 MiB run or period costs a few bytes per 128 KiB block.
		if name != "period7-broken" {
			assert.Less(t, len(frame), 1000, "%s: frame size", name)
		}
		requireBothDecode(t, frame, src, name)
	}
}

// BenchmarkMatchFinderDegenerate runs the match finder with the level-19
// options over each degenerate input and reports the work per input byte:
//
//	go test ./pkg/zstd -run XXX -bench MatchFinderDegenerate -cpu 1
func BenchmarkMatchFinderDegenerate(b *testing.B) {
	o := level19Options
	for name, src := range degenerateInputs() {
		b.Run(name, func(b *testing.B) {
			var mf matchFinder
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				mf.reset(src, o.NiceLen, o.Depth)
				for start := 0; start < len(src); start += maxBlockSize {
					mf.findBlock(start, min(start+maxBlockSize, len(src)))
				}
			}
			n := float64(len(src))
			b.ReportMetric(float64(mf.compared)/n, "compared/B")
			b.ReportMetric(float64(mf.visits)/n, "visits/B")
		})
	}
}

package zstd

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// seqReplayer executes sequences the way RFC 8878 section 3.1.1.4 describes
// the decoder doing it, written from the text and independently of the
// parser's own repeat-offset code: it checks that every sequence is legal
// and that the parse reproduces the input.
type seqReplayer struct {
	out  []byte
	reps [3]uint64
}

func newSeqReplayer() *seqReplayer {
	return &seqReplayer{reps: [3]uint64{1, 4, 8}}
}

// block replays one block: lits is the block's source (literals are taken
// from it where the output stands), seqs the parse of it.
func (r *seqReplayer) block(t testing.TB, lits []byte, seqs []Sequence) {
	t.Helper()
	base := len(r.out)
	lp := 0
	for i, s := range seqs {
		// Plain comparisons: this runs for every sequence of every
		// test input.
		if s.MatchLen < minMatch || s.MatchLen > maxMatchLen || s.LitLen > maxLitLen || s.OffValue == 0 {
			t.Fatalf("seq %d: illegal %+v", i, s)
		}
		if lp+int(s.LitLen) > len(lits) {
			t.Fatalf("seq %d: literals past the block", i)
		}
		r.out = append(r.out, lits[lp:lp+int(s.LitLen)]...)
		lp += int(s.LitLen)

		// Section 3.1.1.5: Offset_Value 1..3 are repeat codes; with
		// Literals_Length 0 they are shifted by one, and the shifted
		// "4th" is Repeated_Offset1 - 1.
		var off uint64
		if s.OffValue > 3 {
			off = uint64(s.OffValue) - 3
			r.reps = [3]uint64{off, r.reps[0], r.reps[1]}
		} else {
			idx := int(s.OffValue) - 1
			if s.LitLen == 0 {
				idx++
			}
			switch idx {
			case 0:
				off = r.reps[0]
			case 1:
				off = r.reps[1]
				r.reps = [3]uint64{off, r.reps[0], r.reps[2]}
			case 2:
				off = r.reps[2]
				r.reps = [3]uint64{off, r.reps[0], r.reps[1]}
			default:
				off = r.reps[0] - 1
				r.reps = [3]uint64{off, r.reps[0], r.reps[1]}
			}
		}
		if off == 0 || off > uint64(len(r.out)) {
			t.Fatalf("seq %d: offset %d with %d bytes decoded", i, off, len(r.out))
		}
		from := len(r.out) - int(off)
		for k := 0; k < int(s.MatchLen); k++ {
			r.out = append(r.out, r.out[from+k])
		}
		lp += int(s.MatchLen)
		if len(r.out)-base > len(lits) {
			t.Fatalf("seq %d: block overrun", i)
		}
	}
	r.out = append(r.out, lits[lp:]...)
	require.Equal(t, len(lits), len(r.out)-base)
}

// parseAndReplay parses src with o, replays every block and checks the
// result is src; it returns the estimated size in bits.
func parseAndReplay(t testing.TB, e *Encoder, src []byte) float64 {
	t.Helper()
	r := newSeqReplayer()
	var est float64
	e.parseAll(src, func(block []byte, seqs []Sequence) {
		r.block(t, block, seqs)
		est += estimateBits(block, seqs)
	})
	require.True(t, bytes.Equal(src, r.out), "replayed parse differs from the input")
	return est
}

// testInputs are inputs with different structure: random (no matches),
// runs, text-like repeats with edits, repeat-offset patterns (tables of
// fixed-size records), short inputs and inputs crossing block boundaries.
func testInputs() map[string][]byte {
	rng := rand.New(rand.NewSource(1))
	in := map[string][]byte{
		"empty": {},
		"one":   {7},
		"three": []byte("abc"),
		"aaaa":  bytes.Repeat([]byte{'a'}, 11),
	}
	random := make([]byte, 70000)
	rng.Read(random)
	in["random"] = random
	in["zeros"] = make([]byte, 300000)

	words := []string{"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "\n", "zstd ", "sequence "}
	var text []byte
	for len(text) < 400000 {
		text = append(text, words[rng.Intn(len(words))]...)
	}
	in["words"] = text

	// Records of 24 bytes whose fields change slowly: offsets 24 and
	// 48 repeat, which the repeat codes should catch.
	var recs []byte
	for i := 0; len(recs) < 200000; i++ {
		var r [24]byte
		binary.LittleEndian.PutUint64(r[0:], uint64(i))
		binary.LittleEndian.PutUint64(r[8:], uint64(i/7))
		binary.LittleEndian.PutUint64(r[16:], 0xdeadbeef)
		recs = append(recs, r[:]...)
	}
	in["records"] = recs

	// Copies of a random chunk with a few bytes changed in each.
	chunk := make([]byte, 5000)
	rng.Read(chunk)
	var edits []byte
	for len(edits) < 300000 {
		c := append([]byte(nil), chunk...)
		for k := 0; k < 5; k++ {
			c[rng.Intn(len(c))] = byte(rng.Intn(256))
		}
		edits = append(edits, c...)
	}
	in["edits"] = edits

	// Period 1..3 runs that make the "rep0 - 1" case and LitLen 0 repeat
	// codes likely.
	var periods []byte
	for len(periods) < 150000 {
		p := 1 + rng.Intn(9)
		unit := make([]byte, p)
		rng.Read(unit)
		for k := rng.Intn(40); k >= 0; k-- {
			periods = append(periods, unit...)
		}
		periods = append(periods, byte(rng.Intn(256)))
	}
	in["periods"] = periods
	return in
}

var parserTestOptions = []Options{
	{NiceLen: 8, Depth: 1, Passes: 1},
	{NiceLen: 32, Depth: 8, Passes: 1},
	{NiceLen: 128, Depth: 48, Passes: 2, SeedPass: true},
	{NiceLen: 64, Depth: 16, Passes: 2, Exhaustive: true},
	{NiceLen: maxNiceLen, Depth: 256, Passes: 1, SeedPass: true},
}

func TestParserReplaysInput(t *testing.T) {
	for _, o := range parserTestOptions {
		e, err := NewEncoder(o)
		require.NoError(t, err)
		for name, src := range testInputs() {
			t.Run(name, func(t *testing.T) {
				parseAndReplay(t, e, src)
			})
		}
	}
}

// TestParserFindsStructure: the parse must actually compress what is
// compressible (the estimate is far below 8 bits a byte) and not expand
// random data much (a parse that emitted nothing but literals would pass
// the replay test).
func TestParserFindsStructure(t *testing.T) {
	e, err := NewEncoder(DefaultOptions)
	require.NoError(t, err)
	in := testInputs()
	for name, maxRatio := range map[string]float64{
		"zeros": 0.001, "words": 0.35, "records": 0.15, "edits": 0.05, "periods": 0.5,
	} {
		est := parseAndReplay(t, e, in[name])
		require.Less(t, est/8, maxRatio*float64(len(in[name])), name)
	}
	est := parseAndReplay(t, e, in["random"])
	require.Less(t, est/8, 1.01*float64(len(in["random"])))
}

// TestParserRepeatCodes: on records with period 24 most matches should be
// repeat codes (Offset_Value 1..3), which is what makes zstd cheap there.
func TestParserRepeatCodes(t *testing.T) {
	e, err := NewEncoder(DefaultOptions)
	require.NoError(t, err)
	src := testInputs()["records"]
	var reps, all int
	e.parseAll(src, func(_ []byte, seqs []Sequence) {
		for _, s := range seqs {
			all++
			if s.OffValue <= 3 {
				reps++
			}
		}
	})
	require.Positive(t, all)
	require.Greater(t, float64(reps)/float64(all), 0.5, "%d of %d sequences use repeat codes", reps, all)
}

// TestParserDeterministicAcrossReuse: an encoder that parsed other inputs
// before parses the same input the same way as a fresh one.
func TestParserDeterministicAcrossReuse(t *testing.T) {
	in := testInputs()
	collect := func(e *Encoder, src []byte) []Sequence {
		var all []Sequence
		e.parseAll(src, func(_ []byte, seqs []Sequence) { all = append(all, seqs...) })
		return all
	}
	fresh, err := NewEncoder(DefaultOptions)
	require.NoError(t, err)
	want := collect(fresh, in["words"])
	used, err := NewEncoder(DefaultOptions)
	require.NoError(t, err)
	collect(used, in["zeros"])
	collect(used, in["edits"])
	require.Equal(t, want, collect(used, in["words"]))
}

func FuzzParser(f *testing.F) {
	f.Add([]byte("abcabcabcabd"), uint8(0))
	f.Add(bytes.Repeat([]byte("xy"), 100), uint8(1))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1}, uint8(2))
	f.Fuzz(func(t *testing.T, src []byte, which uint8) {
		e, err := NewEncoder(parserTestOptions[int(which)%len(parserTestOptions)])
		require.NoError(t, err)
		parseAndReplay(t, e, src)
	})
}

// BenchmarkMeasureParser prints the estimated size of ZSTD_MEASURE's files
// (or a directory's), split into 1 MiB frames as squashfs would, with the
// options of ZSTD_NICE/ZSTD_DEPTH/ZSTD_PASSES/ZSTD_SEED. It is a tuning
// tool, a benchmark so that plain `go test` never reaches it:
//
//	ZSTD_MEASURE=dir go test ./pkg/zstd -run '^$' -bench MeasureParser -benchtime 1x
func BenchmarkMeasureParser(b *testing.B) {
	t := b
	path := os.Getenv("ZSTD_MEASURE")
	if path == "" {
		t.Skip("set ZSTD_MEASURE to a file or directory")
	}
	o := measureOptions(t)
	var files []string
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		ents, err := os.ReadDir(path)
		require.NoError(t, err)
		for _, de := range ents {
			files = append(files, filepath.Join(path, de.Name()))
		}
	} else {
		files = []string{path}
	}
	e, err := NewEncoder(o)
	require.NoError(t, err)
	var in, est, real float64
	var took, encTook time.Duration
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for len(data) > 0 {
			n := min(len(data), 1<<20)
			start := time.Now()
			e.parseAll(data[:n], func(block []byte, seqs []Sequence) { est += estimateBits(block, seqs) / 8 })
			took += time.Since(start)
			parseAndReplay(t, e, data[:n])
			start = time.Now()
			real += float64(len(e.EncodeAll(nil, data[:n])))
			encTook += time.Since(start)
			in += float64(n)
			data = data[n:]
		}
	}
	t.Logf("%+v: %.0f bytes -> %.0f estimated (%.4f), parsed in %v; encoded %.0f in %v", o, in, est, est/in, took, real, encTook)
}

// TestRecodeForOtherRepeatOffsets: sequences parsed for one set of repeat
// offsets, recoded for a decoder that has others (after a raw block), still
// replay to the input; the replayer starts from the other offsets.
func TestRecodeForOtherRepeatOffsets(t *testing.T) {
	e, err := NewEncoder(DefaultOptions)
	require.NoError(t, err)
	for _, name := range []string{"records", "periods", "words"} {
		src := testInputs()[name][:maxBlockSize]
		var seqs []Sequence
		e.parseAll(src, func(_ []byte, s []Sequence) { seqs = append(seqs, s...) })
		actual := repeatOffsets{17, 2, 9}
		actual.recode(seqs, initialRepeats)
		r := &seqReplayer{reps: [3]uint64{17, 2, 9}}
		r.block(t, src, seqs)
		require.True(t, bytes.Equal(src, r.out), name)
	}
}

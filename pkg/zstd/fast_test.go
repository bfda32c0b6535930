package zstd

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// fastTestOptions cover the strategies: greedy with one candidate and with
// a few, lazy and lazy2, short and long minimum matches, a tiny table (many
// collisions), the widest rows (64 slots), a nice length that cuts
// searches short and sparse insertion.
var fastTestOptions = []FastOptions{
	{MinMatch: 6, Depth: 1, Lazy: 0, NiceLen: 32, Sparse: 2},
	{MinMatch: 5, Depth: 4, Lazy: 0, NiceLen: 64},
	{MinMatch: 4, Depth: 8, Lazy: 1, NiceLen: 32, HashLog: fastMinHashLog},
	{MinMatch: 4, Depth: 32, Lazy: 2, NiceLen: 256},
	{MinMatch: 7, Depth: 16, Lazy: 2, NiceLen: 7},
	{MinMatch: 4, Depth: 64, Lazy: 2, NiceLen: 1024, HashLog: 12},
}

// replaySequences appends to out what block src[start:end] decodes to from
// seqs: each sequence's literals from src, its match copied from out at the
// distance its Offset_Value names by an independent reading of RFC 8878
// section 3.1.1.5 (greedyRepeat, the test parser's; r holds the repeat
// offsets and is updated). No sequence may be shorter than the format
// allows, reach before the frame or cross the block's end.
func replaySequences(t *testing.T, src []byte, start, end int, seqs []Sequence, r *[3]uint32, out []byte) []byte {
	t.Helper()
	pos := start
	for i, s := range seqs {
		require.GreaterOrEqual(t, s.MatchLen, uint32(minMatch), "sequence %d", i)
		out = append(out, src[pos:pos+int(s.LitLen)]...)
		pos += int(s.LitLen)
		var d uint32
		d, *r = greedyRepeat(*r, s.LitLen, s.OffValue)
		require.NotZero(t, d, "sequence %d", i)
		require.LessOrEqual(t, int(d), len(out), "sequence %d reaches before the frame", i)
		for k := uint32(0); k < s.MatchLen; k++ {
			out = append(out, out[len(out)-int(d)])
		}
		pos += int(s.MatchLen)
		require.LessOrEqual(t, pos, end, "sequence %d crosses the block end", i)
	}
	return append(out, src[pos:end]...)
}

// replayFrameSequences parses src block by block as EncodeAll does (as if
// every block were written compressed) and rebuilds the input from the
// sequences alone (replaySequences).
func replayFrameSequences(t *testing.T, f *FastEncoder, src []byte) {
	t.Helper()
	f.reset(src)
	defer f.finish()
	reps := initialRepeats
	var out []byte
	r := [3]uint32(initialRepeats)
	for start := 0; start < len(src); start += maxBlockSize {
		end := min(start+maxBlockSize, len(src))
		seqs, after := f.parseBlock(start, end, reps)
		out = replaySequences(t, src, start, end, seqs, &r, out)
		require.Equal(t, [3]uint32(after), r, "repeat offsets after block at %d", start)
		reps = after
	}
	require.True(t, bytes.Equal(src, out), "replayed sequences differ from the input")
}

func TestFastReplay(t *testing.T) {
	in := encoderTestInputs(t)
	for i, o := range fastTestOptions {
		f, err := NewFastEncoder(o)
		require.NoError(t, err)
		for name, src := range in {
			if name == "executable" && i%2 == 1 {
				continue // the largest input: half the settings suffice
			}
			t.Run(name, func(t *testing.T) { replayFrameSequences(t, f, src) })
		}
	}
}

// codec is one configured encoder under test, named in messages.
type codec struct {
	name   string
	encode func(dst, src []byte) []byte
}

// requireRoundTrips encodes every input with every encoder and decodes the
// frames with klauspost's decoder one by one and with the zstd command
// (libzstd) all together; neither shares code with the encoders. Text
// (the "words" and "records" inputs) must shrink to a third.
func requireRoundTrips(t *testing.T, codecs []codec, in map[string][]byte) {
	t.Helper()
	var all, frames []byte
	for _, c := range codecs {
		for name, src := range in {
			frame := c.encode(nil, src)
			got, err := decodeKlauspost(t, frame)
			require.NoError(t, err, "%s %s", name, c.name)
			require.True(t, bytes.Equal(src, got), "%s %s: decoded differently", name, c.name)
			if name == "words" || name == "records" {
				require.Less(t, len(frame), len(src)/3, "%s %s", name, c.name)
			}
			all = append(all, src...)
			frames = append(frames, frame...)
		}
	}
	got, err := decodeCLI(t, frames)
	require.NoError(t, err)
	require.True(t, bytes.Equal(all, got), "zstd -d decoded differently")
}

// fastCodecs returns an encoder of every test setting.
func fastCodecs(t *testing.T) []codec {
	var codecs []codec
	for _, o := range fastTestOptions {
		f, err := NewFastEncoder(o)
		require.NoError(t, err)
		codecs = append(codecs, codec{fmt.Sprintf("%+v", o), f.EncodeAll})
	}
	return codecs
}

// TestFastRoundTrip: every setting's frames decode (requireRoundTrips).
func TestFastRoundTrip(t *testing.T) {
	requireRoundTrips(t, fastCodecs(t), encoderTestInputs(t))
}

// recordsNoiseRecords returns 128 KiB of records whose fields repeat at a
// fixed distance, 128 KiB of noise (a raw block) and the records again, and
// the noise: the third block's repeat matches decode right only if the raw
// block did not advance the repeat offsets (a raw block carries no
// sequences, RFC 8878 section 3.1.1.5).
func recordsNoiseRecords() (src, noise []byte) {
	rng := rand.New(rand.NewSource(5))
	noise = make([]byte, maxBlockSize)
	rng.Read(noise)
	var rec []byte
	for len(rec) < maxBlockSize {
		rec = append(rec, []byte("id="+strconv.Itoa(rng.Intn(1000))+" name=xyzzy value=")...)
		rec = append(rec, noise[len(rec)%1000:len(rec)%1000+5]...)
		rec = append(rec, '\n')
	}
	rec = rec[:maxBlockSize]
	return append(append(append([]byte{}, rec...), noise...), rec...), noise
}

// requireRawBlockKeepsRepeats encodes recordsNoiseRecords with each encoder:
// it must decode, and the records must cost little.
func requireRawBlockKeepsRepeats(t *testing.T, codecs []codec) {
	src, noise := recordsNoiseRecords()
	for _, c := range codecs {
		frame := c.encode(nil, src)
		got, err := decodeKlauspost(t, frame)
		require.NoError(t, err, c.name)
		require.True(t, bytes.Equal(src, got), c.name)
		require.Less(t, len(frame), len(src)/2+len(noise)/2, c.name)
	}
}

// TestFastRawBlockKeepsRepeats: a block written raw between compressed ones
// leaves the repeat offsets as the decoder has them.
func TestFastRawBlockKeepsRepeats(t *testing.T) {
	requireRawBlockKeepsRepeats(t, fastCodecs(t))
}

// TestFastSplitAfterRawPart: a 128 KiB stretch whose first half is noise
// and second half repeats earlier records is written split, the noise raw
// and the records compressed (the frame is barely larger than the noise),
// and both decoders read it back. (TestFastRecodesForDecoderOffsets checks
// the recoding a raw part may make necessary.)
func TestFastSplitAfterRawPart(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	recs := testInputs()["records"][:maxBlockSize]
	noise := make([]byte, maxBlockSize/2)
	rng.Read(noise)
	src := append(append(append([]byte{}, recs...), noise...), recs[:maxBlockSize/2]...)
	var frames, all []byte
	for _, o := range fastTestOptions {
		f, err := NewFastEncoder(o)
		require.NoError(t, err)
		frame := f.EncodeAll(nil, src)
		got, err := decodeKlauspost(t, frame)
		require.NoError(t, err, "%+v", o)
		require.True(t, bytes.Equal(src, got), "%+v", o)
		// Split: the noise costs its size, the records little.
		require.Less(t, len(frame), len(noise)+len(recs)/2, "%+v", o)
		frames = append(frames, frame...)
		all = append(all, src...)
	}
	got, err := decodeCLI(t, frames)
	require.NoError(t, err)
	require.True(t, bytes.Equal(all, got), "zstd -d decoded differently")
}

// TestFastRecodesForDecoderOffsets: when the parse assumed other repeat
// offsets than the decoder has (as after a part written raw), writeParts
// recodes the sequences so that every match keeps its distance. The
// second stretch repeats with period 13, and the parse is told that 13 is
// the most recent offset, so it codes its first match as repeat code 1,
// which names another distance for the decoder.
func TestFastRecodesForDecoderOffsets(t *testing.T) {
	src := append([]byte{}, testInputs()["records"][:maxBlockSize]...)
	for i := 0; i < 4096; i++ {
		src = append(src, "0123456789abc"[i%13])
	}
	f, err := NewFastEncoder(fastTestOptions[2])
	require.NoError(t, err)
	f.reset(src)
	f.w.reset()
	frame := appendFrameHeader(nil, len(src))
	f.dec = initialRepeats
	seqs, _ := f.parseBlock(0, maxBlockSize, f.dec)
	var sp blockSplitter
	parts, _ := sp.split(nil, src[:maxBlockSize], seqs)
	frame, f.dec = f.w.writeParts(frame, src[:maxBlockSize], seqs, parts, f.dec, f.dec, false)
	require.NotEqual(t, uint32(13), f.dec[0])

	assumed := repeatOffsets{13, 11, 17}
	seqs, _ = f.parseBlock(maxBlockSize, len(src), assumed)
	require.NotEmpty(t, seqs)
	require.Equal(t, uint32(1), seqs[0].OffValue, "the parse should use the assumed offset")
	parts, _ = sp.split(nil, src[maxBlockSize:], seqs)
	frame, _ = f.w.writeParts(frame, src[maxBlockSize:], seqs, parts, assumed, f.dec, true)
	f.finish()

	got, err := decodeKlauspost(t, frame)
	require.NoError(t, err)
	require.True(t, bytes.Equal(src, got))
}

// TestFastDeterministic: output depends only on the input and options, not
// on what the encoder encoded before; dst's contents are kept.
func TestFastDeterministic(t *testing.T) {
	in := encoderTestInputs(t)
	for _, o := range fastTestOptions {
		fresh, err := NewFastEncoder(o)
		require.NoError(t, err)
		want := fresh.EncodeAll(nil, in["mixed"])
		used, err := NewFastEncoder(o)
		require.NoError(t, err)
		used.EncodeAll(nil, in["executable"])
		used.EncodeAll(nil, in["zeros"])
		used.EncodeAll(nil, []byte("short"))
		got := used.EncodeAll([]byte("prefix"), in["mixed"])
		require.Equal(t, "prefix", string(got[:6]))
		require.Equal(t, want, got[6:], "%+v", o)
	}
}

// TestFastBaseWrap: when the slots' base would pass 2^32 the tables start
// empty again, and the output is the same as a fresh encoder's; so is the
// output of the call after (small inputs use a smaller table shape).
func TestFastBaseWrap(t *testing.T) {
	in := encoderTestInputs(t)
	o := fastTestOptions[3]
	fresh, err := NewFastEncoder(o)
	require.NoError(t, err)
	want := fresh.EncodeAll(nil, in["mixed"])
	wantSmall := fresh.EncodeAll(nil, in["words"][:5000])
	used, err := NewFastEncoder(o)
	require.NoError(t, err)
	used.EncodeAll(nil, in["executable"])
	used.base = 1<<32 - 1 - uint32(len(in["mixed"]))/2
	require.Equal(t, want, used.EncodeAll(nil, in["mixed"]))
	require.Less(t, used.base, uint32(1<<31), "base started again")
	require.Equal(t, wantSmall, used.EncodeAll(nil, in["words"][:5000]))
	require.Equal(t, want, used.EncodeAll(nil, in["mixed"]))
}

// TestFastDeeperIsSmaller: on text, a lazy parse over deep chains is
// smaller than a greedy one over a plain hash table.
func TestFastDeeperIsSmaller(t *testing.T) {
	src := testInputs()["words"]
	quick, err := NewFastEncoder(FastOptions{MinMatch: 6, Depth: 1, NiceLen: 32})
	require.NoError(t, err)
	deep, err := NewFastEncoder(FastOptions{MinMatch: 4, Depth: 64, Lazy: 2, NiceLen: 256})
	require.NoError(t, err)
	require.Less(t, len(deep.EncodeAll(nil, src)), len(quick.EncodeAll(nil, src)))
}

func TestNewFastEncoderRejectsBadOptions(t *testing.T) {
	for _, o := range []FastOptions{
		{MinMatch: 3, Depth: 1, NiceLen: 32},
		{MinMatch: 8, Depth: 1, NiceLen: 32},
		{MinMatch: 4, Depth: 0, NiceLen: 32},
		{MinMatch: 4, Depth: fastMaxDepth + 1, NiceLen: 32},
		{MinMatch: 4, Depth: 1, Lazy: 3, NiceLen: 32},
		{MinMatch: 5, Depth: 1, NiceLen: 4},
		{MinMatch: 4, Depth: 1, NiceLen: 32, HashLog: 30},
	} {
		_, err := NewFastEncoder(o)
		require.ErrorIs(t, err, errOptions, "%+v", o)
	}
}

// addEncoderSeeds adds the encoder fuzz targets' seed corpus: input and
// which of the test settings to use.
func addEncoderSeeds(f *testing.F) {
	f.Add([]byte("abcabcabcabd"), uint8(0))
	f.Add(bytes.Repeat([]byte("xyz"), 1000), uint8(1))
	f.Add([]byte("a man a plan a canal panama, a man a plan"), uint8(2))
	f.Add([]byte{}, uint8(3))
	f.Add(bytes.Repeat([]byte{0, 1, 0, 1, 0, 2}, 50), uint8(4))
}

func FuzzFastEncoder(f *testing.F) {
	addEncoderSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte, which uint8) {
		e, err := NewFastEncoder(fastTestOptions[int(which)%len(fastTestOptions)])
		require.NoError(t, err)
		got, err := decodeKlauspost(t, e.EncodeAll(nil, src))
		require.NoError(t, err)
		require.True(t, bytes.Equal(src, got))
	})
}

// envInts sets each field from its environment variable, if set, for
// tuning runs.
func envInts(tb testing.TB, fields map[string]*int) {
	for name, field := range fields {
		if s := os.Getenv(name); s != "" {
			n, err := strconv.Atoi(s)
			require.NoError(tb, err, name)
			*field = n
		}
	}
}

// fastMeasureOptions reads FAST_MM, FAST_DEPTH, FAST_LAZY, FAST_NICE,
// FAST_HASHLOG and FAST_SPARSE over a middle setting.
func fastMeasureOptions(tb testing.TB) FastOptions {
	o := FastOptions{MinMatch: 5, Depth: 16, Lazy: 1, NiceLen: 64}
	envInts(tb, map[string]*int{"FAST_MM": &o.MinMatch, "FAST_DEPTH": &o.Depth,
		"FAST_LAZY": &o.Lazy, "FAST_NICE": &o.NiceLen, "FAST_HASHLOG": &o.HashLog, "FAST_SPARSE": &o.Sparse})
	return o
}

// measureTree encodes n 1 MiB chunks of the benchmark tree (see
// treeSample) per iteration and reports their total size and the CPU
// time per iteration: CPU time, not wall time, is what the shared machine
// lets one compare between runs.
func measureTree(b *testing.B, n int, encode func(dst, src []byte) []byte) {
	chunks := treeSample(b, n)
	total := 0
	for _, c := range chunks {
		total += len(c)
	}
	b.SetBytes(int64(total))
	b.ResetTimer()
	var size int
	var out []byte
	cpu0 := processCPU(b)
	for i := 0; i < b.N; i++ {
		size = 0
		for _, c := range chunks {
			out = encode(out[:0], c)
			size += len(out)
		}
	}
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(size), "bytes")
}

// BenchmarkFastTree measures the fast encoder on 8 MiB of the tree.
func BenchmarkFastTree(b *testing.B) {
	f, err := NewFastEncoder(fastMeasureOptions(b))
	require.NoError(b, err)
	measureTree(b, 8, f.EncodeAll)
}

// processCPU returns the process's user+system time in nanoseconds.
func processCPU(tb testing.TB) int64 {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return ru.Utime.Nano() + ru.Stime.Nano()
}

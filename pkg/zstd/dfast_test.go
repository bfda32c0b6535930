package zstd

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// hashTestOptions cover both strategies, every minimum match, tiny tables
// (collisions everywhere), the slowest and fastest skipping over
// literals, lazy and lazy2 search, block splitting, and the setting of
// zstd levels 1-5 (the third).
var hashTestOptions = []HashOptions{
	{MinMatch: 6, ShortLog: 14, StepLog: 6},
	{MinMatch: 4, ShortLog: hashMinLog, StepLog: 4},
	{Double: true, MinMatch: 4, ShortLog: 16, LongLog: 15, StepLog: 8, Lazy: 1},
	{Double: true, MinMatch: 4, ShortLog: 16, LongLog: 16, StepLog: 8, Split: true},
	{Double: true, MinMatch: 7, ShortLog: hashMinLog, LongLog: hashMinLog, StepLog: 10},
	{Double: true, MinMatch: 5, ShortLog: 12, LongLog: 13, StepLog: 5, Lazy: 2},
}

// hashTestInputs adds to the encoder's inputs a "copy soup": random bytes,
// then pieces of 200-2000 bytes copied from random earlier places, so that
// matches of new distances start anywhere, also shortly before a block's
// end, and the input would let them run on past it.
func hashTestInputs(t testing.TB) map[string][]byte {
	in := encoderTestInputs(t)
	rng := rand.New(rand.NewSource(11))
	soup := make([]byte, 4096, 3*maxBlockSize)
	rng.Read(soup)
	for len(soup) < 3*maxBlockSize {
		n := 200 + rng.Intn(1800)
		from := rng.Intn(len(soup) - n)
		soup = append(soup, soup[from:from+n]...)
		soup = append(soup, byte(rng.Intn(256)))
	}
	in["soup"] = soup
	return in
}

// TestHashReplay rebuilds every input from the parse's sequences alone
// (replaySequences), and the parse's repeat offsets after each block must
// be the replay's.
func TestHashReplay(t *testing.T) {
	for _, o := range hashTestOptions {
		e, err := NewHashEncoder(o)
		require.NoError(t, err)
		for name, src := range hashTestInputs(t) {
			t.Run(name, func(t *testing.T) {
				ss, ls := e.reset(len(src))
				defer func() { e.base += uint32(len(src)) + 1 }()
				reps := initialRepeats
				r := [3]uint32(initialRepeats)
				var out []byte
				for start := 0; start < len(src); start += maxBlockSize {
					end := min(start+maxBlockSize, len(src))
					seqs, after := e.parse(src, start, end, reps, ss, ls)
					out = replaySequences(t, src, start, end, seqs, &r, out)
					require.Equal(t, [3]uint32(after), r, "repeat offsets after block at %d", start)
					reps = after
				}
				require.True(t, bytes.Equal(src, out), "%+v: replayed sequences differ from the input", o)
			})
		}
	}
}

// hashCodecs returns an encoder of every test setting.
func hashCodecs(t *testing.T) []codec {
	var codecs []codec
	for _, o := range hashTestOptions {
		e, err := NewHashEncoder(o)
		require.NoError(t, err)
		codecs = append(codecs, codec{fmt.Sprintf("%+v", o), e.EncodeAll})
	}
	return codecs
}

// TestHashRoundTrip: every setting's frames decode (requireRoundTrips),
// also of inputs too short for a search.
func TestHashRoundTrip(t *testing.T) {
	in := hashTestInputs(t)
	in["tiny"] = []byte("abcdefgh")
	in["one"] = []byte{7}
	in["empty"] = nil
	requireRoundTrips(t, hashCodecs(t), in)
}

// TestHashRawBlockKeepsRepeats: a block written raw between compressed ones
// leaves the repeat offsets as the decoder has them.
func TestHashRawBlockKeepsRepeats(t *testing.T) {
	requireRawBlockKeepsRepeats(t, hashCodecs(t))
}

// TestHashSecondRepeat: wherever a match ends more than 9 bytes before its
// block's end and the second repeat offset would match 4 bytes there, the
// next sequence takes it with no literals, coded as Offset_Value 1
// (section 3.1.1.5): the encoder never leaves that cheap match behind.
func TestHashSecondRepeat(t *testing.T) {
	taken := 0
	for _, o := range hashTestOptions {
		e, err := NewHashEncoder(o)
		require.NoError(t, err)
		for name, src := range hashTestInputs(t) {
			ss, ls := e.reset(len(src))
			reps := initialRepeats
			for start := 0; start < len(src); start += maxBlockSize {
				end := min(start+maxBlockSize, len(src))
				seqs, _ := e.parse(src, start, end, reps, ss, ls)
				pos := start
				for i, s := range seqs {
					r, _ := greedyRepeat([3]uint32(reps), s.LitLen, s.OffValue)
					reps = reps.next(s.OffValue, s.LitLen)
					pos += int(s.LitLen + s.MatchLen)
					d := int(reps[1])
					if pos >= end-9 || d > pos || !bytes.Equal(src[pos:pos+4], src[pos-d:pos-d+4]) {
						continue
					}
					require.Less(t, i+1, len(seqs), "%s %+v: block at %d ends in literals at %d", name, o, start, pos)
					next := seqs[i+1]
					require.Zero(t, next.LitLen, "%s %+v: sequence %d (distance %d)", name, o, i+1, r)
					require.Equal(t, uint32(1), next.OffValue, "%s %+v: sequence %d", name, o, i+1)
					taken++
				}
			}
			e.base += uint32(len(src)) + 1
		}
	}
	require.Greater(t, taken, 100)
}

// TestHashDeterministic: output depends only on the input and options, not
// on what the encoder encoded before (stale slots of other calls, another
// table shape); dst's contents are kept.
func TestHashDeterministic(t *testing.T) {
	in := encoderTestInputs(t)
	for _, o := range hashTestOptions {
		fresh, err := NewHashEncoder(o)
		require.NoError(t, err)
		want := fresh.EncodeAll(nil, in["mixed"])
		used, err := NewHashEncoder(o)
		require.NoError(t, err)
		used.EncodeAll(nil, in["executable"])
		used.EncodeAll(nil, in["mixed"][:3000])
		used.EncodeAll(nil, []byte("short"))
		got := used.EncodeAll([]byte("prefix"), in["mixed"])
		require.Equal(t, "prefix", string(got[:6]))
		require.Equal(t, want, got[6:], "%+v", o)
	}
}

// TestHashBaseWrap: when the slots' base would pass 2^32 the tables start
// empty again, and the output is a fresh encoder's, this call's and the
// next one's.
func TestHashBaseWrap(t *testing.T) {
	in := encoderTestInputs(t)
	for _, o := range hashTestOptions[1:3] {
		fresh, err := NewHashEncoder(o)
		require.NoError(t, err)
		want := fresh.EncodeAll(nil, in["mixed"])
		wantSmall := fresh.EncodeAll(nil, in["words"][:5000])
		used, err := NewHashEncoder(o)
		require.NoError(t, err)
		used.EncodeAll(nil, in["executable"])
		used.base = 1<<32 - 1 - uint32(len(in["mixed"]))/2
		require.Equal(t, want, used.EncodeAll(nil, in["mixed"]), "%+v", o)
		require.Less(t, used.base, uint32(1<<31), "base started again")
		require.Equal(t, wantSmall, used.EncodeAll(nil, in["words"][:5000]), "%+v", o)
		require.Equal(t, want, used.EncodeAll(nil, in["mixed"]), "%+v", o)
	}
}

// TestHashDoubleIsSmaller: the long table finds matches the short one's
// single slot lost, and splitting helps where statistics change, on the
// executable (code, tables and strings).
func TestHashDoubleIsSmaller(t *testing.T) {
	src := encoderTestInputs(t)["executable"]
	if len(src) < 200<<10 {
		t.Skipf("the test binary is only %d bytes", len(src))
	}
	size := func(o HashOptions) int {
		e, err := NewHashEncoder(o)
		require.NoError(t, err)
		return len(e.EncodeAll(nil, src))
	}
	single := size(HashOptions{MinMatch: 5, ShortLog: 16, StepLog: 8})
	double := size(HashOptions{Double: true, MinMatch: 5, ShortLog: 16, LongLog: 16, StepLog: 8})
	split := size(HashOptions{Double: true, MinMatch: 5, ShortLog: 16, LongLog: 16, StepLog: 8, Split: true})
	require.Less(t, double, single)
	require.Less(t, split, double)
}

func TestNewHashEncoderRejectsBadOptions(t *testing.T) {
	for _, o := range []HashOptions{
		{MinMatch: 3, ShortLog: 16, StepLog: 8},
		{MinMatch: 8, ShortLog: 16, StepLog: 8},
		{MinMatch: 5, ShortLog: hashMinLog - 1, StepLog: 8},
		{MinMatch: 5, ShortLog: hashMaxLog + 1, StepLog: 8},
		{Double: true, MinMatch: 5, ShortLog: 16, LongLog: 0, StepLog: 8},
		{MinMatch: 5, ShortLog: 16, StepLog: 3},
		{MinMatch: 5, ShortLog: 16, StepLog: 11},
		{Double: true, MinMatch: 5, ShortLog: 16, LongLog: 16, StepLog: 8, Lazy: 3},
		{Double: true, MinMatch: 5, ShortLog: 16, LongLog: 16, StepLog: 8, Lazy: -1},
		{MinMatch: 5, ShortLog: 16, StepLog: 8, Lazy: 1},
	} {
		_, err := NewHashEncoder(o)
		require.ErrorIs(t, err, errOptions, "%+v", o)
	}
}

func FuzzHashEncoder(f *testing.F) {
	addEncoderSeeds(f)
	f.Fuzz(func(t *testing.T, src []byte, which uint8) {
		e, err := NewHashEncoder(hashTestOptions[int(which)%len(hashTestOptions)])
		require.NoError(t, err)
		got, err := decodeKlauspost(t, e.EncodeAll(nil, src))
		require.NoError(t, err)
		require.True(t, bytes.Equal(src, got))
	})
}

// TestHashQuickLiterals: the hash encoder's one-pass Huffman choice
// (blockWriter.quick) reuses the previous table (Treeless_Literals_Block,
// section 3.1.1.3.1.1) on blocks of the same kind of text and writes a new
// one where the statistics change, and both decoders read the frame: the
// decoder's previous table is the one the encoder assumed, also after a
// raw block (noise) between.
func TestHashQuickLiterals(t *testing.T) {
	in := hashTestInputs(t)
	rng := rand.New(rand.NewSource(14))
	noise := make([]byte, maxBlockSize)
	rng.Read(noise)
	words := in["words"]
	src := append(append(append(append([]byte{}, words...), noise...), words...), in["executable"]...)
	e, err := NewHashEncoder(hashTestOptions[2])
	require.NoError(t, err)
	frame := e.EncodeAll(nil, src)
	requireBothDecode(t, frame, src, "quick literals")
	kinds := map[int]int{}
	for _, b := range walkFrame(t, frame) {
		if b.blockType == blockCompressed {
			kinds[b.litType]++
		}
	}
	require.Positive(t, kinds[litTreeless], "no block reused the previous table: %v", kinds)
	require.Positive(t, kinds[litCompressed], "no block wrote a new table: %v", kinds)
}

// hashMeasureOptions reads HASH_SINGLE, HASH_MM, HASH_SHORT, HASH_LONG,
// HASH_STEP, HASH_LAZY and HASH_SPLIT over the levels' setting.
func hashMeasureOptions(tb testing.TB) HashOptions {
	o := HashOptions{Double: true, MinMatch: 4, ShortLog: 16, LongLog: 15, StepLog: 8, Lazy: 1}
	envInts(tb, map[string]*int{"HASH_MM": &o.MinMatch, "HASH_SHORT": &o.ShortLog,
		"HASH_LONG": &o.LongLog, "HASH_STEP": &o.StepLog, "HASH_LAZY": &o.Lazy})
	o.Double = os.Getenv("HASH_SINGLE") == ""
	o.Split = os.Getenv("HASH_SPLIT") != ""
	return o
}

// BenchmarkHashTree measures the hash encoder on 24 MiB of the tree, the
// tuning tool behind zstd levels 1-5.
func BenchmarkHashTree(b *testing.B) {
	e, err := NewHashEncoder(hashMeasureOptions(b))
	require.NoError(b, err)
	measureTree(b, 24, e.EncodeAll)
}

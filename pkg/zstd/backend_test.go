package zstd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

var (
	backendDecoderOnce sync.Once
	backendDecoder     *kzstd.Decoder
)

// decodeKlauspost decodes frame with klauspost's decoder, one of the two
// independent decoders the back end is held to.
func decodeKlauspost(tb testing.TB, frame []byte) ([]byte, error) {
	tb.Helper()
	backendDecoderOnce.Do(func() {
		d, err := kzstd.NewReader(nil, kzstd.WithDecoderConcurrency(1), kzstd.WithDecoderMaxWindow(1<<30))
		if err != nil {
			panic(err)
		}
		backendDecoder = d
	})
	return backendDecoder.DecodeAll(frame, nil)
}

// decodeCLI decodes frames with the zstd command (libzstd), the reference
// decoder.
func decodeCLI(tb testing.TB, frames []byte) ([]byte, error) {
	tb.Helper()
	zstdPath := testutil.RequireTool(tb, "zstd")
	cmd := exec.Command(zstdPath, "-d", "-c", "-q")
	cmd.Stdin = bytes.NewReader(frames)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("zstd -d: %w: %s", err, stderr.String())
	}
	return out.Bytes(), nil
}

// backendInput is one test input with how to cut it into blocks.
type backendInput struct {
	name      string
	data      []byte
	blockSize int
	minMatch  int
}

// textData makes pseudo-English: words of a small vocabulary with skewed
// frequencies, punctuation and line breaks.
func textData(rng *rand.Rand, n int) []byte {
	words := strings.Fields("the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there one all we their can has been if more when will would who so no compression squashfs portable service image block frame literal sequence offset match")
	var b bytes.Buffer
	for b.Len() < n {
		w := words[int(float64(len(words))*rng.Float64()*rng.Float64())]
		b.WriteString(w)
		switch rng.Intn(12) {
		case 0:
			b.WriteString(". ")
		case 1:
			b.WriteString(",\n")
		default:
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// binaryData makes structured binary: little-endian records with counters,
// small fields and occasional noise, like tables in executables.
func binaryData(rng *rand.Rand, n int) []byte {
	var b bytes.Buffer
	var rec [16]byte
	for i := uint32(0); b.Len() < n; i++ {
		binary.LittleEndian.PutUint32(rec[0:], i*16)
		binary.LittleEndian.PutUint32(rec[4:], uint32(rng.Intn(300)))
		binary.LittleEndian.PutUint32(rec[8:], 0x400000+i*4)
		binary.LittleEndian.PutUint32(rec[12:], uint32(rng.Intn(4))<<24)
		b.Write(rec[:])
		if rng.Intn(50) == 0 {
			noise := make([]byte, rng.Intn(40))
			rng.Read(noise)
			b.Write(noise)
		}
	}
	return b.Bytes()[:n]
}

// skewedData has no repeats worth matching but a skewed byte distribution,
// so a block of it is one long Huffman-coded literal run.
func skewedData(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.ExpFloat64() * 12)
	}
	return b
}

func randomData(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	rng.Read(b)
	return b
}

func backendInputs() []backendInput {
	rng := rand.New(rand.NewSource(1))
	mixed := append(append(textData(rng, 100000), randomData(rng, 50000)...), make([]byte, 70000)...)
	mixed = append(mixed, binaryData(rng, 100000)...)
	return []backendInput{
		{"empty", nil, maxBlockSize, 4},
		{"one byte", []byte{7}, maxBlockSize, 4},
		{"two bytes", []byte{7, 9}, maxBlockSize, 4},
		{"tiny text", []byte("hello, hello, hello world"), maxBlockSize, 4},
		{"text 300k", textData(rng, 300000), maxBlockSize, 4},
		{"text small blocks", textData(rng, 40000), 1000, 3},
		{"binary 1M", binaryData(rng, 1<<20), maxBlockSize, 4},
		{"zeros 1M", make([]byte, 1<<20), maxBlockSize, 4},
		{"random 200k", randomData(rng, 200000), maxBlockSize, 4},
		{"skewed 1000", skewedData(rng, 1000), maxBlockSize, 4},
		{"skewed 5000", skewedData(rng, 5000), maxBlockSize, 4},
		{"skewed 20000", skewedData(rng, 20000), maxBlockSize, 4},
		{"skewed 128k", skewedData(rng, maxBlockSize), maxBlockSize, 4},
		{"mixed", mixed, maxBlockSize, 3},
		{"mixed 64k blocks", mixed, 64 << 10, 3},
	}
}

// TestBackendRoundTrip encodes each input with the greedy parser and checks
// that both independent decoders give the input back.
func TestBackendRoundTrip(t *testing.T) {
	var w blockWriter
	var all, allFrames []byte
	for _, in := range backendInputs() {
		frame := greedyFrame(t, &w, in.data, in.blockSize, in.minMatch)
		got, err := decodeKlauspost(t, frame)
		require.NoError(t, err, in.name)
		require.True(t, bytes.Equal(in.data, got), "%s: klauspost decodes other bytes", in.name)
		t.Logf("%-18s %8d -> %8d", in.name, len(in.data), len(frame))
		all = append(all, in.data...)
		allFrames = append(allFrames, frame...)
	}
	// One run of the reference decoder over all frames concatenated: it
	// decodes them in turn.
	got, err := decodeCLI(t, allFrames)
	require.NoError(t, err)
	require.True(t, bytes.Equal(all, got), "zstd -d decodes other bytes")
}

// synthBlock makes a block of about n sequences whose shape the caller
// controls, and the sequences that describe it exactly: each sequence's
// literals are skewed random bytes and its match is copied at the distance
// dist returns. With repeatEvery > 0, every repeatEvery-th sequence instead
// uses Offset_Value 1..3 (a repeat offset, tracked with greedyRepeat).
// reps is the repeat-offset state before the block and is updated.
func synthBlock(rng *rand.Rand, prefix []byte, n int, lit, ml, dist func() int, repeatEvery int, reps *[3]uint32) ([]byte, []Sequence) {
	return synthBlockLits(rng, prefix, n, lit, ml, dist, repeatEvery, reps, func() byte { return byte(rng.ExpFloat64() * 20) })
}

// synthBlockLits is synthBlock with the literal bytes from litByte.
func synthBlockLits(rng *rand.Rand, prefix []byte, n int, lit, ml, dist func() int, repeatEvery int, reps *[3]uint32, litByte func() byte) ([]byte, []Sequence) {
	data := append([]byte(nil), prefix...)
	start := len(data)
	var seqs []Sequence
	for i := 0; i < n; i++ {
		l := lit()
		if len(data)+l == 0 {
			l = 1
		}
		for j := 0; j < l; j++ {
			data = append(data, litByte())
		}
		var v, d uint32
		if repeatEvery > 0 && i%repeatEvery == repeatEvery-1 {
			v = uint32(1 + rng.Intn(3))
			d, _ = greedyRepeat(*reps, uint32(l), v)
			if d == 0 || int(d) > len(data) {
				v = 0
			}
		}
		if v == 0 {
			d = uint32(max(1, min(dist(), len(data))))
			v = d + 3
		}
		_, *reps = greedyRepeat(*reps, uint32(l), v)
		m := ml()
		for j := 0; j < m; j++ {
			data = append(data, data[len(data)-int(d)])
		}
		seqs = append(seqs, Sequence{LitLen: uint32(l), MatchLen: uint32(m), OffValue: v})
	}
	return data[start:], seqs
}

// encodeSynth writes one frame of the given blocks (each already made with
// synthBlock over the concatenation of the ones before it).
func encodeSynth(w *blockWriter, blocks [][]byte, seqs [][]Sequence) (frame, content []byte, compressed []bool) {
	for _, b := range blocks {
		content = append(content, b...)
	}
	w.reset()
	frame = appendFrameHeader(nil, len(content))
	for i, b := range blocks {
		var c bool
		frame, c = w.appendBlock(frame, b, seqs[i], i == len(blocks)-1)
		compressed = append(compressed, c)
	}
	return frame, content, compressed
}

func requireBothDecode(t *testing.T, frame, want []byte, what string) {
	t.Helper()
	got, err := decodeKlauspost(t, frame)
	require.NoError(t, err, what)
	require.True(t, bytes.Equal(want, got), "%s: klauspost decodes other bytes", what)
	got, err = decodeCLI(t, frame)
	require.NoError(t, err, what)
	require.True(t, bytes.Equal(want, got), "%s: zstd -d decodes other bytes", what)
}

// TestSequenceCountBoundaries crosses every Number_of_Sequences width
// (section 3.1.1.3.2.1: 1 byte below 128, 2 bytes to 32511, 3 bytes above)
// with 3-byte matches at one distance, which also makes the match-length
// and offset codes single-symbol streams (RLE_Mode).
func TestSequenceCountBoundaries(t *testing.T) {
	var w blockWriter
	for _, n := range []int{1, 2, 127, 128, 129, 32511, 32512, 32513, 40000} {
		rng := rand.New(rand.NewSource(int64(n)))
		reps := [3]uint32{1, 4, 8}
		ml := func() int { return 3 }
		if n < 1000 {
			ml = func() int { return 40 }
		}
		seven := func() int { return 7 }
		first := true
		block, seqs := synthBlock(rng, nil, n, func() int {
			if first {
				first = false
				return 8 // so that distance 7 reaches distinct bytes
			}
			if rng.Intn(8) == 0 {
				return 1
			}
			return 0
		}, ml, seven, 0, &reps)
		frame, content, compressed := encodeSynth(&w, [][]byte{block}, [][]Sequence{seqs})
		require.Equal(t, []bool{true}, compressed, "n=%d", n)
		info := walkFrame(t, frame)
		require.Len(t, info, 1)
		require.Equal(t, n, info[0].nbSeq, "n=%d", n)
		require.Equal(t, modeRLE, info[0].modes[kindML], "n=%d", n)
		requireBothDecode(t, frame, content, fmt.Sprintf("n=%d", n))
	}
}

// TestSequenceShapes drives the FSE tables with wide code ranges: long
// literal runs and matches (largest codes and extra bits), far offsets,
// repeat codes, and several blocks so later ones may repeat tables.
func TestSequenceShapes(t *testing.T) {
	var w blockWriter
	rng := rand.New(rand.NewSource(3))
	type shape struct {
		name          string
		n             int
		lit, ml, dist func() int
		repeatEvery   int
	}
	geo := func(scale float64, lo int) func() int {
		return func() int { return lo + int(rng.ExpFloat64()*scale) }
	}
	shapes := []shape{
		{"short", 3000, geo(3, 0), geo(4, 3), geo(500, 1), 3},
		{"long matches", 20, geo(50, 0), geo(4000, 3), geo(20000, 1), 0},
		{"long literals", 3, geo(20000, 1000), geo(10, 3), geo(100, 1), 0},
		{"far", 2000, geo(10, 0), geo(20, 3), geo(200000, 1), 2},
		{"max match", 1, func() int { return 0 }, func() int { return maxMatchLen - 30 }, func() int { return 1 }, 0},
	}
	for _, sh := range shapes {
		var blocks [][]byte
		var seqs [][]Sequence
		var content []byte
		reps := [3]uint32{1, 4, 8}
		for len(blocks) < 4 {
			b, s := synthBlock(rng, content, sh.n, sh.lit, sh.ml, sh.dist, sh.repeatEvery, &reps)
			if len(b) > maxBlockSize {
				continue // a too-long draw; try again
			}
			blocks, seqs = append(blocks, b), append(seqs, s)
			content = append(content, b...)
		}
		frame, content, _ := encodeSynth(&w, blocks, seqs)
		requireBothDecode(t, frame, content, sh.name)
	}
}

// TestRawFallbackReportsNotCompressed: a block of random bytes, even with
// sequences, is written raw, appendBlock says so, and a caller that restores
// its repeat offsets then writes later blocks that decode.
func TestRawFallbackReportsNotCompressed(t *testing.T) {
	rng := rand.New(rand.NewSource(4))
	text := textData(rng, 50000)
	noise := randomData(rng, 50000)
	// A 4-byte match inside the noise at a new distance: a sequence the
	// decoder would have applied (moving its repeat offsets) had the block
	// been compressed, though it saves less than the section headers cost.
	copy(noise[1000:1004], noise[100:104])
	data := append(append(append([]byte(nil), text...), noise...), text[:30000]...)
	var w blockWriter
	w.reset()
	frame := appendFrameHeader(nil, len(data))
	g := newGreedyParser(4)
	bounds := []int{0, 50000, 100000, len(data)}
	var flags []bool
	for i := 0; i+1 < len(bounds); i++ {
		saved := g.reps
		seqs := g.parseBlock(data, bounds[i], bounds[i+1])
		require.NotEmpty(t, seqs, "block %d", i)
		var c bool
		frame, c = w.appendBlock(frame, data[bounds[i]:bounds[i+1]], seqs, i+2 == len(bounds))
		if !c {
			g.reps = saved
		}
		flags = append(flags, c)
	}
	require.Equal(t, []bool{true, false, true}, flags)
	require.Equal(t, blockRaw, walkFrame(t, frame)[1].blockType)
	requireBothDecode(t, frame, data, "raw fallback")
}

// TestBackendDeterministic: the same input gives the same bytes, whether
// the blockWriter is fresh or reused after other frames.
func TestBackendDeterministic(t *testing.T) {
	inputs := backendInputs()
	var fresh blockWriter
	want := greedyFrame(t, &fresh, inputs[6].data, maxBlockSize, 4)
	var reused blockWriter
	for _, in := range inputs {
		greedyFrame(t, &reused, in.data, in.blockSize, in.minMatch)
	}
	require.Equal(t, want, greedyFrame(t, &reused, inputs[6].data, maxBlockSize, 4))
}

// blockInfo is what walkFrame reads of one block's headers.
type blockInfo struct {
	blockType  int
	litType    int
	litFormat  int
	nbSeq      int
	nbSeqBytes int
	modes      [numKinds]int
}

// walkFrame reads the headers of a frame written by appendFrameHeader and
// appendBlock straight from RFC 8878 (sections 3.1.1.1, 3.1.1.2,
// 3.1.1.3.1.1 and 3.1.1.3.2.1), independently of the writer, so tests can
// see which formats and modes were chosen.
func walkFrame(t *testing.T, f []byte) []blockInfo {
	t.Helper()
	require.GreaterOrEqual(t, len(f), 6)
	require.Equal(t, []byte{0x28, 0xB5, 0x2F, 0xFD}, f[:4])
	fhd := f[4]
	require.Equal(t, byte(0x20), fhd&0x3F, "single segment, no checksum, no dictionary")
	p := 5 + []int{1, 2, 4, 8}[fhd>>6]
	var out []blockInfo
	for last := false; !last; {
		require.LessOrEqual(t, p+3, len(f))
		h := int(f[p]) | int(f[p+1])<<8 | int(f[p+2])<<16
		p += 3
		last = h&1 == 1
		bi := blockInfo{blockType: h >> 1 & 3}
		size := h >> 3
		switch bi.blockType {
		case blockRLE:
			p++
		case blockRaw:
			p += size
		case blockCompressed:
			c := f[p : p+size]
			p += size
			bi.litType, bi.litFormat = int(c[0]&3), int(c[0]>>2&3)
			q := 0
			if bi.litType == litRaw || bi.litType == litRLE {
				var n int
				switch bi.litFormat {
				case 0, 2:
					n, q = int(c[0]>>3), 1
				case 1:
					n, q = int(c[0]>>4)|int(c[1])<<4, 2
				default:
					n, q = int(c[0]>>4)|int(c[1])<<4|int(c[2])<<12, 3
				}
				if bi.litType == litRLE {
					n = 1
				}
				q += n
			} else {
				v := uint64(0)
				for i := 0; i < 5; i++ {
					v |= uint64(c[i]) << (8 * i)
				}
				switch bi.litFormat {
				case 0, 1:
					q = 3 + int(v>>14&0x3FF)
				case 2:
					q = 4 + int(v>>18&0x3FFF)
				default:
					q = 5 + int(v>>22&0x3FFFF)
				}
			}
			switch b0 := int(c[q]); {
			case b0 < 128:
				bi.nbSeq, bi.nbSeqBytes = b0, 1
			case b0 < 255:
				bi.nbSeq, bi.nbSeqBytes = (b0-128)<<8+int(c[q+1]), 2
			default:
				bi.nbSeq, bi.nbSeqBytes = int(c[q+1])+int(c[q+2])<<8+0x7F00, 3
			}
			q += bi.nbSeqBytes
			if bi.nbSeq > 0 {
				m := c[q]
				bi.modes = [numKinds]int{int(m >> 6), int(m >> 4 & 3), int(m >> 2 & 3)}
			}
		default:
			t.Fatalf("reserved block type at %d", p-3)
		}
		out = append(out, bi)
	}
	require.Equal(t, len(f), p, "frame ends after the last block")
	return out
}

// TestBackendUsesEveryFormat encodes the round-trip inputs and the synthetic
// shapes and checks, by reading the headers back, that every block type,
// literals type and size format, Number_of_Sequences width and symbol
// compression mode was chosen somewhere: the round-trip tests then cover
// each writer path against both decoders.
func TestBackendUsesEveryFormat(t *testing.T) {
	var w blockWriter
	seen := map[string]bool{}
	var frames, contents []byte
	add := func(frame, content []byte) {
		for _, b := range walkFrame(t, frame) {
			seen[fmt.Sprintf("block %d", b.blockType)] = true
			if b.blockType != blockCompressed {
				continue
			}
			f := b.litFormat
			if (b.litType == litRaw || b.litType == litRLE) && f == 2 {
				f = 0 // Size_Format 10 is 00: a 5-bit size (section 3.1.1.3.1.1)
			}
			seen[fmt.Sprintf("literals %d format %d", b.litType, f)] = true
			seen[fmt.Sprintf("nbSeq bytes %d", b.nbSeqBytes)] = true
			if b.nbSeq > 0 {
				for k, m := range b.modes {
					seen[fmt.Sprintf("kind %d mode %d", k, m)] = true
				}
			}
		}
		frames, contents = append(frames, frame...), append(contents, content...)
	}
	for _, in := range backendInputs() {
		add(greedyFrame(t, &w, in.data, in.blockSize, in.minMatch), in.data)
	}
	rng := rand.New(rand.NewSource(5))
	// Runs of one repeated short string between text: literals that are a
	// single byte value (RLE literals) next to matches.
	var runs []byte
	for len(runs) < 60000 {
		runs = append(runs, textData(rng, 200)...)
		runs = append(runs, bytes.Repeat([]byte{byte(rng.Intn(256))}, 20)...)
	}
	add(greedyFrame(t, &w, runs, 4096, 4), runs)
	// Many blocks with one distribution: later blocks repeat the tables.
	reps := [3]uint32{1, 4, 8}
	var blocks [][]byte
	var seqs [][]Sequence
	var content []byte
	geo := func(scale float64, lo int) func() int {
		return func() int { return lo + int(rng.ExpFloat64()*scale) }
	}
	for i := 0; i < 6; i++ {
		b, s := synthBlock(rng, content, 400, geo(3, 0), geo(5, 3), geo(300, 1), 4, &reps)
		blocks, seqs, content = append(blocks, b), append(seqs, s), append(content, b...)
	}
	frame, content, _ := encodeSynth(&w, blocks, seqs)
	add(frame, content)
	// Blocks whose literals are all one byte value (RLE literals, short
	// and long), matching the text of the block before.
	for _, n := range []int{5, 300} {
		prefix := textData(rng, 20000)
		b, s := synthBlockLits(rng, prefix, n, geo(1, 1), geo(5, 4), geo(10000, 1), 0, &reps, func() byte { return 'x' })
		frame, content, _ := encodeSynth(&w, [][]byte{prefix, b}, [][]Sequence{nil, s})
		add(frame, content)
	}
	// A few sequences: too few to pay for a table description.
	for n := 2; n < 12; n++ {
		prefix := textData(rng, 300)
		b, s := synthBlock(rng, prefix, n, geo(5, 0), geo(3, 3), geo(200, 1), 0, &reps)
		frame, content, _ := encodeSynth(&w, [][]byte{prefix, b}, [][]Sequence{nil, s})
		add(frame, content)
	}
	// Blocks of the same literals and no sequences: the previous Huffman
	// table fits as well as a new one, so Treeless literals of every size.
	for _, size := range []int{500, 10000, maxBlockSize} {
		lits := skewedData(rng, size)
		frame, content, _ := encodeSynth(&w, [][]byte{lits, lits, lits}, make([][]Sequence, 3))
		add(frame, content)
	}
	// Literals only at each raw size format boundary.
	for _, n := range []int{31, 32, 4095, 4096} {
		b := randomData(rng, n+100)
		copy(b[n:], b[:100])
		add(greedyFrame(t, &w, b, maxBlockSize, 4), b)
	}
	var missing []string
	for _, want := range []string{
		"block 0", "block 1", "block 2",
		"literals 0 format 0", "literals 0 format 1", "literals 0 format 3",
		"literals 1 format 0", "literals 1 format 1",
		// Four streams with Size_Format 01 would mean at most 1023
		// literals, where the writer always takes the single stream.
		"literals 2 format 0", "literals 2 format 2", "literals 2 format 3",
		"literals 3 format 0", "literals 3 format 2", "literals 3 format 3",
		"nbSeq bytes 1", "nbSeq bytes 2",
		"kind 0 mode 0", "kind 0 mode 1", "kind 0 mode 2", "kind 0 mode 3",
		"kind 1 mode 0", "kind 1 mode 1", "kind 1 mode 2", "kind 1 mode 3",
		"kind 2 mode 0", "kind 2 mode 1", "kind 2 mode 2", "kind 2 mode 3",
	} {
		if !seen[want] {
			missing = append(missing, want)
		}
	}
	require.Empty(t, missing, "formats never chosen (seen: %v)", seen)
	got, err := decodeKlauspost(t, frames)
	require.NoError(t, err)
	require.True(t, bytes.Equal(contents, got))
	got, err = decodeCLI(t, frames)
	require.NoError(t, err)
	require.True(t, bytes.Equal(contents, got))
}

// readFSEDescription decodes an FSE_Table_Description straight from RFC
// 8878 section 4.1.1, independently of appendFSETableDescription, and
// returns the counts, the accuracy log and the bytes used.
func readFSEDescription(t *testing.T, b []byte) ([]int16, uint8, int) {
	t.Helper()
	pos := 0 // in bits
	// read peeks at n bits from pos; bits past the end read as zero, as the
	// caller may look at one bit more than the value it then consumes.
	read := func(n int) int {
		v := 0
		for i := 0; i < n; i++ {
			if (pos+i)/8 < len(b) {
				v |= int(b[(pos+i)/8]>>((pos+i)%8)&1) << i
			}
		}
		return v
	}
	log := uint8(read(4) + minFSELog)
	pos = 4
	remaining := 1<<log + 1
	var norm []int16
	for remaining > 1 {
		// count+1 is one of remaining+1 values 0..remaining: nb bits
		// hold them, and the 2^nb-(remaining+1) smallest take nb-1 bits.
		nb := 0
		for 1<<nb < remaining+1 {
			nb++
		}
		lowCount := 1<<nb - (remaining + 1)
		v := read(nb - 1)
		if v < lowCount {
			pos += nb - 1
		} else {
			v = read(nb)
			if v >= 1<<(nb-1) {
				v -= lowCount
			}
			pos += nb
		}
		c := int16(v - 1)
		norm = append(norm, c)
		if c < 0 {
			remaining--
		} else {
			remaining -= int(c)
		}
		if c == 0 {
			for {
				r := read(2)
				pos += 2
				for i := 0; i < r; i++ {
					norm = append(norm, 0)
				}
				if r < 3 {
					break
				}
			}
		}
	}
	require.Equal(t, 1, remaining)
	require.LessOrEqual(t, pos, 8*len(b), "description ends early")
	return norm, log, (pos + 7) / 8
}

// TestNormalizeCounts checks the properties section 4.1.1 needs of a
// distribution (counts sum to 1<<log, every present symbol has one, absent
// ones none), that no single move of a point lowers the coded size, and
// that the table description reads back to the same counts.
func TestNormalizeCounts(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	for iter := 0; iter < 300; iter++ {
		nsym := 1 + rng.Intn(maxFSESymbol+1)
		hist := make([]uint32, nsym)
		total := uint32(0)
		for s := range hist {
			switch rng.Intn(4) {
			case 0:
			case 1:
				hist[s] = 1
			default:
				hist[s] = uint32(rng.ExpFloat64() * float64(1+rng.Intn(5000)))
			}
			total += hist[s]
		}
		hist[nsym-1]++
		total++
		present := 0
		for _, h := range hist {
			if h != 0 {
				present++
			}
		}
		for log := uint8(minFSELog); log <= maxFSELog; log++ {
			norm := make([]int16, nsym)
			ok := normalizeCounts(norm, hist, total, log)
			if present > 1<<log {
				require.False(t, ok)
				continue
			}
			require.True(t, ok)
			sum := 0
			for s, c := range norm {
				if hist[s] == 0 {
					require.Zero(t, c)
				} else {
					require.GreaterOrEqual(t, c, int16(1))
				}
				sum += int(c)
			}
			require.Equal(t, 1<<log, sum)
			cost := func(n []int16) float64 {
				c := 0.0
				for s, h := range hist {
					if h != 0 {
						c += float64(h) * math.Log2(float64(int(1)<<log)/float64(n[s]))
					}
				}
				return c
			}
			base := cost(norm)
			for a := range norm {
				for b := range norm {
					if a == b || hist[a] == 0 || norm[b] <= 1 {
						continue
					}
					norm[a]++
					norm[b]--
					// The writer compares gains in 1/2^16 bits, each log2 truncated:
					// allow that rounding.
					slack := float64(hist[a]+hist[b]) / (1 << costShift)
					require.GreaterOrEqual(t, cost(norm), base-slack, "moving a point from %d to %d helps", b, a)
					norm[a]--
					norm[b]++
				}
			}
			desc := appendFSETableDescription([]byte{0xAA}, norm, log)
			got, gotLog, n := readFSEDescription(t, desc[1:])
			require.Equal(t, log, gotLog)
			require.Equal(t, len(desc)-1, n)
			last := len(norm) - 1
			for norm[last] == 0 {
				last--
			}
			require.Equal(t, norm[:last+1], got)
		}
	}
}

// specDecodeTable builds the FSE decoding table of section 4.1.1 for norm:
// each cell's symbol, the bits the decoder reads there and the baseline it
// adds them to.
func specDecodeTable(norm []int16, log uint8) (sym []int, nbBits []uint, baseline []uint32) {
	size := 1 << log
	sym = make([]int, size)
	high := size - 1
	for s, c := range norm {
		if c == -1 {
			sym[high] = s
			high--
		}
	}
	pos, step := 0, size>>1+size>>3+3
	for s, c := range norm {
		for range max(int(c), 0) {
			sym[pos] = s
			pos = (pos + step) % size
			for pos > high {
				pos = (pos + step) % size
			}
		}
	}
	seen := make([]int, len(norm))
	nbBits, baseline = make([]uint, size), make([]uint32, size)
	for cell, s := range sym {
		n := max(int(norm[s]), 1) + seen[s]
		seen[s]++
		nbBits[cell] = uint(log) - uint(math.Floor(math.Log2(float64(n))))
		baseline[cell] = uint32(n<<nbBits[cell] - size)
	}
	return sym, nbBits, baseline
}

// TestFSETransform checks the encoder's per-symbol transform against the
// decoding table: from every state x the decoder must reach next, for every
// symbol s, the step must go to a cell of s whose bit count is what the
// encoder writes and whose baseline plus those low bits of x is x again.
func TestFSETransform(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	check := func(tab *fseTable, norm []int16, log uint8) {
		sym, nbBits, baseline := specDecodeTable(norm, log)
		size := uint32(1) << log
		for s, c := range norm {
			if c == 0 {
				continue
			}
			first := tab.firstState(uint8(s)) - size
			require.Equal(t, s, sym[first], "first state of %d", s)
			tt := tab.symTT[s]
			for x := uint32(0); x < size; x++ {
				state := x + size
				k := uint(state+tt.deltaNbBits) >> 16
				cell := uint32(tab.stateTable[int32(state>>k)+tt.deltaFindState]) - size
				require.Equal(t, s, sym[cell], "symbol %d state %d", s, x)
				require.Equal(t, nbBits[cell], k, "symbol %d state %d", s, x)
				require.Equal(t, x, baseline[cell]+x&(1<<k-1), "symbol %d state %d", s, x)
			}
		}
	}
	for k := range predefinedTables {
		tab := &predefinedTables[k]
		check(tab, tab.norm[:tab.nsym], tab.log)
	}
	var rle fseTable
	rle.buildRLE(7)
	check(&rle, rle.norm[:rle.nsym], 0)
	for iter := 0; iter < 200; iter++ {
		nsym := 2 + rng.Intn(maxFSESymbol)
		hist := make([]uint32, nsym)
		total := uint32(0)
		for s := range hist {
			if rng.Intn(3) != 0 {
				hist[s] = 1 + uint32(rng.ExpFloat64()*float64(1+rng.Intn(3000)))
			}
			total += hist[s]
		}
		hist[0]++
		total++
		log := uint8(minFSELog + rng.Intn(maxFSELog-minFSELog+1))
		norm := make([]int16, nsym)
		if !normalizeCounts(norm, hist, total, log) {
			continue
		}
		if rng.Intn(2) == 0 {
			// Turn some counts of 1 into the "less than 1" probability.
			for s := range norm {
				if norm[s] == 1 && rng.Intn(2) == 0 {
					norm[s] = -1
				}
			}
		}
		var tab fseTable
		tab.build(norm, log)
		check(&tab, norm, log)
	}
}

// TestSequenceBitstreamReference writes random sequences (lengths and
// offsets up to their largest extra-bit widths) with random tables and
// compares appendSequenceBitstream with a bit-at-a-time writer that follows
// section 3.1.1.3.2.2's order and finds each FSE step by searching the
// decoding table of section 4.1.1 (specDecodeTable).
func TestSequenceBitstreamReference(t *testing.T) {
	rng := rand.New(rand.NewSource(12))
	var w blockWriter
	w.reset()
	for iter := 0; iter < 300; iter++ {
		n := 1 + rng.Intn(300)
		seqs := make([]Sequence, n)
		total := 0
		for i := range seqs {
			ll, ml := uint32(rng.Intn(20)), uint32(minMatch+rng.Intn(40))
			if rng.Intn(8) == 0 {
				ll = uint32(rng.Intn(maxLitLen + 1))
			}
			if rng.Intn(8) == 0 {
				ml = minMatch + uint32(rng.Intn(maxMatchLen-minMatch+1))
			}
			seqs[i] = Sequence{LitLen: ll, MatchLen: ml, OffValue: 1 + uint32(rng.Int63n(1<<(1+rng.Intn(31))))}
			if iter%5 == 0 && i > 0 {
				seqs[i] = seqs[0] // one code per kind
			}
			total += int(seqs[i].LitLen + seqs[i].MatchLen)
		}
		src := make([]byte, total+rng.Intn(10))
		w.lits = w.gatherLiterals(w.lits[:0], src, seqs)

		// Random tables covering the codes, one per kind.
		codeOf := [numKinds]func(s Sequence) uint8{
			func(s Sequence) uint8 { return llCode(s.LitLen) },
			func(s Sequence) uint8 { return ofCode(s.OffValue) },
			func(s Sequence) uint8 { return mlCode(s.MatchLen) },
		}
		var tabs [numKinds]fseTable
		var norms [numKinds][]int16
		for k := range tabs {
			hist := make([]uint32, kindMaxSymbol[k]+1)
			for _, s := range seqs {
				hist[codeOf[k](s)]++
			}
			for len(hist) > 1 && hist[len(hist)-1] == 0 {
				hist = hist[:len(hist)-1]
			}
			norm := make([]int16, len(hist))
			log := kindMaxLog[k] - uint8(rng.Intn(int(kindMaxLog[k]-minFSELog+1)))
			for !normalizeCounts(norm, hist, uint32(n), log) {
				log++ // more codes than cells
			}
			tabs[k].build(norm, log)
			if hist[len(hist)-1] == uint32(n) && rng.Intn(2) == 0 {
				// One code: the RLE_Mode table, Accuracy_Log 0.
				tabs[k].buildRLE(uint8(len(hist) - 1))
				norm = make([]int16, len(hist))
				norm[len(hist)-1] = 1
			}
			norms[k] = norm
			w.seq.use[k] = &tabs[k]
		}
		got := w.appendSequenceBitstream([]byte{0xEE}, w.seq.codes)
		require.Equal(t, byte(0xEE), got[0])

		// The reference.
		var want []byte
		nbits := 0
		put := func(v uint64, nb int) {
			for i := 0; i < nb; i++ {
				if nbits%8 == 0 {
					want = append(want, 0)
				}
				want[nbits/8] |= byte(v>>i&1) << (nbits % 8)
				nbits++
			}
		}
		extra := func(s Sequence) {
			c := llCode(s.LitLen)
			put(uint64(s.LitLen-llBaseline[c]), int(llExtraBits[c]))
			c = mlCode(s.MatchLen)
			put(uint64(s.MatchLen-mlBaseline[c]), int(mlExtraBits[c]))
			c = ofCode(s.OffValue)
			put(uint64(s.OffValue-1<<c), int(c))
		}
		var state [numKinds]uint32
		var sym [numKinds][]int
		var nbBits [numKinds][]uint
		var base [numKinds][]uint32
		for k := range tabs {
			sym[k], nbBits[k], base[k] = specDecodeTable(norms[k], tabs[k].log)
			state[k] = uint32(slices.Index(sym[k], int(codeOf[k](seqs[n-1]))))
		}
		extra(seqs[n-1])
		for i := n - 2; i >= 0; i-- {
			for _, k := range []int{kindOF, kindML, kindLL} {
				s := int(codeOf[k](seqs[i]))
				x := state[k]
				found := false
				for cell := range sym[k] {
					if sym[k][cell] == s && base[k][cell] <= x && x < base[k][cell]+1<<nbBits[k][cell] {
						put(uint64(x-base[k][cell]), int(nbBits[k][cell]))
						state[k] = uint32(cell)
						found = true
						break
					}
				}
				require.True(t, found, "no cell of %d reaches state %d", s, x)
			}
			extra(seqs[i])
		}
		for _, k := range []int{kindML, kindOF, kindLL} {
			put(uint64(state[k]), int(tabs[k].log))
		}
		put(1, 1)
		require.Equal(t, want, got[1:], "iteration %d, %d sequences", iter, n)
	}
}

// FuzzBackendRoundTrip: any input, greedily parsed and written as one frame,
// decodes to itself.
func FuzzBackendRoundTrip(f *testing.F) {
	rng := rand.New(rand.NewSource(7))
	f.Add([]byte{}, uint16(0))
	f.Add([]byte("abcabcabcabcabcabcabc"), uint16(5))
	f.Add(textData(rng, 5000), uint16(1000))
	f.Add(binaryData(rng, 20000), uint16(3000))
	f.Add(skewedData(rng, 3000), uint16(0))
	var w blockWriter
	f.Fuzz(func(t *testing.T, data []byte, bs uint16) {
		blockSize := int(bs)%maxBlockSize + 1
		if bs == 0 {
			blockSize = maxBlockSize
		}
		frame := greedyFrame(t, &w, data, blockSize, 3+int(bs%2))
		got, err := decodeKlauspost(t, frame)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, got))
	})
}

// treeSample returns up to n 1 MiB chunks of the concatenated regular files
// under ZSTD_TREE (default /var/tmp/pareto/tree, the project's benchmark
// tree), spread evenly over it, as squashfs's 1 MiB blocks would be.
func treeSample(tb testing.TB, n int) [][]byte {
	dir := os.Getenv("ZSTD_TREE")
	if dir == "" {
		dir = "/var/tmp/pareto/tree"
	}
	var all []byte
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		all = append(all, b...)
		return err
	})
	if err != nil {
		tb.Skipf("no benchmark tree: %v", err)
	}
	chunks := len(all) >> 20
	var out [][]byte
	for i := 0; i < n && i < chunks; i++ {
		c := i * chunks / n
		out = append(out, all[c<<20:(c+1)<<20])
	}
	return out
}

// BenchmarkBackendTree reports the size of 1 MiB frames of the benchmark
// tree written by the package's Encoder (its parser, this back end) next to
// klauspost's best level on the same chunks, in bytes per MiB; every frame
// is checked with klauspost's decoder.
func BenchmarkBackendTree(b *testing.B) {
	chunks := treeSample(b, 16)
	e, err := NewEncoder(DefaultOptions)
	require.NoError(b, err)
	k, err := kzstd.NewWriter(nil, kzstd.WithEncoderLevel(kzstd.SpeedBestCompression),
		kzstd.WithEncoderCRC(false), kzstd.WithSingleSegment(true), kzstd.WithEncoderConcurrency(1),
		kzstd.WithWindowSize(1<<20))
	require.NoError(b, err)
	b.ResetTimer()
	var ours, theirs int
	for i := 0; i < b.N; i++ {
		ours, theirs = 0, 0
		for _, c := range chunks {
			f := e.EncodeAll(nil, c)
			got, err := decodeKlauspost(b, f)
			require.NoError(b, err)
			require.True(b, bytes.Equal(c, got))
			ours += len(f)
			theirs += len(k.EncodeAll(c, nil))
		}
	}
	b.ReportMetric(float64(ours)/float64(len(chunks)), "ours-B/MiB")
	b.ReportMetric(float64(theirs)/float64(len(chunks)), "klauspost-B/MiB")
}

// TestSizeBlockIsExactAndPure: sizeBlock predicts appendBlock's length in
// every state, and asking it (also about other blocks) does not change the
// frame that follows.
func TestSizeBlockIsExactAndPure(t *testing.T) {
	rng := rand.New(rand.NewSource(8))
	data := append(append(textData(rng, 150000), skewedData(rng, 40000)...), binaryData(rng, 150000)...)
	data = append(append(data, randomData(rng, 20000)...), make([]byte, 5000)...)
	var plain, probed blockWriter
	want := greedyFrame(t, &plain, data, 32<<10, 4)

	probed.reset()
	frame := appendFrameHeader(nil, len(data))
	g := newGreedyParser(4)
	for start := 0; start < len(data); start += 32 << 10 {
		end := min(start+32<<10, len(data))
		saved := g.reps
		seqs := g.parseBlock(data, start, end)
		// Probe other cuts first: the whole rest, and a half block.
		probed.sizeBlock(data[start:min(len(data), start+maxBlockSize)], nil)
		half := 0
		for half < len(seqs)/2 {
			half++
		}
		n := 0
		for _, s := range seqs[:half] {
			n += int(s.LitLen + s.MatchLen)
		}
		probed.sizeBlock(data[start:start+n], seqs[:half])
		size := probed.sizeBlock(data[start:end], seqs)
		before := len(frame)
		var c bool
		frame, c = probed.appendBlock(frame, data[start:end], seqs, end == len(data))
		require.Equal(t, size, len(frame)-before, "block at %d", start)
		if !c {
			g.reps = saved
		}
	}
	require.Equal(t, want, frame)
	requireBothDecode(t, frame, data, "probed")
}

// BenchmarkAppendBlock measures the entropy stage alone: 1 MiB of mixed
// text and binary, parsed once by the greedy parser, written as frames.
func BenchmarkAppendBlock(b *testing.B) {
	rng := rand.New(rand.NewSource(9))
	data := append(textData(rng, 1<<19), binaryData(rng, 1<<19)...)
	g := newGreedyParser(4)
	var blocks [][]Sequence
	for start := 0; start < len(data); start += maxBlockSize {
		blocks = append(blocks, g.parseBlock(data, start, min(start+maxBlockSize, len(data))))
	}
	var w blockWriter
	var out []byte
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		out = appendFrameHeader(out[:0], len(data))
		for j, seqs := range blocks {
			start := j * maxBlockSize
			out, _ = w.appendBlock(out, data[start:min(start+maxBlockSize, len(data))], seqs, j == len(blocks)-1)
		}
	}
}

// TestRandomShapes writes frames of randomly shaped blocks (sequence count,
// length and distance scales, repeat-code rate, literal alphabet size) and
// checks both decoders on all of them: a broad sweep over table choices.
func TestRandomShapes(t *testing.T) {
	rng := rand.New(rand.NewSource(10))
	var w blockWriter
	var frames, contents []byte
	used := 0
	for iter := 0; iter < 150; iter++ {
		scale := func(lo, hi float64) func() int {
			s := lo * math.Pow(hi/lo, rng.Float64())
			base := rng.Intn(4)
			return func() int { return base + int(rng.ExpFloat64()*s) }
		}
		lit, dist := scale(0.2, 300), scale(1, 50000)
		mlBase := scale(0.5, 500)
		ml := func() int { return 3 + mlBase() }
		alphabet := 1 + rng.Intn(256)
		litByte := func() byte { return byte(rng.Intn(alphabet)) }
		reps := [3]uint32{1, 4, 8}
		var blocks [][]byte
		var seqs [][]Sequence
		var content []byte
		for nb := 1 + rng.Intn(4); len(blocks) < nb; {
			n := 1 + rng.Intn(3000)
			for {
				saved := reps
				b, s := synthBlockLits(rng, content, n, lit, ml, dist, rng.Intn(5), &reps, litByte)
				if len(b) <= maxBlockSize {
					blocks, seqs, content = append(blocks, b), append(seqs, s), append(content, b...)
					break
				}
				reps, n = saved, max(1, n/2)
			}
		}
		frame, content, compressed := encodeSynth(&w, blocks, seqs)
		if slices.Contains(compressed, false) {
			// The synthetic sequences assume each block applied them;
			// after a raw block they no longer match the decoder's
			// repeat offsets, so such a frame is not a valid test.
			continue
		}
		got, err := decodeKlauspost(t, frame)
		require.NoError(t, err, "iteration %d", iter)
		require.True(t, bytes.Equal(content, got), "iteration %d", iter)
		frames, contents = append(frames, frame...), append(contents, content...)
		used++
	}
	require.Greater(t, used, 100, "most frames must be usable")
	got, err := decodeCLI(t, frames)
	require.NoError(t, err)
	require.True(t, bytes.Equal(contents, got))
}

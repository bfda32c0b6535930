package zstd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os/exec"
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

package deflate

import (
	"bytes"
	"compress/zlib"
	"io"
	"math/rand"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inflate decodes a zlib stream with Go's standard library, an independent
// decoder.
func inflate(t testing.TB, z []byte) []byte {
	t.Helper()
	r, err := zlib.NewReader(bytes.NewReader(z))
	require.NoError(t, err)
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	return out
}

// testInputs returns named inputs of the kinds squashfs blocks hold.
func testInputs() map[string][]byte {
	rng := rand.New(rand.NewSource(1))
	random := make([]byte, 100000)
	rng.Read(random)
	var text []byte
	words := []string{"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ", "\n", "func ", "return ", "err "}
	for len(text) < 200000 {
		text = append(text, words[rng.Intn(len(words))]...)
	}
	binary := make([]byte, 150000)
	for i := range binary {
		switch {
		case i%4096 < 1000:
			binary[i] = 0
		case i%7 == 0:
			binary[i] = byte(rng.Intn(256))
		default:
			binary[i] = byte(i * 13 / 7)
		}
	}
	skewed := make([]byte, 300000)
	for i := range skewed {
		// Exponentially distributed bytes give a deep Huffman tree.
		v := int(rng.ExpFloat64() * 3)
		skewed[i] = byte(min(v, 255))
	}
	in := map[string][]byte{
		"empty":         {},
		"one":           {'x'},
		"two":           {'x', 'y'},
		"zeros":         make([]byte, 1<<20),
		"random":        random,
		"text":          text,
		"binary":        binary,
		"skewed":        skewed,
		"mixed":         append(append(append([]byte{}, text[:50000]...), random[:40000]...), text[50000:90000]...),
		"text32k-1":     text[:32767],
		"text32k":       text[:32768],
		"text32k+1":     text[:32769],
		"text64k-1":     text[:65535],
		"text64k":       text[:65536],
		"text64k+1":     text[:65537],
		"random64k+1":   random[:65537],
		"random65535x2": append(append([]byte{}, random...), random[:31070]...),
	}
	return in
}

func TestRoundTripAllLevels(t *testing.T) {
	for name, src := range testInputs() {
		for level := 1; level <= 9; level++ {
			e, err := NewEncoder(level)
			require.NoError(t, err)
			z := e.AppendZlib(nil, src)
			require.Equal(t, src, inflate(t, z), "%s level %d", name, level)
			// The encoder is reused across blocks: a second call must
			// give the same bytes (no state leaks from the first).
			z2 := e.AppendZlib([]byte("prefix"), src)
			require.Equal(t, "prefix", string(z2[:6]))
			require.Equal(t, z, z2[6:], "%s level %d: output depends on earlier calls", name, level)
		}
	}
}

func TestNewEncoderRejectsLevel(t *testing.T) {
	for _, l := range []int{-1, 0, 10} {
		_, err := NewEncoder(l)
		assert.Error(t, err, "level %d", l)
	}
}

// corpus reads DEFLATE_CORPUS (a file of real squashfs-like data) for the
// size/speed report; the benchmark skips without it.
func corpus(b testing.TB) []byte {
	path := os.Getenv("DEFLATE_CORPUS")
	if path == "" {
		b.Skip("DEFLATE_CORPUS not set")
	}
	data, err := os.ReadFile(path)
	require.NoError(b, err)
	return data
}

// compressBlocks compresses data in 1 MiB blocks as squashfs does and
// returns the total size, counting a block that does not shrink as stored.
func compressBlocks(e *Encoder, data []byte) int {
	total := 0
	var buf []byte
	for i := 0; i < len(data); i += 1 << 20 {
		blk := data[i:min(i+1<<20, len(data))]
		buf = e.AppendZlib(buf[:0], blk)
		total += min(len(buf), len(blk))
	}
	return total
}

// BenchmarkCorpusReport prints, per level, the compressed size of the
// corpus in 1 MiB blocks and the CPU time, to compare with zlib's
// compress2 (a benchmark so that plain `go test` never reaches it).
func BenchmarkCorpusReport(b *testing.B) {
	t := b
	data := corpus(t)
	for level := 1; level <= 9; level++ {
		e, err := NewEncoder(level)
		require.NoError(t, err)
		start := cpuTime()
		total := compressBlocks(e, data)
		el := cpuTime() - start
		t.Logf("level %d: %d bytes %.2f s %.1f MB/s", level, total, el, float64(len(data))/el/1e6)
	}
}

func BenchmarkCorpus(b *testing.B) {
	data := corpus(b)
	for _, level := range []int{1, 5, 9} {
		b.Run(string(rune('0'+level)), func(b *testing.B) {
			e, err := NewEncoder(level)
			require.NoError(b, err)
			var buf []byte
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				for i := 0; i < len(data); i += 1 << 20 {
					buf = e.AppendZlib(buf[:0], data[i:min(i+1<<20, len(data))])
				}
			}
		})
	}
}

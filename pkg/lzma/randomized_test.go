package lzma

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// structuredBytes builds input that exercises every coding path: copies
// from recent and far offsets (normal matches and reps, including a copy at
// the same distance right after one differing byte: rep0 after a literal),
// runs, and random bytes that end up as literals or stored chunks.
func structuredBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n)
	var lastDist int
	for len(b) < n {
		switch k := rng.Intn(6); {
		case k == 0 || len(b) < 16:
			for i := rng.Intn(40) + 1; i > 0; i-- {
				b = append(b, byte(rng.Intn(256)))
			}
		case k == 1:
			c := byte(rng.Intn(4))
			for i := rng.Intn(300) + 1; i > 0; i-- {
				b = append(b, c)
			}
		case k == 2 && lastDist > 0 && lastDist <= len(b):
			// Same distance again, after a changed byte.
			b = append(b, byte(rng.Intn(256)))
			fallthrough
		default:
			d := lastDist
			if k != 2 || d == 0 || d > len(b) {
				if rng.Intn(2) == 0 {
					d = rng.Intn(min(len(b), 64)) + 1
				} else {
					d = rng.Intn(len(b)) + 1
				}
			}
			l := rng.Intn(20) + 2
			if rng.Intn(8) == 0 {
				l += rng.Intn(400)
			}
			for i := 0; i < l; i++ {
				b = append(b, b[len(b)-d])
			}
			lastDist = d
		}
	}
	return b[:n]
}

// TestRandomizedLiblzma decodes structured random inputs under random
// options with liblzma, the decoder the kernel's and xz's are modelled on.
func TestRandomizedLiblzma(t *testing.T) {
	if testing.Short() {
		t.Skip("runs xz many times")
	}
	rng := rand.New(rand.NewSource(42))
	for i := 0; i < 40; i++ {
		opts := Options{DictSize: 4096 << rng.Intn(9)}
		switch rng.Intn(4) {
		case 1:
			opts.LC, opts.LP, opts.PB = 0, 2, 0
		case 2:
			opts.LC, opts.LP, opts.PB = 4, 0, 4
		case 3:
			opts.LC, opts.LP, opts.PB = 1, 3, 3
		}
		opts.NiceLen = []int{0, 8, 33, 273}[rng.Intn(4)]
		n := rng.Intn(300 << 10)
		data := structuredBytes(rng, n)
		t.Run(fmt.Sprintf("%d_%dB_%+v", i, n, opts), func(t *testing.T) {
			e, err := NewEncoder(opts)
			require.NoError(t, err)
			stream, err := e.EncodeLZMA2(nil, data)
			require.NoError(t, err)
			got := decodeXZ(t, stream, opts.DictSize)
			require.True(t, bytes.Equal(data, got), "liblzma decodes %d bytes, want %d", len(got), len(data))
		})
	}
}

func FuzzStructured(f *testing.F) {
	f.Add(int64(1), uint16(1000))
	f.Add(int64(2), uint16(60000))
	f.Fuzz(func(t *testing.T, seed int64, n uint16) {
		rng := rand.New(rand.NewSource(seed))
		data := structuredBytes(rng, int(n))
		e, err := NewEncoder(Options{DictSize: 64 << 10, NiceLen: []int{0, 8, 273}[rng.Intn(3)]})
		require.NoError(t, err)
		stream, err := e.EncodeLZMA2(nil, data)
		require.NoError(t, err)
		require.True(t, bytes.Equal(data, decodeGo(t, stream, 64<<10)))
	})
}

package lzma

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzRoundTrip encodes fuzzed input with fuzzed options and decodes it with
// github.com/ulikunitz/xz. The seeds cover the literal-only, long-match,
// rep-heavy and incompressible paths.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{}, uint8(0), uint8(0))
	f.Add([]byte("a"), uint8(0), uint8(0))
	f.Add([]byte("abcabcabcabcabcabcabcabcabcabcabcabcabcab"), uint8(1), uint8(3))
	f.Add(bytes.Repeat([]byte{0}, 5000), uint8(2), uint8(0))
	f.Add(textBytes(7, 3000), uint8(0), uint8(1))
	f.Add(randomBytes(8, 2000), uint8(3), uint8(2))
	f.Add(append(randomBytes(9, 300), append(randomBytes(9, 300), randomBytes(10, 50)...)...), uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, props, tune uint8) {
		opts := Options{DictSize: 4096 << (tune % 4)}
		switch props % 4 {
		case 1:
			opts.LC, opts.LP, opts.PB = 0, 2, 0
		case 2:
			opts.LC, opts.LP, opts.PB = 4, 0, 4
		case 3:
			opts.LC, opts.LP, opts.PB = 1, 1, 1
		}
		opts.NiceLen = []int{0, 8, 32, 273}[tune/4%4]
		opts.Depth = int(tune / 16)
		e, err := NewEncoder(opts)
		require.NoError(t, err)
		stream, err := e.EncodeLZMA2(nil, data)
		require.NoError(t, err)
		got := decodeGo(t, stream, opts.DictSize)
		require.True(t, bytes.Equal(data, got), "round trip differs")
		// Reuse must not leak state from the previous input.
		again, err := e.EncodeLZMA2(nil, data)
		require.NoError(t, err)
		require.Equal(t, stream, again)
	})
}

package lzma

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chunk is one LZMA2 chunk header as the xz format documents them: control
// 0x01/0x02 stored (with/without dictionary reset), 0x80-0xFF LZMA with the
// reset level in bits 5-6, 0x00 end of stream.
type chunk struct {
	control    byte
	unc, comp  int
	props      int // -1 when absent
	lzma       bool
	resetLevel int
}

func parseChunks(t *testing.T, stream []byte) []chunk {
	t.Helper()
	var out []chunk
	for p := 0; ; {
		require.Less(t, p, len(stream), "stream ends without end marker")
		c := chunk{control: stream[p], props: -1}
		switch {
		case c.control == 0:
			require.Equal(t, len(stream), p+1, "bytes after the end marker")
			return out
		case c.control == 1 || c.control == 2:
			require.LessOrEqual(t, p+3, len(stream))
			c.unc = (int(stream[p+1])<<8 | int(stream[p+2])) + 1
			p += 3 + c.unc
		case c.control >= 0x80:
			require.LessOrEqual(t, p+5, len(stream))
			c.lzma = true
			c.resetLevel = int(c.control>>5) & 3
			c.unc = (int(c.control&0x1F)<<16 | int(stream[p+1])<<8 | int(stream[p+2])) + 1
			c.comp = (int(stream[p+3])<<8 | int(stream[p+4])) + 1
			p += 5
			if c.resetLevel >= 2 {
				c.props = int(stream[p])
				p++
			}
			require.Equal(t, byte(0), stream[p], "range coder data starts with a zero byte")
			p += c.comp
		default:
			t.Fatalf("invalid control byte %#x at %d", c.control, p)
		}
		out = append(out, c)
	}
}

func TestChunkStructure(t *testing.T) {
	e, err := NewEncoder(Options{DictSize: 1 << 20})
	require.NoError(t, err)

	t.Run("empty is the end marker alone", func(t *testing.T) {
		stream, err := e.EncodeLZMA2(nil, nil)
		require.NoError(t, err)
		assert.Equal(t, []byte{0}, stream)
	})

	t.Run("compressible", func(t *testing.T) {
		data := textBytes(11, 3<<20)
		stream, err := e.EncodeLZMA2(nil, data)
		require.NoError(t, err)
		chunks := parseChunks(t, stream)
		require.NotEmpty(t, chunks)
		assert.True(t, chunks[0].lzma)
		assert.Equal(t, 3, chunks[0].resetLevel, "first chunk resets the dictionary")
		assert.Equal(t, int(e.Props()), chunks[0].props)
		assert.Equal(t, (2*5+0)*9+3, chunks[0].props, "lc3 lp0 pb2")
		total := 0
		for i, c := range chunks {
			assert.LessOrEqual(t, c.unc, 2<<20, "chunk %d uncompressed size", i)
			assert.LessOrEqual(t, c.comp, 1<<16, "chunk %d compressed size", i)
			if i > 0 {
				assert.Equal(t, 0, c.resetLevel, "chunk %d continues the state", i)
			}
			total += c.unc
		}
		assert.Equal(t, len(data), total)
		assert.Greater(t, len(chunks), 1, "3 MiB needs several chunks")
	})

	t.Run("incompressible is stored", func(t *testing.T) {
		data := randomBytes(12, 200<<10)
		stream, err := e.EncodeLZMA2(nil, data)
		require.NoError(t, err)
		chunks := parseChunks(t, stream)
		require.NotEmpty(t, chunks)
		assert.Equal(t, byte(1), chunks[0].control, "stored chunk with dictionary reset first")
		for _, c := range chunks[1:] {
			assert.Equal(t, byte(2), c.control)
			assert.LessOrEqual(t, c.unc, 1<<16)
		}
		// Stored chunks cost 3 bytes per 64 KiB, plus the end marker.
		assert.Equal(t, len(data)+3*4+1, len(stream))
	})

	t.Run("stored then compressible resets state with properties", func(t *testing.T) {
		data := append(randomBytes(13, 100<<10), textBytes(14, 100<<10)...)
		stream, err := e.EncodeLZMA2(nil, data)
		require.NoError(t, err)
		chunks := parseChunks(t, stream)
		var sawLZMA bool
		for i, c := range chunks {
			if !c.lzma {
				continue
			}
			if !sawLZMA {
				assert.GreaterOrEqual(t, c.resetLevel, 2, "first LZMA chunk %d after a dictionary reset carries properties", i)
			}
			if i > 0 && !chunks[i-1].lzma {
				assert.GreaterOrEqual(t, c.resetLevel, 1, "LZMA chunk %d after a stored one resets state", i)
			}
			sawLZMA = true
		}
		assert.True(t, sawLZMA)
		assert.Equal(t, data, decodeGo(t, stream, 1<<20))
	})
}

func TestEncoderReuseNoAlloc(t *testing.T) {
	e, err := NewEncoder(Options{DictSize: 1 << 20})
	require.NoError(t, err)
	data := textBytes(15, 300<<10)
	dst := make([]byte, 0, 400<<10)
	first, err := e.EncodeLZMA2(nil, data)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(3, func() {
		dst, err = e.EncodeLZMA2(dst, data)
	})
	require.NoError(t, err)
	assert.Zero(t, allocs, "allocations per call with a large enough dst")
	assert.Equal(t, first, dst, "output independent of earlier calls")
	// A smaller input after a larger one must not see the old data.
	small := textBytes(16, 5000)
	out, err := e.EncodeLZMA2(nil, small)
	require.NoError(t, err)
	assert.Equal(t, small, decodeGo(t, out, 1<<20))
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{
		{LC: 4, LP: 1}, {PB: 5}, {LC: -1, PB: 1}, {DictSize: 100}, {NiceLen: 4}, {NiceLen: 274}, {Depth: -1},
	} {
		_, err := NewEncoder(o)
		assert.ErrorIs(t, err, ErrOptions, "%+v", o)
	}
	e, err := NewEncoder(Options{})
	require.NoError(t, err)
	assert.Equal(t, 8<<20, e.DictSizeFor(100<<20))
	assert.Equal(t, 1<<20, e.DictSizeFor(1<<20))
	assert.Equal(t, 4096, e.DictSizeFor(10))
}

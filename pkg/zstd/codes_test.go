package zstd

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCodesCoverTheirRange checks every value against the RFC 8878 section
// 3.1.1.3.2.1.1 baseline tables: the code chosen must have a baseline at or
// below the value and enough extra bits to reach it, and it must be the only
// such code (the ranges do not overlap).
func TestCodesCoverTheirRange(t *testing.T) {
	for v := uint32(0); v <= maxLitLen; v++ {
		c := llCode(v)
		require.Less(t, int(c), len(llBaseline), "litLen %d", v)
		require.LessOrEqual(t, llBaseline[c], v, "litLen %d code %d", v, c)
		require.Less(t, v-llBaseline[c], uint32(1)<<llExtraBits[c], "litLen %d code %d", v, c)
	}
	for v := uint32(minMatch); v <= maxMatchLen; v++ {
		c := mlCode(v)
		require.Less(t, int(c), len(mlBaseline), "matchLen %d", v)
		require.LessOrEqual(t, mlBaseline[c], v, "matchLen %d code %d", v, c)
		require.Less(t, v-mlBaseline[c], uint32(1)<<mlExtraBits[c], "matchLen %d code %d", v, c)
	}
	for _, v := range []uint32{1, 2, 3, 4, 7, 8, 1 << 20, 1<<20 + 3, 1<<31 - 1} {
		c := ofCode(v)
		require.LessOrEqual(t, uint32(1)<<c, v)
		require.Less(t, v-(uint32(1)<<c), uint32(1)<<c)
	}
}

// TestCodeTablesAreContiguous: each baseline is the previous one plus the
// previous code's range, so no value is left without a code.
func TestCodeTablesAreContiguous(t *testing.T) {
	for c := 1; c < len(llBaseline); c++ {
		require.Equal(t, llBaseline[c-1]+1<<llExtraBits[c-1], llBaseline[c], "ll code %d", c)
	}
	for c := 1; c < len(mlBaseline); c++ {
		require.Equal(t, mlBaseline[c-1]+1<<mlExtraBits[c-1], mlBaseline[c], "ml code %d", c)
	}
	require.Equal(t, uint32(maxLitLen), llBaseline[35]+1<<llExtraBits[35]-1)
	require.Equal(t, uint32(maxMatchLen), mlBaseline[52]+1<<mlExtraBits[52]-1)
}

// TestExtraBitsAreLowBits: the bitstream writes a length's extra bits as
// the low bits of the value (less minMatch for match lengths) and an
// offset's as the value without its leading 1, which is right only if every
// baseline with extra bits is a multiple of 1<<bits (RFC 8878 section
// 3.1.1.3.2.1.1 tables). llCodeBits and mlCodeBits must agree with the
// codes and the tables' extra bits.
func TestExtraBitsAreLowBits(t *testing.T) {
	for v := uint32(0); v <= maxLitLen; v++ {
		c, nb := llCodeBits(v)
		require.Equal(t, llCode(v), c, "litLen %d", v)
		require.Equal(t, llExtraBits[c], nb, "litLen %d", v)
		require.Equal(t, v-llBaseline[c], v&(1<<nb-1), "litLen %d", v)
	}
	for v := uint32(minMatch); v <= maxMatchLen; v++ {
		c, nb := mlCodeBits(v)
		require.Equal(t, mlCode(v), c, "matchLen %d", v)
		require.Equal(t, mlExtraBits[c], nb, "matchLen %d", v)
		require.Equal(t, v-mlBaseline[c], (v-minMatch)&(1<<nb-1), "matchLen %d", v)
	}
}

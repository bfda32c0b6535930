package zstd

import "math/bits"

// Sequence is one zstd sequence (RFC 8878 section 3.1.1.3.2): LitLen
// literals copied from the input, then MatchLen bytes copied from OffValue's
// distance. OffValue is the format's Offset_Value, not a distance: 1..3 name
// a repeat offset (whose meaning depends on LitLen being zero, section
// 3.1.1.5 "Repeat Offsets"), and a value v > 3 is the distance v-3. The
// parser that makes sequences tracks the repeat offsets; the entropy stage
// writes OffValue as it is.
//
// MatchLen is at least minMatch; literals after the last match of a block
// are not a sequence (they trail the literals section).
type Sequence struct {
	LitLen   uint32
	MatchLen uint32
	OffValue uint32
}

const (
	minMatch = 3
	// maxBlockSize is Block_Maximum_Size: no block decodes to more
	// (section 3.1.1.2.4).
	maxBlockSize = 128 << 10
	// maxLitLen and maxMatchLen are the largest values the last
	// literal-length and match-length codes can express (code 35:
	// 65536 + 2^16 - 1; code 52: 65539 + 2^16 - 1).
	maxLitLen   = 131071
	maxMatchLen = 131074
)

// Literals-length and match-length codes, section 3.1.1.3.2.1.1: code c
// stands for baseline[c] plus extraBits[c] raw bits.
var (
	llBaseline = [36]uint32{
		0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096,
		8192, 16384, 32768, 65536,
	}
	llExtraBits = [36]uint8{
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12,
		13, 14, 15, 16,
	}
	mlBaseline = [53]uint32{
		3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
		19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34,
		35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051,
		4099, 8195, 16387, 32771, 65539,
	}
	mlExtraBits = [53]uint8{
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11,
		12, 13, 14, 15, 16,
	}
)

// llCodeTable and mlCodeTable map small values straight to their code; larger
// values use the position of their highest bit (the codes above the linear
// range are one per power of two).
var (
	llCodeTable [64]uint8
	mlCodeTable [128]uint8
)

// llCodeBitsTable and mlCodeBitsTable hold, for the same small values,
// the code in the low byte and its number of extra bits in the high one:
// one load for both where the bitstream needs them together.
var (
	llCodeBitsTable [64]uint16
	mlCodeBitsTable [128]uint16
)

func init() {
	for c := len(llBaseline) - 1; c >= 0; c-- {
		for v := llBaseline[c]; v < uint32(len(llCodeTable)) && (c == len(llBaseline)-1 || v < llBaseline[c+1]); v++ {
			llCodeTable[v] = uint8(c)
		}
	}
	for c := len(mlBaseline) - 1; c >= 0; c-- {
		for v := mlBaseline[c] - minMatch; v < uint32(len(mlCodeTable)) && (c == len(mlBaseline)-1 || v < mlBaseline[c+1]-minMatch); v++ {
			mlCodeTable[v] = uint8(c)
		}
	}
	for v, c := range llCodeTable {
		llCodeBitsTable[v] = uint16(c) | uint16(llExtraBits[c])<<8
	}
	for v, c := range mlCodeTable {
		mlCodeBitsTable[v] = uint16(c) | uint16(mlExtraBits[c])<<8
	}
}

// llCode returns the literals-length code of litLen (0..maxLitLen).
func llCode(litLen uint32) uint8 {
	if litLen < uint32(len(llCodeTable)) {
		return llCodeTable[litLen]
	}
	// From 64 on, code 25 + k covers [64<<k, 128<<k).
	return uint8(bits.Len32(litLen)) - 7 + 25
}

// mlCode returns the match-length code of matchLen (minMatch..maxMatchLen).
func mlCode(matchLen uint32) uint8 {
	v := matchLen - minMatch
	if v < uint32(len(mlCodeTable)) {
		return mlCodeTable[v]
	}
	// From 131 on (v >= 128), code 43 + k covers v in [128<<k, 256<<k).
	return uint8(bits.Len32(v)) - 8 + 43
}

// llCodeBits returns llCode(litLen) and the code's number of extra bits.
func llCodeBits(litLen uint32) (code, extra uint8) {
	if litLen < uint32(len(llCodeBitsTable)) {
		e := llCodeBitsTable[litLen]
		return uint8(e), uint8(e >> 8)
	}
	// Codes 25..35 have 6..16 extra bits.
	code = uint8(bits.Len32(litLen)) - 7 + 25
	return code, code - 19
}

// mlCodeBits returns mlCode(matchLen) and the code's number of extra bits.
func mlCodeBits(matchLen uint32) (code, extra uint8) {
	v := matchLen - minMatch
	if v < uint32(len(mlCodeBitsTable)) {
		e := mlCodeBitsTable[v]
		return uint8(e), uint8(e >> 8)
	}
	// Codes 43..52 have 7..16 extra bits.
	code = uint8(bits.Len32(v)) - 8 + 43
	return code, code - 36
}

// ofCode returns the offset code of an Offset_Value (>= 1): the value is
// (1 << code) plus code raw bits (section 3.1.1.3.2.1.1 "Offset codes").
func ofCode(offValue uint32) uint8 {
	return uint8(bits.Len32(offValue)) - 1
}

package deflate

import (
	"encoding/binary"
	"math/bits"
)

// Length and distance codes of RFC 1951 section 3.2.5: symbol 257+i codes
// match lengths lengthBase[i] .. lengthBase[i]+2^lengthExtra[i]-1, distance
// code i codes distances distBase[i] .. distBase[i]+2^distExtra[i]-1.
var (
	lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
		35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
		3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
		257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
		7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

const (
	minMatch   = 3     // RFC 1951 3.2.5: shortest length code
	maxMatch   = 258   // longest length code
	windowSize = 32768 // RFC 1951 2: distances reach back at most 32768 bytes
	endOfBlock = 256   // literal/length symbol that ends a block (3.2.5)
	numLitLen  = 286   // literal/length symbols that may occur (286, 287 never do)
	numDist    = 30    // distance symbols that may occur (30, 31 never do)
	numCodeLen = 19    // code length alphabet (3.2.7)
	maxCodeLen = 15    // longest literal/length or distance code (3.2.7)
	maxCLCode  = 7     // longest code-length code: HCLEN entries are 3 bits
)

// codeLenOrder is the order in which the code-length code's lengths are
// sent (RFC 1951 3.2.7), chosen so that trailing ones are usually zero.
var codeLenOrder = [numCodeLen]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

var (
	// lengthSym maps a match length 0..258 to its length code index 0..28
	// (symbol 257+index); entries below 3 are unused.
	lengthSym [maxMatch + 1]uint8
	// distSymLow maps distance-1 for distances 1..256 to its code; for
	// larger distances every code has at least 7 extra bits, so
	// (distance-1)>>7 selects the code through distSymHigh.
	distSymLow  [256]uint8
	distSymHigh [256]uint8
)

func init() {
	for i := range lengthBase {
		for l := int(lengthBase[i]); l < int(lengthBase[i])+1<<lengthExtra[i] && l <= maxMatch; l++ {
			lengthSym[l] = uint8(i)
		}
	}
	// 258 has its own code (28, symbol 285) with no extra bits; code 27's
	// 5 extra bits would also reach it, but RFC 1951 3.2.5 gives code 27
	// the range 227..257 only.
	lengthSym[maxMatch] = 28
	for c := 0; c < numDist; c++ {
		lo := int(distBase[c])
		hi := lo + 1<<distExtra[c]
		for d := lo; d < hi; d++ {
			if d <= 256 {
				distSymLow[d-1] = uint8(c)
			} else {
				distSymHigh[(d-1)>>7] = uint8(c)
			}
		}
	}
}

// distSym returns the distance code (0..29) of distance d (1..32768).
func distSym(d uint32) uint32 {
	if d <= 256 {
		return uint32(distSymLow[d-1])
	}
	return uint32(distSymHigh[(d-1)>>7&255])
}

// token is one parsed symbol: a literal byte (length field zero) or a match
// with length<<16 | distance.
type token uint32

func literalToken(b byte) token { return token(b) }
func (t token) isMatch() bool   { return t>>16 != 0 }
func (t token) length() uint32  { return uint32(t) >> 16 }
func (t token) dist() uint32    { return uint32(t) & 0xffff }

// trailingZeroBytes is the index of the lowest non-zero byte of x != 0.
func trailingZeroBytes(x uint64) int { return bits.TrailingZeros64(x) >> 3 }

// extendMatch returns the length of the common prefix of a and b, known to
// be at least l; b must be at least as long as a.
func extendMatch(a, b []byte, l int) int {
	for l+8 <= len(a) {
		x := binary.LittleEndian.Uint64(a[l:]) ^ binary.LittleEndian.Uint64(b[l:])
		if x != 0 {
			return l + trailingZeroBytes(x)
		}
		l += 8
	}
	for l < len(a) && a[l] == b[l] {
		l++
	}
	return l
}

package lzma

import "math"

// Probability model constants from the LZMA specification
// (lzma-specification.txt, "The range decoder"): probabilities are 11-bit
// fixed point numbers that adapt by 1/32 of the distance to 0 or 1 per bit.
const (
	numBitModelTotalBits = 11
	bitModelTotal        = 1 << numBitModelTotalBits
	numMoveBits          = 5
	probInit             = bitModelTotal / 2
	topValue             = 1 << 24
)

type prob uint16

// rangeEncoder is the encoder counterpart of the specification's range
// decoder. low is kept in 33 bits so a carry into the already produced bytes
// can be propagated through the run of pending 0xFF bytes (cache/cacheSize).
type rangeEncoder struct {
	low       uint64
	rng       uint32
	cache     byte
	cacheSize int64
	out       []byte
}

func (rc *rangeEncoder) reset(out []byte) {
	rc.low = 0
	rc.rng = 0xFFFFFFFF
	rc.cache = 0
	rc.cacheSize = 1
	rc.out = out
}

// pending is the number of bytes the chunk occupies so far, counting bytes
// still held back in the cache; flush adds at most 5 more.
func (rc *rangeEncoder) pending() int {
	return len(rc.out) + int(rc.cacheSize) + 4
}

func (rc *rangeEncoder) shiftLow() {
	if uint32(rc.low) < 0xFF000000 || rc.low>>32 != 0 {
		carry := byte(rc.low >> 32)
		temp := rc.cache
		for {
			rc.out = append(rc.out, temp+carry)
			temp = 0xFF
			rc.cacheSize--
			if rc.cacheSize == 0 {
				break
			}
		}
		rc.cache = byte(rc.low >> 24)
	}
	rc.cacheSize++
	rc.low = (rc.low & 0x00FFFFFF) << 8
}

// encodeBit codes bit (0 or 1) with probability *p and adapts it. The
// coded bits are close to random for the branch predictor, so both
// outcomes are computed and one is selected with a mask: a 0 keeps the
// low bound part of the range, a 1 the rest above it.
func (rc *rangeEncoder) encodeBit(p *prob, bit uint32) {
	v := uint32(*p)
	bound := (rc.rng >> numBitModelTotalBits) * v
	mask := -bit
	rc.low += uint64(bound & mask)
	rc.rng = bound + (rc.rng-2*bound)&mask
	p0 := v + (bitModelTotal-v)>>numMoveBits
	p1 := v - v>>numMoveBits
	*p = prob(p0 ^ (p0^p1)&mask)
	// One shift suffices: the range was at least 2^24 and a bit keeps at
	// least 31/2048 of it.
	if rc.rng < topValue {
		rc.rng <<= 8
		rc.shiftLow()
	}
}

// encodeDirect writes the low n bits of v, most significant first, with a
// fixed probability of one half ("direct bits" in the specification).
func (rc *rangeEncoder) encodeDirect(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		rc.rng >>= 1
		if (v>>uint(i))&1 != 0 {
			rc.low += uint64(rc.rng)
		}
		for rc.rng < topValue {
			rc.rng <<= 8
			rc.shiftLow()
		}
	}
}

// flush pushes out every byte of low; a decoder reads exactly these bytes.
func (rc *rangeEncoder) flush() []byte {
	for i := 0; i < 5; i++ {
		rc.shiftLow()
	}
	return rc.out
}

// Prices are in 1/16 bit units: priceTable[p>>reduce] is -log2(p/2048)*16
// for the probability of the coded bit being what the model predicts.
const (
	numBitPriceShiftBits = 4
	numMoveReducingBits  = 2
	infinityPrice        = 1 << 30
)

var priceTable [bitModelTotal >> numMoveReducingBits]uint32

func init() {
	for i := range priceTable {
		// Centre of the bucket of probabilities that map to index i.
		p := (float64(i) + 0.5) * (1 << numMoveReducingBits) / bitModelTotal
		priceTable[i] = uint32(math.Round(-math.Log2(p) * (1 << numBitPriceShiftBits)))
	}
}

// The price of a one is that of a zero with probability 2048-p; the
// branch-free form negates p when bit is 1: (p XOR -1) + 1 = -p.
func price0(p prob) uint32 { return priceTable[(p>>numMoveReducingBits)&511] }
func price1(p prob) uint32 {
	return priceTable[((bitModelTotal-p)>>numMoveReducingBits)&511]
}
func priceBit(p prob, bit uint32) uint32 {
	q := (uint32(p) ^ -bit) + bit + (-bit & bitModelTotal)
	return priceTable[(q>>numMoveReducingBits)&511]
}

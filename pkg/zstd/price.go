package zstd

import (
	"math"
	"math/bits"
)

// Prices are in 1/priceScale bits, so that the parser compares whole numbers.
const (
	priceBits  = 8
	priceScale = 1 << priceBits
	// priceInf is larger than any path's price within one block.
	priceInf = math.MaxInt32 / 2
	// litPriceMax is the cost of a literal the statistics have not seen:
	// the Huffman code of the literals section has at most 11 bits
	// (RFC 8878 section 4.2.1, Max_Number_of_Bits), plus its weight in
	// the table description.
	litPriceMax = 12 * priceScale
	// priceTabLen is how many lengths have a ready price; longer ones are
	// computed when asked.
	priceTabLen = 1 << 12
)

// symbolStats counts the symbols a parse chose: literal bytes and the three
// sequence codes of RFC 8878 section 3.1.1.3.2.1.1.
type symbolStats struct {
	lit [256]uint32
	ll  [36]uint32
	ml  [53]uint32
	of  [32]uint32
}

// add counts one block's choice: the sequences and every literal byte
// (including the trailing ones).
func (s *symbolStats) add(src []byte, seqs []Sequence) {
	p := 0
	for _, q := range seqs {
		for _, b := range src[p : p+int(q.LitLen)] {
			s.lit[b]++
		}
		p += int(q.LitLen + q.MatchLen)
		s.ll[llCode(q.LitLen)]++
		s.ml[mlCode(q.MatchLen)]++
		s.of[ofCode(q.OffValue)]++
	}
	for _, b := range src[p:] {
		s.lit[b]++
	}
}

// scale keeps a fraction of the counts: older blocks weigh less than the
// one just parsed.
func (s *symbolStats) scale(shift uint) {
	for i := range s.lit {
		s.lit[i] >>= shift
	}
	for i := range s.ll {
		s.ll[i] >>= shift
	}
	for i := range s.ml {
		s.ml[i] >>= shift
	}
	for i := range s.of {
		s.of[i] >>= shift
	}
}

// merge adds o's counts to s.
func (s *symbolStats) merge(o *symbolStats) {
	for i := range s.lit {
		s.lit[i] += o.lit[i]
	}
	for i := range s.ll {
		s.ll[i] += o.ll[i]
	}
	for i := range s.ml {
		s.ml[i] += o.ml[i]
	}
	for i := range s.of {
		s.of[i] += o.of[i]
	}
}

// seed sets counts for a block nothing was parsed before: literals as the
// block's bytes occur (most bytes of hard-to-compress data end up literals),
// and sequence codes shaped like typical data: short literal runs, short
// matches, repeat offsets and mid-range offsets. A first parse with these
// refines them (Options.SeedPass).
func (s *symbolStats) seed(block []byte) {
	*s = symbolStats{}
	for _, b := range block {
		s.lit[b]++
	}
	for c := range s.ll {
		s.ll[c] = uint32(max(1, 64>>c))
	}
	for c := range s.ml {
		s.ml[c] = uint32(max(1, 48-3*c))
	}
	for c := range s.of {
		switch {
		case c < 2:
			s.of[c] = 32
		case c < 20:
			s.of[c] = 8
		default:
			s.of[c] = 1
		}
	}
}

// priceModel turns statistics into prices: a symbol seen c times out of n
// costs about log2(n/c) bits in a Huffman or FSE code (RFC 8878 sections
// 4.2.1 and 4.1), plus its raw extra bits.
type priceModel struct {
	lit [256]int32
	ll  [36]int32 // code price plus extra bits
	ml  [53]int32
	of  [32]int32 // code price plus the code's extra bits

	llTab [priceTabLen]int32 // price of each literal length
	mlTab [priceTabLen]int32 // price of each match length
}

// log2Price returns the price of a symbol seen count times out of total,
// counting each unseen symbol as half an occurrence.
func log2Price(count, total uint32, nsym int) int32 {
	c := float64(count)
	if count == 0 {
		c = 0.5
	}
	t := float64(total) + 0.5*float64(nsym)
	p := math.Log2(t/c) * priceScale
	return int32(p + 0.5)
}

func sum32(v []uint32) uint32 {
	var t uint32
	for _, x := range v {
		t += x
	}
	return t
}

// update recomputes every price from s.
func (m *priceModel) update(s *symbolStats) {
	t := sum32(s.lit[:])
	for i, c := range s.lit {
		m.lit[i] = min(log2Price(c, t, len(s.lit)), litPriceMax)
	}
	t = sum32(s.ll[:])
	for i, c := range s.ll {
		m.ll[i] = log2Price(c, t, len(s.ll)) + int32(llExtraBits[i])*priceScale
	}
	t = sum32(s.ml[:])
	for i, c := range s.ml {
		m.ml[i] = log2Price(c, t, len(s.ml)) + int32(mlExtraBits[i])*priceScale
	}
	t = sum32(s.of[:])
	for i, c := range s.of {
		m.of[i] = log2Price(c, t, len(s.of)) + int32(i)*priceScale
	}
	for l := range m.llTab {
		m.llTab[l] = m.ll[llCode(uint32(l))]
	}
	for l := minMatch; l < priceTabLen; l++ {
		m.mlTab[l] = m.ml[mlCode(uint32(l))]
	}
}

// litLenPrice is the price of a literal length's code and extra bits.
func (m *priceModel) litLenPrice(l uint32) int32 {
	if l < priceTabLen {
		return m.llTab[l]
	}
	return m.ll[llCode(l)]
}

// matchLenPrice is the price of a match length's code and extra bits.
func (m *priceModel) matchLenPrice(l uint32) int32 {
	if l < priceTabLen {
		return m.mlTab[l]
	}
	return m.ml[mlCode(l)]
}

// offPrice is the price of an Offset_Value's code and extra bits.
func (m *priceModel) offPrice(ov uint32) int32 {
	return m.of[bits.Len32(ov)-1]
}

// estimateBits is the size in bits a block's choice would take if each
// stream were coded at its own empirical entropy (literals, the three code
// streams, and the raw extra bits), without table descriptions or headers.
// It measures the parser while no entropy stage is wired and in tests.
func estimateBits(src []byte, seqs []Sequence) float64 {
	var s symbolStats
	s.add(src, seqs)
	return s.entropyBits(seqs)
}

// entropyBits is estimateBits for counts s already holds of seqs.
func (s *symbolStats) entropyBits(seqs []Sequence) float64 {
	var extra float64
	for _, q := range seqs {
		extra += float64(llExtraBits[llCode(q.LitLen)]) + float64(mlExtraBits[mlCode(q.MatchLen)]) + float64(ofCode(q.OffValue))
	}
	return entropyBits(s.lit[:]) + entropyBits(s.ll[:]) + entropyBits(s.ml[:]) + entropyBits(s.of[:]) + extra
}

// entropyBits is sum(c * log2(n/c)) over the counts.
func entropyBits(counts []uint32) float64 {
	n := float64(sum32(counts))
	var b float64
	for _, c := range counts {
		if c > 0 {
			b += float64(c) * math.Log2(n/float64(c))
		}
	}
	return b
}

package zstd

import "math/bits"

// Symbol_Compression_Modes values, RFC 8878 section 3.1.1.3.2.1.
const (
	modePredefined = 0
	modeRLE        = 1
	modeFSE        = 2
	modeRepeat     = 3
)

// The three code streams, in the order their tables appear in the
// sequences section header: literal lengths, offsets, match lengths.
const (
	kindLL = iota
	kindOF
	kindML
	numKinds
)

// maxOFSymbol is the largest offset code a decoder must accept (section
// 3.1.1.3.2.1.1: "the maximum is 31").
const maxOFSymbol = 31

var (
	kindMaxSymbol = [numKinds]int{len(llBaseline) - 1, maxOFSymbol, len(mlBaseline) - 1}
	kindMaxLog    = [numKinds]uint8{maxFSELog, maxOFLog, maxFSELog}
)

// predefinedTables are the Predefined_Mode distributions of section
// 3.1.1.3.2.2.1 ("Default Distributions"), in kind order.
var predefinedTables [numKinds]fseTable

func init() {
	predefinedTables[kindLL].build([]int16{
		4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1,
		2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1,
		-1, -1, -1, -1,
	}, 6)
	predefinedTables[kindOF].build([]int16{
		1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1,
	}, 5)
	predefinedTables[kindML].build([]int16{
		1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1,
		-1, -1, -1, -1, -1,
	}, 6)
}

// appendNumberOfSequences writes Number_of_Sequences (section 3.1.1.3.2.1):
// one byte below 128; two bytes, the first 128..254, up to 0x7EFF; else
// 0xFF and n-0x7F00 in two little-endian bytes.
func appendNumberOfSequences(dst []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(dst, byte(n))
	case n < 0x7F00:
		return append(dst, byte(n>>8)|0x80, byte(n))
	default:
		n -= 0x7F00
		return append(dst, 0xFF, byte(n), byte(n>>8))
	}
}

// seqScratch holds the per-block working state of the sequences section.
type seqScratch struct {
	codes [numKinds][]uint8
	hist  [numKinds][maxFSESymbol + 1]uint32
	// fresh holds each kind's new table when its mode is FSE or RLE.
	fresh [numKinds]fseTable
	use   [numKinds]*fseTable
	mode  [numKinds]uint8
	norm  [maxFSESymbol + 1]int16
	best  [maxFSESymbol + 1]int16
	desc  []byte
}

// appendSequences writes the sequences section of seqs (section
// 3.1.1.3.2). The tables chosen are left in w.seq.use and w.seq.mode for
// commitTables once the block is known to be written compressed.
func (w *blockWriter) appendSequences(dst []byte, seqs []Sequence) []byte {
	n := len(seqs)
	dst = appendNumberOfSequences(dst, n)
	if n == 0 {
		return dst
	}
	sc := &w.seq
	for k := range sc.codes {
		sc.codes[k] = sc.codes[k][:0]
		sc.hist[k] = [maxFSESymbol + 1]uint32{}
	}
	for _, s := range seqs {
		ll, of, ml := llCode(s.LitLen), ofCode(s.OffValue), mlCode(s.MatchLen)
		sc.codes[kindLL] = append(sc.codes[kindLL], ll)
		sc.codes[kindOF] = append(sc.codes[kindOF], of)
		sc.codes[kindML] = append(sc.codes[kindML], ml)
		sc.hist[kindLL][ll]++
		sc.hist[kindOF][of]++
		sc.hist[kindML][ml]++
	}
	modesAt := len(dst)
	dst = append(dst, 0)
	for k := 0; k < numKinds; k++ {
		dst = w.appendTable(dst, k, uint32(n))
	}
	dst[modesAt] = sc.mode[kindLL]<<6 | sc.mode[kindOF]<<4 | sc.mode[kindML]<<2
	return w.appendSequenceBitstream(dst, seqs)
}

// appendTable picks the cheapest way to describe kind k's code
// distribution, by table description size plus estimated payload bits, and
// writes the description (nothing for Predefined and Repeat, the symbol for
// RLE, FSE_Table_Description for FSE_Compressed).
func (w *blockWriter) appendTable(dst []byte, k int, total uint32) []byte {
	sc := &w.seq
	hist := sc.hist[k][:kindMaxSymbol[k]+1]
	distinct, lastSym := 0, 0
	for s, h := range hist {
		if h != 0 {
			distinct++
			lastSym = s
		}
	}
	hist = hist[:lastSym+1]
	if distinct == 1 {
		// One code: RLE_Mode costs a byte and no bits per sequence, unless
		// the previous table is the same RLE one and can be repeated free.
		if w.prevValid && w.prev[k].log == 0 && w.prev[k].covers(hist) {
			sc.mode[k], sc.use[k] = modeRepeat, &w.prev[k]
			return dst
		}
		sc.fresh[k].buildRLE(uint8(lastSym))
		sc.mode[k], sc.use[k] = modeRLE, &sc.fresh[k]
		return append(dst, byte(lastSym))
	}
	const inf = ^uint64(0)
	bestCost, bestMode := inf, uint8(modePredefined)
	if t := &predefinedTables[k]; t.covers(hist) {
		bestCost, bestMode = t.cost(hist), modePredefined
	}
	if t := &w.prev[k]; w.prevValid && t.covers(hist) {
		if c := t.cost(hist); c < bestCost {
			bestCost, bestMode = c, modeRepeat
		}
	}
	minLog := uint8(bits.Len(uint(distinct - 1)))
	if minLog < minFSELog {
		minLog = minFSELog
	}
	bestLog := uint8(0)
	for log := minLog; log <= kindMaxLog[k]; log++ {
		norm := sc.norm[:lastSym+1]
		if !normalizeCounts(norm, hist, total, log) {
			continue
		}
		sc.desc = appendFSETableDescription(sc.desc[:0], norm, log)
		c := uint64(len(sc.desc)) * 8 << costShift
		for s, h := range hist {
			if h != 0 {
				c += uint64(h) * uint64(uint32(log)<<costShift-log2Fix[norm[s]])
			}
		}
		if c < bestCost {
			bestCost, bestMode, bestLog = c, modeFSE, log
			copy(sc.best[:], norm)
		}
	}
	sc.mode[k] = bestMode
	switch bestMode {
	case modePredefined:
		sc.use[k] = &predefinedTables[k]
	case modeRepeat:
		sc.use[k] = &w.prev[k]
	default:
		norm := sc.best[:lastSym+1]
		sc.fresh[k].build(norm, bestLog)
		sc.use[k] = &sc.fresh[k]
		dst = appendFSETableDescription(dst, norm, bestLog)
	}
	return dst
}

// commitTables makes the tables of the block just written the ones a later
// Repeat_Mode refers to, as the decoder does after a block with sequences.
func (w *blockWriter) commitTables() {
	sc := &w.seq
	for k := 0; k < numKinds; k++ {
		if sc.mode[k] != modeRepeat {
			w.prev[k] = *sc.use[k]
		}
	}
	w.prevValid = true
}

// appendSequenceBitstream writes the interleaved FSE bitstream of section
// 3.1.1.3.2.2 backwards. The decoder reads the initial states (LL, OF, ML),
// then for each sequence the offset, match-length and literal-length extra
// bits, then (except after the last sequence) the LL, ML and OF state
// updates. Written in reverse: the last sequence's extra bits first, then
// per earlier sequence the OF, ML, LL state transitions and its LL, ML, OF
// extra bits, and finally the ML, OF, LL states.
func (w *blockWriter) appendSequenceBitstream(dst []byte, seqs []Sequence) []byte {
	sc := &w.seq
	llc, ofc, mlc := sc.codes[kindLL], sc.codes[kindOF], sc.codes[kindML]
	var b bitWriter
	b.reset(dst)
	var ll, of, ml fseEncoder
	last := len(seqs) - 1
	ll.init(sc.use[kindLL], llc[last])
	of.init(sc.use[kindOF], ofc[last])
	ml.init(sc.use[kindML], mlc[last])
	extra := func(i int) {
		s := &seqs[i]
		b.addBits(uint64(s.LitLen-llBaseline[llc[i]]), uint(llExtraBits[llc[i]]))
		b.addBits(uint64(s.MatchLen-mlBaseline[mlc[i]]), uint(mlExtraBits[mlc[i]]))
		b.addBits(uint64(s.OffValue), uint(ofc[i]))
	}
	extra(last)
	for i := last - 1; i >= 0; i-- {
		of.encode(&b, ofc[i])
		ml.encode(&b, mlc[i])
		ll.encode(&b, llc[i])
		extra(i)
	}
	ml.flush(&b)
	of.flush(&b)
	ll.flush(&b)
	return b.closeBackward()
}

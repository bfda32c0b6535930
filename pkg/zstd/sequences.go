package zstd

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

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

// seqCodes is what the bitstream needs of one sequence: its literal-length,
// offset and match-length codes (section 3.1.1.3.2.1.1) and its extra bits,
// computed in one pass with the histograms. The extra bits of a value are
// its low bits (less minMatch for match lengths): every baseline with extra
// bits is a multiple of their range, and an offset code is the position of
// the value's leading 1, which the bits leave out.
type seqCodes struct {
	ll, of, ml uint8
	// lmBits is how many extra bits the literal and match lengths have;
	// lmExtra holds them, the literal length's lowest (the decoder reads
	// the match length's first from the backward stream).
	lmBits  uint8
	lmExtra uint32
	ofExtra uint32 // of bits
}

// codeHistSize bounds every code (the largest is maxFSESymbol): indexing
// a histogram of this size with code&(codeHistSize-1) needs no bounds check.
const codeHistSize = 64

// seqScratch holds the per-block working state of the sequences section.
type seqScratch struct {
	codes []seqCodes
	hist  [numKinds][codeHistSize]uint32
	// fresh holds each kind's new table when its mode is FSE or RLE: the
	// one of w.tables[k] that w.prev[k] does not point to.
	fresh [numKinds]*fseTable
	use   [numKinds]*fseTable
	mode  [numKinds]uint8
	norm  [maxFSESymbol + 1]int16
	best  [maxFSESymbol + 1]int16
	desc  []byte
}

// appendSequences writes the sequences section of seqs (section
// 3.1.1.3.2), whose codes and histograms gatherLiterals has just computed.
// The tables chosen are left in w.seq.use and w.seq.mode for commitTables
// once the block is known to be written compressed.
func (w *blockWriter) appendSequences(dst []byte, seqs []Sequence) []byte {
	n := len(seqs)
	dst = appendNumberOfSequences(dst, n)
	if n == 0 {
		return dst
	}
	sc := &w.seq
	codes := sc.codes[:n]
	modesAt := len(dst)
	dst = append(dst, 0)
	for k := 0; k < numKinds; k++ {
		dst = w.appendTable(dst, k, uint32(n))
	}
	dst[modesAt] = sc.mode[kindLL]<<6 | sc.mode[kindOF]<<4 | sc.mode[kindML]<<2
	return w.appendSequenceBitstream(dst, codes)
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
			sc.mode[k], sc.use[k] = modeRepeat, w.prev[k]
			return dst
		}
		sc.fresh[k].buildRLE(uint8(lastSym))
		sc.mode[k], sc.use[k] = modeRLE, sc.fresh[k]
		return append(dst, byte(lastSym))
	}
	const inf = ^uint64(0)
	bestCost, bestMode := inf, uint8(modePredefined)
	if t := &predefinedTables[k]; t.covers(hist) {
		bestCost, bestMode = t.cost(hist), modePredefined
	}
	if t := w.prev[k]; w.prevValid && t.covers(hist) {
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
		sc.use[k] = w.prev[k]
	default:
		norm := sc.best[:lastSym+1]
		sc.fresh[k].build(norm, bestLog)
		sc.use[k] = sc.fresh[k]
		dst = appendFSETableDescription(dst, norm, bestLog)
	}
	return dst
}

// commitTables makes the tables of the block just written the ones a later
// Repeat_Mode refers to, as the decoder does after a block with sequences.
func (w *blockWriter) commitTables() {
	sc := &w.seq
	for k := 0; k < numKinds; k++ {
		switch sc.mode[k] {
		case modeRepeat:
		case modePredefined:
			w.prev[k] = &predefinedTables[k]
		default:
			// The new table was built in fresh[k]; the other of the
			// kind's two tables is now free.
			w.prev[k] = sc.fresh[k]
			sc.fresh[k] = &w.tables[k][0]
			if w.prev[k] == sc.fresh[k] {
				sc.fresh[k] = &w.tables[k][1]
			}
		}
	}
	w.prevValid = true
}

// maxSeqBits bounds the bits one sequence adds to the bitstream: the
// three state updates (at most Accuracy_Log bits each: 9 for literal and
// match lengths, 8 for offsets) and the extra bits (16 for literal and
// match lengths, 31 for an offset code, section 3.1.1.3.2.1.1).
const maxSeqBits = maxFSELog + maxOFLog + maxFSELog + 16 + 16 + maxOFSymbol

// lowMask32[k] keeps the low k bits: a load instead of a variable shift,
// which on amd64 competes for the one shift-count register.
var lowMask32 = func() (m [32]uint32) {
	for k := range m {
		m[k] = 1<<k - 1
	}
	return m
}()

// appendSequenceBitstream writes the interleaved FSE bitstream of section
// 3.1.1.3.2.2 backwards. The decoder reads the initial states (LL, OF, ML),
// then for each sequence the offset, match-length and literal-length extra
// bits, then (except after the last sequence) the LL, ML and OF state
// updates. Written in reverse: the last sequence's extra bits first, then
// per earlier sequence the OF, ML, LL state transitions and its LL, ML, OF
// extra bits, and finally the ML, OF, LL states.
//
// The bits gather least significant first in a 64-bit accumulator, the
// layout of a backward stream (section 4.1: read from the last byte back,
// so the bits written last are read first). Whole bytes go out with one
// 8-byte store into room reserved up front (maxSeqBits per sequence), twice
// per sequence: before its OF extra bits and the OF and ML states (at most
// 7 bits pending + 31 + 8 + 9 after them) and before the LL state and the
// next sequence's LL and ML extra bits (7 + 9 + 16 + 16). Fewer than 64
// bits are ever pending, so every shift count below is masked to its
// range, which spares the compiler's handling of larger counts.
func (w *blockWriter) appendSequenceBitstream(dst []byte, codes []seqCodes) []byte {
	llT, ofT, mlT := w.seq.use[kindLL], w.seq.use[kindOF], w.seq.use[kindML]
	pos := len(dst)
	dst = slices.Grow(dst, len(codes)*((maxSeqBits+7)/8)+16)
	buf := dst[:cap(dst)]
	i := len(codes) - 1
	c := &codes[i]
	llState, ofState, mlState := llT.firstState(c.ll), ofT.firstState(c.of), mlT.firstState(c.ml)
	acc := uint64(c.lmExtra)
	nb := uint(c.lmBits)
	for {
		binary.LittleEndian.PutUint64(buf[pos:pos+8], acc)
		pos += int(nb >> 3)
		acc >>= nb & 56
		nb &= 7
		acc |= uint64(c.ofExtra) << (nb & 63)
		nb += uint(c.of)
		if i == 0 {
			break
		}
		i--
		c = &codes[i]
		// One FSE step per stream, OF, ML, LL: the state's low bits, then
		// the state of the cell that leads there (see fseSymbolTransform).
		tt := ofT.symTT[c.of]
		k := uint(ofState+tt.deltaNbBits) >> 16
		acc |= uint64(ofState&lowMask32[k&31]) << (nb & 63)
		nb += k
		ofState = uint32(ofT.stateTable[uint32(int32(ofState>>(k&31))+tt.deltaFindState)&(1<<maxFSELog-1)])
		tt = mlT.symTT[c.ml]
		k = uint(mlState+tt.deltaNbBits) >> 16
		acc |= uint64(mlState&lowMask32[k&31]) << (nb & 63)
		nb += k
		mlState = uint32(mlT.stateTable[uint32(int32(mlState>>(k&31))+tt.deltaFindState)&(1<<maxFSELog-1)])
		binary.LittleEndian.PutUint64(buf[pos:pos+8], acc)
		pos += int(nb >> 3)
		acc >>= nb & 56
		nb &= 7
		tt = llT.symTT[c.ll]
		k = uint(llState+tt.deltaNbBits) >> 16
		acc |= uint64(llState&lowMask32[k&31]) << (nb & 63)
		nb += k
		llState = uint32(llT.stateTable[uint32(int32(llState>>(k&31))+tt.deltaFindState)&(1<<maxFSELog-1)])
		acc |= uint64(c.lmExtra) << (nb & 63)
		nb += uint(c.lmBits)
	}
	binary.LittleEndian.PutUint64(buf[pos:pos+8], acc)
	pos += int(nb >> 3)
	acc >>= nb & 56
	nb &= 7
	// The initial states, ML first so that the decoder reads LL first,
	// and the closing 1 bit of the backward stream (section 4.1).
	acc |= uint64(mlState&lowMask32[mlT.log&31]) << nb
	nb += uint(mlT.log)
	acc |= uint64(ofState&lowMask32[ofT.log&31]) << nb
	nb += uint(ofT.log)
	acc |= uint64(llState&lowMask32[llT.log&31]) << nb
	nb += uint(llT.log)
	acc |= 1 << nb
	nb++
	binary.LittleEndian.PutUint64(buf[pos:pos+8], acc)
	return buf[:pos+int(nb+7)>>3]
}

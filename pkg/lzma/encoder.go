package lzma

import (
	"errors"
	"fmt"
	"math/bits"
)

// Options select the coder's parameters. Zero fields take defaults: lc 3,
// lp 0, pb 2, a dictionary of the input size capped at 8 MiB, NiceLen 128
// and Depth 16 + NiceLen/2 (xz's rule for its bt4 match finder, 80 here).
// xz preset 6 uses NiceLen 64 / Depth 48; measured on 72 MB of system
// binaries, Go tools and Python sources in 1 MiB blocks (BenchmarkMeasureCorpus),
// 64/48 came out 0.9999 x liblzma preset 6 and 128/80 0.9988 x, both at
// liblzma's speed per CPU second; 128 keeps a margin below mksquashfs.
type Options struct {
	DictSize int
	NiceLen  int
	Depth    int
	LC, LP   int
	PB       int
}

// Errors for invalid options and inputs.
var (
	ErrOptions  = errors.New("lzma: invalid options")
	ErrTooLarge = errors.New("lzma: input too large")
)

const (
	maxInput       uint64 = 1<<32 - 2
	defaultDictCap        = 8 << 20
	defaultNiceLen        = 128
	minDictSize           = 4096
	maxDictSize           = 1536 << 20

	// LZMA2 chunk limits: the uncompressed size is stored in 21 bits and
	// the compressed one in 16 bits, both minus one.
	maxChunkUncompressed = 2 << 20
	maxChunkCompressed   = 1 << 16
	maxCopyChunk         = 1 << 16
	// Upper bound of the bytes a single coded symbol can add to the range
	// coder output; a chunk is closed before it could overflow 64 KiB.
	maxSymbolBytes = 64
)

// Encoder holds the model, match finder and parser state. It is reused
// across EncodeLZMA2 calls and is not safe for concurrent use.
type Encoder struct {
	lc, lp, pb    uint32
	pbMask, lpMax uint32
	dictSize      int
	fixedDict     bool
	niceLen       int
	depth         int

	rc rangeEncoder
	mf binTree

	// Probability model (names from the specification's decoder).
	literal    []prob
	isMatch    [numStates << posStatesBitsMax]prob
	isRep      [numStates]prob
	isRepG0    [numStates]prob
	isRepG1    [numStates]prob
	isRepG2    [numStates]prob
	isRep0Long [numStates << posStatesBitsMax]prob
	posSlots   [numLenToPosStates][1 << numPosSlotBits]prob
	posSpecial [1 + numFullDistances - endPosModelIndex]prob
	align      [alignTableSize]prob
	lenEnc     lenEncoder
	repLenEnc  lenEncoder

	state uint32
	reps  [numReps]uint32

	// Price tables, refreshed as the model adapts.
	posSlotPrices   [numLenToPosStates][1 << numPosSlotBits]uint32
	distPrices      [numLenToPosStates][numFullDistances]uint32
	alignPrices     [alignTableSize]uint32
	distTableSize   uint32
	matchPriceCount int
	alignPriceCount int

	src []byte
	opt optimizer
}

// NewEncoder validates opts and allocates the encoder's tables.
func NewEncoder(opts Options) (*Encoder, error) {
	e := &Encoder{}
	lc, lp, pb := opts.LC, opts.LP, opts.PB
	if lc == 0 && lp == 0 && pb == 0 {
		lc, lp, pb = 3, 0, 2
	}
	if lc < 0 || lp < 0 || pb < 0 || lc > 8 || lp > 4 || pb > 4 || lc+lp > 4 {
		return nil, fmt.Errorf("%w: lc=%d lp=%d pb=%d (LZMA2 needs lc+lp <= 4, pb <= 4)", ErrOptions, lc, lp, pb)
	}
	e.lc, e.lp, e.pb = uint32(lc), uint32(lp), uint32(pb)
	e.pbMask = 1<<e.pb - 1
	e.lpMax = 1<<e.lp - 1
	e.dictSize = opts.DictSize
	switch {
	case e.dictSize == 0:
		e.dictSize = defaultDictCap
	case e.dictSize < minDictSize || e.dictSize > maxDictSize:
		return nil, fmt.Errorf("%w: dictionary size %d outside [%d, %d]", ErrOptions, opts.DictSize, minDictSize, maxDictSize)
	default:
		e.fixedDict = true
	}
	e.niceLen = opts.NiceLen
	if e.niceLen == 0 {
		e.niceLen = defaultNiceLen
	}
	if e.niceLen < 8 || e.niceLen > matchLenMax {
		return nil, fmt.Errorf("%w: nice length %d outside [8, %d]", ErrOptions, opts.NiceLen, matchLenMax)
	}
	e.depth = opts.Depth
	if e.depth == 0 {
		// xz's rule for its bt4 match finder.
		e.depth = 16 + e.niceLen/2
	}
	if e.depth < 1 {
		return nil, fmt.Errorf("%w: depth %d", ErrOptions, opts.Depth)
	}
	e.literal = make([]prob, litSize<<(e.lc+e.lp))
	e.mf.init(e.dictSize, e.niceLen, e.depth)
	e.opt.init()
	return e, nil
}

// DictSizeFor returns the dictionary size EncodeLZMA2 uses for an input of
// n bytes: Options.DictSize when set, else n capped at 8 MiB (at least
// 4 KiB). A container must declare at least this size.
func (e *Encoder) DictSizeFor(n int) int {
	if e.fixedDict || n >= e.dictSize {
		return e.dictSize
	}
	return max(n, minDictSize)
}

// Props returns the LZMA2 properties byte (lc, lp, pb) the chunks carry.
func (e *Encoder) Props() byte {
	return byte((e.pb*5+e.lp)*9 + e.lc)
}

// resetState is the LZMA2 "state reset": every probability to one half,
// state 0 and all rep distances 0 (lzma-specification.txt, "LZMA
// Decoding modes"; LZMA2 control bytes 0xA0 and above).
func (e *Encoder) resetState() {
	initProbs(e.literal)
	initProbs(e.isMatch[:])
	initProbs(e.isRep[:])
	initProbs(e.isRepG0[:])
	initProbs(e.isRepG1[:])
	initProbs(e.isRepG2[:])
	initProbs(e.isRep0Long[:])
	for i := range e.posSlots {
		initProbs(e.posSlots[i][:])
	}
	initProbs(e.posSpecial[:])
	initProbs(e.align[:])
	e.lenEnc.reset()
	e.repLenEnc.reset()
	e.state = 0
	e.reps = [numReps]uint32{}
	e.updatePrices()
}

// lenPriceSymbols is how many lengths the parser prices: it never weighs a
// length above niceLen (longer matches are taken without pricing).
func (e *Encoder) lenPriceSymbols() int {
	return min(e.niceLen+1-matchLenMin, numLenSymbols)
}

func (e *Encoder) updatePrices() {
	ps := 1 << e.pb
	e.lenEnc.updatePrices(ps, e.lenPriceSymbols())
	e.repLenEnc.updatePrices(ps, e.lenPriceSymbols())
	e.fillDistPrices()
	e.fillAlignPrices()
}

// EncodeLZMA2 appends to dst[:0] a complete raw LZMA2 stream of src: chunks
// and the end marker. The dictionary is reset at the start, so every call
// is independent; the properties byte is Props().
func (e *Encoder) EncodeLZMA2(dst, src []byte) ([]byte, error) {
	out := dst[:0]
	if uint64(len(src)) > maxInput {
		// Match finder positions are 32-bit.
		return out, fmt.Errorf("%w: %d bytes (at most %d in one call)", ErrTooLarge, len(src), maxInput)
	}
	dictSize := e.DictSizeFor(len(src))
	e.src = src
	e.mf.reset(src, dictSize)
	e.opt.reset()
	e.resetState()

	needDictReset, needProps, needStateReset := true, true, true
	pos := 0
	for pos < len(src) {
		// Control byte and header length are known before coding: bits
		// 5-6 say what is reset, properties follow when they are new.
		var reset byte
		switch {
		case needDictReset:
			reset = 3
		case needProps:
			reset = 2
		case needStateReset:
			reset = 1
		}
		headerAt := len(out)
		hdrLen := 5
		if reset >= 2 {
			hdrLen = 6
		}
		out = append(out, make([]byte, hdrLen)...)
		e.rc.reset(out)
		chunkStart := pos
		limit := maxChunkCompressed - (len(out) - headerAt - hdrLen) - maxSymbolBytes
		for pos < len(src) {
			if pos-chunkStart > maxChunkUncompressed-matchLenMax || e.rc.pending()-len(out) > limit {
				break
			}
			pos = e.encodeNext(pos)
		}
		out = e.rc.flush()
		comp := len(out) - headerAt - hdrLen
		unc := pos - chunkStart
		if comp < unc {
			h := out[headerAt:]
			h[0] = 0x80 | reset<<5 | byte((unc-1)>>16)
			h[1] = byte((unc - 1) >> 8)
			h[2] = byte(unc - 1)
			h[3] = byte((comp - 1) >> 8)
			h[4] = byte(comp - 1)
			if reset >= 2 {
				h[5] = e.Props()
			}
			needDictReset, needProps, needStateReset = false, false, false
			continue
		}
		// LZMA does not pay: store the bytes. The decoder's LZMA state
		// is untouched by stored chunks, but ours advanced while trying,
		// so the next LZMA chunk resets state.
		out = out[:headerAt]
		for p := chunkStart; p < pos; p += maxCopyChunk {
			n := min(pos-p, maxCopyChunk)
			ctrl := byte(2)
			if needDictReset {
				// A dictionary reset obliges the next LZMA chunk to
				// carry properties (liblzma's decoder enforces it).
				ctrl = 1
				needDictReset = false
				needProps = true
			}
			out = append(out, ctrl, byte((n-1)>>8), byte(n-1))
			out = append(out, src[p:p+n]...)
		}
		needStateReset = true
		e.resetModel()
	}
	out = append(out, 0x00)
	e.src = nil
	return out, nil
}

// resetModel is resetState for the stored-chunk fallback: the parser's
// pending decisions stay valid because they carry real distances.
func (e *Encoder) resetModel() {
	e.resetState()
}

// encodeNext codes the next symbol the parser chose at pos and returns the
// position after it.
func (e *Encoder) encodeNext(pos int) int {
	s := e.opt.next(e, pos)
	e.encodeSymbol(pos, s)
	return pos + int(s.len)
}

// step is one parser decision: a literal (lit), or len bytes copied from
// zero-based distance dist. Real distances rather than rep indexes keep the
// decisions valid across a state reset: encodeSymbol finds the rep itself.
type step struct {
	len  uint32
	dist uint32
	lit  bool
}

func (e *Encoder) encodeSymbol(pos int, s step) {
	posState := uint32(pos) & e.pbMask
	st := e.state
	rc := &e.rc
	if s.lit || (s.len == 1 && (s.dist != e.reps[0] || int(s.dist) >= pos)) {
		rc.encodeBit(&e.isMatch[st<<posStatesBitsMax+posState], 0)
		e.encodeLiteral(pos)
		e.state = stateLiteral(st)
		return
	}
	rc.encodeBit(&e.isMatch[st<<posStatesBitsMax+posState], 1)
	if s.len == 1 {
		rc.encodeBit(&e.isRep[st], 1)
		rc.encodeBit(&e.isRepG0[st], 0)
		rc.encodeBit(&e.isRep0Long[st<<posStatesBitsMax+posState], 0)
		e.state = stateShortRep(st)
		return
	}
	rep := -1
	for i := 0; i < numReps; i++ {
		if e.reps[i] == s.dist && int(s.dist) < pos {
			rep = i
			break
		}
	}
	if rep < 0 {
		rc.encodeBit(&e.isRep[st], 0)
		e.lenEnc.encode(rc, s.len-matchLenMin, posState)
		e.encodeDistance(s.dist, lenToPosState(s.len))
		e.reps[3], e.reps[2], e.reps[1], e.reps[0] = e.reps[2], e.reps[1], e.reps[0], s.dist
		e.state = stateMatch(st)
		e.matchPriceCount++
		if e.matchPriceCount >= 32 {
			e.fillDistPrices()
		}
		if e.alignPriceCount >= alignTableSize {
			e.fillAlignPrices()
		}
	} else {
		rc.encodeBit(&e.isRep[st], 1)
		if rep == 0 {
			rc.encodeBit(&e.isRepG0[st], 0)
			rc.encodeBit(&e.isRep0Long[st<<posStatesBitsMax+posState], 1)
		} else {
			rc.encodeBit(&e.isRepG0[st], 1)
			if rep == 1 {
				rc.encodeBit(&e.isRepG1[st], 0)
			} else {
				rc.encodeBit(&e.isRepG1[st], 1)
				rc.encodeBit(&e.isRepG2[st], uint32(rep-2))
				if rep == 3 {
					e.reps[3] = e.reps[2]
				}
				e.reps[2] = e.reps[1]
			}
			e.reps[1] = e.reps[0]
			e.reps[0] = s.dist
		}
		e.repLenEnc.encode(rc, s.len-matchLenMin, posState)
		if e.repLenEnc.counter <= 0 {
			e.repLenEnc.updatePrices(1<<e.pb, e.lenPriceSymbols())
		}
		e.state = stateRep(st)
	}
	if e.lenEnc.counter <= 0 {
		e.lenEnc.updatePrices(1<<e.pb, e.lenPriceSymbols())
	}
}

// litProbs returns the literal coder's probabilities for pos: the context
// is lp low bits of the position and lc high bits of the previous byte.
// The specification has 0x300 per context; 0x400 are kept so that masked
// indexes are provably in range and need no bounds checks.
func (e *Encoder) litProbs(pos int) *[litSize]prob {
	var prev uint32
	if pos > 0 {
		prev = uint32(e.src[pos-1])
	}
	i := litSize * ((uint32(pos)&e.lpMax)<<e.lc + prev>>(8-e.lc))
	return (*[litSize]prob)(e.literal[i : i+litSize])
}

const litSize = 0x400

func (e *Encoder) encodeLiteral(pos int) {
	probs := e.litProbs(pos)
	sym := uint32(e.src[pos]) | 0x100
	rc := &e.rc
	if e.state >= numLitStates {
		// Matched literal (specification, LzmaLiteralDecodeMatched):
		// while the bits agree with the byte at rep0, probabilities
		// selected by the match bit are used.
		mb := uint32(e.src[pos-int(e.reps[0])-1])
		offs := uint32(0x100)
		for sym < 0x10000 {
			mb <<= 1
			matchBit := mb & offs
			rc.encodeBit(&probs[(offs+matchBit+sym>>8)&(litSize-1)], (sym>>7)&1)
			sym <<= 1
			offs &= ^(mb ^ sym)
		}
		return
	}
	for sym < 0x10000 {
		rc.encodeBit(&probs[(sym>>8)&(litSize-1)], (sym>>7)&1)
		sym <<= 1
	}
}

// literalPrice prices the byte at pos coded in state with rep0.
func (e *Encoder) literalPrice(pos int, state uint32, rep0 uint32) uint32 {
	if state >= numLitStates {
		return e.matchedLiteralPrice(pos, uint32(e.src[pos]), uint32(e.src[pos-int(rep0)-1]))
	}
	probs := e.litProbs(pos)
	sym := uint32(e.src[pos]) | 0x100
	var price uint32
	for sym < 0x10000 {
		price += priceBit(probs[(sym>>8)&(litSize-1)], (sym>>7)&1)
		sym <<= 1
	}
	return price
}

// matchedLiteralPrice prices byte sym at pos coded against matchByte mb.
// offs tracks whether the bits so far agreed with the match byte: it is
// 0x100 while they do and 0 after the first difference, which switches to
// the plain literal probabilities.
func (e *Encoder) matchedLiteralPrice(pos int, sym, mb uint32) uint32 {
	probs := e.litProbs(pos)
	sym |= 0x100
	offs := uint32(0x100)
	var price uint32
	for sym < 0x10000 {
		mb <<= 1
		matchBit := mb & offs
		price += priceBit(probs[(offs+matchBit+sym>>8)&(litSize-1)], (sym>>7)&1)
		sym <<= 1
		offs &= ^(mb ^ sym)
	}
	return price
}

// encodeDistance codes a zero-based distance in the context of the match
// length: a 6-bit slot, then either reverse-tree coded footer bits (slots
// below 14) or direct bits followed by 4 reverse-coded align bits.
func (e *Encoder) encodeDistance(dist, lenState uint32) {
	slot := posSlot(dist)
	rc := &e.rc
	rc.encodeTree(e.posSlots[lenState][:], numPosSlotBits, slot)
	if slot < startPosModelIndex {
		return
	}
	footerBits := int(slot>>1) - 1
	base := (2 | slot&1) << uint(footerBits)
	reduced := dist - base
	if slot < endPosModelIndex {
		rc.encodeReverseTree(e.posSpecial[base-slot:], footerBits, reduced)
		return
	}
	rc.encodeDirect(reduced>>numAlignBits, footerBits-numAlignBits)
	rc.encodeReverseTree(e.align[:], numAlignBits, reduced&(alignTableSize-1))
	e.alignPriceCount++
}

func (e *Encoder) fillAlignPrices() {
	for i := uint32(0); i < alignTableSize; i++ {
		e.alignPrices[i] = reverseTreePrice(e.align[:], numAlignBits, i)
	}
	e.alignPriceCount = 0
}

// fillDistPrices prices every slot per length state (direct bits at one
// bit each) and every distance below numFullDistances completely.
func (e *Encoder) fillDistPrices() {
	distTableSize := uint32(posSlot(uint32(e.dictSize-1))) + 1
	e.distTableSize = distTableSize
	// Every tree node's price is its parent's plus one bit, so each
	// node is priced once and not once per symbol below it (about 640
	// bit prices instead of 1480 per refresh, every 32 matches).
	var footer [numFullDistances]uint32
	for slot := uint32(startPosModelIndex); slot < endPosModelIndex; slot++ {
		footerBits := int(slot>>1) - 1
		base := (2 | slot&1) << uint(footerBits)
		var node [numFullDistances >> 1]uint32
		treeNodePrices(e.posSpecial[base-slot:], node[:2<<footerBits])
		// The reverse tree codes the lowest bit first: the leaf of
		// footer r is r's bits reversed.
		for r := uint32(0); r < 1<<footerBits; r++ {
			footer[base+r] = node[1<<footerBits|bits.Reverse32(r)>>(32-footerBits)]
		}
	}
	for ls := 0; ls < numLenToPosStates; ls++ {
		sp := &e.posSlotPrices[ls]
		var node [2 << numPosSlotBits]uint32
		treeNodePrices(e.posSlots[ls][:], node[:1<<numPosSlotBits+distTableSize])
		copy(sp[:distTableSize], node[1<<numPosSlotBits:])
		for s := uint32(endPosModelIndex); s < distTableSize; s++ {
			sp[s] += (s>>1 - 1 - numAlignBits) << numBitPriceShiftBits
		}
		dp := &e.distPrices[ls]
		for d := uint32(0); d < startPosModelIndex; d++ {
			dp[d] = sp[d]
		}
		for d := uint32(startPosModelIndex); d < numFullDistances; d++ {
			dp[d] = sp[posSlot(d)] + footer[d]
		}
	}
	e.matchPriceCount = 0
}

// treeNodePrices sets node[m] to the price of reaching node m of a bit
// tree (node 1 the root, m's children 2m and 2m+1) for every m below
// len(node); a leaf's price is its symbol's treePrice.
func treeNodePrices(probs []prob, node []uint32) {
	node[1] = 0
	for m := 2; m < len(node); m++ {
		node[m] = node[m>>1] + priceBit(probs[m>>1], uint32(m&1))
	}
}

// distLenPrice is the price of a normal match's length and distance
// (without the isMatch/isRep bits).
func (e *Encoder) distLenPrice(dist, length, posState uint32) uint32 {
	return e.lenEnc.prices[posState][length-matchLenMin] + e.distPrice(dist, lenToPosState(length))
}

// distPrice is the price of a zero-based distance in length context ls.
func (e *Encoder) distPrice(dist, ls uint32) uint32 {
	if dist < numFullDistances {
		return e.distPrices[ls][dist]
	}
	return e.posSlotPrices[ls][posSlot(dist)] + e.alignPrices[dist&(alignTableSize-1)]
}

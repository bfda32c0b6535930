package deflate

// histogram counts the symbols of one block.
type histogram struct {
	lit  [numLitLen]uint32
	dist [numDist]uint32
}

func (h *histogram) reset() {
	clear(h.lit[:])
	clear(h.dist[:])
	h.lit[endOfBlock] = 1 // every block ends with symbol 256
}

func (h *histogram) add(toks []token) {
	for _, t := range toks {
		if !t.isMatch() {
			h.lit[t]++
			continue
		}
		h.lit[257+uint32(lengthSym[t.length()])]++
		h.dist[distSym(t.dist())]++
	}
}

func (h *histogram) merge(o *histogram) {
	for i := range h.lit {
		h.lit[i] += o.lit[i]
	}
	h.lit[endOfBlock]-- // one end-of-block for the merged block
	for i := range h.dist {
		h.dist[i] += o.dist[i]
	}
}

// extraBits is the number of length and distance extra bits, the same in
// fixed and dynamic blocks.
func (h *histogram) extraBits() uint64 {
	var n uint64
	for i := range lengthExtra {
		n += uint64(h.lit[257+i]) * uint64(lengthExtra[i])
	}
	for i := range distExtra {
		n += uint64(h.dist[i]) * uint64(distExtra[i])
	}
	return n
}

// fixedLitLen is the fixed literal/length code of RFC 1951 3.2.6; every
// fixed distance code is 5 bits.
func fixedLitLen(sym int) uint8 {
	switch {
	case sym < 144:
		return 8
	case sym < 256:
		return 9
	case sym < 280:
		return 7
	default:
		return 8
	}
}

// fixedCost is the size in bits of a fixed-code block with h's symbols.
func (h *histogram) fixedCost() uint64 {
	n := uint64(3) + h.extraBits()
	for i, f := range h.lit {
		n += uint64(f) * uint64(fixedLitLen(i))
	}
	for _, f := range h.dist {
		n += uint64(f) * 5
	}
	return n
}

// codeSet is a dynamic block's codes: the literal/length and distance
// codes and the code-length code that transmits them (RFC 1951 3.2.7).
type codeSet struct {
	litLen   [numLitLen]uint8
	litCode  [numLitLen]uint16
	distLen  [numDist]uint8
	distCode [numDist]uint16
	clLen    [numCodeLen]uint8
	clCode   [numCodeLen]uint16
	hlit     int      // literal/length lengths sent (257..286)
	hdist    int      // distance lengths sent (1..30)
	hclen    int      // code-length lengths sent (4..19)
	rle      []uint16 // code-length symbols: symbol | extra value << 5
	header   uint64   // header size in bits, block type bits included
}

// plan builds the dynamic codes for h and the run-length coded header
// (symbols 16, 17 and 18 of RFC 1951 3.2.7 for repeats and zero runs), and
// returns the block size in bits.
func (c *codeSet) plan(h *histogram, hs *huffScratch) uint64 {
	hs.buildLengths(h.lit[:], maxCodeLen, c.litLen[:])
	hs.buildLengths(h.dist[:], maxCodeLen, c.distLen[:])
	c.hlit = numLitLen
	for c.hlit > 257 && c.litLen[c.hlit-1] == 0 {
		c.hlit--
	}
	c.hdist = numDist
	for c.hdist > 1 && c.distLen[c.hdist-1] == 0 {
		c.hdist--
	}
	var all [numLitLen + numDist]uint8
	n := copy(all[:], c.litLen[:c.hlit])
	n += copy(all[n:], c.distLen[:c.hdist])
	lens := all[:n]

	// Repeat codes may run across the literal/length and distance
	// lengths: both form one sequence (RFC 1951 3.2.7).
	c.rle = c.rle[:0]
	var clFreq [numCodeLen]uint32
	emit := func(sym, extra uint16) {
		c.rle = append(c.rle, sym|extra<<5)
		clFreq[sym]++
	}
	for i := 0; i < len(lens); {
		v := lens[i]
		run := 1
		for i+run < len(lens) && lens[i+run] == v {
			run++
		}
		i += run
		if v == 0 {
			for run >= 11 {
				r := min(run, 138)
				emit(18, uint16(r-11))
				run -= r
			}
			if run >= 3 {
				emit(17, uint16(run-3))
				run = 0
			}
		} else {
			emit(uint16(v), 0)
			run--
			for run >= 3 {
				r := min(run, 6)
				emit(16, uint16(r-3))
				run -= r
			}
		}
		for ; run > 0; run-- {
			emit(uint16(v), 0)
		}
	}
	hs.buildLengths(clFreq[:], maxCLCode, c.clLen[:])
	c.hclen = numCodeLen
	for c.hclen > 4 && c.clLen[codeLenOrder[c.hclen-1]] == 0 {
		c.hclen--
	}
	bits := uint64(3 + 5 + 5 + 4 + 3*c.hclen)
	bits += uint64(clFreq[16])*2 + uint64(clFreq[17])*3 + uint64(clFreq[18])*7
	for i, f := range clFreq {
		bits += uint64(f) * uint64(c.clLen[i])
	}
	c.header = bits
	for i, f := range h.lit {
		bits += uint64(f) * uint64(c.litLen[i])
	}
	for i, f := range h.dist {
		bits += uint64(f) * uint64(c.distLen[i])
	}
	return bits + h.extraBits()
}

// writeHeader writes the dynamic block header planned by plan.
func (c *codeSet) writeHeader(w *bitWriter, final bool) {
	canonicalCodes(c.clLen[:], c.clCode[:])
	canonicalCodes(c.litLen[:], c.litCode[:])
	canonicalCodes(c.distLen[:], c.distCode[:])
	w.writeBits(finalBit(final)|2<<1, 3) // BTYPE 10: dynamic codes
	w.writeBits(uint64(c.hlit-257), 5)
	w.writeBits(uint64(c.hdist-1), 5)
	w.writeBits(uint64(c.hclen-4), 4)
	for i := 0; i < c.hclen; i++ {
		w.writeBits(uint64(c.clLen[codeLenOrder[i]]), 3)
	}
	for _, r := range c.rle {
		sym, extra := r&31, uint64(r>>5)
		w.writeBits(uint64(c.clCode[sym]), uint(c.clLen[sym]))
		switch sym {
		case 16:
			w.writeBits(extra, 2)
		case 17:
			w.writeBits(extra, 3)
		case 18:
			w.writeBits(extra, 7)
		}
	}
}

func finalBit(final bool) uint64 {
	if final {
		return 1
	}
	return 0
}

// setFixed loads the fixed codes of RFC 1951 3.2.6.
func (c *codeSet) setFixed() {
	// The canonical codes count all 288 literal/length and 32 distance
	// symbols of the fixed code, including the ones that never occur.
	var lens [288]uint8
	var codes [288]uint16
	for i := range lens {
		lens[i] = fixedLitLen(i)
	}
	canonicalCodes(lens[:], codes[:])
	copy(c.litLen[:], lens[:])
	copy(c.litCode[:], codes[:])
	for i := range lens[:32] {
		lens[i] = 5
	}
	canonicalCodes(lens[:32], codes[:32])
	copy(c.distLen[:], lens[:])
	copy(c.distCode[:], codes[:])
}

// writeTokens writes toks and the end-of-block symbol with c's codes.
func (c *codeSet) writeTokens(w *bitWriter, toks []token) {
	for _, t := range toks {
		if !t.isMatch() {
			w.writeBits(uint64(c.litCode[t]), uint(c.litLen[t]))
			continue
		}
		l, d := t.length(), t.dist()
		ls := lengthSym[l]
		sym := 257 + uint32(ls)
		ds := distSym(d)
		// One call for the length code and its extra bits, one for the
		// distance: each at most 15+5 and 15+13 bits.
		w.writeBits(uint64(c.litCode[sym])|uint64(l-uint32(lengthBase[ls]))<<c.litLen[sym],
			uint(c.litLen[sym])+uint(lengthExtra[ls]))
		w.writeBits(uint64(c.distCode[ds])|uint64(d-uint32(distBase[ds]))<<c.distLen[ds],
			uint(c.distLen[ds])+uint(distExtra[ds]))
	}
	w.writeBits(uint64(c.litCode[endOfBlock]), uint(c.litLen[endOfBlock]))
}

// storedCost is the size in bits of raw stored as stored blocks (at most
// 65535 bytes each, RFC 1951 3.2.4) starting at bit position pos mod 8.
func storedCost(n int, pos uint) uint64 {
	pieces := (n + 65534) / 65535
	if pieces == 0 {
		pieces = 1
	}
	first := (8 - (pos+3)&7) & 7 // padding after the first 3-bit header
	return uint64(3+first+32) + uint64(pieces-1)*(3+5+32) + uint64(n)*8
}

func writeStored(w *bitWriter, raw []byte, final bool) {
	for {
		n := min(len(raw), 65535)
		last := n == len(raw)
		w.writeBits(finalBit(final && last), 3) // BTYPE 00: stored
		w.alignByte()
		w.out = append(w.out, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		w.out = append(w.out, raw[:n]...)
		raw = raw[n:]
		if last {
			return
		}
	}
}

// writeBlock writes toks, which code raw, as the smallest of a dynamic,
// fixed or stored block.
func (e *Encoder) writeBlock(w *bitWriter, toks []token, raw []byte, final bool) {
	h := &e.hist
	h.reset()
	h.add(toks)
	dyn := e.codes.plan(h, &e.hs)
	fixed := h.fixedCost()
	stored := storedCost(len(raw), w.bitPos())
	switch {
	case stored < dyn && stored < fixed:
		writeStored(w, raw, final)
	case fixed <= dyn:
		e.codes.setFixed()
		w.writeBits(finalBit(final)|1<<1, 3) // BTYPE 01: fixed codes
		e.codes.writeTokens(w, toks)
	default:
		e.codes.writeHeader(w, final)
		e.codes.writeTokens(w, toks)
	}
}

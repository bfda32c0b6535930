package zstd

import "math/bits"

// FSE (tANS) coding of the sequence codes, RFC 8878 section 4.1.
//
// Everything here is derived from the decoding table the spec defines, so
// that the encoder cannot disagree with a decoder: the decoder's cell for
// state j holds a symbol s and, if j is the k-th cell of s in table order,
// the value n = count(s)+k. It reads nb = log - floor(log2 n) bits v and goes
// to state (n << nb) - size + v. The encoder runs the sequence backwards: to
// emit s while the decoder must land in state x afterwards, it finds the
// cell of s whose range [(n<<nb)-size, (n<<nb)-size+2^nb) holds x, writes
// the nb low bits of x+size and continues from that cell.

const (
	maxFSELog    = 9  // largest Accuracy_Log of the sequence tables
	maxOFLog     = 8  // Offsets: section 3.1.1.3.2.2 "Accuracy_Log ... 8"
	minFSELog    = 5  // Accuracy_Log = 5 + the 4-bit field (section 4.1.1)
	maxFSESymbol = 52 // the match-length codes are the largest alphabet
	costShift    = 16 // bit costs are fixed point with 16 fraction bits
)

// log2Fix[n] is log2(n) << costShift for n in 1..1<<maxFSELog, computed
// with integers only so that table choices (and so the output bytes) are
// the same on every platform.
var log2Fix [1<<maxFSELog + 1]uint32

func init() {
	for n := 1; n < len(log2Fix); n++ {
		log2Fix[n] = fixedLog2(uint32(n))
	}
}

// fixedLog2 computes log2(x) with costShift fraction bits by repeated
// squaring of the mantissa: each squaring that reaches 2 yields a one bit.
func fixedLog2(x uint32) uint32 {
	ip := uint32(bits.Len32(x) - 1)
	// m is x / 2^ip in 1.31 fixed point, in [1, 2).
	m := uint64(x) << (31 - ip)
	frac := uint32(0)
	for i := 0; i < costShift; i++ {
		m = (m * m) >> 31
		frac <<= 1
		if m >= 2<<31 {
			m >>= 1
			frac |= 1
		}
	}
	return ip<<costShift | frac
}

// fseTable is one FSE distribution with everything the encoder needs.
type fseTable struct {
	log  uint8
	nsym int // symbols 0..nsym-1 are described; the rest have count 0
	// norm holds the normalized counts; -1 is the "less than 1" probability
	// of section 4.1.1, which takes one cell at the end of the table.
	norm [maxFSESymbol + 1]int16
	// The encoder keeps its state as x+size, x the decoder state, so that
	// the number of bits to write and the next state come from shifts and
	// one table load (the encoding transform of the FSE design).
	// stateTable lists, symbol by symbol in increasing symbol order, the
	// cells of each symbol in increasing cell order, each as cell+size:
	// symbol s's k-th cell, reached from n = count(s)+k, sits at
	// n + symTT[s].deltaFindState.
	stateTable [1 << maxFSELog]uint16
	// symTT has an entry for every uint8, so that a code indexes it
	// without a bounds check.
	symTT [256]fseSymbolTransform
	// bitCost[s] is the approximate cost of s, log - log2(count), in
	// 1/2^costShift bits; 0 when s cannot be coded.
	bitCost [maxFSESymbol + 1]uint32
}

// fseSymbolTransform is what encoding one symbol s needs. s, with count c,
// writes mb = log - floor(log2(c-1)) bits (log for c = 1) when the state
// x+size is at least c<<mb, else mb-1: the decoder's cell value n =
// (x+size) >> nb must land in [c, 2c). deltaNbBits = mb<<16 - c<<mb turns
// that comparison into nb = (x+size+deltaNbBits) >> 16, as x+size < 2^16.
// (For the one-cell table of RLE_Mode, log 0, the difference is negative;
// the uint32 sum still wraps to 0 bits.) deltaFindState = first(s) - c
// places n in stateTable.
type fseSymbolTransform struct {
	deltaNbBits    uint32
	deltaFindState int32
}

// build fills t from a normalized distribution whose counts (with -1
// counting as 1) sum to 1<<log. It spreads the symbols over the table
// exactly as section 4.1.1 prescribes.
func (t *fseTable) build(norm []int16, log uint8) {
	size := 1 << log
	t.log = log
	t.nsym = len(norm)
	var symOf [1 << maxFSELog]uint8
	high := size - 1
	for s, c := range norm {
		t.norm[s] = c
		if c == -1 {
			symOf[high] = uint8(s)
			high--
		}
	}
	for s := len(norm); s <= maxFSESymbol; s++ {
		t.norm[s] = 0
	}
	mask := size - 1
	step := size>>1 + size>>3 + 3
	pos := 0
	for s, c := range norm {
		for i := 0; i < int(c); i++ {
			symOf[pos] = uint8(s)
			pos = (pos + step) & mask
			for pos > high {
				pos = (pos + step) & mask
			}
		}
	}
	var next [maxFSESymbol + 1]uint16
	start := 0
	for s := 0; s <= maxFSESymbol; s++ {
		c := int(t.norm[s])
		if c == -1 {
			c = 1
		}
		next[s] = uint16(start)
		t.symTT[s].deltaFindState = int32(start - c)
		start += c
		switch c {
		case 0:
			t.symTT[s].deltaNbBits = 0
			t.bitCost[s] = 0
		case 1:
			// n is always 1: the decoder reads all log bits.
			t.symTT[s].deltaNbBits = uint32(log)<<16 - uint32(size)
			t.bitCost[s] = uint32(log) << costShift
		default:
			mb := uint32(log) - uint32(bits.Len(uint(c-1))-1)
			t.symTT[s].deltaNbBits = mb<<16 - uint32(c)<<mb
			t.bitCost[s] = uint32(log)<<costShift - log2Fix[c]
		}
	}
	for cell := 0; cell < size; cell++ {
		s := symOf[cell]
		t.stateTable[next[s]] = uint16(cell + size)
		next[s]++
	}
}

// buildRLE makes the one-symbol table of RLE_Mode: Accuracy_Log 0, a single
// state that decodes sym and reads no bits (section 3.1.1.3.2.1).
func (t *fseTable) buildRLE(sym uint8) {
	var norm [maxFSESymbol + 1]int16
	norm[sym] = 1
	t.build(norm[:int(sym)+1], 0)
}

// covers reports whether every symbol with a non-zero hist entry can be
// coded with t.
func (t *fseTable) covers(hist []uint32) bool {
	for s, h := range hist {
		if h != 0 && (s >= t.nsym || t.norm[s] == 0) {
			return false
		}
	}
	return true
}

// cost returns the approximate payload size in fixed-point bits of coding
// hist with t (t must cover hist).
func (t *fseTable) cost(hist []uint32) uint64 {
	var c uint64
	for s, h := range hist {
		c += uint64(h) * uint64(t.bitCost[s])
	}
	return c
}

// firstState is the encoder state (cell+size) of s's first cell: the state
// for the symbol the decoder reads first from its initial state (the last
// one the encoder handles). Any cell of s would do; the first is the
// format's choice here.
func (t *fseTable) firstState(s uint8) uint32 {
	c := int32(t.norm[s])
	if c < 0 {
		c = 1
	}
	return uint32(t.stateTable[t.symTT[s].deltaFindState+c])
}

// normalizeCounts spreads 1<<log probability points over the symbols of hist
// (total = sum of hist, > 0) so that sum over s of hist[s]*log2(size/n[s]),
// the coded size, is minimal among distributions that give each present
// symbol at least one point. The cost is separable and convex in each n[s],
// so it starts from the proportional share and then moves single points
// while that lowers the cost; when no single move helps the optimum is
// reached. It returns false if 1<<log points cannot cover the symbols.
//
// The encoder runs this for every kind, every candidate Accuracy_Log and
// every block, so the searches look only at the present symbols and keep
// each one's gain (of one more point) and loss (of one point fewer) until
// its count changes. Ties go to the lowest symbol.
func normalizeCounts(norm []int16, hist []uint32, total uint32, log uint8) bool {
	size := uint32(1) << log
	sum := uint32(0)
	var presentBuf [maxFSESymbol + 1]uint8
	present := presentBuf[:0]
	for s, h := range hist {
		if h == 0 {
			norm[s] = 0
			continue
		}
		n := max(uint32(uint64(h)*uint64(size)/uint64(total)), 1)
		norm[s] = int16(n)
		sum += n
		present = append(present, uint8(s))
	}
	for s := len(hist); s < len(norm); s++ {
		norm[s] = 0
	}
	// gain[i] and loss[i] are in the fixed-point bits of log2Fix, for
	// symbol present[i]; canLose[i] says it has a point to spare.
	var gain, loss [maxFSESymbol + 1]uint64
	var canLose [maxFSESymbol + 1]bool
	update := func(i int) {
		s := present[i]
		n, h := norm[s], uint64(hist[s])
		gain[i] = 0
		if uint32(n) < size {
			gain[i] = h * uint64(log2Fix[n+1]-log2Fix[n])
		}
		canLose[i] = n > 1
		if n > 1 {
			loss[i] = h * uint64(log2Fix[n]-log2Fix[n-1])
		}
	}
	for i := range present {
		update(i)
	}
	bestGain := func() int {
		best := 0
		for i := 1; i < len(present); i++ {
			if gain[i] > gain[best] {
				best = i
			}
		}
		return best
	}
	leastLoss := func(except int) int {
		best := -1
		for i := range present {
			if canLose[i] && i != except && (best < 0 || loss[i] < loss[best]) {
				best = i
			}
		}
		return best
	}
	for sum > size {
		i := leastLoss(-1)
		if i < 0 {
			return false
		}
		norm[present[i]]--
		sum--
		update(i)
	}
	for sum < size {
		i := bestGain()
		norm[present[i]]++
		sum++
		update(i)
	}
	// Swap points while a move lowers the cost (strictly, so it ends).
	for iter := 0; iter < 4*int(size); iter++ {
		a := bestGain()
		b := leastLoss(a)
		if b < 0 || gain[a] <= loss[b] {
			break
		}
		norm[present[a]]++
		norm[present[b]]--
		update(a)
		update(b)
	}
	return true
}

// appendFSETableDescription writes norm (counts of symbols 0..len-1) as an
// FSE_Table_Description, section 4.1.1: the Accuracy_Log minus 5 in 4 bits,
// then each symbol's count plus one in a variable number of bits that
// depends on the points still unassigned, and after a zero count 2-bit
// flags that repeat it. It stops once all points are assigned.
func appendFSETableDescription(dst []byte, norm []int16, log uint8) []byte {
	var b bitWriter
	b.reset(dst)
	b.addBits(uint64(log-minFSELog), 4)
	remaining := int32(1)<<log + 1
	threshold := int32(1) << log
	nbBits := uint(log) + 1
	for s := 0; s < len(norm) && remaining > 1; s++ {
		count := int32(norm[s])
		value := count + 1
		max := 2*threshold - 1 - remaining
		switch {
		case value < max:
			b.addBits(uint64(value), nbBits-1)
		case value < threshold:
			b.addBits(uint64(value), nbBits)
		default:
			b.addBits(uint64(value+max), nbBits)
		}
		if count < 0 {
			remaining += count
		} else {
			remaining -= count
		}
		for remaining < threshold {
			nbBits--
			threshold >>= 1
		}
		if count == 0 {
			// The run of zeros that follows is coded as repeat flags.
			z := 0
			for s+1+z < len(norm) && norm[s+1+z] == 0 {
				z++
			}
			s += z
			for ; z >= 3; z -= 3 {
				b.addBits(3, 2)
			}
			b.addBits(uint64(z), 2)
		}
	}
	return b.finish()
}

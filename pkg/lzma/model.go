package lzma

import "math/bits"

// Model constants from lzma-specification.txt ("The match length decoder",
// "The distance decoder", "LZMA Decoding modes").
const (
	numStates          = 12
	posStatesBitsMax   = 4
	numPosStatesMax    = 1 << posStatesBitsMax
	matchLenMin        = 2
	matchLenMax        = 273
	numLenSymbols      = matchLenMax - matchLenMin + 1
	lenLowBits         = 3
	lenMidBits         = 3
	lenHighBits        = 8
	lenLowSymbols      = 1 << lenLowBits
	lenMidSymbols      = 1 << lenMidBits
	numLenToPosStates  = 4
	numPosSlotBits     = 6
	startPosModelIndex = 4
	endPosModelIndex   = 14
	numFullDistances   = 1 << (endPosModelIndex >> 1)
	numAlignBits       = 4
	alignTableSize     = 1 << numAlignBits
	numLitStates       = 7
	numReps            = 4
)

// State transitions of the specification's UpdateState_* functions.
func stateLiteral(s uint32) uint32 {
	switch {
	case s < 4:
		return 0
	case s < 10:
		return s - 3
	default:
		return s - 6
	}
}

func stateMatch(s uint32) uint32 {
	if s < numLitStates {
		return 7
	}
	return 10
}

func stateRep(s uint32) uint32 {
	if s < numLitStates {
		return 8
	}
	return 11
}

func stateShortRep(s uint32) uint32 {
	if s < numLitStates {
		return 9
	}
	return 11
}

// lenToPosState maps a match length to the distance slot context.
func lenToPosState(length uint32) uint32 {
	if length < numLenToPosStates+matchLenMin {
		return length - matchLenMin
	}
	return numLenToPosStates - 1
}

// posSlot returns the distance slot of a zero-based distance: the top two
// bits of the distance and the position of the highest one.
func posSlot(dist uint32) uint32 {
	if dist < startPosModelIndex {
		return dist
	}
	n := uint32(bits.Len32(dist)) - 1
	return n<<1 | (dist>>(n-1))&1
}

func initProbs(p []prob) {
	for i := range p {
		p[i] = probInit
	}
}

// encodeTree codes symbol as a bit tree of numBits bits, most significant
// bit first; probs[1] is the root (BitTreeDecode in the specification).
func (rc *rangeEncoder) encodeTree(probs []prob, numBits int, symbol uint32) {
	m := uint32(1)
	for i := numBits - 1; i >= 0; i-- {
		b := (symbol >> uint(i)) & 1
		rc.encodeBit(&probs[m], b)
		m = m<<1 | b
	}
}

// encodeReverseTree is BitTreeReverseDecode's counterpart: least
// significant bit first.
func (rc *rangeEncoder) encodeReverseTree(probs []prob, numBits int, symbol uint32) {
	m := uint32(1)
	for i := 0; i < numBits; i++ {
		b := symbol & 1
		symbol >>= 1
		rc.encodeBit(&probs[m], b)
		m = m<<1 | b
	}
}

func treePrice(probs []prob, numBits int, symbol uint32) uint32 {
	var price uint32
	m := uint32(1)
	for i := numBits - 1; i >= 0; i-- {
		b := (symbol >> uint(i)) & 1
		price += priceBit(probs[m], b)
		m = m<<1 | b
	}
	return price
}

func reverseTreePrice(probs []prob, numBits int, symbol uint32) uint32 {
	var price uint32
	m := uint32(1)
	for i := 0; i < numBits; i++ {
		b := symbol & 1
		symbol >>= 1
		price += priceBit(probs[m], b)
		m = m<<1 | b
	}
	return price
}

// lenEncoder codes match lengths minus matchLenMin: choice selects the low
// (0-7, per pos state), mid (8-15, per pos state) or high (16-271) tree.
type lenEncoder struct {
	choice  prob
	choice2 prob
	low     [numPosStatesMax][lenLowSymbols]prob
	mid     [numPosStatesMax][lenMidSymbols]prob
	high    [1 << lenHighBits]prob

	prices  [numPosStatesMax][numLenSymbols]uint32
	counter int
}

func (le *lenEncoder) reset() {
	le.choice = probInit
	le.choice2 = probInit
	for i := range le.low {
		initProbs(le.low[i][:])
		initProbs(le.mid[i][:])
	}
	initProbs(le.high[:])
	le.counter = 0
}

func (le *lenEncoder) encode(rc *rangeEncoder, l, posState uint32) {
	switch {
	case l < lenLowSymbols:
		rc.encodeBit(&le.choice, 0)
		rc.encodeTree(le.low[posState][:], lenLowBits, l)
	case l < lenLowSymbols+lenMidSymbols:
		rc.encodeBit(&le.choice, 1)
		rc.encodeBit(&le.choice2, 0)
		rc.encodeTree(le.mid[posState][:], lenMidBits, l-lenLowSymbols)
	default:
		rc.encodeBit(&le.choice, 1)
		rc.encodeBit(&le.choice2, 1)
		rc.encodeTree(le.high[:], lenHighBits, l-lenLowSymbols-lenMidSymbols)
	}
	le.counter--
}

// updatePrices refreshes the price table of the first numSymbols lengths
// for the used pos states; the table lags the adaptive model a little,
// which costs far less than pricing every length from the probabilities.
func (le *lenEncoder) updatePrices(numPosStates int, numSymbols int) {
	a0 := price0(le.choice)
	a1 := price1(le.choice)
	b0 := a1 + price0(le.choice2)
	b1 := a1 + price1(le.choice2)
	for ps := 0; ps < numPosStates; ps++ {
		p := &le.prices[ps]
		i := 0
		for ; i < lenLowSymbols && i < numSymbols; i++ {
			p[i] = a0 + treePrice(le.low[ps][:], lenLowBits, uint32(i))
		}
		for ; i < lenLowSymbols+lenMidSymbols && i < numSymbols; i++ {
			p[i] = b0 + treePrice(le.mid[ps][:], lenMidBits, uint32(i-lenLowSymbols))
		}
		if ps == 0 {
			for ; i < numSymbols; i++ {
				p[i] = b1 + treePrice(le.high[:], lenHighBits, uint32(i-lenLowSymbols-lenMidSymbols))
			}
		} else {
			copy(p[i:numSymbols], le.prices[0][i:numSymbols])
		}
	}
	le.counter = 64
}

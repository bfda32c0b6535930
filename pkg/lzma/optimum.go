package lzma

import "encoding/binary"

// Near-optimal parsing: from the current position, every way to reach the
// following positions (literal, short rep, rep0-3 matches of every length,
// normal matches of every length, and the combinations rep/match + literal
// + rep0 that LZMA codes cheaply) is priced with the adaptive model's bit
// prices, and the cheapest path is kept per position (dynamic programming
// in the order of positions). The look-ahead ends where no candidate
// reaches further, where a match of at least niceLen starts, or after
// numOpts positions; the cheapest path to the end is then coded. State and
// rep distances are tracked per position along the best path, so later
// positions are priced in the context the decoder will actually be in.

const numOpts = 1 << 12

type optNode struct {
	price   uint32
	posPrev int32
	// backPrev is -1 for a literal, 0-3 for rep0-3 (with a length of one
	// and rep 0: a short rep), 4+dist for a normal match.
	backPrev int32
	// prev1IsChar: the node is reached by a literal at posPrev-1 then a
	// rep0 match from posPrev; prev2: the literal follows a match or rep
	// (backPrev2) from posPrev2.
	prev1IsChar bool
	prev2       bool
	posPrev2    int32
	backPrev2   int32

	state uint32
	reps  [numReps]uint32
}

// set records a plain step (literal, short rep, rep or match) into the
// node; the state and reps are filled in when the parser reaches it.
func (n *optNode) set(price uint32, posPrev, backPrev int32) {
	n.price = price
	n.posPrev = posPrev
	n.backPrev = backPrev
	n.prev1IsChar = false
}

// optimizer holds the parser's state between symbols.
type optimizer struct {
	opt    []optNode
	steps  []step
	stepAt int
	rev    []step

	cached     []match
	haveCached bool
}

func (o *optimizer) init() {
	o.opt = make([]optNode, numOpts+1)
	o.steps = make([]step, 0, numOpts)
	o.rev = make([]step, 0, numOpts)
	o.cached = make([]match, 0, matchLenMax+8)
}

func (o *optimizer) reset() {
	o.steps = o.steps[:0]
	o.stepAt = 0
	o.haveCached = false
}

// next returns the decision for pos, parsing a new stretch when the
// previous one is used up.
func (o *optimizer) next(e *Encoder, pos int) step {
	if o.stepAt < len(o.steps) {
		s := o.steps[o.stepAt]
		o.stepAt++
		return s
	}
	o.steps = o.steps[:0]
	o.stepAt = 1
	o.optimum(e, pos)
	return o.steps[0]
}

func (o *optimizer) emit(s step) {
	o.steps = append(o.steps, s)
}

func (e *Encoder) repLen1Price(state, posState uint32) uint32 {
	return price0(e.isRepG0[state]) + price0(e.isRep0Long[state<<posStatesBitsMax+posState])
}

func (e *Encoder) pureRepPrice(rep int, state, posState uint32) uint32 {
	if rep == 0 {
		return price0(e.isRepG0[state]) + price1(e.isRep0Long[state<<posStatesBitsMax+posState])
	}
	p := price1(e.isRepG0[state])
	if rep == 1 {
		return p + price0(e.isRepG1[state])
	}
	return p + price1(e.isRepG1[state]) + priceBit(e.isRepG2[state], uint32(rep-2))
}

func (o *optimizer) optimum(e *Encoder, pos int) {
	src := e.src
	nice := e.niceLen
	pbMask := e.pbMask
	var ms []match
	if o.haveCached {
		ms = o.cached
		o.haveCached = false
	} else {
		ms = e.mf.find()
	}
	mainLen := 0
	if len(ms) > 0 {
		mainLen = int(ms[len(ms)-1].len)
	}
	numAvail := min(len(src)-pos, matchLenMax)
	if numAvail < 2 {
		o.emit(step{len: 1, lit: true})
		return
	}

	var repLens [numReps]int
	repMax := 0
	for i := 0; i < numReps; i++ {
		d := int(e.reps[i]) + 1
		if d > pos {
			continue
		}
		b := pos - d
		if binary.LittleEndian.Uint16(src[pos:]) != binary.LittleEndian.Uint16(src[b:]) {
			continue
		}
		l := extend(src, pos, b, 2, numAvail)
		repLens[i] = l
		if l > repLens[repMax] {
			repMax = i
		}
	}
	if repLens[repMax] >= nice {
		l := repLens[repMax]
		o.emit(step{len: uint32(l), dist: e.reps[repMax]})
		e.mf.skip(l - 1)
		return
	}
	if mainLen >= nice {
		o.emit(step{len: uint32(mainLen), dist: ms[len(ms)-1].dist})
		e.mf.skip(mainLen - 1)
		return
	}

	curByte := src[pos]
	rep0Valid := int(e.reps[0]) < pos
	var matchByte byte
	if rep0Valid {
		matchByte = src[pos-int(e.reps[0])-1]
	}
	shortRepOK := rep0Valid && matchByte == curByte
	if mainLen < 2 && !shortRepOK && repLens[repMax] < 2 {
		o.emit(step{len: 1, lit: true})
		return
	}

	opt := o.opt
	state := e.state
	posState := uint32(pos) & pbMask
	opt[0].state = state
	opt[0].reps = e.reps
	isMatchIdx := state<<posStatesBitsMax + posState
	opt[1] = optNode{
		price:    price0(e.isMatch[isMatchIdx]) + e.literalPrice(pos, state, e.reps[0]),
		posPrev:  0,
		backPrev: -1,
	}
	matchPrice := price1(e.isMatch[isMatchIdx])
	repMatchPrice := matchPrice + price1(e.isRep[state])
	if shortRepOK {
		p := repMatchPrice + e.repLen1Price(state, posState)
		if p < opt[1].price {
			opt[1].price = p
			opt[1].backPrev = 0
		}
	}
	lenEnd := max(mainLen, repLens[repMax])
	if lenEnd < 2 {
		if opt[1].backPrev == 0 {
			o.emit(step{len: 1, dist: e.reps[0]})
		} else {
			o.emit(step{len: 1, lit: true})
		}
		return
	}
	for l := 2; l <= lenEnd; l++ {
		opt[l].price = infinityPrice
	}
	for i := 0; i < numReps; i++ {
		rl := repLens[i]
		if rl < 2 {
			continue
		}
		price := repMatchPrice + e.pureRepPrice(i, state, posState)
		lp := &e.repLenEnc.prices[posState]
		for l := rl; l >= 2; l-- {
			p := price + lp[l-matchLenMin]
			if p < opt[l].price {
				opt[l].set(p, 0, int32(i))
			}
		}
	}
	normalMatchPrice := matchPrice + price0(e.isRep[state])
	l := 2
	if repLens[0] >= 2 {
		l = repLens[0] + 1
	}
	if l <= mainLen {
		offs := 0
		for uint32(l) > ms[offs].len {
			offs++
		}
		for ; ; l++ {
			dist := ms[offs].dist
			p := normalMatchPrice + e.distLenPrice(dist, uint32(l), posState)
			if p < opt[l].price {
				opt[l].set(p, 0, int32(dist)+numReps)
			}
			if uint32(l) == ms[offs].len {
				offs++
				if offs == len(ms) {
					break
				}
			}
		}
	}

	cur := 0
	for {
		cur++
		if cur == lenEnd {
			o.backward(cur)
			return
		}
		ms = e.mf.find()
		newLen := 0
		if len(ms) > 0 {
			newLen = int(ms[len(ms)-1].len)
		}
		if newLen >= nice {
			o.cached = append(o.cached[:0], ms...)
			o.haveCached = true
			o.backward(cur)
			return
		}
		position := pos + cur
		c := &opt[cur]

		// State and reps at cur along the best path to it.
		posPrev := int(c.posPrev)
		var st uint32
		if c.prev1IsChar {
			posPrev--
			if c.prev2 {
				st = opt[c.posPrev2].state
				if c.backPrev2 < numReps {
					st = stateRep(st)
				} else {
					st = stateMatch(st)
				}
			} else {
				st = opt[posPrev].state
			}
			st = stateLiteral(st)
		} else {
			st = opt[posPrev].state
		}
		var reps [numReps]uint32
		if posPrev == cur-1 {
			if c.backPrev == 0 {
				st = stateShortRep(st)
			} else {
				st = stateLiteral(st)
			}
			reps = opt[posPrev].reps
		} else {
			var back int32
			if c.prev1IsChar && c.prev2 {
				posPrev = int(c.posPrev2)
				back = c.backPrev2
				st = stateRep(st)
			} else {
				back = c.backPrev
				if back < numReps {
					st = stateRep(st)
				} else {
					st = stateMatch(st)
				}
			}
			pr := &opt[posPrev].reps
			if back < numReps {
				reps[0] = pr[back]
				j := 1
				for i := int32(0); i < numReps; i++ {
					if i != back {
						reps[j] = pr[i]
						j++
					}
				}
			} else {
				reps = [numReps]uint32{uint32(back - numReps), pr[0], pr[1], pr[2]}
			}
		}
		c.state = st
		c.reps = reps

		curPrice := c.price
		curByte := src[position]
		matchByte := src[position-int(reps[0])-1]
		ps := uint32(position) & pbMask
		mi := st<<posStatesBitsMax + ps
		// Prices only add up, so a path whose price without its literal
		// already loses cannot win with it: the literal's price (eight
		// table lookups) is computed only where the comparison needs it.
		// litBase is the literal's path without the literal itself.
		litBase := curPrice + price0(e.isMatch[mi])
		cur1Price, litPriced := uint32(0), false
		next := &opt[cur+1]
		nextIsChar := false
		if litBase < next.price {
			cur1Price, litPriced = litBase+e.literalPrice(position, st, reps[0]), true
			if cur1Price < next.price {
				next.set(cur1Price, int32(cur), -1)
				nextIsChar = true
			}
		}
		matchPrice := curPrice + price1(e.isMatch[mi])
		repMatchPrice := matchPrice + price1(e.isRep[st])
		if matchByte == curByte && (int(next.posPrev) >= cur || next.backPrev != 0) {
			p := repMatchPrice + e.repLen1Price(st, ps)
			if p <= next.price {
				next.set(p, int32(cur), 0)
				nextIsChar = true
			}
		}
		numAvailFull := min(len(src)-position, numOpts-1-cur)
		if numAvailFull < 2 {
			continue
		}
		numAvail := min(numAvailFull, nice)

		// Literal then rep0.
		if !nextIsChar && matchByte != curByte {
			t := min(numAvailFull-1, nice)
			b := position - int(reps[0])
			// Only a rep0 of two or more bytes counts: two bytes
			// are compared here before extend is called.
			l2 := 0
			if t >= 2 && binary.LittleEndian.Uint16(src[position+1:]) == binary.LittleEndian.Uint16(src[b:]) {
				l2 = extend(src, position+1, b, 2, t)
			}
			if l2 >= 2 {
				st2 := stateLiteral(st)
				ps2 := uint32(position+1) & pbMask
				rest := price1(e.isMatch[st2<<posStatesBitsMax+ps2]) + price1(e.isRep[st2]) +
					e.pureRepPrice(0, st2, ps2) + e.repLenEnc.prices[ps2][l2-matchLenMin]
				offset := cur + 1 + l2
				for lenEnd < offset {
					lenEnd++
					opt[lenEnd].price = infinityPrice
				}
				if litBase+rest < opt[offset].price {
					if !litPriced {
						cur1Price, litPriced = litBase+e.literalPrice(position, st, reps[0]), true
					}
					if p := cur1Price + rest; p < opt[offset].price {
						opt[offset] = optNode{price: p, posPrev: int32(cur + 1), backPrev: 0, prev1IsChar: true}
					}
				}
			}
		}

		startLen := 2
		head2 := binary.LittleEndian.Uint16(src[position:])
		for ri := 0; ri < numReps; ri++ {
			b := position - int(reps[ri]) - 1
			if binary.LittleEndian.Uint16(src[b:]) != head2 {
				continue
			}
			rl := extend(src, position, b, 2, numAvail)
			for lenEnd < cur+rl {
				lenEnd++
				opt[lenEnd].price = infinityPrice
			}
			price := repMatchPrice + e.pureRepPrice(ri, st, ps)
			lp := &e.repLenEnc.prices[ps]
			for l := rl; l >= 2; l-- {
				p := price + lp[l-matchLenMin]
				if nd := &opt[cur+l]; p < nd.price {
					nd.set(p, int32(cur), int32(ri))
				}
			}
			if ri == 0 {
				startLen = rl + 1
			}
			// Rep, literal, rep0.
			l2 := 0
			if limit := min(numAvailFull, rl+1+nice); rl+3 <= limit &&
				binary.LittleEndian.Uint16(src[position+rl+1:]) == binary.LittleEndian.Uint16(src[b+rl+1:]) {
				l2 = extend(src, position, b, rl+3, limit) - (rl + 1)
			}
			if l2 >= 2 {
				st2 := stateRep(st)
				ps2 := uint32(position+rl) & pbMask
				p := price + lp[rl-matchLenMin] + price0(e.isMatch[st2<<posStatesBitsMax+ps2])
				st2 = stateLiteral(st2)
				ps2 = uint32(position+rl+1) & pbMask
				p += price1(e.isMatch[st2<<posStatesBitsMax+ps2]) + price1(e.isRep[st2]) +
					e.pureRepPrice(0, st2, ps2) + e.repLenEnc.prices[ps2][l2-matchLenMin]
				offset := cur + rl + 1 + l2
				for lenEnd < offset {
					lenEnd++
					opt[lenEnd].price = infinityPrice
				}
				// The literal's price last, as above: only if the
				// path can still win.
				if p < opt[offset].price {
					p += e.matchedLiteralPrice(position+rl, uint32(src[position+rl]), uint32(src[b+rl]))
					if p < opt[offset].price {
						opt[offset] = optNode{price: p, posPrev: int32(cur + rl + 1), backPrev: 0,
							prev1IsChar: true, prev2: true, posPrev2: int32(cur), backPrev2: int32(ri)}
					}
				}
			}
		}

		if newLen > numAvail {
			newLen = numAvail
			i := 0
			for int(ms[i].len) < newLen {
				i++
			}
			ms = ms[:i+1]
			ms[i].len = uint32(newLen)
		}
		if newLen < startLen {
			continue
		}
		normalMatchPrice := matchPrice + price0(e.isRep[st])
		for lenEnd < cur+newLen {
			lenEnd++
			opt[lenEnd].price = infinityPrice
		}
		offs := 0
		for uint32(startLen) > ms[offs].len {
			offs++
		}
		dist := ms[offs].dist
		// From length 5 on the distance is coded in the same context,
		// so its price is computed once per distance.
		lenPrices := &e.lenEnc.prices[ps]
		far := normalMatchPrice + e.distPrice(dist, numLenToPosStates-1)
		for l := startLen; ; l++ {
			var p uint32
			if l >= numLenToPosStates+matchLenMin {
				p = far + lenPrices[l-matchLenMin]
			} else {
				// distLenPrice spelled out: the call is just over
				// the inlining budget and this is the parser's
				// innermost loop. Below 6 the length is its own
				// distance context (lenToPosState).
				p = normalMatchPrice + lenPrices[l-matchLenMin] + e.distPrice(dist, uint32(l-matchLenMin))
			}
			if nd := &opt[cur+l]; p < nd.price {
				nd.set(p, int32(cur), int32(dist)+numReps)
			}
			if uint32(l) != ms[offs].len {
				continue
			}
			// Match, literal, rep0.
			b := position - int(dist) - 1
			l2 := 0
			if limit := min(numAvailFull, l+1+nice); l+3 <= limit &&
				binary.LittleEndian.Uint16(src[position+l+1:]) == binary.LittleEndian.Uint16(src[b+l+1:]) {
				l2 = extend(src, position, b, l+3, limit) - (l + 1)
			}
			if l2 >= 2 {
				st2 := stateMatch(st)
				ps2 := uint32(position+l) & pbMask
				p += price0(e.isMatch[st2<<posStatesBitsMax+ps2])
				st2 = stateLiteral(st2)
				ps2 = uint32(position+l+1) & pbMask
				p += price1(e.isMatch[st2<<posStatesBitsMax+ps2]) + price1(e.isRep[st2]) +
					e.pureRepPrice(0, st2, ps2) + e.repLenEnc.prices[ps2][l2-matchLenMin]
				offset := cur + l + 1 + l2
				for lenEnd < offset {
					lenEnd++
					opt[lenEnd].price = infinityPrice
				}
				if p < opt[offset].price {
					p += e.matchedLiteralPrice(position+l, uint32(src[position+l]), uint32(src[b+l]))
					if p < opt[offset].price {
						opt[offset] = optNode{price: p, posPrev: int32(cur + l + 1), backPrev: 0,
							prev1IsChar: true, prev2: true, posPrev2: int32(cur), backPrev2: int32(dist) + numReps}
					}
				}
			}
			offs++
			if offs == len(ms) {
				break
			}
			dist = ms[offs].dist
			far = normalMatchPrice + e.distPrice(dist, numLenToPosStates-1)
		}
	}
}

// distOf is the real zero-based distance of a step taken from node a.
func (o *optimizer) distOf(a int32, back int32) uint32 {
	if back >= numReps {
		return uint32(back - numReps)
	}
	return o.opt[a].reps[back]
}

// backward follows the best path from node end back to 0 and queues its
// steps in coding order.
func (o *optimizer) backward(end int) {
	opt := o.opt
	rev := o.rev[:0]
	node := int32(end)
	for node > 0 {
		c := &opt[node]
		if c.prev1IsChar {
			litAt := c.posPrev - 1
			var d uint32
			if c.prev2 {
				d = o.distOf(c.posPrev2, c.backPrev2)
			} else {
				d = opt[litAt].reps[0]
			}
			rev = append(rev, step{len: uint32(node - c.posPrev), dist: d}, step{len: 1, lit: true})
			if c.prev2 {
				rev = append(rev, step{len: uint32(litAt - c.posPrev2), dist: d})
				node = c.posPrev2
			} else {
				node = litAt
			}
			continue
		}
		l := node - c.posPrev
		switch {
		case c.backPrev < 0:
			rev = append(rev, step{len: 1, lit: true})
		default:
			rev = append(rev, step{len: uint32(l), dist: o.distOf(c.posPrev, c.backPrev)})
		}
		node = c.posPrev
	}
	for i := len(rev) - 1; i >= 0; i-- {
		o.steps = append(o.steps, rev[i])
	}
	o.rev = rev
}

package zstd

// The optimal parser: within a block, the cheapest way to code the bytes is
// a shortest path over positions, where a literal moves one byte on at the
// price of the byte plus the change in its literal-length code, and a match
// moves its length on at the price of its literal-length (zero), match-length
// and offset codes and their extra bits (RFC 8878 section 3.1.1.3.2). The
// path is found forward, position by position: every node's cheapest arrival
// is known when the walk reaches it, so the repeat offsets (section 3.1.1.5)
// are tracked along that arrival exactly as the decoder will have them, and a
// match whose distance is a current repeat offset is priced as the cheap
// repeat code it will be written as.
//
// A stretch ends where no candidate reaches further than the position just
// reached, or at a match of niceLen or more, which is taken at once (long
// matches are nearly always right, and the positions they cover need no
// search). The stretch's path is then emitted as sequences and the walk
// starts again from its end.

// repeatOffsets are the decoder's three repeat offsets (section 3.1.1.5),
// most recent first. A frame starts with 1, 4, 8.
type repeatOffsets [3]uint32

var initialRepeats = repeatOffsets{1, 4, 8}

// offValueFor returns the Offset_Value that codes distance d after litLen
// literals: a repeat code when d is one of the offsets a repeat code can
// name in that context, else d+3.
func (r *repeatOffsets) offValueFor(d, litLen uint32) uint32 {
	if litLen > 0 {
		switch d {
		case r[0]:
			return 1
		case r[1]:
			return 2
		case r[2]:
			return 3
		}
		return d + 3
	}
	// With no literals before the match, 1 and 2 name the second and
	// third offsets and 3 names the first minus one.
	switch d {
	case r[1]:
		return 1
	case r[2]:
		return 2
	case r[0] - 1:
		return 3
	}
	return d + 3
}

// repDistance returns the distance repeat code ov (1..3) names after litLen
// literals.
func (r *repeatOffsets) repDistance(ov, litLen uint32) uint32 {
	if litLen > 0 {
		return r[ov-1]
	}
	if ov == 3 {
		return r[0] - 1
	}
	return r[ov]
}

// next returns the offsets after a sequence with Offset_Value ov and litLen
// literals: a new offset pushes the others down; a repeat code moves the
// offset it named to the front (rep0 with literals changes nothing).
func (r *repeatOffsets) next(ov, litLen uint32) repeatOffsets {
	if ov > 3 {
		return repeatOffsets{ov - 3, r[0], r[1]}
	}
	idx := ov - 1
	if litLen == 0 {
		idx++
	}
	switch idx {
	case 0:
		return *r
	case 1:
		return repeatOffsets{r[1], r[0], r[2]}
	case 2:
		return repeatOffsets{r[2], r[0], r[1]}
	}
	return repeatOffsets{r[0] - 1, r[0], r[1]}
}

// after returns the offsets after seqs.
func (r repeatOffsets) after(seqs []Sequence) repeatOffsets {
	for _, q := range seqs {
		r = r.next(q.OffValue, q.LitLen)
	}
	return r
}

// recode rewrites seqs, parsed as if the decoder's offsets were assumed, for
// a decoder whose offsets are r: each match keeps its distance, coded as
// whatever Offset_Value names it now.
func (r repeatOffsets) recode(seqs []Sequence, assumed repeatOffsets) {
	for i := range seqs {
		q := &seqs[i]
		d := q.OffValue - 3
		if q.OffValue <= 3 {
			d = assumed.repDistance(q.OffValue, q.LitLen)
		}
		assumed = assumed.next(q.OffValue, q.LitLen)
		q.OffValue = r.offValueFor(d, q.LitLen)
		r = r.next(q.OffValue, q.LitLen)
	}
}

// optNode is the cheapest known arrival at one position of a stretch.
type optNode struct {
	price  int32
	mlen   uint32 // length of the match arriving here, 0 for a literal
	off    uint32 // that match's Offset_Value
	litLen uint32 // literals since the last match, at this position
	reps   repeatOffsets
}

// parser holds the parse state of one frame.
type parser struct {
	src     []byte
	mf      matchFinder
	niceLen int

	reps   repeatOffsets // the decoder's, at the start of the next block
	hist   symbolStats   // what earlier blocks chose
	primed bool          // hist holds a parse (not just the seed)
	model  priceModel
	opt    []optNode
	seqs   []Sequence
	// lseqs holds the candidate parse that lost (lazyPass's or the
	// optimal one's), lparts its split; parts is the split of seqs, the
	// blocks EncodeAll writes (encoder.go, blockSplitter).
	lseqs         []Sequence
	parts, lparts []blockPart
	split         blockSplitter

	passes int
	// rough makes a pass offer each match at its full length only: a
	// cheaper parse, to gather first statistics for the next.
	rough bool
	// abortEarly makes a pass offer only each position's longest match
	// and stop offering its lengths, longest first, at the first that
	// improves no arrival (statistics passes).
	abortEarly bool
	seedPass   bool
	// thorough is Options.Exhaustive; exhaustive is set for the passes
	// it applies to (the final one).
	thorough, exhaustive bool
	// stretch is the input position of the stretch being parsed.
	stretch int
}

func (p *parser) reset(src []byte, o *Options) {
	p.src = src
	p.niceLen = o.NiceLen
	p.passes = max(1, o.Passes)
	p.seedPass = o.SeedPass
	p.thorough = o.Exhaustive
	p.mf.reset(src, o.NiceLen, o.Depth)
	p.reps = initialRepeats
	p.primed = false
	if cap(p.opt) < maxBlockSize+1 {
		p.opt = make([]optNode, maxBlockSize+1)
	}
	p.opt = p.opt[:maxBlockSize+1]
}

// parseBlock chooses the sequences of src[start:end] (at most
// maxBlockSize bytes), starting from p.reps, and returns them with the
// repeat offsets after them; p.parts is then how to split them into
// blocks. It does not change p.reps: the caller keeps the new offsets only
// if the block is written compressed. The returned slice and p.parts are
// valid until the next call.
func (p *parser) parseBlock(start, end int) ([]Sequence, repeatOffsets) {
	p.mf.findBlock(start, end)
	block := p.src[start:end]
	passes := p.passes
	if !p.primed {
		p.hist.seed(block)
		if p.seedPass {
			passes++
		}
	}
	var reps repeatOffsets
	for pass := 0; pass < passes; pass++ {
		if pass > 0 {
			// Price the next pass with what this block chose
			// alone: a better guess than the earlier blocks'
			// statistics, which measured on the bench tree only
			// blur it (the blocks of a frame are often different
			// files).
			p.hist = symbolStats{}
			p.hist.add(block, p.seqs)
		}
		p.model.update(&p.hist)
		// Only the first block's seeding pass is rough: measured on
		// the bench tree, rough statistics passes elsewhere cost size.
		p.rough = passes > p.passes && pass == 0
		p.abortEarly = pass < passes-1
		p.exhaustive = p.thorough && !p.abortEarly
		p.seqs, reps = p.parsePass(start, end, p.seqs[:0])
	}
	// The optimal parse is the cheapest only under its prices, and they
	// come from earlier choices: on log-like text it can lock into
	// literal runs and the one repeat offset its history favours, while
	// the lines are cheapest as matches only (see lazyPass). A lazy parse
	// over the same matches is cheap next to the passes, so it competes:
	// the block takes whichever parse the block splitter estimates
	// smaller, and its statistics price the next block.
	var oc float64
	p.parts, oc = p.split.split(p.parts[:0], block, p.seqs)
	p.seqs, reps = p.tryLazy(start, end, block, reps, oc)
	var s symbolStats
	s.add(block, p.seqs)
	p.hist.scale(2)
	p.hist.merge(&s)
	p.primed = true
	return p.seqs, reps
}

// parsePass parses [start, end) with the current prices, appending to seqs.
func (p *parser) parsePass(start, end int, seqs []Sequence) ([]Sequence, repeatOffsets) {
	src := p.src
	m := &p.model
	opt := p.opt
	nice := p.niceLen
	reps := p.reps
	pos := start
	litStart := start
	llZero := m.litLenPrice(0)
	for pos < end {
		opt[0] = optNode{litLen: uint32(pos - litStart), reps: reps}
		p.stretch = pos
		lastPos := 0
		for cur := 0; cur <= lastPos; cur++ {
			at := pos + cur
			if at >= end {
				break
			}
			if cur > 0 {
				p.settle(cur)
			}
			n := &opt[cur]
			avail := end - at
			base := n.price + llZero
			taken := false
			if !p.exhaustive && cur+1 <= lastPos && opt[cur+1].price < n.price {
				// The next position is reached more cheaply
				// than this one: a path through here seldom
				// wins, so its matches are not offered.
				// Measured on 8 MiB of the bench tree: 10%
				// less CPU with the level-19 options for
				// 0.04% more bytes, and smaller output with
				// one pass (the prices are estimates; paths
				// through such positions often only look
				// cheaper). Options.Exhaustive turns it off.
				p.literal(cur, lastPos)
				continue
			}

			// Repeat offsets, in the context of this arrival.
			for ov := uint32(1); ov <= 3; ov++ {
				d := n.reps.repDistance(ov, n.litLen)
				if d == 0 || int(d) > at {
					continue
				}
				if src[at] != src[at-int(d)] || avail < minMatch {
					continue
				}
				l := matchLenAt(src, at, at-int(d), 1, min(avail, maxMatchLen))
				if l < minMatch {
					continue
				}
				if l >= nice {
					lastPos = p.take(cur, lastPos, l, ov)
					taken = true
					break
				}
				price := base + m.offPrice(ov)
				lastPos = p.relax(cur, lastPos, minMatch, l, ov, price)
			}
			if taken {
				break
			}

			// Matches from the tree, priced as repeat codes where
			// they can be.
			ms := p.mf.matchesAt(at - start)
			if k := len(ms); k > 0 {
				top := ms[k-1]
				if int(top.length) >= nice && avail >= nice {
					l := matchLenAt(src, at, at-int(top.dist), nice, min(avail, maxMatchLen))
					lastPos = p.take(cur, lastPos, l, n.reps.offValueFor(top.dist, n.litLen))
					break
				}
				lo := minMatch
				if p.abortEarly {
					// Statistics passes offer the longest
					// match only (all its lengths): less
					// work, and measured on the bench tree
					// the final pass then comes out a little
					// smaller too.
					ms = ms[k-1:]
				}
				for _, mt := range ms {
					hi := min(int(mt.length), avail)
					if hi < lo {
						break
					}
					if n.mlen > 0 && mt.dist == n.reps[0] {
						// The rest of the match that arrived
						// here: the match it continues offered
						// these ends already without a second
						// offset, so from here they are hardly
						// ever cheaper (measured: the same
						// output on the bench tree, less work).
						lo = hi + 1
						continue
					}
					ov := n.reps.offValueFor(mt.dist, n.litLen)
					lastPos = p.relax(cur, lastPos, lo, hi, ov, base+m.offPrice(ov))
					lo = hi + 1
				}
			}

			p.literal(cur, lastPos)
		}
		if lastPos == 0 {
			pos++
			continue
		}
		seqs = p.emit(seqs, lastPos)
		p.settle(lastPos)
		last := &opt[lastPos]
		reps = last.reps
		pos += lastPos
		litStart = pos - int(last.litLen)
	}
	return seqs, reps
}

// tryLazy has the lazy parse compete with the optimal parse p.seqs (reps
// after it, split cost oc) and returns the block's sequences and the
// repeat offsets after them, the winner's split left in p.parts.
func (p *parser) tryLazy(start, end int, block []byte, reps repeatOffsets, oc float64) ([]Sequence, repeatOffsets) {
	var lc float64
	lseqs, lreps := p.lazyPass(start, end, p.lseqs[:0])
	p.lparts, lc = p.split.split(p.lparts[:0], block, lseqs)
	if lc < oc {
		p.seqs, lseqs = lseqs, p.seqs
		p.parts, p.lparts = p.lparts, p.parts
		reps = lreps
		// The lazy parse won: its statistics are a better start than
		// the ones the passes were priced with, so one more optimal
		// pass is priced from them and kept if smaller still.
		var ls symbolStats
		ls.add(block, p.seqs)
		p.model.update(&ls)
		p.rough, p.abortEarly, p.exhaustive = false, false, p.thorough
		var wreps repeatOffsets
		lseqs, wreps = p.parsePass(start, end, lseqs[:0])
		var wc float64
		p.lparts, wc = p.split.split(p.lparts[:0], block, lseqs)
		if wc < lc {
			p.seqs, lseqs = lseqs, p.seqs
			p.parts, p.lparts = p.lparts, p.parts
			reps = wreps
		}
	}
	p.lseqs = lseqs
	return p.seqs, reps
}

// lazyPass parses [start, end) as the FastEncoder does (lazy2: a match is
// deferred while one starting one or two bytes later gains more than
// fastLazyMargin1 or fastLazyMargin2), with the match finder's matches of
// the block and the repeat offsets, appending to seqs. It finds the parse
// the optimal one misses on log-like text: each line copied as a few
// matches with no literals, switching among three earlier lines by the
// repeat offsets (RFC 8878 section 3.1.1.5), which the optimal parse,
// keeping one set of offsets per position (the cheapest arrival's),
// cannot hold on to when another path arrives a little more cheaply.
func (p *parser) lazyPass(start, end int, seqs []Sequence) ([]Sequence, repeatOffsets) {
	src := p.src
	reps := p.reps
	anchor, ip := start, start
	for ip+minMatch <= end {
		l, ov, g := p.lazyAt(ip, start, end, uint32(ip-anchor), &reps)
		if l == 0 {
			ip++
			continue
		}
		for l < lazyNiceLen {
			if l1, ov1, g1 := p.lazyAt(ip+1, start, end, uint32(ip+1-anchor), &reps); l1 > 0 && g1 > g+fastLazyMargin1 {
				ip, l, ov, g = ip+1, l1, ov1, g1
				continue
			}
			if l2, ov2, g2 := p.lazyAt(ip+2, start, end, uint32(ip+2-anchor), &reps); l2 > 0 && g2 > g+fastLazyMargin2 {
				ip, l, ov, g = ip+2, l2, ov2, g2
				continue
			}
			break
		}
		// Extend the match backwards over literals it also covers;
		// fewer literals can change which code names its distance.
		d := ov - 3
		if ov <= 3 {
			d = reps.repDistance(ov, uint32(ip-anchor))
		}
		for ip > anchor && ip-1-int(d) >= 0 && src[ip-1] == src[ip-1-int(d)] {
			ip--
			l++
		}
		litLen := uint32(ip - anchor)
		ov = reps.offValueFor(d, litLen)
		seqs = append(seqs, Sequence{LitLen: litLen, MatchLen: uint32(l), OffValue: ov})
		reps = reps.next(ov, litLen)
		ip += l
		anchor = ip
	}
	return seqs, reps
}

// lazyNiceLen is the match length lazyPass takes without looking a byte
// or two further, as the FastEncoder's at level 14 (its parse is the
// one to match).
const lazyNiceLen = 256

// lazyAt returns the match lazyPass would take at input position at after
// litLen literals with repeat offsets r, its Offset_Value and its gain
// (fastGain), or length 0 if there is none.
func (p *parser) lazyAt(at, start, end int, litLen uint32, r *repeatOffsets) (length int, ov uint32, gain int) {
	src := p.src
	avail := min(end-at, maxMatchLen)
	if avail < minMatch {
		return 0, 0, 0
	}
	for o := uint32(1); o <= 3; o++ {
		d := int(r.repDistance(o, litLen))
		if d == 0 || d > at || src[at] != src[at-d] {
			continue
		}
		if l := matchLenAt(src, at, at-d, 1, avail); l >= fastRepMin {
			if g := fastGain(l, o); g > gain {
				length, ov, gain = l, o, g
			}
		}
	}
	for _, mt := range p.mf.matchesAt(at - start) {
		l := min(int(mt.length), avail)
		if l >= p.niceLen {
			// The finder stops comparing at niceLen.
			l = matchLenAt(src, at, at-int(mt.dist), l, avail)
		}
		if l < minMatch {
			continue
		}
		o := r.offValueFor(mt.dist, litLen)
		if g := fastGain(l, o); g > gain {
			length, ov, gain = l, o, g
		}
	}
	return length, ov, gain
}

// literal offers a literal from stretch position cur to the next, if a
// match reaches past it.
func (p *parser) literal(cur, lastPos int) {
	if cur+1 > lastPos {
		return
	}
	n := &p.opt[cur]
	m := &p.model
	price := n.price + m.lit[p.src[p.stretch+cur]] + m.litLenPrice(n.litLen+1) - m.litLenPrice(n.litLen)
	if nx := &p.opt[cur+1]; price < nx.price {
		*nx = optNode{price: price, litLen: n.litLen + 1}
	}
}

// relax offers a match at stretch position cur with Offset_Value ov and
// every length in [lo, hi], for price plus each length's price, and returns
// the new end of the stretch. The arrivals' repeat offsets are filled in by
// settle when the walk reaches them (most arrivals are overwritten first).
func (p *parser) relax(cur, lastPos, lo, hi int, ov uint32, price int32) int {
	opt := p.opt
	if cur+hi > lastPos {
		for i := lastPos + 1; i <= cur+hi; i++ {
			opt[i].price = priceInf
		}
		lastPos = cur + hi
	}
	if p.rough {
		lo = hi
	}
	nodes := opt[cur+lo : cur+hi+1]
	if hi < priceTabLen {
		tab := p.model.mlTab[lo : hi+1]
		tab = tab[:len(nodes)]
		if p.abortEarly {
			// Longest first, stopping at the first length that
			// does not improve: shorter ones seldom would.
			for i := len(tab) - 1; i >= 0; i-- {
				c := price + tab[i]
				if c >= nodes[i].price {
					break
				}
				nodes[i] = optNode{price: c, mlen: uint32(lo + i), off: ov}
			}
			return lastPos
		}
		for i, lp := range tab {
			if c := price + lp; c < nodes[i].price {
				nodes[i] = optNode{price: c, mlen: uint32(lo + i), off: ov}
			}
		}
		return lastPos
	}
	for i := range nodes {
		l := uint32(lo + i)
		if c := price + p.model.matchLenPrice(l); c < nodes[i].price {
			nodes[i] = optNode{price: c, mlen: l, off: ov}
		}
	}
	return lastPos
}

// settle fills in the repeat offsets of stretch position i from its
// arrival: those of the position it came from, moved on by the match.
func (p *parser) settle(i int) {
	n := &p.opt[i]
	if n.mlen == 0 {
		n.reps = p.opt[i-1].reps
		return
	}
	from := &p.opt[i-int(n.mlen)]
	n.reps = from.reps.next(n.off, from.litLen)
}

// take ends the stretch with a match of length l at cur, whatever other
// arrivals there were, and returns the stretch's end.
func (p *parser) take(cur, lastPos, l int, ov uint32) int {
	p.opt[cur+l] = optNode{mlen: uint32(l), off: ov}
	return cur + l
}

// emit appends the sequences of the cheapest path to stretch position
// last, found by walking the arrivals back from it.
func (p *parser) emit(seqs []Sequence, last int) []Sequence {
	opt := p.opt
	// Walk back, marking each match's start by chaining through mlen:
	// the arrivals are rewritten in place as a forward list (the nodes
	// are not needed after the stretch).
	first := len(seqs)
	for i := last; i > 0; {
		n := &opt[i]
		if n.mlen == 0 {
			i--
			continue
		}
		s := i - int(n.mlen)
		seqs = append(seqs, Sequence{LitLen: opt[s].litLen, MatchLen: n.mlen, OffValue: n.off})
		i = s
	}
	// The walk went backwards: reverse the new sequences.
	for a, b := first, len(seqs)-1; a < b; a, b = a+1, b-1 {
		seqs[a], seqs[b] = seqs[b], seqs[a]
	}
	return seqs
}

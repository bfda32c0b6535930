package lzma

// greedyStep is the simple parser used to validate the coder and as a
// baseline: the longest of the rep and normal matches, preferring reps
// when they are nearly as long.
func (e *Encoder) greedyStep(pos int) step {
	src := e.src
	avail := len(src) - pos
	ms := e.mf.find()
	maxLen := min(avail, matchLenMax)
	bestRep, bestRepLen := -1, 1
	for i := 0; i < numReps; i++ {
		d := int(e.reps[i]) + 1
		if d > pos {
			continue
		}
		l := 0
		for l < maxLen && src[pos+l] == src[pos+l-d] {
			l++
		}
		if l > bestRepLen {
			bestRep, bestRepLen = i, l
		}
	}
	var m match
	if len(ms) > 0 {
		m = ms[len(ms)-1]
	}
	if bestRep >= 0 && (int(m.len) <= bestRepLen+1 || bestRepLen >= e.niceLen) {
		e.mf.skip(bestRepLen - 1)
		return step{len: uint32(bestRepLen), dist: e.reps[bestRep]}
	}
	if m.len >= 2 && !(m.len == 2 && m.dist >= 128) {
		e.mf.skip(int(m.len) - 1)
		return m2step(m)
	}
	return step{len: 1, lit: true}
}

func m2step(m match) step { return step{len: m.len, dist: m.dist} }

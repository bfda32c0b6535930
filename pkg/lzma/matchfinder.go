package lzma

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// match is one candidate: length and zero-based distance (distance - 1),
// the form the LZMA distance coder takes.
type match struct {
	len  uint32
	dist uint32
}

const (
	hash2Size = 1 << 16 // indexed by the two bytes themselves: no collisions
	hash3Bits = 16
	prime3    = 506832829
	prime4    = 2654435761
)

// binTree is a bt4 match finder: a 2-byte and a 3-byte hash give the most
// recent short matches, and a binary search tree per 4-byte hash bucket,
// ordered by the bytes that follow, yields the longest matches in order of
// increasing length and distance. The tree is rebuilt on every insertion
// (each new position becomes the root of its bucket) so the walk visits only
// the positions bracketing the new string lexicographically; depth bounds the
// walk. The whole input is in memory, so positions index src directly; the
// son array is cyclic over the dictionary so memory follows the dictionary
// size, not the input size.
//
// Positions are stored plus one: 0 marks an empty slot.
type binTree struct {
	buf        []byte
	pos        int
	cyclicPos  uint32
	cyclicSize uint32
	niceLen    int
	depth      int
	hash4Shift uint32

	hash2 []uint32
	hash3 []uint32
	hash4 []uint32
	son   []uint32

	matches []match
}

// init sizes the tables for inputs up to size bytes with the given dictionary.
func (mf *binTree) init(dictSize, niceLen, depth int) {
	mf.niceLen = niceLen
	mf.depth = depth
	mf.hash2 = make([]uint32, hash2Size)
	mf.hash3 = make([]uint32, 1<<hash3Bits)
	// About half a slot per dictionary byte, as a power of two, at least
	// 64 Ki slots: enough that 4-byte chains seldom mix different strings.
	bitsN := uint32(16)
	for bitsN < 24 && 1<<(bitsN+1) <= dictSize {
		bitsN++
	}
	mf.hash4 = make([]uint32, 1<<bitsN)
	mf.hash4Shift = 32 - bitsN
	mf.matches = make([]match, 0, matchLenMax+8)
}

// reset starts a new input; the son array is sized to the window actually
// needed (smaller inputs do not pay for a large dictionary).
func (mf *binTree) reset(buf []byte, dictSize int) {
	mf.buf = buf
	mf.pos = 0
	mf.cyclicPos = 0
	window := dictSize
	if len(buf) < window {
		window = len(buf)
	}
	mf.cyclicSize = uint32(window) + 1
	if cap(mf.son) < 2*int(mf.cyclicSize) {
		mf.son = make([]uint32, 2*int(mf.cyclicSize))
	}
	mf.son = mf.son[:2*int(mf.cyclicSize)]
	clear(mf.hash2)
	clear(mf.hash3)
	clear(mf.hash4)
}

func (mf *binTree) advance() {
	mf.pos++
	mf.cyclicPos++
	if mf.cyclicPos == mf.cyclicSize {
		mf.cyclicPos = 0
	}
}

// find returns the matches at the current position (lengths strictly
// increasing, each the shortest distance for its length) and moves on.
//
// The tree compares at most niceLen bytes; a match that reaches niceLen is
// extended here up to the longest length LZMA codes (273), so a long repeat
// costs one symbol and not one per niceLen bytes (xz does the same).
func (mf *binTree) find() []match {
	mf.matches = mf.matches[:0]
	cur := mf.pos
	mf.insert(true)
	if n := len(mf.matches); n > 0 && int(mf.matches[n-1].len) == mf.niceLen {
		m := &mf.matches[n-1]
		limit := min(len(mf.buf)-cur, matchLenMax)
		m.len = uint32(extend(mf.buf, cur, cur-int(m.dist)-1, int(m.len), limit))
	}
	return mf.matches
}

// skip inserts n positions without collecting matches.
func (mf *binTree) skip(n int) {
	for ; n > 0; n-- {
		mf.insert(false)
	}
}

func (mf *binTree) insert(collect bool) {
	buf := mf.buf
	cur := mf.pos
	lenLimit := len(buf) - cur
	if lenLimit > mf.niceLen {
		lenLimit = mf.niceLen
	}
	if lenLimit < 4 {
		// Too short for a 4-byte hash: the last bytes are coded as
		// literals or reps, as in liblzma.
		mf.advance()
		return
	}
	p1 := uint32(cur) + 1
	v := binary.LittleEndian.Uint32(buf[cur:])
	h2 := v & 0xFFFF
	h3 := ((v & 0xFFFFFF) * prime3) >> (32 - hash3Bits)
	h4 := (v * prime4) >> mf.hash4Shift
	if cur+8 <= len(buf) {
		// Four positions ahead: the hash slots (two ahead, measured
		// 3 % slower: the slot was still loading when the next
		// position read its head); one ahead: the tree node and bytes
		// of the head its slot holds now.
		v2 := binary.LittleEndian.Uint32(buf[cur+4:])
		h4n := unsafe.Pointer(&mf.hash4[(v2*prime4)>>mf.hash4Shift])
		// Without a head at cur+1 the hash slot is hinted again, which
		// costs less than a second call.
		node, str := h4n, h4n
		v1 := binary.LittleEndian.Uint32(buf[cur+1:])
		if head := mf.hash4[(v1*prime4)>>mf.hash4Shift]; head != 0 {
			if d := p1 + 1 - head; d < mf.cyclicSize {
				np := mf.cyclicPos + 1 - d
				if d > mf.cyclicPos+1 {
					np += mf.cyclicSize
				}
				// A compare, not a modulo (a division), keeps the
				// hint in the array; a rare wrapped index only
				// loses the hint.
				if i := np << 1; i < uint32(len(mf.son)) {
					node = unsafe.Pointer(&mf.son[i])
				}
				str = unsafe.Pointer(&buf[head-1])
			}
		}
		prefetch5(h4n, unsafe.Pointer(&mf.hash3[((v2&0xFFFFFF)*prime3)>>(32-hash3Bits)]),
			unsafe.Pointer(&mf.hash2[v2&0xFFFF]), node, str)
	}
	c2, c3, curMatch := mf.hash2[h2], mf.hash3[h3], mf.hash4[h4]
	mf.hash2[h2] = p1
	mf.hash3[h3] = p1
	mf.hash4[h4] = p1

	maxLen := 3
	if collect {
		maxLen = 1
		var best uint32
		if c2 != 0 && p1-c2 < mf.cyclicSize {
			best = p1 - c2
			maxLen = 2
			mf.matches = append(mf.matches, match{2, best - 1})
		}
		if c3 != 0 && c3 != c2 && p1-c3 < mf.cyclicSize {
			d3 := p1 - c3
			p := cur - int(d3)
			if buf[p] == buf[cur] && buf[p+1] == buf[cur+1] && buf[p+2] == buf[cur+2] {
				best = d3
				maxLen = 3
				mf.matches = append(mf.matches, match{3, d3 - 1})
			}
		}
		if best != 0 {
			p := cur - int(best)
			l := extend(buf, cur, p, maxLen, lenLimit)
			mf.matches[len(mf.matches)-1].len = uint32(l)
			maxLen = l
			if l == lenLimit {
				collect = false
			}
		}
		if maxLen < 3 {
			maxLen = 3
		}
	}

	son := mf.son
	cyclicPos := mf.cyclicPos
	cyclicSize := mf.cyclicSize
	ptr0 := cyclicPos<<1 + 1
	ptr1 := cyclicPos << 1
	len0, len1 := 0, 0
	for cut := mf.depth; ; cut-- {
		delta := p1 - curMatch
		if curMatch == 0 || cut == 0 || delta >= cyclicSize {
			son[ptr0] = 0
			son[ptr1] = 0
			break
		}
		var pair uint32
		if delta > cyclicPos {
			pair = (cyclicPos - delta + cyclicSize) << 1
		} else {
			pair = (cyclicPos - delta) << 1
		}
		pb := cur - int(delta)
		l := min(len0, len1)
		if buf[pb+l] == buf[cur+l] {
			l = extend(buf, cur, pb, l+1, lenLimit)
			if collect && l > maxLen {
				maxLen = l
				mf.matches = append(mf.matches, match{uint32(l), delta - 1})
			}
			if l == lenLimit {
				// Equal strings up to the limit: the old node is
				// replaced by the new one, which takes its subtrees.
				son[ptr1] = son[pair]
				son[ptr0] = son[pair+1]
				break
			}
		}
		if buf[pb+l] < buf[cur+l] {
			son[ptr1] = curMatch
			ptr1 = pair + 1
			curMatch = son[ptr1]
			len1 = l
		} else {
			son[ptr0] = curMatch
			ptr0 = pair
			curMatch = son[ptr0]
			len0 = l
		}
	}
	mf.advance()
}

// extend returns the length of the common prefix of buf[a:] and buf[b:],
// known to be at least l, capped at limit; b < a and a+limit must not
// exceed len(buf). Eight bytes are compared at a time: long matches are
// common in binaries and the byte loop dominated the match finder.
func extend(buf []byte, a, b, l, limit int) int {
	for l+8 <= limit {
		x := binary.LittleEndian.Uint64(buf[a+l:]) ^ binary.LittleEndian.Uint64(buf[b+l:])
		if x != 0 {
			return l + bits.TrailingZeros64(x)>>3
		}
		l += 8
	}
	if l < limit && limit >= 8 {
		// The last bytes in the word ending at limit, shifted so that
		// byte l comes first (callers pass an l whose earlier bytes may
		// differ): one compare instead of up to seven byte steps.
		x := binary.LittleEndian.Uint64(buf[a+limit-8:]) ^ binary.LittleEndian.Uint64(buf[b+limit-8:])
		x >>= uint(l-(limit-8)) << 3
		if x == 0 {
			return limit
		}
		return l + bits.TrailingZeros64(x)>>3
	}
	for l < limit && buf[a+l] == buf[b+l] {
		l++
	}
	return l
}

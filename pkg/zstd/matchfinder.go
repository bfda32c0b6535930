package zstd

import (
	"encoding/binary"
	"math/bits"
)

// btMatch is one match candidate at a position: its length and its
// distance back (>= 1).
type btMatch struct {
	length uint32
	dist   uint32
}

const (
	// hash3Log sizes the table of most recent 3-byte strings: a zstd match
	// of length 3 only pays at short distances, so one candidate (the most
	// recent) is enough.
	hash3Log = 14
	// hash4Min and hash4Max bound the bucket table of the binary trees
	// (about one bucket per input byte).
	hash4Min = 12
	hash4Max = 18
)

// matchFinder is a binary-tree match finder over the whole input (the
// frame's window is its content, RFC 8878 section 3.1.1.1.2 with
// Single_Segment_flag). Each 4-byte hash bucket holds a binary search tree of
// the positions whose strings hash there, ordered by the strings themselves;
// inserting a position makes it the root, so the walk from the root meets
// the positions whose strings bracket the new one lexicographically, newest
// (nearest) first, and the common prefix only grows along the walk. Lengths
// found are strictly increasing, each with the nearest distance for it.
// depth bounds the nodes visited; niceLen bounds the compared length (a
// string equal up to niceLen replaces the old node in the tree).
//
// Positions are stored plus one so that zero (the cleared state) means none.
type matchFinder struct {
	src      []byte
	niceLen  int
	depth    int
	hashLog  uint
	head4    []uint32
	head3    []uint32
	children []uint32 // two per position: smaller, larger subtree

	// found and foundAt hold one block's matches: those of block
	// position i are found[foundAt[i]:foundAt[i+1]].
	found   []btMatch
	foundAt []uint32

	// visits and compared count the tree nodes visited and the bytes
	// compared beyond the known common prefix since reset: the work of the
	// search, for tests that pin its bound on degenerate input.
	visits, compared uint64
}

// reset prepares for a new input: tables sized to it (grown, never shrunk,
// so a reused encoder allocates once) and cleared.
func (mf *matchFinder) reset(src []byte, niceLen, depth int) {
	mf.src = src
	mf.niceLen = niceLen
	mf.depth = depth
	lg := uint(bits.Len(uint(len(src))))
	lg = max(hash4Min, min(hash4Max, lg))
	mf.hashLog = lg
	mf.visits, mf.compared = 0, 0
	if cap(mf.head4) < 1<<lg {
		mf.head4 = make([]uint32, 1<<lg)
	}
	mf.head4 = mf.head4[:1<<lg]
	clear(mf.head4)
	if mf.head3 == nil {
		mf.head3 = make([]uint32, 1<<hash3Log)
	}
	clear(mf.head3)
	if cap(mf.children) < 2*len(src) {
		mf.children = make([]uint32, 2*len(src))
	}
	mf.children = mf.children[:2*len(src)]
	// children needs no clearing: a node's slots are written when it is
	// inserted, before anything can reach it.
}

func (mf *matchFinder) hash4(v uint32) uint32 {
	return (v * 2654435761) >> (32 - mf.hashLog)
}

func hash3Of(v uint32) uint32 {
	return ((v << 8) * 506832829) >> (32 - hash3Log)
}

// findBlock inserts every position of [start, end) and records its matches
// in found/foundAt, except inside a match of niceLen or more (skipMatch).
// Lengths are capped at niceLen and at the input's end; a match of niceLen
// may go on, and the parser extends it when it takes it.
func (mf *matchFinder) findBlock(start, end int) {
	mf.found = mf.found[:0]
	if cap(mf.foundAt) < end-start+1 {
		mf.foundAt = make([]uint32, end-start+1)
	}
	mf.foundAt = mf.foundAt[:end-start+1]
	for p := start; p < end; p++ {
		at := len(mf.found)
		mf.foundAt[p-start] = uint32(at)
		mf.insert(p)
		if len(mf.found) > at {
			if top := mf.found[len(mf.found)-1]; int(top.length) >= mf.niceLen && mf.niceLen >= skipMinNice {
				p = mf.skipMatch(p, int(top.dist), start, end)
			}
		}
	}
	mf.foundAt[end-start] = uint32(len(mf.found))
}

// skipMatch handles the interior of a match of niceLen or more found at p
// with distance d, and returns the last position it covered. Without it a
// run (a byte repeated, or any short period) costs a compare of up to
// niceLen bytes per position, twice (hash3 and tree), and more than one
// node per position once matches end every few hundred bytes; the binary
// trees gain little from those positions: each is the string d bytes back
// again. Here the match is extended once, and each following position up
// to tailLen bytes before its end gets the rest of it recorded, capped at
// niceLen as a search records it, without a search and without entering
// the binary tree (the copy d bytes back stands for it there; libzstd's
// optimal parser likewise leaves a long match's interior out of its
// trees). The parser takes a match of niceLen at once and jumps to its
// end, so it asks for the positions inside such a match only when an
// earlier jump lands there. The hash3 table still learns them: one store
// each.
func (mf *matchFinder) skipMatch(p, d, start, end int) int {
	nice := mf.niceLen
	src := mf.src
	// Past the block's end only as far as a search from inside the
	// block could look.
	lim := min(len(src)-p, end-p+nice)
	l := matchLenAt(src, p, p-d, nice, lim)
	mf.compared += uint64(l - nice)
	last := min(p+l-tailLen, end-1)
	for s := p + 1; s <= last; s++ {
		mf.foundAt[s-start] = uint32(len(mf.found))
		mf.found = append(mf.found, btMatch{uint32(min(nice, p+l-s)), uint32(d)})
		mf.head3[hash3Of(binary.LittleEndian.Uint32(src[s:]))] = uint32(s) + 1
	}
	return max(p, last)
}

// skipMinNice is the least niceLen at which skipMatch is used. Below it a
// run costs no more per position than ordinary data does (two compares of
// at most niceLen bytes, against 15 to 35 compared bytes per input byte on
// the bench tree at niceLen 512), and the positions left out of the trees
// cost more: measured on the bench tree with the level-16 and level-17
// options (niceLen 16 and 24), skipping made the image 0.14% and 0.20%
// larger; at niceLen 192 and 512, 0.02% and 0.01%.
const skipMinNice = 64

// tailLen is how many positions before the end of a long match are
// searched again: there a match at another distance may carry on past it.
const tailLen = 8

// matchesAt returns the matches of block position i of the last findBlock.
func (mf *matchFinder) matchesAt(i int) []btMatch {
	return mf.found[mf.foundAt[i]:mf.foundAt[i+1]]
}

// insert adds position cur to its tree and appends its matches to found.
func (mf *matchFinder) insert(cur int) {
	src := mf.src
	limit := min(mf.niceLen, len(src)-cur)
	if limit < 4 {
		// Too short to hash; the last bytes stay literals or reps.
		return
	}
	v := binary.LittleEndian.Uint32(src[cur:])
	self := uint32(cur) + 1
	best := minMatch - 1

	h3 := hash3Of(v)
	if c := mf.head3[h3]; c != 0 {
		cand := int(c - 1)
		l := matchLenAt(src, cur, cand, 0, limit)
		mf.compared += uint64(l)
		if l >= minMatch {
			best = l
			mf.found = append(mf.found, btMatch{uint32(l), uint32(cur - cand)})
		}
	}
	mf.head3[h3] = self

	h := mf.hash4(v)
	next := mf.head4[h]
	mf.head4[h] = self
	children := mf.children
	// smallerSlot receives the next visited node whose string sorts below
	// cur's, largerSlot the next one above; lenSmaller and lenLarger are
	// the prefixes cur shares with every string on those sides.
	smallerSlot := 2 * cur
	largerSlot := 2*cur + 1
	lenSmaller, lenLarger := 0, 0
	for budget := mf.depth; ; budget-- {
		if next == 0 || budget == 0 {
			children[smallerSlot] = 0
			children[largerSlot] = 0
			return
		}
		cand := int(next - 1)
		known := min(lenSmaller, lenLarger)
		l := matchLenAt(src, cur, cand, known, limit)
		mf.visits++
		mf.compared += uint64(l - known)
		if l > best {
			best = l
			mf.found = append(mf.found, btMatch{uint32(l), uint32(cur - cand)})
		}
		if l == limit {
			// Equal as far as we compare: cur takes the old node's
			// place and subtrees, which keeps the tree shallow in runs.
			children[smallerSlot] = children[2*cand]
			children[largerSlot] = children[2*cand+1]
			return
		}
		if src[cand+l] < src[cur+l] {
			// cand and its smaller subtree sort below cur; the walk
			// goes on in its larger subtree.
			children[smallerSlot] = next
			smallerSlot = 2*cand + 1
			lenSmaller = l
			next = children[smallerSlot]
		} else {
			children[largerSlot] = next
			largerSlot = 2 * cand
			lenLarger = l
			next = children[largerSlot]
		}
	}
}

// matchLenAt returns the length of the common prefix of src[a:] and src[b:]
// given that the first l bytes are equal, at most limit (a+limit <= len(src)
// and b < a). Eight bytes at a time: long matches are common in binaries.
func matchLenAt(src []byte, a, b, l, limit int) int {
	for l+8 <= limit {
		x := binary.LittleEndian.Uint64(src[a+l:]) ^ binary.LittleEndian.Uint64(src[b+l:])
		if x != 0 {
			return l + bits.TrailingZeros64(x)>>3
		}
		l += 8
	}
	for l < limit && src[a+l] == src[b+l] {
		l++
	}
	return l
}

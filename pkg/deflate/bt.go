package deflate

import "encoding/binary"

const (
	btHashBits  = 16
	bt3HashBits = 14
	btWinMask   = windowSize - 1
	btSlotMask  = 2*windowSize - 1
	// btMaxDist keeps every candidate's tree slot alive: position p reuses
	// the slot of p-windowSize, so the oldest usable position is
	// p-(windowSize-1).
	btMaxDist = windowSize - 1
)

// btFinder is a binary-tree match finder: for each 4-byte hash a binary
// search tree of earlier positions, ordered by the bytes that follow them
// and rooted at the newest. Searching position p walks down the tree,
// reporting longer and longer matches, and re-roots the tree at p on the
// way, so every position is inserted exactly once. A node's children are
// older than it, so each link is kept as the distance back from its node
// (16 bits: half the cache footprint of positions); a distance beyond the
// window means "none" and ends any walk without a test of its own. Slots
// are kept for the last window only.
type btFinder struct {
	head3 *[1 << bt3HashBits]int32 // 3-byte hash -> newest position+1
	head  *[1 << btHashBits]int32  // 4-byte hash -> newest position+windowSize (0: none)
	child *[2 * windowSize]uint16  // 2*(pos&mask): left (smaller suffixes), +1: right
}

func (f *btFinder) reset() {
	if f.head == nil {
		f.head3 = new([1 << bt3HashBits]int32)
		f.head = new([1 << btHashBits]int32)
		f.child = new([2 * windowSize]uint16)
	}
	clear(f.head3[:])
	clear(f.head[:])
}

// hash3 and hash4 hash the 3 or 4 bytes at the start of b (b holds 4).
func hash3(b []byte) uint32 {
	v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	return v * 0x9E3779B1 >> (32 - bt3HashBits)
}

func hash4(b []byte) uint32 {
	return binary.LittleEndian.Uint32(b) * 0x9E3779B1 >> (32 - btHashBits)
}

// find inserts position p of src and appends to ms the matches it finds,
// each as length<<16 | distance with strictly increasing lengths, lengths
// capped at limit. The trees are keyed by 4-byte hashes; a 3-byte match is
// taken from the newest position with the same 3-byte hash only (far
// 3-byte matches rarely beat three literals). It visits at most depth tree
// nodes and stops at the first match of nice bytes or more. p+4 <=
// len(src) must hold.
func (f *btFinder) find(src []byte, p int, depth, nice, limit int, ms []uint32) []uint32 {
	maxLen := min(maxMatch, len(src)-p)
	if limit < minMatch {
		// Only inserting: comparing past nice would not change the
		// tree, since a match of nice bytes cuts the walk anyway.
		maxLen = min(maxLen, nice)
	}
	s := src[p : p+maxLen]
	base := len(ms)
	h3 := hash3(s)
	if c3 := int(f.head3[h3]) - 1; c3 >= 0 && p-c3 <= btMaxDist && limit >= minMatch &&
		src[c3] == s[0] && src[c3+1] == s[1] && src[c3+2] == s[2] {
		ms = append(ms, minMatch<<16|uint32(p-c3))
	}
	f.head3[h3] = int32(p + 1)
	h := hash4(s)
	cur := int(f.head[h]) - windowSize
	f.head[h] = int32(p + windowSize)
	// The pending left and right links: the slot to fill and the node
	// that owns it (links are distances from their owner).
	leftSlot, leftNode := 2*(p&btWinMask), p
	rightSlot, rightNode := leftSlot+1, p
	lenLeft, lenRight := 0, 0
	best := minMatch - 1
	child := f.child
	link := func(node, to int) uint16 { return uint16(min(node-to, noLink)) }
	for ; depth > 0 && p-cur <= btMaxDist; depth-- {
		c := src[cur : cur+maxLen]
		l := extendMatch(s, c, min(lenLeft, lenRight))
		slot := 2 * (cur & btWinMask)
		if l > best {
			best = l
			capped := min(l, limit)
			if n := len(ms); capped >= minMatch && (n == base || capped > int(ms[n-1]>>16)) {
				ms = append(ms, uint32(capped)<<16|uint32(p-cur))
			}
			if l >= nice || l == maxLen {
				// cur's subtrees become p's: nothing in them can be
				// ordered between cur and p on the compared bytes.
				child[leftSlot&btSlotMask] = link(leftNode, cur-int(child[slot]))
				child[rightSlot&btSlotMask] = link(rightNode, cur-int(child[slot+1]))
				return ms
			}
		}
		// Slot indexes are masked only to spare bounds checks: they
		// are always in range.
		if c[l] < s[l] {
			child[leftSlot&btSlotMask] = link(leftNode, cur)
			leftSlot, leftNode = slot+1, cur
			cur -= int(child[slot+1])
			lenLeft = l
		} else {
			child[rightSlot&btSlotMask] = link(rightNode, cur)
			rightSlot, rightNode = slot, cur
			cur -= int(child[slot])
			lenRight = l
		}
	}
	child[leftSlot&btSlotMask] = noLink
	child[rightSlot&btSlotMask] = noLink
	return ms
}

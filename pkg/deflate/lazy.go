package deflate

import "encoding/binary"

const (
	hcHashBits = 15
	// hcTooFar: a 3-byte match this far back costs more bits than the
	// three literals it replaces with any plausible codes (zlib applies
	// the same cut-off); longer matches are kept at any distance.
	hcTooFar = 4096
	noLink   = 0xffff
)

// hashChains is the lazy parser's match finder: for each 4-byte hash the
// newest position, and for each position in the window the distance back
// to the previous one with the same hash.
type hashChains struct {
	head  *[1 << hcHashBits]int32  // newest position+windowSize (0: none, out of every window)
	prev  *[windowSize]uint16      // distance to the previous position, noLink for none
	head3 *[1 << bt3HashBits]int32 // 3-byte hash -> newest position+1, for 3-byte matches
	cand3 int32                    // head3's entry for the last inserted position, before it
}

func (c *hashChains) reset() {
	if c.head == nil {
		c.head = new([1 << hcHashBits]int32)
		c.prev = new([windowSize]uint16)
		c.head3 = new([1 << bt3HashBits]int32)
	}
	clear(c.head[:])
	clear(c.head3[:])
}

// link records q as the position before p in p's chain. Distances, not
// positions, keep the table at 64 KiB, half the cache footprint. A
// distance beyond the window ends any walk, so "none" needs no test.
func (c *hashChains) link(p, q int) {
	c.prev[p&btWinMask] = uint16(min(p-q, noLink))
}

// older returns the position before p in its chain, out of the window of
// any later position when there is none. p must be within the window, so
// that its slot still holds its own link.
func (c *hashChains) older(p int) int {
	return p - int(c.prev[p&btWinMask])
}

func (c *hashChains) insert(src []byte, p int) {
	v := binary.LittleEndian.Uint32(src[p:])
	h := v * 0x9E3779B1 >> (32 - hcHashBits)
	c.link(p, int(c.head[h])-windowSize)
	c.head[h] = int32(p + windowSize)
	h3 := (v << 8) * 0x9E3779B1 >> (32 - bt3HashBits)
	c.cand3 = c.head3[h3]
	c.head3[h3] = int32(p + 1)
}

// longest returns the longest match for p (p already inserted) that is
// longer than best, searching at most chain earlier positions and stopping
// at nice bytes; length 0 when there is none.
func (c *hashChains) longest(src []byte, p, best, chain, nice int) (int, int) {
	maxLen := min(maxMatch, len(src)-p)
	if best >= maxLen {
		return 0, 0
	}

	nice = min(nice, maxLen)
	s := src[p : p+maxLen]
	bestLen, bestDist := 0, 0
	cand := c.older(p)
	for ; chain > 0 && p-cand <= btMaxDist; chain-- {
		m := src[cand : cand+maxLen]
		// A longer match must agree at indexes best-1 and best and in
		// the first four bytes (the hash may collide): test those
		// before comparing the rest.
		if binary.LittleEndian.Uint16(m[best-1:]) == binary.LittleEndian.Uint16(s[best-1:]) &&
			binary.LittleEndian.Uint32(m) == binary.LittleEndian.Uint32(s) {
			l := extendMatch(s, m, 4)
			if l > best {
				best, bestLen, bestDist = l, l, p-cand
				if l >= nice {
					break
				}
			}
		}
		cand = c.older(cand)
	}
	if bestLen == minMatch && bestDist > hcTooFar {
		bestLen = 0
	}
	if bestLen == 0 && best < minMatch {
		// The 4-byte chains miss 3-byte matches: take the newest
		// position with the same 3-byte hash if it is one and near.
		if c3 := int(c.cand3) - 1; c3 >= 0 && p-c3 <= hcTooFar &&
			src[c3] == s[0] && src[c3+1] == s[1] && src[c3+2] == s[2] {
			return minMatch, p - c3
		}
	}
	return bestLen, bestDist
}

// parseLazy appends to e.tokens a lazy parse of src in zlib's manner (a
// match is only taken if the match at the next position is not longer),
// searching hash chains; positions inside taken matches are inserted too,
// so later matches can refer to them.
func (e *Encoder) parseLazy(src []byte) {
	hc := &e.hc
	chainMax, good, lazyLen, nice := e.p.depth, e.p.good, e.p.lazy, e.p.nice
	// Positions too close to the buffer's end to hash are literals.
	end := len(src)
	hashEnd := end - 3
	prevLen, prevDist := 0, 0
	havePrev := false
	p := 0
	for p < end {
		curLen, curDist := 0, 0
		if p < hashEnd {
			hc.insert(src, p)
			if prevLen < lazyLen {
				chain := chainMax
				if prevLen >= good {
					chain >>= 2
				}
				curLen, curDist = hc.longest(src, p, max(prevLen, minMatch-1), chain, nice)
			}
		}
		if havePrev && prevLen >= minMatch && curLen <= prevLen {
			// The match at p-1 wins: emit it and skip what it covers.
			e.tokens = append(e.tokens, token(uint32(prevLen)<<16|uint32(prevDist)))
			last := p - 1 + prevLen
			for q := p + 1; q < last && q < hashEnd; q++ {
				hc.insert(src, q)
			}
			p = last
			havePrev, prevLen = false, 0
			continue
		}
		if havePrev {
			e.tokens = append(e.tokens, literalToken(src[p-1]))
		}
		havePrev, prevLen, prevDist = true, curLen, curDist
		p++
	}
	if havePrev {
		e.tokens = append(e.tokens, literalToken(src[p-1]))
	}
}

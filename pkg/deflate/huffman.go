package deflate

import "slices"

// huffScratch holds the working arrays of buildLengths so an encoder can
// build many codes without allocating.
type huffScratch struct {
	items  []uint64 // freq<<16 | symbol, sorted
	weight []uint64 // internal node weights
	parent []int32  // parents of leaves (by sorted index) then internal nodes
	depth  []uint8
	freq   []uint32
}

// buildLengths sets lens[i] to the code length of symbol i for a Huffman
// code over freq limited to maxBits bits. Symbols of frequency zero get
// length zero. At least two symbols always get a code (symbols 0 and 1 are
// added when needed), so every code is complete: zlib's inflate rejects
// incomplete code-length codes, and a complete code is valid everywhere
// (RFC 1951 3.2.2 codes must be prefix-free; completeness is our choice).
func (s *huffScratch) buildLengths(freq []uint32, maxBits int, lens []uint8) {
	n := len(freq)
	s.freq = append(s.freq[:0], freq...)
	f := s.freq
	used := 0
	for _, v := range f {
		if v != 0 {
			used++
		}
	}
	for i := 0; used < 2 && i < n; i++ {
		if f[i] == 0 {
			f[i] = 1
			used++
		}
	}
	for {
		if s.build(f, lens) <= maxBits {
			return
		}
		// Too deep: flatten the distribution and rebuild. Halving keeps
		// the order of frequencies and lifts rare symbols relative to
		// common ones, which shortens the longest codes; a handful of
		// rounds suffices even for 1 MiB of skewed input.
		for i, v := range f {
			if v != 0 {
				f[i] = v>>1 | 1
			}
		}
	}
}

// build computes unrestricted Huffman code lengths into lens with the
// two-queue method over leaves sorted by weight, and returns the longest.
func (s *huffScratch) build(f []uint32, lens []uint8) int {
	s.items = s.items[:0]
	for i, v := range f {
		lens[i] = 0
		if v != 0 {
			s.items = append(s.items, uint64(v)<<16|uint64(i))
		}
	}
	slices.Sort(s.items)
	m := len(s.items)
	if m == 1 {
		lens[s.items[0]&0xffff] = 1
		return 1
	}
	s.weight = slices.Grow(s.weight[:0], m-1)[:m-1]
	// parent[0..m) for leaves, parent[m..2m-1) for internal nodes.
	s.parent = slices.Grow(s.parent[:0], 2*m-1)[:2*m-1]
	s.depth = slices.Grow(s.depth[:0], 2*m-1)[:2*m-1]
	leaf, next := 0, 0 // next leaf to take, next internal node to take
	for k := 0; k < m-1; k++ {
		var w uint64
		for c := 0; c < 2; c++ {
			// Take the lighter of the next leaf and the next internal
			// node; leaves win ties (keeps trees shallower).
			if leaf < m && (next >= k || s.items[leaf]>>16 <= s.weight[next]) {
				w += s.items[leaf] >> 16
				s.parent[leaf] = int32(m + k)
				leaf++
			} else {
				w += s.weight[next]
				s.parent[m+next] = int32(m + k)
				next++
			}
		}
		s.weight[k] = w
	}
	root := 2*m - 2
	s.depth[root] = 0
	for i := root - 1; i >= m; i-- {
		s.depth[i] = s.depth[s.parent[i]] + 1
	}
	maxLen := 0
	for i := 0; i < m; i++ {
		d := s.depth[s.parent[i]] + 1
		lens[s.items[i]&0xffff] = d
		if int(d) > maxLen {
			maxLen = int(d)
		}
	}
	return maxLen
}

// canonicalCodes assigns the canonical codes of RFC 1951 3.2.2 to lens and
// stores them bit-reversed, since the bit writer emits least significant
// bit first while Huffman codes are defined most significant bit first.
func canonicalCodes(lens []uint8, codes []uint16) {
	var count [maxCodeLen + 2]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [maxCodeLen + 2]uint16
	code := uint16(0)
	for b := 1; b <= maxCodeLen+1; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for i, l := range lens {
		if l == 0 {
			codes[i] = 0
			continue
		}
		c := next[l]
		next[l]++
		codes[i] = reverseBits(c, l)
	}
}

func reverseBits(c uint16, n uint8) uint16 {
	var r uint16
	for i := uint8(0); i < n; i++ {
		r = r<<1 | c&1
		c >>= 1
	}
	return r
}

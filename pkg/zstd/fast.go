package zstd

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// The fast encoder: a greedy or lazy parse over hash chains, the design of
// libzstd's "greedy", "lazy" and "lazy2" strategies, for the middle levels
// where the optimal parser (parser.go) costs more time than its size gain
// is worth. Every position of the frame goes into a hash table of its first
// MinMatch bytes, chained to the earlier positions with the same hash; a
// search walks at most Depth of them. At every position the repeat offsets
// (RFC 8878 section 3.1.1.5) are tried first, as a repeat match costs only
// a short offset code. With Lazy > 0, a match found at ip is only taken if
// the next one or two positions offer nothing better by a gain heuristic of
// about four bits a byte of length against the offset's code length (its
// extra bits, section 3.1.1.3.2.1.1).
//
// The parse runs block by block (a sequence never crosses a block, section
// 3.1.1.2.4) over a window that is the whole frame (single segment), and
// each block is handed to the entropy back end (blockWriter) as soon as it
// is parsed, so that the repeat offsets the next block starts from are the
// decoder's: a block written raw or RLE carries no sequences and leaves the
// offsets as they were before it.

// FastOptions are the fast encoder's search settings.
type FastOptions struct {
	// MinMatch is how many bytes the hash covers, the shortest match a
	// search finds (4..7; longer skips short matches, which are worth
	// little on binaries, and is faster).
	MinMatch int
	// Depth is how many earlier positions with the same hash a search
	// compares (1..fastMaxDepth; 1 is a plain hash table).
	Depth int
	// Lazy is how many following positions are searched before a match
	// is taken (0 greedy, 1 lazy, 2 lazy2).
	Lazy int
	// NiceLen is the match length taken at once, without searching
	// further or looking ahead (MinMatch..fastMaxNiceLen).
	NiceLen int
	// HashLog is log2 of the hash table's entries (fastMinHashLog..
	// fastMaxHashLog), or 0 for as many as the input has bytes, capped
	// at fastDefaultHashLog.
	HashLog int
}

const (
	fastMaxDepth       = 1 << 10
	fastMaxNiceLen     = maxMatchLen
	fastMinHashLog     = 8
	fastMaxHashLog     = 24
	fastDefaultHashLog = 18
	// fastSkipLog: after 2^fastSkipLog literals without a match, the
	// search steps over positions ever faster (incompressible data).
	fastSkipLog = 8
	// fastPrime spreads the hashed bytes over the top bits.
	fastPrime = 0x9E3779B185EBCA87
)

// FastEncoder writes zstd frames with a greedy or lazy parse. It keeps its
// tables between calls but no state: each call's output depends only on
// its input and the options. It is not safe for concurrent use.
type FastEncoder struct {
	opts FastOptions

	src   []byte
	head  []int32 // hash -> latest position, -1 for none
	chain []int32 // position -> previous position with its hash (Depth > 1)
	// next is the first position not yet in the tables.
	next      int
	keepShift uint // drops the bytes past MinMatch of a 64-bit load
	hashShift uint
	seqs      []Sequence
	w         blockWriter
}

// NewFastEncoder returns a fast encoder with the given options.
func NewFastEncoder(o FastOptions) (*FastEncoder, error) {
	switch {
	case o.MinMatch < 4 || o.MinMatch > 7:
		return nil, fmt.Errorf("%w: fast min match %d not in 4..7", errOptions, o.MinMatch)
	case o.Depth < 1 || o.Depth > fastMaxDepth:
		return nil, fmt.Errorf("%w: fast depth %d not in 1..%d", errOptions, o.Depth, fastMaxDepth)
	case o.Lazy < 0 || o.Lazy > 2:
		return nil, fmt.Errorf("%w: fast lazy %d not in 0..2", errOptions, o.Lazy)
	case o.NiceLen < o.MinMatch || o.NiceLen > fastMaxNiceLen:
		return nil, fmt.Errorf("%w: fast nice length %d not in %d..%d", errOptions, o.NiceLen, o.MinMatch, fastMaxNiceLen)
	case o.HashLog != 0 && (o.HashLog < fastMinHashLog || o.HashLog > fastMaxHashLog):
		return nil, fmt.Errorf("%w: fast hash log %d not in %d..%d", errOptions, o.HashLog, fastMinHashLog, fastMaxHashLog)
	}
	return &FastEncoder{opts: o, keepShift: uint(64 - 8*o.MinMatch)}, nil
}

// EncodeAll appends to dst one single-segment frame holding src (RFC 8878
// section 3.1.1), its blocks at most Block_Maximum_Size each.
func (f *FastEncoder) EncodeAll(dst, src []byte) []byte {
	dst = appendFrameHeader(dst, len(src))
	f.w.reset()
	if len(src) == 0 {
		// A frame has at least one block; an empty raw one here.
		dst, _ = f.w.appendBlock(dst, nil, nil, true)
		return dst
	}
	f.reset(src)
	reps := initialRepeats
	for start := 0; start < len(src); start += maxBlockSize {
		end := min(start+maxBlockSize, len(src))
		seqs, after := f.parseBlock(start, end, reps)
		var compressed bool
		dst, compressed = f.w.appendBlock(dst, src[start:end], seqs, end == len(src))
		if compressed {
			reps = after
		}
	}
	f.src = nil
	return dst
}

// reset prepares the tables for src.
func (f *FastEncoder) reset(src []byte) {
	f.src = src
	f.next = 0
	hashLog := f.opts.HashLog
	if hashLog == 0 {
		hashLog = max(fastMinHashLog, min(bits.Len(uint(len(src))), fastDefaultHashLog))
	}
	f.hashShift = uint(64 - hashLog)
	if cap(f.head) < 1<<hashLog {
		f.head = make([]int32, 1<<hashLog)
	}
	f.head = f.head[:1<<hashLog]
	for i := range f.head {
		f.head[i] = -1
	}
	if f.opts.Depth > 1 {
		if cap(f.chain) < len(src) {
			f.chain = make([]int32, len(src))
		}
		f.chain = f.chain[:len(src)]
	}
}

// hashAt hashes the MinMatch bytes at p; p+8 <= len(src).
func (f *FastEncoder) hashAt(p int) uint32 {
	v := binary.LittleEndian.Uint64(f.src[p:]) << f.keepShift
	return uint32((v * fastPrime) >> f.hashShift)
}

// insertTo adds the positions before end to the tables.
func (f *FastEncoder) insertTo(end int) {
	if f.opts.Depth > 1 {
		for p := f.next; p < end; p++ {
			h := f.hashAt(p)
			f.chain[p] = f.head[h]
			f.head[h] = int32(p)
		}
	} else {
		for p := f.next; p < end; p++ {
			f.head[f.hashAt(p)] = int32(p)
		}
	}
	f.next = max(f.next, end)
}

// commonLen returns how many bytes src[a:] and src[b:] share, at most n
// (a < b, b+n <= len(src)).
func commonLen(src []byte, a, b, n int) int {
	done := 0
	for ; n-done >= 8; done += 8 {
		if x := binary.LittleEndian.Uint64(src[b+done:]) ^ binary.LittleEndian.Uint64(src[a+done:]); x != 0 {
			return done + bits.TrailingZeros64(x)/8
		}
	}
	for done < n && src[a+done] == src[b+done] {
		done++
	}
	return done
}

// search returns the longest match at ip the hash chain offers (length 0
// if none of MinMatch bytes), ending at limit at the latest; ip+MinMatch
// <= limit and ip+8 <= len(src). It puts ip and the positions before it
// into the tables.
func (f *FastEncoder) search(ip, limit int) (length, dist int) {
	f.insertTo(ip)
	src := f.src
	h := f.hashAt(ip)
	cand := int(f.head[h])
	if f.opts.Depth > 1 {
		f.chain[ip] = int32(cand)
	}
	f.head[h] = int32(ip)
	f.next = ip + 1

	maxLen := limit - ip
	best := f.opts.MinMatch - 1
	first := binary.LittleEndian.Uint32(src[ip:])
	for n := f.opts.Depth; cand >= 0; {
		// The byte at the current best length screens most candidates
		// before the full comparison (best < maxLen here).
		if src[cand+best] == src[ip+best] && binary.LittleEndian.Uint32(src[cand:]) == first {
			if l := commonLen(src, cand, ip, maxLen); l > best {
				best, dist = l, ip-cand
				if l >= f.opts.NiceLen || l == maxLen {
					break
				}
			}
		}
		if n--; n == 0 {
			break
		}
		cand = int(f.chain[cand])
	}
	if dist == 0 {
		return 0, 0
	}
	return best, dist
}

// fastRepMin is the shortest repeat match taken: three bytes coded with
// a repeat offset cost about as much as three literals.
const fastRepMin = 4

// bestAt returns the match the parse would take at ip after litLen
// literals with repeat offsets r: a repeat match or the search's, whichever
// gains more. length is 0 when there is none.
func (f *FastEncoder) bestAt(ip, limit, litLen int, r *repeatOffsets) (length, dist, gain int) {
	src := f.src
	ds := [3]uint32{r[1], r[2], r[0] - 1}
	if litLen > 0 {
		ds = *r
	}
	first := binary.LittleEndian.Uint32(src[ip:])
	for _, d := range ds {
		if d == 0 || int(d) > ip || binary.LittleEndian.Uint32(src[ip-int(d):]) != first {
			continue
		}
		if l := commonLen(src, ip-int(d), ip, limit-ip); l > length {
			length, dist = l, int(d)
		}
	}
	if length >= fastRepMin {
		// A repeat code is 1..3 (section 3.1.1.5).
		gain = fastGain(length, 2)
		if length >= f.opts.NiceLen {
			return length, dist, gain
		}
	} else {
		length, dist = 0, 0
	}
	if l, d := f.search(ip, limit); l > 0 {
		if g := fastGain(l, r.offValueFor(uint32(d), uint32(litLen))); g > gain {
			return l, d, g
		}
	}
	return length, dist, gain
}

// fastGain scores a match of length l with Offset_Value ov: roughly the
// bits its bytes would cost as literals (a quarter of a unit per bit)
// less its offset code's extra bits (section 3.1.1.3.2.1.1).
func fastGain(l int, ov uint32) int {
	return 4*l - bits.Len32(ov)
}

// Lazy margins: a match one (two) positions later must gain this much more
// than the one in hand, which has one (two) fewer literals to code.
const (
	fastLazyMargin1 = 4
	fastLazyMargin2 = 7
)

// parseBlock parses src[start:end] with the decoder's repeat offsets reps
// at its start; src[:start] is history. It returns the block's sequences
// (valid until the next call) and the offsets after them.
func (f *FastEncoder) parseBlock(start, end int, reps repeatOffsets) ([]Sequence, repeatOffsets) {
	src := f.src
	seqs := f.seqs[:0]
	nice := f.opts.NiceLen
	anchor, ip := start, start
	// Positions from ilimit on start no match: a hash reads 8 bytes, and
	// a match needs MinMatch bytes before the block's end.
	ilimit := min(end-f.opts.MinMatch+1, len(src)-7)
	for ip < ilimit {
		mLen, mDist, mGain := f.bestAt(ip, end, ip-anchor, &reps)
		if mLen == 0 {
			ip += 1 + (ip-anchor)>>fastSkipLog
			continue
		}
		// Look ahead (section comment above): a later start wins only
		// by a margin, as it leaves more literals.
		for f.opts.Lazy > 0 && mLen < nice {
			if ip+1 >= ilimit {
				break
			}
			if l, d, g := f.bestAt(ip+1, end, ip+1-anchor, &reps); l > 0 && g > mGain+fastLazyMargin1 {
				ip, mLen, mDist, mGain = ip+1, l, d, g
				continue
			}
			if f.opts.Lazy < 2 || ip+2 >= ilimit {
				break
			}
			if l, d, g := f.bestAt(ip+2, end, ip+2-anchor, &reps); l > 0 && g > mGain+fastLazyMargin2 {
				ip, mLen, mDist, mGain = ip+2, l, d, g
				continue
			}
			break
		}
		// Extend the match backwards over literals it also covers.
		for ip > anchor && ip-1-mDist >= 0 && src[ip-1] == src[ip-1-mDist] {
			ip--
			mLen++
		}
		seqs, reps = fastEmit(seqs, reps, ip-anchor, mLen, mDist)
		ip += mLen
		anchor = ip
		// Right after a match, with no literals, Offset_Value 1 names
		// the second repeat offset: often the distance before the one
		// just used (an insertion or deletion between two copies).
		for ip < ilimit {
			d := int(reps[1])
			if d > ip {
				break
			}
			l := commonLen(src, ip-d, ip, end-ip)
			if l < fastRepMin {
				break
			}
			seqs, reps = fastEmit(seqs, reps, 0, l, d)
			ip += l
			anchor = ip
		}
	}
	f.seqs = seqs
	return seqs, reps
}

// fastEmit appends the sequence for a match of mLen bytes at distance dist
// after litLen literals, coded for the repeat offsets reps, and returns the
// offsets after it.
func fastEmit(seqs []Sequence, reps repeatOffsets, litLen, mLen, dist int) ([]Sequence, repeatOffsets) {
	ov := reps.offValueFor(uint32(dist), uint32(litLen))
	seqs = append(seqs, Sequence{LitLen: uint32(litLen), MatchLen: uint32(mLen), OffValue: ov})
	return seqs, reps.next(ov, uint32(litLen))
}

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
// each 128 KiB stretch is written (maybe as several smaller blocks, see
// blockSplitter) as soon as it is parsed, so that the repeat offsets the next
// stretch starts from are the decoder's.

// FastOptions are the fast encoder's search settings.
type FastOptions struct {
	// MinMatch is how many bytes the hash covers, the shortest match a
	// search finds (4..7; longer skips short matches, which are worth
	// little on binaries, and is faster).
	MinMatch int
	// Depth is how many earlier positions with the same hash (row and
	// tag) a search compares, newest first (1..fastMaxDepth); a row
	// holds Depth rounded up to a power of two, at least 8.
	Depth int
	// Lazy is how many following positions are searched before a match
	// is taken (0 greedy, 1 lazy, 2 lazy2).
	Lazy int
	// NiceLen is the match length taken at once, without searching
	// further or looking ahead (MinMatch..fastMaxNiceLen).
	NiceLen int
	// Sparse, when positive, puts only the first and last Sparse
	// positions of a stretch of matched bytes into the tables (libzstd's
	// "fast" and "dfast" keep about that few): much faster on compressible
	// data, some matches lost. 0 inserts the positions of every match up
	// to fastInsertSkip bytes long.
	Sparse int
	// HashLog is log2 of the hash table's entries (fastMinHashLog..
	// fastMaxHashLog), or 0 for as many as the input has bytes, capped
	// at fastDefaultHashLog.
	HashLog int
}

const (
	fastMaxDepth       = 64 // a row's tag mask is one uint64
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
//
// The match finder is a table of rows (libzstd's "row" match finder is the
// model): the hash of a position picks a row of rowSize slots holding the
// latest positions that hashed there, a ring whose newest slot the row's
// head names, and next to every slot an 8-bit tag, more bits of the same
// hash. A search compares the tags of a whole row a word at a time and
// reads the input only at slots whose tag matches, so it touches the
// input's bytes (scattered over up to a MiB, beyond the caches) about once
// per real candidate, where a hash chain reads a link and a byte for every
// step.
//
// Slots hold base+position, base growing by the input's length each call:
// a slot below base is from an earlier call and empty for this one, so the
// tables need no clearing between calls (and no slot's age changes the
// output: it is ignored either way).
type FastEncoder struct {
	opts FastOptions

	src []byte
	// table holds the rows: each its head (the index of its newest
	// slot), its tags, four to a word, then its slots (base+position,
	// or stale): what a search or an insertion reads is neighbours in
	// memory (measured: tags beside slots ~7% faster than apart; the
	// head beside them no faster, but one table fewer).
	table []uint32
	base  uint32
	// next is the first position not yet in the tables.
	next      int
	rowLog    uint
	tagWords  int  // rowSize/4
	rowWords  int  // 1 + tagWords + rowSize
	keepShift uint // drops the bytes past MinMatch of a 64-bit load
	rowShift  uint // hash >> rowShift is the row; the 8 bits below, the tag
	seqs      []Sequence
	w         blockWriter
	// dec are the decoder's repeat offsets after the blocks written so
	// far; parts is the split of the stretch being written (blockSplitter).
	dec   repeatOffsets
	parts []blockPart
	split blockSplitter
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
	case o.Sparse < 0 || o.Sparse > fastInsertKeep:
		return nil, fmt.Errorf("%w: fast sparse %d not in 0..%d", errOptions, o.Sparse, fastInsertKeep)
	case o.HashLog != 0 && (o.HashLog < fastMinHashLog || o.HashLog > fastMaxHashLog):
		return nil, fmt.Errorf("%w: fast hash log %d not in %d..%d", errOptions, o.HashLog, fastMinHashLog, fastMaxHashLog)
	}
	// base starts at 1: a zero slot (new table) is then empty.
	return &FastEncoder{opts: o, keepShift: uint(64 - 8*o.MinMatch), base: 1}, nil
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
	f.dec = initialRepeats
	for start := 0; start < len(src); start += maxBlockSize {
		end := min(start+maxBlockSize, len(src))
		seqs, _ := f.parseBlock(start, end, f.dec)
		block := src[start:end]
		f.parts, _ = f.split.split(f.parts[:0], block, seqs)
		dst, f.dec = f.w.writeParts(dst, block, seqs, f.parts, f.dec, f.dec, end == len(src))
	}
	f.finish()
	return dst
}

// reset prepares the tables for src.
func (f *FastEncoder) reset(src []byte) {
	f.src = src
	f.next = 0
	entriesLog := f.opts.HashLog
	if entriesLog == 0 {
		entriesLog = max(fastMinHashLog, min(bits.Len(uint(len(src))), fastDefaultHashLog))
	}
	// The row holds at least the Depth candidates a search may compare,
	// and at least 8 slots so that its tags are whole words.
	f.rowLog = uint(max(3, bits.Len(uint(f.opts.Depth-1))))
	rowsLog := max(0, entriesLog-int(f.rowLog))
	f.rowShift = uint(64 - rowsLog)
	f.tagWords = 1 << f.rowLog / 4
	f.rowWords = 1 + f.tagWords + 1<<f.rowLog
	n := f.rowWords << rowsLog
	if uint64(f.base)+uint64(len(src))+1 > 1<<32-1 {
		// base would wrap: start from empty slots.
		clear(f.table[:cap(f.table)])
		f.base = 1
	}
	// Every slot written so far is below base, so a table of another
	// shape (inputs of other sizes get other row counts) needs no
	// clearing either; nor do the tags and row heads, which only ever
	// lead to slots.
	if cap(f.table) < n {
		f.table = make([]uint32, n)
	}
	f.table = f.table[:n]
}

// finish moves base past this call's positions.
func (f *FastEncoder) finish() {
	f.base += uint32(len(f.src)) + 1
	f.src = nil
}

// hashAt hashes the MinMatch bytes at p (p+8 <= len(src)) to a row and a
// tag.
func (f *FastEncoder) hashAt(p int) (row int, tag uint8) {
	v := binary.LittleEndian.Uint64(f.src[p:]) << f.keepShift
	h := v * fastPrime
	return int(h >> f.rowShift), uint8(h >> (f.rowShift - 8))
}

// fastInsertSkip: a match longer than this puts only its first and last
// fastInsertKeep positions into the tables (libzstd's row finder does the
// same): the middle of a long match seldom starts a better one, and
// inserting it costs as much as a search.
const (
	fastInsertSkip = 384
	fastInsertKeep = 64
)

// insertTo adds the positions before end to the tables.
func (f *FastEncoder) insertTo(end int) {
	p := f.next
	if s := f.opts.Sparse; s > 0 && end-p > 2*s {
		f.insertRange(p, p+s)
		p = end - s
	} else if end-p > fastInsertSkip {
		f.insertRange(p, p+fastInsertKeep)
		p = end - fastInsertKeep
	}
	f.insertRange(p, end)
	f.next = max(f.next, end)
}

func (f *FastEncoder) insertRange(from, to int) {
	for p := from; p < to; p++ {
		row, tag := f.hashAt(p)
		f.insertAt(p, row, tag)
	}
}

// insertAt makes p the newest slot of its row.
func (f *FastEncoder) insertAt(p, row int, tag uint8) {
	r := row * f.rowWords
	i := (f.table[r] - 1) & (1<<f.rowLog - 1)
	f.table[r] = i
	f.table[r+1+f.tagWords+int(i)] = f.base + uint32(p)
	w := &f.table[r+1+int(i>>2)]
	shift := (i & 3) * 8
	*w = *w&^(0xff<<shift) | uint32(tag)<<shift
}

// tagMatches returns a mask of the slots of row whose tag is tag, bit i
// for slot i. Eight tags at a time: a byte of x is zero where the tags
// agree, and (x - 0x01..) &^ x has its top bit set there (and, harmlessly,
// maybe above one); the multiply gathers the eight top bits into a byte.
func (f *FastEncoder) tagMatches(row int, tag uint8) uint64 {
	r := row * f.rowWords
	t := f.table[r+1 : r+1+f.tagWords]
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	rep := uint64(tag) * ones
	var m uint64
	for j := 0; j+1 < len(t); j += 2 {
		x := (uint64(t[j]) | uint64(t[j+1])<<32) ^ rep
		z := (x - ones) &^ x & highs
		m |= ((z >> 7) * 0x0102040810204080 >> 56) << (4 * j)
	}
	return m
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

// search returns the longest match at ip the tables offer (length 0 if
// none of MinMatch bytes), ending at limit at the latest; ip+MinMatch <=
// limit and ip+8 <= len(src). It puts ip and the positions before it into
// the tables.
func (f *FastEncoder) search(ip, limit int) (length, dist int) {
	f.insertTo(ip)
	src := f.src
	row, tag := f.hashAt(ip)
	m := f.tagMatches(row, tag)
	head := uint(f.table[row*f.rowWords])
	size := uint(1) << f.rowLog
	// Newest first: rotate so that bit k is the k-th newest slot.
	if size == 64 {
		m = bits.RotateLeft64(m, -int(head))
	} else {
		m = (m>>head | m<<(size-head)) & (1<<size - 1)
	}
	r := row*f.rowWords + 1 + f.tagWords
	rowSlots := f.table[r : r+int(size)]

	maxLen := limit - ip
	best := f.opts.MinMatch - 1
	first := binary.LittleEndian.Uint32(src[ip:])
	for n := f.opts.Depth; m != 0 && n > 0; m &= m - 1 {
		v := rowSlots[(head+uint(bits.TrailingZeros64(m)))&(size-1)]
		if v < f.base {
			continue
		}
		cand := int(v - f.base)
		n--
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
	}
	// ip goes in after the search, which must not find ip itself.
	f.insertAt(ip, row, tag)
	f.next = ip + 1
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
// Measured on 8 MiB of the bench tree: margins 0-6 at one position ahead
// differ by 0.5%, 1 the best; 4-10 at two ahead by 0.03%.
const (
	fastLazyMargin1 = 1
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

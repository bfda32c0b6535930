package zstd

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// The hash encoder: libzstd's "fast" and "double fast" strategies, for the
// low levels, where the whole of libzstd's compression costs less than our
// other parsers' match search alone. A search looks at one candidate per
// table, no chain: the latest earlier position with the same hash of its
// first MinMatch bytes (the short table) and, with Double, the latest with
// the same hash of its first 8 bytes (the long table), which finds the
// long matches that a short hash's single slot loses to newer, shorter
// ones. Positions inside a match are mostly not inserted, and a stretch
// without matches is crossed in ever longer steps, so incompressible data
// costs little. Before any search the first repeat offset is tried one
// byte ahead, and right after a match the second one (section 3.1.1.5),
// which catches the common "same record, one field changed" shape.
//
// Each 128 KiB block is parsed and written at once through the shared
// entropy stage; Split lets blockSplitter cut it where its statistics change.

// HashOptions are the hash encoder's settings.
type HashOptions struct {
	// Double adds the long (8-byte) table to the short one.
	Double bool
	// MinMatch is how many bytes the short table hashes (4..7).
	MinMatch int
	// ShortLog and LongLog are log2 of the tables' entries
	// (hashMinLog..hashMaxLog; LongLog only with Double). Smaller
	// inputs get smaller tables.
	ShortLog, LongLog int
	// StepLog: after 2^StepLog literals without a match, the search
	// steps over one more position at a time (4..10).
	StepLog int
	// Lazy is how many positions past a match found by the tables are
	// searched for a better one before it is taken (0..2; libzstd's
	// "lazy" and "lazy2" ideas over the same tables). Double only.
	Lazy int
	// Split lets the entropy stage cut a block in parts with their own
	// tables (blockSplitter), for a few percent more time.
	Split bool
}

const (
	// hashLazyNice: a match this long is taken without looking on
	// (looking on from 32-byte matches was 0.1 % smaller for 3-5 % more
	// time on the bench tree).
	hashLazyNice = 12
	hashMinLog   = 8
	hashMaxLog   = 22
	// hashPrime spreads the hashed bytes over the top bits.
	hashPrime = 0x9FB21C651E98DF25
)

// HashEncoder writes zstd frames with the hash parse. It keeps its tables
// between calls but no state: each call's output depends only on its
// input and the options. It is not safe for concurrent use.
//
// Table entries hold base+position, base growing by the input's length
// each call: an entry below base is from an earlier call and empty for
// this one, so the tables need no clearing between calls.
type HashEncoder struct {
	opts HashOptions
	// short and long hold, per slot, base+position in the low 32 bits
	// and the first four bytes at that position in the high ones: a
	// search compares those first and reads the input only on a likely
	// match, as a miss is what most probes are and reading a candidate's
	// bytes is a cache miss of its own (the window is a MiB).
	short, long []uint64
	base        uint32
	mmShift     uint // drops the bytes past MinMatch of a 64-bit load
	seqs        []Sequence
	parts       []blockPart
	split       blockSplitter
	w           blockWriter
}

// NewHashEncoder returns a hash encoder with the given options.
func NewHashEncoder(o HashOptions) (*HashEncoder, error) {
	switch {
	case o.MinMatch < 4 || o.MinMatch > 7:
		return nil, fmt.Errorf("%w: hash min match %d not in 4..7", errOptions, o.MinMatch)
	case o.ShortLog < hashMinLog || o.ShortLog > hashMaxLog:
		return nil, fmt.Errorf("%w: short hash log %d not in %d..%d", errOptions, o.ShortLog, hashMinLog, hashMaxLog)
	case o.Double && (o.LongLog < hashMinLog || o.LongLog > hashMaxLog):
		return nil, fmt.Errorf("%w: long hash log %d not in %d..%d", errOptions, o.LongLog, hashMinLog, hashMaxLog)
	case o.StepLog < 4 || o.StepLog > 10:
		return nil, fmt.Errorf("%w: step log %d not in 4..10", errOptions, o.StepLog)
	case o.Lazy < 0 || o.Lazy > 2:
		return nil, fmt.Errorf("%w: hash lazy %d not in 0..2", errOptions, o.Lazy)
	case o.Lazy > 0 && !o.Double:
		return nil, fmt.Errorf("%w: hash lazy search needs the double-fast parse", errOptions)
	}
	e := &HashEncoder{opts: o, base: 1, mmShift: uint(64 - 8*o.MinMatch)}
	e.w.quick = true
	return e, nil
}

// EncodeAll appends to dst one single-segment frame holding src (RFC 8878
// section 3.1.1), its blocks at most Block_Maximum_Size each.
func (e *HashEncoder) EncodeAll(dst, src []byte) []byte {
	dst = appendFrameHeader(dst, len(src))
	e.w.reset()
	if len(src) == 0 {
		// A frame has at least one block; an empty raw one here.
		dst, _ = e.w.appendBlock(dst, nil, nil, true)
		return dst
	}
	shortShift, longShift := e.reset(len(src))
	reps := initialRepeats
	for start := 0; start < len(src); start += maxBlockSize {
		end := min(start+maxBlockSize, len(src))
		seqs, after := e.parse(src, start, end, reps, shortShift, longShift)
		block := src[start:end]
		if !e.opts.Split {
			// A block written raw or RLE carries no sequences and
			// leaves the decoder's repeat offsets as they were
			// (section 3.1.1.5); the next block is parsed from those.
			var compressed bool
			dst, compressed = e.w.appendBlock(dst, block, seqs, end == len(src))
			if compressed {
				reps = after
			}
			continue
		}
		e.parts, _ = e.split.split(e.parts[:0], block, seqs)
		// The parse assumed every part compressed; writeParts recodes
		// the offsets after one that goes out raw or RLE.
		dst, reps = e.w.writeParts(dst, block, seqs, e.parts, reps, reps, end == len(src))
	}
	e.base += uint32(len(src)) + 1
	return dst
}

// reset sizes the tables for an input of n bytes and returns the shifts
// that turn a hash into a slot of each.
func (e *HashEncoder) reset(n int) (shortShift, longShift uint) {
	if uint64(e.base)+uint64(n)+1 > 1<<32-1 {
		// base would wrap: start from empty tables.
		clear(e.short[:cap(e.short)])
		clear(e.long[:cap(e.long)])
		e.base = 1
	}
	fit := bits.Len(uint(n))
	shortLog := max(hashMinLog, min(e.opts.ShortLog, fit))
	if cap(e.short) < 1<<shortLog {
		e.short = make([]uint64, 1<<shortLog)
	}
	e.short = e.short[:1<<shortLog]
	longLog := 0
	if e.opts.Double {
		longLog = max(hashMinLog, min(e.opts.LongLog, fit))
		if cap(e.long) < 1<<longLog {
			e.long = make([]uint64, 1<<longLog)
		}
		e.long = e.long[:1<<longLog]
	}
	return uint(64 - shortLog), uint(64 - longLog)
}

// parse returns the sequences of src[start:end] for a decoder whose repeat
// offsets are reps at start, and the offsets after them.
func (e *HashEncoder) parse(src []byte, start, end int, reps repeatOffsets, shortShift, longShift uint) ([]Sequence, repeatOffsets) {
	if e.opts.Double {
		return e.parseDouble(src, start, end, reps, shortShift, longShift)
	}
	return e.parseSingle(src, start, end, reps, shortShift)
}

// shortHash hashes the MinMatch bytes of v (the 8 bytes at a position) to
// a slot: shifting the other bytes out first makes them not count.
// (Masking the shift counts with 63 spares Go's check for counts of 64
// and more in the hot loops.)
func (e *HashEncoder) shortHash(v uint64, shift uint) uint32 {
	return uint32(((v << (e.mmShift & 63)) * hashPrime) >> (shift & 63))
}

func longHash(v uint64, shift uint) uint32 {
	return uint32((v * hashPrime) >> (shift & 63))
}

// entry is a table slot's content for position p whose 8 bytes are v.
func entry(p int, base uint32, v uint64) uint64 {
	return uint64(uint32(p)+base) | v<<32
}

// candidate returns the position slot c holds if its first four bytes are
// v's, else -1 (empty, stale or another sequence).
func candidate(c uint64, base uint32, v uint64) int {
	if uint32(c>>32) != uint32(v) || uint32(c) < base {
		return -1
	}
	return int(uint32(c) - base)
}

// parseDouble parses src[start:end] with both tables. Positions from
// ilimit on start no search: every probe reads 8 bytes that must lie in
// the block, so that a match found never needs trimming at its end.
func (e *HashEncoder) parseDouble(src []byte, start, end int, reps repeatOffsets, shortShift, longShift uint) ([]Sequence, repeatOffsets) {
	seqs := e.seqs[:0]
	short, long := e.short, e.long
	base := e.base
	stepLog := uint(e.opts.StepLog) & 63
	mmShift := e.mmShift & 63
	shortShift &= 63
	longShift &= 63
	lazy := e.opts.Lazy
	anchor, ip := start, start
	if ip == 0 {
		// Nothing before the first byte to match.
		ip = 1
	}
	// ip+1 is probed too, and reads 8 bytes.
	ilimit := end - 9
	for ip < ilimit {
		v0 := binary.LittleEndian.Uint64(src[ip:])
		v1 := binary.LittleEndian.Uint64(src[ip+1:])
		hs0 := uint32(((v0 << mmShift) * hashPrime) >> shortShift)
		hl0 := uint32((v0 * hashPrime) >> longShift)
		hs1 := uint32(((v1 << mmShift) * hashPrime) >> shortShift)
		hl1 := uint32((v1 * hashPrime) >> longShift)
		cs0, cl0 := short[hs0], long[hl0]
		short[hs0], long[hl0] = entry(ip, base, v0), entry(ip, base, v0)
		cs1, cl1 := short[hs1], long[hl1]
		short[hs1], long[hl1] = entry(ip+1, base, v1), entry(ip+1, base, v1)
		cur := ip

		var mLen, dist int
		// The first repeat offset one byte ahead: a match there costs
		// only a short code and leaves one literal. Then a long match
		// at either position, worth more than a short one at ip
		// (libzstd's dfast prefers them the same way), then short.
		if d := int(reps[0]); d <= ip+1 && uint32(v1) == binary.LittleEndian.Uint32(src[ip+1-d:]) {
			ip++
			mLen, dist = 4+commonLen(src, ip+4-d, ip+4, end-ip-4), d
		} else if c := candidate(cl0, base, v0); c >= 0 && binary.LittleEndian.Uint64(src[c:]) == v0 {
			mLen, dist = 8+commonLen(src, c+8, ip+8, end-ip-8), ip-c
		} else if c := candidate(cl1, base, v1); c >= 0 && binary.LittleEndian.Uint64(src[c:]) == v1 {
			ip++
			mLen, dist = 8+commonLen(src, c+8, ip+8, end-ip-8), ip-c
		} else if c := candidate(cs0, base, v0); c >= 0 {
			mLen, dist = 4+commonLen(src, c+4, ip+4, end-ip-4), ip-c
		} else if c := candidate(cs1, base, v1); c >= 0 {
			ip++
			mLen, dist = 4+commonLen(src, c+4, ip+4, end-ip-4), ip-c
		} else {
			ip += 2 + (ip-anchor)>>stepLog
			continue
		}
		// Lazy: a longer match one (with Lazy 2, or two) bytes on wins
		// by the gain margin, and the search goes on from there. At
		// cur+1 the candidates were read before that position went
		// into the tables; further on they are read here.
		for k := 1; k <= lazy && mLen < hashLazyNice && ip+k < ilimit; k++ {
			p := ip + k
			w, cl, cs := v1, cl1, cs1
			if p != cur+1 {
				w = binary.LittleEndian.Uint64(src[p:])
				hl := uint32((w * hashPrime) >> longShift)
				hs := uint32(((w << mmShift) * hashPrime) >> shortShift)
				cl, cs = long[hl], short[hs]
				long[hl], short[hs] = entry(p, base, w), entry(p, base, w)
			}
			l := 0
			c := candidate(cl, base, w)
			if c >= 0 && binary.LittleEndian.Uint64(src[c:]) == w {
				l = 8 + commonLen(src, c+8, p+8, end-p-8)
			} else if c = candidate(cs, base, w); c >= 0 {
				l = 4 + commonLen(src, c+4, p+4, end-p-4)
			}
			margin := fastLazyMargin1
			if k == 2 {
				margin = fastLazyMargin2
			}
			if l > 0 && fastGain(l, uint32(p-c+3)) > fastGain(mLen, uint32(dist+3))+margin {
				ip, mLen, dist = p, l, p-c
				k = 0
			}
		}
		// Extend backwards over literals the match also covers.
		for ip > anchor && ip-dist > 0 && src[ip-1] == src[ip-1-dist] {
			ip--
			mLen++
		}
		seqs = hashEmit(seqs, &reps, ip-anchor, mLen, dist)
		ip += mLen
		if ip < ilimit {
			// Two positions of the match go in: its third byte and
			// the one two before its end, where the next match
			// often starts (the one before it as well measured 0.4 %
			// smaller for 4 % more time).
			for _, p := range [2]int{cur + 2, ip - 2} {
				w := binary.LittleEndian.Uint64(src[p:])
				long[uint32((w*hashPrime)>>longShift)] = entry(p, base, w)
				short[uint32(((w<<mmShift)*hashPrime)>>shortShift)] = entry(p, base, w)
			}
			ip = e.repeatRun(src, ip, ilimit, end, &seqs, &reps, shortShift, longShift)
		}
		anchor = ip
	}
	e.seqs = seqs
	return seqs, reps
}

// parseSingle parses src[start:end] with the short table alone. It probes
// two neighbouring positions per step, both table loads issued before
// either is compared, so that their latencies overlap (libzstd's fast
// strategy interleaves its probes for the same reason).
func (e *HashEncoder) parseSingle(src []byte, start, end int, reps repeatOffsets, shortShift uint) ([]Sequence, repeatOffsets) {
	seqs := e.seqs[:0]
	short := e.short
	base := e.base
	stepLog := uint(e.opts.StepLog) & 63
	mmShift := e.mmShift & 63
	shortShift &= 63
	anchor, ip := start, start
	if ip == 0 {
		ip = 1
	}
	// ip+1 is probed too, and reads 8 bytes.
	ilimit := end - 9
	for ip < ilimit {
		v0 := binary.LittleEndian.Uint64(src[ip:])
		v1 := binary.LittleEndian.Uint64(src[ip+1:])
		h0 := uint32(((v0 << mmShift) * hashPrime) >> shortShift)
		h1 := uint32(((v1 << mmShift) * hashPrime) >> shortShift)
		c0 := short[h0]
		short[h0] = entry(ip, base, v0)
		c1 := short[h1]
		short[h1] = entry(ip+1, base, v1)
		cur := ip

		var mLen, dist int
		if d := int(reps[0]); d <= ip+1 && uint32(v1) == binary.LittleEndian.Uint32(src[ip+1-d:]) {
			// The first repeat offset one byte ahead: a match there
			// costs only a short code and leaves one literal.
			ip++
			mLen, dist = 4+commonLen(src, ip+4-d, ip+4, end-ip-4), d
		} else if c := candidate(c0, base, v0); c >= 0 {
			mLen, dist = 4+commonLen(src, c+4, ip+4, end-ip-4), ip-c
		} else if c := candidate(c1, base, v1); c >= 0 {
			ip++
			mLen, dist = 4+commonLen(src, c+4, ip+4, end-ip-4), ip-c
		} else {
			ip += 2 + (ip-anchor)>>stepLog
			continue
		}
		for ip > anchor && ip-dist > 0 && src[ip-1] == src[ip-1-dist] {
			ip--
			mLen++
		}
		seqs = hashEmit(seqs, &reps, ip-anchor, mLen, dist)
		ip += mLen
		if ip < ilimit {
			p := cur + 2
			w := binary.LittleEndian.Uint64(src[p:])
			short[uint32(((w<<mmShift)*hashPrime)>>shortShift)] = entry(p, base, w)
			p = ip - 2
			w = binary.LittleEndian.Uint64(src[p:])
			short[uint32(((w<<mmShift)*hashPrime)>>shortShift)] = entry(p, base, w)
			ip = e.repeatRun(src, ip, ilimit, end, &seqs, &reps, shortShift, 0)
		}
		anchor = ip
	}
	e.seqs = seqs
	return seqs, reps
}

// hashEmit appends the sequence for a match of mLen bytes at distance dist
// after litLen literals and moves the repeat offsets past it: the rules of
// section 3.1.1.5 that repeatOffsets.offValueFor and next implement,
// unrolled for this parse's hot loop.
func hashEmit(seqs []Sequence, reps *repeatOffsets, litLen, mLen, dist int) []Sequence {
	d := uint32(dist)
	r0, r1, r2 := reps[0], reps[1], reps[2]
	ov := d + 3
	if litLen > 0 {
		switch d {
		case r0:
			ov = 1
		case r1:
			ov = 2
			reps[0], reps[1] = d, r0
		case r2:
			ov = 3
			reps[0], reps[1], reps[2] = d, r0, r1
		default:
			reps[0], reps[1], reps[2] = d, r0, r1
		}
	} else {
		// With no literals, 1 and 2 name the second and third
		// offsets and 3 the first minus one.
		switch d {
		case r1:
			ov = 1
			reps[0], reps[1] = d, r0
		case r2:
			ov = 2
			reps[0], reps[1], reps[2] = d, r0, r1
		case r0 - 1:
			ov = 3
			reps[0], reps[1], reps[2] = d, r0, r1
		default:
			reps[0], reps[1], reps[2] = d, r0, r1
		}
	}
	return append(seqs, Sequence{LitLen: uint32(litLen), MatchLen: uint32(mLen), OffValue: ov})
}

// repeatRun takes, at ip right after a match, matches at the second repeat
// offset with no literals between (Offset_Value 1 then names it, section
// 3.1.1.5), as long as they last at least 4 bytes, and puts each one's
// start into the tables (the long one only with Double). It returns the
// position after the last one.
func (e *HashEncoder) repeatRun(src []byte, ip, ilimit, end int, seqs *[]Sequence, reps *repeatOffsets, shortShift, longShift uint) int {
	for ip < ilimit {
		d := int(reps[1])
		if d > ip {
			break
		}
		v := binary.LittleEndian.Uint64(src[ip:])
		if uint32(v) != binary.LittleEndian.Uint32(src[ip-d:]) {
			break
		}
		l := 4 + commonLen(src, ip-d+4, ip+4, end-ip-4)
		e.short[e.shortHash(v, shortShift)] = entry(ip, e.base, v)
		if e.opts.Double {
			e.long[longHash(v, longShift)] = entry(ip, e.base, v)
		}
		*seqs = hashEmit(*seqs, reps, 0, l, d)
		ip += l
	}
	return ip
}

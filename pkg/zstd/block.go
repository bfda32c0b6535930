package zstd

import (
	"fmt"
	"slices"

	"github.com/klauspost/compress/huff0"
)

// Block_Type values, RFC 8878 section 3.1.1.2.2.
const (
	blockRaw        = 0
	blockRLE        = 1
	blockCompressed = 2
)

// blockWriter carries the entropy state between the blocks of one frame
// (previous Huffman table for Treeless literals, previous FSE tables for
// Repeat_Mode) plus scratch buffers. Zero value usable after reset(); reused
// across frames; not safe for concurrent use.
//
// The state follows the decoder's exactly: Raw and RLE blocks leave it
// untouched, and inside a compressed block the Huffman table changes only
// with a new Huffman_Tree_Description and the FSE tables only when the block
// has sequences (sections 3.1.1.3.1.1 and 3.1.1.3.2.1).
type blockWriter struct {
	// huff is huff0's working state; its previous table is the decoder's
	// previous Huffman table. huffSaved holds a copy taken at the start of
	// each block, put back when the block does not end up replacing it.
	huff, huffSaved *huff0.Scratch
	// huffNew keeps a new table while the Treeless way is tried, and litNew
	// the literals coded with it.
	huffNew *huff0.Scratch
	litNew  []byte
	// quick codes literals in one Huffman pass (appendLiterals), for
	// encoders whose whole budget is a few times that pass.
	quick bool
	// prev are the tables a Repeat_Mode refers to, valid once a compressed
	// block with sequences has been written in this frame: a predefined
	// table, or one of tables[k] while w.seq.fresh[k] is the other, so that
	// keeping a new table is swapping two pointers, not copying it.
	prev      [numKinds]*fseTable
	prevValid bool
	tables    [numKinds][2]fseTable
	seq       seqScratch
	lits      []byte
	sizeBuf   []byte
}

// reset starts a new frame: a decoder starts every frame with no previous
// Huffman or FSE table (section 3.1.1.3.1.1 and 3.1.1.3.2.1).
func (w *blockWriter) reset() {
	if w.huff == nil {
		// Huffman_Tree_Description allows a Max_Number_of_Bits of 11
		// (section 4.2.1); huff0 defaults to that and to all 256 symbols.
		w.huff = &huff0.Scratch{}
		w.huffSaved = &huff0.Scratch{}
		w.huffNew = &huff0.Scratch{}
	}
	var none huff0.Scratch
	w.huff.TransferCTable(&none)
	w.prevValid = false
	for k := range w.seq.fresh {
		w.prev[k], w.seq.fresh[k] = nil, &w.tables[k][0]
	}
}

// appendBlock appends one whole block (3-byte Block_Header + content) for
// src, the block's own bytes (len <= maxBlockSize = 128 KiB, may be 0 only
// for an empty frame). seqs describe a prefix of src in order; the bytes
// after the last match are trailing literals. OffValues are written as given
// (the caller tracks repeat offsets). last sets Last_Block.
//
// It writes whichever of Raw_Block, RLE_Block and Compressed_Block is
// smallest and reports whether the sequences were written (compressed ==
// true): after a Raw/RLE block the decoder's repeat offsets did NOT advance,
// so the caller must restore its own.
func (w *blockWriter) appendBlock(dst, src []byte, seqs []Sequence, last bool) (out []byte, compressed bool) {
	return w.encodeBlock(dst, src, seqs, last, true)
}

// sizeBlock returns the number of bytes appendBlock would append for src
// and seqs now (header included), without changing the entropy state: a
// caller can compare ways to cut its input into blocks by their exact cost.
func (w *blockWriter) sizeBlock(src []byte, seqs []Sequence) int {
	w.sizeBuf, _ = w.encodeBlock(w.sizeBuf[:0], src, seqs, false, false)
	return len(w.sizeBuf)
}

// encodeBlock is appendBlock; with commit false it leaves the entropy state
// as it found it.
func (w *blockWriter) encodeBlock(dst, src []byte, seqs []Sequence, last, commit bool) ([]byte, bool) {
	if len(src) > maxBlockSize {
		panic(fmt.Sprintf("zstd: block of %d bytes exceeds Block_Maximum_Size", len(src)))
	}
	lastBit := uint32(0)
	if last {
		lastBit = 1
	}
	if len(src) > 1 && allSame(src) {
		// RLE_Block: Block_Size is the regenerated size, content one byte.
		dst = appendBlockHeader(dst, lastBit|blockRLE<<1|uint32(len(src))<<3)
		return append(dst, src[0]), false
	}
	if len(src) > 0 && w.huff != nil {
		w.lits = w.gatherLiterals(w.lits[:0], src, seqs)
		w.huffSaved.TransferCTable(w.huff)
		start := len(dst)
		dst = append(dst, 0, 0, 0)
		var newHuff bool
		dst, newHuff = w.appendLiterals(dst, w.lits)
		dst = w.appendSequences(dst, seqs)
		size := len(dst) - start - 3
		if size < len(src) {
			h := lastBit | blockCompressed<<1 | uint32(size)<<3
			dst[start], dst[start+1], dst[start+2] = byte(h), byte(h>>8), byte(h>>16)
			if !newHuff || !commit {
				w.huff.TransferCTable(w.huffSaved)
			}
			if len(seqs) > 0 && commit {
				w.commitTables()
			}
			return dst, true
		}
		dst = dst[:start]
		w.huff.TransferCTable(w.huffSaved)
	}
	dst = appendBlockHeader(dst, lastBit|blockRaw<<1|uint32(len(src))<<3)
	return append(dst, src...), false
}

// appendBlockHeader writes the 3-byte little-endian Block_Header: bit 0
// Last_Block, bits 1-2 Block_Type, bits 3-23 Block_Size (section 3.1.1.2).
func appendBlockHeader(dst []byte, h uint32) []byte {
	return append(dst, byte(h), byte(h>>8), byte(h>>16))
}

// gatherLiterals appends the literals of src under seqs (each sequence's
// LitLen bytes, then the bytes after the last match) and checks that the
// sequences fit src and the code tables; a violation is a caller bug. In
// the same pass over seqs it computes what appendSequences needs: each
// sequence's codes and extra bits in w.seq.codes, and the histograms of
// the codes.
//
// Literal runs are mostly a few bytes long, too short to repay a call to
// copy: runs of up to 16 bytes move as one 16-byte word, which may write up
// to 16 bytes past the run's end, into room reserved for that and
// overwritten by the next run.
func (w *blockWriter) gatherLiterals(dst, src []byte, seqs []Sequence) []byte {
	p := len(dst)
	dst = slices.Grow(dst, len(src)+16)
	out := dst[:cap(dst)]
	sc := &w.seq
	if cap(sc.codes) < len(seqs) {
		sc.codes = make([]seqCodes, len(seqs), max(len(seqs), 2*cap(sc.codes)))
	}
	codes := sc.codes[:len(seqs)]
	sc.codes = codes
	hll, hof, hml := &sc.hist[kindLL], &sc.hist[kindOF], &sc.hist[kindML]
	clear(hll[:])
	clear(hof[:])
	clear(hml[:])
	pos := 0
	for i := range codes {
		s := &seqs[i]
		if s.MatchLen < minMatch || s.MatchLen > maxMatchLen || s.LitLen > maxLitLen || s.OffValue == 0 ||
			uint64(pos)+uint64(s.LitLen)+uint64(s.MatchLen) > uint64(len(src)) {
			panic(fmt.Sprintf("zstd: sequence %d %+v does not fit a block of %d bytes at %d", i, *s, len(src), pos))
		}
		n := int(s.LitLen)
		if n <= 16 && pos+16 <= len(src) {
			*(*[16]byte)(out[p:]) = *(*[16]byte)(src[pos:])
		} else {
			copy(out[p:], src[pos:pos+n])
		}
		p += n
		pos += n + int(s.MatchLen)

		ll, lb := llCodeBits(s.LitLen)
		ml, mb := mlCodeBits(s.MatchLen)
		of := ofCode(s.OffValue)
		// Field by field: a whole struct built first would be stored
		// piecewise and then copied with wider loads, which stall.
		c := &codes[i]
		c.ll, c.of, c.ml = ll, of, ml
		c.lmBits = lb + mb
		c.lmExtra = s.LitLen&lowMask32[lb&31] | ((s.MatchLen-minMatch)&lowMask32[mb&31])<<(lb&31)
		c.ofExtra = s.OffValue & lowMask32[of&31]
		hll[ll&(codeHistSize-1)]++
		hof[of&(codeHistSize-1)]++
		hml[ml&(codeHistSize-1)]++
	}
	p += copy(out[p:], src[pos:])
	return out[:p]
}

package deflate

import "encoding/binary"

// bitWriter packs bits least significant first into bytes, as RFC 1951
// section 3.1.1 requires (Huffman codes are pre-reversed by the caller).
type bitWriter struct {
	out []byte
	acc uint64
	n   uint // bits held in acc, always < 32 between calls
}

// writeBits appends the low n bits of v; n <= 32.
func (w *bitWriter) writeBits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	if w.n >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// alignByte pads with zero bits up to a byte boundary and flushes every
// whole byte, as a stored block's LEN field needs (RFC 1951 3.2.4).
func (w *bitWriter) alignByte() {
	w.n = (w.n + 7) &^ 7
	for w.n > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

// bitPos is the number of bits written so far modulo 8.
func (w *bitWriter) bitPos() uint { return w.n & 7 }

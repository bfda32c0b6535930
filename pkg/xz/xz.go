// Package xz writes and reads .xz streams as squashfs stores them: one
// stream per block, one xz Block with the filter chain [BCJ] + LZMA2, a
// CRC32 check. The library github.com/ulikunitz/xz can only write LZMA2
// alone; this package writes the container itself so a block can carry a
// BCJ filter, which the Linux kernel's and liblzma's decoders accept.
//
// Section numbers refer to "The .xz File Format" (tukaani.org,
// xz-file-format.txt, version 1.1.0 and later).
package xz

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"
	"sync"

	"github.com/ulikunitz/xz/lzma"
)

// Errors of this package, matched with errors.Is.
var (
	// ErrFormat: the data is not a well-formed .xz stream.
	ErrFormat = errors.New("xz: malformed stream")
	// ErrUnsupported: a well-formed stream uses a feature this package
	// does not decode (another filter, an unknown check).
	ErrUnsupported = errors.New("xz: unsupported feature")
	// ErrCheck: the stored check does not match the decoded data.
	ErrCheck = errors.New("xz: check mismatch")
	// ErrTooLarge: the data decodes to more than the caller's limit.
	ErrTooLarge = errors.New("xz: decoded data exceeds the limit")
)

// Check types (2.1.1.2 Stream Flags).
const (
	CheckNone   = 0x00
	CheckCRC32  = 0x01
	CheckCRC64  = 0x04
	CheckSHA256 = 0x0A
)

// headerMagic and footerMagic delimit a stream (2.1.1.1, 2.1.2.4).
var (
	headerMagic = []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}
	footerMagic = []byte{'Y', 'Z'}
)

const (
	streamHeaderSize = 12
	streamFooterSize = 12
	// maxVLI is the largest value a variable-length integer may hold
	// (1.2: at most 9 bytes, 63 bits).
	maxVLI = 1<<63 - 1
)

// EncodeOptions configures Encode.
type EncodeOptions struct {
	// BCJ is the filter applied before LZMA2, or None.
	BCJ Filter
	// DictSize is the LZMA2 dictionary size stated in the filter
	// properties (5.3.1). It must be 2^n or 3*2^n (>= 4 KiB) so the
	// header states it exactly; decoders that preallocate (the kernel)
	// check it against their limit.
	DictSize int
	// LZMA2 encodes the (filtered) data; nil means LibLZMA2{DictCap:
	// DictSize}. It must not reference further back than DictSize.
	LZMA2 LZMA2Encoder
}

// scratchPool holds buffers for the BCJ-filtered copy of the input, which
// is as large as a squashfs block.
var scratchPool sync.Pool

func getScratch(n int) *[]byte {
	if p, ok := scratchPool.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	b := make([]byte, n)
	return &b
}

// DictByte returns the LZMA2 dictionary-size property byte (5.3.1) for
// size, which must be 2^n or 3*2^n between 4 KiB and 3 GiB.
func DictByte(size int) (byte, error) {
	for b := 0; b <= 39; b++ {
		if DictSizeOf(byte(b)) == int64(size) {
			return byte(b), nil
		}
	}
	return 0, fmt.Errorf("xz: dictionary size %d is not 2^n or 3*2^n in [4 KiB, 3 GiB]", size)
}

// DictSizeOf decodes an LZMA2 dictionary-size property byte (5.3.1);
// 40 means 4 GiB - 1, larger values are invalid (returned as -1).
func DictSizeOf(b byte) int64 {
	switch {
	case b > 40:
		return -1
	case b == 40:
		return 1<<32 - 1
	}
	return int64(2|b&1) << (b/2 + 11)
}

// Encode appends to dst[:0] one .xz stream holding src: stream header,
// one block (header, compressed data, padding, CRC32 of src), index and
// footer (2.1, 3, 4). The block header states the filter chain but not the
// compressed and uncompressed sizes (optional, 3.1.2); that saves a few
// bytes per squashfs block.
func Encode(dst, src []byte, opt EncodeOptions) ([]byte, error) {
	if opt.BCJ != None && !opt.BCJ.IsBCJ() {
		return nil, fmt.Errorf("%w: filter %s", ErrUnsupported, opt.BCJ)
	}
	dictByte, err := DictByte(opt.DictSize)
	if err != nil {
		return nil, err
	}
	enc := opt.LZMA2
	if enc == nil {
		enc = LibLZMA2{DictCap: opt.DictSize}
	}

	dst = appendStreamHeader(dst[:0], CheckCRC32)

	// 3.1 Block Header: size, flags, filter flags, padding, CRC32.
	hstart := len(dst)
	nfilters := 1
	if opt.BCJ != None {
		nfilters = 2
	}
	dst = append(dst, 0, byte(nfilters-1))
	if opt.BCJ != None {
		// BCJ filter flags: ID, properties size 0 (no start offset;
		// the kernel's decoder rejects BCJ properties).
		dst = appendVLI(dst, uint64(opt.BCJ))
		dst = appendVLI(dst, 0)
	}
	dst = append(dst, byte(LZMA2), 1, dictByte)
	for (len(dst)-hstart)%4 != 0 {
		dst = append(dst, 0)
	}
	hsize := len(dst) - hstart + 4
	dst[hstart] = byte(hsize/4 - 1)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[hstart:]))

	data := src
	if opt.BCJ != None {
		sp := getScratch(len(src))
		defer scratchPool.Put(sp)
		copy(*sp, src)
		opt.BCJ.Encode(*sp, 0)
		data = *sp
	}
	cstart := len(dst)
	comp, err := enc.EncodeLZMA2(dst[cstart:], data)
	if err != nil {
		return nil, err
	}
	// comp is either in dst's spare capacity at cstart (then this copies
	// onto itself) or a new array.
	dst = append(dst, comp...)
	csize := len(dst) - cstart
	for (len(dst)-cstart)%4 != 0 { // 3.2 Block Padding
		dst = append(dst, 0)
	}
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(src)) // 3.3 Check

	// 4. Index: indicator, record count, (unpadded size, uncompressed
	// size) per block, padding, CRC32.
	istart := len(dst)
	dst = append(dst, 0x00)
	dst = appendVLI(dst, 1)
	dst = appendVLI(dst, uint64(hsize+csize+4))
	dst = appendVLI(dst, uint64(len(src)))
	for (len(dst)-istart)%4 != 0 {
		dst = append(dst, 0)
	}
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[istart:]))
	isize := len(dst) - istart

	return appendStreamFooter(dst, CheckCRC32, isize), nil
}

func appendStreamHeader(dst []byte, check byte) []byte {
	dst = append(dst, headerMagic...)
	flags := []byte{0x00, check}
	dst = append(dst, flags...)
	return binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(flags))
}

// appendStreamFooter writes 2.1.2: CRC32 of (backward size, flags),
// backward size = index size / 4 - 1, flags, "YZ".
func appendStreamFooter(dst []byte, check byte, indexSize int) []byte {
	var body [6]byte
	binary.LittleEndian.PutUint32(body[:4], uint32(indexSize/4-1))
	body[4], body[5] = 0x00, check
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(body[:]))
	dst = append(dst, body[:]...)
	return append(dst, footerMagic...)
}

// appendVLI encodes a variable-length integer (1.2): 7 bits per byte, low
// first, the high bit set on all but the last byte.
func appendVLI(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// readVLI decodes a variable-length integer from b, returning it and its
// length; it rejects non-minimal encodings and more than 9 bytes (1.2).
func readVLI(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < 9 && i < len(b); i++ {
		v |= uint64(b[i]&0x7F) << (7 * i)
		if b[i]&0x80 == 0 {
			if i > 0 && b[i] == 0 {
				return 0, 0, fmt.Errorf("%w: non-minimal integer", ErrFormat)
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: truncated or overlong integer", ErrFormat)
}

func checkSize(check byte) (int, error) {
	switch check {
	case CheckNone:
		return 0, nil
	case CheckCRC32:
		return 4, nil
	case CheckCRC64:
		return 8, nil
	case CheckSHA256:
		return 32, nil
	}
	return 0, fmt.Errorf("%w: check type %#x", ErrUnsupported, check)
}

var crc64Table = crc64.MakeTable(crc64.ECMA)

// verifyCheck compares the stored check of a block with its data.
func verifyCheck(check byte, data, stored []byte) error {
	var ok bool
	switch check {
	case CheckNone:
		ok = true
	case CheckCRC32:
		ok = binary.LittleEndian.Uint32(stored) == crc32.ChecksumIEEE(data)
	case CheckCRC64:
		ok = binary.LittleEndian.Uint64(stored) == crc64.Checksum(data, crc64Table)
	case CheckSHA256:
		sum := sha256.Sum256(data)
		ok = bytes.Equal(sum[:], stored)
	}
	if !ok {
		return ErrCheck
	}
	return nil
}

// blockHeader is what Decode needs from a block header (3.1).
type blockHeader struct {
	size       int   // header size in bytes
	compSize   int64 // -1 when absent
	uncompSize int64 // -1 when absent
	bcj        Filter
	bcjStart   uint32
	dictSize   int64
}

func parseBlockHeader(b []byte) (blockHeader, error) {
	h := blockHeader{compSize: -1, uncompSize: -1}
	h.size = (int(b[0]) + 1) * 4
	if len(b) < h.size {
		return h, fmt.Errorf("%w: truncated block header", ErrFormat)
	}
	body := b[:h.size-4]
	if binary.LittleEndian.Uint32(b[h.size-4:]) != crc32.ChecksumIEEE(body) {
		return h, fmt.Errorf("%w: block header CRC32", ErrFormat)
	}
	flags := body[1]
	if flags&0x3C != 0 {
		return h, fmt.Errorf("%w: reserved block flags %#x", ErrUnsupported, flags)
	}
	p := 2
	next := func() (uint64, error) {
		v, n, err := readVLI(body[p:])
		p += n
		return v, err
	}
	if flags&0x40 != 0 {
		v, err := next()
		if err != nil || v == 0 || v > maxVLI {
			return h, fmt.Errorf("%w: compressed size", ErrFormat)
		}
		h.compSize = int64(v)
	}
	if flags&0x80 != 0 {
		v, err := next()
		if err != nil || v > maxVLI {
			return h, fmt.Errorf("%w: uncompressed size", ErrFormat)
		}
		h.uncompSize = int64(v)
	}
	nfilters := int(flags&3) + 1
	for i := 0; i < nfilters; i++ {
		id, err := next()
		if err != nil {
			return h, err
		}
		psize, err := next()
		if err != nil {
			return h, err
		}
		if psize > uint64(len(body)-p) {
			return h, fmt.Errorf("%w: filter properties overrun the block header", ErrFormat)
		}
		props := body[p : p+int(psize)]
		p += int(psize)
		f := Filter(id)
		last := i == nfilters-1
		switch {
		case last && f == LZMA2:
			if len(props) != 1 {
				return h, fmt.Errorf("%w: LZMA2 properties size %d", ErrFormat, len(props))
			}
			if h.dictSize = DictSizeOf(props[0]); h.dictSize < 0 {
				return h, fmt.Errorf("%w: LZMA2 dictionary property %#x", ErrFormat, props[0])
			}
		case !last && i == 0 && f.IsBCJ():
			// 5.3.3: properties are empty or a 4-byte start offset.
			switch len(props) {
			case 0:
			case 4:
				h.bcjStart = binary.LittleEndian.Uint32(props)
			default:
				return h, fmt.Errorf("%w: %s properties size %d", ErrFormat, f, len(props))
			}
			h.bcj = f
		default:
			return h, fmt.Errorf("%w: filter chain with %s at position %d of %d", ErrUnsupported, f, i+1, nfilters)
		}
	}
	for _, c := range body[p:] {
		if c != 0 {
			return h, fmt.Errorf("%w: non-zero block header padding", ErrFormat)
		}
	}
	return h, nil
}

type indexRecord struct{ unpadded, uncompressed uint64 }

// Decode decodes the single .xz stream src (with any number of blocks,
// any of the checks None, CRC32, CRC64, SHA-256, filter chains [BCJ] +
// LZMA2) and appends the data to dst[:0]. It fails with ErrTooLarge when
// the data exceeds maxSize bytes, and rejects anything after the stream
// (a squashfs block holds exactly one stream).
func Decode(dst, src []byte, maxSize int) ([]byte, error) {
	if len(src) < streamHeaderSize+streamFooterSize {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrFormat, len(src))
	}
	if !bytes.Equal(src[:6], headerMagic) {
		return nil, fmt.Errorf("%w: no stream header magic", ErrFormat)
	}
	if binary.LittleEndian.Uint32(src[8:12]) != crc32.ChecksumIEEE(src[6:8]) {
		return nil, fmt.Errorf("%w: stream header CRC32", ErrFormat)
	}
	if src[6] != 0 || src[7]&0xF0 != 0 {
		return nil, fmt.Errorf("%w: stream flags %#x %#x", ErrUnsupported, src[6], src[7])
	}
	check := src[7]
	csize, err := checkSize(check)
	if err != nil {
		return nil, err
	}

	out := dst[:0]
	var records []indexRecord
	pos := streamHeaderSize
	for {
		if pos >= len(src) {
			return nil, fmt.Errorf("%w: truncated before the index", ErrFormat)
		}
		if src[pos] == 0x00 {
			break // index indicator
		}
		h, err := parseBlockHeader(src[pos:])
		if err != nil {
			return nil, err
		}
		cstart := pos + h.size
		ustart := len(out)
		out, pos, err = decodeLZMA2(out, src, cstart, h.dictSize, maxSize)
		if err != nil {
			return nil, err
		}
		comp := int64(pos - cstart)
		ulen := int64(len(out) - ustart)
		if (h.compSize >= 0 && h.compSize != comp) || (h.uncompSize >= 0 && h.uncompSize != ulen) {
			return nil, fmt.Errorf("%w: block sizes differ from its header", ErrFormat)
		}
		if h.bcj != None {
			h.bcj.Decode(out[ustart:], h.bcjStart)
		}
		for ; (pos-cstart)%4 != 0; pos++ {
			if pos >= len(src) || src[pos] != 0 {
				return nil, fmt.Errorf("%w: block padding", ErrFormat)
			}
		}
		if pos+csize > len(src) {
			return nil, fmt.Errorf("%w: truncated check", ErrFormat)
		}
		if err := verifyCheck(check, out[ustart:], src[pos:pos+csize]); err != nil {
			return nil, err
		}
		pos += csize
		records = append(records, indexRecord{uint64(h.size) + uint64(comp) + uint64(csize), uint64(ulen)})
	}

	// 4. Index.
	istart := pos
	pos++
	n, k, err := readVLI(src[pos:])
	if err != nil {
		return nil, err
	}
	pos += k
	if n != uint64(len(records)) {
		return nil, fmt.Errorf("%w: index has %d records for %d blocks", ErrFormat, n, len(records))
	}
	for _, r := range records {
		for _, want := range []uint64{r.unpadded, r.uncompressed} {
			v, k, err := readVLI(src[pos:])
			if err != nil {
				return nil, err
			}
			if v != want {
				return nil, fmt.Errorf("%w: index record does not match the block", ErrFormat)
			}
			pos += k
		}
	}
	for ; (pos-istart)%4 != 0; pos++ {
		if pos >= len(src) || src[pos] != 0 {
			return nil, fmt.Errorf("%w: index padding", ErrFormat)
		}
	}
	if pos+4 > len(src) || binary.LittleEndian.Uint32(src[pos:]) != crc32.ChecksumIEEE(src[istart:pos]) {
		return nil, fmt.Errorf("%w: index CRC32", ErrFormat)
	}
	pos += 4
	isize := pos - istart

	// 2.1.2 Stream Footer.
	if len(src)-pos != streamFooterSize {
		if len(src)-pos < streamFooterSize {
			return nil, fmt.Errorf("%w: truncated stream footer", ErrFormat)
		}
		return nil, fmt.Errorf("%w: %d bytes after the stream", ErrFormat, len(src)-pos-streamFooterSize)
	}
	f := src[pos:]
	if !bytes.Equal(f[10:12], footerMagic) ||
		binary.LittleEndian.Uint32(f[0:4]) != crc32.ChecksumIEEE(f[4:10]) ||
		!bytes.Equal(f[8:10], src[6:8]) ||
		int(binary.LittleEndian.Uint32(f[4:8])) != isize/4-1 {
		return nil, fmt.Errorf("%w: stream footer", ErrFormat)
	}
	return out, nil
}

// decodeLZMA2 decodes the LZMA2 chunks starting at src[start:], appending
// to out, and returns the position after the end marker.
func decodeLZMA2(out, src []byte, start int, dictSize int64, maxSize int) ([]byte, int, error) {
	// The decoder's window never needs to exceed the output limit: no
	// match can reach before the start of the data. This keeps a forged
	// 4 GiB dictionary property from allocating 4 GiB.
	dict := dictSize
	if limit := int64(maxSize); dict > limit {
		dict = limit
	}
	if dict < lzma.MinDictCap {
		dict = lzma.MinDictCap
	}
	br := bytes.NewReader(src[start:])
	r, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(br)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: LZMA2: %w", ErrFormat, err)
	}
	if cap(out) < maxSize {
		grown := make([]byte, len(out), maxSize)
		copy(grown, out)
		out = grown
	}
	n := len(out)
	buf := out[:maxSize]
	for {
		if n == maxSize {
			var one [1]byte
			k, err := r.Read(one[:])
			if k > 0 {
				return nil, 0, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxSize)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, 0, fmt.Errorf("%w: LZMA2: %w", ErrFormat, err)
			}
			continue
		}
		k, err := r.Read(buf[n:])
		n += k
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%w: LZMA2: %w", ErrFormat, err)
		}
	}
	return buf[:n], start + len(src[start:]) - br.Len(), nil
}

package compress

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// xzMinDict is the smallest dictionary mksquashfs accepts for -Xdict-size
// (squashfs-tools xz_wrapper.c: "-Xdict-size should be 8192 bytes or
// larger"); it is also SQUASHFS_METADATA_SIZE, the dictionary mksquashfs
// uses for metadata blocks.
const xzMinDict = 8192

// xzRecordLen is the size of the xz options record (format.adoc
// "Compression Options" / "XZ": u32 dictionary size, u32 filters).
const xzRecordLen = 8

// xzCompressor is the squashfs "xz" compressor: every block is one complete
// xz stream with a CRC32 check, as format.adoc "Supported Compressors"
// requires (the kernel's decoder rejects other checks).
//
// It holds only immutable settings, so one value is safe for concurrent use.
type xzCompressor struct {
	blockSize int
	// dictSize is the data-block dictionary. The kernel (fs/squashfs/
	// xz_wrapper.c squashfs_xz_comp_opts) preallocates a dictionary of the
	// recorded size - max(block size, 8 KiB) without a record - and
	// rejects any block whose LZMA2 header asks for more, so no block may
	// ever be encoded with a larger dictionary.
	dictSize int
	// filters is the record's executable-filter bit field (format.adoc
	// "XZ": 0x01 x86, 0x02 PowerPC, 0x04 IA64, 0x08 ARM, 0x10 ARM thumb,
	// 0x20 SPARC).
	filters uint32
}

func init() {
	register(factory{
		name:        "xz",
		id:          XZ,
		parse:       parseXZ,
		fromOptions: xzFromOptions,
	})
}

// parseXZ reads the -X options mksquashfs's xz compressor takes.
func parseXZ(args []string, blockSize int) (Compressor, error) {
	c := &xzCompressor{blockSize: blockSize, dictSize: blockSize}
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-Xdict-size":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%w: xz -Xdict-size needs a value", ErrBadOption)
			}
			i++
			d, err := xzParseDictSize(args[i], blockSize)
			if err != nil {
				return nil, err
			}
			c.dictSize = d
		case "-Xbcj":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%w: xz -Xbcj needs a filter list", ErrBadOption)
			}
			i++
			// BCJ filter chains need an xz container writer that can
			// describe them; the library's writer only knows LZMA2.
			return nil, fmt.Errorf("%w: xz -Xbcj %s: BCJ filters are not implemented yet", ErrUnsupported, args[i])
		default:
			return nil, fmt.Errorf("%w: xz option %q", ErrUnsupported, args[i])
		}
	}
	return c, nil
}

// xzParseDictSize interprets a -Xdict-size value as mksquashfs does
// (squashfs-tools xz_wrapper.c xz_options and xz_options_post): "N%" of the
// block size (0 < N <= 100, fractions allowed, result truncated), or an
// integral byte count with an optional K/M suffix, which must not exceed the
// block size. Either way the result must be at least 8 KiB and of the form
// 2^n or 3*2^n, the only sizes the xz LZMA2 header can state exactly and
// the kernel accepts.
func xzParseDictSize(s string, blockSize int) (int, error) {
	var size int
	switch {
	case strings.HasSuffix(s, "%"):
		p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
		if err != nil || p <= 0 || p > 100 {
			return 0, fmt.Errorf("%w: xz -Xdict-size %s: percentage must be 0 < N <= 100", ErrBadOption, s)
		}
		size = int(float64(blockSize) * p / 100)
	default:
		num, mult := s, 1
		switch {
		case strings.HasSuffix(s, "K") || strings.HasSuffix(s, "k"):
			num, mult = s[:len(s)-1], 1024
		case strings.HasSuffix(s, "M") || strings.HasSuffix(s, "m"):
			num, mult = s[:len(s)-1], 1024*1024
		}
		n, err := strconv.ParseUint(num, 10, 31)
		if err != nil {
			return 0, fmt.Errorf("%w: xz -Xdict-size %s: not a byte count, K/M size or percentage", ErrBadOption, s)
		}
		if n > uint64(blockSize)/uint64(mult) {
			return 0, fmt.Errorf("%w: xz -Xdict-size %s: larger than the block size %d", ErrBadOption, s, blockSize)
		}
		size = int(n) * mult
	}
	if err := xzCheckDictSize(size); err != nil {
		return 0, fmt.Errorf("%w: xz -Xdict-size %s: %v", ErrBadOption, s, err)
	}
	return size, nil
}

// xzCheckDictSize applies the kernel's and mksquashfs's rule: at least
// 8 KiB, and 2^n or 2^n + 2^(n+1) (= 3*2^n).
func xzCheckDictSize(size int) error {
	if size < xzMinDict {
		return fmt.Errorf("dictionary size %d is below 8192 bytes", size)
	}
	if !xzDictEncodable(size) {
		return fmt.Errorf("dictionary size %d is neither 2^n nor 3*2^n", size)
	}
	return nil
}

// xzDictEncodable reports whether size is 2^n or 3*2^n (the sizes the
// LZMA2 dictionary-size property byte represents exactly).
func xzDictEncodable(size int) bool {
	if size <= 0 || size > 1<<31 {
		return false
	}
	u := uint64(size)
	low := u & -u // lowest set bit, 2^n
	return u == low || u == 3*low
}

// xzFromOptions builds the decoder-side compressor for an image. Without a
// record the dictionary is the block size (what mksquashfs's
// xz_extract_options assumes). A record must be exactly 8 bytes with a
// storable dictionary size, as mksquashfs checks; the filter bits only say
// which filters the writer tried - every block names its own filters in its
// xz block header - so they are kept but not needed to decode.
func xzFromOptions(record []byte, blockSize int) (Compressor, error) {
	c := &xzCompressor{blockSize: blockSize, dictSize: blockSize}
	if record == nil {
		return c, nil
	}
	if len(record) != xzRecordLen {
		return nil, fmt.Errorf("%w: xz record is %d bytes, want %d", ErrBadOption, len(record), xzRecordLen)
	}
	d := binary.LittleEndian.Uint32(record[0:4])
	if d > 1<<31 || !xzDictEncodable(int(d)) {
		return nil, fmt.Errorf("%w: xz record dictionary size %d is neither 2^n nor 3*2^n", ErrBadOption, d)
	}
	c.dictSize = int(d)
	c.filters = binary.LittleEndian.Uint32(record[4:8])
	return c, nil
}

func (c *xzCompressor) ID() ID             { return XZ }
func (c *xzCompressor) Name() string       { return "xz" }
func (c *xzCompressor) Uncompressed() bool { return false }

// Options returns the 8-byte record unless the settings are mksquashfs's
// defaults (dictionary = block size, no filters), for which mksquashfs's
// xz_dump_options writes none - so "-Xdict-size 100%" (nixpkgs' setting)
// yields no record, exactly like mksquashfs.
func (c *xzCompressor) Options() []byte {
	if c.dictSize == c.blockSize && c.filters == 0 {
		return nil
	}
	rec := make([]byte, xzRecordLen)
	binary.LittleEndian.PutUint32(rec[0:4], uint32(c.dictSize))
	binary.LittleEndian.PutUint32(rec[4:8], c.filters)
	return rec
}

// blockDict is the dictionary used for an input of n bytes: the smallest
// encodable size that holds the whole input, never above the configured
// dictionary. A dictionary larger than the input cannot find more matches,
// but the library allocates (and zeroes) the full dictionary and match
// finder for every stream, so an 8 KiB metadata block with a 1 MiB
// dictionary would spend most of its time in allocation. mksquashfs also
// uses an 8 KiB dictionary for metadata. Smaller than the recorded size is
// always acceptable to the kernel, which only rejects larger ones.
func (c *xzCompressor) blockDict(n int) int {
	d := lzma.MinDictCap
	for d < n && d < c.dictSize {
		// Step through 2^k, 3*2^(k-1), 2^(k+1), ...
		if d&(d-1) == 0 {
			d += d / 2
		} else {
			d = d / 3 * 4
		}
	}
	if d > c.dictSize {
		d = c.dictSize
	}
	return d
}

// xzAppender is an io.Writer appending to a byte slice, so the encoder
// writes straight into the caller's buffer.
type xzAppender struct{ b []byte }

func (a *xzAppender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// Compress encodes src as one xz stream (CRC32 check, single LZMA2 block).
func (c *xzCompressor) Compress(dst, src []byte) ([]byte, error) {
	out := &xzAppender{b: dst[:0]}
	cfg := xz.WriterConfig{
		DictCap:  c.blockDict(len(src)),
		CheckSum: xz.CRC32,
	}
	w, err := cfg.NewWriter(out)
	if err != nil {
		return nil, fmt.Errorf("compress: xz encoding: %w", err)
	}
	if _, err := w.Write(src); err != nil {
		return nil, fmt.Errorf("compress: xz encoding: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress: xz encoding: %w", err)
	}
	return out.b, nil
}

// Decompress decodes one xz stream; trailing data after it is an error, as
// is output beyond maxSize.
func (c *xzCompressor) Decompress(dst, src []byte, maxSize int) ([]byte, error) {
	// DictCap is only a lower bound; the reader uses the stream's own
	// dictionary size when larger. The default (8 MiB) would be allocated
	// per block.
	r, err := xz.ReaderConfig{SingleStream: true, DictCap: lzma.MinDictCap}.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("%w: xz: %v", ErrCorrupt, err)
	}
	return xzReadAll(dst, r, maxSize)
}

// xzReadAll reads r to its end into dst[:0], failing beyond maxSize bytes.
// Only a plain io.EOF ends the data: a truncated stream makes the library
// return io.ErrUnexpectedEOF, which must stay an error.
func xzReadAll(dst []byte, r io.Reader, maxSize int) ([]byte, error) {
	if cap(dst) < maxSize {
		dst = make([]byte, 0, maxSize)
	}
	out := dst[:maxSize]
	n := 0
	for {
		if n == maxSize {
			// Full: the stream must end exactly here.
			var one [1]byte
			k, err := r.Read(one[:])
			if k > 0 {
				return nil, fmt.Errorf("%w: xz output exceeds %d bytes", ErrTooLarge, maxSize)
			}
			if err == io.EOF {
				return out[:n], nil
			}
			if err != nil {
				return nil, fmt.Errorf("%w: xz: %v", ErrCorrupt, err)
			}
			continue
		}
		k, err := r.Read(out[n:])
		n += k
		if err == io.EOF {
			return out[:n], nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: xz: %v", ErrCorrupt, err)
		}
	}
}

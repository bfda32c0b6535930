package compress

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/mkportable/mkportable/pkg/lzma"
	"github.com/mkportable/mkportable/pkg/xz"
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
	// bcj lists the BCJ filters tried on every block besides plain LZMA2
	// (-Xbcj), in mksquashfs's order; the smallest result is kept.
	bcj []xz.Filter
	// auto applies the x86 BCJ filter to the blocks that look like x86
	// machine code (xz.Guess), with one LZMA2 encoding per block. It is
	// the default; "-Xbcj none" turns it off, an explicit filter list
	// replaces it. See "Why x86 BCJ is on by default" below.
	// "-Xbcj auto,arm64" also lets the guess pick ARM64 (guessARM64).
	auto       bool
	guessARM64 bool
	// normal selects pkg/lzma's near-optimal LZMA2 encoder (-Xmode
	// normal, like xz's --lzma2=mode=normal; the default) instead of the
	// faster greedy encoder of github.com/ulikunitz/xz (-Xmode fast). Its encoders are reusable but not concurrency-safe, so
	// they are pooled: a new one per block would allocate and zero the
	// match finder's tables (megabytes) every time.
	normal   bool
	encoders *sync.Pool
	// nice is pkg/lzma's nice length for -Xmode normal (-Xnice, like xz's
	// --lzma2=nice=): the parser stops looking for a longer match once it
	// has one this long. xzDefaultNice unless set.
	nice int
	// depth is pkg/lzma's match-finder search depth (-Xdepth, like xz's
	// --lzma2=depth=); 0 means pkg/lzma's rule, 16 + nice/2.
	depth int
}

// Why x86 BCJ is on by default, unlike in mksquashfs:
//
// On Debian's x86-64 libraries and executables and the Go toolchain cut
// into 1 MiB blocks (pkg/xz BenchmarkMeasureBCJ; 174 MB, 168 blocks), applying
// the x86 filter where xz.Guess sees x86 code (>= 6 call/jmp rel32
// candidates per KiB) made the data 4.2 % smaller than plain LZMA2 with
// liblzma preset 6 and with pkg/lzma (4.45 % with ulikunitz) at one
// encoding per block; trying both on every block, as mksquashfs -Xbcj x86
// does, gains 4.4 % (4.6 %) at twice the encoding time.
//
// Every decoder that matters reads it: the block header names its filters
// (xz-file-format 3.1.3), the kernel has decoded x86 BCJ since xz support
// was added (its Kconfig option defaults to y and is only visible with
// EXPERT), and unsquashfs and sqfsdiff use liblzma. Decoders built on
// github.com/ulikunitz/xz alone cannot read such blocks; "-Xbcj none"
// writes plain LZMA2 for them. No options record is needed: without one
// the dictionary is the block size, and the record's filter bits are only
// informational. TestXZKernelAutoBCJ and TestXZKernelBCJ read such images
// back through the kernel (loop mount), unsquashfs and our reader.

// xzBCJNames maps the -Xbcj names to filters and record bits. The order
// and bits are mksquashfs's (squashfs-tools xz_wrapper.c "bcj[]";
// format.adoc "XZ" filter bits): bit i is the i-th entry.
//
// Left out: "ia64" - current Linux lib/xz has no IA-64 BCJ decoder (no
// CONFIG_XZ_DEC_IA64 in its Kconfig; this machine's 6.18 has every other
// BCJ decoder), so an image whose blocks picked it would not mount; "riscv" - liblzma before 5.6 (Debian's
// unsquashfs) cannot decode it. "arm64" is accepted although mksquashfs
// (4.5/4.6) does not know it: the kernel (>= 6.10) and liblzma (>= 5.4)
// decode it; format.adoc defines no record bit for it, so it sets none -
// the bits are informational, every block names its own filter.
var xzBCJNames = []struct {
	name   string
	filter xz.Filter
	bit    uint32
}{
	{"x86", xz.X86, 0x01},
	{"powerpc", xz.PowerPC, 0x02},
	{"arm", xz.ARM, 0x08},
	{"armthumb", xz.ARMThumb, 0x10},
	{"sparc", xz.SPARC, 0x20},
	{"arm64", xz.ARM64, 0},
}

// xzParseBCJ reads an -Xbcj value: "none" (plain LZMA2 only), "auto"
// (the default: x86 where a block looks like x86 code), "auto,arm64" (x86
// or ARM64, whichever the block looks like; the kernel decodes ARM64 BCJ
// only since Linux 6.10, liblzma since 5.4), or a comma-separated list of
// filters to try on every block as mksquashfs does.
func xzParseBCJ(c *xzCompressor, list string) error {
	switch list {
	case "none":
		c.auto, c.guessARM64, c.bcj, c.filters = false, false, nil, 0
		return nil
	case "auto", "auto,x86", "x86,auto":
		c.auto, c.guessARM64, c.bcj, c.filters = true, false, nil, 0
		return nil
	case "auto,arm64", "arm64,auto", "auto,x86,arm64", "auto,arm64,x86":
		c.auto, c.guessARM64, c.bcj, c.filters = true, true, nil, 0
		return nil
	}
	c.auto, c.guessARM64 = false, false
	for _, name := range strings.Split(list, ",") {
		if name == "ia64" {
			return fmt.Errorf("%w: xz -Xbcj ia64: the Linux kernel no longer decodes IA-64 BCJ, the image would not mount", ErrUnsupported)
		}
		found := false
		for _, b := range xzBCJNames {
			if b.name != name {
				continue
			}
			found = true
			dup := false
			for _, f := range c.bcj {
				dup = dup || f == b.filter
			}
			if !dup {
				c.bcj = append(c.bcj, b.filter)
				c.filters |= b.bit
			}
		}
		if !found {
			return fmt.Errorf("%w: xz -Xbcj filter %q (want x86, powerpc, arm, armthumb, sparc, arm64; or none, auto, auto,arm64)", ErrBadOption, name)
		}
	}
	// Try filters in the table's (mksquashfs's) order whatever the order
	// given, so the same set always yields the same image.
	ordered := c.bcj[:0:0]
	for _, b := range xzBCJNames {
		for _, f := range c.bcj {
			if f == b.filter {
				ordered = append(ordered, f)
			}
		}
	}
	c.bcj = ordered
	return nil
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
	c := &xzCompressor{blockSize: blockSize, dictSize: blockSize, auto: true, encoders: new(sync.Pool),
		normal: true, nice: xzDefaultNice, depth: xzDefaultDepth}
	depthSet := false
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
		case "-Xmode":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%w: xz -Xmode needs fast or normal", ErrBadOption)
			}
			i++
			switch args[i] {
			case "fast":
				c.normal = false
			case "normal":
				c.normal = true
			default:
				return nil, fmt.Errorf("%w: xz -Xmode %q (want fast or normal)", ErrBadOption, args[i])
			}
		case "-Xnice":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%w: xz -Xnice needs a length", ErrBadOption)
			}
			i++
			n, err := strconv.Atoi(args[i])
			if err != nil || n < xzMinNice || n > xzMaxNice {
				return nil, fmt.Errorf("%w: xz -Xnice %q: want a match length from %d to %d", ErrBadOption, args[i], xzMinNice, xzMaxNice)
			}
			c.nice, c.normal = n, true
			if !depthSet {
				c.depth = 0 // pkg/lzma's rule for this nice length
			}
		case "-Xdepth":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%w: xz -Xdepth needs a number", ErrBadOption)
			}
			i++
			n, err := strconv.Atoi(args[i])
			if err != nil || n < 1 || n > xzMaxDepth {
				return nil, fmt.Errorf("%w: xz -Xdepth %q: want a search depth from 1 to %d", ErrBadOption, args[i], xzMaxDepth)
			}
			c.depth, c.normal, depthSet = n, true, true
		case "-Xbcj":
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%w: xz -Xbcj needs a filter list", ErrBadOption)
			}
			i++
			if err := xzParseBCJ(c, args[i]); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: xz option %q", ErrUnsupported, args[i])
		}
	}
	return c, nil
}

// xzDefaultNice and xzDefaultDepth are the default parser settings, chosen
// by measurement against mksquashfs -comp xz -Xdict-size 100% -b 1M
// (liblzma preset 6: nice 64, depth 48), both tools on 2 cores, image size
// and CPU time as fractions of mksquashfs's. On a 136 MB sample of the
// benchmark tree (test/bench/pareto.sh):
//
//	nice 16 (depth 24)  0.981  0.76     nice 24 depth 6   0.981  0.60
//	nice 32 (depth 32)  0.967  0.77     nice 24 depth 8   0.976  0.68
//	nice 64 (depth 48)  0.957  1.05     nice 32 depth 8   0.972  0.73
//
// and on the whole 584 MB benchmark tree (test/bench/bench.sh), run after
// mksquashfs on a quiet machine: nice 24 depth 6 0.992 / 0.68 (wall 0.68),
// nice 24 depth 8 0.987 / 0.79, nice 32 depth 4 0.997 / 0.69. A shallow
// search costs little size, because the near-optimal parser makes up for
// a shorter match list. Nice 24 at depth 6 keeps the image no larger than
// mksquashfs's in about two thirds of its time; -Xdepth 12 or -Xnice 64
// buy a few tenths of a percent more for more time.
const (
	xzDefaultNice  = 24
	xzDefaultDepth = 6
)

// The -Xnice range pkg/lzma accepts: up to LZMA's longest match
// (lzma-specification: kMatchMaxLen 273); below 8 its bt4 match finder
// would stop before its hash length pays off.
const (
	xzMinNice = 8
	xzMaxNice = 273
	// xzMaxDepth bounds -Xdepth: beyond a few hundred the search costs
	// time without finding better matches in a 1 MiB dictionary.
	xzMaxDepth = 1000
)

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
		return 0, fmt.Errorf("%w: xz -Xdict-size %s: %w", ErrBadOption, s, err)
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
	c := &xzCompressor{blockSize: blockSize, dictSize: blockSize, encoders: new(sync.Pool)}
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
	if c.dictSize == c.blockSize && c.filters == 0 && len(c.bcj) == 0 {
		return nil
	}
	rec := make([]byte, xzRecordLen)
	binary.LittleEndian.PutUint32(rec[0:4], uint32(c.dictSize))
	binary.LittleEndian.PutUint32(rec[4:8], c.filters)
	return rec
}

// xzMinLZMADict is the smallest LZMA2 dictionary (property byte 0, 4 KiB).
const xzMinLZMADict = 4096

// blockDict is the dictionary used for an input of n bytes: the smallest
// encodable size that holds the whole input, never above the configured
// dictionary. A dictionary larger than the input cannot find more matches,
// but the library allocates (and zeroes) the full dictionary and match
// finder for every stream, so an 8 KiB metadata block with a 1 MiB
// dictionary would spend most of its time in allocation. mksquashfs also
// uses an 8 KiB dictionary for metadata. Smaller than the recorded size is
// always acceptable to the kernel, which only rejects larger ones.
func (c *xzCompressor) blockDict(n int) int {
	d := xzMinLZMADict
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

// xzScratch pools the buffers that hold the candidate encodings while
// -Xbcj filters are compared, so a 1 MiB block does not allocate one per
// filter.
var xzScratch sync.Pool

// Compress encodes src as one xz stream: CRC32 check, one block, LZMA2
// with a dictionary of blockDict(len(src)). By default a block that looks
// like x86 code gets the x86 BCJ filter in front (see xzAutoNote). With an
// -Xbcj list it encodes plain LZMA2 and each listed filter chain and keeps
// the smallest, plain LZMA2 winning ties, as mksquashfs's xz_compress does.
func (c *xzCompressor) Compress(dst, src []byte) ([]byte, error) {
	d := c.blockDict(len(src))
	opts := xz.EncodeOptions{DictSize: d, LZMA2: xz.LibLZMA2{DictCap: d}}
	if c.normal {
		enc, err := c.normalEncoder()
		if err != nil {
			return nil, err
		}
		defer c.encoders.Put(enc)
		opts.LZMA2 = enc
	}
	if c.auto && len(c.bcj) == 0 {
		if c.guessARM64 {
			opts.BCJ = xz.Guess(src, xz.X86, xz.ARM64)
		} else {
			opts.BCJ = xz.Guess(src, xz.X86)
		}
	}
	best, err := xz.Encode(dst, src, opts)
	if err != nil {
		return nil, fmt.Errorf("compress: xz encoding with %s: %w", opts.BCJ, err)
	}
	if len(c.bcj) == 0 {
		return best, nil
	}
	sp, _ := xzScratch.Get().(*[]byte)
	if sp == nil {
		sp = new([]byte)
	}
	defer xzScratch.Put(sp)
	for _, f := range c.bcj {
		opts.BCJ = f
		cand, err := xz.Encode(*sp, src, opts)
		if err != nil {
			return nil, fmt.Errorf("compress: xz encoding with %s: %w", f, err)
		}
		*sp = cand
		if len(cand) < len(best) {
			best = append(best[:0], cand...)
		}
	}
	return best, nil
}

// normalEncoder takes a pkg/lzma encoder from the pool. Every encoder is
// made for the configured dictionary; for a smaller input it never looks
// further back than the input's start, so the block header's smaller
// blockDict(len(src)) still covers every distance it uses.
func (c *xzCompressor) normalEncoder() (*lzma.Encoder, error) {
	if e, ok := c.encoders.Get().(*lzma.Encoder); ok {
		return e, nil
	}
	e, err := lzma.NewEncoder(lzma.Options{DictSize: c.dictSize, NiceLen: c.nice, Depth: c.depth})
	if err != nil {
		return nil, fmt.Errorf("compress: xz -Xmode normal: %w", err)
	}
	return e, nil
}

// Decompress decodes one xz stream with any filter chain of [BCJ] + LZMA2
// (the block header names it); trailing data after the stream is an error,
// as is output beyond maxSize.
func (c *xzCompressor) Decompress(dst, src []byte, maxSize int) ([]byte, error) {
	out, err := xz.Decode(dst, src, maxSize)
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, xz.ErrTooLarge):
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, xz.ErrUnsupported):
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
}

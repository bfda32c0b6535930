package compress

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	ownzstd "github.com/mkportable/mkportable/pkg/zstd"
)

// zstd blocks are single zstd frames (RFC 8878). The kernel's
// fs/squashfs/zstd_wrapper.c decodes each block with a window of
// max(block size, 8 KiB), so every frame is written single-segment (its
// window is its content size, at most one block) and without a content
// checksum, which squashfs never uses.
//
// mksquashfs's default level is 15 (squashfs-tools zstd_wrapper.h); an image
// at another level carries the 4-byte options record (format.adoc
// "Compression Options" / ZSTD: compression_level u32).
const (
	zstdDefaultLevel = 15
	zstdMaxLevel     = 22
	zstdRecordSize   = 4
)

func init() {
	register(factory{
		name:        "zstd",
		id:          Zstd,
		parse:       parseZstd,
		fromOptions: zstdFromOptions,
	})
}

// zstdCompressor encodes at one level with one of pkg/zstd's three
// encoders: the HashEncoder (double-fast parse, levels 1-5,
// zstdHashLevels), the FastEncoder (greedy/lazy parse over hash rows,
// zstdFastLevels) or the optimal Encoder (zstdOwnLevels). Measured on the
// 128 MB sample of the bench tree (1 MiB blocks, 2 CPUs, CPU seconds
// user+sys; mksquashfs with libzstd run in the same minutes):
//
//	level  ours bytes  CPU s  encoder      mksquashfs bytes  CPU s
//	1      39706624    0.94   hash         44724224          0.54
//	2      39706624    0.94   hash         42409984          0.59
//	3      39706624    0.94   hash         40529920          0.70
//	4      39706624    0.94   hash         40239104          0.86
//	5      39706624    0.94   hash         39059456          1.07
//	6      37138432    3.2    fast         38125568          1.39
//	9      37138432    3.3    fast         37670912          2.32
//	10     36904960    3.7    fast         37560320          2.70
//	11     36716544    4.1    fast         37494784          3.56
//	12     36581376    4.8    fast         37490688          3.30
//	13     36474880    5.1    fast         37421056          8.88
//	14     36335616    7.0    fast         37367808         10.07
//	15     36335616    7.1    fast         37351424         11.00
//	16     35213312   16.0    optimal      35971072         19.5
//
// Levels 1-5 share one setting (see zstdHashLevels): mksquashfs's levels
// 1-4 are faster and larger, 5 and up smaller and slower. From level 6 on
// every level is smaller than mksquashfs's level 15, and the first smaller
// mksquashfs level (16) takes at least 19 CPU s, so no mksquashfs level is
// smaller in less time. The fast encoder is slower than mksquashfs's
// levels 6-10, though, so levels 6-8 share level 9's setting (a faster,
// larger one measured dominated by mksquashfs's 9-10), and 15 shares 14's
// (the optimal parser's cheapest setting is larger and slower).
//
// The options record keeps the requested level, as mksquashfs would write
// it; readers ignore it (zstd frames decode without it).
//
// Encoders are expensive (pkg/zstd's optimal Encoder about 14 bytes per
// input byte plus 5 MB, its FastEncoder 5 bytes per table entry, its
// HashEncoder 1 MiB of tables), so each
// compressor keeps the encoders it made and reuses them: it holds as many
// as Compress ever ran concurrently (the writer's worker count), no more.
// Every kind starts from a clean state every call, so the output does not
// depend on which encoder runs it.
type zstdCompressor struct {
	level     int
	blockSize int

	mu   sync.Mutex
	idle []zstdEncoder
}

// zstdEncoder is an encoder of any kind, appending one single-segment
// frame without checksum for src to dst.
type zstdEncoder interface {
	encode(dst, src []byte) []byte
}

type hashZstd struct{ e *ownzstd.HashEncoder }

func (h hashZstd) encode(dst, src []byte) []byte { return h.e.EncodeAll(dst, src) }

type fastZstd struct{ e *ownzstd.FastEncoder }

func (f fastZstd) encode(dst, src []byte) []byte { return f.e.EncodeAll(dst, src) }

type optimalZstd struct{ e *ownzstd.Encoder }

func (o optimalZstd) encode(dst, src []byte) []byte { return o.e.EncodeAll(dst, src) }

// zstdHashLevels are pkg/zstd's HashEncoder settings for levels 1-5: the
// double-fast parse (an 8-byte hash table of 32 Ki entries and a 4-byte one
// of 64 Ki) with one position of lazy search. Measured on the 128 MB sample
// of the bench tree (1 MiB blocks, 2 CPUs, least of three runs, mksquashfs
// in the same minutes):
//
//	setting                        bytes     wall s  CPU s
//	fast, 5-byte hash, 32 Ki       42070016  0.40    0.72
//	double-fast                    40554496  0.46    0.85
//	double-fast, lazy (1-5)        39706624  0.50    0.94
//	double-fast, lazy2             39391232  0.54    1.02
//	double-fast, lazy2, 128 Ki     39030784  0.65    1.21
//
//	mksquashfs  3: 40529920 B  0.38 s   4: 40239104 B  0.45 s
//	            5: 39059456 B  0.56 s   6: 38125568 B  0.70 s
//
// None of ours is as small as mksquashfs's level 3 in its time, nor as its
// 4 in its time, so none can stand for a level that is "as fast as theirs";
// the fast and plain double-fast parses are dominated. The lazy parse is
// the setting that no mksquashfs level matches in both size and time with
// room to spare on other trees and machines: 1.3 % smaller than
// mksquashfs's 4 and 11 % faster than its 5 (its wall time varied 0.56-0.61
// s between runs, ours 0.50-0.54). lazy2 is 5 % faster than mksquashfs's 5
// at 0.8 % more bytes, the larger tables 0.1 % smaller than its 5 in 7 %
// less time than its 6: a slightly different tree or a busier machine tips
// either to dominated. So levels 1-5 share the lazy one.
var zstdHashLevels = map[int]ownzstd.HashOptions{
	1: zstdHashLazy,
	2: zstdHashLazy,
	3: zstdHashLazy,
	4: zstdHashLazy,
	5: zstdHashLazy,
}

var zstdHashLazy = ownzstd.HashOptions{Double: true, MinMatch: 4, ShortLog: 16, LongLog: 15, StepLog: 8, Lazy: 1}

// zstdOwnFrom is the first level encoded by pkg/zstd's optimal Encoder.
const zstdOwnFrom = 16

// zstdFastLevels are the levels pkg/zstd's FastEncoder encodes: rows of 8
// to 64 candidates, lazy (one position ahead) at 6-10 and lazy2 above, with
// bigger tables (more of the 1 MiB window kept, more cache misses) at
// 13-15. Each row was the fastest of its size in a sweep over 8 MiB of the
// tree (BenchmarkFastTree in pkg/zstd).
var zstdFastLevels = map[int]ownzstd.FastOptions{
	6:  zstdFast9,
	7:  zstdFast9,
	8:  zstdFast9,
	9:  zstdFast9,
	10: {MinMatch: 4, Depth: 16, Lazy: 1, NiceLen: 64},
	11: {MinMatch: 4, Depth: 16, Lazy: 2, NiceLen: 128},
	12: {MinMatch: 4, Depth: 32, Lazy: 2, NiceLen: 128},
	13: {MinMatch: 4, Depth: 32, Lazy: 2, NiceLen: 128, HashLog: 19},
	14: zstdFast14,
	15: zstdFast14,
}

var (
	zstdFast9  = ownzstd.FastOptions{MinMatch: 4, Depth: 8, Lazy: 1, NiceLen: 64}
	zstdFast14 = ownzstd.FastOptions{MinMatch: 4, Depth: 64, Lazy: 2, NiceLen: 256, HashLog: 20}
)

// zstdOwnLevels are pkg/zstd's optimal Encoder options for levels
// zstdOwnFrom..22: nice length, depth and passes grow so that sizes do not
// increase, and the last three also search every position in the final
// pass (Exhaustive). Measured on the 128 MB bench tree (1 MiB blocks, 2
// shared CPUs, CPU seconds user+sys, mksquashfs in the same minutes):
//
//	level  ours bytes  CPU s   mksquashfs bytes  CPU s
//	16     35213312    15.2    35971072          19.2
//	17     34820096    17.9    35147776          23.1
//	18     34119680    27.6    34185216          29.4
//	19     34086912    29.4    34115584          31.5-36.3
//	20     34074624    31.6
//	21     34074624    32.9
//	22     34062336    33.0    34107392          38.7
//
// (With pkg/zstd's lazy parse competing in every block; level 19 without
// it, in the same minute: 34103296 B, 28.3 s.) Level 16 searches with nice length 64 and depth 4 instead of
// 16 and 3: with those, on log-like text (syslog lines, 27 MB), even the
// lazy parse over its matches was larger than the FastEncoder's at 15.
//
// Three passes measured larger than two once each pass is priced from its
// own block's previous pass, so no level uses more than two.
var zstdOwnLevels = [zstdMaxLevel - zstdOwnFrom + 1]ownzstd.Options{
	{NiceLen: 64, Depth: 4, Passes: 1},                                     // 16
	{NiceLen: 24, Depth: 8, Passes: 1, SeedPass: true},                     // 17
	{NiceLen: 192, Depth: 24, Passes: 2, SeedPass: true},                   // 18
	{NiceLen: 512, Depth: 64, Passes: 2, SeedPass: true},                   // 19
	{NiceLen: 256, Depth: 40, Passes: 2, SeedPass: true, Exhaustive: true}, // 20
	{NiceLen: 256, Depth: 48, Passes: 2, SeedPass: true, Exhaustive: true}, // 21
	{NiceLen: 512, Depth: 64, Passes: 2, SeedPass: true, Exhaustive: true}, // 22
}

func newZstd(level, blockSize int) *zstdCompressor {
	return &zstdCompressor{level: level, blockSize: blockSize}
}

func parseZstd(args []string, blockSize int) (Compressor, error) {
	o := optionReader{comp: "zstd", args: args}
	level := zstdDefaultLevel
	for opt := o.next(); opt != ""; opt = o.next() {
		switch opt {
		case "-Xcompression-level":
			n, err := o.intValue(opt, 1, zstdMaxLevel)
			if err != nil {
				return nil, err
			}
			level = n
		default:
			return nil, o.unsupported(opt)
		}
	}
	return newZstd(level, blockSize), nil
}

// zstdFromOptions decodes format.adoc "Compression Options" / ZSTD.
func zstdFromOptions(record []byte, blockSize int) (Compressor, error) {
	if record == nil {
		return newZstd(zstdDefaultLevel, blockSize), nil
	}
	if len(record) != zstdRecordSize {
		return nil, fmt.Errorf("%w: zstd record is %d bytes, want %d", ErrBadOption, len(record), zstdRecordSize)
	}
	level := binary.LittleEndian.Uint32(record)
	if level < 1 || level > zstdMaxLevel {
		return nil, fmt.Errorf("%w: zstd compression level %d", ErrBadOption, level)
	}
	return newZstd(int(level), blockSize), nil
}

func (z *zstdCompressor) ID() ID             { return Zstd }
func (z *zstdCompressor) Name() string       { return "zstd" }
func (z *zstdCompressor) Uncompressed() bool { return false }

// Level is the zstd level recorded in the image (1..22).
func (z *zstdCompressor) Level() int { return z.level }

func (z *zstdCompressor) Options() []byte {
	if z.level == zstdDefaultLevel {
		return nil
	}
	b := make([]byte, zstdRecordSize)
	binary.LittleEndian.PutUint32(b, uint32(z.level))
	return b
}

// getEncoder returns an idle encoder or makes one of the level's kind.
func (z *zstdCompressor) getEncoder() (zstdEncoder, error) {
	z.mu.Lock()
	if n := len(z.idle); n > 0 {
		enc := z.idle[n-1]
		z.idle = z.idle[:n-1]
		z.mu.Unlock()
		return enc, nil
	}
	z.mu.Unlock()
	if o, ok := zstdFastLevels[z.level]; ok {
		e, err := ownzstd.NewFastEncoder(o)
		return fastZstd{e}, err
	}
	if z.level >= zstdOwnFrom {
		e, err := ownzstd.NewEncoder(zstdOwnLevels[z.level-zstdOwnFrom])
		return optimalZstd{e}, err
	}
	e, err := ownzstd.NewHashEncoder(zstdHashLevels[z.level])
	return hashZstd{e}, err
}

func (z *zstdCompressor) putEncoder(enc zstdEncoder) {
	z.mu.Lock()
	z.idle = append(z.idle, enc)
	z.mu.Unlock()
}

// Compress encodes src as one single-segment frame without checksum.
func (z *zstdCompressor) Compress(dst, src []byte) ([]byte, error) {
	enc, err := z.getEncoder()
	if err != nil {
		return nil, fmt.Errorf("zstd level %d: %w", z.level, err)
	}
	out := enc.encode(dst[:0], src)
	z.putEncoder(enc)
	return out, nil
}

// zstdDec is shared by every zstd compressor: DecodeAll is safe for
// concurrent use and pools its block decoders. Its memory limit is the
// largest squashfs block, so a frame claiming more fails before allocating.
var zstdDec struct {
	once sync.Once
	dec  *zstd.Decoder
	err  error
}

func zstdDecoder() (*zstd.Decoder, error) {
	zstdDec.once.Do(func() {
		zstdDec.dec, zstdDec.err = zstd.NewReader(nil,
			zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(maxBlockSize),
			zstd.WithDecoderMaxWindow(maxBlockSize),
		)
	})
	return zstdDec.dec, zstdDec.err
}

func (z *zstdCompressor) Decompress(dst, src []byte, maxSize int) ([]byte, error) {
	dec, err := zstdDecoder()
	if err != nil {
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	out, err := dec.DecodeAll(src, dst[:0])
	if err != nil {
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return nil, fmt.Errorf("%w: zstd: %w", ErrTooLarge, err)
		}
		return nil, fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
	}
	if len(out) > maxSize {
		return nil, fmt.Errorf("%w: zstd frame decodes to %d bytes, limit %d", ErrTooLarge, len(out), maxSize)
	}
	return out, nil
}

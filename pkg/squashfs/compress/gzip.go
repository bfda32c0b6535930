package compress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"

	"github.com/mkportable/mkportable/pkg/deflate"
)

// Squashfs "gzip" blocks are zlib streams (RFC 1950: a 2-byte header,
// deflate data, an Adler-32 trailer), not gzip files: format.adoc "The
// Superblock" (compressor 1, "just zlib streams"), and the kernel's
// fs/squashfs/zlib_wrapper.c hands them to zlib_inflate with zlib framing.
//
// The mksquashfs defaults (squashfs-tools gzip_wrapper.h) are level 9 and a
// 15-bit (32 KiB) window with zlib's default strategy; an image made with
// them carries no options record.
const (
	gzipDefaultLevel  = 9
	gzipDefaultWindow = 15
	gzipRecordSize    = 8
)

func init() {
	register(factory{
		name:        "gzip",
		id:          Gzip,
		parse:       parseGzip,
		fromOptions: gzipFromOptions,
	})
}

// gzipCompressor is zlib at a fixed level with a 32 KiB window.
type gzipCompressor struct {
	level int
}

func newGzip(level int) *gzipCompressor { return &gzipCompressor{level: level} }

// parseGzip accepts -Xcompression-level 1..9 and -Xwindow-size 15.
//
// Smaller windows (mksquashfs accepts 8..15) are rejected: the deflate
// encoder we use always writes a 32 KiB window header and may reference that
// far back. -Xstrategy is rejected: mksquashfs tries each listed zlib
// strategy and keeps the smallest result, which we do not implement.
func parseGzip(args []string, _ int) (Compressor, error) {
	o := optionReader{comp: "gzip", args: args}
	level := gzipDefaultLevel
	for opt := o.next(); opt != ""; opt = o.next() {
		switch opt {
		case "-Xcompression-level":
			n, err := o.intValue(opt, 1, 9)
			if err != nil {
				return nil, err
			}
			level = n
		case "-Xwindow-size":
			n, err := o.intValue(opt, 8, 15)
			if err != nil {
				return nil, err
			}
			if n != gzipDefaultWindow {
				return nil, fmt.Errorf("%w: gzip -Xwindow-size %d: only 15 (32 KiB, the default) is implemented", ErrUnsupported, n)
			}
		case "-Xstrategy":
			return nil, fmt.Errorf("%w: gzip option -Xstrategy (only zlib's default strategy is implemented)", ErrUnsupported)
		default:
			return nil, o.unsupported(opt)
		}
	}
	return newGzip(level), nil
}

// gzipFromOptions decodes format.adoc "Compression Options" / GZIP:
// compression_level u32, window_size u16, strategies u16. Decoding any zlib
// stream needs none of them (the kernel ignores the record), but a record
// that does not have this shape is a corrupt image.
func gzipFromOptions(record []byte, _ int) (Compressor, error) {
	if record == nil {
		return newGzip(gzipDefaultLevel), nil
	}
	if len(record) != gzipRecordSize {
		return nil, fmt.Errorf("%w: gzip record is %d bytes, want %d", ErrBadOption, len(record), gzipRecordSize)
	}
	level := binary.LittleEndian.Uint32(record[0:])
	window := binary.LittleEndian.Uint16(record[4:])
	if level < 1 || level > 9 {
		return nil, fmt.Errorf("%w: gzip compression level %d", ErrBadOption, level)
	}
	if window < 8 || window > 15 {
		return nil, fmt.Errorf("%w: gzip window size %d", ErrBadOption, window)
	}
	// Strategies and windows other than the default only affect how the
	// image was compressed; our Compress (used when rewriting) keeps the
	// level and uses the default window and strategy.
	return newGzip(int(level)), nil
}

func (g *gzipCompressor) ID() ID             { return Gzip }
func (g *gzipCompressor) Name() string       { return "gzip" }
func (g *gzipCompressor) Uncompressed() bool { return false }

// Options returns the 8-byte record when the level is not mksquashfs's
// default 9 (window and strategy are always the defaults here).
func (g *gzipCompressor) Options() []byte {
	if g.level == gzipDefaultLevel {
		return nil
	}
	b := make([]byte, gzipRecordSize)
	binary.LittleEndian.PutUint32(b[0:], uint32(g.level))
	binary.LittleEndian.PutUint16(b[4:], gzipDefaultWindow)
	binary.LittleEndian.PutUint16(b[6:], 0)
	return b
}

// appendWriter is an io.Writer appending to a byte slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// zlibWriters pools zlib writers per level (index 1..9): a deflate encoder
// holds several hundred KiB of tables, too much to allocate per block.
var zlibWriters [10]sync.Pool

type pooledZlibWriter struct {
	zw  *zlib.Writer
	out appendWriter
}

// gzipOwnEncoder marks the levels compressed by pkg/deflate rather than
// klauspost's zlib. Measured on a 128 MB tree of binaries and sources
// (test/bench's pareto tree, -b 1M, 2 shared CPUs) back to back with
// mksquashfs on zlib 1.2.13, in image bytes and user CPU seconds:
//
//	level  mksquashfs        ours
//	1      45449216   1.28   48087040   0.85  klauspost
//	2      44339200   1.37   46764032   0.83  klauspost
//	3      43454464   1.71   45424640   0.96  klauspost
//	4      42053632   1.84   44040192   1.12  klauspost
//	5      41070592   2.40   40423424   2.68  pkg/deflate, lazy
//	6      40656896   3.71   40173568   3.17  pkg/deflate, lazy
//	7      40542208   4.57   40013824   4.05  pkg/deflate, lazy
//	8      40415232   8.15   39170048   8.40  pkg/deflate, shortest path
//	9      40386560  12.90   38916096   9.95  pkg/deflate, shortest path
//
// klauspost's fast levels stay where nothing of zlib's is as fast; its
// higher ones were dominated (level 6: 42422272 bytes, larger than zlib 4;
// level 9: 41201664 bytes in 6 s, larger than zlib 5 and 6). From level 5
// on ours is smaller than zlib's levels 1-7 and than everything of zlib's
// that is faster, so at no level is a zlib level both smaller and faster,
// and sizes shrink with the level throughout.
var gzipOwnEncoder = [10]bool{5: true, 6: true, 7: true, 8: true, 9: true}

// deflateEncoders pools pkg/deflate encoders per level (index 1..9).
var deflateEncoders [10]sync.Pool

func (g *gzipCompressor) Compress(dst, src []byte) ([]byte, error) {
	if gzipOwnEncoder[g.level] {
		e, _ := deflateEncoders[g.level].Get().(*deflate.Encoder)
		if e == nil {
			var err error
			if e, err = deflate.NewEncoder(g.level); err != nil {
				return nil, fmt.Errorf("gzip level %d: %w", g.level, err)
			}
		}
		out := e.AppendZlib(dst[:0], src)
		deflateEncoders[g.level].Put(e)
		return out, nil
	}
	p, _ := zlibWriters[g.level].Get().(*pooledZlibWriter)
	if p == nil {
		p = &pooledZlibWriter{}
		zw, err := zlib.NewWriterLevel(&p.out, g.level)
		if err != nil {
			return nil, fmt.Errorf("gzip level %d: %w", g.level, err)
		}
		p.zw = zw
	}
	p.out.b = dst[:0]
	p.zw.Reset(&p.out)
	_, err := p.zw.Write(src)
	if err == nil {
		err = p.zw.Close()
	}
	out := p.out.b
	p.out.b = nil
	zlibWriters[g.level].Put(p)
	if err != nil {
		return nil, fmt.Errorf("gzip compress: %w", err)
	}
	return out, nil
}

func (g *gzipCompressor) Decompress(dst, src []byte, maxSize int) ([]byte, error) {
	return zlibDecompress(dst, src, maxSize)
}

// zlibReaders pools zlib decoders (their inflate state is about 40 KiB).
var zlibReaders sync.Pool

type pooledZlibReader struct {
	zr  io.ReadCloser
	src bytes.Reader
}

// zlibDecompress inflates one zlib stream into dst[:0], reading at most
// maxSize+1 bytes so hostile input cannot make it allocate more, and
// verifying the Adler-32 trailer (reached by reading to io.EOF).
func zlibDecompress(dst, src []byte, maxSize int) ([]byte, error) {
	p, _ := zlibReaders.Get().(*pooledZlibReader)
	if p == nil {
		p = &pooledZlibReader{}
	}
	defer func() {
		p.src.Reset(nil)
		zlibReaders.Put(p)
	}()
	p.src.Reset(src)
	var err error
	if p.zr == nil {
		p.zr, err = zlib.NewReader(&p.src)
	} else {
		err = p.zr.(zlib.Resetter).Reset(&p.src, nil)
	}
	if err != nil {
		p.zr = nil
		return nil, fmt.Errorf("%w: zlib header: %w", ErrCorrupt, err)
	}
	out := dst[:0]
	if cap(out) < maxSize+1 {
		out = make([]byte, 0, maxSize+1)
	}
	for {
		if len(out) > maxSize {
			return nil, fmt.Errorf("%w: zlib stream inflates beyond %d bytes", ErrTooLarge, maxSize)
		}
		n, err := p.zr.Read(out[len(out) : maxSize+1])
		out = out[:len(out)+n]
		if errors.Is(err, io.EOF) {
			if len(out) > maxSize {
				return nil, fmt.Errorf("%w: zlib stream inflates beyond %d bytes", ErrTooLarge, maxSize)
			}
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: zlib: %w", ErrCorrupt, err)
		}
		if n == 0 && len(out) <= maxSize {
			// A reader that makes no progress without an error would
			// loop forever; treat it as corrupt input.
			return nil, fmt.Errorf("%w: zlib: no progress", ErrCorrupt)
		}
	}
}

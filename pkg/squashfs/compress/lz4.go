package compress

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/pierrec/lz4/v4"
)

// lz4 blocks are raw LZ4 blocks (no frame), which the kernel's
// fs/squashfs/lz4_wrapper.c decodes with LZ4_decompress_safe.
//
// The options record (format.adoc "Compression Options" / LZ4: version u32,
// flags u32) is mandatory: lz4_wrapper.c's lz4_comp_opts fails the mount
// with EIO without it and rejects any version but 1 (LZ4_LEGACY), and
// mksquashfs always writes it. Flag 1 records -Xhc (high compression).
const (
	lz4VersionLegacy = 1
	lz4FlagHC        = 1
	lz4RecordSize    = 8
)

func init() {
	register(factory{
		name:        "lz4",
		id:          LZ4,
		parse:       parseLZ4,
		fromOptions: lz4FromOptions,
	})
}

// lz4Compressor is pierrec/lz4's block compressor, fast or HC (level 9, the
// LZ4HC default mksquashfs uses).
type lz4Compressor struct {
	hc bool
}

func parseLZ4(args []string, _ int) (Compressor, error) {
	o := optionReader{comp: "lz4", args: args}
	c := &lz4Compressor{}
	for opt := o.next(); opt != ""; opt = o.next() {
		switch opt {
		case "-Xhc":
			c.hc = true
		default:
			return nil, o.unsupported(opt)
		}
	}
	return c, nil
}

func lz4FromOptions(record []byte, _ int) (Compressor, error) {
	if record == nil {
		return nil, fmt.Errorf("%w: lz4 images must carry an options record (kernel lz4_wrapper.c)", ErrBadOption)
	}
	if len(record) != lz4RecordSize {
		return nil, fmt.Errorf("%w: lz4 record is %d bytes, want %d", ErrBadOption, len(record), lz4RecordSize)
	}
	if v := binary.LittleEndian.Uint32(record[0:]); v != lz4VersionLegacy {
		return nil, fmt.Errorf("%w: lz4 version %d, only 1 (legacy) exists", ErrBadOption, v)
	}
	flags := binary.LittleEndian.Uint32(record[4:])
	if flags&^lz4FlagHC != 0 {
		return nil, fmt.Errorf("%w: lz4 flags %#x", ErrBadOption, flags)
	}
	return &lz4Compressor{hc: flags&lz4FlagHC != 0}, nil
}

func (c *lz4Compressor) ID() ID             { return LZ4 }
func (c *lz4Compressor) Name() string       { return "lz4" }
func (c *lz4Compressor) Uncompressed() bool { return false }

// Options always returns the record; see the lz4RecordSize comment.
func (c *lz4Compressor) Options() []byte {
	b := make([]byte, lz4RecordSize)
	binary.LittleEndian.PutUint32(b[0:], lz4VersionLegacy)
	if c.hc {
		binary.LittleEndian.PutUint32(b[4:], lz4FlagHC)
	}
	return b
}

// Compressor state (hash and chain tables) is pooled: pierrec's
// compressors are not safe for concurrent use and HC tables are large.
var (
	lz4Fast sync.Pool
	lz4HC   sync.Pool
)

func (c *lz4Compressor) Compress(dst, src []byte) ([]byte, error) {
	bound := lz4.CompressBlockBound(len(src))
	out := dst[:0]
	if cap(out) < bound {
		out = make([]byte, 0, bound)
	}
	out = out[:bound]
	var n int
	var err error
	if c.hc {
		hc, _ := lz4HC.Get().(*lz4.CompressorHC)
		if hc == nil {
			hc = &lz4.CompressorHC{Level: lz4.Level9}
		}
		n, err = hc.CompressBlock(src, out)
		lz4HC.Put(hc)
	} else {
		fast, _ := lz4Fast.Get().(*lz4.Compressor)
		if fast == nil {
			fast = &lz4.Compressor{}
		}
		n, err = fast.CompressBlock(src, out)
		lz4Fast.Put(fast)
	}
	if err != nil {
		return nil, fmt.Errorf("lz4 compress: %w", err)
	}
	if n == 0 && len(src) > 0 {
		// Cannot happen with a bound-sized buffer (pierrec's contract);
		// refuse rather than return an empty "compressed" block.
		return nil, fmt.Errorf("lz4 compress: no output for %d bytes", len(src))
	}
	return out[:n], nil
}

// Decompress decodes into a buffer of exactly maxSize bytes: LZ4 blocks
// carry no size, and a block that would write past it fails, so hostile
// input cannot allocate more.
func (c *lz4Compressor) Decompress(dst, src []byte, maxSize int) ([]byte, error) {
	out := dst[:0]
	if cap(out) < maxSize {
		out = make([]byte, 0, maxSize)
	}
	out = out[:maxSize]
	n, err := lz4.UncompressBlock(src, out)
	if err != nil {
		return nil, fmt.Errorf("%w: lz4 (or larger than %d bytes): %w", ErrCorrupt, maxSize, err)
	}
	return out[:n], nil
}

package xz

import (
	"fmt"

	"github.com/ulikunitz/xz/lzma"
)

// LZMA2Encoder produces a raw LZMA2 chunk sequence (xz-file-format 5.3.1;
// ending with the 0x00 end marker) for src, appended to dst[:0]. An encoder
// must not reference data further back than the dictionary size the caller
// writes into the block header (EncodeOptions.DictSize), because decoders
// such as the Linux kernel's allocate exactly that much.
//
// Implementations used by a squashfs writer are called from several
// goroutines at once and must be safe for that.
type LZMA2Encoder interface {
	EncodeLZMA2(dst, src []byte) ([]byte, error)
}

// LibLZMA2 is an LZMA2Encoder built on github.com/ulikunitz/xz/lzma's
// Writer2. The library's encoders cannot be reset, so each call builds a new
// one; its allocation (dictionary plus hash table, about 9 x DictCap bytes)
// is why callers should pass the smallest dictionary that covers the input.
type LibLZMA2 struct {
	// DictCap is the dictionary size; 0 means 8 MiB (the library's
	// default). It must be an encodable size (2^n or 3*2^n) when a
	// decoder checks it against the header.
	DictCap int
	// BinaryTree selects the library's binary-tree match finder instead
	// of its 4-byte hash table: smaller output, slower.
	BinaryTree bool
}

// appender is an io.Writer appending to a byte slice.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}

// EncodeLZMA2 implements LZMA2Encoder.
func (e LibLZMA2) EncodeLZMA2(dst, src []byte) ([]byte, error) {
	cfg := lzma.Writer2Config{DictCap: e.DictCap}
	if e.BinaryTree {
		cfg.Matcher = lzma.BinaryTree
	}
	out := &appender{b: dst[:0]}
	w, err := cfg.NewWriter2(out)
	if err != nil {
		return nil, fmt.Errorf("xz: LZMA2 encoder: %w", err)
	}
	if _, err := w.Write(src); err != nil {
		return nil, fmt.Errorf("xz: LZMA2 encoder: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("xz: LZMA2 encoder: %w", err)
	}
	return out.b, nil
}

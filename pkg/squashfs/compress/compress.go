// Package compress holds the block compressors SquashFS images use and the
// parsing of mksquashfs-style compressor strings ("xz -Xdict-size 100%").
//
// It knows the squashfs compressor ids and the byte layout of each
// compressor's options record (format.adoc "Compression Options"), and
// nothing else of the image format.
package compress

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ID is a squashfs compressor id (format.adoc "The Superblock": compression_id).
type ID uint16

// Compressor ids as the superblock stores them.
const (
	Gzip ID = 1
	LZMA ID = 2
	LZO  ID = 3
	XZ   ID = 4
	LZ4  ID = 5
	Zstd ID = 6
)

// Compressor compresses and decompresses squashfs data and metadata blocks.
// Implementations are safe for concurrent use: the writer calls Compress from
// several goroutines at once (per-goroutine state is pooled inside).
type Compressor interface {
	// ID is the compressor id written to the superblock.
	ID() ID
	// Name is the mksquashfs name: "gzip", "xz", "zstd", "lz4", "none".
	Name() string
	// Options returns the compressor options record stored right after the
	// superblock, or nil when the settings are the defaults a reader assumes
	// without one (then the superblock flag is not set).
	Options() []byte
	// Compress appends the compressed form of src to dst[:0] and returns it.
	// The caller stores src uncompressed when the result is not smaller; a
	// compressor may return a result longer than src.
	Compress(dst, src []byte) ([]byte, error)
	// Decompress appends the decompressed form of src to dst[:0]; it fails
	// if the output would exceed maxSize bytes.
	Decompress(dst, src []byte, maxSize int) ([]byte, error)
	// Uncompressed reports whether this is the "none" pseudo-compressor:
	// the writer then stores every block raw and sets the superblock's
	// uncompressed flags (the image still names gzip, as mksquashfs -noI
	// -noD -noF -noX does).
	Uncompressed() bool
}

// factory builds one compressor kind. Each compressor file registers its
// factory in an init function; Parse and ForImage dispatch through the table.
type factory struct {
	// name is the mksquashfs name ("xz"); id the superblock id.
	name string
	id   ID
	// parse builds the compressor from the "-X..." words that follow the
	// name in a mksquashfs-style string, for images of blockSize blocks.
	// An option it does not support is an error, never dropped.
	parse func(args []string, blockSize int) (Compressor, error)
	// fromOptions builds the compressor a reader needs from the options
	// record stored in an image (nil when the image has none).
	fromOptions func(record []byte, blockSize int) (Compressor, error)
}

// registry maps mksquashfs names to factories; filled by init functions.
var registry = map[string]factory{}

func register(f factory) {
	if _, dup := registry[f.name]; dup {
		panic("compress: duplicate compressor " + f.name)
	}
	registry[f.name] = f
}

// Errors of this package. Callers match them with errors.Is; the messages
// wrapping them name the compressor and option at fault.
var (
	// ErrUnsupported is returned for a compressor, compressor id or option
	// this package does not implement. mksquashfs accepts more than we do;
	// an option is never silently dropped, because the image would then not
	// be what the user asked for.
	ErrUnsupported = errors.New("compress: unsupported")
	// ErrBadOption is returned for an option value out of range, a missing
	// value, or a malformed options record in an image.
	ErrBadOption = errors.New("compress: bad compressor option")
	// ErrCorrupt is returned when compressed data does not decode.
	ErrCorrupt = errors.New("compress: corrupt compressed data")
	// ErrTooLarge is returned when data decompresses to more than the
	// caller's limit (a block never expands beyond the block size, or 8 KiB
	// for metadata: format.adoc "Packing Metadata").
	ErrTooLarge = errors.New("compress: decompressed data exceeds the limit")
)

// maxBlockSize is the largest squashfs data block (format.adoc "The
// Superblock": block_size). It caps every decoder's memory; this package
// cannot import pkg/squashfs (which imports it), hence the copy.
const maxBlockSize = 1 << 20

// Parse builds a compressor from a mksquashfs-style specification: the
// compressor name followed by its -X options, separated by white space, as
// nixpkgs passes it in squash-compression ("xz -Xdict-size 100%",
// "zstd -Xcompression-level 19", "gzip -Xcompression-level 9", "lz4 -Xhc",
// "none"). blockSize is the image's data block size; options relative to it
// (xz's "-Xdict-size 50%") are resolved against it.
//
// A compressor or option we do not support is an error naming it.
func Parse(spec string, blockSize int) (Compressor, error) {
	words := strings.Fields(spec)
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: empty compressor specification (want one of %s)", ErrUnsupported, names())
	}
	f, ok := registry[words[0]]
	if !ok {
		return nil, fmt.Errorf("%w: compressor %q (want one of %s)", ErrUnsupported, words[0], names())
	}
	c, err := f.parse(words[1:], blockSize)
	if err != nil {
		return nil, fmt.Errorf("compressor %q: %w", spec, err)
	}
	return c, nil
}

// ForImage builds the compressor a reader needs for an image whose
// superblock names id and whose compressor options record (format.adoc
// "Compression Options") is record, nil when the superblock flag is clear.
func ForImage(id ID, record []byte, blockSize int) (Compressor, error) {
	for _, f := range registry {
		// The "none" pseudo-compressor shares gzip's id but cannot decode
		// an image's options; it registers without fromOptions.
		if f.id != id || f.fromOptions == nil {
			continue
		}
		c, err := f.fromOptions(record, blockSize)
		if err != nil {
			return nil, fmt.Errorf("%s options record: %w", f.name, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("%w: compressor %s (id %d)", ErrUnsupported, idName(id), uint16(id))
}

// Default is the compressor mksquashfs uses without -comp: gzip at level 9
// with a 32 KiB window (squashfs-tools gzip_wrapper.h defaults), which needs
// no options record.
func Default() Compressor {
	return newGzip(gzipDefaultLevel)
}

// names lists the registered compressor names for error messages.
func names() string {
	n := make([]string, 0, len(registry))
	for name := range registry {
		n = append(n, name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// idName names a compressor id as the kernel's squashfs_fs.h does.
func idName(id ID) string {
	switch id {
	case Gzip:
		return "gzip"
	case LZMA:
		return "lzma"
	case LZO:
		return "lzo"
	case XZ:
		return "xz"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return "unknown"
}

// optionReader walks the "-Xname [value]" words after a compressor name.
type optionReader struct {
	comp string
	args []string
	i    int
}

// next returns the next option word, or "" at the end.
func (o *optionReader) next() string {
	if o.i >= len(o.args) {
		return ""
	}
	o.i++
	return o.args[o.i-1]
}

// value returns the value word of option opt.
func (o *optionReader) value(opt string) (string, error) {
	if o.i >= len(o.args) {
		return "", fmt.Errorf("%w: %s %s needs a value", ErrBadOption, o.comp, opt)
	}
	o.i++
	return o.args[o.i-1], nil
}

// intValue returns the value of opt as an integer in [lo, hi].
func (o *optionReader) intValue(opt string, lo, hi int) (int, error) {
	s, err := o.value(opt)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s %s %q: want an integer from %d to %d", ErrBadOption, o.comp, opt, s, lo, hi)
	}
	return n, nil
}

// unsupported is the error for an option word this compressor lacks.
func (o *optionReader) unsupported(opt string) error {
	return fmt.Errorf("%w: %s option %q", ErrUnsupported, o.comp, opt)
}

// Package compress holds the block compressors SquashFS images use and the
// parsing of mksquashfs-style compressor strings ("xz -Xdict-size 100%").
//
// It knows the squashfs compressor ids and the byte layout of each
// compressor's options record (format.adoc "Compression Options"), and
// nothing else of the image format.
package compress

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

package compress

func init() {
	// No fromOptions: ForImage must pick the real gzip decoder for id 1.
	register(factory{name: "none", id: Gzip, parse: parseNone})
}

// noneCompressor is the "store everything uncompressed" choice, which
// mksquashfs expresses as -noI -noD -noF -noX. The format has no "null"
// compressor id (format.adoc "Supported Compressors"), so the image names
// gzip, as mksquashfs's does; the writer sees Uncompressed() and stores every
// block raw with the superblock's uncompressed flags set, so Compress is
// never called by it.
type noneCompressor struct{}

func parseNone(args []string, _ int) (Compressor, error) {
	o := optionReader{comp: "none", args: args}
	if opt := o.next(); opt != "" {
		return nil, o.unsupported(opt)
	}
	return noneCompressor{}, nil
}

func (noneCompressor) ID() ID             { return Gzip }
func (noneCompressor) Name() string       { return "none" }
func (noneCompressor) Options() []byte    { return nil }
func (noneCompressor) Uncompressed() bool { return true }

// Compress returns a copy of src: "compressing" with none stores raw. A
// writer that called it would then see a result no smaller than src and
// store the block uncompressed, which is still right.
func (noneCompressor) Compress(dst, src []byte) ([]byte, error) {
	return append(dst[:0], src...), nil
}

// Decompress decodes zlib: a block in an image that names gzip and is not
// marked uncompressed is a zlib stream, whoever wrote it.
func (noneCompressor) Decompress(dst, src []byte, maxSize int) ([]byte, error) {
	return zlibDecompress(dst, src, maxSize)
}

package compress

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

const xzTestMiB = 1 << 20

// xzTestData returns n bytes of compressible but not trivial data: words
// from a small vocabulary mixed with random bytes, seeded for repeatability.
func xzTestData(n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	words := []string{"squashfs ", "portable ", "service ", "/nix/store/", "lib", ".so.6 ", "\x00\x00\x00\x00", "ELF"}
	var b bytes.Buffer
	for b.Len() < n {
		if rng.Intn(4) == 0 {
			b.WriteByte(byte(rng.Intn(256)))
		} else {
			b.WriteString(words[rng.Intn(len(words))])
		}
	}
	return b.Bytes()[:n]
}

func xzTestNew(t *testing.T, blockSize int, args ...string) *xzCompressor {
	t.Helper()
	c, err := parseXZ(args, blockSize)
	require.NoError(t, err)
	return c.(*xzCompressor)
}

func TestXZRegistered(t *testing.T) {
	f, ok := registry["xz"]
	require.True(t, ok, "xz factory registered")
	assert.Equal(t, XZ, f.id)
	assert.Equal(t, ID(4), f.id, "format.adoc: compressor id 4 is XZ")
}

func TestXZDictSizeValidation(t *testing.T) {
	const blk = xzTestMiB
	cases := []struct {
		arg  string
		want int // 0: error expected
	}{
		{"100%", 1 << 20},
		{"50%", 1 << 19},
		{"75%", 3 << 18},      // 786432 = 3*2^18
		{"37.5%", 3 << 17},    // 393216, mksquashfs's own example
		{"25%", 1 << 18},      //
		{"60%", 0},            // 629145: neither 2^n nor 3*2^n
		{"0%", 0},             // must be > 0
		{"101%", 0},           // must be <= 100
		{"0.5%", 0},           // 5242 < 8192
		{"8192", 8192},        // the minimum
		{"8K", 8192},          //
		{"8k", 8192},          //
		{"12K", 12 << 10},     // 3*2^12
		{"4096", 0},           // below 8 KiB (kernel/mksquashfs minimum)
		{"10K", 0},            // not storable
		{"1M", 1 << 20},       //
		{"1m", 1 << 20},       //
		{"2M", 0},             // larger than the block size
		{"1048577", 0},        // larger than the block size
		{"512K", 512 << 10},   //
		{"1.5K", 0},           // fractional only allowed for percentages
		{"abc", 0},            //
		{"", 0},               //
		{"-8192", 0},          //
		{"99999999999999", 0}, // overflow
	}
	for _, tc := range cases {
		t.Run(tc.arg, func(t *testing.T) {
			c, err := parseXZ([]string{"-Xdict-size", tc.arg}, blk)
			if tc.want == 0 {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "-Xdict-size")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.(*xzCompressor).dictSize)
		})
	}
}

func TestXZDictSizeSmallBlocks(t *testing.T) {
	// 100% of a 4 KiB block is below the 8 KiB minimum: mksquashfs
	// rejects an explicit -Xdict-size there too.
	_, err := parseXZ([]string{"-Xdict-size", "100%"}, 4096)
	require.Error(t, err)
	// Without -Xdict-size the dictionary is the block size, unchecked, as
	// mksquashfs's xz_options_post does; no record is written.
	c := xzTestNew(t, 4096)
	assert.Equal(t, 4096, c.dictSize)
	assert.Nil(t, c.Options())
}

func TestXZParseErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-Xdict-size"},
		{"-Xbcj"},
		{"-Xcompression-level", "9"},
		{"-Xhc"},
		{"100%"},
	} {
		_, err := parseXZ(args, xzTestMiB)
		assert.Error(t, err, "%q", args)
	}
	_, err := parseXZ([]string{"-Xfoo"}, xzTestMiB)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-Xfoo", "the error names the unknown option")
}

func TestXZOptionsRecord(t *testing.T) {
	// format.adoc "Compression Options" / "XZ": u32 dictionary size,
	// u32 filter bits, little endian.
	cases := []struct {
		name  string
		block int
		args  []string
		want  []byte
	}{
		{"default", xzTestMiB, nil, nil},
		{"100% is the default", xzTestMiB, []string{"-Xdict-size", "100%"}, nil},
		{"block size in bytes is the default", 128 << 10, []string{"-Xdict-size", "128K"}, nil},
		{"50% of 1 MiB", xzTestMiB, []string{"-Xdict-size", "50%"},
			[]byte{0x00, 0x00, 0x08, 0x00, 0, 0, 0, 0}},
		{"8 KiB", 128 << 10, []string{"-Xdict-size", "8192"},
			[]byte{0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0}},
		{"3*2^16", 128 << 10, []string{"-Xdict-size", "75%"},
			[]byte{0x00, 0x80, 0x01, 0x00, 0, 0, 0, 0}},
		{"last -Xdict-size wins", xzTestMiB, []string{"-Xdict-size", "50%", "-Xdict-size", "1M"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := xzTestNew(t, tc.block, tc.args...)
			assert.Equal(t, tc.want, c.Options())
		})
	}
}

func TestXZFromOptions(t *testing.T) {
	f := registry["xz"]
	c, err := f.fromOptions(nil, xzTestMiB)
	require.NoError(t, err)
	assert.Equal(t, xzTestMiB, c.(*xzCompressor).dictSize, "no record: dictionary = block size")
	assert.Nil(t, c.Options())

	rec := []byte{0x00, 0x00, 0x08, 0x00, 0x01, 0, 0, 0}
	c, err = f.fromOptions(rec, xzTestMiB)
	require.NoError(t, err)
	assert.Equal(t, 1<<19, c.(*xzCompressor).dictSize)
	assert.Equal(t, uint32(1), c.(*xzCompressor).filters)
	assert.Equal(t, rec, c.Options(), "record survives a read/write cycle")

	for _, bad := range [][]byte{
		{},
		{0x00, 0x00, 0x08, 0x00},
		{0x00, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0},
		{0x00, 0x28, 0x00, 0x00, 0, 0, 0, 0}, // 10240: not storable
		{0, 0, 0, 0, 0, 0, 0, 0},             // 0
	} {
		_, err := f.fromOptions(bad, xzTestMiB)
		assert.Error(t, err, "% x", bad)
	}
}

func TestXZBlockDict(t *testing.T) {
	c := xzTestNew(t, xzTestMiB)
	for _, tc := range []struct{ n, want int }{
		{0, 4096},
		{100, 4096},
		{4096, 4096},
		{4097, 6144},
		{8192, 8192},
		{8193, 12288},
		{90000, 3 << 15},
		{100000, 1 << 17},
		{xzTestMiB - 1, xzTestMiB},
		{xzTestMiB, xzTestMiB},
	} {
		d := c.blockDict(tc.n)
		assert.Equal(t, tc.want, d, "input %d", tc.n)
		assert.True(t, xzDictEncodable(d))
	}
	half := xzTestNew(t, xzTestMiB, "-Xdict-size", "50%")
	assert.Equal(t, 1<<19, half.blockDict(xzTestMiB), "never above the configured dictionary")
	odd := xzTestNew(t, xzTestMiB, "-Xdict-size", "12K")
	assert.Equal(t, 12<<10, odd.blockDict(xzTestMiB))
}

// xzTestStreamInfo parses the parts of an xz stream the kernel cares about
// (tukaani xz-file-format 2.1.1 Stream Header, 3.1 Block Header): the check
// type and the LZMA2 dictionary-size property of the first block.
func xzTestStreamInfo(t *testing.T, s []byte) (check byte, dict int64) {
	t.Helper()
	require.GreaterOrEqual(t, len(s), 12+2+12)
	require.Equal(t, []byte{0xFD, '7', 'z', 'X', 'Z', 0x00}, s[:6], "stream header magic")
	require.Equal(t, byte(0), s[6])
	check = s[7] & 0x0F
	// Footer repeats the flags (2.1.2.3).
	require.Equal(t, s[6:8], s[len(s)-4:len(s)-2])
	require.Equal(t, []byte("YZ"), s[len(s)-2:])
	h := s[12:]
	hsize := (int(h[0]) + 1) * 4
	flags := h[1]
	nfilters := int(flags&3) + 1
	p := 2
	readVLI := func() uint64 {
		var v uint64
		for i := 0; ; i++ {
			b := h[p]
			p++
			v |= uint64(b&0x7F) << (7 * i)
			if b&0x80 == 0 {
				return v
			}
		}
	}
	if flags&0x40 != 0 {
		readVLI()
	}
	if flags&0x80 != 0 {
		readVLI()
	}
	var last uint64
	var prop byte
	for i := 0; i < nfilters; i++ {
		last = readVLI()
		n := int(readVLI())
		if n > 0 {
			prop = h[p]
		}
		p += n
	}
	require.LessOrEqual(t, p, hsize)
	require.Equal(t, uint64(0x21), last, "last filter is LZMA2")
	require.LessOrEqual(t, prop, byte(40))
	dict = int64(2|prop&1) << (prop/2 + 11)
	return check, dict
}

func TestXZRoundTrip(t *testing.T) {
	c := xzTestNew(t, xzTestMiB)
	rng := rand.New(rand.NewSource(7))
	random := make([]byte, 70000)
	rng.Read(random)
	inputs := map[string][]byte{
		"empty":       {},
		"one byte":    {'x'},
		"metadata 8K": xzTestData(8192, 1),
		"zeros 1M":    make([]byte, xzTestMiB),
		"mixed 1M":    xzTestData(xzTestMiB, 2),
		"random":      random,
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			comp, err := c.Compress(nil, in)
			require.NoError(t, err)
			check, dict := xzTestStreamInfo(t, comp)
			assert.Equal(t, byte(0x01), check, "CRC32 check (format.adoc: xz MUST use CRC32)")
			assert.LessOrEqual(t, dict, int64(c.dictSize), "LZMA2 dictionary within the kernel's preallocation")
			out, err := c.Decompress(nil, comp, len(in))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(in, out), "round trip")
			if len(in) > 0 {
				_, err = c.Decompress(nil, comp, len(in)-1)
				assert.Error(t, err, "output beyond maxSize is an error")
			}
		})
	}
}

func TestXZDeterministicAndReusesDst(t *testing.T) {
	c := xzTestNew(t, xzTestMiB)
	in := xzTestData(300000, 3)
	a, err := c.Compress(nil, in)
	require.NoError(t, err)
	buf := make([]byte, 0, xzTestMiB)
	b, err := c.Compress(buf, in)
	require.NoError(t, err)
	assert.Equal(t, a, b, "same input, same bytes")
	assert.Equal(t, &buf[:1][0], &b[:1][0], "encoded into the caller's buffer")
}

func TestXZDecompressRejectsCorruption(t *testing.T) {
	c := xzTestNew(t, xzTestMiB)
	in := xzTestData(50000, 4)
	comp, err := c.Compress(nil, in)
	require.NoError(t, err)

	_, err = c.Decompress(nil, comp[:len(comp)-7], len(in))
	assert.Error(t, err, "truncated stream")
	_, err = c.Decompress(nil, append(append([]byte{}, comp...), 1, 2, 3, 4), len(in))
	assert.Error(t, err, "trailing garbage")
	bad := append([]byte{}, comp...)
	bad[len(bad)/2] ^= 0x55
	_, err = c.Decompress(nil, bad, len(in))
	assert.Error(t, err, "flipped bits")
	_, err = c.Decompress(nil, []byte("not xz at all"), len(in))
	assert.Error(t, err)
}

func TestXZConcurrent(t *testing.T) {
	c := xzTestNew(t, 128<<10)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var cbuf, dbuf []byte
			for i := 0; i < 4; i++ {
				in := xzTestData(128<<10-i*1000, int64(g*10+i))
				var err error
				cbuf, err = c.Compress(cbuf, in)
				if err != nil {
					errs <- err
					return
				}
				dbuf, err = c.Decompress(dbuf, cbuf, 128<<10)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(in, dbuf) {
					errs <- fmt.Errorf("goroutine %d block %d: mismatch", g, i)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestXZInteropCLI checks our blocks against liblzma (the xz command, the
// decoder unsquashfs uses) in both directions.
func TestXZInteropCLI(t *testing.T) {
	xzCmd := testutil.RequireTool(t, "xz")
	dir := t.TempDir()
	c := xzTestNew(t, xzTestMiB, "-Xdict-size", "50%")
	in := xzTestData(xzTestMiB, 5)

	t.Run("ours decoded by xz", func(t *testing.T) {
		comp, err := c.Compress(nil, in)
		require.NoError(t, err)
		p := filepath.Join(dir, "ours.xz")
		require.NoError(t, os.WriteFile(p, comp, 0o644))
		out, err := exec.Command(xzCmd, "-d", "-c", "--single-stream", p).Output()
		require.NoError(t, err)
		assert.True(t, bytes.Equal(in, out))
		// xz --robot --list reports the check name and the memory a
		// decoder needs; both must fit the kernel's constraints.
		list, err := exec.Command(xzCmd, "--robot", "--list", p).Output()
		require.NoError(t, err)
		assert.Contains(t, string(list), "\tCRC32\t")
	})

	t.Run("xz -9 decoded by ours", func(t *testing.T) {
		p := filepath.Join(dir, "in")
		require.NoError(t, os.WriteFile(p, in, 0o644))
		comp, err := exec.Command(xzCmd, "-9", "-C", "crc32", "-c", p).Output()
		require.NoError(t, err)
		out, err := c.Decompress(nil, comp, len(in))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(in, out))

		comp64, err := exec.Command(xzCmd, "-6", "-C", "crc64", "-c", p).Output()
		require.NoError(t, err)
		out, err = c.Decompress(nil, comp64, len(in))
		require.NoError(t, err, "decoding accepts any check liblzma writes")
		assert.True(t, bytes.Equal(in, out))
	})
}

func TestXZRecordLittleEndian(t *testing.T) {
	// Guard the record layout independently of Options' own encoding.
	c := xzTestNew(t, xzTestMiB, "-Xdict-size", "256K")
	rec := c.Options()
	require.Len(t, rec, 8)
	assert.Equal(t, uint32(256<<10), binary.LittleEndian.Uint32(rec))
}

func TestXZErrorKinds(t *testing.T) {
	_, err := parseXZ([]string{"-Xfoo"}, xzTestMiB)
	assert.ErrorIs(t, err, ErrUnsupported)
	_, err = parseXZ([]string{"-Xdict-size", "10K"}, xzTestMiB)
	assert.ErrorIs(t, err, ErrBadOption)
	_, err = registry["xz"].fromOptions([]byte{1, 2, 3}, xzTestMiB)
	assert.ErrorIs(t, err, ErrBadOption)
	c := xzTestNew(t, xzTestMiB)
	_, err = c.Decompress(nil, []byte("garbage"), 100)
	assert.ErrorIs(t, err, ErrCorrupt)
	comp, err := c.Compress(nil, make([]byte, 1000))
	require.NoError(t, err)
	_, err = c.Decompress(nil, comp, 999)
	assert.ErrorIs(t, err, ErrTooLarge)
}

func TestXZBCJParse(t *testing.T) {
	cases := []struct {
		list    string
		filters []string
		bits    uint32
	}{
		{"x86", []string{"x86"}, 0x01},
		{"arm,x86", []string{"x86", "arm"}, 0x09}, // mksquashfs order, whatever the order given
		{"x86,x86", []string{"x86"}, 0x01},
		{"powerpc,armthumb,sparc", []string{"powerpc", "armthumb", "sparc"}, 0x32},
		{"arm64", []string{"arm64"}, 0}, // no record bit defined for arm64
		{"x86,arm64", []string{"x86", "arm64"}, 0x01},
	}
	for _, tc := range cases {
		c := xzTestNew(t, xzTestMiB, "-Xbcj", tc.list)
		var names []string
		for _, f := range c.bcj {
			names = append(names, f.String())
		}
		assert.Equal(t, tc.filters, names, tc.list)
		rec := c.Options()
		require.Len(t, rec, 8, "a filter list always writes a record, as mksquashfs does (filter_count != 1)")
		assert.Equal(t, uint32(xzTestMiB), binary.LittleEndian.Uint32(rec[0:]))
		assert.Equal(t, tc.bits, binary.LittleEndian.Uint32(rec[4:]), tc.list)
	}
	// format.adoc "XZ": dictionary 1 MiB, filters x86 (0x01).
	c := xzTestNew(t, xzTestMiB, "-Xdict-size", "100%", "-Xbcj", "x86")
	assert.Equal(t, []byte{0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00}, c.Options())

	_, err := parseXZ([]string{"-Xbcj", "ia64"}, xzTestMiB)
	assert.ErrorIs(t, err, ErrUnsupported, "the kernel cannot decode IA-64 BCJ")
	_, err = parseXZ([]string{"-Xbcj", "x86,mips"}, xzTestMiB)
	require.ErrorIs(t, err, ErrBadOption)
	assert.Contains(t, err.Error(), "mips")
	_, err = parseXZ([]string{"-Xbcj", "x86,"}, xzTestMiB)
	assert.Error(t, err, "empty filter name")
}

// xzTestBlockFilters returns the filter IDs named in the first block header
// of an xz stream (xz-file-format 3.1.3): the stream itself says which
// filters a block used.
func xzTestBlockFilters(t *testing.T, s []byte) []uint64 {
	t.Helper()
	h := s[12:]
	flags := h[1]
	p := 2
	readVLI := func() uint64 {
		var v uint64
		for i := 0; ; i++ {
			b := h[p]
			p++
			v |= uint64(b&0x7F) << (7 * i)
			if b&0x80 == 0 {
				return v
			}
		}
	}
	require.Zero(t, flags&0xC0, "we write no optional sizes")
	var ids []uint64
	for i := 0; i <= int(flags&3); i++ {
		ids = append(ids, readVLI())
		p += int(readVLI())
	}
	return ids
}

func TestXZBCJPicksSmallest(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	bin, err := os.ReadFile(exe)
	require.NoError(t, err)
	require.Greater(t, len(bin), 1<<20)
	block := bin[len(bin)/4 : len(bin)/4+256<<10] // inside .text of the test binary

	plain := xzTestNew(t, xzTestMiB, "-Xbcj", "none")
	bcj := xzTestNew(t, xzTestMiB, "-Xbcj", "x86,arm,arm64")
	p, err := plain.Compress(nil, block)
	require.NoError(t, err)
	b, err := bcj.Compress(nil, block)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(b), len(p), "never larger than plain LZMA2")
	out, err := bcj.Decompress(nil, b, len(block))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(block, out))
	if runtime.GOARCH == "amd64" {
		assert.Less(t, len(b), len(p), "x86 code compresses better with the x86 filter")
		assert.Equal(t, []uint64{0x04, 0x21}, xzTestBlockFilters(t, b), "block header names x86 + LZMA2")
	}
	assert.Equal(t, []uint64{0x21}, xzTestBlockFilters(t, p))

	// Text gains nothing from BCJ: plain LZMA2 wins the tie or is smaller.
	text := xzTestData(200000, 9)
	tb, err := bcj.Compress(nil, text)
	require.NoError(t, err)
	tp, err := plain.Compress(nil, text)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(tb), len(tp))

	// liblzma (unsquashfs's decoder) reads the BCJ block.
	xzCmd := testutil.RequireTool(t, "xz")
	f := filepath.Join(t.TempDir(), "bcj.xz")
	require.NoError(t, os.WriteFile(f, b, 0o644))
	dec, err := exec.Command(xzCmd, "-d", "-c", "--single-stream", f).Output()
	require.NoError(t, err)
	assert.True(t, bytes.Equal(block, dec))
}

func TestXZAutoBCJ(t *testing.T) {
	exe, err := os.Executable()
	require.NoError(t, err)
	bin, err := os.ReadFile(exe)
	require.NoError(t, err)
	code := bin[len(bin)/4 : len(bin)/4+256<<10]
	text := xzTestData(256<<10, 10)

	def := xzTestNew(t, xzTestMiB)
	auto := xzTestNew(t, xzTestMiB, "-Xdict-size", "100%", "-Xbcj", "auto")
	none := xzTestNew(t, xzTestMiB, "-Xbcj", "none")
	for _, c := range []*xzCompressor{def, auto, none} {
		assert.Nil(t, c.Options(), "no record: dictionary = block size, no filter list")
	}

	dc, err := def.Compress(nil, code)
	require.NoError(t, err)
	ac, err := auto.Compress(nil, code)
	require.NoError(t, err)
	assert.Equal(t, dc, ac, "-Xbcj auto is the default")
	nc, err := none.Compress(nil, code)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0x21}, xzTestBlockFilters(t, nc), "-Xbcj none: LZMA2 only")
	if runtime.GOARCH == "amd64" {
		assert.Equal(t, []uint64{0x04, 0x21}, xzTestBlockFilters(t, dc), "x86 code gets the x86 filter")
		assert.Less(t, len(dc), len(nc))
	}
	out, err := def.Decompress(nil, dc, len(code))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(code, out))

	tc, err := def.Compress(nil, text)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0x21}, xzTestBlockFilters(t, tc), "text stays plain LZMA2")

	_, err = parseXZ([]string{"-Xbcj", "auto,arm"}, xzTestMiB)
	assert.ErrorIs(t, err, ErrBadOption, "auto guesses only x86 and arm64")
	_, err = parseXZ([]string{"-Xbcj", "none,x86"}, xzTestMiB)
	assert.ErrorIs(t, err, ErrBadOption, "none stands alone")

	// ARM64 is guessed only when allowed.
	arm := make([]byte, 64<<10)
	copy(arm, text)
	for i := 0; i < len(arm); i += 512 {
		binary.LittleEndian.PutUint32(arm[i:], 0xD65F03C0)             // ret
		binary.LittleEndian.PutUint32(arm[i+4:], 0x94000000|uint32(i)) // bl
	}
	armAuto := xzTestNew(t, xzTestMiB, "-Xbcj", "auto,arm64")
	assert.Nil(t, armAuto.Options())
	ac, err = armAuto.Compress(nil, arm)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0x0A, 0x21}, xzTestBlockFilters(t, ac), "ARM64 code gets the ARM64 filter")
	out, err = armAuto.Decompress(nil, ac, len(arm))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(arm, out))
	dc, err = def.Compress(nil, arm)
	require.NoError(t, err)
	assert.Equal(t, []uint64{0x21}, xzTestBlockFilters(t, dc), "not by default")
	c := xzTestNew(t, xzTestMiB, "-Xbcj", "x86", "-Xbcj", "none")
	assert.Nil(t, c.Options(), "the last -Xbcj wins")
}

func TestXZModeNormal(t *testing.T) {
	fast := xzTestNew(t, 128<<10, "-Xmode", "fast", "-Xbcj", "none")
	normal := xzTestNew(t, 128<<10, "-Xmode", "normal", "-Xbcj", "none")
	assert.Nil(t, normal.Options(), "the mode is not recorded: decoders need not know it")
	in := xzTestData(128<<10, 11)
	f, err := fast.Compress(nil, in)
	require.NoError(t, err)
	n, err := normal.Compress(nil, in)
	require.NoError(t, err)
	assert.Less(t, len(n), len(f), "the near-optimal encoder beats the greedy one")
	check, dict := xzTestStreamInfo(t, n)
	assert.Equal(t, byte(0x01), check)
	assert.LessOrEqual(t, dict, int64(128<<10))
	out, err := normal.Decompress(nil, n, len(in))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(in, out))

	// Small inputs state a small dictionary; the pooled encoder (made
	// for 128 KiB) must stay within it. liblzma checks the distances.
	xzCmd := testutil.RequireTool(t, "xz")
	dir := t.TempDir()
	for i, size := range []int{100, 5000, 8192, 40000} {
		small := xzTestData(size, int64(20+i))
		enc, err := normal.Compress(nil, small)
		require.NoError(t, err)
		_, d := xzTestStreamInfo(t, enc)
		assert.Equal(t, int64(normal.blockDict(size)), d)
		p := filepath.Join(dir, fmt.Sprintf("s%d.xz", i))
		require.NoError(t, os.WriteFile(p, enc, 0o644))
		got, err := exec.Command(xzCmd, "-d", "-c", "--single-stream", p).Output()
		require.NoError(t, err, "xz -d of a %d-byte block", size)
		assert.True(t, bytes.Equal(small, got))
	}

	// Pooled encoders under concurrency.
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				in := xzTestData(60000+g*1000+i, int64(100+g*10+i))
				c, err := normal.Compress(nil, in)
				if err == nil {
					var out []byte
					out, err = normal.Decompress(nil, c, len(in))
					if err == nil && !bytes.Equal(in, out) {
						err = fmt.Errorf("goroutine %d block %d: mismatch", g, i)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// A pooled encoder must not carry state from one block to the next:
	// the image must not depend on which worker's encoder got a block.
	a, b := xzTestData(100000, 30), xzTestData(90000, 31)
	seq := xzTestNew(t, 128<<10, "-Xmode", "normal")
	_, err = seq.Compress(nil, a)
	require.NoError(t, err)
	afterA, err := seq.Compress(nil, b)
	require.NoError(t, err)
	fresh, err := xzTestNew(t, 128<<10, "-Xmode", "normal").Compress(nil, b)
	require.NoError(t, err)
	assert.Equal(t, fresh, afterA, "same bytes whatever the encoder encoded before")

	_, err = parseXZ([]string{"-Xmode", "extreme"}, xzTestMiB)
	assert.ErrorIs(t, err, ErrBadOption)
	_, err = parseXZ([]string{"-Xmode"}, xzTestMiB)
	assert.ErrorIs(t, err, ErrBadOption)
}

// BenchmarkXZCompress: 1 MiB blocks of this test binary (x86-64 code on
// amd64) and of text, for the default (fast, auto x86), fast without BCJ,
// normal mode, and mksquashfs-style "try both".
//
//	go test ./pkg/squashfs/compress -run '^$' -bench XZCompress -benchtime 5x
func BenchmarkXZCompress(b *testing.B) {
	exe, err := os.Executable()
	require.NoError(b, err)
	bin, err := os.ReadFile(exe)
	require.NoError(b, err)
	require.Greater(b, len(bin), 2<<20)
	inputs := map[string][]byte{
		"code": bin[len(bin)/4 : len(bin)/4+xzTestMiB],
		"text": xzTestData(xzTestMiB, 1),
	}
	specs := map[string][]string{
		"default":     nil,
		"bcj-none":    {"-Xbcj", "none"},
		"try-x86":     {"-Xbcj", "x86"},
		"normal-auto": {"-Xmode", "normal"},
	}
	for iname, in := range inputs {
		for sname, args := range specs {
			b.Run(iname+"/"+sname, func(b *testing.B) {
				c, err := parseXZ(args, xzTestMiB)
				require.NoError(b, err)
				var out []byte
				b.SetBytes(int64(len(in)))
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					out, err = c.Compress(out, in)
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(out))/float64(len(in)), "ratio")
			})
		}
	}
}

// TestXZNice: -Xnice sets the normal parser's nice length (and implies
// -Xmode normal). A longer nice length searches more and must not come out
// larger on repetitive data; every setting decodes with liblzma.
func TestXZNice(t *testing.T) {
	in := xzTestData(256<<10, 41)
	short := xzTestNew(t, 256<<10, "-Xnice", "8", "-Xbcj", "none")
	long := xzTestNew(t, 256<<10, "-Xnice", "273", "-Xbcj", "none")
	assert.True(t, short.normal && long.normal, "-Xnice selects the normal parser")
	assert.Nil(t, long.Options(), "the nice length is an encoder setting, not recorded")
	s, err := short.Compress(nil, in)
	require.NoError(t, err)
	l, err := long.Compress(nil, in)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(l), len(s))

	xzCmd := testutil.RequireTool(t, "xz")
	for name, enc := range map[string][]byte{"nice8": s, "nice273": l} {
		p := filepath.Join(t.TempDir(), name+".xz")
		require.NoError(t, os.WriteFile(p, enc, 0o644))
		got, err := exec.Command(xzCmd, "-d", "-c", "--single-stream", p).Output()
		require.NoError(t, err, name)
		assert.True(t, bytes.Equal(in, got), name)
	}

	for _, bad := range [][]string{{"-Xnice"}, {"-Xnice", "7"}, {"-Xnice", "274"}, {"-Xnice", "x"}} {
		_, err := parseXZ(bad, xzTestMiB)
		assert.ErrorIs(t, err, ErrBadOption, "%q", bad)
	}
}

// TestXZDefaultIsNormal: the default xz settings use the near-optimal
// parser at xzDefaultNice with the x86 guess (see xzDefaultNice for the
// measurements), and -Xmode fast still selects the greedy encoder.
func TestXZDefaultIsNormal(t *testing.T) {
	def := xzTestNew(t, xzTestMiB)
	assert.True(t, def.normal)
	assert.Equal(t, xzDefaultNice, def.nice)
	assert.True(t, def.auto)
	deep, err := xzTestNew(t, xzTestMiB, "-Xdepth", "200").Compress(nil, xzTestData(256<<10, 7))
	require.NoError(t, err)
	out, err := def.Decompress(nil, deep, 256<<10)
	require.NoError(t, err)
	assert.Equal(t, xzTestData(256<<10, 7), out, "a deep search decodes like any other")
	fast := xzTestNew(t, xzTestMiB, "-Xnice", "64", "-Xmode", "fast")
	assert.False(t, fast.normal, "the last mode given wins")

	in := xzTestData(256<<10, 7)
	d, err := def.Compress(nil, in)
	require.NoError(t, err)
	same, err := xzTestNew(t, xzTestMiB, "-Xnice", "24", "-Xdepth", "6").Compress(nil, in)
	require.NoError(t, err)
	assert.Equal(t, same, d, "the default is -Xmode normal -Xnice 24 -Xdepth 6")
	assert.Equal(t, xzDefaultDepth, def.depth)

	// -Xnice alone goes back to pkg/lzma's depth rule for that length;
	// -Xdepth given before or after -Xnice stays.
	assert.Equal(t, 0, xzTestNew(t, xzTestMiB, "-Xnice", "64").depth)
	assert.Equal(t, 5, xzTestNew(t, xzTestMiB, "-Xdepth", "5", "-Xnice", "64").depth)
	assert.Equal(t, 5, xzTestNew(t, xzTestMiB, "-Xnice", "64", "-Xdepth", "5").depth)
	for _, bad := range [][]string{{"-Xdepth"}, {"-Xdepth", "0"}, {"-Xdepth", "1001"}, {"-Xdepth", "deep"}} {
		_, err := parseXZ(bad, xzTestMiB)
		assert.ErrorIs(t, err, ErrBadOption, "%q", bad)
	}
}

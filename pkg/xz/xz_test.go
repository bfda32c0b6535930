package xz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// codeLike returns n bytes of random data in which instruction patterns
// each BCJ filter converts are planted densely, so every filter has work.
func codeLike(n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	b := make([]byte, n)
	rng.Read(b)
	for i := 0; i+16 <= n; i += 4 + rng.Intn(12) {
		switch rng.Intn(8) {
		case 0: // x86 call rel32 within +-16 MiB
			b[i] = 0xE8 + byte(rng.Intn(2))
			if rng.Intn(2) == 0 {
				b[i+4] = 0x00
			} else {
				b[i+4] = 0xFF
			}
		case 1: // ARM bl (little endian, aligned)
			b[i&^3+3] = 0xEB
		case 2: // ARM Thumb bl pair
			j := i &^ 1
			b[j+1] = 0xF0 | b[j+1]&7
			b[j+3] = 0xF8 | b[j+3]&7
		case 3: // PowerPC bl (big endian)
			j := i &^ 3
			b[j] = 0x48 | b[j]&3
			b[j+3] = b[j+3]&^3 | 1
		case 4: // SPARC call
			j := i &^ 3
			if rng.Intn(2) == 0 {
				b[j], b[j+1] = 0x40, b[j+1]&0x3F
			} else {
				b[j], b[j+1] = 0x7F, b[j+1]|0xC0
			}
		case 5: // ARM64 bl
			j := i &^ 3
			b[j+3] = 0x94 | b[j+3]&3
		case 6: // ARM64 adrp within +-512 MiB
			j := i &^ 3
			ins := uint32(0x90000000) | uint32(rng.Intn(1<<5)) | uint32(rng.Intn(1<<17))<<5
			if rng.Intn(2) == 0 {
				ins |= 0x7 << 21 // negative: bits 21..23 set
			}
			binary.LittleEndian.PutUint32(b[j:], ins)
		case 7: // IA-64 bundle with branch slots (template 0x16)
			j := i &^ 15
			if j+16 <= n {
				b[j] = b[j]&^0x1F | 0x16
				// slot 2 (bits 87..127): opcode 5 at bits 37..40, zero at 9..11
				bits := uint64(5)<<37 | uint64(rng.Intn(1<<20))<<13
				v := binary.LittleEndian.Uint64(b[j+8:])
				v &^= uint64(0xF)<<(37+23) | uint64(7)<<(9+23)
				v |= bits << 23
				binary.LittleEndian.PutUint64(b[j+8:], v)
			}
		}
	}
	return b
}

func TestVLI(t *testing.T) {
	for _, v := range []uint64{0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 1 << 20, maxVLI} {
		enc := appendVLI(nil, v)
		got, n, err := readVLI(enc)
		require.NoError(t, err)
		assert.Equal(t, v, got)
		assert.Equal(t, len(enc), n)
	}
	assert.Equal(t, []byte{0x80, 0x01}, appendVLI(nil, 128), "1.2: low 7 bits first, continuation bit")
	_, _, err := readVLI([]byte{0x80, 0x00})
	assert.ErrorIs(t, err, ErrFormat, "non-minimal")
	_, _, err = readVLI([]byte{0x80})
	assert.ErrorIs(t, err, ErrFormat, "truncated")
	_, _, err = readVLI(bytes.Repeat([]byte{0xFF}, 10))
	assert.ErrorIs(t, err, ErrFormat, "more than 9 bytes")
}

func TestDictByte(t *testing.T) {
	// 5.3.1: size = (2 | (b & 1)) << (b / 2 + 11).
	for _, tc := range []struct {
		size int
		b    byte
	}{{4096, 0}, {6144, 1}, {8192, 2}, {12288, 3}, {1 << 20, 16}, {3 << 19, 17}, {1 << 30, 36}} {
		b, err := DictByte(tc.size)
		require.NoError(t, err)
		assert.Equal(t, tc.b, b, "size %d", tc.size)
		assert.Equal(t, int64(tc.size), DictSizeOf(b))
	}
	for _, bad := range []int{0, 4095, 5000, 10240, 1<<20 + 1} {
		_, err := DictByte(bad)
		assert.Error(t, err, "%d", bad)
	}
	assert.Equal(t, int64(1<<32-1), DictSizeOf(40))
	assert.Equal(t, int64(-1), DictSizeOf(41))
}

func TestBCJRoundTrip(t *testing.T) {
	in := codeLike(200000, 1)
	for _, f := range BCJFilters {
		t.Run(f.String(), func(t *testing.T) {
			for _, start := range []uint32{0, 0x1000, 0xFFFFFFF0} {
				buf := append([]byte(nil), in...)
				f.Encode(buf, start)
				assert.NotEqual(t, in, buf, "planted instructions are converted")
				f.Decode(buf, start)
				assert.Equal(t, in, buf, "decode undoes encode (start %#x)", start)
			}
			// Short inputs must not panic and round-trip.
			for n := 0; n < 20; n++ {
				buf := append([]byte(nil), in[:n]...)
				f.Encode(buf, 0)
				f.Decode(buf, 0)
				assert.True(t, bytes.Equal(in[:n], buf), "n=%d", n)
			}
		})
	}
}

// TestBCJKnownValues checks single instructions converted by hand from the
// filters' definitions.
func TestBCJKnownValues(t *testing.T) {
	// x86: call rel32 = 0x00000100 at offset 0x10; the instruction ends at
	// 0x15, so the absolute target is 0x115.
	buf := make([]byte, 0x20)
	copy(buf[0x10:], []byte{0xE8, 0x00, 0x01, 0x00, 0x00})
	X86.Encode(buf, 0)
	assert.Equal(t, []byte{0xE8, 0x15, 0x01, 0x00, 0x00}, buf[0x10:0x15])
	// Negative displacement -0x20 at offset 0x100 -> 0x105 - 0x20 = 0xE5.
	buf = make([]byte, 0x110)
	copy(buf[0x100:], []byte{0xE8, 0xE0, 0xFF, 0xFF, 0xFF})
	X86.Encode(buf, 0)
	assert.Equal(t, []byte{0xE8, 0xE5, 0x00, 0x00, 0x00}, buf[0x100:0x105])
	// A displacement whose top byte is not 0x00/0xFF is left alone.
	buf = make([]byte, 0x20)
	copy(buf[0x10:], []byte{0xE8, 0x00, 0x00, 0x00, 0x12})
	X86.Encode(buf, 0)
	assert.Equal(t, []byte{0xE8, 0x00, 0x00, 0x00, 0x12}, buf[0x10:0x15])

	// ARM: bl with word offset 1 at 0x8: target = 4 + 8 + 8 = 0x14,
	// stored as 0x14 >> 2 = 5.
	buf = make([]byte, 16)
	copy(buf[8:], []byte{0x01, 0x00, 0x00, 0xEB})
	ARM.Encode(buf, 0)
	assert.Equal(t, []byte{0x05, 0x00, 0x00, 0xEB}, buf[8:12])

	// ARM64: bl #+8 (imm26 = 2) at 0x40: absolute word = 2 + 0x40/4 = 0x12.
	buf = make([]byte, 0x48)
	binary.LittleEndian.PutUint32(buf[0x40:], 0x94000002)
	ARM64.Encode(buf, 0)
	assert.Equal(t, uint32(0x94000012), binary.LittleEndian.Uint32(buf[0x40:]))

	// PowerPC: bl +0x10 at 0x20 -> 0x30.
	buf = make([]byte, 0x28)
	binary.BigEndian.PutUint32(buf[0x20:], 0x48000011)
	PowerPC.Encode(buf, 0)
	assert.Equal(t, uint32(0x48000031), binary.BigEndian.Uint32(buf[0x20:]))

	// SPARC: call +4 words at 0x10: (4<<2 + 0x10) >> 2 = 8.
	buf = make([]byte, 0x18)
	binary.BigEndian.PutUint32(buf[0x10:], 0x40000004)
	SPARC.Encode(buf, 0)
	assert.Equal(t, uint32(0x40000008), binary.BigEndian.Uint32(buf[0x10:]))
}

func xzCLI(t *testing.T) string {
	t.Helper()
	return testutil.RequireTool(t, "xz")
}

// xzFilterFlag is the xz command's option for a filter.
func xzFilterFlag(f Filter) string { return "--" + f.String() }

func runXZ(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(xzCLI(t), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "xz %v: %s", args, stderr.String())
	return out
}

// TestBCJMatchesLiblzmaEncoder compares our encoders with liblzma's
// byte for byte: encode raw [BCJ, LZMA2] with the xz command, then decode
// with LZMA2 only, which yields liblzma's BCJ-filtered data.
func TestBCJMatchesLiblzmaEncoder(t *testing.T) {
	xzCLI(t)
	in := codeLike(300000, 2)
	if exe, err := os.ReadFile("/usr/bin/xz"); err == nil {
		in = append(in, exe...)
	}
	for _, f := range BCJFilters {
		t.Run(f.String(), func(t *testing.T) {
			raw := runXZ(t, in, "--format=raw", xzFilterFlag(f), "--lzma2=preset=0", "-c")
			want := runXZ(t, raw, "--format=raw", "--lzma2=preset=0", "-d", "-c")
			got := append([]byte(nil), in...)
			f.Encode(got, 0)
			require.Equal(t, len(want), len(got))
			if !bytes.Equal(want, got) {
				i := 0
				for want[i] == got[i] {
					i++
				}
				t.Fatalf("first difference at %#x: liblzma % x, ours % x", i, want[i:min(i+8, len(want))], got[i:min(i+8, len(got))])
			}
		})
	}
}

func TestEncodeDecodedByXZ(t *testing.T) {
	xzCLI(t)
	dir := t.TempDir()
	in := codeLike(400000, 3)
	for _, f := range append([]Filter{None}, BCJFilters...) {
		t.Run(f.String(), func(t *testing.T) {
			enc, err := Encode(nil, in, EncodeOptions{BCJ: f, DictSize: 512 << 10})
			require.NoError(t, err)
			p := filepath.Join(dir, f.String()+".xz")
			require.NoError(t, os.WriteFile(p, enc, 0o644))
			out, err := exec.Command(xzCLI(t), "-d", "-c", "--single-stream", p).Output()
			require.NoError(t, err)
			assert.True(t, bytes.Equal(in, out), "xz -d reproduces the input")
			// xz --list parses header, index and footer strictly.
			list, err := exec.Command(xzCLI(t), "--robot", "--list", "-vv", p).CombinedOutput()
			require.NoError(t, err, "%s", list)
			assert.Contains(t, string(list), "CRC32")
			if f != None {
				assert.Contains(t, string(list), f.String())
			}
			// And our own decoder.
			dec, err := Decode(nil, enc, len(in))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(in, dec))
		})
	}
}

func TestDecodeXZOutput(t *testing.T) {
	xzCLI(t)
	in := codeLike(300000, 4)
	cases := [][]string{
		{"-6", "-C", "crc32"},
		{"-0", "-C", "crc64"},
		{"-1", "-C", "sha256"},
		{"-1", "-C", "none"},
		{"-9e", "-C", "crc32"},
		{"-1", "--block-size=70000"}, // several blocks
	}
	for _, f := range BCJFilters {
		cases = append(cases, []string{"-C", "crc32", xzFilterFlag(f), "--lzma2=preset=6,dict=1MiB"})
	}
	cases = append(cases, []string{"--x86=start=4096", "--lzma2=preset=1"})
	for _, args := range cases {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			comp := runXZ(t, in, append(args, "-c")...)
			out, err := Decode(nil, comp, len(in))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(in, out))
		})
	}
	t.Run("empty", func(t *testing.T) {
		comp := runXZ(t, nil, "-C", "crc32", "-c")
		out, err := Decode(nil, comp, 100)
		require.NoError(t, err)
		assert.Empty(t, out)
	})
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 4, 5, 1000, 8192, 1 << 20} {
		in := codeLike(n, int64(n))
		for _, f := range []Filter{None, X86, ARM64} {
			enc, err := Encode(nil, in, EncodeOptions{BCJ: f, DictSize: 1 << 20})
			require.NoError(t, err)
			assert.Zero(t, len(enc)%4, "xz streams are a multiple of 4 bytes")
			out, err := Decode(nil, enc, n)
			require.NoError(t, err, "n=%d %s", n, f)
			assert.True(t, bytes.Equal(in, out), "n=%d %s", n, f)
			if n > 0 {
				_, err = Decode(nil, enc, n-1)
				assert.ErrorIs(t, err, ErrTooLarge)
			}
		}
	}
}

func TestEncodeOptionsErrors(t *testing.T) {
	_, err := Encode(nil, []byte("x"), EncodeOptions{DictSize: 10000})
	assert.Error(t, err)
	_, err = Encode(nil, []byte("x"), EncodeOptions{BCJ: LZMA2, DictSize: 1 << 20})
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestDecodeRejectsDamage(t *testing.T) {
	in := codeLike(50000, 5)
	enc, err := Encode(nil, in, EncodeOptions{BCJ: X86, DictSize: 64 << 10})
	require.NoError(t, err)
	_, err = Decode(nil, append(append([]byte{}, enc...), 0, 0, 0, 0), len(in))
	assert.ErrorIs(t, err, ErrFormat, "stream padding / trailing data")
	for _, cut := range []int{1, 4, 12, 13, len(enc) / 2, len(enc) - 12} {
		_, err = Decode(nil, enc[:len(enc)-cut], len(in))
		assert.Error(t, err, "truncated by %d", cut)
	}
	// Flip one bit anywhere: every byte is covered by a CRC or the
	// check, so decoding must fail (never succeed with wrong data).
	for i := 0; i < len(enc); i += 97 {
		bad := append([]byte{}, enc...)
		bad[i] ^= 0x10
		out, err := Decode(nil, bad, len(in))
		if err == nil {
			assert.True(t, bytes.Equal(in, out), "flip at %d decoded to wrong data", i)
		}
	}
	_, err = Decode(nil, []byte("short"), 10)
	assert.ErrorIs(t, err, ErrFormat)
}

func TestEncodeAppendsInPlace(t *testing.T) {
	in := codeLike(100000, 6)
	buf := make([]byte, 0, 200000)
	out, err := Encode(buf, in, EncodeOptions{BCJ: X86, DictSize: 128 << 10})
	require.NoError(t, err)
	assert.Equal(t, &buf[:1][0], &out[:1][0], "no reallocation when dst has room")
	again, err := Encode(nil, in, EncodeOptions{BCJ: X86, DictSize: 128 << 10})
	require.NoError(t, err)
	assert.Equal(t, again, out, "deterministic")
}

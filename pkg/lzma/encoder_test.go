package lzma

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/ulikunitz/xz/lzma"

	"github.com/mkportable/mkportable/internal/testutil"
)

// decodeGo decodes a raw LZMA2 stream with github.com/ulikunitz/xz, an
// implementation independent of this package.
func decodeGo(t testing.TB, stream []byte, dictSize int) []byte {
	t.Helper()
	r, err := lzma.Reader2Config{DictCap: dictSize}.NewReader2(bytes.NewReader(stream))
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	return got
}

// decodeXZ decodes with liblzma through the xz command.
func decodeXZ(t testing.TB, stream []byte, dictSize int) []byte {
	t.Helper()
	xz := testutil.RequireTool(t, "xz")
	cmd := exec.Command(xz, "-d", "-c", "--format=raw", fmt.Sprintf("--lzma2=dict=%d", dictSize))
	cmd.Stdin = bytes.NewReader(stream)
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "xz -d: %s", stderr.String())
	return out.Bytes()
}

func randomBytes(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// textBytes is word soup: compressible, with matches of many lengths and
// distances, like source code or documentation.
func textBytes(seed int64, n int) []byte {
	words := strings.Fields("the quick brown fox jumps over lazy dog squashfs portable service " +
		"systemd unit nix store closure inode directory fragment block compress " +
		"func return error if else for range := nil package import")
	rng := rand.New(rand.NewSource(seed))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[rng.Intn(len(words))])
		switch rng.Intn(10) {
		case 0:
			b.WriteString("\n")
		case 1:
			fmt.Fprintf(&b, " %d ", rng.Intn(1000))
		default:
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// elfBytes returns up to n bytes of real executables from the system.
func elfBytes(t testing.TB, n int) []byte {
	t.Helper()
	var out []byte
	for _, p := range []string{"/usr/bin/xz", "/usr/bin/ls", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/usr/bin/bash"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		out = append(out, b...)
		if len(out) >= n {
			return out[:n]
		}
	}
	if len(out) == 0 {
		t.Skip("no system binaries to read")
	}
	return out
}

type roundTripCase struct {
	name string
	data []byte
	opts Options
}

func roundTripCases(t testing.TB) []roundTripCase {
	mixed := append(append(randomBytes(3, 100<<10), make([]byte, 200<<10)...), randomBytes(4, 150<<10)...)
	mixed = append(mixed, textBytes(5, 300<<10)...)
	return []roundTripCase{
		{"empty", nil, Options{}},
		{"one byte", []byte{'x'}, Options{}},
		{"three bytes", []byte("abc"), Options{}},
		{"zeros 3MiB", make([]byte, 3<<20), Options{DictSize: 1 << 20}},
		{"random 100KiB", randomBytes(1, 100<<10), Options{}},
		{"random exactly 64KiB", randomBytes(2, 64<<10), Options{}},
		{"random+zeros+text", mixed, Options{DictSize: 1 << 20}},
		{"text 1MiB", textBytes(1, 1<<20), Options{DictSize: 1 << 20}},
		{"text 2MiB", textBytes(2, 2<<20), Options{DictSize: 1 << 20}},
		{"text 2MiB+1 small dict", textBytes(3, 2<<20+1), Options{DictSize: 64 << 10}},
		{"elf 1MiB", elfBytes(t, 1<<20), Options{DictSize: 1 << 20}},
		{"elf lc0 lp2 pb0", elfBytes(t, 300<<10), Options{DictSize: 1 << 20, LC: 0, LP: 2, PB: 0, NiceLen: 273}},
		{"text lc4 pb4 nice8", textBytes(6, 200<<10), Options{LC: 4, PB: 4, NiceLen: 8, Depth: 4}},
	}
}

func dictFor(c roundTripCase) int {
	if c.opts.DictSize != 0 {
		return c.opts.DictSize
	}
	return 8 << 20
}

func TestRoundTripGoDecoder(t *testing.T) {
	for _, c := range roundTripCases(t) {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEncoder(c.opts)
			require.NoError(t, err)
			stream, err := e.EncodeLZMA2(nil, c.data)
			require.NoError(t, err)
			got := decodeGo(t, stream, dictFor(c))
			require.True(t, bytes.Equal(c.data, got), "round trip differs: %d bytes in, %d out", len(c.data), len(got))
		})
	}
}

func TestRoundTripLiblzma(t *testing.T) {
	for _, c := range roundTripCases(t) {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEncoder(c.opts)
			require.NoError(t, err)
			stream, err := e.EncodeLZMA2(nil, c.data)
			require.NoError(t, err)
			got := decodeXZ(t, stream, dictFor(c))
			require.True(t, bytes.Equal(c.data, got), "round trip differs: %d bytes in, %d out", len(c.data), len(got))
		})
	}
}

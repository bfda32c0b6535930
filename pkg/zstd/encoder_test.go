package zstd

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// encoderTestInputs adds to the parser's inputs some that cross several
// blocks with incompressible blocks between compressible ones (a raw block
// must not advance the repeat offsets the next block relies on) and real
// executable code.
func encoderTestInputs(t testing.TB) map[string][]byte {
	in := testInputs()
	rng := rand.New(rand.NewSource(2))
	noise := make([]byte, maxBlockSize+1000)
	rng.Read(noise)
	recs := in["records"]
	var mixed []byte
	mixed = append(mixed, recs[:maxBlockSize]...)
	mixed = append(mixed, noise...)
	mixed = append(mixed, recs...)
	mixed = append(mixed, noise[:5000]...)
	in["mixed"] = mixed
	if exe, err := os.Executable(); err == nil {
		if b, err := os.ReadFile(exe); err == nil {
			in["executable"] = b[:min(len(b), 600<<10)]
		}
	}
	return in
}

func newKlauspostDecoder(t testing.TB) *kzstd.Decoder {
	d, err := kzstd.NewReader(nil, kzstd.WithDecoderConcurrency(1))
	require.NoError(t, err)
	t.Cleanup(d.Close)
	return d
}

// TestEncoderRoundTrip decodes every frame with klauspost's decoder, which
// shares no code with this encoder.
func TestEncoderRoundTrip(t *testing.T) {
	dec := newKlauspostDecoder(t)
	for _, o := range parserTestOptions {
		e, err := NewEncoder(o)
		require.NoError(t, err)
		for name, src := range encoderTestInputs(t) {
			frame := e.EncodeAll(nil, src)
			got, err := dec.DecodeAll(frame, nil)
			require.NoError(t, err, "%s %+v", name, o)
			require.True(t, bytes.Equal(src, got), "%s %+v: decoded differently", name, o)
			if name == "words" || name == "records" {
				require.Less(t, len(frame), len(src)/3, name)
			}
		}
	}
}

// TestEncoderZstdCLI decodes the frames with the zstd command (libzstd),
// the reference decoder.
func TestEncoderZstdCLI(t *testing.T) {
	zstdCLI := testutil.RequireTool(t, "zstd")
	e, err := NewEncoder(DefaultOptions)
	require.NoError(t, err)
	dir := t.TempDir()
	for name, src := range encoderTestInputs(t) {
		f := filepath.Join(dir, name+".zst")
		require.NoError(t, os.WriteFile(f, e.EncodeAll(nil, src), 0o644))
		out, err := exec.Command(zstdCLI, "-q", "-d", "-c", f).Output()
		require.NoError(t, err, "zstd -d %s", name)
		require.True(t, bytes.Equal(src, out), "%s: zstd -d decoded differently", name)
	}
}

// TestEncoderDeterministic: output depends only on the input and options,
// not on what the encoder encoded before; dst's contents are kept.
func TestEncoderDeterministic(t *testing.T) {
	in := encoderTestInputs(t)
	fresh, err := NewEncoder(DefaultOptions)
	require.NoError(t, err)
	want := fresh.EncodeAll(nil, in["mixed"])
	used, err := NewEncoder(DefaultOptions)
	require.NoError(t, err)
	used.EncodeAll(nil, in["executable"])
	used.EncodeAll(nil, in["zeros"])
	got := used.EncodeAll([]byte("prefix"), in["mixed"])
	require.Equal(t, "prefix", string(got[:6]))
	require.Equal(t, want, got[6:])
}

func TestNewEncoderRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{
		{NiceLen: 4, Depth: 8, Passes: 1},
		{NiceLen: 32, Depth: 0, Passes: 1},
		{NiceLen: 32, Depth: 8, Passes: 0},
		{NiceLen: 32, Depth: 8, Passes: 9},
	} {
		_, err := NewEncoder(o)
		require.ErrorIs(t, err, errOptions, "%+v", o)
	}
}

func FuzzEncoder(f *testing.F) {
	f.Add([]byte("abcabcabcabd"), uint8(0))
	f.Add(bytes.Repeat([]byte("xyz"), 1000), uint8(1))
	f.Add([]byte{}, uint8(2))
	dec, err := kzstd.NewReader(nil, kzstd.WithDecoderConcurrency(1))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, src []byte, which uint8) {
		e, err := NewEncoder(parserTestOptions[int(which)%len(parserTestOptions)])
		require.NoError(t, err)
		got, err := dec.DecodeAll(e.EncodeAll(nil, src), nil)
		require.NoError(t, err)
		require.True(t, bytes.Equal(src, got))
	})
}

// logLines makes n bytes of syslog-like lines: minutes, seconds, a
// service number and a byte count that step by one (seven) per line with
// coprime periods, so each line is best copied as a few matches against
// different earlier lines with no literals.
func logLines(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "2026-11-25T22:%02d:%02d host svc[%d]: request ok status=200 bytes=%d\n",
			i%60, i%61, i%997, (i*7)%10000)
	}
	return b.Bytes()[:n]
}

// TestEncoderNotLargerOnLogLines holds the optimal Encoder to the
// FastEncoder's size (level 14's options) on log-like text, where the
// optimal parse, priced from its own earlier choices, used to lock into
// literal runs and come out 10-25% larger than the lazy parse.
func TestEncoderNotLargerOnLogLines(t *testing.T) {
	data := logLines(1 << 20)
	fe, err := NewFastEncoder(FastOptions{MinMatch: 4, Depth: 64, Lazy: 2, NiceLen: 256, HashLog: 20})
	require.NoError(t, err)
	fast := fe.EncodeAll(nil, data)
	d := newKlauspostDecoder(t)
	// The options of compression levels 16 and 19 (pkg/squashfs/compress).
	for _, o := range []Options{
		{NiceLen: 64, Depth: 4, Passes: 1},
		{NiceLen: 512, Depth: 64, Passes: 2, SeedPass: true},
	} {
		e, err := NewEncoder(o)
		require.NoError(t, err)
		got := e.EncodeAll(nil, data)
		out, err := d.DecodeAll(got, nil)
		require.NoError(t, err, "%+v", o)
		require.True(t, bytes.Equal(data, out), "%+v: round trip differs", o)
		require.LessOrEqual(t, len(got), len(fast), "%+v: optimal %d bytes, fast %d", o, len(got), len(fast))
	}
}

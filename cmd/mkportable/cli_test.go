package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseInterspersed(t *testing.T) {
	for _, tc := range []struct {
		args []string
		pos  []string
		b    string
		q    bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, "", false},
		{[]string{"-b", "1M", "a", "b"}, []string{"a", "b"}, "1M", false},
		{[]string{"a", "-b", "1M", "b", "--q"}, []string{"a", "b"}, "1M", true},
		{[]string{"a", "b", "-b=4K"}, []string{"a", "b"}, "4K", false},
		{[]string{"-q", "--", "-b", "x"}, []string{"-b", "x"}, "", true},
		{[]string{"a", "--", "--q"}, []string{"a", "--q"}, "", false},
		{nil, nil, "", false},
	} {
		fl := flag.NewFlagSet("t", flag.ContinueOnError)
		fl.SetOutput(io.Discard)
		b := fl.String("b", "", "")
		q := fl.Bool("q", false, "")
		pos, err := parseInterspersed(fl, tc.args)
		require.NoError(t, err, "%q", tc.args)
		assert.Equal(t, tc.pos, pos, "%q", tc.args)
		assert.Equal(t, tc.b, *b, "%q", tc.args)
		assert.Equal(t, tc.q, *q, "%q", tc.args)
	}
	fl := flag.NewFlagSet("t", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	_, err := parseInterspersed(fl, []string{"a", "--unknown"})
	assert.Error(t, err, "an unknown flag after a positional is still an error")
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]os.FileMode{
		"755":   0o755,
		"0755":  0o755,
		"0":     0,
		"4755":  0o755 | os.ModeSetuid,
		"2711":  0o711 | os.ModeSetgid,
		"1777":  0o777 | os.ModeSticky,
		"7000":  os.ModeSetuid | os.ModeSetgid | os.ModeSticky,
		"0o700": 0o700,
	} {
		got, err := parseMode(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "8", "rwx", "10000", "-1", "0x1ff"} {
		_, err := parseMode(bad)
		assert.Error(t, err, bad)
	}
}

func TestHumanBytes(t *testing.T) {
	assert.Equal(t, "0 B", humanBytes(0))
	assert.Equal(t, "1023 B", humanBytes(1023))
	assert.Equal(t, "1.0 KiB", humanBytes(1024))
	assert.Equal(t, "1.5 MiB", humanBytes(3<<19))
	assert.Equal(t, "4.0 GiB", humanBytes(4<<30))
}

func TestSummaryLine(t *testing.T) {
	s := summaryLine("out.raw", progressStats{Entries: 12, BytesIn: 4000, BytesOut: 1000}, 1500*time.Millisecond)
	assert.Equal(t, "out.raw: 12 entries, 4000 bytes in, 1000 bytes out (25.0%), 1.50 s", s)
	// An empty tree: no division by zero.
	assert.Contains(t, summaryLine("e", progressStats{Entries: 1, BytesOut: 4096}, 0), "(0.0%)")
}

// syncBuffer is a bytes.Buffer safe for the progress goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestProgress(t *testing.T) {
	var buf syncBuffer
	var mu sync.Mutex
	entries := int64(0)
	p := startProgress(&buf, true, time.Millisecond, func() progressStats {
		mu.Lock()
		defer mu.Unlock()
		entries++
		return progressStats{Entries: entries, BytesIn: 2048, BytesOut: 512}
	})
	require.Eventually(t, func() bool { return strings.Count(buf.String(), "2.0 KiB read") >= 2 }, 5*time.Second, time.Millisecond)
	p.stop()
	out := buf.String()
	assert.Contains(t, out, "1 entries, 2.0 KiB read, 512 B written")
	assert.True(t, strings.HasSuffix(out, "\r\033[K"), "the line is cleared at the end: %q", out)
	after := len(out)
	time.Sleep(10 * time.Millisecond)
	assert.Len(t, buf.String(), after, "nothing drawn after stop")

	// Not a terminal: nothing at all, and stop is safe.
	none := startProgress(&buf, false, time.Millisecond, nil)
	none.stop()
	assert.False(t, isTerminal(&bytes.Buffer{}))
	f, err := os.CreateTemp(t.TempDir(), "x")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f), "a regular file is not a terminal")
}

package squashfs

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// wtSeekBuffer is an in-memory io.WriteSeeker; with trunc it also has the
// Truncate method the Writer uses to cut rolled back bytes off the end.
type wtSeekBuffer struct {
	b   []byte
	off int64
}

func (s *wtSeekBuffer) Write(p []byte) (int, error) {
	end := s.off + int64(len(p))
	if end > int64(len(s.b)) {
		s.b = append(s.b, make([]byte, end-int64(len(s.b)))...)
	}
	copy(s.b[s.off:], p)
	s.off = end
	return len(p), nil
}

func (s *wtSeekBuffer) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += s.off
	case io.SeekEnd:
		off += int64(len(s.b))
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	s.off = off
	return off, nil
}

type wtTruncBuffer struct{ wtSeekBuffer }

func (s *wtTruncBuffer) Truncate(n int64) error {
	if n < int64(len(s.b)) {
		s.b = s.b[:n]
	}
	return nil
}

// wtEntry is a header plus the file data to write for it.
type wtEntry struct {
	Header
	Data []byte
}

func wtFile(name string, mode int, data []byte) wtEntry {
	return wtEntry{Header: Header{Name: name, Mode: os.FileMode(mode), Size: int64(len(data))}, Data: data}
}

// wtBuild writes entries into a fresh in-memory image.
func wtBuild(t testing.TB, opts Options, entries []wtEntry) []byte {
	t.Helper()
	buf := &wtTruncBuffer{}
	w, err := NewWriter(buf, opts)
	require.NoError(t, err)
	for _, e := range entries {
		h := e.Header
		require.NoError(t, w.WriteHeader(&h), e.Name)
		if len(e.Data) > 0 {
			n, err := w.Write(e.Data)
			require.NoError(t, err, e.Name)
			require.Equal(t, len(e.Data), n)
		}
	}
	require.NoError(t, w.Close())
	return buf.b
}

// wtRandom returns n pseudo-random (incompressible) bytes.
func wtRandom(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// wtText returns n compressible bytes.
func wtText(seed, n int) []byte {
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		sb.WriteString("line ")
		sb.WriteString(strings.Repeat(string(rune('a'+(i+seed)%26)), 1+(i*seed)%13))
		sb.WriteString("\n")
	}
	return []byte(sb.String()[:n])
}

func wtSave(t testing.TB, img []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img.sqfs")
	require.NoError(t, os.WriteFile(p, img, 0o644))
	return p
}

// wtMount loop-mounts an image read-only and returns the mount point; the
// mount is removed when the test ends.
func wtMount(t testing.TB, img []byte) string {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "mount", "umount")
	p := wtSave(t, img)
	mnt := filepath.Join(t.TempDir(), "mnt")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	out, err := exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", p, mnt).CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("failed to setup loop device")) {
		testutil.Unavailable(t, "no loop devices: "+string(out))
	}
	require.NoError(t, err, "mount: %s", out)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// wtUnsquashfs runs unsquashfs with args on the image and returns stdout.
func wtUnsquashfs(t testing.TB, img string, args ...string) string {
	t.Helper()
	testutil.RequireTool(t, "unsquashfs")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("unsquashfs", append(args, img)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "unsquashfs %v: %s %s", args, stdout.String(), stderr.String())
	return stdout.String()
}

package squashfs

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// awkwardNames are file names Linux (and a NAR) allows but that are easy to
// mishandle: control characters, a backslash, and bytes that are not UTF-8
// (fs.ValidPath refuses those, yet a Nix store path may hold them).
var awkwardNames = []string{
	"new\nline",
	"tab\there",
	"back\\slash",
	"bad-\xff\xfe-utf8",
	"\x01ctl",
	"latin1-caf\xe9",
	"quote\"'$`",
}

// TestDirFSAwkwardNames packs a tree of awkward names through DirFS and
// reads it back with the kernel and with this package's Reader: every name
// must arrive byte for byte, non-UTF-8 ones included.
func TestDirFSAwkwardNames(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	require.NoError(t, os.Mkdir(src, 0o755))
	want := map[string]string{} // slash path -> content ("" for a directory)
	for _, n := range awkwardNames {
		require.NoError(t, os.WriteFile(filepath.Join(src, n), []byte("file "+n), 0o644))
		want[n] = "file " + n
	}
	dir := "dir-\xff\n"
	require.NoError(t, os.Mkdir(filepath.Join(src, dir), 0o755))
	want[dir] = ""
	inner := dir + "/inner-\xfe"
	require.NoError(t, os.WriteFile(filepath.Join(src, dir, "inner-\xfe"), []byte("inner"), 0o644))
	want[inner] = "inner"
	require.NoError(t, os.Symlink("target-\xff", filepath.Join(src, dir, "link-\xfd")))

	img := dfPack(t, src)
	r, files, got := dfReadBack(t, img)
	for p, content := range files {
		assert.Equal(t, want[p], content, "content of %q", p)
	}
	target, err := r.ReadLink(dir + "/link-\xfd")
	require.NoError(t, err)
	assert.Equal(t, "target-\xff", target)
	wantPaths := []string{".", dir + "/link-\xfd"}
	for p := range want {
		wantPaths = append(wantPaths, p)
	}
	sort.Strings(wantPaths)
	sort.Strings(got)
	assert.Equal(t, wantPaths, got, "pkg/squashfs Reader")

	mnt := wtMount(t, img)
	for p, content := range want {
		data, err := os.ReadFile(filepath.Join(mnt, p))
		if content == "" {
			assert.ErrorContains(t, err, "is a directory", "%q", p)
			continue
		}
		require.NoError(t, err, "kernel: %q", p)
		assert.Equal(t, content, string(data), "kernel: %q", p)
	}
	target, err = os.Readlink(filepath.Join(mnt, dir, "link-\xfd"))
	require.NoError(t, err)
	assert.Equal(t, "target-\xff", target)
}

// dfPack packs src through DirFS with 4 KiB blocks and returns the image.
func dfPack(t *testing.T, src string) []byte {
	t.Helper()
	buf := &wtTruncBuffer{}
	w, err := NewWriter(buf, Options{BlockSize: 4096})
	require.NoError(t, err)
	require.NoError(t, w.AddFS(DirFS(src), AddOptions{}))
	require.NoError(t, w.Close())
	return buf.b
}

// dfReadBack opens img with the Reader and walks it: the contents of every
// regular file, and every path.
func dfReadBack(t *testing.T, img []byte) (*Reader, map[string]string, []string) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(img), int64(len(img)))
	require.NoError(t, err)
	files := map[string]string{}
	var paths []string
	require.NoError(t, fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		if d.Type().IsRegular() {
			f, err := r.Open(p)
			require.NoError(t, err)
			data, err := io.ReadAll(f)
			require.NoError(t, err)
			require.NoError(t, f.Close())
			files[p] = string(data)
		}
		return nil
	}))
	return r, files, paths
}

func TestValidPath(t *testing.T) {
	for _, ok := range []string{".", "a", "a/b", "caf\xe9", "new\nline/x", "...", "a/.b", "\\"} {
		assert.True(t, validPath(ok), "%q", ok)
	}
	for _, bad := range []string{"", "/", "/a", "a/", "a//b", "./a", "a/.", "..", "a/../b", "a\x00b"} {
		assert.False(t, validPath(bad), "%q", bad)
	}
}

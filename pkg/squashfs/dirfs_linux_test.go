package squashfs

import (
	"bytes"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDirFSLongPaths: entries whose path is longer than PATH_MAX (4096
// bytes, the most a path given to a system call may have) are packed like
// any other. The tree is 24 directories of 250-byte names deep (over 6,000
// bytes), with a file, a symlink, a subdirectory and an empty file at the
// bottom and a file halfway, where the directory's own path still fits but
// its entries' do not.
func TestDirFSLongPaths(t *testing.T) {
	src := t.TempDir()
	// The test builds the tree by walking down with chdir, since no path
	// to its bottom fits a system call; t.Chdir restores the directory.
	t.Chdir(src)
	want := map[string]string{} // regular files: slash path -> content
	rel := ""
	for i := range 24 {
		name := strings.Repeat(string(rune('a'+i)), 250)
		require.NoError(t, os.Mkdir(name, 0o750))
		require.NoError(t, os.Chdir(name))
		rel += name + "/"
		if i == 15 {
			// Path about 4,000 bytes: listing the directory works with
			// its path, stat-ing its entries does not.
			require.NoError(t, os.WriteFile("halfway", []byte("halfway"), 0o644))
			want[rel+"halfway"] = "halfway"
		}
	}
	require.Greater(t, len(src)+len(rel), 6000)
	bottom := bytes.Repeat([]byte("bottom "), 3000)
	require.NoError(t, os.WriteFile("bottom", bottom, 0o600))
	want[rel+"bottom"] = string(bottom)
	require.NoError(t, os.WriteFile("empty", nil, 0o644))
	want[rel+"empty"] = ""
	require.NoError(t, os.Symlink("../../x", "up"))
	require.NoError(t, os.Mkdir("sub", 0o700))

	r, got, paths := dfReadBack(t, dfPack(t, src))
	dirs := 0
	for _, p := range paths {
		if fi, err := r.Lstat(p); assert.NoError(t, err) && fi.IsDir() {
			dirs++
		}
	}
	assert.Equal(t, want, got, "every file, with its contents")
	assert.Equal(t, 1+24+1, dirs, "the root, the chain and sub")
	target, err := r.ReadLink(rel + "up")
	require.NoError(t, err)
	assert.Equal(t, "../../x", target)
	fi, err := r.Lstat(rel + "bottom")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), fi.Mode())
	fi, err = r.Lstat(rel + "sub")
	require.NoError(t, err)
	assert.Equal(t, fs.ModeDir|0o700, fi.Mode())
	fi, err = r.Lstat(strings.TrimSuffix(rel, "/"))
	require.NoError(t, err)
	assert.Equal(t, fs.ModeDir|0o750, fi.Mode())
}

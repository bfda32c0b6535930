package squashfs

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

// TestWriterSqfsdiffMksquashfs packs a tree with AddFS and with mksquashfs
// -all-root and lets sqfsdiff (squashfs-tools-ng) compare them: contents,
// modes, owners, link targets, device numbers, and also whether each inode
// is basic or extended, which depends on the directory index rule and the
// file inode rules (hard links, sparse files).
func TestWriterSqfsdiffMksquashfs(t *testing.T) {
	testutil.RequireTool(t, "mksquashfs", "sqfsdiff")
	src := wtSourceTree(t)
	// Listings of all sizes: below, around and far above 8 KiB.
	for _, n := range []int{30, 90, 300, 2000} {
		dir := filepath.Join(src, fmt.Sprintf("list%d", n))
		require.NoError(t, os.Mkdir(dir, 0o755))
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%05d-%s", i, strings.Repeat("n", (i*37)%120))
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(name[:i%7]), 0o644))
		}
	}
	f, err := os.Create(filepath.Join(src, "sparse"))
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("end"), 3<<20)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	tmp := t.TempDir()
	ours := filepath.Join(tmp, "ours.sqfs")
	out, err := os.Create(ours)
	require.NoError(t, err)
	w, err := NewWriter(out, Options{})
	require.NoError(t, err)
	require.NoError(t, w.AddFS(DirFS(src), AddOptions{}))
	require.NoError(t, w.Close())
	require.NoError(t, out.Close())

	theirs := filepath.Join(tmp, "theirs.sqfs")
	msg, err := exec.Command("mksquashfs", src, theirs, "-noappend", "-all-root", "-quiet", "-no-progress").CombinedOutput()
	require.NoError(t, err, "mksquashfs: %s", msg)
	msg, err = exec.Command("sqfsdiff", "-a", ours, "-b", theirs).CombinedOutput()
	require.NoError(t, err, "sqfsdiff: %s", msg)
}

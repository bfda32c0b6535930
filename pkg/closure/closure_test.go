package closure

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

const (
	pA = "/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a"
	pB = "/nix/store/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-b-1.0"
	pC = "/nix/store/2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c-c.service"
	pD = "/nix/store/3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d-d"
)

func TestParseStorePath(t *testing.T) {
	name, err := ParseStorePath(pB)
	require.NoError(t, err)
	assert.Equal(t, "b-1.0", name)

	for _, bad := range []string{
		"",
		"/nix/store",
		"/nix/store/",
		"/usr/bin/sh",
		pA + "/bin/sh", // below a store path, not a store path
		"/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-x", // 'e' is not nixbase32
		"/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-",
		"/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a b",
		"/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a-short",
		"/nix/storX/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a",
		"/gnu/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a",
	} {
		_, err := ParseStorePath(bad)
		assert.ErrorIs(t, err, ErrNotStorePath, "%q", bad)
	}
}

func TestSplitStorePath(t *testing.T) {
	sp, rest, ok := SplitStorePath(pA + "/bin/sh")
	require.True(t, ok)
	assert.Equal(t, pA, sp)
	assert.Equal(t, "/bin/sh", rest)

	sp, rest, ok = SplitStorePath(pA)
	require.True(t, ok)
	assert.Equal(t, pA, sp)
	assert.Equal(t, "", rest)

	for _, bad := range []string{"/usr/bin/sh", "/nix/store", "/nix/store/notahash-x/bin", "relative/nix/store"} {
		_, _, ok := SplitStorePath(bad)
		assert.False(t, ok, bad)
	}
}

func TestReadStorePaths(t *testing.T) {
	in := pC + "\n" + pA + "\n\n" + pB + "\n" + pA + "\n"
	s, err := ReadStorePaths(strings.NewReader(in), "store-paths")
	require.NoError(t, err)
	assert.Equal(t, []string{pA, pB, pC}, s.Paths(), "sorted and de-duplicated")
	assert.True(t, s.Contains(pB))
	assert.False(t, s.Contains(pD))
	_, hasEntry := s.Entry(pA)
	assert.False(t, hasEntry, "a store-paths file carries no graph data")

	_, err = ReadStorePaths(strings.NewReader(pA+"\n/etc/passwd\n"), "store-paths")
	require.ErrorIs(t, err, ErrNotStorePath)
	assert.Contains(t, err.Error(), "store-paths:2")
	assert.Contains(t, err.Error(), "/etc/passwd")
}

func TestReadStorePathsFileFromClosureInfoDir(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "store-paths"), []byte(pB+"\n"+pA+"\n"), 0o644))
	s, err := ReadStorePathsFile(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{pA, pB}, s.Paths())

	_, err = ReadStorePathsFile(filepath.Join(dir, "nope"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nope")
}

func TestGraphClosure(t *testing.T) {
	g, err := NewGraph([]Entry{
		{Path: pA, References: []string{pA, pB}}, // self-reference, as Nix records it
		{Path: pB, References: []string{pB}},
		{Path: pC, References: []string{pA}},
		{Path: pD, References: nil},
		{Path: pB, References: []string{pB}}, // listed twice, identical: fine
	})
	require.NoError(t, err)
	assert.Equal(t, 4, g.Len())

	s, err := g.Closure(pC)
	require.NoError(t, err)
	assert.Equal(t, []string{pA, pB, pC}, s.Paths())
	e, ok := s.Entry(pA)
	require.True(t, ok)
	assert.Equal(t, []string{pA, pB}, e.References)

	s, err = g.Closure(pD, pB)
	require.NoError(t, err)
	assert.Equal(t, []string{pB, pD}, s.Paths())

	assert.Equal(t, []string{pA, pB, pC, pD}, g.All().Paths())
}

func TestGraphErrors(t *testing.T) {
	g, err := NewGraph([]Entry{{Path: pA, References: []string{pB}}})
	require.NoError(t, err)
	_, err = g.Closure(pA, pC)
	require.ErrorIs(t, err, ErrNotInGraph)
	assert.Contains(t, err.Error(), pB+" (referenced by "+pA+")")
	assert.Contains(t, err.Error(), pC)

	_, err = NewGraph([]Entry{{Path: pA}, {Path: pA, NarHash: "sha256:x"}})
	assert.ErrorIs(t, err, ErrConflict)

	_, err = NewGraph([]Entry{{Path: "/tmp/x"}, {Path: pA, References: []string{"/nix/store/bad"}}})
	require.ErrorIs(t, err, ErrNotStorePath)
	assert.Contains(t, err.Error(), "/tmp/x")
	assert.Contains(t, err.Error(), "/nix/store/bad", "every bad path is reported")
}

func TestCheckExist(t *testing.T) {
	root := t.TempDir()
	store := filepath.Join(root, "nix", "store")
	require.NoError(t, os.MkdirAll(filepath.Join(store, filepath.Base(pA)), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(store, filepath.Base(pB)), nil, 0o644))
	// A dangling symlink is still a store path that exists (lstat).
	require.NoError(t, os.Symlink("/nonexistent", filepath.Join(store, filepath.Base(pC))))

	s, err := NewSet([]string{pA, pB, pC})
	require.NoError(t, err)
	require.NoError(t, s.CheckExist(root))

	s, err = NewSet([]string{pA, pD})
	require.NoError(t, err)
	err = s.CheckExist(root)
	require.ErrorIs(t, err, ErrMissing)
	assert.Contains(t, err.Error(), pD)
	assert.NotContains(t, err.Error(), pA)
}

// The hashes below were recorded with Nix itself:
//
//	nix hash path --type sha256 --base32 testdata/tree   (and testdata/file)
//	nix hash path --type sha256 --sri testdata/tree
//	nix-store --dump testdata/tree | wc -c
const (
	treeHash32  = "sha256:1mcd28pvwlji5li6h169fczr3ghnxaq5gfiajjpmddwz3h16q0ls"
	treeHashSRI = "sha256-mgJsAhyft1avlCq6V7DqFr6RP3PJBGgiLVFSvi8SjdU="
	treeNarSize = 1064
	fileHash32  = "sha256:1asa9880g36cddixwr5zblqbr1n0hgckk0id64wbjmzmbsjbk72c"
)

func TestVerifyNarHashMatchesNix(t *testing.T) {
	require.NoError(t, VerifyNarHash("testdata/tree", pA, treeHash32, treeNarSize))
	require.NoError(t, VerifyNarHash("testdata/tree", pA, treeHashSRI, 0))
	require.NoError(t, VerifyNarHash("testdata/file", pB, fileHash32, 0))

	err := VerifyNarHash("testdata/file", pB, treeHash32, 0)
	require.ErrorIs(t, err, ErrNarHashMismatch)
	assert.Contains(t, err.Error(), pB, "the error names the store path")

	err = VerifyNarHash("testdata/tree", pA, treeHash32, treeNarSize+1)
	require.ErrorIs(t, err, ErrNarHashMismatch)

	err = VerifyNarHash("testdata/tree", pA, "md5:00", 0)
	require.Error(t, err)
	assert.Contains(t, err.Error(), pA)
}

func TestVerifyNarHashesSet(t *testing.T) {
	root := t.TempDir()
	store := filepath.Join(root, "nix", "store")
	require.NoError(t, os.MkdirAll(store, 0o755))
	data, err := os.ReadFile("testdata/file")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(store, filepath.Base(pA)), data, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(store, filepath.Base(pB)), []byte("tampered\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(store, filepath.Base(pC)), []byte("no hash recorded\n"), 0o644))

	g, err := NewGraph([]Entry{
		{Path: pA, NarHash: fileHash32},
		{Path: pB, NarHash: fileHash32},
		{Path: pC},
	})
	require.NoError(t, err)
	n, err := g.All().VerifyNarHashes(root, 2)
	assert.Equal(t, 2, n)
	require.ErrorIs(t, err, ErrNarHashMismatch)
	assert.Contains(t, err.Error(), pB)
	assert.NotContains(t, err.Error(), pA)
}

// TestNarHashAgainstNix cross-checks the NAR serialisation with the real
// Nix on a tree with the cases NAR cares about (sort order, executables,
// symlinks, empty files and directories).
func TestNarHashAgainstNix(t *testing.T) {
	nix := testutil.RequireTool(t, "nix")
	dir := filepath.Join(t.TempDir(), "tree")
	for name, content := range map[string]string{
		"B":          "upper case sorts first\n",
		"a/empty":    "",
		"a/x.sh":     "#!/bin/sh\n",
		"a-b/c":      "dash sorts before slash's successor\n",
		"z/deep/d/e": strings.Repeat("0123456789", 10000),
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "a/x.sh"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "emptydir"), 0o755))
	require.NoError(t, os.Symlink("a/x.sh", filepath.Join(dir, "link")))

	cmd := exec.Command(nix, "hash", "path", "--type", "sha256", "--base32", dir)
	cmd.Env = append(os.Environ(), "NIX_CONFIG=experimental-features = nix-command")
	out, err := cmd.Output()
	require.NoError(t, err)
	want := "sha256:" + strings.TrimSpace(string(out))
	require.NoError(t, VerifyNarHash(dir, pA, want, 0))
}

func TestReadRegistration(t *testing.T) {
	in := strings.Join([]string{
		pA, "sha256:" + strings.Repeat("0", 52), "120", "", "2", pA, pB,
		pB, "sha256-" + strings.Repeat("A", 43) + "=", "8", "/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-x.drv", "0",
	}, "\n")
	got, err := ReadRegistration(strings.NewReader(in), "registration")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, Entry{Path: pA, NarHash: "sha256:" + strings.Repeat("0", 52), NarSize: 120, References: []string{pA, pB}}, got[0])
	assert.Equal(t, Entry{Path: pB, NarHash: "sha256-" + strings.Repeat("A", 43) + "=", NarSize: 8, References: []string{}}, got[1])

	// A trailing newline is tolerated.
	got, err = ReadRegistration(strings.NewReader(in+"\n"), "registration")
	require.NoError(t, err)
	assert.Len(t, got, 2)

	for _, bad := range []struct{ in, want string }{
		{pA + "\nsha256:x\n12\n\n2\n" + pB, "truncated references"},
		{pA + "\nsha256:x\nbig\n\n0", `narSize "big"`},
		{pA + "\nsha256:x\n1\n\n-1", `reference count "-1"`},
		{pA + "\nsha256:x\n1", "truncated entry"},
		{"/etc/passwd\nsha256:x\n1\n\n0", "/etc/passwd"},
	} {
		_, err := ReadRegistration(strings.NewReader(bad.in), "registration")
		require.Error(t, err, bad.in)
		assert.Contains(t, err.Error(), bad.want)
		assert.Contains(t, err.Error(), "registration:")
	}
}

func TestReadClosureInfo(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "store-paths"), []byte(pA+"\n"+pB+"\n"), 0o644))
	s, err := ReadClosureInfo(dir)
	require.NoError(t, err)
	_, ok := s.Entry(pA)
	assert.False(t, ok, "no registration: no graph data")

	reg := pA + "\n" + fileHash32 + "\n136\n\n1\n" + pB + "\n" + pB + "\n" + fileHash32 + "\n136\n\n0\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "registration"), []byte(reg), 0o644))
	s, err = ReadClosureInfo(dir)
	require.NoError(t, err)
	e, ok := s.Entry(pA)
	require.True(t, ok)
	assert.Equal(t, fileHash32, e.NarHash)
	assert.Equal(t, []string{pB}, e.References)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "store-paths"), []byte(pA+"\n"+pB+"\n"+pC+"\n"), 0o644))
	_, err = ReadClosureInfo(dir)
	require.ErrorIs(t, err, ErrNotInGraph)
	assert.Contains(t, err.Error(), pC)
}

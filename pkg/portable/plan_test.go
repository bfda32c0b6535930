package portable

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/pkg/closure"
)

// The store paths of testdata/real-attrs.json, copied to testdata/store by
// gen-attrs.sh.
const (
	realService = "/nix/store/5syradryxm7xl99akwi9f0yx6dhfhmnr-demo.service"
	realSocket  = "/nix/store/nv5z5px76g2ab6gwa2qr166k5krxh977-demo-web.socket"
	realTools   = "/nix/store/l0pickwlklh330vakq16c84zak6p890p-demo-tools-1.0"
	realWWW     = "/nix/store/nwlmnnbiv4xdy9nvnw353iygifmy3w6b-demo-www"
)

var testStore = Options{StoreRoot: "testdata/store"}

func realSpec(t *testing.T) *Spec {
	t.Helper()
	s, err := DecodeFile("testdata/real-attrs.json")
	require.NoError(t, err)
	return s
}

func TestPrepareRealAttrs(t *testing.T) {
	s := realSpec(t)
	set, err := Prepare(s, testStore)
	require.NoError(t, err)
	assert.Equal(t, []string{realService, realTools, realSocket, realWWW}, set.Paths())
	n, err := set.VerifyNarHashes(testStore.StoreRoot, 2)
	require.NoError(t, err, "the committed store copy must match the NAR hashes Nix recorded")
	assert.Equal(t, 4, n)
}

func TestPlanRealAttrs(t *testing.T) {
	s := realSpec(t)
	set, err := Prepare(s, testStore)
	require.NoError(t, err)
	entries, err := Plan(s, set, testStore)
	require.NoError(t, err)

	byPath := map[string]Entry{}
	var got []string
	for _, e := range entries {
		got = append(got, e.Path+" "+e.Kind.String())
		byPath[e.Path] = e
	}
	rel := func(p string) string { return strings.TrimPrefix(p, "/") }
	assert.Equal(t, []string{
		"dev dir",
		"etc dir",
		"etc/machine-id file",
		"etc/os-release file",
		"etc/resolv.conf file",
		"etc/systemd dir",
		"etc/systemd/system dir",
		"etc/systemd/system/demo-web.socket file",
		"etc/systemd/system/demo.service file",
		"nix dir",
		"nix/store dir",
		rel(realService) + " file",
		rel(realTools) + " tree",
		rel(realSocket) + " file",
		rel(realWWW) + " tree",
		"nix/var dir",
		"nix/var/nix dir",
		"nix/var/nix/profiles dir",
		"nix/var/nix/profiles/demo symlink",
		"proc dir",
		"run dir",
		"srv dir",
		"srv/www dir",
		"srv/www/index.html symlink",
		"sys dir",
		"tmp dir",
		"usr dir",
		"usr/bin dir",
		"usr/bin/demo-hello symlink",
		"var dir",
		"var/cache dir",
		"var/lib dir",
		"var/log dir",
		"var/tmp dir",
	}, got)

	assert.Equal(t, realTools+"/bin/demo-hello", byPath["usr/bin/demo-hello"].Target)
	assert.Equal(t, filepath.Join("testdata/store", realService), byPath["etc/systemd/system/demo.service"].Source)
	assert.Equal(t, filepath.Join("testdata/store", realTools), byPath[rel(realTools)].Source)
	assert.Empty(t, byPath["etc/machine-id"].Data)
	osr := ParseOSRelease(byPath["etc/os-release"].Data)
	assert.Equal(t, "demo", osr["PORTABLE_PREFIXES"])
	assert.Equal(t, "1.0", osr["VERSION_ID"])
	fi, err := os.Stat(filepath.Join("testdata/store", realService))
	require.NoError(t, err)
	assert.Equal(t, fi.Size(), byPath["etc/systemd/system/demo.service"].Size)
}

func TestResolveMissingStorePath(t *testing.T) {
	s := realSpec(t)
	root := t.TempDir()
	// Copy the store but leave out demo-www.
	for _, p := range []string{realService, realSocket} {
		data, err := os.ReadFile(filepath.Join("testdata/store", p))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Join(root, "nix/store"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), data, 0o444))
	}
	require.NoError(t, os.Mkdir(filepath.Join(root, realTools), 0o755))
	_, err := Prepare(s, Options{StoreRoot: root})
	require.ErrorIs(t, err, closure.ErrMissing)
	assert.Contains(t, err.Error(), realWWW)
	assert.NotContains(t, err.Error(), realTools)
}

func TestResolveRootNotInGraph(t *testing.T) {
	s := realSpec(t)
	s.Contents = append(s.Contents, "/nix/store/00000000000000000000000000000000-extra")
	_, err := Prepare(s, testStore)
	require.ErrorIs(t, err, closure.ErrNotInGraph)
	assert.Contains(t, err.Error(), "00000000000000000000000000000000-extra")
}

func TestResolveClosureInfo(t *testing.T) {
	s := realSpec(t)
	s.Graph = nil
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "store-paths"),
		[]byte(strings.Join([]string{realWWW, realService, realTools, realSocket}, "\n")+"\n"), 0o644))
	s.ClosureFile = dir
	set, err := Prepare(s, testStore)
	require.NoError(t, err)
	assert.Equal(t, 4, set.Len())

	// A closure that lacks a root is refused, naming the root.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "store-paths"), []byte(realService+"\n"+realSocket+"\n"), 0o644))
	_, err = Prepare(s, testStore)
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), realTools+" is not in the closure")
}

func TestResolveWithoutClosure(t *testing.T) {
	s := goodSpec(t)
	set, err := Prepare(s, Options{})
	require.NoError(t, err)
	assert.Equal(t, 0, set.Len())

	s.Contents = []string{realTools}
	_, err = Prepare(s, Options{})
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "no closure given")
}

func TestPlanStorePathKinds(t *testing.T) {
	root := t.TempDir()
	store := filepath.Join(root, "nix/store")
	require.NoError(t, os.MkdirAll(store, 0o755))
	file := "/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-file"
	link := "/nix/store/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-link"
	require.NoError(t, os.WriteFile(filepath.Join(root, file), []byte("#!x\n"), 0o555))
	require.NoError(t, os.Symlink(file, filepath.Join(root, link)))
	set, err := closure.NewSet([]string{link, file})
	require.NoError(t, err)
	s := goodSpec(t)
	entries, err := Plan(s, set, Options{StoreRoot: root})
	require.NoError(t, err)
	found := 0
	for _, e := range entries {
		switch "/" + e.Path {
		case file:
			found++
			assert.Equal(t, KindFile, e.Kind)
			assert.EqualValues(t, 0o555, e.Mode)
			assert.EqualValues(t, 4, e.Size)
		case link:
			found++
			assert.Equal(t, KindSymlink, e.Kind)
			assert.Equal(t, file, e.Target)
		}
	}
	assert.Equal(t, 2, found)
}

// The tree refuses collisions Validate would report first (a backstop).
func TestTreeCollisions(t *testing.T) {
	tr := &tree{entries: map[string]*Entry{}}
	tr.add(Entry{Path: "usr/bin/x", Kind: KindSymlink, Target: "/a"})
	tr.add(Entry{Path: "usr/bin", Kind: KindSymlink, Target: "/b"}) // a dir already
	tr.add(Entry{Path: "usr/bin/x/y", Kind: KindFile})              // below a symlink
	tr.add(Entry{Path: "usr/bin/x", Kind: KindFile})                // same path
	require.Len(t, tr.errs, 3)
	for _, e := range tr.errs {
		assert.ErrorIs(t, e, errCollision)
	}
	assert.Contains(t, tr.errs[0].Error(), "/usr/bin (dir and symlink)")
	assert.Contains(t, tr.errs[1].Error(), "/usr/bin/x is a symlink but must be a directory")
	assert.Contains(t, tr.errs[2].Error(), "/usr/bin/x (symlink and file)")
}

// A closureInfo directory as nixpkgs' closure-info.nix writes it: store-paths
// and registration (testdata/closure-info holds both for the real attrs'
// closure, written from real-attrs.json in the registration format
// closure-info.nix produces with jq: path, narHash, narSize, empty deriver,
// reference count, references). Its hashes make --verify-nar-hash work
// without exportReferencesGraph.
func TestBuildFromClosureInfoVerifies(t *testing.T) {
	s := realSpec(t)
	s.Graph = nil
	s.ClosureFile, _ = filepath.Abs("testdata/closure-info")
	sum, err := Run(s, t.TempDir(), BuildOptions{Options: testStore, VerifyNarHash: true})
	require.NoError(t, err)
	assert.Equal(t, 4, sum.StorePaths)
	assert.Equal(t, 4, sum.Verified)

	// The same image as from exportReferencesGraph.
	sum2, err := Run(realSpec(t), t.TempDir(), BuildOptions{Options: testStore})
	require.NoError(t, err)
	a, err := os.ReadFile(sum.Image)
	require.NoError(t, err)
	b, err := os.ReadFile(sum2.Image)
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

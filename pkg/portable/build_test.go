package portable

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/pkg/closure"
	"github.com/mkportable/mkportable/pkg/squashfs"
	"github.com/mkportable/mkportable/pkg/squashfs/compress"
)

// storeTree is the expected content of the store copy in testdata/store,
// read from disk with the os package (not through any code under test):
// path below the store root -> what must be in the image there.
type node struct {
	mode   fs.FileMode // permission bits expected in the image
	isDir  bool
	target string // symlinks
	data   []byte // regular files
}

func readStoreCopy(t *testing.T, root string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(filepath.Join(root, "nix/store"), func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, err := filepath.Rel(root, p)
		require.NoError(t, err)
		if rel == "nix/store" {
			return nil
		}
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		switch {
		case fi.IsDir():
			out[rel] = node{isDir: true, mode: 0o555}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			out[rel] = node{target: target, mode: 0o777}
		default:
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			mode := fs.FileMode(0o444)
			if fi.Mode()&0o100 != 0 {
				mode = 0o555
			}
			out[rel] = node{data: data, mode: mode}
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func buildReal(t *testing.T, opts BuildOptions) (*Summary, string) {
	t.Helper()
	s := realSpec(t)
	if opts.StoreRoot == "" {
		opts.StoreRoot = testStore.StoreRoot
	}
	out := t.TempDir()
	sum, err := Run(s, out, opts)
	require.NoError(t, err)
	return sum, out
}

func TestBuildRealAttrs(t *testing.T) {
	var log bytes.Buffer
	sum, out := buildReal(t, BuildOptions{Log: &log, VerifyNarHash: true})
	img := filepath.Join(out, "demo_1.0.raw")
	assert.Equal(t, img, sum.Image)
	ents, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, ents, 1, "only the image, no temporary file")
	fi, err := os.Stat(img)
	require.NoError(t, err)
	assert.Equal(t, fi.Size(), sum.BytesOut)
	assert.Zero(t, fi.Size()%4096, "padded for loop devices")
	assert.Equal(t, 4, sum.StorePaths)
	// 6 regular files in the store copy (the 2 unit store paths,
	// demo-hello, README, index.html, logo.gif), plus os-release,
	// machine-id, resolv.conf and the 2 unit copies.
	assert.EqualValues(t, 11, sum.Files)

	for _, phase := range []string{"closure: 4 store paths", "verify: NAR hashes of 4 store paths match", "plan: ", "write: ", "wrote " + img} {
		assert.Contains(t, log.String(), phase)
	}

	r, err := squashfs.OpenImage(img)
	require.NoError(t, err)
	defer func() { _ = r.Close() }()
	sb := r.Superblock()
	assert.Equal(t, compress.XZ, sb.Compressor)
	assert.EqualValues(t, 1<<20, sb.BlockSize)
	assert.EqualValues(t, 0, sb.ModTime)

	// The store paths, byte for byte, with canonical store modes.
	want := readStoreCopy(t, "testdata/store")
	require.Len(t, want, 15)
	for rel, n := range want {
		fi, err := r.Lstat(rel)
		require.NoError(t, err, rel)
		assert.Equal(t, n.mode, fi.Mode().Perm(), rel)
		switch {
		case n.isDir:
			assert.True(t, fi.IsDir(), rel)
		case n.target != "":
			got, err := r.ReadLink(rel)
			require.NoError(t, err, rel)
			assert.Equal(t, n.target, got, rel)
		default:
			require.True(t, fi.Mode().IsRegular(), rel)
			got, err := r.ReadFile(rel)
			require.NoError(t, err, rel)
			assert.Equal(t, n.data, got, rel)
		}
	}

	// Units are regular files with the store file's content.
	for _, u := range []struct{ name, store string }{{"demo.service", realService}, {"demo-web.socket", realSocket}} {
		p := "etc/systemd/system/" + u.name
		fi, err := r.Lstat(p)
		require.NoError(t, err)
		assert.True(t, fi.Mode().IsRegular(), p)
		got, err := r.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, want[strings.TrimPrefix(u.store, "/")].data, got, p)
	}

	// os-release: the hand-written golden of the same attrs.
	golden, err := os.ReadFile("testdata/osrelease/demo.golden")
	require.NoError(t, err)
	osr, err := r.ReadFile("etc/os-release")
	require.NoError(t, err)
	assert.Equal(t, string(golden), string(osr))

	// Scaffold, symlinks and ownership of everything.
	for _, d := range []string{"proc", "sys", "dev", "run", "tmp", "var/tmp", "var/lib", "var/cache", "var/log", "etc/systemd/system", "srv/www", "usr/bin", "nix/var/nix/profiles"} {
		fi, err := r.Lstat(d)
		require.NoError(t, err, d)
		assert.True(t, fi.IsDir(), d)
		assert.EqualValues(t, 0o755, fi.Mode().Perm(), d)
	}
	for _, f := range []string{"etc/machine-id", "etc/resolv.conf"} {
		fi, err := r.Lstat(f)
		require.NoError(t, err, f)
		assert.True(t, fi.Mode().IsRegular(), f)
		assert.Zero(t, fi.Size(), f)
	}
	for link, target := range map[string]string{
		"usr/bin/demo-hello":        realTools + "/bin/demo-hello",
		"srv/www/index.html":        realWWW + "/index.html",
		"nix/var/nix/profiles/demo": realTools,
	} {
		got, err := r.ReadLink(link)
		require.NoError(t, err, link)
		assert.Equal(t, target, got, link)
	}
	root, err := r.Stat(".")
	require.NoError(t, err)
	assert.EqualValues(t, 0o755, root.Mode().Perm())
	n := 0
	require.NoError(t, fs.WalkDir(r, ".", func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := d.Info()
		require.NoError(t, err)
		ii, ok := info.Sys().(*squashfs.InodeInfo)
		require.True(t, ok, p)
		assert.Zero(t, ii.UID, p)
		assert.Zero(t, ii.GID, p)
		assert.Zero(t, ii.ModTime, p)
		n++
		return nil
	}))
	assert.Equal(t, 34-4+15+1, n, "plan entries minus the 4 store path roots, plus their 15 nodes, plus the root")
}

// The image depends only on the inputs: not on the number of workers, not on
// the permission bits a copy of the store happens to have.
func TestBuildReproducible(t *testing.T) {
	_, out1 := buildReal(t, BuildOptions{Workers: 1})
	_, out4 := buildReal(t, BuildOptions{Workers: 4})

	// A copy of the store with other (non-canonical) modes: 0600 files,
	// 0700 dirs, executables 0700.
	copyRoot := copyStoreModes(t, "testdata/store", 0o700, func(fi fs.FileInfo) fs.FileMode {
		if fi.Mode()&0o100 != 0 {
			return 0o700
		}
		return 0o600
	})
	_, outCopy := buildReal(t, BuildOptions{Workers: 2, Options: Options{StoreRoot: copyRoot}})

	a, err := os.ReadFile(filepath.Join(out1, "demo_1.0.raw"))
	require.NoError(t, err)
	for _, o := range []string{out4, outCopy} {
		b, err := os.ReadFile(filepath.Join(o, "demo_1.0.raw"))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(a, b), "images differ: %s", o)
	}

	_, outT := buildReal(t, BuildOptions{ModTime: 315532800})
	r, err := squashfs.OpenImage(filepath.Join(outT, "demo_1.0.raw"))
	require.NoError(t, err)
	defer func() { _ = r.Close() }()
	assert.EqualValues(t, 315532800, r.Superblock().ModTime)
}

// TestBuildKernelMount mounts the image with the kernel's squashfs driver
// and compares the tree with the store copy through plain file system calls.
func TestBuildKernelMount(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "mount", "umount")
	_, out := buildReal(t, BuildOptions{})
	mnt := t.TempDir()
	cmd := exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", filepath.Join(out, "demo_1.0.raw"), mnt)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, msg)
	}
	defer func() {
		if msg, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, msg)
		}
	}()

	want := readStoreCopy(t, "testdata/store")
	got := readStoreCopy(t, mnt)
	assert.Equal(t, want, got, "/nix/store in the mounted image")

	osr, err := os.ReadFile(filepath.Join(mnt, "etc/os-release"))
	require.NoError(t, err)
	golden, err := os.ReadFile("testdata/osrelease/demo.golden")
	require.NoError(t, err)
	assert.Equal(t, string(golden), string(osr))

	unit, err := os.ReadFile(filepath.Join(mnt, "etc/systemd/system/demo.service"))
	require.NoError(t, err)
	assert.Contains(t, string(unit), "ExecStart="+realTools+"/bin/demo-hello")

	fi, err := os.Lstat(filepath.Join(mnt, "usr/bin/demo-hello"))
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&fs.ModeSymlink)
	for _, d := range []string{"proc", "sys", "dev", "run", "tmp", "var/tmp"} {
		fi, err := os.Stat(filepath.Join(mnt, d))
		require.NoError(t, err, d)
		assert.True(t, fi.IsDir(), d)
	}
}

// Bad inputs each give one clear error and leave no output file.
func TestBuildBadInputsLeaveNothing(t *testing.T) {
	dirUnit := filepath.Join(t.TempDir(), "demo-dir.service")
	require.NoError(t, os.Mkdir(dirUnit, 0o755))
	cases := map[string]struct {
		mutate func(s *Spec, o *BuildOptions)
		want   string
	}{
		"missing store path": {func(s *Spec, o *BuildOptions) { o.StoreRoot = t.TempDir() }, "store path missing on disk: " + realService},
		"unit is a directory": {func(s *Spec, o *BuildOptions) {
			s.Units = append(s.Units, dirUnit)
		}, "is a directory"},
		"symlink escaping with ..": {func(s *Spec, o *BuildOptions) {
			s.Symlinks = append(s.Symlinks, Symlink{Object: realTools, Symlink: "/usr/../../etc/x"})
		}, `".."`},
		"duplicate unit": {func(s *Spec, o *BuildOptions) {
			s.Units = append(s.Units, unitFile(t, "demo.service", "[Unit]\n"))
		}, "duplicate unit name"},
		"wrong NAR hash of a file store path": {func(s *Spec, o *BuildOptions) {
			s.Graph[2].NarHash = s.Graph[3].NarHash
			o.VerifyNarHash = true
		}, "NAR hash mismatch: " + realSocket},
		"tampered directory store path": {func(s *Spec, o *BuildOptions) {
			o.StoreRoot = copyStore(t, "testdata/store")
			p := filepath.Join(o.StoreRoot, realWWW, "index.html")
			require.NoError(t, os.Chmod(p, 0o644))
			require.NoError(t, os.WriteFile(p, []byte("<h1>defaced</h1>\n"), 0o644))
			s.VerifyNarHash = true // the attr, not the option
		}, "NAR hash mismatch: " + realWWW},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := realSpec(t)
			opts := BuildOptions{Options: testStore}
			tc.mutate(s, &opts)
			out := filepath.Join(t.TempDir(), "out")
			_, err := Run(s, out, opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "one error line: %s", err)
			ents, _ := os.ReadDir(out) // absent, or empty: no image, no temporary
			assert.Empty(t, ents)
		})
	}
}

// copyStore copies a store tree (files, dirs, symlinks, exec bits).
func copyStore(t *testing.T, from string) string {
	t.Helper()
	return copyStoreModes(t, from, 0o755, func(fi fs.FileInfo) fs.FileMode { return fi.Mode().Perm() })
}

// copyStoreModes copies the tree at from into a new temporary directory:
// directories with dirMode, symlinks as they are, regular files with the mode
// fileMode gives for the source's info.
func copyStoreModes(t *testing.T, from string, dirMode fs.FileMode, fileMode func(fs.FileInfo) fs.FileMode) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(root, rel)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		switch {
		case fi.IsDir():
			return os.MkdirAll(dst, dirMode)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			return os.Symlink(target, dst)
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		return os.WriteFile(dst, data, fileMode(fi))
	}))
	return root
}

// TestBuildVerifiesInOnePass builds with NAR hash verification over a store
// path whose names exercise NAR order (a, a-b, a/..., upper case first,
// empty files and directories, symlinks, executables). The recorded hash is
// computed by the separate serialiser (closure.NarHash, itself checked
// against nix hash path), so the build's in-pass NAR must equal it.
func TestBuildVerifiesInOnePass(t *testing.T) {
	root := t.TempDir()
	sp := "/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-tricky"
	dir := filepath.Join(root, sp)
	for name, content := range map[string]string{
		"B":          "upper case sorts first\n",
		"a/empty":    "",
		"a/x.sh":     "#!/bin/sh\n",
		"a-b/c":      "dash sorts before slash\n",
		"a.b":        "dot\n",
		"z/deep/d/e": strings.Repeat("0123456789", 30000),
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "a/x.sh"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "emptydir"), 0o755))
	require.NoError(t, os.Symlink("a/x.sh", filepath.Join(dir, "link")))
	fileSP := "/nix/store/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-script"
	require.NoError(t, os.WriteFile(filepath.Join(root, fileSP), []byte("#!/bin/sh\n"), 0o755))
	linkSP := "/nix/store/2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c-link"
	require.NoError(t, os.Symlink(fileSP, filepath.Join(root, linkSP)))

	var graph []closure.Entry
	for _, p := range []string{sp, fileSP, linkSP} {
		digest, size, err := closure.NarHash(filepath.Join(root, p))
		require.NoError(t, err)
		graph = append(graph, closure.Entry{Path: p, NarHash: "sha256-" + base64.StdEncoding.EncodeToString(digest), NarSize: size})
	}
	s := goodSpec(t)
	s.Contents = []string{sp, fileSP, linkSP}
	s.Graph = graph
	s.VerifyNarHash = true
	var log bytes.Buffer
	sum, err := Run(s, t.TempDir(), BuildOptions{Options: Options{StoreRoot: root}, Log: &log, Workers: 2})
	require.NoError(t, err)
	assert.Equal(t, 3, sum.Verified)
	assert.Contains(t, log.String(), "verify: NAR hashes of 3 store paths match (checked while writing)")

	// One byte changed in the deepest file: caught, named, no image.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "z/deep/d/e"), []byte(strings.Repeat("0123456789", 29999)+"012345678X"), 0o644))
	out := t.TempDir()
	_, err = Run(s, out, BuildOptions{Options: Options{StoreRoot: root}})
	require.ErrorIs(t, err, closure.ErrNarHashMismatch)
	assert.Contains(t, err.Error(), sp)
	ents, _ := os.ReadDir(out)
	assert.Empty(t, ents)
}

// Hard links from store optimisation are stored as separate files, and a
// unit that is a symlink in the store is copied as the regular file it
// points to: the image does not depend on how the store deduplicates.
func TestBuildHardLinksAndSymlinkedUnit(t *testing.T) {
	root := t.TempDir()
	sp := "/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-linked"
	dir := filepath.Join(root, sp)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "one"), []byte("same bytes\n"), 0o444))
	require.NoError(t, os.Link(filepath.Join(dir, "one"), filepath.Join(dir, "two")))
	unitSP := "/nix/store/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-demo.service"
	realUnit := "/nix/store/2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c-unit-file"
	require.NoError(t, os.WriteFile(filepath.Join(root, realUnit), []byte("[Service]\nExecStart=/bin/true\n"), 0o444))
	// Relative, so that it resolves inside the store copy (an absolute link
	// would be followed on the host; on a real store both work).
	require.NoError(t, os.Symlink(filepath.Base(realUnit), filepath.Join(root, unitSP)))

	r := buildDemoFromStore(t, root, sp, unitSP, realUnit)

	var inodes []uint32
	for _, name := range []string{"one", "two"} {
		fi, err := r.Lstat(strings.TrimPrefix(sp, "/") + "/" + name)
		require.NoError(t, err)
		ii := fi.Sys().(*squashfs.InodeInfo)
		assert.EqualValues(t, 1, ii.Nlink, name)
		inodes = append(inodes, ii.Inode)
	}
	assert.NotEqual(t, inodes[0], inodes[1], "separate inodes, not a hard link")

	fi, err := r.Lstat("etc/systemd/system/demo.service")
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular(), "the unit is copied as a regular file")
	data, err := r.ReadFile("etc/systemd/system/demo.service")
	require.NoError(t, err)
	assert.Equal(t, "[Service]\nExecStart=/bin/true\n", string(data))
}

// TestBuildSystemdDissect asks systemd itself (systemd-dissect, the code
// portabled uses to look into images) what it makes of the image.
func TestBuildSystemdDissect(t *testing.T) {
	testutil.RequireRoot(t)
	dissect := testutil.RequireTool(t, "systemd-dissect")
	_, out := buildReal(t, BuildOptions{})
	msg, err := exec.Command(dissect, filepath.Join(out, "demo_1.0.raw")).CombinedOutput()
	require.NoError(t, err, "%s", msg)
	text := string(msg)
	assert.Contains(t, text, "squashfs")
	assert.Contains(t, text, "ID=nixos")
	assert.Contains(t, text, "PORTABLE_PREFIXES=demo")
	// systemd-dissect undoes the os-release quoting: the hostile
	// description comes back verbatim.
	assert.Contains(t, text, "PORTABLE_PRETTY_NAME=Demo \"portable\" service: $HOME `id` \\ done")
	assert.Contains(t, text, "✓ portable service")
}

// TestBuildMatchesMksquashfs builds the tree nixpkgs' portableService would
// stage (scaffold, os-release, unit copies, symlinks, a copy of the store
// with the store's modes) with plain file operations, packs it with
// mksquashfs -all-root as nixpkgs does, and has sqfsdiff (squashfs-tools-ng)
// compare that image with ours: same entries, types, targets, contents,
// owners and permissions.
func TestBuildMatchesMksquashfs(t *testing.T) {
	mksquashfs := testutil.RequireTool(t, "mksquashfs")
	sqfsdiff := testutil.RequireTool(t, "sqfsdiff")
	_, out := buildReal(t, BuildOptions{})

	stage := filepath.Join(t.TempDir(), "root")
	for _, d := range []string{"proc", "sys", "dev", "run", "tmp", "var/tmp", "var/lib", "var/cache", "var/log", "etc/systemd/system", "srv/www", "usr/bin", "nix/var/nix/profiles"} {
		require.NoError(t, os.MkdirAll(filepath.Join(stage, d), 0o755))
	}
	for _, f := range []string{"etc/resolv.conf", "etc/machine-id"} {
		require.NoError(t, os.WriteFile(filepath.Join(stage, f), nil, 0o644))
	}
	golden, err := os.ReadFile("testdata/osrelease/demo.golden")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(stage, "etc/os-release"), golden, 0o644))
	for name, sp := range map[string]string{"demo.service": realService, "demo-web.socket": realSocket} {
		data, err := os.ReadFile(filepath.Join("testdata/store", sp))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(stage, "etc/systemd/system", name), data, 0o644))
	}
	for link, target := range map[string]string{
		"srv/www/index.html":        realWWW + "/index.html",
		"usr/bin/demo-hello":        realTools + "/bin/demo-hello",
		"nix/var/nix/profiles/demo": realTools,
	} {
		require.NoError(t, os.Symlink(target, filepath.Join(stage, link)))
	}
	// The store copy with the modes a Nix store has (0444/0555, dirs 0555),
	// directories made read-only last so their contents can be written.
	storeCopy := copyStore(t, "testdata/store")
	var dirs []string
	require.NoError(t, filepath.WalkDir(filepath.Join(storeCopy, "nix/store"), func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(storeCopy, p)
		dst := filepath.Join(stage, rel)
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		switch {
		case fi.IsDir():
			dirs = append(dirs, dst)
			return os.MkdirAll(dst, 0o755)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			return os.Symlink(target, dst)
		}
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		mode := fs.FileMode(0o444)
		if fi.Mode()&0o100 != 0 {
			mode = 0o555
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			return err
		}
		return os.Chmod(dst, mode)
	}))
	for i := len(dirs) - 1; i >= 0; i-- {
		if filepath.Base(dirs[i]) != "store" {
			require.NoError(t, os.Chmod(dirs[i], 0o555))
		}
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			_ = os.Chmod(d, 0o755) // let t.TempDir remove it
		}
	})

	ref := filepath.Join(t.TempDir(), "ref.raw")
	cmd := exec.Command(mksquashfs, stage, ref, "-quiet", "-noappend", "-all-root", "-root-mode", "755",
		"-b", "1M", "-comp", "xz", "-Xdict-size", "100%")
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=0")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)

	msg, err = exec.Command(sqfsdiff, "-a", ref, "-b", filepath.Join(out, "demo_1.0.raw")).CombinedOutput()
	assert.NoError(t, err, "sqfsdiff reports differences:\n%s", msg)
}

// TestBuildAwkwardStoreNames: a store path may hold any file name a NAR
// allows (bytes other than '/' and NUL, not valid UTF-8 for instance) and
// trees deeper than PATH_MAX; both reach the image byte for byte.
func TestBuildAwkwardStoreNames(t *testing.T) {
	root := t.TempDir()
	sp := "/nix/store/3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d-awkward"
	dir := filepath.Join(root, sp)
	names := []string{"caf\xe9", "new\nline", "\xff\xfe"}
	for _, n := range names {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, n), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, n, "f"), []byte(n), 0o444))
	}
	// 20 levels of 250-byte names: over 5,000 bytes below the store path.
	deep := ""
	for i := range 20 {
		deep += "/" + strings.Repeat(string(rune('a'+i)), 250)
	}
	t.Chdir(dir)
	for _, c := range strings.Split(deep[1:], "/") {
		require.NoError(t, os.Mkdir(c, 0o755))
		require.NoError(t, os.Chdir(c))
	}
	require.NoError(t, os.WriteFile("bottom", []byte("bottom"), 0o444))
	unitSP := "/nix/store/4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f4f-demo.service"
	require.NoError(t, os.WriteFile(filepath.Join(root, unitSP), []byte("[Service]\nExecStart=/bin/true\n"), 0o444))

	r := buildDemoFromStore(t, root, sp, unitSP)
	base := strings.TrimPrefix(sp, "/")
	for _, n := range names {
		data, err := r.ReadFile(base + "/" + n + "/f")
		require.NoError(t, err, "%q", n)
		assert.Equal(t, n, string(data))
	}
	data, err := r.ReadFile(base + deep + "/bottom")
	require.NoError(t, err)
	assert.Equal(t, "bottom", string(data))
}

// buildDemoFromStore builds the image of a "demo" spec whose contents are
// sp and whose unit is unitSP, from a store under root; closure is sp,
// unitSP and more. It returns the image opened with the package's reader.
func buildDemoFromStore(t *testing.T, root, sp, unitSP string, more ...string) *squashfs.Reader {
	t.Helper()
	s := &Spec{Pname: "demo", Version: "1", Units: []string{unitSP}, Contents: []string{sp}}
	s.ClosureFile = filepath.Join(t.TempDir(), "store-paths")
	closure := strings.Join(append([]string{sp, unitSP}, more...), "\n") + "\n"
	require.NoError(t, os.WriteFile(s.ClosureFile, []byte(closure), 0o644))
	sum, err := Run(s, t.TempDir(), BuildOptions{Options: Options{StoreRoot: root}})
	require.NoError(t, err)
	r, err := squashfs.OpenImage(sum.Image)
	require.NoError(t, err)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

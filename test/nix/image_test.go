package nix

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/pkg/squashfs"
	"github.com/mkportable/mkportable/pkg/squashfs/compress"
	"github.com/mkportable/mkportable/test/internal/nixtest"
)

// demoInputs is what Nix says the demo consists of, asked independently of
// the builder: the unit files, the contents, the symlink and the closure of
// all of them (nix-store --query --requisites).
type demoInputs struct {
	Units    []string
	Contents []string
	Www      string
	Busybox  string
	Closure  []string // sorted store paths
}

func queryDemo(t *testing.T, e *nixtest.Env, demoExpr string) demoInputs {
	t.Helper()
	out, log, err := e.Eval(t, `let d = `+demoExpr+`; in {
  units = map toString d.units;
  contents = map toString d.contents;
  www = toString (builtins.head d.symlinks).object;
  busybox = toString busybox;
}`)
	require.NoError(t, err, log)
	var in demoInputs
	require.NoError(t, json.Unmarshal([]byte(out), &in), out)

	roots := append(append(append([]string{}, in.Units...), in.Contents...), in.Www)
	req, err := e.Command("nix-store", append([]string{"--query", "--requisites"}, roots...)...).Output()
	require.NoError(t, err, "nix-store --query --requisites %v", roots)
	in.Closure = strings.Fields(string(req))
	sort.Strings(in.Closure)
	return in
}

// imageFS is what the checks need from an image: the squashfs reader, or
// the kernel's mount of it through the os package.
type imageFS interface {
	Lstat(name string) (fs.FileInfo, error)
	ReadLink(name string) (string, error)
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]fs.DirEntry, error)
}

// mounted reads a directory (a mounted image) with image-relative names.
type mounted string

func (m mounted) p(name string) string { return filepath.Join(string(m), filepath.FromSlash(name)) }
func (m mounted) Lstat(name string) (fs.FileInfo, error) {
	return os.Lstat(m.p(name))
}
func (m mounted) ReadLink(name string) (string, error)       { return os.Readlink(m.p(name)) }
func (m mounted) ReadFile(name string) ([]byte, error)       { return os.ReadFile(m.p(name)) }
func (m mounted) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(m.p(name)) }

// checkDemoImage checks an image of the demo against what Nix knows about
// its inputs and against the host's /nix/store, entry by entry.
func checkDemoImage(t *testing.T, img imageFS, in demoInputs) {
	t.Helper()

	osr, err := img.ReadFile("etc/os-release")
	require.NoError(t, err)
	lines := strings.Split(string(osr), "\n")
	for _, want := range []string{"ID=nixos", "PORTABLE_PREFIXES=demo", "PORTABLE_ID=demo", `VERSION_ID="1.0"`} {
		assert.Contains(t, lines, want, "os-release:\n%s", osr)
	}

	for _, d := range []string{"proc", "sys", "dev", "run", "tmp", "var/tmp", "etc/systemd/system"} {
		fi, err := img.Lstat(d)
		if assert.NoError(t, err, d) {
			assert.True(t, fi.IsDir(), "%s is a directory", d)
		}
	}
	for _, f := range []string{"etc/machine-id", "etc/resolv.conf"} {
		fi, err := img.Lstat(f)
		if assert.NoError(t, err, f) {
			assert.True(t, fi.Mode().IsRegular() && fi.Size() == 0, "%s is an empty file: %v", f, fi.Mode())
		}
	}

	// Units: regular files (not symlinks into the store) with the store's
	// bytes, named after the store path without its hash.
	var unitNames []string
	for _, u := range in.Units {
		name := path.Base(u)[33:]
		unitNames = append(unitNames, name)
		p := "etc/systemd/system/" + name
		fi, err := img.Lstat(p)
		require.NoError(t, err, p)
		assert.True(t, fi.Mode().IsRegular(), "%s: %v", p, fi.Mode())
		want, err := os.ReadFile(u)
		require.NoError(t, err)
		got, err := img.ReadFile(p)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), p)
	}
	ents, err := img.ReadDir("etc/systemd/system")
	require.NoError(t, err)
	var gotUnits []string
	for _, de := range ents {
		gotUnits = append(gotUnits, de.Name())
	}
	sort.Strings(unitNames)
	assert.Equal(t, unitNames, gotUnits)

	target, err := img.ReadLink("srv/www")
	require.NoError(t, err)
	assert.Equal(t, in.Www, target)

	// /nix/store holds exactly the closure, each path identical to the host's.
	ents, err = img.ReadDir("nix/store")
	require.NoError(t, err)
	var names, want []string
	for _, de := range ents {
		names = append(names, de.Name())
	}
	for _, p := range in.Closure {
		want = append(want, path.Base(p))
	}
	assert.Equal(t, want, names)
	for _, p := range in.Closure {
		compareStorePath(t, img, p)
	}
}

// compareStorePath walks a host store path and requires the same tree in the
// image: types, permission bits, file bytes, symlink targets, root owned.
func compareStorePath(t *testing.T, img imageFS, storePath string) {
	t.Helper()
	err := filepath.WalkDir(storePath, func(host string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(host, "/")
		hfi, err := os.Lstat(host)
		if err != nil {
			return err
		}
		ifi, err := img.Lstat(name)
		if !assert.NoError(t, err, name) {
			return nil
		}
		assert.Equal(t, hfi.Mode().Type(), ifi.Mode().Type(), "%s: type", name)
		assert.Equal(t, hfi.Mode().Perm(), ifi.Mode().Perm(), "%s: permissions", name)
		if info, ok := ifi.Sys().(*squashfs.InodeInfo); ok {
			assert.Zero(t, info.UID, "%s: owner", name)
			assert.Zero(t, info.GID, "%s: group", name)
			if hfi.Mode().IsRegular() {
				// Hard links from store optimisation must not leak in.
				assert.Equal(t, uint32(1), info.Nlink, "%s: link count", name)
			}
		}
		switch {
		case hfi.Mode().IsRegular():
			want, err := os.ReadFile(host)
			if err != nil {
				return err
			}
			got, err := img.ReadFile(name)
			if assert.NoError(t, err, name) {
				assert.True(t, bytes.Equal(want, got), "%s: contents differ", name)
			}
		case hfi.Mode()&fs.ModeSymlink != 0:
			want, err := os.Readlink(host)
			if err != nil {
				return err
			}
			got, err := img.ReadLink(name)
			if assert.NoError(t, err, name) {
				assert.Equal(t, want, got, "%s: symlink target", name)
			}
		}
		return nil
	})
	require.NoError(t, err, "walking %s", storePath)
}

func openImage(t *testing.T, path string) *squashfs.Reader {
	t.Helper()
	r, err := squashfs.OpenImage(path)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, r.Close()) })
	return r
}

// The demo, built by nix-build in the sandbox with the static mkportable as
// the builder, read back by pkg/squashfs.
func TestDemoImageReadBack(t *testing.T) {
	e := nixtest.Setup(t)
	raw := e.Demo(t, "")
	assert.Equal(t, "demo_1.0.raw", filepath.Base(raw))
	in := queryDemo(t, e, "demo")
	assert.Contains(t, in.Closure, in.Busybox, "the units' references are in the closure")

	r := openImage(t, raw)
	sb := r.Superblock()
	assert.Equal(t, compress.XZ, sb.Compressor, "nixpkgs' default -comp xz")
	assert.Equal(t, uint32(1<<20), sb.BlockSize, "nixpkgs' default -b 1M")
	checkDemoImage(t, r, in)
}

// The same image through the kernel's squashfs driver, and the image's
// static busybox runs from it.
func TestDemoImageKernelMount(t *testing.T) {
	e := nixtest.Setup(t)
	testutil.RequireTool(t, "mount", "umount", "chroot")
	raw := e.Demo(t, "")
	in := queryDemo(t, e, "demo")

	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", raw, dir).CombinedOutput()
	require.NoError(t, err, "mount %s: %s", raw, out)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	checkDemoImage(t, mounted(dir), in)

	out, err = exec.Command("chroot", dir, in.Busybox+"/bin/busybox", "cat", "/srv/www/index.html").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "mkportable demo: it works", "the /srv/www symlink resolves inside the image")
}

// nixpkgs hands the closure over as a closureInfo; ours defaults to
// exportReferencesGraph. Both inputs must give the same image, byte for byte.
func TestClosureInfoInputSameImage(t *testing.T) {
	e := nixtest.Setup(t)
	viaGraph := e.Demo(t, "")
	const viaInfo = "pkgsLite.portableServiceWithClosureInfo demo"
	attrs, log, err := e.Eval(t, "let a = ("+viaInfo+").drvAttrs; in [ (a ? closureInfo) (a ? exportReferencesGraph) ]")
	require.NoError(t, err, log)
	require.JSONEq(t, "[true, false]", attrs, "the closure reaches the builder only as a closureInfo")
	out, log, err := e.Build(t, viaInfo)
	require.NoError(t, err, log)

	a, err := os.ReadFile(viaGraph)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(out, "demo_1.0.raw"))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(a, b), "closureInfo and exportReferencesGraph images differ (%d vs %d bytes)", len(b), len(a))
}

// verifyNarHash re-hashes every store path while reading it into the image;
// on an intact store the image is the same.
func TestVerifyNarHash(t *testing.T) {
	e := nixtest.Setup(t)
	plain := e.Demo(t, "")
	verified := e.Demo(t, "{ verifyNarHash = true; }")
	a, err := os.ReadFile(plain)
	require.NoError(t, err)
	b, err := os.ReadFile(verified)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(a, b), "verifyNarHash changed the image")
}

// mksquashfs-style options reach the writer: the superblock records them.
func TestCompressionOptions(t *testing.T) {
	e := nixtest.Setup(t)
	raw := e.Demo(t, `{ squash-compression = "zstd -Xcompression-level 3"; squash-block-size = "64K"; }`)
	r := openImage(t, raw)
	assert.Equal(t, compress.Zstd, r.Superblock().Compressor)
	assert.Equal(t, uint32(64<<10), r.Superblock().BlockSize)
	checkDemoImage(t, r, queryDemo(t, e, "demo"))
}

// A symlink object may point into a store path (nixpkgs' own example is
// "${pkgs.busybox}/bin"): the store path it is in becomes a closure root.
func TestSymlinkIntoStorePath(t *testing.T) {
	e := nixtest.Setup(t)
	extra := `builtins.path { path = ./test/nix/testdata/extra-root; name = "extra-root"; }`
	out, log, err := e.Build(t, `portableService (demo // {
  symlinks = demo.symlinks ++ [ { object = "${`+extra+`}/hello.txt"; symlink = "/etc/hello.txt"; } ];
})`)
	require.NoError(t, err, log)
	r := openImage(t, filepath.Join(out, "demo_1.0.raw"))

	target, err := r.ReadLink("etc/hello.txt")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(target, "/nix/store/") && strings.HasSuffix(target, "-extra-root/hello.txt"), target)
	data, err := r.ReadFile("etc/hello.txt")
	require.NoError(t, err, "the link resolves inside the image")
	assert.Equal(t, "hello from a store path only a symlink names\n", string(data))
}

// Passing nixpkgs' squashfsTools/squashfs-tools still works, with a warning.
func TestSquashfsToolsAcceptedWithWarning(t *testing.T) {
	e := nixtest.Setup(t)
	for _, arg := range []string{"squashfsTools", "squashfs-tools"} {
		_, log, err := e.Build(t, `portableService (demo // { `+arg+` = busybox; })`)
		require.NoError(t, err, log)
		assert.Contains(t, log, arg+" is ignored", arg)
	}
}

// The failures a user meets: each makes nix-build fail in the builder with
// mkportable's message naming what is wrong.
func TestBuildFailuresCarryOurMessage(t *testing.T) {
	e := nixtest.Setup(t)
	for _, tc := range []struct {
		name, override string
		want           []string
	}{
		{
			name:     "unit outside the prefix",
			override: `{ units = demo.units ++ [ (builtins.toFile "demox.service" "[Service]\nExecStart=/bin/true\n") ]; }`,
			want:     []string{"demox.service", "prefix"},
		},
		{
			name:     "symlink into /nix/store",
			override: `{ symlinks = [ { object = (builtins.head demo.symlinks).object; symlink = "/nix/store/www"; } ]; }`,
			want:     []string{"symlinks[0]", "/nix/store"},
		},
		{
			name:     "relative symlink path",
			override: `{ symlinks = [ { object = (builtins.head demo.symlinks).object; symlink = "srv/../../www"; } ]; }`,
			want:     []string{"symlinks[0]", "absolute"},
		},
		{
			name:     "image name with an underscore",
			override: `{ pname = "de_mo"; }`,
			want:     []string{"de_mo", "'_'"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, log, err := e.Build(t, "portableService (demo // "+tc.override+")")
			require.Error(t, err)
			// A builder failure, not an evaluation error: validation is Go's.
			assert.Contains(t, log, "builder for")
			assert.Contains(t, log, "mkportable build:")
			for _, w := range tc.want {
				assert.Contains(t, log, w)
			}
		})
	}
}

// The flake's failure check wrapper works on the same failure here (busybox
// from Debian instead of nixpkgs'), and it fails when the build does not.
func TestExpectBuildFailure(t *testing.T) {
	e := nixtest.Setup(t)
	const wrap = `import ./nix/expect-build-failure.nix { inherit busybox; }`
	out, log, err := e.Build(t, `(`+wrap+`) {
  drv = portableService (demo // { units = [ (builtins.toFile "other.service" "[Service]\nExecStart=/bin/true\n") ]; });
  messages = [ "mkportable build:" "other.service" ];
}`)
	require.NoError(t, err, log)
	code, err := os.ReadFile(filepath.Join(out, "exit-code"))
	require.NoError(t, err)
	assert.Equal(t, "1\n", string(code))

	_, log, err = e.Build(t, `(`+wrap+`) { drv = portableService demo; name = "demo-must-fail"; }`)
	require.Error(t, err)
	assert.Contains(t, log, "the build succeeded, but a failure was expected")

	_, log, err = e.Build(t, `(`+wrap+`) {
  drv = portableService (demo // { pname = "de_mo"; });
  messages = [ "a message mkportable never prints" ];
}`)
	require.Error(t, err)
	assert.Contains(t, log, "the log lacks")
}

// Unknown arguments are rejected by Nix, as nixpkgs' function does: a typo
// does not silently drop an option.
func TestUnknownArgumentRejected(t *testing.T) {
	e := nixtest.Setup(t)
	_, log, err := e.Build(t, `portableService (demo // { squash-comp = "gzip"; })`)
	require.Error(t, err)
	assert.Contains(t, log, "unexpected argument 'squash-comp'")
}

// Arguments in the other shapes nixpkgs callers use: a symlink object that
// is a derivation (not a string), contents given as a path literal.
func TestDerivationObjectAndPathContents(t *testing.T) {
	e := nixtest.Setup(t)
	out, log, err := e.Build(t, `let
  obj = pkgsLite.runCommand "drv-object" { } "mkdir -p $out/share; echo from-a-derivation > $out/share/x";
in portableService (demo // {
  symlinks = demo.symlinks ++ [ { object = obj; symlink = "/opt/obj"; } ];
  contents = [ ./test/nix/testdata/extra-root ];
})`)
	require.NoError(t, err, log)
	r := openImage(t, filepath.Join(out, "demo_1.0.raw"))
	data, err := r.ReadFile("opt/obj/share/x")
	require.NoError(t, err)
	assert.Equal(t, "from-a-derivation\n", string(data))

	ents, err := r.ReadDir("nix/store")
	require.NoError(t, err)
	var extra []string
	for _, de := range ents {
		if strings.HasSuffix(de.Name(), "-extra-root") {
			extra = append(extra, de.Name())
		}
	}
	require.Len(t, extra, 1, "the contents path literal is in the store")
	data, err = r.ReadFile("nix/store/" + extra[0] + "/hello.txt")
	require.NoError(t, err)
	assert.Equal(t, "hello from a store path only a symlink names\n", string(data))
}

// A unit may be a file inside a store path (a package's
// lib/systemd/system/...): its store path becomes a closure root and the
// unit keeps its file name. A unit outside the store is reported by
// mkportable, not by Nix.
func TestUnitInsideStorePathAndOutside(t *testing.T) {
	e := nixtest.Setup(t)
	out, log, err := e.Build(t, `let
  pkg = pkgsLite.runCommand "demo-units" { } ''
    mkdir -p $out/lib/systemd/system
    printf '[Service]\nExecStart=/bin/true\n' > $out/lib/systemd/system/demo-extra.service
  '';
in portableService (demo // { units = demo.units ++ [ "${pkg}/lib/systemd/system/demo-extra.service" ]; })`)
	require.NoError(t, err, log)
	r := openImage(t, filepath.Join(out, "demo_1.0.raw"))
	data, err := r.ReadFile("etc/systemd/system/demo-extra.service")
	require.NoError(t, err)
	assert.Equal(t, "[Service]\nExecStart=/bin/true\n", string(data))
	ents, err := r.ReadDir("nix/store")
	require.NoError(t, err)
	var found bool
	for _, de := range ents {
		found = found || strings.HasSuffix(de.Name(), "-demo-units")
	}
	assert.True(t, found, "the unit's store path is in the image")

	_, log, err = e.Build(t, `portableService (demo // { units = demo.units ++ [ "/etc/demo-host.service" ]; })`)
	require.Error(t, err)
	assert.Contains(t, log, "mkportable build:")
	assert.Contains(t, log, "/etc/demo-host.service")
}

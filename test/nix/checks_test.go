package nix

import (
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/test/internal/nixtest"
)

// The flake's demo-contents and nixpkgs-equivalence checks need nixpkgs
// (squashfs-tools in the sandbox, nixpkgs' portableService), so they cannot
// be built here. Their scripts can still run: the flake is evaluated with the
// stand-in nixpkgs, nixpkgs' image is made on the host with nixpkgs' own
// recipe (pkgs/build-support/portable-service/default.nix: a
// root-fs-scaffold store path, `cp -a` of the closure, mksquashfs), and each
// check's script runs under bash with the host's squashfs tools. They must
// pass on the real images and fail on a wrong one.

// nixpkgsRecipe writes demo_1.0.raw the way nixpkgs' portableService does,
// into a store path, and returns that path. extra adds a file to the root
// file system (to prove the equivalence check catches a difference).
func nixpkgsRecipe(t *testing.T, e *nixtest.Env, in demoInputs, description, homepage, extra string) string {
	t.Helper()
	testutil.RequireTool(t, "mksquashfs", "cp")
	tmp := t.TempDir()

	// The scaffold derivation's output.
	scaffold := filepath.Join(tmp, "root-fs-scaffold-1.0")
	for _, d := range []string{"etc/systemd/system", "proc", "sys", "dev", "run", "tmp", "var/tmp", "var/lib", "var/cache", "var/log", "srv"} {
		require.NoError(t, os.MkdirAll(filepath.Join(scaffold, d), 0o755))
	}
	for _, f := range []string{"etc/resolv.conf", "etc/machine-id"} {
		require.NoError(t, os.WriteFile(filepath.Join(scaffold, f), nil, 0o644))
	}
	// lib.generators.toKeyValue {} of the non-null keys, in attribute
	// (sorted) order, values as they are.
	osr := "BUILD_ID=rolling\nHOME_URL=" + homepage + "\nID=nixos\nPORTABLE_ID=demo\n" +
		"PORTABLE_PRETTY_NAME=" + description + "\nPRETTY_NAME=NixOS\n"
	require.NoError(t, os.WriteFile(filepath.Join(scaffold, "etc/os-release"), []byte(osr), 0o644))
	for _, u := range in.Units {
		data, err := os.ReadFile(u)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(scaffold, "etc/systemd/system", path.Base(u)[33:]), data, 0o444))
	}
	require.NoError(t, os.Symlink(in.Www, filepath.Join(scaffold, "srv/www")))
	if extra != "" {
		require.NoError(t, os.WriteFile(filepath.Join(scaffold, extra), []byte("extra\n"), 0o644))
	}
	scaffoldPath := addToStore(t, e, scaffold)

	// closureInfo { rootPaths = [ rootFsScaffold ] ++ contents; }: the
	// scaffold's references are the units' references and the symlink
	// objects (nix-store --add records none, so they are added here).
	roots := append([]string{in.Www}, in.Contents...)
	for _, u := range in.Units {
		refs, err := e.Command("nix-store", "--query", "--references", u).Output()
		require.NoError(t, err)
		roots = append(roots, strings.Fields(string(refs))...)
	}
	req, err := e.Command("nix-store", append([]string{"--query", "--requisites"}, roots...)...).Output()
	require.NoError(t, err)
	closure := append(strings.Fields(string(req)), scaffoldPath)

	build := filepath.Join(tmp, "build")
	require.NoError(t, os.MkdirAll(filepath.Join(build, "nix/store"), 0o755))
	for _, p := range closure {
		out, err := exec.Command("cp", "-a", p, filepath.Join(build, "nix/store")).CombinedOutput()
		require.NoError(t, err, "cp -a %s: %s", p, out)
	}
	ents, err := os.ReadDir(scaffoldPath)
	require.NoError(t, err)
	args := []string{"nix"}
	for _, de := range ents {
		args = append(args, filepath.Join(scaffoldPath, de.Name()))
	}
	outDir := filepath.Join(tmp, "demo-img-1.0")
	require.NoError(t, os.Mkdir(outDir, 0o755))
	args = append(args, filepath.Join(outDir, "demo_1.0.raw"),
		"-quiet", "-noappend", "-exit-on-error", "-keep-as-directory", "-all-root", "-root-mode", "755",
		"-b", "1M", "-comp", "xz", "-Xdict-size", "100%")
	cmd := exec.Command("mksquashfs", args...)
	cmd.Dir = build
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "mksquashfs: %s", out)
	return addToStore(t, e, outDir)
}

func addToStore(t *testing.T, e *nixtest.Env, dir string) string {
	t.Helper()
	out, err := e.Command("nix-store", "--add", dir).Output()
	require.NoError(t, err, "nix-store --add %s", dir)
	return strings.TrimSpace(string(out))
}

// checkScript evaluates the flake (stand-in nixpkgs whose portableService is
// nixpkgsImage) and returns the check's script and its environment.
func checkScript(t *testing.T, e *nixtest.Env, nixpkgsImage, check string) (script string, env map[string]string) {
	t.Helper()
	let := flakeLet
	if nixpkgsImage != "" {
		let = strings.Replace(flakeLet, "inherit mkportable busybox pkgsLite;",
			"inherit mkportable busybox pkgsLite; nixpkgsImage = "+strconv.Quote(nixpkgsImage)+";", 1)
		require.NotEqual(t, flakeLet, let)
	}
	out, log, err := e.Eval(t, let+`let c = self.checks.${system}.`+check+`; in {
  script = c.buildCommand;
  closure = if c.drvAttrs ? closure then toString c.drvAttrs.closure else "";
}`)
	require.NoError(t, err, log)
	var got struct{ Script, Closure string }
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	env = map[string]string{}
	if got.Closure != "" {
		// The check's closureInfo input, built so the script can read it.
		built, log, err := e.Build(t, let+`self.checks.${system}.`+check+`.drvAttrs.closure`)
		require.NoError(t, err, log)
		require.Equal(t, got.Closure, built)
		env["closure"] = built
	}
	return got.Script, env
}

// runCheck runs a check's script as stdenv would (bash, -eu -o pipefail,
// $out set), with the host's tools.
func runCheck(t *testing.T, script string, env map[string]string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("bash", "-eu", "-o", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "out="+filepath.Join(dir, "out"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err == nil {
		if _, serr := os.Stat(filepath.Join(dir, "out")); serr != nil {
			return string(out), serr
		}
	}
	return string(out), err
}

func demoMeta(t *testing.T, e *nixtest.Env) (description, homepage string) {
	t.Helper()
	out, log, err := e.Eval(t, `[ demo.description demo.homepage ]`)
	require.NoError(t, err, log)
	var v []string
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	return v[0], v[1]
}

func TestFlakeCheckNixpkgsEquivalenceScript(t *testing.T) {
	e := nixtest.Setup(t)
	testutil.RequireTool(t, "bash", "sqfsdiff", "unsquashfs", "mksquashfs")
	e.Demo(t, "") // the image the check compares
	in := queryDemo(t, e, "demo")
	description, homepage := demoMeta(t, e)

	theirs := nixpkgsRecipe(t, e, in, description, homepage, "")
	script, env := checkScript(t, e, theirs, "nixpkgs-equivalence")
	out, err := runCheck(t, script, env)
	require.NoError(t, err, "the equivalence check fails on nixpkgs' recipe vs ours:\n%s", out)
	t.Logf("nixpkgs' recipe vs ours:\n%s", out)
	// It did compare: sqfsdiff saw the differences the check allows.
	assert.Contains(t, out, "root-fs-scaffold-1.0")
	assert.Contains(t, out, "has different permissions")

	// A difference outside the allowed set fails the check.
	wrong := nixpkgsRecipe(t, e, in, description, homepage, "etc/extra")
	script, env = checkScript(t, e, wrong, "nixpkgs-equivalence")
	out, err = runCheck(t, script, env)
	require.Error(t, err, "an extra /etc/extra must fail the check:\n%s", out)
	assert.Contains(t, out, "unexpected differences")
	assert.Contains(t, out, "etc/extra")

	// So does an os-release value that differs from nixpkgs'.
	wrong = nixpkgsRecipe(t, e, in, description+" (changed)", homepage, "")
	script, env = checkScript(t, e, wrong, "nixpkgs-equivalence")
	out, err = runCheck(t, script, env)
	require.Error(t, err, "a different PORTABLE_PRETTY_NAME must fail the check:\n%s", out)
	assert.Contains(t, out, "os-release PORTABLE_PRETTY_NAME")
}

func TestFlakeCheckDemoContentsScript(t *testing.T) {
	e := nixtest.Setup(t)
	testutil.RequireTool(t, "bash", "unsquashfs", "cmp", "diff")
	e.Demo(t, "")
	script, env := checkScript(t, e, "", "demo-contents")
	out, err := runCheck(t, script, env)
	require.NoError(t, err, "%s", out)

	// The check reads the closure it is given: a closure missing a path the
	// image holds must fail it.
	paths, err := os.ReadFile(filepath.Join(env["closure"], "store-paths"))
	require.NoError(t, err)
	lines := strings.Fields(string(paths))
	sort.Strings(lines)
	short := filepath.Join(t.TempDir(), "closure")
	require.NoError(t, os.Mkdir(short, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(short, "store-paths"), []byte(strings.Join(lines[1:], "\n")+"\n"), 0o644))
	env["closure"] = short
	out, err = runCheck(t, script, env)
	require.Error(t, err, "%s", out)
	assert.Contains(t, out, path.Base(lines[0]))
}

// Package nixtest runs real Nix builds of portable service images in tests.
//
// nixpkgs cannot be fetched on the test machines, so the builds use Debian's
// nix-bin (Nix 2.8) as root in single-user mode with the sandbox on, the
// builtins-only nix/portable-service.nix, a statically linked mkportable
// built from this tree, and Debian's static busybox as the demo's program.
//
// Setup prepares all of that once per test process. Env.Build evaluates and
// builds a Nix expression in which these names are bound (prelude.nix):
//
//	portableService   nix/portable-service.nix applied to the built mkportable
//	                  (closure via exportReferencesGraph)
//	demo              the demo's arguments (nix/demo.nix with Debian's busybox);
//	                  `portableService demo` is the demo image
//	busybox           Debian's static busybox in the store (bin/busybox)
//	mkportable        the built mkportable in the store (bin/mkportable)
//	system            builtins.currentSystem
//	pkgsLite          builtins-only stand-ins for nixpkgs helpers (pkgs-lite.nix):
//	                    writeText name text          (builtins.toFile)
//	                    runCommand name env script   (busybox sh, $out, applets on PATH)
//	                    closureInfo { rootPaths }    ($out/store-paths, like nixpkgs')
//	                    portableServiceWithClosureInfo  (portableService fed by closureInfo)
//	                    busybox, mkportable, system
//
// Eval and Instantiate take the same expressions for nix-instantiate.
//
// A fresh Debian machine needs nothing beyond `apt-get install nix-bin
// busybox-static` and root: Nix creates /nix/store and its database on first
// use, and NIX_CONFIG (below) overrides Debian's /etc/nix/nix.conf, which turns
// the sandbox off. Setup proves the sandbox is really on before any test
// relies on it, and fails with the reason when it is not.
package nixtest

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mkportable/mkportable/internal/testutil"
)

// NixConfig is the configuration every Nix command of the harness runs with
// (design.md): sandbox on and no silent fallback to an unsandboxed build, no
// build users (single-user root), no binary caches (offline), and the new
// CLI for `nix hash` and `nix eval`.
//
//nolint:misspell // "substituters" is the name of Nix's setting
const NixConfig = "sandbox = true\n" +
	"sandbox-fallback = false\n" +
	"build-users-group =\n" +
	"substituters =\n" +
	"experimental-features = nix-command flakes\n"

// BusyboxPath is where Debian's busybox-static package installs the binary.
const BusyboxPath = "/bin/busybox"

// Env is the prepared Nix environment shared by the tests of one process.
type Env struct {
	// Repo is the root of the source tree (the directory holding go.mod).
	Repo string
	// Mkportable is the store path holding bin/mkportable, built from Repo
	// with CGO_ENABLED=0.
	Mkportable string
	// Busybox is the store path holding bin/busybox (Debian's static one).
	Busybox string
}

var (
	setupOnce sync.Once
	setupEnv  *Env
	setupErr  error
)

// Setup returns the shared Env, preparing it on first use: it needs root and
// nix-build (testutil: a skip locally, a failure under CI=true), builds
// mkportable, imports it and busybox into the store and checks that builds are
// sandboxed. A failed preparation fails every test that calls Setup.
func Setup(t testing.TB) *Env {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "nix-build", "nix-store", "nix-instantiate", "nix")
	if _, err := os.Stat(BusyboxPath); err != nil {
		testutil.Unavailable(t, "needs Debian's static busybox at "+BusyboxPath+" (apt-get install busybox-static)")
	}
	setupOnce.Do(func() { setupEnv, setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("nixtest: %v", setupErr)
	}
	return setupEnv
}

func setup() (*Env, error) {
	repo, err := findRepo()
	if err != nil {
		return nil, err
	}
	e := &Env{Repo: repo}

	if err := checkStatic(BusyboxPath); err != nil {
		return nil, fmt.Errorf("%w (the sandbox has no libc: install busybox-static, not busybox)", err)
	}

	tmp, err := os.MkdirTemp("", "nixtest-")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary directory: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	// Store paths are named after the directory added: <hash>-mkportable.
	mkDir := filepath.Join(tmp, "mkportable")
	if err := buildMkportable(repo, filepath.Join(mkDir, "bin", "mkportable")); err != nil {
		return nil, err
	}
	if e.Mkportable, err = e.addToStore(mkDir); err != nil {
		return nil, err
	}

	bbDir := filepath.Join(tmp, "busybox")
	if err := copyFile(BusyboxPath, filepath.Join(bbDir, "bin", "busybox"), 0o755); err != nil {
		return nil, err
	}
	if e.Busybox, err = e.addToStore(bbDir); err != nil {
		return nil, err
	}

	if err := e.checkSandbox(); err != nil {
		return nil, err
	}
	return e, nil
}

// findRepo walks up from the working directory (a package directory under
// go test) to the directory whose go.mod names this module.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the source tree: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/mkportable/mkportable\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the source tree: no go.mod of github.com/mkportable/mkportable above the working directory")
		}
		dir = parent
	}
}

// buildMkportable builds cmd/mkportable statically: in the sandbox the
// builder finds no dynamic loader and no libc.
func buildMkportable(repo, out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building mkportable: %w", err)
	}
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, "./cmd/mkportable")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s/cmd/mkportable: %w\n%s", repo, err, output)
	}
	return checkStatic(out)
}

// checkStatic fails for an ELF file that asks for a dynamic loader.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(dst), err)
	}
	if err := os.WriteFile(dst, data, perm); err != nil {
		return fmt.Errorf("writing %s: %w", dst, err)
	}
	return nil
}

func (e *Env) addToStore(dir string) (string, error) {
	out, err := e.Command("nix-store", "--add", dir).Output()
	if err != nil {
		return "", fmt.Errorf("nix-store --add %s: %w%s", dir, err, stderrOf(err))
	}
	return strings.TrimSpace(string(out)), nil
}

// checkSandbox builds a derivation that fails unless it runs in the sandbox
// (no /bin/sh, no host /usr): with sandbox-fallback = false Nix refuses
// rather than falling back, but a machine without user and mount namespaces
// should fail here with the reason, not in the middle of a test.
func (e *Env) checkSandbox() error {
	expr := `pkgsLite.runCommand "nixtest-sandbox-check" { } ''
		if [ -e /bin/sh ] || [ -e /usr ]; then echo "not sandboxed: the host file system is visible" >&2; exit 1; fi
		echo ok > "$out"
	''`
	if _, log, err := e.build(expr); err != nil {
		return fmt.Errorf("the Nix sandbox does not work here (NIX_CONFIG=%q): %w\n%s", NixConfig, err, log)
	}
	return nil
}

// Environ is the environment for Nix commands: the caller's, with NIX_CONFIG
// set and NIX_REMOTE cleared (single-user store, no daemon).
func (e *Env) Environ() []string {
	env := make([]string, 0, len(os.Environ())+2)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NIX_CONFIG=") || strings.HasPrefix(kv, "NIX_REMOTE=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "NIX_CONFIG="+NixConfig)
}

// Command is exec.Command with Environ and the working directory Repo.
func (e *Env) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = e.Environ()
	cmd.Dir = e.Repo
	return cmd
}

// Build nix-builds expr, in which the names listed in the package comment are
// bound, and returns the output path, the build's stderr (evaluation errors,
// traces and the builders' logs) and an error when nix-build fails. It never
// fails the test itself, so tests can expect a failure.
func (e *Env) Build(t testing.TB, expr string) (out string, log string, err error) {
	t.Helper()
	out, log, err = e.build(expr)
	if err != nil {
		t.Logf("nix-build failed: %v", err)
	}
	return out, log, err
}

// Eval evaluates expr (names bound as for Build) strictly and returns its
// value as JSON (nix-instantiate --eval --strict --json).
func (e *Env) Eval(t testing.TB, expr string) (json string, log string, err error) {
	t.Helper()
	out, log, err := e.run("nix-instantiate", []string{"--eval", "--strict", "--json", "--read-write-mode"}, expr)
	if err != nil {
		t.Logf("nix-instantiate --eval failed: %v", err)
	}
	return strings.TrimSpace(out), log, err
}

// Instantiate evaluates expr (names bound as for Build), which must be a
// derivation, and returns its .drv path without building it.
func (e *Env) Instantiate(t testing.TB, expr string) (drv string, log string, err error) {
	t.Helper()
	out, log, err := e.run("nix-instantiate", nil, expr)
	if err != nil {
		t.Logf("nix-instantiate failed: %v", err)
		return "", log, err
	}
	return lastField(out), log, nil
}

func (e *Env) build(expr string) (string, string, error) {
	out, log, err := e.run("nix-build", []string{"--no-out-link"}, expr)
	if err != nil {
		return "", log, err
	}
	if p := lastField(out); p != "" {
		return p, log, nil
	}
	return "", log, errors.New("nix-build printed no output path")
}

// run runs a Nix command on expr wrapped in the prelude's bindings.
func (e *Env) run(name string, args []string, expr string) (stdout, stderr string, err error) {
	full := fmt.Sprintf("let inherit (import %s { mkportablePath = %s; busyboxPath = %s; })\n"+
		"  portableService demo busybox mkportable system pkgsLite;\n"+
		"in\n%s\n",
		filepath.Join(e.Repo, "test", "internal", "nixtest", "prelude.nix"),
		strconv.Quote(e.Mkportable), strconv.Quote(e.Busybox), expr)
	cmd := e.Command(name, append(append([]string{}, args...), "--show-trace", "-E", full)...)
	var out, log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &log
	if err := cmd.Run(); err != nil {
		return out.String(), log.String(), fmt.Errorf("%s: %w: %s", name, err, lastLines(log.String(), 15))
	}
	return out.String(), log.String(), nil
}

func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// Demo builds the demo image with overrides (a Nix attribute set merged into
// the demo's arguments, "" for none) and returns the path of its .raw file.
// A failed build fails the test.
func (e *Env) Demo(t testing.TB, overrides string) string {
	t.Helper()
	if strings.TrimSpace(overrides) == "" {
		overrides = "{ }"
	}
	out, log, err := e.Build(t, "portableService (demo // ("+overrides+"))")
	if err != nil {
		t.Fatalf("building the demo with %s: %v\n%s", overrides, err, log)
	}
	raws, err := filepath.Glob(filepath.Join(out, "*.raw"))
	if err != nil || len(raws) != 1 {
		t.Fatalf("demo output %s: want exactly one .raw file, found %v (%v)", out, raws, err)
	}
	return raws[0]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return ": " + strings.TrimSpace(string(ee.Stderr))
	}
	return ""
}

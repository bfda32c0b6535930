// Package nix holds the integration tests of the Nix side: real sandboxed
// builds through nix/portable-service.nix (test/internal/nixtest), the
// flake's outputs evaluated with a stand-in for nixpkgs, and the syntax of
// every .nix file.
package nix

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/test/internal/nixtest"
)

// flakeLet binds `self` to the flake's outputs computed with
// testdata/stub-nixpkgs.nix as the nixpkgs input, and `stubPkgs` to the
// stand-in's package set for the current system.
const flakeLet = `let
  stub = import ./test/nix/testdata/stub-nixpkgs.nix { inherit mkportable busybox pkgsLite; };
  stubPkgs = stub.legacyPackages.${system};
  self = (import ./flake.nix).outputs { inherit self; nixpkgs = stub; };
in
`

func TestFlakeOutputsEvaluate(t *testing.T) {
	e := nixtest.Setup(t)
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("the flake has no outputs for %s", runtime.GOARCH)
	}
	out, log, err := e.Eval(t, flakeLet+`{
  packages = builtins.mapAttrs (_: builtins.attrNames) self.packages;
  checks = builtins.mapAttrs (_: builtins.attrNames) self.checks;
  devShells = builtins.mapAttrs (_: builtins.attrNames) self.devShells;
  formatter = builtins.attrNames self.formatter;
  overlay = builtins.isFunction self.overlays.default;
  # Every check, package and shell instantiates, for both systems.
  drvs = builtins.mapAttrs (system: checks: builtins.mapAttrs (_: d: d.drvPath) (checks // self.devShells.${system})) self.checks;
  demoDrv = self.packages.${system}.demo-portable.drvPath;
  demoImage = self.packages.${system}.demo-portable.image;
  mkportableSystem = self.packages.${system}.mkportable.system;
  # package.nix's source: the Go tree, without the Nix files and docs.
  src = let s = self.packages.${system}.mkportable.src; in
    map (p: builtins.pathExists "${s}/${p}") [ "go.mod" "go.sum" "cmd/mkportable/main.go" "pkg" "nix" "flake.nix" "docs" ".git" ];
  # The same demo, through the harness (our function applied directly),
  # through lib.portableServiceFor and through the overlay: one derivation.
  harnessDrv = (portableService demo).drvPath;
  libDrv = ((self.lib.portableServiceFor stubPkgs) demo).drvPath;
  overlayDrv = ((stubPkgs.extend self.overlays.default).portableService demo).drvPath;
  # nix/default.nix, for users without flakes.
  defaultNixDrv = (import ./nix/default.nix { pkgs = stubPkgs; }).demo-portable.drvPath;
}`)
	require.NoError(t, err, log)

	var got struct {
		Packages         map[string][]string
		Checks           map[string][]string
		DevShells        map[string][]string
		Formatter        []string
		Overlay          bool
		Drvs             map[string]map[string]string
		DemoDrv          string
		DemoImage        string
		MkportableSystem string
		Src              []bool
		HarnessDrv       string
		LibDrv           string
		OverlayDrv       string
		DefaultNixDrv    string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)

	systems := []string{"aarch64-linux", "x86_64-linux"}
	for _, sys := range systems {
		assert.Equal(t, []string{"default", "demo-portable", "mkportable"}, got.Packages[sys], sys)
		assert.Equal(t, []string{"bad-unit-name", "demo-contents", "demo-portable", "nixpkgs-equivalence", "portabled-vm"}, got.Checks[sys], sys)
		assert.Equal(t, []string{"default"}, got.DevShells[sys], sys)
		for name, drv := range got.Drvs[sys] {
			assert.Regexp(t, `^/nix/store/[0-9a-z]{32}-.*\.drv$`, drv, "%s.%s", sys, name)
		}
	}
	assert.Len(t, got.Packages, 2)
	assert.Equal(t, systems, got.Formatter)
	assert.True(t, got.Overlay)

	assert.Equal(t, got.HarnessDrv, got.DemoDrv, "packages.demo-portable is the tested demo")
	assert.Equal(t, got.HarnessDrv, got.LibDrv, "lib.portableServiceFor gives the same derivation")
	assert.Equal(t, got.HarnessDrv, got.OverlayDrv, "the overlay's portableService gives the same derivation")
	assert.Equal(t, got.HarnessDrv, got.DefaultNixDrv, "nix/default.nix's demo-portable is the same derivation")
	assert.Regexp(t, regexp.MustCompile(`^/nix/store/[0-9a-z]{32}-demo-img-1\.0/demo_1\.0\.raw$`), got.DemoImage)
	assert.Contains(t, systems, got.MkportableSystem)
	assert.Equal(t, []bool{true, true, true, true, false, false, false, false}, got.Src,
		"source has go.mod go.sum cmd/mkportable/main.go pkg, not nix flake.nix docs .git")
}

// The flake's bad-unit-name check, built here: mkportable must reject the
// unit "demox.service" (systemd's prefix rule) with its own message, which
// the check's expectBuildFailure wrapper greps for.
func TestFlakeBadUnitCheckBuilds(t *testing.T) {
	e := nixtest.Setup(t)
	out, log, err := e.Build(t, flakeLet+`self.checks.${system}.bad-unit-name`)
	require.NoError(t, err, log)
	data, err := os.ReadFile(filepath.Join(out, "build.log"))
	require.NoError(t, err)
	assert.Contains(t, string(data), "demox.service")
}

// flake.lock pins the nixpkgs revision from design.md, in the version 7
// format, and its "original" is flake.nix's input URL (otherwise Nix would
// want to re-lock, which needs the network).
func TestFlakeLock(t *testing.T) {
	e := nixtest.Setup(t)
	data, err := os.ReadFile(filepath.Join(e.Repo, "flake.lock"))
	require.NoError(t, err)
	var lock struct {
		Version int
		Root    string
		Nodes   map[string]struct {
			Inputs   map[string]string
			Locked   map[string]any
			Original map[string]any
		}
	}
	require.NoError(t, json.Unmarshal(data, &lock))
	assert.Equal(t, 7, lock.Version)
	assert.Equal(t, "root", lock.Root)
	assert.Equal(t, map[string]string{"nixpkgs": "nixpkgs"}, lock.Nodes["root"].Inputs)
	n := lock.Nodes["nixpkgs"]
	assert.Equal(t, map[string]any{
		"type": "github", "owner": "NixOS", "repo": "nixpkgs",
		"rev":          "83199d0d373dd3ac2b9a1996b1d0263f76ab7a4c",
		"narHash":      "sha256-VYXO0XZlgj06dxJZRhrD3WoSsvq/c7+/Akyoa22pefw=",
		"lastModified": float64(1787900134),
	}, n.Locked)

	url, log, err := e.Eval(t, `(import ./flake.nix).inputs.nixpkgs.url`)
	require.NoError(t, err, log)
	assert.Equal(t, `"github:`+n.Original["owner"].(string)+"/"+n.Original["repo"].(string)+"/"+n.Original["ref"].(string)+`"`, url)
}

// Nix itself reads the lock file and finds it matches flake.nix (no
// network: it only resolves, it does not fetch nixpkgs).
func TestFlakeMetadataOffline(t *testing.T) {
	e := nixtest.Setup(t)
	out, err := e.Command("nix", "flake", "metadata", "--offline", "--json", "--no-update-lock-file", "path:"+e.Repo).Output()
	require.NoError(t, err, "nix flake metadata: %v", err)
	var meta struct {
		Locks struct {
			Nodes map[string]struct {
				Locked map[string]any
			}
		}
	}
	require.NoError(t, json.Unmarshal(out, &meta), string(out))
	assert.Equal(t, "83199d0d373dd3ac2b9a1996b1d0263f76ab7a4c", meta.Locks.Nodes["nixpkgs"].Locked["rev"])
}

// stubFlake writes a flake that stands in for nixpkgs, for the flake CLI
// (`--override-input nixpkgs path:DIR`). It evaluates in pure mode: the
// built mkportable and busybox are files of the stub flake itself, so they
// get the same store paths as in the harness.
func stubFlake(t *testing.T, e *nixtest.Env, system string) string {
	t.Helper()
	dir := t.TempDir()
	for _, c := range []struct{ src, dst string }{
		{filepath.Join(e.Repo, "test/nix/testdata/stub-nixpkgs.nix"), "stub-nixpkgs.nix"},
		{filepath.Join(e.Repo, "test/internal/nixtest/pkgs-lite.nix"), "pkgs-lite.nix"},
		{filepath.Join(e.Mkportable, "bin/mkportable"), "mkportable/bin/mkportable"},
		{filepath.Join(e.Busybox, "bin/busybox"), "busybox/bin/busybox"},
	} {
		data, err := os.ReadFile(c.src)
		require.NoError(t, err)
		dst := filepath.Join(dir, c.dst)
		require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
		require.NoError(t, os.WriteFile(dst, data, 0o755))
	}
	flake := `{
  outputs = _:
    let
      mkportable = builtins.path { path = ./mkportable; name = "mkportable"; };
      busybox = builtins.path { path = ./busybox; name = "busybox"; };
      pkgsLite = import ./pkgs-lite.nix { inherit busybox mkportable; system = "` + system + `"; };
    in
    import ./stub-nixpkgs.nix { inherit mkportable busybox pkgsLite; };
}
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "flake.nix"), []byte(flake), 0o644))
	return dir
}

// The flake through Nix's own flake CLI, in pure evaluation (where
// builtins.currentSystem does not exist, so the builder's system must come
// from the mkportable derivation): `nix flake check` accepts the outputs'
// shapes, `nix flake show` lists them, and `nix build` builds the demo (the
// same derivation the harness builds) and the bad-unit-name check.
func TestFlakeCLIWithStubNixpkgs(t *testing.T) {
	e := nixtest.Setup(t)
	sysJSON, log, err := e.Eval(t, "system")
	require.NoError(t, err, log)
	var system string
	require.NoError(t, json.Unmarshal([]byte(sysJSON), &system))
	stub := stubFlake(t, e, system)
	flakeArgs := []string{"--no-write-lock-file", "--override-input", "nixpkgs", "path:" + stub}
	nix := func(args ...string) (string, error) {
		t.Helper()
		cmd := e.Command("nix", args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return string(out), fmt.Errorf("nix %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return string(out), nil
	}
	repo := "path:" + e.Repo

	_, err = nix(append([]string{"flake", "check", "--no-build"}, append(flakeArgs, repo)...)...)
	require.NoError(t, err)

	out, err := nix(append([]string{"flake", "show", "--json"}, append(flakeArgs, repo)...)...)
	require.NoError(t, err)
	var show map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &show), out)
	for _, k := range []string{"packages", "checks", "devShells", "formatter", "overlays", "lib"} {
		assert.Contains(t, show, k)
	}

	out, err = nix(append([]string{"build", "--no-link", "--json"}, append(flakeArgs, repo+"#demo-portable")...)...)
	require.NoError(t, err)
	var built []struct{ Outputs map[string]string }
	require.NoError(t, json.Unmarshal([]byte(out), &built), out)
	require.Len(t, built, 1)
	assert.Equal(t, filepath.Dir(e.Demo(t, "")), built[0].Outputs["out"], "the flake's demo is the harness's demo")

	_, err = nix(append([]string{"build", "--no-link"}, append(flakeArgs, repo+"#checks."+system+".bad-unit-name")...)...)
	require.NoError(t, err)
}

package nix

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/test/internal/nixtest"
)

// nix/package.nix as buildGoModule would build it, minus nixpkgs: its
// filtered source (the store path package.nix computes), `go mod vendor`
// hashed as the go-modules derivation's output must hash to vendorHash, and
// the build with -mod=vendor, -trimpath, no network and no cgo must give a
// static binary that runs.
func TestPackageBuildsLikeBuildGoModule(t *testing.T) {
	e := nixtest.Setup(t)
	testutil.RequireTool(t, "go", "cp")
	out, log, err := e.Eval(t, flakeLet+`let p = self.packages.${system}.mkportable; in {
  src = toString p.src;
  inherit (p) vendorHash ldflags subPackages version;
  cgo = p.env.CGO_ENABLED;
}`)
	require.NoError(t, err, log)
	var pkg struct {
		Src, VendorHash, Version string
		Ldflags, SubPackages     []string
		Cgo                      int
	}
	require.NoError(t, json.Unmarshal([]byte(out), &pkg), out)
	require.Equal(t, 0, pkg.Cgo)
	require.Equal(t, []string{"cmd/mkportable"}, pkg.SubPackages)

	// A writable copy, as the builder unpacks src.
	work := filepath.Join(t.TempDir(), "source")
	cp, err := exec.Command("cp", "-r", pkg.Src, work).CombinedOutput()
	require.NoError(t, err, "%s", cp)
	require.NoError(t, exec.Command("chmod", "-R", "u+w", work).Run())
	for _, absent := range []string{"nix", "docs", "flake.nix", ".git", "vendor"} {
		assert.NoFileExists(t, filepath.Join(work, absent), "package.nix's source filter keeps %s", absent)
	}

	goCmd := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), append([]string{"GOWORK=off", "GOTOOLCHAIN=local", "GO111MODULE=on"}, env...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s: %s", strings.Join(args, " "), out)
	}
	goCmd([]string{"GOFLAGS="}, "mod", "vendor")
	hash, err := e.Command("nix", "hash", "path", "--type", "sha256", filepath.Join(work, "vendor")).Output()
	require.NoError(t, err)
	assert.Equal(t, pkg.VendorHash, strings.TrimSpace(string(hash)),
		"vendorHash is stale: run nix/update-vendor-hash.sh (docs/portable-service.md)")

	bin := filepath.Join(t.TempDir(), "mkportable")
	goCmd([]string{"GOFLAGS=-mod=vendor -trimpath", "GOPROXY=off", "GOSUMDB=off", "CGO_ENABLED=0"},
		"build", "-ldflags="+strings.Join(pkg.Ldflags, " "), "-o", bin, "./"+pkg.SubPackages[0])
	f, err := elf.Open(bin)
	require.NoError(t, err)
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "statically linked")
	}
	require.NoError(t, f.Close())
	usage, _ := exec.Command(bin, "help").CombinedOutput()
	assert.Contains(t, string(usage), "usage: mkportable")
}

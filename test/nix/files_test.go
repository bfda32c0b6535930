package nix

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/test/internal/nixtest"
)

// Every .nix file of the tree parses (nix-instantiate --parse), including
// the ones only nixpkgs users evaluate.
func TestEveryNixFileParses(t *testing.T) {
	e := nixtest.Setup(t)
	var files []string
	require.NoError(t, filepath.WalkDir(e.Repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || strings.HasPrefix(d.Name(), "result")) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".nix") {
			files = append(files, p)
		}
		return nil
	}))
	for _, want := range []string{"flake.nix", "nix/portable-service.nix", "nix/package.nix", "nix/demo.nix"} {
		assert.Contains(t, files, filepath.Join(e.Repo, want))
	}
	for _, f := range files {
		out, err := e.Command("nix-instantiate", "--parse", f).CombinedOutput()
		assert.NoError(t, err, "%s: %s", f, out)
	}
}

// nix/package.nix's vendorHash matches `go mod vendor` of this tree: it goes
// stale whenever go.mod, go.sum or the imported packages change, and then
// buildGoModule fails for every flake user. nix/update-vendor-hash.sh fixes
// it (docs/portable-service.md).
func TestVendorHashUpToDate(t *testing.T) {
	e := nixtest.Setup(t)
	testutil.RequireTool(t, "bash", "go", "git")
	cmd := exec.Command("bash", "nix/update-vendor-hash.sh", "--check")
	cmd.Dir = e.Repo
	cmd.Env = e.Environ()
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "%s", out)
}

// The scripts shipped under nix/ are valid bash.
func TestScriptsParse(t *testing.T) {
	e := nixtest.Setup(t)
	testutil.RequireTool(t, "bash")
	scripts, err := filepath.Glob(filepath.Join(e.Repo, "nix", "*.sh"))
	require.NoError(t, err)
	require.NotEmpty(t, scripts)
	for _, s := range scripts {
		out, err := exec.Command("bash", "-n", s).CombinedOutput()
		assert.NoError(t, err, "%s: %s", s, out)
	}
}

// nix/build-demo.sh (the README's way to build the demo without nixpkgs)
// builds the same image as the harness and prints its path.
func TestBuildDemoScript(t *testing.T) {
	e := nixtest.Setup(t)
	testutil.RequireTool(t, "bash", "go")
	cmd := exec.Command("bash", "nix/build-demo.sh")
	cmd.Dir = e.Repo
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s", stderr.String())
	assert.Equal(t, e.Demo(t, "")+"\n", string(out))
}

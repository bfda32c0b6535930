package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunDispatch(t *testing.T) {
	t.Setenv("NIX_ATTRS_JSON_FILE", "")
	t.Setenv("NIX_BUILD_TOP", "")
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run(nil, &out, &errb), "no command")
	assert.Contains(t, errb.String(), "usage: mkportable COMMAND")
	for _, name := range []string{"build", "inspect", "pack"} {
		assert.Contains(t, errb.String(), "\n  "+name+" ", "usage lists %s", name)
	}

	errb.Reset()
	assert.Equal(t, 2, run([]string{"frobnicate"}, &out, &errb))
	assert.Contains(t, errb.String(), `unknown command "frobnicate"`)

	errb.Reset()
	assert.Equal(t, 2, run([]string{"--help"}, &out, &errb))
	assert.NotContains(t, errb.String(), "unknown command", "help is not an unknown command")

	// Errors are prefixed with the command, usage errors exit 2.
	errb.Reset()
	assert.Equal(t, 2, run([]string{"pack", "only-one-arg"}, &out, &errb))
	assert.Contains(t, errb.String(), "mkportable pack: usage: want SRC_DIR and OUT_FILE")
}

func TestIsNixBuilder(t *testing.T) {
	t.Setenv("NIX_ATTRS_JSON_FILE", "")
	t.Setenv("NIX_BUILD_TOP", "")
	assert.False(t, isNixBuilder())
	t.Setenv("NIX_BUILD_TOP", "/build")
	assert.True(t, isNixBuilder(), "a derivation's builder runs with NIX_BUILD_TOP set")
}

// TestVersionStamp builds the command with the -X flag nix/package.nix passes
// and checks the stamped version is what `version` and `--version` print.
func TestVersionStamp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "mkportable")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=9.8.7-test", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, arg := range []string{"version", "--version"} {
		got, err := exec.Command(bin, arg).Output()
		require.NoError(t, err, arg)
		assert.Equal(t, "mkportable 9.8.7-test\n", string(got), arg)
	}

	var o, e bytes.Buffer
	assert.Equal(t, 0, run([]string{"version"}, &o, &e))
	assert.Equal(t, "mkportable dev\n", o.String(), "unstamped builds say dev")
	assert.Equal(t, 2, run([]string{"version", "x"}, &o, &e))
}

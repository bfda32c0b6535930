package nixtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetupImportsStaticTools(t *testing.T) {
	e := Setup(t)
	for _, p := range []string{
		filepath.Join(e.Mkportable, "bin", "mkportable"),
		filepath.Join(e.Busybox, "bin", "busybox"),
	} {
		require.True(t, strings.HasPrefix(p, "/nix/store/"), p)
		require.NoError(t, checkStatic(p))
	}
	want, err := os.ReadFile(BusyboxPath)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(e.Busybox, "bin", "busybox"))
	require.NoError(t, err)
	assert.Equal(t, want, got, "the store's busybox is Debian's")
}

// The closureInfo stand-in must list exactly the closure Nix itself reports
// for the same roots (nix-store --query --requisites), or the closureInfo
// tests would check the builder against a wrong input.
func TestClosureInfoMatchesNixStore(t *testing.T) {
	e := Setup(t)
	// Roots with references (the units point at busybox) and without.
	out, log, err := e.Build(t, `pkgsLite.closureInfo { rootPaths = demo.units ++ demo.contents; }`)
	require.NoError(t, err, log)
	data, err := os.ReadFile(filepath.Join(out, "store-paths"))
	require.NoError(t, err)
	got := strings.Fields(string(data))

	rootsOut, err := e.Command("nix-instantiate", "--eval", "--strict", "--json", "-E",
		`let p = import ./test/internal/nixtest/prelude.nix { mkportablePath = "`+e.Mkportable+
			`"; busyboxPath = "`+e.Busybox+`"; }; in map toString (p.demo.units ++ p.demo.contents)`).Output()
	require.NoError(t, err, stderrOf(err))
	var roots []string
	require.NoError(t, json.Unmarshal(rootsOut, &roots))
	require.Len(t, roots, 4)

	reqOut, err := e.Command("nix-store", append([]string{"--query", "--requisites"}, roots...)...).Output()
	require.NoError(t, err, stderrOf(err))
	want := strings.Fields(string(reqOut))
	sort.Strings(want)

	assert.Equal(t, want, got)
	assert.Contains(t, got, e.Busybox, "references of the units are followed")
}

func TestBuildReportsFailures(t *testing.T) {
	e := Setup(t)
	_, log, err := e.Build(t, `pkgsLite.runCommand "nixtest-fails" { } "echo expected-failure-marker >&2; exit 7"`)
	require.Error(t, err)
	assert.Contains(t, log, "expected-failure-marker")
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The attrs captured from a real Nix build and the store copy they name
// (pkg/portable/testdata, made by gen-attrs.sh).
var (
	realAttrs, _ = filepath.Abs("../../pkg/portable/testdata/real-attrs.json")
	realStore, _ = filepath.Abs("../../pkg/portable/testdata/store")
)

const (
	realTools = "/nix/store/l0pickwlklh330vakq16c84zak6p890p-demo-tools-1.0"
	realWWW   = "/nix/store/nwlmnnbiv4xdy9nvnw353iygifmy3w6b-demo-www"
)

// clearNixEnv makes sure the test does not look like a Nix builder.
func clearNixEnv(t *testing.T) {
	t.Setenv("NIX_ATTRS_JSON_FILE", "")
	t.Setenv("NIX_BUILD_TOP", "")
	t.Setenv("SOURCE_DATE_EPOCH", "")
}

func runBuildCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"build"}, args...), &stdout, &stderr)
	return code, stderr.String()
}

// rawFiles lists the .raw files and leftover temporaries in dir.
func rawFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestBuildCmdFromAttrs(t *testing.T) {
	clearNixEnv(t)
	out := t.TempDir()
	code, stderr := runBuildCmd(t, "--attrs", realAttrs, "--store-root", realStore, "--out", out, "--verify-nar-hash")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, []string{"demo_1.0.raw"}, rawFiles(t, out))
	assert.Contains(t, stderr, "verify: NAR hashes of 4 store paths match")
	assert.Contains(t, stderr, "wrote "+filepath.Join(out, "demo_1.0.raw"))

	rep, code := inspectJSON(t, filepath.Join(out, "demo_1.0.raw"))
	assert.Equal(t, 0, code, "%v", rep.Problems)
	assert.Equal(t, "demo", rep.OSRelease["PORTABLE_PREFIXES"])
	assert.Len(t, rep.StorePaths, 4)
	assert.Len(t, rep.Units, 2)
}

// TestBuildCmdAsNixBuilder runs the command the way Nix 2.8 does: no
// flags but the store root, NIX_ATTRS_JSON_FILE naming a host path that
// does not exist in the sandbox, the attrs in $NIX_BUILD_TOP/.attrs.json and
// the output directory from outputs.out.
func TestBuildCmdAsNixBuilder(t *testing.T) {
	clearNixEnv(t)
	top := t.TempDir()
	out := filepath.Join(t.TempDir(), "out")
	data, err := os.ReadFile(realAttrs)
	require.NoError(t, err)
	var attrs map[string]any
	require.NoError(t, json.Unmarshal(data, &attrs))
	attrs["outputs"] = map[string]string{"out": out}
	data, err = json.Marshal(attrs)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(top, ".attrs.json"), data, 0o644))
	t.Setenv("NIX_ATTRS_JSON_FILE", "/tmp/nix-build-demo.drv-0/.attrs.json-does-not-exist")
	t.Setenv("NIX_BUILD_TOP", top)

	code, stderr := runBuildCmd(t, "--store-root", realStore)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, []string{"demo_1.0.raw"}, rawFiles(t, out))

	// As the builder with args = [ ] (no flags: the real store): a store
	// path that is not on disk fails the build once, naming it, and nothing
	// is written.
	const missing = "/nix/store/00000000000000000000000000000000-missing"
	out2 := filepath.Join(t.TempDir(), "out")
	attrs["outputs"] = map[string]string{"out": out2}
	attrs["contents"] = []string{missing}
	attrs["closure"] = []map[string]any{{"path": missing, "references": []string{}}}
	attrs["symlinks"] = []any{}
	attrs["units"] = []string{}
	data, err = json.Marshal(attrs)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(top, ".attrs.json"), data, 0o644))
	var stdout, stderrB bytes.Buffer
	code = run(nil, &stdout, &stderrB)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderrB.String(), "mkportable build:")
	assert.Contains(t, stderrB.String(), "store path missing on disk: "+missing)
	assert.Nil(t, rawFiles(t, out2))
}

func TestBuildCmdFromFlags(t *testing.T) {
	clearNixEnv(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "demo.service"), []byte("[Service]\nExecStart="+realTools+"/bin/demo-hello\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "store-paths"), []byte(realTools+"\n"+realWWW+"\n"), 0o644))
	t.Chdir(dir)
	out := filepath.Join(dir, "out")
	code, stderr := runBuildCmd(t,
		"--pname", "demo", "--version", "2",
		"--unit", "demo.service", // a plain file, relative: name = base name
		"--description", `say "hi"`,
		"--contents", realTools,
		"--symlink", realTools+"/bin/demo-hello:/usr/bin/demo-hello",
		"--closure", "store-paths", "--store-root", realStore,
		"--comp", "zstd -Xcompression-level 3", "--block-size", "128K",
		"--out", out)
	require.Equal(t, 0, code, stderr)
	rep, code := inspectJSON(t, filepath.Join(out, "demo_2.raw"))
	assert.Equal(t, 0, code, "%v", rep.Problems)
	assert.Equal(t, []inspectUnit{{Name: "demo.service", Path: "/etc/systemd/system/demo.service"}}, rep.Units)
	assert.Equal(t, []string{realTools, realWWW}, rep.StorePaths)
	assert.Equal(t, `say "hi"`, rep.OSRelease["PORTABLE_PRETTY_NAME"])
	assert.Equal(t, "2", rep.OSRelease["VERSION_ID"])
}

func TestBuildCmdErrors(t *testing.T) {
	clearNixEnv(t)
	dir := t.TempDir()
	unit := filepath.Join(dir, "demo.service")
	require.NoError(t, os.WriteFile(unit, []byte("[Service]\n"), 0o644))
	badUnit := filepath.Join(dir, "demox.service")
	require.NoError(t, os.WriteFile(badUnit, []byte("[Service]\n"), 0o644))
	broken := filepath.Join(dir, "broken.json")
	require.NoError(t, os.WriteFile(broken, []byte(`{"pname": "demo", "units": [`), 0o644))
	unknown := filepath.Join(dir, "unknown.json")
	require.NoError(t, os.WriteFile(unknown, []byte(`{"pnmae": "demo", "version": "1", "units": []}`), 0o644))

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"broken JSON", nil, []string{"--attrs", broken}, 1, "broken.json"},
		{"unknown key", nil, []string{"--attrs", unknown}, 1, `unknown key "pnmae" (did you mean "pname"?)`},
		{"missing attrs file", nil, []string{"--attrs", filepath.Join(dir, "nope.json")}, 1, "nope.json"},
		{"attrs and flags", nil, []string{"--attrs", realAttrs, "--pname", "x"}, 2, "cannot be combined"},
		{"no input", nil, nil, 2, "no attrs"},
		{"no output dir", nil, []string{"--pname", "demo", "--version", "1", "--unit", unit}, 2, "--out"},
		{"bad symlink flag", nil, []string{"--pname", "demo", "--version", "1", "--unit", unit, "--symlink", "nocolon"}, 2, "OBJECT:LINK"},
		{"positional argument", nil, []string{"extra"}, 2, "unexpected argument"},
		{"prefix rule", nil, []string{"--pname", "demo", "--version", "1", "--unit", badUnit}, 1, "systemd's prefix rule"},
		{"contents without closure", nil, []string{"--pname", "demo", "--version", "1", "--unit", unit, "--contents", realTools}, 1, "no closure given"},
		{"bad SOURCE_DATE_EPOCH", map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, []string{"--pname", "demo", "--version", "1", "--unit", unit}, 1, "SOURCE_DATE_EPOCH"},
		{"bad compressor", nil, []string{"--pname", "demo", "--version", "1", "--unit", unit, "--comp", "rar"}, 1, "squash-compression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			out := filepath.Join(t.TempDir(), "out")
			args := tc.args
			if tc.code == 1 || tc.name == "attrs and flags" || tc.name == "bad symlink flag" {
				args = append(append([]string{}, args...), "--out", out)
			}
			code, stderr := runBuildCmd(t, args...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.want)
			assert.Equal(t, 1, strings.Count(stderr, "mkportable build:"), "one error: %s", stderr)
			assert.Nil(t, rawFiles(t, out), "no output")
		})
	}
}

func TestBuildCmdSourceDateEpoch(t *testing.T) {
	clearNixEnv(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	out := t.TempDir()
	code, stderr := runBuildCmd(t, "--attrs", realAttrs, "--store-root", realStore, "--out", out)
	require.Equal(t, 0, code, stderr)
	data, err := os.ReadFile(filepath.Join(out, "demo_1.0.raw"))
	require.NoError(t, err)
	// Superblock modification_time: bytes 8..11, little-endian
	// (format.adoc "The Superblock").
	got := uint32(data[8]) | uint32(data[9])<<8 | uint32(data[10])<<16 | uint32(data[11])<<24
	assert.EqualValues(t, 1700000000, got)
}

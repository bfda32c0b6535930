package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/pkg/squashfs"
)

// inspectEntry is one entry of a hand-made test image.
type inspectEntry struct {
	typ  squashfs.Type
	data string // regular files
	link string // symlinks
}

func inspectDir() inspectEntry              { return inspectEntry{typ: squashfs.TypeDir} }
func inspectFile(s string) inspectEntry     { return inspectEntry{typ: squashfs.TypeReg, data: s} }
func inspectSymlink(to string) inspectEntry { return inspectEntry{typ: squashfs.TypeSymlink, link: to} }

// goodImageEntries is what a portable image for "demo" needs, written by
// hand (not by pkg/portable), so broken variants can drop or change parts.
func goodImageEntries() map[string]inspectEntry {
	m := map[string]inspectEntry{
		"etc/machine-id":                                     inspectFile(""),
		"etc/resolv.conf":                                    inspectFile(""),
		"etc/os-release":                                     inspectFile("ID=nixos\nPRETTY_NAME=NixOS\nPORTABLE_PREFIXES=demo\n"),
		"etc/systemd/system/demo.service":                    inspectFile("[Service]\nExecStart=/bin/true\n"),
		"etc/systemd/system/other.service":                   inspectFile("[Service]\nExecStart=/bin/true\n"),
		"nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a/bin/x": inspectFile("x"),
		"nix/store/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-b":       inspectFile("b"),
	}
	for _, d := range []string{"proc", "sys", "dev", "run", "tmp", "var/tmp"} {
		m[d] = inspectDir()
	}
	return m
}

func writeInspectImage(t *testing.T, file string, ents map[string]inspectEntry) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), file)
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w, err := squashfs.NewWriter(f, squashfs.Options{})
	require.NoError(t, err)
	names := make([]string, 0, len(ents))
	for n := range ents {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := ents[n]
		h := &squashfs.Header{Name: n, Type: e.typ, Mode: 0o755}
		switch e.typ {
		case squashfs.TypeReg:
			h.Mode, h.Size = 0o644, int64(len(e.data))
		case squashfs.TypeSymlink:
			h.Mode, h.Linkname = 0o777, e.link
		}
		require.NoError(t, w.WriteHeader(h), n)
		if e.typ == squashfs.TypeReg {
			_, err := w.Write([]byte(e.data))
			require.NoError(t, err, n)
		}
	}
	require.NoError(t, w.Close())
	return path
}

func inspectJSON(t *testing.T, img string) (inspectReport, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run([]string{"inspect", "--json", img}, &stdout, &stderr)
	var rep inspectReport
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	return rep, code
}

func problemCodes(rep inspectReport) []string {
	codes := []string{}
	for _, p := range rep.Problems {
		codes = append(codes, p.Code)
	}
	return codes
}

func TestInspectGoodImage(t *testing.T) {
	img := writeInspectImage(t, "demo_1.0.raw", goodImageEntries())
	rep, code := inspectJSON(t, img)
	assert.Equal(t, 0, code)
	assert.True(t, rep.OK)
	assert.Equal(t, img, rep.Image)
	assert.Equal(t, "demo", rep.Name)
	assert.Equal(t, "/etc/os-release", rep.OSReleasePath)
	assert.Equal(t, map[string]string{"ID": "nixos", "PRETTY_NAME": "NixOS", "PORTABLE_PREFIXES": "demo"}, rep.OSRelease)
	assert.Equal(t, []inspectUnit{{Name: "demo.service", Path: "/etc/systemd/system/demo.service"}}, rep.Units,
		"other.service does not match the image name")
	assert.Equal(t, []string{
		"/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a",
		"/nix/store/1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b-b",
	}, rep.StorePaths)
	assert.Empty(t, rep.Problems)

	// The raw JSON has the contract's key names and [] rather than null.
	var stdout bytes.Buffer
	require.Equal(t, 0, run([]string{"inspect", img, "--json"}, &stdout, &bytes.Buffer{}))
	var raw map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &raw))
	for _, k := range []string{"image", "name", "osRelease", "osReleasePath", "units", "storePaths", "problems", "ok"} {
		assert.Contains(t, raw, k)
	}
	assert.Equal(t, []any{}, raw["problems"])

	var human bytes.Buffer
	require.Equal(t, 0, run([]string{"inspect", img}, &human, &bytes.Buffer{}))
	assert.Contains(t, human.String(), "ok: portabled would accept this image")
	assert.Contains(t, human.String(), "/etc/systemd/system/demo.service")
}

func TestInspectOSReleaseLocations(t *testing.T) {
	cases := map[string]func(m map[string]inspectEntry){
		"usr/lib only": func(m map[string]inspectEntry) {
			m["usr/lib/os-release"] = m["etc/os-release"]
			delete(m, "etc/os-release")
		},
		"relative symlink": func(m map[string]inspectEntry) {
			m["usr/lib/os-release"] = m["etc/os-release"]
			m["etc/os-release"] = inspectSymlink("../usr/lib/os-release")
		},
		"absolute symlink resolved in the image": func(m map[string]inspectEntry) {
			m["usr/lib/os-release"] = m["etc/os-release"]
			m["etc/os-release"] = inspectSymlink("/usr/lib/os-release")
		},
	}
	want := map[string]string{
		"usr/lib only":                           "/usr/lib/os-release",
		"relative symlink":                       "/etc/os-release",
		"absolute symlink resolved in the image": "/etc/os-release",
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := goodImageEntries()
			mutate(m)
			rep, code := inspectJSON(t, writeInspectImage(t, "demo_1.raw", m))
			assert.Equal(t, 0, code, "%v", rep.Problems)
			assert.Equal(t, want[name], rep.OSReleasePath)
			assert.Equal(t, "nixos", rep.OSRelease["ID"])
		})
	}
}

func TestInspectBrokenImages(t *testing.T) {
	cases := []struct {
		name   string
		file   string
		mutate func(m map[string]inspectEntry)
		codes  []string
		msg    string
	}{
		{"no os-release", "demo_1.raw", func(m map[string]inspectEntry) { delete(m, "etc/os-release") },
			[]string{codeNoOSRelease}, "/etc/os-release"},
		{"os-release dangling symlink", "demo_1.raw", func(m map[string]inspectEntry) { m["etc/os-release"] = inspectSymlink("/usr/lib/os-release") },
			[]string{codeNoOSRelease}, ""},
		{"no ID", "demo_1.raw", func(m map[string]inspectEntry) { m["etc/os-release"] = inspectFile("NAME=x\nPORTABLE_PREFIXES=demo\n") },
			[]string{codeNoID}, "ID="},
		{"empty ID", "demo_1.raw", func(m map[string]inspectEntry) { m["etc/os-release"] = inspectFile("ID=\n") },
			[]string{codeNoID}, ""},
		{"prefix not listed", "demo_1.raw", func(m map[string]inspectEntry) {
			m["etc/os-release"] = inspectFile("ID=nixos\nPORTABLE_PREFIXES=\"foo demo-x\"\n")
		}, []string{codePrefixNotListed}, `"demo"`},
		{"image renamed", "other_1.raw", func(m map[string]inspectEntry) {},
			[]string{codePrefixNotListed}, `"other"`},
		{"demox does not match demo", "demo_1.raw", func(m map[string]inspectEntry) {
			delete(m, "etc/systemd/system/demo.service")
			m["etc/systemd/system/demox.service"] = inspectFile("[Service]\n")
			m["etc/systemd/system/demo.mount"] = inspectFile("[Mount]\n")
		}, []string{codeNoMatchingUnit}, ""},
		{"unit is an absolute symlink", "demo_1.raw", func(m map[string]inspectEntry) {
			m["etc/systemd/system/demo.service"] = inspectSymlink("/nix/store/0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a-a/bin/x")
		}, []string{codeBadUnitFile}, "followed on the host"},
		{"unit is empty", "demo_1.raw", func(m map[string]inspectEntry) { m["etc/systemd/system/demo.service"] = inspectFile("") },
			[]string{codeBadUnitFile}, "empty"},
		{"mount points missing", "demo_1.raw", func(m map[string]inspectEntry) {
			delete(m, "proc")
			delete(m, "var/tmp")
			m["var"] = inspectDir()
			m["dev"] = inspectFile("not a dir")
		}, []string{codeMissingMountPoint, codeMissingMountPoint, codeMissingMountPoint}, "/proc"},
		{"no machine-id", "demo_1.raw", func(m map[string]inspectEntry) { delete(m, "etc/machine-id") },
			[]string{codeNoMachineID}, "/etc/machine-id"},
		{"no resolv.conf", "demo_1.raw", func(m map[string]inspectEntry) { delete(m, "etc/resolv.conf") },
			[]string{codeNoResolvConf}, "/etc/resolv.conf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := goodImageEntries()
			tc.mutate(m)
			rep, code := inspectJSON(t, writeInspectImage(t, tc.file, m))
			assert.Equal(t, 1, code)
			assert.False(t, rep.OK)
			assert.Equal(t, tc.codes, problemCodes(rep), "%v", rep.Problems)
			if tc.msg != "" && len(rep.Problems) > 0 {
				assert.Contains(t, rep.Problems[0].Message, tc.msg)
			}
		})
	}
}

func TestInspectMountPointMessagesNamePaths(t *testing.T) {
	m := goodImageEntries()
	delete(m, "proc")
	delete(m, "var/tmp")
	m["var"] = inspectDir()
	rep, _ := inspectJSON(t, writeInspectImage(t, "demo_1.raw", m))
	require.Len(t, rep.Problems, 2)
	assert.Contains(t, rep.Problems[0].Message, "/proc ")
	assert.Contains(t, rep.Problems[1].Message, "/var/tmp ")
}

func TestInspectUnitsInUsrLib(t *testing.T) {
	m := goodImageEntries()
	m["usr/lib/systemd/system/demo-web.socket"] = inspectFile("[Socket]\n")
	m["usr/lib/systemd/system/demo.service"] = inspectFile("[Service]\nshadowed\n")
	m["etc/systemd/system/demo@.service"] = inspectSymlink("demo.service")
	rep, code := inspectJSON(t, writeInspectImage(t, "demo_1.raw", m))
	assert.Equal(t, 0, code, "%v", rep.Problems)
	assert.Equal(t, []inspectUnit{
		{Name: "demo.service", Path: "/etc/systemd/system/demo.service"},
		{Name: "demo@.service", Path: "/etc/systemd/system/demo@.service"},
		{Name: "demo-web.socket", Path: "/usr/lib/systemd/system/demo-web.socket"},
	}, rep.Units)
}

func TestInspectUnreadableImage(t *testing.T) {
	img := filepath.Join(t.TempDir(), "demo_1.raw")
	require.NoError(t, os.WriteFile(img, bytes.Repeat([]byte("not squashfs "), 1000), 0o644))
	rep, code := inspectJSON(t, img)
	assert.Equal(t, 1, code)
	assert.Equal(t, []string{codeUnreadableImage}, problemCodes(rep))

	rep, code = inspectJSON(t, filepath.Join(t.TempDir(), "missing.raw"))
	assert.Equal(t, 1, code)
	assert.Equal(t, []string{codeUnreadableImage}, problemCodes(rep))
	assert.Equal(t, "missing", rep.Name)
}

func TestInspectUsage(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, 2, run([]string{"inspect"}, &bytes.Buffer{}, &stderr))
	assert.Equal(t, 2, run([]string{"inspect", "a.raw", "b.raw"}, &bytes.Buffer{}, &stderr))
	assert.Equal(t, 2, run([]string{"inspect", "--bogus", "a.raw"}, &bytes.Buffer{}, &stderr))
}

func TestImageName(t *testing.T) {
	for file, want := range map[string]string{
		"/x/demo_1.0.raw":     "demo",
		"demo_1_2.raw":        "demo",
		"demo.raw":            "demo",
		"demo-web_2024.1.raw": "demo-web",
	} {
		assert.Equal(t, want, imageName(file), file)
	}
}

var _ fs.FS = (*squashfs.Reader)(nil)

// TestInspectOversizedOSRelease: inspect reads os-release through a size cap,
// so an image claiming a huge file cannot make it allocate that much; such a
// file counts as unreadable.
func TestInspectOversizedOSRelease(t *testing.T) {
	m := goodImageEntries()
	m["etc/os-release"] = inspectFile("ID=nixos\n" + strings.Repeat("#", maxOSReleaseSize))
	rep, code := inspectJSON(t, writeInspectImage(t, "demo_1.raw", m))
	assert.Equal(t, 1, code)
	assert.Contains(t, problemCodes(rep), codeNoOSRelease)
}

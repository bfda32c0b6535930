package portable

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
)

func strp(s string) *string { return &s }

// osReleaseCases: the golden files in testdata/osrelease were written by
// hand from os-release(5)'s quoting rules, and the values each must read
// back as are listed here.
var osReleaseCases = []struct {
	name string
	spec Spec
	want map[string]string
}{
	{
		name: "demo",
		spec: Spec{Pname: "demo", Version: "1.0",
			Description: strp("Demo \"portable\" service: $HOME `id` \\ done"),
			Homepage:    strp("https://example.org/demo?a=1&b=2")},
		want: map[string]string{
			"PORTABLE_PRETTY_NAME": "Demo \"portable\" service: $HOME `id` \\ done",
			"HOME_URL":             "https://example.org/demo?a=1&b=2",
		},
	},
	{
		name: "newline-injection",
		spec: Spec{Pname: "demo", Version: "1.0",
			Description: strp("first line\nID=evil\n  PORTABLE_PREFIXES=evil\n")},
		want: map[string]string{"PORTABLE_PRETTY_NAME": "first line ID=evil PORTABLE_PREFIXES=evil"},
	},
	{
		name: "minimal",
		spec: Spec{Pname: "my-svc", Version: "2024.01.02-rc1", Homepage: strp("")},
		want: map[string]string{},
	},
	{
		name: "shell-specials",
		spec: Spec{Pname: "demo", Version: "1.0", Description: strp("it's $(reboot) \\")},
		want: map[string]string{"PORTABLE_PRETTY_NAME": "it's $(reboot) \\"},
	},
}

func wantKeys(s Spec, extra map[string]string) map[string]string {
	m := map[string]string{
		"ID": "nixos", "PRETTY_NAME": "NixOS", "BUILD_ID": "rolling",
		"VERSION_ID": s.Version, "PORTABLE_ID": s.Pname, "PORTABLE_PREFIXES": s.Pname,
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestOSReleaseGolden(t *testing.T) {
	for _, tc := range osReleaseCases {
		t.Run(tc.name, func(t *testing.T) {
			golden, err := os.ReadFile(filepath.Join("testdata/osrelease", tc.name+".golden"))
			require.NoError(t, err)
			got := OSRelease(&tc.spec)
			assert.Equal(t, string(golden), string(got))
			assert.Equal(t, wantKeys(tc.spec, tc.want), ParseOSRelease(got))
		})
	}
}

// TestOSReleaseThroughShell reads every golden file with a real POSIX
// shell, an independent parser of the same quoting: each key must hold the
// intended value and no other key may appear.
func TestOSReleaseThroughShell(t *testing.T) {
	sh := testutil.RequireTool(t, "sh")
	for _, tc := range osReleaseCases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "os-release")
			require.NoError(t, os.WriteFile(file, OSRelease(&tc.spec), 0o644))
			want := wantKeys(tc.spec, tc.want)
			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			// Print the variables the file defines (set -a exports them;
			// env -i starts from nothing so only they and the shell's own
			// appear), NUL-separated so newlines would show.
			script := `set -a; . "$1"; set +a; env -0`
			out, err := exec.Command("env", "-i", sh, "-c", script, "sh", file).Output()
			require.NoError(t, err)
			got := map[string]string{}
			for _, kv := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "PWD", "SHLVL", "_", "OLDPWD":
					continue
				}
				got[k] = v
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestParseOSReleaseForeignSyntax(t *testing.T) {
	got := ParseOSRelease([]byte("# comment\n\nNAME='Debian GNU/Linux'\nID=debian\nVERSION=\"12 (\\\"book\\\nworm\\\")\"\nBAD LINE\nEMPTY=\n"))
	assert.Equal(t, map[string]string{
		"NAME":    "Debian GNU/Linux",
		"ID":      "debian",
		"VERSION": `12 ("bookworm")`,
		"EMPTY":   "",
	}, got)
}

package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// brokenCase is a hand-made tree with one defect, and what real systemd 252
// does with it (measured in this container, explained by the systemd source
// named in each case).
type brokenCase struct {
	name   string // image name; the tree is handMade{name} before mutate
	mutate func(t *testing.T, dir string)
	// Exactly one of refused / nsPath is set, or neither for an image that
	// systemd runs.
	refused string // portabled refuses the attach; its error contains this
	nsPath  string // attach works, the service dies at 226/NAMESPACE setting up this mount point
	// inspectCodes are the `mkportable inspect --json` problem codes that
	// name the same defect (none: inspect must call the image ok).
	inspectCodes []string
}

func brokenCases() []brokenCase {
	rm := func(p string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			t.Helper()
			require.NoError(t, os.Remove(filepath.Join(dir, p)))
		}
	}
	editOSRelease := func(edit func(string) string) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			t.Helper()
			p := filepath.Join(dir, "etc/os-release")
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, []byte(edit(string(b))), 0o644))
		}
	}
	dropKey := func(key string) func(string) string {
		return func(s string) string {
			var keep []string
			for _, l := range strings.Split(s, "\n") {
				if !strings.HasPrefix(l, key+"=") {
					keep = append(keep, l)
				}
			}
			return strings.Join(keep, "\n")
		}
	}
	mount := func(name, dir string) brokenCase {
		return brokenCase{name: name, mutate: rm(dir), nsPath: "/" + dir,
			inspectCodes: []string{"missing-mount-point"}}
	}
	return []brokenCase{
		// portable.c portable_extract_by_path: no os-release in the image.
		{name: "noosrel", mutate: rm("etc/os-release"),
			refused: "lacks os-release data", inspectCodes: []string{"no-os-release"}},
		// portable.c (systemd >= 251): os-release without ID=.
		{name: "noid", mutate: editOSRelease(dropKey("ID")),
			refused: "os-release metadata lacks the ID field", inspectCodes: []string{"no-id"}},
		// portable.c: no unit file matches the image name (prefix_match).
		{name: "mismatch", mutate: func(t *testing.T, dir string) {
			d := filepath.Join(dir, "etc/systemd/system")
			require.NoError(t, os.Rename(filepath.Join(d, "mismatch.service"), filepath.Join(d, "mismatchx.service")))
		}, refused: "Couldn't find any matching unit files", inspectCodes: []string{"no-matching-unit"}},
		// portable.c: PORTABLE_PREFIXES present but not naming the image.
		{name: "prefixbad", mutate: editOSRelease(func(s string) string {
			return strings.ReplaceAll(s, "PORTABLE_PREFIXES=prefixbad", "PORTABLE_PREFIXES=other")
		}), refused: "are not compatible with portable service image", inspectCodes: []string{"prefix-not-listed"}},
		// The default profile's BindReadOnlyPaths=/etc/machine-id needs a
		// mount point; the image is read-only, so namespace.c cannot make
		// one: exit 226/NAMESPACE.
		{name: "nomachineid", mutate: rm("etc/machine-id"), nsPath: "/etc/machine-id",
			inspectCodes: []string{"no-machine-id"}},
		// BindReadOnlyPaths=-/etc/resolv.conf: the "-" only forgives a
		// missing source; a missing mount point in the image still fails.
		{name: "noresolvconf", mutate: rm("etc/resolv.conf"), nsPath: "/etc/resolv.conf",
			inspectCodes: []string{"no-resolv-conf"}},
		// MountAPIVFS=yes, PrivateDevices=yes, PrivateTmp=yes, the journal
		// sockets under /run: each needs its directory in the image.
		mount("nodev", "dev"), mount("noproc", "proc"), mount("nosys", "sys"),
		mount("norun", "run"), mount("notmp", "tmp"), mount("novartmp", "var/tmp"),
		// PORTABLE_PREFIXES is optional: without it the image name alone
		// selects the units, and the service runs.
		{name: "noprefixes", mutate: editOSRelease(dropKey("PORTABLE_PREFIXES"))},
	}
}

func (c brokenCase) key() string { return "broken." + c.name }

func (c brokenCase) planSystemd(p *plan, image string) {
	k := c.key()
	u := c.name + ".service"
	p.call("mark", k)
	p.step(k+".attach", "portablectl", "attach", "--now", image)
	if c.nsPath != "" {
		p.call("settle", u, "failed")
	} else {
		p.call("settle", u)
	}
	p.step(k+".state", "systemctl", "show", "-p", "ActiveState", "-p", "Result",
		"-p", "ExecMainCode", "-p", "ExecMainStatus", u)
	want := ""
	switch {
	case c.nsPath != "":
		want = "Failed to set up mount namespacing"
	case c.refused == "":
		want = handMade{name: c.name, token: c.token()}.upLine()
	}
	p.step(k+".journal", "journal", k, u, want)
	// Detach whatever got attached, so the next case starts clean; for a
	// refused image this fails, which is fine.
	p.step(k+".detach", "portablectl", "detach", "--now", image)
}

// checkSystemd asserts what portabled did with the image.
func (c brokenCase) checkSystemd(t *testing.T, r *run) {
	k := c.key()
	attach := r.step(t, k+".attach")
	state := unitProps(r.step(t, k+".state").Stdout)
	journal := r.step(t, k+".journal").Stdout
	// On failure: the boot journal's lines about the unit too.
	ctx := r.journalLines(c.name + ".service")
	switch {
	case c.refused != "":
		assert.NotEqual(t, 0, attach.RC, "portabled must refuse the image\n%s", attach)
		assert.Contains(t, attach.Stderr, c.refused, "%s", attach)
		assert.Equal(t, "inactive", state["ActiveState"], "nothing may run: %v\n%s", state, ctx)
	case c.nsPath != "":
		require.Equal(t, 0, attach.RC, "portabled attaches the image\n%s", attach)
		assert.Equal(t, "failed", state["ActiveState"], "%v\n%s", state, ctx)
		assert.Equal(t, "226", state["ExecMainStatus"], "exit 226/NAMESPACE: %v\n%s", state, ctx)
		assert.Contains(t, journal, "Failed to set up mount namespacing: /run/systemd/unit-root"+c.nsPath+": ",
			"the journal names the missing mount point\n%s", ctx)
		assert.Equal(t, 0, r.step(t, k+".detach").RC, "%s", r.step(t, k+".detach"))
	default:
		require.Equal(t, 0, attach.RC, "%s", attach)
		assert.Equal(t, "active", state["ActiveState"], "%v\n%s", state, ctx)
		assert.Contains(t, journal, handMade{name: c.name, token: c.token()}.upLine(), "%s", ctx)
		assert.Equal(t, 0, r.step(t, k+".detach").RC, "%s", r.step(t, k+".detach"))
	}
}

func (c brokenCase) token() string { return "broken-" + c.name + "-page" }

// checkInspect asserts that `mkportable inspect` finds exactly the defect
// portabled tripped over, naming the same thing, and calls the image ok
// exactly when systemd ran it.
func (c brokenCase) checkInspect(t *testing.T, rep inspectReport) {
	want := append([]string{}, c.inspectCodes...)
	sort.Strings(want)
	if len(want) == 0 {
		assert.Empty(t, rep.codes(), "systemd runs this image\n%s", rep.raw)
		assert.True(t, rep.OK, "%s", rep.raw)
		assert.Equal(t, 0, rep.exitCode, "%s", rep.raw)
		return
	}
	assert.Equal(t, want, rep.codes(), "%s", rep.raw)
	assert.False(t, rep.OK, "%s", rep.raw)
	assert.Equal(t, 1, rep.exitCode, "exit 1 when systemd would refuse or fail\n%s", rep.raw)
	if c.nsPath != "" {
		// The same path the journal names after unit-root.
		assert.Contains(t, rep.message(want[0]), c.nsPath, "%s", rep.raw)
	}
}

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mkportable/mkportable/internal/testutil"
)

// TestPortabled boots systemd 252 once and drives portablectl against every
// image; the subtests then assert what the plan recorded.
func TestPortabled(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "systemd-nspawn", "debootstrap", "mksquashfs")
	start := time.Now()
	rootfs := ensureRootfs(t)
	images := t.TempDir()
	p := newPlan()
	var checks []func(t *testing.T, r *run)

	// The reference: a tree packed by squashfs-tools' mksquashfs. It proves
	// the harness (boot, loop devices, portabled, checks) independently of
	// the project's writer, so a failure elsewhere points at our images.
	ref := handMade{name: "reference", port: 8081, token: "reference page 7d1c"}
	refTree := filepath.Join(t.TempDir(), "reference")
	ref.write(t, refTree)
	mksquashfs(t, refTree, filepath.Join(images, "reference_1.raw"), "-comp", "xz")
	refSvc := service{
		key: "reference", image: ctrImages + "/reference_1.raw",
		units: []string{ref.unit()}, main: ref.unit(), url: ref.url(), page: ref.token, upLine: ref.upLine(),
		osRelease: map[string]string{"ID": "e2e", "PORTABLE_PREFIXES": "reference", "PRETTY_NAME": "hand-made reference"},
	}
	refSvc.planInspect(p)
	refSvc.planRun(p, "")
	refSvc.planRun(p, "trusted")
	refSvc.planRun(p, "strict")
	refSvc.planRun(p, "nonetwork")
	checks = append(checks, func(t *testing.T, r *run) {
		t.Run("reference", func(t *testing.T) {
			refSvc.checkInspect(t, r)
			t.Run("default", func(t *testing.T) { refSvc.checkRuns(t, r, "") })
			t.Run("trusted", func(t *testing.T) { refSvc.checkRuns(t, r, "trusted") })
			t.Run("strict", func(t *testing.T) { refSvc.checkNetworkDenied(t, r, "strict") })
			t.Run("nonetwork", func(t *testing.T) { refSvc.checkNetworkDenied(t, r, "nonetwork") })
		})
	})

	// Deliberately broken images: what portabled does with each.
	for i, c := range brokenCases() {
		dir := filepath.Join(t.TempDir(), c.name)
		handMade{name: c.name, port: 8100 + i, token: c.token()}.write(t, dir)
		if c.mutate != nil {
			c.mutate(t, dir)
		}
		raw := c.name + "_1.raw"
		mksquashfs(t, dir, filepath.Join(images, raw), "-comp", "xz")
		c.planSystemd(p, ctrImages+"/"+raw)
		checks = append(checks, func(t *testing.T, r *run) {
			t.Run("broken/"+c.name, func(t *testing.T) { c.checkSystemd(t, r) })
		})
	}

	t.Logf("images ready after %s", time.Since(start).Round(time.Millisecond))
	r := boot(t, rootfs, images, p)
	for _, check := range checks {
		check(t, r)
	}
	t.Logf("whole test: %s (container run %s)", time.Since(start).Round(time.Millisecond), r.elapsed.Round(time.Millisecond))
}

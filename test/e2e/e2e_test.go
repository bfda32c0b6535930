package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/mkportable/mkportable/internal/testutil"
	"github.com/mkportable/mkportable/test/internal/nixtest"
)

// TestPortabled builds every image on the host, boots systemd 252 once and
// drives portablectl against all of them, then asserts what was recorded.
func TestPortabled(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "systemd-nspawn", "debootstrap", "mksquashfs", "unsquashfs")
	start := time.Now()
	waitRootfs := startRootfs(t)
	nix := nixtest.Setup(t)
	mkportable := filepath.Join(nix.Mkportable, "bin", "mkportable")
	images := keepOnFailure(t, "mkportable-e2e-images-")
	p := newPlan()
	var checks []func(t *testing.T, r *run)
	check := func(name string, f func(t *testing.T, r *run)) {
		checks = append(checks, func(t *testing.T, r *run) { t.Run(name, func(t *testing.T) { f(t, r) }) })
	}

	// The reference: a hand-made tree packed by squashfs-tools' mksquashfs.
	// It proves the harness (boot, loop devices, portabled, the checks)
	// independently of the project's code, so a failure elsewhere points at
	// our images.
	ref := handMade{name: "reference", port: 8081, token: "reference page 7d1c"}
	refTree := filepath.Join(t.TempDir(), "reference")
	ref.write(t, refTree)
	mksquashfs(t, refTree, filepath.Join(images, "reference_1.raw"), "-comp", "xz")
	refSvc := service{
		key: "reference", image: ctrImages + "/reference_1.raw",
		units: []string{ref.unit()}, enabled: []string{ref.unit()}, main: ref.unit(),
		url: ref.url(), page: ref.token, mainLog: ref.upLine(),
		osRelease: map[string]string{"ID": "e2e", "PORTABLE_PREFIXES": "reference", "PRETTY_NAME": "hand-made reference"},
	}
	refSvc.planInspect(p)
	refSvc.planRun(p, "")
	refSvc.planRun(p, "strict")
	check("reference", func(t *testing.T, r *run) {
		refSvc.checkInspect(t, r)
		t.Run("default", func(t *testing.T) { refSvc.checkRuns(t, r, "") })
		t.Run("strict", func(t *testing.T) { refSvc.checkNetworkDenied(t, r, "strict", 0) })
	})

	// The demo, built by real Nix through nix/portable-service.nix.
	demo := demoService(t, nix, mkportable, images, "demo", "")
	demo.planInspect(p)
	for _, mode := range []string{"default", "trusted", "strict", "nonetwork", runtimeMode, copyMode, enableMode, reattachMode} {
		demo.planRun(p, mode)
	}
	check("demo", func(t *testing.T, r *run) {
		demo.checkInspect(t, r)
		t.Run("default", func(t *testing.T) { demo.checkRuns(t, r, "default") })
		t.Run("trusted", func(t *testing.T) { demo.checkRuns(t, r, "trusted") })
		// demo.service has Restart=on-failure: it is restarted five times,
		// fails the same way each time, then the start limit stops it.
		t.Run("strict", func(t *testing.T) { demo.checkNetworkDenied(t, r, "strict", 5) })
		t.Run("nonetwork", func(t *testing.T) { demo.checkNetworkDenied(t, r, "nonetwork", 5) })
		t.Run("runtime", func(t *testing.T) { demo.checkRuns(t, r, runtimeMode) })
		t.Run("copy", func(t *testing.T) { demo.checkRuns(t, r, copyMode) })
		t.Run("enable", func(t *testing.T) { demo.checkRuns(t, r, enableMode) })
		t.Run("reattach", func(t *testing.T) { demo.checkRuns(t, r, reattachMode) })
	})

	// The same demo with zstd and 64 KiB blocks: another compressor and
	// block size through the kernel's squashfs driver.
	zstd := demoService(t, nix, mkportable, images, "demo-zstd",
		`{ squash-compression = "zstd"; squash-block-size = "64K"; }`)
	sb := superblockOf(t, filepath.Join(images, "demo-zstd", "demo_1.0.raw"))
	zstd.planInspect(p)
	zstd.planRun(p, "")
	check("demo-zstd", func(t *testing.T, r *run) {
		t.Run("superblock", func(t *testing.T) {
			assert.Contains(t, sb, "Compression zstd\n", sb)
			assert.Contains(t, sb, "Block size 65536\n", sb)
		})
		zstd.checkInspect(t, r)
		t.Run("default", func(t *testing.T) { zstd.checkRuns(t, r, "") })
	})

	// The same rule at build time: a unit that does not match the image
	// name fails the Nix build with mkportable's message, so no image ever
	// reaches portabled (which would refuse it: broken/mismatch below).
	check("nix-build-mismatched-unit", func(t *testing.T, _ *run) {
		out, log, err := nix.Build(t, `portableService (demo // {
  units = demo.units ++ [ (builtins.toFile "demox.service" "[Service]\nExecStart=/bin/true\n") ];
})`)
		require.Error(t, err, "the build must fail; it made %s", out)
		assert.Empty(t, out)
		assert.Contains(t, log, "mkportable build:", "the builder's own message, not an evaluation error")
		assert.Contains(t, log, "demox.service", log)
		assert.Contains(t, log, "prefix rule", log)
	})

	// Deliberately broken images written by `mkportable pack`: portabled
	// and `mkportable inspect` must agree on each.
	for i, c := range brokenCases() {
		dir := filepath.Join(t.TempDir(), c.name)
		handMade{name: c.name, port: 8100 + i, token: c.token()}.write(t, dir)
		if c.mutate != nil {
			c.mutate(t, dir)
		}
		raw := filepath.Join(images, c.name+"_1.raw")
		if out, err := exec.Command(mkportable, "pack", "-quiet", dir, raw).CombinedOutput(); err != nil {
			t.Fatalf("mkportable pack %s: %v\n%s", dir, err, out)
		}
		rep := mkportableInspect(t, mkportable, raw)
		c.planSystemd(p, ctrImages+"/"+filepath.Base(raw))
		check("broken/"+c.name, func(t *testing.T, r *run) {
			t.Run("portabled", func(t *testing.T) { c.checkSystemd(t, r) })
			t.Run("mkportable-inspect", func(t *testing.T) { c.checkInspect(t, rep) })
		})
	}

	t.Logf("images ready after %s", time.Since(start).Round(time.Millisecond))
	rootfs := waitRootfs(t)
	t.Logf("root file system ready after %s", time.Since(start).Round(time.Millisecond))
	r := boot(t, rootfs, images, p)
	for _, f := range checks {
		f(t, r)
	}
	t.Logf("whole test: %s (container run %s)", time.Since(start).Round(time.Millisecond), r.elapsed.Round(time.Millisecond))
}

// demoService builds the demo with overrides through Nix, copies the image
// to images/sub/ (same file name, so the same image name "demo") and
// describes what it must do, from the image itself and the demo's inputs.
func demoService(t *testing.T, nix *nixtest.Env, mkportable, images, sub, overrides string) service {
	t.Helper()
	built := nix.Demo(t, overrides)
	dst := filepath.Join(images, sub, filepath.Base(built))
	mkdirAll(t, filepath.Dir(dst))
	copyFile(t, built, dst, 0o644)

	rep := mkportableInspect(t, mkportable, dst)
	require.True(t, rep.OK, "the demo passes our own inspect\n%s", rep.raw)
	require.Equal(t, "demo", rep.Name)

	var meta struct{ Description, Homepage, Version string }
	js, log, err := nix.Eval(t, `{ Description = demo.description; Homepage = demo.homepage; Version = demo.version; }`)
	require.NoError(t, err, log)
	require.NoError(t, json.Unmarshal([]byte(js), &meta))

	page, err := os.ReadFile(filepath.Join(nix.Repo, "nix", "demo-www", "index.html"))
	require.NoError(t, err)

	s := service{
		key:   sub,
		image: ctrImages + "/" + sub + "/" + filepath.Base(dst),
		main:  "demo.service",
		page:  strings.TrimSpace(string(page)),
		// busybox httpd -v logs each answered request.
		mainLog: "response:200",
		// What portabled reads must be what our builder wrote (issue 3):
		// nixpkgs' keys plus VERSION_ID and PORTABLE_PREFIXES.
		osRelease: map[string]string{
			"ID": "nixos", "PORTABLE_PREFIXES": "demo", "VERSION_ID": meta.Version,
			"PORTABLE_PRETTY_NAME": meta.Description, "HOME_URL": meta.Homepage,
		},
	}
	// And everything `mkportable inspect` read, portabled must read alike.
	for k, v := range rep.OSRelease {
		if want, ok := s.osRelease[k]; ok {
			require.Equal(t, want, v, "mkportable inspect's %s", k)
		}
		s.osRelease[k] = v
	}
	for _, u := range rep.Units {
		s.units = append(s.units, u.Name)
		text := unitFileOf(t, dst, u.Path)
		if hasInstall(text) {
			s.enabled = append(s.enabled, u.Name)
		}
		if isOneshot(text) {
			s.oneshot = append(s.oneshot, u.Name)
		}
	}
	require.Contains(t, s.enabled, s.main)
	// Where httpd listens, from its unit as built.
	m := regexp.MustCompile(`httpd .*-p (127\.0\.0\.1:\d+)`).FindStringSubmatch(
		unitFileOf(t, dst, "/etc/systemd/system/"+s.main))
	require.NotNil(t, m, "%s runs busybox httpd -p 127.0.0.1:PORT", s.main)
	s.url = "http://" + m[1] + "/"
	// The demo's health check fetches the page and logs it: the page's
	// heading must reach the journal.
	if len(s.oneshot) > 0 {
		s.probe = s.oneshot[0]
		s.probeLog = regexp.MustCompile(`<h1>.*</h1>`).FindString(s.page)
		require.NotEmpty(t, s.probeLog, "the demo page has a heading")
	}
	return s
}

// superblockOf prints the superblock as squashfs-tools reads it.
func superblockOf(t *testing.T, image string) string {
	t.Helper()
	out, err := exec.Command("unsquashfs", "-s", image).CombinedOutput()
	require.NoError(t, err, "unsquashfs -s %s\n%s", image, out)
	return string(out)
}

// keepOnFailure makes a temporary directory that outlives a failed test, for
// a look at what was tested.
func keepOnFailure(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kept %s", dir)
			return
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

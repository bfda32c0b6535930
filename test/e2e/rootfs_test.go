package e2e

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mkportable/mkportable/internal/testutil"
)

// The Debian root file system the container boots. Everything that changes
// its contents is part of the cache key, so a changed recipe never reuses an
// old tree.
const (
	rootfsSuite   = "bookworm"
	rootfsVariant = "minbase"
	// systemd-container brings portablectl and systemd-portabled in bookworm;
	// dbus is what portablectl talks to portabled through; curl fetches the
	// demo's page.
	rootfsInclude = "systemd,systemd-container,dbus,curl"
	// rootfsStamp is bumped by hand when a cached tree must not be reused for
	// a reason the other fields do not capture.
	rootfsStamp = "1"
)

// Environment knobs (all optional):
//
//	MKPORTABLE_E2E_CACHE    directory of cached root file systems
//	                        (default /var/cache/mkportable-e2e)
//	MKPORTABLE_E2E_REBUILD  "1": debootstrap afresh even if a cached tree exists
//	MKPORTABLE_E2E_MIRROR   the Debian archive URL to debootstrap from
//	                        (default: the one the host's apt uses for bookworm)
const (
	envCache   = "MKPORTABLE_E2E_CACHE"
	envRebuild = "MKPORTABLE_E2E_REBUILD"
	envMirror  = "MKPORTABLE_E2E_MIRROR"
)

func cacheRoot() string {
	if d := os.Getenv(envCache); d != "" {
		return d
	}
	return "/var/cache/mkportable-e2e"
}

// startRootfs begins making a complete bookworm tree for systemd-nspawn in
// the background (debootstrap takes a minute or two, as long as the image
// builds) and returns the function that waits for it: it logs what
// happened, skips or fails t as testutil says when the host cannot provide
// it, and returns the tree. If the test ends first, debootstrap is killed.
func startRootfs(t *testing.T) func(t *testing.T) string {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan rootfsResult, 1)
	go func() { ch <- prepareRootfs(ctx) }()
	var res *rootfsResult
	wait := func() rootfsResult {
		if res == nil {
			r := <-ch
			res = &r
		}
		return *res
	}
	t.Cleanup(func() {
		cancel()
		wait()
	})
	return func(t *testing.T) string {
		t.Helper()
		r := wait()
		for _, n := range r.notes {
			t.Log(n)
		}
		if r.unavailable != "" {
			testutil.Unavailable(t, r.unavailable)
			return ""
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.dir
	}
}

type rootfsResult struct {
	dir         string
	notes       []string // what was done, for the test log
	unavailable string   // why this host cannot provide the tree
	err         error    // a broken cache or harness
}

// prepareRootfs returns a complete tree, building it with debootstrap when
// no complete cached copy exists. The tree is built under a temporary name
// and renamed into place only when debootstrap succeeded, so an interrupted
// run never leaves a tree that looks reusable. The tree itself is never
// modified afterwards: the container boots it with --volatile=overlay.
func prepareRootfs(ctx context.Context) (res rootfsResult) {
	note := func(format string, args ...any) { res.notes = append(res.notes, fmt.Sprintf(format, args...)) }
	mirror, err := debianMirror()
	if err != nil {
		res.unavailable = fmt.Sprintf("no Debian mirror to debootstrap from: %v", err)
		return res
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{
		rootfsStamp, rootfsSuite, rootfsVariant, rootfsInclude, mirror,
	}, "\n")))
	root := cacheRoot()
	if err := os.MkdirAll(root, 0o755); err != nil {
		res.err = fmt.Errorf("creating the root file system cache: %w", err)
		return res
	}
	dir := filepath.Join(root, rootfsSuite+"-"+hex.EncodeToString(sum[:])[:12])

	unlock, err := lockFile(filepath.Join(root, ".lock"))
	if err != nil {
		res.err = fmt.Errorf("locking the root file system cache: %w", err)
		return res
	}
	defer unlock()

	if os.Getenv(envRebuild) == "1" {
		if err := os.RemoveAll(dir); err != nil {
			res.err = fmt.Errorf("removing the cached root file system for a rebuild: %w", err)
			return res
		}
	}
	if _, err := os.Stat(dir); err == nil {
		err := rootfsComplete(dir)
		if err == nil {
			note("reusing the cached root file system %s (%s=1 rebuilds it)", dir, envRebuild)
			res.dir = dir
			return res
		}
		note("cached root file system %s is incomplete, rebuilding it: %v", dir, err)
		if err := os.RemoveAll(dir); err != nil {
			res.err = fmt.Errorf("removing the incomplete root file system: %w", err)
			return res
		}
	}

	// Leftovers of interrupted runs (any key) are garbage: we hold the lock.
	stale, _ := filepath.Glob(filepath.Join(root, "*.tmp"))
	for _, s := range stale {
		if err := os.RemoveAll(s); err != nil {
			res.err = fmt.Errorf("removing the partial root file system %s: %w", s, err)
			return res
		}
	}
	tmp := dir + ".tmp"
	logPath := dir + ".debootstrap.log"
	start := time.Now()
	note("debootstrap %s from %s into %s", rootfsSuite, mirror, dir)
	if err := debootstrap(ctx, tmp, mirror, logPath); err != nil {
		res.unavailable = fmt.Sprintf("cannot build the Debian root file system: %v\n%s",
			err, tail(readFileString(logPath), 30))
		return res
	}
	if err := rootfsComplete(tmp); err != nil {
		res.err = fmt.Errorf("debootstrap succeeded but %s is incomplete: %w", tmp, err)
		return res
	}
	if err := os.Rename(tmp, dir); err != nil {
		res.err = fmt.Errorf("moving the new root file system into place: %w", err)
		return res
	}
	note("debootstrap took %s", time.Since(start).Round(time.Second))
	res.dir = dir
	return res
}

// rootfsComplete checks that dir holds the programs the plan needs.
func rootfsComplete(dir string) error {
	for _, p := range []string{
		"usr/lib/systemd/systemd", "usr/bin/portablectl", "usr/lib/systemd/systemd-portabled",
		"usr/bin/systemd-dissect", "usr/bin/curl", "usr/bin/dbus-daemon",
		"usr/lib/systemd/portable/profile/default/service.conf",
	} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			return fmt.Errorf("checking %s: %w", dir, err)
		}
	}
	return nil
}

func debootstrap(ctx context.Context, target, mirror, logPath string) error {
	if err := os.RemoveAll(target); err != nil {
		return fmt.Errorf("removing %s: %w", target, err)
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("creating %s: %w", logPath, err)
	}
	defer logf.Close()
	// debootstrap takes one or two minutes; ten is a hung mirror.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "debootstrap",
		"--variant="+rootfsVariant, "--include="+rootfsInclude, rootfsSuite, target, mirror)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Its own process group, so that cancelling kills dpkg and the rest
	// of what it runs, not just the script; and killed with the test
	// process, so no orphan keeps writing into a tree the next run cleans.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("debootstrap %s %s (log %s): %w", rootfsSuite, mirror, logPath, err)
	}
	return nil
}

// debianMirror returns the Debian archive URL the host's apt uses for the
// suite, so the test reaches no host the machine does not already use.
func debianMirror() (string, error) {
	if m := os.Getenv(envMirror); m != "" {
		return m, nil
	}
	files := []string{"/etc/apt/sources.list"}
	for _, pat := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := mirrorFromSources(string(data), rootfsSuite); m != "" {
			return m, nil
		}
	}
	return "", fmt.Errorf("no apt source for suite %s with component main in %s (set %s)",
		rootfsSuite, strings.Join(files, ", "), envMirror)
}

// mirrorFromSources finds, in one apt sources file (one-line "deb URI SUITE
// COMPONENTS" or deb822 stanzas), the first URI that serves exactly suite
// with component main.
func mirrorFromSources(text, suite string) string {
	// deb822: stanzas separated by blank lines.
	fields := map[string]string{}
	flush := func() string {
		defer func() { fields = map[string]string{} }()
		if !hasWord(fields["types"], "deb") || !hasWord(fields["suites"], suite) ||
			!hasWord(fields["components"], "main") {
			return ""
		}
		if uris := strings.Fields(fields["uris"]); len(uris) > 0 {
			return uris[0]
		}
		return ""
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			if m := flush(); m != "" {
				return m
			}
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "deb ") {
			// One-line format; options in [...] may precede the URI.
			rest := strings.TrimSpace(strings.TrimPrefix(line, "deb "))
			if strings.HasPrefix(rest, "[") {
				if i := strings.Index(rest, "]"); i >= 0 {
					rest = rest[i+1:]
				}
			}
			f := strings.Fields(rest)
			if len(f) >= 3 && f[1] == suite && hasWord(strings.Join(f[2:], " "), "main") {
				return f[0]
			}
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return flush()
}

func hasWord(list, w string) bool {
	for _, f := range strings.Fields(list) {
		if f == w {
			return true
		}
	}
	return false
}

// lockFile takes an exclusive flock so that concurrent test processes do not
// debootstrap into the same place.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func readFileString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(reading %s: %v)", path, err)
	}
	return string(b)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

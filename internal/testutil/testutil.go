// Package testutil holds the test preconditions shared by the project's tests.
//
// Tests that need root or an external tool call RequireRoot or RequireTool.
// On a developer's machine a missing precondition skips the test with the
// reason; under CI (CI=true, as .ci/run runs) it fails the test instead, so a
// check that could not run is never reported as passing.
package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI, where nothing may skip.
func InCI() bool {
	return os.Getenv("CI") == "true"
}

// Unavailable skips t with reason, or fails it under CI.
func Unavailable(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI must run this test, but: %s", reason)
	}
	t.Skipf("skipped: %s (CI=true turns this skip into a failure)", reason)
}

// RequireRoot stops the test unless it runs as root (loop mounts, nspawn,
// the Nix daemonless store all need it).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root")
	}
}

// RequireTool stops the test unless every named program is on PATH, and
// returns the path of the first.
func RequireTool(t testing.TB, names ...string) string {
	t.Helper()
	var first string
	for i, name := range names {
		p, err := exec.LookPath(name)
		if err != nil {
			Unavailable(t, "needs "+name+" on PATH")
			return ""
		}
		if i == 0 {
			first = p
		}
	}
	return first
}

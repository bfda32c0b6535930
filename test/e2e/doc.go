// Package e2e proves images against the real consumer: systemd-portabled.
//
// The test boots a Debian bookworm root file system (systemd 252, made by
// debootstrap and cached) with systemd-nspawn, runs a generated shell plan
// inside it as a oneshot unit, and asserts in Go on what the plan recorded:
// every portablectl/systemctl/curl/journalctl call's exit code and output.
// The host needs no systemd of its own; the container has no network but its
// loopback (--private-network).
//
// Everything lives in the _test.go files; this file only names the package.
package e2e

#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian 12 machine, as root:
# the external readers the tests compare against (squashfs-tools, squashfs-tools-ng), Nix for
# the real builds, systemd-nspawn and debootstrap for the end-to-end boot, Debian's static
# busybox (the demo's service program), and golangci-lint for the lint step.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then
  echo "test/setup.sh: run as root (it installs Debian packages)" >&2
  exit 1
fi
apt-get update -q
apt-get install -y -q --no-install-recommends \
  ca-certificates git squashfs-tools squashfs-tools-ng nix-bin systemd-container \
  debootstrap busybox-static xz-utils time curl util-linux kmod

export PATH="$PATH:/usr/local/go/bin"
# Debian 12's own Go (1.19) is too old for go.mod; the machines this project runs on have a
# Go toolchain in /usr/local/go.
if ! command -v go >/dev/null; then
  echo "test/setup.sh: no Go toolchain found; install Go 1.24 or newer and put it on PATH" >&2
  exit 1
fi
export PATH="$PATH:$(go env GOPATH)/bin"
GOLANGCI_LINT_VERSION=v2.15.0
if ! golangci-lint version 2>/dev/null | grep -q "version ${GOLANGCI_LINT_VERSION#v} "; then
  echo "installing golangci-lint $GOLANGCI_LINT_VERSION"
  go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
fi

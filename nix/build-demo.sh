#!/usr/bin/env bash
# Builds the demo portable service image with real Nix but without nixpkgs,
# the way the tests do: a static mkportable built from this tree and
# Debian's static busybox are added to the store, and nix-build evaluates
# nix/portable-service.nix on nix/demo.nix in the sandbox. Prints the path of
# demo_1.0.raw on stdout (the build log goes to stderr).
#
# Needs root (single-user Nix), go, nix-bin and busybox-static:
#   apt-get install nix-bin busybox-static
# With nixpkgs and flakes, `nix build .#demo-portable` is the way instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# Sandbox on, no silent fallback, no build users, offline (design.md).
export NIX_CONFIG='sandbox = true
sandbox-fallback = false
build-users-group =
substituters =
experimental-features = nix-command flakes'
unset NIX_REMOTE
# Where the Go tarball installs itself (as test/run.sh assumes too).
export PATH="$PATH:/usr/local/go/bin"

if [ "$(id -u)" != 0 ]; then
  echo "nix/build-demo.sh: run as root (single-user Nix store)" >&2
  exit 1
fi
for tool in go nix-build nix-store; do
  command -v "$tool" >/dev/null || { echo "nix/build-demo.sh: $tool not found" >&2; exit 1; }
done
if [ ! -x /bin/busybox ]; then
  echo "nix/build-demo.sh: /bin/busybox missing (apt-get install busybox-static)" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/mkportable/bin" "$tmp/busybox/bin"
CGO_ENABLED=0 go build -trimpath -o "$tmp/mkportable/bin/mkportable" ./cmd/mkportable
cp /bin/busybox "$tmp/busybox/bin/busybox"
mkportable=$(nix-store --add "$tmp/mkportable")
busybox=$(nix-store --add "$tmp/busybox")

out=$(nix-build --no-out-link -E "
  let
    mkportable = builtins.storePath \"$mkportable\";
    busybox = builtins.storePath \"$busybox\";
    portableService = import ./nix/portable-service.nix { inherit mkportable; };
  in
  portableService (import ./nix/demo.nix { inherit busybox; })
")
echo "$out/demo_1.0.raw"

#!/usr/bin/env bash
# Recomputes vendorHash in nix/package.nix: the NAR hash (SRI sha256) of the
# directory `go mod vendor` writes for this source tree, which is what
# buildGoModule's go-modules derivation produces and checks.
#
# Run it after any change to go.mod, go.sum or the packages the code imports
# (it is the last step before a release). Needs go and nix (nix-bin works);
# no nixpkgs. The modules.txt that `go mod vendor` writes depends on the Go
# version, so the hash is only right for a Go whose vendor format matches
# nixpkgs' Go; when `nix build` reports a hash mismatch for
# mkportable-*-go-modules, take the "got:" hash from that error instead
# (docs/portable-service.md, "Maintaining the Nix package").
#
#   nix/update-vendor-hash.sh          rewrite vendorHash in nix/package.nix
#   nix/update-vendor-hash.sh --check  only compare; exit 1 when it is stale
set -euo pipefail
cd "$(dirname "$0")/.."

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The Go files and module files package.nix's source filter keeps (it drops
# only directories without Go code, so every .go file of the tree).
# Outside a git checkout (a source tarball), every .go file.
list_sources() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard -- go.mod go.sum '*.go'
  else
    find . -path ./.git -prune -o \( -name go.mod -o -name go.sum -o -name '*.go' \) -type f -print |
      sed 's|^\./||'
  fi
}
list_sources |
  while IFS= read -r f; do
    [ -e "$f" ] || continue
    mkdir -p "$tmp/src/$(dirname "$f")"
    cp "$f" "$tmp/src/$f"
  done

(cd "$tmp/src" && GOWORK=off GOTOOLCHAIN=local GOFLAGS= go mod vendor)

hash=$(nix --extra-experimental-features nix-command hash path --type sha256 "$tmp/src/vendor")
case "$hash" in
  sha256-*) ;;
  *) echo "update-vendor-hash: unexpected hash output: $hash" >&2; exit 1 ;;
esac

if $check; then
  if grep -q "vendorHash = \"$hash\";" nix/package.nix; then
    echo "vendorHash is up to date: $hash"
    exit 0
  fi
  echo "nix/package.nix has a stale vendorHash: want $hash ($(go env GOVERSION));" \
    "run nix/update-vendor-hash.sh" >&2
  exit 1
fi

sed -i "s|vendorHash = \"[^\"]*\";|vendorHash = \"$hash\";|" nix/package.nix
grep -q "vendorHash = \"$hash\";" nix/package.nix || {
  echo "update-vendor-hash: could not rewrite vendorHash in nix/package.nix" >&2
  exit 1
}
echo "vendorHash = \"$hash\"; (go mod vendor of $(go env GOVERSION))"

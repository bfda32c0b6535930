#!/bin/sh
# Regenerates testdata/real-attrs.json and testdata/store from a real Nix
# build (Nix 2.8, sandboxed, single-user as root):
#
#   sh pkg/portable/testdata/gen-attrs.sh
#
# The derivation (gen-attrs.nix) copies its own .attrs.json to $out; the
# store paths it names are then copied into testdata/store/nix/store so the
# test can rebuild the image on machines where they do not exist.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bb/bin"
cp /bin/busybox "$tmp/bb/bin/busybox"
export NIX_CONFIG='sandbox = true
sandbox-fallback = false
build-users-group =
substituters =
experimental-features = nix-command flakes'
out=$(nix-build "$here/gen-attrs.nix" --arg bbdir "$tmp/bb" --no-out-link)
cp "$out" "$here/real-attrs.json"
chmod 644 "$here/real-attrs.json"
rm -rf "$here/store"
mkdir -p "$here/store/nix/store"
# .attrs.json is one line: split it at the "path" keys of the closure entries.
for p in $(grep -o '"path": *"/nix/store/[^"]*"' "$out" | cut -d'"' -f4); do
  cp -a "$p" "$here/store/nix/store/"
done
chmod -R u+w "$here/store"
echo "wrote $here/real-attrs.json and $(ls "$here/store/nix/store" | wc -l) store paths"

#!/usr/bin/env bash
# Size/time points of mkportable pack and mksquashfs for several compressors
# and levels on one tree, for the README's Pareto table (issue 6): for each
# setting, image bytes and wall/CPU seconds of both packers, side by side.
#
# Usage: test/bench/pareto.sh TREE            (from the repository root)
#
# Every run: 1 MiB blocks, -all-root, both packers on all cores, warm page
# cache, GNU time. The packers' settings are matched where both have them;
# rows marked "ours only" are our xz encoder modes, compared against
# mksquashfs's one xz setting (nixpkgs': -Xdict-size 100%). Not a test:
# several minutes of both cores.
set -euo pipefail
tree=${1:?usage: pareto.sh TREE}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${PARETO_WORK:-/var/tmp/mkportable-pareto}
mkdir -p "$work"
for tool in mksquashfs /usr/bin/time go bc; do
	command -v "$tool" >/dev/null || { echo "pareto: needs $tool" >&2; exit 1; }
done
mkp=$work/mkportable
(cd "$root" && CGO_ENABLED=0 go build -o "$mkp" ./cmd/mkportable)
tar -cf - -C "$tree" . | cat >/dev/null

# measure OUT CMD...: prints "wall cpu bytes" of CMD writing image OUT.
measure() {
	local img=$1
	shift
	rm -f "$img"
	/usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >"$work/log" 2>&1 || {
		echo "pareto: failed: $*" >&2
		cat "$work/log" >&2
		exit 1
	}
	read -r wall user sys <"$work/time"
	echo "$wall $(echo "$user + $sys" | bc) $(stat -c %s "$img")"
	rm -f "$img"
}

bytes=$(du -sb --apparent-size "$tree" | cut -f1)
echo "Tree: $tree, $bytes bytes, $(find "$tree" -type f | wc -l) files; $(nproc) CPUs."
echo
echo "| compressor | setting | mksquashfs bytes | mksquashfs wall s (CPU s) | mkportable bytes | mkportable wall s (CPU s) | size ratio | wall ratio |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"

# row COMP LABEL "MKSQUASHFS ARGS" "OUR --comp"
row() {
	local comp=$1 label=$2 margs=$3 ours=$4
	# shellcheck disable=SC2086 # margs is a word list on purpose
	read -r mw mc mb < <(measure "$work/m.img" mksquashfs "$tree" "$work/m.img" -noappend -all-root -b 1M -comp $comp $margs -quiet -no-progress)
	read -r ow oc ob < <(measure "$work/o.img" "$mkp" pack --quiet -b 1M --comp "$ours" "$tree" "$work/o.img")
	printf '| %s | %s | %d | %.1f (%.1f) | %d | %.1f (%.1f) | %.3f | %.2f |\n' \
		"$comp" "$label" "$mb" "$mw" "$mc" "$ob" "$ow" "$oc" "$(echo "$ob / $mb" | bc -l)" "$(echo "$ow / $mw" | bc -l)"
	last_m="$mb $mw $mc"
}

row gzip "level 1" "-Xcompression-level 1" "gzip -Xcompression-level 1"
row gzip "level 6" "-Xcompression-level 6" "gzip -Xcompression-level 6"
row gzip "level 9 (default)" "" "gzip"
row zstd "level 3" "-Xcompression-level 3" "zstd -Xcompression-level 3"
row zstd "level 9" "-Xcompression-level 9" "zstd -Xcompression-level 9"
row zstd "level 15 (default)" "" "zstd"
row zstd "level 19" "-Xcompression-level 19" "zstd -Xcompression-level 19"
row xz "-Xdict-size 100% (nixpkgs; ours: default)" "-Xdict-size 100%" "xz -Xdict-size 100%"

# Our other xz encoder settings against the same mksquashfs point.
read -r mb mw mc <<<"$last_m"
for spec in "-Xmode fast" "-Xnice 16" "-Xnice 64" "-Xnice 128" "-Xmode fast -Xbcj none"; do
	read -r ow oc ob < <(measure "$work/o.img" "$mkp" pack --quiet -b 1M --comp "xz -Xdict-size 100% $spec" "$tree" "$work/o.img")
	printf '| xz | ours only: %s | %d | %.1f (%.1f) | %d | %.1f (%.1f) | %.3f | %.2f |\n' \
		"$spec" "$mb" "$mw" "$mc" "$ob" "$ow" "$oc" "$(echo "$ob / $mb" | bc -l)" "$(echo "$ow / $mw" | bc -l)"
done

#!/usr/bin/env bash
# Size/time points of mkportable pack and mksquashfs for several compressors
# and levels on one tree, for the README's Pareto table (issue 6): for each
# setting, image bytes and wall/CPU seconds of both packers, side by side.
#
# Usage: test/bench/pareto.sh TREE            (from the repository root)
#
# Every run: 1 MiB blocks, -all-root, both packers on all cores, warm page
# cache, GNU time; a run shorter than 3 s is repeated three times and its
# least wall and CPU time kept (single runs of half a second differ by a
# tenth). Every level of both packers is measured: gzip 1-9 and zstd 1-22.
# The packers' settings are matched where both have them; rows marked
# "ours only" are our xz encoder modes, compared against mksquashfs's one xz
# setting (nixpkgs': -Xdict-size 100%). The last column says whether each of
# our points is on or beyond mksquashfs's frontier for the same compressor,
# that is, against every level of mksquashfs, not only the one in its row:
# "no" names a mksquashfs level that made a smaller or equal image in less
# or equal wall time. Not a test: about fifteen minutes of both cores on the
# 128 MB sample.
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

# measure OUT CMD...: prints "wall cpu bytes" of CMD writing image OUT, the
# least of three runs if the first takes less than 3 s.
measure() {
	local img=$1 runs=1 i wall user sys cpu bw="" bc=""
	shift
	for ((i = 0; i < runs; i++)); do
		rm -f "$img"
		/usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >"$work/log" 2>&1 || {
			echo "pareto: failed: $*" >&2
			cat "$work/log" >&2
			exit 1
		}
		read -r wall user sys <"$work/time"
		cpu=$(echo "$user + $sys" | bc)
		if [ -z "$bw" ] || [ "$(echo "$wall < $bw" | bc)" = 1 ]; then bw=$wall; fi
		if [ -z "$bc" ] || [ "$(echo "$cpu < $bc" | bc)" = 1 ]; then bc=$cpu; fi
		if [ "$i" = 0 ] && [ "$(echo "$wall < 3" | bc)" = 1 ]; then runs=3; fi
	done
	echo "$bw $bc $(stat -c %s "$img")"
	rm -f "$img"
}

bytes=$(du -sb --apparent-size "$tree" | cut -f1)
echo "Tree: $tree, $bytes bytes, $(find "$tree" -type f | wc -l) files; $(nproc) CPUs."
echo
echo "| compressor | setting | mksquashfs bytes | mksquashfs wall s (CPU s) | mkportable bytes | mkportable wall s (CPU s) | size ratio | wall ratio | ours on mksquashfs's frontier? |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"

# Every point of both packers, "comp label bytes wall cpu", for the verdicts.
points_m=()
points_o=()

# run COMP LABEL "MKSQUASHFS ARGS" "OUR --comp": measures both packers.
run() {
	local comp=$1 label=$2 margs=$3 ours=$4
	# shellcheck disable=SC2086 # margs is a word list on purpose
	read -r mw mc mb < <(measure "$work/m.img" mksquashfs "$tree" "$work/m.img" -noappend -all-root -b 1M -comp $comp $margs -quiet -no-progress)
	read -r ow oc ob < <(measure "$work/o.img" "$mkp" pack --quiet -b 1M --comp "$ours" "$tree" "$work/o.img")
	points_m+=("$comp|$label|$mb|$mw|$mc")
	points_o+=("$comp|$label|$ob|$ow|$oc")
}

# verdict COMP BYTES WALL: which mksquashfs point of the same compressor
# dominates ours (no larger and no slower, and better in one of them), if any.
verdict() {
	local comp=$1 ob=$2 ow=$3 p c l mb mw mc
	for p in "${points_m[@]}"; do
		IFS='|' read -r c l mb mw mc <<<"$p"
		[ "$c" = "$comp" ] || continue
		if [ "$mb" -le "$ob" ] && [ "$(echo "$mw <= $ow" | bc)" = 1 ] &&
			{ [ "$mb" -lt "$ob" ] || [ "$(echo "$mw < $ow" | bc)" = 1 ]; }; then
			echo "no: mksquashfs $l is smaller and faster"
			return
		fi
	done
	echo "yes"
}

for level in 1 2 3 4 5 6 7 8 9; do
	label="level $level"
	[ "$level" = 9 ] && label="level 9 (default)"
	run gzip "$label" "-Xcompression-level $level" "gzip -Xcompression-level $level"
done
for level in $(seq 1 22); do
	label="level $level"
	[ "$level" = 15 ] && label="level 15 (default)"
	run zstd "$label" "-Xcompression-level $level" "zstd -Xcompression-level $level"
done
run xz "-Xdict-size 100% (nixpkgs; ours: default)" "-Xdict-size 100%" "xz -Xdict-size 100%"
# Our other xz encoder settings against the same mksquashfs point: it has
# one xz setting, we have several.
xz_m=${points_m[-1]}
for spec in "-Xmode fast" "-Xnice 64" "-Xnice 128" "-Xmode fast -Xbcj none"; do
	read -r ow oc ob < <(measure "$work/o.img" "$mkp" pack --quiet -b 1M --comp "xz -Xdict-size 100% $spec" "$tree" "$work/o.img")
	points_m+=("$xz_m")
	points_o+=("xz|ours only: $spec|$ob|$ow|$oc")
done

for i in "${!points_o[@]}"; do
	IFS='|' read -r comp label mb mw mc <<<"${points_m[$i]}"
	IFS='|' read -r _ olabel ob ow oc <<<"${points_o[$i]}"
	printf '| %s | %s | %d | %.2f (%.2f) | %d | %.2f (%.2f) | %.3f | %.2f | %s |\n' \
		"$comp" "$olabel" "$mb" "$mw" "$mc" "$ob" "$ow" "$oc" \
		"$(echo "$ob / $mb" | bc -l)" "$(echo "$ow / $mw" | bc -l)" "$(verdict "$comp" "$ob" "$ow")"
done

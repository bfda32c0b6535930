#!/usr/bin/env bash
# Benchmark `mkportable pack` against mksquashfs on a closure-like tree.
#
# Usage: test/bench/bench.sh            (from the repository root)
#
# The corpus is a copy (cp -a, made once and reused) of the Go toolchain
# (/usr/local/go), Python (/usr/lib/python3*) and Debian's executables
# (/usr/bin): about 610 MB in 20,000+ files, like a Nix closure of a
# service with its interpreter and tools. A copy, not hard links: hard
# links would change what both packers store.
#
# Compared, each run once from a warm page cache:
#   xz:   mksquashfs -noappend -all-root -b 1M -comp xz -Xdict-size 100%
#         (nixpkgs' portableService settings)
#         mkportable pack -b 1M --comp "xz -Xdict-size 100%"
#   zstd: mksquashfs ... -comp zstd -Xcompression-level 15 (mksquashfs's
#         default zstd level, stated explicitly)
#         mkportable pack -b 1M --comp "zstd -Xcompression-level 15"
#   gzip: mksquashfs ... -comp gzip (level 9, mksquashfs's default)
#         mkportable pack -b 1M --comp gzip
# Measured with GNU time (/usr/bin/time -v, Debian package "time"): wall
# time, CPU time (user + system), peak RSS; plus the image size. Prints a
# Markdown table for the README. Not part of the test suite: it takes
# several minutes and both cores.
#
# Environment: BENCH_CACHE (default /var/tmp/mkportable-bench) holds the
# corpus, the binary and the images; BENCH_SOURCES overrides the corpus
# directories (space-separated); BENCH_KEEP_IMAGES=1 keeps the images.
set -euo pipefail

cache=${BENCH_CACHE:-/var/tmp/mkportable-bench}
sources=${BENCH_SOURCES:-$(echo /usr/local/go /usr/lib/python3* /usr/bin)}
root=$(cd "$(dirname "$0")/../.." && pwd)
tree=$cache/tree

for tool in mksquashfs /usr/bin/time go; do
	command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }
done
mkdir -p "$cache"

if [ ! -d "$tree" ]; then
	echo "bench: copying the corpus into $tree (once)" >&2
	rm -rf "$tree.tmp"
	mkdir -p "$tree.tmp"
	for s in $sources; do
		# Keep the source's last path component: go, python3, python3.11, bin.
		cp -a "$s" "$tree.tmp/$(basename "$s")"
	done
	mv "$tree.tmp" "$tree"
fi
if [ "${BENCH_PREPARE_ONLY:-0}" = 1 ]; then
	exit 0
fi
files=$(find "$tree" -type f | wc -l)
entries=$(find "$tree" | wc -l)
bytes=$(du -sb --apparent-size "$tree" | cut -f1)

mkp=$cache/mkportable

# run NAME CMD...: time CMD, leave "wall cpu rss_kib size" in $cache/NAME.res.
run() {
	local name=$1
	shift
	local img=$cache/$name.img
	rm -f "$img"
	echo "bench: $name: $*" >&2
	/usr/bin/time -v -o "$cache/$name.time" "$@" >"$cache/$name.log" 2>&1 || {
		echo "bench: $name failed:" >&2
		cat "$cache/$name.log" >&2
		exit 1
	}
	awk -v size="$(stat -c %s "$img")" -F': ' '
		/Elapsed \(wall clock\)/ {
			n = split($2, p, ":"); wall = 0
			for (i = 1; i <= n; i++) wall = wall * 60 + p[i]
		}
		/User time/ { user = $2 }
		/System time/ { sys = $2 }
		/Maximum resident set size/ { rss = $2 }
		END { printf "%.1f %.1f %d %d\n", wall, user + sys, rss, size }
	' "$cache/$name.time" >"$cache/$name.res"
}

# BENCH_TABLE_ONLY=1 prints the table of the last run again.
if [ "${BENCH_TABLE_ONLY:-0}" != 1 ]; then
	echo "bench: building mkportable" >&2
	(cd "$root" && CGO_ENABLED=0 go build -o "$mkp" ./cmd/mkportable)
	# Warm the page cache so no run pays for the first read.
	tar -cf - -C "$tree" . | cat >/dev/null
	uptime >"$cache/load-before"
	run mksquashfs-xz mksquashfs "$tree" "$cache/mksquashfs-xz.img" -noappend -all-root -b 1M -comp xz -Xdict-size 100% -quiet -no-progress
	run mkportable-xz "$mkp" pack --quiet -b 1M --comp "xz -Xdict-size 100%" "$tree" "$cache/mkportable-xz.img"
	# Our greedy xz encoder: the speed end of our xz settings.
	run mkportable-xzfast "$mkp" pack --quiet -b 1M --comp "xz -Xdict-size 100% -Xmode fast" "$tree" "$cache/mkportable-xzfast.img"
	run mksquashfs-zstd mksquashfs "$tree" "$cache/mksquashfs-zstd.img" -noappend -all-root -b 1M -comp zstd -Xcompression-level 15 -quiet -no-progress
	run mkportable-zstd "$mkp" pack --quiet -b 1M --comp "zstd -Xcompression-level 15" "$tree" "$cache/mkportable-zstd.img"
	run mksquashfs-gzip mksquashfs "$tree" "$cache/mksquashfs-gzip.img" -noappend -all-root -b 1M -comp gzip -quiet -no-progress
	run mkportable-gzip "$mkp" pack --quiet -b 1M --comp gzip "$tree" "$cache/mkportable-gzip.img"
	uptime >"$cache/load-after"
fi

# The images must hold the same tree (contents, modes, owners): a fast
# packer that drops files would be no result. Lines about the inode
# encoding alone ("has an extended type" / "has a basic type": mksquashfs
# gives some directories without an index an extended inode) are not
# differences of content; anything else is (see test/roundtrip).
if [ "${BENCH_TABLE_ONLY:-0}" != 1 ] && command -v sqfsdiff >/dev/null; then
	for pair in xz:xz xz:xzfast zstd:zstd gzip:gzip; do
		m=${pair%%:*} c=${pair#*:}
		sqfsdiff -a "$cache/mksquashfs-$m.img" -b "$cache/mkportable-$c.img" >"$cache/sqfsdiff-$c.log" 2>&1 || true
		if grep -v -e ' has an extended type$' -e ' has a basic type$' "$cache/sqfsdiff-$c.log" | grep -q .; then
			echo "bench: sqfsdiff: $c images differ (see $cache/sqfsdiff-$c.log)" >&2
			exit 1
		fi
	done
fi

cpus=$(nproc)
mksq=$(mksquashfs -version | head -1 | awk '{print $1, $3}')
echo
echo "Corpus: $((bytes / 1000000)) MB, $files files, $entries entries ($sources); block size 1 MiB; $cpus CPUs; run $(date -u -r "$cache/load-after" +%Y-%m-%dT%H:%MZ)."
echo "Load average before/after the runs: $(sed 's/.*average: //' "$cache/load-before") / $(sed 's/.*average: //' "$cache/load-after") (other work on the machine inflates wall times; CPU time is the steadier measure)."
echo
echo "| compressor | packer | wall s | CPU s | peak RSS MiB | image bytes | wall ratio | CPU ratio | RSS ratio | size ratio |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
# row COMPRESSOR MKSQUASHFS_RESULT [MKPORTABLE_RESULT LABEL]...
row() {
	local c=$1 m=$2
	shift 2
	read -r mw mc mr ms <"$cache/mksquashfs-$m.res"
	awk -v c="$c" -v mksq="$mksq" -v mw="$mw" -v mc="$mc" -v mr="$mr" -v ms="$ms" 'BEGIN {
		printf "| %s | %s | %.1f | %.1f | %.0f | %d | 1 | 1 | 1 | 1 |\n", c, mksq, mw, mc, mr / 1024, ms
	}'
	while [ $# -gt 0 ]; do
		read -r pw pc pr ps <"$cache/mkportable-$1.res"
		awk -v c="$c" -v l="$2" -v mw="$mw" -v mc="$mc" -v mr="$mr" -v ms="$ms" -v pw="$pw" -v pc="$pc" -v pr="$pr" -v ps="$ps" 'BEGIN {
			printf "| %s | %s | %.1f | %.1f | %.0f | %d | %.2f | %.2f | %.2f | %.3f |\n", c, l, pw, pc, pr / 1024, ps, pw / mw, pc / mc, pr / mr, ps / ms
		}'
		shift 2
	done
}
row xz xz xz "mkportable pack (default)" xzfast "mkportable pack -Xmode fast"
row zstd zstd zstd "mkportable pack"
row gzip gzip gzip "mkportable pack"
echo
echo "Ratios are mkportable / mksquashfs (lower is better). Reproduce: test/bench/bench.sh"

if [ "${BENCH_KEEP_IMAGES:-0}" != 1 ]; then
	rm -f "$cache"/*.img
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# lkvm's resident memory over time while a Linux guest (Debian 6.1, 1 GiB,
# --balloon) allocates and frees 600 MiB, then has its balloon inflated and
# deflated by 256 MiB with `lkvm balloon`: once with free page reporting on
# (--balloon) and once off (--balloon-no-reporting). Plots both curves into
# a PNG with gnuplot and prints a summary table.
#
# It runs the nested tier's balloon driver (tests/nested/balloon-l1.sh in
# its bench-on/bench-off modes), so it boots lkvm the way that tier does:
# inside a QEMU TCG L1 guest where this host's /dev/kvm is software, on the
# host where it is hardware (LKVM_MODE=direct|nested forces one).
#
# Usage: bench/balloon.sh [OUT.png]      (default: balloon-rss.png)
# Needs: gnuplot (apt-get install gnuplot-nox), and what tests/nested needs.
set -u
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD
OUTPNG=${1:-balloon-rss.png}
# shellcheck source=tests/nested/lib.sh
. tests/nested/lib.sh
# shellcheck source=tests/nested/balloon.sh
. tests/nested/balloon.sh

command -v gnuplot >/dev/null ||
	{ echo "bench: needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-bench-balloon.XXXXXX") || exit 1
# shellcheck disable=SC2153 # LKVM_KEEP comes from the environment, as in the tier
trap '[ "${LKVM_KEEP:-0}" = 1 ] && echo "bench: work files in $WORK" >&2 || rm -rf "$WORK"' EXIT

make -s lkvm >&2 || exit 1
lkvm_detect_mode "$REPO/lkvm"
if [ "$LKVM_MODE" = nested ]; then
	command -v qemu-system-x86_64 >/dev/null ||
		{ echo "bench: nested mode needs qemu-system-x86_64" >&2; exit 1; }
	make -s lkvm-static >&2 || exit 1
	LKVM_BIN=$REPO/lkvm-static
else
	LKVM_BIN=$REPO/lkvm
fi
lkvm_fetch_guest x86_64 || exit 1
lkvm_build_l2_initrd "$WORK/l2.cpio" || exit 1
nested_balloon_prepare "$WORK" || exit 1

RUNS="bench-on bench-off"
{
	echo "LKVM_CASE_TIMEOUT=$LKVM_CASE_TIMEOUT"
	for r in $RUNS; do
		NESTED_BALLOON_TIMEOUT=400 nested_balloon_case_lines "$r" "$r"
	done
} >"$WORK/cases.sh"

LOG=$WORK/console.log
echo "bench: running the guest twice ($LKVM_MODE); this takes a few minutes" >&2
if [ "$LKVM_MODE" = nested ]; then
	lkvm_build_l1_initrd "$WORK/l1.cpio" "$LKVM_BIN" "$WORK/l2.cpio" "$WORK/cases.sh" \
		"$WORK/l1-overlay" || exit 1
	lkvm_run_l1 "$WORK/l1.cpio" "$LOG" 900
else
	lkvm_run_direct "$WORK/cases.sh" "$LOG" "$LKVM_BIN" "$WORK/l2.cpio"
fi

# Per run: samples (seconds, MiB) and events (seconds, MiB at that moment, name).
for r in $RUNS; do
	out=$(lkvm_case_output "$LOG" "$r")
	if ! grep -q '^BALLOON-SAMPLE' <<<"$out"; then
		echo "bench: run $r produced no samples; its output:" >&2
		tail -n 40 <<<"$out" >&2
		exit 1
	fi
	f=$(sed -n 's/^BALLOON-FAIL=//p' <<<"$out" | head -n 1)
	[ -n "$f" ] && echo "bench: warning: $r: $f" >&2
	awk '$1 == "BALLOON-SAMPLE" && $3 != "" { printf "%s %.1f\n", $2, $3 / 1024 }' \
		<<<"$out" >"$WORK/$r.dat"
	awk 'NR == FNR { t[NR] = $1; m[NR] = $2; n = NR; next }
	     $1 == "BALLOON-EVENT" {
		best = 1
		for (i = 1; i <= n; i++) if (t[i] <= $2) best = i
		printf "%s %s %s\n", $2, m[best], $3
	     }' "$WORK/$r.dat" - <<<"$out" >"$WORK/$r.ev"
done

gnuplot <<EOF
set terminal pngcairo size 1000,560 font ",10"
set output "$OUTPNG"
set title "lkvm resident memory: 1 GiB Linux guest fills and frees 600 MiB, then inflates/deflates 256 MiB ($LKVM_MODE)"
set xlabel "seconds since lkvm started"
set ylabel "lkvm RSS (MiB)"
set grid
set key top right
plot "$WORK/bench-on.dat" using 1:2 with lines lw 2 title "free page reporting on (--balloon)", \
     "$WORK/bench-off.dat" using 1:2 with lines lw 2 title "reporting off (--balloon-no-reporting)", \
     "$WORK/bench-on.ev" using 1:2 with points pt 7 ps 1 lc 1 notitle, \
     "$WORK/bench-on.ev" using 1:2:3 with labels offset 0,1 font ",8" notitle, \
     "$WORK/bench-off.ev" using 1:2 with points pt 7 ps 1 lc 2 notitle, \
     "$WORK/bench-off.ev" using 1:2:3 with labels offset 0,-1 font ",8" notitle
EOF
[ -s "$OUTPNG" ] || { echo "bench: gnuplot wrote nothing" >&2; exit 1; }

# Summary: RSS at the end of each step (MiB).
at() { awk -v e="$2" '$3 == e { print $2; exit }' "$WORK/$1.ev"; }
peak() { sort -k2 -n "$WORK/$1.dat" | tail -n 1 | cut -d' ' -f2; }
printf '%-10s %10s %12s %14s %12s %12s\n' run "peak MiB" "at free" "20 s later" "inflated" "deflated+5s"
for r in $RUNS; do
	printf '%-10s %10s %12s %14s %12s %12s\n' "$r" "$(peak "$r")" "$(at "$r" free)" \
		"$(at "$r" inflate)" "$(at "$r" deflate)" "$(at "$r" end)"
done
echo "bench: plot written to $OUTPNG"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# A VMM's resident memory over time while a Linux guest (Debian 6.1, 1 GiB,
# a virtio-balloon) allocates and frees 600 MiB, then has its balloon
# inflated and deflated by 256 MiB; lkvm (--balloon / --balloon-no-reporting)
# and its peer QEMU (-M pc, virtio-balloon-pci with free-page-reporting=on /
# off, driven through its human monitor) in the same run, each once with free
# page reporting on and once off. Plots every curve into one PNG with gnuplot
# and prints a summary table.
#
# It runs the nested tier's balloon driver (tests/nested/balloon-l1.sh in
# its bench-on/bench-off and qemu-on/qemu-off modes), so it boots the VMMs
# the way that tier does: inside a QEMU TCG L1 guest where this host's
# /dev/kvm is software (lkvm-static and the host's QEMU with its libraries
# and firmware copied into L1), on the host where it is hardware
# (LKVM_MODE=direct|nested forces one).
#
# Usage: bench/balloon.sh [OUT.png]      (default: balloon-rss.png)
# BALLOON_BENCH_RUNS: the runs, in order (default
#   "lkvm-on qemu-on lkvm-off qemu-off").
# Needs: gnuplot (apt-get install gnuplot-nox), qemu-system-x86_64, and what
# tests/nested needs.
set -u
cd "$(dirname "$0")/.." || exit 1
OUTPNG=${1:-balloon-rss.png}
# shellcheck source=tests/nested/lib.sh
. tests/nested/lib.sh
# shellcheck source=tests/nested/balloon.sh
. tests/nested/balloon.sh

command -v gnuplot >/dev/null ||
	{ echo "bench: needs gnuplot (apt-get install gnuplot-nox)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "bench: needs qemu-system-x86_64 (apt-get install qemu-system-x86)" >&2; exit 1; }

RUNS=${BALLOON_BENCH_RUNS:-lkvm-on qemu-on lkvm-off qemu-off}
for r in $RUNS; do
	case "$r" in
	lkvm-on|lkvm-off|qemu-on|qemu-off) ;;
	*) echo "bench: unknown run '$r' (lkvm-on, lkvm-off, qemu-on, qemu-off)" >&2; exit 1 ;;
	esac
done
nruns=$(wc -w <<<"$RUNS")

lkvm_bench_build balloon
lkvm_fetch_guest x86_64 || exit 1
lkvm_build_l2_initrd "$WORK/l2.cpio" || exit 1
nested_balloon_prepare "$WORK" || exit 1

if [ "$LKVM_MODE" = nested ]; then
	# The host's QEMU, its libraries and the firmware -M pc needs, run
	# through a script that execs it (balloon-l1.sh samples that pid).
	q=$(command -v qemu-system-x86_64)
	ov=$WORK/l1-overlay
	mkdir -p "$ov/qemu/lib" "$ov/qemu/share" "$ov/bench"
	cp "$q" "$ov/qemu/"
	for l in $(ldd "$q" | grep -o '/[^ ]*'); do cp -L "$l" "$ov/qemu/lib/"; done
	for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
		/usr/share/qemu/kvmvapic.bin; do
		cp -L "$f" "$ov/qemu/share/" || exit 1
	done
	ld=$(basename "$(ldd "$q" | grep -o '/[^ ]*ld-linux[^ ]*')")
	printf '#!/bin/sh\nexec /qemu/lib/%s --library-path /qemu/lib /qemu/%s -L /qemu/share "$@"\n' \
		"$ld" "$(basename "$q")" >"$ov/bench/qemu"
	chmod 755 "$ov/bench/qemu"
	QEMU=/bench/qemu
else
	QEMU=$(command -v qemu-system-x86_64)
fi

# balloon-l1.sh's first argument is the VMM: $LKVM, or QEMU for its runs.
{
	echo "LKVM_CASE_TIMEOUT=$LKVM_CASE_TIMEOUT"
	for r in $RUNS; do
		case "$r" in
		lkvm-*)
			NESTED_BALLOON_TIMEOUT=400 nested_balloon_case_lines "$r" "bench-${r#lkvm-}"
			;;
		qemu-*)
			echo "_lkvm=\$LKVM; LKVM=$QEMU"
			NESTED_BALLOON_TIMEOUT=400 nested_balloon_case_lines "$r" "$r"
			echo "LKVM=\$_lkvm"
			;;
		esac
	done
} >"$WORK/cases.sh"

echo "bench: running the guest $nruns times ($LKVM_MODE: $RUNS); this takes a while" >&2
lkvm_bench_run "$WORK/l1-overlay" $((120 + nruns * 410))

# Per run: samples (seconds, MiB), the same shifted so that the guest's free
# is at 0 (for the plot), and events (seconds, MiB at that moment, name).
DONE=
for r in $RUNS; do
	out=$(lkvm_case_output "$LOG" "$r")
	if ! grep -q '^BALLOON-SAMPLE' <<<"$out"; then
		echo "bench: run $r produced no samples; its output:" >&2
		tail -n 40 <<<"$out" >&2
		continue
	fi
	f=$(sed -n 's/^BALLOON-FAIL=//p' <<<"$out" | head -n 1)
	[ -n "$f" ] && echo "bench: warning: $r: $f" >&2
	m0=$(nested_balloon_value "$out" MEMTOTAL-BEFORE)
	m1=$(nested_balloon_value "$out" MEMTOTAL-INFLATED)
	[ -n "$m0" ] && [ -n "$m1" ] && [ $((m0 - m1)) -lt $((250 * 1024)) ] &&
		echo "bench: warning: $r: the inflate only took MemTotal from $m0 to $m1 kB" >&2
	awk '$1 == "BALLOON-SAMPLE" && $3 != "" { printf "%s %.1f\n", $2, $3 / 1024 }' \
		<<<"$out" >"$WORK/$r.dat"
	awk 'NR == FNR { t[NR] = $1; m[NR] = $2; n = NR; next }
	     $1 == "BALLOON-EVENT" {
		best = 1
		for (i = 1; i <= n; i++) if (t[i] <= $2) best = i
		printf "%s %s %s\n", $2, m[best], $3
	     }' "$WORK/$r.dat" - <<<"$out" >"$WORK/$r.ev"
	t0=$(awk '$3 == "free" { print $1; exit }' "$WORK/$r.ev")
	awk -v z="${t0:-0}" '{ printf "%.1f %s %s\n", $1 - z, $2, $3 }' "$WORK/$r.dat" >"$WORK/$r.pdat"
	awk -v z="${t0:-0}" '{ printf "%.1f %s %s\n", $1 - z, $2, $3 }' "$WORK/$r.ev" >"$WORK/$r.pev"
	DONE="$DONE $r"
done
[ -n "$DONE" ] || { echo "bench: no run produced samples" >&2; exit 1; }

# One colour per VMM, solid with reporting on, dashed with it off; the
# events as dots with their names (the free is the line at 0).
plot=
for r in $DONE; do
	case "$r" in
	lkvm-on)  c='"#1f5fbf"' d=1 t="lkvm, reporting on (--balloon)" ;;
	lkvm-off) c='"#1f5fbf"' d=2 t="lkvm, reporting off (--balloon-no-reporting)" ;;
	qemu-on)  c='"#d03020"' d=1 t="QEMU -M pc, virtio-balloon-pci free-page-reporting=on" ;;
	qemu-off) c='"#d03020"' d=2 t="QEMU -M pc, free-page-reporting=off" ;;
	esac
	off=1
	[ "$d" = 2 ] && off=-1
	plot="$plot${plot:+, }\"$WORK/$r.pdat\" using 1:2 with lines lw 2 lc rgb $c dt $d title \"$t\""
	plot="$plot, \"$WORK/$r.pev\" using 1:2 with points pt 7 ps 0.8 lc rgb $c notitle"
	plot="$plot, \"< grep -v ' free\$' $WORK/$r.pev\" using 1:2:3 with labels offset 0,$off font \",8\" tc rgb $c notitle"
done
gnuplot <<EOF
set terminal pngcairo size 1100,620 font ",10"
set output "$OUTPNG"
set title "VMM resident memory: 1 GiB Linux guest fills $NESTED_BALLOON_FILL_MB MiB, frees it at 0 s, then inflates/deflates its balloon by 256 MiB ($LKVM_MODE)"
set xlabel "seconds since the guest freed the $NESTED_BALLOON_FILL_MB MiB (runs aligned there; each VMM started at the left end of its curve)"
set ylabel "VMM RSS (MiB)"
set grid
set key top left box opaque
set arrow from 0, graph 0 to 0, graph 1 nohead dt 3 lc rgb "#606060"
set label "guest frees $NESTED_BALLOON_FILL_MB MiB" at 1, graph 0.03 font ",8" tc rgb "#606060"
plot $plot
EOF
[ -s "$OUTPNG" ] || { echo "bench: gnuplot wrote nothing" >&2; exit 1; }

# Summary (MiB): RSS before the fill, its peak, when the guest frees, 20 s
# later (when the inflate starts), how much of it came back to the host in
# those 20 s (also as a share of the 600 MiB the guest freed), and after
# inflating and deflating.
at() { awk -v e="$2" '$3 == e { print $2; exit }' "$WORK/$1.ev"; }
peak() { sort -k2 -n "$WORK/$1.dat" | tail -n 1 | cut -d' ' -f2; }
printf '%-9s %9s %9s %9s %10s %9s %9s %9s %11s\n' run "pre-fill" peak "at free" "20 s later" \
	returned "returned%" inflated deflated+5s
for r in $DONE; do
	pre=$(at "$r" fill) fr=$(at "$r" free) later=$(at "$r" inflate)
	ret=$(awk -v a="$fr" -v b="$later" 'BEGIN { if (a != "" && b != "") printf "%.1f", a - b }')
	pct=$(awk -v f="$NESTED_BALLOON_FILL_MB" -v a="$fr" -v b="$later" \
		'BEGIN { if (a != "" && b != "") printf "%.0f%%", 100 * (a - b) / f }')
	printf '%-9s %9s %9s %9s %10s %9s %9s %9s %11s\n' "$r" "$pre" "$(peak "$r")" "$fr" "$later" \
		"$ret" "$pct" "$(at "$r" deflate)" "$(at "$r" end)"
done
echo "returned = at free - 20 s later; returned% = returned / the $NESTED_BALLOON_FILL_MB MiB the guest freed"
echo "bench: plot written to $OUTPNG"

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench/virtiofs.sh's driver, run where lkvm runs (L1, or the host in direct
# mode): makes two identical trees (many small files, one large file), then
# one lkvm sandbox guest mounts one over 9p (--9p) and the other over
# virtio-fs (--virtio-fs) and times the same work on each, caches dropped
# first: a walk with a checksum of every small file, a stat storm (find
# -newer over the tree), one sequential read of the large file. Each
# measurement is taken ROUNDS times, alternating the two; prints
# "VFSBENCH fs op round ms" lines; no round starts once BUDGET seconds
# of rounds have passed (the first always runs).
# Usage: virtiofs-l1.sh LKVM FILES BIG_MIB ROUNDS BUDGET [lkvm sandbox options]
lkvm=$1 files=$2 big=$3 rounds=$4 budget=$5
shift 5
base=/var/tmp/lkvm-vfsbench.$$
rm -rf "$base"
mkdir -p "$base/t9" "$base/tv"
i=0
while [ "$i" -lt "$files" ]; do
	d=$base/t9/d$((i % 32))
	[ -d "$d" ] || mkdir -p "$d"
	head -c $((512 + (i * 97) % 3584)) /dev/urandom >"$d/f$i"
	i=$((i + 1))
done
head -c $((big * 1024 * 1024)) /dev/urandom >"$base/t9/big"
cp -a "$base/t9/." "$base/tv/"
touch "$base/t9/ref" "$base/tv/ref"

cat >"$base/guest.sh" <<'GEOF'
rounds=$1 t9=$2 tv=$3 budget=$4
ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
run() {
	fs=$1 dir=$2 r=$3
	sync; echo 3 >/proc/sys/vm/drop_caches
	t0=$(ms); find "$dir" -name 'f*' -type f | xargs cat | md5sum >/dev/null; t1=$(ms)
	echo "VFSBENCH $fs walk-md5 $r $((t1 - t0))"
	sync; echo 3 >/proc/sys/vm/drop_caches
	t0=$(ms); find "$dir" -newer "$dir/ref" | wc -l >/dev/null; t1=$(ms)
	echo "VFSBENCH $fs stat-storm $r $((t1 - t0))"
	sync; echo 3 >/proc/sys/vm/drop_caches
	t0=$(ms); cat "$dir/big" >/dev/null; t1=$(ms)
	echo "VFSBENCH $fs big-read $r $((t1 - t0))"
}
grep -q " $tv virtiofs " /proc/mounts || echo "VFSBENCH-FAIL $tv is not virtiofs"
grep -q " $t9 9p " /proc/mounts || echo "VFSBENCH-FAIL $t9 is not 9p"
r=1
start=$(ms)
while [ "$r" -le "$rounds" ] && { [ "$r" = 1 ] || [ $(($(ms) - start)) -lt $((budget * 1000)) ]; }; do
	if [ $((r % 2)) = 1 ]; then run 9p "$t9" "$r"; run virtiofs "$tv" "$r"
	else run virtiofs "$tv" "$r"; run 9p "$t9" "$r"; fi
	r=$((r + 1))
done
echo "VFSBENCH-DONE rounds=$((r - 1))"
GEOF
"$lkvm" sandbox "$@" -m 512 --root-fs 9p --9p "$base/t9,b9" --virtio-fs "$base/tv,bv" -- \
	sh "$base/guest.sh" "$rounds" "$base/t9" "$base/tv" "$budget" 2>&1
rc=$?
rm -rf "$base"
exit $rc

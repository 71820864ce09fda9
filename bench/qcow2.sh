#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/qcow2.sh [SIZE_MIB] [REPS] [DIR]: qcow2 against raw in the same run, on
# the host, through lkvm's disk layer (bench/qcow2-bench; the code
# virtio-blk calls, without a guest). For each format: 4 KiB random writes
# and 1 MiB sequential writes into a fresh image ("unallocated": sparse
# raw file, empty qcow2), then on the fully written image sequential and
# random reads and writes ("allocated"). Both formats go through the page
# cache (qcow2 takes no ',direct'), so the figures compare the formats'
# costs rather than the disk's. Each figure is the best of REPS runs (the
# formats alternate), which filters out other load on a shared machine.
# Prints a table and the qcow2/raw ratios.
set -eu
cd "$(dirname "$0")/.."
SIZE=${1:-256}
REPS=${2:-3}
DIR=${3:-/var/tmp}
command -v qemu-img >/dev/null || { echo "bench/qcow2.sh: needs qemu-img (qemu-utils)" >&2; exit 1; }
make -s bench/qcow2-bench
t=$(mktemp -d "$DIR/lkvm-qcow2-bench-XXXXXX")
trap 'rm -rf "$t"' EXIT

fresh() {
	rm -f "$t/img"
	if [ "$1" = raw ]; then
		truncate -s "${SIZE}M" "$t/img"
	else
		qemu-img create -q -f qcow2 "$t/img" "${SIZE}M"
	fi
}

declare -A R
# Keep the better of two "MiB/s IOPS" figures.
best() {
	local old=${R[$1]:-"0 0"}
	if [ "$(echo "${2% *} > ${old% *}" | bc)" = 1 ]; then R[$1]=$2; fi
}
for rep in $(seq "$REPS"); do
	fmts="raw qcow2"
	[ $((rep % 2)) = 0 ] && fmts="qcow2 raw"
	for fmt in $fmts; do
		fresh $fmt
		read -r _ mb iops < <(bench/qcow2-bench "$t/img" randwrite)
		best "$fmt,randwrite-new" "$mb $iops"
		fresh $fmt
		read -r _ mb iops < <(bench/qcow2-bench "$t/img" seqwrite)
		best "$fmt,seqwrite-new" "$mb $iops"
		while read -r ph mb iops; do
			best "$fmt,$ph" "$mb $iops"
		done < <(bench/qcow2-bench "$t/img" seqwrite seqread randread randwrite)
	done
done

printf '%-16s %12s %12s %12s %12s %8s\n' phase raw-MiB/s raw-IOPS qcow2-MiB/s qcow2-IOPS ratio
for ph in seqwrite-new randwrite-new seqwrite seqread randread randwrite; do
	read -r rm ri <<<"${R[raw,$ph]}"
	read -r qm qi <<<"${R[qcow2,$ph]}"
	printf '%-16s %12s %12s %12s %12s %8.2f\n' "$ph" "$rm" "$ri" "$qm" "$qi" \
		"$(echo "$qm / $rm" | bc -l)"
done

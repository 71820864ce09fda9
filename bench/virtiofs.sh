#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# 9P against virtio-fs, same run, same guest: one lkvm sandbox guest (Debian
# 6.1) mounts one copy of a tree over lkvm's 9P server and another over
# virtio-fs (lkvm's vhost-user front end and this host's virtiofsd), and
# times on each, caches dropped first: a walk with a checksum of many small
# files, a stat storm (find -newer), one large sequential read
# (bench/virtiofs-l1.sh). Inside a QEMU TCG L1 guest where this host's
# /dev/kvm is software (virtiofsd and its libraries copied into L1), on the
# host where it is hardware (LKVM_MODE=direct|nested forces one).
#
# Usage: bench/virtiofs.sh
# VFSBENCH_FILES (default 500), VFSBENCH_BIG_MIB (default 16),
# VFSBENCH_ROUNDS (default 3), VFSBENCH_BUDGET (default 150: no round starts
# after that many seconds of rounds in the guest; the first always runs),
# so that a TCG L1 finishes in about 5 minutes. Prints a table of the
# medians, virtio-fs's time as a share of 9P's, and the rounds taken.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/nested/lib.sh
. tests/nested/lib.sh
# shellcheck source=tests/nested/sandbox.sh
. tests/nested/sandbox.sh

FILES=${VFSBENCH_FILES:-500}
BIG=${VFSBENCH_BIG_MIB:-16}
ROUNDS=${VFSBENCH_ROUNDS:-3}
BUDGET=${VFSBENCH_BUDGET:-150}
lkvm_bench_build vfs
lkvm_fetch_guest x86_64 || exit 1
lkvm_build_l2_initrd "$WORK/l2.cpio" || exit 1
# The sandbox's kernel and modules (virtiofs, 9p) and virtiofsd, as in the tier.
nested_sandbox_prepare "$WORK" || exit 1
install -m 755 bench/virtiofs-l1.sh "$WORK/l1-overlay/l2/virtiofs-l1.sh"
cp bench/virtiofs-l1.sh "$WORK/"

extra=
if [ "$LKVM_MODE" = direct ]; then
	extra="-k $LKVM_VMLINUZ --modules $LKVM_KROOT/lib/modules/$LKVM_KVER"
	drv=$WORK/virtiofs-l1.sh
elif [ "$LKVM_KVER" != "$LKVM_L1_KVER" ]; then
	extra="-k /boot/vmlinuz-$LKVM_KVER"
	drv=/l2/virtiofs-l1.sh
else
	drv=/l2/virtiofs-l1.sh
fi
# Making the trees and booting the sandbox, then the rounds' budget and one
# round more (a round starts only within the budget).
TMO=$((240 + 2 * BUDGET))
{
	echo "LKVM_CASE_TIMEOUT=$TMO"
	echo "run_case vfsbench 'sh $drv \$LKVM $FILES $BIG $ROUNDS $BUDGET $extra'"
} >"$WORK/cases.sh"

echo "bench: $FILES small files, $BIG MiB, up to $ROUNDS rounds in ${BUDGET}s ($LKVM_MODE); this takes a while" >&2
lkvm_bench_run "$WORK/l1-overlay" $((120 + TMO))
out=$(lkvm_case_output "$LOG" vfsbench)
if ! grep -q '^VFSBENCH-DONE' <<<"$out"; then
	echo "bench: the guest did not finish; its output:" >&2
	tail -n 40 <<<"$out" >&2
	exit 1
fi
grep '^VFSBENCH-FAIL' <<<"$out" >&2 && exit 1
# Medians per file system and operation; virtio-fs's time as a share of 9P's.
awk '$1 == "VFSBENCH" { v[$2 " " $3] = v[$2 " " $3] " " $5 }
END {
	n = split("walk-md5 stat-storm big-read", ops, " ")
	printf "%-12s %10s %12s %8s\n", "operation", "9p ms", "virtiofs ms", "ratio"
	for (i = 1; i <= n; i++) {
		a = med(v["9p " ops[i]]); b = med(v["virtiofs " ops[i]])
		printf "%-12s %10d %12d %8.2f\n", ops[i], a, b, a ? b / a : 0
	}
}
function med(s,   x, k, j, t, m) {
	m = split(s, x, " ")
	for (k = 1; k <= m; k++) for (j = k + 1; j <= m; j++) if (x[j] + 0 < x[k] + 0) { t = x[k]; x[k] = x[j]; x[j] = t }
	return m ? x[int((m + 1) / 2)] : 0
}' <<<"$out"
echo "($(sed -n 's/^VFSBENCH-DONE rounds=//p' <<<"$out" | tr -d '\r') rounds, $FILES files, $BIG MiB, $LKVM_MODE; ratio = virtio-fs / 9P, same guest)"

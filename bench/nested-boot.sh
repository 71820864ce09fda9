#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Time for a real Linux guest (Debian 6.1 bzImage, tests/nested's busybox
# initramfs, 2 vCPUs, 512 MiB, `quiet`) to reach /init, lkvm against QEMU's
# microvm machine with KVM, both booted in the same run the same way:
#   - wall: from starting the VMM to its console showing the guest's
#     L2-INIT-REACHED line, timed where the VMM runs (/proc/uptime, 10 ms
#     steps), so it includes the VMM's own set-up and any firmware;
#   - guest: the guest's own uptime when /init starts (L2-UPTIME=), i.e. the
#     kernel's part of the boot.
# The VMMs run alternately (lkvm, qemu, lkvm, ...), RUNS times each (default
# 3); the table gives medians and the ratio lkvm/qemu.
#
# It boots the VMMs the way tests/nested does: inside one QEMU TCG L1 guest
# where this host's /dev/kvm is software (lkvm-static and the host's QEMU with
# its libraries copied into L1), on the host where it is hardware
# (LKVM_MODE=direct|nested forces one).
#
# Usage: bench/nested-boot.sh [RUNS]
# NESTED_BOOT_QEMU_MACHINE: QEMU's -M value (default microvm; acpi=on hangs
# early in some boots of this kernel, see bench/README.md).
set -u
cd "$(dirname "$0")/.." || exit 1
REPO=$PWD
RUNS=${1:-3}
MACHINE=${NESTED_BOOT_QEMU_MACHINE:-microvm}
# shellcheck source=tests/nested/lib.sh
. tests/nested/lib.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-bench-boot.XXXXXX") || exit 1
# shellcheck disable=SC2153 # LKVM_KEEP comes from the environment, as in the tier
trap '[ "${LKVM_KEEP:-0}" = 1 ] && echo "bench: work files in $WORK" >&2 || rm -rf "$WORK"' EXIT

command -v qemu-system-x86_64 >/dev/null ||
	{ echo "bench: needs qemu-system-x86_64 (apt-get install qemu-system-x86)" >&2; exit 1; }
make -s lkvm >&2 || exit 1
lkvm_detect_mode "$REPO/lkvm"
if [ "$LKVM_MODE" = nested ]; then
	make -s lkvm-static >&2 || exit 1
	LKVM_BIN=$REPO/lkvm-static
else
	LKVM_BIN=$REPO/lkvm
fi
lkvm_fetch_guest x86_64 || exit 1
lkvm_build_l2_initrd "$WORK/l2.cpio" || exit 1

# Runs a VMM with its output passed through, and prints where it runs the
# uptime at its start (BOOT-T0=) and when the guest's init line went by
# (BOOT-INIT=). POSIX sh: it runs under L1's busybox too. `read` from
# /proc/uptime forks nothing, so the stamp is taken as the line arrives.
mkdir -p "$WORK/overlay/bench"
cat >"$WORK/overlay/bench/timer.sh" <<'EOF'
#!/bin/sh
set -o pipefail
read -r t0 _ </proc/uptime
echo "BOOT-T0=$t0"
"$@" 2>&1 | {
	seen=0
	while IFS= read -r l || [ -n "$l" ]; do
		if [ "$seen" = 0 ]; then
			case "$l" in
			*L2-INIT-REACHED*)
				read -r t1 _ </proc/uptime
				echo "BOOT-INIT=$t1"
				seen=1
				;;
			esac
		fi
		printf '%s\n' "$l"
	done
}
EOF
chmod 755 "$WORK/overlay/bench/timer.sh"

QARGS="-M $MACHINE -accel kvm -cpu host -smp 2 -m 512 -display none -nodefaults"
QARGS="$QARGS -no-user-config -no-reboot -serial stdio"
if [ "$LKVM_MODE" = nested ]; then
	# The host's QEMU, its libraries and the firmware microvm or pc need.
	q=$(command -v qemu-system-x86_64)
	mkdir -p "$WORK/overlay/qemu/lib" "$WORK/overlay/qemu/share"
	cp "$q" "$WORK/overlay/qemu/"
	for l in $(ldd "$q" | grep -o '/[^ ]*'); do cp -L "$l" "$WORK/overlay/qemu/lib/"; done
	for f in /usr/share/qemu/bios-microvm.bin /usr/share/seabios/bios-256k.bin \
		/usr/share/qemu/linuxboot_dma.bin /usr/share/qemu/kvmvapic.bin; do
		cp -L "$f" "$WORK/overlay/qemu/share/" || exit 1
	done
	ld=$(basename "$(ldd "$q" | grep -o '/[^ ]*ld-linux[^ ]*')")
	QEMU="/qemu/lib/$ld --library-path /qemu/lib /qemu/$(basename "$q") -L /qemu/share"
	TIMER=/bench/timer.sh
else
	QEMU=qemu-system-x86_64
	TIMER=$WORK/overlay/bench/timer.sh
fi

{
	echo "LKVM_CASE_TIMEOUT=$LKVM_CASE_TIMEOUT"
	for i in $(seq "$RUNS"); do
		echo "run_case lkvm-$i '$TIMER \$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c 2 -m 512 -p \"lkvmtest.action=poweroff quiet\"'"
		echo "run_case qemu-$i '$TIMER $QEMU $QARGS -kernel \$L2_KERNEL -initrd \$L2_INITRD -append \"console=ttyS0 lkvmtest.action=poweroff quiet\"'"
	done
} >"$WORK/cases.sh"

LOG=$WORK/console.log
echo "bench: booting L2 $((2 * RUNS)) times ($LKVM_MODE, qemu -M $MACHINE); this takes a few minutes" >&2
if [ "$LKVM_MODE" = nested ]; then
	lkvm_build_l1_initrd "$WORK/l1.cpio" "$LKVM_BIN" "$WORK/l2.cpio" "$WORK/cases.sh" \
		"$WORK/overlay" || exit 1
	lkvm_run_l1 "$WORK/l1.cpio" "$LOG" $((120 + 2 * RUNS * (LKVM_CASE_TIMEOUT + 10)))
	grep -q '^L1-KVM-OK' "$LOG" ||
		{ echo "bench: L1 has no /dev/kvm:" >&2; tail -n 30 "$LOG" >&2; exit 1; }
else
	lkvm_run_direct "$WORK/cases.sh" "$LOG" "$LKVM_BIN" "$WORK/l2.cpio"
fi

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "nan" }'; }

printf '%-8s %8s %12s %12s\n' run status "wall s" "guest s" >&2
bad=0
for vmm in lkvm qemu; do
	: >"$WORK/$vmm.wall"
	: >"$WORK/$vmm.guest"
	for i in $(seq "$RUNS"); do
		out=$(lkvm_case_output "$LOG" "$vmm-$i")
		st=$(lkvm_case_status "$LOG" "$vmm-$i")
		t0=$(sed -n 's/^BOOT-T0=//p' <<<"$out" | head -n 1)
		t1=$(sed -n 's/^BOOT-INIT=//p' <<<"$out" | head -n 1)
		up=$(lkvm_l2_value "$out" UPTIME)
		if [ -z "$t0" ] || [ -z "$t1" ] || [ -z "$up" ]; then
			bad=1
			echo "bench: $vmm-$i did not reach the guest's init (status ${st:-none}); its output:" >&2
			tail -n 30 <<<"$out" >&2
			continue
		fi
		[ "$st" = 0 ] || echo "bench: warning: $vmm-$i ended with status $st" >&2
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
		echo "$wall" >>"$WORK/$vmm.wall"
		echo "$up" >>"$WORK/$vmm.guest"
		printf '%-8s %8s %12s %12s\n' "$vmm-$i" "$st" "$wall" "$up" >&2
	done
	echo "$vmm L2 command line: $(lkvm_case_output "$LOG" "$vmm-1" | sed -n 's/.*L2-CMDLINE=//p' | head -n 1)" >&2
done

where="L1 under QEMU TCG, L2 on L1's nested KVM"
[ "$LKVM_MODE" = direct ] && where="on this host's KVM"
echo "L2 boot to /init ($where), medians of $RUNS runs each; qemu is -M $MACHINE"
printf '%-10s %22s %22s\n' vmm "exec->init wall s" "guest uptime at init s"
declare -A W G
for vmm in lkvm qemu; do
	W[$vmm]=$(median <"$WORK/$vmm.wall")
	G[$vmm]=$(median <"$WORK/$vmm.guest")
	printf '%-10s %22s %22s\n' "$vmm" "${W[$vmm]}" "${G[$vmm]}"
done
awk -v a="${W[lkvm]}" -v b="${W[qemu]}" -v c="${G[lkvm]}" -v d="${G[qemu]}" 'BEGIN {
	printf "%-10s %22s %22s\n", "lkvm/qemu", (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "nan",
		(c > 0 && d > 0) ? sprintf("%.2f", c / d) : "nan"
}'
exit "$bad"

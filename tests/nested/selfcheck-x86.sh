#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Checks the nested tier's own machinery without lkvm, so a failure in
# run-x86.sh can be pinned on lkvm rather than on the images or the host:
#   l2-tcg-poweroff, l2-tcg-reboot  the L2 kernel + initramfs booted directly by
#                                   QEMU TCG report L2-* lines and stop as asked
#   l1-kvm                          L1 loads kvm-amd (nested=1) and has /dev/kvm
#   l1-reference-vmm (--reference-vmm only)  QEMU copied into L1 boots the same
#                                   L2 with L1's KVM, i.e. nested KVM works here
# Output protocol as run-x86.sh, with names nested-harness/<case>.
#
# Usage: tests/nested/selfcheck-x86.sh [--reference-vmm]

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/nested/lib.sh
. "$HERE/lib.sh"

REFERENCE=0
[ "${1:-}" = --reference-vmm ] && REFERENCE=1

FAILED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-selfcheck.XXXXXX") || exit 2
trap '[ "$FAILED" = 0 ] && [ "${LKVM_KEEP:-0}" != 1 ] && rm -rf "$WORK" || echo "INFO: logs kept in $WORK" >&2' EXIT

pass() { echo "PASS: nested-harness/$1"; }
fail() {
	FAILED=1
	echo "FAIL: nested-harness/$1: $2"
	[ -n "${3:-}" ] && [ -f "$3" ] && tail -n 40 "$3" >&2
}

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: nested-harness/all: qemu-system-x86_64 not installed"
	exit 0
fi
if ! lkvm_fetch_guest x86_64; then
	echo "SKIP: nested-harness/all: cannot fetch the Debian guest kernel"
	exit 0
fi
lkvm_build_l2_initrd "$WORK/l2.cpio" || { fail l2-initrd "cannot build"; exit 1; }

# L2 images straight under QEMU TCG (firmware + bzImage path, like lkvm).
for action in poweroff reboot; do
	log=$WORK/l2-$action.log
	t0=$(date +%s.%N)
	timeout -s KILL 120 qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -cpu max -m 512 \
		-kernel "$LKVM_VMLINUZ" -initrd "$WORK/l2.cpio" \
		-append "console=ttyS0 lkvmtest.action=$action quiet" \
		-display none -no-reboot -nodefaults -no-user-config -serial stdio \
		</dev/null 2>&1 | tr -d '\r' >"$log"
	rc=${PIPESTATUS[0]}
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	case $action in
	poweroff) stop='reboot: Power down' ;;
	reboot) stop='reboot: Restarting system' ;;
	esac
	out=$(cat "$log")
	if [ "$rc" != 0 ]; then
		fail "l2-tcg-$action" "qemu status $rc" "$log"
	elif ! grep -q L2-INIT-REACHED "$log"; then
		fail "l2-tcg-$action" "no L2-INIT-REACHED" "$log"
	elif [ "$(lkvm_l2_value "$out" CPUS)" != 2 ] || [ "$(lkvm_l2_value "$out" UNAME)" != "$LKVM_KVER" ]; then
		fail "l2-tcg-$action" "wrong L2-CPUS/L2-UNAME" "$log"
	elif ! grep -q "L2-ACTION=$action" "$log" || ! grep -q "$stop" "$log"; then
		fail "l2-tcg-$action" "guest did not $action" "$log"
	else
		pass "l2-tcg-$action"
	fi
	echo "INFO: l2-tcg-$action: ${secs}s; $(grep -m1 L2-DEVICES "$log")" >&2
done

# L1 with KVM, optionally a reference VMM (the host's QEMU and its libraries).
: >"$WORK/cases.sh"
mkdir -p "$WORK/overlay"
if [ "$REFERENCE" = 1 ]; then
	q=$(command -v qemu-system-x86_64)
	mkdir -p "$WORK/overlay/qemu/lib" "$WORK/overlay/qemu/share"
	cp "$q" "$WORK/overlay/qemu/"
	for l in $(ldd "$q" | grep -o '/[^ ]*'); do cp -L "$l" "$WORK/overlay/qemu/lib/"; done
	for f in /usr/share/seabios/bios-256k.bin /usr/share/qemu/linuxboot_dma.bin \
		/usr/share/qemu/kvmvapic.bin; do
		cp -L "$f" "$WORK/overlay/qemu/share/"
	done
	ld=$(basename "$(ldd "$q" | grep -o '/[^ ]*ld-linux[^ ]*')")
	cat >>"$WORK/cases.sh" <<EOF
run_case reference '/qemu/lib/$ld --library-path /qemu/lib /qemu/$(basename "$q") -L /qemu/share -accel kvm -cpu host -smp 2 -m 512 -display none -nodefaults -no-user-config -no-reboot -serial stdio -kernel \$L2_KERNEL -initrd \$L2_INITRD -append "console=ttyS0 lkvmtest.action=poweroff quiet"'
EOF
fi
lkvm_build_l1_initrd "$WORK/l1.cpio" "" "$WORK/l2.cpio" "$WORK/cases.sh" "$WORK/overlay" ||
	{ fail l1-kvm "cannot build the L1 initramfs"; exit 1; }
log=$WORK/l1.log
t0=$(date +%s.%N)
lkvm_run_l1 "$WORK/l1.cpio" "$log" 300
rc=$?
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if grep -q '^L1-KVM-OK' "$log" && grep -q '^L1-DONE' "$log"; then
	pass l1-kvm
else
	fail l1-kvm "no /dev/kvm in L1 or L1 did not finish (qemu status $rc)" "$log"
fi
echo "INFO: l1: whole QEMU run ${secs}s, /init at $(sed -n 's/^L1-INIT-REACHED uptime=//p' "$log")s guest uptime" >&2
if [ "$REFERENCE" = 1 ]; then
	out=$(lkvm_case_output "$log" reference)
	st=$(lkvm_case_status "$log" reference)
	if [ "$st" = 0 ] && printf '%s\n' "$out" | grep -q L2-ACTION=poweroff &&
		[ "$(lkvm_l2_value "$out" CPUS)" = 2 ]; then
		pass l1-reference-vmm
	else
		fail l1-reference-vmm "status ${st:-none}" "$log"
	fi
	echo "INFO: l1-reference-vmm: L2 boot to poweroff $(lkvm_case_secs "$log" reference)s" >&2
fi
exit "$FAILED"

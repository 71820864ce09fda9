#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nested test tier (arm64): a static lkvm-arm64 boots Debian's arm64 kernel
# as L2 inside an arm64 Debian L1 running under qemu-system-aarch64 (TCG,
# virtualization=on, so L1's built-in KVM works). Two L1 boots run all the
# cases: one on a GICv3 (with ITS) machine, one on a GICv2 machine.
#
# Usage: tests/nested/run-arm64.sh [LKVM_REPO]
# stdout: one "PASS|FAIL|SKIP: nested/arm64-<case>[: why]" line per case.
# stderr: progress, timings, and the console of failing cases.
# Exit status: 0 when no case failed.

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "${1:-$HERE/../..}" && pwd) || exit 2
# shellcheck source=tests/nested/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/nested/lib-arm64.sh
. "$HERE/lib-arm64.sh"
# shellcheck source=tests/nested/balloon.sh
. "$HERE/balloon.sh"
# shellcheck source=tests/nested/kernel2.sh
. "$HERE/kernel2.sh"
# shellcheck source=tests/nested/kut.sh
. "$HERE/kut.sh"

# Cases per L1 machine. See case_cmd for what each runs, check_case for
# what passes.
# (kernel2.sh's cases boot Debian's 6.12 as L2 in the GICv3 L1.)
K2_CASES=$(nested_k2_cases arm64)
CASES_V3="boot-poweroff reboot pipe-fifo pipe-gzip pci nested-refused spe-refused gicv2-refused kvmtool-cli raw-boot firmware-boot aarch32-boot $K2_CASES"
CASES_V2="gicv2-boot"
# kut.sh adds kvm-unit-tests' cases (kut-*) to both once the tarball is
# unpacked. LKVM_ARM64_CASES="case ..." runs only those (development).
only_cases() {
	local c out=
	for c in "$@"; do
		if [ -z "${LKVM_ARM64_CASES:-}" ] || printf ' %s ' "$LKVM_ARM64_CASES" | grep -q " $c "; then
			out="$out $c"
		fi
	done
	echo "$out"
}
CASES="$CASES_V3 $CASES_V2"
L2_ARGS='-c 2 -m 512'
L2_MODULES="virtio_mmio virtio_pci virtio_blk virtio-rng virtio_console virtio_balloon"
CROSS=${CROSS_COMPILE:-aarch64-linux-gnu-}

nested_begin nested-arm64 arm64- CASES
command -v qemu-system-aarch64 >/dev/null ||
	all_cases SKIP "needs qemu-system-aarch64 (apt-get install qemu-system-arm)"
nested_build_arm64

# --- guest images -----------------------------------------------------------------
lkvm_arm64_fetch_guest || all_cases SKIP "cannot fetch Debian's arm64 kernel or busybox"

# What the L2 guest reports besides l2-init.sh's lines.
mkdir -p "$WORK/l2-overlay/lkvmtest.d"
cat >"$WORK/l2-overlay/lkvmtest.d/arm64.sh" <<'EOF'
#!/bin/sh
dt=/proc/device-tree
gic=$(cat $dt/intc@8000000/compatible 2>/dev/null | tr '\0' ' ')
echo "L2-ARM-GIC=${gic% }"
[ -d $dt/intc@8000000/its@8080000 ] && echo "L2-ARM-ITS=yes" || echo "L2-ARM-ITS=no"
echo "L2-ARM-PSCI=$(cat $dt/psci/method 2>/dev/null | tr -d '\0')"
# The kernel's complaint about a wrong load offset (a warning: quiet hides it).
echo "L2-ARM-MISALIGNED=$(dmesg | grep -ci misaligned)"
# ...and about x1-x3 not being zero at entry.
echo "L2-ARM-X1X3=$(dmesg | grep -c 'x1-x3 nonzero')"
# ITS-MSI until 6.1; ITS-PCI-MSI(X)-<device> since the MSI parent rework (6.12 has it)
echo "L2-ARM-MSI=$(grep -cE 'ITS-(PCI-)?MSI' /proc/interrupts)"
echo "L2-ARM-BLK=$(cat /sys/block/vda/size 2>/dev/null)"
echo "L2-ARM-PMU=$(dmesg | grep -c 'hw perfevents: enabled')"
echo "L2-ARM-RTC=$(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null)"
EOF
chmod 755 "$WORK/l2-overlay/lkvmtest.d/arm64.sh"
lkvm_build_l2_initrd "$WORK/l2.cpio" --modules "$L2_MODULES" --overlay "$WORK/l2-overlay" ||
	all_cases FAIL "cannot build the L2 initramfs"

# A gzip-compressed Image, as distributions that ship vmlinuz.gz have it;
# cached next to the kernel.
KGZ=$LKVM_KROOT/boot/Image.gz
if [ ! -s "$KGZ" ]; then
	gzip -c -6 "$LKVM_VMLINUZ" >"$KGZ.tmp" && mv "$KGZ.tmp" "$KGZ" ||
		all_cases FAIL "cannot gzip the kernel"
fi

# L1 extras: the gzipped Image; the README's kvmtool table and its checker.
mkdir -p "$WORK/l1-overlay/l2" "$WORK/l1-overlay/kvmtool-cli"
cp "$KGZ" "$WORK/l1-overlay/l2/Image.gz" || all_cases FAIL "cannot stage Image.gz"
cp "$REPO/README.md" "$REPO/tests/unit/test-cli.sh" "$WORK/l1-overlay/kvmtool-cli/" ||
	all_cases FAIL "cannot stage the kvmtool table"

# Two tiny raw binaries (no Image header), for kvmtool's raw and firmware
# boots: each prints "OK" on the UART when the boot register (x0, or r2
# for AArch32) points at a device tree ("NO" otherwise), then PSCI
# SYSTEM_OFF. Hand-assembled: words in little-endian order.
raw_words() {
	local w
	for w in "$@"; do
		printf "\\x${w:6:2}\\x${w:4:2}\\x${w:2:2}\\x${w:0:2}"
	done
}
# ldr w2,[x0]; w3 = 0xedfe0dd0 (the FDT magic as a LE word); x4 = UART;
# "OK" if equal else "NO"; "\n"; w0 = 0x84000008; hvc #0; b .
raw_words b9400002 5281ba03 72bdbfc3 d2a14004 528009e1 52800965 6b03005f 54000060 \
	528009c1 528009e5 39000081 39000085 52800141 39000081 52800100 72b08000 \
	d4000002 14000000 >"$WORK/l1-overlay/l2/raw64.bin"
# The same in A32: ldr r3,[r2]; movw/movt r4; movw/movt r0 = UART; ...
raw_words e5923000 e3004dd0 e34e4dfe e3000000 e3400a00 e3a0104f e3a0504b e1530004 \
	13a0104e 13a0504f e5c01000 e5c05000 e3a0100a e5c01000 e3000008 e3480400 \
	e1400070 eafffffe >"$WORK/l1-overlay/l2/raw32.bin"

# The second kernel (kernel2.sh): its cases SKIP when it cannot be fetched.
K2_SKIP=
nested_k2_prepare "$WORK" arm64
case $? in
0) ;;
2) K2_SKIP="cannot fetch a Debian 6.12 arm64 kernel (apt and cache both failed)" ;;
*) all_cases FAIL "cannot build the second kernel's L2 initramfs" ;;
esac

# kvm-unit-tests: staged into L1's overlay, its cases added to the lists.
nested_kut_prepare "$WORK"
if [ -z "$NESTED_KUT_SKIP" ]; then
	CASES_V3="$CASES_V3 $NESTED_KUT_V3"
	CASES_V2="$CASES_V2 $NESTED_KUT_V2"
fi
# shellcheck disable=SC2086
CASES_V3=$(only_cases $CASES_V3)
# shellcheck disable=SC2086
CASES_V2=$(only_cases $CASES_V2)
CASES="$CASES_V3 $CASES_V2"

# The command of each case, for the L1 case list (run_case evaluates it
# behind "timeout -s KILL", so lkvm comes first or is wrapped itself: a
# killed shell must not leave a guest running into the next case).
case_cmd() {
	local boot='$LKVM run -k $L2_KERNEL -i $L2_INITRD' tmo="timeout -s KILL $LKVM_CASE_TIMEOUT"
	local quiet='"lkvmtest.action=poweroff quiet"'
	case "$1" in
	# Every virtio device over virtio-mmio (the default transport), a
	# virtio console next to ttyS0, the device tree dumped and its magic
	# checked afterwards.
	boot-poweroff) echo "$boot $L2_ARGS -d /tmp/disk-boot.img --rng --balloon" \
		"--console virtio --dump-dtb /tmp/l2.dtb" \
		"-p \"console=ttyS0 lkvmtest.action=poweroff quiet\"; s=\$?;" \
		"echo L1-DTB-MAGIC=\$(od -An -tx1 -N4 /tmp/l2.dtb | tr -d \" \"); (exit \$s)" ;;
	reboot) echo "$boot $L2_ARGS --irqchip gicv3 --pmu --rng -p \"lkvmtest.action=reboot quiet\"" ;;
	# Kernel on a pipe, initrd on a FIFO (its writer starts in the preamble).
	pipe-fifo) echo "cat \$L2_KERNEL | $tmo \$LKVM run -k /dev/stdin -i /tmp/initrd.fifo" \
		"$L2_ARGS --rng -p $quiet" ;;
	# A gzip-compressed kernel on a pipe, decompressed as it streams in.
	pipe-gzip) echo "cat /l2/Image.gz | $tmo \$LKVM run -k /dev/stdin -i \$L2_INITRD" \
		"$L2_ARGS --rng -p $quiet" ;;
	# virtio over PCI: ECAM host bridge, MSI-X through the ITS.
	pci) echo "$boot $L2_ARGS --virtio-transport pci -d /tmp/disk-pci.img --rng -p $quiet" ;;
	# L1 (Linux 6.1) has neither nested virtualization nor KVM SPE.
	nested-refused) echo "\$LKVM run -k \$L2_KERNEL $L2_ARGS --nested" ;;
	spe-refused) echo "\$LKVM run -k \$L2_KERNEL $L2_ARGS --spe" ;;
	gicv2-refused) echo "\$LKVM run -k \$L2_KERNEL $L2_ARGS --irqchip gicv2" ;;
	# kvmtool's raw binary, firmware and AArch32 boots.
	raw-boot) echo "\$LKVM run -k /l2/raw64.bin -c 2 -m 128" ;;
	firmware-boot) echo "\$LKVM run --firmware /l2/raw64.bin -c 1 -m 128" ;;
	aarch32-boot) echo "\$LKVM run --aarch32 -k /l2/raw32.bin -c 1 -m 128" ;;
	# The README's kvmtool table, the arm64 rows too, against lkvm-arm64.
	kvmtool-cli) echo "sh /kvmtool-cli/test-cli.sh \$LKVM /kvmtool-cli/README.md arm64" ;;
	# On a GICv2 host the default is a GICv2.
	gicv2-boot) echo "$boot $L2_ARGS --rng -p $quiet" ;;
	esac
}

write_cases() {
	local c
	echo "LKVM_CASE_TIMEOUT=$LKVM_CASE_TIMEOUT"
	# What the cases need in L1: /dev/stdin (busybox has none), disks, a
	# FIFO with its writer waiting for lkvm.
	echo '[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin'
	echo 'dd if=/dev/zero of=/tmp/disk-boot.img bs=1M count=8 2>/dev/null'
	echo 'dd if=/dev/zero of=/tmp/disk-pci.img bs=1M count=8 2>/dev/null'
	echo 'mkfifo /tmp/initrd.fifo && (cat $L2_INITRD >/tmp/initrd.fifo &)'
	[ -z "$K2_SKIP" ] && nested_k2_preamble
	[ -z "$NESTED_KUT_SKIP" ] && [ -n "$NESTED_KUT_V3$NESTED_KUT_V2" ] && nested_kut_preamble
	for c in "$@"; do
		case "$c" in
		kernel2-*) [ -z "$K2_SKIP" ] && nested_k2_case_lines arm64 "$c"; continue ;;
		kut-*) echo "run_case $c '$(nested_kut_cmd "$c")'"; continue ;;
		esac
		echo "run_case $c '$(case_cmd "$c")'"
	done
}

# --- run ------------------------------------------------------------------------------
# $1 GIC version  $2 log  $3... cases
run_l1() {
	local gic=$1 log=$2 n qrc up
	shift 2
	n=$#
	write_cases "$@" >"$WORK/cases-v$gic.sh"
	lkvm_arm64_build_l1_initrd "$WORK/l1-v$gic.cpio" "$LKVM_BIN" "$WORK/l2.cpio" \
		"$WORK/cases-v$gic.sh" "$WORK/l1-overlay" || return 1
	echo "INFO: [$(now)s] booting arm64 L1 (QEMU TCG, GICv$gic) with $n case(s)" >&2
	LKVM_L1_IDLE=${LKVM_L1_IDLE:-$((NESTED_BALLOON_TIMEOUT + 150))} \
	lkvm_arm64_run_l1 "$WORK/l1-v$gic.cpio" "$log" \
		$((60 + n * (LKVM_CASE_TIMEOUT + 10) + NESTED_BALLOON_TIMEOUT)) "$gic"
	qrc=$?
	up=$(sed -n 's/^L1-INIT-REACHED uptime=//p' "$log")
	echo "INFO: [$(now)s] L1 (GICv$gic) finished (qemu status $qrc), /init at ${up:-?}s" >&2
	grep -q '^L1-KVM-OK' "$log" || { tail -n 40 "$log" >&2; return 2; }
	return 0
}

LOG3=$WORK/console-v3.log
LOG2=$WORK/console-v2.log
L1_V3=ok L1_V2=ok
# shellcheck disable=SC2086
[ -z "${CASES_V3// /}" ] || run_l1 3 "$LOG3" $CASES_V3 || L1_V3=bad
# shellcheck disable=SC2086
[ -z "${CASES_V2// /}" ] || run_l1 2 "$LOG2" $CASES_V2 || L1_V2=bad

# --- verdicts --------------------------------------------------------------------------
# Why a refusal case failed, or nothing: status 1 and exactly one lkvm line
# naming @want.
check_refusal() {
	local out=$1 status=$2 want=$3 lines
	[ "$status" = 1 ] || { echo "lkvm exit status $status, want 1"; return; }
	lines=$(printf '%s\n' "$out" | grep -c '^lkvm: ')
	[ "$lines" = 1 ] || { echo "$lines lkvm lines, want exactly one"; return; }
	printf '%s\n' "$out" | grep -q "$want" ||
		echo "the error does not mention $want: $(printf '%s\n' "$out" | grep '^lkvm: ')"
}

# Why a boot case failed, or nothing when it passed.
check_case() {
	local c=$1 log=$2 out status action=poweroff v
	out=$(lkvm_case_output "$log" "$c")
	status=$(lkvm_case_status "$log" "$c")
	if [ -z "$status" ]; then
		grep -q "L1-BEGIN $c\$" "$log" && echo "did not finish (L1 stopped or timed out)" ||
			echo "never started"
		return
	fi
	case "$c" in
	kernel2-*) nested_k2_check arm64 "$c" "$out" "$status"; return ;;
	kut-*) nested_kut_check "$c" "$out"; return ;;
	esac
	[ "$status" = 137 ] && { echo "timed out after ${LKVM_CASE_TIMEOUT}s (killed)"; return; }
	case "$c" in
	nested-refused) check_refusal "$out" "$status" KVM_CAP_ARM_EL2; return ;;
	spe-refused) check_refusal "$out" "$status" KVM_CAP_ARM_SPE; return ;;
	gicv2-refused) check_refusal "$out" "$status" GICv2; return ;;
	raw-boot|firmware-boot|aarch32-boot)
		if [ "$c" = aarch32-boot ] && [ "$status" = 1 ] &&
			printf '%s\n' "$out" | grep -q '^lkvm: --aarch32: .*KVM_CAP_ARM_EL1_32BIT'; then
			echo "SKIP: this host's KVM has no 32-bit EL1 (the refusal was one line, status 1)"
			return
		fi
		printf '%s\n' "$out" | grep -qx 'OK' ||
			{ echo "the binary did not find a device tree at its boot register: $(printf '%s\n' "$out" | head -n 3 | tr '\n' ' ')"; return; }
		[ "$status" = 0 ] || echo "lkvm exit status $status after PSCI SYSTEM_OFF"
		return ;;
	kvmtool-cli)
		v=$(printf '%s\n' "$out" | grep -c '^PASS: unit/cli/')
		printf '%s\n' "$out" | grep -q '^FAIL: ' &&
			{ echo "$(printf '%s\n' "$out" | grep -c '^FAIL: ') rows wrong: $(printf '%s\n' "$out" | grep -m1 '^FAIL: ')"; return; }
		[ "$status" = 0 ] && [ "$v" -gt 40 ] || echo "status $status, $v rows checked"
		return ;;
	reboot) action=reboot ;;
	esac
	lkvm_l2_panic "$out" && return
	printf '%s\n' "$out" | grep -q 'L2-INIT-REACHED' ||
		{ echo "guest never reached /init (lkvm status $status)"; return; }
	# The console line may be split by the kernel's copy of it (kmsg).
	printf '%s\n' "$out" | grep -q -e "L2-ACTION=$action" -e "L2-KMSG-ACTION=$action" ||
		{ echo "guest init did not get to $action (lkvm status $status)"; return; }
	[ "$status" = 0 ] || { echo "lkvm exit status $status after guest $action"; return; }
	v=$(lkvm_l2_value "$out" CPUS)
	[ "$v" = 2 ] || { echo "guest sees ${v:-?} CPUs, want 2"; return; }
	v=$(lkvm_l2_value "$out" UNAME)
	[ "$v" = "$LKVM_KVER" ] || { echo "guest uname -r '$v', want $LKVM_KVER"; return; }
	v=$(lkvm_l2_value "$out" ARM-MISALIGNED)
	[ "$v" = 0 ] || { echo "the guest kernel says it was loaded misaligned"; return; }
	[ "$(lkvm_l2_value "$out" ARM-X1X3)" = 0 ] ||
		{ echo "the guest kernel found x1-x3 nonzero at entry"; return; }
	v=$(printf '%s\n' "$out" | sed -n 's/.*L2-ARM-GIC=//p' | head -n 1)
	case "$c" in
	gicv2-boot) [ "$v" = arm,cortex-a15-gic ] || { echo "guest GIC '$v', want GICv2"; return; } ;;
	*) [ "$v" = arm,gic-v3 ] || { echo "guest GIC '$v', want GICv3"; return; } ;;
	esac
	v=$(lkvm_l2_value "$out" ARM-ITS)
	case "$c" in
	reboot|gicv2-boot) [ "$v" = no ] || { echo "an ITS with --irqchip gicv3 or a GICv2"; return; } ;;
	*) [ "$v" = yes ] || { echo "no ITS in the guest's device tree (default irqchip)"; return; } ;;
	esac
	[ "$(lkvm_l2_value "$out" ARM-PSCI)" = hvc ] || { echo "PSCI conduit is not hvc"; return; }
	# The PL031 counts from the host's time (L1's, which is this host's).
	v=$(lkvm_l2_value "$out" ARM-RTC)
	[ -n "$v" ] && [ $((v - $(date +%s))) -lt 3600 ] && [ $(($(date +%s) - v)) -lt 3600 ] ||
		{ echo "guest RTC reads '${v}', not this host's time"; return; }
	v=$(lkvm_l2_value "$out" ARM-PMU)
	case "$c" in
	reboot) [ "$v" = 1 ] || { echo "--pmu: the guest found no PMUv3"; return; } ;;
	*) [ "$v" = 0 ] || { echo "a PMU without --pmu"; return; } ;;
	esac
	v=$(printf '%s\n' "$out" | grep -m1 '^L2-DEVICES')
	case "$c" in
	boot-poweroff)
		for d in blk rng console balloon; do
			printf '%s\n' "$v" | grep -q "=$d[] ]" || { echo "no virtio-$d in the guest: $v"; return; }
		done
		printf '%s\n' "$v" | grep -q 'virtio-mmio=\[b000000' || { echo "not over virtio-mmio: $v"; return; }
		[ "$(lkvm_l2_value "$out" ARM-BLK)" = 16384 ] || { echo "vda is not the 8 MiB disk"; return; }
		[ "$(printf '%s\n' "$out" | sed -n 's/^L1-DTB-MAGIC=//p')" = d00dfeed ] ||
			{ echo "--dump-dtb did not write a device tree"; return; }
		;;
	pci)
		printf '%s\n' "$v" | grep -q 'pci=\[[^]]*1af4:1042' || { echo "no virtio-blk on PCI: $v"; return; }
		printf '%s\n' "$v" | grep -q '=rng[] ]' || { echo "no virtio-rng: $v"; return; }
		v=$(lkvm_l2_value "$out" ARM-MSI)
		[ "${v:-0}" -gt 0 ] || { echo "virtio-pci uses no ITS MSIs"; return; }
		;;
	*)
		printf '%s\n' "$v" | grep -q '=rng[] ]' || { echo "no virtio-rng: $v"; return; }
		;;
	esac
}

for c in $CASES; do
	log=$LOG3 bad=$L1_V3
	case " $CASES_V2 " in *" $c "*) log=$LOG2 bad=$L1_V2 ;; esac
	if [ -n "$K2_SKIP" ] && [ "${c#kernel2-}" != "$c" ]; then
		echo "SKIP: nested/arm64-$c: $K2_SKIP"
		continue
	fi
	[ -z "$c" ] && continue
	if [ "$bad" = bad ]; then
		why="L1 did not come up with /dev/kvm"
	else
		why=$(check_case "$c" "$log")
	fi
	secs=$(lkvm_case_secs "$log" "$c")
	name=nested/arm64-$c
	[ "${c#kut-}" != "$c" ] && name=nested/$c
	if [ "${why#SKIP: }" != "$why" ]; then
		echo "SKIP: $name: ${why#SKIP: }"
		echo "INFO: $name: ${secs:-?}s" >&2
	elif [ -z "$why" ]; then
		echo "PASS: $name"
		echo "INFO: $name: ${secs:-?}s" >&2
		[ "${c#kernel2-}" != "$c" ] && echo "INFO: nested/arm64-$c: L2 kernel $LKVM_K2_KVER" >&2
	else
		FAILED=1
		echo "FAIL: $name: $why"
		nested_console "$log" "$c" "$name (${secs:-?}s)"
	fi
done
[ -n "$NESTED_KUT_SKIP" ] && echo "SKIP: nested/kut: $NESTED_KUT_SKIP"
echo "INFO: arm64 nested tier took $(now)s" >&2
exit "$FAILED"

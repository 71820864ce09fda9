#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nested test tier (x86_64): lkvm boots a real Debian kernel with a busybox
# initramfs. Where the host /dev/kvm can boot Linux (hardware virtualization)
# lkvm runs directly; otherwise every case runs inside one QEMU TCG L1 guest
# whose kvm-amd (nested=1) provides /dev/kvm.
#
# Usage: tests/nested/run-x86.sh [LKVM_REPO]
# LKVM_NESTED_CASES="case ...": run only these cases (default: all, below).
# stdout: one "PASS|FAIL|SKIP: nested/<case>[: why]" line per case.
# stderr: progress, timings, and the console of failing cases.
# Exit status: 0 when no case failed.

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "${1:-$HERE/../..}" && pwd) || exit 2
# shellcheck source=tests/nested/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/nested/balloon.sh
. "$HERE/balloon.sh"
# shellcheck source=tests/nested/sandbox.sh
. "$HERE/sandbox.sh"
# shellcheck source=tests/nested/kernel2.sh
. "$HERE/kernel2.sh"
# shellcheck source=tests/nested/nv.sh
. "$HERE/nv.sh"

K2_CASES=$(nested_k2_cases amd64)
# pvh-*: the same kernel as an ELF vmlinux (unpacked from the bzImage)
# booted through its PVH entry, with --boot-timings; and lkvm sandbox on it.
PVH_CASES="pvh-poweroff pvh-reboot pvh-sandbox"
ALL_CASES="boot-poweroff reboot nested-svm balloon $PVH_CASES $NESTED_SANDBOX_CASES $K2_CASES"
# What only the full run (LKVM_FULL=1) adds, to keep tests/run within its
# time: the second kernel over virtio-mmio (kernel2-pci boots it too, and
# run-arm64.sh runs both transports with it) and PVH's reboot (pvh-poweroff
# boots through PVH, reboot reboots); nested-svm leaves out its Linux L3
# (see nv.sh).
FULL_ONLY_CASES="kernel2-mmio pvh-reboot"
# Run only when named (LKVM_NESTED_CASES): usernet passed in one L1 run and
# failed in the next (2026-12-08) on its forwarded port alone (L1's fetch
# through passt's port 18080 never reached the guest's httpd while the
# download, DHCP and vsock from the guest worked); not understood yet, so
# it stays out of CI until it is (issue 16).
NAMED_ONLY_CASES="usernet"
DEFAULT_CASES=
for c in $ALL_CASES; do
	case " $NAMED_ONLY_CASES " in *" $c "*) continue ;; esac
	if [ "${LKVM_FULL:-0}" != 1 ]; then
		case " $FULL_ONLY_CASES " in *" $c "*) continue ;; esac
	fi
	DEFAULT_CASES="$DEFAULT_CASES $c"
done
# LKVM_NESTED_CASES="a b" (or NESTED_X86_CASES) runs only those.
CASES=${LKVM_NESTED_CASES:-${NESTED_X86_CASES:-$DEFAULT_CASES}}
for c in $CASES; do
	case " $ALL_CASES " in
	*" $c "*) ;;
	*) echo "FAIL: nested/$c: no such case (LKVM_NESTED_CASES; cases: $ALL_CASES)"; exit 1 ;;
	esac
done
selected() { case " $CASES " in *" $1"*) return 0 ;; esac; return 1; }
L2_ARGS='-c 2 -m 512'

nested_begin nested "" CASES
nested_build_x86

# --- guest images -------------------------------------------------------------
lkvm_fetch_guest x86_64 || all_cases SKIP "cannot fetch the Debian guest kernel or busybox"
lkvm_build_l2_initrd "$WORK/l2.cpio" || all_cases FAIL "cannot build the L2 initramfs"
nested_balloon_prepare "$WORK" || all_cases FAIL "cannot build the balloon case's L2 initramfs"
nested_sandbox_prepare "$WORK" || all_cases FAIL "cannot prepare the sandbox and net cases"
# nested-svm's L2 runs lkvm itself (nv.sh).
nested_nv_x86_prepare "$WORK" "$REPO" "$WORK/l2.cpio" ||
	all_cases FAIL "cannot build nested-svm's L2 initramfs"
# The second kernel (kernel2.sh): its cases SKIP when it cannot be fetched.
K2_SKIP=
if selected kernel2-; then
	nested_k2_prepare "$WORK" amd64
	case $? in
	0) ;;
	2) K2_SKIP="cannot fetch a Debian 6.12 kernel (apt and cache both failed)" ;;
	*) all_cases FAIL "cannot build the second kernel's L2 initramfs" ;;
	esac
else
	K2_SKIP="not selected"
fi
# The PVH cases' vmlinux: in L1 at /l2/vmlinux, where the sandbox finds its
# modules from the release in its banner.
PVH_VMLINUX=
if selected pvh-; then
	lkvm_guest_vmlinux || all_cases FAIL "cannot unpack the vmlinux from $LKVM_VMLINUZ"
	PVH_VMLINUX=$LKVM_VMLINUX
	if [ "$LKVM_MODE" = nested ]; then
		cp "$LKVM_VMLINUX" "$WORK/l1-overlay/l2/vmlinux" || all_cases FAIL "cannot copy the vmlinux"
		PVH_VMLINUX=/l2/vmlinux
	fi
fi

{
	echo "LKVM_CASE_TIMEOUT=$LKVM_CASE_TIMEOUT"
	[ -z "$K2_SKIP" ] && nested_k2_preamble
	for c in $CASES; do
		case "$c" in
		kernel2-*) [ -z "$K2_SKIP" ] && nested_k2_case_lines amd64 "$c"; continue ;;
		boot-poweroff) action=poweroff ;;
		reboot) action=reboot ;;
		# L1's KVM (kvm-amd nested=1) offers SVM: --nested hands it on,
		# and L2 runs L3 guests with it.
		nested-svm) nested_nv_x86_case_lines "$LKVM_CASE_TIMEOUT"; continue ;;
		balloon) nested_balloon_case_lines balloon; continue ;;
		pvh-poweroff|pvh-reboot)
			echo "run_case $c '\$LKVM run -k $PVH_VMLINUX -i \$L2_INITRD $L2_ARGS --boot-timings -p \"lkvmtest.action=${c#pvh-} quiet\"'"
			continue
			;;
		pvh-sandbox)
			m=
			[ "$LKVM_MODE" = direct ] && m="--modules $LKVM_KROOT/lib/modules/$LKVM_KVER"
			echo "run_case $c '\$LKVM sandbox -k $PVH_VMLINUX $m --boot-timings -- sh -c \"echo PVH-SANDBOX-\\\$(uname -r); exit 6\"'"
			continue
			;;
		usernet|sandbox-user)
			echo "_lkvm_tmo=\$LKVM_CASE_TIMEOUT; LKVM_CASE_TIMEOUT=$NESTED_USERNET_TIMEOUT"
			echo "run_case $c '$(nested_sandbox_cmd "$c")'"
			echo "LKVM_CASE_TIMEOUT=\$_lkvm_tmo"
			continue ;;
		sandbox|sandbox-*|vfs|vfs-*|net)
			[ -n "$(nested_sandbox_skip "$c")" ] ||
				echo "run_case $c '$(nested_sandbox_cmd "$c")'"
			continue ;;
		esac
		echo "run_case $c '\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD $L2_ARGS -p \"lkvmtest.action=$action quiet\"'"
	done
} >"$WORK/cases.sh"

# --- run ----------------------------------------------------------------------
LOG=$WORK/console.log
ncases=$(echo "$CASES" | wc -w)
if [ "$LKVM_MODE" = nested ]; then
	lkvm_build_l1_initrd "$WORK/l1.cpio" "$LKVM_BIN" "$WORK/l2.cpio" "$WORK/cases.sh" \
		"$WORK/l1-overlay" ||
		all_cases FAIL "cannot build the L1 initramfs"
	echo "INFO: [$(now)s] booting L1 (QEMU TCG) with $ncases case(s)" >&2
	# The longest case bounds L1's silence (lkvm_console_to).
	LKVM_L1_IDLE=${LKVM_L1_IDLE:-$(printf '%s\n' "$LKVM_CASE_TIMEOUT" "$NESTED_BALLOON_TIMEOUT" \
		"$NESTED_NV_X86_TIMEOUT" "$NESTED_USERNET_TIMEOUT" | sort -n | tail -n 1 |
		awk '{ print $1 + 150 }')} \
	lkvm_run_l1 "$WORK/l1.cpio" "$LOG" \
		$((60 + ncases * (LKVM_CASE_TIMEOUT + 10) + NESTED_BALLOON_TIMEOUT + \
		   NESTED_NV_X86_TIMEOUT + 2 * NESTED_USERNET_TIMEOUT))
	qrc=$?
	echo "INFO: [$(now)s] L1 finished (qemu status $qrc)" >&2
	l1_up=$(sed -n 's/^L1-INIT-REACHED uptime=//p' "$LOG")
	echo "INFO: L1 reached /init at ${l1_up:-?}s guest uptime" >&2
	if ! grep -q '^L1-KVM-OK' "$LOG"; then
		tail -n 40 "$LOG" >&2
		if grep -q '^L1-KVM-MISSING' "$LOG"; then
			all_cases FAIL "L1 has no /dev/kvm after loading kvm-amd: $(grep L1-INSMOD-FAIL "$LOG" | tr '\n' ' ')"
		fi
		all_cases FAIL "L1 did not come up (qemu status $qrc)"
	fi
else
	echo "INFO: [$(now)s] running $ncases case(s) on this host" >&2
	lkvm_run_direct "$WORK/cases.sh" "$LOG" "$LKVM_BIN" "$WORK/l2.cpio"
fi

# --- verdicts -----------------------------------------------------------------
# Why a case failed, or nothing when it passed.
check_case() {
	local c=$1 action=$2 out status cpus uname stopped virt
	out=$(lkvm_case_output "$LOG" "$c")
	status=$(lkvm_case_status "$LOG" "$c")
	if [ -z "$status" ]; then
		if grep -q "L1-BEGIN $c\$" "$LOG"; then
			echo "did not finish (L1 stopped or timed out during the case)"
		else
			echo "never started"
		fi
		return
	fi
	if [ "$c" = balloon ]; then	# its own checks and timeout (balloon.sh)
		nested_balloon_check "$out" "$status"
		return
	fi
	case "$c" in
	sandbox|sandbox-*|vfs|vfs-*|net|usernet)	# sandbox.sh
		nested_sandbox_check "$c" "$out" "$status"
		return
		;;
	kernel2-*)			# kernel2.sh
		nested_k2_check amd64 "$c" "$out" "$status"
		return
		;;
	pvh-sandbox)
		printf '%s\n' "$out" | grep -q "^PVH-SANDBOX-$LKVM_KVER" ||
			{ echo "the command's output did not arrive from a $LKVM_KVER guest (lkvm status $status)"; return; }
		printf '%s\n' "$out" | grep -q 'cannot tell the kernel.s release' &&
			{ echo "lkvm sandbox could not read the release of the vmlinux"; return; }
		[ "$status" = 6 ] || { echo "lkvm exit status $status, want the command's 6"; return; }
		return
		;;
	esac
	has() { printf '%s\n' "$out" | grep -q -e "$1"; }
	# On a hardware host without nested=1, --nested must refuse in one line.
	if [ "$c" = nested-svm ] && [ "$LKVM_MODE" = direct ] && [ "$status" = 1 ] &&
	   has '^lkvm: --nested: .*nested=1'; then
		echo "INFO: nested/nested-svm: this host's KVM has no nested virtualization; lkvm refused --nested" >&2
		return
	fi
	case "$action" in
	poweroff) stopped='reboot: Power down' ;;
	reboot) stopped='reboot: Restarting system' ;;
	esac
	if lkvm_case_timed_out "$LOG" "$c"; then
		if has "$stopped"; then
			echo "guest stopped ('$stopped') but lkvm did not exit within ${LKVM_CASE_TIMEOUT}s"
		elif has 'L2-KMSG-INIT'; then
			echo "timed out after ${LKVM_CASE_TIMEOUT}s; guest /init ran but never reached its $action"
		else
			echo "timed out after ${LKVM_CASE_TIMEOUT}s before the guest's /init ran"
		fi
		return
	fi
	lkvm_l2_panic "$out" && return
	if ! has 'L2-INIT-REACHED'; then
		if has 'L2-KMSG-INIT'; then
			echo "guest /init ran (seen in the kernel log) but none of its console output arrived (serial TX interrupt path?); lkvm status $status"
		else
			echo "guest never reached /init (lkvm status $status)"
		fi
		return
	fi
	# L2-KMSG-ACTION too: a kernel message can split the L2-ACTION line.
	has "L2-ACTION=$action" || has "L2-KMSG-ACTION=$action" ||
		{ echo "guest init did not get to $action (lkvm status $status)"; return; }
	[ "$status" = 0 ] || { echo "lkvm exit status $status after guest $action"; return; }
	virt=$(lkvm_l2_value "$out" VIRT)
	if [ "$c" = nested-svm ]; then
		[ -n "$virt" ] || { echo "--nested: the guest's CPUs have neither svm nor vmx"; return; }
		nested_nv_x86_check "$out"
		return
	elif [ -n "$virt" ]; then
		echo "the guest sees '$virt' without --nested"
		return
	fi
	if [ "${c#pvh-}" != "$c" ]; then
		for m in exec 'first KVM_RUN' 'first console byte' exit; do
			has "^lkvm: boot-timings: $m  *[0-9.]* ms" ||
				{ echo "no '--boot-timings' line for '$m'"; return; }
		done
	fi
	if [ "$c" = boot-poweroff ] || [ "$c" = pvh-poweroff ]; then
		cpus=$(lkvm_l2_value "$out" CPUS)
		[ "$cpus" = 2 ] || { echo "guest sees ${cpus:-?} CPUs, want 2"; return; }
		uname=$(lkvm_l2_value "$out" UNAME)
		[ "$uname" = "$LKVM_KVER" ] || { echo "guest uname -r '${uname}', want $LKVM_KVER"; return; }
		lkvm_rtc_problem "$(lkvm_l2_value "$out" RTC)"
	fi
}

for c in $CASES; do
	# Set for every case: an unset one under set -u made check_case's
	# subshell die silently, an empty verdict, a PASS.
	action=
	case "$c" in
	boot-poweroff|nested-svm|pvh-poweroff) action=poweroff ;;
	reboot|pvh-reboot) action=reboot ;;
	balloon) action=balloon ;;
	*) action=none ;;	# the case's own checks
	esac
	if [ -n "$K2_SKIP" ] && [ "${c#kernel2-}" != "$c" ]; then
		echo "SKIP: nested/$c: $K2_SKIP"
		continue
	fi
	why=$(nested_sandbox_skip "$c")
	if [ -n "$why" ]; then
		echo "SKIP: nested/$c: $why"
		continue
	fi
	# A check that dies on the way (set -u, say) must not read as a pass:
	# only one that returns gets to print the final ".".
	why=$(check_case "$c" "$action"; echo .)
	case "$why" in
	*.) why=${why%.}; why=${why%$'\n'} ;;
	*) why="the check of the case's output failed (see stderr)" ;;
	esac
	secs=$(lkvm_case_secs "$LOG" "$c")
	if [ -z "$why" ]; then
		echo "PASS: nested/$c"
		echo "INFO: nested/$c: ${secs:-?}s ($LKVM_MODE)" >&2
		[ "$c" = balloon ] &&
			echo "INFO: nested/balloon: $(nested_balloon_summary "$(lkvm_case_output "$LOG" balloon)")" >&2
		[ "${c#kernel2-}" != "$c" ] && echo "INFO: nested/$c: L2 kernel $LKVM_K2_KVER" >&2
		[ "${c#pvh-}" != "$c" ] &&
			lkvm_case_output "$LOG" "$c" | grep '^lkvm: boot-timings:' | sed "s|^|INFO: nested/$c: |" >&2
		[ "$c" = nested-svm ] &&
			echo "INFO: nested/nested-svm: L2 /init at $(lkvm_l2_value "$(lkvm_case_output "$LOG" "$c")" UPTIME)s; L3: $(nested_nv_l3_times "$(lkvm_case_output "$LOG" "$c")")" >&2
	else
		FAILED=1
		echo "FAIL: nested/$c: $why"
		nested_console "$LOG" "$c" "nested/$c ($LKVM_MODE, ${secs:-?}s)"
	fi
done
l2_summary=$(grep -m1 'L2-DEVICES' "$LOG")
[ -n "$l2_summary" ] && echo "INFO: $l2_summary" >&2
echo "INFO: nested tier took $(now)s" >&2
exit "$FAILED"

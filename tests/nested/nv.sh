# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# L3 guests inside an L2 started with `lkvm --nested` (sourced by run-nv.sh
# for arm64 and run-x86.sh for nested-svm; needs lib.sh). The L2 initramfs
# gets lkvm, the L3 images, /l3/cases ("NAME lkvm-run-arguments" lines) and
# nv-l2.sh as /lkvmtest.d/nv.sh, which runs the cases named by nvtest.l3=
# and frames each as L2-L3-BEGIN/L2-L3-END lines with lkvm's status.

NESTED_NV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Fill an L2 overlay directory with what nv-l2.sh needs.
# $1 overlay  $2 lkvm binary (static)  $3 L3 case list (file)
# $4... files copied into /l3 (as they are named)
nested_nv_overlay() {
	local ov=$1 lkvm=$2 cases=$3 f
	shift 3
	mkdir -p "$ov/l3" "$ov/lkvmtest.d" "$ov/bin" || return 1
	install -m 755 "$lkvm" "$ov/bin/lkvm" &&
		install -m 755 "$NESTED_NV_DIR/nv-l2.sh" "$ov/lkvmtest.d/nv.sh" &&
		cp "$cases" "$ov/l3/cases" || return 1
	for f in "$@"; do
		cp "$f" "$ov/l3/" || return 1
	done
}

# lkvm's exit status for L3 case NAME in an L2's output, or nothing.
# $1 output  $2 name
nested_nv_l3_status() {
	printf '%s\n' "$1" | sed -n "s/^L2-L3-END $2 status=\([0-9]*\).*/\1/p" | tail -n 1
}

# The console of L3 case NAME.
nested_nv_l3_out() {
	printf '%s\n' "$1" | awk -v n="$2" '$0 == "L2-L3-BEGIN " n { on = 1; next }
		index($0, "L2-L3-END " n " ") == 1 { on = 0 } on'
}

# Why L3 case NAME went wrong, or nothing: it must have ended with status
# WANT, and its console must match every further pattern (grep -e).
# $1 output  $2 name  $3 status wanted  $4... patterns
nested_nv_check_l3() {
	local out=$1 name=$2 want=$3 s o p
	shift 3
	s=$(nested_nv_l3_status "$out" "$name")
	[ -n "$s" ] || { echo "L3 $name never finished"; return; }
	o=$(nested_nv_l3_out "$out" "$name")
	if [ "$s" != "$want" ]; then
		echo "L3 $name: lkvm status $s, want $want: $(printf '%s\n' "$o" |
			grep -m1 -e '^lkvm:' -e FAIL -e 'lkvmtest: bad' -e 'Kernel panic')"
		return
	fi
	for p in "$@"; do
		printf '%s\n' "$o" | grep -q -e "$p" ||
			{ echo "L3 $name: no '$p' on its console (last: $(printf '%s\n' "$o" | tail -n 2 | tr '\n' ' '))"; return; }
	done
}

# One INFO line of L3 times in an L2's output: "name secs ...".
nested_nv_l3_times() {
	printf '%s\n' "$1" | sed -n 's/^L2-L3-END \([^ ]*\) status=[0-9]* secs=\(.*\)/\1 \2s/p' |
		tr '\n' ' '
}

# --- x86: run-x86.sh's nested-svm case ------------------------------------------
# L2 (started with --nested) loads kvm-amd and runs lkvm on the test guest
# of tests/guest (virtio-rng over PCI with MSI-X, an ACPI reset, a triple
# fault: statuses 0, 0, 2) and on Linux (the tier's L2 kernel and
# initramfs, powering off). NESTED_NV_X86_L3 picks the L3 cases; the Linux
# L3 (minutes under TCG) only in the full run, LKVM_FULL=1.
if [ "${LKVM_FULL:-0}" = 1 ]; then
	NESTED_NV_X86_L3=${NESTED_NV_X86_L3:-test-rng,test-reboot,test-crash,linux}
else
	NESTED_NV_X86_L3=${NESTED_NV_X86_L3:-test-rng,test-reboot,test-crash}
fi
# Seconds for the whole nested-svm case (L2 boot plus its L3 runs).
NESTED_NV_X86_TIMEOUT=${NESTED_NV_X86_TIMEOUT:-300}

# Build WORK/nv/initrd.cpio (also in WORK/l1-overlay/l2/nv). Needs lib.sh's
# LKVM_KROOT/LKVM_KVER/LKVM_VMLINUZ and the tier's L2 initramfs.
# $1 work directory  $2 repository  $3 the tier's L2 initramfs
nested_nv_x86_prepare() {
	local work=$1 repo=$2 l2initrd=$3 ov rc
	make -C "$repo" -j"$(nproc 2>/dev/null || echo 2)" lkvm-static >"$work/nv-make.log" 2>&1 &&
		make -C "$repo/tests/guest" >>"$work/nv-make.log" 2>&1 ||
		{ tail -n 20 "$work/nv-make.log" >&2; return 1; }
	mkdir -p "$work/nv" "$work/l1-overlay/l2/nv"
	cat >"$work/nv/l3-cases" <<'EOF2'
test-rng -k /l3/test.bzImage -m 64 --rng -p lkvmtest.action=virtio-pci-rng
test-reboot -k /l3/test.bzImage -m 64 -p lkvmtest.action=reboot-acpi
test-crash -k /l3/test.bzImage -m 64 -p lkvmtest.action=triplefault
linux -k /l3/bzImage -i /l3/initrd.cpio -c 1 -m 256 -p "quiet lkvmtest.action=poweroff"
EOF2
	cp "$LKVM_VMLINUZ" "$work/nv/bzImage" && cp "$l2initrd" "$work/nv/initrd.cpio" || return 1
	ov=$(mktemp -d "$work/nv-root.XXXXXX") || return 1
	nested_nv_overlay "$ov" "$repo/lkvm-static" "$work/nv/l3-cases" \
		"$repo/tests/guest/out/test.bzImage" "$work/nv/bzImage" "$work/nv/initrd.cpio" &&
		lkvm_build_l2_initrd "$work/nv/l2.cpio" --modules kvm-amd --overlay "$ov"
	rc=$?
	rm -rf "$ov"
	[ $rc = 0 ] && cp "$work/nv/l2.cpio" "$work/l1-overlay/l2/nv/l2.cpio"
}

# The case list lines of nested-svm (its own, longer timeout).
# $1 the tier's LKVM_CASE_TIMEOUT
nested_nv_x86_case_lines() {
	echo "LKVM_CASE_TIMEOUT=$NESTED_NV_X86_TIMEOUT"
	# shellcheck disable=SC2016 # expanded by the case runner
	echo 'run_case nested-svm '\''$LKVM run -k $L2_KERNEL -i ${L2_INITRD%/*}/nv/l2.cpio -c 2 -m 1024 --nested -p "lkvmtest.action=poweroff quiet nvtest.l3='"$NESTED_NV_X86_L3"'"'\'
	echo "LKVM_CASE_TIMEOUT=$1"
}

# Why nested-svm's L3 runs went wrong, or nothing. $1 the case's output
nested_nv_x86_check() {
	local out=$1 l3 v
	[ "$(lkvm_l2_value "$out" NV-DEVKVM)" = yes ] ||
		{ echo "L2 has no /dev/kvm (kvm-amd: $(printf '%s\n' "$out" | grep -m1 'L2-INSMOD-FAIL'))"; return; }
	for l3 in ${NESTED_NV_X86_L3//,/ }; do
		case "$l3" in
		test-rng) v=$(nested_nv_check_l3 "$out" "$l3" 0 'lkvmtest: hello' 'virtio-pci-rng result=pass') ;;
		test-reboot) v=$(nested_nv_check_l3 "$out" "$l3" 0 'lkvmtest: hello') ;;
		test-crash) v=$(nested_nv_check_l3 "$out" "$l3" 2 'lkvmtest: hello' 'guest crashed') ;;
		linux) v=$(nested_nv_check_l3 "$out" "$l3" 0 'L2-INIT-REACHED' 'L2-ACTION=poweroff\|L2-KMSG-ACTION=poweroff') ;;
		*) v="unknown L3 case $l3 (NESTED_NV_X86_L3)" ;;
		esac
		[ -z "$v" ] || { echo "$v"; return; }
	done
}

# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The nested tier's second-kernel cases (sourced by run-x86.sh and
# run-arm64.sh; needs lib.sh, and balloon.sh for the balloon case): besides
# the 6.1 kernel the tiers boot everywhere, Debian's newest 6.12 backport
# runs as L2, inside the same L1 boots (L1 stays on 6.1). Newer kernels
# take paths 6.1 does not: built-in virtio_pci and virtio_console,
# xz-compressed modules, 52-bit virtual addresses on arm64, new names in
# /proc/interrupts.
#
#   kernel2-pci      virtio-pci: blk, rng, balloon, RTC, 2 vCPUs, poweroff; on
#                    x86 also the console on hvc0
#   kernel2-mmio     virtio-mmio (x86: found through ACPI): blk, rng,
#                    balloon, reboot; on arm64 also the console on hvc0
#   kernel2-balloon  (arm64) balloon.sh's case with this kernel: fill and
#                    free (free page reporting), inflate and deflate by
#                    256 MiB, lkvm stop
#
# Which kernel: the newest linux-image-6.12.N+debNN-amd64-unsigned on x86,
# the cloud flavour (virtio and ext4 built in, no 9p) on arm64, so both
# flavours get booted; LKVM_KERNEL2_PKG / LKVM_ARM64_KERNEL2_PKG pin a
# package. Without one (offline and nothing cached) the cases SKIP.
#
# Files, in WORK/k2 and L1's /l2/k2 (next to $L2_INITRD in both modes):
# kernel, initrd.cpio (virtio-init.sh as /init, so the modules are in
# before l2-init.sh opens the console, kernel2-l2.sh and balloon-l2.sh),
# and disk.img, 8 MiB, made where lkvm runs by the case list's preamble.

NESTED_K2_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NESTED_K2_MODULES="virtio_pci virtio_mmio virtio_blk virtio_console virtio_rng virtio_balloon"

# The cases of an architecture (Debian name).
nested_k2_cases() {
	case "$1" in
	amd64) echo "kernel2-pci kernel2-mmio" ;;
	arm64) echo "kernel2-pci kernel2-mmio kernel2-balloon" ;;
	esac
}

# nested_k2_prepare WORK DARCH: fetch the kernel (sets LKVM_K2_KROOT,
# LKVM_K2_KVER, LKVM_K2_VMLINUZ) and build WORK/k2, copied to
# WORK/l1-overlay/l2/k2. Returns 2 when no kernel can be had, 1 on other
# failures.
nested_k2_prepare() {
	local work=$1 darch=$2 pkg flav ov rc
	case "$darch" in
	amd64) pkg=${LKVM_KERNEL2_PKG:-} flav= ;;
	arm64) pkg=${LKVM_ARM64_KERNEL2_PKG:-} flav=cloud ;;
	*) return 1 ;;
	esac
	lkvm_fetch_kernel LKVM_K2 "$darch" "$pkg" 6.12 "$flav" || return 2
	ov=$(mktemp -d "$work/k2-root.XXXXXX") || return 1
	mkdir -p "$ov/lkvmtest.d" "$work/k2" "$work/l1-overlay/l2"
	install -m 755 "$NESTED_K2_DIR/virtio-init.sh" "$ov/init"
	install -m 755 "$NESTED_K2_DIR/l2-init.sh" "$ov/l2-init.sh"
	install -m 755 "$NESTED_K2_DIR/kernel2-l2.sh" "$ov/lkvmtest.d/kernel2.sh"
	install -m 755 "$NESTED_K2_DIR/balloon-l2.sh" "$ov/lkvmtest.d/balloon.sh"
	# The modules of this kernel, not of the tier's guest kernel.
	(
		# shellcheck disable=SC2030,SC2034 # for lkvm_build_l2_initrd, in this subshell
		LKVM_KROOT=$LKVM_K2_KROOT LKVM_KVER=$LKVM_K2_KVER
		lkvm_build_l2_initrd "$work/k2/initrd.cpio" --modules "$NESTED_K2_MODULES" \
			--overlay "$ov"
	)
	rc=$?
	rm -rf "$ov"
	[ $rc = 0 ] || return 1
	cp "$LKVM_K2_VMLINUZ" "$work/k2/kernel" &&
		install -m 755 "$NESTED_K2_DIR/balloon-l1.sh" "$work/k2/balloon-l1.sh" &&
		cp -a "$work/k2" "$work/l1-overlay/l2/"
}

# The case list's preamble: the disk, made where lkvm runs.
nested_k2_preamble() {
	# shellcheck disable=SC2016 # expanded by the case runner
	echo 'dd if=/dev/zero of=${L2_INITRD%/*}/k2/disk.img bs=1M count=8 2>/dev/null'
}

# nested_k2_case_lines DARCH CASE: its cases.sh line(s).
nested_k2_case_lines() {
	local darch=$1 c=$2 k2 boot hvc=
	# shellcheck disable=SC2016 # expanded by the case runner
	k2='${L2_INITRD%/*}/k2'
	boot="\$LKVM run -k $k2/kernel -i $k2/initrd.cpio -c 2 -m 512 -d $k2/disk.img --rng --balloon"
	case "$darch/$c" in
	amd64/kernel2-pci|arm64/kernel2-mmio) hvc=" --console virtio" ;;
	esac
	case "$c" in
	kernel2-pci)
		echo "run_case $c '$boot --virtio-transport pci$hvc -p \"lkvmtest.action=poweroff quiet\"'" ;;
	kernel2-mmio)
		echo "run_case $c '$boot --virtio-transport mmio$hvc -p \"lkvmtest.action=reboot quiet\"'" ;;
	kernel2-balloon)
		echo "_lkvm_tmo=\$LKVM_CASE_TIMEOUT; LKVM_CASE_TIMEOUT=$NESTED_BALLOON_TIMEOUT"
		echo "run_case $c 'sh $k2/balloon-l1.sh \$LKVM $k2/kernel $k2/initrd.cpio $NESTED_BALLOON_FILL_MB'"
		echo "LKVM_CASE_TIMEOUT=\$_lkvm_tmo"
		;;
	esac
}

# nested_k2_check DARCH CASE OUTPUT STATUS: why the case failed, or nothing.
nested_k2_check() {
	local darch=$1 c=$2 out=$3 status=$4 action=poweroff transport=pci hvc=0 v d
	if [ "$c" = kernel2-balloon ]; then
		nested_balloon_check "$out" "$status"
		return
	fi
	case "$c" in
	kernel2-mmio) action=reboot transport=mmio ;;
	esac
	case "$darch/$c" in
	amd64/kernel2-pci|arm64/kernel2-mmio) hvc=1 ;;
	esac
	has() { printf '%s\n' "$out" | grep -q -e "$1"; }
	case "$status" in
	137|143) echo "timed out after ${LKVM_CASE_TIMEOUT}s"; return ;;
	esac
	lkvm_l2_panic "$out" && return
	has 'L2-INIT-REACHED' || { echo "guest never reached /init (lkvm status $status)"; return; }
	# (L2-KMSG-ACTION too: a kernel message can split the L2-ACTION line.)
	has "L2-ACTION=$action" || has "L2-KMSG-ACTION=$action" ||
		{ echo "guest init did not get to $action (lkvm status $status)"; return; }
	[ "$status" = 0 ] || { echo "lkvm exit status $status after guest $action"; return; }
	v=$(lkvm_l2_value "$out" UNAME)
	[ "$v" = "$LKVM_K2_KVER" ] || { echo "guest uname -r '$v', want $LKVM_K2_KVER"; return; }
	v=$(lkvm_l2_value "$out" CPUS)
	[ "$v" = 2 ] || { echo "guest sees ${v:-?} CPUs, want 2"; return; }
	v=$(printf '%s\n' "$out" | sed -n 's/.*L2-K2-INSMOD-FAIL=//p' | head -n 1)
	[ -z "$v" ] || { echo "insmod failed in L2: $v"; return; }
	for d in 0x0002:blk 0x0004:rng 0x0005:balloon; do
		v=$(lkvm_l2_value "$out" "K2-DEV-${d%%:*}")
		[ "$v" = "$transport" ] ||
			{ echo "virtio-${d#*:} is '${v:-missing}', want it over $transport"; return; }
	done
	[ "$(lkvm_l2_value "$out" K2-BLK)" = 16384 ] || { echo "vda is not the 8 MiB disk"; return; }
	[ "$(lkvm_l2_value "$out" K2-BLK-READ)" = 1048576 ] ||
		{ echo "reading 1 MiB of vda gave $(lkvm_l2_value "$out" K2-BLK-READ) bytes"; return; }
	case "$(lkvm_l2_value "$out" K2-RNG)" in
	virtio_rng*) ;;
	*) echo "rng_current is '$(lkvm_l2_value "$out" K2-RNG)', not virtio_rng"; return ;;
	esac
	[ "$(lkvm_l2_value "$out" K2-RNG-BYTES)" = 64 ] ||
		{ echo "read $(lkvm_l2_value "$out" K2-RNG-BYTES) of 64 bytes from /dev/hwrng"; return; }
	[ "$(lkvm_l2_value "$out" K2-BALLOON)" = 1 ] || { echo "virtio_balloon did not bind"; return; }
	v=$(lkvm_rtc_problem "$(lkvm_l2_value "$out" RTC)")
	[ -z "$v" ] || { echo "$v"; return; }
	if [ "$hvc" = 1 ]; then
		[ "$(lkvm_l2_value "$out" K2-DEV-0x0003)" = "$transport" ] ||
			{ echo "no virtio-console over $transport"; return; }
		[ "$(lkvm_l2_value "$out" K2-CONSOLE)" = hvc0 ] ||
			{ echo "the console is '$(lkvm_l2_value "$out" K2-CONSOLE)', not hvc0"; return; }
	fi
}

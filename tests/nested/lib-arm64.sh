# SPDX-License-Identifier: GPL-2.0
#
# arm64 variants of the lib.sh helpers, for tests/nested/run-arm64.sh.
# Source lib.sh first. The guest images are Debian's arm64 packages; QEMU
# (qemu-system-aarch64, TCG) runs an arm64 Debian kernel as L1, whose
# built-in KVM gives lkvm-arm64 a /dev/kvm to boot the L2 guest with.
#
#   LKVM_ARM64_KERNEL_PKG     the guest (L2) kernel package, any Debian naming
#                             (default: L1's kernel)
#   LKVM_ARM64_L1_KERNEL_PKG  the L1 kernel package (default: the newest plain 6.1)
#
# The arm64 .debs live in $LKVM_CACHE/debs-arm64 (lkvm_fetch_unpack), apart
# from the amd64 ones of the same names.

# lib.sh reads it unguarded when staging modules.
LKVM_MODULE_PARAMS=${LKVM_MODULE_PARAMS:-}

# apt must know arm64 packages: dpkg --add-architecture arm64 + apt-get update.
lkvm_arm64_apt_ready() {
	if ! dpkg --print-foreign-architectures 2>/dev/null | grep -qx arm64; then
		lkvm_info "adding the arm64 architecture to dpkg (for Debian's arm64 guest packages)"
		lkvm_as_root dpkg --add-architecture arm64 || return 1
		lkvm_as_root apt-get update -qq >&2 || lkvm_warn "apt-get update failed"
	elif ! apt-cache show --no-all-versions busybox-static:arm64 >/dev/null 2>&1; then
		lkvm_as_root apt-get update -qq >&2 || lkvm_warn "apt-get update failed"
	fi
}

# Like lkvm_fetch_guest, for arm64; sets LKVM_KROOT, LKVM_KVER, LKVM_VMLINUZ
# (the guest's uncompressed Image: Debian's arm64 vmlinuz is one), the same
# LKVM_L1_* for QEMU's L1, and LKVM_BUSYBOX. L1 is the newest plain 6.1
# (LKVM_ARM64_L1_KERNEL_PKG pins another); the guest is L1's kernel, or
# LKVM_ARM64_KERNEL_PKG. Falls back to the cache when apt cannot help.
lkvm_arm64_fetch_guest() {
	lkvm_arm64_apt_ready || lkvm_warn "arm64 packages may be unavailable"
	lkvm_fetch_kernel LKVM_L1 arm64 "${LKVM_ARM64_L1_KERNEL_PKG:-}" || return 1
	if [ -n "${LKVM_ARM64_KERNEL_PKG:-}" ]; then
		lkvm_fetch_kernel LKVM arm64 "$LKVM_ARM64_KERNEL_PKG" || return 1
	else
		# shellcheck disable=SC2034 # read by the callers
		LKVM_KROOT=$LKVM_L1_KROOT LKVM_KVER=$LKVM_L1_KVER LKVM_VMLINUZ=$LKVM_L1_VMLINUZ
	fi
	lkvm_fetch_busybox arm64 || return 1
	lkvm_info "arm64 guest kernel $LKVM_KVER, L1 kernel $LKVM_L1_KVER"
}

# lib.sh's skeleton asks the guest busybox for its applets, which an arm64
# busybox cannot answer on this host: ask the host's busybox (the same
# Debian version has the same applets).
# shellcheck disable=SC2034 # read by lib.sh's lkvm_busybox_skeleton
LKVM_BUSYBOX_LIST=$(command -v busybox)

# The L1 initramfs: busybox, l1-init.sh, lkvm-arm64, the L2 kernel and
# initrd, the case list and an optional overlay. KVM is built into Debian's
# arm64 kernel: no modules to load.
# $1 out  $2 lkvm binary  $3 L2 initrd  $4 case list  [$5 overlay directory]
lkvm_arm64_build_l1_initrd() {
	local out=$1 lkvm=$2 l2initrd=$3 cases=$4 overlay=${5:-} dir
	dir=$(mktemp -d "${out}.root.XXXXXX") || return 1
	lkvm_busybox_skeleton "$dir" || { rm -rf "$dir"; return 1; }
	: >"$dir/lib/modules/order"
	install -m 755 "$LKVM_NESTED_LIB_DIR/l1-init.sh" "$dir/init"
	mkdir -p "$dir/l2"
	cp "$LKVM_VMLINUZ" "$dir/l2/bzImage"	# the name l1-init.sh gives $L2_KERNEL
	cp "$l2initrd" "$dir/l2/initrd.cpio"
	install -m 755 "$lkvm" "$dir/bin/lkvm"
	cp "$cases" "$dir/tests.sh"
	lkvm_pack_root "$dir" "$out" "$overlay"
}

# Boot L1 under qemu-system-aarch64 (TCG) with INITRD, console into LOG.
# $1 L1 initrd  $2 log  $3 timeout (s)  $4 GIC version (2 or 3)
# [$5 extra kernel command line words]
lkvm_arm64_run_l1() {
	local initrd=$1 log=$2 tmo=$3 gic=$4 extra=${5:-}
	local -a cmd
	lkvm_qemu aarch64 || return $?
	# virtualization=on boots L1 at EL2, so its KVM works; pauth-impdef=on
	# spares TCG the architected (slow) pointer authentication.
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	cmd=(timeout -s KILL "$tmo" "${LKVM_QEMU_CMD[@]}"
		-M "virt,virtualization=on,gic-version=$gic"
		-cpu max,pauth-impdef=on -accel tcg,thread=multi -smp 2 -m 2048
		-kernel "$LKVM_L1_VMLINUZ" -initrd "$initrd"
		-append "console=ttyAMA0 quiet panic=-1 $extra"
		-display none -no-reboot -nodefaults -no-user-config
		-serial stdio)
	lkvm_console_to "$log" "${cmd[@]}"
}

# SPDX-License-Identifier: GPL-2.0
#
# The nested tier's lkvm sandbox, virtio-9p, --timeout and virtio-net cases
# (sourced by run-x86.sh; needs lib.sh). sandbox-l1.sh and net-l1.sh drive
# the cases from where lkvm runs (L1, or this host in direct mode):
#
#   sandbox          lkvm sandbox with the default kernel (/boot/vmlinuz-$(uname -r))
#                    and modules (/lib/modules/<release>): the guest's root is L1's
#                    / over 9p; a script there exercises a --9p share (files, dirs,
#                    links, renames, a 3 MB file with a checksum, escapes through
#                    ".." and symlinks) and the scratch /tmp, writes a file into the
#                    share and exits 3: lkvm must exit 3 and L1 must see the file
#   sandbox-timeout  a sandboxed busy loop stopped by --timeout: status 124 after
#                    the vCPU positions
#   sandbox-initrd   the root is a given --initrd (the net case's busybox one),
#                    with --console virtio; the command exits 5
#   sandbox-disk     the root is an ext4 image given with -d ...,ro; exits 4
#   vfs              --virtio-fs DIR,TAG and DIR,TAG,ro on a sandbox rooted on 9p by
#                    --root-fs 9p (where virtio-fs could be; lkvm says so): a tree
#                    of files L1 wrote is read intact in the guest, one the guest
#                    wrote is intact in L1, the ro share refuses writes (EROFS); then
#                    --user 1000:1000 --virtio-fs: virtiofsd runs as the user (root of its
#                    own user namespace), so the guest root's file is 1000:1000's in L1
#                    and a root-owned directory in the share refuses it
#   vfs-rust         vfs again with the Rust virtiofsd (bookworm-backports' if it has
#                    one, else Debian sid's pinned one, fetched with the glibc it needs
#                    into the cache and run through that glibc's loader); ro through
#                    its --readonly; SKIP when the pinned version left the archive
#   vfs-kill         virtiofsd killed (SIGKILL) while the guest creates files on its
#                    share, over virtio-mmio: the guest gets I/O errors, lkvm says
#                    so and goes on, the command's status comes back
#   net              an lkvm guest on a tap that script= puts on a bridge: pings
#                    the bridge's address, 4 MiB over TCP each way with matching
#                    checksums; 2 vCPUs and so 2 queue pairs; receive offloads
#                    only with CTRL_GUEST_OFFLOADS (net-l2.sh runs in the guest);
#                    with vhost=on when LKVM_NET_VHOST=1
#   usernet          as an unprivileged user: lkvm run -n mode=user (passt) with a
#                    forwarded port and --vsock: DHCP, 4 MiB from L1's loopback
#                    through the gateway, L1 fetches the guest's page through the
#                    forwarded port, vsock both ways; then the one-line errors for
#                    passt missing, a port in use, an unusable /dev/vhost-vsock
#                    (usernet-l1.sh, usernet-l2.sh)
#   sandbox-user     as that user: lkvm sandbox --net --vsock --9p; the command
#                    downloads the 4 MiB, writes to the share and /tmp; the files
#                    must be the user's in L1
#
# In nested mode L1 gets, through its overlay, what a Debian host would have:
# /boot/vmlinuz-<release> (the L2 kernel) and /lib/modules/<release> with
# modules.dep and the modules the sandbox loads (-k names the kernel when it
# is not L1's own, see LKVM_KERNEL_PKG). In direct mode the cases pass -k and
# --modules instead.

NESTED_SANDBOX_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NESTED_SANDBOX_CASES="sandbox sandbox-timeout sandbox-initrd sandbox-disk vfs vfs-rust vfs-kill net usernet sandbox-user"
# Everything lkvm sandbox may ask for, and what the net cases load in L1.
NESTED_SANDBOX_MODULES="virtio_pci virtio_mmio 9pnet_virtio 9p virtiofs virtio_console virtio_blk virtio_net virtio_rng ext4 crc32c_generic vmw_vsock_virtio_transport tun bridge dummy vhost_net vhost_vsock"
# The user-mode network cases boot and wait on both sides: their own timeout.
NESTED_USERNET_TIMEOUT=200

# nested_usernet_passt OVERLAY: this host's passt and the libraries it
# loads, for L1 (a busybox root with no shared libraries of its own; its
# /usr/bin is a link to /bin, so passt goes there).
nested_usernet_passt() {
	local ov=$1 p lib
	p=$(command -v passt) || { lkvm_err "passt is not installed (Debian package: passt)"; return 1; }
	mkdir -p "$ov/bin" && cp "$p" "$ov/bin/passt" || return 1
	for lib in $(ldd "$p" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'); do
		mkdir -p "$ov$(dirname "$lib")" && cp -L "$lib" "$ov$lib" || return 1
	done
}

# nested_sandbox_modules OVERLAY KROOT KVER NAME...: the named modules (those
# the kernel has: Debian's cloud flavour has no 9p, say; lkvm sandbox names
# what it misses), their dependencies, modules.dep and modules.builtin into
# OVERLAY/lib/modules/KVER, as a Debian host has them.
nested_sandbox_modules() {
	local ov=$1 kroot=$2 kver=$3 moddir rel
	shift 3
	moddir=$kroot/lib/modules/$kver
	mkdir -p "$ov/lib/modules/$kver" || return 1
	cp "$moddir/modules.dep" "$ov/lib/modules/$kver/" || return 1
	[ -f "$moddir/modules.builtin" ] && cp "$moddir/modules.builtin" "$ov/lib/modules/$kver/"
	# shellcheck disable=SC2046
	for rel in $(lkvm_module_order "$kroot" "$kver" \
		$(lkvm_modules_present "$kroot" "$kver" "$@")); do
		mkdir -p "$ov/lib/modules/$kver/$(dirname "$rel")"
		cp "$moddir/$rel" "$ov/lib/modules/$kver/$rel" || return 1
	done
}

# nested_sandbox_virtiofsd OVERLAY: this host's virtiofsd (where lkvm looks for
# it) and the shared libraries it needs, at the same paths in OVERLAY, so that
# L1 (a busybox initramfs) can run it. Nothing when there is none.
nested_sandbox_virtiofsd() {
	local ov=$1 d prog='' lib
	for d in $(printf '%s' "$PATH" | tr ':' ' ') /usr/libexec /usr/lib/qemu; do
		[ -x "$d/virtiofsd" ] && { prog=$d/virtiofsd; break; }
	done
	[ -n "$prog" ] || return 0
	mkdir -p "$ov$(dirname "$prog")" && cp -L "$prog" "$ov$prog" || return 1
	for lib in $(ldd "$prog" 2>/dev/null | grep -o '/[^ ]*'); do
		mkdir -p "$ov$(dirname "$lib")" && cp -L "$lib" "$ov$lib" || return 1
	done
}

# The Rust virtiofsd: bookworm-backports' when it has the package (built for
# bookworm: it runs on this host's libraries); else Debian sid's, built against
# glibc 2.39+ (bookworm has 2.36), so its glibc comes along; pinned, as the
# QEMU 10 backport is. A pinned version gone from the archive (and not in the
# cache) makes vfs-rust SKIP, saying so.
NESTED_RUST_VIRTIOFSD_PKGS=${NESTED_RUST_VIRTIOFSD_PKGS:-virtiofsd=1.14.0-4 libc6=2.43-7 libcap-ng0=0.9.6-1+b1 libseccomp2=2.6.1-1+b2 libgcc-s1=16.2.0-4}
NESTED_VFS_RUST_SKIP=

# nested_suite_candidate SUITE PKG: the version of PKG apt would take from SUITE
# (through the suite's private configuration); nothing when it has none.
nested_suite_candidate() {
	local dir
	dir=$(lkvm_suite_dir "$1") || return 0
	LKVM_APT_SUITE=$1 LKVM_APT_DIR=$dir lkvm_apt apt-cache policy "$2" 2>/dev/null |
		awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

# nested_suite_missing SUITE PKG=VER...: the first PKG=VER SUITE does not have.
nested_suite_missing() {
	local suite=$1 dir pv
	shift
	dir=$(lkvm_suite_dir "$suite") || return 0
	for pv in "$@"; do
		# (apt-cache show of an unknown version prints nothing, status 0)
		LKVM_APT_SUITE=$suite LKVM_APT_DIR=$dir lkvm_apt apt-cache show "$pv" 2>/dev/null |
			grep -q '^Package:' || { echo "$pv"; return 0; }
	done
}

# nested_sandbox_rust_virtiofsd DEST RUNDIR: fetch it into the cache and put
# it, its libraries and a wrapper that runs it through their loader in DEST
# (RUNDIR: where DEST is when it runs; lkvm finds it through
# LKVM_VIRTIOFSD=RUNDIR/virtiofsd). Sets NESTED_VFS_RUST_SKIP when the archive
# cannot give it.
nested_sandbox_rust_virtiofsd() {
	local dest=$1 root lib l bin ver pkgs gone
	ver=$(nested_suite_candidate bookworm-backports virtiofsd)
	if [ -n "$ver" ]; then
		pkgs="virtiofsd=$ver"
		root=$LKVM_CACHE/amd64/virtiofsd-rust-bpo_$ver
		lkvm_suite_fetch bookworm-backports "$root" amd64 "$pkgs" >&2 ||
			{ NESTED_VFS_RUST_SKIP="cannot fetch virtiofsd=$ver from bookworm-backports"; return 0; }
		bin=$root/usr/libexec/virtiofsd
		mkdir -p "$dest/lib" && cp "$bin" "$dest/virtiofsd.bin" || return 1
		# This host's libraries (L1 has none of its own).
		for l in $(ldd "$bin" | grep -o '/[^ ]*'); do
			cp -L "$l" "$dest/lib/" || return 1
		done
		[ -f "$dest/lib/ld-linux-x86-64.so.2" ] || return 1
	else
		pkgs=$NESTED_RUST_VIRTIOFSD_PKGS
		# shellcheck disable=SC2086 # package=version words
		root=$LKVM_CACHE/amd64/virtiofsd-rust_$(printf '%s' "$pkgs" | md5sum | cut -c1-12)
		if [ ! -f "$root/.complete" ]; then
			# shellcheck disable=SC2086
			gone=$(nested_suite_missing sid $pkgs)
			if [ -n "$gone" ]; then
				NESTED_VFS_RUST_SKIP="sid no longer has $gone (NESTED_RUST_VIRTIOFSD_PKGS in tests/nested/sandbox.sh pins it), nor bookworm-backports virtiofsd"
				return 0
			fi
		fi
		# shellcheck disable=SC2086
		if ! lkvm_suite_fetch sid "$root" amd64 $pkgs >&2; then
			NESTED_VFS_RUST_SKIP="cannot fetch the Rust virtiofsd from sid ($pkgs)"
			return 0
		fi
		lib=$root/usr/lib/x86_64-linux-gnu
		mkdir -p "$dest/lib" || return 1
		cp "$root/usr/libexec/virtiofsd" "$dest/virtiofsd.bin" || return 1
		for l in ld-linux-x86-64.so.2 libc.so.6 libcap-ng.so.0 libseccomp.so.2 libgcc_s.so.1; do
			cp -L "$lib/$l" "$dest/lib/" || return 1
		done
	fi
	lkvm_info "Rust virtiofsd for vfs-rust: ${pkgs%% *}"
	printf '#!/bin/sh\nexec %s/lib/ld-linux-x86-64.so.2 --library-path %s/lib %s/virtiofsd.bin "$@"\n' \
		"$2" "$2" "$2" >"$dest/virtiofsd"
	chmod 755 "$dest/virtiofsd"
}

# Why CASE cannot run here (nothing when it can).
nested_sandbox_skip() {
	[ "$1" = vfs-rust ] && [ -n "$NESTED_VFS_RUST_SKIP" ] && echo "$NESTED_VFS_RUST_SKIP"
	return 0
}

# nested_sandbox_prepare WORK: the L1 overlay (and, direct, WORK/sandbox-l1.sh).
nested_sandbox_prepare() {
	local work=$1 ov=$1/l1-overlay rel
	mkdir -p "$ov/boot" "$ov/etc" "$ov/l2" || return 1
	ln -sf /l2/bzImage "$ov/boot/vmlinuz-$LKVM_KVER"
	# shellcheck disable=SC2086
	nested_sandbox_modules "$ov" "$LKVM_KROOT" "$LKVM_KVER" $NESTED_SANDBOX_MODULES ||
		return 1
	# net-l1.sh modprobes tun and bridge in L1: L1's own, when the
	# guest's kernel is another one.
	if [ "$LKVM_L1_KVER" != "$LKVM_KVER" ]; then
		nested_sandbox_modules "$ov" "$LKVM_L1_KROOT" "$LKVM_L1_KVER" tun bridge \
			vhost_net vhost_vsock || return 1
	fi
	nested_sandbox_virtiofsd "$ov" || return 1
	# In L1 at /rust; in direct mode where it was unpacked.
	if [ "$LKVM_MODE" = direct ]; then
		nested_sandbox_rust_virtiofsd "$work/rust" "$work/rust" || return 1
	else
		nested_sandbox_rust_virtiofsd "$ov/rust" /rust || return 1
	fi
	echo "lkvm-l1-root" >"$ov/etc/lkvm-l1-marker"
	install -m 755 "$NESTED_SANDBOX_DIR/sandbox-l1.sh" "$ov/l2/sandbox-l1.sh"
	install -m 755 "$NESTED_SANDBOX_DIR/sandbox-l1.sh" "$work/sandbox-l1.sh"

	# The net case's guests: virtio_net, and net-l2.sh run by l2-init.sh.
	rel=$(mktemp -d "$work/net-root.XXXXXX") || return 1
	mkdir -p "$rel/lkvmtest.d"
	install -m 755 "$NESTED_SANDBOX_DIR/net-l2.sh" "$rel/lkvmtest.d/net.sh"
	lkvm_build_l2_initrd "$work/net.cpio" --modules "virtio_pci virtio_net" \
		--overlay "$rel" || { rm -rf "$rel"; return 1; }
	rm -rf "$rel"
	install -m 755 "$NESTED_SANDBOX_DIR/net-l1.sh" "$work/net-l1.sh"
	cp "$work/net.cpio" "$work/net-l1.sh" "$ov/l2/"

	# The user-mode network cases: passt, a static vsock/setuid helper for
	# both levels, and their guest (DHCP, wget, httpd, vsock).
	nested_usernet_passt "$ov" || return 1
	${CC:-cc} -static -O2 -Wall -o "$work/nettool" "$NESTED_SANDBOX_DIR/nettool.c" ||
		{ lkvm_err "cannot build tests/nested/nettool.c statically"; return 1; }
	rel=$(mktemp -d "$work/usernet-root.XXXXXX") || return 1
	mkdir -p "$rel/lkvmtest.d"
	install -m 755 "$NESTED_SANDBOX_DIR/usernet-l2.sh" "$rel/lkvmtest.d/usernet.sh"
	install -m 755 "$work/nettool" "$rel/lkvmtest.d/nettool"
	lkvm_build_l2_initrd "$work/usernet.cpio" \
		--modules "virtio_pci virtio_net vmw_vsock_virtio_transport" \
		--overlay "$rel" || { rm -rf "$rel"; return 1; }
	rm -rf "$rel"
	install -m 755 "$NESTED_SANDBOX_DIR/usernet-l1.sh" "$work/usernet-l1.sh"
	cp "$work/usernet.cpio" "$work/usernet-l1.sh" "$work/nettool" "$ov/l2/"

	# sandbox-disk's root: a busybox tree in an ext4 image (mkfs -d fills it).
	rel=$(mktemp -d "$work/disk-root.XXXXXX") || return 1
	lkvm_busybox_skeleton "$rel"
	echo lkvm-disk-root >"$rel/etc/lkvm-disk-marker"
	rm -f "$work/root.ext4"
	if ! mkfs.ext4 -q -F -L lkvmroot -d "$rel" "$work/root.ext4" 16M >/dev/null 2>&1; then
		lkvm_err "mkfs.ext4 -d failed (e2fsprogs 1.43 or later needed)"
		rm -rf "$rel"
		return 1
	fi
	rm -rf "$rel"
	cp "$work/root.ext4" "$ov/l2/"
}

# The case command (a cases.sh run_case line; evaluated where lkvm runs).
# Direct mode names the kernel and its modules; nested mode uses the defaults.
nested_sandbox_cmd() {
	local c=$1 extra=
	if [ "$c" = net ]; then
		# shellcheck disable=SC2016 # expanded by the case runner
		printf '%s' 'sh ${L2_INITRD%/*}/net-l1.sh $LKVM $L2_KERNEL ${L2_INITRD%/*}/net.cpio'
		[ "${LKVM_NET_VHOST:-0}" = 1 ] && printf ' vhost'
		return
	fi
	if [ "$c" = usernet ]; then
		# shellcheck disable=SC2016 # expanded by the case runner
		printf '%s' 'sh ${L2_INITRD%/*}/usernet-l1.sh usernet $LKVM ${L2_INITRD%/*}/nettool $L2_KERNEL ${L2_INITRD%/*}/usernet.cpio'
		return
	fi
	if [ "$LKVM_MODE" = direct ]; then
		extra="-k $LKVM_VMLINUZ --modules $LKVM_KROOT/lib/modules/$LKVM_KVER"
	elif [ "$LKVM_KVER" != "$LKVM_L1_KVER" ]; then
		# L1's uname -r is not the guest's: name the kernel, and lkvm
		# finds its modules from the release in the bzImage.
		extra="-k /boot/vmlinuz-$LKVM_KVER"
	fi
	# shellcheck disable=SC2016 # expanded by the case runner
	case "$c" in
	sandbox-user)
		printf 'sh ${L2_INITRD%%/*}/usernet-l1.sh sandbox-user $LKVM ${L2_INITRD%%/*}/nettool %s' "$extra"
		return ;;
	sandbox-initrd) extra='${L2_INITRD%/*}/net.cpio '"$extra" ;;
	sandbox-disk) extra='${L2_INITRD%/*}/root.ext4 '"$extra" ;;
	vfs-rust)
		if [ "$LKVM_MODE" = direct ]; then
			extra="$WORK/rust/virtiofsd $extra"
		else
			extra="/rust/virtiofsd $extra"
		fi
		;;
	esac
	# shellcheck disable=SC2016 # expanded by the case runner
	printf 'sh ${L2_INITRD%%/*}/sandbox-l1.sh $LKVM %s %s' "$c" "$extra"
}

nested_sandbox_value() {
	printf '%s\n' "$1" | sed -n "s/^$2=//p" | tail -n 1 | tr -d '\r'
}

# nested_sandbox_check CASE OUTPUT STATUS: why the case failed, or nothing.
nested_sandbox_check() {
	local c=$1 out=$2 status=$3 v
	lkvm_l2_panic "$out" && return
	[ "$status" = 137 ] && { echo "timed out after ${LKVM_CASE_TIMEOUT}s (killed)"; return; }
	case "$c" in
	sandbox)
		v=$(nested_sandbox_value "$out" SANDBOX-FAIL)
		[ -n "$v" ] && { echo "in the guest: $v"; return; }
		printf '%s\n' "$out" | grep -q '^SANDBOX-HELLO$' ||
			{ echo "the command's output did not arrive (lkvm status $status)"; return; }
		# (direct mode shares this host's /, which has no marker)
		[ "$LKVM_MODE" = direct ] ||
			[ "$(nested_sandbox_value "$out" SANDBOX-MARKER)" = lkvm-l1-root ] ||
			{ echo "the guest's / is not L1's / (no /etc/lkvm-l1-marker)"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-CHECKS)" = ok ] ||
			{ echo "the file system checks did not finish"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-FILE)" = written-by-l2 ] ||
			{ echo "the file the guest wrote is not in L1's share"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-BIG)" = ok ] ||
			{ echo "the 3 MB file the guest copied differs on L1"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-SCRATCH)" = in-scratch ] ||
			{ echo "the guest's /tmp file is not in L1's scratch directory"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-OUTSIDE)" = untouched ] ||
			{ echo "a file outside the share changed"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-ROOTTYPE)" = virtiofs ] ||
			{ echo "the root is on '$(nested_sandbox_value "$out" SANDBOX-ROOTTYPE)', want virtiofs"; return; }
		printf '%s\n' "$out" | grep -q 'sandbox: the root is on virtio-fs' ||
			{ echo "lkvm did not say the root is on virtio-fs"; return; }
		[ "$status" = 3 ] || { echo "lkvm exit status $status, want the command's 3"; return; }
		;;
	vfs|vfs-rust)
		[ "$c" = vfs-rust ] && ! printf '%s\n' "$out" | grep -q '^VFS-RUST-HELP=ok' &&
			{ echo "the wrapper does not run the Rust virtiofsd"; return; }
		v=$(nested_sandbox_value "$out" VFS-FAIL)
		[ -n "$v" ] && { echo "in the guest: $v"; return; }
		# --root-fs 9p: the root is on 9p even where virtio-fs could be.
		[ "$(nested_sandbox_value "$out" SANDBOX-ROOTTYPE)" = 9p ] ||
			{ echo "the root is on '$(nested_sandbox_value "$out" SANDBOX-ROOTTYPE)', want 9p"; return; }
		printf '%s\n' "$out" | grep -q 'sandbox: the root is on 9p (--root-fs 9p)' ||
			{ echo "lkvm did not say the root is on 9p"; return; }
		[ "$(nested_sandbox_value "$out" VFS-FROMHOST)" = ok ] ||
			{ echo "the tree L1 wrote did not read back intact in the guest"; return; }
		[ "$(nested_sandbox_value "$out" VFS-RO)" = refused ] ||
			{ echo "the ro share took a write: $(nested_sandbox_value "$out" VFS-RO)"; return; }
		[ "$(nested_sandbox_value "$out" VFS-FROMGUEST)" = ok ] ||
			{ echo "the tree the guest wrote is not intact in L1: $(nested_sandbox_value "$out" VFS-FROMGUEST)"; return; }
		[ "$(nested_sandbox_value "$out" VFS-RO-HOST)" = untouched ] ||
			{ echo "the ro share changed on L1"; return; }
		[ "$(nested_sandbox_value "$out" VFS-USER-WROTE)" = ok ] ||
			{ echo "--user: the guest could not write to the share (lkvm status $(nested_sandbox_value "$out" VFS-USER-RC))"; return; }
		[ "$(nested_sandbox_value "$out" VFS-USER-OWNER)" = 1000:1000 ] ||
			{ echo "--user: the guest's file is owned by '$(nested_sandbox_value "$out" VFS-USER-OWNER)' in L1, not the user's 1000:1000"; return; }
		[ "$(nested_sandbox_value "$out" VFS-USER-ROOTDIR)" = refused ] ||
			{ echo "--user: virtiofsd wrote into root's directory"; return; }
		[ "$(nested_sandbox_value "$out" VFS-USER-RC)" = 0 ] ||
			{ echo "--user: lkvm exit status $(nested_sandbox_value "$out" VFS-USER-RC)"; return; }
		[ "$status" = 0 ] || { echo "lkvm exit status $status"; return; }
		;;
	vfs-kill)
		printf '%s\n' "$out" | grep -q '^VFS-READY$' ||
			{ echo "the guest never used the share (lkvm status $status)"; return; }
		[ -n "$(nested_sandbox_value "$out" VFS-KILLED)" ] ||
			{ echo "no virtiofsd to kill"; return; }
		printf '%s\n' "$out" | grep -q '^VFS-HUNG' &&
			{ echo "lkvm was still running 40 s after virtiofsd was killed"; return; }
		printf '%s\n' "$out" | grep -q '^VFS-EIO' ||
			{ echo "the guest saw no I/O error after virtiofsd died"; return; }
		[ "$(printf '%s\n' "$out" | grep -c 'virtiofsd is gone\|back end hung up')" = 1 ] ||
			{ echo "lkvm did not say once that virtiofsd is gone"; return; }
		[ "$status" = 7 ] || { echo "lkvm exit status $status, want the command's 7"; return; }
		;;
	sandbox-timeout)
		printf '%s\n' "$out" | grep -q '^SANDBOX-LOOPING$' ||
			{ echo "the loop never started (lkvm status $status)"; return; }
		printf '%s\n' "$out" | grep -q 'vCPU 0: rip' ||
			{ echo "no vCPU positions after the timeout"; return; }
		[ "$status" = 124 ] || { echo "lkvm exit status $status, want 124"; return; }
		;;
	sandbox-initrd)
		printf '%s\n' "$out" | grep -q '^SANDBOX-HELLO$' ||
			{ echo "the command's output did not arrive (lkvm status $status)"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-ROOT)" = initrd ] ||
			{ echo "the command did not run in the given initramfs"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-TTY)" = /dev/hvc0 ] ||
			{ echo "the command's output went to '$(nested_sandbox_value "$out" SANDBOX-TTY)', not hvc0"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-SCRATCH)" = in-scratch ] ||
			{ echo "the guest's /tmp file is not in the scratch directory"; return; }
		[ "$status" = 5 ] || { echo "lkvm exit status $status, want the command's 5"; return; }
		;;
	sandbox-disk)
		printf '%s\n' "$out" | grep -q '^SANDBOX-HELLO$' ||
			{ echo "the command's output did not arrive (lkvm status $status)"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-MARKER)" = lkvm-disk-root ] ||
			{ echo "the root is not the disk image"; return; }
		[ "$(nested_sandbox_value "$out" SANDBOX-ROOTFS)" = "/dev/vda ext4 ro" ] ||
			{ echo "root mount '$(nested_sandbox_value "$out" SANDBOX-ROOTFS)', want '/dev/vda ext4 ro'"; return; }
		[ "$status" = 4 ] || { echo "lkvm exit status $status, want the command's 4"; return; }
		;;
	usernet)
		v=$(nested_sandbox_value "$out" USERNET-FAIL)
		[ -n "$v" ] && { echo "in the guest: $v"; return; }
		printf '%s\n' "$out" | grep -q '^USERNET-DHCP=10.0.2.15 10.0.2.2' ||
			{ echo "no DHCP lease 10.0.2.15 via 10.0.2.2 (lkvm status $status)"; return; }
		v=$(nested_sandbox_value "$out" USERNET-BLOB-MD5)
		[ -n "$v" ] && [ "$v" = "$(nested_sandbox_value "$out" USERNET-HOST-BLOB-MD5)" ] ||
			{ echo "4 MiB through the gateway: got $(nested_sandbox_value "$out" USERNET-BLOB-BYTES) bytes, md5 '$v'"; return; }
		[ "$(nested_sandbox_value "$out" USERNET-FWD)" = guest-page-ok ] ||
			{ echo "the forwarded port did not reach the guest's server"; return; }
		[ "$(nested_sandbox_value "$out" USERNET-VSOCK-FROM-GUEST)" = hello-from-guest ] ||
			{ echo "vsock guest to host: got '$(nested_sandbox_value "$out" USERNET-VSOCK-FROM-GUEST)'"; return; }
		[ "$(nested_sandbox_value "$out" USERNET-VSOCK-IN)" = hello-from-host ] ||
			{ echo "vsock host to guest: got '$(nested_sandbox_value "$out" USERNET-VSOCK-IN)'"; return; }
		[ "$(nested_sandbox_value "$out" USERNET-STATUS)" = 0 ] ||
			{ echo "lkvm run -n mode=user exited $(nested_sandbox_value "$out" USERNET-STATUS)"; return; }
		v=$(nested_sandbox_value "$out" USERNET-ERROR-FAIL)
		[ -n "$v" ] && { echo "error case $v"; return; }
		[ "$(printf '%s\n' "$out" | grep -c '^USERNET-ERROR-OK=')" = 3 ] ||
			{ echo "the three error cases did not all run"; return; }
		[ "$status" = 0 ] || { echo "status $status"; return; }
		;;
	sandbox-user)
		v=$(nested_sandbox_value "$out" USERNET-FAIL)
		[ -n "$v" ] && { echo "in the guest: $v"; return; }
		printf '%s\n' "$out" | grep -q '^USERNET-SANDBOX-DONE' ||
			{ echo "the command did not finish (lkvm status $(nested_sandbox_value "$out" USERNET-SANDBOX-STATUS))"; return; }
		v=$(nested_sandbox_value "$out" USERNET-SANDBOX-BLOB-MD5)
		[ -n "$v" ] && [ "$v" = "$(nested_sandbox_value "$out" USERNET-HOST-BLOB-MD5)" ] ||
			{ echo "--net download: md5 '$v'"; return; }
		[ "$(nested_sandbox_value "$out" USERNET-SANDBOX-VSOCK)" = 1 ] ||
			{ echo "--vsock: no virtio-vsock device in the guest"; return; }
		[ "$(nested_sandbox_value "$out" USERNET-CONTENT)" = made-in-guest ] ||
			{ echo "the file the guest wrote is not in the share"; return; }
		for v in SHARE SHAREDIR SCRATCH; do
			[ "$(nested_sandbox_value "$out" USERNET-OWNER-$v)" = 1000:1000 ] ||
				{ echo "$v: the guest's file is owned by '$(nested_sandbox_value "$out" USERNET-OWNER-$v)' in L1, not 1000:1000"; return; }
		done
		[ "$(nested_sandbox_value "$out" USERNET-SANDBOX-STATUS)" = 7 ] ||
			{ echo "lkvm sandbox exited $(nested_sandbox_value "$out" USERNET-SANDBOX-STATUS), want the command's 7"; return; }
		;;
	net)
		v=$(nested_sandbox_value "$out" NET-FAIL)
		[ -n "$v" ] && { echo "$v"; return; }
		printf '%s\n' "$out" | grep -q '^NET-PING=ok' ||
			{ echo "the guest could not ping the bridge's address (lkvm status $status)"; return; }
		v=$(nested_sandbox_value "$out" NET-SENT-MD5)
		[ -n "$v" ] && [ "$v" = "$(nested_sandbox_value "$out" NET-HOST-RECV-MD5)" ] ||
			{ echo "guest to host: sent md5 '$v', received $(nested_sandbox_value "$out" NET-HOST-RECV-BYTES) bytes md5 '$(nested_sandbox_value "$out" NET-HOST-RECV-MD5)'"; return; }
		v=$(nested_sandbox_value "$out" NET-HOST-SENT-MD5)
		[ -n "$v" ] && [ "$v" = "$(nested_sandbox_value "$out" NET-RECV-MD5)" ] ||
			{ echo "host to guest: sent md5 '$v', received $(nested_sandbox_value "$out" NET-RECV-BYTES) bytes md5 '$(nested_sandbox_value "$out" NET-RECV-MD5)'"; return; }
		[ "$(nested_sandbox_value "$out" NET-QUEUES)" = 2 ] ||
			{ echo "the 2-vCPU guest uses $(nested_sandbox_value "$out" NET-QUEUES) receive queue(s), want 2"; return; }
		[ "$(nested_sandbox_value "$out" NET-MAC)" = 02:00:00:00:00:0b ] ||
			{ echo "mac= not honoured: $(nested_sandbox_value "$out" NET-MAC)"; return; }
		# Receive offloads (GUEST_TSO4, bit 7) only with CTRL_GUEST_OFFLOADS (bit 2).
		v=$(nested_sandbox_value "$out" NET-VIRTIO-FEATURES)
		case "$v" in
		??1????1*) ;;
		???????0*) ;;
		*) echo "virtio features $v: GUEST_TSO4 without CTRL_GUEST_OFFLOADS"; return ;;
		esac
		# Asked for vhost-net (LKVM_NET_VHOST=1), the case must have had it.
		[ "${LKVM_NET_VHOST:-0}" != 1 ] || [ "$LKVM_MODE" = direct ] ||
			[ "$(nested_sandbox_value "$out" NET-VHOST)" = on ] ||
			{ echo "L1 has no /dev/vhost-net: vhost-net was not tested"; return; }
		[ "$status" = 0 ] || { echo "lkvm exit status $status"; return; }
		;;
	esac
}

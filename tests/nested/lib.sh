# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers for booting real Linux guests (Debian kernels) with lkvm.
# Sourced by tests/nested/run-x86.sh and scripts/demo.sh; needs bash.
#
# Two ways of running lkvm against a real kernel:
#   direct: lkvm runs on this host (needs a /dev/kvm fast enough to boot Linux,
#           i.e. hardware virtualization).
#   nested: QEMU TCG boots a Debian kernel (L1) whose kvm-amd (nested=1) gives a
#           real /dev/kvm; a static lkvm inside L1 boots the L2 guest.
# Both run the same list of cases (a small shell file of `run_case NAME CMD`
# lines) and write the same log format:
#   L1-BEGIN <name>
#   ...lkvm and guest output...
#   L1-END <name> status=<exit status> secs=<seconds>
# so callers parse results the same way whatever the mode.
#
# Everything downloaded or unpacked lives in $LKVM_CACHE (outside git).
#
# Environment knobs:
#   LKVM_CACHE         cache directory (default $HOME/.cache/lkvm)
#   LKVM_KERNEL_PKG    force a kernel package (e.g. linux-image-6.1.0-56-amd64-unsigned)
#   LKVM_MODE          force "direct" or "nested" instead of probing
#   LKVM_CASE_TIMEOUT  seconds allowed for one lkvm run (default 90)
#   LKVM_VERBOSE=1     stream guest consoles to stderr while running

LKVM_CACHE=${LKVM_CACHE:-${HOME:-/tmp}/.cache/lkvm}
LKVM_CASE_TIMEOUT=${LKVM_CASE_TIMEOUT:-90}
LKVM_NESTED_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

lkvm_info() { echo "INFO: $*" >&2; }
lkvm_warn() { echo "WARNING: $*" >&2; }
lkvm_err()  { echo "ERROR: $*" >&2; }

# Run a command as root (apt-get update / install): directly when root,
# through sudo otherwise.
lkvm_as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		lkvm_err "need root for: $*"
		return 1
	fi
}

# ---------------------------------------------------------------------------
# Guest kernel and busybox from Debian
# ---------------------------------------------------------------------------

# Debian package architecture for a machine name (x86_64 only for now; arm64
# follows the same layout later).
lkvm_deb_arch() {
	case "$1" in
	x86_64|amd64) echo amd64 ;;
	aarch64|arm64) echo arm64 ;;
	*) return 1 ;;
	esac
}

# Print the newest linux-image-6.1.0-N-<arch>-unsigned package apt knows (plain
# flavour only: no -cloud or -rt).
lkvm_newest_kernel_pkg_known() {
	local darch=$1
	apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
		grep -E "^linux-image-6\\.1\\.0-[0-9]+-${darch}-unsigned\$" |
		sort -V | tail -n 1
}

lkvm_pkg_candidate_version() {
	apt-cache show --no-all-versions "$1" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n 1
}

# Newest kernel already unpacked in the cache (offline fallback).
lkvm_newest_cached_kernel() {
	local darch=$1 d
	d=$(ls -d "$LKVM_CACHE/$darch"/linux-image-6.1.0-*-"$darch"-unsigned_*/.complete 2>/dev/null |
		sort -V | tail -n 1)
	[ -n "$d" ] && dirname "$d"
}

# The .deb apt-get download left in DIR for PKG=VER (':' escaped as %3a).
lkvm_find_deb() {
	local f
	for f in "$1/${2}_${3//:/%3a}_"*.deb; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# Download (if needed) and unpack one package into DIR.
# $1 package  $2 version  $3 destination directory
lkvm_fetch_unpack() {
	local pkg=$1 ver=$2 dest=$3 debdir deb log
	[ -f "$dest/.complete" ] && return 0
	debdir=$LKVM_CACHE/debs
	mkdir -p "$debdir"
	# apt-get names the file pkg_ver_arch.deb with ':' in the version escaped.
	deb=$(lkvm_find_deb "$debdir" "$pkg" "$ver")
	if [ -z "$deb" ]; then
		lkvm_info "downloading $pkg=$ver into $debdir"
		log=$(mktemp)
		if ! (cd "$debdir" && apt-get download "$pkg=$ver") >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			lkvm_err "apt-get download $pkg=$ver failed"
			return 1
		fi
		rm -f "$log"
		deb=$(lkvm_find_deb "$debdir" "$pkg" "$ver")
		[ -n "$deb" ] || { lkvm_err "downloaded $pkg but cannot find its .deb"; return 1; }
	fi
	rm -rf "$dest.tmp"
	mkdir -p "$dest.tmp"
	dpkg-deb -x "$deb" "$dest.tmp" || { lkvm_err "dpkg-deb -x $deb failed"; return 1; }
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	echo "$pkg $ver" >"$dest/.complete"
}

# Fetch the guest kernel and busybox for an architecture and set:
#   LKVM_KROOT    unpacked kernel package
#   LKVM_KVER     kernel release (uname -r), e.g. 6.1.0-56-amd64
#   LKVM_VMLINUZ  the kernel image (bzImage on x86)
#   LKVM_BUSYBOX  a static busybox for the guest
# Reuses the cache when the same package version is already unpacked; works
# offline as long as something is cached.
lkvm_fetch_guest() {
	local arch=${1:-x86_64} darch pkg ver kdir bbver bbdir cached
	darch=$(lkvm_deb_arch "$arch") || { lkvm_err "unsupported arch $arch"; return 1; }
	if [ "$darch" != "$(dpkg --print-architecture 2>/dev/null)" ]; then
		lkvm_err "fetching $darch guests on a $(dpkg --print-architecture) host is not wired up yet"
		return 1
	fi
	mkdir -p "$LKVM_CACHE/$darch" || return 1

	pkg=${LKVM_KERNEL_PKG:-$(lkvm_newest_kernel_pkg_known "$darch")}
	if [ -z "$pkg" ]; then
		lkvm_info "apt knows no linux-image-6.1.0-*-$darch-unsigned; running apt-get update"
		lkvm_as_root apt-get update >&2 || lkvm_warn "apt-get update failed"
		pkg=$(lkvm_newest_kernel_pkg_known "$darch")
	fi
	ver=
	[ -n "$pkg" ] && ver=$(lkvm_pkg_candidate_version "$pkg")
	bbver=$(lkvm_pkg_candidate_version busybox-static)

	# Serialize concurrent runs sharing one cache.
	exec {lkvm_lockfd}>"$LKVM_CACHE/.lock"
	flock "$lkvm_lockfd"

	kdir=
	if [ -n "$pkg" ] && [ -n "$ver" ]; then
		kdir=$LKVM_CACHE/$darch/${pkg}_${ver//:/_}
		if ! lkvm_fetch_unpack "$pkg" "$ver" "$kdir"; then
			kdir=
		fi
	fi
	if [ -z "$kdir" ]; then
		cached=$(lkvm_newest_cached_kernel "$darch")
		if [ -z "$cached" ]; then
			flock -u "$lkvm_lockfd"; exec {lkvm_lockfd}>&-
			lkvm_err "no Debian 6.1 kernel available (apt and cache both empty)"
			return 1
		fi
		lkvm_warn "using cached kernel $(basename "$cached")"
		kdir=$cached
	fi

	bbdir=
	if [ -n "$bbver" ]; then
		bbdir=$LKVM_CACHE/$darch/busybox-static_${bbver//:/_}
		lkvm_fetch_unpack busybox-static "$bbver" "$bbdir" || bbdir=
	fi
	if [ -z "$bbdir" ]; then
		bbdir=$(ls -d "$LKVM_CACHE/$darch"/busybox-static_*/.complete 2>/dev/null |
			sort -V | tail -n 1)
		bbdir=${bbdir%/.complete}
	fi
	flock -u "$lkvm_lockfd"; exec {lkvm_lockfd}>&-
	[ -n "$bbdir" ] && [ -x "$bbdir/bin/busybox" ] ||
		{ lkvm_err "no busybox-static available"; return 1; }

	LKVM_KROOT=$kdir
	LKVM_KVER=$(ls "$kdir/lib/modules" | head -n 1)
	LKVM_VMLINUZ=$kdir/boot/vmlinuz-$LKVM_KVER
	LKVM_BUSYBOX=$bbdir/bin/busybox
	[ -f "$LKVM_VMLINUZ" ] || { lkvm_err "no kernel image in $kdir/boot"; return 1; }

	# modules.dep is generated once per unpacked kernel.
	if [ ! -s "$kdir/lib/modules/$LKVM_KVER/modules.dep" ]; then
		depmod -b "$kdir" "$LKVM_KVER" ||
			{ lkvm_err "depmod -b $kdir $LKVM_KVER failed"; return 1; }
	fi
	lkvm_info "guest kernel $LKVM_KVER ($(sed 's/ /=/' "$kdir/.complete")), busybox $(basename "$bbdir")"
}

# ---------------------------------------------------------------------------
# Kernel modules
# ---------------------------------------------------------------------------

# Print, in a valid load order, the modules.dep paths (relative to
# lib/modules/VER) of the named modules and everything they depend on.
# Names may use '-' or '_'. Fails if a name is unknown.
# $1 kernel root  $2 kernel release  $3... module names
lkvm_module_order() {
	local root=$1 kver=$2
	shift 2
	awk -v want="$*" '
	function norm(s) { sub(/.*\//, "", s); sub(/\.ko(\.[a-z]+)?$/, "", s); gsub(/-/, "_", s); return s }
	function visit(p,   n, i, d) {
		if (p in done) return
		if (p in busy) return		# a cycle cannot load anyway; do not loop
		busy[p] = 1
		# modules.dep lists the closure of dependencies; loading each of
		# them (depth first) before the module gives a valid order.
		n = split(deps[p], d, " ")
		for (i = n; i >= 1; i--) visit(d[i])
		done[p] = 1
		print p
	}
	{
		p = $1; sub(/:$/, "", p)
		$1 = ""; deps[p] = $0
		path[norm(p)] = p
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			k = w[i]; gsub(/-/, "_", k)
			if (!(k in path)) { print "unknown module: " w[i] > "/dev/stderr"; bad = 1; continue }
			visit(path[k])
		}
		exit bad
	}' "$root/lib/modules/$kver/modules.dep"
}

# Copy modules (and their dependencies) into DEST as plain .ko files, and write
# DEST/order: one "file.ko [params]" line per module in load order. Compressed
# modules are decompressed here so the guest's busybox insmod needs no
# decompressor. Parameters: "name:param=value" words in LKVM_MODULE_PARAMS.
# $1 kernel root  $2 kernel release  $3 destination  $4... module names
lkvm_stage_modules() {
	local root=$1 kver=$2 dest=$3 rel src base name params w
	shift 3
	mkdir -p "$dest"
	: >"$dest/order"
	[ $# -eq 0 ] && return 0
	local order
	order=$(lkvm_module_order "$root" "$kver" "$@") || return 1
	for rel in $order; do
		src=$root/lib/modules/$kver/$rel
		base=${rel##*/}
		case "$base" in
		*.ko.xz)  base=${base%.xz};  xz -dc "$src" >"$dest/$base" ;;
		*.ko.zst) base=${base%.zst}; zstd -qdc "$src" >"$dest/$base" ;;
		*.ko.gz)  base=${base%.gz};  gzip -dc "$src" >"$dest/$base" ;;
		*.ko)     cp "$src" "$dest/$base" ;;
		*) lkvm_err "unexpected module file $rel"; return 1 ;;
		esac || { lkvm_err "cannot stage $rel"; return 1; }
		name=${base%.ko}; name=${name//-/_}
		params=
		for w in ${LKVM_MODULE_PARAMS:-}; do
			case "$w" in
			"$name":*|"${name//_/-}":*) params="$params ${w#*:}" ;;
			esac
		done
		echo "$base$params" >>"$dest/order"
	done
}

# ---------------------------------------------------------------------------
# Initramfs images
# ---------------------------------------------------------------------------

# Populate a busybox root skeleton in DIR (applet links made from the guest
# busybox's own list, so no install step runs at boot).
lkvm_busybox_skeleton() {
	local dir=$1 applet
	mkdir -p "$dir"/{bin,dev,proc,sys,tmp,run,root,etc,lib/modules}
	ln -sf bin "$dir/sbin"
	mkdir -p "$dir/usr"
	ln -sf ../bin "$dir/usr/bin"
	ln -sf ../bin "$dir/usr/sbin"
	cp "$LKVM_BUSYBOX" "$dir/bin/busybox"
	for applet in $("$LKVM_BUSYBOX" --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
	done
	# The kernel opens /dev/console before devtmpfs is mounted; without the
	# node init starts with no stdio (init re-opens it anyway).
	if [ "$(id -u)" = 0 ]; then
		mknod -m 600 "$dir/dev/console" c 5 1 2>/dev/null || true
	fi
}

# Pack DIR into an uncompressed newc cpio at OUT. (Uncompressed: the guest
# kernels run emulated, and unpacking gzip there costs more than copying.)
lkvm_pack_cpio() {
	local dir=$1 out=$2
	(cd "$dir" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$out.tmp" &&
		mv "$out.tmp" "$out"
}

# Build the L2 (guest) initramfs at OUT.
#   --modules "a b"  also load these modules (with dependencies) at boot
#   --overlay DIR    copy DIR over the root; executable /lkvmtest.d/*.sh files
#                    run after the L2-* report and before the action
lkvm_build_l2_initrd() {
	local out=$1 mods='' overlay='' dir
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		--modules) mods=$2; shift 2 ;;
		--overlay) overlay=$2; shift 2 ;;
		*) lkvm_err "lkvm_build_l2_initrd: bad argument $1"; return 1 ;;
		esac
	done
	dir=$(mktemp -d "${out}.root.XXXXXX") || return 1
	lkvm_busybox_skeleton "$dir"
	# shellcheck disable=SC2086
	lkvm_stage_modules "$LKVM_KROOT" "$LKVM_KVER" "$dir/lib/modules" $mods ||
		{ rm -rf "$dir"; return 1; }
	install -m 755 "$LKVM_NESTED_LIB_DIR/l2-init.sh" "$dir/init"
	[ -n "$overlay" ] && cp -a "$overlay/." "$dir/"
	lkvm_pack_cpio "$dir" "$out"
	local rc=$?
	rm -rf "$dir"
	return $rc
}

# Build the L1 initramfs at OUT: busybox, kvm-amd and its dependencies, the L2
# kernel and initrd, a static lkvm and the case list.
# $1 out  $2 static lkvm binary (may be empty: no lkvm in L1)
# $3 L2 initrd  $4 case list (shell file of run_case lines)
# [$5 directory copied over the L1 root, e.g. extra images for the cases]
lkvm_build_l1_initrd() {
	local out=$1 lkvm=$2 l2initrd=$3 cases=$4 overlay=${5:-} dir
	dir=$(mktemp -d "${out}.root.XXXXXX") || return 1
	lkvm_busybox_skeleton "$dir"
	LKVM_MODULE_PARAMS="kvm_amd:nested=1 ${LKVM_MODULE_PARAMS:-}" \
		lkvm_stage_modules "$LKVM_KROOT" "$LKVM_KVER" "$dir/lib/modules" kvm-amd ||
		{ rm -rf "$dir"; return 1; }
	install -m 755 "$LKVM_NESTED_LIB_DIR/l1-init.sh" "$dir/init"
	mkdir -p "$dir/l2"
	cp "$LKVM_VMLINUZ" "$dir/l2/bzImage"
	cp "$l2initrd" "$dir/l2/initrd.cpio"
	if [ -n "$lkvm" ]; then
		install -m 755 "$lkvm" "$dir/bin/lkvm"
	fi
	cp "$cases" "$dir/tests.sh"
	[ -n "$overlay" ] && cp -a "$overlay/." "$dir/"
	lkvm_pack_cpio "$dir" "$out"
	local rc=$?
	rm -rf "$dir"
	return $rc
}

# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

# Decide how lkvm boots Linux here; sets LKVM_MODE to direct or nested and says
# which on stderr. $1: host lkvm binary given to the probe.
lkvm_detect_mode() {
	local lkvm=$1 root probe verdict=
	root=$(cd "$LKVM_NESTED_LIB_DIR/../.." && pwd)
	probe=$root/tests/guest/probe-speed.sh
	case "${LKVM_MODE:-}" in
	direct|nested)
		lkvm_info "mode forced by LKVM_MODE=$LKVM_MODE"
		;;
	*)
		if [ -x "$probe" ] || [ -f "$probe" ]; then
			verdict=$(bash "$probe" "$lkvm" 2>/dev/null | tail -n 1)
		fi
		case "$verdict" in
		hardware) LKVM_MODE=direct ;;
		software|none) LKVM_MODE=nested ;;
		*)
			lkvm_warn "tests/guest/probe-speed.sh gave '${verdict:-nothing}'; assuming /dev/kvm cannot boot Linux"
			verdict=unknown
			LKVM_MODE=nested
			;;
		esac
		;;
	esac
	if [ "$LKVM_MODE" = direct ]; then
		case "$verdict" in
		hardware) lkvm_info "direct: lkvm on this host (host /dev/kvm is hardware)" ;;
		*)        lkvm_info "direct: lkvm on this host (forced by LKVM_MODE)" ;;
		esac
	else
		case "$verdict" in
		software) lkvm_info "nested: lkvm inside QEMU TCG L1 (host /dev/kvm is software)" ;;
		none)     lkvm_info "nested: lkvm inside QEMU TCG L1 (host has no usable /dev/kvm)" ;;
		unknown)  lkvm_info "nested: lkvm inside QEMU TCG L1 (host /dev/kvm speed unknown)" ;;
		*)        lkvm_info "nested: lkvm inside QEMU TCG L1 (forced by LKVM_MODE)" ;;
		esac
	fi
}

# Kernel image QEMU boots as L1: the ELF vmlinux unpacked from the bzImage,
# booted through its PVH entry. Under TCG that skips the firmware and the
# in-guest xz decompression, about 5 s of a 10 s L1 boot. Falls back to the
# bzImage if the payload cannot be extracted. Cached next to the kernel.
lkvm_l1_kernel() {
	local out=$LKVM_KROOT/boot/vmlinux-$LKVM_KVER off
	if [ ! -s "$out" ]; then
		# Offset of the xz stream magic (FD 37 7A 58 5A 00) in the bzImage.
		off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "$LKVM_VMLINUZ" 2>/dev/null | head -n 1 | cut -d: -f1)
		if [ -n "$off" ] &&
			tail -c +$((off + 1)) "$LKVM_VMLINUZ" | xz -dc --single-stream >"$out.tmp" 2>/dev/null &&
			[ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
			mv "$out.tmp" "$out"
		else
			rm -f "$out.tmp"
			echo "$LKVM_VMLINUZ"
			return
		fi
	fi
	echo "$out"
}

# Boot L1 under QEMU TCG with INITRD, console into LOG.
# $1 L1 initrd  $2 log  $3 timeout (s)  [$4 extra kernel cmdline words]
# Returns QEMU's status (124/137 on timeout). With LKVM_VERBOSE=1 the console is
# also streamed to stderr; with LKVM_STREAM_FD=N to that descriptor.
# LKVM_L1_QEMU_ARGS: more QEMU arguments (split at spaces), e.g. a disk for L1.
lkvm_run_l1() {
	local initrd=$1 log=$2 tmo=$3 extra=${4:-} fd=${LKVM_STREAM_FD:-}
	local -a cmd
	command -v qemu-system-x86_64 >/dev/null ||
		{ lkvm_err "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"; return 127; }
	[ -z "$fd" ] && [ "${LKVM_VERBOSE:-0}" = 1 ] && fd=2
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	cmd=(timeout -s KILL "$tmo" qemu-system-x86_64
		-accel tcg,thread=multi -smp 2 -cpu max -m 3072
		-kernel "$(lkvm_l1_kernel)" -initrd "$initrd"
		-append "console=ttyS0 quiet panic=-1 mitigations=off $extra"
		-display none -no-reboot -nodefaults -no-user-config
		-serial stdio)
	# shellcheck disable=SC2206 # split on purpose
	cmd+=(${LKVM_L1_QEMU_ARGS:-})
	: >"$log"
	if [ -n "$fd" ]; then
		"${cmd[@]}" </dev/null 2>&1 | sed -u 's/\r//g' | tee "$log" >&"$fd"
		return "${PIPESTATUS[0]}"
	fi
	"${cmd[@]}" </dev/null 2>&1 | tr -d '\r' >"$log"
	return "${PIPESTATUS[0]}"
}

# Run a case list directly on this host, writing the same log format as L1.
# The case list sees LKVM, L2_KERNEL, L2_INITRD and LKVM_CASE_TIMEOUT.
# $1 case list  $2 log  $3 lkvm binary  $4 L2 initrd
lkvm_run_direct() {
	local cases=$1 log=$2 fd=${LKVM_STREAM_FD:-}
	[ -z "$fd" ] && [ "${LKVM_VERBOSE:-0}" = 1 ] && fd=2
	: >"$log"
	(
		# shellcheck disable=SC2034 # used by the evaluated case commands
		LKVM=$3 L2_KERNEL=$LKVM_VMLINUZ L2_INITRD=$4
		# shellcheck disable=SC2317 # called from the case list
		run_case() {
			local name=$1 t0 t1 rc
			shift
			t0=$(date +%s.%N)
			echo "L1-BEGIN $name"
			eval "timeout -s TERM -k 10 $LKVM_CASE_TIMEOUT $*" </dev/null 2>&1
			rc=$?
			t1=$(date +%s.%N)
			echo
			echo "L1-END $name status=$rc secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
		}
		# shellcheck disable=SC1090
		. "$cases"
	) 2>&1 | sed -u 's/\r//g' | if [ -n "$fd" ]; then tee "$log" >&"$fd"; else cat >"$log"; fi
}

# Output of one case from a log (without the markers).
lkvm_case_output() {
	awk -v n="$2" '
		index($0, "L1-END " n " status=") { exit }
		on { print }
		index($0, "L1-BEGIN " n) && $NF == n { on = 1 }
	' "$1"
}

# True when a case ended because its time ran out (the status a timeout gives
# depends on the timeout program and on lkvm's signal handling, so go by time).
lkvm_case_timed_out() {
	local secs
	secs=$(lkvm_case_secs "$1" "$2")
	[ -n "$secs" ] && awk -v s="$secs" -v t="$LKVM_CASE_TIMEOUT" 'BEGIN { exit !(s >= t - 1) }'
}

# Exit status of one case, or nothing if the case did not finish.
lkvm_case_status() {
	grep -o "L1-END $2 status=[0-9]*" "$1" | tail -n 1 | sed 's/.*status=//'
}

lkvm_case_secs() {
	grep -o "L1-END $2 status=[0-9]* secs=[0-9.]*" "$1" | tail -n 1 | sed 's/.*secs=//'
}

# Value of an L2-KEY=value line in a case's output.
lkvm_l2_value() {
	printf '%s\n' "$1" | sed -n "s/.*L2-$2=//p" | head -n 1 | tr -d '[:space:]'
}

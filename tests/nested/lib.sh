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
#   LKVM_KERNEL_PKG    the guest (L2) kernel package, any Debian naming (e.g.
#                      linux-image-6.12.118+deb12-cloud-amd64-unsigned; default:
#                      L1's kernel)
#   LKVM_L1_KERNEL_PKG the L1 kernel package (default: the newest plain 6.1)
#   LKVM_MODE          force "direct" or "nested" instead of probing
#   LKVM_CASE_TIMEOUT  seconds allowed for one lkvm run (default 90)
#   LKVM_VERBOSE=1     stream guest consoles to stderr while running
#   LKVM_QEMU          the QEMU that boots L1: system (default), 10 (from
#                      bookworm-backports, fetched) or a directory

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

# Debian package architecture for a machine name.
lkvm_deb_arch() {
	case "$1" in
	x86_64|amd64) echo amd64 ;;
	aarch64|arm64) echo arm64 ;;
	*) return 1 ;;
	esac
}

# Extended regex for Debian's unsigned kernel packages of one series and
# flavour. Debian 12 names them two ways:
#   linux-image-6.1.0-57-amd64-unsigned          (the 6.1 ABI number)
#   linux-image-6.12.118+deb12-cloud-amd64-unsigned   (backported 6.12)
# $1 Debian arch  [$2 series, default 6.1]  [$3 flavour: "" (plain), cloud, rt]
lkvm_kernel_pkg_re() {
	local darch=$1 series=${2:-6.1} flav=${3:-}
	printf '^linux-image-%s(\\.0-[0-9]+|\\.[0-9]+\\+deb[0-9]+)-%s%s-unsigned$' \
		"${series//./\\.}" "${flav:+$flav-}" "$darch"
}

# Print the newest unsigned kernel package of a series and flavour that apt
# knows (default: the plain 6.1 flavour, linux-image-6.1.0-N-<arch>-unsigned).
# $1 Debian arch  [$2 series]  [$3 flavour]
lkvm_newest_kernel_pkg_known() {
	local re
	re=$(lkvm_kernel_pkg_re "$@")
	apt-cache pkgnames "linux-image-${2:-6.1}" 2>/dev/null | grep -E "$re" |
		sort -V | tail -n 1
}

lkvm_pkg_candidate_version() {
	apt-cache show --no-all-versions "$1" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n 1
}

# Newest kernel already unpacked in the cache (offline fallback): of package
# PKG when $2 names one, else of the series and flavour.
# $1 Debian arch  [$2 package]  [$3 series]  [$4 flavour]
lkvm_newest_cached_kernel() {
	local darch=$1 pkg=${2:-} re d
	if [ -n "$pkg" ]; then
		re="^${pkg//+/\\+}\$"
	else
		re=$(lkvm_kernel_pkg_re "$darch" "${3:-}" "${4:-}")
	fi
	# Directories are <package>_<version>; package names have no '_'.
	d=$(for d in "$LKVM_CACHE/$darch"/linux-image-*/.complete; do
		[ -f "$d" ] || continue
		d=${d%/.complete}
		d=${d##*/}
		printf '%s\n' "$d"
	done | awk -F_ -v re="$re" '$1 ~ re' | sort -V | tail -n 1)
	[ -n "$d" ] && echo "$LKVM_CACHE/$darch/$d"
}

# The .deb apt-get download left in DIR for PKG=VER (':' escaped as %3a).
lkvm_find_deb() {
	local f
	for f in "$1/${2}_${3//:/%3a}_"*.deb; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# Print the cached .deb of PKG=VER, downloading it first if needed. The
# host's own architecture keeps its .debs in debs/, a foreign one (arm64 on
# an amd64 host) in debs-<arch>/. With LKVM_APT_SUITE set, apt looks in that
# suite of this machine's Debian archive (lkvm_suite_apt) instead of the
# system's sources.
# $1 package  $2 version  [$3 Debian arch]
lkvm_download_deb() {
	local pkg=$1 ver=$2 darch=${3:-} debdir spec deb log
	debdir=$LKVM_CACHE/debs
	spec=$pkg
	if [ -n "$darch" ] && [ "$darch" != "$(dpkg --print-architecture 2>/dev/null)" ]; then
		debdir=$LKVM_CACHE/debs-$darch
		spec=$pkg:$darch
	fi
	mkdir -p "$debdir"
	# apt-get names the file pkg_ver_arch.deb with ':' in the version escaped.
	deb=$(lkvm_find_deb "$debdir" "$pkg" "$ver")
	if [ -z "$deb" ]; then
		lkvm_info "downloading $spec=$ver${LKVM_APT_SUITE:+ ($LKVM_APT_SUITE)} into $debdir"
		log=$(mktemp)
		if ! (cd "$debdir" && lkvm_apt apt-get download "$spec=$ver") >"$log" 2>&1; then
			cat "$log" >&2
			rm -f "$log"
			lkvm_err "apt-get download $spec=$ver failed"
			return 1
		fi
		rm -f "$log"
		deb=$(lkvm_find_deb "$debdir" "$pkg" "$ver")
		[ -n "$deb" ] || { lkvm_err "downloaded $spec but cannot find its .deb"; return 1; }
	fi
	echo "$deb"
}

# Download (if needed) and unpack packages into one directory, DEST, marked
# complete only when all of them are in.
# $1 destination  $2 Debian arch ("" for the host's)  $3... package=version
lkvm_fetch_unpack_all() {
	local dest=$1 darch=$2 pv deb
	shift 2
	[ -f "$dest/.complete" ] && return 0
	rm -rf "$dest.tmp"
	mkdir -p "$dest.tmp"
	for pv in "$@"; do
		deb=$(lkvm_download_deb "${pv%%=*}" "${pv#*=}" "$darch") || return 1
		dpkg-deb -x "$deb" "$dest.tmp" || { lkvm_err "dpkg-deb -x $deb failed"; return 1; }
	done
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	printf '%s\n' "$@" | sed 's/=/ /' >"$dest/.complete"
}

# Download (if needed) and unpack one package into DIR.
# $1 package  $2 version  $3 destination directory  [$4 Debian arch]
lkvm_fetch_unpack() {
	lkvm_fetch_unpack_all "$3" "${4:-}" "$1=$2"
}

# ---------------------------------------------------------------------------
# Other suites of this machine's Debian archive (bookworm-backports, sid)
# ---------------------------------------------------------------------------
# The system's apt sources are never changed: each suite gets a private apt
# configuration under $LKVM_CACHE/apt/<suite> (its own sources.list, package
# lists and an empty dpkg status), whose one entry reuses the address of the
# machine's own Debian entry. Packages from there are only downloaded and
# unpacked, never installed.

# The archive address of this machine's Debian entry: the first deb source
# (one-line or deb822 format) serving the release's own suite.
lkvm_archive_uri() {
	local codename
	codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
	[ -n "$codename" ] || { lkvm_err "no VERSION_CODENAME in /etc/os-release"; return 1; }
	{
		# One-line entries: deb [options] URI SUITE COMPONENTS...
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed 's/\[[^]]*\]//' |
			awk -v s="$codename" '$1 == "deb" && $3 == s { print $2 }'
		# deb822 stanzas, separated by blank lines.
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			awk -v s="$codename" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && uri != "")
					print uri
				types = suites = uri = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			/^URIs:/ { uri = $2 }
			END { flush() }'
	} | head -n 1 | grep . ||
		{ lkvm_err "no apt source for Debian $codename in /etc/apt"; return 1; }
}

# The private apt directory of SUITE, set up (and its lists refreshed when
# older than a day or missing).
# $1 suite
lkvm_suite_dir() {
	local suite=$1 dir uri entry
	dir=$LKVM_CACHE/apt/$suite
	uri=$(lkvm_archive_uri) || return 1
	entry="deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main"
	mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/empty" || return 1
	[ -f "$dir/status" ] || : >"$dir/status"
	if [ "$(cat "$dir/sources.list" 2>/dev/null)" != "$entry" ]; then
		echo "$entry" >"$dir/sources.list"
		rm -f "$dir/lists/"*Packages*
	fi
	if ! ls "$dir/lists/"*Packages* >/dev/null 2>&1 ||
		[ -n "$(find "$dir/lists" -maxdepth 1 -name '*Packages*' -mmin +1440)" ]; then
		lkvm_info "apt-get update of $suite (private configuration in $dir)"
		LKVM_APT_SUITE=$suite LKVM_APT_DIR=$dir lkvm_apt apt-get update -qq >&2 ||
			lkvm_warn "apt-get update of $suite failed (using what is cached)"
	fi
	echo "$dir"
}

# Run an apt tool (apt-get, apt-cache) on the system's sources, or, with
# LKVM_APT_SUITE (and LKVM_APT_DIR from lkvm_suite_dir) set, on that suite
# alone through its private configuration. Knows amd64 and arm64 packages
# without dpkg --add-architecture.
lkvm_apt() {
	local tool=$1 dir
	shift
	if [ -z "${LKVM_APT_SUITE:-}" ]; then
		"$tool" "$@"
		return
	fi
	dir=${LKVM_APT_DIR:-$LKVM_CACHE/apt/$LKVM_APT_SUITE}
	mkdir -p "$dir/empty"
	# Empty parts directories: none of the system's sources or pins apply.
	# The files are the cache owner's, so no download sandbox user.
	"$tool" -o Dir::Etc::SourceList="$dir/sources.list" \
		-o Dir::Etc::SourceParts="$dir/empty" -o Dir::Etc::PreferencesParts="$dir/empty" \
		-o Dir::Etc::Preferences="$dir/empty/none" -o APT::Sandbox::User="$(id -un)" \
		-o Dir::State::Lists="$dir/lists" -o Dir::State::status="$dir/status" \
		-o Dir::Cache="$dir" -o Dir::Cache::archives="$dir/archives" \
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
		-o APT::Architecture="$(dpkg --print-architecture)" \
		-o APT::Architectures::=amd64 -o APT::Architectures::=arm64 \
		-o Acquire::Languages=none "$@"
}

# Download and unpack PKG=VERSION... from SUITE into DEST (see
# lkvm_fetch_unpack_all), under the cache lock. Offline, what is cached.
# $1 suite  $2 destination  $3 Debian arch  $4... package=version
lkvm_suite_fetch() {
	local suite=$1 dest=$2 darch=$3 dir rc
	shift 3
	mkdir -p "$LKVM_CACHE" || return 1
	exec {lkvm_lockfd}>"$LKVM_CACHE/.lock"
	flock "$lkvm_lockfd"
	rc=0
	if [ ! -f "$dest/.complete" ]; then
		dir=$(lkvm_suite_dir "$suite") &&
			LKVM_APT_SUITE=$suite LKVM_APT_DIR=$dir lkvm_fetch_unpack_all "$dest" "$darch" "$@"
		rc=$?
	fi
	flock -u "$lkvm_lockfd"; exec {lkvm_lockfd}>&-
	return $rc
}

# Fetch and unpack one Debian kernel package, generate its modules.dep, and
# set <PREFIX>_KROOT (the unpacked tree), <PREFIX>_KVER (its release, uname
# -r) and <PREFIX>_VMLINUZ (its /boot/vmlinuz: a bzImage on x86, an Image on
# arm64). Without PKG, the newest of SERIES and FLAVOUR apt knows. Offline
# (apt cannot give it), the newest cached one of the same package, or of
# the same series and flavour.
# $1 PREFIX  $2 Debian arch  $3 package or ""  [$4 series]  [$5 flavour]
lkvm_fetch_kernel() {
	local prefix=$1 darch=$2 pkg=$3 series=${4:-6.1} flav=${5:-} ver kdir kver
	mkdir -p "$LKVM_CACHE/$darch" || return 1
	[ -n "$pkg" ] || pkg=$(lkvm_newest_kernel_pkg_known "$darch" "$series" "$flav")
	if [ -z "$pkg" ]; then
		lkvm_info "apt knows no $(lkvm_kernel_pkg_re "$darch" "$series" "$flav"); running apt-get update"
		lkvm_as_root apt-get update -qq >&2 || lkvm_warn "apt-get update failed"
		pkg=$(lkvm_newest_kernel_pkg_known "$darch" "$series" "$flav")
	fi
	ver=
	[ -n "$pkg" ] && ver=$(lkvm_pkg_candidate_version "$pkg:$darch")

	# Serialize concurrent runs sharing one cache.
	exec {lkvm_lockfd}>"$LKVM_CACHE/.lock"
	flock "$lkvm_lockfd"
	kdir=
	if [ -n "$pkg" ] && [ -n "$ver" ]; then
		kdir=$LKVM_CACHE/$darch/${pkg}_${ver//:/_}
		lkvm_fetch_unpack "$pkg" "$ver" "$kdir" "$darch" || kdir=
	fi
	if [ -z "$kdir" ]; then
		kdir=$(lkvm_newest_cached_kernel "$darch" "$pkg" "$series" "$flav")
		[ -n "$kdir" ] && lkvm_warn "using cached kernel $(basename "$kdir")"
	fi
	kver=
	if [ -n "$kdir" ]; then
		kver=$(ls "$kdir/lib/modules" | head -n 1)
		# modules.dep is generated once per unpacked kernel.
		if [ ! -s "$kdir/lib/modules/$kver/modules.dep" ] &&
			! depmod -b "$kdir" "$kver"; then
			lkvm_err "depmod -b $kdir $kver failed"
			kdir=
		fi
	fi
	flock -u "$lkvm_lockfd"; exec {lkvm_lockfd}>&-
	if [ -z "$kdir" ]; then
		lkvm_err "no ${pkg:-$(lkvm_kernel_pkg_re "$darch" "$series" "$flav")} kernel for $darch (apt and cache both failed)"
		return 1
	fi
	[ -f "$kdir/boot/vmlinuz-$kver" ] || { lkvm_err "no kernel image in $kdir/boot"; return 1; }
	printf -v "${prefix}_KROOT" '%s' "$kdir"
	printf -v "${prefix}_KVER" '%s' "$kver"
	printf -v "${prefix}_VMLINUZ" '%s' "$kdir/boot/vmlinuz-$kver"
	lkvm_info "kernel $kver ($(sed 's/ /=/' "$kdir/.complete"))"
}

# Linux from sid, pinned by version: the first kernel with KVM_CAP_ARM_EL2
# (arm64 nested virtualization, Linux 6.16+) that Debian's archive serves.
# Debian names the packages after the release (linux-binary-<abi>-<flavour>:
# the image at usr/lib/modules/<release>/vmlinuz; linux-modules-<abi>-<flavour>).
LKVM_SID_KERNEL_ABI=${LKVM_SID_KERNEL_ABI:-7.2.13+deb14}
LKVM_SID_KERNEL_VERSION=${LKVM_SID_KERNEL_VERSION:-7.2.13-1}

# Fetch the pinned sid kernel of a Debian arch (and flavour: default the
# plain one, e.g. "cloud-arm64" for another) and set <PREFIX>_KROOT,
# <PREFIX>_KVER, <PREFIX>_VMLINUZ like lkvm_fetch_kernel.
# $1 PREFIX  $2 Debian arch  [$3 flavour]
lkvm_fetch_sid_kernel() {
	local prefix=$1 darch=$2 flav=${3:-$2} name ver kdir kver
	name=$LKVM_SID_KERNEL_ABI-$flav
	ver=$LKVM_SID_KERNEL_VERSION
	kdir=$LKVM_CACHE/$darch/linux-binary-${name}_$ver
	lkvm_suite_fetch sid "$kdir" "$darch" "linux-binary-$name=$ver" "linux-modules-$name=$ver" ||
		{ lkvm_err "cannot fetch linux-binary-$name=$ver from sid"; return 1; }
	kver=$(ls "$kdir/usr/lib/modules" 2>/dev/null | head -n 1)
	[ -n "$kver" ] && [ -f "$kdir/usr/lib/modules/$kver/vmlinuz" ] ||
		{ lkvm_err "no usr/lib/modules/*/vmlinuz in $kdir"; return 1; }
	# The rest of this file looks for lib/modules and boot/vmlinuz-<release>
	# (Debian 12's layout): give the merged-/usr tree those names.
	[ -e "$kdir/lib" ] || ln -s usr/lib "$kdir/lib"
	mkdir -p "$kdir/boot"
	ln -sfn "../usr/lib/modules/$kver/vmlinuz" "$kdir/boot/vmlinuz-$kver"
	if [ ! -s "$kdir/lib/modules/$kver/modules.dep" ] && ! depmod -b "$kdir" "$kver"; then
		lkvm_err "depmod -b $kdir $kver failed"
		return 1
	fi
	printf -v "${prefix}_KROOT" '%s' "$kdir"
	printf -v "${prefix}_KVER" '%s' "$kver"
	printf -v "${prefix}_VMLINUZ" '%s' "$kdir/boot/vmlinuz-$kver"
	lkvm_info "kernel $kver (sid: linux-binary-$name=$ver)"
}

# ---------------------------------------------------------------------------
# Which QEMU boots L1
# ---------------------------------------------------------------------------
# LKVM_QEMU selects it for every L1 boot (lkvm_run_l1, lkvm_arm64_run_l1):
#   unset or "system"  the installed qemu-system-* (Debian 12: QEMU 7.2)
#   10                 QEMU 10 from bookworm-backports, pinned, unpacked in
#                      the cache (not installed), run with -L for its data
#   a directory        qemu-system-* binaries there (e.g. a QEMU build)
LKVM_QEMU10_VERSION=${LKVM_QEMU10_VERSION:-1:10.0.2+ds-2+deb13u1~bpo12+1}
# QEMU 10's x86 machines want a SeaBIOS newer than bookworm's 1.16.2.
LKVM_QEMU10_SEABIOS=${LKVM_QEMU10_SEABIOS:-1.16.3-2~bpo12+1}

# Fetch QEMU 10 (both system emulators) into the cache; prints its root.
lkvm_fetch_qemu10() {
	local ver=$LKVM_QEMU10_VERSION dest missing
	dest=$LKVM_CACHE/amd64/qemu_${ver//:/_}
	lkvm_suite_fetch bookworm-backports "$dest" "" \
		"qemu-system-x86=$ver" "qemu-system-arm=$ver" \
		"qemu-system-common=$ver" "qemu-system-data=$ver" \
		"seabios=$LKVM_QEMU10_SEABIOS" >&2 || return 1
	# The backport is built against Debian 12's libraries; say so at once if
	# this machine lacks one (they come with Debian 12's own QEMU).
	missing=$(ldd "$dest/usr/bin/qemu-system-x86_64" "$dest/usr/bin/qemu-system-aarch64" 2>&1 |
		awk '/not found/ { print $1 }' | sort -u | tr '\n' ' ')
	[ -z "$missing" ] ||
		{ lkvm_err "QEMU 10 needs libraries this machine lacks: $missing(apt-get install qemu-system-x86 qemu-system-arm)"; return 1; }
	echo "$dest"
}

# Set LKVM_QEMU_CMD (an array: binary and arguments) for qemu-system-$1,
# as LKVM_QEMU says, and print its version once on stderr.
# $1 QEMU target: x86_64 or aarch64
lkvm_qemu() {
	local target=$1 bin root
	LKVM_QEMU_CMD=()
	case "${LKVM_QEMU:-system}" in
	system)
		bin=$(command -v "qemu-system-$target") ||
			{ lkvm_err "qemu-system-$target not installed (scripts/install-deps.sh)"; return 127; }
		LKVM_QEMU_CMD=("$bin")
		;;
	10)
		root=$(lkvm_fetch_qemu10) || return 1
		# Firmware and option ROMs from the unpacked data, not the
		# installed QEMU's (which belong to another version).
		LKVM_QEMU_CMD=("$root/usr/bin/qemu-system-$target" -L "$root/usr/share/qemu"
			-L "$root/usr/share/seabios")
		;;
	/*)
		[ -x "${LKVM_QEMU%/}/qemu-system-$target" ] ||
			{ lkvm_err "LKVM_QEMU=$LKVM_QEMU has no qemu-system-$target"; return 1; }
		LKVM_QEMU_CMD=("${LKVM_QEMU%/}/qemu-system-$target")
		;;
	*)
		lkvm_err "LKVM_QEMU=$LKVM_QEMU: want system, 10 or a directory"
		return 1
		;;
	esac
	if [ "${LKVM_QEMU_SAID:-}" != "$target ${LKVM_QEMU_CMD[0]}" ]; then
		LKVM_QEMU_SAID="$target ${LKVM_QEMU_CMD[0]}"
		lkvm_info "L1 QEMU: $("${LKVM_QEMU_CMD[@]}" -version | head -n 1) (${LKVM_QEMU_CMD[0]})"
	fi
}

# The QEMU major version of LKVM_QEMU_CMD (after lkvm_qemu).
lkvm_qemu_major() {
	"${LKVM_QEMU_CMD[0]}" -version | sed -n '1s/.*version \([0-9]*\)\..*/\1/p'
}

# Fetch busybox-static for a Debian arch; sets LKVM_BUSYBOX.
lkvm_fetch_busybox() {
	local darch=$1 spec=busybox-static bbver bbdir
	[ "$darch" = "$(dpkg --print-architecture 2>/dev/null)" ] || spec=busybox-static:$darch
	bbver=$(lkvm_pkg_candidate_version "$spec")
	exec {lkvm_lockfd}>"$LKVM_CACHE/.lock"
	flock "$lkvm_lockfd"
	bbdir=
	if [ -n "$bbver" ]; then
		bbdir=$LKVM_CACHE/$darch/busybox-static_${bbver//:/_}
		lkvm_fetch_unpack busybox-static "$bbver" "$bbdir" "$darch" || bbdir=
	fi
	if [ -z "$bbdir" ]; then
		bbdir=$(ls -d "$LKVM_CACHE/$darch"/busybox-static_*/.complete 2>/dev/null |
			sort -V | tail -n 1)
		bbdir=${bbdir%/.complete}
	fi
	flock -u "$lkvm_lockfd"; exec {lkvm_lockfd}>&-
	[ -n "$bbdir" ] && [ -f "$bbdir/bin/busybox" ] ||
		{ lkvm_err "no $darch busybox-static available"; return 1; }
	LKVM_BUSYBOX=$bbdir/bin/busybox
}

# Fetch the kernels and busybox for an architecture and set:
#   LKVM_KROOT    the guest (L2) kernel's unpacked package
#   LKVM_KVER     its release (uname -r), e.g. 6.1.0-57-amd64
#   LKVM_VMLINUZ  its image (bzImage on x86)
#   LKVM_L1_KROOT, LKVM_L1_KVER, LKVM_L1_VMLINUZ
#                 the same for the kernel QEMU boots as L1 in nested mode
#   LKVM_BUSYBOX  a static busybox for the guests
# L1 runs the newest plain 6.1 kernel, whose KVM the tier knows works
# nested under TCG (LKVM_L1_KERNEL_PKG pins another). The guest kernel is
# LKVM_KERNEL_PKG when set (any Debian naming, e.g.
# linux-image-6.12.118+deb12-cloud-amd64-unsigned), else L1's kernel.
# Reuses the cache when the same package version is already unpacked; works
# offline as long as something is cached.
lkvm_fetch_guest() {
	local arch=${1:-x86_64} darch
	darch=$(lkvm_deb_arch "$arch") || { lkvm_err "unsupported arch $arch"; return 1; }
	if [ "$darch" != "$(dpkg --print-architecture 2>/dev/null)" ]; then
		lkvm_err "fetching $darch guests on a $(dpkg --print-architecture) host: use lib-arm64.sh"
		return 1
	fi
	lkvm_fetch_kernel LKVM_L1 "$darch" "${LKVM_L1_KERNEL_PKG:-}" || return 1
	if [ -n "${LKVM_KERNEL_PKG:-}" ]; then
		lkvm_fetch_kernel LKVM "$darch" "$LKVM_KERNEL_PKG" || return 1
	else
		LKVM_KROOT=$LKVM_L1_KROOT LKVM_KVER=$LKVM_L1_KVER LKVM_VMLINUZ=$LKVM_L1_VMLINUZ
	fi
	lkvm_fetch_busybox "$darch" || return 1
	lkvm_info "guest kernel $LKVM_KVER, L1 kernel $LKVM_L1_KVER, busybox $(basename "$(dirname "$(dirname "$LKVM_BUSYBOX")")")"
}

# ---------------------------------------------------------------------------
# Kernel modules
# ---------------------------------------------------------------------------

# Print, in a valid load order, the modules.dep paths (relative to
# lib/modules/VER) of the named modules and everything they depend on.
# Names may use '-' or '_'. Modules the kernel has built in (modules.builtin:
# Debian's 6.12 builds virtio_pci and virtio_console in) print nothing.
# Fails if a name is neither.
# $1 kernel root  $2 kernel release  $3... module names
lkvm_module_order() {
	local root=$1 kver=$2 dir builtin
	shift 2
	dir=$root/lib/modules/$kver
	builtin=$dir/modules.builtin
	[ -f "$builtin" ] || builtin=/dev/null
	awk -v want="$*" -v bfile="$builtin" '
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
	FILENAME == bfile { builtin[norm($1)] = 1; next }
	{
		p = $1; sub(/:$/, "", p)
		$1 = ""; deps[p] = $0
		path[norm(p)] = p
	}
	END {
		n = split(want, w, " ")
		for (i = 1; i <= n; i++) {
			k = w[i]; gsub(/-/, "_", k)
			if (k in path) { visit(path[k]); continue }
			if (k in builtin) continue
			print "unknown module: " w[i] > "/dev/stderr"; bad = 1
		}
		exit bad
	}' "$builtin" "$dir/modules.dep"
}

# Print those of the named modules the kernel has, as a module or built in.
# $1 kernel root  $2 kernel release  $3... module names
lkvm_modules_present() {
	local root=$1 kver=$2 m
	shift 2
	for m in "$@"; do
		lkvm_module_order "$root" "$kver" "$m" >/dev/null 2>&1 && printf '%s\n' "$m"
	done
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
# busybox's own list, so no install step runs at boot; LKVM_BUSYBOX_LIST
# names another busybox to ask, when the guest's cannot run here), with
# /lib/init-common.sh for the /init scripts.
lkvm_busybox_skeleton() {
	local dir=$1 applet list=${LKVM_BUSYBOX_LIST:-$LKVM_BUSYBOX}
	[ -x "$list" ] ||
		{ lkvm_err "no busybox to list the applets (apt-get install busybox-static)"; return 1; }
	mkdir -p "$dir"/{bin,dev,proc,sys,tmp,run,root,etc,lib/modules}
	ln -sf bin "$dir/sbin"
	mkdir -p "$dir/usr"
	ln -sf ../bin "$dir/usr/bin"
	ln -sf ../bin "$dir/usr/sbin"
	cp "$LKVM_BUSYBOX" "$dir/bin/busybox"
	chmod 755 "$dir/bin/busybox"
	for applet in $("$list" --list); do
		[ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
	done
	install -m 644 "$LKVM_NESTED_LIB_DIR/init-common.sh" "$dir/lib/init-common.sh"
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

# lkvm_pack_root DIR OUT [OVERLAY]: copy OVERLAY over DIR (a file replaces
# a busybox applet link, not its target), pack DIR at OUT, remove DIR. An
# overlay that cannot be copied fails the build, not the case that needs it.
lkvm_pack_root() {
	local dir=$1 out=$2 overlay=${3:-} rc=1

	if [ -n "$overlay" ] && ! cp -a --remove-destination "$overlay/." "$dir/"; then
		lkvm_err "cannot copy $overlay over the root in $dir"
	else
		lkvm_pack_cpio "$dir" "$out"
		rc=$?
	fi
	rm -rf "$dir"
	return $rc
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
	lkvm_busybox_skeleton "$dir" || { rm -rf "$dir"; return 1; }
	# shellcheck disable=SC2086
	lkvm_stage_modules "$LKVM_KROOT" "$LKVM_KVER" "$dir/lib/modules" $mods ||
		{ rm -rf "$dir"; return 1; }
	install -m 755 "$LKVM_NESTED_LIB_DIR/l2-init.sh" "$dir/init"
	lkvm_pack_root "$dir" "$out" "$overlay"
}

# Build the L1 initramfs at OUT: busybox, kvm-amd and its dependencies (of
# L1's kernel), the L2 kernel and initrd, a static lkvm and the case list.
# $1 out  $2 static lkvm binary (may be empty: no lkvm in L1)
# $3 L2 initrd  $4 case list (shell file of run_case lines)
# [$5 directory copied over the L1 root, e.g. extra images for the cases]
lkvm_build_l1_initrd() {
	local out=$1 lkvm=$2 l2initrd=$3 cases=$4 overlay=${5:-} dir
	dir=$(mktemp -d "${out}.root.XXXXXX") || return 1
	lkvm_busybox_skeleton "$dir" || { rm -rf "$dir"; return 1; }
	LKVM_MODULE_PARAMS="kvm_amd:nested=1 ${LKVM_MODULE_PARAMS:-}" \
		lkvm_stage_modules "$LKVM_L1_KROOT" "$LKVM_L1_KVER" "$dir/lib/modules" kvm-amd ||
		{ rm -rf "$dir"; return 1; }
	install -m 755 "$LKVM_NESTED_LIB_DIR/l1-init.sh" "$dir/init"
	mkdir -p "$dir/l2"
	cp "$LKVM_VMLINUZ" "$dir/l2/bzImage"
	cp "$l2initrd" "$dir/l2/initrd.cpio"
	if [ -n "$lkvm" ]; then
		install -m 755 "$lkvm" "$dir/bin/lkvm"
	fi
	cp "$cases" "$dir/tests.sh"
	lkvm_pack_root "$dir" "$out" "$overlay"
}

# ---------------------------------------------------------------------------
# The start the run-*.sh scripts (and bench/) share
# ---------------------------------------------------------------------------

# nested_begin TAG PREFIX LISTVAR: $WORK (a new lkvm-TAG.* directory, removed
# at exit unless a case failed or LKVM_KEEP=1), FAILED=0, now (seconds since
# here); all_cases VERDICT WHY then reports each name in $LISTVAR as
# nested/PREFIX<name> and ends the run (setup problems). Setup steps below
# end it through ${NESTED_STOP:-all_cases} VERDICT WHY.
nested_begin() {
	NESTED_PREFIX=$2 NESTED_LIST=$3
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-$1.XXXXXX") || exit 2
	FAILED=0
	T0=$(date +%s)
	trap nested_cleanup EXIT
}

# shellcheck disable=SC2317 # trap handler
nested_cleanup() {
	if [ "$FAILED" = 0 ] && [ "${LKVM_KEEP:-0}" != 1 ]; then
		rm -rf "$WORK"
	else
		echo "INFO: logs kept in $WORK" >&2
	fi
}

now() { echo $(($(date +%s) - T0)); }

all_cases() {
	local verdict=$1 why=$2 c
	for c in ${NESTED_LIST:+${!NESTED_LIST}}; do
		echo "$verdict: nested/$NESTED_PREFIX$c: $why"
	done
	[ "$verdict" = FAIL ] && FAILED=1
	exit "$FAILED"
}

# nested_make LOG WHAT ARGS...: make ARGS into LOG (appended), or stop with
# WHAT failed and the end of LOG on stderr.
nested_make() {
	local log=$1 what=$2
	shift 2
	make "$@" >>"$log" 2>&1 && return
	tail -n 40 "$log" >&2
	"${NESTED_STOP:-all_cases}" FAIL "$what failed (see stderr)"
}

# L1 has no shared libraries: lkvm binary $1 must be static.
nested_need_static() {
	readelf -l "$1" 2>/dev/null | grep -q 'program interpreter' || return 0
	"${NESTED_STOP:-all_cases}" FAIL "$1 is dynamically linked; L1 has no shared libraries"
}

# nested_build_x86: make lkvm (unless LKVM_MODE=nested), decide the mode and
# set LKVM_BIN: lkvm, or in nested mode lkvm-static for L1.
nested_build_x86() {
	local jobs host_lkvm=$REPO/lkvm stop=${NESTED_STOP:-all_cases}
	jobs=$(nproc 2>/dev/null || echo 2)
	if [ "${LKVM_MODE:-}" != nested ]; then
		echo "INFO: building lkvm (make -C $REPO)" >&2
		nested_make "$WORK/make.log" make -C "$REPO" -j"$jobs"
		[ -x "$host_lkvm" ] || $stop FAIL "make did not produce $host_lkvm"
	fi
	lkvm_detect_mode "$host_lkvm"
	LKVM_BIN=$host_lkvm
	[ "$LKVM_MODE" = nested ] || return 0
	command -v qemu-system-x86_64 >/dev/null ||
		$stop SKIP "nested mode needs qemu-system-x86_64 (apt-get install qemu-system-x86)"
	echo "INFO: building static lkvm (make -C $REPO lkvm-static)" >&2
	nested_make "$WORK/make-static.log" "make lkvm-static" -C "$REPO" -j"$jobs" lkvm-static
	LKVM_BIN=$REPO/lkvm-static
	[ -x "$LKVM_BIN" ] || $stop FAIL "make lkvm-static did not produce $LKVM_BIN"
	nested_need_static "$LKVM_BIN"
}

# nested_build_arm64 [DIR...]: make the static lkvm-arm64 with $CROSS (the
# cross compiler's prefix), and the test guest in each DIR; sets LKVM_BIN.
nested_build_arm64() {
	local d
	command -v "${CROSS}gcc" >/dev/null ||
		all_cases SKIP "needs the ${CROSS}gcc cross compiler (scripts/install-deps.sh: gcc-aarch64-linux-gnu libc6-dev-arm64-cross)"
	echo "INFO: building lkvm-arm64 (make ARCH=arm64 CROSS_COMPILE=$CROSS)" >&2
	nested_make "$WORK/make.log" "make ARCH=arm64" -C "$REPO" -j"$(nproc 2>/dev/null || echo 2)" \
		ARCH=arm64 CROSS_COMPILE="$CROSS" lkvm-arm64
	for d; do
		nested_make "$WORK/make.log" "make -C $d" -C "$REPO/$d" CROSS_COMPILE="$CROSS"
	done
	LKVM_BIN=$REPO/lkvm-arm64
	nested_need_static "$LKVM_BIN"
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

# The benches' start, run in the repository: nested_begin's $WORK (kept
# with LKVM_KEEP=1) and nested_build_x86's LKVM_BIN (lkvm-static in nested
# mode: L1 has no shared libraries). A bench has no case names to report, so
# a set-up failure ends it with one line. Its cases can be long and quiet,
# and someone watches it run: no silence limit on its L1 (lkvm_console_to).
lkvm_bench_build() {
	REPO=$PWD NESTED_STOP=lkvm_bench_stop
	LKVM_L1_IDLE=${LKVM_L1_IDLE:-0}
	nested_begin "bench-$1" "" ""
	nested_build_x86
}

# shellcheck disable=SC2317 # called through NESTED_STOP
lkvm_bench_stop() { echo "bench: $2" >&2; exit 1; }

# lkvm_bench_run OVERLAY SECONDS: run a bench's WORK/cases.sh where lkvm
# runs, with WORK/l2.cpio as L2_INITRD: inside a QEMU TCG L1 (its initramfs
# gets OVERLAY; stopped after SECONDS) or on this host. The console goes to
# LOG (WORK/console.log), which the bench judges; stops the bench only when
# the L1 initramfs cannot be built.
lkvm_bench_run() {
	LOG=$WORK/console.log
	if [ "$LKVM_MODE" = nested ]; then
		lkvm_build_l1_initrd "$WORK/l1.cpio" "$LKVM_BIN" "$WORK/l2.cpio" "$WORK/cases.sh" \
			"$1" || lkvm_bench_stop FAIL "cannot build the L1 initramfs"
		lkvm_run_l1 "$WORK/l1.cpio" "$LOG" "$2"
	else
		lkvm_run_direct "$WORK/cases.sh" "$LOG" "$LKVM_BIN" "$WORK/l2.cpio"
	fi
	return 0
}

# Unpack the ELF vmlinux from a bzImage into OUT (kept when already there):
# Debian's bzImage carries it as an xz stream (magic FD 37 7A 58 5A 00),
# with the PVH entry note. Fails when there is no such stream.
# $1 bzImage  $2 out
lkvm_extract_vmlinux() {
	local bz=$1 out=$2 off
	[ -s "$out" ] && return 0
	off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "$bz" 2>/dev/null | head -n 1 | cut -d: -f1)
	if [ -n "$off" ] &&
		tail -c +$((off + 1)) "$bz" | xz -dc --single-stream >"$out.tmp" 2>/dev/null &&
		[ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		mv "$out.tmp" "$out"
		return 0
	fi
	rm -f "$out.tmp"
	return 1
}

# The guest (L2) kernel as an ELF vmlinux, for the PVH cases; sets
# LKVM_VMLINUX. Cached next to the kernel.
lkvm_guest_vmlinux() {
	LKVM_VMLINUX=$LKVM_KROOT/boot/vmlinux-$LKVM_KVER
	lkvm_extract_vmlinux "$LKVM_VMLINUZ" "$LKVM_VMLINUX" ||
		{ lkvm_err "no xz-compressed vmlinux in $LKVM_VMLINUZ"; return 1; }
}

# Kernel image QEMU boots as L1: the ELF vmlinux unpacked from the bzImage,
# booted through its PVH entry. Under TCG that skips the firmware and the
# in-guest xz decompression, about 5 s of a 10 s L1 boot. Falls back to the
# bzImage if the payload cannot be extracted. Cached next to the kernel.
lkvm_l1_kernel() {
	local out=$LKVM_L1_KROOT/boot/vmlinux-$LKVM_L1_KVER
	if lkvm_extract_vmlinux "$LKVM_L1_VMLINUZ" "$out"; then
		echo "$out"
	else
		echo "$LKVM_L1_VMLINUZ"
	fi
}

# The QEMU command line of an x86 L1 (TCG, 2 vCPUs, kvm-amd nested inside),
# in the array LKVM_L1_CMD. The console is ttyS0, on QEMU's stdio unless
# LKVM_L1_SERIAL names another character device; LKVM_L1_MEM (MiB, default
# 3072); LKVM_L1_QEMU_ARGS: more QEMU arguments (split at spaces), e.g. a disk
# for L1.
# $1 L1 initrd  $2 timeout (s)  [$3 extra kernel cmdline words]
lkvm_l1_cmd() {
	local initrd=$1 tmo=$2 extra=${3:-}
	lkvm_qemu x86_64 || return $?
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	LKVM_L1_CMD=(timeout -s KILL "$tmo" "${LKVM_QEMU_CMD[@]}"
		-accel "tcg,thread=${LKVM_L1_TCG_THREAD:-multi}" -smp 2 -cpu max -m "${LKVM_L1_MEM:-3072}"
		-kernel "$(lkvm_l1_kernel)" -initrd "$initrd"
		-append "console=ttyS0 quiet panic=-1 mitigations=off $extra"
		-display none -no-reboot -nodefaults -no-user-config
		-serial "${LKVM_L1_SERIAL:-stdio}")
	# shellcheck disable=SC2206 # split on purpose
	LKVM_L1_CMD+=(${LKVM_L1_QEMU_ARGS:-})
}

# Boot L1 under QEMU TCG with INITRD, console into LOG.
# $1 L1 initrd  $2 log  $3 timeout (s)  [$4 extra kernel cmdline words]
# Returns QEMU's status (124/137 on timeout). With LKVM_VERBOSE=1 the console is
# also streamed to stderr; with LKVM_STREAM_FD=N to that descriptor.
lkvm_run_l1() {
	local initrd=$1 log=$2 tmo=$3 extra=${4:-}
	lkvm_l1_cmd "$initrd" "$tmo" "$extra" || return
	lkvm_console_to "$log" "${LKVM_L1_CMD[@]}"
}

# lkvm_console_to LOG CMD...: run CMD, an L1 boot (stdin /dev/null), with
# its output, without CRs, in LOG and also on LKVM_STREAM_FD (stderr with
# LKVM_VERBOSE=1); returns CMD's status, 124 when it was stopped as hung.
#
# An L1 under QEMU TCG sometimes freezes for good (both vCPUs spinning,
# seen in CI a few times a week, the same case passing alone), and then
# only the whole run's timeout, tens of minutes, ends it. Every case
# prints L1-END within its own timeout, so an L1 silent for LKVM_L1_IDLE
# seconds (default LKVM_CASE_TIMEOUT + 150; 0: no limit) is hung: it is
# stopped, and one more boot (LKVM_L1_RETRY=0: none) tells such an
# emulation hiccup from an lkvm hang, which would come back. The same for
# a boot that ran into its timeout. The hung boot's console is kept in
# LOG.hung.
lkvm_console_to() {
	local log=$1 fd=${LKVM_STREAM_FD:-} idle=${LKVM_L1_IDLE:-$((LKVM_CASE_TIMEOUT + 150))}
	local tries=$((1 + ${LKVM_L1_RETRY:-1})) try rc
	shift
	[ -z "$fd" ] && [ "${LKVM_VERBOSE:-0}" = 1 ] && fd=2
	for ((try = 1; try <= tries; try++)); do
		lkvm_console_once "$log" "$fd" "$idle" "$@"
		rc=$?
		case $rc in 124|137) ;; *) return "$rc" ;; esac
		[ "$try" -lt "$tries" ] || break
		mv "$log" "$log.hung"
		lkvm_warn "L1 $([ -e "$log.idle" ] && echo "silent for ${idle}s" || echo "timed out"), stopped; its last lines, then one more boot:"
		tail -n 15 "$log.hung" >&2
	done
	return "$rc"
}

# One boot of lkvm_console_to. $1 log  $2 stream fd or ""  $3 idle limit (s)
# $4... command. Leaves LOG.idle behind when it stopped CMD for silence.
lkvm_console_once() {
	local log=$1 fd=$2 idle=$3 cpid rpid size last=-1 since=$SECONDS
	shift 3
	rm -f "$log.idle" "$log.fifo"
	: >"$log"
	mkfifo "$log.fifo" || return 125
	# sed -u, not tr: LOG grows line by line, which the watch below reads.
	if [ -n "$fd" ]; then
		sed -u 's/\r//g' <"$log.fifo" | tee "$log" >&"$fd" &
	else
		sed -u 's/\r//g' <"$log.fifo" >"$log" &
	fi
	rpid=$!
	"$@" </dev/null >"$log.fifo" 2>&1 &
	cpid=$!
	while kill -0 "$cpid" 2>/dev/null; do
		sleep 1
		size=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$size" != "$last" ]; then
			last=$size since=$SECONDS
		elif [ "$idle" -gt 0 ] && [ $((SECONDS - since)) -ge "$idle" ]; then
			: >"$log.idle"
			# CMD is timeout(1) or QEMU itself: TERM, then KILL to all.
			kill -TERM "$cpid" 2>/dev/null
			sleep 5
			pkill -KILL -P "$cpid" 2>/dev/null
			kill -KILL "$cpid" 2>/dev/null
			break
		fi
	done
	wait "$cpid"
	cpid=$?
	wait "$rpid"
	rm -f "$log.fifo"
	[ -e "$log.idle" ] && return 124
	return "$cpid"
}

# nested_console LOG CASE TITLE [N]: on stderr, the last N (80) lines of
# CASE's part of LOG, or LOG's end when the case never began.
nested_console() {
	local log=$1 c=$2 title=$3 n=${4:-80}
	{
		echo "---- console of $title ----"
		if grep -q "L1-BEGIN $c\$" "$log"; then
			lkvm_case_output "$log" "$c" | tail -n "$n"
		else
			tail -n 40 "$log"
		fi
		echo "---- end of $title ----"
	} >&2
}

# Run a command inside an L1 that sees this host's whole file system
# (tests/nested/hostroot-init.sh: the host's / read-only over virtio-9p under
# a tmpfs overlay, L1's own /dev with a real /dev/kvm), in the current
# directory, with PATH, HOME, TERM, TMPDIR and every LKVM_* variable. The
# command's stdout is this function's stdout (a virtio-serial port: L1's
# console is a UART, one exit per byte); its stderr and L1's console go to
# stderr. Returns the command's exit status, or 255 when L1 failed.
# LKVM_IN_L1_APPEND: more words for L1's kernel command line (e.g. loglevel=7).
# LKVM_IN_L1_TIMEOUT (s, default 3600) bounds the whole run. L1 has 6 GiB
# (LKVM_L1_MEM): the guest tier boots a 4 GiB guest, and lkvm refuses more
# guest memory than its host has.
lkvm_in_l1() {
	local work dir st rc v catpid qpid idle i line
	local -a env_words=()
	lkvm_fetch_guest x86_64 || return 255
	work=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-in-l1.XXXXXX") || return 255
	dir=$work/root
	lkvm_busybox_skeleton "$dir"
	LKVM_MODULE_PARAMS="kvm_amd:nested=1 ${LKVM_MODULE_PARAMS:-}" \
		lkvm_stage_modules "$LKVM_L1_KROOT" "$LKVM_L1_KVER" "$dir/lib/modules" \
		kvm-amd virtio_pci virtio_console 9pnet_virtio 9p overlay tun ||
		{ rm -rf "$work"; return 255; }
	install -m 755 "$LKVM_NESTED_LIB_DIR/hostroot-init.sh" "$dir/init"
	for v in PATH HOME TERM TMPDIR ${!LKVM_*}; do
		[ -n "${!v+set}" ] && env_words+=("$v=${!v}")
	done
	mkdir -p "$dir/in-l1"
	{
		printf 'cd %q || exit 255\n' "$PWD"
		printf 'exec env -i'
		printf ' %q' "${env_words[@]}" "$@"
		printf '\n'
	} >"$dir/in-l1/cmd.sh"
	lkvm_pack_cpio "$dir" "$work/l1.cpio" || { rm -rf "$work"; return 255; }
	rm -rf "$dir"
	# Both are FIFOs, not QEMU's stdio: a stdio chardev whose stdin is at
	# EOF counts as closed, and L1's writes to a closed port block.
	mkfifo "$work/console" "$work/out"
	cat "$work/console" >&2 &
	catpid=$!
	LKVM_L1_SERIAL=file:$work/console LKVM_L1_MEM=${LKVM_L1_MEM:-6144} \
	LKVM_L1_TCG_THREAD=${LKVM_L1_TCG_THREAD:-single} \
	LKVM_L1_QEMU_ARGS="${LKVM_L1_QEMU_ARGS:-} \
-chardev file,id=out,path=$work/out -device virtio-serial-pci,id=vser \
-device virtserialport,bus=vser.0,chardev=out,name=in-l1.out \
-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		lkvm_l1_cmd "$work/l1.cpio" "${LKVM_IN_L1_TIMEOUT:-3600}" "${LKVM_IN_L1_APPEND:-}" ||
		{ kill "$catpid"; rm -rf "$work"; return 255; }
	lkvm_info "in-l1: $("${LKVM_QEMU_CMD[0]}" --version | head -n 1), L1 kernel $LKVM_L1_KVER"
	"${LKVM_L1_CMD[@]}" </dev/null >"$work/qemu.err" 2>&1 &
	qpid=$!
	# Once QEMU is gone, open and close the FIFO: a reader still waiting
	# in open() (QEMU never opened it) then reads EOF.
	(while kill -0 "$qpid" 2>/dev/null; do sleep 1; done; : <>"$work/out") 2>/dev/null &
	# A shell loop, not awk: mawk reads a pipe in blocks, not lines. An L1
	# whose command prints nothing for LKVM_IN_L1_IDLE seconds (default 300;
	# 0: no limit) is taken for hung and stopped: seen under TCG, both of
	# L1's CPUs in a soft lockup.
	idle=${LKVM_IN_L1_IDLE:-300}
	while :; do
		if [ "$idle" -gt 0 ]; then
			IFS= read -r -t "$idle" line
		else
			IFS= read -r line
		fi
		rc=$?
		if [ "$rc" -gt 128 ]; then
			lkvm_err "in-l1: no output from L1 for ${idle}s: stopping it"
			kill "$qpid" 2>/dev/null
			break
		fi
		[ "$rc" = 0 ] || [ -n "$line" ] || break
		case "$line" in
		IN-L1-EXIT=*) echo "${line#IN-L1-EXIT=}" >"$work/status" ;;
		*) printf '%s\n' "$line" ;;
		esac
		[ "$rc" = 0 ] || break
	done <"$work/out"
	wait "$qpid"
	rc=$?
	# The console reader ends when QEMU closes that FIFO; one QEMU never
	# opened is still waiting in open().
	for i in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$catpid" 2>/dev/null || break
		sleep 0.2
	done
	kill "$catpid" 2>/dev/null
	wait "$catpid" 2>/dev/null
	st=$(cat "$work/status" 2>/dev/null)
	if [ -z "$st" ]; then
		[ -s "$work/qemu.err" ] && cat "$work/qemu.err" >&2
		lkvm_err "in-l1: L1 ended without the command's status (QEMU status $rc)"
		st=255
	fi
	rm -rf "$work"
	return "$st"
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

# Why an L2-RTC value is not this host's time (within an hour), or nothing.
lkvm_rtc_problem() {
	local v=$1 now
	now=$(date +%s)
	case "$v" in
	''|*[!0-9]*) echo "the guest has no RTC (/sys/class/rtc/rtc0: '$v')"; return ;;
	esac
	[ $((v - now)) -lt 3600 ] && [ $((now - v)) -lt 3600 ] ||
		echo "the guest's RTC reads $v, this host $now"
}

# lkvm_l2_panic OUT: when the L2 kernel panicked, say so with its panic line
# (a check's reason) and succeed; otherwise fail quietly.
lkvm_l2_panic() {
	local line

	line=$(printf '%s\n' "$1" | grep -m1 'Kernel panic') || return 1
	echo "L2 kernel panic: $line"
}

# Value of an L2-KEY=value line in a case's output.
lkvm_l2_value() {
	printf '%s\n' "$1" | sed -n "s/.*L2-$2=//p" | head -n 1 | tr -d '[:space:]'
}

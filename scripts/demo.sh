#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# First-run demo (`make demo`): install what is missing, build lkvm, fetch a
# Debian kernel and busybox, boot them with lkvm and report what the guest saw.
#
# Where this host's /dev/kvm can boot Linux (hardware virtualization) lkvm runs
# directly. Otherwise (a software /dev/kvm, or none) lkvm runs inside a QEMU
# TCG guest with nested KVM, which takes about half a minute.
#
# Environment: LKVM_CACHE (download cache, default ~/.cache/lkvm),
# LKVM_MODE=direct|nested to skip the probe, LKVM_DEMO_CPUS, LKVM_DEMO_MEM (MiB).

set -u

REPO=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/nested/lib.sh
. "$REPO/tests/nested/lib.sh"

CPUS=${LKVM_DEMO_CPUS:-2}
MEM=${LKVM_DEMO_MEM:-512}
T0=$(date +%s)

step() { printf '\n==> %s\n' "$*"; }
die() { printf '\ndemo: %s\n' "$*" >&2; exit 1; }

if [ "$(uname -m)" != x86_64 ]; then
	die "the demo supports x86_64 hosts only for now (this is $(uname -m))"
fi

# The project's installer when present (one list for every entry point),
# otherwise install this demo's needs directly.
install_deps() {
	local p missing='' pkgs="libfdt-dev libaio-dev zlib1g-dev libseccomp-dev pkg-config gcc make
		qemu-system-x86 busybox-static cpio kmod xz-utils"
	if [ -f "$REPO/scripts/install-deps.sh" ]; then
		bash "$REPO/scripts/install-deps.sh"
		return
	fi
	for p in $pkgs; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	echo "installing:$missing"
	# shellcheck disable=SC2086
	lkvm_as_root apt-get install -y --no-install-recommends $missing && return 0
	lkvm_as_root apt-get update || return 1
	# shellcheck disable=SC2086
	lkvm_as_root apt-get install -y --no-install-recommends $missing
}

step "Checking build and demo dependencies"
install_deps || die "could not install the dependencies"
echo "ok"

step "Building lkvm"
make -C "$REPO" -j"$(nproc 2>/dev/null || echo 2)" || die "make failed"
[ -x "$REPO/lkvm" ] || die "make did not produce $REPO/lkvm"

step "Choosing how to run lkvm"
lkvm_detect_mode "$REPO/lkvm" 2>&1

if [ "$LKVM_MODE" = nested ]; then
	echo "Building a static lkvm to run inside the QEMU guest"
	make -C "$REPO" -j"$(nproc 2>/dev/null || echo 2)" lkvm-static || die "make lkvm-static failed"
	[ -x "$REPO/lkvm-static" ] || die "make lkvm-static did not produce $REPO/lkvm-static"
fi

step "Fetching a Debian kernel and busybox (cache: $LKVM_CACHE)"
lkvm_fetch_guest x86_64 2>&1 || die "could not fetch the guest kernel"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-demo.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT

step "Building the guest initramfs"
lkvm_build_l2_initrd "$WORK/guest.cpio" || die "could not build the initramfs"
ls -l "$LKVM_VMLINUZ" "$WORK/guest.cpio" | awk '{ print "  " $5 " bytes  " $NF }'

CMD="\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c $CPUS -m $MEM -p \"lkvmtest.action=poweroff quiet\""
printf 'run_case demo %s\n' "'$CMD'" >"$WORK/cases.sh"
LOG=$WORK/console.log
export LKVM_STREAM_FD=1

if [ "$LKVM_MODE" = direct ]; then
	step "Booting: lkvm run -k $(basename "$LKVM_VMLINUZ") -i guest.cpio -c $CPUS -m $MEM"
	lkvm_run_direct "$WORK/cases.sh" "$LOG" "$REPO/lkvm" "$WORK/guest.cpio"
else
	step "Booting QEMU (TCG, nested KVM); inside it: lkvm run -k $(basename "$LKVM_VMLINUZ") -i guest.cpio -c $CPUS -m $MEM"
	lkvm_build_l1_initrd "$WORK/l1.cpio" "$REPO/lkvm-static" "$WORK/guest.cpio" "$WORK/cases.sh" ||
		die "could not build the QEMU guest's initramfs"
	lkvm_run_l1 "$WORK/l1.cpio" "$LOG" $((LKVM_CASE_TIMEOUT + 90))
	grep -q '^L1-KVM-OK' "$LOG" || die "the QEMU guest did not get a working /dev/kvm"
fi

out=$(lkvm_case_output "$LOG" demo)
status=$(lkvm_case_status "$LOG" demo)
secs=$(lkvm_case_secs "$LOG" demo)

step "What the guest reported"
if printf '%s\n' "$out" | grep -q L2-INIT-REACHED; then
	echo "  kernel:  $(lkvm_l2_value "$out" UNAME)"
	echo "  CPUs:    $(lkvm_l2_value "$out" CPUS)"
	mem=$(lkvm_l2_value "$out" MEM)
	if [ -n "$mem" ]; then
		echo "  memory:  $mem kB MemTotal ($((mem / 1024)) MiB; lkvm was given $MEM MiB)"
	else
		echo "  memory:  not reported"
	fi
	echo "  devices: $(printf '%s\n' "$out" | sed -n 's/.*L2-DEVICES: //p' | head -n 1)"
	reached=1
else
	if printf '%s\n' "$out" | grep -q L2-KMSG-INIT; then
		echo "  the guest's /init ran (seen in the kernel log) but its console output never arrived"
	else
		echo "  the guest never reached its /init"
	fi
	reached=0
fi

step "Result"
if [ -n "$status" ] && lkvm_case_timed_out "$LOG" demo; then
	status=timeout
fi
case "$status" in
"") echo "lkvm did not finish (the run was stopped)"; rc=1 ;;
timeout) echo "lkvm was stopped after ${LKVM_CASE_TIMEOUT}s"; rc=1 ;;
*)
	echo "lkvm exit status: $status (run took ${secs}s, demo $(($(date +%s) - T0))s in $LKVM_MODE mode)"
	rc=$status
	[ "$reached" = 1 ] || rc=1
	;;
esac
exit "$rc"

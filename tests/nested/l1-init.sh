#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L1 initramfs (busybox), booted by QEMU TCG. Loads kvm-amd with
# nested=1 (order from /lib/modules/order, computed from modules.dep on the
# host), then runs the cases in /tests.sh: each `run_case NAME CMD...` is
# framed by L1-BEGIN/L1-END lines, then L1 powers off.
# Kernel command line words: l1.shell=1 drops to a shell after the cases.

export PATH=/bin HOME=/root TERM=${TERM:-linux}

# Move the root onto a tmpfs first, then run this script again from there.
# The initramfs root (rootfs) can never be pivot_root'ed away from, and
# passt, which the user-mode network cases start, sandboxes itself with
# pivot_root: it "Failed to sandbox process" on rootfs. switch_root frees
# rootfs's copy as it moves, so the files are held in memory once.
if [ "$$" = 1 ] && [ ! -e /.l1-on-tmpfs ]; then
	mkdir -p /newroot
	mount -t tmpfs -o mode=755,size=90% tmpfs /newroot
	for f in /* /.[!.]*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		[ "$f" = /newroot ] || cp -a "$f" /newroot/
	done
	: >/newroot/.l1-on-tmpfs
	exec switch_root /newroot /init "$@"
fi

# shellcheck source=tests/nested/init-common.sh
. /lib/init-common.sh
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm

uptime_s() { cut -d' ' -f1 /proc/uptime; }

# 127.0.0.1 for the servers the cases start on L1's loopback.
ip link set lo up
# Guest RAM in a memfd (--mem-shared, implied by --virtio-fs and so by lkvm
# sandbox's virtio-fs root) is shmem, which gets huge pages only where
# shmem_enabled allows them (6.1's default: never); lkvm asks with
# MADV_HUGEPAGE, as for anonymous RAM. Without them every 4 KiB page the
# guest touches is one nested page fault, each costly under TCG. Seen: a
# sandbox over virtio-fs outlasted the 90 s that one over 9p finishes in
# about 15 (with the host loaded); that 4 KiB pages are the whole cause is
# not measured yet.
echo advise >/sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null

echo "L1-INIT-REACHED uptime=$(uptime_s)"

while read -r mod args; do
	# shellcheck disable=SC2086
	insmod "/lib/modules/$mod" $args || echo "L1-INSMOD-FAIL $mod"
done </lib/modules/order

if [ -c /dev/kvm ]; then
	echo "L1-KVM-OK $(ls -l /dev/kvm) nested=$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null)"
else
	echo "L1-KVM-MISSING"
fi

# shellcheck disable=SC2034 # used by the evaluated case commands
LKVM=/bin/lkvm L2_KERNEL=/l2/bzImage L2_INITRD=/l2/initrd.cpio
LKVM_CASE_TIMEOUT=90

# An lkvm a case started below a script outlives it when its time runs out:
# busybox's timeout signals only its own child, the script. Left running it
# would take L1's CPUs from the next cases and make them time out too (and
# its virtiofsd, passt and output with it): SIGTERM (it says where its guest
# is), SIGKILL 5 s later.
stop_leftovers() {
	_left=
	for _p in /proc/[0-9]*; do
		case "$(cat "$_p/comm" 2>/dev/null)" in
		lkvm*) _left="$_left ${_p#/proc/}" ;;
		esac
	done
	[ -n "$_left" ] || return 0
	echo "L1: the case left lkvm running (pid$_left): stopping it"
	kill -TERM $_left 2>/dev/null
	_i=0
	while [ $_i -lt 50 ] && kill -0 $_left 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -KILL $_left 2>/dev/null
	sleep 0.5
}

# run_case NAME CMD...: CMD is evaluated (so it may use $LKVM, $L2_KERNEL,
# $L2_INITRD) with stdin from /dev/null. After LKVM_CASE_TIMEOUT seconds it
# gets SIGTERM (so lkvm can report where the guest is), SIGKILL 10 s later.
run_case() {
	_name=$1
	shift
	_t0=$(uptime_s)
	echo "L1-BEGIN $_name"
	eval "timeout -s TERM -k 10 $LKVM_CASE_TIMEOUT $*" </dev/null
	_rc=$?
	stop_leftovers
	_t1=$(uptime_s)
	# The guest's last line may lack a newline.
	echo
	echo "L1-END $_name status=$_rc secs=$(awk -v a="$_t0" -v b="$_t1" 'BEGIN { printf "%.2f", b - a }')"
}

[ -f /tests.sh ] && . /tests.sh

echo "L1-DONE uptime=$(uptime_s)"
for w in $(cat /proc/cmdline); do
	if [ "$w" = l1.shell=1 ]; then
		setsid cttyhack sh
	fi
done
poweroff -f
sleep 10

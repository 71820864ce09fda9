#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the "host root" L1 (tests/in-l1): QEMU TCG boots it with the host's
# / shared read-only over virtio-9p (tag hostroot). It loads kvm-amd
# (nested=1) and the 9p and overlay modules, stacks a tmpfs over the host
# root with overlayfs (so the command may write anywhere; nothing reaches the
# host), gives that root L1's own /dev, /proc, /sys and /run, and runs
# /in-l1/cmd.sh chrooted there: the host's programs and libraries (an ASan
# lkvm, bash, make) run unchanged on L1's real /dev/kvm.
#
# The command's stdout goes to the virtio-serial port named in-l1.out (the
# host's stdout) and nothing else does; its stderr and L1's messages go to the
# console. The last line on the port is "IN-L1-EXIT=<status>".

export PATH=/bin HOME=/root

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

out=/dev/console
fail() {
	echo "in-l1: $*"
	echo "IN-L1-EXIT=255" >$out
	poweroff -f
	sleep 10
}

while read -r mod args; do
	# shellcheck disable=SC2086
	insmod "/lib/modules/$mod" $args || echo "in-l1: insmod $mod failed"
done </lib/modules/order
port=
for p in /sys/class/virtio-ports/*; do
	[ "$(cat "$p/name" 2>/dev/null)" = in-l1.out ] && port=/dev/${p##*/}
done
[ -n "$port" ] && [ -c "$port" ] || fail "no virtio-serial port in-l1.out"
out=$port
[ -c /dev/kvm ] || fail "L1 has no /dev/kvm (kvm-amd did not load)"

mkdir -p /host /rw /newroot
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=loose hostroot /host ||
	fail "cannot mount the host root over 9p"
mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	fail "cannot stack an overlay on the host root"
mount -t devtmpfs devtmpfs /newroot/dev
# What udev or systemd would add: bash's <(...) needs /dev/fd.
ln -s /proc/self/fd /newroot/dev/fd
ln -s /proc/self/fd/0 /newroot/dev/stdin
ln -s /proc/self/fd/1 /newroot/dev/stdout
ln -s /proc/self/fd/2 /newroot/dev/stderr
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t tmpfs tmpfs /newroot/run
cp /in-l1/cmd.sh /newroot/run/in-l1-cmd.sh

echo "in-l1: L1 ready after $(cut -d' ' -f1 /proc/uptime) s, $(nproc) CPUs, kvm_amd nested=$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null)"
chroot /newroot /bin/sh /run/in-l1-cmd.sh >$out 2>/dev/console </dev/null
echo "IN-L1-EXIT=$?" >$out
sync
sleep 1
poweroff -f
sleep 10

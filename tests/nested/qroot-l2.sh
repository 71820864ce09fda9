#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /sbin/init of the qcow2-root run's root filesystem (run-x86-virtio.sh):
# an ext4 image made on the host, compressed into base.qcow2, under the
# overlay root.qcow2 that lkvm gives L2 as vda. virtio-init.sh mounted it
# (root=/dev/vda rw) and switched to it, as a Debian initramfs does.
# Reads files of the base (its compressed clusters), writes new ones,
# rewrites and deletes files of the base, syncs, remounts / read-only and
# powers off; run-x86-virtio.sh then checks the images with qemu-img and
# debugfs on the host. Reports as L2-V-QR-* lines.

export PATH=/bin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
say() { echo "L2-V-QR-$*"; }

say "ROOT=$(awk '$2 == "/" { print $1, $3, substr($4, 1, 2) }' /proc/mounts | tail -n 1)"
say "MARKER=$(cat /etc/lkvm-qroot-marker)"
say "BUSYBOX-MD5=$(md5sum </bin/busybox | cut -d' ' -f1)"
mkdir -p /data &&
	yes lkvm-qroot-a | head -c 3000000 >/data/a &&
	cp /bin/busybox /data/busybox.copy &&
	echo rewritten-by-l2 >/etc/lkvm-qroot-marker &&
	rm /etc/lkvm-qroot-gone &&
	sync && say "WRITE=ok"
say "A-MD5=$(md5sum </data/a | cut -d' ' -f1)"
mount -o remount,ro / && say "REMOUNT-RO=ok"
say "DONE=qroot"
poweroff -f
sleep 30

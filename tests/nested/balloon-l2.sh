#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /lkvmtest.d/balloon.sh of the balloon case's L2 initramfs (see balloon.sh):
# with lkvmtest.balloon=1 on the command line, fill and free
# lkvmtest.fill_mb MiB (default 600) so that free page reporting hands them
# back to lkvm, then print MemTotal whenever it changes while the host
# inflates and deflates the balloon. Waits for a line on the console before
# filling and before freeing, so the host can measure lkvm in between.
# Never returns: the host ends the VM with `lkvm stop`.

grep -q 'lkvmtest.balloon=1' /proc/cmdline || exit 0

meminfo() { sed -n "s/^$1: *\([0-9]*\) kB/\1/p" /proc/meminfo; }

fill_mb=600
for w in $(cat /proc/cmdline); do
	case "$w" in
	lkvmtest.fill_mb=*) fill_mb=${w#lkvmtest.fill_mb=} ;;
	esac
done

drv=$(ls -d /sys/bus/virtio/drivers/virtio_balloon/virtio* 2>/dev/null | head -n 1)
echo "L2-BALLOON-DRIVER=${drv##*/}"
[ -n "$drv" ] && echo "L2-BALLOON-FEATURES=$(cat "$drv/features")"
echo "L2-BALLOON-REPORTING-ORDER=$(cat /sys/module/page_reporting/parameters/page_reporting_order 2>/dev/null)"
echo "L2-BALLOON-READY memtotal=$(meminfo MemTotal) memfree=$(meminfo MemFree)"

read -r _go
mkdir -p /fill
mount -t tmpfs -o size=$((fill_mb + 64))m fill /fill
dd if=/dev/zero of=/fill/blob bs=1M count="$fill_mb" 2>/dev/null
echo "L2-BALLOON-FILLED mb=$fill_mb memfree=$(meminfo MemFree)"

read -r _go
rm -f /fill/blob
umount /fill
echo "L2-BALLOON-FREED memfree=$(meminfo MemFree)"

last=
while :; do
	m=$(meminfo MemTotal)
	if [ "$m" != "$last" ]; then
		echo "L2-BALLOON-MEMTOTAL=$m kB"
		last=$m
	fi
	sleep 0.5
done

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The virtio cases inside L2 (installed as /lkvmtest.d/virtio.sh; l2-init.sh
# runs it after its L2-* report). lkvmtest.virtio= on the kernel command line
# says which run this is:
#   pci      -d rw.img -d ro.img,ro --rng, 2 vCPUs: ext4 on vda (write,
#            sync, umount, re-read), multi-queue, read-only vdb, hwrng
#   console  --console virtio: the console is hvc0, input from lkvm's stdin
#   mmio     --virtio-transport mmio --virtio-mmio-msi -d rw.img --rng: the
#            devices come from ACPI (LNRO0005); read what the pci run wrote,
#            write a file and power off without unmounting; hwrng
#   qcow2    -d q.qcow2 (over a raw backing file): dd writes (whole clusters,
#            a partial one, past the backing file's end) with fsync, a
#            discard, then the whole disk's md5 read back from the device
# Prints L2-V-KEY=value lines; run-x86-virtio.sh judges them. Never fails
# itself: a missing device shows up as a missing or wrong value.

say() { echo "L2-V-$*"; }

mode=
hvc_in=
watchdog=
for w in $(cat /proc/cmdline); do
	case "$w" in
	lkvmtest.virtio=*) mode=${w#lkvmtest.virtio=} ;;
	lkvmtest.hvc_in=*) hvc_in=${w#lkvmtest.hvc_in=} ;;
	lkvmtest.watchdog=*) watchdog=${w#lkvmtest.watchdog=} ;;
	esac
done
[ -n "$mode" ] || exit 0
say "MODE=$mode"

# Where is it stuck? Blocked tasks, virtio interrupts, requests in blk-mq.
if [ -n "$watchdog" ]; then
	(
		sleep "$watchdog"
		say "WATCHDOG after ${watchdog}s"
		grep -e CPU -e virtio /proc/interrupts
		mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
		for f in /sys/kernel/debug/block/vd*/hctx*/busy \
			/sys/kernel/debug/block/vd*/hctx*/dispatch \
			/sys/kernel/debug/block/vd*/hctx*/state \
			/sys/kernel/debug/block/vd*/requeue_list; do
			[ -s "$f" ] && echo "$f: $(tr '\n' ' ' <"$f")"
		done
		echo w >/proc/sysrq-trigger
	) &
fi
[ -s /insmod.fail ] && say "INSMOD-FAIL=$(tr '\n' ' ' </insmod.fail)"

md5() { md5sum "$1" 2>/dev/null | cut -d' ' -f1; }

# Name of the virtio device (virtioN) behind a block device or rng.
virtio_of() { basename "$(readlink -f "$1")"; }

# Sum of one interrupt's counts over all CPUs, by its /proc/interrupts name.
irq_count() {
	awk -v n="$1" '$NF == n { s = 0; for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; print s; f = 1 }
		END { if (!f) print "none" }' /proc/interrupts
}

rng_checks() {
	rng_virtio=$(for d in /sys/bus/virtio/devices/*; do
		[ "$(cat "$d/device")" = 0x0004 ] && readlink -f "$d"; done | head -n 1)
	say "RNG-CURRENT=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
	say "RNG-AVAILABLE=$(cat /sys/class/misc/hw_random/rng_available 2>/dev/null | tr ' ' ,)"
	# A device that never answers must not hang the run.
	timeout 20 head -c 4096 /dev/hwrng >/tmp/rng1 2>/dev/null
	timeout 20 head -c 4096 /dev/hwrng >/tmp/rng2 2>/dev/null
	say "RNG-BYTES=$(wc -c </tmp/rng1)"
	# Distinct byte values: ~256 for 4 KiB of random data, 1 for all zeros.
	say "RNG-DISTINCT=$(od -An -v -tx1 /tmp/rng1 | tr -s ' ' '\n' | grep -v '^$' | sort -u | wc -l)"
	if [ ! -s /tmp/rng1 ]; then
		say "RNG-REPEAT=empty"
	elif cmp -s /tmp/rng1 /tmp/rng2; then
		say "RNG-REPEAT=same"
	else
		say "RNG-REPEAT=differ"
	fi
	say "RNG-VIRTIO=$rng_virtio"
}

# The read-write disk: ext4 made by the host with seed.bin in it.
rw_checks() {
	dev=$1
	say "RW-RO=$(cat /sys/block/"$dev"/ro 2>/dev/null)"
	say "RW-SIZE=$(cat /sys/block/"$dev"/size 2>/dev/null)"
	say "RW-SERIAL=$(cat /sys/block/"$dev"/serial 2>/dev/null)"
	mkdir -p /mnt/rw
	if ! mount -t ext4 /dev/"$dev" /mnt/rw; then
		say "RW-MOUNT=fail"
		return
	fi
	say "RW-MOUNT=ok"
	say "RW-SEED-MD5=$(md5 /mnt/rw/seed.bin)"
}

pci_run() {
	rw_checks vda
	if grep -q ' /mnt/rw ' /proc/mounts; then
		token=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
		echo "lkvm blk-ext4 $token" >/mnt/rw/hello.txt
		say "RW-HELLO=lkvm blk-ext4 $token"
		# 4 MiB: requests with many segments, and more than one queue's worth.
		head -c 4194304 /dev/urandom >/mnt/rw/big.bin
		say "RW-BIG-MD5=$(md5 /mnt/rw/big.bin)"
		sync
		say "RW-SYNC=done"
		umount /mnt/rw && say "RW-UMOUNT=ok" || say "RW-UMOUNT=fail"
		# Read it back from the device, not the page cache.
		echo 3 >/proc/sys/vm/drop_caches
		if mount -t ext4 -o ro /dev/vda /mnt/rw; then
			say "RW-REREAD-HELLO=$(cat /mnt/rw/hello.txt)"
			say "RW-REREAD-BIG-MD5=$(md5 /mnt/rw/big.bin)"
			umount /mnt/rw
		fi
	fi

	# Multi-queue: one queue per vCPU, and I/O from each vCPU on its own
	# queue (blk-mq maps CPU n to queue n), seen as that queue's interrupts.
	say "RW-MQ=$(ls /sys/block/vda/mq 2>/dev/null | wc -l)"
	for cpu in 0 1; do
		taskset -c $cpu dd if=/dev/vda of=/dev/null bs=64k count=32 \
			skip=$((cpu * 256)) iflag=direct 2>/dev/null ||
			say "RW-MQ-READ-FAIL=cpu$cpu"
	done
	v=$(virtio_of /sys/block/vda/device)
	say "RW-MQ-IRQS=req.0:$(irq_count "$v-req.0"),req.1:$(irq_count "$v-req.1")"

	# The read-only disk.
	say "RO-RO=$(cat /sys/block/vdb/ro 2>/dev/null)"
	mkdir -p /mnt/ro
	if mount -t ext4 -o rw /dev/vdb /mnt/ro 2>/dev/null; then
		# busybox mount retries read-only when the device refuses writes.
		if grep -q '^/dev/vdb /mnt/ro ext4 rw' /proc/mounts; then
			say "RO-MOUNT-RW=mounted-rw"
		else
			say "RO-MOUNT-RW=fell-back-to-ro"
		fi
		umount /mnt/ro
	else
		say "RO-MOUNT-RW=refused"
	fi
	if mount -t ext4 -o ro /dev/vdb /mnt/ro; then
		say "RO-MOUNT-RO=ok"
		say "RO-SEED-MD5=$(md5 /mnt/ro/seed.bin)"
		if echo x 2>/dev/null >/mnt/ro/new.txt; then
			say "RO-FS-WRITE=succeeded"
		else
			say "RO-FS-WRITE=refused"
		fi
		umount /mnt/ro
	else
		say "RO-MOUNT-RO=fail"
	fi
	if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 seek=100 conv=notrunc,fsync 2>/dev/null; then
		say "RO-DEV-WRITE=succeeded"
	else
		say "RO-DEV-WRITE=refused"
	fi

	rng_checks
}

console_run() {
	say "CONSOLE-ACTIVE=$(cat /sys/class/tty/console/active 2>/dev/null)"
	# Written to the hvc0 node itself rather than through /dev/console.
	[ -c /dev/hvc0 ] && echo "L2-V-HVC0-DIRECT=ok" >/dev/hvc0
	# Bytes the 8250 driver sent for ttys (its console writes are not
	# counted): 0 means none of init's output went out on ttyS0.
	say "TTYS0-TX=$(sed -n 's/^0:.* tx:\([0-9]*\).*/\1/p' /proc/tty/driver/serial)"
	# lkvm's stdin is a file holding the line lkvmtest.hvc_in= names.
	if [ -n "$hvc_in" ]; then
		line=
		# shellcheck disable=SC3045 # busybox sh has read -t
		read -r -t 20 line </dev/hvc0
		say "HVC0-INPUT=[$line]"
	fi
}

mmio_run() {
	# shellcheck disable=SC2010 # sysfs names
	say "MMIO-PLATFORM=$(ls /sys/bus/platform/drivers/virtio-mmio 2>/dev/null | grep LNRO0005 | tr '\n' ' ')"
	say "MMIO-VDA=$(readlink -f /sys/block/vda/device 2>/dev/null)"
	for d in /sys/bus/virtio/devices/*; do
		[ -e "$d" ] && say "MMIO-FEATURES-${d##*/}=$(cat "$d/features")"
	done
	say "MMIO-IRQS=$(grep virtio /proc/interrupts | awk '{ print $1 $(NF-1) "/" $NF }' | tr '\n' ' ')"
	rw_checks vda
	if grep -q ' /mnt/rw ' /proc/mounts; then
		say "RW-READ-HELLO=$(cat /mnt/rw/hello.txt 2>/dev/null)"
		say "RW-READ-BIG-MD5=$(md5 /mnt/rw/big.bin)"
		token=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
		echo "lkvm mmio $token" >/mnt/rw/mmio.txt
		say "RW-MMIO=lkvm mmio $token"
		# No umount: the host replays the journal; sync must have made
		# the file durable.
		sync
	fi
	rng_checks

	# What the device offers (Linux only shows what its driver accepted):
	# unbind the rng so /dev/mem may read its registers (the kernel refuses
	# regions a driver holds), then read DeviceFeatures bits 32-63.
	rng=${rng_virtio%/virtio*}
	rng=${rng##*/}
	base=$(sed -n "s/^ *\([0-9a-f]*\)-[0-9a-f]* : $rng\$/\1/p" /proc/iomem | head -n 1)
	if [ -n "$base" ] && echo "$rng" >/sys/bus/platform/drivers/virtio-mmio/unbind; then
		base=$((0x$base))
		devmem $((base + 0x14)) 32 1	# DeviceFeaturesSel
		say "MMIO-OFFERED-HI=$(devmem $((base + 0x10)) 32)"
		say "MMIO-MSI-VECS=$(devmem $((base + 0xc0)) 32)"
	fi
}

# The qcow2 disk: what is written here the host rebuilds and compares
# with qemu-img's view of the image (run-x86-virtio.sh, blk-qcow2).
qcow2_run() {
	say "Q-SIZE=$(cat /sys/block/vda/size 2>/dev/null)"
	yes lkvm-qcow2 | head -c 8388608 >/tmp/a
	yes B | head -c 1536 >/tmp/b
	dd if=/tmp/a of=/dev/vda bs=1M seek=4 conv=notrunc,fsync 2>/dev/null && say "Q-WRITE-A=ok"
	dd if=/tmp/b of=/dev/vda bs=512 seek=1 conv=notrunc,fsync 2>/dev/null && say "Q-WRITE-B=ok"
	dd if=/tmp/a of=/dev/vda bs=1M seek=40 count=2 conv=notrunc,fsync 2>/dev/null &&
		say "Q-WRITE-C=ok"
	blkdiscard -o 8388608 -l 1048576 /dev/vda && say "Q-DISCARD=ok"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	say "Q-MD5=$(md5sum </dev/vda | cut -d' ' -f1)"
}

case "$mode" in
pci) pci_run ;;
qcow2) qcow2_run ;;
console) console_run ;;
mmio) mmio_run ;;
*) say "BAD-MODE=$mode" ;;
esac
say "DONE=$mode"

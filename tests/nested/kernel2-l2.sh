#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /lkvmtest.d/kernel2.sh of the second kernel's L2 initramfs (kernel2.sh):
# l2-init.sh runs it after its L2-* report. Prints what the kernel2 cases
# check as L2-K2-KEY=value lines; never fails itself.

say() { echo "L2-K2-$*"; }

# virtio-init.sh (this initramfs's /init) loaded the modules already.
[ -s /insmod.fail ] && say "INSMOD-FAIL=$(tr '\n' ' ' </insmod.fail)"
say "CONSOLE=$(cat /sys/class/tty/console/active 2>/dev/null)"
say "BLK=$(cat /sys/block/vda/size 2>/dev/null)"
say "BLK-READ=$(dd if=/dev/vda bs=64k count=16 2>/dev/null | wc -c)"
say "RNG=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"
# A device that never answers must not hang the case.
say "RNG-BYTES=$(timeout 20 head -c 64 /dev/hwrng 2>/dev/null | wc -c)"
n=0
for d in /sys/bus/virtio/drivers/virtio_balloon/virtio*; do
	[ -e "$d" ] && n=$((n + 1))
done
say "BALLOON=$n"
# The transport of each virtio device (by device ID), from its sysfs path:
# .../pci0000:00/... (PCI), .../LNRO0005:NN/... (x86: virtio-mmio found
# through ACPI), .../<addr>.virtio_mmio/... (arm64: device tree).
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d" ] || continue
	case "$(readlink -f "$d")" in
	*/pci0000:*) t=pci ;;
	*/LNRO0005:*|*.virtio_mmio/*) t=mmio ;;
	*) t=other ;;
	esac
	say "DEV-$(cat "$d/device")=$t"
done

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the L2 guest initramfs (busybox). Reports what the guest sees as
# L2-* lines on the console, then acts on lkvmtest.action= from the kernel
# command line: poweroff (default), reboot, panic, or shell.

# shellcheck source=tests/nested/init-common.sh
. /lib/init-common.sh

# Also through the kernel log (printed by the console driver without
# interrupts), so a harness can tell "init never ran" from "init ran but its
# console output was lost". Level 2 gets past `quiet`.
echo "<2>L2-KMSG-INIT" >/dev/kmsg 2>/dev/null
echo "L2-INIT-REACHED"
echo "L2-UPTIME=$(cut -d' ' -f1 /proc/uptime)"

if [ -s /lib/modules/order ]; then
	while read -r mod args; do
		# shellcheck disable=SC2086
		insmod "/lib/modules/$mod" $args || echo "L2-INSMOD-FAIL $mod"
	done </lib/modules/order
fi

echo "L2-UNAME=$(uname -r)"
echo "L2-CPUS=$(grep -c '^processor' /proc/cpuinfo)"
echo "L2-MEM=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)"
echo "L2-CMDLINE=$(cat /proc/cmdline)"
# Hardware virtualization the guest was given (lkvm --nested), or nothing.
echo "L2-VIRT=$(grep -o -m1 -w -e svm -e vmx /proc/cpuinfo)"
# Seconds since 1970 by the RTC (x86: the CMOS RTC, arm64: the PL031).
echo "L2-RTC=$(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null)"

virtio_name() {
	case "$1" in
	0x0001) echo net ;; 0x0002) echo blk ;; 0x0003) echo console ;;
	0x0004) echo rng ;; 0x0005) echo balloon ;; 0x0009) echo 9p ;;
	0x0012) echo input ;; 0x0013) echo vsock ;; *) echo "$1" ;;
	esac
}

list=
for d in /sys/bus/pci/devices/*; do
	[ -e "$d" ] || continue
	v=$(cat "$d/vendor"); p=$(cat "$d/device")
	list="$list ${d##*/0000:}=${v#0x}:${p#0x}"
done
pci=${list# }
list=
for d in /sys/bus/virtio/devices/*; do
	[ -e "$d" ] || continue
	list="$list ${d##*/}=$(virtio_name "$(cat "$d/device")")"
done
virtio=${list# }
mmio=$(ls /sys/bus/platform/devices 2>/dev/null | grep -i virtio | tr '\n' ' ')
blk=$(ls /sys/block 2>/dev/null | grep -v -e '^loop' -e '^ram' | tr '\n' ' ')
net=$(ls /sys/class/net 2>/dev/null | grep -v '^lo$' | tr '\n' ' ')
serial=$(sed -n 's/^ *\([0-9a-f]*-[0-9a-f]*\) : serial$/\1/p' /proc/ioports | tr '\n' ' ')
irqs=$(grep -E 'ttyS|serial' /proc/interrupts | awk '{ sub(":", "", $1); print "irq" $1 "=" $NF }' | tr '\n' ' ')
echo "L2-DEVICES: pci=[$pci] virtio=[$virtio] virtio-mmio=[${mmio% }] block=[${blk% }] net=[${net% }] serial-ports=[${serial% }] serial-irqs=[${irqs% }]"

for t in /lkvmtest.d/*.sh; do
	[ -x "$t" ] && "$t"
done

action=poweroff
for w in $(cat /proc/cmdline); do
	case "$w" in
	lkvmtest.action=*) action=${w#lkvmtest.action=} ;;
	esac
done
echo "L2-ACTION=$action"
echo "<2>L2-KMSG-ACTION=$action" >/dev/kmsg 2>/dev/null

case "$action" in
reboot)
	reboot -f
	;;
panic)
	# lkvm's pvpanic device (hw/pvpanic.c), bound by pvpanic-mmio when the
	# initramfs loads it, ends lkvm with status 2; without it, the guest
	# would hang here (panic=0).
	echo "L2-PVPANIC-BOUND=$(ls /sys/bus/platform/drivers/pvpanic-mmio 2>/dev/null | grep -c QEMU0001)"
	echo c >/proc/sysrq-trigger
	;;
shell)
	setsid cttyhack sh
	poweroff -f
	;;
idle)
	# bench/nested-boot.sh measures the VMM's memory while the guest idles.
	while :; do sleep 3600; done
	;;
*)
	poweroff -f
	;;
esac
# poweroff/reboot -f do not return when they work; keep init alive so the
# VMM's failure to stop the guest shows up as a timeout rather than a panic.
echo "L2-ACTION-FAILED=$action"
while :; do sleep 3600; done

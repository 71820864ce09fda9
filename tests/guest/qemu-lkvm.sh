#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A stand-in for "lkvm run" on top of QEMU (TCG), to check the test guest
# and run.sh without lkvm:
#
#   tests/guest/run.sh tests/guest/qemu-lkvm.sh
#
# Only the options run.sh uses are understood: -k -i -m -c -p, and the
# virtio devices -d/--disk PATH[,ro] and --rng, which become modern-only
# virtio-pci devices (disable-legacy=on).  QEMU boots the guest through
# the BIOS (16-bit setup stub, then the 32-bit entry), writes loader 0xb0,
# lays out memory its own way and treats a triple fault as a reset, so the
# lkvm-specific expectations (boot, mem-above-4g, triplefault, bad inputs,
# the INTx routing of virtio-pci-intx) fail here by design.  QEMU_MACHINE
# selects the machine (default pc; q35 gives an ECAM window and PCIe).

set -u

usage() {
	echo "usage: $0 run -k KERNEL [-i INITRD] [-m MiB] [-c N] [-p PARAMS]" \
	     "[-d PATH[,ro]]... [--rng]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ "$1" != run ]; then
	usage
fi
shift
kernel='' initrd='' mem=128 cpus=1 params=''
devs=()
ndisk=0
while [ $# -gt 0 ]; do
	opt=$1
	case $opt in
	-k | -i | -m | -c | -p | -d | --disk)
		[ $# -ge 2 ] || usage
		arg=$2
		shift 2 ;;
	--rng)
		devs+=(-device virtio-rng-pci,disable-legacy=on)
		shift
		continue ;;
	*) usage ;;
	esac
	case $opt in
	-k) kernel=$arg ;;
	-i) initrd=$arg ;;
	-m) mem=$arg ;;
	-c) cpus=$arg ;;
	-p) params=$arg ;;
	-d | --disk)
		path=${arg%%,*} ro=''
		case $arg in
		*,ro) ro=,readonly=on ;;
		*,*) usage ;;
		esac
		devs+=(-drive "if=none,id=disk$ndisk,file=$path,format=raw$ro"
		       -device "virtio-blk-pci,drive=disk$ndisk,disable-legacy=on")
		ndisk=$((ndisk + 1)) ;;
	esac
done
if [ -z "$kernel" ]; then
	usage
fi

args=(-accel "${QEMU_ACCEL:-tcg}" -M "${QEMU_MACHINE:-pc}" -m "$mem" -smp "$cpus"
      -display none -vga none -serial stdio -monitor none -no-reboot
      -kernel "$kernel" -append "console=ttyS0 $params")
[ -z "$initrd" ] || args+=(-initrd "$initrd")
exec qemu-system-x86_64 "${args[@]}" "${devs[@]}"

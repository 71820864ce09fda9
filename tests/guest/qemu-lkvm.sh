#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A stand-in for "lkvm run" on top of QEMU (TCG), to check the test guest
# and run.sh without lkvm:
#
#   tests/guest/run.sh tests/guest/qemu-lkvm.sh
#
# Only the options run.sh uses are understood.  QEMU boots the guest through
# the BIOS (16-bit setup stub, then the 32-bit entry), writes loader 0xb0,
# lays out memory its own way and treats a triple fault as a reset, so the
# lkvm-specific expectations (boot, mem-above-4g, triplefault, bad inputs)
# fail here by design.  QEMU_MACHINE selects the machine (default pc).

set -u

usage() {
	echo "usage: $0 run -k KERNEL [-i INITRD] [-m MiB] [-c N] [-p PARAMS]" >&2
	exit 2
}

if [ $# -lt 1 ] || [ "$1" != run ]; then
	usage
fi
shift
kernel='' initrd='' mem=128 cpus=1 params=''
while getopts k:i:m:c:p: opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	m) mem=$OPTARG ;;
	c) cpus=$OPTARG ;;
	p) params=$OPTARG ;;
	*) usage ;;
	esac
done
if [ $OPTIND -le $# ] || [ -z "$kernel" ]; then
	usage
fi

args=(-accel tcg -M "${QEMU_MACHINE:-pc}" -m "$mem" -smp "$cpus"
      -display none -serial stdio -monitor none -no-reboot
      -kernel "$kernel" -append "console=ttyS0 $params")
[ -z "$initrd" ] || args+=(-initrd "$initrd")
exec qemu-system-x86_64 "${args[@]}"

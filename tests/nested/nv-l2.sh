#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs in an L2 guest started with `lkvm --nested` (as /lkvmtest.d/nv.sh,
# after l2-init.sh's report): says at which level and in which mode the
# guest's own KVM came up, then runs lkvm inside L2 for each L3 case of
# /l3/cases ("NAME lkvm-run-arguments" lines, written by run-nv.sh or
# run-x86.sh) named in nvtest.l3=A,B,... on the kernel command line (all
# of them without it). Each L3 run is reported as
#   L2-L3-BEGIN NAME
#   ...its console and lkvm's messages...
#   L2-L3-END NAME status=<lkvm's exit status> secs=<seconds>

# The guest's hypervisor: arm64 kernels say where they started and how
# KVM initialised; x86 has kvm_amd or kvm_intel loaded.
el=$(dmesg | sed -n 's/.*CPU: All CPU(s) started at \(EL[0-9]\).*/\1/p' | head -n 1)
echo "L2-NV-EL=${el:-none}"
mode=$(dmesg | sed -n 's/.*kvm \[[0-9]*\]: \(.*mode\) initialized successfully.*/\1/p' | head -n 1)
[ -n "$mode" ] || mode=$(dmesg | sed -n 's/.*kvm \[[0-9]*\]: \(Hyp .*mode\) initialized.*/\1/p' | head -n 1)
echo "L2-NV-KVM-MODE=${mode:-none}"
[ -c /dev/kvm ] && echo "L2-NV-DEVKVM=yes" || echo "L2-NV-DEVKVM=no"

want=
for w in $(cat /proc/cmdline); do
	case "$w" in
	nvtest.l3=*) want=$(echo "${w#nvtest.l3=}" | tr ',' ' ') ;;
	esac
done

up() { cut -d' ' -f1 /proc/uptime; }

[ -f /l3/cases ] || { echo "L2-NV-NO-CASES"; exit 0; }
while read -r name args; do
	[ -n "$name" ] || continue
	if [ -n "$want" ]; then
		case " $want " in *" $name "*) ;; *) continue ;; esac
	fi
	echo "L2-L3-BEGIN $name"
	t0=$(up)
	# Straight to the console, no pipe: the status must be lkvm's, and
	# whatever L3 printed must show even if L2 never gets further.
	eval "/bin/lkvm run $args" </dev/null 2>&1
	s=$?
	t1=$(up)
	echo
	echo "L2-L3-END $name status=$s secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
done </l3/cases

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the virtio cases' L2 initramfs (run-x86-virtio.sh): loads the
# modules first, then hands over to the usual l2-init.sh (/l2-init.sh).
#
# Why not let l2-init.sh load them: with `console=hvc0` (lkvm --console
# virtio) /dev/console has no device until virtio_console is loaded (Debian
# builds it as a module), and l2-init.sh starts by redirecting its output to
# /dev/console. Failures are kept in /insmod.fail for lkvmtest.d/virtio.sh,
# since nothing here has anywhere to print yet.
#
# With root=/dev/vda on the command line (the qcow2-root run) it then does
# what a Debian initramfs does: mounts that disk (rw when asked) and hands
# over to its /sbin/init with switch_root.

export PATH=/bin
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t proc proc /proc

: >/insmod.fail
if [ -s /lib/modules/order ]; then
	while read -r mod args; do
		# shellcheck disable=SC2086
		insmod "/lib/modules/$mod" $args 2>/dev/null || echo "$mod" >>/insmod.fail
	done </lib/modules/order
	# Loaded: l2-init.sh must not try again.
	mv /lib/modules/order /lib/modules/order.loaded
fi

# wait_dev PATH: up to 5 s for a device node a driver's probe makes.
wait_dev() {
	i=0
	while [ ! -e "$1" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

cmdline=" $(cat /proc/cmdline) "
# The port appears during virtio_console's probe; give devtmpfs a moment.
case "$cmdline" in
*" console=hvc0 "*) wait_dev /dev/hvc0 ;;
esac
case "$cmdline" in
*" root=/dev/vda "*)
	wait_dev /dev/vda
	opt=ro
	case "$cmdline" in *" rw "*) opt=rw ;; esac
	mkdir -p /newroot
	if mount -t ext4 -o $opt /dev/vda /newroot; then
		umount /proc
		umount /dev
		exec switch_root /newroot /sbin/init
	fi
	echo "L2-V-QR-MOUNT-FAIL=$(cat /insmod.fail)" >/dev/console
	poweroff -f
	;;
esac
umount /proc
exec /l2-init.sh

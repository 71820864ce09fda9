# SPDX-License-Identifier: GPL-2.0
#
# The start every /init of the tier's initramfs shares (l1-init.sh,
# l2-init.sh), sourced from /lib/init-common.sh, where lib.sh's
# lkvm_busybox_skeleton puts it: PATH, the console as stdio, /proc, /sys
# and fresh /tmp and /run.

export PATH=/bin HOME=/root TERM=${TERM:-linux}

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the nested "net" case (installed as /lkvmtest.d/net.sh; run by
# l2-init.sh once virtio_net is loaded). From the kernel command line:
#   lkvmtest.ip=A.B.C.D    this guest's address (/24)
#   lkvmtest.host=A.B.C.D  where lkvm runs, on the same bridge
# Pings the host, sends it 4 MiB of random data over TCP (port 5000), then
# receives 4 MiB from it (port 5001), printing NET-* lines with checksums.

ip= host=
for w in $(cat /proc/cmdline); do
	case "$w" in
	lkvmtest.ip=*) ip=${w#*=} ;;
	lkvmtest.host=*) host=${w#*=} ;;
	esac
done
[ -n "$ip" ] || exit 0

dev=eth0
[ -e /sys/class/net/$dev ] || dev=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
[ -n "$dev" ] || { echo "NET-FAIL=no network interface"; exit 0; }
echo "NET-MAC=$(cat /sys/class/net/$dev/address)"
echo "NET-VIRTIO-FEATURES=$(cat /sys/class/net/$dev/device/features 2>/dev/null)"
echo "NET-QUEUES=$(ls -d /sys/class/net/$dev/queues/rx-* | wc -l)"
ip link set lo up
ip link set "$dev" up
ip addr add "$ip/24" dev "$dev"

ok=
for i in $(seq 1 60); do
	if ping -c 1 -W 1 "$host" >/dev/null 2>&1; then
		ok=1
		break
	fi
done
[ -n "$ok" ] || { echo "NET-FAIL=$host never answered a ping"; exit 0; }
ping -c 3 -W 2 "$host" | grep -q ' 0% packet loss' && echo "NET-PING=ok"

# busybox nc half-closes at EOF on its stdin and exits at EOF from the
# network: a receiver reads the silent console, so that only the sender
# ends a transfer.
dd if=/dev/urandom of=/tmp/send bs=1024 count=4096 2>/dev/null
echo "NET-SENT-MD5=$(md5sum </tmp/send | cut -d' ' -f1)"
for i in $(seq 1 20); do
	nc -w 5 "$host" 5000 </tmp/send && break
	sleep 1
done
for i in $(seq 1 20); do
	nc -w 5 "$host" 5001 </dev/console >/tmp/recv && [ -s /tmp/recv ] && break
	sleep 1
done
echo "NET-RECV-BYTES=$(wc -c </tmp/recv)"
echo "NET-RECV-MD5=$(md5sum </tmp/recv | cut -d' ' -f1)"

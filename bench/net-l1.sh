#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench/net.sh where lkvm runs (L1, or this host in direct mode): one lkvm
# guest (bench/net-l2.sh) per mode, one after the other: -n mode=user
# (passt), -n mode=tap,vhost=off, -n mode=tap,vhost=on. This side sinks and
# sources MB MiB with nc and serves a small page with busybox httpd for the
# guest's REQS requests; prints BENCH-* lines per mode.
# Usage: net-l1.sh LKVM KERNEL INITRD MB REQS

lkvm=$1 kernel=$2 initrd=$3 mb=$4 reqs=$5
t=/tmp/lkvm-netbench.$$
br=lkvmnb$$
mkdir -p "$t/www"
head -c 1024 /dev/urandom >"$t/www/small"
dd if=/dev/urandom of="$t/send" bs=1024 count=$((mb * 1024)) 2>/dev/null
echo "BENCH-HOST-SENT-MD5=$(md5sum <"$t/send" | cut -d' ' -f1)"

for m in tun bridge vhost_net; do modprobe "$m" 2>/dev/null; done
[ -c /dev/net/tun ] || { mkdir -p /dev/net; mknod /dev/net/tun c 10 200; }
ip link add name "$br" type bridge
ip addr add 10.0.2.1/24 dev "$br"
ip link set "$br" up
# passt wants a default route (any networked host has one).
ip route | grep -q '^default' || ip route add default dev "$br"
# Started by root, passt changes to the user nobody, which L1's initramfs
# lacks (any host has it; only in the throw-away L1 is it added).
if [ -f /etc/lkvm-l1-marker ] && ! grep -q '^nobody:' /etc/passwd 2>/dev/null; then
	echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >>/etc/passwd
	echo 'nogroup:x:65534:' >>/etc/group
fi
printf '#!/bin/sh\nip link set dev "$1" master %s && ip link set "$1" up\n' "$br" >"$t/ifup"
chmod 755 "$t/ifup"
httpd -p 8080 -h "$t/www"

for mode in user tap vhost; do
	case $mode in
	user) net=mode=user guest=user ;;
	tap) net="mode=tap,script=$t/ifup,vhost=off" guest=tap ;;
	vhost) net="mode=tap,script=$t/ifup,vhost=on" guest=tap ;;
	esac
	mkfifo "$t/hold.$mode"
	sleep 300 >"$t/hold.$mode" &
	holder=$!
	nc -l -p 5000 <"$t/hold.$mode" >"$t/recv" &
	rx=$!
	nc -l -p 5001 <"$t/send" >/dev/null &
	tx=$!
	echo "BENCH-MODE=$mode"
	timeout -s TERM 280 "$lkvm" run -k "$kernel" -i "$initrd" -m 256 -c 1 --name nb$$ \
		-n "$net" -p "quiet lkvmtest.bench=$guest lkvmtest.mb=$mb lkvmtest.reqs=$reqs" 2>&1 |
		grep -E '^(BENCH|lkvm)' | sed "s/^BENCH-/BENCH-$mode-/"
	kill "$holder" "$rx" "$tx" 2>/dev/null
	wait "$holder" "$rx" "$tx" 2>/dev/null
	echo "BENCH-$mode-HOST-RECV-MD5=$(md5sum <"$t/recv" | cut -d' ' -f1)"
	rm -f "$t/hold.$mode" "$t/recv"
done
killall httpd 2>/dev/null
ip link del "$br"
rm -rf "$t"

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The nested "net" case where lkvm runs (L1, or the host in direct mode): a
# bridge with an address, an lkvm guest (2 vCPUs, so 2 queue pairs) on a tap
# that script= attaches to it. The guest (net-l2.sh) pings this side, sends
# it 4 MiB over TCP and receives 4 MiB back; this side prints what it got.
# Exits with lkvm's status.
# Usage: net-l1.sh LKVM KERNEL NET_INITRD [vhost]
#
# One guest talks to where lkvm runs rather than two guests to each other:
# with two L2 guests booting at once in L1 (QEMU TCG), one of them sometimes
# triple-faulted early in its boot, before any virtio device was in use (not
# yet investigated).

lkvm=$1
kernel=$2
initrd=$3
br=lkvmbr$$
t=/tmp/lkvm-net.$$
mkdir -p "$t"

for m in tun bridge vhost_net; do
	modprobe "$m" 2>/dev/null
done
# lkvm's default, the data queues served by lkvm; with LKVM_NET_VHOST=1
# in the kernel's vhost-net (not in every run yet: one L2 of three died of
# a double fault receiving through it; README, Networking).
vhost=
[ "${4:-}" = vhost ] && [ -c /dev/vhost-net ] && vhost=,vhost=on
echo "NET-VHOST=${vhost:+on}"
[ -c /dev/net/tun ] || { mkdir -p /dev/net; mknod /dev/net/tun c 10 200; }
ip link add name "$br" type bridge 2>/dev/null || brctl addbr "$br" ||
	{ echo "NET-FAIL=cannot create bridge $br"; exit 1; }
ip addr add 10.0.2.1/24 dev "$br"
ip link set "$br" up
cat >"$t/ifup" <<EOS
#!/bin/sh
{ ip link set dev "\$1" master $br 2>/dev/null || brctl addif $br "\$1"; } &&
	ip link set "\$1" up
EOS
chmod 755 "$t/ifup"

# Receive on 5000 (stdin held open by a FIFO: see net-l2.sh), send on 5001.
dd if=/dev/urandom of="$t/send" bs=1024 count=4096 2>/dev/null
mkfifo "$t/hold"
sleep 300 >"$t/hold" &
holder=$!
nc -l -p 5000 <"$t/hold" >"$t/recv" &
rx=$!
nc -l -p 5001 <"$t/send" >/dev/null &
tx=$!

timeout -s TERM 170 "$lkvm" run -k "$kernel" -i "$initrd" -m 256 -c 2 --name net$$ \
	-n "mode=tap,tapif=lkvmt$$,script=$t/ifup,mac=02:00:00:00:00:0b$vhost" \
	-p "quiet lkvmtest.ip=10.0.2.2 lkvmtest.host=10.0.2.1"
rc=$?
echo
kill "$holder" "$rx" "$tx" 2>/dev/null
wait 2>/dev/null
echo "NET-HOST-RECV-BYTES=$(wc -c <"$t/recv")"
echo "NET-HOST-RECV-MD5=$(md5sum <"$t/recv" | cut -d' ' -f1)"
echo "NET-HOST-SENT-MD5=$(md5sum <"$t/send" | cut -d' ' -f1)"
echo "NET-STATUS=$rc"
ip link set "$br" down
ip link del "$br" 2>/dev/null || brctl delbr "$br"
rm -rf "$t"
exit "$rc"

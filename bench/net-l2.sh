#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of bench/net.sh (installed as /lkvmtest.d/netbench.sh). From the
# kernel command line: lkvmtest.bench=user|tap (user: an address by DHCP from
# passt, the host at the gateway; tap: 10.0.2.15 on L1's bridge, the host at
# 10.0.2.1). Sends 16 MiB to the host (port 5000), receives 16 MiB (port
# 5001), both with checksums, then makes 100 HTTP requests to the host's
# port 8080 one after the other. Times come from /proc/uptime.

mode=
for w in $(cat /proc/cmdline); do
	case "$w" in lkvmtest.bench=*) mode=${w#*=} ;; esac
done
[ -n "$mode" ] || exit 0
fail() { echo "BENCH-FAIL=$*"; exit 0; }
now() { cut -d' ' -f1 /proc/uptime; }

ip link set lo up
ip link set eth0 up
if [ "$mode" = user ]; then
	cat >/tmp/dhcp.sh <<'EOS'
#!/bin/sh
[ "$1" = bound ] && ifconfig "$interface" "$ip" netmask "$subnet" up &&
	route add default gw "$router" dev "$interface"
# passt's MTU (65520), as a DHCP client that honours it would set it.
[ "$1" = bound ] && [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
exit 0
EOS
	chmod 755 /tmp/dhcp.sh
	udhcpc -i eth0 -n -q -t 10 -s /tmp/dhcp.sh >/dev/null 2>&1 || fail "no DHCP lease"
	host=10.0.2.2
else
	ip addr add 10.0.2.15/24 dev eth0
	host=10.0.2.1
	for i in $(seq 1 30); do ping -c 1 -W 1 "$host" >/dev/null 2>&1 && break; done
fi

dd if=/dev/urandom of=/tmp/send bs=1024 count=16384 2>/dev/null
echo "BENCH-SENT-MD5=$(md5sum </tmp/send | cut -d' ' -f1)"
t0=$(now)
nc "$host" 5000 </tmp/send || fail "nc to $host:5000"
t1=$(now)
rm -f /tmp/send
nc "$host" 5001 </dev/console >/tmp/recv || fail "nc from $host:5001"
t2=$(now)
echo "BENCH-RECV-MD5=$(md5sum </tmp/recv | cut -d' ' -f1)"
echo "BENCH-RECV-BYTES=$(wc -c </tmp/recv)"
rm -f /tmp/recv
i=0
t3=$(now)
while [ $i -lt 100 ]; do
	wget -q -O /dev/null "http://$host:8080/small" || fail "request $i"
	i=$((i + 1))
done
t4=$(now)
echo "BENCH-TIMES=$t0 $t1 $t2 $t3 $t4"

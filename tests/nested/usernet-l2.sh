#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of the nested "usernet" case (installed as /lkvmtest.d/usernet.sh;
# run by l2-init.sh). The guest is on -n mode=user (passt) with a forwarded
# port and --vsock: it takes an address by DHCP, fetches 4 MiB from an HTTP
# server on L1's loopback through the gateway address, serves a page on port
# 80 for L1 to fetch through its forwarded port, and talks vsock both ways:
# it sends to the host (CID 2, port 1235) and waits for the host's message
# on its own port 1234. Prints USERNET-* lines.

grep -q lkvmtest.usernet /proc/cmdline || exit 0
fail() { echo "USERNET-FAIL=$*"; exit 0; }

cat >/tmp/dhcp.sh <<'EOS'
#!/bin/sh
case "$1" in
bound|renew)
	ifconfig "$interface" "$ip" netmask "$subnet" up
	route add default gw "$router" dev "$interface"
	echo "USERNET-DHCP=$ip $router" >/tmp/dhcp.lease
	;;
esac
EOS
chmod 755 /tmp/dhcp.sh
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -n -q -t 10 -s /tmp/dhcp.sh >/dev/null 2>&1 || fail "no DHCP lease"
# (The script's output went where udhcpc's did.)
cat /tmp/dhcp.lease

gw=$(route -n | awk '$1 == "0.0.0.0" { print $2 }')
# (timeout(1), not wget -T: Debian 12's static busybox wget segfaults with -T.)
timeout 60 wget -q -O /tmp/blob "http://$gw:8080/blob" || fail "wget http://$gw:8080/blob"
echo "USERNET-BLOB-BYTES=$(wc -c </tmp/blob)"
echo "USERNET-BLOB-MD5=$(md5sum </tmp/blob | cut -d' ' -f1)"
rm -f /tmp/blob

mkdir -p /tmp/www
echo guest-page-ok >/tmp/www/guest.txt
httpd -p 80 -h /tmp/www

/lkvmtest.d/nettool vsock-listen 1234 >/tmp/vsock-in &
ok=
for _ in $(seq 1 30); do
	echo hello-from-guest | /lkvmtest.d/nettool vsock-connect 2 1235 2>/dev/null && { ok=1; break; }
	sleep 1
done
[ -n "$ok" ] || echo "USERNET-VSOCK-OUT-FAIL=could not connect to the host's port 1235"
for _ in $(seq 1 60); do
	[ -s /tmp/vsock-in ] && break
	sleep 1
done
sleep 1
echo "USERNET-VSOCK-IN=$(cat /tmp/vsock-in)"
echo "USERNET-GUEST-DONE"

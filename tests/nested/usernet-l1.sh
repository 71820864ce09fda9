#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The nested "usernet" and "sandbox-user" cases where lkvm runs (L1), as an
# unprivileged user (uid 1000, /dev/kvm and /dev/vhost-vsock opened to it):
#
#   usernet       lkvm run -n mode=user,hostfwd=tcp:18080:80 --vsock 5 with the
#                 guest of usernet-l2.sh; this side serves 4 MiB over HTTP on
#                 127.0.0.1:8080, fetches the guest's page through port 18080,
#                 and talks vsock both ways; then the one-line errors: passt
#                 missing, a forwarded port in use, /dev/vhost-vsock unusable
#   sandbox-user  lkvm sandbox --net --vsock 6 --9p: the command downloads the
#                 4 MiB through passt, writes to the share and to /tmp; the
#                 files must belong to the user on this side
#
# Prints USERNET-* lines; exits with lkvm's status.
# Usage: usernet-l1.sh CASE LKVM NETTOOL [KERNEL INITRD | sandbox options]

case=$1 lkvm=$2 nettool=$3
shift 3
uid=1000
t=/var/tmp/lkvm-usernet.$$
# It opens /dev/kvm to everyone and loads modules: only in a throwaway L1.
[ -f /etc/lkvm-l1-marker ] ||
	{ echo "USERNET-FAIL=runs only in nested mode's L1 (it changes /dev/kvm's mode)"; exit 1; }
mkdir -p "$t/www" "$t/home" "$t/share" "$t/scratch"
chown -R "$uid:$uid" "$t"
listener=''
vm=''
as_user() { HOME=$t/home "$nettool" asuser "$uid" "$uid" "$@"; }
# (Background servers are started without the function: the pid of "as_user
# CMD &" is a subshell's, and killing it leaves CMD running.)

# What a kvm-group user has on a Debian host.
chmod 666 /dev/kvm
for m in vhost_vsock vhost_net; do
	modprobe "$m" 2>/dev/null
done
[ -c /dev/vhost-vsock ] && chmod 666 /dev/vhost-vsock
# passt copies nothing here (fixed addresses) but wants an interface with a
# default route, as any networked host has, and one that is up with a
# carrier: a dummy, not a bridge without ports (passt: "External interface
# not usable").
if ! ip route | grep -q '^default'; then
	modprobe dummy 2>/dev/null
	ip link add name lkvmup type dummy 2>/dev/null
	ip addr add 192.0.2.1/24 dev lkvmup
	ip link set lkvmup up
	ip route add default via 192.0.2.254 dev lkvmup onlink 2>/dev/null ||
		ip route add default dev lkvmup
fi

dd if=/dev/urandom of="$t/www/blob" bs=1024 count=4096 2>/dev/null
chown "$uid:$uid" "$t/www/blob"
echo "USERNET-HOST-BLOB-MD5=$(md5sum <"$t/www/blob" | cut -d' ' -f1)"
HOME=$t/home "$nettool" asuser "$uid" "$uid" httpd -f -p 127.0.0.1:8080 -h "$t/www" &
httpd=$!

cleanup() {
	kill "$httpd" $listener $vm 2>/dev/null
	wait 2>/dev/null
	rm -rf "$t"
}
# Stopped by the case's timeout: no server may outlive the case into the next.
trap 'cleanup; exit 143' TERM

# expect_error NAME PATTERN CMD...: one line with PATTERN on stderr, status 1.
expect_error() {
	_n=$1 _p=$2
	shift 2
	"$@" >"$t/err.out" 2>"$t/err" </dev/null
	_rc=$?
	if [ "$_rc" != 1 ] || [ "$(wc -l <"$t/err")" != 1 ] || ! grep -q -- "$_p" "$t/err"; then
		echo "USERNET-ERROR-FAIL=$_n: status $_rc, stderr: $(head -n 3 "$t/err" | tr '\n' '|')"
	else
		echo "USERNET-ERROR-OK=$_n"
	fi
}

if [ "$case" = usernet ]; then
	kernel=$1 initrd=$2
	HOME=$t/home "$nettool" asuser "$uid" "$uid" "$nettool" vsock-listen 1235 >"$t/vsock-in" &
	listener=$!
	as_user timeout -s TERM 140 "$lkvm" run -k "$kernel" -i "$initrd" -m 256 --name un$$ \
		-n mode=user,hostfwd=tcp:18080:80 --vsock 5 \
		-p "quiet lkvmtest.usernet" >"$t/console" 2>&1 &
	vm=$!
	ok=
	for _ in $(seq 1 120); do
		# (passt accepts for the guest before its server is up: a
		# time limit, or the first try waits for ever. timeout(1), not
		# wget -T: Debian 12's static busybox wget dies of SIGSEGV with -T.)
		if timeout 5 wget -q -O "$t/fwd" http://127.0.0.1:18080/guest.txt 2>/dev/null; then
			ok=1
			break
		fi
		kill -0 "$vm" 2>/dev/null || break
		sleep 1
	done
	echo "USERNET-FWD=$(cat "$t/fwd" 2>/dev/null)"
	if [ -n "$ok" ]; then
		for _ in $(seq 1 30); do
			echo hello-from-host | as_user "$nettool" vsock-connect 5 1234 2>/dev/null && break
			sleep 1
		done
	fi
	wait "$vm"
	rc=$?
	cat "$t/console"
	echo
	echo "USERNET-VSOCK-FROM-GUEST=$(cat "$t/vsock-in")"
	echo "USERNET-STATUS=$rc"

	# The one-line errors, as the same user.
	expect_error passt-missing "Debian package: passt" \
		as_user env PATH=/nonexistent "$lkvm" run -k "$kernel" -n mode=user
	expect_error port-in-use "port 8080 is in use" \
		as_user "$lkvm" run -k "$kernel" -i "$initrd" -n mode=user,hostfwd=tcp:8080:80
	chmod 600 /dev/vhost-vsock
	expect_error vhost-vsock "/dev/vhost-vsock" \
		as_user "$lkvm" run -k "$kernel" -i "$initrd" --vsock 7
	chmod 666 /dev/vhost-vsock
else
	# sandbox-user: the command runs in the guest, from L1's / over 9p.
	cat >"$t/share/cmd.sh" <<'EOS'
#!/bin/sh
s=$1
wget -q -O /tmp/blob http://10.0.2.2:8080/blob || echo "USERNET-FAIL=wget through --net"
echo "USERNET-SANDBOX-BLOB-MD5=$(md5sum </tmp/blob | cut -d' ' -f1)"
echo "USERNET-SANDBOX-VSOCK=$(cat /sys/bus/virtio/devices/*/device | grep -c 0x0013)"
mkdir "$s/dir" && echo made-in-guest >"$s/dir/file"
echo scratch >/tmp/scratch-file
echo USERNET-SANDBOX-DONE
exit 7
EOS
	chmod 755 "$t/share/cmd.sh"
	chown "$uid:$uid" "$t/share/cmd.sh"
	as_user timeout -s TERM 140 "$lkvm" sandbox "$@" --net --vsock 6 --scratch "$t/scratch" \
		--9p "$t/share,share" -- sh "$t/share/cmd.sh" "$t/share"
	rc=$?
	echo
	echo "USERNET-SANDBOX-STATUS=$rc"
	echo "USERNET-OWNER-SHARE=$(stat -c %u:%g "$t/share/dir/file" 2>/dev/null)"
	echo "USERNET-OWNER-SHAREDIR=$(stat -c %u:%g "$t/share/dir" 2>/dev/null)"
	echo "USERNET-OWNER-SCRATCH=$(stat -c %u:%g "$t/scratch/scratch-file" 2>/dev/null)"
	echo "USERNET-CONTENT=$(cat "$t/share/dir/file" 2>/dev/null)"
	[ "$rc" = 7 ] && rc=0
fi
cleanup
exit "$rc"

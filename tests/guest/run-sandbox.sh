#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# --console-log, --9p, -n/--network and lkvm sandbox with the tiny test
# guest (out/test.bzImage): what can be checked without a Linux guest (the
# nested tier runs Linux against them): the console copy, option errors
# (one line, exit 1, no crash), a tap NIC coming and going, and the sandbox
# paths where the guest never reports a status (it is not Linux): a guest
# that powers off early, and --timeout.
#
#   tests/guest/run-sandbox.sh LKVM
#
# One PASS/FAIL/SKIP line per case on stdout; details of failures on stderr.

set -u

here=$(cd "$(dirname "$0")" && pwd)
kernel=$here/out/test.bzImage
TIMEOUT=60
CASES=(
	console-log console-log-timeout console-log-bad 9p-options 9p-bad
	net-none net-bad net-tap sandbox-no-command sandbox-no-status sandbox-timeout
)

TAG=sandbox
BAD_MAX=100		# every reason in the FAIL line
# shellcheck source=tests/guest/harness.sh
. "$here/harness.sh" "$@"
# lkvm sandbox's own scratch directories go here too (and must not stay).
export TMPDIR=$tmp

# A bad option: exit 1, one line on stderr naming the problem, nothing else.
expect_error() {
	local what=$1 pattern=$2
	shift 2
	run "$name" /dev/null "$@"
	if [ "$rc" -ne 1 ]; then
		bad "$what: exit status $rc, expected 1"
	elif [ "$(wc -l <"$err")" -ne 1 ]; then
		bad "$what: $(wc -l <"$err") lines on stderr, expected 1"
	elif ! grep -q -- "$pattern" "$err"; then
		bad "$what: stderr '$(head -n 1 "$err")' lacks '$pattern'"
	fi
}

# ---- --console-log

run console-log /dev/null run -k "$kernel" -m 128 --console-log "$tmp/console.log" \
	-p lkvmtest.action=poweroff
[ "$rc" -eq 0 ] || bad "exit status $rc, expected 0"
has hello || bad "guest printed nothing"
[ -s "$tmp/console.log" ] || bad "the console log is empty"
cmp -s "$out.raw" "$tmp/console.log" || bad "the console log differs from stdout"
finish

run console-log-timeout /dev/null run -k "$kernel" -m 128 --timeout 2 --console-log "$tmp/halt.log" \
	-p lkvmtest.action=halt
[ "$rc" -eq 124 ] || bad "exit status $rc, expected 124"
grep -q 'vCPU 0: rip' "$err" || bad "no vCPU position on stderr"
tr -d '\r' <"$tmp/halt.log" | grep -qx 'lkvmtest: halt' || bad "the log lacks the guest's last line"
finish

name=console-log-bad
expect_error "unwritable log" "console log" run -k "$kernel" --console-log "$tmp/none/x.log"
finish

# ---- --9p

mkdir -p "$tmp/share1" "$tmp/share2"
run 9p-options /dev/null run -k "$kernel" -m 128 --9p "$tmp/share1,one" \
	--virtio-9p "$tmp/share2,two,ro" -p lkvmtest.action=poweroff
[ "$rc" -eq 0 ] || bad "exit status $rc with two shares, expected 0"
has poweroff || bad "the guest did not get to its poweroff"
finish

name=9p-bad
expect_error "no tag" "HOSTDIR,TAG" run -k "$kernel" --9p "$tmp/share1"
expect_error "missing directory" "cannot open shared directory" \
	run -k "$kernel" --9p "$tmp/nonexistent,x"
expect_error "a file, not a directory" "cannot open shared directory" \
	run -k "$kernel" --9p "$kernel,x"
expect_error "/proc" "pseudo filesystem" run -k "$kernel" --9p /proc,p
expect_error "the same tag twice" "used twice" \
	run -k "$kernel" --9p "$tmp/share1,t" --9p "$tmp/share2,t"
expect_error "unknown flag" "unknown --9p flag" run -k "$kernel" --9p "$tmp/share1,t,rx"
expect_error "overlong tag" "longer than" \
	run -k "$kernel" --9p "$tmp/share1,$(printf 'a%.0s' $(seq 1 80))"
finish

# ---- -n/--network

run net-none /dev/null run -k "$kernel" -m 128 -n mode=none -p lkvmtest.action=poweroff
[ "$rc" -eq 0 ] || bad "exit status $rc, expected 0"
finish

name=net-bad
expect_error "multicast MAC" "bad MAC" run -k "$kernel" -n mode=tap,mac=01:00:00:00:00:01
expect_error "short MAC" "bad MAC" run -k "$kernel" -n mode=tap,mac=02:00:00:00:01
expect_error "0 queues" "queues" run -k "$kernel" -n mode=tap,queues=0
expect_error "unknown key" "unknown key" run -k "$kernel" -n mode=tap,speed=10
expect_error "not key=value" "key=value" run -k "$kernel" -n tap
expect_error "long interface name" "bad interface name" \
	run -k "$kernel" -n mode=tap,tapif=a-very-long-tap-name
finish

name=net-tap
if [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
	echo "SKIP: guest/net-tap: needs root and /dev/net/tun"
else
	tap=lkvmt$$
	printf '#!/bin/sh\necho "$1" > %s/ifup.ran\nip link set "$1" up\n' "$tmp" >"$tmp/ifup"
	chmod 755 "$tmp/ifup"
	run net-tap /dev/null run -k "$kernel" -m 128 -c 2 \
		-n "mode=tap,tapif=$tap,script=$tmp/ifup,mac=02:00:00:00:00:42,queues=2" \
		-p lkvmtest.action=poweroff
	[ "$rc" -eq 0 ] || bad "exit status $rc, expected 0"
	[ "$(cat "$tmp/ifup.ran" 2>/dev/null)" = "$tap" ] || bad "script= did not run with the tap's name"
	if ip link show "$tap" >/dev/null 2>&1; then
		bad "the tap outlived lkvm"
	fi
	finish
fi

# ---- lkvm sandbox

name=sandbox-no-command
expect_error "no command" "no command given" sandbox -k "$kernel"
finish

# The test guest is no Linux: it ignores the sandbox's init and powers off,
# which lkvm must report as a failure, not as the command's success.
run sandbox-no-status /dev/null sandbox -k "$kernel" -m 128 -p lkvmtest.action=poweroff -- true
[ "$rc" -eq 1 ] || bad "exit status $rc, expected 1"
grep -q 'stopped before the command finished' "$err" || bad "no message about the missing status"
has hello || bad "the guest's console did not arrive"
tr -d '\r' <"$out" | grep -q '^lkvmtest: initrd addr=' || bad "the guest got no initrd"
ls -d "$tmp"/lkvm-sandbox.* >/dev/null 2>&1 && bad "the temporary scratch directory was left behind"
finish

run sandbox-timeout /dev/null sandbox -k "$kernel" -m 128 --timeout 2 -p lkvmtest.action=halt -- true
[ "$rc" -eq 124 ] || bad "exit status $rc, expected 124"
grep -q 'vCPU 0: rip' "$err" || bad "no vCPU position on stderr"
finish

exit "$failed"

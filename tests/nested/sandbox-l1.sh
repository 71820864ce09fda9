#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs one lkvm sandbox case where lkvm runs (L1, or the host in direct mode);
# see sandbox.sh. Prints SANDBOX-* lines for the checks; exits with lkvm's status.
# Usage: sandbox-l1.sh LKVM CASE [extra lkvm options]

lkvm=$1
case=$2
shift 2

base=/var/tmp/lkvm-sandbox-test.$$
share=$base/share
scratch=$base/scratch
outside=$base/outside
rm -rf "$base"
mkdir -p "$share" "$scratch" "$outside"
echo secret >"$outside/secret"
ln -s ../outside "$share/esc"
ln -s "$outside" "$share/abs"

case "$case" in
sandbox)
	dd if=/dev/urandom of="$share/big.in" bs=1024 count=3072 2>/dev/null
	# The script runs in the guest, from L1's / (over 9p).
	cat >"$share/check.sh" <<'EOF'
s=$1
fail() { echo "SANDBOX-FAIL=$*"; exit 1; }
echo SANDBOX-HELLO
echo "SANDBOX-MARKER=$(cat /etc/lkvm-l1-marker)"
[ "$(cat here 2>/dev/null)" = cwd-file ] || fail "not started in lkvm's working directory ($(pwd))"
echo hello >"$s/a" || fail "create a file"
[ "$(cat "$s/a")" = hello ] || fail "read it back"
mkdir "$s/d" || fail mkdir
mv "$s/a" "$s/d/b" || fail rename
[ -f "$s/d/b" ] && [ ! -e "$s/a" ] || fail "rename result"
ln -s b "$s/d/sym" || fail symlink
[ "$(cat "$s/d/sym")" = hello ] || fail "read through a symlink"
[ "$(readlink "$s/d/sym")" = b ] || fail readlink
ln "$s/d/b" "$s/d/hard" || fail "hard link"
[ "$(stat -c %h "$s/d/b")" = 2 ] || fail "link count $(stat -c %h "$s/d/b")"
chmod 640 "$s/d/b" || fail chmod
[ "$(stat -c %a "$s/d/b")" = 640 ] || fail "mode after chmod: $(stat -c %a "$s/d/b")"
[ "$(ls "$s/d" | tr '\n' ' ')" = "b hard sym " ] || fail "listing: $(ls "$s/d" | tr '\n' ' ')"
: >"$s/d/b"
[ "$(stat -c %s "$s/d/hard")" = 0 ] || fail truncate
rm "$s/d/hard" "$s/d/sym" "$s/d/b" && rmdir "$s/d" || fail "remove"
[ ! -e "$s/d" ] || fail "directory still there"
cp "$s/big.in" "$s/big.out" || fail "copy 3 MB"
[ "$(md5sum <"$s/big.in")" = "$(md5sum <"$s/big.out")" ] || fail "3 MB checksum in the guest"
# Through symlinks the guest reaches only its read-only view of the host.
echo pwned >"$s/esc/secret" 2>/dev/null && fail "wrote through ../ symlink"
echo pwned >"$s/abs/secret" 2>/dev/null && fail "wrote through absolute symlink"
echo pwned >/etc/lkvm-l1-marker 2>/dev/null && fail "the root share is writable"
echo in-scratch >/tmp/scratch-file || fail "write /tmp"
echo written-by-l2 >"$s/out.txt" || fail "write the result file"
sync
echo SANDBOX-CHECKS=ok
exit 3
EOF
	# Started from below /tmp, which the guest's own /tmp hides: lkvm shares it.
	mkdir -p "/tmp/lkvm-cwd.$$"
	echo cwd-file >"/tmp/lkvm-cwd.$$/here"
	(cd "/tmp/lkvm-cwd.$$" &&
		"$lkvm" sandbox "$@" -m 256 --scratch "$scratch" --9p "$share,share" -- \
			sh "$share/check.sh" "$share")
	rc=$?
	rm -rf "/tmp/lkvm-cwd.$$"
	echo
	echo "SANDBOX-RC=$rc"
	echo "SANDBOX-FILE=$(cat "$share/out.txt" 2>/dev/null)"
	if [ -f "$share/big.out" ] &&
		[ "$(md5sum <"$share/big.in")" = "$(md5sum <"$share/big.out")" ]; then
		echo "SANDBOX-BIG=ok"
	fi
	echo "SANDBOX-SCRATCH=$(cat "$scratch/scratch-file" 2>/dev/null)"
	;;
sandbox-timeout)
	"$lkvm" sandbox "$@" -m 256 --timeout 40 -- \
		sh -c 'echo SANDBOX-LOOPING; while :; do :; done'
	rc=$?
	echo
	;;
sandbox-initrd)
	# The root is the given initramfs (lkvm's own archive goes after it);
	# the console is virtio (hvc0).
	initrd=$1
	shift
	"$lkvm" sandbox "$@" -m 256 -i "$initrd" --console virtio --scratch "$scratch" -- \
		sh -c 'echo SANDBOX-HELLO; [ -x /lkvmtest.d/net.sh ] && echo SANDBOX-ROOT=initrd;
			echo "SANDBOX-TTY=$(readlink /proc/$$/fd/1)"; echo in-scratch >/tmp/f; exit 5'
	rc=$?
	echo
	echo "SANDBOX-SCRATCH=$(cat "$scratch/f" 2>/dev/null)"
	;;
sandbox-disk)
	# The root is a disk image (ext4, read-only).
	disk=$1
	shift
	"$lkvm" sandbox "$@" -m 256 -d "$disk,ro" -- \
		sh -c 'echo SANDBOX-HELLO; echo "SANDBOX-MARKER=$(cat /etc/lkvm-disk-marker)";
			echo "SANDBOX-ROOTFS=$(grep " / " /proc/mounts | cut -d" " -f1,3,4 | cut -d, -f1)"; exit 4'
	rc=$?
	echo
	;;
*)
	echo "sandbox-l1.sh: unknown case $case" >&2
	exit 2
	;;
esac
if [ "$(cat "$outside/secret")" = secret ] && [ "$(ls "$outside")" = secret ]; then
	echo "SANDBOX-OUTSIDE=untouched"
fi
rm -rf "$base"
exit "$rc"

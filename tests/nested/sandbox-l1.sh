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
echo "SANDBOX-ROOTTYPE=$(awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)"
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
		"$lkvm" sandbox "$@" -m 256 --root-fs virtiofs --scratch "$scratch" --9p "$share,share" -- \
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
vfs|vfs-rust)
	# L1 writes a tree, the guest checks it and writes one back; ro refuses.
	if [ "$case" = vfs-rust ]; then
		# The Rust virtiofsd's wrapper comes first; lkvm must tell its kind.
		LKVM_VIRTIOFSD=$1
		export LKVM_VIRTIOFSD
		shift
		"$LKVM_VIRTIOFSD" --help 2>&1 | grep -q -- --shared-dir && echo VFS-RUST-HELP=ok
	fi
	mkdir -p "$share/fromhost" "$base/ro"
	echo keep >"$base/ro/keep"
	i=0
	while [ $i -lt 100 ]; do
		mkdir -p "$share/fromhost/d$((i % 7))"
		head -c $((i * 37 + 1)) /dev/urandom >"$share/fromhost/d$((i % 7))/f$i"
		i=$((i + 1))
	done
	(cd "$share/fromhost" && find . -type f | sort | xargs md5sum) >"$share/fromhost.md5"
	cat >"$share/vfs.sh" <<'EOF'
s=$1 ro=$2
fail() { echo "VFS-FAIL=$*"; exit 1; }
grep -q " $s virtiofs " /proc/mounts || fail "$s is not a virtiofs mount"
echo "SANDBOX-ROOTTYPE=$(awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)"
(cd "$s/fromhost" && md5sum -c -s "$s/fromhost.md5") && echo VFS-FROMHOST=ok
mkdir -p "$s/fromguest" || fail mkdir
i=0
while [ $i -lt 100 ]; do
	mkdir -p "$s/fromguest/d$((i % 5))" || fail "mkdir d$((i % 5))"
	head -c $((i * 53 + 3)) /dev/urandom >"$s/fromguest/d$((i % 5))/g$i" || fail "write g$i"
	i=$((i + 1))
done
(cd "$s/fromguest" && find . -type f | sort | xargs md5sum) >"$s/fromguest.md5" || fail md5sum
if echo no >"$ro/new" 2>/dev/null; then echo VFS-RO=written; else echo VFS-RO=refused; fi
sync
EOF
	"$lkvm" sandbox "$@" -m 256 --root-fs 9p --virtio-fs "$share,vfs" \
		--virtio-fs "$base/ro,vro,ro" -- sh "$share/vfs.sh" "$share" "$base/ro" 2>&1
	rc=$?
	echo
	if [ -f "$share/fromguest.md5" ] &&
		(cd "$share/fromguest" && md5sum -c -s "$share/fromguest.md5") &&
		[ "$(wc -l <"$share/fromguest.md5")" = 100 ]; then
		echo VFS-FROMGUEST=ok
	else
		echo "VFS-FROMGUEST=$(wc -l <"$share/fromguest.md5" 2>/dev/null) files listed"
	fi
	[ "$(ls "$base/ro")" = keep ] && echo VFS-RO-HOST=untouched
	# --user: virtiofsd runs as the user too (root only in a user namespace
	# of its own): what the guest's root makes is the user's, and a root
	# directory stays closed to it.
	u=$base/ushare
	mkdir -p "$u/rootonly"
	chown 1000:1000 "$u"
	"$lkvm" sandbox "$@" -m 256 --root-fs 9p --user 1000:1000 --virtio-fs "$u,vu" -- sh -c '
		echo made-in-guest >"$1/f" && echo VFS-USER-WROTE=ok
		if echo x 2>/dev/null >"$1/rootonly/x"; then echo VFS-USER-ROOTDIR=written
		else echo VFS-USER-ROOTDIR=refused; fi' sh "$u" 2>&1
	urc=$?
	echo
	echo "VFS-USER-RC=$urc"
	echo "VFS-USER-OWNER=$(stat -c %u:%g "$u/f" 2>/dev/null)"
	;;
vfs-kill)
	# virtiofsd dies while the guest works on its share (over virtio-mmio).
	log=$base/kill.log
	"$lkvm" sandbox "$@" -m 256 --root-fs 9p --virtio-transport mmio \
		--virtio-fs "$share,vk" -- sh -c '
		s=$1; echo x >"$s/first" && echo VFS-READY
		i=0
		while [ $i -lt 600 ]; do
			echo x >"$s/f$i" 2>/dev/null || { echo "VFS-EIO at file $i"; exit 7; }
			i=$((i + 1)); sleep 0.1
		done
		exit 1' sh "$share" >"$log" 2>&1 &
	pid=$!
	# At most 50 s (the case has 90): a guest that never gets there is
	# stopped, and its output still shown.
	end=$(($(date +%s) + 50))
	while ! grep -q '^VFS-READY' "$log" && kill -0 $pid 2>/dev/null &&
		[ "$(date +%s)" -lt $end ]; do
		sleep 1
	done
	killed=
	for p in /proc/[0-9]*; do
		if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "virtiofsd.*source=$share"; then
			kill -9 "${p#/proc/}" 2>/dev/null && killed="$killed ${p#/proc/}"
		fi
	done
	[ -n "$killed" ] || kill $pid 2>/dev/null
	# The guest must get its errors and end: lkvm gets 40 s for that.
	end=$(($(date +%s) + 40))
	while kill -0 $pid 2>/dev/null && [ "$(date +%s)" -lt $end ]; do
		sleep 1
	done
	if kill -0 $pid 2>/dev/null; then
		echo VFS-HUNG
		kill $pid
	fi
	wait $pid
	rc=$?
	cat "$log"
	echo
	echo "VFS-KILLED=$killed"
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

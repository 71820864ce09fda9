#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `lkvm run` against bad input, with ./lkvm and ./lkvm-asan: a missing,
# empty, truncated or foreign kernel, bad initrds and disks, impossible sizes
# and counts, unknown options and commands must each give exactly one line on
# stderr, naming the problem, and exit status 1, with no sanitizer report.
# All of it is refused before /dev/kvm is opened, so this runs on any host.
set -u
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-bad-input.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# A kernel that passes every check but needs KVM to go further.
if ! make -s -C tests/guest >/dev/null 2>&1; then
	echo "FAIL: unit/cli: cannot build the test guest (tests/guest)"
	exit 1
fi
good=tests/guest/out/test.bzImage
: >"$tmp/empty"
head -c 600 "$good" >"$tmp/truncated"
head -c 4096 /bin/sh >"$tmp/elf"
head -c 65536 /dev/zero >"$tmp/zeros"
mkdir "$tmp/dir"
# ELF kernels are booted through their PVH note: the test guest's ELF has
# none; patched to e_machine 183 it is arm64's; and a minimal i386 ELF
# (header and one PT_LOAD of itself at 1 MiB) has none either.
cp tests/guest/out/test.elf "$tmp/nopvh.elf"
cp tests/guest/out/test.elf "$tmp/arm64.elf"
printf '\267\000' | dd of="$tmp/arm64.elf" bs=1 seek=18 conv=notrunc status=none
{
	printf '\177ELF\001\001\001\000\000\000\000\000\000\000\000\000'
	printf '\002\000\003\000\001\000\000\000\000\000\020\000\064\000\000\000'
	printf '\000\000\000\000\000\000\000\000\064\000\040\000\001\000\000\000\000\000\000\000'
	printf '\001\000\000\000\000\000\000\000\000\000\020\000\000\000\020\000'
	printf '\124\000\000\000\124\000\000\000\005\000\000\000\000\020\000\000'
} >"$tmp/i386.elf"

rc=0
runner=()	# what runs the binary (check_unprivileged)
# check BIN NAME PATTERN ARGS...: exit 1, one stderr line matching PATTERN.
check() {
	local bin=$1 name=$2 pat=$3 st lines
	shift 3
	if [ "$1" = env ]; then		# env VAR=... ./BIN ARGS...
		"${runner[@]}" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	else
		"${runner[@]}" "./$bin" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	fi
	st=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$st" != 1 ]; then
		echo "FAIL: unit/bad-input/$bin/$name: exit status $st, not 1: $(head -c 300 "$tmp/err")"
		rc=1
	elif [ "$lines" != 1 ]; then
		echo "FAIL: unit/bad-input/$bin/$name: $lines lines on stderr, not 1: $(head -c 300 "$tmp/err")"
		rc=1
	elif ! grep -qE "$pat" "$tmp/err"; then
		echo "FAIL: unit/bad-input/$bin/$name: stderr does not match /$pat/: $(cat "$tmp/err")"
		rc=1
	else
		echo "PASS: unit/bad-input/$bin/$name"
	fi
}

for bin in lkvm lkvm-asan; do
	if [ ! -x "$bin" ]; then
		echo "FAIL: unit/bad-input/$bin: ./$bin is not built"
		rc=1
		continue
	fi
	check $bin no-kernel 'no kernel' run
	# kvmtool's words, which kvm-unit-tests' runner looks for (kvm.c).
	check $bin missing-kernel "Unable to open kernel $tmp/missing: No such file" run -k "$tmp/missing"
	check $bin empty-kernel 'is empty' run -k "$tmp/empty"
	check $bin truncated-kernel 'truncated' run -k "$tmp/truncated"
	check $bin elf-kernel 'not a' run -k "$tmp/elf"
	check $bin zero-kernel 'not a' run -k "$tmp/zeros"
	check $bin elf-no-pvh 'without a PVH entry' run -k "$tmp/nopvh.elf"
	check $bin elf-not-x86 'another architecture' run -k "$tmp/arm64.elf"
	check $bin elf32-no-pvh 'without a PVH entry' run -k "$tmp/i386.elf"
	check $bin dir-kernel 'directory' run -k "$tmp/dir"
	check $bin mem-zero 'too small' run -k $good -m 0
	check $bin mem-huge 'exceeds' run -k $good -m 99999999G
	check $bin mem-words 'expects a size' run -k $good -m abc
	check $bin mem-overflow 'expects a size|exceeds|out of range' run -k $good -m 99999999999999999999999
	check $bin cpus-zero 'out of range' run -k $good -c 0
	check $bin cpus-huge 'out of range' run -k $good -c 9999
	check $bin missing-initrd "cannot open initrd" run -k $good -i "$tmp/missing"
	check $bin dir-initrd 'directory' run -k $good -i "$tmp/dir"
	check $bin missing-disk "cannot open disk" run -k $good -d "$tmp/missing"
	check $bin unknown-option "unknown option" run -k $good --bogus
	check $bin bad-console "console" run -k $good --console foo
	check $bin bad-transport "virtio-transport" run -k $good --virtio-transport foo
	check $bin bad-name "name" run -k $good --name 'a b'
	check $bin bad-timeout "timeout" run -k $good --timeout -1
	check $bin 9p-mapped "security=mapped: not supported" run -k $good --9p "$tmp/dir,t,security=mapped"
	check $bin 9p-bad-flag "unknown --9p flag" run -k $good --9p "$tmp/dir,t,secure"
	check $bin vfs-no-tag "needs DIR,TAG" run -k $good --virtio-fs "$tmp/dir"
	check $bin vfs-not-dir "is not a directory" run -k $good --virtio-fs "$tmp/missing,t"
	check $bin vfs-long-tag "longer than 36 bytes" run -k $good --virtio-fs "$tmp/dir,0123456789012345678901234567890123456"
	check $bin vfs-bad-flag "unknown --virtio-fs flag" run -k $good --virtio-fs "$tmp/dir,t,cache=none"
	check $bin vfs-socket-ro "ro is up to the running virtiofsd" run -k $good --virtio-fs "socket=$tmp/s,tag=t,ro"
	check $bin vfs-same-tag "used twice" run -k $good --virtio-fs "$tmp/dir,t" --virtio-fs "$tmp/dir,t"
	check $bin sandbox-root-fs "root-fs must be auto, 9p or virtiofs" sandbox -k $good --root-fs ext4 -- true
	check $bin sandbox-vfs-user "user: virtiofsd, run as the user, would show root" sandbox -k $good --user 65534 --root-fs virtiofs -- true
	check $bin unknown-command "not an lkvm command" frobnicate
	check $bin console-log-max-words "console-log-max expects a size" run -k $good --console-log-max abc
	check $bin scratch-size-words "scratch-size expects a size" sandbox -k $good --scratch-size x -- true
	check $bin user-unknown "no such user" run -k $good --user no-such-user-here
	check $bin group-unknown "no such group" run -k $good --user 0:no-such-group-here
	# --user needs root: as root, check it from an unprivileged child.
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
		check $bin user-not-root "only an lkvm started as root" run -k $good --user 0
		runner=()
	elif [ "$(id -u)" != 0 ]; then
		check $bin user-not-root "only an lkvm started as root" run -k $good --user 0
	fi
	check $bin net-unknown-mode "not supported" run -k $good -n mode=slirp
	check $bin net-no-passt "Debian package: passt" env PATH="$tmp/dir" "./$bin" run -k $good -n mode=user
	check $bin net-bad-hostfwd "hostfwd wants" run -k $good -n mode=user,hostfwd=tcp:80
	check $bin net-hostfwd-port0 "hostfwd wants" run -k $good -n mode=user,hostfwd=tcp:0:80
	check $bin net-hostfwd-on-tap "mode=user" run -k $good -n mode=tap,hostfwd=tcp:8080:80
	check $bin net-vhost-on-user "mode=tap" run -k $good -n mode=user,vhost=on
	check $bin net-bad-vhost "on or off" run -k $good -n mode=tap,vhost=maybe
	check $bin vsock-cid-2 "not a guest CID" run -k $good --vsock 2
	check $bin vsock-cid-junk "not a guest CID" run -k $good --vsock 3x
done
exit $rc

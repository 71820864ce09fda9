#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lkvm's own confinement, read from /proc while a tiny guest spins:
#
#   tests/guest/run-harden.sh LKVM
#
# harden-seccomp    every thread of a VM with every kind of device thread
#                   (vCPUs, blk, 9p, rng, balloon, virtio-console, control,
#                   console input) shows "Seccomp: 2" and "NoNewPrivs: 1";
#                   lkvm stat, pause, resume and stop work through the
#                   filtered control thread; exit status 0, no violation
# harden-noseccomp  --no-seccomp: "Seccomp: 0", still "NoNewPrivs: 1"
# harden-user       --user nobody: every thread's uids are nobody's, no
#                   capabilities, still filtered
# harden-core       guest RAM is marked "dd" (MADV_DONTDUMP) and the core
#                   limit is 0; with --coredump neither
#
# One PASS/FAIL/SKIP line per case on stdout; details of failures on stderr.

set -u

here=$(cd "$(dirname "$0")" && pwd)
kernel=$here/out/test.bzImage

CASES=(harden-seccomp harden-noseccomp harden-user harden-core)

TAG=harden
BAD_MAX=4
# shellcheck source=tests/guest/harness.sh
. "$here/harness.sh" "$@"

export HOME=$tmp/home
mkdir -p "$HOME" "$tmp/share"
truncate -s 1M "$tmp/disk.img"

# spin ARGS...: lkvm runs a spinning guest in the background ($pid); its
# stdin a FIFO held open, so the console input thread is there to be counted
spin() {
	start_fifo "$name" -m 64 "$@" -p "lkvmtest.action=spin lkvmtest.spin=100000000000"
}

# running: the guest spins, every thread exists (the control socket answers)
running() {
	wait_line "spin=100000000000" 20 && wait_sock "$name" 20
}

# stop_vm: lkvm stop, then exit status 0 within 20 s and no violation
stop_vm() {
	"$lkvm" stop --name "$name" >/dev/null 2>>"$err" || bad "lkvm stop failed"
	finish_vm 20
	[ "$rc" = 0 ] || bad "exit status $rc, expected 0"
	if grep -q 'seccomp:' "$err"; then
		bad "$(grep -m1 'seccomp:' "$err")"
	fi
	sanitizer_ok
}

# threads KEY VALUE: every thread of $pid has "KEY:<tab>VALUE"; sets $nthreads
nthreads=0
threads() {
	local st v n=0
	for st in /proc/"$pid"/task/*/status; do
		v=$(sed -n "s/^$1:[[:space:]]*//p" "$st" 2>/dev/null) || continue
		[ -n "$v" ] || continue
		n=$((n + 1))
		if [ "$v" != "$2" ]; then
			bad "thread $(sed -n 's/^Name:[[:space:]]*//p' "$st") (${st#/proc/}) has $1: $v, expected $2"
		fi
	done
	nthreads=$n
}

# --- every device thread kind under its filter
begin harden-seccomp
spin -c 2 --rng --balloon --console virtio -d "$tmp/disk.img" \
	--9p "$tmp/share,tag" --virtio-transport mmio
if running; then
	threads Seccomp 2
	threads NoNewPrivs 1
	# 2 vCPUs, 5 device workers, control, console input, main
	[ "$nthreads" -ge 10 ] || bad "only $nthreads threads, expected at least 10"
	"$lkvm" pause --name "$name" >/dev/null 2>>"$err" || bad "lkvm pause failed"
	"$lkvm" resume --name "$name" >/dev/null 2>>"$err" || bad "lkvm resume failed"
	"$lkvm" stat --name "$name" | grep -q '^rss_bytes [1-9]' ||
		bad "lkvm stat shows no rss_bytes"
fi
stop_vm
finish

begin harden-noseccomp
spin --rng --no-seccomp
if running; then
	threads Seccomp 0
	threads NoNewPrivs 1
fi
stop_vm
finish

# Becoming nobody: the leak checker of lkvm-asan can no longer trace it.
begin harden-user
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 spin --rng --user nobody
nobody=$(id -u nobody)
if running; then
	threads Uid "$nobody	$nobody	$nobody	$nobody"
	threads CapEff 0000000000000000
	threads CapPrm 0000000000000000
	threads Seccomp 2
fi
stop_vm
finish

# guest RAM: the mapping of exactly 64 MiB (lkvm-asan's shadow is far
# larger); "dd" or "no-dd" from its VmFlags
ram_dd() {
	local line range big=0
	while IFS= read -r line; do
		case $line in
		[0-9a-f]*-[0-9a-f]*" "*)
			range=${line%% *}
			big=$(( (0x${range#*-} - 0x${range%-*}) == 64 * 1048576 )) ;;
		VmFlags:*)
			if [ "$big" = 1 ]; then
				case "$line " in *" dd "*) echo dd ;; *) echo no-dd ;; esac
				return
			fi ;;
		esac
	done <"/proc/$pid/smaps"
	echo none
}
begin harden-core
spin --rng
if running; then
	[ "$(ram_dd)" = dd ] || bad "guest RAM not MADV_DONTDUMP: $(ram_dd)"
	grep -q '^Max core file size *0 *0 ' "/proc/$pid/limits" || bad "core limit is not 0"
fi
stop_vm
spin --rng --coredump
if running; then
	[ "$(ram_dd)" = no-dd ] || bad "--coredump: guest RAM flags: $(ram_dd)"
	grep -q '^Max core file size *0 *0 ' "/proc/$pid/limits" && bad "--coredump: core limit is 0"
fi
stop_vm
finish

exit $failed

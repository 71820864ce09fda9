#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# virtio-balloon and the control channel of running VMs, with the test
# guest's own balloon driver (balloon.c, over virtio-mmio):
#
#   tests/guest/run-balloon.sh LKVM
#
# balloon-report    the guest touches 32 MiB, reports it free: lkvm's RSS
#                   falls, the pages read back as zero; unaligned, sub-page,
#                   zero-length and own-image ranges; `lkvm balloon`
#                   inflate/deflate move the guest's balloon; `lkvm stat`
#                   shows the guest's statistics (refreshed on request);
#                   out-of-RAM ranges make the device ask for a reset
# balloon-nostats   the same without the statistics queue (reporting is
#                   queue 2), RSS checked
# balloon-offer     --balloon offers STATS_VQ and REPORTING, nothing it
#                   doesn't implement; --balloon-no-reporting drops REPORTING
# ctl-basic         socket 0600 in a 0700 directory, list, pause (the vCPU
#                   stops using CPU), resume, stat, list/stat --json,
#                   errors, stop -> exit 0,
#                   socket removed; the default name guest-<pid>
# ctl-malformed     garbage, oversized, unterminated, silent requests get an
#                   error reply and the VM carries on
# ctl-stale         a killed VM's socket is removed by `lkvm list` and by a
#                   new VM of the same name; a live name can't be taken
# ctl-paused-stop   stop and SIGTERM reach a paused VM
# ctl-stop-blk-flood  stop, SIGTERM and --timeout end lkvm within 2 s while
#                   the guest keeps virtio-blk's ring full of maximal requests
#
# One PASS/FAIL/SKIP line per case on stdout; details of failures on stderr.
# Sockets go to a private $HOME, not the user's ~/.lkvm.

set -u

here=$(cd "$(dirname "$0")" && pwd)
kernel=$here/out/test.bzImage
TIMEOUT=90
MiB=$((1024 * 1024))

CASES=(balloon-report balloon-nostats balloon-offer ctl-basic ctl-malformed
       ctl-stale ctl-paused-stop ctl-stop-blk-flood)

TAG=balloon
BAD_MAX=4
# shellcheck source=tests/guest/harness.sh
. "$here/harness.sh" "$@"
if ! perl -MIO::Socket::UNIX -e 1 2>/dev/null; then
	have_perl=0
else
	have_perl=1
fi

export HOME=$tmp/home
mkdir -p "$HOME"
rss_kb() {
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null
}

# CPU time (user + system, in clock ticks) of process $1
cpu_ticks() {
	awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null
}

# stat_val VM KEY: a value from `lkvm stat`
stat_val() {
	"$lkvm" stat --name "$1" 2>/dev/null | sed -n "s/^$2 //p"
}

# raw VM FILE [DELAY]: send FILE's bytes as they are (after DELAY seconds),
# print the reply
raw() {
	perl -MIO::Socket::UNIX -e '
		my ($path, $file, $delay) = @ARGV;
		$SIG{PIPE} = "IGNORE";
		my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
			or die "connect $path: $!\n";
		open(my $f, "<:raw", $file) or die "$file: $!\n";
		local $/; my $data = <$f>;
		sleep($delay) if $delay;
		print $s $data if length $data;
		shutdown($s, 1) if length $data;
		local $SIG{ALRM} = sub { die "no reply\n" }; alarm(10);
		my $reply = ""; while (sysread($s, my $buf, 65536)) { $reply .= $buf }
		print $reply;' "$HOME/.lkvm/$1.sock" "$2" "${3:-0}"
}

# ---- balloon-report ---------------------------------------------------------

balloon_run() {
	local act=$1 vm=$2 fill rep drop

	start_fifo "$vm" -m 128 --balloon --virtio-transport mmio -p "lkvmtest.action=$act"
	wait_line "balloon filled" || return 1
	wait_sock "$vm" || return 1
	fill=$(rss_kb "$pid")
	echo go >&3
	wait_line "balloon reported" || return 1
	rep=$(rss_kb "$pid")
	drop=$(((${fill:-0} - ${rep:-0}) / 1024))
	echo "INFO: guest/$name: lkvm RSS ${fill} kB after filling 32 MiB, ${rep} kB after reporting it (-$drop MiB)" >&2
	# 32 MiB were reported free; at least 24 MiB must have left lkvm.
	[ "$drop" -ge 24 ] || bad "lkvm RSS fell by only $drop MiB after 32 MiB were reported"
	[ "$(stat_val "$vm" reported_freed_bytes)" -ge $((32 * MiB)) ] 2>/dev/null ||
		bad "stat: reported_freed_bytes $(stat_val "$vm" reported_freed_bytes) < 32 MiB"
	return 0
}

begin balloon-report
vm=bt-$$
if balloon_run balloon "$vm"; then
	tr -d '\r' <"$out" | grep -qxF 'lkvmtest: balloon features=0x100000022 reporting-queue=3' ||
		bad "negotiation: $(tr -d '\r' <"$out" | grep -m1 'balloon features=')"
	s=$("$lkvm" stat --name "$vm")
	grep -qx 'balloon_reporting on' <<<"$s" || bad "stat: reporting not on"
	# The guest's statistics, with a refresh counter in minor_faults.
	grep -qx 'guest_free_memory 19087360' <<<"$s" || bad "stat: no guest_free_memory from the guest"
	m1=$(sed -n 's/^guest_minor_faults //p' <<<"$s")
	m2=$(stat_val "$vm" guest_minor_faults)
	if [ -z "$m1" ] || [ -z "$m2" ] || [ "$m2" -le "$m1" ]; then
		bad "stat did not get fresh statistics (refresh count $m1 then $m2)"
	fi
	# The host inflates by 1 MiB and deflates again.
	"$lkvm" balloon --name "$vm" inflate 1 || bad "lkvm balloon inflate failed"
	if wait_line "balloon actual=256"; then
		s=$("$lkvm" stat --name "$vm")
		grep -qx "balloon_target_bytes $MiB" <<<"$s" || bad "stat: target not 1 MiB"
		grep -qx "balloon_actual_bytes $MiB" <<<"$s" || bad "stat: actual not 1 MiB"
		grep -qx "balloon_inflated_pages 256" <<<"$s" || bad "stat: not 256 pages inflated"
		grep -qx "balloon_inflate_freed_bytes $MiB" <<<"$s" ||
			bad "stat: inflation did not free 1 MiB ($(grep inflate_freed <<<"$s"))"
	fi
	"$lkvm" balloon --name "$vm" deflate 1024K || bad "lkvm balloon deflate failed"
	wait_line "balloon actual=0"
	# Refused: deflating an empty balloon, inflating beyond guest memory.
	"$lkvm" balloon --name "$vm" deflate 1 2>"$tmp/e" && bad "deflating an empty balloon succeeded"
	grep -q 'holds only' "$tmp/e" || bad "deflate error: $(cat "$tmp/e")"
	"$lkvm" balloon --name "$vm" inflate 1G 2>"$tmp/e" && bad "inflating beyond guest memory succeeded"
	"$lkvm" balloon --name "$vm" grow 1 2>/dev/null && bad "'balloon grow' accepted"
	"$lkvm" balloon --name "$vm" inflate 0 2>/dev/null && bad "'balloon inflate 0' accepted"
	echo go >&3
fi
finish_vm 60
[ "$rc" -eq 0 ] || bad "lkvm exit status $rc"
guest_result balloon
for h in above-ram straddling-ram-end mmio-hole wrapping; do
	tr -d '\r' <"$out" | grep -qxF "lkvmtest: balloon hostile $h=needs-reset" ||
		bad "hostile $h: no needs-reset"
done
sanitizer_ok
finish

# ---- balloon-nostats ---------------------------------------------------------

begin balloon-nostats
vm=bn-$$
if balloon_run balloon-nostats "$vm"; then
	tr -d '\r' <"$out" | grep -qxF 'lkvmtest: balloon features=0x100000020 reporting-queue=2' ||
		bad "negotiation: $(tr -d '\r' <"$out" | grep -m1 'balloon features=')"
	echo go >&3
fi
finish_vm 60
[ "$rc" -eq 0 ] || bad "lkvm exit status $rc"
guest_result balloon-nostats
sanitizer_ok
finish

# ---- balloon-offer -------------------------------------------------------------

begin balloon-offer
start "" /dev/null -m 64 --balloon --virtio-transport mmio -p lkvmtest.action=balloon-probe
finish_vm 30
# VERSION_1, EVENT_IDX, INDIRECT_DESC, STATS_VQ and REPORTING: nothing else.
tr -d '\r' <"$out" | grep -qxF 'lkvmtest: balloon offered=0x130000022' ||
	bad "--balloon offers $(tr -d '\r' <"$out" | sed -n 's/^lkvmtest: balloon offered=//p'), want 0x130000022"
[ "$rc" -eq 0 ] || bad "lkvm exit status $rc"
start "" /dev/null -m 64 --balloon-no-reporting --virtio-transport mmio \
	-p lkvmtest.action=balloon-probe
finish_vm 30
tr -d '\r' <"$out" | grep -qxF 'lkvmtest: balloon offered=0x130000002' ||
	bad "--balloon-no-reporting offers $(tr -d '\r' <"$out" | sed -n 's/^lkvmtest: balloon offered=//p'), want 0x130000002"
[ "$rc" -eq 0 ] || bad "lkvm exit status $rc"
sanitizer_ok
finish

# ---- ctl-basic -------------------------------------------------------------------

begin ctl-basic
vm=cb-$$
# A guest that spins for good: its vCPU uses CPU until paused.
start "$vm" /dev/null -m 64 -p "lkvmtest.action=spin lkvmtest.spin=100000000000000"
if wait_sock "$vm"; then
	[ "$(stat -c %a "$HOME/.lkvm")" = 700 ] || bad "\$HOME/.lkvm has mode $(stat -c %a "$HOME/.lkvm")"
	[ "$(stat -c %a "$HOME/.lkvm/$vm.sock")" = 600 ] ||
		bad "socket has mode $(stat -c %a "$HOME/.lkvm/$vm.sock")"
	"$lkvm" list >"$tmp/list" 2>&1
	grep -qE "^$vm +$pid +running$" "$tmp/list" || bad "list: $(tr '\n' '|' <"$tmp/list")"
	# --json: exactly this VM; stat's object with exactly its keys (no balloon).
	"$lkvm" list --json >"$tmp/json" 2>/dev/null
	[ "$(cat "$tmp/json")" = "[{\"name\":\"$vm\",\"pid\":$pid,\"state\":\"running\"}]" ] ||
		bad "list --json: $(cat "$tmp/json")"
	"$lkvm" stat --name "$vm" --json >"$tmp/json" 2>/dev/null
	grep -qxE "\{\"name\":\"$vm\",\"pid\":$pid,\"state\":\"running\",\"rss_bytes\":[1-9][0-9]*,\"guest_ram_bytes\":$((64 * MiB)),\"balloon\":\"absent\"\}" \
		"$tmp/json" || bad "stat --json: $(cat "$tmp/json")"
	if command -v python3 >/dev/null; then
		python3 -m json.tool "$tmp/json" >/dev/null 2>&1 || bad "stat --json is not JSON"
	fi
	"$lkvm" pause --name "$vm" || bad "pause failed"
	"$lkvm" list | grep -qE "^$vm +$pid +paused$" || bad "list does not say paused"
	"$lkvm" list --json 2>/dev/null | grep -qF "{\"name\":\"$vm\",\"pid\":$pid,\"state\":\"paused\"}" ||
		bad "list --json does not say paused"
	[ "$(stat_val "$vm" state)" = paused ] || bad "stat does not say paused"
	c0=$(cpu_ticks "$pid"); sleep 1; c1=$(cpu_ticks "$pid")
	"$lkvm" pause --name "$vm" || bad "a second pause failed"
	"$lkvm" resume --name "$vm" || bad "resume failed"
	[ "$(stat_val "$vm" state)" = running ] || bad "stat does not say running after resume"
	c2=$(cpu_ticks "$pid"); sleep 1; c3=$(cpu_ticks "$pid")
	hz=$(getconf CLK_TCK)
	echo "INFO: guest/$name: CPU ticks in 1 s: $((c1 - c0)) paused, $((c3 - c2)) running (HZ $hz)" >&2
	# Paused: (almost) nothing. Running: some, even on a busy host.
	[ $((c1 - c0)) -le $((hz / 20)) ] || bad "paused VM used $((c1 - c0)) ticks in 1 s"
	[ $((c3 - c2)) -ge $((hz / 10)) ] && [ $((c3 - c2)) -gt $((4 * (c1 - c0))) ] ||
		bad "resumed VM used only $((c3 - c2)) ticks in 1 s (paused: $((c1 - c0)))"
	"$lkvm" resume --name "$vm" || bad "resuming a running VM failed"
	# No balloon here: stat says so, balloon is refused.
	[ "$(stat_val "$vm" balloon)" = absent ] || bad "stat: balloon not 'absent'"
	[ "$(stat_val "$vm" rss_bytes)" -gt 0 ] 2>/dev/null || bad "stat: no rss_bytes"
	"$lkvm" balloon --name "$vm" inflate 1 2>"$tmp/e" && bad "balloon on a VM without one succeeded"
	grep -q -- '--balloon' "$tmp/e" || bad "balloon error: $(cat "$tmp/e")"
	# Client-side errors: no name, unknown VM, bad name.
	"$lkvm" stop 2>/dev/null && bad "stop without --name succeeded"
	"$lkvm" stop --name nosuchvm 2>"$tmp/e" && bad "stop of an unknown VM succeeded"
	grep -q "no VM named 'nosuchvm'" "$tmp/e" || bad "unknown VM: $(cat "$tmp/e")"
	"$lkvm" stat --name ../x 2>/dev/null && bad "stat --name ../x succeeded"
	"$lkvm" stop --name "$vm" || bad "stop failed"
fi
finish_vm 20
[ "$rc" -eq 0 ] || bad "after lkvm stop: exit status $rc, want 0"
grep -q "stopped by 'lkvm stop'" "$err" || bad "no 'stopped by' line on stderr"
[ -e "$HOME/.lkvm/$vm.sock" ] && bad "the socket is still there after the VM exited"
# Without --name the VM is guest-<pid>.
start "" /dev/null -m 64 -p lkvmtest.action=halt
if wait_sock "guest-$pid"; then
	"$lkvm" list | grep -qE "^guest-$pid +$pid +running$" || bad "default name: not in list"
	"$lkvm" stop --name "guest-$pid" || bad "stop guest-$pid failed"
fi
finish_vm 20
[ "$rc" -eq 0 ] || bad "default-named VM: exit status $rc"
# A name that can't name a socket is refused up front.
"$lkvm" run -k "$kernel" -m 64 --name ../evil >/dev/null 2>"$tmp/e" && bad "--name ../evil accepted"
[ "$(wc -l <"$tmp/e")" -eq 1 ] || bad "--name ../evil: not one line of error"
sanitizer_ok
finish

# ---- ctl-malformed -----------------------------------------------------------------

begin ctl-malformed
vm=cm-$$
if [ $have_perl = 0 ]; then
	echo "SKIP: guest/$name: needs perl's IO::Socket::UNIX"
else
	start "$vm" /dev/null -m 64 --balloon -p lkvmtest.action=halt
	if wait_sock "$vm"; then
		r=$tmp/req
		try() {	# try WHAT EXPECTED-REPLY-REGEX [DELAY]
			local reply
			reply=$(raw "$vm" "$r" "${3:-0}" 2>&1)
			grep -qE "$2" <<<"$reply" || bad "$1: reply '$(head -c 120 <<<"$reply")'"
		}
		printf 'bogus\n' >"$r";			try unknown '^error unknown command'
		printf 'stat' >"$r";			try unterminated '^error .*newline'
		head -c 100000 /dev/zero | tr '\0' a >"$r"; try oversized '^error request longer than'
		printf 'st\0t\n' >"$r";			try nul '^error .*control'
		printf '\xff\xfe\n' >"$r";		try binary '^error .*non-ASCII'
		printf 'stat\nstop\n' >"$r";		try two-lines '^error data after'
		printf 'balloon inflate 99999999999999999999999\n' >"$r"; try huge '^error balloon:'
		printf 'balloon inflate -5\n' >"$r";	try negative '^error balloon:'
		printf 'stop  \n' >"$r";		try spaces '^error empty word'
		printf '' >"$r";			try silent '^error incomplete request'
		printf 'info\n' >"$r";			try slow '^ok' 1
		# Still alive and well.
		printf 'info\n' >"$r";			try alive '^ok'
		[ "$(stat_val "$vm" state)" = running ] || bad "the VM is not running any more"
		"$lkvm" stop --name "$vm" || bad "stop failed"
	fi
	finish_vm 20
	[ "$rc" -eq 0 ] || bad "exit status $rc"
	sanitizer_ok
	finish
fi

# ---- ctl-stale ----------------------------------------------------------------------

begin ctl-stale
vm=cs-$$
start "$vm" /dev/null -m 64 -p lkvmtest.action=halt
if wait_sock "$vm"; then
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	[ -S "$HOME/.lkvm/$vm.sock" ] || bad "no socket left behind by the killed VM"
	"$lkvm" list >"$tmp/list" 2>"$tmp/e"
	grep -q "removed the stale socket of '$vm'" "$tmp/e" || bad "list: $(cat "$tmp/e")"
	grep -q "^$vm " "$tmp/list" && bad "list shows the dead VM"
	[ -e "$HOME/.lkvm/$vm.sock" ] && bad "list left the stale socket"
fi
# A new VM takes over a stale socket of its name...
start "$vm" /dev/null -m 64 -p lkvmtest.action=halt
if wait_sock "$vm"; then
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	start "$vm" /dev/null -m 64 -p lkvmtest.action=halt
	if wait_sock "$vm"; then
		first=$pid
		# ...but not the socket of a live one.
		"$lkvm" run -k "$kernel" -m 64 --name "$vm" -p lkvmtest.action=halt \
			>/dev/null 2>"$tmp/e"
		r2=$?
		[ "$r2" -eq 1 ] || bad "a second VM named $vm: exit status $r2"
		grep -q 'already running' "$tmp/e" || bad "name clash: $(cat "$tmp/e")"
		[ "$(stat_val "$vm" pid)" = "$first" ] || bad "the first VM lost its socket"
		"$lkvm" stop --name "$vm" || bad "stop failed"
	fi
	finish_vm 20
	[ "$rc" -eq 0 ] || bad "exit status $rc"
fi
sanitizer_ok
finish

# ---- ctl-paused-stop ------------------------------------------------------------------

begin ctl-paused-stop
vm=cp-$$
start "$vm" /dev/null -m 64 -c 2 -p "lkvmtest.action=spin lkvmtest.spin=100000000000000"
if wait_sock "$vm"; then
	"$lkvm" pause --name "$vm" || bad "pause failed"
	t0=$SECONDS
	"$lkvm" stop --name "$vm" || bad "stop failed"
	finish_vm 10
	[ "$rc" -eq 0 ] || bad "stop while paused: exit status $rc"
	[ $((SECONDS - t0)) -le 5 ] || bad "stop while paused took $((SECONDS - t0))s"
fi
start "$vm" /dev/null -m 64 -c 2 -p "lkvmtest.action=spin lkvmtest.spin=100000000000000"
if wait_sock "$vm"; then
	"$lkvm" pause --name "$vm" || bad "pause failed"
	kill -TERM "$pid"
	finish_vm 10
	[ "$rc" -eq 143 ] || bad "SIGTERM while paused: exit status $rc, want 143"
	[ -e "$HOME/.lkvm/$vm.sock" ] && bad "socket left after SIGTERM"
fi
sanitizer_ok
finish

# ---- ctl-stop-blk-flood --------------------------------------------------------------
# The guest keeps virtio-blk's ring full of the largest requests allowed
# (254 x 64 KiB); lkvm stop, SIGTERM and --timeout must each end lkvm
# within 2 s, not after the ring (issue 15, F2). Then the same on a qcow2
# image, whose every request runs on the disk's I/O thread, and which
# qemu-img must find clean afterwards.

# now_ms: milliseconds since the epoch
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# flood_vm HOW [IMAGE]: start a flooding guest on IMAGE (default flood.img),
# stop it by HOW (stop, term, timeout), and check how long lkvm took to
# exit and with which status.
flood_vm() {
	local how=$1 img=${2:-flood.img} vm=cf-$$ t0 ms want i
	local extra=()

	[ "$how" = timeout ] && extra=(--timeout 20)
	start "$vm" /dev/null -m 128 -d "$tmp/$img" "${extra[@]}" \
		-p "lkvmtest.action=virtio-pci-blk-flood"
	wait_line "blk-flood running" 60 || { finish_vm 5; return; }
	case $how in
	stop)
		wait_sock "$vm"
		sleep 1
		t0=$(now_ms)
		"$lkvm" stop --name "$vm" || bad "stop failed"
		want=0 ;;
	term)
		sleep 1
		t0=$(now_ms)
		kill -TERM "$pid"
		want=143 ;;
	timeout)
		# From the moment lkvm says the time is up.
		for ((i = 0; i < 600; i++)); do
			grep -q "timeout: guest stopped" "$err" && break
			sleep 0.05
		done
		t0=$(now_ms)
		want=124 ;;
	esac
	finish_vm 20
	ms=$(($(now_ms) - t0))
	echo "INFO: guest/$name: $how under a full ring of 16 MiB requests ($img): lkvm exited after $ms ms" >&2
	[ "$rc" -eq "$want" ] || bad "$how: exit status $rc, want $want"
	[ "$ms" -lt 2000 ] || bad "$how: lkvm exited $ms ms later (limit 2000)"
	grep -q '^lkvmtest: bad' "$out" && bad "$how: $(grep -m1 '^lkvmtest: bad' "$out")"
	sanitizer_ok
}

begin ctl-stop-blk-flood
truncate -s 64M "$tmp/flood.img"
flood_vm stop
has "blk-flood over-limit status=1" ||
	bad "a request over seg_max did not fail with IOERR"
flood_vm term
flood_vm timeout
rm -f "$tmp/flood.img"
finish

if command -v qemu-img >/dev/null; then
	begin ctl-stop-blk-flood-qcow2
	qemu-img create -q -f qcow2 "$tmp/flood.qcow2" 64M || bad "qemu-img create failed"
	for how in stop term timeout; do
		flood_vm $how flood.qcow2
		qemu-img check "$tmp/flood.qcow2" >"$tmp/flood-check.log" 2>&1 ||
			bad "$how: qemu-img check: $(tr '\n' ' ' <"$tmp/flood-check.log")"
	done
	rm -f "$tmp/flood.qcow2"
	finish
else
	echo "SKIP: guest/ctl-stop-blk-flood-qcow2: qemu-img not installed (qemu-utils)"
fi

exit $failed

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The nested tier's balloon case, run where lkvm runs (inside L1, or on the
# host in direct mode): balloon-l1.sh LKVM KERNEL INITRD [FILL_MB [MODE]]
#
# Boots L2 with 1 GiB and --balloon; L2 (balloon-l2.sh) fills FILL_MB MiB
# (default 600) and frees them. lkvm's resident memory is sampled before,
# after the fill and for 15 s after the free (free page reporting must give
# the memory back). Then `lkvm balloon` inflates and deflates by 256 MiB and
# L2's MemTotal must follow. Prints BALLOON-* lines for the verdict
# (balloon.sh), then the L2 console. POSIX sh + busybox.
#
# MODE bench-on / bench-off (bench/balloon.sh): reporting on / off
# (--balloon-no-reporting), lkvm's RSS sampled every 0.5 s
# ("BALLOON-SAMPLE <s> <kB>"), steps marked ("BALLOON-EVENT <s> <what>"),
# and a fixed 20 s after the free instead of stopping at 80%.
#
# MODE qemu-on / qemu-off (bench/balloon.sh's peer): the same, with LKVM
# being a QEMU command instead (qemu-system-x86_64, or a script that execs
# it, so that its pid is QEMU's): -M pc with KVM and a virtio-balloon-pci
# with free-page-reporting=on / off. Its balloon is driven through QEMU's
# human monitor on a pair of FIFOs (-monitor pipe:), so no client is needed.

LKVM=$1 KERNEL=$2 INITRD=$3 FILL_MB=${4:-600} MODE=${5:-test}
INFLATE_MB=256 MEM_MB=1024
name=nested-balloon-$$
tmp=$(mktemp -d /tmp/balloon.XXXXXX) || exit 1
log=$tmp/console

say() { echo "BALLOON-$*"; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null; }
# Only complete values: the console may end in the middle of a line, and a
# partial number would end the inflate/deflate waits early.
memtotal() { sed -n 's/.*L2-BALLOON-MEMTOTAL=\([0-9]*\) kB.*/\1/p' "$log" | tail -n 1; }

# wait_for PATTERN SECONDS: the L2 console shows PATTERN
wait_for() {
	_t0=$(uptime_s)
	while ! grep -q "$1" "$log"; do
		kill -0 "$pid" 2>/dev/null || return 1
		awk -v a="$_t0" -v b="$(uptime_s)" -v t="$2" 'BEGIN { exit !(b - a > t) }' && return 1
		sleep 0.2
	done
}

elapsed() { awk -v a="$T0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }
event() { [ "$MODE" = test ] || say "EVENT $(elapsed) $1"; }

# The monitor's answers without its line editing (qemu modes).
monitor_text() { tr -d '\r' <"$tmp/monitor" | grep -v -e '^(qemu)' -e '^QEMU .* monitor'; }

# balloon_by inflate|deflate MiB
balloon_by() {
	case "$MODE" in
	qemu-*)
		# The human monitor's `balloon` takes the guest's target size.
		if [ "$1" = inflate ]; then
			echo "balloon $((MEM_MB - $2))" >&4
		else
			echo "balloon $MEM_MB" >&4
		fi
		;;
	*) "$LKVM" balloon --name "$name" "$1" "$2" ;;
	esac
}

finish() {
	[ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
	say "STAT-BEGIN"
	case "$MODE" in
	qemu-*)
		echo "info balloon" >&4
		sleep 1
		monitor_text
		;;
	*) "$LKVM" stat --name "$name" 2>&1 ;;
	esac
	say "STAT-END"
	case "$MODE" in
	qemu-*)
		echo quit >&4
		# Should the monitor not answer, what lkvm stop falls back to.
		(sleep 10; kill "$pid" 2>/dev/null) &
		killer=$!
		;;
	*) "$LKVM" stop --name "$name" >/dev/null 2>&1 || kill "$pid" 2>/dev/null ;;
	esac
	wait "$pid"
	say "LKVM-STATUS=$?"
	[ -n "${killer:-}" ] && kill "$killer" 2>/dev/null
	[ -n "${monitor_reader:-}" ] && { exec 4>&-; kill "$monitor_reader" 2>/dev/null; }
	exec 3>&-
	echo "---- L2 console ----"
	tr -d '\r' <"$log"
	rm -rf "$tmp"
	exit 0
}

balloon=--balloon
[ "$MODE" = bench-off ] && balloon=--balloon-no-reporting
T0=$(uptime_s)
mkfifo "$tmp/in" || exit 1
case "$MODE" in
qemu-*)
	reporting=on
	[ "$MODE" = qemu-off ] && reporting=off
	mkfifo "$tmp/mon.in" "$tmp/mon.out" || exit 1
	"$LKVM" -M pc -accel kvm -cpu host -smp 2 -m "$MEM_MB" -display none -nodefaults \
		-no-user-config -no-reboot -serial stdio -monitor "pipe:$tmp/mon" \
		-device "virtio-balloon-pci,free-page-reporting=$reporting" \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 quiet lkvmtest.balloon=1 lkvmtest.fill_mb=$FILL_MB" \
		<"$tmp/in" >"$log" 2>&1 &
	pid=$!
	# Read-write: opening a FIFO so never blocks, even if QEMU is gone.
	exec 4<>"$tmp/mon.in"
	cat "$tmp/mon.out" >"$tmp/monitor" &
	monitor_reader=$!
	;;
*)
	"$LKVM" run -k "$KERNEL" -i "$INITRD" -m "$MEM_MB" -c 2 $balloon --name "$name" \
		-p "quiet lkvmtest.balloon=1 lkvmtest.fill_mb=$FILL_MB" <"$tmp/in" >"$log" 2>&1 &
	pid=$!
	;;
esac
exec 3>"$tmp/in"
if [ "$MODE" != test ]; then
	while kill -0 "$pid" 2>/dev/null; do
		say "SAMPLE $(elapsed) $(rss_kb)"
		sleep 0.5
	done &
	sampler=$!
fi

wait_for 'L2-BALLOON-READY' 120 || { say "FAIL=L2 never got ready"; finish; }
say "RSS-BOOT=$(rss_kb) t=$(elapsed)"
event fill
echo go >&3
wait_for 'L2-BALLOON-FILLED' 180 || { say "FAIL=L2 never finished filling"; finish; }
filled=$(rss_kb)
say "RSS-FILLED=$filled t=$(elapsed)"
event free
echo go >&3
wait_for 'L2-BALLOON-FREED' 60 || { say "FAIL=L2 never freed"; finish; }

# Free page reporting waits 2 s, then reports in batches.
t0=$(uptime_s)
want=$((FILL_MB * 1024 * 8 / 10))
low=$filled
while :; do
	r=$(rss_kb)
	[ -n "$r" ] && [ "$r" -lt "$low" ] && low=$r
	el=$(awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }')
	[ "$MODE" = test ] && [ $((filled - low)) -ge "$want" ] && break
	if [ "$MODE" = test ]; then
		awk -v e="$el" 'BEGIN { exit !(e > 15) }' && break
	else
		awk -v e="$el" 'BEGIN { exit !(e > 20) }' && break
	fi
	sleep 0.5
done
say "RSS-AFTER=$low secs=$el t=$(elapsed)"

# Inflate and deflate: MemTotal must follow.
wait_for 'L2-BALLOON-MEMTOTAL=[0-9]* kB' 30 || { say "FAIL=no MemTotal from L2"; finish; }
m0=$(memtotal)
say "MEMTOTAL-BEFORE=$m0 t=$(elapsed)"
event inflate
balloon_by inflate "$INFLATE_MB" || say "FAIL=lkvm balloon inflate"
t0=$(uptime_s)
while [ "$(memtotal)" -gt $((m0 - INFLATE_MB * 1024 + 4096)) ]; do
	awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { exit !(b - a > 90) }' && break
	sleep 0.5
done
say "MEMTOTAL-INFLATED=$(memtotal) t=$(elapsed)"
# lkvm list/stat --json with this VM running (doc/control.md): exactly this
# VM; stat's object with the inflated target. The host checks it parses.
if [ "$MODE" = test ]; then
	j=$("$LKVM" list --json 2>/dev/null)
	say "JSON-LIST=$j"
	[ "$j" = "[{\"name\":\"$name\",\"pid\":$pid,\"state\":\"running\"}]" ] ||
		say "FAIL=lkvm list --json printed '$j'"
	j=$("$LKVM" stat --name "$name" --json 2>/dev/null)
	say "JSON-STAT=$j"
	case $j in
	"{\"name\":\"$name\",\"pid\":$pid,\"state\":\"running\","*'"balloon":"active",'*"\"balloon_target_bytes\":$((INFLATE_MB * 1048576)),"*'}') ;;
	*) say "FAIL=lkvm stat --json printed '$j'" ;;
	esac
fi
[ "$MODE" = test ] || sleep 5
event deflate
balloon_by deflate "$INFLATE_MB" || say "FAIL=lkvm balloon deflate"
t0=$(uptime_s)
while [ "$(memtotal)" -lt $((m0 - 4096)) ]; do
	awk -v a="$t0" -v b="$(uptime_s)" 'BEGIN { exit !(b - a > 90) }' && break
	sleep 0.5
done
say "MEMTOTAL-DEFLATED=$(memtotal) t=$(elapsed)"
[ "$MODE" = test ] || { sleep 5; event end; }
finish

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# virtio-mmio cases: the test guest's own virtio-mmio driver (vmmio.c)
# against lkvm's transport, plain and with the MSI / per-queue notify
# extension, and lkvm's ioeventfd read events.
#
#   tests/guest/run-mmio.sh LKVM
#
# One PASS/FAIL/SKIP line per case on stdout (guest/<case>); the command,
# stdout and stderr of a failing case go to stderr. Exit status 0 if no
# case failed, 1 otherwise, 2 on a usage error.

set -u

here=$(cd "$(dirname "$0")" && pwd)
kernel=$here/out/test.bzImage
TIMEOUT=60

CASES=(
	mmio-plain mmio-plain-blk mmio-msi-fixed mmio-msi-shared
	mmio-msi-invalid mmio-msi-invalid-shared mmio-msi-not-negotiated
	mmio-hostile ioevent-read
)

TAG=mmio
# shellcheck source=tests/guest/harness.sh
. "$here/harness.sh" "$@"

# guest NAME ACTION ARGS...: boot the guest over virtio-mmio and check that
# ACTION passed; leaves $out, $err, $rc.
guest() {
	local n=$1 action=$2

	shift 2
	run "$n" /dev/null run -k "$kernel" -m 128 --virtio-transport mmio "$@" \
		-p "lkvmtest.action=$action"
	guest_ok
	guest_result "$action"
}

# The disk image the guest knows.
test_image

# ---- plain virtio-mmio: wired interrupt, QueueNotify

# A disk first: the rng device is the second one (0xfe001000).
cp "$orig" "$disk"
guest mmio-plain mmio-plain -d "$disk" --rng
expect "vmmio acpi devices=2 cmdline=2 matched=2"
expect_re "vmmio dev id=4 base=0xfe001000 size=0x1000 gsi=(1[6-9]|2[0-3]) version=2 vendor=0x4d564b4c"
expect_re "plain irq=ok gsi=[0-9]+ isr=0x1 after-ack=0x0"
expect "plain unacked deliveries=2 isr=0x1"
expect "plain rng read=64+64 zero=no differ=yes"
expect_re "plain config-irq=yes isr=0x[23] status=0x4f"
finish

cp "$orig" "$disk"
guest mmio-plain-blk mmio-plain-blk -d "$disk"
expect "blk read0=ok read-last status=0 pattern=ok"
expect "blk oob status=1"
grep -q "^lkvmtest: blk features=.* capacity=$(($(stat -c %s "$disk") / 512))\$" "$out" ||
	bad "capacity is not the image's $(($(stat -c %s "$disk") / 512)) sectors"
cp "$orig" "$tmp/disk.expected"
yes guest-mmio-sec5 | head -c 512 |
	dd of="$tmp/disk.expected" bs=512 seek=5 conv=notrunc status=none
same_image "$tmp/disk.expected" "after writing sector 5"
finish

# ---- the extension: non-sharing mode on virtio-blk with two queues

cp "$orig" "$disk"
guest mmio-msi-fixed mmio-msi-fixed -c 2 -d "$disk" --virtio-mmio-msi
expect "msi-fixed state=0x1 queue-notify=0x40800 q0=+0x800 q1=+0x804"
expect "msi-fixed q0 irq=ok vector=0x43 isr=0x0"
expect "msi-fixed q1 via-q0-notify=none via-q1-notify=done irq=ok"
expect "msi-fixed masked irq=none isr=0x0 unmask irq=ok"
expect "msi-fixed reconfigured irq=0x45"
expect "msi-fixed plain-notify q0+q1=done irqs=1+1"
expect "msi-fixed disabled state=0x0 gsi-irq=ok isr=0x1"
expect "msi-fixed config-irq=ok isr=0x0"
same_image "$orig" "reads only"
finish

guest mmio-msi-shared mmio-msi-shared --rng --virtio-mmio-msi-shared
expect_re "msi-shared features=0x[0-9a-f]+ vecnum=2 state=0x2"
expect "msi-shared unmapped irq=none"
expect "msi-shared queue->1 irq=ok"
expect "msi-shared queue->0 irq=ok isr=0x0"
expect "msi-shared masked irq=none unmask irq=ok"
expect "msi-shared config-irq=ok"
finish

# Every bad command is ignored and counted in lkvm's debug log.
# ignored MIN: the debug log counts at least MIN ignored commands
ignored() {
	local n

	n=$(sed -n 's/.*ignoring .* (\([0-9]*\) ignored so far)$/\1/p' "$err" | tail -n 1)
	if [ -z "$n" ]; then
		bad "lkvm --debug logged no ignored MSI command"
	elif [ "$n" -lt "$1" ]; then
		bad "lkvm counted $n ignored MSI commands, expected at least $1"
	fi
}

guest mmio-msi-invalid mmio-msi-invalid --rng --virtio-mmio-msi --debug
expect "msi-invalid vecnum=2 sharing=no"
expect "msi-invalid unconfigured irq=none"
expect "msi-invalid final irq=ok vector=0x43"
ignored 12
grep -q 'ignoring MAP command in non-sharing mode' "$err" ||
	bad "MAP in non-sharing mode not logged as ignored"
finish

guest mmio-msi-invalid-shared mmio-msi-invalid --rng --virtio-mmio-msi-shared --debug
expect "msi-invalid vecnum=2 sharing=yes"
expect "msi-invalid unconfigured irq=none"
expect "msi-invalid final irq=ok vector=0x43"
ignored 12
grep -q 'ignoring MAP_QUEUE of queue' "$err" || bad "MAP_QUEUE of queue 5 not logged"
finish

guest mmio-msi-not-negotiated mmio-msi-not-negotiated --rng --virtio-mmio-msi
expect "not-negotiated offered=0x18130000000 features=0x100000000 queue-notify=0x0"
expect "not-negotiated irq=ok isr=0x1 after-ack=0x0"
finish

# ---- hostile registers and rings: lkvm survives, the image is untouched

cp "$orig" "$disk"
guest mmio-hostile mmio-hostile -d "$disk"
expect "hostile registers done"
[ "$(grep -c '^lkvmtest: hostile .*recovered=yes$' "$out")" -eq 10 ] ||
	bad "$(grep -c '^lkvmtest: hostile .*recovered=yes$' "$out") of 10 hostile rings recovered"
same_image "$orig" "hostile (reads only)"
finish

# ---- ioeventfd read events: the QueueNotify read of an extension driver

guest ioevent-read ioevent-read --rng --virtio-mmio-msi --debug
expect "ioevent-read before-features=0x0 value=0x40800 again=0x40800 16bit=0x0"
expect "ioevent-read late-plain-notify=done"
expect "ioevent-read plain-restart queue-notify=0x0 request=done"
expect "ioevent-read second-driver value=0x40800"
grep -q 'ioeventfd at 0xfe000050 served from userspace' "$err" ||
	bad "no read ioeventfd registered at QueueNotify (lkvm --debug)"
# The read signalled lkvm's worker, which dropped the shared QueueNotify
# ioeventfds; the reset gave them back, so the second driver's read did so again.
n=$(grep -c 'virtio-rng@0xfe000000: driver uses per-queue notify addresses' "$err")
[ "$n" -eq 2 ] || bad "the read event reached lkvm's worker $n times, expected 2"
finish

exit $failed

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the test guest (out/test.bzImage) with lkvm and check its report.
#
#   tests/guest/run.sh LKVM
#
# Prints exactly one line per case on stdout:
#   PASS: guest/<case>
#   FAIL: guest/<case>: <why>
#   SKIP: guest/<case>: <why>
# The command, stdout and stderr of a failing case go to stderr.
# Exit status: 0 if no case failed, 1 otherwise, 2 on a usage error.

set -u

here=$(cd "$(dirname "$0")" && pwd)
kernel=$here/out/test.bzImage
TIMEOUT=60

CASES=(
	boot cpus mem-above-4g initrd
	poweroff reboot-kbd reboot-cf9 reboot-acpi triplefault
	echo irq halt-timeout
	virtio-pci-rng virtio-pci-blk virtio-pci-blk-ro virtio-pci-msix
	virtio-pci-suppress virtio-pci-intx virtio-pci-hostile virtio-pci-bar-move
	bad-missing-kernel bad-empty-kernel bad-truncated-kernel bad-hdrs
	bad-not-64bit bad-mem-0 bad-mem-huge bad-cpus-0 bad-cpus-huge
	bad-option bad-initrd-too-big
)

TAG=guest
# shellcheck source=tests/guest/harness.sh
. "$here/harness.sh" "$@"

guest() {
	local n=$1 action=$2

	shift 2
	run "$n" /dev/null run -k "$kernel" "$@" -p "lkvmtest.action=$action"
	guest_ok
}

check_acpi() {
	local sig

	if grep '^lkvmtest: acpi ' "$out" | grep -qv ' ok$'; then
		bad "ACPI: $(grep '^lkvmtest: acpi ' "$out" | grep -v ' ok$' |
			head -n 1 | sed 's/^lkvmtest: acpi //')"
	fi
	for sig in RSDP FACP APIC DSDT; do
		has "acpi $sig ok" || bad "ACPI: no valid $sig"
	done
	has "acpi XSDT ok" || has "acpi RSDT ok" || bad "ACPI: no valid XSDT/RSDT"
	grep -qE '^lkvmtest: s5=[0-9]+$' "$out" || bad "no _S5_ package in the DSDT"
}

# ---- cases that boot the guest

run boot /dev/null run -k "$kernel" -m 128 -c 1 \
	-p "lkvmtest.action=poweroff foo=bar"
guest_ok
grep -qE '^lkvmtest: cmdline=(.* )?foo=bar( |$)' "$out" ||
	bad "foo=bar missing from the command line"
grep -qE '^lkvmtest: entry path=64 cs=0x10 ds=0x18 ss=0x18 if=0 ' "$out" ||
	bad "entry state: $(sed -n 's/^lkvmtest: entry //p' "$out")"
expect "loader=0xff"
expect "ram-top=0x8000000"
grep -qE '^lkvmtest: e820 [0-9]+ 0x0 0x[0-9a-f]+ 1$' "$out" ||
	bad "no e820 RAM entry at address 0"
check_acpi
expect "cpus=1"
expect "bsp-apic-id=0"
expect "initrd none"
expect "poweroff"
finish

guest cpus poweroff -m 128 -c 4
expect "cpus=4"
finish

guest mem-above-4g poweroff -m 4096 -c 1
grep -qE '^lkvmtest: e820 [0-9]+ 0x100000000 0x40000000 1$' "$out" ||
	bad "no e820 RAM entry 0x100000000+0x40000000"
expect "ram-top=0x140000000"
total=$(value ram-total)
if [[ $total =~ ^0x[0-9a-f]+$ ]]; then
	if ((total < 0xf0000000 || total > 0x100000000)); then
		bad "ram-total=$total, expected close to 4 GiB"
	fi
else
	bad "no ram-total"
fi
finish

initrd=$tmp/initrd.img
head -c $((200 * 1024)) /dev/urandom >"$initrd"
sum=$(cksum <"$initrd" | cut -d' ' -f1)
guest initrd poweroff -m 128 -i "$initrd"
line=$(grep -m1 '^lkvmtest: initrd ' "$out")
if [[ $line =~ ^lkvmtest:\ initrd\ addr=0x[0-9a-f]+\ size=(0x[0-9a-f]+)\ cksum=([0-9a-z]+)$ ]]; then
	[ $((BASH_REMATCH[1])) -eq $((200 * 1024)) ] ||
		bad "initrd size ${BASH_REMATCH[1]}, expected $((200 * 1024))"
	[ "${BASH_REMATCH[2]}" = "$sum" ] ||
		bad "initrd cksum ${BASH_REMATCH[2]}, expected $sum"
else
	bad "initrd line: '${line#lkvmtest: }'"
fi
expect "initrd-in-ram=yes"
finish

for action in poweroff reboot-kbd reboot-cf9 reboot-acpi; do
	guest "$action" "$action" -m 128
	expect "$action"
	finish
done

run triplefault /dev/null run -k "$kernel" -m 128 -p "lkvmtest.action=triplefault"
has triplefault || bad "guest did not reach the triple fault"
if [ "$rc" -eq 0 ]; then
	bad "exit status 0, expected non-zero"
elif [ "$rc" -eq 124 ] || [ "$rc" -ge 128 ]; then
	bad "$(status_text "$rc"), expected an error exit"
fi
[ -s "$err" ] || bad "no reason on stderr"
finish

# stdin is a pipe here, as in "printf ... | lkvm run ..."
run echo <(printf 'hello-serial\n') run -k "$kernel" -m 128 \
	-p "lkvmtest.action=echo"
guest_ok
expect "echo=hello-serial"
finish

guest irq irq -m 128
expect "irq=ok vector=0x30"
finish

# ---- virtio-pci: the guest's own driver (vtest.c) against lkvm's devices

# The 1 MiB image the guest knows.
test_image

# put_sectors FILE SECTOR COUNT WORD: WORD\n (16 bytes) over those sectors
put_sectors() {
	yes "$4" | head -c $(($3 * 512)) |
		dd of="$1" bs=512 seek="$2" conv=notrunc status=none
}

guest virtio-pci-rng virtio-pci-rng -m 128 --rng
expect "rng read=64+64 zero=no differ=yes"
expect "vpci ecam=match"
guest_result virtio-pci-rng
finish

cp "$orig" "$disk"
guest virtio-pci-blk virtio-pci-blk -m 128 -d "$disk"
expect "blk capacity=$(($(stat -c %s "$disk") / 512))"
expect "blk ro=no"
guest_result virtio-pci-blk
cp "$orig" "$tmp/disk.expected"
put_sectors "$tmp/disk.expected" 5 1 guest-sector-05
put_sectors "$tmp/disk.expected" 7 1 guest-indirect7
put_sectors "$tmp/disk.expected" 8 2 guest-split-089
same_image "$tmp/disk.expected" "after the guest's writes"
finish

cp "$orig" "$disk"
# Two vCPUs: lkvm offers two queues; this driver uses queue 0 only.
guest virtio-pci-blk-ro virtio-pci-blk -m 128 -c 2 -d "$disk,ro"
expect "blk capacity=$(($(stat -c %s "$disk") / 512))"
expect "blk ro=yes"
guest_result virtio-pci-blk
same_image "$orig" "read-only disk"
finish

guest virtio-pci-msix virtio-pci-msix -m 128 --rng
expect "msix irq=ok vector=0x41"
expect "msix masked irq=none pending=1"
expect "msix unmask irq=ok pending=0"
expect "msix config-irq=yes after needs-reset"
guest_result virtio-pci-msix
finish

guest virtio-pci-suppress virtio-pci-suppress -m 128 --rng
guest_result virtio-pci-suppress
finish

# The disk takes slot 1: the rng device's INTA is swizzled from slot 2.
cp "$orig" "$disk"
guest virtio-pci-intx virtio-pci-intx -m 128 -d "$disk" --rng
grep -qE '^lkvmtest: intx prt-gsi=(1[6-9]|2[0-3])$' "$out" ||
	bad "no _PRT entry with a GSI 16-23 for the device ($(value "intx prt-gsi"))"
guest_result virtio-pci-intx
finish

cp "$orig" "$disk"
guest virtio-pci-hostile virtio-pci-hostile -m 128 -d "$disk"
guest_result virtio-pci-hostile
same_image "$orig" "hostile rings (reads only)"
finish

# The guest unassigns the BARs and places them at 0xd0000000 itself.
guest virtio-pci-bar-move virtio-pci-bar-move -m 128 --rng
grep -qE '^lkvmtest: bar-move bars=[1-6] common 0x[0-9a-f]+ -> 0xd0000000$' "$out" ||
	bad "BARs not moved: $(sed -n 's/^lkvmtest: bar-move bars/bars/p' "$out")"
guest_result virtio-pci-bar-move
finish

# lkvm's own --timeout stops a guest that halts forever
start=$SECONDS
run halt-timeout /dev/null run -k "$kernel" -m 128 --timeout 2 \
	-p "lkvmtest.action=halt"
has halt || bad "guest did not reach the halt"
if [ "$rc" -ne 124 ] || [ $((SECONDS - start)) -ge 30 ]; then
	bad "$(status_text "$rc") after $((SECONDS - start))s, expected 124 after about 2s"
fi
finish

# ---- bad inputs: one line on stderr, an error exit, no crash, no hang

bad_input() {
	local lines

	run "$@"
	if [ "$rc" -eq 0 ]; then
		bad "exit status 0, expected an error"
	elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		bad "$(status_text "$rc")"
	elif [ "$rc" -ge 128 ]; then
		bad "crashed: $(status_text "$rc")"
	fi
	lines=$(grep -c . "$err")
	[ "$lines" -eq 1 ] || bad "expected one line on stderr, got $lines"
	has hello && bad "the guest ran"
	finish
}

: >"$tmp/empty"
head -c $((0x300)) "$kernel" >"$tmp/truncated"
cp "$kernel" "$tmp/bad-hdrs"
printf 'XXXX' | dd of="$tmp/bad-hdrs" bs=1 seek=$((0x202)) conv=notrunc status=none
cp "$kernel" "$tmp/not-64bit"
xlf=$(od -An -tu1 -j $((0x236)) -N1 "$kernel" | tr -d ' ')
printf '%b' "\\0$(printf %03o $((xlf & ~1)))" |
	dd of="$tmp/not-64bit" bs=1 seek=$((0x236)) conv=notrunc status=none
truncate -s 100M "$tmp/big-initrd"

bad_input bad-missing-kernel /dev/null run -k "$tmp/does-not-exist" -m 128
bad_input bad-empty-kernel /dev/null run -k "$tmp/empty" -m 128
bad_input bad-truncated-kernel /dev/null run -k "$tmp/truncated" -m 128
bad_input bad-hdrs /dev/null run -k "$tmp/bad-hdrs" -m 128
bad_input bad-not-64bit /dev/null run -k "$tmp/not-64bit" -m 128
bad_input bad-mem-0 /dev/null run -k "$kernel" -m 0
bad_input bad-mem-huge /dev/null run -k "$kernel" -m 99999999
bad_input bad-cpus-0 /dev/null run -k "$kernel" -m 128 -c 0
bad_input bad-cpus-huge /dev/null run -k "$kernel" -m 128 -c 100000
bad_input bad-option /dev/null run -k "$kernel" -m 128 --no-such-option
bad_input bad-initrd-too-big /dev/null run -k "$kernel" -m 64 -i "$tmp/big-initrd"

exit $failed

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tell a hardware KVM from a software one (ring 0 emulated instruction by
# instruction) by timing the test guest's busy loop:
#
#   tests/guest/probe-speed.sh LKVM
#
# Prints one word on stdout: "hardware" (2,000,000 ring-0 loop iterations
# plus the report take under a second), "software" (they take longer), or
# "none" (no usable /dev/kvm, or lkvm could not run the guest).  Details go
# to stderr.  Exit status 0 unless the usage is wrong.

set -u

here=$(cd "$(dirname "$0")" && pwd)
kernel=$here/out/test.bzImage
LOOPS=2000000

if [ $# -ne 1 ]; then
	echo "usage: $0 LKVM" >&2
	exit 2
fi
lkvm=$1

if [ ! -e /dev/kvm ] || ! (exec 3<>/dev/kvm) 2>/dev/null; then
	echo "probe-speed: /dev/kvm is missing or cannot be opened" >&2
	echo none
	exit 0
fi
if ! make -s -C "$here" >&2; then
	echo "probe-speed: cannot build the test guest" >&2
	echo none
	exit 0
fi

log=$(mktemp "${TMPDIR:-/tmp}/lkvm-probe-speed.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT

start=$(date +%s%N)
timeout -k 1 5 "$lkvm" run -k "$kernel" -m 128 -c 1 \
	-p "lkvmtest.action=spin lkvmtest.spin=$LOOPS" </dev/null >"$log" 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))

if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "probe-speed: spin did not finish within 5 s" >&2
	echo software
elif [ $rc -ne 0 ] || ! grep -q '^lkvmtest: spin done' "$log"; then
	echo "probe-speed: lkvm failed (exit status $rc):" >&2
	cat "$log" >&2
	echo none
elif [ $ms -lt 1000 ]; then
	echo "probe-speed: $LOOPS iterations in $ms ms" >&2
	echo hardware
else
	echo "probe-speed: $LOOPS iterations in $ms ms" >&2
	echo software
fi

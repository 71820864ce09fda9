#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# --nested on x86: where KVM offers no VMX/SVM to guests (this project's CI
# hosts), lkvm must refuse with one line naming the fix and exit 1; where
# it does, the guest must boot. Prints one PASS/FAIL/SKIP line.
set -u
LKVM=$(realpath "${1:?usage: run-nested-flag.sh LKVM}")
cd "$(dirname "$0")"
name=guest/nested-flag
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: $name: /dev/kvm is not usable"
	exit 0
fi
err=$(mktemp)
trap 'rm -f "$err"' EXIT
timeout 60 "$LKVM" run -k out/test.bzImage -m 64 --nested \
	-p lkvmtest.action=poweroff >/dev/null 2>"$err"
rc=$?
if [ $rc = 0 ]; then
	echo "PASS: $name (host offers nested virtualization; guest booted)"
elif [ $rc = 1 ] && [ "$(wc -l <"$err")" = 1 ] && grep -q 'nested=1' "$err"; then
	echo "PASS: $name (refused: $(cat "$err"))"
else
	echo "FAIL: $name: exit $rc, stderr: $(head -c 300 "$err")"
	exit 1
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# --spe is arm64's (the Statistical Profiling Extension): an x86 lkvm must
# refuse it with one line and exit 1, before touching /dev/kvm. The arm64
# behaviour is covered by tests/unit/test-arm-vm.c and the arm64 nested
# tier. Prints one PASS/FAIL line.
set -u
LKVM=$(realpath "${1:?usage: run-spe-flag.sh LKVM}")
name=guest/spe-flag
case "$(uname -m)" in
aarch64) echo "SKIP: $name: arm64 host (--spe is valid here)"; exit 0 ;;
esac
err=$(mktemp)
trap 'rm -f "$err"' EXIT
timeout 30 "$LKVM" run -k /nonexistent-kernel --spe >/dev/null 2>"$err"
rc=$?
if [ $rc = 1 ] && [ "$(wc -l <"$err")" = 1 ] && grep -q -- '--spe.*arm64' "$err"; then
	echo "PASS: $name"
else
	echo "FAIL: $name: exit $rc, stderr: $(head -c 300 "$err")"
	exit 1
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest tier: every tests/guest/run*.sh (run.sh plus the run-<topic>.sh a
# feature adds), once with ./lkvm and once with ./lkvm-asan (its cases
# renamed guest-asan/...), on this host's /dev/kvm.
#
#   tests/guest/run-all.sh [LKVM...]   (default: ./lkvm, and ./lkvm-asan if built)
# tests/run starts it
# through tests/in-l1, which moves it into a QEMU L1 where this host has no
# fast /dev/kvm. Prints the scripts' PASS/FAIL/SKIP lines; exits 1 if any
# script failed.
set -u
cd "$(dirname "$0")/../.."
builds=("$@")
if [ ${#builds[@]} = 0 ]; then
	builds=(./lkvm)
	[ -x ./lkvm-asan ] && builds+=(./lkvm-asan)
fi
rc=0
for script in tests/guest/run*.sh; do
	[ "$script" = tests/guest/run-all.sh ] && continue
	for lkvm in "${builds[@]}"; do
		case "$lkvm" in
		*-asan) bash "$script" "$lkvm" |
				sed -u 's#^\(PASS\|FAIL\|SKIP\): guest/#\1: guest-asan/#'
			[ "${PIPESTATUS[0]}" = 0 ] || rc=1 ;;
		*) bash "$script" "$lkvm" || rc=1 ;;
		esac
	done
done
exit $rc

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Seeds for fuzz-ctl, into directory $1: every request, and a reply body.
set -eu
out=$1
for r in info stop pause resume stat "balloon inflate 1048576" "balloon deflate 4096"; do
	printf '%s\n' "$r" >"$out/${r// /-}"
done
printf 'name g1\npid 42\nstate running\nmem_bytes 268435456\n' >"$out/reply"

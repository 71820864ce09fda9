#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Seeds for fuzz-arm-image, into directory $1: from the arm64 kernels the
# test tiers keep in ~/.cache/lkvm, the first 64 KiB of the Image, the
# gzip of that, and of the compressed file itself; and a small raw binary.
set -u
out=$1
i=0
for k in "$HOME"/.cache/lkvm/arm64/linux-image-*/boot/vmlinuz-*; do
	[ -r "$k" ] || continue
	i=$((i + 1))
	head -c 65536 "$k" >"$out/vmlinuz-$i"
	{ zcat "$k" 2>/dev/null || cat "$k"; } | head -c 65536 >"$out/image-$i"
	head -c 16384 "$out/image-$i" | gzip -c >"$out/image-gz-$i"
	[ $i -ge 2 ] && break
done
printf '\x00\x00\x00\x14raw binary' >"$out/raw"
exit 0

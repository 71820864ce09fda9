#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Seeds for fuzz-x86-loaders, into directory $1: the first 64 KiB of the
# x86 kernels at hand (this host's /boot, the test tiers' Debian kernels
# in ~/.cache/lkvm), and of an ELF program (no PVH note: the fuzzer finds
# its way from there). Without kernels it starts from the ELF alone.
set -u
out=$1
i=0
for k in /boot/vmlinuz-* "$HOME"/.cache/lkvm/amd64/linux-image-*/boot/vmlinuz-*; do
	[ -r "$k" ] || continue
	i=$((i + 1))
	head -c 65536 "$k" >"$out/bzimage-$i"
	[ $i -ge 3 ] && break
done
head -c 65536 "$(type -P true)" >"$out/elf"
exit 0

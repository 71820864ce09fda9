#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Seed images for fuzz-qcow2: small-cluster qcow2 files as qemu-img makes
# them (v2, v3, every refcount width, data, compressed, zero clusters),
# into directory $1. Without qemu-img the fuzzer starts from nothing.
set -u
out=$1
command -v qemu-img >/dev/null || exit 0
t=$(mktemp -d)
i=0
seed() { i=$((i + 1)); cp "$1" "$out/seed-$i"; }
for opts in compat=0.10 compat=1.1 refcount_bits=1 refcount_bits=8 refcount_bits=64; do
	qemu-img create -q -f qcow2 -o cluster_size=512,$opts "$t/a" 64K
	seed "$t/a"
	qemu-io -c 'write -P 0x5a 0 4k' -c 'write -z 8k 2k' -c 'discard 2k 1k' "$t/a" >/dev/null
	seed "$t/a"
done
head -c 16384 /dev/zero | tr '\0' 'x' >"$t/raw"
qemu-img convert -q -c -O qcow2 -o cluster_size=512 "$t/raw" "$t/c"
seed "$t/c"
rm -rf "$t"

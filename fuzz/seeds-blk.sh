#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Seeds for fuzz-blk, into directory $1: one of each request type (read,
# write, flush, get-id, discard, write-zeroes, and a read through an
# indirect table), as laid out in fuzz/fuzz-blk.c: features, 16
# descriptors, avail idx and ring, then guest RAM from 0x200000.
set -eu
. "$(dirname "$0")/seed-lib.sh"
out=$1
# features: VERSION_1 comes by itself; SEG_MAX SIZE_MAX BLK_SIZE FLUSH DISCARD WZ INDIRECT
feat=$(( (1 << 2) | (1 << 1) | (1 << 6) | (1 << 9) | (1 << 13) | (1 << 14) | (1 << 28) ))
# seed NAME TYPE SECTOR DATALEN DATAFLAGS [PAYLOAD-CMD]
seed() {
	{
		le64 $feat
		desc 0x200000 16 1 1
		if [ "$4" -gt 0 ]; then desc 0x201000 "$4" $((1 | $5)) 2; desc 0x200800 1 2 0
		else desc 0x200800 1 2 0; zeros 16; fi
		zeros $((13 * 16))
		le16 1; le16 0; zeros 30
		le32 "$2"; le32 0; le64 "$3"; zeros $((0x1000 - 16))	# header at 0x200000
		if [ $# -ge 6 ]; then $6; fi
	} >"$out/$1"
}
dwz() { le64 8; le32 8; le32 "$1"; }
unmap() { dwz 1; }
nounmap() { dwz 0; }
seed read 0 0 4096 2
seed write 1 8 4096 0
seed flush 4 0 0 0
seed get-id 8 0 20 2
seed discard 11 0 16 0 nounmap
seed write-zeroes 13 0 16 0 unmap
{
	le64 $feat; desc 0x202000 48 4 0; zeros $((15 * 16)); le16 1; le16 0; zeros 30
	le32 0; le32 0; le64 2; zeros $((0x2000 - 16))
	desc 0x200000 16 1 1; desc 0x201000 1024 3 2; desc 0x200800 1 2 0
} >"$out/indirect-read"

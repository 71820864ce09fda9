#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Seeds for fuzz-virtqueue, into directory $1: a 16-entry queue (desc at
# 0x1000, avail 0x2000, used 0x3000, in the input's RAM image that starts
# at guest address 0) with a direct chain, an indirect one, and both with
# EVENT_IDX. Layout: fuzz/fuzz-virtqueue.c.
set -eu
. "$(dirname "$0")/seed-lib.sh"
out=$1
# ctl EVENT_IDX: size, desc, avail, used, flags, last_avail, padding to 32
ctl() { le16 16; le64 0x1000; le64 0x2000; le64 0x3000; le8 "$1"; le16 0; zeros 3; }
ram() {	# $1: 0 direct, 1 indirect
	zeros 0x1000
	if [ "$1" = 0 ]; then
		desc 0x4000 16 1 1; desc 0x4100 512 3 2; desc 0x4400 1 2 0
		zeros $((0x1000 - 48))
	else
		desc 0x5000 48 4 0; zeros $((0x1000 - 16))
	fi
	le16 0; le16 2; le16 0; le16 0; zeros $((0x1000 - 8))	# avail: 2 chains, head 0
	zeros 0x2000						# used, buffers
	desc 0x4000 16 1 1; desc 0x4100 512 3 2; desc 0x4400 1 2 0	# indirect table
}
ctl 0 >"$out/direct"; ram 0 >>"$out/direct"
ctl 0 >"$out/indirect"; ram 1 >>"$out/indirect"
ctl 1 >"$out/direct-event"; ram 0 >>"$out/direct-event"
ctl 1 >"$out/indirect-event"; ram 1 >>"$out/indirect-event"

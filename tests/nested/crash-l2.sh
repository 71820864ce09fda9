#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The write storm of run-x86-crash.sh, inside L2 (/lkvmtest.d/crash.sh):
# numbered 4 KiB blocks written to /dev/vda, each followed by a flush
# (dd conv=fsync), and "L2-ACK SEQ BLOCK" printed once that flush returned,
# until the L1 under it is killed. Odd numbers go to blocks spread over the
# whole disk (new clusters, new L2 tables and refcount blocks), even ones
# rewrite 16 hot blocks (64 KiB) at the start, each every 32 numbers. The block's bytes: the line
# "lkvm-crash seq=SEQ blk=BLOCK", padded to 63 characters, 64 times
# (crash_block in run-x86-crash.sh makes the same).

NB=$(($(cat /sys/block/vda/size) / 8))
echo "L2-CRASH-BLOCKS=$NB"
s=1
while :; do
	if [ $((s % 2)) = 1 ]; then
		b=$((256 + (s * 7919) % (NB - 256)))
	else
		b=$(((s * 7 / 2) % 16))
	fi
	yes "$(printf '%-63s' "lkvm-crash seq=$s blk=$b")" | head -c 4096 >/tmp/blk
	if dd if=/tmp/blk of=/dev/vda bs=4096 seek=$b count=1 conv=notrunc,fsync 2>/dev/null; then
		echo "L2-ACK $s $b"
	else
		echo "L2-WRITE-FAIL $s $b"
	fi
	s=$((s + 1))
done

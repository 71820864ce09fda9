#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nested tier: a host crash under a qcow2 write storm (issue 18). The QEMU
# TCG L1 plays the host: lkvm runs there on a qcow2 image in an ext4 file
# system on L1's virtio disk, which is a file here (cache=writeback: what
# L1 only had in its page cache dies with QEMU; what L1 flushed reached
# this file). L2 writes numbered 4 KiB blocks to its disk, each followed
# by a flush, and prints "L2-ACK SEQ BLOCK" after each acknowledged flush
# (crash-l2.sh). Once CRASH_ACKS acknowledgements reached this host's log,
# QEMU gets SIGKILL mid-storm. Then, here: the file system is recovered
# (e2fsck -fy replays its journal), the image taken out (debugfs), and
#   qcow2-host-crash  qemu-img check finds no corruption (leaked clusters
#                     are allowed: status 0 or 3), and every block whose
#                     flush L2 saw acknowledged holds that write's bytes or
#                     those of a later write of the same block
#
# Always nested (the crash is the L1's), even where /dev/kvm is hardware.
# Its own L1 boot: about 90 s here, lkvm-static's build included.
#
# Usage: tests/nested/run-x86-crash.sh [LKVM_REPO]
# Knobs: CRASH_ACKS (default 120), LKVM_KEEP=1 keeps the work directory.

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "${1:-$HERE/../..}" && pwd) || exit 2
# shellcheck source=tests/nested/lib.sh
. "$HERE/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
CASE=qcow2-host-crash
CRASH_ACKS=${CRASH_ACKS:-120}
DISK_MB=256

nested_begin nested-crash "" CASE
fail() { all_cases FAIL "$*"; }
for t in qemu-img mkfs.ext4 e2fsck debugfs qemu-system-x86_64; do
	command -v $t >/dev/null || all_cases SKIP "$t not installed (scripts/install-deps.sh)"
done

# --- build and images -------------------------------------------------------------
nested_make "$WORK/make.log" "make lkvm-static" -C "$REPO" -j"$(nproc)" lkvm-static
lkvm_fetch_guest x86_64 || all_cases SKIP "cannot fetch the Debian guest kernel or busybox"

mkdir -p "$WORK/l2-overlay/lkvmtest.d"
install -m 755 "$HERE/crash-l2.sh" "$WORK/l2-overlay/lkvmtest.d/crash.sh"
lkvm_build_l2_initrd "$WORK/l2.cpio" --modules "virtio_pci virtio_blk" \
	--overlay "$WORK/l2-overlay" || fail "cannot build the L2 initramfs"

# 8 KiB clusters: a 4 KiB write copies the rest of its cluster, and the
# storm needs many L2 tables (1 MiB of disk each) and refcount blocks.
mkdir -p "$WORK/fs"
qemu-img create -q -f qcow2 -o cluster_size=8192 "$WORK/fs/disk.qcow2" ${DISK_MB}M ||
	fail "qemu-img create failed"
mkfs.ext4 -q -F -L lkvmcrash -d "$WORK/fs" "$WORK/l1disk.img" 128M >"$WORK/mkfs.log" 2>&1 ||
	{ cat "$WORK/mkfs.log" >&2; fail "mkfs.ext4 failed"; }

ov=$WORK/l1-overlay
mkdir -p "$ov/lib"
lkvm_stage_modules "$LKVM_L1_KROOT" "$LKVM_L1_KVER" "$ov/lib/xfer-modules" \
	virtio_pci virtio_blk crc32c_generic ext4 || fail "cannot stage L1's modules"
cat >"$WORK/cases.sh" <<-EOF
	LKVM_CASE_TIMEOUT=3600
	while read -r m a; do
		insmod /lib/xfer-modules/\$m \$a || echo "L1-C-INSMOD-FAIL \$m"
	done </lib/xfer-modules/order
	i=0
	while [ ! -b /dev/vda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
	mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo "L1-C-MOUNTED"
	run_case $CASE '\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c 1 -m 256 -d /mnt/disk.qcow2 -p quiet'
	EOF
lkvm_build_l1_initrd "$WORK/l1.cpio" "$REPO/lkvm-static" "$WORK/l2.cpio" "$WORK/cases.sh" "$ov" ||
	fail "cannot build the L1 initramfs"

# --- the storm and the kill ---------------------------------------------------------
TMO=600
LKVM_L1_QEMU_ARGS="-drive file=$WORK/l1disk.img,format=raw,if=none,id=d0,cache=writeback -device virtio-blk-pci,drive=d0" \
	lkvm_l1_cmd "$WORK/l1.cpio" "$TMO" || fail "no QEMU for L1"
echo "INFO: [$(now)s] booting L1; SIGKILL after $CRASH_ACKS acknowledged flushes" >&2
"${LKVM_L1_CMD[@]}" </dev/null >"$WORK/raw.log" 2>&1 &
tpid=$!
qpid=
for _ in $(seq 50); do
	qpid=$(pgrep -P "$tpid" | head -n 1)
	[ -n "$qpid" ] && break
	sleep 0.1
done
[ -n "$qpid" ] || fail "QEMU did not start"
killed=0
while kill -0 "$qpid" 2>/dev/null; do
	if [ "$(grep -c 'L2-ACK ' "$WORK/raw.log")" -ge "$CRASH_ACKS" ]; then
		kill -KILL "$qpid"
		killed=1
		break
	fi
	sleep 0.2
done
wait "$tpid"
tr -d '\r' <"$WORK/raw.log" >"$WORK/console.log"
LOG=$WORK/console.log
echo "INFO: [$(now)s] L1 $([ $killed = 1 ] && echo killed || echo ended by itself)" >&2
if [ $killed = 0 ]; then
	tail -n 40 "$LOG" >&2
	grep -q '^L1-C-MOUNTED' "$LOG" || fail "L1 did not mount its disk ($(grep L1-C-INSMOD-FAIL "$LOG" | tr '\n' ' '))"
	fail "L1 ended before $CRASH_ACKS acknowledged flushes ($(grep -c 'L2-ACK ' "$LOG") seen)"
fi
grep -q 'L2-WRITE-FAIL' "$LOG" && fail "a write or flush failed in L2: $(grep -m1 -o 'L2-WRITE-FAIL.*' "$LOG")"

# --- after the crash ----------------------------------------------------------------
cp --sparse=always "$WORK/l1disk.img" "$WORK/after.img"
e2fsck -fy "$WORK/after.img" >"$WORK/fsck.log" 2>&1
[ $? -le 1 ] || fail "L1's file system cannot be recovered: $(tail -n 3 "$WORK/fsck.log" | tr '\n' ' ')"
debugfs -R "dump /disk.qcow2 $WORK/after.qcow2" "$WORK/after.img" >/dev/null 2>&1
[ -s "$WORK/after.qcow2" ] || fail "disk.qcow2 is gone from L1's file system"
qemu-img check "$WORK/after.qcow2" >"$WORK/check.log" 2>&1
rc=$?
case $rc in
0|3) ;;
*) fail "qemu-img check status $rc: $(grep -v '^$' "$WORK/check.log" | head -n 5 | tr '\n' ' ')" ;;
esac
leaks=$(sed -n 's/^\([0-9]*\) leaked clusters.*/\1/p' "$WORK/check.log")
qemu-img convert -f qcow2 -O raw "$WORK/after.qcow2" "$WORK/after.raw" || fail "qemu-img convert failed"

# crash_block SEQ BLOCK: the bytes crash-l2.sh writes.
crash_block() { yes "$(printf '%-63s' "lkvm-crash seq=$1 blk=$2")" | head -c 4096; }
nb=$((DISK_MB * 256))
# block_of SEQ: where crash-l2.sh writes that number.
block_of() {
	if [ $(($1 % 2)) = 1 ]; then
		echo $((256 + ($1 * 7919) % (nb - 256)))
	else
		echo $((($1 * 7 / 2) % 16))
	fi
}
# The last acknowledged number of each block, from whole lines only: the
# kill may cut the last one short, and a cut number must not count.
[ -z "$(tail -c 1 "$LOG")" ] || sed -i '$d' "$LOG"
grep -ao 'L2-ACK [0-9]* [0-9]*$' "$LOG" |
	awk '{ last[$3] = $2 } END { for (b in last) print b, last[b] }' | sort -n >"$WORK/acked"
nacked=$(grep -ac 'L2-ACK ' "$LOG")
bad=0
: >"$WORK/bad"
while read -r b s; do
	if [ "$(block_of "$s")" != "$b" ]; then
		bad=$((bad + 1))
		echo "ack $s for block $b is garbled" >>"$WORK/bad"
		continue
	fi
	dd if="$WORK/after.raw" bs=4096 skip="$b" count=1 status=none >"$WORK/got"
	got=$(head -c 63 "$WORK/got" | sed -n 's/^lkvm-crash seq=\([0-9]*\) blk=\([0-9]*\) *$/\1 \2/p')
	gs=${got% *}
	if [ -z "$got" ] || [ "${got#* }" != "$b" ] || [ "$gs" -lt "$s" ] ||
		[ "$(block_of "$gs")" != "$b" ] || ! crash_block "$gs" "$b" | cmp -s - "$WORK/got"; then
		bad=$((bad + 1))
		echo "block $b: flush of write $s acknowledged, holds '$(head -c 40 "$WORK/got" | tr -c '[:print:]' '.')'" >>"$WORK/bad"
	fi
done <"$WORK/acked"
nblocks=$(wc -l <"$WORK/acked")
echo "INFO: nested/$CASE: $nacked acknowledged flushes ($nblocks blocks) before the kill, ${leaks:-0} leaked clusters, $(now)s" >&2
[ "$bad" = 0 ] || fail "$bad of $nblocks acknowledged blocks lost or wrong: $(head -n 3 "$WORK/bad" | tr '\n' ';')"
echo "PASS: nested/$CASE"

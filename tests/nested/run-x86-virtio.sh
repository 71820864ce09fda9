#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Nested tier, virtio devices (x86_64): the Debian kernel as lkvm's L2 guest
# uses virtio-blk, virtio-rng and virtio-console, over virtio-pci and over
# virtio-mmio found through ACPI. Runs like run-x86.sh (directly on a
# hardware /dev/kvm, otherwise inside one QEMU TCG L1) and shares lib.sh.
#
# Three L2 boots, several checks each (virtio-init.sh is L2's /init, loading
# the modules before l2-init.sh; virtio-l2.sh runs the checks inside L2):
#   virtio-pci    -c 2 -d rw.img -d ro.img,ro --rng
#                 blk-ext4  ext4 on vda: files written, synced, unmounted and
#                           read back in L2; after lkvm exits the image is
#                           checked on this host (e2fsck, debugfs cat)
#                 blk-mq    2 queues for 2 vCPUs, each used (its interrupts)
#                 blk-ro    vdb is read-only in L2: rw mount and writes
#                           fail, and the image is unchanged afterwards
#                 hwrng     /dev/hwrng is virtio_rng and gives random bytes
#   console-hvc0  --console virtio: init's output and a line of input (lkvm's
#                 stdin) go through hvc0 (ttyS0 sends nothing once init runs)
#   qcow2         -d q.qcow2 (64 MiB, a raw backing file of 16 MiB, relative
#                 name): blk-qcow2  L2 writes with dd (whole clusters, a
#                           partial one, past the backing file), fsyncs,
#                           discards and reads the whole disk back; on this
#                           host qemu-img check finds no error and qemu-img
#                           convert gives exactly the disk L2 wrote (rebuilt
#                           here) and read (its md5)
#   qcow2-root    -d root.qcow2 -p "root=/dev/vda rw": a Debian-style boot
#                 from a qcow2 overlay whose backing file (relative name) is
#                 a compressed qcow2 (qemu-img convert -c) of an ext4 root
#                 made here (busybox, qroot-l2.sh as /sbin/init):
#                 blk-qcow2-root  virtio-init.sh mounts vda and switches
#                           to it; L2 reads the base's files, writes new
#                           ones, rewrites and deletes some, syncs, remounts
#                           / read-only and powers off; on this host
#                           qemu-img check finds no error in either image,
#                           the base is byte for byte unchanged, and the
#                           overlay converted to raw is a clean ext4 holding
#                           exactly what L2 wrote (e2fsck, debugfs)
#   mmio-acpi     --virtio-transport mmio --virtio-mmio-msi -d rw.img --rng:
#                 disk and rng found as ACPI LNRO0005 devices, the files of
#                 the pci run read back, a file written and synced (not
#                 unmounted: found on this host after a journal replay),
#                 hwrng works; the device offers feature bits 39/40 (read
#                 from its registers) and Linux accepts neither
#
# In nested mode the images reach L1 on a QEMU virtio disk ("xfer": slot 0
# is the image made here) and L1 writes rw.img back after each writing run
# (slots 1 and 2), so the data is checked on this host, outside any guest.
# Slot 3 brings the qcow2 case's backing file and image, slot 4 takes the
# image back (its size in an L1-V-QCOW2-BYTES line). Slot 5 brings the
# qcow2-root run's two images (a tar), slot 6 takes them back
# (L1-V-QROOT-BYTES).
#
# Usage: tests/nested/run-x86-virtio.sh [LKVM_REPO]
# stdout: one "PASS|FAIL|SKIP: nested/<check>[: why]" line per check.
# Exit status: 0 when no check failed.
# Knobs (besides lib.sh's): LKVM_VIRTIO_RUNS="virtio-pci ..." runs a subset
# (the other runs' checks are SKIPped); LKVM_VIRTIO_WATCHDOG=SECS makes L2
# dump its blocked tasks, interrupts and blk-mq state that long after its
# checks start, to see where a hang is. LKVM_CASE_TIMEOUT defaults to 150 s
# here: an L2 boot alone can take a minute when the host is busy.

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "${1:-$HERE/../..}" && pwd) || exit 2
LKVM_CASE_TIMEOUT=${LKVM_CASE_TIMEOUT:-150}	# before lib.sh sets its 90
# shellcheck source=tests/nested/lib.sh
. "$HERE/lib.sh"
PATH=$PATH:/usr/sbin:/sbin

CHECKS="blk-ext4 blk-mq blk-ro hwrng console-hvc0 blk-qcow2 blk-qcow2-root mmio-acpi pvpanic"
RUNS=${LKVM_VIRTIO_RUNS:-virtio-pci console-hvc0 qcow2 qcow2-root mmio-acpi pvpanic}
WATCHDOG=${LKVM_VIRTIO_WATCHDOG:+ lkvmtest.watchdog=$LKVM_VIRTIO_WATCHDOG}
IMG_MB=64
L2_MODULES="virtio_pci virtio_mmio virtio_blk virtio_console virtio_rng crc32c_generic ext4 pvpanic_mmio"

nested_begin nested-virtio "" CHECKS
nested_build_x86
for t in mkfs.ext4 debugfs e2fsck dumpe2fs; do
	command -v $t >/dev/null ||
		all_cases SKIP "$t not installed (e2fsprogs; scripts/install-deps.sh)"
done

# --- images -------------------------------------------------------------------
lkvm_fetch_guest x86_64 || all_cases SKIP "cannot fetch the Debian guest kernel or busybox"

ov=$WORK/l2-overlay
mkdir -p "$ov/lkvmtest.d"
install -m 755 "$HERE/virtio-init.sh" "$ov/init"
install -m 755 "$HERE/l2-init.sh" "$ov/l2-init.sh"
install -m 755 "$HERE/virtio-l2.sh" "$ov/lkvmtest.d/virtio.sh"
lkvm_build_l2_initrd "$WORK/virtio.cpio" --modules "$L2_MODULES" --overlay "$ov" ||
	all_cases FAIL "cannot build the L2 initramfs"

# The disk: ext4 holding seed.bin, made here.
mkdir -p "$WORK/seed"
head -c 262144 /dev/urandom >"$WORK/seed/seed.bin"
SEED_MD5=$(md5sum <"$WORK/seed/seed.bin" | cut -d' ' -f1)
if ! mkfs.ext4 -q -F -L lkvmtest -d "$WORK/seed" "$WORK/disk.img" ${IMG_MB}M >"$WORK/mkfs.log" 2>&1; then
	cat "$WORK/mkfs.log" >&2
	all_cases FAIL "mkfs.ext4 failed"
fi
IMG_MD5=$(md5sum <"$WORK/disk.img" | cut -d' ' -f1)

# The qcow2 case: q.qcow2 over base.raw (16 MiB of random bytes, named
# relative to the image), and the 64 MiB disk L2 should leave behind.
Q_BASE_MB=16
mkdir -p "$WORK/q"
head -c $((Q_BASE_MB << 20)) /dev/urandom >"$WORK/q/base.raw"
HAVE_QEMU_IMG=0
if command -v qemu-img >/dev/null &&
	(cd "$WORK/q" && qemu-img create -q -f qcow2 -b base.raw -F raw q.qcow2 ${IMG_MB}M); then
	HAVE_QEMU_IMG=1
	Q_BYTES=$(stat -c %s "$WORK/q/q.qcow2")
	cp "$WORK/q/base.raw" "$WORK/q/expected.raw"
	truncate -s ${IMG_MB}M "$WORK/q/expected.raw"
	yes lkvm-qcow2 | head -c 8388608 >"$WORK/q/a"
	yes B | head -c 1536 >"$WORK/q/b"
	dd if="$WORK/q/a" of="$WORK/q/expected.raw" bs=1M seek=4 conv=notrunc status=none
	dd if="$WORK/q/b" of="$WORK/q/expected.raw" bs=512 seek=1 conv=notrunc status=none
	dd if="$WORK/q/a" of="$WORK/q/expected.raw" bs=1M seek=40 count=2 conv=notrunc status=none
	# The discarded MiB reads as zeroes (v3 image over a backing file).
	dd if=/dev/zero of="$WORK/q/expected.raw" bs=1M seek=8 count=1 conv=notrunc status=none
fi
# The qcow2-root run: an ext4 root (busybox, qroot-l2.sh as /sbin/init, a
# marker to rewrite and a file to delete) compressed into qroot/base.qcow2,
# under qroot/root.qcow2 (backing file named relative to it), as a
# distribution's cloud image and a VM's overlay of it. QR_TAR carries both.
QR_MB=32
if [ $HAVE_QEMU_IMG = 1 ]; then
	qr=$WORK/qroot-tree
	lkvm_busybox_skeleton "$qr"
	rm -f "$qr/bin/init"
	install -m 755 "$HERE/qroot-l2.sh" "$qr/bin/init"
	echo lkvm-qroot-base >"$qr/etc/lkvm-qroot-marker"
	echo to-be-deleted >"$qr/etc/lkvm-qroot-gone"
	mkdir -p "$WORK/qroot"
	if ! mkfs.ext4 -q -F -L lkvmqroot -d "$qr" "$WORK/qroot.ext4" ${QR_MB}M >"$WORK/mkfs-qr.log" 2>&1 ||
		! qemu-img convert -q -c -f raw -O qcow2 "$WORK/qroot.ext4" "$WORK/qroot/base.qcow2" ||
		! (cd "$WORK/qroot" && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 root.qcow2); then
		cat "$WORK/mkfs-qr.log" >&2
		all_cases FAIL "cannot make the qcow2-root run's images"
	fi
	QR_BASE_SHA=$(sha256sum <"$WORK/qroot/base.qcow2" | cut -d' ' -f1)
	QR_TAR=$WORK/qroot-in.tar
	tar -C "$WORK/qroot" -cf "$QR_TAR" base.qcow2 root.qcow2
	QR_TAR_BYTES=$(stat -c %s "$QR_TAR")
	QR_A_MD5=$(yes lkvm-qroot-a | head -c 3000000 | md5sum | cut -d' ' -f1)
	QR_BB_MD5=$(md5sum <"$LKVM_BUSYBOX" | cut -d' ' -f1)
fi
HVC_TOKEN=hvc-in-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')

# --- the case list --------------------------------------------------------------
want_run() { case " $RUNS " in *" $1 "*) return 0 ;; esac; return 1; }
# Where lkvm runs, V_IMG holds rw.img and ro.img (copies of disk.img) and
# hvc-in.txt; v_save N puts rw.img where this script finds it as slotN.img.
{
	echo "LKVM_CASE_TIMEOUT=$LKVM_CASE_TIMEOUT"
	if [ "$LKVM_MODE" = nested ]; then
		cat <<-EOF
		V_IMG=/tmp/virtio
		mkdir -p \$V_IMG
		while read -r m a; do
			insmod /lib/xfer-modules/\$m \$a || echo "L1-V-INSMOD-FAIL \$m"
		done </lib/xfer-modules/order
		i=0
		while [ ! -b /dev/vda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done
		dd if=/dev/vda of=\$V_IMG/rw.img bs=1M count=$IMG_MB 2>/dev/null
		v_save() {
			dd if=\$V_IMG/rw.img of=/dev/vda bs=1M seek=\$(($IMG_MB * \$1)) conv=notrunc,fsync 2>/dev/null &&
				echo "L1-V-SAVED slot\$1"
		}
		q_load() {
			dd if=/dev/vda of=\$V_IMG/base.raw bs=1M skip=$((IMG_MB * 3)) count=$Q_BASE_MB 2>/dev/null
			dd if=/dev/vda bs=1M skip=$((IMG_MB * 3 + Q_BASE_MB)) count=$IMG_MB 2>/dev/null |
				head -c \$1 >\$V_IMG/q.qcow2
		}
		q_save() {
			dd if=\$V_IMG/q.qcow2 of=/dev/vda bs=1M seek=$((IMG_MB * 4)) conv=notrunc,fsync 2>/dev/null &&
				echo "L1-V-QCOW2-BYTES=\$(wc -c <\$V_IMG/q.qcow2)"
		}
		qr_load() {
			mkdir -p \$V_IMG/qroot
			dd if=/dev/vda bs=1M skip=$((IMG_MB * 5)) count=$IMG_MB 2>/dev/null |
				head -c \$1 | tar -x -C \$V_IMG/qroot
		}
		qr_save() {
			tar -c -C \$V_IMG/qroot -f \$V_IMG/qroot-out.tar base.qcow2 root.qcow2 &&
			dd if=\$V_IMG/qroot-out.tar of=/dev/vda bs=1M seek=$((IMG_MB * 6)) conv=notrunc,fsync 2>/dev/null &&
				echo "L1-V-QROOT-BYTES=\$(wc -c <\$V_IMG/qroot-out.tar)"
		}
		EOF
	else
		cat <<-EOF
		V_IMG=$WORK/img
		mkdir -p \$V_IMG
		cp $WORK/disk.img \$V_IMG/rw.img
		v_save() { cp \$V_IMG/rw.img $WORK/slot\$1.img && echo "L1-V-SAVED slot\$1"; }
		q_load() { cp $WORK/q/base.raw $WORK/q/q.qcow2 \$V_IMG/; }
		q_save() { cp \$V_IMG/q.qcow2 $WORK/q-back.qcow2 && echo "L1-V-QCOW2-BYTES=\$(wc -c <\$V_IMG/q.qcow2)"; }
		qr_load() { mkdir -p \$V_IMG/qroot && tar -x -C \$V_IMG/qroot -f $QR_TAR; }
		qr_save() { tar -c -C \$V_IMG/qroot -f $WORK/qroot-out.tar base.qcow2 root.qcow2 && echo "L1-V-QROOT-BYTES=\$(wc -c <$WORK/qroot-out.tar)"; }
		EOF
	fi
	cat <<-EOF
	cp \$V_IMG/rw.img \$V_IMG/ro.img
	echo $HVC_TOKEN >\$V_IMG/hvc-in.txt
	EOF
	want_run virtio-pci && cat <<-EOF
	run_case virtio-pci '\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c 2 -m 512 -d \$V_IMG/rw.img -d \$V_IMG/ro.img,ro --rng -p "quiet lkvmtest.virtio=pci$WATCHDOG"'
	echo "L1-V-RO-MD5-AFTER=\$(md5sum <\$V_IMG/ro.img | cut -d' ' -f1)"
	v_save 1
	EOF
	want_run console-hvc0 && cat <<-EOF
	run_case console-hvc0 '\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c 1 -m 256 --console virtio -p "quiet lkvmtest.virtio=console lkvmtest.hvc_in=1$WATCHDOG" <\$V_IMG/hvc-in.txt'
	EOF
	want_run qcow2 && [ $HAVE_QEMU_IMG = 1 ] && cat <<-EOF
	q_load $Q_BYTES
	run_case qcow2 '\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c 1 -m 256 -d \$V_IMG/q.qcow2 -p "quiet lkvmtest.virtio=qcow2$WATCHDOG"'
	q_save
	EOF
	want_run qcow2-root && [ $HAVE_QEMU_IMG = 1 ] && cat <<-EOF
	qr_load $QR_TAR_BYTES
	run_case qcow2-root '\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c 1 -m 256 -d \$V_IMG/qroot/root.qcow2 -p "quiet root=/dev/vda rw"'
	qr_save
	EOF
	want_run mmio-acpi && cat <<-EOF
	run_case mmio-acpi '\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c 2 -m 512 --virtio-transport mmio --virtio-mmio-msi -d \$V_IMG/rw.img --rng -p "quiet lkvmtest.virtio=mmio$WATCHDOG"'
	v_save 2
	EOF
	want_run pvpanic && cat <<-EOF
	run_case pvpanic '\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c 1 -m 256 -p "quiet lkvmtest.action=panic"'
	EOF
} >"$WORK/cases.sh"

# --- run ----------------------------------------------------------------------
LOG=$WORK/console.log
nruns=$(echo "$RUNS" | wc -w)
if [ "$LKVM_MODE" = nested ]; then
	l1ov=$WORK/l1-overlay
	mkdir -p "$l1ov/lib"
	lkvm_stage_modules "$LKVM_L1_KROOT" "$LKVM_L1_KVER" "$l1ov/lib/xfer-modules" virtio_pci virtio_blk ||
		all_cases FAIL "cannot stage L1's virtio modules"
	lkvm_build_l1_initrd "$WORK/l1.cpio" "$LKVM_BIN" "$WORK/virtio.cpio" "$WORK/cases.sh" "$l1ov" ||
		all_cases FAIL "cannot build the L1 initramfs"
	# Slot 0: the image; 1 and 2: rw.img after the pci and mmio runs;
	# 3: the qcow2 case's backing file and image, 4: that image afterwards;
	# 5 and 6: the qcow2-root run's images, before and after.
	truncate -s $((7 * IMG_MB))M "$WORK/xfer.img"
	dd if="$WORK/disk.img" of="$WORK/xfer.img" conv=notrunc,sparse bs=1M status=none
	if [ $HAVE_QEMU_IMG = 1 ]; then
		dd if="$WORK/q/base.raw" of="$WORK/xfer.img" bs=1M seek=$((3 * IMG_MB)) \
			conv=notrunc status=none
		dd if="$WORK/q/q.qcow2" of="$WORK/xfer.img" bs=1M seek=$((3 * IMG_MB + Q_BASE_MB)) \
			conv=notrunc status=none
		dd if="$QR_TAR" of="$WORK/xfer.img" bs=1M seek=$((5 * IMG_MB)) \
			conv=notrunc status=none
	fi
	echo "INFO: [$(now)s] booting L1 (QEMU TCG) with $nruns lkvm run(s)" >&2
	LKVM_L1_QEMU_ARGS="-drive file=$WORK/xfer.img,format=raw,if=none,id=xfer -device virtio-blk-pci,drive=xfer" \
		lkvm_run_l1 "$WORK/l1.cpio" "$LOG" $((120 + nruns * (LKVM_CASE_TIMEOUT + 10)))
	qrc=$?
	echo "INFO: [$(now)s] L1 finished (qemu status $qrc)" >&2
	if ! grep -q '^L1-KVM-OK' "$LOG"; then
		tail -n 40 "$LOG" >&2
		all_cases FAIL "L1 did not come up with /dev/kvm (qemu status $qrc)"
	fi
	for n in 1 2; do
		if grep -q "^L1-V-SAVED slot$n" "$LOG"; then
			dd if="$WORK/xfer.img" of="$WORK/slot$n.img" bs=1M skip=$((n * IMG_MB)) \
				count=$IMG_MB status=none
		fi
	done
	n=$(sed -n 's/^L1-V-QCOW2-BYTES=//p' "$LOG" | tr -d '\r' | head -n 1)
	if [ -n "$n" ]; then
		dd if="$WORK/xfer.img" bs=1M skip=$((4 * IMG_MB)) count=$IMG_MB status=none |
			head -c "$n" >"$WORK/q-back.qcow2"
	fi
	n=$(sed -n 's/^L1-V-QROOT-BYTES=//p' "$LOG" | tr -d '\r' | head -n 1)
	if [ -n "$n" ]; then
		dd if="$WORK/xfer.img" bs=1M skip=$((6 * IMG_MB)) count=$IMG_MB status=none |
			head -c "$n" >"$WORK/qroot-out.tar"
	fi
else
	echo "INFO: [$(now)s] running $nruns lkvm run(s) on this host" >&2
	lkvm_run_direct "$WORK/cases.sh" "$LOG" "$LKVM_BIN" "$WORK/virtio.cpio"
fi

# --- verdicts -----------------------------------------------------------------
# L1-V-KEY value from the log (outside any case).
l1v() { sed -n "s/^L1-V-$1=//p" "$LOG" | head -n 1; }
# L2-V-KEY value from a run's output (spaces kept).
v() { printf '%s\n' "$1" | sed -n "s/^.*L2-V-$2=//p" | head -n 1; }

# The pvpanic run: L2 panics on purpose; lkvm must end with status 2 (guest
# crash) through its pvpanic device, not hang until the case timeout.
pvpanic_problem() {
	local out status bound
	out=$(lkvm_case_output "$LOG" pvpanic)
	status=$(lkvm_case_status "$LOG" pvpanic)
	bound=$(printf '%s\n' "$out" | sed -n 's/^.*L2-PVPANIC-BOUND=//p' | head -n 1)
	[ -n "$status" ] || { echo "run pvpanic did not finish"; return; }
	lkvm_case_timed_out "$LOG" pvpanic &&
		{ echo "lkvm did not notice the guest's panic (timed out after ${LKVM_CASE_TIMEOUT}s; pvpanic bound: ${bound:-?})"; return; }
	[ "$bound" = 1 ] ||
		{ echo "pvpanic-mmio did not bind to lkvm's QEMU0001 device in L2"; return; }
	printf '%s\n' "$out" | grep -q 'Kernel panic' ||
		{ echo "L2 did not panic (lkvm status $status)"; return; }
	printf '%s\n' "$out" | grep -q 'lkvm: guest kernel panicked' ||
		{ echo "lkvm did not report the panic (status $status)"; return; }
	[ "$status" = 2 ] || echo "lkvm exit status $status after the guest's panic, want 2"
}

# Why a run as a whole failed (did not finish, panicked, lkvm failed), or
# nothing. Its checks all fail with this reason.
run_problem() {
	local r=$1 out status mode panic
	[ "$r" = pvpanic ] && { pvpanic_problem; return; }
	[ "$r" = qcow2-root ] && { qroot_problem; return; }
	out=$(lkvm_case_output "$LOG" "$r")
	status=$(lkvm_case_status "$LOG" "$r")
	case "$r" in
	virtio-pci) mode=pci ;; console-hvc0) mode=console ;; mmio-acpi) mode=mmio ;;
	qcow2) mode=qcow2 ;;
	esac
	if [ -z "$status" ]; then
		if grep -q "L1-BEGIN $r\$" "$LOG"; then
			echo "run $r did not finish (L1 stopped or timed out during it)"
		else
			echo "run $r never started"
		fi
		return
	fi
	if lkvm_case_timed_out "$LOG" "$r"; then
		echo "run $r timed out after ${LKVM_CASE_TIMEOUT}s (last L2-V line: $(printf '%s\n' "$out" | grep 'L2-V-' | tail -n 1))"
		return
	fi
	panic=$(lkvm_l2_panic "$out") && { echo "run $r: $panic"; return; }
	printf '%s\n' "$out" | grep -q 'L2-INIT-REACHED' ||
		{ echo "run $r: no output from L2's /init (lkvm status $status)"; return; }
	[ "$(v "$out" DONE)" = "$mode" ] ||
		{ echo "run $r: L2's checks did not finish (lkvm status $status)"; return; }
	[ -z "$(v "$out" INSMOD-FAIL)" ] ||
		{ echo "run $r: insmod failed in L2: $(v "$out" INSMOD-FAIL)"; return; }
	# (L2-KMSG-ACTION too: a kernel message can split the L2-ACTION line.)
	printf '%s\n' "$out" | grep -q 'L2-\(KMSG-\)\{0,1\}ACTION=poweroff' ||
		{ echo "run $r: L2 did not get to its poweroff"; return; }
	[ "$status" = 0 ] || { echo "run $r: lkvm exit status $status after L2's poweroff"; return; }
}

# The qcow2-root run: its own /sbin/init (qroot-l2.sh), no l2-init.sh.
qroot_problem() {
	local out status
	out=$(lkvm_case_output "$LOG" qcow2-root)
	status=$(lkvm_case_status "$LOG" qcow2-root)
	[ -n "$status" ] || { echo "run qcow2-root did not finish or never started"; return; }
	lkvm_case_timed_out "$LOG" qcow2-root &&
		{ echo "run qcow2-root timed out after ${LKVM_CASE_TIMEOUT}s (last L2-V line: $(printf '%s\n' "$out" | grep 'L2-V-' | tail -n 1))"; return; }
	printf '%s\n' "$out" | grep -q 'Kernel panic' &&
		{ echo "run qcow2-root: L2 kernel panic: $(printf '%s\n' "$out" | grep -m1 'Kernel panic')"; return; }
	[ -z "$(v "$out" QR-MOUNT-FAIL)" ] ||
		{ echo "run qcow2-root: the initramfs could not mount vda (modules that failed: $(v "$out" QR-MOUNT-FAIL))"; return; }
	[ "$(v "$out" QR-DONE)" = qroot ] ||
		{ echo "run qcow2-root: the root's /sbin/init did not finish (lkvm status $status)"; return; }
	[ "$status" = 0 ] || echo "run qcow2-root: lkvm exit status $status after L2's poweroff"
}

# qroot_image_problem: the qcow2-root run's images on this host.
qroot_image_problem() {
	local d=$WORK/qroot-out got
	[ -s "$WORK/qroot-out.tar" ] || { echo "the images did not come back from L1"; return; }
	mkdir -p "$d" && tar -x -C "$d" -f "$WORK/qroot-out.tar" ||
		{ echo "cannot unpack the images L1 sent back"; return; }
	got=$(sha256sum <"$d/base.qcow2" | cut -d' ' -f1)
	[ "$got" = "$QR_BASE_SHA" ] || { echo "base.qcow2 changed under its overlay"; return; }
	for got in base root; do
		qemu-img check "$d/$got.qcow2" >"$WORK/qr-check-$got.log" 2>&1 ||
			{ echo "qemu-img check $got.qcow2: $(tr '\n' ' ' <"$WORK/qr-check-$got.log")"; return; }
	done
	grep -q 'compressed clusters' "$WORK/qr-check-base.log" &&
		! grep -q ' 0\.00% compressed' "$WORK/qr-check-base.log" ||
		{ echo "base.qcow2 has no compressed clusters: $(tail -n 1 "$WORK/qr-check-base.log")"; return; }
	got=$(qemu-img info --output=json "$d/root.qcow2" | sed -n 's/^ *"backing-filename": "\(.*\)",*$/\1/p')
	[ "$got" = base.qcow2 ] || { echo "root.qcow2's backing file is now '$got', want base.qcow2"; return; }
	qemu-img convert -f qcow2 -O raw "$d/root.qcow2" "$d/root.raw" ||
		{ echo "qemu-img convert of root.qcow2 failed"; return; }
	e2fsck -fn "$d/root.raw" >"$WORK/qr-fsck.log" 2>&1
	if [ $? != 0 ] || grep -q -e 'Fix? no' -e 'journal recovery' "$WORK/qr-fsck.log"; then
		echo "the root file system is not clean: $(grep -v '^Pass\|^e2fsck\|^lkvmqroot' "$WORK/qr-fsck.log" | head -n 3 | tr '\n' ' ')"
		return
	fi
	got=$(debugfs -R "cat /data/a" "$d/root.raw" 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$got" = "$QR_A_MD5" ] || { echo "/data/a in the image has md5 $got, want $QR_A_MD5"; return; }
	got=$(debugfs -R "cat /data/busybox.copy" "$d/root.raw" 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$got" = "$QR_BB_MD5" ] || { echo "/data/busybox.copy in the image has md5 $got, want $QR_BB_MD5"; return; }
	file_problem "$d/root.raw" /etc/lkvm-qroot-marker rewritten-by-l2
	debugfs -R "stat /etc/lkvm-qroot-gone" "$d/root.raw" 2>&1 | grep -q 'File not found' ||
		echo "/etc/lkvm-qroot-gone, deleted by L2, is still in the image"
}

# rng_problem OUTPUT: why the hwrng checks failed, or nothing.
rng_problem() {
	local out=$1 cur n d
	cur=$(v "$out" RNG-CURRENT)
	case "$cur" in
	virtio_rng*) ;;
	*) echo "rng_current is '$cur', not virtio_rng (available: $(v "$out" RNG-AVAILABLE))"; return ;;
	esac
	n=$(v "$out" RNG-BYTES)
	[ "$n" = 4096 ] || { echo "read $n bytes of 4096 from /dev/hwrng"; return; }
	d=$(v "$out" RNG-DISTINCT)
	[ "${d:-0}" -ge 200 ] || { echo "4096 bytes from /dev/hwrng hold only ${d:-0} distinct values"; return; }
	[ "$(v "$out" RNG-REPEAT)" = differ ] ||
		{ echo "two reads of /dev/hwrng gave the same bytes"; return; }
}

# file_problem IMAGE PATH WANT: IMAGE's PATH must read WANT (debugfs).
file_problem() {
	local got
	got=$(debugfs -R "cat $2" "$1" 2>/dev/null)
	[ "$got" = "$3" ] || echo "$2 in the image reads '$got', want '$3'"
}

check() {
	local c=$1 out p q got secs run
	case "$c" in
	console-hvc0|mmio-acpi|pvpanic) run=$c ;;
	blk-qcow2) run=qcow2 ;;
	blk-qcow2-root) run=qcow2-root ;;
	*) run=virtio-pci ;;
	esac
	want_run "$run" || { echo "SKIP:run $run not selected (LKVM_VIRTIO_RUNS)"; return; }
	case "$run" in qcow2*) [ $HAVE_QEMU_IMG = 0 ] ;; *) false ;; esac &&
		{ echo "SKIP:qemu-img not installed (qemu-utils; scripts/install-deps.sh)"; return; }
	p=$(run_problem "$run")
	[ -n "$p" ] && { echo "$p"; return; }
	out=$(lkvm_case_output "$LOG" "$run")
	case "$c" in
	pvpanic) ;;	# all in run_problem
	blk-qcow2-root)
		[ "$(v "$out" QR-ROOT)" = "/dev/vda ext4 rw" ] ||
			{ echo "L2's / is '$(v "$out" QR-ROOT)', want /dev/vda ext4 rw"; return; }
		[ "$(v "$out" QR-MARKER)" = lkvm-qroot-base ] ||
			{ echo "the base's marker reads '$(v "$out" QR-MARKER)' in L2"; return; }
		[ "$(v "$out" QR-BUSYBOX-MD5)" = "$QR_BB_MD5" ] ||
			{ echo "/bin/busybox (compressed in the base) reads back with md5 $(v "$out" QR-BUSYBOX-MD5) in L2, want $QR_BB_MD5"; return; }
		[ "$(v "$out" QR-WRITE)" = ok ] || { echo "L2's writes to its root failed"; return; }
		[ "$(v "$out" QR-A-MD5)" = "$QR_A_MD5" ] ||
			{ echo "/data/a reads back with md5 $(v "$out" QR-A-MD5) in L2, want $QR_A_MD5"; return; }
		[ "$(v "$out" QR-REMOUNT-RO)" = ok ] || { echo "L2 could not remount / read-only"; return; }
		qroot_image_problem
		;;
	blk-qcow2)
		[ "$(v "$out" Q-SIZE)" = $((IMG_MB * 2048)) ] ||
			{ echo "vda has $(v "$out" Q-SIZE) sectors, want $((IMG_MB * 2048)) (the virtual size)"; return; }
		for q in WRITE-A WRITE-B WRITE-C DISCARD; do
			[ "$(v "$out" Q-$q)" = ok ] || { echo "L2's $q on the qcow2 disk failed"; return; }
		done
		got=$(md5sum <"$WORK/q/expected.raw" | cut -d' ' -f1)
		[ "$(v "$out" Q-MD5)" = "$got" ] ||
			{ echo "L2 read back a disk with md5 $(v "$out" Q-MD5), want $got"; return; }
		[ -s "$WORK/q-back.qcow2" ] || { echo "q.qcow2 did not come back from L1"; return; }
		# Checked next to its backing file, as qemu-img resolves the name.
		cp "$WORK/q-back.qcow2" "$WORK/q/back.qcow2"
		qemu-img check "$WORK/q/back.qcow2" >"$WORK/q/check.log" 2>&1 ||
			{ echo "qemu-img check: $(tr '\n' ' ' <"$WORK/q/check.log")"; return; }
		qemu-img convert -O raw "$WORK/q/back.qcow2" "$WORK/q/back.raw" ||
			{ echo "qemu-img convert failed"; return; }
		cmp -s "$WORK/q/back.raw" "$WORK/q/expected.raw" ||
			{ echo "qemu-img sees other bytes than L2 wrote: $(cmp "$WORK/q/back.raw" "$WORK/q/expected.raw" 2>&1 | head -n 1)"; return; }
		;;
	blk-ext4)
		[ "$(v "$out" RW-MOUNT)" = ok ] || { echo "mounting vda (ext4) failed in L2"; return; }
		[ "$(v "$out" RW-RO)" = 0 ] || { echo "vda is read-only in L2 (ro=$(v "$out" RW-RO))"; return; }
		[ "$(v "$out" RW-SIZE)" = $((IMG_MB * 2048)) ] ||
			{ echo "vda has $(v "$out" RW-SIZE) sectors, want $((IMG_MB * 2048))"; return; }
		[ "$(v "$out" RW-SEED-MD5)" = "$SEED_MD5" ] ||
			{ echo "seed.bin reads back wrong in L2 (md5 $(v "$out" RW-SEED-MD5), want $SEED_MD5)"; return; }
		[ -n "$(v "$out" RW-HELLO)" ] && [ -n "$(v "$out" RW-BIG-MD5)" ] ||
			{ echo "L2 did not write its files"; return; }
		[ "$(v "$out" RW-UMOUNT)" = ok ] || { echo "umount failed in L2"; return; }
		[ "$(v "$out" RW-REREAD-HELLO)" = "$(v "$out" RW-HELLO)" ] &&
			[ "$(v "$out" RW-REREAD-BIG-MD5)" = "$(v "$out" RW-BIG-MD5)" ] ||
			{ echo "files read back from vda after remount differ (hello '$(v "$out" RW-REREAD-HELLO)', big.bin md5 $(v "$out" RW-REREAD-BIG-MD5) want $(v "$out" RW-BIG-MD5))"; return; }
		# Outside the guest.
		[ -f "$WORK/slot1.img" ] || { echo "rw.img did not come back from L1"; return; }
		# e2fsck -n exits 0 for some problems it would fix (counts, and a
		# journal left to replay): no "Fix?" and no recovery either.
		e2fsck -fn "$WORK/slot1.img" >"$WORK/fsck1.log" 2>&1
		if [ $? != 0 ] || grep -q -e 'Fix? no' -e 'journal recovery' "$WORK/fsck1.log" ||
			! dumpe2fs -h "$WORK/slot1.img" 2>/dev/null | grep -q '^Filesystem state: *clean$'; then
			echo "the image is not clean after L2's umount (state '$(dumpe2fs -h "$WORK/slot1.img" 2>/dev/null | sed -n 's/^Filesystem state: *//p')'; e2fsck -fn: $(grep -v '^Pass\|^e2fsck\|^lkvmtest' "$WORK/fsck1.log" | head -n 3 | tr '\n' ' '))"
			return
		fi
		q=$(file_problem "$WORK/slot1.img" /hello.txt "$(v "$out" RW-HELLO)")
		[ -n "$q" ] && { echo "$q"; return; }
		got=$(debugfs -R "cat /big.bin" "$WORK/slot1.img" 2>/dev/null | md5sum | cut -d' ' -f1)
		[ "$got" = "$(v "$out" RW-BIG-MD5)" ] ||
			{ echo "big.bin in the image has md5 $got, L2 wrote $(v "$out" RW-BIG-MD5)"; return; }
		;;
	blk-mq)
		[ "$(v "$out" RW-MQ)" = 2 ] ||
			{ echo "vda has $(v "$out" RW-MQ) blk-mq queues with 2 vCPUs, want 2"; return; }
		[ -z "$(v "$out" RW-MQ-READ-FAIL)" ] ||
			{ echo "direct read of vda failed on $(v "$out" RW-MQ-READ-FAIL)"; return; }
		got=$(v "$out" RW-MQ-IRQS)
		printf '%s\n' "$got" | grep -Eq '^req\.0:[1-9][0-9]*,req\.1:[1-9][0-9]*$' ||
			{ echo "both request queues should have interrupted after reads from each vCPU: $got"; return; }
		;;
	blk-ro)
		[ "$(v "$out" RO-RO)" = 1 ] || { echo "/sys/block/vdb/ro is '$(v "$out" RO-RO)', want 1"; return; }
		[ "$(v "$out" RO-MOUNT-RW)" != mounted-rw ] || { echo "vdb mounted read-write"; return; }
		[ "$(v "$out" RO-MOUNT-RO)" = ok ] || { echo "vdb does not mount read-only"; return; }
		[ "$(v "$out" RO-SEED-MD5)" = "$SEED_MD5" ] ||
			{ echo "seed.bin reads back wrong from vdb (md5 $(v "$out" RO-SEED-MD5))"; return; }
		[ "$(v "$out" RO-FS-WRITE)" = refused ] || { echo "a file write on vdb succeeded"; return; }
		[ "$(v "$out" RO-DEV-WRITE)" = refused ] || { echo "a direct write to /dev/vdb succeeded"; return; }
		got=$(l1v RO-MD5-AFTER)
		[ "$got" = "$IMG_MD5" ] || { echo "ro.img changed (md5 $got, was $IMG_MD5)"; return; }
		;;
	hwrng)
		rng_problem "$out"
		;;
	console-hvc0)
		printf '%s\n' "$out" | grep 'L2-CMDLINE=' | grep -q 'console=hvc0' ||
			{ echo "the L2 kernel command line has no console=hvc0"; return; }
		case " $(v "$out" CONSOLE-ACTIVE) " in
		*" hvc0 "*) ;;
		*) echo "L2's active consoles are '$(v "$out" CONSOLE-ACTIVE)', not hvc0"; return ;;
		esac
		[ "$(v "$out" HVC0-DIRECT)" = ok ] || { echo "a line written to /dev/hvc0 did not arrive"; return; }
		[ "$(v "$out" TTYS0-TX)" = 0 ] ||
			{ echo "L2 sent $(v "$out" TTYS0-TX) bytes through ttyS0: its console output did not all go to hvc0"; return; }
		[ "$(v "$out" HVC0-INPUT)" = "[$HVC_TOKEN]" ] ||
			{ echo "L2 read '$(v "$out" HVC0-INPUT)' from hvc0, want [$HVC_TOKEN] (lkvm's stdin)"; return; }
		;;
	mmio-acpi)
		got=$(v "$out" MMIO-PLATFORM)
		[ "$(printf '%s\n' "$got" | tr ' ' '\n' | grep -c '^LNRO0005:')" -ge 2 ] ||
			{ echo "virtio-mmio bound '$got', want 2 LNRO0005 devices"; return; }
		printf '%s\n' "$out" | grep 'L2-DEVICES' | grep -q 'pci=\[[^]]*1af4:' &&
			{ echo "virtio-pci devices present with --virtio-transport mmio"; return; }
		case "$(v "$out" MMIO-VDA)" in
		*/LNRO0005:*/virtio*) ;;
		*) echo "vda is not a virtio-mmio ACPI device: $(v "$out" MMIO-VDA)"; return ;;
		esac
		case "$(v "$out" RNG-VIRTIO)" in
		*/LNRO0005:*/virtio*) ;;
		*) echo "the rng is not a virtio-mmio ACPI device: $(v "$out" RNG-VIRTIO)"; return ;;
		esac
		# The extension's feature bits (39, 40: bits 7, 8 of the high word)
		# were offered, and Linux, which does not know them, took neither.
		got=$(v "$out" MMIO-OFFERED-HI)
		[ -n "$got" ] && [ $((got & 0x180)) = $((0x180)) ] ||
			{ echo "the rng does not offer feature bits 39/40 with --virtio-mmio-msi (DeviceFeatures[63:32] '$got')"; return; }
		q=$(printf '%s\n' "$out" | sed -n 's/.*L2-V-MMIO-FEATURES-virtio[0-9]*=//p' |
			cut -c40-41 | grep -v '^00$')
		[ -z "$q" ] || { echo "Linux accepted feature bit 39 or 40 over virtio-mmio"; return; }
		[ "$(v "$out" RW-MOUNT)" = ok ] || { echo "mounting vda (ext4) failed over virtio-mmio"; return; }
		[ "$(v "$out" RW-SEED-MD5)" = "$SEED_MD5" ] ||
			{ echo "seed.bin reads back wrong over virtio-mmio (md5 $(v "$out" RW-SEED-MD5))"; return; }
		q=$(lkvm_case_output "$LOG" virtio-pci)
		if [ -n "$(v "$q" RW-HELLO)" ]; then
			[ "$(v "$out" RW-READ-HELLO)" = "$(v "$q" RW-HELLO)" ] &&
				[ "$(v "$out" RW-READ-BIG-MD5)" = "$(v "$q" RW-BIG-MD5)" ] ||
				{ echo "the pci run's files read back wrong over virtio-mmio"; return; }
		fi
		p=$(rng_problem "$out")
		[ -n "$p" ] && { echo "$p"; return; }
		[ -n "$(v "$out" RW-MMIO)" ] || { echo "L2 did not write mmio.txt"; return; }
		[ -f "$WORK/slot2.img" ] || { echo "rw.img did not come back from L1"; return; }
		cp "$WORK/slot2.img" "$WORK/slot2-replayed.img"
		e2fsck -fy "$WORK/slot2-replayed.img" >"$WORK/fsck2.log" 2>&1
		[ $? -le 1 ] || { echo "e2fsck -fy cannot repair the image after the mmio run: $(tail -n 3 "$WORK/fsck2.log" | tr '\n' ' ')"; return; }
		q=$(file_problem "$WORK/slot2-replayed.img" /mmio.txt "$(v "$out" RW-MMIO)")
		[ -n "$q" ] && { echo "$q"; return; }
		;;
	esac
}

for c in $CHECKS; do
	why=$(check "$c")
	if [ -z "$why" ]; then
		echo "PASS: nested/$c"
	elif [ "${why#SKIP:}" != "$why" ]; then
		echo "SKIP: nested/$c: ${why#SKIP:}"
	else
		FAILED=1
		echo "FAIL: nested/$c: $why"
	fi
done
for r in $RUNS; do
	secs=$(lkvm_case_secs "$LOG" "$r")
	echo "INFO: nested/$r run: ${secs:-?}s ($LKVM_MODE)" >&2
	if [ -n "$(run_problem "$r")" ] || [ "$FAILED" = 1 ]; then
		nested_console "$LOG" "$r" "run $r"
	fi
done
out=$(lkvm_case_output "$LOG" mmio-acpi)
printf '%s\n' "$out" | sed -n 's/.*L2-V-MMIO-FEATURES-\(virtio[0-9]*\)=\([01]*\).*/\1 \2/p' |
	while read -r dev bits; do
		echo "INFO: mmio-acpi: $dev's driver accepted bit 39: ${bits:39:1}, bit 40: ${bits:40:1}" >&2
	done
echo "INFO: nested virtio checks took $(now)s" >&2
exit "$FAILED"

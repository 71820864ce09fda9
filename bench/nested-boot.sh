#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot path and footprint of a real Linux guest (Debian 6.1, tests/nested's
# busybox initramfs, 2 vCPUs, 512 MiB, `quiet`), lkvm against its peers,
# all booted in the same run the same way. VMMs (NESTED_BOOT_VMMS):
#   lkvm       lkvm, the bzImage (64-bit boot protocol, in-guest xz decompression)
#   lkvm-pvh   lkvm, the vmlinux unpacked from that bzImage, through its PVH entry
#   qemu       QEMU -M microvm, the bzImage
#   qemu-pvh   QEMU -M microvm, the same vmlinux (QEMU's PVH boot)
#   kvmtool    kvmtool, the bzImage, when KVMTOOL names a static kvmtool binary
#              (build it outside this repository: make lkvm-static)
#   lkvm-old   another static lkvm build (LKVM_OLD), the bzImage: a before/after
# Figures:
#   - boot: wall time from starting the VMM to its console showing the
#     guest's L2-INIT-REACHED line, timed where the VMM runs (/proc/uptime,
#     10 ms steps), and the guest's own uptime when /init starts
#     (L2-UPTIME=). RUNS runs of each VMM (default 3), alternating; medians.
#     lkvm also reports its --boot-timings (first KVM_RUN, first console byte).
#   - exec->first KVM_RUN: every VMM once under strace (-ttt: the execve and
#     the first KVM_RUN ioctl), killed at that point.
#   - memory overhead: the VMM's resident memory outside guest RAM, 3 s after
#     the guest's /init started (it then idles): the Rss of every mapping in
#     /proc/PID/smaps smaller than guest RAM; guest RAM is the mappings at
#     least that large. The biggest other mappings are listed on stderr.
#
# It boots the VMMs the way tests/nested does: inside one QEMU TCG L1 guest
# where this host's /dev/kvm is software (lkvm-static and the host's QEMU and
# strace with their libraries copied into L1), on the host where it is
# hardware (LKVM_MODE=direct|nested forces one).
#
# Usage: bench/nested-boot.sh [RUNS]   (RUNS=0: only first KVM_RUN and memory)
# NESTED_BOOT_QEMU_MACHINE: QEMU's -M value (default microvm; acpi=on hangs
# early in some boots of this kernel, see bench/README.md).
set -u
cd "$(dirname "$0")/.." || exit 1
RUNS=${1:-3}
MACHINE=${NESTED_BOOT_QEMU_MACHINE:-microvm}
KVMTOOL=${KVMTOOL:-}
LKVM_OLD=${LKVM_OLD:-}
VMMS=${NESTED_BOOT_VMMS:-"lkvm lkvm-pvh qemu qemu-pvh${KVMTOOL:+ kvmtool}${LKVM_OLD:+ lkvm-old}"}
MEM=512
# shellcheck source=tests/nested/lib.sh
. tests/nested/lib.sh

for t in qemu-system-x86_64 strace; do
	command -v $t >/dev/null ||
		{ echo "bench: needs $t (apt-get install qemu-system-x86 strace)" >&2; exit 1; }
done
case " $VMMS " in
*" kvmtool "*) [ -x "$KVMTOOL" ] || { echo "bench: KVMTOOL='$KVMTOOL' is not an executable" >&2; exit 1; } ;;
esac
case " $VMMS " in
*" lkvm-old "*) [ -x "$LKVM_OLD" ] || { echo "bench: LKVM_OLD='$LKVM_OLD' is not an executable" >&2; exit 1; } ;;
esac
lkvm_bench_build boot
lkvm_fetch_guest x86_64 || exit 1
lkvm_guest_vmlinux || exit 1
lkvm_build_l2_initrd "$WORK/l2.cpio" || exit 1
mkdir -p "$WORK/overlay/bench" "$WORK/overlay/l2"

# Runs a VMM with its output passed through, and prints where it runs the
# uptime at its start (BOOT-T0=) and when the guest's init line went by
# (BOOT-INIT=). POSIX sh: it runs under L1's busybox too. `read` from
# /proc/uptime forks nothing, so the stamp is taken as the line arrives.
cat >"$WORK/overlay/bench/timer.sh" <<'EOF'
#!/bin/sh
set -o pipefail
read -r t0 _ </proc/uptime
echo "BOOT-T0=$t0"
"$@" 2>&1 | {
	seen=0
	while IFS= read -r l || [ -n "$l" ]; do
		if [ "$seen" = 0 ]; then
			case "$l" in
			*L2-INIT-REACHED*)
				read -r t1 _ </proc/uptime
				echo "BOOT-INIT=$t1"
				seen=1
				;;
			esac
		fi
		printf '%s\n' "$l"
	done
}
EOF
# mem.sh RAM_MIB CMD...: start the VMM, 3 s after the guest's init line
# sum its smaps outside guest RAM, list the largest mappings, kill it.
cat >"$WORK/overlay/bench/mem.sh" <<'EOF'
#!/bin/sh
ram=$1
shift
out=/tmp/mem-out.$$
"$@" >"$out" 2>&1 </dev/null &
pid=$!
i=0
while [ $i -lt 600 ] && ! grep -q L2-INIT-REACHED "$out"; do
	sleep 0.1
	i=$((i + 1))
done
sleep 3
awk -v ram=$((ram * 1024)) '
	/^[0-9a-f]+-[0-9a-f]+ / { m = $1 " " $6; kind = ($6 == "") ? "anon" : (($6 ~ /^\[/) ? $6 : "file") }
	/^Size:/ { size = $2; big = $2 >= ram }
	/^Rss:/ {
		if (big) { guest += $2; next }
		other += $2; by[kind] += $2
		if ($2 >= 16) print "MEM-MAP: rss " $2 " KiB size " size " KiB " m
	}
	/^AnonHugePages:/ && !big { thp += $2 }
	END {
		print "MEM-GUEST-KIB=" guest; print "MEM-OVERHEAD-KIB=" other; print "MEM-THP-OUTSIDE-KIB=" thp
		for (k in by) s = s " " k "=" by[k]
		print "MEM-BY-KIND=" s
	}
' "/proc/$pid/smaps"
grep -c . "/proc/$pid/maps" | sed 's/^/MEM-MAPPINGS=/'
ls "/proc/$pid/task" | wc -l | sed 's/^ *//; s/^/MEM-THREADS=/'
kill -9 "$pid"
wait "$pid" 2>/dev/null
grep -q L2-INIT-REACHED "$out" || { echo "MEM-NO-INIT"; tail -n 20 "$out"; }
rm -f "$out"
EOF
# firstrun.sh CMD...: ms from the VMM's execve to its first KVM_RUN, under strace.
cat >"$WORK/overlay/bench/firstrun.sh" <<'EOF'
#!/bin/sh
st=/tmp/strace.$$
$STRACE -f -ttt -e trace=execve,ioctl -o "$st" "$@" >/dev/null 2>&1 </dev/null &
spid=$!
i=0
while [ $i -lt 600 ] && ! grep -q KVM_RUN "$st" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
vpid=$(awk 'NR == 1 { print $1 }' "$st")
[ -n "$vpid" ] && kill -9 "$vpid"
wait "$spid" 2>/dev/null
awk '
	/execve\(/ && !t0 { t0 = $2 }
	/KVM_RUN/ && !t1 { t1 = $2 }
	END { if (t0 && t1) printf "FIRST-RUN-MS=%.1f\n", (t1 - t0) * 1000 }
' "$st"
rm -f "$st"
EOF
chmod 755 "$WORK/overlay/bench/"*.sh

QARGS="-M $MACHINE -accel kvm -cpu host -smp 2 -m $MEM -display none -nodefaults"
QARGS="$QARGS -no-user-config -no-reboot -serial stdio"
if [ "$LKVM_MODE" = nested ]; then
	# The host's QEMU and strace, their libraries, and the firmware microvm
	# or pc need (pvh.bin: QEMU's PVH boot).
	q=$(command -v qemu-system-x86_64)
	s=$(command -v strace)
	mkdir -p "$WORK/overlay/qemu/lib" "$WORK/overlay/qemu/share"
	cp "$q" "$s" "$WORK/overlay/qemu/"
	for l in $(ldd "$q" "$s" | grep -v ':$' | grep -o '/[^ ]*' | sort -u); do cp -L "$l" "$WORK/overlay/qemu/lib/"; done
	for f in /usr/share/qemu/bios-microvm.bin /usr/share/seabios/bios-256k.bin \
		/usr/share/qemu/linuxboot_dma.bin /usr/share/qemu/kvmvapic.bin \
		/usr/share/qemu/pvh.bin; do
		cp -L "$f" "$WORK/overlay/qemu/share/" || exit 1
	done
	ld=$(basename "$(ldd "$q" | grep -o '/[^ ]*ld-linux[^ ]*')")
	QEMU="/qemu/lib/$ld --library-path /qemu/lib /qemu/$(basename "$q") -L /qemu/share"
	STRACE="/qemu/lib/$ld --library-path /qemu/lib /qemu/strace"
	B=/bench
	VMLINUX=/l2/vmlinux
	cp "$LKVM_VMLINUX" "$WORK/overlay/l2/vmlinux"
	if [ -n "$KVMTOOL" ]; then
		cp "$KVMTOOL" "$WORK/overlay/bench/kvmtool"
		KVMTOOL=/bench/kvmtool
	fi
	if [ -n "$LKVM_OLD" ]; then
		cp "$LKVM_OLD" "$WORK/overlay/bench/lkvm-old"
		LKVM_OLD=/bench/lkvm-old
	fi
else
	QEMU=qemu-system-x86_64
	STRACE=strace
	B=$WORK/overlay/bench
	VMLINUX=$LKVM_VMLINUX
fi

# The command line of VMM $1 with guest action $2 (poweroff, or idle).
vmm_cmd() {
	local a="lkvmtest.action=$2 quiet"
	case "$1" in
	lkvm) echo "\$LKVM run -k \$L2_KERNEL -i \$L2_INITRD -c 2 -m $MEM --boot-timings -p \"$a\"" ;;
	lkvm-pvh) echo "\$LKVM run -k $VMLINUX -i \$L2_INITRD -c 2 -m $MEM --boot-timings -p \"$a\"" ;;
	qemu) echo "$QEMU $QARGS -kernel \$L2_KERNEL -initrd \$L2_INITRD -append \"console=ttyS0 $a\"" ;;
	qemu-pvh) echo "$QEMU $QARGS -kernel $VMLINUX -initrd \$L2_INITRD -append \"console=ttyS0 $a\"" ;;
	# kvmtool powers off by halting its vCPUs; reboot=k (its default) ends it.
	lkvm-old) echo "$LKVM_OLD run -k \$L2_KERNEL -i \$L2_INITRD -c 2 -m $MEM -p \"$a\"" ;;
	kvmtool) echo "$KVMTOOL run -k \$L2_KERNEL -i \$L2_INITRD -c 2 -m $MEM -p \"${a/poweroff/reboot}\"" ;;
	*) echo "bench: unknown VMM $1" >&2; return 1 ;;
	esac
}

{
	echo "LKVM_CASE_TIMEOUT=$LKVM_CASE_TIMEOUT"
	echo "export STRACE='$STRACE'"
	# Memory first: an L1 that breaks down later (seen once: a kernel stack
	# overflow in L1 while QEMU ran nested) still leaves these figures.
	for vmm in $VMMS; do
		echo "run_case mem-$vmm '$B/mem.sh $MEM $(vmm_cmd "$vmm" idle)'"
	done
	for vmm in $VMMS; do
		echo "run_case run-$vmm '$B/firstrun.sh $(vmm_cmd "$vmm" poweroff)'"
	done
	for i in $(seq "$RUNS"); do
		for vmm in $VMMS; do
			echo "run_case boot-$vmm-$i '$B/timer.sh $(vmm_cmd "$vmm" poweroff)'"
		done
	done
} >"$WORK/cases.sh" || exit 1

nvmm=$(echo "$VMMS" | wc -w)
ncases=$((nvmm * (RUNS + 2)))
echo "bench: $ncases VMM runs ($LKVM_MODE, qemu -M $MACHINE: $VMMS); this takes several minutes" >&2
lkvm_bench_run "$WORK/overlay" $((120 + ncases * (LKVM_CASE_TIMEOUT + 10)))
[ "$LKVM_MODE" != nested ] || grep -q '^L1-KVM-OK' "$LOG" ||
	{ echo "bench: L1 has no /dev/kvm:" >&2; tail -n 30 "$LOG" >&2; exit 1; }

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
val() { sed -n "s/^$2=//p" <<<"$1" | head -n 1 | tr -d '\r'; }
timing() { sed -n "s/^lkvm: boot-timings: $2  *\([0-9.]*\) ms.*/\1/p" <<<"$1" | head -n 1; }

printf '%-14s %6s %8s %8s %10s %10s\n' run status "wall s" "guest s" "1st run ms" "console ms" >&2
bad=0
declare -A W G R C F M
for vmm in $VMMS; do
	: >"$WORK/$vmm.wall"; : >"$WORK/$vmm.guest"; : >"$WORK/$vmm.run"; : >"$WORK/$vmm.con"
	for i in $(seq "$RUNS"); do
		out=$(lkvm_case_output "$LOG" "boot-$vmm-$i")
		st=$(lkvm_case_status "$LOG" "boot-$vmm-$i")
		t0=$(val "$out" BOOT-T0)
		t1=$(val "$out" BOOT-INIT)
		up=$(lkvm_l2_value "$out" UPTIME)
		if [ -z "$t0" ] || [ -z "$t1" ] || [ -z "$up" ]; then
			bad=1
			echo "bench: boot-$vmm-$i did not reach the guest's init (status ${st:-none}); its output:" >&2
			tail -n 30 <<<"$out" >&2
			continue
		fi
		[ "$st" = 0 ] || echo "bench: warning: boot-$vmm-$i ended with status $st" >&2
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
		echo "$wall" >>"$WORK/$vmm.wall"
		echo "$up" >>"$WORK/$vmm.guest"
		r=$(timing "$out" 'first KVM_RUN'); [ -n "$r" ] && echo "$r" >>"$WORK/$vmm.run"
		c=$(timing "$out" 'first console byte'); [ -n "$c" ] && echo "$c" >>"$WORK/$vmm.con"
		printf '%-14s %6s %8s %8s %10s %10s\n' "boot-$vmm-$i" "$st" "$wall" "$up" "${r:--}" "${c:--}" >&2
	done
	W[$vmm]=$(median <"$WORK/$vmm.wall")
	G[$vmm]=$(median <"$WORK/$vmm.guest")
	R[$vmm]=$(median <"$WORK/$vmm.run")
	C[$vmm]=$(median <"$WORK/$vmm.con")
	out=$(lkvm_case_output "$LOG" "run-$vmm")
	F[$vmm]=$(val "$out" FIRST-RUN-MS)
	[ -n "${F[$vmm]}" ] || { F[$vmm]=-; echo "bench: run-$vmm: no KVM_RUN seen under strace" >&2; }
	out=$(lkvm_case_output "$LOG" "mem-$vmm")
	M[$vmm]=$(val "$out" MEM-OVERHEAD-KIB)
	if grep -q MEM-NO-INIT <<<"$out" || [ -z "${M[$vmm]}" ]; then
		bad=1
		M[$vmm]=-
		echo "bench: mem-$vmm: the guest did not reach init:" >&2
		tail -n 20 <<<"$out" >&2
	fi
	{
		echo "mem-$vmm: guest RAM mappings $(val "$out" MEM-GUEST-KIB) KiB resident," \
			"THP outside them $(val "$out" MEM-THP-OUTSIDE-KIB) KiB," \
			"$(val "$out" MEM-MAPPINGS) mappings, $(val "$out" MEM-THREADS) threads;" \
			"outside, by kind (KiB):$(val "$out" MEM-BY-KIND); largest:"
		grep '^MEM-MAP:' <<<"$out" | sort -t' ' -k3,3nr | head -n 12 | sed 's/^MEM-MAP:/   /'
	} >&2
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }'; }
has() { case " $VMMS " in *" $1 "*) return 0 ;; esac; return 1; }
where="L1 under QEMU TCG, L2 on L1's nested KVM"
[ "$LKVM_MODE" = direct ] && where="on this host's KVM"
echo "Boot to /init and footprint ($where), Debian $LKVM_KVER, 2 vCPUs, $MEM MiB; medians of $RUNS boots; qemu is -M $MACHINE"
if has lkvm && has lkvm-pvh; then
	echo "lkvm PVH / lkvm bzImage, exec->init wall: $(ratio "${W[lkvm-pvh]}" "${W[lkvm]}") (target <= 0.6)"
fi
has lkvm-pvh && has qemu-pvh &&
	echo "lkvm PVH / QEMU PVH, exec->init wall: $(ratio "${W[lkvm-pvh]}" "${W[qemu-pvh]}")"
has lkvm && has qemu &&
	echo "lkvm / QEMU (bzImage), exec->init wall: $(ratio "${W[lkvm]}" "${W[qemu]}")"
has lkvm && has kvmtool &&
	echo "lkvm / kvmtool (bzImage), exec->init wall: $(ratio "${W[lkvm]}" "${W[kvmtool]}")"
has lkvm-pvh && echo "lkvm memory overhead: ${M[lkvm-pvh]} KiB (target < 1229 KiB = 1.2 MiB)"
has lkvm && has kvmtool &&
	echo "lkvm / kvmtool memory overhead: $(ratio "${M[lkvm]}" "${M[kvmtool]}")"
has lkvm && has qemu &&
	echo "lkvm / QEMU memory overhead: $(ratio "${M[lkvm]}" "${M[qemu]}")"
printf '%-10s %12s %12s %14s %14s %14s %13s\n' vmm "exec->init s" "guest s" "1st KVM_RUN ms" "(strace) ms" "1st console ms" "overhead KiB"
for vmm in $VMMS; do
	printf '%-10s %12s %12s %14s %14s %14s %13s\n' "$vmm" "${W[$vmm]}" "${G[$vmm]}" \
		"${R[$vmm]}" "${F[$vmm]}" "${C[$vmm]}" "${M[$vmm]}"
done
echo "(1st KVM_RUN and 1st console: lkvm's --boot-timings, ms since lkvm started; (strace): exec->first KVM_RUN under strace, one run)"
exit "$bad"

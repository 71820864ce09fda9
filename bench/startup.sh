#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Start-up cost of lkvm against QEMU's microvm machine, measured in the same
# run on the same guest (tests/guest's bzImage):
#   - time from exec to the first KVM_RUN, under strace for both VMMs
#     (strace -ttt timestamps of execve and the first KVM_RUN ioctl);
#   - VMM memory overhead: resident memory outside guest RAM, read from
#     /proc/PID/smaps while the guest sits halted (every mapping at least
#     as large as guest RAM is taken to be guest RAM and left out).
# Each figure is the median of RUNS runs (default 5).
#
# Usage: bench/startup.sh [RUNS]
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-5}
MEM=128
GUEST=tests/guest/out/test.bzImage
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

make -s lkvm lkvm-static >/dev/null && make -s -C tests/guest >/dev/null || exit 1
command -v strace >/dev/null || { echo "bench: needs strace (apt-get install strace)"; exit 1; }
[ -c /dev/kvm ] || { echo "bench: needs /dev/kvm"; exit 1; }

lkvm_cmd() {
	echo ./lkvm run -k "$GUEST" -m "$MEM" -c 1 -p "lkvmtest.action=$1"
}
# The same, statically linked: no shared-library pages in its RSS.
lkvm-static_cmd() {
	echo ./lkvm-static run -k "$GUEST" -m "$MEM" -c 1 -p "lkvmtest.action=$1"
}
qemu_cmd() {
	# -cpu max minus arch-capabilities: -cpu host aborts on this host's KVM.
	echo qemu-system-x86_64 -M microvm,acpi=on -accel kvm -cpu max,-arch-capabilities \
		-m "$MEM" -smp 1 -nodefaults -no-user-config -nographic -no-reboot \
		-serial stdio -kernel "$GUEST" -append "lkvmtest.action=$1"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }

# ms from execve to the first KVM_RUN
first_run_ms() {
	local trace=$OUT/trace
	# shellcheck disable=SC2046
	timeout 60 strace -f -ttt -e trace=execve,ioctl -o "$trace" $("$1" poweroff) \
		>/dev/null 2>&1 </dev/null
	awk '
		/execve\(/ && !t0 { t0 = $2 }
		/KVM_RUN/ && !t1 { t1 = $2 }
		END { if (t0 && t1) printf "%.1f\n", (t1 - t0) * 1000; }
	' "$trace"
}

# KiB resident outside guest RAM, with the guest halted
overhead_kib() {
	local pid i kib
	# shellcheck disable=SC2046
	$("$1" halt) >"$OUT/console" 2>&1 </dev/null &
	pid=$!
	for i in $(seq 100); do
		grep -q 'lkvmtest: halt' "$OUT/console" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
	kib=$(awk -v ram=$((MEM * 1024)) '
		/^Size:/ { big = $2 >= ram }
		/^Rss:/ && !big { sum += $2 }
		END { print sum }
	' "/proc/$pid/smaps")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	echo "$kib"
}

printf '%-12s %22s %26s\n' vmm "exec->KVM_RUN ms" "overhead KiB (RSS-guest)"
declare -A T M
for vmm in lkvm lkvm-static qemu; do
	for i in $(seq "$RUNS"); do first_run_ms ${vmm}_cmd; done >"$OUT/t"
	for i in $(seq "$RUNS"); do overhead_kib ${vmm}_cmd; done >"$OUT/m"
	T[$vmm]=$(median <"$OUT/t")
	M[$vmm]=$(median <"$OUT/m")
	printf '%-12s %22s %26s\n' "$vmm" "${T[$vmm]}" "${M[$vmm]}"
done
awk -v a="${T[lkvm]}" -v b="${T[qemu]}" -v c="${M[lkvm-static]}" -v d="${M[qemu]}" 'BEGIN {
	if (a > 0 && b > 0) printf "start-up: lkvm is %.1fx faster than QEMU microvm\n", b / a
	if (c > 0 && d > 0) printf "memory overhead: lkvm-static uses %.1fx less than QEMU microvm\n", d / c
}'
echo "targets on this machine: < 10 ms to the first KVM_RUN, < 2048 KiB overhead"

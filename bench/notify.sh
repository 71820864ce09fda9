#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest notifications + completion interrupts per second for one virtio
# device, from the same test guest (tests/guest, action bench-notify):
#
#   mmio      plain virtio-mmio: QueueNotify write, level-triggered GSI,
#             InterruptStatus read + InterruptACK write in the handler
#   mmio-msi  the MSI / per-queue notify extension (--virtio-mmio-msi):
#             notify at the queue's own address, MSI vector, EOI only
#   pci       virtio-pci (lkvm's default transport), MSI-X
#
# One request in flight, the guest sleeping in hlt until its interrupt, so
# every request costs exactly one notification and one interrupt; the guest
# times N of them with its TSC (calibrated against the LAPIC timer). Each
# round boots one VM with --virtio-mmio-msi (both mmio modes, order
# alternating between rounds) and one with virtio-pci; the table gives the
# median, min and max over the rounds and the ratios of the medians.
#
# With strace available, one more set of runs counts lkvm's KVM_RUN calls
# (= exits to userspace) per round trip: a run of N requests minus a run
# that does everything but the requests. That figure does not depend on
# how busy the host is.
#
# Usage: bench/notify.sh [rng|blk] [N] [ROUNDS]   (default rng 2000 3)
set -u
cd "$(dirname "$0")/.."
DEV=${1:-rng}
N=${2:-2000}
ROUNDS=${3:-3}
GUEST=tests/guest/out/test.bzImage
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

case $DEV in
rng | blk) ;;
*) echo "usage: $0 [rng|blk] [N] [ROUNDS]" >&2; exit 2 ;;
esac
make -s lkvm >/dev/null && make -s -C tests/guest >/dev/null || exit 1
[ -c /dev/kvm ] || { echo "bench: needs /dev/kvm"; exit 1; }

if [ "$DEV" = blk ]; then
	# reads of sector 0 only; the guest checks nothing, any file will do
	yes lkvm-test-disk | head -c $((1024 * 1024)) >"$OUT/disk.img"
	devargs=(-d "$OUT/disk.img")
else
	devargs=(--rng)
fi

# vm TRANSPORT MODES [N]: one VM, the guest's report on stdout
WRAP=()
vm() {
	local t=()

	[ "$1" = mmio ] && t=(--virtio-transport mmio --virtio-mmio-msi)
	timeout 300 "${WRAP[@]}" ./lkvm run -k "$GUEST" -m 128 "${devargs[@]}" "${t[@]}" \
		-p "lkvmtest.action=bench-notify lkvmtest.n=${3:-$N} lkvmtest.dev=$DEV lkvmtest.modes=$2" \
		</dev/null 2>&1 | tr -d '\r'
}

for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		vm mmio mmio,mmio-msi >>"$OUT/log"
		vm pci pci >>"$OUT/log"
	else
		vm pci pci >>"$OUT/log"
		vm mmio mmio-msi,mmio >>"$OUT/log"
	fi
done
if grep -q 'failed\|no usable device' "$OUT/log"; then
	echo "bench: the guest reported a failure:" >&2
	grep 'failed\|no usable device' "$OUT/log" >&2
	exit 1
fi

# exits MODE TRANSPORT: userspace exits per round trip, "-" without strace
exits() {
	local base full n=500

	command -v strace >/dev/null || { echo -; return; }
	WRAP=(strace -f -e trace=ioctl -o "$OUT/st")
	vm "$2" none $n >/dev/null
	base=$(grep -c KVM_RUN "$OUT/st")
	vm "$2" "$1" $n >/dev/null
	full=$(grep -c KVM_RUN "$OUT/st")
	WRAP=()
	awk -v b="$base" -v f="$full" -v n=$n 'BEGIN { printf "%.2f", (f - b) / n }'
}

# stats MODE: "median min max extra-irqs" of the per-s figures
stats() {
	sed -n "s/^lkvmtest: bench mode=$1 dev=[a-z]* n=[0-9]* us=[0-9]* per-s=\([0-9]*\) irqs=[0-9]* extra-irqs=\([0-9]*\)\$/\1 \2/p" \
		"$OUT/log" | sort -n |
		awk '{ v[NR] = $1; x += $2 }
		     END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR], x; else print "nan nan nan 0" }'
}

read -r m_med m_min m_max m_x < <(stats mmio)
read -r s_med s_min s_max s_x < <(stats mmio-msi)
read -r p_med p_min p_max p_x < <(stats pci)
m_e=$(exits mmio mmio)
s_e=$(exits mmio-msi mmio)
p_e=$(exits pci pci)

echo "virtio-$DEV, $N round trips per mode and round, $ROUNDS rounds; round trips/s"
echo "(one notification + one completion interrupt each)"
echo
printf '%-10s %10s %10s %10s %12s %14s\n' mode median min max extra-irqs exits/round-trip
printf '%-10s %10s %10s %10s %12s %14s\n' mmio "$m_med" "$m_min" "$m_max" "$m_x" "$m_e"
printf '%-10s %10s %10s %10s %12s %14s\n' mmio-msi "$s_med" "$s_min" "$s_max" "$s_x" "$s_e"
printf '%-10s %10s %10s %10s %12s %14s\n' pci "$p_med" "$p_min" "$p_max" "$p_x" "$p_e"
echo
awk -v m="$m_med" -v s="$s_med" -v p="$p_med" 'BEGIN {
	printf "mmio-msi / mmio  %.2f\n", s / m
	printf "mmio-msi / pci   %.2f\n", s / p
	printf "mmio / pci       %.2f\n", m / p
}'

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest<->host network throughput and request rate of lkvm's three network
# setups, in one run: -n mode=user (passt), -n mode=tap,vhost=off (lkvm
# moves the frames) and -n mode=tap,vhost=on (the kernel's vhost-net does).
# A Debian 6.1 guest with busybox sends BENCH_NET_MB (default 8) MiB to the
# host and receives as much from it over TCP (checksums compared), then
# makes BENCH_NET_REQS (default 50) HTTP requests one after the other
# (busybox wget against busybox httpd). Ratios first: targets user >= 0.5x
# tap, vhost >= 1x tap. With the defaults the whole run takes about 5
# minutes under nested TCG.
#
# It boots the VMs the way the nested tier does: inside a QEMU TCG L1 where
# this host's /dev/kvm is software (lkvm-static, passt with its libraries
# copied into L1), on the host where it is hardware (LKVM_MODE=direct|nested
# forces one). The guest runs under nested KVM either way; under TCG the
# absolute figures are small and only the ratios mean much.
#
# Usage: [BENCH_NET_MB=N] [BENCH_NET_REQS=N] bench/net.sh
# Needs: passt, qemu-system-x86_64, and what tests/nested needs.
set -u
MB=${BENCH_NET_MB:-8}
REQS=${BENCH_NET_REQS:-50}
case "$MB.$REQS" in
*[!0-9.]*|.*|*.) echo "bench: BENCH_NET_MB and BENCH_NET_REQS must be whole numbers" >&2; exit 1 ;;
esac
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/nested/lib.sh
. tests/nested/lib.sh
# shellcheck source=tests/nested/sandbox.sh
. tests/nested/sandbox.sh

lkvm_bench_build net
lkvm_fetch_guest x86_64 || exit 1
lkvm_build_l2_initrd "$WORK/l2.cpio" || exit 1

rel=$(mktemp -d "$WORK/root.XXXXXX") || exit 1
mkdir -p "$rel/lkvmtest.d"
install -m 755 bench/net-l2.sh "$rel/lkvmtest.d/netbench.sh"
lkvm_build_l2_initrd "$WORK/netbench.cpio" --modules "virtio_pci virtio_net" \
	--overlay "$rel" || exit 1
ov=$WORK/l1-overlay
mkdir -p "$ov/l2"
cp "$WORK/netbench.cpio" bench/net-l1.sh "$ov/l2/"
if [ "$LKVM_MODE" = nested ]; then
	mkdir -p "$ov/etc"
	echo "lkvm-l1-root" >"$ov/etc/lkvm-l1-marker"
	nested_usernet_passt "$ov" || exit 1
	nested_sandbox_modules "$ov" "$LKVM_L1_KROOT" "$LKVM_L1_KVER" tun bridge vhost_net ||
		exit 1
fi
{
	echo "LKVM_CASE_TIMEOUT=900"
	# shellcheck disable=SC2016 # expanded by the case runner
	echo 'run_case netbench '\''sh ${L2_INITRD%/*}/net-l1.sh $LKVM $L2_KERNEL ${L2_INITRD%/*}/netbench.cpio '"$MB $REQS"\'
} >"$WORK/cases.sh"

echo "bench: three guests, one per network setup ($LKVM_MODE); this takes a while" >&2
# Direct: the guests' files beside L2_INITRD, where L1 has them.
[ "$LKVM_MODE" = nested ] || cp "$ov/l2/"* "$(dirname "$WORK/l2.cpio")/"
lkvm_bench_run "$ov" 1000

out=$(lkvm_case_output "$LOG" netbench)
val() { sed -n "s/^BENCH-$1=//p" <<<"$out" | tail -n 1 | tr -d '\r'; }
hostmd5=$(val HOST-SENT-MD5)
declare -A tx rx rps ok
for m in user tap vhost; do
	f=$(val "$m-FAIL")
	times=$(val "$m-TIMES")
	if [ -n "$f" ] || [ -z "$times" ]; then
		echo "bench: $m: ${f:-no result}" >&2
		grep -E "^(BENCH-$m|lkvm)" <<<"$out" | head -n 5 >&2
		continue
	fi
	read -r t0 t1 t2 t3 t4 <<<"$times"
	tx[$m]=$(awk -v a="$t0" -v b="$t1" -v mb="$MB" 'BEGIN { printf "%.1f", mb * 8.388608 / (b - a) }')
	rx[$m]=$(awk -v a="$t1" -v b="$t2" -v mb="$MB" 'BEGIN { printf "%.1f", mb * 8.388608 / (b - a) }')
	rps[$m]=$(awk -v a="$t3" -v b="$t4" -v n="$REQS" 'BEGIN { printf "%.1f", n / (b - a) }')
	ok[$m]=yes
	[ "$(val "$m-SENT-MD5")" = "$(val "$m-HOST-RECV-MD5")" ] || ok[$m]="NO (guest to host)"
	[ "$(val "$m-RECV-MD5")" = "$hostmd5" ] || ok[$m]="NO (host to guest)"
done
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a != "" && b > 0) printf "%.2fx", a / b; else printf "-" }'; }
echo "ratios against tap (vhost=off):"
printf '  %-22s %10s %10s %10s\n' "" "guest->host" "host->guest" "requests/s"
printf '  %-22s %10s %10s %10s\n' "user (passt) / tap" "$(ratio "${tx[user]:-}" "${tx[tap]:-}")" \
	"$(ratio "${rx[user]:-}" "${rx[tap]:-}")" "$(ratio "${rps[user]:-}" "${rps[tap]:-}")"
printf '  %-22s %10s %10s %10s\n' "tap+vhost / tap" "$(ratio "${tx[vhost]:-}" "${tx[tap]:-}")" \
	"$(ratio "${rx[vhost]:-}" "${rx[tap]:-}")" "$(ratio "${rps[vhost]:-}" "${rps[tap]:-}")"
echo "absolute ($LKVM_MODE; Mbit/s over $MB MiB; $REQS sequential HTTP requests, per second):"
printf '  %-22s %10s %10s %10s  %s\n' mode "guest->host" "host->guest" "requests/s" "checksums"
for m in user tap vhost; do
	printf '  %-22s %10s %10s %10s  %s\n' "$m" "${tx[$m]:--}" "${rx[$m]:--}" "${rps[$m]:--}" \
		"${ok[$m]:-no run}"
done

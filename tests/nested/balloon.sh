# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The nested tier's "balloon" case (sourced by run-x86.sh and bench/balloon.sh;
# needs lib.sh). L2 gets its own initramfs with virtio_pci and virtio_balloon
# (Debian builds them as modules; l2-init.sh loads them in modules.dep order)
# and balloon-l2.sh; balloon-l1.sh drives it from where lkvm runs.
#
# Files, in WORK (direct mode) and WORK/l1-overlay/l2 (copied into L1's /l2):
#   balloon.cpio    the L2 initramfs
#   balloon-l1.sh   the driver script
# so that a case command finds them next to $L2_INITRD either way.

NESTED_BALLOON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NESTED_BALLOON_FILL_MB=${NESTED_BALLOON_FILL_MB:-600}

# nested_balloon_prepare WORK: build the files above.
nested_balloon_prepare() {
	local work=$1 ov
	ov=$(mktemp -d "$work/balloon-root.XXXXXX") || return 1
	mkdir -p "$ov/lkvmtest.d" "$work/l1-overlay/l2"
	install -m 755 "$NESTED_BALLOON_DIR/balloon-l2.sh" "$ov/lkvmtest.d/balloon.sh"
	LKVM_MODULE_PARAMS=${LKVM_MODULE_PARAMS:-} \
		lkvm_build_l2_initrd "$work/balloon.cpio" --modules "virtio_pci virtio_balloon" \
		--overlay "$ov" || { rm -rf "$ov"; return 1; }
	rm -rf "$ov"
	install -m 755 "$NESTED_BALLOON_DIR/balloon-l1.sh" "$work/balloon-l1.sh"
	cp "$work/balloon.cpio" "$work/balloon-l1.sh" "$work/l1-overlay/l2/"
}

# The case command (for a cases.sh run_case line; evaluated where lkvm runs).
# [$1: test (default), bench-on or bench-off; see balloon-l1.sh]
nested_balloon_cmd() {
	# shellcheck disable=SC2016 # expanded by the case runner
	printf '%s' 'sh ${L2_INITRD%/*}/balloon-l1.sh $LKVM $L2_KERNEL ${L2_INITRD%/*}/balloon.cpio '"$NESTED_BALLOON_FILL_MB ${1:-test}"
}

# The case takes longer than the tier's default case timeout (L2 boots, then
# fills, frees, inflates and deflates): its run_case line gets its own.
NESTED_BALLOON_TIMEOUT=${NESTED_BALLOON_TIMEOUT:-240}

# cases.sh lines running the case NAME [MODE] with that timeout.
nested_balloon_case_lines() {
	echo "_lkvm_tmo=\$LKVM_CASE_TIMEOUT; LKVM_CASE_TIMEOUT=$NESTED_BALLOON_TIMEOUT"
	echo "run_case $1 '$(nested_balloon_cmd "${2:-test}")'"
	echo "LKVM_CASE_TIMEOUT=\$_lkvm_tmo"
}

# nested_balloon_value OUTPUT KEY: the value of a BALLOON-KEY=value line
nested_balloon_value() {
	printf '%s\n' "$1" | sed -n "s/^BALLOON-$2=\([^ ]*\).*/\1/p" | tail -n 1
}

# nested_balloon_check OUTPUT [STATUS]: why the case failed, or nothing.
#   - the fill reached lkvm: RSS grew by >= 80% of FILL_MB
#   - within 15 s of the free, RSS fell by >= 80% of FILL_MB
#   - inflating by 256 MiB took >= 250 MiB off MemTotal, deflating gave it back
#   - lkvm stop ended lkvm with status 0
#   - lkvm list --json and stat --json described the running VM (valid JSON)
nested_balloon_check() {
	local out=$1 status=${2:-} fill=$NESTED_BALLOON_FILL_MB boot filled after secs m0 m1 m2 st f
	case "$status" in
	137|143) echo "timed out after ${NESTED_BALLOON_TIMEOUT}s (last: $(printf '%s\n' "$out" |
		grep -E '^BALLOON-|^L2-BALLOON' | tail -n 1))"; return ;;
	esac
	f=$(printf '%s\n' "$out" | sed -n 's/^BALLOON-FAIL=//p' | head -n 1)
	[ -n "$f" ] && { echo "$f"; return; }
	lkvm_l2_panic "$out" && return
	printf '%s\n' "$out" | grep -q '^L2-BALLOON-DRIVER=virtio' ||
		{ echo "virtio_balloon did not bind in L2"; return; }
	boot=$(nested_balloon_value "$out" RSS-BOOT)
	filled=$(nested_balloon_value "$out" RSS-FILLED)
	after=$(nested_balloon_value "$out" RSS-AFTER)
	secs=$(printf '%s\n' "$out" | sed -n 's/^BALLOON-RSS-AFTER=.* secs=\([0-9.]*\).*/\1/p' | tail -n 1)
	if [ -z "$boot" ] || [ -z "$filled" ] || [ -z "$after" ]; then
		echo "no RSS samples (boot '$boot' filled '$filled' after '$after')"
		return
	fi
	[ $((filled - boot)) -ge $((fill * 1024 * 8 / 10)) ] ||
		{ echo "filling $fill MiB grew lkvm's RSS by only $(((filled - boot) / 1024)) MiB"; return; }
	[ $((filled - after)) -ge $((fill * 1024 * 8 / 10)) ] ||
		{ echo "after freeing $fill MiB lkvm's RSS fell by only $(((filled - after) / 1024)) MiB in ${secs}s (want >= 80%)"; return; }
	m0=$(nested_balloon_value "$out" MEMTOTAL-BEFORE)
	m1=$(nested_balloon_value "$out" MEMTOTAL-INFLATED)
	m2=$(nested_balloon_value "$out" MEMTOTAL-DEFLATED)
	if [ -z "$m0" ] || [ -z "$m1" ] || [ -z "$m2" ]; then
		echo "no MemTotal samples ('$m0' '$m1' '$m2')"
		return
	fi
	[ $((m0 - m1)) -ge $((250 * 1024)) ] ||
		{ echo "inflating 256 MiB moved MemTotal from $m0 to $m1 kB"; return; }
	[ $((m0 - m2)) -le 4096 ] ||
		{ echo "deflating left MemTotal at $m2 kB (was $m0)"; return; }
	st=$(nested_balloon_value "$out" LKVM-STATUS)
	[ "$st" = 0 ] || { echo "lkvm exit status '$st' after lkvm stop"; return; }
	# lkvm list/stat --json of the running VM (checked in L1) must parse.
	for f in JSON-LIST JSON-STAT; do
		m0=$(printf '%s\n' "$out" | sed -n "s/^BALLOON-$f=//p" | head -n 1)
		[ -n "$m0" ] || { echo "no $f line"; return; }
		if command -v python3 >/dev/null &&
		   ! python3 -c 'import json, sys; json.loads(sys.argv[1])' "$m0" 2>/dev/null; then
			echo "$f is not valid JSON: $m0"
			return
		fi
	done
}

# One INFO line of what the case measured.
nested_balloon_summary() {
	local out=$1
	echo "RSS boot $(($(nested_balloon_value "$out" RSS-BOOT) / 1024)) MiB," \
		"filled $(($(nested_balloon_value "$out" RSS-FILLED) / 1024)) MiB," \
		"after free $(($(nested_balloon_value "$out" RSS-AFTER) / 1024)) MiB" \
		"($(printf '%s\n' "$out" | sed -n 's/^BALLOON-RSS-AFTER=.* secs=\([0-9.]*\).*/\1/p' | tail -n 1)s);" \
		"MemTotal $(nested_balloon_value "$out" MEMTOTAL-BEFORE) ->" \
		"$(nested_balloon_value "$out" MEMTOTAL-INFLATED) -> $(nested_balloon_value "$out" MEMTOTAL-DEFLATED) kB"
}

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the libFuzzer harnesses (make fuzz) and run each for N executions
# (default 100000), starting from seeds made by fuzz/seeds-NAME.sh where
# there is one. Prints "PASS: fuzz/NAME: N executions" or FAIL with the
# crash file; artifacts and corpora go to a temporary directory (kept on
# failure). Usage: fuzz/run.sh [N] [NAME...]
# FUZZ_SECONDS=S also stops each harness after S seconds; the line then
# gives the executions actually run (libFuzzer's count).
set -u
cd "$(dirname "$0")/.."
N=${1:-100000}
shift || true
command -v "${FUZZ_CC:-clang}" >/dev/null ||
	{ echo "SKIP: fuzz: no clang (apt-get install clang libclang-rt-14-dev)"; exit 0; }
make -s fuzz >/dev/null || { echo "FAIL: fuzz: make fuzz failed"; exit 1; }
names=${*:-$(for f in fuzz/fuzz-*.c; do n=${f#fuzz/fuzz-}; echo "${n%.c}"; done)}
work=$(mktemp -d /tmp/lkvm-fuzz-XXXXXX)
rc=0
for name in $names; do
	corpus=$work/$name
	mkdir -p "$corpus"
	[ -x "fuzz/seeds-$name.sh" ] && "fuzz/seeds-$name.sh" "$corpus"
	start=$(date +%s)
	# stderr of the target (its one-line refusals) is closed; crash reports still show.
	if "fuzz/fuzz-$name" -runs="$N" -max_len=65536 -close_fd_mask=2 \
		${FUZZ_SECONDS:+-max_total_time="$FUZZ_SECONDS"} \
		-artifact_prefix="$work/$name-" "$corpus" >"$work/$name.log" 2>&1; then
		runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/$name.log")
		echo "PASS: fuzz/$name: ${runs:-$N} executions in $(( $(date +%s) - start )) s" \
		     "($(ls "$corpus" | wc -l) corpus files)"
	else
		echo "FAIL: fuzz/$name: see $work/$name.log and $work/$name-*"
		tail -30 "$work/$name.log"
		rc=1
	fi
done
[ $rc = 0 ] && rm -rf "$work"
exit $rc

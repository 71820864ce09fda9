#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The libFuzzer harnesses still build and run: `make fuzz`, then each
# harness for FUZZ_SMOKE_RUNS executions (default 2000) from its seeds.
# A harness that no longer links against the sources it names (as when a
# device started calling into a new file) or that crashes on its seeds
# fails here, not months later in a long fuzzing run. The long runs and
# their figures are bench/README.md's; this is only the guard.
set -u
cd "$(dirname "$0")/../.."
if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
	echo "FAIL: unit/test-fuzz: no clang (apt-get install clang libclang-rt-14-dev; scripts/install-deps.sh)"
	exit 1
fi
fuzz/run.sh "${FUZZ_SMOKE_RUNS:-2000}" | sed 's/^\(PASS\|FAIL\|SKIP\): fuzz\//\1: unit\/test-fuzz\//'
exit "${PIPESTATUS[0]}"

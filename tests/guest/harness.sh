# SPDX-License-Identifier: GPL-2.0
#
# The common start of a tests/guest/run*.sh script, sourced with the
# script's arguments after it has set CASES (its case names) and TAG (a word
# for its temporary directory):
#   - checks the LKVM argument and resolves it to a path ($lkvm);
#   - defines all VERDICT WHY, which gives every case the same verdict;
#   - reports every case SKIP without a usable /dev/kvm, FAIL without lkvm
#     or when the test guest does not build (and exits);
#   - makes $tmp, removed on exit.

if [ $# -ne 1 ]; then
	echo "usage: $0 LKVM" >&2
	exit 2
fi
lkvm=$1
case $lkvm in
*/*) ;;
*) lkvm=$(command -v -- "$lkvm" || echo "$lkvm") ;;
esac

all() {
	local c

	for c in "${CASES[@]}"; do
		echo "$1: guest/$c: $2"
	done
}

if [ ! -e /dev/kvm ]; then
	all SKIP "/dev/kvm is missing"
	exit 0
fi
if ! (exec 3<>/dev/kvm) 2>/dev/null; then
	all SKIP "/dev/kvm cannot be opened read-write"
	exit 0
fi
if [ ! -x "$lkvm" ]; then
	all FAIL "lkvm binary not found: $lkvm"
	exit 1
fi
if ! make -s -C "$here" >&2; then
	all FAIL "cannot build the test guest"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-$TAG-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

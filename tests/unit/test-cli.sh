#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvmtool's command lines against an lkvm binary: every row of the README's
# kvmtool table ("Coming from kvmtool") is run and must be what the row
# says. A "same" row must get past option parsing (lkvm run stops at the
# kernel that does not exist, a control command finds no VM), a "refused"
# row must stop with exactly one line on stderr and exit status 1 before
# any kernel is looked at. No /dev/kvm is needed: both happen before it is
# opened. Plain sh, so that it also runs in the arm64 nested tier's L1
# (busybox) for the arm64 rows.
#
# Usage: tests/unit/test-cli.sh [LKVM [README [ARCH]]]
#   LKVM    default ./lkvm, then ./lkvm-asan when it exists (tests/run's unit tier)
#   ARCH    the rows to check besides "all": x86 or arm64 (default: uname -m)
# stdout: one "PASS|FAIL: unit/cli/<binary>/<row>" line per row.

here=$(cd "$(dirname "$0")" && pwd)
readme=${2:-$here/../../README.md}
case "${3:-$(uname -m)}" in
aarch64|arm64) arch=arm64 ;;
*) arch=x86 ;;
esac
failed=0

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lkvm-cli.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# No VM runs for this HOME: the control commands find none.
mkdir -p "$tmp/home"

# The table's rows: "arch<TAB>verdict<TAB>invocation", one per invocation.
rows() {
	sed -n '/<!-- kvmtool-table-begin -->/,/<!-- kvmtool-table-end -->/p' "$readme" |
	grep '^| `' | while IFS='|' read -r _ cmds rarch verdict _; do
		rarch=$(echo $rarch)
		verdict=$(echo $verdict | cut -d' ' -f1 | tr -d ':')
		echo "$cmds" | tr '`' '\n' | sed -n 'n;p' | while read -r inv; do
			[ -n "$inv" ] && printf '%s\t%s\t%s\n' "$rarch" "$verdict" "$inv"
		done
	done
}

check_binary() {
	name=$(basename "$1") n=0
	case "$1" in
	*/*) bin=$(cd "$(dirname "$1")" && pwd)/$name ;;
	*) bin=$(command -v "$1") ;;
	esac
	rows >"$tmp/rows"
	[ -s "$tmp/rows" ] || { echo "FAIL: unit/cli/$name: no kvmtool table in $readme"; failed=1; return; }
	while IFS="$(printf '\t')" read -r rarch verdict inv; do
		[ "$rarch" = all ] || [ "$rarch" = "$arch" ] || continue
		n=$((n + 1))
		why=
		# shellcheck disable=SC2086 # the invocation is words
		set -- $inv
		cmd=$1
		# lkvm run needs a kernel; one that does not exist stops it right
		# after the options (as in kvm-unit-tests' probe).
		if [ "$cmd" = run ] && ! echo " $inv " | grep -qE ' (-k|-f|--firmware|-i) '; then
			set -- "$@" -k "$tmp/no-such-kernel"
		fi
		(cd "$tmp" && HOME=$tmp/home "$bin" "$@") </dev/null >"$tmp/out" 2>"$tmp/err"
		st=$?
		lines=$(grep -c . "$tmp/err")
		if grep -qE 'unknown option|is not an lkvm command' "$tmp/err"; then
			why="not an option or command lkvm knows: $(head -n 1 "$tmp/err")"
		elif [ "$verdict" = refused ]; then
			if [ "$st" != 1 ] || [ "$lines" != 1 ]; then
				why="exit status $st and $lines lines on stderr, want 1 and 1"
			elif grep -qE 'open kernel|open firmware|no VM named' "$tmp/err"; then
				why="taken, not refused: $(cat "$tmp/err")"
			fi
		elif [ "$verdict" = same ]; then
			if grep -qE 'takes no value|needs a value|expects|is not supported|lkvm has no' "$tmp/err"; then
				why="refused: $(head -n 1 "$tmp/err")"
			elif [ "$cmd" = run ]; then
				grep -qE 'Unable to open kernel|cannot open (kernel|firmware)' "$tmp/err" ||
					why="did not get past the options (status $st): $(head -n 1 "$tmp/err")"
			elif [ "$st" != 0 ] && ! grep -q 'no VM named' "$tmp/err"; then
				why="exit status $st: $(head -n 1 "$tmp/err")"
			fi
		else
			why="the README row says '$verdict', neither same nor refused"
		fi
		if [ -n "$why" ]; then
			echo "FAIL: unit/cli/$name/$inv: $why"
			failed=1
		else
			echo "PASS: unit/cli/$name/$inv"
		fi
	done <"$tmp/rows"
	[ "$n" -gt 0 ] || { echo "FAIL: unit/cli/$name: no rows for $arch"; failed=1; }
}

if [ -n "${1:-}" ]; then
	check_binary "$1"
else
	cd "$here/../.." || exit 1
	[ -x ./lkvm ] || { echo "FAIL: unit/cli: ./lkvm is not built"; exit 1; }
	check_binary "$PWD/lkvm"
	[ -x ./lkvm-asan ] && check_binary "$PWD/lkvm-asan"
fi
exit $failed

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The manual pages (doc/man) against the binary: every page renders with
# man(1) without a groff warning; lkvm(1) names every command of
# "lkvm --list-commands" and every command but help and version has a page;
# each command's page describes (as a tagged paragraph under OPTIONS) every
# option of "lkvm <command> --list-options", and describes no option the
# command does not accept. An option added to a command's table fails here
# until it is documented. Run from anywhere; uses ./lkvm of the tree.
set -u
cd "$(dirname "$0")/../.."
lkvm=${LKVM:-./lkvm}
man_dir=doc/man
pass() { echo "PASS: unit/test-man/$1"; }
fail() { echo "FAIL: unit/test-man/$1: $2"; failed=1; }
failed=0

if ! command -v man >/dev/null; then
	fail setup "man(1) is missing (apt-get install man-db; scripts/install-deps.sh)"
	exit 1
fi
if ! "$lkvm" --list-commands >/dev/null 2>&1; then
	fail setup "$lkvm does not run (make lkvm)"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Plain ASCII at a fixed width: '\-' renders as '-', no hyphenated options.
render() { LC_ALL=C MANWIDTH=80 man --warnings -l "$1"; }

# The option spellings of the tagged paragraphs in section(s) $2 (an awk
# regex of section headings) of rendered page $1: "-k, --kernel file" gives
# -k and --kernel.
tags() {
	awk -v want="^($2)\$" '
		/^[A-Z]/ { sec = $0; next }
		sec ~ want && /^       -/ {
			line = substr($0, 8)
			sub(/  .*/, "", line)		# the text after a short tag
			n = split(line, parts, ", ")
			for (i = 1; i <= n; i++) {
				split(parts[i], w, " ")
				if (w[1] ~ /^--?[A-Za-z0-9]/)
					print w[1]
			}
		}' "$1" | sort -u
}

for page in "$man_dir"/*.1; do
	name=$(basename "$page" .1)
	if ! render "$page" >"$tmp/$name.txt" 2>"$tmp/$name.err"; then
		fail "render/$name" "man -l failed: $(head -1 "$tmp/$name.err")"
	elif [ -s "$tmp/$name.err" ]; then
		fail "render/$name" "$(head -1 "$tmp/$name.err" | tr -d '\n')"
	elif ! grep -q '^NAME' "$tmp/$name.txt"; then
		fail "render/$name" "no NAME section"
	else
		pass "render/$name"
	fi
done

# lkvm(1) names every command; each has its page.
missing=
while IFS=$'\t' read -r cmd _; do
	grep -qE "(^|[^a-z-])lkvm[ -]$cmd([^a-z-]|\$)" "$tmp/lkvm.txt" 2>/dev/null ||
		missing="$missing lkvm(1):$cmd"
	case $cmd in help|version) continue ;; esac
	[ -f "$man_dir/lkvm-$cmd.1" ] || missing="$missing lkvm-$cmd.1"
done < <("$lkvm" --list-commands)
if [ -n "$missing" ]; then
	fail commands "not documented:$missing"
else
	pass commands
fi

# Each command's options, both ways.
while IFS=$'\t' read -r cmd _; do
	# debug and setup (kvmtool's) refuse every argument: no options to list.
	case $cmd in help|version|debug|setup) continue ;; esac
	txt=$tmp/lkvm-$cmd.txt
	[ -f "$txt" ] || continue	# reported above
	if ! "$lkvm" "$cmd" --list-options >"$tmp/opts" 2>"$tmp/err"; then
		fail "options/$cmd" "lkvm $cmd --list-options failed: $(head -1 "$tmp/err")"
		continue
	fi
	awk -F'\t' '{ if ($1 != "-") print $1; if ($2 != "-") print $2 }' "$tmp/opts" |
		sort -u >"$tmp/accepted"
	tags "$txt" 'OPTIONS|ARM64 OPTIONS' >"$tmp/documented"
	# lkvm sandbox takes every option of lkvm run: those may live in lkvm-run(1).
	if [ "$cmd" = sandbox ]; then
		"$lkvm" run --list-options | awk -F'\t' '{ print $1; print $2 }' |
			grep -v '^-$' | sort -u >"$tmp/inherited"
		tags "$tmp/lkvm-run.txt" 'OPTIONS|ARM64 OPTIONS' |
			comm -12 - "$tmp/inherited" >>"$tmp/documented"
		sort -u -o "$tmp/documented" "$tmp/documented"
	fi
	undocumented=$(comm -23 "$tmp/accepted" "$tmp/documented" | tr '\n' ' ')
	# Only arm64 builds take the ARM64 OPTIONS; everything else must parse.
	stale=$(tags "$txt" OPTIONS | comm -23 - "$tmp/accepted" | tr '\n' ' ')
	why=
	[ -z "$undocumented" ] || why="not described in lkvm-$cmd(1): $undocumented"
	[ -z "$stale" ] || why="${why:+$why; }lkvm-$cmd(1) describes options lkvm $cmd does not take: $stale"
	if [ -n "$why" ]; then
		fail "options/$cmd" "$why"
	else
		pass "options/$cmd"
	fi
done < <("$lkvm" --list-commands)
exit $failed

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make install / make uninstall with DESTDIR and PREFIX: the files land
# where they should, the installed lkvm, manual pages and completion work,
# uninstall takes everything away again, and the systemd unit template
# passes systemd-analyze verify (as an instance, with the installed lkvm).
set -u
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS: unit/test-install/$1"; }
fail() { echo "FAIL: unit/test-install/$1: $2"; failed=1; }
failed=0

d=$tmp/dest
if ! make -s install DESTDIR="$d" PREFIX=/usr >"$tmp/log" 2>&1; then
	fail install "make install failed: $(tail -1 "$tmp/log")"
	exit 1
fi
{
	echo usr/bin/lkvm
	echo usr/lib/systemd/system/lkvm@.service
	echo usr/share/bash-completion/completions/lkvm
	for p in doc/man/*.1; do echo "usr/share/man/man1/${p##*/}"; done
	for f in README.md control.md scale.md; do echo "usr/share/doc/lkvm/$f"; done
	for f in lkvm.conf github-actions.yml gitlab-ci.yml lkvm.nomad.hcl; do
		echo "usr/share/doc/lkvm/examples/$f"
	done
} | sort >"$tmp/want"
(cd "$d" && find . -type f | sed 's#^\./##' | sort) >"$tmp/got"
if cmp -s "$tmp/want" "$tmp/got"; then
	pass files
else
	fail files "$(diff "$tmp/want" "$tmp/got" | grep '^[<>]' | tr '\n' ' ')"
fi

if [ "$("$d/usr/bin/lkvm" version 2>&1)" = "$(./lkvm version)" ]; then
	pass binary
else
	fail binary "the installed lkvm does not run"
fi
if command -v man >/dev/null &&
   [ "$(MANPATH=$d/usr/share/man man -w lkvm-run 2>/dev/null)" = "$d/usr/share/man/man1/lkvm-run.1" ] &&
   MANPATH=$d/usr/share/man MANWIDTH=80 man lkvm 2>/dev/null | grep -q 'lkvm-sandbox(1)'; then
	pass man
else
	fail man "man does not find the installed pages"
fi
if bash -c ". '$d/usr/share/bash-completion/completions/lkvm' && complete -p lkvm" |
   grep -q -- '-F _lkvm lkvm'; then
	pass completion
else
	fail completion "the installed completion does not define lkvm's"
fi
# The unit names the installed binary.
if grep -qx "ExecStart=/usr/bin/lkvm run --name %i \$LKVM_OPTS" \
	"$d/usr/lib/systemd/system/lkvm@.service" &&
   grep -qx "ExecStop=/usr/bin/lkvm stop --name %i" "$d/usr/lib/systemd/system/lkvm@.service"; then
	pass unit-paths
else
	fail unit-paths "ExecStart/ExecStop do not run /usr/bin/lkvm"
fi

make -s uninstall DESTDIR="$d" PREFIX=/usr >"$tmp/log" 2>&1
left=$(cd "$d" && find . -type f | tr '\n' ' ')
if [ -z "$left" ]; then
	pass uninstall
else
	fail uninstall "left behind: $left"
fi

# systemd-analyze verify loads the unit like systemd would, checks that
# ExecStart/ExecStop are executable and the man pages exist: install to a
# real prefix so the paths in the unit exist.
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: unit/test-install/systemd-verify: no systemd-analyze (apt-get install systemd)"
else
	p=$tmp/prefix
	make -s install PREFIX="$p" >"$tmp/log" 2>&1
	cp "$p/lib/systemd/system/lkvm@.service" "$tmp/lkvm@web1.service"
	if MANPATH=$p/share/man systemd-analyze verify "$tmp/lkvm@web1.service" \
			>"$tmp/verify" 2>&1 && [ ! -s "$tmp/verify" ]; then
		pass systemd-verify
	else
		fail systemd-verify "$(head -2 "$tmp/verify" | tr '\n' ' ')"
	fi
fi
exit $failed

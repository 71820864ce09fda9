#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the Debian package from this tree (its tracked and new files, in a
# copy, so the tree stays clean) with dpkg-buildpackage -b -us -uc, install
# it with dpkg -i, check lkvm, its manual pages, completion and unit there,
# and purge it again. Prints PASS/FAIL lines like the test tiers; about 2
# minutes on 2 busy cores, so it is not part of tests/run.
#
#   scripts/deb-check.sh [OUTDIR]   # as root; keeps the .deb in OUTDIR if given
#
# Installs debhelper and the build dependencies (debian/control) first.
set -u
cd "$(dirname "$0")/.."
out=${1:-}
failed=0
pass() { echo "PASS: deb/$1"; }
fail() { echo "FAIL: deb/$1: $2"; failed=1; }

if [ "$(id -u)" != 0 ]; then
	fail setup "needs root (apt-get, dpkg -i)"
	exit 1
fi
if dpkg-query -W -f='${Status}' lkvm 2>/dev/null | grep -q 'ok installed'; then
	fail setup "an lkvm package is installed already; this would replace it"
	exit 1
fi
need="debhelper dpkg-dev build-essential pkg-config libfdt-dev libaio-dev zlib1g-dev libseccomp-dev man-db"
missing=
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$missing >/dev/null || { fail setup "apt-get install$missing failed"; exit 1; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/lkvm"
git ls-files -co --exclude-standard | tar -cf - -T - | tar -xf - -C "$tmp/lkvm"
start=$(date +%s)
if (cd "$tmp/lkvm" && dpkg-buildpackage -b -us -uc) >"$tmp/build.log" 2>&1; then
	echo "deb-check: dpkg-buildpackage took $(($(date +%s) - start)) s" >&2
	pass build
else
	tail -20 "$tmp/build.log" >&2
	fail build "dpkg-buildpackage -b -us -uc failed (log above)"
	exit 1
fi
deb=$(ls "$tmp"/lkvm_*.deb)
[ -z "$out" ] || cp "$deb" "$out/"

# Helpers are recommended, never required.
deps=$(dpkg-deb -f "$deb" Depends)
recs=$(dpkg-deb -f "$deb" Recommends)
if echo "$deps" | grep -Eq 'passt|virtiofsd|qemu'; then
	fail control "runtime helpers in Depends: $deps"
elif ! echo "$recs" | grep -q passt || ! echo "$recs" | grep -q virtiofsd; then
	fail control "passt and virtiofsd are not recommended: $recs"
else
	pass control
fi

if dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
	pass install
else
	cat "$tmp/install.log" >&2
	fail install "dpkg -i failed"
fi
lkvm --help 2>&1 | grep -q '^usage: lkvm' && pass help || fail help "lkvm --help"
if MANWIDTH=80 man --warnings lkvm 2>"$tmp/man.err" | grep -q 'lkvm-sandbox(1)' &&
   [ ! -s "$tmp/man.err" ] && man -w lkvm-run >/dev/null 2>&1; then
	pass man
else
	fail man "man lkvm: $(head -1 "$tmp/man.err")"
fi
bash -c '. /usr/share/bash-completion/completions/lkvm && complete -p lkvm' 2>/dev/null |
	grep -q _lkvm && pass completion || fail completion "no completion for lkvm"
if systemd-analyze verify lkvm@check.service >"$tmp/verify" 2>&1 && [ ! -s "$tmp/verify" ]; then
	pass unit
else
	fail unit "systemd-analyze verify lkvm@check.service: $(head -1 "$tmp/verify")"
fi
if dpkg -P lkvm >/dev/null 2>&1 && [ ! -e /usr/bin/lkvm ]; then
	pass purge
else
	fail purge "dpkg -P lkvm"
fi
exit $failed

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The Makefile's check for the build dependencies must stop a build on a
# machine without them, with one line naming the package, but must not stop
# `make demo` or `make check`, which install them first. A fresh machine is
# imitated by hiding the headers and pkg-config files in a private mount
# namespace.
set -u
cd "$(dirname "$0")/../.."
name=unit/make
if ! command -v unshare >/dev/null; then
	echo "SKIP: $name: no unshare(1) to hide the build dependencies"
	exit 0
fi
ns=(unshare -m)
[ "$(id -u)" = 0 ] || ns=(unshare -rm)
multiarch=$(gcc -print-multiarch 2>/dev/null)
# fresh GOAL: `make -n GOAL` on a machine without libfdt, libaio and zlib.
fresh() {
	"${ns[@]}" bash -c '
		for d in /usr/include /usr/lib/pkgconfig /usr/share/pkgconfig \
			 /usr/lib/'"$multiarch"'/pkgconfig; do
			[ -d "$d" ] && { mount -t tmpfs tmpfs "$d" || exit 99; }
		done
		exec make -n "$@"' make "$@" 2>&1
}
if ! "${ns[@]}" true 2>/dev/null; then
	echo "SKIP: $name: cannot make a private mount namespace here"
	exit 0
fi
rc=0
out=$(fresh lkvm)
st=$?
if [ "$st" = 99 ]; then
	echo "SKIP: $name: cannot hide /usr/include in a mount namespace"
	exit 0
fi
if [ "$st" != 0 ] && printf '%s\n' "$out" | grep -q 'missing libfdt: install the Debian package libfdt-dev'; then
	echo "PASS: $name/build-names-missing-package"
else
	echo "FAIL: $name/build-names-missing-package: make -n lkvm without libfdt gave status $st: $out"
	rc=1
fi
for goal in demo check; do
	out=$(fresh $goal)
	st=$?
	if [ "$st" = 0 ]; then
		echo "PASS: $name/$goal-not-stopped-by-dependency-check"
	else
		echo "FAIL: $name/$goal-not-stopped-by-dependency-check: make -n $goal gave status $st: $out"
		rc=1
	fi
done
exit $rc

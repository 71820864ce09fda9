#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the path of a small sysroot with Debian's arm64 libfdt, libaio,
# zlib and libseccomp (headers and static libraries), which `make ARCH=arm64
# CROSS_COMPILE=aarch64-linux-gnu-` links lkvm-arm64 against statically.
#
# The packages are fetched once with `apt-get download` and unpacked into
# ${LKVM_CACHE:-$HOME/.cache/lkvm}/arm64-sysroot (outside git). The first run
# needs the arm64 architecture in dpkg and apt's lists; it adds them itself
# (as root, or through sudo). Progress goes to stderr, the path to stdout.
set -eu

CACHE=${LKVM_CACHE:-${HOME:-/tmp}/.cache/lkvm}
DEST=$CACHE/arm64-sysroot
PKGS="libfdt-dev libaio-dev zlib1g-dev libseccomp-dev"
# Bumped when PKGS grows: an older sysroot is fetched again.
STAMP=.complete-2
TRIPLET=aarch64-linux-gnu

if [ -f "$DEST/$STAMP" ]; then
	echo "$DEST"
	exit 0
fi

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "arm64-sysroot: need root for: $*" >&2
		return 1
	fi
}

mkdir -p "$CACHE"
exec {lock}>"$CACHE/.arm64-sysroot.lock"
flock "$lock"
if [ -f "$DEST/$STAMP" ]; then
	echo "$DEST"
	exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	echo "arm64-sysroot: adding the arm64 architecture to dpkg" >&2
	as_root dpkg --add-architecture arm64
	as_root apt-get update -qq >&2
elif ! apt-cache show --no-all-versions libfdt-dev:arm64 >/dev/null 2>&1; then
	as_root apt-get update -qq >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "arm64-sysroot: downloading $PKGS (arm64) into $DEST" >&2
for p in $PKGS; do
	(cd "$tmp" && apt-get download -q "$p:arm64") >&2
done
mkdir -p "$tmp/root"
for deb in "$tmp"/*.deb; do
	dpkg-deb -x "$deb" "$tmp/root"
done
for f in usr/include/libfdt.h usr/include/zlib.h usr/include/libaio.h usr/include/seccomp.h \
	 usr/lib/$TRIPLET/libfdt.a usr/lib/$TRIPLET/libz.a usr/lib/$TRIPLET/libaio.a \
	 usr/lib/$TRIPLET/libseccomp.a; do
	if [ ! -e "$tmp/root/$f" ]; then
		echo "arm64-sysroot: $f is missing from the downloaded packages" >&2
		exit 1
	fi
done
rm -rf "$DEST"
mv "$tmp/root" "$DEST"
touch "$DEST/$STAMP" "$DEST/.complete"	# .complete: what older checkouts look for
echo "$DEST"

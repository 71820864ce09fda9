#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what lkvm needs to build and test on Debian 12: the build
# dependencies (glibc, libfdt, libaio, zlib, libseccomp), and for the test tiers QEMU
# (the nested tier's L1 host), qemu-img (qemu-utils: the qcow2 tests' oracle),
# busybox (the guests' userland), cpio and kmod, man-db (tests/unit/test-man.sh
# renders the manual pages), passt (-n mode=user; the nested tier copies it
# into L1), clang with its sanitizer runtimes (make fuzz; tests/unit/test-fuzz.sh
# builds and smoke-runs the libFuzzer harnesses).
# arm64: the cross compiler and qemu-system-aarch64 (the arm64 Debian
# packages themselves are fetched by scripts/arm64-sysroot.sh and the tier).
set -eu
PKGS="gcc make pkg-config libc6-dev libfdt-dev libaio-dev zlib1g-dev libseccomp-dev
      qemu-system-x86 qemu-utils busybox-static cpio kmod xz-utils e2fsprogs man-db passt
      clang libclang-rt-14-dev
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -n "$missing" ] || exit 0

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing$missing" >&2
for try in 1 2 3; do
	# shellcheck disable=SC2086
	if $SUDO apt-get update -qq && \
	   $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
		exit 0
	fi
	echo "install-deps: apt-get failed (try $try of 3)" >&2
	sleep $((try * 5))
done
exit 1

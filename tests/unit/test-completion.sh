#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# dist/bash-completion/lkvm against ./lkvm: commands, options read from the
# binary (an option added to a table is completed without touching the
# script), option values, files, and running VM names from "lkvm list"
# (served here by a wrapper that lists two VMs, so no KVM is needed).
set -u
cd "$(dirname "$0")/../.."
root=$PWD
fails=0
if ! ./lkvm --list-commands >/dev/null 2>&1; then
	echo "FAIL: unit/test-completion/setup: ./lkvm does not run (make lkvm)"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# "lkvm list" as if two VMs ran; everything else is the real binary.
cat >"$tmp/lkvm" <<EOS
#!/bin/sh
if [ "\$1" = list ]; then
	printf '%-24s %-8s %s\n' NAME PID STATE web1 100 running db-2 200 paused
	exit 0
fi
exec "$root/lkvm" "\$@"
EOS
chmod +x "$tmp/lkvm"
mkdir "$tmp/files" "$tmp/files/subdir"
touch "$tmp/files/bzImage" "$tmp/files/b file"

# shellcheck source=../../dist/bash-completion/lkvm
. dist/bash-completion/lkvm

# complete NAME "WORDS..." WANT...: completing the last word of WORDS
# (an empty one with a trailing space) must offer exactly WANT.
check() {
	local name=$1 line=$2 got want
	shift 2
	read -r -a COMP_WORDS <<<"$line"
	COMP_WORDS[0]=$tmp/lkvm
	[ "${line: -1}" = " " ] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	_lkvm
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	if [ "$got" = "$want" ]; then
		echo "PASS: unit/test-completion/$name"
	else
		echo "FAIL: unit/test-completion/$name: '$line' gave '$got', want '$want'"
		fails=1
	fi
}

cmds=$(./lkvm --list-commands | cut -f1)
# shellcheck disable=SC2086
check commands "lkvm " $cmds --help --version
check command-prefix "lkvm st" stat stop
check help-command "lkvm help sa" sandbox
check long-option "lkvm run --ker" --kernel
check options-from-binary "lkvm run --virtio-mmio" --virtio-mmio-msi --virtio-mmio-msi-shared
check alias "lkvm sandbox --virtio-9" --virtio-9p
check sandbox-own-option "lkvm sandbox --scr" --scratch --scratch-size
check json "lkvm stat --j" --json
check choice "lkvm run --console " serial virtio
check choice-prefix "lkvm run --virtio-transport m" mmio
check choice-equals "lkvm run --console = v" virtio
check key-value "lkvm run -n "
check vm-names "lkvm stop --name " web1 db-2
check vm-names-short "lkvm stat -n w" web1
check run-name-is-new "lkvm run --name "
check balloon-words "lkvm balloon --name web1 " inflate deflate
cd "$tmp/files"
check kernel-file "lkvm run -k bz" bzImage
check files "lkvm run --kernel " "b file" bzImage subdir
check dir "lkvm sandbox --scratch " subdir
check sandbox-command "lkvm sandbox -- bzImag"
check sandbox-args "lkvm sandbox -m 1G -- ls b" "b file" bzImage
exit $fails

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Seeds for fuzz-9p, into directory $1: short sessions of T-messages after
# the harness's own Tversion and Tattach (fid 0 is the share's root,
# which holds a file f, a directory d and a symlink l). The first byte
# of each seed is the options byte (bit 0 read-only, bit 1 passthrough).
set -eu
. "$(dirname "$0")/seed-lib.sh"
out=$1
t=$(mktemp)
trap 'rm -f "$t"' EXIT
str() { le16 ${#1}; printf %s "$1"; }
# msg TYPE BODY...: one message, its size computed
msg() { local type=$1; shift; "$@" >"$t"; le32 $((7 + $(stat -c %s "$t"))); le8 "$type"; le16 1; cat "$t"; }
walk() { le32 "$1"; le32 "$2"; le16 1; str "$3"; }
lopen() { le32 "$1"; le32 "$2"; }
rd() { le32 "$1"; le64 0; le32 4096; }
getattr() { le32 "$1"; le64 0x7ff; }
lcreate() { le32 "$1"; str "$2"; le32 2; le32 0644; le32 0; }
wr() { le32 "$1"; le64 0; le32 5; printf hello; }
setattr() { le32 "$1"; le32 0x9; le32 04755; le32 0; le32 0; le64 3; le64 0; le64 0; le64 0; le64 0; }
xwalk() { le32 "$1"; le32 "$2"; str user.x; }
xcreate() { le32 "$1"; str user.x; le64 2; le32 0; }
mkdir_() { le32 "$1"; str "$2"; le32 0755; le32 0; }
readlink_() { le32 "$1"; }
unlink_() { le32 "$1"; str "$2"; le32 0; }
lock() { le32 "$1"; le8 1; le32 0; le64 0; le64 0; le32 1; str host; }
statfs() { le32 "$1"; }
clunk() { le32 "$1"; }
{ le8 0; msg 110 walk 0 1 f; msg 12 lopen 1 0; msg 116 rd 1; msg 24 getattr 1; msg 120 clunk 1; } >"$out/read"
{ le8 0; msg 110 walk 0 1 d; msg 12 lopen 1 0; msg 40 rd 1; msg 120 clunk 1; } >"$out/readdir"
{ le8 0; msg 110 walk 0 1 d; msg 14 lcreate 1 new; msg 118 wr 1; msg 26 setattr 1; msg 52 lock 1; msg 120 clunk 1; } >"$out/create"
{ le8 2; msg 110 walk 0 1 f; msg 32 xcreate 1; msg 118 wr 1; msg 120 clunk 1; msg 110 walk 0 2 f; msg 30 xwalk 2 3; msg 116 rd 3; } >"$out/xattr"
{ le8 0; msg 72 mkdir_ 0 sub; msg 110 walk 0 1 l; msg 22 readlink_ 1; msg 76 unlink_ 0 f; msg 8 statfs 0; } >"$out/dirops"
{ le8 1; msg 110 walk 0 1 f; msg 12 lopen 1 2; msg 118 wr 1; msg 26 setattr 1; } >"$out/readonly"

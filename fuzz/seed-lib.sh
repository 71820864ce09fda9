# SPDX-License-Identifier: GPL-2.0
# Little-endian byte writers for the seed scripts (sourced): each prints
# its value as raw bytes on stdout.
le8() { printf "\\x$(printf %02x $(($1 & 255)))"; }
le16() { le8 "$1"; le8 $(($1 >> 8)); }
le32() { le16 "$1"; le16 $(($1 >> 16)); }
le64() { le32 "$1"; le32 $(($1 >> 32)); }
# zeros N
zeros() { head -c $(($1)) /dev/zero; }
# desc ADDR LEN FLAGS NEXT: one 16-byte virtqueue descriptor
desc() { le64 "$1"; le32 "$2"; le16 "$3"; le16 "$4"; }

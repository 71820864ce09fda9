/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_JSON_H
#define LKVM_JSON_H

#include <stdio.h>

/*
 * The JSON lkvm prints (lkvm list --json, lkvm stat --json): just what is
 * needed to write valid JSON (RFC 8259) from strings lkvm did not choose.
 */

/*
 * Write @s as a JSON string, quotes included. '"', '\' and control
 * characters are escaped; well-formed UTF-8 is copied; every byte that is
 * not part of well-formed UTF-8 (overlong forms, surrogates, code points
 * above U+10FFFF, truncated sequences) becomes U+FFFD, so the output is
 * always valid JSON whatever bytes a path or name holds.
 */
void json_string(FILE *f, const char *s);

#endif

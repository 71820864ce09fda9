/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_PARSE_OPTIONS_H
#define LKVM_PARSE_OPTIONS_H

#include "lkvm/util.h"

/*
 * One table-driven option parser for every lkvm command. Options may be
 * given as "-m 512", "-m512", "--mem 512" or "--mem=512"; "--" ends the
 * options. Aliases are separate table entries marked OPT_ALIAS: they parse
 * the same way but are not listed twice in the help.
 *
 * Every command also takes a hidden "--list-options" (as its first option):
 * it prints what the command accepts, for completion scripts and the
 * manual page test (tests/unit/test-man.sh), and exits with status 0.
 * One line per option (aliases included), three tab-separated fields:
 *
 *   <--long or ->	<-short or ->	<argument as in the help, or ->
 *
 * The first line is always "--help	-h	-".
 */
enum opt_type {
	OPT_END,
	OPT_GROUP,	/* a heading in the help text */
	OPT_BOOL,	/* bool *, no argument */
	OPT_INT,	/* int *, decimal/hex, range checked */
	OPT_SIZE,	/* u64 * in bytes; a plain number is in @unit bytes */
	OPT_STRING,	/* const char ** */
	OPT_CALLBACK,	/* cb(opt, arg) with an argument */
};

#define OPT_ALIAS	(1U << 0)
#define OPT_NOARG	(1U << 1)	/* an OPT_CALLBACK without a value: cb(opt, NULL) */
#define OPT_HIDDEN	(1U << 2)	/* accepted, not listed in the help */

struct option;
typedef int (*opt_cb_t)(const struct option *opt, const char *arg);

struct option {
	enum opt_type type;
	int short_name;
	const char *long_name;
	void *value;
	const char *argh;	/* argument name in the help, e.g. "<MiB>" */
	const char *help;
	unsigned flags;
	s64 min, max;		/* OPT_INT range */
	u64 unit;		/* OPT_SIZE unit of a plain number */
	opt_cb_t cb;
};

#define OPTION_GROUP(h)	{ .type = OPT_GROUP, .help = (h) }
#define OPTION_BOOLEAN(s, l, v, h) \
	{ .type = OPT_BOOL, .short_name = (s), .long_name = (l), .value = (v), .help = (h) }
#define OPTION_INTEGER(s, l, v, a, h, lo, hi) \
	{ .type = OPT_INT, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h), .min = (lo), .max = (hi) }
#define OPTION_SIZE(s, l, v, a, h, u) \
	{ .type = OPT_SIZE, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h), .unit = (u) }
#define OPTION_STRING(s, l, v, a, h) \
	{ .type = OPT_STRING, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h) }
#define OPTION_CALLBACK(s, l, v, a, h, f) \
	{ .type = OPT_CALLBACK, .short_name = (s), .long_name = (l), .value = (v), \
	  .argh = (a), .help = (h), .cb = (f) }
#define OPTION_CALLBACK_NOARG(s, l, v, h, f) \
	{ .type = OPT_CALLBACK, .short_name = (s), .long_name = (l), .value = (v), \
	  .help = (h), .cb = (f), .flags = OPT_NOARG }
#define OPTION_END()	{ .type = OPT_END }

/* parse_options() results other than the count of remaining arguments. */
#define PARSE_OPT_HELP	(-2)
#define PARSE_OPT_ERROR	(-1)

/*
 * Parse @argv[0..argc) (argv[0] is the first option, not the command name).
 * Non-option arguments are moved to the front of @argv in order; everything
 * after "--" is kept as is. Returns their count, PARSE_OPT_HELP for -h or
 * --help, or PARSE_OPT_ERROR after printing one line naming the problem.
 */
int parse_options(int argc, const char **argv, const struct option *opts,
		  const char *cmd);

/*
 * For options that add an item to a fixed array each time they are given
 * (--disk, --9p): the next free one of @max items of @size bytes at
 * @array, @nr being in use, zeroed; NULL after "at most @max @what".
 */
void *opt_next_item(void *array, size_t size, int nr, int max, const char *what);
/*
 * For items that must differ by a name (a share's tag): false after
 * "@what '@name' is used twice" when one of the @nr items at @array has
 * @name as the string at offset @off.
 */
bool opt_name_unique(const void *array, size_t size, int nr, size_t off, const char *name,
		     const char *what);

/* Print "usage: @usage" and a description of every option to @out. */
void usage_with_options(void *out, const char *usage, const struct option *opts);

#endif

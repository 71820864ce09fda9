// SPDX-License-Identifier: GPL-2.0
/* The option parser behind every lkvm command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/parse-options.h"

static bool takes_arg(const struct option *o)
{
	return o->type != OPT_BOOL && !(o->flags & OPT_NOARG);
}

static int set_value(const struct option *o, const char *arg, const char *cmd,
		     const char *spelled)
{
	long long v;
	char *end;
	u64 size;

	switch (o->type) {
	case OPT_BOOL:
		*(bool *)o->value = true;
		return 0;
	case OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case OPT_INT:
		errno = 0;
		v = strtoll(arg, &end, 0);
		if (errno || end == arg || *end) {
			pr_err("%s: %s expects a number, not '%s'", cmd, spelled, arg);
			return -1;
		}
		if (v < o->min || v > o->max) {
			pr_err("%s: %s %lld is out of range (%lld..%lld)", cmd,
			       spelled, v, (long long)o->min, (long long)o->max);
			return -1;
		}
		*(int *)o->value = (int)v;
		return 0;
	case OPT_SIZE:
		if (parse_size(arg, o->unit, &size)) {
			pr_err("%s: %s expects a size such as 512, 512M or 2G, not '%s'",
			       cmd, spelled, arg);
			return -1;
		}
		*(u64 *)o->value = size;
		return 0;
	case OPT_CALLBACK:
		return o->cb(o, arg);
	default:
		return -1;
	}
}

static const struct option *find_long(const struct option *opts, const char *name,
				      size_t len)
{
	for (; opts->type != OPT_END; opts++) {
		if (opts->type == OPT_GROUP || !opts->long_name)
			continue;
		if (strlen(opts->long_name) == len && !strncmp(opts->long_name, name, len))
			return opts;
	}
	return NULL;
}

static const struct option *find_short(const struct option *opts, int c)
{
	for (; opts->type != OPT_END; opts++)
		if (opts->type != OPT_GROUP && opts->short_name == c)
			return opts;
	return NULL;
}

/*
 * The hidden --list-options: everything this command accepts, in a form
 * programs can read (format in parse-options.h). Generated from the table
 * itself, so completion and the manual page test never go stale.
 */
static void list_options(const struct option *opts)
{
	printf("--help\t-h\t-\n");
	for (; opts->type != OPT_END; opts++) {
		if (opts->type == OPT_GROUP)
			continue;
		printf("%s%s\t", opts->long_name ? "--" : "-",
		       opts->long_name ? opts->long_name : "");
		if (opts->short_name)
			printf("-%c\t", opts->short_name);
		else
			printf("-\t");
		printf("%s\n", !takes_arg(opts) ? "-" : opts->argh ? opts->argh : "<arg>");
	}
	fflush(stdout);
}

int parse_options(int argc, const char **argv, const struct option *opts,
		  const char *cmd)
{
	int i, nr_args = 0;

	if (argc > 0 && !strcmp(argv[0], "--list-options")) {
		list_options(opts);
		exit(0);
	}

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *arg = NULL;
		const struct option *o;
		char spelled[64];

		if (!strcmp(a, "--")) {
			while (++i < argc)
				argv[nr_args++] = argv[i];
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return PARSE_OPT_HELP;

		if (a[0] == '-' && a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);

			o = find_long(opts, name, len);
			if (!o) {
				pr_err("%s: unknown option '--%.*s' (see 'lkvm %s --help')",
				       cmd, (int)len, name, cmd);
				return PARSE_OPT_ERROR;
			}
			snprintf(spelled, sizeof(spelled), "--%s", o->long_name);
			if (eq) {
				if (!takes_arg(o)) {
					pr_err("%s: %s takes no value", cmd, spelled);
					return PARSE_OPT_ERROR;
				}
				arg = eq + 1;
			}
		} else if (a[0] == '-' && a[1]) {
			o = find_short(opts, a[1]);
			if (!o) {
				pr_err("%s: unknown option '-%c' (see 'lkvm %s --help')",
				       cmd, a[1], cmd);
				return PARSE_OPT_ERROR;
			}
			snprintf(spelled, sizeof(spelled), "-%c", a[1]);
			if (a[2]) {
				if (!takes_arg(o)) {
					pr_err("%s: %s takes no value", cmd, spelled);
					return PARSE_OPT_ERROR;
				}
				arg = a + 2;
			}
		} else {
			argv[nr_args++] = a;
			continue;
		}

		if (takes_arg(o) && !arg) {
			if (i + 1 >= argc) {
				pr_err("%s: %s needs a value", cmd, spelled);
				return PARSE_OPT_ERROR;
			}
			arg = argv[++i];
		}
		if (set_value(o, arg, cmd, spelled))
			return PARSE_OPT_ERROR;
	}
	return nr_args;
}

void usage_with_options(void *out, const char *usage, const struct option *opts)
{
	FILE *f = out;

	fprintf(f, "usage: %s\n", usage);
	for (; opts->type != OPT_END; opts++) {
		char lhs[64];
		int n = 0;

		if (opts->type == OPT_GROUP) {
			fprintf(f, "\n%s\n", opts->help);
			continue;
		}
		if (opts->flags & (OPT_ALIAS | OPT_HIDDEN))
			continue;
		if (opts->short_name)
			n += snprintf(lhs + n, sizeof(lhs) - n, "-%c%s", opts->short_name,
				      opts->long_name ? ", " : "");
		else
			n += snprintf(lhs + n, sizeof(lhs) - n, "    ");
		if (opts->long_name)
			n += snprintf(lhs + n, sizeof(lhs) - n, "--%s", opts->long_name);
		if (opts->argh)
			snprintf(lhs + n, sizeof(lhs) - n, " %s", opts->argh);
		fprintf(f, "    %-30s %s\n", lhs, opts->help);
	}
}

void *opt_next_item(void *array, size_t size, int nr, int max, const char *what)
{
	void *item = (char *)array + (size_t)nr * size;

	if (nr < 0 || nr >= max) {
		pr_err("at most %d %s", max, what);
		return NULL;
	}
	memset(item, 0, size);
	return item;
}

bool opt_name_unique(const void *array, size_t size, int nr, size_t off, const char *name,
		     const char *what)
{
	int i;

	for (i = 0; i < nr; i++) {
		const char *other = *(const char *const *)((const char *)array + i * size + off);

		if (!strcmp(other, name)) {
			pr_err("%s '%s' is used twice", what, name);
			return false;
		}
	}
	return true;
}

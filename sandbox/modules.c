// SPDX-License-Identifier: GPL-2.0
/*
 * Which kernel modules the sandbox's init must load, in which order: read
 * from the kernel's modules.dep (as depmod wrote it) rather than a list
 * written here, because distributions split drivers differently and
 * dependencies change between releases. Also: the kernel release of a
 * bzImage or vmlinux, to find its /lib/modules directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/sandbox.h"

struct mod {
	char *path;		/* relative to the module directory */
	char *name;		/* normalised: no directory, suffix; '_' for '-' */
	char **deps;		/* paths */
	int nr_deps;
	int state;		/* 0 new, 1 visiting, 2 listed */
};

struct modset {
	struct mod *mods;
	int nr;
	char **out;
	int nr_out;
};

static char *norm_name(const char *path)
{
	const char *base = strrchr(path, '/');
	char *n, *dot;

	n = xstrdup(base ? base + 1 : path);
	dot = strstr(n, ".ko");
	if (dot)
		*dot = '\0';
	for (dot = n; *dot; dot++)
		if (*dot == '-')
			*dot = '_';
	return n;
}

/* The module whose path (@by_path) or name is @key; NULL if none. */
static struct mod *find_mod(struct modset *ms, const char *key, bool by_path)
{
	int i;

	for (i = 0; i < ms->nr; i++)
		if (!strcmp(by_path ? ms->mods[i].path : ms->mods[i].name, key))
			return &ms->mods[i];
	return NULL;
}

static int parse_dep(struct modset *ms, FILE *f)
{
	char *line = NULL, *tok, *save;
	size_t cap = 0;

	while (getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':');
		struct mod *m;

		if (!colon)
			continue;
		*colon = '\0';
		ms->mods = xrealloc(ms->mods, (ms->nr + 1) * sizeof(*ms->mods));
		m = &ms->mods[ms->nr++];
		memset(m, 0, sizeof(*m));
		m->path = xstrdup(line);
		m->name = norm_name(line);
		for (tok = strtok_r(colon + 1, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save)) {
			m->deps = xrealloc(m->deps, (m->nr_deps + 1) * sizeof(*m->deps));
			m->deps[m->nr_deps++] = xstrdup(tok);
		}
	}
	free(line);
	return 0;
}

static bool builtin(const char *moddir, const char *name)
{
	char path[4096], *line = NULL;
	size_t cap = 0;
	bool found = false;
	FILE *f;

	if (snprintf(path, sizeof(path), "%s/modules.builtin", moddir) >= (int)sizeof(path))
		return false;
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		char *n;

		line[strcspn(line, "\n")] = '\0';
		n = norm_name(line);
		found = !strcmp(n, name);
		free(n);
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * Depth first: modules.dep lists every module a module needs (the whole
 * closure); loading each of them, recursively, before the module itself
 * gives a valid order whatever order the list is in.
 */
static void visit(struct modset *ms, struct mod *m)
{
	int i;

	if (m->state)
		return;		/* listed, or a cycle (which could not load anyway) */
	m->state = 1;
	for (i = m->nr_deps - 1; i >= 0; i--) {
		struct mod *d = find_mod(ms, m->deps[i], true);

		if (d)
			visit(ms, d);
	}
	m->state = 2;
	ms->out = xrealloc(ms->out, (ms->nr_out + 1) * sizeof(*ms->out));
	ms->out[ms->nr_out++] = xstrdup(m->path);
}

int modules_resolve(const char *moddir, const char *const *want, char ***out,
		    char **missing)
{
	struct modset ms = { 0 };
	char path[4096];
	size_t mlen = 0;
	FILE *f;
	int i, j;

	*out = NULL;
	if (missing)
		*missing = NULL;
	if (snprintf(path, sizeof(path), "%s/modules.dep", moddir) >= (int)sizeof(path))
		return -1;
	f = fopen(path, "re");
	if (!f)
		return -1;
	parse_dep(&ms, f);
	fclose(f);

	for (i = 0; want[i]; i++) {
		char *n = norm_name(want[i]);
		struct mod *m = find_mod(&ms, n, false);

		if (m) {
			visit(&ms, m);
		} else if (!builtin(moddir, n) && missing) {
			size_t add = strlen(n) + 2;

			*missing = xrealloc(*missing, mlen + add + 1);
			snprintf(*missing + mlen, add + 1, "%s%s", mlen ? ", " : "", n);
			mlen = strlen(*missing);
		}
		free(n);
	}
	for (i = 0; i < ms.nr; i++) {
		for (j = 0; j < ms.mods[i].nr_deps; j++)
			free(ms.mods[i].deps[j]);
		free(ms.mods[i].deps);
		free(ms.mods[i].path);
		free(ms.mods[i].name);
	}
	free(ms.mods);
	*out = ms.out;
	return ms.nr_out;
}

void modules_free(char **paths, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* The release: the first word of @s (at most @n bytes), into @buf. */
static int release_word(const char *s, size_t n, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < n && s[i] > ' ' && s[i] < 0x7f; i++)
		;
	if (!i || i >= len)
		return -1;
	memcpy(buf, s, i);
	buf[i] = '\0';
	return 0;
}

/*
 * An ELF vmlinux (booted through PVH) has no setup header; its linux_banner,
 * "Linux version 6.1.0-57-amd64 (debian-kernel@...) ...", has the release.
 * The release is followed by " (" and has no '%': that tells the banner
 * from format strings such as "Linux version %s (%s)".
 */
static int elf_release(int fd, char *buf, size_t len)
{
	static const char tag[] = "Linux version ";
	struct stat st;
	const char *p, *end;
	char *map;
	int r = -1;

	if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(tag))
		return -1;
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return -1;
	end = map + st.st_size;
	for (p = map; (p = memmem(p, end - p, tag, sizeof(tag) - 1)); p++) {
		const char *rel = p + sizeof(tag) - 1, *q = rel;

		while (q < end && q - rel < 256 && *q > ' ' && *q < 0x7f && *q != '%')
			q++;
		if (q > rel && end - q >= 2 && q[0] == ' ' && q[1] == '(') {
			r = release_word(rel, q - rel, buf, len);
			break;
		}
	}
	munmap(map, st.st_size);
	return r;
}

/*
 * A bzImage's setup header's kernel_version field (offset 0x20e, boot
 * protocol 2.00+) points, relative to 0x200, at a string such as
 * "6.1.0-56-amd64 (debian-kernel@...) #1 SMP ...": its first word. An
 * ELF vmlinux: its banner.
 */
int kernel_release(const char *kernel, char *buf, size_t len)
{
	u8 hdr[0x210];
	char ver[256];
	u16 off;
	ssize_t n;
	int fd;

	fd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = pread_full(fd, hdr, sizeof(hdr), 0);
	if (n >= 4 && !memcmp(hdr, "\177ELF", 4)) {
		n = elf_release(fd, buf, len);
		close(fd);
		return n;
	}
	if (n != (ssize_t)sizeof(hdr) || memcmp(hdr + 0x202, "HdrS", 4) ||
	    (hdr[0x206] | hdr[0x207] << 8) < 0x200) {
		close(fd);
		return -1;
	}
	off = hdr[0x20e] | hdr[0x20f] << 8;
	n = off ? pread_full(fd, ver, sizeof(ver) - 1, 0x200 + off) : -1;
	close(fd);
	if (n <= 0)
		return -1;
	return release_word(ver, n, buf, len);
}

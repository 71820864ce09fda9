/* SPDX-License-Identifier: GPL-2.0 */
#ifndef LKVM_FS_9P_WIRE_H
#define LKVM_FS_9P_WIRE_H
/*
 * The 9P wire format: little-endian integers and u16-counted strings read
 * from a T-message and written into an R-message. Reading past the end of
 * a message, or a string that is not a plain name where one is required,
 * marks the message bad (in->bad) and yields zeroes; writing past the
 * reply's capacity marks it overflowed. The handlers check once at the end
 * (PARSED) rather than after every field.
 */
#include <stdint.h>
#include <string.h>

#include "lkvm/9p-server.h"
#include "lkvm/beneath.h"

#define QID_SIZE		13

struct p9_in {
	const u8 *p;
	size_t len, off;
	bool bad;		/* ran past the end, or an invalid string */
};

struct p9_out {
	u8 *p;
	size_t cap, off;
	bool overflow;
};

/*
 * Claim @n bytes at *@off of a @len-byte buffer; NULL, with *@failed set
 * for good, if they are not all there. Both directions' bounds.
 */
static inline size_t wire_take(size_t *off, size_t len, size_t n, bool *failed)
{
	size_t at = *off;

	if (*failed || n > len - at) {
		*failed = true;
		return SIZE_MAX;
	}
	*off += n;
	return at;
}

static inline const u8 *in_take(struct p9_in *in, size_t n)
{
	size_t at = wire_take(&in->off, in->len, n, &in->bad);

	return at == SIZE_MAX ? NULL : in->p + at;
}

/* A little-endian integer of @n bytes; 0 past the end. */
static inline u64 in_le(struct p9_in *in, size_t n)
{
	const u8 *p = in_take(in, n);

	return p ? get_le(p, n) : 0;
}

static inline u8 in_u8(struct p9_in *in) { return in_le(in, 1); }
static inline u16 in_u16(struct p9_in *in) { return in_le(in, 2); }
static inline u32 in_u32(struct p9_in *in) { return in_le(in, 4); }
static inline u64 in_u64(struct p9_in *in) { return in_le(in, 8); }

/* A string's bytes (not terminated) and length, bounds-checked. */
static inline const char *in_raw_str(struct p9_in *in, u16 *len)
{
	*len = in_u16(in);
	return (const char *)in_take(in, *len);
}

/*
 * A string copied into @buf (@cap bytes with the terminator). Embedded NULs
 * and overlong strings make the message bad.
 */
static inline void in_str(struct p9_in *in, char *buf, size_t cap)
{
	u16 len;
	const char *s = in_raw_str(in, &len);

	buf[0] = '\0';
	if (!s)
		return;
	if (len >= cap || memchr(s, '\0', len)) {
		in->bad = true;
		return;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
}

static inline u8 *out_take(struct p9_out *out, size_t n)
{
	size_t at = wire_take(&out->off, out->cap, n, &out->overflow);

	return at == SIZE_MAX ? NULL : out->p + at;
}

static inline void out_le(struct p9_out *out, u64 v, size_t n)
{
	u8 *p = out_take(out, n);

	if (p)
		put_le(p, v, n);
}

#define out_u8(out, v)	out_le(out, v, 1)
#define out_u16(out, v)	out_le(out, v, 2)
#define out_u32(out, v)	out_le(out, v, 4)
#define out_u64(out, v)	out_le(out, v, 8)

static inline void out_u64s(struct p9_out *out, const u64 *v, size_t n)
{
	while (n--)
		out_u64(out, *v++);
}

/* 64-bit fields in a row, in wire order: OUT_U64S(out, a, b, ...). */
#define OUT_U64S(out, ...)						\
	out_u64s(out, (const u64[]){ __VA_ARGS__ },			\
		 sizeof((const u64[]){ __VA_ARGS__ }) / sizeof(u64))

static inline void out_strn(struct p9_out *out, const char *s, size_t len)
{
	u8 *p;

	if (len > 0xffff) {
		out->overflow = true;
		return;
	}
	out_u16(out, len);
	p = out_take(out, len);
	if (p)
		memcpy(p, s, len);
}

static inline void out_str(struct p9_out *out, const char *s)
{
	out_strn(out, s, strlen(s));
}

struct p9_qid {
	u8 type;
	u64 path;
};

static inline void out_qid(struct p9_out *out, const struct p9_qid *q)
{
	out_u8(out, q->type);
	out_u32(out, 0);	/* version: identity is the path alone */
	out_u64(out, q->path);
}

/* Parse a name for creation; sets in->bad when it is not a plain name. */
static inline void in_name(struct p9_in *in, char *buf)
{
	u16 len;
	const char *n = in_raw_str(in, &len);

	buf[0] = '\0';
	if (!n)
		return;
	if (!beneath_name_ok(n, len, false)) {
		in->bad = true;
		return;
	}
	memcpy(buf, n, len);
	buf[len] = '\0';
}

/* After the last field: the message must have been exactly that long. */
static inline bool in_parsed(const struct p9_in *in)
{
	return !in->bad && in->off == in->len;
}
#define PARSED(in)	do { if (!in_parsed(in)) return EINVAL; } while (0)

#endif

/* cm_str.c - growable string buffer. Pure: no I/O. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_str.h"

void cm_sb_init(struct cm_sb *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void cm_sb_free(struct cm_sb *sb)
{
	if (sb == NULL)
		return;
	free(sb->buf);
	memset(sb, 0, sizeof(*sb));
}

void cm_sb_reset(struct cm_sb *sb)
{
	sb->len = 0;
	sb->failed = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

static int sb_grow(struct cm_sb *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->failed)
		return -1;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->buf, cap);
	if (p == NULL) {
		sb->failed = 1;
		return -1;
	}
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

void cm_sb_add(struct cm_sb *sb, const char *s, size_t n)
{
	if (sb_grow(sb, n) < 0)
		return;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void cm_sb_puts(struct cm_sb *sb, const char *s)
{
	cm_sb_add(sb, s, strlen(s));
}

void cm_sb_putc(struct cm_sb *sb, char c)
{
	cm_sb_add(sb, &c, 1);
}

void cm_sb_vprintf(struct cm_sb *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || sb_grow(sb, (size_t)n) < 0)
		return;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void cm_sb_printf(struct cm_sb *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cm_sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

const char *cm_sb_str(const struct cm_sb *sb)
{
	return sb->buf ? sb->buf : "";
}

char *cm_sb_steal(struct cm_sb *sb)
{
	char *p;

	if (sb->failed) {
		cm_sb_free(sb);
		return NULL;
	}
	p = sb->buf ? sb->buf : strdup("");
	memset(sb, 0, sizeof(*sb));
	return p;
}

int cm_sb_failed(const struct cm_sb *sb)
{
	return sb->failed;
}

int cm_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size == 0)
		return -E2BIG;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -E2BIG;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

void cm_le_put(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t cm_le_get(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t cm_hash64(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

bool cm_list_has(const char *list, const char *item)
{
	size_t n = strlen(item);

	while (list && *list) {
		const char *end = strchr(list, ',');
		size_t len = end ? (size_t)(end - list) : strlen(list);

		if (len == n && n > 0 && strncmp(list, item, n) == 0)
			return true;
		list = end ? end + 1 : NULL;
	}
	return false;
}

/* cm_str.h - a growable string buffer and small string helpers.
 *
 * Pure: no I/O. On allocation failure the buffer remembers the failure
 * (cm_sb_failed) and further appends are ignored, so callers check once.
 */
#ifndef CM_STR_H
#define CM_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cm_sb {
	char *buf;
	size_t len;
	size_t cap;
	int failed;
};

void cm_sb_init(struct cm_sb *sb);
void cm_sb_free(struct cm_sb *sb);
void cm_sb_reset(struct cm_sb *sb);
void cm_sb_add(struct cm_sb *sb, const char *s, size_t n);
void cm_sb_puts(struct cm_sb *sb, const char *s);
void cm_sb_putc(struct cm_sb *sb, char c);
void cm_sb_printf(struct cm_sb *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cm_sb_vprintf(struct cm_sb *sb, const char *fmt, va_list ap);
/* The NUL-terminated text ("" when empty). Owned by sb. */
const char *cm_sb_str(const struct cm_sb *sb);
/* Hand the buffer to the caller (must free()); sb is reset. NULL on failure. */
char *cm_sb_steal(struct cm_sb *sb);
int cm_sb_failed(const struct cm_sb *sb);

/* Bounded copy that always terminates; returns -E2BIG if truncated. */
int cm_strlcpy(char *dst, const char *src, size_t size);
/* Whether item is one of the comma-separated entries of list. */
bool cm_list_has(const char *list, const char *item);

/* Little-endian integers of n bytes (1..8) in byte buffers: the wire
 * format and the witness layout share them. */
void cm_le_put(unsigned char *p, uint64_t v, int n);
uint64_t cm_le_get(const unsigned char *p, int n);

/* FNV-1a 64-bit, incremental: start with CM_HASH_INIT. */
#define CM_HASH_INIT 0xcbf29ce484222325ULL
uint64_t cm_hash64(uint64_t h, const void *data, size_t len);

#endif

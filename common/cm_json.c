/* cm_json.c - JSON writer and parser. Pure: no I/O, no globals. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"

/* ---- writer ---- */

void cm_jw_init(struct cm_jw *w, struct cm_sb *sb)
{
	memset(w, 0, sizeof(*w));
	w->sb = sb;
	w->first[0] = true;
}

static void jw_sep(struct cm_jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		cm_sb_putc(w->sb, ',');
	w->first[w->depth] = false;
}

static void jw_open(struct cm_jw *w, char c)
{
	jw_sep(w);
	cm_sb_putc(w->sb, c);
	if (w->depth + 1 < CM_JW_MAX_DEPTH)
		w->depth++;
	w->first[w->depth] = true;
}

static void jw_close(struct cm_jw *w, char c)
{
	cm_sb_putc(w->sb, c);
	if (w->depth > 0)
		w->depth--;
}

void cm_jw_obj_begin(struct cm_jw *w) { jw_open(w, '{'); }
void cm_jw_obj_end(struct cm_jw *w) { jw_close(w, '}'); }
void cm_jw_arr_begin(struct cm_jw *w) { jw_open(w, '['); }
void cm_jw_arr_end(struct cm_jw *w) { jw_close(w, ']'); }

void cm_json_escape(struct cm_sb *sb, const char *s)
{
	const unsigned char *p;

	cm_sb_putc(sb, '"');
	for (p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"': cm_sb_puts(sb, "\\\""); break;
		case '\\': cm_sb_puts(sb, "\\\\"); break;
		case '\n': cm_sb_puts(sb, "\\n"); break;
		case '\r': cm_sb_puts(sb, "\\r"); break;
		case '\t': cm_sb_puts(sb, "\\t"); break;
		default:
			if (*p < 0x20)
				cm_sb_printf(sb, "\\u%04x", *p);
			else
				cm_sb_putc(sb, (char)*p);
		}
	}
	cm_sb_putc(sb, '"');
}

void cm_jw_key(struct cm_jw *w, const char *key)
{
	jw_sep(w);
	cm_json_escape(w->sb, key);
	cm_sb_putc(w->sb, ':');
	w->after_key = true;
}

void cm_jw_str(struct cm_jw *w, const char *s)
{
	jw_sep(w);
	cm_json_escape(w->sb, s);
}

void cm_jw_int(struct cm_jw *w, int64_t v)
{
	jw_sep(w);
	cm_sb_printf(w->sb, "%" PRId64, v);
}

void cm_jw_bool(struct cm_jw *w, bool v)
{
	jw_sep(w);
	cm_sb_puts(w->sb, v ? "true" : "false");
}

void cm_jw_null(struct cm_jw *w)
{
	jw_sep(w);
	cm_sb_puts(w->sb, "null");
}

void cm_jw_kv_str(struct cm_jw *w, const char *key, const char *s)
{
	cm_jw_key(w, key);
	cm_jw_str(w, s);
}

void cm_jw_kv_int(struct cm_jw *w, const char *key, int64_t v)
{
	cm_jw_key(w, key);
	cm_jw_int(w, v);
}

void cm_jw_kv_bool(struct cm_jw *w, const char *key, bool v)
{
	cm_jw_key(w, key);
	cm_jw_bool(w, v);
}

/* ---- parser ---- */

struct jp {
	const char *p;
	char *err;
	size_t errlen;
	int depth;
};

static int jp_fail(struct jp *jp, const char *what)
{
	if (jp->err && jp->err[0] == '\0')
		snprintf(jp->err, jp->errlen, "%s", what);
	return -1;
}

static void jp_ws(struct jp *jp)
{
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r')
		jp->p++;
}

static void utf8_put(struct cm_sb *sb, unsigned cp)
{
	if (cp < 0x80) {
		cm_sb_putc(sb, (char)cp);
	} else if (cp < 0x800) {
		cm_sb_putc(sb, (char)(0xc0 | (cp >> 6)));
		cm_sb_putc(sb, (char)(0x80 | (cp & 0x3f)));
	} else {
		cm_sb_putc(sb, (char)(0xe0 | (cp >> 12)));
		cm_sb_putc(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
		cm_sb_putc(sb, (char)(0x80 | (cp & 0x3f)));
	}
}

static int jp_string(struct jp *jp, char **out)
{
	struct cm_sb sb;
	unsigned cp;
	int i;

	cm_sb_init(&sb);
	jp->p++; /* opening quote */
	for (;;) {
		char c = *jp->p++;

		if (c == '\0') {
			cm_sb_free(&sb);
			return jp_fail(jp, "unterminated string");
		}
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20) {
			cm_sb_free(&sb);
			return jp_fail(jp, "control character in string");
		}
		if (c != '\\') {
			cm_sb_putc(&sb, c);
			continue;
		}
		c = *jp->p++;
		switch (c) {
		case '"': case '\\': case '/': cm_sb_putc(&sb, c); break;
		case 'b': cm_sb_putc(&sb, '\b'); break;
		case 'f': cm_sb_putc(&sb, '\f'); break;
		case 'n': cm_sb_putc(&sb, '\n'); break;
		case 'r': cm_sb_putc(&sb, '\r'); break;
		case 't': cm_sb_putc(&sb, '\t'); break;
		case 'u':
			cp = 0;
			for (i = 0; i < 4; i++) {
				char h = *jp->p++;

				cp <<= 4;
				if (h >= '0' && h <= '9') cp |= (unsigned)(h - '0');
				else if (h >= 'a' && h <= 'f') cp |= (unsigned)(h - 'a' + 10);
				else if (h >= 'A' && h <= 'F') cp |= (unsigned)(h - 'A' + 10);
				else {
					cm_sb_free(&sb);
					return jp_fail(jp, "bad \\u escape");
				}
			}
			utf8_put(&sb, cp ? cp : '?');
			break;
		default:
			cm_sb_free(&sb);
			return jp_fail(jp, "bad escape");
		}
	}
	*out = cm_sb_steal(&sb);
	return *out ? 0 : jp_fail(jp, "out of memory");
}

static int jp_value(struct jp *jp, struct cm_jv *v);

static int jp_push(struct cm_jv *v, struct cm_jv *kid)
{
	struct cm_jv *k = realloc(v->kids, (v->nkids + 1) * sizeof(*k));

	if (k == NULL)
		return -1;
	v->kids = k;
	v->kids[v->nkids++] = *kid;
	return 0;
}

static int jp_container(struct jp *jp, struct cm_jv *v, bool obj)
{
	char close = obj ? '}' : ']';

	if (++jp->depth > 64)
		return jp_fail(jp, "nesting too deep");
	v->type = obj ? CM_J_OBJ : CM_J_ARR;
	jp->p++;
	jp_ws(jp);
	if (*jp->p == close) {
		jp->p++;
		jp->depth--;
		return 0;
	}
	for (;;) {
		struct cm_jv kid;

		memset(&kid, 0, sizeof(kid));
		jp_ws(jp);
		if (obj) {
			if (*jp->p != '"')
				return jp_fail(jp, "expected member name");
			if (jp_string(jp, &kid.key) < 0)
				return -1;
			jp_ws(jp);
			if (*jp->p++ != ':') {
				free(kid.key);
				return jp_fail(jp, "expected ':'");
			}
		}
		if (jp_value(jp, &kid) < 0 || jp_push(v, &kid) < 0) {
			struct cm_jv *tmp = malloc(sizeof(*tmp));

			if (tmp) { /* free what was parsed of the failed kid */
				*tmp = kid;
				cm_jv_free(tmp);
			}
			return jp_fail(jp, "bad value");
		}
		jp_ws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == close) {
			jp->p++;
			jp->depth--;
			return 0;
		}
		return jp_fail(jp, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int jp_value(struct jp *jp, struct cm_jv *v)
{
	char *end;

	jp_ws(jp);
	switch (*jp->p) {
	case '{': return jp_container(jp, v, true);
	case '[': return jp_container(jp, v, false);
	case '"':
		v->type = CM_J_STR;
		return jp_string(jp, &v->s);
	case 't':
		if (strncmp(jp->p, "true", 4) != 0)
			return jp_fail(jp, "bad literal");
		jp->p += 4;
		v->type = CM_J_BOOL;
		v->b = true;
		return 0;
	case 'f':
		if (strncmp(jp->p, "false", 5) != 0)
			return jp_fail(jp, "bad literal");
		jp->p += 5;
		v->type = CM_J_BOOL;
		return 0;
	case 'n':
		if (strncmp(jp->p, "null", 4) != 0)
			return jp_fail(jp, "bad literal");
		jp->p += 4;
		v->type = CM_J_NULL;
		return 0;
	default:
		if (*jp->p != '-' && !isdigit((unsigned char)*jp->p))
			return jp_fail(jp, "unexpected character");
		errno = 0;
		v->num = strtod(jp->p, &end);
		if (end == jp->p || errno == ERANGE)
			return jp_fail(jp, "bad number");
		v->type = CM_J_NUM;
		v->i = (int64_t)v->num;
		/* exact integers beyond double precision */
		if (strcspn(jp->p, ".eE") >= (size_t)(end - jp->p))
			v->i = strtoll(jp->p, NULL, 10);
		jp->p = end;
		return 0;
	}
}

struct cm_jv *cm_jv_parse(const char *text, char *err, size_t errlen)
{
	struct jp jp = { .p = text, .err = err, .errlen = errlen };
	struct cm_jv *v = calloc(1, sizeof(*v));

	if (err && errlen)
		err[0] = '\0';
	if (v == NULL)
		return NULL;
	if (jp_value(&jp, v) < 0) {
		cm_jv_free(v);
		return NULL;
	}
	jp_ws(&jp);
	if (*jp.p != '\0') {
		jp_fail(&jp, "trailing characters");
		cm_jv_free(v);
		return NULL;
	}
	return v;
}

static void jv_clear(struct cm_jv *v)
{
	size_t i;

	for (i = 0; i < v->nkids; i++)
		jv_clear(&v->kids[i]);
	free(v->kids);
	free(v->key);
	free(v->s);
}

void cm_jv_free(struct cm_jv *v)
{
	if (v == NULL)
		return;
	jv_clear(v);
	free(v);
}

const struct cm_jv *cm_jv_get(const struct cm_jv *obj, const char *key)
{
	size_t i;

	if (obj == NULL || obj->type != CM_J_OBJ)
		return NULL;
	for (i = 0; i < obj->nkids; i++)
		if (strcmp(obj->kids[i].key, key) == 0)
			return &obj->kids[i];
	return NULL;
}

const char *cm_jv_get_str(const struct cm_jv *obj, const char *key, const char *def)
{
	const struct cm_jv *v = cm_jv_get(obj, key);

	return v && v->type == CM_J_STR ? v->s : def;
}

int64_t cm_jv_get_int(const struct cm_jv *obj, const char *key, int64_t def)
{
	const struct cm_jv *v = cm_jv_get(obj, key);

	return v && v->type == CM_J_NUM ? v->i : def;
}

bool cm_jv_get_bool(const struct cm_jv *obj, const char *key, bool def)
{
	const struct cm_jv *v = cm_jv_get(obj, key);

	return v && v->type == CM_J_BOOL ? v->b : def;
}

static void jv_indent(struct cm_sb *sb, int indent, int level)
{
	if (indent <= 0)
		return;
	cm_sb_putc(sb, '\n');
	cm_sb_printf(sb, "%*s", indent * level, "");
}

static void jv_print(const struct cm_jv *v, struct cm_sb *sb, int indent, int level)
{
	size_t i;

	switch (v->type) {
	case CM_J_NULL: cm_sb_puts(sb, "null"); break;
	case CM_J_BOOL: cm_sb_puts(sb, v->b ? "true" : "false"); break;
	case CM_J_NUM:
		if ((double)v->i == v->num)
			cm_sb_printf(sb, "%" PRId64, v->i);
		else
			cm_sb_printf(sb, "%.17g", v->num);
		break;
	case CM_J_STR: cm_json_escape(sb, v->s); break;
	case CM_J_ARR:
	case CM_J_OBJ:
		cm_sb_putc(sb, v->type == CM_J_ARR ? '[' : '{');
		for (i = 0; i < v->nkids; i++) {
			if (i)
				cm_sb_putc(sb, ',');
			jv_indent(sb, indent, level + 1);
			if (v->type == CM_J_OBJ) {
				cm_json_escape(sb, v->kids[i].key);
				cm_sb_puts(sb, indent > 0 ? ": " : ":");
			}
			jv_print(&v->kids[i], sb, indent, level + 1);
		}
		if (v->nkids)
			jv_indent(sb, indent, level);
		cm_sb_putc(sb, v->type == CM_J_ARR ? ']' : '}');
		break;
	}
}

void cm_jv_print(const struct cm_jv *v, struct cm_sb *sb, int indent)
{
	jv_print(v, sb, indent, 0);
}

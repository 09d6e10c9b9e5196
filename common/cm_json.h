/* cm_json.h - JSON writer (into a cm_sb) and a small tree parser.
 *
 * clusterd answers every query with JSON; cluadmin prints it as-is for
 * --json, or parses it to render tables. Pure: no I/O.
 */
#ifndef CM_JSON_H
#define CM_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include "cm_str.h"

#define CM_JW_MAX_DEPTH 32

/* Writer: commas are inserted automatically. */
struct cm_jw {
	struct cm_sb *sb;
	int depth;
	bool first[CM_JW_MAX_DEPTH];
	bool after_key;
};

void cm_jw_init(struct cm_jw *w, struct cm_sb *sb);
void cm_jw_obj_begin(struct cm_jw *w);
void cm_jw_obj_end(struct cm_jw *w);
void cm_jw_arr_begin(struct cm_jw *w);
void cm_jw_arr_end(struct cm_jw *w);
void cm_jw_key(struct cm_jw *w, const char *key);
void cm_jw_str(struct cm_jw *w, const char *s);
void cm_jw_int(struct cm_jw *w, int64_t v);
void cm_jw_bool(struct cm_jw *w, bool v);
void cm_jw_null(struct cm_jw *w);
void cm_jw_kv_str(struct cm_jw *w, const char *key, const char *s);
void cm_jw_kv_int(struct cm_jw *w, const char *key, int64_t v);
void cm_jw_kv_bool(struct cm_jw *w, const char *key, bool v);
/* Append s as a JSON string literal with escapes. */
void cm_json_escape(struct cm_sb *sb, const char *s);

/* Parsed tree. */
enum cm_jtype { CM_J_NULL, CM_J_BOOL, CM_J_NUM, CM_J_STR, CM_J_ARR, CM_J_OBJ };

struct cm_jv {
	enum cm_jtype type;
	char *key;            /* member name when inside an object, else NULL */
	bool b;
	double num;
	int64_t i;            /* num truncated; exact for integers up to 2^53 */
	char *s;
	struct cm_jv *kids;   /* array elements or object members */
	size_t nkids;
};

/* Parse text. Returns NULL on error with a message in err (if given). */
struct cm_jv *cm_jv_parse(const char *text, char *err, size_t errlen);
void cm_jv_free(struct cm_jv *v);
/* Member of an object, or NULL. */
const struct cm_jv *cm_jv_get(const struct cm_jv *obj, const char *key);
const char *cm_jv_get_str(const struct cm_jv *obj, const char *key, const char *def);
int64_t cm_jv_get_int(const struct cm_jv *obj, const char *key, int64_t def);
bool cm_jv_get_bool(const struct cm_jv *obj, const char *key, bool def);
/* Serialise; indent > 0 pretty-prints with that many spaces. */
void cm_jv_print(const struct cm_jv *v, struct cm_sb *sb, int indent);

#endif

/* cd_db_query.c - read-only queries of the replica, as structs or JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_str.h"
#include "cd_db_int.h"

static void copy_col(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	cm_strlcpy(dst, t ? (const char *)t : "", len);
}

int cd_db_cluster_get(struct cd_db *db, struct cd_db_cluster *c)
{
	sqlite3_stmt *st = NULL;
	int rc = -CM_E_NOT_INIT;

	memset(c, 0, sizeof(*c));
	if (sqlite3_prepare_v2(db->h, "SELECT name, uuid, created_ms FROM cluster WHERE id = 1",
			       -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	if (sqlite3_step(st) == SQLITE_ROW) {
		copy_col(c->name, sizeof(c->name), st, 0);
		copy_col(c->uuid, sizeof(c->uuid), st, 1);
		c->created_ms = sqlite3_column_int64(st, 2);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static void node_from_row(struct cd_db_node *n, sqlite3_stmt *st)
{
	memset(n, 0, sizeof(*n));
	n->id = (uint32_t)sqlite3_column_int64(st, 0);
	copy_col(n->name, sizeof(n->name), st, 1);
	copy_col(n->addr, sizeof(n->addr), st, 2);
	n->paused = sqlite3_column_int(st, 3) != 0;
}

int cd_db_nodes(struct cd_db *db, struct cd_db_node **nodes, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct cd_db_node *v = NULL, *tmp;
	size_t count = 0;

	*nodes = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db->h, "SELECT id, name, addr, paused FROM nodes ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	while (sqlite3_step(st) == SQLITE_ROW) {
		tmp = realloc(v, (count + 1) * sizeof(*v));
		if (tmp == NULL) {
			free(v);
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		v = tmp;
		node_from_row(&v[count++], st);
	}
	sqlite3_finalize(st);
	*nodes = v;
	*n = count;
	return 0;
}

int cd_db_node_by_name(struct cd_db *db, const char *name, struct cd_db_node *node)
{
	sqlite3_stmt *st = NULL;
	int rc = -CM_E_NO_OBJECT;

	if (sqlite3_prepare_v2(db->h, "SELECT id, name, addr, paused FROM nodes WHERE name = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		node_from_row(node, st);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int cd_db_prop_get(struct cd_db *db, enum cm_obj_kind kind, const char *obj,
		   const char *key, char *value, size_t len, bool *is_set)
{
	const struct cm_prop_def *d = cm_prop_find(kind, key);
	sqlite3_stmt *st = NULL;
	int rc;

	if (is_set)
		*is_set = false;
	if (kind == CM_OBJ_NODE && strcmp(key, "paused") == 0) {
		struct cd_db_node n;

		rc = cd_db_node_by_name(db, obj, &n);
		if (rc == 0) {
			cm_strlcpy(value, n.paused ? "true" : "false", len);
			if (is_set)
				*is_set = n.paused;
		}
		return rc;
	}
	if (sqlite3_prepare_v2(db->h, "SELECT value FROM properties WHERE kind = ? AND obj = ? AND key = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, obj, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		copy_col(value, len, st, 0);
		if (is_set)
			*is_set = true;
		rc = 0;
	} else if (d) {
		cm_strlcpy(value, d->def, len);
		rc = 0;
	} else {
		rc = -CM_E_PROP;
	}
	sqlite3_finalize(st);
	return rc;
}

static void prop_json(struct cm_jw *w, const char *name, const char *value, const struct cm_prop_def *d,
		      bool set)
{
	cm_jw_obj_begin(w);
	cm_jw_kv_str(w, "name", name);
	cm_jw_kv_str(w, "value", value);
	cm_jw_kv_str(w, "type", cm_ptype_to_str(d ? d->type : CM_PT_STRING));
	cm_jw_kv_str(w, "default", d ? d->def : "");
	cm_jw_kv_bool(w, "set", set);
	cm_jw_kv_bool(w, "readonly", d ? d->readonly : false);
	cm_jw_kv_str(w, "help", d ? d->help : "administrator's own property");
	cm_jw_obj_end(w);
}

int cd_db_props_json(struct cd_db *db, enum cm_obj_kind kind, const char *obj, struct cm_jw *w)
{
	const struct cm_prop_def *defs;
	sqlite3_stmt *st = NULL;
	char value[CM_VALUE_MAX];
	size_t i, n;
	bool set;

	defs = cm_prop_defs(kind, &n);
	cm_jw_arr_begin(w);
	for (i = 0; i < n; i++) {
		if (cd_db_prop_get(db, kind, obj, defs[i].name, value, sizeof(value), &set) < 0)
			continue;
		prop_json(w, defs[i].name, value, &defs[i], set);
	}
	if (sqlite3_prepare_v2(db->h,
			       "SELECT key, value FROM properties WHERE kind = ? AND obj = ? AND key LIKE 'user.%'"
			       " ORDER BY key", -1, &st, NULL) != SQLITE_OK) {
		cm_jw_arr_end(w);
		return -CM_E_DB;
	}
	sqlite3_bind_int(st, 1, kind);
	sqlite3_bind_text(st, 2, obj, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		prop_json(w, (const char *)sqlite3_column_text(st, 0),
			  (const char *)sqlite3_column_text(st, 1), NULL, true);
	sqlite3_finalize(st);
	cm_jw_arr_end(w);
	return 0;
}

int cd_db_events_json(struct cd_db *db, int64_t after_id, int64_t since_ms,
		      int64_t limit, struct cm_jw *w)
{
	sqlite3_stmt *st = NULL;

	/* The newest `limit` matching events, printed oldest first. */
	if (sqlite3_prepare_v2(db->h,
			       "SELECT * FROM (SELECT id, time_ms, node, severity, kind, object, text FROM events"
			       " WHERE id > ? AND time_ms >= ? ORDER BY id DESC LIMIT ?) ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, since_ms);
	sqlite3_bind_int64(st, 3, limit);
	cm_jw_arr_begin(w);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cm_jw_obj_begin(w);
		cm_jw_kv_int(w, "id", sqlite3_column_int64(st, 0));
		cm_jw_kv_int(w, "time_ms", sqlite3_column_int64(st, 1));
		cm_jw_kv_str(w, "node", (const char *)sqlite3_column_text(st, 2));
		cm_jw_kv_str(w, "severity", (const char *)sqlite3_column_text(st, 3));
		cm_jw_kv_str(w, "kind", (const char *)sqlite3_column_text(st, 4));
		cm_jw_kv_str(w, "object", (const char *)sqlite3_column_text(st, 5));
		cm_jw_kv_str(w, "text", (const char *)sqlite3_column_text(st, 6));
		cm_jw_obj_end(w);
	}
	sqlite3_finalize(st);
	cm_jw_arr_end(w);
	return 0;
}

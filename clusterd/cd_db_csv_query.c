/* cd_db_csv_query.c - what the replica says about cluster shared volumes:
 * rows for the coordinator and the VM backend, JSON for cluadmin. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cd_db_int.h"

static void csv_row(sqlite3_stmt *st, struct cd_db_csv *c)
{
	memset(c, 0, sizeof(*c));
	cm_strlcpy(c->name, (const char *)sqlite3_column_text(st, 0), sizeof(c->name));
	cm_strlcpy(c->url, (const char *)sqlite3_column_text(st, 1), sizeof(c->url));
	c->lun_bytes = sqlite3_column_int64(st, 2);
	c->data_off = sqlite3_column_int64(st, 3);
	c->data_end = sqlite3_column_int64(st, 4);
	c->table_gen = sqlite3_column_int64(st, 5);
}

#define CSV_COLS "SELECT name, url, lun_bytes, data_off, data_end, table_gen, created_ms FROM csvs"

int cd_db_csv_get(struct cd_db *db, const char *name, struct cd_db_csv *c)
{
	sqlite3_stmt *st = NULL;
	int rc = -CM_E_NO_OBJECT;

	if (sqlite3_prepare_v2(db->h, CSV_COLS " WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		csv_row(st, c);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int cd_db_csvs(struct cd_db *db, struct cd_db_csv **v, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct cd_db_csv *a = NULL;
	size_t cnt = 0;

	*v = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db->h, CSV_COLS " ORDER BY name", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct cd_db_csv *b = realloc(a, (cnt + 1) * sizeof(*a));

		if (b == NULL) {
			free(a);
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		a = b;
		csv_row(st, &a[cnt++]);
	}
	sqlite3_finalize(st);
	*v = a;
	*n = cnt;
	return 0;
}

int cd_db_csv_next_req(struct cd_db *db, const char *csv, struct cd_db_csv_req *r)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(db->h, "SELECT id, op, vol, size, created_ms FROM csv_reqs WHERE csv = ? AND"
			       " state = 'pending' ORDER BY seq LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_text(st, 1, csv, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		memset(r, 0, sizeof(*r));
		r->id = sqlite3_column_int64(st, 0);
		cm_strlcpy(r->op, (const char *)sqlite3_column_text(st, 1), sizeof(r->op));
		cm_strlcpy(r->vol, (const char *)sqlite3_column_text(st, 2), sizeof(r->vol));
		r->size = sqlite3_column_int64(st, 3);
		r->created_ms = sqlite3_column_int64(st, 4);
		rc = 1;
	}
	sqlite3_finalize(st);
	return rc;
}

int cd_db_csv_req_state(struct cd_db *db, int64_t id, char *state, size_t slen, char *text, size_t tlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -CM_E_NO_OBJECT;

	if (sqlite3_prepare_v2(db->h, "SELECT state, text FROM csv_reqs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		cm_strlcpy(state, (const char *)sqlite3_column_text(st, 0), slen);
		cm_strlcpy(text, (const char *)sqlite3_column_text(st, 1), tlen);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int cd_db_csv_vol(struct cd_db *db, const char *csv, const char *vol, uint64_t *off, uint64_t *size)
{
	sqlite3_stmt *st = NULL;
	int rc = -CM_E_NO_OBJECT;

	if (sqlite3_prepare_v2(db->h, "SELECT off, size FROM csv_vols WHERE csv = ? AND name = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_text(st, 1, csv, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, vol, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*off = (uint64_t)sqlite3_column_int64(st, 0);
		*size = (uint64_t)sqlite3_column_int64(st, 1);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int64_t cd_db_csv_vol_created(struct cd_db *db, const char *csv, const char *vol)
{
	char out[32];

	return cd_db_row(db, "SELECT created_ms FROM csv_vols WHERE csv = ? AND name = ?", csv, vol, out, sizeof(out))
		       ? strtoll(out, NULL, 10) : -1;
}

bool cd_db_csv_vol_csv(struct cd_db *db, const char *vol, char *csv, size_t len)
{
	return cd_db_row(db, "SELECT csv FROM csv_vols WHERE name = ? ORDER BY csv LIMIT 1", vol, NULL, csv, len);
}

char *cd_db_csv_table_text(struct cd_db *db, const char *csv)
{
	sqlite3_stmt *st = NULL;
	struct cd_db_csv c;
	struct cm_sb sb;
	size_t n = 0;
	char *out;

	if (cd_db_csv_get(db, csv, &c) < 0 ||
	    sqlite3_prepare_v2(db->h, "SELECT name, off, size, gen, created_ms, flags FROM csv_vols WHERE csv = ?"
			       " ORDER BY off", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	cm_sb_init(&sb);
	sqlite3_bind_text(st, 1, csv, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cm_sb_printf(&sb, "%s %lld %lld %lld %lld %lld\n", (const char *)sqlite3_column_text(st, 0),
			     (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2),
			     (long long)sqlite3_column_int64(st, 3), (long long)sqlite3_column_int64(st, 4),
			     (long long)sqlite3_column_int64(st, 5));
		n++;
	}
	sqlite3_finalize(st);
	if (asprintf(&out, "gen %lld count %zu\n%s", (long long)c.table_gen, n, cm_sb_str(&sb)) < 0)
		out = NULL;
	cm_sb_free(&sb);
	return out;
}

bool cd_db_csv_holds(struct cd_db *db, uint32_t node, const char *owner, const char *vols)
{
	char *copy = strdup(vols), *save = NULL, *v, nd[16];
	bool all = copy != NULL;

	snprintf(nd, sizeof(nd), "%u", node);
	for (v = copy ? strtok_r(copy, ",", &save) : NULL; v && all; v = strtok_r(NULL, ",", &save)) {
		sqlite3_stmt *st = NULL;

		if (sqlite3_prepare_v2(db->h, "SELECT 1 FROM csv_locks WHERE vol = ? AND node = ? AND owner = ?", -1,
				       &st, NULL) != SQLITE_OK) {
			all = false;
			break;
		}
		sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, nd, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
		all = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	free(copy);
	return all;
}

/* ---- JSON ---- */

static const char *node_name(struct cd_db *db, int64_t id, char *buf, size_t len)
{
	char ids[32];

	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	if (!cd_db_row(db, "SELECT name FROM nodes WHERE id = ?", ids, NULL, buf, len))
		snprintf(buf, len, "%lld", (long long)id);
	return buf;
}

static void csv_summary(struct cd_db *db, const struct cd_db_csv *c, struct cm_jw *w)
{
	char grp[CM_NAME_MAX], nn[CM_NAME_MAX], n[32], state[32] = "", cnt[32] = "0", used[32] = "0";
	uint32_t coord = cd_db_csv_coordinator(db, c->name);

	cd_db_csv_group(c->name, grp, sizeof(grp));
	cd_db_row(db, "SELECT state FROM res_rt WHERE name = ?", grp, NULL, state, sizeof(state));
	cd_db_row(db, "SELECT COUNT(*) FROM csv_vols WHERE csv = ?", c->name, NULL, cnt, sizeof(cnt));
	cd_db_row(db, "SELECT COALESCE(SUM(size), 0) FROM csv_vols WHERE csv = ?", c->name, NULL, used, sizeof(used));
	snprintf(n, sizeof(n), "%u", coord);
	cm_jw_kv_str(w, "name", c->name);
	cm_jw_kv_str(w, "url", c->url);
	cm_jw_kv_str(w, "group", grp);
	cm_jw_kv_str(w, "state", state);
	cm_jw_kv_str(w, "coordinator", coord ? node_name(db, coord, nn, sizeof(nn)) : "");
	cm_jw_kv_int(w, "lun_bytes", c->lun_bytes);
	cm_jw_kv_int(w, "data_bytes", c->data_end - c->data_off);
	cm_jw_kv_int(w, "used_bytes", strtoll(used, NULL, 10));
	cm_jw_kv_int(w, "free_bytes", c->data_end - c->data_off - strtoll(used, NULL, 10));
	cm_jw_kv_int(w, "volumes", strtoll(cnt, NULL, 10));
	cm_jw_kv_int(w, "table_generation", c->table_gen);
}

int cd_db_csv_list_json(struct cd_db *db, struct cm_jw *w)
{
	struct cd_db_csv *v;
	size_t n, i;
	int rc = cd_db_csvs(db, &v, &n);

	if (rc < 0)
		return rc;
	cm_jw_key(w, "csvs");
	cm_jw_arr_begin(w);
	for (i = 0; i < n; i++) {
		cm_jw_obj_begin(w);
		csv_summary(db, &v[i], w);
		cm_jw_obj_end(w);
	}
	cm_jw_arr_end(w);
	free(v);
	return 0;
}

static void locks_json(struct cd_db *db, const char *csv, struct cm_jw *w)
{
	sqlite3_stmt *st = NULL;
	char like[64], nn[CM_NAME_MAX];

	snprintf(like, sizeof(like), "%s/%%", csv ? csv : "");
	cm_jw_key(w, "locks");
	cm_jw_arr_begin(w);
	if (sqlite3_prepare_v2(db->h, "SELECT vol, node, owner, mode, since_ms FROM csv_locks WHERE ? = '' OR vol LIKE ?"
			       " ORDER BY vol, node, owner", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, csv ? csv : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, like, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			cm_jw_obj_begin(w);
			cm_jw_kv_str(w, "volume", (const char *)sqlite3_column_text(st, 0));
			cm_jw_kv_str(w, "node", node_name(db, sqlite3_column_int64(st, 1), nn, sizeof(nn)));
			cm_jw_kv_str(w, "owner", (const char *)sqlite3_column_text(st, 2));
			cm_jw_kv_str(w, "mode", (const char *)sqlite3_column_text(st, 3));
			cm_jw_kv_int(w, "since_ms", sqlite3_column_int64(st, 4));
			cm_jw_obj_end(w);
		}
	}
	sqlite3_finalize(st);
	cm_jw_arr_end(w);
}

int cd_db_csv_show_json(struct cd_db *db, const char *name, struct cm_jw *w, char *err, size_t errlen)
{
	struct cd_db_csv c;
	sqlite3_stmt *st = NULL;

	if (cd_db_csv_get(db, name, &c) < 0) {
		snprintf(err, errlen, "cluster shared volume '%s' does not exist", name);
		return -CM_E_NO_OBJECT;
	}
	csv_summary(db, &c, w);
	cm_jw_key(w, "volume_list");
	cm_jw_arr_begin(w);
	if (sqlite3_prepare_v2(db->h, "SELECT v.name, v.off, v.size, v.gen, v.created_ms, v.flags,"
			       " (SELECT group_concat(owner || '@' || node, ',') FROM csv_locks l WHERE"
			       " l.vol = v.csv || '/' || v.name) FROM csv_vols v WHERE v.csv = ? ORDER BY v.off", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *lk = (const char *)sqlite3_column_text(st, 6);

			cm_jw_obj_begin(w);
			cm_jw_kv_str(w, "name", (const char *)sqlite3_column_text(st, 0));
			cm_jw_kv_int(w, "offset", sqlite3_column_int64(st, 1));
			cm_jw_kv_int(w, "size", sqlite3_column_int64(st, 2));
			cm_jw_kv_int(w, "generation", sqlite3_column_int64(st, 3));
			cm_jw_kv_int(w, "created_ms", sqlite3_column_int64(st, 4));
			cm_jw_kv_int(w, "flags", sqlite3_column_int64(st, 5));
			cm_jw_kv_str(w, "locked_by", lk ? lk : "");
			cm_jw_obj_end(w);
		}
	}
	sqlite3_finalize(st);
	cm_jw_arr_end(w);
	cm_jw_key(w, "requests");
	cm_jw_arr_begin(w);
	st = NULL;
	if (sqlite3_prepare_v2(db->h, "SELECT id, op, vol, size, node, actor, state, text, created_ms, done_ms FROM"
			       " csv_reqs WHERE csv = ? ORDER BY seq DESC LIMIT 20", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			cm_jw_obj_begin(w);
			cm_jw_kv_int(w, "id", sqlite3_column_int64(st, 0));
			cm_jw_kv_str(w, "op", (const char *)sqlite3_column_text(st, 1));
			cm_jw_kv_str(w, "volume", (const char *)sqlite3_column_text(st, 2));
			cm_jw_kv_int(w, "size", sqlite3_column_int64(st, 3));
			cm_jw_kv_str(w, "from", (const char *)sqlite3_column_text(st, 4));
			cm_jw_kv_str(w, "by", (const char *)sqlite3_column_text(st, 5));
			cm_jw_kv_str(w, "state", (const char *)sqlite3_column_text(st, 6));
			cm_jw_kv_str(w, "text", (const char *)sqlite3_column_text(st, 7));
			cm_jw_kv_int(w, "created_ms", sqlite3_column_int64(st, 8));
			cm_jw_kv_int(w, "done_ms", sqlite3_column_int64(st, 9));
			cm_jw_obj_end(w);
		}
	}
	sqlite3_finalize(st);
	cm_jw_arr_end(w);
	locks_json(db, name, w);
	cm_jw_key(w, "paths");
	cm_jw_arr_begin(w);
	st = NULL;
	if (sqlite3_prepare_v2(db->h, "SELECT node, ok, since_ms, text FROM csv_paths WHERE csv = ? ORDER BY node", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			cm_jw_obj_begin(w);
			cm_jw_kv_str(w, "node", (const char *)sqlite3_column_text(st, 0));
			cm_jw_kv_bool(w, "ok", sqlite3_column_int(st, 1) != 0);
			cm_jw_kv_int(w, "since_ms", sqlite3_column_int64(st, 2));
			cm_jw_kv_str(w, "text", (const char *)sqlite3_column_text(st, 3));
			cm_jw_obj_end(w);
		}
	}
	sqlite3_finalize(st);
	cm_jw_arr_end(w);
	return 0;
}

int cd_db_csv_locks_json(struct cd_db *db, const char *name, struct cm_jw *w, char *err, size_t errlen)
{
	if (name && name[0] && !cd_db_row(db, "SELECT 1 FROM csvs WHERE name = ?", name, NULL, NULL, 0)) {
		snprintf(err, errlen, "cluster shared volume '%s' does not exist", name);
		return -CM_E_NO_OBJECT;
	}
	locks_json(db, name, w);
	return 0;
}

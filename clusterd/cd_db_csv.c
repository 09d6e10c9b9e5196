/* cd_db_csv.c - the replicated writes of cluster shared volumes, and the
 * volume locks after each step.
 *
 * A CSV is a row in csvs, a group "csv-NAME" with one resource of type csv
 * (its owner node is the coordinator), the mirror of the LUN's volume table
 * (csv_vols) and the volume requests (csv_reqs). Requests are recorded in
 * the order they are applied; only the coordinator executes them against
 * the LUN and answers with CM_OP_CSV_VOL_DONE carrying the new table, which
 * every replica copies. A request is never refused as a write: a bad one is
 * recorded as failed, so the requester always finds its answer.
 *
 * Locks (csv_locks) are granted here, in the total order, so every replica
 * (and every future coordinator) holds the same table. After every step a
 * sweep keeps a lock while its owner resource is active on the lock's node
 * (the policy core keeps a lost node's resources there until it is fenced
 * or confirmed down), hands it over when the owner became active on another
 * node without stopping (the switchover of a migration), and releases it
 * otherwise. Locks of owners named "admin:..." (cluadmin csv lock) stay until
 * unlocked or their node is fenced. Like every write: a function of the database and the message.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_str.h"
#include "cd_db_int.h"
#include "csv_layout.h"
#include "csv_lock.h"

struct cctx {
	struct cd_db *db;
	const struct cm_msg *w;
	const char *node;
	char *err;
	size_t errlen;
};

static int refuse(struct cctx *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int refuse(struct cctx *c, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static int event(struct cd_db *db, uint64_t time_ms, const char *node, const char *sev, const char *obj,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int event(struct cd_db *db, uint64_t time_ms, const char *node, const char *sev, const char *obj,
		 const char *fmt, ...)
{
	char text[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return cd_db_add_event(db, (int64_t)time_ms, node, sev, "csv", obj, text);
}

static int sub(struct cctx *c, int op, const char *const *strs, int n)
{
	return cd_db_sub_apply(c->db, c->w, c->node, op, strs, n, c->err, c->errlen);
}

void cd_db_csv_group(const char *csv, char *buf, size_t len)
{
	snprintf(buf, len, "csv-%s", csv);
}

/* Names of CSVs and volumes: letters, digits, '_', '.', '-'; "csv/vol" must
 * fit a lock's volume name. */
int cd_db_csv_name_check(const char *what, const char *name, size_t max, char *err, size_t errlen)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > max) {
		snprintf(err, errlen, "%s name '%s' must have 1 to %zu characters", what, name, max);
		return -CM_E_NAME;
	}
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-' || (ch == '.' && i > 0))) {
			snprintf(err, errlen, "%s name '%s' may only have letters, digits, '_', '-' and '.'", what,
				 name);
			return -CM_E_NAME;
		}
	}
	return 0;
}

/* "IQN/LUN" of an iscsi:// URL, the IQN in lower case ("" if malformed):
 * the same LUN whatever portal names it. */
static void lun_key(const char *url, char *buf, size_t len)
{
	const char *p = url && strncasecmp(url, "iscsi://", 8) == 0 ? strchr(url + 8, '/') : NULL;
	size_t i;

	buf[0] = '\0';
	if (p == NULL)
		return;
	cm_strlcpy(buf, p + 1, len);
	for (i = 0; buf[i]; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
}

int cd_db_lun_in_use(struct cd_db *db, const char *url, const char *except_res, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char want[300], have[300], wu[600] = "";
	int rc = 0;

	lun_key(url, want, sizeof(want));
	if (want[0] == '\0')
		return 0; /* the type's check says what is wrong with it */
	cd_db_prop_get(db, CM_OBJ_CLUSTER, "", "witness_url", wu, sizeof(wu), NULL);
	lun_key(wu, have, sizeof(have));
	if (strcmp(have, want) == 0) {
		snprintf(err, errlen, "%s is the witness LUN", url);
		return -CM_E_EXISTS;
	}
	if (sqlite3_prepare_v2(db->h, "SELECT 'the cluster shared volume ''' || name || '''', url FROM csvs UNION ALL"
			       " SELECT 'the physical disk ''' || r.name || '''', p.value FROM resources r JOIN properties p"
			       " ON p.kind = 3 AND p.obj = r.name AND p.key = 'url' WHERE r.type IN ('physical-disk', 'csv')"
			       " AND r.name <> ?", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_text(st, 1, except_res ? except_res : "", -1, SQLITE_STATIC);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		lun_key((const char *)sqlite3_column_text(st, 1), have, sizeof(have));
		if (strcmp(have, want) == 0) {
			snprintf(err, errlen, "%s is already %s", url, (const char *)sqlite3_column_text(st, 0));
			rc = -CM_E_EXISTS;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static bool csv_exists(struct cd_db *db, const char *csv)
{
	return cd_db_row(db, "SELECT 1 FROM csvs WHERE name = ?", csv, NULL, NULL, 0);
}

static int op_create(struct cctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *url = cm_msg_str(c->w, 1), *actor = cm_msg_str(c->w, 2);
	int64_t lun = cm_msg_int(c->w, 1, -1), doff = cm_msg_int(c->w, 2, -1), dend = cm_msg_int(c->w, 3, -1);
	int64_t gen = cm_msg_int(c->w, 4, -1);
	char grp[CM_NAME_MAX], props[700], v[5][32];
	int rc;

	if (!name || !url || !actor || lun <= 0 || doff <= 0 || dend <= doff || dend > lun || gen < 0)
		return refuse(c, -CM_E_PROTO, "malformed csv write");
	if ((rc = cd_db_csv_name_check("CSV", name, CD_CSV_NAME_MAX, c->err, c->errlen)) < 0)
		return rc;
	if (csv_exists(c->db, name))
		return refuse(c, -CM_E_EXISTS, "a cluster shared volume named '%s' already exists", name);
	if ((rc = cd_db_lun_in_use(c->db, url, NULL, c->err, c->errlen)) < 0)
		return rc;
	cd_db_csv_group(name, grp, sizeof(grp));
	snprintf(props, sizeof(props), "url=%s", url);
	{
		const char *s1[] = { grp, actor };
		const char *s2[] = { grp, grp, "csv", props, actor };

		if ((rc = sub(c, CM_OP_GROUP_CREATE, s1, 2)) < 0 || (rc = sub(c, CM_OP_RES_CREATE, s2, 5)) < 0)
			return rc;
	}
	snprintf(v[0], sizeof(v[0]), "%" PRId64, lun);
	snprintf(v[1], sizeof(v[1]), "%" PRId64, doff);
	snprintf(v[2], sizeof(v[2]), "%" PRId64, dend);
	snprintf(v[3], sizeof(v[3]), "%" PRId64, gen);
	snprintf(v[4], sizeof(v[4]), "%" PRIu64, c->w->time_ms);
	{
		const char *b[] = { name, url, v[0], v[1], v[2], v[3], v[4] };

		if (cd_db_exec(c->db, "INSERT INTO csvs(name, url, lun_bytes, data_off, data_end, table_gen, created_ms)"
			       " VALUES(?, ?, ?, ?, ?, ?, ?)", 7, b) < 0)
			return -CM_E_DB;
	}
	return event(c->db, c->w->time_ms, c->node, "notice", name,
		     "cluster shared volume '%s' created on %s (%" PRId64 " MiB of data area) by %s", name, url,
		     (dend - doff) >> 20, actor);
}

static int op_delete(struct cctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *actor = cm_msg_str(c->w, 1);
	char grp[CM_NAME_MAX];
	int rc;

	if (!name || !actor)
		return refuse(c, -CM_E_PROTO, "malformed csv write");
	if (!csv_exists(c->db, name))
		return refuse(c, -CM_E_NO_OBJECT, "cluster shared volume '%s' does not exist", name);
	if (cd_db_row(c->db, "SELECT 1 FROM csv_vols WHERE csv = ?", name, NULL, NULL, 0))
		return refuse(c, -CM_E_STATE, "cluster shared volume '%s' still has volumes: delete them first", name);
	if (cd_db_row(c->db, "SELECT 1 FROM csv_reqs WHERE csv = ? AND state = 'pending'", name, NULL, NULL, 0))
		return refuse(c, -CM_E_BUSY, "cluster shared volume '%s' has volume requests under way", name);
	cd_db_csv_group(name, grp, sizeof(grp));
	{
		const char *s1[] = { grp, actor };
		const char *b[] = { name };

		if ((rc = sub(c, CM_OP_RES_DELETE, s1, 2)) < 0 || (rc = sub(c, CM_OP_GROUP_DELETE, s1, 2)) < 0)
			return rc;
		if (cd_db_exec(c->db, "DELETE FROM csvs WHERE name = ?", 1, b) < 0 ||
		    cd_db_exec(c->db, "DELETE FROM csv_paths WHERE csv = ?", 1, b) < 0 ||
		    cd_db_exec(c->db, "DELETE FROM csv_reqs WHERE csv = ?", 1, b) < 0)
			return -CM_E_DB;
	}
	return event(c->db, c->w->time_ms, c->node, "notice", name, "cluster shared volume '%s' deleted by %s",
		     name, actor);
}

/* Why a volume request cannot be done, checked against this replica ("" if
 * it can be tried; the coordinator has the last word on space). */
static void req_check(struct cctx *c, const char *csv, const char *op, const char *vol, int64_t size,
		      char *why, size_t len)
{
	char key[CSV_LOCK_NAME_LEN + 8], holder[CM_NAME_MAX + 32];

	why[0] = '\0';
	if (!csv_exists(c->db, csv)) {
		snprintf(why, len, "cluster shared volume '%s' does not exist", csv);
		return;
	}
	if (cd_db_csv_name_check("volume", vol, CD_CSV_VOL_MAX, why, len) < 0)
		return;
	snprintf(key, sizeof(key), "%s/%s", csv, vol);
	if (strcmp(op, "create") == 0) {
		if (cd_db_row(c->db, "SELECT 1 FROM csv_vols WHERE csv = ? AND name = ?", csv, vol, NULL, 0))
			snprintf(why, len, "volume '%s' already exists", key);
		else if (cd_db_row(c->db, "SELECT 1 FROM csv_reqs WHERE csv = ? AND vol = ? AND op = 'create'"
				   " AND state = 'pending'", csv, vol, NULL, 0))
			snprintf(why, len, "volume '%s' is already being created", key);
		else if (size <= 0)
			snprintf(why, len, "a volume needs a size above 0");
		return;
	}
	if (strcmp(op, "delete") != 0 && strcmp(op, "resize") != 0) {
		snprintf(why, len, "unknown volume operation '%s' (create, delete or resize)", op);
		return;
	}
	if (!cd_db_row(c->db, "SELECT 1 FROM csv_vols WHERE csv = ? AND name = ?", csv, vol, NULL, 0)) {
		snprintf(why, len, "volume '%s' does not exist", key);
		return;
	}
	if (cd_db_row(c->db, "SELECT owner || ' on node ' || node FROM csv_locks WHERE vol = ?", key, NULL, holder,
		      sizeof(holder)))
		snprintf(why, len, "volume '%s' is in use (locked by %s): stop what uses it first", key, holder);
	else if (strcmp(op, "resize") == 0 && size <= 0)
		snprintf(why, len, "a volume needs a size above 0");
}

/* Record a volume request (pending, or failed with why). */
static int request(struct cctx *c, int64_t id, const char *csv, const char *op, const char *vol, int64_t size,
		   const char *actor)
{
	char why[512], ids[32], sz[32], now[32];

	snprintf(ids, sizeof(ids), "%" PRId64, id);
	if (cd_db_row(c->db, "SELECT 1 FROM csv_reqs WHERE id = ?", ids, NULL, NULL, 0))
		return refuse(c, -CM_E_EXISTS, "volume request %s was already made", ids);
	req_check(c, csv, op, vol, size, why, sizeof(why));
	snprintf(sz, sizeof(sz), "%" PRId64, size);
	snprintf(now, sizeof(now), "%" PRIu64, c->w->time_ms);
	{
		const char *b[] = { ids, csv, op, vol, sz, c->node, actor, why[0] ? "failed" : "pending", why, now,
				    why[0] ? now : "0" };

		if (cd_db_exec(c->db, "INSERT INTO csv_reqs(id, csv, op, vol, size, node, actor, state, text,"
			       " created_ms, done_ms) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", 11, b) < 0)
			return -CM_E_DB;
	}
	/* bound the history: the last 1000 requests */
	if (cd_db_exec(c->db, "DELETE FROM csv_reqs WHERE state <> 'pending' AND seq <= (SELECT MAX(seq) FROM csv_reqs)"
		       " - 1000", 0, NULL) < 0)
		return -CM_E_DB;
	if (why[0])
		return event(c->db, c->w->time_ms, c->node, "warning", csv, "volume %s of '%s/%s' by %s refused: %s",
			     op, csv, vol, actor, why);
	return 0;
}

static int op_vol_req(struct cctx *c)
{
	const char *csv = cm_msg_str(c->w, 0), *op = cm_msg_str(c->w, 1), *vol = cm_msg_str(c->w, 2);
	const char *actor = cm_msg_str(c->w, 3);
	int64_t id = cm_msg_int(c->w, 1, 0), size = cm_msg_int(c->w, 2, -1);

	if (!csv || !op || !vol || !actor || id <= 0)
		return refuse(c, -CM_E_PROTO, "malformed csv write");
	return request(c, id, csv, op, vol, size, actor);
}

int cd_db_csv_request(struct cd_db *db, const struct cm_msg *w, const char *node, int64_t id, const char *csv,
		      const char *op, const char *vol, int64_t size, const char *actor, char *err, size_t errlen)
{
	struct cctx c = { db, w, node, err, errlen };

	return request(&c, id, csv, op, vol, size, actor);
}

/* The node the csv resource of csv is online on, 0 if none. */
uint32_t cd_db_csv_coordinator(struct cd_db *db, const char *csv)
{
	char grp[CM_NAME_MAX], out[32];

	cd_db_csv_group(csv, grp, sizeof(grp));
	if (!cd_db_row(db, "SELECT node FROM res_rt WHERE name = ? AND state = 'Online'", grp, NULL, out, sizeof(out)))
		return 0;
	return (uint32_t)strtoul(out, NULL, 10);
}

/* Replace the mirror of csv's table with text ("gen G count N", then
 * "name offset size generation created_ms flags" per volume). */
static int mirror_table(struct cctx *c, const char *csv, const char *text, int64_t gen)
{
	const char *p = text;
	char gs[32];
	unsigned long long g = 0;
	unsigned n = 0, i;
	int used = 0;

	if (sscanf(p, "gen %llu count %u%n", &g, &n, &used) != 2 || (int64_t)g != gen || n > CSV_MAX_VOLUMES)
		return refuse(c, -CM_E_PROTO, "malformed volume table in a csv write");
	p += used;
	{
		const char *b[] = { csv };

		if (cd_db_exec(c->db, "DELETE FROM csv_vols WHERE csv = ?", 1, b) < 0)
			return -CM_E_DB;
	}
	for (i = 0; i < n; i++) {
		char name[CSV_NAME_LEN], v[5][32];
		unsigned long long off, size, vg, created;
		unsigned flags;

		if (sscanf(p, " %63s %llu %llu %llu %llu %u%n", name, &off, &size, &vg, &created, &flags, &used) != 6)
			return refuse(c, -CM_E_PROTO, "malformed volume table line %u in a csv write", i + 2);
		p += used;
		if (*p != '\n' && *p != '\0')
			return refuse(c, -CM_E_PROTO, "malformed volume table line %u in a csv write", i + 2);
		snprintf(v[0], sizeof(v[0]), "%llu", off);
		snprintf(v[1], sizeof(v[1]), "%llu", size);
		snprintf(v[2], sizeof(v[2]), "%llu", vg);
		snprintf(v[3], sizeof(v[3]), "%llu", created);
		snprintf(v[4], sizeof(v[4]), "%u", flags);
		{
			const char *b[] = { csv, name, v[0], v[1], v[2], v[3], v[4] };

			if (cd_db_exec(c->db, "INSERT INTO csv_vols(csv, name, off, size, gen, created_ms, flags)"
				       " VALUES(?, ?, ?, ?, ?, ?, ?)", 7, b) < 0)
				return refuse(c, -CM_E_PROTO, "duplicate volume '%s' in a csv write", name);
		}
	}
	if (p[strspn(p, " \n")] != '\0')
		return refuse(c, -CM_E_PROTO, "the volume table in a csv write has more lines than its count (%u)", n);
	snprintf(gs, sizeof(gs), "%" PRId64, gen);
	{
		const char *b[] = { gs, csv };

		return cd_db_exec(c->db, "UPDATE csvs SET table_gen = ? WHERE name = ?", 2, b) < 0 ? -CM_E_DB : 0;
	}
}

static int op_vol_done(struct cctx *c)
{
	const char *csv = cm_msg_str(c->w, 0), *text = cm_msg_str(c->w, 1), *table = cm_msg_str(c->w, 2);
	int64_t id = cm_msg_int(c->w, 1, -1), ok = cm_msg_int(c->w, 2, -1), gen = cm_msg_int(c->w, 3, -1);
	char ids[32], now[32], cur[32], op[16] = "", vol[CSV_NAME_LEN] = "";
	uint32_t coord;
	int rc;

	if (!csv || !text || !table || id < 0 || (ok != 0 && ok != 1) || gen < 0)
		return refuse(c, -CM_E_PROTO, "malformed csv write");
	if (!csv_exists(c->db, csv))
		return refuse(c, -CM_E_NO_OBJECT, "cluster shared volume '%s' does not exist", csv);
	coord = cd_db_csv_coordinator(c->db, csv);
	if (coord == 0 || coord != c->w->sender)
		return refuse(c, -CM_E_STATE, "node %u is not the coordinator of '%s' (node %u is)", c->w->sender, csv,
			      coord);
	cd_db_row(c->db, "SELECT table_gen FROM csvs WHERE name = ?", csv, NULL, cur, sizeof(cur));
	if (table[0] && gen < strtoll(cur, NULL, 10))
		return refuse(c, -CM_E_STATE, "stale volume table of '%s' (generation %" PRId64 ", the cluster has %s)",
			      csv, gen, cur);
	snprintf(ids, sizeof(ids), "%" PRId64, id);
	if (id != 0 && !cd_db_row(c->db, "SELECT 1 FROM csv_reqs WHERE id = ? AND csv = ? AND state = 'pending'", ids,
				  csv, NULL, 0))
		return refuse(c, -CM_E_STATE, "volume request %s of '%s' is not pending", ids, csv);
	if (table[0] && (rc = mirror_table(c, csv, table, gen)) < 0)
		return rc;
	if (id == 0)
		return table[0] ? event(c->db, c->w->time_ms, c->node, "info", csv,
					"volume table of '%s' read from the LUN by its coordinator (generation %" PRId64
					")", csv, gen) : 0;
	snprintf(now, sizeof(now), "%" PRIu64, c->w->time_ms);
	if (!cd_db_row(c->db, "SELECT op FROM csv_reqs WHERE id = ? AND csv = ? AND state = 'pending'", ids, csv, op,
		       sizeof(op)))
		return refuse(c, -CM_E_STATE, "volume request %s of '%s' is not pending", ids, csv);
	cd_db_row(c->db, "SELECT vol FROM csv_reqs WHERE id = ? AND csv = ?", ids, csv, vol, sizeof(vol));
	{
		const char *b[] = { ok ? "done" : "failed", text, now, ids };

		if (cd_db_exec(c->db, "UPDATE csv_reqs SET state = ?, text = ?, done_ms = ? WHERE id = ?", 4, b) < 0)
			return -CM_E_DB;
	}
	return event(c->db, c->w->time_ms, c->node, ok ? "notice" : "warning", csv, "volume %s of '%s/%s': %s", op,
		     csv, vol, text);
}

/* ---- locks ---- */

static int locks_load(struct cd_db *db, struct csv_locks *l)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	csv_locks_init(l);
	if (sqlite3_prepare_v2(db->h, "SELECT vol, node, owner, mode FROM csv_locks ORDER BY vol, node, owner", -1,
			       &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		int mode = csv_lock_mode_from_str((const char *)sqlite3_column_text(st, 3));

		rc = csv_lock_try(l, (const char *)sqlite3_column_text(st, 0), (uint32_t)sqlite3_column_int64(st, 1),
				  (const char *)sqlite3_column_text(st, 2), mode < 0 ? CSV_LOCK_EXCL : mode, NULL,
				  NULL, 0);
	}
	sqlite3_finalize(st);
	return rc < 0 ? -CM_E_DB : 0;
}

/* Write l back: rows that went are deleted, new ones get since = now. */
static int locks_store(struct cd_db *db, const struct csv_locks *l, uint64_t now_ms)
{
	char now[32], nd[16];
	size_t i;

	if (cd_db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS keep_locks(vol TEXT, node INTEGER, owner TEXT, mode TEXT)",
		       0, NULL) < 0 || cd_db_exec(db, "DELETE FROM temp.keep_locks", 0, NULL) < 0)
		return -CM_E_DB;
	snprintf(now, sizeof(now), "%" PRIu64, now_ms);
	for (i = 0; i < l->n; i++) {
		const char *b[] = { l->v[i].volume, nd, l->v[i].owner, csv_lock_mode_to_str(l->v[i].mode), now };

		snprintf(nd, sizeof(nd), "%u", l->v[i].node);
		if (cd_db_exec(db, "INSERT INTO temp.keep_locks VALUES(?, ?, ?, ?)", 4, b) < 0 ||
		    cd_db_exec(db, "INSERT OR IGNORE INTO csv_locks(vol, node, owner, mode, since_ms)"
			       " VALUES(?, ?, ?, ?, ?)", 5, b) < 0 ||
		    cd_db_exec(db, "UPDATE csv_locks SET mode = ?4 WHERE vol = ?1 AND node = ?2 AND owner = ?3", 4, b) < 0)
			return -CM_E_DB;
	}
	return cd_db_exec(db, "DELETE FROM csv_locks WHERE NOT EXISTS (SELECT 1 FROM temp.keep_locks k WHERE"
			  " k.vol = csv_locks.vol AND k.node = csv_locks.node AND k.owner = csv_locks.owner)", 0, NULL);
}

static int op_lock(struct cctx *c)
{
	const char *node = cm_msg_str(c->w, 0), *owner = cm_msg_str(c->w, 1), *vols = cm_msg_str(c->w, 2);
	const char *actor = cm_msg_str(c->w, 3);
	int64_t mode = cm_msg_int(c->w, 1, -1), unlock = cm_msg_int(c->w, 2, 0);
	struct cd_db_node n;
	struct csv_locks l;
	char *copy, *save = NULL, *v;
	int rc = 0;

	if (!node || !owner || !vols || !actor || (mode != 0 && mode != 1))
		return refuse(c, -CM_E_PROTO, "malformed csv write");
	if (cd_db_node_by_name(c->db, node, &n) < 0)
		return refuse(c, -CM_E_NO_OBJECT, "node '%s' does not exist", node);
	if ((copy = strdup(vols)) == NULL)
		return -ENOMEM;
	if ((rc = locks_load(c->db, &l)) < 0) {
		free(copy);
		return rc;
	}
	for (v = strtok_r(copy, ",", &save); v && rc == 0; v = strtok_r(NULL, ",", &save)) {
		char *slash = strchr(v, '/');

		if (slash == NULL) {
			rc = refuse(c, -CM_E_VALUE, "'%s' is not CSV/VOLUME", v);
			break;
		}
		*slash = '\0';
		if (!cd_db_row(c->db, "SELECT 1 FROM csv_vols WHERE csv = ? AND name = ?", v, slash + 1, NULL, 0)) {
			rc = refuse(c, -CM_E_NO_OBJECT, "volume '%s/%s' does not exist", v, slash + 1);
			break;
		}
		/* a request recorded before this lock was checked against the
		 * locks of its time: the two must never overlap */
		if (!unlock && cd_db_row(c->db, "SELECT 1 FROM csv_reqs WHERE csv = ? AND vol = ? AND state = 'pending'"
				      " AND op IN ('delete', 'resize')", v, slash + 1, NULL, 0)) {
			rc = refuse(c, -CM_E_BUSY, "volume '%s/%s' is being deleted or resized", v, slash + 1);
			break;
		}
		*slash = '/';
		if (unlock)
			rc = csv_lock_release(&l, v, n.id, owner, c->err, c->errlen);
		else {
			struct csv_lock h;

			memset(&h, 0, sizeof(h));
			rc = csv_lock_try(&l, v, n.id, owner, mode ? CSV_LOCK_SHARED : CSV_LOCK_EXCL, &h, c->err,
					  c->errlen);
			if (rc == -CM_E_CONFLICT && h.node) {
				/* name the holder's node, as an administrator knows it */
				char hn[CM_NAME_MAX], ids[16];

				snprintf(ids, sizeof(ids), "%u", h.node);
				if (!cd_db_row(c->db, "SELECT name FROM nodes WHERE id = ?", ids, NULL, hn, sizeof(hn)))
					cm_strlcpy(hn, ids, sizeof(hn));
				refuse(c, rc, "volume '%s' is in use: locked %s by '%s' on %s", v,
				       h.mode == CSV_LOCK_EXCL ? "exclusively" : "shared", h.owner, hn);
			}
		}
	}
	free(copy);
	if (rc == 0)
		rc = locks_store(c->db, &l, c->w->time_ms);
	csv_locks_free(&l);
	if (rc < 0)
		return rc;
	return event(c->db, c->w->time_ms, c->node, "info", owner, "%s %s %s for '%s' on %s", unlock ? "unlocked" :
		     "locked", vols, unlock ? "" : mode ? "(shared)" : "(exclusive)", owner, node);
}

/* A node lost or regained its path to a CSV's LUN. What to do about the
 * VMs there is the node's own business (cd_csv.c: it live-migrates them to
 * nodes that still see the LUN); the replica records who sees what. */
static int op_path(struct cctx *c)
{
	const char *node = cm_msg_str(c->w, 0), *csv = cm_msg_str(c->w, 1), *text = cm_msg_str(c->w, 2);
	int64_t ok = cm_msg_int(c->w, 1, -1);
	struct cd_db_node n;
	char now[32];

	if (!node || !csv || !text || (ok != 0 && ok != 1))
		return refuse(c, -CM_E_PROTO, "malformed csv write");
	if (cd_db_node_by_name(c->db, node, &n) < 0)
		return refuse(c, -CM_E_NO_OBJECT, "node '%s' does not exist", node);
	if (!csv_exists(c->db, csv))
		return refuse(c, -CM_E_NO_OBJECT, "cluster shared volume '%s' does not exist", csv);
	snprintf(now, sizeof(now), "%" PRIu64, c->w->time_ms);
	{
		const char *b[] = { csv, node, ok ? "1" : "0", now, text };

		if (cd_db_exec(c->db, "INSERT OR REPLACE INTO csv_paths(csv, node, ok, since_ms, text)"
			       " VALUES(?, ?, ?, ?, ?)", 5, b) < 0)
			return -CM_E_DB;
	}
	if (ok)
		return event(c->db, c->w->time_ms, c->node, "notice", csv, "node '%s' sees cluster shared volume '%s'"
			     " again", node, csv);
	return event(c->db, c->w->time_ms, c->node, "warning", csv, "node '%s' lost its path to cluster shared"
		     " volume '%s' (%s): its VMs on it move to nodes that see it", node, csv, text);
}

bool cd_db_csv_path_ok(struct cd_db *db, const char *csv, const char *node)
{
	return !cd_db_row(db, "SELECT 1 FROM csv_paths WHERE csv = ? AND node = ? AND ok = 0", csv, node, NULL, 0);
}

int cd_db_csv_apply(struct cd_db *db, const struct cm_msg *w, const char *node, char *err, size_t errlen)
{
	struct cctx c = { db, w, node, err, errlen };

	switch (cm_msg_int(w, 0, -1)) {
	case CM_OP_CSV_CREATE: return op_create(&c);
	case CM_OP_CSV_DELETE: return op_delete(&c);
	case CM_OP_CSV_VOL_REQ: return op_vol_req(&c);
	case CM_OP_CSV_VOL_DONE: return op_vol_done(&c);
	case CM_OP_CSV_LOCK: return op_lock(&c);
	case CM_OP_CSV_PATH: return op_path(&c);
	default: return refuse(&c, -CM_E_UNKNOWN_CMD, "unknown csv write");
	}
}

/* Where an owner resource is active: its node, or 0. */
static uint32_t active_on(const struct res_model *m, const char *owner)
{
	int ri = res_resource_find(m, owner);

	if (ri < 0 || m->res[ri].state == RES_S_OFFLINE)
		return 0;
	return m->res[ri].node;
}

int cd_db_csv_after_step(struct cd_db *db, const struct cm_msg *w, const char *node)
{
	const struct res_model *m;
	struct csv_locks l;
	size_t i, changed = 0;
	int rc;

	if (!cd_db_row(db, "SELECT 1 FROM csv_locks", NULL, NULL, NULL, 0))
		return 0;
	if ((m = cd_db_model(db)) == NULL || (rc = locks_load(db, &l)) < 0)
		return -CM_E_DB;
	for (i = 0; i < l.n && rc == 0;) {
		struct csv_lock k = l.v[i];
		uint32_t at = active_on(m, k.owner);

		if (strncmp(k.owner, CD_CSV_ADMIN_OWNER, strlen(CD_CSV_ADMIN_OWNER)) == 0) {
			/* an administrator's lock: until unlocked, or its node is fenced */
			int ni = res_node_find(m, k.node);

			at = ni >= 0 && m->nodes[ni].fence != RES_F_FENCED ? k.node : 0;
		}
		if (at == k.node) {
			i++;
			continue;
		}
		changed++;
		if (at != 0 && k.mode == CSV_LOCK_EXCL && csv_lock_find(&l, k.volume, at, k.owner) < 0 &&
		    csv_lock_handover(&l, k.volume, k.owner, k.node, at, NULL, 0) == 0) {
			rc = event(db, w->time_ms, node, "info", k.owner, "lock of %s handed over from node %u to node %u"
				   " with '%s'", k.volume, k.node, at, k.owner);
			continue; /* the moved lock sorts elsewhere; what is at i now is new */
		}
		csv_lock_release(&l, k.volume, k.node, k.owner, NULL, 0);
		rc = event(db, w->time_ms, node, "info", k.owner, "lock of %s released: '%s' no longer runs on node %u",
			   k.volume, k.owner, k.node);
	}
	if (rc == 0 && changed)
		rc = locks_store(db, &l, w->time_ms);
	csv_locks_free(&l);
	return rc;
}

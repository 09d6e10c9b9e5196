/* cd_db_apply.c - apply one replicated write to the replica.
 *
 * Every replica applies the same writes in the same order, so everything
 * here must be a function of the database and the message only: no clock
 * (time comes from the message), no local configuration, no randomness.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cd_db_int.h"

struct apply_ctx {
	struct cd_db *db;
	const struct cm_msg *w;
	const char *node;
	char *err;
	size_t errlen;
};

int cd_db_add_event(struct cd_db *db, int64_t time_ms, const char *node, const char *severity,
		    const char *kind, const char *object, const char *text)
{
	sqlite3_stmt *st = NULL;
	int64_t max = 10000;
	char val[32];
	int rc;

	if (sqlite3_prepare_v2(db->h,
			       "INSERT INTO events(time_ms, node, severity, kind, object, text)"
			       " VALUES(?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time_ms);
	sqlite3_bind_text(st, 2, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, severity, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, object, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, text, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -CM_E_DB;
	if (cd_db_prop_get(db, CM_OBJ_CLUSTER, "", "event_log_max", val, sizeof(val), NULL) == 0)
		max = strtoll(val, NULL, 10);
	snprintf(val, sizeof(val), "%" PRId64, max);
	{
		const char *b[] = { val };

		return cd_db_exec(db, "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?", 1, b);
	}
}

static int add_event(struct apply_ctx *a, const char *severity, const char *kind,
		     const char *object, const char *text)
{
	return cd_db_add_event(a->db, (int64_t)a->w->time_ms, a->node, severity, kind, object, text);
}

static int fail(struct apply_ctx *a, int rc, const char *fmt, const char *x, const char *y)
{
	snprintf(a->err, a->errlen, fmt, x, y);
	return rc;
}

static int check_object(struct apply_ctx *a, int kind, const char *obj)
{
	struct cd_db_node n;

	switch (kind) {
	case CM_OBJ_CLUSTER:
		if (obj[0] != '\0')
			return fail(a, -CM_E_ARGS, "the cluster takes no object name (got '%s')%s", obj, "");
		return 0;
	case CM_OBJ_NODE:
		if (cd_db_node_by_name(a->db, obj, &n) < 0) {
			struct cd_db_cluster c;

			cd_db_cluster_get(a->db, &c);
			return fail(a, -CM_E_NO_OBJECT, "node '%s' is not a member of cluster '%s'", obj, c.name);
		}
		return 0;
	case CM_OBJ_GROUP:
	case CM_OBJ_RESOURCE: {
		sqlite3_stmt *st = NULL;
		bool found;

		if (sqlite3_prepare_v2(a->db->h, kind == CM_OBJ_GROUP ? "SELECT 1 FROM groups WHERE name = ?"
								       : "SELECT 1 FROM resources WHERE name = ?",
				       -1, &st, NULL) != SQLITE_OK)
			return -CM_E_DB;
		sqlite3_bind_text(st, 1, obj, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
		if (!found)
			return fail(a, -CM_E_NO_OBJECT, "%s '%s' does not exist", cm_obj_kind_to_str(kind), obj);
		return 0;
	}
	default:
		return fail(a, -CM_E_NO_OBJECT, "%s '%s' does not exist", cm_obj_kind_to_str(kind), obj);
	}
}

static void describe(char *buf, size_t len, int kind, const char *obj)
{
	if (kind == CM_OBJ_CLUSTER)
		snprintf(buf, len, "cluster");
	else
		snprintf(buf, len, "%s '%s'", cm_obj_kind_to_str(kind), obj);
}

static int op_prop_set(struct apply_ctx *a)
{
	const char *obj = cm_msg_str(a->w, 0), *key = cm_msg_str(a->w, 1);
	const char *value = cm_msg_str(a->w, 2), *actor = cm_msg_str(a->w, 3);
	int kind = (int)cm_msg_int(a->w, 1, -1);
	const struct cm_prop_def *d;
	char canon[CM_VALUE_MAX], text[CM_VALUE_MAX + 256], what[CM_NAME_MAX + 16], kstr[8];
	sqlite3_stmt *st = NULL;
	int rc;

	if (kind < 0 || kind >= CM_OBJ_COUNT || !obj || !key || !value || !actor)
		return fail(a, -CM_E_PROTO, "malformed property write%s%s", "", "");
	rc = check_object(a, kind, obj);
	if (rc < 0)
		return rc;
	rc = cm_prop_validate(kind, key, value, canon, sizeof(canon), a->err, a->errlen);
	if (rc < 0)
		return rc;
	if ((!strcmp(key, "preferred_owners") || !strcmp(key, "possible_owners")) &&
	    (rc = cd_db_check_node_list(a->db, canon, a->err, a->errlen)) < 0)
		return rc;
	if (kind == CM_OBJ_RESOURCE && !strcmp(key, "url")) {
		if (cd_db_row(a->db, "SELECT 1 FROM resources WHERE name = ? AND type = 'csv'", obj, NULL, NULL, 0))
			return fail(a, -CM_E_READONLY, "the LUN of cluster shared volume resource '%s' cannot change%s", obj,
				    "");
		if ((rc = cd_db_lun_in_use(a->db, canon, obj, a->err, a->errlen)) < 0)
			return rc;
	}
	d = cm_prop_find(kind, key);
	if (sqlite3_prepare_v2(a->db->h,
			       "INSERT OR REPLACE INTO properties(kind, obj, key, type, value) VALUES(?, ?, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	snprintf(kstr, sizeof(kstr), "%d", kind);
	sqlite3_bind_text(st, 1, kstr, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, obj, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, cm_ptype_to_str(d ? d->type : CM_PT_STRING), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, canon, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -CM_E_DB;
	describe(what, sizeof(what), kind, obj);
	snprintf(text, sizeof(text), "property '%s' of %s set to '%s' by %s", key, what, canon, actor);
	return add_event(a, "info", "property", kind == CM_OBJ_CLUSTER ? "cluster" : obj, text);
}

static int op_prop_unset(struct apply_ctx *a)
{
	const char *obj = cm_msg_str(a->w, 0), *key = cm_msg_str(a->w, 1), *actor = cm_msg_str(a->w, 2);
	int kind = (int)cm_msg_int(a->w, 1, -1);
	char text[512], what[CM_NAME_MAX + 16], kstr[8];
	int rc;

	if (kind < 0 || kind >= CM_OBJ_COUNT || !obj || !key || !actor)
		return fail(a, -CM_E_PROTO, "malformed property write%s%s", "", "");
	rc = check_object(a, kind, obj);
	if (rc < 0)
		return rc;
	if (strncmp(key, CM_USER_PREFIX, strlen(CM_USER_PREFIX)) != 0) {
		const struct cm_prop_def *d = cm_prop_find(kind, key);

		if (d == NULL)
			return fail(a, -CM_E_PROP, "%s has no property '%s'", cm_obj_kind_to_str(kind), key);
		if (d->readonly)
			return fail(a, -CM_E_READONLY, "property '%s' is read-only: %s", key, d->help);
	}
	snprintf(kstr, sizeof(kstr), "%d", kind);
	{
		const char *b[] = { kstr, obj, key };

		if (cd_db_exec(a->db, "DELETE FROM properties WHERE kind = ? AND obj = ? AND key = ?", 3, b) < 0)
			return -CM_E_DB;
	}
	describe(what, sizeof(what), kind, obj);
	snprintf(text, sizeof(text), "property '%s' of %s reset to its default by %s", key, what, actor);
	return add_event(a, "info", "property", kind == CM_OBJ_CLUSTER ? "cluster" : obj, text);
}

static int op_node_pause(struct apply_ctx *a)
{
	const char *node = cm_msg_str(a->w, 0), *flag = cm_msg_str(a->w, 1), *actor = cm_msg_str(a->w, 2);
	char text[256];
	int rc;

	if (!node || !flag || !actor || (strcmp(flag, "1") && strcmp(flag, "0")))
		return fail(a, -CM_E_PROTO, "malformed pause write%s%s", "", "");
	rc = check_object(a, CM_OBJ_NODE, node);
	if (rc < 0)
		return rc;
	{
		const char *b[] = { flag, node };

		if (cd_db_exec(a->db, "UPDATE nodes SET paused = ? WHERE name = ?", 2, b) < 0)
			return -CM_E_DB;
	}
	snprintf(text, sizeof(text), "node '%s' %s by %s", node,
		 strcmp(flag, "1") == 0 ? "paused" : "resumed", actor);
	return add_event(a, "notice", "node", node, text);
}

static int op_quorum_set(struct apply_ctx *a)
{
	const char *mode = cm_msg_str(a->w, 0), *url = cm_msg_str(a->w, 1), *actor = cm_msg_str(a->w, 2);
	char text[768];

	if (!mode || !url || !actor || (strcmp(mode, "node-majority") && strcmp(mode, "node-and-disk-majority")) ||
	    strlen(url) > 512 || (!strcmp(mode, "node-and-disk-majority") && url[0] == '\0'))
		return fail(a, -CM_E_PROTO, "malformed quorum write%s%s", "", "");
	{
		const char *b1[] = { mode }, *b2[] = { url };

		if (cd_db_exec(a->db, "INSERT OR REPLACE INTO properties(kind, obj, key, type, value)"
			       " VALUES(0, '', 'quorum_mode', 'enum', ?)", 1, b1) < 0 ||
		    cd_db_exec(a->db, "INSERT OR REPLACE INTO properties(kind, obj, key, type, value)"
			       " VALUES(0, '', 'witness_url', 'string', ?)", 1, b2) < 0)
			return -CM_E_DB;
	}
	snprintf(text, sizeof(text), "quorum mode set to %s%s%s by %s", mode, url[0] ? ", witness " : "", url, actor);
	return add_event(a, "notice", "quorum", "cluster", text);
}

static int op_event(struct apply_ctx *a)
{
	const char *sev = cm_msg_str(a->w, 0), *kind = cm_msg_str(a->w, 1);
	const char *obj = cm_msg_str(a->w, 2), *text = cm_msg_str(a->w, 3);

	if (!sev || !kind || !obj || !text)
		return fail(a, -CM_E_PROTO, "malformed event write%s%s", "", "");
	return add_event(a, sev, kind, obj, text);
}

int cd_db_apply(struct cd_db *db, const struct cm_msg *w, const char *node,
		char *err, size_t errlen)
{
	struct apply_ctx a = { db, w, node, err, errlen };
	int64_t seq = 0;
	int rc;

	err[0] = '\0';
	if (!cd_db_has_cluster(db))
		return fail(&a, -CM_E_NOT_INIT, "no cluster has been created in this database%s%s", "", "");
	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		cd_db_errmsg(db, "cannot start a transaction", err, errlen);
		return -CM_E_DB;
	}
	switch (cm_msg_int(w, 0, -1)) {
	case CM_OP_PROP_SET: rc = op_prop_set(&a); break;
	case CM_OP_PROP_UNSET: rc = op_prop_unset(&a); break;
	case CM_OP_NODE_PAUSE: rc = op_node_pause(&a); break;
	case CM_OP_EVENT: rc = op_event(&a); break;
	case CM_OP_QUORUM_SET: rc = op_quorum_set(&a); break;
	case CM_OP_GROUP_CREATE ... CM_OP_VM_XML:
		rc = cd_db_res_apply(db, w, node, err, errlen);
		break;
	case CM_OP_CSV_CREATE ... CM_OP_CSV_PATH:
		rc = cd_db_csv_apply(db, w, node, err, errlen);
		break;
	default:
		rc = fail(&a, -CM_E_UNKNOWN_CMD, "unknown write operation%s%s", "", "");
	}
	if (rc == 0)
		rc = cd_db_res_step(db, w, node, err, errlen);
	if (rc == 0 && (cd_db_meta_get_int(db, "seq", &seq) < 0 ||
			cd_db_meta_set_int(db, "seq", seq + 1) < 0))
		rc = -CM_E_DB;
	if (rc == 0 && sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = -CM_E_DB;
	if (rc < 0) {
		if (rc == -CM_E_DB && err[0] == '\0')
			cd_db_errmsg(db, "cannot apply a write", err, errlen);
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
		/* the cached model may hold changes of the rolled back step */
		cd_db_engine_reset(db);
	}
	return rc;
}

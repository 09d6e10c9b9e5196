/* cd_db_res_apply.c - the replicated writes of groups, resources,
 * dependencies, administrator commands and executor results.
 *
 * Like cd_db_apply.c: a function of the database and the message only. A
 * refused write changes nothing and says why; every replica refuses it alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_str.h"
#include "cd_db_int.h"
#include "res_type.h"

struct wctx {
	struct cd_db *db;
	const struct cm_msg *w;
	const char *node;
	char *err;
	size_t errlen;
};

static int refuse(struct wctx *c, int rc, const char *fmt, const char *x, const char *y)
{
	snprintf(c->err, c->errlen, fmt, x, y);
	return rc;
}

static bool exists(struct cd_db *db, const char *sql, const char *a, const char *b)
{
	return cd_db_row(db, sql, a, b, NULL, 0);
}

static bool group_exists(struct cd_db *db, const char *g)
{
	return exists(db, "SELECT 1 FROM groups WHERE name = ?", g, NULL);
}

static bool res_exists(struct cd_db *db, const char *r)
{
	return exists(db, "SELECT 1 FROM resources WHERE name = ?", r, NULL);
}

static int event(struct wctx *c, const char *sev, const char *kind, const char *obj, const char *fmt,
		 const char *x, const char *y)
{
	char text[512];

	snprintf(text, sizeof(text), fmt, x, y);
	return cd_db_add_event(c->db, (int64_t)c->w->time_ms, c->node, sev, kind, obj, text);
}

static int run(struct cd_db *db, const char *sql, const char *a, const char *b)
{
	const char *binds[] = { a, b };

	return cd_db_exec(db, sql, b ? 2 : 1, binds);
}

/* A group or resource may be removed only when nothing of it runs. */
static bool res_idle(struct cd_db *db, const char *sql, const char *name)
{
	return !exists(db, sql, name, NULL);
}

static int op_group_create(struct wctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *actor = cm_msg_str(c->w, 1);
	int rc;

	if (!name || !actor)
		return refuse(c, -CM_E_PROTO, "malformed group write%s%s", "", "");
	if ((rc = cm_name_check("group", name, c->err, c->errlen)) < 0)
		return rc;
	if (group_exists(c->db, name) || res_exists(c->db, name))
		return refuse(c, -CM_E_EXISTS, "a group or resource named '%s' already exists%s", name, "");
	{
		char now[32];
		const char *b[] = { name, now };

		snprintf(now, sizeof(now), "%llu", (unsigned long long)c->w->time_ms);
		if (cd_db_exec(c->db, "INSERT INTO groups(name, created_ms) VALUES(?, ?)", 2, b) < 0 ||
		    run(c->db, "INSERT INTO group_rt(name, want_online, owner, move_to, flags, failovers, reason)"
			" VALUES(?, 0, 0, 0, 0, '', 'created')", name, NULL) < 0)
			return -CM_E_DB;
	}
	return event(c, "info", "group", name, "group '%s' created by %s", name, actor);
}

static int op_group_delete(struct wctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *actor = cm_msg_str(c->w, 1);

	if (!name || !actor)
		return refuse(c, -CM_E_PROTO, "malformed group write%s%s", "", "");
	if (!group_exists(c->db, name))
		return refuse(c, -CM_E_NO_OBJECT, "group '%s' does not exist%s", name, "");
	if (!res_idle(c->db, "SELECT 1 FROM res_rt JOIN resources USING(name) WHERE grp = ?"
		      " AND NOT (state = 'Offline' OR (state = 'Failed' AND node = 0))", name))
		return refuse(c, -CM_E_VALUE, "group '%s' is not offline: take it offline first"
			      " ('cluadmin group offline %s --wait')", name, name);
	if (run(c->db, "DELETE FROM dependencies WHERE resource IN (SELECT name FROM resources WHERE grp = ?)",
		name, NULL) < 0 ||
	    run(c->db, "DELETE FROM properties WHERE kind = 3 AND obj IN (SELECT name FROM resources WHERE grp = ?)",
		name, NULL) < 0 ||
	    run(c->db, "DELETE FROM res_rt WHERE name IN (SELECT name FROM resources WHERE grp = ?)", name, NULL) < 0 ||
	    run(c->db, "DELETE FROM resources WHERE grp = ?", name, NULL) < 0 ||
	    run(c->db, "DELETE FROM properties WHERE kind = 2 AND obj = ?", name, NULL) < 0 ||
	    run(c->db, "DELETE FROM group_rt WHERE name = ?", name, NULL) < 0 ||
	    run(c->db, "DELETE FROM groups WHERE name = ?", name, NULL) < 0)
		return -CM_E_DB;
	return event(c, "notice", "group", name, "group '%s' deleted by %s", name, actor);
}

/* "key=value" lines: validate every one before storing any. */
static int res_props(struct wctx *c, const char *res, const char *type, const char *text, bool store)
{
	const char *lines[64];
	char *copy = strdup(text), *save = NULL, *line;
	char canon[CM_VALUE_MAX];
	size_t n = 0, i;
	int rc = 0;

	if (copy == NULL)
		return -CM_E_DB;
	for (line = strtok_r(copy, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (eq == NULL || eq == line) {
			rc = refuse(c, -CM_E_VALUE, "property '%s' needs the form key=value%s", line, "");
			break;
		}
		if (n == sizeof(lines) / sizeof(lines[0])) {
			rc = refuse(c, -CM_E_VALUE, "too many properties%s%s", "", "");
			break;
		}
		lines[n++] = line;
		*eq = '\0';
		rc = cm_prop_validate(CM_OBJ_RESOURCE, line, eq + 1, canon, sizeof(canon), c->err, c->errlen);
		if (rc == 0 && !strcmp(line, "possible_owners"))
			rc = cd_db_check_node_list(c->db, canon, c->err, c->errlen);
		*eq = '=';
	}
	if (rc == 0 && !store)
		rc = res_type_check(type, lines, n, c->err, c->errlen);
	for (i = 0; rc == 0 && store && i < n; i++) {
		char *eq = strchr(lines[i], '=');
		const struct cm_prop_def *d;

		*eq = '\0';
		cm_prop_validate(CM_OBJ_RESOURCE, lines[i], eq + 1, canon, sizeof(canon), c->err, c->errlen);
		d = cm_prop_find(CM_OBJ_RESOURCE, lines[i]);
		{
			const char *b[] = { res, lines[i], cm_ptype_to_str(d ? d->type : CM_PT_STRING), canon };

			if (cd_db_exec(c->db, "INSERT OR REPLACE INTO properties(kind, obj, key, type, value)"
				       " VALUES(3, ?, ?, ?, ?)", 4, b) < 0)
				rc = -CM_E_DB;
		}
	}
	free(copy);
	return rc;
}

static int op_res_create(struct wctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *grp = cm_msg_str(c->w, 1), *type = cm_msg_str(c->w, 2);
	const char *props = cm_msg_str(c->w, 3), *actor = cm_msg_str(c->w, 4);
	char now[32];
	int rc;

	if (!name || !grp || !type || !props || !actor)
		return refuse(c, -CM_E_PROTO, "malformed resource write%s%s", "", "");
	if ((rc = cm_name_check("resource", name, c->err, c->errlen)) < 0)
		return rc;
	/* a resource may be named like its own group (a VM and its group) */
	if ((group_exists(c->db, name) && strcmp(name, grp) != 0) || res_exists(c->db, name))
		return refuse(c, -CM_E_EXISTS, "a group or resource named '%s' already exists%s", name, "");
	if (!group_exists(c->db, grp))
		return refuse(c, -CM_E_NO_OBJECT, "group '%s' does not exist (create it with 'cluadmin group create %s')",
			      grp, grp);
	if ((rc = res_props(c, name, type, props, false)) < 0)
		return rc;
	if (!strcmp(type, "physical-disk") || !strcmp(type, "csv")) {
		/* one LUN, one owner: a second disk on it would preempt the first */
		const char *u = strstr(props, "url=");

		if (u && (u == props || u[-1] == '\n')) {
			char url[600];

			cm_strlcpy(url, u + 4, sizeof(url));
			url[strcspn(url, "\n")] = '\0';
			if ((rc = cd_db_lun_in_use(c->db, url, NULL, c->err, c->errlen)) < 0)
				return rc;
		}
	}
	snprintf(now, sizeof(now), "%llu", (unsigned long long)c->w->time_ms);
	{
		const char *b[] = { name, grp, type, now };

		if (cd_db_exec(c->db, "INSERT INTO resources(name, grp, type, created_ms) VALUES(?, ?, ?, ?)", 4, b) < 0 ||
		    run(c->db, "INSERT INTO res_rt(name, state, node, gen, flags, restarts, reason)"
			" VALUES(?, 'Offline', 0, 0, 0, '', 'created')", name, NULL) < 0)
			return -CM_E_DB;
	}
	if ((rc = res_props(c, name, type, props, true)) < 0)
		return rc;
	return event(c, "info", "resource", name, "resource '%s' created in group '%s'", name, grp);
}

static int op_res_delete(struct wctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *actor = cm_msg_str(c->w, 1);

	if (!name || !actor)
		return refuse(c, -CM_E_PROTO, "malformed resource write%s%s", "", "");
	if (!res_exists(c->db, name))
		return refuse(c, -CM_E_NO_OBJECT, "resource '%s' does not exist%s", name, "");
	if (!res_idle(c->db, "SELECT 1 FROM res_rt WHERE name = ?"
		      " AND NOT (state = 'Offline' OR (state = 'Failed' AND node = 0))", name))
		return refuse(c, -CM_E_VALUE, "resource '%s' is not offline: take its group offline first%s", name, "");
	if (run(c->db, "DELETE FROM dependencies WHERE resource = ? OR depends_on = ?", name, name) < 0 ||
	    run(c->db, "DELETE FROM properties WHERE kind = 3 AND obj = ?", name, NULL) < 0 ||
	    run(c->db, "DELETE FROM res_rt WHERE name = ?", name, NULL) < 0 ||
	    run(c->db, "DELETE FROM resources WHERE name = ?", name, NULL) < 0)
		return -CM_E_DB;
	return event(c, "notice", "resource", name, "resource '%s' deleted by %s", name, actor);
}

static int op_dep(struct wctx *c, bool add)
{
	const char *res = cm_msg_str(c->w, 0), *dep = cm_msg_str(c->w, 1), *actor = cm_msg_str(c->w, 2);
	const struct res_model *m;
	int rc;

	if (!res || !dep || !actor)
		return refuse(c, -CM_E_PROTO, "malformed dependency write%s%s", "", "");
	if (!add) {
		if (!exists(c->db, "SELECT 1 FROM dependencies WHERE resource = ? AND depends_on = ?", res, dep))
			return refuse(c, -CM_E_NO_OBJECT, "resource '%s' does not depend on '%s'", res, dep);
		if (run(c->db, "DELETE FROM dependencies WHERE resource = ? AND depends_on = ?", res, dep) < 0)
			return -CM_E_DB;
		return event(c, "info", "resource", res, "resource '%s' no longer depends on '%s'", res, dep);
	}
	m = cd_db_model(c->db);
	if (m == NULL)
		return -CM_E_DB;
	if ((rc = res_dep_check(m, res, dep, c->err, c->errlen)) < 0)
		return rc;
	if (run(c->db, "INSERT INTO dependencies(resource, depends_on) VALUES(?, ?)", res, dep) < 0)
		return -CM_E_DB;
	return event(c, "info", "resource", res, "resource '%s' depends on '%s'", res, dep);
}

static int op_group_admin(struct wctx *c, int op)
{
	const char *name = cm_msg_str(c->w, 0);
	const char *target = op == CM_OP_GROUP_MOVE ? cm_msg_str(c->w, 1) : "";
	const char *actor = cm_msg_str(c->w, op == CM_OP_GROUP_MOVE ? 2 : 1);
	struct cd_db_node n;

	if (!name || !target || !actor)
		return refuse(c, -CM_E_PROTO, "malformed group write%s%s", "", "");
	if (!group_exists(c->db, name))
		return refuse(c, -CM_E_NO_OBJECT, "group '%s' does not exist%s", name, "");
	if (target[0] && cd_db_node_by_name(c->db, target, &n) < 0)
		return refuse(c, -CM_E_NO_OBJECT, "node '%s' is not a member of this cluster%s", target, "");
	if (op == CM_OP_GROUP_MOVE && target[0]) {
		const struct res_model *m = cd_db_model(c->db);
		int rc;

		if (m == NULL)
			return -CM_E_DB;
		/* the replica that applies it decides, in the stream's order */
		if ((rc = res_move_check(m, res_group_find(m, name), target, c->err, c->errlen)) < 0)
			return rc;
	}
	if (op == CM_OP_GROUP_MOVE)
		return event(c, "notice", "group", name, target[0] ? "move of group '%s' to '%s' requested" :
			     "move of group '%s' requested%s", name, target);
	return event(c, "notice", "group", name, op == CM_OP_GROUP_ONLINE ? "group '%s' brought online by %s" :
		     "group '%s' taken offline by %s", name, actor);
}

static bool in_view(const struct cd_db *db, uint32_t id)
{
	size_t i;

	for (i = 0; i < db->nview; i++)
		if (db->view[i] == id)
			return true;
	return false;
}

static int op_node_admin(struct wctx *c, int op)
{
	const char *name = cm_msg_str(c->w, 0), *actor = cm_msg_str(c->w, 1);
	struct cd_db_node n;

	if (!name || !actor)
		return refuse(c, -CM_E_PROTO, "malformed node write%s%s", "", "");
	if (cd_db_node_by_name(c->db, name, &n) < 0)
		return refuse(c, -CM_E_NO_OBJECT, "node '%s' is not a member of this cluster%s", name, "");
	if (op == CM_OP_CONFIRM_DOWN && in_view(c->db, n.id))
		return refuse(c, -CM_E_VALUE, "node '%s' is up and a member of the cluster:"
			      " confirm-down is only for nodes that are gone%s", name, "");
	if (op == CM_OP_CONFIRM_DOWN) {
		const struct res_model *m = cd_db_model(c->db);
		int ni = m ? res_node_find(m, n.id) : -1;

		if (m == NULL)
			return -CM_E_DB;
		if (ni < 0 || (m->nodes[ni].fence != RES_F_NEEDED && m->nodes[ni].fence != RES_F_FENCING))
			return refuse(c, -CM_E_VALUE, "node '%s' is not waiting to be fenced: nothing to confirm%s",
				      name, "");
	}
	if (op == CM_OP_NODE_DRAIN && !in_view(c->db, n.id))
		return refuse(c, -CM_E_VALUE, "node '%s' is down: there is nothing to drain%s", name, "");
	return event(c, "notice", "node", name, op == CM_OP_NODE_DRAIN ? "drain of node '%s' requested by %s" :
		     "node '%s' confirmed down by %s", name, actor);
}

static int op_result(struct wctx *c, int op)
{
	const char *s0 = cm_msg_str(c->w, 0), *text = cm_msg_str(c->w, 1);

	struct cd_db_node n;

	if (!s0 || !text || c->w->nints < (op == CM_OP_RES_RESULT ? 4 : 3))
		return refuse(c, -CM_E_PROTO, "malformed result write%s%s", "", "");
	if (op == CM_OP_RES_RESULT && !res_exists(c->db, s0))
		return refuse(c, -CM_E_NO_OBJECT, "result for resource '%s', which does not exist%s", s0, "");
	if (op == CM_OP_FENCE_RESULT && cd_db_node_by_name(c->db, s0, &n) < 0)
		return refuse(c, -CM_E_NO_OBJECT, "fence result for node '%s', which is not in the cluster%s", s0, "");
	if (op == CM_OP_FENCE_RESULT)
		return event(c, cm_msg_int(c->w, 1, 0) ? "notice" : "error", "fencing", s0,
			     cm_msg_int(c->w, 1, 0) ? "fence agent run against '%s' succeeded: %s" :
			     "fence agent run against '%s' failed: %s", s0, text);
	return 0;
}

int cd_db_sub_apply(struct cd_db *db, const struct cm_msg *parent, const char *node, int op,
		    const char *const *strs, int n, char *err, size_t errlen)
{
	struct cm_msg w;
	int i;

	cm_msg_init(&w, CM_MSG_WRITE);
	w.time_ms = parent->time_ms;
	w.sender = parent->sender;
	cm_msg_add_int(&w, op);
	for (i = 0; i < n; i++)
		cm_msg_add_str(&w, strs[i]);
	return cd_db_res_apply(db, &w, node, err, errlen);
}

int cd_db_res_apply(struct cd_db *db, const struct cm_msg *w, const char *node, char *err, size_t errlen)
{
	struct wctx c = { db, w, node, err, errlen };
	int op = (int)cm_msg_int(w, 0, -1);

	switch (op) {
	case CM_OP_GROUP_CREATE: return op_group_create(&c);
	case CM_OP_GROUP_DELETE: return op_group_delete(&c);
	case CM_OP_RES_CREATE: return op_res_create(&c);
	case CM_OP_RES_DELETE: return op_res_delete(&c);
	case CM_OP_DEP_ADD: return op_dep(&c, true);
	case CM_OP_DEP_REMOVE: return op_dep(&c, false);
	case CM_OP_GROUP_ONLINE:
	case CM_OP_GROUP_OFFLINE:
	case CM_OP_GROUP_MOVE: return op_group_admin(&c, op);
	case CM_OP_NODE_DRAIN:
	case CM_OP_CONFIRM_DOWN: return op_node_admin(&c, op);
	case CM_OP_RES_RESULT:
	case CM_OP_FENCE_RESULT: return op_result(&c, op);
	case CM_OP_TICK: return 0;
	case CM_OP_VM_CREATE ... CM_OP_VM_XML: return cd_db_vm_apply(db, w, node, err, errlen);
	default:
		return refuse(&c, -CM_E_UNKNOWN_CMD, "unknown write operation%s%s", "", "");
	}
}

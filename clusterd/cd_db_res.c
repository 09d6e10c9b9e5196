/* cd_db_res.c - the policy core on the replica: the model loaded from the
 * tables, one res_step per applied write, its runtime changes stored back,
 * and the group/resource writes.
 *
 * Everything here runs inside cd_db_apply()'s transaction and must be a
 * function of the database, the message and the view: no clock, no local
 * configuration (the time zone offset only shapes failback windows and is
 * the same on every node of a sane cluster).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_str.h"
#include "cd_db_int.h"
#include "res_io.h"
#include "res_type.h"

#define RF_RESTART 1
#define RF_KEEP_FAILED 2
#define RF_STOP_FAILED 4
#define RF_HELD 8
#define GF_MOVING 1
#define GF_FAILOVER 2
#define GF_FAILED 4
#define GF_ADMIN_MOVE 8
#define GF_PINNED 16

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

static int prepare(struct cd_db *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db->h, sql, -1, st, NULL) == SQLITE_OK ? 0 : -CM_E_DB;
}

/* ---- a group's migration: "mode running admin from to retry_ms" ---- */

static void mig_parse(const char *s, struct res_group *g)
{
	unsigned mode = 0, running = 0, admin = 0;
	unsigned long from = 0, to = 0;
	long long retry = 0;

	if (sscanf(s, "%u %u %u %lu %lu %lld", &mode, &running, &admin, &from, &to, &retry) != 6)
		return;
	g->mig_mode = mode <= RES_MIG_QUICK ? (enum res_mig_mode)mode : RES_MIG_NONE;
	g->mig_running = running != 0;
	g->mig_admin = admin != 0;
	g->mig_from = (uint32_t)from;
	g->mig_to = (uint32_t)to;
	g->mig_retry_ms = retry;
}

static void mig_format(const struct res_group *g, char *buf, size_t len)
{
	if (g->mig_mode == RES_MIG_NONE && !g->mig_running && g->mig_retry_ms == 0) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%u %u %u %lu %lu %lld", (unsigned)g->mig_mode, (unsigned)g->mig_running,
		 (unsigned)g->mig_admin, (unsigned long)g->mig_from, (unsigned long)g->mig_to,
		 (long long)g->mig_retry_ms);
}

/* ---- times lists: "t1,t2,..." ---- */

static void times_parse(const char *s, int64_t *t, int *n)
{
	char *end;

	*n = 0;
	while (*s && *n < RES_HIST_MAX) {
		t[(*n)++] = strtoll(s, &end, 10);
		if (end == s)
			break;
		s = *end == ',' ? end + 1 : end;
	}
}

static void times_format(const int64_t *t, int n, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%" PRId64, i ? "," : "", t[i]);
}

/* ---- node lists: "n1,n2" -> ids ---- */

static int ids_from_names(const struct res_model *m, const char *list, uint32_t *ids, int max)
{
	char name[RES_NAME_MAX];
	int n = 0;

	while (*list && n < max) {
		size_t len = strcspn(list, ",");

		if (len > 0 && len < sizeof(name)) {
			int ni;

			memcpy(name, list, len);
			name[len] = '\0';
			ni = res_node_find_name(m, name);
			if (ni >= 0)
				ids[n++] = m->nodes[ni].id;
		}
		list += len;
		if (*list == ',')
			list++;
	}
	return n;
}

int cd_db_check_node_list(struct cd_db *db, const char *list, char *err, size_t errlen)
{
	char name[CM_NAME_MAX];
	struct cd_db_node node;

	while (*list) {
		size_t len = strcspn(list, ",");

		if (len == 0 || len >= sizeof(name)) {
			snprintf(err, errlen, "a node list is node names separated by commas, without empty names");
			return -CM_E_VALUE;
		}
		memcpy(name, list, len);
		name[len] = '\0';
		if (cd_db_node_by_name(db, name, &node) < 0) {
			snprintf(err, errlen, "node '%s' is not a member of this cluster", name);
			return -CM_E_NO_OBJECT;
		}
		list += len;
		if (*list == ',')
			list++;
	}
	return 0;
}

/* ---- loading the model ---- */

static void prop_node(struct res_model *m, const char *obj, const char *key, const char *v)
{
	int n = res_node_find_name(m, obj);

	if (n < 0)
		return;
	if (!strcmp(key, "memory_mb"))
		m->nodes[n].memory_mb = strtoll(v, NULL, 10);
	else if (!strcmp(key, "fence_agent"))
		m->nodes[n].has_agent = v[0] != '\0';
}

static int prop_group(struct res_model *m, const char *obj, const char *key, const char *v)
{
	int g = res_group_find(m, obj), x;
	struct res_group *grp;

	if (g < 0)
		return 0;
	grp = &m->groups[g];
	if (!strcmp(key, "preferred_owners")) {
		uint32_t ids[256];

		return res_group_set_preferred(m, g, ids, ids_from_names(m, v, ids, 256));
	}
	if (!strcmp(key, "failback") && (x = res_failback_from_str(v)) >= 0)
		grp->failback = (enum res_failback)x;
	else if (!strcmp(key, "failback_window_start"))
		grp->fb_start_h = atoi(v);
	else if (!strcmp(key, "failback_window_end"))
		grp->fb_end_h = atoi(v);
	else if (!strcmp(key, "anti_affinity_class"))
		cm_strlcpy(grp->aa_class, v, sizeof(grp->aa_class));
	else if (!strcmp(key, "priority") && (x = res_prio_from_str(v)) >= 0)
		grp->prio = (enum res_prio)x;
	else if (!strcmp(key, "failover_threshold"))
		grp->failover_threshold = strcmp(v, "auto") ? atoi(v) : -1;
	else if (!strcmp(key, "failover_period_s"))
		grp->failover_period_ms = strtoll(v, NULL, 10) * 1000;
	return 0;
}

static int prop_res(struct res_model *m, const char *obj, const char *key, const char *v)
{
	int r = res_resource_find(m, obj), x;
	struct res_resource *res;

	if (r < 0)
		return 0;
	res = &m->res[r];
	if (!strcmp(key, "possible_owners")) {
		uint32_t ids[256];

		return res_resource_set_possible(m, r, ids, ids_from_names(m, v, ids, 256));
	}
	if (!strcmp(key, "restart_action") && (x = res_restart_from_str(v)) >= 0)
		res->restart = (enum res_restart)x;
	else if (!strcmp(key, "restart_threshold"))
		res->restart_threshold = atoi(v);
	else if (!strcmp(key, "restart_period_s"))
		res->restart_period_ms = strtoll(v, NULL, 10) * 1000;
	else if (!strcmp(key, "memory_mb"))
		res->memory_mb = strtoll(v, NULL, 10);
	else if (!strcmp(key, "dependency_type"))
		res->dep_or = strcmp(v, "or") == 0;
	return 0;
}

static int load_objects(struct cd_db *db, struct res_model *m)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (prepare(db, "SELECT id, name, paused FROM nodes ORDER BY id", &st) < 0)
		return -CM_E_DB;
	while (rc >= 0 && sqlite3_step(st) == SQLITE_ROW) {
		rc = res_model_add_node(m, (uint32_t)sqlite3_column_int64(st, 0), col(st, 1));
		if (rc >= 0)
			m->nodes[rc].paused = sqlite3_column_int(st, 2) != 0;
	}
	sqlite3_finalize(st);
	if (rc >= 0 && prepare(db, "SELECT name FROM groups ORDER BY name", &st) == 0) {
		while (rc >= 0 && sqlite3_step(st) == SQLITE_ROW)
			rc = res_model_add_group(m, col(st, 0));
		sqlite3_finalize(st);
	}
	if (rc >= 0 && prepare(db, "SELECT name, grp, type FROM resources ORDER BY name", &st) == 0) {
		while (rc >= 0 && sqlite3_step(st) == SQLITE_ROW)
			rc = res_model_add_resource(m, col(st, 0), col(st, 2), col(st, 1));
		sqlite3_finalize(st);
	}
	if (rc >= 0 && prepare(db, "SELECT resource, depends_on FROM dependencies ORDER BY resource, depends_on",
			       &st) == 0) {
		while (rc >= 0 && sqlite3_step(st) == SQLITE_ROW)
			rc = res_model_add_dep(m, col(st, 0), col(st, 1));
		sqlite3_finalize(st);
	}
	return rc < 0 ? rc : 0;
}

static int load_props(struct cd_db *db, struct res_model *m)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (prepare(db, "SELECT kind, obj, key, value FROM properties WHERE kind IN (1, 2, 3)"
		    " ORDER BY kind, obj, key", &st) < 0)
		return -CM_E_DB;
	while (rc >= 0 && sqlite3_step(st) == SQLITE_ROW) {
		int kind = sqlite3_column_int(st, 0);

		if (kind == CM_OBJ_NODE)
			prop_node(m, col(st, 1), col(st, 2), col(st, 3));
		else if (kind == CM_OBJ_GROUP)
			rc = prop_group(m, col(st, 1), col(st, 2), col(st, 3));
		else
			rc = prop_res(m, col(st, 1), col(st, 2), col(st, 3));
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : res_model_reorder(m);
}

static int load_runtime(struct cd_db *db, struct res_model *m)
{
	sqlite3_stmt *st = NULL;
	int i;

	if (prepare(db, "SELECT id, member, draining, fence, fencer, fence_since_ms, fence_retry_ms,"
		    " fence_attempts, down_seen FROM node_rt", &st) < 0)
		return -CM_E_DB;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct res_node *n;

		if ((i = res_node_find(m, (uint32_t)sqlite3_column_int64(st, 0))) < 0)
			continue;
		n = &m->nodes[i];
		n->member = sqlite3_column_int(st, 1) != 0;
		n->draining = sqlite3_column_int(st, 2) != 0;
		n->fence = res_fence_from_str(col(st, 3)) < 0 ? RES_F_NONE : (enum res_fence)res_fence_from_str(col(st, 3));
		n->fencer = (uint32_t)sqlite3_column_int64(st, 4);
		n->fence_since_ms = sqlite3_column_int64(st, 5);
		n->fence_retry_ms = sqlite3_column_int64(st, 6);
		n->fence_attempts = (uint32_t)sqlite3_column_int64(st, 7);
		n->down_seen = sqlite3_column_int(st, 8) != 0;
	}
	sqlite3_finalize(st);
	if (prepare(db, "SELECT name, want_online, owner, move_to, flags, failovers, reason, mig FROM group_rt", &st) < 0)
		return -CM_E_DB;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct res_group *g;
		int flags;

		if ((i = res_group_find(m, col(st, 0))) < 0)
			continue;
		g = &m->groups[i];
		flags = sqlite3_column_int(st, 4);
		g->want_online = sqlite3_column_int(st, 1) != 0;
		g->owner = (uint32_t)sqlite3_column_int64(st, 2);
		g->move_to = (uint32_t)sqlite3_column_int64(st, 3);
		g->moving = flags & GF_MOVING;
		g->failing_over = flags & GF_FAILOVER;
		g->failed = flags & GF_FAILED;
		g->admin_move = flags & GF_ADMIN_MOVE;
		g->pinned = flags & GF_PINNED;
		times_parse(col(st, 5), g->failovers, &g->nfailovers);
		cm_strlcpy(g->reason, col(st, 6), sizeof(g->reason));
		mig_parse(col(st, 7), g);
	}
	sqlite3_finalize(st);
	if (prepare(db, "SELECT name, state, node, gen, flags, restarts, reason FROM res_rt", &st) < 0)
		return -CM_E_DB;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct res_resource *r;
		int s = res_state_from_str(col(st, 1)), flags;

		if ((i = res_resource_find(m, col(st, 0))) < 0)
			continue;
		r = &m->res[i];
		flags = sqlite3_column_int(st, 4);
		r->state = s < 0 ? RES_S_OFFLINE : (enum res_state)s;
		r->node = (uint32_t)sqlite3_column_int64(st, 2);
		r->gen = (uint64_t)sqlite3_column_int64(st, 3);
		r->restart_wanted = flags & RF_RESTART;
		r->keep_failed = flags & RF_KEEP_FAILED;
		r->stop_failed = flags & RF_STOP_FAILED;
		r->held = flags & RF_HELD;
		times_parse(col(st, 5), r->restarts, &r->nrestarts);
		cm_strlcpy(r->reason, col(st, 6), sizeof(r->reason));
	}
	sqlite3_finalize(st);
	return 0;
}

static struct res_model *model(struct cd_db *db)
{
	struct res_model *m;

	if (db->model)
		return db->model;
	m = res_model_new();
	if (m == NULL || load_objects(db, m) < 0 || res_model_finish(m) < 0 || load_props(db, m) < 0 ||
	    load_runtime(db, m) < 0) {
		res_model_free(m);
		return NULL;
	}
	db->model = m;
	return m;
}

const struct res_model *cd_db_model(struct cd_db *db)
{
	return model(db);
}

void cd_db_engine_reset(struct cd_db *db)
{
	res_model_free(db->model);
	db->model = NULL;
}

/* ---- storing runtime changes ---- */

static int save_node(struct cd_db *db, const struct res_node *n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (prepare(db, "INSERT OR REPLACE INTO node_rt(id, member, draining, fence, fencer, fence_since_ms,"
		    " fence_retry_ms, fence_attempts, down_seen) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)", &st) < 0)
		return -CM_E_DB;
	sqlite3_bind_int64(st, 1, n->id);
	sqlite3_bind_int(st, 2, n->member);
	sqlite3_bind_int(st, 3, n->draining);
	sqlite3_bind_text(st, 4, res_fence_to_str(n->fence), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, n->fencer);
	sqlite3_bind_int64(st, 6, n->fence_since_ms);
	sqlite3_bind_int64(st, 7, n->fence_retry_ms);
	sqlite3_bind_int64(st, 8, n->fence_attempts);
	sqlite3_bind_int(st, 9, n->down_seen);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || prepare(db, "UPDATE nodes SET paused = ? WHERE id = ?", &st) < 0)
		return -CM_E_DB;
	sqlite3_bind_int(st, 1, n->paused);
	sqlite3_bind_int64(st, 2, n->id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -CM_E_DB;
}

static int save_group(struct cd_db *db, const struct res_group *g)
{
	sqlite3_stmt *st = NULL;
	char times[RES_HIST_MAX * 24];
	int rc;

	char mig[96];

	if (prepare(db, "INSERT OR REPLACE INTO group_rt(name, want_online, owner, move_to, flags, failovers, reason,"
		    " mig) VALUES(?, ?, ?, ?, ?, ?, ?, ?)", &st) < 0)
		return -CM_E_DB;
	times_format(g->failovers, g->nfailovers, times, sizeof(times));
	mig_format(g, mig, sizeof(mig));
	sqlite3_bind_text(st, 8, mig, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 1, g->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, g->want_online);
	sqlite3_bind_int64(st, 3, g->owner);
	sqlite3_bind_int64(st, 4, g->move_to);
	sqlite3_bind_int(st, 5, (g->moving ? GF_MOVING : 0) | (g->failing_over ? GF_FAILOVER : 0) |
			 (g->failed ? GF_FAILED : 0) | (g->admin_move ? GF_ADMIN_MOVE : 0) |
			 (g->pinned ? GF_PINNED : 0));
	sqlite3_bind_text(st, 6, times, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, g->reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -CM_E_DB;
}

static int save_res(struct cd_db *db, const struct res_resource *r)
{
	sqlite3_stmt *st = NULL;
	char times[RES_HIST_MAX * 24];
	int rc;

	if (prepare(db, "INSERT OR REPLACE INTO res_rt(name, state, node, gen, flags, restarts, reason)"
		    " VALUES(?, ?, ?, ?, ?, ?, ?)", &st) < 0)
		return -CM_E_DB;
	times_format(r->restarts, r->nrestarts, times, sizeof(times));
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, res_state_to_str(r->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, r->node);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->gen);
	sqlite3_bind_int(st, 5, (r->restart_wanted ? RF_RESTART : 0) | (r->keep_failed ? RF_KEEP_FAILED : 0) |
			 (r->stop_failed ? RF_STOP_FAILED : 0) | (r->held ? RF_HELD : 0));
	sqlite3_bind_text(st, 6, times, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, r->reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -CM_E_DB;
}

static int save_plan(struct cd_db *db, const struct res_model *m, const struct res_plan *p,
		     int64_t time_ms, const char *node)
{
	static const char *const sev[] = { "info", "notice", "warning", "error" };
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < p->nchanges; i++) {
		const struct res_change *c = &p->changes[i];

		if (c->kind == RES_CH_RESOURCE)
			rc = save_res(db, &m->res[c->index]);
		else if (c->kind == RES_CH_GROUP)
			rc = save_group(db, &m->groups[c->index]);
		else
			rc = save_node(db, &m->nodes[c->index]);
	}
	for (i = 0; rc == 0 && i < p->nnotes; i++) {
		const struct res_note *n = &p->notes[i];

		rc = cd_db_add_event(db, time_ms, node, sev[n->severity & 3], "policy", n->object, n->text);
	}
	return rc;
}

/* ---- one step per applied write ---- */

static bool prop_is(struct cd_db *db, const char *key, const char *value)
{
	char v[64];

	return cd_db_prop_get(db, CM_OBJ_CLUSTER, "", key, v, sizeof(v), NULL) == 0 && strcmp(v, value) == 0;
}

static bool is_config_op(const struct cm_msg *w)
{
	switch (cm_msg_int(w, 0, -1)) {
	case CM_OP_PROP_SET:
	case CM_OP_PROP_UNSET:
		return cm_msg_int(w, 1, -1) != CM_OBJ_CLUSTER;
	case CM_OP_GROUP_CREATE: case CM_OP_GROUP_DELETE: case CM_OP_RES_CREATE:
	case CM_OP_RES_DELETE: case CM_OP_DEP_ADD: case CM_OP_DEP_REMOVE:
	case CM_OP_VM_CREATE: case CM_OP_VM_DELETE: case CM_OP_VM_XML:
	case CM_OP_CSV_CREATE: case CM_OP_CSV_DELETE:
		return true;
	default:
		return false;
	}
}

static uint32_t node_id(const struct res_model *m, const char *name)
{
	int n = name ? res_node_find_name(m, name) : -1;

	return n >= 0 ? m->nodes[n].id : RES_NODE_ANY;
}

static void event_of(const struct res_model *m, const struct cm_msg *w, struct res_event *ev)
{
	const char *s0 = cm_msg_str(w, 0);

	switch (cm_msg_int(w, 0, -1)) {
	case CM_OP_RES_RESULT:
		ev->type = RES_EV_RESULT;
		ev->res = res_resource_find(m, s0);
		ev->node = w->sender;
		ev->gen = (uint64_t)cm_msg_int(w, 1, 0);
		ev->op = (enum res_op)cm_msg_int(w, 2, 0);
		ev->ok = cm_msg_int(w, 3, 0) != 0;
		ev->text = cm_msg_str(w, 1);
		break;
	case CM_OP_FENCE_RESULT:
		ev->type = RES_EV_FENCE_RESULT;
		ev->node = node_id(m, s0);
		ev->ok = cm_msg_int(w, 1, 0) != 0;
		ev->gen = (uint64_t)cm_msg_int(w, 2, 0); /* the attempt it answers */
		ev->text = cm_msg_str(w, 1);
		break;
	case CM_OP_GROUP_ONLINE:
	case CM_OP_GROUP_OFFLINE:
	case CM_OP_GROUP_MOVE:
		ev->type = cm_msg_int(w, 0, 0) == CM_OP_GROUP_ONLINE ? RES_EV_GROUP_ONLINE :
			   cm_msg_int(w, 0, 0) == CM_OP_GROUP_OFFLINE ? RES_EV_GROUP_OFFLINE : RES_EV_GROUP_MOVE;
		ev->group = res_group_find(m, s0);
		if (ev->type == RES_EV_GROUP_MOVE)
			ev->node = node_id(m, cm_msg_str(w, 1));
		break;
	case CM_OP_VM_CREATE:
		ev->type = cm_msg_int(w, 1, 0) ? RES_EV_GROUP_ONLINE : RES_EV_CONFIG;
		ev->group = res_group_find(m, cm_msg_str(w, 1) && cm_msg_str(w, 1)[0] ? cm_msg_str(w, 1) : s0);
		break;
	case CM_OP_VM_OFFLINE:
	case CM_OP_VM_MIGRATE:
	case CM_OP_VM_CANCEL: {
		int ri = res_resource_find(m, s0);
		const char *mode = cm_msg_str(w, 2);

		ev->group = ri >= 0 ? m->res[ri].group : -1;
		if (cm_msg_int(w, 0, 0) == CM_OP_VM_OFFLINE) {
			ev->type = RES_EV_GROUP_OFFLINE;
		} else if (cm_msg_int(w, 0, 0) == CM_OP_VM_CANCEL) {
			ev->type = RES_EV_MIGRATE_CANCEL;
		} else {
			ev->node = node_id(m, cm_msg_str(w, 1));
			ev->type = mode && strncmp(mode, "move", 4) == 0 ? RES_EV_GROUP_MOVE : RES_EV_GROUP_MIGRATE;
			ev->mode = mode && strcmp(mode, "quick") == 0 ? RES_MIG_QUICK : RES_MIG_LIVE;
		}
		break;
	}
	case CM_OP_CSV_CREATE: {
		char grp[RES_NAME_MAX];

		cd_db_csv_group(s0 ? s0 : "", grp, sizeof(grp));
		ev->type = RES_EV_GROUP_ONLINE;
		ev->group = res_group_find(m, grp);
		break;
	}
	case CM_OP_NODE_DRAIN:
		ev->type = RES_EV_NODE_DRAIN;
		ev->node = node_id(m, s0);
		break;
	case CM_OP_CONFIRM_DOWN:
		ev->type = RES_EV_CONFIRM_DOWN;
		ev->node = node_id(m, s0);
		break;
	case CM_OP_NODE_PAUSE:
		ev->type = RES_EV_NODE_PAUSE;
		ev->node = node_id(m, s0);
		ev->ok = cm_msg_str(w, 1) && strcmp(cm_msg_str(w, 1), "1") == 0;
		break;
	default:
		ev->type = is_config_op(w) ? RES_EV_CONFIG : RES_EV_TICK;
		break;
	}
}

int cd_db_res_step(struct cd_db *db, const struct cm_msg *w, const char *node, char *err, size_t errlen)
{
	struct res_model *m;
	struct res_event ev;
	int rc;

	if (is_config_op(w))
		cd_db_engine_reset(db);
	m = model(db);
	if (m == NULL) {
		cd_db_errmsg(db, "cannot load the resource model", err, errlen);
		return -CM_E_DB;
	}
	memset(&ev, 0, sizeof(ev));
	ev.res = ev.group = -1;
	event_of(m, w, &ev);
	ev.now_ms = (int64_t)w->time_ms;
	/* failback windows are in UTC: a node's local offset could differ from
	 * its peers', and every node must plan alike */
	ev.tz_offset_min = 0;
	ev.quorate = true; /* writes are applied only in a quorate view (cd_repl.c) */
	ev.fencing_off = prop_is(db, "fencing", "off");
	ev.enforced_aa = prop_is(db, "enforced_anti_affinity", "true");
	{
		char v[16];

		ev.drain_parallel = cd_db_prop_get(db, CM_OBJ_CLUSTER, "", "drain_parallel", v, sizeof(v), NULL) == 0
					    ? atoi(v) : 2;
	}
	ev.members = db->view;
	ev.nmembers = db->nview;
	db->input_ready = false;
	if (db->keep_inputs) {
		cm_sb_reset(&db->input);
		if (res_input_to_json(m, &ev, &db->input) < 0)
			cm_sb_reset(&db->input);
	}
	rc = res_step(m, &ev, &db->plan);
	if (rc == 0)
		rc = save_plan(db, m, &db->plan, ev.now_ms, node);
	if (rc == 0)
		rc = cd_db_vm_after_step(db, w);
	if (rc == 0)
		rc = cd_db_csv_after_step(db, w, node);
	if (rc < 0) {
		snprintf(err, errlen, "the policy step failed: %s", cm_strerror(rc));
		return rc;
	}
	db->plan_serial++;
	db->input_ready = db->keep_inputs && db->plan.nactions > 0 && db->input.len > 0;
	return 0;
}

const struct res_plan *cd_db_last_plan(struct cd_db *db, uint64_t *serial, const char **input)
{
	*serial = db->plan_serial;
	if (input)
		*input = db->input_ready ? db->input.buf : NULL;
	return &db->plan;
}

int cd_db_set_view(struct cd_db *db, const uint32_t *members, size_t n)
{
	uint32_t *v = malloc((n + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	if (n > 0)
		memcpy(v, members, n * sizeof(*v));
	free(db->view);
	db->view = v;
	db->nview = n;
	return 0;
}

void cd_db_keep_inputs(struct cd_db *db, bool on)
{
	db->keep_inputs = on;
}

/* cd_db_vm.c - the replicated writes of virtual machines, and their jobs.
 *
 * A VM is a group with a vm-config resource (the domain XML, in vm_xml) and
 * a vm resource that depends on it; creating or deleting one is a single
 * write that does all of it. Jobs (vm_jobs) record what an administrator
 * or the policy asked of a VM and how it ended: migrations (with the
 * figures the source reports), moves, snapshots. Like every write: a
 * function of the database and the message only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_str.h"
#include "cd_db_int.h"

struct vctx {
	struct cd_db *db;
	const struct cm_msg *w;
	const char *node;
	char *err;
	size_t errlen;
};

static int refuse(struct vctx *c, int rc, const char *fmt, const char *x)
{
	snprintf(c->err, c->errlen, fmt, x);
	return rc;
}

static int exec(struct vctx *c, const char *sql, int n, const char *const *b)
{
	return cd_db_exec(c->db, sql, n, b);
}

static int event(struct vctx *c, const char *sev, const char *obj, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int event(struct vctx *c, const char *sev, const char *obj, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return cd_db_add_event(c->db, (int64_t)c->w->time_ms, c->node, sev, "vm", obj, text);
}

/* Apply a group/resource write made of strs, in this write's transaction. */
static int sub(struct vctx *c, int op, const char *const *strs, int n)
{
	return cd_db_sub_apply(c->db, c->w, c->node, op, strs, n, c->err, c->errlen);
}

bool cd_db_vm_exists(struct cd_db *db, const char *vm)
{
	return cd_db_row(db, "SELECT 1 FROM resources WHERE name = ? AND type = 'vm'", vm, NULL, NULL, 0);
}

static void cfg_name(const char *vm, char *buf, size_t len)
{
	snprintf(buf, len, "%s-config", vm);
}

/* The options lines without start=..., for the vm resource. */
static char *vm_options(const char *opts)
{
	char *out = calloc(1, strlen(opts) + 2), *copy = strdup(opts), *save = NULL, *line;

	if (out == NULL || copy == NULL) {
		free(out);
		free(copy);
		return NULL;
	}
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "start=", 6) == 0 || strncmp(line, "disks=", 6) == 0 ||
		    strncmp(line, "state_csv=", 10) == 0 || strncmp(line, "state_bytes=", 12) == 0)
			continue;
		strcat(out, line);
		strcat(out, "\n");
	}
	free(copy);
	return out;
}

/* The VM's whole-LUN disks ("disks=URL,..." in opts): a physical-disk
 * resource each, NAME-diskN in its group, that the vm-config depends on. */
static int vm_disks(struct vctx *c, const char *name, const char *grp, const char *cfg, const char *opts,
		    const char *actor)
{
	const char *p = strstr(opts, "disks=");
	char list[2100], *save = NULL, *u, res[CM_NAME_MAX + 16], props[700];
	int rc = 0, k = 0;

	if (p == NULL || (p != opts && p[-1] != '\n'))
		return 0;
	cm_strlcpy(list, p + 6, sizeof(list));
	list[strcspn(list, "\n")] = '\0';
	for (u = strtok_r(list, ",", &save); u && rc == 0; u = strtok_r(NULL, ",", &save)) {
		if ((rc = cd_db_lun_in_use(c->db, u, NULL, c->err, c->errlen)) < 0)
			return rc;
		snprintf(res, sizeof(res), "%s-disk%d", name, ++k);
		if (strlen(res) >= CM_NAME_MAX)
			return refuse(c, -CM_E_NAME, "VM name '%s' is too long for its disk resources", name);
		snprintf(props, sizeof(props), "url=%s", u);
		{
			const char *s1[] = { res, grp, "physical-disk", props, actor };
			const char *s2[] = { cfg, res, actor };

			rc = sub(c, CM_OP_RES_CREATE, s1, 5);
			cd_db_engine_reset(c->db);
			if (rc == 0)
				rc = sub(c, CM_OP_DEP_ADD, s2, 3);
		}
	}
	return rc;
}

/* A VM on a CSV keeps its saved (quick-migration) state in a volume
 * NAME.state of its first CSV ("state_csv=CSV", "state_bytes=N" in opts at
 * create; found by name at delete): asked of the coordinator in this write. */
static int vm_state_volume(struct vctx *c, const char *name, const char *opts, const char *actor, bool create)
{
	char csv[64] = "", vol[CM_NAME_MAX + 8];
	const char *p = opts ? strstr(opts, "state_csv=") : NULL, *q = opts ? strstr(opts, "state_bytes=") : NULL;
	int64_t size = q ? strtoll(q + 12, NULL, 10) : 0;

	snprintf(vol, sizeof(vol), "%s.state", name);
	if (create) {
		if (p == NULL || size <= 0)
			return 0;
		cm_strlcpy(csv, p + 10, sizeof(csv));
		csv[strcspn(csv, "\n")] = '\0';
	} else if (!cd_db_row(c->db, "SELECT csv FROM csv_vols WHERE name = ?", vol, NULL, csv, sizeof(csv))) {
		return 0;
	}
	/* an id of this write's own: odd ids are cluadmin's, these end in 250/252 */
	return cd_db_csv_request(c->db, c->w, c->node, (int64_t)c->w->time_ms * 256 + (create ? 250 : 252), csv,
				 create ? "create" : "delete", vol, size, actor, c->err, c->errlen);
}

static int op_vm_create(struct vctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *grp = cm_msg_str(c->w, 1), *xml = cm_msg_str(c->w, 2);
	const char *pref = cm_msg_str(c->w, 3), *opts = cm_msg_str(c->w, 4), *actor = cm_msg_str(c->w, 5);
	char cfg[CM_NAME_MAX + 16];
	char *vmopts;
	int rc;

	if (!name || !grp || !xml || !pref || !opts || !actor)
		return refuse(c, -CM_E_PROTO, "malformed vm write%s", "");
	if (!grp[0])
		grp = name;
	cfg_name(name, cfg, sizeof(cfg));
	if (strlen(cfg) >= CM_NAME_MAX)
		return refuse(c, -CM_E_NAME, "VM name '%s' is too long (at most 56 characters)", name);
	if (!cd_db_row(c->db, "SELECT 1 FROM groups WHERE name = ?", grp, NULL, NULL, 0)) {
		const char *s[] = { grp, actor };

		if ((rc = sub(c, CM_OP_GROUP_CREATE, s, 2)) < 0)
			return rc;
	}
	vmopts = vm_options(opts);
	if (vmopts == NULL)
		return -ENOMEM;
	{
		const char *s1[] = { cfg, grp, "vm-config", "", actor };
		const char *s2[] = { name, grp, "vm", vmopts, actor };
		const char *s3[] = { name, cfg, actor };

		rc = sub(c, CM_OP_RES_CREATE, s1, 5);
		if (rc == 0)
			rc = sub(c, CM_OP_RES_CREATE, s2, 5);
		cd_db_engine_reset(c->db); /* the dependency check reads the model */
		if (rc == 0)
			rc = sub(c, CM_OP_DEP_ADD, s3, 3);
	}
	free(vmopts);
	if (rc == 0)
		rc = vm_disks(c, name, grp, cfg, opts, actor);
	if (rc == 0)
		rc = vm_state_volume(c, name, opts, actor, true);
	if (rc < 0)
		return rc;
	if (pref[0]) {
		const char *b[] = { grp, pref };

		if ((rc = cd_db_check_node_list(c->db, pref, c->err, c->errlen)) < 0)
			return rc;
		if (exec(c, "INSERT OR REPLACE INTO properties(kind, obj, key, type, value)"
			 " VALUES(2, ?, 'preferred_owners', 'string', ?)", 2, b) < 0)
			return -CM_E_DB;
	}
	{
		const char *b[] = { cfg, xml };

		if (exec(c, "INSERT OR REPLACE INTO vm_xml(res, xml) VALUES(?, ?)", 2, b) < 0)
			return -CM_E_DB;
	}
	return event(c, "notice", name, "virtual machine '%s' created in group '%s' by %s", name, grp, actor);
}

static int vm_group(struct vctx *c, const char *vm, char *grp, size_t len)
{
	if (!cd_db_vm_exists(c->db, vm))
		return refuse(c, -CM_E_NO_OBJECT, "virtual machine '%s' does not exist", vm);
	cd_db_row(c->db, "SELECT grp FROM resources WHERE name = ?", vm, NULL, grp, len);
	return 0;
}

static int op_vm_delete(struct vctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *actor = cm_msg_str(c->w, 1);
	char grp[CM_NAME_MAX], cfg[CM_NAME_MAX + 16];
	int rc;

	if (!name || !actor)
		return refuse(c, -CM_E_PROTO, "malformed vm write%s", "");
	if ((rc = vm_group(c, name, grp, sizeof(grp))) < 0)
		return rc;
	cfg_name(name, cfg, sizeof(cfg));
	if (cd_db_row(c->db, "SELECT 1 FROM res_rt JOIN resources USING(name) WHERE grp = ?"
		" AND NOT (state = 'Offline' OR (state = 'Failed' AND node = 0))", grp, NULL, NULL, 0))
		return refuse(c, -CM_E_STATE, "virtual machine '%s' is not offline: stop it first", name);
	{
		const char *s1[] = { name, actor }, *s2[] = { cfg, actor };
		const char *b[] = { name };

		if ((rc = sub(c, CM_OP_RES_DELETE, s1, 2)) < 0)
			return rc;
		if (cd_db_row(c->db, "SELECT 1 FROM resources WHERE name = ?", cfg, NULL, NULL, 0) &&
		    (rc = sub(c, CM_OP_RES_DELETE, s2, 2)) < 0)
			return rc;
		for (int k = 1; k < 64; k++) {
			char disk[CM_NAME_MAX + 16];
			const char *s3[] = { disk, actor };

			snprintf(disk, sizeof(disk), "%s-disk%d", name, k);
			if (!cd_db_row(c->db, "SELECT 1 FROM resources WHERE name = ? AND type = 'physical-disk'", disk,
				       NULL, NULL, 0))
				break;
			if ((rc = sub(c, CM_OP_RES_DELETE, s3, 2)) < 0)
				return rc;
		}
		if (exec(c, "DELETE FROM vm_snaps WHERE vm = ?", 1, b) < 0 ||
		    exec(c, "DELETE FROM vm_current WHERE vm = ?", 1, b) < 0 ||
		    exec(c, "DELETE FROM vm_once WHERE vm = ?", 1, b) < 0)
			return -CM_E_DB;
	}
	{
		const char *b[] = { cfg };

		if (exec(c, "DELETE FROM vm_xml WHERE res = ?", 1, b) < 0)
			return -CM_E_DB;
	}
	if (strcmp(grp, name) == 0 && !cd_db_row(c->db, "SELECT 1 FROM resources WHERE grp = ?", grp, NULL, NULL, 0)) {
		const char *s[] = { grp, actor };

		if ((rc = sub(c, CM_OP_GROUP_DELETE, s, 2)) < 0)
			return rc;
	}
	if ((rc = vm_state_volume(c, name, NULL, actor, false)) < 0)
		return rc;
	return event(c, "notice", name, "virtual machine '%s' deleted by %s", name, actor);
}

static int op_vm_xml(struct vctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *xml = cm_msg_str(c->w, 1), *actor = cm_msg_str(c->w, 2);
	char grp[CM_NAME_MAX], cfg[CM_NAME_MAX + 16];
	int rc;

	if (!name || !xml || !actor)
		return refuse(c, -CM_E_PROTO, "malformed vm write%s", "");
	if ((rc = vm_group(c, name, grp, sizeof(grp))) < 0)
		return rc;
	/* a defined domain would keep the old definition: only while offline */
	if (cd_db_row(c->db, "SELECT 1 FROM res_rt JOIN resources USING(name) WHERE grp = ?"
		" AND NOT (state = 'Offline' OR (state = 'Failed' AND node = 0))", grp, NULL, NULL, 0))
		return refuse(c, -CM_E_STATE, "virtual machine '%s' is not offline: stop it before editing its"
			      " configuration", name);
	cfg_name(name, cfg, sizeof(cfg));
	{
		const char *b[] = { xml, cfg };

		if (exec(c, "UPDATE vm_xml SET xml = ? WHERE res = ?", 2, b) < 0)
			return -CM_E_DB;
	}
	return event(c, "notice", name, "configuration of virtual machine '%s' replaced by %s", name, actor);
}

static int op_vm_offline(struct vctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *mode = cm_msg_str(c->w, 1), *actor = cm_msg_str(c->w, 2);
	char grp[CM_NAME_MAX];
	int rc;

	if (!name || !mode || !actor)
		return refuse(c, -CM_E_PROTO, "malformed vm write%s", "");
	if ((rc = vm_group(c, name, grp, sizeof(grp))) < 0)
		return rc;
	if (strcmp(mode, "off") && strcmp(mode, "shutdown") && strcmp(mode, "save"))
		return refuse(c, -CM_E_VALUE, "unknown stop mode '%s'", mode);
	{
		const char *b[] = { name, mode };

		if (exec(c, "INSERT OR REPLACE INTO vm_once(vm, offline_action) VALUES(?, ?)", 2, b) < 0)
			return -CM_E_DB;
	}
	return event(c, "notice", name, "virtual machine '%s': %s requested by %s", name,
		     !strcmp(mode, "off") ? "turn off" : mode, actor);
}

/* ---- jobs ---- */

static int job_insert(struct vctx *c, int64_t id, const char *vm, const char *kind, const char *from,
		      const char *to, const char *snap, const char *arg)
{
	char ids[32], now[32];
	const char *b[] = { ids, vm, kind, from, to, now, snap, arg };

	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)c->w->time_ms);
	return exec(c, "INSERT OR REPLACE INTO vm_jobs(id, vm, kind, state, from_node, to_node, started_ms, ended_ms,"
		    " total_ms, downtime_ms, data_total, data_processed, data_remaining, text, snap, arg)"
		    " VALUES(?, ?, ?, 'running', ?, ?, ?, 0, 0, -1, 0, 0, 0, '', ?, ?)", 8, b);
}

static int job_end(struct cd_db *db, int64_t id, const char *state, const char *text, uint64_t time_ms)
{
	char ids[32], now[32];
	const char *b[] = { state, text, now, now, ids };

	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)time_ms);
	return cd_db_exec(db, "UPDATE vm_jobs SET state = ?, text = ?, ended_ms = ?,"
			  " total_ms = CASE WHEN total_ms > 0 THEN total_ms ELSE ? - started_ms END"
			  " WHERE id = ? AND state = 'running'", 5, b) < 0 ? -CM_E_DB : 0;
}

static const char *node_name_of(const struct res_model *m, uint32_t id)
{
	int n = res_node_find(m, id);

	return n >= 0 ? m->nodes[n].name : "";
}

static int op_vm_migrate(struct vctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *node = cm_msg_str(c->w, 1), *mode = cm_msg_str(c->w, 2);
	const char *actor = cm_msg_str(c->w, 3);
	int64_t job = cm_msg_int(c->w, 1, 0);
	const struct res_model *m;
	char grp[CM_NAME_MAX];
	int gi, rc;

	if (!name || !node || !mode || !actor || job <= 0)
		return refuse(c, -CM_E_PROTO, "malformed vm write%s", "");
	if ((rc = vm_group(c, name, grp, sizeof(grp))) < 0)
		return rc;
	if ((m = cd_db_model(c->db)) == NULL)
		return -CM_E_DB;
	gi = res_group_find(m, grp);
	if (strcmp(mode, "move") == 0 || strcmp(mode, "move-off") == 0 || strcmp(mode, "move-save") == 0) {
		if (node[0] && (rc = res_move_check(m, gi, node, c->err, c->errlen)) < 0)
			return rc;
		/* move-off: turned off, not shut down (a guest whose storage is
		 * gone cannot shut down); move-save: the quick migration of a VM
		 * on a CSV (saved to its state volume, restored on the target) */
		if (strcmp(mode, "move-off") == 0 || strcmp(mode, "move-save") == 0) {
			const char *b2[] = { name, strcmp(mode, "move-off") == 0 ? "off" : "save" };

			if (exec(c, "INSERT OR REPLACE INTO vm_once(vm, offline_action) VALUES(?, ?)", 2, b2) < 0)
				return -CM_E_DB;
			mode = "move";
		}
	} else if (strcmp(mode, "live") == 0 || strcmp(mode, "quick") == 0) {
		if ((rc = res_migrate_check(m, gi, node, c->err, c->errlen)) < 0)
			return rc;
	} else {
		return refuse(c, -CM_E_VALUE, "unknown migration mode '%s' (live, quick or move)", mode);
	}
	if (job_insert(c, job, name, mode, node_name_of(m, res_group_active_node(m, gi) ? res_group_active_node(m, gi)
						      : m->groups[gi].owner), node, "", actor) < 0)
		return -CM_E_DB;
	return event(c, "notice", name, "%s migration of '%s'%s%s requested by %s", mode, name,
		     node[0] ? " to " : "", node, actor);
}

static int running_job(struct cd_db *db, const char *vm, const char *kinds, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	char sql[256];
	int rc = -CM_E_NO_OBJECT;

	snprintf(sql, sizeof(sql), "SELECT id FROM vm_jobs WHERE vm = ? AND state = 'running' AND kind IN (%s)"
		 " ORDER BY id DESC LIMIT 1", kinds);
	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int op_vm_cancel(struct vctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *actor = cm_msg_str(c->w, 1);
	char grp[CM_NAME_MAX];
	int64_t id;
	int rc;

	if (!name || !actor)
		return refuse(c, -CM_E_PROTO, "malformed vm write%s", "");
	if ((rc = vm_group(c, name, grp, sizeof(grp))) < 0)
		return rc;
	if (running_job(c->db, name, "'quick'", &id) == 0)
		return refuse(c, -CM_E_STATE, "a quick migration of '%s' cannot be cancelled: its memory is being"
			      " saved and restored; it ends in a few seconds", name);
	if (running_job(c->db, name, "'live'", &id) < 0)
		return refuse(c, -CM_E_STATE, "no live migration of '%s' is under way", name);
	return event(c, "notice", name, "migration of '%s' cancelled by %s", name, actor);
}

/* ---- snapshots ---- */

static bool snap_exists(struct cd_db *db, const char *vm, const char *snap)
{
	return cd_db_row(db, "SELECT 1 FROM vm_snaps WHERE vm = ? AND name = ?", vm, snap, NULL, 0);
}

static int op_snap_rename(struct vctx *c, const char *vm, const char *snap, const char *to)
{
	const char *b[] = { to, vm, snap };

	if (!to || !to[0] || strlen(to) > 200 || strchr(to, '\n'))
		return refuse(c, -CM_E_NAME, "'%s' is not a valid snapshot name", to ? to : "");
	if (snap_exists(c->db, vm, to))
		return refuse(c, -CM_E_EXISTS, "a snapshot named '%s' already exists", to);
	if (exec(c, "UPDATE vm_snaps SET name = ? WHERE vm = ? AND name = ?", 3, b) < 0 ||
	    exec(c, "UPDATE vm_snaps SET parent = ? WHERE vm = ? AND parent = ?", 3, b) < 0 ||
	    exec(c, "UPDATE vm_current SET snap = ? WHERE vm = ? AND snap = ?", 3, b) < 0)
		return -CM_E_DB;
	return 0;
}

static int op_vm_snapshot(struct vctx *c)
{
	const char *name = cm_msg_str(c->w, 0), *action = cm_msg_str(c->w, 1), *snap = cm_msg_str(c->w, 2);
	const char *to = cm_msg_str(c->w, 3), *actor = cm_msg_str(c->w, 4);
	int64_t job = cm_msg_int(c->w, 1, 0), other;
	char grp[CM_NAME_MAX], kind[40], cur[256] = "";
	int rc;

	if (!name || !action || !snap || !to || !actor || job <= 0)
		return refuse(c, -CM_E_PROTO, "malformed vm write%s", "");
	if ((rc = vm_group(c, name, grp, sizeof(grp))) < 0)
		return rc;
	snprintf(kind, sizeof(kind), "snapshot-%s", action);
	if (running_job(c->db, name, "'live','quick','snapshot-create','snapshot-apply','snapshot-revert',"
			"'snapshot-delete'", &other) == 0)
		return refuse(c, -CM_E_BUSY, "another operation on '%s' is under way: wait for it to finish", name);
	if (strcmp(action, "revert") == 0) {
		if (!cd_db_row(c->db, "SELECT snap FROM vm_current WHERE vm = ?", name, NULL, cur, sizeof(cur)) || !cur[0])
			return refuse(c, -CM_E_NO_OBJECT, "'%s' has no current snapshot to revert to", name);
		snap = cur;
	} else if (strcmp(action, "create") == 0) {
		if (!snap[0] || strlen(snap) > 200 || strchr(snap, '\n'))
			return refuse(c, -CM_E_NAME, "'%s' is not a valid snapshot name", snap);
		if (snap_exists(c->db, name, snap))
			return refuse(c, -CM_E_EXISTS, "a snapshot named '%s' already exists", snap);
	} else if (strcmp(action, "apply") && strcmp(action, "delete") && strcmp(action, "rename")) {
		return refuse(c, -CM_E_VALUE, "unknown snapshot action '%s'", action);
	} else if (!snap_exists(c->db, name, snap)) {
		return refuse(c, -CM_E_NO_OBJECT, "no such snapshot: '%s'", snap);
	}
	if (strcmp(action, "rename") == 0) {
		if ((rc = op_snap_rename(c, name, snap, to)) < 0 ||
		    (rc = job_insert(c, job, name, kind, "", "", snap, to)) < 0 ||
		    (rc = job_end(c->db, job, "done", "renamed", c->w->time_ms)) < 0)
			return rc;
		return event(c, "info", name, "snapshot '%s' of '%s' renamed to '%s'", snap, name, to);
	}
	{
		char cfgn[CM_NAME_MAX + 16], st[32] = "";

		cfg_name(name, cfgn, sizeof(cfgn));
		cd_db_row(c->db, "SELECT state FROM res_rt WHERE name = ?", cfgn, NULL, st, sizeof(st));
		if (strcmp(st, "Online") != 0)
			return refuse(c, -CM_E_STATE, "'%s' is not defined on any node (its group is offline):"
				      " start it first", name);
	}
	if (job_insert(c, job, name, kind, "", "", snap, to) < 0)
		return -CM_E_DB;
	return event(c, "info", name, "snapshot %s '%s' of '%s' requested by %s", action, snap, name, actor);
}

struct job_row {
	char vm[CM_NAME_MAX], kind[40], snap[256];
};

static int job_get(struct cd_db *db, int64_t id, struct job_row *j)
{
	sqlite3_stmt *st = NULL;
	int rc = -CM_E_NO_OBJECT;

	if (sqlite3_prepare_v2(db->h, "SELECT vm, kind, snap FROM vm_jobs WHERE id = ? AND state = 'running'",
			       -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		cm_strlcpy(j->vm, (const char *)sqlite3_column_text(st, 0), sizeof(j->vm));
		cm_strlcpy(j->kind, (const char *)sqlite3_column_text(st, 1), sizeof(j->kind));
		cm_strlcpy(j->snap, (const char *)sqlite3_column_text(st, 2), sizeof(j->snap));
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

static int snap_done(struct vctx *c, const struct job_row *j, const char *xml, const char *vmstate)
{
	char parent[256] = "", now[32];

	cd_db_row(c->db, "SELECT snap FROM vm_current WHERE vm = ?", j->vm, NULL, parent, sizeof(parent));
	snprintf(now, sizeof(now), "%llu", (unsigned long long)c->w->time_ms);
	if (strcmp(j->kind, "snapshot-create") == 0) {
		const char *b[] = { j->vm, j->snap, j->snap, parent, now, vmstate, xml };

		if (exec(c, "INSERT INTO vm_snaps(vm, name, internal, parent, created_ms, vm_state, xml)"
			 " VALUES(?, ?, ?, ?, ?, ?, ?)", 7, b) < 0)
			return -CM_E_DB;
	}
	if (strcmp(j->kind, "snapshot-delete") == 0) {
		char up[256] = "";
		const char *b1[] = { j->vm, j->snap }, *b3[] = { up, j->vm, j->snap };

		cd_db_row(c->db, "SELECT parent FROM vm_snaps WHERE vm = ? AND name = ?", j->vm, j->snap, up, sizeof(up));
		if (exec(c, "UPDATE vm_snaps SET parent = ? WHERE vm = ? AND parent = ?", 3, b3) < 0 ||
		    exec(c, "UPDATE vm_current SET snap = ? WHERE vm = ? AND snap = ?", 3, b3) < 0 ||
		    exec(c, "DELETE FROM vm_snaps WHERE vm = ? AND name = ?", 2, b1) < 0)
			return -CM_E_DB;
		return 0;
	}
	{
		const char *b[] = { j->vm, j->snap };

		return exec(c, "INSERT OR REPLACE INTO vm_current(vm, snap) VALUES(?, ?)", 2, b) < 0 ? -CM_E_DB : 0;
	}
}

static int op_job_done(struct vctx *c)
{
	int64_t id = cm_msg_int(c->w, 1, 0);
	bool ok = cm_msg_int(c->w, 2, 0) != 0;
	const char *text = cm_msg_str(c->w, 0), *xml = cm_msg_str(c->w, 1), *vmstate = cm_msg_str(c->w, 2);
	struct job_row j;
	int rc;

	if (!text || !xml || !vmstate)
		return refuse(c, -CM_E_PROTO, "malformed job write%s", "");
	if (job_get(c->db, id, &j) < 0)
		return 0; /* ended already (a repeat): nothing to do */
	if (ok && strncmp(j.kind, "snapshot-", 9) == 0 && (rc = snap_done(c, &j, xml, vmstate)) < 0)
		return rc;
	if (job_end(c->db, id, ok ? "done" : "failed", text, c->w->time_ms) < 0)
		return -CM_E_DB;
	return event(c, ok ? "info" : "warning", j.vm, "%s of '%s'%s%s: %s", j.kind, j.vm, j.snap[0] ? " " : "",
		     j.snap, text);
}

static int op_progress(struct vctx *c)
{
	char b[5][32];
	const char *bp[5];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(b[i], sizeof(b[i]), "%lld", (long long)cm_msg_int(c->w, (unsigned)(i + 2), 0));
		bp[i] = b[i];
	}
	snprintf(b[4], sizeof(b[4]), "%lld", (long long)cm_msg_int(c->w, 1, 0));
	bp[4] = b[4];
	return exec(c, "UPDATE vm_jobs SET data_total = ?, data_processed = ?, data_remaining = ?, total_ms = ?"
		    " WHERE id = ? AND state = 'running'", 5, bp) < 0 ? -CM_E_DB : 0;
}

static int op_facts(struct vctx *c)
{
	const char *node = cm_msg_str(c->w, 0), *nets = cm_msg_str(c->w, 1), *brs = cm_msg_str(c->w, 2);
	char kvm[8];

	if (!node || !nets || !brs)
		return refuse(c, -CM_E_PROTO, "malformed facts write%s", "");
	snprintf(kvm, sizeof(kvm), "%d", cm_msg_int(c->w, 1, 0) ? 1 : 0);
	{
		const char *b[] = { node, nets, brs, kvm };

		return exec(c, "INSERT OR REPLACE INTO node_facts(node, networks, bridges, kvm) VALUES(?, ?, ?, ?)",
			    4, b) < 0 ? -CM_E_DB : 0;
	}
}

int cd_db_vm_apply(struct cd_db *db, const struct cm_msg *w, const char *node, char *err, size_t errlen)
{
	struct vctx c = { db, w, node, err, errlen };

	switch (cm_msg_int(w, 0, -1)) {
	case CM_OP_VM_CREATE: return op_vm_create(&c);
	case CM_OP_VM_DELETE: return op_vm_delete(&c);
	case CM_OP_VM_OFFLINE: return op_vm_offline(&c);
	case CM_OP_VM_MIGRATE: return op_vm_migrate(&c);
	case CM_OP_VM_CANCEL: return op_vm_cancel(&c);
	case CM_OP_VM_SNAPSHOT: return op_vm_snapshot(&c);
	case CM_OP_VM_JOB_DONE: return op_job_done(&c);
	case CM_OP_VM_PROGRESS: return op_progress(&c);
	case CM_OP_NODE_FACTS: return op_facts(&c);
	case CM_OP_VM_XML: return op_vm_xml(&c);
	default: return refuse(&c, -CM_E_UNKNOWN_CMD, "unknown vm write%s", "");
	}
}

/* ---- after each step: jobs follow what the policy did ---- */

static int mig_result(struct cd_db *db, const struct cm_msg *w)
{
	const char *vm = cm_msg_str(w, 0), *text = cm_msg_str(w, 1);
	bool ok = cm_msg_int(w, 3, 0) != 0;
	int64_t id;
	char b[4][32];

	const struct res_model *m = cd_db_model(db);
	int ri = m && vm ? res_resource_find(m, vm) : -1;

	if (!vm || running_job(db, vm, "'live','quick'", &id) < 0)
		return 0;
	/* a result the policy core did not take (stale) ends nothing */
	if (ri < 0 || m->groups[m->res[ri].group].mig_running)
		return 0;
	snprintf(b[0], sizeof(b[0]), "%lld", (long long)cm_msg_int(w, 4, 0));
	snprintf(b[1], sizeof(b[1]), "%lld", (long long)cm_msg_int(w, 5, -1));
	snprintf(b[2], sizeof(b[2]), "%lld", (long long)cm_msg_int(w, 6, 0));
	snprintf(b[3], sizeof(b[3]), "%lld", (long long)cm_msg_int(w, 7, 0));
	{
		char ids[32];
		const char *bp[] = { b[0], b[1], b[2], b[3], ids };

		snprintf(ids, sizeof(ids), "%lld", (long long)id);
		if (cd_db_exec(db, "UPDATE vm_jobs SET total_ms = ?, downtime_ms = ?, data_total = ?,"
			       " data_processed = ?, data_remaining = 0 WHERE id = ?", 5, bp) < 0)
			return -CM_E_DB;
	}
	return job_end(db, id, ok ? "done" : (text && strstr(text, "cancel") ? "cancelled" : "failed"),
		       text ? text : "", w->time_ms);
}

/* A fresh job id for a job the policy starts (drain, failback): the same on
 * every replica. Administrators' ids are their node's clock * 256 + node. */
static int64_t next_id(struct cd_db *db)
{
	sqlite3_stmt *st = NULL;
	int64_t id = 1;

	if (sqlite3_prepare_v2(db->h, "SELECT COALESCE(MAX(id), 0) + 1 FROM vm_jobs", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/* The driver (vm) of a migration action, and its group's job. */
static int plan_jobs(struct cd_db *db, const struct res_model *m, const struct cm_msg *w)
{
	size_t i;

	for (i = 0; i < db->plan.nactions; i++) {
		const struct res_action *a = &db->plan.actions[i];
		const char *vm;
		int64_t id;

		if (a->op != RES_OP_MIGRATE)
			continue;
		vm = m->res[a->res].name;
		if (running_job(db, vm, "'live','quick'", &id) == 0) {
			char ids[32];
			const char *b[] = { node_name_of(m, a->node), node_name_of(m, a->target),
					    res_mig_mode_to_str(a->mode), ids };

			snprintf(ids, sizeof(ids), "%lld", (long long)id);
			if (cd_db_exec(db, "UPDATE vm_jobs SET from_node = ?, to_node = ?, kind = ? WHERE id = ?",
				       4, b) < 0)
				return -CM_E_DB;
			continue;
		}
		{
			struct vctx c = { db, w, "", NULL, 0 };

			if (job_insert(&c, next_id(db), vm,
				       res_mig_mode_to_str(a->mode), node_name_of(m, a->node),
				       node_name_of(m, a->target), "", "policy") < 0)
				return -CM_E_DB;
		}
	}
	return 0;
}

/* Running migration and move jobs whose group has settled. */
static int settle_jobs(struct cd_db *db, const struct res_model *m, const struct cm_msg *w)
{
	sqlite3_stmt *st = NULL;
	struct { int64_t id; char vm[CM_NAME_MAX], kind[16], to[CM_NAME_MAX]; } jobs[32];
	int n = 0, k, rc = 0;

	if (sqlite3_prepare_v2(db->h, "SELECT id, vm, kind, to_node FROM vm_jobs WHERE state = 'running'"
			       " AND kind IN ('live', 'quick', 'move') ORDER BY id LIMIT 32", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	while (sqlite3_step(st) == SQLITE_ROW && n < 32) {
		jobs[n].id = sqlite3_column_int64(st, 0);
		cm_strlcpy(jobs[n].vm, (const char *)sqlite3_column_text(st, 1), sizeof(jobs[n].vm));
		cm_strlcpy(jobs[n].kind, (const char *)sqlite3_column_text(st, 2), sizeof(jobs[n].kind));
		cm_strlcpy(jobs[n].to, (const char *)sqlite3_column_text(st, 3), sizeof(jobs[n].to));
		n++;
	}
	sqlite3_finalize(st);
	for (k = 0; k < n && rc == 0; k++) {
		int ri = res_resource_find(m, jobs[k].vm), gi;
		const struct res_group *g;
		uint32_t a;

		if (ri < 0) {
			rc = job_end(db, jobs[k].id, "failed", "the virtual machine was deleted", w->time_ms);
			continue;
		}
		gi = m->res[ri].group;
		g = &m->groups[gi];
		a = res_group_active_node(m, gi);
		if (strcmp(jobs[k].kind, "move") != 0) {
			if (g->mig_running || g->mig_mode != RES_MIG_NONE)
				continue;
			if (g->moving) { /* it cannot migrate: the policy moves it */
				const char *b[] = { "move", jobs[k].vm };

				rc = cd_db_exec(db, "UPDATE vm_jobs SET kind = ? WHERE vm = ? AND state = 'running'"
						" AND kind IN ('live', 'quick')", 2, b);
				continue;
			}
			rc = job_end(db, jobs[k].id, "failed", g->reason, w->time_ms);
			continue;
		}
		if (g->failed || !g->want_online) {
			rc = job_end(db, jobs[k].id, "failed", g->reason, w->time_ms);
		} else if (!g->moving && a != RES_NODE_ANY && res_group_state(m, gi) == RES_G_ONLINE &&
			   (!jobs[k].to[0] || strcmp(node_name_of(m, a), jobs[k].to) == 0)) {
			char to[80];
			const char *b[] = { node_name_of(m, a), jobs[k].vm };

			snprintf(to, sizeof(to), "online on '%s'", node_name_of(m, a));
			rc = cd_db_exec(db, "UPDATE vm_jobs SET to_node = ? WHERE vm = ? AND state = 'running'", 2, b);
			if (rc == 0)
				rc = job_end(db, jobs[k].id, "done", to, w->time_ms);
		}
	}
	return rc;
}

int cd_db_vm_after_step(struct cd_db *db, const struct cm_msg *w)
{
	const struct res_model *m = cd_db_model(db);
	int rc = 0;

	if (m == NULL)
		return -CM_E_DB;
	if (cm_msg_int(w, 0, -1) == CM_OP_RES_RESULT && cm_msg_int(w, 2, 0) == RES_OP_MIGRATE)
		rc = mig_result(db, w);
	if (rc == 0)
		rc = plan_jobs(db, m, w);
	if (rc == 0)
		rc = settle_jobs(db, m, w);
	if (rc == 0 && cm_msg_int(w, 0, -1) == CM_OP_RES_RESULT && cm_msg_int(w, 2, 0) == RES_OP_OFFLINE) {
		/* a one-shot stop mode is used up once its vm is offline */
		const char *b[] = { cm_msg_str(w, 0) ? cm_msg_str(w, 0) : "" };

		rc = cd_db_exec(db, "DELETE FROM vm_once WHERE vm = ? AND vm IN (SELECT name FROM res_rt"
				" WHERE state IN ('Offline', 'Failed'))", 1, b);
	}
	return rc;
}

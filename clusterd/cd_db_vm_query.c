/* cd_db_vm_query.c - what the replica says about virtual machines: JSON for
 * cluadmin (cli/cli_vm.c documents the shapes) and the rows the engine
 * needs (domain XML, one-shot stop modes, running jobs, snapshots, facts). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_str.h"
#include "cd_db_int.h"
#include "res_vmxml.h"

static const char *ctext(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

static char *one_text(struct cd_db *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = NULL;
	char *out = NULL;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		out = strdup(ctext(st, 0));
	sqlite3_finalize(st);
	return out;
}

char *cd_db_vm_xml(struct cd_db *db, const char *cfg_res)
{
	return one_text(db, "SELECT xml FROM vm_xml WHERE res = ?", cfg_res, NULL);
}

char *cd_db_vm_once(struct cd_db *db, const char *vm)
{
	return one_text(db, "SELECT offline_action FROM vm_once WHERE vm = ?", vm, NULL);
}

char *cd_db_vm_snap_xml(struct cd_db *db, const char *vm, const char *snap)
{
	return one_text(db, "SELECT xml FROM vm_snaps WHERE vm = ? AND name = ?", vm, snap);
}

char *cd_db_node_networks(struct cd_db *db, const char *node)
{
	return one_text(db, "SELECT networks || '\n' || bridges FROM node_facts WHERE node = ?", node, NULL);
}

int cd_db_vm_jobs_running(struct cd_db *db, struct cd_db_job *jobs, size_t max, size_t *n)
{
	sqlite3_stmt *st = NULL;

	*n = 0;
	if (sqlite3_prepare_v2(db->h, "SELECT id, vm, kind, snap, arg FROM vm_jobs WHERE state = 'running'"
			       " ORDER BY id", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	while (*n < max && sqlite3_step(st) == SQLITE_ROW) {
		struct cd_db_job *j = &jobs[(*n)++];

		j->id = sqlite3_column_int64(st, 0);
		cm_strlcpy(j->vm, ctext(st, 1), sizeof(j->vm));
		cm_strlcpy(j->kind, ctext(st, 2), sizeof(j->kind));
		cm_strlcpy(j->snap, ctext(st, 3), sizeof(j->snap));
		cm_strlcpy(j->arg, ctext(st, 4), sizeof(j->arg));
	}
	sqlite3_finalize(st);
	return 0;
}

/* ---- JSON ---- */

static void job_fields(sqlite3_stmt *st, struct cm_jw *w)
{
	cm_jw_kv_int(w, "id", sqlite3_column_int64(st, 0));
	cm_jw_kv_str(w, "vm", ctext(st, 1));
	cm_jw_kv_str(w, "kind", ctext(st, 2));
	cm_jw_kv_str(w, "state", ctext(st, 3));
	cm_jw_kv_str(w, "from", ctext(st, 4));
	cm_jw_kv_str(w, "to", ctext(st, 5));
	cm_jw_kv_int(w, "started_ms", sqlite3_column_int64(st, 6));
	cm_jw_kv_int(w, "ended_ms", sqlite3_column_int64(st, 7));
	cm_jw_kv_int(w, "total_ms", sqlite3_column_int64(st, 8));
	cm_jw_kv_int(w, "downtime_ms", sqlite3_column_int64(st, 9));
	cm_jw_kv_int(w, "data_total", sqlite3_column_int64(st, 10));
	cm_jw_kv_int(w, "data_processed", sqlite3_column_int64(st, 11));
	cm_jw_kv_int(w, "data_remaining", sqlite3_column_int64(st, 12));
	cm_jw_kv_str(w, "text", ctext(st, 13));
	cm_jw_kv_str(w, "snapshot", ctext(st, 14));
}

#define JOB_COLS "id, vm, kind, state, from_node, to_node, started_ms, ended_ms, total_ms, downtime_ms," \
	" data_total, data_processed, data_remaining, text, snap"

int cd_db_vm_job_json(struct cd_db *db, int64_t id, struct cm_jw *w, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc = -CM_E_NO_OBJECT;

	if (sqlite3_prepare_v2(db->h, "SELECT " JOB_COLS " FROM vm_jobs WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		job_fields(st, w);
		rc = 0;
	} else {
		snprintf(err, errlen, "no job %lld", (long long)id);
	}
	sqlite3_finalize(st);
	return rc;
}

/* The VM's latest job as "job": {...} or null. */
static void last_job(struct cd_db *db, const char *vm, struct cm_jw *w)
{
	sqlite3_stmt *st = NULL;

	cm_jw_key(w, "job");
	if (sqlite3_prepare_v2(db->h, "SELECT " JOB_COLS " FROM vm_jobs WHERE vm = ? ORDER BY started_ms DESC, id DESC"
			       " LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
		cm_jw_null(w);
		return;
	}
	sqlite3_bind_text(st, 1, vm, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		cm_jw_obj_begin(w);
		job_fields(st, w);
		cm_jw_obj_end(w);
	} else {
		cm_jw_null(w);
	}
	sqlite3_finalize(st);
}

static const char *node_name(const struct res_model *m, uint32_t id)
{
	int n = res_node_find(m, id);

	return n >= 0 ? m->nodes[n].name : "";
}

static struct res_vmxml *parsed(struct cd_db *db, const char *vm)
{
	char cfg[CM_NAME_MAX + 16], err[256];
	struct res_vmxml *x = NULL;
	char *xml;

	snprintf(cfg, sizeof(cfg), "%s-config", vm);
	xml = cd_db_vm_xml(db, cfg);
	if (xml && res_vmxml_parse(xml, strlen(xml), &x, err, sizeof(err)) < 0)
		x = NULL;
	free(xml);
	return x;
}

/* The vm resource's state, or Failed when it cannot start because another
 * resource of its group failed (its vm-config could not be defined). */
static const char *vm_state(const struct res_model *m, int ri)
{
	const struct res_resource *r = &m->res[ri];
	const struct res_group *g = &m->groups[r->group];
	int k;

	if (r->state == RES_S_OFFLINE && g->want_online)
		for (k = 0; k < g->nres; k++)
			if (m->res[g->res[k]].state == RES_S_FAILED && !m->res[g->res[k]].restart_wanted)
				return res_state_to_str(RES_S_FAILED);
	return res_state_to_str(r->state);
}

static void vm_summary(struct cd_db *db, const struct res_model *m, int ri, const struct res_vmxml *x,
		       struct cm_jw *w)
{
	const struct res_resource *r = &m->res[ri];
	const struct res_group *g = &m->groups[r->group];

	cm_jw_kv_str(w, "name", r->name);
	cm_jw_kv_str(w, "group", g->name);
	cm_jw_kv_str(w, "state", g->mig_running ? "Migrating" : vm_state(m, ri));
	cm_jw_kv_str(w, "owner", node_name(m, g->owner));
	cm_jw_kv_str(w, "node", r->state == RES_S_OFFLINE ? "" : node_name(m, r->node));
	cm_jw_kv_int(w, "memory_mb", x ? (int64_t)x->memory_mib : 0);
	cm_jw_kv_int(w, "vcpus", x ? x->vcpus : 0);
	{
		int k;
		const char *why = r->reason;

		for (k = 0; k < g->nres; k++)
			if (m->res[g->res[k]].state == RES_S_FAILED)
				why = m->res[g->res[k]].reason;
		cm_jw_kv_str(w, "reason", why);
	}
	last_job(db, r->name, w);
}

int cd_db_vm_list_json(struct cd_db *db, struct cm_jw *w)
{
	const struct res_model *m = cd_db_model(db);
	size_t i;

	if (m == NULL)
		return -CM_E_DB;
	cm_jw_key(w, "vms");
	cm_jw_arr_begin(w);
	for (i = 0; i < m->nres; i++) {
		struct res_vmxml *x;

		if (strcmp(m->res[i].type, "vm") != 0)
			continue;
		x = parsed(db, m->res[i].name);
		cm_jw_obj_begin(w);
		vm_summary(db, m, (int)i, x, w);
		cm_jw_obj_end(w);
		res_vmxml_free(x);
	}
	cm_jw_arr_end(w);
	return 0;
}

static const char *disk_type(enum res_vmxml_disktype t)
{
	switch (t) {
	case RES_DISK_FILE: return "file";
	case RES_DISK_BLOCK: return "block";
	case RES_DISK_NETWORK: return "network";
	default: return "volume";
	}
}

static void vm_details(const struct res_vmxml *x, struct cm_jw *w)
{
	struct res_vmxml_net nets[RES_VMXML_MAX_IFACES];
	size_t i, n;

	cm_jw_kv_str(w, "domain_type", x->type == RES_VMXML_KVM ? "kvm" : "qemu");
	cm_jw_key(w, "disks");
	cm_jw_arr_begin(w);
	for (i = 0; i < x->n_disks; i++) {
		const struct res_vmxml_disk *d = &x->disks[i];

		cm_jw_obj_begin(w);
		cm_jw_kv_str(w, "target", d->target);
		cm_jw_kv_str(w, "type", disk_type(d->type));
		cm_jw_kv_str(w, "source", d->path ? d->path : d->name ? d->name : d->volume ? d->volume : "");
		if (d->type == RES_DISK_VOLUME && d->pool)
			cm_jw_kv_str(w, "pool", d->pool);
		if (d->type == RES_DISK_NETWORK && d->protocol) {
			cm_jw_kv_str(w, "protocol", d->protocol);
			if (!strcmp(d->protocol, "iscsi") && d->name && d->n_hosts > 0) {
				char url[600];

				snprintf(url, sizeof(url), "iscsi://%s:%u/%s", d->hosts[0].name,
					 d->hosts[0].port ? d->hosts[0].port : 3260, d->name);
				cm_jw_kv_str(w, "url", url);
			}
		}
		if (d->device == RES_DISK_DEV_CDROM)
			cm_jw_kv_bool(w, "cdrom", true);
		cm_jw_obj_end(w);
	}
	cm_jw_arr_end(w);
	n = res_vmxml_networks(x, nets, RES_VMXML_MAX_IFACES);
	cm_jw_key(w, "networks");
	cm_jw_arr_begin(w);
	for (i = 0; i < n; i++)
		cm_jw_str(w, nets[i].name);
	cm_jw_arr_end(w);
	cm_jw_key(w, "interfaces");          /* the same, with what each name is */
	cm_jw_arr_begin(w);
	for (i = 0; i < n; i++) {
		cm_jw_obj_begin(w);
		cm_jw_kv_str(w, "type", nets[i].type == RES_IF_NETWORK ? "network" : "bridge");
		cm_jw_kv_str(w, "name", nets[i].name);
		cm_jw_obj_end(w);
	}
	cm_jw_arr_end(w);
}

int cd_db_vm_show_json(struct cd_db *db, const char *vm, struct cm_jw *w, char *err, size_t errlen)
{
	const struct res_model *m = cd_db_model(db);
	const struct res_group *g;
	struct res_vmxml *x;
	char cfg[CM_NAME_MAX + 16], *s;
	int ri, k;

	if (m == NULL)
		return -CM_E_DB;
	ri = res_resource_find(m, vm);
	if (ri < 0 || strcmp(m->res[ri].type, "vm") != 0) {
		snprintf(err, errlen, "virtual machine '%s' does not exist", vm);
		return -CM_E_NO_OBJECT;
	}
	g = &m->groups[m->res[ri].group];
	x = parsed(db, vm);
	vm_summary(db, m, ri, x, w);
	if (x)
		vm_details(x, w);
	res_vmxml_free(x);
	cm_jw_key(w, "preferred_owners");
	cm_jw_arr_begin(w);
	for (k = 0; k < g->npreferred; k++)
		cm_jw_str(w, node_name(m, g->preferred[k]));
	cm_jw_arr_end(w);
	/* the nodes every resource of the group may run on; [] = every node */
	cm_jw_key(w, "possible_owners");
	cm_jw_arr_begin(w);
	{
		bool limited = false;
		size_t ni;

		for (k = 0; k < g->nres; k++)
			limited = limited || m->res[g->res[k]].npossible > 0;
		for (ni = 0; limited && ni < m->nnodes; ni++) {
			bool all = true;

			for (k = 0; k < g->nres && all; k++) {
				const struct res_resource *r = &m->res[g->res[k]];
				int j;

				if (r->npossible == 0)
					continue;
				all = false;
				for (j = 0; j < r->npossible; j++)
					all = all || r->possible[j] == m->nodes[ni].id;
			}
			if (all)
				cm_jw_str(w, m->nodes[ni].name);
		}
	}
	cm_jw_arr_end(w);
	cm_jw_key(w, "resources");
	cm_jw_arr_begin(w);
	for (k = 0; k < g->nres; k++) {
		const struct res_resource *r = &m->res[g->res[k]];

		cm_jw_obj_begin(w);
		cm_jw_kv_str(w, "name", r->name);
		cm_jw_kv_str(w, "type", r->type);
		cm_jw_kv_str(w, "state", res_state_to_str(r->state));
		cm_jw_kv_str(w, "node", r->state == RES_S_OFFLINE ? "" : node_name(m, r->node));
		cm_jw_kv_str(w, "reason", r->reason);
		cm_jw_obj_end(w);
	}
	cm_jw_arr_end(w);
	cm_jw_kv_str(w, "group_reason", g->reason);
	{
		char act[32];

		if (cd_db_prop_get(db, CM_OBJ_RESOURCE, vm, "offline_action", act, sizeof(act), NULL) < 0)
			cm_strlcpy(act, "shutdown", sizeof(act));
		cm_jw_kv_str(w, "offline_action", act);
	}
	s = one_text(db, "SELECT COUNT(*) FROM vm_snaps WHERE vm = ?", vm, NULL);
	cm_jw_kv_int(w, "snapshots", s ? atoll(s) : 0);
	free(s);
	s = one_text(db, "SELECT snap FROM vm_current WHERE vm = ?", vm, NULL);
	cm_jw_key(w, "current_snapshot");
	if (s && s[0])
		cm_jw_str(w, s);
	else
		cm_jw_null(w);
	free(s);
	snprintf(cfg, sizeof(cfg), "%s-config", vm);
	s = cd_db_vm_xml(db, cfg);
	cm_jw_kv_str(w, "xml", s ? s : "");
	free(s);
	return 0;
}

int cd_db_vm_snaps_json(struct cd_db *db, const char *vm, struct cm_jw *w, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	char *cur;

	if (!cd_db_vm_exists(db, vm)) {
		snprintf(err, errlen, "virtual machine '%s' does not exist", vm);
		return -CM_E_NO_OBJECT;
	}
	cm_jw_kv_str(w, "vm", vm);
	cur = one_text(db, "SELECT snap FROM vm_current WHERE vm = ?", vm, NULL);
	cm_jw_key(w, "current");
	if (cur && cur[0])
		cm_jw_str(w, cur);
	else
		cm_jw_null(w);
	free(cur);
	cm_jw_key(w, "snapshots");
	cm_jw_arr_begin(w);
	if (sqlite3_prepare_v2(db->h, "SELECT name, parent, created_ms, vm_state FROM vm_snaps WHERE vm = ?"
			       " ORDER BY created_ms, name", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, vm, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW) {
			cm_jw_obj_begin(w);
			cm_jw_kv_str(w, "name", ctext(st, 0));
			cm_jw_key(w, "parent");
			if (ctext(st, 1)[0])
				cm_jw_str(w, ctext(st, 1));
			else
				cm_jw_null(w);
			cm_jw_kv_int(w, "created_ms", sqlite3_column_int64(st, 2));
			cm_jw_kv_str(w, "vm_state", ctext(st, 3));
			cm_jw_obj_end(w);
		}
		sqlite3_finalize(st);
	}
	cm_jw_arr_end(w);
	return 0;
}

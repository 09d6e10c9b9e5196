/* cd_db_res_query.c - groups, resources and node runtime state as JSON for
 * cluadmin (formats documented in cli/cli_res.c). Read-only. */
#include <stdio.h>
#include <string.h>

#include "cm_err.h"
#include "cd_db_int.h"

static const char *node_name(const struct res_model *m, uint32_t id)
{
	int n = id ? res_node_find(m, id) : -1;

	return n >= 0 ? m->nodes[n].name : "";
}

static void names_of(const struct res_model *m, const uint32_t *ids, int n, struct cm_jw *w)
{
	int i;

	cm_jw_arr_begin(w);
	for (i = 0; i < n; i++)
		cm_jw_str(w, node_name(m, ids[i]));
	cm_jw_arr_end(w);
}

static void group_summary(const struct res_model *m, int gi, struct cm_jw *w, bool count)
{
	const struct res_group *g = &m->groups[gi];
	uint32_t on = res_group_active_node(m, gi);

	cm_jw_kv_str(w, "name", g->name);
	cm_jw_kv_str(w, "state", res_gstate_to_str(res_group_state(m, gi)));
	cm_jw_kv_str(w, "owner", node_name(m, on ? on : g->owner));
	cm_jw_kv_str(w, "priority", res_prio_to_str(g->prio));
	cm_jw_key(w, "preferred_owners");
	names_of(m, g->preferred, g->npreferred, w);
	if (count)
		cm_jw_kv_int(w, "resources", g->nres);
	cm_jw_kv_str(w, "reason", g->reason);
	cm_jw_kv_bool(w, "failed", g->failed);
	cm_jw_kv_bool(w, "moving", g->moving);
}

int cd_db_groups_json(struct cd_db *db, struct cm_jw *w)
{
	const struct res_model *m = cd_db_model(db);
	size_t i;

	if (m == NULL)
		return -CM_E_DB;
	cm_jw_key(w, "groups");
	cm_jw_arr_begin(w);
	for (i = 0; i < m->ngroups; i++) {
		cm_jw_obj_begin(w);
		group_summary(m, (int)i, w, true);
		cm_jw_obj_end(w);
	}
	cm_jw_arr_end(w);
	return 0;
}

/* The fields of a resource in every listing. */
static void res_summary(const struct res_model *m, const struct res_resource *r, struct cm_jw *w)
{
	cm_jw_kv_str(w, "name", r->name);
	cm_jw_kv_str(w, "group", m->groups[r->group].name);
	cm_jw_kv_str(w, "type", r->type);
	cm_jw_kv_str(w, "state", res_state_to_str(r->state));
	cm_jw_kv_str(w, "node", node_name(m, r->node));
	cm_jw_kv_str(w, "reason", r->reason);
}

static void res_fields(const struct res_model *m, int ri, struct cm_jw *w)
{
	const struct res_resource *r = &m->res[ri];
	int k;

	res_summary(m, r, w);
	cm_jw_key(w, "depends_on");
	cm_jw_arr_begin(w);
	for (k = 0; k < r->ndeps; k++)
		cm_jw_str(w, m->res[r->deps[k]].name);
	cm_jw_arr_end(w);
	cm_jw_kv_str(w, "dependency_type", r->dep_or ? "or" : "and");
}

int cd_db_group_json(struct cd_db *db, const char *name, struct cm_jw *w, char *err, size_t errlen)
{
	const struct res_model *m = cd_db_model(db);
	const struct res_group *g;
	int gi, k;

	if (m == NULL)
		return -CM_E_DB;
	if ((gi = res_group_find(m, name)) < 0) {
		snprintf(err, errlen, "group '%s' does not exist", name);
		return -CM_E_NO_OBJECT;
	}
	g = &m->groups[gi];
	group_summary(m, gi, w, false);
	cm_jw_kv_bool(w, "want_online", g->want_online);
	cm_jw_kv_str(w, "failback", res_failback_to_str(g->failback));
	cm_jw_kv_int(w, "failovers", g->nfailovers);
	cm_jw_key(w, "resources");
	cm_jw_arr_begin(w);
	for (k = 0; k < g->nres; k++) {
		cm_jw_obj_begin(w);
		res_fields(m, g->res[k], w);
		cm_jw_obj_end(w);
	}
	cm_jw_arr_end(w);
	cm_jw_key(w, "properties");
	return cd_db_props_json(db, CM_OBJ_GROUP, name, w);
}

int cd_db_resources_json(struct cd_db *db, const char *group, struct cm_jw *w, char *err, size_t errlen)
{
	const struct res_model *m = cd_db_model(db);
	size_t i;

	if (m == NULL)
		return -CM_E_DB;
	if (group && group[0] && res_group_find(m, group) < 0) {
		snprintf(err, errlen, "group '%s' does not exist", group);
		return -CM_E_NO_OBJECT;
	}
	cm_jw_key(w, "resources");
	cm_jw_arr_begin(w);
	for (i = 0; i < m->nres; i++) {
		const struct res_resource *r = &m->res[i];

		if (group && group[0] && strcmp(m->groups[r->group].name, group) != 0)
			continue;
		cm_jw_obj_begin(w);
		res_summary(m, r, w);
		cm_jw_obj_end(w);
	}
	cm_jw_arr_end(w);
	return 0;
}

int cd_db_resource_json(struct cd_db *db, const char *name, struct cm_jw *w, char *err, size_t errlen)
{
	const struct res_model *m = cd_db_model(db);
	int ri;

	if (m == NULL)
		return -CM_E_DB;
	if ((ri = res_resource_find(m, name)) < 0) {
		snprintf(err, errlen, "resource '%s' does not exist", name);
		return -CM_E_NO_OBJECT;
	}
	res_fields(m, ri, w);
	cm_jw_kv_int(w, "gen", (int64_t)m->res[ri].gen);
	cm_jw_kv_int(w, "restarts", m->res[ri].nrestarts);
	cm_jw_key(w, "properties");
	return cd_db_props_json(db, CM_OBJ_RESOURCE, name, w);
}

int cd_db_node_rt_json(struct cd_db *db, uint32_t id, struct cm_jw *w)
{
	const struct res_model *m = cd_db_model(db);
	size_t i;
	int n;

	if (m == NULL)
		return -CM_E_DB;
	n = res_node_find(m, id);
	cm_jw_kv_bool(w, "draining", n >= 0 && m->nodes[n].draining);
	cm_jw_kv_str(w, "fence_state", n >= 0 ? res_fence_to_str(m->nodes[n].fence) : "none");
	cm_jw_key(w, "groups");
	cm_jw_arr_begin(w);
	for (i = 0; i < m->ngroups; i++)
		if (res_group_active_node(m, (int)i) == id)
			cm_jw_str(w, m->groups[i].name);
	cm_jw_arr_end(w);
	return 0;
}

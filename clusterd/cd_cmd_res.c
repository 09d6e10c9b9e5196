/* cd_cmd_res.c - cluadmin's group, resource, drain and confirm-down
 * commands: queries from the local replica's model, writes through the
 * replicated stream (validated again, identically, where they are applied:
 * clusterd/cd_db_res_apply.c). */
#include <stdio.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cd_cmd_int.h"
#include "res_core.h"

static int need_name(struct req *r, const char *what, unsigned i)
{
	char err[ERRLEN];
	const char *name = cd_req_arg(r, i);

	if (name == NULL)
		return cd_req_err(r, -CM_E_ARGS, "a %s name is needed", what);
	if (cm_name_check(what, name, err, sizeof(err)) < 0)
		return cd_req_err(r, -CM_E_NAME, "%s", err);
	return 0;
}

int cd_req_need_res_object(struct req *r, int kind, const char *obj)
{
	const struct res_model *m = cd_db_model(r->cd->db);

	if (m == NULL)
		return cd_req_err(r, -CM_E_DB, "cannot read the groups and resources of the cluster database");
	if ((kind == CM_OBJ_GROUP && res_group_find(m, obj) >= 0) ||
	    (kind == CM_OBJ_RESOURCE && res_resource_find(m, obj) >= 0))
		return 0;
	return cd_req_err(r, -CM_E_NO_OBJECT, "%s '%s' does not exist", cm_obj_kind_to_str(kind), obj);
}

/* A write of op with the request's first n arguments, then the actor. */
static void write_args(struct req *r, int op, unsigned n)
{
	struct cm_msg w;
	unsigned i;

	if (cd_req_can_write(r) < 0)
		return;
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, op);
	for (i = 0; i < n; i++) {
		const char *a = cd_req_arg(r, i);

		cm_msg_add_str(&w, a ? a : "");
	}
	cm_msg_add_str(&w, r->cl->user);
	cd_req_submit(r, &w);
}

static void query(struct req *r, int rc, const char *err)
{
	if (rc < 0) {
		cd_req_err(r, rc, "%s", err[0] ? err : cm_strerror(rc));
		return;
	}
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

/* The move target must be able to take the group: say why not, now. */
static int check_target(struct req *r, const char *group, const char *node)
{
	const struct res_model *m = cd_db_model(r->cd->db);
	char err[ERRLEN];
	int gi, rc;

	if (m == NULL)
		return cd_req_err(r, -CM_E_DB, "cannot read the cluster database");
	if ((gi = res_group_find(m, group)) < 0)
		return cd_req_err(r, -CM_E_NO_OBJECT, "group '%s' does not exist", group);
	if (node == NULL || node[0] == '\0')
		return 0;
	if ((rc = res_move_check(m, gi, node, err, sizeof(err))) < 0)
		return cd_req_err(r, rc, "%s", err);
	return 0;
}

void cd_cmd_res(struct req *r, int64_t cmd)
{
	char err[ERRLEN] = "";
	const char *a0 = cd_req_arg(r, 0);

	switch (cmd) {
	case CM_CMD_GROUP_CREATE:
		if (need_name(r, "group", 0) == 0)
			write_args(r, CM_OP_GROUP_CREATE, 1);
		return;
	case CM_CMD_GROUP_DELETE:
		if (need_name(r, "group", 0) == 0)
			write_args(r, CM_OP_GROUP_DELETE, 1);
		return;
	case CM_CMD_GROUP_ONLINE:
	case CM_CMD_GROUP_OFFLINE:
		if (need_name(r, "group", 0) == 0)
			write_args(r, cmd == CM_CMD_GROUP_ONLINE ? CM_OP_GROUP_ONLINE : CM_OP_GROUP_OFFLINE, 1);
		return;
	case CM_CMD_GROUP_MOVE:
		if (need_name(r, "group", 0) == 0 && check_target(r, a0, cd_req_arg(r, 1)) == 0)
			write_args(r, CM_OP_GROUP_MOVE, 2);
		return;
	case CM_CMD_GROUP_LIST:
		cm_jw_obj_begin(&r->w);
		query(r, cd_db_groups_json(r->cd->db, &r->w), err);
		return;
	case CM_CMD_GROUP_SHOW:
		if (need_name(r, "group", 0) < 0)
			return;
		cm_jw_obj_begin(&r->w);
		query(r, cd_db_group_json(r->cd->db, a0, &r->w, err, sizeof(err)), err);
		return;
	case CM_CMD_RES_CREATE:
		if (need_name(r, "resource", 0) == 0 && need_name(r, "group", 1) == 0)
			write_args(r, CM_OP_RES_CREATE, 4);
		return;
	case CM_CMD_RES_DELETE:
		if (need_name(r, "resource", 0) == 0)
			write_args(r, CM_OP_RES_DELETE, 1);
		return;
	case CM_CMD_RES_LIST:
		cm_jw_obj_begin(&r->w);
		query(r, cd_db_resources_json(r->cd->db, a0, &r->w, err, sizeof(err)), err);
		return;
	case CM_CMD_RES_SHOW:
		if (need_name(r, "resource", 0) < 0)
			return;
		cm_jw_obj_begin(&r->w);
		query(r, cd_db_resource_json(r->cd->db, a0, &r->w, err, sizeof(err)), err);
		return;
	case CM_CMD_DEP_ADD:
	case CM_CMD_DEP_REMOVE:
		if (need_name(r, "resource", 0) == 0 && need_name(r, "resource", 1) == 0)
			write_args(r, cmd == CM_CMD_DEP_ADD ? CM_OP_DEP_ADD : CM_OP_DEP_REMOVE, 2);
		return;
	case CM_CMD_NODE_DRAIN:
	case CM_CMD_NODE_CONFIRM_DOWN:
		if (need_name(r, "node", 0) == 0)
			write_args(r, cmd == CM_CMD_NODE_DRAIN ? CM_OP_NODE_DRAIN : CM_OP_CONFIRM_DOWN, 1);
		return;
	default:
		cd_req_err(r, -CM_E_UNKNOWN_CMD, "unknown command");
	}
}

void cd_status_groups_json(struct req *r)
{
	const struct res_model *m = cd_db_model(r->cd->db);
	char fencing[16] = "on";
	size_t i;

	cd_db_prop_get(r->cd->db, CM_OBJ_CLUSTER, "", "fencing", fencing, sizeof(fencing), NULL);
	cm_jw_kv_str(&r->w, "fencing", fencing);
	cm_jw_key(&r->w, "fencing_pending");
	cm_jw_arr_begin(&r->w);
	for (i = 0; m && i < m->nnodes; i++)
		if (m->nodes[i].fence == RES_F_NEEDED || m->nodes[i].fence == RES_F_FENCING)
			cm_jw_str(&r->w, m->nodes[i].name);
	cm_jw_arr_end(&r->w);
	cm_jw_key(&r->w, "groups");
	cm_jw_arr_begin(&r->w);
	for (i = 0; m && i < m->ngroups; i++) {
		uint32_t on = res_group_active_node(m, (int)i);
		int ni = res_node_find(m, on ? on : m->groups[i].owner);

		cm_jw_obj_begin(&r->w);
		cm_jw_kv_str(&r->w, "name", m->groups[i].name);
		cm_jw_kv_str(&r->w, "state", res_gstate_to_str(res_group_state(m, (int)i)));
		cm_jw_kv_str(&r->w, "owner", ni >= 0 ? m->nodes[ni].name : "");
		cm_jw_obj_end(&r->w);
	}
	cm_jw_arr_end(&r->w);
}

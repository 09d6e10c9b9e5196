/* cd_cmd_csv.c - cluadmin's csv commands: create (formats the LUN first),
 * delete, list, show, locks, volume create/delete/resize (answered when
 * the coordinator has changed the LUN), and administrative locks. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cd_cmd_int.h"
#include "cd_csv.h"

static void cmd_create(struct req *r)
{
	const char *name = cd_req_arg(r, 0), *url = cd_req_arg(r, 1), *force = cd_req_arg(r, 2);
	char err[ERRLEN] = "";
	int rc;

	if (cd_req_can_write(r) < 0)
		return;
	if (!name || !name[0] || !url || !url[0]) {
		cd_req_err(r, -CM_E_ARGS, "csv create needs a name and iscsi://ADDR[:PORT]/IQN/LUN");
		return;
	}
	rc = cd_csv_create(r->cd, r->c, name, url, force && !strcmp(force, "force"), r->cl->user, err, sizeof(err));
	if (rc < 0)
		cd_req_err(r, rc, "%s", err[0] ? err : cm_strerror(rc));
}

static void cmd_delete(struct req *r)
{
	const char *name = cd_req_arg(r, 0);
	struct cd_db_csv c;
	struct cm_msg w;

	if (cd_req_can_write(r) < 0)
		return;
	if (!name || cd_db_csv_get(r->cd->db, name, &c) < 0) {
		cd_req_err(r, -CM_E_NO_OBJECT, "cluster shared volume '%s' does not exist", name ? name : "");
		return;
	}
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_DELETE);
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, r->cl->user);
	cd_req_submit(r, &w);
}

static void cmd_vol(struct req *r)
{
	const char *csv = cd_req_arg(r, 0), *op = cd_req_arg(r, 1), *vol = cd_req_arg(r, 2);
	const char *size = cd_req_arg(r, 3);
	struct cd_db_csv c;
	char err[ERRLEN];
	struct cm_msg w;
	int64_t id, sz = size ? strtoll(size, NULL, 10) : 0;
	uint64_t wid;
	int rc;

	if (cd_req_can_write(r) < 0)
		return;
	if (!csv || !op || !vol) {
		cd_req_err(r, -CM_E_ARGS, "csv volume needs a CSV, an operation and a volume name");
		return;
	}
	if (cd_db_csv_get(r->cd->db, csv, &c) < 0) {
		cd_req_err(r, -CM_E_NO_OBJECT, "cluster shared volume '%s' does not exist", csv);
		return;
	}
	if (cd_db_csv_name_check("volume", vol, CD_CSV_VOL_MAX, err, sizeof(err)) < 0) {
		cd_req_err(r, -CM_E_NAME, "%s", err);
		return;
	}
	if (strcmp(op, "create") && strcmp(op, "delete") && strcmp(op, "resize")) {
		cd_req_err(r, -CM_E_ARGS, "unknown volume operation '%s' (create, delete or resize)", op);
		return;
	}
	if (strcmp(op, "delete") && sz <= 0) {
		cd_req_err(r, -CM_E_VALUE, "a volume needs a size above 0");
		return;
	}
	if (cd_db_csv_coordinator(r->cd->db, csv) == 0) {
		cd_req_err(r, -CM_E_STATE, "cluster shared volume '%s' has no coordinator: its resource is not online"
			   " (see 'cluadmin csv show %s')", csv, csv);
		return;
	}
	id = (int64_t)cd_wall_ms() * 256 + (int64_t)(r->cd->my_id % 128) * 2 + 1;
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_VOL_REQ);
	cm_msg_add_int(&w, id);
	cm_msg_add_int(&w, sz);
	cm_msg_add_str(&w, csv);
	cm_msg_add_str(&w, op);
	cm_msg_add_str(&w, vol);
	cm_msg_add_str(&w, r->cl->user);
	rc = cd_repl_write(r->cd->repl, &w, &wid);
	if (rc == 0)
		rc = cd_csv_wait_request(r->cd, r->c, id);
	if (rc < 0)
		cd_req_err(r, rc, "cannot send the request to the cluster: %s", cm_strerror(rc));
}

static void cmd_lock(struct req *r)
{
	const char *vol = cd_req_arg(r, 0), *owner = cd_req_arg(r, 1), *mode = cd_req_arg(r, 2);
	const char *unlock = cd_req_arg(r, 3);
	char tag[CM_NAME_MAX];
	int rc;

	if (cd_req_can_write(r) < 0)
		return;
	if (!vol || !strchr(vol, '/') || !owner || !owner[0] || !mode) {
		cd_req_err(r, -CM_E_ARGS, "csv lock needs CSV/VOLUME and an owner tag");
		return;
	}
	if (strcmp(mode, "excl") && strcmp(mode, "shared")) {
		cd_req_err(r, -CM_E_VALUE, "lock mode '%s' is neither excl nor shared", mode);
		return;
	}
	/* administrators' locks carry their own prefix: a VM's locks follow the VM */
	snprintf(tag, sizeof(tag), "%s%s", CD_CSV_ADMIN_OWNER, owner);
	rc = cd_csv_admin_lock(r->cd, r->c, tag, vol, strcmp(mode, "shared") == 0, unlock && !strcmp(unlock, "unlock"));
	if (rc < 0)
		cd_req_err(r, rc, "cannot send the lock request: %s", cm_strerror(rc));
}

static void cmd_query(struct req *r, int64_t cmd)
{
	const char *a = cd_req_arg(r, 0);
	char err[ERRLEN] = "";
	int rc;

	cm_jw_obj_begin(&r->w);
	if (cmd == CM_CMD_CSV_LIST)
		rc = cd_db_csv_list_json(r->cd->db, &r->w);
	else if (cmd == CM_CMD_CSV_SHOW)
		rc = a ? cd_db_csv_show_json(r->cd->db, a, &r->w, err, sizeof(err)) : -CM_E_ARGS;
	else
		rc = cd_db_csv_locks_json(r->cd->db, a ? a : "", &r->w, err, sizeof(err));
	if (rc < 0) {
		cd_req_err(r, rc, "%s", err[0] ? err : cm_strerror(rc));
		return;
	}
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

void cd_cmd_csv(struct req *r, int64_t cmd)
{
	switch (cmd) {
	case CM_CMD_CSV_CREATE: cmd_create(r); break;
	case CM_CMD_CSV_DELETE: cmd_delete(r); break;
	case CM_CMD_CSV_VOL: cmd_vol(r); break;
	case CM_CMD_CSV_LOCK: cmd_lock(r); break;
	default: cmd_query(r, cmd); break;
	}
}

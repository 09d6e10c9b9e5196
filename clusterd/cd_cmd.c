/* cd_cmd.c - the commands cluadmin sends: queries answered from the local
 * replica as JSON, and writes turned into replicated write messages.
 *
 * Every refusal is a sentence that names the object. Writes are validated
 * here first for a quick, clear answer; the apply step validates again,
 * identically on every replica. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cm_err.h"
#include "cm_json.h"
#include "cm_proto.h"
#include "cd_daemon.h"
#include "cd_cmd_int.h"
#include "cd_log.h"
#include "quo_calc.h"
#include "wit_scsi.h"


int cd_req_err(struct req *r, int rc, const char *fmt, ...)
{
	char buf[ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cd_ipc_reply(r->c, rc, buf);
	return rc;
}

void cd_req_json(struct req *r)
{
	if (cm_sb_failed(&r->out))
		cd_ipc_reply(r->c, -ENOMEM, "clusterd ran out of memory building the answer");
	else
		cd_ipc_reply(r->c, 0, cm_sb_str(&r->out));
}

const char *cd_req_arg(struct req *r, unsigned i)
{
	return cm_msg_str(r->m, i);
}

static void cluster_name(struct cd *cd, char *buf, size_t len)
{
	struct cd_db_cluster c;

	if (cd_db_cluster_get(cd->db, &c) == 0)
		snprintf(buf, len, "%s", c.name);
	else
		snprintf(buf, len, "(none)");
}

/* ---- node states ---- */

static const struct cd_seen *seen_of(struct cd *cd, uint32_t id)
{
	size_t i;

	for (i = 0; i < cd->nseen; i++)
		if (cd->seen[i].id == id)
			return &cd->seen[i];
	return NULL;
}

static const char *node_state(struct cd *cd, uint32_t id, bool paused)
{
	enum cd_member_state ms = cd->repl ? cd_repl_member(cd->repl, id) : CD_MEMBER_NONE;

	if (id == cd->my_id && (!cd->repl || !cd_repl_ready(cd->repl)) && ms != CD_MEMBER_UP)
		return cd->connected ? "Joining" : "Down";
	switch (ms) {
	case CD_MEMBER_NONE: return "Down";
	case CD_MEMBER_JOINING: return "Joining";
	default: return paused ? "Paused" : "Up";
	}
}

static void node_json(struct req *r, const struct cd_db_node *n)
{
	const struct cd_seen *s = seen_of(r->cd, n->id);

	cm_jw_obj_begin(&r->w);
	cm_jw_kv_int(&r->w, "id", n->id);
	cm_jw_kv_str(&r->w, "name", n->name);
	cm_jw_kv_str(&r->w, "addr", n->addr);
	cm_jw_kv_str(&r->w, "state", node_state(r->cd, n->id, n->paused));
	cm_jw_kv_bool(&r->w, "member", r->cd->repl && cd_repl_member(r->cd->repl, n->id) != CD_MEMBER_NONE);
	cm_jw_kv_bool(&r->w, "paused", n->paused);
	cm_jw_kv_bool(&r->w, "local", n->id == r->cd->my_id);
	cm_jw_kv_int(&r->w, "since_ms", (int64_t)(s ? s->since_ms : r->cd->started_ms));
	cd_db_node_rt_json(r->cd->db, n->id, &r->w);
	cm_jw_obj_end(&r->w);
}

static void nodes_json(struct req *r)
{
	struct cd_db_node *nodes = NULL;
	size_t i, n = 0, k, nm = 0;
	const uint32_t *members = r->cd->repl ? cd_repl_members(r->cd->repl, &nm) : NULL;

	cd_db_nodes(r->cd->db, &nodes, &n);
	cm_jw_arr_begin(&r->w);
	for (i = 0; i < n; i++)
		node_json(r, &nodes[i]);
	/* members that the configuration does not know */
	for (k = 0; k < nm; k++) {
		struct cd_db_node x;
		bool known = false;

		for (i = 0; i < n; i++)
			known |= nodes[i].id == members[k];
		if (known)
			continue;
		memset(&x, 0, sizeof(x));
		x.id = members[k];
		snprintf(x.name, sizeof(x.name), "node%" PRIu32, members[k]);
		node_json(r, &x);
	}
	cm_jw_arr_end(&r->w);
	free(nodes);
}

static void quorum_json(struct req *r)
{
	cd_quorum_json(r->cd, &r->w);
}

static void db_json(struct req *r)
{
	int64_t epoch = 0, seq = 0;
	char hash[24];

	cd_db_version(r->cd->db, &epoch, &seq);
	snprintf(hash, sizeof(hash), "%016" PRIx64, cd_db_hash(r->cd->db));
	cm_jw_key(&r->w, "database");
	cm_jw_obj_begin(&r->w);
	cm_jw_kv_int(&r->w, "epoch", epoch);
	cm_jw_kv_int(&r->w, "seq", seq);
	cm_jw_kv_str(&r->w, "hash", hash);
	cm_jw_kv_str(&r->w, "sync", r->cd->repl && cd_repl_ready(r->cd->repl) ? "ready" : "synchronising");
	cm_jw_obj_end(&r->w);
}

static void local_json(struct req *r)
{
	struct cd_db_node *nodes = NULL;
	size_t i, n = 0;
	char name[CM_NAME_MAX + 16];

	snprintf(name, sizeof(name), "node%" PRIu32, r->cd->my_id);
	cd_db_nodes(r->cd->db, &nodes, &n);
	for (i = 0; i < n; i++)
		if (nodes[i].id == r->cd->my_id)
			snprintf(name, sizeof(name), "%s", nodes[i].name);
	free(nodes);
	cm_jw_key(&r->w, "local_node");
	cm_jw_obj_begin(&r->w);
	cm_jw_kv_int(&r->w, "id", r->cd->my_id);
	cm_jw_kv_str(&r->w, "name", name);
	cm_jw_kv_bool(&r->w, "corosync", r->cd->connected);
	cm_jw_kv_str(&r->w, "version", PACKAGE_VERSION_STR);
	cm_jw_obj_end(&r->w);
}

static void cluster_json(struct req *r)
{
	struct cd_db_cluster c;
	char v[CM_VALUE_MAX];

	cm_jw_key(&r->w, "cluster");
	cm_jw_obj_begin(&r->w);
	if (cd_db_cluster_get(r->cd->db, &c) == 0) {
		cm_jw_kv_str(&r->w, "name", c.name);
		cm_jw_kv_str(&r->w, "uuid", c.uuid);
		cm_jw_kv_int(&r->w, "created_ms", c.created_ms);
		cd_db_prop_get(r->cd->db, CM_OBJ_CLUSTER, "", "description", v, sizeof(v), NULL);
		cm_jw_kv_str(&r->w, "description", v);
		cd_db_prop_get(r->cd->db, CM_OBJ_CLUSTER, "", "fencing", v, sizeof(v), NULL);
		cm_jw_kv_str(&r->w, "fencing", v);
	}
	cm_jw_kv_int(&r->w, "token_ms", r->cd->token_ms);
	cm_jw_kv_int(&r->w, "token_coefficient_ms", r->cd->token_coefficient_ms);
	cm_jw_obj_end(&r->w);
}

static void cmd_status(struct req *r)
{
	cm_jw_obj_begin(&r->w);
	cluster_json(r);
	local_json(r);
	quorum_json(r);
	db_json(r);
	cm_jw_key(&r->w, "nodes");
	nodes_json(r);
	cd_status_groups_json(r);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

static void cmd_node_list(struct req *r)
{
	cm_jw_obj_begin(&r->w);
	cm_jw_key(&r->w, "nodes");
	nodes_json(r);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

/* Resolve a node name argument or reply with why not. */
static int need_node(struct req *r, unsigned i, struct cd_db_node *n)
{
	const char *name = cd_req_arg(r, i);
	char err[ERRLEN], cname[CM_NAME_MAX + 8];

	if (cm_name_check("node", name, err, sizeof(err)) < 0)
		return cd_req_err(r, -CM_E_NAME, "%s", err);
	if (cd_db_node_by_name(r->cd->db, name, n) < 0) {
		cluster_name(r->cd, cname, sizeof(cname));
		return cd_req_err(r, -CM_E_NO_OBJECT, "node '%s' is not a member of cluster '%s'", name, cname);
	}
	return 0;
}

static void cmd_node_show(struct req *r)
{
	struct cd_db_node n;

	if (need_node(r, 0, &n) < 0)
		return;
	cm_jw_obj_begin(&r->w);
	cm_jw_key(&r->w, "node");
	node_json(r, &n);
	cm_jw_key(&r->w, "properties");
	cd_db_props_json(r->cd->db, CM_OBJ_NODE, n.name, &r->w);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

static void cmd_cluster_show(struct req *r)
{
	cm_jw_obj_begin(&r->w);
	cluster_json(r);
	local_json(r);
	quorum_json(r);
	db_json(r);
	cm_jw_key(&r->w, "properties");
	cd_db_props_json(r->cd->db, CM_OBJ_CLUSTER, "", &r->w);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

/* Kind and object of a property command, checked. */
static int need_object(struct req *r, int *kind, const char **obj)
{
	const char *k = cd_req_arg(r, 0);
	struct cd_db_node n;

	*kind = cm_obj_kind_from_str(k);
	*obj = cd_req_arg(r, 1);
	if (*kind < 0 || *obj == NULL)
		return cd_req_err(r, -CM_E_ARGS, "unknown object kind '%s'", k ? k : "");
	if (*kind == CM_OBJ_CLUSTER) {
		*obj = "";
		return 0;
	}
	if (*kind == CM_OBJ_NODE)
		return need_node(r, 1, &n);
	return cd_req_need_res_object(r, *kind, *obj);
}

static void cmd_prop_list(struct req *r)
{
	const char *obj;
	int kind;

	if (need_object(r, &kind, &obj) < 0)
		return;
	cm_jw_obj_begin(&r->w);
	cm_jw_kv_str(&r->w, "kind", cm_obj_kind_to_str(kind));
	cm_jw_kv_str(&r->w, "object", obj);
	cm_jw_key(&r->w, "properties");
	cd_db_props_json(r->cd->db, kind, obj, &r->w);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

static void cmd_prop_get(struct req *r)
{
	const char *obj, *key = cd_req_arg(r, 2);
	char value[CM_VALUE_MAX];
	bool set;
	int kind;

	if (need_object(r, &kind, &obj) < 0)
		return;
	if (key == NULL || cd_db_prop_get(r->cd->db, kind, obj, key, value, sizeof(value), &set) < 0) {
		cd_req_err(r, -CM_E_PROP, "%s has no property '%s' (see 'cluadmin property list')",
			  cm_obj_kind_to_str(kind), key ? key : "");
		return;
	}
	cm_jw_obj_begin(&r->w);
	cm_jw_kv_str(&r->w, "name", key);
	cm_jw_kv_str(&r->w, "value", value);
	cm_jw_kv_bool(&r->w, "set", set);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

/* Common gate of every write: a ready, quorate member. */
int cd_req_can_write(struct req *r)
{
	struct cd *cd = r->cd;

	if (!cd->connected || cd->repl == NULL)
		return cd_req_err(r, -CM_E_NOT_READY, "clusterd on this node is not connected to corosync");
	if (!cd_db_has_cluster(cd->db))
		return cd_req_err(r, -CM_E_NOT_INIT,
				 "this node holds no cluster database yet (create one with 'cluadmin cluster create')");
	if (!cd_quorum_verdict(cd, NULL))
		return cd_req_err(r, -CM_E_NO_QUORUM, "cannot change the configuration: %s",
				 cd->stalled ? "this node was paused and does not trust its quorum yet"
					     : "this partition has no quorum (see 'cluadmin quorum show')");
	return 0;
}

void cd_req_submit(struct req *r, struct cm_msg *w)
{
	uint64_t id;
	int rc = cd_repl_write(r->cd->repl, w, &id);

	if (rc == 0)
		rc = cd_ipc_wait_write(r->cd, r->c, id);
	if (rc < 0)
		cd_req_err(r, rc, "cannot send the change to the cluster: %s", cm_strerror(rc));
}

static void cmd_prop_set(struct req *r, bool unset)
{
	const char *obj, *key = cd_req_arg(r, 2), *value = unset ? "" : cd_req_arg(r, 3);
	char canon[CM_VALUE_MAX], err[ERRLEN];
	struct cm_msg w;
	int kind, rc;

	if (need_object(r, &kind, &obj) < 0 || cd_req_can_write(r) < 0)
		return;
	if (key == NULL || value == NULL) {
		cd_req_err(r, -CM_E_ARGS, "a property name%s is needed", unset ? "" : " and a value");
		return;
	}
	rc = cm_prop_validate(kind, key, unset ? (cm_prop_find(kind, key) ? cm_prop_find(kind, key)->def : "")
			      : value, canon, sizeof(canon), err, sizeof(err));
	if (rc < 0) {
		cd_req_err(r, rc, "%s", err);
		return;
	}
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, unset ? CM_OP_PROP_UNSET : CM_OP_PROP_SET);
	cm_msg_add_int(&w, kind);
	cm_msg_add_str(&w, obj);
	cm_msg_add_str(&w, key);
	if (!unset)
		cm_msg_add_str(&w, canon);
	cm_msg_add_str(&w, r->cl->user);
	cd_req_submit(r, &w);
}

static void cmd_node_pause(struct req *r, bool pause)
{
	struct cd_db_node n;
	struct cm_msg w;

	if (need_node(r, 0, &n) < 0 || cd_req_can_write(r) < 0)
		return;
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_NODE_PAUSE);
	cm_msg_add_str(&w, n.name);
	cm_msg_add_str(&w, pause ? "1" : "0");
	cm_msg_add_str(&w, r->cl->user);
	cd_req_submit(r, &w);
}

static int64_t int_arg(struct req *r, unsigned i, int64_t def, int64_t min, int64_t max)
{
	const char *s = cd_req_arg(r, i);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtoll(s, &end, 10);
	if (*end || v < min || v > max)
		return def;
	return v;
}

static void cmd_log(struct req *r)
{
	int64_t after = int_arg(r, 0, 0, 0, INT64_MAX);
	int64_t since = int_arg(r, 1, 0, 0, INT64_MAX);
	int64_t limit = int_arg(r, 2, 100, 1, 100000);

	cm_jw_obj_begin(&r->w);
	cm_jw_key(&r->w, "events");
	cd_db_events_json(r->cd->db, after, since, limit, &r->w);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

static void cmd_blackbox(struct req *r)
{
	char path[PATH_MAX + 64];
	int rc = cd_log_blackbox_dump(r->cd->conf.state_dir, path, sizeof(path));

	if (rc < 0) {
		cd_req_err(r, rc, "cannot write the blackbox to '%s': %s", path, strerror(-rc));
		return;
	}
	cd_log(LOG_NOTICE, "blackbox written to '%s' at the request of %s", path, r->cl->user);
	cm_jw_obj_begin(&r->w);
	cm_jw_kv_str(&r->w, "path", path);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

static void cmd_db_info(struct req *r)
{
	cm_jw_obj_begin(&r->w);
	db_json(r);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

static void cmd_quorum_show(struct req *r)
{
	cm_jw_obj_begin(&r->w);
	quorum_json(r);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

static void cmd_quorum_set(struct req *r)
{
	const char *mode = cd_req_arg(r, 0), *url = cd_req_arg(r, 1);
	char cur[512] = "", err[ERRLEN];
	struct wit_url u;
	struct cm_msg w;

	if (mode == NULL || quo_mode_from_str(mode) < 0) {
		cd_req_err(r, -CM_E_ARGS, "unknown quorum mode '%s' (node-majority or node-and-disk-majority)",
			  mode ? mode : "");
		return;
	}
	if (url == NULL || url[0] == '\0') {
		cd_db_prop_get(r->cd->db, CM_OBJ_CLUSTER, "", "witness_url", cur, sizeof(cur), NULL);
		url = cur;
	}
	if (quo_mode_from_str(mode) == QUO_NODE_AND_DISK_MAJORITY) {
		if (url[0] == '\0') {
			cd_req_err(r, -CM_E_ARGS, "node-and-disk-majority needs a witness: --witness iscsi://ADDR[:PORT]/IQN/LUN");
			return;
		}
		if (wit_url_parse(url, &u, err, sizeof(err)) < 0) {
			cd_req_err(r, -CM_E_URL, "%s", err);
			return;
		}
	}
	if (cd_req_can_write(r) < 0)
		return;
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_QUORUM_SET);
	cm_msg_add_str(&w, mode);
	cm_msg_add_str(&w, url);
	cm_msg_add_str(&w, r->cl->user);
	cd_req_submit(r, &w);
}

static void cmd_witness_init(struct req *r)
{
	const char *url = cd_req_arg(r, 0), *force = cd_req_arg(r, 1);
	char err[ERRLEN];
	int rc;

	if (url == NULL) {
		cd_req_err(r, -CM_E_ARGS, "witness init needs iscsi://ADDR[:PORT]/IQN/LUN");
		return;
	}
	err[0] = '\0';
	rc = cd_witness_init(r->cd, r->c, url, force && !strcmp(force, "force"), err, sizeof(err));
	if (rc < 0)
		cd_req_err(r, rc, "%s", err[0] ? err : cm_strerror(rc));
}

static void cmd_ping(struct req *r)
{
	cm_jw_obj_begin(&r->w);
	local_json(r);
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

void cd_cmd_dispatch(struct cd *cd, qb_ipcs_connection_t *c, const struct cd_client *cl,
		     const struct cm_msg *m)
{
	struct req r = { cd, c, cl, m, { 0 }, { 0 } };
	int64_t cmd = cm_msg_int(m, 0, 0);
	unsigned i;

	cm_sb_init(&r.out);
	cm_jw_init(&r.w, &r.out);
	for (i = 0; i < m->nstrs; i++)
		if (cm_msg_str(m, i) == NULL) {
			cd_req_err(&r, -CM_E_ARGS, "argument %u holds a NUL byte", i + 1);
			goto out;
		}
	cd_log(LOG_DEBUG, "request %" PRId64 " from %s", cmd, cl->user);
	switch (cmd) {
	case CM_CMD_PING: cmd_ping(&r); break;
	case CM_CMD_STATUS: cmd_status(&r); break;
	case CM_CMD_NODE_LIST: cmd_node_list(&r); break;
	case CM_CMD_NODE_SHOW: cmd_node_show(&r); break;
	case CM_CMD_NODE_PAUSE: cmd_node_pause(&r, true); break;
	case CM_CMD_NODE_RESUME: cmd_node_pause(&r, false); break;
	case CM_CMD_CLUSTER_SHOW: cmd_cluster_show(&r); break;
	case CM_CMD_PROP_LIST: cmd_prop_list(&r); break;
	case CM_CMD_PROP_GET: cmd_prop_get(&r); break;
	case CM_CMD_PROP_SET: cmd_prop_set(&r, false); break;
	case CM_CMD_PROP_UNSET: cmd_prop_set(&r, true); break;
	case CM_CMD_LOG: cmd_log(&r); break;
	case CM_CMD_BLACKBOX: cmd_blackbox(&r); break;
	case CM_CMD_DB_INFO: cmd_db_info(&r); break;
	case CM_CMD_QUORUM_SHOW: cmd_quorum_show(&r); break;
	case CM_CMD_QUORUM_SET: cmd_quorum_set(&r); break;
	case CM_CMD_WITNESS_INIT: cmd_witness_init(&r); break;
	case CM_CMD_GROUP_CREATE ... CM_CMD_NODE_CONFIRM_DOWN: cd_cmd_res(&r, cmd); break;
	case CM_CMD_VM_CREATE ... CM_CMD_VM_EDIT: cd_cmd_vm(&r, cmd); break;
	case CM_CMD_CSV_CREATE ... CM_CMD_CSV_LOCK: cd_cmd_csv(&r, cmd); break;
	default:
		cd_req_err(&r, -CM_E_UNKNOWN_CMD, "unknown command %" PRId64 " (is cluadmin newer than clusterd?)", cmd);
	}
out:
	cm_sb_free(&r.out);
}

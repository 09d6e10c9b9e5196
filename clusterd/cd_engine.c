/* cd_engine.c - this node's side of every plan.
 *
 * Each applied write runs one step of the policy core on every replica
 * (clusterd/cd_db_res.c). Here the actions addressed to this node go to the
 * executor; its results and fence outcomes go back as replicated writes;
 * the lowest member sends ticks (after each view change, when a plan asks
 * for one, and every 30 s) so that time-based policies move; the inputs of
 * plans with actions are saved for `clussim --replay`. Never blocks: the
 * executor runs everything as child processes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_str.h"
#include "cd_daemon.h"
#include "cd_csv.h"
#include "cd_exec.h"
#include "cd_log.h"
#include "cd_vm.h"

#define ENGINE_TIMER_MS 500
#define TICK_EVERY_MS (30 * 1000)
#define INPUTS_KEPT 200
#define MAX_PARALLEL 8

void cd_engine_send(struct cd *cd, struct cm_msg *w, const char *what)
{
	uint64_t id;
	int rc;

	if (!cd->connected || cd->repl == NULL)
		return;
	rc = cd_repl_write(cd->repl, w, &id);
	if (rc < 0)
		cd_log(LOG_WARNING, "cannot send %s to the cluster: %s", what, cm_strerror(rc));
}

/* ---- executor callbacks ---- */

static void on_result(void *ctx, const char *res, uint64_t gen, enum res_op op, bool ok, const char *text)
{
	struct cd *cd = ctx;
	struct cm_msg w;

	cd_log(ok ? LOG_INFO : LOG_WARNING, "resource '%s': %s %s%s%s", res, res_op_to_str(op),
	       ok ? "ok" : "failed", text && text[0] ? ": " : "", text ? text : "");
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_RES_RESULT);
	cm_msg_add_int(&w, (int64_t)gen);
	cm_msg_add_int(&w, op);
	cm_msg_add_int(&w, ok);
	cm_msg_add_str(&w, res);
	cm_msg_add_str(&w, text ? text : "");
	cd_engine_send(cd, &w, "a resource result");
}

/* The attempt number of the fence run under way per target, so that its
 * result answers that run and no other (res_fsm.c). */
#define FENCE_RUNS 64
static int fence_run_slot(struct cd *cd, const char *target, bool add)
{
	int i, free_slot = -1;

	for (i = 0; i < FENCE_RUNS; i++) {
		if (cd->fence_runs[i].target[0] && strcmp(cd->fence_runs[i].target, target) == 0)
			return i;
		if (!cd->fence_runs[i].target[0] && free_slot < 0)
			free_slot = i;
	}
	if (add && free_slot >= 0)
		cm_strlcpy(cd->fence_runs[free_slot].target, target, sizeof(cd->fence_runs[free_slot].target));
	return add ? free_slot : -1;
}

static void on_fenced(void *ctx, const char *target, bool ok, const char *text)
{
	struct cd *cd = ctx;
	int slot = fence_run_slot(cd, target, false);
	uint64_t attempt = slot >= 0 ? cd->fence_runs[slot].attempt : 0;
	struct cm_msg w;

	cd_log(ok ? LOG_NOTICE : LOG_ERR, "fencing '%s': %s: %s", target, ok ? "done" : "failed", text);
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_FENCE_RESULT);
	cm_msg_add_int(&w, ok);
	cm_msg_add_int(&w, (int64_t)attempt);
	if (slot >= 0)
		cd->fence_runs[slot].target[0] = '\0';
	cm_msg_add_str(&w, target);
	cm_msg_add_str(&w, text ? text : "");
	cd_engine_send(cd, &w, "a fencing result");
}

static void on_log(void *ctx, int prio, const char *text)
{
	(void)ctx;
	cd_log(prio, "%s", text);
}

/* A migration's result carries its figures for the job's report. */
static void on_migrated(void *ctx, const char *res, uint64_t gen, bool ok, const char *text,
			const struct res_stats *st)
{
	struct cd *cd = ctx;
	struct cm_msg w;

	cd_log(ok ? LOG_NOTICE : LOG_WARNING, "virtual machine '%s': migration %s: %s", res, ok ? "done" : "failed",
	       text);
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_RES_RESULT);
	cm_msg_add_int(&w, (int64_t)gen);
	cm_msg_add_int(&w, RES_OP_MIGRATE);
	cm_msg_add_int(&w, ok);
	cm_msg_add_int(&w, st->total_ms);
	cm_msg_add_int(&w, st->valid ? st->downtime_ms : -1);
	cm_msg_add_int(&w, (int64_t)st->data_total);
	cm_msg_add_int(&w, (int64_t)st->data_processed);
	cm_msg_add_str(&w, res);
	cm_msg_add_str(&w, text ? text : "");
	cd_engine_send(cd, &w, "a migration result");
}

static const struct cd_exec_ops exec_ops = { on_result, on_fenced, on_log, on_migrated };

/* ---- actions ---- */

static int64_t prop_int(struct cd *cd, int kind, const char *obj, const char *key, int64_t def)
{
	char v[64];

	if (cd_db_prop_get(cd->db, kind, obj, key, v, sizeof(v), NULL) < 0)
		return def;
	return strtoll(v, NULL, 10);
}

/* The resource's set properties as "key=value" strings, then submit. */
static void run_res_action(struct cd *cd, const struct res_model *m, enum res_op op, int ri, uint64_t gen,
			   const struct res_action *a)
{
	const struct res_resource *r = &m->res[ri];
	const struct cm_prop_def *defs;
	const char *props[80];
	char store[64][CM_VALUE_MAX + CM_NAME_MAX];
	char *extra[16];
	char uri[600] = "";
	struct cd_exec_req req;
	size_t n = 0, i, nd = 0, ne, ns;
	int rc;

	/* vm types: the domain XML and the cluster's settings; first, because
	 * the first of two equal keys counts (a one-shot offline_action) */
	ne = cd->vm ? cd_vm_props(cd, r, extra, 16) : 0;
	ne += cd_csv_props(cd, r, extra + ne, 16 - ne);
	if (op == RES_OP_ONLINE && strcmp(r->type, "vm") == 0) {
		char vols[CD_CSV_VOLS_MAX] = "";

		/* its CSV volumes are locked first; the ONLINE runs once granted */
		if (cd_csv_vm_vols(cd, r->name, vols, sizeof(vols)) < 0) {
			for (i = 0; i < ne; i++)
				free(extra[i]);
			on_result(cd, r->name, gen, RES_OP_ONLINE, false, "not started: too many CSV volumes to lock");
			return;
		}
		if (!cd_csv_gate(cd, r->name, gen, vols)) {
			for (i = 0; i < ne; i++)
				free(extra[i]);
			return;
		}
	}
	for (i = 0; i < ne; i++)
		if (extra[i])
			props[n++] = extra[i];
	defs = cm_prop_defs(CM_OBJ_RESOURCE, &nd);
	for (i = 0, ns = 0; i < nd && ns < 64; i++) {
		char v[CM_VALUE_MAX];
		bool set;

		if (cd_db_prop_get(cd->db, CM_OBJ_RESOURCE, r->name, defs[i].name, v, sizeof(v), &set) < 0)
			continue;
		snprintf(store[ns], sizeof(store[ns]), "%s=%s", defs[i].name, v);
		props[n++] = store[ns++];
	}
	memset(&req, 0, sizeof(req));
	if (op == RES_OP_MIGRATE && a) {
		if (cd_vm_peer_uri(cd, a->target, uri, sizeof(uri)) < 0)
			uri[0] = '\0';
		req.target = uri;
		req.mode = a->mode;
	}
	req.op = op;
	req.res = r->name;
	req.type = r->type;
	req.gen = gen;
	req.props = props;
	req.nprops = n;
	req.timeout_ms = prop_int(cd, CM_OBJ_RESOURCE, r->name, "pending_timeout_s", 180) * 1000;
	/* a live migration copies memory at the link's speed: an hour, then it
	 * is aborted in libvirt (never just abandoned: res_vm.c) */
	if (op == RES_OP_MIGRATE && req.timeout_ms < 3600 * 1000)
		req.timeout_ms = 3600 * 1000;
	req.looks_alive_ms = prop_int(cd, CM_OBJ_RESOURCE, r->name, "looks_alive_s", 5) * 1000;
	req.is_alive_ms = prop_int(cd, CM_OBJ_RESOURCE, r->name, "is_alive_s", 60) * 1000;
	rc = cd_exec_submit(cd->exec, &req);
	for (i = 0; i < ne; i++)
		free(extra[i]);
	if (rc < 0 && op != RES_OP_MONITOR) {
		char text[256];

		snprintf(text, sizeof(text), "the executor refused it: %s", cm_strerror(rc));
		on_result(cd, r->name, gen, op == RES_OP_TERMINATE ? RES_OP_TERMINATE : op, false, text);
	} else if (rc == 0 && op == RES_OP_MIGRATE) {
		cd_vm_migration_started(cd, r->name);
	}
}

static void run_fence(struct cd *cd, const struct res_model *m, uint32_t target)
{
	char agent[CM_VALUE_MAX] = "", args[CM_VALUE_MAX] = "";
	int ni = res_node_find(m, target);
	const char *name;
	int rc;

	if (ni < 0)
		return;
	name = m->nodes[ni].name;
	cd_db_prop_get(cd->db, CM_OBJ_NODE, name, "fence_agent", agent, sizeof(agent), NULL);
	cd_db_prop_get(cd->db, CM_OBJ_NODE, name, "fence_args", args, sizeof(args), NULL);
	{
		int slot = fence_run_slot(cd, name, true);

		if (slot >= 0)
			cd->fence_runs[slot].attempt = m->nodes[ni].fence_attempts;
	}
	rc = cd_exec_fence(cd->exec, name, agent, args,
			   prop_int(cd, CM_OBJ_CLUSTER, "", "fence_timeout_s", 60) * 1000,
			   (int)prop_int(cd, CM_OBJ_CLUSTER, "", "fence_retries", 2));
	if (rc == -EBUSY)
		cd_log(LOG_INFO, "fencing '%s' is already under way here", name);
	else if (rc < 0)
		on_fenced(cd, name, false, cm_strerror(rc));
}

static void save_input(struct cd *cd, uint64_t serial, const char *input)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 64];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/pe-inputs", cd->conf.state_dir);
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return;
	/* rotated: the slot of an input is its number modulo INPUTS_KEPT */
	snprintf(path, sizeof(path), "%s/pe-input-%03u.json", dir, cd->inputs_saved % INPUTS_KEPT);
	cd->inputs_saved++;
	f = fopen(path, "w");
	if (f == NULL)
		return;
	fputs(input, f);
	fputc('\n', f);
	fclose(f);
	cd_log(LOG_DEBUG, "policy input of plan %" PRIu64 " saved as '%s'", serial, path);
}

/* Resources this node should be working on, whatever the last plan said:
 * after a restart of clusterd, a replica transfer or a quorum loss. */
void cd_engine_run_online(struct cd *cd, const char *res, uint64_t gen)
{
	const struct res_model *m = cd_db_model(cd->db);
	int ri = m ? res_resource_find(m, res) : -1;

	if (ri < 0 || cd->exec == NULL || m->res[ri].node != cd->my_id || m->res[ri].gen != gen ||
	    m->res[ri].state != RES_S_ONLINE_PENDING || !cd_quorum_verdict(cd, NULL))
		return;
	run_res_action(cd, m, RES_OP_ONLINE, ri, gen, NULL);
}

static void reconcile(struct cd *cd)
{
	const struct res_model *m = cd_db_model(cd->db);
	size_t i;

	/* only a synchronised replica says what runs here: an old one (a node
	 * that was fenced and restarted) may name resources now running elsewhere */
	if (m == NULL || cd->exec == NULL || !cd->repl || !cd_repl_ready(cd->repl) ||
	    !cd_quorum_verdict(cd, NULL))
		return;
	for (i = 0; i < m->nres; i++) {
		const struct res_resource *r = &m->res[i];

		if (r->node != cd->my_id)
			continue;
		if (r->state == RES_S_ONLINE_PENDING)
			run_res_action(cd, m, RES_OP_ONLINE, (int)i, r->gen, NULL);
		else if (r->state == RES_S_OFFLINE_PENDING)
			run_res_action(cd, m, RES_OP_OFFLINE, (int)i, r->gen, NULL);
		else if (r->state == RES_S_ONLINE && !cd_exec_is_running(cd->exec, r->name) &&
			 (!strcmp(r->type, "vm") || !strcmp(r->type, "vm-config")))
			/* a VM outlives clusterd (libvirtd keeps it): watch it again;
			 * its health check says if it is gone */
			run_res_action(cd, m, RES_OP_MONITOR, (int)i, r->gen, NULL);
		else if (r->state == RES_S_ONLINE && !cd_exec_is_running(cd->exec, r->name))
			on_result(cd, r->name, r->gen, RES_OP_HEALTH, false, "not running on this node");
	}
	for (i = 0; i < m->nnodes; i++)
		if (m->nodes[i].fence == RES_F_FENCING && m->nodes[i].fencer == cd->my_id)
			run_fence(cd, m, m->nodes[i].id);
}

void cd_engine_db_changed(struct cd *cd)
{
	const struct res_model *m;
	const struct res_plan *p;
	const char *input = NULL;
	uint64_t serial;
	size_t i;

	p = cd_db_last_plan(cd->db, &serial, &input);
	if (serial == cd->plan_serial) {
		/* no step ran: the replica was replaced by a transfer */
		return;
	}
	cd->plan_serial = serial;
	cd->wake_ms = p->next_wake_ms;
	m = cd_db_model(cd->db);
	if (m == NULL || cd->exec == NULL)
		return;
	for (i = 0; i < p->nnotes; i++)
		cd_log(p->notes[i].severity >= 2 ? LOG_WARNING : LOG_INFO, "policy: %s", p->notes[i].text);
	if (input && p->nactions > 0)
		save_input(cd, serial, input);
	for (i = 0; i < p->nactions; i++) {
		const struct res_action *a = &p->actions[i];

		if (a->op == RES_OP_MONITOR && a->node != cd->my_id)
			cd_exec_forget(cd->exec, m->res[a->res].name); /* it migrated away */
		if (a->node != cd->my_id)
			continue;
		/* the write was applied in a quorate view, but this node may have
		 * just lost its own verdict (a stall, corosync): start and fence
		 * nothing then; reconcile() catches up when quorum returns */
		if ((a->op == RES_OP_ONLINE || a->op == RES_OP_FENCE) && !cd_quorum_verdict(cd, NULL)) {
			cd_log(LOG_WARNING, "action %s skipped: this node has no quorum", res_op_to_str(a->op));
			continue;
		}
		cd_log(LOG_INFO, "action %s %s: %s", res_op_to_str(a->op),
		       a->op == RES_OP_FENCE ? "node" : m->res[a->res].name, a->reason);
		if (a->op == RES_OP_FENCE)
			run_fence(cd, m, a->target);
		else if (a->op == RES_OP_CANCEL)
			cd_vm_cancel(cd, m->res[a->res].name);
		else
			run_res_action(cd, m, a->op, a->res, a->gen, a);
	}
	cd_vm_db_changed(cd);
}

/* ---- ticks ---- */

static bool lowest_member(struct cd *cd)
{
	size_t n = 0;
	const uint32_t *mem = cd->repl ? cd_repl_members(cd->repl, &n) : NULL;

	return n > 0 && mem[0] == cd->my_id;
}

static void send_tick(struct cd *cd, const char *why)
{
	struct cm_msg w;

	if (!cd->repl || !cd_repl_ready(cd->repl) || !cd_db_has_cluster(cd->db) ||
	    !lowest_member(cd) || !cd_quorum_verdict(cd, NULL))
		return;
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_TICK);
	cm_msg_add_str(&w, why);
	cd->tick_sent_ms = cd_wall_ms();
	cd_engine_send(cd, &w, "a tick");
}

void cd_engine_ready(struct cd *cd)
{
	/* the replica may have been replaced: work from what it says now */
	cd_db_engine_reset(cd->db);
	cd_vm_ready(cd);
	reconcile(cd);
	send_tick(cd, "view");
}

static void engine_timer(void *data)
{
	struct cd *cd = data;
	uint64_t now = cd_wall_ms();

	if ((cd->wake_ms > 0 && (int64_t)now >= cd->wake_ms && cd->tick_sent_ms < (uint64_t)cd->wake_ms) ||
	    now - cd->tick_sent_ms >= TICK_EVERY_MS)
		send_tick(cd, "timer");
	qb_loop_timer_add(cd->loop, QB_LOOP_LOW, ENGINE_TIMER_MS * QB_TIME_NS_IN_MSEC, cd, engine_timer,
			  &cd->engine_timer);
}

void cd_engine_quorum_gained(struct cd *cd)
{
	reconcile(cd);
	/* the view's tick was not sent while quorum waited for the witness:
	 * the policy runs now (a lost node is fenced, its groups placed),
	 * not at the next timer tick up to 30 s later */
	send_tick(cd, "quorum");
}

void cd_engine_quorum_lost(struct cd *cd)
{
	int n = cd->exec ? cd_exec_stop_all(cd->exec) : 0;
	int v = cd_vm_stop_all(cd);

	cd_log(LOG_WARNING, "quorum lost: stopped %d resource(s) on this node; turning off %d VM(s)", n, v);
}

int cd_engine_start(struct cd *cd)
{
	cd_db_keep_inputs(cd->db, true);
	cd->exec = cd_exec_new(cd->loop, &exec_ops, cd, MAX_PARALLEL);
	if (cd->exec == NULL)
		return -ENOMEM;
	if (cd_vm_start(cd) < 0 || cd_csv_start(cd) < 0)
		return -ENOMEM;
	cd_csv_find_tools(cd);
	qb_loop_timer_add(cd->loop, QB_LOOP_LOW, ENGINE_TIMER_MS * QB_TIME_NS_IN_MSEC, cd, engine_timer,
			  &cd->engine_timer);
	return 0;
}

void cd_engine_stop(struct cd *cd)
{
	qb_loop_timer_del(cd->loop, cd->engine_timer);
	cd_vm_stop(cd);
	cd_csv_stop(cd);
	cd_exec_free(cd->exec);
	cd->exec = NULL;
}

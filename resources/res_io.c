/* res_io.c - the policy input (model + event) and the plan as JSON: the
 * writer, and the names of events and operations. The reader is
 * res_io_read.c.
 *
 * Owns the document format written by clusterd for every input that led to
 * actions and read by `clussim --replay`. Objects are named (nodes by id),
 * never referenced by index, so a document stays readable and survives
 * reordering. Pure: no I/O, no globals.
 */
#include <errno.h>
#include <stdbool.h>
#include <strings.h>

#include "cm_err.h"
#include "cm_json.h"
#include "cm_str.h"
#include "res_core.h"
#include "res_io.h"

static const char *const ev_names[] = {
	[RES_EV_TICK] = "tick",
	[RES_EV_RESULT] = "result",
	[RES_EV_FENCE_RESULT] = "fence_result",
	[RES_EV_CONFIRM_DOWN] = "confirm_down",
	[RES_EV_GROUP_ONLINE] = "group_online",
	[RES_EV_GROUP_OFFLINE] = "group_offline",
	[RES_EV_GROUP_MOVE] = "group_move",
	[RES_EV_NODE_DRAIN] = "node_drain",
	[RES_EV_NODE_PAUSE] = "node_pause",
	[RES_EV_CONFIG] = "config",
	[RES_EV_GROUP_MIGRATE] = "group_migrate",
	[RES_EV_MIGRATE_CANCEL] = "migrate_cancel",
};
#define EV_MAX ((int)(sizeof(ev_names) / sizeof(ev_names[0])))

const char *res_ev_to_str(enum res_ev t)
{
	if ((int)t <= 0 || (int)t >= EV_MAX)
		return "unknown";
	return ev_names[t];
}

int res_ev_from_str(const char *s)
{
	int i;

	for (i = 1; s && i < EV_MAX; i++)
		if (strcasecmp(s, ev_names[i]) == 0)
			return i;
	return -1;
}

int res_op_from_str(const char *s)
{
	int op;

	for (op = RES_OP_ONLINE; s && op <= RES_OP_STOPPED; op++)
		if (strcasecmp(s, res_op_to_str((enum res_op)op)) == 0)
			return op;
	return -1;
}

/* ---- writer ---- */

static void put_ids(struct cm_jw *w, const char *key, const uint32_t *ids, int n)
{
	int i;

	cm_jw_key(w, key);
	cm_jw_arr_begin(w);
	for (i = 0; i < n; i++)
		cm_jw_int(w, ids[i]);
	cm_jw_arr_end(w);
}

static void put_times(struct cm_jw *w, const char *key, const int64_t *t, int n)
{
	int i;

	if (n > RES_HIST_MAX)
		n = RES_HIST_MAX;
	cm_jw_key(w, key);
	cm_jw_arr_begin(w);
	for (i = 0; i < n; i++)
		cm_jw_int(w, t[i]);
	cm_jw_arr_end(w);
}

/* A reference by index as a name, null when out of range. */
static void put_ref(struct cm_jw *w, const char *key, const char *name)
{
	cm_jw_key(w, key);
	if (name)
		cm_jw_str(w, name);
	else
		cm_jw_null(w);
}

static const char *res_name(const struct res_model *m, int r)
{
	return r >= 0 && (size_t)r < m->nres ? m->res[r].name : NULL;
}

static const char *group_name(const struct res_model *m, int g)
{
	return g >= 0 && (size_t)g < m->ngroups ? m->groups[g].name : NULL;
}

static void put_event(struct cm_jw *w, const struct res_model *m, const struct res_event *ev)
{
	size_t i;

	cm_jw_key(w, "event");
	cm_jw_obj_begin(w);
	cm_jw_kv_str(w, "type", res_ev_to_str(ev->type));
	cm_jw_kv_int(w, "now_ms", ev->now_ms);
	cm_jw_kv_int(w, "tz_offset_min", ev->tz_offset_min);
	cm_jw_kv_bool(w, "quorate", ev->quorate);
	cm_jw_kv_bool(w, "fencing_off", ev->fencing_off);
	cm_jw_kv_bool(w, "enforced_aa", ev->enforced_aa);
	cm_jw_kv_int(w, "drain_parallel", ev->drain_parallel);
	cm_jw_kv_str(w, "mode", res_mig_mode_to_str(ev->mode));
	cm_jw_key(w, "members");
	cm_jw_arr_begin(w);
	for (i = 0; ev->members && i < ev->nmembers; i++)
		cm_jw_int(w, ev->members[i]);
	cm_jw_arr_end(w);
	put_ref(w, "res", res_name(m, ev->res));
	put_ref(w, "group", group_name(m, ev->group));
	cm_jw_kv_int(w, "node", ev->node);
	cm_jw_kv_int(w, "gen", (int64_t)ev->gen);
	put_ref(w, "op", ev->op ? res_op_to_str(ev->op) : NULL);
	cm_jw_kv_bool(w, "ok", ev->ok);
	put_ref(w, "text", ev->text);
	cm_jw_obj_end(w);
}

static void put_node(struct cm_jw *w, const struct res_node *n)
{
	cm_jw_obj_begin(w);
	cm_jw_kv_int(w, "id", n->id);
	cm_jw_kv_str(w, "name", n->name);
	cm_jw_kv_int(w, "memory_mb", n->memory_mb);
	cm_jw_kv_bool(w, "has_agent", n->has_agent);
	cm_jw_kv_bool(w, "member", n->member);
	cm_jw_kv_bool(w, "paused", n->paused);
	cm_jw_kv_bool(w, "draining", n->draining);
	cm_jw_kv_str(w, "fence", res_fence_to_str(n->fence));
	cm_jw_kv_int(w, "fencer", n->fencer);
	cm_jw_kv_int(w, "fence_since_ms", n->fence_since_ms);
	cm_jw_kv_int(w, "fence_retry_ms", n->fence_retry_ms);
	cm_jw_kv_int(w, "fence_attempts", n->fence_attempts);
	cm_jw_kv_bool(w, "down_seen", n->down_seen);
	cm_jw_obj_end(w);
}

static void put_group(struct cm_jw *w, const struct res_group *g)
{
	cm_jw_obj_begin(w);
	cm_jw_kv_str(w, "name", g->name);
	put_ids(w, "preferred", g->preferred, g->npreferred);
	cm_jw_kv_str(w, "failback", res_failback_to_str(g->failback));
	cm_jw_kv_int(w, "fb_start_h", g->fb_start_h);
	cm_jw_kv_int(w, "fb_end_h", g->fb_end_h);
	cm_jw_kv_str(w, "aa_class", g->aa_class);
	cm_jw_kv_str(w, "prio", res_prio_to_str(g->prio));
	cm_jw_kv_int(w, "failover_threshold", g->failover_threshold);
	cm_jw_kv_int(w, "failover_period_ms", g->failover_period_ms);
	cm_jw_kv_bool(w, "want_online", g->want_online);
	cm_jw_kv_int(w, "owner", g->owner);
	cm_jw_kv_int(w, "move_to", g->move_to);
	cm_jw_kv_bool(w, "moving", g->moving);
	cm_jw_kv_bool(w, "failing_over", g->failing_over);
	cm_jw_kv_bool(w, "admin_move", g->admin_move);
	cm_jw_kv_bool(w, "pinned", g->pinned);
	cm_jw_kv_bool(w, "failed", g->failed);
	cm_jw_kv_str(w, "mig_mode", res_mig_mode_to_str(g->mig_mode));
	cm_jw_kv_bool(w, "mig_running", g->mig_running);
	cm_jw_kv_bool(w, "mig_admin", g->mig_admin);
	cm_jw_kv_int(w, "mig_from", g->mig_from);
	cm_jw_kv_int(w, "mig_to", g->mig_to);
	cm_jw_kv_int(w, "mig_retry_ms", g->mig_retry_ms);
	put_times(w, "failovers", g->failovers, g->nfailovers);
	cm_jw_kv_str(w, "reason", g->reason);
	cm_jw_obj_end(w);
}

static void put_resource(struct cm_jw *w, const struct res_model *m, const struct res_resource *r)
{
	int i;

	cm_jw_obj_begin(w);
	cm_jw_kv_str(w, "name", r->name);
	cm_jw_kv_str(w, "type", r->type);
	put_ref(w, "group", group_name(m, r->group));
	cm_jw_key(w, "deps");
	cm_jw_arr_begin(w);
	for (i = 0; i < r->ndeps; i++)
		if (res_name(m, r->deps[i]))
			cm_jw_str(w, res_name(m, r->deps[i]));
	cm_jw_arr_end(w);
	cm_jw_kv_bool(w, "dep_or", r->dep_or);
	put_ids(w, "possible", r->possible, r->npossible);
	cm_jw_kv_str(w, "restart", res_restart_to_str(r->restart));
	cm_jw_kv_int(w, "restart_threshold", r->restart_threshold);
	cm_jw_kv_int(w, "restart_period_ms", r->restart_period_ms);
	cm_jw_kv_int(w, "memory_mb", r->memory_mb);
	cm_jw_kv_str(w, "state", res_state_to_str(r->state));
	cm_jw_kv_int(w, "node", r->node);
	cm_jw_kv_int(w, "gen", (int64_t)r->gen);
	cm_jw_kv_bool(w, "restart_wanted", r->restart_wanted);
	cm_jw_kv_bool(w, "keep_failed", r->keep_failed);
	cm_jw_kv_bool(w, "stop_failed", r->stop_failed);
	cm_jw_kv_bool(w, "held", r->held);
	put_times(w, "restarts", r->restarts, r->nrestarts);
	cm_jw_kv_str(w, "reason", r->reason);
	cm_jw_obj_end(w);
}

int res_input_to_json(const struct res_model *m, const struct res_event *ev, struct cm_sb *out)
{
	struct cm_jw w;
	size_t i;

	cm_jw_init(&w, out);
	cm_jw_obj_begin(&w);
	cm_jw_kv_int(&w, "version", RES_IO_VERSION);
	if (ev)
		put_event(&w, m, ev);
	cm_jw_key(&w, "nodes");
	cm_jw_arr_begin(&w);
	for (i = 0; i < m->nnodes; i++)
		put_node(&w, &m->nodes[i]);
	cm_jw_arr_end(&w);
	cm_jw_key(&w, "groups");
	cm_jw_arr_begin(&w);
	for (i = 0; i < m->ngroups; i++)
		put_group(&w, &m->groups[i]);
	cm_jw_arr_end(&w);
	cm_jw_key(&w, "resources");
	cm_jw_arr_begin(&w);
	for (i = 0; i < m->nres; i++)
		put_resource(&w, m, &m->res[i]);
	cm_jw_arr_end(&w);
	cm_jw_obj_end(&w);
	return cm_sb_failed(out) ? -ENOMEM : 0;
}

static const char *change_kind(int kind)
{
	switch (kind) {
	case RES_CH_RESOURCE: return "resource";
	case RES_CH_GROUP: return "group";
	default: return "node";
	}
}

int res_plan_to_json(const struct res_model *m, const struct res_plan *p, struct cm_sb *out)
{
	struct cm_jw w;
	const struct res_change *c;
	size_t i;

	cm_jw_init(&w, out);
	cm_jw_obj_begin(&w);
	cm_jw_kv_int(&w, "rc", p->rc);
	cm_jw_kv_int(&w, "next_wake_ms", p->next_wake_ms);
	cm_jw_key(&w, "actions");
	cm_jw_arr_begin(&w);
	for (i = 0; i < p->nactions; i++) {
		const struct res_action *a = &p->actions[i];

		cm_jw_obj_begin(&w);
		cm_jw_kv_int(&w, "node", a->node);
		cm_jw_kv_str(&w, "op", res_op_to_str(a->op));
		put_ref(&w, "res", a->op == RES_OP_FENCE ? NULL : res_name(m, a->res));
		cm_jw_kv_int(&w, "gen", (int64_t)a->gen);
		cm_jw_kv_int(&w, "target", a->target);
		if (a->op == RES_OP_MIGRATE)
			cm_jw_kv_str(&w, "mode", res_mig_mode_to_str(a->mode));
		cm_jw_kv_str(&w, "reason", a->reason);
		cm_jw_obj_end(&w);
	}
	cm_jw_arr_end(&w);
	cm_jw_key(&w, "notes");
	cm_jw_arr_begin(&w);
	for (i = 0; i < p->nnotes; i++) {
		cm_jw_obj_begin(&w);
		cm_jw_kv_int(&w, "severity", p->notes[i].severity);
		cm_jw_kv_str(&w, "object", p->notes[i].object);
		cm_jw_kv_str(&w, "text", p->notes[i].text);
		cm_jw_obj_end(&w);
	}
	cm_jw_arr_end(&w);
	cm_jw_key(&w, "changes");
	cm_jw_arr_begin(&w);
	for (i = 0; i < p->nchanges; i++) {
		c = &p->changes[i];
		cm_jw_obj_begin(&w);
		cm_jw_kv_str(&w, "kind", change_kind(c->kind));
		if (c->kind == RES_CH_NODE)
			cm_jw_kv_int(&w, "id", c->index >= 0 && (size_t)c->index < m->nnodes ?
				     m->nodes[c->index].id : 0);
		else
			put_ref(&w, "name", c->kind == RES_CH_GROUP ? group_name(m, c->index) :
				res_name(m, c->index));
		cm_jw_obj_end(&w);
	}
	cm_jw_arr_end(&w);
	cm_jw_obj_end(&w);
	return cm_sb_failed(out) ? -ENOMEM : 0;
}

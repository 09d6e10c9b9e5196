/* res_fsm.c - the state machines of the policy core: resource transitions,
 * the events of the replicated stream, membership and fencing.
 *
 * Every resource change goes through res_set_state(), which checks the
 * transition against the table below, records the reason and emits the
 * action a pending state needs. Pure: no I/O, no clock, no globals.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_str.h"
#include "res_int.h"

#define FENCE_RETRY_MS (30 * 1000)

static int push(void **arr, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		void *q = realloc(*arr, ncap * size);

		if (q == NULL)
			return -ENOMEM;
		*arr = q;
		*cap = ncap;
	}
	memset((char *)*arr + *n * size, 0, size);
	(*n)++;
	return 0;
}

void res_note(struct res_st *st, int severity, const char *object, const char *fmt, ...)
{
	struct res_plan *p = st->p;
	struct res_note *n;
	va_list ap;

	if (push((void **)&p->notes, &p->nnotes, &p->cap_notes, sizeof(*n)) < 0) {
		p->rc = -ENOMEM;
		return;
	}
	n = &p->notes[p->nnotes - 1];
	n->severity = severity;
	cm_strlcpy(n->object, object, sizeof(n->object));
	va_start(ap, fmt);
	vsnprintf(n->text, sizeof(n->text), fmt, ap);
	va_end(ap);
}

void res_changed(struct res_st *st, int kind, int index)
{
	struct res_plan *p = st->p;

	/* consecutive duplicates are common (several fields of one object) */
	if (p->nchanges > 0 && (int)p->changes[p->nchanges - 1].kind == kind &&
	    p->changes[p->nchanges - 1].index == index)
		return;
	if (push((void **)&p->changes, &p->nchanges, &p->cap_changes, sizeof(*p->changes)) < 0) {
		p->rc = -ENOMEM;
		return;
	}
	p->changes[p->nchanges - 1].kind = kind;
	p->changes[p->nchanges - 1].index = index;
}

void res_action(struct res_st *st, uint32_t node, enum res_op op, int r, uint32_t target,
		const char *reason)
{
	struct res_plan *p = st->p;
	struct res_action *a;

	if (push((void **)&p->actions, &p->nactions, &p->cap_actions, sizeof(*a)) < 0) {
		p->rc = -ENOMEM;
		return;
	}
	a = &p->actions[p->nactions - 1];
	a->node = node;
	a->op = op;
	a->res = r;
	a->gen = r >= 0 ? st->m->res[r].gen : 0;
	a->target = target;
	cm_strlcpy(a->reason, reason, sizeof(a->reason));
}

void res_set_reason(struct res_st *st, int kind, int index, char *field, const char *reason)
{
	char cut[RES_REASON_MAX];

	/* compare what would be stored: a long reason must not count as a
	 * change at every step */
	cm_strlcpy(cut, reason, sizeof(cut));
	if (strcmp(field, cut) == 0)
		return;
	memcpy(field, cut, sizeof(cut));
	res_changed(st, kind, index);
}

/* Allowed transitions: from (rows) to (bits of columns). */
static const unsigned allowed[5] = {
	[RES_S_OFFLINE] = 1u << RES_S_ONLINE_PENDING,
	[RES_S_ONLINE_PENDING] = 1u << RES_S_ONLINE | 1u << RES_S_FAILED | 1u << RES_S_OFFLINE,
	[RES_S_ONLINE] = 1u << RES_S_OFFLINE_PENDING | 1u << RES_S_FAILED | 1u << RES_S_OFFLINE,
	[RES_S_OFFLINE_PENDING] = 1u << RES_S_OFFLINE | 1u << RES_S_FAILED | 1u << RES_S_OFFLINE_PENDING,
	[RES_S_FAILED] = 1u << RES_S_ONLINE_PENDING | 1u << RES_S_OFFLINE_PENDING | 1u << RES_S_OFFLINE |
			 1u << RES_S_FAILED,
};

static const char *node_name(const struct res_model *m, uint32_t id)
{
	int n = res_node_find(m, id);

	return n >= 0 ? m->nodes[n].name : "?";
}

void res_set_state(struct res_st *st, int r, enum res_state to, uint32_t node, const char *reason)
{
	struct res_resource *res = &st->m->res[r];
	enum res_state from = res->state;

	if (!(allowed[from] & (1u << to))) {
		/* a bug in the planner; keep the model as it is and say so */
		res_note(st, 3, res->name, "refused transition %s -> %s (%s)", res_state_to_str(from),
			 res_state_to_str(to), reason);
		return;
	}
	res->state = to;
	res->node = node;
	if (to == RES_S_ONLINE_PENDING || to == RES_S_OFFLINE_PENDING)
		res->gen++;
	cm_strlcpy(res->reason, reason, sizeof(res->reason));
	res_changed(st, RES_CH_RESOURCE, r);
	if (node != RES_NODE_ANY)
		res_note(st, to == RES_S_FAILED ? 2 : 0, res->name, "resource '%s': %s -> %s on '%s' (%s)",
			 res->name, res_state_to_str(from), res_state_to_str(to), node_name(st->m, node), reason);
	else
		res_note(st, to == RES_S_FAILED ? 2 : 0, res->name, "resource '%s': %s -> %s (%s)",
			 res->name, res_state_to_str(from), res_state_to_str(to), reason);
	if (to == RES_S_ONLINE_PENDING)
		res_action(st, node, RES_OP_ONLINE, r, 0, reason);
	else if (to == RES_S_OFFLINE_PENDING)
		res_action(st, node, RES_OP_OFFLINE, r, 0, reason);
}

/* ---- membership ---- */

static bool in_view(const struct res_event *ev, uint32_t id)
{
	size_t lo = 0, hi = ev->nmembers;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ev->members[mid] == id)
			return true;
		if (ev->members[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void res_membership(struct res_st *st)
{
	struct res_model *m = st->m;
	size_t i;

	for (i = 0; i < m->nnodes; i++) {
		struct res_node *n = &m->nodes[i];
		bool now = in_view(st->ev, n->id);

		if (now == n->member)
			continue;
		n->member = now;
		res_changed(st, RES_CH_NODE, (int)i);
		if (!now) {
			res_note(st, 1, n->name, "node '%s' left the view", n->name);
			if (n->fence == RES_F_FENCED)
				n->down_seen = true;
			continue;
		}
		res_note(st, 1, n->name, "node '%s' joined the view", n->name);
		if (n->fence == RES_F_FENCED && n->down_seen) {
			n->fence = RES_F_NONE;
			n->down_seen = false;
			res_note(st, 1, n->name, "node '%s' is back after it was fenced", n->name);
		} else if (n->fence == RES_F_NEEDED) {
			/* it lost quorum and stopped its resources; the executor there
			 * reports whatever is not running as failed */
			n->fence = RES_F_NONE;
			res_note(st, 2, n->name, "node '%s' returned before it was fenced", n->name);
		}
	}
}

/* ---- fencing ---- */

static bool has_active(const struct res_model *m, uint32_t id)
{
	size_t i;

	for (i = 0; i < m->nres; i++)
		if (m->res[i].node == id && m->res[i].state != RES_S_OFFLINE)
			return true;
	/* a VM migrating to it may have switched over */
	return res_mig_pending_on(m, id);
}

void res_node_fenced(struct res_st *st, int ni, const char *how)
{
	struct res_model *m = st->m;
	struct res_node *n = &m->nodes[ni];
	char why[RES_REASON_MAX];
	size_t i;

	n->fence = RES_F_FENCED;
	n->fencer = 0;
	n->fence_attempts = 0;
	n->down_seen = !n->member;
	res_changed(st, RES_CH_NODE, ni);
	res_note(st, 2, n->name, "node '%s' %s", n->name, how);
	snprintf(why, sizeof(why), "node '%s' %s", n->name, how);
	for (i = 0; i < m->ngroups; i++) {
		struct res_group *g = &m->groups[i];

		if (res_group_active_node(m, (int)i) != n->id || !g->want_online || g->failed)
			continue;
		if (res_group_failover(st, (int)i, why)) {
			g->moving = true;
			g->failing_over = true;
			g->admin_move = false;
			g->move_to = RES_NODE_ANY;
			res_changed(st, RES_CH_GROUP, (int)i);
		}
	}
	for (i = 0; i < m->nres; i++) {
		struct res_resource *r = &m->res[i];

		if (r->node != n->id || r->state == RES_S_OFFLINE)
			continue;
		r->restart_wanted = false;
		r->keep_failed = false;
		r->stop_failed = false;
		res_set_state(st, (int)i, r->state == RES_S_FAILED ? RES_S_FAILED : RES_S_OFFLINE,
			      RES_NODE_ANY, why);
	}
	res_mig_node_fenced(st, n->id);
}

static uint32_t lowest_member(const struct res_model *m)
{
	size_t i;

	for (i = 0; i < m->nnodes; i++)
		if (m->nodes[i].member && m->nodes[i].fence == RES_F_NONE)
			return m->nodes[i].id;
	return 0;
}

static void start_fence(struct res_st *st, int ni)
{
	struct res_node *n = &st->m->nodes[ni];
	uint32_t fencer = lowest_member(st->m);
	char why[RES_REASON_MAX];

	if (fencer == 0)
		return;
	n->fence = RES_F_FENCING;
	n->fencer = fencer;
	n->fence_since_ms = st->ev->now_ms;
	n->fence_attempts++;
	res_changed(st, RES_CH_NODE, ni);
	snprintf(why, sizeof(why), "node '%s' was lost with resources on it (attempt %u)", n->name,
		 n->fence_attempts);
	res_note(st, 2, n->name, "fencing node '%s' from '%s': %s", n->name,
		 node_name(st->m, fencer), why);
	res_action(st, fencer, RES_OP_FENCE, -1, n->id, why);
}

static bool fencer_present(const struct res_model *m, const struct res_node *n)
{
	int f = res_node_find(m, n->fencer);

	return f >= 0 && m->nodes[f].member;
}

void res_fencing(struct res_st *st)
{
	struct res_model *m = st->m;
	size_t i;

	for (i = 0; i < m->nnodes; i++) {
		struct res_node *n = &m->nodes[i];

		if (n->fence == RES_F_FENCED || (n->member && n->fence == RES_F_NONE))
			continue;
		if (n->member && (n->fence == RES_F_NEEDED ||
				  (n->fence == RES_F_FENCING && !fencer_present(m, n)))) {
			/* it came back and no fence run is under way: nothing of it was
			 * recovered elsewhere (recovery waits for fencing), so it keeps
			 * its resources */
			n->fence = RES_F_NONE;
			n->fencer = 0;
			res_changed(st, RES_CH_NODE, (int)i);
			res_note(st, 2, n->name, "node '%s' is a member again and no fence run is under way:"
				 " fencing called off, its resources stay where they are", n->name);
			continue;
		}
		if (n->member)
			continue; /* a run is under way: let it finish */
		if (n->fence == RES_F_NONE) {
			if (!has_active(m, n->id))
				continue;
			n->fence = RES_F_NEEDED;
			n->fence_retry_ms = 0;
			res_changed(st, RES_CH_NODE, (int)i);
			if (!st->ev->fencing_off && !n->has_agent)
				res_note(st, 2, n->name, "node '%s' was lost with resources on it and has no fence"
					 " agent: waiting for 'cluadmin node confirm-down %s'", n->name, n->name);
		}
		if (st->ev->fencing_off) {
			res_node_fenced(st, (int)i, "is treated as down without fencing: fencing is off (unsafe)");
			continue;
		}
		if (n->fence == RES_F_NEEDED && n->has_agent && st->ev->now_ms >= n->fence_retry_ms)
			start_fence(st, (int)i);
		else if (n->fence == RES_F_FENCING && !fencer_present(m, n)) {
			res_note(st, 2, n->name, "the node fencing '%s' left; fencing again", n->name);
			start_fence(st, (int)i);
		}
		if (n->fence == RES_F_NEEDED && n->has_agent && n->fence_retry_ms > st->ev->now_ms &&
		    (st->p->next_wake_ms == 0 || n->fence_retry_ms < st->p->next_wake_ms))
			st->p->next_wake_ms = n->fence_retry_ms;
	}
}

/* ---- failures ---- */

void res_failure(struct res_st *st, int r, const char *why)
{
	struct res_model *m = st->m;
	struct res_resource *res = &m->res[r];
	struct res_group *g = &m->groups[res->group];
	int64_t now = st->ev->now_ms;
	int done = res_count_since(res->restarts, res->nrestarts, now - res->restart_period_ms);
	char reason[RES_REASON_MAX];

	res->restart_wanted = false;
	if (res->restart != RES_RESTART_NONE && done < res->restart_threshold) {
		res_hist_add(res->restarts, &res->nrestarts, now, now - res->restart_period_ms);
		res->restart_wanted = true;
		snprintf(reason, sizeof(reason), "%s; restart %d of %d", why, done + 1, res->restart_threshold);
		res_set_state(st, r, RES_S_FAILED, res->node, reason);
		return;
	}
	if (res->restart == RES_RESTART_FAILOVER) {
		snprintf(reason, sizeof(reason), "%s; %d restarts in %lld s used up: failing the group over",
			 why, res->restart_threshold, (long long)(res->restart_period_ms / 1000));
		res_set_state(st, r, RES_S_FAILED, res->node, reason);
		if (res_group_failover(st, res->group, reason)) {
			g->moving = true;
			g->failing_over = true;
			g->admin_move = false;
			g->move_to = RES_NODE_ANY;
			res_changed(st, RES_CH_GROUP, res->group);
		}
		return;
	}
	snprintf(reason, sizeof(reason), "%s; %s", why,
		 res->restart == RES_RESTART_NONE ? "restart action is none: left Failed"
						  : "restarts used up: left Failed");
	res_set_state(st, r, RES_S_FAILED, res->node, reason);
}

/* ---- events ---- */

static void ev_result(struct res_st *st)
{
	const struct res_event *ev = st->ev;
	struct res_model *m = st->m;
	struct res_resource *r;
	char why[RES_REASON_MAX];

	if (ev->res < 0 || (size_t)ev->res >= m->nres)
		return;
	r = &m->res[ev->res];
	if (r->gen != ev->gen || r->node != ev->node) {
		res_note(st, 0, r->name, "resource '%s': stale %s result from '%s' ignored (gen %llu, now %llu)",
			 r->name, res_op_to_str(ev->op), node_name(m, ev->node), (unsigned long long)ev->gen,
			 (unsigned long long)r->gen);
		return;
	}
	snprintf(why, sizeof(why), "%s%s%s", res_op_to_str(ev->op), ev->ok ? " ok" : " failed",
		 ev->text && ev->text[0] ? ": " : "");
	if (ev->text && ev->text[0])
		cm_strlcpy(why + strlen(why), ev->text, sizeof(why) - strlen(why));
	if ((ev->op == RES_OP_HEALTH || ev->op == RES_OP_STOPPED) && m->groups[r->group].mig_running) {
		/* a migration moves its domain away (the source undefines it): only
		 * the migration's own result says how it ended */
		res_note(st, 0, r->name, "resource '%s': %s during a migration ignored: %s", r->name,
			 res_op_to_str(ev->op), ev->text ? ev->text : "");
		return;
	}
	switch (ev->op) {
	case RES_OP_ONLINE:
		if (r->state != RES_S_ONLINE_PENDING)
			return;
		if (ev->ok)
			res_set_state(st, ev->res, RES_S_ONLINE, r->node, why);
		else
			res_failure(st, ev->res, why);
		return;
	case RES_OP_HEALTH:
		if (r->state == RES_S_ONLINE && !ev->ok)
			res_failure(st, ev->res, why);
		return;
	case RES_OP_MIGRATE:
		res_mig_result(st, ev->res);
		return;
	case RES_OP_STOPPED:
		if (r->state != RES_S_ONLINE)
			return;
		/* an operator stopped it: report it, do not fight it */
		snprintf(why, sizeof(why), "stopped outside the cluster%s%s; 'cluadmin group online %s' starts it"
			 " again", ev->text && ev->text[0] ? ": " : "", ev->text ? ev->text : "",
			 m->groups[r->group].name);
		r->held = true;
		res_set_state(st, ev->res, RES_S_OFFLINE, RES_NODE_ANY, why);
		res_note(st, 2, r->name, "resource '%s': %s", r->name, why);
		return;
	case RES_OP_OFFLINE:
	case RES_OP_TERMINATE:
		if (r->state != RES_S_OFFLINE_PENDING)
			return;
		if (ev->ok) {
			bool failed = r->keep_failed;

			r->keep_failed = false;
			if (failed)
				cm_strlcpy(why, r->reason, sizeof(why)); /* keep saying why it failed */
			res_set_state(st, ev->res, failed ? RES_S_FAILED : RES_S_OFFLINE, RES_NODE_ANY, why);
		} else if (ev->op == RES_OP_OFFLINE) {
			size_t before = st->p->nactions;

			res_set_state(st, ev->res, RES_S_OFFLINE_PENDING, r->node, why);
			/* res_set_state emitted OFFLINE; a failed stop escalates */
			if (st->p->nactions > before)
				st->p->actions[st->p->nactions - 1].op = RES_OP_TERMINATE;
		} else {
			snprintf(why, sizeof(why), "cannot be stopped on '%s': %s; clean up by hand, then"
				 " 'group offline' or 'group online' to try again", node_name(m, r->node),
				 ev->text ? ev->text : "");
			r->keep_failed = false;
			r->stop_failed = true; /* no more automatic attempts: see stop_group() */
			res_set_state(st, ev->res, RES_S_FAILED, r->node, why);
		}
		return;
	default:
		return;
	}
}

static void ev_fence_result(struct res_st *st)
{
	int ni = res_node_find(st->m, st->ev->node);
	struct res_node *n;

	if (ni < 0)
		return;
	n = &st->m->nodes[ni];
	/* a result belongs to the run under way: not to an earlier attempt, nor
	 * to a run that was called off (ev->gen: the attempt, 0 when unknown) */
	if (n->fence != RES_F_FENCING || (st->ev->gen != 0 && st->ev->gen != n->fence_attempts)) {
		res_note(st, 0, n->name, "fence result for node '%s' ignored: no such run under way", n->name);
		return;
	}
	if (st->ev->ok) {
		char how[RES_REASON_MAX];

		snprintf(how, sizeof(how), "was fenced%s%s", st->ev->text && st->ev->text[0] ? ": " : "",
			 st->ev->text ? st->ev->text : "");
		res_node_fenced(st, ni, how);
		return;
	}
	if (n->member) {
		/* back in the view and the run failed: see res_fencing() */
		n->fence = RES_F_NONE;
		n->fencer = 0;
		res_changed(st, RES_CH_NODE, ni);
		res_note(st, 3, n->name, "fencing node '%s' failed: %s; it is a member again, so fencing is"
			 " called off", n->name, st->ev->text ? st->ev->text : "");
		return;
	}
	n->fence = RES_F_NEEDED;
	n->fencer = 0;
	n->fence_retry_ms = st->ev->now_ms + FENCE_RETRY_MS;
	res_changed(st, RES_CH_NODE, ni);
	res_note(st, 3, n->name, "fencing node '%s' failed: %s; trying again in %d s", n->name,
		 st->ev->text ? st->ev->text : "", FENCE_RETRY_MS / 1000);
}

static void clear_failed(struct res_st *st, int gi, const char *why)
{
	struct res_group *g = &st->m->groups[gi];
	int k;

	if (g->failed) {
		g->failed = false;
		res_changed(st, RES_CH_GROUP, gi);
	}
	for (k = 0; k < g->nres; k++) {
		struct res_resource *r = &st->m->res[g->res[k]];

		if (r->restart_wanted || r->stop_failed || r->held) {
			r->restart_wanted = false;
			r->held = false;
			r->stop_failed = false; /* the administrator asks to try again */
			res_changed(st, RES_CH_RESOURCE, g->res[k]);
		}
		if (r->state == RES_S_FAILED && r->node == RES_NODE_ANY)
			res_set_state(st, g->res[k], RES_S_OFFLINE, RES_NODE_ANY, why);
	}
}

static void ev_group(struct res_st *st)
{
	const struct res_event *ev = st->ev;
	struct res_group *g;

	if (ev->group < 0 || (size_t)ev->group >= st->m->ngroups)
		return;
	g = &st->m->groups[ev->group];
	res_changed(st, RES_CH_GROUP, ev->group);
	switch (ev->type) {
	case RES_EV_GROUP_ONLINE:
		g->want_online = true;
		clear_failed(st, ev->group, "cleared by 'group online'");
		res_set_reason(st, RES_CH_GROUP, ev->group, g->reason, "brought online by the administrator");
		break;
	case RES_EV_GROUP_OFFLINE:
		g->want_online = false;
		g->moving = false;
		g->failing_over = false;
		g->admin_move = false;
		clear_failed(st, ev->group, "cleared by 'group offline'");
		res_set_reason(st, RES_CH_GROUP, ev->group, g->reason, "taken offline by the administrator");
		break;
	case RES_EV_GROUP_MOVE:
		g->moving = true;
		g->failing_over = false;
		g->admin_move = true;
		g->move_to = ev->node;
		res_set_reason(st, RES_CH_GROUP, ev->group, g->reason, ev->node ? "moving to the requested node"
								       : "moving to the best other node");
		break;
	case RES_EV_GROUP_MIGRATE:
		res_mig_request(st, ev->group, ev->node, ev->mode == RES_MIG_QUICK ? RES_MIG_QUICK : RES_MIG_LIVE,
				true, "migrating as requested");
		break;
	case RES_EV_MIGRATE_CANCEL:
		res_mig_cancel(st, ev->group);
		break;
	default:
		break;
	}
}

static void ev_node(struct res_st *st)
{
	const struct res_event *ev = st->ev;
	int ni = res_node_find(st->m, ev->node);
	struct res_node *n;

	if (ni < 0)
		return;
	n = &st->m->nodes[ni];
	res_changed(st, RES_CH_NODE, ni);
	switch (ev->type) {
	case RES_EV_NODE_DRAIN:
		n->paused = true;
		n->draining = true;
		res_note(st, 1, n->name, "draining node '%s'", n->name);
		break;
	case RES_EV_NODE_PAUSE:
		n->paused = ev->ok;
		if (!ev->ok)
			n->draining = false;
		break;
	case RES_EV_CONFIRM_DOWN:
		if (n->member) {
			res_note(st, 2, n->name, "node '%s' is a member: confirm-down ignored", n->name);
			break;
		}
		if (n->fence == RES_F_NEEDED || n->fence == RES_F_FENCING)
			res_node_fenced(st, ni, "was confirmed down by the administrator");
		break;
	default:
		break;
	}
}

void res_apply_event(struct res_st *st)
{
	switch (st->ev->type) {
	case RES_EV_RESULT: ev_result(st); break;
	case RES_EV_FENCE_RESULT: ev_fence_result(st); break;
	case RES_EV_GROUP_ONLINE:
	case RES_EV_GROUP_OFFLINE:
	case RES_EV_GROUP_MOVE:
	case RES_EV_GROUP_MIGRATE:
	case RES_EV_MIGRATE_CANCEL: ev_group(st); break;
	case RES_EV_NODE_DRAIN:
	case RES_EV_NODE_PAUSE:
	case RES_EV_CONFIRM_DOWN: ev_node(st); break;
	case RES_EV_TICK:
	case RES_EV_CONFIG:
	default:
		break;
	}
}

/* res_plan.c - res_step() and the placement of groups.
 *
 * Each step: membership, the event, fencing, then every group in placement
 * order (priority, then name) is planned: stopped top-down, run bottom-up,
 * or placed on a node. Placement, step by step:
 *   1. candidates: member, not fenced, not paused or draining, a possible
 *      owner of every resource, memory left for the group, and (enforced
 *      anti-affinity) no other group of its class;
 *   2. rank in the preferred owners (a failover rotates the list to start
 *      after the node it leaves);
 *   3. fewer groups of the same anti-affinity class;
 *   4. fewer groups;
 *   5. lowest node id.
 * Pure: no I/O, no clock (time is ev->now_ms), no globals.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_str.h"
#include "res_int.h"

#define DAY_MS (24 * 3600 * 1000LL)

bool res_node_usable(const struct res_model *m, int n)
{
	return n >= 0 && m->nodes[n].member && m->nodes[n].fence == RES_F_NONE;
}

int res_count_since(const int64_t *times, int n, int64_t since)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		if (times[i] > since)
			c++;
	return c;
}

void res_hist_add(int64_t *times, int *n, int64_t t, int64_t since)
{
	int i, k = 0;

	/* drop what fell out of the period, then the oldest if still full */
	for (i = 0; i < *n; i++)
		if (times[i] > since)
			times[k++] = times[i];
	if (k == RES_HIST_MAX) {
		memmove(times, times + 1, (RES_HIST_MAX - 1) * sizeof(*times));
		k--;
	}
	times[k++] = t;
	*n = k;
}

int res_failover_threshold(const struct res_model *m, const struct res_group *g)
{
	if (g->failover_threshold >= 0)
		return g->failover_threshold;
	return m->nnodes > 0 ? (int)m->nnodes - 1 : 0;
}

bool res_group_failover(struct res_st *st, int gi, const char *why)
{
	struct res_group *g = &st->m->groups[gi];
	int64_t now = st->ev->now_ms;
	int thr = res_failover_threshold(st->m, g);
	int done = res_count_since(g->failovers, g->nfailovers, now - g->failover_period_ms);
	char reason[RES_REASON_MAX];

	res_changed(st, RES_CH_GROUP, gi);
	if (g->prio == RES_PRIO_NO_AUTO) {
		g->want_online = false;
		snprintf(reason, sizeof(reason), "priority no-auto-start: not started again after: %s", why);
		res_set_reason(st, RES_CH_GROUP, gi, g->reason, reason);
		res_note(st, 2, g->name, "group '%s': %s", g->name, reason);
		return false;
	}
	if (done >= thr) {
		g->failed = true;
		g->moving = false;
		g->failing_over = false;
		snprintf(reason, sizeof(reason), "failed over %d times in %lld h (threshold %d): left Failed; last: %s",
			 done, (long long)(g->failover_period_ms / 3600000), thr, why);
		res_set_reason(st, RES_CH_GROUP, gi, g->reason, reason);
		res_note(st, 3, g->name, "group '%s': %s", g->name, reason);
		return false;
	}
	res_hist_add(g->failovers, &g->nfailovers, now, now - g->failover_period_ms);
	snprintf(reason, sizeof(reason), "failing over (%d of %d in %lld h): %s", done + 1, thr,
		 (long long)(g->failover_period_ms / 3600000), why);
	res_set_reason(st, RES_CH_GROUP, gi, g->reason, reason);
	res_note(st, 2, g->name, "group '%s': %s", g->name, reason);
	return true;
}

/* ---- usage: memory, groups and anti-affinity classes per node ---- */

static int64_t group_mem(const struct res_model *m, const struct res_group *g)
{
	int64_t sum = 0;
	int k;

	for (k = 0; k < g->nres; k++)
		sum += m->res[g->res[k]].memory_mb;
	return sum;
}

/* Where a group counts: its active node, else its owner if it will start there. */
static uint32_t counted_on(const struct res_model *m, int gi)
{
	const struct res_group *g = &m->groups[gi];
	uint32_t a = res_group_active_node(m, gi);

	if (a != RES_NODE_ANY)
		return a;
	if (g->want_online && !g->failed && !g->moving && g->owner != RES_NODE_ANY &&
	    res_node_usable(m, res_node_find(m, g->owner)))
		return g->owner;
	return RES_NODE_ANY;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int aa_index(const struct res_st *st, const char *cls)
{
	int lo = 0, hi = st->naa;

	while (cls[0] && lo < hi) {
		int mid = (lo + hi) / 2, c = strcmp(st->aa_names[mid], cls);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static void usage_add(struct res_st *st, int gi, uint32_t node, int sign)
{
	struct res_model *m = st->m;
	int ni = res_node_find(m, node), a;

	if (ni < 0)
		return;
	m->used_mb[ni] += sign * group_mem(m, &m->groups[gi]);
	m->ngrp_on[ni] += sign;
	a = aa_index(st, m->groups[gi].aa_class);
	if (a >= 0)
		st->aa_count[(size_t)a * m->nnodes + (size_t)ni] += sign;
}

static int usage(struct res_st *st)
{
	struct res_model *m = st->m;
	size_t i;
	int n = 0, k = 0;

	memset(m->used_mb, 0, m->nnodes * sizeof(*m->used_mb));
	memset(m->ngrp_on, 0, m->nnodes * sizeof(*m->ngrp_on));
	st->aa_names = malloc((m->ngroups + 1) * sizeof(char *));
	if (st->aa_names == NULL)
		return -ENOMEM;
	for (i = 0; i < m->ngroups; i++)
		if (m->groups[i].aa_class[0])
			st->aa_names[n++] = m->groups[i].aa_class;
	qsort(st->aa_names, (size_t)n, sizeof(char *), str_cmp);
	for (i = 0; i < (size_t)n; i++)
		if (k == 0 || strcmp(st->aa_names[k - 1], st->aa_names[i]) != 0)
			st->aa_names[k++] = st->aa_names[i];
	st->naa = k;
	st->aa_count = calloc((size_t)k * m->nnodes + 1, sizeof(int));
	if (st->aa_count == NULL)
		return -ENOMEM;
	for (i = 0; i < m->ngroups; i++)
		usage_add(st, (int)i, counted_on(m, (int)i), 1);
	return 0;
}

/* ---- candidates and the choice of a node ---- */

enum why_not { WN_DOWN, WN_PAUSED, WN_POSSIBLE, WN_MEMORY, WN_AA, WN_COUNT };

static int check_node(const struct res_st *st, int gi, int ni, uint32_t counted)
{
	const struct res_model *m = st->m;
	const struct res_group *g = &m->groups[gi];
	const struct res_node *n = &m->nodes[ni];
	int k, a;

	if (!res_node_usable(m, ni))
		return WN_DOWN;
	if (n->paused || n->draining)
		return WN_PAUSED;
	for (k = 0; k < g->nres; k++) {
		const struct res_resource *r = &m->res[g->res[k]];
		int j;

		if (r->npossible == 0)
			continue;
		for (j = 0; j < r->npossible; j++)
			if (r->possible[j] == n->id)
				break;
		if (j == r->npossible)
			return WN_POSSIBLE;
	}
	if (n->memory_mb > 0 && counted != n->id && m->used_mb[ni] + group_mem(m, g) > n->memory_mb)
		return WN_MEMORY;
	a = aa_index(st, g->aa_class);
	if (st->ev->enforced_aa && a >= 0 &&
	    st->aa_count[(size_t)a * m->nnodes + (size_t)ni] - (counted == n->id ? 1 : 0) > 0)
		return WN_AA;
	return -1;
}

static int pref_rank(const struct res_group *g, uint32_t id, uint32_t after)
{
	int k, start = -1;

	for (k = 0; after && k < g->npreferred; k++)
		if (g->preferred[k] == after)
			start = k;
	for (k = 0; k < g->npreferred; k++)
		if (g->preferred[k] == id)
			return start < 0 ? k : (k - start - 1 + 2 * g->npreferred) % g->npreferred;
	return g->npreferred;
}

struct choice {
	int ni;
	int rank, aa, ngrp;
	int why[WN_COUNT];
};

/* Is candidate x better than the best so far (steps 2-5)? */
static bool better(const struct choice *x, const struct choice *best, const struct res_model *m, int xi)
{
	if (best->ni < 0)
		return true;
	if (x->rank != best->rank)
		return x->rank < best->rank;
	if (x->aa != best->aa)
		return x->aa < best->aa;
	if (x->ngrp != best->ngrp)
		return x->ngrp < best->ngrp;
	return m->nodes[xi].id < m->nodes[best->ni].id;
}

static int choose(struct res_st *st, int gi, uint32_t after, uint32_t exclude, uint32_t counted,
		  struct choice *best)
{
	const struct res_model *m = st->m;
	const struct res_group *g = &m->groups[gi];
	int a = aa_index(st, g->aa_class);
	size_t i;

	memset(best, 0, sizeof(*best));
	best->ni = -1;
	for (i = 0; i < m->nnodes; i++) {
		struct choice c;
		int wn;

		if (m->nodes[i].id == exclude)
			continue;
		wn = check_node(st, gi, (int)i, counted);
		if (wn >= 0) {
			best->why[wn]++;
			continue;
		}
		c.ni = (int)i;
		c.rank = pref_rank(g, m->nodes[i].id, after);
		c.aa = a >= 0 ? st->aa_count[(size_t)a * m->nnodes + i] - (counted == m->nodes[i].id) : 0;
		c.ngrp = m->ngrp_on[i] - (counted == m->nodes[i].id);
		if (better(&c, best, m, (int)i)) {
			int why[WN_COUNT];

			memcpy(why, best->why, sizeof(why));
			*best = c;
			memcpy(best->why, why, sizeof(why));
		}
	}
	return best->ni;
}

static void why_none(const struct choice *c, char *buf, size_t len)
{
	snprintf(buf, len, "no node can take it (down %d, paused %d, not a possible owner %d,"
		 " memory %d, anti-affinity %d)", c->why[WN_DOWN], c->why[WN_PAUSED], c->why[WN_POSSIBLE],
		 c->why[WN_MEMORY], c->why[WN_AA]);
}

/* ---- running, stopping and placing a group ---- */

static bool inactive(const struct res_resource *r)
{
	return r->state == RES_S_OFFLINE || (r->state == RES_S_FAILED && r->node == RES_NODE_ANY);
}

static bool dependents_down(const struct res_model *m, const struct res_resource *r)
{
	int k;

	for (k = 0; k < r->nrdeps; k++)
		if (!inactive(&m->res[r->rdeps[k]]))
			return false;
	return true;
}

/* A resource that is going down, or must: failed, stopping, or online with
 * a dependency that is going down. Transitive, so that a failure at the
 * bottom of a chain takes the whole chain down top-down. Dependencies are
 * acyclic (refused at write time); depth bounds a corrupt input anyway. */
static bool doomed_depth(const struct res_model *m, const struct res_resource *r, int depth);

static bool dep_usable(const struct res_model *m, int d, int depth)
{
	return m->res[d].state == RES_S_ONLINE && !doomed_depth(m, &m->res[d], depth + 1);
}

static bool deps_ok_depth(const struct res_model *m, const struct res_resource *r, int depth)
{
	int k, up = 0;

	if (depth > 64)
		return false;
	for (k = 0; k < r->ndeps; k++)
		if (dep_usable(m, r->deps[k], depth))
			up++;
	return r->ndeps == 0 || (r->dep_or ? up > 0 : up == r->ndeps);
}

static bool doomed_depth(const struct res_model *m, const struct res_resource *r, int depth)
{
	if (r->state == RES_S_FAILED || r->state == RES_S_OFFLINE_PENDING)
		return true;
	return r->state == RES_S_ONLINE && !deps_ok_depth(m, r, depth);
}

/* Every dependency online and staying so (all of them, or any with "or"). */
static bool deps_up(const struct res_model *m, const struct res_resource *r)
{
	return deps_ok_depth(m, r, 0);
}

static void stop_group(struct res_st *st, int gi, uint32_t node, const char *why)
{
	struct res_model *m = st->m;
	struct res_group *g = &m->groups[gi];
	int k;

	for (k = 0; k < g->nres; k++) {
		int ri = g->res[k];
		struct res_resource *r = &m->res[ri];

		if (r->node != node || !dependents_down(m, r))
			continue;
		if (r->state == RES_S_ONLINE) {
			res_set_state(st, ri, RES_S_OFFLINE_PENDING, node, why);
		} else if (r->state == RES_S_FAILED && !r->stop_failed) {
			/* clean up what a failure may have left; keep showing the
			 * failure only when the group itself is left Failed */
			r->restart_wanted = false;
			r->keep_failed = g->failed;
			res_set_state(st, ri, RES_S_OFFLINE_PENDING, node, g->failed ? r->reason : why);
		}
	}
}

static void run_group(struct res_st *st, int gi, uint32_t node)
{
	struct res_model *m = st->m;
	struct res_group *g = &m->groups[gi];
	char why[RES_REASON_MAX];
	int k;

	for (k = 0; k < g->nres; k++) {
		int ri = g->res[k];
		struct res_resource *r = &m->res[ri];

		if (r->state == RES_S_FAILED && r->node == node && !r->stop_failed && dependents_down(m, r)) {
			bool again = r->restart_wanted;

			r->restart_wanted = false;
			r->keep_failed = !again;
			cm_strlcpy(why, again ? "stopping what is left before the restart" : r->reason, sizeof(why));
			res_set_state(st, ri, RES_S_OFFLINE_PENDING, node, why);
		} else if (r->state == RES_S_ONLINE && !deps_up(m, r) && dependents_down(m, r)) {
			res_set_state(st, ri, RES_S_OFFLINE_PENDING, node, "a dependency is going offline or failed");
		} else if (r->state == RES_S_OFFLINE && !r->held && deps_up(m, r)) {
			snprintf(why, sizeof(why), "group '%s' is online on this node", g->name);
			res_set_state(st, ri, RES_S_ONLINE_PENDING, node, why);
		}
	}
}

static bool in_window(const struct res_group *g, const struct res_event *ev, int64_t *wake)
{
	int64_t local = ev->now_ms + (int64_t)ev->tz_offset_min * 60000;
	int64_t day = ((local % DAY_MS) + DAY_MS) % DAY_MS;
	int h = (int)(day / 3600000);
	int64_t wait;

	if (g->failback != RES_FB_WINDOW || g->fb_start_h == g->fb_end_h)
		return true;
	if (g->fb_start_h < g->fb_end_h ? (h >= g->fb_start_h && h < g->fb_end_h)
					: (h >= g->fb_start_h || h < g->fb_end_h))
		return true;
	wait = ((int64_t)g->fb_start_h * 3600000 - day + DAY_MS) % DAY_MS;
	*wake = ev->now_ms + wait;
	return false;
}

static void wake_at(struct res_st *st, int64_t t)
{
	if (t > 0 && (st->p->next_wake_ms == 0 || t < st->p->next_wake_ms))
		st->p->next_wake_ms = t;
}

/* Can the group leave node ni (for node to, or any other)? Else why not. */
static bool can_leave(struct res_st *st, int gi, int ni, uint32_t to, char *why, size_t len)
{
	const struct res_model *m = st->m;
	uint32_t from = m->nodes[ni].id;
	struct choice c;
	int ti;

	if (to != RES_NODE_ANY && (ti = res_node_find(m, to)) >= 0 && check_node(st, gi, ti, from) < 0)
		return true;
	if (choose(st, gi, RES_NODE_ANY, from, from, &c) >= 0)
		return true;
	why_none(&c, why, len);
	return false;
}

uint32_t res_mig_target(struct res_st *st, int gi, uint32_t from, uint32_t to, char *why, size_t len)
{
	const struct res_model *m = st->m;
	struct choice c;
	int ti;

	if (to != RES_NODE_ANY) {
		ti = res_node_find(m, to);
		if (ti < 0 || to == from) {
			snprintf(why, len, "the target is not another node of the cluster");
			return RES_NODE_ANY;
		}
		switch (check_node(st, gi, ti, from)) {
		case -1: break;
		case WN_DOWN: snprintf(why, len, "node '%s' is down", m->nodes[ti].name); return RES_NODE_ANY;
		case WN_PAUSED: snprintf(why, len, "node '%s' is paused", m->nodes[ti].name); return RES_NODE_ANY;
		case WN_POSSIBLE:
			snprintf(why, len, "node '%s' is not a possible owner", m->nodes[ti].name);
			return RES_NODE_ANY;
		case WN_MEMORY:
			snprintf(why, len, "node '%s' lacks the memory", m->nodes[ti].name);
			return RES_NODE_ANY;
		default:
			snprintf(why, len, "node '%s' holds a group of the same anti-affinity class",
				 m->nodes[ti].name);
			return RES_NODE_ANY;
		}
	} else {
		ti = choose(st, gi, RES_NODE_ANY, from, from, &c);
		if (ti < 0) {
			why_none(&c, why, len);
			return RES_NODE_ANY;
		}
		to = m->nodes[ti].id;
	}
	/* count it there now: several migrations planned in one step spread out */
	usage_add(st, gi, from, -1);
	usage_add(st, gi, to, 1);
	return to;
}

static void start_move(struct res_st *st, int gi, uint32_t to, const char *why)
{
	struct res_group *g = &st->m->groups[gi];

	g->moving = true;
	g->failing_over = false;
	g->admin_move = false;
	g->move_to = to;
	res_changed(st, RES_CH_GROUP, gi);
	res_set_reason(st, RES_CH_GROUP, gi, g->reason, why);
	res_note(st, 1, g->name, "group '%s': %s", g->name, why);
}

/* A group running on node ni that should leave: drain, possible owners, failback. */
static void move_triggers(struct res_st *st, int gi, int ni)
{
	struct res_model *m = st->m;
	struct res_group *g = &m->groups[gi];
	const struct res_node *n = &m->nodes[ni];
	char why[2 * RES_REASON_MAX];
	int k, own;
	int64_t wake = 0;

	if (n->draining) {
		char none[RES_REASON_MAX];

		if (!can_leave(st, gi, ni, RES_NODE_ANY, none, sizeof(none))) {
			snprintf(why, sizeof(why), "cannot leave draining node '%s': %s", n->name, none);
			res_set_reason(st, RES_CH_GROUP, gi, g->reason, why);
			st->drain_blocked[ni]++;
			return;
		}
		if (res_mig_can(m, gi)) {
			int running, par = st->ev->drain_parallel > 0 ? st->ev->drain_parallel : 2;

			if (g->mig_retry_ms > st->ev->now_ms) {
				st->drain_blocked[ni]++; /* live and quick migration failed */
				return;
			}
			res_mig_count_from(m, n->id, &running);
			if (running >= par)
				return; /* its turn comes when one of them is done */
			snprintf(why, sizeof(why), "live-migrating off node '%s', which is draining", n->name);
			res_mig_request(st, gi, RES_NODE_ANY, RES_MIG_LIVE, false, why);
			res_mig_plan(st, gi, n->id);
			return;
		}
		snprintf(why, sizeof(why), "moving off node '%s', which is draining", n->name);
		start_move(st, gi, RES_NODE_ANY, why);
		return;
	}
	for (k = 0; k < g->nres; k++) {
		const struct res_resource *r = &m->res[g->res[k]];
		int j;

		for (j = 0; j < r->npossible && r->possible[j] != n->id; j++)
			;
		if (r->npossible > 0 && j == r->npossible) {
			char none[RES_REASON_MAX];

			if (can_leave(st, gi, ni, RES_NODE_ANY, none, sizeof(none)))
				snprintf(why, sizeof(why), "node '%s' is no longer a possible owner of '%s'", n->name,
					 r->name);
			else
				snprintf(why, sizeof(why), "node '%s' is no longer a possible owner of '%s'; moving"
					 " anyway would leave it offline: %s", n->name, r->name, none);
			/* the administrator excluded this node: leave it even when
			 * nothing else can take the group */
			start_move(st, gi, RES_NODE_ANY, why);
			return;
		}
	}
	/* failback brings a group back to a preferred owner that returned; it
	 * never undoes the administrator's move (a move is a command, WSFC) */
	if (g->failback == RES_FB_NEVER || g->npreferred == 0 || g->pinned ||
	    res_group_state(m, gi) != RES_G_ONLINE)
		return;
	own = pref_rank(g, n->id, 0);
	for (k = 0; k < own && k < g->npreferred; k++) {
		int bi = res_node_find(m, g->preferred[k]);

		if (bi < 0 || check_node(st, gi, bi, n->id) >= 0)
			continue;
		if (!in_window(g, st->ev, &wake)) {
			wake_at(st, wake);
			return;
		}
		if (res_mig_can(m, gi)) {
			if (g->mig_retry_ms > st->ev->now_ms)
				return;
			snprintf(why, sizeof(why), "failing back to preferred owner '%s' by live migration",
				 m->nodes[bi].name);
			res_mig_request(st, gi, m->nodes[bi].id, RES_MIG_LIVE, false, why);
			res_mig_plan(st, gi, n->id);
			return;
		}
		snprintf(why, sizeof(why), "failing back to preferred owner '%s'", m->nodes[bi].name);
		start_move(st, gi, m->nodes[bi].id, why);
		return;
	}
}

static void place_group(struct res_st *st, int gi)
{
	struct res_model *m = st->m;
	struct res_group *g = &m->groups[gi];
	uint32_t was = counted_on(m, gi), target = RES_NODE_ANY;
	bool fresh = g->moving;
	struct choice c;
	char why[RES_REASON_MAX] = "";
	int k;

	if (g->moving && g->move_to != RES_NODE_ANY) {
		int ti = res_node_find(m, g->move_to);

		if (ti >= 0 && check_node(st, gi, ti, was) < 0) {
			target = g->move_to;
			cm_strlcpy(why, g->admin_move ? "moved as requested" : g->reason, sizeof(why));
		} else {
			res_note(st, 2, g->name, "group '%s': the move target cannot take it now; choosing another node",
				 g->name);
		}
	}
	if (target == RES_NODE_ANY && !g->moving && g->owner != RES_NODE_ANY) {
		int oi = res_node_find(m, g->owner);

		if (oi >= 0 && check_node(st, gi, oi, was) < 0) {
			target = g->owner;
			snprintf(why, sizeof(why), "stays on its owner");
		}
	}
	if (target == RES_NODE_ANY) {
		uint32_t exclude = g->moving ? g->owner : RES_NODE_ANY;
		int ni = choose(st, gi, g->failing_over ? g->owner : RES_NODE_ANY, exclude, was, &c);

		if (ni < 0 && exclude != RES_NODE_ANY)
			ni = choose(st, gi, RES_NODE_ANY, RES_NODE_ANY, was, &c); /* the old node is all there is */
		if (ni < 0) {
			why_none(&c, why, sizeof(why));
			res_set_reason(st, RES_CH_GROUP, gi, g->reason, why);
			return;
		}
		target = m->nodes[ni].id;
		if (c.rank < g->npreferred)
			snprintf(why, sizeof(why), "preferred owner #%d", pref_rank(g, target, 0) + 1);
		else
			snprintf(why, sizeof(why), "best node: %d groups there", c.ngrp);
	}
	usage_add(st, gi, was, -1);
	usage_add(st, gi, target, 1);
	if (g->owner != target || g->moving) {
		int ti = res_node_find(m, target);

		res_note(st, 1, g->name, "group '%s' placed on '%s' (%s)", g->name, m->nodes[ti].name, why);
	}
	g->owner = target;
	/* an administrator's placement stays until something else moves it */
	g->pinned = g->moving && g->admin_move;
	g->moving = g->failing_over = g->admin_move = false;
	g->move_to = RES_NODE_ANY;
	res_changed(st, RES_CH_GROUP, gi);
	for (k = 0; k < g->nres; k++) {
		int ri = g->res[k];
		struct res_resource *r = &m->res[ri];
		char rwhy[RES_REASON_MAX + RES_NAME_MAX + 32];

		if (r->held || !deps_up(m, r) || !(r->state == RES_S_OFFLINE || (fresh && r->state == RES_S_FAILED)))
			continue;
		snprintf(rwhy, sizeof(rwhy), "group '%s' placed here: %s", g->name, why);
		res_set_state(st, ri, RES_S_ONLINE_PENDING, target, rwhy);
	}
}

static void plan_group(struct res_st *st, int gi)
{
	struct res_model *m = st->m;
	struct res_group *g = &m->groups[gi];
	uint32_t a = res_group_active_node(m, gi);
	char why[RES_REASON_MAX];

	if (a == RES_NODE_ANY) {
		if (g->want_online && !g->failed) {
			place_group(st, gi);
		} else if (g->moving) {
			/* moving a group that is offline changes its owner only */
			if (g->move_to != RES_NODE_ANY && res_node_find(m, g->move_to) >= 0) {
				g->owner = g->move_to;
				g->pinned = g->admin_move;
				res_note(st, 1, g->name, "group '%s' (not online) now belongs to '%s'", g->name,
					 m->nodes[res_node_find(m, g->move_to)].name);
			}
			g->moving = g->failing_over = g->admin_move = false;
			g->move_to = RES_NODE_ANY;
			res_changed(st, RES_CH_GROUP, gi);
		}
		return;
	}
	{
		int ai = res_node_find(m, a);

		if (!res_node_usable(m, ai)) {
			snprintf(why, sizeof(why), "waiting until node '%s' is fenced", ai >= 0 ? m->nodes[ai].name : "?");
			res_set_reason(st, RES_CH_GROUP, gi, g->reason, why);
			return;
		}
		if (strncmp(g->reason, "waiting until node", 18) == 0) {
			snprintf(why, sizeof(why), "node '%s' is back; its resources stayed there", m->nodes[ai].name);
			res_set_reason(st, RES_CH_GROUP, gi, g->reason, why);
		}
		if (res_mig_plan(st, gi, a))
			return;
		if (g->want_online && !g->failed && !g->moving)
			move_triggers(st, gi, ai);
		if (g->mig_running)
			return;
		if (g->moving && g->admin_move && res_group_state(m, gi) == RES_G_ONLINE &&
		    !can_leave(st, gi, ai, g->move_to, why, sizeof(why))) {
			char text[RES_REASON_MAX + 32];

			/* nothing stopped yet: refuse the move rather than stop the group */
			snprintf(text, sizeof(text), "move cancelled: %s", why);
			g->moving = g->admin_move = false;
			g->move_to = RES_NODE_ANY;
			res_set_reason(st, RES_CH_GROUP, gi, g->reason, text);
			res_note(st, 2, g->name, "group '%s': %s", g->name, text);
		}
		if (!g->want_online || g->failed || g->moving) {
			snprintf(why, sizeof(why), g->moving ? "group '%s' is moving" : "group '%s' is going offline",
				 g->name);
			stop_group(st, gi, a, why);
		} else {
			run_group(st, gi, a);
		}
	}
}

static void drains(struct res_st *st)
{
	struct res_model *m = st->m;
	size_t i, g;

	for (i = 0; i < m->nnodes; i++) {
		struct res_node *n = &m->nodes[i];

		if (!n->draining)
			continue;
		int active = 0;

		for (g = 0; g < m->ngroups; g++)
			if (res_group_active_node(m, (int)g) == n->id)
				active++;
		if (active > st->drain_blocked[i])
			continue;
		n->draining = false;
		res_changed(st, RES_CH_NODE, (int)i);
		if (active == 0)
			res_note(st, 1, n->name, "drain of node '%s' complete; it stays paused", n->name);
		else
			res_note(st, 2, n->name, "drain of node '%s' ended with %d group(s) left on it: no other node"
				 " can take them (see 'cluadmin group list'); it stays paused", n->name, active);
	}
}

void res_plan_groups(struct res_st *st)
{
	size_t i;

	if (usage(st) < 0) {
		st->p->rc = -ENOMEM;
		return;
	}
	for (i = 0; i < st->m->ngroups; i++)
		plan_group(st, st->m->order[i]);
	drains(st);
}

int res_step(struct res_model *m, const struct res_event *ev, struct res_plan *p)
{
	struct res_st st = { m, ev, p, NULL, NULL, 0, NULL };

	p->nactions = p->nchanges = p->nnotes = 0;
	p->next_wake_ms = 0;
	p->rc = 0;
	if (!m->finished)
		return -CM_E_ARGS;
	/* without quorum nothing changes and nothing starts */
	if (!ev->quorate)
		return 0;
	st.drain_blocked = calloc(m->nnodes + 1, sizeof(int));
	if (st.drain_blocked == NULL)
		return -ENOMEM;
	res_membership(&st);
	res_apply_event(&st);
	res_fencing(&st);
	res_plan_groups(&st);
	free(st.aa_names);
	free(st.aa_count);
	free(st.drain_blocked);
	return p->rc;
}

void res_plan_free(struct res_plan *p)
{
	if (p == NULL)
		return;
	free(p->actions);
	free(p->changes);
	free(p->notes);
	memset(p, 0, sizeof(*p));
}

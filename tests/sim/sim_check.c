/* sim_check.c - the invariants of the simulated cluster, and the history
 * that `assert order` reads.
 *
 * The truth is what the fake executors run (sim_node.xs), not what the
 * replicas believe. Checked when an operation begins (sim_check_op):
 *  1. a resource runs on at most one node, a group is active on one node;
 *  2. nothing starts in a partition without quorum;
 *  3. a resource starts only where its dependencies are online (AND: all,
 *     OR: one), and not while a dependent still runs on top of it; it stops
 *     only after its dependents stopped;
 *  4. nothing of a lost node's groups starts elsewhere before that node was
 *     fenced, confirmed down or rebooted (unless fencing is off);
 *  5. a resource starts only on its possible owners;
 *  6. a node's memory is never exceeded by the groups active on it;
 *  7. with enforced anti-affinity, no two groups of a class share a node.
 * After every message (sim_check_replica, with the replica comparison in
 * sim_world.c): every member's replica is the same, and no group has
 * resources active on two nodes in it; in the truth, no group runs on two
 * nodes (sim_check_groups, also at every switchover).
 * Before a MIGRATE (sim_check_migrate): the group is wholly online on the
 * source and absent from the target.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim.h"

void sim_fail(struct sim_world *w, const char *fmt, ...)
{
	char ts[48];
	va_list ap;

	fprintf(w->out, "%s INVARIANT VIOLATED: ", sim_time_str(w, w->now, ts, sizeof(ts)));
	va_start(ap, fmt);
	vfprintf(w->out, fmt, ap);
	va_end(ap);
	fputc('\n', w->out);
	w->failed = true;
}

int64_t sim_group_mb(const struct res_model *m, int g)
{
	int64_t mb = 0;
	int i;

	for (i = 0; i < m->groups[g].nres; i++)
		mb += m->res[m->groups[g].res[i]].memory_mb;
	return mb;
}

void sim_x_set(struct sim_world *w, struct sim_node *n, int r, enum sim_x s)
{
	bool was = n->xs[r] != SIM_X_STOPPED, is = s != SIM_X_STOPPED;
	int g = n->m->res[r].group;

	n->xs[r] = (uint8_t)s;
	if (!is)
		n->xwatch[r] = 0;
	if (was && !is)
		n->gact[g]--;
	else if (!was && is)
		n->gact[g]++;
}

static bool has_dep(const struct res_resource *r, int d)
{
	int i;

	for (i = 0; i < r->ndeps; i++)
		if (r->deps[i] == d)
			return true;
	return false;
}

/* Does resource d still stand on n without r? (OR: another dependency runs) */
static bool needs(const struct res_model *m, const struct sim_node *n, int d, int r)
{
	const struct res_resource *dr = &m->res[d];
	int i;

	if (!dr->dep_or)
		return true;
	for (i = 0; i < dr->ndeps; i++)
		if (dr->deps[i] != r && n->xs[dr->deps[i]] == SIM_X_RUNNING)
			return false;
	return true;
}

/* 3: dependents of r still running on n (that need r). */
static void check_dependents(struct sim_world *w, const struct sim_node *n, int r, const char *what)
{
	const struct res_model *m = n->m;
	const struct res_group *g = &m->groups[m->res[r].group];
	int i, d;

	for (i = 0; i < g->nres; i++) {
		d = g->res[i];
		if (d != r && n->xs[d] != SIM_X_STOPPED && has_dep(&m->res[d], r) && needs(m, n, d, r))
			sim_fail(w, "'%s' %s on node %u while its dependent '%s' still runs there",
				 m->res[r].name, what, n->id, m->res[d].name);
	}
}

static void check_start(struct sim_world *w, struct sim_node *n, int r)
{
	const struct res_model *m = n->m;
	const struct res_resource *rs = &m->res[r];
	const struct res_group *grp = &m->groups[rs->group];
	uint32_t mem[SIM_MAX_NODES], k;
	size_t nm;
	int i, g = rs->group, ok = 0;
	int64_t used = 0, cap;

	if (!sim_partition(w, n->id, mem, &nm) || !sim_quorate(w, nm))                 /* 2 */
		sim_fail(w, "'%s' started on node %u in a partition without quorum", rs->name, n->id);
	for (k = 1; k <= w->nnodes; k++) {                                             /* 1, 4 */
		struct sim_node *o = sim_node(w, k);

		if (o == n)
			continue;
		if (o->xs[r] != SIM_X_STOPPED)
			sim_fail(w, "'%s' started on node %u while it runs on node %u", rs->name, n->id, k);
		else if (o->gact[g] > 0)
			sim_fail(w, "group '%s' started on node %u while active on node %u",
				 grp->name, n->id, k);
		if (o->unsafe[g] && !w->fencing_off)
			sim_fail(w, "group '%s' started on node %u before node %u, lost while running it, "
				 "was fenced or confirmed down", grp->name, n->id, k);
	}
	for (i = 0; i < rs->ndeps; i++)                                                /* 3 */
		if (n->xs[rs->deps[i]] == SIM_X_RUNNING)
			ok++;
	if (rs->ndeps && (rs->dep_or ? ok == 0 : ok < rs->ndeps))
		sim_fail(w, "'%s' started on node %u before its dependencies are online there",
			 rs->name, n->id);
	check_dependents(w, n, r, "starts again");
	if (rs->npossible) {                                                           /* 5 */
		for (i = 0; i < rs->npossible && rs->possible[i] != n->id; i++)
			;
		if (i == rs->npossible)
			sim_fail(w, "'%s' started on node %u, which is not a possible owner", rs->name, n->id);
	}
	if (n->gact[g] > 0)
		return;         /* the group is already here: no new memory or class */
	cap = m->nodes[res_node_find(m, n->id)].memory_mb;
	for (i = 0; (size_t)i < m->ngroups; i++) {
		if (n->gact[i] == 0)
			continue;
		used += sim_group_mb(m, i);
		if (w->enforced_aa && grp->aa_class[0] &&                               /* 7 */
		    strcmp(m->groups[i].aa_class, grp->aa_class) == 0)
			sim_fail(w, "group '%s' started on node %u beside '%s' of anti-affinity class '%s'",
				 grp->name, n->id, m->groups[i].name, grp->aa_class);
	}
	if (cap > 0 && used + sim_group_mb(m, g) > cap)                                 /* 6 */
		sim_fail(w, "group '%s' (%lld MB) started on node %u with %lld of %lld MB in use",
			 grp->name, (long long)sim_group_mb(m, g), n->id, (long long)used, (long long)cap);
}

void sim_check_op(struct sim_world *w, struct sim_node *n, int r, int op)
{
	if (op == RES_OP_ONLINE && n->xs[r] != SIM_X_RUNNING && n->xs[r] != SIM_X_STARTING)
		check_start(w, n, r);
	else if (op == RES_OP_OFFLINE && n->xs[r] != SIM_X_STOPPED)
		check_dependents(w, n, r, "stops");
}

void sim_check_replica(struct sim_world *w, const struct res_model *m)
{
	const struct res_group *g;
	const struct res_resource *r;
	uint32_t at;
	size_t gi;
	int i;

	for (gi = 0; gi < m->ngroups; gi++) {
		g = &m->groups[gi];
		at = 0;
		for (i = 0; i < g->nres; i++) {
			r = &m->res[g->res[i]];
			if (r->state != RES_S_ONLINE_PENDING && r->state != RES_S_ONLINE &&
			    r->state != RES_S_OFFLINE_PENDING)
				continue;
			if (at && r->node != at)
				sim_fail(w, "replica: group '%s' is active on node %u and node %u",
					 g->name, at, r->node);
			at = r->node;
		}
	}
}

void sim_check_groups(struct sim_world *w)
{
	uint32_t id, at;
	size_t g;

	for (g = 0; g < w->ngroups && !w->failed; g++) {
		for (id = 1, at = 0; id <= w->nnodes; id++) {
			if (sim_node(w, id)->gact[g] == 0)
				continue;
			if (at)
				sim_fail(w, "group '%s' runs on node %u and node %u",
					 sim_node(w, id)->m->groups[g].name, at, id);
			at = id;
		}
	}
}

void sim_check_migrate(struct sim_world *w, struct sim_node *n, const struct res_action *a)
{
	const struct res_model *m = n->m;
	const struct res_group *g = &m->groups[m->res[a->res].group];
	const struct sim_node *to = sim_node(w, a->target);
	int k, ri;

	if (m->res[a->res].mig != RES_MIGK_DRIVE)
		sim_fail(w, "MIGRATE of '%s' (type %s), which cannot drive a migration", m->res[a->res].name,
			 m->res[a->res].type);
	if (to == NULL || to == n || !sim_in_view(to))
		sim_fail(w, "MIGRATE of '%s' from node %u to node %u, not another member", m->res[a->res].name,
			 n->id, a->target);
	for (k = 0; k < g->nres && !w->failed; k++) {
		ri = g->res[k];
		if (m->res[ri].state != RES_S_ONLINE || m->res[ri].node != n->id)
			sim_fail(w, "MIGRATE of group '%s' from node %u while '%s' is %s on node %u (replica)",
				 g->name, n->id, m->res[ri].name, res_state_to_str(m->res[ri].state), m->res[ri].node);
		else if (n->xs[ri] != SIM_X_RUNNING || n->xop[ri])
			sim_fail(w, "MIGRATE of group '%s' from node %u while '%s' is not simply running there",
				 g->name, n->id, m->res[ri].name);
		else if (to && to->xs[ri] != SIM_X_STOPPED)
			sim_fail(w, "MIGRATE of group '%s' to node %u, where '%s' already runs", g->name,
				 a->target, m->res[ri].name);
	}
}

void sim_mark_unsafe(struct sim_world *w, struct sim_node *lost)
{
	size_t r;

	for (r = 0; r < w->nres; r++)
		if (lost->xs[r] != SIM_X_STOPPED)
			lost->unsafe[lost->m->res[r].group] = 1;
}

void sim_clear_unsafe(struct sim_world *w, struct sim_node *n)
{
	memset(n->unsafe, 0, w->ngroups);
}

void sim_hist_add(struct sim_world *w, char kind, uint32_t node, int res)
{
	struct sim_hist *h;

	if (!w->keep_hist)
		return;
	if (w->nhist == w->cap_hist) {
		size_t cap = w->cap_hist ? w->cap_hist * 2 : 64;

		h = realloc(w->hist, cap * sizeof(*h));
		if (h == NULL) {
			sim_fail(w, "out of memory");
			return;
		}
		w->hist = h;
		w->cap_hist = cap;
	}
	h = &w->hist[w->nhist++];
	h->seq = w->nhist;
	h->kind = kind;
	h->node = node;
	h->res = res;
}

uint64_t sim_hist_find(const struct sim_world *w, char kind, uint32_t node, int res,
		       const struct res_model *m)
{
	const struct sim_hist *h;
	size_t i;

	for (i = w->nhist; i-- > 0;) {
		h = &w->hist[i];
		if (h->kind != kind || (node && h->node != node))
			continue;
		if (kind == 'F' || (res >= 0 && h->res == res) ||
		    (res < 0 && h->res >= 0 && m->res[h->res].group == -res - 1))
			return h->seq;
	}
	return 0;
}

/* ---- asserts ---- */

static int bad_assert(char *why, size_t len, const char *msg)
{
	snprintf(why, len, "%s", msg);
	return -2;
}

/* A resource (>= 0) or a group (-g - 1); INT32_MIN when neither. */
static int object(const struct res_model *m, const char *name)
{
	int k = res_resource_find(m, name);

	if (k >= 0)
		return k;
	k = res_group_find(m, name);
	return k >= 0 ? -k - 1 : INT32_MIN;
}

/* "fence N" | "start|stop|migrate X [on N]": seq of the latest, 0 none. */
static int order_ev(struct sim_world *w, const struct res_model *m, char **tok, int n,
		    uint64_t *seq)
{
	uint32_t node = 0;
	int x = 0;

	if (n == 2 && strcmp(tok[0], "fence") == 0) {
		if ((node = sim_node_ref(m, tok[1])) == 0)
			return -1;
		*seq = sim_hist_find(w, 'F', node, -1, m);
		return 0;
	}
	if ((n != 2 && n != 4) || (strcmp(tok[0], "start") && strcmp(tok[0], "stop") && strcmp(tok[0], "migrate")) ||
	    (x = object(m, tok[1])) == INT32_MIN ||
	    (n == 4 && (strcmp(tok[2], "on") || (node = sim_node_ref(m, tok[3])) == 0)))
		return -1;
	*seq = sim_hist_find(w, tok[0][0] == 'm' ? 'M' : tok[0][2] == 'a' ? 'S' : 'T', node, x, m);
	return 0;
}

static uint32_t node_val(const char *s)
{
	return strcmp(s, "none") == 0 ? 0 : (uint32_t)strtoul(s, NULL, 10);
}

int sim_assert(struct sim_world *w, char **tok, int n, char *why, size_t len)
{
	struct res_model *m = sim_view_model(w);
	const char *k;
	uint32_t id;
	int x, i;

	if (tok[0][6] == '@') {
		id = sim_node_ref(m, tok[0] + 7);
		if (id == 0)
			return bad_assert(why, len, "assert@NODE: unknown node");
		m = sim_node(w, id)->m;
	} else if (tok[0][6]) {
		return bad_assert(why, len, "assert or assert@NODE");
	}
	tok++;
	n--;
	if (n < 1)
		return bad_assert(why, len, "nothing to assert");
	k = tok[0];
	if (!strcmp(k, "migrations-peak") && n == 4 && !strcmp(tok[2], "==") &&
	    (id = sim_node_ref(m, tok[1])) != 0) {
		if (w->mig_peak[id] == atoi(tok[3]))
			return 0;
		snprintf(why, len, "at most %d migrations were in flight from node %u at once", w->mig_peak[id], id);
		return -1;
	}
	if (n == 4 && strcmp(tok[2], "==") == 0) {
		const char *got = NULL;
		char num[16];

		x = object(m, tok[1]);
		if (!strcmp(k, "fence")) {
			if ((id = sim_node_ref(m, tok[1])) == 0)
				return bad_assert(why, len, "fence NODE == none|needed|fencing|fenced");
			got = res_fence_to_str(m->nodes[res_node_find(m, id)].fence);
		} else if (x == INT32_MIN) {
			return bad_assert(why, len, "unknown group or resource");
		} else if (!strcmp(k, "rstate") && x >= 0) {
			got = res_state_to_str(m->res[x].state);
		} else if (x >= 0) {
			return bad_assert(why, len, "owner, active and state take a group; rstate a resource");
		} else if (!strcmp(k, "state")) {
			got = res_gstate_to_str(res_group_state(m, -x - 1));
		} else if (!strcmp(k, "owner") || !strcmp(k, "active")) {
			id = k[0] == 'o' ? m->groups[-x - 1].owner : res_group_active_node(m, -x - 1);
			snprintf(num, sizeof(num), "%u", id);
			if (id == node_val(tok[3]))
				return 0;
			snprintf(why, len, "%s is %s", k, id ? num : "none");
			return -1;
		} else {
			return bad_assert(why, len, "unknown assert");
		}
		if (strcasecmp(got, tok[3]) == 0)
			return 0;
		snprintf(why, len, "it is %s", got);
		return -1;
	}
	if (!strcmp(k, "reason") && n >= 4 && !strcmp(tok[2], "~")) {
		char want[256] = "";
		const char *have;

		if ((x = object(m, tok[1])) == INT32_MIN)
			return bad_assert(why, len, "unknown group or resource");
		for (i = 3; i < n; i++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", i > 3 ? " " : "", tok[i]);
		have = x >= 0 ? m->res[x].reason : m->groups[-x - 1].reason;
		if (strstr(have, want))
			return 0;
		snprintf(why, len, "the reason is '%s'", have);
		return -1;
	}
	if (!strcmp(k, "node") && n == 3 && (id = sim_node_ref(m, tok[1])) != 0) {
		const struct res_node *nd = &m->nodes[res_node_find(m, id)];
		bool neg = strncmp(tok[2], "not-", 4) == 0;
		const char *what = tok[2] + (neg ? 4 : 0);
		bool v;

		if (!strcmp(what, "paused"))
			v = nd->paused;
		else if (!strcmp(what, "draining"))
			v = nd->draining;
		else if (!strcmp(what, "member"))
			v = nd->member;
		else
			return bad_assert(why, len, "node N [not-]paused|draining|member");
		if (v != neg)
			return 0;
		snprintf(why, len, "node %u is %s%s", id, v ? "" : "not ", what);
		return -1;
	}
	if (!strcmp(k, "running") && n == 4 && !strcmp(tok[2], "on") &&
	    (x = res_resource_find(m, tok[1])) >= 0 && (id = sim_node_ref(m, tok[3])) != 0) {
		if (sim_node(w, id)->xs[x] == SIM_X_RUNNING)
			return 0;
		snprintf(why, len, "its state on node %u is %d (0 stopped, 1 starting, 3 stopping)", id,
			 sim_node(w, id)->xs[x]);
		return -1;
	}
	if (!strcmp(k, "monitored") && n == 4 && !strcmp(tok[2], "on") &&
	    (x = res_resource_find(m, tok[1])) >= 0 && (id = sim_node_ref(m, tok[3])) != 0) {
		if (sim_node(w, id)->xwatch[x])
			return 0;
		snprintf(why, len, "node %u has no MONITOR for it", id);
		return -1;
	}
	if (!strcmp(k, "not-running") && n == 2 && (x = res_resource_find(m, tok[1])) >= 0) {
		for (id = 1; id <= w->nnodes; id++)
			if (sim_node(w, id)->xs[x] != SIM_X_STOPPED) {
				snprintf(why, len, "it runs on node %u", id);
				return -1;
			}
		return 0;
	}
	if ((!strcmp(k, "fenced") || !strcmp(k, "not-fenced")) && n == 2 &&
	    (id = sim_node_ref(m, tok[1])) != 0) {
		if (sim_node(w, id)->fenced == (k[0] == 'f'))
			return 0;
		snprintf(why, len, "node %u was %sfenced", id, k[0] == 'f' ? "not " : "");
		return -1;
	}
	if (!strcmp(k, "order")) {
		uint64_t a = 0, b = 0;

		for (i = 1; i < n && strcmp(tok[i], "<"); i++)
			;
		if (i == n || order_ev(w, m, tok + 1, i - 1, &a) < 0 ||
		    order_ev(w, m, tok + i + 1, n - i - 1, &b) < 0)
			return bad_assert(why, len, "order EVENT < EVENT; EVENT: fence N | start|stop|migrate X [on N]");
		if (a && b && a < b)
			return 0;
		snprintf(why, len, "%s", !a ? "the first never happened" : !b ? "the second never happened" :
			 "the second happened first");
		return -1;
	}
	if (!strcmp(k, "quiet") && n == 1) {
		if (sim_quiet(w))
			return 0;
		snprintf(why, len, "messages or operations are pending");
		return -1;
	}
	return bad_assert(why, len, "unknown assert (see README.md)");
}

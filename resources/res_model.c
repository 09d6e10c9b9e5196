/* res_model.c - building the policy core's model and reading it.
 *
 * Objects are added by name in any order; res_model_finish() sorts them
 * (nodes by id, groups and resources by name), resolves groups and
 * dependencies and derives what the planner needs (members of each group,
 * dependents, placement order). Pure: no I/O, no clock, no globals.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_str.h"
#include "res_core.h"

struct res_model *res_model_new(void)
{
	return calloc(1, sizeof(struct res_model));
}

void res_model_free(struct res_model *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nres; i++) {
		free(m->res[i].deps);
		free(m->res[i].rdeps);
		free(m->res[i].possible);
	}
	for (i = 0; i < m->ngroups; i++) {
		free(m->groups[i].res);
		free(m->groups[i].preferred);
	}
	free(m->nodes);
	free(m->res);
	free(m->groups);
	free(m->order);
	free(m->pdeps);
	free(m->used_mb);
	free(m->ngrp_on);
	free(m);
}

static int grow(void **p, size_t n, size_t size)
{
	void *q;

	/* capacity doubles at powers of two: n is the count before adding */
	if (n & (n - 1) && n != 0)
		return 0;
	q = realloc(*p, (n ? n * 2 : 8) * size);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	return 0;
}

static bool name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && strlen(name) < RES_NAME_MAX;
}

int res_model_add_node(struct res_model *m, uint32_t id, const char *name)
{
	struct res_node *n;
	size_t i;

	if (!name_ok(name) || id == RES_NODE_ANY)
		return -CM_E_NAME;
	for (i = 0; i < m->nnodes; i++)
		if (m->nodes[i].id == id || strcmp(m->nodes[i].name, name) == 0)
			return -CM_E_EXISTS;
	if (grow((void **)&m->nodes, m->nnodes, sizeof(*m->nodes)) < 0)
		return -ENOMEM;
	n = &m->nodes[m->nnodes];
	memset(n, 0, sizeof(*n));
	n->id = id;
	cm_strlcpy(n->name, name, sizeof(n->name));
	m->finished = false;
	return (int)m->nnodes++;
}

int res_model_add_group(struct res_model *m, const char *name)
{
	struct res_group *g;

	/* duplicates are found by res_model_finish(): a search here would make
	 * building quadratic */
	if (!name_ok(name))
		return -CM_E_NAME;
	if (grow((void **)&m->groups, m->ngroups, sizeof(*m->groups)) < 0)
		return -ENOMEM;
	g = &m->groups[m->ngroups];
	memset(g, 0, sizeof(*g));
	cm_strlcpy(g->name, name, sizeof(g->name));
	g->prio = RES_PRIO_MEDIUM;
	g->failover_threshold = -1;
	g->failover_period_ms = 6 * 3600 * 1000LL;
	g->fb_start_h = 0;
	g->fb_end_h = 0;
	m->finished = false;
	return (int)m->ngroups++;
}

int res_model_add_resource(struct res_model *m, const char *name, const char *type, const char *group)
{
	struct res_resource *r;

	if (!name_ok(name) || !name_ok(group) || type == NULL || strlen(type) >= sizeof(r->type))
		return -CM_E_NAME;
	if (grow((void **)&m->res, m->nres, sizeof(*m->res)) < 0)
		return -ENOMEM;
	r = &m->res[m->nres];
	memset(r, 0, sizeof(*r));
	cm_strlcpy(r->name, name, sizeof(r->name));
	cm_strlcpy(r->type, type, sizeof(r->type));
	cm_strlcpy(r->group_name, group, sizeof(r->group_name));
	r->group = -1;
	/* the types that move without stopping: vm drives, vm-config follows */
	r->mig = strcmp(type, "vm") == 0 ? RES_MIGK_DRIVE
		 : strcmp(type, "vm-config") == 0 ? RES_MIGK_FOLLOW : RES_MIGK_NONE;
	r->restart = RES_RESTART_FAILOVER;
	r->restart_threshold = 3;
	r->restart_period_ms = 900 * 1000LL;
	m->finished = false;
	return (int)m->nres++;
}

int res_model_add_dep(struct res_model *m, const char *res, const char *dep)
{
	struct res_pdep *d;

	if (!name_ok(res) || !name_ok(dep))
		return -CM_E_NAME;
	if (grow((void **)&m->pdeps, m->npdeps, sizeof(*m->pdeps)) < 0)
		return -ENOMEM;
	d = &m->pdeps[m->npdeps++];
	cm_strlcpy(d->res, res, sizeof(d->res));
	cm_strlcpy(d->dep, dep, sizeof(d->dep));
	m->finished = false;
	return 0;
}

static int node_cmp(const void *a, const void *b)
{
	const struct res_node *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int group_cmp(const void *a, const void *b)
{
	return strcmp(((const struct res_group *)a)->name, ((const struct res_group *)b)->name);
}

static int res_cmp(const void *a, const void *b)
{
	return strcmp(((const struct res_resource *)a)->name, ((const struct res_resource *)b)->name);
}

/* Placement order, step by step: 1. priority (high first); 2. name.
 * Keys are copied next to the index so the comparator needs no context. */
struct order_key {
	int prio;
	const char *name;
	int index;
};

static int order_cmp(const void *a, const void *b)
{
	const struct order_key *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int add_int(int **arr, int *n, int v)
{
	if (grow((void **)arr, (size_t)*n, sizeof(int)) < 0)
		return -ENOMEM;
	(*arr)[(*n)++] = v;
	return 0;
}

static int resolve_deps(struct res_model *m)
{
	size_t i;
	int k;

	for (i = 0; i < m->npdeps; i++) {
		int r = res_resource_find(m, m->pdeps[i].res);
		int d = res_resource_find(m, m->pdeps[i].dep);

		/* the database refuses these at write time; a broken input only loses the edge */
		if (r < 0 || d < 0 || r == d || m->res[r].group != m->res[d].group)
			continue;
		for (k = 0; k < m->res[r].ndeps; k++)
			if (m->res[r].deps[k] == d)
				break;
		if (k < m->res[r].ndeps)
			continue;
		if (add_int(&m->res[r].deps, &m->res[r].ndeps, d) < 0 ||
		    add_int(&m->res[d].rdeps, &m->res[d].nrdeps, r) < 0)
			return -ENOMEM;
	}
	return 0;
}

int res_model_finish(struct res_model *m)
{
	size_t i;

	/* qsort over names and ids: every key is unique, so the order is total */
	/* qsort's base must not be NULL, even for no elements */
	if (m->nnodes)
		qsort(m->nodes, m->nnodes, sizeof(*m->nodes), node_cmp);
	if (m->ngroups)
		qsort(m->groups, m->ngroups, sizeof(*m->groups), group_cmp);
	if (m->nres)
		qsort(m->res, m->nres, sizeof(*m->res), res_cmp);
	for (i = 1; i < m->ngroups; i++)
		if (strcmp(m->groups[i - 1].name, m->groups[i].name) == 0)
			return -CM_E_EXISTS;
	for (i = 1; i < m->nres; i++)
		if (strcmp(m->res[i - 1].name, m->res[i].name) == 0)
			return -CM_E_EXISTS;
	for (i = 0; i < m->ngroups; i++) {
		free(m->groups[i].res);
		m->groups[i].res = NULL;
		m->groups[i].nres = 0;
	}
	for (i = 0; i < m->nres; i++) {
		struct res_resource *r = &m->res[i];

		free(r->deps);
		free(r->rdeps);
		r->deps = r->rdeps = NULL;
		r->ndeps = r->nrdeps = 0;
		/* finished early so that the lookups below are binary searches */
		m->finished = true;
		r->group = res_group_find(m, r->group_name);
		m->finished = false;
		if (r->group < 0)
			return -CM_E_NO_OBJECT;
		if (add_int(&m->groups[r->group].res, &m->groups[r->group].nres, (int)i) < 0)
			return -ENOMEM;
	}
	m->finished = true; /* sorted: lookups may binary-search */
	if (resolve_deps(m) < 0) {
		m->finished = false;
		return -ENOMEM;
	}
	free(m->order);
	free(m->used_mb);
	free(m->ngrp_on);
	m->order = calloc(m->ngroups + 1, sizeof(int));
	m->used_mb = calloc(m->nnodes + 1, sizeof(int64_t));
	m->ngrp_on = calloc(m->nnodes + 1, sizeof(int));
	if (!m->order || !m->used_mb || !m->ngrp_on || res_model_reorder(m) < 0) {
		m->finished = false;
		return -ENOMEM;
	}
	return 0;
}

int res_model_reorder(struct res_model *m)
{
	struct order_key *keys = malloc((m->ngroups + 1) * sizeof(*keys));
	size_t i;

	if (keys == NULL)
		return -ENOMEM;
	for (i = 0; i < m->ngroups; i++) {
		keys[i].prio = (int)m->groups[i].prio;
		keys[i].name = m->groups[i].name;
		keys[i].index = (int)i;
	}
	qsort(keys, m->ngroups, sizeof(*keys), order_cmp);
	for (i = 0; i < m->ngroups; i++)
		m->order[i] = keys[i].index;
	free(keys);
	return 0;
}

int res_node_find(const struct res_model *m, uint32_t id)
{
	size_t lo = 0, hi = m->nnodes;

	if (!m->finished) {
		for (lo = 0; lo < m->nnodes; lo++)
			if (m->nodes[lo].id == id)
				return (int)lo;
		return -1;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->nodes[mid].id == id)
			return (int)mid;
		if (m->nodes[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int res_node_find_name(const struct res_model *m, const char *name)
{
	size_t i;

	for (i = 0; name && i < m->nnodes; i++)
		if (strcmp(m->nodes[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Binary search by name once finished (sorted), linear while building. */
#define FIND_BY_NAME(arr, n, name)                                          \
	do {                                                                \
		size_t lo_ = 0, hi_ = (n);                                  \
		if ((name) == NULL)                                         \
			return -1;                                          \
		if (!m->finished) {                                         \
			for (lo_ = 0; lo_ < (n); lo_++)                     \
				if (strcmp((arr)[lo_].name, (name)) == 0)   \
					return (int)lo_;                    \
			return -1;                                          \
		}                                                           \
		while (lo_ < hi_) {                                         \
			size_t mid_ = (lo_ + hi_) / 2;                      \
			int c_ = strcmp((arr)[mid_].name, (name));          \
			if (c_ == 0)                                        \
				return (int)mid_;                           \
			if (c_ < 0)                                         \
				lo_ = mid_ + 1;                             \
			else                                                \
				hi_ = mid_;                                 \
		}                                                           \
		return -1;                                                  \
	} while (0)

int res_group_find(const struct res_model *m, const char *name)
{
	FIND_BY_NAME(m->groups, m->ngroups, name);
}

int res_resource_find(const struct res_model *m, const char *name)
{
	FIND_BY_NAME(m->res, m->nres, name);
}

static int copy_ids(uint32_t **dst, int *ndst, const uint32_t *ids, int n)
{
	uint32_t *p = NULL;

	if (n < 0)
		return -CM_E_ARGS;
	if (n > 0) {
		p = malloc((size_t)n * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		memcpy(p, ids, (size_t)n * sizeof(*p));
	}
	free(*dst);
	*dst = p;
	*ndst = n;
	return 0;
}

int res_group_set_preferred(struct res_model *m, int g, const uint32_t *ids, int n)
{
	if (g < 0 || (size_t)g >= m->ngroups)
		return -CM_E_ARGS;
	return copy_ids(&m->groups[g].preferred, &m->groups[g].npreferred, ids, n);
}

int res_resource_set_possible(struct res_model *m, int r, const uint32_t *ids, int n)
{
	if (r < 0 || (size_t)r >= m->nres)
		return -CM_E_ARGS;
	return copy_ids(&m->res[r].possible, &m->res[r].npossible, ids, n);
}

/* Does from reach to through dependency edges? Depth-first with an explicit
 * stack; visited marks keep it linear in the group's size. */
static bool reaches(const struct res_model *m, int from, int to)
{
	bool *seen = calloc(m->nres, sizeof(bool));
	int *stack = malloc((m->nres + 1) * sizeof(int));
	size_t top = 0;
	bool found = false;

	if (seen == NULL || stack == NULL) {
		free(seen);
		free(stack);
		return true; /* refuse rather than risk a cycle */
	}
	stack[top++] = from;
	seen[from] = true;
	while (top > 0 && !found) {
		const struct res_resource *r = &m->res[stack[--top]];
		int k;

		for (k = 0; k < r->ndeps; k++) {
			int d = r->deps[k];

			if (d == to) {
				found = true;
				break;
			}
			if (!seen[d]) {
				seen[d] = true;
				stack[top++] = d;
			}
		}
	}
	free(seen);
	free(stack);
	return found;
}

int res_dep_check(const struct res_model *m, const char *res, const char *dep,
		  char *err, size_t errlen)
{
	int r = res_resource_find(m, res), d = res_resource_find(m, dep), k;

	if (r < 0 || d < 0) {
		snprintf(err, errlen, "resource '%s' does not exist", r < 0 ? res : dep);
		return -CM_E_NO_OBJECT;
	}
	if (r == d) {
		snprintf(err, errlen, "resource '%s' cannot depend on itself", res);
		return -CM_E_VALUE;
	}
	if (m->res[r].group != m->res[d].group) {
		snprintf(err, errlen, "resource '%s' is in group '%s' and '%s' in group '%s':"
			 " dependencies stay inside a group", res, m->res[r].group_name, dep,
			 m->res[d].group_name);
		return -CM_E_VALUE;
	}
	for (k = 0; k < m->res[r].ndeps; k++)
		if (m->res[r].deps[k] == d) {
			snprintf(err, errlen, "resource '%s' already depends on '%s'", res, dep);
			return -CM_E_EXISTS;
		}
	if (reaches(m, d, r)) {
		snprintf(err, errlen, "'%s' depending on '%s' would make a cycle: '%s' already depends on '%s'",
			 res, dep, dep, res);
		return -CM_E_VALUE;
	}
	return 0;
}

int res_move_check(const struct res_model *m, int g, const char *node, char *err, size_t errlen)
{
	int ni = res_node_find_name(m, node), k;
	const struct res_node *n;

	if (ni < 0) {
		snprintf(err, errlen, "node '%s' is not a member of this cluster", node);
		return -CM_E_NO_OBJECT;
	}
	n = &m->nodes[ni];
	if (!n->member || n->fence != RES_F_NONE) {
		snprintf(err, errlen, "node '%s' is down: a group can only move to a running node", node);
		return -CM_E_VALUE;
	}
	if (n->paused) {
		snprintf(err, errlen, "node '%s' is paused: resume it first ('cluadmin node resume %s')", node, node);
		return -CM_E_VALUE;
	}
	for (k = 0; k < m->groups[g].nres; k++) {
		const struct res_resource *r = &m->res[m->groups[g].res[k]];
		int j;

		for (j = 0; j < r->npossible && r->possible[j] != n->id; j++)
			;
		if (r->npossible > 0 && j == r->npossible) {
			snprintf(err, errlen, "node '%s' is not a possible owner of resource '%s'"
				 " (see its property possible_owners)", node, r->name);
			return -CM_E_VALUE;
		}
	}
	return 0;
}

static bool res_active(const struct res_resource *r)
{
	return r->state != RES_S_OFFLINE && !(r->state == RES_S_FAILED && r->node == RES_NODE_ANY);
}

uint32_t res_group_active_node(const struct res_model *m, int g)
{
	const struct res_group *grp = &m->groups[g];
	int k;

	for (k = 0; k < grp->nres; k++) {
		const struct res_resource *r = &m->res[grp->res[k]];

		if (res_active(r))
			return r->node;
	}
	return RES_NODE_ANY;
}

enum res_gstate res_group_state(const struct res_model *m, int g)
{
	const struct res_group *grp = &m->groups[g];
	int k, online = 0, failed = 0, pending = 0;

	for (k = 0; k < grp->nres; k++) {
		switch (m->res[grp->res[k]].state) {
		case RES_S_ONLINE: online++; break;
		case RES_S_FAILED: failed++; break;
		case RES_S_ONLINE_PENDING:
		case RES_S_OFFLINE_PENDING: pending++; break;
		default: break;
		}
	}
	if (grp->failed)
		return pending ? RES_G_PENDING : RES_G_FAILED;
	if (pending)
		return RES_G_PENDING;
	if (grp->nres > 0 && online == grp->nres)
		return RES_G_ONLINE;
	if (online > 0)
		return RES_G_PARTIAL;
	if (failed > 0)
		return RES_G_FAILED;
	return RES_G_OFFLINE;
}

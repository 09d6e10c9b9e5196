/* res_io_read.c - reading a policy input written by res_io.c.
 *
 * The input is untrusted (a file handed to `clussim --replay`, a copy from
 * another node): every field is type- and range-checked, every reference
 * resolved and the dependencies checked for cycles before the model is
 * handed out; a bad document gives a sentence naming the field, never a
 * crash. Pure: no I/O, no globals.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_json.h"
#include "cm_str.h"
#include "res_core.h"
#include "res_io.h"

struct rd {
	char *err;
	size_t errlen;
	char where[RES_NAME_MAX + 32];  /* the object being read, for messages */
};

static int bad(struct rd *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int bad(struct rd *c, int rc, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s%s%s", c->where, c->where[0] ? ": " : "", msg);
	return rc;
}

static void set_where(struct rd *c, const char *what, size_t i, const char *name)
{
	char nm[RES_NAME_MAX];

	/* names in messages are cut: the input may be hostile */
	cm_strlcpy(nm, name ? name : "", sizeof(nm));
	if (nm[0])
		snprintf(c->where, sizeof(c->where), "%s[%zu] '%s'", what, i, nm);
	else
		snprintf(c->where, sizeof(c->where), "%s[%zu]", what, i);
}

/* Absent or null keeps *out (the default); present must be an integer in range. */
static int get_int(struct rd *c, const struct cm_jv *o, const char *key, bool req,
		   int64_t min, int64_t max, int64_t *out)
{
	const struct cm_jv *v = cm_jv_get(o, key);

	if (v == NULL || v->type == CM_J_NULL)
		return req ? bad(c, -CM_E_VALUE, "'%s' is missing", key) : 0;
	if (v->type != CM_J_NUM)
		return bad(c, -CM_E_VALUE, "'%s' must be a number", key);
	/* 9.2e18 keeps the cast below defined */
	if (v->num < -9.2e18 || v->num > 9.2e18 || (double)(int64_t)v->num != v->num)
		return bad(c, -CM_E_VALUE, "'%s' must be an integer", key);
	if (v->i < min || v->i > max)
		return bad(c, -CM_E_VALUE, "'%s' is %lld, out of range %lld..%lld", key,
			   (long long)v->i, (long long)min, (long long)max);
	*out = v->i;
	return 0;
}

static int get_bool(struct rd *c, const struct cm_jv *o, const char *key, bool *out)
{
	const struct cm_jv *v = cm_jv_get(o, key);

	if (v == NULL || v->type == CM_J_NULL)
		return 0;
	if (v->type != CM_J_BOOL)
		return bad(c, -CM_E_VALUE, "'%s' must be true or false", key);
	*out = v->b;
	return 0;
}

/* *out stays as is when absent or null. max counts the terminating NUL. */
static int get_str(struct rd *c, const struct cm_jv *o, const char *key, bool req,
		   size_t max, const char **out)
{
	const struct cm_jv *v = cm_jv_get(o, key);

	if (v == NULL || v->type == CM_J_NULL)
		return req ? bad(c, -CM_E_VALUE, "'%s' is missing", key) : 0;
	if (v->type != CM_J_STR)
		return bad(c, -CM_E_VALUE, "'%s' must be a string", key);
	if (max && strlen(v->s) >= max)
		return bad(c, -CM_E_VALUE, "'%s' is too long (at most %zu characters)", key, max - 1);
	if (req && v->s[0] == '\0')
		return bad(c, -CM_E_VALUE, "'%s' is empty", key);
	*out = v->s;
	return 0;
}

static int get_enum(struct rd *c, const struct cm_jv *o, const char *key,
		    int (*from)(const char *), int *out)
{
	const char *s = NULL;
	int rc = get_str(c, o, key, false, 0, &s);
	int val;

	if (rc < 0 || s == NULL)
		return rc;
	val = from(s);
	if (val < 0) {
		char cut[40];

		cm_strlcpy(cut, s, sizeof(cut));
		return bad(c, -CM_E_VALUE, "'%s' has an unknown value '%s'", key, cut);
	}
	*out = val;
	return 0;
}

/* An array member, or NULL when absent. */
static int get_arr(struct rd *c, const struct cm_jv *o, const char *key, bool req,
		   const struct cm_jv **out)
{
	const struct cm_jv *v = cm_jv_get(o, key);

	*out = NULL;
	if (v == NULL || v->type == CM_J_NULL)
		return req ? bad(c, -CM_E_PROTO, "'%s' is missing", key) : 0;
	if (v->type != CM_J_ARR)
		return bad(c, -CM_E_PROTO, "'%s' must be an array", key);
	*out = v;
	return 0;
}

static int elem_int(struct rd *c, const char *key, const struct cm_jv *v, size_t i,
		    int64_t min, int64_t max, int64_t *out)
{
	if (v->type != CM_J_NUM || v->num < -9.2e18 || v->num > 9.2e18 ||
	    (double)(int64_t)v->num != v->num || v->i < min || v->i > max)
		return bad(c, -CM_E_VALUE, "'%s'[%zu] must be an integer in %lld..%lld", key, i,
			   (long long)min, (long long)max);
	*out = v->i;
	return 0;
}

/* A list of configured node ids without duplicates, in the given order. */
static int get_ids(struct rd *c, const struct res_model *m, const struct cm_jv *o,
		   const char *key, uint32_t **ids, int *n)
{
	const struct cm_jv *a;
	size_t i, j;
	int64_t v;
	int rc;

	*ids = NULL;
	*n = 0;
	if ((rc = get_arr(c, o, key, false, &a)) < 0 || a == NULL || a->nkids == 0)
		return rc;
	if (a->nkids > m->nnodes)
		return bad(c, -CM_E_VALUE, "'%s' lists more nodes than there are", key);
	*ids = calloc(a->nkids, sizeof(**ids));
	if (*ids == NULL)
		return -ENOMEM;
	for (i = 0; i < a->nkids; i++) {
		if ((rc = elem_int(c, key, &a->kids[i], i, 1, UINT32_MAX, &v)) < 0)
			goto fail;
		if (res_node_find(m, (uint32_t)v) < 0) {
			rc = bad(c, -CM_E_NO_OBJECT, "'%s' names node %lld, which is not configured",
				 key, (long long)v);
			goto fail;
		}
		for (j = 0; j < i; j++)
			if ((*ids)[j] == (uint32_t)v) {
				rc = bad(c, -CM_E_VALUE, "'%s' lists node %lld twice", key, (long long)v);
				goto fail;
			}
		(*ids)[i] = (uint32_t)v;
	}
	*n = (int)a->nkids;
	return 0;
fail:
	free(*ids);
	*ids = NULL;
	return rc;
}

static int get_times(struct rd *c, const struct cm_jv *o, const char *key, int64_t *t, int *n)
{
	const struct cm_jv *a;
	size_t i;
	int rc;

	if ((rc = get_arr(c, o, key, false, &a)) < 0 || a == NULL)
		return rc;
	if (a->nkids > RES_HIST_MAX)
		return bad(c, -CM_E_VALUE, "'%s' holds %zu times, at most %d are kept", key,
			   a->nkids, RES_HIST_MAX);
	for (i = 0; i < a->nkids; i++)
		if ((rc = elem_int(c, key, &a->kids[i], i, INT64_MIN, INT64_MAX, &t[i])) < 0)
			return rc;
	*n = (int)a->nkids;
	return 0;
}

/* A node id that is 0 or configured. */
static int get_node_ref(struct rd *c, const struct res_model *m, const struct cm_jv *o,
			const char *key, uint32_t *out)
{
	int64_t v = *out;
	int rc = get_int(c, o, key, false, 0, UINT32_MAX, &v);

	if (rc < 0)
		return rc;
	if (v != 0 && res_node_find(m, (uint32_t)v) < 0)
		return bad(c, -CM_E_NO_OBJECT, "'%s' names node %lld, which is not configured",
			   key, (long long)v);
	*out = (uint32_t)v;
	return 0;
}

/* A name and, for resources, its group: sorted for bsearch. */
struct nm {
	const char *name;
	const char *group;
};

static int cmp_nm(const void *a, const void *b)
{
	return strcmp(((const struct nm *)a)->name, ((const struct nm *)b)->name);
}

/* Sorted names of the objects of one array; duplicates refused. */
static int name_index(struct rd *c, const struct cm_jv *arr, const char *what, struct nm **out)
{
	struct nm *idx;
	size_t i;
	int rc;

	*out = NULL;
	idx = calloc(arr->nkids + 1, sizeof(*idx));
	if (idx == NULL)
		return -ENOMEM;
	for (i = 0; i < arr->nkids; i++) {
		set_where(c, what, i, NULL);
		if (arr->kids[i].type != CM_J_OBJ) {
			free(idx);
			return bad(c, -CM_E_PROTO, "must be an object");
		}
		if ((rc = get_str(c, &arr->kids[i], "name", true, RES_NAME_MAX, &idx[i].name)) < 0) {
			free(idx);
			return rc;
		}
		idx[i].group = cm_jv_get_str(&arr->kids[i], "group", "");
	}
	c->where[0] = '\0';
	qsort(idx, arr->nkids, sizeof(*idx), cmp_nm);
	for (i = 1; i < arr->nkids; i++)
		if (strcmp(idx[i - 1].name, idx[i].name) == 0) {
			rc = bad(c, -CM_E_EXISTS, "%s: the name '%s' is used twice", what, idx[i].name);
			free(idx);
			return rc;
		}
	*out = idx;
	return 0;
}

static const struct nm *name_find(const struct nm *idx, size_t n, const char *name)
{
	struct nm key = { .name = name };

	return bsearch(&key, idx, n, sizeof(*idx), cmp_nm);
}

static int add_nodes(struct rd *c, struct res_model *m, const struct cm_jv *nodes)
{
	size_t i;
	int64_t id;
	const char *name;
	int rc;

	for (i = 0; i < nodes->nkids; i++) {
		const struct cm_jv *o = &nodes->kids[i];

		set_where(c, "nodes", i, NULL);
		if (o->type != CM_J_OBJ)
			return bad(c, -CM_E_PROTO, "must be an object");
		if ((rc = get_int(c, o, "id", true, 1, UINT32_MAX, &id)) < 0 ||
		    (rc = get_str(c, o, "name", true, RES_NAME_MAX, &name)) < 0)
			return rc;
		if (res_node_find(m, (uint32_t)id) >= 0 || res_node_find_name(m, name) >= 0)
			return bad(c, -CM_E_EXISTS, "node %lld '%s' is listed twice", (long long)id, name);
		rc = res_model_add_node(m, (uint32_t)id, name);
		if (rc < 0)
			return bad(c, rc, "cannot add it: %s", cm_strerror(rc));
	}
	c->where[0] = '\0';
	return 0;
}

/* Pass 1 for resources: add each to its group, then its dependencies. */
static int add_resources(struct rd *c, struct res_model *m, const struct cm_jv *res,
			 const struct nm *gidx, size_t ng, const struct nm *ridx)
{
	const struct cm_jv *o, *deps, *d;
	const struct nm *dep;
	const char *name, *type, *group;
	size_t i, j, k;
	int rc;

	for (i = 0; i < res->nkids; i++) {
		o = &res->kids[i];
		name = cm_jv_get_str(o, "name", "");
		set_where(c, "resources", i, name);
		type = "";
		if ((rc = get_str(c, o, "type", true, sizeof(m->res[0].type), &type)) < 0 ||
		    (rc = get_str(c, o, "group", true, RES_NAME_MAX, &group)) < 0)
			return rc;
		if (name_find(gidx, ng, group) == NULL)
			return bad(c, -CM_E_NO_OBJECT, "its group '%s' does not exist", group);
		rc = res_model_add_resource(m, name, type, group);
		if (rc < 0)
			return bad(c, rc, "cannot add it: %s", cm_strerror(rc));
	}
	for (i = 0; i < res->nkids; i++) {
		o = &res->kids[i];
		name = cm_jv_get_str(o, "name", "");
		group = cm_jv_get_str(o, "group", "");
		set_where(c, "resources", i, name);
		if ((rc = get_arr(c, o, "deps", false, &deps)) < 0)
			return rc;
		for (j = 0; deps && j < deps->nkids; j++) {
			d = &deps->kids[j];
			if (d->type != CM_J_STR)
				return bad(c, -CM_E_VALUE, "'deps'[%zu] must be a resource name", j);
			dep = name_find(ridx, res->nkids, d->s);
			if (dep == NULL)
				return bad(c, -CM_E_NO_OBJECT, "depends on '%.64s', which does not exist", d->s);
			if (strcmp(d->s, name) == 0)
				return bad(c, -CM_E_VALUE, "depends on itself");
			for (k = 0; k < j; k++)
				if (deps->kids[k].type == CM_J_STR && strcmp(deps->kids[k].s, d->s) == 0)
					return bad(c, -CM_E_VALUE, "depends on '%s' twice", d->s);
			if (strcmp(dep->group, group) != 0)
				return bad(c, -CM_E_VALUE, "depends on '%s' of another group", d->s);
			rc = res_model_add_dep(m, name, d->s);
			if (rc < 0)
				return bad(c, rc, "cannot add the dependency on '%s': %s", d->s,
					   cm_strerror(rc));
		}
	}
	c->where[0] = '\0';
	return 0;
}

/* Kahn's algorithm: a cycle leaves some resource with unresolved deps. */
static int check_cycles(struct rd *c, const struct res_model *m)
{
	size_t n = m->nres, i, head = 0, tail = 0, done = 0, *start = NULL;
	int *left = NULL, *queue = NULL, *users = NULL, d;
	int rc = -ENOMEM, j;

	left = calloc(n + 1, sizeof(*left));
	queue = calloc(n + 1, sizeof(*queue));
	start = calloc(n + 2, sizeof(*start));
	for (i = 0; i < n; i++)
		for (j = 0; j < m->res[i].ndeps; j++)
			if (m->res[i].deps[j] >= 0 && (size_t)m->res[i].deps[j] < n)
				start[m->res[i].deps[j] + 1]++;
	for (i = 0; i < n; i++)
		start[i + 1] += start[i];
	users = calloc(start[n] + 1, sizeof(*users));
	if (left == NULL || queue == NULL || start == NULL || users == NULL)
		goto out;
	/* users of resource d: users[start[d] .. start[d+1]) */
	{
		size_t *fill = calloc(n + 1, sizeof(*fill));

		if (fill == NULL)
			goto out;
		for (i = 0; i < n; i++)
			for (j = 0; j < m->res[i].ndeps; j++) {
				d = m->res[i].deps[j];
				if (d >= 0 && (size_t)d < n)
					users[start[d] + fill[d]++] = (int)i;
			}
		free(fill);
	}
	for (i = 0; i < n; i++) {
		left[i] = m->res[i].ndeps;
		if (left[i] == 0)
			queue[tail++] = (int)i;
	}
	while (head < tail) {
		d = queue[head++];
		done++;
		for (i = start[d]; i < start[d + 1]; i++)
			if (--left[users[i]] == 0)
				queue[tail++] = users[i];
	}
	rc = 0;
	if (done < n)
		for (i = 0; i < n; i++)
			if (left[i] > 0) {
				rc = bad(c, -CM_E_VALUE, "resource '%s' is part of a dependency cycle",
					 m->res[i].name);
				break;
			}
out:
	free(left);
	free(queue);
	free(start);
	free(users);
	return rc;
}

static int read_node(struct rd *c, struct res_model *m, const struct cm_jv *o)
{
	struct res_node *n = &m->nodes[res_node_find(m, (uint32_t)cm_jv_get_int(o, "id", 0))];
	int64_t v;
	int e, rc;

	snprintf(c->where, sizeof(c->where), "node %u", n->id);
	v = n->memory_mb;
	if ((rc = get_int(c, o, "memory_mb", false, 0, INT64_MAX, &v)) < 0)
		return rc;
	n->memory_mb = v;
	if ((rc = get_bool(c, o, "has_agent", &n->has_agent)) < 0 ||
	    (rc = get_bool(c, o, "member", &n->member)) < 0 ||
	    (rc = get_bool(c, o, "paused", &n->paused)) < 0 ||
	    (rc = get_bool(c, o, "draining", &n->draining)) < 0 ||
	    (rc = get_bool(c, o, "down_seen", &n->down_seen)) < 0)
		return rc;
	e = (int)n->fence;
	if ((rc = get_enum(c, o, "fence", res_fence_from_str, &e)) < 0)
		return rc;
	n->fence = (enum res_fence)e;
	if ((rc = get_node_ref(c, m, o, "fencer", &n->fencer)) < 0)
		return rc;
	v = n->fence_since_ms;
	if ((rc = get_int(c, o, "fence_since_ms", false, INT64_MIN, INT64_MAX, &v)) < 0)
		return rc;
	n->fence_since_ms = v;
	v = n->fence_retry_ms;
	if ((rc = get_int(c, o, "fence_retry_ms", false, INT64_MIN, INT64_MAX, &v)) < 0)
		return rc;
	n->fence_retry_ms = v;
	v = n->fence_attempts;
	if ((rc = get_int(c, o, "fence_attempts", false, 0, UINT32_MAX, &v)) < 0)
		return rc;
	n->fence_attempts = (uint32_t)v;
	return 0;
}

static int read_group(struct rd *c, struct res_model *m, const struct cm_jv *o)
{
	int gi = res_group_find(m, cm_jv_get_str(o, "name", ""));
	struct res_group *g = &m->groups[gi];
	const char *s;
	uint32_t *ids;
	int64_t v;
	int n, e, rc;

	snprintf(c->where, sizeof(c->where), "group '%s'", g->name);
	if ((rc = get_ids(c, m, o, "preferred", &ids, &n)) < 0)
		return rc;
	rc = res_group_set_preferred(m, gi, ids, n);
	free(ids);
	if (rc < 0)
		return bad(c, rc, "cannot set its preferred owners: %s", cm_strerror(rc));
	e = (int)g->failback;
	if ((rc = get_enum(c, o, "failback", res_failback_from_str, &e)) < 0)
		return rc;
	g->failback = (enum res_failback)e;
	v = g->fb_start_h;
	if ((rc = get_int(c, o, "fb_start_h", false, 0, 23, &v)) < 0)
		return rc;
	g->fb_start_h = (int)v;
	v = g->fb_end_h;
	if ((rc = get_int(c, o, "fb_end_h", false, 0, 23, &v)) < 0)
		return rc;
	g->fb_end_h = (int)v;
	s = g->aa_class;
	if ((rc = get_str(c, o, "aa_class", false, RES_NAME_MAX, &s)) < 0)
		return rc;
	if (s != g->aa_class)
		cm_strlcpy(g->aa_class, s, sizeof(g->aa_class));
	e = (int)g->prio;
	if ((rc = get_enum(c, o, "prio", res_prio_from_str, &e)) < 0)
		return rc;
	g->prio = (enum res_prio)e;
	v = g->failover_threshold;
	if ((rc = get_int(c, o, "failover_threshold", false, -1, 1000000, &v)) < 0)
		return rc;
	g->failover_threshold = (int)v;
	v = g->failover_period_ms;
	if ((rc = get_int(c, o, "failover_period_ms", false, 0, INT64_MAX, &v)) < 0)
		return rc;
	g->failover_period_ms = v;
	e = g->mig_mode;
	if ((rc = get_enum(c, o, "mig_mode", res_mig_mode_from_str, &e)) < 0)
		return rc;
	g->mig_mode = (enum res_mig_mode)e;
	v = g->mig_retry_ms;
	if ((rc = get_int(c, o, "mig_retry_ms", false, 0, INT64_MAX, &v)) < 0)
		return rc;
	g->mig_retry_ms = v;
	if ((rc = get_bool(c, o, "want_online", &g->want_online)) < 0 ||
	    (rc = get_bool(c, o, "moving", &g->moving)) < 0 ||
	    (rc = get_bool(c, o, "failing_over", &g->failing_over)) < 0 ||
	    (rc = get_bool(c, o, "admin_move", &g->admin_move)) < 0 ||
	    (rc = get_bool(c, o, "pinned", &g->pinned)) < 0 ||
	    (rc = get_bool(c, o, "failed", &g->failed)) < 0 ||
	    (rc = get_bool(c, o, "mig_running", &g->mig_running)) < 0 ||
	    (rc = get_bool(c, o, "mig_admin", &g->mig_admin)) < 0 ||
	    (rc = get_node_ref(c, m, o, "mig_from", &g->mig_from)) < 0 ||
	    (rc = get_node_ref(c, m, o, "mig_to", &g->mig_to)) < 0 ||
	    (rc = get_node_ref(c, m, o, "owner", &g->owner)) < 0 ||
	    (rc = get_node_ref(c, m, o, "move_to", &g->move_to)) < 0 ||
	    (rc = get_times(c, o, "failovers", g->failovers, &g->nfailovers)) < 0)
		return rc;
	s = g->reason;
	if ((rc = get_str(c, o, "reason", false, RES_REASON_MAX, &s)) < 0)
		return rc;
	if (s != g->reason)
		cm_strlcpy(g->reason, s, sizeof(g->reason));
	return 0;
}

static int read_resource(struct rd *c, struct res_model *m, const struct cm_jv *o)
{
	int ri = res_resource_find(m, cm_jv_get_str(o, "name", ""));
	struct res_resource *r = &m->res[ri];
	const char *s;
	uint32_t *ids;
	int64_t v;
	int n, e, rc;

	snprintf(c->where, sizeof(c->where), "resource '%s'", r->name);
	if ((rc = get_bool(c, o, "dep_or", &r->dep_or)) < 0)
		return rc;
	if ((rc = get_ids(c, m, o, "possible", &ids, &n)) < 0)
		return rc;
	rc = res_resource_set_possible(m, ri, ids, n);
	free(ids);
	if (rc < 0)
		return bad(c, rc, "cannot set its possible owners: %s", cm_strerror(rc));
	e = (int)r->restart;
	if ((rc = get_enum(c, o, "restart", res_restart_from_str, &e)) < 0)
		return rc;
	r->restart = (enum res_restart)e;
	v = r->restart_threshold;
	if ((rc = get_int(c, o, "restart_threshold", false, 0, 1000000, &v)) < 0)
		return rc;
	r->restart_threshold = (int)v;
	v = r->restart_period_ms;
	if ((rc = get_int(c, o, "restart_period_ms", false, 0, INT64_MAX, &v)) < 0)
		return rc;
	r->restart_period_ms = v;
	v = r->memory_mb;
	if ((rc = get_int(c, o, "memory_mb", false, 0, INT64_MAX, &v)) < 0)
		return rc;
	r->memory_mb = v;
	e = (int)r->state;
	if ((rc = get_enum(c, o, "state", res_state_from_str, &e)) < 0)
		return rc;
	r->state = (enum res_state)e;
	if ((rc = get_node_ref(c, m, o, "node", &r->node)) < 0)
		return rc;
	v = (int64_t)r->gen;
	if ((rc = get_int(c, o, "gen", false, 0, INT64_MAX, &v)) < 0)
		return rc;
	r->gen = (uint64_t)v;
	if ((rc = get_bool(c, o, "restart_wanted", &r->restart_wanted)) < 0 ||
	    (rc = get_bool(c, o, "keep_failed", &r->keep_failed)) < 0 ||
	    (rc = get_bool(c, o, "stop_failed", &r->stop_failed)) < 0 ||
	    (rc = get_bool(c, o, "held", &r->held)) < 0 ||
	    (rc = get_times(c, o, "restarts", r->restarts, &r->nrestarts)) < 0)
		return rc;
	s = r->reason;
	if ((rc = get_str(c, o, "reason", false, RES_REASON_MAX, &s)) < 0)
		return rc;
	if (s != r->reason)
		cm_strlcpy(r->reason, s, sizeof(r->reason));
	return 0;
}

static int get_mode(struct rd *c, const struct cm_jv *o, struct res_event *ev)
{
	int64_t v = 0;
	int e = 0, rc;

	if ((rc = get_int(c, o, "drain_parallel", false, 0, 1000, &v)) < 0)
		return rc;
	ev->drain_parallel = (int)v;
	if ((rc = get_enum(c, o, "mode", res_mig_mode_from_str, &e)) < 0)
		return rc;
	ev->mode = (enum res_mig_mode)e;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The event; its members and text go into one block the caller frees. */
static int read_event(struct rd *c, const struct res_model *m, const struct cm_jv *o,
		      struct res_event *ev, uint32_t **blockp)
{
	const struct cm_jv *mem = NULL;
	const char *s = NULL, *text = NULL;
	uint32_t *block;
	size_t i, n = 0, tlen = 0;
	int64_t v;
	int e = 0, rc;

	snprintf(c->where, sizeof(c->where), "event");
	if (o) {
		if (o->type != CM_J_OBJ)
			return bad(c, -CM_E_PROTO, "must be an object");
		if ((rc = get_enum(c, o, "type", res_ev_from_str, &e)) < 0)
			return rc;
		if (e == 0)
			return bad(c, -CM_E_VALUE, "'type' is missing");
		ev->type = (enum res_ev)e;
		v = 0;
		if ((rc = get_int(c, o, "now_ms", true, INT64_MIN, INT64_MAX, &v)) < 0)
			return rc;
		ev->now_ms = v;
		v = 0;
		if ((rc = get_int(c, o, "tz_offset_min", false, -1440, 1440, &v)) < 0)
			return rc;
		ev->tz_offset_min = (int)v;
		if ((rc = get_bool(c, o, "quorate", &ev->quorate)) < 0 ||
		    (rc = get_bool(c, o, "fencing_off", &ev->fencing_off)) < 0 ||
		    (rc = get_bool(c, o, "enforced_aa", &ev->enforced_aa)) < 0 ||
		    (rc = get_mode(c, o, ev)) < 0 ||
		    (rc = get_bool(c, o, "ok", &ev->ok)) < 0 ||
		    (rc = get_arr(c, o, "members", false, &mem)) < 0 ||
		    (rc = get_str(c, o, "text", false, 0, &text)) < 0)
			return rc;
		n = mem ? mem->nkids : 0;
		v = 0;
		if ((rc = get_int(c, o, "node", false, 0, UINT32_MAX, &v)) < 0)
			return rc;
		ev->node = (uint32_t)v;
		v = 0;
		if ((rc = get_int(c, o, "gen", false, 0, INT64_MAX, &v)) < 0)
			return rc;
		ev->gen = (uint64_t)v;
		e = 0;
		if ((rc = get_enum(c, o, "op", res_op_from_str, &e)) < 0)
			return rc;
		ev->op = (enum res_op)e;
		s = NULL;
		if ((rc = get_str(c, o, "res", false, 0, &s)) < 0)
			return rc;
		if (s && (ev->res = res_resource_find(m, s)) < 0)
			return bad(c, -CM_E_NO_OBJECT, "resource '%.64s' does not exist", s);
		s = NULL;
		if ((rc = get_str(c, o, "group", false, 0, &s)) < 0)
			return rc;
		if (s && (ev->group = res_group_find(m, s)) < 0)
			return bad(c, -CM_E_NO_OBJECT, "group '%.64s' does not exist", s);
		if (ev->type == RES_EV_RESULT && (ev->res < 0 || ev->op == 0))
			return bad(c, -CM_E_VALUE, "a result needs 'res' and 'op'");
		if ((ev->type == RES_EV_GROUP_ONLINE || ev->type == RES_EV_GROUP_OFFLINE ||
		     ev->type == RES_EV_GROUP_MOVE) && ev->group < 0)
			return bad(c, -CM_E_VALUE, "a group command needs 'group'");
	}
	tlen = text ? strlen(text) + 1 : 0;
	block = malloc(n * sizeof(*block) + tlen + 1);
	if (block == NULL)
		return -ENOMEM;
	*blockp = block;
	for (i = 0; i < n; i++)
		if ((rc = elem_int(c, "members", &mem->kids[i], i, 1, UINT32_MAX, &v)) < 0)
			return rc;
		else
			block[i] = (uint32_t)v;
	qsort(block, n, sizeof(*block), cmp_u32);
	for (i = 1; i < n; i++)
		if (block[i] == block[i - 1])
			return bad(c, -CM_E_VALUE, "'members' lists node %u twice", block[i]);
	ev->members = block;
	ev->nmembers = n;
	if (text) {
		memcpy((char *)(block + n), text, tlen);
		ev->text = (const char *)(block + n);
	}
	c->where[0] = '\0';
	return 0;
}

int res_input_from_json(const char *text, size_t len, struct res_model **mp,
			struct res_event *ev, uint32_t **members, char *err, size_t errlen)
{
	struct rd c = { .err = err, .errlen = errlen };
	const struct cm_jv *nodes, *groups, *res;
	struct nm *gidx = NULL, *ridx = NULL;
	struct cm_jv *root = NULL;
	struct res_model *m = NULL;
	char *buf = NULL, perr[128];
	int64_t version = 0;
	size_t i;
	int rc;

	*mp = NULL;
	*members = NULL;
	memset(ev, 0, sizeof(*ev));
	ev->type = RES_EV_TICK;
	ev->res = -1;
	ev->group = -1;
	if (err && errlen)
		err[0] = '\0';
	if (text == NULL || len == 0)
		return bad(&c, -CM_E_PROTO, "the input is empty");
	if (memchr(text, '\0', len))
		return bad(&c, -CM_E_PROTO, "the input holds a NUL byte");
	buf = malloc(len + 1);
	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, text, len);
	buf[len] = '\0';
	root = cm_jv_parse(buf, perr, sizeof(perr));
	if (root == NULL) {
		rc = bad(&c, -CM_E_PROTO, "not JSON: %s", perr[0] ? perr : "out of memory");
		goto out;
	}
	if (root->type != CM_J_OBJ) {
		rc = bad(&c, -CM_E_PROTO, "the input is not a JSON object");
		goto out;
	}
	if ((rc = get_int(&c, root, "version", true, 0, INT64_MAX, &version)) < 0)
		goto out;
	if (version != RES_IO_VERSION) {
		rc = bad(&c, -CM_E_VALUE, "version %lld is not supported (this build reads %d)",
			 (long long)version, RES_IO_VERSION);
		goto out;
	}
	if ((rc = get_arr(&c, root, "nodes", true, &nodes)) < 0 ||
	    (rc = get_arr(&c, root, "groups", true, &groups)) < 0 ||
	    (rc = get_arr(&c, root, "resources", true, &res)) < 0)
		goto out;
	if ((rc = name_index(&c, groups, "groups", &gidx)) < 0 ||
	    (rc = name_index(&c, res, "resources", &ridx)) < 0)
		goto out;
	rc = -ENOMEM;
	if ((m = res_model_new()) == NULL)
		goto out;
	if ((rc = add_nodes(&c, m, nodes)) < 0)
		goto out;
	for (i = 0; i < groups->nkids; i++) {
		rc = res_model_add_group(m, cm_jv_get_str(&groups->kids[i], "name", ""));
		if (rc < 0) {
			set_where(&c, "groups", i, cm_jv_get_str(&groups->kids[i], "name", ""));
			rc = bad(&c, rc, "cannot add it: %s", cm_strerror(rc));
			goto out;
		}
	}
	if ((rc = add_resources(&c, m, res, gidx, groups->nkids, ridx)) < 0)
		goto out;
	if ((rc = res_model_finish(m)) < 0) {
		rc = bad(&c, rc, "the model cannot be finished: %s", cm_strerror(rc));
		goto out;
	}
	if ((rc = check_cycles(&c, m)) < 0)
		goto out;
	for (i = 0; i < nodes->nkids; i++)
		if ((rc = read_node(&c, m, &nodes->kids[i])) < 0)
			goto out;
	for (i = 0; i < groups->nkids; i++)
		if ((rc = read_group(&c, m, &groups->kids[i])) < 0)
			goto out;
	for (i = 0; i < res->nkids; i++)
		if ((rc = read_resource(&c, m, &res->kids[i])) < 0)
			goto out;
	/* the placement order depends on the priorities just read */
	if ((rc = res_model_reorder(m)) < 0)
		goto out;
	rc = read_event(&c, m, cm_jv_get(root, "event"), ev, members);
out:
	if (rc < 0) {
		if (rc == -ENOMEM && err && errlen && err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		res_model_free(m);
		m = NULL;
		free(*members);
		*members = NULL;
		memset(ev, 0, sizeof(*ev));
		ev->res = -1;
		ev->group = -1;
	}
	*mp = m;
	free(gidx);
	free(ridx);
	cm_jv_free(root);
	free(buf);
	return rc;
}

/* sim_cfg.c - the configuration of a simulated cluster: the model built
 * with the res_model_* API like clusterd builds it from its database, and
 * the options ("g1 failback immediate") that both the configuration lines
 * of a scenario and the runtime `set` command go through. Also the small
 * parsers the script shares.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_err.h"
#include "cm_str.h"
#include "sim.h"


/* ---- small parsers ---- */

int sim_split_words(char *line, char **tok, int max)
{
	int n = 0;
	char *p = line;

	while (*p) {
		while (isspace((unsigned char)*p))
			*p++ = '\0';
		if (*p == '\0' || *p == '#')
			break;
		if (n == max)
			return -1;
		tok[n++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
	}
	*p = '\0';
	return n;
}

int sim_parse_int(const char *s, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || end == s || *end || *out < min || *out > max ? -1 : 0;
}

/* "30s", "5m", "2h", "1d", "500ms"; a bare number is seconds. */
int sim_parse_dur(const char *s, int64_t *ms)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0 || v > 100000000)
		return -1;
	if (strcmp(end, "ms") == 0)
		*ms = v;
	else if (*end == '\0' || strcmp(end, "s") == 0)
		*ms = v * 1000;
	else if (strcmp(end, "m") == 0)
		*ms = v * 60000;
	else if (strcmp(end, "h") == 0)
		*ms = v * 3600000;
	else if (strcmp(end, "d") == 0)
		*ms = v * 86400000;
	else
		return -1;
	return 0;
}

/* A node by id or name. */
uint32_t sim_node_ref(const struct res_model *m, const char *s)
{
	long long v;
	int i;

	if (sim_parse_int(s, 1, SIM_MAX_NODES, &v) == 0 && res_node_find(m, (uint32_t)v) >= 0)
		return (uint32_t)v;
	i = res_node_find_name(m, s);
	return i >= 0 ? m->nodes[i].id : 0;
}

static int node_list(const struct res_model *m, const char *s, uint32_t *ids, int *n)
{
	char buf[256], *p, *save = NULL;

	*n = 0;
	if (strcmp(s, "none") == 0 || strcmp(s, "all") == 0)
		return 0;
	if (cm_strlcpy(buf, s, sizeof(buf)) < 0)
		return -1;
	for (p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		if (*n == SIM_MAX_NODES || (ids[*n] = sim_node_ref(m, p)) == 0)
			return -1;
		(*n)++;
	}
	return 0;
}

static int word_index(const char *s, const char *const *words, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return i;
	return -1;
}

static const char *const fb_words[] = { "never", "immediate", "window" };
static const char *const prio_words[] = { "high", "medium", "low", "no-auto-start" };
static const char *const restart_words[] = { "none", "restart", "restart-then-failover" };

/* ---- options ---- */

static int set_node(struct res_model *m, char **tok, int n, char *err, size_t errlen)
{
	struct res_node *nd;
	long long v;
	int i, k;

	if (n < 2 || (k = res_node_find(m, sim_node_ref(m, tok[1]))) < 0)
		return snprintf(err, errlen, "unknown node '%s'", n > 1 ? tok[1] : ""), -1;
	nd = &m->nodes[k];
	for (i = 2; i + 1 < n; i += 2) {
		if (strcmp(tok[i], "memory") == 0 && sim_parse_int(tok[i + 1], 0, 1LL << 40, &v) == 0)
			nd->memory_mb = v;
		else if (strcmp(tok[i], "agent") == 0 && word_index(tok[i + 1], (const char *const[]){ "no", "yes" }, 2) >= 0)
			nd->has_agent = strcmp(tok[i + 1], "yes") == 0;
		else
			return snprintf(err, errlen, "bad node option '%s %s'", tok[i], tok[i + 1]), -1;
	}
	return i == n ? 0 : (snprintf(err, errlen, "option '%s' needs a value", tok[i]), -1);
}

static int set_group(struct res_model *m, int g, char **tok, int n, char *err, size_t errlen)
{
	struct res_group *gr = &m->groups[g];
	uint32_t ids[SIM_MAX_NODES];
	long long a, b;
	int64_t ms;
	int i, k, cnt;

	for (i = 1; i < n; i += 2) {
		if (i + 1 >= n)
			return snprintf(err, errlen, "option '%s' needs a value", tok[i]), -1;
		if (strcmp(tok[i], "preferred") == 0 && node_list(m, tok[i + 1], ids, &cnt) == 0) {
			if (res_group_set_preferred(m, g, ids, cnt) < 0)
				return snprintf(err, errlen, "cannot set preferred owners"), -1;
		} else if (strcmp(tok[i], "failback") == 0 && (k = word_index(tok[i + 1], fb_words, 3)) >= 0) {
			gr->failback = (enum res_failback)k;
			if (k == RES_FB_WINDOW) {
				if (i + 3 >= n || sim_parse_int(tok[i + 2], 0, 23, &a) || sim_parse_int(tok[i + 3], 0, 23, &b))
					return snprintf(err, errlen, "failback window needs two hours 0-23"), -1;
				gr->fb_start_h = (int)a;
				gr->fb_end_h = (int)b;
				i += 2;
			}
		} else if (strcmp(tok[i], "priority") == 0 && (k = word_index(tok[i + 1], prio_words, 4)) >= 0) {
			gr->prio = (enum res_prio)k;
		} else if (strcmp(tok[i], "aa") == 0) {
			cm_strlcpy(gr->aa_class, strcmp(tok[i + 1], "none") ? tok[i + 1] : "", sizeof(gr->aa_class));
		} else if (strcmp(tok[i], "failover_threshold") == 0 &&
			   (strcmp(tok[i + 1], "auto") == 0 || sim_parse_int(tok[i + 1], 0, 1000, &a) == 0)) {
			gr->failover_threshold = strcmp(tok[i + 1], "auto") == 0 ? -1 : (int)a;
		} else if (strcmp(tok[i], "failover_period") == 0 && sim_parse_dur(tok[i + 1], &ms) == 0) {
			gr->failover_period_ms = ms;
		} else {
			return snprintf(err, errlen, "bad group option '%s %s'", tok[i], tok[i + 1]), -1;
		}
	}
	return 0;
}

static int set_res(struct res_model *m, int r, char **tok, int n, char *err, size_t errlen)
{
	struct res_resource *rs = &m->res[r];
	uint32_t ids[SIM_MAX_NODES];
	long long v;
	int64_t ms;
	int i, k, cnt;

	for (i = 1; i < n; i += 2) {
		if (strcmp(tok[i], "or") == 0 || strcmp(tok[i], "and") == 0) {
			rs->dep_or = tok[i][0] == 'o';
			i--;
			continue;
		}
		if (i + 1 >= n)
			return snprintf(err, errlen, "option '%s' needs a value", tok[i]), -1;
		if (strcmp(tok[i], "restart") == 0 && (k = word_index(tok[i + 1], restart_words, 3)) >= 0) {
			rs->restart = (enum res_restart)k;
		} else if (strcmp(tok[i], "threshold") == 0 && sim_parse_int(tok[i + 1], 0, 1000, &v) == 0) {
			rs->restart_threshold = (int)v;
		} else if (strcmp(tok[i], "period") == 0 && sim_parse_dur(tok[i + 1], &ms) == 0) {
			rs->restart_period_ms = ms;
		} else if (strcmp(tok[i], "memory") == 0 && sim_parse_int(tok[i + 1], 0, 1LL << 40, &v) == 0) {
			rs->memory_mb = v;
		} else if (strcmp(tok[i], "possible") == 0 && node_list(m, tok[i + 1], ids, &cnt) == 0) {
			if (res_resource_set_possible(m, r, ids, cnt) < 0)
				return snprintf(err, errlen, "cannot set possible owners"), -1;
		} else {
			return snprintf(err, errlen, "bad resource option '%s %s'", tok[i], tok[i + 1]), -1;
		}
	}
	return 0;
}

int sim_model_set(struct res_model *m, const char *opt, char *err, size_t errlen)
{
	char buf[1024], *tok[SIM_MAXTOK];
	int n, k;

	if (cm_strlcpy(buf, opt, sizeof(buf)) < 0 || (n = sim_split_words(buf, tok, SIM_MAXTOK)) < 1)
		return snprintf(err, errlen, "bad option line"), -1;
	if (strcmp(tok[0], "node") == 0)
		return set_node(m, tok, n, err, errlen);
	if ((k = res_group_find(m, tok[0])) >= 0) {
		enum res_prio was = m->groups[k].prio;

		if (set_group(m, k, tok, n, err, errlen) < 0)
			return -1;
		/* a priority decides the placement order */
		if (m->groups[k].prio != was && res_model_reorder(m) < 0)
			return snprintf(err, errlen, "out of memory"), -1;
		return 0;
	}
	if ((k = res_resource_find(m, tok[0])) >= 0)
		return set_res(m, k, tok, n, err, errlen);
	return snprintf(err, errlen, "no group or resource '%s'", tok[0]), -1;
}

/* ---- configuration ---- */

void sim_cfg_init(struct sim_cfg *c, int nnodes)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->nnodes = nnodes;
	for (i = 1; i <= nnodes && i <= SIM_MAX_NODES; i++)
		snprintf(c->node_name[i], sizeof(c->node_name[i]), "n%d", i);
}

void sim_cfg_free(struct sim_cfg *c)
{
	int i;

	for (i = 0; i < c->nopts; i++)
		free(c->opts[i].text);
	free(c->opts);
	free(c->groups);
	free(c->res);
	memset(c, 0, sizeof(*c));
}

static int grow(void **p, int *cap, int n, size_t size)
{
	void *q;

	if (n < *cap)
		return 0;
	q = realloc(*p, (size_t)(*cap ? *cap * 2 : 16) * size);
	if (q == NULL)
		return -ENOMEM;
	*p = q;
	*cap = *cap ? *cap * 2 : 16;
	return 0;
}

int sim_cfg_add_group(struct sim_cfg *c, const char *name)
{
	if (grow((void **)&c->groups, &c->cap_groups, c->ngroups, sizeof(*c->groups)) < 0)
		return -ENOMEM;
	if (cm_strlcpy(c->groups[c->ngroups], name, RES_NAME_MAX) < 0)
		return -CM_E_NAME;
	c->ngroups++;
	return 0;
}

int sim_cfg_add_res(struct sim_cfg *c, const char *name, const char *type, const char *group)
{
	struct sim_cres *r;

	if (grow((void **)&c->res, &c->cap_res, c->nres, sizeof(*c->res)) < 0)
		return -ENOMEM;
	r = &c->res[c->nres];
	memset(r, 0, sizeof(*r));
	if (cm_strlcpy(r->name, name, sizeof(r->name)) < 0 || cm_strlcpy(r->type, type, sizeof(r->type)) < 0 ||
	    cm_strlcpy(r->group, group, sizeof(r->group)) < 0)
		return -CM_E_NAME;
	c->nres++;
	return 0;
}

int sim_cfg_add_opt(struct sim_cfg *c, const char *opt, int line)
{
	if (grow((void **)&c->opts, &c->cap_opts, c->nopts, sizeof(*c->opts)) < 0)
		return -ENOMEM;
	if ((c->opts[c->nopts].text = strdup(opt)) == NULL)
		return -ENOMEM;
	c->opts[c->nopts++].line = line;
	return 0;
}

struct res_model *sim_cfg_build(const struct sim_cfg *c, char *err, size_t errlen)
{
	struct res_model *m = res_model_new();
	struct res_group *g;
	struct res_resource *r;
	size_t i;
	int k, rc = 0;
	bool check;

	if (m == NULL)
		return snprintf(err, errlen, "out of memory"), NULL;
	for (k = 1; k <= c->nnodes && rc >= 0; k++)
		if ((rc = res_model_add_node(m, (uint32_t)k, c->node_name[k])) < 0)
			snprintf(err, errlen, "node %d '%s': %s", k, c->node_name[k], cm_strerror(rc));
	for (k = 0; k < c->ngroups && rc >= 0; k++)
		if ((rc = res_model_add_group(m, c->groups[k])) < 0)
			snprintf(err, errlen, "group '%s': %s", c->groups[k], cm_strerror(rc));
	for (k = 0; k < c->nres && rc >= 0; k++)
		if ((rc = res_model_add_resource(m, c->res[k].name, c->res[k].type, c->res[k].group)) < 0)
			snprintf(err, errlen, "resource '%s': %s", c->res[k].name, cm_strerror(rc));
	if (rc >= 0 && (rc = res_model_finish(m)) < 0)
		snprintf(err, errlen, "res_model_finish: %s", cm_strerror(rc));
	for (i = 0; rc >= 0 && i < m->nres; i++)
		if (m->res[i].group < 0) {  /* finish leaves it unresolved */
			snprintf(err, errlen, "resource '%s': no group '%s'", m->res[i].name,
				 m->res[i].group_name);
			rc = -CM_E_NO_OBJECT;
		}
	/* checked one by one against the finished model like clusterd's writes;
	 * a generated --scale model is trusted (refinishing is not free) */
	check = c->nres <= 200;
	for (k = 0; k < c->nres && rc >= 0; k++) {
		int d;

		for (d = 0; d < c->res[k].ndeps && rc >= 0; d++) {
			if (check && res_dep_check(m, c->res[k].name, c->res[k].deps[d], err, errlen) < 0)
				rc = -CM_E_VALUE;
			else if ((rc = res_model_add_dep(m, c->res[k].name, c->res[k].deps[d])) < 0)
				snprintf(err, errlen, "dependency of '%s': %s", c->res[k].name, cm_strerror(rc));
			else if (check && (rc = res_model_finish(m)) < 0)
				snprintf(err, errlen, "res_model_finish: %s", cm_strerror(rc));
		}
	}
	if (rc >= 0 && !check && (rc = res_model_finish(m)) < 0)
		snprintf(err, errlen, "res_model_finish: %s", cm_strerror(rc));
	if (rc < 0) {
		res_model_free(m);
		return NULL;
	}
	/* the simulator's defaults, as documented in README.md */
	for (i = 0; i < m->nnodes; i++)
		m->nodes[i].has_agent = true;
	for (i = 0; i < m->ngroups; i++) {
		g = &m->groups[i];
		g->failback = RES_FB_NEVER;
		g->prio = RES_PRIO_MEDIUM;
		g->failover_threshold = -1;
		g->failover_period_ms = 6 * 3600000LL;
	}
	for (i = 0; i < m->nres; i++) {
		r = &m->res[i];
		r->restart = RES_RESTART_FAILOVER;
		r->restart_threshold = 3;
		r->restart_period_ms = 900000;
	}
	for (k = 0; k < c->nopts; k++) {
		char msg[200];

		if (sim_model_set(m, c->opts[k].text, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "line %d: %s", c->opts[k].line, msg);
			res_model_free(m);
			return NULL;
		}
	}
	if (res_model_reorder(m) < 0) {
		snprintf(err, errlen, "out of memory");
		res_model_free(m);
		return NULL;
	}
	return m;
}

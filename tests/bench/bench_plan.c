/* bench_plan.c - planning time and memory of the policy core (res_step)
 * when a node is lost, on the model tests/bench/bench-pcmk gives Pacemaker.
 *
 *   bench_plan [-r REPS] [NODESxGROUPS ...]      (default: 16x1000 64x8000)
 *
 * Model (keep in step with bench-pcmk): nodes 1..N ("node1".."nodeN"), each
 * with memory_mb = 200 * max(ceil(1.25 G / N), ceil(G / (N - 1))) and a
 * fence agent; G groups gNNNNN of two "process" resources -a and -b (b
 * depends on a), 100 MB each; group i prefers node (i mod N) + 1 only.
 * Every group is wanted online and is driven Online on its preferred node
 * through res_step (a TICK with every node a member, then a RESULT ok for
 * every ONLINE action), untimed.
 *
 * Timed (CLOCK_MONOTONIC around res_step only), each on a fresh model:
 *   loss_ms      the TICK whose view lacks node 1 (plans its fencing);
 *   recover_ms   the FENCE_RESULT ok for node 1 (plans its groups elsewhere);
 *   complete_ms  the sum of the RESULT ok steps that follow, until every
 *                group is Online again (steps= of them).
 * Medians of REPS (5) runs. actions= is the number of actions the
 * FENCE_RESULT step planned, targets= the number of nodes node 1's groups
 * go to.
 * Memory: model_mb is the size of the model's own structures (counted, not
 * measured); rss_mb the peak RSS (getrusage ru_maxrss) over the RSS before
 * the first model was built: model, driving and planning; maxrss_mb the
 * whole process's peak, to compare with another program's peak RSS. Each
 * size runs in a child process of its own, so these are its own.
 *
 * Checks, or exit 1: node 1 is fenced (a FENCE action against it by the
 * lowest member); after the FENCE_RESULT every group of node 1 has an
 * ONLINE action on another node; at the end every group is Online, none on
 * node 1, and no node holds more memory_mb than it has. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "res_core.h"

#define RES_MB 100             /* per resource */
#define T0_MS 1700000000000LL  /* cluster time of the first event */

struct run {
	double loss_ms, recover_ms, complete_ms;
	size_t actions, steps, targets;
	double model_mb;
};

struct bench {
	int nodes, groups;
	int64_t node_mb;
	uint32_t *members;        /* 1..N */
	int64_t now_ms;
	struct res_plan plan;
	/* actions still to answer: copied out of the plan, which each step resets */
	struct res_action *todo;
	size_t ntodo, captodo;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * 4;
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int fail(const char *what)
{
	fprintf(stderr, "bench_plan: %s\n", what);
	return -1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint32_t pref_node(const struct bench *b, int i)
{
	return (uint32_t)(i % b->nodes) + 1;
}

/* Bytes held by the model's own structures (allocator slack not counted). */
static size_t model_bytes(const struct res_model *m)
{
	size_t n = sizeof(*m), i;

	n += m->nnodes * sizeof(*m->nodes) + m->nres * sizeof(*m->res) + m->ngroups * sizeof(*m->groups);
	n += m->ngroups * sizeof(*m->order) + m->nnodes * (sizeof(*m->used_mb) + sizeof(*m->ngrp_on));
	for (i = 0; i < m->nres; i++)
		n += (size_t)(m->res[i].ndeps + m->res[i].nrdeps) * sizeof(int) +
		     (size_t)m->res[i].npossible * sizeof(uint32_t);
	for (i = 0; i < m->ngroups; i++)
		n += (size_t)m->groups[i].nres * sizeof(int) +
		     (size_t)m->groups[i].npreferred * sizeof(uint32_t);
	return n;
}

static struct res_model *build(const struct bench *b)
{
	struct res_model *m = res_model_new();
	char name[RES_NAME_MAX], ra[RES_NAME_MAX], rb[RES_NAME_MAX];
	int i;

	if (m == NULL)
		return NULL;
	for (i = 1; i <= b->nodes; i++) {
		snprintf(name, sizeof(name), "node%d", i);
		if (res_model_add_node(m, (uint32_t)i, name) < 0)
			goto err;
	}
	for (i = 0; i < b->groups; i++) {
		snprintf(name, sizeof(name), "g%05d", i);
		snprintf(ra, sizeof(ra), "g%05d-a", i);
		snprintf(rb, sizeof(rb), "g%05d-b", i);
		if (res_model_add_group(m, name) < 0 || res_model_add_resource(m, ra, "process", name) < 0 ||
		    res_model_add_resource(m, rb, "process", name) < 0 || res_model_add_dep(m, rb, ra) < 0)
			goto err;
	}
	if (res_model_finish(m) < 0)
		goto err;
	for (i = 1; i <= b->nodes; i++) {
		int n = res_node_find(m, (uint32_t)i);

		if (n < 0)
			goto err;
		m->nodes[n].memory_mb = b->node_mb;
		m->nodes[n].has_agent = true;
	}
	for (i = 0; i < b->groups; i++) {
		uint32_t pref = pref_node(b, i);
		int g, k;

		snprintf(name, sizeof(name), "g%05d", i);
		g = res_group_find(m, name);
		if (g < 0 || res_group_set_preferred(m, g, &pref, 1) < 0)
			goto err;
		m->groups[g].want_online = true;
		for (k = 0; k < m->groups[g].nres; k++)
			m->res[m->groups[g].res[k]].memory_mb = RES_MB;
	}
	return m;
err:
	res_model_free(m);
	return NULL;
}

static void ev_init(struct bench *b, struct res_event *ev, enum res_ev type, size_t nmembers)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	b->now_ms += 10;
	ev->now_ms = b->now_ms;
	ev->quorate = true;
	/* a view without node 1 is members[1..] */
	ev->members = nmembers == (size_t)b->nodes ? b->members : b->members + 1;
	ev->nmembers = nmembers;
}

/* Queue the plan's ONLINE actions, to be answered with RESULT ok. */
static int queue_online(struct bench *b)
{
	size_t i;

	for (i = 0; i < b->plan.nactions; i++) {
		if (b->plan.actions[i].op != RES_OP_ONLINE)
			continue;
		if (b->ntodo == b->captodo) {
			size_t cap = b->captodo ? b->captodo * 2 : 1024;
			struct res_action *p = realloc(b->todo, cap * sizeof(*p));

			if (p == NULL)
				return fail("out of memory");
			b->todo = p;
			b->captodo = cap;
		}
		b->todo[b->ntodo++] = b->plan.actions[i];
	}
	return 0;
}

/* Answer queued ONLINE actions (oldest first) until none is left; what the
 * answers plan is queued too. Returns the time spent in res_step, or < 0. */
static double answer_all(struct bench *b, struct res_model *m, size_t nmembers, size_t *steps)
{
	double spent = 0;
	size_t head = 0;

	while (head < b->ntodo) {
		struct res_action a = b->todo[head++];
		struct res_event ev;
		double t;

		ev_init(b, &ev, RES_EV_RESULT, nmembers);
		ev.res = a.res;
		ev.node = a.node;
		ev.gen = a.gen;
		ev.op = RES_OP_ONLINE;
		ev.ok = true;
		ev.text = "started";
		t = now_ms();
		if (res_step(m, &ev, &b->plan) < 0)
			return fail("res_step(RESULT) failed");
		spent += now_ms() - t;
		(*steps)++;
		/* compact now and then, so the queue does not grow with every answer */
		if (head > 4096 && head * 2 > b->ntodo) {
			memmove(b->todo, b->todo + head, (b->ntodo - head) * sizeof(*b->todo));
			b->ntodo -= head;
			head = 0;
		}
		if (queue_online(b) < 0)
			return -1;
	}
	b->ntodo = 0;
	return spent;
}

/* Every group Online, all of it on one node; at_pref: that node is its
 * preferred one, else: not node 1. Per node, memory within capacity. */
static int check_placement(const struct bench *b, const struct res_model *m, bool at_pref)
{
	int64_t *used = calloc(m->nnodes, sizeof(*used));
	size_t g;
	int k, rc = 0;

	if (used == NULL)
		return fail("out of memory");
	for (g = 0; g < m->ngroups && rc == 0; g++) {
		const struct res_group *grp = &m->groups[g];
		uint32_t node = res_group_active_node(m, (int)g);
		int i = atoi(grp->name + 1), n = res_node_find(m, node);

		if (res_group_state(m, (int)g) != RES_G_ONLINE || n < 0) {
			fprintf(stderr, "bench_plan: group '%s' is %s (%s)\n", grp->name,
				res_gstate_to_str(res_group_state(m, (int)g)), grp->reason);
			rc = -1;
		} else if (at_pref ? node != pref_node(b, i) : node == 1) {
			fprintf(stderr, "bench_plan: group '%s' is Online on node %u\n", grp->name, node);
			rc = -1;
		}
		for (k = 0; k < grp->nres && rc == 0; k++) {
			const struct res_resource *r = &m->res[grp->res[k]];

			if (r->node != node) {
				fprintf(stderr, "bench_plan: '%s' on node %u, its group on %u\n", r->name, r->node, node);
				rc = -1;
			}
			used[n] += r->memory_mb;
		}
	}
	for (g = 0; g < m->nnodes && rc == 0; g++)
		if (used[g] > m->nodes[g].memory_mb) {
			fprintf(stderr, "bench_plan: node %u holds %lld MB of %lld\n", m->nodes[g].id,
				(long long)used[g], (long long)m->nodes[g].memory_mb);
			rc = -1;
		}
	free(used);
	return rc;
}

/* One run on a fresh model. */
static int run_once(struct bench *b, struct run *out)
{
	struct res_model *m = build(b);
	struct res_event ev;
	size_t i, steps = 0, nlost = 0, placed = 0;
	bool fenced = false;
	int rc = -1;
	double t;

	memset(out, 0, sizeof(*out));
	b->now_ms = T0_MS;
	b->ntodo = 0;
	if (m == NULL)
		return fail("cannot build the model");
	out->model_mb = (double)model_bytes(m) / (1024 * 1024);

	/* untimed: everything Online on its preferred node */
	ev_init(b, &ev, RES_EV_TICK, (size_t)b->nodes);
	if (res_step(m, &ev, &b->plan) < 0 || queue_online(b) < 0) {
		fail("res_step(TICK) failed");
		goto out;
	}
	if (answer_all(b, m, (size_t)b->nodes, &steps) < 0)
		goto out;
	if (check_placement(b, m, true) < 0) {
		fail("the start-up did not bring every group Online on its preferred node");
		goto out;
	}

	/* timed: node 1 leaves the view */
	ev_init(b, &ev, RES_EV_TICK, (size_t)b->nodes - 1);
	t = now_ms();
	if (res_step(m, &ev, &b->plan) < 0) {
		fail("res_step(TICK without node 1) failed");
		goto out;
	}
	out->loss_ms = now_ms() - t;
	for (i = 0; i < b->plan.nactions; i++)
		if (b->plan.actions[i].op == RES_OP_FENCE && b->plan.actions[i].target == 1 &&
		    b->plan.actions[i].node == 2)
			fenced = true;
	if (!fenced) {
		fprintf(stderr, "bench_plan: no FENCE of node 1 by node 2 in the %zu actions planned at its loss\n",
			b->plan.nactions);
		goto out;
	}

	/* timed: the fence agent reports node 1 off */
	ev_init(b, &ev, RES_EV_FENCE_RESULT, (size_t)b->nodes - 1);
	ev.node = 1;
	ev.ok = true;
	ev.text = "off";
	t = now_ms();
	if (res_step(m, &ev, &b->plan) < 0) {
		fail("res_step(FENCE_RESULT) failed");
		goto out;
	}
	out->recover_ms = now_ms() - t;
	out->actions = b->plan.nactions;
	/* every group of node 1 gets an ONLINE action elsewhere */
	{
		char *seen = calloc(m->ngroups, 1), *to = calloc(m->nnodes, 1);

		if (seen == NULL || to == NULL) {
			free(seen);
			free(to);
			fail("out of memory");
			goto out;
		}
		for (i = 0; i < b->plan.nactions; i++) {
			const struct res_action *a = &b->plan.actions[i];
			int n = res_node_find(m, a->node);

			if (a->op == RES_OP_ONLINE && a->node != 1 && n >= 0 && a->res >= 0 &&
			    (size_t)a->res < m->nres) {
				seen[m->res[a->res].group] = 1;
				out->targets += !to[n];
				to[n] = 1;
			}
		}
		free(to);
		for (i = 0; i < m->ngroups; i++)
			if (pref_node(b, atoi(m->groups[i].name + 1)) == 1) {
				nlost++;
				placed += seen[i] != 0;
			}
		free(seen);
	}
	if (placed != nlost) {
		fprintf(stderr, "bench_plan: %zu of node 1's %zu groups have an ONLINE action elsewhere\n",
			placed, nlost);
		goto out;
	}

	/* timed: the starts that follow, until every group is Online */
	if (queue_online(b) < 0)
		goto out;
	steps = 0;
	out->complete_ms = answer_all(b, m, (size_t)b->nodes - 1, &steps);
	if (out->complete_ms < 0)
		goto out;
	out->steps = steps;
	if (check_placement(b, m, false) < 0) {
		fail("after the recovery: placement check failed");
		goto out;
	}
	rc = 0;
out:
	res_model_free(m);
	return rc;
}

static int bench_one(int nodes, int groups, int reps)
{
	long rss0 = rss_kib();
	struct bench b;
	struct run *runs = calloc((size_t)reps, sizeof(*runs));
	double *v = calloc((size_t)reps, sizeof(*v));
	int64_t per = (125LL * groups + 100LL * nodes - 1) / (100LL * nodes);
	int64_t need = (groups + nodes - 2) / (nodes - 1);
	int i, rc = 0;
	double loss, recover, complete;

	memset(&b, 0, sizeof(b));
	b.nodes = nodes;
	b.groups = groups;
	b.node_mb = 2 * RES_MB * (per > need ? per : need);
	b.members = calloc((size_t)nodes, sizeof(*b.members));
	if (runs == NULL || v == NULL || b.members == NULL) {
		rc = fail("out of memory");
		goto out;
	}
	for (i = 0; i < nodes; i++)
		b.members[i] = (uint32_t)i + 1;
	for (i = 0; i < reps && rc == 0; i++)
		rc = run_once(&b, &runs[i]);
	if (rc < 0)
		goto out;
	for (i = 0; i < reps; i++)
		v[i] = runs[i].loss_ms;
	loss = median(v, reps);
	for (i = 0; i < reps; i++)
		v[i] = runs[i].recover_ms;
	recover = median(v, reps);
	for (i = 0; i < reps; i++)
		v[i] = runs[i].complete_ms;
	complete = median(v, reps);
	printf("BENCH plan nodes=%d groups=%d loss_ms=%.3f recover_ms=%.3f complete_ms=%.3f steps=%zu"
	       " actions=%zu targets=%zu model_mb=%.1f rss_mb=%.1f maxrss_mb=%.1f\n",
	       nodes, groups, loss, recover, complete, runs[0].steps, runs[0].actions,
	       runs[0].targets, runs[0].model_mb,
	       (double)(maxrss_kib() - rss0) / 1024, (double)maxrss_kib() / 1024);
	fflush(stdout);
out:
	res_plan_free(&b.plan);
	free(b.todo);
	free(b.members);
	free(runs);
	free(v);
	return rc;
}

int main(int argc, char **argv)
{
	static const char *defaults[] = { "16x1000", "64x8000" };
	const char **sizes = defaults;
	int nsizes = 2, reps = 5, i, argi = 1, st, failed = 0;
	pid_t pid;

	if (argc > 2 && strcmp(argv[1], "-r") == 0) {
		reps = atoi(argv[2]);
		argi = 3;
	}
	if (argi < argc) {
		sizes = (const char **)argv + argi;
		nsizes = argc - argi;
	}
	if (reps < 1) {
		fprintf(stderr, "usage: bench_plan [-r REPS] [NODESxGROUPS ...]\n");
		return 2;
	}
	for (i = 0; i < nsizes; i++) {
		int nodes = 0, groups = 0;
		char x = 0;

		if (sscanf(sizes[i], "%d%c%d", &nodes, &x, &groups) != 3 || x != 'x' || nodes < 3 ||
		    groups < nodes || groups > 99999) {
			fprintf(stderr, "bench_plan: '%s': want NODESxGROUPS, 3 <= NODES <= GROUPS <= 99999\n",
				sizes[i]);
			return 2;
		}
		/* each size in a process of its own: its peak RSS is its own */
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			perror("bench_plan: fork");
			return 1;
		}
		if (pid == 0)
			_exit(bench_one(nodes, groups, reps) < 0 ? 1 : 0);
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = 1;
	}
	return failed;
}

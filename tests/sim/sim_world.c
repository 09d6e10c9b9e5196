/* sim_world.c - the simulated cluster: nodes with their own replicas,
 * partitions, message delivery, the virtual clock and its timers.
 *
 * Mirrors clusterd (DESIGN.md): every message of a partition is applied by
 * every member in one total order (res_step with now_ms = the message's
 * time and members = the view); each node executes only its own actions;
 * results come back as messages. Membership changes happen only between
 * messages (virtual synchrony: the queue is flushed first). No wall clock
 * except the timing of res_step for --scale; no randomness.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_err.h"
#include "cm_str.h"
#include "res_io.h"
#include "sim.h"

struct sim_node *sim_node(struct sim_world *w, uint32_t id)
{
	return id >= 1 && id <= w->nnodes ? &w->nodes[id - 1] : NULL;
}

/* ---- timers: a binary heap ordered by (due, seq) ---- */

static bool tm_less(const struct sim_timer *a, const struct sim_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

void sim_timer_push(struct sim_world *w, struct sim_timer t)
{
	size_t i;

	if (w->nheap == w->cap_heap) {
		size_t cap = w->cap_heap ? w->cap_heap * 2 : 256;
		struct sim_timer *h = realloc(w->heap, cap * sizeof(*h));

		if (h == NULL) {
			sim_fail(w, "out of memory");
			return;
		}
		w->heap = h;
		w->cap_heap = cap;
	}
	t.seq = ++w->seq;
	for (i = w->nheap++; i > 0 && tm_less(&t, &w->heap[(i - 1) / 2]); i = (i - 1) / 2)
		w->heap[i] = w->heap[(i - 1) / 2];
	w->heap[i] = t;
}

static struct sim_timer tm_pop(struct sim_world *w)
{
	struct sim_timer top = w->heap[0], last = w->heap[--w->nheap];
	size_t i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= w->nheap)
			break;
		if (c + 1 < w->nheap && tm_less(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!tm_less(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->nheap)
		w->heap[i] = last;
	return top;
}

/* ---- partitions ---- */

bool sim_quorate(const struct sim_world *w, size_t nmembers)
{
	return 2 * nmembers > w->nnodes;
}

bool sim_in_view(const struct sim_node *n)
{
	return n->alive && !n->frozen;
}

bool sim_partition(const struct sim_world *w, uint32_t id, uint32_t *members, size_t *n)
{
	const struct sim_node *me = id >= 1 && id <= w->nnodes ? &w->nodes[id - 1] : NULL;
	uint32_t i;

	*n = 0;
	if (me == NULL || !sim_in_view(me))
		return false;
	for (i = 0; i < w->nnodes; i++)
		if (sim_in_view(&w->nodes[i]) && w->nodes[i].side == me->side)
			members[(*n)++] = w->nodes[i].id;
	return true;
}

uint32_t sim_quorate_leader(struct sim_world *w)
{
	uint32_t mem[SIM_MAX_NODES], i;
	size_t n;

	for (i = 1; i <= w->nnodes; i++)
		if (sim_partition(w, i, mem, &n) && sim_quorate(w, n))
			return mem[0];
	return 0;
}

struct res_model *sim_view_model(struct sim_world *w)
{
	uint32_t id = sim_quorate_leader(w), i;

	for (i = 1; id == 0 && i <= w->nnodes; i++)
		if (sim_in_view(&w->nodes[i - 1]))
			id = i;
	return sim_node(w, id ? id : 1)->m;
}

static bool same_view(const struct sim_node *n, const uint32_t *mem, size_t k)
{
	return n->viewed && n->nview == k && memcmp(n->view, mem, k * sizeof(*mem)) == 0;
}

/* A joining node takes the database of the partition (clusterd's sync). */
static void copy_replica(struct sim_world *w, struct sim_node *from, struct sim_node *to)
{
	struct cm_sb sb;
	struct res_model *m = NULL;
	struct res_event ev;
	uint32_t *blk = NULL;
	char err[256];
	int rc;

	cm_sb_init(&sb);
	rc = res_input_to_json(from->m, NULL, &sb);
	if (rc == 0)
		rc = res_input_from_json(cm_sb_str(&sb), sb.len, &m, &ev, &blk, err, sizeof(err));
	else
		snprintf(err, sizeof(err), "%s", cm_strerror(rc));
	cm_sb_free(&sb);
	free(blk);
	if (rc < 0) {
		sim_fail(w, "copying the replica of node %u to node %u: %s", from->id, to->id, err);
		return;
	}
	res_model_free(to->m);
	to->m = m;
}

/* Did n lose a peer it saw? (its old view has a node not in mem) */
static bool lost_peer(const struct sim_node *n, const uint32_t *mem, size_t k)
{
	size_t i, j;

	for (i = 0; n->viewed && i < n->nview; i++) {
		for (j = 0; j < k && mem[j] != n->view[i]; j++)
			;
		if (j == k)
			return true;
	}
	return false;
}

void sim_net_changed(struct sim_world *w)
{
	uint32_t mem[SIM_MAX_NODES], old[SIM_MAX_NODES];
	bool done[SIM_MAX_NODES + 1] = { false };
	struct sim_node *nd, *donor;
	struct res_event ev = { .type = RES_EV_TICK, .res = -1, .group = -1 };
	struct sim_msg *msg;
	size_t n, nold, i;
	uint32_t id;
	char vs[SIM_MAX_NODES * 4];

	/* nodes that left every view: what they ran is unsafe until fenced */
	for (id = 1; id <= w->nnodes; id++) {
		nd = sim_node(w, id);
		if (nd->viewed && !sim_in_view(nd)) {
			sim_mark_unsafe(w, nd);
			nd->viewed = false;
			nd->inq = false;
			nd->nview = 0;
		}
	}
	for (id = 1; id <= w->nnodes; id++) {
		bool changed = false;

		if (done[id] || !sim_partition(w, id, mem, &n))
			continue;
		for (i = 0; i < n; i++) {
			done[mem[i]] = true;
			if (!same_view(sim_node(w, mem[i]), mem, n))
				changed = true;
		}
		if (!changed)
			continue;
		/* the freshest database: applied the latest message under quorum */
		donor = sim_node(w, mem[0]);
		for (i = 1; i < n; i++)
			if (sim_node(w, mem[i])->qstamp > donor->qstamp)
				donor = sim_node(w, mem[i]);
		nold = donor->viewed ? donor->nview : 0;
		memcpy(old, donor->view, nold * sizeof(*old));
		for (i = 0; i < n; i++) {
			nd = sim_node(w, mem[i]);
			if (lost_peer(nd, mem, n))  /* split away: as unsafe as a lost node */
				sim_mark_unsafe(w, nd);
			if (!w->single && nd != donor &&
			    (!nd->viewed || nd->nview != nold || memcmp(nd->view, old, nold * sizeof(*old))))
				copy_replica(w, donor, nd);
		}
		for (i = 0; i < n; i++) {
			nd = sim_node(w, mem[i]);
			memcpy(nd->view, mem, n * sizeof(*mem));
			nd->nview = n;
			nd->viewed = true;
			if (sim_quorate(w, n))
				sim_clear_unsafe(w, nd);
		}
		sim_view_str(mem, n, vs, sizeof(vs));
		sim_printf(w, "view {%s} %s", vs, sim_quorate(w, n) ? "quorate" : "without quorum");
		msg = sim_send(w, mem[0], &ev, NULL, NULL);
		if (msg)
			msg->view = true;
		for (i = 0; i < n; i++) {
			struct sim_timer t = { .kind = SIM_TM_QSTOP, .due = w->now + 1000 };

			nd = sim_node(w, mem[i]);
			if (sim_quorate(w, n) && !nd->inq) {
				sim_probe(w, nd);
			} else if (!sim_quorate(w, n)) {
				t.node = nd->id;
				t.id = nd->boots;
				sim_timer_push(w, t);
			}
			nd->inq = sim_quorate(w, n);
		}
	}
}

/* ---- messages ---- */

struct sim_msg *sim_send(struct sim_world *w, uint32_t origin, const struct res_event *ev,
			 const char *text, const char *set)
{
	struct sim_msg *msg;
	struct sim_node *o = sim_node(w, origin);

	if (o == NULL || !sim_in_view(o))
		return NULL;    /* a node out of every view cannot send */
	if (w->qhead + w->qlen == w->qcap) {
		if (w->qhead > 0) {
			memmove(w->q, w->q + w->qhead, w->qlen * sizeof(*w->q));
			w->qhead = 0;
		} else {
			size_t cap = w->qcap ? w->qcap * 2 : 256;
			struct sim_msg *q = realloc(w->q, cap * sizeof(*q));

			if (q == NULL) {
				sim_fail(w, "out of memory");
				return NULL;
			}
			w->q = q;
			w->qcap = cap;
		}
	}
	msg = &w->q[w->qhead + w->qlen++];
	memset(msg, 0, sizeof(*msg));
	msg->origin = origin;
	msg->ev = *ev;
	cm_strlcpy(msg->text, text ? text : "", sizeof(msg->text));
	msg->set = set ? strdup(set) : NULL;
	return msg;
}

/* ---- delivery ---- */

static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CLUSSIM_SAVE_INPUTS=DIR: every input that led to actions, as clusterd
 * saves them, for --replay. */
static void save_input(struct sim_world *w, const struct cm_sb *input)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/input-%05u.json", w->save_dir, ++w->nsaved);
	f = fopen(path, "w");
	if (f == NULL || fwrite(input->buf, 1, input->len, f) != input->len)
		sim_printf(w, "warning: cannot write %s", path);
	if (f)
		fclose(f);
}

/* Save the input like clusterd, read it back, plan again: must be the same. */
static void io_roundtrip(struct sim_world *w, const struct cm_sb *input, const struct res_model *m,
			 const char *planjs)
{
	struct res_model *m2 = NULL;
	struct res_event ev2;
	struct res_plan p2 = { 0 };
	struct cm_sb a, b;
	uint32_t *blk = NULL;
	char err[256];

	if (res_input_from_json(cm_sb_str(input), input->len, &m2, &ev2, &blk, err, sizeof(err)) < 0) {
		sim_fail(w, "res_io cannot read back its own input: %s", err);
		return;
	}
	cm_sb_init(&a);
	cm_sb_init(&b);
	if (res_step(m2, &ev2, &p2) < 0)
		sim_fail(w, "res_step failed on the saved input");
	res_plan_to_json(m2, &p2, &a);
	if (strcmp(cm_sb_str(&a), planjs) != 0)
		sim_fail(w, "replaying the saved input gives another plan:\n  live   %s\n  replay %s",
			 planjs, cm_sb_str(&a));
	cm_sb_reset(&a);
	res_input_to_json(m, NULL, &a);
	res_input_to_json(m2, NULL, &b);
	if (strcmp(cm_sb_str(&a), cm_sb_str(&b)) != 0)
		sim_fail(w, "replaying the saved input leaves another model");
	cm_sb_free(&a);
	cm_sb_free(&b);
	res_plan_free(&p2);
	res_model_free(m2);
	free(blk);
}

static void deliver(struct sim_world *w, struct sim_msg *msg)
{
	uint32_t mem[SIM_MAX_NODES];
	struct res_plan plan = { 0 };
	struct res_event ev = msg->ev;
	struct cm_sb in, js0, js, st0, st;
	struct sim_timer t = { .kind = SIM_TM_WAKE };
	struct sim_node *nd, *first;
	size_t n, i, k;
	uint64_t seq = ++w->msgseq;
	char vs[SIM_MAX_NODES * 4], err[256];
	double t0;

	if (!sim_partition(w, msg->origin, mem, &n))
		return;
	first = sim_node(w, mem[0]);
	ev.now_ms = w->now;
	ev.tz_offset_min = w->tz_min;
	ev.quorate = sim_quorate(w, n);
	ev.fencing_off = w->fencing_off;
	ev.enforced_aa = w->enforced_aa;
	ev.drain_parallel = w->drain_parallel;
	ev.members = mem;
	ev.nmembers = n;
	ev.text = msg->text[0] ? msg->text : NULL;
	if (ev.type == RES_EV_CONFIRM_DOWN && ev.quorate && sim_node(w, ev.node))
		sim_clear_unsafe(w, sim_node(w, ev.node));
	sim_view_str(mem, n, vs, sizeof(vs));
	cm_sb_init(&in);
	cm_sb_init(&js0);
	cm_sb_init(&js);
	cm_sb_init(&st0);
	cm_sb_init(&st);
	for (i = 0; i < n && !w->failed; i++) {
		nd = sim_node(w, mem[i]);
		if (i == 0 || !w->single) {
			if (msg->set && sim_model_set(nd->m, msg->set, err, sizeof(err)) < 0 && i == 0) {
				sim_printf(w, "    config refused: %s", err);
				w->set_refused = true;
			}
			if (i == 0 && (w->io_check || w->save_dir))
				res_input_to_json(nd->m, &ev, &in);
			t0 = wall_ms();
			if (res_step(nd->m, &ev, &plan) < 0) {
				sim_fail(w, "res_step failed on node %u", nd->id);
				break;
			}
			if (i == 0 && msg->view)
				w->step_ms_view = wall_ms() - t0;
			if (i == 0 && ev.type == RES_EV_FENCE_RESULT)
				w->step_ms_fence = wall_ms() - t0;
		}
		if (i == 0) {
			sim_print_plan(w, msg, &ev, nd->m, &plan, vs);
			if (!w->single)
				res_plan_to_json(nd->m, &plan, &js0);
			if (w->io_check)
				io_roundtrip(w, &in, nd->m, cm_sb_str(&js0));
			if (w->save_dir && plan.nactions > 0)
				save_input(w, &in);
		} else if (!w->single) {
			cm_sb_reset(&js);
			res_plan_to_json(nd->m, &plan, &js);
			if (strcmp(cm_sb_str(&js), cm_sb_str(&js0)) != 0)
				sim_fail(w, "node %u planned otherwise than node %u for the same message",
					 nd->id, first->id);
		}
		if (ev.quorate)
			nd->qstamp = seq;
		nd->wake_ms = plan.next_wake_ms;
		for (k = 0; k < plan.nactions && !w->failed; k++)
			if (plan.actions[k].node == nd->id)
				sim_exec_action(w, nd, &plan.actions[k]);
	}
	if (plan.next_wake_ms > 0 && ev.quorate) {
		if (plan.next_wake_ms <= w->now && !w->warned_wake) {
			w->warned_wake = true;
			sim_printf(w, "warning: the plan asks for a wake that is not in the future");
		}
		t.node = first->id;
		t.due = plan.next_wake_ms > w->now ? plan.next_wake_ms : w->now + 1000;
		for (i = 0; i < n; i++)
			sim_node(w, mem[i])->wake_ms = t.due;
		sim_timer_push(w, t);
	}
	/* every member's replica must be the same after the same message */
	if (!w->single && !w->failed) {
		res_input_to_json(first->m, NULL, &st0);
		for (i = 1; i < n && !w->failed; i++) {
			cm_sb_reset(&st);
			res_input_to_json(sim_node(w, mem[i])->m, NULL, &st);
			if (strcmp(cm_sb_str(&st), cm_sb_str(&st0)) != 0)
				sim_fail(w, "the replicas of node %u and node %u differ", first->id, mem[i]);
		}
		sim_check_replica(w, first->m);
		sim_check_groups(w);
	}
	res_plan_free(&plan);
	cm_sb_free(&in);
	cm_sb_free(&js0);
	cm_sb_free(&js);
	cm_sb_free(&st0);
	cm_sb_free(&st);
}

void sim_flush(struct sim_world *w)
{
	struct sim_msg msg;

	while (w->qlen > 0 && !w->failed) {
		msg = w->q[w->qhead++];
		w->qlen--;
		if (w->qlen == 0)
			w->qhead = 0;
		deliver(w, &msg);
		free(msg.set);
	}
}

/* ---- the loop ---- */

static void tick_partitions(struct sim_world *w)
{
	struct res_event ev = { .type = RES_EV_TICK, .res = -1, .group = -1 };
	uint32_t mem[SIM_MAX_NODES], id;
	size_t n;

	for (id = 1; id <= w->nnodes; id++)
		if (sim_partition(w, id, mem, &n) && mem[0] == id && sim_quorate(w, n))
			sim_send(w, id, &ev, NULL, NULL);
}

/* A plan asked for a tick at t->due: the quorate partition's lowest member
 * sends it (whoever that is by now), unless a later plan moved the wake. */
static void wake(struct sim_world *w, const struct sim_timer *t)
{
	struct res_event ev = { .type = RES_EV_TICK, .res = -1, .group = -1 };
	struct sim_node *n = sim_node(w, sim_quorate_leader(w));

	if (n == NULL || n->wake_ms != t->due || n->wake_sent == t->due)
		return;
	n->wake_sent = t->due;
	sim_send(w, n->id, &ev, NULL, NULL);
}

bool sim_quiet(const struct sim_world *w)
{
	uint32_t i;

	if (w->qlen)
		return false;
	for (i = 0; i < w->nnodes; i++)
		if (sim_in_view(&w->nodes[i]) && (w->nodes[i].npend || w->nodes[i].nfence))
			return false;
	return true;
}

void sim_run(struct sim_world *w, int64_t dt, bool settle)
{
	int64_t end = w->now + dt;
	struct sim_timer t;

	for (;;) {
		sim_flush(w);
		if (w->failed || (settle && sim_quiet(w)))
			return;
		if (w->nheap == 0 || w->heap[0].due > end)
			break;
		t = tm_pop(w);
		if (t.due > w->now)
			w->now = t.due;
		switch (t.kind) {
		case SIM_TM_EXEC: sim_exec_done(w, &t); break;
		case SIM_TM_FENCE: sim_fence_done(w, &t); break;
		case SIM_TM_QSTOP: sim_qstop_done(w, &t); break;
		case SIM_TM_WAKE: wake(w, &t); break;
		default:
			tick_partitions(w);
			t.due = w->now + SIM_PERIODIC_MS;
			sim_timer_push(w, t);
		}
	}
	if (w->now < end)
		w->now = end;
	if (settle)
		sim_printf(w, "settle: still busy after %lld s", (long long)(dt / 1000));
}

/* ---- life cycle ---- */

struct sim_world *sim_world_new(const struct sim_cfg *c, bool single, FILE *out,
				char *err, size_t errlen)
{
	struct sim_world *w = calloc(1, sizeof(*w));
	struct sim_node *n;
	uint32_t i;

	if (w == NULL || c->nnodes < 1 || c->nnodes > SIM_MAX_NODES) {
		snprintf(err, errlen, "%s", w ? "1 to 256 nodes" : "out of memory");
		free(w);
		return NULL;
	}
	w->now = SIM_T0_MS;
	w->out = out;
	w->single = single;
	w->io_check = !single;
	w->keep_hist = !single;
	w->quiet = single;
	w->save_dir = getenv("CLUSSIM_SAVE_INPUTS");
	w->delay_on_ms = w->delay_off_ms = w->delay_term_ms = 1000;
	w->delay_fence_ms = 2000;
	w->fence_timeout_ms = 60000;
	w->delay_mig_ms = 3000;
	w->nnodes = (uint32_t)c->nnodes;
	w->nodes = calloc(w->nnodes, sizeof(*w->nodes));
	if (w->nodes == NULL)
		goto nomem;
	for (i = 0; i < w->nnodes; i++) {
		n = &w->nodes[i];
		n->id = i + 1;
		n->m = single && i > 0 ? w->nodes[0].m : sim_cfg_build(c, err, errlen);
		if (n->m == NULL)
			goto fail;
		w->nres = n->m->nres;
		w->ngroups = n->m->ngroups;
		n->xs = calloc(w->nres + 1, 1);
		n->xgen = calloc(w->nres + 1, sizeof(*n->xgen));
		n->xop = calloc(w->nres + 1, sizeof(*n->xop));
		n->xmig = calloc(w->nres + 1, sizeof(*n->xmig));
		n->xwatch = calloc(w->nres + 1, 1);
		n->gact = calloc(w->ngroups + 1, sizeof(*n->gact));
		n->unsafe = calloc(w->ngroups + 1, 1);
		n->view = calloc(w->nnodes, sizeof(*n->view));
		if (!n->xs || !n->xgen || !n->xop || !n->xmig || !n->xwatch || !n->gact || !n->unsafe || !n->view)
			goto nomem;
	}
	w->res_delay_on = calloc(w->nres + 1, sizeof(int64_t));
	w->res_delay_off = calloc(w->nres + 1, sizeof(int64_t));
	w->fail_start = calloc(w->nres + 1, sizeof(int));
	w->fail_stop = calloc(w->nres + 1, sizeof(int));
	w->mig_next = calloc(w->ngroups + 1, 1);
	w->mig_count = calloc(w->ngroups + 1, sizeof(int));
	w->mig_peak = calloc(w->nnodes + 1, sizeof(int));
	if (!w->res_delay_on || !w->res_delay_off || !w->fail_start || !w->fail_stop || !w->mig_next ||
	    !w->mig_count || !w->mig_peak)
		goto nomem;
	return w;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	sim_world_free(w);
	return NULL;
}

int sim_world_boot(struct sim_world *w, const struct sim_cfg *c)
{
	struct sim_timer t = { .kind = SIM_TM_PERIODIC, .due = w->now + SIM_PERIODIC_MS };
	uint32_t i;

	for (i = 1; i <= w->nnodes; i++)
		sim_node(w, i)->alive = !c->node_down[i];
	sim_net_changed(w);
	sim_timer_push(w, t);
	sim_flush(w);
	return w->failed ? -1 : 0;
}

void sim_world_free(struct sim_world *w)
{
	struct sim_node *n;
	uint32_t i;

	if (w == NULL)
		return;
	for (i = 0; w->nodes && i < w->nnodes; i++) {
		n = &w->nodes[i];
		if (!w->single || i == 0)
			res_model_free(n->m);
		free(n->xs);
		free(n->xgen);
		free(n->xop);
		free(n->xmig);
		free(n->xwatch);
		free(n->gact);
		free(n->unsafe);
		free(n->view);
	}
	for (; w->qlen; w->qlen--)
		free(w->q[w->qhead++].set);
	free(w->nodes);
	free(w->heap);
	free(w->q);
	free(w->res_delay_on);
	free(w->res_delay_off);
	free(w->fail_start);
	free(w->fail_stop);
	free(w->mig_next);
	free(w->mig_count);
	free(w->mig_peak);
	free(w->hist);
	free(w);
}

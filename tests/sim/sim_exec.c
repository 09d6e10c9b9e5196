/* sim_exec.c - the fake executor and fence agent of every simulated node,
 * and what happens to a node: death, restart, SIGSTOP, loss of quorum.
 *
 * The executor's state (sim_node.xs) is the truth the invariants check: a
 * process is "running" from the moment its online operation begins until
 * its offline operation ends. Operations end after virtual delays and
 * report through the node's partition like clusterd's results do. Scripted
 * failures (fail-start, fail-stop, fence fail|hang) come from the world.
 */
#include <string.h>

#include "cm_err.h"
#include "sim.h"

static void mig_action(struct sim_world *w, struct sim_node *n, const struct res_action *a);

void sim_exec_action(struct sim_world *w, struct sim_node *n, const struct res_action *a)
{
	struct sim_timer t = { .node = n->id, .op = a->op, .gen = a->gen, .res = a->res };
	int r = a->res;

	if (a->op == RES_OP_FENCE) {
		if (sim_node(w, a->target) == NULL) {
			sim_fail(w, "fence action against unknown node %u", a->target);
			return;
		}
		t.kind = SIM_TM_FENCE;
		t.target = a->target;
		t.id = n->boots;
		t.op = (int)w->fence_mode[a->target];   /* the outcome of this run */
		t.due = w->now + (w->fence_mode[a->target] == SIM_FENCE_HANG ?
				  w->fence_timeout_ms : w->delay_fence_ms);
		n->nfence++;
		sim_timer_push(w, t);
		return;
	}
	if (r < 0 || (size_t)r >= w->nres || (a->op != RES_OP_MIGRATE && a->op != RES_OP_MONITOR &&
					       a->op != RES_OP_CANCEL && a->op > RES_OP_TERMINATE) ||
	    a->op < RES_OP_ONLINE) {
		sim_fail(w, "action %d for resource index %d", a->op, r);
		return;
	}
	if (a->op >= RES_OP_MIGRATE) {
		mig_action(w, n, a);
		return;
	}
	sim_check_op(w, n, r, a->op);
	if (n->xop[r])
		n->npend--;     /* superseded: its result is never sent */
	t.kind = SIM_TM_EXEC;
	t.id = n->xop[r] = ++w->opseq;
	n->xgen[r] = a->gen;
	n->npend++;
	if (a->op == RES_OP_ONLINE) {
		sim_hist_add(w, 'S', n->id, r);
		if (n->xs[r] != SIM_X_RUNNING)
			sim_x_set(w, n, r, SIM_X_STARTING);
		t.due = w->now + (w->res_delay_on[r] ? w->res_delay_on[r] : w->delay_on_ms);
	} else {
		sim_hist_add(w, 'T', n->id, r);
		if (n->xs[r] != SIM_X_STOPPED)
			sim_x_set(w, n, r, SIM_X_STOPPING);
		t.due = w->now + (a->op == RES_OP_TERMINATE ? w->delay_term_ms :
				  w->res_delay_off[r] ? w->res_delay_off[r] : w->delay_off_ms);
	}
	sim_timer_push(w, t);
}

/* A SIGSTOPped node makes no progress: look again in a second. */
static bool held(struct sim_world *w, const struct sim_node *n, struct sim_timer *t)
{
	if (!n->frozen)
		return false;
	t->due = w->now + 1000;
	sim_timer_push(w, *t);
	return true;
}

/* ---- migration ---- */

static void mig_action(struct sim_world *w, struct sim_node *n, const struct res_action *a)
{
	struct sim_timer t = { .kind = SIM_TM_EXEC, .node = n->id, .op = a->op, .gen = a->gen, .res = a->res };
	struct sim_xmig *x = &n->xmig[a->res];
	int r = a->res, g = n->m->res[r].group, k, inflight;

	switch (a->op) {
	case RES_OP_MIGRATE:
		sim_check_migrate(w, n, a);
		if (w->failed)
			return;
		if (n->xop[r])
			n->npend--;     /* superseded: its result is never sent */
		x->to = a->target;
		x->how = w->mig_count[g] > 0 ? w->mig_next[g] : SIM_MIG_OK;
		x->switched = x->cancelled = false;
		if (w->mig_count[g] > 0)
			w->mig_count[g]--;
		t.id = n->xop[r] = ++w->opseq;
		n->xgen[r] = a->gen;
		n->npend++;
		sim_hist_add(w, 'M', n->id, r);
		for (k = 0, inflight = 0; (size_t)k < w->nres; k++)
			if (n->xop[k] && n->xmig[k].to)
				inflight++;
		if (inflight > w->mig_peak[n->id])
			w->mig_peak[n->id] = inflight;
		t.due = w->now + w->delay_mig_ms;
		sim_timer_push(w, t);
		return;
	case RES_OP_MONITOR:
		if (n->xs[r] != SIM_X_RUNNING) {
			sim_fail(w, "monitor of '%s' on node %u, where it does not run", n->m->res[r].name, n->id);
			return;
		}
		n->xwatch[r] = 1;
		n->xgen[r] = a->gen;
		return;
	default:        /* CANCEL */
		if (x->to == 0 || n->xop[r] == 0 || x->switched) {
			sim_printf(w, "executor on %u: nothing to cancel for '%s'%s", n->id, n->m->res[r].name,
				   x->switched ? " (it has switched over)" : "");
			return;
		}
		x->cancelled = true;
		t.op = RES_OP_MIGRATE;
		t.gen = n->xgen[r];
		t.id = n->xop[r] = ++w->opseq; /* ends now, not when the migration would have */
		t.due = w->now;
		sim_timer_push(w, t);
	}
}

/* The VM and every running resource of its group move from n to the target. */
static void switch_over(struct sim_world *w, struct sim_node *n, int r)
{
	struct sim_xmig *x = &n->xmig[r];
	struct sim_node *to = sim_node(w, x->to);
	const struct res_group *g = &n->m->groups[n->m->res[r].group];
	int k, ri;

	for (k = 0; k < g->nres; k++) {
		ri = g->res[k];
		if (n->xs[ri] == SIM_X_STOPPED)
			continue;
		if (to->xs[ri] != SIM_X_STOPPED)
			sim_fail(w, "'%s' switched over to node %u, where it already runs", n->m->res[ri].name, to->id);
		sim_x_set(w, n, ri, SIM_X_STOPPED);
		sim_x_set(w, to, ri, SIM_X_RUNNING);
		to->xgen[ri] = n->xgen[ri];
	}
	x->switched = true;
	sim_printf(w, "executor on %u: '%s' switched over to node %u", n->id, g->name, to->id);
	sim_check_groups(w);
}

static void mig_end(struct sim_world *w, struct sim_node *n, int r, bool ok, const char *text)
{
	struct res_event ev = { .type = RES_EV_RESULT, .res = r, .group = -1, .node = n->id,
				.gen = n->xgen[r], .op = RES_OP_MIGRATE, .ok = ok };

	n->xop[r] = 0;
	n->npend--;
	memset(&n->xmig[r], 0, sizeof(n->xmig[r]));
	sim_send(w, n->id, &ev, text, NULL);
}

static void mig_done(struct sim_world *w, struct sim_node *n, struct sim_timer *t)
{
	struct sim_xmig *x = &n->xmig[t->res];

	if (x->cancelled)
		return mig_end(w, n, t->res, false, "cancelled");
	switch ((enum sim_mig_how)x->how) {
	case SIM_MIG_FAIL:
		return mig_end(w, n, t->res, false, "migration failed (scripted)");
	case SIM_MIG_HANG:
		return;         /* pending until cancelled, finished or a node is lost */
	case SIM_MIG_SWITCH:
		if (!x->switched)
			switch_over(w, n, t->res);
		return;         /* switched over; the result hangs */
	default:
		switch_over(w, n, t->res);
		mig_end(w, n, t->res, true, NULL);
	}
}

/* The target of migrations from other nodes is gone. */
static void mig_target_lost(struct sim_world *w, const struct sim_node *dead)
{
	struct sim_node *o;
	uint32_t id;
	size_t r;

	for (id = 1; id <= w->nnodes; id++) {
		o = sim_node(w, id);
		for (r = 0; o != dead && o->alive && r < w->nres; r++)
			if (o->xop[r] && o->xmig[r].to == dead->id)
				mig_end(w, o, (int)r, o->xmig[r].switched,
					o->xmig[r].switched ? "switched over; the target was lost since" :
					"the target was lost");
	}
}

int sim_mig_finish(struct sim_world *w, int g)
{
	struct sim_node *n;
	uint32_t id;
	size_t r;

	for (id = 1; id <= w->nnodes; id++) {
		n = sim_node(w, id);
		for (r = 0; n->alive && r < w->nres; r++) {
			if (!n->xop[r] || n->xmig[r].to == 0 || n->m->res[r].group != g)
				continue;
			if (!n->xmig[r].switched)
				switch_over(w, n, (int)r);
			mig_end(w, n, (int)r, true, "finished (scripted)");
			return 0;
		}
	}
	return -CM_E_NO_OBJECT;
}

void sim_exec_done(struct sim_world *w, struct sim_timer *t)
{
	struct sim_node *n = sim_node(w, t->node);
	struct res_event ev = { .type = RES_EV_RESULT, .res = t->res, .group = -1,
				.node = t->node, .gen = t->gen, .op = (enum res_op)t->op, .ok = true };
	const char *text = NULL;
	int r = t->res;

	if (!n->alive || n->xop[r] != t->id || held(w, n, t))
		return;
	if (t->op == RES_OP_MIGRATE) {
		mig_done(w, n, t);
		return;
	}
	n->xop[r] = 0;
	n->npend--;
	if (t->op == RES_OP_ONLINE && w->fail_start[r] > 0) {
		w->fail_start[r]--;
		ev.ok = false;
		text = "start failed (scripted)";
		sim_x_set(w, n, r, SIM_X_STOPPED);
	} else if (t->op == RES_OP_ONLINE) {
		sim_x_set(w, n, r, SIM_X_RUNNING);
	} else if (t->op == RES_OP_OFFLINE && w->fail_stop[r] > 0) {
		w->fail_stop[r]--;
		ev.ok = false;
		text = "stop failed (scripted)";
		sim_x_set(w, n, r, SIM_X_RUNNING);
	} else {
		sim_x_set(w, n, r, SIM_X_STOPPED);
	}
	sim_send(w, n->id, &ev, text, NULL);
}

/* Every process of n ends now; pending operations never report. */
static int stop_all(struct sim_world *w, struct sim_node *n)
{
	size_t r;
	int stopped = 0;

	for (r = 0; r < w->nres; r++) {
		if (n->xs[r] != SIM_X_STOPPED)
			stopped++;
		sim_x_set(w, n, (int)r, SIM_X_STOPPED);
		n->xop[r] = 0;
		memset(&n->xmig[r], 0, sizeof(n->xmig[r]));
	}
	n->npend = 0;
	return stopped;
}

static void power_off(struct sim_world *w, struct sim_node *n)
{
	n->alive = false;
	n->frozen = false;
	stop_all(w, n);
	n->nfence = 0;
	mig_target_lost(w, n);
}

void sim_fence_done(struct sim_world *w, struct sim_timer *t)
{
	struct sim_node *f = sim_node(w, t->node), *target = sim_node(w, t->target);
	struct res_event ev = { .type = RES_EV_FENCE_RESULT, .res = -1, .group = -1,
				.node = t->target };
	const char *text;

	if (!f->alive || f->boots != t->id || held(w, f, t))
		return;         /* a dead fencer's agent run is gone */
	f->nfence--;
	switch ((enum sim_fence_mode)t->op) {
	case SIM_FENCE_OK:
		sim_printf(w, "fence agent on %u: node %u powered off", f->id, target->id);
		sim_hist_add(w, 'F', target->id, -1);
		if (target->alive) {
			target->alive = false;  /* leaves its view before its processes go */
			sim_net_changed(w);
		}
		power_off(w, target);
		target->fenced = true;
		sim_clear_unsafe(w, target);
		ev.ok = true;
		text = "powered off";
		break;
	case SIM_FENCE_FAIL:
		sim_printf(w, "fence agent on %u against node %u failed", f->id, target->id);
		text = "agent failed";
		break;
	default:
		sim_printf(w, "fence agent on %u against node %u timed out", f->id, target->id);
		text = "agent timed out";
	}
	sim_send(w, f->id, &ev, text, NULL);
}

void sim_qstop_done(struct sim_world *w, struct sim_timer *t)
{
	struct sim_node *n = sim_node(w, t->node);
	uint32_t mem[SIM_MAX_NODES];
	size_t k;

	if (!n->alive || n->boots != t->id || held(w, n, t))
		return;
	if (!sim_partition(w, n->id, mem, &k) || sim_quorate(w, k))
		return;
	if (stop_all(w, n))
		sim_printf(w, "node %u has no quorum: it stopped its resources", n->id);
}

void sim_probe(struct sim_world *w, struct sim_node *n)
{
	struct res_event ev = { .type = RES_EV_RESULT, .group = -1, .node = n->id };
	const struct res_resource *r;
	size_t i;

	for (i = 0; i < n->m->nres; i++) {
		r = &n->m->res[i];
		if (r->node != n->id || n->xs[i] != SIM_X_STOPPED || n->xop[i])
			continue;
		ev.res = (int)i;
		ev.gen = r->gen;
		if (r->state == RES_S_ONLINE) {
			ev.op = RES_OP_HEALTH;
			ev.ok = false;
		} else if (r->state == RES_S_ONLINE_PENDING) {
			ev.op = RES_OP_ONLINE;
			ev.ok = false;
		} else if (r->state == RES_S_OFFLINE_PENDING) {
			ev.op = RES_OP_OFFLINE;
			ev.ok = true;
		} else {
			continue;
		}
		sim_send(w, n->id, &ev, "not running (probe after joining)", NULL);
	}
}

void sim_kill(struct sim_world *w, uint32_t id)
{
	struct sim_node *n = sim_node(w, id);

	sim_flush(w);
	n->alive = false;
	n->frozen = false;
	sim_net_changed(w);     /* the lost node's groups are judged before they vanish */
	power_off(w, n);
}

void sim_start(struct sim_world *w, uint32_t id)
{
	struct sim_node *n = sim_node(w, id);

	sim_flush(w);
	n->alive = true;
	n->frozen = false;
	n->fenced = false;
	n->viewed = false;
	n->boots++;
	sim_clear_unsafe(w, n);
	sim_net_changed(w);
}

void sim_freeze(struct sim_world *w, uint32_t id, bool frozen)
{
	sim_flush(w);
	sim_node(w, id)->frozen = frozen;
	sim_net_changed(w);
}

int sim_fail_running(struct sim_world *w, int r, uint32_t on)
{
	struct res_event ev = { .type = RES_EV_RESULT, .res = r, .group = -1, .op = RES_OP_HEALTH };
	struct sim_node *n = NULL;
	uint32_t i;

	for (i = 1; i <= w->nnodes && n == NULL; i++)
		if ((on == 0 || on == i) && sim_in_view(sim_node(w, i)) &&
		    sim_node(w, i)->xs[r] == SIM_X_RUNNING)
			n = sim_node(w, i);
	if (n == NULL)
		return -CM_E_NO_OBJECT;
	sim_x_set(w, n, r, SIM_X_STOPPED);
	ev.node = n->id;
	ev.gen = n->xgen[r];
	sim_send(w, n->id, &ev, "health check failed (scripted)", NULL);
	return 0;
}

int sim_stop_outside(struct sim_world *w, int r, uint32_t on)
{
	struct res_event ev = { .type = RES_EV_RESULT, .res = r, .group = -1, .op = RES_OP_STOPPED, .ok = true };
	struct sim_node *n = NULL;
	uint32_t i;

	for (i = 1; i <= w->nnodes && n == NULL; i++)
		if ((on == 0 || on == i) && sim_in_view(sim_node(w, i)) &&
		    sim_node(w, i)->xs[r] == SIM_X_RUNNING)
			n = sim_node(w, i);
	if (n == NULL)
		return -CM_E_NO_OBJECT;
	sim_x_set(w, n, r, SIM_X_STOPPED);
	ev.node = n->id;
	ev.gen = n->xgen[r];
	sim_send(w, n->id, &ev, "shut down by an operator (scripted)", NULL);
	return 0;
}

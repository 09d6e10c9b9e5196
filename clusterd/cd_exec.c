/* cd_exec.c - the executor: resource operations in a FIFO, at most
 * max_parallel running, each with a timeout; health checks of the resources
 * online here; reaping of every child it gives up on. Fence runs are in
 * cd_fence.c.
 *
 * Operations are the resource types' steps (resources/res_type.h): each
 * step returns at once, and the executor waits for the fd it names on the
 * qb loop. Never here: blocking (no sleep, no blocking wait), waitpid(-1)
 * (other code may have children of its own: children are reaped by pid
 * only), or a result callback from inside cd_exec_submit (the caller may be
 * inside its database transaction: work starts from a loop timer).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <qb/qbdefs.h>

#include "cm_err.h"
#include "cm_str.h"
#include "cd_exec.h"
#include "res_type.h"

#define CD_EXEC_PARALLEL_DEFAULT 8
/* An operation submitted without a timeout gets the default pending
 * timeout of a resource (pending_timeout_s, 180 s). */
#define CD_EXEC_TIMEOUT_DEFAULT_MS 180000
/* After a type escalates at the timeout (SIGKILL), how long the operation
 * may still take: a killed process is gone at once unless stuck in the
 * kernel, and then waiting longer does not help. */
#define CD_EXEC_KILL_GRACE_MS 5000

struct xres;

struct xop {                     /* a submitted operation: queued, then running */
	struct xop *prev, *next;     /* queue links */
	struct xres *r;
	const struct res_type_ops *type;
	enum res_op op;
	uint64_t gen;
	bool replay;                 /* already done: report its result again, run nothing */
	char **props;
	size_t nprops;
	int64_t timeout_ms, looks_ms, is_ms;
	char *target;                /* MIGRATE */
	int mode;
};

struct xcall {                   /* a res_call in progress: an operation or a health check */
	struct res_call c;
	struct cd_exec *x;
	struct xres *r;
	struct xop *op;              /* NULL: a health check */
	bool is_alive;               /* health check: is_alive, else looks_alive */
	int polled;                  /* fd on the loop, -1: none */
	qb_loop_timer_handle timer;
	bool timer_on;
	bool expired;                /* c.expire was called */
};

struct xres {                    /* a resource this node has run operations for */
	struct xres *next;
	struct cd_exec *x;
	char name[RES_NAME_MAX];
	const struct res_type_ops *type;
	struct res_inst inst;
	struct xcall *op_call;       /* the running operation */
	struct xcall *check_call;    /* the running health check */
	/* online here (ONLINE ok, no failure or other operation since) */
	bool online;
	uint64_t gen;
	char **props;                /* of the ONLINE, for the health checks */
	size_t nprops;
	int64_t timeout_ms, looks_ms, is_ms;
	qb_loop_timer_handle looks_timer, is_timer;
	bool looks_on, is_on;
	bool watching;               /* inst.main.pidfd on the loop */
	/* the last finished operation: a repeat (clusterd re-submits pending
	 * work after a restart or a replica transfer, when the first result may
	 * have been lost) gets its result again instead of a second run */
	bool has_last;
	enum res_op last_op;
	uint64_t last_gen;
	bool last_ok;
	char last_text[RES_TEXT_MAX];
};

struct xzombie {                 /* a killed child, reaped when it exits */
	struct xzombie *next;
	struct cd_exec *x;
	struct res_child ch;
};

struct cd_exec {
	qb_loop_t *loop;
	const struct cd_exec_ops *ops;
	void *ctx;
	int max_parallel;
	int running;                 /* operations running (health checks not counted) */
	int queued;
	struct xop *qhead, *qtail;
	struct xres *res;
	struct xzombie *zombies;
	qb_loop_timer_handle kick_timer;
	bool kick_on;
	struct cd_fencing *fencing;
	void *env;                   /* for the types' calls */
};

static void call_step(struct xcall *k, int rc);
static void health_arm(struct xres *r, bool is_alive);

static void xlog(struct cd_exec *x, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void xlog(struct cd_exec *x, int prio, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (x->ops->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	x->ops->log(x->ctx, prio, buf);
}

static void report(struct cd_exec *x, const char *res, uint64_t gen, enum res_op op, bool ok,
		   const char *text)
{
	if (x->ops->result)
		x->ops->result(x->ctx, res, gen, op, ok, text);
}

static uint64_t ms_to_ns(int64_t ms)
{
	return (uint64_t)(ms > 0 ? ms : 0) * QB_TIME_NS_IN_MSEC;
}

/* ---- reaping children nobody waits for any more ---- */

static void zombie_drop(struct cd_exec *x, struct xzombie *z)
{
	struct xzombie **pp;

	for (pp = &x->zombies; *pp; pp = &(*pp)->next)
		if (*pp == z) {
			*pp = z->next;
			break;
		}
	qb_loop_poll_del(x->loop, z->ch.pidfd);
	res_child_close(&z->ch);
	free(z);
}

static int32_t zombie_ready(int32_t fd, int32_t revents, void *data)
{
	struct xzombie *z = data;
	int status;

	(void)fd;
	(void)revents;
	if (res_child_reap(&z->ch, &status) != -EAGAIN)
		zombie_drop(z->x, z);
	return 0;
}

/* Take over a child: SIGKILL its group now and reap it once it exits. */
static void adopt(struct cd_exec *x, struct res_child *ch)
{
	struct xzombie *z;
	pid_t pid = ch->pid;

	if (pid <= 0) {
		res_child_close(ch);
		return;
	}
	res_child_kill(ch, SIGKILL);
	z = calloc(1, sizeof(*z));
	if (z != NULL) {
		z->x = x;
		z->ch = *ch;
		res_child_init(ch);
		if (qb_loop_poll_add(x->loop, QB_LOOP_LOW, z->ch.pidfd, POLLIN, z, zombie_ready) == 0) {
			z->next = x->zombies;
			x->zombies = z;
			return;
		}
		*ch = z->ch;
		free(z);
	}
	xlog(x, LOG_WARNING, "cannot watch killed child %d: it stays a zombie until clusterd exits",
	     (int)pid);
	res_child_close(ch);
}

/* ---- calls: one res_call stepping on the loop ---- */

static struct xcall *call_new(struct xres *r, struct xop *op, char **props, size_t nprops,
			      int64_t timeout_ms)
{
	struct xcall *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->x = r->x;
	k->r = r;
	k->op = op;
	k->polled = -1;
	k->c.res = r->name;
	k->c.props = (const char *const *)props;
	k->c.nprops = nprops;
	k->c.timeout_ms = timeout_ms;
	k->c.inst = &r->inst;
	k->c.env = r->x->env;
	k->c.fd = -1;
	if (op) {
		k->c.target = op->target;
		k->c.mode = op->mode;
	}
	res_child_init(&k->c.helper);
	return k;
}

static void call_unwatch(struct xcall *k)
{
	if (k->polled >= 0)
		qb_loop_poll_del(k->x->loop, k->polled);
	k->polled = -1;
}

static void call_timer_stop(struct xcall *k)
{
	if (k->timer_on)
		qb_loop_timer_del(k->x->loop, k->timer);
	k->timer_on = false;
}

/* Give up everything the call holds (no report): its helper is killed. */
static void call_release(struct xcall *k)
{
	call_unwatch(k);
	call_timer_stop(k);
	if (k->c.release)
		k->c.release(&k->c);
	k->c.release = NULL;
	adopt(k->x, &k->c.helper);
}

static void op_done(struct xcall *k);
static void check_done(struct xcall *k);

static void call_end(struct xcall *k)
{
	call_release(k);
	if (k->op)
		op_done(k);
	else
		check_done(k);
}

static int32_t call_ready(int32_t fd, int32_t revents, void *data)
{
	struct xcall *k = data;

	(void)fd;
	(void)revents;
	call_unwatch(k);
	call_step(k, k->c.next(&k->c));
	return 0;
}

static void call_timeout(void *data);

static void call_timer_arm(struct xcall *k, int64_t ms)
{
	call_timer_stop(k);
	if (qb_loop_timer_add(k->x->loop, QB_LOOP_MED, ms_to_ns(ms), k, call_timeout, &k->timer) == 0)
		k->timer_on = true;
	else
		xlog(k->x, LOG_ERR, "resource '%s': cannot arm the operation's timer: it runs without a timeout",
		     k->r->name);
}

static void call_step(struct xcall *k, int rc)
{
	if (rc == RES_CALL_WAIT) {
		if (k->c.fd >= 0 && k->c.next &&
		    qb_loop_poll_add(k->x->loop, QB_LOOP_MED, k->c.fd, POLLIN, k, call_ready) == 0) {
			k->polled = k->c.fd;
			return;
		}
		k->c.ok = false;
		snprintf(k->c.text, sizeof(k->c.text), "cannot wait for the operation (fd %d)", k->c.fd);
	}
	call_end(k);
}

static void call_timeout(void *data)
{
	struct xcall *k = data;
	char t[32];

	k->timer_on = false;
	if (!k->expired && k->c.expire) {
		/* the type escalates (say SIGKILL) and may wait a little longer */
		k->expired = true;
		call_unwatch(k);
		call_timer_arm(k, CD_EXEC_KILL_GRACE_MS);
		call_step(k, k->c.expire(&k->c));
		return;
	}
	res_ms_to_str(k->c.timeout_ms, t, sizeof(t));
	k->c.ok = false;
	snprintf(k->c.text, sizeof(k->c.text), k->expired ? "timed out after %s, still running after SIGKILL" :
		 "timed out after %s", t);
	call_end(k);
}

/* ---- health checks ---- */

static void health_unwatch(struct xres *r)
{
	if (r->watching)
		qb_loop_poll_del(r->x->loop, r->inst.main.pidfd);
	r->watching = false;
}

/* Stop checking (an operation is coming, or the resource failed). */
static void health_stop(struct xres *r)
{
	if (r->looks_on)
		qb_loop_timer_del(r->x->loop, r->looks_timer);
	if (r->is_on)
		qb_loop_timer_del(r->x->loop, r->is_timer);
	r->looks_on = r->is_on = false;
	if (r->check_call) {
		call_release(r->check_call);
		free(r->check_call);
		r->check_call = NULL;
	}
	health_unwatch(r);
}

static void health_fail(struct xres *r, const char *text)
{
	health_stop(r);
	r->online = false;
	report(r->x, r->name, r->gen, RES_OP_HEALTH, false, text);
}

/* The resource's process ended on its own while online: report it now. */
static int32_t main_exited(int32_t fd, int32_t revents, void *data)
{
	struct xres *r = data;
	char text[RES_TEXT_MAX];

	(void)fd;
	(void)revents;
	health_stop(r);
	r->type->exited(&r->inst, text, sizeof(text));
	health_fail(r, text);
	return 0;
}

static void health_run(struct xres *r, bool is_alive)
{
	res_step_fn fn = is_alive ? r->type->is_alive : r->type->looks_alive;
	struct xcall *k;

	if (r->check_call) { /* the other check still runs: try again next period */
		health_arm(r, is_alive);
		return;
	}
	k = call_new(r, NULL, r->props, r->nprops, r->timeout_ms);
	if (k == NULL) {
		health_arm(r, is_alive);
		return;
	}
	k->is_alive = is_alive;
	r->check_call = k;
	call_timer_arm(k, r->timeout_ms);
	call_step(k, fn(&k->c));
}

static void looks_fired(void *data)
{
	struct xres *r = data;

	r->looks_on = false;
	if (r->online && r->op_call == NULL)
		health_run(r, false);
}

static void is_fired(void *data)
{
	struct xres *r = data;

	r->is_on = false;
	if (r->online && r->op_call == NULL)
		health_run(r, true);
}

static void health_arm(struct xres *r, bool is_alive)
{
	qb_loop_t *l = r->x->loop;

	if (is_alive && !r->is_on && r->is_ms > 0 && r->type->is_alive)
		r->is_on = qb_loop_timer_add(l, QB_LOOP_MED, ms_to_ns(r->is_ms), r, is_fired,
					     &r->is_timer) == 0;
	if (!is_alive && !r->looks_on && r->looks_ms > 0 && r->type->looks_alive)
		r->looks_on = qb_loop_timer_add(l, QB_LOOP_MED, ms_to_ns(r->looks_ms), r, looks_fired,
						&r->looks_timer) == 0;
}

static void health_start(struct xres *r)
{
	health_arm(r, false);
	health_arm(r, true);
	if (r->watching || r->inst.main.pidfd < 0 || r->type->exited == NULL)
		return;
	r->watching = qb_loop_poll_add(r->x->loop, QB_LOOP_MED, r->inst.main.pidfd, POLLIN, r,
				       main_exited) == 0;
	if (!r->watching)
		xlog(r->x, LOG_ERR, "resource '%s': cannot watch its process: its exit shows only in health checks",
		     r->name);
}

static void check_done(struct xcall *k)
{
	struct xres *r = k->r;
	char text[RES_TEXT_MAX + 16];
	bool ok = k->c.ok, is_alive = k->is_alive;

	bool outside = k->c.by_operator;

	snprintf(text, sizeof(text), "%s: %s", is_alive ? "is_alive" : "looks_alive", k->c.text);
	r->check_call = NULL;
	free(k);
	if (ok) {
		health_arm(r, is_alive);
	} else if (outside) {
		health_stop(r);
		r->online = false;
		report(r->x, r->name, r->gen, RES_OP_STOPPED, false, text);
	} else {
		health_fail(r, text);
	}
}

/* ---- operations ---- */

static void props_free(char **props, size_t n)
{
	size_t i;

	for (i = 0; props && i < n; i++)
		free(props[i]);
	free(props);
}

static void op_free(struct xop *op)
{
	if (op == NULL)
		return;
	props_free(op->props, op->nprops);
	free(op->target);
	free(op);
}

static struct xop *op_new(const struct cd_exec_req *req, const struct res_type_ops *type, struct xres *r)
{
	struct xop *op = calloc(1, sizeof(*op));
	size_t i;

	if (op == NULL)
		return NULL;
	op->r = r;
	op->type = type;
	op->op = req->op;
	op->gen = req->gen;
	op->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : CD_EXEC_TIMEOUT_DEFAULT_MS;
	op->looks_ms = req->looks_alive_ms;
	op->is_ms = req->is_alive_ms;
	op->mode = req->mode;
	if (req->target && (op->target = strdup(req->target)) == NULL)
		goto fail;
	op->props = calloc(req->nprops + 1, sizeof(char *));
	if (op->props == NULL)
		goto fail;
	for (i = 0; i < req->nprops; i++, op->nprops++)
		if ((op->props[i] = strdup(req->props[i] ? req->props[i] : "")) == NULL)
			goto fail;
	return op;
fail:
	op_free(op);
	return NULL;
}

static void queue_add(struct cd_exec *x, struct xop *op)
{
	/* a forced stop goes first: it is what keeps a resource from running twice */
	if (op->op == RES_OP_TERMINATE) {
		op->next = x->qhead;
		if (x->qhead)
			x->qhead->prev = op;
		else
			x->qtail = op;
		x->qhead = op;
	} else {
		op->prev = x->qtail;
		if (x->qtail)
			x->qtail->next = op;
		else
			x->qhead = op;
		x->qtail = op;
	}
	x->queued++;
}

static void queue_unlink(struct cd_exec *x, struct xop *op)
{
	if (op->prev)
		op->prev->next = op->next;
	else
		x->qhead = op->next;
	if (op->next)
		op->next->prev = op->prev;
	else
		x->qtail = op->prev;
	op->prev = op->next = NULL;
	x->queued--;
}

static void run_queue(struct cd_exec *x);

static void kick_fired(void *data)
{
	struct cd_exec *x = data;

	x->kick_on = false;
	run_queue(x);
}

/* Start queued work from the loop, never from the caller's stack. */
static void kick(struct cd_exec *x)
{
	if (x->kick_on || x->qhead == NULL)
		return;
	if (qb_loop_timer_add(x->loop, QB_LOOP_MED, 0, x, kick_fired, &x->kick_timer) == 0)
		x->kick_on = true;
	else
		xlog(x, LOG_ERR, "cannot arm the executor's timer: queued operations wait for the next one");
}

/* The resource came online: keep the ONLINE's properties for its checks. */
static void res_went_online(struct xres *r, struct xop *op)
{
	props_free(r->props, r->nprops);
	r->props = op->props;
	r->nprops = op->nprops;
	op->props = NULL;
	op->nprops = 0;
	r->gen = op->gen;
	r->timeout_ms = op->timeout_ms;
	r->looks_ms = op->looks_ms;
	r->is_ms = op->is_ms;
	r->online = true;
	health_start(r);
}

static void op_done(struct xcall *k)
{
	struct cd_exec *x = k->x;
	struct xres *r = k->r;
	struct xop *op = k->op;
	char text[RES_TEXT_MAX];
	enum res_op o = op->op;
	uint64_t gen = op->gen;
	bool ok = k->c.ok;

	cm_strlcpy(text, k->c.text, sizeof(text));
	r->op_call = NULL;
	x->running--;
	r->has_last = true;
	r->last_op = o;
	r->last_gen = gen;
	r->last_ok = ok;
	cm_strlcpy(r->last_text, text, sizeof(r->last_text));
	r->online = false;
	/* a failed migration leaves it running here: keep watching it */
	if ((o == RES_OP_ONLINE && ok) || (o == RES_OP_MIGRATE && !ok))
		res_went_online(r, op);
	if (o == RES_OP_MIGRATE && x->ops->migrated) {
		struct res_stats st = k->c.stats;

		free(k);
		op_free(op);
		kick(x);
		x->ops->migrated(x->ctx, r->name, gen, ok, text, &st);
		return;
	}
	free(k);
	op_free(op);
	kick(x);
	report(x, r->name, gen, o, ok, text);
}

static res_step_fn op_fn(const struct res_type_ops *t, enum res_op op)
{
	switch (op) {
	case RES_OP_ONLINE: return t->online;
	case RES_OP_OFFLINE: return t->offline;
	case RES_OP_TERMINATE: return t->terminate;
	case RES_OP_MIGRATE: return t->migrate;
	default: return NULL;
	}
}

/* A repeat of the last finished operation: its result again. */
static void op_replay(struct cd_exec *x, struct xop *op)
{
	struct xres *r = op->r;
	char text[RES_TEXT_MAX];
	enum res_op o = op->op;
	uint64_t gen = op->gen;

	cm_strlcpy(text, r->last_text, sizeof(text));
	op_free(op);
	report(x, r->name, gen, o, r->last_ok, text);
}

static void op_start(struct cd_exec *x, struct xop *op)
{
	struct xres *r = op->r;
	res_step_fn fn = op_fn(op->type, op->op);
	struct xcall *k;

	if (op->replay) {
		op_replay(x, op);
		return;
	}
	health_stop(r);
	r->type = op->type;
	k = call_new(r, op, op->props, op->nprops, op->timeout_ms);
	if (k == NULL) {
		r->has_last = false; /* not run: a repeat may try again */
		report(x, r->name, op->gen, op->op, false, "out of memory");
		op_free(op);
		return;
	}
	r->op_call = k;
	x->running++;
	call_timer_arm(k, op->timeout_ms);
	if (fn == NULL) {
		snprintf(k->c.text, sizeof(k->c.text), "type '%s' has no %s operation", op->type->name,
			 res_op_to_str(op->op));
		call_end(k);
		return;
	}
	call_step(k, fn(&k->c));
}

static void run_queue(struct cd_exec *x)
{
	struct xop *op;

	/* Rescan from the head after each start: a result callback (an op may
	 * finish at once) can add or cancel queued operations. */
restart:
	for (op = x->qhead; op; op = op->next) {
		/* TERMINATEs are at the head and are not limited: they kill */
		if (x->running >= x->max_parallel && op->op != RES_OP_TERMINATE && !op->replay)
			return;
		if (op->r->op_call) /* one operation per resource at a time */
			continue;
		queue_unlink(x, op);
		op_start(x, op);
		goto restart;
	}
}

/* ---- resources ---- */

static struct xres *res_find(struct cd_exec *x, const char *name)
{
	struct xres *r;

	for (r = x->res; r; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

static struct xres *res_get(struct cd_exec *x, const char *name, const struct res_type_ops *type)
{
	struct xres *r = res_find(x, name);

	if (r)
		return r;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->x = x;
	cm_strlcpy(r->name, name, sizeof(r->name));
	r->type = type;
	res_child_init(&r->inst.main);
	r->next = x->res;
	x->res = r;
	return r;
}

/* The same operation is queued or running. */
static bool res_has_op(struct cd_exec *x, struct xres *r, enum res_op o, uint64_t gen)
{
	struct xop *q;

	if (r->op_call && r->op_call->op->op == o && r->op_call->op->gen == gen)
		return true;
	for (q = x->qhead; q; q = q->next)
		if (q->r == r && q->op == o && q->gen == gen)
			return true;
	return false;
}

/* Drop the resource's queued and running work without results. */
static void res_cancel(struct cd_exec *x, struct xres *r, const char *why)
{
	struct xop *q, *next;
	struct xcall *k = r->op_call;

	for (q = x->qhead; q; q = next) {
		next = q->next;
		if (q->r != r)
			continue;
		xlog(x, LOG_INFO, "resource '%s': queued %s (gen %llu) cancelled: %s", r->name,
		     res_op_to_str(q->op), (unsigned long long)q->gen, why);
		queue_unlink(x, q);
		op_free(q);
	}
	if (k) {
		xlog(x, LOG_INFO, "resource '%s': running %s (gen %llu) cancelled: %s", r->name,
		     res_op_to_str(k->op->op), (unsigned long long)k->op->gen, why);
		call_release(k);
		op_free(k->op);
		free(k);
		r->op_call = NULL;
		x->running--;
	}
	health_stop(r);
}

/* ---- the API ---- */

struct cd_exec *cd_exec_new(qb_loop_t *loop, const struct cd_exec_ops *ops, void *ctx, int max_parallel)
{
	struct cd_exec *x;

	if (loop == NULL || ops == NULL)
		return NULL;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->loop = loop;
	x->ops = ops;
	x->ctx = ctx;
	x->max_parallel = max_parallel > 0 ? max_parallel : CD_EXEC_PARALLEL_DEFAULT;
	x->fencing = cd_fencing_new(loop, ops, ctx);
	if (x->fencing == NULL) {
		free(x);
		return NULL;
	}
	return x;
}

struct cd_fencing *cd_exec_fencing(struct cd_exec *x)
{
	return x ? x->fencing : NULL;
}

int cd_exec_submit(struct cd_exec *x, const struct cd_exec_req *req)
{
	const struct res_type_ops *type;
	struct xres *r;
	struct xop *op;

	if (x == NULL || req == NULL || req->res == NULL || req->res[0] == '\0' ||
	    strlen(req->res) >= RES_NAME_MAX || (req->nprops && req->props == NULL))
		return -EINVAL;
	if (req->op != RES_OP_ONLINE && req->op != RES_OP_OFFLINE && req->op != RES_OP_TERMINATE &&
	    req->op != RES_OP_MIGRATE && req->op != RES_OP_MONITOR)
		return -EINVAL;
	type = res_type_find(req->type);
	if (type == NULL) {
		xlog(x, LOG_ERR, "resource '%s': %s refused: unknown type '%s'", req->res,
		     res_op_to_str(req->op), req->type ? req->type : "");
		return -CM_E_VALUE;
	}
	r = res_get(x, req->res, type);
	if (r == NULL)
		return -ENOMEM;
	if (res_has_op(x, r, req->op, req->gen))
		return 0; /* plans repeat */
	op = op_new(req, type, r);
	if (op == NULL)
		return -ENOMEM;
	if (req->op == RES_OP_MONITOR) {
		/* it came here by migration: it runs, watch it */
		r->type = type;
		r->has_last = false;
		res_went_online(r, op);
		op_free(op);
		return 0;
	}
	/* a replay runs nothing: the resource stays as it is */
	op->replay = r->has_last && r->last_op == req->op && r->last_gen == req->gen;
	if (!op->replay && req->op == RES_OP_TERMINATE)
		res_cancel(x, r, "superseded by TERMINATE");
	else if (!op->replay)
		health_stop(r); /* an operation is coming: its checks would race it */
	queue_add(x, op);
	kick(x);
	return 0;
}

int cd_exec_stop_all(struct cd_exec *x)
{
	struct xres *r;
	struct xop *q;
	int n = 0;

	if (x == NULL)
		return 0;
	while ((q = x->qhead) != NULL) {
		queue_unlink(x, q);
		op_free(q);
	}
	for (r = x->res; r; r = r->next) {
		bool had = r->op_call || r->online || r->inst.main.pid > 0;

		res_cancel(x, r, "stopping everything");
		if (had && r->type && r->type->kill_now)
			r->type->kill_now(&r->inst);
		adopt(x, &r->inst.main);
		r->online = false;
		/* whatever the plan says next must run, even a repeat */
		r->has_last = false;
		n += had;
	}
	return n;
}

void cd_exec_set_env(struct cd_exec *x, void *env)
{
	x->env = env;
}

bool cd_exec_external(struct cd_exec *x, const char *res, bool by_operator, const char *text)
{
	struct xres *r = (x && res) ? res_find(x, res) : NULL;

	if (r == NULL || !r->online || r->op_call)
		return false;
	health_stop(r);
	r->online = false;
	report(x, r->name, r->gen, by_operator ? RES_OP_STOPPED : RES_OP_HEALTH, false, text);
	return true;
}

void cd_exec_forget(struct cd_exec *x, const char *res)
{
	struct xres *r = (x && res) ? res_find(x, res) : NULL;

	if (r == NULL || !r->online || r->op_call)
		return;
	health_stop(r);
	r->online = false;
}

uint64_t cd_exec_mig_ticket(struct cd_exec *x, const char *res)
{
	struct xres *r = (x && res) ? res_find(x, res) : NULL;

	return r ? r->inst.mig_ticket : 0;
}

bool cd_exec_is_running(struct cd_exec *x, const char *res)
{
	struct xres *r = (x && res) ? res_find(x, res) : NULL;

	if (r == NULL || !r->online)
		return false;
	return r->inst.main.pid <= 0 || !res_child_exited(&r->inst.main);
}

void cd_exec_counts(struct cd_exec *x, int *running, int *queued)
{
	if (running)
		*running = x ? x->running : 0;
	if (queued)
		*queued = x ? x->queued : 0;
}

void cd_exec_free(struct cd_exec *x)
{
	struct xres *r;
	struct xzombie *z;
	int status;

	if (x == NULL)
		return;
	cd_exec_stop_all(x);
	cd_fencing_free(x->fencing);
	if (x->kick_on)
		qb_loop_timer_del(x->loop, x->kick_timer);
	/* killed already; reap what is gone, leave the rest to init */
	while ((z = x->zombies) != NULL) {
		res_child_reap(&z->ch, &status);
		zombie_drop(x, z);
	}
	while ((r = x->res) != NULL) {
		x->res = r->next;
		props_free(r->props, r->nprops);
		free(r);
	}
	free(x);
}

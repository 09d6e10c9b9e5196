/* res_virt.c - the libvirt backend's lifecycle, queues and worker.
 *
 * Owns a backend's threads and queues:
 * - the worker runs requests in FIFO order (libvirt calls block, the
 *   caller never does); SHUTDOWN waits for the guest by polling between
 *   other requests, so a slow guest does not hold up the queue;
 * - results and events reach the caller through queues signalled on
 *   eventfds.
 * The libvirt calls themselves are in res_virt_call.c (one domain),
 * res_virt_mig.c (migration), res_virt_snap.c (snapshots) and
 * res_virt_query.c (agent, lists); the connection in res_virt_conn.c and
 * the event loop in res_virt_event.c. It never logs: every error becomes
 * one sentence in a result.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include "common/cm_err.h"
#include "common/cm_str.h"
#include "res_virt_int.h"

static void fd_drain(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
}

static int cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int rc;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	rc = pthread_cond_init(c, &a);
	pthread_condattr_destroy(&a);
	return rc;
}

/* ---- results ---- */

void res_virt_req_free(struct vreq *r)
{
	if (!r)
		return;
	if (r->dom)
		virDomainFree(r->dom);
	free(r->name);
	free(r->xml);
	free(r->path);
	free(r->snap);
	free(r->dest_uri);
	free(r->res.data);   /* a result dropped untaken */
	free(r);
}

/* Caller holds v->lock. */
void res_virt_finish_locked(struct res_virt *v, struct vreq *r)
{
	/* once queued as a result the caller may free it at any moment */
	if (v->current == r)
		v->current = NULL;
	r->res.id = r->id;
	r->res.op = r->op;
	if (r->t0_us)
		r->res.took_us = (uint64_t)(now_us() - r->t0_us);
	if (r->dom) {
		virDomainFree(r->dom);
		r->dom = NULL;
	}
	r->next = NULL;
	if (v->done_tail)
		v->done_tail->next = r;
	else
		v->done_head = r;
	v->done_tail = r;
	fd_signal(v->done_fd);
}

void res_virt_finish(struct res_virt *v, struct vreq *r)
{
	pthread_mutex_lock(&v->lock);
	res_virt_finish_locked(v, r);
	pthread_mutex_unlock(&v->lock);
}

/* ---- the worker ---- */

static void run_one(struct res_virt *v, struct vreq *r)
{
	r->t0_us = now_us();
	if (res_virt_conn_get(v, r->res.text, sizeof(r->res.text)) < 0) {
		r->res.ok = false;
		virResetLastError();
		res_virt_finish(v, r);
		return;
	}
	switch (r->op) {
	case RES_VIRT_DEFINE: res_virt_op_define(v, r); break;
	case RES_VIRT_UNDEFINE: res_virt_op_undefine(v, r); break;
	case RES_VIRT_START: res_virt_op_start(v, r); break;
	case RES_VIRT_SHUTDOWN: res_virt_op_shutdown(v, r); return;   /* finishes itself */
	case RES_VIRT_DESTROY: res_virt_op_destroy(v, r); break;
	case RES_VIRT_SAVE: res_virt_op_save(v, r); break;
	case RES_VIRT_RESTORE: res_virt_op_restore(v, r); break;
	case RES_VIRT_STATE: res_virt_op_state(v, r); break;
	case RES_VIRT_MIGRATE: res_virt_op_migrate(v, r); break;
	case RES_VIRT_CANCEL: break;   /* handled in submit, never queued */
	case RES_VIRT_SNAP_CREATE: res_virt_op_snap_create(v, r); break;
	case RES_VIRT_SNAP_REVERT: res_virt_op_snap_revert(v, r); break;
	case RES_VIRT_SNAP_DELETE: res_virt_op_snap_delete(v, r); break;
	case RES_VIRT_AGENT_PING: res_virt_op_agent_ping(v, r); break;
	case RES_VIRT_NETWORKS: res_virt_op_networks(v, r); break;
	case RES_VIRT_DOMAINS: res_virt_op_domains(v, r); break;
	}
	res_virt_finish(v, r);
}

static int64_t next_poll_in(const struct res_virt *v)
{
	const struct vreq *r;
	int64_t first = -1, now = now_ms();

	for (r = v->polls; r; r = r->next)
		if (first < 0 || r->next_poll_ms < first)
			first = r->next_poll_ms;
	if (first < 0)
		return -1;
	return first > now ? first - now : 0;
}

static void *worker_main(void *arg)
{
	struct res_virt *v = arg;
	struct vreq *r;
	int64_t wait;

	pthread_mutex_lock(&v->lock);
	while (!v->stop) {
		r = v->q_head;
		if (!r) {
			wait = next_poll_in(v);
			if (wait < 0 || wait > VIRT_WATCH_MS)
				wait = VIRT_WATCH_MS;
			if (wait > 0)
				sleep_until_cond(&v->cond, &v->lock, wait);
			pthread_mutex_unlock(&v->lock);
			res_virt_poll_due(v);
			res_virt_conn_watch(v);
			pthread_mutex_lock(&v->lock);
			continue;
		}
		v->q_head = r->next;
		if (!v->q_head)
			v->q_tail = NULL;
		if (r->op == RES_VIRT_MIGRATE)
			v->current = r;
		pthread_mutex_unlock(&v->lock);
		run_one(v, r);
		res_virt_poll_due(v);
		pthread_mutex_lock(&v->lock);
	}
	pthread_mutex_unlock(&v->lock);
	/* abandoned shutdowns: no result (see res_virt_free) */
	while ((r = v->polls)) {
		v->polls = r->next;
		res_virt_req_free(r);
	}
	res_virt_conn_drop(v, false);
	return NULL;
}

/* ---- public ---- */

void res_virt_result_clear(struct res_virt_result *r)
{
	if (!r)
		return;
	free(r->data);
	memset(r, 0, sizeof(*r));
}

struct res_virt *res_virt_new(const char *uri, char *err, size_t errlen)
{
	return res_virt_new_opts(uri, 0, err, errlen);
}

struct res_virt *res_virt_new_opts(const char *uri, unsigned flags, char *err, size_t errlen)
{
	struct res_virt *v = calloc(1, sizeof(*v));
	int rc;

	if (!v || !uri || !*uri) {
		snprintf(err, errlen, "cannot create the libvirt backend: %s",
			 v ? "no URI" : strerror(ENOMEM));
		free(v);
		return NULL;
	}
	v->done_fd = v->ev_fd = -1;
	v->cb_id = -1;
	v->flags = flags;
	v->next_id = 1;
	pthread_mutex_init(&v->lock, NULL);
	cond_init_mono(&v->cond);
	cond_init_mono(&v->scond);
	v->uri = strdup(uri);
	v->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	v->ev_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!v->uri || v->done_fd < 0 || v->ev_fd < 0) {
		snprintf(err, errlen, "cannot create the libvirt backend for '%s': %s", uri,
			 strerror(v->uri ? errno : ENOMEM));
		goto fail;
	}
	if (res_virt_loop_get(err, errlen) < 0)
		goto fail;
	v->loop_ref = true;
	rc = pthread_create(&v->worker, NULL, worker_main, v);
	if (rc) {
		snprintf(err, errlen, "cannot start the libvirt worker for '%s': %s", uri, strerror(rc));
		goto fail;
	}
	return v;
fail:
	if (v->loop_ref)
		res_virt_loop_put();
	if (v->done_fd >= 0)
		close(v->done_fd);
	if (v->ev_fd >= 0)
		close(v->ev_fd);
	pthread_cond_destroy(&v->cond);
	pthread_cond_destroy(&v->scond);
	pthread_mutex_destroy(&v->lock);
	free(v->uri);
	free(v);
	return NULL;
}

static void list_free(struct vreq *r)
{
	struct vreq *n;

	for (; r; r = n) {
		n = r->next;
		res_virt_req_free(r);
	}
}

void res_virt_free(struct res_virt *v)
{
	struct vevent *e, *en;
	bool live;

	if (!v)
		return;
	pthread_mutex_lock(&v->lock);
	v->stop = true;
	if (v->current)
		v->current->cancel = true;     /* the sampler aborts the migration */
	list_free(v->q_head);
	v->q_head = v->q_tail = NULL;
	pthread_cond_broadcast(&v->cond);
	pthread_cond_broadcast(&v->scond);
	pthread_mutex_unlock(&v->lock);
	pthread_join(v->worker, NULL);
	/* The event thread may still be inside our callback until libvirt
	 * releases it; the connection is closed, so that happens soon. */
	pthread_mutex_lock(&v->lock);
	for (int i = 0; v->cb_live && i < VIRT_FREE_WAIT_MS / 100; i++)
		sleep_until_cond(&v->scond, &v->lock, 100);
	live = v->cb_live;
	pthread_mutex_unlock(&v->lock);
	if (live)
		return;   /* libvirt still holds v: leak it rather than risk a use after free */
	res_virt_loop_put();
	list_free(v->done_head);
	for (e = v->ev_head; e; e = en) {
		en = e->next;
		free(e);
	}
	close(v->done_fd);
	close(v->ev_fd);
	pthread_cond_destroy(&v->cond);
	pthread_cond_destroy(&v->scond);
	pthread_mutex_destroy(&v->lock);
	free(v->uri);
	free(v);
}

int res_virt_done_fd(const struct res_virt *v)
{
	return v->done_fd;
}

int res_virt_event_fd(const struct res_virt *v)
{
	return v->ev_fd;
}

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int req_check(const struct res_virt_req *q)
{
	switch (q->op) {
	case RES_VIRT_DEFINE:
		return q->xml ? 0 : -CM_E_ARGS;
	case RES_VIRT_UNDEFINE:
	case RES_VIRT_START:
	case RES_VIRT_SHUTDOWN:
	case RES_VIRT_DESTROY:
	case RES_VIRT_STATE:
	case RES_VIRT_AGENT_PING:
		return q->name && *q->name ? 0 : -CM_E_ARGS;
	case RES_VIRT_SNAP_CREATE:
		return q->name && *q->name && q->snap && *q->snap ? 0 : -CM_E_ARGS;
	case RES_VIRT_SNAP_REVERT:
	case RES_VIRT_SNAP_DELETE:
		return q->name && *q->name && q->xml ? 0 : -CM_E_ARGS;
	case RES_VIRT_NETWORKS:
	case RES_VIRT_DOMAINS:
		return 0;
	case RES_VIRT_SAVE:
		return q->name && *q->name && q->path ? 0 : -CM_E_ARGS;
	case RES_VIRT_RESTORE:
		return q->path ? 0 : -CM_E_ARGS;
	case RES_VIRT_MIGRATE:
		return q->name && *q->name && q->dest_uri ? 0 : -CM_E_ARGS;
	case RES_VIRT_CANCEL:
		return q->cancel_id ? 0 : -CM_E_ARGS;
	}
	return -CM_E_ARGS;
}

/* CANCEL never waits in the queue (a migration occupies the worker): it
 * acts here and its own result is queued at once. Caller holds v->lock. */
static void cancel_locked(struct res_virt *v, struct vreq *c)
{
	struct vreq **pp, *t;

	for (pp = &v->q_head, t = NULL; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == c->cancel_id) {
			t = *pp;
			*pp = t->next;
			break;
		}
	}
	if (t) {
		v->q_tail = NULL;
		for (struct vreq *x = v->q_head; x; x = x->next)
			v->q_tail = x;
		t->res.ok = false;
		if (t->name)
			snprintf(t->res.text, sizeof(t->res.text), "%s domain '%s' cancelled before it started",
				 res_virt_op_to_str(t->op), t->name);
		else
			snprintf(t->res.text, sizeof(t->res.text), "%s: cancelled before it started",
				 res_virt_op_to_str(t->op));
		res_virt_finish_locked(v, t);
		res_virt_okf(c, "request %" PRIu64 " cancelled before it started", c->cancel_id);
	} else if (v->current && v->current->id == c->cancel_id) {
		v->current->cancel = true;
		pthread_cond_broadcast(&v->scond);
		res_virt_okf(c, "asked libvirt to abort the migration of '%s' (request %" PRIu64 ")",
		    v->current->name, c->cancel_id);
	} else {
		c->res.ok = false;
		snprintf(c->res.text, sizeof(c->res.text),
			 "cannot cancel request %" PRIu64 ": it is neither queued nor a running migration",
			 c->cancel_id);
	}
	res_virt_finish_locked(v, c);
}

int res_virt_submit(struct res_virt *v, const struct res_virt_req *q, uint64_t *id)
{
	struct vreq *r;
	int rc = req_check(q);

	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->op = q->op;
	r->timeout_ms = q->timeout_ms;
	r->mig_flags = q->mig_flags;
	r->max_downtime_ms = q->max_downtime_ms;
	r->bandwidth_mibs = q->bandwidth_mibs;
	r->cancel_id = q->cancel_id;
	r->job.downtime_ms = -1;
	if (dup_opt(&r->name, q->name) || dup_opt(&r->xml, q->xml) || dup_opt(&r->path, q->path) ||
	    dup_opt(&r->snap, q->snap) || dup_opt(&r->dest_uri, q->dest_uri)) {
		res_virt_req_free(r);
		return -ENOMEM;
	}
	if (r->name)
		cm_strlcpy(r->res.name, r->name, sizeof(r->res.name));
	pthread_mutex_lock(&v->lock);
	r->id = v->next_id++;
	*id = r->id;
	if (r->op == RES_VIRT_CANCEL) {
		cancel_locked(v, r);
	} else {
		if (v->q_tail)
			v->q_tail->next = r;
		else
			v->q_head = r;
		v->q_tail = r;
		pthread_cond_signal(&v->cond);
	}
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int res_virt_take_result(struct res_virt *v, struct res_virt_result *out)
{
	struct vreq *r;

	pthread_mutex_lock(&v->lock);
	r = v->done_head;
	if (r) {
		v->done_head = r->next;
		if (!v->done_head) {
			v->done_tail = NULL;
			fd_drain(v->done_fd);
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (!r)
		return -EAGAIN;
	*out = r->res;
	r->res.data = NULL;   /* now the taker's */
	res_virt_req_free(r);
	return 0;
}

int res_virt_next_event(struct res_virt *v, struct res_virt_event *ev)
{
	struct vevent *e;

	pthread_mutex_lock(&v->lock);
	e = v->ev_head;
	if (e) {
		v->ev_head = e->next;
		v->nev--;
		if (!v->ev_head) {
			v->ev_tail = NULL;
			fd_drain(v->ev_fd);
		}
	}
	pthread_mutex_unlock(&v->lock);
	if (!e)
		return -EAGAIN;
	*ev = e->ev;
	free(e);
	return 0;
}

int res_virt_progress(struct res_virt *v, uint64_t id, struct res_virt_job *job)
{
	struct vreq *r;
	int rc = -ENOENT;

	pthread_mutex_lock(&v->lock);
	if (v->current && v->current->id == id) {
		*job = v->current->job;
		rc = 0;
	}
	for (r = v->q_head; r && rc; r = r->next) {
		if (r->id == id && r->op == RES_VIRT_MIGRATE) {
			*job = r->job;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return rc;
}

bool res_virt_kvm_usable(char *why, size_t len)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int ver;

	if (fd < 0) {
		snprintf(why, len, "qemu: cannot open /dev/kvm: %s", strerror(errno));
		return false;
	}
	ver = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	if (ver < 0) {
		snprintf(why, len, "qemu: KVM_GET_API_VERSION on /dev/kvm failed: %s", strerror(errno));
		return false;
	}
	if (ver != KVM_API_VERSION) {
		snprintf(why, len, "qemu: /dev/kvm speaks KVM API %d, not %d", ver, KVM_API_VERSION);
		return false;
	}
	snprintf(why, len, "kvm");
	return true;
}

/* res_virt.c - the libvirt backend: one connection, one worker, events.
 *
 * Owns the libvirt connection of this node and the threads that use it:
 * - the worker runs requests in FIFO order (libvirt calls block, the
 *   caller never does); SHUTDOWN waits for the guest by polling between
 *   other requests, so a slow guest does not hold up the queue;
 * - during a migration a sampler thread reads the job statistics every
 *   100 ms and issues virDomainAbortJob on CANCEL (the worker is blocked
 *   in the migration call);
 * - one process-wide thread runs libvirt's default event loop (libvirt's
 *   event implementation is itself process-global), started with the first
 *   instance and stopped with the last.
 * Results and events reach the caller through queues signalled on
 * eventfds. It never logs: every error becomes one sentence in a result.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "common/cm_err.h"
#include "common/cm_str.h"
#include "res_virt.h"

/* Why these numbers: SHUTDOWN polls often enough that a guest that is off
 * is seen within a tenth of a second; migration progress is shown at the
 * same rate; the event queue bound only guards against a caller that never
 * reads (events beyond it are dropped, oldest first). */
#define VIRT_POLL_MS 100
#define VIRT_SAMPLE_MS 100
#define VIRT_EVENTS_MAX 4096
/* An idle worker checks its connection this often (a local check, no I/O)
 * and retries a lost one at the same pace. */
#define VIRT_WATCH_MS 1000
/* res_virt_free waits this long for libvirt to release the event callback
 * (it does so when the connection closes, normally at once). */
#define VIRT_FREE_WAIT_MS 5000
/* Keepalive for remote URIs: a dead peer is noticed after ~15 s. */
#define VIRT_KEEPALIVE_S 5
#define VIRT_KEEPALIVE_COUNT 3

struct vreq {
	struct vreq *next;
	uint64_t id;
	enum res_virt_op op;
	char *name, *xml, *path, *dest_uri;
	int64_t timeout_ms;
	unsigned mig_flags;
	uint64_t max_downtime_ms, bandwidth_mibs, cancel_id;
	/* worker */
	int64_t t0_us;
	int64_t deadline_ms, next_poll_ms;   /* SHUTDOWN */
	virDomainPtr dom;                    /* SHUTDOWN while polling */
	/* under v->lock */
	bool cancel;                         /* MIGRATE: abort requested */
	bool mig_done;                       /* MIGRATE: stops the sampler */
	struct res_virt_job job;             /* MIGRATE: latest sample */
	struct res_virt_result res;
};

struct vevent {
	struct vevent *next;
	struct res_virt_event ev;
};

struct res_virt {
	char *uri;
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* worker: new request or stop */
	pthread_cond_t scond;       /* sampler: cancel or done; free: callback freed */
	pthread_t worker;
	bool stop;
	uint64_t next_id;
	struct vreq *q_head, *q_tail;          /* queued */
	struct vreq *current;                  /* running MIGRATE (cancel, progress) */
	struct vreq *done_head, *done_tail;    /* results not taken */
	struct vevent *ev_head, *ev_tail;
	size_t nev;
	int done_fd, ev_fd;
	bool cb_live;                          /* libvirt still holds our callback */
	bool loop_ref;                         /* holds a ref on the event loop */
	/* worker only */
	virConnectPtr conn;
	int cb_id;
	struct vreq *polls;                    /* SHUTDOWNs waiting for the guest */
	bool was_connected;                    /* reconnect when idle (conn_watch) */
};

/* ---- small helpers ---- */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
	return now_us() / 1000;
}

static void fd_signal(int fd)
{
	uint64_t one = 1;

	/* eventfd: can only fail on counter overflow, which a level flag ignores */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

static void fd_drain(int fd)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
}

static const char *virt_msg(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

static bool virt_err_is(int code)
{
	virErrorPtr e = virGetLastError();

	return e && e->code == code;
}

static void quiet_errors(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static void sleep_until_cond(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(c, m, &ts);
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

/* ---- names ---- */

const char *res_virt_op_to_str(enum res_virt_op op)
{
	switch (op) {
	case RES_VIRT_DEFINE: return "define";
	case RES_VIRT_UNDEFINE: return "undefine";
	case RES_VIRT_START: return "start";
	case RES_VIRT_SHUTDOWN: return "shut down";
	case RES_VIRT_DESTROY: return "turn off";
	case RES_VIRT_SAVE: return "save";
	case RES_VIRT_RESTORE: return "restore";
	case RES_VIRT_STATE: return "query the state of";
	case RES_VIRT_MIGRATE: return "migrate";
	case RES_VIRT_CANCEL: return "cancel";
	}
	return "?";
}

const char *res_virt_state_to_str(enum res_virt_state st)
{
	switch (st) {
	case RES_VIRT_ST_UNKNOWN: return "unknown";
	case RES_VIRT_ST_ABSENT: return "absent";
	case RES_VIRT_ST_RUNNING: return "running";
	case RES_VIRT_ST_PAUSED: return "paused";
	case RES_VIRT_ST_SHUTOFF: return "shut off";
	}
	return "?";
}

const char *res_virt_reason_to_str(enum res_virt_reason r)
{
	switch (r) {
	case RES_VIRT_R_NONE: return "";
	case RES_VIRT_R_USER: return "by user";
	case RES_VIRT_R_IO_ERROR: return "I/O error";
	case RES_VIRT_R_MIGRATION: return "migration";
	case RES_VIRT_R_SAVE: return "saved";
	case RES_VIRT_R_SHUTDOWN: return "shut down";
	case RES_VIRT_R_DESTROYED: return "turned off";
	case RES_VIRT_R_CRASHED: return "crashed";
	case RES_VIRT_R_FAILED: return "failed";
	case RES_VIRT_R_OTHER: return "other";
	}
	return "?";
}

const char *res_virt_ev_to_str(enum res_virt_ev_type t)
{
	switch (t) {
	case RES_VIRT_EV_DEFINED: return "defined";
	case RES_VIRT_EV_UNDEFINED: return "undefined";
	case RES_VIRT_EV_STARTED: return "started";
	case RES_VIRT_EV_SUSPENDED: return "suspended";
	case RES_VIRT_EV_RESUMED: return "resumed";
	case RES_VIRT_EV_STOPPED: return "stopped";
	case RES_VIRT_EV_SHUTDOWN: return "shutdown";
	case RES_VIRT_EV_CRASHED: return "crashed";
	case RES_VIRT_EV_MIGRATED: return "migrated";
	case RES_VIRT_EV_OTHER: return "other";
	case RES_VIRT_EV_DISCONNECTED: return "disconnected";
	}
	return "?";
}

/* libvirt state + reason to ours. */
static void map_state(int st, int reason, enum res_virt_state *out, enum res_virt_reason *why)
{
	*why = RES_VIRT_R_NONE;
	switch (st) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
	case VIR_DOMAIN_SHUTDOWN:
		*out = RES_VIRT_ST_RUNNING;
		break;
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:
		*out = RES_VIRT_ST_PAUSED;
		if (st != VIR_DOMAIN_PAUSED)
			*why = RES_VIRT_R_OTHER;
		else if (reason == VIR_DOMAIN_PAUSED_IOERROR)
			*why = RES_VIRT_R_IO_ERROR;
		else if (reason == VIR_DOMAIN_PAUSED_USER)
			*why = RES_VIRT_R_USER;
		else if (reason == VIR_DOMAIN_PAUSED_MIGRATION ||
			 reason == VIR_DOMAIN_PAUSED_POSTCOPY ||
			 reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)
			*why = RES_VIRT_R_MIGRATION;
		else if (reason == VIR_DOMAIN_PAUSED_SAVE)
			*why = RES_VIRT_R_SAVE;
		else if (reason == VIR_DOMAIN_PAUSED_CRASHED)
			*why = RES_VIRT_R_CRASHED;
		else
			*why = RES_VIRT_R_OTHER;
		break;
	case VIR_DOMAIN_SHUTOFF:
		*out = RES_VIRT_ST_SHUTOFF;
		if (reason == VIR_DOMAIN_SHUTOFF_SHUTDOWN)
			*why = RES_VIRT_R_SHUTDOWN;
		else if (reason == VIR_DOMAIN_SHUTOFF_DESTROYED)
			*why = RES_VIRT_R_DESTROYED;
		else if (reason == VIR_DOMAIN_SHUTOFF_CRASHED)
			*why = RES_VIRT_R_CRASHED;
		else if (reason == VIR_DOMAIN_SHUTOFF_SAVED)
			*why = RES_VIRT_R_SAVE;
		else if (reason == VIR_DOMAIN_SHUTOFF_MIGRATED)
			*why = RES_VIRT_R_MIGRATION;
		else if (reason == VIR_DOMAIN_SHUTOFF_FAILED)
			*why = RES_VIRT_R_FAILED;
		break;
	case VIR_DOMAIN_CRASHED:
		*out = RES_VIRT_ST_SHUTOFF;
		*why = RES_VIRT_R_CRASHED;
		break;
	default:
		*out = RES_VIRT_ST_UNKNOWN;
		break;
	}
}

/* ---- the process-wide event loop ---- */

/* libvirt's default event implementation is process-global, so its
 * registration and the thread that runs it are too. */
static pthread_mutex_t g_loop_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_loop_registered;
static int g_loop_refs;
static pthread_t g_loop_thread;
static volatile int g_loop_stop;

static void *loop_main(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&g_loop_stop, __ATOMIC_ACQUIRE)) {
		if (virEventRunDefaultImpl() < 0)
			break;
	}
	return NULL;
}

static void loop_wake(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

static int loop_get(char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&g_loop_lock);
	if (!g_loop_registered) {
		if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
			snprintf(err, errlen, "cannot set up libvirt's event loop: %s", virt_msg());
			rc = -CM_E_NOT_READY;
			goto out;
		}
		virSetErrorFunc(NULL, quiet_errors);
		g_loop_registered = true;
	}
	if (g_loop_refs == 0) {
		__atomic_store_n(&g_loop_stop, 0, __ATOMIC_RELEASE);
		rc = -pthread_create(&g_loop_thread, NULL, loop_main, NULL);
		if (rc) {
			snprintf(err, errlen, "cannot start the libvirt event thread: %s", strerror(-rc));
			goto out;
		}
	}
	g_loop_refs++;
out:
	pthread_mutex_unlock(&g_loop_lock);
	return rc;
}

static void loop_put(void)
{
	int timer;

	pthread_mutex_lock(&g_loop_lock);
	if (--g_loop_refs == 0) {
		__atomic_store_n(&g_loop_stop, 1, __ATOMIC_RELEASE);
		/* A timer that fires at once makes the blocked iteration return;
		 * it stays armed so that every further iteration also returns. */
		timer = virEventAddTimeout(0, loop_wake, NULL, NULL);
		pthread_join(g_loop_thread, NULL);
		if (timer >= 0)
			virEventRemoveTimeout(timer);
	}
	pthread_mutex_unlock(&g_loop_lock);
}

/* ---- events ---- */

static void event_push(struct res_virt *v, const struct res_virt_event *ev)
{
	struct vevent *e = calloc(1, sizeof(*e));
	struct vevent *old;

	if (!e)
		return;
	e->ev = *ev;
	pthread_mutex_lock(&v->lock);
	if (v->nev >= VIRT_EVENTS_MAX) {
		old = v->ev_head;
		v->ev_head = old->next;
		if (!v->ev_head)
			v->ev_tail = NULL;
		v->nev--;
		free(old);
	}
	if (v->ev_tail)
		v->ev_tail->next = e;
	else
		v->ev_head = e;
	v->ev_tail = e;
	v->nev++;
	fd_signal(v->ev_fd);
	pthread_mutex_unlock(&v->lock);
}

static const char *detail_word(int event, int detail)
{
	static const char *const started[] = { "booted", "migrated", "restored", "snapshot", "wakeup" };
	static const char *const suspended[] = { "paused", "migrated", "ioerror", "watchdog",
		"restored", "snapshot", "api-error", "postcopy", "postcopy-failed" };
	static const char *const resumed[] = { "unpaused", "migrated", "snapshot", "postcopy",
		"postcopy-failed" };
	static const char *const stopped[] = { "shutdown", "destroyed", "crashed", "migrated",
		"saved", "failed", "snapshot" };
	static const char *const *tab = NULL;
	size_t n = 0;

#define TAB(a) do { tab = (a); n = sizeof(a) / sizeof((a)[0]); } while (0)
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED: TAB(started); break;
	case VIR_DOMAIN_EVENT_SUSPENDED: TAB(suspended); break;
	case VIR_DOMAIN_EVENT_RESUMED: TAB(resumed); break;
	case VIR_DOMAIN_EVENT_STOPPED: TAB(stopped); break;
	default: return "";
	}
#undef TAB
	return detail >= 0 && (size_t)detail < n ? tab[detail] : "";
}

static enum res_virt_ev_type map_event(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_DEFINED: return RES_VIRT_EV_DEFINED;
	case VIR_DOMAIN_EVENT_UNDEFINED: return RES_VIRT_EV_UNDEFINED;
	case VIR_DOMAIN_EVENT_STARTED: return RES_VIRT_EV_STARTED;
	case VIR_DOMAIN_EVENT_SUSPENDED: return RES_VIRT_EV_SUSPENDED;
	case VIR_DOMAIN_EVENT_RESUMED: return RES_VIRT_EV_RESUMED;
	case VIR_DOMAIN_EVENT_STOPPED:
		if (detail == VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)
			return RES_VIRT_EV_SHUTDOWN;
		if (detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED)
			return RES_VIRT_EV_CRASHED;
		if (detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
			return RES_VIRT_EV_MIGRATED;
		return RES_VIRT_EV_STOPPED;
	case VIR_DOMAIN_EVENT_CRASHED: return RES_VIRT_EV_CRASHED;
	default: return RES_VIRT_EV_OTHER;
	}
}

/* Runs in the event thread. */
static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			void *opaque)
{
	struct res_virt_event ev;
	const char *name = virDomainGetName(dom);

	(void)conn;
	memset(&ev, 0, sizeof(ev));
	ev.type = map_event(event, detail);
	cm_strlcpy(ev.name, name ? name : "", sizeof(ev.name));
	ev.detail_code = detail;
	cm_strlcpy(ev.detail, detail_word(event, detail), sizeof(ev.detail));
	event_push(opaque, &ev);
	return 0;
}

/* libvirt dropped our callback for good (deregistered or connection
 * closed): only then may v go away. */
static void lifecycle_freed(void *opaque)
{
	struct res_virt *v = opaque;

	pthread_mutex_lock(&v->lock);
	v->cb_live = false;
	pthread_cond_broadcast(&v->scond);
	pthread_mutex_unlock(&v->lock);
}

/* ---- the connection (worker only) ---- */

static void conn_drop(struct res_virt *v, bool lost)
{
	struct res_virt_event ev;

	if (!v->conn)
		return;
	if (v->cb_id >= 0)
		virConnectDomainEventDeregisterAny(v->conn, v->cb_id);
	v->cb_id = -1;
	virConnectClose(v->conn);
	v->conn = NULL;
	virResetLastError();
	if (lost) {
		memset(&ev, 0, sizeof(ev));
		ev.type = RES_VIRT_EV_DISCONNECTED;
		event_push(v, &ev);
	}
}

static int conn_get(struct res_virt *v, char *err, size_t errlen)
{
	if (v->conn && virConnectIsAlive(v->conn) != 1)
		conn_drop(v, true);
	if (v->conn)
		return 0;
	v->conn = virConnectOpen(v->uri);
	if (!v->conn) {
		snprintf(err, errlen, "cannot connect to '%s': %s", v->uri, virt_msg());
		return -1;
	}
	/* Only remote URIs support keepalive; the others say so harmlessly. */
	if (virConnectSetKeepAlive(v->conn, VIRT_KEEPALIVE_S, VIRT_KEEPALIVE_COUNT) < 0)
		virResetLastError();
	pthread_mutex_lock(&v->lock);
	v->cb_live = true;
	pthread_mutex_unlock(&v->lock);
	v->cb_id = virConnectDomainEventRegisterAny(v->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						    VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb),
						    v, lifecycle_freed);
	if (v->cb_id < 0) {
		snprintf(err, errlen, "cannot watch domain events on '%s': %s", v->uri, virt_msg());
		pthread_mutex_lock(&v->lock);
		v->cb_live = false;
		pthread_mutex_unlock(&v->lock);
		conn_drop(v, false);
		return -1;
	}
	v->was_connected = true;
	return 0;
}

/* While idle: a connection that died is reported (DISCONNECTED) and
 * reopened, so that events resume without waiting for a request. Only
 * once one was opened: an unused backend stays unconnected. */
static void conn_watch(struct res_virt *v)
{
	char err[RES_VIRT_TEXT_MAX];

	if (!v->conn && !v->was_connected)
		return;
	if (v->conn && virConnectIsAlive(v->conn) == 1)
		return;
	if (conn_get(v, err, sizeof(err)) < 0)
		virResetLastError();   /* retried at the next tick or request */
}

/* ---- results ---- */

static void req_free(struct vreq *r)
{
	if (!r)
		return;
	if (r->dom)
		virDomainFree(r->dom);
	free(r->name);
	free(r->xml);
	free(r->path);
	free(r->dest_uri);
	free(r);
}

/* Caller holds v->lock. */
static void finish_locked(struct res_virt *v, struct vreq *r)
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

static void finish(struct res_virt *v, struct vreq *r)
{
	pthread_mutex_lock(&v->lock);
	finish_locked(v, r);
	pthread_mutex_unlock(&v->lock);
}

/* An error sentence for r: "cannot start domain 'web1': <libvirt>", and
 * the connection dropped (to be reopened) if that is what failed. */
static void fail(struct res_virt *v, struct vreq *r, const char *what)
{
	char msg[RES_VIRT_TEXT_MAX / 2];
	bool dead;

	/* copy first: every libvirt call, IsAlive included, resets the error */
	cm_strlcpy(msg, virt_msg(), sizeof(msg));
	dead = v->conn && virConnectIsAlive(v->conn) != 1;

	r->res.ok = false;
	if (r->name)
		snprintf(r->res.text, sizeof(r->res.text), "cannot %s domain '%s': %s%s%s",
			 what, r->name, msg, dead ? "; lost the connection to " : "",
			 dead ? v->uri : "");
	else
		snprintf(r->res.text, sizeof(r->res.text), "cannot %s domain: %s%s%s",
			 what, msg, dead ? "; lost the connection to " : "", dead ? v->uri : "");
	if (dead)
		conn_drop(v, true);
	virResetLastError();
}

static void okf(struct vreq *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void okf(struct vreq *r, const char *fmt, ...)
{
	va_list ap;

	r->res.ok = true;
	va_start(ap, fmt);
	vsnprintf(r->res.text, sizeof(r->res.text), fmt, ap);
	va_end(ap);
}

/* ---- the operations (worker) ---- */

static virDomainPtr lookup(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = virDomainLookupByName(v->conn, r->name);

	if (!d)
		fail(v, r, res_virt_op_to_str(r->op));
	return d;
}

static int dom_state(virDomainPtr d, enum res_virt_state *st, enum res_virt_reason *why)
{
	int s, reason;

	if (virDomainGetState(d, &s, &reason, 0) < 0)
		return -1;
	map_state(s, reason, st, why);
	return 0;
}

static void op_define(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = virDomainDefineXML(v->conn, r->xml);
	const char *n;

	if (!d) {
		fail(v, r, "define");
		return;
	}
	n = virDomainGetName(d);
	cm_strlcpy(r->res.name, n ? n : "", sizeof(r->res.name));
	okf(r, "defined domain '%s'", r->res.name);
	virDomainFree(d);
}

static void op_undefine(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = lookup(v, r);
	int rc;

	if (!d)
		return;
	/* Managed-save images and snapshot metadata would make a plain
	 * undefine fail; the cluster keeps its own snapshot records. */
	rc = virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
				    VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
	if (rc < 0 && (virt_err_is(VIR_ERR_NO_SUPPORT) || virt_err_is(VIR_ERR_INVALID_ARG)))
		rc = virDomainUndefine(d);
	if (rc < 0)
		fail(v, r, "undefine");
	else
		okf(r, "undefined domain '%s'", r->name);
	virDomainFree(d);
}

static void op_start(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = lookup(v, r);

	if (!d)
		return;
	if (virDomainCreate(d) < 0)
		fail(v, r, "start");
	else {
		r->res.state = RES_VIRT_ST_RUNNING;
		okf(r, "started domain '%s'", r->name);
	}
	virDomainFree(d);
}

static void op_destroy(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = lookup(v, r);

	if (!d)
		return;
	if (dom_state(d, &r->res.state, &r->res.reason) < 0) {
		fail(v, r, "turn off");
	} else if (r->res.state == RES_VIRT_ST_SHUTOFF) {
		okf(r, "domain '%s' was not running", r->name);
	} else if (virDomainDestroy(d) < 0) {
		fail(v, r, "turn off");
	} else {
		r->res.state = RES_VIRT_ST_SHUTOFF;
		r->res.reason = RES_VIRT_R_DESTROYED;
		okf(r, "turned off domain '%s'", r->name);
	}
	virDomainFree(d);
}

/* One look at a shutting-down domain: 1 finished (result set), 0 not yet. */
static int shutdown_check(struct res_virt *v, struct vreq *r)
{
	char t[32];

	if (dom_state(r->dom, &r->res.state, &r->res.reason) < 0) {
		fail(v, r, "shut down");
		return 1;
	}
	if (r->res.state == RES_VIRT_ST_SHUTOFF) {
		okf(r, "shut down domain '%s' in %" PRId64 " ms", r->name,
		    (now_us() - r->t0_us) / 1000);
		return 1;
	}
	if (now_ms() < r->deadline_ms)
		return 0;
	if (virDomainDestroy(r->dom) < 0 && !virt_err_is(VIR_ERR_OPERATION_INVALID)) {
		fail(v, r, "turn off (after the shutdown timeout)");
		return 1;
	}
	virResetLastError();
	snprintf(t, sizeof(t), "%" PRId64 " ms", r->timeout_ms > 0 ? r->timeout_ms : 0);
	r->res.forced = true;
	r->res.state = RES_VIRT_ST_SHUTOFF;
	r->res.reason = RES_VIRT_R_DESTROYED;
	okf(r, "domain '%s' did not shut down within %s: turned it off", r->name, t);
	return 1;
}

static void op_shutdown(struct res_virt *v, struct vreq *r)
{
	r->dom = lookup(v, r);
	if (!r->dom)
		goto done;
	if (dom_state(r->dom, &r->res.state, &r->res.reason) < 0) {
		fail(v, r, "shut down");
		goto done;
	}
	if (r->res.state == RES_VIRT_ST_SHUTOFF) {
		okf(r, "domain '%s' was not running", r->name);
		goto done;
	}
	if (virDomainShutdown(r->dom) < 0) {
		fail(v, r, "shut down");
		goto done;
	}
	r->deadline_ms = now_ms() + (r->timeout_ms > 0 ? r->timeout_ms : 0);
	r->next_poll_ms = now_ms() + VIRT_POLL_MS;
	if (!shutdown_check(v, r)) {
		/* wait between other requests: see poll_due() */
		r->next = v->polls;
		v->polls = r;
		return;
	}
done:
	finish(v, r);
}

static void poll_due(struct res_virt *v)
{
	struct vreq **pp = &v->polls, *r;
	int64_t now = now_ms();

	while ((r = *pp)) {
		if (r->next_poll_ms > now) {
			pp = &r->next;
			continue;
		}
		r->next_poll_ms = now + VIRT_POLL_MS;
		if (!shutdown_check(v, r)) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		finish(v, r);
	}
}

static void op_save(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = lookup(v, r);

	if (!d)
		return;
	if (virDomainSave(d, r->path) < 0)
		fail(v, r, "save");
	else {
		r->res.state = RES_VIRT_ST_SHUTOFF;
		r->res.reason = RES_VIRT_R_SAVE;
		okf(r, "saved domain '%s' to '%s'", r->name, r->path);
	}
	virDomainFree(d);
}

static void op_restore(struct res_virt *v, struct vreq *r)
{
	if (virDomainRestoreFlags(v->conn, r->path, r->xml, 0) < 0) {
		r->res.ok = false;
		snprintf(r->res.text, sizeof(r->res.text), "cannot restore domain%s%s%s from '%s': %s",
			 r->name ? " '" : "", r->name ? r->name : "", r->name ? "'" : "",
			 r->path, virt_msg());
		if (v->conn && virConnectIsAlive(v->conn) != 1)
			conn_drop(v, true);
		virResetLastError();
		return;
	}
	r->res.state = RES_VIRT_ST_RUNNING;
	okf(r, "restored domain%s%s%s from '%s'", r->name ? " '" : "", r->name ? r->name : "",
	    r->name ? "'" : "", r->path);
}

static void op_state(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = virDomainLookupByName(v->conn, r->name);

	if (!d) {
		if (virt_err_is(VIR_ERR_NO_DOMAIN)) {
			virResetLastError();
			r->res.state = RES_VIRT_ST_ABSENT;
			okf(r, "domain '%s' is not defined here", r->name);
		} else {
			fail(v, r, "query the state of");
		}
		return;
	}
	if (dom_state(d, &r->res.state, &r->res.reason) < 0)
		fail(v, r, "query the state of");
	else if (r->res.reason != RES_VIRT_R_NONE)
		okf(r, "domain '%s' is %s (%s)", r->name, res_virt_state_to_str(r->res.state),
		    res_virt_reason_to_str(r->res.reason));
	else
		okf(r, "domain '%s' is %s", r->name, res_virt_state_to_str(r->res.state));
	virDomainFree(d);
}

/* ---- migration ---- */

/* Job statistics of d into job; flags 0 (running) or COMPLETED. 0 if any. */
static int job_read(virDomainPtr d, unsigned flags, struct res_virt_job *job)
{
	virTypedParameterPtr p = NULL;
	int n = 0, type = 0;
	unsigned long long x;

	if (virDomainGetJobStats(d, &type, &p, &n, flags) < 0) {
		virResetLastError();
		return -1;
	}
	if (type == VIR_DOMAIN_JOB_NONE) {
		virTypedParamsFree(p, n);
		return -1;
	}
	job->valid = true;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DATA_TOTAL, &x) == 1)
		job->data_total = x;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &x) == 1)
		job->data_processed = x;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DATA_REMAINING, &x) == 1)
		job->data_remaining = x;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &x) == 1)
		job->elapsed_ms = x;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DOWNTIME, &x) == 1)
		job->downtime_ms = (int64_t)x;
	virTypedParamsFree(p, n);
	return 0;
}

struct sampler {
	struct res_virt *v;
	struct vreq *r;
	virDomainPtr dom;
};

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	struct res_virt *v = s->v;
	struct res_virt_job job;
	bool aborted = false, cancel;

	pthread_mutex_lock(&v->lock);
	while (!s->r->mig_done) {
		sleep_until_cond(&v->scond, &v->lock, VIRT_SAMPLE_MS);
		if (s->r->mig_done)
			break;
		cancel = s->r->cancel && !aborted;
		pthread_mutex_unlock(&v->lock);
		if (cancel) {
			aborted = true;
			if (virDomainAbortJob(s->dom) < 0)
				virResetLastError();
		}
		memset(&job, 0, sizeof(job));
		job.downtime_ms = -1;
		pthread_mutex_lock(&v->lock);
		if (!s->r->mig_done) {
			pthread_mutex_unlock(&v->lock);
			if (job_read(s->dom, 0, &job) < 0)
				job.valid = false;
			pthread_mutex_lock(&v->lock);
			if (job.valid)
				s->r->job = job;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

static unsigned mig_flags(unsigned f)
{
	unsigned out = 0;

	if (f & RES_VIRT_MIG_LIVE)
		out |= VIR_MIGRATE_LIVE;
	if (f & RES_VIRT_MIG_P2P)
		out |= VIR_MIGRATE_PEER2PEER;
	if (f & RES_VIRT_MIG_PERSISTENT)
		out |= VIR_MIGRATE_PERSIST_DEST;
	if (f & RES_VIRT_MIG_UNDEFINE_SOURCE)
		out |= VIR_MIGRATE_UNDEFINE_SOURCE;
	if (f & RES_VIRT_MIG_UNSAFE)
		out |= VIR_MIGRATE_UNSAFE;
	return out;
}

/* Final statistics: the source keeps them for a persistent domain; for a
 * domain gone from the source (transient, undefine_source) ask the target. */
static void mig_final(struct vreq *r, virDomainPtr src, virDomainPtr ddom,
		      virConnectPtr dconn, int64_t wall_ms)
{
	struct res_virt_job job;
	virConnectPtr c = dconn;
	virDomainPtr d = NULL;

	memset(&job, 0, sizeof(job));
	job.downtime_ms = -1;
	if (job_read(src, VIR_DOMAIN_JOB_STATS_COMPLETED, &job) < 0 && ddom)
		job_read(ddom, VIR_DOMAIN_JOB_STATS_COMPLETED, &job);
	if (!job.valid && !ddom) {
		if (!c)
			c = virConnectOpen(r->dest_uri);
		if (c)
			d = virDomainLookupByName(c, r->name);
		if (d) {
			job_read(d, VIR_DOMAIN_JOB_STATS_COMPLETED, &job);
			virDomainFree(d);
		}
		if (c && c != dconn)
			virConnectClose(c);
		virResetLastError();
	}
	if (!job.valid) {
		job = r->job;   /* the last sample */
		job.valid = true;
	}
	if (!job.elapsed_ms)
		job.elapsed_ms = (uint64_t)wall_ms;
	r->res.job = job;
}

static void op_migrate(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = lookup(v, r), ddom = NULL;
	virConnectPtr dconn = NULL;
	virTypedParameterPtr p = NULL;
	int n = 0, maxp = 0, rc;
	struct sampler s;
	pthread_t th;
	bool th_ok;
	int64_t t0;
	char msg[RES_VIRT_TEXT_MAX];

	if (!d)
		return;
	if (r->max_downtime_ms && virDomainMigrateSetMaxDowntime(d, r->max_downtime_ms, 0) < 0) {
		fail(v, r, "set the maximum migration downtime of");
		goto out;
	}
	if (r->bandwidth_mibs &&
	    virTypedParamsAddULLong(&p, &n, &maxp, VIR_MIGRATE_PARAM_BANDWIDTH, r->bandwidth_mibs) < 0) {
		fail(v, r, "migrate");
		goto out;
	}
	s.v = v;
	s.r = r;
	s.dom = d;
	th_ok = pthread_create(&th, NULL, sampler_main, &s) == 0;
	t0 = now_ms();
	if (r->mig_flags & RES_VIRT_MIG_P2P) {
		rc = virDomainMigrateToURI3(d, r->dest_uri, p, n, mig_flags(r->mig_flags));
	} else {
		dconn = virConnectOpen(r->dest_uri);
		ddom = dconn ? virDomainMigrate3(d, dconn, p, n, mig_flags(r->mig_flags)) : NULL;
		rc = ddom ? 0 : -1;
	}
	cm_strlcpy(msg, rc < 0 ? virt_msg() : "", sizeof(msg));
	pthread_mutex_lock(&v->lock);
	r->mig_done = true;
	pthread_cond_broadcast(&v->scond);
	pthread_mutex_unlock(&v->lock);
	if (th_ok)
		pthread_join(th, NULL);
	if (rc < 0) {
		bool dead = virConnectIsAlive(v->conn) != 1;

		r->res.ok = false;
		r->res.job = r->job;
		/* truncation is fine: the sentence stays terminated */
		if (snprintf(r->res.text, sizeof(r->res.text), "%s domain '%s' to '%s'%s: %s%s%s",
			 r->cancel ? "cancelled the migration of" : "cannot migrate",
			 r->name, r->dest_uri, dconn || (r->mig_flags & RES_VIRT_MIG_P2P) ? "" :
			 " (cannot connect to the target)", msg,
			 dead ? "; lost the connection to " : "", dead ? v->uri : "") < 0)
			r->res.text[0] = '\0';
		virResetLastError();
		if (dead)
			conn_drop(v, true);
		goto out;
	}
	mig_final(r, d, ddom, dconn, now_ms() - t0);
	okf(r, "migrated domain '%s' to '%s' in %" PRIu64 " ms (downtime %" PRId64 " ms, %" PRIu64 " bytes)",
	    r->name, r->dest_uri, r->res.job.elapsed_ms, r->res.job.downtime_ms,
	    r->res.job.data_processed);
out:
	virTypedParamsFree(p, n);
	if (ddom)
		virDomainFree(ddom);
	if (dconn)
		virConnectClose(dconn);
	virDomainFree(d);
}

/* ---- the worker ---- */

static void run_one(struct res_virt *v, struct vreq *r)
{
	r->t0_us = now_us();
	if (conn_get(v, r->res.text, sizeof(r->res.text)) < 0) {
		r->res.ok = false;
		virResetLastError();
		finish(v, r);
		return;
	}
	switch (r->op) {
	case RES_VIRT_DEFINE: op_define(v, r); break;
	case RES_VIRT_UNDEFINE: op_undefine(v, r); break;
	case RES_VIRT_START: op_start(v, r); break;
	case RES_VIRT_SHUTDOWN: op_shutdown(v, r); return;   /* finishes itself */
	case RES_VIRT_DESTROY: op_destroy(v, r); break;
	case RES_VIRT_SAVE: op_save(v, r); break;
	case RES_VIRT_RESTORE: op_restore(v, r); break;
	case RES_VIRT_STATE: op_state(v, r); break;
	case RES_VIRT_MIGRATE: op_migrate(v, r); break;
	case RES_VIRT_CANCEL: break;   /* handled in submit, never queued */
	}
	finish(v, r);
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
			poll_due(v);
			conn_watch(v);
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
		poll_due(v);
		pthread_mutex_lock(&v->lock);
	}
	pthread_mutex_unlock(&v->lock);
	/* abandoned shutdowns: no result (see res_virt_free) */
	while ((r = v->polls)) {
		v->polls = r->next;
		req_free(r);
	}
	conn_drop(v, false);
	return NULL;
}

/* ---- public ---- */

struct res_virt *res_virt_new(const char *uri, char *err, size_t errlen)
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
	if (loop_get(err, errlen) < 0)
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
		loop_put();
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
		req_free(r);
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
	loop_put();
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
		return q->name && *q->name ? 0 : -CM_E_ARGS;
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
		snprintf(t->res.text, sizeof(t->res.text), "%s domain '%s' cancelled before it started",
			 res_virt_op_to_str(t->op), t->name ? t->name : "");
		finish_locked(v, t);
		okf(c, "request %" PRIu64 " cancelled before it started", c->cancel_id);
	} else if (v->current && v->current->id == c->cancel_id) {
		v->current->cancel = true;
		pthread_cond_broadcast(&v->scond);
		okf(c, "asked libvirt to abort the migration of '%s' (request %" PRIu64 ")",
		    v->current->name, c->cancel_id);
	} else {
		c->res.ok = false;
		snprintf(c->res.text, sizeof(c->res.text),
			 "cannot cancel request %" PRIu64 ": it is neither queued nor a running migration",
			 c->cancel_id);
	}
	finish_locked(v, c);
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
	    dup_opt(&r->dest_uri, q->dest_uri)) {
		req_free(r);
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
	req_free(r);
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

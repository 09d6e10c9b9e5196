/* res_virt_int.h - what the libvirt backend's files share: the backend and
 * request structs, the small helpers and each file's entry points.
 * Private to libresvirt: nothing outside resources/res_virt*.c includes it.
 *
 * Threads: fields are owned as marked in struct res_virt; every op
 * function (res_virt_op_*) runs in the worker and fills r->res.
 */
#ifndef RES_VIRT_INT_H
#define RES_VIRT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

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
/* guest-ping answers in milliseconds from a live agent; 5 s leaves room
 * for a guest under load without holding the worker for long. */
#define VIRT_AGENT_TIMEOUT_S 5

struct vreq {
	struct vreq *next;
	uint64_t id;
	enum res_virt_op op;
	char *name, *xml, *path, *snap, *dest_uri;
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
	struct res_virt_result res;          /* res.data owned here until taken */
};

struct vevent {
	struct vevent *next;
	struct res_virt_event ev;
};

struct res_virt {
	char *uri;
	unsigned flags;                        /* RES_VIRT_NO_EVENTS; set once */
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

static inline int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t now_ms(void)
{
	return now_us() / 1000;
}

static inline void fd_signal(int fd)
{
	uint64_t one = 1;

	/* eventfd: can only fail on counter overflow, which a level flag ignores */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

static inline const char *virt_msg(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

static inline bool virt_err_is(int code)
{
	virErrorPtr e = virGetLastError();

	return e && e->code == code;
}

static inline void sleep_until_cond(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms)
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

/* res_virt_str.c: libvirt state + reason to ours */
void res_virt_map_state(int st, int reason, enum res_virt_state *out, enum res_virt_reason *why);

/* res_virt_event.c: the process-wide event loop and the lifecycle bridge */
int res_virt_loop_get(char *err, size_t errlen);
void res_virt_loop_put(void);
void res_virt_event_push(struct res_virt *v, const struct res_virt_event *ev);
int res_virt_lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			  void *opaque);
void res_virt_lifecycle_freed(void *opaque);

/* res_virt_conn.c: the connection (worker only) */
int res_virt_conn_get(struct res_virt *v, char *err, size_t errlen);
void res_virt_conn_drop(struct res_virt *v, bool lost);
void res_virt_conn_watch(struct res_virt *v);

/* res_virt.c: results */
void res_virt_req_free(struct vreq *r);
void res_virt_finish_locked(struct res_virt *v, struct vreq *r);
void res_virt_finish(struct res_virt *v, struct vreq *r);

/* res_virt_call.c: result sentences and the domain calls */
void res_virt_fail(struct res_virt *v, struct vreq *r, const char *what);
void res_virt_failf(struct res_virt *v, struct vreq *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void res_virt_okf(struct vreq *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
virDomainPtr res_virt_lookup(struct res_virt *v, struct vreq *r);
int res_virt_dom_state(virDomainPtr d, enum res_virt_state *st, enum res_virt_reason *why);
void res_virt_op_define(struct res_virt *v, struct vreq *r);
void res_virt_op_undefine(struct res_virt *v, struct vreq *r);
void res_virt_op_start(struct res_virt *v, struct vreq *r);
void res_virt_op_destroy(struct res_virt *v, struct vreq *r);
/* Finishes r itself, at once or from res_virt_poll_due once the guest is off. */
void res_virt_op_shutdown(struct res_virt *v, struct vreq *r);
void res_virt_poll_due(struct res_virt *v);
void res_virt_op_save(struct res_virt *v, struct vreq *r);
void res_virt_op_restore(struct res_virt *v, struct vreq *r);
void res_virt_op_state(struct res_virt *v, struct vreq *r);

/* res_virt_mig.c */
void res_virt_op_migrate(struct res_virt *v, struct vreq *r);

/* res_virt_snap.c */
void res_virt_op_snap_create(struct res_virt *v, struct vreq *r);
void res_virt_op_snap_revert(struct res_virt *v, struct vreq *r);
void res_virt_op_snap_delete(struct res_virt *v, struct vreq *r);

/* res_virt_query.c */
void res_virt_op_agent_ping(struct res_virt *v, struct vreq *r);
void res_virt_op_networks(struct res_virt *v, struct vreq *r);
void res_virt_op_domains(struct res_virt *v, struct vreq *r);

#endif

/* res_vhub.h - this node's hypervisor connections, shared by the vm types
 * and clusterd's engine.
 *
 * A hub owns a small pool of libvirt backends (res_virt.h) to the local
 * hypervisor, so that a migration, which holds its backend's worker for its
 * whole length, does not delay health checks or other VMs; one backend of
 * the pool delivers lifecycle events; one more is kept for emergency stops
 * (quorum loss), never used for anything else; and one backend per peer
 * URI, opened on first use (quick migration restores on the target).
 *
 * Every request gets a ticket and an eventfd of its own that turns readable
 * when its result is in, so an operation of the executor can wait on it like
 * on a child process. The caller polls res_vhub_fds() and calls
 * res_vhub_pump() when one of them is readable. Never blocks (but
 * res_vhub_free, see res_virt_free).
 */
#ifndef RES_VHUB_H
#define RES_VHUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "res_virt.h"

#define RES_VHUB_POOL 4
#define RES_VHUB_MAX_FDS 16

struct res_vhub;

/* local_uri: this node's hypervisor ("qemu:///system"). NULL with err. */
struct res_vhub *res_vhub_new(const char *local_uri, char *err, size_t errlen);
void res_vhub_free(struct res_vhub *h);

/* The fds to poll for reading; call res_vhub_pump() when any is readable.
 * The set grows when a peer backend is opened: call again after a pump. */
size_t res_vhub_fds(const struct res_vhub *h, int *fds, size_t max);
/* Route results to their tickets; returns how many lifecycle events wait. */
int res_vhub_pump(struct res_vhub *h);

/* Submit to the local pool (uri NULL) or to a peer's hypervisor (uri).
 * [out] ticket, fd (readable once the result is in; owned by the hub).
 * 0, -errno or -CM_E_ARGS. urgent: the emergency backend. */
int res_vhub_submit(struct res_vhub *h, const char *uri, const struct res_virt_req *req, bool urgent,
		    uint64_t *ticket, int *fd);
/* The result of a ticket whose fd is readable: 0 (the ticket and fd are
 * released; the caller owns r->data), -EAGAIN (not yet), -ENOENT. */
int res_vhub_take(struct res_vhub *h, uint64_t ticket, struct res_virt_result *r);
/* The caller gives up on a ticket: its result is dropped when it comes. */
void res_vhub_forget(struct res_vhub *h, uint64_t ticket);
/* Abort the request of a ticket (a migration: libvirt aborts the job). */
int res_vhub_cancel(struct res_vhub *h, uint64_t ticket);
/* The latest job sample of a ticket that is a migration. */
int res_vhub_progress(struct res_vhub *h, uint64_t ticket, struct res_virt_job *job);

/* The next lifecycle event of the local hypervisor: 0 or -EAGAIN. */
int res_vhub_next_event(struct res_vhub *h, struct res_virt_event *ev);

/* Keep the event connection open: a cheap request to the backend that
 * receives the lifecycle events (it connects, or reconnects after libvirtd
 * restarted, on a request). Call every few seconds. */
void res_vhub_ping(struct res_vhub *h);

/* Whether domain name is the subject of a request in flight (events about
 * it then come from that request, not from outside). */
bool res_vhub_busy(const struct res_vhub *h, const char *name);

#endif

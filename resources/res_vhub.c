/* res_vhub.c - a pool of hypervisor backends with one eventfd per request.
 * See res_vhub.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cm_err.h"
#include "cm_str.h"
#include "res_vhub.h"

#define PEERS_MAX 8
#define URGENT RES_VHUB_POOL          /* index of the emergency backend */
#define NLOCAL (RES_VHUB_POOL + 1)

struct ticket {
	struct ticket *next;
	uint64_t id;                  /* the hub's */
	struct res_virt *v;           /* the backend it went to */
	uint64_t vid;                 /* the backend's request id */
	int fd;                       /* eventfd */
	bool done, forgotten;
	char name[RES_VIRT_NAME_MAX];
	struct res_virt_result res;
};

struct peer {
	char uri[512];
	struct res_virt *v;
};

struct res_vhub {
	struct res_virt *local[NLOCAL];
	int pending[NLOCAL];
	struct peer peers[PEERS_MAX];
	size_t npeers;
	struct ticket *tickets;
	uint64_t next_id;
};

struct res_vhub *res_vhub_new(const char *local_uri, char *err, size_t errlen)
{
	struct res_vhub *h = calloc(1, sizeof(*h));
	int i;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < NLOCAL; i++) {
		h->local[i] = res_virt_new_opts(local_uri, i == 0 ? 0 : RES_VIRT_NO_EVENTS, err, errlen);
		if (h->local[i] == NULL) {
			res_vhub_free(h);
			return NULL;
		}
	}
	h->next_id = 1;
	res_vhub_ping(h); /* connect the event backend now */
	return h;
}

static void ticket_free(struct ticket *t)
{
	if (t->fd >= 0)
		close(t->fd);
	res_virt_result_clear(&t->res);
	free(t);
}

void res_vhub_free(struct res_vhub *h)
{
	struct ticket *t;
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < NLOCAL; i++)
		res_virt_free(h->local[i]);
	for (i = 0; i < h->npeers; i++)
		res_virt_free(h->peers[i].v);
	while ((t = h->tickets) != NULL) {
		h->tickets = t->next;
		ticket_free(t);
	}
	free(h);
}

size_t res_vhub_fds(const struct res_vhub *h, int *fds, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < NLOCAL && n < max; i++)
		fds[n++] = res_virt_done_fd(h->local[i]);
	if (n < max)
		fds[n++] = res_virt_event_fd(h->local[0]);
	for (i = 0; i < h->npeers && n < max; i++)
		fds[n++] = res_virt_done_fd(h->peers[i].v);
	return n;
}

static struct ticket *by_vid(struct res_vhub *h, struct res_virt *v, uint64_t vid)
{
	struct ticket *t;

	for (t = h->tickets; t; t = t->next)
		if (t->v == v && t->vid == vid)
			return t;
	return NULL;
}

static struct ticket *by_id(struct res_vhub *h, uint64_t id)
{
	struct ticket *t;

	for (t = h->tickets; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static void unlink_ticket(struct res_vhub *h, struct ticket *t)
{
	struct ticket **pp;

	for (pp = &h->tickets; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			return;
		}
}

static void pending_add(struct res_vhub *h, struct res_virt *v, int d)
{
	int i;

	for (i = 0; i < NLOCAL; i++)
		if (h->local[i] == v)
			h->pending[i] += d;
}

static void drain(struct res_vhub *h, struct res_virt *v)
{
	struct res_virt_result r;

	while (res_virt_take_result(v, &r) == 0) {
		struct ticket *t = by_vid(h, v, r.id);
		uint64_t one = 1;

		pending_add(h, v, -1);
		if (t == NULL) {
			res_virt_result_clear(&r);
			continue;
		}
		if (t->forgotten) {
			unlink_ticket(h, t);
			res_virt_result_clear(&r);
			ticket_free(t);
			continue;
		}
		t->res = r;
		t->done = true;
		if (write(t->fd, &one, sizeof(one)) < 0)
			continue; /* an eventfd write of 1 cannot fail short of a bug */
	}
}

int res_vhub_pump(struct res_vhub *h)
{
	size_t i;

	for (i = 0; i < NLOCAL; i++)
		drain(h, h->local[i]);
	for (i = 0; i < h->npeers; i++)
		drain(h, h->peers[i].v);
	return 0;
}

static struct res_virt *peer_get(struct res_vhub *h, const char *uri)
{
	char err[256];
	size_t i;

	for (i = 0; i < h->npeers; i++)
		if (strcmp(h->peers[i].uri, uri) == 0)
			return h->peers[i].v;
	if (h->npeers == PEERS_MAX || strlen(uri) >= sizeof(h->peers[0].uri))
		return NULL;
	h->peers[h->npeers].v = res_virt_new_opts(uri, RES_VIRT_NO_EVENTS, err, sizeof(err));
	if (h->peers[h->npeers].v == NULL)
		return NULL;
	cm_strlcpy(h->peers[h->npeers].uri, uri, sizeof(h->peers[0].uri));
	return h->peers[h->npeers++].v;
}

/* The least busy backend of the pool (urgent: the emergency one). */
static struct res_virt *pick(struct res_vhub *h, bool urgent)
{
	int i, best = 0;

	if (urgent)
		return h->local[URGENT];
	for (i = 1; i < RES_VHUB_POOL; i++)
		if (h->pending[i] < h->pending[best])
			best = i;
	return h->local[best];
}

int res_vhub_submit(struct res_vhub *h, const char *uri, const struct res_virt_req *req, bool urgent,
		    uint64_t *ticket, int *fd)
{
	struct res_virt *v = uri ? peer_get(h, uri) : pick(h, urgent);
	struct ticket *t;
	int rc;

	if (v == NULL)
		return uri ? -CM_E_UNREACHABLE : -CM_E_ARGS;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->fd < 0) {
		rc = -errno;
		free(t);
		return rc;
	}
	rc = res_virt_submit(v, req, &t->vid);
	if (rc < 0) {
		ticket_free(t);
		return rc;
	}
	t->v = v;
	t->id = h->next_id++;
	cm_strlcpy(t->name, req->name ? req->name : "", sizeof(t->name));
	t->next = h->tickets;
	h->tickets = t;
	pending_add(h, v, 1);
	*ticket = t->id;
	*fd = t->fd;
	return 0;
}

int res_vhub_take(struct res_vhub *h, uint64_t ticket, struct res_virt_result *r)
{
	struct ticket *t;

	res_vhub_pump(h);
	t = by_id(h, ticket);
	if (t == NULL)
		return -ENOENT;
	if (!t->done)
		return -EAGAIN;
	*r = t->res;
	memset(&t->res, 0, sizeof(t->res));
	unlink_ticket(h, t);
	ticket_free(t);
	return 0;
}

void res_vhub_forget(struct res_vhub *h, uint64_t ticket)
{
	struct ticket *t = by_id(h, ticket);

	if (t == NULL)
		return;
	if (t->done) {
		unlink_ticket(h, t);
		ticket_free(t);
		return;
	}
	/* its fd goes now; the record waits for the answer (a stuck libvirtd
	 * must not cost an fd per abandoned check) */
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->forgotten = true;
}

int res_vhub_cancel(struct res_vhub *h, uint64_t ticket)
{
	struct ticket *t = by_id(h, ticket);
	struct res_virt_req req;
	uint64_t id;

	if (t == NULL || t->done)
		return -ENOENT;
	memset(&req, 0, sizeof(req));
	req.op = RES_VIRT_CANCEL;
	req.cancel_id = t->vid;
	/* the cancel goes to the same backend: it acts on the running call */
	return res_virt_submit(t->v, &req, &id) < 0 ? -EIO : (pending_add(h, t->v, 1), 0);
}

int res_vhub_progress(struct res_vhub *h, uint64_t ticket, struct res_virt_job *job)
{
	struct ticket *t = by_id(h, ticket);

	if (t == NULL || t->done)
		return -ENOENT;
	return res_virt_progress(t->v, t->vid, job);
}

int res_vhub_next_event(struct res_vhub *h, struct res_virt_event *ev)
{
	return res_virt_next_event(h->local[0], ev);
}

bool res_vhub_busy(const struct res_vhub *h, const char *name)
{
	const struct ticket *t;

	for (t = h->tickets; t; t = t->next)
		if (!t->done && !t->forgotten && strcmp(t->name, name) == 0)
			return true;
	return false;
}

void res_vhub_ping(struct res_vhub *h)
{
	struct res_virt_req req = { .op = RES_VIRT_DOMAINS };
	uint64_t id;

	if (h->pending[0] > 0)
		return;
	if (res_virt_submit(h->local[0], &req, &id) == 0)
		h->pending[0]++; /* its result has no ticket: drain() drops it */
}

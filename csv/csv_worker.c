/* csv_worker.c - the CSV coordinator's I/O thread (see csv_worker.h).
 *
 * Owns the LUN handle (worker-only) and two lists under one mutex: the
 * requests waiting, FIFO, and the results not yet taken. A request's node is
 * allocated at submit time with room for its result, so the thread never
 * fails to report one. Never touches clusterd's state, never logs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cm_err.h"
#include "cm_str.h"
#include "csv_worker.h"

struct job {
	struct job *next;
	struct csv_req req;
	struct csv_res res;
};

struct csv_worker {
	struct csv_worker_cfg cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;

	/* shared, under mu */
	bool stop;
	bool busy;                 /* a request is under way */
	uint64_t next_id;
	struct job *q_head, *q_tail;
	size_t q_len;
	struct job *r_head, *r_tail;

	/* worker-only */
	struct wit_lun *lun;
	struct csv_header hdr;     /* the last header read or written */
	bool have_hdr;
};

const char *csv_req_type_to_str(enum csv_req_type t)
{
	switch (t) {
	case CSV_REQ_PROBE:
		return "probe";
	case CSV_REQ_CHECK:
		return "check";
	case CSV_REQ_LOAD:
		return "load";
	case CSV_REQ_FORMAT:
		return "format";
	case CSV_REQ_APPLY:
		return "apply";
	}
	return "?";
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void notify(struct csv_worker *w)
{
	uint64_t one = 1;

	if (w->cfg.notify_fd >= 0 && write(w->cfg.notify_fd, &one, sizeof(one)) < 0)
		return; /* an eventfd only fails when its counter is full: the caller is awake anyway */
}

static void free_list(struct job *j)
{
	while (j) {
		struct job *next = j->next;

		free(j);
		j = next;
	}
}

static int open_lun(struct csv_worker *w, char *err, size_t errlen)
{
	if (w->lun)
		return 0;
	w->have_hdr = false;
	return wit_lun_open(&w->cfg.url, w->cfg.initiator, w->cfg.io_timeout_s, &w->lun, err, errlen);
}

/* A lost session or a silent target: open afresh next time (capacity too). */
static void after_error(struct csv_worker *w, int rc)
{
	if (rc == -CM_E_UNREACHABLE || rc == -CM_E_TIMEOUT) {
		wit_lun_close(w->lun);
		w->lun = NULL;
		w->have_hdr = false;
	}
	if (rc == -CM_E_STATE || rc == -CM_E_FOREIGN || rc == -CM_E_CORRUPT || rc == -CM_E_VERSION)
		w->have_hdr = false; /* read the header again before the next change */
}

/* The header belongs to the cluster and CSV the caller expects ("" = any). */
static int header_matches(struct csv_worker *w, const struct csv_header *h, const char *uuid,
			  const char *name, char *err, size_t errlen)
{
	if (uuid[0] && strcmp(h->cluster_uuid, uuid) != 0) {
		snprintf(err, errlen, "%s: the header is not a CSV of this cluster (uuid %s)",
			 wit_lun_name(w->lun), h->cluster_uuid);
		return -CM_E_FOREIGN;
	}
	if (name[0] && strcmp(h->name, name) != 0) {
		snprintf(err, errlen, "%s: the LUN holds the CSV '%s', not '%s'", wit_lun_name(w->lun),
			 h->name, name);
		return -CM_E_FOREIGN;
	}
	return 0;
}

static int do_check(struct csv_worker *w, const struct csv_req *q, struct csv_res *r)
{
	int rc = csv_io_probe(w->lun, &r->probe, &r->header, r->err, sizeof(r->err));

	if (rc < 0)
		return rc;
	if (r->probe != CSV_PROBE_OURS) {
		snprintf(r->err, sizeof(r->err), "%s: the LUN holds no CSV (%s)", wit_lun_name(w->lun),
			 r->probe == CSV_PROBE_EMPTY ? "block 0 is blank" : "foreign data in block 0");
		return -CM_E_FOREIGN;
	}
	r->have_header = true;
	return header_matches(w, &r->header, q->cluster_uuid, q->name, r->err, sizeof(r->err));
}

static int do_apply(struct csv_worker *w, const struct csv_req *q, struct csv_res *r)
{
	int rc;

	if (!w->have_hdr) {
		rc = csv_io_load(w->lun, &w->hdr, &r->table, NULL, 0, r->err, sizeof(r->err));
		if (rc < 0)
			return rc;
		w->have_hdr = true;
	}
	r->header = w->hdr;
	r->have_header = true;
	rc = header_matches(w, &w->hdr, q->cluster_uuid, "", r->err, sizeof(r->err));
	if (rc < 0)
		return rc;
	/* csv_io_apply leaves the table alone when it could not read one */
	r->table.generation = UINT64_MAX;
	rc = csv_io_apply(w->lun, &w->hdr, q->op, q->vol, q->size, q->flags,
			  q->now_ms ? q->now_ms : wall_ms(), &r->table, r->err, sizeof(r->err));
	r->have_table = r->table.generation != UINT64_MAX;
	if (!r->have_table)
		csv_table_init(&r->table);
	return rc;
}

static void run(struct csv_worker *w, const struct csv_req *q, struct csv_res *r)
{
	int rc = open_lun(w, r->err, sizeof(r->err));

	if (rc < 0)
		goto out;
	switch (q->type) {
	case CSV_REQ_PROBE:
		rc = csv_io_probe(w->lun, &r->probe, &r->header, r->err, sizeof(r->err));
		r->have_header = rc == 0 && r->probe == CSV_PROBE_OURS;
		break;
	case CSV_REQ_CHECK:
		rc = do_check(w, q, r);
		break;
	case CSV_REQ_LOAD:
		rc = csv_io_load(w->lun, &r->header, &r->table, r->report, sizeof(r->report), r->err,
				 sizeof(r->err));
		r->have_header = r->header.version != 0;
		r->have_table = rc == 0;
		r->probe = r->have_header ? CSV_PROBE_OURS : CSV_PROBE_FOREIGN;
		if (rc == 0) {
			w->hdr = r->header;
			w->have_hdr = true;
		}
		break;
	case CSV_REQ_FORMAT:
		rc = csv_io_format(w->lun, q->cluster_uuid, q->name, q->force,
				   q->now_ms ? q->now_ms : wall_ms(), &r->header, r->err, sizeof(r->err));
		r->have_header = rc == 0;
		if (rc == 0) {
			w->hdr = r->header;
			w->have_hdr = true;
			csv_table_init(&r->table);
			r->have_table = true;
			r->probe = CSV_PROBE_OURS;
		}
		break;
	case CSV_REQ_APPLY:
		rc = do_apply(w, q, r);
		break;
	default:
		snprintf(r->err, sizeof(r->err), "unknown CSV request type %d", (int)q->type);
		rc = -CM_E_ARGS;
		break;
	}
	after_error(w, rc);
out:
	r->rc = rc;
	if (rc == 0)
		r->err[0] = '\0';
}

static void *worker_main(void *arg)
{
	struct csv_worker *w = arg;
	struct job *j;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && w->q_head == NULL)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = w->q_head;
		w->q_head = j->next;
		if (w->q_head == NULL)
			w->q_tail = NULL;
		w->q_len--;
		w->busy = true;
		pthread_mutex_unlock(&w->mu);

		j->next = NULL;
		run(w, &j->req, &j->res);

		pthread_mutex_lock(&w->mu);
		if (w->r_tail)
			w->r_tail->next = j;
		else
			w->r_head = j;
		w->r_tail = j;
		w->busy = false;
		pthread_mutex_unlock(&w->mu);
		notify(w);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	wit_lun_close(w->lun);
	w->lun = NULL;
	return NULL;
}

int csv_worker_start(const struct csv_worker_cfg *cfg, struct csv_worker **out)
{
	struct csv_worker *w;
	int rc;

	*out = NULL;
	if (cfg == NULL || cfg->io_timeout_s < 1 || cfg->io_timeout_s > 3600 || cfg->initiator[0] == '\0')
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	w->cfg = *cfg;
	w->cfg.initiator[sizeof(w->cfg.initiator) - 1] = '\0';
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	rc = pthread_create(&w->thread, NULL, worker_main, w);
	if (rc != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
		return -rc;
	}
	*out = w;
	return 0;
}

void csv_worker_stop(struct csv_worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	free_list(w->q_head);
	free_list(w->r_head);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

uint64_t csv_worker_submit(struct csv_worker *w, const struct csv_req *r)
{
	struct job *j = calloc(1, sizeof(*j)); /* outside the lock: ~30 KiB */
	uint64_t id = 0;

	if (j == NULL)
		return 0;
	j->req = *r;
	j->req.name[sizeof(j->req.name) - 1] = '\0';
	j->req.cluster_uuid[sizeof(j->req.cluster_uuid) - 1] = '\0';
	j->req.vol[sizeof(j->req.vol) - 1] = '\0';
	j->res.type = r->type;
	pthread_mutex_lock(&w->mu);
	if (!w->stop) {
		id = ++w->next_id;
		j->res.id = id;
		if (w->q_tail)
			w->q_tail->next = j;
		else
			w->q_head = j;
		w->q_tail = j;
		w->q_len++;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	if (id == 0)
		free(j);
	return id;
}

bool csv_worker_take(struct csv_worker *w, struct csv_res *out)
{
	struct job *j;

	pthread_mutex_lock(&w->mu);
	j = w->r_head;
	if (j) {
		w->r_head = j->next;
		if (w->r_head == NULL)
			w->r_tail = NULL;
	}
	pthread_mutex_unlock(&w->mu);
	if (j == NULL)
		return false;
	*out = j->res; /* the copy and the free need no lock: the job is ours now */
	free(j);
	return true;
}

size_t csv_worker_pending(struct csv_worker *w)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	n = w->q_len + (w->busy ? 1 : 0);
	pthread_mutex_unlock(&w->mu);
	return n;
}

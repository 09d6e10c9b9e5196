/* csv_worker.h - the CSV coordinator's I/O thread: requests in (FIFO),
 * results out, the LUN handle kept open in between.
 *
 * All I/O on the CSV LUN happens on this thread through csv_io; clusterd's
 * main loop only queues requests and pops results, each a mutex held for a
 * copy. The worker writes 8 bytes to notify_fd (an eventfd the caller owns
 * and reads) whenever a result is ready. No globals, no logging: an error
 * is a sentence in its result.
 */
#ifndef CSV_WORKER_H
#define CSV_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv_io.h"
#include "csv_layout.h"
#include "wit_scsi.h"

struct csv_worker_cfg {
	struct wit_url url;         /* the CSV LUN */
	char initiator[224];        /* this node's initiator IQN */
	int io_timeout_s;           /* bound of each SCSI call, 1..3600 */
	int notify_fd;              /* written (8 bytes) per result; -1: none */
};

enum csv_req_type {
	CSV_REQ_PROBE = 1,          /* block 0: empty / ours / foreign (+ header) */
	CSV_REQ_CHECK,              /* the path check: header read, ours, uuid and name match */
	CSV_REQ_LOAD,               /* header + table + read-only report */
	CSV_REQ_FORMAT,             /* csv_io_format */
	CSV_REQ_APPLY               /* csv_io_apply: create / delete / resize a volume */
};

struct csv_req {
	enum csv_req_type type;
	char name[CSV_NAME_LEN];    /* FORMAT: the CSV's name; CHECK: expected ("" = any) */
	char cluster_uuid[40];      /* FORMAT: required; CHECK, APPLY: expected ("" = any) */
	bool force;                 /* FORMAT */
	enum csv_io_op op;          /* APPLY */
	char vol[CSV_NAME_LEN];     /* APPLY */
	uint64_t size;              /* APPLY: bytes (create, resize) */
	uint32_t flags;             /* APPLY create: CSV_VF_* */
	int64_t now_ms;             /* FORMAT, APPLY: wall-clock stamp; 0 = the worker's clock */
};

struct csv_res {
	uint64_t id;                /* csv_worker_submit's return */
	enum csv_req_type type;
	int rc;                     /* 0, -errno, -CM_E_* */
	enum csv_probe probe;       /* PROBE (and CHECK / LOAD: what block 0 looked like) */
	bool have_header;           /* header below is valid */
	bool have_table;            /* table below is valid (LOAD, APPLY: also on refusal) */
	struct csv_header header;
	struct csv_table table;
	char err[512];              /* "" on success */
	char report[1024];          /* LOAD, CHECK: csv_io_load's report */
};

struct csv_worker;

/** Start the thread; the LUN is opened on the first request.
 * @return 0, -EINVAL (bad cfg), -ENOMEM, -errno of pthread_create */
int csv_worker_start(const struct csv_worker_cfg *cfg, struct csv_worker **out);

/** Finish the request under way (bounded by the io timeout, a few calls),
 * drop the queued ones and the untaken results, close the LUN, free.
 * NULL is fine. */
void csv_worker_stop(struct csv_worker *w);

/** Queue a request (copied). @return its id (>= 1), or 0 if out of memory
 * or the worker is stopping. */
uint64_t csv_worker_submit(struct csv_worker *w, const struct csv_req *r);

/** Pop the oldest result into out. @return false if none is ready. */
bool csv_worker_take(struct csv_worker *w, struct csv_res *out);

/** Requests queued or under way (for status and tests). */
size_t csv_worker_pending(struct csv_worker *w);

const char *csv_req_type_to_str(enum csv_req_type t);

#endif

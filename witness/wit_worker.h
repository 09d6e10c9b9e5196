/* wit_worker.h - the witness worker: a thread that runs arbitration rounds
 * against the witness LUN every renew period, writes the database copy when
 * we hold the witness, and publishes a snapshot for clusterd's main loop.
 *
 * All SCSI I/O happens on this thread, bounded by io_timeout; the main loop
 * only copies the snapshot (a mutex held for a memcpy) and decides whether
 * to cast the device vote with wit_arb_cast(), so the votequorum nodelist
 * callback never waits for storage.
 */
#ifndef WIT_WORKER_H
#define WIT_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quo_timeouts.h"
#include "wit_arb.h"
#include "wit_layout.h"
#include "wit_scsi.h"

struct wit_worker_cfg {
	struct wit_url url;
	char initiator[224];
	char cluster_uuid[40];
	uint32_t my_id;
	struct quo_timeouts t;
	int notify_fd;              /* written (8 bytes) when the snapshot changes; -1: none */
};

struct wit_snapshot {
	struct wit_arb arb;         /* for wit_arb_cast() */
	bool lun_ok;                /* connected, header ours */
	bool holder_is_me;
	bool copy_pending;          /* a newer database copy waits for the main loop */
	int64_t copy_epoch, copy_seq;
	uint64_t rounds;
	uint64_t last_round_ms;
	enum wit_action last_action;
	char state[160];            /* one line for people */
	char error[256];            /* last error, "" if none */
};

struct wit_worker;

/* Key of a node on this cluster's witness: cluster hash in the high half. */
uint64_t wit_key(const char *cluster_uuid, uint32_t node_id);

int wit_worker_start(const struct wit_worker_cfg *cfg, struct wit_worker **out);
void wit_worker_stop(struct wit_worker *w);
void wit_worker_snapshot(struct wit_worker *w, struct wit_snapshot *s);
/* Our replica's version, so the worker knows when the witness copy is newer. */
void wit_worker_set_version(struct wit_worker *w, int64_t epoch, int64_t seq);
/* An image of our replica to write as the witness copy (if we hold it). */
void wit_worker_put_copy(struct wit_worker *w, const void *img, size_t len, int64_t epoch, int64_t seq);
/* Take the newer copy read from the witness; the caller frees *img. */
int wit_worker_take_copy(struct wit_worker *w, unsigned char **img, size_t *len, int64_t *epoch, int64_t *seq);
/* The main loop adopted (or refused) the copy: casting may begin. */
void wit_worker_copy_done(struct wit_worker *w);

#endif

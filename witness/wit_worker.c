/* wit_worker.c - the witness worker thread (see wit_worker.h).
 *
 * Owns the LUN handle and the arbitration state; never touches clusterd's
 * state. Every exchange with the main loop goes through the mutex-protected
 * fields below. A round: observe (keys, reservation, holder's slot), decide
 * (wit_arb_round), act (register/reserve/preempt/renew), then write a
 * pending database copy if we hold the witness.
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
#include "wit_worker.h"

#define WIT_IO_CHUNK (256u * 1024)
#define WIT_MAX_KEYS 128

struct wit_worker {
	struct wit_worker_cfg cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	bool wake;                       /* a copy is waiting: run a round now */

	/* worker-only */
	struct wit_lun *lun;
	struct wit_header hdr;
	struct wit_arb arb;
	uint64_t counter;
	struct wit_copy copies[2];
	bool copy_valid[2];
	uint64_t key;

	/* shared, under mu */
	struct wit_snapshot snap;
	int64_t my_epoch, my_seq;
	unsigned char *put_img;          /* copy to write */
	size_t put_len;
	int64_t put_epoch, put_seq;
	unsigned char *got_img;          /* newer copy read from the LUN */
	size_t got_len;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t wit_key(const char *cluster_uuid, uint32_t node_id)
{
	uint64_t h = cm_hash64(CM_HASH_INIT, cluster_uuid, strlen(cluster_uuid));

	/* never 0: a zero key means "no key" in SCSI-3 PR */
	return ((h & 0xffffffff00000000ULL) | 0x100000000ULL) | node_id;
}

static uint32_t key_node(const struct wit_worker *w, uint64_t key)
{
	if ((key & 0xffffffff00000000ULL) != (w->key & 0xffffffff00000000ULL))
		return UINT32_MAX; /* somebody else's key: a foreign holder */
	return (uint32_t)key;
}

static void notify(struct wit_worker *w)
{
	uint64_t one = 1;

	if (w->cfg.notify_fd >= 0 && write(w->cfg.notify_fd, &one, sizeof(one)) < 0)
		return; /* the main loop is behind; it reads the snapshot anyway */
}

static void publish(struct wit_worker *w, enum wit_action act, const char *state, const char *error)
{
	pthread_mutex_lock(&w->mu);
	w->snap.arb = w->arb;
	w->snap.lun_ok = w->lun != NULL;
	w->snap.holder_is_me = w->arb.holder == w->cfg.my_id && w->arb.renewed_ms != 0;
	w->snap.rounds++;
	w->snap.last_round_ms = mono_ms();
	w->snap.last_action = act;
	if (state)
		cm_strlcpy(w->snap.state, state, sizeof(w->snap.state));
	cm_strlcpy(w->snap.error, error ? error : "", sizeof(w->snap.error));
	pthread_mutex_unlock(&w->mu);
	notify(w);
}

static void drop_lun(struct wit_worker *w)
{
	wit_lun_close(w->lun);
	w->lun = NULL;
	wit_arb_lost(&w->arb);
}

static int rw_chunks(struct wit_worker *w, bool wr, uint64_t off, unsigned char *buf, size_t len,
		     char *err, size_t errlen)
{
	size_t done = 0;
	int rc = 0;

	while (done < len && rc == 0) {
		size_t n = len - done < WIT_IO_CHUNK ? len - done : WIT_IO_CHUNK;

		rc = wr ? wit_lun_write(w->lun, off + done, buf + done, n, err, errlen)
			: wit_lun_read(w->lun, off + done, buf + done, n, err, errlen);
		done += n;
	}
	return rc;
}

static int write_slot(struct wit_worker *w, char *err, size_t errlen)
{
	unsigned char blk[WIT_BLOCK];
	struct wit_slot s;

	pthread_mutex_lock(&w->mu);
	s.epoch = w->my_epoch;
	s.seq = w->my_seq;
	pthread_mutex_unlock(&w->mu);
	s.node_id = w->cfg.my_id;
	s.counter = ++w->counter;
	s.time_ms = wall_ms();
	wit_slot_encode(&s, blk);
	return wit_lun_write(w->lun, wit_slot_off(&w->hdr, w->cfg.my_id), blk, WIT_BLOCK, err, errlen);
}

static void read_copy_headers(struct wit_worker *w)
{
	unsigned char blk[WIT_BLOCK];
	char err[128];
	int i;

	for (i = 0; i < 2; i++) {
		w->copy_valid[i] = wit_lun_read(w->lun, w->hdr.copy_off[i], blk, WIT_BLOCK, err, sizeof(err)) == 0 &&
				   wit_copy_decode(blk, &w->copies[i]) == 0 &&
				   w->copies[i].len <= wit_copy_capacity(&w->hdr);
	}
}

/* Just became the holder: if the witness copy is newer than our replica,
 * read it for the main loop, which adopts it before we cast (amnesia). */
static void after_acquire(struct wit_worker *w)
{
	int64_t e, s;
	int i;

	read_copy_headers(w);
	i = wit_copy_newest(w->copies, w->copy_valid);
	pthread_mutex_lock(&w->mu);
	e = w->my_epoch;
	s = w->my_seq;
	pthread_mutex_unlock(&w->mu);
	if (i < 0 || w->copies[i].epoch < e || (w->copies[i].epoch == e && w->copies[i].seq <= s))
		return;
	{
		size_t len = (size_t)w->copies[i].len, padded = (len + WIT_BLOCK - 1) / WIT_BLOCK * WIT_BLOCK;
		unsigned char *img = calloc(1, padded ? padded : WIT_BLOCK);
		char err[256];

		if (img == NULL || rw_chunks(w, false, w->hdr.copy_off[i] + WIT_BLOCK, img, padded, err, sizeof(err)) < 0 ||
		    wit_image_sum(img, len) != w->copies[i].image_sum) {
			free(img);
			return; /* a torn or unreadable copy: keep our replica */
		}
		pthread_mutex_lock(&w->mu);
		free(w->got_img);
		w->got_img = img;
		w->got_len = len;
		w->snap.copy_pending = true;
		w->snap.copy_epoch = w->copies[i].epoch;
		w->snap.copy_seq = w->copies[i].seq;
		pthread_mutex_unlock(&w->mu);
	}
}

static void write_pending_copy(struct wit_worker *w)
{
	unsigned char *img, blk[WIT_BLOCK];
	struct wit_copy c;
	size_t len, padded;
	char err[256];
	int area;

	pthread_mutex_lock(&w->mu);
	img = w->put_img;
	len = w->put_len;
	c.epoch = w->put_epoch;
	c.seq = w->put_seq;
	w->put_img = NULL;
	pthread_mutex_unlock(&w->mu);
	if (img == NULL)
		return;
	padded = (len + WIT_BLOCK - 1) / WIT_BLOCK * WIT_BLOCK;
	if (len > wit_copy_capacity(&w->hdr)) {
		publish(w, WIT_A_WATCH, NULL, "the cluster database is larger than the witness can hold");
		free(img);
		return;
	}
	area = wit_copy_next(w->copies, w->copy_valid);
	c.len = len;
	c.image_sum = wit_image_sum(img, len);
	c.writer = w->cfg.my_id;
	c.time_ms = wall_ms();
	/* invalidate the area's header, write the image, then seal the header:
	 * a crash in between leaves this area invalid and the other intact */
	memset(blk, 0, sizeof(blk));
	if (wit_lun_write(w->lun, w->hdr.copy_off[area], blk, WIT_BLOCK, err, sizeof(err)) == 0 &&
	    rw_chunks(w, true, w->hdr.copy_off[area] + WIT_BLOCK, img, padded, err, sizeof(err)) == 0) {
		wit_copy_encode(&c, blk);
		if (wit_lun_write(w->lun, w->hdr.copy_off[area], blk, WIT_BLOCK, err, sizeof(err)) == 0) {
			w->copies[area] = c;
			w->copy_valid[area] = true;
		}
	} else {
		w->copy_valid[area] = false;
	}
	free(img);
}

static int open_lun(struct wit_worker *w, char *err, size_t errlen)
{
	unsigned char blk[WIT_BLOCK];
	int rc, secs = (int)(w->cfg.t.io_timeout_ms + 999) / 1000;

	rc = wit_lun_open(&w->cfg.url, w->cfg.initiator, secs, &w->lun, err, errlen);
	if (rc < 0)
		return rc;
	rc = wit_lun_read(w->lun, 0, blk, WIT_BLOCK, err, errlen);
	if (rc == 0)
		rc = wit_header_decode(blk, &w->hdr, err, errlen);
	if (rc == 0 && strcmp(w->hdr.cluster_uuid, w->cfg.cluster_uuid) != 0) {
		snprintf(err, errlen, "the witness LUN belongs to cluster '%s', not this one: run 'cluadmin witness init'",
			 w->hdr.cluster_name);
		rc = -CM_E_FOREIGN;
	}
	if (rc == 0 && wit_slot_off(&w->hdr, w->cfg.my_id) == 0) {
		snprintf(err, errlen, "node id %u has no heartbeat slot on the witness (ids 1..%u)",
			 w->cfg.my_id, w->hdr.max_slots);
		rc = -CM_E_ARGS;
	}
	if (rc < 0) {
		wit_lun_close(w->lun);
		w->lun = NULL;
		return rc;
	}
	/* a new session: take our key back from any session we had before
	 * (tgt ties registrations to sessions) */
	rc = wit_pr_recover(w->lun, w->key, NULL, err, errlen);
	if (rc < 0) {
		wit_lun_close(w->lun);
		w->lun = NULL;
		return rc;
	}
	read_copy_headers(w);
	wit_arb_lost(&w->arb);
	return 0;
}

static void round_once(struct wit_worker *w)
{
	uint64_t keys[WIT_MAX_KEYS], holder_key = 0;
	struct wit_decision d = { WIT_A_WATCH, 0, "" };
	struct wit_obs o;
	char err[256] = "", state[160];
	unsigned char blk[WIT_BLOCK];
	uint32_t gen;
	size_t n = 0, i;
	int type, rc;

	if (w->lun == NULL && open_lun(w, err, sizeof(err)) < 0) {
		publish(w, WIT_A_WATCH, "witness LUN not available", err);
		return;
	}
	memset(&o, 0, sizeof(o));
	/* recovery_due stays set until wit_pr_recover succeeds, so a session
	 * lost in the last round and logged in again by this round's first
	 * command is caught too */
	if (wit_lun_recovery_due(w->lun) || wit_lun_take_reconnected(w->lun)) {
		wit_arb_lost(&w->arb);
		rc = wit_pr_recover(w->lun, w->key, NULL, err, sizeof(err));
		if (rc < 0)
			goto fail;
	}
	rc = wit_pr_read_keys(w->lun, keys, WIT_MAX_KEYS, &n, &gen, err, sizeof(err));
	if (rc == 0)
		rc = wit_pr_read_reservation(w->lun, &o.reserved, &holder_key, &type, err, sizeof(err));
	if (rc < 0)
		goto fail;
	for (i = 0; i < n; i++)
		o.registered |= keys[i] == w->key;
	o.holder = o.reserved ? key_node(w, holder_key) : 0;
	if (o.holder && o.holder != w->cfg.my_id && o.holder != UINT32_MAX) {
		struct wit_slot s;

		if (wit_lun_read(w->lun, wit_slot_off(&w->hdr, o.holder), blk, WIT_BLOCK, err, sizeof(err)) == 0 &&
		    wit_slot_decode(blk, &s) == 0 && s.node_id == o.holder) {
			o.slot_valid = true;
			o.holder_counter = s.counter;
		}
	}
	if (wit_lun_take_preempted(w->lun))
		wit_arb_lost(&w->arb);
	o.now_ms = mono_ms();
	wit_arb_round(&w->arb, &w->cfg.t, &o, &d);
	switch (d.action) {
	case WIT_A_REGISTER:
		rc = wit_pr_recover(w->lun, w->key, NULL, err, sizeof(err));
		break;
	case WIT_A_RESERVE:
	case WIT_A_PREEMPT:
		rc = d.action == WIT_A_RESERVE ? wit_pr_reserve(w->lun, w->key, err, sizeof(err))
					       : wit_pr_preempt(w->lun, w->key, wit_key(w->cfg.cluster_uuid, d.victim),
								err, sizeof(err));
		if (rc == 0)
			rc = write_slot(w, err, sizeof(err));
		if (rc == 0) {
			wit_arb_done(&w->arb, d.action, mono_ms());
			after_acquire(w);
		} else if (rc == -CM_E_CONFLICT) {
			rc = 0; /* somebody else won the race: watch it */
		}
		break;
	case WIT_A_RENEW:
		rc = write_slot(w, err, sizeof(err));
		if (rc == 0)
			wit_arb_done(&w->arb, d.action, mono_ms());
		break;
	default:
		break;
	}
	if (rc < 0)
		goto fail;
	if (w->arb.holder == w->cfg.my_id && w->arb.renewed_ms)
		write_pending_copy(w);
	snprintf(state, sizeof(state), "%s (%s)", wit_action_to_str(d.action), d.reason);
	publish(w, d.action, state, NULL);
	return;
fail:
	wit_arb_lost(&w->arb);
	if (rc == -CM_E_UNREACHABLE || rc == -CM_E_TIMEOUT)
		drop_lun(w);
	publish(w, d.action, "witness I/O failed", err);
}

static void *worker_main(void *arg)
{
	struct wit_worker *w = arg;
	struct timespec until;
	uint64_t next;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		pthread_mutex_unlock(&w->mu);
		next = mono_ms() + w->cfg.t.renew_ms;
		round_once(w);
		pthread_mutex_lock(&w->mu);
		until.tv_sec = (time_t)(next / 1000);
		until.tv_nsec = (long)(next % 1000) * 1000000;
		while (!w->stop && !w->wake && mono_ms() < next)
			pthread_cond_timedwait(&w->cv, &w->mu, &until);
		w->wake = false;
	}
	pthread_mutex_unlock(&w->mu);
	if (w->lun) {
		char err[128];

		/* a clean stop hands the witness over at once */
		if (w->arb.holder == w->cfg.my_id) {
			wit_arb_lost(&w->arb);
			publish(w, WIT_A_WATCH, "stopped", NULL);
			wit_pr_release(w->lun, w->key, err, sizeof(err));
		}
		wit_lun_close(w->lun);
		w->lun = NULL;
	}
	return NULL;
}

int wit_worker_start(const struct wit_worker_cfg *cfg, struct wit_worker **out)
{
	struct wit_worker *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int rc;

	if (w == NULL)
		return -ENOMEM;
	w->cfg = *cfg;
	w->key = wit_key(cfg->cluster_uuid, cfg->my_id);
	wit_arb_init(&w->arb, cfg->my_id);
	w->snap.arb = w->arb;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
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

void wit_worker_stop(struct wit_worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->put_img);
	free(w->got_img);
	free(w);
}

void wit_worker_snapshot(struct wit_worker *w, struct wit_snapshot *s)
{
	pthread_mutex_lock(&w->mu);
	*s = w->snap;
	pthread_mutex_unlock(&w->mu);
}

void wit_worker_set_version(struct wit_worker *w, int64_t epoch, int64_t seq)
{
	pthread_mutex_lock(&w->mu);
	w->my_epoch = epoch;
	w->my_seq = seq;
	pthread_mutex_unlock(&w->mu);
}

void wit_worker_put_copy(struct wit_worker *w, const void *img, size_t len, int64_t epoch, int64_t seq)
{
	unsigned char *copy = malloc(len ? len : 1);

	if (copy == NULL)
		return;
	memcpy(copy, img, len);
	pthread_mutex_lock(&w->mu);
	free(w->put_img); /* only the newest image matters */
	w->put_img = copy;
	w->put_len = len;
	w->put_epoch = epoch;
	w->put_seq = seq;
	w->wake = true;
	pthread_cond_signal(&w->cv); /* write it now, not at the next round */
	pthread_mutex_unlock(&w->mu);
}

int wit_worker_take_copy(struct wit_worker *w, unsigned char **img, size_t *len, int64_t *epoch, int64_t *seq)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&w->mu);
	if (w->got_img) {
		*img = w->got_img;
		*len = w->got_len;
		*epoch = w->snap.copy_epoch;
		*seq = w->snap.copy_seq;
		w->got_img = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void wit_worker_copy_done(struct wit_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->snap.copy_pending = false;
	pthread_mutex_unlock(&w->mu);
}

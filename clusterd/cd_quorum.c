/* cd_quorum.c - quorum on this node: the votequorum quorum-device client
 * for the witness, the quorum mode in corosync's cmap, and the distrust of
 * quorum after a pause.
 *
 * Owns: reconciling corosync's quorum.device.* keys with the replicated
 * quorum_mode/witness_url; the witness worker (all storage I/O is there);
 * polling votequorum every poll_ms and at once on a nodelist change; the
 * cast decision (pure: wit_arb_cast); adopting a newer witness copy of the
 * database before we cast (amnesia); handing our replica to the worker for
 * the witness copy, batched. Must never: block the loop on storage, or cast
 * without a fresh lease. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cm_err.h"
#include "cd_daemon.h"
#include "cd_log.h"
#include "quo_calc.h"

#define CD_QDEVICE_NAME "clusterd"
#define CD_TICK_MS 100

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void arm(struct cd *cd, uint32_t ms, void (*fn)(void *), qb_loop_timer_handle *h)
{
	qb_loop_timer_add(cd->loop, QB_LOOP_HIGH, (uint64_t)ms * QB_TIME_NS_IN_MSEC, cd, fn, h);
}

/* Paused, or just resumed and the tick has not run yet: whatever event the
 * loop handles first after a SIGCONT must not trust what it knew before. */
static bool paused(struct cd *cd)
{
	return cd->stalled || (cd->last_tick_ms && mono_ms() - cd->last_tick_ms > cd->tmo.stall_ms);
}

/* Whether to cast the device vote now. */
static bool cast_now(struct cd *cd)
{
	struct wit_snapshot s;
	size_t n = 0;
	const uint32_t *members;

	if (cd->witness == NULL || paused(cd) || cd->repl == NULL)
		return false;
	wit_worker_snapshot(cd->witness, &s);
	if (s.copy_pending)
		return false;
	members = cd_repl_members(cd->repl, &n);
	return wit_arb_cast(&s.arb, &cd->tmo, mono_ms(), members, n);
}

static void poll_device(struct cd *cd)
{
	bool cast;
	cs_error_t err;

	if (!cd->qdevice_registered || !cd->have_ring)
		return;
	cast = cast_now(cd);
	err = votequorum_qdevice_poll(cd->vq, CD_QDEVICE_NAME, cast, cd->ring_id);
	if (err == CS_ERR_MESSAGE_ERROR)
		cd_log(LOG_DEBUG, "votequorum device poll with an old ring id (%u.%llu)",
		       cd->ring_id.nodeid, (unsigned long long)cd->ring_id.seq);
	else if (err != CS_OK)
		cd_log(LOG_WARNING, "votequorum device poll failed (error %d)", err);
	if (cast != cd->casting)
		cd_log(LOG_NOTICE, "witness vote %s", cast ? "cast: this partition holds the witness" : "no longer cast");
	cd->casting = cast;
}

static void poll_timer(void *data)
{
	struct cd *cd = data;

	poll_device(cd);
	if (cd->qdevice_registered)
		arm(cd, cd->tmo.poll_ms, poll_timer, &cd->poll_timer);
}

void cd_quorum_ring(struct cd *cd, uint32_t nodeid, uint64_t seq)
{
	cd->ring_id.nodeid = nodeid;
	cd->ring_id.seq = seq;
	cd->have_ring = true;
	cd_log(LOG_INFO, "votequorum ring %u.%llu: polling the quorum device", nodeid, (unsigned long long)seq);
	/* at once, from memory only: corosync waits for this answer */
	poll_device(cd);
}

bool cd_quorum_local(struct cd *cd, bool *witness)
{
	*witness = cd->casting && cast_now(cd);
	return cd->connected && cd->quorate && !paused(cd);
}

/* The quorum verdict of this node: corosync agrees, we were not paused, and
 * our own arithmetic over the configured nodes in our membership (with the
 * witness vote when we cast it) says quorate. */
bool cd_quorum_verdict(struct cd *cd, struct quo_result *out)
{
	struct quo_config qc = { cd->quorum_mode == QUO_NODE_AND_DISK_MAJORITY ? QUO_NODE_AND_DISK_MAJORITY
									     : QUO_NODE_MAJORITY, 0 };
	struct quo_result q;
	uint32_t in = 0;
	bool witness;

	/* the same counts the replication applies writes with */
	if (cd->repl)
		cd_repl_config(cd->repl, &qc.nodes, &in);
	quo_calc(&qc, in, cd->casting && cast_now(cd), &q);
	if (out)
		*out = q;
	return cd_quorum_local(cd, &witness) && q.quorate;
}

/* A change of verdict, seen within one tick (100 ms). Losing quorum is
 * where a node stops its resources: at once, by SIGKILL (cd_exec.c). */
static void verdict_tick(struct cd *cd)
{
	bool q = cd->connected && cd_db_has_cluster(cd->db) && cd_quorum_verdict(cd, NULL);

	if (q == cd->had_quorum)
		return;
	cd->had_quorum = q;
	cd->quorum_since_ms = cd_wall_ms();
	if (!q)
		cd->quorum_lost_ms = cd->quorum_since_ms;
	if (q) {
		cd_log(LOG_NOTICE, "quorum: this partition has quorum; resources may run here");
		cd_engine_quorum_gained(cd);
	}
	else {
		cd_log(LOG_WARNING, "quorum: lost; this node stops its resources and refuses configuration changes");
		cd_engine_quorum_lost(cd);
	}
}

/* ---- pause detection ---- */

static void tick(void *data)
{
	struct cd *cd = data;
	uint64_t now = mono_ms();

	if (cd->last_tick_ms && now - cd->last_tick_ms > cd->tmo.stall_ms) {
		cd_log(LOG_WARNING, "clusterd did not run for %" PRIu64 " ms (paused?): distrusting quorum until the membership and the witness confirm it",
		       now - cd->last_tick_ms);
		cd->stalled = true;
		cd->stall_until_ms = now + cd->tmo.stall_ms;
		cd->stall_rounds = 0;
		if (cd->witness) {
			struct wit_snapshot s;

			wit_worker_snapshot(cd->witness, &s);
			cd->stall_rounds = s.rounds + 1;
		}
		poll_device(cd);
	} else if (cd->stalled && now >= cd->stall_until_ms) {
		struct wit_snapshot s = { .rounds = UINT64_MAX };

		if (cd->witness)
			wit_worker_snapshot(cd->witness, &s);
		if (s.rounds > cd->stall_rounds) {
			cd->stalled = false;
			cd_log(LOG_NOTICE, "running normally again after a pause: quorum is trusted again");
			poll_device(cd);
		}
	}
	cd->last_tick_ms = now;
	verdict_tick(cd);
	arm(cd, CD_TICK_MS, tick, &cd->tick_timer);
}

/* ---- the witness copy of the database ---- */

static void copy_timer(void *data)
{
	struct cd *cd = data;
	int64_t epoch = 0, seq = 0;

	cd->copy_timer_armed = false;
	if (cd->witness == NULL)
		return;
	cd_db_version(cd->db, &epoch, &seq);
	wit_worker_set_version(cd->witness, epoch, seq);
	if (cd->casting && (epoch != cd->copy_epoch || seq != cd->copy_seq) && cd->repl && cd_repl_ready(cd->repl)) {
		unsigned char *img;
		size_t len;

		if (cd_db_image(cd->db, &img, &len) == 0) {
			wit_worker_put_copy(cd->witness, img, len, epoch, seq);
			cd_db_image_free(img);
			cd->copy_epoch = epoch;
			cd->copy_seq = seq;
		}
	}
}

void cd_quorum_changed(struct cd *cd)
{
	/* batched: at most one copy per copy_batch_ms */
	if (cd->witness && !cd->copy_timer_armed) {
		cd->copy_timer_armed = true;
		arm(cd, cd->tmo.copy_batch_ms, copy_timer, &cd->copy_timer);
	}
}

/* The worker read a copy newer than our replica: adopt it before casting. */
static void adopt_copy(struct cd *cd)
{
	unsigned char *img = NULL;
	int64_t ce, cs, e = 0, s = 0;
	size_t len;
	char err[256];

	if (wit_worker_take_copy(cd->witness, &img, &len, &ce, &cs) < 0)
		return;
	cd_db_version(cd->db, &e, &s);
	if (ce > e || (ce == e && cs > s)) {
		if (cd_db_replace(cd->db, img, len, err, sizeof(err)) == 0) {
			cd_log(LOG_WARNING, "the witness holds a newer cluster database (epoch %" PRId64 ", sequence %" PRId64
			       ") than this node had (epoch %" PRId64 ", sequence %" PRId64 "): adopted it",
			       ce, cs, e, s);
			wit_worker_set_version(cd->witness, ce, cs);
			if (cd->repl)
				cd_repl_resync(cd->repl);
		} else {
			cd_log(LOG_ERR, "cannot adopt the witness copy of the database: %s", err);
		}
	}
	free(img);
	wit_worker_copy_done(cd->witness);
}

static int witness_event(int fd, int revents, void *data)
{
	struct cd *cd = data;
	struct wit_snapshot s;
	uint64_t v;

	(void)revents;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return 0;
	if (cd->witness == NULL)
		return 0;
	wit_worker_snapshot(cd->witness, &s);
	if (s.copy_pending)
		adopt_copy(cd);
	if (strcmp(s.error, cd->witness_error) != 0) {
		if (s.error[0])
			cd_log(LOG_WARNING, "witness: %s", s.error);
		cm_strlcpy(cd->witness_error, s.error, sizeof(cd->witness_error));
	}
	poll_device(cd);
	if (cd->casting)
		cd_quorum_changed(cd);
	return 0;
}

/* ---- the mode ---- */

static void cmap_device(struct cd *cd, bool on)
{
	if (on) {
		/* two_node and a quorum device exclude each other */
		cmap_delete(cd->cmap, "quorum.two_node");
		cmap_set_uint32(cd->cmap, "quorum.device.votes", 1);
		cmap_set_uint32(cd->cmap, "quorum.device.timeout", cd->tmo.device_timeout_ms);
		cmap_set_uint32(cd->cmap, "quorum.device.sync_timeout", cd->tmo.sync_timeout_ms);
		cmap_set_string(cd->cmap, "quorum.device.model", CD_QDEVICE_NAME);
	} else {
		cmap_delete(cd->cmap, "quorum.device.model");
		cmap_delete(cd->cmap, "quorum.device.votes");
		cmap_delete(cd->cmap, "quorum.device.timeout");
		cmap_delete(cd->cmap, "quorum.device.sync_timeout");
	}
}

static void stop_witness(struct cd *cd)
{
	if (cd->qdevice_registered) {
		if (cd->have_ring)
			votequorum_qdevice_poll(cd->vq, CD_QDEVICE_NAME, 0, cd->ring_id);
		votequorum_qdevice_unregister(cd->vq, CD_QDEVICE_NAME);
		cd->qdevice_registered = false;
		qb_loop_timer_del(cd->loop, cd->poll_timer);
	}
	cd->casting = false;
	if (cd->witness) {
		wit_worker_stop(cd->witness);
		cd->witness = NULL;
	}
	if (cd->witness_fd >= 0) {
		qb_loop_poll_del(cd->loop, cd->witness_fd);
		close(cd->witness_fd);
		cd->witness_fd = -1;
	}
}

void cd_quorum_initiator(struct cd *cd, char *buf, size_t len)
{
	struct cd_db_node *nodes = NULL;
	size_t i, n = 0;
	const char *name = NULL;

	if (cd->conf.initiator_iqn[0]) {
		cm_strlcpy(buf, cd->conf.initiator_iqn, len);
		return;
	}
	cd_db_nodes(cd->db, &nodes, &n);
	for (i = 0; i < n; i++)
		if (nodes[i].id == cd->my_id)
			name = nodes[i].name;
	snprintf(buf, len, "iqn.2026-11.org.clusterd:%s", name ? name : "node");
	free(nodes);
	/* an IQN is lower case; node names may have capitals and '_' */
	for (char *p = buf; *p; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
		else if (*p == '_')
			*p = '-';
	}
}

static int start_witness(struct cd *cd, const char *url)
{
	struct wit_worker_cfg cfg;
	struct cd_db_cluster c;
	char err[256];
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	if (wit_url_parse(url, &cfg.url, err, sizeof(err)) < 0) {
		cd_log(LOG_ERR, "witness: %s", err);
		return -CM_E_URL;
	}
	if (cd_db_cluster_get(cd->db, &c) < 0)
		return -CM_E_NOT_INIT;
	cd_quorum_initiator(cd, cfg.initiator, sizeof(cfg.initiator));
	cm_strlcpy(cfg.cluster_uuid, c.uuid, sizeof(cfg.cluster_uuid));
	cfg.my_id = cd->my_id;
	cfg.t = cd->tmo;
	cd->witness_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cd->witness_fd < 0)
		return -errno;
	cfg.notify_fd = cd->witness_fd;
	qb_loop_poll_add(cd->loop, QB_LOOP_HIGH, cd->witness_fd, POLLIN, cd, witness_event);
	rc = wit_worker_start(&cfg, &cd->witness);
	if (rc < 0)
		return rc;
	cmap_device(cd, true);
	if (votequorum_qdevice_register(cd->vq, CD_QDEVICE_NAME) == CS_OK) {
		cd->qdevice_registered = true;
		arm(cd, cd->tmo.poll_ms, poll_timer, &cd->poll_timer);
	} else {
		cd_log(LOG_ERR, "cannot register the witness as a votequorum device");
	}
	cd_log(LOG_NOTICE, "witness on %s (initiator %s): lease %u ms, preempt after %u ms",
	       url, cfg.initiator, cd->tmo.lease_ms, cd->tmo.preempt_after_ms);
	return 0;
}

void cd_quorum_reconcile(struct cd *cd)
{
	char mode[32] = "", url[512] = "";
	int m;

	if (!cd->connected || !cd_db_has_cluster(cd->db))
		return;
	cd_db_prop_get(cd->db, CM_OBJ_CLUSTER, "", "quorum_mode", mode, sizeof(mode), NULL);
	cd_db_prop_get(cd->db, CM_OBJ_CLUSTER, "", "witness_url", url, sizeof(url), NULL);
	m = quo_mode_from_str(mode);
	if (m < 0)
		m = QUO_NODE_MAJORITY;
	if (m == cd->quorum_mode && strcmp(url, cd->witness_url) == 0 &&
	    (m == QUO_NODE_MAJORITY || cd->witness))
		return;
	cd_log(LOG_NOTICE, "quorum mode %s%s%s", quo_mode_to_str(m), url[0] ? ", witness " : "", url);
	stop_witness(cd);
	cd->quorum_mode = m;
	cm_strlcpy(cd->witness_url, url, sizeof(cd->witness_url));
	if (m == QUO_NODE_AND_DISK_MAJORITY && url[0])
		start_witness(cd, url);
	else
		cmap_device(cd, false);
}

void cd_quorum_start(struct cd *cd)
{
	memset(&cd->tmo, 0, sizeof(cd->tmo));
	cd->tmo.token_ms = cd->token_ms;
	quo_timeouts_derive(&cd->tmo);
	cd->witness_fd = -1;
	cd->quorum_mode = -1;
	cd->last_tick_ms = 0;
	arm(cd, CD_TICK_MS, tick, &cd->tick_timer);
	cd_quorum_reconcile(cd);
}

void cd_quorum_stop(struct cd *cd)
{
	stop_witness(cd);
	qb_loop_timer_del(cd->loop, cd->tick_timer);
}

void cd_quorum_json(struct cd *cd, struct cm_jw *w)
{
	struct quo_config qc = { cd->quorum_mode == QUO_NODE_AND_DISK_MAJORITY ? QUO_NODE_AND_DISK_MAJORITY
									     : QUO_NODE_MAJORITY, 0 };
	struct quo_result q;
	bool quorate = cd_quorum_verdict(cd, &q);

	cm_jw_key(w, "quorum");
	cm_jw_obj_begin(w);
	cm_jw_kv_bool(w, "quorate", quorate);
	cm_jw_kv_int(w, "since_ms", (int64_t)cd->quorum_since_ms);
	cm_jw_kv_int(w, "lost_ms", (int64_t)cd->quorum_lost_ms);
	cm_jw_kv_str(w, "mode", quo_mode_to_str(qc.mode));
	cm_jw_kv_int(w, "votes", q.votes);
	cm_jw_kv_int(w, "expected_votes", q.expected);
	cm_jw_kv_int(w, "quorum", q.needed);
	cm_jw_kv_bool(w, "corosync_quorate", cd->quorate);
	cm_jw_kv_int(w, "corosync_members", cd->votes);
	cm_jw_kv_int(w, "corosync_expected_votes", cd->expected_votes);
	cm_jw_kv_bool(w, "paused_recently", paused(cd));
	if (qc.mode == QUO_NODE_AND_DISK_MAJORITY) {
		struct wit_snapshot s;

		memset(&s, 0, sizeof(s));
		if (cd->witness)
			wit_worker_snapshot(cd->witness, &s);
		cm_jw_key(w, "witness");
		cm_jw_obj_begin(w);
		cm_jw_kv_str(w, "url", cd->witness_url);
		cm_jw_kv_bool(w, "lun_ok", s.lun_ok);
		cm_jw_kv_int(w, "holder", s.arb.holder == UINT32_MAX ? -1 : (int64_t)s.arb.holder);
		{
			struct cd_db_node *nn = NULL;
			size_t k, cnt = 0;
			const char *hn = s.arb.holder == 0 ? "" : s.arb.holder == UINT32_MAX ? "(another cluster)" : "?";

			cd_db_nodes(cd->db, &nn, &cnt);
			for (k = 0; k < cnt; k++)
				if (nn[k].id == s.arb.holder)
					hn = nn[k].name;
			cm_jw_kv_str(w, "holder_name", hn);
			free(nn);
		}
		cm_jw_kv_bool(w, "casting", cd->casting);
		cm_jw_kv_str(w, "state", s.state);
		cm_jw_kv_str(w, "error", s.error);
		cm_jw_kv_int(w, "rounds", (int64_t)s.rounds);
		cm_jw_kv_int(w, "lease_ms", cd->tmo.lease_ms);
		cm_jw_kv_int(w, "preempt_after_ms", cd->tmo.preempt_after_ms);
		cm_jw_obj_end(w);
	}
	cm_jw_obj_end(w);
}

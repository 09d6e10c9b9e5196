/* cd_corosync.c - the corosync adapters: CPG (the agreed stream and membership),
 * votequorum (quorum state) and cmap (the effective token timeout).
 *
 * Callbacks only translate and hand over to cd_repl; sending never blocks:
 * when corosync says TRY_AGAIN the message waits in an ordered queue that a
 * timer flushes. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cm_err.h"
#include "cd_daemon.h"
#include "cd_csv.h"
#include "cd_log.h"

#define CD_CPG_GROUP "clusterd"
#define CD_OUTQ_RETRY_MS 5

uint64_t cd_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct cd *cpg_cd(cpg_handle_t h)
{
	void *ctx = NULL;

	cpg_context_get(h, &ctx);
	return ctx;
}

static void outq_flush(struct cd *cd);

static void outq_timer(void *data)
{
	struct cd *cd = data;

	cd->outq_timer_armed = false;
	outq_flush(cd);
}

static void outq_flush(struct cd *cd)
{
	while (cd->outq) {
		struct cd_outq *o = cd->outq;
		struct iovec iov = { o->buf, o->len };
		cs_error_t err = cpg_mcast_joined(cd->cpg, CPG_TYPE_AGREED, &iov, 1);

		if (err == CS_ERR_TRY_AGAIN) {
			if (!cd->outq_timer_armed) {
				qb_loop_timer_handle t;

				cd->outq_timer_armed = qb_loop_timer_add(cd->loop, QB_LOOP_HIGH,
						CD_OUTQ_RETRY_MS * QB_TIME_NS_IN_MSEC, cd, outq_timer, &t) == 0;
			}
			return;
		}
		if (err != CS_OK)
			cd_log(LOG_ERR, "cannot send to the cluster group (error %d): message dropped", err);
		cd->outq = o->next;
		if (cd->outq == NULL)
			cd->outq_tail = &cd->outq;
		free(o);
	}
}

int cd_cpg_send(struct cd *cd, const void *buf, size_t len)
{
	struct cd_outq *o;

	if (!cd->connected)
		return -CM_E_NOT_READY;
	o = malloc(sizeof(*o) + len);
	if (o == NULL)
		return -ENOMEM;
	o->next = NULL;
	o->len = len;
	memcpy(o->buf, buf, len);
	*cd->outq_tail = o;
	cd->outq_tail = &o->next;
	outq_flush(cd);
	return 0;
}

static void cpg_deliver(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
			uint32_t pid, void *msg, size_t len)
{
	struct cd *cd = cpg_cd(h);

	(void)group;
	(void)pid;
	if (cd && cd->repl)
		cd_repl_deliver(cd->repl, nodeid, msg, len);
}

static void seen_update(struct cd *cd, const uint32_t *members, size_t n)
{
	uint64_t now = cd_wall_ms();
	struct cd_db_node *nodes = NULL;
	size_t i, k, nn = 0;

	/* every configured node and every member gets an entry */
	cd_db_nodes(cd->db, &nodes, &nn);
	for (i = 0; i < nn + n; i++) {
		uint32_t id = i < nn ? nodes[i].id : members[i - nn];
		struct cd_seen *s = NULL, *v;
		bool member = false;

		for (k = 0; k < n; k++)
			member |= members[k] == id;
		for (k = 0; k < cd->nseen; k++)
			if (cd->seen[k].id == id)
				s = &cd->seen[k];
		if (s == NULL) {
			v = realloc(cd->seen, (cd->nseen + 1) * sizeof(*v));
			if (v == NULL)
				break;
			cd->seen = v;
			s = &cd->seen[cd->nseen++];
			s->id = id;
			s->member = !member; /* force a change below */
		}
		if (s->member != member) {
			s->member = member;
			s->since_ms = now;
			if (id != cd->my_id)
				cd_log(member ? LOG_NOTICE : LOG_WARNING, "node %" PRIu32 " is %s",
				       id, member ? "up" : "down");
		}
	}
	free(nodes);
}

static void read_token(struct cd *cd)
{
	uint32_t v;

	if (cmap_get_uint32(cd->cmap, "runtime.config.totem.token", &v) == CS_OK)
		cd->token_ms = v;
	if (cmap_get_uint32(cd->cmap, "totem.token_coefficient", &v) == CS_OK)
		cd->token_coefficient_ms = v;
	else
		cd->token_coefficient_ms = 650;
}

static void token_changed(cmap_handle_t h, cmap_track_handle_t th, int32_t event, const char *key,
			  struct cmap_notify_value new_val, struct cmap_notify_value old_val, void *data)
{
	struct cd *cd = data;

	(void)h;
	(void)th;
	(void)event;
	(void)key;
	(void)old_val;
	if (new_val.type == CMAP_VALUETYPE_UINT32 && new_val.len == sizeof(uint32_t)) {
		memcpy(&cd->token_ms, new_val.data, sizeof(uint32_t));
		cd->tmo.token_ms = cd->token_ms;
		quo_timeouts_derive(&cd->tmo);
	}
}

static int cmap_dispatch_cb(int fd, int revents, void *data)
{
	struct cd *cd = data;

	(void)fd;
	(void)revents;
	cmap_dispatch(cd->cmap, CS_DISPATCH_ALL);
	return 0;
}

static void cpg_confchg(cpg_handle_t h, const struct cpg_name *group,
			const struct cpg_address *members, size_t nm,
			const struct cpg_address *left, size_t nl,
			const struct cpg_address *joined, size_t nj)
{
	struct cd *cd = cpg_cd(h);
	uint32_t *m = calloc(nm + nl + nj + 1, sizeof(*m));
	uint32_t *l = m + nm, *j = m + nm + nl;
	size_t i;

	(void)group;
	if (cd == NULL || m == NULL) {
		free(m);
		return;
	}
	for (i = 0; i < nm; i++)
		m[i] = members[i].nodeid;
	for (i = 0; i < nl; i++)
		l[i] = left[i].nodeid;
	for (i = 0; i < nj; i++)
		j[i] = joined[i].nodeid;
	/* no synchronous corosync call here: during a sync corosync answers
	 * cmap only once its services (votequorum: our device poll!) are done */
	seen_update(cd, m, nm);
	cd_log(LOG_INFO, "group membership: %zu member(s), %zu joined, %zu left", nm, nj, nl);
	cd_repl_confchg(cd->repl, m, nm, j, nj, l, nl);
	free(m);
}

static cpg_model_v1_data_t cpg_model = {
	.model = CPG_MODEL_V1,
	.cpg_deliver_fn = cpg_deliver,
	.cpg_confchg_fn = cpg_confchg,
	.cpg_totem_confchg_fn = NULL,
	.flags = 0,
};

static int cpg_dispatch_cb(int fd, int revents, void *data)
{
	struct cd *cd = data;

	(void)fd;
	if ((revents & (POLLERR | POLLHUP)) || cpg_dispatch(cd->cpg, CS_DISPATCH_ALL) != CS_OK) {
		char path[PATH_MAX + 64];

		cd_log(LOG_CRIT, "lost the connection to corosync: stopping");
		cd_log_blackbox_dump(cd->conf.state_dir, path, sizeof(path));
		cd->exit_code = 1;
		qb_loop_stop(cd->loop);
		return -1;
	}
	return 0;
}

void cd_vq_refresh(struct cd *cd)
{
	struct votequorum_info info;

	if (votequorum_getinfo(cd->vq, cd->my_id, &info) == CS_OK) {
		cd->votes = info.total_votes;
		cd->expected_votes = info.highest_expected;
		cd->quorum_votes = info.quorum;
		cd->quorate = (info.flags & VOTEQUORUM_INFO_QUORATE) != 0;
	}
}

static void vq_notify(votequorum_handle_t h, uint64_t context, uint32_t quorate,
		      uint32_t n, votequorum_node_t *nodes)
{
	struct cd *cd = (struct cd *)(uintptr_t)context;
	bool was = cd->quorate;
	uint32_t i, votes = 0;

	(void)h;
	/* counts from the notification: a votequorum_getinfo() here would wait
	 * for a sync that waits for us */
	for (i = 0; i < n; i++)
		votes += nodes[i].state == VOTEQUORUM_NODESTATE_MEMBER;
	cd->quorate = quorate != 0;
	cd->votes = votes;
	if (was != cd->quorate)
		cd_log(cd->quorate ? LOG_NOTICE : LOG_WARNING, "corosync: quorum %s (%" PRIu32 " member(s) voting)",
		       cd->quorate ? "gained" : "lost", votes);
}

static void vq_expected(votequorum_handle_t h, uint64_t context, uint32_t expected)
{
	(void)h;
	((struct cd *)(uintptr_t)context)->expected_votes = expected;
}

static void vq_nodelist(votequorum_handle_t h, uint64_t context, votequorum_ring_id_t ring_id,
			uint32_t n, uint32_t nodes[])
{
	(void)h;
	(void)n;
	(void)nodes;
	cd_quorum_ring((struct cd *)(uintptr_t)context, ring_id.nodeid, ring_id.seq);
}

static int vq_dispatch_cb(int fd, int revents, void *data)
{
	struct cd *cd = data;

	(void)fd;
	if ((revents & (POLLERR | POLLHUP)) || votequorum_dispatch(cd->vq, CS_DISPATCH_ALL) != CS_OK) {
		cd_log(LOG_CRIT, "lost the connection to corosync's votequorum: stopping");
		cd->exit_code = 1;
		qb_loop_stop(cd->loop);
		return -1;
	}
	return 0;
}

static votequorum_callbacks_t vq_callbacks = {
	.votequorum_quorum_notify_fn = NULL,
	.votequorum_expectedvotes_notify_fn = NULL,
	.votequorum_nodelist_notify_fn = NULL,
};

int cd_corosync_connect(struct cd *cd)
{
	struct cpg_name group;
	int fd;
	cs_error_t err;

	vq_callbacks.votequorum_quorum_notify_fn = vq_notify;
	vq_callbacks.votequorum_nodelist_notify_fn = vq_nodelist;
	vq_callbacks.votequorum_expectedvotes_notify_fn = vq_expected;
	err = cpg_model_initialize(&cd->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&cpg_model, cd);
	if (err != CS_OK)
		return -CM_E_NOT_READY;
	if (cpg_local_get(cd->cpg, &cd->my_id) != CS_OK)
		goto fail_cpg;
	if (cmap_initialize(&cd->cmap) != CS_OK)
		goto fail_cpg;
	if (votequorum_initialize(&cd->vq, &vq_callbacks) != CS_OK)
		goto fail_cmap;
	votequorum_context_set(cd->vq, cd);
	if (votequorum_trackstart(cd->vq, (uint64_t)(uintptr_t)cd, CS_TRACK_CHANGES | CS_TRACK_CURRENT) != CS_OK)
		goto fail_vq;
	read_token(cd);
	cd_vq_refresh(cd);
	{
		cmap_track_handle_t th;

		cmap_track_add(cd->cmap, "runtime.config.totem.token", CMAP_TRACK_ADD | CMAP_TRACK_MODIFY,
			       token_changed, cd, &th);
	}

	cd->repl = cd_repl_new(cd->db, cd->my_id, &cd_repl_cpg_ops, cd);
	if (cd->repl == NULL)
		goto fail_vq;
	cd->connected = true;
	cd->outq_tail = &cd->outq;

	votequorum_fd_get(cd->vq, &fd);
	qb_loop_poll_add(cd->loop, QB_LOOP_HIGH, fd, POLLIN, cd, vq_dispatch_cb);
	cmap_fd_get(cd->cmap, &fd);
	qb_loop_poll_add(cd->loop, QB_LOOP_MED, fd, POLLIN, cd, cmap_dispatch_cb);
	cpg_fd_get(cd->cpg, &fd);
	qb_loop_poll_add(cd->loop, QB_LOOP_HIGH, fd, POLLIN, cd, cpg_dispatch_cb);

	memset(&group, 0, sizeof(group));
	strcpy(group.value, CD_CPG_GROUP);
	group.length = (uint32_t)strlen(CD_CPG_GROUP);
	do {
		err = cpg_join(cd->cpg, &group);
	} while (err == CS_ERR_TRY_AGAIN);
	if (err != CS_OK) {
		cd_log(LOG_ERR, "cannot join the corosync group '%s' (error %d)", CD_CPG_GROUP, err);
		return -CM_E_NOT_READY;
	}
	cd_log(LOG_NOTICE, "connected to corosync as node %" PRIu32 " (token %" PRIu32 " ms)",
	       cd->my_id, cd->token_ms);
	cd_quorum_start(cd);
	return 0;

fail_vq:
	votequorum_finalize(cd->vq);
fail_cmap:
	cmap_finalize(cd->cmap);
fail_cpg:
	cpg_finalize(cd->cpg);
	return -CM_E_NOT_READY;
}

void cd_corosync_disconnect(struct cd *cd)
{
	struct cd_outq *o, *n;
	int fd;

	if (!cd->connected)
		return;
	cd_quorum_stop(cd);
	if (cpg_fd_get(cd->cpg, &fd) == CS_OK)
		qb_loop_poll_del(cd->loop, fd);
	if (votequorum_fd_get(cd->vq, &fd) == CS_OK)
		qb_loop_poll_del(cd->loop, fd);
	if (cmap_fd_get(cd->cmap, &fd) == CS_OK)
		qb_loop_poll_del(cd->loop, fd);
	outq_flush(cd);
	for (o = cd->outq; o; o = n) {
		n = o->next;
		free(o);
	}
	cd->outq = NULL;
	cpg_finalize(cd->cpg);
	votequorum_finalize(cd->vq);
	cmap_finalize(cd->cmap);
	cd->connected = false;
}

/* ---- cd_repl's transport ---- */
/* Note: nothing below may call corosync synchronously (cmap_get,
 * votequorum_getinfo): these run inside delivery callbacks. */

static int ops_send(void *ctx, const void *buf, size_t len)
{
	return cd_cpg_send(ctx, buf, len);
}

static void ops_applied(void *ctx, uint64_t id, int rc, const char *err)
{
	cd_ipc_write_done(ctx, id, rc, err);
}

static void ops_state(void *ctx, bool ready)
{
	cd_log(ready ? LOG_NOTICE : LOG_INFO, ready ? "cluster database ready" : "cluster database synchronising");
	if (ready)
		cd_engine_ready(ctx);
}

static bool ops_quorate(void *ctx, bool *witness)
{
	return cd_quorum_local((struct cd *)ctx, witness);
}

static uint64_t ops_wall(void *ctx)
{
	(void)ctx;
	return cd_wall_ms();
}

static void ops_log(void *ctx, int prio, const char *text)
{
	(void)ctx;
	cd_log(prio, "%s", text);
}

static void ops_db_changed(void *ctx)
{
	struct cd *cd = ctx;

	cd_quorum_reconcile(cd);
	cd_quorum_changed(cd);
	cd_engine_db_changed(cd);
	cd_csv_changed(cd);
}

const struct cd_repl_ops cd_repl_cpg_ops = {
	ops_send, ops_applied, ops_state, ops_quorate, ops_wall, ops_log, ops_db_changed,
};

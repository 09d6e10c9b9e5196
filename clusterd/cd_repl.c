/* cd_repl.c - the replicated state machine over the agreed stream.
 *
 * Invariant that makes replicas identical: a member's SYNCING/READY state is
 * a function of the stream (confchg and delivered messages), so every member
 * of a view treats each delivered message the same way. Never consult local
 * state (clock, quorum) when applying; only when originating a message.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cd_repl.h"
#include "cd_sync.h"
#include "quo_calc.h"

struct pending {
	uint64_t id;
	bool resend;          /* dropped by a synchronising view: send again */
	struct cm_sb buf;     /* encoded message */
	struct pending *next;
};

struct cd_repl {
	struct cd_db *db;
	uint32_t my_id;
	const struct cd_repl_ops *ops;
	void *ctx;

	bool have_view;
	bool ready;
	uint64_t view;                 /* hash of the sorted member ids */
	uint32_t *members;
	size_t nmembers;
	struct cd_sync_peer *peers;    /* one per member, same order */
	int src;                       /* chosen source, -1 until all announced */
	struct cd_chunks chunks;
	uint64_t syncs;
	uint32_t config_nodes;         /* nodes in the replicated configuration */
	uint32_t config_members;       /* of them, members of this view */

	/* membership changes not yet written to the event log */
	uint32_t *joined, *left;
	size_t njoined, nleft;

	uint64_t next_id;
	struct pending *pending;
};

static void rlog(struct cd_repl *r, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void rlog(struct cd_repl *r, int prio, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (r->ops->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->ops->log(r->ctx, prio, buf);
}

struct cd_repl *cd_repl_new(struct cd_db *db, uint32_t my_id,
			    const struct cd_repl_ops *ops, void *ctx)
{
	struct cd_repl *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->db = db;
	r->my_id = my_id;
	r->ops = ops;
	r->ctx = ctx;
	r->src = -1;
	r->next_id = 1;
	cd_chunks_init(&r->chunks);
	return r;
}

static void pending_free(struct pending *p)
{
	cm_sb_free(&p->buf);
	free(p);
}

void cd_repl_free(struct cd_repl *r)
{
	struct pending *p, *n;

	if (r == NULL)
		return;
	for (p = r->pending; p; p = n) {
		n = p->next;
		pending_free(p);
	}
	cd_chunks_reset(&r->chunks);
	free(r->members);
	free(r->peers);
	free(r->joined);
	free(r->left);
	free(r);
}

static int send_msg(struct cd_repl *r, struct cm_msg *m)
{
	struct cm_sb sb;
	int rc;

	m->sender = r->my_id;
	m->time_ms = r->ops->wall_ms(r->ctx);
	cm_sb_init(&sb);
	rc = cm_msg_encode(m, &sb);
	if (rc == 0)
		rc = r->ops->send(r->ctx, sb.buf, sb.len);
	cm_sb_free(&sb);
	return rc;
}

static void announce(struct cd_repl *r)
{
	struct cm_msg m;
	int64_t epoch = 0, seq = 0;

	cd_db_version(r->db, &epoch, &seq);
	cm_msg_init(&m, CM_MSG_SYNC_STATE);
	cm_msg_add_int(&m, (int64_t)r->view);
	cm_msg_add_int(&m, epoch);
	cm_msg_add_int(&m, seq);
	cm_msg_add_int(&m, (int64_t)cd_db_hash(r->db));
	cm_msg_add_int(&m, cd_db_has_cluster(r->db));
	if (send_msg(r, &m) < 0)
		rlog(r, LOG_ERR, "cannot announce the replica state to the group");
}

static void add_ids(uint32_t **set, size_t *n, const uint32_t *ids, size_t k)
{
	uint32_t *v;

	if (k == 0)
		return; /* realloc(p, 0) would free p */
	v = realloc(*set, (*n + k) * sizeof(**set));
	if (v == NULL)
		return;
	memcpy(v + *n, ids, k * sizeof(*ids));
	*set = v;
	*n = cd_sync_sort_ids(v, *n + k);
}

static bool id_in(const uint32_t *set, size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == id)
			return true;
	return false;
}

void cd_repl_confchg(struct cd_repl *r, const uint32_t *members, size_t n,
		     const uint32_t *joined, size_t nj, const uint32_t *left, size_t nl)
{
	uint32_t *m = malloc((n ? n : 1) * sizeof(*m));
	struct cd_sync_peer *peers = calloc(n ? n : 1, sizeof(*peers));
	bool was_ready = r->ready;
	size_t i;

	if (m == NULL || peers == NULL) {
		free(m);
		free(peers);
		rlog(r, LOG_CRIT, "out of memory on a membership change");
		return;
	}
	memcpy(m, members, n * sizeof(*m));
	n = cd_sync_sort_ids(m, n);
	free(r->members);
	free(r->peers);
	r->members = m;
	r->nmembers = n;
	r->peers = peers;
	for (i = 0; i < n; i++)
		peers[i].id = m[i];
	r->view = cd_sync_view_hash(m, n);
	r->have_view = true;
	r->ready = false;
	r->src = -1;
	cd_chunks_reset(&r->chunks);
	/* A node that left and came back within one sync round is both. */
	add_ids(&r->joined, &r->njoined, joined, nj);
	add_ids(&r->left, &r->nleft, left, nl);
	rlog(r, LOG_INFO, "view of %zu member(s): synchronising replicas", n);
	if (was_ready && r->ops->state_changed)
		r->ops->state_changed(r->ctx, false);
	announce(r);
}

static struct cd_sync_peer *peer_of(struct cd_repl *r, uint32_t id)
{
	size_t i;

	for (i = 0; i < r->nmembers; i++)
		if (r->peers[i].id == id)
			return &r->peers[i];
	return NULL;
}

static void node_name(struct cd_repl *r, uint32_t id, char *buf, size_t len)
{
	struct cd_db_node *nodes = NULL;
	size_t i, n = 0;

	snprintf(buf, len, "node%" PRIu32, id);
	if (cd_db_nodes(r->db, &nodes, &n) < 0)
		return;
	for (i = 0; i < n; i++)
		if (nodes[i].id == id)
			snprintf(buf, len, "%s", nodes[i].name);
	free(nodes);
}

/* The source writes the membership changes of this round to the event log. */
static void log_membership(struct cd_repl *r)
{
	char name[CM_NAME_MAX + 16], text[256];
	struct cm_msg m;
	size_t i;

	for (i = 0; i < r->nleft + r->njoined; i++) {
		bool left = i < r->nleft;
		uint32_t id = left ? r->left[i] : r->joined[i - r->nleft];

		node_name(r, id, name, sizeof(name));
		snprintf(text, sizeof(text), "node '%s' %s the cluster", name,
			 left ? "left" : "joined");
		cm_msg_init(&m, CM_MSG_WRITE);
		cm_msg_add_int(&m, CM_OP_EVENT);
		cm_msg_add_str(&m, left ? "warning" : "notice");
		cm_msg_add_str(&m, "membership");
		cm_msg_add_str(&m, name);
		cm_msg_add_str(&m, text);
		m.id = 0; /* nobody waits for it */
		send_msg(r, &m);
	}
}

/* Count the configured nodes and those of them in this view. Every member
 * computes the same numbers from the same replica and view, unlike corosync's
 * quorum callbacks whose timing relative to the membership change varies.
 * Recomputed at the end of every synchronisation (the nodes table only
 * changes through the replica). */
static void count_config(struct cd_repl *r)
{
	struct cd_db_node *nodes = NULL;
	size_t i, n = 0;

	r->config_nodes = r->config_members = 0;
	if (cd_db_nodes(r->db, &nodes, &n) < 0) {
		free(nodes);
		return;
	}
	r->config_nodes = (uint32_t)n;
	for (i = 0; i < n; i++)
		r->config_members += id_in(r->members, r->nmembers, nodes[i].id);
	free(nodes);
}

/* Quorum of the view by the replicated quorum mode. `witness` is the
 * origin's attestation, carried in the message, that its partition held a
 * fresh witness lease: deterministic for every member that applies it. */
static bool view_quorate(struct cd_repl *r, bool witness)
{
	struct quo_config c = { QUO_NODE_MAJORITY, r->config_nodes };
	struct quo_result q;
	char mode[32];

	if (cd_db_prop_get(r->db, CM_OBJ_CLUSTER, "", "quorum_mode", mode, sizeof(mode), NULL) == 0 &&
	    quo_mode_from_str(mode) == QUO_NODE_AND_DISK_MAJORITY)
		c.mode = QUO_NODE_AND_DISK_MAJORITY;
	quo_calc(&c, r->config_members, witness, &q);
	return q.quorate;
}

/* Our local verdict, with whether the witness vote is part of it. */
static bool local_quorate(struct cd_repl *r, bool *witness)
{
	*witness = false;
	return r->ops->quorate(r->ctx, witness);
}

/* Rewrite the flags field (offset 12) of an encoded message. */
static void set_flags(struct cm_sb *buf, uint32_t flags)
{
	int i;

	for (i = 0; i < 4 && buf->len >= 16; i++)
		buf->buf[12 + i] = (char)(flags >> (8 * i));
}

static void resend_pending(struct cd_repl *r)
{
	struct pending *p;

	for (p = r->pending; p; p = p->next) {
		bool witness;

		if (!p->resend)
			continue;
		p->resend = false;
		/* the attestation is about now, not about when it was queued */
		local_quorate(r, &witness);
		set_flags(&p->buf, witness ? CM_WRITE_F_WITNESS : 0);
		if (r->ops->send(r->ctx, p->buf.buf, p->buf.len) < 0)
			p->resend = true;
	}
}

static void sync_complete(struct cd_repl *r)
{
	const struct cd_sync_peer *s = &r->peers[r->src];
	int64_t epoch = 0, seq = 0;
	bool quorate = false;

	r->ready = true;
	r->syncs++;
	cd_chunks_reset(&r->chunks);
	count_config(r);
	cd_db_version(r->db, &epoch, &seq);
	rlog(r, LOG_NOTICE, "replicas synchronised: epoch %" PRId64 ", sequence %" PRId64
	     ", source node %" PRIu32 ", %zu member(s)", epoch, seq, s->id, r->nmembers);
	/* Only a view that is quorate by both counts starts an epoch and writes
	 * history; a minority never advances its replica. */
	if (s->id == r->my_id && cd_db_has_cluster(r->db)) {
		bool witness;

		quorate = local_quorate(r, &witness) && view_quorate(r, witness);
		if (quorate) {
			struct cm_msg m;

			cm_msg_init(&m, CM_MSG_EPOCH);
			cm_msg_add_int(&m, (int64_t)r->view);
			cm_msg_add_int(&m, epoch + 1);
			send_msg(r, &m);
			log_membership(r);
		}
	}
	/* a minority view logs nothing: keep its changes for the first view
	 * that holds quorum */
	if (view_quorate(r, true)) {
		free(r->joined);
		free(r->left);
		r->joined = r->left = NULL;
		r->njoined = r->nleft = 0;
	}
	if (r->ops->state_changed)
		r->ops->state_changed(r->ctx, true);
	if (r->ops->db_changed)
		r->ops->db_changed(r->ctx);
	resend_pending(r);
}

static void send_image(struct cd_repl *r)
{
	const struct cd_sync_peer *s = &r->peers[r->src];
	unsigned char *img = NULL;
	uint32_t count, i;
	size_t len = 0;

	if (cd_db_image(r->db, &img, &len) < 0) {
		rlog(r, LOG_ERR, "cannot read the database image for a transfer");
		return;
	}
	count = (uint32_t)((len + CD_REPL_CHUNK - 1) / CD_REPL_CHUNK);
	rlog(r, LOG_NOTICE, "sending the newest replica (%zu bytes, %" PRIu32 " chunk(s))", len, count);
	for (i = 0; i < count; i++) {
		size_t off = (size_t)i * CD_REPL_CHUNK;
		size_t n = len - off < CD_REPL_CHUNK ? len - off : CD_REPL_CHUNK;
		struct cm_msg m;

		cm_msg_init(&m, CM_MSG_SYNC_DATA);
		cm_msg_add_int(&m, (int64_t)r->view);
		cm_msg_add_int(&m, s->epoch);
		cm_msg_add_int(&m, s->seq);
		cm_msg_add_int(&m, (int64_t)s->hash);
		cm_msg_add_int(&m, i);
		cm_msg_add_int(&m, count);
		cm_msg_add_blob(&m, img + off, (uint32_t)n);
		if (send_msg(r, &m) < 0) {
			rlog(r, LOG_ERR, "cannot send chunk %" PRIu32 " of the replica", i);
			break;
		}
	}
	cd_db_image_free(img);
}

static void on_sync_state(struct cd_repl *r, const struct cm_msg *m)
{
	struct cd_sync_peer *p = peer_of(r, m->sender);
	size_t i;

	if (r->ready || p == NULL || m->nints < 5 || (uint64_t)m->ints[0] != r->view)
		return; /* from another view: stale */
	p->epoch = m->ints[1];
	p->seq = m->ints[2];
	p->hash = (uint64_t)m->ints[3];
	p->has_cluster = m->ints[4] != 0;
	p->announced = true;
	for (i = 0; i < r->nmembers; i++)
		if (!r->peers[i].announced)
			return;
	r->src = cd_sync_pick(r->peers, r->nmembers);
	if (!cd_sync_needs_transfer(r->peers, r->nmembers, (size_t)r->src)) {
		sync_complete(r);
		return;
	}
	rlog(r, LOG_INFO, "replica of node %" PRIu32 " is the newest (epoch %" PRId64 ", sequence %" PRId64 ")",
	     r->peers[r->src].id, r->peers[r->src].epoch, r->peers[r->src].seq);
	if (r->peers[r->src].id == r->my_id)
		send_image(r);
}

static void on_sync_data(struct cd_repl *r, const struct cm_msg *m)
{
	const struct cd_sync_peer *s;
	int64_t epoch = 0, seq = 0;
	char err[256];
	int rc;

	if (r->ready || r->src < 0 || m->nints < 6 || m->nstrs < 1)
		return;
	s = &r->peers[r->src];
	if (m->sender != s->id || (uint64_t)m->ints[0] != r->view || m->ints[1] != s->epoch ||
	    m->ints[2] != s->seq || (uint64_t)m->ints[3] != s->hash)
		return; /* an older round's chunk */
	rc = cd_chunks_add(&r->chunks, (uint32_t)m->ints[4], (uint32_t)m->ints[5],
			   m->strs[0].p, m->strs[0].len);
	if (rc <= 0)
		return;
	cd_db_version(r->db, &epoch, &seq);
	if (s->id != r->my_id && (epoch != s->epoch || seq != s->seq || cd_db_hash(r->db) != s->hash)) {
		rc = cd_db_replace(r->db, r->chunks.data.buf, r->chunks.data.len, err, sizeof(err));
		if (rc < 0)
			rlog(r, LOG_CRIT, "cannot take the newest replica: %s", err);
		else if (cd_db_hash(r->db) != s->hash)
			rlog(r, LOG_CRIT, "the transferred replica does not match its announced hash");
		else
			rlog(r, LOG_NOTICE, "took the replica of node %" PRIu32 " (epoch %" PRId64
			     ", sequence %" PRId64 ")", s->id, s->epoch, s->seq);
	}
	sync_complete(r);
}

static void on_resync(struct cd_repl *r, const struct cm_msg *m)
{
	if (!r->ready || m->nints < 1 || (uint64_t)m->ints[0] != r->view)
		return;
	/* the same view synchronises again: a replica changed outside the stream */
	r->ready = false;
	r->src = -1;
	memset(r->peers, 0, r->nmembers * sizeof(*r->peers));
	for (size_t i = 0; i < r->nmembers; i++)
		r->peers[i].id = r->members[i];
	cd_chunks_reset(&r->chunks);
	rlog(r, LOG_NOTICE, "synchronising the replicas again at the request of node %" PRIu32, m->sender);
	if (r->ops->state_changed)
		r->ops->state_changed(r->ctx, false);
	announce(r);
}

int cd_repl_resync(struct cd_repl *r)
{
	struct cm_msg m;

	if (!r->have_view)
		return -CM_E_NOT_READY;
	cm_msg_init(&m, CM_MSG_RESYNC);
	cm_msg_add_int(&m, (int64_t)r->view);
	return send_msg(r, &m);
}

static void on_epoch(struct cd_repl *r, const struct cm_msg *m)
{
	int64_t epoch = 0, seq = 0;

	if (!r->ready || m->nints < 2 || (uint64_t)m->ints[0] != r->view)
		return;
	cd_db_version(r->db, &epoch, &seq);
	if (m->ints[1] != epoch + 1)
		return;
	if (cd_db_set_epoch(r->db, m->ints[1]) < 0) {
		rlog(r, LOG_CRIT, "cannot store epoch %" PRId64, m->ints[1]);
		return;
	}
	rlog(r, LOG_INFO, "epoch %" PRId64 " begins", m->ints[1]);
	if (r->ops->db_changed)
		r->ops->db_changed(r->ctx);
}

static struct pending **pending_find(struct cd_repl *r, uint64_t id)
{
	struct pending **pp;

	for (pp = &r->pending; *pp; pp = &(*pp)->next)
		if ((*pp)->id == id)
			return pp;
	return NULL;
}

static void on_write(struct cd_repl *r, const struct cm_msg *m)
{
	struct pending **pp = m->sender == r->my_id && m->id ? pending_find(r, m->id) : NULL;
	char err[512], name[CM_NAME_MAX + 16];
	struct pending *p;
	int rc;

	if (!r->ready) {
		/* every member of this view drops it; its origin sends it again */
		if (pp)
			(*pp)->resend = true;
		return;
	}
	if (!view_quorate(r, (m->flags & CM_WRITE_F_WITNESS) != 0)) {
		/* deterministic in the view: every member refuses it alike */
		rc = -CM_E_NO_QUORUM;
		snprintf(err, sizeof(err), "cannot change the configuration: this partition has no quorum");
	} else {
		size_t nm;
		const uint32_t *mem = cd_repl_members(r, &nm);

		node_name(r, m->sender, name, sizeof(name));
		/* the policy step of this write sees the view it is delivered in */
		rc = cd_db_set_view(r->db, mem, nm);
		if (rc == 0)
			rc = cd_db_apply(r->db, m, name, err, sizeof(err));
	}
	if (rc == 0 && r->ops->db_changed)
		r->ops->db_changed(r->ctx);
	if (rc < 0 && rc != -CM_E_NOT_INIT && rc != -CM_E_NO_QUORUM)
		rlog(r, LOG_INFO, "write from node %" PRIu32 " refused: %s", m->sender, err);
	if (pp) {
		p = *pp;
		*pp = p->next;
		if (r->ops->applied)
			r->ops->applied(r->ctx, p->id, rc, err);
		pending_free(p);
	}
}

void cd_repl_deliver(struct cd_repl *r, uint32_t sender, const void *buf, size_t len)
{
	struct cm_msg m;
	int rc = cm_msg_decode(buf, len, &m);

	if (rc < 0) {
		rlog(r, LOG_WARNING, "dropped a malformed message from node %" PRIu32 " (%s)",
		     sender, cm_strerror(rc));
		return;
	}
	if (m.sender != sender) {
		rlog(r, LOG_WARNING, "dropped a message from node %" PRIu32 " claiming to be from node %" PRIu32,
		     sender, m.sender);
		return;
	}
	if (!r->have_view || !id_in(r->members, r->nmembers, sender))
		return;
	switch (m.type) {
	case CM_MSG_SYNC_STATE: on_sync_state(r, &m); break;
	case CM_MSG_SYNC_DATA: on_sync_data(r, &m); break;
	case CM_MSG_EPOCH: on_epoch(r, &m); break;
	case CM_MSG_RESYNC: on_resync(r, &m); break;
	case CM_MSG_WRITE: on_write(r, &m); break;
	default:
		rlog(r, LOG_WARNING, "dropped a message of unknown type %u from node %" PRIu32,
		     m.type, sender);
	}
}

int cd_repl_write(struct cd_repl *r, struct cm_msg *w, uint64_t *id)
{
	struct pending *p, **tail;
	int rc;

	if (!r->have_view)
		return -CM_E_NOT_READY;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	{
		bool witness;

		local_quorate(r, &witness);
		w->flags = witness ? CM_WRITE_F_WITNESS : 0;
	}
	w->id = r->next_id++;
	w->sender = r->my_id;
	w->time_ms = r->ops->wall_ms(r->ctx);
	cm_sb_init(&p->buf);
	rc = cm_msg_encode(w, &p->buf);
	if (rc < 0) {
		pending_free(p);
		return rc;
	}
	p->id = w->id;
	/* While synchronising it would be dropped: queue it for the ready view. */
	p->resend = !r->ready;
	if (r->ready && r->ops->send(r->ctx, p->buf.buf, p->buf.len) < 0)
		p->resend = true;
	/* keep submission order: resends go out oldest first */
	for (tail = &r->pending; *tail; tail = &(*tail)->next)
		;
	*tail = p;
	*id = p->id;
	return 0;
}


void cd_repl_config(const struct cd_repl *r, uint32_t *nodes, uint32_t *members)
{
	*nodes = r->config_nodes;
	*members = r->config_members;
}

bool cd_repl_ready(const struct cd_repl *r)
{
	return r->ready;
}

enum cd_member_state cd_repl_member(const struct cd_repl *r, uint32_t id)
{
	if (!id_in(r->members, r->nmembers, id))
		return CD_MEMBER_NONE;
	if (!r->ready && id_in(r->joined, r->njoined, id))
		return CD_MEMBER_JOINING;
	if (!r->ready && id == r->my_id && r->syncs == 0)
		return CD_MEMBER_JOINING;
	return CD_MEMBER_UP;
}

const uint32_t *cd_repl_members(const struct cd_repl *r, size_t *n)
{
	*n = r->nmembers;
	return r->members;
}

uint64_t cd_repl_syncs(const struct cd_repl *r)
{
	return r->syncs;
}

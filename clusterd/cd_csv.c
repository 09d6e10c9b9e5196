/* cd_csv.c - cluster shared volumes on this node: the coordinator role,
 * the volume requests' answers, the volume locks a VM takes before it
 * starts, and `csv create` (formatting a LUN).
 *
 * The coordinator of a CSV is the node its csv resource is online on. That
 * node runs a csv_worker (csv/csv_worker.c, a thread holding the LUN open):
 * when it becomes coordinator it reads the LUN's volume table and publishes
 * it if the replica's mirror differs (a coordinator that died after writing
 * the LUN but before its answer was applied); then it executes the pending
 * volume requests one at a time, in the order they were applied, each an
 * APPLY on the LUN answered by CM_OP_CSV_VOL_DONE with the new table. A new
 * coordinator redoes a request the old one may already have written: a
 * volume created with the request's own timestamp is recognised as done.
 *
 * A VM's CSV volumes are locked before its ONLINE runs: the engine asks
 * cd_csv_gate(), which sends CM_OP_CSV_LOCK and holds the action; the lock
 * is granted in the replicated order (cd_db_csv.c) and the action then
 * runs, or a refusal becomes the action's failure, naming the holder.
 *
 * Never here: SCSI I/O on the main loop (the worker and cd_job threads do it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <limits.h>
#include <syslog.h>
#include <unistd.h>

#include "cd_csv.h"
#include "cd_log.h"
#include "cd_vm.h"
#include "cm_err.h"
#include "cm_proto.h"
#include "csv_io.h"
#include "csv_worker.h"

#define CSV_IO_TIMEOUT_S 10
#define CSV_LOAD_RETRY_MS 5000
#define CSV_WAIT_MS (120 * 1000)
#define PATH_CHECK_MS 2000           /* every node checks its path to every CSV */
#define PATH_TIMEOUT_S 3
#define PATH_FAILS 2                 /* consecutive failures before the path counts as lost */
/* A VM with I/O in flight on a lost path cannot finish a live migration
 * (QEMU drains its disks at the switchover): give it this long. */
#define PATH_MIG_GRACE_MS 15000

/* A csv_worker and the eventfd it notifies; first member of what owns it,
 * which wk_drop frees. */
struct wk {
	struct csv_worker *w;
	int efd;
};

struct coord {
	struct wk wk;                /* first: see wk_drop */
	char name[CD_CSV_NAME_MAX + 1];
	char url[600];
	char uuid[40];               /* this cluster's */
	struct cd *cd;
	bool loaded;                 /* the table was read and published */
	uint64_t apply_after_ms;     /* no APPLY before (wall clock): see coord_add */
	uint64_t load_id;            /* the LOAD under way, or 0 */
	uint64_t io_id;              /* the APPLY under way, or 0 */
	struct cd_db_csv_req req;    /* ... and its request */
	uint64_t retry_ms;           /* no LOAD before this (wall clock) */
};

struct vwait {                       /* a client waiting for a volume request */
	struct vwait *next;
	int64_t req;
	qb_ipcs_connection_t *conn;
	uint64_t deadline_ms;
};

struct lwait {                       /* a lock write of ours under way */
	struct lwait *next;
	uint64_t write_id;
	char res[CM_NAME_MAX];
	uint64_t gen;
	bool admin;                  /* cluadmin csv lock: the reply goes to conn */
	qb_ipcs_connection_t *conn;
};

struct pathck {                      /* this node's path to a CSV's LUN */
	struct wk wk;                /* first: see wk_drop */
	char name[CD_CSV_NAME_MAX + 1];
	char url[600];
	struct cd *cd;
	uint64_t id;                 /* the CHECK under way, or 0 */
	uint64_t next_ms;            /* the next CHECK (wall clock) */
	int fails;                   /* consecutive failed checks */
	int state;                   /* -1 not known yet, 0 lost, 1 seen */
};

struct cd_csv {
	struct coord *c[CD_CSV_MAX];   /* each allocated: the loop holds its address */
	struct pathck *p[CD_CSV_MAX];
	size_t np;
	unsigned rr;                   /* round robin over targets of a path-loss move */
	struct pmove {                 /* VMs leaving this node for a lost path */
		char vm[CM_NAME_MAX], to[CM_NAME_MAX];
		uint64_t deadline_ms;  /* live migration given up then: cancel, turn off, move */
		int stage;             /* 0 migrating, 1 cancelled, 2 moved */
	} pm[32];
	size_t npm;
	size_t n;
	struct vwait *vw;
	struct lwait *lw;
	qb_loop_timer_handle timer;
	bool timer_armed;
};

static void coord_kick(struct cd *cd, struct coord *k);
static char *kv(const char *k, const char *v);
static void vm_write(struct cd *cd, int op, const char *vm, const char *node, const char *mode);

/* ---- the coordinator ---- */

static void *wk_stop_thread(void *arg)
{
	struct wk *h = arg;

	csv_worker_stop(h->w);
	close(h->efd);
	free(arg);
	return NULL;
}

/* Stop the worker of owner (a struct with its wk first) and free owner,
 * without waiting on the main loop: a request under way may take up to the
 * I/O timeout. */
static void wk_drop(struct cd *cd, void *owner)
{
	struct wk *h = owner;
	pthread_attr_t at;
	pthread_t t;

	qb_loop_poll_del(cd->loop, h->efd);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, wk_stop_thread, owner) != 0)
		wk_stop_thread(owner);
	pthread_attr_destroy(&at);
}

/* Start a worker on url for owner; fn runs on the loop when it has results. */
static int wk_start(struct cd *cd, struct wk *h, const char *url, int timeout_s, void *owner,
		    int (*fn)(int, int, void *), char *err, size_t errlen)
{
	struct csv_worker_cfg cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	if ((rc = wit_url_parse(url, &cfg.url, err, errlen)) < 0)
		return rc;
	cd_quorum_initiator(cd, cfg.initiator, sizeof(cfg.initiator));
	cfg.io_timeout_s = timeout_s;
	if ((h->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -errno;
	cfg.notify_fd = h->efd;
	if ((rc = csv_worker_start(&cfg, &h->w)) < 0) {
		close(h->efd);
		return rc;
	}
	qb_loop_poll_add(cd->loop, QB_LOOP_MED, h->efd, POLLIN, owner, fn);
	return 0;
}

/* Stop a worker without waiting on the main loop: a request under way may
 * take up to the I/O timeout. */
static void coord_drop(struct cd *cd, size_t i)
{
	struct cd_csv *s = cd->csv;
	struct coord *k = s->c[i];

	cd_log(LOG_NOTICE, "csv '%s': this node is no longer its coordinator", k->name);
	s->c[i] = s->c[--s->n];
	wk_drop(cd, k);
}

static void send_done(struct cd *cd, const char *csv, int64_t req, bool ok, const char *text,
		      const struct csv_table *t)
{
	char *table = t ? csv_table_to_text(t) : NULL;
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_VOL_DONE);
	cm_msg_add_int(&w, req);
	cm_msg_add_int(&w, ok);
	cm_msg_add_int(&w, t ? (int64_t)t->generation : 0);
	cm_msg_add_str(&w, csv);
	cm_msg_add_str(&w, text);
	cm_msg_add_str(&w, table ? table : "");
	cd_engine_send(cd, &w, "a volume table");
	free(table);
}

/* A refusal that only says the request was already done (by this or an
 * earlier coordinator that died before its answer was applied). */
static bool already_done(const struct coord *k, const struct csv_res *r)
{
	int i;

	if (!r->have_table)
		return false;
	i = csv_vol_find(&r->table, k->req.vol);
	if (strcmp(k->req.op, "create") == 0)
		return r->rc == -CM_E_EXISTS && i >= 0 && r->table.vol[i].created_ms == (uint64_t)k->req.created_ms;
	if (strcmp(k->req.op, "delete") == 0)
		return r->rc == -CM_E_NO_OBJECT && i < 0;
	return false;
}

static void on_result(struct cd *cd, struct coord *k, const struct csv_res *r)
{
	char text[700];

	if (r->id == k->load_id) {
		char *mine, *disk;

		k->load_id = 0;
		if (r->rc < 0) {
			cd_log(LOG_ERR, "csv '%s': cannot read the volume table: %s%s%s", k->name, r->err,
			       r->report[0] ? "; " : "", r->report);
			k->retry_ms = cd_wall_ms() + CSV_LOAD_RETRY_MS;
			return;
		}
		if (strstr(r->report, "passed over"))
			cd_log(LOG_WARNING, "csv '%s': %s", k->name, r->report);
		mine = cd_db_csv_table_text(cd->db, k->name);
		disk = csv_table_to_text(&r->table);
		if (!mine || !disk || strcmp(mine, disk) != 0) {
			cd_log(LOG_NOTICE, "csv '%s': publishing the volume table read from the LUN (generation %" PRIu64
			       ")", k->name, r->table.generation);
			send_done(cd, k->name, 0, true, "", &r->table);
		}
		free(mine);
		free(disk);
		k->loaded = true;
		return;
	}
	if (r->id != k->io_id)
		return;
	k->io_id = 0;
	if (r->rc == 0 || already_done(k, r)) {
		int i = csv_vol_find(&r->table, k->req.vol);

		if (strcmp(k->req.op, "delete") == 0 || i < 0)
			snprintf(text, sizeof(text), "%sd", k->req.op);
		else
			snprintf(text, sizeof(text), "%sd: %" PRIu64 " MiB at offset %" PRIu64 " MiB", k->req.op,
				 r->table.vol[i].size >> 20, r->table.vol[i].offset >> 20);
		send_done(cd, k->name, k->req.id, true, text, &r->table);
	} else {
		send_done(cd, k->name, k->req.id, false, r->err[0] ? r->err : cm_strerror(r->rc),
			  r->have_table ? &r->table : NULL);
	}
}

static int coord_event(int fd, int revents, void *data)
{
	struct coord *k = data;
	struct cd *cd = k->cd;
	struct cd_csv *s = cd->csv;
	struct csv_res *r = malloc(sizeof(*r));
	uint64_t v;
	char name[sizeof(k->name)];
	size_t i;

	(void)revents;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		cd_log(LOG_WARNING, "csv: reading the worker's eventfd: %s", strerror(errno));
	if (r == NULL)
		return 0;
	cm_strlcpy(name, k->name, sizeof(name));
	while (csv_worker_take(k->wk.w, r))
		on_result(cd, k, r);
	free(r);
	/* k stays valid: nothing above drops a coordinator */
	for (i = 0; i < s->n; i++)
		if (s->c[i] == k)
			coord_kick(cd, k);
	return 0;
}

static int coord_add(struct cd *cd, const struct cd_db_csv *c)
{
	struct cd_csv *s = cd->csv;
	struct coord *k;
	char err[512];
	int rc;

	if (s->n == CD_CSV_MAX)
		return -ENOSPC;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -ENOMEM;
	k->cd = cd;
	cm_strlcpy(k->name, c->name, sizeof(k->name));
	cm_strlcpy(k->url, c->url, sizeof(k->url));
	{
		struct cd_db_cluster cl;

		if (cd_db_cluster_get(cd->db, &cl) == 0)
			cm_strlcpy(k->uuid, cl.uuid, sizeof(k->uuid));
	}
	if ((rc = wk_start(cd, &k->wk, c->url, CSV_IO_TIMEOUT_S, k, coord_event, err, sizeof(err))) < 0) {
		cd_log(LOG_ERR, "csv '%s': cannot start its coordinator: %s", c->name, err);
		free(k);
		return rc;
	}
	/* a coordinator that lost the role may still have a table write in
	 * flight (its worker finishes what it started, bounded by the I/O
	 * timeout): change nothing before that bound has passed. It writes only
	 * for a request still pending (it answers after its write), so with
	 * none pending there is nothing to wait for. */
	{
		struct cd_db_csv_req q;

		if (cd_db_csv_next_req(cd->db, c->name, &q) > 0)
			k->apply_after_ms = cd_wall_ms() + (uint64_t)CSV_IO_TIMEOUT_S * 1000;
	}
	s->c[s->n++] = k;
	cd_log(LOG_NOTICE, "csv '%s': this node is its coordinator (%s)", c->name, c->url);
	return 0;
}

static void coord_kick(struct cd *cd, struct coord *k)
{
	struct csv_req q;
	int rc;

	if (k->load_id || k->io_id)
		return;
	memset(&q, 0, sizeof(q));
	if (!k->loaded) {
		if (cd_wall_ms() < k->retry_ms)
			return;
		q.type = CSV_REQ_LOAD;
		k->load_id = csv_worker_submit(k->wk.w, &q);
		return;
	}
	if (cd_wall_ms() < k->apply_after_ms)
		return;
	rc = cd_db_csv_next_req(cd->db, k->name, &k->req);
	if (rc <= 0)
		return;
	q.type = CSV_REQ_APPLY;
	cm_strlcpy(q.cluster_uuid, k->uuid, sizeof(q.cluster_uuid)); /* a LUN reformatted elsewhere is refused */
	q.op = csv_io_op_from_str(k->req.op);
	cm_strlcpy(q.vol, k->req.vol, sizeof(q.vol));
	q.size = (uint64_t)(k->req.size > 0 ? k->req.size : 0);
	/* the request's own time: a redo recognises the volume it created */
	q.now_ms = k->req.created_ms;
	k->io_id = csv_worker_submit(k->wk.w, &q);
}

static void coords_update(struct cd *cd)
{
	struct cd_csv *s = cd->csv;
	struct cd_db_csv *v = NULL;
	size_t n = 0, i, j;
	bool q = cd_quorum_verdict(cd, NULL);

	if (cd_db_csvs(cd->db, &v, &n) < 0)
		return;
	/* drop what we no longer coordinate */
	for (i = 0; i < s->n;) {
		bool keep = false;

		for (j = 0; j < n && q; j++)
			if (strcmp(v[j].name, s->c[i]->name) == 0 && strcmp(v[j].url, s->c[i]->url) == 0 &&
			    cd_db_csv_coordinator(cd->db, v[j].name) == cd->my_id)
				keep = true;
		if (keep)
			i++;
		else
			coord_drop(cd, i);
	}
	for (j = 0; j < n && q; j++) {
		bool have = false;

		if (cd_db_csv_coordinator(cd->db, v[j].name) != cd->my_id)
			continue;
		for (i = 0; i < s->n; i++)
			have = have || strcmp(s->c[i]->name, v[j].name) == 0;
		if (!have)
			coord_add(cd, &v[j]);
	}
	free(v);
	for (i = 0; i < s->n; i++)
		coord_kick(cd, s->c[i]);
}

/* ---- clients waiting for volume requests ---- */

static void vwaits_check(struct cd *cd, bool all_now)
{
	struct cd_csv *s = cd->csv;
	struct vwait **pp = &s->vw, *w;
	uint64_t now = cd_wall_ms();

	while ((w = *pp) != NULL) {
		char state[16] = "", text[600] = "";
		int rc = cd_db_csv_req_state(cd->db, w->req, state, sizeof(state), text, sizeof(text));

		if (rc == 0 && strcmp(state, "pending") == 0 && !all_now && now < w->deadline_ms) {
			pp = &w->next;
			continue;
		}
		if (rc < 0 && !all_now && now < w->deadline_ms) {
			pp = &w->next; /* the request write is not applied yet */
			continue;
		}
		if (rc == 0 && strcmp(state, "done") == 0) {
			char json[800];
			struct cm_sb sb;
			struct cm_jw jw;

			cm_sb_init(&sb);
			cm_jw_init(&jw, &sb);
			cm_jw_obj_begin(&jw);
			cm_jw_kv_bool(&jw, "ok", true);
			cm_jw_kv_int(&jw, "request", w->req);
			cm_jw_kv_str(&jw, "text", text);
			cm_jw_obj_end(&jw);
			cm_strlcpy(json, cm_sb_str(&sb), sizeof(json));
			cm_sb_free(&sb);
			cd_ipc_reply(w->conn, 0, json);
		} else if (rc == 0 && strcmp(state, "failed") == 0) {
			cd_ipc_reply(w->conn, -CM_E_VALUE, text);
		} else {
			cd_ipc_reply(w->conn, -CM_E_TIMEOUT, all_now ? "clusterd is stopping" :
				     "no answer from the coordinator in time (is the CSV online? see 'cluadmin csv show')");
		}
		qb_ipcs_connection_unref(w->conn);
		*pp = w->next;
		free(w);
	}
}

static void timer_cb(void *data)
{
	struct cd *cd = data;

	cd->csv->timer_armed = false;
	cd_csv_changed(cd);
}

int cd_csv_wait_request(struct cd *cd, qb_ipcs_connection_t *c, int64_t req)
{
	struct vwait *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -ENOMEM;
	w->req = req;
	w->conn = c;
	w->deadline_ms = cd_wall_ms() + CSV_WAIT_MS;
	qb_ipcs_connection_ref(c);
	w->next = cd->csv->vw;
	cd->csv->vw = w;
	return 0;
}

/* ---- locks ---- */

static int lock_send(struct cd *cd, const char *owner, const char *vols, int mode, bool unlock, uint64_t *id)
{
	char node[CM_NAME_MAX] = "";
	struct cd_db_node *nodes = NULL;
	size_t nn = 0, i;
	struct cm_msg w;

	cd_db_nodes(cd->db, &nodes, &nn);
	for (i = 0; i < nn; i++)
		if (nodes[i].id == cd->my_id)
			cm_strlcpy(node, nodes[i].name, sizeof(node));
	free(nodes);
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_LOCK);
	cm_msg_add_int(&w, mode);
	cm_msg_add_int(&w, unlock);
	cm_msg_add_str(&w, node);
	cm_msg_add_str(&w, owner);
	cm_msg_add_str(&w, vols);
	cm_msg_add_str(&w, "clusterd");
	return cd_repl_write(cd->repl, &w, id);
}

bool cd_csv_gate(struct cd *cd, const char *res, uint64_t gen, const char *vols)
{
	struct cd_csv *s = cd->csv;
	struct lwait *l;
	uint64_t id = 0;
	int rc;

	if (s == NULL || vols == NULL || vols[0] == '\0' || cd_db_csv_holds(cd->db, cd->my_id, res, vols))
		return true;
	for (l = s->lw; l; l = l->next)
		if (!l->admin && strcmp(l->res, res) == 0 && l->gen == gen)
			return false; /* asked already */
	rc = lock_send(cd, res, vols, 0, false, &id);
	if (rc < 0) {
		cd_log(LOG_WARNING, "resource '%s': cannot ask for the locks of %s: %s", res, vols, cm_strerror(rc));
		return false;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return false;
	l->write_id = id;
	cm_strlcpy(l->res, res, sizeof(l->res));
	l->gen = gen;
	l->next = s->lw;
	s->lw = l;
	cd_log(LOG_INFO, "resource '%s': locking %s before it starts", res, vols);
	return false;
}

int cd_csv_admin_lock(struct cd *cd, qb_ipcs_connection_t *c, const char *owner, const char *vols, int mode,
		      bool unlock)
{
	struct lwait *l = calloc(1, sizeof(*l));
	uint64_t id = 0;
	int rc;

	if (l == NULL)
		return -ENOMEM;
	if ((rc = lock_send(cd, owner, vols, mode, unlock, &id)) < 0) {
		free(l);
		return rc;
	}
	l->write_id = id;
	l->admin = true;
	l->conn = c;
	qb_ipcs_connection_ref(c);
	l->next = cd->csv->lw;
	cd->csv->lw = l;
	return 0;
}

bool cd_csv_write_done(struct cd *cd, uint64_t id, int rc, const char *err)
{
	struct cd_csv *s = cd->csv;
	struct lwait **pp, *l;

	if (s == NULL)
		return false;
	for (pp = &s->lw; (l = *pp) != NULL; pp = &l->next)
		if (l->write_id == id)
			break;
	if (l == NULL)
		return false;
	*pp = l->next;
	if (l->admin) {
		cd_ipc_reply(l->conn, rc, rc == 0 ? "{\"ok\":true}" : err);
		qb_ipcs_connection_unref(l->conn);
	} else if (rc == 0) {
		cd_engine_run_online(cd, l->res, l->gen);
	} else {
		char text[600];
		struct cm_msg w;

		snprintf(text, sizeof(text), "not started: %s", err);
		cd_log(LOG_WARNING, "resource '%s': %s", l->res, text);
		cm_msg_init(&w, CM_MSG_WRITE);
		cm_msg_add_int(&w, CM_OP_RES_RESULT);
		cm_msg_add_int(&w, (int64_t)l->gen);
		cm_msg_add_int(&w, RES_OP_ONLINE);
		cm_msg_add_int(&w, 0);
		cm_msg_add_str(&w, l->res);
		cm_msg_add_str(&w, text);
		cd_engine_send(cd, &w, "a resource result");
	}
	free(l);
	return true;
}

/* ---- VMs: the XML a node defines ---- */

static int resolve(void *ctx, const char *csv, const char *vol, struct res_lunref *out, char *err, size_t errlen)
{
	struct cd *cd = ctx;
	struct cd_db_csv c;
	struct wit_url u;
	char *colon;

	if (cd_db_csv_get(cd->db, csv, &c) < 0) {
		snprintf(err, errlen, "cluster shared volume '%s' does not exist", csv);
		return -CM_E_NO_OBJECT;
	}
	if (cd_db_csv_vol(cd->db, csv, vol, &out->off, &out->size) < 0) {
		snprintf(err, errlen, "volume '%s/%s' does not exist", csv, vol);
		return -CM_E_NO_OBJECT;
	}
	if (wit_url_parse(c.url, &u, err, errlen) < 0)
		return -CM_E_URL;
	cm_strlcpy(out->host, u.portal, sizeof(out->host));
	colon = strrchr(out->host, ':');
	out->port = 3260;
	if (colon && colon[1] && strchr(colon, ']') == NULL) {
		out->port = (unsigned)strtoul(colon + 1, NULL, 10);
		*colon = '\0';
	}
	cm_strlcpy(out->iqn, u.iqn, sizeof(out->iqn));
	out->lun = (unsigned)u.lun;
	return 0;
}

char *cd_csv_domain_xml(struct cd *cd, const char *xml, char *err, size_t errlen)
{
	struct res_storage_env env;
	char initiator[224], key[32], *out = NULL;
	struct cd_db_cluster cl;
	int rc;

	memset(&env, 0, sizeof(env));
	cd_quorum_initiator(cd, initiator, sizeof(initiator));
	env.resolve = resolve;
	env.ctx = cd;
	env.initiator = initiator;
	if (cd_db_cluster_get(cd->db, &cl) == 0 && cd->lun_shim[0]) {
		snprintf(key, sizeof(key), "0x%016" PRIx64, cd_csv_disk_key(cl.uuid, cd->my_id));
		env.shim_path = cd->lun_shim;
		env.pr_key = key;
	}
	rc = res_vmxml_storage(xml, &env, &out, err, errlen);
	if (rc < 0)
		return NULL;
	return out ? out : strdup(xml);
}

uint64_t cd_csv_disk_key(const char *cluster_uuid, uint32_t node)
{
	/* the witness's key with a mark: a disk and the witness never share a key */
	return wit_key(cluster_uuid, node) ^ 0x00d1000000000000ULL;
}

/* ---- csv create: format the LUN in a thread, then one write ---- */

struct create_job {
	char name[CD_CSV_NAME_MAX + 1], url[600], initiator[224], uuid[40], actor[64];
	bool force;
	struct csv_header h;
};

static int create_io(void *arg, char *out, size_t outlen)
{
	struct create_job *j = arg;
	struct wit_url u;
	struct wit_lun *l = NULL;
	int rc;

	if ((rc = wit_url_parse(j->url, &u, out, outlen)) < 0)
		return rc;
	if ((rc = wit_lun_open(&u, j->initiator, CSV_IO_TIMEOUT_S, &l, out, outlen)) < 0)
		return rc;
	rc = csv_io_format(l, j->uuid, j->name, j->force, (int64_t)cd_wall_ms(), &j->h, out, outlen);
	wit_lun_close(l);
	return rc;
}

static void create_then(struct cd *cd, qb_ipcs_connection_t *c, int rc, const char *out, void *arg)
{
	struct create_job *j = arg;
	struct cm_msg w;
	uint64_t id;

	if (rc < 0) {
		cd_ipc_reply(c, rc, out);
		return;
	}
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_CREATE);
	cm_msg_add_int(&w, (int64_t)j->h.lun_bytes);
	cm_msg_add_int(&w, (int64_t)j->h.data_off);
	cm_msg_add_int(&w, (int64_t)j->h.data_end);
	cm_msg_add_int(&w, 0);
	cm_msg_add_str(&w, j->name);
	cm_msg_add_str(&w, j->url);
	cm_msg_add_str(&w, j->actor);
	rc = cd_repl_write(cd->repl, &w, &id);
	if (rc == 0)
		rc = cd_ipc_wait_write(cd, c, id);
	if (rc < 0)
		cd_ipc_reply(c, rc, "cannot send the change to the cluster");
}

int cd_csv_create(struct cd *cd, qb_ipcs_connection_t *c, const char *name, const char *url, bool force,
		  const char *actor, char *err, size_t errlen)
{
	struct create_job *j = calloc(1, sizeof(*j));
	struct cd_db_cluster cl;
	struct wit_url u;
	int rc;

	if (j == NULL)
		return -ENOMEM;
	if ((rc = cd_db_csv_name_check("CSV", name, CD_CSV_NAME_MAX, err, errlen)) < 0 ||
	    (rc = wit_url_parse(url, &u, err, errlen)) < 0) {
		free(j);
		return rc;
	}
	cm_strlcpy(j->name, name, sizeof(j->name));
	wit_url_to_str(&u, j->url, sizeof(j->url));
	if (cd_db_csv_get(cd->db, name, &(struct cd_db_csv){ 0 }) == 0) {
		snprintf(err, errlen, "a cluster shared volume named '%s' already exists", name);
		free(j);
		return -CM_E_EXISTS;
	}
	{
		struct cd_db_csv *v = NULL;
		size_t n = 0, i;

		cd_db_csvs(cd->db, &v, &n);
		for (i = 0; i < n; i++)
			if (strcmp(v[i].url, j->url) == 0) {
				snprintf(err, errlen, "%s is already the cluster shared volume '%s'", j->url, v[i].name);
				rc = -CM_E_EXISTS;
			}
		free(v);
		if (rc < 0) {
			free(j);
			return rc;
		}
	}
	{
		/* the witness configured, or the one in use */
		char wu[600] = "";
		struct wit_url w;

		cd_db_prop_get(cd->db, CM_OBJ_CLUSTER, "", "witness_url", wu, sizeof(wu), NULL);
		if (wu[0] && wit_url_parse(wu, &w, err, errlen) == 0)
			wit_url_to_str(&w, wu, sizeof(wu));
		if ((wu[0] && strcmp(wu, j->url) == 0) || (cd->witness_url[0] && strcmp(j->url, cd->witness_url) == 0))
			rc = -CM_E_EXISTS;
	}
	if (rc == -CM_E_EXISTS) {
		snprintf(err, errlen, "%s is the witness LUN", j->url);
		free(j);
		return -CM_E_EXISTS;
	}
	cd_db_cluster_get(cd->db, &cl);
	cm_strlcpy(j->uuid, cl.uuid, sizeof(j->uuid));
	cd_quorum_initiator(cd, j->initiator, sizeof(j->initiator));
	cm_strlcpy(j->actor, actor, sizeof(j->actor));
	j->force = force;
	return cd_job_start_then(cd, c, create_io, j, create_then);
}

/* ---- every node's path to every CSV ---- */

static void path_drop(struct cd *cd, size_t i)
{
	struct cd_csv *s = cd->csv;
	struct pathck *k = s->p[i];

	s->p[i] = s->p[--s->np];
	wk_drop(cd, k);
}

static const char *my_name(struct cd *cd, char *buf, size_t len)
{
	struct cd_db_node *nodes = NULL;
	size_t n = 0, i;

	buf[0] = '\0';
	cd_db_nodes(cd->db, &nodes, &n);
	for (i = 0; i < n; i++)
		if (nodes[i].id == cd->my_id)
			cm_strlcpy(buf, nodes[i].name, len);
	free(nodes);
	return buf;
}

static void path_send(struct cd *cd, const char *csv, bool ok, const char *text)
{
	char me[CM_NAME_MAX];
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_PATH);
	cm_msg_add_int(&w, ok);
	cm_msg_add_str(&w, my_name(cd, me, sizeof(me)));
	cm_msg_add_str(&w, csv);
	cm_msg_add_str(&w, text);
	cd_engine_send(cd, &w, "a storage path report");
}

/* This node cannot reach csv's LUN: live-migrate its VMs that use it to
 * member nodes that still see it (a health-based move, logged). */
static void path_lost_move(struct cd *cd, const char *csv)
{
	const struct res_model *m = cd_db_model(cd->db);
	char pre[CD_CSV_NAME_MAX + 2];
	size_t i, j;

	if (m == NULL || !cd_quorum_verdict(cd, NULL))
		return;
	snprintf(pre, sizeof(pre), "%s/", csv);
	for (i = 0; i < m->nres; i++) {
		const struct res_resource *r = &m->res[i];
		char vols[CD_CSV_VOLS_MAX], *hit;
		const char *to = NULL;
		size_t ncand = 0;

		if (strcmp(r->type, "vm") != 0 || r->node != cd->my_id || r->state != RES_S_ONLINE)
			continue;
		cd_csv_vm_vols(cd, r->name, vols, sizeof(vols));
		hit = strstr(vols, pre);
		if (hit == NULL || (hit != vols && hit[-1] != ','))
			continue;
		for (j = 0; j < m->nnodes; j++) {
			const struct res_node *n = &m->nodes[j];

			if (n->id != cd->my_id && n->member && !n->paused && !n->draining &&
			    cd_db_csv_path_ok(cd->db, csv, n->name))
				ncand++;
		}
		if (ncand == 0) {
			cd_log(LOG_ERR, "vm '%s': no other node sees CSV '%s': it stays here", r->name, csv);
			continue;
		}
		{
			size_t pick = cd->csv->rr++ % ncand, k = 0;

			for (j = 0; j < m->nnodes && to == NULL; j++) {
				const struct res_node *n = &m->nodes[j];

				if (n->id != cd->my_id && n->member && !n->paused && !n->draining &&
				    cd_db_csv_path_ok(cd->db, csv, n->name) && k++ == pick)
					to = n->name;
			}
		}
		if (to) {
			struct cd_csv *s = cd->csv;

			cd_log(LOG_WARNING, "vm '%s': this node lost its path to CSV '%s': live-migrating it to %s",
			       r->name, csv, to);
			if (s->npm < sizeof(s->pm) / sizeof(s->pm[0])) {
				struct pmove *pm = &s->pm[s->npm++];

				cm_strlcpy(pm->vm, r->name, sizeof(pm->vm));
				cm_strlcpy(pm->to, to, sizeof(pm->to));
				pm->deadline_ms = cd_wall_ms() + PATH_MIG_GRACE_MS;
				pm->stage = 0;
			}
			vm_write(cd, CM_OP_VM_MIGRATE, r->name, to, "live");
		}
	}
}

static void vm_write(struct cd *cd, int op, const char *vm, const char *node, const char *mode)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, op);
	if (op == CM_OP_VM_MIGRATE)
		cm_msg_add_int(&w, (int64_t)cd_wall_ms() * 256 + (int64_t)(cd->my_id % 128) * 2);
	cm_msg_add_str(&w, vm);
	if (op == CM_OP_VM_MIGRATE) {
		cm_msg_add_str(&w, node);
		cm_msg_add_str(&w, mode);
	}
	cm_msg_add_str(&w, "clusterd (storage path lost)");
	cd_engine_send(cd, &w, "a VM request");
}

/* Path-loss moves that a live migration cannot finish: cancel it, then
 * turn the VM off and start it on the target. */
static void pmoves_check(struct cd *cd)
{
	struct cd_csv *s = cd->csv;
	const struct res_model *m = cd_db_model(cd->db);
	uint64_t now = cd_wall_ms();
	size_t i;

	for (i = 0; m && i < s->npm;) {
		struct pmove *pm = &s->pm[i];
		int ri = res_resource_find(m, pm->vm);
		const struct res_group *g = ri >= 0 ? &m->groups[m->res[ri].group] : NULL;

		if (ri < 0 || m->res[ri].node != cd->my_id || pm->stage == 2) {
			s->pm[i] = s->pm[--s->npm]; /* gone from here (or given up) */
			continue;
		}
		if (pm->stage == 0 && now >= pm->deadline_ms && !g->mig_running && g->mig_mode == RES_MIG_NONE) {
			cd_log(LOG_WARNING, "vm '%s': its migration away from the lost path did not start; it stays",
			       pm->vm);
			s->pm[i] = s->pm[--s->npm];
			continue;
		}
		if (pm->stage == 0 && now >= pm->deadline_ms && g->mig_running) {
			cd_log(LOG_WARNING, "vm '%s': the live migration did not finish in %d s (I/O stuck on the lost"
			       " path): cancelling it, then turning the VM off and starting it on %s", pm->vm,
			       PATH_MIG_GRACE_MS / 1000, pm->to);
			vm_write(cd, CM_OP_VM_CANCEL, pm->vm, NULL, NULL);
			pm->stage = 1;
			pm->deadline_ms = now + PATH_MIG_GRACE_MS / 3;
		} else if (pm->stage == 1 && !g->mig_running && g->mig_mode == RES_MIG_NONE) {
			vm_write(cd, CM_OP_VM_MIGRATE, pm->vm, pm->to, "move-off");
			pm->stage = 2;
		} else if (pm->stage == 1 && now >= pm->deadline_ms) {
			/* even the cancel waits for the stuck I/O: turn the VM off,
			 * which ends the migration too; then it moves */
			cd_log(LOG_WARNING, "vm '%s': the cancelled migration does not end: turning the VM off", pm->vm);
			cd_vm_destroy(cd, pm->vm);
			pm->deadline_ms = now + PATH_MIG_GRACE_MS;
		}
		i++;
	}
}

static int path_event(int fd, int revents, void *data)
{
	struct pathck *k = data;
	struct cd *cd = k->cd;
	struct csv_res *r = malloc(sizeof(*r));
	uint64_t v;

	(void)revents;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		cd_log(LOG_WARNING, "csv: reading the path worker's eventfd: %s", strerror(errno));
	if (r == NULL)
		return 0;
	while (csv_worker_take(k->wk.w, r)) {
		char me[CM_NAME_MAX];

		if (r->id != k->id)
			continue;
		k->id = 0;
		if (r->rc == 0) {
			k->fails = 0;
			if (k->state != 1 && !cd_db_csv_path_ok(cd->db, k->name, my_name(cd, me, sizeof(me)))) {
				cd_log(LOG_NOTICE, "csv '%s': path to %s is back", k->name, k->url);
				path_send(cd, k->name, true, "");
			}
			k->state = 1;
		} else if (++k->fails >= PATH_FAILS && k->state != 0) {
			k->state = 0;
			cd_log(LOG_ERR, "csv '%s': this node lost its path to %s: %s", k->name, k->url, r->err);
			path_send(cd, k->name, false, r->err);
			path_lost_move(cd, k->name);
		}
	}
	free(r);
	return 0;
}

static int path_add(struct cd *cd, const struct cd_db_csv *c)
{
	struct cd_csv *s = cd->csv;
	struct pathck *k;
	char err[512];
	int rc;

	if (s->np == CD_CSV_MAX)
		return -ENOSPC;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -ENOMEM;
	k->cd = cd;
	k->state = -1;
	cm_strlcpy(k->name, c->name, sizeof(k->name));
	cm_strlcpy(k->url, c->url, sizeof(k->url));
	if ((rc = wk_start(cd, &k->wk, c->url, PATH_TIMEOUT_S, k, path_event, err, sizeof(err))) < 0) {
		cd_log(LOG_ERR, "csv '%s': cannot check its path: %s", c->name, err);
		free(k);
		return rc;
	}
	s->p[s->np++] = k;
	return 0;
}

static void paths_update(struct cd *cd)
{
	struct cd_csv *s = cd->csv;
	struct cd_db_csv *v = NULL;
	struct cd_db_cluster cl;
	size_t n = 0, i, j;
	uint64_t now = cd_wall_ms();

	if (cd_db_csvs(cd->db, &v, &n) < 0 || cd_db_cluster_get(cd->db, &cl) < 0) {
		free(v);
		return;
	}
	for (i = 0; i < s->np;) {
		bool keep = false;

		for (j = 0; j < n; j++)
			keep = keep || (strcmp(v[j].name, s->p[i]->name) == 0 && strcmp(v[j].url, s->p[i]->url) == 0);
		if (keep)
			i++;
		else
			path_drop(cd, i);
	}
	for (j = 0; j < n; j++) {
		bool have = false;

		for (i = 0; i < s->np; i++)
			have = have || strcmp(s->p[i]->name, v[j].name) == 0;
		if (!have)
			path_add(cd, &v[j]);
	}
	free(v);
	for (i = 0; i < s->np; i++) {
		struct pathck *k = s->p[i];
		struct csv_req q;

		if (k->id || now < k->next_ms)
			continue;
		memset(&q, 0, sizeof(q));
		q.type = CSV_REQ_CHECK;
		cm_strlcpy(q.name, k->name, sizeof(q.name));
		cm_strlcpy(q.cluster_uuid, cl.uuid, sizeof(q.cluster_uuid));
		k->id = csv_worker_submit(k->wk.w, &q);
		k->next_ms = now + PATH_CHECK_MS;
	}
}

/* ---- life cycle ---- */

void cd_csv_changed(struct cd *cd)
{
	struct cd_csv *s = cd->csv;

	if (s == NULL)
		return;
	coords_update(cd);
	paths_update(cd);
	pmoves_check(cd);
	vwaits_check(cd, false);
	if (!s->timer_armed && (s->vw || s->n || s->np || s->npm)) {
		/* deadlines of waiters, LOAD retries */
		s->timer_armed = qb_loop_timer_add(cd->loop, QB_LOOP_LOW, 1000ULL * 1000 * 1000, cd, timer_cb,
						   &s->timer) == 0;
	}
}

int cd_csv_start(struct cd *cd)
{
	cd->csv = calloc(1, sizeof(*cd->csv));
	return cd->csv ? 0 : -ENOMEM;
}

void cd_csv_stop(struct cd *cd)
{
	struct cd_csv *s = cd->csv;

	if (s == NULL)
		return;
	while (s->n)
		coord_drop(cd, s->n - 1);
	while (s->np)
		path_drop(cd, s->np - 1);
	vwaits_check(cd, true);
	while (s->lw) {
		struct lwait *l = s->lw;

		s->lw = l->next;
		if (l->admin)
			qb_ipcs_connection_unref(l->conn);
		free(l);
	}
	if (s->timer_armed)
		qb_loop_timer_del(cd->loop, s->timer);
	free(s);
	cd->csv = NULL;
}

/* ---- what the types need ---- */

bool cd_csv_state_volume(struct cd *cd, const char *vm, char *csv, size_t len)
{
	char vol[CM_NAME_MAX + 8], c[64];

	snprintf(vol, sizeof(vol), "%s.state", vm);
	if (!cd_db_csv_vol_csv(cd->db, vol, c, sizeof(c)))
		return false;
	if (csv)
		cm_strlcpy(csv, c, len);
	return true;
}

int cd_csv_vm_vols(struct cd *cd, const char *vm, char *buf, size_t len)
{
	char cfg[CM_NAME_MAX + 16], err[256];
	struct res_vmxml *x = NULL;
	char *xml;
	int rc = 0;

	buf[0] = '\0';
	snprintf(cfg, sizeof(cfg), "%s-config", vm);
	xml = cd_db_vm_xml(cd->db, cfg);
	if (xml && res_vmxml_parse(xml, strlen(xml), &x, err, sizeof(err)) == 0)
		rc = res_vmxml_csv_vols(x, buf, len);
	res_vmxml_free(x);
	free(xml);
	if (rc == 0) {
		/* its state volume is locked with its disks */
		char csv[64];
		size_t n = strlen(buf);

		if (cd_csv_state_volume(cd, vm, csv, sizeof(csv)) &&
		    (size_t)snprintf(buf + n, len - n, "%s%s/%s.state", n ? "," : "", csv, vm) >= len - n)
			rc = -ENAMETOOLONG;
	}
	return rc; /* never a list cut short: the caller refuses to start */
}

size_t cd_csv_state_props(struct cd *cd, const char *vm, char **out, size_t max)
{
	struct cd_db_csv c;
	char csv[64], vol[CM_NAME_MAX + 8], buf[PATH_MAX + 16];
	uint64_t off, size;
	size_t n = 0;

	snprintf(vol, sizeof(vol), "%s.state", vm);
	if (max < 8 || !cd_csv_state_volume(cd, vm, csv, sizeof(csv)) || cd_db_csv_get(cd->db, csv, &c) < 0 ||
	    cd_db_csv_vol(cd->db, csv, vol, &off, &size) < 0 || !cd->lun_tool[0])
		return 0;
	out[n++] = kv("state_vol", c.url);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)off);
	out[n++] = kv("state_off", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)size);
	out[n++] = kv("state_size", buf);
	snprintf(buf, sizeof(buf), "%s/vmstate", cd->conf.state_dir);
	mkdir(buf, 0700);
	out[n++] = kv("state_local", buf);
	out[n++] = kv("lun_tool", cd->lun_tool);
	cd_quorum_initiator(cd, buf, sizeof(buf));
	out[n++] = kv("initiator", buf);
	/* the tag in the state's header: a state saved in an earlier volume
	 * of the same name and place is never restored */
	snprintf(buf, sizeof(buf), "%s.c%lld", vm, (long long)cd_db_csv_vol_created(cd->db, csv, vol));
	if (strlen(buf) >= CM_NAME_MAX) /* a long VM name: the volume's time alone tells it apart */
		snprintf(buf, sizeof(buf), "c%lld", (long long)cd_db_csv_vol_created(cd->db, csv, vol));
	out[n++] = kv("state_tag", buf);
	return n;
}

static char *kv(const char *k, const char *v)
{
	char *s;

	return asprintf(&s, "%s=%s", k, v) < 0 ? NULL : s;
}

size_t cd_csv_props(struct cd *cd, const struct res_resource *r, char **out, size_t max)
{
	struct cd_db_cluster cl;
	char buf[224];
	size_t n = 0;

	if (strcmp(r->type, "csv") != 0 && strcmp(r->type, "physical-disk") != 0)
		return 0;
	if (cd_db_cluster_get(cd->db, &cl) < 0 || max < 6)
		return 0;
	out[n++] = kv("lun_tool", cd->lun_tool);
	cd_quorum_initiator(cd, buf, sizeof(buf));
	out[n++] = kv("initiator", buf);
	if (strcmp(r->type, "csv") == 0) {
		out[n++] = kv("cluster_uuid", cl.uuid);
		out[n++] = kv("csv_name", strncmp(r->name, "csv-", 4) == 0 ? r->name + 4 : r->name);
	} else {
		/* The core plans an ONLINE here only once the group is active
		 * nowhere else: its last owner released the disk, or was fenced
		 * or confirmed down. So any other node's key may be preempted;
		 * a key of no node of this cluster never is. */
		struct cd_db_node *nodes = NULL;
		size_t nn = 0, i;
		struct cm_sb pre, names;

		snprintf(buf, sizeof(buf), "0x%016" PRIx64, cd_csv_disk_key(cl.uuid, cd->my_id));
		out[n++] = kv("pr_key", buf);
		cm_sb_init(&pre);
		cm_sb_init(&names);
		cd_db_nodes(cd->db, &nodes, &nn);
		for (i = 0; i < nn; i++) {
			uint64_t k = cd_csv_disk_key(cl.uuid, nodes[i].id);

			cm_sb_printf(&names, "%s0x%016" PRIx64 "=%s", names.len ? "," : "", k, nodes[i].name);
			if (nodes[i].id != cd->my_id)
				cm_sb_printf(&pre, "%s0x%016" PRIx64, pre.len ? "," : "", k);
		}
		free(nodes);
		out[n++] = kv("preempt_keys", cm_sb_str(&pre));
		if (n < max)
			out[n++] = kv("known_keys", cm_sb_str(&pre));
		if (n < max)
			out[n++] = kv("key_names", cm_sb_str(&names));
		cm_sb_free(&pre);
		cm_sb_free(&names);
	}
	return n;
}

/* dir of /proc/self/exe + rel, if it exists */
static bool tool_at(const char *dir, const char *rel, char *out, size_t len)
{
	char p[2200];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if (access(p, R_OK) != 0)
		return false;
	return cm_strlcpy(out, p, len) >= 0;
}

void cd_csv_find_tools(struct cd *cd)
{
	char exe[1024], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	if (!tool_at(exe, "clusterd-lun", cd->lun_tool, sizeof(cd->lun_tool)))
		tool_at(exe, "../csv/clusterd-lun", cd->lun_tool, sizeof(cd->lun_tool));
	if (!tool_at(exe, "../lib/clusterd/cm_iscsi_pr.so", cd->lun_shim, sizeof(cd->lun_shim)))
		tool_at(exe, "../resources/cm_iscsi_pr.so", cd->lun_shim, sizeof(cd->lun_shim));
	cd_log(LOG_INFO, "LUN tool %s, PR shim %s", cd->lun_tool[0] ? cd->lun_tool : "(none)",
	       cd->lun_shim[0] ? cd->lun_shim : "(none)");
}

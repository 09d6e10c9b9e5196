/* cd_ipc.c - the libqb IPC server that cluadmin talks to.
 *
 * Checks before anything else: the peer's credentials (root or a member of
 * admin_group), the libqb header id and size, and the wire message. A bad
 * request gets a sentence back and the connection stays usable. Replies to
 * writes are deferred until the write is applied from the agreed stream. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cd_daemon.h"
#include "cd_csv.h"
#include "cd_log.h"

/* ---- loop glue (libqb's IPC server needs these from the application) ---- */

static struct cd *glue_cd; /* the loop these callbacks use; set once in cd_ipc_start */

static int32_t ipc_dispatch_add(enum qb_loop_priority p, int32_t fd, int32_t evts, void *data,
				qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_add(glue_cd->loop, p, fd, evts, data, fn);
}

static int32_t ipc_dispatch_mod(enum qb_loop_priority p, int32_t fd, int32_t evts, void *data,
				qb_ipcs_dispatch_fn_t fn)
{
	return qb_loop_poll_mod(glue_cd->loop, p, fd, evts, data, fn);
}

static int32_t ipc_dispatch_del(int32_t fd)
{
	return qb_loop_poll_del(glue_cd->loop, fd);
}

static int32_t ipc_job_add(enum qb_loop_priority p, void *data, qb_loop_job_dispatch_fn fn)
{
	return qb_loop_job_add(glue_cd->loop, p, data, fn);
}

static struct qb_ipcs_poll_handlers poll_handlers = {
	.job_add = ipc_job_add,
	.dispatch_add = ipc_dispatch_add,
	.dispatch_mod = ipc_dispatch_mod,
	.dispatch_del = ipc_dispatch_del,
};

/* ---- authorisation ---- */

static bool user_in_group(uid_t uid, gid_t gid, const char *group)
{
	struct group *gr = getgrnam(group);
	struct passwd *pw;
	gid_t groups[256];
	int n = 256, i;

	if (gr == NULL)
		return false;
	if (gid == gr->gr_gid)
		return true;
	pw = getpwuid(uid);
	if (pw == NULL || getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (groups[i] == gr->gr_gid)
			return true;
	return false;
}

static int32_t ipc_accept(qb_ipcs_connection_t *c, uid_t uid, gid_t gid)
{
	struct cd_client *cl;
	struct passwd *pw;

	if (uid != 0 && !user_in_group(uid, gid, glue_cd->conf.admin_group)) {
		cd_log(LOG_WARNING, "refused a cluadmin connection from uid %d: not root and not in group '%s'",
		       (int)uid, glue_cd->conf.admin_group);
		return -EACCES;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return -ENOMEM;
	cl->uid = uid;
	cl->gid = gid;
	pw = getpwuid(uid);
	if (pw)
		snprintf(cl->user, sizeof(cl->user), "%s", pw->pw_name);
	else
		snprintf(cl->user, sizeof(cl->user), "uid %d", (int)uid);
	qb_ipcs_context_set(c, cl);
	/* the shared-memory files belong to the client so it can map them */
	qb_ipcs_connection_auth_set(c, uid, gid, 0600);
	return 0;
}

static void ipc_created(qb_ipcs_connection_t *c)
{
	(void)c;
}

/* ---- replies ---- */

void cd_ipc_reply(qb_ipcs_connection_t *c, int rc, const char *text)
{
	struct qb_ipc_response_header hdr;
	struct cm_sb sb;
	struct cm_msg m;
	struct iovec iov[2];
	ssize_t sent;

	cm_msg_init(&m, CM_MSG_REPLY);
	cm_msg_add_int(&m, rc);
	cm_msg_add_str(&m, text ? text : "");
	cm_sb_init(&sb);
	if (cm_msg_encode(&m, &sb) < 0) {
		/* too large: say so instead */
		cm_msg_init(&m, CM_MSG_REPLY);
		cm_msg_add_int(&m, -CM_E_TOOBIG);
		cm_msg_add_str(&m, "the answer is too large for one reply");
		cm_msg_encode(&m, &sb);
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.id = CM_IPC_ID;
	hdr.size = (int32_t)(sizeof(hdr) + sb.len);
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = sb.buf;
	iov[1].iov_len = sb.len;
	sent = qb_ipcs_response_sendv(c, iov, 2);
	if (sent < 0)
		cd_log(LOG_INFO, "cannot reply to a client: %s", strerror((int)-sent));
	cm_sb_free(&sb);
}

static void waiter_remove(struct cd *cd, struct cd_waiter *w)
{
	struct cd_waiter **pp;

	for (pp = &cd->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	qb_loop_timer_del(cd->loop, w->timer);
	qb_ipcs_connection_unref(w->conn);
	free(w->ok_json);
	free(w);
}

static void waiter_timeout(void *data)
{
	struct cd_waiter *w = data;
	struct cd *cd = w->cd;

	cd_ipc_reply(w->conn, -CM_E_TIMEOUT,
		     "the cluster did not confirm the change in time; it stays queued and is applied once the cluster database is ready: check with 'cluadmin log'");
	w->timer = 0;
	waiter_remove(cd, w);
}

int cd_ipc_wait_write(struct cd *cd, qb_ipcs_connection_t *c, uint64_t write_id)
{
	struct cd_waiter *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -ENOMEM;
	w->write_id = write_id;
	w->conn = c;
	w->cd = cd;
	qb_ipcs_connection_ref(c);
	qb_loop_timer_add(cd->loop, QB_LOOP_MED, (uint64_t)cd->conf.write_timeout_ms * QB_TIME_NS_IN_MSEC,
			  w, waiter_timeout, &w->timer);
	w->next = cd->waiters;
	cd->waiters = w;
	return 0;
}

int cd_ipc_wait_write_reply(struct cd *cd, qb_ipcs_connection_t *c, uint64_t write_id, const char *ok_json)
{
	int rc = cd_ipc_wait_write(cd, c, write_id);

	if (rc == 0 && ok_json && cd->waiters && cd->waiters->write_id == write_id)
		cd->waiters->ok_json = strdup(ok_json);
	return rc;
}

void cd_ipc_write_done(struct cd *cd, uint64_t write_id, int rc, const char *err)
{
	struct cd_waiter *w;

	if (cd_csv_write_done(cd, write_id, rc, err))
		return;
	for (w = cd->waiters; w; w = w->next)
		if (w->write_id == write_id)
			break;
	if (w == NULL)
		return;
	cd_ipc_reply(w->conn, rc, rc == 0 ? (w->ok_json ? w->ok_json : "{\"ok\":true}") : err);
	waiter_remove(cd, w);
}

/* ---- requests ---- */

static int32_t ipc_msg(qb_ipcs_connection_t *c, void *data, size_t size)
{
	struct cd_client *cl = qb_ipcs_context_get(c);
	struct qb_ipc_request_header hdr;
	struct cm_msg req;
	int rc;

	/* libqb's ring buffer may hand over data with less than the 8-byte
	 * alignment its header type demands: copy it out */
	if (size >= sizeof(hdr))
		memcpy(&hdr, data, sizeof(hdr));
	if (size < sizeof(hdr) || hdr.id != CM_IPC_ID || hdr.size < 0 || (size_t)hdr.size != size) {
		cd_log(LOG_WARNING, "dropped a malformed request from %s", cl ? cl->user : "a client");
		cd_ipc_reply(c, -CM_E_PROTO, "malformed request: bad header");
		return 0;
	}
	rc = cm_msg_decode((const char *)data + sizeof(hdr), size - sizeof(hdr), &req);
	if (rc == 0 && req.type != CM_MSG_REQUEST)
		rc = -CM_E_PROTO;
	if (rc < 0) {
		cd_log(LOG_WARNING, "dropped a request from %s: %s", cl ? cl->user : "a client", cm_strerror(rc));
		cd_ipc_reply(c, rc, rc == -CM_E_VERSION ?
			     "this cluadmin speaks another protocol version than clusterd" :
			     "malformed request");
		return 0;
	}
	cd_cmd_dispatch(glue_cd, c, cl, &req);
	return 0;
}

static int32_t ipc_closed(qb_ipcs_connection_t *c)
{
	struct cd_waiter *w, *n;

	for (w = glue_cd->waiters; w; w = n) {
		n = w->next;
		if (w->conn == c)
			waiter_remove(glue_cd, w); /* the write still happens; nobody waits for it */
	}
	return 0;
}

static void ipc_destroyed(qb_ipcs_connection_t *c)
{
	free(qb_ipcs_context_get(c));
	qb_ipcs_context_set(c, NULL);
}

static struct qb_ipcs_service_handlers service_handlers = {
	.connection_accept = ipc_accept,
	.connection_created = ipc_created,
	.msg_process = ipc_msg,
	.connection_closed = ipc_closed,
	.connection_destroyed = ipc_destroyed,
};

int cd_ipc_start(struct cd *cd)
{
	int rc;

	glue_cd = cd;
	cd->ipcs = qb_ipcs_create(CM_IPC_NAME, 0, QB_IPC_SHM, &service_handlers);
	if (cd->ipcs == NULL)
		return -errno;
	qb_ipcs_poll_handlers_set(cd->ipcs, &poll_handlers);
	qb_ipcs_enforce_buffer_size(cd->ipcs, CM_IPC_MAX_MSG);
	rc = qb_ipcs_run(cd->ipcs);
	if (rc < 0) {
		qb_ipcs_destroy(cd->ipcs);
		cd->ipcs = NULL;
	}
	return rc;
}

void cd_ipc_stop(struct cd *cd)
{
	if (cd->ipcs) {
		qb_ipcs_destroy(cd->ipcs);
		cd->ipcs = NULL;
	}
}

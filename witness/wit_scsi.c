/* wit_scsi.c - one iSCSI LUN through libiscsi: block I/O and SCSI-3
 * persistent reservations, every call bounded (see wit_scsi.h).
 *
 * Owns: the libiscsi context of each handle and the mapping of SCSI
 * outcomes to our return codes. Must never: log, sleep, retry beyond the
 * caller's deadline, or be called from clusterd's main loop.
 *
 * Why our own event loop instead of libiscsi's _sync calls: in libiscsi 1.19
 * the _sync loop has no deadline of its own. iscsi_set_timeout() only
 * times out queued PDUs (with one-second granularity), so a TCP connect to
 * a silent address would wait for the kernel's SYN retries (about two
 * minutes). We drive the async API with poll() against a monotonic
 * deadline and keep iscsi_set_timeout() as a second bound.
 *
 * Why we do not use iscsi_full_connect_async(): it eats the unit
 * attentions of the new session itself (we want to see them) and, when
 * abandoned half-way, leaks its private state; connect + login are done
 * as two steps instead.
 *
 * Why a timed-out command drops the whole session: its outcome is unknown
 * (a RESERVE may or may not have happened) and its answer could still
 * arrive; a fresh session is the only clean state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "cm_err.h"
#include "cm_str.h"
#include "wit_scsi.h"

/* Largest single READ/WRITE: fits a 10-byte CDB at 512-byte blocks and is
 * far below what targets accept; a witness moves a few KiB. */
#define WL_MAX_XFER (1024u * 1024u)
/* A logout at close is a courtesy: never wait longer than this for it. */
#define WL_LOGOUT_MS 2000
/* poll() slice: libiscsi wants iscsi_service() called now and then even
 * without events, to run its own PDU timeouts. */
#define WL_POLL_SLICE_MS 1000
/* Sense ASC/ASCQ values we act on (libiscsi packs them as ASC << 8 | ASCQ). */
#define WL_ASCQ_INVALID_OPCODE 0x2000
#define WL_ASCQ_INVALID_FIELD_CDB 0x2400
#define WL_ASCQ_LUN_NOT_SUPPORTED 0x2500
#define WL_ASCQ_RESV_PREEMPTED 0x2a03
#define WL_ASCQ_RESV_RELEASED 0x2a04
#define WL_ASCQ_REG_PREEMPTED 0x2a05

struct wit_lun {
	struct iscsi_context *iscsi;  /* NULL while there is no session */
	struct wit_url url;
	char name[420];               /* "iscsi://portal/iqn/lun" */
	char initiator[224];
	int timeout_s;
	uint64_t bytes;
	uint32_t block;
	bool no_fua;                  /* target refused FUA: sync cache instead */
	bool registered;              /* this session registered reg_key */
	uint64_t reg_key;
	bool recovery_due;            /* lost a session while registered */
	bool preempted;
	bool reconnected;
	struct wit_lun_stats st;
};

/* One libiscsi request in flight. msg keeps libiscsi's error text as it
 * was when the request failed: libiscsi overwrites it right after (with
 * "Can not reconnect right now" and the like), and some failures (the
 * target closing the connection) set no text at all, leaving the previous
 * one (prev) in place. */
struct wl_wait {
	int done;
	int status;
	char msg[200];
	char prev[200];
};

enum wl_kind { WL_TUR, WL_RC16, WL_RC10, WL_READ, WL_WRITE, WL_SYNC,
	       WL_PRIN, WL_PROUT };

struct wl_cmd {
	enum wl_kind kind;
	uint64_t lba;
	uint32_t nblocks;
	unsigned char *data;          /* WL_WRITE: referenced until done */
	bool fua;
	int sa;                       /* WL_PRIN, WL_PROUT: service action */
	int type;                     /* WL_PROUT */
	uint16_t xferlen;             /* WL_PRIN */
	uint64_t key;                 /* WL_PROUT: RESERVATION KEY */
	uint64_t sa_key;              /* WL_PROUT: SERVICE ACTION RESERVATION KEY */
};

/* What the target said, for callers that fall back on ILLEGAL REQUEST. */
struct wl_res {
	int status;
	int sense_key;
	int ascq;
};

static void wl_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void wl_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int64_t wl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wl_silent_log(int level, const char *message)
{
	(void)level;
	(void)message;
}

/* ---- URLs (pure) ---- */

static bool wl_is_hostname(const char *h)
{
	size_t label = 0, total = strlen(h);
	const char *p;

	if (total == 0 || total > 253)
		return false;
	for (p = h; *p; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
		if (label == 0 && *p == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && p[-1] != '-';
}

int wit_url_parse(const char *url, struct wit_url *u, char *err, size_t errlen)
{
	char host[128];
	const char *p, *slash, *hb, *he, *rest, *iqn, *lsep, *q;
	bool v6 = false;
	unsigned long port = 3260, lun = 0;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (url == NULL || *url == '\0') {
		wl_err(err, errlen, "the iSCSI URL is empty (want iscsi://ADDR[:PORT]/IQN/LUN)");
		return -CM_E_URL;
	}
	if (strncasecmp(url, "iscsi://", 8) != 0) {
		wl_err(err, errlen, "iSCSI URL '%s' does not start with 'iscsi://' (want iscsi://ADDR[:PORT]/IQN/LUN)", url);
		return -CM_E_URL;
	}
	if (strpbrk(url, "?#") != NULL) {
		wl_err(err, errlen, "iSCSI URL '%s': query strings and fragments are not supported", url);
		return -CM_E_URL;
	}
	p = url + 8;
	slash = strchr(p, '/');
	if (slash == NULL) {
		wl_err(err, errlen, "iSCSI URL '%s' has no '/IQN/LUN' after the address", url);
		return -CM_E_URL;
	}
	if (memchr(p, '@', (size_t)(slash - p)) != NULL) {
		wl_err(err, errlen, "iSCSI URL '%s': credentials in the URL are not supported", url);
		return -CM_E_URL;
	}
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(slash - p));

		if (close == NULL) {
			wl_err(err, errlen, "iSCSI URL '%s': '[' of an IPv6 address is not closed", url);
			return -CM_E_URL;
		}
		v6 = true;
		hb = p + 1;
		he = close;
		rest = close + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(slash - p));

		hb = p;
		he = colon ? colon : slash;
		rest = he;
	}
	n = (size_t)(he - hb);
	if (n == 0) {
		wl_err(err, errlen, "iSCSI URL '%s' has no address", url);
		return -CM_E_URL;
	}
	if (n >= sizeof(host)) {
		wl_err(err, errlen, "iSCSI URL '%s': the address is longer than %zu characters", url, sizeof(host) - 1);
		return -CM_E_URL;
	}
	memcpy(host, hb, n);
	host[n] = '\0';
	if (rest < slash) {
		if (*rest != ':' || rest + 1 == slash || slash - rest > 6) {
			wl_err(err, errlen, "iSCSI URL '%s': expected ':PORT' (1..65535) after the address", url);
			return -CM_E_URL;
		}
		port = 0;
		for (q = rest + 1; q < slash; q++) {
			if (*q < '0' || *q > '9') {
				wl_err(err, errlen, "iSCSI URL '%s': the port is not a number", url);
				return -CM_E_URL;
			}
			port = port * 10 + (unsigned long)(*q - '0');
		}
		if (port < 1 || port > 65535) {
			wl_err(err, errlen, "iSCSI URL '%s': port %lu is not in 1..65535", url, port);
			return -CM_E_URL;
		}
	}
	if (v6) {
		struct in6_addr a6;

		if (inet_pton(AF_INET6, host, &a6) != 1) {
			wl_err(err, errlen, "iSCSI URL '%s': '%s' is not an IPv6 address", url, host);
			return -CM_E_URL;
		}
	} else if (strspn(host, "0123456789.") == n) {
		struct in_addr a4;

		if (inet_pton(AF_INET, host, &a4) != 1) {
			wl_err(err, errlen, "iSCSI URL '%s': '%s' is not a valid IPv4 address", url, host);
			return -CM_E_URL;
		}
	} else if (!wl_is_hostname(host)) {
		wl_err(err, errlen, "iSCSI URL '%s': '%s' is neither an IPv4 address nor a host name", url, host);
		return -CM_E_URL;
	}

	iqn = slash + 1;
	lsep = strrchr(iqn, '/');
	if (lsep == NULL) {
		wl_err(err, errlen, "iSCSI URL '%s' has no '/LUN' after the target name", url);
		return -CM_E_URL;
	}
	n = (size_t)(lsep - iqn);
	if (n == 0) {
		wl_err(err, errlen, "iSCSI URL '%s' has no target name (IQN)", url);
		return -CM_E_URL;
	}
	if (n >= sizeof(u->iqn)) {
		wl_err(err, errlen, "iSCSI URL '%s': the target name is longer than %zu characters", url, sizeof(u->iqn) - 1);
		return -CM_E_URL;
	}
	if (strncasecmp(iqn, "iqn.", 4) != 0 && strncasecmp(iqn, "eui.", 4) != 0 &&
	    strncasecmp(iqn, "naa.", 4) != 0) {
		wl_err(err, errlen, "iSCSI URL '%s': the target name must start with 'iqn.', 'eui.' or 'naa.'", url);
		return -CM_E_URL;
	}
	for (q = iqn; q < lsep; q++) {
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
		      (*q >= '0' && *q <= '9') || *q == '.' || *q == '-' ||
		      *q == ':')) {
			wl_err(err, errlen, "iSCSI URL '%s': character '%c' is not allowed in a target name", url, *q);
			return -CM_E_URL;
		}
	}
	q = lsep + 1;
	if (*q == '\0' || strspn(q, "0123456789") != strlen(q) || strlen(q) > 5) {
		wl_err(err, errlen, "iSCSI URL '%s': the LUN must be a number in 0..16383", url);
		return -CM_E_URL;
	}
	lun = strtoul(q, NULL, 10);
	if (lun > 16383) {
		wl_err(err, errlen, "iSCSI URL '%s': LUN %lu is not in 0..16383", url, lun);
		return -CM_E_URL;
	}

	snprintf(u->portal, sizeof(u->portal), "%s%s%s:%lu", v6 ? "[" : "",
		 host, v6 ? "]" : "", port);
	memcpy(u->iqn, iqn, n);
	u->iqn[n] = '\0';
	u->lun = (int)lun;
	return 0;
}

void wit_url_to_str(const struct wit_url *u, char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return;
	snprintf(buf, len, "iscsi://%s/%s/%d", u->portal, u->iqn, u->lun);
}

/* ---- texts ---- */

const char *wit_ua_str(uint16_t asc_ascq)
{
	switch (asc_ascq) {
	case 0x2900: return "power on, reset, or bus device reset occurred";
	case 0x2901: return "power on occurred";
	case 0x2902: return "SCSI bus reset occurred";
	case 0x2903: return "bus device reset function occurred";
	case 0x2904: return "device internal reset";
	case 0x2907: return "I_T nexus loss occurred";
	case 0x2a01: return "mode parameters changed";
	case 0x2a03: return "reservations preempted";
	case 0x2a04: return "reservations released";
	case 0x2a05: return "registrations preempted";
	case 0x2a09: return "capacity data has changed";
	case 0x3f03: return "inquiry data has changed";
	case 0x3f0e: return "reported LUNs data has changed";
	default: return "unit attention";
	}
}

static const char *wl_status_str(int status)
{
	switch (status) {
	case SCSI_STATUS_GOOD: return "GOOD";
	case SCSI_STATUS_CHECK_CONDITION: return "CHECK CONDITION";
	case SCSI_STATUS_BUSY: return "BUSY";
	case SCSI_STATUS_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
	case SCSI_STATUS_TASK_SET_FULL: return "TASK SET FULL";
	case SCSI_STATUS_ACA_ACTIVE: return "ACA ACTIVE";
	case SCSI_STATUS_TASK_ABORTED: return "TASK ABORTED";
	default: return "unexpected status";
	}
}

/* ---- the session ---- */

static void wl_note_error(struct wl_wait *w, struct iscsi_context *iscsi)
{
	const char *e = iscsi_get_error(iscsi);
	size_t n;

	if (w->msg[0] != '\0')
		return;
	if (e == NULL || *e == '\0' || strncmp(e, w->prev, sizeof(w->prev) - 1) == 0)
		e = "the target closed the connection or the socket failed";
	cm_strlcpy(w->msg, e, sizeof(w->msg));
	n = strlen(w->msg);
	while (n > 0 && (w->msg[n - 1] == '\n' || w->msg[n - 1] == ' ' ||
			 w->msg[n - 1] == '.'))
		w->msg[--n] = '\0';
}

static void wl_cb(struct iscsi_context *iscsi, int status, void *command_data,
		  void *private_data)
{
	struct wl_wait *w = private_data;

	(void)command_data;
	w->status = status;
	w->done = 1;
	/* SCSI outcomes carry their own sense; only transport failures need
	 * libiscsi's words */
	if (status == SCSI_STATUS_ERROR || status == SCSI_STATUS_CANCELLED ||
	    status == SCSI_STATUS_TIMEOUT)
		wl_note_error(w, iscsi);
}

/* Forget the session. If it carried our registration, that registration
 * now belongs to a session nobody speaks for: recovery is due. Pending
 * callbacks run (cancelled) inside iscsi_destroy_context, while the
 * caller's wl_wait is still alive. */
static void wl_drop(struct wit_lun *l)
{
	if (l->iscsi == NULL)
		return;
	iscsi_destroy_context(l->iscsi);
	l->iscsi = NULL;
	l->st.session_losses++;
	if (l->registered) {
		l->registered = false;
		l->recovery_due = true;
	}
}

static void wl_wait_init(struct wl_wait *w, struct iscsi_context *iscsi)
{
	const char *e = iscsi_get_error(iscsi);

	memset(w, 0, sizeof(*w));
	cm_strlcpy(w->prev, e ? e : "", sizeof(w->prev));
}

/* Drive l->iscsi until w completes or the deadline passes.
 * 0, -CM_E_TIMEOUT, -CM_E_UNREACHABLE (socket broken), -errno (poll). */
static int wl_run(struct wit_lun *l, struct wl_wait *w, int64_t deadline)
{
	while (!w->done) {
		int64_t left = deadline - wl_now_ms();
		struct pollfd pfd;
		int n;

		if (left <= 0)
			return -CM_E_TIMEOUT;
		pfd.fd = iscsi_get_fd(l->iscsi);
		pfd.events = (short)iscsi_which_events(l->iscsi);
		pfd.revents = 0;
		if (pfd.fd < 0) {
			wl_note_error(w, l->iscsi);
			return -CM_E_UNREACHABLE;
		}
		n = poll(&pfd, 1, left > WL_POLL_SLICE_MS ? WL_POLL_SLICE_MS : (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(w->msg, sizeof(w->msg), "poll: %s", strerror(errno));
			return -errno;
		}
		if (iscsi_service(l->iscsi, n > 0 ? pfd.revents : 0) < 0) {
			if (w->done)
				return 0;
			wl_note_error(w, l->iscsi);
			return -CM_E_UNREACHABLE;
		}
	}
	return 0;
}

static struct scsi_task *wl_build(struct wit_lun *l, const struct wl_cmd *c,
				  struct wl_wait *w)
{
	struct scsi_persistent_reserve_out_basic basic;
	bool small = c->lba + c->nblocks <= UINT32_MAX && c->nblocks <= 0xffff;
	uint32_t bytes = c->nblocks * l->block;
	int lun = l->url.lun;

	switch (c->kind) {
	case WL_TUR:
		return iscsi_testunitready_task(l->iscsi, lun, wl_cb, w);
	case WL_RC16:
		return iscsi_readcapacity16_task(l->iscsi, lun, wl_cb, w);
	case WL_RC10:
		return iscsi_readcapacity10_task(l->iscsi, lun, 0, 0, wl_cb, w);
	case WL_READ:
		if (small)
			return iscsi_read10_task(l->iscsi, lun, (uint32_t)c->lba,
						 bytes, (int)l->block, 0, 0, 0, 0,
						 0, wl_cb, w);
		return iscsi_read16_task(l->iscsi, lun, c->lba, bytes,
					 (int)l->block, 0, 0, 0, 0, 0, wl_cb, w);
	case WL_WRITE:
		if (small)
			return iscsi_write10_task(l->iscsi, lun, (uint32_t)c->lba,
						  c->data, bytes, (int)l->block,
						  0, 0, c->fua, 0, 0, wl_cb, w);
		return iscsi_write16_task(l->iscsi, lun, c->lba, c->data, bytes,
					  (int)l->block, 0, 0, c->fua, 0, 0,
					  wl_cb, w);
	case WL_SYNC:
		return iscsi_synchronizecache10_task(l->iscsi, lun, 0, 0, 0, 0,
						     wl_cb, w);
	case WL_PRIN:
		return iscsi_persistent_reserve_in_task(l->iscsi, lun, c->sa,
							c->xferlen, wl_cb, w);
	case WL_PROUT:
		memset(&basic, 0, sizeof(basic));
		basic.reservation_key = c->key;
		basic.service_action_reservation_key = c->sa_key;
		return iscsi_persistent_reserve_out_task(l->iscsi, lun, c->sa,
				SCSI_PERSISTENT_RESERVE_SCOPE_LU, c->type, &basic,
				wl_cb, w);
	}
	return NULL;
}

static void wl_note_ua(struct wit_lun *l, int ascq)
{
	l->st.unit_attentions++;
	l->st.last_ua = (uint16_t)ascq;
	switch (ascq) {
	case WL_ASCQ_RESV_PREEMPTED:
	case WL_ASCQ_REG_PREEMPTED:
		/* the target removed our registration */
		l->registered = false;
		l->preempted = true;
		break;
	case WL_ASCQ_RESV_RELEASED:
		l->preempted = true;
		break;
	default:
		break;
	}
}

/* Run one SCSI command on the current session: unit attentions are
 * recorded and the command re-issued (it was not executed); transport
 * failures drop the session. On 0 *out holds the task (caller frees it).
 * res (may be NULL) receives status and sense for callers with fallbacks. */
static int wl_exec(struct wit_lun *l, const struct wl_cmd *c, const char *what,
		   int64_t deadline, struct scsi_task **out, struct wl_res *res,
		   char *err, size_t errlen)
{
	bool is_pr = c->kind == WL_PRIN || c->kind == WL_PROUT;
	int attempt, last_ua = 0;
	struct wl_res dummy;

	if (res == NULL)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (out)
		*out = NULL;
	for (attempt = 0; ; attempt++) {
		struct wl_wait w;
		struct scsi_task *task;
		int rc;

		if (l->iscsi == NULL) {
			wl_err(err, errlen, "%s: %s: no session", l->name, what);
			return -CM_E_UNREACHABLE;
		}
		wl_wait_init(&w, l->iscsi);
		task = wl_build(l, c, &w);
		if (task == NULL) {
			wl_err(err, errlen, "%s: %s: cannot queue the command: %s",
			       l->name, what, iscsi_get_error(l->iscsi));
			return -ENOMEM;
		}
		rc = wl_run(l, &w, deadline);
		if (rc < 0) {
			if (rc == -CM_E_TIMEOUT)
				wl_err(err, errlen, "%s: %s: no answer within %d s; session dropped",
				       l->name, what, l->timeout_s);
			else
				wl_err(err, errlen, "%s: %s: connection lost (%s); session dropped",
				       l->name, what, w.msg);
			wl_drop(l);
			scsi_free_scsi_task(task);
			return rc;
		}
		res->status = w.status;
		if (w.status == SCSI_STATUS_CHECK_CONDITION) {
			res->sense_key = task->sense.key;
			res->ascq = task->sense.ascq;
		}
		switch (w.status) {
		case SCSI_STATUS_GOOD:
		case SCSI_STATUS_CONDITION_MET:
			if (out)
				*out = task;
			else
				scsi_free_scsi_task(task);
			return 0;
		case SCSI_STATUS_CHECK_CONDITION:
			break;
		case SCSI_STATUS_RESERVATION_CONFLICT:
			scsi_free_scsi_task(task);
			if (last_ua)
				wl_err(err, errlen, "%s: %s: reservation conflict (after unit attention: %s)",
				       l->name, what, wit_ua_str((uint16_t)last_ua));
			else
				wl_err(err, errlen, "%s: %s: reservation conflict",
				       l->name, what);
			return -CM_E_CONFLICT;
		case SCSI_STATUS_TIMEOUT:
			wl_err(err, errlen, "%s: %s: no answer within %d s; session dropped",
			       l->name, what, l->timeout_s);
			wl_drop(l);
			scsi_free_scsi_task(task);
			return -CM_E_TIMEOUT;
		case SCSI_STATUS_CANCELLED:
		case SCSI_STATUS_ERROR:
			wl_err(err, errlen, "%s: %s: connection lost (%s); session dropped",
			       l->name, what, w.msg);
			wl_drop(l);
			scsi_free_scsi_task(task);
			return -CM_E_UNREACHABLE;
		default:
			scsi_free_scsi_task(task);
			wl_err(err, errlen, "%s: %s: target answered %s (0x%x)",
			       l->name, what, wl_status_str(w.status), w.status);
			return -CM_E_IO;
		}

		/* CHECK CONDITION */
		scsi_free_scsi_task(task);
		if (res->sense_key == SCSI_SENSE_UNIT_ATTENTION) {
			wl_note_ua(l, res->ascq);
			last_ua = res->ascq;
			if (attempt < WIT_UA_RETRIES)
				continue;
			wl_err(err, errlen, "%s: %s: still a unit attention (%s) after %d retries",
			       l->name, what, wit_ua_str((uint16_t)res->ascq), WIT_UA_RETRIES);
			return -CM_E_IO;
		}
		if (is_pr && res->sense_key == SCSI_SENSE_ILLEGAL_REQUEST &&
		    res->ascq == WL_ASCQ_INVALID_OPCODE) {
			wl_err(err, errlen, "%s: %s: the target does not support SCSI-3 persistent reservations (ILLEGAL REQUEST, INVALID OPERATION CODE)",
			       l->name, what);
			return -CM_E_NOPR;
		}
		wl_err(err, errlen, "%s: %s: CHECK CONDITION, %s, %s (sense %x/%04x)",
		       l->name, what, scsi_sense_key_str(res->sense_key),
		       scsi_sense_ascq_str(res->ascq), res->sense_key, res->ascq);
		return -CM_E_IO;
	}
}

/* Connect, log in and clear the new session's unit attentions. */
static int wl_connect(struct wit_lun *l, int64_t deadline, char *err,
		      size_t errlen)
{
	struct wl_wait w;
	struct wl_cmd tur = { .kind = WL_TUR };
	struct wl_res res;
	int rc;

	l->iscsi = iscsi_create_context(l->initiator);
	if (l->iscsi == NULL) {
		wl_err(err, errlen, "%s: cannot create an iSCSI context", l->name);
		return -ENOMEM;
	}
	/* LIBISCSI_DEBUG in the environment turns logging to stderr on at
	 * creation; a daemon's stderr is not the place. */
	iscsi_set_log_level(l->iscsi, 0);
	iscsi_set_log_fn(l->iscsi, wl_silent_log);
	/* Reconnecting is ours to do: libiscsi's automatic reconnect would
	 * silently replace the session and orphan our registration. */
	iscsi_set_noautoreconnect(l->iscsi, 1);
	/* A backstop only: libiscsi stamps PDUs with time(NULL) + timeout and
	 * expires them once time(NULL) reaches it, i.e. up to a second EARLY.
	 * One second more keeps it from firing before our own deadline. */
	iscsi_set_timeout(l->iscsi, l->timeout_s + 1);
	if (iscsi_set_targetname(l->iscsi, l->url.iqn) != 0 ||
	    iscsi_set_session_type(l->iscsi, ISCSI_SESSION_NORMAL) != 0) {
		wl_err(err, errlen, "%s: cannot set up the session: %s", l->name,
		       iscsi_get_error(l->iscsi));
		rc = -ENOMEM;
		goto fail;
	}

	wl_wait_init(&w, l->iscsi);
	if (iscsi_connect_async(l->iscsi, l->url.portal, wl_cb, &w) != 0) {
		wl_err(err, errlen, "%s: cannot connect: %s", l->name,
		       iscsi_get_error(l->iscsi));
		rc = -CM_E_UNREACHABLE;
		goto fail;
	}
	rc = wl_run(l, &w, deadline);
	if (rc == 0 && w.status != SCSI_STATUS_GOOD)
		rc = -CM_E_UNREACHABLE;
	if (rc < 0) {
		if (rc == -CM_E_TIMEOUT)
			wl_err(err, errlen, "%s: no TCP connection within %d s",
			       l->name, l->timeout_s);
		else
			wl_err(err, errlen, "%s: cannot connect: %s", l->name, w.msg);
		rc = -CM_E_UNREACHABLE;
		goto fail;
	}

	wl_wait_init(&w, l->iscsi);
	if (iscsi_login_async(l->iscsi, wl_cb, &w) != 0) {
		wl_err(err, errlen, "%s: cannot start the login: %s", l->name,
		       iscsi_get_error(l->iscsi));
		rc = -CM_E_UNREACHABLE;
		goto fail;
	}
	rc = wl_run(l, &w, deadline);
	if (rc == 0 && w.status != SCSI_STATUS_GOOD) {
		if (w.status == SCSI_STATUS_REDIRECT)
			wl_err(err, errlen, "%s: login refused: the target redirects to '%s' (not followed)",
			       l->name, iscsi_get_target_address(l->iscsi) ?
			       iscsi_get_target_address(l->iscsi) : "?");
		else
			wl_err(err, errlen, "%s: login refused: %s", l->name,
			       w.msg[0] ? w.msg : iscsi_get_error(l->iscsi));
		rc = -CM_E_UNREACHABLE;
		goto fail;
	}
	if (rc < 0) {
		if (rc == -CM_E_TIMEOUT)
			wl_err(err, errlen, "%s: no login answer within %d s",
			       l->name, l->timeout_s);
		else
			wl_err(err, errlen, "%s: connection lost during login: %s",
			       l->name, w.msg);
		rc = -CM_E_UNREACHABLE;
		goto fail;
	}

	/* A new I_T nexus starts with unit attentions (29/00 on tgt):
	 * wl_exec records and retries them. */
	rc = wl_exec(l, &tur, "TEST UNIT READY", deadline, NULL, &res, err, errlen);
	if (rc == -CM_E_CONFLICT)
		rc = 0;          /* someone's EXCLUSIVE ACCESS: the LUN is there */
	if (rc == -CM_E_IO && res.sense_key == SCSI_SENSE_ILLEGAL_REQUEST &&
	    res.ascq == WL_ASCQ_LUN_NOT_SUPPORTED) {
		wl_err(err, errlen, "%s: the target has no LUN %d", l->name, l->url.lun);
		rc = -CM_E_NO_OBJECT;
	}
	if (rc < 0)
		goto fail;
	return 0;
fail:
	if (l->iscsi) {
		iscsi_destroy_context(l->iscsi);
		l->iscsi = NULL;
	}
	return rc;
}

/* Start of every public call: the deadline, then a session. */
static int wl_begin(struct wit_lun *l, const char *what, int64_t *deadline,
		    char *err, size_t errlen)
{
	int rc;

	*deadline = wl_now_ms() + (int64_t)l->timeout_s * 1000;
	if (l->iscsi != NULL)
		return 0;
	rc = wl_connect(l, *deadline, err, errlen);
	if (rc < 0) {
		/* keep wl_connect's sentence, say what we were about to do */
		if (err && errlen) {
			size_t used = strlen(err);

			snprintf(err + used, errlen - used, " (reconnecting for %s)", what);
		}
		return rc;
	}
	l->st.reconnects++;
	l->reconnected = true;
	return 0;
}

static int wl_gate(struct wit_lun *l, const char *what, char *err, size_t errlen)
{
	if (!l->recovery_due)
		return 0;
	wl_err(err, errlen, "%s: %s refused: the session that registered key 0x%" PRIx64 " was lost and still holds that registration (and the reservation, if we had it); call wit_pr_recover first",
	       l->name, what, l->reg_key);
	return -CM_E_PREEMPTED;
}

/* ---- open / close ---- */

static int wl_capacity(struct wit_lun *l, int64_t deadline, char *err,
		       size_t errlen)
{
	struct wl_cmd c16 = { .kind = WL_RC16 }, c10 = { .kind = WL_RC10 };
	struct scsi_task *task = NULL;
	struct wl_res res;
	int rc;

	rc = wl_exec(l, &c16, "READ CAPACITY(16)", deadline, &task, &res, err, errlen);
	if (rc == 0) {
		struct scsi_readcapacity16 *rc16 = scsi_datain_unmarshall(task);

		if (rc16 == NULL || rc16->returned_lba == UINT64_MAX) {
			wl_err(err, errlen, "%s: READ CAPACITY(16) returned malformed data", l->name);
			rc = -CM_E_IO;
		} else {
			l->block = rc16->block_length;
			l->bytes = (rc16->returned_lba + 1) * (uint64_t)rc16->block_length;
		}
	} else if (rc == -CM_E_IO && res.sense_key == SCSI_SENSE_ILLEGAL_REQUEST) {
		/* SBC-2 targets and non-disk devices may lack the 16-byte form */
		rc = wl_exec(l, &c10, "READ CAPACITY(10)", deadline, &task, NULL, err, errlen);
		if (rc == 0) {
			struct scsi_readcapacity10 *rc10 = scsi_datain_unmarshall(task);

			if (rc10 == NULL) {
				wl_err(err, errlen, "%s: READ CAPACITY(10) returned malformed data", l->name);
				rc = -CM_E_IO;
			} else {
				l->block = rc10->block_size;
				l->bytes = ((uint64_t)rc10->lba + 1) * rc10->block_size;
			}
		}
	}
	scsi_free_scsi_task(task);
	if (rc == 0 && (l->block < 512 || l->block > 65536 ||
			(l->block & (l->block - 1)) != 0)) {
		wl_err(err, errlen, "%s: unusable logical block size %" PRIu32, l->name, l->block);
		rc = -CM_E_IO;
	}
	return rc;
}

int wit_lun_open(const struct wit_url *u, const char *initiator_iqn,
		 int timeout_s, struct wit_lun **out, char *err, size_t errlen)
{
	struct wit_lun *l;
	int64_t deadline;
	int rc;

	if (out)
		*out = NULL;
	if (u == NULL || out == NULL || initiator_iqn == NULL ||
	    *initiator_iqn == '\0' || timeout_s < 1 || timeout_s > 3600) {
		wl_err(err, errlen, "wit_lun_open: missing URL, handle or initiator name, or timeout not in 1..3600 s");
		return -EINVAL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		wl_err(err, errlen, "iscsi://%s/%s/%d: out of memory", u->portal, u->iqn, u->lun);
		return -ENOMEM;
	}
	l->url = *u;
	wit_url_to_str(u, l->name, sizeof(l->name));
	if (cm_strlcpy(l->initiator, initiator_iqn, sizeof(l->initiator)) < 0) {
		wl_err(err, errlen, "%s: initiator name '%s' is too long", l->name, initiator_iqn);
		free(l);
		return -EINVAL;
	}
	l->timeout_s = timeout_s;

	deadline = wl_now_ms() + (int64_t)timeout_s * 1000;
	rc = wl_connect(l, deadline, err, errlen);
	if (rc == 0)
		rc = wl_capacity(l, deadline, err, errlen);
	if (rc < 0) {
		/* no logout: it could take us past the deadline */
		if (l->iscsi)
			iscsi_destroy_context(l->iscsi);
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void wit_lun_close(struct wit_lun *l)
{
	if (l == NULL)
		return;
	if (l->iscsi != NULL) {
		struct wl_wait w;
		int64_t ms = (int64_t)l->timeout_s * 1000;

		if (ms > WL_LOGOUT_MS)
			ms = WL_LOGOUT_MS;
		wl_wait_init(&w, l->iscsi);
		if (iscsi_logout_async(l->iscsi, wl_cb, &w) == 0)
			(void)wl_run(l, &w, wl_now_ms() + ms);
		iscsi_destroy_context(l->iscsi);
	}
	free(l);
}

uint64_t wit_lun_bytes(const struct wit_lun *l)
{
	return l ? l->bytes : 0;
}

uint32_t wit_lun_block(const struct wit_lun *l)
{
	return l ? l->block : 0;
}

const char *wit_lun_name(const struct wit_lun *l)
{
	return l ? l->name : "(no LUN)";
}

bool wit_lun_take_preempted(struct wit_lun *l)
{
	bool v = l->preempted;

	l->preempted = false;
	return v;
}

bool wit_lun_take_reconnected(struct wit_lun *l)
{
	bool v = l->reconnected;

	l->reconnected = false;
	return v;
}

bool wit_lun_recovery_due(const struct wit_lun *l)
{
	return l->recovery_due;
}

void wit_lun_get_stats(const struct wit_lun *l, struct wit_lun_stats *st)
{
	*st = l->st;
	st->recovery_due = l->recovery_due;
}

/* ---- block I/O ---- */

static int wl_check_range(struct wit_lun *l, const char *what, uint64_t off,
			  const void *buf, size_t len, char *err, size_t errlen)
{
	if (buf == NULL || len == 0 || off % l->block != 0 || len % l->block != 0) {
		wl_err(err, errlen, "%s: %s of %zu bytes at offset %" PRIu64 ": offset and length must be non-zero multiples of the block size %" PRIu32,
		       l->name, what, len, off, l->block);
		return -EINVAL;
	}
	if (off > l->bytes || len > l->bytes - off) {
		wl_err(err, errlen, "%s: %s of %zu bytes at offset %" PRIu64 " goes beyond the end of the LUN (%" PRIu64 " bytes)",
		       l->name, what, len, off, l->bytes);
		return -CM_E_SMALL;
	}
	return 0;
}

int wit_lun_read(struct wit_lun *l, uint64_t off, void *buf, size_t len,
		 char *err, size_t errlen)
{
	unsigned char *p = buf;
	int64_t deadline;
	int rc;

	rc = wl_check_range(l, "READ", off, buf, len, err, errlen);
	if (rc == 0)
		rc = wl_begin(l, "READ", &deadline, err, errlen);
	while (rc == 0 && len > 0) {
		size_t chunk = len < WL_MAX_XFER ? len : WL_MAX_XFER;
		struct wl_cmd c = { .kind = WL_READ, .lba = off / l->block,
				    .nblocks = (uint32_t)(chunk / l->block) };
		struct scsi_task *task = NULL;
		char what[96];

		snprintf(what, sizeof(what), "READ of %" PRIu32 " blocks at LBA %" PRIu64,
			 c.nblocks, c.lba);
		rc = wl_exec(l, &c, what, deadline, &task, NULL, err, errlen);
		if (rc < 0)
			break;
		if (task->datain.data == NULL || (size_t)task->datain.size < chunk) {
			wl_err(err, errlen, "%s: %s: short read (%d of %zu bytes)",
			       l->name, what, task->datain.size, chunk);
			rc = -CM_E_IO;
		} else {
			memcpy(p, task->datain.data, chunk);
		}
		scsi_free_scsi_task(task);
		p += chunk;
		off += chunk;
		len -= chunk;
	}
	return rc;
}

int wit_lun_write(struct wit_lun *l, uint64_t off, const void *buf,
		  size_t len, char *err, size_t errlen)
{
	/* libiscsi reads the data in place and never writes it */
	unsigned char *p = (unsigned char *)(uintptr_t)buf;
	int64_t deadline;
	int rc;

	rc = wl_check_range(l, "WRITE", off, buf, len, err, errlen);
	if (rc == 0)
		rc = wl_gate(l, "WRITE", err, errlen);
	if (rc == 0)
		rc = wl_begin(l, "WRITE", &deadline, err, errlen);
	while (rc == 0 && len > 0) {
		size_t chunk = len < WL_MAX_XFER ? len : WL_MAX_XFER;
		struct wl_cmd c = { .kind = WL_WRITE, .lba = off / l->block,
				    .nblocks = (uint32_t)(chunk / l->block),
				    .data = p, .fua = !l->no_fua };
		struct wl_res res;
		char what[96];

		snprintf(what, sizeof(what), "WRITE%s of %" PRIu32 " blocks at LBA %" PRIu64,
			 c.fua ? " (FUA)" : "", c.nblocks, c.lba);
		rc = wl_exec(l, &c, what, deadline, NULL, &res, err, errlen);
		if (rc == -CM_E_IO && c.fua && res.sense_key == SCSI_SENSE_ILLEGAL_REQUEST &&
		    res.ascq == WL_ASCQ_INVALID_FIELD_CDB) {
			/* no FUA here: write, then SYNCHRONIZE CACHE */
			l->no_fua = true;
			rc = 0;
			continue;
		}
		p += chunk;
		off += chunk;
		len -= chunk;
	}
	if (rc == 0 && l->no_fua) {
		struct wl_cmd s = { .kind = WL_SYNC };

		rc = wl_exec(l, &s, "SYNCHRONIZE CACHE", deadline, NULL, NULL, err, errlen);
	}
	return rc;
}

/* ---- persistent reservations ---- */

static const char *wl_prout_str(int sa)
{
	switch (sa) {
	case SCSI_PERSISTENT_RESERVE_REGISTER: return "REGISTER";
	case SCSI_PERSISTENT_RESERVE_RESERVE: return "RESERVE";
	case SCSI_PERSISTENT_RESERVE_RELEASE: return "RELEASE";
	case SCSI_PERSISTENT_RESERVE_PREEMPT: return "PREEMPT";
	case SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY:
		return "REGISTER AND IGNORE EXISTING KEY";
	default: return "service action";
	}
}

static int wl_prout(struct wit_lun *l, int sa, uint64_t key, uint64_t sa_key,
		    int64_t deadline, char *err, size_t errlen)
{
	struct wl_cmd c = { .kind = WL_PROUT, .sa = sa, .key = key,
			    .sa_key = sa_key };
	char what[160];

	/* the type field only matters for RESERVE, RELEASE and PREEMPT */
	if (sa == SCSI_PERSISTENT_RESERVE_RESERVE || sa == SCSI_PERSISTENT_RESERVE_RELEASE ||
	    sa == SCSI_PERSISTENT_RESERVE_PREEMPT)
		c.type = WIT_PR_TYPE_WE;
	snprintf(what, sizeof(what), "PERSISTENT RESERVE OUT %s (key 0x%" PRIx64 ", service action key 0x%" PRIx64 "%s)",
		 wl_prout_str(sa), key, sa_key, c.type ? ", type WRITE EXCLUSIVE" : "");
	return wl_exec(l, &c, what, deadline, NULL, NULL, err, errlen);
}

static int wl_prin(struct wit_lun *l, int sa, uint16_t xferlen, const char *what,
		   int64_t deadline, struct scsi_task **task, struct wl_res *res,
		   char *err, size_t errlen)
{
	struct wl_cmd c = { .kind = WL_PRIN, .sa = sa, .xferlen = xferlen };
	int rc;

	rc = wl_exec(l, &c, what, deadline, task, res, err, errlen);
	if (rc == 0 && scsi_datain_unmarshall(*task) == NULL) {
		wl_err(err, errlen, "%s: %s returned malformed data", l->name, what);
		scsi_free_scsi_task(*task);
		*task = NULL;
		rc = -CM_E_IO;
	}
	return rc;
}

static int wl_read_keys(struct wit_lun *l, int64_t deadline, uint64_t *keys,
			size_t max, size_t *n, uint32_t *generation, char *err,
			size_t errlen)
{
	struct scsi_persistent_reserve_in_read_keys *rk;
	struct scsi_task *task = NULL;
	size_t want = 8 + 8 * (max < 8190 ? max : 8190), i;
	int rc;

	rc = wl_prin(l, SCSI_PERSISTENT_RESERVE_READ_KEYS, (uint16_t)want,
		     "PERSISTENT RESERVE IN READ KEYS", deadline, &task, NULL,
		     err, errlen);
	if (rc < 0)
		return rc;
	rk = scsi_datain_unmarshall(task);
	for (i = 0; i < max && i < (size_t)rk->num_keys; i++)
		keys[i] = rk->keys[i];
	*n = rk->additional_length / 8;
	if (generation)
		*generation = rk->prgeneration;
	scsi_free_scsi_task(task);
	return 0;
}

static int wl_read_resv(struct wit_lun *l, int64_t deadline, bool *reserved,
			uint64_t *holder, int *type, char *err, size_t errlen)
{
	struct scsi_persistent_reserve_in_read_reservation *rr;
	struct scsi_task *task = NULL;
	int rc;

	rc = wl_prin(l, SCSI_PERSISTENT_RESERVE_READ_RESERVATION, 24,
		     "PERSISTENT RESERVE IN READ RESERVATION", deadline, &task,
		     NULL, err, errlen);
	if (rc < 0)
		return rc;
	rr = scsi_datain_unmarshall(task);
	*reserved = rr->reserved != 0;
	if (holder)
		*holder = rr->reserved ? rr->reservation_key : 0;
	if (type)
		*type = rr->reserved ? rr->pr_type : 0;
	scsi_free_scsi_task(task);
	return 0;
}

int wit_pr_caps(struct wit_lun *l, char *err, size_t errlen)
{
	struct scsi_persistent_reserve_in_report_capabilities *rc_data;
	struct scsi_task *task = NULL;
	struct wl_res res;
	int64_t deadline;
	int rc;

	rc = wl_begin(l, "PERSISTENT RESERVE IN", &deadline, err, errlen);
	if (rc < 0)
		return rc;
	rc = wl_prin(l, SCSI_PERSISTENT_RESERVE_REPORT_CAPABILITIES, 8,
		     "PERSISTENT RESERVE IN REPORT CAPABILITIES", deadline, &task,
		     &res, err, errlen);
	if (rc == -CM_E_IO && res.sense_key == SCSI_SENSE_ILLEGAL_REQUEST) {
		/* REPORT CAPABILITIES is optional (SPC-3): READ KEYS is not */
		uint64_t k;
		size_t n;

		rc = wl_read_keys(l, deadline, &k, 0, &n, NULL, err, errlen);
		if (rc == -CM_E_IO && l->iscsi != NULL) {
			wl_err(err, errlen, "%s: the target does not support SCSI-3 persistent reservations (neither REPORT CAPABILITIES nor READ KEYS works)",
			       l->name);
			rc = -CM_E_NOPR;
		}
		return rc;
	}
	if (rc < 0)
		return rc;
	rc_data = scsi_datain_unmarshall(task);
	if (rc_data->tmv &&
	    !(rc_data->persistent_reservation_type_mask & SCSI_PR_TYPE_MASK_WR_EX)) {
		wl_err(err, errlen, "%s: the target does not support SCSI-3 persistent reservations of type WRITE EXCLUSIVE (type mask 0x%04x)",
		       l->name, rc_data->persistent_reservation_type_mask);
		rc = -CM_E_NOPR;
	}
	scsi_free_scsi_task(task);
	return rc;
}

int wit_pr_register(struct wit_lun *l, uint64_t key, char *err, size_t errlen)
{
	int64_t deadline;
	int rc;

	if (key == 0) {
		wl_err(err, errlen, "%s: cannot register key 0 (it means 'none')", l->name);
		return -EINVAL;
	}
	rc = wl_begin(l, "PERSISTENT RESERVE OUT REGISTER", &deadline, err, errlen);
	if (rc == 0)
		rc = wl_prout(l, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
			      0, key, deadline, err, errlen);
	if (rc == 0) {
		l->registered = true;
		if (!l->recovery_due)
			l->reg_key = key;
	}
	return rc;
}

int wit_pr_unregister(struct wit_lun *l, uint64_t key, char *err,
		      size_t errlen)
{
	int64_t deadline;
	int rc;

	rc = wl_gate(l, "PERSISTENT RESERVE OUT unregister", err, errlen);
	if (rc == 0)
		rc = wl_begin(l, "PERSISTENT RESERVE OUT unregister", &deadline, err, errlen);
	if (rc == 0)
		rc = wl_prout(l, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
			      key, 0, deadline, err, errlen);
	if (rc == 0)
		l->registered = false;
	return rc;
}

int wit_pr_reserve(struct wit_lun *l, uint64_t key, char *err, size_t errlen)
{
	int64_t deadline;
	int rc;

	rc = wl_gate(l, "PERSISTENT RESERVE OUT RESERVE", err, errlen);
	if (rc == 0)
		rc = wl_begin(l, "PERSISTENT RESERVE OUT RESERVE", &deadline, err, errlen);
	if (rc == 0)
		rc = wl_prout(l, SCSI_PERSISTENT_RESERVE_RESERVE, key, 0, deadline,
			      err, errlen);
	if (rc == -CM_E_CONFLICT) {
		/* Say who: the caller's next step depends on it. */
		bool reserved = false;
		uint64_t holder = 0;
		int type = 0;
		char tmp[8];

		if (wl_read_resv(l, deadline, &reserved, &holder, &type, tmp, sizeof(tmp)) == 0) {
			if (!reserved || holder == key)
				wl_err(err, errlen, "%s: PERSISTENT RESERVE OUT RESERVE (key 0x%" PRIx64 ", type WRITE EXCLUSIVE): reservation conflict: key 0x%" PRIx64 " is not registered through this session%s",
				       l->name, key, key, reserved ? " (the reservation is held by that key through another session)" : " (the LUN is not reserved)");
			else
				wl_err(err, errlen, "%s: PERSISTENT RESERVE OUT RESERVE (key 0x%" PRIx64 ", type WRITE EXCLUSIVE): reservation conflict: held by key 0x%" PRIx64 " (type %d)",
				       l->name, key, holder, type);
		}
	}
	return rc;
}

int wit_pr_release(struct wit_lun *l, uint64_t key, char *err, size_t errlen)
{
	int64_t deadline;
	int rc;

	rc = wl_gate(l, "PERSISTENT RESERVE OUT RELEASE", err, errlen);
	if (rc == 0)
		rc = wl_begin(l, "PERSISTENT RESERVE OUT RELEASE", &deadline, err, errlen);
	if (rc == 0)
		rc = wl_prout(l, SCSI_PERSISTENT_RESERVE_RELEASE, key, 0, deadline,
			      err, errlen);
	return rc;
}

int wit_pr_preempt(struct wit_lun *l, uint64_t key, uint64_t victim,
		   char *err, size_t errlen)
{
	int64_t deadline;
	int rc;

	if (victim == 0) {
		wl_err(err, errlen, "%s: PREEMPT of key 0 would remove every registration; refused", l->name);
		return -EINVAL;
	}
	rc = wl_gate(l, "PERSISTENT RESERVE OUT PREEMPT", err, errlen);
	if (rc == 0)
		rc = wl_begin(l, "PERSISTENT RESERVE OUT PREEMPT", &deadline, err, errlen);
	if (rc == 0)
		rc = wl_prout(l, SCSI_PERSISTENT_RESERVE_PREEMPT, key, victim,
			      deadline, err, errlen);
	if (rc == -CM_E_CONFLICT && err && errlen) {
		size_t used = strlen(err);

		snprintf(err + used, errlen - used, ": key 0x%" PRIx64 " is not registered (any more), or 0x%" PRIx64 " is not our registration",
			 victim, key);
	}
	return rc;
}

int wit_pr_read_keys(struct wit_lun *l, uint64_t *keys, size_t max,
		     size_t *n, uint32_t *generation, char *err, size_t errlen)
{
	int64_t deadline;
	int rc;

	*n = 0;
	rc = wl_begin(l, "PERSISTENT RESERVE IN READ KEYS", &deadline, err, errlen);
	if (rc == 0)
		rc = wl_read_keys(l, deadline, keys, max, n, generation, err, errlen);
	return rc;
}

int wit_pr_read_reservation(struct wit_lun *l, bool *reserved,
			    uint64_t *holder, int *type, char *err,
			    size_t errlen)
{
	int64_t deadline;
	int rc;

	*reserved = false;
	rc = wl_begin(l, "PERSISTENT RESERVE IN READ RESERVATION", &deadline, err, errlen);
	if (rc == 0)
		rc = wl_read_resv(l, deadline, reserved, holder, type, err, errlen);
	return rc;
}

int wit_pr_recover(struct wit_lun *l, uint64_t key, bool *holding, char *err,
		   size_t errlen)
{
	uint64_t keys[64], holder = 0;
	size_t n = 0, i, mine = 0;
	bool reserved = false;
	int64_t deadline;
	int rc;

	if (holding)
		*holding = false;
	if (key == 0) {
		wl_err(err, errlen, "%s: cannot recover key 0", l->name);
		return -EINVAL;
	}
	rc = wl_begin(l, "recovery of our registration", &deadline, err, errlen);
	if (rc == 0)
		rc = wl_prout(l, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY,
			      0, key, deadline, err, errlen);
	if (rc < 0)
		return rc;
	l->registered = true;
	l->reg_key = key;
	rc = wl_read_resv(l, deadline, &reserved, &holder, NULL, err, errlen);
	if (rc == 0)
		rc = wl_read_keys(l, deadline, keys, sizeof(keys) / sizeof(keys[0]),
				  &n, NULL, err, errlen);
	if (rc < 0)
		return rc;
	for (i = 0; i < n && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i] == key)
			mine++;
	/* PREEMPT(key -> key) moves a reservation held by key to this session
	 * and removes every other registration of key; it never touches a
	 * reservation held by another key. */
	if ((reserved && holder == key) || mine > 1) {
		rc = wl_prout(l, SCSI_PERSISTENT_RESERVE_PREEMPT, key, key,
			      deadline, err, errlen);
		if (rc < 0)
			return rc;
	}
	l->recovery_due = false;
	if (holding)
		*holding = reserved && holder == key;
	return 0;
}

/* cm_iscsi_pr.c - LD_PRELOAD shim for QEMU: registers QEMU's own iSCSI
 * session with the node's persistent-reservation key and moves the node's
 * WRITE EXCLUSIVE reservation onto it.
 *
 * Why: tgt ties registrations and the reservation to the iSCSI session.
 * `clusterd-lun disk online` reserves the LUN with key K from its own
 * session and exits; QEMU then logs in with a session of its own, which is
 * a stranger to the target and gets RESERVATION CONFLICT on every write.
 * Right after QEMU's iscsi_full_connect_sync() succeeds, for a listed
 * IQN/LUN, this shim does on QEMU's session:
 *   1. REGISTER AND IGNORE EXISTING KEY K;
 *   2. READ RESERVATION:
 *      none          -> RESERVE (K, WE);
 *      held by K     -> PREEMPT (K -> K, WE): the reservation moves to this
 *                       session and K's stale registrations go;
 *      held by other -> unregister again, nothing else (QEMU's writes then
 *                       fail; the disk's health check reports the loss).
 * This is wit_pr_recover()'s recipe with plain libiscsi sync calls.
 *
 * Environment: CM_PR_KEY=0x... (required, non-zero), CM_PR_TARGETS=
 * "IQN/LUN[,IQN/LUN...]" (only these are touched), CM_PR_LOG=/path (optional:
 * one line appended per action).
 *
 * Must never: change the return value of the interposed calls, crash or
 * abort QEMU (every failure is logged and ignored), write to stdout/stderr,
 * or do anything for a target that is not listed.
 * Limits: libiscsi's automatic reconnect builds a new session inside
 * libiscsi without iscsi_full_connect_sync(); that session is not
 * registered (see the report of the physical-disk type).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define PR_CTX_MAX 64        /* contexts remembered (ring; QEMU has a few per disk) */
#define PR_NAME_MAX 256
#define PR_UA_RETRIES 8      /* unit attentions per command before giving up */
#define PR_STEPS 4           /* read-decide-act rounds when the state moves under us */
#define PR_TYPE_WE SCSI_PERSISTENT_RESERVE_TYPE_WRITE_EXCLUSIVE

struct pr_ctx {
	struct iscsi_context *ctx;
	char target[PR_NAME_MAX];
};

static pthread_mutex_t pr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pr_ctx pr_ctxs[PR_CTX_MAX];
static unsigned pr_next;

typedef int (*connect_fn)(struct iscsi_context *, const char *, int);
typedef int (*settarget_fn)(struct iscsi_context *, const char *);

static void pr_log(const char *target, int lun, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void pr_log(const char *target, int lun, const char *fmt, ...)
{
	const char *path = getenv("CM_PR_LOG");
	char msg[512];
	struct timespec ts;
	va_list ap;
	FILE *f;

	if (path == NULL || *path == '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&pr_lock);
	f = fopen(path, "ae");
	if (f) {
		fprintf(f, "%lld.%03ld pid %d %s/%d: %s\n", (long long)ts.tv_sec,
			ts.tv_nsec / 1000000, (int)getpid(), target, lun, msg);
		fclose(f);
	}
	pthread_mutex_unlock(&pr_lock);
}

/* ---- the interposed calls ---- */

int iscsi_set_targetname(struct iscsi_context *iscsi, const char *targetname)
{
	static settarget_fn real;
	unsigned i, slot;
	int rc;

	if (real == NULL)
		real = (settarget_fn)dlsym(RTLD_NEXT, "iscsi_set_targetname");
	if (real == NULL)
		return -1;  /* cannot happen when libiscsi is loaded: it defines it */
	rc = real(iscsi, targetname);
	if (rc != 0 || targetname == NULL || strlen(targetname) >= PR_NAME_MAX)
		return rc;
	pthread_mutex_lock(&pr_lock);
	slot = pr_next;
	for (i = 0; i < PR_CTX_MAX; i++)
		if (pr_ctxs[i].ctx == iscsi) {
			slot = i;
			break;
		}
	if (slot == pr_next)
		pr_next = (pr_next + 1) % PR_CTX_MAX;
	pr_ctxs[slot].ctx = iscsi;
	snprintf(pr_ctxs[slot].target, sizeof(pr_ctxs[slot].target), "%s", targetname);
	pthread_mutex_unlock(&pr_lock);
	return rc;
}

static bool pr_target_of(struct iscsi_context *iscsi, char *buf, size_t len)
{
	bool found = false;
	unsigned i;

	pthread_mutex_lock(&pr_lock);
	for (i = 0; i < PR_CTX_MAX; i++)
		if (pr_ctxs[i].ctx == iscsi) {
			snprintf(buf, len, "%s", pr_ctxs[i].target);
			found = true;
			break;
		}
	pthread_mutex_unlock(&pr_lock);
	return found;
}

/* Is IQN/LUN in CM_PR_TARGETS? */
static bool pr_listed(const char *target, int lun)
{
	const char *list = getenv("CM_PR_TARGETS"), *p, *end;
	char want[PR_NAME_MAX + 16];
	size_t n;

	if (list == NULL)
		return false;
	n = (size_t)snprintf(want, sizeof(want), "%s/%d", target, lun);
	for (p = list; *p; p = *end ? end + 1 : end) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && *p == ' ')
			p++;
		if ((size_t)(end - p) == n && strncmp(p, want, n) == 0)
			return true;
	}
	return false;
}

/* CM_PR_KEY: 0 when absent or malformed. */
static uint64_t pr_key(void)
{
	const char *s = getenv("CM_PR_KEY");
	unsigned long long v;
	char *end;

	if (s == NULL || *s == '\0')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno != 0 || *end != '\0')
		return 0;
	return (uint64_t)v;
}

/* ---- SCSI, with unit attentions retried ---- */

struct pr_sess {
	struct iscsi_context *iscsi;
	const char *target;
	int lun;
};

/* The outcome of a command: 0 good, 1 reservation conflict, -1 failed
 * (logged). *out gets the task on 0 when out is given. */
static int pr_finish(struct pr_sess *s, const char *what, struct scsi_task *t,
		     int *attempt, struct scsi_task **out)
{
	if (t == NULL) {
		pr_log(s->target, s->lun, "%s: failed: %s", what, iscsi_get_error(s->iscsi));
		return -1;
	}
	if (t->status == SCSI_STATUS_GOOD) {
		if (out)
			*out = t;
		else
			scsi_free_scsi_task(t);
		return 0;
	}
	if (t->status == SCSI_STATUS_RESERVATION_CONFLICT) {
		scsi_free_scsi_task(t);
		return 1;
	}
	if (t->status == SCSI_STATUS_CHECK_CONDITION &&
	    t->sense.key == SCSI_SENSE_UNIT_ATTENTION && *attempt < PR_UA_RETRIES) {
		/* 29/xx after login, 2A/03 2A/04 2A/05 after PR changes: the
		 * command was not executed; send it again */
		pr_log(s->target, s->lun, "%s: unit attention %02x/%02x, retrying", what,
		       (unsigned)(t->sense.ascq >> 8) & 0xff, (unsigned)t->sense.ascq & 0xff);
		scsi_free_scsi_task(t);
		(*attempt)++;
		return 2;
	}
	if (t->status == SCSI_STATUS_CHECK_CONDITION)
		pr_log(s->target, s->lun, "%s: CHECK CONDITION %s, %s", what,
		       scsi_sense_key_str(t->sense.key), scsi_sense_ascq_str(t->sense.ascq));
	else
		pr_log(s->target, s->lun, "%s: SCSI status 0x%x", what, (unsigned)t->status);
	scsi_free_scsi_task(t);
	return -1;
}

static int pr_out(struct pr_sess *s, int sa, uint64_t key, uint64_t sa_key, int type,
		  const char *what)
{
	struct scsi_persistent_reserve_out_basic basic;
	int attempt = 0, rc;

	do {
		memset(&basic, 0, sizeof(basic));
		basic.reservation_key = key;
		basic.service_action_reservation_key = sa_key;
		rc = pr_finish(s, what, iscsi_persistent_reserve_out_sync(s->iscsi, s->lun, sa,
				SCSI_PERSISTENT_RESERVE_SCOPE_LU, type, &basic), &attempt, NULL);
	} while (rc == 2);
	return rc;
}

/* READ RESERVATION: 0 with *reserved / *holder / *type, or -1. */
static int pr_read_resv(struct pr_sess *s, int *reserved, uint64_t *holder, int *type)
{
	struct scsi_persistent_reserve_in_read_reservation *rr;
	struct scsi_task *t = NULL;
	int attempt = 0, rc;

	do {
		rc = pr_finish(s, "READ RESERVATION",
			       iscsi_persistent_reserve_in_sync(s->iscsi, s->lun,
					SCSI_PERSISTENT_RESERVE_READ_RESERVATION, 24),
			       &attempt, &t);
	} while (rc == 2);
	if (rc != 0)
		return -1;
	rr = scsi_datain_unmarshall(t);
	if (rr == NULL) {
		pr_log(s->target, s->lun, "READ RESERVATION: malformed answer");
		scsi_free_scsi_task(t);
		return -1;
	}
	*reserved = rr->reserved != 0;
	*holder = rr->reserved ? rr->reservation_key : 0;
	*type = rr->reserved ? rr->pr_type : 0;
	scsi_free_scsi_task(t);
	return 0;
}

/* The registration dance on QEMU's fresh session. */
static void pr_take(struct pr_sess *s, uint64_t key)
{
	uint64_t holder;
	int reserved, type, rc, step;

	rc = pr_out(s, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY, 0, key, 0,
		    "REGISTER AND IGNORE EXISTING KEY");
	if (rc != 0) {
		pr_log(s->target, s->lun, "register key 0x%" PRIx64 ": %s; nothing done", key,
		       rc == 1 ? "reservation conflict" : "failed");
		return;
	}
	pr_log(s->target, s->lun, "registered key 0x%" PRIx64, key);
	for (step = 0; step < PR_STEPS; step++) {
		if (pr_read_resv(s, &reserved, &holder, &type) != 0)
			return;
		if (reserved && holder != key) {
			pr_log(s->target, s->lun, "reservation held by key 0x%" PRIx64 " (type %d), not ours: not taken; writes will fail",
			       holder, type);
			/* a registration that can never write would only linger */
			if (pr_out(s, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY, key, 0, 0,
				   "unregister") == 0)
				pr_log(s->target, s->lun, "unregistered key 0x%" PRIx64 " again", key);
			return;
		}
		if (reserved)
			rc = pr_out(s, SCSI_PERSISTENT_RESERVE_PREEMPT, key, key, PR_TYPE_WE,
				    "PREEMPT");
		else
			rc = pr_out(s, SCSI_PERSISTENT_RESERVE_RESERVE, key, 0, PR_TYPE_WE,
				    "RESERVE");
		if (rc < 0)
			return;
		if (rc == 0) {
			pr_log(s->target, s->lun, "%s",
			       reserved ? "took over our reservation from a stale session (PREEMPT key -> key, WE)"
					: "reserved (WE)");
			return;
		}
		/* conflict: the reservation changed under us; look again */
		pr_log(s->target, s->lun, "%s: reservation conflict; reading again",
		       reserved ? "PREEMPT" : "RESERVE");
	}
	pr_log(s->target, s->lun, "gave up after %d rounds: the reservation keeps changing", PR_STEPS);
}

int iscsi_full_connect_sync(struct iscsi_context *iscsi, const char *portal, int lun)
{
	static connect_fn real;
	char target[PR_NAME_MAX];
	struct pr_sess s;
	uint64_t key;
	int rc;

	if (real == NULL)
		real = (connect_fn)dlsym(RTLD_NEXT, "iscsi_full_connect_sync");
	if (real == NULL)
		return -1;
	rc = real(iscsi, portal, lun);
	if (rc != 0 || !pr_target_of(iscsi, target, sizeof(target)) || !pr_listed(target, lun))
		return rc;
	key = pr_key();
	if (key == 0) {
		pr_log(target, lun, "CM_PR_KEY is missing or not a hex number: nothing done");
		return rc;
	}
	s.iscsi = iscsi;
	s.target = target;
	s.lun = lun;
	pr_take(&s, key);
	return rc;
}

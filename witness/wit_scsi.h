/* wit_scsi.h - one iSCSI LUN through libiscsi: block I/O and SCSI-3
 * persistent reservations (PR), every call bounded by a timeout.
 *
 * Owns: the libiscsi context of a handle, its session (login, unit
 * attentions, reconnect after a loss) and the translation of SCSI status
 * and sense data into 0 / -errno / -CM_E_* with one sentence.
 * Must never: run in clusterd's main loop (calls block for up to the
 * handle's timeout), log (errors come back as sentences; libiscsi's own
 * logging is silenced), decide anything about arbitration (that is the
 * witness's policy), or share a handle between threads.
 *
 * Timing contract: every call returns within the handle's timeout_s,
 * reconnects and unit-attention retries included. wit_lun_close() waits
 * at most min(timeout_s, 2 s) for a polite logout. Host-name resolution
 * (getaddrinfo inside libiscsi) is the one step that is not bounded: use
 * an address literal for a witness.
 *
 * Sessions: a handle has at most one session. A call that loses it (the
 * connection breaks: -CM_E_UNREACHABLE, or no answer in time:
 * -CM_E_TIMEOUT) drops it; the next call logs in again (bounded by that
 * call's timeout). Targets like tgt tie PR registrations to the session,
 * so if this handle had a key registered when the session was lost, the
 * old session keeps that registration (and the reservation, if we held
 * it). Until wit_pr_recover() succeeds, wit_lun_write, wit_pr_reserve,
 * wit_pr_release, wit_pr_preempt and wit_pr_unregister then refuse with
 * -CM_E_PREEMPTED instead of failing in confusing ways (a RESERVE from the
 * new session would otherwise report a conflict with ourselves).
 *
 * Unit attentions are recorded (wit_lun_get_stats) and the command is
 * retried (at most WIT_UA_RETRIES times, still within the timeout): the
 * command that reported one was not executed. 2A/03 (reservations
 * preempted), 2A/04 (reservations released) and 2A/05 (registrations
 * preempted) also raise a flag that wit_lun_take_preempted() returns once.
 */
#ifndef WIT_SCSI_H
#define WIT_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Unit attentions retried per command before giving up with -CM_E_IO. */
#define WIT_UA_RETRIES 10

/** Persistent reservation type WRITE EXCLUSIVE, the only type this module
 * takes: with the registrants-only types a preempted node could register
 * again and write. */
#define WIT_PR_TYPE_WE 1

/** A parsed iscsi://ADDR[:PORT]/IQN/LUN. */
struct wit_url {
	char portal[160]; /**< "ADDR:PORT" ("[v6]:PORT" for IPv6), as libiscsi wants it */
	char iqn[224];    /**< target name */
	int lun;          /**< 0..16383 */
};

/**
 * Parse an iSCSI URL. Pure: no resolution, no I/O.
 * Accepts iscsi://ADDR[:PORT]/IQN/LUN where ADDR is an IPv4 literal, a
 * host name or a bracketed IPv6 literal; PORT defaults to 3260; IQN starts
 * with "iqn.", "eui." or "naa.". Credentials and query strings are refused.
 * @param[in]  url     the text (may be NULL: error)
 * @param[out] u       filled on success, zeroed on error
 * @param[out] err     a sentence on error (may be NULL)
 * @return 0, or -CM_E_URL
 */
int wit_url_parse(const char *url, struct wit_url *u, char *err, size_t errlen);

/** Print u back as "iscsi://PORTAL/IQN/LUN" (truncated to len). */
void wit_url_to_str(const struct wit_url *u, char *buf, size_t len);

struct wit_lun;

/**
 * Connect and log in, clear the unit attentions of a new session with
 * TEST UNIT READY and read the capacity (READ CAPACITY(16), falling back to
 * (10) for targets without it).
 * @param[in]  u              the LUN (copied)
 * @param[in]  initiator_iqn  our initiator name (copied); one per node
 * @param[in]  timeout_s      bound for this and every later call (1..3600)
 * @param[out] out            the new handle, owned by the caller
 *                            (wit_lun_close); NULL on error
 * @return 0, -EINVAL, -ENOMEM, -CM_E_UNREACHABLE (resolve, connect or login
 *         failed), -CM_E_TIMEOUT, -CM_E_NO_OBJECT (no such LUN), -CM_E_IO
 */
int wit_lun_open(const struct wit_url *u, const char *initiator_iqn,
		 int timeout_s, struct wit_lun **out, char *err, size_t errlen);

/** Log out (bounded) and free. NULL is fine. Registrations stay with the
 * target (they belong to the session, which ends here). */
void wit_lun_close(struct wit_lun *l);

/** Capacity in bytes and logical block size, as read at open. */
uint64_t wit_lun_bytes(const struct wit_lun *l);
uint32_t wit_lun_block(const struct wit_lun *l);
/** "iscsi://PORTAL/IQN/LUN", the name used in every error sentence. */
const char *wit_lun_name(const struct wit_lun *l);

/**
 * Read len bytes at off. off and len must be multiples of the block size
 * and inside the LUN.
 * @return 0, -EINVAL (alignment), -CM_E_SMALL (beyond the end),
 *         -CM_E_UNREACHABLE, -CM_E_TIMEOUT, -CM_E_IO, -CM_E_CONFLICT
 *         (an EXCLUSIVE ACCESS reservation of someone else)
 */
int wit_lun_read(struct wit_lun *l, uint64_t off, void *buf, size_t len,
		 char *err, size_t errlen);

/**
 * Write len bytes at off with FUA (or, if the target refuses FUA, plain
 * writes followed by SYNCHRONIZE CACHE): on 0 the data is on stable storage.
 * @return as wit_lun_read, plus -CM_E_CONFLICT when another node holds the
 *         reservation, -CM_E_PREEMPTED while wit_pr_recover() is due
 */
int wit_lun_write(struct wit_lun *l, uint64_t off, const void *buf,
		  size_t len, char *err, size_t errlen);

/**
 * Check that the target does persistent reservations with type WRITE
 * EXCLUSIVE: REPORT CAPABILITIES, or READ KEYS where that is not
 * implemented.
 * @return 0, -CM_E_NOPR with "the target does not support SCSI-3
 *         persistent reservations ...", or a transport error
 */
int wit_pr_caps(struct wit_lun *l, char *err, size_t errlen);

/** REGISTER AND IGNORE EXISTING KEY: this session's key becomes key (!= 0).
 * @return 0, -EINVAL, -CM_E_NOPR, transport errors */
int wit_pr_register(struct wit_lun *l, uint64_t key, char *err, size_t errlen);

/** Remove this session's registration (REGISTER AND IGNORE EXISTING KEY
 * with new key 0; key only names it in messages). 0 also if none existed.
 * Unregistering the holder releases the reservation. */
int wit_pr_unregister(struct wit_lun *l, uint64_t key, char *err,
		      size_t errlen);

/** RESERVE, type WE.
 * @return 0 = we hold it (also if we already did); -CM_E_CONFLICT = another
 *         node holds it or we are not registered (the sentence says which,
 *         from a READ RESERVATION); -CM_E_PREEMPTED while recovery is due */
int wit_pr_reserve(struct wit_lun *l, uint64_t key, char *err, size_t errlen);

/** RELEASE, type WE. 0 = we do not hold it now (also if we did not).
 * -CM_E_CONFLICT when key is not our registration. */
int wit_pr_release(struct wit_lun *l, uint64_t key, char *err, size_t errlen);

/** PREEMPT, type WE: remove victim's registrations and, if victim held
 * the reservation, take it. -CM_E_CONFLICT when victim is not registered
 * (any more) or key is not ours. */
int wit_pr_preempt(struct wit_lun *l, uint64_t key, uint64_t victim,
		   char *err, size_t errlen);

/**
 * READ KEYS.
 * @param[out] keys        up to max registered keys, in target order
 *                         (may be NULL when max is 0)
 * @param[out] n           the number of registrations the target reports
 *                         (may exceed max: only max are stored)
 * @param[out] generation  PRgeneration (may be NULL)
 */
int wit_pr_read_keys(struct wit_lun *l, uint64_t *keys, size_t max,
		     size_t *n, uint32_t *generation, char *err, size_t errlen);

/**
 * READ RESERVATION.
 * @param[out] reserved  whether a persistent reservation exists
 * @param[out] holder    its key (0 if none); may be NULL
 * @param[out] type      its type (WIT_PR_TYPE_WE ...; 0 if none); may be NULL
 * A reservation held by our key does not prove that this session holds it:
 * after a reconnect the old session still does (see wit_pr_recover).
 */
int wit_pr_read_reservation(struct wit_lun *l, bool *reserved,
			    uint64_t *holder, int *type, char *err,
			    size_t errlen);

/**
 * Make this session the owner of key again after a reconnect (or a
 * reopen): REGISTER AND IGNORE EXISTING KEY key, then, if the reservation
 * is held by key or another session still holds a registration of key,
 * PREEMPT(key -> key, WE), which moves the reservation to this session and
 * drops the stale registration. Never takes a reservation held by another
 * key. Clears the refusal described at the top.
 * @param[out] holding  true when this session now holds the reservation
 *                      (may be NULL)
 */
int wit_pr_recover(struct wit_lun *l, uint64_t key, bool *holding, char *err,
		   size_t errlen);

/** True once after a unit attention 2A/03, 2A/04 or 2A/05 was seen: the
 * reservation or our registration was preempted, or it was released.
 * Check with wit_pr_read_reservation() before acting. */
bool wit_lun_take_preempted(struct wit_lun *l);

/** True once after the handle logged in again following a lost session
 * (registrations made before then belong to the old session). For
 * logging; to decide, use wit_lun_recovery_due(). */
bool wit_lun_take_reconnected(struct wit_lun *l);

/** True from the moment a session carrying our registration is lost until
 * wit_pr_recover() succeeds (not consumed by reading). While true, READ
 * RESERVATION may show our key although this handle's session does not
 * hold the reservation; the calls listed at the top refuse. */
bool wit_lun_recovery_due(const struct wit_lun *l);

struct wit_lun_stats {
	uint32_t unit_attentions; /**< all unit attentions seen */
	uint16_t last_ua;         /**< ASC << 8 | ASCQ of the latest, 0 if none */
	uint32_t session_losses;  /**< sessions dropped (broken or timed out) */
	uint32_t reconnects;      /**< sessions established again after a loss */
	bool recovery_due;        /**< wit_pr_recover() needed (see above) */
};

/** Counters of the handle. */
void wit_lun_get_stats(const struct wit_lun *l, struct wit_lun_stats *st);

/** Text for a unit attention's ASC << 8 | ASCQ ("reservations preempted"). */
const char *wit_ua_str(uint16_t asc_ascq);

#endif

/* cd_repl.h - the replicated cluster database.
 *
 * Every write is a message in the agreed (total-order) stream and is applied
 * by every member in delivery order. After every membership change the
 * members announce (epoch, sequence, hash); the newest replica is sent to
 * the others before the view becomes ready. Writes delivered while a view is
 * synchronising are dropped uniformly by every member and re-sent by their
 * origin once the view is ready. Writes are applied only in a view that is
 * quorate by the replicated quorum mode (quorum/quo_calc.h), counting the
 * witness vote when the write's origin attested a fresh witness lease
 * (CM_WRITE_F_WITNESS); every member refuses the others alike. Such a view,
 * when corosync also says it is quorate, starts a new epoch once
 * synchronised. A pending write whose client went away is
 * still applied; only its reply is dropped.
 *
 * The transport is behind cd_repl_ops so unit tests run several replicas in
 * one process; clusterd plugs in corosync CPG.
 */
#ifndef CD_REPL_H
#define CD_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cd_db.h"
#include "cm_wire.h"

#define CD_REPL_CHUNK (256u * 1024)

struct cd_repl_ops {
	/* Multicast an encoded message to the group in agreed order. */
	int (*send)(void *ctx, const void *buf, size_t len);
	/* One of our own writes was applied (rc 0) or refused (rc < 0, err). */
	void (*applied)(void *ctx, uint64_t id, int rc, const char *err);
	/* The view became ready or started synchronising. */
	void (*state_changed)(void *ctx, bool ready);
	/* Our local quorum verdict; *witness: the witness vote is part of it. */
	bool (*quorate)(void *ctx, bool *witness);
	uint64_t (*wall_ms)(void *ctx);
	void (*log)(void *ctx, int prio, const char *text);
	/* The replica changed (a write applied, a transfer taken); may be NULL. */
	void (*db_changed)(void *ctx);
};

enum cd_member_state { CD_MEMBER_NONE, CD_MEMBER_JOINING, CD_MEMBER_UP };

struct cd_repl;

struct cd_repl *cd_repl_new(struct cd_db *db, uint32_t my_id,
			    const struct cd_repl_ops *ops, void *ctx);
void cd_repl_free(struct cd_repl *r);

/* A new view: sorted or not; joined and left are the differences. */
void cd_repl_confchg(struct cd_repl *r, const uint32_t *members, size_t n,
		     const uint32_t *joined, size_t nj, const uint32_t *left, size_t nl);
/* A message delivered by the stream. */
void cd_repl_deliver(struct cd_repl *r, uint32_t sender, const void *buf, size_t len);

/* Submit a write (type CM_MSG_WRITE). Its id is assigned and returned in
 * *id; the result comes through ops->applied. -CM_E_NOT_READY before the
 * first view. */
int cd_repl_write(struct cd_repl *r, struct cm_msg *w, uint64_t *id);

/* Ask every member to synchronise again (our replica changed outside the
 * stream: we adopted the witness copy). */
int cd_repl_resync(struct cd_repl *r);
bool cd_repl_ready(const struct cd_repl *r);
/* Configured nodes, and how many of them are members of the view (counted
 * at the end of each synchronisation). */
void cd_repl_config(const struct cd_repl *r, uint32_t *nodes, uint32_t *members);
enum cd_member_state cd_repl_member(const struct cd_repl *r, uint32_t id);
/* Members of the current view, sorted. */
const uint32_t *cd_repl_members(const struct cd_repl *r, size_t *n);
/* Number of completed synchronisations (tests and status). */
uint64_t cd_repl_syncs(const struct cd_repl *r);

#endif

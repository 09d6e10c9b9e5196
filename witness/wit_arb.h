/* wit_arb.h - who holds the witness vote: the pure decision of each round.
 *
 * Each node runs rounds (every renew_ms, in a worker that does the SCSI
 * I/O): it reads the reservation and the holder's heartbeat slot, feeds
 * them here, performs the action returned, and reports the outcome. The
 * main loop asks wit_arb_cast() at every votequorum poll, with its own
 * clock: casting needs no I/O.
 *
 * Rules (numbered as in the tests):
 *  1. our key is not registered: REGISTER (the worker also recovers the key
 *     for a new session after any reconnect: tgt ties registrations to
 *     sessions);
 *  2. nobody holds the reservation: RESERVE (the target decides the race);
 *  3. we hold it: RENEW (write our slot, counter + 1);
 *  4. another node holds it and its slot, read this round, has not changed
 *     for preempt_after: PREEMPT it (its lease and its corosync vote have
 *     run out by then); a slot we cannot read never justifies a preempt;
 *  5. otherwise watch.
 * Cast: we hold it and renewed within lease_ms; or a member of our current
 * membership holds it and we saw its slot change within lease_ms - renew_ms
 * (we see a renewal up to one round late). A holder
 * outside our membership never counts for us. No I/O, clock or globals.
 */
#ifndef WIT_ARB_H
#define WIT_ARB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quo_timeouts.h"

enum wit_action { WIT_A_WATCH, WIT_A_REGISTER, WIT_A_RESERVE, WIT_A_RENEW, WIT_A_PREEMPT };

/* What one round read from the LUN. */
struct wit_obs {
	uint64_t now_ms;         /* monotonic, when the reads completed */
	bool registered;         /* our key is registered on this session */
	bool reserved;
	uint32_t holder;         /* node id of the reservation holder (0: none) */
	bool slot_valid;         /* the holder's slot was read */
	uint64_t holder_counter;
};

/* Memory across rounds; zero-initialise. */
struct wit_arb {
	uint32_t my_id;
	uint32_t holder;         /* last seen holder (0: none / unknown) */
	uint64_t counter;        /* its last seen slot counter */
	uint64_t changed_ms;     /* when we first saw that counter */
	uint64_t renewed_ms;     /* our last successful renewal (0: never) */
	bool known;              /* a round has completed since start or loss */
};

struct wit_decision {
	enum wit_action action;
	uint32_t victim;         /* PREEMPT: the node whose key goes */
	const char *reason;
};

void wit_arb_init(struct wit_arb *a, uint32_t my_id);
/* One round: fold the observation in, decide the next action. */
void wit_arb_round(struct wit_arb *a, const struct quo_timeouts *t, const struct wit_obs *o,
		   struct wit_decision *d);
/* The action succeeded at now_ms (RESERVE, RENEW and PREEMPT make us holder). */
void wit_arb_done(struct wit_arb *a, enum wit_action action, uint64_t now_ms);
/* We learnt we lost it (preempted, conflict, I/O failure, reconnect). */
void wit_arb_lost(struct wit_arb *a);
/* Cast the device vote now? members: our current membership. */
bool wit_arb_cast(const struct wit_arb *a, const struct quo_timeouts *t, uint64_t now_ms,
		  const uint32_t *members, size_t n);
const char *wit_action_to_str(enum wit_action a);

#endif

/* quo_timeouts.h - every timeout of quorum and the witness, derived from a
 * few base values in one place (quo_timeouts.c explains each step). Pure. */
#ifndef QUO_TIMEOUTS_H
#define QUO_TIMEOUTS_H

#include <stdint.h>

struct quo_timeouts {
	/* base values */
	uint32_t io_timeout_ms;      /* bound on one iSCSI command, login included */
	uint32_t renew_ms;           /* the holder writes its heartbeat slot this often */
	uint32_t token_ms;           /* corosync's effective token */
	/* derived */
	uint32_t lease_ms;           /* the holder casts only this long after its last renewal */
	uint32_t poll_ms;            /* votequorum device poll period */
	uint32_t device_timeout_ms;  /* quorum.device.timeout: the vote lapses this long after the last poll */
	uint32_t sync_timeout_ms;    /* quorum.device.sync_timeout */
	uint32_t preempt_after_ms;   /* a challenger preempts a holder whose slot stayed unchanged this long */
	uint32_t stall_ms;           /* a main-loop gap this long means we were paused: distrust quorum */
	uint32_t copy_batch_ms;      /* the holder writes the database copy at most this long after a change */
};

/* Fill the derived fields from the base ones (defaults when zero). */
void quo_timeouts_derive(struct quo_timeouts *t);

#endif

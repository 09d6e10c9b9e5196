/* wit_arb.c - witness arbitration decisions (see wit_arb.h). Pure. */
#include <string.h>

#include "wit_arb.h"

void wit_arb_init(struct wit_arb *a, uint32_t my_id)
{
	memset(a, 0, sizeof(*a));
	a->my_id = my_id;
}

void wit_arb_round(struct wit_arb *a, const struct quo_timeouts *t, const struct wit_obs *o,
		   struct wit_decision *d)
{
	uint32_t holder = o->reserved ? o->holder : 0;

	memset(d, 0, sizeof(*d));
	/* track the holder's slot: a new holder or a new counter restarts the clock */
	if (!a->known || holder != a->holder) {
		a->holder = holder;
		a->counter = o->slot_valid ? o->holder_counter : 0;
		a->changed_ms = o->now_ms;
	} else if (o->slot_valid && o->holder_counter != a->counter) {
		a->counter = o->holder_counter;
		a->changed_ms = o->now_ms;
	}
	a->known = true;
	if (holder != a->my_id)
		a->renewed_ms = 0;

	if (!o->registered) {                                          /* 1 */
		d->action = WIT_A_REGISTER;
		d->reason = "register our key";
	} else if (holder == 0) {                                      /* 2 */
		d->action = WIT_A_RESERVE;
		d->reason = "nobody holds the witness";
	} else if (holder == a->my_id) {                               /* 3 */
		d->action = WIT_A_RENEW;
		d->reason = "we hold the witness";
	} else if (o->slot_valid && o->now_ms - a->changed_ms >= t->preempt_after_ms) { /* 4 */
		d->action = WIT_A_PREEMPT;
		d->victim = holder;
		d->reason = "the holder stopped renewing";
	} else {                                                       /* 5 */
		d->action = WIT_A_WATCH;
		d->reason = "another node holds the witness and renews it";
	}
}

void wit_arb_done(struct wit_arb *a, enum wit_action action, uint64_t now_ms)
{
	if (action == WIT_A_RESERVE || action == WIT_A_RENEW || action == WIT_A_PREEMPT) {
		a->holder = a->my_id;
		a->renewed_ms = now_ms;
		a->changed_ms = now_ms;
	}
}

void wit_arb_lost(struct wit_arb *a)
{
	a->renewed_ms = 0;
	if (a->holder == a->my_id)
		a->holder = 0;
	a->known = false;
}

bool wit_arb_cast(const struct wit_arb *a, const struct quo_timeouts *t, uint64_t now_ms,
		  const uint32_t *members, size_t n)
{
	size_t i;

	if (a->holder == 0 || !a->known)
		return false;
	if (a->holder == a->my_id)
		return a->renewed_ms != 0 && now_ms - a->renewed_ms < t->lease_ms;
	/* We see the holder's renewal up to one round after it happened, so a
	 * member counts it for lease - renew only: its cast ends no later than
	 * the holder's own, and preempt_after keeps its margin for both. */
	for (i = 0; i < n; i++)
		if (members[i] == a->holder)
			return now_ms - a->changed_ms < t->lease_ms - t->renew_ms;
	return false;
}

const char *wit_action_to_str(enum wit_action a)
{
	switch (a) {
	case WIT_A_REGISTER: return "register";
	case WIT_A_RESERVE: return "reserve";
	case WIT_A_RENEW: return "renew";
	case WIT_A_PREEMPT: return "preempt";
	default: return "watch";
	}
}

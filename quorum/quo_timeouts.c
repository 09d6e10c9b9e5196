/* quo_timeouts.c - derive every quorum/witness timeout from three base
 * values. The reasoning, in order (the numbers are the defaults):
 *
 * 1. io_timeout = 2000 ms bounds one iSCSI command; renew = 1000 ms is the
 *    holder's heartbeat period; token = corosync's effective token.
 * 2. lease = renew + io_timeout (3000): a holder that could not complete a
 *    renewal for this long stops casting the device vote. One slow command
 *    (up to io_timeout) after a renewal period does not cost the vote.
 * 3. device_timeout = lease (3000): a client that stops polling (paused,
 *    dead) loses the vote at most this long after its last poll. poll =
 *    lease / 3, at most 1000 ms (RECIPES: every second, and at once in the
 *    nodelist callback), at least 100 ms: corosync sees three polls per
 *    device timeout, so one late poll never drops the vote.
 * 4. sync_timeout = 2 * device_timeout (6000), corosync's usual ratio.
 * 5. preempt_after = lease + device_timeout + renew (7000): when a challenger
 *    has seen the holder's slot unchanged this long, the holder's last
 *    renewal is at least that old, so the holder stopped casting (2) and its
 *    corosync dropped the vote (3) with one renewal period to spare. This is
 *    what rules out the window qnetd has (ANCHORS.md): the old holder is
 *    never still counting the vote when the new one starts.
 * 6. stall = max(token, renew): a main-loop gap longer than this means the
 *    process was paused (SIGSTOP, VM freeze); votequorum does not tell a
 *    resumed node that it lost quorum (RECIPES), so clusterd distrusts its
 *    quorum until the witness and the membership confirm it again.
 * 7. copy_batch = 1000 ms: the database copy on the witness lags at most
 *    this long behind a committed change.
 */
#include "quo_timeouts.h"

void quo_timeouts_derive(struct quo_timeouts *t)
{
	if (t->io_timeout_ms == 0)
		t->io_timeout_ms = 2000;
	if (t->renew_ms == 0)
		t->renew_ms = 1000;
	if (t->token_ms == 0)
		t->token_ms = 3000;
	t->lease_ms = t->renew_ms + t->io_timeout_ms;
	t->device_timeout_ms = t->lease_ms;
	t->poll_ms = t->lease_ms / 3;
	if (t->poll_ms > 1000)
		t->poll_ms = 1000;
	if (t->poll_ms < 100)
		t->poll_ms = 100;
	t->sync_timeout_ms = 2 * t->device_timeout_ms;
	t->preempt_after_ms = t->lease_ms + t->device_timeout_ms + t->renew_ms;
	t->stall_ms = t->token_ms > t->renew_ms ? t->token_ms : t->renew_ms;
	t->copy_batch_ms = 1000;
}

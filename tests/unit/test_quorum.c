/* test_quorum.c - quorum arithmetic over every partition shape of 1 to 8
 * nodes, with and without a witness, and the derived timeouts. */
#include <check.h>
#include <string.h>

#include "quo_calc.h"
#include "quo_timeouts.h"
#include "ut.h"

/* Visit every set partition of n nodes (restricted growth strings). */
static void each_partition(int n, void (*fn)(const int *block, int n, int nblocks, void *), void *arg)
{
	int a[8] = { 0 }, max[8] = { 0 }, i;

	for (;;) {
		int nblocks = 0;

		for (i = 0; i < n; i++)
			if (a[i] + 1 > nblocks)
				nblocks = a[i] + 1;
		fn(a, n, nblocks, arg);
		/* next string: increment the last position that may grow */
		for (i = n - 1; i > 0; i--) {
			if (a[i] <= max[i - 1]) {
				a[i]++;
				break;
			}
		}
		if (i == 0)
			return;
		for (int k = i + 1; k < n; k++)
			a[k] = 0;
		for (int k = 1; k < n; k++)
			max[k] = max[k - 1] > a[k] ? max[k - 1] : a[k];
	}
}

struct count {
	long partitions;
	long checks;
};

static void check_partition(const int *block, int n, int nblocks, void *arg)
{
	struct count *c = arg;
	int sizes[8] = { 0 }, b, w, mode;

	c->partitions++;
	for (int i = 0; i < n; i++)
		sizes[block[i]]++;
	for (mode = 0; mode <= 1; mode++) {
		struct quo_config cfg = { (enum quo_mode)mode, (uint32_t)n };

		/* w: the block holding the witness, or -1 when nobody reaches it */
		for (w = mode ? -1 : -1; w < (mode ? nblocks : 0); w++) {
			int quorate = 0;

			for (b = 0; b < nblocks; b++) {
				struct quo_result r;
				uint32_t wv = (mode && b == w) ? 1 : 0;

				quo_calc(&cfg, (uint32_t)sizes[b], b == w, &r);
				ck_assert_int_eq(r.expected, n + mode);
				ck_assert_int_eq(r.votes, sizes[b] + wv);
				/* quorate exactly when the votes are a strict majority */
				ck_assert_int_eq(r.quorate, 2 * (sizes[b] + wv) > (uint32_t)(n + mode));
				quorate += r.quorate;
				c->checks++;
			}
			/* never two quorate partitions */
			ck_assert_int_le(quorate, 1);
		}
	}
}

START_TEST(every_partition_of_1_to_8_nodes)
{
	static const long bell[] = { 1, 1, 2, 5, 15, 52, 203, 877, 4140 };
	int n;

	for (n = 1; n <= 8; n++) {
		struct count c = { 0, 0 };

		each_partition(n, check_partition, &c);
		ck_assert_int_eq(c.partitions, bell[n]); /* all shapes were visited */
		ck_assert_int_gt(c.checks, 0);
	}
}
END_TEST

static bool q(enum quo_mode m, uint32_t nodes, uint32_t members, bool witness)
{
	struct quo_config c = { m, nodes };
	struct quo_result r;

	quo_calc(&c, members, witness, &r);
	return r.quorate;
}

START_TEST(the_issue_scenarios)
{
	/* 2 nodes + witness: either survivor keeps quorum with the witness */
	ck_assert(q(QUO_NODE_AND_DISK_MAJORITY, 2, 1, true));
	ck_assert(!q(QUO_NODE_AND_DISK_MAJORITY, 2, 1, false));
	/* witness unreachable, both nodes up: quorate; then one node lost: not */
	ck_assert(q(QUO_NODE_AND_DISK_MAJORITY, 2, 2, false));
	ck_assert(!q(QUO_NODE_AND_DISK_MAJORITY, 2, 1, false));
	/* 3 nodes, node majority: lose one -> quorate, lose two -> not */
	ck_assert(q(QUO_NODE_MAJORITY, 3, 2, false));
	ck_assert(!q(QUO_NODE_MAJORITY, 3, 1, false));
	/* 4 nodes + witness split 2|2: only the side with the witness */
	ck_assert(q(QUO_NODE_AND_DISK_MAJORITY, 4, 2, true));
	ck_assert(!q(QUO_NODE_AND_DISK_MAJORITY, 4, 2, false));
	/* node majority ignores a witness */
	ck_assert(!q(QUO_NODE_MAJORITY, 2, 1, true));
	/* 2 nodes, node majority: both are needed */
	ck_assert(!q(QUO_NODE_MAJORITY, 2, 1, false));
	/* more members than configured nodes are capped; no nodes, no quorum */
	ck_assert(q(QUO_NODE_MAJORITY, 3, 9, false));
	ck_assert(!q(QUO_NODE_MAJORITY, 0, 0, false));
}
END_TEST

START_TEST(mode_names)
{
	ck_assert_int_eq(quo_mode_from_str("node-majority"), QUO_NODE_MAJORITY);
	ck_assert_int_eq(quo_mode_from_str("node-and-disk-majority"), QUO_NODE_AND_DISK_MAJORITY);
	ck_assert_int_eq(quo_mode_from_str("disk"), -1);
	ck_assert_int_eq(quo_mode_from_str(NULL), -1);
	ck_assert_str_eq(quo_mode_to_str(QUO_NODE_AND_DISK_MAJORITY), "node-and-disk-majority");
}
END_TEST

START_TEST(timeouts_keep_their_invariants)
{
	struct quo_timeouts t;
	uint32_t io, renew;

	memset(&t, 0, sizeof(t));
	quo_timeouts_derive(&t);
	ck_assert_int_eq(t.lease_ms, 3000);
	ck_assert_int_eq(t.poll_ms, 1000);
	ck_assert_int_eq(t.preempt_after_ms, 7000);
	for (io = 500; io <= 8000; io *= 2)
		for (renew = 250; renew <= 4000; renew *= 2) {
			memset(&t, 0, sizeof(t));
			t.io_timeout_ms = io;
			t.renew_ms = renew;
			t.token_ms = 500;
			quo_timeouts_derive(&t);
			/* a holder that stopped renewing has stopped casting and lost its
			 * corosync vote before anyone may preempt it */
			ck_assert_uint_gt(t.preempt_after_ms, t.lease_ms + t.device_timeout_ms);
			/* one slow command after a renewal does not cost the vote */
			ck_assert_uint_ge(t.lease_ms, t.renew_ms + t.io_timeout_ms);
			/* corosync sees at least two polls per device timeout */
			ck_assert_uint_ge(t.device_timeout_ms, 2 * t.poll_ms);
			ck_assert_uint_ge(t.sync_timeout_ms, t.device_timeout_ms);
			ck_assert_uint_ge(t.stall_ms, t.token_ms);
		}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("quorum");
	TCase *tc = tcase_create("quorum");

	tcase_add_test(tc, every_partition_of_1_to_8_nodes);
	tcase_add_test(tc, the_issue_scenarios);
	tcase_add_test(tc, mode_names);
	tcase_add_test(tc, timeouts_keep_their_invariants);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

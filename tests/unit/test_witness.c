/* test_witness.c - witness layout codec and arbitration decisions. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "quo_timeouts.h"
#include "ut.h"
#include "wit_arb.h"
#include "wit_layout.h"

static const char *uuid = "0123456789abcdef0123456789abcdef";

START_TEST(header_roundtrip_and_sizes)
{
	unsigned char blk[WIT_BLOCK];
	struct wit_header h, d;
	char err[256];

	ck_assert_int_eq(wit_header_init(&h, uuid, "demo", 64ull << 20, 1700000000000ULL, err, sizeof(err)), 0);
	ck_assert(h.copy_off[0] >= h.slots_off + WIT_MAX_SLOTS * WIT_BLOCK);
	ck_assert(h.copy_off[1] == h.copy_off[0] + h.copy_size);
	ck_assert(h.copy_off[1] + h.copy_size <= h.lun_bytes);
	ck_assert(wit_copy_capacity(&h) > 30ull << 20);
	wit_header_encode(&h, blk);
	ck_assert_int_eq(wit_header_decode(blk, &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d.cluster_uuid, h.cluster_uuid);
	ck_assert_str_eq(d.cluster_name, "demo");
	ck_assert(d.version == h.version && d.lun_bytes == h.lun_bytes && d.slots_off == h.slots_off &&
		  d.copy_off[0] == h.copy_off[0] && d.copy_off[1] == h.copy_off[1] &&
		  d.copy_size == h.copy_size && d.created_ms == h.created_ms && d.max_slots == h.max_slots);
	ck_assert_int_eq(wit_header_init(&h, uuid, "demo", 8ull << 20, 0, err, sizeof(err)), -CM_E_SMALL);
	ck_assert_ptr_nonnull(strstr(err, "at least 16 MiB"));
}
END_TEST

START_TEST(header_damage_is_detected)
{
	unsigned char blk[WIT_BLOCK];
	struct wit_header h, d;
	char err[256];
	size_t i;

	wit_header_init(&h, uuid, "demo", 64ull << 20, 1, err, sizeof(err));
	wit_header_encode(&h, blk);
	for (i = 8; i < 180; i++) { /* every covered byte, checksum included */
		blk[i] ^= 0x40;
		ck_assert_int_eq(wit_header_decode(blk, &d, err, sizeof(err)), -CM_E_CORRUPT);
		blk[i] ^= 0x40;
	}
	blk[0] = 'X';
	ck_assert_int_eq(wit_header_decode(blk, &d, err, sizeof(err)), -CM_E_FOREIGN);
	/* a sealed header whose regions do not fit the LUN */
	h.copy_size = h.lun_bytes;
	wit_header_encode(&h, blk);
	ck_assert_int_eq(wit_header_decode(blk, &d, err, sizeof(err)), -CM_E_CORRUPT);
	/* a newer layout */
	wit_header_init(&h, uuid, "demo", 64ull << 20, 1, err, sizeof(err));
	h.version = 9;
	wit_header_encode(&h, blk);
	ck_assert_int_eq(wit_header_decode(blk, &d, err, sizeof(err)), -CM_E_VERSION);
}
END_TEST

START_TEST(init_refuses_foreign_data)
{
	unsigned char blk[WIT_BLOCK];
	struct wit_header h;
	char err[256];

	memset(blk, 0, sizeof(blk));
	ck_assert_int_eq(wit_init_check(blk, uuid, false, err, sizeof(err)), 0);      /* empty */
	memcpy(blk, "\x7f" "ELF", 4);
	ck_assert_int_eq(wit_init_check(blk, uuid, false, err, sizeof(err)), -CM_E_FOREIGN);
	ck_assert_ptr_nonnull(strstr(err, "does not recognise"));
	ck_assert_int_eq(wit_init_check(blk, uuid, true, err, sizeof(err)), 0);       /* --force */
	wit_header_init(&h, "ffffffffffffffffffffffffffffffff", "other", 64ull << 20, 1, err, sizeof(err));
	wit_header_encode(&h, blk);
	ck_assert_int_eq(wit_init_check(blk, uuid, false, err, sizeof(err)), -CM_E_FOREIGN);
	ck_assert_ptr_nonnull(strstr(err, "another cluster ('other'"));
	wit_header_init(&h, uuid, "demo", 64ull << 20, 1, err, sizeof(err));
	wit_header_encode(&h, blk);
	ck_assert_int_eq(wit_init_check(blk, uuid, false, err, sizeof(err)), 0);      /* ours */
}
END_TEST

START_TEST(slots_and_copies)
{
	unsigned char blk[WIT_BLOCK];
	struct wit_slot s = { 3, 42, 1700000000000ULL, 5, 77 }, d;
	struct wit_copy c[2] = { { 5, 10, 100, 0, 1, 0 }, { 5, 12, 100, 0, 2, 0 } }, cd;
	struct wit_header h;
	bool valid[2] = { true, true };
	char err[64];

	wit_slot_encode(&s, blk);
	ck_assert_int_eq(wit_slot_decode(blk, &d), 0);
	ck_assert(d.node_id == s.node_id && d.counter == s.counter && d.time_ms == s.time_ms &&
		  d.epoch == s.epoch && d.seq == s.seq);
	blk[13] ^= 1;
	ck_assert_int_eq(wit_slot_decode(blk, &d), -CM_E_CORRUPT);
	memset(blk, 0, sizeof(blk));
	ck_assert_int_eq(wit_slot_decode(blk, &d), 1);
	wit_header_init(&h, uuid, "demo", 64ull << 20, 1, err, sizeof(err));
	ck_assert(wit_slot_off(&h, 1) == WIT_BLOCK);
	ck_assert(wit_slot_off(&h, 64) == 64ull * WIT_BLOCK);
	ck_assert(wit_slot_off(&h, 0) == 0 && wit_slot_off(&h, 65) == 0);

	wit_copy_encode(&c[1], blk);
	ck_assert_int_eq(wit_copy_decode(blk, &cd), 0);
	ck_assert(cd.seq == 12 && cd.writer == 2);
	blk[20] ^= 1;
	ck_assert_int_eq(wit_copy_decode(blk, &cd), -CM_E_CORRUPT);
	/* newest valid copy; write over the other one */
	ck_assert_int_eq(wit_copy_newest(c, valid), 1);
	ck_assert_int_eq(wit_copy_next(c, valid), 0);
	c[0].epoch = 6; /* a newer epoch beats more writes */
	ck_assert_int_eq(wit_copy_newest(c, valid), 0);
	valid[0] = false;
	ck_assert_int_eq(wit_copy_newest(c, valid), 1);
	ck_assert_int_eq(wit_copy_next(c, valid), 0);
	valid[1] = false;
	ck_assert_int_eq(wit_copy_newest(c, valid), -1);
	ck_assert_int_eq(wit_copy_next(c, valid), 0);
	ck_assert(wit_image_sum("abc", 3) != wit_image_sum("abd", 3));
}
END_TEST

/* ---- arbitration ---- */

static struct quo_timeouts tmo(void)
{
	struct quo_timeouts t;

	memset(&t, 0, sizeof(t));
	quo_timeouts_derive(&t);
	return t;
}

static struct wit_obs obs(uint64_t now, bool reg, uint32_t holder, uint64_t counter)
{
	struct wit_obs o = { now, reg, holder != 0, holder, holder != 0, counter };

	return o;
}

START_TEST(rule_1_register_first)
{
	struct quo_timeouts t = tmo();
	struct wit_decision d;
	struct wit_arb a;
	struct wit_obs o = obs(1000, false, 0, 0);

	wit_arb_init(&a, 1);
	wit_arb_round(&a, &t, &o, &d);
	ck_assert_int_eq(d.action, WIT_A_REGISTER);
}
END_TEST

START_TEST(rule_2_3_reserve_then_renew_and_cast)
{
	struct quo_timeouts t = tmo();
	uint32_t members[] = { 1, 2 };
	struct wit_decision d;
	struct wit_arb a;
	struct wit_obs o = obs(1000, true, 0, 0);

	wit_arb_init(&a, 1);
	wit_arb_round(&a, &t, &o, &d);
	ck_assert_int_eq(d.action, WIT_A_RESERVE);
	ck_assert(!wit_arb_cast(&a, &t, 1000, members, 2));
	wit_arb_done(&a, WIT_A_RESERVE, 1010);
	ck_assert(wit_arb_cast(&a, &t, 1020, members, 2));
	o = obs(2000, true, 1, 0);
	wit_arb_round(&a, &t, &o, &d);
	ck_assert_int_eq(d.action, WIT_A_RENEW);
	wit_arb_done(&a, WIT_A_RENEW, 2010);
	/* the lease runs from the last renewal: cast until it expires, not after */
	ck_assert(wit_arb_cast(&a, &t, 2010 + t.lease_ms - 1, members, 2));
	ck_assert(!wit_arb_cast(&a, &t, 2010 + t.lease_ms, members, 2));
	/* a paused holder wakes up: its old renewal casts nothing */
	ck_assert(!wit_arb_cast(&a, &t, 2010 + 60000, members, 2));
	/* losing it stops the cast at once */
	wit_arb_done(&a, WIT_A_RENEW, 70000);
	wit_arb_lost(&a);
	ck_assert(!wit_arb_cast(&a, &t, 70001, members, 2));
}
END_TEST

START_TEST(rule_4_preempt_only_a_silent_holder)
{
	struct quo_timeouts t = tmo();
	struct wit_decision d;
	struct wit_arb a;
	struct wit_obs o;
	uint64_t now;

	wit_arb_init(&a, 2);
	/* node 1 holds it and renews every second: never preempted */
	for (now = 0; now < 30000; now += 1000) {
		o = obs(now, true, 1, now / 1000);
		wit_arb_round(&a, &t, &o, &d);
		ck_assert_int_eq(d.action, WIT_A_WATCH);
	}
	/* it stops renewing at counter 29: watch until preempt_after, then preempt */
	for (now = 30000; now < 29000 + t.preempt_after_ms; now += 500) {
		o = obs(now, true, 1, 29);
		wit_arb_round(&a, &t, &o, &d);
		ck_assert_msg(d.action == WIT_A_WATCH, "preempted at %llu", (unsigned long long)now);
	}
	o = obs(now + 1000, true, 1, 29);
	wit_arb_round(&a, &t, &o, &d);
	ck_assert_int_eq(d.action, WIT_A_PREEMPT);
	ck_assert_int_eq(d.victim, 1);
	/* an unreadable slot never justifies a preempt */
	wit_arb_init(&a, 2);
	for (now = 0; now < 3 * t.preempt_after_ms; now += 1000) {
		o = obs(now, true, 1, 0);
		o.slot_valid = false;
		wit_arb_round(&a, &t, &o, &d);
		ck_assert_int_ne(d.action, WIT_A_PREEMPT);
	}
}
END_TEST

START_TEST(cast_follows_the_membership)
{
	struct quo_timeouts t = tmo();
	uint32_t with[] = { 1, 2 }, without[] = { 2 };
	struct wit_decision d;
	struct wit_arb a;
	struct wit_obs o = obs(5000, true, 1, 7);

	wit_arb_init(&a, 2);
	wit_arb_round(&a, &t, &o, &d);
	/* a renewing holder in our membership: its vote is our partition's */
	ck_assert(wit_arb_cast(&a, &t, 5100, with, 2));
	/* the same holder after a split: not ours */
	ck_assert(!wit_arb_cast(&a, &t, 5100, without, 1));
	/* a member holder that stopped renewing stops counting a round before
	 * its own lease ends (we may have seen its last renewal a round late) */
	ck_assert(wit_arb_cast(&a, &t, 5000 + t.lease_ms - t.renew_ms - 1, with, 2));
	ck_assert(!wit_arb_cast(&a, &t, 5000 + t.lease_ms - t.renew_ms, with, 2));
}
END_TEST

START_TEST(no_window_with_a_member_caster)
{
	/* Node 1 holds, renews last at time 0 and goes silent (cut from the SAN).
	 * Node 2, its partition member, saw that renewal one round late (at
	 * renew_ms). Node 3, elsewhere, saw it at 0 and may preempt after
	 * preempt_after. Node 2's corosync stops counting the vote device_timeout
	 * after its last casting poll: before node 3 may preempt. */
	struct quo_timeouts t = tmo();
	uint32_t m12[] = { 1, 2 };
	struct wit_decision d;
	struct wit_arb a2, a3;
	struct wit_obs o;
	uint64_t now, last_cast_2 = 0, preempt_at = 0;

	wit_arb_init(&a2, 2);
	wit_arb_init(&a3, 3);
	o = obs(t.renew_ms, true, 1, 41);
	wit_arb_round(&a2, &t, &o, &d);
	for (now = 0; now < 30000 && !preempt_at; now += 100) {
		o = obs(now, true, 1, 41);
		wit_arb_round(&a3, &t, &o, &d);
		if (d.action == WIT_A_PREEMPT)
			preempt_at = now;
	}
	for (now = 0; now < 30000; now += 10)
		if (wit_arb_cast(&a2, &t, now, m12, 2))
			last_cast_2 = now;
	ck_assert(preempt_at > 0 && last_cast_2 > 0);
	ck_assert_uint_gt(preempt_at, last_cast_2 + t.device_timeout_ms);
}
END_TEST

START_TEST(no_window_with_two_casters)
{
	/* Node 1 holds and dies silently at time 0 (last renewal). Node 2 must
	 * not cast before node 1's cast has ended and its corosync vote lapsed. */
	struct quo_timeouts t = tmo();
	uint32_t m2[] = { 2 };
	struct wit_decision d;
	struct wit_arb a1, a2;
	struct wit_obs o;
	uint64_t now, preempt_at = 0, last_cast_1 = 0;

	wit_arb_init(&a1, 1);
	wit_arb_done(&a1, WIT_A_RESERVE, 0);
	wit_arb_init(&a2, 2);
	for (now = 100; now < 30000 && !preempt_at; now += 100) {
		o = obs(now, true, 1, 0);
		wit_arb_round(&a2, &t, &o, &d);
		if (d.action == WIT_A_PREEMPT)
			preempt_at = now;
	}
	for (now = 0; now < 30000; now += 10)
		if (wit_arb_cast(&a1, &t, now, (uint32_t[]){ 1 }, 1))
			last_cast_1 = now;
	ck_assert(preempt_at > 0);
	/* node 1's corosync counts the vote at most device_timeout after its last cast poll */
	ck_assert_uint_gt(preempt_at, last_cast_1 + t.device_timeout_ms);
	wit_arb_done(&a2, WIT_A_PREEMPT, preempt_at);
	ck_assert(wit_arb_cast(&a2, &t, preempt_at + 1, m2, 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("witness");
	TCase *tc = tcase_create("witness");

	tcase_add_test(tc, header_roundtrip_and_sizes);
	tcase_add_test(tc, header_damage_is_detected);
	tcase_add_test(tc, init_refuses_foreign_data);
	tcase_add_test(tc, slots_and_copies);
	tcase_add_test(tc, rule_1_register_first);
	tcase_add_test(tc, rule_2_3_reserve_then_renew_and_cast);
	tcase_add_test(tc, rule_4_preempt_only_a_silent_holder);
	tcase_add_test(tc, cast_follows_the_membership);
	tcase_add_test(tc, no_window_with_two_casters);
	tcase_add_test(tc, no_window_with_a_member_caster);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

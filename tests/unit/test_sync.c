/* test_sync.c - pure synchronisation decisions: compare, pick, chunks. */
#include <check.h>
#include <string.h>

#include "cd_sync.h"
#include "ut.h"

static struct cd_sync_peer peer(uint32_t id, bool has, int64_t epoch, int64_t seq, uint64_t hash)
{
	struct cd_sync_peer p = { id, true, has, epoch, seq, hash };

	return p;
}

START_TEST(compare_steps)
{
	struct cd_sync_peer a, b;

	/* step 1: a replica with a cluster beats an empty one, whatever its numbers */
	a = peer(5, true, 1, 0, 1);
	b = peer(1, false, 9, 9, 2);
	ck_assert_int_lt(cd_sync_cmp(&a, &b), 0);
	/* step 2: higher epoch beats more writes */
	a = peer(5, true, 3, 1, 1);
	b = peer(1, true, 2, 100, 2);
	ck_assert_int_lt(cd_sync_cmp(&a, &b), 0);
	/* step 3: same epoch, more writes */
	a = peer(5, true, 3, 10, 1);
	b = peer(1, true, 3, 9, 2);
	ck_assert_int_lt(cd_sync_cmp(&a, &b), 0);
	/* step 4: identical version, lowest node id */
	a = peer(5, true, 3, 10, 1);
	b = peer(1, true, 3, 10, 1);
	ck_assert_int_gt(cd_sync_cmp(&a, &b), 0);
	ck_assert_int_eq(cd_sync_cmp(&a, &a), 0);
}
END_TEST

START_TEST(pick_and_transfer)
{
	struct cd_sync_peer p[3] = { peer(1, true, 2, 5, 7), peer(2, true, 2, 6, 8), peer(3, true, 2, 6, 8) };

	ck_assert_int_eq(cd_sync_pick(p, 3), 1);
	ck_assert(cd_sync_needs_transfer(p, 3, 1));
	p[0] = peer(1, true, 2, 6, 8);
	ck_assert_int_eq(cd_sync_pick(p, 3), 0);
	ck_assert(!cd_sync_needs_transfer(p, 3, 0));
	/* same version, different content: still a transfer */
	p[2].hash = 9;
	ck_assert(cd_sync_needs_transfer(p, 3, 0));
	ck_assert_int_eq(cd_sync_pick(p, 0), -1);
}
END_TEST

START_TEST(view_hash_sorted_ids)
{
	uint32_t a[] = { 3, 1, 2, 2 }, b[] = { 1, 2, 3 }, c[] = { 1, 2 };
	size_t n = cd_sync_sort_ids(a, 4);

	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(a[0], 1);
	ck_assert_int_eq(a[2], 3);
	ck_assert(cd_sync_view_hash(a, n) == cd_sync_view_hash(b, 3));
	ck_assert(cd_sync_view_hash(c, 2) != cd_sync_view_hash(b, 3));
	ck_assert(cd_sync_view_hash(b, 3) <= 0x7fffffffffffffffULL);
}
END_TEST

START_TEST(chunks_in_order_only)
{
	struct cd_chunks c;

	cd_chunks_init(&c);
	ck_assert_int_eq(cd_chunks_add(&c, 1, 3, "b", 1), -1); /* must start at 0 */
	ck_assert_int_eq(cd_chunks_add(&c, 0, 3, "a", 1), 0);
	ck_assert_int_eq(cd_chunks_add(&c, 2, 3, "c", 1), -1); /* gap */
	ck_assert_int_eq(cd_chunks_add(&c, 1, 4, "b", 1), -1); /* count changed */
	ck_assert_int_eq(cd_chunks_add(&c, 1, 3, "b", 1), 0);
	ck_assert_int_eq(cd_chunks_add(&c, 2, 3, "c", 1), 1);
	ck_assert_int_eq(c.data.len, 3);
	ck_assert_int_eq(memcmp(c.data.buf, "abc", 3), 0);
	/* chunk 0 restarts an assembly */
	ck_assert_int_eq(cd_chunks_add(&c, 0, 1, "z", 1), 1);
	ck_assert_int_eq(c.data.len, 1);
	ck_assert_int_eq(cd_chunks_add(&c, 0, 0, "z", 1), -1);
	ck_assert_int_eq(cd_chunks_add(&c, 5, 2, "z", 1), -1);
	cd_chunks_reset(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync");
	TCase *tc = tcase_create("sync");

	tcase_add_test(tc, compare_steps);
	tcase_add_test(tc, pick_and_transfer);
	tcase_add_test(tc, view_hash_sorted_ids);
	tcase_add_test(tc, chunks_in_order_only);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

/* test_repl.c - replication: several replicas on a fake total-order bus.
 *
 * The bus models CPG: one queue in agreed order; a message reaches the
 * members of the partition its sender was in when it was sent; a view change
 * is an item in the same queue, so it is ordered with the messages.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cd_repl.h"
#include "ut.h"
#include "ut_db.h"

#define NR 4

struct item {
	int part;
	uint32_t sender;       /* 0: a view change */
	char *buf;
	size_t len;
	uint32_t members[NR];
	size_t nmembers;
	struct item *next;
};

struct tnode {
	uint32_t id;
	char path[256];
	struct cd_db *db;
	struct cd_repl *r;
	int part;
	bool running;
	bool quorate;
	uint32_t view[NR];
	size_t nview;
	int last_rc;
	int napplied;
	char last_err[256];
};

static struct tnode nodes[NR];
static struct item *qhead, **qtail = &qhead;
static uint64_t clock_ms = 1700000000000ULL;
static int drop_sends; /* when > 0, the next sends fail (CPG busy) */

static void enqueue(struct item *it)
{
	it->next = NULL;
	*qtail = it;
	qtail = &it->next;
}

static int t_send(void *ctx, const void *buf, size_t len)
{
	struct tnode *n = ctx;
	struct item *it;

	if (drop_sends > 0) {
		drop_sends--;
		return -EAGAIN;
	}
	it = calloc(1, sizeof(*it));
	it->part = n->part;
	it->sender = n->id;
	it->buf = malloc(len);
	memcpy(it->buf, buf, len);
	it->len = len;
	enqueue(it);
	return 0;
}

static void t_applied(void *ctx, uint64_t id, int rc, const char *err)
{
	struct tnode *n = ctx;

	(void)id;
	n->last_rc = rc;
	n->napplied++;
	snprintf(n->last_err, sizeof(n->last_err), "%s", err ? err : "");
}

static bool t_quorate(void *ctx, bool *witness)
{
	*witness = false;
	return ((struct tnode *)ctx)->quorate;
}
static uint64_t t_wall(void *ctx) { (void)ctx; return clock_ms++; }
static void t_log(void *ctx, int prio, const char *text)
{
	if (getenv("UT_VERBOSE"))
		fprintf(stderr, "[n%u] %d %s\n", ((struct tnode *)ctx)->id, prio, text);
}

static const struct cd_repl_ops t_ops = { t_send, t_applied, NULL, t_quorate, t_wall, t_log, NULL };

static void node_start(int i)
{
	struct tnode *n = &nodes[i];

	n->db = ut_db_open(n->path);
	n->r = cd_repl_new(n->db, n->id, &t_ops, n);
	n->running = true;
	n->nview = 0;
}

static void node_stop(int i)
{
	struct tnode *n = &nodes[i];

	cd_repl_free(n->r);
	cd_db_close(n->db);
	n->r = NULL;
	n->db = NULL;
	n->running = false;
}

static void setup(void)
{
	int i;

	memset(nodes, 0, sizeof(nodes));
	qhead = NULL;
	qtail = &qhead;
	drop_sends = 0;
	for (i = 0; i < NR; i++) {
		nodes[i].id = (uint32_t)(i + 1);
		ut_tmp_path(nodes[i].path, sizeof(nodes[i].path));
	}
}

static void teardown(void)
{
	struct item *it, *nx;
	int i;

	for (it = qhead; it; it = nx) {
		nx = it->next;
		free(it->buf);
		free(it);
	}
	for (i = 0; i < NR; i++) {
		if (nodes[i].running)
			node_stop(i);
		ut_rm(nodes[i].path);
	}
}

/* Queue a view change for the running nodes of partition part. */
static void view(int part)
{
	struct item *it = calloc(1, sizeof(*it));
	int i;

	it->part = part;
	for (i = 0; i < NR; i++)
		if (nodes[i].running && nodes[i].part == part)
			it->members[it->nmembers++] = nodes[i].id;
	for (i = 0; i < NR; i++)
		if (nodes[i].running && nodes[i].part == part)
			nodes[i].quorate = it->nmembers * 2 > 3; /* 3 configured nodes */
	enqueue(it);
}

static void deliver_view(struct tnode *n, const struct item *it)
{
	uint32_t joined[NR], left[NR];
	size_t nj = 0, nl = 0, i, k;

	for (i = 0; i < it->nmembers; i++) {
		for (k = 0; k < n->nview && n->view[k] != it->members[i]; k++)
			;
		if (k == n->nview)
			joined[nj++] = it->members[i];
	}
	for (k = 0; k < n->nview; k++) {
		for (i = 0; i < it->nmembers && n->view[k] != it->members[i]; i++)
			;
		if (i == it->nmembers)
			left[nl++] = n->view[k];
	}
	memcpy(n->view, it->members, sizeof(n->view));
	n->nview = it->nmembers;
	cd_repl_confchg(n->r, it->members, it->nmembers, joined, nj, left, nl);
}

/* Deliver everything queued, including what deliveries send. */
static int run(void)
{
	int count = 0, i;

	while (qhead) {
		struct item *it = qhead;

		qhead = it->next;
		if (qhead == NULL)
			qtail = &qhead;
		for (i = 0; i < NR; i++) {
			struct tnode *n = &nodes[i];

			if (!n->running || n->part != it->part)
				continue;
			if (it->sender == 0) {
				size_t k;

				for (k = 0; k < it->nmembers && it->members[k] != n->id; k++)
					;
				if (k < it->nmembers)
					deliver_view(n, it);
			} else {
				cd_repl_deliver(n->r, it->sender, it->buf, it->len);
			}
		}
		free(it->buf);
		free(it);
		count++;
		ck_assert_int_lt(count, 100000);
	}
	return count;
}

static void write_prop(int i, const char *obj, const char *key, const char *value)
{
	struct cm_msg m;
	uint64_t id;

	cm_msg_init(&m, CM_MSG_WRITE);
	cm_msg_add_int(&m, CM_OP_PROP_SET);
	cm_msg_add_int(&m, obj[0] ? CM_OBJ_NODE : CM_OBJ_CLUSTER);
	cm_msg_add_str(&m, obj);
	cm_msg_add_str(&m, key);
	cm_msg_add_str(&m, value);
	cm_msg_add_str(&m, "root");
	ck_assert_int_eq(cd_repl_write(nodes[i].r, &m, &id), 0);
}

static void assert_same(int a, int b)
{
	int64_t ea, sa, eb, sb;

	cd_db_version(nodes[a].db, &ea, &sa);
	cd_db_version(nodes[b].db, &eb, &sb);
	ck_assert_msg(ea == eb && sa == sb, "n%d (%lld,%lld) != n%d (%lld,%lld)", a + 1,
		      (long long)ea, (long long)sa, b + 1, (long long)eb, (long long)sb);
	ck_assert_msg(cd_db_hash(nodes[a].db) == cd_db_hash(nodes[b].db), "content of n%d != n%d", a + 1, b + 1);
}

/* 3 nodes; n1 holds the seeded database, n2 and n3 start empty. */
static void form3(void)
{
	int i;

	for (i = 0; i < 3; i++)
		node_start(i);
	ut_db_seed(nodes[0].db, 3);
	view(0);
	run();
	for (i = 0; i < 3; i++)
		ck_assert(cd_repl_ready(nodes[i].r));
}

START_TEST(empty_nodes_take_the_seeded_replica)
{
	int64_t e, s;

	form3();
	ck_assert(cd_db_has_cluster(nodes[1].db));
	assert_same(0, 1);
	assert_same(0, 2);
	/* quorate sync: the epoch advanced past the seed's 1 */
	cd_db_version(nodes[2].db, &e, &s);
	ck_assert_int_eq(e, 2);
	ck_assert_int_eq(cd_repl_member(nodes[0].r, 3), CD_MEMBER_UP);
	ck_assert_int_eq(cd_repl_member(nodes[0].r, 4), CD_MEMBER_NONE);
}
END_TEST

static int count_events_about(struct cd_db *db, const char *text)
{
	struct cm_sb sb;
	struct cm_jw w;
	struct cm_jv *v;
	size_t i;
	int n = 0;

	cm_sb_init(&sb);
	cm_jw_init(&w, &sb);
	cd_db_events_json(db, 0, 0, 1000, &w);
	v = cm_jv_parse(cm_sb_str(&sb), NULL, 0);
	for (i = 0; v && i < v->nkids; i++)
		n += strcmp(cm_jv_get_str(&v->kids[i], "text", ""), text) == 0;
	cm_jv_free(v);
	cm_sb_free(&sb);
	return n;
}

START_TEST(membership_is_logged_once_by_the_first_majority)
{
	/* n1 starts alone (no majority of 3), then n2 joins: both joins are
	 * logged once, by the first view that holds a majority */
	node_start(0);
	ut_db_seed(nodes[0].db, 3);
	view(0);
	run();
	ck_assert_int_eq(count_events_about(nodes[0].db, "node 'n1' joined the cluster"), 0);
	node_start(1);
	view(0);
	run();
	ck_assert_int_eq(count_events_about(nodes[1].db, "node 'n1' joined the cluster"), 1);
	ck_assert_int_eq(count_events_about(nodes[1].db, "node 'n2' joined the cluster"), 1);
	node_stop(1);
	view(0);
	run();
	/* n1 alone again: no majority, so nothing is logged about n2 leaving */
	ck_assert_int_eq(count_events_about(nodes[0].db, "node 'n2' left the cluster"), 0);
}
END_TEST

START_TEST(concurrent_writes_converge)
{
	int i;

	form3();
	for (i = 0; i < 60; i++) {
		char v[16];

		snprintf(v, sizeof(v), "%d", i);
		write_prop(i % 3, i % 2 ? "n2" : "", i % 2 ? "user.k" : "description", v);
	}
	run();
	assert_same(0, 1);
	assert_same(0, 2);
	ck_assert_int_eq(nodes[0].napplied + nodes[1].napplied + nodes[2].napplied, 60);
	ck_assert_int_eq(nodes[0].last_rc, 0);
}
END_TEST

START_TEST(refused_write_refused_everywhere)
{
	int64_t e, s0, s1;

	form3();
	cd_db_version(nodes[0].db, &e, &s0);
	write_prop(1, "n9", "memory_mb", "5");
	run();
	ck_assert_int_eq(nodes[1].last_rc, -CM_E_NO_OBJECT);
	ck_assert_str_eq(nodes[1].last_err, "node 'n9' is not a member of cluster 'demo'");
	cd_db_version(nodes[2].db, &e, &s1);
	ck_assert_int_eq(s0, s1);
	assert_same(0, 1);
	assert_same(0, 2);
}
END_TEST

START_TEST(minority_catches_up_after_partition)
{
	int64_t e0, s0, e2, s2;

	form3();
	nodes[2].part = 1;         /* split {1,2} | {3} */
	view(0);
	view(1);
	run();
	ck_assert(nodes[0].quorate && !nodes[2].quorate);
	write_prop(0, "n1", "memory_mb", "1024");
	write_prop(1, "", "description", "written while n3 was away");
	run();
	cd_db_version(nodes[0].db, &e0, &s0);
	cd_db_version(nodes[2].db, &e2, &s2);
	ck_assert(e0 > e2 || s0 > s2);
	nodes[2].part = 0;         /* heal */
	view(0);
	run();
	assert_same(0, 2);
	assert_same(1, 2);
}
END_TEST

START_TEST(minority_epochs_do_not_beat_the_majority)
{
	int i;

	form3();
	nodes[2].part = 1;
	view(0);
	view(1);
	run();
	/* the isolated node flaps many times; it is never quorate */
	for (i = 0; i < 5; i++) {
		view(1);
		run();
	}
	write_prop(0, "", "description", "majority");
	run();
	nodes[2].part = 0;
	view(0);
	run();
	assert_same(0, 2);
	{
		char v[64];

		cd_db_prop_get(nodes[2].db, CM_OBJ_CLUSTER, "", "description", v, sizeof(v), NULL);
		ck_assert_str_eq(v, "majority");
	}
}
END_TEST

START_TEST(minority_refuses_writes_even_if_corosync_lags)
{
	int64_t e0, s0, e1, s1;

	form3();
	cd_db_version(nodes[2].db, &e0, &s0);
	nodes[2].part = 1;
	view(0);
	view(1);
	/* corosync's quorum callback has not arrived yet: it still says quorate */
	nodes[2].quorate = true;
	run();
	nodes[2].quorate = true;
	write_prop(2, "", "description", "minority");
	run();
	ck_assert_int_eq(nodes[2].last_rc, -CM_E_NO_QUORUM);
	/* no epoch, no membership event, no write: the minority's replica stands still */
	cd_db_version(nodes[2].db, &e1, &s1);
	ck_assert_int_eq(e1, e0);
	ck_assert_int_eq(s1, s0);
	nodes[2].part = 0;
	view(0);
	run();
	assert_same(0, 2);
}
END_TEST

START_TEST(write_during_sync_is_applied_once_ready)
{
	form3();
	node_start(3);             /* n4 has no replica; it is not in the nodes table either */
	view(0);
	/* submitted before the view change is delivered: n1 is still ready, so the
	 * write goes out now, is delivered while the view synchronises, is dropped
	 * by every member and re-sent */
	write_prop(0, "", "description", "during sync");
	run();
	ck_assert_int_eq(nodes[0].napplied, 1);
	ck_assert_int_eq(nodes[0].last_rc, 0);
	assert_same(0, 3);
	assert_same(1, 3);
	{
		char v[64];

		cd_db_prop_get(nodes[3].db, CM_OBJ_CLUSTER, "", "description", v, sizeof(v), NULL);
		ck_assert_str_eq(v, "during sync");
	}
}
END_TEST

START_TEST(failed_send_is_retried)
{
	form3();
	drop_sends = 1;
	write_prop(2, "", "description", "retry");
	run();
	ck_assert_int_eq(nodes[2].napplied, 0);   /* nothing went out */
	view(0);                                  /* next view: re-sent when ready */
	run();
	ck_assert_int_eq(nodes[2].napplied, 1);
	assert_same(0, 2);
}
END_TEST

START_TEST(whole_cluster_restart_keeps_everything)
{
	uint64_t h;
	int i;

	form3();
	write_prop(0, "", "description", "survives");
	write_prop(1, "n3", "user.rack", "r7");
	run();
	h = cd_db_hash(nodes[0].db);
	for (i = 0; i < 3; i++)
		node_stop(i);
	for (i = 2; i >= 0; i--)
		node_start(i);
	view(0);
	run();
	for (i = 0; i < 3; i++) {
		char v[64];

		ck_assert(cd_repl_ready(nodes[i].r));
		cd_db_prop_get(nodes[i].db, CM_OBJ_NODE, "n3", "user.rack", v, sizeof(v), NULL);
		ck_assert_str_eq(v, "r7");
	}
	/* only the epoch moved */
	ck_assert(cd_db_hash(nodes[0].db) != h);
	assert_same(0, 1);
}
END_TEST

START_TEST(node_down_then_back_catches_up)
{
	form3();
	node_stop(1);
	view(0);
	run();
	write_prop(0, "", "description", "while n2 was down");
	run();
	node_start(1);
	view(0);
	run();
	assert_same(0, 1);
}
END_TEST

START_TEST(hostile_messages_are_dropped)
{
	struct cm_msg m;
	struct cm_sb sb;
	uint64_t h;

	form3();
	h = cd_db_hash(nodes[0].db);
	cd_repl_deliver(nodes[0].r, 2, "garbage", 7);
	/* a message whose header names another sender */
	cm_msg_init(&m, CM_MSG_WRITE);
	m.sender = 3;
	cm_msg_add_int(&m, CM_OP_EVENT);
	cm_sb_init(&sb);
	ck_assert_int_eq(cm_msg_encode(&m, &sb), 0);
	cd_repl_deliver(nodes[0].r, 2, sb.buf, sb.len);
	/* a write with missing arguments: refused, nothing changes */
	m.sender = 2;
	cm_msg_encode(&m, &sb);
	cd_repl_deliver(nodes[0].r, 2, sb.buf, sb.len);
	/* an unknown type and a stale sync chunk */
	cm_msg_init(&m, 77);
	m.sender = 2;
	cm_msg_encode(&m, &sb);
	cd_repl_deliver(nodes[0].r, 2, sb.buf, sb.len);
	cm_msg_init(&m, CM_MSG_SYNC_DATA);
	m.sender = 2;
	cm_msg_add_int(&m, 1);
	cm_msg_encode(&m, &sb);
	cd_repl_deliver(nodes[0].r, 2, sb.buf, sb.len);
	/* from a node outside the view */
	cd_repl_deliver(nodes[0].r, 9, sb.buf, sb.len);
	cm_sb_free(&sb);
	ck_assert(cd_db_hash(nodes[0].db) == h);
	ck_assert(cd_repl_ready(nodes[0].r));
}
END_TEST

/* Deliver items until the next one is a message of this type. */
static bool run_until_type(uint16_t type)
{
	while (qhead) {
		struct cm_msg m;
		struct item *it = qhead;
		int i;

		if (it->sender && cm_msg_decode(it->buf, it->len, &m) == 0 && m.type == type)
			return true;
		qhead = it->next;
		if (qhead == NULL)
			qtail = &qhead;
		for (i = 0; i < NR; i++) {
			if (!nodes[i].running || nodes[i].part != it->part)
				continue;
			if (it->sender == 0)
				deliver_view(&nodes[i], it);
			else
				cd_repl_deliver(nodes[i].r, it->sender, it->buf, it->len);
		}
		free(it->buf);
		free(it);
	}
	return false;
}

START_TEST(view_change_during_transfer_converges)
{
	struct item *it;
	uint64_t before;
	int i;

	form3();
	node_stop(2);
	view(0);
	run();
	write_prop(0, "", "description", "v2");
	run();
	node_start(2);
	view(0);
	ck_assert(run_until_type(CM_MSG_SYNC_DATA));
	/* a new view is installed before the chunk is delivered (sent in the
	 * old view, delivered in the new one, as CPG may do) */
	before = cd_repl_syncs(nodes[2].r);
	it = calloc(1, sizeof(*it));
	for (i = 0; i < 3; i++)
		it->members[it->nmembers++] = nodes[i].id;
	it->next = qhead;
	qhead = it;
	run();
	for (i = 0; i < 3; i++)
		ck_assert(cd_repl_ready(nodes[i].r));
	/* the stale chunk completed nothing: exactly one sync, in the new view */
	ck_assert_int_eq(cd_repl_syncs(nodes[2].r), before + 1);
	assert_same(0, 2);
	assert_same(1, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("repl");
	TCase *tc = tcase_create("repl");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, empty_nodes_take_the_seeded_replica);
	tcase_add_test(tc, membership_is_logged_once_by_the_first_majority);
	tcase_add_test(tc, concurrent_writes_converge);
	tcase_add_test(tc, refused_write_refused_everywhere);
	tcase_add_test(tc, minority_catches_up_after_partition);
	tcase_add_test(tc, minority_epochs_do_not_beat_the_majority);
	tcase_add_test(tc, minority_refuses_writes_even_if_corosync_lags);
	tcase_add_test(tc, write_during_sync_is_applied_once_ready);
	tcase_add_test(tc, failed_send_is_retried);
	tcase_add_test(tc, whole_cluster_restart_keeps_everything);
	tcase_add_test(tc, node_down_then_back_catches_up);
	tcase_add_test(tc, hostile_messages_are_dropped);
	tcase_add_test(tc, view_change_during_transfer_converges);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

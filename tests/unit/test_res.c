/* test_res.c - the policy core through small hand-driven steps: the state
 * machines, dependency order, restart and failover, fencing before recovery
 * and the write-time dependency checks. The simulator (tests/sim) covers the
 * policies at length; these tests pin the core's contract. */
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "res_core.h"
#include "ut.h"

struct fix {
	struct res_model *m;
	struct res_plan p;
	uint32_t members[8];
	size_t nmembers;
	int64_t now;
};

static void fix_init(struct fix *f)
{
	uint32_t pref[] = { 2, 1 };
	int g;

	memset(f, 0, sizeof(*f));
	f->m = res_model_new();
	ck_assert_int_ge(res_model_add_node(f->m, 3, "n3"), 0);
	ck_assert_int_ge(res_model_add_node(f->m, 1, "n1"), 0);
	ck_assert_int_ge(res_model_add_node(f->m, 2, "n2"), 0);
	ck_assert_int_ge(res_model_add_group(f->m, "g1"), 0);
	ck_assert_int_ge(res_model_add_resource(f->m, "b", "process", "g1"), 0);
	ck_assert_int_ge(res_model_add_resource(f->m, "a", "process", "g1"), 0);
	ck_assert_int_eq(res_model_add_dep(f->m, "b", "a"), 0);
	ck_assert_int_eq(res_model_finish(f->m), 0);
	g = res_group_find(f->m, "g1");
	ck_assert_int_eq(res_group_set_preferred(f->m, g, pref, 2), 0);
	f->m->groups[g].want_online = true;
	f->m->nodes[0].has_agent = f->m->nodes[1].has_agent = f->m->nodes[2].has_agent = true;
	f->members[0] = 1, f->members[1] = 2, f->members[2] = 3;
	f->nmembers = 3;
	f->now = 1000000;
}

static void fix_free(struct fix *f)
{
	res_plan_free(&f->p);
	res_model_free(f->m);
}

static struct res_event ev(struct fix *f, enum res_ev type)
{
	struct res_event e;

	memset(&e, 0, sizeof(e));
	e.type = type;
	e.now_ms = (f->now += 100);
	e.quorate = true;
	e.members = f->members;
	e.nmembers = f->nmembers;
	e.res = e.group = -1;
	return e;
}

static void step(struct fix *f, struct res_event *e)
{
	ck_assert_int_eq(res_step(f->m, e, &f->p), 0);
}

/* Complete the first action of the plan addressed to a resource op. */
static void complete(struct fix *f, size_t i, bool ok)
{
	struct res_action a = f->p.actions[i];
	struct res_event e = ev(f, RES_EV_RESULT);

	e.res = a.res;
	e.node = a.node;
	e.gen = a.gen;
	e.op = a.op;
	e.ok = ok;
	e.text = ok ? "" : "boom";
	step(f, &e);
}

static const struct res_resource *R(struct fix *f, const char *name)
{
	return &f->m->res[res_resource_find(f->m, name)];
}

/* Bring g1 online: a on the first preferred owner, then b (bottom-up). */
static void bring_up(struct fix *f)
{
	struct res_event e = ev(f, RES_EV_TICK);

	step(f, &e);
	ck_assert_uint_eq(f->p.nactions, 1);
	ck_assert_int_eq(f->p.actions[0].op, RES_OP_ONLINE);
	ck_assert_int_eq(f->p.actions[0].res, res_resource_find(f->m, "a"));
	ck_assert_uint_eq(f->p.actions[0].node, 2);
	complete(f, 0, true);
	ck_assert_uint_eq(f->p.nactions, 1);
	ck_assert_int_eq(f->p.actions[0].res, res_resource_find(f->m, "b"));
	complete(f, 0, true);
	ck_assert_uint_eq(f->p.nactions, 0);
	ck_assert_int_eq(res_group_state(f->m, 0), RES_G_ONLINE);
}

START_TEST(t_online_bottom_up)
{
	struct fix f;

	fix_init(&f);
	bring_up(&f);
	ck_assert_uint_eq(f.m->groups[0].owner, 2);
	fix_free(&f);
}
END_TEST

START_TEST(t_offline_top_down)
{
	struct fix f;
	struct res_event e;

	fix_init(&f);
	bring_up(&f);
	e = ev(&f, RES_EV_GROUP_OFFLINE);
	e.group = 0;
	step(&f, &e);
	ck_assert_uint_eq(f.p.nactions, 1); /* only b: a waits for its dependent */
	ck_assert_int_eq(f.p.actions[0].res, res_resource_find(f.m, "b"));
	ck_assert_int_eq(f.p.actions[0].op, RES_OP_OFFLINE);
	complete(&f, 0, true);
	ck_assert_int_eq(f.p.actions[0].res, res_resource_find(f.m, "a"));
	complete(&f, 0, true);
	ck_assert_int_eq(res_group_state(f.m, 0), RES_G_OFFLINE);
	fix_free(&f);
}
END_TEST

START_TEST(t_node_loss_fences_first)
{
	struct fix f;
	struct res_event e;
	size_t i;

	fix_init(&f);
	bring_up(&f);
	f.members[0] = 1, f.members[1] = 3, f.nmembers = 2;
	e = ev(&f, RES_EV_TICK);
	step(&f, &e);
	/* only a fence action, by the lowest member; nothing started */
	ck_assert_uint_eq(f.p.nactions, 1);
	ck_assert_int_eq(f.p.actions[0].op, RES_OP_FENCE);
	ck_assert_uint_eq(f.p.actions[0].node, 1);
	ck_assert_uint_eq(f.p.actions[0].target, 2);
	ck_assert_int_eq(f.m->nodes[1].fence, RES_F_FENCING);
	e = ev(&f, RES_EV_TICK);
	step(&f, &e);
	ck_assert_uint_eq(f.p.nactions, 0);
	e = ev(&f, RES_EV_FENCE_RESULT);
	e.node = 2;
	e.ok = true;
	step(&f, &e);
	ck_assert_int_eq(f.m->nodes[1].fence, RES_F_FENCED);
	for (i = 0; i < f.p.nactions; i++)
		ck_assert_int_ne(f.p.actions[i].node, 2);
	ck_assert_uint_eq(f.p.nactions, 1);
	ck_assert_uint_eq(f.p.actions[0].node, 1); /* next preferred owner */
	ck_assert_int_eq(f.m->groups[0].nfailovers, 1);
	fix_free(&f);
}
END_TEST

START_TEST(t_fence_failure_retries_later)
{
	struct fix f;
	struct res_event e;

	fix_init(&f);
	bring_up(&f);
	f.members[0] = 1, f.members[1] = 3, f.nmembers = 2;
	e = ev(&f, RES_EV_TICK);
	step(&f, &e);
	e = ev(&f, RES_EV_FENCE_RESULT);
	e.node = 2;
	e.ok = false;
	e.text = "agent exited 1";
	step(&f, &e);
	ck_assert_int_eq(f.m->nodes[1].fence, RES_F_NEEDED);
	ck_assert_uint_eq(f.p.nactions, 0);
	ck_assert_int_gt(f.p.next_wake_ms, f.now);
	f.now = f.p.next_wake_ms;
	e = ev(&f, RES_EV_TICK);
	step(&f, &e);
	ck_assert_uint_eq(f.p.nactions, 1);
	ck_assert_int_eq(f.p.actions[0].op, RES_OP_FENCE);
	fix_free(&f);
}
END_TEST

START_TEST(t_no_quorum_no_change)
{
	struct fix f;
	struct res_event e;

	fix_init(&f);
	e = ev(&f, RES_EV_TICK);
	e.quorate = false;
	step(&f, &e);
	ck_assert_uint_eq(f.p.nactions, 0);
	ck_assert_uint_eq(f.p.nchanges, 0);
	ck_assert_int_eq(R(&f, "a")->state, RES_S_OFFLINE);
	fix_free(&f);
}
END_TEST

START_TEST(t_restart_then_failover)
{
	struct fix f;
	struct res_event e;
	int a, i;

	fix_init(&f);
	bring_up(&f);
	a = res_resource_find(f.m, "a");
	for (i = 0; i < 3; i++) {
		e = ev(&f, RES_EV_RESULT);
		e.res = a, e.node = 2, e.gen = R(&f, "a")->gen, e.op = RES_OP_HEALTH, e.ok = false;
		step(&f, &e);
		ck_assert_int_eq(R(&f, "a")->state, RES_S_FAILED);
		/* dependents go first */
		ck_assert_uint_eq(f.p.nactions, 1);
		ck_assert_int_eq(f.p.actions[0].res, res_resource_find(f.m, "b"));
		complete(&f, 0, true);  /* b offline -> a cleaned up */
		ck_assert_int_eq(f.p.actions[0].res, a);
		ck_assert_int_eq(f.p.actions[0].op, RES_OP_OFFLINE);
		complete(&f, 0, true);  /* a offline -> a online again, same node */
		ck_assert_int_eq(f.p.actions[0].res, a);
		ck_assert_int_eq(f.p.actions[0].op, RES_OP_ONLINE);
		ck_assert_uint_eq(f.p.actions[0].node, 2);
		complete(&f, 0, true);
		complete(&f, 0, true);  /* b */
		ck_assert_int_eq(res_group_state(f.m, 0), RES_G_ONLINE);
	}
	/* the fourth failure within 15 minutes fails the group over */
	e = ev(&f, RES_EV_RESULT);
	e.res = a, e.node = 2, e.gen = R(&f, "a")->gen, e.op = RES_OP_HEALTH, e.ok = false;
	step(&f, &e);
	ck_assert(f.m->groups[0].moving);
	complete(&f, 0, true);  /* b offline */
	complete(&f, 0, true);  /* a cleaned up -> placed on n1 */
	ck_assert_uint_eq(f.m->groups[0].owner, 1);
	ck_assert_uint_eq(f.p.actions[0].node, 1);
	ck_assert_int_eq(f.p.actions[0].op, RES_OP_ONLINE);
	fix_free(&f);
}
END_TEST

START_TEST(t_stale_result_ignored)
{
	struct fix f;
	struct res_event e;

	fix_init(&f);
	e = ev(&f, RES_EV_TICK);
	step(&f, &e);
	e = ev(&f, RES_EV_RESULT);
	e.res = f.p.actions[0].res, e.node = 2, e.gen = f.p.actions[0].gen + 7, e.op = RES_OP_ONLINE, e.ok = true;
	step(&f, &e);
	ck_assert_int_eq(R(&f, "a")->state, RES_S_ONLINE_PENDING);
	fix_free(&f);
}
END_TEST

START_TEST(t_dep_checks)
{
	struct res_model *m = res_model_new();
	char err[256];

	res_model_add_node(m, 1, "n1");
	res_model_add_group(m, "g1");
	res_model_add_group(m, "g2");
	res_model_add_resource(m, "a", "process", "g1");
	res_model_add_resource(m, "b", "process", "g1");
	res_model_add_resource(m, "c", "process", "g1");
	res_model_add_resource(m, "x", "process", "g2");
	res_model_add_dep(m, "b", "a");
	res_model_add_dep(m, "c", "b");
	ck_assert_int_eq(res_model_finish(m), 0);
	ck_assert_int_eq(res_dep_check(m, "a", "c", err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "cycle"));
	ck_assert_int_eq(res_dep_check(m, "a", "x", err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "inside a group"));
	ck_assert_int_eq(res_dep_check(m, "a", "nosuch", err, sizeof(err)), -CM_E_NO_OBJECT);
	ck_assert_int_eq(res_dep_check(m, "a", "a", err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(res_dep_check(m, "c", "b", err, sizeof(err)), -CM_E_EXISTS);
	ck_assert_int_eq(res_dep_check(m, "c", "a", err, sizeof(err)), 0);
	res_model_free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("res");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, t_online_bottom_up);
	tcase_add_test(tc, t_offline_top_down);
	tcase_add_test(tc, t_node_loss_fences_first);
	tcase_add_test(tc, t_fence_failure_retries_later);
	tcase_add_test(tc, t_no_quorum_no_change);
	tcase_add_test(tc, t_restart_then_failover);
	tcase_add_test(tc, t_stale_result_ignored);
	tcase_add_test(tc, t_dep_checks);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

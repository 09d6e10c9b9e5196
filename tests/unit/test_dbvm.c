/* test_dbvm.c - the virtual machine writes on a replica (clusterd/cd_db_vm.c):
 * create and delete as one write, refusals that change nothing, migration
 * jobs that follow the policy core and end with the source's figures, and
 * the snapshot tree (create, parent, rename, delete re-parents). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_wire.h"
#include "cd_db.h"
#include "res_core.h"
#define UT_DB_WRITES
#include "ut_db.h"

static const char xml[] =
	"<domain type='qemu'><name>vm1</name><memory unit='MiB'>128</memory>"
	"<os><type>hvm</type></os></domain>";

static int apply(struct cd_db *db, struct cm_msg *w, uint32_t sender, char *err, size_t len)
{
	return ut_db_apply(db, w, sender, err, len);
}

static int vm_create(struct cd_db *db, int start, char *err, size_t len)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_CREATE);
	cm_msg_add_int(&w, start);
	cm_msg_add_str(&w, "vm1");
	cm_msg_add_str(&w, "");
	cm_msg_add_str(&w, xml);
	cm_msg_add_str(&w, "n2,n1");
	cm_msg_add_str(&w, "memory_mb=128\n");
	cm_msg_add_str(&w, "root");
	return apply(db, &w, 1, err, len);
}

/* The executor's result for res (gen from the model), as node sends it. */
static int result(struct cd_db *db, const char *res, enum res_op op, bool ok, const int64_t *extra, int nextra)
{
	return ut_db_result(db, res, op, ok, extra, nextra, "1.00 s total, downtime 20 ms, 40.0 MiB transferred");
}

static struct cd_db *cluster(char *path, size_t len)
{
	static const uint32_t view[] = { 1, 2, 3 };
	struct cd_db *db;

	ut_tmp_path(path, len);
	db = ut_db_open(path);
	ut_db_seed(db, 3);
	ck_assert_int_eq(cd_db_set_view(db, view, 3), 0);
	return db;
}

static const char *state_of(struct cd_db *db, const char *res, uint32_t *node)
{
	const struct res_model *m = cd_db_model(db);
	int ri = res_resource_find(m, res);

	ck_assert_int_ge(ri, 0);
	if (node)
		*node = m->res[ri].node;
	return res_state_to_str(m->res[ri].state);
}

/* Bring vm1 online on its preferred owner n2 (results as the executor sends them). */
static void online(struct cd_db *db)
{
	char err[512];
	uint32_t node;

	ck_assert_int_eq(vm_create(db, 1, err, sizeof(err)), 0);
	ck_assert_str_eq(state_of(db, "vm1-config", &node), "OnlinePending");
	ck_assert_uint_eq(node, 2);
	ck_assert_int_eq(result(db, "vm1-config", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", NULL), "OnlinePending");
	ck_assert_int_eq(result(db, "vm1", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "Online");
}

START_TEST(create_delete_one_write)
{
	char path[256], err[512], *x;
	struct cd_db *db = cluster(path, sizeof(path));
	const struct res_model *m;
	uint64_t h;
	struct cm_msg w;
	int gi;

	ck_assert_int_eq(vm_create(db, 0, err, sizeof(err)), 0);
	ck_assert(cd_db_vm_exists(db, "vm1"));
	m = cd_db_model(db);
	gi = res_group_find(m, "vm1");
	ck_assert_int_ge(gi, 0);
	ck_assert_int_eq(m->groups[gi].nres, 2);
	ck_assert_int_eq(m->groups[gi].npreferred, 2);
	ck_assert_int_eq(m->res[res_resource_find(m, "vm1")].ndeps, 1);
	x = cd_db_vm_xml(db, "vm1-config");
	ck_assert_ptr_nonnull(x);
	ck_assert_str_eq(x, xml);
	free(x);
	/* a second one with that name: refused, nothing changed */
	h = cd_db_hash(db);
	ck_assert_int_lt(vm_create(db, 0, err, sizeof(err)), 0);
	ck_assert(cd_db_hash(db) == h);
	/* a new configuration while it is offline: taken */
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_XML);
	cm_msg_add_str(&w, "vm1");
	cm_msg_add_str(&w, "<domain type='qemu'><name>vm1</name><memory unit='MiB'>96</memory></domain>");
	cm_msg_add_str(&w, "root");
	ck_assert_int_eq(apply(db, &w, 1, err, sizeof(err)), 0);
	x = cd_db_vm_xml(db, "vm1-config");
	ck_assert_ptr_nonnull(strstr(x, ">96<"));
	free(x);
	h = cd_db_hash(db);
	/* migrating a VM that is not running: refused with a reason */
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_MIGRATE);
	cm_msg_add_int(&w, 77);
	cm_msg_add_str(&w, "vm1");
	cm_msg_add_str(&w, "n3");
	cm_msg_add_str(&w, "live");
	cm_msg_add_str(&w, "root");
	ck_assert_int_eq(apply(db, &w, 1, err, sizeof(err)), -CM_E_STATE);
	ck_assert_ptr_nonnull(strstr(err, "not running"));
	ck_assert(cd_db_hash(db) == h);
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_DELETE);
	cm_msg_add_str(&w, "vm1");
	cm_msg_add_str(&w, "root");
	ck_assert_int_eq(apply(db, &w, 1, err, sizeof(err)), 0);
	ck_assert(!cd_db_vm_exists(db, "vm1"));
	m = cd_db_model(db);
	ck_assert_int_lt(res_group_find(m, "vm1"), 0);
	ck_assert_ptr_null(cd_db_vm_xml(db, "vm1-config"));
	cd_db_close(db);
	ut_rm(path);
}
END_TEST

static int migrate(struct cd_db *db, int64_t job, const char *to, const char *mode, char *err, size_t len)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_MIGRATE);
	cm_msg_add_int(&w, job);
	cm_msg_add_str(&w, "vm1");
	cm_msg_add_str(&w, to);
	cm_msg_add_str(&w, mode);
	cm_msg_add_str(&w, "root");
	return apply(db, &w, 1, err, len);
}

static void job_has(struct cd_db *db, int64_t id, const char *needle)
{
	struct cm_sb sb;
	struct cm_jw w;
	char err[256];

	cm_sb_init(&sb);
	cm_jw_init(&w, &sb);
	cm_jw_obj_begin(&w);
	ck_assert_int_eq(cd_db_vm_job_json(db, id, &w, err, sizeof(err)), 0);
	cm_jw_obj_end(&w);
	ck_assert_msg(strstr(cm_sb_str(&sb), needle), "job %lld: %s lacks %s", (long long)id, cm_sb_str(&sb), needle);
	cm_sb_free(&sb);
}

START_TEST(migration_job_follows_the_core)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));
	const int64_t figures[] = { 1000, 20, 134217728, 41943040 };
	const struct res_model *m;
	uint32_t node;

	online(db);
	{
		struct cm_msg w;
		uint64_t h = cd_db_hash(db);

		/* no new configuration while it runs */
		cm_msg_init(&w, CM_MSG_WRITE);
		cm_msg_add_int(&w, CM_OP_VM_XML);
		cm_msg_add_str(&w, "vm1");
		cm_msg_add_str(&w, xml);
		cm_msg_add_str(&w, "root");
		ck_assert_int_eq(apply(db, &w, 1, err, sizeof(err)), -CM_E_STATE);
		ck_assert(cd_db_hash(db) == h);
	}
	ck_assert_int_eq(migrate(db, 42, "n3", "live", err, sizeof(err)), 0);
	m = cd_db_model(db);
	ck_assert(m->groups[res_group_find(m, "vm1")].mig_running);
	job_has(db, 42, "\"state\":\"running\"");
	job_has(db, 42, "\"from\":\"n2\",\"to\":\"n3\"");
	/* a second request while one runs: refused */
	ck_assert_int_eq(migrate(db, 43, "n1", "live", err, sizeof(err)), -CM_E_BUSY);
	/* the source reports success with its figures: one write moves it all */
	ck_assert_int_eq(result(db, "vm1", RES_OP_MIGRATE, true, figures, 4), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "Online");
	ck_assert_uint_eq(node, 3);
	ck_assert_str_eq(state_of(db, "vm1-config", &node), "Online");
	ck_assert_uint_eq(node, 3);
	job_has(db, 42, "\"state\":\"done\"");
	job_has(db, 42, "\"total_ms\":1000,\"downtime_ms\":20,\"data_total\":134217728,\"data_processed\":41943040");
	/* a failed one leaves it where it is */
	ck_assert_int_eq(migrate(db, 44, "n1", "quick", err, sizeof(err)), 0);
	ck_assert_int_eq(result(db, "vm1", RES_OP_MIGRATE, false, figures, 4), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "Online");
	ck_assert_uint_eq(node, 3);
	job_has(db, 44, "\"state\":\"failed\"");
	/* move: offline there, online here; the job ends once it is online */
	ck_assert_int_eq(migrate(db, 45, "n1", "move", err, sizeof(err)), 0);
	ck_assert_str_eq(state_of(db, "vm1", NULL), "OfflinePending");
	ck_assert_int_eq(result(db, "vm1", RES_OP_OFFLINE, true, NULL, 0), 0);
	ck_assert_int_eq(result(db, "vm1-config", RES_OP_OFFLINE, true, NULL, 0), 0);
	ck_assert_int_eq(result(db, "vm1-config", RES_OP_ONLINE, true, NULL, 0), 0);
	job_has(db, 45, "\"state\":\"running\"");
	ck_assert_int_eq(result(db, "vm1", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "Online");
	ck_assert_uint_eq(node, 1);
	job_has(db, 45, "\"state\":\"done\"");
	cd_db_close(db);
	ut_rm(path);
}
END_TEST

static int snap(struct cd_db *db, int64_t job, const char *action, const char *name, const char *to)
{
	struct cm_msg w;
	char err[512];

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_SNAPSHOT);
	cm_msg_add_int(&w, job);
	cm_msg_add_str(&w, "vm1");
	cm_msg_add_str(&w, action);
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, to);
	cm_msg_add_str(&w, "root");
	return apply(db, &w, 1, err, sizeof(err));
}

static int snap_done(struct cd_db *db, int64_t job, bool ok)
{
	struct cm_msg w;
	char err[512];

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_JOB_DONE);
	cm_msg_add_int(&w, job);
	cm_msg_add_int(&w, ok);
	cm_msg_add_str(&w, ok ? "took it" : "failed");
	cm_msg_add_str(&w, "<domainsnapshot><name>x</name><state>running</state></domainsnapshot>");
	cm_msg_add_str(&w, "running");
	return apply(db, &w, 2, err, sizeof(err));
}

static void snaps_are(struct cd_db *db, const char *needle)
{
	struct cm_sb sb;
	struct cm_jw w;
	char err[256];

	cm_sb_init(&sb);
	cm_jw_init(&w, &sb);
	cm_jw_obj_begin(&w);
	ck_assert_int_eq(cd_db_vm_snaps_json(db, "vm1", &w, err, sizeof(err)), 0);
	cm_jw_obj_end(&w);
	ck_assert_msg(strstr(cm_sb_str(&sb), needle), "%s lacks %s", cm_sb_str(&sb), needle);
	cm_sb_free(&sb);
}

START_TEST(snapshot_tree)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));

	/* not defined anywhere: refused */
	ck_assert_int_eq(vm_create(db, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(snap(db, 1, "create", "S1", ""), -CM_E_STATE);
	ck_assert_int_eq(result(db, "vm1-config", RES_OP_ONLINE, true, NULL, 0), 0); /* stale: ignored */
	cd_db_close(db);
	ut_rm(path);

	db = cluster(path, sizeof(path));
	online(db);
	ck_assert_int_eq(snap(db, 1, "create", "S1", ""), 0);
	ck_assert_int_eq(snap(db, 2, "create", "S2", ""), -CM_E_BUSY); /* one at a time */
	ck_assert_int_eq(snap_done(db, 1, true), 0);
	snaps_are(db, "\"current\":\"S1\"");
	ck_assert_int_eq(snap(db, 2, "create", "S1", ""), -CM_E_EXISTS);
	ck_assert_int_eq(snap(db, 3, "create", "S2", ""), 0);
	ck_assert_int_eq(snap_done(db, 3, true), 0);
	snaps_are(db, "{\"name\":\"S2\",\"parent\":\"S1\"");
	snaps_are(db, "\"current\":\"S2\"");
	/* a failed create leaves no snapshot */
	ck_assert_int_eq(snap(db, 4, "create", "S3", ""), 0);
	ck_assert_int_eq(snap_done(db, 4, false), 0);
	ck_assert_int_eq(snap(db, 5, "apply", "S3", ""), -CM_E_NO_OBJECT);
	/* rename: the child follows, at once (no node acts) */
	ck_assert_int_eq(snap(db, 6, "rename", "S1", "base"), 0);
	snaps_are(db, "{\"name\":\"S2\",\"parent\":\"base\"");
	/* apply makes it current; delete re-parents its children */
	ck_assert_int_eq(snap(db, 7, "apply", "base", ""), 0);
	ck_assert_int_eq(snap_done(db, 7, true), 0);
	snaps_are(db, "\"current\":\"base\"");
	ck_assert_int_eq(snap(db, 8, "delete", "base", ""), 0);
	ck_assert_int_eq(snap_done(db, 8, true), 0);
	snaps_are(db, "{\"name\":\"S2\",\"parent\":null");
	snaps_are(db, "\"current\":null");
	ck_assert_int_eq(snap(db, 9, "revert", "", ""), -CM_E_NO_OBJECT);
	cd_db_close(db);
	ut_rm(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dbvm");
	TCase *tc = tcase_create("dbvm");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, create_delete_one_write);
	tcase_add_test(tc, migration_job_follows_the_core);
	tcase_add_test(tc, snapshot_tree);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

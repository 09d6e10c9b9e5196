/* test_dbcsv.c - the cluster shared volume writes on a replica
 * (clusterd/cd_db_csv.c, cd_db_csv_query.c): create and its refusals, the
 * coordinator, volume requests recorded in apply order, the coordinator's
 * answers mirroring the LUN's table, volume locks granted all or nothing,
 * and the sweep after every write that keeps, hands over or releases a lock
 * as its owner resource runs, stops, migrates or its node is fenced. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_prop.h"
#include "cm_proto.h"
#include "cm_wire.h"
#include "cd_db.h"
#include "res_core.h"
#define UT_DB_WRITES
#include "ut_db.h"

#define T0 1700000100000ull
#define LUN_URL "iscsi://198.18.0.9/iqn.2024-01.test:lun/1"

static const char xml[] =
	"<domain type='qemu'><name>vm1</name><memory unit='MiB'>128</memory>"
	"<os><type>hvm</type></os></domain>";

static int apply(struct cd_db *db, struct cm_msg *w, uint32_t sender, char *err, size_t len)
{
	return ut_db_apply(db, w, sender, err, len);
}

static struct cd_db *cluster(char *path, size_t len)
{
	static const uint32_t view[] = { 1, 2, 3 };
	struct cd_db *db;

	ut_db_now = T0;
	ut_tmp_path(path, len);
	db = ut_db_open(path);
	ut_db_seed(db, 3);
	ck_assert_int_eq(cd_db_set_view(db, view, 3), 0);
	return db;
}

static void done(struct cd_db *db, const char *path)
{
	cd_db_close(db);
	ut_rm(path);
}

/* ---- writes ---- */

static int csv_create_lun(struct cd_db *db, const char *name, const char *url, char *err, size_t len)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_CREATE);
	cm_msg_add_int(&w, 1 << 30);       /* lun_bytes */
	cm_msg_add_int(&w, 1 << 20);       /* data_off */
	cm_msg_add_int(&w, 1 << 30);       /* data_end */
	cm_msg_add_int(&w, 1);             /* table_gen */
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, url);
	cm_msg_add_str(&w, "root");
	return apply(db, &w, 1, err, len);
}

static int csv_delete(struct cd_db *db, const char *name, char *err, size_t len)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_DELETE);
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, "root");
	return apply(db, &w, 1, err, len);
}

static int vol_req(struct cd_db *db, int64_t id, const char *csv, const char *op, const char *vol, int64_t size,
		   char *err, size_t len)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_VOL_REQ);
	cm_msg_add_int(&w, id);
	cm_msg_add_int(&w, size);
	cm_msg_add_str(&w, csv);
	cm_msg_add_str(&w, op);
	cm_msg_add_str(&w, vol);
	cm_msg_add_str(&w, "root");
	return apply(db, &w, 2, err, len);
}

static int vol_done(struct cd_db *db, uint32_t sender, const char *csv, int64_t id, int ok, int64_t gen,
		    const char *text, const char *table, char *err, size_t len)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_VOL_DONE);
	cm_msg_add_int(&w, id);
	cm_msg_add_int(&w, ok);
	cm_msg_add_int(&w, gen);
	cm_msg_add_str(&w, csv);
	cm_msg_add_str(&w, text);
	cm_msg_add_str(&w, table);
	return apply(db, &w, sender, err, len);
}

/* mode 0 exclusive, 1 shared */
static int lock(struct cd_db *db, const char *node, const char *owner, const char *vols, int mode, int unlock,
		char *err, size_t len)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_CSV_LOCK);
	cm_msg_add_int(&w, mode);
	cm_msg_add_int(&w, unlock);
	cm_msg_add_str(&w, node);
	cm_msg_add_str(&w, owner);
	cm_msg_add_str(&w, vols);
	cm_msg_add_str(&w, "root");
	return apply(db, &w, 1, err, len);
}

static void tick(struct cd_db *db)
{
	struct cm_msg w;
	char err[512];

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_TICK);
	cm_msg_add_str(&w, "test");
	ck_assert_msg(apply(db, &w, 1, err, sizeof(err)) == 0, "tick: %s", err);
}

static void prop_set(struct cd_db *db, enum cm_obj_kind kind, const char *obj, const char *key, const char *value)
{
	struct cm_msg w;
	char err[512];

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_PROP_SET);
	cm_msg_add_int(&w, kind);
	cm_msg_add_str(&w, obj);
	cm_msg_add_str(&w, key);
	cm_msg_add_str(&w, value);
	cm_msg_add_str(&w, "root");
	ck_assert_msg(apply(db, &w, 1, err, sizeof(err)) == 0, "prop set: %s", err);
}

static int vm_create(struct cd_db *db, int start, const char *opts, char *err, size_t len)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_CREATE);
	cm_msg_add_int(&w, start);
	cm_msg_add_str(&w, "vm1");
	cm_msg_add_str(&w, "");
	cm_msg_add_str(&w, xml);
	cm_msg_add_str(&w, "n2,n1");
	cm_msg_add_str(&w, opts);
	cm_msg_add_str(&w, "root");
	return apply(db, &w, 1, err, len);
}

static int vm_write(struct cd_db *db, enum cm_op op, int64_t job, const char *a, const char *b, char *err,
		    size_t len)
{
	struct cm_msg w;

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, op);
	if (op == CM_OP_VM_MIGRATE)
		cm_msg_add_int(&w, job);
	cm_msg_add_str(&w, "vm1");
	if (a)
		cm_msg_add_str(&w, a);
	if (b)
		cm_msg_add_str(&w, b);
	cm_msg_add_str(&w, "root");
	return apply(db, &w, 1, err, len);
}

/* The executor's result for res (gen from the model), as its node sends it. */
static int result(struct cd_db *db, const char *res, enum res_op op, bool ok, const int64_t *extra, int nextra)
{
	return ut_db_result(db, res, op, ok, extra, nextra, "ok");
}

static int fence_result(struct cd_db *db, const char *target, bool ok)
{
	const struct res_model *m = cd_db_model(db);
	int ni = res_node_find_name(m, target);
	struct cm_msg w;
	char err[512];

	ck_assert_int_ge(ni, 0);
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_FENCE_RESULT);
	cm_msg_add_int(&w, ok);
	cm_msg_add_int(&w, m->nodes[ni].fence_attempts);
	cm_msg_add_str(&w, target);
	cm_msg_add_str(&w, ok ? "powered off" : "agent failed");
	return apply(db, &w, m->nodes[ni].fencer ? m->nodes[ni].fencer : 1, err, sizeof(err));
}

/* ---- reading ---- */

static const char *state_of(struct cd_db *db, const char *res, uint32_t *node)
{
	const struct res_model *m = cd_db_model(db);
	int ri = res_resource_find(m, res);

	ck_assert_int_ge(ri, 0);
	if (node)
		*node = m->res[ri].node;
	return res_state_to_str(m->res[ri].state);
}

static void req_is(struct cd_db *db, int64_t id, const char *state, const char *needle)
{
	char st[32], text[512];

	ck_assert_int_eq(cd_db_csv_req_state(db, id, st, sizeof(st), text, sizeof(text)), 0);
	ck_assert_msg(strcmp(st, state) == 0, "request %lld is %s (%s), not %s", (long long)id, st, text, state);
	if (needle)
		ck_assert_msg(strstr(text, needle), "request %lld: '%s' lacks '%s'", (long long)id, text, needle);
}

static void locks_have(struct cd_db *db, const char *needle, bool present)
{
	struct cm_sb sb;
	struct cm_jw w;
	char err[256];

	cm_sb_init(&sb);
	cm_jw_init(&w, &sb);
	cm_jw_obj_begin(&w);
	ck_assert_int_eq(cd_db_csv_locks_json(db, "", &w, err, sizeof(err)), 0);
	cm_jw_obj_end(&w);
	ck_assert_msg((strstr(cm_sb_str(&sb), needle) != NULL) == present, "%s %s %s", cm_sb_str(&sb),
		      present ? "lacks" : "has", needle);
	cm_sb_free(&sb);
}

static void no_locks(struct cd_db *db)
{
	locks_have(db, "\"volume\"", false);
}

/* ---- fixtures ---- */

/* c1 online on n1 (its coordinator). */
static void csv_online(struct cd_db *db)
{
	char err[512];
	uint32_t node;

	ck_assert_msg(csv_create_lun(db, "c1", LUN_URL, err, sizeof(err)) == 0, "create: %s", err);
	ck_assert_str_eq(state_of(db, "csv-c1", &node), "OnlinePending");
	ck_assert_uint_eq(node, 1);
	ck_assert_uint_eq(cd_db_csv_coordinator(db, "c1"), 0);
	ck_assert_int_eq(result(db, "csv-c1", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "csv-c1", NULL), "Online");
	ck_assert_uint_eq(cd_db_csv_coordinator(db, "c1"), 1);
}

static const char table2[] = "gen 2 count 2\n"
			     "a 1048576 1048576 2 1700000000000 0\n"
			     "b 2097152 4194304 2 1700000000001 0\n";

/* c1 online on n1 with volumes a and b. */
static void csv_with_vols(struct cd_db *db)
{
	char err[512];

	csv_online(db);
	ck_assert_msg(vol_done(db, 1, "c1", 0, 1, 2, "", table2, err, sizeof(err)) == 0, "publish: %s", err);
}

/* vm1 online on n2 (its first preferred owner). */
static void vm_online(struct cd_db *db)
{
	char err[512];
	uint32_t node;

	ck_assert_msg(vm_create(db, 1, "memory_mb=128\n", err, sizeof(err)) == 0, "vm: %s", err);
	ck_assert_int_eq(result(db, "vm1-config", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_int_eq(result(db, "vm1", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "Online");
	ck_assert_uint_eq(node, 2);
}

/* ---- 1. create ---- */

START_TEST(create_and_refusals)
{
	char path[256], err[512], grp[64], v[64];
	struct cd_db *db = cluster(path, sizeof(path));
	const struct res_model *m;
	struct cd_db_csv c;
	uint64_t h;
	int gi, ri;

	cd_db_csv_group("c1", grp, sizeof(grp));
	ck_assert_str_eq(grp, "csv-c1");
	ck_assert_int_eq(cd_db_csv_get(db, "c1", &c), -CM_E_NO_OBJECT);
	ck_assert_int_eq(csv_create_lun(db, "c1", LUN_URL, err, sizeof(err)), 0);
	ck_assert_int_eq(cd_db_csv_get(db, "c1", &c), 0);
	ck_assert_str_eq(c.name, "c1");
	ck_assert_str_eq(c.url, LUN_URL);
	ck_assert_int_eq(c.lun_bytes, 1 << 30);
	ck_assert_int_eq(c.data_off, 1 << 20);
	ck_assert_int_eq(c.data_end, 1 << 30);
	ck_assert_int_eq(c.table_gen, 1);
	m = cd_db_model(db);
	gi = res_group_find(m, "csv-c1");
	ck_assert_int_ge(gi, 0);
	ck_assert_int_eq(m->groups[gi].nres, 1);
	ri = res_resource_find(m, "csv-c1");
	ck_assert_int_ge(ri, 0);
	ck_assert_str_eq(m->res[ri].type, "csv");
	ck_assert_int_eq(m->res[ri].group, gi);
	ck_assert_int_eq(cd_db_prop_get(db, CM_OBJ_RESOURCE, "csv-c1", "url", v, sizeof(v), NULL), 0);
	ck_assert_str_eq(v, LUN_URL);
	{
		char *t = cd_db_csv_table_text(db, "c1");

		ck_assert_ptr_nonnull(t);
		ck_assert_str_eq(t, "gen 1 count 0\n");
		free(t);
	}

	/* refusals change nothing */
	h = cd_db_hash(db);
	ck_assert_int_eq(csv_create_lun(db, "c1", "iscsi://198.18.0.9/iqn.2024-01.test:lun/2", err, sizeof(err)),
			 -CM_E_EXISTS);
	ck_assert_ptr_nonnull(strstr(err, "'c1' already exists"));
	ck_assert_int_eq(csv_create_lun(db, "c2", LUN_URL, err, sizeof(err)), -CM_E_EXISTS);
	ck_assert_ptr_nonnull(strstr(err, "'c1'"));
	ck_assert_int_eq(csv_create_lun(db, "bad/name", "iscsi://198.18.0.9/iqn.2024-01.test:lun/3", err, sizeof(err)), -CM_E_NAME);
	ck_assert_int_eq(csv_create_lun(db, "", "iscsi://198.18.0.9/iqn.2024-01.test:lun/3", err, sizeof(err)), -CM_E_NAME);
	ck_assert_int_eq(csv_create_lun(db, ".hidden", "iscsi://198.18.0.9/iqn.2024-01.test:lun/3", err, sizeof(err)), -CM_E_NAME);
	ck_assert_int_eq(csv_create_lun(db, "sixteen-chars-xx", "iscsi://198.18.0.9/iqn.2024-01.test:lun/3", err, sizeof(err)), -CM_E_NAME);
	ck_assert(cd_db_hash(db) == h);
	ck_assert_int_eq(cd_db_csv_get(db, "c2", &c), -CM_E_NO_OBJECT);

	/* a VM's whole-LUN disk: its URL cannot become a CSV, nor a CSV's URL a disk */
	ck_assert_msg(vm_create(db, 0, "memory_mb=128\ndisks=iscsi://198.18.0.9/iqn.2024-01.test:lun/5\n", err,
				sizeof(err)) == 0, "vm: %s", err);
	m = cd_db_model(db);
	ck_assert_int_ge(res_resource_find(m, "vm1-disk1"), 0);
	h = cd_db_hash(db);
	ck_assert_int_eq(csv_create_lun(db, "c3", "iscsi://198.18.0.9/iqn.2024-01.test:lun/5", err, sizeof(err)),
			 -CM_E_EXISTS);
	ck_assert_ptr_nonnull(strstr(err, "physical disk 'vm1-disk1'"));
	ck_assert(cd_db_hash(db) == h);
	ck_assert_int_eq(cd_db_csv_get(db, "c3", &c), -CM_E_NO_OBJECT);
	m = cd_db_model(db);
	ck_assert_int_lt(res_group_find(m, "csv-c3"), 0);

	/* one LUN, one owner, whatever portal names it: a second disk, a disk
	 * on a CSV's LUN, or the witness are refused at create and at prop set */
	{
		struct cm_msg w;
		const char *dups[] = { "url=iscsi://198.18.0.77:3260/IQN.2024-01.test:lun/5",
				       "url=" LUN_URL, "url=iscsi://198.18.0.9/iqn.2024-01.test:lun/9" };

		cm_msg_init(&w, CM_MSG_WRITE);
		cm_msg_add_int(&w, CM_OP_QUORUM_SET);
		cm_msg_add_str(&w, "node-and-disk-majority");
		cm_msg_add_str(&w, "iscsi://198.18.0.9/iqn.2024-01.test:lun/9");
		cm_msg_add_str(&w, "root");
		ck_assert_msg(apply(db, &w, 1, err, sizeof(err)) == 0, "quorum set: %s", err);
		h = cd_db_hash(db);
		for (size_t k = 0; k < 3; k++) {
			cm_msg_init(&w, CM_MSG_WRITE);
			cm_msg_add_int(&w, CM_OP_RES_CREATE);
			cm_msg_add_str(&w, "d2");
			cm_msg_add_str(&w, "vm1");
			cm_msg_add_str(&w, "physical-disk");
			cm_msg_add_str(&w, dups[k]);
			cm_msg_add_str(&w, "root");
			ck_assert_msg(apply(db, &w, 1, err, sizeof(err)) == -CM_E_EXISTS, "case %zu: %s", k, err);
		}
		ck_assert_ptr_nonnull(strstr(err, "witness"));
		cm_msg_init(&w, CM_MSG_WRITE);
		cm_msg_add_int(&w, CM_OP_PROP_SET);
		cm_msg_add_int(&w, CM_OBJ_RESOURCE);
		cm_msg_add_str(&w, "vm1-disk1");
		cm_msg_add_str(&w, "url");
		cm_msg_add_str(&w, LUN_URL);
		cm_msg_add_str(&w, "root");
		ck_assert_int_eq(apply(db, &w, 1, err, sizeof(err)), -CM_E_EXISTS);
		ck_assert_ptr_nonnull(strstr(err, "cluster shared volume 'c1'"));
		ck_assert(cd_db_hash(db) == h);
	}

	/* 15 characters is the longest name */
	ck_assert_msg(csv_create_lun(db, "fifteen-chars-x", "iscsi://198.18.0.9/iqn.2024-01.test:lun/4", err,
				     sizeof(err)) == 0, "%s", err);
	ck_assert_int_ge(res_group_find(cd_db_model(db), "csv-fifteen-chars-x"), 0);
	ck_assert_int_eq(csv_delete(db, "nope", err, sizeof(err)), -CM_E_NO_OBJECT);
	done(db, path);
}
END_TEST

/* ---- 2. coordinator ---- */

START_TEST(coordinator_is_where_it_runs)
{
	char path[256];
	struct cd_db *db = cluster(path, sizeof(path));

	ck_assert_uint_eq(cd_db_csv_coordinator(db, "c1"), 0);
	csv_online(db);
	ck_assert_uint_eq(cd_db_csv_coordinator(db, "other"), 0);
	done(db, path);
}
END_TEST

/* ---- 3. volume requests ---- */

START_TEST(volume_requests_recorded)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));
	struct cd_db_csv_req r;
	uint64_t h;

	csv_with_vols(db);
	ck_assert_int_eq(cd_db_csv_next_req(db, "c1", &r), 0);
	/* good ones are pending */
	ck_assert_int_eq(vol_req(db, 10, "c1", "create", "d", 1 << 20, err, sizeof(err)), 0);
	req_is(db, 10, "pending", NULL);
	ck_assert_int_eq(vol_req(db, 5, "c1", "resize", "b", 8 << 20, err, sizeof(err)), 0);
	req_is(db, 5, "pending", NULL);
	/* bad ones are recorded as failed, with the reason; the write succeeds */
	ck_assert_int_eq(vol_req(db, 11, "c1", "create", "a", 1 << 20, err, sizeof(err)), 0);
	req_is(db, 11, "failed", "already exists");
	ck_assert_int_eq(vol_req(db, 12, "c1", "create", "d", 1 << 20, err, sizeof(err)), 0);
	req_is(db, 12, "failed", "already being created");
	ck_assert_int_eq(vol_req(db, 13, "c1", "create", "bad/name", 1 << 20, err, sizeof(err)), 0);
	req_is(db, 13, "failed", "may only have");
	ck_assert_int_eq(vol_req(db, 14, "nope", "create", "e", 1 << 20, err, sizeof(err)), 0);
	req_is(db, 14, "failed", "'nope' does not exist");
	ck_assert_int_eq(vol_req(db, 15, "c1", "create", "e", 0, err, sizeof(err)), 0);
	req_is(db, 15, "failed", "size above 0");
	ck_assert_int_eq(vol_req(db, 16, "c1", "create", "e", -5, err, sizeof(err)), 0);
	req_is(db, 16, "failed", "size above 0");
	ck_assert_int_eq(vol_req(db, 17, "c1", "delete", "zz", 0, err, sizeof(err)), 0);
	req_is(db, 17, "failed", "does not exist");
	ck_assert_int_eq(vol_req(db, 18, "c1", "shrink", "a", 1, err, sizeof(err)), 0);
	req_is(db, 18, "failed", "unknown volume operation");
	ck_assert_int_eq(vol_req(db, 19, "c1", "resize", "a", 0, err, sizeof(err)), 0);
	req_is(db, 19, "failed", "size above 0");
	{
		char name48[49];

		memset(name48, 'v', 48);
		name48[48] = '\0';
		ck_assert_int_eq(vol_req(db, 20, "c1", "create", name48, 1 << 20, err, sizeof(err)), 0);
		req_is(db, 20, "failed", "1 to 47 characters");
	}
	/* a locked volume cannot be deleted */
	ck_assert_msg(lock(db, "n3", "admin:t", "c1/a", 0, 0, err, sizeof(err)) == 0, "lock: %s", err);
	ck_assert_int_eq(vol_req(db, 21, "c1", "delete", "a", 0, err, sizeof(err)), 0);
	req_is(db, 21, "failed", "in use (locked by admin:t on node 3)");
	ck_assert_int_eq(lock(db, "n3", "admin:t", "c1/a", 0, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(vol_req(db, 22, "c1", "delete", "a", 0, err, sizeof(err)), 0);
	req_is(db, 22, "pending", NULL);
	/* a request id is used once */
	h = cd_db_hash(db);
	ck_assert_int_eq(vol_req(db, 10, "c1", "create", "x", 1 << 20, err, sizeof(err)), -CM_E_EXISTS);
	ck_assert_int_eq(vol_req(db, 15, "c1", "create", "x", 1 << 20, err, sizeof(err)), -CM_E_EXISTS);
	ck_assert_int_eq(vol_req(db, 0, "c1", "create", "x", 1 << 20, err, sizeof(err)), -CM_E_PROTO);
	ck_assert(cd_db_hash(db) == h);
	ck_assert_int_eq(cd_db_csv_req_state(db, 999, err, 16, err + 16, 16), -CM_E_NO_OBJECT);
	/* pending ones come back in apply order (not id order), one at a time */
	ck_assert_int_eq(cd_db_csv_next_req(db, "c1", &r), 1);
	ck_assert_int_eq(r.id, 10);
	ck_assert_str_eq(r.op, "create");
	ck_assert_str_eq(r.vol, "d");
	ck_assert_int_eq(r.size, 1 << 20);
	ck_assert_int_gt(r.created_ms, (int64_t)T0);
	ck_assert_int_eq(vol_done(db, 1, "c1", 10, 0, 2, "no room", "", err, sizeof(err)), 0);
	req_is(db, 10, "failed", "no room");
	ck_assert_int_eq(cd_db_csv_next_req(db, "c1", &r), 1);
	ck_assert_int_eq(r.id, 5);
	ck_assert_str_eq(r.op, "resize");
	ck_assert_int_eq(r.size, 8 << 20);
	ck_assert_int_eq(vol_done(db, 1, "c1", 5, 0, 2, "no room", "", err, sizeof(err)), 0);
	ck_assert_int_eq(cd_db_csv_next_req(db, "c1", &r), 1);
	ck_assert_int_eq(r.id, 22);
	ck_assert_str_eq(r.op, "delete");
	ck_assert_int_eq(vol_done(db, 1, "c1", 22, 0, 2, "no", "", err, sizeof(err)), 0);
	ck_assert_int_eq(cd_db_csv_next_req(db, "c1", &r), 0);
	ck_assert_int_eq(cd_db_csv_next_req(db, "nope", &r), 0);
	done(db, path);
}
END_TEST

/* A CSV with requests under way or volumes cannot be deleted. */
START_TEST(delete_needs_an_empty_csv)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));
	struct cd_db_csv c;
	uint64_t h, off, size;

	csv_online(db);
	ck_assert_int_eq(vol_req(db, 1, "c1", "create", "a", 1 << 20, err, sizeof(err)), 0);
	h = cd_db_hash(db);
	ck_assert_int_eq(csv_delete(db, "c1", err, sizeof(err)), -CM_E_BUSY);
	ck_assert(cd_db_hash(db) == h);
	ck_assert_int_eq(vol_done(db, 1, "c1", 1, 1, 2, "created", "gen 2 count 1\na 1048576 1048576 2 5 0\n", err,
				  sizeof(err)), 0);
	h = cd_db_hash(db);
	ck_assert_int_eq(csv_delete(db, "c1", err, sizeof(err)), -CM_E_STATE);
	ck_assert_ptr_nonnull(strstr(err, "still has volumes"));
	ck_assert(cd_db_hash(db) == h);
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 3, "", "gen 3 count 0\n", err, sizeof(err)), 0);
	/* empty, but still running: its group goes offline first */
	ck_assert_int_lt(csv_delete(db, "c1", err, sizeof(err)), 0);
	ck_assert_int_eq(cd_db_csv_get(db, "c1", &c), 0);
	{
		struct cm_msg w;

		cm_msg_init(&w, CM_MSG_WRITE);
		cm_msg_add_int(&w, CM_OP_GROUP_OFFLINE);
		cm_msg_add_str(&w, "csv-c1");
		cm_msg_add_str(&w, "root");
		ck_assert_int_eq(apply(db, &w, 1, err, sizeof(err)), 0);
	}
	ck_assert_int_eq(result(db, "csv-c1", RES_OP_OFFLINE, true, NULL, 0), 0);
	ck_assert_uint_eq(cd_db_csv_coordinator(db, "c1"), 0);
	ck_assert_msg(csv_delete(db, "c1", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cd_db_csv_get(db, "c1", &c), -CM_E_NO_OBJECT);
	ck_assert_int_lt(res_group_find(cd_db_model(db), "csv-c1"), 0);
	ck_assert_int_lt(res_resource_find(cd_db_model(db), "csv-c1"), 0);
	/* name and URL are free again */
	ck_assert_msg(csv_create_lun(db, "c1", LUN_URL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cd_db_csv_get(db, "c1", &c), 0);
	ck_assert_int_eq(c.table_gen, 1);
	ck_assert_int_eq(cd_db_csv_vol(db, "c1", "a", &off, &size), -CM_E_NO_OBJECT);
	done(db, path);
}
END_TEST

/* ---- 4. the coordinator's answers ---- */

START_TEST(vol_done_mirrors_the_table)
{
	char path[256], err[512], *t;
	struct cd_db *db = cluster(path, sizeof(path));
	struct cd_db_csv c;
	uint64_t off, size, h;
	static const char table3[] = "gen 3 count 3\n"
				     "a 1048576 1048576 2 1700000000000 0\n"
				     "b 2097152 4194304 2 1700000000001 0\n"
				     "d 6291456 1048576 3 1700000000002 1\n";

	csv_online(db);
	ck_assert_int_eq(vol_req(db, 7, "c1", "create", "d", 1 << 20, err, sizeof(err)), 0);
	/* req id 0: the coordinator publishes the table it read */
	ck_assert_msg(vol_done(db, 1, "c1", 0, 1, 2, "", table2, err, sizeof(err)) == 0, "publish: %s", err);
	t = cd_db_csv_table_text(db, "c1");
	ck_assert_str_eq(t, table2);
	free(t);
	ck_assert_int_eq(cd_db_csv_vol(db, "c1", "b", &off, &size), 0);
	ck_assert_uint_eq(off, 2097152);
	ck_assert_uint_eq(size, 4194304);
	req_is(db, 7, "pending", NULL);

	/* not from the coordinator: refused, nothing changed */
	h = cd_db_hash(db);
	ck_assert_int_eq(vol_done(db, 2, "c1", 7, 1, 3, "created", table3, err, sizeof(err)), -CM_E_STATE);
	ck_assert_ptr_nonnull(strstr(err, "not the coordinator"));
	ck_assert(cd_db_hash(db) == h);
	req_is(db, 7, "pending", NULL);
	ck_assert_int_eq(cd_db_csv_vol(db, "c1", "d", &off, &size), -CM_E_NO_OBJECT);

	/* from the coordinator: done, and the mirror follows */
	ck_assert_msg(vol_done(db, 1, "c1", 7, 1, 3, "created", table3, err, sizeof(err)) == 0, "done: %s", err);
	req_is(db, 7, "done", "created");
	ck_assert_int_eq(cd_db_csv_vol(db, "c1", "d", &off, &size), 0);
	ck_assert_uint_eq(off, 6291456);
	ck_assert_uint_eq(size, 1048576);
	ck_assert_int_eq(cd_db_csv_get(db, "c1", &c), 0);
	ck_assert_int_eq(c.table_gen, 3);
	t = cd_db_csv_table_text(db, "c1");
	ck_assert_str_eq(t, table3);
	free(t);
	/* answered once */
	h = cd_db_hash(db);
	ck_assert_int_eq(vol_done(db, 1, "c1", 7, 1, 3, "again", "", err, sizeof(err)), -CM_E_STATE);
	ck_assert_int_eq(vol_done(db, 1, "c1", 99, 1, 3, "who", "", err, sizeof(err)), -CM_E_STATE);
	/* an older table than the mirror: refused */
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 2, "", table2, err, sizeof(err)), -CM_E_STATE);
	ck_assert_ptr_nonnull(strstr(err, "stale"));
	/* malformed tables: refused */
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 4, "", "garbage", err, sizeof(err)), -CM_E_PROTO);
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 4, "", "gen 5 count 0\n", err, sizeof(err)), -CM_E_PROTO);
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 4, "", "gen 4 count 2\na 1 2 3 4 0\n", err, sizeof(err)),
			 -CM_E_PROTO);
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 4, "", "gen 4 count 1\na 1 two 3 4 0\n", err, sizeof(err)),
			 -CM_E_PROTO);
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 4, "", "gen 4 count 2\na 1 2 3 4 0\na 5 6 7 8 0\n", err,
				  sizeof(err)), -CM_E_PROTO);
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 4, "", "gen 4 count 257\n", err, sizeof(err)), -CM_E_PROTO);
	/* more lines than the count, or a line with more fields: refused, not cut short */
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 4, "", "gen 4 count 1\na 1 2 3 4 0\nb 5 6 7 8 0\n", err,
				  sizeof(err)), -CM_E_PROTO);
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 4, "", "gen 4 count 1\na 1 2 3 4 0 9\n", err, sizeof(err)),
			 -CM_E_PROTO);
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 2, 4, "", table3, err, sizeof(err)), -CM_E_PROTO); /* ok 2 */
	ck_assert_int_eq(vol_done(db, 1, "nope", 0, 1, 4, "", table3, err, sizeof(err)), -CM_E_NO_OBJECT);
	ck_assert(cd_db_hash(db) == h);
	t = cd_db_csv_table_text(db, "c1");
	ck_assert_str_eq(t, table3);
	free(t);
	/* the same generation again is taken (a new coordinator re-reads the LUN) */
	ck_assert_int_eq(vol_done(db, 1, "c1", 0, 1, 3, "", table3, err, sizeof(err)), 0);
	ck_assert_ptr_null(cd_db_csv_table_text(db, "nope"));
	done(db, path);
}
END_TEST

/* A coordinator answers only the requests of its own CSV. */
START_TEST(vol_done_only_for_its_csv)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));
	uint32_t node;

	csv_online(db);
	ck_assert_int_eq(csv_create_lun(db, "c2", "iscsi://198.18.0.9/iqn.2024-01.test:lun/2", err, sizeof(err)), 0);
	ck_assert_int_eq(result(db, "csv-c2", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "csv-c2", &node), "Online");
	ck_assert_int_eq(vol_req(db, 1, "c2", "create", "x", 1 << 20, err, sizeof(err)), 0);
	ck_assert_uint_eq(node, 2);
	ck_assert_uint_eq(cd_db_csv_coordinator(db, "c2"), 2);
	/* n1 coordinates c1, not c2: its answer naming c1 must not end c2's request */
	ck_assert_int_lt(vol_done(db, 1, "c1", 1, 1, 1, "created", "", err, sizeof(err)), 0);
	req_is(db, 1, "pending", NULL);
	ck_assert_int_lt(vol_done(db, 1, "c2", 1, 1, 1, "created", "", err, sizeof(err)), 0);
	req_is(db, 1, "pending", NULL);
	ck_assert_int_eq(vol_done(db, 2, "c2", 1, 1, 1, "created", "", err, sizeof(err)), 0);
	req_is(db, 1, "done", "created");
	done(db, path);
}
END_TEST

/* ---- 5. locks ---- */

/* A volume being deleted or resized cannot be locked: the request was
 * checked against the locks of its time, and the coordinator executes it
 * later. */
START_TEST(lock_vs_pending_change)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));

	csv_with_vols(db);
	vm_online(db);
	ck_assert_msg(vol_req(db, 41, "c1", "delete", "a", 0, err, sizeof(err)) == 0, "%s", err);
	req_is(db, 41, "pending", "");
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 0, err, sizeof(err)), -CM_E_BUSY);
	ck_assert_msg(strstr(err, "being deleted or resized"), "%s", err);
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	/* the other volume is not affected; and once locked, a delete is refused */
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/b", 0, 0, err, sizeof(err)), 0);
	ck_assert_msg(vol_req(db, 42, "c1", "resize", "b", 64 << 20, err, sizeof(err)) == 0, "%s", err);
	req_is(db, 42, "failed", "in use");
	done(db, path);
}
END_TEST

START_TEST(locks_grant_and_refuse)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));
	uint64_t h;

	csv_with_vols(db);
	vm_online(db);
	/* exclusive: granted */
	ck_assert_msg(lock(db, "n2", "vm1", "c1/a", 0, 0, err, sizeof(err)) == 0, "lock: %s", err);
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert(!cd_db_csv_holds(db, 1, "vm1", "c1/a"));
	ck_assert(!cd_db_csv_holds(db, 2, "vm2", "c1/a"));
	locks_have(db, "{\"volume\":\"c1/a\",\"node\":\"n2\",\"owner\":\"vm1\",\"mode\":\"excl\"", true);
	/* taking it again is fine */
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 0, err, sizeof(err)), 0);
	/* another owner, exclusive or shared: refused, naming the holder and its node */
	h = cd_db_hash(db);
	ck_assert_int_eq(lock(db, "n1", "admin:x", "c1/a", 0, 0, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_msg(strstr(err, "locked exclusively by 'vm1' on n2"), "%s", err);
	ck_assert_int_eq(lock(db, "n3", "admin:x", "c1/a", 1, 0, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_msg(strstr(err, "locked exclusively by 'vm1' on n2"), "%s", err);
	ck_assert(cd_db_hash(db) == h);
	ck_assert(!cd_db_csv_holds(db, 3, "admin:x", "c1/a"));
	/* two shared locks coexist; an exclusive one then is refused */
	ck_assert_int_eq(lock(db, "n1", "admin:s1", "c1/b", 1, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(db, "n3", "admin:s2", "c1/b", 1, 0, err, sizeof(err)), 0);
	ck_assert(cd_db_csv_holds(db, 1, "admin:s1", "c1/b"));
	ck_assert(cd_db_csv_holds(db, 3, "admin:s2", "c1/b"));
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/b", 0, 0, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_msg(strstr(err, "locked shared by 'admin:s1' on n1"), "%s", err);
	/* a holder alone may switch mode; not while another shares it */
	ck_assert_int_eq(lock(db, "n1", "admin:s1", "c1/b", 0, 0, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_msg(strstr(err, "locked shared by 'admin:s2' on n3"), "%s", err);
	/* all or nothing: b is taken, so a is not taken either */
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 1, err, sizeof(err)), 0);
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	h = cd_db_hash(db);
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a,c1/b", 0, 0, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/b,c1/a", 0, 0, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a,c1/zz", 0, 0, err, sizeof(err)), -CM_E_NO_OBJECT);
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert(cd_db_hash(db) == h);
	ck_assert_int_eq(lock(db, "n1", "admin:x", "c1/a", 0, 0, err, sizeof(err)), 0); /* a is free */
	ck_assert_int_eq(lock(db, "n1", "admin:x", "c1/a", 0, 1, err, sizeof(err)), 0);
	/* with b free, both at once */
	ck_assert_int_eq(lock(db, "n1", "admin:s1", "c1/b", 1, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(db, "n3", "admin:s2", "c1/b", 1, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(db, "n3", "admin:s2", "c1/b", 0, 0, err, sizeof(err)), 0);
	locks_have(db, "{\"volume\":\"c1/b\",\"node\":\"n3\",\"owner\":\"admin:s2\",\"mode\":\"excl\"", true);
	ck_assert_int_eq(lock(db, "n1", "admin:s1", "c1/b", 1, 0, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_msg(strstr(err, "locked exclusively by 'admin:s2' on n3"), "%s", err);
	ck_assert_int_eq(lock(db, "n3", "admin:s2", "c1/b", 1, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a,c1/b", 0, 0, err, sizeof(err)), 0);
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a,c1/b"));
	/* unknown volumes, nodes and malformed names: refused, nothing changed */
	h = cd_db_hash(db);
	ck_assert_int_eq(lock(db, "n1", "admin:x", "c1/zz", 0, 0, err, sizeof(err)), -CM_E_NO_OBJECT);
	ck_assert_int_eq(lock(db, "n1", "admin:x", "c9/a", 0, 0, err, sizeof(err)), -CM_E_NO_OBJECT);
	ck_assert_int_eq(lock(db, "n1", "admin:x", "a", 0, 0, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(lock(db, "n9", "admin:x", "c1/a", 0, 0, err, sizeof(err)), -CM_E_NO_OBJECT);
	ck_assert_int_eq(lock(db, "n1", "admin:x", "c1/a", 2, 0, err, sizeof(err)), -CM_E_PROTO);
	ck_assert(cd_db_hash(db) == h);
	/* unlock; unlocking what one does not hold is refused */
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a,c1/b", 0, 1, err, sizeof(err)), 0);
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/b"));
	no_locks(db);
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 1, err, sizeof(err)), -CM_E_NO_OBJECT);
	done(db, path);
}
END_TEST

/* ---- 6. the sweep ---- */

START_TEST(sweep_follows_the_owner)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));

	csv_with_vols(db);
	/* an owner that does not run there: gone with the same write */
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 0, err, sizeof(err)), 0);
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert_int_eq(lock(db, "n2", "nosuch", "c1/a", 0, 0, err, sizeof(err)), 0);
	no_locks(db);

	/* OnlinePending on n2: kept (the executor locks before it starts) */
	ck_assert_int_eq(vm_create(db, 1, "memory_mb=128\n", err, sizeof(err)), 0);
	ck_assert_int_eq(result(db, "vm1-config", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", NULL), "OnlinePending");
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/b", 1, 0, err, sizeof(err)), 0);
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a,c1/b"));
	ck_assert_int_eq(result(db, "vm1", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", NULL), "Online");
	tick(db);
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a,c1/b"));
	/* a lock for it on another node than where it runs is not kept there */
	ck_assert_int_eq(lock(db, "n3", "vm1", "c1/b", 1, 0, err, sizeof(err)), 0);
	ck_assert(!cd_db_csv_holds(db, 3, "vm1", "c1/b"));
	/* stopping: kept while OfflinePending, released once Offline */
	ck_assert_int_eq(vm_write(db, CM_OP_VM_OFFLINE, 0, "shutdown", NULL, err, sizeof(err)), 0);
	ck_assert_str_eq(state_of(db, "vm1", NULL), "OfflinePending");
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a,c1/b"));
	ck_assert_int_eq(result(db, "vm1", RES_OP_OFFLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", NULL), "Offline");
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/b"));
	no_locks(db);
	/* a free volume again */
	ck_assert_int_eq(lock(db, "n1", "admin:x", "c1/a", 0, 0, err, sizeof(err)), 0);
	done(db, path);
}
END_TEST

/* A start that fails: kept until the stop is confirmed; a deleted owner holds nothing. */
START_TEST(sweep_releases_on_delete)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));
	uint32_t node;

	csv_with_vols(db);
	ck_assert_int_eq(vm_create(db, 1, "memory_mb=128\n", err, sizeof(err)), 0);
	ck_assert_int_eq(result(db, "vm1-config", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "OnlinePending");
	ck_assert_uint_eq(node, 2);
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 0, err, sizeof(err)), 0);
	/* the start failed: the executor stops it; until that is confirmed it may still run */
	ck_assert_int_eq(result(db, "vm1", RES_OP_ONLINE, false, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "OfflinePending");
	ck_assert_uint_eq(node, 2);
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	/* stop it for good, then delete it */
	ck_assert_int_eq(vm_write(db, CM_OP_VM_OFFLINE, 0, "off", NULL, err, sizeof(err)), 0);
	for (int i = 0; i < 10; i++) {
		const char *cfg = state_of(db, "vm1-config", NULL), *vm = state_of(db, "vm1", NULL);

		if (strcmp(vm, "OfflinePending") == 0)
			ck_assert_int_eq(result(db, "vm1", RES_OP_OFFLINE, true, NULL, 0), 0);
		else if (strcmp(cfg, "OfflinePending") == 0)
			ck_assert_int_eq(result(db, "vm1-config", RES_OP_OFFLINE, true, NULL, 0), 0);
		else
			break;
	}
	ck_assert_str_eq(state_of(db, "vm1", NULL), "Offline");
	ck_assert_str_eq(state_of(db, "vm1-config", NULL), "Offline");
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert_msg(vm_write(db, CM_OP_VM_DELETE, 0, NULL, NULL, err, sizeof(err)) == 0, "delete: %s", err);
	ck_assert(!cd_db_vm_exists(db, "vm1"));
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 0, err, sizeof(err)), 0);
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	no_locks(db);
	done(db, path);
}
END_TEST

START_TEST(sweep_keeps_until_fenced)
{
	static const uint32_t view13[] = { 1, 3 };
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));
	const struct res_model *m;
	uint32_t node;

	prop_set(db, CM_OBJ_NODE, "n2", "fence_agent", "fence_dummy");
	csv_with_vols(db);
	vm_online(db);
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(db, "n2", "admin:x", "c1/b", 0, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(db, "n3", "admin:y", "c1/b", 1, 0, err, sizeof(err)), -CM_E_CONFLICT);
	/* n2 is lost, not yet fenced: everything it holds stays */
	ck_assert_int_eq(cd_db_set_view(db, view13, 2), 0);
	tick(db);
	m = cd_db_model(db);
	ck_assert_int_eq(m->nodes[res_node_find(m, 2)].fence, RES_F_FENCING);
	ck_assert_str_ne(state_of(db, "vm1", &node), "Offline");
	ck_assert_uint_eq(node, 2);
	tick(db);
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert(cd_db_csv_holds(db, 2, "admin:x", "c1/b"));
	/* a failed run changes nothing */
	ck_assert_int_eq(fence_result(db, "n2", false), 0);
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert(cd_db_csv_holds(db, 2, "admin:x", "c1/b"));
	/* retry until it runs again */
	for (int i = 0; i < 100; i++) {
		m = cd_db_model(db);
		if (m->nodes[res_node_find(m, 2)].fence == RES_F_FENCING)
			break;
		ut_db_now += 1000;
		tick(db);
	}
	m = cd_db_model(db);
	ck_assert_int_eq(m->nodes[res_node_find(m, 2)].fence, RES_F_FENCING);
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	/* fenced: its locks go, the VM's and the administrator's */
	ck_assert_int_eq(fence_result(db, "n2", true), 0);
	m = cd_db_model(db);
	ck_assert_int_eq(m->nodes[res_node_find(m, 2)].fence, RES_F_FENCED);
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert(!cd_db_csv_holds(db, 2, "admin:x", "c1/b"));
	no_locks(db);
	/* vm1 recovers on n1 and locks there */
	ck_assert_int_eq(result(db, "vm1-config", RES_OP_ONLINE, true, NULL, 0), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "OnlinePending");
	ck_assert_uint_eq(node, 1);
	ck_assert_int_eq(lock(db, "n1", "vm1", "c1/a", 0, 0, err, sizeof(err)), 0);
	ck_assert(cd_db_csv_holds(db, 1, "vm1", "c1/a"));
	ck_assert_int_eq(lock(db, "n3", "admin:y", "c1/b", 1, 0, err, sizeof(err)), 0);
	done(db, path);
}
END_TEST

START_TEST(sweep_hands_over_on_migration)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));
	const int64_t figures[] = { 1000, 20, 134217728, 41943040 };
	uint32_t node;

	csv_with_vols(db);
	vm_online(db);
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a", 0, 0, err, sizeof(err)), 0);
	ck_assert_msg(vm_write(db, CM_OP_VM_MIGRATE, 42, "n3", "live", err, sizeof(err)) == 0, "migrate: %s", err);
	/* under way: still the source's */
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	ck_assert(!cd_db_csv_holds(db, 3, "vm1", "c1/a"));
	tick(db);
	ck_assert(cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	/* switched over: the lock moved to the target in the same write */
	ck_assert_int_eq(result(db, "vm1", RES_OP_MIGRATE, true, figures, 4), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "Online");
	ck_assert_uint_eq(node, 3);
	ck_assert(cd_db_csv_holds(db, 3, "vm1", "c1/a"));
	ck_assert(!cd_db_csv_holds(db, 2, "vm1", "c1/a"));
	locks_have(db, "{\"volume\":\"c1/a\",\"node\":\"n3\",\"owner\":\"vm1\",\"mode\":\"excl\"", true);
	locks_have(db, "\"node\":\"n2\"", false);
	tick(db);
	ck_assert(cd_db_csv_holds(db, 3, "vm1", "c1/a"));
	/* a failed migration leaves it where it is */
	ck_assert_int_eq(vm_write(db, CM_OP_VM_MIGRATE, 43, "n1", "live", err, sizeof(err)), 0);
	ck_assert_int_eq(result(db, "vm1", RES_OP_MIGRATE, false, figures, 4), 0);
	ck_assert_str_eq(state_of(db, "vm1", &node), "Online");
	ck_assert_uint_eq(node, 3);
	ck_assert(cd_db_csv_holds(db, 3, "vm1", "c1/a"));
	ck_assert(!cd_db_csv_holds(db, 1, "vm1", "c1/a"));
	done(db, path);
}
END_TEST

START_TEST(admin_locks_stay)
{
	char path[256], err[512];
	struct cd_db *db = cluster(path, sizeof(path));

	csv_with_vols(db);
	ck_assert_int_eq(lock(db, "n3", "admin:x", "c1/a", 0, 0, err, sizeof(err)), 0);
	ck_assert(cd_db_csv_holds(db, 3, "admin:x", "c1/a"));
	/* through any write: ticks, VMs that start and stop, requests, answers */
	tick(db);
	vm_online(db);
	ck_assert_int_eq(vm_write(db, CM_OP_VM_OFFLINE, 0, "off", NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(result(db, "vm1", RES_OP_OFFLINE, true, NULL, 0), 0);
	ck_assert_int_eq(vol_req(db, 1, "c1", "create", "z", 1 << 20, err, sizeof(err)), 0);
	ck_assert_int_eq(vol_done(db, 1, "c1", 1, 0, 2, "no", "", err, sizeof(err)), 0);
	ck_assert(cd_db_csv_holds(db, 3, "admin:x", "c1/a"));
	/* the volume cannot be deleted while it is held */
	ck_assert_int_eq(vol_req(db, 2, "c1", "delete", "a", 0, err, sizeof(err)), 0);
	req_is(db, 2, "failed", "admin:x");
	/* until unlocked */
	ck_assert_int_eq(lock(db, "n3", "admin:x", "c1/a", 0, 1, err, sizeof(err)), 0);
	ck_assert(!cd_db_csv_holds(db, 3, "admin:x", "c1/a"));
	no_locks(db);
	done(db, path);
}
END_TEST

/* ---- 7. replicas agree ---- */

static void story(struct cd_db *db)
{
	const int64_t figures[] = { 1000, 20, 134217728, 41943040 };
	static const uint32_t view13[] = { 1, 3 };
	char err[512];

	prop_set(db, CM_OBJ_NODE, "n3", "fence_agent", "fence_dummy");
	csv_with_vols(db);
	ck_assert_int_eq(vol_req(db, 3, "c1", "create", "d", 1 << 20, err, sizeof(err)), 0);
	ck_assert_int_eq(vol_req(db, 4, "c1", "create", "a", 1 << 20, err, sizeof(err)), 0);
	ck_assert_int_eq(vol_done(db, 1, "c1", 3, 1, 3, "created",
				  "gen 3 count 3\na 1048576 1048576 2 1 0\nb 2097152 4194304 2 2 0\n"
				  "d 6291456 1048576 3 3 0\n", err, sizeof(err)), 0);
	vm_online(db);
	ck_assert_int_eq(lock(db, "n2", "vm1", "c1/a,c1/d", 0, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(db, "n3", "admin:x", "c1/b", 1, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(db, "n1", "admin:y", "c1/b", 1, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(vm_write(db, CM_OP_VM_MIGRATE, 7, "n3", "live", err, sizeof(err)), 0);
	ck_assert_int_eq(result(db, "vm1", RES_OP_MIGRATE, true, figures, 4), 0);
	ck_assert(cd_db_csv_holds(db, 3, "vm1", "c1/a,c1/d"));
	ck_assert_int_eq(cd_db_set_view(db, view13 + 0, 1), 0); /* n3 (and n2) lost */
	tick(db);
	ck_assert(cd_db_csv_holds(db, 3, "vm1", "c1/a,c1/d"));
	ck_assert(cd_db_csv_holds(db, 3, "admin:x", "c1/b"));
	ck_assert_int_eq(fence_result(db, "n3", true), 0);
	ck_assert(!cd_db_csv_holds(db, 3, "vm1", "c1/a"));
	ck_assert(!cd_db_csv_holds(db, 3, "admin:x", "c1/b"));
	ck_assert(cd_db_csv_holds(db, 1, "admin:y", "c1/b"));
	ck_assert_int_eq(cd_db_set_view(db, view13, 2), 0);
	tick(db);
}

START_TEST(replicas_agree)
{
	char pa[256], pb[256], err[512];
	struct cd_db *a = cluster(pa, sizeof(pa)), *b;
	uint64_t ha, h0;

	h0 = cd_db_hash(a);
	story(a);
	ha = cd_db_hash(a);
	ck_assert(ha != h0);
	b = cluster(pb, sizeof(pb));
	ck_assert(cd_db_hash(b) == h0);
	story(b);
	ck_assert(cd_db_hash(b) == ha);
	/* the lock table is part of the content */
	ck_assert_int_eq(lock(a, "n1", "admin:y", "c1/b", 1, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(lock(b, "n1", "admin:y", "c1/b", 0, 0, err, sizeof(err)), 0);
	ck_assert(cd_db_hash(a) != cd_db_hash(b));
	done(a, pa);
	done(b, pb);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dbcsv");
	TCase *tc = tcase_create("dbcsv");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, create_and_refusals);
	tcase_add_test(tc, coordinator_is_where_it_runs);
	tcase_add_test(tc, volume_requests_recorded);
	tcase_add_test(tc, delete_needs_an_empty_csv);
	tcase_add_test(tc, vol_done_mirrors_the_table);
	tcase_add_test(tc, vol_done_only_for_its_csv);
	tcase_add_test(tc, locks_grant_and_refuse);
	tcase_add_test(tc, sweep_follows_the_owner);
	tcase_add_test(tc, sweep_releases_on_delete);
	tcase_add_test(tc, sweep_keeps_until_fenced);
	tcase_add_test(tc, sweep_hands_over_on_migration);
	tcase_add_test(tc, admin_locks_stay);
	tcase_add_test(tc, replicas_agree);
	tcase_add_test(tc, lock_vs_pending_change);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

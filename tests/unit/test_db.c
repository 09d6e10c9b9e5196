/* test_db.c - the replica: schema, apply, hash, image and replace. */
#include <check.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "ut.h"
#include "ut_db.h"

static int apply_set(struct cd_db *db, int kind, const char *obj, const char *key,
		     const char *value, char *err, size_t errlen)
{
	struct cm_msg m;

	cm_msg_init(&m, CM_MSG_WRITE);
	cm_msg_add_int(&m, CM_OP_PROP_SET);
	cm_msg_add_int(&m, kind);
	cm_msg_add_str(&m, obj);
	cm_msg_add_str(&m, key);
	cm_msg_add_str(&m, value);
	cm_msg_add_str(&m, "root");
	m.time_ms = 1700000000000ULL;
	return cd_db_apply(db, &m, "n1", err, errlen);
}

START_TEST(fresh_db_is_empty_and_versioned)
{
	char path[256];
	struct cd_db *db;
	int64_t e, s;

	ut_tmp_path(path, sizeof(path));
	db = ut_db_open(path);
	ck_assert(!cd_db_has_cluster(db));
	cd_db_version(db, &e, &s);
	ck_assert_int_eq(e, 0);
	ck_assert_int_eq(s, 0);
	ut_db_seed(db, 3);
	ck_assert(cd_db_has_cluster(db));
	cd_db_version(db, &e, &s);
	ck_assert_int_eq(e, 1);
	cd_db_close(db);
	/* reopening migrates nothing and keeps the data */
	db = ut_db_open(path);
	ck_assert(cd_db_has_cluster(db));
	cd_db_close(db);
	ut_rm(path);
}
END_TEST

START_TEST(apply_set_and_refusals)
{
	char path[256], err[512], value[64];
	struct cd_db *db;
	uint64_t h0;
	int64_t e, s;
	bool set;

	ut_tmp_path(path, sizeof(path));
	db = ut_db_open(path);
	/* no cluster yet: refused */
	ck_assert_int_eq(apply_set(db, CM_OBJ_CLUSTER, "", "description", "x", err, sizeof(err)), -CM_E_NOT_INIT);
	ut_db_seed(db, 3);
	h0 = cd_db_hash(db);
	ck_assert_int_eq(apply_set(db, CM_OBJ_NODE, "n2", "memory_mb", "2048", err, sizeof(err)), 0);
	ck_assert(cd_db_hash(db) != h0);
	cd_db_version(db, &e, &s);
	ck_assert_int_eq(s, 1);
	ck_assert_int_eq(cd_db_prop_get(db, CM_OBJ_NODE, "n2", "memory_mb", value, sizeof(value), &set), 0);
	ck_assert_str_eq(value, "2048");
	ck_assert(set);
	ck_assert_int_eq(cd_db_prop_get(db, CM_OBJ_NODE, "n1", "memory_mb", value, sizeof(value), &set), 0);
	ck_assert_str_eq(value, "0");
	ck_assert(!set);

	h0 = cd_db_hash(db);
	ck_assert_int_eq(apply_set(db, CM_OBJ_NODE, "n9", "memory_mb", "1", err, sizeof(err)), -CM_E_NO_OBJECT);
	ck_assert_str_eq(err, "node 'n9' is not a member of cluster 'demo'");
	ck_assert_int_eq(apply_set(db, CM_OBJ_NODE, "n1", "memory_mb", "lots", err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(apply_set(db, CM_OBJ_NODE, "n1", "paused", "true", err, sizeof(err)), -CM_E_READONLY);
	ck_assert_int_eq(apply_set(db, CM_OBJ_CLUSTER, "x", "description", "d", err, sizeof(err)), -CM_E_ARGS);
	/* refused writes change nothing, the sequence included */
	ck_assert(cd_db_hash(db) == h0);
	cd_db_version(db, &e, &s);
	ck_assert_int_eq(s, 1);
	cd_db_close(db);
	ut_rm(path);
}
END_TEST

START_TEST(event_log_is_trimmed)
{
	char path[256], err[512];
	struct cd_db *db;
	struct cm_sb sb;
	struct cm_jw w;
	struct cm_jv *v;
	int i;

	ut_tmp_path(path, sizeof(path));
	db = ut_db_open(path);
	ut_db_seed(db, 1);
	ck_assert_int_eq(apply_set(db, CM_OBJ_CLUSTER, "", "event_log_max", "100", err, sizeof(err)), 0);
	for (i = 0; i < 150; i++)
		ck_assert_int_eq(apply_set(db, CM_OBJ_CLUSTER, "", "user.i", "v", err, sizeof(err)), 0);
	cm_sb_init(&sb);
	cm_jw_init(&w, &sb);
	ck_assert_int_eq(cd_db_events_json(db, 0, 0, 1000, &w), 0);
	v = cm_jv_parse(cm_sb_str(&sb), NULL, 0);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->nkids, 100);
	ck_assert_int_eq(cm_jv_get_int(&v->kids[99], "id", 0), 151);
	cm_jv_free(v);
	/* limit keeps the newest, oldest first */
	cm_sb_reset(&sb);
	cm_jw_init(&w, &sb);
	ck_assert_int_eq(cd_db_events_json(db, 0, 0, 2, &w), 0);
	v = cm_jv_parse(cm_sb_str(&sb), NULL, 0);
	ck_assert_int_eq(v->nkids, 2);
	ck_assert_int_eq(cm_jv_get_int(&v->kids[0], "id", 0), 150);
	cm_jv_free(v);
	cm_sb_free(&sb);
	cd_db_close(db);
	ut_rm(path);
}
END_TEST

START_TEST(image_replace_roundtrip)
{
	char p1[256], p2[256], err[512];
	struct cd_db *a, *b;
	unsigned char *img;
	size_t len;
	int64_t e, s;

	ut_tmp_path(p1, sizeof(p1));
	ut_tmp_path(p2, sizeof(p2));
	a = ut_db_open(p1);
	b = ut_db_open(p2);
	ut_db_seed(a, 3);
	ck_assert_int_eq(apply_set(a, CM_OBJ_CLUSTER, "", "description", "from a", err, sizeof(err)), 0);
	ck_assert_int_eq(cd_db_image(a, &img, &len), 0);
	ck_assert_int_eq(cd_db_replace(b, img, len, err, sizeof(err)), 0);
	ck_assert(cd_db_hash(a) == cd_db_hash(b));
	cd_db_version(b, &e, &s);
	ck_assert_int_eq(s, 1);
	/* garbage is refused and b keeps its content */
	ck_assert_int_lt(cd_db_replace(b, "not a database at all, sorry", 28, err, sizeof(err)), 0);
	img[200] ^= 0xff;
	img[len - 1] ^= 0xff;
	cd_db_replace(b, img, len, err, sizeof(err));
	cd_db_image_free(img);
	/* b reopened from disk still holds a valid replica */
	cd_db_close(b);
	b = ut_db_open(p2);
	ck_assert(cd_db_has_cluster(b));
	/* writes continue on the replaced replica */
	ck_assert_int_eq(apply_set(b, CM_OBJ_NODE, "n3", "description", "x", err, sizeof(err)), 0);
	cd_db_close(a);
	cd_db_close(b);
	ut_rm(p1);
	ut_rm(p2);
}
END_TEST

START_TEST(init_twice_refused)
{
	char path[256], err[256];
	struct cd_db *db;
	struct cd_db_cluster c = { "x", "u", 1 };

	ut_tmp_path(path, sizeof(path));
	db = ut_db_open(path);
	ut_db_seed(db, 2);
	ck_assert_int_eq(cd_db_init_cluster(db, &c, NULL, 0, err, sizeof(err)), -CM_E_EXISTS);
	cd_db_close(db);
	ut_rm(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("db");

	tcase_add_test(tc, fresh_db_is_empty_and_versioned);
	tcase_add_test(tc, apply_set_and_refusals);
	tcase_add_test(tc, event_log_is_trimmed);
	tcase_add_test(tc, image_replace_roundtrip);
	tcase_add_test(tc, init_twice_refused);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

/* test_prop.c - names and property validation. */
#include <check.h>
#include <string.h>

#include "cm_err.h"
#include "cm_prop.h"
#include "ut.h"

START_TEST(names)
{
	char long_name[100];

	ck_assert(cm_name_is_valid("n1"));
	ck_assert(cm_name_is_valid("web-1.prod_a"));
	ck_assert(!cm_name_is_valid(""));
	ck_assert(!cm_name_is_valid(NULL));
	ck_assert(!cm_name_is_valid("-n1"));
	ck_assert(!cm_name_is_valid("a b"));
	ck_assert(!cm_name_is_valid("a/b"));
	ck_assert(!cm_name_is_valid("\xc3\xa9"));
	memset(long_name, 'a', 63);
	long_name[63] = '\0';
	ck_assert(cm_name_is_valid(long_name));
	long_name[63] = 'a';
	long_name[64] = '\0';
	ck_assert(!cm_name_is_valid(long_name));
}
END_TEST

START_TEST(name_check_sentence)
{
	char err[256];

	ck_assert_int_eq(cm_name_check("node", "bad name", err, sizeof(err)), -CM_E_NAME);
	ck_assert_ptr_nonnull(strstr(err, "node name 'bad name' is not valid"));
}
END_TEST

START_TEST(typed_values)
{
	char canon[CM_VALUE_MAX], err[256];

	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, "memory_mb", "4096", canon, sizeof(canon), err, sizeof(err)), 0);
	ck_assert_str_eq(canon, "4096");
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, "memory_mb", "-1", canon, sizeof(canon), err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "whole number from 0 to"));
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, "memory_mb", "12abc", canon, sizeof(canon), err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, "memory_mb", "", canon, sizeof(canon), err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, "memory_mb", "99999999999999999999", canon, sizeof(canon), err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_CLUSTER, "fencing", "off", canon, sizeof(canon), err, sizeof(err)), 0);
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_CLUSTER, "fencing", "maybe", canon, sizeof(canon), err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "one of on, off, not 'maybe'"));
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_CLUSTER, "description", "a\nb", canon, sizeof(canon), err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_CLUSTER, "description", "rack 4", canon, sizeof(canon), err, sizeof(err)), 0);
	ck_assert_str_eq(canon, "rack 4");
}
END_TEST

START_TEST(unknown_readonly_and_user)
{
	char canon[CM_VALUE_MAX], err[256];

	ck_assert_int_eq(cm_prop_validate(CM_OBJ_CLUSTER, "colour", "x", canon, sizeof(canon), err, sizeof(err)), -CM_E_PROP);
	ck_assert_ptr_nonnull(strstr(err, "cluster has no property 'colour'"));
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, "paused", "true", canon, sizeof(canon), err, sizeof(err)), -CM_E_READONLY);
	ck_assert_ptr_nonnull(strstr(err, "cluadmin node pause|resume"));
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, "user.rack", "A4", canon, sizeof(canon), err, sizeof(err)), 0);
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, "user.", "A4", canon, sizeof(canon), err, sizeof(err)), -CM_E_PROP);
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, "user.a b", "A4", canon, sizeof(canon), err, sizeof(err)), -CM_E_PROP);
	ck_assert_int_eq(cm_prop_validate(CM_OBJ_NODE, NULL, "A4", canon, sizeof(canon), err, sizeof(err)), -CM_E_ARGS);
}
END_TEST

START_TEST(defaults_validate)
{
	char canon[CM_VALUE_MAX], err[256];
	size_t i, n;
	int k;

	/* every kind with properties: each default passes its own validation */
	for (k = CM_OBJ_CLUSTER; k <= CM_OBJ_NODE; k++) {
		const struct cm_prop_def *defs = cm_prop_defs(k, &n);

		ck_assert_int_gt(n, 0);
		for (i = 0; i < n; i++) {
			ck_assert_ptr_eq(cm_prop_find(k, defs[i].name), &defs[i]);
			if (!defs[i].readonly)
				ck_assert_msg(cm_prop_validate(k, defs[i].name, defs[i].def, canon,
							       sizeof(canon), err, sizeof(err)) == 0, "%s", err);
		}
	}
	ck_assert_int_eq(cm_obj_kind_from_str("node"), CM_OBJ_NODE);
	ck_assert_int_eq(cm_obj_kind_from_str("nodes"), -CM_E_ARGS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("prop");
	TCase *tc = tcase_create("prop");

	tcase_add_test(tc, names);
	tcase_add_test(tc, name_check_sentence);
	tcase_add_test(tc, typed_values);
	tcase_add_test(tc, unknown_readonly_and_user);
	tcase_add_test(tc, defaults_validate);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

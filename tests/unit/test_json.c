/* test_json.c - JSON writer and parser. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"
#include "ut.h"

START_TEST(writer_commas_and_escapes)
{
	struct cm_sb sb;
	struct cm_jw w;

	cm_sb_init(&sb);
	cm_jw_init(&w, &sb);
	cm_jw_obj_begin(&w);
	cm_jw_kv_str(&w, "a", "x\"y\n\x01");
	cm_jw_kv_int(&w, "n", -5);
	cm_jw_key(&w, "list");
	cm_jw_arr_begin(&w);
	cm_jw_int(&w, 1);
	cm_jw_bool(&w, true);
	cm_jw_null(&w);
	cm_jw_obj_begin(&w);
	cm_jw_obj_end(&w);
	cm_jw_arr_end(&w);
	cm_jw_kv_bool(&w, "b", false);
	cm_jw_obj_end(&w);
	ck_assert_str_eq(cm_sb_str(&sb),
			 "{\"a\":\"x\\\"y\\n\\u0001\",\"n\":-5,\"list\":[1,true,null,{}],\"b\":false}");
	cm_sb_free(&sb);
}
END_TEST

START_TEST(parse_and_print_roundtrip)
{
	const char *text = "{\"a\":\"x\\\"y\\n\",\"n\":-5,\"big\":9007199254740993,"
			   "\"f\":1.5,\"list\":[1,true,null,{}],\"u\":\"\\u00e9\"}";
	char err[64];
	struct cm_jv *v = cm_jv_parse(text, err, sizeof(err));
	struct cm_sb sb;

	ck_assert_msg(v != NULL, "parse: %s", err);
	ck_assert_str_eq(cm_jv_get_str(v, "a", NULL), "x\"y\n");
	ck_assert_int_eq(cm_jv_get_int(v, "n", 0), -5);
	ck_assert(cm_jv_get_int(v, "big", 0) == 9007199254740993LL);
	ck_assert_str_eq(cm_jv_get_str(v, "u", NULL), "\xc3\xa9");
	ck_assert_int_eq(cm_jv_get(v, "list")->nkids, 4);
	ck_assert_str_eq(cm_jv_get_str(v, "missing", "def"), "def");
	cm_sb_init(&sb);
	cm_jv_print(v, &sb, 0);
	ck_assert_str_eq(cm_sb_str(&sb),
			 "{\"a\":\"x\\\"y\\n\",\"n\":-5,\"big\":9007199254740993,\"f\":1.5,"
			 "\"list\":[1,true,null,{}],\"u\":\"\xc3\xa9\"}");
	cm_sb_free(&sb);
	cm_jv_free(v);
}
END_TEST

START_TEST(parse_errors)
{
	const char *bad[] = { "", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "\"abc", "tru", "1 2",
			      "{\"a\":\"\\x\"}", "[\"\x01\"]", "-", NULL };
	char err[64];
	int i;

	for (i = 0; bad[i]; i++) {
		struct cm_jv *v = cm_jv_parse(bad[i], err, sizeof(err));

		ck_assert_msg(v == NULL, "accepted '%s'", bad[i]);
		ck_assert_msg(err[0] != '\0', "no error text for '%s'", bad[i]);
	}
}
END_TEST

START_TEST(deep_nesting_refused)
{
	char buf[300];
	int i;

	for (i = 0; i < 200; i++)
		buf[i] = '[';
	buf[200] = '\0';
	ck_assert_ptr_null(cm_jv_parse(buf, NULL, 0));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, writer_commas_and_escapes);
	tcase_add_test(tc, parse_and_print_roundtrip);
	tcase_add_test(tc, parse_errors);
	tcase_add_test(tc, deep_nesting_refused);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

/* test_wire.c - the wire codec: round trips and hostile input. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_wire.h"
#include "ut.h"

static void encode_sample(struct cm_sb *sb)
{
	struct cm_msg m;

	cm_msg_init(&m, CM_MSG_WRITE);
	m.sender = 3;
	m.id = 0x1122334455667788ULL;
	m.time_ms = 1700000000123ULL;
	m.flags = 7;
	ck_assert_int_eq(cm_msg_add_int(&m, 1), 0);
	ck_assert_int_eq(cm_msg_add_int(&m, -42), 0);
	ck_assert_int_eq(cm_msg_add_str(&m, "node"), 0);
	ck_assert_int_eq(cm_msg_add_str(&m, ""), 0);
	ck_assert_int_eq(cm_msg_add_blob(&m, "a\0b", 3), 0);
	ck_assert_int_eq(cm_msg_encode(&m, sb), 0);
}

START_TEST(roundtrip)
{
	struct cm_sb sb;
	struct cm_msg d;

	cm_sb_init(&sb);
	encode_sample(&sb);
	ck_assert_int_eq(sb.len, CM_WIRE_HDR_LEN + 2 * 8 + (4 + 4 + 1) + (4 + 0 + 1) + (4 + 3 + 1));
	ck_assert_int_eq(cm_msg_decode(sb.buf, sb.len, &d), 0);
	ck_assert_int_eq(d.type, CM_MSG_WRITE);
	ck_assert_int_eq(d.sender, 3);
	ck_assert(d.id == 0x1122334455667788ULL);
	ck_assert(d.time_ms == 1700000000123ULL);
	ck_assert_int_eq(d.flags, 7);
	ck_assert_int_eq(d.nints, 2);
	ck_assert_int_eq(cm_msg_int(&d, 1, 0), -42);
	ck_assert_int_eq(cm_msg_int(&d, 5, 99), 99);
	ck_assert_str_eq(cm_msg_str(&d, 0), "node");
	ck_assert_str_eq(cm_msg_str(&d, 1), "");
	ck_assert_ptr_null(cm_msg_str(&d, 2));   /* holds a NUL: not text */
	ck_assert_int_eq(d.strs[2].len, 3);
	ck_assert_ptr_null(cm_msg_str(&d, 3));   /* absent */
	cm_sb_free(&sb);
}
END_TEST

START_TEST(every_truncation_is_refused)
{
	struct cm_sb sb;
	struct cm_msg d;
	size_t n;

	cm_sb_init(&sb);
	encode_sample(&sb);
	for (n = 0; n < sb.len; n++) {
		char *copy = malloc(n ? n : 1);

		memcpy(copy, sb.buf, n);
		ck_assert_int_lt(cm_msg_decode(copy, n, &d), 0);
		free(copy);
	}
	cm_sb_free(&sb);
}
END_TEST

static void put32(char *p, uint32_t v)
{
	p[0] = (char)v; p[1] = (char)(v >> 8); p[2] = (char)(v >> 16); p[3] = (char)(v >> 24);
}

START_TEST(hostile_headers)
{
	struct cm_sb sb;
	struct cm_msg d;
	char *b;

	cm_sb_init(&sb);
	encode_sample(&sb);
	b = sb.buf;
	b[0] ^= 1; /* magic */
	ck_assert_int_eq(cm_msg_decode(b, sb.len, &d), -CM_E_PROTO);
	b[0] ^= 1;
	b[4] = 9; /* version */
	ck_assert_int_eq(cm_msg_decode(b, sb.len, &d), -CM_E_VERSION);
	b[4] = CM_WIRE_VERSION;
	put32(b + 8, (uint32_t)sb.len + 1); /* length lies */
	ck_assert_int_eq(cm_msg_decode(b, sb.len, &d), -CM_E_PROTO);
	put32(b + 8, 0xffffffffu);
	ck_assert_int_eq(cm_msg_decode(b, sb.len, &d), -CM_E_TOOBIG);
	put32(b + 8, (uint32_t)sb.len);
	b[20] = 200; /* nints beyond max */
	ck_assert_int_eq(cm_msg_decode(b, sb.len, &d), -CM_E_PROTO);
	b[20] = 2;
	/* first string length pointing past the end */
	put32(b + CM_WIRE_HDR_LEN + 16, 0x7fffffffu);
	ck_assert_int_eq(cm_msg_decode(b, sb.len, &d), -CM_E_PROTO);
	put32(b + CM_WIRE_HDR_LEN + 16, 4);
	/* missing terminator */
	b[CM_WIRE_HDR_LEN + 16 + 4 + 4] = 'x';
	ck_assert_int_eq(cm_msg_decode(b, sb.len, &d), -CM_E_PROTO);
	ck_assert_int_eq(cm_msg_decode(NULL, 0, &d), -CM_E_PROTO);
	cm_sb_free(&sb);
}
END_TEST

START_TEST(random_mutations_never_crash)
{
	struct cm_sb sb;
	struct cm_msg d;
	unsigned seed = 12345;
	int i;

	cm_sb_init(&sb);
	encode_sample(&sb);
	for (i = 0; i < 20000; i++) {
		char *copy = malloc(sb.len);
		int k;

		memcpy(copy, sb.buf, sb.len);
		for (k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % sb.len] = (char)(seed >> 16);
		}
		if (cm_msg_decode(copy, sb.len, &d) == 0) {
			unsigned s;

			for (s = 0; s < d.nstrs; s++) /* strings stay inside the buffer */
				ck_assert(d.strs[s].p >= copy && d.strs[s].p + d.strs[s].len < copy + sb.len);
		}
		free(copy);
	}
	cm_sb_free(&sb);
}
END_TEST

START_TEST(limits)
{
	struct cm_msg m;
	struct cm_sb sb;
	char *big;
	int i;

	cm_msg_init(&m, CM_MSG_REQUEST);
	for (i = 0; i < CM_WIRE_MAX_INTS; i++)
		ck_assert_int_eq(cm_msg_add_int(&m, i), 0);
	ck_assert_int_eq(cm_msg_add_int(&m, 1), -CM_E_TOOBIG);
	for (i = 0; i < CM_WIRE_MAX_STRS; i++)
		ck_assert_int_eq(cm_msg_add_str(&m, "x"), 0);
	ck_assert_int_eq(cm_msg_add_str(&m, "x"), -CM_E_TOOBIG);

	big = malloc(CM_WIRE_MAX_LEN);
	memset(big, 'a', CM_WIRE_MAX_LEN - 1);
	big[CM_WIRE_MAX_LEN - 1] = '\0';
	cm_msg_init(&m, CM_MSG_REQUEST);
	ck_assert_int_eq(cm_msg_add_str(&m, big), 0);
	cm_sb_init(&sb);
	ck_assert_int_eq(cm_msg_encode(&m, &sb), -CM_E_TOOBIG);
	cm_sb_free(&sb);
	free(big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wire");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, every_truncation_is_refused);
	tcase_add_test(tc, hostile_headers);
	tcase_add_test(tc, random_mutations_never_crash);
	tcase_add_test(tc, limits);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

/* test_csv.c - CSV layout codec, volume allocation, lock decisions and the
 * volume table's text form (csv_io.c, pure part). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "csv_io.h"
#include "csv_layout.h"
#include "csv_lock.h"
#include "ut.h"

static const char *uuid = "0123456789abcdef0123456789abcdef";
#define MIB (1024ull * 1024)
#define LUN (1024 * MIB)

/* For hot loops: Check records every passing ck_assert in a file, which
 * would make the 10,000-step property test take seconds. */
#define REQUIRE(c) do { if (!(c)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c); } while (0)

/* A deterministic generator: the tests never touch random(). */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void mkheader(struct csv_header *h)
{
	char err[256];

	ck_assert_int_eq(csv_header_init(h, uuid, "csv1", LUN, 1700000000000ULL, err, sizeof(err)), 0);
}

static void tables_equal(const struct csv_table *a, const struct csv_table *b)
{
	REQUIRE(a->generation == b->generation);
	REQUIRE(a->count == b->count);
	for (uint32_t i = 0; i < a->count; i++) {
		REQUIRE(strcmp(a->vol[i].name, b->vol[i].name) == 0);
		REQUIRE(a->vol[i].offset == b->vol[i].offset && a->vol[i].size == b->vol[i].size &&
			  a->vol[i].generation == b->vol[i].generation &&
			  a->vol[i].created_ms == b->vol[i].created_ms && a->vol[i].flags == b->vol[i].flags);
	}
}

/* A table with three volumes, a hole between the first two. */
static void mktable(const struct csv_header *h, struct csv_table *t)
{
	char err[256];

	csv_table_init(t);
	ck_assert_int_eq(csv_vol_create(h, t, "web1-disk", 10 * MIB, 0, 100, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_vol_create(h, t, "gap", 5 * MIB, 0, 101, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_vol_create(h, t, "db1-disk", 20 * MIB, 0, 102, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_vol_delete(t, "gap", err, sizeof(err)), 0);
	ck_assert_int_eq(csv_vol_create(h, t, "db1-state", 3 * MIB + 1, CSV_VF_SAVED_STATE, 103, err, sizeof(err)), 0);
}

START_TEST(header_roundtrip_and_limits)
{
	unsigned char blk[CSV_BLOCK];
	struct csv_header h, d;
	char err[256];

	mkheader(&h);
	ck_assert_uint_eq(h.table_off[0], 64 * 1024);
	ck_assert_uint_eq(h.table_off[1], 128 * 1024);
	ck_assert_uint_eq(h.data_off, MIB);
	ck_assert_uint_eq(h.data_end, LUN);
	csv_header_encode(&h, blk);
	ck_assert_int_eq(csv_header_decode(blk, &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d.cluster_uuid, uuid);
	ck_assert_str_eq(d.name, "csv1");
	ck_assert(d.version == h.version && d.lun_bytes == h.lun_bytes && d.table_off[0] == h.table_off[0] &&
		  d.table_off[1] == h.table_off[1] && d.table_size == h.table_size &&
		  d.max_volumes == h.max_volumes && d.data_off == h.data_off && d.data_end == h.data_end &&
		  d.align == h.align && d.created_ms == h.created_ms);
	/* an odd LUN size: the data area ends on the last whole MiB */
	ck_assert_int_eq(csv_header_init(&h, uuid, "csv1", 5 * MIB + 12345, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(h.data_end, 5 * MIB);
	ck_assert_int_eq(csv_header_init(&h, uuid, "csv1", MIB, 0, err, sizeof(err)), -CM_E_SMALL);
	ck_assert_ptr_nonnull(strstr(err, "at least 2 MiB"));
	ck_assert_int_eq(csv_header_init(&h, uuid, "bad name", LUN, 0, err, sizeof(err)), -CM_E_NAME);
}
END_TEST

START_TEST(header_damage_is_detected)
{
	unsigned char blk[CSV_BLOCK];
	struct csv_header h, d;
	char err[256];

	mkheader(&h);
	csv_header_encode(&h, blk);
	for (size_t i = 8; i < CSV_BLOCK; i++) { /* every byte after the magic */
		blk[i] ^= 0x10;
		ck_assert_int_eq(csv_header_decode(blk, &d, err, sizeof(err)), -CM_E_CORRUPT);
		blk[i] ^= 0x10;
	}
	ck_assert_ptr_nonnull(strstr(err, "checksum"));
	blk[3] = 'x';
	ck_assert_int_eq(csv_header_decode(blk, &d, err, sizeof(err)), -CM_E_FOREIGN);
	/* sealed but impossible: the data area overlaps copy B, or passes the LUN */
	h.data_off = 128 * 1024;
	csv_header_encode(&h, blk);
	ck_assert_int_eq(csv_header_decode(blk, &d, err, sizeof(err)), -CM_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, "data area"));
	mkheader(&h);
	h.data_end = LUN + MIB;
	csv_header_encode(&h, blk);
	ck_assert_int_eq(csv_header_decode(blk, &d, err, sizeof(err)), -CM_E_CORRUPT);
	mkheader(&h);
	h.table_off[1] = h.table_off[0] + 4096;
	csv_header_encode(&h, blk);
	ck_assert_int_eq(csv_header_decode(blk, &d, err, sizeof(err)), -CM_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, "table copies"));
	mkheader(&h);
	h.version = 7;
	csv_header_encode(&h, blk);
	ck_assert_int_eq(csv_header_decode(blk, &d, err, sizeof(err)), -CM_E_VERSION);
	ck_assert_ptr_nonnull(strstr(err, "layout version 7"));
}
END_TEST

START_TEST(probe_and_create_check)
{
	unsigned char blk[CSV_BLOCK];
	struct csv_header h;
	char err[256];

	memset(blk, 0, sizeof(blk));
	ck_assert_int_eq(csv_probe(blk), CSV_PROBE_EMPTY);
	ck_assert_int_eq(csv_create_check(blk, false, err, sizeof(err)), 0);
	memcpy(blk + 510, "\x55\xaa", 2); /* an MBR */
	ck_assert_int_eq(csv_probe(blk), CSV_PROBE_FOREIGN);
	ck_assert_str_eq(csv_probe_to_str(csv_probe(blk)), "foreign");
	ck_assert_int_eq(csv_create_check(blk, false, err, sizeof(err)), -CM_E_FOREIGN);
	ck_assert_ptr_nonnull(strstr(err, "does not recognise (not a CSV); use --force"));
	ck_assert_int_eq(csv_create_check(blk, true, err, sizeof(err)), 0);
	mkheader(&h);
	csv_header_encode(&h, blk);
	ck_assert_int_eq(csv_probe(blk), CSV_PROBE_OURS);
	ck_assert_int_eq(csv_create_check(blk, false, err, sizeof(err)), -CM_E_EXISTS);
	ck_assert_ptr_nonnull(strstr(err, "already holds the CSV 'csv1'"));
	ck_assert_int_eq(csv_create_check(blk, true, err, sizeof(err)), 0);
	blk[100] ^= 1; /* our magic, damaged: not ours to trust */
	ck_assert_int_eq(csv_probe(blk), CSV_PROBE_FOREIGN);
	ck_assert_int_eq(csv_create_check(blk, false, err, sizeof(err)), -CM_E_FOREIGN);
	ck_assert_ptr_nonnull(strstr(err, "checksum"));
}
END_TEST

START_TEST(table_roundtrip_and_alternation)
{
	static unsigned char buf[2][CSV_TABLE_BYTES];
	struct csv_header h;
	struct csv_table t, d;
	char err[256], note[256];
	int which;

	mkheader(&h);
	csv_table_init(&t);
	ck_assert_int_eq(csv_table_copy_of(&t), 0);
	csv_table_encode(&t, buf[0]);
	memset(buf[1], 0, sizeof(buf[1]));
	ck_assert_int_eq(csv_table_decode(buf[1], 1, &h, &d, err, sizeof(err)), 1); /* never written */
	ck_assert_int_eq(csv_table_load(&h, buf[0], buf[1], &d, &which, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_int_eq(which, 0);
	ck_assert_uint_eq(d.count, 0);
	mktable(&h, &t);
	ck_assert_uint_eq(t.generation, 5);
	ck_assert_uint_eq(t.count, 3);
	ck_assert_str_eq(t.vol[0].name, "web1-disk");
	ck_assert_str_eq(t.vol[1].name, "db1-state"); /* sorted by offset */
	ck_assert_uint_eq(t.vol[1].size, 4 * MIB); /* rounded up to 1 MiB */
	ck_assert_uint_eq(t.vol[1].offset, 11 * MIB); /* first fit: the hole */
	ck_assert_uint_eq(t.vol[1].flags, CSV_VF_SAVED_STATE);
	ck_assert_str_eq(t.vol[2].name, "db1-disk");
	csv_table_encode(&t, buf[csv_table_copy_of(&t)]);
	ck_assert_int_eq(csv_table_decode(buf[1], 1, &h, &d, err, sizeof(err)), 0);
	tables_equal(&t, &d);
	/* decoding a copy as the other one is refused */
	ck_assert_int_eq(csv_table_decode(buf[1], 0, &h, &d, err, sizeof(err)), -CM_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, "copy A: the table was written for the other copy"));
	/* both valid: the newest wins, whichever copy it is in */
	ck_assert_int_eq(csv_table_load(&h, buf[0], buf[1], &d, &which, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_int_eq(which, 1);
	ck_assert_str_eq(note, "");
	tables_equal(&t, &d);
	ck_assert_int_eq(csv_vol_resize(&h, &t, "db1-state", MIB, err, sizeof(err)), 0);
	csv_table_encode(&t, buf[csv_table_copy_of(&t)]);
	ck_assert_int_eq(csv_table_load(&h, buf[0], buf[1], &d, &which, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_int_eq(which, 0);
	tables_equal(&t, &d);
}
END_TEST

static void expect_corrupt(const unsigned char *buf, int copy, const struct csv_header *h, const char *want)
{
	struct csv_table d;
	char err[256];

	REQUIRE(csv_table_decode(buf, copy, h, &d, err, sizeof(err)) == -CM_E_CORRUPT);
	if (strstr(err, want) == NULL)
		ck_abort_msg("'%s' lacks '%s'", err, want);
	REQUIRE(d.count == 0); /* nothing half-decoded is handed out */
}

START_TEST(table_damage_is_detected)
{
	static unsigned char buf[2][CSV_TABLE_BYTES];
	struct csv_header h;
	struct csv_table t;
	size_t i;

	mkheader(&h);
	mktable(&h, &t); /* generation 5: copy B */
	csv_table_encode(&t, buf[1]);
	t.generation++;
	csv_table_encode(&t, buf[0]);
	for (int c = 0; c < 2; c++) {
		for (i = 0; i < CSV_BLOCK; i++) { /* every byte of the table header block */
			buf[c][i] ^= 0x01;
			expect_corrupt(buf[c], c, &h, c ? "copy B: " : "copy A: ");
			buf[c][i] ^= 0x01;
		}
		for (i = CSV_BLOCK; i < CSV_BLOCK + 3 * CSV_ENTRY_BYTES; i++) { /* every byte of every entry */
			char want[64];

			snprintf(want, sizeof(want), "entry %zu fails its checksum", (i - CSV_BLOCK) / CSV_ENTRY_BYTES);
			buf[c][i] ^= 0x80;
			expect_corrupt(buf[c], c, &h, want);
			buf[c][i] ^= 0x80;
		}
		for (i = CSV_BLOCK + 3 * CSV_ENTRY_BYTES; i < CSV_TABLE_BYTES; i += 61) { /* unused slots */
			buf[c][i] ^= 0x02;
			expect_corrupt(buf[c], c, &h, "is not blank");
			buf[c][i] ^= 0x02;
		}
	}
}
END_TEST

START_TEST(torn_write_falls_back)
{
	static unsigned char a[CSV_TABLE_BYTES], b[CSV_TABLE_BYTES], next[CSV_TABLE_BYTES];
	struct csv_header h;
	struct csv_table t, d;
	char err[512], note[512];
	int which;

	mkheader(&h);
	mktable(&h, &t);                 /* generation 5 */
	csv_table_encode(&t, b);
	csv_vol_delete(&t, "db1-state", err, sizeof(err));
	csv_table_encode(&t, a);         /* generation 6 in A */
	ck_assert_int_eq(csv_vol_create(&h, &t, "new", 7 * MIB, 0, 200, err, sizeof(err)), 0);
	csv_table_encode(&t, next);      /* generation 7, bound for B */

	/* 1. the writer dies after the table header: new header, old entries */
	memcpy(b, next, CSV_BLOCK);
	ck_assert_int_eq(csv_table_load(&h, a, b, &d, &which, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_int_eq(which, 0);
	ck_assert_uint_eq(d.generation, 6);
	ck_assert_ptr_nonnull(strstr(note, "using copy A (generation 6); passed over copy B: "));
	/* 2. it dies half way through entry 2 (the 512-byte sectors of an entry) */
	memcpy(b, next, CSV_BLOCK + 2 * CSV_ENTRY_BYTES + 64);
	ck_assert_int_eq(csv_table_load(&h, a, b, &d, &which, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_int_eq(which, 0);
	/* 3. every sector written but the one holding the last entry */
	memcpy(b, next, CSV_TABLE_BYTES);
	memset(b + CSV_BLOCK + 2 * CSV_ENTRY_BYTES, 0, CSV_ENTRY_BYTES);
	ck_assert_int_eq(csv_table_load(&h, a, b, &d, &which, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_int_eq(which, 0);
	ck_assert_ptr_nonnull(strstr(note, "copy B: entry 2 fails its checksum"));
	/* the finished write wins */
	memcpy(b, next, CSV_TABLE_BYTES);
	ck_assert_int_eq(csv_table_load(&h, a, b, &d, &which, note, sizeof(note), err, sizeof(err)), 0);
	ck_assert_int_eq(which, 1);
	tables_equal(&t, &d);
	/* both bad: refused, naming both */
	a[CSV_BLOCK + 5] ^= 1;
	b[20] ^= 1;
	ck_assert_int_eq(csv_table_load(&h, a, b, &d, &which, note, sizeof(note), err, sizeof(err)), -CM_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, "copy A: entry 0 fails its checksum"));
	ck_assert_ptr_nonnull(strstr(err, "copy B: the table header fails its checksum"));
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	ck_assert_int_eq(csv_table_load(&h, a, b, &d, &which, note, sizeof(note), err, sizeof(err)), -CM_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, "never written"));
}
END_TEST

START_TEST(torn_seal_only)
{
	/* two entries sound on their own, from different writes: the entry
	 * seal passes, the table header's seal of the entry area does not */
	static unsigned char old[CSV_TABLE_BYTES], cur[CSV_TABLE_BYTES];
	struct csv_header h;
	struct csv_table t;
	char err[256];

	mkheader(&h);
	mktable(&h, &t);
	csv_table_encode(&t, old);
	csv_vol_resize(&h, &t, "db1-state", MIB, err, sizeof(err));
	t.generation++; /* same copy as before */
	csv_table_encode(&t, cur);
	memcpy(cur + CSV_BLOCK + 1 * CSV_ENTRY_BYTES, old + CSV_BLOCK + 1 * CSV_ENTRY_BYTES, CSV_ENTRY_BYTES);
	expect_corrupt(cur, 1, &h, "copy B: the entries do not match the table header (torn write)");
}
END_TEST

static void expect_check(const struct csv_header *h, const struct csv_table *t, const char *want)
{
	char err[256];

	ck_assert_int_eq(csv_table_check(h, t, err, sizeof(err)), -CM_E_CORRUPT);
	ck_assert_msg(strstr(err, want) != NULL, "'%s' lacks '%s'", err, want);
}

START_TEST(consistency_check)
{
	static unsigned char a[CSV_TABLE_BYTES], b[CSV_TABLE_BYTES];
	struct csv_header h;
	struct csv_table t, bad, d;
	char err[256], note[256];
	int which;

	mkheader(&h);
	mktable(&h, &t);
	ck_assert_int_eq(csv_table_check(&h, &t, err, sizeof(err)), 0);
	bad = t;
	bad.vol[0].offset = 0;
	expect_check(&h, &bad, "entry 0 ('web1-disk', offset 0, size 10485760) lies outside the data area");
	bad = t;
	bad.vol[2].size = LUN;
	expect_check(&h, &bad, "entry 2 ('db1-disk'");
	bad = t;
	bad.vol[1].offset += 4096;
	expect_check(&h, &bad, "not aligned");
	bad = t;
	bad.vol[2].offset = bad.vol[0].offset + MIB;
	expect_check(&h, &bad, "entries 1 ('db1-state') and 2 ('db1-disk') overlap or are out of order");
	bad = t;
	strcpy(bad.vol[2].name, "web1-disk");
	expect_check(&h, &bad, "entries 0 and 2 are both named 'web1-disk'");
	bad = t;
	strcpy(bad.vol[1].name, "-x");
	expect_check(&h, &bad, "entry 1 has an invalid name");
	bad = t;
	bad.vol[1].generation = bad.generation + 1;
	expect_check(&h, &bad, "newer than its table");
	/* a sealed copy that fails the check is refused, not replaced by the older copy */
	csv_table_encode(&t, b);
	bad = t;
	bad.generation++;
	bad.vol[2].offset = bad.vol[0].offset;
	csv_table_encode(&bad, a);
	ck_assert_int_eq(csv_table_load(&h, a, b, &d, &which, note, sizeof(note), err, sizeof(err)), -CM_E_CORRUPT);
	ck_assert_ptr_nonnull(strstr(err, "copy A (generation 6): entries"));
}
END_TEST

START_TEST(allocation_rules)
{
	struct csv_header h;
	struct csv_table t;
	struct csv_extent ext[8];
	char err[256], name[16];
	uint64_t gen;

	ck_assert_int_eq(csv_header_init(&h, uuid, "small", 65 * MIB, 0, err, sizeof(err)), 0); /* 64 MiB of data */
	csv_table_init(&t);
	ck_assert_int_eq(csv_vol_create(&h, &t, "a", 16 * MIB, 0, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_vol_create(&h, &t, "a", MIB, 0, 1, err, sizeof(err)), -CM_E_EXISTS);
	ck_assert_ptr_nonnull(strstr(err, "volume 'a' already exists on CSV 'small'"));
	ck_assert_int_eq(csv_vol_create(&h, &t, "bad/name", MIB, 0, 1, err, sizeof(err)), -CM_E_NAME);
	ck_assert_int_eq(csv_vol_create(&h, &t, "z", 0, 0, 1, err, sizeof(err)), -CM_E_ARGS);
	ck_assert_int_eq(csv_vol_create(&h, &t, "b", 16 * MIB, 0, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_vol_create(&h, &t, "c", 16 * MIB, 0, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_vol_delete(&t, "b", err, sizeof(err)), 0);
	ck_assert_int_eq(csv_vol_delete(&t, "b", err, sizeof(err)), -CM_E_NO_OBJECT);
	/* free: [17,33) and [49,65): 32 MiB in all, 16 at most in one piece */
	ck_assert_uint_eq(csv_free_list(&h, &t, ext, 8), 2);
	ck_assert(ext[0].offset == 17 * MIB && ext[0].size == 16 * MIB);
	ck_assert(ext[1].offset == 49 * MIB && ext[1].size == 16 * MIB);
	ck_assert_int_eq(csv_vol_create(&h, &t, "big", 17 * MIB, 0, 1, err, sizeof(err)), -CM_E_SMALL);
	ck_assert_str_eq(err, "volume 'big' needs 17 MiB but the largest free extent of CSV 'small' is 16 MiB (32 MiB free in all)");
	ck_assert_int_eq(csv_vol_create(&h, &t, "huge", UINT64_MAX, 0, 1, err, sizeof(err)), -CM_E_SMALL);
	/* resize: grow into the following gap, not beyond; shrink always */
	gen = t.generation;
	ck_assert_int_eq(csv_vol_resize(&h, &t, "a", 32 * MIB, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.generation, gen + 1);
	ck_assert_uint_eq(t.vol[0].generation, gen + 1);
	ck_assert_int_eq(csv_vol_resize(&h, &t, "a", 33 * MIB, err, sizeof(err)), -CM_E_SMALL);
	ck_assert_ptr_nonnull(strstr(err, "can grow in place to at most 32 MiB, not 33 MiB"));
	ck_assert_int_eq(csv_vol_resize(&h, &t, "c", 33 * MIB, err, sizeof(err)), -CM_E_SMALL);
	ck_assert_int_eq(csv_vol_resize(&h, &t, "c", 32 * MIB, err, sizeof(err)), 0); /* to the end */
	ck_assert_uint_eq(csv_free_total(&h, &t), 0);
	ck_assert_int_eq(csv_vol_resize(&h, &t, "a", 1, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.vol[0].size, MIB);
	ck_assert_int_eq(csv_vol_resize(&h, &t, "a", 0, err, sizeof(err)), -CM_E_ARGS);
	ck_assert_int_eq(csv_vol_resize(&h, &t, "nope", MIB, err, sizeof(err)), -CM_E_NO_OBJECT);
	gen = t.generation;
	ck_assert_int_eq(csv_vol_resize(&h, &t, "a", MIB, err, sizeof(err)), 0); /* no change, no bump */
	ck_assert_uint_eq(t.generation, gen);
	ck_assert_int_eq(csv_table_check(&h, &t, err, sizeof(err)), 0);
	/* the table holds CSV_MAX_VOLUMES */
	ck_assert_int_eq(csv_header_init(&h, uuid, "wide", 300 * MIB, 0, err, sizeof(err)), 0);
	csv_table_init(&t);
	for (unsigned i = 0; i < CSV_MAX_VOLUMES; i++) {
		snprintf(name, sizeof(name), "v%u", i);
		ck_assert_int_eq(csv_vol_create(&h, &t, name, MIB, 0, 1, err, sizeof(err)), 0);
	}
	ck_assert_int_eq(csv_vol_create(&h, &t, "one-more", MIB, 0, 1, err, sizeof(err)), -CM_E_SMALL);
	ck_assert_ptr_nonnull(strstr(err, "is full (256 volumes)"));
	ck_assert_int_eq(csv_table_check(&h, &t, err, sizeof(err)), 0);
}
END_TEST

/* Independent of csv_table_check: the safety rule itself. */
static void assert_sound(const struct csv_header *h, const struct csv_table *t)
{
	uint64_t used = 0;

	for (uint32_t i = 0; i < t->count; i++) {
		const struct csv_volume *v = &t->vol[i];

		REQUIRE(v->size > 0 && v->offset % MIB == 0 && v->size % MIB == 0);
		REQUIRE(v->offset >= h->data_off && v->offset + v->size <= h->data_end);
		for (uint32_t j = 0; j < i; j++)
			REQUIRE(v->offset >= t->vol[j].offset + t->vol[j].size ||
				  t->vol[j].offset >= v->offset + v->size);
		used += v->size;
	}
	REQUIRE(used + csv_free_total(h, t) == h->data_end - h->data_off);
}

START_TEST(property_random_operations)
{
	static unsigned char buf[2][CSV_TABLE_BYTES];
	struct csv_header h;
	struct csv_table t, d;
	uint64_t seed = 0x9e3779b97f4a7c15ULL, gen;
	char err[256], note[256], name[16];
	int which, rc, ok = 0;

	mkheader(&h);
	csv_table_init(&t);
	memset(buf, 0, sizeof(buf));
	for (int step = 0; step < 10000; step++) {
		uint64_t op = rnd(&seed) % 10, size = 1 + rnd(&seed) % (48 * MIB);

		snprintf(name, sizeof(name), "vol%u", (unsigned)(rnd(&seed) % 64));
		gen = t.generation;
		if (op < 5)
			rc = csv_vol_create(&h, &t, name, size, 0, (uint64_t)step, err, sizeof(err));
		else if (op < 7)
			rc = csv_vol_delete(&t, name, err, sizeof(err));
		else
			rc = csv_vol_resize(&h, &t, name, size, err, sizeof(err));
		REQUIRE(rc == 0 || rc == -CM_E_EXISTS || rc == -CM_E_SMALL || rc == -CM_E_NO_OBJECT);
		REQUIRE(rc == 0 ? t.generation >= gen : t.generation == gen);
		ok += rc == 0;
		assert_sound(&h, &t);
		REQUIRE(csv_table_check(&h, &t, err, sizeof(err)) == 0);
		/* written as the coordinator would, read back as any node would */
		csv_table_encode(&t, buf[csv_table_copy_of(&t)]);
		REQUIRE(csv_table_load(&h, buf[0], buf[1], &d, &which, note, sizeof(note), err, sizeof(err)) == 0);
		REQUIRE(which == csv_table_copy_of(&t));
		tables_equal(&t, &d);
	}
	ck_assert_int_gt(ok, 3000);
}
END_TEST

/* --- locks --- */

START_TEST(lock_modes_conflict)
{
	struct csv_locks l;
	struct csv_lock who;
	char err[256];

	csv_locks_init(&l);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 1, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 1, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), 0); /* again */
	ck_assert_uint_eq(l.n, 1);
	/* the same VM started elsewhere: refused, naming the holder */
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 2, "web1", CSV_LOCK_EXCL, &who, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_str_eq(err, "volume 'web1-disk' is locked exclusively by 'web1' on node 1; 'web1' on node 2 cannot lock it excl");
	ck_assert(who.node == 1 && strcmp(who.owner, "web1") == 0 && who.mode == CSV_LOCK_EXCL);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 2, "backup", CSV_LOCK_SHARED, NULL, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 1, "other", CSV_LOCK_SHARED, NULL, err, sizeof(err)), -CM_E_CONFLICT);
	/* shared + shared */
	ck_assert_int_eq(csv_lock_try(&l, "iso", 1, "web1", CSV_LOCK_SHARED, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "iso", 2, "db1", CSV_LOCK_SHARED, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "iso", 3, "db2", CSV_LOCK_SHARED, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "iso", 3, "admin", CSV_LOCK_EXCL, &who, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_ptr_nonnull(strstr(err, "locked shared by 'web1' on node 1"));
	/* upgrade only when alone; downgrade always */
	ck_assert_int_eq(csv_lock_try(&l, "iso", 1, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 1, "web1", CSV_LOCK_SHARED, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 2, "ro", CSV_LOCK_SHARED, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 1, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_int_eq(csv_lock_release(&l, "web1-disk", 2, "ro", err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 1, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), 0);
	/* bad arguments */
	ck_assert_int_eq(csv_lock_try(&l, "bad name", 1, "x", CSV_LOCK_EXCL, NULL, err, sizeof(err)), -CM_E_NAME);
	ck_assert_int_eq(csv_lock_try(&l, "v", 1, "", CSV_LOCK_EXCL, NULL, err, sizeof(err)), -CM_E_NAME);
	ck_assert_int_eq(csv_lock_try(&l, "v", 0, "x", CSV_LOCK_EXCL, NULL, err, sizeof(err)), -CM_E_ARGS);
	ck_assert_int_eq(csv_lock_try(&l, "v", 1, "x", (enum csv_lock_mode)9, NULL, err, sizeof(err)), -CM_E_ARGS);
	csv_locks_free(&l);
	csv_locks_free(NULL);
}
END_TEST

START_TEST(lock_release_and_handover)
{
	struct csv_locks l;
	char err[256], *txt;
	size_t first;

	csv_locks_init(&l);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 1, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "web1-data", 1, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "iso", 1, "web1", CSV_LOCK_SHARED, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "iso", 2, "db1", CSV_LOCK_SHARED, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "db1-disk", 2, "db1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_release(&l, "db1-disk", 1, "db1", err, sizeof(err)), -CM_E_NO_OBJECT);
	ck_assert_str_eq(err, "'db1' on node 1 holds no lock on volume 'db1-disk'");
	/* live migration of web1 from node 1 to node 3 */
	ck_assert_int_eq(csv_lock_handover(&l, "web1-disk", "web1", 1, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_find(&l, "web1-disk", 1, "web1"), -1);
	ck_assert_int_ge(csv_lock_find(&l, "web1-disk", 3, "web1"), 0);
	ck_assert_uint_eq(csv_lock_holders(&l, "web1-disk", &first), 1);
	ck_assert_int_eq(csv_lock_try(&l, "web1-disk", 1, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), -CM_E_CONFLICT);
	ck_assert_ptr_nonnull(strstr(err, "on node 3"));
	ck_assert_int_eq(csv_lock_handover(&l, "iso", "web1", 1, 3, err, sizeof(err)), -CM_E_STATE);
	ck_assert_int_eq(csv_lock_handover(&l, "web1-disk", "web1", 1, 3, err, sizeof(err)), -CM_E_NO_OBJECT);
	ck_assert_int_eq(csv_lock_handover(&l, "web1-data", "web1", 1, 0, err, sizeof(err)), -CM_E_ARGS);
	ck_assert_int_eq(csv_lock_handover(&l, "web1-data", "web1", 1, 3, err, sizeof(err)), 0);
	/* node 2 is fenced: everything it held goes, nothing else */
	ck_assert_uint_eq(csv_lock_release_node(&l, 2), 2);
	ck_assert_uint_eq(csv_lock_release_node(&l, 2), 0);
	txt = csv_locks_to_text(&l);
	ck_assert_str_eq(txt, "iso shared 1 web1\nweb1-data excl 3 web1\nweb1-disk excl 3 web1\n");
	free(txt);
	/* web1 stops on node 3 */
	ck_assert_uint_eq(csv_lock_release_owner(&l, 3, "web1"), 2);
	ck_assert_uint_eq(csv_lock_release_owner(&l, 1, "other"), 0);
	ck_assert_int_eq(csv_lock_release(&l, "iso", 1, "web1", err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 0);
	txt = csv_locks_to_text(&l);
	ck_assert_str_eq(txt, "");
	free(txt);
	csv_locks_free(&l);
}
END_TEST

START_TEST(lock_order_and_text)
{
	static const char *vols[] = { "c", "a", "b", "a", "c", "b" };
	static const uint32_t nodes[] = { 10, 2, 1, 1, 9, 3 };
	struct csv_locks l, d;
	char err[256], *txt, *txt2;

	csv_locks_init(&l);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(csv_lock_try(&l, vols[i], nodes[i], "vm", CSV_LOCK_SHARED, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "d", 4294967295u, "vm-x.1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), 0);
	txt = csv_locks_to_text(&l);
	ck_assert_str_eq(txt, "a shared 1 vm\na shared 2 vm\nb shared 1 vm\nb shared 3 vm\n"
			      "c shared 9 vm\nc shared 10 vm\nd excl 4294967295 vm-x.1\n");
	ck_assert_int_eq(csv_locks_from_text(txt, strlen(txt), &d, err, sizeof(err)), 0);
	txt2 = csv_locks_to_text(&d);
	ck_assert_str_eq(txt, txt2);
	ck_assert_uint_eq(d.n, 7);
	free(txt);
	free(txt2);
	csv_locks_free(&d);
	csv_locks_free(&l);
	ck_assert_int_eq(csv_locks_from_text("", 0, &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(d.n, 0);
}
END_TEST

/* The daemon's names: "CSV/VOL" volumes and "admin:TAG" owners. */
START_TEST(lock_cluster_names)
{
	struct csv_locks l, d;
	char err[256], *t;

	csv_locks_init(&l);
	ck_assert_int_eq(csv_lock_try(&l, "store/web1", 2, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "store/iso", 1, "admin:t", CSV_LOCK_SHARED, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(csv_lock_try(&l, "store/web1", 3, "web1", CSV_LOCK_EXCL, NULL, err, sizeof(err)),
			 -CM_E_CONFLICT);
	ck_assert_int_eq(csv_lock_try(&l, "store/x", 1, "other:t", CSV_LOCK_EXCL, NULL, err, sizeof(err)), -CM_E_NAME);
	ck_assert_int_eq(csv_lock_try(&l, "/x", 1, "vm", CSV_LOCK_EXCL, NULL, err, sizeof(err)), -CM_E_NAME);
	t = csv_locks_to_text(&l);
	ck_assert_int_eq(csv_locks_from_text(t, strlen(t), &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(d.n, 2);
	free(t);
	csv_locks_free(&d);
	csv_locks_free(&l);
}
END_TEST

START_TEST(lock_text_malformed)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "a excl 1 vm", "newline" },
		{ "a excl 1 vm\n\n", "line 2: expected" },
		{ "a excl 1\n", "line 1: expected" },
		{ "a excl 1 vm extra\n", "expected" },
		{ "a  excl 1 vm\n", "expected" },
		{ " a excl 1 vm\n", "expected" },
		{ "a excl 1 vm \n", "expected" },
		{ "a write 1 vm\n", "bad mode" },
		{ "a excl 0 vm\n", "node" },
		{ "a excl 01 vm\n", "node" },
		{ "a excl -1 vm\n", "node" },
		{ "a excl 4294967296 vm\n", "node" },
		{ "a excl 1x vm\n", "node" },
		{ "a/b/c excl 1 vm\n", "not valid" },
		{ "a/ excl 1 vm\n", "not valid" },
		{ "a excl 1 x:vm\n", "not valid" },
		{ "a excl 1 v\tm\n", "lock owner name" },
		{ "a excl 1 vm\na shared 1 vm\n", "line 2: a second lock" },
		{ "a excl 1 vm\na shared 2 db\n", "line 2: volume 'a' is locked exclusively by 'vm' on node 1" },
		{ "a shared 1 vm\nb excl 2 x\nb excl 3 y\n", "line 3:" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa excl 1 vm\n", "not valid" },
	};
	struct csv_locks d;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(csv_locks_from_text(bad[i].text, strlen(bad[i].text), &d, err, sizeof(err)), -CM_E_PROTO);
		ck_assert_msg(strstr(err, bad[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, err, bad[i].want);
		ck_assert_uint_eq(d.n, 0);
		ck_assert_ptr_null(d.v);
	}
	ck_assert_int_eq(csv_locks_from_text("a excl 1 vm\0\n", 13, &d, err, sizeof(err)), -CM_E_PROTO);
}
END_TEST

START_TEST(table_text_roundtrip)
{
	struct csv_header h;
	struct csv_table *t = malloc(sizeof(*t)), *u = malloc(sizeof(*u));
	char err[256], *txt;
	uint64_t seed = 7;

	mkheader(&h);
	mktable(&h, t);
	txt = csv_table_to_text(t);
	ck_assert_ptr_nonnull(txt);
	ck_assert_str_eq(txt, "gen 5 count 3\n"
			      "web1-disk 1048576 10485760 1 100 0\n"
			      "db1-state 11534336 4194304 5 103 1\n"
			      "db1-disk 16777216 20971520 3 102 0\n");
	ck_assert_int_eq(csv_table_from_text(txt, u, err, sizeof(err)), 0);
	tables_equal(t, u);
	ck_assert_int_eq(csv_table_check(&h, u, err, sizeof(err)), 0);
	free(txt);

	csv_table_init(t); /* a fresh CSV: generation 0, no volumes */
	txt = csv_table_to_text(t);
	ck_assert_str_eq(txt, "gen 0 count 0\n");
	ck_assert_int_eq(csv_table_from_text(txt, u, err, sizeof(err)), 0);
	tables_equal(t, u);
	free(txt);

	/* random tables built by the allocator survive the trip; large numbers too */
	for (int round = 0; round < 50; round++) {
		csv_table_init(t);
		for (int i = 0; i < 40; i++) {
			char name[32];

			snprintf(name, sizeof(name), "v%d", (int)(rnd(&seed) % 60));
			if (rnd(&seed) % 3)
				csv_vol_create(&h, t, name, (rnd(&seed) % 30 + 1) * MIB, (uint32_t)rnd(&seed),
					       rnd(&seed), err, sizeof(err));
			else
				csv_vol_delete(t, name, err, sizeof(err));
		}
		t->generation += UINT64_MAX / 2;
		txt = csv_table_to_text(t);
		REQUIRE(txt != NULL);
		REQUIRE(csv_table_from_text(txt, u, err, sizeof(err)) == 0);
		tables_equal(t, u);
		free(txt);
	}
	free(t);
	free(u);
}
END_TEST

START_TEST(table_text_malformed)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "", "empty" },
		{ "gen 1 count 0", "newline" },
		{ "gen 1 count 0\n\n", "line 2: more volumes" },
		{ "gen 1 count 1\n", "0 volumes where the count says 1" },
		{ "gen 1 count 0\na 1048576 1048576 1 0 0\n", "line 2: more volumes" },
		{ "gen 01 count 0\n", "line 1" },
		{ "gen -1 count 0\n", "line 1" },
		{ "gen +1 count 0\n", "line 1" },
		{ "gen 1  count 0\n", "line 1" },
		{ "gen 1 count 0 \n", "line 1" },
		{ "gen 1 count 257\n", "line 1" },
		{ "gen 18446744073709551616 count 0\n", "line 1" },
		{ "gen 1 cnt 0\n", "line 1" },
		{ "gen 1 count 0\r\n", "line 1" },
		{ "gen 2 count 1\na 1048576 1048576 1 0\n", "line 2: expected" },
		{ "gen 2 count 1\na 1048576 1048576 1 0 0 0\n", "line 2: expected" },
		{ "gen 2 count 1\na\t1048576 1048576 1 0 0\n", "line 2: expected" },
		{ "gen 2 count 1\na 1048576 1048576 1 0 4294967296\n", "line 2: expected" },
		{ "gen 2 count 1\na 1048576 0x100000 1 0 0\n", "line 2: expected" },
		{ "gen 2 count 1\n-a 1048576 1048576 1 0 0\n", "line 2: invalid volume name" },
		{ "gen 2 count 1\na 1048576 0 1 0 0\n", "line 2: size is 0" },
		{ "gen 2 count 1\na 18446744073709551615 1 1 0 0\n", "line 2: size is 0 or the volume runs past" },
		{ "gen 2 count 1\na 1048576 1048576 3 0 0\n", "line 2: the volume is newer" },
		{ "gen 2 count 2\na 1048576 1048576 1 0 0\na 2097152 1048576 1 0 0\n", "line 3: duplicate" },
		{ "gen 2 count 2\na 1048576 2097152 1 0 0\nb 2097152 1048576 1 0 0\n", "line 3: overlaps" },
		{ "gen 2 count 2\na 2097152 1048576 1 0 0\nb 1048576 1048576 1 0 0\n", "line 3: overlaps" },
	};
	struct csv_table *t = malloc(sizeof(*t));
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(t, 0xee, sizeof(*t));
		strcpy(err, "");
		ck_assert_int_eq(csv_table_from_text(bad[i].text, t, err, sizeof(err)), -CM_E_PROTO);
		ck_assert_msg(strstr(err, bad[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, err, bad[i].want);
		ck_assert_uint_eq(t->count, 0);
		ck_assert_uint_eq(t->generation, 0);
	}
	ck_assert_int_eq(csv_table_from_text(NULL, t, err, sizeof(err)), -CM_E_PROTO);
	/* a name of 63 characters is fine, 64 is not */
	{
		char line[256], name[70];

		memset(name, 'n', 63);
		name[63] = '\0';
		snprintf(line, sizeof(line), "gen 1 count 1\n%s 1048576 1048576 1 0 0\n", name);
		ck_assert_int_eq(csv_table_from_text(line, t, err, sizeof(err)), 0);
		ck_assert_str_eq(t->vol[0].name, name);
		strcat(name, "n");
		snprintf(line, sizeof(line), "gen 1 count 1\n%s 1048576 1048576 1 0 0\n", name);
		ck_assert_int_eq(csv_table_from_text(line, t, err, sizeof(err)), -CM_E_PROTO);
	}
	free(t);
}
END_TEST

START_TEST(io_op_names)
{
	ck_assert_int_eq(csv_io_op_from_str("create"), CSV_IO_CREATE);
	ck_assert_int_eq(csv_io_op_from_str("delete"), CSV_IO_DELETE);
	ck_assert_int_eq(csv_io_op_from_str("resize"), CSV_IO_RESIZE);
	ck_assert_int_eq(csv_io_op_from_str("grow"), -CM_E_VALUE);
	ck_assert_int_eq(csv_io_op_from_str(NULL), -CM_E_VALUE);
	ck_assert_str_eq(csv_io_op_to_str(CSV_IO_RESIZE), "resize");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("csv");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, header_roundtrip_and_limits);
	tcase_add_test(tc, header_damage_is_detected);
	tcase_add_test(tc, probe_and_create_check);
	tcase_add_test(tc, table_roundtrip_and_alternation);
	tcase_add_test(tc, table_damage_is_detected);
	tcase_add_test(tc, torn_write_falls_back);
	tcase_add_test(tc, torn_seal_only);
	tcase_add_test(tc, consistency_check);
	tcase_add_test(tc, allocation_rules);
	tcase_add_test(tc, property_random_operations);
	tcase_add_test(tc, lock_modes_conflict);
	tcase_add_test(tc, lock_release_and_handover);
	tcase_add_test(tc, lock_order_and_text);
	tcase_add_test(tc, lock_text_malformed);
	tcase_add_test(tc, lock_cluster_names);
	tcase_add_test(tc, table_text_roundtrip);
	tcase_add_test(tc, table_text_malformed);
	tcase_add_test(tc, io_op_names);
	suite_add_tcase(s, tc);
	return ut_run(s);
}

/* csv_layout.c - encode/decode the CSV layout (see csv_layout.h); the
 * allocation of volumes is csv_alloc.c. Pure: no I/O, no clock, no globals. A
 * damaged structure is reported, never repaired: the caller decides. */
#include <stdio.h>
#include <string.h>

#include "cm_err.h"
#include "cm_prop.h"
#include "cm_str.h"
#include "csv_layout.h"

static const char hdr_magic[8] = { 'C', 'L', 'U', 'S', 'T', 'C', 'S', 'V' };
static const char tab_magic[8] = { 'C', 'S', 'V', 'T', 'A', 'B', 'L', 'E' };

/* byte offsets in the header block */
enum { H_VERSION = 8, H_BLOCK = 12, H_UUID = 16, H_NAME = 56, H_LUN = 120, H_TAB0 = 128,
       H_TAB1 = 136, H_TABSZ = 144, H_MAXVOL = 152, H_DATA = 156, H_END = 164, H_ALIGN = 172,
       H_CREATED = 180, H_SUM = 188 };
/* ... in the table header block */
enum { T_VERSION = 8, T_COPY = 12, T_GEN = 16, T_COUNT = 24, T_MAX = 28, T_ESUM = 32, T_SUM = 40 };
/* ... in an entry */
enum { E_NAME = 0, E_OFF = 64, E_SIZE = 72, E_GEN = 80, E_CREATED = 88, E_FLAGS = 96, E_SUM = 120 };

static void seal(unsigned char *p, size_t at)
{
	cm_le_put(p + at, cm_hash64(CM_HASH_INIT, p, at), 8);
}

static bool sealed(const unsigned char *p, size_t at)
{
	return cm_le_get(p + at, 8) == cm_hash64(CM_HASH_INIT, p, at);
}

static bool is_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static char copy_letter(int copy)
{
	return copy ? 'B' : 'A';
}

static unsigned long long mib(uint64_t bytes)
{
	return (unsigned long long)(bytes >> 20);
}

/* --- header --- */

int csv_header_init(struct csv_header *h, const char *cluster_uuid, const char *name,
		    uint64_t lun_bytes, uint64_t now_ms, char *err, size_t errlen)
{
	int rc;

	memset(h, 0, sizeof(*h));
	rc = cm_name_check("CSV", name, err, errlen);
	if (rc < 0)
		return rc;
	if (lun_bytes < CSV_MIN_LUN_BYTES) {
		snprintf(err, errlen, "the LUN has %llu MiB; a CSV needs at least %llu MiB",
			 mib(lun_bytes), mib(CSV_MIN_LUN_BYTES));
		return -CM_E_SMALL;
	}
	h->version = CSV_LAYOUT_VERSION;
	cm_strlcpy(h->cluster_uuid, cluster_uuid ? cluster_uuid : "", sizeof(h->cluster_uuid));
	cm_strlcpy(h->name, name, sizeof(h->name));
	h->lun_bytes = lun_bytes;
	h->table_off[0] = CSV_TABLE_A_OFF;
	h->table_off[1] = CSV_TABLE_B_OFF;
	h->table_size = CSV_TABLE_B_OFF - CSV_TABLE_A_OFF;
	h->max_volumes = CSV_MAX_VOLUMES;
	h->align = CSV_ALIGN;
	h->data_off = CSV_DATA_OFF;
	h->data_end = lun_bytes / CSV_ALIGN * CSV_ALIGN;
	h->created_ms = now_ms;
	return 0;
}

void csv_header_encode(const struct csv_header *h, unsigned char blk[CSV_BLOCK])
{
	memset(blk, 0, CSV_BLOCK);
	memcpy(blk, hdr_magic, 8);
	cm_le_put(blk + H_VERSION, h->version, 4);
	cm_le_put(blk + H_BLOCK, CSV_BLOCK, 4);
	memcpy(blk + H_UUID, h->cluster_uuid, 40);
	memcpy(blk + H_NAME, h->name, CSV_NAME_LEN);
	cm_le_put(blk + H_LUN, h->lun_bytes, 8);
	cm_le_put(blk + H_TAB0, h->table_off[0], 8);
	cm_le_put(blk + H_TAB1, h->table_off[1], 8);
	cm_le_put(blk + H_TABSZ, h->table_size, 8);
	cm_le_put(blk + H_MAXVOL, h->max_volumes, 4);
	cm_le_put(blk + H_DATA, h->data_off, 8);
	cm_le_put(blk + H_END, h->data_end, 8);
	cm_le_put(blk + H_ALIGN, h->align, 8);
	cm_le_put(blk + H_CREATED, h->created_ms, 8);
	seal(blk, H_SUM);
}

static void header_fields(const unsigned char *blk, struct csv_header *h)
{
	memcpy(h->cluster_uuid, blk + H_UUID, 40);
	h->cluster_uuid[39] = '\0';
	memcpy(h->name, blk + H_NAME, CSV_NAME_LEN);
	h->name[CSV_NAME_LEN - 1] = '\0';
	h->lun_bytes = cm_le_get(blk + H_LUN, 8);
	h->table_off[0] = cm_le_get(blk + H_TAB0, 8);
	h->table_off[1] = cm_le_get(blk + H_TAB1, 8);
	h->table_size = cm_le_get(blk + H_TABSZ, 8);
	h->max_volumes = (uint32_t)cm_le_get(blk + H_MAXVOL, 4);
	h->data_off = cm_le_get(blk + H_DATA, 8);
	h->data_end = cm_le_get(blk + H_END, 8);
	h->align = cm_le_get(blk + H_ALIGN, 8);
	h->created_ms = cm_le_get(blk + H_CREATED, 8);
}

/* The regions must fit the LUN in order: header, A, B, data. */
static const char *header_regions_bad(const struct csv_header *h)
{
	if (h->max_volumes != CSV_MAX_VOLUMES)
		return "a volume table size this clusterd does not know";
	if (h->align < CSV_BLOCK || (h->align & (h->align - 1)) != 0)
		return "an alignment that is not a power of two of at least 4 KiB";
	if (h->table_size < CSV_TABLE_BYTES || h->table_off[0] < CSV_BLOCK ||
	    h->table_off[0] % CSV_BLOCK || h->table_off[1] % CSV_BLOCK ||
	    h->table_off[0] > h->lun_bytes || h->table_off[1] < h->table_off[0] + h->table_size)
		return "volume table copies that overlap or do not fit";
	if (h->data_off < h->table_off[1] + h->table_size || h->data_off % h->align ||
	    h->data_end % h->align || h->data_end <= h->data_off || h->data_end > h->lun_bytes)
		return "a data area that overlaps the tables or does not fit the LUN";
	return NULL;
}

int csv_header_decode(const unsigned char blk[CSV_BLOCK], struct csv_header *h, char *err, size_t errlen)
{
	const char *bad;

	memset(h, 0, sizeof(*h));
	if (memcmp(blk, hdr_magic, 8) != 0) {
		snprintf(err, errlen, "the LUN does not hold a CSV of this project (no CLUSTCSV magic)");
		return -CM_E_FOREIGN;
	}
	/* the seal covers the fields; the rest of the block must be blank */
	if (!sealed(blk, H_SUM) || !is_zero(blk + H_SUM + 8, CSV_BLOCK - H_SUM - 8)) {
		snprintf(err, errlen, "the CSV header fails its checksum");
		return -CM_E_CORRUPT;
	}
	h->version = (uint32_t)cm_le_get(blk + H_VERSION, 4);
	header_fields(blk, h);
	if (h->version != CSV_LAYOUT_VERSION) {
		snprintf(err, errlen, "the CSV '%s' has layout version %u; this clusterd knows %u",
			 h->name, h->version, CSV_LAYOUT_VERSION);
		return -CM_E_VERSION;
	}
	if (cm_le_get(blk + H_BLOCK, 4) != CSV_BLOCK) {
		snprintf(err, errlen, "the CSV header names a block size other than 4096");
		return -CM_E_CORRUPT;
	}
	bad = header_regions_bad(h);
	if (bad) {
		snprintf(err, errlen, "the CSV header describes %s", bad);
		return -CM_E_CORRUPT;
	}
	return 0;
}

enum csv_probe csv_probe(const unsigned char blk[CSV_BLOCK])
{
	if (is_zero(blk, CSV_BLOCK))
		return CSV_PROBE_EMPTY;
	if (memcmp(blk, hdr_magic, 8) == 0 && sealed(blk, H_SUM))
		return CSV_PROBE_OURS;
	return CSV_PROBE_FOREIGN;
}

const char *csv_probe_to_str(enum csv_probe p)
{
	switch (p) {
	case CSV_PROBE_EMPTY:
		return "empty";
	case CSV_PROBE_OURS:
		return "csv";
	case CSV_PROBE_FOREIGN:
		return "foreign";
	}
	return "?";
}

int csv_create_check(const unsigned char blk[CSV_BLOCK], bool force, char *err, size_t errlen)
{
	struct csv_header h;
	char sub[160];
	int rc;

	if (force || csv_probe(blk) == CSV_PROBE_EMPTY)
		return 0;
	rc = csv_header_decode(blk, &h, sub, sizeof(sub));
	if (rc == 0 || rc == -CM_E_VERSION) {
		snprintf(err, errlen, "the LUN already holds the CSV '%s' (cluster uuid %s); use --force to overwrite it",
			 h.name, h.cluster_uuid);
		return -CM_E_EXISTS;
	}
	snprintf(err, errlen, "the LUN holds data this cluster does not recognise (%s); use --force to overwrite it",
		 rc == -CM_E_FOREIGN ? "not a CSV" : sub);
	return -CM_E_FOREIGN;
}

/* --- volume table codec --- */

void csv_table_init(struct csv_table *t)
{
	memset(t, 0, sizeof(*t));
}

int csv_table_copy_of(const struct csv_table *t)
{
	return (int)(t->generation % 2);
}

static void entry_encode(const struct csv_volume *v, unsigned char *e)
{
	memset(e, 0, CSV_ENTRY_BYTES);
	memcpy(e + E_NAME, v->name, CSV_NAME_LEN);
	e[E_NAME + CSV_NAME_LEN - 1] = '\0';
	cm_le_put(e + E_OFF, v->offset, 8);
	cm_le_put(e + E_SIZE, v->size, 8);
	cm_le_put(e + E_GEN, v->generation, 8);
	cm_le_put(e + E_CREATED, v->created_ms, 8);
	cm_le_put(e + E_FLAGS, v->flags, 4);
	seal(e, E_SUM);
}

void csv_table_encode(const struct csv_table *t, unsigned char *buf)
{
	unsigned char *ents = buf + CSV_BLOCK;
	uint32_t n = t->count <= CSV_MAX_VOLUMES ? t->count : CSV_MAX_VOLUMES;

	memset(buf, 0, CSV_TABLE_BYTES);
	for (uint32_t i = 0; i < n; i++)
		entry_encode(&t->vol[i], ents + (size_t)i * CSV_ENTRY_BYTES);
	memcpy(buf, tab_magic, 8);
	cm_le_put(buf + T_VERSION, CSV_LAYOUT_VERSION, 4);
	cm_le_put(buf + T_COPY, (uint64_t)csv_table_copy_of(t), 4);
	cm_le_put(buf + T_GEN, t->generation, 8);
	cm_le_put(buf + T_COUNT, n, 4);
	cm_le_put(buf + T_MAX, CSV_MAX_VOLUMES, 4);
	cm_le_put(buf + T_ESUM, cm_hash64(CM_HASH_INIT, ents, (size_t)n * CSV_ENTRY_BYTES), 8);
	seal(buf, T_SUM);
}

static const char *table_head_bad(const unsigned char *buf, int copy)
{
	uint64_t gen = cm_le_get(buf + T_GEN, 8);

	if (memcmp(buf, tab_magic, 8) != 0)
		return "the table header has no CSVTABLE magic";
	if (!sealed(buf, T_SUM) || !is_zero(buf + T_SUM + 8, CSV_BLOCK - T_SUM - 8))
		return "the table header fails its checksum";
	if (cm_le_get(buf + T_VERSION, 4) != CSV_LAYOUT_VERSION)
		return "the table has another layout version";
	if (cm_le_get(buf + T_COPY, 4) != (uint64_t)copy || gen % 2 != (uint64_t)copy)
		return "the table was written for the other copy";
	if (cm_le_get(buf + T_MAX, 4) != CSV_MAX_VOLUMES || cm_le_get(buf + T_COUNT, 4) > CSV_MAX_VOLUMES)
		return "the table header gives an impossible number of entries";
	return NULL;
}

/* One entry: 0 or -CM_E_CORRUPT with the reason in err. */
static int entry_decode(const unsigned char *e, uint32_t i, int copy, struct csv_volume *v,
			char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	if (!sealed(e, E_SUM)) {
		snprintf(err, errlen, "copy %c: entry %u fails its checksum", copy_letter(copy), i);
		return -CM_E_CORRUPT;
	}
	if (memchr(e + E_NAME, '\0', CSV_NAME_LEN) == NULL) {
		snprintf(err, errlen, "copy %c: entry %u has an unterminated name", copy_letter(copy), i);
		return -CM_E_CORRUPT;
	}
	memcpy(v->name, e + E_NAME, CSV_NAME_LEN);
	v->offset = cm_le_get(e + E_OFF, 8);
	v->size = cm_le_get(e + E_SIZE, 8);
	v->generation = cm_le_get(e + E_GEN, 8);
	v->created_ms = cm_le_get(e + E_CREATED, 8);
	v->flags = (uint32_t)cm_le_get(e + E_FLAGS, 4);
	return 0;
}

int csv_table_decode(const unsigned char *buf, int copy, const struct csv_header *h,
		     struct csv_table *t, char *err, size_t errlen)
{
	const unsigned char *ents = buf + CSV_BLOCK;
	const char *bad;
	uint32_t i;
	int rc;

	csv_table_init(t);
	if (is_zero(buf, CSV_TABLE_BYTES))
		return 1;
	bad = table_head_bad(buf, copy);
	if (bad == NULL && h->max_volumes != CSV_MAX_VOLUMES)
		bad = "the CSV header and the table disagree on the number of entries";
	if (bad) {
		snprintf(err, errlen, "copy %c: %s", copy_letter(copy), bad);
		return -CM_E_CORRUPT;
	}
	t->generation = cm_le_get(buf + T_GEN, 8);
	t->count = (uint32_t)cm_le_get(buf + T_COUNT, 4);
	for (i = 0; i < t->count; i++) {
		rc = entry_decode(ents + (size_t)i * CSV_ENTRY_BYTES, i, copy, &t->vol[i], err, errlen);
		if (rc < 0)
			goto out;
	}
	for (; i < CSV_MAX_VOLUMES; i++) {
		if (!is_zero(ents + (size_t)i * CSV_ENTRY_BYTES, CSV_ENTRY_BYTES)) {
			snprintf(err, errlen, "copy %c: unused entry %u is not blank", copy_letter(copy), i);
			rc = -CM_E_CORRUPT;
			goto out;
		}
	}
	/* each entry may be sound on its own yet belong to another write */
	if (cm_le_get(buf + T_ESUM, 8) != cm_hash64(CM_HASH_INIT, ents, (size_t)t->count * CSV_ENTRY_BYTES)) {
		snprintf(err, errlen, "copy %c: the entries do not match the table header (torn write)",
			 copy_letter(copy));
		rc = -CM_E_CORRUPT;
		goto out;
	}
	return 0;
out:
	csv_table_init(t);
	return rc;
}

static int vol_check(const struct csv_header *h, const struct csv_table *t, uint32_t i, char *err, size_t errlen)
{
	const struct csv_volume *v = &t->vol[i];
	const char *bad = NULL;

	if (memchr(v->name, '\0', sizeof(v->name)) == NULL || !cm_name_is_valid(v->name)) {
		snprintf(err, errlen, "entry %u has an invalid name", i);
		return -CM_E_CORRUPT;
	}
	if (v->size == 0 || v->offset % h->align || v->size % h->align)
		bad = "is empty or not aligned";
	else if (v->offset < h->data_off || v->size > h->data_end || v->offset > h->data_end - v->size)
		bad = "lies outside the data area";
	else if (v->generation > t->generation)
		bad = "is newer than its table";
	if (bad) {
		snprintf(err, errlen, "entry %u ('%s', offset %llu, size %llu) %s", i, v->name,
			 (unsigned long long)v->offset, (unsigned long long)v->size, bad);
		return -CM_E_CORRUPT;
	}
	return 0;
}

int csv_table_check(const struct csv_header *h, const struct csv_table *t, char *err, size_t errlen)
{
	uint32_t i, j;
	int rc;

	if (t->count > h->max_volumes || t->count > CSV_MAX_VOLUMES) {
		snprintf(err, errlen, "the table has %u entries; at most %u fit", t->count, CSV_MAX_VOLUMES);
		return -CM_E_CORRUPT;
	}
	for (i = 0; i < t->count; i++) {
		rc = vol_check(h, t, i, err, errlen);
		if (rc < 0)
			return rc;
	}
	/* sorted by offset, so an overlap shows between neighbours */
	for (i = 1; i < t->count; i++) {
		const struct csv_volume *a = &t->vol[i - 1], *b = &t->vol[i];

		if (b->offset < a->offset + a->size) {
			snprintf(err, errlen, "entries %u ('%s') and %u ('%s') overlap or are out of order",
				 i - 1, a->name, i, b->name);
			return -CM_E_CORRUPT;
		}
	}
	for (i = 0; i < t->count; i++)
		for (j = i + 1; j < t->count; j++)
			if (strcmp(t->vol[i].name, t->vol[j].name) == 0) {
				snprintf(err, errlen, "entries %u and %u are both named '%s'", i, j, t->vol[i].name);
				return -CM_E_CORRUPT;
			}
	return 0;
}

static int pick_copy(const int rc[2], const uint64_t gen[2])
{
	if (rc[0] == 0 && rc[1] == 0)
		return gen[1] > gen[0] ? 1 : 0;
	return rc[0] == 0 ? 0 : rc[1] == 0 ? 1 : -1;
}

int csv_table_load(const struct csv_header *h, const unsigned char *copy_a, const unsigned char *copy_b,
		   struct csv_table *t, int *which, char *note, size_t notelen, char *err, size_t errlen)
{
	char why[2][200] = { "", "" };
	const unsigned char *buf[2] = { copy_a, copy_b };
	uint64_t gen[2] = { 0, 0 };
	int rc[2], c, other;
	char sub[200];

	if (notelen)
		note[0] = '\0';
	for (c = 0; c < 2; c++) {
		rc[c] = csv_table_decode(buf[c], c, h, t, why[c], sizeof(why[c]));
		gen[c] = t->generation;
		if (rc[c] == 1)
			snprintf(why[c], sizeof(why[c]), "copy %c: never written", copy_letter(c));
	}
	c = pick_copy(rc, gen);
	if (c < 0) {
		snprintf(err, errlen, "no usable volume table: %s; %s", why[0], why[1]);
		csv_table_init(t);
		return -CM_E_CORRUPT;
	}
	other = 1 - c;
	csv_table_decode(buf[c], c, h, t, sub, sizeof(sub));
	if (csv_table_check(h, t, sub, sizeof(sub)) < 0) {
		snprintf(err, errlen, "copy %c (generation %llu): %s", copy_letter(c),
			 (unsigned long long)t->generation, sub);
		csv_table_init(t);
		return -CM_E_CORRUPT;
	}
	if (rc[other] < 0 && notelen)
		snprintf(note, notelen, "using copy %c (generation %llu); passed over %s", copy_letter(c),
			 (unsigned long long)t->generation, why[other]);
	*which = c;
	return 0;
}

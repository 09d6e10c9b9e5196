/* csv_io.c - the CSV LUN's blocks through wit_scsi (see csv_io.h), and the
 * text form of a volume table.
 *
 * Owns the write order: format writes the tables before the header; a
 * commit re-reads the LUN first and writes only the copy not in use, so a
 * crash or a rival coordinator never destroys the table readers rely on.
 * Must never: run on clusterd's main loop, log, or repair anything (a
 * damaged structure is reported; the decision is the operator's). The
 * text functions at the bottom are pure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_prop.h"
#include "cm_str.h"
#include "csv_io.h"

/* what a short sub-sentence from csv_layout may need */
#define SUB_LEN 256

static void say(char *err, size_t errlen, const struct wit_lun *l, const char *sub)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", wit_lun_name(l), sub);
}

static bool is_zero(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static unsigned long long mib(uint64_t bytes)
{
	return (unsigned long long)(bytes >> 20);
}

static char letter(int copy)
{
	return copy ? 'B' : 'A';
}

const char *csv_io_op_to_str(enum csv_io_op op)
{
	switch (op) {
	case CSV_IO_CREATE:
		return "create";
	case CSV_IO_DELETE:
		return "delete";
	case CSV_IO_RESIZE:
		return "resize";
	}
	return "?";
}

int csv_io_op_from_str(const char *s)
{
	if (s == NULL)
		return -CM_E_VALUE;
	if (strcmp(s, "create") == 0)
		return CSV_IO_CREATE;
	if (strcmp(s, "delete") == 0)
		return CSV_IO_DELETE;
	if (strcmp(s, "resize") == 0)
		return CSV_IO_RESIZE;
	return -CM_E_VALUE;
}

/* The layout works in 4 KiB blocks: the LUN's logical block must divide it. */
static int block_check(struct wit_lun *l, char *err, size_t errlen)
{
	uint32_t b = wit_lun_block(l);

	if (b == 0 || CSV_BLOCK % b != 0) {
		char sub[SUB_LEN];

		snprintf(sub, sizeof(sub), "logical block size %u does not divide the CSV block of %u bytes",
			 b, CSV_BLOCK);
		say(err, errlen, l, sub);
		return -CM_E_ARGS;
	}
	return 0;
}

static int read_block0(struct wit_lun *l, unsigned char blk[CSV_BLOCK], char *err, size_t errlen)
{
	int rc = block_check(l, err, errlen);

	if (rc == 0)
		rc = wit_lun_read(l, 0, blk, CSV_BLOCK, err, errlen);
	return rc;
}

int csv_io_probe(struct wit_lun *l, enum csv_probe *p, struct csv_header *h, char *err, size_t errlen)
{
	unsigned char blk[CSV_BLOCK];
	struct csv_header tmp;
	char sub[SUB_LEN];
	int rc;

	if (h)
		memset(h, 0, sizeof(*h));
	*p = CSV_PROBE_FOREIGN;
	rc = read_block0(l, blk, err, errlen);
	if (rc < 0)
		return rc;
	*p = csv_probe(blk);
	if (*p != CSV_PROBE_OURS)
		return 0;
	/* sealed, yet maybe another version or impossible regions */
	rc = csv_header_decode(blk, h ? h : &tmp, sub, sizeof(sub));
	if (rc < 0)
		say(err, errlen, l, sub);
	return rc;
}

/* a uuid goes into 40 bytes of the header; keep it to what clusterd makes */
static int uuid_check(const char *u, char *err, size_t errlen)
{
	size_t n = u ? strlen(u) : 0;

	if (n == 0 || n >= 40 || strspn(u, "0123456789abcdefABCDEF-") != n) {
		snprintf(err, errlen, "cluster uuid '%s' is not 1..39 hexadecimal digits and dashes",
			 u ? u : "");
		return -CM_E_ARGS;
	}
	return 0;
}

int csv_io_format(struct wit_lun *l, const char *cluster_uuid, const char *name, bool force,
		  int64_t now_ms, struct csv_header *out, char *err, size_t errlen)
{
	unsigned char blk[CSV_BLOCK], *tab = NULL;
	struct csv_table *t = NULL;
	struct csv_header h;
	char sub[SUB_LEN];
	int rc;

	if (out)
		memset(out, 0, sizeof(*out));
	rc = uuid_check(cluster_uuid, sub, sizeof(sub));
	if (rc < 0) {
		say(err, errlen, l, sub);
		return rc;
	}
	rc = read_block0(l, blk, err, errlen);
	if (rc < 0)
		return rc;
	rc = csv_create_check(blk, force, sub, sizeof(sub));
	if (rc == 0)
		rc = csv_header_init(&h, cluster_uuid, name, wit_lun_bytes(l), (uint64_t)now_ms, sub, sizeof(sub));
	if (rc < 0) {
		say(err, errlen, l, sub);
		return rc;
	}
	tab = malloc(CSV_TABLE_BYTES);
	t = malloc(sizeof(*t));
	if (tab == NULL || t == NULL) {
		say(err, errlen, l, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	/* an old header (forced) goes first: until the new one is sealed the
	 * LUN must not look like a CSV whose tables are being replaced */
	if (!is_zero(blk, CSV_BLOCK)) {
		memset(blk, 0, CSV_BLOCK);
		rc = wit_lun_write(l, 0, blk, CSV_BLOCK, err, errlen);
		if (rc < 0)
			goto out;
	}
	csv_table_init(t); /* generation 0: copy A */
	csv_table_encode(t, tab);
	rc = wit_lun_write(l, h.table_off[0], tab, CSV_TABLE_BYTES, err, errlen);
	if (rc < 0)
		goto out;
	memset(tab, 0, CSV_TABLE_BYTES); /* copy B: never written */
	rc = wit_lun_write(l, h.table_off[1], tab, CSV_TABLE_BYTES, err, errlen);
	if (rc < 0)
		goto out;
	csv_header_encode(&h, blk);
	rc = wit_lun_write(l, 0, blk, CSV_BLOCK, err, errlen);
	if (rc == 0 && out)
		*out = h;
out:
	free(tab);
	free(t);
	return rc;
}

/* --- load --- */

struct load_buf {
	unsigned char blk[CSV_BLOCK];
	unsigned char tab[2][CSV_TABLE_BYTES];
	struct csv_table one; /* each copy on its own, for the report */
};

static void describe_copy(struct cm_sb *rep, const struct csv_header *h, struct load_buf *b, int c,
			  struct csv_io_seen *seen)
{
	char sub[SUB_LEN];
	int rc = csv_table_decode(b->tab[c], c, h, &b->one, sub, sizeof(sub));

	seen->copy_rc[c] = rc;
	if (rc == 1) {
		cm_sb_printf(rep, "copy %c: never written\n", letter(c));
		return;
	}
	if (rc < 0) {
		cm_sb_printf(rep, "%s\n", sub); /* the sentence names the copy */
		return;
	}
	cm_sb_printf(rep, "copy %c: generation %llu, %u volume%s", letter(c),
		     (unsigned long long)b->one.generation, b->one.count, b->one.count == 1 ? "" : "s");
	if (csv_table_check(h, &b->one, sub, sizeof(sub)) < 0) {
		cm_sb_printf(rep, ", inconsistent: %s\n", sub);
	} else {
		cm_sb_puts(rep, ", consistent\n");
		seen->copy_consistent[c] = true;
	}
}

static void put_report(struct cm_sb *rep, char *report, size_t rlen)
{
	size_t n;

	if (report == NULL || rlen == 0)
		return;
	cm_strlcpy(report, cm_sb_str(rep), rlen);
	n = strlen(report);
	if (n && report[n - 1] == '\n')
		report[n - 1] = '\0';
}

static int load_into(struct wit_lun *l, struct load_buf *b, struct csv_header *h, struct csv_table *t,
		     struct csv_io_seen *seen, struct cm_sb *rep, char *err, size_t errlen)
{
	char sub[SUB_LEN], note[SUB_LEN * 2], why[SUB_LEN * 3];
	uint64_t actual = wit_lun_bytes(l);
	int rc, c, which = 0;

	memset(h, 0, sizeof(*h));
	csv_table_init(t);
	memset(seen, 0, sizeof(*seen));
	seen->used = -1;
	rc = read_block0(l, b->blk, err, errlen);
	if (rc < 0)
		return rc;
	if (is_zero(b->blk, CSV_BLOCK)) {
		cm_sb_puts(rep, "header: block 0 is blank (no CSV)\n");
		say(err, errlen, l, "the LUN holds no CSV (block 0 is blank)");
		return -CM_E_FOREIGN;
	}
	rc = csv_header_decode(b->blk, h, sub, sizeof(sub));
	if (rc < 0) {
		cm_sb_printf(rep, "header: %s\n", sub);
		say(err, errlen, l, sub);
		return rc;
	}
	cm_sb_printf(rep, "header: CSV '%s', cluster uuid %s, LUN %llu MiB, data area %llu..%llu MiB, created %llu ms\n",
		     h->name, h->cluster_uuid, mib(h->lun_bytes), mib(h->data_off), mib(h->data_end),
		     (unsigned long long)h->created_ms);
	seen->header_ok = true;
	if (actual < h->data_end) {
		snprintf(sub, sizeof(sub), "the LUN has %llu MiB now, less than the end of the CSV's data area (%llu MiB)",
			 mib(actual), mib(h->data_end));
		cm_sb_printf(rep, "lun: %s\n", sub);
		say(err, errlen, l, sub);
		return -CM_E_SMALL;
	}
	if (actual != h->lun_bytes)
		cm_sb_printf(rep, "lun: %llu MiB now, %llu MiB when formatted (the data area keeps its size)\n",
			     mib(actual), mib(h->lun_bytes));
	for (c = 0; c < 2; c++) {
		rc = wit_lun_read(l, h->table_off[c], b->tab[c], CSV_TABLE_BYTES, err, errlen);
		if (rc < 0)
			return rc;
	}
	for (c = 0; c < 2; c++)
		describe_copy(rep, h, b, c, seen);
	rc = csv_table_load(h, b->tab[0], b->tab[1], t, &which, note, sizeof(note), why, sizeof(why));
	if (rc < 0) {
		cm_sb_printf(rep, "table: %s\n", why);
		say(err, errlen, l, why);
		return rc;
	}
	seen->used = which;
	cm_sb_printf(rep, "using copy %c (generation %llu, %u volume%s)\n", letter(which),
		     (unsigned long long)t->generation, t->count, t->count == 1 ? "" : "s");
	if (note[0])
		cm_sb_printf(rep, "note: %s\n", note);
	return 0;
}

bool csv_io_seen_damaged(const struct csv_io_seen *seen)
{
	if (!seen->header_ok)
		return true;
	for (int c = 0; c < 2; c++)
		if (seen->copy_rc[c] < 0 || (seen->copy_rc[c] == 0 && !seen->copy_consistent[c]))
			return true;
	return false;
}

int csv_io_load(struct wit_lun *l, struct csv_header *h, struct csv_table *t, char *report,
		size_t rlen, char *err, size_t errlen)
{
	return csv_io_inspect(l, h, t, NULL, report, rlen, err, errlen);
}

int csv_io_inspect(struct wit_lun *l, struct csv_header *h, struct csv_table *t, struct csv_io_seen *seen,
		   char *report, size_t rlen, char *err, size_t errlen)
{
	struct load_buf *b = malloc(sizeof(*b));
	struct csv_io_seen dummy;
	struct cm_sb rep;
	int rc;

	if (report && rlen)
		report[0] = '\0';
	if (seen) {
		memset(seen, 0, sizeof(*seen));
		seen->used = -1;
	}
	if (b == NULL) {
		memset(h, 0, sizeof(*h));
		csv_table_init(t);
		say(err, errlen, l, "out of memory");
		return -ENOMEM;
	}
	cm_sb_init(&rep);
	rc = load_into(l, b, h, t, seen ? seen : &dummy, &rep, err, errlen);
	put_report(&rep, report, rlen);
	cm_sb_free(&rep);
	free(b);
	return rc;
}

/* --- commit --- */

static bool same_header(const struct csv_header *a, const struct csv_header *b)
{
	unsigned char x[CSV_BLOCK], y[CSV_BLOCK];

	csv_header_encode(a, x);
	csv_header_encode(b, y);
	return memcmp(x, y, CSV_BLOCK) == 0;
}

int csv_io_commit(struct wit_lun *l, const struct csv_header *h, struct csv_table *t,
		  uint64_t expected_gen, char *err, size_t errlen)
{
	struct load_buf *b = malloc(sizeof(*b));
	struct csv_table *disk = malloc(sizeof(*disk)), *next = malloc(sizeof(*next));
	struct csv_io_seen seen;
	struct csv_header dh;
	struct cm_sb rep;
	char sub[SUB_LEN * 2];
	int rc, copy;

	cm_sb_init(&rep);
	if (b == NULL || disk == NULL || next == NULL) {
		say(err, errlen, l, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	/* the generation written is always the one after the table it was
	 * based on, so copies alternate even if the caller bumped it twice */
	*next = *t;
	next->generation = expected_gen + 1;
	for (uint32_t i = 0; i < next->count && i < CSV_MAX_VOLUMES; i++)
		if (next->vol[i].generation > expected_gen)
			next->vol[i].generation = next->generation;
	rc = csv_table_check(h, next, sub, sizeof(sub));
	if (rc < 0) {
		char s2[SUB_LEN * 3];

		snprintf(s2, sizeof(s2), "refusing to write volume table generation %llu: %s",
			 (unsigned long long)next->generation, sub);
		say(err, errlen, l, s2);
		goto out;
	}
	rc = load_into(l, b, &dh, disk, &seen, &rep, err, errlen);
	if (rc < 0)
		goto out;
	if (!same_header(h, &dh)) {
		snprintf(sub, sizeof(sub), "the CSV header changed on disk (now CSV '%s', cluster uuid %s, created %llu ms): reformatted?",
			 dh.name, dh.cluster_uuid, (unsigned long long)dh.created_ms);
		say(err, errlen, l, sub);
		rc = -CM_E_STATE;
		goto out;
	}
	if (disk->generation != expected_gen) {
		snprintf(sub, sizeof(sub), "the volume table changed on disk (generation %llu, expected %llu): another coordinator?",
			 (unsigned long long)disk->generation, (unsigned long long)expected_gen);
		say(err, errlen, l, sub);
		rc = -CM_E_STATE;
		goto out;
	}
	copy = csv_table_copy_of(next);
	csv_table_encode(next, b->tab[copy]);
	rc = wit_lun_write(l, h->table_off[copy], b->tab[copy], CSV_TABLE_BYTES, err, errlen);
	if (rc == 0)
		*t = *next;
out:
	cm_sb_free(&rep);
	free(b);
	free(disk);
	free(next);
	return rc;
}

/* --- apply --- */

int csv_io_apply(struct wit_lun *l, const struct csv_header *h, enum csv_io_op op, const char *vol,
		 uint64_t size, uint32_t flags, int64_t now_ms, struct csv_table *out, char *err,
		 size_t errlen)
{
	struct csv_table *cur = malloc(sizeof(*cur)), *next = malloc(sizeof(*next));
	struct csv_header dh;
	char sub[SUB_LEN * 2];
	int rc;

	if (cur == NULL || next == NULL) {
		say(err, errlen, l, "out of memory");
		rc = -ENOMEM;
		goto out;
	}
	rc = csv_io_load(l, &dh, cur, NULL, 0, err, errlen);
	if (rc < 0)
		goto out;
	if (out)
		*out = *cur;
	if (h && !same_header(h, &dh)) {
		snprintf(sub, sizeof(sub), "the CSV header changed on disk (now CSV '%s', cluster uuid %s, created %llu ms): reformatted?",
			 dh.name, dh.cluster_uuid, (unsigned long long)dh.created_ms);
		say(err, errlen, l, sub);
		rc = -CM_E_STATE;
		goto out;
	}
	*next = *cur;
	switch (op) {
	case CSV_IO_CREATE:
		rc = csv_vol_create(&dh, next, vol ? vol : "", size, flags, (uint64_t)now_ms, err, errlen);
		break;
	case CSV_IO_DELETE:
		rc = csv_vol_delete(next, vol ? vol : "", err, errlen);
		break;
	case CSV_IO_RESIZE:
		rc = csv_vol_resize(&dh, next, vol ? vol : "", size, err, errlen);
		break;
	default:
		snprintf(err, errlen, "unknown volume operation %d", (int)op);
		rc = -CM_E_ARGS;
		break;
	}
	if (rc < 0)
		goto out; /* refused: nothing written, out holds the current table */
	if (next->generation == cur->generation)
		goto out; /* no change (a resize to the same size) */
	rc = csv_io_commit(l, &dh, next, cur->generation, err, errlen);
	if (rc == 0 && out)
		*out = *next;
out:
	free(cur);
	free(next);
	return rc;
}

/* --- text form (pure) --- */

char *csv_table_to_text(const struct csv_table *t)
{
	uint32_t n = t->count <= CSV_MAX_VOLUMES ? t->count : CSV_MAX_VOLUMES;
	struct cm_sb sb;

	cm_sb_init(&sb);
	cm_sb_printf(&sb, "gen %llu count %u\n", (unsigned long long)t->generation, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct csv_volume *v = &t->vol[i];

		cm_sb_printf(&sb, "%s %llu %llu %llu %llu %u\n", v->name, (unsigned long long)v->offset,
			     (unsigned long long)v->size, (unsigned long long)v->generation,
			     (unsigned long long)v->created_ms, v->flags);
	}
	return cm_sb_steal(&sb);
}

/* Decimal without sign, blanks or leading zeros, at most max. */
static bool parse_dec(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned)(*s - '0');
		if (x > (max - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* Split line in place at single spaces into exactly n fields. */
static bool split(char *line, char **f, int n)
{
	int i = 0;

	f[i++] = line;
	for (char *p = line; *p; p++) {
		if (*p != ' ')
			continue;
		if (i == n)
			return false;
		*p = '\0';
		f[i++] = p + 1;
	}
	if (i != n)
		return false;
	for (i = 0; i < n; i++)
		if (f[i][0] == '\0')
			return false;
	return true;
}

static int parse_head(char *line, struct csv_table *t, uint64_t *count, char *err, size_t errlen)
{
	char *f[4];

	if (!split(line, f, 4) || strcmp(f[0], "gen") != 0 || strcmp(f[2], "count") != 0 ||
	    !parse_dec(f[1], UINT64_MAX, &t->generation) || !parse_dec(f[3], CSV_MAX_VOLUMES, count)) {
		snprintf(err, errlen, "volume table text, line 1: expected 'gen G count N' (N at most %u)",
			 CSV_MAX_VOLUMES);
		return -CM_E_PROTO;
	}
	return 0;
}

static int parse_vol(char *line, unsigned lineno, struct csv_table *t, char *err, size_t errlen)
{
	struct csv_volume *v = &t->vol[t->count];
	const char *bad = NULL;
	uint64_t flags = 0;
	char *f[6];

	memset(v, 0, sizeof(*v));
	if (!split(line, f, 6) || !parse_dec(f[1], UINT64_MAX, &v->offset) ||
	    !parse_dec(f[2], UINT64_MAX, &v->size) || !parse_dec(f[3], UINT64_MAX, &v->generation) ||
	    !parse_dec(f[4], UINT64_MAX, &v->created_ms) || !parse_dec(f[5], UINT32_MAX, &flags))
		bad = "expected 'NAME OFFSET SIZE GENERATION CREATED_MS FLAGS' in decimal";
	else if (!cm_name_is_valid(f[0]))
		bad = "invalid volume name";
	else if (v->size == 0 || v->size > UINT64_MAX - v->offset)
		bad = "size is 0 or the volume runs past the end of the address space";
	else if (v->generation > t->generation)
		bad = "the volume is newer than its table";
	else if (csv_vol_find(t, f[0]) >= 0)
		bad = "duplicate volume name";
	else if (t->count > 0 && v->offset < t->vol[t->count - 1].offset + t->vol[t->count - 1].size)
		bad = "overlaps the previous volume or is out of offset order";
	if (bad) {
		snprintf(err, errlen, "volume table text, line %u: %s", lineno, bad);
		return -CM_E_PROTO;
	}
	cm_strlcpy(v->name, f[0], sizeof(v->name));
	v->flags = (uint32_t)flags;
	t->count++;
	return 0;
}

int csv_table_from_text(const char *s, struct csv_table *t, char *err, size_t errlen)
{
	uint64_t count = 0;
	unsigned lineno = 0;
	char *copy, *line, *nl;
	size_t len;
	int rc = 0;

	csv_table_init(t);
	len = s ? strlen(s) : 0;
	if (len == 0 || s[len - 1] != '\n') {
		snprintf(err, errlen, "volume table text is empty or does not end in a newline");
		return -CM_E_PROTO;
	}
	copy = malloc(len + 1);
	if (copy == NULL) {
		snprintf(err, errlen, "volume table text: out of memory");
		return -ENOMEM;
	}
	memcpy(copy, s, len + 1);
	for (line = copy; *line; line = nl + 1) {
		nl = strchr(line, '\n'); /* present: the text ends in one */
		*nl = '\0';
		lineno++;
		if (lineno == 1) {
			rc = parse_head(line, t, &count, err, errlen);
		} else if (t->count >= count) {
			snprintf(err, errlen, "volume table text, line %u: more volumes than the count of %llu",
				 lineno, (unsigned long long)count);
			rc = -CM_E_PROTO;
		} else {
			rc = parse_vol(line, lineno, t, err, errlen);
		}
		if (rc < 0)
			goto out;
	}
	if (t->count != count) {
		snprintf(err, errlen, "volume table text: %u volumes where the count says %llu", t->count,
			 (unsigned long long)count);
		rc = -CM_E_PROTO;
	}
out:
	free(copy);
	if (rc < 0)
		csv_table_init(t);
	return rc;
}

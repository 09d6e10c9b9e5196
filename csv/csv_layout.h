/* csv_layout.h - the on-disk layout of a cluster shared volume (CSV) LUN and
 * the allocation of named volumes in its data area. Pure: encode, decode and
 * change tables in memory; no I/O, no clock, no globals. The coordinator
 * reads and writes the blocks; this file decides what they hold.
 *
 *   offset          size        what
 *   0               4 KiB       header (magic "CLUSTCSV", sealed)
 *   64 KiB          36 KiB      volume table copy A (table_off[0])
 *   128 KiB         36 KiB      volume table copy B (table_off[1])
 *   1 MiB           ...         data area, 1 MiB aligned, up to data_end
 *                               (the LUN size rounded down to 1 MiB)
 *
 * A table copy is a 4 KiB table header then CSV_MAX_VOLUMES entries of 128
 * bytes (32 KiB). Table generation g always lives in copy g % 2, so every
 * change alternates copies: a writer that dies mid-write leaves the other
 * copy intact, and readers take the valid copy with the highest generation.
 * All integers little-endian; every header and entry ends in an FNV-64
 * checksum of the bytes before it, and the table header also seals the
 * `count` used entries as a whole (the unused slots must be zero), so a torn
 * write is detected even when each 512-byte sector on its own looks fine.
 */
#ifndef CSV_LAYOUT_H
#define CSV_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSV_BLOCK 4096u
#define CSV_LAYOUT_VERSION 1u
#define CSV_MAX_VOLUMES 256u
#define CSV_ENTRY_BYTES 128u
#define CSV_TABLE_BYTES (CSV_BLOCK + CSV_MAX_VOLUMES * CSV_ENTRY_BYTES) /* one copy: 36 KiB */
#define CSV_TABLE_A_OFF (64u * 1024)
#define CSV_TABLE_B_OFF (128u * 1024)
#define CSV_ALIGN (1024u * 1024)
#define CSV_DATA_OFF CSV_ALIGN
#define CSV_MIN_LUN_BYTES (2ull * CSV_ALIGN) /* header, tables and one aligned unit */
#define CSV_NAME_LEN 64                      /* bytes including the NUL */

struct csv_header {
	uint32_t version;
	char cluster_uuid[40];
	char name[CSV_NAME_LEN];     /* the CSV's name in the cluster */
	uint64_t lun_bytes;
	uint64_t table_off[2];
	uint64_t table_size;         /* bytes reserved for each copy */
	uint32_t max_volumes;
	uint64_t data_off, data_end; /* data area [data_off, data_end) */
	uint64_t align;
	uint64_t created_ms;
};

/* Volume flags: opaque to the layout, kept for the daemon. */
#define CSV_VF_SAVED_STATE 0x1u      /* holds a VM's saved (quick-migration) state */

struct csv_volume {
	char name[CSV_NAME_LEN];
	uint64_t offset, size;       /* bytes from the start of the LUN; aligned */
	uint64_t generation;         /* table generation of its last change */
	uint64_t created_ms;
	uint32_t flags;
};

/* A decoded table. Volumes are kept sorted by offset. */
struct csv_table {
	uint64_t generation;
	uint32_t count;
	struct csv_volume vol[CSV_MAX_VOLUMES];
};

struct csv_extent {
	uint64_t offset, size;
};

enum csv_probe {
	CSV_PROBE_EMPTY,             /* block 0 is all zero */
	CSV_PROBE_OURS,              /* a sealed CSV header (any version) */
	CSV_PROBE_FOREIGN            /* anything else, a damaged CSV header included */
};

/* --- header --- */

/* A header for a LUN of lun_bytes: -CM_E_NAME (bad CSV name), -CM_E_SMALL
 * (LUN too small), with a sentence in err. */
int csv_header_init(struct csv_header *h, const char *cluster_uuid, const char *name,
		    uint64_t lun_bytes, uint64_t now_ms, char *err, size_t errlen);
void csv_header_encode(const struct csv_header *h, unsigned char blk[CSV_BLOCK]);
/* 0; -CM_E_FOREIGN (no magic), -CM_E_CORRUPT (checksum or regions),
 * -CM_E_VERSION (another layout version). */
int csv_header_decode(const unsigned char blk[CSV_BLOCK], struct csv_header *h, char *err, size_t errlen);

enum csv_probe csv_probe(const unsigned char blk[CSV_BLOCK]);
const char *csv_probe_to_str(enum csv_probe p);
/* May `csv create` write a new CSV over this block 0? 0 if empty or force;
 * -CM_E_EXISTS if it already holds a CSV; -CM_E_FOREIGN for anything else;
 * the sentence says what is there and mentions --force. */
int csv_create_check(const unsigned char blk[CSV_BLOCK], bool force, char *err, size_t errlen);

/* --- volume table --- */

/* An empty table (generation 0, so it goes to copy A). */
void csv_table_init(struct csv_table *t);
/* The copy (0 = A, 1 = B) a table of this generation is written to. */
int csv_table_copy_of(const struct csv_table *t);
/* buf holds CSV_TABLE_BYTES; unused entry slots are zero. */
void csv_table_encode(const struct csv_table *t, unsigned char *buf);
/* Decode copy `copy` (0/1) read from h->table_off[copy]: 0, 1 if the copy
 * was never written (all zero), -CM_E_CORRUPT with a sentence naming the
 * copy, the entry and what is wrong. Checks checksums and the framing only;
 * csv_table_check judges the contents. Never repairs. */
int csv_table_decode(const unsigned char *buf, int copy, const struct csv_header *h,
		     struct csv_table *t, char *err, size_t errlen);
/* Entries inside the data area, aligned, sorted, not overlapping, valid and
 * unique names, generations not newer than the table. 0 or -CM_E_CORRUPT. */
int csv_table_check(const struct csv_header *h, const struct csv_table *t, char *err, size_t errlen);
/* Decode both copies and take the valid one with the highest generation,
 * then check it. *which gets the copy used; note (may be empty) tells why the
 * other copy was passed over. -CM_E_CORRUPT if no copy is usable or the
 * chosen one fails its check: a damaged newest table is never silently
 * replaced by an older one. */
int csv_table_load(const struct csv_header *h, const unsigned char *copy_a, const unsigned char *copy_b,
		   struct csv_table *t, int *which, char *note, size_t notelen, char *err, size_t errlen);

/* --- allocation (on a checked table; every change bumps the table's
 * generation and stamps it on the changed entry) --- */

int csv_vol_find(const struct csv_table *t, const char *name); /* index or -1 */
/* size is rounded up to h->align. First fit, lowest offset. -CM_E_NAME,
 * -CM_E_ARGS (size 0), -CM_E_EXISTS, -CM_E_SMALL (no extent large enough,
 * or the table is full; the sentence gives the free space). */
int csv_vol_create(const struct csv_header *h, struct csv_table *t, const char *name, uint64_t size,
		   uint32_t flags, uint64_t now_ms, char *err, size_t errlen);
int csv_vol_delete(struct csv_table *t, const char *name, char *err, size_t errlen); /* 0, -CM_E_NO_OBJECT */
/* Shrink always; grow in place into the following gap; else -CM_E_SMALL.
 * Volumes never move: a running VM's disk stays where it is. */
int csv_vol_resize(const struct csv_header *h, struct csv_table *t, const char *name, uint64_t size,
		   char *err, size_t errlen);
/* Free extents in offset order; returns how many (at most count + 1), fills
 * at most max of them. */
size_t csv_free_list(const struct csv_header *h, const struct csv_table *t, struct csv_extent *out, size_t max);
uint64_t csv_free_total(const struct csv_header *h, const struct csv_table *t);
uint64_t csv_free_largest(const struct csv_header *h, const struct csv_table *t);

#endif

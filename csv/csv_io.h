/* csv_io.h - blocking operations on a CSV LUN through the witness's libiscsi
 * adapter (wit_scsi), plus the text form of a volume table that clusterd
 * replicates.
 *
 * Owns: the order of reads and writes that keeps the LUN sound (format
 * writes the tables before the header; a commit re-reads the table and
 * refuses when someone else changed it; every write is FUA).
 * Must never: run on clusterd's main loop (each call blocks for up to a few
 * times the handle's timeout: run it in csv_worker or a tool), log, repair
 * a damaged structure, or share a handle between threads.
 *
 * Errors: 0, -errno, or -CM_E_* with one sentence naming the LUN in err.
 */
#ifndef CSV_IO_H
#define CSV_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csv_layout.h"
#include "wit_scsi.h"

enum csv_io_op {
	CSV_IO_CREATE = 1,
	CSV_IO_DELETE = 2,
	CSV_IO_RESIZE = 3
};

const char *csv_io_op_to_str(enum csv_io_op op);   /* "create", "delete", "resize" */
int csv_io_op_from_str(const char *s);              /* op or -CM_E_VALUE */

/**
 * Read block 0 and say what it holds.
 * @param[out] p  empty, ours (a sealed CSV header) or foreign
 * @param[out] h  the header when ours (may be NULL); zeroed otherwise
 * @return 0; a transport error; or, when the block is ours but cannot be
 *         used (-CM_E_VERSION, -CM_E_CORRUPT regions), that code with *p
 *         set to CSV_PROBE_OURS and the sentence in err
 */
int csv_io_probe(struct wit_lun *l, enum csv_probe *p, struct csv_header *h, char *err, size_t errlen);

/**
 * Write a new, empty CSV: zero block 0 if it held anything (force), write
 * table copy A (generation 0, empty; the layout puts generation g in copy
 * g % 2) and a blank copy B, then the header LAST, so a crash part-way
 * leaves no valid header. Volume data is not touched.
 * @param[in]  force  overwrite another CSV or foreign data
 * @param[out] out    the header written (may be NULL)
 * @return 0, -CM_E_EXISTS / -CM_E_FOREIGN (csv_create_check's sentence),
 *         -CM_E_SMALL (LUN too small), -CM_E_NAME, -CM_E_ARGS (bad uuid,
 *         or a LUN block size that does not divide 4096), transport errors
 */
int csv_io_format(struct wit_lun *l, const char *cluster_uuid, const char *name, bool force,
		  int64_t now_ms, struct csv_header *out, char *err, size_t errlen);

/**
 * Read and check the header and both table copies; never writes.
 * @param[out] h       the header (zeroed if it cannot be decoded)
 * @param[out] t       the table in use (empty on error)
 * @param[out] report  read-only account, one line each: header, copy A,
 *                     copy B, which copy is used, notes such as "passed over
 *                     copy B: ...". Filled on success and on error.
 * @return 0, -CM_E_FOREIGN (no CSV), -CM_E_CORRUPT, -CM_E_VERSION (the
 *         csv_layout codes), -CM_E_SMALL (the LUN shrank below the data
 *         area), transport errors
 */
int csv_io_load(struct wit_lun *l, struct csv_header *h, struct csv_table *t, char *report,
		size_t rlen, char *err, size_t errlen);

/** What csv_io_inspect saw, for tools that judge more strictly than a
 * coordinator does. */
struct csv_io_seen {
	bool header_ok;              /* decoded; h is valid */
	int copy_rc[2];              /* csv_table_decode: 0, 1 never written, < 0 damaged */
	bool copy_consistent[2];     /* decoded and passes csv_table_check */
	int used;                    /* copy in use; -1 if none */
};

/** csv_io_load, also telling what each copy held (seen may be NULL). A
 * usable table with the other copy damaged is 0 here (a torn write is
 * expected after a crash mid-commit); seen tells the difference. */
int csv_io_inspect(struct wit_lun *l, struct csv_header *h, struct csv_table *t, struct csv_io_seen *seen,
		   char *report, size_t rlen, char *err, size_t errlen);

/** True if seen shows any damage: a header or copy that fails its checks
 * (a copy never written is no damage). */
bool csv_io_seen_damaged(const struct csv_io_seen *seen);

/**
 * Write t as generation expected_gen + 1 to copy (expected_gen + 1) % 2
 * with FUA. First re-reads the LUN: the header must still be h and the
 * table in use must still have generation expected_gen, else -CM_E_STATE
 * ("the volume table changed on disk (generation N, expected M): another
 * coordinator?"). Entries stamped with a generation above expected_gen (the
 * csv_vol_* calls stamp theirs) get the new one.
 * @param[in,out] t  its generation is set to the one written
 * @return 0, -CM_E_STATE, -CM_E_CORRUPT (t fails csv_table_check, or the
 *         LUN's table is damaged: nothing is written), transport errors
 */
int csv_io_commit(struct wit_lun *l, const struct csv_header *h, struct csv_table *t,
		  uint64_t expected_gen, char *err, size_t errlen);

/**
 * Load, apply one change (csv_vol_create/delete/resize), commit.
 * @param[in]  h     the header the caller knows; -CM_E_STATE if the LUN's
 *                   differs (reformatted)
 * @param[in]  size  bytes (create, resize); flags: create only
 * @param[out] out   the resulting table, or the current one on refusal;
 *                   left untouched if the table could not be read; may be
 *                   NULL
 * @return 0; the csv_alloc refusal (-CM_E_EXISTS, -CM_E_SMALL,
 *         -CM_E_NO_OBJECT, -CM_E_NAME, -CM_E_ARGS) with nothing written;
 *         csv_io_load / csv_io_commit errors
 */
int csv_io_apply(struct wit_lun *l, const struct csv_header *h, enum csv_io_op op, const char *vol,
		 uint64_t size, uint32_t flags, int64_t now_ms, struct csv_table *out, char *err,
		 size_t errlen);

/* --- text form for replication (pure: no I/O) --- */

/**
 * "gen G count N\n" then one line per volume, in table order:
 * "NAME OFFSET SIZE GENERATION CREATED_MS FLAGS\n" (decimal).
 * @return a malloc'd string (caller frees), NULL on allocation failure
 */
char *csv_table_to_text(const struct csv_table *t);

/**
 * Parse csv_table_to_text's output strictly: exact fields, decimal without
 * sign or leading zeros, every line ending in a newline, count matching the
 * lines, valid unique names, sizes > 0, offsets ascending without overlap,
 * entry generations not above the table's. (The caller checks the result
 * against its header with csv_table_check.)
 * @param[out] t  the table; empty on error
 * @return 0 or -CM_E_PROTO with a sentence naming the line
 */
int csv_table_from_text(const char *s, struct csv_table *t, char *err, size_t errlen);

#endif

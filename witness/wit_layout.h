/* wit_layout.h - the witness LUN's on-disk layout. Pure: encode and decode
 * blocks in memory; the I/O is wit_scsi.c's job.
 *
 *   offset                     size          what
 *   0                          4 KiB         header
 *   4 KiB                      64 x 4 KiB    heartbeat slots, node id 1..64
 *   copy_off[0], copy_off[1]   copy_size     two database copies (A/B): a
 *                                            4 KiB header, then the image
 *
 * All integers little-endian. Every header and slot ends in an FNV-64
 * checksum of the bytes before it. The two copy areas alternate, so a holder
 * that dies while writing one leaves the other intact; readers take the
 * valid copy with the newest (epoch, sequence).
 */
#ifndef WIT_LAYOUT_H
#define WIT_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIT_BLOCK 4096u
#define WIT_LAYOUT_VERSION 1u
#define WIT_MAX_SLOTS 64u
#define WIT_MIN_LUN_BYTES (16ull * 1024 * 1024)

struct wit_header {
	uint32_t version;
	char cluster_uuid[40];
	char cluster_name[64];
	uint32_t slot_size;
	uint32_t max_slots;
	uint64_t lun_bytes;
	uint64_t slots_off;
	uint64_t copy_off[2];
	uint64_t copy_size;        /* bytes of each copy area, its header included */
	uint64_t created_ms;
};

struct wit_slot {
	uint32_t node_id;
	uint64_t counter;          /* +1 at every renewal: peers watch it change */
	uint64_t time_ms;          /* writer's wall clock, for people only */
	int64_t epoch, seq;        /* the writer's replica, for people only */
};

struct wit_copy {
	int64_t epoch, seq;
	uint64_t len;              /* image bytes after the copy header */
	uint64_t image_sum;        /* FNV-64 of the image */
	uint32_t writer;
	uint64_t time_ms;
};

/* A header for a LUN of lun_bytes; -CM_E_SMALL with a sentence if too small. */
int wit_header_init(struct wit_header *h, const char *uuid, const char *name,
		    uint64_t lun_bytes, uint64_t now_ms, char *err, size_t errlen);
void wit_header_encode(const struct wit_header *h, unsigned char *blk);
/* 0; -CM_E_FOREIGN (not ours: no magic), -CM_E_CORRUPT (bad checksum or
 * sizes), -CM_E_VERSION (newer layout). */
int wit_header_decode(const unsigned char *blk, struct wit_header *h, char *err, size_t errlen);
bool wit_block_is_zero(const unsigned char *blk, size_t len);

/* May `witness init` write a header over this first block? 0 if the block
 * is empty, or ours (same cluster uuid), or force is set; else
 * -CM_E_FOREIGN with a sentence saying what is there. */
int wit_init_check(const unsigned char *blk0, const char *uuid, bool force, char *err, size_t errlen);

uint64_t wit_slot_off(const struct wit_header *h, uint32_t node_id); /* 0 if out of range */
void wit_slot_encode(const struct wit_slot *s, unsigned char *blk);
/* 0, 1 for a never-written (zero) slot, -CM_E_CORRUPT. */
int wit_slot_decode(const unsigned char *blk, struct wit_slot *s);

void wit_copy_encode(const struct wit_copy *c, unsigned char *blk);
int wit_copy_decode(const unsigned char *blk, struct wit_copy *c); /* 0, 1 empty, -CM_E_CORRUPT */
uint64_t wit_image_sum(const void *img, size_t len);
/* The copy area to write next (the older or invalid one). */
int wit_copy_next(const struct wit_copy c[2], const bool valid[2]);
/* The newest valid copy, or -1. */
int wit_copy_newest(const struct wit_copy c[2], const bool valid[2]);
/* Largest image a copy area holds. */
uint64_t wit_copy_capacity(const struct wit_header *h);

#endif

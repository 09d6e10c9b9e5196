/* wit_layout.c - encode/decode the witness layout (see wit_layout.h).
 * Pure: no I/O, no clock, no globals. */
#include <stdio.h>
#include <string.h>

#include "cm_err.h"
#include "cm_str.h"
#include "wit_layout.h"

static const char hdr_magic[8] = { 'C', 'L', 'D', 'W', 'I', 'T', 'N', '1' };
static const char slot_magic[8] = { 'C', 'L', 'D', 'S', 'L', 'O', 'T', '1' };
static const char copy_magic[8] = { 'C', 'L', 'D', 'C', 'O', 'P', 'Y', '1' };

/* Checksum over the first `at` bytes, stored at `at`. */
static void seal(unsigned char *blk, size_t at)
{
	cm_le_put(blk + at, cm_hash64(CM_HASH_INIT, blk, at), 8);
}

static bool sealed(const unsigned char *blk, size_t at)
{
	return cm_le_get(blk + at, 8) == cm_hash64(CM_HASH_INIT, blk, at);
}

bool wit_block_is_zero(const unsigned char *blk, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (blk[i])
			return false;
	return true;
}

int wit_header_init(struct wit_header *h, const char *uuid, const char *name,
		    uint64_t lun_bytes, uint64_t now_ms, char *err, size_t errlen)
{
	uint64_t rest;

	memset(h, 0, sizeof(*h));
	if (lun_bytes < WIT_MIN_LUN_BYTES) {
		snprintf(err, errlen, "the LUN has %llu MiB; a witness needs at least %llu MiB",
			 (unsigned long long)(lun_bytes >> 20), (unsigned long long)(WIT_MIN_LUN_BYTES >> 20));
		return -CM_E_SMALL;
	}
	h->version = WIT_LAYOUT_VERSION;
	cm_strlcpy(h->cluster_uuid, uuid, sizeof(h->cluster_uuid));
	cm_strlcpy(h->cluster_name, name, sizeof(h->cluster_name));
	h->slot_size = WIT_BLOCK;
	h->max_slots = WIT_MAX_SLOTS;
	h->lun_bytes = lun_bytes;
	h->slots_off = WIT_BLOCK;
	rest = lun_bytes - (h->slots_off + (uint64_t)WIT_MAX_SLOTS * WIT_BLOCK);
	h->copy_size = (rest / 2) / WIT_BLOCK * WIT_BLOCK;
	h->copy_off[0] = h->slots_off + (uint64_t)WIT_MAX_SLOTS * WIT_BLOCK;
	h->copy_off[1] = h->copy_off[0] + h->copy_size;
	h->created_ms = now_ms;
	return 0;
}

void wit_header_encode(const struct wit_header *h, unsigned char *blk)
{
	memset(blk, 0, WIT_BLOCK);
	memcpy(blk, hdr_magic, 8);
	cm_le_put(blk + 8, h->version, 4);
	memcpy(blk + 12, h->cluster_uuid, 40);
	memcpy(blk + 52, h->cluster_name, 64);
	cm_le_put(blk + 116, h->slot_size, 4);
	cm_le_put(blk + 120, h->max_slots, 4);
	cm_le_put(blk + 124, h->lun_bytes, 8);
	cm_le_put(blk + 132, h->slots_off, 8);
	cm_le_put(blk + 140, h->copy_off[0], 8);
	cm_le_put(blk + 148, h->copy_off[1], 8);
	cm_le_put(blk + 156, h->copy_size, 8);
	cm_le_put(blk + 164, h->created_ms, 8);
	seal(blk, 172);
}

int wit_header_decode(const unsigned char *blk, struct wit_header *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (memcmp(blk, hdr_magic, 8) != 0) {
		snprintf(err, errlen, "the LUN does not hold a witness of this project");
		return -CM_E_FOREIGN;
	}
	if (!sealed(blk, 172)) {
		snprintf(err, errlen, "the witness header fails its checksum");
		return -CM_E_CORRUPT;
	}
	h->version = (uint32_t)cm_le_get(blk + 8, 4);
	if (h->version != WIT_LAYOUT_VERSION) {
		snprintf(err, errlen, "the witness has layout version %u; this clusterd knows %u",
			 h->version, WIT_LAYOUT_VERSION);
		return -CM_E_VERSION;
	}
	memcpy(h->cluster_uuid, blk + 12, 40);
	h->cluster_uuid[39] = '\0';
	memcpy(h->cluster_name, blk + 52, 64);
	h->cluster_name[63] = '\0';
	h->slot_size = (uint32_t)cm_le_get(blk + 116, 4);
	h->max_slots = (uint32_t)cm_le_get(blk + 120, 4);
	h->lun_bytes = cm_le_get(blk + 124, 8);
	h->slots_off = cm_le_get(blk + 132, 8);
	h->copy_off[0] = cm_le_get(blk + 140, 8);
	h->copy_off[1] = cm_le_get(blk + 148, 8);
	h->copy_size = cm_le_get(blk + 156, 8);
	h->created_ms = cm_le_get(blk + 164, 8);
	/* sizes must describe regions that fit, in order, without overlap */
	if (h->slot_size != WIT_BLOCK || h->max_slots == 0 || h->max_slots > 4096 ||
	    h->slots_off < WIT_BLOCK || h->copy_size < 2 * WIT_BLOCK ||
	    h->copy_off[0] < h->slots_off + (uint64_t)h->max_slots * h->slot_size ||
	    h->copy_off[1] < h->copy_off[0] + h->copy_size ||
	    h->copy_off[1] + h->copy_size > h->lun_bytes) {
		snprintf(err, errlen, "the witness header describes regions that do not fit the LUN");
		return -CM_E_CORRUPT;
	}
	return 0;
}

int wit_init_check(const unsigned char *blk0, const char *uuid, bool force, char *err, size_t errlen)
{
	struct wit_header h;
	char sub[128];
	int rc;

	if (force || wit_block_is_zero(blk0, WIT_BLOCK))
		return 0;
	rc = wit_header_decode(blk0, &h, sub, sizeof(sub));
	if (rc == 0 && strcmp(h.cluster_uuid, uuid) == 0)
		return 0;
	if (rc == 0)
		snprintf(err, errlen, "the LUN is the witness of another cluster ('%s', uuid %s); use --force to take it over",
			 h.cluster_name, h.cluster_uuid);
	else
		snprintf(err, errlen, "the LUN holds data this cluster does not recognise (%s); use --force to overwrite it",
			 rc == -CM_E_FOREIGN ? "not a witness" : sub);
	return -CM_E_FOREIGN;
}

uint64_t wit_slot_off(const struct wit_header *h, uint32_t node_id)
{
	if (node_id == 0 || node_id > h->max_slots)
		return 0;
	return h->slots_off + (uint64_t)(node_id - 1) * h->slot_size;
}

void wit_slot_encode(const struct wit_slot *s, unsigned char *blk)
{
	memset(blk, 0, WIT_BLOCK);
	memcpy(blk, slot_magic, 8);
	cm_le_put(blk + 8, s->node_id, 4);
	cm_le_put(blk + 12, s->counter, 8);
	cm_le_put(blk + 20, s->time_ms, 8);
	cm_le_put(blk + 28, (uint64_t)s->epoch, 8);
	cm_le_put(blk + 36, (uint64_t)s->seq, 8);
	seal(blk, 44);
}

int wit_slot_decode(const unsigned char *blk, struct wit_slot *s)
{
	memset(s, 0, sizeof(*s));
	if (wit_block_is_zero(blk, 52))
		return 1;
	if (memcmp(blk, slot_magic, 8) != 0 || !sealed(blk, 44))
		return -CM_E_CORRUPT;
	s->node_id = (uint32_t)cm_le_get(blk + 8, 4);
	s->counter = cm_le_get(blk + 12, 8);
	s->time_ms = cm_le_get(blk + 20, 8);
	s->epoch = (int64_t)cm_le_get(blk + 28, 8);
	s->seq = (int64_t)cm_le_get(blk + 36, 8);
	return 0;
}

void wit_copy_encode(const struct wit_copy *c, unsigned char *blk)
{
	memset(blk, 0, WIT_BLOCK);
	memcpy(blk, copy_magic, 8);
	cm_le_put(blk + 8, (uint64_t)c->epoch, 8);
	cm_le_put(blk + 16, (uint64_t)c->seq, 8);
	cm_le_put(blk + 24, c->len, 8);
	cm_le_put(blk + 32, c->image_sum, 8);
	cm_le_put(blk + 40, c->writer, 4);
	cm_le_put(blk + 44, c->time_ms, 8);
	seal(blk, 52);
}

int wit_copy_decode(const unsigned char *blk, struct wit_copy *c)
{
	memset(c, 0, sizeof(*c));
	if (wit_block_is_zero(blk, 60))
		return 1;
	if (memcmp(blk, copy_magic, 8) != 0 || !sealed(blk, 52))
		return -CM_E_CORRUPT;
	c->epoch = (int64_t)cm_le_get(blk + 8, 8);
	c->seq = (int64_t)cm_le_get(blk + 16, 8);
	c->len = cm_le_get(blk + 24, 8);
	c->image_sum = cm_le_get(blk + 32, 8);
	c->writer = (uint32_t)cm_le_get(blk + 40, 4);
	c->time_ms = cm_le_get(blk + 44, 8);
	return 0;
}

uint64_t wit_image_sum(const void *img, size_t len)
{
	return cm_hash64(CM_HASH_INIT, img, len);
}

static bool newer(const struct wit_copy *a, const struct wit_copy *b)
{
	return a->epoch != b->epoch ? a->epoch > b->epoch : a->seq > b->seq;
}

int wit_copy_newest(const struct wit_copy c[2], const bool valid[2])
{
	if (valid[0] && valid[1])
		return newer(&c[1], &c[0]) ? 1 : 0;
	return valid[0] ? 0 : valid[1] ? 1 : -1;
}

int wit_copy_next(const struct wit_copy c[2], const bool valid[2])
{
	int newest = wit_copy_newest(c, valid);

	return newest < 0 ? 0 : 1 - newest;
}

uint64_t wit_copy_capacity(const struct wit_header *h)
{
	return h->copy_size - WIT_BLOCK;
}

/* cd_sync.c - pure synchronisation decisions (see cd_sync.h). No I/O. */
#include <stdlib.h>
#include <string.h>

#include "cd_sync.h"

int cd_sync_cmp(const struct cd_sync_peer *a, const struct cd_sync_peer *b)
{
	/* 1. a replica that holds a cluster beats an empty one */
	if (a->has_cluster != b->has_cluster)
		return a->has_cluster ? -1 : 1;
	/* 2. newer epoch */
	if (a->epoch != b->epoch)
		return a->epoch > b->epoch ? -1 : 1;
	/* 3. more writes applied */
	if (a->seq != b->seq)
		return a->seq > b->seq ? -1 : 1;
	/* 4. tie-break: lowest node id */
	if (a->id != b->id)
		return a->id < b->id ? -1 : 1;
	return 0;
}

int cd_sync_pick(const struct cd_sync_peer *p, size_t n)
{
	size_t i, best = 0;

	if (n == 0)
		return -1;
	for (i = 1; i < n; i++)
		if (cd_sync_cmp(&p[i], &p[best]) < 0)
			best = i;
	return (int)best;
}

bool cd_sync_needs_transfer(const struct cd_sync_peer *p, size_t n, size_t src)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i].has_cluster != p[src].has_cluster || p[i].epoch != p[src].epoch ||
		    p[i].seq != p[src].seq || p[i].hash != p[src].hash)
			return true;
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

size_t cd_sync_sort_ids(uint32_t *ids, size_t n)
{
	size_t i, out = 0;

	qsort(ids, n, sizeof(*ids), cmp_u32);
	for (i = 0; i < n; i++)
		if (out == 0 || ids[out - 1] != ids[i])
			ids[out++] = ids[i];
	return out;
}

uint64_t cd_sync_view_hash(const uint32_t *ids, size_t n)
{
	uint64_t h = CM_HASH_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char b[4] = { (unsigned char)ids[i], (unsigned char)(ids[i] >> 8),
				       (unsigned char)(ids[i] >> 16), (unsigned char)(ids[i] >> 24) };

		h = cm_hash64(h, b, sizeof(b));
	}
	/* keep it positive: it travels as a signed wire integer */
	return h & 0x7fffffffffffffffULL;
}

void cd_chunks_init(struct cd_chunks *c)
{
	memset(c, 0, sizeof(*c));
	cm_sb_init(&c->data);
}

void cd_chunks_reset(struct cd_chunks *c)
{
	cm_sb_free(&c->data);
	cd_chunks_init(c);
}

int cd_chunks_add(struct cd_chunks *c, uint32_t index, uint32_t count,
		  const void *p, size_t len)
{
	if (count == 0 || index >= count)
		return -1;
	if (index == 0) {
		cd_chunks_reset(c);
		c->count = count;
	} else if (index != c->next || count != c->count) {
		return -1;
	}
	cm_sb_add(&c->data, p, len);
	if (cm_sb_failed(&c->data)) {
		cd_chunks_reset(c);
		return -1;
	}
	c->next = index + 1;
	return c->next == c->count ? 1 : 0;
}

/* cd_sync.h - pure decisions of replica synchronisation.
 *
 * After every membership change each member announces its replica's
 * (epoch, sequence, content hash). Once every member has announced, all
 * members pick the same source with cd_sync_pick() and, when any replica
 * differs from it, the source sends its image in chunks that cd_chunks
 * reassembles. No I/O, no clock, no globals.
 */
#ifndef CD_SYNC_H
#define CD_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm_str.h"

struct cd_sync_peer {
	uint32_t id;
	bool announced;
	bool has_cluster;
	int64_t epoch;
	int64_t seq;
	uint64_t hash;
};

/* Order of replicas: 1. holds a cluster, 2. higher epoch, 3. higher
 * sequence, 4. lower node id. Returns < 0 when a is preferred over b. */
int cd_sync_cmp(const struct cd_sync_peer *a, const struct cd_sync_peer *b);
/* Index of the source replica among n announced peers, or -1 if n == 0. */
int cd_sync_pick(const struct cd_sync_peer *p, size_t n);
/* True when some peer's replica differs from the source's. */
bool cd_sync_needs_transfer(const struct cd_sync_peer *p, size_t n, size_t src);
/* Hash identifying a view: its sorted member ids. */
uint64_t cd_sync_view_hash(const uint32_t *ids, size_t n);
/* Sort and de-duplicate node ids in place; returns the new count. */
size_t cd_sync_sort_ids(uint32_t *ids, size_t n);

/* Reassembly of a chunked image. Chunks must arrive in order 0..count-1;
 * chunk 0 restarts. */
struct cd_chunks {
	uint32_t count;
	uint32_t next;
	struct cm_sb data;
};

void cd_chunks_init(struct cd_chunks *c);
void cd_chunks_reset(struct cd_chunks *c);
/* Returns 1 when the image is complete, 0 when more is expected, -1 when the
 * chunk is out of order (ignored). */
int cd_chunks_add(struct cd_chunks *c, uint32_t index, uint32_t count,
		  const void *p, size_t len);

#endif

/* cm_wire.h - the one wire format of the project, for CPG and IPC messages.
 *
 * A message is a fixed 40-byte header followed by up to CM_WIRE_MAX_INTS
 * 64-bit integers and up to CM_WIRE_MAX_STRS length-prefixed byte strings.
 * All integers are little-endian. Every string is followed by a NUL byte
 * that its length does not count, so text arguments can be used in place.
 *
 *   off size field
 *     0   4  magic "CLMD"
 *     4   2  version        (CM_WIRE_VERSION)
 *     6   2  type           (enum cm_msg_type)
 *     8   4  length         total bytes including the header
 *    12   4  flags
 *    16   4  sender         corosync node id (0 for IPC)
 *    20   2  nints
 *    22   2  nstrs
 *    24   8  id             request id
 *    32   8  time_ms        sender's wall clock (ms since the epoch)
 *    40      ints[nints]    8 bytes each
 *            strs[nstrs]    u32 len, len bytes, NUL
 *
 * Decoding checks magic, version, the length against the buffer, counts
 * against the maxima and every string length against what is left. Pure.
 */
#ifndef CM_WIRE_H
#define CM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "cm_str.h"

#define CM_WIRE_MAGIC 0x444d4c43u /* "CLMD" little-endian */
#define CM_WIRE_VERSION 1
#define CM_WIRE_HDR_LEN 40
#define CM_WIRE_MAX_INTS 16
#define CM_WIRE_MAX_STRS 8
#define CM_WIRE_MAX_LEN (4u * 1024 * 1024)

enum cm_msg_type {
	/* CPG: the replicated stream */
	CM_MSG_WRITE = 1,      /* ints: op; strs: op arguments */
	CM_MSG_SYNC_STATE = 2, /* ints: gen, epoch, seq, hash, has_cluster */
	CM_MSG_SYNC_DATA = 3,  /* ints: gen, epoch, seq, hash, index, count; strs: chunk */
	CM_MSG_EPOCH = 4,      /* ints: view, new epoch: sync finished in a quorate view */
	CM_MSG_RESYNC = 5,     /* ints: view: synchronise this view again */
	/* IPC */
	CM_MSG_REQUEST = 100,  /* ints: cmd, flags; strs: arguments */
	CM_MSG_REPLY = 101,    /* ints: rc (0 or negative code); strs: text/JSON */
};

/* CM_MSG_WRITE flags */
#define CM_WRITE_F_WITNESS 0x1u /* the origin held a fresh witness lease */

struct cm_blob {
	const char *p;
	uint32_t len;
};

struct cm_msg {
	uint16_t version;
	uint16_t type;
	uint32_t flags;
	uint32_t sender;
	uint64_t id;
	uint64_t time_ms;
	uint16_t nints;
	uint16_t nstrs;
	int64_t ints[CM_WIRE_MAX_INTS];
	struct cm_blob strs[CM_WIRE_MAX_STRS];
};

void cm_msg_init(struct cm_msg *m, uint16_t type);
int cm_msg_add_int(struct cm_msg *m, int64_t v);
/* The string is referenced, not copied: keep it alive until encoded. */
int cm_msg_add_str(struct cm_msg *m, const char *s);
int cm_msg_add_blob(struct cm_msg *m, const void *p, uint32_t len);

/* Encode into out (binary). Returns 0 or -CM_E_TOOBIG / -ENOMEM. */
int cm_msg_encode(const struct cm_msg *m, struct cm_sb *out);
/* Decode buf; m's strings point into buf. Returns 0, -CM_E_PROTO,
 * -CM_E_VERSION or -CM_E_TOOBIG. */
int cm_msg_decode(const void *buf, size_t len, struct cm_msg *m);

/* Argument i as text: NULL if absent or if it holds a NUL byte. */
const char *cm_msg_str(const struct cm_msg *m, unsigned i);
/* Integer i, or def if absent. */
int64_t cm_msg_int(const struct cm_msg *m, unsigned i, int64_t def);

const char *cm_msg_type_to_str(uint16_t type);

#endif

/* csv_lock.h - lock decisions for the volumes of one CSV. Pure: a table of
 * held locks in memory and the rules for changing it; no I/O, no clock, no
 * globals. The coordinator owns the table, applies requests in the order it
 * receives them, and replicates it with csv_locks_to_text; it alone decides
 * when a node counts as fenced and may lose its locks.
 *
 * A lock is (volume, node, owner tag, mode). Exclusive excludes every other
 * holder; shared admits other shared holders. Locks are kept sorted by
 * (volume, node, owner), which is the iteration order.
 */
#ifndef CSV_LOCK_H
#define CSV_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSV_LOCK_NAME_LEN 64 /* volume and owner tag, bytes including the NUL */

enum csv_lock_mode {
	CSV_LOCK_SHARED = 1,
	CSV_LOCK_EXCL = 2
};

struct csv_lock {
	char volume[CSV_LOCK_NAME_LEN];
	uint32_t node;                 /* cluster node id, >= 1 */
	char owner[CSV_LOCK_NAME_LEN]; /* who on that node, e.g. the VM name */
	enum csv_lock_mode mode;
};

struct csv_locks {
	struct csv_lock *v;
	size_t n, cap;
};

const char *csv_lock_mode_to_str(enum csv_lock_mode m);         /* "excl", "shared" */
int csv_lock_mode_from_str(const char *s);                       /* mode or -CM_E_VALUE */

void csv_locks_init(struct csv_locks *l);
void csv_locks_free(struct csv_locks *l);                        /* NULL safe */

/* Take or change a lock. Taking what one already holds is 0; the same
 * (volume, node, owner) may switch mode if nobody else stands in the way.
 * -CM_E_CONFLICT with a sentence naming the holder (copied to *holder if not
 * NULL); -CM_E_NAME for a bad volume or owner; -CM_E_ARGS for node 0 or a bad
 * mode; -ENOMEM. */
int csv_lock_try(struct csv_locks *l, const char *volume, uint32_t node, const char *owner,
		 enum csv_lock_mode mode, struct csv_lock *holder, char *err, size_t errlen);
/* 0 or -CM_E_NO_OBJECT. */
int csv_lock_release(struct csv_locks *l, const char *volume, uint32_t node, const char *owner,
		     char *err, size_t errlen);
/* Everything an owner holds on a node (a VM that stopped); returns how many. */
size_t csv_lock_release_owner(struct csv_locks *l, uint32_t node, const char *owner);
/* Everything a node holds; call only once the node is fenced or confirmed
 * down. Returns how many. */
size_t csv_lock_release_node(struct csv_locks *l, uint32_t node);
/* Move the exclusive lock of (volume, from, owner) to (volume, to, owner) in
 * one step, so there is no moment with two holders or none (the switchover
 * of a live migration). -CM_E_NO_OBJECT, -CM_E_STATE (not exclusive),
 * -CM_E_ARGS (to is 0). */
int csv_lock_handover(struct csv_locks *l, const char *volume, const char *owner, uint32_t from,
		      uint32_t to, char *err, size_t errlen);

/* Index of the lock or -1; the holders of a volume are contiguous. */
int csv_lock_find(const struct csv_locks *l, const char *volume, uint32_t node, const char *owner);
/* How many locks the volume has; *first gets the first index (if any). */
size_t csv_lock_holders(const struct csv_locks *l, const char *volume, size_t *first);

/* One line per lock, in iteration order: "VOLUME MODE NODE OWNER\n".
 * Returns a malloc'd string (caller frees) or NULL on allocation failure. */
char *csv_locks_to_text(const struct csv_locks *l);
/* Parse into out (initialised here; empty on failure). Refuses malformed
 * lines, bad names, duplicate locks and combinations that conflict:
 * -CM_E_PROTO with the line number, or -ENOMEM. */
int csv_locks_from_text(const char *text, size_t len, struct csv_locks *out, char *err, size_t errlen);

#endif

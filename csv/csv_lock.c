/* csv_lock.c - lock decisions for CSV volumes (see csv_lock.h). Pure: no
 * I/O, no clock, no globals; the only side effect is the table passed in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_prop.h"
#include "cm_str.h"
#include "csv_lock.h"

const char *csv_lock_mode_to_str(enum csv_lock_mode m)
{
	return m == CSV_LOCK_EXCL ? "excl" : m == CSV_LOCK_SHARED ? "shared" : "?";
}

int csv_lock_mode_from_str(const char *s)
{
	if (strcmp(s, "excl") == 0)
		return CSV_LOCK_EXCL;
	if (strcmp(s, "shared") == 0)
		return CSV_LOCK_SHARED;
	return -CM_E_VALUE;
}

void csv_locks_init(struct csv_locks *l)
{
	memset(l, 0, sizeof(*l));
}

void csv_locks_free(struct csv_locks *l)
{
	if (l == NULL)
		return;
	free(l->v);
	csv_locks_init(l);
}

/* The iteration order: 1. volume, 2. node, 3. owner. */
static int key_cmp(const struct csv_lock *a, const char *volume, uint32_t node, const char *owner)
{
	int c = strcmp(a->volume, volume);

	if (c)
		return c;
	if (a->node != node)
		return a->node < node ? -1 : 1;
	return strcmp(a->owner, owner);
}

int csv_lock_find(const struct csv_locks *l, const char *volume, uint32_t node, const char *owner)
{
	for (size_t i = 0; i < l->n; i++)
		if (key_cmp(&l->v[i], volume, node, owner) == 0)
			return (int)i;
	return -1;
}

size_t csv_lock_holders(const struct csv_locks *l, const char *volume, size_t *first)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].volume, volume) != 0)
			continue;
		if (n++ == 0 && first)
			*first = i;
	}
	return n;
}

/* A volume is "VOL" or "CSV/VOL"; an owner is a name, optionally after
 * "admin:" (an administrator's lock). */
static int split_check(const char *what, const char *s, char sep, const char *prefix, char *err, size_t errlen)
{
	char buf[CSV_LOCK_NAME_LEN];
	const char *p = strchr(s, sep);
	int rc;

	if (p == NULL || strlen(s) >= sizeof(buf))
		return cm_name_check(what, s, err, errlen);
	memcpy(buf, s, (size_t)(p - s));
	buf[p - s] = '\0';
	if (prefix && strcmp(buf, prefix) != 0)
		return cm_name_check(what, s, err, errlen);
	rc = prefix ? 0 : cm_name_check(what, buf, err, errlen);
	return rc < 0 ? rc : cm_name_check(what, p + 1, err, errlen);
}

static int lock_args(const char *volume, uint32_t node, const char *owner, int mode,
		     char *err, size_t errlen)
{
	int rc = split_check("volume", volume, '/', NULL, err, errlen);

	if (rc == 0)
		rc = split_check("lock owner", owner, ':', "admin", err, errlen);
	if (rc < 0)
		return rc;
	if (node == 0 || (mode != CSV_LOCK_EXCL && mode != CSV_LOCK_SHARED)) {
		snprintf(err, errlen, "lock on volume '%s': node %u or mode %d is not valid", volume, node, mode);
		return -CM_E_ARGS;
	}
	return 0;
}

/* The first other holder that stands in the way of (node, owner, mode). */
static const struct csv_lock *conflict(const struct csv_locks *l, const char *volume, uint32_t node,
				       const char *owner, enum csv_lock_mode mode)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct csv_lock *o = &l->v[i];

		if (strcmp(o->volume, volume) != 0 || (o->node == node && strcmp(o->owner, owner) == 0))
			continue;
		if (mode == CSV_LOCK_EXCL || o->mode == CSV_LOCK_EXCL)
			return o;
	}
	return NULL;
}

static int insert(struct csv_locks *l, const char *volume, uint32_t node, const char *owner,
		  enum csv_lock_mode mode)
{
	size_t at = 0;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct csv_lock *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	while (at < l->n && key_cmp(&l->v[at], volume, node, owner) < 0)
		at++;
	memmove(&l->v[at + 1], &l->v[at], (l->n - at) * sizeof(l->v[0]));
	memset(&l->v[at], 0, sizeof(l->v[0]));
	cm_strlcpy(l->v[at].volume, volume, sizeof(l->v[at].volume));
	cm_strlcpy(l->v[at].owner, owner, sizeof(l->v[at].owner));
	l->v[at].node = node;
	l->v[at].mode = mode;
	l->n++;
	return 0;
}

int csv_lock_try(struct csv_locks *l, const char *volume, uint32_t node, const char *owner,
		 enum csv_lock_mode mode, struct csv_lock *holder, char *err, size_t errlen)
{
	const struct csv_lock *o;
	int rc, i;

	rc = lock_args(volume, node, owner, (int)mode, err, errlen);
	if (rc < 0)
		return rc;
	o = conflict(l, volume, node, owner, mode);
	if (o) {
		snprintf(err, errlen, "volume '%s' is locked %s by '%s' on node %u; '%s' on node %u cannot lock it %s",
			 volume, o->mode == CSV_LOCK_EXCL ? "exclusively" : "shared", o->owner, o->node,
			 owner, node, csv_lock_mode_to_str(mode));
		if (holder)
			*holder = *o;
		return -CM_E_CONFLICT;
	}
	i = csv_lock_find(l, volume, node, owner);
	if (i >= 0) {
		l->v[i].mode = mode;
		return 0;
	}
	return insert(l, volume, node, owner, mode);
}

static void remove_at(struct csv_locks *l, size_t i)
{
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(l->v[0]));
	l->n--;
}

int csv_lock_release(struct csv_locks *l, const char *volume, uint32_t node, const char *owner,
		     char *err, size_t errlen)
{
	int i = csv_lock_find(l, volume, node, owner);

	if (i < 0) {
		snprintf(err, errlen, "'%s' on node %u holds no lock on volume '%s'", owner, node, volume);
		return -CM_E_NO_OBJECT;
	}
	remove_at(l, (size_t)i);
	return 0;
}

/* Remove the locks of node (and of owner, unless NULL). */
static size_t release_where(struct csv_locks *l, uint32_t node, const char *owner)
{
	size_t i = 0, n = 0;

	while (i < l->n) {
		if (l->v[i].node == node && (owner == NULL || strcmp(l->v[i].owner, owner) == 0)) {
			remove_at(l, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

size_t csv_lock_release_owner(struct csv_locks *l, uint32_t node, const char *owner)
{
	return owner ? release_where(l, node, owner) : 0;
}

size_t csv_lock_release_node(struct csv_locks *l, uint32_t node)
{
	return release_where(l, node, NULL);
}

int csv_lock_handover(struct csv_locks *l, const char *volume, const char *owner, uint32_t from,
		      uint32_t to, char *err, size_t errlen)
{
	int i = csv_lock_find(l, volume, from, owner);

	if (i < 0) {
		snprintf(err, errlen, "'%s' on node %u holds no lock on volume '%s' to hand over", owner, from, volume);
		return -CM_E_NO_OBJECT;
	}
	if (l->v[i].mode != CSV_LOCK_EXCL) {
		snprintf(err, errlen, "the lock of '%s' on node %u on volume '%s' is shared; only exclusive locks are handed over",
			 owner, from, volume);
		return -CM_E_STATE;
	}
	if (to == 0) {
		snprintf(err, errlen, "volume '%s': cannot hand the lock over to node 0", volume);
		return -CM_E_ARGS;
	}
	/* exclusive: nobody else holds the volume, so the new key cannot
	 * collide; remove then insert reuses the freed slot and cannot fail */
	remove_at(l, (size_t)i);
	return insert(l, volume, to, owner, CSV_LOCK_EXCL);
}

char *csv_locks_to_text(const struct csv_locks *l)
{
	struct cm_sb sb;

	cm_sb_init(&sb);
	for (size_t i = 0; i < l->n; i++)
		cm_sb_printf(&sb, "%s %s %u %s\n", l->v[i].volume, csv_lock_mode_to_str(l->v[i].mode),
			     l->v[i].node, l->v[i].owner);
	return cm_sb_steal(&sb); /* "" for an empty table, NULL if out of memory */
}

/* A node id: decimal, 1..UINT32_MAX, no sign, no leading zero. 0 if bad. */
static uint32_t parse_node(const char *s)
{
	uint64_t v = 0;

	if (s[0] < '1' || s[0] > '9' || strlen(s) > 10)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return v <= UINT32_MAX ? (uint32_t)v : 0;
}

/* Split one line (without its '\n') into exactly four fields separated by
 * single spaces. The fields point into line, which is modified. */
static int split4(char *line, char *f[4])
{
	int n = 0;
	char *p = line;

	for (;;) {
		if (n == 4 || *p == '\0' || *p == ' ')
			return -1;
		f[n++] = p;
		p = strchr(p, ' ');
		if (p == NULL)
			return n == 4 ? 0 : -1;
		*p++ = '\0';
	}
}

static int parse_line(struct csv_locks *l, char *line, unsigned lineno, char *err, size_t errlen)
{
	char *f[4], sub[200];
	uint32_t node;
	int mode;

	if (split4(line, f) < 0) {
		snprintf(err, errlen, "lock line %u: expected 'VOLUME MODE NODE OWNER'", lineno);
		return -CM_E_PROTO;
	}
	mode = csv_lock_mode_from_str(f[1]);
	node = parse_node(f[2]);
	if (mode < 0 || node == 0) {
		snprintf(err, errlen, "lock line %u: bad mode or node id", lineno);
		return -CM_E_PROTO;
	}
	if (strlen(f[0]) < CSV_LOCK_NAME_LEN && strlen(f[3]) < CSV_LOCK_NAME_LEN &&
	    csv_lock_find(l, f[0], node, f[3]) >= 0) {
		snprintf(err, errlen, "lock line %u: a second lock of '%s' on node %u on volume '%s'",
			 lineno, f[3], node, f[0]);
		return -CM_E_PROTO;
	}
	switch (csv_lock_try(l, f[0], node, f[3], (enum csv_lock_mode)mode, NULL, sub, sizeof(sub))) {
	case 0:
		return 0;
	case -ENOMEM:
		return -ENOMEM;
	default:
		snprintf(err, errlen, "lock line %u: %s", lineno, sub);
		return -CM_E_PROTO;
	}
}

int csv_locks_from_text(const char *text, size_t len, struct csv_locks *out, char *err, size_t errlen)
{
	char *copy = NULL, *line, *nl;
	unsigned lineno = 0;
	int rc = 0;

	csv_locks_init(out);
	if (len && (memchr(text, '\0', len) || text[len - 1] != '\n')) {
		snprintf(err, errlen, "lock text holds a NUL byte or does not end in a newline");
		return -CM_E_PROTO;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (line = copy; *line; line = nl + 1) {
		nl = strchr(line, '\n'); /* present: the text ends in one */
		*nl = '\0';
		rc = parse_line(out, line, ++lineno, err, errlen);
		if (rc < 0)
			goto out;
	}
out:
	free(copy);
	if (rc < 0)
		csv_locks_free(out);
	return rc;
}

/* csv_alloc.c - volumes in a CSV's data area: first-fit creation on the
 * alignment, deletion, resizing in place, free extents (see csv_layout.h).
 * Pure: no I/O, no clock, no globals. */
#include <stdio.h>
#include <string.h>

#include "cm_err.h"
#include "cm_prop.h"
#include "cm_str.h"
#include "csv_layout.h"

static unsigned long long mib(uint64_t bytes)
{
	return (unsigned long long)(bytes >> 20);
}

/* --- allocation --- */

int csv_vol_find(const struct csv_table *t, const char *name)
{
	for (uint32_t i = 0; i < t->count; i++)
		if (strcmp(t->vol[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The gap after volume i (i == -1: before the first one). */
static struct csv_extent gap_after(const struct csv_header *h, const struct csv_table *t, int i)
{
	struct csv_extent g;
	uint64_t end = (uint32_t)(i + 1) < t->count ? t->vol[i + 1].offset : h->data_end;

	g.offset = i < 0 ? h->data_off : t->vol[i].offset + t->vol[i].size;
	g.size = end > g.offset ? end - g.offset : 0;
	return g;
}

size_t csv_free_list(const struct csv_header *h, const struct csv_table *t, struct csv_extent *out, size_t max)
{
	size_t n = 0;

	for (int i = -1; i < (int)t->count; i++) {
		struct csv_extent g = gap_after(h, t, i);

		if (g.size == 0)
			continue;
		if (n < max)
			out[n] = g;
		n++;
	}
	return n;
}

uint64_t csv_free_total(const struct csv_header *h, const struct csv_table *t)
{
	uint64_t sum = 0;

	for (int i = -1; i < (int)t->count; i++)
		sum += gap_after(h, t, i).size;
	return sum;
}

uint64_t csv_free_largest(const struct csv_header *h, const struct csv_table *t)
{
	uint64_t best = 0;

	for (int i = -1; i < (int)t->count; i++) {
		uint64_t s = gap_after(h, t, i).size;

		if (s > best)
			best = s;
	}
	return best;
}

/* size rounded up to the alignment; 0 if it cannot fit any LUN */
static uint64_t round_up(const struct csv_header *h, uint64_t size)
{
	if (size > h->data_end)
		return 0;
	return (size + h->align - 1) / h->align * h->align;
}

static void no_room(const struct csv_header *h, const struct csv_table *t, const char *name,
		    uint64_t size, char *err, size_t errlen)
{
	snprintf(err, errlen, "volume '%s' needs %llu MiB but the largest free extent of CSV '%s' is %llu MiB (%llu MiB free in all)",
		 name, (unsigned long long)((size + (1u << 20) - 1) >> 20), h->name,
		 mib(csv_free_largest(h, t)), mib(csv_free_total(h, t)));
}

static int create_args(const struct csv_header *h, const struct csv_table *t, const char *name,
		       uint64_t size, char *err, size_t errlen)
{
	int rc = cm_name_check("volume", name, err, errlen);

	if (rc < 0)
		return rc;
	if (size == 0) {
		snprintf(err, errlen, "volume '%s': the size must be more than 0", name);
		return -CM_E_ARGS;
	}
	if (csv_vol_find(t, name) >= 0) {
		snprintf(err, errlen, "volume '%s' already exists on CSV '%s'", name, h->name);
		return -CM_E_EXISTS;
	}
	if (t->count >= CSV_MAX_VOLUMES) {
		snprintf(err, errlen, "volume '%s': the table of CSV '%s' is full (%u volumes)", name,
			 h->name, CSV_MAX_VOLUMES);
		return -CM_E_SMALL;
	}
	return 0;
}

int csv_vol_create(const struct csv_header *h, struct csv_table *t, const char *name, uint64_t size,
		   uint32_t flags, uint64_t now_ms, char *err, size_t errlen)
{
	uint64_t need = round_up(h, size);
	struct csv_volume *v;
	int rc, i;

	rc = create_args(h, t, name, size, err, errlen);
	if (rc < 0)
		return rc;
	for (i = -1; i < (int)t->count; i++) { /* first fit: lowest offset */
		struct csv_extent g = gap_after(h, t, i);

		if (need == 0 || g.size < need)
			continue;
		memmove(&t->vol[i + 2], &t->vol[i + 1], (t->count - (uint32_t)(i + 1)) * sizeof(t->vol[0]));
		v = &t->vol[i + 1];
		memset(v, 0, sizeof(*v));
		cm_strlcpy(v->name, name, sizeof(v->name));
		v->offset = g.offset;
		v->size = need;
		v->created_ms = now_ms;
		v->flags = flags;
		t->count++;
		v->generation = ++t->generation;
		return 0;
	}
	no_room(h, t, name, size, err, errlen);
	return -CM_E_SMALL;
}

static int vol_lookup(const struct csv_table *t, const char *name, char *err, size_t errlen)
{
	int i = csv_vol_find(t, name);

	if (i < 0)
		snprintf(err, errlen, "volume '%s' does not exist", name);
	return i;
}

int csv_vol_delete(struct csv_table *t, const char *name, char *err, size_t errlen)
{
	int i = vol_lookup(t, name, err, errlen);

	if (i < 0)
		return -CM_E_NO_OBJECT;
	memmove(&t->vol[i], &t->vol[i + 1], (t->count - (uint32_t)i - 1) * sizeof(t->vol[0]));
	t->count--;
	memset(&t->vol[t->count], 0, sizeof(t->vol[0]));
	t->generation++;
	return 0;
}

int csv_vol_resize(const struct csv_header *h, struct csv_table *t, const char *name, uint64_t size,
		   char *err, size_t errlen)
{
	uint64_t need = round_up(h, size);
	struct csv_volume *v;
	struct csv_extent g;
	int i = vol_lookup(t, name, err, errlen);

	if (i < 0)
		return -CM_E_NO_OBJECT;
	if (size == 0) {
		snprintf(err, errlen, "volume '%s': the size must be more than 0", name);
		return -CM_E_ARGS;
	}
	v = &t->vol[i];
	if (need == v->size)
		return 0;
	g = gap_after(h, t, i);
	if (need == 0 || (need > v->size && need - v->size > g.size)) {
		snprintf(err, errlen, "volume '%s' can grow in place to at most %llu MiB, not %llu MiB (volumes never move)",
			 name, mib(v->size + g.size), (unsigned long long)((size + (1u << 20) - 1) >> 20));
		return -CM_E_SMALL;
	}
	v->size = need;
	v->generation = ++t->generation;
	return 0;
}

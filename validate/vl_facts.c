/* vl_facts.c - struct vl_facts <-> JSON.
 *
 * One table per struct names each member, its JSON key and its kind; the
 * writer and the reader walk the same tables, so a member added to one
 * direction is in the other. The reader is strict (a peer's JSON is input
 * we did not write on this host): a wrong type, an over-long string, a
 * negative size or a list longer than the struct holds refuses the whole
 * object. Unknown members are ignored (a newer probe may say more).
 *
 * Pure: no I/O, no clock, no mutable globals.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cm_err.h"
#include "vl_facts.h"

enum fkind {
	FK_STR,     /* char[size] */
	FK_BOOL,    /* bool */
	FK_I64,     /* int64_t */
	FK_U64,     /* uint64_t, >= 0 */
	FK_UNS,     /* unsigned, 0..UINT_MAX */
	FK_INT,     /* int, INT_MIN..INT_MAX */
	FK_STRS,    /* char[max][size], count (size_t) at cnt */
	FK_OBJS,    /* struct[max] of elem bytes described by sub, count at cnt */
};

struct fdesc {
	const char *key;
	enum fkind kind;
	size_t off;
	size_t size;            /* FK_STR/FK_STRS: buffer size per string; FK_OBJS: element size */
	size_t max;             /* FK_STRS/FK_OBJS: capacity */
	size_t cnt;             /* FK_STRS/FK_OBJS: offset of the size_t count */
	const struct fdesc *sub;/* FK_OBJS */
	size_t nsub;
	int64_t def;            /* FK_I64: the value when the member is missing */
};

#define N_(a) (sizeof(a) / sizeof((a)[0]))
#define STR(T, m) { #m, FK_STR, offsetof(T, m), sizeof(((T *)0)->m), 0, 0, NULL, 0, 0 }
#define BOOL(T, m) { #m, FK_BOOL, offsetof(T, m), 0, 0, 0, NULL, 0, 0 }
#define I64(T, m, d) { #m, FK_I64, offsetof(T, m), 0, 0, 0, NULL, 0, d }
#define U64(T, m) { #m, FK_U64, offsetof(T, m), 0, 0, 0, NULL, 0, 0 }
#define UNS(T, m) { #m, FK_UNS, offsetof(T, m), 0, 0, 0, NULL, 0, 0 }
#define INT(T, m) { #m, FK_INT, offsetof(T, m), 0, 0, 0, NULL, 0, 0 }
#define STRS(T, m, n) { #m, FK_STRS, offsetof(T, m), sizeof(((T *)0)->m[0]), N_(((T *)0)->m), \
			offsetof(T, n), NULL, 0, 0 }
#define OBJS(T, m, n, sub) { #m, FK_OBJS, offsetof(T, m), sizeof(((T *)0)->m[0]), N_(((T *)0)->m), \
			     offsetof(T, n), sub, N_(sub), 0 }

static const struct fdesc iface_fields[] = {
	STR(struct vl_iface, name),
	STR(struct vl_iface, addr),
	UNS(struct vl_iface, mtu),
	BOOL(struct vl_iface, up),
};

static const struct fdesc peer_fields[] = {
	STR(struct vl_peer, node),
	STR(struct vl_peer, addr),
	INT(struct vl_peer, link),
	BOOL(struct vl_peer, reachable),
	I64(struct vl_peer, rtt_us, -1),
	UNS(struct vl_peer, path_mtu),
	BOOL(struct vl_peer, migration_port),
	STR(struct vl_peer, detail),
};

static const struct fdesc lun_fields[] = {
	STR(struct vl_lun, url),
	STR(struct vl_lun, role),
	BOOL(struct vl_lun, visible),
	STR(struct vl_lun, vendor),
	STR(struct vl_lun, product),
	STR(struct vl_lun, identity),
	U64(struct vl_lun, bytes),
	BOOL(struct vl_lun, pr_tested),
	BOOL(struct vl_lun, pr_ok),
	BOOL(struct vl_lun, pr_caps),
	BOOL(struct vl_lun, in_use),
	STR(struct vl_lun, detail),
};

static const struct fdesc file_fields[] = {
	STR(struct vl_file, path),
	BOOL(struct vl_file, exists),
	STR(struct vl_file, kind),
	U64(struct vl_file, size),
	U64(struct vl_file, dev),
	U64(struct vl_file, ino),
	I64(struct vl_file, mtime_ns, 0),
	STR(struct vl_file, fstype),
	STR(struct vl_file, format),
	STR(struct vl_file, backing),
	STR(struct vl_file, of),
	STR(struct vl_file, detail),
};

#define F struct vl_facts
static const struct fdesc facts_fields[] = {
	STR(F, node),
	BOOL(F, ok),
	STR(F, error),
	STR(F, hostname),
	STR(F, boot_id),
	STR(F, probe_version),
	I64(F, time_ms, 0),
	STR(F, arch),
	BOOL(F, cpu_64bit),
	STR(F, cpu_vendor),
	STR(F, cpu_model),
	STRS(F, cpu_flags, n_cpu_flags),
	BOOL(F, virt_ext),
	BOOL(F, kvm_usable),
	STR(F, kvm_detail),
	UNS(F, cpus),
	U64(F, mem_total_kib),
	U64(F, mem_avail_kib),
	STR(F, kernel),
	STR(F, ver_corosync),
	STR(F, ver_libqb),
	STR(F, ver_libvirt),
	STR(F, ver_qemu),
	STR(F, ver_clusterd),
	STR(F, corosync_conf_hash),
	STR(F, authkey_hash),
	BOOL(F, svc_corosync),
	BOOL(F, svc_libvirtd),
	BOOL(F, svc_clusterd),
	STRS(F, networks, n_networks),
	STRS(F, bridges, n_bridges),
	OBJS(F, ifaces, n_ifaces, iface_fields),
	OBJS(F, peers, n_peers, peer_fields),
	OBJS(F, luns, n_luns, lun_fields),
	OBJS(F, files, n_files, file_fields),
};
#undef F

/* ---- writer ---- */

static size_t count_at(const void *base, const struct fdesc *d, size_t max)
{
	size_t n;

	memcpy(&n, (const char *)base + d->cnt, sizeof(n));
	return n < max ? n : max;   /* never read past the array, whatever the count says */
}

static void write_obj(const void *base, const struct fdesc *t, size_t nt, struct cm_jw *w)
{
	const char *b = base;

	cm_jw_obj_begin(w);
	for (size_t i = 0; i < nt; i++) {
		const struct fdesc *d = &t[i];
		const char *p = b + d->off;

		switch (d->kind) {
		case FK_STR: {
			/* terminated by construction; never read past the buffer anyway */
			char tmp[1024];
			size_t l = strnlen(p, d->size - 1);

			if (l >= sizeof(tmp))
				l = sizeof(tmp) - 1;
			memcpy(tmp, p, l);
			tmp[l] = '\0';
			cm_jw_kv_str(w, d->key, tmp);
			break;
		}
		case FK_BOOL: cm_jw_kv_bool(w, d->key, *(const bool *)(const void *)p); break;
		case FK_I64: cm_jw_kv_int(w, d->key, *(const int64_t *)(const void *)p); break;
		case FK_U64: {
			uint64_t v = *(const uint64_t *)(const void *)p;

			cm_jw_kv_int(w, d->key, v > INT64_MAX ? INT64_MAX : (int64_t)v);
			break;
		}
		case FK_UNS: cm_jw_kv_int(w, d->key, *(const unsigned *)(const void *)p); break;
		case FK_INT: cm_jw_kv_int(w, d->key, *(const int *)(const void *)p); break;
		case FK_STRS: {
			size_t n = count_at(b, d, d->max);

			cm_jw_key(w, d->key);
			cm_jw_arr_begin(w);
			for (size_t k = 0; k < n; k++) {
				char tmp[256];
				const char *s = p + k * d->size;
				size_t l = strnlen(s, d->size - 1);

				if (l >= sizeof(tmp))
					l = sizeof(tmp) - 1;
				memcpy(tmp, s, l);
				tmp[l] = '\0';
				cm_jw_str(w, tmp);
			}
			cm_jw_arr_end(w);
			break;
		}
		case FK_OBJS: {
			size_t n = count_at(b, d, d->max);

			cm_jw_key(w, d->key);
			cm_jw_arr_begin(w);
			for (size_t k = 0; k < n; k++)
				write_obj(p + k * d->size, d->sub, d->nsub, w);
			cm_jw_arr_end(w);
			break;
		}
		}
	}
	cm_jw_obj_end(w);
}

void vl_facts_to_json(const struct vl_facts *f, struct cm_jw *w)
{
	write_obj(f, facts_fields, N_(facts_fields), w);
}

/* ---- reader ---- */

static int refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -CM_E_VALUE;
}

/* An integer member: a JSON number without a fraction, within [lo, hi]. */
static int get_int(const struct cm_jv *v, const char *path, int64_t lo, int64_t hi, int64_t *out,
		   char *err, size_t errlen)
{
	if (v->type != CM_J_NUM || (double)v->i != v->num)
		return refuse(err, errlen, "facts member '%s' must be an integer.", path);
	if (v->i < lo || v->i > hi)
		return refuse(err, errlen, "facts member '%s' is %lld, outside %lld..%lld.", path,
			      (long long)v->i, (long long)lo, (long long)hi);
	*out = v->i;
	return 0;
}

static int get_str(const struct cm_jv *v, const char *path, char *dst, size_t size, char *err, size_t errlen)
{
	if (v->type != CM_J_STR)
		return refuse(err, errlen, "facts member '%s' must be a string.", path);
	if (strlen(v->s) >= size)
		return refuse(err, errlen, "facts member '%s' is longer than %zu characters.", path, size - 1);
	memcpy(dst, v->s, strlen(v->s) + 1);
	return 0;
}

static int read_obj(const struct cm_jv *o, const char *where, void *base, const struct fdesc *t, size_t nt,
		    char *err, size_t errlen)
{
	char *b = base;

	if (o->type != CM_J_OBJ)
		return refuse(err, errlen, "facts%s%s must be a JSON object.", *where ? " member " : "", where);
	for (size_t i = 0; i < nt; i++)
		if (t[i].kind == FK_I64)
			memcpy(b + t[i].off, &t[i].def, sizeof(int64_t));
	for (size_t i = 0; i < nt; i++) {
		const struct fdesc *d = &t[i];
		const struct cm_jv *v = cm_jv_get(o, d->key);
		char *p = b + d->off;
		char path[96];
		int64_t x;
		int rc;

		if (v == NULL)
			continue;
		snprintf(path, sizeof(path), "%s%s%s", where, *where ? "." : "", d->key);
		switch (d->kind) {
		case FK_STR:
			if ((rc = get_str(v, path, p, d->size, err, errlen)) < 0)
				return rc;
			break;
		case FK_BOOL:
			if (v->type != CM_J_BOOL)
				return refuse(err, errlen, "facts member '%s' must be true or false.", path);
			*(bool *)(void *)p = v->b;
			break;
		case FK_I64:
			if ((rc = get_int(v, path, INT64_MIN, INT64_MAX, &x, err, errlen)) < 0)
				return rc;
			*(int64_t *)(void *)p = x;
			break;
		case FK_U64:
			if ((rc = get_int(v, path, 0, INT64_MAX, &x, err, errlen)) < 0)
				return rc;
			*(uint64_t *)(void *)p = (uint64_t)x;
			break;
		case FK_UNS:
			if ((rc = get_int(v, path, 0, UINT_MAX, &x, err, errlen)) < 0)
				return rc;
			*(unsigned *)(void *)p = (unsigned)x;
			break;
		case FK_INT:
			if ((rc = get_int(v, path, INT_MIN, INT_MAX, &x, err, errlen)) < 0)
				return rc;
			*(int *)(void *)p = (int)x;
			break;
		case FK_STRS:
		case FK_OBJS:
			if (v->type != CM_J_ARR)
				return refuse(err, errlen, "facts member '%s' must be an array.", path);
			if (v->nkids > d->max)
				return refuse(err, errlen, "facts member '%s' has %zu entries, at most %zu are allowed.",
					      path, v->nkids, d->max);
			for (size_t k = 0; k < v->nkids; k++) {
				char ep[128];

				snprintf(ep, sizeof(ep), "%s[%u]", path, (unsigned)k);
				if (d->kind == FK_STRS)
					rc = get_str(&v->kids[k], ep, p + k * d->size, d->size, err, errlen);
				else
					rc = read_obj(&v->kids[k], ep, p + k * d->size, d->sub, d->nsub, err, errlen);
				if (rc < 0)
					return rc;
			}
			memcpy(b + d->cnt, &v->nkids, sizeof(size_t));
			break;
		}
	}
	return 0;
}

int vl_facts_from_json(const struct cm_jv *v, struct vl_facts *f, char *err, size_t errlen)
{
	int rc;

	memset(f, 0, sizeof(*f));
	if (err && errlen)
		err[0] = '\0';
	if (v == NULL)
		return refuse(err, errlen, "facts are missing.");
	rc = read_obj(v, "", f, facts_fields, N_(facts_fields), err, errlen);
	if (rc < 0)
		memset(f, 0, sizeof(*f));
	return rc;
}

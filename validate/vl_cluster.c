/* vl_cluster.c - the running cluster as clusval sees it, from cluadmin's
 * JSON (see vl_cluster.h). Pure: no I/O, no clock, no globals.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_json.h"
#include "cm_str.h"
#include "vl_cluster.h"

static int bad(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -CM_E_VALUE;
}

/* doc's member key, which must be an array (of objects); NULL otherwise. */
static const struct cm_jv *array_of(const struct cm_jv *doc, const char *key)
{
	const struct cm_jv *a = doc && doc->type == CM_J_OBJ ? cm_jv_get(doc, key) : NULL;

	return a && a->type == CM_J_ARR ? a : NULL;
}

/* Copy the string member key of o into dst; false when missing, not a
 * string, empty (unless may_be_empty) or too long. */
static bool str_member(const struct cm_jv *o, const char *key, char *dst, size_t len, bool may_be_empty)
{
	const struct cm_jv *v = o && o->type == CM_J_OBJ ? cm_jv_get(o, key) : NULL;

	if (v == NULL || v->type != CM_J_STR || (!may_be_empty && v->s[0] == '\0'))
		return false;
	return cm_strlcpy(dst, v->s, len) >= 0;
}

static int add_lun(struct vl_cluster *c, const char *role, const char *url)
{
	char spec[sizeof(c->luns[0])];

	if (url[0] == '\0')
		return 0;
	if ((size_t)snprintf(spec, sizeof(spec), "%s=%s", role, url) >= sizeof(spec))
		return -CM_E_VALUE;
	for (size_t i = 0; i < c->n_luns; i++) {
		const char *eq = strchr(c->luns[i], '=');

		if (eq && strcmp(eq + 1, url) == 0)
			return 0;        /* the first role a LUN was named with stays */
	}
	if (c->n_luns == VL_MAX_LUNS)
		return -CM_E_VALUE;
	memcpy(c->luns[c->n_luns++], spec, sizeof(spec));
	return 0;
}

int vl_cluster_base(const char *nodes_json, const char *quorum_json, const char *csv_json,
		    const char *vm_list_json, struct vl_cluster *c, char *err, size_t errlen)
{
	struct cm_jv *nd = NULL, *qd = NULL, *cd = NULL, *vd = NULL;
	const struct cm_jv *a, *q, *w;
	char perr[128];
	int rc = 0;

	memset(c, 0, sizeof(*c));
	nd = cm_jv_parse(nodes_json ? nodes_json : "", perr, sizeof(perr));
	if ((a = array_of(nd, "nodes")) == NULL) {
		rc = bad(err, errlen, "'cluadmin node list' did not answer with a node list%s%s", nd ? "" : ": ",
			 nd ? "" : perr);
		goto out;
	}
	for (size_t i = 0; i < a->nkids; i++) {
		if (c->n_nodes == VL_MAX_NODES) {
			rc = bad(err, errlen, "the cluster has more than %d nodes", VL_MAX_NODES);
			goto out;
		}
		if (!str_member(&a->kids[i], "name", c->nodes[c->n_nodes], VL_NAME, false)) {
			rc = bad(err, errlen, "'cluadmin node list': node %zu has no name", i + 1);
			goto out;
		}
		c->n_nodes++;
	}
	if (c->n_nodes == 0) {
		rc = bad(err, errlen, "'cluadmin node list' lists no node");
		goto out;
	}
	qd = cm_jv_parse(quorum_json ? quorum_json : "", perr, sizeof(perr));
	q = qd && qd->type == CM_J_OBJ ? cm_jv_get(qd, "quorum") : NULL;
	if (q == NULL || q->type != CM_J_OBJ) {
		rc = bad(err, errlen, "'cluadmin quorum show' did not answer with the quorum");
		goto out;
	}
	w = cm_jv_get(q, "witness");
	if (w && w->type == CM_J_OBJ) {
		char url[600];

		if (str_member(w, "url", url, sizeof(url), false) && add_lun(c, "witness", url) < 0) {
			rc = bad(err, errlen, "the witness URL is too long");
			goto out;
		}
	}
	cd = cm_jv_parse(csv_json ? csv_json : "", perr, sizeof(perr));
	if ((a = array_of(cd, "csvs")) == NULL) {
		rc = bad(err, errlen, "'cluadmin csv list' did not answer with a CSV list");
		goto out;
	}
	for (size_t i = 0; i < a->nkids && c->n_csvs < VL_MAX_CSVS; i++) {
		if (!str_member(&a->kids[i], "name", c->csvs[c->n_csvs].name, VL_NAME, false) ||
		    !str_member(&a->kids[i], "url", c->csvs[c->n_csvs].url, sizeof(c->csvs[0].url), false)) {
			rc = bad(err, errlen, "'cluadmin csv list': CSV %zu has no name or URL", i + 1);
			goto out;
		}
		if (add_lun(c, "csv", c->csvs[c->n_csvs].url) < 0) {
			rc = bad(err, errlen, "the cluster uses more than %d LUNs", VL_MAX_LUNS);
			goto out;
		}
		c->n_csvs++;
	}
	vd = cm_jv_parse(vm_list_json ? vm_list_json : "", perr, sizeof(perr));
	if ((a = array_of(vd, "vms")) == NULL) {
		rc = bad(err, errlen, "'cluadmin vm list' did not answer with a VM list");
		goto out;
	}
	for (size_t i = 0; i < a->nkids; i++) {
		if (c->n_vm_names == sizeof(c->vm_names) / sizeof(c->vm_names[0])) {
			rc = bad(err, errlen, "the cluster has more than %zu VMs", c->n_vm_names);
			goto out;
		}
		if (!str_member(&a->kids[i], "name", c->vm_names[c->n_vm_names], VL_NAME, false)) {
			rc = bad(err, errlen, "'cluadmin vm list': VM %zu has no name", i + 1);
			goto out;
		}
		c->n_vm_names++;
	}
out:
	cm_jv_free(nd);
	cm_jv_free(qd);
	cm_jv_free(cd);
	cm_jv_free(vd);
	return rc;
}

static const char *csv_url(const struct vl_cluster *c, const char *name)
{
	for (size_t i = 0; i < c->n_csvs; i++)
		if (strcmp(c->csvs[i].name, name) == 0)
			return c->csvs[i].url;
	return "";
}

/* One disk of `vm show` into d; false to leave it out (an empty CD-ROM). */
static bool one_disk(const struct vl_cluster *c, const struct cm_jv *o, struct vl_vm_disk *d)
{
	char type[16] = "", source[VL_PATH] = "", pool[VL_NAME + 8] = "", url[600] = "", proto[16] = "";
	bool fits;

	str_member(o, "target", d->target, sizeof(d->target), false);
	str_member(o, "type", type, sizeof(type), false);
	fits = str_member(o, "source", source, sizeof(source), true) || cm_jv_get(o, "source") == NULL;
	str_member(o, "pool", pool, sizeof(pool), false);
	str_member(o, "url", url, sizeof(url), false);
	str_member(o, "protocol", proto, sizeof(proto), false);
	if (source[0] == '\0' && url[0] == '\0')
		return false;
	if (!fits) {
		/* a path longer than the probe takes: never a cut one */
		cm_strlcpy(d->kind, "other", sizeof(d->kind));
		snprintf(d->source, sizeof(d->source), "%s path longer than %d bytes", type, VL_PATH - 1);
	} else if (!strcmp(type, "file") || !strcmp(type, "block")) {
		cm_strlcpy(d->kind, type, sizeof(d->kind));
		cm_strlcpy(d->source, source, sizeof(d->source));
	} else if (!strcmp(type, "volume") && !strncmp(pool, "csv:", 4)) {
		cm_strlcpy(d->kind, "csv", sizeof(d->kind));
		snprintf(d->source, sizeof(d->source), "%s/%s", pool + 4, source);
		cm_strlcpy(d->lun, csv_url(c, pool + 4), sizeof(d->lun));
	} else if (!strcmp(type, "network") && url[0]) {
		cm_strlcpy(d->kind, "iscsi", sizeof(d->kind));
		cm_strlcpy(d->source, url, sizeof(d->source));
	} else {
		cm_strlcpy(d->kind, "other", sizeof(d->kind));
		snprintf(d->source, sizeof(d->source), "%s%s%s%s%s", type, proto[0] ? " " : "", proto,
			 pool[0] ? " pool " : "", pool);
		if (source[0])
			snprintf(d->source + strlen(d->source), sizeof(d->source) - strlen(d->source), " %s", source);
	}
	return true;
}

int vl_cluster_add_vm(struct vl_cluster *c, const char *vm_show_json, char *err, size_t errlen)
{
	struct cm_jv *doc;
	const struct cm_jv *a;
	struct vl_vm *vm, *grown;
	char perr[128];
	int64_t mb;
	int rc = 0;

	doc = cm_jv_parse(vm_show_json ? vm_show_json : "", perr, sizeof(perr));
	if (doc == NULL || doc->type != CM_J_OBJ) {
		cm_jv_free(doc);
		return bad(err, errlen, "'cluadmin vm show' did not answer with a VM%s%s", doc ? "" : ": ",
			   doc ? "" : perr);
	}
	grown = realloc(c->vms, (c->n_vms + 1) * sizeof(*c->vms));
	if (grown == NULL) {
		cm_jv_free(doc);
		return -ENOMEM;
	}
	c->vms = grown;
	vm = &c->vms[c->n_vms];
	memset(vm, 0, sizeof(*vm));
	if (!str_member(doc, "name", vm->name, sizeof(vm->name), false)) {
		rc = bad(err, errlen, "'cluadmin vm show' answered without a name");
		goto out;
	}
	str_member(doc, "node", vm->owner, sizeof(vm->owner), true);
	mb = cm_jv_get_int(doc, "memory_mb", 0);
	vm->memory_kib = mb > 0 ? (uint64_t)mb * 1024 : 0;
	/* [] or missing: every node of the cluster may own it */
	if ((a = array_of(doc, "possible_owners")) != NULL)
		for (size_t i = 0; i < a->nkids && vm->n_possible < VL_MAX_LIST; i++)
			if (a->kids[i].type == CM_J_STR && a->kids[i].s[0] &&
			    cm_strlcpy(vm->possible[vm->n_possible], a->kids[i].s, VL_NAME) >= 0)
				vm->n_possible++;
	if ((a = array_of(doc, "interfaces")) != NULL) {
		for (size_t i = 0; i < a->nkids && vm->n_nets < VL_VM_NETS; i++) {
			struct vl_vm_net *n = &vm->nets[vm->n_nets];
			char type[16] = "";

			if (!str_member(&a->kids[i], "name", n->name, sizeof(n->name), false))
				continue;
			str_member(&a->kids[i], "type", type, sizeof(type), false);
			n->bridge = strcmp(type, "bridge") == 0;
			vm->n_nets++;
		}
	}
	if ((a = array_of(doc, "disks")) != NULL) {
		for (size_t i = 0; i < a->nkids && vm->n_disks < VL_VM_DISKS; i++) {
			struct vl_vm_disk *d = &vm->disks[vm->n_disks];

			if (!one_disk(c, &a->kids[i], d)) {
				memset(d, 0, sizeof(*d));
				continue;
			}
			if (!strcmp(d->kind, "iscsi") && add_lun(c, "disk", d->source) < 0) {
				rc = bad(err, errlen, "the cluster uses more than %d LUNs", VL_MAX_LUNS);
				goto out;
			}
			vm->n_disks++;
		}
	}
	c->n_vms++;
out:
	cm_jv_free(doc);
	return rc;
}

size_t vl_cluster_files(const struct vl_cluster *c, const char **out, size_t max)
{
	size_t n = 0;

	for (size_t v = 0; v < c->n_vms; v++)
		for (size_t k = 0; k < c->vms[v].n_disks; k++) {
			const struct vl_vm_disk *d = &c->vms[v].disks[k];
			bool seen = false;

			if (strcmp(d->kind, "file") != 0 && strcmp(d->kind, "block") != 0)
				continue;
			for (size_t j = 0; j < n && !seen; j++)
				seen = strcmp(out[j], d->source) == 0;
			if (!seen && n < max)
				out[n++] = d->source;
		}
	return n;
}

void vl_cluster_free(struct vl_cluster *c)
{
	free(c->vms);
	c->vms = NULL;
	c->n_vms = 0;
}

/* res_vmxml_disk.c - the domain XML a node defines, from the one the cluster
 * keeps: CSV volumes become iSCSI network disks with a storage slice, and
 * physical disks get QEMU's iSCSI session registered with the node's key.
 *
 * The cluster keeps <disk type='volume'><source pool='csv:NAME' volume='VOL'/>
 * (libvirt's own syntax for a volume of a pool), because where the volume
 * lies on the LUN is the cluster's business and may change (resize). At
 * define time it becomes
 *   <disk type='network'><driver name='qemu' type='raw' cache='none'/>
 *     <source protocol='iscsi' name='IQN/LUN'><host name= port=/>
 *       <slices><slice type='storage' offset= size=/></slices>
 *       <initiator><iqn name=/></initiator></source>...
 * so QEMU opens the shared LUN itself and live migration copies no storage.
 * No I/O here: the caller resolves volumes (callback) from its replica.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cm_err.h"
#include "cm_str.h"
#include "res_vmxml.h"

#define QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool named(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)name) == 0;
}

static xmlNode *child(xmlNode *parent, const char *name)
{
	xmlNode *c;

	for (c = parent ? parent->children : NULL; c; c = c->next)
		if (named(c, name))
			return c;
	return NULL;
}

/* A copy of an attribute ("" when absent) into buf. */
static const char *attr(xmlNode *n, const char *name, char *buf, size_t len)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);

	cm_strlcpy(buf, v ? (const char *)v : "", len);
	xmlFree(v);
	return buf;
}

static void set(xmlNode *n, const char *name, const char *value)
{
	xmlSetProp(n, (const xmlChar *)name, (const xmlChar *)value);
}

static xmlNode *add(xmlNode *parent, const char *name)
{
	return xmlNewChild(parent, NULL, (const xmlChar *)name, NULL);
}

static void add_initiator(xmlNode *src, const char *initiator)
{
	xmlNode *ini;

	if (!initiator || !initiator[0] || child(src, "initiator"))
		return;
	ini = add(src, "initiator");
	set(add(ini, "iqn"), "name", initiator);
}

static int csv_disk(xmlNode *disk, const struct res_storage_env *env, char *err, size_t errlen)
{
	xmlNode *src = child(disk, "source"), *drv, *nsrc, *host, *slices, *slice;
	char pool[128], vol[128], name[300], num[32], tgt[64];
	struct res_lunref ref;
	int rc;

	attr(src, "pool", pool, sizeof(pool));
	attr(src, "volume", vol, sizeof(vol));
	attr(child(disk, "target"), "dev", tgt, sizeof(tgt));
	if (!env->resolve) {
		seterr(err, errlen, "disk '%s': CSV volumes are not available here", tgt);
		return -CM_E_STATE;
	}
	memset(&ref, 0, sizeof(ref));
	if ((rc = env->resolve(env->ctx, pool + 4, vol, &ref, err, errlen)) < 0)
		return rc;
	set(disk, "type", "network");
	if ((drv = child(disk, "driver")) == NULL) {
		drv = xmlNewNode(NULL, (const xmlChar *)"driver");
		xmlAddPrevSibling(src, drv);
	}
	set(drv, "name", "qemu");
	set(drv, "type", "raw");
	set(drv, "cache", "none");
	nsrc = xmlNewNode(NULL, (const xmlChar *)"source");
	set(nsrc, "protocol", "iscsi");
	snprintf(name, sizeof(name), "%s/%u", ref.iqn, ref.lun);
	set(nsrc, "name", name);
	host = add(nsrc, "host");
	set(host, "name", ref.host);
	snprintf(num, sizeof(num), "%u", ref.port ? ref.port : 3260);
	set(host, "port", num);
	slices = add(nsrc, "slices");
	slice = add(slices, "slice");
	set(slice, "type", "storage");
	snprintf(num, sizeof(num), "%" PRIu64, ref.off);
	set(slice, "offset", num);
	snprintf(num, sizeof(num), "%" PRIu64, ref.size);
	set(slice, "size", num);
	add_initiator(nsrc, env->initiator);
	xmlReplaceNode(src, nsrc);
	xmlFreeNode(src);
	return 1;
}

static void add_env(xmlNode *cl, xmlNs *ns, const char *name, const char *value)
{
	xmlNode *e = xmlNewChild(cl, ns, (const xmlChar *)"env", NULL);

	set(e, "name", name);
	set(e, "value", value);
}

static void add_shim(xmlNode *root, const struct res_storage_env *env, const char *targets)
{
	xmlNs *ns = xmlSearchNsByHref(root->doc, root, (const xmlChar *)QEMU_NS);
	xmlNode *cl;

	if (ns == NULL)
		ns = xmlNewNs(root, (const xmlChar *)QEMU_NS, (const xmlChar *)"qemu");
	cl = xmlNewChild(root, ns, (const xmlChar *)"commandline", NULL);
	add_env(cl, ns, "LD_PRELOAD", env->shim_path);
	add_env(cl, ns, "CM_PR_KEY", env->pr_key);
	add_env(cl, ns, "CM_PR_TARGETS", targets);
	if (env->shim_log && env->shim_log[0])
		add_env(cl, ns, "CM_PR_LOG", env->shim_log);
}

int res_vmxml_storage(const char *xml, const struct res_storage_env *env, char **out, char *err, size_t errlen)
{
	xmlDoc *doc;
	xmlNode *root, *devs, *d;
	xmlChar *buf = NULL;
	int len = 0, rc = 0, changed = 0;
	struct cm_sb targets;

	*out = NULL;
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (doc == NULL) {
		seterr(err, errlen, "domain XML: not well-formed");
		return -CM_E_VALUE;
	}
	cm_sb_init(&targets);
	root = xmlDocGetRootElement(doc);
	devs = child(root, "devices");
	for (d = devs ? devs->children : NULL; d && rc >= 0; d = d->next) {
		char type[32], v[128];
		xmlNode *src;

		if (!named(d, "disk"))
			continue;
		attr(d, "type", type, sizeof(type));
		src = child(d, "source");
		if (strcmp(type, "volume") == 0 && src && strncmp(attr(src, "pool", v, sizeof(v)), "csv:", 4) == 0) {
			rc = csv_disk(d, env, err, errlen);
			changed += rc > 0;
		} else if (strcmp(type, "network") == 0 && src &&
			   strcmp(attr(src, "protocol", v, sizeof(v)), "iscsi") == 0) {
			if (!child(src, "slices"))
				cm_sb_printf(&targets, "%s%s", targets.len ? "," : "", attr(src, "name", v, sizeof(v)));
			if (env->initiator && env->initiator[0] && !child(src, "initiator")) {
				add_initiator(src, env->initiator);
				changed++;
			}
		}
	}
	if (rc >= 0 && targets.len && env->shim_path && env->shim_path[0] && env->pr_key && env->pr_key[0]) {
		add_shim(root, env, cm_sb_str(&targets));
		changed++;
	}
	if (rc >= 0 && changed) {
		xmlDocDumpMemoryEnc(doc, &buf, &len, "UTF-8");
		if (buf == NULL || (*out = strndup((const char *)buf, (size_t)len)) == NULL)
			rc = -ENOMEM;
		xmlFree(buf);
	}
	xmlFreeDoc(doc);
	cm_sb_free(&targets);
	return rc < 0 ? rc : 0;
}

int res_vmxml_csv_vols(const struct res_vmxml *x, char *buf, size_t len)
{
	struct cm_sb sb;
	size_t i;
	int rc;

	cm_sb_init(&sb);
	for (i = 0; i < x->n_disks; i++) {
		const struct res_vmxml_disk *d = &x->disks[i];

		if (d->type != RES_DISK_VOLUME || !d->pool || strncmp(d->pool, "csv:", 4) != 0 || !d->volume)
			continue;
		cm_sb_printf(&sb, "%s%s/%s", sb.len ? "," : "", d->pool + 4, d->volume);
	}
	rc = cm_strlcpy(buf, cm_sb_str(&sb), len) < 0 ? -ENAMETOOLONG : 0;
	cm_sb_free(&sb);
	return rc;
}

int res_vmxml_whole_luns(const struct res_vmxml *x, char *buf, size_t len)
{
	struct cm_sb sb;
	size_t i;
	int rc;

	cm_sb_init(&sb);
	for (i = 0; i < x->n_disks; i++) {
		const struct res_vmxml_disk *d = &x->disks[i];

		if (d->type != RES_DISK_NETWORK || !d->protocol || strcmp(d->protocol, "iscsi") != 0 || !d->name ||
		    d->has_slice || d->n_hosts == 0)
			continue;
		cm_sb_printf(&sb, "%siscsi://%s:%u/%s", sb.len ? "," : "", d->hosts[0].name,
			     d->hosts[0].port ? d->hosts[0].port : 3260, d->name);
	}
	rc = cm_strlcpy(buf, cm_sb_str(&sb), len) < 0 ? -ENAMETOOLONG : 0;
	cm_sb_free(&sb);
	return rc;
}

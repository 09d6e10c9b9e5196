/* res_vmxml.c - parse a libvirt domain XML into the facts the vm-config
 * resource decides on, and check that its disks are on shared storage.
 *
 * Owns: res_vmxml_parse/free, the shared-storage rule, the qcow2 header
 * reader. Must never: talk to libvirt, load DTDs or external entities, use
 * the network, or follow symlinks (paths are compared lexically, so the check
 * gives the same answer on every node whatever is mounted). The only I/O is
 * reading qcow2 headers in res_qcow2_backing.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "cm_err.h"
#include "cm_str.h"
#include "res_vmxml.h"

#define NAME_MAX_BYTES 255

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- small parsing helpers ---- */

/* Decimal digits only (leading/trailing blanks allowed, as libvirt's
 * strtoull-based parsing does). 0 ok, -1 not a number, -2 overflow. */
static int parse_u64(const char *s, uint64_t *v)
{
	uint64_t r = 0;

	while (*s && isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (r > (UINT64_MAX - d) / 10)
			return -2;
		r = r * 10 + d;
	}
	while (*s && isspace((unsigned char)*s))
		s++;
	if (*s)
		return -1;
	*v = r;
	return 0;
}

static int is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns == NULL &&
	       xmlStrEqual(n->name, (const xmlChar *)name);
}

/* The only child element called name (NULL if none); two is an error
 * because libvirt would silently use the first and we would disagree. */
static int child_once(const xmlNode *parent, const char *name, const char *where,
		      xmlNode **out, char *err, size_t errlen)
{
	xmlNode *c;

	*out = NULL;
	for (c = parent->children; c; c = c->next) {
		if (!is_elem(c, name))
			continue;
		if (*out) {
			set_err(err, errlen, "domain XML: <%s> appears twice in %s", name, where);
			return -CM_E_VALUE;
		}
		*out = c;
	}
	return 0;
}

/* Copy an attribute into a malloc'd string (*out NULL when absent). */
static int attr_dup(const xmlNode *n, const char *name, char **out)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);

	*out = NULL;
	if (!v)
		return 0;
	*out = strdup((const char *)v);
	xmlFree(v);
	return *out ? 0 : -ENOMEM;
}

static int text_dup(const xmlNode *n, char **out)
{
	xmlChar *v = xmlNodeGetContent(n);

	*out = strdup(v ? (const char *)v : "");
	xmlFree(v);
	return *out ? 0 : -ENOMEM;
}

/* Attribute compare without copying; absent never matches. */
static int attr_is(const xmlNode *n, const char *name, const char *want)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	int eq = v && strcmp((const char *)v, want) == 0;

	xmlFree(v);
	return eq;
}

/* ---- domain-level elements ---- */

struct unit { const char *name; uint64_t mult; };

/* libvirt's memory units: bare letters and KiB-style are powers of 1024,
 * KB/MB/... powers of 1000. */
static const struct unit mem_units[] = {
	{ "b", 1 }, { "bytes", 1 },
	{ "k", 1ULL << 10 }, { "KiB", 1ULL << 10 }, { "KB", 1000ULL },
	{ "M", 1ULL << 20 }, { "MiB", 1ULL << 20 }, { "MB", 1000000ULL },
	{ "G", 1ULL << 30 }, { "GiB", 1ULL << 30 }, { "GB", 1000000000ULL },
	{ "T", 1ULL << 40 }, { "TiB", 1ULL << 40 }, { "TB", 1000000000000ULL },
};

static int parse_memory(const xmlNode *n, struct res_vmxml *x, char *err, size_t errlen)
{
	xmlChar *unit = xmlGetProp(n, (const xmlChar *)"unit");
	xmlChar *txt = xmlNodeGetContent(n);
	uint64_t v, mult = 0, bytes;
	size_t i;
	int rc = -CM_E_VALUE, prc;

	if (!unit) {
		mult = 1024; /* KiB is libvirt's default */
	} else {
		for (i = 0; i < sizeof(mem_units) / sizeof(mem_units[0]); i++)
			if (strcmp((const char *)unit, mem_units[i].name) == 0)
				mult = mem_units[i].mult;
	}
	if (mult == 0) {
		set_err(err, errlen, "domain XML: <memory unit='%s'>: unknown unit (b, KiB, MiB, GiB, TiB, KB, MB, GB, TB)",
			(const char *)unit);
		goto out;
	}
	prc = parse_u64(txt ? (const char *)txt : "", &v);
	if (prc == -1) {
		set_err(err, errlen, "domain XML: <memory> '%s' is not a whole number",
			txt ? (const char *)txt : "");
		goto out;
	}
	if (prc == -2 || v > UINT64_MAX / mult) {
		set_err(err, errlen, "domain XML: <memory> '%s' is too large", (const char *)txt);
		goto out;
	}
	bytes = v * mult;
	if (bytes == 0) {
		set_err(err, errlen, "domain XML: <memory> is 0");
		goto out;
	}
	/* Rounded up: a guest never gets less than it asked for. */
	x->memory_mib = bytes / (1ULL << 20) + (bytes % (1ULL << 20) ? 1 : 0);
	rc = 0;
out:
	xmlFree(unit);
	xmlFree(txt);
	return rc;
}

static int uuid_is_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 32) {
		for (i = 0; i < n; i++)
			if (!isxdigit((unsigned char)s[i]))
				return 0;
		return 1;
	}
	if (n != 36)
		return 0;
	for (i = 0; i < n; i++) {
		int dash = (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

static int parse_name(const xmlNode *root, struct res_vmxml *x, char *err, size_t errlen)
{
	xmlNode *n;
	size_t i;
	int rc = child_once(root, "name", "<domain>", &n, err, errlen);

	if (rc < 0)
		return rc;
	if (!n) {
		set_err(err, errlen, "domain XML: <name> is missing");
		return -CM_E_VALUE;
	}
	if ((rc = text_dup(n, &x->name)) < 0)
		return rc;
	if (x->name[0] == '\0' || strlen(x->name) > NAME_MAX_BYTES) {
		set_err(err, errlen, "domain XML: <name> must have 1 to %d bytes", NAME_MAX_BYTES);
		return -CM_E_VALUE;
	}
	for (i = 0; x->name[i]; i++) {
		if (x->name[i] == '/' || iscntrl((unsigned char)x->name[i])) {
			set_err(err, errlen, "domain XML: <name> '%s' contains '/' or a control character",
				x->name);
			return -CM_E_VALUE;
		}
	}
	return 0;
}

static int parse_uuid_vcpu(const xmlNode *root, struct res_vmxml *x, char *err, size_t errlen)
{
	xmlNode *n;
	xmlChar *t;
	uint64_t v;
	int rc = child_once(root, "uuid", "<domain>", &n, err, errlen);

	if (rc < 0)
		return rc;
	if (n) {
		t = xmlNodeGetContent(n);
		if (!t || !uuid_is_valid((const char *)t)) {
			set_err(err, errlen, "domain XML: <uuid> '%s' is not a UUID", t ? (const char *)t : "");
			xmlFree(t);
			return -CM_E_VALUE;
		}
		cm_strlcpy(x->uuid, (const char *)t, sizeof(x->uuid));
		xmlFree(t);
	}
	if ((rc = child_once(root, "vcpu", "<domain>", &n, err, errlen)) < 0)
		return rc;
	x->vcpus = 1;
	if (n) {
		t = xmlNodeGetContent(n);
		rc = parse_u64(t ? (const char *)t : "", &v);
		if (rc < 0 || v < 1 || v > RES_VMXML_MAX_VCPUS) {
			set_err(err, errlen, "domain XML: <vcpu> '%s' is not a number from 1 to %d",
				t ? (const char *)t : "", RES_VMXML_MAX_VCPUS);
			xmlFree(t);
			return -CM_E_VALUE;
		}
		xmlFree(t);
		x->vcpus = (unsigned)v;
	}
	return 0;
}

static int parse_os(const xmlNode *root, struct res_vmxml *x, char *err, size_t errlen)
{
	xmlNode *os, *n;
	int rc = child_once(root, "os", "<domain>", &os, err, errlen);

	if (rc < 0 || !os)
		return rc;
	if ((rc = child_once(os, "kernel", "<os>", &n, err, errlen)) < 0)
		return rc;
	if (n && (rc = text_dup(n, &x->kernel)) < 0)
		return rc;
	if ((rc = child_once(os, "initrd", "<os>", &n, err, errlen)) < 0)
		return rc;
	if (n && (rc = text_dup(n, &x->initrd)) < 0)
		return rc;
	return 0;
}

/* ---- devices ---- */

static int parse_slice(const xmlNode *src, struct res_vmxml_disk *d, char *err, size_t errlen)
{
	xmlNode *slices, *s;
	xmlChar *off, *size;
	int rc = child_once(src, "slices", "<source>", &slices, err, errlen);

	if (rc < 0 || !slices)
		return rc;
	for (s = slices->children; s; s = s->next) {
		if (!is_elem(s, "slice") || !attr_is(s, "type", "storage"))
			continue;
		if (d->has_slice) {
			set_err(err, errlen, "disk '%s': two storage <slice> elements", d->target);
			return -CM_E_VALUE;
		}
		off = xmlGetProp(s, (const xmlChar *)"offset");
		size = xmlGetProp(s, (const xmlChar *)"size");
		rc = (!off || !size ||
		      parse_u64((const char *)off, &d->slice_offset) < 0 ||
		      parse_u64((const char *)size, &d->slice_size) < 0 ||
		      d->slice_size == 0 || d->slice_offset > UINT64_MAX - d->slice_size) ? -CM_E_VALUE : 0;
		xmlFree(off);
		xmlFree(size);
		if (rc < 0) {
			set_err(err, errlen, "disk '%s': <slice type='storage'> needs whole-number offset= and size= (size > 0)",
				d->target);
			return rc;
		}
		d->has_slice = 1;
	}
	return 0;
}

static int parse_hosts(const xmlNode *src, struct res_vmxml_disk *d, char *err, size_t errlen)
{
	xmlNode *h;
	xmlChar *port;
	uint64_t p;
	int rc;

	for (h = src->children; h; h = h->next) {
		if (!is_elem(h, "host"))
			continue;
		if (d->n_hosts == RES_VMXML_MAX_HOSTS) {
			set_err(err, errlen, "disk '%s': more than %d <host> elements", d->target,
				RES_VMXML_MAX_HOSTS);
			return -CM_E_VALUE;
		}
		if ((rc = attr_dup(h, "name", &d->hosts[d->n_hosts].name)) < 0)
			return rc;
		port = xmlGetProp(h, (const xmlChar *)"port");
		rc = port && (parse_u64((const char *)port, &p) < 0 || p < 1 || p > 65535);
		if (port && !rc)
			d->hosts[d->n_hosts].port = (unsigned)p;
		d->n_hosts++;
		if (rc) {
			set_err(err, errlen, "disk '%s': <host port='%s'> is not a port number",
				d->target, (const char *)port);
			xmlFree(port);
			return -CM_E_VALUE;
		}
		xmlFree(port);
	}
	return 0;
}

static int parse_source(const xmlNode *disk, struct res_vmxml_disk *d, char *err, size_t errlen)
{
	xmlNode *src;
	int rc = child_once(disk, "source", "<disk>", &src, err, errlen);

	if (rc < 0)
		return rc;
	if (!src) {
		if (d->device == RES_DISK_DEV_CDROM)
			return 0; /* an empty drive */
		set_err(err, errlen, "disk '%s': <source> is missing", d->target);
		return -CM_E_VALUE;
	}
	switch (d->type) {
	case RES_DISK_FILE:
		rc = attr_dup(src, "file", &d->path);
		break;
	case RES_DISK_BLOCK:
		rc = attr_dup(src, "dev", &d->path);
		break;
	case RES_DISK_NETWORK:
		if ((rc = attr_dup(src, "protocol", &d->protocol)) == 0 &&
		    (rc = attr_dup(src, "name", &d->name)) == 0)
			rc = parse_hosts(src, d, err, errlen);
		break;
	case RES_DISK_VOLUME:
		if ((rc = attr_dup(src, "pool", &d->pool)) == 0)
			rc = attr_dup(src, "volume", &d->volume);
		break;
	}
	if (rc < 0)
		return rc;
	if ((d->type == RES_DISK_FILE || d->type == RES_DISK_BLOCK) && !d->path &&
	    d->device != RES_DISK_DEV_CDROM) {
		set_err(err, errlen, "disk '%s': <source> has no %s=", d->target,
			d->type == RES_DISK_FILE ? "file" : "dev");
		return -CM_E_VALUE;
	}
	if (d->type == RES_DISK_NETWORK && !d->protocol) {
		set_err(err, errlen, "disk '%s': <source> has no protocol=", d->target);
		return -CM_E_VALUE;
	}
	if (d->type == RES_DISK_VOLUME && (!d->pool || !d->volume)) {
		set_err(err, errlen, "disk '%s': <source> needs pool= and volume=", d->target);
		return -CM_E_VALUE;
	}
	return parse_slice(src, d, err, errlen);
}

static int parse_disk_kind(const xmlNode *n, struct res_vmxml_disk *d, char *err, size_t errlen)
{
	static const char *const types[] = { "file", "block", "network", "volume" };
	xmlChar *t = xmlGetProp(n, (const xmlChar *)"type");
	xmlChar *dev = xmlGetProp(n, (const xmlChar *)"device");
	int rc = 0;
	size_t i;

	d->type = RES_DISK_FILE; /* libvirt's default */
	if (t) {
		for (i = 0; i < 4 && strcmp((const char *)t, types[i]) != 0; i++)
			;
		if (i == 4) {
			set_err(err, errlen, "disk '%s': type '%s' is not supported (file, block, network or volume)",
				d->target, (const char *)t);
			rc = -CM_E_VALUE;
		}
		d->type = (enum res_vmxml_disktype)i;
	}
	if (!rc && dev && strcmp((const char *)dev, "disk") != 0) {
		if (strcmp((const char *)dev, "cdrom") == 0) {
			d->device = RES_DISK_DEV_CDROM;
		} else {
			set_err(err, errlen, "disk '%s': device '%s' is not supported (disk or cdrom)",
				d->target, (const char *)dev);
			rc = -CM_E_VALUE;
		}
	}
	xmlFree(t);
	xmlFree(dev);
	return rc;
}

static int parse_driver(const xmlNode *n, struct res_vmxml_disk *d, char *err, size_t errlen)
{
	xmlNode *drv;
	xmlChar *t;
	int rc = child_once(n, "driver", "<disk>", &drv, err, errlen);

	if (rc < 0 || !drv)
		return rc;
	t = xmlGetProp(drv, (const xmlChar *)"type");
	if (!t)
		return 0;
	if (strcmp((const char *)t, "raw") == 0) {
		d->format = RES_FMT_RAW;
	} else if (strcmp((const char *)t, "qcow2") == 0) {
		d->format = RES_FMT_QCOW2;
	} else {
		set_err(err, errlen, "disk '%s': <driver type='%s'> is not supported (raw or qcow2)",
			d->target, (const char *)t);
		rc = -CM_E_VALUE;
	}
	xmlFree(t);
	return rc;
}

static int parse_disk(const xmlNode *n, struct res_vmxml *x, char *err, size_t errlen)
{
	struct res_vmxml_disk *d;
	xmlNode *tgt, *ro;
	int rc;

	if (x->n_disks == RES_VMXML_MAX_DISKS) {
		set_err(err, errlen, "domain XML: more than %d <disk> elements", RES_VMXML_MAX_DISKS);
		return -CM_E_VALUE;
	}
	d = &x->disks[x->n_disks++];
	/* The target first: every later sentence names the disk by it. */
	if ((rc = child_once(n, "target", "<disk>", &tgt, err, errlen)) < 0)
		return rc;
	if (tgt && (rc = attr_dup(tgt, "dev", &d->target)) < 0)
		return rc;
	if (!d->target || !d->target[0]) {
		set_err(err, errlen, "domain XML: <disk> #%zu has no <target dev=...>", x->n_disks);
		return -CM_E_VALUE;
	}
	if ((rc = parse_disk_kind(n, d, err, errlen)) < 0 ||
	    (rc = parse_driver(n, d, err, errlen)) < 0 ||
	    (rc = child_once(n, "readonly", "<disk>", &ro, err, errlen)) < 0)
		return rc;
	d->readonly = ro != NULL;
	return parse_source(n, d, err, errlen);
}

static int parse_iface(const xmlNode *n, struct res_vmxml *x, char *err, size_t errlen)
{
	struct res_vmxml_iface *f;
	xmlNode *src;
	const char *attr = NULL;
	int rc;

	if (x->n_ifaces == RES_VMXML_MAX_IFACES) {
		set_err(err, errlen, "domain XML: more than %d <interface> elements", RES_VMXML_MAX_IFACES);
		return -CM_E_VALUE;
	}
	f = &x->ifaces[x->n_ifaces++];
	if ((rc = attr_dup(n, "type", &f->type_str)) < 0)
		return rc;
	if (!f->type_str) {
		set_err(err, errlen, "domain XML: <interface> #%zu has no type=", x->n_ifaces);
		return -CM_E_VALUE;
	}
	f->type = RES_IF_OTHER;
	if (strcmp(f->type_str, "network") == 0) {
		f->type = RES_IF_NETWORK;
		attr = "network";
	} else if (strcmp(f->type_str, "bridge") == 0) {
		f->type = RES_IF_BRIDGE;
		attr = "bridge";
	}
	if (!attr)
		return 0;
	if ((rc = child_once(n, "source", "<interface>", &src, err, errlen)) < 0)
		return rc;
	if (src && (rc = attr_dup(src, attr, &f->source)) < 0)
		return rc;
	if (!f->source || !f->source[0]) {
		set_err(err, errlen, "domain XML: <interface type='%s'> #%zu has no <source %s=...>",
			f->type_str, x->n_ifaces, attr);
		return -CM_E_VALUE;
	}
	return 0;
}

static int parse_serial(const xmlNode *n, struct res_vmxml *x, char *err, size_t errlen)
{
	xmlNode *src;
	int rc;

	if (x->serial_file || !attr_is(n, "type", "file"))
		return 0; /* only the first file-backed serial port is the console */
	if ((rc = child_once(n, "source", "<serial>", &src, err, errlen)) < 0)
		return rc;
	if (src && (rc = attr_dup(src, "path", &x->serial_file)) < 0)
		return rc;
	if (!x->serial_file) {
		set_err(err, errlen, "domain XML: <serial type='file'> has no <source path=...>");
		return -CM_E_VALUE;
	}
	return 0;
}

static int parse_devices(const xmlNode *root, struct res_vmxml *x, char *err, size_t errlen)
{
	xmlNode *devs, *c;
	int rc = child_once(root, "devices", "<domain>", &devs, err, errlen);

	if (rc < 0 || !devs)
		return rc;
	for (c = devs->children; c && rc == 0; c = c->next) {
		if (is_elem(c, "disk"))
			rc = parse_disk(c, x, err, errlen);
		else if (is_elem(c, "interface"))
			rc = parse_iface(c, x, err, errlen);
		else if (is_elem(c, "serial"))
			rc = parse_serial(c, x, err, errlen);
	}
	return rc;
}

static int parse_root(const xmlNode *root, struct res_vmxml *x, char *err, size_t errlen)
{
	xmlNode *mem;
	int rc;

	if (!root || !is_elem(root, "domain")) {
		set_err(err, errlen, "domain XML: the root element is <%s>, not <domain>",
			root ? (const char *)root->name : "");
		return -CM_E_VALUE;
	}
	if (attr_is(root, "type", "qemu")) {
		x->type = RES_VMXML_QEMU;
	} else if (attr_is(root, "type", "kvm")) {
		x->type = RES_VMXML_KVM;
	} else {
		set_err(err, errlen, "domain XML: <domain type=...> must be 'qemu' or 'kvm'");
		return -CM_E_VALUE;
	}
	if ((rc = parse_name(root, x, err, errlen)) < 0 ||
	    (rc = parse_uuid_vcpu(root, x, err, errlen)) < 0 ||
	    (rc = child_once(root, "memory", "<domain>", &mem, err, errlen)) < 0)
		return rc;
	if (!mem) {
		set_err(err, errlen, "domain XML: <memory> is missing");
		return -CM_E_VALUE;
	}
	if ((rc = parse_memory(mem, x, err, errlen)) < 0 ||
	    (rc = parse_os(root, x, err, errlen)) < 0)
		return rc;
	return parse_devices(root, x, err, errlen);
}

/* A DTD is the door to entity expansion (billion laughs) and external
 * fetches; libvirt's XML never has one, so refuse it before parsing. */
static int has_dtd(const char *xml, size_t len)
{
	static const char *const bad[] = { "<!DOCTYPE", "<!ENTITY" };
	size_t i, j, n;

	for (j = 0; j < 2; j++) {
		n = strlen(bad[j]);
		for (i = 0; i + n <= len; i++)
			if (xml[i] == '<' && memcmp(xml + i, bad[j], n) == 0)
				return 1;
	}
	return 0;
}

static int read_doc(const char *xml, size_t len, xmlDoc **doc, char *err, size_t errlen)
{
	xmlParserCtxt *ctxt;
	const xmlError *e;
	int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;

	*doc = NULL;
	if (len > RES_VMXML_MAX_BYTES) {
		set_err(err, errlen, "domain XML: %zu bytes, more than the %d allowed", len,
			RES_VMXML_MAX_BYTES);
		return -CM_E_TOOBIG;
	}
	if (has_dtd(xml, len)) {
		set_err(err, errlen, "domain XML: a <!DOCTYPE> or <!ENTITY> is not allowed");
		return -CM_E_VALUE;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	*doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL, opts);
	if (!*doc) {
		e = xmlCtxtGetLastError(ctxt);
		set_err(err, errlen, "domain XML: not well-formed XML (line %d: %s)",
			e ? e->line : 0, e && e->message ? e->message : "parse error\n");
		/* libxml2 messages end in a newline; the sentence should not. */
		if (err && errlen && (len = strlen(err)) > 1 && err[len - 2] == '\n') {
			err[len - 2] = ')';
			err[len - 1] = '\0';
		}
		xmlFreeParserCtxt(ctxt);
		return -CM_E_VALUE;
	}
	xmlFreeParserCtxt(ctxt);
	if ((*doc)->intSubset || (*doc)->extSubset) {
		set_err(err, errlen, "domain XML: a <!DOCTYPE> is not allowed");
		return -CM_E_VALUE;
	}
	return 0;
}

int res_vmxml_parse(const char *xml, size_t len, struct res_vmxml **out,
		    char *err, size_t errlen)
{
	struct res_vmxml *x = NULL;
	xmlDoc *doc = NULL;
	int rc;

	*out = NULL;
	if (!xml) {
		set_err(err, errlen, "domain XML: empty");
		return -CM_E_VALUE;
	}
	if ((rc = read_doc(xml, len, &doc, err, errlen)) < 0)
		goto out;
	x = calloc(1, sizeof(*x));
	if (!x) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = parse_root(xmlDocGetRootElement(doc), x, err, errlen)) < 0)
		goto out;
	*out = x;
	x = NULL;
out:
	if (rc == -ENOMEM)
		set_err(err, errlen, "domain XML: out of memory");
	res_vmxml_free(x);
	xmlFreeDoc(doc);
	return rc;
}

void res_vmxml_free(struct res_vmxml *x)
{
	size_t i, j;

	if (!x)
		return;
	for (i = 0; i < x->n_disks; i++) {
		struct res_vmxml_disk *d = &x->disks[i];

		free(d->path);
		free(d->protocol);
		free(d->name);
		for (j = 0; j < d->n_hosts; j++)
			free(d->hosts[j].name);
		free(d->pool);
		free(d->volume);
		free(d->target);
	}
	for (i = 0; i < x->n_ifaces; i++) {
		free(x->ifaces[i].type_str);
		free(x->ifaces[i].source);
	}
	free(x->name);
	free(x->kernel);
	free(x->initrd);
	free(x->serial_file);
	free(x);
}

size_t res_vmxml_networks(const struct res_vmxml *x, struct res_vmxml_net *out, size_t max)
{
	size_t i, j, n = 0;

	for (i = 0; i < x->n_ifaces; i++) {
		const struct res_vmxml_iface *f = &x->ifaces[i];
		int dup = 0;

		if (f->type == RES_IF_OTHER)
			continue;
		/* Earlier interfaces decide duplicates, so out[] need not hold them. */
		for (j = 0; j < i && !dup; j++)
			dup = x->ifaces[j].type == f->type && strcmp(x->ifaces[j].source, f->source) == 0;
		if (dup)
			continue;
		if (n < max) {
			out[n].type = f->type;
			out[n].name = f->source;
		}
		n++;
	}
	return n;
}

/* ---- shared storage ---- */

/* Lexical normal form of an absolute path: no '//', no '.', no trailing
 * '/'. '..' is refused rather than resolved: with symlinks "a/.." need not
 * be where it looks. 0, or a static reason. */
static const char *path_norm(const char *in, char *out, size_t outlen)
{
	size_t o = 0, n;
	const char *p = in, *seg;

	if (in[0] != '/')
		return "is not an absolute path";
	while (*p) {
		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.')
			return "contains a '..' component";
		if (o + 1 + n + 1 > outlen)
			return "is too long";
		out[o++] = '/';
		memcpy(out + o, seg, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return NULL;
}

static int path_is_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[1] != '\0';
	return strncmp(path, dir, n) == 0 && path[n] == '/' && path[n + 1] != '\0';
}

/* 0 if path (normalised into norm) lies under a shared directory; else
 * -CM_E_VALUE with why filled, or -CM_E_CONF for a bad shared directory. */
static int path_is_shared(const struct res_shared *sh, const char *path, char *norm,
			  char *why, size_t whylen)
{
	char dir[PATH_MAX];
	const char *r = path_norm(path, norm, PATH_MAX);
	size_t i;

	if (r) {
		snprintf(why, whylen, "'%s' %s", path, r);
		return -CM_E_VALUE;
	}
	for (i = 0; i < sh->n_dirs; i++) {
		if ((r = path_norm(sh->dirs[i], dir, sizeof(dir)))) {
			snprintf(why, whylen, "shared directory '%s' %s", sh->dirs[i], r);
			return -CM_E_CONF;
		}
		if (path_is_under(norm, dir))
			return 0;
	}
	snprintf(why, whylen, "'%s' is not under a shared directory", norm);
	return -CM_E_VALUE;
}

/* "IQN/LUN" (a missing LUN is 0, as in libvirt) into iqn and lun. */
static int split_iqn_lun(const char *s, char *iqn, size_t iqnlen, uint64_t *lun)
{
	const char *slash = strrchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	*lun = 0;
	if (n == 0 || n >= iqnlen || (slash && parse_u64(slash + 1, lun) < 0))
		return -1;
	memcpy(iqn, s, n);
	iqn[n] = '\0';
	return strchr(iqn, '/') ? -1 : 0;
}

/* Match on IQN and LUN only: the same LUN may be reached through any portal. */
static int lun_is_shared(const struct res_shared *sh, const struct res_vmxml_disk *d,
			 char *err, size_t errlen)
{
	char iqn[256], want[256];
	const char *u, *p;
	uint64_t lun, wlun;
	size_t i;

	if (strcmp(d->protocol, "iscsi") != 0) {
		set_err(err, errlen, "disk '%s': network protocol '%s' is not shared storage of the cluster (iscsi LUNs of physical disks only)",
			d->target, d->protocol);
		return -CM_E_VALUE;
	}
	if (!d->name || d->n_hosts == 0 || split_iqn_lun(d->name, want, sizeof(want), &wlun) < 0) {
		set_err(err, errlen, "disk '%s': an iscsi disk needs <source name='IQN/LUN'> and a <host>",
			d->target);
		return -CM_E_VALUE;
	}
	for (i = 0; i < sh->n_luns; i++) {
		u = sh->luns[i];
		p = strncmp(u, "iscsi://", 8) == 0 ? strchr(u + 8, '/') : NULL;
		if (!p || p == u + 8 || split_iqn_lun(p + 1, iqn, sizeof(iqn), &lun) < 0 ||
		    !strchr(p + 1, '/')) {
			set_err(err, errlen, "physical disk '%s' is not iscsi://HOST[:PORT]/IQN/LUN", u);
			return -CM_E_URL;
		}
		if (strcasecmp(iqn, want) == 0 && lun == wlun)
			return 0;
	}
	set_err(err, errlen, "disk '%s': iSCSI LUN '%s/%llu' is not a physical disk of the cluster",
		d->target, want, (unsigned long long)wlun);
	return -CM_E_VALUE;
}

static int csv_is_shared(const struct res_shared *sh, const struct res_vmxml_disk *d,
			 char *err, size_t errlen)
{
	const char *name;
	size_t i;

	if (strncmp(d->pool, "csv:", 4) != 0) {
		set_err(err, errlen, "disk '%s': storage pool '%s' is not a CSV (pool='csv:NAME')",
			d->target, d->pool);
		return -CM_E_VALUE;
	}
	name = d->pool + 4;
	if (!d->volume[0] || strchr(d->volume, '/') || strcmp(d->volume, ".") == 0 ||
	    strcmp(d->volume, "..") == 0) {
		set_err(err, errlen, "disk '%s': CSV volume name '%s' must be one path component",
			d->target, d->volume);
		return -CM_E_VALUE;
	}
	for (i = 0; i < sh->n_csvs; i++)
		if (strcmp(sh->csvs[i], name) == 0)
			return 0;
	set_err(err, errlen, "disk '%s': '%s' is not a CSV of the cluster", d->target, name);
	return -CM_E_VALUE;
}

/* qemu reads "proto:..." (a ':' before any '/') as a protocol or json:
 * spec, not a file, so such a name is no path we can check. */
static int name_is_protocol(const char *s)
{
	const char *c = strchr(s, ':');

	return c && (!strchr(s, '/') || c < strchr(s, '/'));
}

/* Relative backing names are relative to the image's directory (qemu). */
static int backing_resolve(const char *image, const char *name, char *out, size_t outlen)
{
	const char *slash = strrchr(image, '/');
	int n;

	if (name[0] == '/')
		n = snprintf(out, outlen, "%s", name);
	else
		n = snprintf(out, outlen, "%.*s/%s", (int)(slash - image), image, name);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

struct chain {
	const struct res_shared *sh;
	char seen[RES_VMXML_BACKING_DEPTH + 1][PATH_MAX];
	char name[RES_QCOW2_NAME_MAX];
	char joined[PATH_MAX];
	char why[PATH_MAX + 128];
};

/* Follow one link of the chain from seen[depth] into seen[depth + 1]:
 * 1 if there is a next file to look at, 0 at the end, < 0 refused. */
static int chain_step(struct chain *c, int depth, const char *target, char *err, size_t errlen)
{
	const char *cur = c->seen[depth];
	int i, rc = res_qcow2_backing(cur, c->name, sizeof(c->name));

	if (rc == -CM_E_FOREIGN && depth > 0)
		return 0; /* a raw backing file ends the chain */
	if (rc < 0) {
		set_err(err, errlen, "disk '%s': cannot read the qcow2 header of '%s': %s",
			target, cur, cm_strerror(rc));
		return rc;
	}
	if (rc == 0)
		return 0;
	if (depth == RES_VMXML_BACKING_DEPTH) {
		set_err(err, errlen, "disk '%s': backing chain is longer than %d files (at '%s')",
			target, RES_VMXML_BACKING_DEPTH, cur);
		return -CM_E_VALUE;
	}
	if (name_is_protocol(c->name)) {
		set_err(err, errlen, "disk '%s': backing file '%s' of '%s' is a protocol or json: name, not a path on shared storage",
			target, c->name, cur);
		return -CM_E_VALUE;
	}
	if (backing_resolve(cur, c->name, c->joined, sizeof(c->joined)) < 0) {
		set_err(err, errlen, "disk '%s': backing file name of '%s' is too long", target, cur);
		return -CM_E_VALUE;
	}
	rc = path_is_shared(c->sh, c->joined, c->seen[depth + 1], c->why, sizeof(c->why));
	if (rc < 0) {
		set_err(err, errlen, "disk '%s': backing file '%s' of '%s' is not on shared storage: %s",
			target, c->name, cur, c->why);
		return rc;
	}
	for (i = 0; i <= depth; i++) {
		if (strcmp(c->seen[i], c->seen[depth + 1]) == 0) {
			set_err(err, errlen, "disk '%s': backing chain loops: '%s' leads back to '%s'",
				target, cur, c->seen[i]);
			return -CM_E_VALUE;
		}
	}
	return 1;
}

/* norm: the image's own normalised path, already known to be shared. */
static int check_backing(const struct res_shared *sh, const char *norm, const char *target,
			 char *err, size_t errlen)
{
	struct chain *c = malloc(sizeof(*c)); /* ~45 KiB: too big for a worker's stack */
	int depth = 0, rc;

	if (!c) {
		set_err(err, errlen, "disk '%s': out of memory", target);
		return -ENOMEM;
	}
	c->sh = sh;
	cm_strlcpy(c->seen[0], norm, sizeof(c->seen[0]));
	while ((rc = chain_step(c, depth, target, err, errlen)) == 1)
		depth++;
	free(c);
	return rc;
}

/* label: "disk 'vda'" or "<kernel>", the subject of the sentence. */
static int check_path(const struct res_shared *sh, const char *label, const char *target,
		      const char *path, int qcow2, char *err, size_t errlen)
{
	char norm[PATH_MAX], why[PATH_MAX + 128];
	int rc = path_is_shared(sh, path, norm, why, sizeof(why));

	if (rc < 0) {
		set_err(err, errlen, "%s is not on shared storage: %s", label, why);
		return rc;
	}
	return qcow2 ? check_backing(sh, norm, target, err, errlen) : 0;
}

static int check_disk(const struct res_shared *sh, const struct res_vmxml_disk *d,
		      char *err, size_t errlen)
{
	char label[300];

	switch (d->type) {
	case RES_DISK_FILE:
	case RES_DISK_BLOCK:
		if (!d->path)
			return 0; /* an empty cdrom drive */
		snprintf(label, sizeof(label), "disk '%s'", d->target);
		return check_path(sh, label, d->target, d->path, d->format == RES_FMT_QCOW2,
				  err, errlen);
	case RES_DISK_NETWORK:
		return lun_is_shared(sh, d, err, errlen);
	case RES_DISK_VOLUME:
		return csv_is_shared(sh, d, err, errlen);
	}
	set_err(err, errlen, "disk '%s': unknown disk type", d->target);
	return -CM_E_VALUE;
}

int res_vmxml_check_storage(const struct res_vmxml *x, const struct res_shared *shared,
			    char *err, size_t errlen)
{
	size_t i;
	int rc;

	for (i = 0; i < x->n_disks; i++)
		if ((rc = check_disk(shared, &x->disks[i], err, errlen)) < 0)
			return rc;
	if (!shared->boot_files_shared)
		return 0;
	if (x->kernel && (rc = check_path(shared, "<kernel>", "kernel", x->kernel, 0, err, errlen)) < 0)
		return rc;
	if (x->initrd && (rc = check_path(shared, "<initrd>", "initrd", x->initrd, 0, err, errlen)) < 0)
		return rc;
	return 0;
}

/* ---- qcow2 header ---- */

#define QCOW2_V2_HDR 72
#define QCOW2_V3_HDR 104

static uint64_t be_get(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

static int read_full(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -CM_E_CORRUPT;
}

/* Header fields used (qcow2 spec, all big-endian): magic @0, version @4,
 * backing_file_offset @8 (u64), backing_file_size @16 (u32), cluster_bits
 * @20, and for v3 header_length @100. The name must lie after the header
 * and inside the first cluster. */
static int qcow2_locate(int fd, uint64_t *off, uint32_t *size)
{
	unsigned char h[QCOW2_V3_HDR];
	uint64_t version, hdr_len, cbits;
	int rc = read_full(fd, h, QCOW2_V2_HDR, 0);

	if (rc == -CM_E_CORRUPT || (rc == 0 && memcmp(h, "QFI\xfb", 4) != 0))
		return -CM_E_FOREIGN;
	if (rc < 0)
		return rc;
	version = be_get(h + 4, 4);
	hdr_len = QCOW2_V2_HDR;
	if (version == 3) {
		if ((rc = read_full(fd, h + QCOW2_V2_HDR, QCOW2_V3_HDR - QCOW2_V2_HDR, QCOW2_V2_HDR)) < 0)
			return rc;
		hdr_len = be_get(h + 100, 4);
		if (hdr_len < QCOW2_V3_HDR)
			return -CM_E_CORRUPT;
	} else if (version != 2) {
		return -CM_E_CORRUPT;
	}
	*off = be_get(h + 8, 8);
	*size = (uint32_t)be_get(h + 16, 4);
	cbits = be_get(h + 20, 4);
	if (cbits < 9 || cbits > 21)
		return -CM_E_CORRUPT;
	if (*off == 0 || *size == 0) {
		*size = 0;
		return 0;
	}
	if (*size >= RES_QCOW2_NAME_MAX || *off < hdr_len || *off > (1ULL << cbits) ||
	    *size > (1ULL << cbits) - *off)
		return -CM_E_CORRUPT;
	return 0;
}

int res_qcow2_backing(const char *path, char *buf, size_t len)
{
	struct stat st;
	uint64_t off;
	uint32_t size = 0;
	int fd, rc;

	if (len == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	/* O_NONBLOCK: a FIFO planted at the path must not hang the caller. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		rc = -CM_E_FOREIGN;
		goto out;
	}
	if ((rc = qcow2_locate(fd, &off, &size)) < 0 || size == 0)
		goto out;
	if ((size_t)size >= len) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	if ((rc = read_full(fd, buf, size, (off_t)off)) < 0)
		goto out;
	if (memchr(buf, '\0', size)) {
		rc = -CM_E_CORRUPT;
		goto out;
	}
	buf[size] = '\0';
	rc = 1;
out:
	if (rc < 0 || size == 0)
		buf[0] = '\0';
	close(fd);
	return rc;
}

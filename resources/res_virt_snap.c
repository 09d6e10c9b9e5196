/* res_virt_snap.c - internal snapshots: create, revert, delete (worker).
 *
 * libvirt 9.0 refuses to migrate a domain that has libvirt-tracked
 * snapshots, so libvirt's snapshot metadata exists only during these
 * calls: SNAP_CREATE hands the snapshot XML to the caller and removes the
 * metadata (DELETE_METADATA_ONLY: the data stays in the qcow2 images);
 * REVERT and DELETE redefine it from that XML first and REVERT removes it
 * again. Never leaves metadata behind on purpose: a failure to remove it
 * fails the request, because the domain then cannot migrate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_str.h"
#include "res_virt_int.h"

#define SNAP_NAME_MAX 256

/* "<domainsnapshot><name>NAME</name></domainsnapshot>" with NAME escaped;
 * malloc'd, NULL on ENOMEM. */
static char *snap_create_xml(const char *name)
{
	size_t n = strlen(name) * 6 + 64;   /* "&quot;" is the longest escape */
	char *x = malloc(n), *p;

	if (!x)
		return NULL;
	p = x + snprintf(x, n, "<domainsnapshot><name>");
	for (; *name; name++) {
		switch (*name) {
		case '&': p = stpcpy(p, "&amp;"); break;
		case '<': p = stpcpy(p, "&lt;"); break;
		case '>': p = stpcpy(p, "&gt;"); break;
		case '\'': p = stpcpy(p, "&apos;"); break;
		case '"': p = stpcpy(p, "&quot;"); break;
		default: *p++ = *name; break;
		}
	}
	strcpy(p, "</name></domainsnapshot>");
	return x;
}

/* The snapshot's name in its XML: the first <name>, which libvirt writes
 * before the <domain> copy. Escaped names are not unescaped (we never
 * create them: see the lookup fallback in snap_redefine). -1 if none. */
static int snap_xml_name(const char *xml, char *buf, size_t len)
{
	const char *b = strstr(xml, "<name>"), *e;

	if (!b)
		return -1;
	b += strlen("<name>");
	e = strstr(b, "</name>");
	if (!e || e == b || (size_t)(e - b) >= len)
		return -1;
	memcpy(buf, b, (size_t)(e - b));
	buf[e - b] = '\0';
	return 0;
}

/* Appends "; <what> <detail>" to a failed result's text. */
static void text_add(struct vreq *r, const char *what, const char *detail)
{
	size_t n = strlen(r->res.text);

	snprintf(r->res.text + n, sizeof(r->res.text) - n, "; %s %s", what, detail);
}

/* Appends "; <what>: <libvirt's message>". */
static void text_add_err(struct vreq *r, const char *what)
{
	size_t n = strlen(r->res.text);

	snprintf(r->res.text + n, sizeof(r->res.text) - n, "; %s: %s", what, virt_msg());
	virResetLastError();
}

/* Give libvirt the metadata of the snapshot in r->xml again. A snapshot
 * libvirt already tracks under that name (an earlier call that could not
 * remove it) is used as it is. NULL: r has failed. */
static virDomainSnapshotPtr snap_redefine(struct res_virt *v, struct vreq *r, virDomainPtr d)
{
	virDomainSnapshotPtr s;
	virErrorPtr why;
	char name[SNAP_NAME_MAX];

	s = virDomainSnapshotCreateXML(d, r->xml, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE);
	if (s)
		return s;
	why = virSaveLastError();
	if (snap_xml_name(r->xml, name, sizeof(name)) == 0)
		s = virDomainSnapshotLookupByName(d, name, 0);
	if (!s) {
		/* the redefine's error, not the lookup's */
		r->res.ok = false;
		snprintf(r->res.text, sizeof(r->res.text), "cannot give libvirt the snapshot metadata "
			 "of domain '%s' again: %s", r->name,
			 why && why->message ? why->message : "unknown libvirt error");
		if (v->conn && virConnectIsAlive(v->conn) != 1) {
			text_add(r, "lost the connection to", v->uri);
			res_virt_conn_drop(v, true);
		}
	}
	virFreeError(why);
	virResetLastError();
	return s;
}

/* After a successful create or revert: 0, or r fails with a sentence that
 * says the first part worked. */
static int snap_forget(struct res_virt *v, struct vreq *r, virDomainSnapshotPtr s,
		       const char *done)
{
	if (virDomainSnapshotDelete(s, VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY) == 0)
		return 0;
	res_virt_failf(v, r, "%s, but cannot remove libvirt's metadata of it (the domain "
		       "cannot migrate while libvirt tracks a snapshot)", done);
	return -1;
}

void res_virt_op_snap_create(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = res_virt_lookup(v, r);
	virDomainSnapshotPtr s = NULL;
	char *xml = NULL, done[RES_VIRT_TEXT_MAX / 2];

	if (!d)
		return;
	xml = snap_create_xml(r->snap);
	if (!xml) {
		r->res.ok = false;
		snprintf(r->res.text, sizeof(r->res.text), "cannot take snapshot '%s' of domain '%s': "
			 "out of memory", r->snap, r->name);
		goto out;
	}
	s = virDomainSnapshotCreateXML(d, xml, 0);
	if (!s) {
		res_virt_failf(v, r, "cannot take snapshot '%s' of domain '%s'", r->snap, r->name);
		goto out;
	}
	/* SECURE: the XML must be complete enough to redefine it later */
	r->res.data = virDomainSnapshotGetXMLDesc(s, VIR_DOMAIN_SNAPSHOT_XML_SECURE);
	if (!r->res.data) {
		res_virt_failf(v, r, "took snapshot '%s' of domain '%s' but cannot read its XML "
			       "(libvirt keeps tracking it)", r->snap, r->name);
		goto out;
	}
	snprintf(done, sizeof(done), "took snapshot '%s' of domain '%s'", r->snap, r->name);
	if (snap_forget(v, r, s, done) == 0)
		res_virt_okf(r, "%s (libvirt does not track it)", done);
out:
	if (s)
		virDomainSnapshotFree(s);
	free(xml);
	virDomainFree(d);
}

/* The revert itself: 0 (r->res.state tells the state it left), or r fails. */
static int snap_revert_to(struct res_virt *v, struct vreq *r, virDomainPtr d,
			  virDomainSnapshotPtr s)
{
	const char *sn = virDomainSnapshotGetName(s);

	if (virDomainRevertToSnapshot(s, 0) < 0) {
		res_virt_failf(v, r, "cannot revert domain '%s' to snapshot '%s'", r->name,
			       sn ? sn : "");
		return -1;
	}
	if (res_virt_dom_state(d, &r->res.state, &r->res.reason) < 0) {
		r->res.state = RES_VIRT_ST_UNKNOWN;
		virResetLastError();
	}
	return 0;
}

void res_virt_op_snap_revert(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = res_virt_lookup(v, r);
	virDomainSnapshotPtr s;
	const char *sn;
	char done[RES_VIRT_TEXT_MAX / 2];

	if (!d)
		return;
	s = snap_redefine(v, r, d);
	if (!s)
		goto out;
	sn = virDomainSnapshotGetName(s);
	snprintf(done, sizeof(done), "reverted domain '%s' to snapshot '%s'", r->name, sn ? sn : "");
	if (snap_revert_to(v, r, d, s) < 0) {
		/* the metadata goes also after a failed revert */
		if (v->conn &&
		    virDomainSnapshotDelete(s, VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY) < 0)
			text_add_err(r, "libvirt's metadata of it could not be removed either");
	} else if (snap_forget(v, r, s, done) == 0) {
		res_virt_okf(r, "%s (now %s)", done, res_virt_state_to_str(r->res.state));
	}
	virDomainSnapshotFree(s);
out:
	virDomainFree(d);
}

void res_virt_op_snap_delete(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = res_virt_lookup(v, r);
	virDomainSnapshotPtr s;
	char sn[SNAP_NAME_MAX];

	if (!d)
		return;
	s = snap_redefine(v, r, d);
	if (!s)
		goto out;
	cm_strlcpy(sn, virDomainSnapshotGetName(s) ? virDomainSnapshotGetName(s) : "", sizeof(sn));
	if (virDomainSnapshotDelete(s, 0) == 0) {
		res_virt_okf(r, "deleted snapshot '%s' of domain '%s'", sn, r->name);
	} else {
		res_virt_failf(v, r, "cannot delete snapshot '%s' of domain '%s'", sn, r->name);
		/* the data stays; libvirt's metadata must not */
		if (v->conn &&
		    virDomainSnapshotDelete(s, VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY) < 0)
			text_add_err(r, "libvirt's metadata of it could not be removed either");
	}
	virDomainSnapshotFree(s);
out:
	virDomainFree(d);
}

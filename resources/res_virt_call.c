/* res_virt_call.c - the per-request libvirt calls on one domain (worker
 * thread only): define, undefine, start, shutdown (polled between other
 * requests), turn off, save, restore, state; and the sentences every
 * result carries ("cannot start domain 'web1': <libvirt's message>").
 * Never logs, never touches the queues except through res_virt_finish.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/cm_str.h"
#include "res_virt_int.h"

/* An error sentence for r: "cannot start domain 'web1': <libvirt>", and
 * the connection dropped (to be reopened) if that is what failed. */
void res_virt_fail(struct res_virt *v, struct vreq *r, const char *what)
{
	char msg[RES_VIRT_TEXT_MAX / 2];
	bool dead;

	/* copy first: every libvirt call, IsAlive included, resets the error */
	cm_strlcpy(msg, virt_msg(), sizeof(msg));
	dead = v->conn && virConnectIsAlive(v->conn) != 1;

	r->res.ok = false;
	if (r->name)
		snprintf(r->res.text, sizeof(r->res.text), "cannot %s domain '%s': %s%s%s",
			 what, r->name, msg, dead ? "; lost the connection to " : "",
			 dead ? v->uri : "");
	else
		snprintf(r->res.text, sizeof(r->res.text), "cannot %s domain: %s%s%s",
			 what, msg, dead ? "; lost the connection to " : "", dead ? v->uri : "");
	if (dead)
		res_virt_conn_drop(v, true);
	virResetLastError();
}

/* res_virt_fail with the head of the sentence written by the caller:
 * "<head>: <libvirt's message>[; lost the connection to <uri>]". */
void res_virt_failf(struct res_virt *v, struct vreq *r, const char *fmt, ...)
{
	char msg[RES_VIRT_TEXT_MAX / 2], head[RES_VIRT_TEXT_MAX / 2];
	va_list ap;
	bool dead;

	cm_strlcpy(msg, virt_msg(), sizeof(msg));
	dead = v->conn && virConnectIsAlive(v->conn) != 1;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	r->res.ok = false;
	/* truncation is fine: the sentence stays terminated */
	if (snprintf(r->res.text, sizeof(r->res.text), "%s: %s%s%s", head, msg,
		     dead ? "; lost the connection to " : "", dead ? v->uri : "") < 0)
		r->res.text[0] = '\0';
	if (dead)
		res_virt_conn_drop(v, true);
	virResetLastError();
}

void res_virt_okf(struct vreq *r, const char *fmt, ...)
{
	va_list ap;

	r->res.ok = true;
	va_start(ap, fmt);
	vsnprintf(r->res.text, sizeof(r->res.text), fmt, ap);
	va_end(ap);
}

/* ---- the operations (worker) ---- */

virDomainPtr res_virt_lookup(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = virDomainLookupByName(v->conn, r->name);

	if (!d)
		res_virt_fail(v, r, res_virt_op_to_str(r->op));
	return d;
}

int res_virt_dom_state(virDomainPtr d, enum res_virt_state *st, enum res_virt_reason *why)
{
	int s, reason;

	if (virDomainGetState(d, &s, &reason, 0) < 0)
		return -1;
	res_virt_map_state(s, reason, st, why);
	return 0;
}

void res_virt_op_define(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = virDomainDefineXML(v->conn, r->xml);
	const char *n;

	if (!d) {
		res_virt_fail(v, r, "define");
		return;
	}
	n = virDomainGetName(d);
	cm_strlcpy(r->res.name, n ? n : "", sizeof(r->res.name));
	res_virt_okf(r, "defined domain '%s'", r->res.name);
	virDomainFree(d);
}

void res_virt_op_undefine(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = res_virt_lookup(v, r);
	int rc;

	if (!d)
		return;
	/* Managed-save images and snapshot metadata would make a plain
	 * undefine fail; the cluster keeps its own snapshot records. */
	rc = virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
				    VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
	if (rc < 0 && (virt_err_is(VIR_ERR_NO_SUPPORT) || virt_err_is(VIR_ERR_INVALID_ARG)))
		rc = virDomainUndefine(d);
	if (rc < 0)
		res_virt_fail(v, r, "undefine");
	else
		res_virt_okf(r, "undefined domain '%s'", r->name);
	virDomainFree(d);
}

void res_virt_op_start(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = res_virt_lookup(v, r);

	if (!d)
		return;
	if (virDomainCreate(d) < 0)
		res_virt_fail(v, r, "start");
	else {
		r->res.state = RES_VIRT_ST_RUNNING;
		res_virt_okf(r, "started domain '%s'", r->name);
	}
	virDomainFree(d);
}

void res_virt_op_destroy(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = res_virt_lookup(v, r);

	if (!d)
		return;
	if (res_virt_dom_state(d, &r->res.state, &r->res.reason) < 0) {
		res_virt_fail(v, r, "turn off");
	} else if (r->res.state == RES_VIRT_ST_SHUTOFF) {
		res_virt_okf(r, "domain '%s' was not running", r->name);
	} else if (virDomainDestroy(d) < 0) {
		res_virt_fail(v, r, "turn off");
	} else {
		r->res.state = RES_VIRT_ST_SHUTOFF;
		r->res.reason = RES_VIRT_R_DESTROYED;
		res_virt_okf(r, "turned off domain '%s'", r->name);
	}
	virDomainFree(d);
}

/* One look at a shutting-down domain: 1 finished (result set), 0 not yet. */
static int shutdown_check(struct res_virt *v, struct vreq *r)
{
	char t[32];

	if (res_virt_dom_state(r->dom, &r->res.state, &r->res.reason) < 0) {
		if (virt_err_is(VIR_ERR_NO_DOMAIN)) {
			/* a transient domain is gone once it is off */
			virResetLastError();
			r->res.state = RES_VIRT_ST_ABSENT;
			res_virt_okf(r, "shut down domain '%s' (it was transient: it is gone)", r->name);
			return 1;
		}
		res_virt_fail(v, r, "shut down");
		return 1;
	}
	if (r->res.state == RES_VIRT_ST_SHUTOFF) {
		res_virt_okf(r, "shut down domain '%s' in %" PRId64 " ms", r->name,
		    (now_us() - r->t0_us) / 1000);
		return 1;
	}
	if (now_ms() < r->deadline_ms)
		return 0;
	if (virDomainDestroy(r->dom) < 0 && !virt_err_is(VIR_ERR_OPERATION_INVALID)) {
		res_virt_fail(v, r, "turn off (after the shutdown timeout)");
		return 1;
	}
	virResetLastError();
	snprintf(t, sizeof(t), "%" PRId64 " ms", r->timeout_ms > 0 ? r->timeout_ms : 0);
	r->res.forced = true;
	r->res.state = RES_VIRT_ST_SHUTOFF;
	r->res.reason = RES_VIRT_R_DESTROYED;
	res_virt_okf(r, "domain '%s' did not shut down within %s: turned it off", r->name, t);
	return 1;
}

void res_virt_op_shutdown(struct res_virt *v, struct vreq *r)
{
	r->dom = res_virt_lookup(v, r);
	if (!r->dom)
		goto done;
	if (res_virt_dom_state(r->dom, &r->res.state, &r->res.reason) < 0) {
		res_virt_fail(v, r, "shut down");
		goto done;
	}
	if (r->res.state == RES_VIRT_ST_SHUTOFF) {
		res_virt_okf(r, "domain '%s' was not running", r->name);
		goto done;
	}
	if (virDomainShutdown(r->dom) < 0) {
		res_virt_fail(v, r, "shut down");
		goto done;
	}
	r->deadline_ms = now_ms() + (r->timeout_ms > 0 ? r->timeout_ms : 0);
	r->next_poll_ms = now_ms() + VIRT_POLL_MS;
	if (!shutdown_check(v, r)) {
		/* wait between other requests: see res_virt_poll_due() */
		r->next = v->polls;
		v->polls = r;
		return;
	}
done:
	res_virt_finish(v, r);
}

void res_virt_poll_due(struct res_virt *v)
{
	struct vreq **pp = &v->polls, *r;
	int64_t now = now_ms();

	while ((r = *pp)) {
		if (r->next_poll_ms > now) {
			pp = &r->next;
			continue;
		}
		r->next_poll_ms = now + VIRT_POLL_MS;
		if (!shutdown_check(v, r)) {
			pp = &r->next;
			continue;
		}
		*pp = r->next;
		res_virt_finish(v, r);
	}
}

void res_virt_op_save(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = res_virt_lookup(v, r);

	if (!d)
		return;
	if (virDomainSave(d, r->path) < 0)
		res_virt_fail(v, r, "save");
	else {
		r->res.state = RES_VIRT_ST_SHUTOFF;
		r->res.reason = RES_VIRT_R_SAVE;
		res_virt_okf(r, "saved domain '%s' to '%s'", r->name, r->path);
	}
	virDomainFree(d);
}

void res_virt_op_restore(struct res_virt *v, struct vreq *r)
{
	if (virDomainRestoreFlags(v->conn, r->path, r->xml, 0) < 0) {
		r->res.ok = false;
		snprintf(r->res.text, sizeof(r->res.text), "cannot restore domain%s%s%s from '%s': %s",
			 r->name ? " '" : "", r->name ? r->name : "", r->name ? "'" : "",
			 r->path, virt_msg());
		if (v->conn && virConnectIsAlive(v->conn) != 1)
			res_virt_conn_drop(v, true);
		virResetLastError();
		return;
	}
	r->res.state = RES_VIRT_ST_RUNNING;
	res_virt_okf(r, "restored domain%s%s%s from '%s'", r->name ? " '" : "", r->name ? r->name : "",
	    r->name ? "'" : "", r->path);
}

void res_virt_op_state(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = virDomainLookupByName(v->conn, r->name);

	if (!d) {
		if (virt_err_is(VIR_ERR_NO_DOMAIN)) {
			virResetLastError();
			r->res.state = RES_VIRT_ST_ABSENT;
			res_virt_okf(r, "domain '%s' is not defined here", r->name);
		} else {
			res_virt_fail(v, r, "query the state of");
		}
		return;
	}
	if (res_virt_dom_state(d, &r->res.state, &r->res.reason) < 0)
		res_virt_fail(v, r, "query the state of");
	else if (r->res.reason != RES_VIRT_R_NONE)
		res_virt_okf(r, "domain '%s' is %s (%s)", r->name, res_virt_state_to_str(r->res.state),
		    res_virt_reason_to_str(r->res.reason));
	else
		res_virt_okf(r, "domain '%s' is %s", r->name, res_virt_state_to_str(r->res.state));
	virDomainFree(d);
}

/* res_virt_query.c - questions to the hypervisor that change nothing
 * (worker): is the guest agent alive, which networks are active, which
 * domains exist in which state. Lists are sorted by name so that callers
 * and tests never depend on libvirt's order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "res_virt_int.h"

#ifdef HAVE_LIBVIRT_QEMU
#include <libvirt/libvirt-qemu.h>
#endif

struct line {
	const char *name;
	enum res_virt_state st;
};

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->name, ((const struct line *)b)->name);
}

/* "name\n" or "name state\n" per line, sorted by name; malloc'd ("" for
 * none), NULL on ENOMEM. */
static char *lines_join(struct line *l, size_t n, bool with_state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	qsort(l, n, sizeof(*l), line_cmp);
	for (size_t i = 0; i < n; i++) {
		if (with_state)
			fprintf(f, "%s %s\n", l[i].name, res_virt_state_to_str(l[i].st));
		else
			fprintf(f, "%s\n", l[i].name);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void res_virt_op_agent_ping(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = res_virt_lookup(v, r);

	if (!d)
		return;
#ifdef HAVE_LIBVIRT_QEMU
	char *reply = virDomainQemuAgentCommand(d, "{\"execute\":\"guest-ping\"}",
						VIRT_AGENT_TIMEOUT_S, 0);

	if (!reply)
		res_virt_fail(v, r, "ping the guest agent of");
	else
		res_virt_okf(r, "the guest agent of domain '%s' answered", r->name);
	free(reply);
#else
	r->res.ok = false;
	snprintf(r->res.text, sizeof(r->res.text), "cannot ping the guest agent of domain '%s': "
		 "built without libvirt-qemu", r->name);
#endif
	virDomainFree(d);
}

static void list_oom(struct res_virt *v, struct vreq *r, const char *what)
{
	r->res.ok = false;
	snprintf(r->res.text, sizeof(r->res.text), "cannot list the %s on '%s': out of memory",
		 what, v->uri);
}

static void set_data(struct res_virt *v, struct vreq *r, struct line *l, size_t n,
		     bool with_state, const char *what)
{
	r->res.data = lines_join(l, n, with_state);
	if (r->res.data)
		res_virt_okf(r, "%zu %s on '%s'", n, what, v->uri);
	else
		list_oom(v, r, what);
}

void res_virt_op_networks(struct res_virt *v, struct vreq *r)
{
	virNetworkPtr *nets = NULL;
	struct line *l = NULL;
	int n = virConnectListAllNetworks(v->conn, &nets, VIR_CONNECT_LIST_NETWORKS_ACTIVE);
	const char *name;

	if (n < 0) {
		res_virt_failf(v, r, "cannot list the active networks on '%s'", v->uri);
		return;
	}
	l = calloc((size_t)n + 1, sizeof(*l));
	if (!l) {
		list_oom(v, r, "active networks");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		name = virNetworkGetName(nets[i]);
		l[i].name = name ? name : "";
	}
	set_data(v, r, l, (size_t)n, false, "active networks");
out:
	for (int i = 0; i < n; i++)
		virNetworkFree(nets[i]);
	free(nets);
	free(l);
}

/* A domain that went away between the list and the question is absent. */
static enum res_virt_state list_state(virDomainPtr d)
{
	enum res_virt_state st;
	enum res_virt_reason why;

	if (res_virt_dom_state(d, &st, &why) == 0)
		return st;
	st = virt_err_is(VIR_ERR_NO_DOMAIN) ? RES_VIRT_ST_ABSENT : RES_VIRT_ST_UNKNOWN;
	virResetLastError();
	return st;
}

void res_virt_op_domains(struct res_virt *v, struct vreq *r)
{
	virDomainPtr *doms = NULL;
	struct line *l = NULL;
	int n = virConnectListAllDomains(v->conn, &doms, 0);
	const char *name;

	if (n < 0) {
		res_virt_failf(v, r, "cannot list the domains on '%s'", v->uri);
		return;
	}
	l = calloc((size_t)n + 1, sizeof(*l));
	if (!l) {
		list_oom(v, r, "domains");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		name = virDomainGetName(doms[i]);
		l[i].name = name ? name : "";
		l[i].st = list_state(doms[i]);
	}
	set_data(v, r, l, (size_t)n, true, "domains");
out:
	for (int i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	free(l);
}

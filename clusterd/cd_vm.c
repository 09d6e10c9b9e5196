/* cd_vm.c - virtual machines on this node: the hypervisor hub on the main
 * loop, its lifecycle events, the properties the vm types need, migration
 * progress, snapshot jobs and the node's network facts. See cd_vm.h.
 *
 * Events: a VM that stops while online here and while no operation of the
 * cluster acts on it was stopped by someone else. Turned off, shut down
 * from the guest, saved or migrated by an operator: the resource goes
 * offline and the cluster says so (it does not fight the operator). Crashed
 * or its QEMU gone: a failure (restart policy). Periodic health checks of
 * the executor remain the safety net for lost events.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_str.h"
#include "cd_exec.h"
#include "cd_log.h"
#include "cd_vm.h"
#include "cd_csv.h"
#include "res_vhub.h"

#define PROGRESS_MS 500
#define MAX_MIGS 16
#define MAX_SNAPS 16

struct cd_vm_snap {                /* a snapshot job run here */
	struct cd *cd;
	int64_t job;
	bool done;                     /* its result is sent: not again while the job shows running */
	uint64_t ticket;
	int fd;
	char vm[CM_NAME_MAX];
};

struct cd_vm {
	struct res_vhub *hub;
	int fds[RES_VHUB_MAX_FDS];
	size_t nfds;
	char domain_type[8];           /* qemu or kvm, for auto */
	virConnectPtr check;           /* test:///default: libvirt's parser */
	char migs[MAX_MIGS][CM_NAME_MAX];   /* migrations running here */
	qb_loop_timer_handle timer;
	struct cd_vm_snap snaps[MAX_SNAPS];
	unsigned ticks;
	uint64_t facts_ticket;
	int facts_fd;
	bool facts_busy;               /* a listing of networks is under way */
};

#define FACTS_EVERY_TICKS 60       /* 30 s: bridges and networks made after the start */

static void facts_request(struct cd *cd);

static void vm_connect(struct cd *cd);

/* ---- lifecycle events ---- */

static void on_event(struct cd *cd, const struct res_virt_event *ev)
{
	struct cd_vm *v = cd->vm;
	char text[256];
	bool operator;

	if (ev->type == RES_VIRT_EV_DISCONNECTED) {
		cd_log(LOG_WARNING, "the connection to libvirtd dropped: health checks will tell what still runs");
		return;
	}
	if (res_vhub_busy(v->hub, ev->name) || strcmp(ev->detail, "snapshot") == 0)
		return; /* the cluster's own request causes it */
	switch (ev->type) {
	case RES_VIRT_EV_STOPPED:
	case RES_VIRT_EV_SHUTDOWN:
	case RES_VIRT_EV_MIGRATED:
		operator = strcmp(ev->detail, "failed") != 0 && strcmp(ev->detail, "crashed") != 0;
		snprintf(text, sizeof(text), "%s (%s)", operator ? (ev->type == RES_VIRT_EV_SHUTDOWN ||
			 strcmp(ev->detail, "shutdown") == 0 ? "shut down from inside the guest or by an operator" :
			 strcmp(ev->detail, "saved") == 0 ? "saved by an operator" :
			 ev->type == RES_VIRT_EV_MIGRATED ? "migrated away by an operator" : "turned off by an operator")
			 : "QEMU ended unexpectedly", ev->detail);
		break;
	case RES_VIRT_EV_CRASHED:
		operator = false;
		snprintf(text, sizeof(text), "the guest crashed (%s)", ev->detail);
		break;
	case RES_VIRT_EV_SUSPENDED:
		if (strcmp(ev->detail, "ioerror") != 0)
			return;
		operator = false;
		snprintf(text, sizeof(text), "paused on a disk I/O error");
		break;
	default:
		return;
	}
	if (cd_exec_external(cd->exec, ev->name, operator, text))
		cd_log(LOG_WARNING, "virtual machine '%s': %s", ev->name, text);
}

static int32_t hub_ready(int32_t fd, int32_t revents, void *data)
{
	struct cd *cd = data;
	struct res_virt_event ev;

	(void)fd;
	(void)revents;
	if (cd->vm == NULL)
		return 0;
	res_vhub_pump(cd->vm->hub);
	while (res_vhub_next_event(cd->vm->hub, &ev) == 0)
		on_event(cd, &ev);
	/* a peer backend may have been opened: watch its fd too */
	{
		int fds[RES_VHUB_MAX_FDS];
		size_t n = res_vhub_fds(cd->vm->hub, fds, RES_VHUB_MAX_FDS), i;

		for (i = cd->vm->nfds; i < n; i++)
			qb_loop_poll_add(cd->loop, QB_LOOP_HIGH, fds[i], POLLIN, cd, hub_ready);
		memcpy(cd->vm->fds, fds, sizeof(fds));
		cd->vm->nfds = n;
	}
	return 0;
}

/* ---- properties for the vm types ---- */

static void prop(struct cd *cd, const char *key, char *buf, size_t len)
{
	if (cd_db_prop_get(cd->db, CM_OBJ_CLUSTER, "", key, buf, len, NULL) < 0)
		buf[0] = '\0';
}

static char *kv(const char *k, const char *v)
{
	char *s = NULL;

	if (asprintf(&s, "%s=%s", k, v) < 0)
		return NULL;
	return s;
}

size_t cd_vm_props(struct cd *cd, const struct res_resource *r, char **out, size_t max)
{
	char cfg[CM_NAME_MAX + 16], buf[CM_VALUE_MAX];
	char *xml, *once;
	size_t n = 0;

	if (strcmp(r->type, "vm") != 0 && strcmp(r->type, "vm-config") != 0)
		return 0;
	if (strcmp(r->type, "vm") == 0)
		snprintf(cfg, sizeof(cfg), "%s-config", r->name);
	else
		cm_strlcpy(cfg, r->name, sizeof(cfg));
	xml = cd_db_vm_xml(cd->db, cfg);
	if (xml) {
		/* CSV volumes and physical disks as this node opens them */
		char err[512];
		char *local = cd_csv_domain_xml(cd, xml, err, sizeof(err));

		if (local) {
			free(xml);
			xml = local;
		} else {
			cd_log(LOG_WARNING, "resource '%s': %s", r->name, err);
		}
	}
	if (xml && n < max)
		out[n++] = kv("xml", xml);
	if (xml && strcmp(r->type, "vm-config") == 0 && n < max) {
		/* the domain is named after the VM, not after this resource */
		size_t l = strlen(r->name);

		if (l > 7)
			cm_strlcpy(buf, r->name, l - 7 + 1);
		out[n++] = kv("domain", l > 7 ? buf : r->name);
	}
	free(xml);
	prop(cd, "vm_domain_type", buf, sizeof(buf));
	if (n < max)
		out[n++] = kv("domain_type", !buf[0] || !strcmp(buf, "auto") ? cd->vm->domain_type : buf);
	prop(cd, "vm_state_dir", buf, sizeof(buf));
	if (n < max)
		out[n++] = kv("state_dir", buf);
	prop(cd, "shared_dirs", buf, sizeof(buf));
	/* file disks on directories the cluster knows are shared, which libvirt
	 * cannot recognise (it knows NFS, GFS2, ...): the cluster vouches */
	if (n < max && buf[0])
		out[n++] = kv("mig_unsafe", "1");
	if (strcmp(r->type, "vm") == 0)
		n += cd_csv_state_props(cd, r->name, out + n, max - n);
	once = strcmp(r->type, "vm") == 0 ? cd_db_vm_once(cd->db, r->name) : NULL;
	if (once && n < max)
		out[n++] = kv("offline_action", once);
	free(once);
	return n;
}

int cd_vm_peer_uri(struct cd *cd, uint32_t node, char *buf, size_t len)
{
	struct cd_db_node *nodes = NULL;
	char tmpl[CM_VALUE_MAX];
	size_t nn = 0, i;
	const char *name = NULL, *addr = NULL, *p;
	struct cm_sb sb;
	int rc = -CM_E_NO_OBJECT;

	if (cd_db_prop_get(cd->db, CM_OBJ_CLUSTER, "", "migration_uri", tmpl, sizeof(tmpl), NULL) < 0)
		cm_strlcpy(tmpl, "qemu+tls://{name}/system", sizeof(tmpl));
	if (cd_db_nodes(cd->db, &nodes, &nn) < 0)
		return -CM_E_DB;
	for (i = 0; i < nn; i++)
		if (nodes[i].id == node) {
			name = nodes[i].name;
			addr = nodes[i].addr;
		}
	if (name) {
		cm_sb_init(&sb);
		for (p = tmpl; *p; p++) {
			if (strncmp(p, "{name}", 6) == 0) {
				cm_sb_puts(&sb, name);
				p += 5;
			} else if (strncmp(p, "{addr}", 6) == 0) {
				cm_sb_puts(&sb, addr);
				p += 5;
			} else {
				cm_sb_putc(&sb, *p);
			}
		}
		rc = cm_strlcpy(buf, cm_sb_str(&sb), len) < 0 ? -ENAMETOOLONG : 0;
		cm_sb_free(&sb);
	}
	free(nodes);
	return rc;
}

/* ---- migration progress ---- */

static int64_t running_job(struct cd *cd, const char *vm, const char *kinds)
{
	struct cd_db_job jobs[64];
	size_t n = 0, i;

	cd_db_vm_jobs_running(cd->db, jobs, 64, &n);
	for (i = 0; i < n; i++)
		if (strcmp(jobs[i].vm, vm) == 0 && strstr(kinds, jobs[i].kind))
			return jobs[i].id;
	return 0;
}

void cd_vm_migration_started(struct cd *cd, const char *res)
{
	int i;

	for (i = 0; i < MAX_MIGS; i++)
		if (!cd->vm->migs[i][0] || strcmp(cd->vm->migs[i], res) == 0) {
			cm_strlcpy(cd->vm->migs[i], res, sizeof(cd->vm->migs[i]));
			return;
		}
}

void cd_vm_cancel(struct cd *cd, const char *res)
{
	uint64_t t = cd_exec_mig_ticket(cd->exec, res);

	if (t == 0 || cd->vm->hub == NULL || res_vhub_cancel(cd->vm->hub, t) < 0)
		cd_log(LOG_INFO, "cancel of '%s': no migration of it is under way here", res);
	else
		cd_log(LOG_NOTICE, "migration of '%s' cancelled", res);
}

static void progress_timer(void *data)
{
	struct cd *cd = data;
	struct cd_vm *v = cd->vm;
	int i;

	if (++v->ticks % 10 == 0)
		res_vhub_ping(v->hub); /* every 5 s */
	if (v->ticks % FACTS_EVERY_TICKS == 0)
		facts_request(cd);
	for (i = 0; i < MAX_MIGS; i++) {
		struct res_virt_job job;
		uint64_t t;
		int64_t id;
		struct cm_msg w;

		if (!v->migs[i][0])
			continue;
		t = cd_exec_mig_ticket(cd->exec, v->migs[i]);
		if (t == 0) {
			v->migs[i][0] = '\0';
			continue;
		}
		if (res_vhub_progress(v->hub, t, &job) < 0 || !job.valid ||
		    (id = running_job(cd, v->migs[i], "live quick")) == 0)
			continue;
		cm_msg_init(&w, CM_MSG_WRITE);
		cm_msg_add_int(&w, CM_OP_VM_PROGRESS);
		cm_msg_add_int(&w, id);
		cm_msg_add_int(&w, (int64_t)job.data_total);
		cm_msg_add_int(&w, (int64_t)job.data_processed);
		cm_msg_add_int(&w, (int64_t)job.data_remaining);
		cm_msg_add_int(&w, (int64_t)job.elapsed_ms);
		cd_engine_send(cd, &w, "migration progress");
	}
	qb_loop_timer_add(cd->loop, QB_LOOP_LOW, PROGRESS_MS * QB_TIME_NS_IN_MSEC, cd, progress_timer, &v->timer);
}

/* ---- snapshot jobs ---- */

static void snap_done(struct cd *cd, int64_t job, bool ok, const char *text, const char *xml)
{
	struct cm_msg w;
	const char *state = xml && strstr(xml, "<state>running</state>") ? "running" : "shutoff";

	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_JOB_DONE);
	cm_msg_add_int(&w, job);
	cm_msg_add_int(&w, ok);
	cm_msg_add_str(&w, text);
	cm_msg_add_str(&w, xml ? xml : "");
	cm_msg_add_str(&w, state);
	cd_engine_send(cd, &w, "a snapshot result");
}

static int32_t snap_ready(int32_t fd, int32_t revents, void *data)
{
	struct cd_vm_snap *s = data;
	struct cd *cd = s->cd;
	struct res_virt_result r;

	(void)revents;
	if (res_vhub_take(cd->vm->hub, s->ticket, &r) == -EAGAIN)
		return 0;
	qb_loop_poll_del(cd->loop, fd);
	cd_log(r.ok ? LOG_INFO : LOG_WARNING, "snapshot job %lld of '%s': %s", (long long)s->job, s->vm, r.text);
	snap_done(cd, s->job, r.ok, r.text, r.data);
	res_virt_result_clear(&r);
	s->done = true; /* the slot is freed once the job is no longer running */
	return 0;
}

static void snap_run(struct cd *cd, const struct cd_db_job *j)
{
	struct cd_vm *v = cd->vm;
	struct res_virt_req req;
	char *xml = NULL;
	int i, rc;

	for (i = 0; i < MAX_SNAPS; i++)
		if (v->snaps[i].job == j->id)
			return; /* under way */
	for (i = 0; i < MAX_SNAPS && v->snaps[i].job; i++)
		;
	if (i == MAX_SNAPS)
		return;
	memset(&req, 0, sizeof(req));
	req.name = j->vm;
	if (strcmp(j->kind, "snapshot-create") == 0) {
		req.op = RES_VIRT_SNAP_CREATE;
		req.snap = j->snap;
	} else {
		xml = cd_db_vm_snap_xml(cd->db, j->vm, j->snap);
		req.op = strcmp(j->kind, "snapshot-delete") == 0 ? RES_VIRT_SNAP_DELETE : RES_VIRT_SNAP_REVERT;
		req.xml = xml;
		if (xml == NULL) {
			snap_done(cd, j->id, false, "the cluster database holds no such snapshot", NULL);
			return;
		}
	}
	v->snaps[i].cd = cd;
	v->snaps[i].job = j->id;
	v->snaps[i].done = false;
	cm_strlcpy(v->snaps[i].vm, j->vm, sizeof(v->snaps[i].vm));
	rc = res_vhub_submit(v->hub, NULL, &req, false, &v->snaps[i].ticket, &v->snaps[i].fd);
	free(xml);
	if (rc == 0 && qb_loop_poll_add(cd->loop, QB_LOOP_MED, v->snaps[i].fd, POLLIN, &v->snaps[i], snap_ready) == 0) {
		cd_log(LOG_INFO, "snapshot job %lld: %s '%s' of '%s'", (long long)j->id, j->kind, j->snap, j->vm);
		return;
	}
	v->snaps[i].job = 0;
	snap_done(cd, j->id, false, "cannot reach the hypervisor", NULL);
}

void cd_vm_db_changed(struct cd *cd)
{
	const struct res_model *m = cd_db_model(cd->db);
	struct cd_db_job jobs[64];
	size_t n = 0, i;
	int k;

	if (cd->vm == NULL || cd->vm->hub == NULL || m == NULL || !cd_quorum_verdict(cd, NULL))
		return;
	cd_db_vm_jobs_running(cd->db, jobs, 64, &n);
	for (k = 0; k < MAX_SNAPS; k++) {
		bool running = false;

		for (i = 0; i < n; i++)
			running = running || jobs[i].id == cd->vm->snaps[k].job;
		if (cd->vm->snaps[k].done && !running)
			cd->vm->snaps[k].job = 0;
	}
	for (i = 0; i < n; i++) {
		char cfg[CM_NAME_MAX + 16];
		int ri;

		if (strncmp(jobs[i].kind, "snapshot-", 9) != 0)
			continue;
		snprintf(cfg, sizeof(cfg), "%s-config", jobs[i].vm);
		ri = res_resource_find(m, cfg);
		if (ri >= 0 && m->res[ri].state == RES_S_ONLINE && m->res[ri].node == cd->my_id)
			snap_run(cd, &jobs[i]);
	}
}

/* ---- node facts: networks and bridges ---- */

static void bridges(char *buf, size_t len)
{
	DIR *d = opendir("/sys/class/net");
	struct dirent *e;
	size_t used = 0;

	buf[0] = '\0';
	while (d && (e = readdir(d)) != NULL) {
		char p[512];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/sys/class/net/%s/bridge", e->d_name);
		if (access(p, F_OK) != 0)
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s", used ? "," : "", e->d_name);
	}
	if (d)
		closedir(d);
}

static int32_t facts_ready(int32_t fd, int32_t revents, void *data)
{
	struct cd *cd = data;
	struct res_virt_result r;
	char brs[1024], *p;
	struct cm_msg w;
	char name[CM_NAME_MAX] = "";
	struct cd_db_node *nodes = NULL;
	size_t nn = 0, i;

	(void)revents;
	if (res_vhub_take(cd->vm->hub, cd->vm->facts_ticket, &r) == -EAGAIN)
		return 0;
	qb_loop_poll_del(cd->loop, fd);
	cd->vm->facts_busy = false;
	if (!r.ok) {
		cd_log(LOG_WARNING, "cannot list libvirt's networks: %s", r.text);
		res_virt_result_clear(&r);
		return 0;
	}
	for (p = r.data; p && *p; p++)
		if (*p == '\n')
			*p = ',';
	if (r.data && (p = r.data + strlen(r.data)) > r.data && p[-1] == ',')
		p[-1] = '\0';
	bridges(brs, sizeof(brs));
	if (cd_db_nodes(cd->db, &nodes, &nn) == 0)
		for (i = 0; i < nn; i++)
			if (nodes[i].id == cd->my_id)
				cm_strlcpy(name, nodes[i].name, sizeof(name));
	free(nodes);
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_NODE_FACTS);
	cm_msg_add_int(&w, strcmp(cd->vm->domain_type, "kvm") == 0);
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, r.data ? r.data : "");
	cm_msg_add_str(&w, brs);
	if (name[0]) {
		/* sent when the replica says otherwise: a write that was lost
		 * or refused (no quorum) is sent again at the next listing */
		char *have = cd_db_node_networks(cd->db, name), now[2048];

		snprintf(now, sizeof(now), "%s\n%s", r.data ? r.data : "", brs);
		if (have == NULL || strcmp(have, now) != 0)
			cd_engine_send(cd, &w, "this node's networks");
		free(have);
	}
	res_virt_result_clear(&r);
	return 0;
}

/* List this node's libvirt networks and bridges; facts_ready sends them
 * when they changed. */
static void facts_request(struct cd *cd)
{
	struct cd_vm *v = cd->vm;
	struct res_virt_req req = { .op = RES_VIRT_NETWORKS };

	if (v == NULL || v->hub == NULL || v->facts_busy || !cd_db_has_cluster(cd->db))
		return;
	if (res_vhub_submit(v->hub, NULL, &req, false, &v->facts_ticket, &v->facts_fd) == 0 &&
	    qb_loop_poll_add(cd->loop, QB_LOOP_LOW, v->facts_fd, POLLIN, cd, facts_ready) == 0)
		v->facts_busy = true;
}

void cd_vm_ready(struct cd *cd)
{
	vm_connect(cd);
	facts_request(cd);
}

/* ---- quorum loss ---- */

int cd_vm_destroy(struct cd *cd, const char *vm)
{
	struct res_virt_req req = { .op = RES_VIRT_DESTROY };
	uint64_t t;
	int fd, rc;

	if (cd->vm == NULL || cd->vm->hub == NULL)
		return -CM_E_STATE;
	req.name = vm;
	rc = res_vhub_submit(cd->vm->hub, NULL, &req, true, &t, &fd);
	if (rc == 0)
		res_vhub_forget(cd->vm->hub, t);
	return rc;
}

int cd_vm_stop_all(struct cd *cd)
{
	const struct res_model *m = cd_db_model(cd->db);
	size_t i;
	int n = 0;

	if (cd->vm == NULL || cd->vm->hub == NULL || m == NULL)
		return 0;
	for (i = 0; i < m->nres; i++) {
		struct res_virt_req req = { .op = RES_VIRT_DESTROY };
		uint64_t t;
		int fd;

		if (strcmp(m->res[i].type, "vm") != 0)
			continue;
		/* every VM of the cluster: one may have arrived by a migration the
		 * replica does not know about yet */
		req.name = m->res[i].name;
		if (res_vhub_submit(cd->vm->hub, NULL, &req, true, &t, &fd) == 0) {
			res_vhub_forget(cd->vm->hub, t);
			n++;
		}
	}
	return n;
}

/* ---- libvirt's own parser ---- */

static void quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

int cd_vm_validate_xml(struct cd *cd, const char *xml, char *err, size_t len)
{
	struct cd_vm *v = cd->vm;
	virDomainPtr d;
	virErrorPtr e;

	if (v == NULL)
		return 0;
	if (v->check == NULL) {
		virSetErrorFunc(NULL, quiet);
		v->check = virConnectOpen("test:///default");
		if (v->check == NULL)
			return 0; /* the checks that follow still apply */
	}
	d = virDomainDefineXMLFlags(v->check, xml, VIR_DOMAIN_DEFINE_VALIDATE);
	if (d == NULL) {
		e = virGetLastError();
		snprintf(err, len, "%s", e && e->message ? e->message : "unknown error");
		return -CM_E_VALUE;
	}
	virDomainUndefine(d);
	virDomainFree(d);
	return 0;
}

/* ---- start and stop ---- */

/* Connect once the cluster exists ({addr} is this node's address in it). */
static void vm_connect(struct cd *cd)
{
	struct cd_vm *v = cd->vm;
	char uri[600], err[256];
	struct cd_db_node *nodes = NULL;
	size_t nn = 0, i;
	const char *p;
	struct cm_sb sb;

	const char *addr = NULL;

	if (v == NULL || v->hub || cd->my_id == 0 || !cd_db_has_cluster(cd->db) ||
	    cd_db_nodes(cd->db, &nodes, &nn) < 0)
		return;
	for (i = 0; i < nn; i++)
		if (nodes[i].id == cd->my_id)
			addr = nodes[i].addr;
	if (addr == NULL && strstr(cd->conf.libvirt_uri, "{addr}")) {
		free(nodes);
		return; /* not a node of this cluster (yet) */
	}
	cm_sb_init(&sb);
	for (p = cd->conf.libvirt_uri; *p; p++) {
		if (strncmp(p, "{addr}", 6) == 0) {
			cm_sb_puts(&sb, addr);
			p += 5;
		} else {
			cm_sb_putc(&sb, *p);
		}
	}
	free(nodes);
	cm_strlcpy(uri, cm_sb_str(&sb), sizeof(uri));
	cm_sb_free(&sb);
	v->hub = res_vhub_new(uri, err, sizeof(err));
	if (v->hub == NULL) {
		cd_log(LOG_ERR, "no hypervisor connection (%s): virtual machines cannot run here", err);
		return;
	}
	cd_log(LOG_INFO, "hypervisor: %s", uri);
	v->nfds = res_vhub_fds(v->hub, v->fds, RES_VHUB_MAX_FDS);
	for (i = 0; i < v->nfds; i++)
		qb_loop_poll_add(cd->loop, QB_LOOP_HIGH, v->fds[i], POLLIN, cd, hub_ready);
	cd_exec_set_env(cd->exec, v->hub);
	qb_loop_timer_add(cd->loop, QB_LOOP_LOW, PROGRESS_MS * QB_TIME_NS_IN_MSEC, cd, progress_timer, &v->timer);
}

int cd_vm_start(struct cd *cd)
{
	struct cd_vm *v = calloc(1, sizeof(*v));
	char why[128];

	if (v == NULL)
		return -ENOMEM;
	cm_strlcpy(v->domain_type, res_virt_kvm_usable(why, sizeof(why)) ? "kvm" : "qemu", sizeof(v->domain_type));
	cd_log(LOG_INFO, "domain type for vm_domain_type=auto: %s (%s)", v->domain_type, why);
	cd->vm = v;
	vm_connect(cd);
	return 0;
}

void cd_vm_stop(struct cd *cd)
{
	struct cd_vm *v = cd->vm;
	size_t i;

	if (v == NULL)
		return;
	if (v->hub)
		qb_loop_timer_del(cd->loop, v->timer);
	for (i = 0; i < v->nfds; i++)
		qb_loop_poll_del(cd->loop, v->fds[i]);
	for (i = 0; i < MAX_SNAPS; i++)
		if (v->snaps[i].job)
			qb_loop_poll_del(cd->loop, v->snaps[i].fd);
	cd_exec_set_env(cd->exec, NULL);
	res_vhub_free(v->hub);
	if (v->check)
		virConnectClose(v->check);
	free(v);
	cd->vm = NULL;
}

/* res_vm.c - the 'vm-config' and 'vm' resource types on the hypervisor hub.
 *
 * vm-config: online defines the domain from the XML kept in the cluster
 * database (property xml, added by clusterd), offline undefines it.
 * vm: online starts the domain (or restores the memory state that a save
 * or a quick migration left in state_dir, or adopts a domain that already
 * runs here: a migration that switched over before its source was lost);
 * offline shuts it down, saves it or turns it off (offline_action); health
 * is the domain's state (a pause on an I/O error is a failure), or the QEMU
 * guest agent (guest_agent=on); migrate is a live peer-to-peer migration or
 * a quick one (save here, restore on the target, restore here if that
 * fails).
 *
 * A VM on a cluster shared volume keeps its saved state in a volume of its
 * own there instead (state_vol, state_off, state_size: the CSV's LUN and
 * the volume's range): the image is written to state_local, copied into
 * the volume by the LUN tool (lun_tool csv put-state), and on the next
 * online copied out (get-state), restored and the volume cleared.
 * Properties given by clusterd: xml, domain_type (qemu|kvm), state_dir,
 * offline_action, shutdown_timeout_s, migration_max_downtime_ms,
 * migration_bandwidth_mibs, mig_unsafe (1: the disks are files on shared
 * directories libvirt cannot recognise as shared), guest_agent.
 * Every step submits one request to the hub and waits on its eventfd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_err.h"
#include "cm_str.h"
#include "res_type.h"
#include "res_vhub.h"

enum { ST_CHECK = 1, ST_DEFINE, ST_START, ST_RESTORE, ST_SAVE, ST_REMOTE_RESTORE, ST_REMOTE_DEFINE,
       ST_UNDEFINE, ST_LOCAL_RESTORE, ST_STATE_GET, ST_STATE_PUT, ST_STATE_CLEAR };

/* clusterd-lun get-state: no saved state in the volume */
#define LUN_NO_STATE 4

static void vm_release(struct res_call *c)
{
	/* a migration given up (timeout, superseded) must not go on in libvirt:
	 * it could switch over after the cluster decided it stays here */
	if (c->ticket && c->env && c->inst && c->inst->mig_ticket == c->ticket)
		res_vhub_cancel(c->env, c->ticket);
	if (c->ticket && c->env)
		res_vhub_forget(c->env, c->ticket);
	if (c->inst && c->inst->mig_ticket == c->ticket)
		c->inst->mig_ticket = 0;
	c->ticket = 0;
}

/* Send req (to uri, or here when NULL) and continue with next. */
static int vm_send(struct res_call *c, const char *uri, struct res_virt_req *req, res_step_fn next)
{
	int rc, fd;

	if (c->env == NULL)
		return res_call_done(c, false, "no hypervisor connection on this node");
	if (req->name == NULL)
		req->name = c->res;
	rc = res_vhub_submit(c->env, uri, req, false, &c->ticket, &fd);
	if (rc < 0)
		return res_call_done(c, false, "cannot reach the hypervisor%s%s: %s", uri ? " at " : "", uri ? uri : "",
			       cm_strerror(rc));
	c->release = vm_release;
	c->fd = fd;
	c->next = next;
	return RES_CALL_WAIT;
}

/* The result the call waited for; false if it is not in (cannot happen). */
static bool vm_take(struct res_call *c, struct res_virt_result *r)
{
	int rc = res_vhub_take(c->env, c->ticket, r);

	c->ticket = 0;
	if (rc < 0) {
		memset(r, 0, sizeof(*r));
		snprintf(r->text, sizeof(r->text), "lost the hypervisor's answer (%s)", cm_strerror(rc));
		return false;
	}
	free(r->data); /* no request of these types returns data */
	r->data = NULL;
	return true;
}

/* The answer, and whether the request succeeded. */
static bool vm_ok(struct res_call *c, struct res_virt_result *r)
{
	return vm_take(c, r) && r->ok;
}

static const char *prop(const struct res_call *c, const char *key, const char *def)
{
	const char *v = res_prop_get(c->props, c->nprops, key);

	return v && v[0] ? v : def;
}

static int64_t prop_ms(const struct res_call *c, const char *key, int64_t def_s)
{
	const char *v = res_prop_get(c->props, c->nprops, key);

	return (v && v[0] ? strtoll(v, NULL, 10) : def_s) * 1000;
}

/* The VM keeps its saved state in a CSV volume (see the top). */
static bool csv_state(const struct res_call *c)
{
	return prop(c, "state_vol", "")[0] != '\0' && prop(c, "lun_tool", "")[0] == '/' &&
	       prop(c, "state_local", "")[0] == '/';
}

static void save_path(const struct res_call *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.save", prop(c, csv_state(c) ? "state_local" : "state_dir", ""), c->res);
}

/* Run the LUN tool on the state volume: verb put-state|get-state|clear-state,
 * then next once it has exited (status in c->stage's step). */
static int state_tool(struct res_call *c, const char *verb, int stage, res_step_fn next)
{
	char path[4096];
	const char *argv[16];
	int n = 0;

	save_path(c, path, sizeof(path));
	argv[n++] = prop(c, "lun_tool", "");
	argv[n++] = "csv";
	argv[n++] = verb;
	argv[n++] = prop(c, "state_vol", "");
	argv[n++] = "--offset";
	argv[n++] = prop(c, "state_off", "0");
	argv[n++] = "--size";
	argv[n++] = prop(c, "state_size", "0");
	argv[n++] = "--initiator";
	argv[n++] = prop(c, "initiator", "iqn.2026-11.org.clusterd:node");
	if (strcmp(verb, "clear-state") != 0) {
		argv[n++] = "--name";
		argv[n++] = prop(c, "state_tag", c->res);
		argv[n++] = path;
	}
	argv[n] = NULL;
	c->stage = stage;
	return res_lun_spawn(c, argv, next);
}

/* The LUN tool's exit: its status (-1 if it could not run) and the line it
 * said; -EAGAIN while it runs. */
static int state_tool_exit(struct res_call *c, char *line, size_t len)
{
	char why[RES_TEXT_MAX];
	int status;

	if (res_child_reap(&c->helper, &status) == -EAGAIN)
		return -EAGAIN;
	line[0] = '\0';
	if (res_child_exec_error(&c->helper, why, sizeof(why)) == 1) {
		snprintf(line, len, "%s", why);
		status = -1;
	} else {
		res_child_stderr_line(&c->helper, line, len);
		status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	}
	res_child_close(&c->helper);
	return status;
}

/* Put a stale saved state aside (never restore it over a changed disk). */
static void drop_save(const struct res_call *c)
{
	char p[4096], q[4200];

	if (csv_state(c) || prop(c, "state_dir", "")[0] != '/')
		return;
	save_path(c, p, sizeof(p));
	snprintf(q, sizeof(q), "%s.stale", p);
	if (access(p, F_OK) == 0)
		rename(p, q);
}

static bool have_save(const struct res_call *c)
{
	char p[4096];

	if (csv_state(c) || prop(c, "state_dir", "")[0] != '/')
		return false;
	save_path(c, p, sizeof(p));
	return access(p, F_OK) == 0;
}

/* The XML with the root element's type set to domain_type (qemu where KVM
 * is not usable). Returns a malloc'd string or NULL. */
static char *vm_xml(const struct res_call *c)
{
	const char *xml = prop(c, "xml", NULL), *want = prop(c, "domain_type", "");
	const char *root, *end, *t;
	char *out;

	if (xml == NULL)
		return NULL;
	out = strdup(xml);
	if (out == NULL || !want[0])
		return out;
	root = strstr(xml, "<domain");
	end = root ? strchr(root, '>') : NULL;
	if (root == NULL || end == NULL)
		return out;
	for (t = root; t < end; t++) {
		const char *v = t + 6;

		if (strncmp(t, " type=", 6) != 0 || (*v != '\'' && *v != '"'))
			continue;
		if (strncmp(v + 1, "kvm", 3) == 0 && strcmp(want, "qemu") == 0 && v[4] == *v) {
			/* "kvm" -> "qemu": one byte longer */
			char *n = malloc(strlen(xml) + 2);

			if (n == NULL)
				return out;
			size_t pre = (size_t)(v + 1 - xml);

			memcpy(n, xml, pre);
			memcpy(n + pre, "qemu", 4);
			strcpy(n + pre + 4, v + 4);
			free(out);
			return n;
		}
		break;
	}
	return out;
}

/* ---- vm-config ---- */

static int cfg_defined(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_ok(c, &r);

	if (!ok)
		return res_call_done(c, false, "cannot define the domain: %.200s", r.text);
	return res_call_done(c, true, "domain defined");
}

static int cfg_online(struct res_call *c)
{
	struct res_virt_req req = { .op = RES_VIRT_DEFINE };
	char *xml = vm_xml(c);
	int rc;

	if (xml == NULL)
		return res_call_done(c, false, "the cluster database holds no domain XML for '%s'", c->res);
	req.xml = xml;
	rc = vm_send(c, NULL, &req, cfg_defined);
	free(xml);
	return rc;
}

static const char *vm_name(const struct res_call *c)
{
	return prop(c, "domain", c->res);
}

static int cfg_undefined(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_take(c, &r) && (r.ok || r.state == RES_VIRT_ST_ABSENT || strstr(r.text, "no domain"));

	if (!ok)
		return res_call_done(c, false, "cannot undefine the domain: %.200s", r.text);
	return res_call_done(c, true, "domain undefined");
}

static int cfg_offline(struct res_call *c)
{
	struct res_virt_req req = { .op = RES_VIRT_UNDEFINE, .name = vm_name(c) };

	return vm_send(c, NULL, &req, cfg_undefined);
}

static int cfg_checked(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_ok(c, &r);
	enum res_virt_state st = r.state;

	if (!ok)
		return res_call_done(c, false, "cannot ask the hypervisor: %.200s", r.text);
	if (st == RES_VIRT_ST_ABSENT)
		return res_call_done(c, false, "the domain is no longer defined on this node");
	return res_call_done(c, true, "defined");
}

static int cfg_check(struct res_call *c)
{
	struct res_virt_req req = { .op = RES_VIRT_STATE, .name = vm_name(c) };

	return vm_send(c, NULL, &req, cfg_checked);
}

static int cfg_prop_check(const char *const *props, size_t n, char *err, size_t len)
{
	(void)props;
	(void)n;
	(void)err;
	(void)len;
	return 0; /* the XML is checked where it is stored (clusterd) */
}

const struct res_type_ops res_vmconfig_ops = {
	.name = "vm-config",
	.check = cfg_prop_check,
	.online = cfg_online,
	.offline = cfg_offline,
	.terminate = cfg_offline,
	.looks_alive = cfg_check,
	.is_alive = cfg_check,
};

/* ---- vm: online ---- */

static int vm_boot(struct res_call *c);
static int vm_started(struct res_call *c);
static int vm_state_taken(struct res_call *c);

/* get-state finished: clear the volume and restore, or boot when there
 * was no state. */
static int vm_state_got(struct res_call *c)
{
	char line[RES_TEXT_MAX];
	struct res_virt_req req;
	int st = state_tool_exit(c, line, sizeof(line));

	if (st == -EAGAIN)
		return RES_CALL_WAIT;
	if (st == LUN_NO_STATE) {
		memset(&req, 0, sizeof(req));
		req.op = RES_VIRT_START;
		req.name = vm_name(c);
		c->stage = ST_START;
		return vm_send(c, NULL, &req, vm_started);
	}
	if (st != 0)
		return res_call_done(c, false, "cannot read the saved state from the cluster shared volume: %.300s",
				     line[0] ? line : "the LUN tool failed");
	/* consumed before it is used: whatever happens next (a timeout, a
	 * restart), the same image is never restored twice */
	return state_tool(c, "clear-state", ST_STATE_CLEAR, vm_state_taken);
}

/* The state volume was cleared after get-state: restore the local copy. */
static int vm_state_taken(struct res_call *c)
{
	char line[RES_TEXT_MAX], p[4096];
	struct res_virt_req req;
	char *xml;
	int st = state_tool_exit(c, line, sizeof(line)), rc;

	if (st == -EAGAIN)
		return RES_CALL_WAIT;
	save_path(c, p, sizeof(p));
	if (st != 0) {
		unlink(p);
		return res_call_done(c, false, "not started: the saved state could not be cleared from the cluster shared"
				     " volume, so it could be restored twice: %.300s", line);
	}
	memset(&req, 0, sizeof(req));
	req.op = RES_VIRT_RESTORE;
	req.path = p;
	req.xml = xml = vm_xml(c);
	c->stage = ST_RESTORE;
	rc = vm_send(c, NULL, &req, vm_started);
	free(xml);
	return rc;
}

static int vm_started(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_ok(c, &r);
	char p[4096];

	if (c->stage == ST_RESTORE) {
		save_path(c, p, sizeof(p));
		if (ok) {
			unlink(p);
			return res_call_done(c, true, "restored from its saved memory state%s",
					     csv_state(c) ? " (kept on the cluster shared volume)" : "");
		}
		/* keep it for a person to look at, and do not restore it again */
		{
			char q[4200];

			snprintf(q, sizeof(q), "%s.failed", p);
			rename(p, q);
		}
		return res_call_done(c, false, "cannot restore the saved state (kept as %s.save.failed): %s", c->res,
			       r.text);
	}
	if (!ok)
		return res_call_done(c, false, "cannot start: %.200s", r.text);
	return res_call_done(c, true, "started");
}

static int vm_boot(struct res_call *c)
{
	struct res_virt_req req;
	char p[4096];

	char *xml = NULL;
	int rc;

	memset(&req, 0, sizeof(req));
	if (csv_state(c))
		return state_tool(c, "get-state", ST_STATE_GET, vm_state_got);
	if (have_save(c)) {
		save_path(c, p, sizeof(p));
		req.op = RES_VIRT_RESTORE;
		req.path = p;
		/* the cluster's XML: the image's own drops details (append='on') */
		req.xml = xml = vm_xml(c);
		c->stage = ST_RESTORE;
	} else {
		req.op = RES_VIRT_START;
		req.name = vm_name(c);
		c->stage = ST_START;
	}
	rc = vm_send(c, NULL, &req, vm_started);
	free(xml);
	return rc;
}

static int vm_defined(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_ok(c, &r);

	if (!ok)
		return res_call_done(c, false, "the domain is not defined here and defining it failed: %.200s", r.text);
	return vm_boot(c);
}

static int vm_online_checked(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_ok(c, &r);
	enum res_virt_state st = r.state;

	if (!ok)
		return res_call_done(c, false, "cannot ask the hypervisor: %.200s", r.text);
	if (st == RES_VIRT_ST_RUNNING || st == RES_VIRT_ST_PAUSED) {
		drop_save(c); /* it runs: a saved state of it is stale */
		return res_call_done(c, true, "already running on this node: adopted");
	}
	if (st == RES_VIRT_ST_ABSENT) {
		struct res_virt_req req = { .op = RES_VIRT_DEFINE };
		char *xml = vm_xml(c);
		int rc;

		if (xml == NULL)
			return res_call_done(c, false, "the domain is not defined on this node (is its vm-config online?)");
		req.xml = xml;
		rc = vm_send(c, NULL, &req, vm_defined);
		free(xml);
		return rc;
	}
	return vm_boot(c);
}

static int vm_online(struct res_call *c)
{
	struct res_virt_req req = { .op = RES_VIRT_STATE, .name = vm_name(c) };

	return vm_send(c, NULL, &req, vm_online_checked);
}

/* ---- vm: offline ---- */

/* put-state finished: the image is in the volume (the local copy goes). */
static int vm_state_put(struct res_call *c)
{
	char line[RES_TEXT_MAX], p[4096];
	int st = state_tool_exit(c, line, sizeof(line));

	if (st == -EAGAIN)
		return RES_CALL_WAIT;
	save_path(c, p, sizeof(p));
	if (st != 0)
		return res_call_done(c, false, "saved, but the state could not be written to the cluster shared volume"
				     " (kept in %.200s): %.300s", p, line);
	unlink(p);
	return res_call_done(c, true, "memory state saved to the cluster shared volume: %.300s", line);
}

static int vm_stopped(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_take(c, &r);
	bool gone = r.state == RES_VIRT_ST_ABSENT || r.state == RES_VIRT_ST_SHUTOFF;

	ok = ok && (r.ok || gone);
	if (!ok)
		return res_call_done(c, false, "%.200s", r.text);
	if (c->stage == ST_SAVE && csv_state(c))
		return state_tool(c, "put-state", ST_STATE_PUT, vm_state_put);
	if (c->stage == ST_SAVE)
		return res_call_done(c, true, "memory state saved to %s/%s.save", prop(c, "state_dir", ""), c->res);
	drop_save(c); /* stopped for good: the next start boots */
	return res_call_done(c, true, r.forced ? "turned off after the shutdown timeout" : "%s",
		       r.forced ? "" : (r.text[0] ? r.text : "stopped"));
}

static int vm_stop_checked(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_ok(c, &r);
	enum res_virt_state st = r.state;
	const char *how = prop(c, "offline_action", "shutdown");
	struct res_virt_req req;
	char p[4096];

	if (ok && (st == RES_VIRT_ST_ABSENT || st == RES_VIRT_ST_SHUTOFF))
		return res_call_done(c, true, "not running");
	memset(&req, 0, sizeof(req));
	req.name = vm_name(c);
	if (strcmp(how, "save") == 0) {
		if (!csv_state(c) && prop(c, "state_dir", "")[0] != '/')
			return res_call_done(c, false, "cannot save: the cluster property vm_state_dir is not set");
		save_path(c, p, sizeof(p));
		req.op = RES_VIRT_SAVE;
		req.path = p;
		c->stage = ST_SAVE;
	} else if (strcmp(how, "off") == 0) {
		req.op = RES_VIRT_DESTROY;
	} else {
		req.op = RES_VIRT_SHUTDOWN;
		req.timeout_ms = prop_ms(c, "shutdown_timeout_s", 60);
	}
	return vm_send(c, NULL, &req, vm_stopped);
}

static int vm_offline(struct res_call *c)
{
	struct res_virt_req req = { .op = RES_VIRT_STATE, .name = vm_name(c) };

	return vm_send(c, NULL, &req, vm_stop_checked);
}

static int vm_terminate(struct res_call *c)
{
	struct res_virt_req req = { .op = RES_VIRT_DESTROY, .name = vm_name(c) };

	return vm_send(c, NULL, &req, vm_stopped);
}

/* ---- vm: health ---- */

static int vm_health_checked(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_ok(c, &r);
	enum res_virt_state st = r.state;
	enum res_virt_reason why = r.reason;

	if (!ok)
		return res_call_done(c, false, "%.200s", r.text);
	if (r.op == RES_VIRT_AGENT_PING)
		return res_call_done(c, true, "the guest agent answers");
	switch (st) {
	case RES_VIRT_ST_RUNNING:
		return res_call_done(c, true, "running");
	case RES_VIRT_ST_PAUSED:
		if (why == RES_VIRT_R_IO_ERROR)
			return res_call_done(c, false, "paused on a disk I/O error");
		return res_call_done(c, true, "paused (%s)", res_virt_reason_to_str(why));
	case RES_VIRT_ST_ABSENT:
		return res_call_done(c, false, "the domain is gone from this node");
	default:
		/* shut down, turned off or saved while the cluster did nothing to
		 * it: someone else did (its event was missed) */
		c->by_operator = why == RES_VIRT_R_SHUTDOWN || why == RES_VIRT_R_DESTROYED || why == RES_VIRT_R_SAVE;
		return res_call_done(c, false, "not running (%s)", res_virt_reason_to_str(why));
	}
}

static int vm_looks(struct res_call *c)
{
	struct res_virt_req req = { .op = RES_VIRT_STATE, .name = vm_name(c) };

	return vm_send(c, NULL, &req, vm_health_checked);
}

static int vm_is(struct res_call *c)
{
	struct res_virt_req req = { .op = RES_VIRT_AGENT_PING, .name = vm_name(c) };

	if (strcmp(prop(c, "guest_agent", "false"), "true") != 0)
		return vm_looks(c);
	return vm_send(c, NULL, &req, vm_health_checked);
}

/* ---- vm: migrate ---- */

static void mib(uint64_t bytes, char *buf, size_t len)
{
	snprintf(buf, len, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
}

static int vm_migrated(struct res_call *c)
{
	struct res_virt_result r;
	bool ok = vm_ok(c, &r);
	char m[32], d[32];

	c->inst->mig_ticket = 0;
	c->stats.valid = r.job.valid;
	c->stats.total_ms = (int64_t)(r.took_us / 1000);
	c->stats.downtime_ms = r.job.downtime_ms;
	c->stats.data_total = r.job.data_total;
	c->stats.data_processed = r.job.data_processed;
	if (!ok)
		return res_call_done(c, false, "%.200s", r.text);
	mib(r.job.data_processed, m, sizeof(m));
	if (r.job.downtime_ms >= 0)
		snprintf(d, sizeof(d), "%lld ms", (long long)r.job.downtime_ms);
	else
		snprintf(d, sizeof(d), "unknown");
	return res_call_done(c, true, "%.2f s total, downtime %s, %s transferred", (double)r.took_us / 1e6, d, m);
}

/* The migration's time is up: abort it in libvirt and wait for its answer
 * (the executor allows a grace): it may still have switched over. */
static int vm_mig_expire(struct res_call *c)
{
	if (c->ticket && c->env)
		res_vhub_cancel(c->env, c->ticket);
	c->next = vm_migrated;
	return RES_CALL_WAIT; /* c->fd is still the request's */
}

static int vm_live(struct res_call *c)
{
	struct res_virt_req req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.op = RES_VIRT_MIGRATE;
	req.name = vm_name(c);
	req.dest_uri = c->target;
	req.mig_flags = RES_VIRT_MIG_LIVE | RES_VIRT_MIG_P2P | RES_VIRT_MIG_PERSISTENT |
			RES_VIRT_MIG_UNDEFINE_SOURCE;
	if (strcmp(prop(c, "mig_unsafe", "0"), "1") == 0)
		req.mig_flags |= RES_VIRT_MIG_UNSAFE;
	req.max_downtime_ms = (uint64_t)strtoull(prop(c, "migration_max_downtime_ms", "0"), NULL, 10);
	req.bandwidth_mibs = (uint64_t)strtoull(prop(c, "migration_bandwidth_mibs", "0"), NULL, 10);
	rc = vm_send(c, NULL, &req, vm_migrated);
	if (rc == RES_CALL_WAIT) {
		c->inst->mig_ticket = c->ticket;
		c->expire = vm_mig_expire;
	}
	return rc;
}

/* quick: save here, restore there, define there, undefine here; if the
 * target fails, restore here */
static int quick_step(struct res_call *c);

static int quick_restore_here(struct res_call *c, const char *why)
{
	struct res_virt_req req;
	char p[4096], *xml = vm_xml(c);
	int rc;

	memset(&req, 0, sizeof(req));
	save_path(c, p, sizeof(p));
	req.op = RES_VIRT_RESTORE;
	req.path = p;
	req.xml = xml;
	cm_strlcpy(c->text, why, sizeof(c->text));
	c->stage = ST_LOCAL_RESTORE;
	rc = vm_send(c, NULL, &req, quick_step);
	free(xml);
	return rc;
}

static int quick_next(struct res_call *c, const struct res_virt_result *r)
{
	struct res_virt_req req;
	char p[4096], why[RES_TEXT_MAX];
	char *xml;
	int rc;

	memset(&req, 0, sizeof(req));
	save_path(c, p, sizeof(p));
	switch (c->stage) {
	case ST_SAVE:
		if (!r->ok)
			return res_call_done(c, false, "cannot save the memory state: %.200s", r->text);
		req.op = RES_VIRT_RESTORE;
		req.path = p;
		req.xml = xml = vm_xml(c);
		c->stage = ST_REMOTE_RESTORE;
		rc = vm_send(c, c->target, &req, quick_step);
		free(xml);
		if (rc != RES_CALL_WAIT) { /* the target is out of reach: back here */
			snprintf(why, sizeof(why), "%.200s", c->text);
			return quick_restore_here(c, why);
		}
		return rc;
	case ST_REMOTE_RESTORE:
		if (!r->ok) {
			snprintf(why, sizeof(why), "restoring on the target failed: %.200s", r->text);
			return quick_restore_here(c, why);
		}
		xml = vm_xml(c);
		req.op = RES_VIRT_DEFINE;
		req.xml = xml ? xml : "";
		c->stage = ST_REMOTE_DEFINE;
		rc = xml ? vm_send(c, c->target, &req, quick_step)
			 : res_call_done(c, true, "restored on the target (no XML to make it persistent there)");
		free(xml);
		return rc;
	case ST_REMOTE_DEFINE:
		unlink(p);
		req.op = RES_VIRT_UNDEFINE;
		req.name = vm_name(c);
		c->stage = ST_UNDEFINE;
		return vm_send(c, NULL, &req, quick_step);
	case ST_UNDEFINE:
		c->stats.valid = true;
		c->stats.downtime_ms = -1;
		return res_call_done(c, true, "saved here and restored on the target");
	case ST_LOCAL_RESTORE:
		if (r->ok)
			unlink(p);
		return res_call_done(c, false, "%s; %s", c->text,
			       r->ok ? "restored on this node" : "restoring it here failed too; its state is kept");
	default:
		return res_call_done(c, false, "quick migration: lost track (stage %d)", c->stage);
	}
}

static int quick_step(struct res_call *c)
{
	struct res_virt_result r;

	vm_take(c, &r);
	return quick_next(c, &r);
}

static int vm_migrate(struct res_call *c)
{
	struct res_virt_req req;
	char p[4096];

	if (c->target == NULL || c->target[0] == '\0')
		return res_call_done(c, false, "no URI for the target's hypervisor");
	if (c->mode != 2 /* RES_MIG_QUICK */)
		return vm_live(c);
	/* its state goes through its volume on the CSV, which the target
	 * reads itself: that is a move with a save ('vm migrate --quick'),
	 * never a restore of a path on the target's own disk */
	if (csv_state(c))
		return res_call_done(c, false, "a VM on a cluster shared volume is quick-migrated by 'vm migrate --quick'"
				     " (saved to its state volume, restored on the target)");
	if (prop(c, "state_dir", "")[0] != '/')
		return res_call_done(c, false, "quick migration needs the cluster property vm_state_dir (a shared directory)");
	memset(&req, 0, sizeof(req));
	save_path(c, p, sizeof(p));
	req.op = RES_VIRT_SAVE;
	req.name = vm_name(c);
	req.path = p;
	c->stage = ST_SAVE;
	return vm_send(c, NULL, &req, quick_step);
}

static int vm_prop_check(const char *const *props, size_t n, char *err, size_t len)
{
	const char *a = res_prop_get(props, n, "offline_action");

	if (a && strcmp(a, "shutdown") && strcmp(a, "save") && strcmp(a, "off")) {
		snprintf(err, len, "offline_action must be shutdown, save or off");
		return -CM_E_VALUE;
	}
	return 0;
}

const struct res_type_ops res_vm_ops = {
	.name = "vm",
	.check = vm_prop_check,
	.online = vm_online,
	.offline = vm_offline,
	.terminate = vm_terminate,
	.looks_alive = vm_looks,
	.is_alive = vm_is,
	.migrate = vm_migrate,
};

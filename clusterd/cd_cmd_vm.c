/* cd_cmd_vm.c - cluadmin's vm commands (arguments and replies: cli/cli_vm.c).
 *
 * Checks that need this node's view of the world run here, before the write
 * is sent, so that bad input gets its answer at once and changes nothing:
 * the domain XML (libvirt's own parser, then what the cluster decides on:
 * shared storage, networks on every possible owner), the target of a
 * migration. The apply side (cd_db_vm.c) checks again what depends on the
 * order of writes.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_str.h"
#include "cd_cmd_int.h"
#include "cd_vm.h"
#include "cd_csv.h"
#include "res_core.h"
#include "res_vmxml.h"
#include "wit_scsi.h"

static int need_vm(struct req *r, const char **name)
{
	*name = cd_req_arg(r, 0);
	if (*name == NULL || !(*name)[0])
		return cd_req_err(r, -CM_E_ARGS, "a virtual machine name is needed");
	if (!cd_db_vm_exists(r->cd->db, *name))
		return cd_req_err(r, -CM_E_NO_OBJECT, "virtual machine '%s' does not exist", *name);
	return 0;
}

static void query_reply(struct req *r, int rc, const char *err)
{
	if (rc < 0) {
		cd_req_err(r, rc, "%s", err[0] ? err : cm_strerror(rc));
		return;
	}
	cm_jw_obj_end(&r->w);
	cd_req_json(r);
}

static void submit_reply(struct req *r, struct cm_msg *w, const char *ok_json)
{
	uint64_t id;
	int rc = cd_repl_write(r->cd->repl, w, &id);

	if (rc == 0)
		rc = cd_ipc_wait_write_reply(r->cd, r->c, id, ok_json);
	if (rc < 0)
		cd_req_err(r, rc, "cannot send the change to the cluster: %s", cm_strerror(rc));
}

static int64_t new_job_id(struct req *r)
{
	return (int64_t)cd_wall_ms() * 256 + (int64_t)(r->cd->my_id % 128);
}

static const char *cluster_prop(struct req *r, const char *key, char *buf, size_t len)
{
	if (cd_db_prop_get(r->cd->db, CM_OBJ_CLUSTER, "", key, buf, len, NULL) < 0)
		buf[0] = '\0';
	return buf;
}

/* Every network or bridge of x on node (from the facts it reported). */
static int node_has_networks(struct req *r, const struct res_vmxml *x, const char *node, char *err, size_t len)
{
	struct res_vmxml_net nets[RES_VMXML_MAX_IFACES];
	char *facts = cd_db_node_networks(r->cd->db, node), *brs;
	size_t i, n = res_vmxml_networks(x, nets, RES_VMXML_MAX_IFACES);
	int rc = 0;

	if (facts == NULL)
		return 0; /* it has not reported (down since before this version): not known */
	brs = strchr(facts, '\n');
	if (brs)
		*brs++ = '\0';
	for (i = 0; i < n && rc == 0; i++) {
		const char *list = nets[i].type == RES_IF_NETWORK ? facts : (brs ? brs : "");

		if (!cm_list_has(list, nets[i].name)) {
			snprintf(err, len, "node '%s' has no %s '%s' that the VM needs", node,
				 nets[i].type == RES_IF_NETWORK ? "libvirt network" : "bridge", nets[i].name);
			rc = -CM_E_VALUE;
		}
	}
	free(facts);
	return rc;
}

static int shared_check(struct req *r, const struct res_vmxml *x, char *err, size_t len)
{
	char dirs[CM_VALUE_MAX], *save = NULL, *d;
	const char *list[32];
	struct res_shared sh;
	size_t n = 0;

	cluster_prop(r, "shared_dirs", dirs, sizeof(dirs));
	for (d = strtok_r(dirs, ",", &save); d && n < 32; d = strtok_r(NULL, ",", &save))
		list[n++] = d;
	memset(&sh, 0, sizeof(sh));
	sh.dirs = list;
	sh.n_dirs = n;
	{
		struct cd_db_csv *csvs = NULL;
		const char *names[64], *luns[16];
		char whole[2048], *save2 = NULL, *u;
		size_t nc = 0, i, nl = 0;
		int rc;

		/* CSV volumes must exist; whole iSCSI LUNs become the VM's
		 * physical disks (a CSV's LUN or the witness never does) */
		cd_db_csvs(r->cd->db, &csvs, &nc);
		for (i = 0; i < nc && i < 64; i++)
			names[i] = csvs[i].name;
		sh.csvs = names;
		sh.n_csvs = nc < 64 ? nc : 64;
		res_vmxml_whole_luns(x, whole, sizeof(whole));
		for (u = strtok_r(whole, ",", &save2); u && nl < 16; u = strtok_r(NULL, ",", &save2))
			luns[nl++] = u;
		sh.luns = luns;
		sh.n_luns = nl;
		rc = res_vmxml_check_storage(x, &sh, err, len);
		for (i = 0; rc == 0 && i < x->n_disks; i++) {
			const struct res_vmxml_disk *dk = &x->disks[i];
			uint64_t off, size;

			if (dk->type == RES_DISK_VOLUME && dk->pool && !strncmp(dk->pool, "csv:", 4) && dk->volume &&
			    cd_db_csv_vol(r->cd->db, dk->pool + 4, dk->volume, &off, &size) < 0) {
				snprintf(err, len, "disk '%s': volume '%s/%s' does not exist (create it with 'cluadmin csv"
					 " volume create %s %s SIZE')", dk->target, dk->pool + 4, dk->volume,
					 dk->pool + 4, dk->volume);
				rc = -CM_E_NO_OBJECT;
			}
		}
		for (i = 0; rc == 0 && i < nl; i++) {
			struct wit_url a, b;
			char e2[256];
			size_t j;

			if (wit_url_parse(luns[i], &a, e2, sizeof(e2)) < 0)
				continue;
			for (j = 0; j < nc; j++)
				if (wit_url_parse(csvs[j].url, &b, e2, sizeof(e2)) == 0 && !strcasecmp(a.iqn, b.iqn) &&
				    a.lun == b.lun) {
					snprintf(err, len, "%s is the cluster shared volume '%s': use its volumes"
						 " (<source pool='csv:%s' volume='VOLUME'/>), not the whole LUN", luns[i],
						 csvs[j].name, csvs[j].name);
					rc = -CM_E_VALUE;
				}
			if (rc == 0 && wit_url_parse(r->cd->witness_url, &b, e2, sizeof(e2)) == 0 &&
			    !strcasecmp(a.iqn, b.iqn) && a.lun == b.lun) {
				snprintf(err, len, "%s is the witness LUN", luns[i]);
				rc = -CM_E_VALUE;
			}
		}
		free(csvs);
		return rc;
	}
}

/* "disks=URL,URL" for the VM's whole-LUN disks (they become physical-disk
 * resources of its group), or "". */
static void disk_opts(const struct res_vmxml *x, char *buf, size_t len)
{
	char whole[2048];

	buf[0] = '\0';
	if (res_vmxml_whole_luns(x, whole, sizeof(whole)) == 0 && whole[0])
		snprintf(buf, len, "disks=%s\n", whole);
}

static int xml_checks(struct req *r, const char *name, const char *xml, struct res_vmxml **out)
{
	char err[ERRLEN];
	struct cd_db_node *nodes = NULL;
	size_t nn = 0, i;
	int rc;

	if ((rc = res_vmxml_parse(xml, strlen(xml), out, err, sizeof(err))) < 0)
		return cd_req_err(r, rc, "the domain XML is not valid: %s", err);
	if (strcmp((*out)->name, name) != 0)
		return cd_req_err(r, -CM_E_VALUE, "the domain XML names the domain '%s', not '%s'", (*out)->name, name);
	if ((rc = cd_vm_validate_xml(r->cd, xml, err, sizeof(err))) < 0)
		return cd_req_err(r, rc, "libvirt refuses the domain XML: %s", err);
	if ((rc = shared_check(r, *out, err, sizeof(err))) < 0)
		return cd_req_err(r, rc, "%s (shared directories: cluster property shared_dirs)", err);
	if (cd_db_nodes(r->cd->db, &nodes, &nn) < 0)
		return cd_req_err(r, -CM_E_DB, "cannot read the nodes");
	for (i = 0; i < nn; i++)
		if ((rc = node_has_networks(r, *out, nodes[i].name, err, sizeof(err))) < 0)
			break;
	free(nodes);
	return rc < 0 ? cd_req_err(r, rc, "%s", err) : 0;
}

/* The XML with a <uuid> after its <name> when it has none: a domain keeps
 * one identity on every node (libvirt ties snapshots to it). NULL: no
 * change needed or possible. */
static char *pin_uuid(const char *xml, const struct res_vmxml *x)
{
	char uuid[40] = "", *out;
	const char *end = strstr(xml, "</name>");
	FILE *f;

	if (x->uuid[0] || end == NULL)
		return NULL;
	f = fopen("/proc/sys/kernel/random/uuid", "r");
	if (f == NULL)
		return NULL;
	if (fgets(uuid, sizeof(uuid), f) == NULL)
		uuid[0] = '\0';
	fclose(f);
	uuid[strcspn(uuid, "\n")] = '\0';
	if (strlen(uuid) != 36)
		return NULL;
	end += strlen("</name>");
	if (asprintf(&out, "%.*s<uuid>%s</uuid>%s", (int)(end - xml), xml, uuid, end) < 0)
		return NULL;
	return out;
}

static void cmd_create(struct req *r)
{
	const char *name = cd_req_arg(r, 0), *xml = cd_req_arg(r, 1), *grp = cd_req_arg(r, 2);
	const char *pref = cd_req_arg(r, 3), *opts = cd_req_arg(r, 4);
	struct res_vmxml *x = NULL;
	char err[ERRLEN], mem[64], reply[256], *pinned;
	struct cm_sb o;
	struct cm_msg w;
	bool start = true;

	if (!name || !xml || !grp || !pref || !opts) {
		cd_req_err(r, -CM_E_ARGS, "vm create needs a name, the XML, a group, preferred owners and options");
		return;
	}
	if (cm_name_check("virtual machine", name, err, sizeof(err)) < 0) {
		cd_req_err(r, -CM_E_NAME, "%s", err);
		return;
	}
	if (cd_req_can_write(r) < 0 || xml_checks(r, name, xml, &x) < 0) {
		res_vmxml_free(x);
		return;
	}
	cm_sb_init(&o);
	cm_sb_puts(&o, opts);
	if (strstr(opts, "start=0"))
		start = false;
	if (!strstr(opts, "memory_mb=")) {
		snprintf(mem, sizeof(mem), "%smemory_mb=%llu\n", opts[0] && opts[strlen(opts) - 1] != '\n' ? "\n" : "",
			 (unsigned long long)x->memory_mib);
		cm_sb_puts(&o, mem);
	}
	{
		char disks[2100], vols[1024];

		disk_opts(x, disks, sizeof(disks));
		if (disks[0] && o.len && o.buf[o.len - 1] != '\n')
			cm_sb_putc(&o, '\n');
		cm_sb_puts(&o, disks);
		/* on a CSV: a volume there for its saved state, memory + 64 MiB */
		if (res_vmxml_csv_vols(x, vols, sizeof(vols)) == 0 && vols[0]) {
			if (o.len && o.buf[o.len - 1] != '\n')
				cm_sb_putc(&o, '\n');
			vols[strcspn(vols, "/")] = '\0';
			cm_sb_printf(&o, "state_csv=%s\nstate_bytes=%llu\n", vols,
				     (unsigned long long)(x->memory_mib + 64) << 20);
		}
	}
	pinned = pin_uuid(xml, x);
	res_vmxml_free(x);
	if (pinned)
		xml = pinned;
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_CREATE);
	cm_msg_add_int(&w, start);
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, grp);
	cm_msg_add_str(&w, xml);
	cm_msg_add_str(&w, pref);
	cm_msg_add_str(&w, o.buf ? o.buf : "");
	cm_msg_add_str(&w, r->cl->user);
	snprintf(reply, sizeof(reply), "{\"vm\":\"%s\",\"group\":\"%s\"}", name, grp[0] ? grp : name);
	submit_reply(r, &w, reply);
	cm_sb_free(&o);
	free(pinned);
}

/* A new domain XML for a stopped VM: the same checks as at creation. */
static void cmd_edit(struct req *r)
{
	const char *name, *xml = cd_req_arg(r, 1);
	struct res_vmxml *x = NULL;
	char cfg[CM_NAME_MAX + 16], *old, *pinned = NULL;
	struct res_vmxml *ox = NULL;
	char err[ERRLEN];
	struct cm_msg w;

	if (need_vm(r, &name) < 0)
		return;
	if (xml == NULL) {
		cd_req_err(r, -CM_E_ARGS, "vm edit needs the new domain XML");
		return;
	}
	if (cd_req_can_write(r) < 0 || xml_checks(r, name, xml, &x) < 0) {
		res_vmxml_free(x);
		return;
	}
	/* keep the VM's identity: its UUID, unless the new XML names one */
	snprintf(cfg, sizeof(cfg), "%s-config", name);
	old = cd_db_vm_xml(r->cd->db, cfg);
	if (!x->uuid[0] && old && res_vmxml_parse(old, strlen(old), &ox, err, sizeof(err)) == 0 && ox->uuid[0] &&
	    strstr(xml, "</name>")) {
		const char *end = strstr(xml, "</name>") + strlen("</name>");

		if (asprintf(&pinned, "%.*s<uuid>%s</uuid>%s", (int)(end - xml), xml, ox->uuid, end) < 0)
			pinned = NULL;
	}
	res_vmxml_free(ox);
	res_vmxml_free(x);
	free(old);
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_XML);
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, pinned ? pinned : xml);
	cm_msg_add_str(&w, r->cl->user);
	submit_reply(r, &w, NULL);
	free(pinned);
}

static void write_named(struct req *r, int op, const char *name, const char *arg)
{
	struct cm_msg w;

	if (cd_req_can_write(r) < 0)
		return;
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, op);
	cm_msg_add_str(&w, name);
	if (arg)
		cm_msg_add_str(&w, arg);
	cm_msg_add_str(&w, r->cl->user);
	submit_reply(r, &w, NULL);
}

static void cmd_start(struct req *r)
{
	const struct res_model *m = cd_db_model(r->cd->db);
	const char *name;
	int ri;

	if (need_vm(r, &name) < 0)
		return;
	if (m == NULL || (ri = res_resource_find(m, name)) < 0) {
		cd_req_err(r, -CM_E_DB, "cannot read the cluster database");
		return;
	}
	write_named(r, CM_OP_GROUP_ONLINE, m->groups[m->res[ri].group].name, NULL);
}

static void cmd_stop(struct req *r, const char *mode)
{
	const char *name;
	char dir[CM_VALUE_MAX];

	if (need_vm(r, &name) < 0)
		return;
	if (strcmp(mode, "save") == 0 && !cluster_prop(r, "vm_state_dir", dir, sizeof(dir))[0]) {
		cd_req_err(r, -CM_E_CONF, "cannot save '%s': set the cluster property vm_state_dir to a directory"
			   " every node shares", name);
		return;
	}
	write_named(r, CM_OP_VM_OFFLINE, name, mode);
}

static int target_checks(struct req *r, const char *name, const char *node, const char *mode)
{
	const struct res_model *m = cd_db_model(r->cd->db);
	struct res_vmxml *x = NULL;
	char err[ERRLEN], dir[CM_VALUE_MAX], cfg[CM_NAME_MAX + 16], *xml;
	int ri, rc;

	if (m == NULL || (ri = res_resource_find(m, name)) < 0)
		return cd_req_err(r, -CM_E_DB, "cannot read the cluster database");
	if (node[0] && res_node_find_name(m, node) < 0)
		return cd_req_err(r, -CM_E_NO_OBJECT, "node '%s' is not a member of this cluster", node);
	if (strcmp(mode, "quick") == 0 && !cluster_prop(r, "vm_state_dir", dir, sizeof(dir))[0])
		return cd_req_err(r, -CM_E_CONF, "quick migration keeps the memory state in the cluster property"
				  " vm_state_dir, which is not set");
	if (strcmp(mode, "move") == 0)
		rc = node[0] ? res_move_check(m, m->res[ri].group, node, err, sizeof(err)) : 0;
	else
		rc = res_migrate_check(m, m->res[ri].group, node, err, sizeof(err));
	if (rc < 0)
		return cd_req_err(r, rc, "%s", err);
	snprintf(cfg, sizeof(cfg), "%s-config", name);
	xml = cd_db_vm_xml(r->cd->db, cfg);
	if (node[0] && xml && res_vmxml_parse(xml, strlen(xml), &x, err, sizeof(err)) == 0)
		rc = node_has_networks(r, x, node, err, sizeof(err));
	res_vmxml_free(x);
	free(xml);
	return rc < 0 ? cd_req_err(r, rc, "%s", err) : 0;
}

static void cmd_migrate(struct req *r)
{
	const char *name, *node = cd_req_arg(r, 1), *mode = cd_req_arg(r, 2);
	char reply[64];
	int64_t job = new_job_id(r);
	struct cm_msg w;

	if (need_vm(r, &name) < 0)
		return;
	if (node == NULL)
		node = "";
	if (mode == NULL || (strcmp(mode, "live") && strcmp(mode, "quick") && strcmp(mode, "move"))) {
		cd_req_err(r, -CM_E_ARGS, "the migration mode is live, quick or move");
		return;
	}
	if (cd_req_can_write(r) < 0 || target_checks(r, name, node, mode) < 0)
		return;
	{
		/* a VM on a CSV saves its state to its volume there: stopped
		 * with save here, restored there */
		char vol[CM_NAME_MAX + 8];

		snprintf(vol, sizeof(vol), "%s.state", name);
		if (strcmp(mode, "quick") == 0 && cd_csv_state_volume(r->cd, name, NULL, 0))
			mode = "move-save";
	}
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_MIGRATE);
	cm_msg_add_int(&w, job);
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, node);
	cm_msg_add_str(&w, mode);
	cm_msg_add_str(&w, r->cl->user);
	snprintf(reply, sizeof(reply), "{\"job\":%lld}", (long long)job);
	submit_reply(r, &w, reply);
}

static void cmd_cancel(struct req *r)
{
	struct cd_db_job jobs[64];
	size_t n = 0, i;
	const char *name;
	char reply[64] = "{\"ok\":true}";
	struct cm_msg w;

	if (need_vm(r, &name) < 0 || cd_req_can_write(r) < 0)
		return;
	cd_db_vm_jobs_running(r->cd->db, jobs, 64, &n);
	for (i = 0; i < n; i++)
		if (strcmp(jobs[i].vm, name) == 0 && (!strcmp(jobs[i].kind, "live") || !strcmp(jobs[i].kind, "quick")))
			snprintf(reply, sizeof(reply), "{\"job\":%lld}", (long long)jobs[i].id);
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_CANCEL);
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, r->cl->user);
	submit_reply(r, &w, reply);
}

/* Snapshots need every writable disk to be a qcow2 file (internal snapshots). */
static int snapshot_disks(struct req *r, const char *name)
{
	struct res_vmxml *x = NULL;
	char err[ERRLEN], cfg[CM_NAME_MAX + 16], *xml;
	size_t i;
	int rc = 0;

	snprintf(cfg, sizeof(cfg), "%s-config", name);
	xml = cd_db_vm_xml(r->cd->db, cfg);
	if (xml == NULL || res_vmxml_parse(xml, strlen(xml), &x, err, sizeof(err)) < 0) {
		free(xml);
		return cd_req_err(r, -CM_E_DB, "cannot read the domain XML of '%s'", name);
	}
	free(xml);
	for (i = 0; i < x->n_disks && rc == 0; i++) {
		const struct res_vmxml_disk *d = &x->disks[i];

		if (d->device == RES_DISK_DEV_CDROM || d->readonly)
			continue;
		if (d->type != RES_DISK_FILE || d->format != RES_FMT_QCOW2)
			rc = cd_req_err(r, -CM_E_VALUE, "snapshots need qcow2 file disks (internal snapshots): disk '%s'"
					" of '%s' is a %s %s disk", d->target, name,
					d->format == RES_FMT_QCOW2 ? "qcow2" : "raw",
					d->type == RES_DISK_FILE ? "file" : d->type == RES_DISK_NETWORK ? "network" :
					d->type == RES_DISK_BLOCK ? "block" : "volume");
	}
	if (rc == 0 && x->n_disks == 0)
		rc = cd_req_err(r, -CM_E_VALUE, "'%s' has no disk: snapshots are kept in qcow2 disks", name);
	res_vmxml_free(x);
	return rc;
}

static void cmd_snapshot(struct req *r)
{
	const char *name, *action = cd_req_arg(r, 1), *snap = cd_req_arg(r, 2), *to = cd_req_arg(r, 3);
	char def[160], reply[64];
	int64_t job = new_job_id(r);
	struct cm_msg w;

	if (need_vm(r, &name) < 0)
		return;
	if (!action || !snap || !to) {
		cd_req_err(r, -CM_E_ARGS, "vm snapshot needs an action, a snapshot name and a new name");
		return;
	}
	if (cd_req_can_write(r) < 0)
		return;
	if (strcmp(action, "create") == 0) {
		if (snapshot_disks(r, name) < 0)
			return;
		if (!snap[0]) {
			time_t t = (time_t)(cd_wall_ms() / 1000);
			struct tm tm;
			char when[32];

			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			snprintf(def, sizeof(def), "%s - (%s)", name, when);
			snap = def;
		}
	}
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_VM_SNAPSHOT);
	cm_msg_add_int(&w, job);
	cm_msg_add_str(&w, name);
	cm_msg_add_str(&w, action);
	cm_msg_add_str(&w, snap);
	cm_msg_add_str(&w, to);
	cm_msg_add_str(&w, r->cl->user);
	snprintf(reply, sizeof(reply), "{\"job\":%lld}", (long long)job);
	submit_reply(r, &w, reply);
}

static void cmd_query(struct req *r, int64_t cmd)
{
	char err[ERRLEN] = "";
	const char *a = cd_req_arg(r, 0);
	int rc;

	cm_jw_obj_begin(&r->w);
	switch (cmd) {
	case CM_CMD_VM_LIST:
		rc = cd_db_vm_list_json(r->cd->db, &r->w);
		break;
	case CM_CMD_VM_SHOW:
		rc = a ? cd_db_vm_show_json(r->cd->db, a, &r->w, err, sizeof(err)) : -CM_E_ARGS;
		break;
	case CM_CMD_VM_SNAPSHOT_LIST:
		rc = a ? cd_db_vm_snaps_json(r->cd->db, a, &r->w, err, sizeof(err)) : -CM_E_ARGS;
		break;
	default:
		rc = a ? cd_db_vm_job_json(r->cd->db, strtoll(a, NULL, 10), &r->w, err, sizeof(err)) : -CM_E_ARGS;
		break;
	}
	query_reply(r, rc, err);
}

void cd_cmd_vm(struct req *r, int64_t cmd)
{
	const char *name;

	switch (cmd) {
	case CM_CMD_VM_CREATE: cmd_create(r); break;
	case CM_CMD_VM_DELETE:
		if (need_vm(r, &name) == 0)
			write_named(r, CM_OP_VM_DELETE, name, NULL);
		break;
	case CM_CMD_VM_START: cmd_start(r); break;
	case CM_CMD_VM_STOP: cmd_stop(r, "off"); break;
	case CM_CMD_VM_SHUTDOWN: cmd_stop(r, "shutdown"); break;
	case CM_CMD_VM_SAVE: cmd_stop(r, "save"); break;
	case CM_CMD_VM_MIGRATE: cmd_migrate(r); break;
	case CM_CMD_VM_CANCEL: cmd_cancel(r); break;
	case CM_CMD_VM_SNAPSHOT: cmd_snapshot(r); break;
	case CM_CMD_VM_EDIT: cmd_edit(r); break;
	default: cmd_query(r, cmd); break;
	}
}

/* test_validate.c - clusval's pure part: the facts' JSON codec and the
 * checks (vl_facts.c, vl_checks.c). A healthy 3-node fact set passes every
 * test; each deliberate breakage makes exactly one test warn or fail, and
 * names the node (or pair, link, LUN, VM) at fault. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_json.h"
#include <fcntl.h>
#include <unistd.h>

#include "vl_checks.h"
#include "vl_cluster.h"
#include "vl_facts.h"
#include "vl_probe.h"
#include "ut.h"

#define GIB (1024ull * 1024)   /* in KiB */
#define NN 3

/* Big structs: file scope, not the stack (each test runs in its own fork). */
static struct vl_facts F[NN];
static struct vl_vm V[4];
static size_t nv;
static struct vl_result R[40];

static const char *witness = "iscsi://10.0.0.100/iqn.2024-01.test:san/0";
static const char *scratch = "iscsi://10.0.0.100/iqn.2024-01.test:san/1";
static const char *csvlun = "iscsi://10.0.0.100/iqn.2024-01.test:san/2";

static void add_str(char (*list)[VL_NAME], size_t *n, const char *s)
{
	cm_strlcpy(list[(*n)++], s, VL_NAME);
}

/* A VM file fact on node f: on NFS (every node its own device number, one inode). */
static struct vl_file *add_file(struct vl_facts *f, const char *path, const char *backing, const char *of)
{
	struct vl_file *x = &f->files[f->n_files++];

	cm_strlcpy(x->path, path, sizeof(x->path));
	x->exists = true;
	cm_strlcpy(x->kind, "file", sizeof(x->kind));
	x->size = 1u << 30;
	x->dev = (uint64_t)(f - F) + 40;
	x->ino = 1000 + f->n_files;
	cm_strlcpy(x->fstype, "nfs4", sizeof(x->fstype));
	cm_strlcpy(x->format, "qcow2", sizeof(x->format));
	cm_strlcpy(x->backing, backing, sizeof(x->backing));
	cm_strlcpy(x->of, of, sizeof(x->of));
	return x;
}

static struct vl_file *file_on(int node, const char *path)
{
	for (size_t k = 0; k < F[node - 1].n_files; k++)
		if (strcmp(F[node - 1].files[k].path, path) == 0)
			return &F[node - 1].files[k];
	ck_abort_msg("no file %s on n%d", path, node);
	return NULL;
}

static void add_disk(struct vl_vm *m, const char *target, const char *kind, const char *source, const char *lun)
{
	struct vl_vm_disk *d = &m->disks[m->n_disks++];

	cm_strlcpy(d->target, target, sizeof(d->target));
	cm_strlcpy(d->kind, kind, sizeof(d->kind));
	cm_strlcpy(d->source, source, sizeof(d->source));
	cm_strlcpy(d->lun, lun, sizeof(d->lun));
}

static void add_net(struct vl_vm *m, const char *name, bool bridge)
{
	cm_strlcpy(m->nets[m->n_nets].name, name, VL_NAME);
	m->nets[m->n_nets++].bridge = bridge;
}

static void add_lun(struct vl_facts *f, const char *role, const char *url, const char *id, bool tested, bool in_use)
{
	struct vl_lun *l = &f->luns[f->n_luns++];

	cm_strlcpy(l->url, url, sizeof(l->url));
	cm_strlcpy(l->role, role, sizeof(l->role));
	l->visible = true;
	cm_strlcpy(l->vendor, "LIO-ORG", sizeof(l->vendor));
	cm_strlcpy(l->product, "san", sizeof(l->product));
	cm_strlcpy(l->identity, id, sizeof(l->identity));
	l->bytes = 1ull << 30;
	l->pr_caps = true;
	l->pr_tested = tested;
	l->pr_ok = tested;
	l->in_use = in_use;
}

/* Three nodes, two corosync links (10.0.L.N on ethL), everything in order. */
static void healthy(void)
{
	static const char *const flags[] = { "fpu", "lm", "nx", "sse4_2", "aes", "avx", "avx2", "vmx", "bmi2" };

	memset(F, 0, sizeof(F));
	for (int i = 0; i < NN; i++) {
		struct vl_facts *f = &F[i];

		snprintf(f->node, sizeof(f->node), "n%d", i + 1);
		f->ok = true;
		snprintf(f->hostname, sizeof(f->hostname), "node%d.test", i + 1);
		snprintf(f->boot_id, sizeof(f->boot_id), "6b1f0c2e-0000-4000-8000-00000000000%d", i + 1);
		cm_strlcpy(f->probe_version, "0.1.0", sizeof(f->probe_version));
		f->time_ms = 1700000000000 + i * 7;
		cm_strlcpy(f->arch, "x86_64", sizeof(f->arch));
		f->cpu_64bit = true;
		cm_strlcpy(f->cpu_vendor, "GenuineIntel", sizeof(f->cpu_vendor));
		cm_strlcpy(f->cpu_model, "Intel(R) Xeon(R) Gold 6230", sizeof(f->cpu_model));
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			cm_strlcpy(f->cpu_flags[f->n_cpu_flags++], flags[k], VL_FLAG);
		f->virt_ext = true;
		f->kvm_usable = true;
		f->cpus = 8;
		f->mem_total_kib = 16 * GIB;
		f->mem_avail_kib = 12 * GIB;
		cm_strlcpy(f->kernel, "6.1.0-18-amd64", sizeof(f->kernel));
		cm_strlcpy(f->ver_corosync, "3.1.7", sizeof(f->ver_corosync));
		cm_strlcpy(f->ver_libqb, "2.0.6", sizeof(f->ver_libqb));
		cm_strlcpy(f->ver_libvirt, "9.0.0", sizeof(f->ver_libvirt));
		cm_strlcpy(f->ver_qemu, "7.2.0", sizeof(f->ver_qemu));
		cm_strlcpy(f->ver_clusterd, "0.1.0", sizeof(f->ver_clusterd));
		cm_strlcpy(f->corosync_conf_hash, "9f86d081884c7d65", sizeof(f->corosync_conf_hash));
		cm_strlcpy(f->authkey_hash, "2c26b46b68ffc68f", sizeof(f->authkey_hash));
		f->svc_corosync = f->svc_libvirtd = f->svc_clusterd = true;
		add_str(f->networks, &f->n_networks, "default");
		add_str(f->networks, &f->n_networks, "migration");
		add_str(f->bridges, &f->n_bridges, "br-vm");
		add_str(f->bridges, &f->n_bridges, "br-mig");
		/* libvirt numbers its bridges per node: never compared */
		add_str(f->bridges, &f->n_bridges, i == 2 ? "virbr1" : "virbr0");
		for (int l = 0; l < 2; l++) {
			struct vl_iface *ifc = &f->ifaces[f->n_ifaces++];

			snprintf(ifc->name, sizeof(ifc->name), "eth%d", l);
			snprintf(ifc->addr, sizeof(ifc->addr), "10.0.%d.%d", l, i + 1);
			ifc->mtu = 1500;
			ifc->up = true;
			for (int j = 0; j < NN; j++) {
				struct vl_peer *p;

				if (j == i)
					continue;
				p = &f->peers[f->n_peers++];
				snprintf(p->node, sizeof(p->node), "n%d", j + 1);
				snprintf(p->addr, sizeof(p->addr), "10.0.%d.%d", l, j + 1);
				p->link = l;
				p->reachable = true;
				p->rtt_us = 250 + 10 * l;
				p->path_mtu = 1500;
				p->migration_port = true;
			}
		}
		add_lun(f, "witness", witness, "naa.6001405aaaa", false, false);
		add_lun(f, "scratch", scratch, "naa.6001405bbbb", true, false);
		add_lun(f, "csv", csvlun, "naa.6001405cccc", false, true);
		add_file(f, "/srv/vms/web1.qcow2", "/srv/vms/base.qcow2", "");
		add_file(f, "/srv/vms/base.qcow2", "", "/srv/vms/web1.qcow2");
	}
	memset(V, 0, sizeof(V));
	nv = 2;
	cm_strlcpy(V[0].name, "web1", VL_NAME);
	V[0].memory_kib = 2 * GIB;
	cm_strlcpy(V[0].owner, "n1", VL_NAME);
	add_net(&V[0], "br-vm", true);
	add_disk(&V[0], "vda", "file", "/srv/vms/web1.qcow2", "");   /* a differencing disk over base.qcow2 */
	cm_strlcpy(V[1].name, "db1", VL_NAME);
	V[1].memory_kib = 4 * GIB;
	cm_strlcpy(V[1].possible[V[1].n_possible++], "n1", VL_NAME);
	cm_strlcpy(V[1].possible[V[1].n_possible++], "n3", VL_NAME);
	add_net(&V[1], "default", false);
	add_disk(&V[1], "vda", "csv", "store/db1", csvlun);
	add_disk(&V[1], "vdb", "iscsi", csvlun, "");
}

static size_t run_lim(const struct vl_limits *lim)
{
	size_t n = vl_run_checks(F, NN, V, nv, lim, NULL, 0, R, sizeof(R) / sizeof(R[0]));

	ck_assert_uint_eq(n, 23);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(R[i].reason[0] != '\0', "%s has no reason", R[i].id);
		ck_assert_msg(strchr(R[i].reason, '\n') == NULL, "%s: reason is not one line", R[i].id);
		ck_assert_msg((R[i].status == VL_PASS || R[i].status == VL_SKIP) == (R[i].fix[0] == '\0'),
			      "%s: a fix exactly when it does not pass", R[i].id);
		ck_assert_uint_le(R[i].n_details, VL_MAX_DETAILS);
	}
	return n;
}

static size_t run(void)
{
	struct vl_limits lim;

	vl_limits_default(&lim);
	return run_lim(&lim);
}

static const struct vl_result *res(const char *id)
{
	for (size_t i = 0; i < sizeof(R) / sizeof(R[0]); i++)
		if (strcmp(R[i].id, id) == 0)
			return &R[i];
	ck_abort_msg("no result '%s'", id);
	return NULL;
}

/* Exactly test id has status st (every other passes) and its reason holds
 * each of the words (NULL-terminated). */
static void only(const char *id, enum vl_status st, ...)
{
	size_t n = run();
	const struct vl_result *r = res(id);
	const char *word;
	va_list ap;

	for (size_t i = 0; i < n; i++)
		if (strcmp(R[i].id, id) != 0)
			ck_assert_msg(R[i].status == VL_PASS, "'%s' should pass but is %s: %s", R[i].id,
				      vl_status_str(R[i].status), R[i].reason);
	ck_assert_msg(r->status == st, "'%s' should be %s but is %s: %s", id, vl_status_str(st),
		      vl_status_str(r->status), r->reason);
	ck_assert_msg(r->fix[0] != '\0', "'%s' has no fix", id);
	va_start(ap, st);
	while ((word = va_arg(ap, const char *)) != NULL)
		ck_assert_msg(strstr(r->reason, word) != NULL, "'%s' reason lacks '%s': %s", id, word, r->reason);
	va_end(ap);
}

static bool has_detail(const struct vl_result *r, const char *node, const char *word)
{
	for (size_t i = 0; i < r->n_details; i++)
		if ((node == NULL || strcmp(r->details[i].node, node) == 0) && strstr(r->details[i].text, word))
			return true;
	return false;
}

static void remove_str(char (*list)[VL_NAME], size_t *n, const char *s)
{
	for (size_t k = 0; k < *n; k++)
		if (strcmp(list[k], s) == 0) {
			memmove(list[k], list[k + 1], (*n - k - 1) * VL_NAME);
			(*n)--;
			return;
		}
	ck_abort_msg("'%s' not in list", s);
}

static struct vl_peer *peer(int from, int to, int link)
{
	char name[8];

	snprintf(name, sizeof(name), "n%d", to);
	for (size_t k = 0; k < F[from - 1].n_peers; k++)
		if (F[from - 1].peers[k].link == link && strcmp(F[from - 1].peers[k].node, name) == 0)
			return &F[from - 1].peers[k];
	ck_abort_msg("no peer n%d -> n%d link %d", from, to, link);
	return NULL;
}

/* ---- the JSON codec ---- */

static struct cm_jv *to_tree(const struct vl_facts *f, struct cm_sb *sb)
{
	struct cm_jw w;
	char err[128];
	struct cm_jv *v;

	cm_sb_init(sb);
	cm_jw_init(&w, sb);
	vl_facts_to_json(f, &w);
	ck_assert(!cm_sb_failed(sb));
	v = cm_jv_parse(cm_sb_str(sb), err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	return v;
}

START_TEST(json_roundtrip)
{
	static struct vl_facts back;
	struct cm_sb a, b;
	struct cm_jv *v;
	char err[256];

	healthy();
	F[1].time_ms = -5;   /* negative integers survive */
	F[1].peers[0].rtt_us = -1;
	cm_strlcpy(F[1].error, "quote \" backslash \\ tab \t é", sizeof(F[1].error));
	v = to_tree(&F[1], &a);
	ck_assert_int_eq(vl_facts_from_json(v, &back, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(memcmp(&back, &F[1], sizeof(back)), 0);
	cm_jv_free(v);
	v = to_tree(&back, &b);
	ck_assert_str_eq(cm_sb_str(&a), cm_sb_str(&b));
	ck_assert_ptr_nonnull(strstr(cm_sb_str(&a), "\"node\":\"n2\""));
	ck_assert_ptr_nonnull(strstr(cm_sb_str(&a), "\"peers\":[{"));
	cm_jv_free(v);
	cm_sb_free(&a);
	cm_sb_free(&b);
}
END_TEST

static int parse_facts(const char *text, struct vl_facts *f, char *err, size_t errlen)
{
	char perr[128];
	struct cm_jv *v = cm_jv_parse(text, perr, sizeof(perr));
	int rc;

	ck_assert_msg(v != NULL, "%s: %s", text, perr);
	rc = vl_facts_from_json(v, f, err, errlen);
	cm_jv_free(v);
	return rc;
}

START_TEST(json_lenient_on_unknown_and_missing)
{
	static struct vl_facts f;
	char err[256];

	ck_assert_int_eq(parse_facts("{\"node\":\"n1\",\"ok\":true,\"future\":{\"x\":[1,2]},\"mtu\":\"x\","
				     "\"peers\":[{\"node\":\"n2\",\"link\":1,\"extra\":null}]}",
				     &f, err, sizeof(err)), 0);
	ck_assert_str_eq(f.node, "n1");
	ck_assert(f.ok);
	ck_assert_uint_eq(f.n_peers, 1);
	ck_assert_int_eq(f.peers[0].link, 1);
	ck_assert_int_eq(f.peers[0].rtt_us, -1);   /* missing: unknown, not 0 us */
	ck_assert_str_eq(f.cpu_vendor, "");
	ck_assert_uint_eq(f.n_luns, 0);
	ck_assert_int_eq(parse_facts("{}", &f, err, sizeof(err)), 0);
}
END_TEST

START_TEST(json_refusals)
{
	static struct vl_facts f;
	static const struct {
		const char *json, *says;
	} bad[] = {
		{ "[]", "object" },
		{ "{\"ok\":1}", "'ok' must be true or false" },
		{ "{\"node\":5}", "'node' must be a string" },
		{ "{\"node\":null}", "'node' must be a string" },
		{ "{\"node\":\"0123456789012345678901234567890123456789012345678901234567890123\"}",
		  "'node' is longer than 63" },
		{ "{\"cpus\":-1}", "'cpus' is -1" },
		{ "{\"cpus\":4294967296}", "'cpus'" },
		{ "{\"mem_total_kib\":-1}", "'mem_total_kib'" },
		{ "{\"time_ms\":1.5}", "'time_ms' must be an integer" },
		{ "{\"time_ms\":1e30}", "'time_ms' must be an integer" },
		{ "{\"networks\":\"default\"}", "'networks' must be an array" },
		{ "{\"networks\":[\"a\",7]}", "'networks[1]' must be a string" },
		{ "{\"peers\":[{\"node\":\"n2\"},3]}", "peers[1] must be a JSON object" },
		{ "{\"peers\":[{\"link\":2147483648}]}", "'peers[0].link'" },
		{ "{\"luns\":[{\"role\":\"witness-but-far-too-long\"}]}", "'luns[0].role' is longer than 15" },
		{ "{\"ifaces\":[{\"up\":\"yes\"}]}", "'ifaces[0].up' must be true or false" },
	};
	char err[256], many[4096];
	size_t l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&f, 0x5a, sizeof(f));
		ck_assert_msg(parse_facts(bad[i].json, &f, err, sizeof(err)) == -CM_E_VALUE, "accepted %s", bad[i].json);
		ck_assert_msg(strstr(err, bad[i].says) != NULL, "%s: error '%s' lacks '%s'", bad[i].json, err,
			      bad[i].says);
		ck_assert_str_eq(f.node, "");   /* nothing half-read is left behind */
	}
	/* a list longer than the struct holds */
	l = (size_t)snprintf(many, sizeof(many), "{\"cpu_flags\":[");
	for (int i = 0; i <= VL_MAX_LIST; i++)
		l += (size_t)snprintf(many + l, sizeof(many) - l, "%s\"f%d\"", i ? "," : "", i);
	snprintf(many + l, sizeof(many) - l, "]}");
	ck_assert_int_eq(parse_facts(many, &f, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "has 65 entries, at most 64"));
	ck_assert_int_eq(vl_facts_from_json(NULL, &f, err, sizeof(err)), -CM_E_VALUE);
}
END_TEST

/* ---- the checks ---- */

START_TEST(healthy_cluster_passes)
{
	size_t n;

	healthy();
	n = run();
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(R[i].status == VL_PASS, "'%s' is %s: %s", R[i].id, vl_status_str(R[i].status), R[i].reason);
	ck_assert_int_eq(vl_worst(R, n), VL_PASS);
	/* fixed order, per-node details */
	ck_assert_str_eq(R[0].id, "cpu-64bit");
	ck_assert_str_eq(R[n - 1].id, "vm-memory");
	ck_assert_str_eq(res("time-skew")->category, "system");
	ck_assert(has_detail(res("memory"), "n2", "16.0 GiB total"));
	ck_assert(has_detail(res("versions"), "n3", "corosync 3.1.7, libqb 2.0.6, "));
	ck_assert(has_detail(res("networks"), "n2", "networks: default migration; bridges: br-vm br-mig"));
	ck_assert(has_detail(res("links"), "n1", "links 0, 1"));
	ck_assert(has_detail(res("lun-pr"), "n1", "in use by the running cluster, not tested"));
	ck_assert(has_detail(res("lun-pr"), "n1", "register/reserve/preempt/release passed"));
	ck_assert(has_detail(res("reachability"), "n1", "reaches every other node on 2 links"));
	ck_assert_ptr_nonnull(strstr(res("links")->reason, "2 corosync links (0, 1)"));
	ck_assert_ptr_nonnull(strstr(res("cpu-features")->reason, "7 migration-relevant"));
}
END_TEST

START_TEST(node_without_migration_network)
{
	healthy();
	remove_str(F[2].networks, &F[2].n_networks, "migration");
	only("networks", VL_FAIL, "'n3'", "'migration'", NULL);
	ck_assert_ptr_nonnull(strstr(res("networks")->fix, "virsh net-define"));
	ck_assert(has_detail(res("networks"), "n3", "lacks libvirt network 'migration'"));
	healthy();
	remove_str(F[1].bridges, &F[1].n_bridges, "br-mig");
	only("networks", VL_FAIL, "'n2'", "bridge 'br-mig'", NULL);
}
END_TEST

START_TEST(corosync_conf_differs_on_one_node)
{
	healthy();
	cm_strlcpy(F[1].corosync_conf_hash, "0000000000000bad", sizeof(F[1].corosync_conf_hash));
	only("corosync-conf", VL_FAIL, "'n2'", "0000000000000bad", NULL);
	ck_assert_ptr_nonnull(strstr(res("corosync-conf")->fix, "from 'n1' to 'n2'"));
	healthy();
	F[2].authkey_hash[0] = '\0';
	only("authkey", VL_FAIL, "'n3' has no authkey", NULL);
}
END_TEST

START_TEST(witness_invisible_on_one_node)
{
	struct vl_lun *l;

	healthy();
	l = &F[2].luns[0];
	l->visible = false;
	l->pr_caps = false;
	l->identity[0] = '\0';
	l->bytes = 0;
	cm_strlcpy(l->detail, "login refused", sizeof(l->detail));
	only("lun-visible", VL_FAIL, "witness", "'n3'", NULL);
	ck_assert(has_detail(res("lun-visible"), "n3", "login refused"));
	/* another LUN behind the same URL on one node */
	healthy();
	cm_strlcpy(F[0].luns[1].identity, "naa.6001405ffff", sizeof(F[0].luns[1].identity));
	only("lun-visible", VL_FAIL, "scratch", "another identity", "'n1'", NULL);
	healthy();
	F[1].luns[0].bytes = 2ull << 30;
	only("lun-visible", VL_FAIL, "another size", "'n2'", NULL);
}
END_TEST

START_TEST(target_without_pr)
{
	healthy();
	for (int i = 0; i < NN; i++)
		F[i].luns[0].pr_caps = false;
	only("lun-pr", VL_FAIL, "witness", "persistent reservations", "'n1', 'n2', 'n3'", NULL);
	/* the PR test on the scratch LUN failed */
	healthy();
	F[1].luns[1].pr_ok = false;
	cm_strlcpy(F[1].luns[1].detail, "PREEMPT: reservation conflict", sizeof(F[1].luns[1].detail));
	only("lun-pr", VL_FAIL, "'n2'", "reservation conflict", NULL);
	/* a LUN in use is never tested, whatever it reports */
	healthy();
	for (int i = 0; i < NN; i++)
		F[i].luns[2].pr_caps = false;
	run();
	ck_assert_int_eq(res("lun-pr")->status, VL_PASS);
}
END_TEST

START_TEST(clock_skewed_by_fake_fact)
{
	struct vl_limits lim;
	int64_t ref[NN];

	healthy();
	F[1].time_ms += 10000;
	only("time-skew", VL_FAIL, "'n2'", "10.0 s ahead", NULL);
	healthy();
	F[0].time_ms -= 2000;
	only("time-skew", VL_WARN, "'n1'", "behind", NULL);
	/* the orchestrator's measurement explains the difference: no skew */
	healthy();
	vl_limits_default(&lim);
	for (int i = 0; i < NN; i++)
		ref[i] = F[i].time_ms - 3;
	F[1].time_ms += 10000;
	ref[1] += 10000;
	lim.clock_ref_ms = ref;
	run_lim(&lim);
	ck_assert_int_eq(res("time-skew")->status, VL_PASS);
	ck_assert(has_detail(res("time-skew"), "n2", "measured against clusval's host"));
	/* ... and finds skew the raw start times hide */
	ref[1] -= 10000 + 6000;
	run_lim(&lim);
	ck_assert_int_eq(res("time-skew")->status, VL_FAIL);
	ck_assert_ptr_nonnull(strstr(res("time-skew")->reason, "'n2' is 16.0 s ahead"));
}
END_TEST

START_TEST(one_link_only)
{
	healthy();
	for (int i = 0; i < NN; i++) {
		size_t w = 0;

		for (size_t k = 0; k < F[i].n_peers; k++)
			if (F[i].peers[k].link == 0)
				F[i].peers[w++] = F[i].peers[k];
		F[i].n_peers = w;
	}
	only("links", VL_WARN, "only one corosync link", NULL);
}
END_TEST

START_TEST(peer_unreachable)
{
	healthy();
	for (int d = 0; d < 2; d++) {
		struct vl_peer *p = d ? peer(3, 1, 1) : peer(1, 3, 1);

		p->reachable = false;
		p->rtt_us = -1;
		p->path_mtu = 0;
		p->migration_port = false;
	}
	only("reachability", VL_FAIL, "'n1' cannot reach 'n3' on link 1", "(and 1 more)", NULL);
	ck_assert(has_detail(res("reachability"), "n3", "-> n1 link 1 (10.0.1.1): unreachable"));
	/* unreachable on every link: still reachability alone */
	for (int d = 0; d < 2; d++) {
		struct vl_peer *p = d ? peer(3, 1, 0) : peer(1, 3, 0);

		p->reachable = false;
		p->rtt_us = -1;
		p->path_mtu = 0;
		p->migration_port = false;
	}
	only("reachability", VL_FAIL, "'n1' cannot reach 'n3' on link 0", "(and 3 more)", NULL);
	ck_assert(has_detail(res("migration-port"), "n1", "not tested"));
}
END_TEST

START_TEST(network_limits)
{
	healthy();
	peer(1, 2, 0)->rtt_us = 5000;
	only("latency", VL_WARN, "'n1' to 'n2' on link 0 is 5.0 ms", NULL);
	peer(2, 3, 1)->rtt_us = 30000;
	only("latency", VL_FAIL, "'n2' to 'n3' on link 1 is 30.0 ms", NULL);
	healthy();
	F[2].ifaces[0].mtu = 9000;
	only("mtu", VL_FAIL, "link 0", "'n3' has 9000", NULL);
	healthy();
	peer(1, 2, 1)->path_mtu = 1400;
	only("mtu", VL_WARN, "path MTU from 'n1' to 'n2' on link 1 is 1400", NULL);
	healthy();
	peer(1, 2, 0)->migration_port = false;
	peer(1, 2, 1)->migration_port = false;
	only("migration-port", VL_FAIL, "'n1' cannot connect", "'n2'", NULL);
}
END_TEST

START_TEST(cpu_breakages)
{
	healthy();
	cm_strlcpy(F[2].cpu_vendor, "AuthenticAMD", sizeof(F[2].cpu_vendor));
	only("cpu-vendor", VL_FAIL, "'n3' is AuthenticAMD; the other nodes have GenuineIntel", NULL);
	healthy();
	F[1].n_cpu_flags = 0;
	for (const char *const *fl = (const char *const[]){ "fpu", "lm", "nx", "sse4_2", "aes", "avx", "vmx", NULL };
	     *fl; fl++)
		cm_strlcpy(F[1].cpu_flags[F[1].n_cpu_flags++], *fl, VL_FLAG);
	only("cpu-features", VL_WARN, "'n2' lacks CPU flags", "avx2 bmi2", NULL);
	/* flags live migration does not care about are not compared */
	healthy();
	cm_strlcpy(F[0].cpu_flags[F[0].n_cpu_flags++], "hypervisor", VL_FLAG);
	run();
	ck_assert_int_eq(res("cpu-features")->status, VL_PASS);
	ck_assert(vl_cpu_flag_is_migration("avx2"));
	ck_assert(!vl_cpu_flag_is_migration("vmx"));
	healthy();
	F[0].kvm_usable = false;
	cm_strlcpy(F[0].kvm_detail, "/dev/kvm: Permission denied", sizeof(F[0].kvm_detail));
	only("kvm", VL_WARN, "'n1'", "Permission denied", NULL);
	healthy();
	F[2].virt_ext = false;
	only("cpu-virt", VL_WARN, "'n3'", NULL);
	healthy();
	F[0].cpu_64bit = false;
	cm_strlcpy(F[0].arch, "i686", sizeof(F[0].arch));
	only("cpu-64bit", VL_FAIL, "'n1'", "i686", NULL);
}
END_TEST

START_TEST(inventory_breakages)
{
	healthy();
	F[1].mem_total_kib = 1 * GIB;
	F[1].mem_avail_kib = GIB / 2;
	only("memory", VL_WARN, "'n2' has 1.0 GiB", NULL);
	healthy();
	cm_strlcpy(F[0].kernel, "6.1.0-21-amd64", sizeof(F[0].kernel));
	only("kernel", VL_WARN, "'n1'", "6.1.0-21-amd64", NULL);
	healthy();
	cm_strlcpy(F[2].ver_libvirt, "10.0.0", sizeof(F[2].ver_libvirt));
	only("versions", VL_WARN, "libvirt", "'n3'", "10.0.0", NULL);
	healthy();
	F[1].ver_qemu[0] = '\0';
	only("versions", VL_WARN, "QEMU", "'n2'", NULL);
	healthy();
	F[2].svc_libvirtd = false;
	only("services", VL_FAIL, "libvirtd", "'n3'", NULL);
}
END_TEST

START_TEST(vm_breakages)
{
	/* a VM whose memory fits no other node */
	healthy();
	F[0].mem_total_kib = 32 * GIB;
	F[0].mem_avail_kib = 28 * GIB;
	cm_strlcpy(V[nv].name, "big", VL_NAME);
	V[nv].memory_kib = 24 * GIB;
	nv++;
	only("vm-memory", VL_FAIL, "'big'", "no node but 'n1'", NULL);
	/* running on the only node that can hold it */
	cm_strlcpy(V[nv - 1].owner, "n1", VL_NAME);
	only("vm-memory", VL_FAIL, "'big'", "no other possible owner", NULL);
	/* fits on the other nodes on paper, but none of them has room now */
	healthy();
	V[0].memory_kib = 13 * GIB;
	F[0].mem_avail_kib = 14 * GIB;   /* its own node's room never counts */
	only("vm-memory", VL_WARN, "'web1'", NULL);
	F[1].mem_avail_kib = 14 * GIB;
	run();
	ck_assert_int_eq(res("vm-memory")->status, VL_PASS);
	/* only its own node is large enough */
	F[1].mem_total_kib = F[2].mem_total_kib = 12 * GIB;
	F[1].mem_avail_kib = 10 * GIB;
	only("vm-memory", VL_FAIL, "'web1'", "no other possible owner", NULL);
	/* a VM network missing on a possible owner */
	healthy();
	add_net(&V[1], "dmz", false);
	only("vm-networks", VL_FAIL, "'dmz'", "'db1'", "'n1'", "(and 1 more)", NULL);
	ck_assert(has_detail(res("vm-networks"), "n3", "network 'dmz' missing"));
	ck_assert(!has_detail(res("vm-networks"), "n2", "dmz"));   /* n2 may not own db1 */
	/* a bridge is looked for among bridges, not libvirt networks */
	healthy();
	add_net(&V[0], "default", true);
	only("vm-networks", VL_FAIL, "bridge 'default'", "'web1'", NULL);
	/* the differencing disk's backing file on each node's local disk */
	healthy();
	for (int i = 1; i <= NN; i++)
		cm_strlcpy(file_on(i, "/srv/vms/base.qcow2")->fstype, "ext4", 32);
	only("vm-storage", VL_FAIL, "'web1'", "backing file /srv/vms/base.qcow2 of /srv/vms/web1.qcow2",
	     "local storage (ext4)", NULL);
	/* the same device and inode on separate hosts is a coincidence of
	 * hosts installed alike, not one file */
	for (int i = 1; i <= NN; i++) {
		file_on(i, "/srv/vms/base.qcow2")->dev = 2049;
		file_on(i, "/srv/vms/base.qcow2")->ino = 77;
	}
	only("vm-storage", VL_FAIL, "'web1'", "local storage (ext4)", NULL);
	/* ...but one file where the nodes share one kernel (containers, the harness) */
	for (int i = 0; i < NN; i++)
		cm_strlcpy(F[i].boot_id, F[0].boot_id, sizeof(F[i].boot_id));
	run();
	ck_assert_int_eq(res("vm-storage")->status, VL_PASS);
	ck_assert(has_detail(res("vm-storage"), "", "the same file on every possible owner"));
	/* NFS on every node, but not the same export: the inodes differ */
	healthy();
	file_on(3, "/srv/vms/base.qcow2")->ino = 5;
	only("vm-storage", VL_FAIL, "'web1'", "different file on each node", "nfs4", NULL);
	/* a backing chain that loops */
	healthy();
	for (int i = 1; i <= NN; i++)
		cm_strlcpy(file_on(i, "/srv/vms/base.qcow2")->backing, "/srv/vms/web1.qcow2", VL_PATH);
	only("vm-storage", VL_FAIL, "'web1'", "loops at /srv/vms/web1.qcow2", NULL);
	/* what the probe could not read of an existing file */
	healthy();
	cm_strlcpy(file_on(2, "/srv/vms/web1.qcow2")->detail, "cannot read the qcow2 backing file name", VL_TEXT);
	only("vm-storage", VL_WARN, "'web1'", "on 'n2': cannot read the qcow2 backing file name", NULL);
	/* the disk itself missing on one node */
	healthy();
	file_on(2, "/srv/vms/web1.qcow2")->exists = false;
	only("vm-storage", VL_FAIL, "'web1'", "missing on 'n2'", NULL);
	/* a CSV volume of a CSV the cluster does not have */
	healthy();
	V[1].disks[0].lun[0] = '\0';
	only("vm-storage", VL_FAIL, "'db1'", "store/db1", "unknown CSV", NULL);
	/* a block device: cannot tell */
	healthy();
	for (int i = 1; i <= NN; i++)
		cm_strlcpy(file_on(i, "/srv/vms/web1.qcow2")->kind, "block", 8);
	only("vm-storage", VL_WARN, "'web1'", "block device", NULL);
	/* healthy details name the chain and the CSV */
	healthy();
	run();
	ck_assert(has_detail(res("vm-storage"), "", "disk vda file /srv/vms/web1.qcow2: qcow2 on nfs4"));
	ck_assert(has_detail(res("vm-storage"), "", "backing file /srv/vms/base.qcow2"));
	ck_assert(has_detail(res("vm-storage"), "", "CSV volume store/db1"));
	/* no VMs: the category is skipped, not failed */
	healthy();
	nv = 0;
	run();
	ck_assert_int_eq(res("vm-memory")->status, VL_SKIP);
	ck_assert_int_eq(vl_worst(R, 23), VL_PASS);
}
END_TEST

START_TEST(failed_probe_fails_every_test_needing_it)
{
	size_t n;

	healthy();
	F[1].ok = false;
	cm_strlcpy(F[1].error, "ssh: connect to host n2 port 22: No route to host", sizeof(F[1].error));
	n = run();
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(R[i].status == VL_FAIL && strstr(R[i].reason, "'n2' failed") != NULL, "'%s' is %s: %s",
			      R[i].id, vl_status_str(R[i].status), R[i].reason);
		ck_assert_ptr_nonnull(strstr(R[i].fix, "--exec"));
	}
	ck_assert_int_eq(vl_worst(R, n), VL_FAIL);
	/* the per-node tests describe the nodes that answered, and only them */
	ck_assert(has_detail(res("memory"), "n1", "GiB total") && has_detail(res("memory"), "n3", "GiB total"));
	ck_assert(!has_detail(res("memory"), "n2", "GiB"));
	ck_assert(has_detail(res("services"), "n3", "libvirtd running") && !has_detail(res("services"), "n2", "libvirtd"));
}
END_TEST

START_TEST(categories_and_single_node)
{
	static const char *const want[] = { "storage", "time-skew" };
	size_t n;

	healthy();
	n = vl_run_checks(F, NN, V, nv, NULL, want, 2, R, 40);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(R[0].id, "lun-visible");
	ck_assert_str_eq(R[1].id, "lun-pr");
	ck_assert_str_eq(R[2].id, "time-skew");
	/* out is never overrun */
	ck_assert_uint_eq(vl_run_checks(F, NN, V, nv, NULL, NULL, 0, R, 5), 5);
	/* one node: nothing to compare across nodes */
	healthy();
	for (size_t k = 0; k < 3; k++)
		F[0].luns[k].in_use = false;
	n = vl_run_checks(F, 1, NULL, 0, NULL, NULL, 0, R, 40);
	ck_assert_uint_eq(n, 23);
	ck_assert_int_eq(res("reachability")->status, VL_SKIP);
	ck_assert_int_eq(res("time-skew")->status, VL_SKIP);
	ck_assert_int_eq(vl_worst(R, n), VL_PASS);
	ck_assert_str_eq(vl_status_str(VL_WARN), "Warning");
	ck_assert_str_eq(vl_status_str(VL_SKIP), "Skipped");
	/* no corosync.conf anywhere: a cluster still to be created */
	healthy();
	for (int i = 0; i < NN; i++)
		F[i].corosync_conf_hash[0] = F[i].authkey_hash[0] = '\0';
	F[0].svc_corosync = F[0].svc_clusterd = false;
	vl_run_checks(F, NN, V, nv, NULL, NULL, 0, R, 40);
	ck_assert_int_eq(res("corosync-conf")->status, VL_SKIP);
	ck_assert_int_eq(res("services")->status, VL_PASS);
}
END_TEST

/* ---- the running cluster, from cluadmin's JSON ---- */

static const char nodes_json[] = "{\"nodes\":[{\"id\":1,\"name\":\"n1\"},{\"id\":2,\"name\":\"n2\"},"
				 "{\"id\":3,\"name\":\"n3\"}]}";
static const char quorum_json[] = "{\"quorum\":{\"mode\":\"node-and-disk-majority\",\"witness\":"
				  "{\"url\":\"iscsi://198.18.0.1:3260/iqn.t:san/1\",\"lun_ok\":true}}}";
static const char csv_json[] = "{\"csvs\":[{\"name\":\"store\",\"url\":\"iscsi://198.18.0.1:3260/iqn.t:san/5\"}]}";
static const char vms_json[] = "{\"vms\":[{\"name\":\"vm1\"},{\"name\":\"vm2\"}]}";
static const char vm1_json[] =
	"{\"name\":\"vm1\",\"node\":\"n2\",\"memory_mb\":128,\"disks\":["
	"{\"target\":\"vda\",\"type\":\"file\",\"source\":\"/shared/vm1.qcow2\"},"
	"{\"target\":\"vdb\",\"type\":\"volume\",\"source\":\"vm1disk\",\"pool\":\"csv:store\"},"
	"{\"target\":\"vdc\",\"type\":\"network\",\"source\":\"iqn.t:san/6\",\"protocol\":\"iscsi\","
	"\"url\":\"iscsi://198.18.0.1:3260/iqn.t:san/6\"},"
	"{\"target\":\"vdd\",\"type\":\"network\",\"source\":\"pool/img\",\"protocol\":\"rbd\"},"
	"{\"target\":\"hdc\",\"type\":\"file\",\"source\":\"\",\"cdrom\":true},"
	"{\"target\":\"vde\",\"type\":\"volume\",\"source\":\"x\",\"pool\":\"csv:gone\"}],"
	"\"networks\":[\"br-vm\",\"default\"],"
	"\"interfaces\":[{\"type\":\"bridge\",\"name\":\"br-vm\"},{\"type\":\"network\",\"name\":\"default\"}],"
	"\"possible_owners\":[\"n1\",\"n2\"]}";
static const char vm2_json[] = "{\"name\":\"vm2\",\"node\":\"\",\"memory_mb\":2048,\"disks\":["
			       "{\"target\":\"vda\",\"type\":\"file\",\"source\":\"/shared/vm1.qcow2\"}]}";

START_TEST(cluster_from_cluadmin)
{
	static struct vl_cluster c;
	const char *files[8];
	char err[256];

	ck_assert_int_eq(vl_cluster_base(nodes_json, quorum_json, csv_json, vms_json, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.n_nodes, 3);
	ck_assert_str_eq(c.nodes[2], "n3");
	ck_assert_uint_eq(c.n_vm_names, 2);
	ck_assert_uint_eq(c.n_luns, 2);
	ck_assert_str_eq(c.luns[0], "witness=iscsi://198.18.0.1:3260/iqn.t:san/1");
	ck_assert_str_eq(c.luns[1], "csv=iscsi://198.18.0.1:3260/iqn.t:san/5");
	ck_assert_int_eq(vl_cluster_add_vm(&c, vm1_json, err, sizeof(err)), 0);
	ck_assert_int_eq(vl_cluster_add_vm(&c, vm2_json, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.n_vms, 2);
	ck_assert_str_eq(c.vms[0].owner, "n2");
	ck_assert_uint_eq(c.vms[0].memory_kib, 128 * 1024);
	ck_assert_uint_eq(c.vms[0].n_possible, 2);
	ck_assert_str_eq(c.vms[0].possible[1], "n2");
	ck_assert_uint_eq(c.vms[1].n_possible, 0);         /* every node may own it */
	ck_assert_uint_eq(c.vms[0].n_disks, 5);            /* the empty CD-ROM is left out */
	ck_assert_str_eq(c.vms[0].disks[0].kind, "file");
	ck_assert_str_eq(c.vms[0].disks[1].kind, "csv");
	ck_assert_str_eq(c.vms[0].disks[1].source, "store/vm1disk");
	ck_assert_str_eq(c.vms[0].disks[1].lun, "iscsi://198.18.0.1:3260/iqn.t:san/5");
	ck_assert_str_eq(c.vms[0].disks[2].kind, "iscsi");
	ck_assert_str_eq(c.vms[0].disks[3].kind, "other");
	ck_assert_str_eq(c.vms[0].disks[3].source, "network rbd pool/img");
	ck_assert_str_eq(c.vms[0].disks[4].lun, "");       /* a CSV the cluster does not have */
	ck_assert_uint_eq(c.vms[0].n_nets, 2);
	ck_assert(c.vms[0].nets[0].bridge);
	ck_assert(!c.vms[0].nets[1].bridge);
	ck_assert_str_eq(c.vms[1].owner, "");
	/* the whole LUN became a disk LUN to probe; the shared file is listed once */
	ck_assert_uint_eq(c.n_luns, 3);
	ck_assert_str_eq(c.luns[2], "disk=iscsi://198.18.0.1:3260/iqn.t:san/6");
	ck_assert_uint_eq(vl_cluster_files(&c, files, 8), 1);
	ck_assert_str_eq(files[0], "/shared/vm1.qcow2");
	vl_cluster_free(&c);
	/* no witness in node majority */
	ck_assert_int_eq(vl_cluster_base(nodes_json, "{\"quorum\":{\"mode\":\"node-majority\"}}", csv_json, vms_json,
					 &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.n_luns, 1);
	/* what cluadmin printed when it failed is not a document */
	ck_assert_int_eq(vl_cluster_base("cluadmin: no quorum", quorum_json, csv_json, vms_json, &c, err,
					 sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "node list"));
	ck_assert_int_eq(vl_cluster_base("{\"nodes\":[]}", quorum_json, csv_json, vms_json, &c, err, sizeof(err)),
			 -CM_E_VALUE);
	ck_assert_int_eq(vl_cluster_base(nodes_json, quorum_json, csv_json, "{\"vms\":[{}]}", &c, err, sizeof(err)),
			 -CM_E_VALUE);
	ck_assert_int_eq(vl_cluster_add_vm(&c, "{\"node\":\"n1\"}", err, sizeof(err)), -CM_E_VALUE);
	ck_assert_uint_eq(c.n_vms, 0);
	{
		/* a path longer than the probe takes is never cut and probed */
		char doc[1024];

		snprintf(doc, sizeof(doc), "{\"name\":\"long\",\"disks\":[{\"target\":\"vda\",\"type\":\"file\","
			 "\"source\":\"/%0600d\"}]}", 0);
		ck_assert_int_eq(vl_cluster_add_vm(&c, doc, err, sizeof(err)), 0);
		ck_assert_str_eq(c.vms[0].disks[0].kind, "other");
		ck_assert_uint_eq(vl_cluster_files(&c, files, 8), 0);
	}
	vl_cluster_free(&c);
}
END_TEST

/* ---- the probe's VM files: qcow2 backing chains ---- */

static void write_qcow2(const char *path, const char *backing)
{
	unsigned char hdr[512] = { 0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3 };
	size_t bl = backing ? strlen(backing) : 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	if (bl) {
		hdr[15] = 0x80;                       /* backing_file_offset 0x80 */
		hdr[19] = (unsigned char)bl;          /* backing_file_size */
		memcpy(hdr + 0x80, backing, bl);
	}
	ck_assert_int_eq(write(fd, hdr, sizeof(hdr)), (ssize_t)sizeof(hdr));
	close(fd);
}

START_TEST(probe_follows_backing_chains)
{
	static struct vl_facts f;
	char dir[] = "/tmp/test_validate.XXXXXX", top[128], mid[128], base[128], raw[128], loop[128];
	const char *ask[4];
	unsigned char h[20] = { 0x51, 0x46, 0x49, 0xfb };
	uint64_t off;
	uint32_t size;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(top, sizeof(top), "%s/top.qcow2", dir);
	snprintf(mid, sizeof(mid), "%s/mid.qcow2", dir);
	snprintf(base, sizeof(base), "%s/base.qcow2", dir);
	snprintf(raw, sizeof(raw), "%s/disk.raw", dir);
	snprintf(loop, sizeof(loop), "%s/loop.qcow2", dir);
	write_qcow2(top, "mid.qcow2");                /* relative: the image's directory */
	write_qcow2(mid, base);                       /* absolute */
	write_qcow2(base, NULL);
	write_qcow2(loop, "loop.qcow2");              /* a chain that names itself ends */
	{
		int fd = open(raw, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		ck_assert_int_eq(write(fd, "hello", 5), 5);
		close(fd);
	}
	memset(&f, 0, sizeof(f));
	ask[0] = top;
	ask[1] = raw;
	ask[2] = "/nonexistent/clusval/disk.qcow2";
	ask[3] = loop;
	vl_probe_files(ask, 4, &f);
	ck_assert_uint_eq(f.n_files, 6);
	ck_assert_str_eq(f.files[0].backing, mid);
	ck_assert_str_eq(f.files[0].format, "qcow2");
	ck_assert_str_eq(f.files[0].kind, "file");
	ck_assert(f.files[0].fstype[0] != '\0');      /* found in mountinfo */
	ck_assert_str_eq(f.files[1].format, "raw");
	ck_assert(!f.files[2].exists);
	ck_assert_ptr_nonnull(strstr(f.files[2].detail, "No such file"));
	ck_assert_str_eq(f.files[4].path, mid);
	ck_assert_str_eq(f.files[4].of, top);
	ck_assert_str_eq(f.files[4].backing, base);
	ck_assert_str_eq(f.files[5].path, base);
	ck_assert_str_eq(f.files[5].backing, "");
	/* header bounds */
	ck_assert_int_eq(vl_qcow2_backing_ref(h, 19, &off, &size), -1);
	ck_assert_int_eq(vl_qcow2_backing_ref(h, 20, &off, &size), 0);
	h[15] = 0x80;
	h[18] = 0x10;                                 /* 4096 bytes: beyond QEMU's 1023 */
	ck_assert_int_eq(vl_qcow2_backing_ref(h, 20, &off, &size), -2);
	h[0] = 0;
	ck_assert_int_eq(vl_qcow2_backing_ref(h, 20, &off, &size), -1);
	unlink(top);
	unlink(mid);
	unlink(base);
	unlink(raw);
	unlink(loop);
	rmdir(dir);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("validate");
	TCase *j = tcase_create("json"), *c = tcase_create("checks");

	tcase_add_test(j, json_roundtrip);
	tcase_add_test(j, json_lenient_on_unknown_and_missing);
	tcase_add_test(j, json_refusals);
	suite_add_tcase(s, j);
	tcase_add_test(c, healthy_cluster_passes);
	tcase_add_test(c, node_without_migration_network);
	tcase_add_test(c, corosync_conf_differs_on_one_node);
	tcase_add_test(c, witness_invisible_on_one_node);
	tcase_add_test(c, target_without_pr);
	tcase_add_test(c, clock_skewed_by_fake_fact);
	tcase_add_test(c, one_link_only);
	tcase_add_test(c, peer_unreachable);
	tcase_add_test(c, network_limits);
	tcase_add_test(c, cpu_breakages);
	tcase_add_test(c, inventory_breakages);
	tcase_add_test(c, vm_breakages);
	tcase_add_test(c, failed_probe_fails_every_test_needing_it);
	tcase_add_test(c, categories_and_single_node);
	tcase_add_test(c, cluster_from_cluadmin);
	tcase_add_test(c, probe_follows_backing_chains);
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	return ut_run(suite());
}

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
#include "vl_checks.h"
#include "vl_facts.h"
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
	}
	memset(V, 0, sizeof(V));
	nv = 2;
	cm_strlcpy(V[0].name, "web1", VL_NAME);
	V[0].memory_kib = 2 * GIB;
	cm_strlcpy(V[0].networks[V[0].n_networks++], "br-vm", VL_NAME);
	V[0].storage_shared = true;
	cm_strlcpy(V[1].name, "db1", VL_NAME);
	V[1].memory_kib = 4 * GIB;
	cm_strlcpy(V[1].possible[V[1].n_possible++], "n1", VL_NAME);
	cm_strlcpy(V[1].possible[V[1].n_possible++], "n3", VL_NAME);
	cm_strlcpy(V[1].networks[V[1].n_networks++], "default", VL_NAME);
	V[1].storage_shared = true;
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
	ck_assert(has_detail(res("versions"), "n3", "corosync 3.1.7"));
	ck_assert(has_detail(res("lun-pr"), "n1", "in use by the running cluster, not tested"));
	ck_assert(has_detail(res("lun-pr"), "n1", "register/reserve/preempt/release passed"));
	ck_assert(has_detail(res("reachability"), "n1", "reaches every other node on 2 links"));
	ck_assert_ptr_nonnull(strstr(res("links")->reason, "2 corosync links"));
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
	V[nv].storage_shared = true;
	nv++;
	only("vm-memory", VL_FAIL, "'big'", "no node but 'n1'", NULL);
	/* fits twice on paper, but only one node has room now */
	healthy();
	V[0].memory_kib = 13 * GIB;
	F[0].mem_avail_kib = 14 * GIB;
	only("vm-memory", VL_WARN, "'web1'", NULL);
	/* a VM network missing on a possible owner */
	healthy();
	cm_strlcpy(V[1].networks[V[1].n_networks++], "dmz", VL_NAME);
	only("vm-networks", VL_FAIL, "'dmz'", "'db1'", "'n1'", "(and 1 more)", NULL);
	ck_assert(has_detail(res("vm-networks"), "n3", "network 'dmz' missing"));
	ck_assert(!has_detail(res("vm-networks"), "n2", "dmz"));   /* n2 may not own db1 */
	healthy();
	V[0].storage_shared = false;
	cm_strlcpy(V[0].storage_detail, "/var/lib/libvirt/images/web1.qcow2 is local", VL_TEXT);
	only("vm-storage", VL_FAIL, "'web1'", "is local", NULL);
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
		if (strcmp(R[i].id, "vm-storage") == 0) {   /* the cluster's own facts, no node's */
			ck_assert_int_eq(R[i].status, VL_PASS);
			continue;
		}
		ck_assert_msg(R[i].status == VL_FAIL && strstr(R[i].reason, "'n2' failed") != NULL, "'%s' is %s: %s",
			      R[i].id, vl_status_str(R[i].status), R[i].reason);
		ck_assert_ptr_nonnull(strstr(R[i].fix, "--exec"));
	}
	ck_assert_int_eq(vl_worst(R, n), VL_FAIL);
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
	suite_add_tcase(s, c);
	return s;
}

int main(void)
{
	return ut_run(suite());
}

/* vl_checks.c - clusval's tests: every node's facts in, one verdict per test
 * out (Pass, Warning, Fail or Skipped), each with a one-line reason, a fix
 * sentence when it is not a pass, and the facts it looked at per node.
 *
 * Rules shared by every test:
 *  1. A node whose probe failed (ok=false) fails every test that needs its
 *     facts, naming it; the rest of the test looks at the other nodes.
 *  2. Facts a probe could not learn make a Warning ("unknown"), never a
 *     guess.
 *  3. The reason names the first finding of the worst severity, and says
 *     how many more of that severity there are; the details list them all
 *     (up to VL_MAX_DETAILS lines).
 *  4. Nodes are looked at in the order given, LUNs and networks in the order
 *     they first appear: the output never depends on anything else.
 *  5. A test that a pair-wise fault already fails does not fail again for
 *     it: an unreachable peer fails `reachability` only (latency, MTU and the
 *     migration port are not measured over a path that does not answer); a
 *     LUN a node cannot see fails `lun-visible` only.
 *
 * Pure: no I/O, no clock, no mutable globals.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vl_checks.h"

/* The CPU flags (as /proc/cpuinfo names them) that a guest with a host-model
 * or host-passthrough CPU may use, so a VM started on a node with one of them
 * cannot move to a node without it. Flags that only the host kernel uses
 * (virtualization, power, debug) are not listed: they never reach a guest. */
static const char *const migration_flags[] = {
	/* x86: baseline and SIMD */
	"lm", "nx", "cx16", "popcnt", "pni", "ssse3", "sse4_1", "sse4_2", "aes", "pclmulqdq", "avx", "avx2",
	"fma", "f16c", "movbe", "abm", "bmi1", "bmi2", "adx", "rdrand", "rdseed", "sha_ni",
	"avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
	"vaes", "vpclmulqdq", "gfni",
	/* x86: state saving, memory and protection */
	"xsave", "xsaveopt", "xsavec", "xsaves", "erms", "fsrm", "invpcid", "smap", "smep", "umip", "pku",
	"clflushopt", "clwb", "3dnowprefetch", "x2apic", "tsc_deadline_timer",
	/* x86: speculation control a guest is told about */
	"md_clear", "ssbd", "ibpb", "stibp",
	/* arm64 */
	"asimd", "atomics", "sha1", "sha2", "sha512", "pmull", "crc32", "sve", "sve2",
};
#define N_FLAGS (sizeof(migration_flags) / sizeof(migration_flags[0]))

bool vl_cpu_flag_is_migration(const char *flag)
{
	for (size_t i = 0; i < N_FLAGS; i++)
		if (strcmp(flag, migration_flags[i]) == 0)
			return true;
	return false;
}

const char *vl_status_str(enum vl_status s)
{
	switch (s) {
	case VL_PASS: return "Pass";
	case VL_WARN: return "Warning";
	case VL_FAIL: return "Fail";
	case VL_SKIP: return "Skipped";
	}
	return "?";
}

void vl_limits_default(struct vl_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->skew_warn_ms = 1000;
	l->skew_fail_ms = 5000;
	l->rtt_warn_us = 2000;
	l->rtt_fail_us = 20000;
	l->mem_min_kib = 2ull * 1024 * 1024;
	l->clock_ref_ms = NULL;
}

enum vl_status vl_worst(const struct vl_result *r, size_t n)
{
	enum vl_status w = VL_PASS;

	for (size_t i = 0; i < n; i++)
		if (r[i].status != VL_SKIP && r[i].status > w)
			w = r[i].status;
	return w;
}

/* ---- building a result ---- */

struct ctx {
	const struct vl_facts *f;
	size_t n;
	const struct vl_vm *vms;
	size_t nvms;
	const struct vl_limits *lim;
};

struct ck {
	struct vl_result *r;
	unsigned nsame;           /* findings at r->status's severity (the reason names the first) */
	size_t omitted;           /* detail lines that did not fit */
};

/* Format into dst; a reason or detail stays one line whatever a node sent. */
static void vtxt(char *dst, size_t size, const char *fmt, va_list ap)
{
	vsnprintf(dst, size, fmt, ap);
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static void txt(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void txt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vtxt(dst, size, fmt, ap);
	va_end(ap);
}

/* Append to a list in dst, with sep before every item but the first. */
static void add(char *dst, size_t size, const char *sep, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add(char *dst, size_t size, const char *sep, const char *fmt, ...)
{
	size_t l = strlen(dst);
	va_list ap;

	if (l && l + 1 < size)
		txt(dst + l, size - l, "%s", sep);
	l = strlen(dst);
	va_start(ap, fmt);
	vtxt(dst + l, size - l, fmt, ap);
	va_end(ap);
}

static void detail(struct ck *c, const char *node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void detail(struct ck *c, const char *node, const char *fmt, ...)
{
	struct vl_result *r = c->r;
	va_list ap;

	if (r->n_details >= VL_MAX_DETAILS - 1) {   /* the last line says how many were left out */
		c->omitted++;
		return;
	}
	cm_strlcpy(r->details[r->n_details].node, node ? node : "", sizeof(r->details[0].node));
	va_start(ap, fmt);
	vtxt(r->details[r->n_details].text, sizeof(r->details[0].text), fmt, ap);
	va_end(ap);
	r->n_details++;
}

/* A finding of severity st (VL_WARN or VL_FAIL) with what to do about it. */
static void flag(struct ck *c, enum vl_status st, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void flag(struct ck *c, enum vl_status st, const char *fix, const char *fmt, ...)
{
	struct vl_result *r = c->r;
	va_list ap;

	if (r->status == VL_SKIP || st > r->status) {
		r->status = st;
		c->nsame = 1;
		va_start(ap, fmt);
		vtxt(r->reason, sizeof(r->reason), fmt, ap);
		va_end(ap);
		cm_strlcpy(r->fix, fix, sizeof(r->fix));
	} else if (st == r->status) {
		c->nsame++;
	}
}

/* The reason of a pass (or a skip), when nothing was flagged. */
static void passed(struct ck *c, enum vl_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void passed(struct ck *c, enum vl_status st, const char *fmt, ...)
{
	va_list ap;

	if (c->r->status != VL_PASS)
		return;
	c->r->status = st;
	va_start(ap, fmt);
	vtxt(c->r->reason, sizeof(c->r->reason), fmt, ap);
	va_end(ap);
}

static void finish(struct ck *c)
{
	struct vl_result *r = c->r;

	if (c->nsame > 1 && (r->status == VL_WARN || r->status == VL_FAIL)) {
		char more[48];
		size_t l = strlen(r->reason);

		txt(more, sizeof(more), " (and %u more)", c->nsame - 1);
		if (l + strlen(more) >= sizeof(r->reason))
			l = sizeof(r->reason) - 1 - strlen(more);
		memcpy(r->reason + l, more, strlen(more) + 1);
	}
	if (c->omitted) {
		cm_strlcpy(r->details[r->n_details].node, "", sizeof(r->details[0].node));
		txt(r->details[r->n_details].text, sizeof(r->details[0].text), "(%zu more lines left out)", c->omitted);
		r->n_details++;
	}
	if (r->status == VL_PASS || r->status == VL_SKIP)
		r->fix[0] = '\0';
}

/* ---- shared helpers ---- */

/* Rule 1: fail for every node whose probe failed; how many nodes are usable. */
static size_t need_ok(const struct ctx *x, struct ck *c)
{
	size_t ok = 0;

	if (x->n == 0)
		flag(c, VL_FAIL, "Name the cluster's nodes with --nodes.", "no node was probed");
	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *f = &x->f[i];
		char fix[VL_TEXT];

		if (f->ok) {
			ok++;
			continue;
		}
		txt(fix, sizeof(fix), "Make `clusval probe` run on '%s' (check the --exec transport and that clusval is "
		    "installed there), then validate again.", f->node);
		flag(c, VL_FAIL, fix, "the probe on '%s' failed: %s", f->node, f->error[0] ? f->error : "no answer");
		detail(c, f->node, "probe failed: %s", f->error[0] ? f->error : "no answer");
	}
	return ok;
}

static const struct vl_facts *node_by_name(const struct ctx *x, const char *name)
{
	for (size_t i = 0; i < x->n; i++)
		if (strcmp(x->f[i].node, name) == 0)
			return &x->f[i];
	return NULL;
}

/* The value most nodes share, or -1 when no value has a strict majority
 * over the others (ties name nobody as the odd one out). vals[i] NULL: not
 * counted. Returns an index i with that value. */
static int majority(const char *const *vals, size_t n)
{
	int best = -1;
	size_t bestc = 0;
	bool tie = false;

	for (size_t i = 0; i < n; i++) {
		size_t cnt = 0;
		bool seen = false;

		if (vals[i] == NULL)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = vals[j] && strcmp(vals[j], vals[i]) == 0;
		if (seen)
			continue;
		for (size_t j = 0; j < n; j++)
			cnt += vals[j] && strcmp(vals[j], vals[i]) == 0;
		if (cnt > bestc) {
			best = (int)i;
			bestc = cnt;
			tie = false;
		} else if (cnt == bestc) {
			tie = true;
		}
	}
	return tie ? -1 : best;
}

/* Whether vals[i] is an odd one out: it differs from the majority m, or,
 * with no majority, from any other known value. */
static bool is_odd(const char *const *vals, size_t n, int m, size_t i)
{
	if (vals[i] == NULL)
		return false;
	if (m >= 0)
		return strcmp(vals[i], vals[m]) != 0;
	for (size_t j = 0; j < n; j++)
		if (vals[j] && strcmp(vals[j], vals[i]) != 0)
			return true;
	return false;
}

/* Compare one string fact across usable nodes: flag st for every node that
 * differs from the majority ("" counts as unknown: a warning). what: e.g.
 * "CPU vendor"; fixfmt gets the odd node's and then a good node's name. */
static void same_everywhere(const struct ctx *x, struct ck *c, size_t off, const char *what, enum vl_status st,
			    const char *fixfmt, const char *fix_all)
{
	const char *vals[VL_MAX_NODES] = { 0 };
	char fix[VL_TEXT];
	int m;

	for (size_t i = 0; i < x->n; i++) {
		const char *v = (const char *)&x->f[i] + off;

		vals[i] = x->f[i].ok && v[0] ? v : NULL;
		if (x->f[i].ok && !v[0]) {
			txt(fix, sizeof(fix), "Find out why the probe on '%s' could not read its %s.", x->f[i].node, what);
			flag(c, VL_WARN, fix, "%s unknown on '%s'", what, x->f[i].node);
		}
	}
	m = majority(vals, x->n);
	if (m < 0) {
		bool differ = false;
		char list[VL_TEXT] = "";

		for (size_t i = 0; i < x->n; i++) {
			if (!vals[i])
				continue;
			differ = differ || is_odd(vals, x->n, m, i);
			add(list, sizeof(list), ", ", "'%s' %s", x->f[i].node, vals[i]);
		}
		if (differ) {
			flag(c, st, fix_all, "%s differs between nodes: %s", what, list);
		}
		return;
	}
	for (size_t i = 0; i < x->n; i++) {
		if (!vals[i] || strcmp(vals[i], vals[m]) == 0)
			continue;
		txt(fix, sizeof(fix), fixfmt, x->f[i].node, x->f[m].node);
		flag(c, st, fix, "%s of '%s' is %s; the other nodes have %s", what, x->f[i].node, vals[i], vals[m]);
	}
}

static double gib(uint64_t kib)
{
	return (double)kib / (1024.0 * 1024.0);
}

/* The nodes whose probe answered, in order:
 * for (size_t i = 0; (f = answered(x, &i)) != NULL;) */
static const struct vl_facts *answered(const struct ctx *x, size_t *i)
{
	while (*i < x->n) {
		const struct vl_facts *f = &x->f[(*i)++];

		if (f->ok)
			return f;
	}
	return NULL;
}

/* ---- inventory ---- */

static void t_cpu_64bit(const struct ctx *x, struct ck *c)
{
	const struct vl_facts *f;
	char fix[VL_TEXT];

	need_ok(x, c);
	for (size_t i = 0; (f = answered(x, &i)) != NULL;) {
		detail(c, f->node, "%s, %s", f->arch[0] ? f->arch : "architecture unknown",
		       f->cpu_64bit ? "64-bit" : "not 64-bit");
		if (!f->cpu_64bit) {
			txt(fix, sizeof(fix), "Use a 64-bit CPU and kernel on '%s' (x86_64 or aarch64).", f->node);
			flag(c, VL_FAIL, fix, "'%s' has no 64-bit CPU (%s)", f->node, f->arch[0] ? f->arch : "unknown");
		}
	}
	passed(c, VL_PASS, "every node has a 64-bit CPU");
}

static void t_cpu_virt(const struct ctx *x, struct ck *c)
{
	const struct vl_facts *f;
	char fix[VL_TEXT];

	need_ok(x, c);
	for (size_t i = 0; (f = answered(x, &i)) != NULL;) {
		detail(c, f->node, "%s", f->virt_ext ? "virtualization extensions present" : "no vmx/svm");
		if (!f->virt_ext) {
			/* VMs still run under QEMU's TCG (domain type qemu), only slower:
			 * a warning, as for an unusable KVM */
			txt(fix, sizeof(fix), "Enable Intel VT-x or AMD-V in the firmware of '%s' (for a nested node: "
			    "give it the host's vmx/svm); until then its VMs run emulated (TCG), much slower.", f->node);
			flag(c, VL_WARN, fix, "'%s' has no hardware virtualization extensions (vmx/svm): VMs run emulated",
			     f->node);
		}
	}
	passed(c, VL_PASS, "every node has hardware virtualization extensions");
}

static void t_kvm(const struct ctx *x, struct ck *c)
{
	const struct vl_facts *f;
	char fix[VL_TEXT];

	need_ok(x, c);
	for (size_t i = 0; (f = answered(x, &i)) != NULL;) {
		detail(c, f->node, "%s%s%s", f->kvm_usable ? "KVM usable" : "KVM not usable", f->kvm_detail[0] ? ": " : "",
		       f->kvm_detail);
		if (!f->kvm_usable) {
			txt(fix, sizeof(fix), "Load kvm_intel or kvm_amd on '%s' and let QEMU open /dev/kvm; without KVM, "
			    "VMs run in slow emulation.", f->node);
			flag(c, VL_WARN, fix, "KVM is not usable on '%s'%s%s", f->node, f->kvm_detail[0] ? ": " : "",
			     f->kvm_detail);
		}
	}
	passed(c, VL_PASS, "KVM is usable on every node");
}

static void t_cpu_vendor(const struct ctx *x, struct ck *c)
{
	need_ok(x, c);
	for (size_t i = 0; i < x->n; i++)
		if (x->f[i].ok)
			detail(c, x->f[i].node, "%s, %s", x->f[i].cpu_vendor[0] ? x->f[i].cpu_vendor : "vendor unknown",
			       x->f[i].cpu_model[0] ? x->f[i].cpu_model : "model unknown");
	same_everywhere(x, c, offsetof(struct vl_facts, cpu_vendor), "CPU vendor", VL_FAIL,
			"Replace '%s' by a node with the same CPU vendor as '%s': live migration between CPU vendors "
			"does not work.",
			"Build the cluster from nodes whose CPUs have one vendor: live migration between vendors does not work.");
	passed(c, VL_PASS, "every node has a %s CPU", x->n && x->f[0].ok ? x->f[0].cpu_vendor : "same vendor's");
}

static bool has_flag(const struct vl_facts *f, const char *flag_name)
{
	for (size_t k = 0; k < f->n_cpu_flags && k < VL_MAX_LIST; k++)
		if (strcmp(f->cpu_flags[k], flag_name) == 0)
			return true;
	return false;
}

static void t_cpu_features(const struct ctx *x, struct ck *c)
{
	const struct vl_facts *f;
	bool any[N_FLAGS];
	size_t nany = 0;

	need_ok(x, c);
	memset(any, 0, sizeof(any));
	for (size_t i = 0; i < x->n; i++)
		for (size_t k = 0; k < N_FLAGS; k++)
			if (x->f[i].ok && !any[k] && has_flag(&x->f[i], migration_flags[k])) {
				any[k] = true;
				nany++;
			}
	for (size_t i = 0; (f = answered(x, &i)) != NULL;) {
		char lacks[VL_TEXT] = "", fix[VL_TEXT];
		size_t nl = 0, have = 0;

		if (f->n_cpu_flags == 0) {
			txt(fix, sizeof(fix), "Find out why the probe on '%s' could not read the CPU flags.", f->node);
			flag(c, VL_WARN, fix, "CPU flags unknown on '%s'", f->node);
			detail(c, f->node, "CPU flags unknown");
			continue;
		}
		for (size_t k = 0; k < N_FLAGS; k++) {
			if (!any[k])
				continue;
			if (has_flag(f, migration_flags[k])) {
				have++;
				continue;
			}
			if (strlen(lacks) + strlen(migration_flags[k]) + 3 < sizeof(lacks) - 8)
				add(lacks, sizeof(lacks), " ", "%s", migration_flags[k]);
			else if (!strstr(lacks, "..."))
				add(lacks, sizeof(lacks), " ", "...");
			nl++;
		}
		if (nl == 0) {
			detail(c, f->node, "all %zu migration-relevant flags the nodes have", have);
			continue;
		}
		detail(c, f->node, "lacks %s", lacks);
		txt(fix, sizeof(fix), "Give VMs a CPU model every node provides (virsh hypervisor-cpu-baseline over all "
		    "nodes) or use matching CPUs: a VM using these flags cannot move to '%s'.", f->node);
		flag(c, VL_WARN, fix, "'%s' lacks CPU flag%s the other nodes have: %s", f->node, nl > 1 ? "s" : "", lacks);
	}
	passed(c, VL_PASS, "every node has the same %zu migration-relevant CPU flags", nany);
}

static void t_memory(const struct ctx *x, struct ck *c)
{
	const struct vl_facts *f;
	char fix[VL_TEXT];

	need_ok(x, c);
	for (size_t i = 0; (f = answered(x, &i)) != NULL;) {
		detail(c, f->node, "%.1f GiB total, %.1f GiB available, %u CPUs", gib(f->mem_total_kib),
		       gib(f->mem_avail_kib), f->cpus);
		if (f->mem_total_kib == 0) {
			txt(fix, sizeof(fix), "Find out why the probe on '%s' could not read /proc/meminfo.", f->node);
			flag(c, VL_WARN, fix, "memory of '%s' unknown", f->node);
		} else if (f->mem_total_kib < x->lim->mem_min_kib) {
			txt(fix, sizeof(fix), "Give '%s' at least %.1f GiB of memory besides what its VMs need.", f->node,
			    gib(x->lim->mem_min_kib));
			flag(c, VL_WARN, fix, "'%s' has %.1f GiB of memory, less than %.1f GiB", f->node,
			     gib(f->mem_total_kib), gib(x->lim->mem_min_kib));
		}
	}
	passed(c, VL_PASS, "every node has at least %.1f GiB of memory", gib(x->lim->mem_min_kib));
}

static void t_kernel(const struct ctx *x, struct ck *c)
{
	need_ok(x, c);
	for (size_t i = 0; i < x->n; i++)
		if (x->f[i].ok)
			detail(c, x->f[i].node, "kernel %s", x->f[i].kernel[0] ? x->f[i].kernel : "unknown");
	same_everywhere(x, c, offsetof(struct vl_facts, kernel), "kernel", VL_WARN,
			"Run the same kernel on '%s' as on '%s' (finish the rolling upgrade).",
			"Run the same kernel on every node (finish the rolling upgrade).");
	passed(c, VL_PASS, "every node runs kernel %s", x->n && x->f[0].ok ? x->f[0].kernel : "(the same)");
}

static const struct {
	const char *name;
	size_t off;
} components[] = {
	{ "corosync", offsetof(struct vl_facts, ver_corosync) },
	{ "libqb", offsetof(struct vl_facts, ver_libqb) },
	{ "libvirt", offsetof(struct vl_facts, ver_libvirt) },
	{ "QEMU", offsetof(struct vl_facts, ver_qemu) },
	{ "clusterd", offsetof(struct vl_facts, ver_clusterd) },
	{ "clusval", offsetof(struct vl_facts, probe_version) },
};

static void t_versions(const struct ctx *x, struct ck *c)
{
	const struct vl_facts *f;

	need_ok(x, c);
	for (size_t i = 0; (f = answered(x, &i)) != NULL;) {
		char line[VL_TEXT] = "";

		for (size_t k = 0; k < sizeof(components) / sizeof(components[0]); k++) {
			const char *v = (const char *)f + components[k].off;

			add(line, sizeof(line), ", ", "%s %s", components[k].name, v[0] ? v : "missing");
		}
		detail(c, f->node, "%s", line);
	}
	for (size_t k = 0; k < sizeof(components) / sizeof(components[0]); k++) {
		char what[48];

		txt(what, sizeof(what), "%s version", components[k].name);
		same_everywhere(x, c, components[k].off, what, VL_WARN,
				"Install the same versions of corosync, libqb, libvirt, QEMU and clusterd on '%s' as "
				"on '%s'.",
				"Install the same versions of corosync, libqb, libvirt, QEMU and clusterd on every node.");
	}
	passed(c, VL_PASS, "every node has the same versions of corosync, libqb, libvirt, QEMU and clusterd");
}

/* ---- network ---- */

#define MAX_LINK 64

static const struct vl_peer *peer_of(const struct vl_facts *a, const char *b, int link)
{
	for (size_t k = 0; k < a->n_peers && k < VL_MAX_LIST; k++)
		if (a->peers[k].link == link && strcmp(a->peers[k].node, b) == 0)
			return &a->peers[k];
	return NULL;
}

/* The corosync links any usable node knows a peer address on. */
static size_t known_links(const struct ctx *x, bool links[MAX_LINK])
{
	size_t nl = 0;

	memset(links, 0, MAX_LINK * sizeof(bool));
	for (size_t i = 0; i < x->n; i++)
		for (size_t k = 0; x->f[i].ok && k < x->f[i].n_peers && k < VL_MAX_LIST; k++) {
			int l = x->f[i].peers[k].link;

			if (l >= 0 && l < MAX_LINK && !links[l]) {
				links[l] = true;
				nl++;
			}
		}
	return nl;
}

/* Whether a test over pairs has anything to look at; false after a skip. */
static bool pairs_usable(const struct ctx *x, struct ck *c, size_t nok)
{
	if (x->n == 1) {
		passed(c, VL_SKIP, "one node: no pair to test");
		return false;
	}
	return nok >= 2;
}

static void t_reachability(const struct ctx *x, struct ck *c)
{
	bool links[MAX_LINK];
	size_t nok = need_ok(x, c), nl = known_links(x, links);
	char fix[VL_TEXT];

	if (!pairs_usable(x, c, nok))
		return;
	if (nl == 0) {
		flag(c, VL_WARN, "Create corosync.conf on the nodes or give clusval the peers' addresses (--peer).",
		     "no node knows its peers' addresses: nothing was tested");
		return;
	}
	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *a = &x->f[i];
		size_t good = 0, bad = 0;

		if (!a->ok)
			continue;
		for (size_t j = 0; j < x->n; j++) {
			const struct vl_facts *b = &x->f[j];

			if (j == i || !b->ok)
				continue;
			for (int l = 0; l < MAX_LINK; l++) {
				const struct vl_peer *p;

				if (!links[l])
					continue;
				p = peer_of(a, b->node, l);
				if (p == NULL) {
					txt(fix, sizeof(fix), "Give '%s' the address of '%s' on link %d (corosync.conf's "
					    "nodelist or --peers).", a->node, b->node, l);
					flag(c, VL_WARN, fix, "'%s' has no address of '%s' on link %d: not tested", a->node,
					     b->node, l);
					detail(c, a->node, "-> %s link %d: no address, not tested", b->node, l);
					bad++;
				} else if (!p->reachable) {
					txt(fix, sizeof(fix), "Check link %d between '%s' and '%s' (cabling, addresses, "
					    "firewall): corosync needs every node to reach every other on each link.", l,
					    a->node, b->node);
					flag(c, VL_FAIL, fix, "'%s' cannot reach '%s' on link %d (%s)", a->node, b->node, l,
					     p->addr);
					detail(c, a->node, "-> %s link %d (%s): unreachable%s%s", b->node, l, p->addr,
					       p->detail[0] ? ": " : "", p->detail);
					bad++;
				} else {
					good++;
				}
			}
		}
		if (bad == 0)
			detail(c, a->node, "reaches every other node on %zu link%s", nl, nl > 1 ? "s" : "");
		else if (good)
			detail(c, a->node, "%zu other node/link pair%s reachable", good, good > 1 ? "s" : "");
	}
	passed(c, VL_PASS, "every node reaches every other on %zu link%s", nl, nl > 1 ? "s" : "");
}

static void t_latency(const struct ctx *x, struct ck *c)
{
	const struct vl_limits *lim = x->lim;
	size_t nok = need_ok(x, c), measured = 0;
	int64_t worst = -1;
	char fix[VL_TEXT];

	if (!pairs_usable(x, c, nok))
		return;
	txt(fix, sizeof(fix), "Put the corosync links on a low-latency network (one site, no congested or routed "
	    "path): live migration and failover suffer above %.1f ms.", (double)lim->rtt_warn_us / 1000.0);
	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *a = &x->f[i];
		int64_t nworst = -1;

		if (!a->ok)
			continue;
		for (size_t k = 0; k < a->n_peers && k < VL_MAX_LIST; k++) {
			const struct vl_peer *p = &a->peers[k];
			const struct vl_facts *b = node_by_name(x, p->node);

			if (!p->reachable || b == NULL || b == a || !b->ok)
				continue;   /* rule 5 */
			if (p->rtt_us < 0) {
				char ufix[VL_TEXT];

				txt(ufix, sizeof(ufix), "Find out why the probe on '%s' could not time its round trips.",
				    a->node);
				flag(c, VL_WARN, ufix, "round trip from '%s' to '%s' on link %d unknown", a->node,
				     p->node, p->link);
				detail(c, a->node, "-> %s link %d: round trip unknown", p->node, p->link);
				continue;
			}
			measured++;
			if (p->rtt_us > nworst)
				nworst = p->rtt_us;
			if (p->rtt_us > lim->rtt_fail_us || p->rtt_us > lim->rtt_warn_us) {
				enum vl_status st = p->rtt_us > lim->rtt_fail_us ? VL_FAIL : VL_WARN;

				flag(c, st, fix, "round trip from '%s' to '%s' on link %d is %.1f ms (limit %.1f ms)", a->node,
				     p->node, p->link, (double)p->rtt_us / 1000.0,
				     (double)(st == VL_FAIL ? lim->rtt_fail_us : lim->rtt_warn_us) / 1000.0);
				detail(c, a->node, "-> %s link %d: %.2f ms", p->node, p->link, (double)p->rtt_us / 1000.0);
			}
		}
		if (nworst >= 0)
			detail(c, a->node, "largest round trip %.2f ms", (double)nworst / 1000.0);
		if (nworst > worst)
			worst = nworst;
	}
	if (measured == 0)
		passed(c, VL_SKIP, "no reachable peer to time (see reachability)");
	else
		passed(c, VL_PASS, "largest round trip %.2f ms (warning above %.1f ms)", (double)worst / 1000.0,
		       (double)lim->rtt_warn_us / 1000.0);
}

static void t_links(const struct ctx *x, struct ck *c)
{
	const struct vl_facts *f;
	bool links[MAX_LINK];
	size_t nok = need_ok(x, c), nl = known_links(x, links);
	char list[VL_TEXT] = "";

	if (!pairs_usable(x, c, nok))
		return;
	for (int l = 0; l < MAX_LINK; l++)
		if (links[l])
			add(list, sizeof(list), ", ", "%d", l);
	for (size_t i = 0; (f = answered(x, &i)) != NULL;) {
		bool mine[MAX_LINK] = { false };
		char ml[VL_TEXT] = "";

		for (size_t k = 0; k < f->n_peers && k < VL_MAX_LIST; k++)
			if (f->peers[k].link >= 0 && f->peers[k].link < MAX_LINK)
				mine[f->peers[k].link] = true;
		for (int l = 0; l < MAX_LINK; l++)
			if (mine[l])
				add(ml, sizeof(ml), ", ", "%d", l);
		detail(c, f->node, "links %s", ml[0] ? ml : "none known");
	}
	if (nl == 0)
		flag(c, VL_WARN, "Create corosync.conf on the nodes or give clusval the peers' addresses (--peer).",
		     "no corosync link known");
	else if (nl == 1)
		flag(c, VL_WARN, "Add a second corosync link on a separate network (knet supports up to 8 links).",
		     "only one corosync link (link %s): one network failure splits the cluster", list);
	passed(c, VL_PASS, "%zu corosync links (%s)", nl, list);
}

static const struct vl_iface *iface_by_addr(const struct vl_facts *f, const char *addr)
{
	for (size_t k = 0; addr[0] && k < f->n_ifaces && k < VL_MAX_LIST; k++)
		if (strcmp(f->ifaces[k].addr, addr) == 0)
			return &f->ifaces[k];
	return NULL;
}

/* The interface node b uses for link l: the one holding the address the
 * other nodes reach it at. */
static const struct vl_iface *link_iface(const struct ctx *x, const struct vl_facts *b, int l)
{
	for (size_t i = 0; i < x->n; i++) {
		const struct vl_peer *p;
		const struct vl_iface *ifc;

		if (!x->f[i].ok || &x->f[i] == b || (p = peer_of(&x->f[i], b->node, l)) == NULL)
			continue;
		if ((ifc = iface_by_addr(b, p->addr)) != NULL)
			return ifc;
	}
	return NULL;
}

static void t_mtu(const struct ctx *x, struct ck *c)
{
	bool links[MAX_LINK];
	size_t nok = need_ok(x, c), compared = 0;
	char fix[VL_TEXT];

	known_links(x, links);
	if (!pairs_usable(x, c, nok))
		return;
	for (int l = 0; l < MAX_LINK; l++) {
		char mtus[VL_MAX_NODES][16] = { { 0 } };
		const char *vals[VL_MAX_NODES] = { 0 };
		size_t known = 0;
		int m;

		if (!links[l])
			continue;
		for (size_t i = 0; i < x->n; i++) {
			const struct vl_facts *b = &x->f[i];
			const struct vl_iface *ifc = b->ok ? link_iface(x, b, l) : NULL;

			vals[i] = NULL;
			if (!b->ok)
				continue;
			if (ifc == NULL || ifc->mtu == 0) {
				txt(fix, sizeof(fix), "Find out why the probe on '%s' did not list the interface of its link "
				    "%d address.", b->node, l);
				flag(c, VL_WARN, fix, "MTU of link %d on '%s' unknown", l, b->node);
				detail(c, b->node, "link %d: interface or MTU unknown", l);
				continue;
			}
			txt(mtus[i], sizeof(mtus[i]), "%u", ifc->mtu);
			vals[i] = mtus[i];
			known++;
			detail(c, b->node, "link %d: %s %s MTU %u", l, ifc->name, ifc->addr, ifc->mtu);
		}
		if (known >= 2)
			compared++;
		m = majority(vals, x->n);
		for (size_t i = 0; i < x->n; i++) {
			if (!is_odd(vals, x->n, m, i))
				continue;
			txt(fix, sizeof(fix), "Set the same MTU on the link %d interfaces of every node (and the switches "
			    "between them).", l);
			if (m < 0)
				flag(c, VL_FAIL, fix, "MTU differs on link %d: '%s' has %s", l, x->f[i].node, vals[i]);
			else
				flag(c, VL_FAIL, fix, "MTU differs on link %d: '%s' has %s, the other nodes %s", l,
				     x->f[i].node, vals[i], vals[m]);
		}
		/* the path between two nodes may carry less than both ends' interfaces */
		for (size_t i = 0; i < x->n; i++) {
			const struct vl_facts *a = &x->f[i];
			const struct vl_iface *ia = a->ok ? link_iface(x, a, l) : NULL;

			for (size_t j = 0; ia && j < x->n; j++) {
				const struct vl_facts *b = &x->f[j];
				const struct vl_iface *ib = b->ok && j != i ? link_iface(x, b, l) : NULL;
				const struct vl_peer *p = ib ? peer_of(a, b->node, l) : NULL;
				unsigned lo;

				if (p == NULL || !p->reachable || p->path_mtu == 0)
					continue;
				lo = ia->mtu < ib->mtu ? ia->mtu : ib->mtu;
				if (p->path_mtu >= lo)
					continue;
				txt(fix, sizeof(fix), "A device between '%s' and '%s' on link %d drops large packets: fix its "
				    "MTU or lower the interfaces' to %u.", a->node, b->node, l, p->path_mtu);
				flag(c, VL_WARN, fix, "path MTU from '%s' to '%s' on link %d is %u, the interfaces have %u",
				     a->node, b->node, l, p->path_mtu, lo);
				detail(c, a->node, "-> %s link %d: path MTU %u < %u", b->node, l, p->path_mtu, lo);
			}
		}
	}
	passed(c, VL_PASS, "the same MTU on every node of %zu link%s", compared, compared == 1 ? "" : "s");
}

static void t_migration_port(const struct ctx *x, struct ck *c)
{
	size_t nok = need_ok(x, c), tested = 0;
	char fix[VL_TEXT];

	if (!pairs_usable(x, c, nok))
		return;
	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *a = &x->f[i];
		size_t good = 0;

		if (!a->ok)
			continue;
		for (size_t j = 0; j < x->n; j++) {
			const struct vl_facts *b = &x->f[j];
			bool reach = false, port = false;

			if (j == i || !b->ok)
				continue;
			for (size_t k = 0; k < a->n_peers && k < VL_MAX_LIST; k++)
				if (strcmp(a->peers[k].node, b->node) == 0 && a->peers[k].reachable) {
					reach = true;
					port = port || a->peers[k].migration_port;
				}
			if (!reach) {   /* rule 5 */
				detail(c, a->node, "-> %s: not tested (unreachable, see reachability)", b->node);
				continue;
			}
			tested++;
			if (port) {
				good++;
				continue;
			}
			txt(fix, sizeof(fix), "Let libvirtd on '%s' listen on TCP (libvirtd-tcp.socket, port 16509) and "
			    "open it and the migration ports 49152-49215 in its firewall.", b->node);
			flag(c, VL_FAIL, fix, "'%s' cannot connect to libvirt's migration port on '%s'", a->node, b->node);
			detail(c, a->node, "-> %s: migration port refused or filtered", b->node);
		}
		if (good)
			detail(c, a->node, "reaches the migration port of %zu other node%s", good, good > 1 ? "s" : "");
	}
	if (tested == 0)
		passed(c, VL_SKIP, "no reachable pair to test (see reachability)");
	else
		passed(c, VL_PASS, "libvirt's migration port answers between every pair of nodes");
}

/* ---- storage ---- */

static const struct vl_lun *lun_of(const struct vl_facts *f, const char *url)
{
	for (size_t k = 0; k < f->n_luns && k < sizeof(f->luns) / sizeof(f->luns[0]); k++)
		if (strcmp(f->luns[k].url, url) == 0)
			return &f->luns[k];
	return NULL;
}

/* The i-th distinct LUN URL (in order of first appearance), or NULL. */
static const struct vl_lun *nth_lun(const struct ctx *x, size_t want)
{
	size_t seen = 0;

	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *f = &x->f[i];

		for (size_t k = 0; f->ok && k < f->n_luns && k < sizeof(f->luns) / sizeof(f->luns[0]); k++) {
			bool before = false;

			for (size_t j = 0; j < i && !before; j++)
				before = x->f[j].ok && lun_of(&x->f[j], f->luns[k].url) != NULL;
			for (size_t kk = 0; kk < k && !before; kk++)
				before = strcmp(f->luns[kk].url, f->luns[k].url) == 0;
			if (before)
				continue;
			if (seen++ == want)
				return &f->luns[k];
		}
	}
	return NULL;
}

static void t_lun_visible(const struct ctx *x, struct ck *c)
{
	const struct vl_lun *u;
	size_t nl = 0;
	char fix[VL_TEXT];

	need_ok(x, c);
	for (; (u = nth_lun(x, nl)) != NULL; nl++) {
		const char *ids[VL_MAX_NODES] = { 0 }, *sizes[VL_MAX_NODES] = { 0 };
		char sz[VL_MAX_NODES][24] = { { 0 } };
		int mi, ms;

		for (size_t i = 0; i < x->n; i++) {
			const struct vl_facts *f = &x->f[i];
			const struct vl_lun *l = f->ok ? lun_of(f, u->url) : NULL;

			ids[i] = sizes[i] = NULL;
			if (!f->ok)
				continue;
			if (l == NULL || !l->visible) {
				txt(fix, sizeof(fix), "Check the path from '%s' to the target (portal address, the "
				    "initiator's ACL, CHAP): every node must see every shared LUN.", f->node);
				flag(c, VL_FAIL, fix, "the %s LUN is not visible from '%s' (%s)", u->role, f->node, u->url);
				detail(c, f->node, "%s %s: %s%s%s", u->role, u->url, l ? "not visible" : "not probed",
				       l && l->detail[0] ? ": " : "", l ? l->detail : "");
				continue;
			}
			detail(c, f->node, "%s %s: %s %s, %llu bytes, id %s", u->role, u->url, l->vendor, l->product,
			       (unsigned long long)l->bytes, l->identity[0] ? l->identity : "unknown");
			if (!l->identity[0]) {
				txt(fix, sizeof(fix), "Find out why '%s' could not read the LUN's device identification "
				    "(VPD page 0x83).", f->node);
				flag(c, VL_WARN, fix, "identity of the %s LUN unknown on '%s'", u->role, f->node);
			} else {
				ids[i] = l->identity;
			}
			txt(sz[i], sizeof(sz[i]), "%llu", (unsigned long long)l->bytes);
			sizes[i] = sz[i];
		}
		mi = majority(ids, x->n);
		ms = majority(sizes, x->n);
		for (size_t i = 0; i < x->n; i++) {
			const char *nd = x->f[i].node;

			txt(fix, sizeof(fix), "Make the URL name the same LUN from every node: check the target's LUN "
			    "mapping for the initiator of '%s'.", nd);
			if (is_odd(ids, x->n, mi, i))
				flag(c, VL_FAIL, fix, "the %s LUN has another identity on '%s' (%s): not the same LUN",
				     u->role, nd, ids[i]);
			if (is_odd(sizes, x->n, ms, i))
				flag(c, VL_FAIL, fix, "the %s LUN has another size on '%s' (%s bytes)", u->role, nd, sizes[i]);
		}
	}
	if (nl == 0)
		passed(c, VL_SKIP, "no LUN given (--lun)");
	else
		passed(c, VL_PASS, "every node sees the %zu LUN%s with the same identity and size", nl, nl > 1 ? "s" : "");
}

static void t_lun_pr(const struct ctx *x, struct ck *c)
{
	const struct vl_lun *u;
	size_t nl = 0, exercised = 0, capable = 0, busy = 0;
	char fix[VL_TEXT];

	need_ok(x, c);
	for (; (u = nth_lun(x, nl)) != NULL; nl++) {
		char nopr[VL_TEXT] = "";
		size_t seen = 0, in_use = 0, ncaps = 0;

		for (size_t i = 0; i < x->n; i++) {
			const struct vl_facts *f = &x->f[i];
			const struct vl_lun *l = f->ok ? lun_of(f, u->url) : NULL;

			if (l == NULL || !l->visible)
				continue;   /* rule 5: lun-visible says so */
			seen++;
			if (l->in_use) {
				in_use++;
				detail(c, f->node, "%s %s: in use by the running cluster, not tested", u->role, u->url);
				continue;
			}
			if (!l->pr_caps) {
				add(nopr, sizeof(nopr), ", ", "'%s'", f->node);
				detail(c, f->node, "%s %s: no SCSI-3 persistent reservations%s%s", u->role, u->url,
				       l->detail[0] ? ": " : "", l->detail);
				continue;
			}
			ncaps++;
			if (l->pr_tested && !l->pr_ok) {
				txt(fix, sizeof(fix), "Check the target's PR support and the initiator of '%s' on it: the "
				    "witness and CSV locks depend on register, reserve, preempt and release.", f->node);
				flag(c, VL_FAIL, fix, "register/reserve/preempt/release failed on the %s LUN from '%s'%s%s",
				     u->role, f->node, l->detail[0] ? ": " : "", l->detail);
				detail(c, f->node, "%s %s: PR test failed%s%s", u->role, u->url, l->detail[0] ? ": " : "",
				       l->detail);
				continue;
			}
			exercised += l->pr_tested;
			detail(c, f->node, "%s %s: PR supported%s", u->role, u->url,
			       l->pr_tested ? ", register/reserve/preempt/release passed" : "");
		}
		if (nopr[0])
			flag(c, VL_FAIL, "Enable SCSI-3 persistent reservations on the target or use one that has them "
			     "(LIO does): the witness and CSV locks depend on them.",
			     "the target of the %s LUN does not support SCSI-3 persistent reservations (seen from %s)",
			     u->role, nopr);
		if (seen == 0)
			detail(c, "", "%s %s: no node sees it, not tested (see lun-visible)", u->role, u->url);
		else if (in_use == seen)
			busy++;
		else if (ncaps)
			capable++;
	}
	if (nl == 0)
		passed(c, VL_SKIP, "no LUN given (--lun)");
	else if (busy == nl)
		passed(c, VL_PASS, "every LUN is in use by the running cluster: reservations left alone, not tested");
	else
		passed(c, VL_PASS, "SCSI-3 persistent reservations supported on %zu LUN%s%s%s", capable,
		       capable == 1 ? "" : "s", exercised ? " and exercised on the scratch LUN" : "",
		       busy ? "; LUNs in use not tested" : "");
}

/* ---- system ---- */

static void same_file(const struct ctx *x, struct ck *c, size_t off, const char *path, const char *how)
{
	const char *vals[VL_MAX_NODES] = { 0 };
	size_t have = 0, nok = need_ok(x, c);
	char fix[VL_TEXT];
	int m;

	for (size_t i = 0; i < x->n; i++) {
		const char *h = (const char *)&x->f[i] + off;

		vals[i] = x->f[i].ok && h[0] ? h : NULL;
		have += vals[i] != NULL;
		if (x->f[i].ok)
			detail(c, x->f[i].node, "%s %s", path, h[0] ? h : "missing");
	}
	if (nok && have == 0) {
		passed(c, VL_SKIP, "no node has %s (no cluster created yet)", path);
		return;
	}
	m = majority(vals, x->n);
	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *f = &x->f[i];

		if (!f->ok)
			continue;
		if (!vals[i]) {
			txt(fix, sizeof(fix), "Copy %s from %s%s%s to '%s'%s.", path, m >= 0 ? "'" : "another node",
			    m >= 0 ? x->f[m].node : "", m >= 0 ? "'" : "", f->node, how);
			flag(c, VL_FAIL, fix, "'%s' has no %s", f->node, path);
		} else if (m >= 0 && strcmp(vals[i], vals[m]) != 0) {
			txt(fix, sizeof(fix), "Copy %s from '%s' to '%s'%s.", path, x->f[m].node, f->node, how);
			flag(c, VL_FAIL, fix, "%s on '%s' differs from the other nodes' (hash %s, theirs %s)", path, f->node,
			     vals[i], vals[m]);
		} else if (m < 0) {
			bool differ = false;

			for (size_t j = 0; j < x->n; j++)
				differ = differ || (vals[j] && strcmp(vals[j], vals[i]) != 0);
			if (differ) {
				txt(fix, sizeof(fix), "Copy %s from one node to every other%s.", path, how);
				flag(c, VL_FAIL, fix, "%s differs between nodes ('%s' has hash %s)", path, f->node, vals[i]);
			}
		}
	}
	passed(c, VL_PASS, "%s is the same on every node", path);
}

static void t_corosync_conf(const struct ctx *x, struct ck *c)
{
	same_file(x, c, offsetof(struct vl_facts, corosync_conf_hash), "corosync.conf",
		  " and reload it (corosync-cfgtool -R)");
}

static void t_authkey(const struct ctx *x, struct ck *c)
{
	same_file(x, c, offsetof(struct vl_facts, authkey_hash), "authkey", " (mode 0400) and restart corosync there");
}

static void t_time_skew(const struct ctx *x, struct ck *c)
{
	const struct vl_limits *lim = x->lim;
	size_t nok = need_ok(x, c), nk = 0;
	bool corrected = lim->clock_ref_ms != NULL;
	int64_t off[VL_MAX_NODES] = { 0 }, med = 0, lo = INT64_MAX, hi = INT64_MIN;
	bool known[VL_MAX_NODES] = { 0 };
	size_t far = 0;
	char fix[VL_TEXT];

	for (size_t i = 0; i < x->n; i++)
		if (x->f[i].ok && x->f[i].time_ms && lim->clock_ref_ms && lim->clock_ref_ms[i] == 0)
			corrected = false;   /* all corrected or none: mixing would invent skew */
	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *f = &x->f[i];

		known[i] = f->ok && f->time_ms != 0;
		if (f->ok && !known[i]) {
			txt(fix, sizeof(fix), "Find out why the probe on '%s' did not report its clock.", f->node);
			flag(c, VL_WARN, fix, "clock of '%s' unknown", f->node);
			detail(c, f->node, "clock unknown");
		}
		if (!known[i])
			continue;
		off[i] = corrected ? f->time_ms - lim->clock_ref_ms[i] : f->time_ms;
		nk++;
		lo = off[i] < lo ? off[i] : lo;
		hi = off[i] > hi ? off[i] : hi;
	}
	if (x->n == 1) {
		passed(c, VL_SKIP, "one node: no clock to compare");
		return;
	}
	if (nok < 2 || nk < 2)
		return;
	/* the lower median: the clock most others are close to */
	for (size_t i = 0; i < x->n; i++) {
		size_t below = 0, same = 0;

		if (!known[i])
			continue;
		for (size_t j = 0; j < x->n; j++)
			if (known[j]) {
				below += off[j] < off[i];
				same += off[j] == off[i];
			}
		if (below < (nk + 1) / 2 && below + same >= (nk + 1) / 2) {
			med = off[i];
			break;
		}
	}
	for (size_t i = 0; i < x->n; i++) {
		int64_t d, dfar;

		if (!known[i])
			continue;
		d = off[i] - med;
		dfar = off[far] - med;
		if (!known[far] || (d < 0 ? -d : d) > (dfar < 0 ? -dfar : dfar))
			far = i;
		detail(c, x->f[i].node, corrected ? "clock %+.3f s from the median (measured against clusval's host)"
						  : "clock %+.3f s from the median (probe start times, uncorrected)",
		       (double)d / 1000.0);
	}
	if (hi - lo > lim->skew_warn_ms) {
		enum vl_status st = hi - lo > lim->skew_fail_ms ? VL_FAIL : VL_WARN;
		int64_t d = off[far] - med;

		txt(fix, sizeof(fix), "Run chrony (or ntpd) on every node against the same time source; check "
		    "`chronyc tracking` on '%s'.", x->f[far].node);
		flag(c, st, fix, "clocks differ by %.1f s: '%s' is %.1f s %s", (double)(hi - lo) / 1000.0, x->f[far].node,
		     (double)(d < 0 ? -d : d) / 1000.0, d < 0 ? "behind the others" : "ahead of the others");
	}
	passed(c, VL_PASS, "clocks agree within %lld ms%s", (long long)(hi - lo), corrected ? "" : " (uncorrected)");
}

static void t_services(const struct ctx *x, struct ck *c)
{
	const struct vl_facts *f;
	char fix[VL_TEXT];

	need_ok(x, c);
	for (size_t i = 0; (f = answered(x, &i)) != NULL;) {
		bool conf = f->corosync_conf_hash[0] != '\0';
		static const char *const run[] = { "not running", "running" };

		if (conf)
			detail(c, f->node, "corosync %s, libvirtd %s, clusterd %s", run[f->svc_corosync], run[f->svc_libvirtd],
			       run[f->svc_clusterd]);
		else
			detail(c, f->node, "libvirtd %s; corosync and clusterd not configured yet", run[f->svc_libvirtd]);
		if (!f->svc_libvirtd) {
			txt(fix, sizeof(fix), "Start libvirtd on '%s' (systemctl enable --now libvirtd).", f->node);
			flag(c, VL_FAIL, fix, "libvirtd is not running on '%s'", f->node);
		}
		if (conf && !f->svc_corosync) {
			txt(fix, sizeof(fix), "Start corosync on '%s' (systemctl enable --now corosync) and read its log if "
			    "it stops.", f->node);
			flag(c, VL_FAIL, fix, "corosync is not running on '%s'", f->node);
		}
		if (conf && !f->svc_clusterd) {
			txt(fix, sizeof(fix), "Start clusterd on '%s' (systemctl enable --now clusterd).", f->node);
			flag(c, VL_FAIL, fix, "clusterd is not running on '%s'", f->node);
		}
	}
	passed(c, VL_PASS, "the cluster's services run on every node");
}

static bool in_list(const char (*list)[VL_NAME], size_t n, const char *s)
{
	for (size_t k = 0; k < n && k < VL_MAX_LIST; k++)
		if (strcmp(list[k], s) == 0)
			return true;
	return false;
}

/* virbrN bridges belong to libvirt networks (compared by name) and are
 * numbered in the order each node happened to start them. */
static bool bridge_counts(const char *b)
{
	return strncmp(b, "virbr", 5) != 0;
}

static void missing_items(const struct ctx *x, struct ck *c, bool bridges)
{
	const char *what = bridges ? "bridge" : "libvirt network";
	char fix[VL_TEXT];

	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *f = &x->f[i];
		size_t cnt = bridges ? f->n_bridges : f->n_networks;

		for (size_t k = 0; f->ok && k < cnt && k < VL_MAX_LIST; k++) {
			const char *item = bridges ? f->bridges[k] : f->networks[k];
			bool before = false;

			if (bridges && !bridge_counts(item))
				continue;
			for (size_t j = 0; j < i && !before; j++)
				before = x->f[j].ok && (bridges ? in_list(x->f[j].bridges, x->f[j].n_bridges, item)
								: in_list(x->f[j].networks, x->f[j].n_networks, item));
			if (before)
				continue;
			for (size_t j = 0; j < x->n; j++) {
				const struct vl_facts *g = &x->f[j];
				bool has = bridges ? in_list(g->bridges, g->n_bridges, item)
						   : in_list(g->networks, g->n_networks, item);

				if (!g->ok || has)
					continue;
				if (bridges)
					txt(fix, sizeof(fix), "Create bridge '%s' on '%s' as on '%s' (same name, same "
					    "uplink).", item, g->node, f->node);
				else
					txt(fix, sizeof(fix), "Define and start libvirt network '%s' on '%s' as on '%s' (virsh "
					    "net-define, net-start, net-autostart).", item, g->node, f->node);
				flag(c, VL_FAIL, fix, "'%s' lacks the %s '%s' that '%s' has", g->node, what, item, f->node);
				detail(c, g->node, "lacks %s '%s'", what, item);
			}
		}
	}
}

static void t_networks(const struct ctx *x, struct ck *c)
{
	const struct vl_facts *f;

	need_ok(x, c);
	for (size_t i = 0; (f = answered(x, &i)) != NULL;) {
		char nets[VL_TEXT] = "", brs[VL_TEXT] = "";

		for (size_t k = 0; k < f->n_networks && k < VL_MAX_LIST; k++)
			add(nets, sizeof(nets), " ", "%s", f->networks[k]);
		for (size_t k = 0; k < f->n_bridges && k < VL_MAX_LIST; k++)
			add(brs, sizeof(brs), " ", "%s", f->bridges[k]);
		detail(c, f->node, "networks: %s; bridges: %s", nets[0] ? nets : "none", brs[0] ? brs : "none");
	}
	missing_items(x, c, false);
	missing_items(x, c, true);
	passed(c, VL_PASS, "every node has the same libvirt networks and bridges");
}

/* ---- vms ---- */

static bool vms_present(const struct ctx *x, struct ck *c)
{
	if (x->nvms == 0) {
		passed(c, VL_SKIP, "no VM (not a running cluster, or it has none)");
		return false;
	}
	return true;
}

/* Whether node f may own VM m. */
static bool may_own(const struct vl_vm *m, const struct vl_facts *f)
{
	if (m->n_possible == 0)
		return true;
	for (size_t k = 0; k < m->n_possible && k < VL_MAX_LIST; k++)
		if (strcmp(m->possible[k], f->node) == 0)
			return true;
	return false;
}

/* Possible owners named that were not probed: a warning, once per VM test. */
static void unprobed_owners(const struct ctx *x, struct ck *c, const struct vl_vm *m)
{
	char fix[VL_TEXT];

	for (size_t k = 0; k < m->n_possible && k < VL_MAX_LIST; k++)
		if (node_by_name(x, m->possible[k]) == NULL) {
			txt(fix, sizeof(fix), "Add '%s' to --nodes, or remove it from the possible owners of VM '%s'.",
			    m->possible[k], m->name);
			flag(c, VL_WARN, fix, "possible owner '%s' of VM '%s' was not probed", m->possible[k], m->name);
		}
}

/* The frame of the vms tests: skipped without VMs, the nodes' probes
 * needed, then one VM at a time. False when skipped. */
static bool each_vm(const struct ctx *x, struct ck *c,
		    void (*one)(const struct ctx *, struct ck *, const struct vl_vm *))
{
	if (!vms_present(x, c))
		return false;
	need_ok(x, c);
	for (size_t v = 0; v < x->nvms; v++) {
		unprobed_owners(x, c, &x->vms[v]);
		one(x, c, &x->vms[v]);
	}
	return true;
}

/* Filesystems every node mounts from one shared store. */
static bool fs_shared(const char *fstype)
{
	static const char *const shared[] = {
		"nfs", "nfs4", "cifs", "smb3", "gfs2", "ocfs2", "ceph", "fuse.ceph", "glusterfs", "fuse.glusterfs",
		"lustre", "gpfs", "beegfs", "fuse.beegfs",
	};

	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		if (strcmp(fstype, shared[i]) == 0)
			return true;
	return false;
}

static const struct vl_file *file_of(const struct vl_facts *f, const char *path)
{
	for (size_t k = 0; k < f->n_files && k < VL_MAX_FILES; k++)
		if (strcmp(f->files[k].path, path) == 0)
			return &f->files[k];
	return NULL;
}

/* One file of a VM's disk (the disk's own, or a backing file of it): on
 * every possible owner, and one shared file there. Returns the backing file
 * to look at next ("" none). */
static const char *vm_file(const struct ctx *x, struct ck *c, const struct vl_vm *m, const struct vl_vm_disk *d,
			   const char *path, const char *of)
{
	const struct vl_file *first = NULL;
	const struct vl_facts *first_node = NULL;
	const char *backing = "";
	size_t seen = 0, missing = 0;
	bool same = true, shared = true, one_kernel = true;
	char fix[VL_TEXT], what[VL_PATH + 64];

	if (of[0])
		txt(what, sizeof(what), "backing file %s of %s", path, of);
	else
		txt(what, sizeof(what), "disk %s file %s", d->target, path);
	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *f = &x->f[i];
		const struct vl_file *v = f->ok && may_own(m, f) ? file_of(f, path) : NULL;

		if (!f->ok || !may_own(m, f))
			continue;
		if (v == NULL) {
			txt(fix, sizeof(fix), "Validate again with fewer VM files (at most %d per run), or check VM '%s' by hand.",
			    VL_MAX_FILES, m->name);
			flag(c, VL_WARN, fix, "VM '%s': %s was not probed on '%s'", m->name, what, f->node);
			continue;
		}
		if (!v->exists) {
			txt(fix, sizeof(fix), "Put %s on storage that every possible owner of VM '%s' mounts at the same "
			    "path (NFS, or a CSV volume).", path, m->name);
			flag(c, VL_FAIL, fix, "VM '%s': %s is missing on '%s'", m->name, what, f->node);
			detail(c, f->node, "VM '%s': %s: missing (%s)", m->name, what, v->detail[0] ? v->detail : "not found");
			missing++;
			continue;
		}
		if (v->detail[0]) {
			txt(fix, sizeof(fix), "Check %s on '%s' by hand (qemu-img info --backing-chain).", path, f->node);
			flag(c, VL_WARN, fix, "VM '%s': %s on '%s': %s", m->name, what, f->node, v->detail);
		}
		seen++;
		if (first == NULL) {
			first = v;
			first_node = f;
			backing = v->backing;
		} else {
			/* not size or time: a running VM writes its disk between two
			 * probes. The inode: a shared filesystem's comes from its
			 * server or disk, so two mounts of different stores differ */
			same = same && v->dev == first->dev && v->ino == first->ino;
			shared = shared && v->ino == first->ino;
			/* a device and inode name one file only within one kernel */
			one_kernel = one_kernel && f->boot_id[0] && strcmp(f->boot_id, first_node->boot_id) == 0;
		}
		shared = shared && fs_shared(v->fstype);
	}
	same = same && one_kernel && first_node && first_node->boot_id[0];
	if (first == NULL)
		return "";
	if (!strcmp(first->kind, "block")) {
		txt(fix, sizeof(fix), "Give VM '%s' a CSV volume or an iSCSI LUN (a physical disk) instead of %s.",
		    m->name, path);
		flag(c, VL_WARN, fix, "VM '%s': %s is a block device; clusval cannot tell whether every node's is the same",
		     m->name, what);
		detail(c, "", "VM '%s': %s: a block device", m->name, what);
		return "";
	}
	if (missing == 0 && seen > 1 && !shared && !same) {
		txt(fix, sizeof(fix), "Move %s to storage that every possible owner of VM '%s' shares (NFS, or a CSV "
		    "volume); separate copies diverge on the first failover.", path, m->name);
		if (fs_shared(first->fstype))
			flag(c, VL_FAIL, fix, "VM '%s': %s is a different file on each node (%s, inodes differ: "
			     "different exports?)", m->name, what, first->fstype);
		else
			flag(c, VL_FAIL, fix, "VM '%s': %s is on each node's local storage (%s), not shared", m->name,
			     what, first->fstype[0] ? first->fstype : "unknown filesystem");
	}
	if (missing == 0)
		detail(c, "", "VM '%s': %s: %s%s%s, %s", m->name, what, first->format[0] ? first->format : first->kind,
		       first->fstype[0] ? " on " : "", first->fstype,
		       shared ? "a shared filesystem" : same ? "the same file on every possible owner (device and inode)"
		       : seen > 1 ? "a different file on each node" : "one node only");
	return backing;
}

#define VL_CHAIN_MAX 16

static bool chain_has(const char *const *chain, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(chain[i], path) == 0)
			return true;
	return false;
}

static void vm_storage(const struct ctx *x, struct ck *c, const struct vl_vm *m)
{
	char fix[VL_TEXT];

	if (m->n_disks == 0)
		detail(c, "", "VM '%s': no disk", m->name);
	for (size_t k = 0; k < m->n_disks && k < VL_VM_DISKS; k++) {
		const struct vl_vm_disk *d = &m->disks[k];

		if (!strcmp(d->kind, "file") || !strcmp(d->kind, "block")) {
			char path[VL_PATH], of[VL_PATH] = "";
			const char *chain[VL_CHAIN_MAX];
			size_t depth = 0;

			cm_strlcpy(path, d->source, sizeof(path));
			while (path[0]) {
				const char *next;

				if (depth == VL_CHAIN_MAX) {
					txt(fix, sizeof(fix), "Flatten the disk of VM '%s' (qemu-img convert), or check "
					    "its chain by hand.", m->name);
					flag(c, VL_WARN, fix, "VM '%s': disk %s has more than %d backing files; the rest "
					     "was not checked", m->name, d->target, VL_CHAIN_MAX);
					break;
				}
				next = vm_file(x, c, m, d, path, of);
				chain[depth++] = next;
				cm_strlcpy(of, path, sizeof(of));
				if (strchr(next, ':')) {
					txt(fix, sizeof(fix), "Check by hand that every node reaches %s.", next);
					flag(c, VL_WARN, fix, "VM '%s': backing file %s of %s is not a file; clusval "
					     "cannot check it", m->name, next, of);
					break;
				}
				if (strcmp(next, d->source) == 0 || (next[0] && depth > 1 &&
				    chain_has(chain, depth - 1, next))) {
					txt(fix, sizeof(fix), "Repair the backing chain of disk %s of VM '%s' (qemu-img "
					    "rebase): QEMU refuses an image that backs itself.", d->target, m->name);
					flag(c, VL_FAIL, fix, "VM '%s': the backing chain of disk %s loops at %s", m->name,
					     d->target, next);
					break;
				}
				cm_strlcpy(path, next, sizeof(path));
			}
		} else if (!strcmp(d->kind, "csv")) {
			if (d->lun[0] == '\0') {
				txt(fix, sizeof(fix), "Create the CSV, or change disk %s of VM '%s'.", d->target, m->name);
				flag(c, VL_FAIL, fix, "VM '%s': disk %s is on CSV volume %s of an unknown CSV", m->name,
				     d->target, d->source);
			} else {
				detail(c, "", "VM '%s': disk %s: CSV volume %s on %s (see lun-visible)", m->name,
				       d->target, d->source, d->lun);
			}
		} else if (!strcmp(d->kind, "iscsi")) {
			detail(c, "", "VM '%s': disk %s: iSCSI LUN %s (see lun-visible)", m->name, d->target, d->source);
		} else {
			txt(fix, sizeof(fix), "Check by hand that every possible owner of VM '%s' reaches it.", m->name);
			flag(c, VL_WARN, fix, "VM '%s': disk %s (%s) is storage clusval cannot check", m->name,
			     d->target, d->source);
		}
	}
}

static void t_vm_storage(const struct ctx *x, struct ck *c)
{
	if (each_vm(x, c, vm_storage))
		passed(c, VL_PASS, "every VM's disks and backing files are on shared storage");
}

static void vm_networks(const struct ctx *x, struct ck *c, const struct vl_vm *m)
{
	char fix[VL_TEXT];
	size_t missing = 0;

	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *f = &x->f[i];

		if (!f->ok || !may_own(m, f))
			continue;
		for (size_t k = 0; k < m->n_nets && k < VL_VM_NETS; k++) {
			const char *net = m->nets[k].name;
			const char *kind = m->nets[k].bridge ? "bridge" : "libvirt network";

			if (m->nets[k].bridge ? in_list(f->bridges, f->n_bridges, net) :
			    in_list(f->networks, f->n_networks, net))
				continue;
			txt(fix, sizeof(fix), "Create %s '%s' on '%s' (the same as on the other nodes), or VM '%s' "
			    "cannot run there.", kind, net, f->node, m->name);
			flag(c, VL_FAIL, fix, "%s '%s' of VM '%s' is missing on its possible owner '%s'", kind, net,
			     m->name, f->node);
			detail(c, f->node, "VM '%s': %s '%s' missing", m->name, kind, net);
			missing++;
		}
	}
	if (missing == 0)
		detail(c, "", "VM '%s': its networks and bridges (%zu) exist on every possible owner", m->name,
		       m->n_nets);
}

static void t_vm_networks(const struct ctx *x, struct ck *c)
{
	if (each_vm(x, c, vm_networks))
		passed(c, VL_PASS, "every VM's networks exist on each of its possible owners");
}

static void vm_memory(const struct ctx *x, struct ck *c, const struct vl_vm *m)
{
	char fix[VL_TEXT];
	size_t owners = 0, fit_total = 0, fit_now = 0, need = m->owner[0] ? 1 : 2;
	const char *only = NULL;

	for (size_t i = 0; i < x->n; i++) {
		const struct vl_facts *f = &x->f[i];

		/* a running VM needs room on a node other than its own;
		 * one that is off needs two nodes that can hold it */
		if (!f->ok || !may_own(m, f) || strcmp(f->node, m->owner) == 0)
			continue;
		owners++;
		if (f->mem_total_kib >= m->memory_kib) {
			fit_total++;
			only = f->node;
		}
		fit_now += f->mem_avail_kib >= m->memory_kib;
	}
	detail(c, "", "VM '%s' (%.1f GiB%s%s): fits on %zu of %zu other possible owners, %zu with that much "
	       "available now", m->name, gib(m->memory_kib), m->owner[0] ? ", on " : ", off", m->owner,
	       fit_total, owners, fit_now);
	if (fit_total < need) {
		txt(fix, sizeof(fix), "Give VM '%s' less memory, add memory to another possible owner, or allow "
		    "it on a larger node.", m->name);
		if (fit_total == 1)
			flag(c, VL_FAIL, fix, "VM '%s' (%.1f GiB) fits on no node but '%s': it cannot fail over",
			     m->name, gib(m->memory_kib), only);
		else
			flag(c, VL_FAIL, fix, "VM '%s' (%.1f GiB) fits on no %spossible owner: it cannot fail over",
			     m->name, gib(m->memory_kib), m->owner[0] ? "other " : "");
	} else if (fit_now < need) {
		txt(fix, sizeof(fix), "Free memory on another possible owner of VM '%s', or a failover may find "
		    "no room for it.", m->name);
		flag(c, VL_WARN, fix, "VM '%s' (%.1f GiB) may find no other node with that much memory available",
		     m->name, gib(m->memory_kib));
	}
}

static void t_vm_memory(const struct ctx *x, struct ck *c)
{
	if (each_vm(x, c, vm_memory))
		passed(c, VL_PASS, "every VM fits on at least one other node");
}

/* ---- the list ---- */

static const struct test {
	const char *category, *id, *title;
	void (*run)(const struct ctx *, struct ck *);
} tests[] = {
	{ "inventory", "cpu-64bit", "64-bit CPU", t_cpu_64bit },
	{ "inventory", "cpu-virt", "CPU virtualization extensions", t_cpu_virt },
	{ "inventory", "kvm", "KVM usable", t_kvm },
	{ "inventory", "cpu-vendor", "Same CPU vendor on all nodes", t_cpu_vendor },
	{ "inventory", "cpu-features", "CPU features for live migration", t_cpu_features },
	{ "inventory", "memory", "Memory", t_memory },
	{ "inventory", "kernel", "Kernel", t_kernel },
	{ "inventory", "versions", "Software versions", t_versions },
	{ "network", "reachability", "Every node reaches every other on each link", t_reachability },
	{ "network", "latency", "Round-trip latency", t_latency },
	{ "network", "links", "Redundant corosync links", t_links },
	{ "network", "mtu", "MTU consistency", t_mtu },
	{ "network", "migration-port", "libvirt migration port", t_migration_port },
	{ "storage", "lun-visible", "LUNs visible from every node", t_lun_visible },
	{ "storage", "lun-pr", "SCSI-3 persistent reservations", t_lun_pr },
	{ "system", "corosync-conf", "Identical corosync.conf", t_corosync_conf },
	{ "system", "authkey", "Identical corosync authkey", t_authkey },
	{ "system", "time-skew", "Time skew between nodes", t_time_skew },
	{ "system", "services", "Required services running", t_services },
	{ "system", "networks", "Same virtual networks and bridges", t_networks },
	{ "vms", "vm-storage", "VM files on shared storage", t_vm_storage },
	{ "vms", "vm-networks", "VM networks on every possible owner", t_vm_networks },
	{ "vms", "vm-memory", "VM memory fits on another node", t_vm_memory },
};

static bool wanted(const struct test *t, const char *const *categories, size_t ncat)
{
	if (categories == NULL)
		return true;
	for (size_t k = 0; k < ncat; k++)
		if (categories[k] && (strcmp(categories[k], t->category) == 0 || strcmp(categories[k], t->id) == 0))
			return true;
	return false;
}

size_t vl_run_checks(const struct vl_facts *facts, size_t n, const struct vl_vm *vms, size_t nvms,
		     const struct vl_limits *lim, const char *const *categories, size_t ncat,
		     struct vl_result *out, size_t max)
{
	struct vl_limits def;
	struct ctx x = { facts, facts ? (n < VL_MAX_NODES ? n : VL_MAX_NODES) : 0, vms, vms ? nvms : 0, lim };
	size_t w = 0;

	if (lim == NULL) {
		vl_limits_default(&def);
		x.lim = &def;
	}
	for (size_t t = 0; t < sizeof(tests) / sizeof(tests[0]) && w < max; t++) {
		struct ck c = { &out[w], 0, 0 };

		if (!wanted(&tests[t], categories, ncat))
			continue;
		memset(&out[w], 0, sizeof(out[w]));
		cm_strlcpy(out[w].category, tests[t].category, sizeof(out[w].category));
		cm_strlcpy(out[w].id, tests[t].id, sizeof(out[w].id));
		cm_strlcpy(out[w].title, tests[t].title, sizeof(out[w].title));
		out[w].status = VL_PASS;
		tests[t].run(&x, &c);
		finish(&c);
		w++;
	}
	return w;
}

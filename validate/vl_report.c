/* vl_report.c - clusval's report: the terminal summary, one self-contained
 * HTML file and JSON, from the results and every node's facts.
 *
 * Pure: writes into string buffers only (the caller writes files and the
 * terminal); libc and common/ only. The HTML has inline CSS, no scripts and
 * no external assets, so it reads the same in any browser and mails as one
 * attachment. Every string that came from a node is HTML-escaped, and the
 * password of an iSCSI URL (iscsi://user%password@host/...) never reaches
 * a report.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_json.h"
#include "vl_report.h"

#define ANSI_RESET "\033[0m"

static const char *status_tag(enum vl_status s)
{
	switch (s) {
	case VL_PASS: return "PASS";
	case VL_WARN: return "WARN";
	case VL_FAIL: return "FAIL";
	default: return "SKIP";
	}
}

static const char *status_ansi(enum vl_status s)
{
	switch (s) {
	case VL_PASS: return "\033[32m";
	case VL_WARN: return "\033[33m";
	case VL_FAIL: return "\033[1;31m";
	default: return "\033[2m";
	}
}

static const char *status_class(enum vl_status s)
{
	switch (s) {
	case VL_PASS: return "pass";
	case VL_WARN: return "warn";
	case VL_FAIL: return "fail";
	default: return "skip";
	}
}

/* Like vl_status_str, but total: a corrupt status never yields NULL. */
static const char *status_word(enum vl_status s)
{
	switch (s) {
	case VL_PASS: return "Pass";
	case VL_WARN: return "Warning";
	case VL_FAIL: return "Fail";
	default: return "Skipped";
	}
}

struct counts {
	size_t pass, warn, fail, skip;
};

static struct counts count_results(const struct vl_result *r, size_t n)
{
	struct counts c = { 0, 0, 0, 0 };

	for (size_t i = 0; i < n; i++) {
		switch (r[i].status) {
		case VL_PASS: c.pass++; break;
		case VL_WARN: c.warn++; break;
		case VL_FAIL: c.fail++; break;
		default: c.skip++; break;
		}
	}
	return c;
}

static enum vl_status overall(const struct counts *c)
{
	if (c->fail)
		return VL_FAIL;
	if (c->warn)
		return VL_WARN;
	return VL_PASS;
}

/* Categories in the order of their first result (vl_run_checks' fixed
 * order); the results of one category are then printed together even if
 * a caller interleaved them. Returns how many distinct categories. */
static size_t category_order(const struct vl_result *r, size_t n, size_t *first)
{
	size_t nc = 0;

	for (size_t i = 0; i < n; i++) {
		size_t j;

		for (j = 0; j < nc; j++)
			if (strcmp(r[first[j]].category, r[i].category) == 0)
				break;
		if (j == nc)
			first[nc++] = i;
	}
	return nc;
}

/* Copy url into out with the password of "user%password@" replaced. */
static void url_redact(const char *url, char *out, size_t outlen)
{
	const char *scheme = strstr(url, "://");
	const char *auth = scheme ? scheme + 3 : url;
	const char *at = strchr(auth, '@');
	const char *slash = strchr(auth, '/');
	const char *pct;

	cm_strlcpy(out, url, outlen);
	if (at == NULL || (slash && slash < at))
		return;
	pct = memchr(auth, '%', (size_t)(at - auth));
	if (pct == NULL)
		return;
	if ((size_t)(pct - url) + 1 < outlen) {
		out[pct - url + 1] = '\0';
		/* strlcat by hand: cm_str has no cat */
		size_t used = strlen(out);
		cm_strlcpy(out + used, "***", outlen - used);
		used = strlen(out);
		cm_strlcpy(out + used, at, outlen - used);
	}
}

static void fmt_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		cm_strlcpy(buf, "unknown", len);
}

static void fmt_kib(uint64_t kib, char *buf, size_t len)
{
	struct cm_sb sb;

	cm_sb_init(&sb);
	if (kib == 0)
		cm_sb_puts(&sb, "unknown");
	else if (kib >= 1024ULL * 1024)
		cm_sb_printf(&sb, "%.1f GiB", (double)kib / (1024.0 * 1024.0));
	else
		cm_sb_printf(&sb, "%" PRIu64 " MiB", kib / 1024);
	cm_strlcpy(buf, cm_sb_str(&sb), len);
	cm_sb_free(&sb);
}

static void fmt_bytes(uint64_t b, char *buf, size_t len)
{
	if (b == 0) {
		cm_strlcpy(buf, "unknown", len);
		return;
	}
	struct cm_sb sb;

	cm_sb_init(&sb);
	if (b >= 1024ULL * 1024 * 1024)
		cm_sb_printf(&sb, "%.2f GiB (%" PRIu64 " bytes)", (double)b / (1024.0 * 1024.0 * 1024.0), b);
	else
		cm_sb_printf(&sb, "%.1f MiB (%" PRIu64 " bytes)", (double)b / (1024.0 * 1024.0), b);
	cm_strlcpy(buf, cm_sb_str(&sb), len);
	cm_sb_free(&sb);
}

/* ---------- text ---------- */

void vl_report_text(const struct vl_run_info *ri, const struct vl_result *r, size_t n, struct cm_sb *out)
{
	size_t *first = n ? calloc(n, sizeof(*first)) : NULL;
	size_t nc = first ? category_order(r, n, first) : 0;
	struct counts c = count_results(r, n);
	enum vl_status all = overall(&c);
	bool color = ri && ri->color;

	if (ri && ri->title)
		cm_sb_printf(out, "%s\n", ri->title);
	/* without memory for the order: one group, in the given order */
	for (size_t k = 0; k < (first ? nc : 1); k++) {
		const char *cat = first ? r[first[k]].category : NULL;

		if (k > 0 || (ri && ri->title))
			cm_sb_putc(out, '\n');
		for (size_t i = 0; i < n; i++) {
			if (cat && strcmp(r[i].category, cat) != 0)
				continue;
			if (color)
				cm_sb_printf(out, "%s%s%s", status_ansi(r[i].status), status_tag(r[i].status), ANSI_RESET);
			else
				cm_sb_puts(out, status_tag(r[i].status));
			cm_sb_printf(out, "  %s/%s  %s\n", r[i].category, r[i].id, r[i].reason);
		}
	}
	if (n)
		cm_sb_putc(out, '\n');
	cm_sb_printf(out, "%zu test%s: %zu passed, %zu warning%s, %zu failed, %zu skipped; result: ",
		     n, n == 1 ? "" : "s", c.pass, c.warn, c.warn == 1 ? "" : "s", c.fail, c.skip);
	if (color)
		cm_sb_printf(out, "%s%s%s\n", status_ansi(all), status_word(all), ANSI_RESET);
	else
		cm_sb_printf(out, "%s\n", status_word(all));
	free(first);
}

/* ---------- HTML ---------- */

static void html_esc(struct cm_sb *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': cm_sb_puts(out, "&amp;"); break;
		case '<': cm_sb_puts(out, "&lt;"); break;
		case '>': cm_sb_puts(out, "&gt;"); break;
		case '"': cm_sb_puts(out, "&quot;"); break;
		case '\'': cm_sb_puts(out, "&#39;"); break;
		default:
			/* control characters would only garble the page */
			if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
				cm_sb_putc(out, '?');
			else
				cm_sb_putc(out, *s);
		}
	}
}

/* An anchor id: category-id with anything but [A-Za-z0-9-] made '-'. */
static void html_anchor(struct cm_sb *out, const struct vl_result *r)
{
	const char *parts[2] = { r->category, r->id };

	cm_sb_puts(out, "t-");
	for (int k = 0; k < 2; k++) {
		if (k)
			cm_sb_putc(out, '-');
		for (const char *s = parts[k]; *s; s++) {
			char ch = *s;
			bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
				  ch == '-';
			cm_sb_putc(out, ok ? ch : '-');
		}
	}
}

static void html_badge(struct cm_sb *out, enum vl_status s)
{
	cm_sb_printf(out, "<span class=\"st %s\">%s</span>", status_class(s), status_word(s));
}

static const char html_css[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
	"margin:1.5em auto;max-width:72em;padding:0 1em;color:#222;background:#fff;line-height:1.4}\n"
	"h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:2em}\n"
	"h3{margin:1.4em 0 .3em}h4{margin:1em 0 .3em}\n"
	"table{border-collapse:collapse;margin:.4em 0 1em}th,td{border:1px solid #ccc;padding:.25em .6em;"
	"text-align:left;vertical-align:top}\n"
	"th{background:#f0f0f0}tr:nth-child(even) td{background:#fafafa}\n"
	"table.kv th{white-space:nowrap}\n"
	"code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;word-break:break-all}\n"
	".st{display:inline-block;min-width:5.5em;text-align:center;border-radius:3px;padding:0 .4em;"
	"font-weight:bold;color:#fff}\n"
	".pass{background:#2e7d32}.warn{background:#e6a100;color:#222}.fail{background:#c62828}.skip{background:#9e9e9e}\n"
	"td.diff{background:#fff3cd!important}\n"
	".fix{margin:.3em 0;padding:.3em .6em;border-left:4px solid #e6a100;background:#fffbe6}\n"
	".err{color:#c62828;font-weight:bold}.muted{color:#777}\n"
	"a{color:#1565c0}\n"
	"@media print{a{color:inherit;text-decoration:none}}\n";

static void html_run_info(const struct vl_run_info *ri, const struct counts *c, struct cm_sb *out)
{
	char t0[64], t1[64];

	fmt_time(ri ? ri->started_ms : 0, t0, sizeof(t0));
	fmt_time(ri ? ri->ended_ms : 0, t1, sizeof(t1));
	cm_sb_puts(out, "<table class=\"kv\">\n<tr><th>Result</th><td>");
	html_badge(out, overall(c));
	cm_sb_printf(out, " %zu passed, %zu warnings, %zu failed, %zu skipped</td></tr>\n", c->pass, c->warn,
		     c->fail, c->skip);
	cm_sb_puts(out, "<tr><th>Nodes</th><td>");
	for (size_t i = 0; ri && i < ri->nnodes; i++) {
		if (i)
			cm_sb_puts(out, ", ");
		html_esc(out, ri->nodes[i]);
	}
	cm_sb_puts(out, "</td></tr>\n<tr><th>Started</th><td>");
	html_esc(out, t0);
	cm_sb_puts(out, "</td></tr>\n<tr><th>Ended</th><td>");
	html_esc(out, t1);
	if (ri && ri->started_ms > 0 && ri->ended_ms >= ri->started_ms)
		cm_sb_printf(out, " (%.1f s)", (double)(ri->ended_ms - ri->started_ms) / 1000.0);
	cm_sb_puts(out, "</td></tr>\n<tr><th>clusval</th><td>");
	html_esc(out, ri && ri->version ? ri->version : "unknown");
	cm_sb_puts(out, "</td></tr>\n</table>\n");
}

static void html_summary(const struct vl_result *r, size_t n, const size_t *first, size_t nc, struct cm_sb *out)
{
	cm_sb_puts(out, "<h2 id=\"summary\">Summary</h2>\n<table>\n"
			"<tr><th>Category</th><th>Test</th><th>Status</th><th>Reason</th></tr>\n");
	for (size_t k = 0; k < nc; k++) {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(r[i].category, r[first[k]].category) != 0)
				continue;
			cm_sb_puts(out, "<tr><td>");
			html_esc(out, r[i].category);
			cm_sb_puts(out, "</td><td><a href=\"#");
			html_anchor(out, &r[i]);
			cm_sb_puts(out, "\">");
			html_esc(out, r[i].title[0] ? r[i].title : r[i].id);
			cm_sb_puts(out, "</a></td><td>");
			html_badge(out, r[i].status);
			cm_sb_puts(out, "</td><td>");
			html_esc(out, r[i].reason);
			cm_sb_puts(out, "</td></tr>\n");
		}
	}
	cm_sb_puts(out, "</table>\n");
}

static void html_tests(const struct vl_result *r, size_t n, const size_t *first, size_t nc, struct cm_sb *out)
{
	cm_sb_puts(out, "<h2 id=\"tests\">Tests</h2>\n");
	for (size_t k = 0; k < nc; k++) {
		cm_sb_puts(out, "<h3 class=\"cat\">");
		html_esc(out, r[first[k]].category);
		cm_sb_puts(out, "</h3>\n");
		for (size_t i = 0; i < n; i++) {
			const struct vl_result *t = &r[i];

			if (strcmp(t->category, r[first[k]].category) != 0)
				continue;
			cm_sb_puts(out, "<h4 id=\"");
			html_anchor(out, t);
			cm_sb_puts(out, "\">");
			html_badge(out, t->status);
			cm_sb_puts(out, " ");
			html_esc(out, t->title[0] ? t->title : t->id);
			cm_sb_puts(out, " <span class=\"muted mono\">");
			html_esc(out, t->category);
			cm_sb_putc(out, '/');
			html_esc(out, t->id);
			cm_sb_puts(out, "</span></h4>\n<p>");
			html_esc(out, t->reason);
			cm_sb_puts(out, "</p>\n");
			if (t->fix[0] && t->status != VL_PASS) {
				cm_sb_puts(out, "<p class=\"fix\"><b>Fix:</b> ");
				html_esc(out, t->fix);
				cm_sb_puts(out, "</p>\n");
			}
			if (t->n_details) {
				size_t nd = t->n_details < VL_MAX_DETAILS ? t->n_details : VL_MAX_DETAILS;

				cm_sb_puts(out, "<table>\n<tr><th>Node</th><th>Details</th></tr>\n");
				for (size_t d = 0; d < nd; d++) {
					cm_sb_puts(out, "<tr><td>");
					if (t->details[d].node[0])
						html_esc(out, t->details[d].node);
					else
						cm_sb_puts(out, "<span class=\"muted\">(cluster)</span>");
					cm_sb_puts(out, "</td><td>");
					html_esc(out, t->details[d].text);
					cm_sb_puts(out, "</td></tr>\n");
				}
				cm_sb_puts(out, "</table>\n");
			}
		}
	}
}

static const char *yesno(bool b)
{
	return b ? "yes" : "no";
}

static void join_list(char *buf, size_t len, const void *arr, size_t stride, size_t n)
{
	struct cm_sb sb;

	cm_sb_init(&sb);
	for (size_t i = 0; i < n; i++) {
		if (i)
			cm_sb_puts(&sb, " ");
		cm_sb_puts(&sb, (const char *)arr + i * stride);
	}
	cm_strlcpy(buf, n ? cm_sb_str(&sb) : "none", len);
	cm_sb_free(&sb);
}

/* One inventory row: the attribute for every node. 'compare' marks the
 * cells that differ from the first answering node (they must be equal). */
enum { ROW_BUF = 2048 };

typedef void (*row_fn)(const struct vl_facts *f, char *buf, size_t len);

#define ROW_STR(name, field)                                                            \
	static void name(const struct vl_facts *f, char *buf, size_t len)              \
	{                                                                               \
		cm_strlcpy(buf, f->field[0] ? f->field : "unknown", len);               \
	}
ROW_STR(row_hostname, hostname)
ROW_STR(row_version, probe_version)
ROW_STR(row_arch, arch)
ROW_STR(row_vendor, cpu_vendor)
ROW_STR(row_model, cpu_model)
ROW_STR(row_kernel, kernel)
ROW_STR(row_corosync, ver_corosync)
ROW_STR(row_libqb, ver_libqb)
ROW_STR(row_libvirt, ver_libvirt)
ROW_STR(row_qemu, ver_qemu)
ROW_STR(row_clusterd, ver_clusterd)
#undef ROW_STR

static void row_conf(const struct vl_facts *f, char *buf, size_t len)
{
	cm_strlcpy(buf, f->corosync_conf_hash[0] ? f->corosync_conf_hash : "missing", len);
}
static void row_authkey(const struct vl_facts *f, char *buf, size_t len)
{
	cm_strlcpy(buf, f->authkey_hash[0] ? f->authkey_hash : "missing", len);
}
static void row_time(const struct vl_facts *f, char *buf, size_t len)
{
	fmt_time(f->time_ms, buf, len);
}
static void row_64(const struct vl_facts *f, char *buf, size_t len)
{
	cm_strlcpy(buf, yesno(f->cpu_64bit), len);
}
static void row_virt(const struct vl_facts *f, char *buf, size_t len)
{
	cm_strlcpy(buf, yesno(f->virt_ext), len);
}
static void row_kvm(const struct vl_facts *f, char *buf, size_t len)
{
	struct cm_sb sb;

	cm_sb_init(&sb);
	cm_sb_puts(&sb, yesno(f->kvm_usable));
	if (f->kvm_detail[0])
		cm_sb_printf(&sb, " (%s)", f->kvm_detail);
	cm_strlcpy(buf, cm_sb_str(&sb), len);
	cm_sb_free(&sb);
}
static void row_cpus(const struct vl_facts *f, char *buf, size_t len)
{
	struct cm_sb sb;

	cm_sb_init(&sb);
	if (f->cpus)
		cm_sb_printf(&sb, "%u", f->cpus);
	else
		cm_sb_puts(&sb, "unknown");
	cm_strlcpy(buf, cm_sb_str(&sb), len);
	cm_sb_free(&sb);
}
static void row_flags(const struct vl_facts *f, char *buf, size_t len)
{
	join_list(buf, len, f->cpu_flags, sizeof(f->cpu_flags[0]), f->n_cpu_flags);
}
static void row_mem(const struct vl_facts *f, char *buf, size_t len)
{
	fmt_kib(f->mem_total_kib, buf, len);
}
static void row_memavail(const struct vl_facts *f, char *buf, size_t len)
{
	fmt_kib(f->mem_avail_kib, buf, len);
}
static void row_services(const struct vl_facts *f, char *buf, size_t len)
{
	struct cm_sb sb;

	cm_sb_init(&sb);
	cm_sb_printf(&sb, "corosync %s, libvirtd %s, clusterd %s", f->svc_corosync ? "running" : "stopped",
		     f->svc_libvirtd ? "running" : "stopped", f->svc_clusterd ? "running" : "stopped");
	cm_strlcpy(buf, cm_sb_str(&sb), len);
	cm_sb_free(&sb);
}
static void row_networks(const struct vl_facts *f, char *buf, size_t len)
{
	join_list(buf, len, f->networks, sizeof(f->networks[0]), f->n_networks);
}
static void row_bridges(const struct vl_facts *f, char *buf, size_t len)
{
	join_list(buf, len, f->bridges, sizeof(f->bridges[0]), f->n_bridges);
}

static const struct inv_row {
	const char *label;
	row_fn fn;
	bool compare;
	bool mono;
} inv_rows[] = {
	{ "Hostname", row_hostname, false, false },
	{ "clusval on the node", row_version, true, false },
	{ "Clock at probe", row_time, false, false },
	{ "Architecture", row_arch, true, false },
	{ "64-bit CPU", row_64, true, false },
	{ "CPU vendor", row_vendor, true, false },
	{ "CPU model", row_model, false, false },
	{ "CPU flags (migration)", row_flags, true, true },
	{ "Virtualization extensions", row_virt, true, false },
	{ "KVM usable", row_kvm, false, false },
	{ "CPUs", row_cpus, false, false },
	{ "Memory", row_mem, false, false },
	{ "Memory available", row_memavail, false, false },
	{ "Kernel", row_kernel, true, false },
	{ "corosync", row_corosync, true, false },
	{ "libqb", row_libqb, true, false },
	{ "libvirt", row_libvirt, true, false },
	{ "QEMU", row_qemu, true, false },
	{ "clusterd", row_clusterd, true, false },
	{ "corosync.conf (FNV-64)", row_conf, true, true },
	{ "authkey (FNV-64)", row_authkey, true, true },
	{ "Services", row_services, false, false },
	{ "libvirt networks", row_networks, true, false },
	{ "Bridges", row_bridges, true, false },
};

static void html_inventory(const struct vl_facts *facts, size_t nfacts, struct cm_sb *out)
{
	char *cell = malloc(ROW_BUF), *ref = malloc(ROW_BUF);
	const struct vl_facts *base = NULL;

	if (cell == NULL || ref == NULL) {
		free(cell);
		free(ref);
		return;
	}
	for (size_t i = 0; i < nfacts && base == NULL; i++)
		if (facts[i].ok)
			base = &facts[i];
	cm_sb_puts(out, "<h3 id=\"inventory\">Inventory</h3>\n<p class=\"muted\">Highlighted cells differ from the "
			"first node that answered.</p>\n<table>\n<tr><th></th>");
	for (size_t i = 0; i < nfacts; i++) {
		cm_sb_puts(out, "<th>");
		html_esc(out, facts[i].node);
		cm_sb_puts(out, "</th>");
	}
	cm_sb_puts(out, "</tr>\n<tr><th>Probe</th>");
	for (size_t i = 0; i < nfacts; i++) {
		if (facts[i].ok) {
			cm_sb_puts(out, "<td>answered</td>");
		} else {
			cm_sb_puts(out, "<td class=\"err\">");
			html_esc(out, facts[i].error[0] ? facts[i].error : "no answer");
			cm_sb_puts(out, "</td>");
		}
	}
	cm_sb_puts(out, "</tr>\n");
	for (size_t k = 0; k < sizeof(inv_rows) / sizeof(inv_rows[0]); k++) {
		const struct inv_row *row = &inv_rows[k];

		if (base)
			row->fn(base, ref, ROW_BUF);
		cm_sb_printf(out, "<tr><th>%s</th>", row->label);
		for (size_t i = 0; i < nfacts; i++) {
			if (!facts[i].ok) {
				cm_sb_puts(out, "<td class=\"muted\">-</td>");
				continue;
			}
			row->fn(&facts[i], cell, ROW_BUF);
			bool diff = row->compare && base && strcmp(cell, ref) != 0;
			cm_sb_printf(out, "<td%s%s%s>", diff || row->mono ? " class=\"" : "",
				     diff ? (row->mono ? "diff mono" : "diff") : (row->mono ? "mono" : ""),
				     diff || row->mono ? "\"" : "");
			html_esc(out, cell);
			cm_sb_puts(out, "</td>");
		}
		cm_sb_puts(out, "</tr>\n");
	}
	cm_sb_puts(out, "</table>\n");
	free(cell);
	free(ref);
}

static void html_node(const struct vl_facts *f, struct cm_sb *out)
{
	cm_sb_puts(out, "<h3>Node ");
	html_esc(out, f->node);
	cm_sb_puts(out, "</h3>\n");
	if (!f->ok) {
		cm_sb_puts(out, "<p class=\"err\">The probe did not answer: ");
		html_esc(out, f->error[0] ? f->error : "no reason given");
		cm_sb_puts(out, "</p>\n");
		return;
	}

	cm_sb_puts(out, "<h4>Interfaces</h4>\n");
	if (f->n_ifaces == 0) {
		cm_sb_puts(out, "<p class=\"muted\">none found</p>\n");
	} else {
		cm_sb_puts(out, "<table>\n<tr><th>Interface</th><th>Address</th><th>MTU</th><th>State</th></tr>\n");
		for (size_t i = 0; i < f->n_ifaces && i < VL_MAX_LIST; i++) {
			const struct vl_iface *ifc = &f->ifaces[i];

			cm_sb_puts(out, "<tr><td>");
			html_esc(out, ifc->name);
			cm_sb_puts(out, "</td><td class=\"mono\">");
			html_esc(out, ifc->addr[0] ? ifc->addr : "-");
			cm_sb_printf(out, "</td><td>%u</td><td>%s</td></tr>\n", ifc->mtu, ifc->up ? "up" : "down");
		}
		cm_sb_puts(out, "</table>\n");
	}

	cm_sb_puts(out, "<h4>Peers</h4>\n");
	if (f->n_peers == 0) {
		cm_sb_puts(out, "<p class=\"muted\">none known (no readable corosync.conf and no --peer)</p>\n");
	} else {
		cm_sb_puts(out, "<table>\n<tr><th>Peer</th><th>Link</th><th>Address</th><th>Reachable</th>"
				"<th>Round trip</th><th>Path MTU</th><th>Migration port</th><th>Details</th></tr>\n");
		for (size_t i = 0; i < f->n_peers && i < VL_MAX_LIST; i++) {
			const struct vl_peer *p = &f->peers[i];

			cm_sb_puts(out, "<tr><td>");
			html_esc(out, p->node);
			cm_sb_printf(out, "</td><td>%d</td><td class=\"mono\">", p->link);
			html_esc(out, p->addr);
			cm_sb_printf(out, "</td><td%s>%s</td><td>", p->reachable ? "" : " class=\"err\"",
				     yesno(p->reachable));
			if (p->rtt_us >= 0)
				cm_sb_printf(out, "%.3f ms", (double)p->rtt_us / 1000.0);
			else
				cm_sb_puts(out, "unknown");
			cm_sb_puts(out, "</td><td>");
			if (p->path_mtu)
				cm_sb_printf(out, "%u", p->path_mtu);
			else
				cm_sb_puts(out, "unknown");
			cm_sb_printf(out, "</td><td>%s</td><td>", p->migration_port ? "open" : "closed");
			html_esc(out, p->detail);
			cm_sb_puts(out, "</td></tr>\n");
		}
		cm_sb_puts(out, "</table>\n");
	}

	cm_sb_puts(out, "<h4>LUNs</h4>\n");
	if (f->n_luns == 0) {
		cm_sb_puts(out, "<p class=\"muted\">none asked about (--lun ROLE=URL)</p>\n");
		return;
	}
	cm_sb_puts(out, "<table>\n<tr><th>Role</th><th>URL</th><th>Visible</th><th>Vendor / product</th>"
			"<th>Identity</th><th>Size</th><th>PR</th><th>Details</th></tr>\n");
	for (size_t i = 0; i < f->n_luns && i < sizeof(f->luns) / sizeof(f->luns[0]); i++) {
		const struct vl_lun *l = &f->luns[i];
		char url[sizeof(l->url)], size[96];

		url_redact(l->url, url, sizeof(url));
		fmt_bytes(l->bytes, size, sizeof(size));
		cm_sb_puts(out, "<tr><td>");
		html_esc(out, l->role);
		cm_sb_puts(out, "</td><td class=\"mono\">");
		html_esc(out, url);
		cm_sb_printf(out, "</td><td%s>%s</td><td>", l->visible ? "" : " class=\"err\"", yesno(l->visible));
		html_esc(out, l->vendor);
		cm_sb_puts(out, " ");
		html_esc(out, l->product);
		cm_sb_puts(out, "</td><td class=\"mono\">");
		html_esc(out, l->identity[0] ? l->identity : "unknown");
		cm_sb_puts(out, "</td><td>");
		html_esc(out, size);
		cm_sb_printf(out, "</td><td>capabilities %s", yesno(l->pr_caps));
		if (l->in_use)
			cm_sb_puts(out, "; in use by a cluster: not tested");
		else if (l->pr_tested)
			cm_sb_printf(out, "; register/reserve/preempt/release %s", l->pr_ok ? "worked" : "FAILED");
		cm_sb_puts(out, "</td><td>");
		html_esc(out, l->detail);
		cm_sb_puts(out, "</td></tr>\n");
	}
	cm_sb_puts(out, "</table>\n");
}

void vl_report_html(const struct vl_run_info *ri, const struct vl_result *r, size_t n,
		    const struct vl_facts *facts, size_t nfacts, struct cm_sb *out)
{
	size_t *first = n ? calloc(n, sizeof(*first)) : NULL;
	size_t nc = first ? category_order(r, n, first) : 0;
	struct counts c = count_results(r, n);
	const char *title = ri && ri->title ? ri->title : "Cluster validation";

	cm_sb_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>clusval: ");
	html_esc(out, title);
	cm_sb_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", html_css);
	html_esc(out, title);
	cm_sb_puts(out, "</h1>\n");
	html_run_info(ri, &c, out);
	cm_sb_puts(out, "<p><a href=\"#summary\">Summary</a> &middot; <a href=\"#tests\">Tests</a> &middot; "
			"<a href=\"#facts\">Facts per node</a></p>\n");
	if (n && first == NULL) {
		cm_sb_puts(out, "<p class=\"err\">out of memory while writing the report</p>\n");
	} else {
		html_summary(r, n, first, nc, out);
		html_tests(r, n, first, nc, out);
	}
	cm_sb_puts(out, "<h2 id=\"facts\">Facts per node</h2>\n");
	html_inventory(facts, nfacts, out);
	for (size_t i = 0; i < nfacts; i++)
		html_node(&facts[i], out);
	cm_sb_puts(out, "<p class=\"muted\">Written by clusval ");
	html_esc(out, ri && ri->version ? ri->version : "");
	cm_sb_puts(out, ".</p>\n</body>\n</html>\n");
	free(first);
}

/* ---------- JSON ---------- */

void vl_report_json(const struct vl_run_info *ri, const struct vl_result *r, size_t n,
		    const struct vl_facts *facts, size_t nfacts, struct cm_sb *out)
{
	struct counts c = count_results(r, n);
	struct vl_facts *copy = malloc(sizeof(*copy));
	struct cm_jw w;

	cm_jw_init(&w, out);
	cm_jw_obj_begin(&w);
	cm_jw_kv_str(&w, "title", ri && ri->title ? ri->title : "");
	cm_jw_kv_str(&w, "version", ri && ri->version ? ri->version : "");
	cm_jw_kv_int(&w, "started_ms", ri ? ri->started_ms : 0);
	cm_jw_kv_int(&w, "ended_ms", ri ? ri->ended_ms : 0);
	cm_jw_key(&w, "nodes");
	cm_jw_arr_begin(&w);
	for (size_t i = 0; ri && i < ri->nnodes; i++)
		cm_jw_str(&w, ri->nodes[i]);
	cm_jw_arr_end(&w);
	cm_jw_kv_str(&w, "result", status_word(overall(&c)));
	cm_jw_key(&w, "counts");
	cm_jw_obj_begin(&w);
	cm_jw_kv_int(&w, "pass", (int64_t)c.pass);
	cm_jw_kv_int(&w, "warning", (int64_t)c.warn);
	cm_jw_kv_int(&w, "fail", (int64_t)c.fail);
	cm_jw_kv_int(&w, "skipped", (int64_t)c.skip);
	cm_jw_obj_end(&w);

	cm_jw_key(&w, "results");
	cm_jw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		const struct vl_result *t = &r[i];
		size_t nd = t->n_details < VL_MAX_DETAILS ? t->n_details : VL_MAX_DETAILS;

		cm_jw_obj_begin(&w);
		cm_jw_kv_str(&w, "category", t->category);
		cm_jw_kv_str(&w, "id", t->id);
		cm_jw_kv_str(&w, "title", t->title);
		cm_jw_kv_str(&w, "status", status_word(t->status));
		cm_jw_kv_str(&w, "reason", t->reason);
		cm_jw_kv_str(&w, "fix", t->fix);
		cm_jw_key(&w, "details");
		cm_jw_arr_begin(&w);
		for (size_t d = 0; d < nd; d++) {
			cm_jw_obj_begin(&w);
			cm_jw_kv_str(&w, "node", t->details[d].node);
			cm_jw_kv_str(&w, "text", t->details[d].text);
			cm_jw_obj_end(&w);
		}
		cm_jw_arr_end(&w);
		cm_jw_obj_end(&w);
	}
	cm_jw_arr_end(&w);

	cm_jw_key(&w, "facts");
	cm_jw_arr_begin(&w);
	for (size_t i = 0; i < nfacts; i++) {
		if (copy == NULL) {     /* no memory for the redacted copy: leave the node out rather than leak */
			cm_jw_null(&w);
			continue;
		}
		*copy = facts[i];
		for (size_t k = 0; k < copy->n_luns && k < sizeof(copy->luns) / sizeof(copy->luns[0]); k++)
			url_redact(facts[i].luns[k].url, copy->luns[k].url, sizeof(copy->luns[k].url));
		vl_facts_to_json(copy, &w);
	}
	cm_jw_arr_end(&w);
	cm_jw_obj_end(&w);
	cm_sb_putc(out, '\n');
	free(copy);
}

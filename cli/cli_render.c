/* cli_render.c - human-readable views of clusterd's JSON answers. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void cli_format_time(long long ms, char *buf, int len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL) {
		snprintf(buf, (size_t)len, "-");
		return;
	}
	strftime(buf, (size_t)len, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *s(const struct cm_jv *v, const char *key)
{
	return cm_jv_get_str(v, key, "");
}

static void nodes_table(const struct cm_jv *nodes)
{
	size_t i;

	printf("  %-16s %4s  %-8s %-18s %s\n", "NAME", "ID", "STATE", "ADDRESS", "SINCE");
	for (i = 0; nodes && i < nodes->nkids; i++) {
		const struct cm_jv *n = &nodes->kids[i];
		char since[32];

		cli_format_time(cm_jv_get_int(n, "since_ms", 0), since, sizeof(since));
		printf("  %-16s %4lld  %-8s %-18s %s%s\n", s(n, "name"), (long long)cm_jv_get_int(n, "id", 0),
		       s(n, "state"), s(n, "addr"), since, cm_jv_get_bool(n, "local", false) ? "  (this node)" : "");
	}
}

static void quorum_line(const struct cm_jv *q)
{
	const struct cm_jv *w = cm_jv_get(q, "witness");

	printf("Quorum:    %s (%lld of %lld votes, %lld needed; %s)%s\n",
	       cm_jv_get_bool(q, "quorate", false) ? "yes" : "NO - configuration is read-only",
	       (long long)cm_jv_get_int(q, "votes", 0), (long long)cm_jv_get_int(q, "expected_votes", 0),
	       (long long)cm_jv_get_int(q, "quorum", 0), s(q, "mode"),
	       cm_jv_get_bool(q, "paused_recently", false) ? " - distrusted after a pause" : "");
	if (w) {
		const char *h = s(w, "holder_name");
		bool ok = cm_jv_get_bool(w, "lun_ok", false);

		if (!ok)
			printf("Witness:   %s, NOT reachable from this node\n", s(w, "url"));
		else
			printf("Witness:   %s, held by %s%s\n", s(w, "url"), h[0] ? h : "nobody",
			       cm_jv_get_bool(w, "casting", false) ? " (its vote counts here)" : "");
		if (s(w, "error")[0])
			printf("           %s\n", s(w, "error"));
	}
}

static void cluster_lines(const struct cm_jv *v)
{
	const struct cm_jv *c = cm_jv_get(v, "cluster"), *l = cm_jv_get(v, "local_node");
	const struct cm_jv *d = cm_jv_get(v, "database");
	long long token = cm_jv_get_int(c, "token_ms", 0);

	printf("Cluster:   %s%s%s\n", s(c, "name")[0] ? s(c, "name") : "(none yet)",
	       s(c, "description")[0] ? " - " : "", s(c, "description"));
	quorum_line(cm_jv_get(v, "quorum"));
	printf("Heartbeat: token %lld ms (a silent node is declared down after about %.1f s)\n",
	       token, 2.2 * (double)token / 1000.0);
	printf("Fencing:   %s\n", strcmp(s(c, "fencing"), "off") == 0 ? "OFF (unsafe)" : "on");
	printf("Database:  epoch %lld, sequence %lld, %s\n", (long long)cm_jv_get_int(d, "epoch", 0),
	       (long long)cm_jv_get_int(d, "seq", 0), s(d, "sync"));
	printf("This node: %s (id %lld)%s\n", s(l, "name"), (long long)cm_jv_get_int(l, "id", 0),
	       cm_jv_get_bool(l, "corosync", false) ? "" : " - NOT connected to corosync");
}

void cli_render_status(const struct cm_jv *v)
{
	const struct cm_jv *nodes = cm_jv_get(v, "nodes"), *groups = cm_jv_get(v, "groups");
	size_t i, up = 0;

	cluster_lines(v);
	for (i = 0; nodes && i < nodes->nkids; i++)
		up += strcmp(s(&nodes->kids[i], "state"), "Up") == 0;
	printf("\nNodes: %zu of %zu up\n", up, nodes ? nodes->nkids : 0);
	nodes_table(nodes);
	printf("\nGroups: %s\n", groups && groups->nkids ? "" : "none");
}

void cli_render_nodes(const struct cm_jv *v)
{
	nodes_table(cm_jv_get(v, "nodes"));
}

static void props_table(const struct cm_jv *props)
{
	size_t i;

	printf("  %-20s %-24s %-8s %s\n", "PROPERTY", "VALUE", "TYPE", "");
	for (i = 0; props && i < props->nkids; i++) {
		const struct cm_jv *p = &props->kids[i];

		printf("  %-20s %-24s %-8s %s\n", s(p, "name"), s(p, "value"), s(p, "type"),
		       cm_jv_get_bool(p, "readonly", false) ? "(read-only)" :
		       cm_jv_get_bool(p, "set", false) ? "" : "(default)");
	}
}

void cli_render_node(const struct cm_jv *v)
{
	const struct cm_jv *n = cm_jv_get(v, "node");
	char since[32];

	cli_format_time(cm_jv_get_int(n, "since_ms", 0), since, sizeof(since));
	printf("Node:     %s (id %lld)%s\n", s(n, "name"), (long long)cm_jv_get_int(n, "id", 0),
	       cm_jv_get_bool(n, "local", false) ? " - this node" : "");
	printf("State:    %s since %s\n", s(n, "state"), since);
	printf("Address:  %s\n", s(n, "addr"));
	printf("Paused:   %s\n\n", cm_jv_get_bool(n, "paused", false) ? "yes" : "no");
	props_table(cm_jv_get(v, "properties"));
}

void cli_render_cluster(const struct cm_jv *v)
{
	const struct cm_jv *c = cm_jv_get(v, "cluster");
	char created[32];

	cluster_lines(v);
	cli_format_time(cm_jv_get_int(c, "created_ms", 0), created, sizeof(created));
	printf("UUID:      %s\nCreated:   %s\nToken coefficient: %lld ms per node beyond two\n\n",
	       s(c, "uuid"), created, (long long)cm_jv_get_int(c, "token_coefficient_ms", 0));
	props_table(cm_jv_get(v, "properties"));
}

void cli_render_props(const struct cm_jv *v)
{
	props_table(cm_jv_get(v, "properties"));
}

void cli_render_prop(const struct cm_jv *v)
{
	printf("%s\n", s(v, "value"));
}

void cli_render_events(const struct cm_jv *v)
{
	const struct cm_jv *ev = cm_jv_get(v, "events");
	size_t i;

	for (i = 0; ev && i < ev->nkids; i++) {
		const struct cm_jv *e = &ev->kids[i];
		char when[32];

		cli_format_time(cm_jv_get_int(e, "time_ms", 0), when, sizeof(when));
		printf("%s.%03lld %-6s %-7s %-10s %s\n", when, (long long)(cm_jv_get_int(e, "time_ms", 0) % 1000),
		       s(e, "node"), s(e, "severity"), s(e, "kind"), s(e, "text"));
	}
	fflush(stdout);
}

void cli_render_quorum(const struct cm_jv *v)
{
	const struct cm_jv *q = cm_jv_get(v, "quorum"), *w = cm_jv_get(q, "witness");

	quorum_line(q);
	printf("Corosync:  %s, %lld voting member(s), %lld expected votes\n",
	       cm_jv_get_bool(q, "corosync_quorate", false) ? "quorate" : "not quorate",
	       (long long)cm_jv_get_int(q, "corosync_members", 0),
	       (long long)cm_jv_get_int(q, "corosync_expected_votes", 0));
	if (w)
		printf("Lease:     %lld ms; a silent holder is preempted after %lld ms; %lld rounds, now: %s\n",
		       (long long)cm_jv_get_int(w, "lease_ms", 0), (long long)cm_jv_get_int(w, "preempt_after_ms", 0),
		       (long long)cm_jv_get_int(w, "rounds", 0), s(w, "state"));
}

void cli_render_witness_init(const struct cm_jv *v)
{
	printf("witness initialised on %s: %lld MiB, %lld heartbeat slots, room for a %lld MiB database copy\n",
	       s(v, "url"), (long long)cm_jv_get_int(v, "lun_bytes", 0) >> 20, (long long)cm_jv_get_int(v, "slots", 0),
	       (long long)cm_jv_get_int(v, "copy_capacity_bytes", 0) >> 20);
}

void cli_render_ok(const struct cm_jv *v)
{
	(void)v;
	printf("done\n");
}

/* cli_render.c - human-readable views of clusterd's JSON answers. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The member key that is an array, or NULL: robust against an object that
 * also has a scalar of the same name. */
static const struct cm_jv *arr(const struct cm_jv *v, const char *key)
{
	size_t i;

	for (i = 0; v && v->type == CM_J_OBJ && i < v->nkids; i++)
		if (v->kids[i].type == CM_J_ARR && v->kids[i].key && !strcmp(v->kids[i].key, key))
			return &v->kids[i];
	return NULL;
}

static const char *prop_value(const struct cm_jv *v, const char *name, const char *dflt);

/* Names in a JSON array of strings, "a, b, c", or dflt when empty. */
static void names_list(const struct cm_jv *arr, const char *dflt, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; arr && arr->type == CM_J_ARR && i < arr->nkids && used < len; i++) {
		int k = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 arr->kids[i].type == CM_J_STR ? arr->kids[i].s : "?");

		used += k > 0 ? (size_t)k : 0;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "%s", dflt);
}

/* Fencing state of a node as words, "" when there is nothing to say. */
static const char *fence_words(const char *f)
{
	if (!strcmp(f, "needed"))
		return "to be fenced";
	if (!strcmp(f, "fencing"))
		return "being fenced";
	if (!strcmp(f, "fenced"))
		return "fenced";
	return "";
}

static void nodes_table(const struct cm_jv *nodes)
{
	size_t i;

	printf("  %-16s %4s  %-8s %-18s %s\n", "NAME", "ID", "STATE", "ADDRESS", "SINCE");
	for (i = 0; nodes && i < nodes->nkids; i++) {
		const struct cm_jv *n = &nodes->kids[i];
		const char *fence = fence_words(s(n, "fence_state"));
		char since[32];

		cli_format_time(cm_jv_get_int(n, "since_ms", 0), since, sizeof(since));
		printf("  %-16s %4lld  %-8s %-18s %s%s%s%s%s\n", s(n, "name"), (long long)cm_jv_get_int(n, "id", 0),
		       s(n, "state"), s(n, "addr"), since, cm_jv_get_bool(n, "local", false) ? "  (this node)" : "",
		       cm_jv_get_bool(n, "draining", false) ? "  draining" : "", fence[0] ? "  " : "", fence);
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

/* STATUS carries "fencing" and "fencing_pending" at the top; CLUSTER_SHOW
 * has the property in "cluster". */
static void fencing_line(const struct cm_jv *v, const struct cm_jv *c)
{
	const char *f = cm_jv_get_str(v, "fencing", s(c, "fencing"));
	const struct cm_jv *pending = cm_jv_get(v, "fencing_pending");
	char names[256];

	printf("Fencing:   %s", strcmp(f, "off") == 0 ? "OFF (unsafe)" : "on");
	if (pending && pending->type == CM_J_ARR && pending->nkids) {
		names_list(pending, "", names, sizeof(names));
		printf("; waiting to fence %s before recovering %s groups (see 'cluadmin node show %s')", names,
		       pending->nkids == 1 ? "its" : "their", pending->nkids == 1 ? names : "NODE");
	}
	printf("\n");
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
	fencing_line(v, c);
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
	if (groups && groups->type == CM_J_ARR && groups->nkids) {
		size_t online = 0;

		for (i = 0; i < groups->nkids; i++)
			online += strcmp(s(&groups->kids[i], "state"), "Online") == 0;
		printf("\nGroups: %zu of %zu online\n", online, groups->nkids);
		printf("  %-24s %-14s %s\n", "NAME", "STATE", "OWNER");
		for (i = 0; i < groups->nkids; i++) {
			const struct cm_jv *g = &groups->kids[i];

			printf("  %-24s %-14s %s\n", s(g, "name"), s(g, "state"), s(g, "owner")[0] ? s(g, "owner") : "-");
		}
	} else {
		printf("\nGroups: none\n");
	}
	if (strcmp(cm_jv_get_str(v, "fencing", s(cm_jv_get(v, "cluster"), "fencing")), "off") == 0)
		printf("\nUNSAFE: fencing is off: the groups of a lost node are started elsewhere without\n"
		       "making sure it is off; they may run twice. Turn it on: cluadmin property set fencing on\n");
}

void cli_render_nodes(const struct cm_jv *v)
{
	nodes_table(cm_jv_get(v, "nodes"));
}

static void props_table(const struct cm_jv *props)
{
	size_t i;

	printf("  %-22s %-24s %-8s %s\n", "PROPERTY", "VALUE", "TYPE", "");
	for (i = 0; props && i < props->nkids; i++) {
		const struct cm_jv *p = &props->kids[i];

		printf("  %-22s %-24s %-8s %s\n", s(p, "name"), s(p, "value"), s(p, "type"),
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
	printf("Paused:   %s\n", cm_jv_get_bool(n, "paused", false) ? "yes" : "no");
	if (cm_jv_get(n, "draining"))
		printf("Draining: %s\n", cm_jv_get_bool(n, "draining", false) ? "yes" : "no");
	if (cm_jv_get(n, "fence_state")) {
		const char *f = s(n, "fence_state");

		printf("Fencing:  %s\n", !strcmp(f, "needed") ? "needed: its groups wait until it is fenced or confirmed down" :
		       !strcmp(f, "fencing") ? "the fence agent is running against it" :
		       !strcmp(f, "fenced") ? "fenced (confirmed off)" : "none");
		if (!strcmp(f, "needed") && !prop_value(v, "fence_agent", "")[0])
			printf("          no fence_agent is set: once it is off, run 'cluadmin node confirm-down %s'\n",
			       s(n, "name"));
	}
	if (cm_jv_get(n, "groups") || cm_jv_get(v, "groups")) {
		char names[512];

		names_list(cm_jv_get(n, "groups") ? cm_jv_get(n, "groups") : cm_jv_get(v, "groups"), "none",
			   names, sizeof(names));
		printf("Groups:   %s\n", names);
	}
	printf("\n");
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

/* ---- groups and resources ---- */

/* "Online on n2", "Offline", "Offline (last on n2)" */
static void where(const char *state, const char *node, bool last, char *buf, size_t len)
{
	if (!node[0])
		snprintf(buf, len, "%s", state);
	else if (!strcmp(state, "Offline"))
		snprintf(buf, len, last ? "%s (last on %s)" : "%s", state, node);
	else
		snprintf(buf, len, "%s on %s", state, node);
}

void cli_render_groups(const struct cm_jv *v)
{
	const struct cm_jv *gs = arr(v, "groups");
	size_t i;

	if (!gs || gs->type != CM_J_ARR || gs->nkids == 0) {
		printf("no groups (create one with 'cluadmin group create NAME')\n");
		return;
	}
	printf("  %-24s %-14s %-16s %-13s %4s  %s\n", "NAME", "STATE", "OWNER", "PRIORITY", "RES", "NOTES");
	for (i = 0; i < gs->nkids; i++) {
		const struct cm_jv *g = &gs->kids[i];
		bool moving = cm_jv_get_bool(g, "moving", false);

		printf("  %-24s %-14s %-16s %-13s %4lld  %s%s%s\n", s(g, "name"), s(g, "state"),
		       s(g, "owner")[0] ? s(g, "owner") : "-", s(g, "priority"), (long long)cm_jv_get_int(g, "resources", 0),
		       moving ? "moving" : "", moving && s(g, "reason")[0] ? "; " : "", s(g, "reason"));
	}
}

/* A property's value from the "properties" array of an answer. */
static const char *prop_value(const struct cm_jv *v, const char *name, const char *dflt)
{
	const struct cm_jv *ps = arr(v, "properties");
	size_t i;

	for (i = 0; ps && i < ps->nkids; i++)
		if (!strcmp(s(&ps->kids[i], "name"), name))
			return s(&ps->kids[i], "value");
	return dflt;
}

static void deps_text(const struct cm_jv *r, char *buf, size_t len)
{
	const struct cm_jv *d = arr(r, "depends_on");

	names_list(d, "-", buf, len);
	if (d && d->type == CM_J_ARR && d->nkids > 1 && !strcmp(s(r, "dependency_type"), "or"))
		snprintf(buf + strlen(buf), len - strlen(buf), " (any)");
}

void cli_render_group(const struct cm_jv *v)
{
	const struct cm_jv *rs = arr(v, "resources");
	char buf[512];
	size_t i;

	where(s(v, "state"), s(v, "owner"), true, buf, sizeof(buf));
	printf("Group:     %s\n", s(v, "name"));
	printf("State:     %s%s%s\n", buf, cm_jv_get_bool(v, "moving", false) ? ", moving" : "",
	       cm_jv_get_bool(v, "failed", false) ? " (stays so until 'group online' or 'group move')" : "");
	if (s(v, "reason")[0])
		printf("Reason:    %s\n", s(v, "reason"));
	printf("Wanted:    %s\n", cm_jv_get_bool(v, "want_online", false) ? "online" : "offline");
	names_list(arr(v, "preferred_owners"), "any node", buf, sizeof(buf));
	printf("Preferred: %s\n", buf);
	printf("Priority:  %s\n", s(v, "priority"));
	if (!strcmp(s(v, "failback"), "window"))
		printf("Failback:  window, from %02d:00 to %02d:00\n", atoi(prop_value(v, "failback_window_start", "0")),
		       atoi(prop_value(v, "failback_window_end", "0")));
	else
		printf("Failback:  %s\n", s(v, "failback"));
	printf("Failovers: %lld within the failover period\n\n", (long long)cm_jv_get_int(v, "failovers", 0));
	if (rs && rs->type == CM_J_ARR && rs->nkids) {
		printf("  %-20s %-10s %-15s %-16s %-20s %s\n", "RESOURCE", "TYPE", "STATE", "NODE", "DEPENDS ON", "REASON");
		for (i = 0; i < rs->nkids; i++) {
			const struct cm_jv *r = &rs->kids[i];

			deps_text(r, buf, sizeof(buf));
			printf("  %-20s %-10s %-15s %-16s %-20s %s\n", s(r, "name"), s(r, "type"), s(r, "state"),
			       s(r, "node")[0] ? s(r, "node") : "-", buf, s(r, "reason"));
		}
	} else {
		printf("  no resources (add one with 'cluadmin resource create NAME --group %s --type TYPE')\n", s(v, "name"));
	}
	printf("\n");
	props_table(cm_jv_get(v, "properties"));
}

void cli_render_resources(const struct cm_jv *v)
{
	const struct cm_jv *rs = arr(v, "resources");
	size_t i;

	if (!rs || rs->type != CM_J_ARR || rs->nkids == 0) {
		printf("no resources\n");
		return;
	}
	printf("  %-20s %-20s %-10s %-15s %-16s %s\n", "NAME", "GROUP", "TYPE", "STATE", "NODE", "REASON");
	for (i = 0; i < rs->nkids; i++) {
		const struct cm_jv *r = &rs->kids[i];

		printf("  %-20s %-20s %-10s %-15s %-16s %s\n", s(r, "name"), s(r, "group"), s(r, "type"), s(r, "state"),
		       s(r, "node")[0] ? s(r, "node") : "-", s(r, "reason"));
	}
}

void cli_render_resource(const struct cm_jv *v)
{
	const struct cm_jv *d = arr(v, "depends_on");
	char buf[512];

	where(s(v, "state"), s(v, "node"), true, buf, sizeof(buf));
	printf("Resource:   %s\n", s(v, "name"));
	printf("Group:      %s\n", s(v, "group"));
	printf("Type:       %s\n", s(v, "type"));
	printf("State:      %s\n", buf);
	if (s(v, "reason")[0])
		printf("Reason:     %s\n", s(v, "reason"));
	names_list(d, "nothing", buf, sizeof(buf));
	printf("Depends on: %s%s\n", buf,
	       d && d->type == CM_J_ARR && d->nkids > 1 ?
	       (!strcmp(s(v, "dependency_type"), "or") ? " (any one of them)" : " (all of them)") : "");
	printf("Restarts:   %lld within the restart period\n", (long long)cm_jv_get_int(v, "restarts", 0));
	printf("Generation: %lld\n\n", (long long)cm_jv_get_int(v, "gen", 0));
	props_table(cm_jv_get(v, "properties"));
}

/* cm_prop.c - property schema and validation. Pure: no I/O, no globals
 * other than constant tables. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_prop.h"

static const char *const on_off[] = { "on", "off", NULL };
static const char *const quorum_modes[] = { "node-majority", "node-and-disk-majority", NULL };
static const char *const failbacks[] = { "never", "immediate", "window", NULL };
static const char *const priorities[] = { "high", "medium", "low", "no-auto-start", NULL };
static const char *const restart_actions[] = { "none", "restart", "restart-then-failover", NULL };
static const char *const dep_types[] = { "and", "or", NULL };
static const char *const offline_actions[] = { "shutdown", "save", "off", NULL };
static const char *const domain_types[] = { "auto", "qemu", "kvm", NULL };

/* Keep each kind's properties together and sorted by name: listings use
 * this order. */
static const struct cm_prop_def prop_defs[] = {
	{ CM_OBJ_CLUSTER, "description", CM_PT_STRING, "", 0, 256, NULL, false,
	  "free text shown by 'cluadmin cluster show'" },
	{ CM_OBJ_CLUSTER, "drain_parallel", CM_PT_INT, "2", 1, 64, NULL, false,
	  "virtual machines live-migrated off a draining node at once" },
	{ CM_OBJ_CLUSTER, "enforced_anti_affinity", CM_PT_BOOL, "false", 0, 0, NULL, false,
	  "groups of one anti-affinity class never share a node (they stay offline instead)" },
	{ CM_OBJ_CLUSTER, "event_log_max", CM_PT_INT, "10000", 100, 1000000, NULL, false,
	  "events kept in the replicated event log; older ones are dropped" },
	{ CM_OBJ_CLUSTER, "fence_retries", CM_PT_INT, "2", 0, 10, NULL, false,
	  "further attempts of a fence agent run that failed, before waiting 30 s" },
	{ CM_OBJ_CLUSTER, "fence_timeout_s", CM_PT_INT, "60", 1, 3600, NULL, false,
	  "seconds one fence agent run may take" },
	{ CM_OBJ_CLUSTER, "fencing", CM_PT_ENUM, "on", 0, 0, on_off, false,
	  "fence lost nodes before recovering their groups; off is unsafe" },
	{ CM_OBJ_CLUSTER, "migration_uri", CM_PT_STRING, "qemu+tls://{name}/system", 1, 512, NULL, false,
	  "how a node reaches a peer's libvirtd for migration; {name} and {addr} are the peer's name and address" },
	{ CM_OBJ_CLUSTER, "quorum_mode", CM_PT_ENUM, "node-majority", 0, 0, quorum_modes, true,
	  "set with 'cluadmin quorum set --mode MODE'" },
	{ CM_OBJ_CLUSTER, "shared_dirs", CM_PT_STRING, "", 0, 1000, NULL, false,
	  "absolute directories every node sees alike (comma-separated): VM file disks must be under one" },
	{ CM_OBJ_CLUSTER, "vm_domain_type", CM_PT_ENUM, "auto", 0, 0, domain_types, false,
	  "libvirt domain type of VMs: auto (kvm where /dev/kvm is usable, else qemu), qemu (TCG) or kvm" },
	{ CM_OBJ_CLUSTER, "vm_state_dir", CM_PT_STRING, "", 0, 512, NULL, false,
	  "shared directory for saved memory states (vm save, quick migration); empty: both are refused" },
	{ CM_OBJ_CLUSTER, "witness_url", CM_PT_STRING, "", 0, 512, NULL, true,
	  "set with 'cluadmin quorum set --witness URL'" },
	{ CM_OBJ_NODE, "description", CM_PT_STRING, "", 0, 256, NULL, false,
	  "free text about the node" },
	{ CM_OBJ_NODE, "fence_agent", CM_PT_STRING, "", 0, 256, NULL, false,
	  "fence agent (fence-agents calling convention) that powers the node off; empty: confirm-down by hand" },
	{ CM_OBJ_NODE, "fence_args", CM_PT_STRING, "", 0, 512, NULL, false,
	  "extra key=value options for the fence agent, separated by spaces" },
	{ CM_OBJ_NODE, "memory_mb", CM_PT_INT, "0", 0, 16777216, NULL, false,
	  "memory available to groups on the node (0: unlimited)" },
	{ CM_OBJ_NODE, "paused", CM_PT_BOOL, "false", 0, 0, NULL, true,
	  "set with 'cluadmin node pause|resume|drain'" },
	{ CM_OBJ_GROUP, "anti_affinity_class", CM_PT_STRING, "", 0, 63, NULL, false,
	  "groups of one class avoid sharing a node (see enforced_anti_affinity)" },
	{ CM_OBJ_GROUP, "description", CM_PT_STRING, "", 0, 256, NULL, false,
	  "free text about the group" },
	{ CM_OBJ_GROUP, "failback", CM_PT_ENUM, "never", 0, 0, failbacks, false,
	  "move back to a more preferred owner when it is available: never, immediate, or in a window of hours" },
	{ CM_OBJ_GROUP, "failback_window_end", CM_PT_INT, "0", 0, 23, NULL, false,
	  "failback=window: hour (UTC) the window ends; equal to the start: all day" },
	{ CM_OBJ_GROUP, "failback_window_start", CM_PT_INT, "0", 0, 23, NULL, false,
	  "failback=window: hour (UTC) the window starts, so that every node decides alike" },
	{ CM_OBJ_GROUP, "failover_period_s", CM_PT_INT, "21600", 60, 31536000, NULL, false,
	  "period in which failover_threshold failovers are allowed" },
	{ CM_OBJ_GROUP, "failover_threshold", CM_PT_INT, "auto", 0, 1000, NULL, false,
	  "failovers allowed in failover_period_s before the group is left Failed (auto: nodes - 1)" },
	{ CM_OBJ_GROUP, "preferred_owners", CM_PT_STRING, "", 0, 1000, NULL, false,
	  "node names in order of preference, separated by commas" },
	{ CM_OBJ_GROUP, "priority", CM_PT_ENUM, "medium", 0, 0, priorities, false,
	  "start order after a failure and during drain; no-auto-start: not started after a failure" },
	{ CM_OBJ_RESOURCE, "check_command", CM_PT_STRING, "", 0, 1000, NULL, false,
	  "process: command whose exit status 0 means healthy (is_alive); empty: the process is alive" },
	{ CM_OBJ_RESOURCE, "command", CM_PT_STRING, "", 0, 1000, NULL, false,
	  "process: the command line run as the service (sh -c)" },
	{ CM_OBJ_RESOURCE, "dependency_type", CM_PT_ENUM, "and", 0, 0, dep_types, false,
	  "and: every dependency must be online; or: any one of them" },
	{ CM_OBJ_RESOURCE, "description", CM_PT_STRING, "", 0, 256, NULL, false,
	  "free text about the resource" },
	{ CM_OBJ_RESOURCE, "guest_agent", CM_PT_BOOL, "false", 0, 0, NULL, false,
	  "vm: is_alive asks the QEMU guest agent (guest-ping) instead of the domain state" },
	{ CM_OBJ_RESOURCE, "is_alive_s", CM_PT_INT, "60", 0, 86400, NULL, false,
	  "seconds between thorough health checks (0: none)" },
	{ CM_OBJ_RESOURCE, "looks_alive_s", CM_PT_INT, "5", 0, 86400, NULL, false,
	  "seconds between cheap health checks (0: none)" },
	{ CM_OBJ_RESOURCE, "memory_mb", CM_PT_INT, "0", 0, 16777216, NULL, false,
	  "memory the resource needs on its node (capacity planning)" },
	{ CM_OBJ_RESOURCE, "migration_bandwidth_mibs", CM_PT_INT, "0", 0, 1000000, NULL, false,
	  "vm: live migration bandwidth cap in MiB/s (0: unlimited)" },
	{ CM_OBJ_RESOURCE, "migration_max_downtime_ms", CM_PT_INT, "0", 0, 60000, NULL, false,
	  "vm: longest pause a live migration may cause (0: libvirt's default, 300 ms)" },
	{ CM_OBJ_RESOURCE, "offline_action", CM_PT_ENUM, "shutdown", 0, 0, offline_actions, false,
	  "vm: how offline stops it: shutdown (ACPI, then off at shutdown_timeout_s), save, or off" },
	{ CM_OBJ_RESOURCE, "pending_timeout_s", CM_PT_INT, "180", 1, 86400, NULL, false,
	  "seconds an online or offline operation may take before it counts as failed" },
	{ CM_OBJ_RESOURCE, "possible_owners", CM_PT_STRING, "", 0, 1000, NULL, false,
	  "node names that may run it, separated by commas; empty: every node" },
	{ CM_OBJ_RESOURCE, "restart_action", CM_PT_ENUM, "restart-then-failover", 0, 0, restart_actions, false,
	  "after a failure: none, restart on the same node, or restart then fail the group over" },
	{ CM_OBJ_RESOURCE, "restart_period_s", CM_PT_INT, "900", 1, 31536000, NULL, false,
	  "period in which restart_threshold restarts are allowed" },
	{ CM_OBJ_RESOURCE, "restart_threshold", CM_PT_INT, "3", 0, 32, NULL, false,
	  "restarts allowed in restart_period_s" },
	{ CM_OBJ_RESOURCE, "shutdown_timeout_s", CM_PT_INT, "60", 1, 3600, NULL, false,
	  "vm: seconds a guest has to shut down before it is turned off" },
	{ CM_OBJ_RESOURCE, "url", CM_PT_STRING, "", 0, 600, NULL, false,
	  "physical-disk, csv: the LUN, iscsi://ADDR[:PORT]/IQN/LUN" },
};

#define N_DEFS (sizeof(prop_defs) / sizeof(prop_defs[0]))

const char *cm_obj_kind_to_str(enum cm_obj_kind k)
{
	switch (k) {
	case CM_OBJ_CLUSTER: return "cluster";
	case CM_OBJ_NODE: return "node";
	case CM_OBJ_GROUP: return "group";
	case CM_OBJ_RESOURCE: return "resource";
	default: return "unknown";
	}
}

int cm_obj_kind_from_str(const char *s)
{
	int k;

	for (k = 0; k < CM_OBJ_COUNT; k++)
		if (s && strcmp(s, cm_obj_kind_to_str(k)) == 0)
			return k;
	return -CM_E_ARGS;
}

bool cm_name_is_valid(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return false;
	n = strlen(name);
	if (n == 0 || n >= CM_NAME_MAX || !isalnum((unsigned char)name[0]))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

int cm_name_check(const char *what, const char *name, char *err, size_t errlen)
{
	if (cm_name_is_valid(name))
		return 0;
	snprintf(err, errlen,
		 "%s name '%.80s' is not valid: use 1 to %d letters, digits, '_', '.' or '-', starting with a letter or digit",
		 what, name ? name : "", CM_NAME_MAX - 1);
	return -CM_E_NAME;
}

const struct cm_prop_def *cm_prop_defs(enum cm_obj_kind kind, size_t *n)
{
	size_t i, first = N_DEFS, count = 0;

	for (i = 0; i < N_DEFS; i++) {
		if (prop_defs[i].kind != kind)
			continue;
		if (first == N_DEFS)
			first = i;
		count++;
	}
	*n = count;
	return count ? &prop_defs[first] : NULL;
}

const struct cm_prop_def *cm_prop_find(enum cm_obj_kind kind, const char *name)
{
	size_t i;

	for (i = 0; i < N_DEFS; i++)
		if (prop_defs[i].kind == kind && strcmp(prop_defs[i].name, name) == 0)
			return &prop_defs[i];
	return NULL;
}

const char *cm_ptype_to_str(enum cm_ptype t)
{
	switch (t) {
	case CM_PT_STRING: return "string";
	case CM_PT_INT: return "integer";
	case CM_PT_BOOL: return "boolean";
	case CM_PT_ENUM: return "enum";
	default: return "unknown";
	}
}

static bool text_is_clean(const char *v)
{
	const unsigned char *p;

	for (p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 && *p != '\t')
			return false;
	return true;
}

static int set_canon(char *canon, size_t canonlen, const char *v, char *err, size_t errlen)
{
	if (strlen(v) >= canonlen) {
		snprintf(err, errlen, "value is too long");
		return -CM_E_VALUE;
	}
	memcpy(canon, v, strlen(v) + 1);
	return 0;
}

static int validate_def(const struct cm_prop_def *d, const char *value,
			char *canon, size_t canonlen, char *err, size_t errlen)
{
	const char *what = cm_obj_kind_to_str(d->kind);
	char *end;
	long long n;
	size_t i;

	switch (d->type) {
	case CM_PT_STRING:
		if ((int64_t)strlen(value) > d->max || !text_is_clean(value)) {
			snprintf(err, errlen,
				 "property '%s' of %s takes text of at most %" PRId64 " characters without control characters",
				 d->name, what, d->max);
			return -CM_E_VALUE;
		}
		return set_canon(canon, canonlen, value, err, errlen);
	case CM_PT_INT:
		/* an integer whose default is "auto" also takes "auto" */
		if (strcmp(d->def, "auto") == 0 && strcmp(value, "auto") == 0)
			return set_canon(canon, canonlen, value, err, errlen);
		errno = 0;
		n = strtoll(value, &end, 10);
		if (value[0] == '\0' || *end != '\0' || errno == ERANGE || n < d->min || n > d->max) {
			snprintf(err, errlen,
				 "property '%s' of %s takes a whole number from %" PRId64 " to %" PRId64 ", not '%.64s'",
				 d->name, what, d->min, d->max, value);
			return -CM_E_VALUE;
		}
		snprintf(canon, canonlen, "%lld", n);
		return 0;
	case CM_PT_BOOL:
		if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
		    !strcasecmp(value, "on") || !strcmp(value, "1"))
			return set_canon(canon, canonlen, "true", err, errlen);
		if (!strcasecmp(value, "false") || !strcasecmp(value, "no") ||
		    !strcasecmp(value, "off") || !strcmp(value, "0"))
			return set_canon(canon, canonlen, "false", err, errlen);
		snprintf(err, errlen, "property '%s' of %s takes true or false, not '%.64s'",
			 d->name, what, value);
		return -CM_E_VALUE;
	case CM_PT_ENUM:
		for (i = 0; d->choices[i]; i++)
			if (strcmp(value, d->choices[i]) == 0)
				return set_canon(canon, canonlen, value, err, errlen);
		{
			int off = snprintf(err, errlen, "property '%s' of %s takes one of", d->name, what);

			for (i = 0; d->choices[i] && off > 0 && (size_t)off < errlen; i++)
				off += snprintf(err + off, errlen - (size_t)off, "%s %s",
						i ? "," : "", d->choices[i]);
			if (off > 0 && (size_t)off < errlen)
				snprintf(err + off, errlen - (size_t)off, ", not '%.64s'", value);
		}
		return -CM_E_VALUE;
	}
	return -CM_E_VALUE;
}

int cm_prop_validate(enum cm_obj_kind kind, const char *name, const char *value,
		     char *canon, size_t canonlen, char *err, size_t errlen)
{
	const struct cm_prop_def *d;
	struct cm_prop_def user_def = {
		kind, "", CM_PT_STRING, "", 0, CM_VALUE_MAX - 1, NULL, false, ""
	};

	if (name == NULL || value == NULL) {
		snprintf(err, errlen, "a property name and a value are needed");
		return -CM_E_ARGS;
	}
	if (strncmp(name, CM_USER_PREFIX, strlen(CM_USER_PREFIX)) == 0) {
		if (!cm_name_is_valid(name + strlen(CM_USER_PREFIX))) {
			snprintf(err, errlen,
				 "user property '%.80s' is not valid: after 'user.' use letters, digits, '_', '.' or '-'",
				 name);
			return -CM_E_PROP;
		}
		user_def.name = name;
		return validate_def(&user_def, value, canon, canonlen, err, errlen);
	}
	d = cm_prop_find(kind, name);
	if (d == NULL) {
		snprintf(err, errlen,
			 "%s has no property '%.80s' (see 'cluadmin property list%s'; free-form ones start with 'user.')",
			 cm_obj_kind_to_str(kind), name, kind == CM_OBJ_NODE ? " --node NODE" :
			 kind == CM_OBJ_GROUP ? " --group GROUP" : kind == CM_OBJ_RESOURCE ? " --resource RESOURCE" : "");
		return -CM_E_PROP;
	}
	if (d->readonly) {
		snprintf(err, errlen, "property '%s' of %s is read-only: %s",
			 d->name, cm_obj_kind_to_str(kind), d->help);
		return -CM_E_READONLY;
	}
	return validate_def(d, value, canon, canonlen, err, errlen);
}

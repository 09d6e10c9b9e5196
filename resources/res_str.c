/* res_str.c - names of the policy core's enums, as shown to administrators
 * and stored in the database. Pure. */
#include <string.h>

#include "res_core.h"

static const char *const state_names[] = { "Offline", "OnlinePending", "Online", "OfflinePending", "Failed" };
static const char *const gstate_names[] = { "Offline", "Online", "PartialOnline", "Pending", "Failed" };
static const char *const op_names[] = { "none", "online", "offline", "terminate", "fence", "health",
					"migrate", "monitor", "cancel", "stopped" };
static const char *const fence_names[] = { "none", "needed", "fencing", "fenced" };
static const char *const restart_names[] = { "none", "restart", "restart-then-failover" };
static const char *const failback_names[] = { "never", "immediate", "window" };
static const char *const prio_names[] = { "high", "medium", "low", "no-auto-start" };

#define N(a) ((int)(sizeof(a) / sizeof(a[0])))

static const char *name_of(const char *const *names, int n, int v)
{
	return v >= 0 && v < n ? names[v] : "unknown";
}

static int value_of(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

const char *res_state_to_str(enum res_state s) { return name_of(state_names, N(state_names), (int)s); }
const char *res_gstate_to_str(enum res_gstate s) { return name_of(gstate_names, N(gstate_names), (int)s); }
const char *res_op_to_str(enum res_op op) { return name_of(op_names, N(op_names), (int)op); }
const char *res_fence_to_str(enum res_fence f) { return name_of(fence_names, N(fence_names), (int)f); }
const char *res_restart_to_str(enum res_restart r) { return name_of(restart_names, N(restart_names), (int)r); }
const char *res_failback_to_str(enum res_failback f) { return name_of(failback_names, N(failback_names), (int)f); }
const char *res_prio_to_str(enum res_prio p) { return name_of(prio_names, N(prio_names), (int)p); }
int res_state_from_str(const char *s) { return value_of(state_names, N(state_names), s); }
int res_fence_from_str(const char *s) { return value_of(fence_names, N(fence_names), s); }
int res_restart_from_str(const char *s) { return value_of(restart_names, N(restart_names), s); }
int res_failback_from_str(const char *s) { return value_of(failback_names, N(failback_names), s); }
int res_prio_from_str(const char *s) { return value_of(prio_names, N(prio_names), s); }

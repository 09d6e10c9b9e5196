/* res_virt_str.c - the backend's names: ops, states, reasons, events, and
 * libvirt's domain state mapped to ours. Pure: no libvirt calls, no I/O.
 */
#include "res_virt_int.h"

/* ---- names ---- */

const char *res_virt_op_to_str(enum res_virt_op op)
{
	switch (op) {
	case RES_VIRT_DEFINE: return "define";
	case RES_VIRT_UNDEFINE: return "undefine";
	case RES_VIRT_START: return "start";
	case RES_VIRT_SHUTDOWN: return "shut down";
	case RES_VIRT_DESTROY: return "turn off";
	case RES_VIRT_SAVE: return "save";
	case RES_VIRT_RESTORE: return "restore";
	case RES_VIRT_STATE: return "query the state of";
	case RES_VIRT_MIGRATE: return "migrate";
	case RES_VIRT_CANCEL: return "cancel";
	case RES_VIRT_SNAP_CREATE: return "take a snapshot of";
	case RES_VIRT_SNAP_REVERT: return "revert";
	case RES_VIRT_SNAP_DELETE: return "delete a snapshot of";
	case RES_VIRT_AGENT_PING: return "ping the guest agent of";
	case RES_VIRT_NETWORKS: return "list the networks";
	case RES_VIRT_DOMAINS: return "list the domains";
	}
	return "?";
}

const char *res_virt_state_to_str(enum res_virt_state st)
{
	switch (st) {
	case RES_VIRT_ST_UNKNOWN: return "unknown";
	case RES_VIRT_ST_ABSENT: return "absent";
	case RES_VIRT_ST_RUNNING: return "running";
	case RES_VIRT_ST_PAUSED: return "paused";
	case RES_VIRT_ST_SHUTOFF: return "shut off";
	}
	return "?";
}

const char *res_virt_reason_to_str(enum res_virt_reason r)
{
	switch (r) {
	case RES_VIRT_R_NONE: return "";
	case RES_VIRT_R_USER: return "by user";
	case RES_VIRT_R_IO_ERROR: return "I/O error";
	case RES_VIRT_R_MIGRATION: return "migration";
	case RES_VIRT_R_SAVE: return "saved";
	case RES_VIRT_R_SHUTDOWN: return "shut down";
	case RES_VIRT_R_DESTROYED: return "turned off";
	case RES_VIRT_R_CRASHED: return "crashed";
	case RES_VIRT_R_FAILED: return "failed";
	case RES_VIRT_R_OTHER: return "other";
	}
	return "?";
}

const char *res_virt_ev_to_str(enum res_virt_ev_type t)
{
	switch (t) {
	case RES_VIRT_EV_DEFINED: return "defined";
	case RES_VIRT_EV_UNDEFINED: return "undefined";
	case RES_VIRT_EV_STARTED: return "started";
	case RES_VIRT_EV_SUSPENDED: return "suspended";
	case RES_VIRT_EV_RESUMED: return "resumed";
	case RES_VIRT_EV_STOPPED: return "stopped";
	case RES_VIRT_EV_SHUTDOWN: return "shutdown";
	case RES_VIRT_EV_CRASHED: return "crashed";
	case RES_VIRT_EV_MIGRATED: return "migrated";
	case RES_VIRT_EV_OTHER: return "other";
	case RES_VIRT_EV_DISCONNECTED: return "disconnected";
	}
	return "?";
}


/* libvirt state + reason to ours. */
void res_virt_map_state(int st, int reason, enum res_virt_state *out, enum res_virt_reason *why)
{
	*why = RES_VIRT_R_NONE;
	switch (st) {
	case VIR_DOMAIN_RUNNING:
	case VIR_DOMAIN_BLOCKED:
	case VIR_DOMAIN_SHUTDOWN:
		*out = RES_VIRT_ST_RUNNING;
		break;
	case VIR_DOMAIN_PAUSED:
	case VIR_DOMAIN_PMSUSPENDED:
		*out = RES_VIRT_ST_PAUSED;
		if (st != VIR_DOMAIN_PAUSED)
			*why = RES_VIRT_R_OTHER;
		else if (reason == VIR_DOMAIN_PAUSED_IOERROR)
			*why = RES_VIRT_R_IO_ERROR;
		else if (reason == VIR_DOMAIN_PAUSED_USER)
			*why = RES_VIRT_R_USER;
		else if (reason == VIR_DOMAIN_PAUSED_MIGRATION ||
			 reason == VIR_DOMAIN_PAUSED_POSTCOPY ||
			 reason == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED)
			*why = RES_VIRT_R_MIGRATION;
		else if (reason == VIR_DOMAIN_PAUSED_SAVE)
			*why = RES_VIRT_R_SAVE;
		else if (reason == VIR_DOMAIN_PAUSED_CRASHED)
			*why = RES_VIRT_R_CRASHED;
		else
			*why = RES_VIRT_R_OTHER;
		break;
	case VIR_DOMAIN_SHUTOFF:
		*out = RES_VIRT_ST_SHUTOFF;
		if (reason == VIR_DOMAIN_SHUTOFF_SHUTDOWN)
			*why = RES_VIRT_R_SHUTDOWN;
		else if (reason == VIR_DOMAIN_SHUTOFF_DESTROYED)
			*why = RES_VIRT_R_DESTROYED;
		else if (reason == VIR_DOMAIN_SHUTOFF_CRASHED)
			*why = RES_VIRT_R_CRASHED;
		else if (reason == VIR_DOMAIN_SHUTOFF_SAVED)
			*why = RES_VIRT_R_SAVE;
		else if (reason == VIR_DOMAIN_SHUTOFF_MIGRATED)
			*why = RES_VIRT_R_MIGRATION;
		else if (reason == VIR_DOMAIN_SHUTOFF_FAILED)
			*why = RES_VIRT_R_FAILED;
		break;
	case VIR_DOMAIN_CRASHED:
		*out = RES_VIRT_ST_SHUTOFF;
		*why = RES_VIRT_R_CRASHED;
		break;
	default:
		*out = RES_VIRT_ST_UNKNOWN;
		break;
	}
}

/* cm_err.c - text for the project's error codes. Pure. */
#include <string.h>

#include "cm_err.h"

const char *cm_strerror(int rc)
{
	if (rc > 0)
		rc = -rc;
	switch (-rc) {
	case 0: return "success";
	case CM_E_PROTO: return "malformed message";
	case CM_E_VERSION: return "unsupported protocol version";
	case CM_E_TOOBIG: return "message too large";
	case CM_E_UNKNOWN_CMD: return "unknown command";
	case CM_E_ARGS: return "wrong arguments";
	case CM_E_NAME: return "malformed name";
	case CM_E_NO_OBJECT: return "no such object";
	case CM_E_EXISTS: return "already exists";
	case CM_E_PROP: return "unknown property";
	case CM_E_VALUE: return "invalid value";
	case CM_E_READONLY: return "read-only property";
	case CM_E_CONF: return "bad configuration";
	case CM_E_NO_QUORUM: return "no quorum";
	case CM_E_SYNCING: return "cluster database is being synchronised";
	case CM_E_NOT_READY: return "node is not an active cluster member";
	case CM_E_DB: return "cluster database error";
	case CM_E_STALE: return "replica is stale";
	case CM_E_PERM: return "permission denied";
	case CM_E_TIMEOUT: return "timed out";
	case CM_E_NOT_INIT: return "no cluster has been created in this database";
	case CM_E_STATE: return "not in a state that allows it";
	case CM_E_BUSY: return "another operation is under way";
	case CM_E_URL: return "malformed iSCSI URL (want iscsi://ADDR[:PORT]/IQN/LUN)";
	case CM_E_UNREACHABLE: return "iSCSI portal unreachable or login refused";
	case CM_E_CONFLICT: return "reservation conflict";
	case CM_E_NOPR: return "target does not support SCSI-3 persistent reservations";
	case CM_E_IO: return "SCSI command failed";
	case CM_E_SMALL: return "LUN is too small";
	case CM_E_FOREIGN: return "LUN holds data this cluster does not recognise";
	case CM_E_CORRUPT: return "on-disk structure is corrupt";
	case CM_E_PREEMPTED: return "our reservation was preempted";
	default:
		if (-rc < CM_E_BASE)
			return strerror(-rc);
		return "unknown error";
	}
}

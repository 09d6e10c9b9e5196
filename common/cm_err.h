/* cm_err.h - the project's error codes.
 *
 * Functions return 0 on success, -errno for system errors and -CM_E_* for our
 * own conditions. Codes are <= -1000 so they never collide with errno values.
 * Pure: no I/O.
 */
#ifndef CM_ERR_H
#define CM_ERR_H

enum cm_err {
	CM_E_BASE = 1000,
	/* wire and IPC (1000..1099) */
	CM_E_PROTO = 1000,        /* malformed message */
	CM_E_VERSION = 1001,      /* unsupported protocol version */
	CM_E_TOOBIG = 1002,       /* message larger than allowed */
	CM_E_UNKNOWN_CMD = 1003,  /* unknown command or message type */
	CM_E_ARGS = 1004,         /* wrong number or kind of arguments */
	/* configuration and names (1100..1199) */
	CM_E_NAME = 1100,         /* malformed object name */
	CM_E_NO_OBJECT = 1101,    /* object does not exist */
	CM_E_EXISTS = 1102,       /* object already exists */
	CM_E_PROP = 1103,         /* unknown property */
	CM_E_VALUE = 1104,        /* value does not fit the property's type */
	CM_E_READONLY = 1105,     /* property cannot be set */
	CM_E_CONF = 1106,         /* bad configuration file */
	/* cluster state (1200..1299) */
	CM_E_NO_QUORUM = 1200,    /* partition has no quorum */
	CM_E_SYNCING = 1201,      /* replicas are being synchronised */
	CM_E_NOT_READY = 1202,    /* not (yet) a member of the cluster */
	CM_E_DB = 1203,           /* database error */
	CM_E_STALE = 1204,        /* replica is older than the cluster's */
	CM_E_PERM = 1205,         /* not authorised */
	CM_E_TIMEOUT = 1206,      /* operation timed out */
	CM_E_NOT_INIT = 1207,     /* cluster database holds no cluster */
	CM_E_STATE = 1208,        /* the object is not in a state that allows it */
	CM_E_BUSY = 1209,         /* another operation on the object is under way */
	/* storage and the witness (1300..1399) */
	CM_E_URL = 1300,          /* malformed iscsi:// URL */
	CM_E_UNREACHABLE = 1301,  /* portal unreachable or login refused */
	CM_E_CONFLICT = 1302,     /* reservation conflict: another node holds it */
	CM_E_NOPR = 1303,         /* target lacks SCSI-3 persistent reservations */
	CM_E_IO = 1304,           /* SCSI command failed */
	CM_E_SMALL = 1305,        /* LUN smaller than needed */
	CM_E_FOREIGN = 1306,      /* LUN holds data we do not recognise */
	CM_E_CORRUPT = 1307,      /* on-disk structure fails its checks */
	CM_E_PREEMPTED = 1308,    /* our reservation or registration was taken away */
	CM_E_MAX
};

/* Human text for a return code (negative errno or -CM_E_*). Never NULL. */
const char *cm_strerror(int rc);

#endif

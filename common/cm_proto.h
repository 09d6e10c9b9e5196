/* cm_proto.h - commands between cluadmin and clusterd, and the replicated
 * write operations between clusterd instances.
 *
 * IPC frame: a libqb request header {id = CM_IPC_ID, size} followed by one
 * cm_wire message of type CM_MSG_REQUEST whose ints are {cmd, flags} and
 * whose strings are the command's arguments. The reply is a libqb response
 * header followed by a CM_MSG_REPLY: ints {rc}, strings {text} where text is
 * JSON on success and a sentence on failure. Values here are part of the
 * protocol: append, never renumber.
 */
#ifndef CM_PROTO_H
#define CM_PROTO_H

#define CM_IPC_NAME "clusterd"
#define CM_IPC_ID 1000
/* Largest request or reply, including headers. */
#define CM_IPC_MAX_MSG (CM_WIRE_MAX_LEN + 4096)

enum cm_cmd {
	CM_CMD_PING = 1,           /* -> {"node":..} */
	CM_CMD_STATUS = 2,
	CM_CMD_NODE_LIST = 3,
	CM_CMD_NODE_SHOW = 4,      /* node */
	CM_CMD_NODE_PAUSE = 5,     /* node */
	CM_CMD_NODE_RESUME = 6,    /* node */
	CM_CMD_CLUSTER_SHOW = 7,
	CM_CMD_PROP_LIST = 8,      /* kind, object ("" for the cluster) */
	CM_CMD_PROP_GET = 9,       /* kind, object, key */
	CM_CMD_PROP_SET = 10,      /* kind, object, key, value */
	CM_CMD_PROP_UNSET = 11,    /* kind, object, key */
	CM_CMD_LOG = 12,           /* after_id, since_ms, limit (as text) */
	CM_CMD_BLACKBOX = 13,
	CM_CMD_DB_INFO = 14,       /* epoch, seq, content hash */
	CM_CMD_QUORUM_SHOW = 15,
	CM_CMD_QUORUM_SET = 16,    /* mode, witness url ("" keeps the current one) */
	CM_CMD_WITNESS_INIT = 17,  /* url, "force"|"" */
	/* groups and resources (issue 4); replies are JSON documented in cli_res.c */
	CM_CMD_GROUP_CREATE = 18,  /* name */
	CM_CMD_GROUP_DELETE = 19,  /* name */
	CM_CMD_GROUP_LIST = 20,
	CM_CMD_GROUP_SHOW = 21,    /* name */
	CM_CMD_GROUP_MOVE = 22,    /* name, node ("" = the best other node) */
	CM_CMD_GROUP_ONLINE = 23,  /* name */
	CM_CMD_GROUP_OFFLINE = 24, /* name */
	CM_CMD_RES_CREATE = 25,    /* name, group, type, properties ("key=value" lines) */
	CM_CMD_RES_DELETE = 26,    /* name */
	CM_CMD_RES_LIST = 27,      /* group ("" = all) */
	CM_CMD_RES_SHOW = 28,      /* name */
	CM_CMD_DEP_ADD = 29,       /* resource, depends_on */
	CM_CMD_DEP_REMOVE = 30,    /* resource, depends_on */
	CM_CMD_NODE_DRAIN = 31,    /* node */
	CM_CMD_NODE_CONFIRM_DOWN = 32, /* node */
	/* virtual machines (issue 5); arguments and replies: cli/cli_vm.c */
	CM_CMD_VM_CREATE = 33,     /* name, xml, group, preferred, options */
	CM_CMD_VM_DELETE = 34,     /* name */
	CM_CMD_VM_LIST = 35,
	CM_CMD_VM_SHOW = 36,       /* name */
	CM_CMD_VM_START = 37,      /* name */
	CM_CMD_VM_STOP = 38,       /* name: turn off */
	CM_CMD_VM_SHUTDOWN = 39,   /* name */
	CM_CMD_VM_SAVE = 40,       /* name */
	CM_CMD_VM_MIGRATE = 41,    /* name, node, mode (live|quick|move) */
	CM_CMD_VM_CANCEL = 42,     /* name */
	CM_CMD_VM_SNAPSHOT = 43,   /* name, action, snapshot, new name */
	CM_CMD_VM_SNAPSHOT_LIST = 44, /* name */
	CM_CMD_VM_JOB = 45,        /* job id */
	CM_CMD_VM_EDIT = 46,       /* name, xml: replace the domain XML of a stopped VM */
	/* cluster shared volumes (storage issue) */
	CM_CMD_CSV_CREATE = 47,    /* name, url, "force"|"" */
	CM_CMD_CSV_DELETE = 48,    /* name */
	CM_CMD_CSV_LIST = 49,
	CM_CMD_CSV_SHOW = 50,      /* name */
	CM_CMD_CSV_LOCKS = 51,     /* name ("" = all) */
	CM_CMD_CSV_VOL = 52,       /* csv, op (create|delete|resize), volume, size in bytes */
	CM_CMD_CSV_LOCK = 53,      /* csv/volume, owner, mode (excl|shared), "unlock"|"": tests and admin */
};

/* Replicated writes: CM_MSG_WRITE ints[0]. Strings listed per op. */
enum cm_op {
	CM_OP_PROP_SET = 1,    /* ints: op, kind; strs: object, key, value, actor */
	CM_OP_PROP_UNSET = 2,  /* ints: op, kind; strs: object, key, actor */
	CM_OP_NODE_PAUSE = 3,  /* node, "1"|"0", actor */
	CM_OP_EVENT = 4,       /* severity, kind, object, text */
	CM_OP_QUORUM_SET = 5,  /* mode, witness url, actor */
	CM_OP_GROUP_CREATE = 6,   /* name, actor */
	CM_OP_GROUP_DELETE = 7,   /* name, actor */
	CM_OP_RES_CREATE = 8,     /* name, group, type, properties, actor */
	CM_OP_RES_DELETE = 9,     /* name, actor */
	CM_OP_DEP_ADD = 10,       /* resource, depends_on, actor */
	CM_OP_DEP_REMOVE = 11,    /* resource, depends_on, actor */
	CM_OP_GROUP_ONLINE = 12,  /* group, actor */
	CM_OP_GROUP_OFFLINE = 13, /* group, actor */
	CM_OP_GROUP_MOVE = 14,    /* group, node ("" any), actor */
	CM_OP_NODE_DRAIN = 15,    /* node, actor */
	CM_OP_CONFIRM_DOWN = 16,  /* node, actor */
	CM_OP_RES_RESULT = 17,    /* ints: op, gen, res_op, ok; strs: resource, text */
	CM_OP_FENCE_RESULT = 18,  /* ints: op, ok, attempt; strs: target node, text */
	CM_OP_TICK = 19,          /* strs: why */
	/* virtual machines (clusterd/cd_db_vm.c) */
	CM_OP_VM_CREATE = 20,     /* ints: op, start; strs: name, group, xml, preferred, options, actor */
	CM_OP_VM_DELETE = 21,     /* name, actor */
	CM_OP_VM_OFFLINE = 22,    /* name, offline action (off|shutdown|save), actor */
	CM_OP_VM_MIGRATE = 23,    /* ints: op, job; strs: name, node ("" any), mode, actor */
	CM_OP_VM_CANCEL = 24,     /* name, actor */
	CM_OP_VM_SNAPSHOT = 25,   /* ints: op, job; strs: name, action, snapshot, new name, actor */
	CM_OP_VM_JOB_DONE = 26,   /* ints: op, job, ok; strs: text, snapshot xml, vm state */
	CM_OP_VM_PROGRESS = 27,   /* ints: op, job, data_total, data_processed, data_remaining, elapsed_ms */
	CM_OP_NODE_FACTS = 28,    /* ints: op, kvm; strs: node, networks, bridges */
	CM_OP_VM_XML = 29,        /* name, xml, actor: a stopped VM's new domain XML */
	/* cluster shared volumes */
	CM_OP_CSV_CREATE = 30,    /* ints: op, lun_bytes, data_off, data_end, table_gen; strs: name, url, actor */
	CM_OP_CSV_DELETE = 31,    /* name, actor */
	CM_OP_CSV_VOL_REQ = 32,   /* ints: op, req id, size; strs: csv, vol op, volume, actor */
	CM_OP_CSV_VOL_DONE = 33,  /* ints: op, req id (0: the coordinator publishes), ok, table gen;
				   * strs: csv, text, table (csv_table_to_text) */
	CM_OP_CSV_LOCK = 34,      /* ints: op, mode (0 excl, 1 shared), unlock; strs: node, owner,
				   * volumes ("csv/vol" comma list), actor */
	CM_OP_CSV_PATH = 35,      /* ints: op, ok; strs: node, csv, text: a node lost or regained its path */
};
/* CM_OP_RES_RESULT of a migration adds ints: total_ms, downtime_ms,
 * data_total, data_processed. */

#endif

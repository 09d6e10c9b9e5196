/* res_virt.h - the hypervisor backend: one libvirt connection per node,
 * driven without ever blocking the caller.
 *
 * A struct res_virt owns one libvirt connection (opened lazily and reopened
 * after it drops) and one worker thread that runs the requests in FIFO
 * order. The caller submits requests, polls res_virt_done_fd() and takes
 * the results; every request gets exactly one result, also when the
 * connection is lost (unless freed first: see res_virt_free). Domain
 * lifecycle events are queued and signalled on res_virt_event_fd().
 *
 * This header does not include libvirt's: callers need no LIBVIRT_CFLAGS.
 * All functions except res_virt_free return at once.
 */
#ifndef RES_VIRT_H
#define RES_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RES_VIRT_TEXT_MAX 512
#define RES_VIRT_NAME_MAX 128

struct res_virt;

enum res_virt_op {
	RES_VIRT_DEFINE = 1,   /* xml: define (persistent) */
	RES_VIRT_UNDEFINE,     /* name */
	RES_VIRT_START,        /* name */
	RES_VIRT_SHUTDOWN,     /* name, timeout_ms: ACPI, then destroy at the timeout */
	RES_VIRT_DESTROY,      /* name: turn off */
	RES_VIRT_SAVE,         /* name, path: memory state to a file; domain stops */
	RES_VIRT_RESTORE,      /* path, xml (NULL: the saved one) */
	RES_VIRT_STATE,        /* name: result.state */
	RES_VIRT_MIGRATE,      /* name, dest_uri, mig_flags, max_downtime_ms, bandwidth_mibs */
	RES_VIRT_CANCEL,       /* cancel_id: abort a running migration, or drop a queued request */
	/* Snapshots (internal, qcow2 file disks only). libvirt 9.0 refuses to
	 * migrate a domain with libvirt-tracked snapshots, so libvirt's metadata
	 * exists only during these calls: the cluster keeps the snapshot XML. */
	RES_VIRT_SNAP_CREATE,  /* name, snap: create (disks + memory when running);
				* result.data = the snapshot XML; libvirt's metadata is
				* then removed (DELETE_METADATA_ONLY) */
	RES_VIRT_SNAP_REVERT,  /* name, xml (from SNAP_CREATE): redefine the metadata
				* (REDEFINE), revert (a running snapshot comes back running),
				* remove the metadata again (also when the revert failed) */
	RES_VIRT_SNAP_DELETE,  /* name, xml: redefine, delete the snapshot's data */
	RES_VIRT_AGENT_PING,   /* name: guest-ping through the QEMU guest agent */
	RES_VIRT_NETWORKS,     /* result.data = active libvirt network names, one per line */
	RES_VIRT_DOMAINS,      /* result.data = "name state" per line for every domain */
};

/* Migration flags (mapped to VIR_MIGRATE_*). */
#define RES_VIRT_MIG_LIVE            0x1u
#define RES_VIRT_MIG_P2P             0x2u  /* source libvirtd talks to dest_uri itself */
#define RES_VIRT_MIG_PERSISTENT      0x4u  /* define it on the target */
#define RES_VIRT_MIG_UNDEFINE_SOURCE 0x8u
#define RES_VIRT_MIG_UNSAFE          0x10u /* skip libvirt's shared-storage checks */

/* A request. Strings are copied by res_virt_submit. */
struct res_virt_req {
	enum res_virt_op op;
	const char *name;            /* domain name */
	const char *xml;             /* DEFINE; RESTORE (optional) */
	const char *path;            /* SAVE, RESTORE */
	const char *snap;            /* SNAP_CREATE: the snapshot's name in libvirt */
	const char *dest_uri;        /* MIGRATE: e.g. qemu+tcp://10.0.0.2/system */
	int64_t timeout_ms;          /* SHUTDOWN: then destroy (<= 0: 0, destroy at once) */
	unsigned mig_flags;          /* RES_VIRT_MIG_* */
	uint64_t max_downtime_ms;    /* MIGRATE: 0 = libvirt's default */
	uint64_t bandwidth_mibs;     /* MIGRATE: MiB/s, 0 = unlimited */
	uint64_t cancel_id;          /* CANCEL */
};

enum res_virt_state {
	RES_VIRT_ST_UNKNOWN = 0,     /* not asked, or the request failed */
	RES_VIRT_ST_ABSENT,          /* no such domain */
	RES_VIRT_ST_RUNNING,         /* includes blocked and being shut down */
	RES_VIRT_ST_PAUSED,          /* see reason (IO_ERROR matters) */
	RES_VIRT_ST_SHUTOFF,         /* includes crashed (reason CRASHED) */
};

enum res_virt_reason {
	RES_VIRT_R_NONE = 0,
	RES_VIRT_R_USER,             /* paused by an operator */
	RES_VIRT_R_IO_ERROR,         /* paused on a disk I/O error */
	RES_VIRT_R_MIGRATION,        /* paused for / after a migration */
	RES_VIRT_R_SAVE,             /* paused or stopped for a save */
	RES_VIRT_R_SHUTDOWN,         /* stopped by the guest */
	RES_VIRT_R_DESTROYED,        /* turned off */
	RES_VIRT_R_CRASHED,
	RES_VIRT_R_FAILED,           /* failed to start / emulator failed */
	RES_VIRT_R_OTHER,
};

/* Migration job statistics. Byte counts are 0 when libvirt did not say. */
struct res_virt_job {
	bool valid;                  /* at least one sample (or the final stats) */
	uint64_t data_total;
	uint64_t data_processed;
	uint64_t data_remaining;
	uint64_t elapsed_ms;
	int64_t downtime_ms;         /* -1: not known (yet) */
};

struct res_virt_result {
	uint64_t id;
	enum res_virt_op op;
	bool ok;
	char name[RES_VIRT_NAME_MAX];    /* the domain (DEFINE/RESTORE: from libvirt) */
	char text[RES_VIRT_TEXT_MAX];    /* one sentence, success or error */
	enum res_virt_state state;       /* STATE; also SHUTDOWN/DESTROY (shutoff) */
	enum res_virt_reason reason;
	bool forced;                     /* SHUTDOWN: destroyed at the timeout */
	struct res_virt_job job;         /* MIGRATE: final stats (or last sample) */
	uint64_t took_us;                /* time in the worker, from start to result */
	char *data;                      /* SNAP_CREATE, NETWORKS, DOMAINS: malloc'd, or NULL;
					  * the taker frees it (res_virt_result_clear) */
};

/** Free what a result owns (data) and zero it. NULL-safe. */
void res_virt_result_clear(struct res_virt_result *r);

enum res_virt_ev_type {
	RES_VIRT_EV_DEFINED = 1,
	RES_VIRT_EV_UNDEFINED,
	RES_VIRT_EV_STARTED,         /* detail "migrated": arrived by migration */
	RES_VIRT_EV_SUSPENDED,       /* detail "ioerror" for I/O error pauses */
	RES_VIRT_EV_RESUMED,
	RES_VIRT_EV_STOPPED,         /* turned off, saved, failed (see detail) */
	RES_VIRT_EV_SHUTDOWN,        /* stopped by the guest (stopped/shutdown) */
	RES_VIRT_EV_CRASHED,
	RES_VIRT_EV_MIGRATED,        /* left this node by migration (stopped/migrated) */
	RES_VIRT_EV_OTHER,           /* pmsuspended, guest "shutdown finished" notes... */
	RES_VIRT_EV_DISCONNECTED,    /* the connection dropped: re-check every domain */
};

struct res_virt_event {
	enum res_virt_ev_type type;
	char name[RES_VIRT_NAME_MAX];    /* "" for DISCONNECTED */
	int detail_code;                 /* libvirt's detail value */
	char detail[32];                 /* libvirt's detail as a word */
};

/**
 * Create the backend for one hypervisor URI ("qemu:///system",
 * "test:///abs/node.xml"). The connection is opened by the worker on the
 * first request. NULL with a sentence in err on failure (threads, fds).
 */
struct res_virt *res_virt_new(const char *uri, char *err, size_t errlen);
/* Flags of res_virt_new_opts. */
#define RES_VIRT_NO_EVENTS 0x1u   /* do not register for lifecycle events (the
				   * backend's own DISCONNECTED still comes) */
/** res_virt_new with flags: a pool of connections registers events on one. */
struct res_virt *res_virt_new_opts(const char *uri, unsigned flags, char *err, size_t errlen);
/**
 * Stop and free. Queued requests and untaken results are dropped without
 * results; a running call finishes first (a running migration is aborted;
 * a pending SHUTDOWN is abandoned without the destroy), so this may wait for
 * one libvirt call. Should libvirt not release the event callback within
 * 5 s of closing the connection, v is leaked rather than freed under it.
 * NULL-safe.
 */
void res_virt_free(struct res_virt *v);

/** Readable while results are waiting (level: stays readable until taken). */
int res_virt_done_fd(const struct res_virt *v);
/** Readable while events are waiting. */
int res_virt_event_fd(const struct res_virt *v);

/**
 * Queue a request. [out] id (never 0). 0, -CM_E_ARGS (missing name, xml,
 * path, dest_uri or an unknown op) or -ENOMEM. CANCEL of a request still
 * queued removes it: that request then ends with ok=false "cancelled".
 */
int res_virt_submit(struct res_virt *v, const struct res_virt_req *req, uint64_t *id);
/** The next result: 0, or -EAGAIN when none is waiting. */
int res_virt_take_result(struct res_virt *v, struct res_virt_result *r);
/** The next event: 0, or -EAGAIN. */
int res_virt_next_event(struct res_virt *v, struct res_virt_event *ev);
/**
 * Latest job sample of migration id (sampled every 100 ms while it runs).
 * 0 (job->valid false until the first sample), -ENOENT when id is not a
 * migration that is queued or running.
 */
int res_virt_progress(struct res_virt *v, uint64_t id, struct res_virt_job *job);

/**
 * Whether KVM is usable: /dev/kvm opens and answers KVM_GET_API_VERSION.
 * why gets "kvm" or "qemu: <reason>". No logging.
 */
bool res_virt_kvm_usable(char *why, size_t len);

const char *res_virt_op_to_str(enum res_virt_op op);
const char *res_virt_state_to_str(enum res_virt_state st);
const char *res_virt_reason_to_str(enum res_virt_reason r);
const char *res_virt_ev_to_str(enum res_virt_ev_type t);

#endif

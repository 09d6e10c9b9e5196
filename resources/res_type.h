/* res_type.h - resource types behind one ops table, and the child-process
 * helpers they share.
 *
 * A type's operations never block. Each either finishes at once
 * (RES_CALL_DONE, with ok and text) or starts work, usually a child process,
 * and returns RES_CALL_WAIT with an fd to wait for (a pidfd or a pipe) and
 * the step to call when it is readable. The executor (clusterd/cd_exec.c)
 * owns the loop, the timeouts and the reaping of abandoned children; a type
 * owns nothing but what it keeps in struct res_inst and struct res_call.
 * Later issues add vm-config, vm, physical-disk and csv to the same table.
 */
#ifndef RES_TYPE_H
#define RES_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "res_core.h"

#define RES_TEXT_MAX RES_REASON_MAX

/* A child started for a resource: its own session and process group
 * (pid == pgid), so signals reach everything it started. */
struct res_child {
	pid_t pid;          /* 0: none */
	int pidfd;          /* readable once it has exited; -1: none */
	int errfd;          /* exec-error pipe (read end): EOF once exec'd; -1: read */
	int outfd;          /* memfd holding its stderr (capture_stderr), or -1 */
};

/* What a type keeps for one resource on this node between operations.
 * Owned by the executor; the executor watches main.pidfd while the resource
 * is online and idle, and reports the exit as a health failure. */
struct res_inst {
	struct res_child main;   /* the process the resource runs as; pid 0: none */
	void *priv;              /* type-specific, for later types */
	uint64_t mig_ticket;     /* vm: the hub ticket of the migration under way, or 0 */
};

/* Figures of a finished migration (vm), for the report. */
struct res_stats {
	bool valid;
	int64_t total_ms;
	int64_t downtime_ms;     /* -1: unknown */
	uint64_t data_total, data_processed;
};

enum res_call_rc {
	RES_CALL_DONE = 0,   /* finished: ok and text are set */
	RES_CALL_WAIT = 1,   /* runs on: the executor calls next(c) once fd is readable */
};

struct res_call;
typedef int (*res_step_fn)(struct res_call *c);

/* One operation in progress. The executor fills the [in] part, zeroes the
 * rest (helper: res_child_init) and calls the op; the op and its steps fill
 * the [out] part. fd always belongs to inst->main or helper (never a third
 * owner), so the executor can clean up after any step. */
struct res_call {
	/* [in] */
	const char *res;                 /* resource name */
	const char *const *props;        /* "key=value" */
	size_t nprops;
	int64_t timeout_ms;
	const char *target;              /* migrate: the target's hypervisor URI */
	int mode;                        /* migrate: enum res_mig_mode */
	void *env;                       /* the types' environment (vm: struct res_vhub) */
	struct res_inst *inst;           /* [in,out] */
	/* [out] with RES_CALL_WAIT */
	int fd;
	res_step_fn next;
	/* At the timeout: returns DONE, or WAIT after escalating (the executor
	 * then allows a short grace). NULL: the executor fails the call with
	 * "timed out after N". Called at most once. */
	res_step_fn expire;
	struct res_child helper;         /* started by the op; killed if abandoned */
	int stage;                       /* the type's own progress marker */
	uint64_t ticket;                 /* vm: the hub request waited for, or 0 */
	/* Called when the executor abandons the call (timeout, cancel, stop):
	 * give up what the call waits for. NULL: nothing to do. */
	void (*release)(struct res_call *c);
	struct res_stats stats;          /* [out] migrate */
	bool by_operator;                /* [out] health check: stopped by someone else, not failed */
	/* [out] with RES_CALL_DONE */
	bool ok;
	char text[RES_TEXT_MAX];
};

struct res_type_ops {
	const char *name;
	/* Create-time check of a resource's properties: 0 or -CM_E_VALUE with a
	 * sentence in err. Unknown keys are not the type's business. */
	int (*check)(const char *const *props, size_t nprops, char *err, size_t errlen);
	res_step_fn online;
	res_step_fn offline;
	res_step_fn terminate;       /* forced stop */
	/* Health checks must not wait on inst->main.pidfd (the executor does). */
	res_step_fn looks_alive;
	res_step_fn is_alive;
	res_step_fn migrate;         /* NULL: the type cannot migrate */
	/* inst->main exited on its own: reap it and say how, in one line (NULL:
	 * the type keeps no process while online, as physical-disk and csv). */
	void (*exited)(struct res_inst *inst, char *text, size_t len);
	/* Quorum lost: kill everything of the resource now, no waiting; the
	 * executor reaps inst->main afterwards. */
	void (*kill_now)(struct res_inst *inst);
};

/* The types, one file each (res_process.c, res_vm.c, res_disk.c, res_csv.c). */
extern const struct res_type_ops res_process_ops;
extern const struct res_type_ops res_vm_ops;
extern const struct res_type_ops res_vmconfig_ops;
extern const struct res_type_ops res_disk_ops, res_csv_ops;

/* Shared by physical-disk and csv (res_disk.c): run the LUN tool
 * (clusterd-lun) as c->helper with its stderr captured and wait for it.
 * Exit 0 -> ok with its first stderr line (ok_text when there is none);
 * otherwise failed with that line. Returns RES_CALL_WAIT, or DONE if it
 * could not start. argv[0] is an absolute path. */
int res_lun_run(struct res_call *c, const char *const *argv, const char *ok_text);
/* The same start, but next runs once the tool has exited (the vm type's
 * state volume steps); the step reaps c->helper itself. */
int res_lun_spawn(struct res_call *c, const char *const *argv, res_step_fn next);
/* Create-time check of an iscsi://ADDR[:PORT]/IQN/LUN property 'url'
 * (light: no libiscsi here). 0 or -CM_E_VALUE with a sentence. */
int res_lun_url_check(const char *url, char *err, size_t errlen);
/* The tool's --timeout (seconds) from 'io_timeout_s' (default 10), kept
 * below a third of the call's timeout; printed into buf as well. */
int res_lun_io_timeout(const struct res_call *c, char *buf, size_t len);

/* The table entry of a type, NULL if unknown. */
const struct res_type_ops *res_type_find(const char *name);
/* Create-time check: unknown type or the type's own check. 0 or -CM_E_VALUE. */
int res_type_check(const char *type, const char *const *props, size_t nprops,
		   char *err, size_t errlen);

/* Finish a call: ok and the text; returns RES_CALL_DONE. */
int res_call_done(struct res_call *c, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The value of key in "key=value" props, NULL when absent. */
const char *res_prop_get(const char *const *props, size_t nprops, const char *key);
/* "200 ms", "3 s" or "1.5 s", for texts. */
void res_ms_to_str(int64_t ms, char *buf, size_t len);
/* "exited with status N" / "killed by signal N" from a wait status. */
void res_status_to_str(int status, char *buf, size_t len);

/* Helpers for types and the executor. */
struct res_spawn {
	const char *const *argv;     /* argv[0] is the path executed (no PATH search) */
	const char *env_add;         /* "NAME=value" added to the environment, or NULL */
	const char *stdin_text;      /* fed on stdin (a memfd); NULL: /dev/null */
	const char *out_path;        /* stdout and stderr appended here; NULL: /dev/null */
	bool capture_stderr;         /* stderr into a memfd instead (child->outfd) */
};
/* Fork and exec in a new session, signals reset, PR_SET_PDEATHSIG SIGKILL,
 * no other fds inherited. Failures before exec are reported through errfd
 * (res_child_exec_error); the child then exits 127. 0 or -errno. */
int res_spawn(const struct res_spawn *sp, struct res_child *ch);
void res_child_init(struct res_child *ch);
/* Whether the child has exited (pidfd readable; never blocks). */
bool res_child_exited(const struct res_child *ch);
/* Signal its process group (and the pid itself if the group does not exist
 * yet: the child may not have reached setsid()). */
void res_child_kill(const struct res_child *ch, int sig);
/* After exec: 1 and a sentence in text if setup or exec failed, 0 if it
 * exec'd, -EAGAIN if not known yet. Closes errfd once known. */
int res_child_exec_error(struct res_child *ch, char *text, size_t len);
/* Reap an exited child: SIGKILL what is left of its group first (the zombie
 * leader keeps the group id ours), then waitpid. 0 with status, -EAGAIN if
 * it has not exited, or -errno. Closes pidfd on success. */
int res_child_reap(struct res_child *ch, int *status);
/* The first line of its captured stderr ("" when none). */
void res_child_stderr_line(const struct res_child *ch, char *buf, size_t len);
/* Close its fds (no signal, no reaping). */
void res_child_close(struct res_child *ch);

#endif

/* cd_exec.h - the executor: runs resource operations, health checks and
 * fence agents for this node without ever blocking the main loop.
 *
 * Operations run through the resource type's ops table (resources/res_type.h)
 * as child processes watched with pidfds on the qb loop, each with a
 * timeout. At most max_parallel operations run at once; the rest wait in
 * FIFO order. Health checks (looks_alive every looks_alive_ms, is_alive
 * every is_alive_ms) run for every resource this node brought online, until
 * it is taken offline. Results (and health failures, op RES_OP_HEALTH) go to
 * ops->result; the caller turns them into replicated writes. Fence agent
 * runs follow the fence-agents calling convention ("key=value" lines on
 * stdin: action=off, plug=NODE, then the node's fence_args), with a timeout
 * and retries; one run per target at a time.
 */
#ifndef CD_EXEC_H
#define CD_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <qb/qbloop.h>

#include "res_core.h"
#include "res_type.h"

struct cd_exec;

struct cd_exec_req {
	enum res_op op;              /* ONLINE, OFFLINE, TERMINATE, MIGRATE, MONITOR */
	const char *res;             /* resource name (copied) */
	const char *type;            /* resource type, e.g. "process" (copied) */
	uint64_t gen;
	/* the resource's properties as "key=value" strings (copied) */
	const char *const *props;
	size_t nprops;
	int64_t timeout_ms;          /* pending timeout of this operation */
	int64_t looks_alive_ms;      /* health check periods once online; 0: none */
	int64_t is_alive_ms;
	const char *target;          /* MIGRATE: the target's hypervisor URI (copied) */
	int mode;                    /* MIGRATE: enum res_mig_mode */
};

struct cd_exec_ops {
	/* An operation finished, or (op RES_OP_HEALTH, ok false) a health check
	 * of an online resource failed; text is one line for the reason. */
	void (*result)(void *ctx, const char *res, uint64_t gen, enum res_op op, bool ok,
		       const char *text);
	/* A fence run finished (after its retries). */
	void (*fenced)(void *ctx, const char *target, bool ok, const char *text);
	/* Log a line (prio: LOG_* of syslog.h). */
	void (*log)(void *ctx, int prio, const char *text);
	/* A MIGRATE finished, with its figures (NULL: reported by result). */
	void (*migrated)(void *ctx, const char *res, uint64_t gen, bool ok, const char *text,
			 const struct res_stats *stats);
};

struct cd_exec *cd_exec_new(qb_loop_t *loop, const struct cd_exec_ops *ops, void *ctx,
			    int max_parallel);
/* Terminates everything still running (SIGKILL) and frees. NULL is fine. */
void cd_exec_free(struct cd_exec *x);

/* Queue an operation. An ONLINE/OFFLINE for a resource with an operation
 * already queued or running for the same gen is ignored (plans repeat);
 * a TERMINATE cancels whatever runs for the resource first. 0 or -errno /
 * -CM_E_*. */
int cd_exec_submit(struct cd_exec *x, const struct cd_exec_req *req);

/* Quorum lost: kill every resource process of this node now (SIGKILL to its
 * process group), cancel queued work and health checks; no results are
 * reported. Returns how many resources were stopped. */
int cd_exec_stop_all(struct cd_exec *x);

/* The environment handed to the types' calls (vm: the hypervisor hub). */
void cd_exec_set_env(struct cd_exec *x, void *env);

/* Something outside the executor saw an online resource stop (a hypervisor
 * event): if it is online here and no operation runs for it, stop its
 * checks and report it (RES_OP_STOPPED when an operator stopped it, else a
 * health failure). Returns whether it was reported. */
bool cd_exec_external(struct cd_exec *x, const char *res, bool by_operator, const char *text);

/* The resource left this node by migration: stop watching it (no report). */
void cd_exec_forget(struct cd_exec *x, const char *res);

/* The hub ticket of the migration running for res, or 0. */
uint64_t cd_exec_mig_ticket(struct cd_exec *x, const char *res);

/* Whether the resource is known to run here (online and its process alive). */
bool cd_exec_is_running(struct cd_exec *x, const char *res);

/* Run the fence agent: target is the node's name, agent an executable path,
 * args extra "key=value" lines (may be empty). 0, or -EBUSY when a run
 * against target is already under way. */
int cd_exec_fence(struct cd_exec *x, const char *target, const char *agent, const char *args,
		  int64_t timeout_ms, int retries);

/* Operations running and queued (status, tests). */
void cd_exec_counts(struct cd_exec *x, int *running, int *queued);

/* Internal to the executor (cd_exec.c owns the fence runs that cd_fence.c
 * implements); not for callers. */
struct cd_fencing;
struct cd_fencing *cd_fencing_new(qb_loop_t *loop, const struct cd_exec_ops *ops, void *ctx);
void cd_fencing_free(struct cd_fencing *f);  /* SIGKILLs agents still running; no callbacks */
struct cd_fencing *cd_exec_fencing(struct cd_exec *x);

#endif

/* sim.h - the simulator: the real policy core (res_step) driven by fake
 * adapters (tests/sim/README.md).
 *
 * sim_world.c  nodes with their own replicas, partitions delivering in one
 *              total order each, a virtual clock, the event loop.
 * sim_exec.c   fake executors and fence agents; node deaths and restarts.
 * sim_print.c  the output lines.
 * sim_check.c  the invariants, checked at every operation start and after
 *              every delivered message; the history for order asserts.
 * sim_cfg.c    the configuration: model building and options.
 * sim_script.c the script language and its asserts.
 * clussim.c    the tool: scenarios, --replay, --scale.
 *
 * Everything is deterministic: no wall clock except the --scale timings, no
 * random numbers, every list walked in id or name order.
 */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "res_core.h"

#define SIM_MAX_NODES 256
#define SIM_T0_MS 1704067200000LL     /* 2024-01-01 00:00:00 UTC, a Monday */
#define SIM_PERIODIC_MS 30000         /* every quorate partition ticks this often */
#define SIM_SETTLE_CAP_MS 3600000     /* settle gives up after an hour of virtual time */
#define SIM_MAXTOK 48                 /* words in a script line */

/* ---- configuration (sim_cfg.c) ---- */

struct sim_cres {                     /* what must be known before res_model_finish */
	char name[RES_NAME_MAX];
	char type[16];
	char group[RES_NAME_MAX];
	char deps[8][RES_NAME_MAX];
	int ndeps;
};

struct sim_copt {                     /* "OBJECT KEY VALUE...", applied after finishing */
	char *text;
	int line;                     /* of the script, for messages */
};

struct sim_cfg {
	int nnodes;
	char node_name[SIM_MAX_NODES + 1][RES_NAME_MAX];
	bool node_down[SIM_MAX_NODES + 1];   /* not up at the start */
	char (*groups)[RES_NAME_MAX];
	int ngroups, cap_groups;
	struct sim_cres *res;
	int nres, cap_res;
	struct sim_copt *opts;
	int nopts, cap_opts;
};

void sim_cfg_init(struct sim_cfg *c, int nnodes);
void sim_cfg_free(struct sim_cfg *c);
int sim_cfg_add_group(struct sim_cfg *c, const char *name);
int sim_cfg_add_res(struct sim_cfg *c, const char *name, const char *type, const char *group);
int sim_cfg_add_opt(struct sim_cfg *c, const char *opt, int line);
/* A finished model with every option applied; NULL with err on failure. */
struct res_model *sim_cfg_build(const struct sim_cfg *c, char *err, size_t errlen);
/* Apply "OBJECT KEY VALUE..." (or "node N KEY VALUE...") to a model. */
int sim_model_set(struct res_model *m, const char *opt, char *err, size_t errlen);
/* Small parsers shared with the script. */
int sim_split_words(char *line, char **tok, int max);   /* -1: too many words */
int sim_parse_int(const char *s, long long min, long long max, long long *out);
int sim_parse_dur(const char *s, int64_t *ms);          /* 30s 5m 2h 1d 500ms; bare: s */
uint32_t sim_node_ref(const struct res_model *m, const char *s);  /* id or name; 0 */

/* ---- the world (sim_world.c) ---- */

enum sim_tm { SIM_TM_EXEC = 1, SIM_TM_FENCE, SIM_TM_WAKE, SIM_TM_PERIODIC, SIM_TM_QSTOP };
enum sim_x { SIM_X_STOPPED, SIM_X_STARTING, SIM_X_RUNNING, SIM_X_STOPPING };
enum sim_fence_mode { SIM_FENCE_OK, SIM_FENCE_FAIL, SIM_FENCE_HANG };
/* How the next migration of a group goes (`migration g1 ...`). */
enum sim_mig_how { SIM_MIG_OK, SIM_MIG_FAIL, SIM_MIG_HANG, SIM_MIG_SWITCH };

struct sim_xmig {                     /* a migration in flight on its source */
	uint32_t to;                  /* 0: none */
	uint8_t how;                  /* enum sim_mig_how, fixed when it began */
	bool switched;                /* the VM already runs on the target */
	bool cancelled;               /* a CANCEL arrived before the switchover */
};

struct sim_node {
	uint32_t id;
	bool alive;                   /* powered on, clusterd running */
	bool frozen;                  /* SIGSTOPped: out of the view, processes run on */
	bool fenced;                  /* powered off by a fence agent, not started since */
	uint32_t boots;               /* incarnation: stale agent runs are dropped */
	int side;                     /* network side: one partition per side */
	struct res_model *m;          /* replica; kept while down (the database on disk) */
	uint8_t *xs;                  /* executor truth per resource (enum sim_x) */
	uint64_t *xgen;               /* gen of the last operation per resource */
	uint32_t *xop;                /* pending operation id per resource, 0: none */
	struct sim_xmig *xmig;        /* per resource: its migration from here */
	uint8_t *xwatch;              /* per resource: MONITOR received (migrated here) */
	int npend;                    /* pending operations (a migration counts) */
	int nfence;                   /* fence agent runs under way here */
	uint32_t *view;               /* the view last applied */
	size_t nview;
	bool viewed;                  /* view valid (false after boot) */
	bool inq;                     /* that view was quorate */
	uint64_t qstamp;              /* message seq last applied while quorate */
	int64_t wake_ms, wake_sent;
	int *gact;                    /* per group: resources not stopped here */
	uint8_t *unsafe;              /* per group: lost here, not yet fenced */
};

struct sim_msg {
	uint32_t origin;
	struct res_event ev;          /* members, quorate, now filled at delivery */
	char text[RES_REASON_MAX];
	char *set;                    /* RES_EV_CONFIG: an option to apply first */
	bool view;                    /* the tick of a view change */
};

struct sim_timer {
	int64_t due;
	uint64_t seq;
	int kind;
	uint32_t node, id, target;
	int res;
	int op;
	uint64_t gen;
};

struct sim_hist {                     /* for `assert order` */
	uint64_t seq;
	char kind;                    /* 'F' fence, 'S' start, 'T' stop, 'M' migration began */
	uint32_t node;
	int res;
};

struct sim_world {
	int64_t now;
	int tz_min;
	bool fencing_off, enforced_aa;
	int drain_parallel;           /* cluster property; 0: the core's default */
	bool single;                  /* --scale: one replica shared by all nodes */
	bool io_check;                /* round-trip every input through res_io */
	bool quiet;                   /* print nothing per message (--scale) */
	const char *save_dir;         /* save inputs that led to actions, like clusterd */
	unsigned nsaved;
	bool failed;                  /* an invariant broke: stop */
	bool set_refused;             /* a `set` option did not apply */
	FILE *out;
	uint32_t nnodes;
	struct sim_node *nodes;       /* index id - 1 */
	size_t nres, ngroups;         /* of the configuration */
	/* timers: a binary heap on (due, seq) */
	struct sim_timer *heap;
	size_t nheap, cap_heap;
	uint64_t seq;
	/* messages: FIFO */
	struct sim_msg *q;
	size_t qhead, qlen, qcap;
	uint64_t msgseq;
	/* fake executor and fence agents */
	int64_t delay_on_ms, delay_off_ms, delay_term_ms, delay_fence_ms, fence_timeout_ms, delay_mig_ms;
	int64_t *res_delay_on, *res_delay_off;
	int *fail_start, *fail_stop;
	uint8_t *mig_next;            /* per group: enum sim_mig_how of its next migrations */
	int *mig_count;               /* ... for this many of them */
	int *mig_peak;                /* per node id: most migrations from it at once */
	enum sim_fence_mode fence_mode[SIM_MAX_NODES + 1]; /* per target */
	uint32_t opseq;
	/* history and measurements */
	bool keep_hist;
	struct sim_hist *hist;
	size_t nhist, cap_hist;
	double step_ms_view;          /* wall time of res_step for the last view tick */
	double step_ms_fence;         /* ... and for the last fence result */
	bool warned_wake;
};

struct sim_world *sim_world_new(const struct sim_cfg *c, bool single, FILE *out,
				char *err, size_t errlen);
void sim_world_free(struct sim_world *w);
/* Boot the nodes marked up in the configuration. */
int sim_world_boot(struct sim_world *w, const struct sim_cfg *c);
struct sim_node *sim_node(struct sim_world *w, uint32_t id);
bool sim_in_view(const struct sim_node *n);
void sim_timer_push(struct sim_world *w, struct sim_timer t);
/* Lowest member of the quorate partition, or 0. */
uint32_t sim_quorate_leader(struct sim_world *w);
/* The replica asserts look at: the quorate leader's, else the lowest alive node's. */
struct res_model *sim_view_model(struct sim_world *w);
/* Queue a message from origin to its partition; NULL if origin is in no view. */
struct sim_msg *sim_send(struct sim_world *w, uint32_t origin, const struct res_event *ev,
			 const char *text, const char *set);
void sim_flush(struct sim_world *w);
/* Run timers up to now + dt; settle: stop once nothing is pending. */
void sim_run(struct sim_world *w, int64_t dt, bool settle);
bool sim_quiet(const struct sim_world *w);
void sim_net_changed(struct sim_world *w);
bool sim_partition(const struct sim_world *w, uint32_t id, uint32_t *members, size_t *n);
bool sim_quorate(const struct sim_world *w, size_t nmembers);

/* ---- output (sim_print.c) ---- */

/* A line prefixed with the virtual time; nothing when w->quiet. */
void sim_printf(struct sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sim_time_str(const struct sim_world *w, int64_t t, char *buf, size_t len);
void sim_view_str(const uint32_t *mem, size_t n, char *buf, size_t len);
/* The message and its plan's notes and actions (ticks that change nothing: none). */
void sim_print_plan(struct sim_world *w, const struct sim_msg *msg, const struct res_event *ev,
		    const struct res_model *m, const struct res_plan *p, const char *vs);

/* ---- fake executors and fence agents, node events (sim_exec.c) ---- */

/* Node n begins its own action a (applied from a plan). */
void sim_exec_action(struct sim_world *w, struct sim_node *n, const struct res_action *a);
void sim_exec_done(struct sim_world *w, struct sim_timer *t);
void sim_fence_done(struct sim_world *w, struct sim_timer *t);
/* A node without quorum stops its resources within a second (DESIGN.md). */
void sim_qstop_done(struct sim_world *w, struct sim_timer *t);
/* clusterd's probe when it joins a quorate view: what its replica believes
 * it runs but does not is reported failed. */
void sim_probe(struct sim_world *w, struct sim_node *n);
void sim_kill(struct sim_world *w, uint32_t id);
void sim_start(struct sim_world *w, uint32_t id);
void sim_freeze(struct sim_world *w, uint32_t id, bool frozen);
/* A running resource dies (health failure); on: its node, or 0 to find it. */
int sim_fail_running(struct sim_world *w, int r, uint32_t on);
/* An operator stops a running resource outside the cluster (RES_OP_STOPPED). */
int sim_stop_outside(struct sim_world *w, int r, uint32_t on);
/* Complete the hung migration of group g now (switch over, report ok). */
int sim_mig_finish(struct sim_world *w, int g);

/* ---- invariants and history (sim_check.c) ---- */

void sim_fail(struct sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Before node n begins op on resource r (its replica gives the config). */
void sim_check_op(struct sim_world *w, struct sim_node *n, int r, int op);
/* After a message: per-replica sanity on the first member's replica. */
void sim_check_replica(struct sim_world *w, const struct res_model *m);
/* The truth: every group's resources run on one node at most. */
void sim_check_groups(struct sim_world *w);
/* Before node n begins the MIGRATE action a: the group is wholly online
 * there (replica and truth) and the target is another member. */
void sim_check_migrate(struct sim_world *w, struct sim_node *n, const struct res_action *a);
/* Executor truth changes go through here (keeps per-node group counts). */
void sim_x_set(struct sim_world *w, struct sim_node *n, int r, enum sim_x s);
/* The groups a node runs (truth) when it leaves a view are unsafe to start
 * elsewhere until it is fenced, confirmed down, rebooted or back in a
 * quorate partition. */
void sim_mark_unsafe(struct sim_world *w, struct sim_node *lost);
void sim_clear_unsafe(struct sim_world *w, struct sim_node *n);
void sim_hist_add(struct sim_world *w, char kind, uint32_t node, int res);
/* Seq of the latest matching entry, 0 if none. res < 0: group -res-1. */
uint64_t sim_hist_find(const struct sim_world *w, char kind, uint32_t node, int res,
		       const struct res_model *m);
int64_t sim_group_mb(const struct res_model *m, int g);

/* A scenario's assert ("assert[@NODE] owner g1 == 2", README.md): 0 held,
 * -1 failed, -2 malformed; why says what was found. */
int sim_assert(struct sim_world *w, char **tok, int n, char *why, size_t len);

/* ---- the script (sim_script.c) ---- */

/* Run one scenario file; 0 when every assert held and no invariant broke. */
int sim_script_run(const char *path, FILE *out);

#endif

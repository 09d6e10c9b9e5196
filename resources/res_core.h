/* res_core.h - the policy core: groups, resources, their state machines and
 * placement, as one pure deterministic function.
 *
 * The model holds the configuration (groups, resources, dependencies,
 * policies, nodes) and the runtime state (resource states and owners,
 * failure histories, fencing state, one-shot moves). res_step() applies one
 * event from the replicated stream and then plans: it changes runtime state
 * (every change with a reason) and returns the actions each node must run.
 * Every node applies the same events in the same order to the same model, so
 * every node computes the same changes and the same plan; each node executes
 * only its own actions.
 *
 * Never here: I/O, a clock (time is in the event: now_ms), random numbers,
 * globals, logging. Every ordering is explicit and ends with the lowest node
 * id or the name of the object.
 */
#ifndef RES_CORE_H
#define RES_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RES_NAME_MAX 64
#define RES_REASON_MAX 256
#define RES_HIST_MAX 32        /* restart/failover times kept per object */
#define RES_NODE_ANY 0         /* "no node" / "any node" */

enum res_state {
	RES_S_OFFLINE = 0,
	RES_S_ONLINE_PENDING = 1,
	RES_S_ONLINE = 2,
	RES_S_OFFLINE_PENDING = 3,
	RES_S_FAILED = 4,
};

enum res_gstate {
	RES_G_OFFLINE = 0,
	RES_G_ONLINE = 1,
	RES_G_PARTIAL = 2,
	RES_G_PENDING = 3,
	RES_G_FAILED = 4,
};

enum res_restart { RES_RESTART_NONE = 0, RES_RESTART_RESTART = 1, RES_RESTART_FAILOVER = 2 };
enum res_failback { RES_FB_NEVER = 0, RES_FB_IMMEDIATE = 1, RES_FB_WINDOW = 2 };
enum res_prio { RES_PRIO_HIGH = 0, RES_PRIO_MEDIUM = 1, RES_PRIO_LOW = 2, RES_PRIO_NO_AUTO = 3 };
enum res_fence {
	RES_F_NONE = 0,      /* nothing to do */
	RES_F_NEEDED = 1,    /* lost with resources on it; waiting for an agent run or confirm-down */
	RES_F_FENCING = 2,   /* an agent run is under way on node fencer */
	RES_F_FENCED = 3,    /* confirmed off; cleared when it joins again */
};

/* Actions: what a node must do. */
enum res_op {
	RES_OP_ONLINE = 1,
	RES_OP_OFFLINE = 2,
	RES_OP_TERMINATE = 3,   /* forced stop */
	RES_OP_FENCE = 4,       /* run the fence agent against target */
	RES_OP_HEALTH = 5,      /* only in results: a health check failed (looks_alive/is_alive) */
	RES_OP_MIGRATE = 6,     /* on the source: move res (the group's driver) to target, mode */
	RES_OP_MONITOR = 7,     /* it runs on this node now (migrated here): watch it */
	RES_OP_CANCEL = 8,      /* abort the migration of res under way on this node */
	RES_OP_STOPPED = 9,     /* only in results: stopped outside the cluster (an operator) */
};

/* How a group moves without stopping (the resource types say who can). */
enum res_mig_kind {
	RES_MIGK_NONE = 0,      /* cannot migrate: the group moves by offline/online */
	RES_MIGK_FOLLOW = 1,    /* carried along by the group's driver (vm-config) */
	RES_MIGK_DRIVE = 2,     /* runs the migration (vm) */
};
enum res_mig_mode { RES_MIG_NONE = 0, RES_MIG_LIVE = 1, RES_MIG_QUICK = 2 };

struct res_node {
	uint32_t id;
	char name[RES_NAME_MAX];
	int64_t memory_mb;      /* capacity for groups; 0: unlimited */
	bool has_agent;         /* a fence agent is configured for it */
	/* runtime */
	bool member;            /* in the current view (set by res_step from the input) */
	bool paused;
	bool draining;          /* groups are being moved off; cleared when none is left */
	enum res_fence fence;
	uint32_t fencer;        /* RES_F_FENCING: the node running the agent */
	int64_t fence_since_ms;
	int64_t fence_retry_ms; /* RES_F_NEEDED after a failed run: not before this */
	uint32_t fence_attempts;
	bool down_seen;         /* RES_F_FENCED: seen out of the view since */
};

struct res_resource {
	char name[RES_NAME_MAX];
	char type[16];
	int group;              /* index into model groups */
	int *deps;              /* indexes of the resources this one depends on */
	int ndeps;
	bool dep_or;            /* any one of deps suffices (default: all) */
	uint32_t *possible;     /* node ids; npossible == 0: every node */
	int npossible;
	enum res_mig_kind mig;  /* from the type (res_model_add_resource) */
	enum res_restart restart;
	int restart_threshold;
	int64_t restart_period_ms;
	int64_t memory_mb;
	int *rdeps;             /* derived: the resources that depend on this one */
	int nrdeps;
	char group_name[RES_NAME_MAX];   /* building only */
	/* runtime */
	enum res_state state;
	uint32_t node;          /* where state applies; 0 when offline nowhere */
	uint64_t gen;           /* bumped at every pending transition; results carry it */
	bool restart_wanted;    /* Failed: clean up, then start again in place */
	bool keep_failed;       /* OfflinePending cleanup of a failure: end Failed, not Offline */
	bool stop_failed;       /* Failed on its node because it could not be stopped: no retries */
	bool held;              /* stopped outside the cluster: not started again until 'group online' */
	int64_t restarts[RES_HIST_MAX];   /* times of automatic restarts, oldest first */
	int nrestarts;
	char reason[RES_REASON_MAX];      /* why it is in its state */
};

struct res_group {
	char name[RES_NAME_MAX];
	int *res;               /* member resource indexes, sorted by name */
	int nres;
	uint32_t *preferred;    /* ordered node ids */
	int npreferred;
	enum res_failback failback;
	int fb_start_h, fb_end_h;   /* RES_FB_WINDOW: [start, end) hours, wraps midnight */
	char aa_class[RES_NAME_MAX];
	enum res_prio prio;
	int failover_threshold; /* < 0: nodes - 1 */
	int64_t failover_period_ms;
	/* runtime */
	bool want_online;       /* the administrator's intent (persistent) */
	uint32_t owner;         /* node the group is on, or was last on */
	uint32_t move_to;       /* one-shot move target; RES_NODE_ANY with moving */
	bool moving;            /* a move or failover is under way */
	bool failing_over;      /* the move is a failover: rotate after owner */
	bool admin_move;        /* the move is the administrator's (group move) */
	bool pinned;            /* placed by the administrator: failback leaves it there */
	bool failed;            /* left Failed by policy (threshold reached) */
	/* migration: requested (mig_mode set), then under way (mig_running) */
	enum res_mig_mode mig_mode;
	bool mig_running;
	bool mig_admin;         /* the administrator's (vm migrate), not drain or failback */
	uint32_t mig_from, mig_to;  /* mig_to RES_NODE_ANY: the best other node */
	int64_t mig_retry_ms;   /* a failed policy migration: not again before this */
	int64_t failovers[RES_HIST_MAX];
	int nfailovers;
	char reason[RES_REASON_MAX];
};

/* Events: one per applied message. */
enum res_ev {
	RES_EV_TICK = 1,          /* time passed or the view changed */
	RES_EV_RESULT = 2,        /* res, node, gen, op, ok, text */
	RES_EV_FENCE_RESULT = 3,  /* node(target), gen (the attempt; 0: any), ok, text */
	RES_EV_CONFIRM_DOWN = 4,  /* node */
	RES_EV_GROUP_ONLINE = 5,  /* group */
	RES_EV_GROUP_OFFLINE = 6, /* group */
	RES_EV_GROUP_MOVE = 7,    /* group, node (RES_NODE_ANY: the best other node) */
	RES_EV_NODE_DRAIN = 8,    /* node */
	RES_EV_NODE_PAUSE = 9,    /* node, ok = paused */
	RES_EV_CONFIG = 10,       /* configuration changed; replan */
	RES_EV_GROUP_MIGRATE = 11,/* group, node (RES_NODE_ANY: best other), mode */
	RES_EV_MIGRATE_CANCEL = 12, /* group */
};

struct res_event {
	enum res_ev type;
	int64_t now_ms;           /* cluster time of the message (ms since the epoch) */
	int tz_offset_min;        /* for failback windows: local = UTC + offset */
	bool quorate;             /* the view applying it has quorum */
	bool fencing_off;         /* cluster property fencing=off (unsafe) */
	bool enforced_aa;         /* anti-affinity classes are hard constraints */
	int drain_parallel;       /* groups migrated off a draining node at once (<= 0: 2) */
	enum res_mig_mode mode;   /* GROUP_MIGRATE */
	const uint32_t *members;  /* the view, sorted */
	size_t nmembers;
	int res;                  /* RESULT */
	int group;                /* GROUP_* */
	uint32_t node;            /* RESULT (reporting node), FENCE_RESULT (target), NODE_*, MOVE */
	uint64_t gen;             /* RESULT */
	enum res_op op;           /* RESULT */
	bool ok;                  /* RESULT, FENCE_RESULT, NODE_PAUSE */
	const char *text;         /* RESULT, FENCE_RESULT: detail for the reason */
};

struct res_action {
	uint32_t node;            /* who executes it */
	enum res_op op;
	int res;                  /* ONLINE/OFFLINE/TERMINATE */
	uint64_t gen;
	uint32_t target;          /* FENCE, MIGRATE */
	enum res_mig_mode mode;   /* MIGRATE */
	char reason[RES_REASON_MAX];
};

/* Kinds of changes, for persistence: the caller rewrites these objects. */
struct res_change {
	enum { RES_CH_RESOURCE, RES_CH_GROUP, RES_CH_NODE } kind;
	int index;                /* resource/group index, or node index */
};

struct res_note {             /* a line for the event log */
	int severity;             /* 0 info, 1 notice, 2 warning, 3 error */
	char object[RES_NAME_MAX];
	char text[RES_REASON_MAX + 96];
};

struct res_plan {
	struct res_action *actions;
	size_t nactions, cap_actions;
	struct res_change *changes;
	size_t nchanges, cap_changes;
	struct res_note *notes;
	size_t nnotes, cap_notes;
	int64_t next_wake_ms;     /* 0, or when a tick is needed (failback window, fence retry) */
	int rc;                   /* 0, or -ENOMEM while filling */
};

struct res_model {
	struct res_node *nodes;   /* sorted by id */
	size_t nnodes;
	struct res_resource *res; /* sorted by name */
	size_t nres;
	struct res_group *groups; /* sorted by name */
	size_t ngroups;
	int *order;               /* group indexes by (prio, name): placement order */
	struct res_pdep { char res[RES_NAME_MAX], dep[RES_NAME_MAX]; } *pdeps; /* building only */
	size_t npdeps;
	bool finished;
	/* scratch, sized by res_model_finish() */
	int64_t *used_mb;         /* per node index */
	int *ngrp_on;             /* active groups per node index */
};

/* Model building (configuration). Adding returns the index or -CM_E_NAME /
 * -ENOMEM (-CM_E_EXISTS for a node id or name used twice). After adding
 * everything, call res_model_finish() (sorts, resolves, sizes scratch; fails
 * with -CM_E_EXISTS for a group or resource name used twice and
 * -CM_E_NO_OBJECT for a resource of an unknown group); indexes returned
 * before it stay valid only if objects were added in name order, so look
 * objects up with the *_find functions after finishing. */
struct res_model *res_model_new(void);
void res_model_free(struct res_model *m);
int res_model_add_node(struct res_model *m, uint32_t id, const char *name);
int res_model_add_group(struct res_model *m, const char *name);
int res_model_add_resource(struct res_model *m, const char *name, const char *type, const char *group);
/* Dependency: res depends on dep (same group). */
int res_model_add_dep(struct res_model *m, const char *res, const char *dep);
int res_model_finish(struct res_model *m);
/* Recompute the placement order after priorities changed. */
int res_model_reorder(struct res_model *m);
int res_node_find(const struct res_model *m, uint32_t id);          /* index or -1 */
int res_node_find_name(const struct res_model *m, const char *name);
int res_group_find(const struct res_model *m, const char *name);
int res_resource_find(const struct res_model *m, const char *name);
/* Setting list fields copies them. */
int res_group_set_preferred(struct res_model *m, int g, const uint32_t *ids, int n);
int res_resource_set_possible(struct res_model *m, int r, const uint32_t *ids, int n);

/* Write-time checks of a dependency change, before it is stored: unknown
 * resource, another group, itself, a cycle. 0 or -CM_E_* with a sentence. */
int res_dep_check(const struct res_model *m, const char *res, const char *dep,
		  char *err, size_t errlen);

/* Can group g be moved to the node named node (write-time check of
 * 'group move --node')? 0 or -CM_E_* with a sentence. */
int res_move_check(const struct res_model *m, int g, const char *node, char *err, size_t errlen);

/* Apply one event and plan. The plan is reset first. Returns 0 or
 * -ENOMEM (the model is then unchanged only as far as the event went). */
int res_step(struct res_model *m, const struct res_event *ev, struct res_plan *plan);
void res_plan_free(struct res_plan *p);

/* Can group g migrate (live or quick) now? 0, or -CM_E_* with a sentence:
 * its resources, their state, the target (node name, or NULL for any). */
int res_migrate_check(const struct res_model *m, int g, const char *node, char *err, size_t errlen);

/* Derived state of a group. */
enum res_gstate res_group_state(const struct res_model *m, int g);
/* The node a group is active on (some resource not offline), or 0. */
uint32_t res_group_active_node(const struct res_model *m, int g);

const char *res_state_to_str(enum res_state s);
const char *res_gstate_to_str(enum res_gstate s);
const char *res_op_to_str(enum res_op op);
const char *res_fence_to_str(enum res_fence f);
const char *res_restart_to_str(enum res_restart r);
const char *res_failback_to_str(enum res_failback f);
const char *res_prio_to_str(enum res_prio p);
const char *res_mig_mode_to_str(enum res_mig_mode mm);
int res_mig_mode_from_str(const char *s);
int res_state_from_str(const char *s);       /* -1 when unknown; same below */
int res_fence_from_str(const char *s);
int res_restart_from_str(const char *s);
int res_failback_from_str(const char *s);
int res_prio_from_str(const char *s);

#endif

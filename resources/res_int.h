/* res_int.h - what the policy core's files share: the step context, the one
 * transition function and the plan builders. Private to resources/. */
#ifndef RES_INT_H
#define RES_INT_H

#include "res_core.h"

struct res_st {
	struct res_model *m;
	const struct res_event *ev;
	struct res_plan *p;
	/* anti-affinity: per distinct class, groups per node index */
	const char **aa_names;
	int *aa_count;          /* naa × nnodes */
	int naa;
	int *drain_blocked;     /* per node index: groups that cannot leave it */
};

void res_note(struct res_st *st, int severity, const char *object, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void res_changed(struct res_st *st, int kind, int index);
void res_action(struct res_st *st, uint32_t node, enum res_op op, int r, uint32_t target,
		const char *reason);
/* The one way a resource changes state: records the change and its reason,
 * bumps gen on pending states and emits their action. */
void res_set_state(struct res_st *st, int r, enum res_state to, uint32_t node, const char *reason);
void res_set_reason(struct res_st *st, int kind, int index, char *field, const char *reason);

/* res_fsm.c */
void res_membership(struct res_st *st);
void res_apply_event(struct res_st *st);
void res_fencing(struct res_st *st);
/* Node ni is off: recover what it ran (its groups fail over). */
void res_node_fenced(struct res_st *st, int ni, const char *how);
/* A resource failed while online or starting: restart or fail over. */
void res_failure(struct res_st *st, int r, const char *why);

/* res_plan.c */
void res_plan_groups(struct res_st *st);
bool res_node_usable(const struct res_model *m, int n);
int res_count_since(const int64_t *times, int n, int64_t since);
void res_hist_add(int64_t *times, int *n, int64_t t, int64_t since);
int res_failover_threshold(const struct res_model *m, const struct res_group *g);
/* Record a failover of g; false (and g Failed) when the threshold is reached. */
bool res_group_failover(struct res_st *st, int g, const char *why);

/* res_plan.c, for res_mig.c: the target of a migration of g active on from
 * (to, or the best other node when RES_NODE_ANY), RES_NODE_ANY with why. */
uint32_t res_mig_target(struct res_st *st, int gi, uint32_t from, uint32_t to, char *why, size_t len);

/* res_mig.c */
void res_mig_request(struct res_st *st, int gi, uint32_t to, enum res_mig_mode mode, bool admin,
		     const char *why);
/* Plan a group active on node a: true when a migration is under way or was
 * just started (nothing else may happen to the group in this step). */
bool res_mig_plan(struct res_st *st, int gi, uint32_t a);
void res_mig_result(struct res_st *st, int ri);
void res_mig_cancel(struct res_st *st, int gi);
void res_mig_node_fenced(struct res_st *st, uint32_t node);
bool res_mig_pending_on(const struct res_model *m, uint32_t node);
bool res_mig_count_from(const struct res_model *m, uint32_t node, int *n);
bool res_mig_can(const struct res_model *m, int gi);

#endif

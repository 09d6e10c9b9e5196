/* res_mig.c - moving a group without stopping it: live and quick migration.
 *
 * A group can migrate when exactly one of its resources drives the
 * migration (a vm) and every other one is carried along by it (vm-config),
 * all of them online on one node. A migration is requested (vm migrate,
 * drain, failback), then started: the driver's node gets a MIGRATE action
 * and the group stays where it is, unchanged, until the result. Its result
 * moves every resource of the group to the target in that one step, so at
 * no point does the cluster hold two owners: before the result the source
 * owns it, after it the target. A failed migration leaves the group on the
 * source (the executor there resumes or restores it).
 *
 * Lost nodes: if the source is lost while migrating, the VM may already run
 * on the target, so the failover goes to the target (starting a VM that
 * runs there adopts it). If the target is lost, it is fenced like a node
 * with resources (the VM may have switched over), and the source's result
 * decides: a success then counts as a failure of the driver.
 * Pure: no I/O, no clock, no globals.
 */
#include <stdio.h>
#include <string.h>

#include "cm_err.h"
#include "cm_str.h"
#include "res_int.h"

#define MIG_RETRY_MS (10 * 60 * 1000)

const char *res_mig_mode_to_str(enum res_mig_mode mm)
{
	switch (mm) {
	case RES_MIG_LIVE: return "live";
	case RES_MIG_QUICK: return "quick";
	default: return "none";
	}
}

int res_mig_mode_from_str(const char *s)
{
	if (s && strcmp(s, "live") == 0)
		return RES_MIG_LIVE;
	if (s && strcmp(s, "quick") == 0)
		return RES_MIG_QUICK;
	if (s && strcmp(s, "none") == 0)
		return RES_MIG_NONE;
	return -1;
}

static const char *node_name(const struct res_model *m, uint32_t id)
{
	int n = res_node_find(m, id);

	return n >= 0 ? m->nodes[n].name : "?";
}

/* The driver of g, or -1 with why: the structure of the group. */
static int mig_driver(const struct res_model *m, int gi, char *why, size_t len)
{
	const struct res_group *g = &m->groups[gi];
	int k, drv = -1;

	for (k = 0; k < g->nres; k++) {
		const struct res_resource *r = &m->res[g->res[k]];

		if (r->mig == RES_MIGK_NONE) {
			snprintf(why, len, "resource '%s' (type %s) cannot migrate", r->name, r->type);
			return -1;
		}
		if (r->mig == RES_MIGK_DRIVE) {
			if (drv >= 0) {
				snprintf(why, len, "group '%s' holds more than one virtual machine", g->name);
				return -1;
			}
			drv = g->res[k];
		}
	}
	if (drv < 0)
		snprintf(why, len, "group '%s' holds no virtual machine", g->name);
	return drv;
}

/* The driver if g can migrate now from where it runs, else -1 with why. */
static int mig_ready(const struct res_model *m, int gi, char *why, size_t len)
{
	const struct res_group *g = &m->groups[gi];
	uint32_t a = res_group_active_node(m, gi);
	int k, drv = mig_driver(m, gi, why, len);

	if (drv < 0)
		return -1;
	for (k = 0; k < g->nres; k++) {
		const struct res_resource *r = &m->res[g->res[k]];

		if (r->state != RES_S_ONLINE || r->node != a) {
			snprintf(why, len, "'%s' is %s, not online", r->name, res_state_to_str(r->state));
			return -1;
		}
	}
	return drv;
}

int res_migrate_check(const struct res_model *m, int gi, const char *node, char *err, size_t errlen)
{
	const struct res_group *g;
	int ti, drv;

	if (gi < 0 || (size_t)gi >= m->ngroups)
		return -CM_E_NO_OBJECT;
	g = &m->groups[gi];
	if (g->mig_running || g->mig_mode != RES_MIG_NONE) {
		snprintf(err, errlen, "'%s' is already migrating (to '%s')", g->name, node_name(m, g->mig_to));
		return -CM_E_BUSY;
	}
	if (res_group_active_node(m, gi) == RES_NODE_ANY) {
		snprintf(err, errlen, "'%s' is not running: start it, or use --move to change its owner", g->name);
		return -CM_E_STATE;
	}
	drv = mig_ready(m, gi, err, errlen);
	if (drv < 0)
		return -CM_E_STATE;
	if (node == NULL || node[0] == '\0')
		return 0;
	ti = res_node_find_name(m, node);
	if (ti < 0) {
		snprintf(err, errlen, "node '%s' is not a member of the cluster", node);
		return -CM_E_NO_OBJECT;
	}
	if (m->nodes[ti].id == res_group_active_node(m, gi)) {
		snprintf(err, errlen, "'%s' already runs on '%s'", g->name, node);
		return -CM_E_STATE;
	}
	return res_move_check(m, gi, node, err, errlen);
}

void res_mig_request(struct res_st *st, int gi, uint32_t to, enum res_mig_mode mode, bool admin,
		     const char *why)
{
	struct res_group *g = &st->m->groups[gi];

	if (g->mig_running)
		return;
	g->mig_mode = mode;
	g->mig_to = to;
	g->mig_admin = admin;
	res_changed(st, RES_CH_GROUP, gi);
	res_set_reason(st, RES_CH_GROUP, gi, g->reason, why);
}

static void mig_clear(struct res_st *st, int gi)
{
	struct res_group *g = &st->m->groups[gi];

	g->mig_mode = RES_MIG_NONE;
	g->mig_running = false;
	g->mig_admin = false;
	g->mig_from = g->mig_to = RES_NODE_ANY;
	res_changed(st, RES_CH_GROUP, gi);
}

/* Start a requested migration of g, active on node a. */
static void mig_start(struct res_st *st, int gi, uint32_t a)
{
	struct res_model *m = st->m;
	struct res_group *g = &m->groups[gi];
	char why[RES_REASON_MAX], reason[2 * RES_REASON_MAX];
	uint32_t to;
	int drv = mig_ready(m, gi, why, sizeof(why));

	if (drv < 0) {
		if (g->mig_admin) {
			/* the administrator asked for the group elsewhere: move it */
			snprintf(reason, sizeof(reason), "cannot migrate (%s): moving instead", why);
			g->moving = true;
			g->failing_over = false;
			g->admin_move = true;
			g->move_to = g->mig_to;
			res_note(st, 2, g->name, "group '%s': %s", g->name, reason);
		} else {
			snprintf(reason, sizeof(reason), "migration not started: %s", why);
		}
		mig_clear(st, gi);
		res_set_reason(st, RES_CH_GROUP, gi, g->reason, reason);
		return;
	}
	to = res_mig_target(st, gi, a, g->mig_to, why, sizeof(why));
	if (to == RES_NODE_ANY) {
		snprintf(reason, sizeof(reason), "migration cancelled: %s", why);
		res_note(st, 2, g->name, "group '%s': %s", g->name, reason);
		mig_clear(st, gi);
		res_set_reason(st, RES_CH_GROUP, gi, g->reason, reason);
		return;
	}
	g->mig_running = true;
	g->mig_from = a;
	g->mig_to = to;
	res_changed(st, RES_CH_GROUP, gi);
	m->res[drv].gen++;
	res_changed(st, RES_CH_RESOURCE, drv);
	snprintf(reason, sizeof(reason), "%s migration from '%s' to '%s'", res_mig_mode_to_str(g->mig_mode),
		 node_name(m, a), node_name(m, to));
	res_set_reason(st, RES_CH_GROUP, gi, g->reason, reason);
	res_note(st, 1, g->name, "group '%s': %s", g->name, reason);
	res_action(st, a, RES_OP_MIGRATE, drv, to, reason);
	st->p->actions[st->p->nactions - 1].mode = g->mig_mode;
}

bool res_mig_plan(struct res_st *st, int gi, uint32_t a)
{
	struct res_group *g = &st->m->groups[gi];

	if (g->mig_running)
		return true; /* nothing else happens to it until the result */
	if (g->mig_mode == RES_MIG_NONE)
		return false;
	if (!g->want_online || g->failed || g->moving) {
		mig_clear(st, gi);
		return false;
	}
	mig_start(st, gi, a);
	return g->mig_running;
}

bool res_mig_count_from(const struct res_model *m, uint32_t node, int *n)
{
	size_t i;

	*n = 0;
	for (i = 0; i < m->ngroups; i++)
		if (m->groups[i].mig_running && m->groups[i].mig_from == node)
			(*n)++;
	return *n > 0;
}

bool res_mig_can(const struct res_model *m, int gi)
{
	char why[RES_REASON_MAX];

	return mig_ready(m, gi, why, sizeof(why)) >= 0;
}

/* The migration succeeded: every resource of the group is now on the target. */
static void mig_done(struct res_st *st, int gi, int drv, const char *text)
{
	struct res_model *m = st->m;
	struct res_group *g = &m->groups[gi];
	uint32_t from = g->mig_from, to = g->mig_to;
	int ti = res_node_find(m, to);
	char why[RES_REASON_MAX + 64];
	int k;

	(void)drv;
	snprintf(why, sizeof(why), "migrated (%s) from '%s'%s%s", res_mig_mode_to_str(g->mig_mode),
		 node_name(m, from), text && text[0] ? ": " : "", text ? text : "");
	for (k = 0; k < g->nres; k++) {
		int ri = g->res[k];
		struct res_resource *r = &m->res[ri];

		if (r->node != from || r->state != RES_S_ONLINE)
			continue;
		r->node = to;
		r->gen++;
		cm_strlcpy(r->reason, why, sizeof(r->reason));
		res_changed(st, RES_CH_RESOURCE, ri);
		res_action(st, to, RES_OP_MONITOR, ri, 0, why);
	}
	g->owner = to;
	g->pinned = g->mig_admin;
	res_note(st, 1, g->name, "group '%s': %s", g->name, why);
	res_set_reason(st, RES_CH_GROUP, gi, g->reason, why);
	mig_clear(st, gi);
	/* it switched over to a node that was lost meanwhile: the lost-node path
	 * fences it (the VM may run there) and fails the group over; a target
	 * fenced already took the VM down with it */
	if (ti >= 0 && !res_node_usable(m, ti) && m->nodes[ti].fence == RES_F_FENCED)
		res_node_fenced(st, ti, "was fenced while a VM migrated to it");
}

static void mig_failed(struct res_st *st, int gi, const char *text)
{
	struct res_model *m = st->m;
	struct res_group *g = &m->groups[gi];
	const struct res_node *src = &m->nodes[res_node_find(m, g->mig_from)];
	char why[RES_REASON_MAX + 64];
	bool fallback = g->mig_mode == RES_MIG_LIVE && src->draining;

	snprintf(why, sizeof(why), "%s migration to '%s' failed: %s%s", res_mig_mode_to_str(g->mig_mode),
		 node_name(m, g->mig_to), text ? text : "", fallback ? "; trying quick migration" : "");
	res_note(st, 2, g->name, "group '%s': %s", g->name, why);
	res_set_reason(st, RES_CH_GROUP, gi, g->reason, why);
	if (fallback) {
		uint32_t to = g->mig_to;

		mig_clear(st, gi);
		res_mig_request(st, gi, to, RES_MIG_QUICK, false, why);
		return;
	}
	if (!g->mig_admin)
		g->mig_retry_ms = st->ev->now_ms + MIG_RETRY_MS;
	mig_clear(st, gi);
}

void res_mig_result(struct res_st *st, int ri)
{
	const struct res_event *ev = st->ev;
	struct res_resource *r = &st->m->res[ri];
	struct res_group *g = &st->m->groups[r->group];

	if (!g->mig_running || g->mig_from != ev->node) {
		/* the group was failed over meanwhile: a switched-over VM is
		 * found by the start on the failover target (it adopts it) */
		res_note(st, 1, r->name, "resource '%s': migration result from '%s' after the migration was"
			 " given up: %s", r->name, node_name(st->m, ev->node), ev->text ? ev->text : "");
		return;
	}
	if (ev->ok)
		mig_done(st, r->group, ri, ev->text);
	else
		mig_failed(st, r->group, ev->text);
}

void res_mig_cancel(struct res_st *st, int gi)
{
	struct res_group *g = &st->m->groups[gi];
	int drv;
	char why[RES_REASON_MAX];

	if (!g->mig_running) {
		if (g->mig_mode != RES_MIG_NONE)
			mig_clear(st, gi);
		return;
	}
	drv = mig_driver(st->m, gi, why, sizeof(why));
	if (drv >= 0)
		res_action(st, g->mig_from, RES_OP_CANCEL, drv, g->mig_to, "cancelled by the administrator");
}

void res_mig_node_fenced(struct res_st *st, uint32_t node)
{
	struct res_model *m = st->m;
	size_t i;
	int k;

	for (i = 0; i < m->ngroups; i++) {
		struct res_group *g = &m->groups[i];
		uint32_t to = g->mig_to;
		char why[RES_REASON_MAX];

		if (!g->mig_running || g->mig_from != node)
			continue;
		mig_clear(st, (int)i);
		if (!res_node_usable(m, res_node_find(m, to)))
			continue; /* lost too: fenced in turn, then recovered as usual */
		/* the VM may have switched over: it must go there and nowhere
		 * else, whatever placement would say (paused, memory, thresholds);
		 * starting it there adopts a domain that runs */
		snprintf(why, sizeof(why), "node '%s' was lost while migrating it to '%s': adopting it there",
			 node_name(m, node), node_name(m, to));
		res_note(st, 2, g->name, "group '%s': %s", g->name, why);
		g->failed = false;
		g->moving = g->failing_over = g->admin_move = false;
		g->move_to = RES_NODE_ANY;
		g->owner = to;
		res_set_reason(st, RES_CH_GROUP, (int)i, g->reason, why);
		for (k = 0; k < g->nres; k++) {
			struct res_resource *r = &m->res[g->res[k]];

			if (r->state == RES_S_FAILED) {
				r->restart_wanted = r->keep_failed = r->stop_failed = false;
				res_set_state(st, g->res[k], RES_S_OFFLINE, RES_NODE_ANY, why);
			}
			if (r->state == RES_S_OFFLINE)
				res_set_state(st, g->res[k], RES_S_ONLINE_PENDING, to, why);
		}
	}
}

bool res_mig_pending_on(const struct res_model *m, uint32_t node)
{
	size_t i;

	for (i = 0; i < m->ngroups; i++)
		if (m->groups[i].mig_running && m->groups[i].mig_to == node)
			return true;
	return false;
}

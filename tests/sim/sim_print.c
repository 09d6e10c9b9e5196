/* sim_print.c - the simulator's output: one line per step of interest,
 * prefixed with the virtual (local) time, so expected files diff well.
 */
#include <stdarg.h>
#include <stdio.h>

#include "res_io.h"
#include "sim.h"

static const char *const sev_names[] = { "info", "notice", "warning", "error" };

const char *sim_time_str(const struct sim_world *w, int64_t t, char *buf, size_t len)
{
	int64_t local = t - SIM_T0_MS + (int64_t)w->tz_min * 60000;
	int64_t day = local / 86400000, ms = local % 86400000;

	if (ms < 0) {
		ms += 86400000;
		day--;
	}
	snprintf(buf, len, "%02d:%02d:%02d.%03d", (int)(ms / 3600000),
		 (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), (int)(ms % 1000));
	if (day) {
		char tmp[48];

		snprintf(tmp, sizeof(tmp), "d%lld %s", (long long)day, buf);
		snprintf(buf, len, "%s", tmp);
	}
	return buf;
}

void sim_printf(struct sim_world *w, const char *fmt, ...)
{
	char ts[48];
	va_list ap;

	if (w->quiet)
		return;
	fprintf(w->out, "%s ", sim_time_str(w, w->now, ts, sizeof(ts)));
	va_start(ap, fmt);
	vfprintf(w->out, fmt, ap);
	va_end(ap);
	fputc('\n', w->out);
}

void sim_view_str(const uint32_t *mem, size_t n, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off + 12 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u", i ? "," : "", mem[i]);
}

static const char *rname(const struct res_model *m, int r)
{
	return r >= 0 && (size_t)r < m->nres ? m->res[r].name : "?";
}

static void print_event(struct sim_world *w, const struct sim_msg *msg, const struct res_event *ev,
			const struct res_model *m, const char *vs)
{
	const char *g = ev->group >= 0 && (size_t)ev->group < m->ngroups ? m->groups[ev->group].name : "?";
	const char *txt = ev->text ? ev->text : "";
	const char *sp = ev->text ? " " : "";

	switch (ev->type) {
	case RES_EV_RESULT:
		sim_printf(w, "{%s} result %s %s %s gen %llu from %u%s%s", vs, rname(m, ev->res),
			   res_op_to_str(ev->op), ev->ok ? "ok" : "failed",
			   (unsigned long long)ev->gen, ev->node, sp, txt);
		break;
	case RES_EV_FENCE_RESULT:
		sim_printf(w, "{%s} fence result node %u %s%s%s", vs, ev->node,
			   ev->ok ? "ok" : "failed", sp, txt);
		break;
	case RES_EV_GROUP_ONLINE:
	case RES_EV_GROUP_OFFLINE:
		sim_printf(w, "{%s} %s %s", vs, res_ev_to_str(ev->type), g);
		break;
	case RES_EV_GROUP_MOVE:
		if (ev->node)
			sim_printf(w, "{%s} group_move %s to %u", vs, g, ev->node);
		else
			sim_printf(w, "{%s} group_move %s to best", vs, g);
		break;
	case RES_EV_GROUP_MIGRATE:
		if (ev->node)
			sim_printf(w, "{%s} group_migrate %s %s to %u", vs, g, res_mig_mode_to_str(ev->mode), ev->node);
		else
			sim_printf(w, "{%s} group_migrate %s %s to best", vs, g, res_mig_mode_to_str(ev->mode));
		break;
	case RES_EV_MIGRATE_CANCEL:
		sim_printf(w, "{%s} %s %s", vs, res_ev_to_str(ev->type), g);
		break;
	case RES_EV_NODE_PAUSE:
		sim_printf(w, "{%s} node_pause %u %s", vs, ev->node, ev->ok ? "on" : "off");
		break;
	case RES_EV_CONFIRM_DOWN:
	case RES_EV_NODE_DRAIN:
		sim_printf(w, "{%s} %s %u", vs, res_ev_to_str(ev->type), ev->node);
		break;
	case RES_EV_CONFIG:
		sim_printf(w, "{%s} config %s", vs, msg->set ? msg->set : msg->text);
		break;
	default:
		sim_printf(w, "{%s} %s%s", vs, msg->view ? "tick (view)" : "tick",
			   ev->quorate ? "" : " without quorum");
	}
}

void sim_print_plan(struct sim_world *w, const struct sim_msg *msg, const struct res_event *ev,
		       const struct res_model *m, const struct res_plan *p, const char *vs)
{
	size_t i;

	if (w->quiet || (ev->type == RES_EV_TICK && p->nnotes == 0 && p->nactions == 0))
		return;
	print_event(w, msg, ev, m, vs);
	for (i = 0; i < p->nnotes; i++)
		sim_printf(w, "    %s %s: %s",
			   sev_names[p->notes[i].severity >= 0 && p->notes[i].severity < 4 ?
				     p->notes[i].severity : 3],
			   p->notes[i].object, p->notes[i].text);
	for (i = 0; i < p->nactions; i++) {
		const struct res_action *a = &p->actions[i];

		if (a->op == RES_OP_FENCE)
			sim_printf(w, "    do %u fence %u: %s", a->node, a->target, a->reason);
		else if (a->op == RES_OP_MIGRATE)
			sim_printf(w, "    do %u migrate %s %s to %u gen %llu: %s", a->node, rname(m, a->res),
				   res_mig_mode_to_str(a->mode), a->target, (unsigned long long)a->gen, a->reason);
		else
			sim_printf(w, "    do %u %s %s gen %llu: %s", a->node, res_op_to_str(a->op),
				   rname(m, a->res), (unsigned long long)a->gen, a->reason);
	}
}

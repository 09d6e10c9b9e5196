/* sim_script.c - the scenario language (tests/sim/README.md): one command a
 * line, configuration first, then faults, time and asserts.
 *
 * Output is one line per step of interest, prefixed with the virtual time,
 * so expected files diff well. An error in the script stops it; a failed
 * assert is reported and the script goes on; a broken invariant stops it.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_str.h"
#include "res_io.h"
#include "sim.h"

#define DAY_MS 86400000LL

struct scr {
	FILE *out;
	struct sim_cfg cfg;
	struct sim_world *w;
	struct sim_copt *later;       /* settings seen before the start */
	int nlater, cap_later;
	int line, nassert, nfailed;
	bool error;
};

static void serr(struct scr *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void serr(struct scr *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(s->out, "line %d: error: ", s->line);
	va_start(ap, fmt);
	vfprintf(s->out, fmt, ap);
	va_end(ap);
	fputc('\n', s->out);
	s->error = true;
}

static struct res_model *vm(struct scr *s)
{
	return sim_view_model(s->w);
}

static uint32_t node_arg(struct scr *s, const char *tok)
{
	uint32_t id = s->w ? sim_node_ref(vm(s), tok) : 0;

	if (id == 0)
		serr(s, "unknown node '%s'", tok);
	return id;
}

static int group_arg(struct scr *s, const char *tok)
{
	int g = res_group_find(vm(s), tok);

	if (g < 0)
		serr(s, "unknown group '%s'", tok);
	return g;
}

static int res_arg(struct scr *s, const char *tok)
{
	int r = res_resource_find(vm(s), tok);

	if (r < 0)
		serr(s, "unknown resource '%s'", tok);
	return r;
}

/* ---- configuration ---- */

static void join(char *buf, size_t len, char **tok, int from, int n)
{
	int i;

	buf[0] = '\0';
	for (i = from; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i > from ? " " : "", tok[i]);
}

static void cfg_line(struct scr *s, char **tok, int n)
{
	struct sim_cfg *c = &s->cfg;
	char opt[1024], *p, *save = NULL;
	long long v;
	int i, k, off;

	if (strcmp(tok[0], "nodes") == 0) {
		if (n != 2 || sim_parse_int(tok[1], 1, SIM_MAX_NODES, &v) || c->nnodes)
			return serr(s, "nodes N (1-%d), once, first", SIM_MAX_NODES);
		sim_cfg_init(c, (int)v);
		return;
	}
	if (c->nnodes == 0)
		return serr(s, "'nodes N' must come first");
	if (strcmp(tok[0], "node") == 0) {
		if (n < 2 || sim_parse_int(tok[1], 1, c->nnodes, &v))
			return serr(s, "node N [name X] [memory MB] [agent yes|no]");
		snprintf(opt, sizeof(opt), "node %lld", v);
		for (i = 2; i + 1 < n; i += 2)
			if (strcmp(tok[i], "name") == 0) {
				if (cm_strlcpy(c->node_name[v], tok[i + 1], RES_NAME_MAX) < 0)
					return serr(s, "name too long");
			} else {
				off = (int)strlen(opt);
				snprintf(opt + off, sizeof(opt) - (size_t)off, " %s %s", tok[i], tok[i + 1]);
			}
		if (i != n)
			return serr(s, "'%s' needs a value", tok[i]);
	} else if (strcmp(tok[0], "up") == 0) {
		for (k = 1; k <= c->nnodes; k++)
			c->node_down[k] = true;
		for (p = n == 2 ? strtok_r(tok[1], ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save)) {
			if (sim_parse_int(p, 1, c->nnodes, &v))
				return serr(s, "up: unknown node '%s'", p);
			c->node_down[v] = false;
		}
		return;
	} else if (strcmp(tok[0], "group") == 0) {
		if (n < 2 || sim_cfg_add_group(c, tok[1]) < 0)
			return serr(s, "group NAME [options]");
		join(opt, sizeof(opt), tok, 1, n);
	} else {   /* resource NAME group G [type T] [deps A,B] [options] */
		struct sim_cres *r;
		const char *grp = NULL, *type = "process", *deps = NULL;

		snprintf(opt, sizeof(opt), "%s", n > 1 ? tok[1] : "");
		for (i = 2; i + 1 < n; i += 2) {
			if (strcmp(tok[i], "or") == 0 || strcmp(tok[i], "and") == 0) {
				snprintf(opt + strlen(opt), sizeof(opt) - strlen(opt), " %s", tok[i]);
				i--;
			} else if (strcmp(tok[i], "group") == 0) {
				grp = tok[i + 1];
			} else if (strcmp(tok[i], "type") == 0) {
				type = tok[i + 1];
			} else if (strcmp(tok[i], "deps") == 0) {
				deps = tok[i + 1];
			} else {
				off = (int)strlen(opt);
				snprintf(opt + off, sizeof(opt) - (size_t)off, " %s %s", tok[i], tok[i + 1]);
			}
		}
		if (i < n && (strcmp(tok[i], "or") == 0 || strcmp(tok[i], "and") == 0))
			snprintf(opt + strlen(opt), sizeof(opt) - strlen(opt), " %s", tok[i]);
		else if (i < n)
			return serr(s, "'%s' needs a value", tok[i]);
		if (n < 2 || grp == NULL || sim_cfg_add_res(c, tok[1], type, grp) < 0)
			return serr(s, "resource NAME group G [type T] [deps A,B] [options]");
		r = &c->res[c->nres - 1];
		for (p = deps ? strtok_r((char *)deps, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save)) {
			if (r->ndeps == 8 || cm_strlcpy(r->deps[r->ndeps++], p, RES_NAME_MAX) < 0)
				return serr(s, "too many or too long dependencies");
		}
	}
	if (strchr(opt, ' ') && sim_cfg_add_opt(c, opt, s->line) < 0)
		serr(s, "out of memory");
}

/* ---- settings: before the start they wait for the world ---- */

static void setting(struct scr *s, char **tok, int n)
{
	struct sim_world *w = s->w;
	long long v;
	int64_t ms;
	int r;

	if ((strcmp(tok[0], "fencing") == 0 || strcmp(tok[0], "enforced-aa") == 0) && n == 2) {
		bool on = strcmp(tok[1], "on") == 0;

		if (!on && strcmp(tok[1], "off") != 0)
			return serr(s, "%s on|off", tok[0]);
		if (tok[0][0] == 'f')
			w->fencing_off = !on;
		else
			w->enforced_aa = on;
		return;
	}
	if (strcmp(tok[0], "drain-parallel") == 0 && n == 2 && sim_parse_int(tok[1], 0, 1000, &v) == 0) {
		w->drain_parallel = (int)v;
		return;
	}
	if (strcmp(tok[0], "tz") == 0 && n == 2 && sim_parse_int(tok[1], -1440, 1440, &v) == 0) {
		w->tz_min = (int)v;
		return;
	}
	if (strcmp(tok[0], "fence") == 0 && (n == 2 || n == 3)) {
		int mode = strcmp(tok[1], "ok") == 0 ? SIM_FENCE_OK : strcmp(tok[1], "fail") == 0 ?
			   SIM_FENCE_FAIL : strcmp(tok[1], "hang") == 0 ? SIM_FENCE_HANG : -1;
		uint32_t id;

		if (mode < 0)
			return serr(s, "fence ok|fail|hang [NODE]");
		for (id = 1; id <= w->nnodes; id++)
			if (n == 2 || sim_node_ref(vm(s), tok[2]) == id)
				w->fence_mode[id] = (enum sim_fence_mode)mode;
		return;
	}
	if (strcmp(tok[0], "delay") == 0 && n == 3 && sim_parse_dur(tok[2], &ms) == 0) {
		int64_t *d = strcmp(tok[1], "online") == 0 ? &w->delay_on_ms :
			     strcmp(tok[1], "offline") == 0 ? &w->delay_off_ms :
			     strcmp(tok[1], "terminate") == 0 ? &w->delay_term_ms :
			     strcmp(tok[1], "fence") == 0 ? &w->delay_fence_ms :
			     strcmp(tok[1], "migrate") == 0 ? &w->delay_mig_ms :
			     strcmp(tok[1], "fence-timeout") == 0 ? &w->fence_timeout_ms : NULL;

		if (d == NULL || ms < 1)
			return serr(s, "delay online|offline|terminate|fence|fence-timeout|migrate DURATION (> 0)");
		*d = ms;
		return;
	}
	if (strcmp(tok[0], "delay") == 0 && n == 4 && sim_parse_dur(tok[3], &ms) == 0 && ms > 0) {
		if ((r = res_arg(s, tok[1])) < 0)
			return;
		if (strcmp(tok[2], "online") == 0)
			w->res_delay_on[r] = ms;
		else if (strcmp(tok[2], "offline") == 0)
			w->res_delay_off[r] = ms;
		else
			serr(s, "delay RES online|offline DURATION");
		return;
	}
	serr(s, "bad setting (see README.md)");
}

static bool is_setting(const char *c)
{
	return !strcmp(c, "fencing") || !strcmp(c, "enforced-aa") || !strcmp(c, "tz") ||
	       !strcmp(c, "fence") || !strcmp(c, "delay") || !strcmp(c, "drain-parallel");
}

static void start(struct scr *s)
{
	char err[256], buf[1024], *tok[SIM_MAXTOK];
	int i, n;

	if (s->cfg.nnodes == 0)
		return serr(s, "no 'nodes N' before the first command");
	s->w = sim_world_new(&s->cfg, false, s->out, err, sizeof(err));
	if (s->w == NULL)
		return serr(s, "%s", err);
	for (i = 0; i < s->nlater && !s->error; i++) {
		s->line = s->later[i].line;
		cm_strlcpy(buf, s->later[i].text, sizeof(buf));
		n = sim_split_words(buf, tok, SIM_MAXTOK);
		setting(s, tok, n);
	}
	if (!s->error)
		sim_world_boot(s->w, &s->cfg);
}

/* ---- commands ---- */

static void admin(struct scr *s, struct res_event *ev, const char *text, const char *set)
{
	uint32_t leader = sim_quorate_leader(s->w);

	if (leader == 0) {
		sim_printf(s->w, "refused: no partition has quorum");
		return;
	}
	ev->res = ev->type == RES_EV_RESULT ? ev->res : -1;
	sim_send(s->w, leader, ev, text, set);
	sim_flush(s->w);
}

static void split(struct scr *s, char **tok, int n)
{
	char buf[512], *part, *p, *save = NULL, *save2 = NULL;
	uint32_t id;
	int side = 0;

	join(buf, sizeof(buf), tok, 1, n);
	sim_flush(s->w);
	for (id = 1; id <= s->w->nnodes; id++)
		sim_node(s->w, id)->side = 1000 + (int)id;   /* unlisted: alone */
	for (part = strtok_r(buf, "|", &save); part; part = strtok_r(NULL, "|", &save), side++)
		for (p = strtok_r(part, ", ", &save2); p; p = strtok_r(NULL, ", ", &save2)) {
			if ((id = node_arg(s, p)) == 0)
				return;
			sim_node(s->w, id)->side = side;
		}
	sim_net_changed(s->w);
}

static void advance(struct scr *s, char **tok, int n)
{
	long long h, mi;
	int64_t dt, local, day;

	if (n == 3 && strcmp(tok[1], "to") == 0 && strlen(tok[2]) == 5 && tok[2][2] == ':') {
		tok[2][2] = '\0';
		if (sim_parse_int(tok[2], 0, 23, &h) || sim_parse_int(tok[2] + 3, 0, 59, &mi))
			return serr(s, "advance to HH:MM");
		local = s->w->now - SIM_T0_MS + (int64_t)s->w->tz_min * 60000;
		day = ((local % DAY_MS) + DAY_MS) % DAY_MS;
		dt = ((h * 3600000 + mi * 60000 - day) % DAY_MS + DAY_MS) % DAY_MS;
		sim_run(s->w, dt ? dt : DAY_MS, false);
		return;
	}
	if (n != 2 || sim_parse_dur(tok[1], &dt) < 0)
		return serr(s, "advance DURATION | advance to HH:MM");
	sim_run(s->w, dt, false);
}

static void show(struct scr *s)
{
	struct res_model *m = vm(s);
	struct sim_node *nd;
	char line[1024];
	size_t i, r;
	int k;

	for (i = 0; i < m->nnodes; i++) {
		nd = sim_node(s->w, m->nodes[i].id);
		snprintf(line, sizeof(line), "node %u %s: %s, fence %s%s%s, runs", nd->id, m->nodes[i].name,
			 !nd->alive ? "down" : nd->frozen ? "frozen" : m->nodes[i].member ? "member" : "up",
			 res_fence_to_str(m->nodes[i].fence), m->nodes[i].paused ? ", paused" : "",
			 m->nodes[i].draining ? ", draining" : "");
		for (r = 0, k = 0; r < m->nres; r++)
			if (nd->xs[r] != SIM_X_STOPPED)
				snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s%s",
					 k++ ? "," : " ", m->res[r].name, nd->xwatch[r] ? "(monitored)" : "");
		sim_printf(s->w, "  %s%s", line, k ? "" : " nothing");
	}
	for (i = 0; i < m->ngroups; i++) {
		sim_printf(s->w, "  group %s: %s, owner %u, %s", m->groups[i].name,
			   res_gstate_to_str(res_group_state(m, (int)i)), m->groups[i].owner,
			   m->groups[i].reason[0] ? m->groups[i].reason : "-");
		for (k = 0; k < m->groups[i].nres; k++) {
			const struct res_resource *rs = &m->res[m->groups[i].res[k]];

			sim_printf(s->w, "    %s: %s on %u gen %llu", rs->name, res_state_to_str(rs->state),
				   rs->node, (unsigned long long)rs->gen);
		}
	}
}

static void command(struct scr *s, char **tok, int n, const char *text)
{
	struct sim_world *w = s->w;
	struct res_event ev = { .type = RES_EV_TICK, .res = -1, .group = -1 };
	long long v;
	uint32_t id = 0;
	int r, k;

	if (strncmp(tok[0], "assert", 6) == 0) {
		char why[512] = "";
		int rc = sim_assert(w, tok, n, why, sizeof(why));

		if (rc == -2)
			return serr(s, "bad assert: %s", why);
		s->nassert++;
		if (rc == 0) {
			sim_printf(w, "ok %s", text);
		} else {
			s->nfailed++;
			sim_printf(w, "ASSERT FAILED (line %d): %s: %s", s->line, text, why);
		}
		return;
	}
	sim_printf(w, "> %s", text);
	if (is_setting(tok[0])) {
		setting(s, tok, n);
		if (!s->error && (!strcmp(tok[0], "fencing") || !strcmp(tok[0], "enforced-aa") ||
				  !strcmp(tok[0], "drain-parallel"))) {
			ev.type = RES_EV_CONFIG;
			admin(s, &ev, text, NULL);
		}
	} else if ((!strcmp(tok[0], "online") || !strcmp(tok[0], "offline")) && n == 2) {
		ev.type = tok[0][1] == 'n' ? RES_EV_GROUP_ONLINE : RES_EV_GROUP_OFFLINE;
		if ((ev.group = group_arg(s, tok[1])) >= 0)
			admin(s, &ev, NULL, NULL);
	} else if (!strcmp(tok[0], "move") && (n == 2 || (n == 4 && !strcmp(tok[2], "to")))) {
		ev.type = RES_EV_GROUP_MOVE;
		if ((ev.group = group_arg(s, tok[1])) >= 0 && (n == 2 || (ev.node = node_arg(s, tok[3]))))
			admin(s, &ev, NULL, NULL);
	} else if (!strcmp(tok[0], "migrate") && n >= 3 && n <= 5) {
		/* migrate g1 live|quick [[to] N] */
		int mode = res_mig_mode_from_str(tok[2]);
		const char *to = n == 5 && !strcmp(tok[3], "to") ? tok[4] : n == 4 ? tok[3] : NULL;

		if (mode != RES_MIG_LIVE && mode != RES_MIG_QUICK)
			return serr(s, "migrate GROUP live|quick [to NODE]");
		if (n == 5 && strcmp(tok[3], "to"))
			return serr(s, "migrate GROUP live|quick [to NODE]");
		ev.type = RES_EV_GROUP_MIGRATE;
		ev.mode = (enum res_mig_mode)mode;
		if ((ev.group = group_arg(s, tok[1])) >= 0 && (to == NULL || (ev.node = node_arg(s, to))))
			admin(s, &ev, NULL, NULL);
	} else if (!strcmp(tok[0], "cancel") && n == 2) {
		ev.type = RES_EV_MIGRATE_CANCEL;
		if ((ev.group = group_arg(s, tok[1])) >= 0)
			admin(s, &ev, NULL, NULL);
	} else if (!strcmp(tok[0], "migration") && (n == 3 || n == 4)) {
		/* how the next migration of a group goes, or finish the one that hangs */
		static const char *const how[] = { "ok", "fail", "hang", "switch" };
		int g = group_arg(s, tok[1]);

		if (g < 0)
			return;
		if (!strcmp(tok[2], "finish") && n == 3) {
			if (sim_mig_finish(w, g) < 0)
				return serr(s, "no migration of '%s' is in flight", tok[1]);
			sim_flush(w);
			return;
		}
		for (k = 0; k < 4 && strcmp(tok[2], how[k]); k++)
			;
		if (k == 4 || (n == 4 && sim_parse_int(tok[3], 1, 1000, &v)))
			return serr(s, "migration GROUP ok|fail|hang|switch [COUNT] | migration GROUP finish");
		w->mig_next[g] = (uint8_t)k;
		w->mig_count[g] = n == 4 ? (int)v : 1;
	} else if (!strcmp(tok[0], "stop-outside") && (n == 2 || (n == 4 && !strcmp(tok[2], "on")))) {
		if ((r = res_arg(s, tok[1])) < 0 || (n == 4 && (id = node_arg(s, tok[3])) == 0))
			return;
		if (sim_stop_outside(w, r, id) < 0)
			return serr(s, "'%s' is not running%s", tok[1], n == 4 ? " there" : "");
		sim_flush(w);
	} else if (n == 2 && (!strcmp(tok[0], "drain") || !strcmp(tok[0], "pause") ||
			      !strcmp(tok[0], "resume") || !strcmp(tok[0], "confirm-down"))) {
		ev.type = tok[0][0] == 'd' ? RES_EV_NODE_DRAIN : tok[0][0] == 'c' ? RES_EV_CONFIRM_DOWN :
			  RES_EV_NODE_PAUSE;
		ev.ok = tok[0][0] == 'p';
		if ((ev.node = node_arg(s, tok[1])) != 0)
			admin(s, &ev, NULL, NULL);
	} else if (n == 2 && (!strcmp(tok[0], "kill") || !strcmp(tok[0], "start") ||
			      !strcmp(tok[0], "freeze") || !strcmp(tok[0], "thaw"))) {
		struct sim_node *nd;

		if ((id = node_arg(s, tok[1])) == 0)
			return;
		nd = sim_node(w, id);
		if (tok[0][0] == 's' ? nd->alive : !nd->alive || (tok[0][0] == 't') != nd->frozen)
			return serr(s, "node %u is %s", id, !nd->alive ? "down" : nd->frozen ? "frozen" : "up");
		if (tok[0][0] == 'k')
			sim_kill(w, id);
		else if (tok[0][0] == 's')
			sim_start(w, id);
		else
			sim_freeze(w, id, tok[0][0] == 'f');
		sim_flush(w);
	} else if (!strcmp(tok[0], "split") && n >= 2) {
		split(s, tok, n);
		sim_flush(w);
	} else if (!strcmp(tok[0], "heal") && n == 1) {
		sim_flush(w);
		for (id = 1; id <= w->nnodes; id++)
			sim_node(w, id)->side = 0;
		sim_net_changed(w);
		sim_flush(w);
	} else if (!strcmp(tok[0], "fail") && (n == 2 || (n == 4 && !strcmp(tok[2], "on")))) {
		if ((r = res_arg(s, tok[1])) < 0 || (n == 4 && (id = node_arg(s, tok[3])) == 0))
			return;
		if (sim_fail_running(w, r, id) < 0)
			return serr(s, "'%s' is not running%s", tok[1], n == 4 ? " there" : "");
		sim_flush(w);
	} else if ((!strcmp(tok[0], "fail-start") || !strcmp(tok[0], "fail-stop")) && (n == 2 || n == 3)) {
		if ((r = res_arg(s, tok[1])) < 0)
			return;
		if (n == 3 && sim_parse_int(tok[2], 1, 1000, &v))
			return serr(s, "%s RES [COUNT]", tok[0]);
		if (!strcmp(tok[0], "fail-start"))
			w->fail_start[r] = n == 3 ? (int)v : 1;
		else
			w->fail_stop[r] = n == 3 ? (int)v : 1;
	} else if (!strcmp(tok[0], "inject") && n == 9 && !strcmp(tok[1], "result") &&
		   !strcmp(tok[3], "from") && !strcmp(tok[5], "gen")) {
		/* a result as a node would send it: duplicates, stale gens */
		ev.type = RES_EV_RESULT;
		ev.op = (enum res_op)-1;
		for (k = RES_OP_ONLINE; k <= RES_OP_STOPPED; k++)
			if (k != RES_OP_FENCE && !strcmp(tok[7], res_op_to_str((enum res_op)k)))
				ev.op = (enum res_op)k;
		ev.ok = !strcmp(tok[8], "ok");
		if ((ev.res = res_arg(s, tok[2])) < 0 || (ev.node = node_arg(s, tok[4])) == 0)
			return;
		if (sim_parse_int(tok[6], 0, 1LL << 62, &v) || (int)ev.op < 0)
			return serr(s, "inject result RES from NODE gen GEN online|offline|terminate|health|migrate|stopped "
				    "ok|failed");
		ev.gen = (uint64_t)v;
		if (sim_send(w, ev.node, &ev, "injected", NULL) == NULL)
			return serr(s, "node %u is in no view", ev.node);
		sim_flush(w);
	} else if (!strcmp(tok[0], "set") && n == 3 && !strcmp(tok[1], "drain_parallel")) {
		char *t2[2] = { "drain-parallel", tok[2] };

		setting(s, t2, 2);     /* the cluster property, like `drain-parallel N` */
		if (!s->error) {
			ev.type = RES_EV_CONFIG;
			admin(s, &ev, text, NULL);
		}
	} else if (!strcmp(tok[0], "set") && n >= 4) {
		char opt[1024];

		join(opt, sizeof(opt), tok, 1, n);
		ev.type = RES_EV_CONFIG;
		w->set_refused = false;
		admin(s, &ev, NULL, opt);
		if (w->set_refused)
			serr(s, "the option was refused");
	} else if (!strcmp(tok[0], "advance")) {
		advance(s, tok, n);
	} else if (!strcmp(tok[0], "settle") && n == 1) {
		sim_run(w, SIM_SETTLE_CAP_MS, true);
	} else if (!strcmp(tok[0], "show") && n == 1) {
		show(s);
	} else {
		serr(s, "unknown command or wrong arguments (see README.md)");
	}
}

static void run_line(struct scr *s, char *line)
{
	char text[1024], *tok[SIM_MAXTOK], *e;
	int n;

	while (isspace((unsigned char)*line))
		line++;
	cm_strlcpy(text, line, sizeof(text));
	if ((e = strchr(text, '#')))
		*e = '\0';
	for (e = text + strlen(text); e > text && isspace((unsigned char)e[-1]);)
		*--e = '\0';
	n = sim_split_words(line, tok, SIM_MAXTOK);
	if (n < 0)
		return serr(s, "too many words");
	if (n == 0)
		return;
	if (!strcmp(tok[0], "nodes") || !strcmp(tok[0], "node") || !strcmp(tok[0], "up") ||
	    !strcmp(tok[0], "group") || !strcmp(tok[0], "resource")) {
		if (s->w)
			return serr(s, "configuration after the first command");
		return cfg_line(s, tok, n);
	}
	if (is_setting(tok[0]) && s->w == NULL) {
		struct sim_copt *o;

		if (s->nlater == s->cap_later) {
			s->cap_later = s->cap_later ? 2 * s->cap_later : 8;
			o = realloc(s->later, (size_t)s->cap_later * sizeof(*o));
			if (o == NULL)
				return serr(s, "out of memory");
			s->later = o;
		}
		s->later[s->nlater].text = strdup(text);
		s->later[s->nlater++].line = s->line;
		return;
	}
	if (s->w == NULL) {
		start(s);
		if (s->error)
			return;
	}
	command(s, tok, n, text);
}

int sim_script_run(const char *path, FILE *out)
{
	struct scr s = { .out = out };
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "r");
	int i, rc;

	if (f == NULL) {
		fprintf(out, "%s: cannot open\n", path);
		return 1;
	}
	while (!s.error && (s.w == NULL || !s.w->failed) && getline(&line, &cap, f) > 0) {
		s.line++;
		run_line(&s, line);
	}
	fclose(f);
	free(line);
	if (s.w && s.w->failed)
		fprintf(out, "result: an invariant was violated\n");
	else if (s.error)
		fprintf(out, "result: the script has an error\n");
	else if (s.nassert == 0)
		fprintf(out, "result: no asserts: a scenario must check something\n");
	else if (s.nfailed)
		fprintf(out, "result: %d of %d asserts failed\n", s.nfailed, s.nassert);
	else
		fprintf(out, "result: %d asserts held\n", s.nassert);
	rc = (s.w && s.w->failed) || s.error || s.nassert == 0 || s.nfailed;
	sim_world_free(s.w);
	sim_cfg_free(&s.cfg);
	for (i = 0; i < s.nlater; i++)
		free(s.later[i].text);
	free(s.later);
	return rc;
}

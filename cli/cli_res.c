/* cli_res.c - cluadmin's group, resource and node drain/confirm-down
 * commands, and --wait: following a long operation until it has finished.
 *
 * Every command here is one row of cmds[]: its words, what its arguments
 * look like, the request it sends and how the answer is shown. The parsing
 * is shared; only commands that send more than one request have their own
 * function. Like the rest of cluadmin this never decides anything about the
 * cluster: clusterd checks every request; the checks here are only about
 * the shape of the command line.
 *
 * clusterd's answers (clusterd/cd_cmd_res.c), all JSON objects:
 *   GROUP_LIST {"groups":[{name,state,owner,priority,preferred_owners[],
 *              resources (count),reason,failed,moving}]}
 *   GROUP_SHOW {name,state,owner,want_online,priority,preferred_owners[],
 *              failback,failovers,reason,moving,failed,
 *              resources:[{name,type,state,node,reason,depends_on[],
 *              dependency_type}],properties[]}
 *   RES_LIST   {"resources":[{name,group,type,state,node,reason}]}
 *   RES_SHOW   {name,group,type,state,node,reason,gen,depends_on[],
 *              dependency_type,restarts,properties[]}
 *   NODE_SHOW  {"node":{...,draining,fence_state,groups[]},properties[]}
 *   writes     {"ok":true}
 * Group states: Online, PartialOnline, Pending, Offline, Failed; owner is a
 * node name or "". */

#define _DEFAULT_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cm_prop.h"
#include "cm_proto.h"
#include "cli.h"

/* How often --wait asks clusterd. Cheap queries from the local replica;
 * a quarter of a second keeps the progress line lively without load. */
#define WAIT_POLL_MS 250
/* --wait's bound when --timeout is not given: long enough for a group of
 * a few resources with the default pending timeouts to move. */
#define WAIT_DEFAULT_MS 60000

/* What the words after NOUN VERB may hold. */
enum {
	A_KV = 1 << 0,      /* KEY=VALUE words */
	A_NEED_KV = 1 << 1, /* at least one KEY=VALUE */
	A_KEYS = 1 << 2,    /* one or more bare KEY words after the names */
	A_NODE = 1 << 3,    /* --node NODE */
	A_GROUP = 1 << 4,   /* --group GROUP */
	A_TYPE = 1 << 5,    /* --type TYPE */
	A_WAIT = 1 << 6,    /* --wait */
};

struct rargs {
	const char *pos[2];
	int npos;
	char **kv;          /* KEY=VALUE words, or bare KEY words (A_KEYS) */
	int nkv;
	const char *node, *group, *type;
	bool wait;
};

struct rcmd;
typedef int (*rcmd_fn)(const struct cli_opts *o, const struct rcmd *c, struct rargs *a);

struct rcmd {
	const char *noun;
	const char *verb;       /* one or two words ("depend add") */
	int npos;               /* names that must follow the verb */
	unsigned flags;
	const char *usage;      /* the words after NOUN VERB, as in --help */
	rcmd_fn run;
	int cmd;                /* CM_CMD_* sent (first request for run_* with several) */
	void (*render)(const struct cm_jv *);
};

static int run_simple(const struct cli_opts *o, const struct rcmd *c, struct rargs *a);
static int run_group_create(const struct cli_opts *o, const struct rcmd *c, struct rargs *a);
static int run_set(const struct cli_opts *o, const struct rcmd *c, struct rargs *a);
static int run_group_op(const struct cli_opts *o, const struct rcmd *c, struct rargs *a);
static int run_res_create(const struct cli_opts *o, const struct rcmd *c, struct rargs *a);
static int run_res_list(const struct cli_opts *o, const struct rcmd *c, struct rargs *a);
static int run_drain(const struct cli_opts *o, const struct rcmd *c, struct rargs *a);

/* Keep in step with usage_text in cli_main.c and with cluadmin(8). */
static const struct rcmd cmds[] = {
	{ "group", "create", 1, A_KV, "NAME [KEY=VALUE]...", run_group_create, CM_CMD_GROUP_CREATE, NULL },
	{ "group", "delete", 1, 0, "NAME", run_simple, CM_CMD_GROUP_DELETE, cli_render_ok },
	{ "group", "list", 0, 0, "", run_simple, CM_CMD_GROUP_LIST, cli_render_groups },
	{ "group", "show", 1, 0, "NAME", run_simple, CM_CMD_GROUP_SHOW, cli_render_group },
	{ "group", "set", 1, A_KV | A_NEED_KV, "NAME KEY=VALUE...", run_set, CM_CMD_PROP_SET, NULL },
	{ "group", "unset", 1, A_KEYS, "NAME KEY...", run_set, CM_CMD_PROP_UNSET, NULL },
	{ "group", "move", 1, A_NODE | A_WAIT, "NAME [--node NODE] [--wait]", run_group_op, CM_CMD_GROUP_MOVE, NULL },
	{ "group", "online", 1, A_WAIT, "NAME [--wait]", run_group_op, CM_CMD_GROUP_ONLINE, NULL },
	{ "group", "offline", 1, A_WAIT, "NAME [--wait]", run_group_op, CM_CMD_GROUP_OFFLINE, NULL },
	{ "resource", "create", 1, A_KV | A_GROUP | A_TYPE, "NAME --group GROUP --type TYPE [KEY=VALUE]...",
	  run_res_create, CM_CMD_RES_CREATE, NULL },
	{ "resource", "delete", 1, 0, "NAME", run_simple, CM_CMD_RES_DELETE, cli_render_ok },
	{ "resource", "list", 0, A_GROUP, "[--group GROUP]", run_res_list, CM_CMD_RES_LIST, cli_render_resources },
	{ "resource", "show", 1, 0, "NAME", run_simple, CM_CMD_RES_SHOW, cli_render_resource },
	{ "resource", "set", 1, A_KV | A_NEED_KV, "NAME KEY=VALUE...", run_set, CM_CMD_PROP_SET, NULL },
	{ "resource", "unset", 1, A_KEYS, "NAME KEY...", run_set, CM_CMD_PROP_UNSET, NULL },
	{ "resource", "depend add", 2, 0, "RESOURCE DEPENDENCY", run_simple, CM_CMD_DEP_ADD, cli_render_ok },
	{ "resource", "depend remove", 2, 0, "RESOURCE DEPENDENCY", run_simple, CM_CMD_DEP_REMOVE, cli_render_ok },
	{ "node", "drain", 1, A_WAIT, "NODE [--wait]", run_drain, CM_CMD_NODE_DRAIN, NULL },
	{ "node", "confirm-down", 1, 0, "NODE", run_simple, CM_CMD_NODE_CONFIRM_DOWN, cli_render_ok },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

/* ---- small helpers (those without static are shared with cli_vm.c) ---- */

static int usage_of(const char *noun, const struct rcmd *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A sentence, then the usage of the command (or of every command of the
 * noun), as cli_main.c's usage errors do. */
static int usage_of(const char *noun, const struct rcmd *c, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	fprintf(stderr, "cluadmin: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (c) {
		fprintf(stderr, "Usage: cluadmin %s %s%s%s\n", c->noun, c->verb, c->usage[0] ? " " : "", c->usage);
	} else {
		for (i = 0; i < N_CMDS; i++)
			if (!strcmp(cmds[i].noun, noun))
				fprintf(stderr, "%s cluadmin %s %s%s%s\n", i == 0 || strcmp(cmds[i - 1].noun, noun) ? "Usage:" : "      ",
					cmds[i].noun, cmds[i].verb, cmds[i].usage[0] ? " " : "", cmds[i].usage);
	}
	fprintf(stderr, "Try 'cluadmin --help'.\n");
	return CLI_EUSAGE;
}

long long cli_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cli_sleep_ms(long long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* Parse clusterd's answer, or say why not. */
struct cm_jv *cli_parse_reply(const char *text)
{
	char err[128];
	struct cm_jv *v = cm_jv_parse(text, err, sizeof(err));

	if (v == NULL)
		fprintf(stderr, "cluadmin: cannot read clusterd's answer: %s\n", err);
	return v;
}

void cli_print_json(const struct cm_jv *v)
{
	struct cm_sb sb;

	cm_sb_init(&sb);
	cm_jv_print(v, &sb, 2);
	printf("%s\n", cm_sb_str(&sb));
	cm_sb_free(&sb);
}

/* Print an answer already fetched, as cli_show would. Frees text. */
static int show_text(const struct cli_opts *o, char *text, void (*render)(const struct cm_jv *))
{
	struct cm_jv *v = cli_parse_reply(text);

	free(text);
	if (v == NULL)
		return CLI_EFAIL;
	if (o->json)
		cli_print_json(v);
	else if (render)
		render(v);
	cm_jv_free(v);
	return CLI_OK;
}

/* ---- command line ---- */

/* "--name VALUE" or "--name=VALUE" at argv[*i]; 1 when it matched. */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **out, int *bad)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n))
		return 0;
	if (argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
	} else if (argv[*i][n] == '\0') {
		if (*i + 1 >= argc) {
			*bad = 1;
			return 1;
		}
		*out = argv[++*i];
	} else {
		return 0;
	}
	if ((*out)[0] == '\0')
		*bad = 1;
	return 1;
}

/* Split the words after NOUN VERB. KEY=VALUE and KEY words are gathered at
 * the front of argv (reordering it) and a->kv points at them. */
static int parse_args(const struct rcmd *c, int argc, char **argv, struct rargs *a)
{
	bool rest = false;
	int i, bad = 0;

	memset(a, 0, sizeof(*a));
	a->kv = argv;
	for (i = 0; i < argc; i++) {
		char *w = argv[i];

		if (!rest && !strcmp(w, "--")) {
			rest = true;
			continue;
		}
		if (!rest && w[0] == '-' && w[1] != '\0') {
			if ((c->flags & A_WAIT) && !strcmp(w, "--wait"))
				a->wait = true;
			else if ((c->flags & A_NODE) && cli_opt_value(argc, argv, &i, "--node", &a->node, &bad))
				;
			else if ((c->flags & A_GROUP) && cli_opt_value(argc, argv, &i, "--group", &a->group, &bad))
				;
			else if ((c->flags & A_TYPE) && cli_opt_value(argc, argv, &i, "--type", &a->type, &bad))
				;
			else if (!strcmp(w, "--timeout") || !strncmp(w, "--timeout=", 10) || !strcmp(w, "-t"))
				return usage_of(c->noun, c, "--timeout goes before the command: cluadmin --timeout SECONDS %s %s ...",
						c->noun, c->verb);
			else
				return usage_of(c->noun, c, "unknown option '%s'", w);
			if (bad)
				return usage_of(c->noun, c, "%s needs a value", w);
			continue;
		}
		if (a->npos < c->npos && strchr(w, '=') == NULL) {
			a->pos[a->npos++] = w;
		} else if ((c->flags & A_KV) && strchr(w, '=')) {
			if (w[0] == '=')
				return usage_of(c->noun, c, "'%s' has no property name before '='", w);
			a->kv[a->nkv++] = w;
		} else if ((c->flags & A_KEYS) && a->npos == c->npos && strchr(w, '=') == NULL) {
			a->kv[a->nkv++] = w;
		} else if (strchr(w, '=') && (c->flags & (A_KV | A_KEYS)) == 0) {
			return usage_of(c->noun, c, "'%s': this command takes no properties", w);
		} else if (strchr(w, '=') && (c->flags & A_KEYS)) {
			return usage_of(c->noun, c, "'%s': give property names only; 'set' takes KEY=VALUE", w);
		} else if (c->flags & A_KV) {
			return usage_of(c->noun, c, "'%s' is not KEY=VALUE", w);
		} else {
			return usage_of(c->noun, c, "unexpected argument '%s'", w);
		}
	}
	if (a->npos < c->npos)
		return usage_of(c->noun, c, "%s %s needs %s", c->noun, c->verb,
				c->npos == 2 ? "two resource names" : !strcmp(c->noun, "node") ? "a node name" :
				!strcmp(c->noun, "group") ? "a group name" : "a resource name");
	if ((c->flags & A_NEED_KV) && a->nkv == 0)
		return usage_of(c->noun, c, "%s %s needs at least one KEY=VALUE", c->noun, c->verb);
	if ((c->flags & A_KEYS) && a->nkv == 0)
		return usage_of(c->noun, c, "%s %s needs at least one property name", c->noun, c->verb);
	if ((c->flags & A_TYPE) && (a->group == NULL || a->type == NULL))
		return usage_of(c->noun, c, "resource create needs --group GROUP and --type TYPE");
	return 0;
}

/* ---- the commands ---- */

static int run_simple(const struct cli_opts *o, const struct rcmd *c, struct rargs *a)
{
	return cli_show(o, c->cmd, a->pos, a->npos, c->render);
}

static int run_res_list(const struct cli_opts *o, const struct rcmd *c, struct rargs *a)
{
	const char *args[1] = { a->group ? a->group : "" };

	return cli_show(o, c->cmd, args, 1, c->render);
}

/* Set (or unset) the KEY=VALUE (KEY) words kv on an object, one
 * replicated write per property, stopping at the first refusal. On success
 * *last holds the answer to the last write (caller frees). */
static int set_props(const struct cli_opts *o, const char *kind, const char *obj, bool unset,
		     char **kv, int nkv, bool quiet, char **last)
{
	int i, rc;

	*last = NULL;
	for (i = 0; i < nkv; i++) {
		const char *args[4] = { kind, obj, kv[i], NULL };
		char *eq = unset ? NULL : strchr(kv[i], '=');

		if (eq) {
			*eq = '\0';
			args[3] = eq + 1;
		}
		free(*last);
		*last = NULL;
		rc = cli_call(o, unset ? CM_CMD_PROP_UNSET : CM_CMD_PROP_SET, args, unset ? 3 : 4, last);
		if (eq)
			*eq = '=';
		if (rc != CLI_OK) {
			if (i > 0 && !quiet)
				fprintf(stderr, "cluadmin: %s '%s': the %s before '%.*s' %s %s; it and the rest were not\n",
					kind, obj, i == 1 ? "property" : "properties", (int)strcspn(kv[i], "="), kv[i],
					i == 1 ? "was" : "were", unset ? "unset" : "set");
			return rc;
		}
	}
	return CLI_OK;
}

static int run_set(const struct cli_opts *o, const struct rcmd *c, struct rargs *a)
{
	char *last;
	int rc = set_props(o, c->noun, a->pos[0], c->cmd == CM_CMD_PROP_UNSET, a->kv, a->nkv, false, &last);

	if (rc != CLI_OK)
		return rc;
	return show_text(o, last, cli_render_ok);
}

/* A group and its properties are several writes. So that a refused value
 * changes nothing, the values are checked here first with the schema
 * clusterd uses, and when clusterd still refuses one (an unknown node in
 * preferred_owners) the group just created is deleted again. */
static int run_group_create(const struct cli_opts *o, const struct rcmd *c, struct rargs *a)
{
	char canon[CM_VALUE_MAX], err[512], *text, *last;
	int i, rc;

	for (i = 0; i < a->nkv; i++) {
		char *eq = strchr(a->kv[i], '=');

		*eq = '\0';
		rc = cm_prop_validate(CM_OBJ_GROUP, a->kv[i], eq + 1, canon, sizeof(canon), err, sizeof(err));
		*eq = '=';
		if (rc < 0) {
			fprintf(stderr, "cluadmin: %s; group '%s' was not created\n", err, a->pos[0]);
			return CLI_EFAIL;
		}
	}
	rc = cli_call(o, c->cmd, a->pos, 1, &text);
	if (rc != CLI_OK)
		return rc;
	if (a->nkv == 0)
		return show_text(o, text, cli_render_ok);
	free(text);
	rc = set_props(o, "group", a->pos[0], false, a->kv, a->nkv, true, &last);
	if (rc != CLI_OK) {
		if (cli_call(o, CM_CMD_GROUP_DELETE, a->pos, 1, &text) == CLI_OK)
			fprintf(stderr, "cluadmin: group '%s' was not created\n", a->pos[0]);
		else
			fprintf(stderr, "cluadmin: group '%s' was created without all of its properties: set them with 'cluadmin group set %s KEY=VALUE...'\n",
				a->pos[0], a->pos[0]);
		free(text);
		return rc;
	}
	return show_text(o, last, cli_render_ok);
}

static int run_res_create(const struct cli_opts *o, const struct rcmd *c, struct rargs *a)
{
	const char *args[4] = { a->pos[0], a->group, a->type, NULL };
	struct cm_sb props;
	int i, rc;

	cm_sb_init(&props);
	for (i = 0; i < a->nkv; i++) {
		if (strchr(a->kv[i], '\n')) {
			cm_sb_free(&props);
			return usage_of(c->noun, c, "'%s': a property value cannot hold a line break", a->kv[i]);
		}
		cm_sb_printf(&props, "%s\n", a->kv[i]);
	}
	if (cm_sb_failed(&props)) {
		cm_sb_free(&props);
		fprintf(stderr, "cluadmin: out of memory\n");
		return CLI_EFAIL;
	}
	args[3] = cm_sb_str(&props);
	rc = cli_show(o, c->cmd, args, 4, cli_render_ok);
	cm_sb_free(&props);
	return rc;
}

/* ---- --wait ---- */

enum wait_goal { W_ONLINE, W_OFFLINE, W_MOVE };

struct waiter {
	const struct cli_opts *o;
	long long start_ms, limit_ms;
	bool tty;
	char last[256];         /* the last progress text shown */
	bool line_open;         /* a progress line without its newline (tty) */
};

static void waiter_init(struct waiter *w, const struct cli_opts *o, long long start_ms)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->start_ms = start_ms;
	w->limit_ms = o->timeout_set ? o->timeout_ms : WAIT_DEFAULT_MS;
	w->tty = !o->json && isatty(STDOUT_FILENO);
}

static double waiter_elapsed_s(const struct waiter *w)
{
	return (double)(cli_mono_ms() - w->start_ms) / 1000.0;
}

/* On a terminal one line that is rewritten; elsewhere one line per change.
 * Nothing with --json: only the final answer is printed then. */
static void waiter_progress(struct waiter *w, const char *text)
{
	bool changed = strcmp(text, w->last) != 0;

	if (w->o->json)
		return;
	if (w->tty) {
		struct winsize ws;
		int width = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;

		/* one row only: "\r" cannot go back to a row above */
		printf("\r\033[K%.*s, %.1f s", width - 12, text, waiter_elapsed_s(w));
		w->line_open = true;
	} else if (changed) {
		printf("%s (%.1f s)\n", text, waiter_elapsed_s(w));
	}
	fflush(stdout);
	snprintf(w->last, sizeof(w->last), "%s", text);
}

static void waiter_end_line(struct waiter *w)
{
	if (w->line_open) {
		printf("\r\033[K");
		fflush(stdout);
		w->line_open = false;
	}
}

static bool waiter_expired(const struct waiter *w)
{
	return cli_mono_ms() - w->start_ms >= w->limit_ms;
}

/* One query during a wait; its own deadline never goes much beyond the
 * wait's. */
static int waiter_query(struct waiter *w, int cmd, const char *const *args, int nargs, struct cm_jv **v)
{
	struct cli_opts po = *w->o;
	long long left = w->limit_ms - (cli_mono_ms() - w->start_ms);
	char *text;
	int rc;

	*v = NULL;
	if (left < 1000)
		left = 1000;
	if (left < po.timeout_ms)
		po.timeout_ms = (int)left;
	rc = cli_call(&po, cmd, args, nargs, &text);
	if (rc != CLI_OK) {
		waiter_end_line(w);
		return rc;
	}
	*v = cli_parse_reply(text);
	free(text);
	return *v ? CLI_OK : CLI_EFAIL;
}

static const char *goal_word(enum wait_goal g)
{
	return g == W_OFFLINE ? "Offline" : "Online";
}

/* "Online on n2", "Offline (last on n2)", "Pending on n2, moving" */
static void group_phrase(const struct cm_jv *g, char *buf, size_t len)
{
	const char *state = cm_jv_get_str(g, "state", "?"), *owner = cm_jv_get_str(g, "owner", "");

	if (!owner[0])
		snprintf(buf, len, "%s", state);
	else if (!strcmp(state, "Offline"))
		snprintf(buf, len, "%s (last on %s)", state, owner);
	else
		snprintf(buf, len, "%s on %s", state, owner);
	if (cm_jv_get_bool(g, "moving", false))
		snprintf(buf + strlen(buf), len - strlen(buf), ", moving");
}

/* The most telling reason: the group's, else the first resource's. */
static const char *group_reason(const struct cm_jv *g)
{
	const struct cm_jv *res = NULL;
	size_t i;

	for (i = 0; g->type == CM_J_OBJ && i < g->nkids; i++)
		if (g->kids[i].type == CM_J_ARR && g->kids[i].key && !strcmp(g->kids[i].key, "resources"))
			res = &g->kids[i];

	if (cm_jv_get_str(g, "reason", "")[0])
		return cm_jv_get_str(g, "reason", "");
	for (i = 0; res && res->type == CM_J_ARR && i < res->nkids; i++)
		if (cm_jv_get_str(&res->kids[i], "reason", "")[0])
			return cm_jv_get_str(&res->kids[i], "reason", "");
	return "";
}

/* 1 done, 0 not yet, -1 failed (with a sentence in why). */
static int group_check(const struct cm_jv *g, enum wait_goal goal, const char *old_owner, const char *target,
		       char *why, size_t len)
{
	const char *state = cm_jv_get_str(g, "state", "?"), *owner = cm_jv_get_str(g, "owner", "");
	bool moving = cm_jv_get_bool(g, "moving", false);
	bool failed = cm_jv_get_bool(g, "failed", false);
	bool want = cm_jv_get_bool(g, "want_online", true);
	const char *reason = group_reason(g);

	why[0] = '\0';
	if (failed || (!strcmp(state, "Failed") && !moving)) {
		snprintf(why, len, "is Failed%s%s", reason[0] ? ": " : "", reason);
		return -1;
	}
	switch (goal) {
	case W_ONLINE:
		if (!strcmp(state, "Online"))
			return 1;
		if (!want) {
			snprintf(why, len, "was taken offline meanwhile");
			return -1;
		}
		return 0;
	case W_OFFLINE:
		if (!strcmp(state, "Offline"))
			return 1;
		if (want) {
			snprintf(why, len, "was brought online again meanwhile");
			return -1;
		}
		return 0;
	case W_MOVE:
		if (moving)
			return 0;
		/* clusterd marks the group moving when it applies the move,
		 * before it answers; not moving means the move is over */
		if (target && target[0] ? !strcmp(owner, target) : strcmp(owner, old_owner) != 0) {
			if (!strcmp(state, "Online") || (!want && !strcmp(state, "Offline")))
				return 1;
			return 0;
		}
		if (!strcmp(state, "Online") || !strcmp(state, "Offline")) {
			snprintf(why, len, "did not move: it is %s on %s%s%s", state, owner[0] ? owner : "no node",
				 reason[0] ? ": " : "", reason);
			return -1;
		}
		return 0;
	}
	return 0;
}

static int wait_group(const struct cli_opts *o, long long start_ms, const char *name, enum wait_goal goal,
		      const char *old_owner, const char *target)
{
	const char *args[1] = { name };
	struct cm_jv *g = NULL;
	struct waiter w;
	char phrase[160], text[256], why[320];
	int rc, st;

	waiter_init(&w, o, start_ms);
	for (;;) {
		cm_jv_free(g);
		rc = waiter_query(&w, CM_CMD_GROUP_SHOW, args, 1, &g);
		if (rc != CLI_OK)
			return rc;
		group_phrase(g, phrase, sizeof(phrase));
		st = group_check(g, goal, old_owner, target, why, sizeof(why));
		if (st != 0 || waiter_expired(&w))
			break;
		snprintf(text, sizeof(text), "group '%s': %s", name, phrase);
		waiter_progress(&w, text);
		cli_sleep_ms(WAIT_POLL_MS);
	}
	waiter_end_line(&w);
	if (o->json)
		cli_print_json(g);
	if (st > 0) {
		if (!o->json)
			printf("group '%s' is %s (%.1f s)\n", name, phrase, waiter_elapsed_s(&w));
		rc = CLI_OK;
	} else if (st < 0) {
		fprintf(stderr, "cluadmin: group '%s' %s\n", name, why);
		rc = CLI_EFAIL;
	} else {
		const char *reason = group_reason(g);

		fprintf(stderr, "cluadmin: group '%s' is not %s after %.0f s: it is %s%s%s; the request stays in effect (see 'cluadmin group show %s')\n",
			name, goal == W_MOVE ? "Online on another node" : goal_word(goal), (double)w.limit_ms / 1000.0,
			phrase, reason[0] ? ": " : "", reason, name);
		rc = CLI_ETIMEOUT;
	}
	cm_jv_free(g);
	return rc;
}

static int run_group_op(const struct cli_opts *o, const struct rcmd *c, struct rargs *a)
{
	const char *args[2] = { a->pos[0], a->node ? a->node : "" };
	char old_owner[CM_NAME_MAX] = "", *text;
	long long start = cli_mono_ms();
	enum wait_goal goal = c->cmd == CM_CMD_GROUP_MOVE ? W_MOVE : c->cmd == CM_CMD_GROUP_ONLINE ? W_ONLINE : W_OFFLINE;
	int rc;

	if (!a->wait)
		return cli_show(o, c->cmd, args, goal == W_MOVE ? 2 : 1, cli_render_ok);
	if (goal == W_MOVE) {
		/* where it is now, to tell when it has left */
		rc = cli_call(o, CM_CMD_GROUP_SHOW, args, 1, &text);
		if (rc != CLI_OK)
			return rc;
		{
			struct cm_jv *g = cli_parse_reply(text);

			free(text);
			if (g == NULL)
				return CLI_EFAIL;
			snprintf(old_owner, sizeof(old_owner), "%s", cm_jv_get_str(g, "owner", ""));
			cm_jv_free(g);
		}
	}
	rc = cli_call(o, c->cmd, args, goal == W_MOVE ? 2 : 1, &text);
	if (rc != CLI_OK)
		return rc;
	free(text);
	return wait_group(o, start, a->pos[0], goal, old_owner, a->node);
}

/* ---- node drain ---- */

static const struct cm_jv *node_obj(const struct cm_jv *v)
{
	const struct cm_jv *n = cm_jv_get(v, "node");

	return n && n->type == CM_J_OBJ ? n : v;
}

/* Groups still active on the node (NODE_SHOW's "groups": some resource
 * of theirs is not Offline there), with their states from GROUP_LIST;
 * up to a few of them are written into buf. */
static size_t drain_left(const struct cm_jv *node, const struct cm_jv *list, char *buf, size_t len)
{
	const struct cm_jv *on = cm_jv_get(node, "groups"), *gs = cm_jv_get(list, "groups");
	size_t i, k, n = 0, used = 0;

	buf[0] = '\0';
	for (i = 0; on && on->type == CM_J_ARR && i < on->nkids; i++) {
		const char *name = on->kids[i].type == CM_J_STR ? on->kids[i].s : "?", *state = "?";
		int w = 0;

		for (k = 0; gs && gs->type == CM_J_ARR && k < gs->nkids; k++)
			if (!strcmp(cm_jv_get_str(&gs->kids[k], "name", ""), name))
				state = cm_jv_get_str(&gs->kids[k], "state", "?");
		if (n < 4)
			w = snprintf(buf + used, len - used, "%s%s %s", n ? ", " : "", name, state);
		else if (n == 4)
			w = snprintf(buf + used, len - used, ", ...");
		if (w > 0)
			used = used + (size_t)w < len ? used + (size_t)w : len - 1;
		n++;
	}
	return n;
}

static int run_drain(const struct cli_opts *o, const struct rcmd *c, struct rargs *a)
{
	const char *node = a->pos[0];
	struct cm_jv *nv = NULL, *gl = NULL;
	long long start = cli_mono_ms();
	struct waiter w;
	char names[160], text[256], *reply;
	bool draining = true;
	size_t left = 0;
	long long since = (long long)time(NULL) * 1000 - 1000;
	int rc;

	if (!a->wait)
		return cli_show(o, c->cmd, a->pos, 1, cli_render_ok);
	rc = cli_call(o, c->cmd, a->pos, 1, &reply);
	if (rc != CLI_OK)
		return rc;
	free(reply);
	waiter_init(&w, o, start);
	for (;;) {
		cm_jv_free(nv);
		cm_jv_free(gl);
		gl = NULL;
		rc = waiter_query(&w, CM_CMD_NODE_SHOW, a->pos, 1, &nv);
		if (rc == CLI_OK)
			rc = waiter_query(&w, CM_CMD_GROUP_LIST, NULL, 0, &gl);
		if (rc != CLI_OK) {
			cm_jv_free(nv);
			cm_jv_free(gl);
			return rc;
		}
		draining = cm_jv_get_bool(node_obj(nv), "draining", false);
		left = drain_left(node_obj(nv), gl, names, sizeof(names));
		/* a drain ends when nothing is left that could move: groups that no
		 * other node can take stay (the daemon says so in the event log) */
		if (!draining || waiter_expired(&w))
			break;
		if (left)
			snprintf(text, sizeof(text), "draining '%s': %zu group%s left (%s)", node, left, left == 1 ? "" : "s",
				 names);
		else
			snprintf(text, sizeof(text), "draining '%s': no group left, finishing", node);
		waiter_progress(&w, text);
		cli_sleep_ms(WAIT_POLL_MS);
	}
	waiter_end_line(&w);
	if (o->json)
		cli_print_json(nv);
	if (!o->json && !draining)
		cli_vm_drain_report(o, node, since);
	if (left == 0 && !draining) {
		if (!o->json)
			printf("node '%s' is drained (%.1f s)\n", node, waiter_elapsed_s(&w));
		rc = CLI_OK;
	} else if (!draining) {
		fprintf(stderr, "cluadmin: the drain of node '%s' ended with %zu group%s left on it (%s): no other node can"
			" take %s (see 'cluadmin group show GROUP')\n", node, left, left == 1 ? "" : "s", names,
			left == 1 ? "it" : "them");
		rc = CLI_EFAIL;
	} else {
		if (left)
			fprintf(stderr, "cluadmin: node '%s' is not drained after %.0f s: %zu group%s still on it (%s); the drain goes on (see 'cluadmin group list')\n",
				node, (double)w.limit_ms / 1000.0, left, left == 1 ? "" : "s", names);
		else
			fprintf(stderr, "cluadmin: node '%s' has no group left but is still draining after %.0f s (see 'cluadmin node show %s')\n",
				node, (double)w.limit_ms / 1000.0, node);
		rc = CLI_ETIMEOUT;
	}
	cm_jv_free(nv);
	cm_jv_free(gl);
	return rc;
}

/* ---- entry ---- */

/* Whether argv starts with verb (one word, or two separated by a space). */
bool cli_verb_matches(const char *verb, int argc, char **argv, int *words)
{
	const char *sp = strchr(verb, ' ');

	if (sp == NULL) {
		*words = 1;
		return argc >= 1 && !strcmp(argv[0], verb);
	}
	*words = 2;
	return argc >= 2 && strlen(argv[0]) == (size_t)(sp - verb) && !strncmp(argv[0], verb, (size_t)(sp - verb)) &&
	       !strcmp(argv[1], sp + 1);
}

static bool verb_matches(const struct rcmd *c, int argc, char **argv, int *words)
{
	return cli_verb_matches(c->verb, argc, argv, words);
}

bool cli_res_handles(const char *noun, const char *verb)
{
	size_t i;

	if (!strcmp(noun, "group") || !strcmp(noun, "resource"))
		return true;
	for (i = 0; i < N_CMDS; i++)
		if (!strcmp(cmds[i].noun, noun) && !strcmp(cmds[i].verb, verb))
			return true;
	return false;
}

int cli_res_main(const struct cli_opts *o, int argc, char **argv)
{
	const char *noun = argv[0];
	struct rargs a;
	size_t i;
	int words;

	for (i = 0; i < N_CMDS; i++) {
		const struct rcmd *c = &cmds[i];

		if (strcmp(c->noun, noun) || !verb_matches(c, argc - 1, argv + 1, &words))
			continue;
		if (parse_args(c, argc - 1 - words, argv + 1 + words, &a) != 0)
			return CLI_EUSAGE;
		return c->run(o, c, &a);
	}
	if (argc < 2)
		return usage_of(noun, NULL, "'%s' needs a command", noun);
	if (!strcmp(argv[1], "depend"))
		return usage_of(noun, NULL, "resource depend needs add or remove");
	return usage_of(noun, NULL, "unknown %s command '%s'", noun, argv[1]);
}

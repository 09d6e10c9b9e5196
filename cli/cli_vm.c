/* cli_vm.c - cluadmin vm ...: virtual machines (issue 5), and following
 * their lifecycle requests and jobs (migrations, snapshots) to the end.
 *
 * Every command is one row of cmds[], parsed by one function, as in
 * cli_res.c. Like the rest of cluadmin this decides nothing: clusterd
 * checks every request (names, the domain XML, nodes, storage). The checks
 * here are only about the shape of the command line and the XML file
 * (readable, at most VM_XML_MAX, text).
 *
 * Requests (common/cm_proto.h; arguments in this order) and answers:
 *   VM_CREATE   name, xml, group ("" = name), preferred ("n1,n2" or ""),
 *               options ("key=value" lines: start=1|0, offline_action=...)
 *               -> {vm,group}
 *   VM_DELETE, VM_START, VM_STOP, VM_SHUTDOWN, VM_SAVE   name -> {}
 *   VM_LIST     -> {"vms":[VMSUM]}
 *               VMSUM {name,group,state,owner,node,memory_mb,vcpus,job:JOB|null}
 *   VM_SHOW     name -> VMSUM and preferred_owners[],domain_type,
 *               offline_action,disks[{target,type,source}],networks[],
 *               resources[{name,type,state,node,reason}],reason,snapshots,
 *               current_snapshot (or null),xml
 *   VM_MIGRATE  name, node ("" = the best other node), live|quick|move -> {job}
 *   VM_CANCEL   name -> {job}
 *   VM_SNAPSHOT name, action, snapshot, new name -> {job}
 *   VM_SNAPSHOT_LIST name -> {vm,current,snapshots[{name,parent,created_ms,vm_state}]}
 *               (a parent before its children, in creation order)
 *   VM_JOB      id -> JOB {id,vm,kind,state (running|done|failed|cancelled),
 *               from,to,started_ms,ended_ms,total_ms,downtime_ms (-1 unknown),
 *               data_total,data_processed,data_remaining,text}
 * VM states are the vm resource's: Offline, OnlinePending, Online,
 * OfflinePending, Failed, and Migrating while a migration job runs. */

#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cm_proto.h"
#include "cli.h"

/* How often a wait asks clusterd (the spec's period for every vm wait):
 * a migration job's data is refreshed about every 500 ms, so the bar moves
 * at every second or third look. */
#define VM_POLL_MS 200
/* Without a terminal a migration prints one line a second: enough to
 * follow in a log, few enough to read. */
#define VM_PLAIN_EVERY_MS 1000
/* A wait's bound when --timeout is not given. Longer than a group's 60 s:
 * a shutdown waits shutdown_timeout_s (60 s by default) before turning the
 * guest off, and a live migration copies all of the guest's memory, minutes
 * for a large guest on a busy link. Running out ends only the waiting,
 * never the operation. */
#define VM_WAIT_DEFAULT_MS 300000
/* The domain XML travels whole in one request (CM_IPC_MAX_MSG, 4 MiB);
 * a domain is a few KiB, so 1 MiB is plenty and catches a wrong file. */
#define VM_XML_MAX (1024 * 1024)
/* A VM that was Failed before start/stop --wait may still show that old
 * failure after clusterd accepted the request: the engine acts on it at its
 * next step, well within this. A Failed that lasts longer (with the same
 * reason and never left) is the request's own outcome. */
#define VM_FAILED_GRACE_MS 5000
#define MIB (1024.0 * 1024.0)

/* What the words after "vm VERB" may hold. */
enum {
	V_WAIT = 1 << 0,     /* --wait */
	V_CREATE = 1 << 1,   /* --xml, --group, --preferred, --offline-action, --no-start */
	V_MIGRATE = 1 << 2,  /* --to, --live|--quick|--move, --no-wait, --cancel */
	V_SNAPNAME = 1 << 3, /* --name */
	V_XML = 1 << 4,      /* --xml (edit) */
};

struct vargs {
	const char *pos[3];
	int npos;
	const char *xml, *group, *preferred, *offline_action, *to, *mode, *snapname;
	bool wait, no_start, no_wait, cancel;
};

struct vcmd;
typedef int (*vcmd_fn)(const struct cli_opts *o, const struct vcmd *c, struct vargs *a);

struct vcmd {
	const char *verb;       /* one or two words ("snapshot create") */
	int npos;               /* names that must follow the verb */
	unsigned flags;
	const char *usage;      /* the words after "vm VERB", as in --help */
	vcmd_fn run;
	int cmd;                /* CM_CMD_* sent */
	const char *action;     /* VM_SNAPSHOT's action; lifecycle: the state waited for */
	void (*render)(const struct cm_jv *);
};

static int run_simple(const struct cli_opts *o, const struct vcmd *c, struct vargs *a);
static int run_create(const struct cli_opts *o, const struct vcmd *c, struct vargs *a);
static int run_lifecycle(const struct cli_opts *o, const struct vcmd *c, struct vargs *a);
static int run_migrate(const struct cli_opts *o, const struct vcmd *c, struct vargs *a);
static int run_snapshot(const struct cli_opts *o, const struct vcmd *c, struct vargs *a);
static int run_edit(const struct cli_opts *o, const struct vcmd *c, struct vargs *a);
static void render_created(const struct cm_jv *v);
static void render_list(const struct cm_jv *v);
static void render_show(const struct cm_jv *v);
static void render_snapshots(const struct cm_jv *v);

/* Keep in step with usage_text in cli_main.c and with cluadmin(8). A verb
 * may have several rows (forms); the first one parses, all are shown. */
static const struct vcmd cmds[] = {
	{ "create", 1, V_CREATE | V_WAIT,
	  "NAME --xml FILE [--group G] [--preferred N1,N2] [--offline-action shutdown|save|off] [--no-start] [--wait]",
	  run_create, CM_CMD_VM_CREATE, NULL, render_created },
	{ "delete", 1, 0, "NAME", run_simple, CM_CMD_VM_DELETE, NULL, cli_render_ok },
	{ "edit", 1, V_XML, "NAME --xml FILE", run_edit, CM_CMD_VM_EDIT, NULL, cli_render_ok },
	{ "list", 0, 0, "", run_simple, CM_CMD_VM_LIST, NULL, render_list },
	{ "show", 1, 0, "NAME", run_simple, CM_CMD_VM_SHOW, NULL, render_show },
	{ "start", 1, V_WAIT, "NAME [--wait]", run_lifecycle, CM_CMD_VM_START, "Online", cli_render_ok },
	{ "stop", 1, V_WAIT, "NAME [--wait]", run_lifecycle, CM_CMD_VM_STOP, "Offline", cli_render_ok },
	{ "shutdown", 1, V_WAIT, "NAME [--wait]", run_lifecycle, CM_CMD_VM_SHUTDOWN, "Offline", cli_render_ok },
	{ "save", 1, V_WAIT, "NAME [--wait]", run_lifecycle, CM_CMD_VM_SAVE, "Offline", cli_render_ok },
	{ "migrate", 1, V_MIGRATE, "NAME [--to NODE] [--live|--quick|--move] [--no-wait]", run_migrate,
	  CM_CMD_VM_MIGRATE, NULL, NULL },
	{ "migrate", 1, V_MIGRATE, "NAME --cancel", run_migrate, CM_CMD_VM_CANCEL, NULL, NULL },
	{ "snapshot create", 1, V_SNAPNAME, "NAME [--name S]", run_snapshot, CM_CMD_VM_SNAPSHOT, "create", NULL },
	{ "snapshot list", 1, 0, "NAME", run_simple, CM_CMD_VM_SNAPSHOT_LIST, NULL, render_snapshots },
	{ "snapshot apply", 2, 0, "NAME S", run_snapshot, CM_CMD_VM_SNAPSHOT, "apply", NULL },
	{ "snapshot revert", 1, 0, "NAME", run_snapshot, CM_CMD_VM_SNAPSHOT, "revert", NULL },
	{ "snapshot delete", 2, 0, "NAME S", run_snapshot, CM_CMD_VM_SNAPSHOT, "delete", NULL },
	{ "snapshot rename", 3, 0, "NAME S NEW", run_snapshot, CM_CMD_VM_SNAPSHOT, "rename", NULL },
};

#define N_CMDS (sizeof(cmds) / sizeof(cmds[0]))

/* ---- small helpers ---- */

static const char *str(const struct cm_jv *v, const char *key)
{
	return cm_jv_get_str(v, key, "");
}

/* The member key that is an array, or NULL. */
static const struct cm_jv *arr(const struct cm_jv *v, const char *key)
{
	const struct cm_jv *a = cm_jv_get(v, key);

	return a && a->type == CM_J_ARR ? a : NULL;
}

static const struct cm_jv *obj(const struct cm_jv *v, const char *key)
{
	const struct cm_jv *a = cm_jv_get(v, key);

	return a && a->type == CM_J_OBJ ? a : NULL;
}

static int usage_of(const struct vcmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A sentence, then the usage of the command's forms (or of every vm
 * command), as cli_res.c's usage errors do. */
static int usage_of(const struct vcmd *c, const char *fmt, ...)
{
	bool first = true;
	va_list ap;
	size_t i;

	fprintf(stderr, "cluadmin: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	for (i = 0; i < N_CMDS; i++) {
		if (c && strcmp(cmds[i].verb, c->verb))
			continue;
		fprintf(stderr, "%s cluadmin vm %s%s%s\n", first ? "Usage:" : "      ", cmds[i].verb,
			cmds[i].usage[0] ? " " : "", cmds[i].usage);
		first = false;
	}
	fprintf(stderr, "Try 'cluadmin --help'.\n");
	return CLI_EUSAGE;
}

/* The job id of a {"job":ID} answer, as the text VM_JOB takes. */
static int job_id_of(const struct cm_jv *v, char *buf, size_t len)
{
	const struct cm_jv *j = cm_jv_get(v, "job");

	if (j && j->type == CM_J_NUM)
		snprintf(buf, len, "%lld", (long long)j->i);
	else if (j && j->type == CM_J_STR && j->s[0])
		snprintf(buf, len, "%s", j->s);
	else {
		fprintf(stderr, "cluadmin: clusterd's answer names no job (different versions?)\n");
		return CLI_EFAIL;
	}
	return CLI_OK;
}

/* Send one request and parse the answer. */
static int call_parse(const struct cli_opts *o, int cmd, const char *const *args, int nargs, struct cm_jv **v)
{
	char *text;
	int rc = cli_call(o, cmd, args, nargs, &text);

	*v = NULL;
	if (rc != CLI_OK)
		return rc;
	*v = cli_parse_reply(text);
	free(text);
	return *v ? CLI_OK : CLI_EFAIL;
}

static bool is_migration(const char *kind)
{
	return !strcmp(kind, "live") || !strcmp(kind, "quick") || !strcmp(kind, "move");
}

static int pct_of(long long done, long long total)
{
	long long p = total > 0 ? done * 100 / total : 0;

	return (int)(p < 0 ? 0 : p > 100 ? 100 : p);
}

/* "Online on n1", "Offline (last on n1)", "OnlinePending on n1" */
static void vm_phrase(const struct cm_jv *v, char *buf, size_t len)
{
	const char *state = cm_jv_get_str(v, "state", "?");
	const char *node = str(v, "node")[0] ? str(v, "node") : str(v, "owner");

	if (!node[0])
		snprintf(buf, len, "%s", state);
	else if (!strcmp(state, "Offline"))
		snprintf(buf, len, "%s (last on %s)", state, node);
	else
		snprintf(buf, len, "%s on %s", state, node);
}

/* One job in a few words: "live migration n1 -> n2, running, 45% of
 * 27.1 MiB", "snapshot-create, done". */
static void job_phrase(const struct cm_jv *j, char *buf, size_t len)
{
	const char *kind = cm_jv_get_str(j, "kind", "?"), *state = cm_jv_get_str(j, "state", "?");
	long long total = cm_jv_get_int(j, "data_total", 0);
	size_t n;

	if (is_migration(kind))
		snprintf(buf, len, "%s migration %s -> %s, %s", kind, str(j, "from")[0] ? str(j, "from") : "?",
			 str(j, "to")[0] ? str(j, "to") : "?", state);
	else
		snprintf(buf, len, "%s, %s", kind, state);
	n = strlen(buf);
	if (!strcmp(state, "running") && total > 0)
		snprintf(buf + n, len - n, ", %d%% of %.1f MiB",
			 pct_of(cm_jv_get_int(j, "data_processed", 0), total), (double)total / MIB);
}

/* ---- command line ---- */

static bool is_opt(const char *w, const char *name)
{
	return !strcmp(w, name);
}

static int parse_args(const struct vcmd *c, int argc, char **argv, struct vargs *a)
{
	bool rest = false;
	int i, bad = 0;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		char *w = argv[i];

		if (!rest && !strcmp(w, "--")) {
			rest = true;
			continue;
		}
		if (!rest && w[0] == '-' && w[1] != '\0') {
			unsigned f = c->flags;

			if ((f & V_WAIT) && is_opt(w, "--wait"))
				a->wait = true;
			else if ((f & (V_CREATE | V_XML)) && cli_opt_value(argc, argv, &i, "--xml", &a->xml, &bad))
				;
			else if ((f & V_CREATE) && cli_opt_value(argc, argv, &i, "--group", &a->group, &bad))
				;
			else if ((f & V_CREATE) && cli_opt_value(argc, argv, &i, "--preferred", &a->preferred, &bad))
				;
			else if ((f & V_CREATE) && cli_opt_value(argc, argv, &i, "--offline-action", &a->offline_action, &bad))
				;
			else if ((f & V_CREATE) && is_opt(w, "--no-start"))
				a->no_start = true;
			else if ((f & V_MIGRATE) && cli_opt_value(argc, argv, &i, "--to", &a->to, &bad))
				;
			else if ((f & V_MIGRATE) && (is_opt(w, "--live") || is_opt(w, "--quick") || is_opt(w, "--move"))) {
				if (a->mode && strcmp(a->mode, w + 2))
					return usage_of(c, "give one of --live, --quick and --move");
				a->mode = w + 2;
			} else if ((f & V_MIGRATE) && is_opt(w, "--no-wait"))
				a->no_wait = true;
			else if ((f & V_MIGRATE) && is_opt(w, "--cancel"))
				a->cancel = true;
			else if ((f & V_SNAPNAME) && cli_opt_value(argc, argv, &i, "--name", &a->snapname, &bad))
				;
			else if (!strcmp(w, "--timeout") || !strncmp(w, "--timeout=", 10) || !strcmp(w, "-t"))
				return usage_of(c, "--timeout goes before the command: cluadmin --timeout SECONDS vm %s ...",
						c->verb);
			else if (!strcmp(w, "--wait") && !strcmp(c->verb, "migrate"))
				return usage_of(c, "vm migrate waits by default; --no-wait returns at once");
			else
				return usage_of(c, "unknown option '%s'", w);
			if (bad)
				return usage_of(c, "%s needs a value", w);
			continue;
		}
		if (a->npos < c->npos)
			a->pos[a->npos++] = w;
		else
			return usage_of(c, "unexpected argument '%s'", w);
	}
	if (a->npos < c->npos)
		return usage_of(c, "vm %s needs %s", c->verb,
				c->npos == 1 ? "a VM name" : c->npos == 2 ? "a VM name and a snapshot name" :
				"a VM name, a snapshot name and the new name");
	if (c->flags & V_CREATE) {
		const char *oa = a->offline_action;

		if (a->xml == NULL)
			return usage_of(c, "vm create needs --xml FILE, the libvirt domain XML");
		if (oa && strcmp(oa, "shutdown") && strcmp(oa, "save") && strcmp(oa, "off"))
			return usage_of(c, "--offline-action takes shutdown, save or off, not '%s'", oa);
		if (a->no_start && a->wait)
			return usage_of(c, "--wait waits for the VM to start: it does not go with --no-start");
	}
	if ((c->flags & V_XML) && a->xml == NULL)
		return usage_of(c, "vm edit needs --xml FILE, the new libvirt domain XML");
	if ((c->flags & V_MIGRATE) && a->cancel && (a->to || a->mode || a->no_wait))
		return usage_of(c, "--cancel takes no other option");
	return 0;
}

/* ---- waiting ---- */

struct vwait {
	const struct cli_opts *o;
	long long start_ms, limit_ms, plain_ms;
	bool tty;
	bool line_open;         /* a progress line without its newline (tty) */
	char last[256];         /* the last progress text shown */
};

static void vwait_init(struct vwait *w, const struct cli_opts *o, long long start_ms)
{
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->start_ms = start_ms;
	w->limit_ms = o->timeout_set ? o->timeout_ms : VM_WAIT_DEFAULT_MS;
	w->plain_ms = -VM_PLAIN_EVERY_MS;
	w->tty = !o->json && isatty(STDOUT_FILENO);
}

static double vwait_elapsed_s(const struct vwait *w)
{
	return (double)(cli_mono_ms() - w->start_ms) / 1000.0;
}

static bool vwait_expired(const struct vwait *w)
{
	return cli_mono_ms() - w->start_ms >= w->limit_ms;
}

/* On a terminal one line, rewritten, text then sep then the time. Else a
 * line when the text changes, or (every_s) once a second. Nothing with
 * --json: only the final answer is printed then. */
static void vwait_progress(struct vwait *w, const char *text, const char *sep, bool every_s)
{
	long long now = cli_mono_ms();

	if (w->o->json)
		return;
	if (w->tty) {
		struct winsize ws;
		int width = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;

		/* one row only: "\r" cannot go back to a row above */
		printf("\r\033[K%.*s%s%.1f s", width - 12, text, sep, vwait_elapsed_s(w));
		w->line_open = true;
	} else if (every_s ? now - w->plain_ms >= VM_PLAIN_EVERY_MS : strcmp(text, w->last) != 0) {
		printf("%s (%.1f s)\n", text, vwait_elapsed_s(w));
		w->plain_ms = now;
	}
	fflush(stdout);
	snprintf(w->last, sizeof(w->last), "%s", text);
}

static void vwait_end_line(struct vwait *w)
{
	if (w->line_open) {
		printf("\r\033[K");
		fflush(stdout);
		w->line_open = false;
	}
}

/* One query during a wait; its own deadline never goes much beyond the
 * wait's. */
static int vwait_query(struct vwait *w, int cmd, const char *const *args, int nargs, struct cm_jv **v)
{
	struct cli_opts po = *w->o;
	long long left = w->limit_ms - (cli_mono_ms() - w->start_ms);
	int rc;

	if (left < 1000)
		left = 1000;
	if (left < po.timeout_ms)
		po.timeout_ms = (int)left;
	rc = call_parse(&po, cmd, args, nargs, v);
	if (rc != CLI_OK)
		vwait_end_line(w);
	return rc;
}

/* Follow VM_SHOW until the VM is in state goal. A Failed VM ends the wait
 * (status 1), except while it may still be the failure from before the
 * request (old_reason non-NULL: the reason then): that one counts once the
 * VM has left Failed, its reason has changed, or VM_FAILED_GRACE_MS. */
static int wait_vm(const struct cli_opts *o, long long start_ms, const char *name, const char *goal,
		   const char *old_reason)
{
	const char *args[1] = { name };
	struct cm_jv *v = NULL;
	struct vwait w;
	char phrase[160], text[512];
	const char *state, *reason = "";
	int rc, st = 0;

	vwait_init(&w, o, start_ms);
	for (;;) {
		cm_jv_free(v);
		rc = vwait_query(&w, CM_CMD_VM_SHOW, args, 1, &v);
		if (rc != CLI_OK)
			return rc;
		state = cm_jv_get_str(v, "state", "?");
		reason = str(v, "reason");
		vm_phrase(v, phrase, sizeof(phrase));
		if (old_reason && (strcmp(state, "Failed") || strcmp(reason, old_reason) ||
				   cli_mono_ms() - start_ms >= VM_FAILED_GRACE_MS))
			old_reason = NULL;
		if (!strcmp(state, goal))
			st = 1;
		else if (!strcmp(state, "Failed") && old_reason == NULL)
			st = -1;
		if (st != 0 || vwait_expired(&w))
			break;
		snprintf(text, sizeof(text), "vm '%s': %s%s%s", name, phrase, reason[0] ? ": " : "", reason);
		vwait_progress(&w, text, ", ", false);
		cli_sleep_ms(VM_POLL_MS);
	}
	vwait_end_line(&w);
	if (o->json)
		cli_print_json(v);
	if (st > 0) {
		if (!o->json)
			printf("vm '%s' is %s (%.1f s)\n", name, phrase, vwait_elapsed_s(&w));
		rc = CLI_OK;
	} else if (st < 0) {
		fprintf(stderr, "cluadmin: vm '%s' is Failed%s%s\n", name, reason[0] ? ": " : "", reason);
		rc = CLI_EFAIL;
	} else {
		fprintf(stderr, "cluadmin: vm '%s' is not %s after %.0f s: it is %s%s%s; the request stays in effect (see 'cluadmin vm show %s')\n",
			name, goal, (double)w.limit_ms / 1000.0, phrase, reason[0] ? ": " : "", reason, name);
		rc = CLI_ETIMEOUT;
	}
	cm_jv_free(v);
	return rc;
}

/* The progress text of a running job. */
static void job_progress(struct vwait *w, const struct cm_jv *j, const char *vm)
{
	const char *kind = cm_jv_get_str(j, "kind", "?");
	long long total = cm_jv_get_int(j, "data_total", 0), done = cm_jv_get_int(j, "data_processed", 0);
	char text[512];

	if (!is_migration(kind)) {
		snprintf(text, sizeof(text), "%s of vm '%s': %s", kind, vm, cm_jv_get_str(j, "state", "?"));
		vwait_progress(w, text, ", ", false);
		return;
	}
	if (total <= 0) {
		/* quick and move copy no memory over the network, and a live
		 * migration has no figures before its first round */
		snprintf(text, sizeof(text), "migrating '%s' %s -> %s (%s)", vm, str(j, "from"), str(j, "to"), kind);
		vwait_progress(w, text, ", ", !w->tty);
		return;
	}
	if (w->tty) {
		int pct = pct_of(done, total), full = (pct * 10 + 50) / 100, k;
		char bar[11];

		for (k = 0; k < 10; k++)
			bar[k] = k < full ? '#' : '.';
		bar[10] = '\0';
		snprintf(text, sizeof(text), "migrating '%s' %s -> %s [%s] %d%% %.1f/%.1f MiB", vm, str(j, "from"),
			 str(j, "to"), bar, pct, (double)done / MIB, (double)total / MIB);
		vwait_progress(w, text, " ", false);
	} else {
		snprintf(text, sizeof(text), "migrating '%s' %s -> %s (%s): %d%% %.1f/%.1f MiB", vm, str(j, "from"),
			 str(j, "to"), kind, pct_of(done, total), (double)done / MIB, (double)total / MIB);
		vwait_progress(w, text, " ", true);
	}
}

/* Follow VM_JOB until the job is no longer running. *job holds the last
 * answer (caller frees), also after a timeout (CLI_ETIMEOUT); NULL when a
 * query failed (its code is returned, the sentence already printed). */
static int wait_job(const struct cli_opts *o, long long start_ms, const char *vm, const char *id, struct cm_jv **job)
{
	const char *args[1] = { id };
	struct vwait w;
	int rc;

	*job = NULL;
	vwait_init(&w, o, start_ms);
	for (;;) {
		cm_jv_free(*job);
		rc = vwait_query(&w, CM_CMD_VM_JOB, args, 1, job);
		if (rc != CLI_OK)
			return rc;
		if (strcmp(cm_jv_get_str(*job, "state", "?"), "running"))
			break;
		if (vwait_expired(&w)) {
			vwait_end_line(&w);
			return CLI_ETIMEOUT;
		}
		job_progress(&w, *job, vm);
		cli_sleep_ms(VM_POLL_MS);
	}
	vwait_end_line(&w);
	return CLI_OK;
}

/* A finished job that did not succeed: its text, or a sentence. */
static int job_failed(const struct cm_jv *j, const char *vm)
{
	const char *text = str(j, "text"), *state = cm_jv_get_str(j, "state", "?");

	if (text[0])
		fprintf(stderr, "cluadmin: %s\n", text);
	else if (!strcmp(state, "failed") || !strcmp(state, "cancelled"))
		fprintf(stderr, "cluadmin: the %s job of vm '%s' %s\n", cm_jv_get_str(j, "kind", "?"), vm,
			!strcmp(state, "failed") ? "failed" : "was cancelled");
	else
		fprintf(stderr, "cluadmin: the %s job of vm '%s' ended in the unknown state '%s' (different versions?)\n",
			cm_jv_get_str(j, "kind", "?"), vm, state);
	return CLI_EFAIL;
}

/* ---- the commands ---- */

static int run_simple(const struct cli_opts *o, const struct vcmd *c, struct vargs *a)
{
	return cli_show(o, c->cmd, a->pos, a->npos, c->render);
}

/* The domain XML file ("-": standard input), NUL-terminated (caller
 * frees). Errors are said here: the file's name and why. */
static int read_xml(const char *path, char **out)
{
	bool in = !strcmp(path, "-");
	FILE *f = in ? stdin : fopen(path, "r");
	char *buf = NULL;
	size_t n;
	int rc = CLI_EFAIL;

	*out = NULL;
	if (in)
		path = "(standard input)";
	if (f == NULL) {
		fprintf(stderr, "cluadmin: cannot read the domain XML '%s': %s\n", path, strerror(errno));
		return CLI_EFAIL;
	}
	buf = malloc(VM_XML_MAX + 2);
	if (buf == NULL) {
		fprintf(stderr, "cluadmin: out of memory\n");
		goto out;
	}
	n = fread(buf, 1, VM_XML_MAX + 1, f);
	if (ferror(f)) {
		/* a directory opens, its read says EISDIR */
		fprintf(stderr, "cluadmin: cannot read the domain XML '%s': %s\n", path, strerror(errno));
		goto out;
	}
	if (n > VM_XML_MAX) {
		fprintf(stderr, "cluadmin: the domain XML '%s' is larger than 1 MiB: is it the right file?\n", path);
		goto out;
	}
	if (n == 0) {
		fprintf(stderr, "cluadmin: the domain XML '%s' is empty\n", path);
		goto out;
	}
	if (memchr(buf, '\0', n)) {
		fprintf(stderr, "cluadmin: '%s' holds NUL bytes: it is not an XML text file\n", path);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	rc = CLI_OK;
out:
	free(buf);
	if (!in)
		fclose(f);
	return rc;
}

static int run_create(const struct cli_opts *o, const struct vcmd *c, struct vargs *a)
{
	const char *args[5];
	struct cm_sb opts;
	struct cm_jv *v;
	long long start = cli_mono_ms();
	char *xml;
	int rc;

	rc = read_xml(a->xml, &xml);
	if (rc != CLI_OK)
		return rc;
	cm_sb_init(&opts);
	cm_sb_printf(&opts, "start=%d\n", a->no_start ? 0 : 1);
	if (a->offline_action)
		cm_sb_printf(&opts, "offline_action=%s\n", a->offline_action);
	if (cm_sb_failed(&opts)) {
		fprintf(stderr, "cluadmin: out of memory\n");
		rc = CLI_EFAIL;
		goto out;
	}
	args[0] = a->pos[0];
	args[1] = xml;
	args[2] = a->group ? a->group : "";
	args[3] = a->preferred ? a->preferred : "";
	args[4] = cm_sb_str(&opts);
	if (!a->wait) {
		rc = cli_show(o, c->cmd, args, 5, c->render);
		goto out;
	}
	rc = call_parse(o, c->cmd, args, 5, &v);
	if (rc != CLI_OK)
		goto out;
	if (!o->json)
		render_created(v);
	cm_jv_free(v);
	rc = wait_vm(o, start, a->pos[0], "Online", NULL);
out:
	cm_sb_free(&opts);
	free(xml);
	return rc;
}

/* A stopped VM's new domain XML (checked like at create). */
static int run_edit(const struct cli_opts *o, const struct vcmd *c, struct vargs *a)
{
	const char *args[2];
	char *xml;
	int rc = read_xml(a->xml, &xml);

	if (rc != CLI_OK)
		return rc;
	args[0] = a->pos[0];
	args[1] = xml;
	rc = cli_show(o, c->cmd, args, 2, c->render);
	free(xml);
	return rc;
}

static int run_lifecycle(const struct cli_opts *o, const struct vcmd *c, struct vargs *a)
{
	struct cm_jv *v;
	long long start = cli_mono_ms();
	char old_reason[1024];
	bool was_failed;
	int rc;

	if (!a->wait)
		return cli_show(o, c->cmd, a->pos, 1, c->render);
	/* a VM that is Failed now must not end the wait before the request has
	 * had a chance to change it */
	rc = call_parse(o, CM_CMD_VM_SHOW, a->pos, 1, &v);
	if (rc != CLI_OK)
		return rc;
	was_failed = !strcmp(cm_jv_get_str(v, "state", ""), "Failed");
	snprintf(old_reason, sizeof(old_reason), "%s", str(v, "reason"));
	cm_jv_free(v);
	rc = call_parse(o, c->cmd, a->pos, 1, &v);
	if (rc != CLI_OK)
		return rc;
	cm_jv_free(v);
	return wait_vm(o, start, a->pos[0], c->action, was_failed ? old_reason : NULL);
}

/* "migrated 'vm1' n1 -> n2 (live): 0.62 s total, downtime 23 ms, 41.2 MiB
 * transferred"; quick and move: the total time only. */
static void migration_report(const struct cm_jv *j, const char *vm)
{
	const char *kind = cm_jv_get_str(j, "kind", "?");
	long long down = cm_jv_get_int(j, "downtime_ms", -1);

	printf("migrated '%s' %s -> %s (%s): %.2f s total", vm, str(j, "from"), str(j, "to"), kind,
	       (double)cm_jv_get_int(j, "total_ms", 0) / 1000.0);
	if (!strcmp(kind, "live")) {
		if (down < 0)
			printf(", downtime unknown");
		else
			printf(", downtime %lld ms", down);
		printf(", %.1f MiB transferred", (double)cm_jv_get_int(j, "data_processed", 0) / MIB);
	}
	printf("\n");
}

static int run_migrate(const struct cli_opts *o, const struct vcmd *c, struct vargs *a)
{
	const char *vm = a->pos[0];
	const char *args[3] = { vm, a->to ? a->to : "", a->mode ? a->mode : "live" };
	struct cm_jv *v, *job;
	long long start = cli_mono_ms();
	char id[64];
	int rc;

	(void)c;
	rc = call_parse(o, a->cancel ? CM_CMD_VM_CANCEL : CM_CMD_VM_MIGRATE, args, a->cancel ? 1 : 3, &v);
	if (rc != CLI_OK)
		return rc;
	rc = job_id_of(v, id, sizeof(id));
	if (rc == CLI_OK && (a->cancel || a->no_wait)) {
		if (o->json)
			cli_print_json(v);
		else if (a->cancel)
			printf("cancelling the migration of vm '%s' (job %s)\n", vm, id);
		else
			printf("migrating vm '%s' (%s): job %s (follow it with 'cluadmin vm show %s')\n", vm, args[2],
			       id, vm);
	}
	cm_jv_free(v);
	if (rc != CLI_OK || a->cancel || a->no_wait)
		return rc;
	rc = wait_job(o, start, vm, id, &job);
	if (job == NULL)
		return rc;
	if (o->json)
		cli_print_json(job);
	if (rc == CLI_ETIMEOUT) {
		char phrase[256];

		job_phrase(job, phrase, sizeof(phrase));
		fprintf(stderr, "cluadmin: the migration of vm '%s' has not finished after %.0f s (%s); it goes on (cancel it with 'cluadmin vm migrate %s --cancel')\n",
			vm, (double)(o->timeout_set ? o->timeout_ms : VM_WAIT_DEFAULT_MS) / 1000.0, phrase, vm);
	} else if (!strcmp(cm_jv_get_str(job, "state", ""), "done")) {
		if (!o->json)
			migration_report(job, vm);
	} else {
		rc = job_failed(job, vm);
	}
	cm_jv_free(job);
	return rc;
}

static int run_snapshot(const struct cli_opts *o, const struct vcmd *c, struct vargs *a)
{
	const char *vm = a->pos[0];
	const char *args[4] = { vm, c->action, "", "" };
	struct cm_jv *v, *job;
	long long start = cli_mono_ms();
	char id[64];
	int rc;

	if (!strcmp(c->action, "create"))
		args[2] = a->snapname ? a->snapname : "";
	else if (a->npos > 1)
		args[2] = a->pos[1];
	if (a->npos > 2)
		args[3] = a->pos[2];
	rc = call_parse(o, c->cmd, args, 4, &v);
	if (rc != CLI_OK)
		return rc;
	rc = job_id_of(v, id, sizeof(id));
	cm_jv_free(v);
	if (rc != CLI_OK)
		return rc;
	rc = wait_job(o, start, vm, id, &job);
	if (job == NULL)
		return rc;
	if (o->json)
		cli_print_json(job);
	if (rc == CLI_ETIMEOUT) {
		fprintf(stderr, "cluadmin: the snapshot %s of vm '%s' has not finished after %.0f s; it goes on (see 'cluadmin vm snapshot list %s')\n",
			c->action, vm, (double)(o->timeout_set ? o->timeout_ms : VM_WAIT_DEFAULT_MS) / 1000.0, vm);
	} else if (!strcmp(cm_jv_get_str(job, "state", ""), "done")) {
		if (!o->json)
			printf("%s\n", str(job, "text")[0] ? str(job, "text") : "done");
	} else {
		rc = job_failed(job, vm);
	}
	cm_jv_free(job);
	return rc;
}

/* ---- rendering ---- */

static void render_created(const struct cm_jv *v)
{
	printf("vm '%s' created in group '%s'\n", str(v, "vm"), str(v, "group"));
}

static void render_list(const struct cm_jv *v)
{
	const struct cm_jv *vms = arr(v, "vms");
	size_t i;

	if (!vms || vms->nkids == 0) {
		printf("no VMs (create one with 'cluadmin vm create NAME --xml FILE')\n");
		return;
	}
	printf("  %-20s %-14s %-12s %-12s %9s %5s  %s\n", "NAME", "STATE", "OWNER", "NODE", "MEMORY", "VCPUS", "JOB");
	for (i = 0; i < vms->nkids; i++) {
		const struct cm_jv *m = &vms->kids[i], *j = obj(m, "job");
		char mem[32], job[64] = "-";

		snprintf(mem, sizeof(mem), "%lld MiB", (long long)cm_jv_get_int(m, "memory_mb", 0));
		if (j) {
			const char *state = cm_jv_get_str(j, "state", "?");
			long long total = cm_jv_get_int(j, "data_total", 0);

			if (strcmp(state, "running"))
				snprintf(job, sizeof(job), "%s %s", cm_jv_get_str(j, "kind", "?"), state);
			else if (total > 0)
				snprintf(job, sizeof(job), "%s %d%%", cm_jv_get_str(j, "kind", "?"),
					 pct_of(cm_jv_get_int(j, "data_processed", 0), total));
			else
				snprintf(job, sizeof(job), "%s", cm_jv_get_str(j, "kind", "?"));
		}
		printf("  %-20s %-14s %-12s %-12s %9s %5lld  %s\n", str(m, "name"), str(m, "state"),
		       str(m, "owner")[0] ? str(m, "owner") : "-", str(m, "node")[0] ? str(m, "node") : "-", mem,
		       (long long)cm_jv_get_int(m, "vcpus", 0), job);
	}
}

/* Names in a JSON array of strings, "a, b, c", or dflt when empty. */
static void names_list(const struct cm_jv *a, const char *dflt, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; a && a->type == CM_J_ARR && i < a->nkids && used < len; i++) {
		int k = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 a->kids[i].type == CM_J_STR ? a->kids[i].s : "?");

		used += k > 0 ? (size_t)k : 0;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "%s", dflt);
}

static void render_show(const struct cm_jv *v)
{
	const struct cm_jv *j = obj(v, "job"), *disks = arr(v, "disks"), *res = arr(v, "resources");
	const char *cur = str(v, "current_snapshot");
	long long nsnap = cm_jv_get_int(v, "snapshots", 0);
	char buf[512];
	size_t i;

	vm_phrase(v, buf, sizeof(buf));
	printf("VM:             %s\n", str(v, "name"));
	printf("Group:          %s\n", str(v, "group"));
	printf("State:          %s\n", buf);
	if (str(v, "reason")[0])
		printf("Reason:         %s\n", str(v, "reason"));
	if (j) {
		job_phrase(j, buf, sizeof(buf));
		printf("Job:            %s (job %lld)\n", buf, (long long)cm_jv_get_int(j, "id", 0));
	}
	names_list(arr(v, "preferred_owners"), "any node", buf, sizeof(buf));
	printf("Preferred:      %s\n", buf);
	printf("Domain:         %s, %lld MiB, %lld vCPU%s\n", str(v, "domain_type")[0] ? str(v, "domain_type") : "?",
	       (long long)cm_jv_get_int(v, "memory_mb", 0), (long long)cm_jv_get_int(v, "vcpus", 0),
	       cm_jv_get_int(v, "vcpus", 0) == 1 ? "" : "s");
	printf("Offline action: %s\n", str(v, "offline_action"));
	names_list(arr(v, "networks"), "none", buf, sizeof(buf));
	printf("Networks:       %s\n", buf);
	if (nsnap == 0)
		printf("Snapshots:      none\n");
	else if (cur[0])
		printf("Snapshots:      %lld, current '%s'\n", nsnap, cur);
	else
		printf("Snapshots:      %lld, none current\n", nsnap);
	printf("\n");
	if (disks && disks->nkids) {
		printf("  %-8s %-8s %s\n", "DISK", "TYPE", "SOURCE");
		for (i = 0; i < disks->nkids; i++) {
			const struct cm_jv *d = &disks->kids[i];

			printf("  %-8s %-8s %s\n", str(d, "target"), str(d, "type"),
			       str(d, "source")[0] ? str(d, "source") : "-");
		}
	} else {
		printf("  no disks\n");
	}
	printf("\n");
	if (res && res->nkids) {
		printf("  %-24s %-10s %-15s %-16s %s\n", "RESOURCE", "TYPE", "STATE", "NODE", "REASON");
		for (i = 0; i < res->nkids; i++) {
			const struct cm_jv *r = &res->kids[i];

			printf("  %-24s %-10s %-15s %-16s %s\n", str(r, "name"), str(r, "type"), str(r, "state"),
			       str(r, "node")[0] ? str(r, "node") : "-", str(r, "reason"));
		}
	}
}

/* Print snapshot i and, indented under it, its children in the order of
 * the answer (creation order). done[] guards against a cycle: every
 * snapshot is printed once. */
static void snap_tree(const struct cm_jv *snaps, size_t i, int depth, const char *cur, bool *done)
{
	const struct cm_jv *s = &snaps->kids[i];
	const char *name = str(s, "name");
	long long ms = cm_jv_get_int(s, "created_ms", 0);
	time_t t = (time_t)(ms / 1000);
	char when[32] = "-";
	struct tm tm;
	size_t k;
	int pad = 30 - 2 * depth - (int)strlen(name);

	done[i] = true;
	if (ms > 0 && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%c %*s%s%*s %-20s %s\n", cur[0] && !strcmp(cur, name) ? '*' : ' ', 2 * depth, "", name,
	       pad > 0 ? pad : 0, "", when, str(s, "vm_state"));
	for (k = 0; k < snaps->nkids; k++)
		if (!done[k] && !strcmp(str(&snaps->kids[k], "parent"), name))
			snap_tree(snaps, k, depth + 1, cur, done);
}

static void render_snapshots(const struct cm_jv *v)
{
	const struct cm_jv *snaps = arr(v, "snapshots");
	const char *cur = str(v, "current");
	bool *done;
	size_t i, k;

	if (!snaps || snaps->nkids == 0) {
		printf("vm '%s' has no snapshots (take one with 'cluadmin vm snapshot create %s')\n", str(v, "vm"),
		       str(v, "vm"));
		return;
	}
	done = calloc(snaps->nkids, sizeof(*done));
	if (done == NULL) {
		fprintf(stderr, "cluadmin: out of memory\n");
		return;
	}
	printf("  %-30s %-20s %s\n", "NAME", "CREATED (UTC)", "VM STATE");
	/* roots: no parent, or a parent that is not in the list */
	for (i = 0; i < snaps->nkids; i++) {
		const char *parent = str(&snaps->kids[i], "parent");
		bool orphan = true;

		for (k = 0; parent[0] && k < snaps->nkids; k++)
			if (k != i && !strcmp(str(&snaps->kids[k], "name"), parent))
				orphan = false;
		if (!done[i] && orphan)
			snap_tree(snaps, i, 0, cur, done);
	}
	for (i = 0; i < snaps->nkids; i++)
		if (!done[i])
			snap_tree(snaps, i, 0, cur, done);
	free(done);
	if (cur[0])
		printf("(* the current snapshot: the one 'cluadmin vm snapshot revert %s' goes back to)\n", str(v, "vm"));
}

/* ---- entry ---- */

static bool verb_matches(const struct vcmd *c, int argc, char **argv, int *words)
{
	return cli_verb_matches(c->verb, argc, argv, words);
}

int cli_vm_main(const struct cli_opts *o, int argc, char **argv)
{
	struct vargs a;
	size_t i;
	int words;

	for (i = 0; i < N_CMDS; i++) {
		const struct vcmd *c = &cmds[i];

		if (!verb_matches(c, argc - 1, argv + 1, &words))
			continue;
		if (parse_args(c, argc - 1 - words, argv + 1 + words, &a) != 0)
			return CLI_EUSAGE;
		return c->run(o, c, &a);
	}
	if (argc < 2)
		return usage_of(NULL, "'vm' needs a command");
	if (!strcmp(argv[1], "snapshot") && argc < 3)
		return usage_of(NULL, "vm snapshot needs create, list, apply, revert, delete or rename");
	if (!strcmp(argv[1], "snapshot"))
		return usage_of(NULL, "unknown vm snapshot command '%s'", argv[2]);
	return usage_of(NULL, "unknown vm command '%s'", argv[1]);
}

/* After a drain: each VM that left node since since_ms (wall clock), and
 * how (its job's kind and report), one line each. */
void cli_vm_drain_report(const struct cli_opts *o, const char *node, long long since_ms)
{
	const struct cm_jv *vms, *vm, *job;
	struct cm_jv *v;
	size_t i;

	if (call_parse(o, CM_CMD_VM_LIST, NULL, 0, &v) != CLI_OK)
		return;
	vms = arr(v, "vms");
	for (i = 0; vms && i < vms->nkids; i++) {
		vm = &vms->kids[i];
		job = obj(vm, "job");
		if (job == NULL || strcmp(str(job, "from"), node) != 0 ||
		    cm_jv_get_int(job, "started_ms", 0) < since_ms)
			continue;
		printf("  %-20s %s -> %s (%s): %s: %s\n", str(vm, "name"), node, str(job, "to"), str(job, "kind"),
		       str(job, "state"), str(job, "text"));
	}
	cm_jv_free(v);
}

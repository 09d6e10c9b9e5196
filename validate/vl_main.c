/* vl_main.c - clusval: the cluster validation wizard's command line.
 *
 *   clusval --nodes n1,n2,n3 ...   the orchestrator: runs `clusval probe
 *                                  --json` on every node through a transport
 *                                  template, in parallel, reads each node's
 *                                  facts back, runs the pure checks and
 *                                  prints / writes the report.
 *   clusval probe --json ...       the probe: this node's facts as JSON.
 *
 * The orchestrator never runs a shell on this side: the template is split
 * on blanks. Errors are sentences on stderr; the exit status is the result
 * (0 Pass, 1 Warning, 2 Fail, 3 usage, 4 no node answered).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cm_err.h"
#include "cm_json.h"
#include "cm_str.h"
#include "vl_checks.h"
#include "vl_cluster.h"
#include "vl_facts.h"
#include "vl_probe.h"
#include "vl_report.h"

enum {
	EXIT_PASS = 0,
	EXIT_WARN = 1,
	EXIT_FAIL = 2,
	EXIT_USAGE = 3,
	EXIT_NOANSWER = 4,
};

#define DEFAULT_EXEC "ssh -o BatchMode=yes root@{node}"
#define DEFAULT_PREFIX "iqn.2026-11.org.clusterd"
#define DEFAULT_NODE_TIMEOUT_S 60
#define MAX_NODES VL_MAX_NODES
#define MAX_RESULTS 256
#define MAX_OUT (8u << 20)      /* a probe's JSON is tens of KiB; more is a runaway */
#define MAX_ERR (64u << 10)
#define REPORT_HTML "clusval-report.html"
#define REPORT_JSON "clusval-report.json"

static const char *const categories_known[] = { "inventory", "network", "storage", "system", "vms" };

static const char usage_text[] =
	"Usage: clusval --nodes N1,N2,... [OPTIONS]     validate the nodes as a cluster\n"
	"       clusval --cluster [OPTIONS]             validate the running cluster this node is in\n"
	"       clusval probe --json [PROBE OPTIONS]    this node's facts as JSON (run by the above)\n"
	"\n"
	"Validation\n"
	"  --nodes N1,N2,...        the nodes to validate (names as the transport knows them)\n"
	"  --cluster                on a node of a running cluster: its members, the LUNs it uses\n"
	"                           (witness, CSVs, VMs' disks; PR tested on none of them) and its\n"
	"                           VMs (the vms tests), through cluadmin\n"
	"  --cluadmin PATH          cluadmin for --cluster (default: next to clusval, or on PATH)\n"
	"  --exec TEMPLATE          how to run a command on a node; {node} is replaced, the\n"
	"                           template is split on blanks (no shell) and the probe's\n"
	"                           command line appended (default: '" DEFAULT_EXEC "')\n"
	"  --remote-clusval PATH    clusval's path on the nodes (default: this binary's path)\n"
	"  --tests CAT,...          only these categories: inventory, network, storage, system, vms\n"
	"  --report DIR             also write DIR/" REPORT_HTML " and DIR/" REPORT_JSON "\n"
	"                           (DIR is created if missing)\n"
	"  --lun ROLE=URL           a LUN every node must see; ROLE witness|csv|disk|scratch (the\n"
	"                           PR test runs only on scratch LUNs no reservation holds); repeat\n"
	"  --initiator-prefix IQN   each node logs in as IQN:NODE (default: " DEFAULT_PREFIX ")\n"
	"  --peer NODE=ADDR[,ADDR]  a node's address per corosync link, when corosync.conf has none\n"
	"  --corosync-conf PATH     corosync.conf on the nodes (default: /etc/corosync/corosync.conf)\n"
	"  --authkey PATH           the authkey on the nodes (default: /etc/corosync/authkey)\n"
	"  --libvirt-uri URI        libvirt on the nodes (default: qemu:///system)\n"
	"  --timeout S              give up on a node after S seconds (default: 60)\n"
	"  --json                   print the report as JSON instead of the summary\n"
	"  --quiet                  print nothing; the exit status is the result\n"
	"\n"
	"Probe (clusval probe --json)\n"
	"  --node NAME              the name the orchestrator calls this node\n"
	"  --peer NODE=ADDR[,ADDR]  a peer's address per corosync link (besides corosync.conf); repeat\n"
	"  --lun ROLE=URL           a LUN to look at; repeat\n"
	"  --initiator IQN          iSCSI initiator name for the LUN probes\n"
	"  --file PATH              a VM's disk file to look at (its qcow2 backing chain too); repeat\n"
	"  --corosync-conf PATH, --authkey PATH, --libvirt-uri URI\n"
	"  --migration-port PORT    libvirt's migration port on the peers (default: 16509)\n"
	"  --timeout S              bound of each network or storage step (default: 3)\n"
	"\n"
	"Exit status: 0 every test passed, 1 warnings, 2 failures (or a node did not answer),\n"
	"3 bad usage, 4 no node answered.\n";

/* ---------- small helpers ---------- */

struct strv {
	const char **v;
	size_t n, cap;
};

static int strv_push(struct strv *sv, const char *s)
{
	if (sv->n + 1 >= sv->cap) {
		size_t cap = sv->cap ? sv->cap * 2 : 16;
		const char **v = realloc(sv->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		sv->v = v;
		sv->cap = cap;
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
	return 0;
}

static void strv_free(struct strv *sv)
{
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("clusval: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'clusval --help'.\n", stderr);
	return EXIT_USAGE;
}

static int64_t now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int parse_seconds(const char *s, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static bool lun_arg_ok(const char *s)
{
	static const char *const roles[] = { "witness", "csv", "disk", "scratch" };
	const char *eq = strchr(s, '=');

	if (eq == NULL || strncmp(eq + 1, "iscsi://", 8) != 0)
		return false;
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if ((size_t)(eq - s) == strlen(roles[i]) && strncmp(s, roles[i], (size_t)(eq - s)) == 0)
			return true;
	return false;
}

static bool peer_arg_ok(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq && eq > s && eq[1] != '\0';
}

/* ---------- the probe ---------- */

static int probe_main(int argc, char **argv)
{
	enum { O_NODE = 256, O_PEER, O_LUN, O_INITIATOR, O_CONF, O_AUTHKEY, O_URI, O_TIMEOUT, O_MIGPORT, O_FILE };
	static const struct option lopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "node", required_argument, NULL, O_NODE },
		{ "peer", required_argument, NULL, O_PEER },
		{ "lun", required_argument, NULL, O_LUN },
		{ "initiator", required_argument, NULL, O_INITIATOR },
		{ "corosync-conf", required_argument, NULL, O_CONF },
		{ "authkey", required_argument, NULL, O_AUTHKEY },
		{ "libvirt-uri", required_argument, NULL, O_URI },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "migration-port", required_argument, NULL, O_MIGPORT },
		{ "file", required_argument, NULL, O_FILE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vl_probe_opts o;
	struct strv peers = { 0 }, luns = { 0 }, files = { 0 };
	struct vl_facts *f = NULL;
	struct cm_sb sb;
	struct cm_jw w;
	int c, rc = EXIT_USAGE;
	bool json = false;

	memset(&o, 0, sizeof(o));
	cm_sb_init(&sb);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case O_NODE: o.node = optarg; break;
		case O_PEER:
			if (!peer_arg_ok(optarg)) {
				rc = usage_error("--peer needs NODE=ADDR[,ADDR...], not '%s'", optarg);
				goto out;
			}
			strv_push(&peers, optarg);
			break;
		case O_LUN:
			if (!lun_arg_ok(optarg)) {
				rc = usage_error("--lun needs ROLE=iscsi://..., ROLE witness, csv, disk or scratch, not '%s'", optarg);
				goto out;
			}
			strv_push(&luns, optarg);
			break;
		case O_INITIATOR: o.initiator = optarg; break;
		case O_CONF: o.corosync_conf = optarg; break;
		case O_AUTHKEY: o.authkey = optarg; break;
		case O_URI: o.libvirt_uri = optarg; break;
		case O_FILE:
			if (optarg[0] != '/' || strlen(optarg) >= VL_PATH) {
				rc = usage_error("--file needs an absolute path shorter than %d bytes, not '%s'", VL_PATH, optarg);
				goto out;
			}
			strv_push(&files, optarg);
			break;
		case O_TIMEOUT:
			if (parse_seconds(optarg, 600, &o.timeout_s) < 0) {
				rc = usage_error("--timeout needs whole seconds from 1 to 600, not '%s'", optarg);
				goto out;
			}
			break;
		case O_MIGPORT:
			if (parse_seconds(optarg, 65535, &o.migration_port) < 0) {
				rc = usage_error("--migration-port needs a port from 1 to 65535, not '%s'", optarg);
				goto out;
			}
			break;
		case 'h': fputs(usage_text, stdout); rc = EXIT_PASS; goto out;
		case ':': rc = usage_error("probe: %s needs a value", argv[optind - 1]); goto out;
		default: rc = usage_error("probe: unknown option '%s'", argv[optind - 1]); goto out;
		}
	}
	if (optind < argc) {
		rc = usage_error("probe: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!json) {
		rc = usage_error("probe speaks JSON only: add --json");
		goto out;
	}
	o.peers = peers.v;
	o.npeers = peers.n;
	o.luns = luns.v;
	o.nluns = luns.n;
	o.files = files.v;
	o.nfiles = files.n;
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		fputs("clusval: probe: out of memory\n", stderr);
		rc = EXIT_FAIL;
		goto out;
	}
	/* The orchestrator times this first byte: together with time_ms read
	 * just before it, the clock comparison excludes the probe's own run
	 * time (seconds, with unreachable peers). JSON allows leading blanks. */
	int64_t t_start = now_ms(CLOCK_REALTIME);
	if (write(STDOUT_FILENO, " ", 1) < 0) {
		/* nobody reads us: the JSON below would fail the same way */
	}
	int prc = vl_probe(&o, f);
	if (prc < 0 && f->ok) {
		f->ok = false;
	}
	if (!f->ok && f->error[0] == '\0')
		snprintf(f->error, sizeof(f->error), "the probe could not run: %s", cm_strerror(prc < 0 ? prc : -EIO));
	if (o.node && f->node[0] == '\0')
		cm_strlcpy(f->node, o.node, sizeof(f->node));
	if (f->ok)
		f->time_ms = t_start;
	if (f->probe_version[0] == '\0' || strcmp(f->probe_version, "unknown") == 0)
		cm_strlcpy(f->probe_version, PACKAGE_VERSION, sizeof(f->probe_version));
	cm_jw_init(&w, &sb);
	vl_facts_to_json(f, &w);
	cm_sb_putc(&sb, '\n');
	if (cm_sb_failed(&sb)) {
		fputs("clusval: probe: out of memory\n", stderr);
		rc = EXIT_FAIL;
		goto out;
	}
	if (fwrite(cm_sb_str(&sb), 1, sb.len, stdout) != sb.len || fflush(stdout) != 0) {
		fprintf(stderr, "clusval: probe: cannot write the answer: %s\n", strerror(errno));
		rc = EXIT_FAIL;
		goto out;
	}
	rc = f->ok ? EXIT_PASS : EXIT_FAIL;
out:
	free(f);
	cm_sb_free(&sb);
	strv_free(&peers);
	strv_free(&luns);
	strv_free(&files);
	return rc;
}

/* ---------- the orchestrator: running the probes ---------- */

struct node_run {
	const char *name;
	char **argv;                /* owned: the transport's words + the probe's command line */
	pid_t pid;
	int fd_out, fd_err;
	struct cm_sb out, err;
	int64_t t0_mono, t0_wall, t1_mono, tend_mono;
	bool got_first, done, timed_out, reaped;
	int status;
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	g_stop = sig;
}

static void argv_free(char **av)
{
	for (size_t i = 0; av && av[i]; i++)
		free(av[i]);
	free(av);
}

/* s with every "{node}" replaced by node. */
static char *subst_node(const char *s, const char *node)
{
	struct cm_sb sb;
	const char *p;

	cm_sb_init(&sb);
	while ((p = strstr(s, "{node}")) != NULL) {
		cm_sb_add(&sb, s, (size_t)(p - s));
		cm_sb_puts(&sb, node);
		s = p + 6;
	}
	cm_sb_puts(&sb, s);
	return cm_sb_steal(&sb);
}

/* ssh hands its arguments to the remote user's shell as one line, so the
 * probe's words are quoted for it; other transports (nsenter, ip netns
 * exec, the harness) exec them as they are. */
static char *shell_quote(const char *s)
{
	struct cm_sb sb;
	bool plain = *s != '\0';

	for (const char *p = s; *p; p++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=,@%+-", *p))
			plain = false;
	if (plain)
		return strdup(s);
	cm_sb_init(&sb);
	cm_sb_putc(&sb, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			cm_sb_puts(&sb, "'\\''");
		else
			cm_sb_putc(&sb, *p);
	}
	cm_sb_putc(&sb, '\'');
	return cm_sb_steal(&sb);
}

struct orch {
	const char *exec_tmpl;
	const char *remote;
	const char *prefix;
	const char *corosync_conf, *authkey, *libvirt_uri;
	struct strv luns, peers, files;
	int timeout_s;
	bool quiet, json, progress;
};

static char **build_argv(const struct orch *o, const char *node)
{
	struct strv words = { 0 };
	char *tmpl = strdup(o->exec_tmpl), *save = NULL, *tok;
	char **av = NULL;
	size_t n = 0;
	bool ssh = false;
	int bad = 0;

	if (tmpl == NULL)
		return NULL;
	/* the probe's command line, as words */
	struct strv probe = { 0 };
	char *initiator = NULL;
	struct cm_sb ib;

	cm_sb_init(&ib);
	cm_sb_printf(&ib, "%s:%s", o->prefix, node);
	initiator = cm_sb_steal(&ib);
	bad |= strv_push(&probe, o->remote);
	bad |= strv_push(&probe, "probe");
	bad |= strv_push(&probe, "--json");
	bad |= strv_push(&probe, "--node");
	bad |= strv_push(&probe, node);
	bad |= strv_push(&probe, "--initiator");
	bad |= strv_push(&probe, initiator ? initiator : "");
	for (size_t i = 0; i < o->luns.n; i++) {
		bad |= strv_push(&probe, "--lun");
		bad |= strv_push(&probe, o->luns.v[i]);
	}
	for (size_t i = 0; i < o->peers.n; i++) {
		bad |= strv_push(&probe, "--peer");
		bad |= strv_push(&probe, o->peers.v[i]);
	}
	for (size_t i = 0; i < o->files.n; i++) {
		bad |= strv_push(&probe, "--file");
		bad |= strv_push(&probe, o->files.v[i]);
	}
	if (o->corosync_conf) {
		bad |= strv_push(&probe, "--corosync-conf");
		bad |= strv_push(&probe, o->corosync_conf);
	}
	if (o->authkey) {
		bad |= strv_push(&probe, "--authkey");
		bad |= strv_push(&probe, o->authkey);
	}
	if (o->libvirt_uri) {
		bad |= strv_push(&probe, "--libvirt-uri");
		bad |= strv_push(&probe, o->libvirt_uri);
	}

	for (tok = strtok_r(tmpl, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		bad |= strv_push(&words, tok);
	if (bad || words.n == 0)
		goto out;
	const char *base = strrchr(words.v[0], '/');
	ssh = strcmp(base ? base + 1 : words.v[0], "ssh") == 0;

	av = calloc(words.n + probe.n + 1, sizeof(*av));
	if (av == NULL)
		goto out;
	for (size_t i = 0; i < words.n; i++)
		if ((av[n++] = subst_node(words.v[i], node)) == NULL)
			goto fail;
	for (size_t i = 0; i < probe.n; i++)
		if ((av[n++] = ssh ? shell_quote(probe.v[i]) : strdup(probe.v[i])) == NULL)
			goto fail;
	goto out;
fail:
	argv_free(av);
	av = NULL;
out:
	free(initiator);
	free(tmpl);
	strv_free(&words);
	strv_free(&probe);
	return av;
}

static int spawn(struct node_run *nr)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		goto fail;
	nr->t0_mono = now_ms(CLOCK_MONOTONIC);
	nr->t0_wall = now_ms(CLOCK_REALTIME);
	nr->pid = fork();
	if (nr->pid < 0)
		goto fail;
	if (nr->pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		/* its own process group: a timeout ends the transport and
		 * everything it started, and nothing else */
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		execvp(nr->argv[0], nr->argv);
		dprintf(STDERR_FILENO, "cannot run '%s': %s\n", nr->argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(nr->pid, nr->pid);     /* both sides: no race with the kill */
	close(po[1]);
	close(pe[1]);
	nr->fd_out = po[0];
	nr->fd_err = pe[0];
	fcntl(nr->fd_out, F_SETFL, O_NONBLOCK);
	fcntl(nr->fd_err, F_SETFL, O_NONBLOCK);
	return 0;
fail: {
	int e = errno;

	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	cm_sb_printf(&nr->err, "cannot start the transport: %s\n", strerror(e));
	nr->pid = -1;
	nr->done = nr->reaped = true;
	nr->fd_out = nr->fd_err = -1;
	return -e;
}
}

static void progress(const struct orch *o, const struct node_run *nr, size_t n, bool final)
{
	size_t done = 0;
	struct cm_sb sb;

	if (!o->progress)
		return;
	for (size_t i = 0; i < n; i++)
		done += nr[i].done;
	cm_sb_init(&sb);
	if (final) {
		cm_sb_puts(&sb, "\r\033[K");
	} else {
		cm_sb_puts(&sb, "\rprobing");
		for (size_t i = 0; i < n; i++) {
			if (sb.len > 48) {
				cm_sb_puts(&sb, " ...");
				break;
			}
			cm_sb_printf(&sb, " %s", nr[i].name);
		}
		cm_sb_printf(&sb, " ... %zu/%zu done\033[K", done, n);
	}
	if (!cm_sb_failed(&sb) && write(STDERR_FILENO, cm_sb_str(&sb), sb.len) < 0) {
		/* a progress line that cannot be shown is no error */
	}
	cm_sb_free(&sb);
}

static void drain(int *fd, struct cm_sb *sb, size_t cap, struct node_run *nr, bool is_out)
{
	char buf[8192];

	for (;;) {
		ssize_t r = read(*fd, buf, sizeof(buf));

		if (r > 0) {
			if (is_out && !nr->got_first) {
				nr->got_first = true;
				nr->t1_mono = now_ms(CLOCK_MONOTONIC);
			}
			if (sb->len + (size_t)r <= cap)
				cm_sb_add(sb, buf, (size_t)r);
			else if (is_out)
				sb->failed = 1;          /* a runaway answer: refused below */
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close(*fd);                       /* EOF or error */
		*fd = -1;
		return;
	}
}

static void end_node(struct node_run *nr, bool kill_it)
{
	if (kill_it && nr->pid > 0 && !nr->reaped) {
		kill(-nr->pid, SIGKILL);
		kill(nr->pid, SIGKILL);
	}
	if (nr->fd_out >= 0)
		close(nr->fd_out);
	if (nr->fd_err >= 0)
		close(nr->fd_err);
	nr->fd_out = nr->fd_err = -1;
	if (nr->pid > 0 && !nr->reaped) {
		while (waitpid(nr->pid, &nr->status, 0) < 0 && errno == EINTR)
			;
		nr->reaped = true;
	}
	if (!nr->done)
		nr->tend_mono = now_ms(CLOCK_MONOTONIC);
	nr->done = true;
}

/* Run every node's probe at once; returns when all answered, failed or
 * timed out (or on SIGINT/SIGTERM, with every child ended). */
static void run_probes(const struct orch *o, struct node_run *nr, size_t n)
{
	struct pollfd *pfd = calloc(2 * n, sizeof(*pfd));
	size_t *owner = calloc(2 * n, sizeof(*owner));
	int64_t deadline;

	for (size_t i = 0; i < n; i++)
		spawn(&nr[i]);
	deadline = now_ms(CLOCK_MONOTONIC) + (int64_t)o->timeout_s * 1000;
	progress(o, nr, n, false);
	if (pfd == NULL || owner == NULL) {
		for (size_t i = 0; i < n; i++) {
			cm_sb_puts(&nr[i].err, "out of memory while waiting\n");
			end_node(&nr[i], true);
		}
		goto out;
	}
	for (;;) {
		size_t np = 0, left = 0;
		int64_t now = now_ms(CLOCK_MONOTONIC);
		bool changed = false;

		for (size_t i = 0; i < n; i++) {
			struct node_run *r = &nr[i];

			if (r->done)
				continue;
			if (g_stop || now >= deadline) {
				r->timed_out = !g_stop;
				end_node(r, true);
				changed = true;
				continue;
			}
			if (r->fd_out < 0 && r->fd_err < 0) {
				/* both pipes closed: reap without blocking (a
				 * daemonised grandchild must not hold us) */
				pid_t w = waitpid(r->pid, &r->status, WNOHANG);

				if (w == r->pid || (w < 0 && errno != EINTR)) {
					r->reaped = true;
					end_node(r, false);
					changed = true;
					continue;
				}
			}
			left++;
			if (r->fd_out >= 0) {
				pfd[np] = (struct pollfd){ .fd = r->fd_out, .events = POLLIN };
				owner[np++] = 2 * i;
			}
			if (r->fd_err >= 0) {
				pfd[np] = (struct pollfd){ .fd = r->fd_err, .events = POLLIN };
				owner[np++] = 2 * i + 1;
			}
		}
		if (changed)
			progress(o, nr, n, false);
		if (left == 0)
			break;
		int64_t wait_ms = deadline - now;
		if (np < left * 2 && wait_ms > 20)
			wait_ms = 20;            /* someone is waiting to be reaped */
		int pr = poll(pfd, np, (int)(wait_ms > 0 ? wait_ms : 0));
		if (pr < 0 && errno != EINTR)
			break;
		for (size_t k = 0; pr > 0 && k < np; k++) {
			struct node_run *r = &nr[owner[k] / 2];

			if (pfd[k].revents == 0)
				continue;
			if (owner[k] % 2 == 0)
				drain(&r->fd_out, &r->out, MAX_OUT, r, true);
			else
				drain(&r->fd_err, &r->err, MAX_ERR, r, false);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!nr[i].done)
			end_node(&nr[i], true);
out:
	progress(o, nr, n, true);
	free(pfd);
	free(owner);
}

/* The last non-empty line of a child's stderr (where ssh and the probe
 * say what went wrong). */
static void last_line(const struct cm_sb *sb, char *buf, size_t len)
{
	const char *s = cm_sb_str(sb);
	size_t end = strlen(s), start;

	while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == '\r' || s[end - 1] == ' '))
		end--;
	start = end;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	if (end - start + 1 < len)
		len = end - start + 1;
	cm_strlcpy(buf, s + start, len);
}

/* A node's facts from its answer, or ok=false with the reason. */
static void collect(const struct orch *o, struct node_run *nr, struct vl_facts *f)
{
	char perr[160] = "", why[VL_TEXT] = "", tail[VL_TEXT];
	const char *text = cm_sb_failed(&nr->out) ? NULL : strchr(cm_sb_str(&nr->out), '{');
	struct cm_jv *v = NULL;

	memset(f, 0, sizeof(*f));
	last_line(&nr->err, tail, sizeof(tail));
	if (nr->timed_out) {
		snprintf(why, sizeof(why), "no answer within %d s (transport or probe hung)", o->timeout_s);
	} else if (cm_sb_failed(&nr->out)) {
		cm_strlcpy(why, "the answer is larger than any probe writes", sizeof(why));
	} else if (text && (v = cm_jv_parse(text, perr, sizeof(perr))) != NULL &&
		   vl_facts_from_json(v, f, perr, sizeof(perr)) == 0) {
		/* the probe answered (its own ok flag says whether it could run) */
		cm_strlcpy(f->node, nr->name, sizeof(f->node));
		if (!f->ok && f->error[0] == '\0')
			cm_strlcpy(f->error, tail[0] ? tail : "the probe could not run", sizeof(f->error));
		cm_jv_free(v);
		return;
	} else if (nr->pid < 0) {
		cm_strlcpy(why, tail, sizeof(why));
	} else if (WIFEXITED(nr->status) && WEXITSTATUS(nr->status) != 0) {
		snprintf(why, sizeof(why), "exit status %d%s%.200s", WEXITSTATUS(nr->status), tail[0] ? ": " : "",
			 tail);
	} else if (WIFSIGNALED(nr->status)) {
		snprintf(why, sizeof(why), "killed by signal %d%s%.200s", WTERMSIG(nr->status), tail[0] ? ": " : "",
			 tail);
	} else if (text == NULL) {
		snprintf(why, sizeof(why), "no JSON in the answer%s%.200s", tail[0] ? ": " : "", tail);
	} else {
		snprintf(why, sizeof(why), "unreadable answer: %.200s", perr);
	}
	cm_jv_free(v);
	memset(f, 0, sizeof(*f));
	cm_strlcpy(f->node, nr->name, sizeof(f->node));
	f->ok = false;
	cm_strlcpy(f->error, why, sizeof(f->error));
}

/* ---------- the orchestrator: reports ---------- */

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];

	if (cm_strlcpy(path, dir, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	for (char *p = path + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char save = *p;

			*p = '\0';
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				return -errno;
			*p = save;
			if (save == '\0')
				break;
		}
	}
	struct stat st;
	if (stat(dir, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

/* DIR/NAME, written whole or not at all (temporary file + rename). */
static int write_report(const char *dir, const char *name, const struct cm_sb *sb)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, rc = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < sb->len;) {
		ssize_t w = write(fd, sb->buf + off, sb->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static int self_path(char *buf, size_t len, const char *argv0)
{
	ssize_t r = readlink("/proc/self/exe", buf, len - 1);

	if (r > 0) {
		buf[r] = '\0';
		return 0;
	}
	if (argv0 && argv0[0] == '/')
		return cm_strlcpy(buf, argv0, len) < 0 ? -ENAMETOOLONG : 0;
	if (argv0 && realpath(argv0, buf) != NULL && strchr(argv0, '/'))
		return 0;
	return -ENOENT;
}

/* Split "a,b,c" into trimmed, non-empty words (pointers into copy). */
static int split_list(char *copy, struct strv *out)
{
	char *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ' || *t == '\t')
			t++;
		char *e = t + strlen(t);
		while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*t == '\0')
			continue;
		if (strv_push(out, t) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int orchestrate(int argc, char **argv)
{
	enum {
		O_NODES = 256, O_EXEC, O_TESTS, O_REPORT, O_LUN, O_PREFIX, O_CONF, O_AUTHKEY, O_URI, O_PEER,
		O_REMOTE, O_TIMEOUT, O_JSON, O_QUIET, O_VERSION, O_CLUSTER, O_CLUADMIN,
	};
	static const struct option lopts[] = {
		{ "nodes", required_argument, NULL, O_NODES },
		{ "cluster", no_argument, NULL, O_CLUSTER },
		{ "cluadmin", required_argument, NULL, O_CLUADMIN },
		{ "exec", required_argument, NULL, O_EXEC },
		{ "tests", required_argument, NULL, O_TESTS },
		{ "report", required_argument, NULL, O_REPORT },
		{ "lun", required_argument, NULL, O_LUN },
		{ "initiator-prefix", required_argument, NULL, O_PREFIX },
		{ "corosync-conf", required_argument, NULL, O_CONF },
		{ "authkey", required_argument, NULL, O_AUTHKEY },
		{ "libvirt-uri", required_argument, NULL, O_URI },
		{ "peer", required_argument, NULL, O_PEER },
		{ "remote-clusval", required_argument, NULL, O_REMOTE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, O_JSON },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct orch o;
	struct strv nodes = { 0 }, cats = { 0 };
	char *nodes_copy = NULL, *tests_copy = NULL, self[PATH_MAX];
	const char *report_dir = NULL;
	struct node_run *nr = NULL;
	struct vl_facts *facts = NULL;
	struct vl_result *results = NULL;
	int64_t *clock_ref = NULL;
	struct vl_cluster cl;
	bool cluster = false;
	const char *cluadmin = NULL;
	int c, rc = EXIT_USAGE;

	memset(&cl, 0, sizeof(cl));

	memset(&o, 0, sizeof(o));
	o.exec_tmpl = DEFAULT_EXEC;
	o.prefix = DEFAULT_PREFIX;
	o.timeout_s = DEFAULT_NODE_TIMEOUT_S;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", lopts, NULL)) != -1) {
		switch (c) {
		case O_NODES:
			free(nodes_copy);
			nodes_copy = strdup(optarg);
			break;
		case O_EXEC: o.exec_tmpl = optarg; break;
		case O_CLUSTER: cluster = true; break;
		case O_CLUADMIN: cluadmin = optarg; break;
		case O_TESTS:
			free(tests_copy);
			tests_copy = strdup(optarg);
			break;
		case O_REPORT: report_dir = optarg; break;
		case O_LUN:
			if (!lun_arg_ok(optarg)) {
				rc = usage_error("--lun needs ROLE=iscsi://..., ROLE witness, csv, disk or scratch, not '%s'", optarg);
				goto out;
			}
			strv_push(&o.luns, optarg);
			break;
		case O_PREFIX: o.prefix = optarg; break;
		case O_CONF: o.corosync_conf = optarg; break;
		case O_AUTHKEY: o.authkey = optarg; break;
		case O_URI: o.libvirt_uri = optarg; break;
		case O_PEER:
			if (!peer_arg_ok(optarg)) {
				rc = usage_error("--peer needs NODE=ADDR[,ADDR...], not '%s'", optarg);
				goto out;
			}
			strv_push(&o.peers, optarg);
			break;
		case O_REMOTE: o.remote = optarg; break;
		case O_TIMEOUT:
			if (parse_seconds(optarg, 3600, &o.timeout_s) < 0) {
				rc = usage_error("--timeout needs whole seconds from 1 to 3600, not '%s'", optarg);
				goto out;
			}
			break;
		case O_JSON: o.json = true; break;
		case O_QUIET: o.quiet = true; break;
		case O_VERSION: printf("clusval %s\n", PACKAGE_VERSION); rc = EXIT_PASS; goto out;
		case 'h': fputs(usage_text, stdout); rc = EXIT_PASS; goto out;
		case ':': rc = usage_error("%s needs a value", argv[optind - 1]); goto out;
		default: rc = usage_error("unknown option '%s'", argv[optind - 1]); goto out;
		}
	}
	if (optind < argc) {
		rc = usage_error("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (cluster && nodes_copy) {
		rc = usage_error("--cluster takes the nodes from the cluster: drop --nodes");
		goto out;
	}
	if (nodes_copy == NULL && !cluster) {
		rc = usage_error("--nodes N1,N2,... (or --cluster, on a node of a running cluster) is required");
		goto out;
	}
	if (cluster) {
		char err[512];
		const char *files[VL_MAX_FILES];
		size_t nf;

		if (vl_cluster_load(cluadmin, &cl, err, sizeof(err)) < 0) {
			fprintf(stderr, "clusval: --cluster: %s\n", err);
			rc = EXIT_NOANSWER;
			goto out;
		}
		for (size_t i = 0; i < cl.n_nodes; i++)
			strv_push(&nodes, cl.nodes[i]);
		for (size_t i = 0; i < cl.n_luns; i++)
			strv_push(&o.luns, cl.luns[i]);
		nf = vl_cluster_files(&cl, files, VL_MAX_FILES);
		for (size_t i = 0; i < nf; i++)
			strv_push(&o.files, files[i]);
		if (!o.quiet && !o.json)
			fprintf(stderr, "clusval: cluster of %zu nodes, %zu LUNs in use, %zu VMs (%zu files)\n",
				cl.n_nodes, cl.n_luns, cl.n_vms, nf);
	} else if (split_list(nodes_copy, &nodes) < 0 || nodes.n == 0) {
		rc = usage_error("--nodes lists no node");
		goto out;
	}
	if (nodes.n > MAX_NODES) {
		rc = usage_error("at most %d nodes, not %zu", MAX_NODES, nodes.n);
		goto out;
	}
	for (size_t i = 0; i < nodes.n; i++) {
		if (strlen(nodes.v[i]) >= VL_NAME || strpbrk(nodes.v[i], " \t/'\"\\$`;&|<>(){}*?[]!") != NULL) {
			rc = usage_error("'%s' is not a node name", nodes.v[i]);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(nodes.v[i], nodes.v[j]) == 0) {
				rc = usage_error("node '%s' is listed twice", nodes.v[i]);
				goto out;
			}
	}
	if (tests_copy) {
		if (split_list(tests_copy, &cats) < 0 || cats.n == 0) {
			rc = usage_error("--tests lists no category");
			goto out;
		}
		for (size_t i = 0; i < cats.n; i++) {
			size_t k, nk = sizeof(categories_known) / sizeof(categories_known[0]);

			for (k = 0; k < nk; k++)
				if (strcmp(cats.v[i], categories_known[k]) == 0)
					break;
			if (k == nk) {
				rc = usage_error("unknown test category '%s' (inventory, network, storage, system, vms)",
						 cats.v[i]);
				goto out;
			}
		}
	}
	if (strstr(o.exec_tmpl, "{node}") == NULL || strspn(o.exec_tmpl, " \t") == strlen(o.exec_tmpl)) {
		rc = usage_error("the --exec template needs {node}, e.g. 'ssh root@{node}' (got '%s')", o.exec_tmpl);
		goto out;
	}
	if (o.prefix[0] == '\0' || strpbrk(o.prefix, " \t") != NULL) {
		rc = usage_error("--initiator-prefix needs an IQN such as " DEFAULT_PREFIX ", not '%s'", o.prefix);
		goto out;
	}
	if (o.remote == NULL) {
		if (self_path(self, sizeof(self), argv[0]) < 0) {
			rc = usage_error("cannot tell this program's path: give --remote-clusval PATH");
			goto out;
		}
		o.remote = self;
	}
	o.progress = !o.quiet && isatty(STDERR_FILENO);

	nr = calloc(nodes.n, sizeof(*nr));
	facts = calloc(nodes.n, sizeof(*facts));
	clock_ref = calloc(nodes.n, sizeof(*clock_ref));
	results = calloc(MAX_RESULTS, sizeof(*results));
	if (nr == NULL || facts == NULL || clock_ref == NULL || results == NULL) {
		fputs("clusval: out of memory\n", stderr);
		rc = EXIT_FAIL;
		goto out;
	}
	for (size_t i = 0; i < nodes.n; i++) {
		nr[i].name = nodes.v[i];
		nr[i].fd_out = nr[i].fd_err = -1;
		cm_sb_init(&nr[i].out);
		cm_sb_init(&nr[i].err);
		nr[i].argv = build_argv(&o, nodes.v[i]);
		if (nr[i].argv == NULL) {
			fputs("clusval: out of memory\n", stderr);
			rc = EXIT_FAIL;
			goto out;
		}
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;     /* no SA_RESTART: poll returns, the children are ended */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int64_t started = now_ms(CLOCK_REALTIME);
	run_probes(&o, nr, nodes.n);
	if (g_stop) {
		fprintf(stderr, "clusval: interrupted; every probe was ended\n");
		rc = 128 + (int)g_stop;
		goto out;
	}

	size_t answered = 0;
	for (size_t i = 0; i < nodes.n; i++) {
		collect(&o, &nr[i], &facts[i]);
		if (facts[i].ok) {
			/* Cristian's estimate from the first byte, which the
			 * probe writes right after reading its clock */
			int64_t t1 = nr[i].got_first ? nr[i].t1_mono : nr[i].tend_mono;

			clock_ref[i] = nr[i].t0_wall + (t1 - nr[i].t0_mono) / 2;
			answered++;
		} else {
			fprintf(stderr, "clusval: node '%s' did not answer: %s\n", nr[i].name, facts[i].error);
		}
	}
	if (answered == 0) {
		fprintf(stderr, "clusval: no node answered (transport: '%s')\n", o.exec_tmpl);
		rc = EXIT_NOANSWER;
		goto out;
	}

	struct vl_limits lim;
	vl_limits_default(&lim);
	lim.clock_ref_ms = clock_ref;
	size_t nres = vl_run_checks(facts, nodes.n, cl.vms, cl.n_vms, &lim, cats.n ? cats.v : NULL, cats.n, results,
				    MAX_RESULTS);
	int64_t ended = now_ms(CLOCK_REALTIME);

	struct cm_sb title;
	cm_sb_init(&title);
	cm_sb_puts(&title, cluster ? "Validation of the running cluster: " : "Validation of ");
	for (size_t i = 0; i < nodes.n; i++)
		cm_sb_printf(&title, "%s%s", i ? ", " : "", nodes.v[i]);
	struct vl_run_info ri = {
		.title = cm_sb_str(&title),
		.started_ms = started,
		.ended_ms = ended,
		.version = PACKAGE_VERSION,
		.nodes = nodes.v,
		.nnodes = nodes.n,
		.color = !o.json && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL,
	};
	struct cm_sb text, html, json;
	cm_sb_init(&text);
	cm_sb_init(&html);
	cm_sb_init(&json);
	if (o.json || report_dir)
		vl_report_json(&ri, results, nres, facts, nodes.n, &json);
	if (report_dir)
		vl_report_html(&ri, results, nres, facts, nodes.n, &html);
	if (!o.json && !o.quiet)
		vl_report_text(&ri, results, nres, &text);

	enum vl_status worst = vl_worst(results, nres);
	rc = worst == VL_FAIL ? EXIT_FAIL : worst == VL_WARN ? EXIT_WARN : EXIT_PASS;
	if (answered < nodes.n)
		rc = EXIT_FAIL;          /* a node that did not answer was not validated */

	if (cm_sb_failed(&text) || cm_sb_failed(&html) || cm_sb_failed(&json)) {
		fputs("clusval: out of memory while writing the report\n", stderr);
		rc = EXIT_FAIL;
	} else {
		if (report_dir) {
			int e = mkdir_p(report_dir);

			if (e == 0)
				e = write_report(report_dir, REPORT_HTML, &html);
			if (e == 0)
				e = write_report(report_dir, REPORT_JSON, &json);
			if (e < 0) {
				fprintf(stderr, "clusval: cannot write the report into '%s': %s\n", report_dir,
					cm_strerror(e));
				if (rc < EXIT_FAIL)
					rc = EXIT_FAIL;
				report_dir = NULL;
			}
		}
		if (o.json && !o.quiet)
			fputs(cm_sb_str(&json), stdout);
		else if (!o.quiet) {
			fputs(cm_sb_str(&text), stdout);
			if (report_dir)
				printf("report: %s/%s, %s/%s\n", report_dir, REPORT_HTML, report_dir, REPORT_JSON);
		}
		if (fflush(stdout) != 0 && rc < EXIT_FAIL)
			rc = EXIT_FAIL;
	}
	cm_sb_free(&text);
	cm_sb_free(&html);
	cm_sb_free(&json);
	cm_sb_free(&title);
out:
	for (size_t i = 0; nr && i < nodes.n; i++) {
		argv_free(nr[i].argv);
		cm_sb_free(&nr[i].out);
		cm_sb_free(&nr[i].err);
	}
	free(nr);
	free(facts);
	free(clock_ref);
	free(results);
	free(nodes_copy);
	free(tests_copy);
	strv_free(&nodes);
	strv_free(&cats);
	strv_free(&o.luns);
	strv_free(&o.peers);
	strv_free(&o.files);
	vl_cluster_free(&cl);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "probe") == 0)
		return probe_main(argc - 1, argv + 1);
	return orchestrate(argc, argv);
}

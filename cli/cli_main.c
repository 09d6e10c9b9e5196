/* cli_main.c - cluadmin: the administrator's command line.
 *
 * Parses the command line, sends one request to the local clusterd and
 * prints the answer (a table, or JSON with --json). Errors are sentences
 * on stderr; the exit code says what kind of failure it was. */

#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qb/qblog.h>

#include "config.h"
#include "cm_prop.h"
#include "cm_proto.h"
#include "cli.h"

static const char usage_text[] =
	"Usage: cluadmin [--json] [--timeout SECONDS] COMMAND [ARGS]\n"
	"\n"
	"Cluster\n"
	"  status                           one-screen summary: cluster, quorum, nodes, groups\n"
	"  cluster show                     the cluster's identity, heartbeat and properties\n"
	"  cluster create NAME --node NAME=ADDR... [--dir DIR] [--token MS]\n"
	"                 [--token-coefficient MS] [--force]\n"
	"                 [--exec TEMPLATE] [--lun ROLE=URL]... [--skip-validation]\n"
	"                                   validate the nodes with clusval (report into DIR;\n"
	"                                   a failure refuses), then write corosync.conf, authkey,\n"
	"                                   clusterd.conf and the initial cluster.db into DIR\n"
	"                                   (default: .)\n"
	"Nodes\n"
	"  node list                        every node and its state (Up, Down, Joining, Paused)\n"
	"  node show NODE                   one node with its properties and groups\n"
	"  node pause NODE                  operator pause: the node stays a member but takes no groups\n"
	"  node resume NODE                 undo pause\n"
	"  node drain NODE [--wait]         pause NODE and move its groups off, highest priority\n"
	"                                   first (node resume undoes the pause)\n"
	"  node confirm-down NODE           the operator confirms that a lost NODE is powered off,\n"
	"                                   when no fence agent can: its groups are then recovered\n"
	"Groups (resources that run together on one node and fail over together)\n"
	"  group list                       every group: state, owner, priority\n"
	"  group show NAME                  one group with its resources and properties\n"
	"  group create NAME [KEY=VALUE]... a new, empty group (Offline), with properties\n"
	"  group delete NAME                delete an offline group and its resources\n"
	"  group set NAME KEY=VALUE...      set group properties (preferred_owners, priority, ...)\n"
	"  group unset NAME KEY...          back to the defaults\n"
	"  group online NAME [--wait]       bring its resources online, dependencies first\n"
	"  group offline NAME [--wait]      take them offline, dependents first\n"
	"  group move NAME [--node NODE] [--wait]\n"
	"                                   offline here, online on NODE (default: the best\n"
	"                                   other node)\n"
	"Resources\n"
	"  resource list [--group GROUP]    every resource (of one group): state, node\n"
	"  resource show NAME               one resource with its dependencies and properties\n"
	"  resource create NAME --group GROUP --type TYPE [KEY=VALUE]...\n"
	"                                   TYPE process runs command=CMDLINE as a service\n"
	"  resource delete NAME             delete an offline resource\n"
	"  resource set NAME KEY=VALUE...   set resource properties (restart_action, ...)\n"
	"  resource unset NAME KEY...       back to the defaults\n"
	"  resource depend add RESOURCE DEPENDENCY\n"
	"                                   RESOURCE needs DEPENDENCY online first (same group)\n"
	"  resource depend remove RESOURCE DEPENDENCY\n"
	"Virtual machines (a VM NAME is a group NAME holding the resources NAME-config,\n"
	"its libvirt domain XML, and NAME, the running domain)\n"
	"  vm list                          every VM: state, owner, node, memory, vCPUs, job\n"
	"  vm show NAME                     one VM with its disks, networks and resources\n"
	"  vm create NAME --xml FILE [--group G] [--preferred N1,N2]\n"
	"            [--offline-action shutdown|save|off] [--no-start] [--wait]\n"
	"                                   a VM from a domain XML file whose <name> is NAME\n"
	"                                   (FILE - reads standard input); started unless\n"
	"                                   --no-start\n"
	"  vm delete NAME                   delete a stopped VM with its group and resources\n"
	"  vm edit NAME --xml FILE          replace the domain XML of a stopped VM (same checks as create)\n"

	"  vm start NAME [--wait]           start it (restores the memory saved by vm save)\n"
	"  vm stop NAME [--wait]            turn it off\n"
	"  vm shutdown NAME [--wait]        ACPI shutdown; turned off after shutdown_timeout_s\n"
	"  vm save NAME [--wait]            save its memory into vm_state_dir and stop it\n"
	"  vm migrate NAME [--to NODE] [--live|--quick|--move] [--no-wait]\n"
	"                                   to NODE (default: the best other node), live by\n"
	"                                   default; shows progress, then a report\n"
	"  vm migrate NAME --cancel         cancel its running migration\n"
	"  vm snapshot create NAME [--name S]\n"
	"                                   default name 'NAME - (YYYY-MM-DD HH:MM:SS)' (UTC)\n"
	"  vm snapshot list NAME            its snapshots as a tree, * marks the current one\n"
	"  vm snapshot apply NAME S         go back to snapshot S\n"
	"  vm snapshot revert NAME          go back to the current snapshot\n"
	"  vm snapshot delete NAME S\n"
	"  vm snapshot rename NAME S NEW\n"
	"Cluster shared volumes (VM disks: <disk type='volume'><source pool='csv:CSV' volume='VOL'/>)\n"
	"  csv create NAME URL [--force]    format the LUN iscsi://ADDR[:PORT]/IQN/LUN as a CSV\n"
	"  csv list | show NAME | delete NAME\n"
	"  csv locks [NAME]                 who holds which volume (VMs lock theirs before starting)\n"
	"  csv volume create|resize CSV VOLUME SIZE   SIZE: bytes or 512M, 20G ...\n"
	"  csv volume delete CSV VOLUME | csv volume list CSV\n"
	"  csv lock|unlock CSV/VOLUME --owner TAG [--shared]   an administrator's lock\n"
	"Properties (of the cluster, or with OBJECT --node NODE, --group GROUP or\n"
	"--resource RESOURCE, of that object)\n"
	"  property list [OBJECT]\n"
	"  property get [OBJECT] KEY\n"
	"  property set [OBJECT] KEY VALUE\n"
	"  property unset [OBJECT] KEY      back to the default\n"
	"Quorum\n"
	"  quorum show                      mode, votes, and who holds the witness\n"
	"  quorum set --mode MODE [--witness URL]\n"
	"                                   node-majority, or node-and-disk-majority with a\n"
	"                                   witness LUN iscsi://ADDR[:PORT]/IQN/LUN (no restart)\n"
	"  witness init URL [--force]       write an empty witness layout on a LUN; refuses data\n"
	"                                   it does not recognise unless --force\n"
	"Diagnostics\n"
	"  log [--follow] [--since WHEN] [--limit N]\n"
	"                                   the replicated event log; WHEN is 30s, 10m, 2h, 1d\n"
	"                                   or 'YYYY-MM-DD HH:MM[:SS]'\n"
	"  blackbox [--print]               write clusterd's blackbox ring to a file; print its\n"
	"                                   path, or with --print its contents\n"
	"  debug db-info                    epoch, sequence and content hash of this node's replica\n"
	"\n"
	"Options\n"
	"  -j, --json          machine-readable output on every command that shows state\n"
	"  -t, --timeout SEC   how long to wait for clusterd (default 30); with --wait, for\n"
	"                      the whole operation (default 60)\n"
	"      --wait          (group online|offline|move, node drain, vm create|start|stop|\n"
	"                      shutdown|save) show progress until the operation has\n"
	"                      finished; vm migrate (unless --no-wait) and vm snapshot\n"
	"                      always wait (vm waits default to 300 s)\n"
	"  -h, --help          this text;  -V, --version  the version\n"
	"\n"
	"Exit status: 0 success; 1 the cluster refused or failed (with --wait: the group\n"
	"or VM failed; a migration or snapshot job failed or was cancelled); 2 bad\n"
	"command line; 3 clusterd not reachable; 4 no quorum, not yet a member or\n"
	"synchronising (retry); 5 permission denied (root or the haclient group only);\n"
	"6 timed out (when waiting: not finished in time; the request stays in effect).\n"
	"See cluadmin(8).\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "cluadmin: ");
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\nTry 'cluadmin --help'.\n");
	return CLI_EUSAGE;
}

/* Split "--node NODE", "--group GROUP" or "--resource RESOURCE" (also
 * with '=') out of a property command's words. */
static int prop_target(int *argc, char **argv, const char **kind, const char **obj)
{
	static const char *const kinds[] = { "node", "group", "resource" };
	int i, k = 0, t;
	bool have = false;

	*kind = "cluster";
	*obj = "";
	for (i = 0; i < *argc; i++) {
		for (t = 0; t < 3; t++) {
			size_t n = strlen(kinds[t]);

			if (strncmp(argv[i], "--", 2) || strncmp(argv[i] + 2, kinds[t], n) ||
			    (argv[i][2 + n] != '\0' && argv[i][2 + n] != '='))
				continue;
			if (have)
				return usage_error("give one of --node, --group and --resource%s", NULL);
			have = true;
			*kind = kinds[t];
			if (argv[i][2 + n] == '=')
				*obj = argv[i] + 3 + n;
			else if (i + 1 < *argc)
				*obj = argv[++i];
			else
				return usage_error("%s needs a name", argv[i]);
			break;
		}
		if (t == 3)
			argv[k++] = argv[i];
	}
	*argc = k;
	return 0;
}

static int cmd_property(const struct cli_opts *o, int argc, char **argv)
{
	const char *kind, *obj, *args[4];
	const char *verb = argc > 0 ? argv[0] : "";

	argc--;
	argv++;
	if (prop_target(&argc, argv, &kind, &obj) != 0)
		return CLI_EUSAGE;
	args[0] = kind;
	args[1] = obj;
	if (!strcmp(verb, "list") && argc == 0)
		return cli_show(o, CM_CMD_PROP_LIST, args, 2, cli_render_props);
	if (!strcmp(verb, "get") && argc == 1) {
		args[2] = argv[0];
		return cli_show(o, CM_CMD_PROP_GET, args, 3, cli_render_prop);
	}
	if (!strcmp(verb, "set") && argc == 2) {
		args[2] = argv[0];
		args[3] = argv[1];
		return cli_show(o, CM_CMD_PROP_SET, args, 4, cli_render_ok);
	}
	if (!strcmp(verb, "unset") && argc == 1) {
		args[2] = argv[0];
		return cli_show(o, CM_CMD_PROP_UNSET, args, 3, cli_render_ok);
	}
	return usage_error("usage: property list|get KEY|set KEY VALUE|unset KEY [--node NODE|--group GROUP|--resource RESOURCE]%s", NULL);
}

/* After switching to a witness: wait until this node reaches it, or say why not. */
static int wait_witness(const struct cli_opts *o)
{
	int i, rc;

	for (i = 0; i < 60; i++) {
		struct cm_jv *v;
		const struct cm_jv *w;
		char *text;

		rc = cli_call(o, CM_CMD_QUORUM_SHOW, NULL, 0, &text);
		if (rc != CLI_OK)
			return rc;
		v = cm_jv_parse(text, NULL, 0);
		free(text);
		w = cm_jv_get(cm_jv_get(v, "quorum"), "witness");
		if (w && cm_jv_get_int(w, "holder", 0) == -1) {
			fprintf(stderr, "cluadmin: the mode is set, but the witness LUN is reserved by another cluster: release it there or use another LUN\n");
			cm_jv_free(v);
			return CLI_EFAIL;
		}
		if (w && cm_jv_get_bool(w, "lun_ok", false) && cm_jv_get_int(w, "holder", 0) > 0) {
			if (!o->json)
				printf("witness reached; held by %s\n", cm_jv_get_str(w, "holder_name", "?"));
			cm_jv_free(v);
			return CLI_OK;
		}
		if (w && i >= 20 && cm_jv_get_str(w, "error", "")[0]) {
			fprintf(stderr, "cluadmin: the mode is set, but this node cannot use the witness: %s\n",
				cm_jv_get_str(w, "error", ""));
			cm_jv_free(v);
			return CLI_EFAIL;
		}
		cm_jv_free(v);
		usleep(250 * 1000);
	}
	fprintf(stderr, "cluadmin: the mode is set, but the witness did not answer within 15 s (see 'cluadmin quorum show')\n");
	return CLI_ETIMEOUT;
}

static int cmd_quorum(const struct cli_opts *o, int argc, char **argv)
{
	const char *mode = NULL, *url = "", *args[2];
	int i, rc;

	if (argc == 1 && !strcmp(argv[0], "show"))
		return cli_show(o, CM_CMD_QUORUM_SHOW, NULL, 0, cli_render_quorum);
	if (argc < 1 || strcmp(argv[0], "set"))
		return usage_error("usage: quorum show | quorum set --mode MODE [--witness URL]%s", NULL);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (!strcmp(argv[i], "--witness") && i + 1 < argc)
			url = argv[++i];
		else
			return usage_error("unknown quorum set option '%s'", argv[i]);
	}
	if (mode == NULL)
		return usage_error("quorum set needs --mode node-majority|node-and-disk-majority%s", NULL);
	args[0] = mode;
	args[1] = url;
	rc = cli_show(o, CM_CMD_QUORUM_SET, args, 2, o->json ? NULL : cli_render_ok);
	if (rc == CLI_OK && !strcmp(mode, "node-and-disk-majority"))
		rc = wait_witness(o);
	return rc;
}

static int cmd_witness(const struct cli_opts *o, int argc, char **argv)
{
	const char *args[2] = { NULL, "" };
	int i;

	if (argc < 2 || strcmp(argv[0], "init"))
		return usage_error("usage: witness init URL [--force]%s", NULL);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			args[1] = "force";
		else if (args[0] == NULL)
			args[0] = argv[i];
		else
			return usage_error("unexpected argument '%s'", argv[i]);
	}
	if (args[0] == NULL)
		return usage_error("witness init needs a URL%s", NULL);
	return cli_show(o, CM_CMD_WITNESS_INIT, args, 2, cli_render_witness_init);
}

static int cmd_node(const struct cli_opts *o, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";
	const char *args[1];

	if (!strcmp(verb, "list") && argc == 1)
		return cli_show(o, CM_CMD_NODE_LIST, NULL, 0, cli_render_nodes);
	if (argc != 2)
		return usage_error("usage: node list | node show|pause|resume|confirm-down NODE | node drain NODE [--wait]%s", NULL);
	args[0] = argv[1];
	if (!strcmp(verb, "show"))
		return cli_show(o, CM_CMD_NODE_SHOW, args, 1, cli_render_node);
	if (!strcmp(verb, "pause"))
		return cli_show(o, CM_CMD_NODE_PAUSE, args, 1, cli_render_ok);
	if (!strcmp(verb, "resume"))
		return cli_show(o, CM_CMD_NODE_RESUME, args, 1, cli_render_ok);
	return usage_error("unknown node command '%s'", verb);
}

/* "30s", "10m", "2h", "1d" ago, or a local date and time. Returns ms or -1. */
static long long parse_since(const char *s)
{
	char *end;
	long long n = (s[0] >= '0' && s[0] <= '9') ? strtoll(s, &end, 10) : -1;
	struct tm tm;
	const char *fmts[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", NULL };
	long long now = (long long)time(NULL) * 1000;
	int i;

	if (n >= 0 && n < 100000000) {
		if (!strcmp(end, "s"))
			return now - n * 1000;
		if (!strcmp(end, "m"))
			return now - n * 60000;
		if (!strcmp(end, "h"))
			return now - n * 3600000;
		if (!strcmp(end, "d"))
			return now - n * 86400000;
	}
	for (i = 0; fmts[i]; i++) {
		const char *rest;

		memset(&tm, 0, sizeof(tm));
		rest = strptime(s, fmts[i], &tm);
		if (rest && *rest == '\0') {
			tm.tm_isdst = -1;
			return (long long)mktime(&tm) * 1000;
		}
	}
	return -1;
}

static volatile sig_atomic_t stop_follow;

static void on_sigint(int sig)
{
	(void)sig;
	stop_follow = 1;
}

static int cmd_log(const struct cli_opts *o, int argc, char **argv)
{
	long long since = 0, limit = 100, after = 0;
	char a0[32], a1[32], a2[32], *text;
	const char *args[3] = { a0, a1, a2 };
	bool follow = false;
	int i, rc;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f")) {
			follow = true;
		} else if (!strcmp(argv[i], "--since") && i + 1 < argc) {
			since = parse_since(argv[++i]);
			if (since < 0)
				return usage_error("cannot read the time '%s' (use 30s, 10m, 2h, 1d or YYYY-MM-DD HH:MM)", argv[i]);
		} else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
			char *end;

			limit = strtoll(argv[++i], &end, 10);
			if (*end || limit < 1 || limit > 100000)
				return usage_error("--limit takes a number from 1 to 100000, not '%s'", argv[i]);
		} else {
			return usage_error("unknown log option '%s'", argv[i]);
		}
	}
	if (!follow) {
		snprintf(a0, sizeof(a0), "0");
		snprintf(a1, sizeof(a1), "%lld", since);
		snprintf(a2, sizeof(a2), "%lld", limit);
		return cli_show(o, CM_CMD_LOG, args, 3, cli_render_events);
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	while (!stop_follow) {
		struct cm_jv *v, *ev;

		snprintf(a0, sizeof(a0), "%lld", after);
		snprintf(a1, sizeof(a1), "%lld", since);
		snprintf(a2, sizeof(a2), "%lld", after ? 10000LL : limit);
		rc = cli_call(o, CM_CMD_LOG, args, 3, &text);
		if (rc != CLI_OK)
			return rc;
		v = cm_jv_parse(text, NULL, 0);
		free(text);
		ev = v ? (struct cm_jv *)cm_jv_get(v, "events") : NULL;
		if (ev && ev->nkids) {
			after = cm_jv_get_int(&ev->kids[ev->nkids - 1], "id", after);
			if (o->json) {
				struct cm_sb sb;
				size_t k;

				for (k = 0; k < ev->nkids; k++) {
					cm_sb_init(&sb);
					cm_jv_print(&ev->kids[k], &sb, 0);
					printf("%s\n", cm_sb_str(&sb));
					cm_sb_free(&sb);
				}
				fflush(stdout);
			} else {
				cli_render_events(v);
			}
		}
		cm_jv_free(v);
		usleep(500 * 1000);
	}
	return CLI_OK;
}

static int cmd_blackbox(const struct cli_opts *o, int argc, char **argv)
{
	bool print = argc == 1 && !strcmp(argv[0], "--print");
	struct cm_jv *v;
	const char *path;
	char *text;
	int rc;

	if (argc > 1 || (argc == 1 && !print))
		return usage_error("usage: blackbox [--print]%s", NULL);
	if (print && o->json)
		return usage_error("blackbox --print writes text; it does not go with --json%s", NULL);
	rc = cli_call(o, CM_CMD_BLACKBOX, NULL, 0, &text);
	if (rc != CLI_OK)
		return rc;
	v = cm_jv_parse(text, NULL, 0);
	path = cm_jv_get_str(v, "path", "?");
	if (o->json && v) {
		struct cm_sb sb;

		cm_sb_init(&sb);
		cm_jv_print(v, &sb, 2);
		printf("%s\n", cm_sb_str(&sb));
		cm_sb_free(&sb);
	} else if (!print)
		printf("blackbox written to %s (print it with 'cluadmin blackbox --print')\n", path);
	if (print && qb_log_blackbox_print_from_file(path) < 0) {
		fprintf(stderr, "cluadmin: cannot read the blackbox file '%s'\n", path);
		rc = CLI_EFAIL;
	}
	cm_jv_free(v);
	free(text);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_opts o = { false, 30000, false };
	const char *cmd, *sub;
	int opt, i, k;

	/* --json may come anywhere before a "--"; keep the rest in order */
	for (i = 1, k = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[k++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			o.json = true;
		else
			argv[k++] = argv[i];
	}
	argc = k;
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "+t:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 't': {
			char *end;
			long s = strtol(optarg, &end, 10);

			if (*end || s < 1 || s > 3600)
				return usage_error("--timeout takes seconds from 1 to 3600, not '%s'", optarg);
			o.timeout_ms = (int)s * 1000;
			o.timeout_set = true;
			break;
		}
		case 'h': fputs(usage_text, stdout); return CLI_OK;
		case 'V': printf("cluadmin %s\n", PACKAGE_VERSION); return CLI_OK;
		default: return usage_error("bad option%s", NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		fputs(usage_text, stderr);
		return CLI_EUSAGE;
	}
	cmd = argv[0];
	sub = argc > 1 ? argv[1] : "";
	if (!strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return CLI_OK;
	}
	if (!strcmp(cmd, "status") && argc == 1)
		return cli_show(&o, CM_CMD_STATUS, NULL, 0, cli_render_status);
	if (!strcmp(cmd, "vm"))
		return cli_vm_main(&o, argc, argv);
	if (!strcmp(cmd, "csv"))
		return cli_csv_main(&o, argc, argv);
	if (cli_res_handles(cmd, sub))
		return cli_res_main(&o, argc, argv);
	if (!strcmp(cmd, "node"))
		return cmd_node(&o, argc - 1, argv + 1);
	if (!strcmp(cmd, "cluster") && !strcmp(sub, "show") && argc == 2)
		return cli_show(&o, CM_CMD_CLUSTER_SHOW, NULL, 0, cli_render_cluster);
	if (!strcmp(cmd, "cluster") && !strcmp(sub, "create"))
		return cli_cluster_create(&o, argc - 1, argv + 1);
	if (!strcmp(cmd, "property"))
		return cmd_property(&o, argc - 1, argv + 1);
	if (!strcmp(cmd, "quorum"))
		return cmd_quorum(&o, argc - 1, argv + 1);
	if (!strcmp(cmd, "witness"))
		return cmd_witness(&o, argc - 1, argv + 1);
	if (!strcmp(cmd, "log"))
		return cmd_log(&o, argc - 1, argv + 1);
	if (!strcmp(cmd, "blackbox"))
		return cmd_blackbox(&o, argc - 1, argv + 1);
	if (!strcmp(cmd, "debug") && !strcmp(sub, "db-info") && argc == 2) {
		o.json = true;
		return cli_show(&o, CM_CMD_DB_INFO, NULL, 0, NULL);
	}
	return usage_error("unknown command '%s'", cmd);
}

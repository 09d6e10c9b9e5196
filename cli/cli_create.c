/* cli_create.c - `cluadmin cluster create`: the files every node needs.
 *
 * First validates the nodes with clusval (its report goes into the same
 * directory) and refuses on a failed test unless --skip-validation. Then
 * writes corosync.conf (knet, crypto on), an authkey, clusterd.conf and the
 * initial cluster database (through `clusterd --init-db`, which owns all SQL)
 * into one directory, for the harness and for copying to real hosts. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_prop.h"
#include "cm_str.h"
#include "cli.h"

#define MAX_NODES 64
#define AUTHKEY_LEN 256

struct cnode {
	char name[CM_NAME_MAX];
	char addr[64];
};

static bool addr_ok(const char *a)
{
	unsigned char buf[16];
	size_t i;

	if (inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1)
		return true;
	/* a host name */
	if (a[0] == '\0' || strlen(a) > 63)
		return false;
	for (i = 0; a[i]; i++)
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' && a[i] <= 'Z') ||
		      (a[i] >= '0' && a[i] <= '9') || a[i] == '-' || a[i] == '.'))
			return false;
	return true;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0) {
		fprintf(stderr, "cluadmin: cannot write '%s': %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fchmod(fd, mode);
	close(fd);
	return 0;
}

static void corosync_conf(struct cm_sb *sb, const char *name, const struct cnode *n, int count,
			  long token, long coeff)
{
	int i;

	cm_sb_printf(sb,
		     "# corosync.conf written by 'cluadmin cluster create' for cluster '%s'.\n"
		     "# Identical on every node: /etc/corosync/corosync.conf\n"
		     "totem {\n"
		     "    version: 2\n"
		     "    cluster_name: %s\n"
		     "    transport: knet\n"
		     "    # heartbeat: a silent node is declared down after about 2.2 x the\n"
		     "    # effective token (token + (nodes - 2) x token_coefficient)\n"
		     "    token: %ld\n"
		     "    token_coefficient: %ld\n"
		     "    crypto_cipher: aes256\n"
		     "    crypto_hash: sha256\n"
		     "    keyfile: /etc/corosync/authkey\n"
		     "}\n\n"
		     "nodelist {\n", name, name, token, coeff);
	for (i = 0; i < count; i++)
		cm_sb_printf(sb, "    node {\n        ring0_addr: %s\n        name: %s\n        nodeid: %d\n    }\n",
			     n[i].addr, n[i].name, i + 1);
	cm_sb_printf(sb,
		     "}\n\n"
		     "quorum {\n"
		     "    provider: corosync_votequorum\n"
		     "}\n\n"
		     "logging {\n"
		     "    to_logfile: yes\n"
		     "    logfile: /var/log/corosync/corosync.log\n"
		     "    to_syslog: no\n"
		     "    timestamp: hires\n"
		     "}\n");
}

static const char clusterd_conf[] =
	"# clusterd.conf written by 'cluadmin cluster create' (see clusterd(8)).\n"
	"# Node-local settings; the cluster's own configuration is replicated.\n"
	"state_dir = " LOCALSTATEDIR "/lib/clusterd\n"
	"log_file = " LOCALSTATEDIR "/log/clusterd/clusterd.log\n"
	"syslog = yes\n"
	"debug = no\n"
	"admin_group = haclient\n";

/* A program of this project: $ENV, next to us (installed), in the build
 * tree (../SUBDIR/NAME), or where it is configured to be installed. */
static void sibling_path(const char *env, const char *subdir, const char *name, char *buf, size_t len)
{
	char self[PATH_MAX / 2], *slash;
	ssize_t n;

	if (getenv(env) && getenv(env)[0]) {
		cm_strlcpy(buf, getenv(env), len);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/%s", self, name);
			if (access(buf, X_OK) == 0)
				return;
			snprintf(buf, len, "%s/../%s/%s", self, subdir, name);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "%s/%s", SBINDIR, name);
}

static void clusterd_path(char *buf, size_t len)
{
	sibling_path("CLUSTERD", "clusterd", "clusterd", buf, len);
}

struct validation {
	bool skip;
	const char *exec;             /* --exec TEMPLATE, NULL: clusval's default (ssh) */
	const char *luns[16];         /* --lun ROLE=URL */
	int nluns;
	const char *result;           /* "Pass", "Warning", "Fail", "skipped" */
};

/* Run clusval over the nodes before anything is written: its summary goes
 * to the terminal (or nothing with --json), its report into dir.
 * CLI_OK to go on (pass or warnings), CLI_EFAIL to refuse. */
static int validate_nodes(const struct cli_opts *o, struct validation *v, const char *dir,
			  const struct cnode *n, int count)
{
	char bin[PATH_MAX], list[MAX_NODES * CM_NAME_MAX], peers[MAX_NODES][CM_NAME_MAX + 80];
	char *argv[16 + 2 * MAX_NODES + 2 * 16];
	int argc = 0, i, status;
	size_t used = 0;
	pid_t pid;

	if (v->skip) {
		v->result = "skipped";
		if (!o->json)
			fprintf(stderr, "cluadmin: validation skipped (--skip-validation): the nodes were not checked\n");
		return CLI_OK;
	}
	sibling_path("CLUSVAL", "validate", "clusval", bin, sizeof(bin));
	/* an earlier report must not pass for this run's */
	{
		char old[PATH_MAX];

		snprintf(old, sizeof(old), "%s/clusval-report.html", dir);
		unlink(old);
		snprintf(old, sizeof(old), "%s/clusval-report.json", dir);
		unlink(old);
	}
	list[0] = '\0';
	for (i = 0; i < count; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? "," : "", n[i].name);
	argv[argc++] = bin;
	argv[argc++] = "--nodes";
	argv[argc++] = list;
	argv[argc++] = "--report";
	argv[argc++] = (char *)dir;
	if (v->exec) {
		argv[argc++] = "--exec";
		argv[argc++] = (char *)v->exec;
	}
	for (i = 0; i < count; i++) {
		/* corosync.conf does not exist yet: the addresses to test come from here */
		snprintf(peers[i], sizeof(peers[i]), "%.63s=%.63s", n[i].name, n[i].addr);
		argv[argc++] = "--peer";
		argv[argc++] = peers[i];
	}
	for (i = 0; i < v->nluns; i++) {
		argv[argc++] = "--lun";
		argv[argc++] = (char *)v->luns[i];
	}
	if (o->json)
		argv[argc++] = "--quiet";
	argv[argc] = NULL;
	if (!o->json)
		fprintf(stderr, "cluadmin: validating %d node%s with clusval before creating the cluster...\n", count,
			count == 1 ? "" : "s");
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "cluadmin: cannot start clusval: %s\n", strerror(errno));
		return CLI_EFAIL;
	}
	if (pid == 0) {
		execv(bin, argv);
		fprintf(stderr, "cluadmin: cannot run '%s': %s (set CLUSVAL=/path/to/clusval, or --skip-validation)\n",
			bin, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return CLI_EFAIL;
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	switch (status) {
	case 0:
		v->result = "Pass";
		return CLI_OK;
	case 1:
		v->result = "Warning";
		if (!o->json)
			fprintf(stderr, "cluadmin: validation passed with warnings (report: %s/clusval-report.html)\n", dir);
		return CLI_OK;
	case 2:
	case 4:
		v->result = "Fail";
		if (status == 4)
			fprintf(stderr, "cluadmin: validation failed: no node answered (see above); nothing was written.\n");
		else
			fprintf(stderr, "cluadmin: validation failed; nothing was written (report: %s/clusval-report.html).\n",
				dir);
		fprintf(stderr, "Fix what failed and run this again, or create the cluster anyway with --skip-validation.\n");
		return CLI_EFAIL;
	case 127:
		return CLI_EFAIL;
	default:
		fprintf(stderr, "cluadmin: clusval ended with status %d; nothing was written\n", status);
		return CLI_EFAIL;
	}
}

static int init_db(const char *dir, const char *name, const char *uuid, const struct cnode *n, int count)
{
	char bin[PATH_MAX], db[PATH_MAX + 16], specs[MAX_NODES][CM_NAME_MAX + 96];
	char *argv[8 + 2 * MAX_NODES];
	int argc = 0, i, status;
	pid_t pid;

	clusterd_path(bin, sizeof(bin));
	snprintf(db, sizeof(db), "%s/cluster.db", dir);
	argv[argc++] = bin;
	argv[argc++] = "--init-db";
	argv[argc++] = db;
	argv[argc++] = "--cluster";
	argv[argc++] = (char *)name;
	argv[argc++] = "--uuid";
	argv[argc++] = (char *)uuid;
	for (i = 0; i < count; i++) {
		snprintf(specs[i], sizeof(specs[i]), "%d:%.63s:%.63s", i + 1, n[i].name, n[i].addr);
		argv[argc++] = "--node";
		argv[argc++] = specs[i];
	}
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(bin, argv);
		fprintf(stderr, "cluadmin: cannot run '%s': %s (set CLUSTERD=/path/to/clusterd)\n", bin, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

static void create_usage(void)
{
	fprintf(stderr, "Usage: cluadmin cluster create NAME --node NAME=ADDR [--node NAME=ADDR]... [--dir DIR]\n"
		"                                [--token MS] [--token-coefficient MS] [--force]\n"
		"                                [--exec TEMPLATE] [--lun ROLE=URL]... [--skip-validation]\n");
}

int cli_cluster_create(const struct cli_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{ "token", required_argument, NULL, 't' },
		{ "token-coefficient", required_argument, NULL, 'k' },
		{ "force", no_argument, NULL, 'F' },
		{ "skip-validation", no_argument, NULL, 'S' },
		{ "exec", required_argument, NULL, 'e' },
		{ "lun", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct validation val = { 0 };
	struct cnode nodes[MAX_NODES];
	unsigned char key[AUTHKEY_LEN], rnd[16];
	const char *dir = ".", *name;
	long token = 3000, coeff = 650;
	char uuid[40], *end;
	bool force = false;
	struct cm_sb sb;
	struct stat st;
	int count = 0, opt, i, k;

	optind = 0; /* 0: a full reset of GNU getopt after an earlier parse */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *eq;

		switch (opt) {
		case 'n':
			eq = strchr(optarg, '=');
			if (count == MAX_NODES || eq == NULL) {
				fprintf(stderr, "cluadmin: --node takes NAME=ADDRESS, not '%s'\n", optarg);
				return CLI_EUSAGE;
			}
			*eq = '\0';
			if (!cm_name_is_valid(optarg) || !addr_ok(eq + 1)) {
				fprintf(stderr, "cluadmin: node '%s' with address '%s' is not valid: names use letters, digits, '_', '.', '-'; addresses are IPv4, IPv6 or host names\n",
					optarg, eq + 1);
				return CLI_EUSAGE;
			}
			cm_strlcpy(nodes[count].name, optarg, sizeof(nodes[count].name));
			cm_strlcpy(nodes[count].addr, eq + 1, sizeof(nodes[count].addr));
			count++;
			break;
		case 'd': dir = optarg; break;
		case 't':
		case 'k':
			errno = 0;
			if (opt == 't')
				token = strtol(optarg, &end, 10);
			else
				coeff = strtol(optarg, &end, 10);
			if (*end || errno || (opt == 't' ? token < 100 || token > 60000 : coeff < 0 || coeff > 10000)) {
				fprintf(stderr, "cluadmin: --%s takes milliseconds (%s)\n", opt == 't' ? "token" : "token-coefficient",
					opt == 't' ? "100 to 60000" : "0 to 10000");
				return CLI_EUSAGE;
			}
			break;
		case 'F': force = true; break;
		case 'S': val.skip = true; break;
		case 'e': val.exec = optarg; break;
		case 'l':
			if (val.nluns == 16 || strncmp(optarg, "iscsi://", 8) == 0 || strstr(optarg, "=iscsi://") == NULL) {
				fprintf(stderr, "cluadmin: --lun takes ROLE=iscsi://... (ROLE witness, csv, disk or scratch; "
					"at most 16), not '%s'\n", optarg);
				return CLI_EUSAGE;
			}
			val.luns[val.nluns++] = optarg;
			break;
		default:
			create_usage();
			return CLI_EUSAGE;
		}
	}
	if (optind != argc - 1 || count == 0) {
		create_usage();
		return CLI_EUSAGE;
	}
	name = argv[optind];
	if (!cm_name_is_valid(name)) {
		fprintf(stderr, "cluadmin: cluster name '%s' is not valid: use letters, digits, '_', '.' or '-'\n", name);
		return CLI_EUSAGE;
	}
	for (i = 0; i < count; i++)
		for (k = 0; k < i; k++)
			if (!strcmp(nodes[i].name, nodes[k].name) || !strcmp(nodes[i].addr, nodes[k].addr)) {
				fprintf(stderr, "cluadmin: node '%s' and node '%s' share a name or an address\n",
					nodes[k].name, nodes[i].name);
				return CLI_EUSAGE;
			}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "cluadmin: cannot create '%s': %s\n", dir, strerror(errno));
		return CLI_EFAIL;
	}
	{
		static const char *const files[] = { "corosync.conf", "authkey", "clusterd.conf", "cluster.db" };
		char path[PATH_MAX];

		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			if (stat(path, &st) == 0 && !force) {
				fprintf(stderr, "cluadmin: '%s' already exists; use --force to replace the cluster files in '%s'\n",
					path, dir);
				return CLI_EFAIL;
			}
		}
		/* a refused validation leaves an existing cluster's files alone */
		if (validate_nodes(o, &val, dir, nodes, count) != CLI_OK)
			return CLI_EFAIL;
		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			unlink(path);
		}
	}
	if (getrandom(key, sizeof(key), 0) != sizeof(key) || getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		fprintf(stderr, "cluadmin: cannot read random bytes: %s\n", strerror(errno));
		return CLI_EFAIL;
	}
	for (i = 0; i < 16; i++)
		snprintf(uuid + 2 * i, 3, "%02x", rnd[i]);
	cm_sb_init(&sb);
	corosync_conf(&sb, name, nodes, count, token, coeff);
	if (write_file(dir, "corosync.conf", sb.buf, sb.len, 0644) < 0 ||
	    write_file(dir, "authkey", key, sizeof(key), 0400) < 0 ||
	    write_file(dir, "clusterd.conf", clusterd_conf, strlen(clusterd_conf), 0644) < 0) {
		cm_sb_free(&sb);
		return CLI_EFAIL;
	}
	cm_sb_free(&sb);
	if (init_db(dir, name, uuid, nodes, count) < 0) {
		fprintf(stderr, "cluadmin: cannot initialise the cluster database in '%s'\n", dir);
		return CLI_EFAIL;
	}
	if (o->json) {
		struct cm_jw w;

		cm_sb_init(&sb);
		cm_jw_init(&w, &sb);
		cm_jw_obj_begin(&w);
		cm_jw_kv_str(&w, "cluster", name);
		cm_jw_kv_str(&w, "uuid", uuid);
		cm_jw_kv_str(&w, "dir", dir);
		cm_jw_kv_int(&w, "nodes", count);
		cm_jw_kv_str(&w, "validation", val.result);
		if (!val.skip) {
			char rep[PATH_MAX];

			snprintf(rep, sizeof(rep), "%s/clusval-report.html", dir);
			cm_jw_kv_str(&w, "validation_report", rep);
		}
		cm_jw_obj_end(&w);
		printf("%s\n", cm_sb_str(&sb));
		cm_sb_free(&sb);
	} else {
		printf("Created cluster '%s' (%d node%s, uuid %s) in '%s':\n"
		       "  corosync.conf  -> /etc/corosync/corosync.conf on every node\n"
		       "  authkey        -> /etc/corosync/authkey (mode 0400) on every node\n"
		       "  clusterd.conf  -> " SYSCONFDIR "/clusterd/clusterd.conf on every node\n"
		       "  cluster.db     -> " LOCALSTATEDIR "/lib/clusterd/cluster.db on every node\n"
		       "Then start corosync and clusterd on each node.\n%s",
		       name, count, count == 1 ? "" : "s", uuid, dir,
		       count % 2 == 0 ? "With an even number of nodes, add a witness LUN so that half of them can keep quorum:\n"
					"  cluadmin witness init iscsi://ADDR/IQN/LUN\n"
					"  cluadmin quorum set --mode node-and-disk-majority --witness iscsi://ADDR/IQN/LUN\n" : "");
	}
	return CLI_OK;
}

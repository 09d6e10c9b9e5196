/* cli_create.c - `cluadmin cluster create`: the files every node needs.
 *
 * Writes corosync.conf (knet, crypto on), an authkey, clusterd.conf and the
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

/* clusterd next to us (installed), in the build tree, or configured. */
static void clusterd_path(char *buf, size_t len)
{
	char self[PATH_MAX / 2], *slash;
	ssize_t n;

	if (getenv("CLUSTERD") && getenv("CLUSTERD")[0]) {
		cm_strlcpy(buf, getenv("CLUSTERD"), len);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/clusterd", self);
			if (access(buf, X_OK) == 0)
				return;
			snprintf(buf, len, "%s/../clusterd/clusterd", self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	snprintf(buf, len, "%s/clusterd", SBINDIR);
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
		"                                [--token MS] [--token-coefficient MS] [--force]\n");
}

int cli_cluster_create(const struct cli_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "dir", required_argument, NULL, 'd' },
		{ "token", required_argument, NULL, 't' },
		{ "token-coefficient", required_argument, NULL, 'k' },
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
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
			if (stat(path, &st) == 0) {
				if (!force) {
					fprintf(stderr, "cluadmin: '%s' already exists; use --force to replace the cluster files in '%s'\n",
						path, dir);
					return CLI_EFAIL;
				}
				unlink(path);
			}
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

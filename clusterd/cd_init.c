/* cd_init.c - `clusterd --init-db`: seed a new cluster database.
 *
 * cluadmin cluster create runs this (all SQL lives in clusterd), so the
 * database it writes next to corosync.conf is exactly what clusterd reads.
 *   clusterd --init-db FILE --cluster NAME --uuid UUID --node ID:NAME:ADDR ...
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cm_err.h"
#include "cm_prop.h"
#include "cm_str.h"
#include "cd_daemon.h"

#define MAX_INIT_NODES 64

static int parse_node(const char *spec, struct cd_db_node *n)
{
	char copy[256], *name, *addr, *end;
	unsigned long id;

	if (cm_strlcpy(copy, spec, sizeof(copy)) < 0)
		return -1;
	name = strchr(copy, ':');
	if (name == NULL)
		return -1;
	*name++ = '\0';
	addr = strchr(name, ':');
	if (addr == NULL)
		return -1;
	*addr++ = '\0';
	id = strtoul(copy, &end, 10);
	if (*end || id == 0 || id > 0xffffffffUL || !cm_name_is_valid(name) || addr[0] == '\0')
		return -1;
	memset(n, 0, sizeof(*n));
	n->id = (uint32_t)id;
	cm_strlcpy(n->name, name, sizeof(n->name));
	return cm_strlcpy(n->addr, addr, sizeof(n->addr));
}

int cd_init_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "init-db", required_argument, NULL, 'i' },
		{ "cluster", required_argument, NULL, 'n' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "node", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	struct cd_db_node nodes[MAX_INIT_NODES];
	struct cd_db_cluster c;
	const char *path = NULL;
	struct cd_db *db = NULL;
	char err[512];
	size_t n = 0;
	struct stat st;
	int opt, rc;

	memset(&c, 0, sizeof(c));
	optind = 0; /* 0: a full reset of GNU getopt after an earlier parse */
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': path = optarg; break;
		case 'n': cm_strlcpy(c.name, optarg, sizeof(c.name)); break;
		case 'u': cm_strlcpy(c.uuid, optarg, sizeof(c.uuid)); break;
		case 'N':
			if (n == MAX_INIT_NODES || parse_node(optarg, &nodes[n]) < 0) {
				fprintf(stderr, "clusterd: bad --node '%s' (want ID:NAME:ADDR)\n", optarg);
				return 2;
			}
			n++;
			break;
		default:
			return 2;
		}
	}
	if (path == NULL || !cm_name_is_valid(c.name) || c.uuid[0] == '\0' || n == 0) {
		fprintf(stderr, "clusterd: --init-db needs FILE, --cluster NAME, --uuid UUID and at least one --node\n");
		return 2;
	}
	if (stat(path, &st) == 0) {
		fprintf(stderr, "clusterd: '%s' already exists; remove it first to start a new cluster\n", path);
		return 1;
	}
	c.created_ms = (int64_t)cd_wall_ms();
	umask(077); /* the database will hold secrets such as fence agent options */
	rc = cd_db_open(path, &db, err, sizeof(err));
	if (rc == 0)
		rc = cd_db_init_cluster(db, &c, nodes, n, err, sizeof(err));
	cd_db_close(db);
	if (rc < 0) {
		fprintf(stderr, "clusterd: %s\n", err);
		return 1;
	}
	return 0;
}

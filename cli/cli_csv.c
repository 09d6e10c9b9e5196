/* cli_csv.c - cluadmin csv ...: cluster shared volumes, their volumes and
 * locks. argv[0] is "csv". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cm_proto.h"

static const char csv_usage[] =
	"usage: cluadmin csv create NAME iscsi://ADDR[:PORT]/IQN/LUN [--force]\n"
	"       cluadmin csv delete NAME\n"
	"       cluadmin csv list | show NAME | locks [NAME]\n"
	"       cluadmin csv volume create CSV VOLUME SIZE | resize CSV VOLUME SIZE | delete CSV VOLUME\n"
	"       cluadmin csv volume list CSV\n"
	"       cluadmin csv lock CSV/VOLUME --owner TAG [--shared] | unlock CSV/VOLUME --owner TAG\n"
	"SIZE: bytes, or with K, M, G, T (powers of 1024), e.g. 512M or 20G.\n";

static int usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "cluadmin: ");
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\n%s", csv_usage);
	return CLI_EUSAGE;
}

/* "20G" -> bytes; -1 if malformed. */
static long long parse_size(const char *s)
{
	char *end;
	long long v;
	int shift = 0;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -1;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -1;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end != '\0' || v > (1LL << (62 - shift)))
		return -1;
	return v << shift;
}

static void mib(long long bytes, char *buf, size_t len)
{
	if (bytes >= (1LL << 30) && bytes % (1LL << 30) == 0)
		snprintf(buf, len, "%lld GiB", bytes >> 30);
	else
		snprintf(buf, len, "%lld MiB", bytes >> 20);
}

static void render_list(const struct cm_jv *v)
{
	const struct cm_jv *a = cm_jv_get(v, "csvs");
	size_t i, n = a ? a->nkids : 0;

	if (n == 0) {
		printf("no cluster shared volumes (create one with 'cluadmin csv create NAME URL')\n");
		return;
	}
	printf("%-16s %-10s %-12s %8s %12s %12s  %s\n", "NAME", "STATE", "COORDINATOR", "VOLUMES", "USED", "FREE",
	       "LUN");
	for (i = 0; i < n; i++) {
		const struct cm_jv *c = &a->kids[i];
		char used[32], fr[32];

		mib(cm_jv_get_int(c, "used_bytes", 0), used, sizeof(used));
		mib(cm_jv_get_int(c, "free_bytes", 0), fr, sizeof(fr));
		printf("%-16s %-10s %-12s %8lld %12s %12s  %s\n", cm_jv_get_str(c, "name", ""),
		       cm_jv_get_str(c, "state", ""), cm_jv_get_str(c, "coordinator", "")[0] ?
		       cm_jv_get_str(c, "coordinator", "") : "-", (long long)cm_jv_get_int(c, "volumes", 0), used, fr,
		       cm_jv_get_str(c, "url", ""));
	}
}

static void render_locks_of(const struct cm_jv *v)
{
	const struct cm_jv *a = cm_jv_get(v, "locks");
	size_t i, n = a ? a->nkids : 0;

	if (n == 0) {
		printf("no volume locks\n");
		return;
	}
	printf("%-32s %-7s %-12s %s\n", "VOLUME", "MODE", "NODE", "OWNER");
	for (i = 0; i < n; i++) {
		const struct cm_jv *l = &a->kids[i];

		printf("%-32s %-7s %-12s %s\n", cm_jv_get_str(l, "volume", ""), cm_jv_get_str(l, "mode", ""),
		       cm_jv_get_str(l, "node", ""), cm_jv_get_str(l, "owner", ""));
	}
}

static void render_volumes(const struct cm_jv *v)
{
	const struct cm_jv *a = cm_jv_get(v, "volume_list");
	size_t i, n = a ? a->nkids : 0;

	if (n == 0) {
		printf("no volumes (create one with 'cluadmin csv volume create %s NAME SIZE')\n",
		       cm_jv_get_str(v, "name", "CSV"));
		return;
	}
	printf("%-24s %12s %12s %6s  %s\n", "VOLUME", "SIZE", "OFFSET", "GEN", "LOCKED BY");
	for (i = 0; i < n; i++) {
		const struct cm_jv *o = &a->kids[i];
		char sz[32], off[32];

		mib(cm_jv_get_int(o, "size", 0), sz, sizeof(sz));
		mib(cm_jv_get_int(o, "offset", 0), off, sizeof(off));
		printf("%-24s %12s %12s %6lld  %s\n", cm_jv_get_str(o, "name", ""), sz, off,
		       (long long)cm_jv_get_int(o, "generation", 0),
		       cm_jv_get_str(o, "locked_by", "")[0] ? cm_jv_get_str(o, "locked_by", "") : "-");
	}
}

static void render_show(const struct cm_jv *v)
{
	const struct cm_jv *r = cm_jv_get(v, "requests");
	char a[32], b[32], c[32];
	size_t i, n = r ? r->nkids : 0;

	mib(cm_jv_get_int(v, "data_bytes", 0), a, sizeof(a));
	mib(cm_jv_get_int(v, "used_bytes", 0), b, sizeof(b));
	mib(cm_jv_get_int(v, "free_bytes", 0), c, sizeof(c));
	printf("CSV %s on %s\n", cm_jv_get_str(v, "name", ""), cm_jv_get_str(v, "url", ""));
	printf("  state %s, coordinator %s, group %s\n", cm_jv_get_str(v, "state", ""),
	       cm_jv_get_str(v, "coordinator", "")[0] ? cm_jv_get_str(v, "coordinator", "") : "none",
	       cm_jv_get_str(v, "group", ""));
	printf("  data area %s: %s used, %s free; volume table generation %lld\n\n", a, b, c,
	       (long long)cm_jv_get_int(v, "table_generation", 0));
	{
		const struct cm_jv *pa = cm_jv_get(v, "paths");

		for (i = 0; pa && i < pa->nkids; i++)
			if (!cm_jv_get_bool(&pa->kids[i], "ok", true))
				printf("  node %s has LOST its path to the LUN: %s\n", cm_jv_get_str(&pa->kids[i], "node", ""),
				       cm_jv_get_str(&pa->kids[i], "text", ""));
	}
	render_volumes(v);
	if (n) {
		printf("\nrecent volume requests:\n");
		for (i = 0; i < n && i < 5; i++) {
			const struct cm_jv *q = &r->kids[i];

			printf("  %-6s %-7s %-20s %s%s%s\n", cm_jv_get_str(q, "state", ""), cm_jv_get_str(q, "op", ""),
			       cm_jv_get_str(q, "volume", ""), cm_jv_get_str(q, "by", ""),
			       cm_jv_get_str(q, "text", "")[0] ? ": " : "", cm_jv_get_str(q, "text", ""));
		}
	}
}

static void render_done(const struct cm_jv *v)
{
	printf("%s\n", cm_jv_get_str(v, "text", "done"));
}

static int cmd_volume(const struct cli_opts *o, int argc, char **argv)
{
	const char *verb = argc > 0 ? argv[0] : "";
	char size[32];
	long long sz = 0;

	if (!strcmp(verb, "list") && argc == 2) {
		const char *args[] = { argv[1] };

		return cli_show(o, CM_CMD_CSV_SHOW, args, 1, render_volumes);
	}
	if (!strcmp(verb, "delete") && argc == 3) {
		const char *args[] = { argv[1], "delete", argv[2], "0" };

		return cli_show(o, CM_CMD_CSV_VOL, args, 4, render_done);
	}
	if ((!strcmp(verb, "create") || !strcmp(verb, "resize")) && argc == 4) {
		if ((sz = parse_size(argv[3])) < 0)
			return usage("cannot read the size '%s'", argv[3]);
		snprintf(size, sizeof(size), "%lld", sz);
		{
			const char *args[] = { argv[1], verb, argv[2], size };

			return cli_show(o, CM_CMD_CSV_VOL, args, 4, render_done);
		}
	}
	return usage("unknown or incomplete csv volume command%s", NULL);
}

static int cmd_lock(const struct cli_opts *o, int argc, char **argv, bool unlock)
{
	const char *vol = NULL, *owner = NULL;
	bool shared = false;
	int i, bad = 0;

	for (i = 0; i < argc; i++) {
		if (cli_opt_value(argc, argv, &i, "--owner", &owner, &bad)) {
			if (bad)
				return usage("--owner needs a tag%s", NULL);
		} else if (!strcmp(argv[i], "--shared") && !unlock) {
			shared = true;
		} else if (argv[i][0] != '-' && vol == NULL) {
			vol = argv[i];
		} else {
			return usage("unexpected argument '%s'", argv[i]);
		}
	}
	if (vol == NULL || owner == NULL)
		return usage("csv lock/unlock needs CSV/VOLUME and --owner TAG%s", NULL);
	{
		const char *args[] = { vol, owner, shared ? "shared" : "excl", unlock ? "unlock" : "" };

		return cli_show(o, CM_CMD_CSV_LOCK, args, 4, cli_render_ok);
	}
}

int cli_csv_main(const struct cli_opts *o, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";

	if (!strcmp(verb, "list") && argc == 2)
		return cli_show(o, CM_CMD_CSV_LIST, NULL, 0, render_list);
	if (!strcmp(verb, "show") && argc == 3) {
		const char *args[] = { argv[2] };

		return cli_show(o, CM_CMD_CSV_SHOW, args, 1, render_show);
	}
	if (!strcmp(verb, "locks") && argc <= 3) {
		const char *args[] = { argc == 3 ? argv[2] : "" };

		return cli_show(o, CM_CMD_CSV_LOCKS, args, 1, render_locks_of);
	}
	if (!strcmp(verb, "create")) {
		const char *pos[2] = { NULL, NULL };
		bool force = false;
		int i, np = 0;

		for (i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--force"))
				force = true;
			else if (argv[i][0] != '-' && np < 2)
				pos[np++] = argv[i];
			else
				return usage("unexpected argument '%s'", argv[i]);
		}
		if (np != 2)
			return usage("csv create needs a name and an iSCSI URL%s", NULL);
		{
			const char *args[] = { pos[0], pos[1], force ? "force" : "" };

			return cli_show(o, CM_CMD_CSV_CREATE, args, 3, cli_render_ok);
		}
	}
	if (!strcmp(verb, "delete") && argc == 3) {
		const char *args[] = { argv[2] };

		return cli_show(o, CM_CMD_CSV_DELETE, args, 1, cli_render_ok);
	}
	if (!strcmp(verb, "volume"))
		return cmd_volume(o, argc - 2, argv + 2);
	if (!strcmp(verb, "lock") || !strcmp(verb, "unlock"))
		return cmd_lock(o, argc - 2, argv + 2, !strcmp(verb, "unlock"));
	if (!strcmp(verb, "help") || !strcmp(verb, "--help")) {
		fputs(csv_usage, stdout);
		return CLI_OK;
	}
	return usage("unknown or incomplete csv command%s", NULL);
}

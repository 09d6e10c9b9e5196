/* lun_csv.c - `clusterd-lun csv ...`: probe, format, dump, check a CSV LUN
 * (and, for tests only, apply a volume change or damage a structure).
 *
 * A tool: it prints, and one sentence naming the LUN says why it failed.
 * The csv resource type runs `check` as its online and health check; tests
 * run `dump` to prove the table on the LUN is consistent. clusterd itself
 * formats and changes volumes through csv_worker, not through this tool.
 * Exit status: 0 done / consistent / healthy; 1 refused, corrupt or check
 * failed; 2 usage or transport error (check: every failure is 1).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_err.h"
#include "cm_json.h"
#include "cm_str.h"
#include "csv_io.h"
#include "lun_tool.h"

enum { EXIT_DONE = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2 };

#define DEFAULT_TIMEOUT_S 10

struct opts {
	const char *sub, *url, *initiator, *name, *uuid, *what, *op, *vol;
	int timeout_s;
	bool json, force, have_size;
	uint64_t size;
	uint32_t flags;
};

static void help(FILE *f)
{
	fputs("usage: clusterd-lun csv SUBCMD URL --initiator IQN [--timeout S] [--json] [options]\n"
	      "  probe URL                      print empty, ours or foreign (+ the header when ours)\n"
	      "  format URL --name N --uuid U [--force]\n"
	      "                                 write a new, empty CSV (clusterd formats through its\n"
	      "                                 worker; this is for tests and rescue)\n"
	      "  dump URL                       header, volume table and the consistency report;\n"
	      "                                 exit 0 consistent, 1 not, a damaged spare table copy\n"
	      "                                 included (report on stdout)\n"
	      "  check URL --uuid U [--name N]  the csv resource's check: the LUN answers, the header is\n"
	      "                                 this cluster's CSV, the table loads; exit 0 or 1 + reason\n"
	      "  apply URL --op create|delete|resize --vol V [--size BYTES[K|M|G|T]] [--flags N]\n"
	      "        [--uuid U]               change one volume (tests; clusterd goes through its worker)\n"
	      "  corrupt URL --what header|table-a|table-b|entry\n"
	      "                                 DESTRUCTIVE TEST TOOL: flips one byte of the named\n"
	      "                                 structure (entry: entry 0 of the table in use)\n"
	      "--timeout S bounds every SCSI command (default 10). Exit status: 0 done, 1 refused,\n"
	      "corrupt or check failed, 2 usage or transport error.\n", f);
}

static int usage_err(const char *fmt, const char *arg)
{
	fputs("clusterd-lun csv: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (clusterd-lun csv --help)\n", stderr);
	return EXIT_USAGE;
}

/* bytes with an optional binary suffix */
static bool parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	if (*end) {
		const char *units = "KMGT", *u = strchr(units, *end);

		if (u == NULL || end[1] != '\0')
			return false;
		shift = 10 * (int)(u - units + 1);
		if (v > (UINT64_MAX >> shift))
			return false;
	}
	*out = (uint64_t)v << shift;
	return true;
}

static bool parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const char *const valued[] = { "--initiator", "--timeout", "--name", "--uuid", "--what",
					      "--op", "--vol", "--size", "--flags", NULL };
	long n;

	memset(o, 0, sizeof(*o));
	o->timeout_s = DEFAULT_TIMEOUT_S;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		int k;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			help(stdout);
			return -1;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--force") == 0) {
			o->force = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			if (o->sub == NULL)
				o->sub = a;
			else if (o->url == NULL)
				o->url = a;
			else
				return usage_err("unexpected argument '%s'", a);
			continue;
		}
		for (k = 0; valued[k]; k++)
			if (strcmp(a, valued[k]) == 0)
				break;
		if (valued[k] == NULL)
			return usage_err("unknown option '%s'", a);
		if (i + 1 >= argc)
			return usage_err("option '%s' needs a value", a);
		val = argv[++i];
		switch (k) {
		case 0: o->initiator = val; break;
		case 1:
			if (!parse_int(val, 1, 3600, &n))
				return usage_err("--timeout '%s' is not 1..3600 seconds", val);
			o->timeout_s = (int)n;
			break;
		case 2: o->name = val; break;
		case 3: o->uuid = val; break;
		case 4: o->what = val; break;
		case 5: o->op = val; break;
		case 6: o->vol = val; break;
		case 7:
			if (!parse_size(val, &o->size))
				return usage_err("--size '%s' is not a number of bytes (suffix K, M, G or T)", val);
			o->have_size = true;
			break;
		case 8:
			if (!parse_int(val, 0, 0x7fffffffL, &n))
				return usage_err("--flags '%s' is not a number", val);
			o->flags = (uint32_t)n;
			break;
		}
	}
	if (o->sub == NULL)
		return usage_err("%s", "missing SUBCMD (probe, format, dump, check, apply, corrupt)");
	if (o->url == NULL)
		return usage_err("'%s' needs a URL (iscsi://ADDR[:PORT]/IQN/LUN)", o->sub);
	if (o->initiator == NULL || o->initiator[0] == '\0')
		return usage_err("%s", "--initiator IQN is required");
	return 0;
}

/* Transport and target trouble, as opposed to a verdict about the contents. */
static bool is_transport(int rc)
{
	return rc > -CM_E_BASE || rc == -CM_E_UNREACHABLE || rc == -CM_E_TIMEOUT || rc == -CM_E_IO ||
	       rc == -CM_E_CONFLICT || rc == -CM_E_PREEMPTED || rc == -CM_E_URL;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned long long mib(uint64_t b)
{
	return (unsigned long long)(b >> 20);
}

static int open_lun(const struct opts *o, struct wit_lun **l, char *err, size_t errlen)
{
	struct wit_url u;
	int rc = wit_url_parse(o->url, &u, err, errlen);

	if (rc == 0)
		rc = wit_lun_open(&u, o->initiator, o->timeout_s, l, err, errlen);
	return rc;
}

static void json_header(struct cm_jw *w, const struct csv_header *h)
{
	cm_jw_obj_begin(w);
	cm_jw_kv_int(w, "version", h->version);
	cm_jw_kv_str(w, "name", h->name);
	cm_jw_kv_str(w, "cluster_uuid", h->cluster_uuid);
	cm_jw_kv_int(w, "lun_bytes", (int64_t)h->lun_bytes);
	cm_jw_kv_int(w, "table_a_offset", (int64_t)h->table_off[0]);
	cm_jw_kv_int(w, "table_b_offset", (int64_t)h->table_off[1]);
	cm_jw_kv_int(w, "data_offset", (int64_t)h->data_off);
	cm_jw_kv_int(w, "data_end", (int64_t)h->data_end);
	cm_jw_kv_int(w, "align", (int64_t)h->align);
	cm_jw_kv_int(w, "created_ms", (int64_t)h->created_ms);
	cm_jw_obj_end(w);
}

static void text_header(const struct csv_header *h)
{
	printf("name %s\ncluster_uuid %s\nversion %u\nlun_bytes %llu\ndata %llu..%llu (%llu MiB)\ncreated_ms %llu\n",
	       h->name, h->cluster_uuid, h->version, (unsigned long long)h->lun_bytes,
	       (unsigned long long)h->data_off, (unsigned long long)h->data_end,
	       mib(h->data_end - h->data_off), (unsigned long long)h->created_ms);
}

static void json_print(struct cm_sb *sb)
{
	if (cm_sb_failed(sb)) {
		fputs("clusterd-lun csv: out of memory\n", stderr);
		return;
	}
	printf("%s\n", cm_sb_str(sb));
}

/* --- subcommands --- */

static int cmd_probe(const struct opts *o, struct wit_lun *l)
{
	enum csv_probe p;
	struct csv_header h;
	char err[512] = "";
	const char *what;
	int rc = csv_io_probe(l, &p, &h, err, sizeof(err));

	if (rc < 0 && p != CSV_PROBE_OURS) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	what = p == CSV_PROBE_OURS ? "ours" : csv_probe_to_str(p);
	if (o->json) {
		struct cm_sb sb;
		struct cm_jw w;

		cm_sb_init(&sb);
		cm_jw_init(&w, &sb);
		cm_jw_obj_begin(&w);
		cm_jw_kv_str(&w, "lun", wit_lun_name(l));
		cm_jw_kv_str(&w, "probe", what);
		if (p == CSV_PROBE_OURS) {
			cm_jw_key(&w, "header");
			json_header(&w, &h);
		}
		if (rc < 0)
			cm_jw_kv_str(&w, "error", err);
		cm_jw_obj_end(&w);
		json_print(&sb);
		cm_sb_free(&sb);
		return EXIT_DONE;
	}
	printf("%s\n", what);
	if (p == CSV_PROBE_OURS)
		text_header(&h);
	if (rc < 0)
		printf("error %s\n", err);
	return EXIT_DONE;
}

static int cmd_format(const struct opts *o, struct wit_lun *l)
{
	struct csv_header h;
	char err[512];
	int rc;

	if (o->name == NULL || o->uuid == NULL)
		return usage_err("%s", "format needs --name N and --uuid U");
	rc = csv_io_format(l, o->uuid, o->name, o->force, wall_ms(), &h, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return is_transport(rc) ? EXIT_USAGE : EXIT_REFUSED;
	}
	if (o->json) {
		struct cm_sb sb;
		struct cm_jw w;

		cm_sb_init(&sb);
		cm_jw_init(&w, &sb);
		cm_jw_obj_begin(&w);
		cm_jw_kv_str(&w, "lun", wit_lun_name(l));
		cm_jw_key(&w, "header");
		json_header(&w, &h);
		cm_jw_obj_end(&w);
		json_print(&sb);
		cm_sb_free(&sb);
	} else {
		printf("%s: formatted CSV '%s' (cluster uuid %s): data area %llu MiB at %llu..%llu MiB, no volumes\n",
		       wit_lun_name(l), h.name, h.cluster_uuid, mib(h.data_end - h.data_off), mib(h.data_off),
		       mib(h.data_end));
	}
	return EXIT_DONE;
}

static void json_table(struct cm_jw *w, const struct csv_table *t)
{
	cm_jw_obj_begin(w);
	cm_jw_kv_int(w, "generation", (int64_t)t->generation);
	cm_jw_kv_int(w, "count", t->count);
	cm_jw_key(w, "volumes");
	cm_jw_arr_begin(w);
	for (uint32_t i = 0; i < t->count; i++) {
		const struct csv_volume *v = &t->vol[i];

		cm_jw_obj_begin(w);
		cm_jw_kv_str(w, "name", v->name);
		cm_jw_kv_int(w, "offset", (int64_t)v->offset);
		cm_jw_kv_int(w, "size", (int64_t)v->size);
		cm_jw_kv_int(w, "generation", (int64_t)v->generation);
		cm_jw_kv_int(w, "created_ms", (int64_t)v->created_ms);
		cm_jw_kv_int(w, "flags", v->flags);
		cm_jw_obj_end(w);
	}
	cm_jw_arr_end(w);
	cm_jw_obj_end(w);
}

static void json_lines(struct cm_jw *w, const char *text)
{
	char line[1024];

	cm_jw_arr_begin(w);
	while (*text) {
		size_t n = strcspn(text, "\n");

		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, text, n);
		line[n] = '\0';
		cm_jw_str(w, line);
		text += strcspn(text, "\n");
		if (*text)
			text++;
	}
	cm_jw_arr_end(w);
}

static int cmd_dump(const struct opts *o, struct wit_lun *l)
{
	struct csv_table *t = malloc(sizeof(*t));
	struct csv_io_seen seen;
	struct csv_header h;
	char err[512] = "", report[2048];
	bool damaged;
	int rc;

	if (t == NULL) {
		fputs("clusterd-lun csv: out of memory\n", stderr);
		return EXIT_USAGE;
	}
	rc = csv_io_inspect(l, &h, t, &seen, report, sizeof(report), err, sizeof(err));
	/* stricter than a coordinator: a torn or damaged copy that the load
	 * passed over still makes the LUN not consistent */
	damaged = rc == 0 && csv_io_seen_damaged(&seen);
	if (rc < 0 && is_transport(rc)) {
		fprintf(stderr, "%s\n", err);
		free(t);
		return EXIT_USAGE;
	}
	if (o->json) {
		struct cm_sb sb;
		struct cm_jw w;

		cm_sb_init(&sb);
		cm_jw_init(&w, &sb);
		cm_jw_obj_begin(&w);
		cm_jw_kv_str(&w, "lun", wit_lun_name(l));
		cm_jw_kv_bool(&w, "consistent", rc == 0 && !damaged);
		cm_jw_kv_bool(&w, "usable", rc == 0);
		cm_jw_kv_bool(&w, "damaged_copy", damaged);
		cm_jw_key(&w, "error");
		if (rc < 0)
			cm_jw_str(&w, err);
		else if (damaged)
			cm_jw_str(&w, "a volume table copy is damaged; the table in use is sound");
		else
			cm_jw_null(&w);
		cm_jw_key(&w, "header");
		if (h.version)
			json_header(&w, &h);
		else
			cm_jw_null(&w);
		cm_jw_key(&w, "table");
		if (rc == 0) {
			json_table(&w, t);
			cm_jw_kv_int(&w, "free_bytes", (int64_t)csv_free_total(&h, t));
			cm_jw_kv_int(&w, "largest_free_bytes", (int64_t)csv_free_largest(&h, t));
		} else {
			cm_jw_null(&w);
		}
		cm_jw_key(&w, "report");
		json_lines(&w, report);
		cm_jw_obj_end(&w);
		json_print(&sb);
		cm_sb_free(&sb);
	} else {
		printf("lun %s\n%s\n", wit_lun_name(l), report);
		if (rc == 0) {
			printf("volumes: %u (table generation %llu)\n", t->count, (unsigned long long)t->generation);
			for (uint32_t i = 0; i < t->count; i++) {
				const struct csv_volume *v = &t->vol[i];

				printf("  %-24s offset %llu size %llu (%llu MiB) generation %llu created_ms %llu flags 0x%x\n",
				       v->name, (unsigned long long)v->offset, (unsigned long long)v->size,
				       mib(v->size), (unsigned long long)v->generation,
				       (unsigned long long)v->created_ms, v->flags);
			}
			printf("free: %llu MiB, largest extent %llu MiB\n", mib(csv_free_total(&h, t)),
			       mib(csv_free_largest(&h, t)));
			if (damaged)
				printf("NOT CONSISTENT: a volume table copy is damaged (above); the table in use, copy %c, is sound\n",
				       seen.used ? 'B' : 'A');
			else
				printf("consistent\n");
		} else {
			printf("NOT CONSISTENT: %s\n", err);
		}
	}
	free(t);
	return rc == 0 && !damaged ? EXIT_DONE : EXIT_REFUSED;
}

static int cmd_check(const struct opts *o, struct wit_lun *l)
{
	struct csv_table *t = malloc(sizeof(*t));
	struct csv_header h;
	char err[512] = "";
	int rc;

	if (t == NULL) {
		fputs("clusterd-lun csv: out of memory\n", stderr);
		return EXIT_REFUSED;
	}
	rc = csv_io_load(l, &h, t, NULL, 0, err, sizeof(err));
	/* a header we can read answers "whose CSV is it" before the table does */
	if (h.version && strcmp(h.cluster_uuid, o->uuid) != 0) {
		snprintf(err, sizeof(err), "%s: the header is not a CSV of this cluster (uuid %s)",
			 wit_lun_name(l), h.cluster_uuid);
		rc = -CM_E_FOREIGN;
	} else if (h.version && o->name && strcmp(h.name, o->name) != 0) {
		snprintf(err, sizeof(err), "%s: the LUN holds the CSV '%s', not '%s'", wit_lun_name(l), h.name,
			 o->name);
		rc = -CM_E_FOREIGN;
	}
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		free(t);
		return EXIT_REFUSED;
	}
	printf("%s: CSV '%s' of this cluster: table generation %llu, %u volume%s, %llu MiB free\n",
	       wit_lun_name(l), h.name, (unsigned long long)t->generation, t->count, t->count == 1 ? "" : "s",
	       mib(csv_free_total(&h, t)));
	free(t);
	return EXIT_DONE;
}

static int cmd_apply(const struct opts *o, struct wit_lun *l)
{
	struct csv_table *t = malloc(sizeof(*t));
	struct csv_header h;
	char err[512] = "";
	int op, rc, i;

	if (t == NULL) {
		fputs("clusterd-lun csv: out of memory\n", stderr);
		return EXIT_USAGE;
	}
	op = csv_io_op_from_str(o->op);
	if (op < 0 || o->vol == NULL || (op != CSV_IO_DELETE && !o->have_size)) {
		free(t);
		return usage_err("%s", "apply needs --op create|delete|resize, --vol V and (create, resize) --size");
	}
	rc = csv_io_load(l, &h, t, NULL, 0, err, sizeof(err));
	if (rc == 0 && o->uuid && strcmp(h.cluster_uuid, o->uuid) != 0) {
		snprintf(err, sizeof(err), "%s: the header is not a CSV of this cluster (uuid %s)",
			 wit_lun_name(l), h.cluster_uuid);
		rc = -CM_E_FOREIGN;
	}
	if (rc == 0)
		rc = csv_io_apply(l, &h, (enum csv_io_op)op, o->vol, o->size, o->flags, wall_ms(), t, err,
				  sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		free(t);
		return is_transport(rc) ? EXIT_USAGE : EXIT_REFUSED;
	}
	i = csv_vol_find(t, o->vol);
	if (i >= 0)
		printf("%s: volume '%s' %s: offset %llu, size %llu MiB (table generation %llu)\n", wit_lun_name(l),
		       o->vol, op == CSV_IO_CREATE ? "created" : "resized", (unsigned long long)t->vol[i].offset,
		       mib(t->vol[i].size), (unsigned long long)t->generation);
	else
		printf("%s: volume '%s' deleted (table generation %llu)\n", wit_lun_name(l), o->vol,
		       (unsigned long long)t->generation);
	free(t);
	return EXIT_DONE;
}

/* Where to flip a byte: the header's name, a table header's generation, or
 * the size of entry 0 of the table in use. Each breaks a checksum. */
static int damage_target(const struct opts *o, struct wit_lun *l, uint64_t *off, char *what,
			 size_t wlen, char *err, size_t errlen)
{
	struct csv_table *t;
	struct csv_header h;
	int rc;

	if (strcmp(o->what, "header") == 0) {
		*off = 56;
		snprintf(what, wlen, "the CSV header (byte 56, the name)");
		return 0;
	}
	t = malloc(sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = csv_io_load(l, &h, t, NULL, 0, err, errlen);
	if (h.version == 0) { /* no header to read the offsets from: the defaults */
		h.table_off[0] = CSV_TABLE_A_OFF;
		h.table_off[1] = CSV_TABLE_B_OFF;
	}
	if (strcmp(o->what, "table-a") == 0 || strcmp(o->what, "table-b") == 0) {
		int c = o->what[6] == 'b';

		*off = h.table_off[c] + 16;
		snprintf(what, wlen, "table copy %c's header (byte 16, the generation)", c ? 'B' : 'A');
		rc = 0;
	} else if (strcmp(o->what, "entry") == 0) {
		if (rc == 0 && t->count == 0) {
			snprintf(err, errlen, "%s: the table has no volume entry to damage", wit_lun_name(l));
			rc = -CM_E_NO_OBJECT;
		} else if (rc == 0) {
			int c = csv_table_copy_of(t);

			*off = h.table_off[c] + CSV_BLOCK + 72;
			snprintf(what, wlen, "entry 0 ('%s') of table copy %c (byte 72, the size)", t->vol[0].name,
				 c ? 'B' : 'A');
		}
	} else {
		snprintf(err, errlen, "--what '%s' is not header, table-a, table-b or entry", o->what);
		rc = -CM_E_ARGS;
	}
	free(t);
	return rc;
}

static int cmd_corrupt(const struct opts *o, struct wit_lun *l)
{
	unsigned char blk[CSV_BLOCK];
	char err[512] = "", what[160];
	uint64_t off = 0, base;
	int rc;

	if (o->what == NULL)
		return usage_err("%s", "corrupt needs --what header|table-a|table-b|entry");
	rc = damage_target(o, l, &off, what, sizeof(what), err, sizeof(err));
	if (rc == -CM_E_ARGS) {
		fprintf(stderr, "clusterd-lun csv: %s\n", err);
		return EXIT_USAGE;
	}
	base = off / CSV_BLOCK * CSV_BLOCK;
	if (rc == 0)
		rc = wit_lun_read(l, base, blk, CSV_BLOCK, err, sizeof(err));
	if (rc == 0) {
		blk[off - base] ^= 0x5a;
		rc = wit_lun_write(l, base, blk, CSV_BLOCK, err, sizeof(err));
	}
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return is_transport(rc) ? EXIT_USAGE : EXIT_REFUSED;
	}
	printf("%s: damaged %s at LUN byte %" PRIu64 " (test tool)\n", wit_lun_name(l), what, off);
	return EXIT_DONE;
}

int lun_csv_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct opts *, struct wit_lun *);
	} cmds[] = { { "probe", cmd_probe }, { "format", cmd_format }, { "dump", cmd_dump },
		     { "check", cmd_check }, { "apply", cmd_apply }, { "corrupt", cmd_corrupt } };
	struct wit_lun *l = NULL;
	struct opts o;
	char err[512];
	size_t i;
	int rc;

	rc = parse(argc, argv, &o);
	if (rc < 0)
		return EXIT_DONE; /* --help */
	if (rc > 0)
		return rc;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(o.sub, cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return usage_err("unknown subcommand '%s'", o.sub);
	if (strcmp(o.sub, "check") == 0 && (o.uuid == NULL || o.uuid[0] == '\0'))
		return usage_err("%s", "check needs --uuid U");
	rc = open_lun(&o, &l, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		/* the health check's answer is yes or no: no path is a no */
		return strcmp(o.sub, "check") == 0 && rc != -CM_E_URL ? EXIT_REFUSED : EXIT_USAGE;
	}
	rc = cmds[i].fn(&o, l);
	wit_lun_close(l);
	return rc;
}

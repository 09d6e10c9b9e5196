/* lun_csv.c - `clusterd-lun csv ...`: probe, format, dump, check a CSV LUN
 * (and, for tests only, apply a volume change or damage a structure); put,
 * get and clear a VM's saved (quick-migration) state in a volume.
 *
 * A tool: it prints, and one sentence naming the LUN says why it failed.
 * The csv resource type runs `check` as its online and health check; tests
 * run `dump` to prove the table on the LUN is consistent. clusterd itself
 * formats and changes volumes through csv_worker, not through this tool.
 * Exit status: 0 done / consistent / healthy; 1 refused, corrupt or check
 * failed; 2 usage or transport error (check: every failure is 1); 4 (only
 * get-state) the volume holds no saved state, so the caller starts fresh.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cm_err.h"
#include "cm_json.h"
#include "cm_prop.h"
#include "cm_str.h"
#include "csv_io.h"
#include "lun_tool.h"

enum { EXIT_DONE = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_NO_STATE = 4 };

#define DEFAULT_TIMEOUT_S 10

struct opts {
	const char *sub, *url, *initiator, *name, *uuid, *what, *op, *vol, *file;
	int timeout_s;
	bool json, force, have_size, have_offset;
	uint64_t size, offset;
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
	      "  put-state URL --offset OFF --size SIZE --name N FILE\n"
	      "                                 copy a VM's save image into the volume at OFF (its data,\n"
	      "                                 then a 4 KiB header naming N and sealing the image)\n"
	      "  get-state URL --offset OFF --size SIZE [--name N] FILE\n"
	      "                                 copy the saved image out to FILE (mode 0600, replaced\n"
	      "                                 only once the image checks out); exit 4: no saved state\n"
	      "  clear-state URL --offset OFF --size SIZE [--name N]\n"
	      "                                 zero the volume's state header (the image is left)\n"
	      "                                 OFF and SIZE: the volume's place on the LUN, multiples of\n"
	      "                                 1 MiB (suffix K, M, G or T), past the CSV's first MiB\n"
	      "--timeout S bounds every SCSI command (default 10). Exit status: 0 done, 1 refused,\n"
	      "corrupt or check failed, 2 usage or transport error, 4 no saved state (get-state).\n", f);
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
					      "--op", "--vol", "--size", "--flags", "--offset", NULL };
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
			else if (o->file == NULL)
				o->file = a;
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
		case 9:
			if (!parse_size(val, &o->offset))
				return usage_err("--offset '%s' is not a number of bytes (suffix K, M, G or T)", val);
			o->have_offset = true;
			break;
		}
	}
	if (o->sub == NULL)
		return usage_err("%s", "missing SUBCMD (probe, format, dump, check, apply, corrupt, put-state, get-state, clear-state)");
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

/* --- a VM's saved (quick-migration) state in a volume ---
 *
 * The volume [OFF, OFF + SIZE) then holds
 *   OFF           4 KiB   the state header
 *   OFF + 4 KiB   ...     the save image, its last block padded with zeros
 * put-state zeroes the header, writes the image, then writes the header
 * (every write FUA): a put that dies half way leaves "no saved state",
 * never an old header over a partly new image. The header, little-endian:
 *   0     8   magic "CLUSTATE"
 *   8     4   version (1)
 *   12    4   zero
 *   16    8   the volume's offset on the LUN (a header found at another
 *             place, say after a volume was copied, is not this volume's)
 *   24    8   image length in bytes
 *   32    8   FNV-64 of the image
 *   40    8   saved_ms, wall clock at the put
 *   48    64  name (the VM's), NUL-terminated, zero-filled
 *   4088  8   FNV-64 of bytes 0..4087
 * st_header_* are pure; the commands below them do the I/O.
 */
#define ST_MAGIC "CLUSTATE"
#define ST_VERSION 1u
#define ST_HDR CSV_BLOCK
#define ST_CHUNK CSV_ALIGN /* bytes per request; wit_scsi's largest transfer */

enum { ST_O_MAGIC = 0, ST_O_VERSION = 8, ST_O_VOL = 16, ST_O_LEN = 24, ST_O_HASH = 32, ST_O_SAVED = 40,
       ST_O_NAME = 48, ST_O_SUM = ST_HDR - 8 };

struct st_header {
	uint32_t version;
	uint64_t vol_off, length, hash, saved_ms;
	char name[CSV_NAME_LEN];
};

static void st_header_encode(const struct st_header *s, unsigned char blk[ST_HDR])
{
	size_t n = strnlen(s->name, CSV_NAME_LEN - 1);

	memset(blk, 0, ST_HDR);
	memcpy(blk + ST_O_MAGIC, ST_MAGIC, 8);
	cm_le_put(blk + ST_O_VERSION, s->version, 4);
	cm_le_put(blk + ST_O_VOL, s->vol_off, 8);
	cm_le_put(blk + ST_O_LEN, s->length, 8);
	cm_le_put(blk + ST_O_HASH, s->hash, 8);
	cm_le_put(blk + ST_O_SAVED, s->saved_ms, 8);
	memcpy(blk + ST_O_NAME, s->name, n);
	cm_le_put(blk + ST_O_SUM, cm_hash64(CM_HASH_INIT, blk, ST_O_SUM), 8);
}

/* Judge the header block of the volume at vol_off of vol_size bytes.
 * 0; -CM_E_NO_OBJECT when it holds no saved state (zero, no magic, a broken
 * seal, another volume's header); -CM_E_VERSION; -CM_E_CORRUPT when a sealed
 * header makes no sense. why gets a sentence (no LUN name) on error. */
static int st_header_decode(const unsigned char blk[ST_HDR], uint64_t vol_off, uint64_t vol_size,
			    struct st_header *s, char *why, size_t whylen)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < ST_HDR && blk[i] == 0; i++)
		;
	if (i == ST_HDR) {
		snprintf(why, whylen, "the state header is zero");
		return -CM_E_NO_OBJECT;
	}
	if (memcmp(blk + ST_O_MAGIC, ST_MAGIC, 8) != 0) {
		snprintf(why, whylen, "the first block holds no state header");
		return -CM_E_NO_OBJECT;
	}
	/* a torn or damaged header is no state: the caller starts the VM fresh */
	if (cm_le_get(blk + ST_O_SUM, 8) != cm_hash64(CM_HASH_INIT, blk, ST_O_SUM)) {
		snprintf(why, whylen, "the state header fails its checksum");
		return -CM_E_NO_OBJECT;
	}
	s->version = (uint32_t)cm_le_get(blk + ST_O_VERSION, 4);
	s->vol_off = cm_le_get(blk + ST_O_VOL, 8);
	s->length = cm_le_get(blk + ST_O_LEN, 8);
	s->hash = cm_le_get(blk + ST_O_HASH, 8);
	s->saved_ms = cm_le_get(blk + ST_O_SAVED, 8);
	memcpy(s->name, blk + ST_O_NAME, CSV_NAME_LEN);
	if (s->version != ST_VERSION) {
		snprintf(why, whylen, "the state header has layout version %u; this tool reads version %u",
			 s->version, ST_VERSION);
		return -CM_E_VERSION;
	}
	if (s->vol_off != vol_off) {
		snprintf(why, whylen, "the state header was written for the volume at byte %llu",
			 (unsigned long long)s->vol_off);
		return -CM_E_NO_OBJECT;
	}
	if (memchr(s->name, '\0', CSV_NAME_LEN) == NULL || !cm_name_is_valid(s->name)) {
		s->name[0] = '\0';
		snprintf(why, whylen, "the state header holds an invalid name");
		return -CM_E_CORRUPT;
	}
	if (s->length > vol_size - ST_HDR) {
		snprintf(why, whylen, "the saved image of '%s' (%llu bytes) does not fit the volume of %llu MiB",
			 s->name, (unsigned long long)s->length, mib(vol_size));
		return -CM_E_CORRUPT;
	}
	return 0;
}

static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The checks that need no LUN. An offset inside the CSV's first MiB is a
 * refusal (1), not a usage error: it would overwrite the CSV header. */
static int st_args(const struct opts *o, bool with_file, bool need_name)
{
	char err[256];

	if (!o->have_offset || !o->have_size)
		return usage_err("%s needs --offset OFF and --size SIZE (the volume's place on the LUN)", o->sub);
	if (o->offset < CSV_DATA_OFF) {
		fprintf(stderr, "clusterd-lun csv: refusing --offset %llu: it lies inside the CSV's first MiB (its header and volume tables)\n",
			(unsigned long long)o->offset);
		return EXIT_REFUSED;
	}
	if (o->offset % CSV_ALIGN || o->size % CSV_ALIGN || o->size == 0 || o->size > UINT64_MAX - o->offset)
		return usage_err("%s", "--offset and --size must be multiples of 1 MiB (size not 0)");
	if (with_file && o->file == NULL)
		return usage_err("%s needs a FILE", o->sub);
	if (!with_file && o->file)
		return usage_err("unexpected argument '%s'", o->file);
	if (need_name && o->name == NULL)
		return usage_err("%s needs --name N (the VM whose state it is)", o->sub);
	if (o->name && cm_name_check("state", o->name, err, sizeof(err)) < 0)
		return usage_err("%s", err);
	return 0;
}

/* May the state commands use [OFF, OFF + SIZE) of this LUN? Inside the LUN,
 * whose block size divides 4 KiB. Before a write also: the LUN holds a CSV
 * whose data area contains the range, and no volume of its table overlaps
 * the range unless it is exactly this range (the volume made for the state):
 * a wrong offset must not land a save image on a running VM's disk. */
static int st_place(const struct opts *o, struct wit_lun *l, bool writing, char *err, size_t errlen)
{
	uint64_t end = o->offset + o->size;
	struct csv_table *t;
	struct csv_header h;
	int rc;

	if (wit_lun_block(l) == 0 || ST_HDR % wit_lun_block(l)) {
		snprintf(err, errlen, "%s: the LUN's block size %u does not divide 4096", wit_lun_name(l),
			 wit_lun_block(l));
		return -CM_E_ARGS;
	}
	if (end > wit_lun_bytes(l)) {
		snprintf(err, errlen, "%s: refusing the volume at %llu..%llu MiB: the LUN ends at %llu MiB",
			 wit_lun_name(l), mib(o->offset), mib(end), mib(wit_lun_bytes(l)));
		return -CM_E_SMALL;
	}
	if (!writing)
		return 0;
	t = malloc(sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = csv_io_load(l, &h, t, NULL, 0, err, errlen);
	if (rc == 0 && (o->offset < h.data_off || end > h.data_end)) {
		snprintf(err, errlen, "%s: refusing the volume at %llu..%llu MiB: the CSV's data area is %llu..%llu MiB",
			 wit_lun_name(l), mib(o->offset), mib(end), mib(h.data_off), mib(h.data_end));
		rc = -CM_E_SMALL;
	}
	for (uint32_t i = 0; rc == 0 && i < t->count; i++) {
		const struct csv_volume *v = &t->vol[i];

		if (v->offset < end && o->offset < v->offset + v->size &&
		    (v->offset != o->offset || v->size != o->size)) {
			snprintf(err, errlen, "%s: refusing the volume at %llu..%llu MiB: it overlaps volume '%s' at %llu..%llu MiB",
				 wit_lun_name(l), mib(o->offset), mib(end), v->name, mib(v->offset),
				 mib(v->offset + v->size));
			rc = -CM_E_EXISTS;
		}
	}
	free(t);
	return rc;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* The next request of the image at LUN byte at with left bytes to go:
 * requests end on 1 MiB boundaries of the LUN, the last is padded up to
 * the block size. *want gets the image bytes, the return the request. */
static size_t st_chunk(const struct wit_lun *l, uint64_t at, uint64_t left, size_t *want)
{
	size_t n = ST_CHUNK - (size_t)(at % ST_CHUNK), blk = wit_lun_block(l);

	if (n > left)
		n = (size_t)left;
	*want = n;
	return (n + blk - 1) / blk * blk;
}

static void st_report(const struct opts *o, struct wit_lun *l, const char *verb, const struct st_header *s,
		      int64_t us)
{
	double secs = (double)us / 1e6, mibs = (double)s->length / (1024.0 * 1024.0);
	double rate = us > 0 ? mibs / secs : 0;

	if (o->json) {
		struct cm_sb sb;
		struct cm_jw w;

		cm_sb_init(&sb);
		cm_jw_init(&w, &sb);
		cm_jw_obj_begin(&w);
		cm_jw_kv_str(&w, "lun", wit_lun_name(l));
		cm_jw_kv_int(&w, "offset", (int64_t)o->offset);
		cm_jw_kv_int(&w, "size", (int64_t)o->size);
		cm_jw_kv_str(&w, "name", s->name);
		cm_jw_kv_int(&w, "bytes", (int64_t)s->length);
		cm_jw_kv_int(&w, "saved_ms", (int64_t)s->saved_ms);
		cm_jw_kv_int(&w, "elapsed_ms", us / 1000);
		cm_jw_kv_int(&w, "mib_per_s", (int64_t)(rate + 0.5));
		cm_jw_obj_end(&w);
		json_print(&sb);
		cm_sb_free(&sb);
		return;
	}
	printf("%s %.1f MiB of state for '%s' in %.2f s (%.0f MiB/s)\n", verb, mibs, s->name, secs, rate);
}

static int cmd_put_state(const struct opts *o, struct wit_lun *l)
{
	unsigned char *buf = NULL, hdr[ST_HDR];
	struct st_header s;
	struct stat st;
	char err[512] = "";
	uint64_t at, left;
	int64_t t0 = mono_us();
	int fd = -1, rc, ret = EXIT_REFUSED;

	rc = st_place(o, l, true, err, sizeof(err));
	if (rc < 0)
		goto out;
	fd = open(o->file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, sizeof(err), "clusterd-lun csv: cannot read '%s': %s", o->file, strerror(errno));
		ret = EXIT_USAGE;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > o->size - ST_HDR) {
		snprintf(err, sizeof(err), "%s: refusing '%s': %s%llu bytes; the volume takes 1 to %llu (its size less the 4 KiB header)",
			 wit_lun_name(l), o->file, S_ISREG(st.st_mode) ? "" : "not a regular file; ",
			 (unsigned long long)st.st_size, (unsigned long long)(o->size - ST_HDR));
		goto out;
	}
	buf = aligned_alloc(ST_HDR, ST_CHUNK);
	if (buf == NULL) {
		snprintf(err, sizeof(err), "clusterd-lun csv: out of memory");
		ret = EXIT_USAGE;
		goto out;
	}
	memset(&s, 0, sizeof(s));
	s.version = ST_VERSION;
	s.vol_off = o->offset;
	s.length = (uint64_t)st.st_size;
	s.hash = CM_HASH_INIT;
	cm_strlcpy(s.name, o->name, sizeof(s.name));

	/* 1. no state while the image changes under the header */
	memset(hdr, 0, sizeof(hdr));
	rc = wit_lun_write(l, o->offset, hdr, ST_HDR, err, sizeof(err));
	/* 2. the image */
	for (at = o->offset + ST_HDR, left = s.length; rc == 0 && left > 0;) {
		size_t want, req = st_chunk(l, at, left, &want);
		ssize_t n = read_full(fd, buf, want);

		if (n != (ssize_t)want) {
			snprintf(err, sizeof(err), "clusterd-lun csv: reading '%s': %s", o->file,
				 n < 0 ? strerror((int)-n) : "the file shrank while being saved");
			rc = n < 0 ? (int)n : -EIO;
			break;
		}
		s.hash = cm_hash64(s.hash, buf, want);
		memset(buf + want, 0, req - want);
		rc = wit_lun_write(l, at, buf, req, err, sizeof(err));
		at += req;
		left -= want;
	}
	if (rc == 0 && read_full(fd, buf, 1) != 0) {
		snprintf(err, sizeof(err), "clusterd-lun csv: '%s' grew while being saved", o->file);
		rc = -EIO;
	}
	/* 3. the header seals it */
	if (rc == 0) {
		s.saved_ms = (uint64_t)wall_ms();
		st_header_encode(&s, hdr);
		rc = wit_lun_write(l, o->offset, hdr, ST_HDR, err, sizeof(err));
	}
	if (rc < 0) {
		ret = is_transport(rc) ? EXIT_USAGE : EXIT_REFUSED;
		goto out;
	}
	st_report(o, l, "saved", &s, mono_us() - t0);
	ret = EXIT_DONE;
out:
	if (ret != EXIT_DONE) {
		fprintf(stderr, "%s\n", err);
		if (rc < 0 && is_transport(rc))
			ret = EXIT_USAGE;
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static int cmd_get_state(const struct opts *o, struct wit_lun *l)
{
	unsigned char *buf = NULL, hdr[ST_HDR];
	struct st_header s;
	char err[512] = "", why[256] = "", *tmp = NULL;
	uint64_t at, left, hash = CM_HASH_INIT;
	size_t tmplen;
	int64_t t0 = mono_us();
	int fd = -1, rc, ret = EXIT_REFUSED;

	rc = st_place(o, l, false, err, sizeof(err));
	if (rc == 0)
		rc = wit_lun_read(l, o->offset, hdr, ST_HDR, err, sizeof(err));
	if (rc < 0)
		goto out;
	rc = st_header_decode(hdr, o->offset, o->size, &s, why, sizeof(why));
	if (rc == -CM_E_NO_OBJECT) {
		snprintf(err, sizeof(err), "%s: no saved state in the volume at %llu MiB (%s)", wit_lun_name(l),
			 mib(o->offset), why);
		ret = EXIT_NO_STATE;
		goto out;
	}
	if (rc < 0) {
		snprintf(err, sizeof(err), "%s: corrupt saved state in the volume at %llu MiB: %s", wit_lun_name(l),
			 mib(o->offset), why);
		goto out;
	}
	if (o->name && strcmp(o->name, s.name) != 0) {
		/* saved for another tag (an earlier volume of this name, another
		 * VM): not this one's state, so there is none to restore */
		snprintf(err, sizeof(err), "%s: no saved state for '%s' in the volume at %llu MiB (it holds one saved"
			 " for '%s')", wit_lun_name(l), o->name, mib(o->offset), s.name);
		ret = EXIT_NO_STATE;
		goto out;
	}
	buf = aligned_alloc(ST_HDR, ST_CHUNK);
	tmplen = strlen(o->file) + sizeof(".tmp");
	tmp = malloc(tmplen);
	if (buf == NULL || tmp == NULL) {
		snprintf(err, sizeof(err), "clusterd-lun csv: out of memory");
		ret = EXIT_USAGE;
		goto out;
	}
	snprintf(tmp, tmplen, "%s.tmp", o->file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fchmod(fd, 0600) < 0) {
		snprintf(err, sizeof(err), "clusterd-lun csv: cannot write '%s': %s", tmp, strerror(errno));
		ret = EXIT_USAGE;
		goto out;
	}
	for (at = o->offset + ST_HDR, left = s.length; left > 0;) {
		size_t want, req = st_chunk(l, at, left, &want);

		rc = wit_lun_read(l, at, buf, req, err, sizeof(err));
		if (rc < 0)
			goto out;
		hash = cm_hash64(hash, buf, want);
		rc = write_full(fd, buf, want);
		if (rc < 0) {
			snprintf(err, sizeof(err), "clusterd-lun csv: writing '%s': %s", tmp, strerror(-rc));
			ret = EXIT_USAGE;
			goto out;
		}
		at += req;
		left -= want;
	}
	if (hash != s.hash) {
		snprintf(err, sizeof(err), "%s: corrupt saved state for '%s' in the volume at %llu MiB: the image fails its checksum; '%s' not written",
			 wit_lun_name(l), s.name, mib(o->offset), o->file);
		rc = -CM_E_CORRUPT;
		goto out;
	}
	/* no fsync: the state stays in the volume until the caller has
	 * restored the VM from FILE and cleared it */
	if (close(fd) < 0 || rename(tmp, o->file) < 0) {
		fd = -1;
		snprintf(err, sizeof(err), "clusterd-lun csv: cannot write '%s': %s", o->file, strerror(errno));
		ret = EXIT_USAGE;
		goto out;
	}
	fd = -1;
	st_report(o, l, "read", &s, mono_us() - t0);
	ret = EXIT_DONE;
out:
	if (ret != EXIT_DONE) {
		fprintf(stderr, "%s\n", err);
		if (rc < 0 && is_transport(rc))
			ret = EXIT_USAGE;
	}
	if (fd >= 0)
		close(fd);
	if (tmp && ret != EXIT_DONE)
		unlink(tmp);
	free(tmp);
	free(buf);
	return ret;
}

static int cmd_clear_state(const struct opts *o, struct wit_lun *l)
{
	unsigned char hdr[ST_HDR];
	struct st_header s;
	char err[512] = "", why[256];
	bool had;
	int rc;

	rc = st_place(o, l, true, err, sizeof(err));
	if (rc == 0)
		rc = wit_lun_read(l, o->offset, hdr, ST_HDR, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return is_transport(rc) ? EXIT_USAGE : EXIT_REFUSED;
	}
	had = st_header_decode(hdr, o->offset, o->size, &s, why, sizeof(why)) == 0;
	if (had && o->name && strcmp(o->name, s.name) != 0) {
		fprintf(stderr, "%s: refusing to clear: the volume at %llu MiB holds the saved state of '%s', not '%s'\n",
			wit_lun_name(l), mib(o->offset), s.name, o->name);
		return EXIT_REFUSED;
	}
	memset(hdr, 0, sizeof(hdr));
	rc = wit_lun_write(l, o->offset, hdr, ST_HDR, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "%s\n", err);
		return is_transport(rc) ? EXIT_USAGE : EXIT_REFUSED;
	}
	if (had)
		printf("%s: cleared the saved state of '%s' in the volume at %llu MiB\n", wit_lun_name(l), s.name,
		       mib(o->offset));
	else
		printf("%s: cleared the volume at %llu MiB (it held no saved state)\n", wit_lun_name(l),
		       mib(o->offset));
	return EXIT_DONE;
}

int lun_csv_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const struct opts *, struct wit_lun *);
	} cmds[] = { { "probe", cmd_probe }, { "format", cmd_format }, { "dump", cmd_dump },
		     { "check", cmd_check }, { "apply", cmd_apply }, { "corrupt", cmd_corrupt },
		     { "put-state", cmd_put_state }, { "get-state", cmd_get_state },
		     { "clear-state", cmd_clear_state } };
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
	if (strcmp(o.sub, "put-state") == 0 || strcmp(o.sub, "get-state") == 0)
		rc = st_args(&o, true, o.sub[0] == 'p');
	else if (strcmp(o.sub, "clear-state") == 0)
		rc = st_args(&o, false, false);
	else if (o.file)
		rc = usage_err("unexpected argument '%s'", o.file);
	if (rc > 0)
		return rc;
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

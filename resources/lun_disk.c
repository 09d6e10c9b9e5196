/* lun_disk.c - `clusterd-lun disk ...`: the physical-disk resource's
 * SCSI-3 persistent reservation steps, one short-lived process each.
 *
 *   disk online     URL --initiator IQN --key 0xK [--preempt L] [--known L] [--names M]
 *   disk offline    URL --initiator IQN --key 0xK
 *   disk check      URL --initiator IQN --key 0xK [--defend]
 *   disk status     URL --initiator IQN [--key 0xK] [--names M] [--json]
 *   disk write-test URL OFFSET --initiator IQN [--key 0xK]      (tests only)
 * Common: --timeout S (every SCSI call, default 10), --report-stderr (the
 * one-line summary goes to stderr instead of stdout: the resource type
 * captures stderr only). L = "0xK1,0xK2", M = "0xK1=n1,0xK2=n2".
 * Exit: 0 done, 1 refused / failed / reservation lost, 2 usage,
 * 3 (write-test) RESERVATION CONFLICT.
 *
 * Owns: deciding, from one READ RESERVATION and the keys clusterd passes,
 * whether this node may take the LUN. Never: preempts a key that clusterd
 * did not list in --preempt, registers during a check (a check must leave
 * nothing behind), or logs (tools print).
 *
 * Sessions (tgt ties registrations to the session): the reservation this
 * tool takes stays with its session after it exits; QEMU's preloaded shim
 * (cm_iscsi_pr.so) then moves it to QEMU's own session with
 * PREEMPT(K -> K). For the same reason `online` leaves a reservation that
 * is already held by K where it is: moving it here would take it away from
 * a running QEMU of this node, whose writes would then fail.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cm_err.h"
#include "cm_json.h"
#include "cm_str.h"
#include "lun_tool.h"
#include "wit_scsi.h"

#define LD_MAX_KEYS 32
#define LD_NAME_MAX 64
#define LD_READ_KEYS 64          /* registrations listed by status */
#define LD_ROUNDS 3              /* decide again when the reservation moves under us */
#define LD_TEST_BYTES 4096
#define LD_DEFAULT_TIMEOUT_S 10
#define LD_ERR 512

enum { LD_OK = 0, LD_FAIL = 1, LD_USAGE = 2, LD_CONFLICT = 3 };

struct ld_keys {
	uint64_t k[LD_MAX_KEYS];
	size_t n;
};

struct ld_names {
	uint64_t k[LD_MAX_KEYS];
	char name[LD_MAX_KEYS][LD_NAME_MAX];
	size_t n;
};

struct ld_opts {
	const char *sub;
	const char *url;
	const char *offset;          /* write-test */
	const char *initiator;
	uint64_t key;                /* 0: none given */
	int timeout_s;
	struct ld_keys preempt, known;
	struct ld_names names;
	bool defend, json, report_stderr;
};

/* An open LUN and what the messages need. */
struct ld_ctx {
	const struct ld_opts *o;
	struct wit_lun *l;
	char err[LD_ERR];
};

static void ld_usage(FILE *f)
{
	fprintf(f,
		"usage: clusterd-lun disk online URL --initiator IQN --key 0xK [--preempt 0xK1,...] [--known 0xK1,...] [--names 0xK1=n1,...]\n"
		"       clusterd-lun disk offline URL --initiator IQN --key 0xK\n"
		"       clusterd-lun disk check URL --initiator IQN --key 0xK [--defend]\n"
		"       clusterd-lun disk status URL --initiator IQN [--key 0xK] [--names ...] [--json]\n"
		"       clusterd-lun disk write-test URL OFFSET --initiator IQN [--key 0xK]   (tests: one 4 KiB write)\n"
		"common: --timeout S (each SCSI call, default %d), --report-stderr (summary line on stderr)\n"
		"URL: iscsi://ADDR[:PORT]/IQN/LUN. Exit: 0 done, 1 refused or failed, 2 usage, 3 write-test conflict.\n",
		LD_DEFAULT_TIMEOUT_S);
}

/* The summary line: stdout, or stderr for the resource type. */
static void ld_say(const struct ld_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ld_say(const struct ld_opts *o, const char *fmt, ...)
{
	FILE *f = o->report_stderr ? stderr : stdout;
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

static int ld_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ld_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* ---- arguments ---- */

static int ld_parse_key(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno != 0 || *end != '\0' || v == 0 || s[0] == '-')
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int ld_parse_keys(const char *s, struct ld_keys *ks)
{
	char buf[LD_MAX_KEYS * 20], *tok, *save = NULL;

	ks->n = 0;
	if (cm_strlcpy(buf, s, sizeof(buf)) < 0)
		return -1;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (ks->n == LD_MAX_KEYS || ld_parse_key(tok, &ks->k[ks->n]) < 0)
			return -1;
		ks->n++;
	}
	return 0;
}

static int ld_parse_names(const char *s, struct ld_names *ns)
{
	char buf[LD_MAX_KEYS * (20 + LD_NAME_MAX)], *tok, *save = NULL, *eq;

	ns->n = 0;
	if (cm_strlcpy(buf, s, sizeof(buf)) < 0)
		return -1;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (eq == NULL || ns->n == LD_MAX_KEYS)
			return -1;
		*eq = '\0';
		if (ld_parse_key(tok, &ns->k[ns->n]) < 0 || eq[1] == '\0' ||
		    cm_strlcpy(ns->name[ns->n], eq + 1, LD_NAME_MAX) < 0)
			return -1;
		ns->n++;
	}
	return 0;
}

static bool ld_has(const struct ld_keys *ks, uint64_t k)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (ks->k[i] == k)
			return true;
	return false;
}

static const char *ld_name(const struct ld_opts *o, uint64_t k)
{
	size_t i;

	for (i = 0; i < o->names.n; i++)
		if (o->names.k[i] == k)
			return o->names.name[i];
	return NULL;
}

/* "n2 (key 0x..)" or "key 0x..". */
static const char *ld_who(const struct ld_opts *o, uint64_t k, char *buf, size_t len)
{
	const char *n = ld_name(o, k);

	if (n)
		snprintf(buf, len, "%s (key 0x%" PRIx64 ")", n, k);
	else
		snprintf(buf, len, "key 0x%" PRIx64, k);
	return buf;
}

static const char *ld_type_str(int type)
{
	switch (type) {
	case 1: return "WE";
	case 3: return "EA";
	case 5: return "WE_RO";
	case 6: return "EA_RO";
	case 7: return "WE_AR";
	case 8: return "EA_AR";
	default: return "?";
	}
}

static int ld_parse_args(int argc, char **argv, struct ld_opts *o)
{
	int i = 0, pos = 0;
	const char *v;

	memset(o, 0, sizeof(*o));
	o->timeout_s = LD_DEFAULT_TIMEOUT_S;
	/* the dispatcher may pass argv from "disk" or from the program name */
	while (i < argc && argv[i][0] != '-' &&
	       !(strcmp(argv[i], "online") == 0 || strcmp(argv[i], "offline") == 0 ||
		 strcmp(argv[i], "check") == 0 || strcmp(argv[i], "status") == 0 ||
		 strcmp(argv[i], "write-test") == 0 || strcmp(argv[i], "help") == 0))
		i++;
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0) {
			ld_usage(stdout);
			exit(0);
		}
		if (strcmp(a, "--defend") == 0) {
			o->defend = true;
			continue;
		}
		if (strcmp(a, "--json") == 0) {
			o->json = true;
			continue;
		}
		if (strcmp(a, "--report-stderr") == 0) {
			o->report_stderr = true;
			continue;
		}
		if (a[0] == '-' && a[1] == '-') {
			if (i + 1 >= argc)
				return ld_fail(LD_USAGE, "clusterd-lun disk: option %s needs a value", a);
			v = argv[++i];
			if (strcmp(a, "--initiator") == 0) {
				o->initiator = v;
			} else if (strcmp(a, "--key") == 0) {
				if (ld_parse_key(v, &o->key) < 0)
					return ld_fail(LD_USAGE, "clusterd-lun disk: --key '%s' is not a non-zero hex number (0x...)", v);
			} else if (strcmp(a, "--timeout") == 0) {
				char *end;
				long t = strtol(v, &end, 10);

				if (*end != '\0' || t < 1 || t > 3600)
					return ld_fail(LD_USAGE, "clusterd-lun disk: --timeout '%s' is not a number of seconds in 1..3600", v);
				o->timeout_s = (int)t;
			} else if (strcmp(a, "--preempt") == 0) {
				if (ld_parse_keys(v, &o->preempt) < 0)
					return ld_fail(LD_USAGE, "clusterd-lun disk: --preempt '%s' is not a list of hex keys (0xK1,0xK2)", v);
			} else if (strcmp(a, "--known") == 0) {
				if (ld_parse_keys(v, &o->known) < 0)
					return ld_fail(LD_USAGE, "clusterd-lun disk: --known '%s' is not a list of hex keys (0xK1,0xK2)", v);
			} else if (strcmp(a, "--names") == 0) {
				if (ld_parse_names(v, &o->names) < 0)
					return ld_fail(LD_USAGE, "clusterd-lun disk: --names '%s' is not a list of 0xKEY=NAME", v);
			} else {
				return ld_fail(LD_USAGE, "clusterd-lun disk: unknown option %s (see --help)", a);
			}
			continue;
		}
		if (pos == 0)
			o->sub = a;
		else if (pos == 1)
			o->url = a;
		else if (pos == 2 && o->sub && strcmp(o->sub, "write-test") == 0)
			o->offset = a;
		else
			return ld_fail(LD_USAGE, "clusterd-lun disk: unexpected argument '%s' (see --help)", a);
		pos++;
	}
	if (o->sub == NULL) {
		ld_usage(stderr);
		return LD_USAGE;
	}
	if (strcmp(o->sub, "online") && strcmp(o->sub, "offline") && strcmp(o->sub, "check") &&
	    strcmp(o->sub, "status") && strcmp(o->sub, "write-test"))
		return ld_fail(LD_USAGE, "clusterd-lun disk: unknown subcommand '%s' (online, offline, check, status, write-test)", o->sub);
	if (o->url == NULL)
		return ld_fail(LD_USAGE, "clusterd-lun disk %s: the LUN's URL (iscsi://ADDR[:PORT]/IQN/LUN) is missing", o->sub);
	if (o->initiator == NULL || *o->initiator == '\0')
		return ld_fail(LD_USAGE, "clusterd-lun disk %s: --initiator IQN is required", o->sub);
	if (o->key == 0 && (!strcmp(o->sub, "online") || !strcmp(o->sub, "offline") || !strcmp(o->sub, "check")))
		return ld_fail(LD_USAGE, "clusterd-lun disk %s: --key 0xK (this node's reservation key) is required", o->sub);
	if (!strcmp(o->sub, "write-test") && o->offset == NULL)
		return ld_fail(LD_USAGE, "clusterd-lun disk write-test: OFFSET is missing");
	return -1; /* parsed */
}

static int ld_open(struct ld_ctx *c)
{
	struct wit_url u;
	int rc;

	rc = wit_url_parse(c->o->url, &u, c->err, sizeof(c->err));
	if (rc < 0)
		return ld_fail(LD_USAGE, "%s", c->err);
	rc = wit_lun_open(&u, c->o->initiator, c->o->timeout_s, &c->l, c->err, sizeof(c->err));
	if (rc < 0)
		return ld_fail(LD_FAIL, "%s%s", c->err, strcmp(c->o->sub, "offline") == 0
			       ? ": cannot give up the reservation (the resource fails offline)" : "");
	return LD_OK;
}

static int ld_read(struct ld_ctx *c, bool *reserved, uint64_t *holder, int *type)
{
	int rc = wit_pr_read_reservation(c->l, reserved, holder, type, c->err, sizeof(c->err));

	if (rc < 0)
		ld_fail(LD_FAIL, "%s", c->err);
	return rc;
}

/* ---- online ---- */

/* After we hold it: drop registrations of the keys clusterd said are gone
 * (an old owner's stale sessions; harmless under WE, but gone is cleaner).
 * Best effort. */
static void ld_sweep(struct ld_ctx *c, char *note, size_t len)
{
	uint64_t keys[LD_READ_KEYS];
	size_t n = 0, i, j, off = 0;
	char who[96];

	note[0] = '\0';
	if (c->o->preempt.n == 0 ||
	    wit_pr_read_keys(c->l, keys, LD_READ_KEYS, &n, NULL, c->err, sizeof(c->err)) < 0)
		return;
	for (i = 0; i < n && i < LD_READ_KEYS; i++) {
		if (keys[i] == c->o->key || !ld_has(&c->o->preempt, keys[i]))
			continue;
		for (j = 0; j < i; j++)
			if (keys[j] == keys[i])
				break;
		if (j < i)
			continue;  /* already preempted: every registration of a key goes at once */
		if (wit_pr_preempt(c->l, c->o->key, keys[i], c->err, sizeof(c->err)) == 0 && off < len)
			off += (size_t)snprintf(note + off, len - off, "%s%s",
						off ? ", " : "; removed the registrations of ",
						ld_who(c->o, keys[i], who, sizeof(who)));
	}
}

static int ld_online(struct ld_ctx *c)
{
	const struct ld_opts *o = c->o;
	const char *name = wit_lun_name(c->l);
	bool reserved, registered = false;
	uint64_t holder;
	int type, rc, round;
	char who[96], done[160] = "", note[256];

	rc = wit_pr_caps(c->l, c->err, sizeof(c->err));
	if (rc < 0)
		return ld_fail(LD_FAIL, "%s", c->err);
	for (round = 0; round < LD_ROUNDS; round++) {
		if (ld_read(c, &reserved, &holder, &type) < 0)
			goto fail;
		if (reserved && holder == o->key && type == WIT_PR_TYPE_WE) {
			snprintf(done, sizeof(done), "already ours");
			break;
		}
		if (reserved && holder != o->key && !ld_has(&o->preempt, holder)) {
			if (ld_has(&o->known, holder))
				rc = ld_fail(LD_FAIL, "LUN %s is reserved by %s, which is neither fenced nor released; not taking it",
					     name, ld_who(o, holder, who, sizeof(who)));
			else
				rc = ld_fail(LD_FAIL, "LUN %s is reserved by key 0x%" PRIx64 " which is not a node of this cluster; not taking it",
					     name, holder);
			goto undo;
		}
		if (!registered) {
			rc = wit_pr_register(c->l, o->key, c->err, sizeof(c->err));
			if (rc < 0) {
				ld_fail(LD_FAIL, "%s", c->err);
				goto fail;
			}
			registered = true;
		}
		if (!reserved) {
			rc = wit_pr_reserve(c->l, o->key, c->err, sizeof(c->err));
			snprintf(done, sizeof(done), "reserved");
		} else if (holder == o->key) {
			/* ours with another type: PREEMPT(K -> K, WE) sets WE */
			rc = wit_pr_recover(c->l, o->key, NULL, c->err, sizeof(c->err));
			snprintf(done, sizeof(done), "already ours (type %s changed to WE)", ld_type_str(type));
		} else {
			rc = wit_pr_preempt(c->l, o->key, holder, c->err, sizeof(c->err));
			snprintf(done, sizeof(done), "took over from %s, preempted as fenced, down or released",
				 ld_who(o, holder, who, sizeof(who)));
		}
		if (rc == 0)
			break;
		if (rc != -CM_E_CONFLICT) {
			ld_fail(LD_FAIL, "%s", c->err);
			goto undo;
		}
		/* the reservation moved between our READ and our command: decide again */
		done[0] = '\0';
	}
	if (done[0] == '\0') {
		rc = ld_fail(LD_FAIL, "LUN %s: the reservation kept changing hands; gave up after %d rounds (last: %s)",
			     name, LD_ROUNDS, c->err);
		goto undo;
	}
	if (ld_read(c, &reserved, &holder, &type) < 0)
		goto fail;
	if (!reserved || holder != o->key || type != WIT_PR_TYPE_WE) {
		if (reserved)
			rc = ld_fail(LD_FAIL, "LUN %s: after taking it the reservation is held by %s, type %s: lost it at once",
				     name, ld_who(o, holder, who, sizeof(who)), ld_type_str(type));
		else
			rc = ld_fail(LD_FAIL, "LUN %s: after taking it there is no reservation: lost it at once", name);
		goto undo;
	}
	ld_sweep(c, note, sizeof(note));
	ld_say(o, "%s: %s; held by key 0x%" PRIx64 ", WRITE EXCLUSIVE%s", name, done, o->key, note);
	return LD_OK;
undo:
	/* leave no registration of a session that will not hold the LUN */
	if (registered)
		(void)wit_pr_unregister(c->l, o->key, c->err, sizeof(c->err));
	return LD_FAIL;
fail:
	return LD_FAIL;
}

/* ---- offline ---- */

static int ld_offline(struct ld_ctx *c)
{
	const struct ld_opts *o = c->o;
	const char *name = wit_lun_name(c->l);
	uint64_t holder, keys[LD_READ_KEYS];
	size_t n = 0, i, mine = 0;
	bool reserved, holding = false;
	int type, rc;
	char who[96];

	if (wit_pr_read_reservation(c->l, &reserved, &holder, &type, c->err, sizeof(c->err)) < 0 ||
	    wit_pr_read_keys(c->l, keys, LD_READ_KEYS, &n, NULL, c->err, sizeof(c->err)) < 0)
		return ld_fail(LD_FAIL, "%s: cannot give up the reservation (the resource fails offline)", c->err);
	for (i = 0; i < n && i < LD_READ_KEYS; i++)
		mine += keys[i] == o->key;
	if (!(reserved && holder == o->key) && mine == 0) {
		if (reserved)
			ld_say(o, "%s: held by %s, not by us: nothing to give up", name,
			       ld_who(o, holder, who, sizeof(who)));
		else
			ld_say(o, "%s: not reserved and key 0x%" PRIx64 " not registered: nothing to give up",
			       name, o->key);
		return LD_OK;
	}
	/* take our key's reservation and registrations into this session
	 * (PREEMPT K -> K drops the stale ones), release, unregister */
	rc = wit_pr_recover(c->l, o->key, &holding, c->err, sizeof(c->err));
	if (rc == 0 && holding)
		rc = wit_pr_release(c->l, o->key, c->err, sizeof(c->err));
	if (rc == 0)
		rc = wit_pr_unregister(c->l, o->key, c->err, sizeof(c->err));
	if (rc < 0)
		return ld_fail(LD_FAIL, "%s (the resource fails offline)", c->err);
	if (holding)
		ld_say(o, "%s: released (key 0x%" PRIx64 " unregistered)", name, o->key);
	else if (reserved)
		ld_say(o, "%s: held by %s, not by us; our registrations removed", name,
		       ld_who(o, holder, who, sizeof(who)));
	else
		ld_say(o, "%s: not reserved; our registrations removed", name);
	return LD_OK;
}

/* ---- check (health) ---- */

static int ld_check(struct ld_ctx *c)
{
	const struct ld_opts *o = c->o;
	const char *name = wit_lun_name(c->l);
	uint64_t holder;
	bool reserved;
	int type, rc;
	char who[96];

	if (ld_read(c, &reserved, &holder, &type) < 0)
		return LD_FAIL;
	if (reserved && holder == o->key && type == WIT_PR_TYPE_WE) {
		ld_say(o, "%s: reserved by us (key 0x%" PRIx64 ", WRITE EXCLUSIVE)", name, o->key);
		return LD_OK;
	}
	if (!reserved && o->defend) {
		/* nobody holds it (tgt restarted): take it again, never preempt */
		rc = wit_pr_register(c->l, o->key, c->err, sizeof(c->err));
		if (rc == 0)
			rc = wit_pr_reserve(c->l, o->key, c->err, sizeof(c->err));
		if (rc == 0 && ld_read(c, &reserved, &holder, &type) == 0 &&
		    reserved && holder == o->key && type == WIT_PR_TYPE_WE) {
			ld_say(o, "%s: the reservation was gone; reserved again (key 0x%" PRIx64 ", WRITE EXCLUSIVE)",
			       name, o->key);
			return LD_OK;
		}
		(void)wit_pr_unregister(c->l, o->key, who, sizeof(who));
		return ld_fail(LD_FAIL, "LUN %s: reservation lost and could not be taken again: %s", name, c->err);
	}
	if (!reserved)
		return ld_fail(LD_FAIL, "LUN %s: reservation lost: no reservation", name);
	if (holder == o->key)
		return ld_fail(LD_FAIL, "LUN %s: reservation lost: held by our key 0x%" PRIx64 " but with type %s, not WE",
			       name, holder, ld_type_str(type));
	return ld_fail(LD_FAIL, "LUN %s: reservation lost: held by %s", name, ld_who(o, holder, who, sizeof(who)));
}

/* ---- status ---- */

static int ld_status(struct ld_ctx *c)
{
	const struct ld_opts *o = c->o;
	uint64_t holder, keys[LD_READ_KEYS];
	size_t n = 0, i, shown;
	bool reserved;
	int type;
	char hex[24], who[96];

	if (ld_read(c, &reserved, &holder, &type) < 0)
		return LD_FAIL;
	if (wit_pr_read_keys(c->l, keys, LD_READ_KEYS, &n, NULL, c->err, sizeof(c->err)) < 0)
		return ld_fail(LD_FAIL, "%s", c->err);
	shown = n < LD_READ_KEYS ? n : LD_READ_KEYS;
	if (o->json) {
		struct cm_sb sb;
		struct cm_jw w;

		cm_sb_init(&sb);
		cm_jw_init(&w, &sb);
		cm_jw_obj_begin(&w);
		cm_jw_kv_str(&w, "lun", wit_lun_name(c->l));
		cm_jw_kv_bool(&w, "reserved", reserved);
		cm_jw_key(&w, "holder");
		if (reserved) {
			snprintf(hex, sizeof(hex), "0x%" PRIx64, holder);
			cm_jw_str(&w, hex);
		} else {
			cm_jw_null(&w);
		}
		cm_jw_key(&w, "holder_name");
		if (reserved && ld_name(o, holder))
			cm_jw_str(&w, ld_name(o, holder));
		else
			cm_jw_null(&w);
		cm_jw_key(&w, "type");
		if (reserved)
			cm_jw_str(&w, ld_type_str(type));
		else
			cm_jw_null(&w);
		cm_jw_kv_bool(&w, "ours", reserved && o->key && holder == o->key);
		cm_jw_kv_int(&w, "registrations", (int64_t)n);
		cm_jw_key(&w, "keys");
		cm_jw_arr_begin(&w);
		for (i = 0; i < shown; i++) {
			snprintf(hex, sizeof(hex), "0x%" PRIx64, keys[i]);
			cm_jw_str(&w, hex);
		}
		cm_jw_arr_end(&w);
		cm_jw_obj_end(&w);
		printf("%s\n", cm_sb_str(&sb));
		cm_sb_free(&sb);
		return LD_OK;
	}
	if (reserved)
		printf("%s: reserved by %s, type %s\n", wit_lun_name(c->l),
		       ld_who(o, holder, who, sizeof(who)), ld_type_str(type));
	else
		printf("%s: not reserved\n", wit_lun_name(c->l));
	printf("registrations: %zu", n);
	for (i = 0; i < shown; i++)
		printf("%s%s", i ? ", " : " (", ld_who(o, keys[i], who, sizeof(who)));
	printf("%s\n", shown ? ")" : "");
	return LD_OK;
}

/* ---- write-test ---- */

static int ld_write_test(struct ld_ctx *c)
{
	const struct ld_opts *o = c->o;
	unsigned char buf[LD_TEST_BYTES];
	unsigned long long off;
	bool reserved = false, registered = false;
	uint64_t holder = 0;
	int type, rc;
	char *end, tmp[LD_ERR];

	errno = 0;
	off = strtoull(o->offset, &end, 0);
	if (errno != 0 || end == o->offset)
		return ld_fail(LD_USAGE, "clusterd-lun disk write-test: OFFSET '%s' is not a number", o->offset);
	if (*end == 'k' || *end == 'K')
		off <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		off <<= 20, end++;
	if (*end != '\0')
		return ld_fail(LD_USAGE, "clusterd-lun disk write-test: OFFSET '%s' is not a number", o->offset);
	memset(buf, 0, sizeof(buf));
	snprintf((char *)buf, sizeof(buf), "clusterd-lun write-test key 0x%" PRIx64 " time %lld\n",
		 o->key, (long long)time(NULL));
	if (o->key) {
		/* act as the owner's QEMU would: register, and take our key's
		 * reservation into this session if K holds it */
		if (ld_read(c, &reserved, &holder, &type) < 0)
			return LD_FAIL;
		rc = reserved && holder == o->key
			? wit_pr_recover(c->l, o->key, NULL, c->err, sizeof(c->err))
			: wit_pr_register(c->l, o->key, c->err, sizeof(c->err));
		if (rc < 0)
			return ld_fail(LD_FAIL, "%s", c->err);
		registered = !(reserved && holder == o->key);
	}
	rc = wit_lun_write(c->l, off, buf, sizeof(buf), c->err, sizeof(c->err));
	if (registered)
		(void)wit_pr_unregister(c->l, o->key, tmp, sizeof(tmp));
	if (rc == -CM_E_CONFLICT)
		return ld_fail(LD_CONFLICT, "%s", c->err);
	if (rc < 0)
		return ld_fail(LD_FAIL, "%s", c->err);
	ld_say(o, "%s: wrote %d bytes at offset %llu", wit_lun_name(c->l), LD_TEST_BYTES, off);
	return LD_OK;
}

int lun_disk_main(int argc, char **argv)
{
	struct ld_opts o;
	struct ld_ctx c;
	int rc;

	rc = ld_parse_args(argc, argv, &o);
	if (rc >= 0)
		return rc;
	memset(&c, 0, sizeof(c));
	c.o = &o;
	rc = ld_open(&c);
	if (rc != LD_OK)
		return rc;
	if (strcmp(o.sub, "online") == 0)
		rc = ld_online(&c);
	else if (strcmp(o.sub, "offline") == 0)
		rc = ld_offline(&c);
	else if (strcmp(o.sub, "check") == 0)
		rc = ld_check(&c);
	else if (strcmp(o.sub, "status") == 0)
		rc = ld_status(&c);
	else
		rc = ld_write_test(&c);
	wit_lun_close(c.l);
	return rc;
}

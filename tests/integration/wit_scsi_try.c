/* wit_scsi_try.c - exercise wit_scsi against a real iSCSI target.
 *
 * A manual tool, not a unit test: it needs a target (tgt) that it may
 * reserve, preempt and write to. Two handles with different initiator
 * names play nodes A and B. Prints one line per check and exits 1 if any
 * failed. Must never be pointed at a LUN holding data anyone needs: it
 * writes the first blocks.
 *
 * usage: wit_scsi_try [-t SEC] [-n SAMPLES] [--nopr URL] [--unreach URL]...
 *                     [--drop-cmd CMD] [--cut-cmd CMD --heal-cmd CMD] URL
 *   --drop-cmd  shell command that kills node A's connection at the target
 *   --cut-cmd / --heal-cmd  shell commands that make the target silent and
 *               bring it back (e.g. a veth down/up on the target's side)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_err.h"
#include "wit_scsi.h"

#define KEY_A 0xa1a1a1a1a1a1a1a1ULL
#define KEY_B 0xb2b2b2b2b2b2b2b2ULL
#define INIT_A "iqn.2024-01.test.wst:node-a"
#define INIT_B "iqn.2024-01.test.wst:node-b"
#define MAX_UNREACH 8

static int failures;
static char err[512];

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		failures++;
	fflush(stdout);
}

/* "rc (text): sentence" for a failed call, "0" otherwise */
static const char *why(int rc)
{
	static char buf[700];

	if (rc == 0)
		return "0";
	snprintf(buf, sizeof(buf), "%d (%s): %s", rc, cm_strerror(rc), err);
	return buf;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *us, int n, int errors)
{
	qsort(us, (size_t)n, sizeof(*us), cmp_double);
	printf("lat  %-34s n=%d p50=%7.1f us  p90=%7.1f us  p99=%7.1f us  max=%8.1f us%s\n",
	       what, n, us[n / 2], us[n * 9 / 10], us[n * 99 / 100], us[n - 1],
	       errors ? "  (ERRORS)" : "");
	if (errors) {
		failures++;
		printf("FAIL %s: %d errors, last: %s\n", what, errors, err);
	}
}

static int open_node(const char *url, const char *init, int timeout_s,
		     struct wit_lun **l)
{
	struct wit_url u;
	int rc = wit_url_parse(url, &u, err, sizeof(err));

	if (rc == 0)
		rc = wit_lun_open(&u, init, timeout_s, l, err, sizeof(err));
	return rc;
}

static void show_state(struct wit_lun *l, const char *who, uint64_t want_holder,
		       size_t want_nkeys)
{
	uint64_t keys[8], holder = 0;
	size_t n = 0, i;
	uint32_t gen = 0;
	bool reserved = false;
	int type = 0, rc;
	char line[256];
	size_t used = 0;

	rc = wit_pr_read_keys(l, keys, 8, &n, &gen, err, sizeof(err));
	for (i = 0; rc == 0 && i < n && i < 8; i++)
		used += (size_t)snprintf(line + used, sizeof(line) - used, " 0x%" PRIx64, keys[i]);
	line[used] = '\0';
	check(rc == 0 && n == want_nkeys, "%s READ KEYS: gen %" PRIu32 ", %zu keys:%s (want %zu) %s",
	      who, gen, n, line, want_nkeys, rc ? why(rc) : "");
	rc = wit_pr_read_reservation(l, &reserved, &holder, &type, err, sizeof(err));
	check(rc == 0 && (want_holder ? reserved && holder == want_holder && type == WIT_PR_TYPE_WE : !reserved),
	      "%s READ RESERVATION: %s holder 0x%" PRIx64 " type %d (want 0x%" PRIx64 ") %s",
	      who, reserved ? "reserved," : "not reserved,", holder, type, want_holder,
	      rc ? why(rc) : "");
}

static void test_urls(void)
{
	static const char *bad[] = {
		"", "http://198.18.250.1/iqn.2024-01.x:y/1", "iscsi://198.18.250.1",
		"iscsi://198.18.250.1/iqn.2024-01.x:y", "iscsi://198.18.250.1//1",
		"iscsi://198.18.250.1:0/iqn.2024-01.x:y/1",
		"iscsi://198.18.250.1:70000/iqn.2024-01.x:y/1",
		"iscsi://198.18.250.1:32a/iqn.2024-01.x:y/1",
		"iscsi://198.18.250.300/iqn.2024-01.x:y/1",
		"iscsi://bad_host/iqn.2024-01.x:y/1",
		"iscsi://user%pw@198.18.250.1/iqn.2024-01.x:y/1",
		"iscsi://198.18.250.1/target1/1",
		"iscsi://198.18.250.1/iqn.2024-01.x:y/lun1",
		"iscsi://198.18.250.1/iqn.2024-01.x:y/16384",
		"iscsi://198.18.250.1/iqn.2024-01.x:y/1?header_digest=crc32c",
		"iscsi://[fe80::1/iqn.2024-01.x:y/1",
	};
	static const struct { const char *url, *portal, *iqn; int lun; } good[] = {
		{ "iscsi://198.18.250.1/iqn.2024-01.x:y/1", "198.18.250.1:3260", "iqn.2024-01.x:y", 1 },
		{ "ISCSI://san-1.example:3261/iqn.2024-01.x:y.z/0", "san-1.example:3261", "iqn.2024-01.x:y.z", 0 },
		{ "iscsi://[fd00::5]:3260/naa.6001405abcdef/16383", "[fd00::5]:3260", "naa.6001405abcdef", 16383 },
	};
	struct wit_url u;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = wit_url_parse(bad[i], &u, err, sizeof(err));
		check(rc == -CM_E_URL, "bad URL refused: %s", why(rc));
	}
	rc = wit_url_parse(NULL, &u, err, sizeof(err));
	check(rc == -CM_E_URL, "NULL URL refused: %s", why(rc));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		rc = wit_url_parse(good[i].url, &u, err, sizeof(err));
		check(rc == 0 && strcmp(u.portal, good[i].portal) == 0 &&
		      strcmp(u.iqn, good[i].iqn) == 0 && u.lun == good[i].lun,
		      "good URL '%s' -> portal '%s' iqn '%s' lun %d %s", good[i].url,
		      u.portal, u.iqn, u.lun, rc ? why(rc) : "");
	}
}

static void test_unreachable(const char *url, int timeout_s)
{
	struct wit_lun *l = NULL;
	double t0 = now_s(), dt;
	int rc = open_node(url, INIT_A, timeout_s, &l);

	dt = now_s() - t0;
	check(rc == -CM_E_UNREACHABLE && dt < timeout_s + 0.3,
	      "unreachable portal after %.3f s (timeout %d s): %s", dt, timeout_s, why(rc));
	wit_lun_close(l);
}

static void test_nopr(const char *url, int timeout_s)
{
	struct wit_lun *l = NULL;
	int rc = open_node(url, INIT_A, timeout_s, &l);

	check(rc == 0, "open LUN without PR: %s, block %u", why(rc), rc ? 0 : wit_lun_block(l));
	if (rc)
		return;
	rc = wit_pr_caps(l, err, sizeof(err));
	check(rc == -CM_E_NOPR, "caps on LUN without PR: %s", why(rc));
	rc = wit_pr_register(l, KEY_A, err, sizeof(err));
	check(rc == -CM_E_NOPR, "register on LUN without PR: %s", why(rc));
	wit_lun_close(l);
}

/* Wrong IQN and missing LUN, derived from the good URL. */
static void test_wrong_target(const char *url, int timeout_s)
{
	struct wit_url u;
	struct wit_lun *l = NULL;
	char buf[512];
	int rc;

	if (wit_url_parse(url, &u, err, sizeof(err)) != 0)
		return;
	snprintf(buf, sizeof(buf), "iscsi://%s/iqn.2024-01.test.wst:no-such-target/%d", u.portal, u.lun);
	rc = open_node(buf, INIT_A, timeout_s, &l);
	check(rc == -CM_E_UNREACHABLE, "unknown target name: %s", why(rc));
	wit_lun_close(l);
	l = NULL;
	snprintf(buf, sizeof(buf), "iscsi://%s/%s/9", u.portal, u.iqn);
	rc = open_node(buf, INIT_A, timeout_s, &l);
	check(rc == -CM_E_NO_OBJECT, "missing LUN 9: %s", why(rc));
	wit_lun_close(l);
}

static void latencies(struct wit_lun *a, struct wit_lun *b, int n)
{
	double *us = calloc((size_t)n, sizeof(double)), t0;
	unsigned char *buf;
	uint64_t keys[4], holder;
	size_t nk;
	bool reserved;
	int i, errors, rc;

	buf = aligned_alloc(4096, 4096);
	memset(buf, 0x5a, 4096);
#define MEASURE(name, call) do {                                         \
		errors = 0;                                               \
		for (i = 0; i < n; i++) {                                 \
			t0 = now_s();                                     \
			rc = (call);                                      \
			us[i] = (now_s() - t0) * 1e6;                     \
			if (rc)                                           \
				errors++;                                 \
		}                                                         \
		report(name, us, n, errors);                              \
	} while (0)

	MEASURE("REGISTER AND IGNORE (A)", wit_pr_register(a, KEY_A, err, sizeof(err)));
	MEASURE("RESERVE, already held (A)", wit_pr_reserve(a, KEY_A, err, sizeof(err)));
	MEASURE("READ KEYS", wit_pr_read_keys(a, keys, 4, &nk, NULL, err, sizeof(err)));
	MEASURE("READ RESERVATION", wit_pr_read_reservation(a, &reserved, &holder, NULL, err, sizeof(err)));
	MEASURE("READ 4 KiB", wit_lun_read(a, 4096, buf, 4096, err, sizeof(err)));
	MEASURE("WRITE 4 KiB FUA (holder)", wit_lun_write(a, 4096, buf, 4096, err, sizeof(err)));
	MEASURE("WRITE 4 KiB conflict (non-holder)",
		wit_lun_write(b, 4096, buf, 4096, err, sizeof(err)) == -CM_E_CONFLICT ? 0 : -1);

	/* PREEMPT ping-pong: the winner preempts, the loser registers again
	 * (which first eats its unit attention 2A/03). Only PREEMPT is timed. */
	errors = 0;
	for (i = 0; i < n; i++) {
		struct wit_lun *w = i % 2 ? b : a, *v = i % 2 ? a : b;
		uint64_t wk = i % 2 ? KEY_B : KEY_A, vk = i % 2 ? KEY_A : KEY_B;

		t0 = now_s();
		rc = wit_pr_preempt(w, wk, vk, err, sizeof(err));
		us[i] = (now_s() - t0) * 1e6;
		if (rc)
			errors++;
		if (wit_pr_register(v, vk, err, sizeof(err)) != 0)
			errors++;
		(void)wit_lun_take_preempted(v);
	}
	report("PREEMPT (victim re-registers)", us, n, errors);
	/* leave A holding, both registered */
	if (n % 2 == 0) {
		rc = wit_pr_preempt(a, KEY_A, KEY_B, err, sizeof(err));
		if (rc == 0)
			rc = wit_pr_register(b, KEY_B, err, sizeof(err));
		check(rc == 0, "A takes the reservation back: %s", why(rc));
	}
	(void)wit_lun_take_preempted(a);
	(void)wit_lun_take_preempted(b);
	free(buf);
	free(us);
#undef MEASURE
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nopr", required_argument, NULL, 'N' },
		{ "unreach", required_argument, NULL, 'U' },
		{ "drop-cmd", required_argument, NULL, 'D' },
		{ "cut-cmd", required_argument, NULL, 'C' },
		{ "heal-cmd", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *nopr = NULL, *drop = NULL, *cut = NULL, *heal = NULL, *url;
	const char *unreach[MAX_UNREACH];
	int nunreach = 0, timeout_s = 3, samples = 200, opt, rc, i;
	struct wit_lun *a = NULL, *b = NULL;
	struct wit_lun_stats st;
	unsigned char *wbuf, *rbuf;
	bool holding, reserved;
	uint64_t holder;
	size_t nkeys;
	double t0;

	/* libiscsi writes with writev(): a peer that closed would kill us */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "t:n:", opts, NULL)) != -1) {
		switch (opt) {
		case 't': timeout_s = atoi(optarg); break;
		case 'n': samples = atoi(optarg); break;
		case 'N': nopr = optarg; break;
		case 'U': if (nunreach < MAX_UNREACH) unreach[nunreach++] = optarg; break;
		case 'D': drop = optarg; break;
		case 'C': cut = optarg; break;
		case 'H': heal = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-t SEC] [-n SAMPLES] [--nopr URL] [--unreach URL]... [--drop-cmd CMD] [--cut-cmd CMD --heal-cmd CMD] URL\n", argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1 || samples < 2 || (cut && !heal)) {
		fprintf(stderr, "%s: need exactly one URL (and --heal-cmd with --cut-cmd)\n", argv[0]);
		return 2;
	}
	url = argv[optind];

	test_urls();

	/* 1. two nodes */
	t0 = now_s();
	rc = open_node(url, INIT_A, timeout_s, &a);
	check(rc == 0, "open A (%.1f ms): %s", (now_s() - t0) * 1e3, why(rc));
	if (rc)
		return 1;
	rc = open_node(url, INIT_B, timeout_s, &b);
	check(rc == 0, "open B: %s", why(rc));
	if (rc)
		return 1;
	printf("info %s: %" PRIu64 " bytes, block %" PRIu32 "\n", wit_lun_name(a),
	       wit_lun_bytes(a), wit_lun_block(a));
	wit_lun_get_stats(a, &st);
	printf("info A after open: %u unit attentions, last %02x/%02x (%s)\n",
	       st.unit_attentions, st.last_ua >> 8, st.last_ua & 0xff, wit_ua_str(st.last_ua));
	rc = wit_pr_caps(a, err, sizeof(err));
	check(rc == 0, "caps: %s", why(rc));

	wbuf = aligned_alloc(4096, 8192);
	rbuf = aligned_alloc(4096, 8192);
	memset(wbuf, 'A', 8192);
	rc = wit_lun_read(a, 100, rbuf, 512, err, sizeof(err));
	check(rc == -EINVAL, "misaligned read refused: %s", why(rc));
	rc = wit_lun_read(a, wit_lun_bytes(a) - 4096, rbuf, 8192, err, sizeof(err));
	check(rc == -CM_E_SMALL, "read beyond the end refused: %s", why(rc));

	/* 2. register, reserve with A */
	rc = wit_pr_register(a, KEY_A, err, sizeof(err));
	check(rc == 0, "A registers 0x%llx: %s", (unsigned long long)KEY_A, why(rc));
	rc = wit_pr_register(b, KEY_B, err, sizeof(err));
	check(rc == 0, "B registers 0x%llx: %s", (unsigned long long)KEY_B, why(rc));
	rc = wit_pr_reserve(a, KEY_A, err, sizeof(err));
	check(rc == 0, "A reserves: %s", why(rc));
	rc = wit_pr_reserve(a, KEY_A, err, sizeof(err));
	check(rc == 0, "A reserves again (idempotent): %s", why(rc));
	rc = wit_pr_reserve(b, KEY_B, err, sizeof(err));
	check(rc == -CM_E_CONFLICT, "B's reserve conflicts: %s", why(rc));
	rc = wit_lun_write(a, 0, wbuf, 8192, err, sizeof(err));
	check(rc == 0, "A writes 8 KiB: %s", why(rc));
	memset(wbuf, 'B', 8192);
	rc = wit_lun_write(b, 0, wbuf, 8192, err, sizeof(err));
	check(rc == -CM_E_CONFLICT, "B's write conflicts (WE): %s", why(rc));
	rc = wit_lun_read(b, 0, rbuf, 8192, err, sizeof(err));
	check(rc == 0 && rbuf[0] == 'A' && rbuf[8191] == 'A', "B reads A's data: %s", why(rc));
	{
		/* more than one command's worth (1 MiB): exercises chunking */
		size_t big = 3 * 1024 * 1024 + 4096, k;
		unsigned char *w3 = malloc(big), *r3 = malloc(big);

		for (k = 0; k < big; k++)
			w3[k] = (unsigned char)(k * 7 + k / 4096);
		t0 = now_s();
		rc = wit_lun_write(a, 8 << 20, w3, big, err, sizeof(err));
		check(rc == 0, "A writes %zu bytes (%.1f ms): %s", big, (now_s() - t0) * 1e3, why(rc));
		t0 = now_s();
		rc = wit_lun_read(b, 8 << 20, r3, big, err, sizeof(err));
		check(rc == 0 && memcmp(w3, r3, big) == 0, "B reads them back identical (%.1f ms): %s",
		      (now_s() - t0) * 1e3, why(rc));
		free(w3);
		free(r3);
	}
	show_state(b, "B sees", KEY_A, 2);

	/* 3. B preempts A */
	rc = wit_pr_preempt(b, KEY_B, KEY_A, err, sizeof(err));
	check(rc == 0, "B preempts A: %s", why(rc));
	check(!wit_lun_take_preempted(a), "A has not noticed yet (no command since)");
	memset(wbuf, 'a', 8192);
	rc = wit_lun_write(a, 0, wbuf, 4096, err, sizeof(err));
	check(rc == -CM_E_CONFLICT, "A's write conflicts: %s", why(rc));
	check(wit_lun_take_preempted(a), "A saw the preempted flag");
	check(!wit_lun_take_preempted(a), "the flag is reported once");
	wit_lun_get_stats(a, &st);
	printf("info A: %u unit attentions, last %02x/%02x (%s)\n", st.unit_attentions,
	       st.last_ua >> 8, st.last_ua & 0xff, wit_ua_str(st.last_ua));
	show_state(a, "A sees", KEY_B, 1);
	memset(wbuf, 'B', 8192);
	rc = wit_lun_write(b, 0, wbuf, 4096, err, sizeof(err));
	check(rc == 0, "B (holder) writes: %s", why(rc));
	rc = wit_pr_preempt(a, KEY_A, KEY_B, err, sizeof(err));
	check(rc == -CM_E_CONFLICT, "A (unregistered) cannot preempt back: %s", why(rc));
	rc = wit_pr_reserve(a, KEY_A, err, sizeof(err));
	check(rc == -CM_E_CONFLICT, "A (unregistered) cannot reserve: %s", why(rc));

	/* 4. reopen A while B holds: recover registers, does not steal */
	wit_lun_close(a);
	a = NULL;
	rc = open_node(url, INIT_A, timeout_s, &a);
	check(rc == 0, "reopen A: %s", why(rc));
	if (rc)
		return 1;
	t0 = now_s();
	rc = wit_pr_recover(a, KEY_A, &holding, err, sizeof(err));
	check(rc == 0 && !holding, "A recovers while B holds (%.0f us): %s, holding %d",
	      (now_s() - t0) * 1e6, why(rc), holding);
	show_state(a, "A sees", KEY_B, 2);

	/* 5. A holds, reopens: the old session keeps the reservation */
	rc = wit_pr_release(b, KEY_B, err, sizeof(err));
	check(rc == 0, "B releases: %s", why(rc));
	rc = wit_pr_reserve(a, KEY_A, err, sizeof(err));
	check(rc == 0, "A reserves: %s", why(rc));
	/* SPC sends 2A/04 to the other registrants; tgt 1.0.85 sends it to
	 * every nexus except them (the releaser included): report, not check */
	wit_lun_get_stats(a, &st);
	printf("info after B's RELEASE: A's flag %d, last UA %02x/%02x (%s)\n",
	       wit_lun_take_preempted(a), st.last_ua >> 8, st.last_ua & 0xff,
	       wit_ua_str(st.last_ua));
	rc = wit_pr_read_reservation(b, &reserved, &holder, NULL, err, sizeof(err));
	wit_lun_get_stats(b, &st);
	printf("info after B's RELEASE: B's flag %d, last UA %02x/%02x (%s)\n",
	       wit_lun_take_preempted(b), st.last_ua >> 8, st.last_ua & 0xff,
	       wit_ua_str(st.last_ua));
	wit_lun_close(a);
	a = NULL;
	rc = open_node(url, INIT_A, timeout_s, &a);
	check(rc == 0, "reopen A: %s", why(rc));
	if (rc)
		return 1;
	rc = wit_lun_write(a, 0, wbuf, 4096, err, sizeof(err));
	check(rc == -CM_E_CONFLICT, "new session of A cannot write (old session holds): %s", why(rc));
	rc = wit_pr_reserve(a, KEY_A, err, sizeof(err));
	check(rc == -CM_E_CONFLICT, "new session of A cannot reserve: %s", why(rc));
	show_state(a, "A sees", KEY_A, 2);
	t0 = now_s();
	rc = wit_pr_recover(a, KEY_A, &holding, err, sizeof(err));
	check(rc == 0 && holding, "A recovers its reservation (%.0f us): %s, holding %d",
	      (now_s() - t0) * 1e6, why(rc), holding);
	rc = wit_lun_write(a, 0, wbuf, 4096, err, sizeof(err));
	check(rc == 0, "A writes again: %s", why(rc));
	show_state(b, "B sees", KEY_A, 2);

	/* 6. session lost inside the handle (target kills the connection) */
	if (drop) {
		rc = system(drop);
		check(rc == 0, "drop command '%s' exit %d", drop, rc);
		rc = wit_lun_write(a, 0, wbuf, 4096, err, sizeof(err));
		check(rc == -CM_E_UNREACHABLE, "A's write after the drop: %s", why(rc));
		check(wit_lun_recovery_due(a) && !wit_lun_take_reconnected(a),
		      "recovery is due at once; not reconnected yet");
		rc = wit_lun_write(a, 0, wbuf, 4096, err, sizeof(err));
		check(rc == -CM_E_PREEMPTED, "A's next write is refused until recovery: %s", why(rc));
		rc = wit_pr_reserve(a, KEY_A, err, sizeof(err));
		check(rc == -CM_E_PREEMPTED, "so is RESERVE: %s", why(rc));
		rc = wit_pr_read_reservation(a, &reserved, &holder, NULL, err, sizeof(err));
		check(rc == 0 && reserved && holder == KEY_A, "READ RESERVATION reconnects, shows key A: %s", why(rc));
		check(wit_lun_take_reconnected(a), "A's reconnected flag is set");
		t0 = now_s();
		rc = wit_pr_recover(a, KEY_A, &holding, err, sizeof(err));
		check(rc == 0 && holding, "A recovers (%.0f us): %s, holding %d",
		      (now_s() - t0) * 1e6, why(rc), holding);
		check(!wit_lun_recovery_due(a), "recovery no longer due");
		rc = wit_lun_write(a, 0, wbuf, 4096, err, sizeof(err));
		check(rc == 0, "A writes after recovery: %s", why(rc));
		show_state(b, "B sees", KEY_A, 2);

		/* a stale registration of a non-holder: recover drops it, takes nothing */
		rc = wit_pr_preempt(b, KEY_B, KEY_A, err, sizeof(err));
		check(rc == 0, "B preempts A: %s", why(rc));
		rc = wit_pr_register(a, KEY_A, err, sizeof(err));
		check(rc == 0 && wit_lun_take_preempted(a), "A registers again (after 2A/03): %s", why(rc));
		rc = system(drop);
		check(rc == 0, "drop command again, exit %d", rc);
		rc = wit_pr_read_keys(a, NULL, 0, &nkeys, NULL, err, sizeof(err));
		check(rc == -CM_E_UNREACHABLE, "A notices the loss: %s", why(rc));
		rc = wit_pr_read_keys(a, NULL, 0, &nkeys, NULL, err, sizeof(err));
		check(rc == 0 && nkeys == 2, "after reconnecting, READ KEYS shows %zu keys (A's old + B): %s", nkeys, why(rc));
		rc = wit_pr_recover(a, KEY_A, &holding, err, sizeof(err));
		check(rc == 0 && !holding, "A recovers, not holding: %s, holding %d", why(rc), holding);
		show_state(b, "B sees", KEY_B, 2);
		rc = wit_pr_preempt(a, KEY_A, KEY_B, err, sizeof(err));
		if (rc == 0)
			rc = wit_pr_register(b, KEY_B, err, sizeof(err));
		check(rc == 0, "A takes the reservation back, B registers again: %s", why(rc));
		(void)wit_lun_take_preempted(a);
		(void)wit_lun_take_preempted(b);
	}

	/* 7. the target goes silent: bounded by the timeout */
	if (cut) {
		rc = system(cut);
		check(rc == 0, "cut command '%s' exit %d", cut, rc);
		t0 = now_s();
		rc = wit_lun_write(a, 0, wbuf, 4096, err, sizeof(err));
		check(rc == -CM_E_TIMEOUT && now_s() - t0 < timeout_s + 0.3,
		      "A's write with a silent target returns after %.3f s: %s", now_s() - t0, why(rc));
		t0 = now_s();
		rc = wit_pr_recover(a, KEY_A, &holding, err, sizeof(err));
		check(rc == -CM_E_UNREACHABLE && now_s() - t0 < timeout_s + 0.3,
		      "recover while silent returns after %.3f s: %s", now_s() - t0, why(rc));
		rc = system(heal);
		check(rc == 0, "heal command '%s' exit %d", heal, rc);
		t0 = now_s();
		rc = wit_pr_recover(a, KEY_A, &holding, err, sizeof(err));
		check(rc == 0 && holding, "A recovers after the heal (%.1f ms): %s, holding %d",
		      (now_s() - t0) * 1e3, why(rc), holding);
		rc = wit_lun_write(a, 0, wbuf, 4096, err, sizeof(err));
		check(rc == 0, "A writes: %s", why(rc));
		/* B's idle session survived the silence: TCP retransmits */
		show_state(b, "B sees", KEY_A, 2);
	}
	wit_lun_get_stats(a, &st);
	printf("info A: %u unit attentions, %u session losses, %u reconnects\n",
	       st.unit_attentions, st.session_losses, st.reconnects);

	/* 8. latencies over the real link */
	latencies(a, b, samples);
	show_state(b, "B sees", KEY_A, 2);

	/* 9. clean up the LUN's PR state */
	rc = wit_pr_release(a, KEY_A, err, sizeof(err));
	check(rc == 0, "A releases: %s", why(rc));
	rc = wit_pr_release(a, KEY_A, err, sizeof(err));
	check(rc == 0, "A releases again (no-op): %s", why(rc));
	rc = wit_pr_unregister(a, KEY_A, err, sizeof(err));
	check(rc == 0, "A unregisters: %s", why(rc));
	rc = wit_pr_unregister(b, KEY_B, err, sizeof(err));
	check(rc == 0, "B unregisters: %s", why(rc));
	show_state(a, "A sees", 0, 0);
	wit_lun_close(a);
	wit_lun_close(b);
	wit_lun_close(NULL);

	/* 10. failures */
	test_wrong_target(url, timeout_s);
	for (i = 0; i < nunreach; i++)
		test_unreachable(unreach[i], timeout_s);
	if (nopr)
		test_nopr(nopr, timeout_s);

	free(wbuf);
	free(rbuf);
	printf("%s: %d failed checks\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}

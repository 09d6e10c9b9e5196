/* bench_csvlock.c - CSV lock and volume-metadata latency from one node's
 * point of view, in-process through clusterd's IPC (no process per op).
 *
 *   bench_csvlock lock COUNT CSV/VOLUME OWNER [START_MS]
 * COUNT acquire+release pairs of the administrative exclusive lock OWNER
 * on CSV/VOLUME (each a replicated write, answered once applied);
 *   bench_csvlock vol COUNT CSV PREFIX SIZE [START_MS]
 * COUNT cycles of volume create PREFIX-i (SIZE bytes) + delete (each a
 * request through the agreed stream, executed by the coordinator on the
 * LUN, answered when its result is applied).
 * START_MS (wall clock, ms since the epoch): wait until then, so that
 * clients on several nodes start together. Prints one line,
 * "lock count N ok N acq_p50_us .. acq_p99_us .. rel_p50_us .. rel_p99_us ..
 *  per_s .. refused .. start_ms .. end_ms .." or "vol count N ok N create_p50_us ..
 *  create_p99_us .. delete_p50_us .. delete_p99_us .. op_p50_us .. op_p99_us ..
 *  ops_per_s .. refused .. start_ms .. end_ms ..", per_s counting pairs,
 * ops_per_s counting each create and each delete, refused the attempts the
 * node's write gate turned away (retried, see timed()). Exit 1 if any
 * request failed otherwise. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "tc_ipc.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* p-th percentile (nearest rank, lower) of n sorted values */
static double pct(const double *v, int n, int p)
{
	int i = (n * p) / 100;

	return v[i < n ? i : n - 1];
}

static void wait_until(long long start_ms)
{
	long long d;

	while ((d = start_ms - wall_ms()) > 0) {
		struct timespec ts = { d / 1000, (d % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
}

/* One timed request. A write that the node's gate refuses before sending
 * anything (no quorum, replicas syncing, not ready: a membership change, or
 * this node distrusting its quorum after its loop did not run for longer
 * than the token) is retried every 20 ms for up to RETRY_S and counted in
 * *refused; the sample is the attempt that was answered. Any other error
 * counts in *bad (the first few are printed). */
#define RETRY_S 20
static double timed(qb_ipcc_connection_t *c, int cmd, const char *const *args, int nargs, int *refused,
		    int *bad)
{
	char text[512] = "";
	double t0, dt, end = now_us() + RETRY_S * 1e6;
	int rc;

	for (;;) {
		t0 = now_us();
		rc = tc_request(c, cmd, args, nargs, text, sizeof(text));
		dt = now_us() - t0;
		if ((rc != -CM_E_NO_QUORUM && rc != -CM_E_SYNCING && rc != -CM_E_NOT_READY) || t0 > end)
			break;
		if ((*refused)++ == 0)
			fprintf(stderr, "bench_csvlock: refused, retrying: %s %s %s: %s (%d)\n", args[0], args[1],
				args[2], text, rc);
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	}
	if (rc != 0 && (*bad)++ < 3)
		fprintf(stderr, "bench_csvlock: %s %s %s: %s (%d)\n", args[0], args[1], args[2], text, rc);
	return dt;
}

int main(int argc, char **argv)
{
	qb_ipcc_connection_t *c;
	bool lock;
	int count, i, bad = 0, ok = 0, refused = 0, start_arg;
	double *a, *b, *all, total;
	long long t_start, t_end;
	char vol[128];

	lock = argc > 1 && !strcmp(argv[1], "lock");
	start_arg = lock ? 5 : 6;
	if (argc < start_arg || argc > start_arg + 1 || (!lock && strcmp(argv[1], "vol")) ||
	    (count = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: bench_csvlock lock COUNT CSV/VOLUME OWNER [START_MS]\n"
				"       bench_csvlock vol COUNT CSV PREFIX SIZE [START_MS]\n");
		return 2;
	}
	c = tc_connect();
	if (c == NULL) {
		fprintf(stderr, "bench_csvlock: cannot connect to clusterd\n");
		return 1;
	}
	a = calloc((size_t)count, sizeof(*a));
	b = calloc((size_t)count, sizeof(*b));
	all = calloc((size_t)count * 2, sizeof(*all));
	if (a == NULL || b == NULL || all == NULL) {
		fprintf(stderr, "bench_csvlock: out of memory\n");
		return 1;
	}
	if (argc > start_arg)
		wait_until(atoll(argv[start_arg]));
	t_start = wall_ms();
	total = now_us();
	for (i = 0; i < count; i++) {
		int bad0 = bad;

		if (lock) {
			const char *acq[] = { argv[3], argv[4], "excl", "" };
			const char *rel[] = { argv[3], argv[4], "excl", "unlock" };

			a[i] = timed(c, CM_CMD_CSV_LOCK, acq, 4, &refused, &bad);
			b[i] = timed(c, CM_CMD_CSV_LOCK, rel, 4, &refused, &bad);
		} else {
			const char *cre[] = { argv[3], "create", vol, argv[5] };
			const char *del[] = { argv[3], "delete", vol, "0" };

			snprintf(vol, sizeof(vol), "%s-%d", argv[4], i);
			a[i] = timed(c, CM_CMD_CSV_VOL, cre, 4, &refused, &bad);
			b[i] = timed(c, CM_CMD_CSV_VOL, del, 4, &refused, &bad);
		}
		ok += bad == bad0;
		all[2 * i] = a[i];
		all[2 * i + 1] = b[i];
	}
	total = now_us() - total;
	t_end = wall_ms();
	qsort(a, (size_t)count, sizeof(*a), cmp_d);
	qsort(b, (size_t)count, sizeof(*b), cmp_d);
	qsort(all, (size_t)count * 2, sizeof(*all), cmp_d);
	if (lock)
		printf("lock count %d ok %d acq_p50_us %.0f acq_p99_us %.0f rel_p50_us %.0f rel_p99_us %.0f"
		       " per_s %.1f refused %d start_ms %lld end_ms %lld\n", count, ok,
		       pct(a, count, 50), pct(a, count, 99), pct(b, count, 50), pct(b, count, 99),
		       count / (total / 1e6), refused, t_start, t_end);
	else
		printf("vol count %d ok %d create_p50_us %.0f create_p99_us %.0f delete_p50_us %.0f delete_p99_us %.0f"
		       " op_p50_us %.0f op_p99_us %.0f ops_per_s %.1f refused %d start_ms %lld end_ms %lld\n", count,
		       ok, pct(a, count, 50), pct(a, count, 99), pct(b, count, 50),
		       pct(b, count, 99), pct(all, count * 2, 50), pct(all, count * 2, 99),
		       2 * count / (total / 1e6), refused, t_start, t_end);
	free(a);
	free(b);
	free(all);
	qb_ipcc_disconnect(c);
	return bad ? 1 : 0;
}

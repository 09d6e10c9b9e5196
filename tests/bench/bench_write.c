/* bench_write.c - replicated write latency from one node's point of view.
 *
 *   bench_write COUNT PREFIX [OBJECT]
 * sets COUNT properties user.PREFIX-i (on the cluster, or on node OBJECT),
 * one at a time, each acknowledged only once applied from the agreed
 * stream, and prints: "count N ok N p50_us X p99_us Y per_s Z". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_proto.h"
#include "tc_ipc.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	qb_ipcc_connection_t *c;
	int count, i, ok = 0;
	double *lat, t0, total;
	char key[128], val[32], text[512];

	if (argc < 3 || (count = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: bench_write COUNT PREFIX [NODE]\n");
		return 2;
	}
	c = tc_connect();
	if (c == NULL) {
		fprintf(stderr, "bench_write: cannot connect to clusterd\n");
		return 1;
	}
	lat = calloc((size_t)count, sizeof(*lat));
	total = now_us();
	for (i = 0; i < count; i++) {
		const char *args[] = { argc > 3 ? "node" : "cluster", argc > 3 ? argv[3] : "", key, val };

		snprintf(key, sizeof(key), "user.%s-%d", argv[2], i);
		snprintf(val, sizeof(val), "%d", i);
		t0 = now_us();
		if (tc_request(c, CM_CMD_PROP_SET, args, 4, text, sizeof(text)) == 0)
			ok++;
		else if (ok == 0 && i < 3)
			fprintf(stderr, "bench_write: %s\n", text);
		lat[i] = now_us() - t0;
	}
	total = now_us() - total;
	qsort(lat, (size_t)count, sizeof(*lat), cmp_d);
	printf("count %d ok %d p50_us %.0f p99_us %.0f per_s %.1f\n", count, ok, lat[count / 2],
	       lat[(count * 99) / 100 < count ? (count * 99) / 100 : count - 1], count / (total / 1e6));
	free(lat);
	qb_ipcc_disconnect(c);
	return ok == count ? 0 : 1;
}

/* clussim.c - the cluster simulator (tests/sim/README.md).
 *
 *   clussim SCENARIO...          run scenario scripts
 *   clussim --replay FILE        run res_step once on an input saved by clusterd
 *   clussim --fuzz FILE          mangle a saved input every way: refused or planned
 *   clussim --scale NODES GROUPS lose a node of a generated cluster, time it
 *
 * The policy core is the real one; only its surroundings are fake.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cm_err.h"
#include "cm_json.h"
#include "cm_str.h"
#include "res_io.h"
#include "sim.h"

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct cm_sb sb;
	char buf[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	cm_sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		cm_sb_add(&sb, buf, n);
	fclose(f);
	*len = sb.len;
	return cm_sb_steal(&sb);
}

static int replay(const char *path)
{
	struct res_model *m = NULL;
	struct res_event ev;
	struct res_plan p = { 0 };
	struct cm_sb sb;
	struct cm_jv *jv;
	uint32_t *blk = NULL;
	char err[512], *text;
	size_t len = 0, i;
	int rc;

	text = slurp(path, &len);
	if (text == NULL) {
		printf("replay %s: cannot read: %s\n", base(path), strerror(errno));
		return 1;
	}
	rc = res_input_from_json(text, len, &m, &ev, &blk, err, sizeof(err));
	free(text);
	if (rc < 0) {
		printf("replay %s: refused (%s): %s\n", base(path), cm_strerror(rc), err);
		return 1;
	}
	printf("replay %s: %zu nodes, %zu groups, %zu resources; event %s\n", base(path), m->nnodes,
	       m->ngroups, m->nres, res_ev_to_str(ev.type));
	rc = res_step(m, &ev, &p);
	for (i = 0; i < p.nnotes; i++)
		printf("  note %s: %s\n", p.notes[i].object, p.notes[i].text);
	for (i = 0; i < p.nactions; i++)
		printf("  do %u %s %s gen %llu%s: %s\n", p.actions[i].node, res_op_to_str(p.actions[i].op),
		       p.actions[i].op == RES_OP_FENCE ? "node" :
		       p.actions[i].res >= 0 && (size_t)p.actions[i].res < m->nres ? m->res[p.actions[i].res].name : "?",
		       (unsigned long long)p.actions[i].gen, "", p.actions[i].reason);
	cm_sb_init(&sb);
	res_plan_to_json(m, &p, &sb);
	jv = cm_jv_parse(cm_sb_str(&sb), NULL, 0);
	cm_sb_reset(&sb);
	if (jv)
		cm_jv_print(jv, &sb, 2);
	printf("plan: %s\n", cm_sb_str(&sb));
	cm_jv_free(jv);
	cm_sb_free(&sb);
	res_plan_free(&p);
	res_model_free(m);
	free(blk);
	return rc < 0;
}

/* ---- --fuzz: bad input never crashes the reader or the core ---- */

static const char fuzz_bytes[] = "\"}]0x -\\9{[,:";

static int fuzz_one(const char *text, size_t len, int *accepted)
{
	struct res_model *m = NULL;
	struct res_event ev;
	struct res_plan p = { 0 };
	uint32_t *blk = NULL;
	char err[256];
	int rc = res_input_from_json(text, len, &m, &ev, &blk, err, sizeof(err));

	if (rc == 0) {
		(*accepted)++;
		if (res_step(m, &ev, &p) < 0 && p.rc != -ENOMEM)
			rc = 1;         /* only -ENOMEM is a failure of the core */
	} else if (err[0] == '\0' || m != NULL || blk != NULL) {
		rc = 1;                 /* refused without a sentence, or leaked */
	} else {
		rc = 0;
	}
	res_plan_free(&p);
	res_model_free(m);
	free(blk);
	return rc == 1;
}

/* Every prefix of the input and every byte replaced by a few JSON
 * metacharacters: each must be refused with a sentence or planned on. */
static int fuzz(const char *path)
{
	size_t len = 0, i, k, n = 0;
	char *text = slurp(path, &len), *copy;
	int accepted = 0, bad = 0;

	if (text == NULL || (copy = malloc(len + 1)) == NULL) {
		printf("fuzz %s: cannot read\n", base(path));
		free(text);
		return 1;
	}
	for (i = 0; i < len; i++) {
		bad += fuzz_one(text, i, &accepted);
		n++;
		for (k = 0; k < sizeof(fuzz_bytes) - 1; k++) {
			if (text[i] == fuzz_bytes[k])
				continue;
			memcpy(copy, text, len);
			copy[i] = fuzz_bytes[k];
			bad += fuzz_one(copy, len, &accepted);
			n++;
		}
	}
	printf("fuzz %s: %zu variants, %d planned, %zu refused with a reason, %d bad\n", base(path), n,
	       accepted, n - (size_t)accepted - (size_t)bad, bad);
	free(copy);
	free(text);
	return bad != 0;
}

/* ---- --scale ---- */

#define SCALE_GROUP_MB 512

static int scale_cfg(struct sim_cfg *c, int nodes, int groups)
{
	char name[RES_NAME_MAX], a[RES_NAME_MAX], b[RES_NAME_MAX], opt[256];
	int64_t per = (groups + nodes - 1) / nodes;
	int i, rc = 0;

	sim_cfg_init(c, nodes);
	/* room for its own share twice over: a lost node's groups always fit */
	for (i = 1; i <= nodes && rc == 0; i++) {
		snprintf(opt, sizeof(opt), "node %d memory %lld", i, (long long)((2 * per + 2) * SCALE_GROUP_MB));
		rc = sim_cfg_add_opt(c, opt, 0);
	}
	for (i = 0; i < groups && rc == 0; i++) {
		snprintf(name, sizeof(name), "g%06d", i);
		snprintf(a, sizeof(a), "g%06d-a", i);
		snprintf(b, sizeof(b), "g%06d-b", i);
		if ((rc = sim_cfg_add_group(c, name)) < 0 || (rc = sim_cfg_add_res(c, a, "process", name)) < 0 ||
		    (rc = sim_cfg_add_res(c, b, "process", name)) < 0)
			break;
		cm_strlcpy(c->res[c->nres - 2].deps[0], b, RES_NAME_MAX);
		c->res[c->nres - 2].ndeps = 1;
		snprintf(opt, sizeof(opt), "%s preferred %d", name, i % nodes + 1);
		if ((rc = sim_cfg_add_opt(c, opt, 0)) < 0)
			break;
		snprintf(opt, sizeof(opt), "%s memory %d", a, SCALE_GROUP_MB / 2);
		if ((rc = sim_cfg_add_opt(c, opt, 0)) < 0)
			break;
		snprintf(opt, sizeof(opt), "%s memory %d", b, SCALE_GROUP_MB / 2);
		rc = sim_cfg_add_opt(c, opt, 0);
	}
	return rc;
}

/* Every group Online, none on a node that is down; returns the failures. */
static int scale_verify(struct sim_world *w, const char *when)
{
	const struct res_model *m = w->nodes[0].m;
	size_t g;
	int bad = 0;
	uint32_t at;

	for (g = 0; g < m->ngroups; g++) {
		at = res_group_active_node(m, (int)g);
		if (res_group_state(m, (int)g) != RES_G_ONLINE || at == 0 || !sim_node(w, at)->alive) {
			if (bad++ < 5)
				printf("%s: group '%s' is %s on %u\n", when, m->groups[g].name,
				       res_gstate_to_str(res_group_state(m, (int)g)), at);
		}
	}
	sim_check_replica(w, m);
	return bad + (w->failed ? 1 : 0);
}

static int scale(int nodes, int groups)
{
	struct sim_cfg c;
	struct sim_world *w;
	char err[256];
	uint32_t *was;
	size_t g;
	int bad, moved = 0, lost = 0;
	double boot_ms, build_ms;
	struct timespec t0, t1;

	if (scale_cfg(&c, nodes, groups) < 0) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	w = sim_world_new(&c, true, stdout, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	build_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (w == NULL) {
		fprintf(stderr, "%s\n", err);
		sim_cfg_free(&c);
		return 1;
	}
	for (g = 0; g < w->ngroups; g++)
		w->nodes[0].m->groups[g].want_online = true;    /* configured online */
	sim_world_boot(w, &c);
	boot_ms = w->step_ms_view;
	sim_run(w, SIM_SETTLE_CAP_MS, true);
	bad = scale_verify(w, "after start");
	was = calloc(w->ngroups + 1, sizeof(*was));
	for (g = 0; was && g < w->ngroups; g++)
		if ((was[g] = res_group_active_node(w->nodes[0].m, (int)g)) == 1)
			lost++;
	sim_kill(w, 1);
	sim_run(w, SIM_SETTLE_CAP_MS, true);
	bad += scale_verify(w, "after the loss of node 1");
	for (g = 0; was && g < w->ngroups; g++)
		if (was[g] == 1 && res_group_active_node(w->nodes[0].m, (int)g) != 1)
			moved++;
	printf("SCALE nodes=%d groups=%d build_ms=%.0f start_plan_ms=%.1f loss_plan_ms=%.1f recover_plan_ms=%.1f "
	       "moved=%d lost=%d fenced=%s invariants=%s\n", nodes, groups, build_ms, boot_ms, w->step_ms_view,
	       w->step_ms_fence, moved, lost, w->nodes[0].fenced ? "yes" : "no", bad ? "VIOLATED" : "ok");
	bad += moved != lost || !w->nodes[0].fenced;
	free(was);
	sim_world_free(w);
	sim_cfg_free(&c);
	return bad ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: clussim SCENARIO...\n"
		"       clussim --replay FILE\n"
		"       clussim --fuzz FILE\n"
		"       clussim --scale NODES GROUPS\n");
}

int main(int argc, char **argv)
{
	int i, rc = 0;

	if (argc < 2) {
		usage();
		return 2;
	}
	if (strcmp(argv[1], "--replay") == 0) {
		if (argc != 3) {
			usage();
			return 2;
		}
		return replay(argv[2]);
	}
	if (strcmp(argv[1], "--fuzz") == 0) {
		if (argc != 3) {
			usage();
			return 2;
		}
		return fuzz(argv[2]);
	}
	if (strcmp(argv[1], "--scale") == 0) {
		long long nodes = 0, groups = 0;

		if (argc != 4 || sim_parse_int(argv[2], 3, SIM_MAX_NODES, &nodes) ||
		    sim_parse_int(argv[3], 1, 1000000, &groups)) {
			fprintf(stderr, "clussim --scale NODES (3-%d) GROUPS (1-1000000)\n", SIM_MAX_NODES);
			return 2;
		}
		return scale((int)nodes, (int)groups);
	}
	for (i = 1; i < argc; i++) {
		if (argc > 2)
			printf("== %s\n", base(argv[i]));
		rc |= sim_script_run(argv[i], stdout);
	}
	return rc;
}

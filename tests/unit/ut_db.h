/* ut_db.h - helpers for unit tests that need a replica on disk. */
#ifndef UT_DB_H
#define UT_DB_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cd_db.h"

/* A fresh temporary path under TMPDIR; removed (with -wal/-shm) by ut_rm. */
static inline void ut_tmp_path(char *buf, size_t len)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd;

	snprintf(buf, len, "%s/cm-ut-XXXXXX", dir);
	fd = mkstemp(buf);
	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(buf);
}

static inline void ut_rm(const char *path)
{
	char p[512];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static inline struct cd_db *ut_db_open(const char *path)
{
	struct cd_db *db = NULL;
	char err[256];

	ck_assert_msg(cd_db_open(path, &db, err, sizeof(err)) == 0, "open: %s", err);
	return db;
}

/* Seed a 3-node cluster "demo" (n1..n3). */
static inline void ut_db_seed(struct cd_db *db, size_t nnodes)
{
	struct cd_db_cluster c = { "demo", "0123456789abcdef0123456789abcdef", 1700000000000 };
	struct cd_db_node nodes[8];
	char err[256];
	size_t i;

	memset(nodes, 0, sizeof(nodes));
	for (i = 0; i < nnodes && i < 8; i++) {
		nodes[i].id = (uint32_t)(i + 1);
		snprintf(nodes[i].name, sizeof(nodes[i].name), "n%zu", i + 1);
		snprintf(nodes[i].addr, sizeof(nodes[i].addr), "198.18.0.%zu", i + 1);
	}
	ck_assert_msg(cd_db_init_cluster(db, &c, nodes, nnodes, err, sizeof(err)) == 0, "seed: %s", err);
}

#ifdef UT_DB_WRITES
#include "cm_proto.h"
#include "res_core.h"

/* The writes' clock: each write is 10 ms after the previous one. */
static uint64_t ut_db_now = 1700000100000ull;

/* Apply w as sent by node sender (node "n1" names it in the log). */
static int ut_db_apply(struct cd_db *db, struct cm_msg *w, uint32_t sender, char *err, size_t len)
{
	w->time_ms = ut_db_now += 10;
	w->sender = sender;
	return cd_db_apply(db, w, "n1", err, len);
}

/* The executor's result for res (gen from the model), as its node sends it;
 * extra ints follow (a migration's figures), text is the result's line. */
static int ut_db_result(struct cd_db *db, const char *res, enum res_op op, bool ok, const int64_t *extra, int nextra,
			const char *text)
{
	const struct res_model *m = cd_db_model(db);
	int ri = res_resource_find(m, res), i;
	struct cm_msg w;
	char err[512];

	ck_assert_int_ge(ri, 0);
	cm_msg_init(&w, CM_MSG_WRITE);
	cm_msg_add_int(&w, CM_OP_RES_RESULT);
	cm_msg_add_int(&w, (int64_t)m->res[ri].gen);
	cm_msg_add_int(&w, op);
	cm_msg_add_int(&w, ok);
	for (i = 0; i < nextra; i++)
		cm_msg_add_int(&w, extra[i]);
	cm_msg_add_str(&w, res);
	cm_msg_add_str(&w, ok ? text : "no");
	return ut_db_apply(db, &w, m->res[ri].node, err, sizeof(err));
}
#endif

#endif

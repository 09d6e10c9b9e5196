/* cd_db.c - open, migrate, version, hash, image and replace the replica.
 * Runs on clusterd's main loop: every statement here is local and small. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_str.h"
#include "cd_db_int.h"

/* Migration i brings user_version from i to i + 1. Append only. */
static const char *const migrations[] = {
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES('epoch', 0), ('seq', 0);"
	"CREATE TABLE cluster(id INTEGER PRIMARY KEY CHECK (id = 1), name TEXT NOT NULL,"
	"  uuid TEXT NOT NULL, created_ms INTEGER NOT NULL);"
	"CREATE TABLE nodes(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	"  addr TEXT NOT NULL, paused INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE groups(name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);"
	"CREATE TABLE resources(name TEXT PRIMARY KEY, grp TEXT NOT NULL REFERENCES groups(name),"
	"  type TEXT NOT NULL, created_ms INTEGER NOT NULL);"
	"CREATE TABLE properties(kind INTEGER NOT NULL, obj TEXT NOT NULL, key TEXT NOT NULL,"
	"  type TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(kind, obj, key));"
	"CREATE TABLE dependencies(resource TEXT NOT NULL REFERENCES resources(name),"
	"  depends_on TEXT NOT NULL REFERENCES resources(name), kind TEXT NOT NULL DEFAULT 'and',"
	"  PRIMARY KEY(resource, depends_on));"
	"CREATE TABLE events(id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, node TEXT NOT NULL,"
	"  severity TEXT NOT NULL, kind TEXT NOT NULL, object TEXT NOT NULL, text TEXT NOT NULL);"
	"CREATE INDEX events_time ON events(time_ms);",
	/* 2: runtime state of the policy core (resources/res_core.h) */
	"CREATE TABLE res_rt(name TEXT PRIMARY KEY, state TEXT NOT NULL, node INTEGER NOT NULL,"
	"  gen INTEGER NOT NULL, flags INTEGER NOT NULL, restarts TEXT NOT NULL, reason TEXT NOT NULL);"
	"CREATE TABLE group_rt(name TEXT PRIMARY KEY, want_online INTEGER NOT NULL, owner INTEGER NOT NULL,"
	"  move_to INTEGER NOT NULL, flags INTEGER NOT NULL, failovers TEXT NOT NULL, reason TEXT NOT NULL);"
	"CREATE TABLE node_rt(id INTEGER PRIMARY KEY, member INTEGER NOT NULL, draining INTEGER NOT NULL,"
	"  fence TEXT NOT NULL, fencer INTEGER NOT NULL, fence_since_ms INTEGER NOT NULL,"
	"  fence_retry_ms INTEGER NOT NULL, fence_attempts INTEGER NOT NULL, down_seen INTEGER NOT NULL);",
	/* 3: virtual machines (issue 5) */
	"ALTER TABLE group_rt ADD COLUMN mig TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE vm_xml(res TEXT PRIMARY KEY, xml TEXT NOT NULL);"
	"CREATE TABLE vm_once(vm TEXT PRIMARY KEY, offline_action TEXT NOT NULL);"
	"CREATE TABLE vm_jobs(id INTEGER PRIMARY KEY, vm TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,"
	"  from_node TEXT NOT NULL, to_node TEXT NOT NULL, started_ms INTEGER NOT NULL, ended_ms INTEGER NOT NULL,"
	"  total_ms INTEGER NOT NULL, downtime_ms INTEGER NOT NULL, data_total INTEGER NOT NULL,"
	"  data_processed INTEGER NOT NULL, data_remaining INTEGER NOT NULL, text TEXT NOT NULL,"
	"  snap TEXT NOT NULL, arg TEXT NOT NULL);"
	"CREATE INDEX vm_jobs_vm ON vm_jobs(vm, state);"
	"CREATE TABLE vm_snaps(vm TEXT NOT NULL, name TEXT NOT NULL, internal TEXT NOT NULL, parent TEXT NOT NULL,"
	"  created_ms INTEGER NOT NULL, vm_state TEXT NOT NULL, xml TEXT NOT NULL, PRIMARY KEY(vm, name));"
	"CREATE TABLE vm_current(vm TEXT PRIMARY KEY, snap TEXT NOT NULL);"
	"CREATE TABLE node_facts(node TEXT PRIMARY KEY, networks TEXT NOT NULL, bridges TEXT NOT NULL,"
	"  kvm INTEGER NOT NULL);",
	/* 4: cluster shared volumes (storage issue) */
	"CREATE TABLE csvs(name TEXT PRIMARY KEY, url TEXT NOT NULL UNIQUE, lun_bytes INTEGER NOT NULL,"
	"  data_off INTEGER NOT NULL, data_end INTEGER NOT NULL, table_gen INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL);"
	"CREATE TABLE csv_vols(csv TEXT NOT NULL, name TEXT NOT NULL, off INTEGER NOT NULL, size INTEGER NOT NULL,"
	"  gen INTEGER NOT NULL, created_ms INTEGER NOT NULL, flags INTEGER NOT NULL, PRIMARY KEY(csv, name));"
	"CREATE TABLE csv_locks(vol TEXT NOT NULL, node INTEGER NOT NULL, owner TEXT NOT NULL, mode TEXT NOT NULL,"
	"  since_ms INTEGER NOT NULL, PRIMARY KEY(vol, node, owner));"
	"CREATE TABLE csv_reqs(seq INTEGER PRIMARY KEY, id INTEGER NOT NULL UNIQUE, csv TEXT NOT NULL,"
	"  op TEXT NOT NULL, vol TEXT NOT NULL, size INTEGER NOT NULL, node TEXT NOT NULL, actor TEXT NOT NULL,"
	"  state TEXT NOT NULL, text TEXT NOT NULL, created_ms INTEGER NOT NULL, done_ms INTEGER NOT NULL);"
	"CREATE TABLE csv_paths(csv TEXT NOT NULL, node TEXT NOT NULL, ok INTEGER NOT NULL, since_ms INTEGER NOT NULL,"
	"  text TEXT NOT NULL, PRIMARY KEY(csv, node));",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Tables in hash order, each with a total order of its rows. */
static const char *const hash_queries[] = {
	"SELECT key, value FROM meta ORDER BY key",
	"SELECT id, name, uuid, created_ms FROM cluster ORDER BY id",
	"SELECT id, name, addr, paused FROM nodes ORDER BY id",
	"SELECT name, created_ms FROM groups ORDER BY name",
	"SELECT name, grp, type, created_ms FROM resources ORDER BY name",
	"SELECT kind, obj, key, type, value FROM properties ORDER BY kind, obj, key",
	"SELECT resource, depends_on, kind FROM dependencies ORDER BY resource, depends_on",
	"SELECT id, time_ms, node, severity, kind, object, text FROM events ORDER BY id",
	"SELECT name, state, node, gen, flags, restarts, reason FROM res_rt ORDER BY name",
	"SELECT name, want_online, owner, move_to, flags, failovers, reason, mig FROM group_rt ORDER BY name",
	"SELECT res, xml FROM vm_xml ORDER BY res",
	"SELECT vm, offline_action FROM vm_once ORDER BY vm",
	"SELECT * FROM vm_jobs ORDER BY id",
	"SELECT vm, name, internal, parent, created_ms, vm_state, xml FROM vm_snaps ORDER BY vm, name",
	"SELECT vm, snap FROM vm_current ORDER BY vm",
	"SELECT node, networks, bridges, kvm FROM node_facts ORDER BY node",
	"SELECT * FROM csvs ORDER BY name",
	"SELECT * FROM csv_vols ORDER BY csv, name",
	"SELECT * FROM csv_locks ORDER BY vol, node, owner",
	"SELECT * FROM csv_reqs ORDER BY seq",
	"SELECT * FROM csv_paths ORDER BY csv, node",
	"SELECT id, member, draining, fence, fencer, fence_since_ms, fence_retry_ms, fence_attempts,"
	" down_seen FROM node_rt ORDER BY id",
};

void cd_db_errmsg(struct cd_db *db, const char *what, char *err, size_t errlen)
{
	if (err)
		snprintf(err, errlen, "%s: %s", what, db && db->h ? sqlite3_errmsg(db->h) : "no database");
}

int cd_db_exec(struct cd_db *db, const char *sql, int nbind, const char *const *binds)
{
	sqlite3_stmt *st = NULL;
	int i, rc;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	for (i = 0; i < nbind; i++)
		sqlite3_bind_text(st, i + 1, binds[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -CM_E_DB;
}

int cd_db_meta_get_int(struct cd_db *db, const char *key, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc = -CM_E_DB;

	*v = 0;
	if (sqlite3_prepare_v2(db->h, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int cd_db_meta_set_int(struct cd_db *db, const char *key, int64_t v)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db->h, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return -CM_E_DB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -CM_E_DB;
}

static int db_user_version(struct cd_db *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Bring the schema up to CD_DB_SCHEMA_VERSION, each step in a transaction. */
static int db_migrate(struct cd_db *db, char *err, size_t errlen)
{
	int v = db_user_version(db);
	char sql[64];

	if (v < 0) {
		cd_db_errmsg(db, "cannot read the schema version", err, errlen);
		return -CM_E_DB;
	}
	if (v > N_MIGRATIONS) {
		snprintf(err, errlen,
			 "the database has schema version %d, newer than this clusterd understands (%d)",
			 v, N_MIGRATIONS);
		return -CM_E_DB;
	}
	for (; v < N_MIGRATIONS; v++) {
		char *msg = NULL;

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_exec(db->h, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db->h, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "schema migration %d -> %d failed: %s", v, v + 1,
				 msg ? msg : sqlite3_errmsg(db->h));
			sqlite3_free(msg);
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
			return -CM_E_DB;
		}
	}
	return 0;
}

int cd_db_open(const char *path, struct cd_db **out, char *err, size_t errlen)
{
	struct cd_db *db;
	int rc;

	*out = NULL;
	db = calloc(1, sizeof(*db));
	if (db == NULL || (db->path = strdup(path)) == NULL) {
		free(db);
		return -ENOMEM;
	}
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open the cluster database '%s': %s", path,
			 db->h ? sqlite3_errmsg(db->h) : "out of memory");
		cd_db_close(db);
		return -CM_E_DB;
	}
	sqlite3_busy_timeout(db->h, 2000);
	/* FULL: a write acknowledged to a client survives power loss too. */
	if (sqlite3_exec(db->h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot set up the cluster database '%s': %s", path,
			 sqlite3_errmsg(db->h));
		cd_db_close(db);
		return -CM_E_DB;
	}
	rc = db_migrate(db, err, errlen);
	if (rc < 0) {
		cd_db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void cd_db_close(struct cd_db *db)
{
	if (db == NULL)
		return;
	cd_db_engine_reset(db);
	res_plan_free(&db->plan);
	cm_sb_free(&db->input);
	free(db->view);
	if (db->h)
		sqlite3_close_v2(db->h);
	free(db->path);
	free(db);
}

int cd_db_init_cluster(struct cd_db *db, const struct cd_db_cluster *c,
		       const struct cd_db_node *nodes, size_t n, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	size_t i;

	if (cd_db_has_cluster(db)) {
		snprintf(err, errlen, "the database already holds cluster data");
		return -CM_E_EXISTS;
	}
	if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db->h, "INSERT INTO cluster(id, name, uuid, created_ms) VALUES(1, ?, ?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->uuid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c->created_ms);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db->h, "INSERT INTO nodes(id, name, addr) VALUES(?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, nodes[i].id);
		sqlite3_bind_text(st, 2, nodes[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, nodes[i].addr, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (cd_db_meta_set_int(db, "epoch", 1) < 0 || cd_db_meta_set_int(db, "seq", 0) < 0 ||
	    sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	cd_db_errmsg(db, "cannot initialise the cluster database", err, errlen);
	sqlite3_finalize(st);
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	return -CM_E_DB;
}

void cd_db_version(struct cd_db *db, int64_t *epoch, int64_t *seq)
{
	cd_db_meta_get_int(db, "epoch", epoch);
	cd_db_meta_get_int(db, "seq", seq);
}

bool cd_db_has_cluster(struct cd_db *db)
{
	sqlite3_stmt *st = NULL;
	bool has = false;

	if (sqlite3_prepare_v2(db->h, "SELECT 1 FROM cluster", -1, &st, NULL) != SQLITE_OK)
		return false;
	has = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return has;
}

int cd_db_set_epoch(struct cd_db *db, int64_t epoch)
{
	return cd_db_meta_set_int(db, "epoch", epoch);
}

uint64_t cd_db_hash(struct cd_db *db)
{
	uint64_t h = CM_HASH_INIT;
	size_t q;

	for (q = 0; q < sizeof(hash_queries) / sizeof(hash_queries[0]); q++) {
		sqlite3_stmt *st = NULL;

		h = cm_hash64(h, "|T", 2);
		if (sqlite3_prepare_v2(db->h, hash_queries[q], -1, &st, NULL) != SQLITE_OK)
			continue;
		while (sqlite3_step(st) == SQLITE_ROW) {
			int c, nc = sqlite3_column_count(st);

			for (c = 0; c < nc; c++) {
				const unsigned char *t = sqlite3_column_text(st, c);
				int len = sqlite3_column_bytes(st, c);

				h = cm_hash64(h, t ? (const void *)t : "", t ? (size_t)len : 0);
				h = cm_hash64(h, "\x1f", 1);
			}
			h = cm_hash64(h, "\x1e", 1);
		}
		sqlite3_finalize(st);
	}
	return h;
}

int cd_db_image(struct cd_db *db, unsigned char **buf, size_t *len)
{
	sqlite3_int64 sz = 0;

	*buf = sqlite3_serialize(db->h, "main", &sz, 0);
	if (*buf == NULL)
		return -CM_E_DB;
	*len = (size_t)sz;
	return 0;
}

void cd_db_image_free(unsigned char *buf)
{
	sqlite3_free(buf);
}

int cd_db_replace(struct cd_db *db, const void *buf, size_t len, char *err, size_t errlen)
{
	sqlite3 *mem = NULL;
	sqlite3_backup *bk = NULL;
	unsigned char *copy;
	int rc = -CM_E_DB, v;

	if (len < 100 || memcmp(buf, "SQLite format 3", 16) != 0) {
		snprintf(err, errlen, "the transferred database image is not an sqlite database");
		return -CM_E_PROTO;
	}
	copy = sqlite3_malloc64(len);
	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, buf, len);
	/* A WAL-mode image cannot be opened from memory: mark it rollback-mode. */
	copy[18] = 1;
	copy[19] = 1;
	if (sqlite3_open(":memory:", &mem) != SQLITE_OK ||
	    sqlite3_deserialize(mem, "main", copy, (sqlite3_int64)len, (sqlite3_int64)len,
				SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
		snprintf(err, errlen, "cannot read the transferred database image: %s",
			 mem ? sqlite3_errmsg(mem) : "out of memory");
		if (mem == NULL)
			sqlite3_free(copy);
		goto out;
	}
	if (sqlite3_exec(mem, "PRAGMA quick_check", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "the transferred database image is corrupt");
		goto out;
	}
	bk = sqlite3_backup_init(db->h, "main", mem, "main");
	if (bk == NULL || sqlite3_backup_step(bk, -1) != SQLITE_DONE) {
		cd_db_errmsg(db, "cannot store the transferred database", err, errlen);
		goto out;
	}
	rc = 0;
out:
	if (bk)
		sqlite3_backup_finish(bk);
	if (mem)
		sqlite3_close(mem);
	cd_db_engine_reset(db);
	if (rc == 0) {
		sqlite3_exec(db->h, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
		v = db_user_version(db);
		if (v < N_MIGRATIONS)
			rc = db_migrate(db, err, errlen);
		else if (v > N_MIGRATIONS) {
			snprintf(err, errlen, "the transferred database has a newer schema (%d) than this clusterd (%d)",
				 v, N_MIGRATIONS);
			rc = -CM_E_DB;
		}
	}
	return rc;
}

bool cd_db_row(struct cd_db *db, const char *sql, const char *a, const char *b, char *out, size_t len)
{
	sqlite3_stmt *st = NULL;
	bool found;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (found && out)
		cm_strlcpy(out, sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "", len);
	sqlite3_finalize(st);
	return found;
}

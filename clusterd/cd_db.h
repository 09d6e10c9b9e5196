/* cd_db.h - the local replica of the cluster database (sqlite, WAL).
 *
 * Owns every SQL statement of the project. The replica carries (epoch,
 * sequence): sequence counts applied writes, epoch counts synchronised
 * quorate views. Writes arrive only through cd_db_apply(), in the order the
 * replicated stream delivers them; nothing else changes the content except
 * cd_db_replace() (a transfer from the newest replica) and cd_db_set_epoch().
 */
#ifndef CD_DB_H
#define CD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm_json.h"
#include "cm_prop.h"
#include "cm_wire.h"

#define CD_DB_SCHEMA_VERSION 1

struct cd_db;

struct cd_db_node {
	uint32_t id;
	char name[CM_NAME_MAX];
	char addr[64];
	bool paused;
};

struct cd_db_cluster {
	char name[CM_NAME_MAX];
	char uuid[40];
	int64_t created_ms;
};

/* Open (creating and migrating as needed). */
int cd_db_open(const char *path, struct cd_db **out, char *err, size_t errlen);
void cd_db_close(struct cd_db *db);

/* Seed a new database with a cluster and its nodes (epoch 1, sequence 0). */
int cd_db_init_cluster(struct cd_db *db, const struct cd_db_cluster *c,
		       const struct cd_db_node *nodes, size_t n, char *err, size_t errlen);

void cd_db_version(struct cd_db *db, int64_t *epoch, int64_t *seq);
bool cd_db_has_cluster(struct cd_db *db);
int cd_db_set_epoch(struct cd_db *db, int64_t epoch);
/* Hash of the whole content, (epoch, sequence) included. */
uint64_t cd_db_hash(struct cd_db *db);

/* Image of the database for a transfer; free with cd_db_image_free(). */
int cd_db_image(struct cd_db *db, unsigned char **buf, size_t *len);
void cd_db_image_free(unsigned char *buf);
/* Replace the whole content with an image from cd_db_image(). All or nothing. */
int cd_db_replace(struct cd_db *db, const void *buf, size_t len, char *err, size_t errlen);

/* Apply one replicated write (CM_MSG_WRITE). node is the sender's name for
 * the event log. On success the sequence is incremented in the same
 * transaction. A refused write changes nothing and returns -CM_E_* with a
 * sentence in err; every replica refuses it the same way. */
int cd_db_apply(struct cd_db *db, const struct cm_msg *w, const char *node,
		char *err, size_t errlen);

/* Queries. */
int cd_db_cluster_get(struct cd_db *db, struct cd_db_cluster *c);
int cd_db_nodes(struct cd_db *db, struct cd_db_node **nodes, size_t *n);
int cd_db_node_by_name(struct cd_db *db, const char *name, struct cd_db_node *node);
/* Value of a property, its default if unset; -CM_E_PROP if unknown. */
int cd_db_prop_get(struct cd_db *db, enum cm_obj_kind kind, const char *obj,
		   const char *key, char *value, size_t len, bool *is_set);
/* {"name":..,"value":..,"type":..,"default":..,"set":..,"readonly":..,"help":..} per property */
int cd_db_props_json(struct cd_db *db, enum cm_obj_kind kind, const char *obj,
		     struct cm_jw *w);
/* Events with id > after_id and time >= since_ms, oldest first, at most limit
 * (the newest ones if more match). */
int cd_db_events_json(struct cd_db *db, int64_t after_id, int64_t since_ms,
		      int64_t limit, struct cm_jw *w);

#endif

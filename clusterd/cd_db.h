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

#define CD_DB_SCHEMA_VERSION 2

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

/* ---- the policy core on the replica (cd_db_res.c) ----
 * Every applied write runs one step of the policy core (resources/res_core.h)
 * in the same transaction: now_ms is the write's time, the members are the
 * view set with cd_db_set_view(). Runtime changes are stored in res_rt,
 * group_rt and node_rt and the notes in the event log. */
struct res_model;
struct res_plan;
/* The view the next writes are applied in (sorted member ids). */
int cd_db_set_view(struct cd_db *db, const uint32_t *members, size_t n);
/* Keep the policy input of each step that planned actions (for replay). */
void cd_db_keep_inputs(struct cd_db *db, bool on);
/* The model (loaded on demand) and the plan of the last applied write;
 * *serial counts applied steps so a caller handles each plan once.
 * input is the JSON policy input of that step when kept and it had actions. */
const struct res_model *cd_db_model(struct cd_db *db);
const struct res_plan *cd_db_last_plan(struct cd_db *db, uint64_t *serial, const char **input);
/* Forget the cached model (the content changed outside cd_db_apply). */
void cd_db_engine_reset(struct cd_db *db);
/* JSON of groups/resources for cluadmin (formats in cli/cli_res.c). */
int cd_db_groups_json(struct cd_db *db, struct cm_jw *w);
int cd_db_group_json(struct cd_db *db, const char *name, struct cm_jw *w, char *err, size_t errlen);
int cd_db_resources_json(struct cd_db *db, const char *group, struct cm_jw *w, char *err, size_t errlen);
int cd_db_resource_json(struct cd_db *db, const char *name, struct cm_jw *w, char *err, size_t errlen);
/* Per node: "draining", "fence_state", "groups" members of an open object. */
int cd_db_node_rt_json(struct cd_db *db, uint32_t id, struct cm_jw *w);

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

/* cd_db_vm.c, cd_db_vm_query.c: virtual machines */
bool cd_db_vm_exists(struct cd_db *db, const char *vm);
/* malloc'd texts, NULL when there is none */
char *cd_db_vm_xml(struct cd_db *db, const char *cfg_res);
char *cd_db_vm_once(struct cd_db *db, const char *vm);
char *cd_db_vm_snap_xml(struct cd_db *db, const char *vm, const char *snap);
char *cd_db_node_networks(struct cd_db *db, const char *node);   /* "nets\nbridges" (comma lists) */
struct cd_db_job {
	int64_t id;
	char vm[CM_NAME_MAX], kind[40], snap[256], arg[256];
};
int cd_db_vm_jobs_running(struct cd_db *db, struct cd_db_job *jobs, size_t max, size_t *n);
int cd_db_vm_job_json(struct cd_db *db, int64_t id, struct cm_jw *w, char *err, size_t errlen);
int cd_db_vm_list_json(struct cd_db *db, struct cm_jw *w);
int cd_db_vm_show_json(struct cd_db *db, const char *vm, struct cm_jw *w, char *err, size_t errlen);
int cd_db_vm_snaps_json(struct cd_db *db, const char *vm, struct cm_jw *w, char *err, size_t errlen);

/* cd_db_csv.c, cd_db_csv_query.c: cluster shared volumes */
#define CD_CSV_NAME_MAX 15              /* "csv/volume" fits a lock's 63 bytes */
#define CD_CSV_VOL_MAX 47
#define CD_CSV_ADMIN_OWNER "admin:"     /* lock owners taken by an administrator */
void cd_db_csv_group(const char *csv, char *buf, size_t len);      /* "csv-NAME" */
int cd_db_csv_name_check(const char *what, const char *name, size_t max, char *err, size_t errlen);
uint32_t cd_db_csv_coordinator(struct cd_db *db, const char *csv); /* node id or 0 */
struct cd_db_csv {
	char name[CD_CSV_NAME_MAX + 1];
	char url[600];
	int64_t lun_bytes, data_off, data_end, table_gen;
};
int cd_db_csv_get(struct cd_db *db, const char *name, struct cd_db_csv *c);  /* 0, -CM_E_NO_OBJECT */
int cd_db_csvs(struct cd_db *db, struct cd_db_csv **v, size_t *n);           /* caller frees *v */
/* The lowest pending volume request of csv: 1 found, 0 none. */
struct cd_db_csv_req {
	int64_t id, size, created_ms;
	char op[16], vol[64];
};
int cd_db_csv_next_req(struct cd_db *db, const char *csv, struct cd_db_csv_req *r);
/* A request's state ("pending", "done", "failed"; 0) and text, or -CM_E_NO_OBJECT. */
int cd_db_csv_req_state(struct cd_db *db, int64_t id, char *state, size_t slen, char *text, size_t tlen);
/* A volume's place on the LUN: 0 or -CM_E_NO_OBJECT. */
int cd_db_csv_vol(struct cd_db *db, const char *csv, const char *vol, uint64_t *off, uint64_t *size);
/* When a volume was created (ms; -1 if it does not exist): tells one
 * volume from a later one of the same name at the same place. */
int64_t cd_db_csv_vol_created(struct cd_db *db, const char *csv, const char *vol);
/* The CSV holding a volume named vol (the first, by name). */
bool cd_db_csv_vol_csv(struct cd_db *db, const char *vol, char *csv, size_t len);
/* The mirror of csv's table as text, as the coordinator sends it (malloc'd, NULL if none). */
char *cd_db_csv_table_text(struct cd_db *db, const char *csv);
/* Whether owner holds (exclusively, or at all) every volume of the comma list on node. */
bool cd_db_csv_holds(struct cd_db *db, uint32_t node, const char *owner, const char *vols);
/* Whether node has not reported a lost path to csv's LUN. */
bool cd_db_csv_path_ok(struct cd_db *db, const char *csv, const char *node);
int cd_db_csv_list_json(struct cd_db *db, struct cm_jw *w);
int cd_db_csv_show_json(struct cd_db *db, const char *name, struct cm_jw *w, char *err, size_t errlen);
int cd_db_csv_locks_json(struct cd_db *db, const char *name, struct cm_jw *w, char *err, size_t errlen);
#endif

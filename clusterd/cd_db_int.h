/* cd_db_int.h - internals shared by the cd_db_*.c files only. */
#ifndef CD_DB_INT_H
#define CD_DB_INT_H

#include <sqlite3.h>

#include "cd_db.h"
#include "cm_str.h"
#include "res_core.h"

struct cd_db {
	sqlite3 *h;
	char *path;
	/* the policy core (cd_db_res.c) */
	struct res_model *model;     /* NULL: load from the tables at the next step */
	struct res_plan plan;
	uint64_t plan_serial;
	uint32_t *view;
	size_t nview;
	bool keep_inputs;
	bool input_ready;
	struct cm_sb input;
};

/* Whether sql (bound to a, and b unless NULL) yields a row; its first column
 * is copied to out when out is not NULL. */
bool cd_db_row(struct cd_db *db, const char *sql, const char *a, const char *b, char *out, size_t len);
/* Run one statement with optional text bindings; -CM_E_DB on failure. */
int cd_db_exec(struct cd_db *db, const char *sql, int nbind, const char *const *binds);
int cd_db_meta_get_int(struct cd_db *db, const char *key, int64_t *v);
int cd_db_meta_set_int(struct cd_db *db, const char *key, int64_t v);
void cd_db_errmsg(struct cd_db *db, const char *what, char *err, size_t errlen);
int cd_db_add_event(struct cd_db *db, int64_t time_ms, const char *node, const char *severity,
		    const char *kind, const char *object, const char *text);
/* cd_db_res.c: apply a group/resource write; run the step after any write. */
int cd_db_res_apply(struct cd_db *db, const struct cm_msg *w, const char *node, char *err, size_t errlen);
/* A group/resource write made of strs, applied as part of parent (a VM or
 * CSV write that creates or deletes several objects at once). */
int cd_db_sub_apply(struct cd_db *db, const struct cm_msg *parent, const char *node, int op,
		    const char *const *strs, int n, char *err, size_t errlen);
int cd_db_res_step(struct cd_db *db, const struct cm_msg *w, const char *node, char *err, size_t errlen);
/* cd_db_vm.c: the virtual machine writes, and the jobs after each step. */
int cd_db_vm_apply(struct cd_db *db, const struct cm_msg *w, const char *node, char *err, size_t errlen);
int cd_db_vm_after_step(struct cd_db *db, const struct cm_msg *w);
/* cd_db_csv.c: the cluster shared volume writes, and the lock sweep after each step. */
int cd_db_csv_apply(struct cd_db *db, const struct cm_msg *w, const char *node, char *err, size_t errlen);
int cd_db_csv_after_step(struct cd_db *db, const struct cm_msg *w, const char *node);
/* Whether url's LUN is already the witness, a CSV or another physical disk
 * (except_res may be NULL): 0 or -CM_E_EXISTS with a sentence. */
int cd_db_lun_in_use(struct cd_db *db, const char *url, const char *except_res, char *err, size_t errlen);
/* Record a volume request as part of another write (a VM's state volume). */
int cd_db_csv_request(struct cd_db *db, const struct cm_msg *w, const char *node, int64_t id, const char *csv,
		      const char *op, const char *vol, int64_t size, const char *actor, char *err, size_t errlen);
/* Node names in a comma list must exist: 0 or -CM_E_NO_OBJECT with a sentence. */
int cd_db_check_node_list(struct cd_db *db, const char *list, char *err, size_t errlen);

#endif

/* cd_db_int.h - internals shared by the cd_db_*.c files only. */
#ifndef CD_DB_INT_H
#define CD_DB_INT_H

#include <sqlite3.h>

#include "cd_db.h"

struct cd_db {
	sqlite3 *h;
	char *path;
};

/* Run one statement with optional text bindings; -CM_E_DB on failure. */
int cd_db_exec(struct cd_db *db, const char *sql, int nbind, const char *const *binds);
int cd_db_meta_get_int(struct cd_db *db, const char *key, int64_t *v);
int cd_db_meta_set_int(struct cd_db *db, const char *key, int64_t v);
void cd_db_errmsg(struct cd_db *db, const char *what, char *err, size_t errlen);

#endif

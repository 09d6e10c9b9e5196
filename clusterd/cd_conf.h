/* cd_conf.h - clusterd.conf: node-local settings (never replicated).
 *
 * Format: one `key = value` per line, '#' starts a comment. Unknown keys and
 * malformed lines are errors naming the line. Keys:
 *   state_dir    directory of cluster.db and blackbox dumps
 *   log_file     the log file (info and up; debug with debug = yes)
 *   syslog       yes|no: notice and up to syslog (default yes)
 *   debug        yes|no
 *   admin_group  group whose members may use cluadmin besides root (haclient)
 *   write_timeout_ms  how long a client waits for a replicated write (15000)
 *   initiator_iqn  this node's iSCSI initiator name for the witness
 *                (default iqn.2026-11.org.clusterd:NODENAME)
 */
#ifndef CD_CONF_H
#define CD_CONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct cd_conf {
	char state_dir[PATH_MAX];
	char log_file[PATH_MAX];
	char admin_group[64];
	bool syslog;
	bool debug;
	int write_timeout_ms;
	char initiator_iqn[224];
	char libvirt_uri[512];      /* {addr}: this node's address */
};

void cd_conf_defaults(struct cd_conf *c);
/* Parse text (pure). Returns 0 or -CM_E_CONF with a sentence in err. */
int cd_conf_parse(struct cd_conf *c, const char *text, char *err, size_t errlen);
/* Read and parse a file; a missing file is an error only if required. */
int cd_conf_load(struct cd_conf *c, const char *path, bool required, char *err, size_t errlen);
/* Path of the database inside state_dir. */
void cd_conf_db_path(const struct cd_conf *c, char *buf, size_t len);

#endif

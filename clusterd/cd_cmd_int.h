/* cd_cmd_int.h - what the command files (cd_cmd.c, cd_cmd_res.c) share: one
 * request and the helpers that answer it. */
#ifndef CD_CMD_INT_H
#define CD_CMD_INT_H

#include "cd_daemon.h"
#include "cm_json.h"

#define ERRLEN 512

struct req {
	struct cd *cd;
	qb_ipcs_connection_t *c;
	const struct cd_client *cl;
	const struct cm_msg *m;
	struct cm_sb out;
	struct cm_jw w;
};

int cd_req_err(struct req *r, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cd_req_json(struct req *r);
const char *cd_req_arg(struct req *r, unsigned i);
/* Common gate of every write: a ready, quorate member; replies when not. */
int cd_req_can_write(struct req *r);
/* Send a write; the reply goes out once it is applied. */
void cd_req_submit(struct req *r, struct cm_msg *w);

/* cd_cmd_csv.c */
void cd_cmd_csv(struct req *r, int64_t cmd);

/* cd_cmd_vm.c */
void cd_cmd_vm(struct req *r, int64_t cmd);

/* cd_cmd_res.c */
void cd_cmd_res(struct req *r, int64_t cmd);
/* A group or resource named by a property command: 0, or replied. */
int cd_req_need_res_object(struct req *r, int kind, const char *obj);
/* "groups", "fencing", "fencing_pending" members of the status object. */
void cd_status_groups_json(struct req *r);

#endif

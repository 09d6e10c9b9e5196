/* cd_witness_cmd.c - `cluadmin witness init`: check a LUN and write an
 * empty witness layout on it. Runs in a job thread (storage I/O); refuses a
 * malformed URL, an unreachable portal, a target without persistent
 * reservations, a LUN too small, and data it does not recognise (unless
 * forced), each with a sentence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_json.h"
#include "cm_str.h"
#include "cd_daemon.h"
#include "wit_layout.h"
#include "wit_scsi.h"

struct init_arg {
	char url[512];
	char initiator[224];
	char uuid[40];
	char name[CM_NAME_MAX];
	bool force;
	int timeout_s;
	uint64_t now_ms;
};

static int init_job(void *data, char *out, size_t outlen)
{
	struct init_arg *a = data;
	unsigned char *zero = NULL, blk[WIT_BLOCK];
	struct wit_header h;
	struct wit_lun *lun = NULL;
	struct wit_url u;
	char err[512];
	int rc;

	rc = wit_url_parse(a->url, &u, err, sizeof(err));
	if (rc == 0)
		rc = wit_lun_open(&u, a->initiator, a->timeout_s, &lun, err, sizeof(err));
	if (rc == 0)
		rc = wit_pr_caps(lun, err, sizeof(err));
	if (rc == 0)
		rc = wit_header_init(&h, a->uuid, a->name, wit_lun_bytes(lun), a->now_ms, err, sizeof(err));
	if (rc == 0 && wit_lun_block(lun) > WIT_BLOCK) {
		snprintf(err, sizeof(err), "the LUN has %u-byte blocks; the witness needs blocks of at most %u bytes",
			 wit_lun_block(lun), WIT_BLOCK);
		rc = -CM_E_IO;
	}
	if (rc == 0)
		rc = wit_lun_read(lun, 0, blk, WIT_BLOCK, err, sizeof(err));
	if (rc == 0)
		rc = wit_init_check(blk, a->uuid, a->force, err, sizeof(err));
	/* empty slots and copy headers, then the header last */
	if (rc == 0 && (zero = calloc(1, (size_t)WIT_MAX_SLOTS * WIT_BLOCK)) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = wit_lun_write(lun, h.slots_off, zero, (size_t)WIT_MAX_SLOTS * WIT_BLOCK, err, sizeof(err));
	if (rc == 0)
		rc = wit_lun_write(lun, h.copy_off[0], zero, WIT_BLOCK, err, sizeof(err));
	if (rc == 0)
		rc = wit_lun_write(lun, h.copy_off[1], zero, WIT_BLOCK, err, sizeof(err));
	if (rc == 0) {
		wit_header_encode(&h, blk);
		rc = wit_lun_write(lun, 0, blk, WIT_BLOCK, err, sizeof(err));
	}
	if (rc < 0) {
		snprintf(out, outlen, "cannot initialise the witness: %s", err[0] ? err : cm_strerror(rc));
	} else {
		struct cm_sb sb;
		struct cm_jw w;

		cm_sb_init(&sb);
		cm_jw_init(&w, &sb);
		cm_jw_obj_begin(&w);
		cm_jw_kv_str(&w, "url", a->url);
		cm_jw_kv_int(&w, "lun_bytes", (int64_t)h.lun_bytes);
		cm_jw_kv_int(&w, "slots", h.max_slots);
		cm_jw_kv_int(&w, "copy_capacity_bytes", (int64_t)wit_copy_capacity(&h));
		cm_jw_obj_end(&w);
		cm_strlcpy(out, cm_sb_str(&sb), outlen);
		cm_sb_free(&sb);
	}
	free(zero);
	wit_lun_close(lun);
	return rc;
}

int cd_witness_init(struct cd *cd, qb_ipcs_connection_t *c, const char *url, bool force, char *err, size_t errlen)
{
	struct init_arg *a = calloc(1, sizeof(*a));
	struct cd_db_cluster cl;
	struct wit_url u;
	int rc;

	if (a == NULL)
		return -ENOMEM;
	rc = wit_url_parse(url, &u, err, errlen);
	if (rc == 0 && (rc = cd_db_cluster_get(cd->db, &cl)) < 0)
		snprintf(err, errlen, "this node holds no cluster database yet");
	if (rc < 0) {
		free(a);
		return rc;
	}
	cm_strlcpy(a->url, url, sizeof(a->url));
	cd_quorum_initiator(cd, a->initiator, sizeof(a->initiator));
	cm_strlcpy(a->uuid, cl.uuid, sizeof(a->uuid));
	cm_strlcpy(a->name, cl.name, sizeof(a->name));
	a->force = force;
	{
		struct quo_timeouts t = cd->tmo;

		if (t.io_timeout_ms == 0) /* before the first connection to corosync */
			quo_timeouts_derive(&t);
		a->timeout_s = (int)(t.io_timeout_ms + 999) / 1000 * 3;
	}
	a->now_ms = cd_wall_ms();
	return cd_job_start(cd, c, init_job, a);
}

/* cd_daemon.h - the state of one clusterd process, owned by its main loop.
 *
 * One qb_loop thread owns everything here; adapters (CPG, votequorum/cmap,
 * IPC) only translate between their library and these fields. */
#ifndef CD_DAEMON_H
#define CD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <qb/qbipcs.h>
#include <qb/qbloop.h>
#include <corosync/cpg.h>
#include <corosync/cmap.h>
#include <corosync/votequorum.h>

#include "cd_conf.h"
#include "cm_json.h"
#include "quo_calc.h"
#include "quo_timeouts.h"
#include "wit_worker.h"
#include "cd_db.h"
#include "cd_repl.h"
#include "cm_wire.h"

/* What this node saw of another node's membership, by local clock. */
struct cd_seen {
	uint32_t id;
	bool member;
	uint64_t since_ms;    /* wall clock of the last change */
};

struct cd_outq {
	struct cd_outq *next;
	size_t len;
	char buf[];
};

struct cd_waiter {
	struct cd_waiter *next;
	uint64_t write_id;
	qb_ipcs_connection_t *conn;
	qb_loop_timer_handle timer;
	struct cd *cd;
	char *ok_json;               /* the reply on success; NULL: {"ok":true} */
};

struct cd {
	struct cd_conf conf;
	qb_loop_t *loop;
	struct cd_db *db;
	struct cd_repl *repl;
	uint32_t my_id;
	uint64_t started_ms;
	int exit_code;               /* main's return: 1 after a fatal loss */

	/* corosync */
	bool connected;
	cpg_handle_t cpg;
	votequorum_handle_t vq;
	cmap_handle_t cmap;
	int connect_attempts;
	struct cd_outq *outq, **outq_tail;
	bool outq_timer_armed;
	uint32_t token_ms;
	uint32_t token_coefficient_ms;
	bool quorate;
	uint32_t votes, expected_votes, quorum_votes;

	struct cd_seen *seen;
	size_t nseen;

	/* quorum and the witness (cd_quorum.c) */
	struct quo_timeouts tmo;
	int quorum_mode;                 /* enum quo_mode in force here; -1 before the first */
	char witness_url[512];
	char witness_error[256];
	struct wit_worker *witness;
	int witness_fd;
	bool qdevice_registered;
	bool casting;
	votequorum_ring_id_t ring_id;
	bool have_ring;
	qb_loop_timer_handle poll_timer, tick_timer, copy_timer;
	bool copy_timer_armed;
	int64_t copy_epoch, copy_seq;    /* last image handed to the witness */
	uint64_t last_tick_ms;
	bool stalled;                    /* we were paused: distrust quorum */
	uint64_t stall_until_ms;
	uint64_t stall_rounds;
	bool had_quorum;                 /* the verdict at the last tick */
	uint64_t quorum_since_ms;        /* wall clock of its last change */
	uint64_t quorum_lost_ms;         /* wall clock of its last loss */

	/* the policy core's plans and their execution (cd_engine.c) */
	struct cd_exec *exec;
	uint64_t plan_serial;            /* last plan handled */
	int64_t wake_ms;                 /* the last plan asked for a tick by then */
	uint64_t tick_sent_ms;
	qb_loop_timer_handle engine_timer;
	unsigned inputs_saved;
	struct { char target[64]; uint64_t attempt; } fence_runs[64];
	struct cd_vm *vm;                /* cd_vm.c */
	struct cd_csv *csv;              /* cd_csv.c */
	char lun_tool[512];              /* clusterd-lun, for the csv and physical-disk types */
	char lun_shim[512];              /* cm_iscsi_pr.so, preloaded by QEMU for physical disks */

	/* IPC */
	qb_ipcs_service_t *ipcs;
	struct cd_waiter *waiters;
};

uint64_t cd_wall_ms(void);

/* cd_corosync.c: corosync CPG, votequorum and cmap */
int cd_corosync_connect(struct cd *cd);
void cd_corosync_disconnect(struct cd *cd);
int cd_cpg_send(struct cd *cd, const void *buf, size_t len);
void cd_vq_refresh(struct cd *cd);  /* re-read votequorum's counts (local IPC) */
extern const struct cd_repl_ops cd_repl_cpg_ops;

/* cd_quorum.c */
void cd_quorum_start(struct cd *cd);
void cd_quorum_stop(struct cd *cd);
void cd_quorum_reconcile(struct cd *cd);
void cd_quorum_changed(struct cd *cd);
void cd_quorum_ring(struct cd *cd, uint32_t nodeid, uint64_t seq);
bool cd_quorum_local(struct cd *cd, bool *witness);
bool cd_quorum_verdict(struct cd *cd, struct quo_result *out);
void cd_quorum_json(struct cd *cd, struct cm_jw *w);
void cd_quorum_initiator(struct cd *cd, char *buf, size_t len);

/* cd_engine.c: executes this node's actions of every plan */
int cd_engine_start(struct cd *cd);
void cd_engine_stop(struct cd *cd);
void cd_engine_db_changed(struct cd *cd);   /* a write applied or a replica taken */
void cd_engine_ready(struct cd *cd);        /* the view became ready */
void cd_engine_quorum_lost(struct cd *cd);  /* stop everything here, now */
void cd_engine_quorum_gained(struct cd *cd); /* run what this node should be running */
/* Send a replicated write made here (a result, a report); logs a failure. */
void cd_engine_send(struct cd *cd, struct cm_msg *w, const char *what);
/* Run the ONLINE of res if it is still pending here with gen (its CSV locks
 * were just granted). */
void cd_engine_run_online(struct cd *cd, const char *res, uint64_t gen);

/* cd_job.c: blocking work in a thread, its answer sent to a client */
typedef int (*cd_job_fn)(void *arg, char *out, size_t outlen);
int cd_job_start(struct cd *cd, qb_ipcs_connection_t *c, cd_job_fn fn, void *arg);
/* The same, but then() runs on the main loop with the answer and must reply
 * on c itself; arg is freed after then(). */
typedef void (*cd_job_then_fn)(struct cd *cd, qb_ipcs_connection_t *c, int rc, const char *out, void *arg);
int cd_job_start_then(struct cd *cd, qb_ipcs_connection_t *c, cd_job_fn fn, void *arg, cd_job_then_fn then);

/* cd_witness_cmd.c: `witness init` as a job; err set when refused at once */
int cd_witness_init(struct cd *cd, qb_ipcs_connection_t *c, const char *url, bool force,
		    char *err, size_t errlen);

/* cd_ipc.c */
int cd_ipc_start(struct cd *cd);
void cd_ipc_stop(struct cd *cd);
void cd_ipc_reply(qb_ipcs_connection_t *c, int rc, const char *text);
/* Wait for write_id to be applied, then reply on c. */
int cd_ipc_wait_write(struct cd *cd, qb_ipcs_connection_t *c, uint64_t write_id);
/* The same, answering ok_json (copied) once applied. */
int cd_ipc_wait_write_reply(struct cd *cd, qb_ipcs_connection_t *c, uint64_t write_id, const char *ok_json);
void cd_ipc_write_done(struct cd *cd, uint64_t write_id, int rc, const char *err);

/* cd_cmd.c: one request from an authorised client */
struct cd_client {
	uid_t uid;
	gid_t gid;
	char user[64];
};
void cd_cmd_dispatch(struct cd *cd, qb_ipcs_connection_t *c, const struct cd_client *cl,
		     const struct cm_msg *req);

/* cd_init.c: --init-db */
int cd_init_main(int argc, char **argv);

#endif

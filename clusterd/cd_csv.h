/* cd_csv.h - cluster shared volumes on this node (cd_csv.c): the
 * coordinator role, volume requests, volume locks, csv create. */
#ifndef CD_CSV_H
#define CD_CSV_H

#include <stdbool.h>
#include <stdint.h>

#include "cd_daemon.h"
#include "res_core.h"
#include "res_vmxml.h"

#define CD_CSV_MAX 64                /* CSVs this node may coordinate at once */

int cd_csv_start(struct cd *cd);
void cd_csv_stop(struct cd *cd);
/* After every applied write or replica transfer: coordinator roles, pending
 * volume requests, clients waiting for answers. */
void cd_csv_changed(struct cd *cd);
/* One of our writes was applied or refused: true when it was a lock write
 * of ours (then handled here). */
bool cd_csv_write_done(struct cd *cd, uint64_t id, int rc, const char *err);

/* Before the ONLINE of res (gen) on this node: true when it may run now (no
 * CSV volumes, or this node holds their locks for res); false when the locks
 * were asked for (the ONLINE runs once they are granted: cd_engine_run_online,
 * or fails naming the holder). vols: "csv/vol,..." */
bool cd_csv_gate(struct cd *cd, const char *res, uint64_t gen, const char *vols);
/* cluadmin csv lock/unlock: the reply goes to c when the write is applied. */
int cd_csv_admin_lock(struct cd *cd, qb_ipcs_connection_t *c, const char *owner, const char *vols, int mode,
		      bool unlock);
/* Answer c once volume request req is done or failed. */
int cd_csv_wait_request(struct cd *cd, qb_ipcs_connection_t *c, int64_t req);
/* Format url as CSV name in a thread, then create it (one write); c gets the
 * answer. err is set when refused at once. */
int cd_csv_create(struct cd *cd, qb_ipcs_connection_t *c, const char *name, const char *url, bool force,
		  const char *actor, char *err, size_t errlen);

/* The domain XML this node defines: CSV volumes resolved to iSCSI slices,
 * physical disks with the PR shim. malloc'd; NULL with err on failure. */
char *cd_csv_domain_xml(struct cd *cd, const char *xml, char *err, size_t errlen);
/* Room for every "csv/vol," of a VM: its disks and its state volume. */
#define CD_CSV_VOLS_MAX ((CD_CSV_NAME_MAX + CD_CSV_VOL_MAX + 2) * (RES_VMXML_MAX_DISKS + 1) + 1)
/* "csv/vol,..." of the VM resource vm's CSV volume disks and its state
 * volume ("" if none); -ENAMETOOLONG rather than a list cut short. */
int cd_csv_vm_vols(struct cd *cd, const char *vm, char *buf, size_t len);
/* Whether VM vm has a state volume (NAME.state on a CSV; its CSV in csv). */
bool cd_csv_state_volume(struct cd *cd, const char *vm, char *csv, size_t len);
/* The vm type's properties for a state volume (state_vol, state_off, ...). */
size_t cd_csv_state_props(struct cd *cd, const char *vm, char **out, size_t max);
/* Properties the csv and physical-disk types need ("key=value", malloc'd),
 * added before the stored ones; returns how many. */
size_t cd_csv_props(struct cd *cd, const struct res_resource *r, char **out, size_t max);
/* Where clusterd-lun and the PR shim are: next to clusterd (installed) or in
 * the build tree (csv/, resources/). */
void cd_csv_find_tools(struct cd *cd);
/* A node's SCSI-3 PR key on physical disks. */
uint64_t cd_csv_disk_key(const char *cluster_uuid, uint32_t node);

#endif

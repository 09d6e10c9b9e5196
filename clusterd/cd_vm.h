/* cd_vm.h - clusterd's side of virtual machines: the hypervisor hub on the
 * main loop, lifecycle events turned into results, what the vm types need
 * from the database, migration progress, snapshots, node facts. */
#ifndef CD_VM_H
#define CD_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cd_daemon.h"
#include "res_core.h"

struct cd_vm;

int cd_vm_start(struct cd *cd);
void cd_vm_stop(struct cd *cd);
/* libvirt's own parser (the test driver, in process): 0 or -CM_E_VALUE. */
int cd_vm_validate_xml(struct cd *cd, const char *xml, char *err, size_t len);
/* Extra "key=value" properties of a vm or vm-config resource (malloc'd,
 * freed by the caller); returns how many. */
size_t cd_vm_props(struct cd *cd, const struct res_resource *r, char **out, size_t max);
/* The hypervisor URI of a peer for migration (cluster property migration_uri). */
int cd_vm_peer_uri(struct cd *cd, uint32_t node, char *buf, size_t len);
/* A MIGRATE action started here (progress reports) or a CANCEL. */
void cd_vm_migration_started(struct cd *cd, const char *res);
void cd_vm_cancel(struct cd *cd, const char *res);
/* After each applied write: snapshot jobs this node must run. */
void cd_vm_db_changed(struct cd *cd);
/* The view is ready: report this node's networks and bridges. */
void cd_vm_ready(struct cd *cd);
/* Turn off one VM here now, on the emergency connection (no waiting). */
int cd_vm_destroy(struct cd *cd, const char *vm);
/* Quorum lost: turn off every VM of the cluster that runs here, now. */
int cd_vm_stop_all(struct cd *cd);

#endif

/* vl_cluster.h - what `clusval --cluster` learns from the running cluster:
 * its nodes, the LUNs it uses (witness, CSVs, VMs' physical disks) and its
 * VMs, read from cluadmin's JSON (`node list`, `quorum show`, `csv list`,
 * `vm list`, `vm show NAME`). Pure: the caller runs cluadmin
 * (vl_cluster_run.c) and hands the documents here.
 */
#ifndef VL_CLUSTER_H
#define VL_CLUSTER_H

#include <stddef.h>

#include "vl_checks.h"

#define VL_MAX_CSVS 16
#define VL_MAX_LUNS 32

struct vl_cluster {
	char nodes[VL_MAX_NODES][VL_NAME];
	size_t n_nodes;
	struct { char name[VL_NAME]; char url[600]; } csvs[VL_MAX_CSVS];
	size_t n_csvs;
	char luns[VL_MAX_LUNS][620];       /* "ROLE=URL" for the probes' --lun */
	size_t n_luns;
	char vm_names[256][VL_NAME];       /* from `vm list` */
	size_t n_vm_names;
	struct vl_vm *vms;                 /* from each `vm show` (malloc'd; vl_cluster_free) */
	size_t n_vms;
};

/**
 * Nodes, witness, CSVs and VM names from `cluadmin --json node list`,
 * `quorum show`, `csv list` and `vm list`. c is zeroed first.
 * @return 0, or -CM_E_VALUE with a sentence naming the document
 */
int vl_cluster_base(const char *nodes_json, const char *quorum_json, const char *csv_json,
		    const char *vm_list_json, struct vl_cluster *c, char *err, size_t errlen);

/**
 * Add one VM from `cluadmin --json vm show NAME`: its disks (file paths,
 * CSV volumes with the CSV's LUN, whole iSCSI LUNs, which join c->luns as
 * "disk=URL"), its networks and bridges, memory and current node.
 * @return 0, -CM_E_VALUE (a sentence), -ENOMEM
 */
int vl_cluster_add_vm(struct vl_cluster *c, const char *vm_show_json, char *err, size_t errlen);

/* The file and block paths of every VM's disks, each once: up to max
 * pointers into c; returns how many. */
size_t vl_cluster_files(const struct vl_cluster *c, const char **out, size_t max);

void vl_cluster_free(struct vl_cluster *c);

/**
 * vl_cluster_run.c (I/O): run `CLUADMIN --json ...` on this node and fill c
 * (nodes, LUNs, VMs). cluadmin: its path, NULL for the one next to clusval
 * or on PATH.
 * @return 0, or < 0 with a sentence in err (cluadmin's own when it failed)
 */
int vl_cluster_load(const char *cluadmin, struct vl_cluster *c, char *err, size_t errlen);

#endif

/* vl_checks.h - clusval's tests: pure functions from every node's facts to
 * a verdict per test (Pass, Warning, Fail) with a one-line reason and the
 * details per node. No I/O, no clock (the skew test compares the probes'
 * own clocks, corrected by the round trip the orchestrator measured).
 *
 * Categories (and at least these tests; vl_checks.c has the list):
 *   inventory: cpu-64bit, cpu-virt, kvm, cpu-vendor, cpu-features, memory,
 *              kernel, versions
 *   network:   reachability (every node reaches every other on each link),
 *              latency, links (one link is a warning), mtu, migration-port
 *   storage:   lun-visible (same identity and size everywhere), lun-pr
 *   system:    corosync-conf, authkey, time-skew, services, networks
 *   vms:       (running cluster) vm-storage, vm-networks, vm-memory
 */
#ifndef VL_CHECKS_H
#define VL_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vl_facts.h"

enum vl_status { VL_PASS = 0, VL_WARN = 1, VL_FAIL = 2, VL_SKIP = 3 };

#define VL_MAX_DETAILS 64
#define VL_MAX_NODES 64          /* nodes one run validates (a cluster's maximum) */

struct vl_detail {
	char node[VL_NAME];       /* "" for a cluster-wide line */
	char text[VL_TEXT];
};

struct vl_result {
	char category[16];        /* inventory, network, storage, system, vms */
	char id[32];              /* e.g. "time-skew" */
	char title[80];           /* e.g. "Time skew between nodes" */
	enum vl_status status;
	char reason[VL_TEXT];     /* one line */
	char fix[VL_TEXT];        /* what to do when it warns or fails ("" on pass) */
	struct vl_detail details[VL_MAX_DETAILS];
	size_t n_details;
};

/* Limits the tests use; vl_limits_default() gives the documented ones. */
struct vl_limits {
	int64_t skew_warn_ms, skew_fail_ms;       /* 1000, 5000 (corosync tolerates skew; logs and TLS do not) */
	int64_t rtt_warn_us, rtt_fail_us;         /* 2000, 20000 per link (token 3 s: far above; live migration suffers) */
	uint64_t mem_min_kib;                     /* 2 GiB */
	/* per node: the clock offset estimate the orchestrator measured (its
	 * clock when it received the probe's answer minus half the round trip),
	 * so skew = time_ms - (local send + rtt/2); 0 = none measured */
	const int64_t *clock_ref_ms;
};

#define VL_VM_DISKS 16
#define VL_VM_NETS 16

struct vl_vm_disk {
	char target[16];          /* vda, sdb, ... */
	char kind[8];             /* "file", "block", "csv", "iscsi", "other" */
	char source[VL_PATH];     /* file/block: the path; csv: "CSV/VOLUME"; iscsi: the LUN's URL;
				     other: what the XML names */
	char lun[600];            /* csv: the CSV's LUN ("" unknown CSV) */
};

struct vl_vm_net {
	char name[VL_NAME];
	bool bridge;              /* a Linux bridge, not a libvirt network */
};

struct vl_vm {                             /* a VM of a running cluster (vms category) */
	char name[VL_NAME];
	char owner[VL_NAME];                       /* the node it runs on, "" when it is off */
	uint64_t memory_kib;
	char possible[VL_MAX_LIST][VL_NAME];       /* possible owners ("" list = every node) */
	size_t n_possible;
	struct vl_vm_net nets[VL_VM_NETS];
	size_t n_nets;
	struct vl_vm_disk disks[VL_VM_DISKS];
	size_t n_disks;
};

const char *vl_status_str(enum vl_status s);   /* "Pass", "Warning", "Fail", "Skipped" */

void vl_limits_default(struct vl_limits *l);

/**
 * Run the tests of the listed categories (NULL: all) over facts[0..n).
 * @param[out] out  up to max results, in a fixed order
 * @return how many results were written
 */
size_t vl_run_checks(const struct vl_facts *facts, size_t n, const struct vl_vm *vms, size_t nvms,
		     const struct vl_limits *lim, const char *const *categories, size_t ncat,
		     struct vl_result *out, size_t max);

/* Whether a CPU flag (as /proc/cpuinfo names it) is one live migration
 * cares about: the probe reports these in cpu_flags, cpu-features compares
 * them (flags outside the list are ignored). */
bool vl_cpu_flag_is_migration(const char *flag);

/* The worst status of results (the run's exit status is 0/1/2 for Pass/Warning/Fail). */
enum vl_status vl_worst(const struct vl_result *r, size_t n);

#endif

/* vl_facts.h - what clusval's probe learns about one node, as plain data.
 *
 * The probe (`clusval probe --json`, vl_probe.c) fills one struct vl_facts
 * on the node it runs on and prints it as JSON (vl_facts_to_json); the
 * orchestrator reads each node's JSON back (vl_facts_from_json) and hands
 * the array to the pure checks (vl_checks.h). Every field has a "known"
 * flag or an empty value for "not found": a check says "unknown" rather
 * than guessing.
 *
 * Pure: no I/O here (the codec uses common/cm_json only).
 */
#ifndef VL_FACTS_H
#define VL_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cm_json.h"
#include "cm_str.h"

#define VL_NAME 64
#define VL_TEXT 256
#define VL_MAX_LIST 64        /* networks, bridges, interfaces, peers, LUNs, flags per node */
#define VL_FLAG 24
#define VL_PATH 512
#define VL_MAX_FILES 64       /* VM files (disks and their backing files) per node */

struct vl_iface {
	char name[VL_NAME];
	char addr[64];            /* IPv4 or IPv6 literal, without prefix */
	unsigned mtu;
	bool up;
};

/* What this node saw of a peer's address (one corosync link). */
struct vl_peer {
	char node[VL_NAME];
	char addr[64];
	int link;                 /* corosync link number (ring0_addr = 0, ...) */
	bool reachable;           /* answered (ICMP echo, or TCP connect where ICMP is filtered) */
	int64_t rtt_us;           /* median round trip; -1 unknown */
	unsigned path_mtu;        /* largest unfragmented probe that passed; 0 unknown */
	bool migration_port;      /* libvirt's migration/TCP port of that peer accepted a connection */
	char detail[VL_TEXT];
};

/* One LUN the probe was asked about (--lun URL). */
struct vl_lun {
	char url[600];
	char role[16];            /* "witness", "csv", "disk", "scratch" (as asked) */
	bool visible;             /* logged in and read the capacity */
	char vendor[16], product[32];
	char identity[128];       /* VPD 0x83 designator (or unit serial), the LUN's identity across nodes */
	uint64_t bytes;
	bool pr_tested;           /* register/reserve/preempt/release was run (scratch LUNs only) */
	bool pr_ok;
	bool pr_caps;             /* REPORT CAPABILITIES / READ KEYS answered: the target does PR */
	bool in_use;              /* a reservation of a running cluster holds it: not disturbed */
	char detail[VL_TEXT];
};

/* One file the probe was asked about (--file PATH: a VM's disk), or a
 * backing file of one (the probe follows qcow2 backing chains itself). */
struct vl_file {
	char path[VL_PATH];
	bool exists;
	char kind[8];             /* "file", "block", "dir", "other" */
	uint64_t size;
	uint64_t dev, ino;        /* st_dev (major << 32 | minor) and st_ino */
	int64_t mtime_ns;
	char fstype[32];          /* of the mount holding it (mountinfo): "ext4", "nfs4", ... */
	char format[8];           /* "qcow2", or "raw" (no qcow2 header); "" not read */
	char backing[VL_PATH];    /* qcow2 backing file, made absolute; "" none */
	char of[VL_PATH];         /* the file whose backing file this is; "" asked for */
	char detail[VL_TEXT];
};

struct vl_facts {
	char node[VL_NAME];       /* the name the orchestrator gave this node */
	bool ok;                  /* the probe ran; false: error says why (then nothing else is known) */
	char error[VL_TEXT];
	char hostname[VL_NAME];
	char boot_id[40];         /* /proc/sys/kernel/random/boot_id: equal only on nodes sharing a kernel */
	char probe_version[32];   /* this project's version (PACKAGE_VERSION) */
	int64_t time_ms;          /* the node's wall clock when the probe started */
	/* inventory */
	char arch[32];            /* uname -m */
	bool cpu_64bit;
	char cpu_vendor[32];      /* GenuineIntel, AuthenticAMD, ... */
	char cpu_model[VL_TEXT];
	char cpu_flags[VL_MAX_LIST][VL_FLAG];   /* the flags live migration cares about (see vl_checks.c) */
	size_t n_cpu_flags;
	bool virt_ext;            /* vmx or svm */
	bool kvm_usable;          /* /dev/kvm opens and KVM_GET_API_VERSION answers */
	char kvm_detail[VL_TEXT];
	unsigned cpus;
	uint64_t mem_total_kib, mem_avail_kib;
	char kernel[VL_TEXT];     /* uname -r */
	char ver_corosync[64], ver_libqb[64], ver_libvirt[64], ver_qemu[64], ver_clusterd[64];
	/* system configuration */
	char corosync_conf_hash[32];   /* hex FNV-64 of /etc/corosync/corosync.conf; "" missing */
	char authkey_hash[32];         /* of /etc/corosync/authkey */
	bool svc_corosync, svc_libvirtd, svc_clusterd;   /* running */
	char networks[VL_MAX_LIST][VL_NAME];   /* libvirt networks (active) */
	size_t n_networks;
	char bridges[VL_MAX_LIST][VL_NAME];    /* Linux bridges */
	size_t n_bridges;
	/* network */
	struct vl_iface ifaces[VL_MAX_LIST];
	size_t n_ifaces;
	struct vl_peer peers[VL_MAX_LIST];
	size_t n_peers;
	/* storage */
	struct vl_lun luns[16];
	size_t n_luns;
	/* virtual machines (running cluster) */
	struct vl_file files[VL_MAX_FILES];
	size_t n_files;
};

/* Facts as JSON (one object). */
void vl_facts_to_json(const struct vl_facts *f, struct cm_jw *w);
/* Read an object written by vl_facts_to_json. Unknown members are ignored,
 * missing ones stay empty; a wrong type or an over-long string refuses:
 * 0, or -CM_E_VALUE with a sentence. */
int vl_facts_from_json(const struct cm_jv *v, struct vl_facts *f, char *err, size_t errlen);

#endif

/* vl_probe.h - clusval's probe: the facts of the node it runs on
 * (`clusval probe --json`). Reads /proc, /sys, uname, the versions of the
 * cluster's programs, corosync.conf and authkey (hashed), interfaces and
 * bridges, libvirt's networks, the peers' addresses (ICMP/TCP), and the
 * LUNs and VM files it is asked about (libiscsi; file headers). Never changes anything, except the PR
 * test on a LUN given as "scratch" that no reservation holds.
 */
#ifndef VL_PROBE_H
#define VL_PROBE_H

#include <stddef.h>

#include "vl_facts.h"

struct vl_probe_opts {
	const char *node;             /* the name the orchestrator calls this node */
	const char *const *peers;     /* "NODE=ADDR[,ADDR...]": a peer's address per corosync link */
	size_t npeers;                /* besides these, corosync.conf's nodelist is used when readable */
	const char *const *luns;      /* "ROLE=URL", ROLE witness|csv|disk|scratch */
	size_t nluns;
	const char *const *files;     /* VM files (disks); qcow2 backing chains are followed */
	size_t nfiles;
	const char *initiator;        /* iSCSI initiator name for the LUN probes */
	const char *corosync_conf;    /* NULL: /etc/corosync/corosync.conf */
	const char *authkey;          /* NULL: /etc/corosync/authkey */
	const char *libvirt_uri;      /* NULL: qemu:///system */
	int migration_port;           /* 0: 16509 (libvirtd's TCP port) */
	int timeout_s;                /* bound of each network/storage step; 0: 3 */
};

/* Fill f (zeroed first). Always returns 0 with f->ok true unless the probe
 * could not run at all; individual facts it could not learn stay empty. */
int vl_probe(const struct vl_probe_opts *o, struct vl_facts *f);

/* Run argv (PATH lookup, no shell, stdin /dev/null), stdout into out and
 * stderr into err (both truncated, NUL-terminated), killed with its process
 * group at the deadline. Returns the exit status (0..255), -CM_E_TIMEOUT,
 * -ENOENT (not installed) or -errno. */
int vl_run_split(const char *const argv[], int timeout_ms, char *out, size_t outlen, char *err,
		 size_t errlen);

/* vl_probe_file.c: append facts about paths[0..n) and their qcow2 backing
 * files to f->files (at most VL_MAX_FILES; reads headers only). */
void vl_probe_files(const char *const *paths, size_t n, struct vl_facts *f);

/* A qcow2 header's backing file reference: 1 with *off and *size set, 0 when
 * the image has none, -1 not qcow2, -2 a reference out of QEMU's bounds. */
int vl_qcow2_backing_ref(const unsigned char *hdr, size_t len, uint64_t *off, uint32_t *size);

#endif

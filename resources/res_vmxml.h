/* res_vmxml.h - what the vm-config resource needs to know about a libvirt
 * domain XML, and the shared-storage rule for its disks.
 *
 * No libvirt here: libxml2 parses the XML (no network, no DTD, no entity
 * expansion; a DOCTYPE is refused). The only I/O is reading the header of a
 * qcow2 image to follow its backing chain (res_qcow2_backing). libvirt's own
 * parser still validates the XML when the domain is defined; this module
 * extracts the few facts the cluster decides on.
 */
#ifndef RES_VMXML_H
#define RES_VMXML_H

#include <stddef.h>
#include <stdint.h>

/* Bounds on hostile or mistaken input (refused, never truncated). */
#define RES_VMXML_MAX_BYTES (1024 * 1024) /* whole XML document */
#define RES_VMXML_MAX_DISKS 64
#define RES_VMXML_MAX_IFACES 64
#define RES_VMXML_MAX_HOSTS 8             /* <host> per network disk */
#define RES_VMXML_MAX_VCPUS 4096
#define RES_VMXML_BACKING_DEPTH 8         /* qcow2 backing files followed */
#define RES_QCOW2_NAME_MAX 1024           /* qcow2 spec: name <= 1023 bytes */

enum res_vmxml_domtype { RES_VMXML_QEMU, RES_VMXML_KVM };
enum res_vmxml_device { RES_DISK_DEV_DISK, RES_DISK_DEV_CDROM };
enum res_vmxml_disktype { RES_DISK_FILE, RES_DISK_BLOCK, RES_DISK_NETWORK, RES_DISK_VOLUME };
/* UNSET: no <driver type=...>; libvirt then uses raw (it does not probe). */
enum res_vmxml_format { RES_FMT_UNSET, RES_FMT_RAW, RES_FMT_QCOW2 };
enum res_vmxml_iftype { RES_IF_NETWORK, RES_IF_BRIDGE, RES_IF_OTHER };

struct res_vmxml_host {
	char *name;
	unsigned port;                    /* 0: not given */
};

struct res_vmxml_disk {
	enum res_vmxml_device device;
	enum res_vmxml_disktype type;
	char *path;                       /* file: source file; block: source dev */
	char *protocol;                   /* network: "iscsi", ... */
	char *name;                       /* network: "IQN/LUN" for iscsi */
	struct res_vmxml_host hosts[RES_VMXML_MAX_HOSTS];
	size_t n_hosts;
	char *pool, *volume;              /* volume: <source pool= volume=> */
	int has_slice;                    /* <slice type='storage'> present */
	uint64_t slice_offset, slice_size;
	enum res_vmxml_format format;
	int readonly;
	char *target;                     /* <target dev=...>, always set */
};                                        /* unset strings are NULL; an empty cdrom has none */

struct res_vmxml_iface {
	enum res_vmxml_iftype type;
	char *type_str;                   /* the type attribute as written */
	char *source;                     /* network or bridge name; NULL for OTHER */
};

struct res_vmxml {
	enum res_vmxml_domtype type;
	char *name;
	char uuid[37];                    /* "" when the XML has none */
	uint64_t memory_mib;              /* <memory>, rounded up to whole MiB */
	unsigned vcpus;                   /* 1 when <vcpu> is absent */
	char *kernel, *initrd;            /* direct boot; NULL otherwise */
	char *serial_file;                /* first <serial type='file'> path or NULL */
	struct res_vmxml_disk disks[RES_VMXML_MAX_DISKS];
	size_t n_disks;
	struct res_vmxml_iface ifaces[RES_VMXML_MAX_IFACES];
	size_t n_ifaces;
};

/**
 * Parse a domain XML.
 * @param[in] xml, len  the document (need not be NUL-terminated); > 1 MiB is refused
 * @param[out] out      on success a new object the caller frees with res_vmxml_free
 * @param[out] err      on failure a sentence naming the element and the problem
 * @return 0; -CM_E_TOOBIG (too large); -CM_E_VALUE (not XML, DOCTYPE, wrong root,
 *         missing or bad element, too many disks); -ENOMEM.
 */
int res_vmxml_parse(const char *xml, size_t len, struct res_vmxml **out,
		    char *err, size_t errlen);
void res_vmxml_free(struct res_vmxml *x);

/* What counts as shared storage. Lists are borrowed for the call. */
struct res_shared {
	const char *const *dirs;          /* absolute shared directories */
	size_t n_dirs;
	const char *const *luns;          /* "iscsi://host[:port]/IQN/LUN" of physical-disk
					   * resources; matched on IQN and LUN (any portal) */
	size_t n_luns;
	const char *const *csvs;          /* CSV names: pool='csv:NAME' is shared if listed */
	size_t n_csvs;
	int boot_files_shared;            /* 1: kernel/initrd must be shared too (0: they are
					   * node-local files, as in the test harness) */
};

/**
 * Check that every disk is on shared storage: a path under a shared directory
 * (lexical: absolute, no '..', '/' boundary), an iSCSI network disk on one of
 * the LUNs, or <source pool='csv:NAME' volume='VOL'/> with NAME listed. A
 * qcow2 file disk's backing chain (read from the images, relative names
 * resolved against the image's directory) must be shared too, up to
 * RES_VMXML_BACKING_DEPTH files, without loops. Symlinks are not followed.
 * @return 0; -CM_E_VALUE with a sentence naming the disk's target dev and why;
 *         -CM_E_URL (bad entry in luns); -CM_E_CONF (a shared dir is not absolute
 *         or has '..'); -CM_E_FOREIGN (a qcow2 disk is not qcow2);
 *         -CM_E_CORRUPT (bad qcow2 header); -errno (an image could not be read);
 *         every failure fills err.
 */
int res_vmxml_check_storage(const struct res_vmxml *x, const struct res_shared *shared,
			    char *err, size_t errlen);

/**
 * Read a qcow2 image's backing file name.
 * @param[out] buf  the name, NUL-terminated ("" when there is none)
 * @return 1 with a backing file, 0 without; -CM_E_FOREIGN (not qcow2),
 *         -CM_E_CORRUPT (bad version, offsets, size > 1023 or a NUL in the name),
 *         -ENAMETOOLONG (buf too small), -errno (open/read).
 */
int res_qcow2_backing(const char *path, char *buf, size_t len);

/* One network or bridge the VM needs; name points into the res_vmxml. */
struct res_vmxml_net {
	enum res_vmxml_iftype type;       /* RES_IF_NETWORK or RES_IF_BRIDGE */
	const char *name;
};

/**
 * The distinct networks and bridges of x's interfaces, in document order.
 * Fills up to max entries of out; returns how many there are (<= RES_VMXML_MAX_IFACES).
 */
size_t res_vmxml_networks(const struct res_vmxml *x, struct res_vmxml_net *out, size_t max);

/* ---- res_vmxml_disk.c: the XML a node defines ---- */

/* Where a CSV volume lies: the CSV's LUN and the volume's byte range. */
struct res_lunref {
	char host[160];
	unsigned port;
	char iqn[224];
	unsigned lun;
	uint64_t off, size;
};

struct res_storage_env {
	/* CSV volume -> LUN range; 0 or -CM_E_* with a sentence */
	int (*resolve)(void *ctx, const char *csv, const char *vol, struct res_lunref *out, char *err,
		       size_t errlen);
	void *ctx;
	const char *initiator;   /* QEMU's iSCSI initiator name ("" / NULL: libvirt's default) */
	/* physical disks (whole-LUN iSCSI disks): the shim QEMU preloads and
	 * the node's key it registers them with (NULL/"": no shim) */
	const char *shim_path, *pr_key, *shim_log;
};

/**
 * Rewrite a domain XML for this node: <disk type='volume'> with
 * pool='csv:NAME' becomes an iSCSI network disk with a storage slice; iSCSI
 * disks get the initiator; with whole-LUN iSCSI disks and a shim, the shim's
 * environment (<qemu:commandline>: LD_PRELOAD, CM_PR_KEY, CM_PR_TARGETS).
 * @param[out] out  the new XML (malloc'd), or NULL when nothing changed
 * @return 0; -CM_E_VALUE (not XML); the resolver's error; -ENOMEM
 */
int res_vmxml_storage(const char *xml, const struct res_storage_env *env, char **out, char *err, size_t errlen);
/* "CSV/VOL,..." of x's CSV volume disks ("" if none). 0 or -ENAMETOOLONG. */
int res_vmxml_csv_vols(const struct res_vmxml *x, char *buf, size_t len);
/* "iscsi://HOST:PORT/IQN/LUN,..." of x's whole-LUN iSCSI disks. */
int res_vmxml_whole_luns(const struct res_vmxml *x, char *buf, size_t len);

#endif

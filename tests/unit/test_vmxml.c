/* test_vmxml.c - domain XML parsing, the shared-storage rule and the qcow2
 * backing-chain reader (qcow2 files are written into a temporary directory
 * that the fixture removes). */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm_err.h"
#include "res_vmxml.h"
#include "ut.h"

/* The RECIPES guest: TCG, 128 MiB, direct boot, a sliced iSCSI LUN, a file
 * disk in a shared directory, a bridge and the serial console in a file. */
static const char good_xml[] =
	"<domain type='qemu'>\n"
	"  <name>web1</name>\n"
	"  <uuid>6a3f1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b</uuid>\n"
	"  <memory unit='MiB'>128</memory>\n"
	"  <vcpu placement='static'>2</vcpu>\n"
	"  <os>\n"
	"    <type arch='x86_64' machine='pc'>hvm</type>\n"
	"    <kernel>/var/lib/cm/guest/vmlinux</kernel>\n"
	"    <initrd>/var/lib/cm/guest/initrd.img</initrd>\n"
	"    <cmdline>console=ttyS0 quiet</cmdline>\n"
	"  </os>\n"
	"  <devices>\n"
	"    <disk type='network' device='disk'>\n"
	"      <driver name='qemu' type='raw' cache='none'/>\n"
	"      <source protocol='iscsi' name='iqn.2026-01.test.cm:store/1'>\n"
	"        <host name='10.0.0.10' port='3260'/>\n"
	"        <slices><slice type='storage' offset='1048576' size='67108864'/></slices>\n"
	"      </source>\n"
	"      <target dev='vda' bus='virtio'/>\n"
	"    </disk>\n"
	"    <disk type='file' device='disk'>\n"
	"      <driver name='qemu' type='qcow2'/>\n"
	"      <source file='/shared/vms/web1-data.qcow2'/>\n"
	"      <target dev='vdb' bus='virtio'/>\n"
	"      <readonly/>\n"
	"    </disk>\n"
	"    <disk type='file' device='cdrom'>\n"
	"      <target dev='hdc' bus='ide'/>\n"
	"    </disk>\n"
	"    <interface type='bridge'>\n"
	"      <source bridge='cmbr0'/>\n"
	"      <model type='virtio'/>\n"
	"    </interface>\n"
	"    <serial type='file'>\n"
	"      <source path='/var/log/cm/web1.console' append='on'/>\n"
	"      <target port='0'/>\n"
	"    </serial>\n"
	"  </devices>\n"
	"</domain>\n";

static char err[1024];

static int parse(const char *xml, struct res_vmxml **x)
{
	err[0] = '\0';
	return res_vmxml_parse(xml, strlen(xml), x, err, sizeof(err));
}

/* A domain with the given fragment inside <devices>. */
static int parse_devices(const char *devices, struct res_vmxml **x)
{
	char buf[8192];

	snprintf(buf, sizeof(buf),
		 "<domain type='kvm'><name>d</name><memory>1024</memory><devices>%s</devices></domain>",
		 devices);
	return parse(buf, x);
}

static void assert_parse_fails(const char *xml, int rc, const char *needle)
{
	struct res_vmxml *x = (struct res_vmxml *)1;

	ck_assert_int_eq(parse(xml, &x), rc);
	ck_assert_ptr_null(x);
	ck_assert_msg(strstr(err, needle), "error '%s' lacks '%s'", err, needle);
}

START_TEST(good_domain)
{
	struct res_vmxml *x;
	const struct res_vmxml_disk *d;

	ck_assert_int_eq(parse(good_xml, &x), 0);
	ck_assert_int_eq(x->type, RES_VMXML_QEMU);
	ck_assert_str_eq(x->name, "web1");
	ck_assert_str_eq(x->uuid, "6a3f1c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b");
	ck_assert_uint_eq(x->memory_mib, 128);
	ck_assert_uint_eq(x->vcpus, 2);
	ck_assert_str_eq(x->kernel, "/var/lib/cm/guest/vmlinux");
	ck_assert_str_eq(x->initrd, "/var/lib/cm/guest/initrd.img");
	ck_assert_str_eq(x->serial_file, "/var/log/cm/web1.console");
	ck_assert_uint_eq(x->n_disks, 3);

	d = &x->disks[0];
	ck_assert_int_eq(d->type, RES_DISK_NETWORK);
	ck_assert_int_eq(d->device, RES_DISK_DEV_DISK);
	ck_assert_str_eq(d->protocol, "iscsi");
	ck_assert_str_eq(d->name, "iqn.2026-01.test.cm:store/1");
	ck_assert_uint_eq(d->n_hosts, 1);
	ck_assert_str_eq(d->hosts[0].name, "10.0.0.10");
	ck_assert_uint_eq(d->hosts[0].port, 3260);
	ck_assert(d->has_slice);
	ck_assert_uint_eq(d->slice_offset, 1048576);
	ck_assert_uint_eq(d->slice_size, 67108864);
	ck_assert_int_eq(d->format, RES_FMT_RAW);
	ck_assert(!d->readonly);
	ck_assert_str_eq(d->target, "vda");
	ck_assert_ptr_null(d->path);

	d = &x->disks[1];
	ck_assert_int_eq(d->type, RES_DISK_FILE);
	ck_assert_str_eq(d->path, "/shared/vms/web1-data.qcow2");
	ck_assert_int_eq(d->format, RES_FMT_QCOW2);
	ck_assert(d->readonly);
	ck_assert(!d->has_slice);
	ck_assert_str_eq(d->target, "vdb");

	d = &x->disks[2];
	ck_assert_int_eq(d->device, RES_DISK_DEV_CDROM);
	ck_assert_ptr_null(d->path);
	ck_assert_int_eq(d->format, RES_FMT_UNSET);
	ck_assert_str_eq(d->target, "hdc");

	ck_assert_uint_eq(x->n_ifaces, 1);
	ck_assert_int_eq(x->ifaces[0].type, RES_IF_BRIDGE);
	ck_assert_str_eq(x->ifaces[0].type_str, "bridge");
	ck_assert_str_eq(x->ifaces[0].source, "cmbr0");
	res_vmxml_free(x);
	res_vmxml_free(NULL);
}
END_TEST

START_TEST(defaults_and_kinds)
{
	struct res_vmxml *x;

	ck_assert_int_eq(parse_devices(
		"<disk><source file='/s/a'/><target dev='vda'/></disk>"
		"<disk type='block'><source dev='/dev/sdb'/><target dev='vdb'/></disk>"
		"<disk type='volume'><source pool='csv:c1' volume='v1'/><target dev='vdc'/></disk>"
		"<interface type='network'><source network='default'/></interface>"
		"<interface type='user'/>"
		"<serial type='pty'/>", &x), 0);
	ck_assert_int_eq(x->type, RES_VMXML_KVM);
	ck_assert_uint_eq(x->memory_mib, 1);
	ck_assert_uint_eq(x->vcpus, 1);
	ck_assert_str_eq(x->uuid, "");
	ck_assert_ptr_null(x->kernel);
	ck_assert_ptr_null(x->serial_file);
	ck_assert_int_eq(x->disks[0].type, RES_DISK_FILE);
	ck_assert_str_eq(x->disks[0].path, "/s/a");
	ck_assert_int_eq(x->disks[1].type, RES_DISK_BLOCK);
	ck_assert_str_eq(x->disks[1].path, "/dev/sdb");
	ck_assert_int_eq(x->disks[2].type, RES_DISK_VOLUME);
	ck_assert_str_eq(x->disks[2].pool, "csv:c1");
	ck_assert_str_eq(x->disks[2].volume, "v1");
	ck_assert_int_eq(x->ifaces[0].type, RES_IF_NETWORK);
	ck_assert_str_eq(x->ifaces[0].source, "default");
	ck_assert_int_eq(x->ifaces[1].type, RES_IF_OTHER);
	ck_assert_str_eq(x->ifaces[1].type_str, "user");
	ck_assert_ptr_null(x->ifaces[1].source);
	res_vmxml_free(x);
}
END_TEST

START_TEST(memory_units)
{
	static const struct { const char *unit, *value; uint64_t mib; } t[] = {
		{ NULL, "131072", 128 }, { "KiB", "131072", 128 }, { "k", "2048", 2 },
		{ "MiB", "128", 128 }, { "M", "5", 5 }, { "GiB", "2", 2048 }, { "G", "1", 1024 },
		{ "b", "1", 1 }, { "bytes", "1048576", 1 }, { "bytes", "1048577", 2 },
		{ "KB", "1000000", 954 }, { "MB", "1", 1 }, { "GB", "1", 954 },
		{ "TiB", "1", 1048576 }, { "MiB", " 64 ", 64 },
	};
	char xml[256];
	struct res_vmxml *x;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(xml, sizeof(xml), "<domain type='qemu'><name>m</name><memory%s%s%s>%s</memory></domain>",
			 t[i].unit ? " unit='" : "", t[i].unit ? t[i].unit : "", t[i].unit ? "'" : "",
			 t[i].value);
		ck_assert_msg(parse(xml, &x) == 0, "%s: %s", xml, err);
		ck_assert_msg(x->memory_mib == t[i].mib, "%s gave %llu MiB", xml,
			      (unsigned long long)x->memory_mib);
		res_vmxml_free(x);
	}
}
END_TEST

START_TEST(bad_memory)
{
	assert_parse_fails("<domain type='qemu'><name>m</name><memory>-1</memory></domain>",
			   -CM_E_VALUE, "<memory> '-1' is not a whole number");
	assert_parse_fails("<domain type='qemu'><name>m</name><memory>12abc</memory></domain>",
			   -CM_E_VALUE, "<memory> '12abc' is not a whole number");
	assert_parse_fails("<domain type='qemu'><name>m</name><memory>99999999999999999999</memory></domain>",
			   -CM_E_VALUE, "<memory> '99999999999999999999' is too large");
	/* 2^54 KiB = 2^64 bytes: fits in the number, overflows in the product. */
	assert_parse_fails("<domain type='qemu'><name>m</name><memory>18014398509481984</memory></domain>",
			   -CM_E_VALUE, "is too large");
	assert_parse_fails("<domain type='qemu'><name>m</name><memory>0</memory></domain>",
			   -CM_E_VALUE, "<memory> is 0");
	assert_parse_fails("<domain type='qemu'><name>m</name><memory unit='parsec'>1</memory></domain>",
			   -CM_E_VALUE, "<memory unit='parsec'>: unknown unit");
	assert_parse_fails("<domain type='qemu'><name>m</name></domain>",
			   -CM_E_VALUE, "<memory> is missing");
}
END_TEST

START_TEST(hostile_documents)
{
	struct res_vmxml *x;
	size_t big = 2 * 1024 * 1024;
	char *buf;

	assert_parse_fails("this is not XML", -CM_E_VALUE, "not well-formed XML (line 1");
	assert_parse_fails("<domain type='qemu'><name>a</name>", -CM_E_VALUE, "not well-formed");
	assert_parse_fails("", -CM_E_VALUE, "not well-formed");
	assert_parse_fails("<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY x 'boom'>]>"
			   "<domain type='qemu'><name>&x;</name><memory>1</memory></domain>",
			   -CM_E_VALUE, "<!DOCTYPE> or <!ENTITY> is not allowed");
	assert_parse_fails("<!DOCTYPE domain SYSTEM 'http://example.com/d.dtd'>"
			   "<domain type='qemu'><name>a</name><memory>1</memory></domain>",
			   -CM_E_VALUE, "not allowed");
	/* An undeclared entity stays an error, never an expansion. */
	assert_parse_fails("<domain type='qemu'><name>&xxe;</name><memory>1</memory></domain>",
			   -CM_E_VALUE, "not well-formed");

	buf = malloc(big);
	ck_assert_ptr_nonnull(buf);
	memset(buf, ' ', big);
	memcpy(buf, "<domain", 7);
	x = (struct res_vmxml *)1;
	ck_assert_int_eq(res_vmxml_parse(buf, big, &x, err, sizeof(err)), -CM_E_TOOBIG);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(err, "more than the 1048576 allowed"));
	free(buf);
	ck_assert_int_eq(res_vmxml_parse(NULL, 0, &x, err, sizeof(err)), -CM_E_VALUE);
}
END_TEST

START_TEST(bad_domain_elements)
{
	assert_parse_fails("<vm type='qemu'><name>a</name></vm>", -CM_E_VALUE,
			   "the root element is <vm>, not <domain>");
	assert_parse_fails("<domain type='xen'><name>a</name><memory>1</memory></domain>",
			   -CM_E_VALUE, "must be 'qemu' or 'kvm'");
	assert_parse_fails("<domain type='qemu'><memory>1</memory></domain>",
			   -CM_E_VALUE, "<name> is missing");
	assert_parse_fails("<domain type='qemu'><name></name><memory>1</memory></domain>",
			   -CM_E_VALUE, "<name> must have 1 to 255 bytes");
	assert_parse_fails("<domain type='qemu'><name>a/b</name><memory>1</memory></domain>",
			   -CM_E_VALUE, "contains '/'");
	assert_parse_fails("<domain type='qemu'><name>a</name><name>b</name><memory>1</memory></domain>",
			   -CM_E_VALUE, "<name> appears twice in <domain>");
	assert_parse_fails("<domain type='qemu'><name>a</name><uuid>nope</uuid><memory>1</memory></domain>",
			   -CM_E_VALUE, "<uuid> 'nope' is not a UUID");
	assert_parse_fails("<domain type='qemu'><name>a</name><vcpu>0</vcpu><memory>1</memory></domain>",
			   -CM_E_VALUE, "<vcpu> '0' is not a number from 1 to 4096");
}
END_TEST

START_TEST(bad_devices)
{
	struct res_vmxml *x;

	ck_assert_int_eq(parse_devices("<disk><source file='/a'/></disk>", &x), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "<disk> #1 has no <target dev=...>"));
	ck_assert_int_eq(parse_devices("<disk type='dir'><source dir='/a'/><target dev='vda'/></disk>", &x),
			 -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "disk 'vda': type 'dir' is not supported"));
	ck_assert_int_eq(parse_devices("<disk device='floppy'><source file='/a'/><target dev='fda'/></disk>", &x),
			 -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "disk 'fda': device 'floppy'"));
	ck_assert_int_eq(parse_devices("<disk><driver type='vmdk'/><source file='/a'/><target dev='vda'/></disk>", &x),
			 -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "disk 'vda': <driver type='vmdk'> is not supported"));
	ck_assert_int_eq(parse_devices("<disk><target dev='vda'/></disk>", &x), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "disk 'vda': <source> is missing"));
	ck_assert_int_eq(parse_devices("<disk type='block'><source file='/a'/><target dev='vda'/></disk>", &x),
			 -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "disk 'vda': <source> has no dev="));
	ck_assert_int_eq(parse_devices("<disk type='network'><source protocol='iscsi' name='i/0'>"
				       "<host name='h' port='70000'/></source><target dev='vda'/></disk>", &x),
			 -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "<host port='70000'> is not a port number"));
	ck_assert_int_eq(parse_devices("<disk type='network'><source protocol='iscsi' name='i/0'>"
				       "<slices><slice type='storage' offset='x' size='1'/></slices>"
				       "</source><target dev='vda'/></disk>", &x), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "disk 'vda': <slice type='storage'> needs"));
	ck_assert_int_eq(parse_devices("<interface type='bridge'/>", &x), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "<interface type='bridge'> #1 has no <source bridge=...>"));
	ck_assert_int_eq(parse_devices("<serial type='file'/>", &x), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "<serial type='file'> has no <source path=...>"));
}
END_TEST

/* 64 disks are accepted, the 65th is refused (bounded work per document). */
START_TEST(disk_cap)
{
	char *xml = malloc(64 * 1024);
	size_t off, i, n;
	struct res_vmxml *x;

	ck_assert_ptr_nonnull(xml);
	for (n = 64; n <= 65; n++) {
		off = (size_t)snprintf(xml, 64 * 1024, "<domain type='qemu'><name>a</name><memory>1</memory><devices>");
		for (i = 0; i < n; i++)
			off += (size_t)snprintf(xml + off, 64 * 1024 - off,
						"<disk><source file='/s/%zu'/><target dev='vd%zu'/></disk>", i, i);
		snprintf(xml + off, 64 * 1024 - off, "</devices></domain>");
		if (n == 64) {
			ck_assert_int_eq(parse(xml, &x), 0);
			ck_assert_uint_eq(x->n_disks, 64);
			res_vmxml_free(x);
		} else {
			assert_parse_fails(xml, -CM_E_VALUE, "more than 64 <disk> elements");
		}
	}
	free(xml);
}
END_TEST

START_TEST(networks_list)
{
	struct res_vmxml *x;
	struct res_vmxml_net nets[RES_VMXML_MAX_IFACES];

	ck_assert_int_eq(parse_devices(
		"<interface type='bridge'><source bridge='br0'/></interface>"
		"<interface type='network'><source network='default'/></interface>"
		"<interface type='user'/>"
		"<interface type='bridge'><source bridge='br0'/></interface>"
		"<interface type='network'><source network='br0'/></interface>", &x), 0);
	ck_assert_uint_eq(res_vmxml_networks(x, nets, RES_VMXML_MAX_IFACES), 3);
	ck_assert_int_eq(nets[0].type, RES_IF_BRIDGE);
	ck_assert_str_eq(nets[0].name, "br0");
	ck_assert_int_eq(nets[1].type, RES_IF_NETWORK);
	ck_assert_str_eq(nets[1].name, "default");
	ck_assert_int_eq(nets[2].type, RES_IF_NETWORK);
	ck_assert_str_eq(nets[2].name, "br0");
	memset(nets, 0, sizeof(nets));
	ck_assert_uint_eq(res_vmxml_networks(x, nets, 1), 3);
	ck_assert_str_eq(nets[0].name, "br0");
	ck_assert_ptr_null(nets[1].name);
	res_vmxml_free(x);
}
END_TEST

/* ---- shared storage ---- */

static const char *const dirs[] = { "/shared", "/srv//vm/" };
static const char *const luns[] = {
	"iscsi://10.0.0.10:3260/iqn.2026-01.test.cm:store/1",
	"iscsi://10.0.0.10/iqn.2026-01.test.cm:other/0",
};
static const char *const csvs[] = { "csv1" };
static const struct res_shared shared = {
	.dirs = dirs, .n_dirs = 2, .luns = luns, .n_luns = 2, .csvs = csvs, .n_csvs = 1,
};

/* Parse one device fragment and run the storage check; err says why. */
static int check_one(const char *devices, const struct res_shared *sh)
{
	struct res_vmxml *x;
	int rc;

	ck_assert_msg(parse_devices(devices, &x) == 0, "%s", err);
	rc = res_vmxml_check_storage(x, sh, err, sizeof(err));
	res_vmxml_free(x);
	return rc;
}

static int check_file(const char *path)
{
	char dev[512];

	snprintf(dev, sizeof(dev), "<disk><source file='%s'/><target dev='vdb'/></disk>", path);
	return check_one(dev, &shared);
}

START_TEST(shared_paths)
{
	ck_assert_int_eq(check_file("/shared/a.img"), 0);
	ck_assert_int_eq(check_file("/shared//vms/./a.img"), 0);
	ck_assert_int_eq(check_file("/srv/vm/x/y.img"), 0);
	ck_assert_int_eq(check_file("/shared/../etc/x"), -CM_E_VALUE);
	ck_assert_str_eq(err, "disk 'vdb' is not on shared storage: '/shared/../etc/x' contains a '..' component");
	ck_assert_int_eq(check_file("/sharedX/a"), -CM_E_VALUE);
	ck_assert_str_eq(err, "disk 'vdb' is not on shared storage: '/sharedX/a' is not under a shared directory");
	ck_assert_int_eq(check_file("/shared"), -CM_E_VALUE);
	ck_assert_int_eq(check_file("/shared/"), -CM_E_VALUE);
	ck_assert_int_eq(check_file("shared/a.img"), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "is not an absolute path"));
	ck_assert_int_eq(check_one("<disk type='block'><source dev='/dev/sdb'/><target dev='vdc'/></disk>",
				   &shared), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "disk 'vdc' is not on shared storage: '/dev/sdb'"));
	/* An empty cdrom drive has nothing to share. */
	ck_assert_int_eq(check_one("<disk device='cdrom'><target dev='hdc'/></disk>", &shared), 0);
}
END_TEST

START_TEST(shared_luns_and_csv)
{
	static const char *const bad_lun[] = { "iscsi:/10.0.0.10/iqn" };
	struct res_shared sh = shared;

	/* Same IQN and LUN through another portal and LUN spelled 01: shared. */
	ck_assert_int_eq(check_one("<disk type='network'><source protocol='iscsi' name='iqn.2026-01.test.cm:store/01'>"
				   "<host name='10.0.0.11'/></source><target dev='vda'/></disk>", &shared), 0);
	ck_assert_int_eq(check_one("<disk type='network'><source protocol='iscsi' name='iqn.2026-01.test.cm:other'>"
				   "<host name='10.0.0.10'/></source><target dev='vda'/></disk>", &shared), 0);
	ck_assert_int_eq(check_one("<disk type='network'><source protocol='iscsi' name='iqn.2026-01.test.cm:store/2'>"
				   "<host name='10.0.0.10'/></source><target dev='vda'/></disk>", &shared), -CM_E_VALUE);
	ck_assert_str_eq(err, "disk 'vda': iSCSI LUN 'iqn.2026-01.test.cm:store/2' is not a physical disk of the cluster");
	ck_assert_int_eq(check_one("<disk type='network'><source protocol='nbd' name='x'>"
				   "<host name='h'/></source><target dev='vda'/></disk>", &shared), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "disk 'vda': network protocol 'nbd' is not shared storage"));
	ck_assert_int_eq(check_one("<disk type='volume'><source pool='csv:csv1' volume='web1.img'/>"
				   "<target dev='vdd'/></disk>", &shared), 0);
	ck_assert_int_eq(check_one("<disk type='volume'><source pool='csv:csv9' volume='web1.img'/>"
				   "<target dev='vdd'/></disk>", &shared), -CM_E_VALUE);
	ck_assert_str_eq(err, "disk 'vdd': 'csv9' is not a CSV of the cluster");
	ck_assert_int_eq(check_one("<disk type='volume'><source pool='csv:csv1' volume='../x'/>"
				   "<target dev='vdd'/></disk>", &shared), -CM_E_VALUE);
	ck_assert_int_eq(check_one("<disk type='volume'><source pool='default' volume='a'/>"
				   "<target dev='vdd'/></disk>", &shared), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "storage pool 'default' is not a CSV"));
	sh.luns = bad_lun;
	sh.n_luns = 1;
	ck_assert_int_eq(check_one("<disk type='network'><source protocol='iscsi' name='iqn.x/0'>"
				   "<host name='h'/></source><target dev='vda'/></disk>", &sh), -CM_E_URL);
}
END_TEST

START_TEST(boot_files_flag)
{
	struct res_vmxml *x;
	struct res_shared sh = shared;

	ck_assert_int_eq(parse(good_xml, &x), 0);
	/* good_xml's qcow2 image does not exist: keep its header unread. */
	x->disks[1].format = RES_FMT_RAW;
	ck_assert_int_eq(res_vmxml_check_storage(x, &sh, err, sizeof(err)), 0);
	sh.boot_files_shared = 1;
	ck_assert_int_eq(res_vmxml_check_storage(x, &sh, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "<kernel> is not on shared storage"));
	res_vmxml_free(x);
}
END_TEST

/* ---- qcow2 ---- */

static char top[256]; /* the fixture's directory, removed after the tests */
static char tmp[300];  /* this test's own directory inside it */

static void top_setup(void)
{
	snprintf(top, sizeof(top), "/tmp/test_vmxml.XXXXXX");
	if (!mkdtemp(top)) {
		perror("test_vmxml: mkdtemp");
		exit(1);
	}
}

static void use_dir(const char *test)
{
	snprintf(tmp, sizeof(tmp), "%s/%s", top, test);
	ck_assert_int_eq(mkdir(tmp, 0700), 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static void top_teardown(void)
{
	nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* A minimal qcow2 header (enough for res_qcow2_backing), name at 512. */
static void write_qcow2(const char *path, int version, const char *backing, size_t name_len)
{
	unsigned char h[1024];
	int fd;

	memset(h, 0, sizeof(h));
	memcpy(h, "QFI\xfb", 4);
	put_be(h + 4, (uint64_t)version, 4);
	put_be(h + 20, 16, 4); /* 64 KiB clusters */
	if (version == 3)
		put_be(h + 100, 104, 4);
	if (backing) {
		put_be(h + 8, 512, 8);
		put_be(h + 16, name_len, 4);
		memcpy(h + 512, backing, strlen(backing) < 512 ? strlen(backing) : 511);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
}

static void write_raw(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "raw data, not an image\n", 23), 23);
	close(fd);
}

static char *tp(const char *rel)
{
	static char bufs[4][1024];
	static int i;
	char *b = bufs[i++ % 4];

	snprintf(b, 1024, "%s/%s", tmp, rel);
	return b;
}

START_TEST(qcow2_header)
{
	char name[RES_QCOW2_NAME_MAX], small[4];
	int fd;

	use_dir("header");
	write_qcow2(tp("none.qcow2"), 2, NULL, 0);
	ck_assert_int_eq(res_qcow2_backing(tp("none.qcow2"), name, sizeof(name)), 0);
	ck_assert_str_eq(name, "");
	write_qcow2(tp("v2.qcow2"), 2, "base.raw", 8);
	ck_assert_int_eq(res_qcow2_backing(tp("v2.qcow2"), name, sizeof(name)), 1);
	ck_assert_str_eq(name, "base.raw");
	write_qcow2(tp("v3.qcow2"), 3, "/abs/base", 9);
	ck_assert_int_eq(res_qcow2_backing(tp("v3.qcow2"), name, sizeof(name)), 1);
	ck_assert_str_eq(name, "/abs/base");
	ck_assert_int_eq(res_qcow2_backing(tp("v3.qcow2"), small, sizeof(small)), -ENAMETOOLONG);
	write_raw(tp("raw"));
	ck_assert_int_eq(res_qcow2_backing(tp("raw"), name, sizeof(name)), -CM_E_FOREIGN);
	ck_assert_int_eq(res_qcow2_backing(tp("missing"), name, sizeof(name)), -ENOENT);
	ck_assert_int_eq(res_qcow2_backing(tmp, name, sizeof(name)), -CM_E_FOREIGN);
	write_qcow2(tp("v4.qcow2"), 4, NULL, 0);
	ck_assert_int_eq(res_qcow2_backing(tp("v4.qcow2"), name, sizeof(name)), -CM_E_CORRUPT);
	write_qcow2(tp("nul.qcow2"), 2, "ab", 4); /* name runs into NUL padding */
	ck_assert_int_eq(res_qcow2_backing(tp("nul.qcow2"), name, sizeof(name)), -CM_E_CORRUPT);
	write_qcow2(tp("long.qcow2"), 2, "x", 1024); /* spec: at most 1023 bytes */
	ck_assert_int_eq(res_qcow2_backing(tp("long.qcow2"), name, sizeof(name)), -CM_E_CORRUPT);
	write_qcow2(tp("short.qcow2"), 2, "x", 1000); /* beyond the end of the file */
	ck_assert_int_eq(res_qcow2_backing(tp("short.qcow2"), name, sizeof(name)), -CM_E_CORRUPT);
	fd = open(tp("trunc.qcow2"), O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(write(fd, "QFI\xfb\0\0\0\2", 8), 8);
	close(fd);
	ck_assert_int_eq(res_qcow2_backing(tp("trunc.qcow2"), name, sizeof(name)), -CM_E_FOREIGN);
}
END_TEST

static int check_qcow2(const char *path, const char *shared_dir)
{
	const char *const d[] = { shared_dir };
	struct res_shared sh = { .dirs = d, .n_dirs = 1 };
	char dev[700];

	snprintf(dev, sizeof(dev), "<disk><driver type='qcow2'/><source file='%s'/><target dev='vde'/></disk>",
		 path);
	return check_one(dev, &sh);
}

START_TEST(qcow2_chains)
{
	char sh[512], img[64];
	int i;

	use_dir("chains");
	snprintf(sh, sizeof(sh), "%s/shared", tmp);
	ck_assert_int_eq(mkdir(sh, 0700), 0);
	ck_assert_int_eq(mkdir(tp("local"), 0700), 0);
	write_raw(tp("local/base.raw"));
	write_raw(tp("shared/base.raw"));

	/* relative name, resolved next to the image, through a qcow2 middle */
	write_qcow2(tp("shared/mid.qcow2"), 3, "base.raw", 8);
	write_qcow2(tp("shared/top.qcow2"), 2, "./mid.qcow2", 11);
	ck_assert_msg(check_qcow2(tp("shared/top.qcow2"), sh) == 0, "%s", err);

	write_qcow2(tp("shared/out.qcow2"), 2, tp("local/base.raw"), strlen(tp("local/base.raw")));
	ck_assert_int_eq(check_qcow2(tp("shared/out.qcow2"), sh), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "disk 'vde': backing file '"));
	ck_assert_ptr_nonnull(strstr(err, "is not on shared storage: '"));
	write_qcow2(tp("shared/up.qcow2"), 2, "../local/base.raw", 17);
	ck_assert_int_eq(check_qcow2(tp("shared/up.qcow2"), sh), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "contains a '..' component"));
	write_qcow2(tp("shared/proto.qcow2"), 2, "nbd://evil/x", 12);
	ck_assert_int_eq(check_qcow2(tp("shared/proto.qcow2"), sh), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "is a protocol or json: name"));

	/* cycles: a -> b -> a, and a self-reference */
	write_qcow2(tp("shared/a.qcow2"), 2, "b.qcow2", 7);
	write_qcow2(tp("shared/b.qcow2"), 2, "a.qcow2", 7);
	ck_assert_int_eq(check_qcow2(tp("shared/a.qcow2"), sh), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "backing chain loops"));
	write_qcow2(tp("shared/self.qcow2"), 2, "self.qcow2", 10);
	ck_assert_int_eq(check_qcow2(tp("shared/self.qcow2"), sh), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "backing chain loops"));

	/* depth: c0 -> c1 -> ... -> c8 is 8 backing files (ok); c9 adds one more */
	for (i = 0; i <= 9; i++) {
		char name[16];

		snprintf(img, sizeof(img), "shared/c%d.qcow2", i);
		snprintf(name, sizeof(name), "c%d.qcow2", i + 1);
		if (i == 8)
			write_qcow2(tp(img), 2, NULL, 0);
		else
			write_qcow2(tp(img), 2, name, strlen(name));
	}
	ck_assert_msg(check_qcow2(tp("shared/c0.qcow2"), sh) == 0, "%s", err);
	write_qcow2(tp("shared/c8.qcow2"), 2, "c9.qcow2", 8);
	write_qcow2(tp("shared/c9.qcow2"), 2, NULL, 0);
	ck_assert_int_eq(check_qcow2(tp("shared/c0.qcow2"), sh), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "longer than 8 files"));

	/* the disk says qcow2 but is not, or is missing: refused */
	ck_assert_int_eq(check_qcow2(tp("shared/base.raw"), sh), -CM_E_FOREIGN);
	ck_assert_ptr_nonnull(strstr(err, "cannot read the qcow2 header"));
	ck_assert_int_eq(check_qcow2(tp("shared/gone.qcow2"), sh), -ENOENT);
}
END_TEST

/* The same checks on images made by qemu-img itself, when it is installed. */
START_TEST(qcow2_qemu_img)
{
	char cmd[2048], name[RES_QCOW2_NAME_MAX], sh[512];

	if (system("command -v qemu-img >/dev/null 2>&1") != 0)
		return;
	use_dir("qemu-img");	snprintf(sh, sizeof(sh), "%s/shared", tmp);
	ck_assert_int_eq(mkdir(sh, 0700), 0);
	ck_assert_int_eq(mkdir(tp("local"), 0700), 0);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && qemu-img create -q -f raw local/base 1M && qemu-img create -q -f raw shared/base 1M"
		 " && qemu-img create -q -f qcow2 -b %s/local/base -F raw shared/bad.qcow2"
		 " && qemu-img create -q -f qcow2 -b base -F raw shared/good.qcow2"
		 " && qemu-img create -q -f qcow2 -o compat=0.10 -b good.qcow2 -F qcow2 shared/top.qcow2",
		 tmp, tmp);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(res_qcow2_backing(tp("shared/good.qcow2"), name, sizeof(name)), 1);
	ck_assert_str_eq(name, "base");
	ck_assert_int_eq(res_qcow2_backing(tp("shared/top.qcow2"), name, sizeof(name)), 1);
	ck_assert_str_eq(name, "good.qcow2");
	ck_assert_msg(check_qcow2(tp("shared/top.qcow2"), sh) == 0, "%s", err);
	ck_assert_int_eq(check_qcow2(tp("shared/bad.qcow2"), sh), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "is not on shared storage"));
}
END_TEST

static Suite *vmxml_suite(void)
{
	Suite *s = suite_create("vmxml");
	TCase *tc = tcase_create("parse");
	TCase *tq = tcase_create("qcow2");

	tcase_add_test(tc, good_domain);
	tcase_add_test(tc, defaults_and_kinds);
	tcase_add_test(tc, memory_units);
	tcase_add_test(tc, bad_memory);
	tcase_add_test(tc, hostile_documents);
	tcase_add_test(tc, bad_domain_elements);
	tcase_add_test(tc, bad_devices);
	tcase_add_test(tc, disk_cap);
	tcase_add_test(tc, networks_list);
	tcase_add_test(tc, shared_paths);
	tcase_add_test(tc, shared_luns_and_csv);
	tcase_add_test(tc, boot_files_flag);
	suite_add_tcase(s, tc);
	/* Unchecked: runs in the parent, so the directory goes away even when
	 * a test fails (a failing forked test never reaches a checked teardown). */
	tcase_add_unchecked_fixture(tq, top_setup, top_teardown);
	tcase_add_test(tq, qcow2_header);
	tcase_add_test(tq, qcow2_chains);
	tcase_add_test(tq, qcow2_qemu_img);
	tcase_set_timeout(tq, 30);
	suite_add_tcase(s, tq);
	return s;
}

int main(void)
{
	return ut_run(vmxml_suite());
}

/* vl_probe.c - clusval's probe: the facts of the node it runs on (see
 * vl_probe.h).
 *
 * Owns: reading this node's /proc, /sys, uname, interfaces; running the
 * cluster programs for their versions (fork/exec, no shell, killed at a
 * deadline); ICMP echoes and TCP connects to the peers; the LUN probes
 * (libiscsi through witness/wit_scsi, plus one INQUIRY session of its own).
 * Must never: change anything on the node or a LUN, except the PR test on
 * a LUN given as "scratch" that no reservation of someone else holds; abort
 * the probe because one fact could not be learnt (the fact stays empty and
 * its detail says why); wait longer than the timeout for any one step.
 *
 * Why the services scan compares network namespaces: on a host that runs
 * several nodes (the harness) every node's daemons are in the one PID
 * namespace; a daemon in another network namespace is another node's.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include "cm_err.h"
#include "cm_str.h"
#include "vl_probe.h"
#include "wit_scsi.h"

#ifndef PACKAGE_VERSION_STR
#define PACKAGE_VERSION_STR "unknown"
#endif

#ifndef KVM_GET_API_VERSION
#define KVM_GET_API_VERSION _IO(0xAE, 0x00)
#endif
#ifndef KVM_CREATE_VM
#define KVM_CREATE_VM _IO(0xAE, 0x01)
#endif
#define VL_KVM_API 12

/* Default step bound (vl_probe_opts.timeout_s = 0). */
#define VL_TIMEOUT_S 3
/* Version commands answer at once when they work; a hung one is a fact. */
#define VL_CMD_TIMEOUT_MS 3000
#define VL_CMD_OUT 8192
/* ICMP: echoes for the round trip, each waits at most this long. */
#define VL_ECHOES 3
#define VL_ECHO_WAIT_MS 1000
#define VL_ECHO_PAYLOAD 56
/* IPv4 + ICMP header: 1472 + 28 = 1500. IPv6 + ICMPv6: 1452 + 48. */
#define VL_PMTU_STD 1500u
#define VL_PMTU_JUMBO 9000u
#define VL_LIBVIRT_PORT 16509
/* Files we hash or parse are small; a bigger one is not ours. */
#define VL_FILE_MAX (1024 * 1024)
/* PR test keys: "clsv" in the high half, so a probe recognises another
 * probe's (concurrent) test and waits instead of calling the LUN in use. */
#define VL_KEY_TAG 0x636c737600000000ULL
#define VL_KEY_TAG_MASK 0xffffffff00000000ULL
#define VL_PR_RETRY_MS 200

static const char *const vl_mig_flags[] = {
	"vmx", "svm", "lm", "nx", "sse", "sse2", "sse3", "ssse3", "sse4_1",
	"sse4_2", "popcnt", "aes", "avx", "avx2", "avx512f", "xsave", "rdrand",
	"fma", "bmi1", "bmi2", "x2apic", "pcid", "invpcid", "hypervisor",
};

/* What the probe carries between steps (no file-scope state). */
struct vl_ctx {
	const struct vl_probe_opts *o;
	struct vl_facts *f;
	int timeout_s;
	int port;
	const char *conf_path, *key_path, *uri;
	char initiator[224];
	uint16_t echo_seq;
	uint16_t echo_id;
};

static void vl_set(char *dst, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vl_set(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

static int64_t vl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t vl_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void vl_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static char *vl_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Read a whole (small) file. 0 with *buf malloc'd and NUL-terminated. */
static int vl_slurp(const char *path, char **buf, size_t *len)
{
	struct cm_sb sb;
	char tmp[4096];
	ssize_t n;
	int fd, rc = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	cm_sb_init(&sb);
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		cm_sb_add(&sb, tmp, (size_t)n);
		if (sb.len > VL_FILE_MAX) {
			rc = -EFBIG;
			break;
		}
	}
	close(fd);
	if (rc == 0 && cm_sb_failed(&sb))
		rc = -ENOMEM;
	if (rc < 0) {
		cm_sb_free(&sb);
		return rc;
	}
	*len = sb.len;
	cm_sb_putc(&sb, '\0');
	*buf = cm_sb_steal(&sb);
	if (*buf == NULL)
		return -ENOMEM;
	return 0;
}

/* ---- commands ---- */

/* Run argv (PATH lookup, no shell) with stdin /dev/null, stdout and stderr
 * into out (truncated), killed at the deadline. Returns the exit status
 * (0..255), -CM_E_TIMEOUT, -ENOENT (not installed) or -errno. */
static int vl_run_fd(const char *const argv[], int timeout_ms, char *out, size_t outlen, int errfd);

static int vl_run(const char *const argv[], int timeout_ms, char *out,
		  size_t outlen)
{
	return vl_run_fd(argv, timeout_ms, out, outlen, -1);
}

int vl_run_split(const char *const argv[], int timeout_ms, char *out, size_t outlen, char *err,
		 size_t errlen)
{
	int fd = memfd_create("clusval-stderr", MFD_CLOEXEC), rc;
	ssize_t n;

	if (errlen)
		err[0] = '\0';
	if (fd < 0)
		return -errno;
	rc = vl_run_fd(argv, timeout_ms, out, outlen, fd);
	n = errlen > 1 ? pread(fd, err, errlen - 1, 0) : 0;
	if (n > 0)
		err[n] = '\0';
	close(fd);
	return rc;
}

/* errfd: where the child's stderr goes; -1 into out with stdout */
static int vl_run_fd(const char *const argv[], int timeout_ms, char *out, size_t outlen, int errfd)
{
	int64_t deadline = vl_now_ms() + timeout_ms;
	int pfd[2], st = 0, rc = 0;
	size_t used = 0;
	pid_t pid;

	if (outlen)
		out[0] = '\0';
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return rc;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		/* own process group: a timeout kills what it started too */
		setpgid(0, 0);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(pfd[1], 1);
		dup2(errfd >= 0 ? errfd : pfd[1], 2);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(pfd[1]);
	for (;;) {
		int64_t left = deadline - vl_now_ms();
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		char tmp[1024];
		ssize_t n;
		int k;

		if (left <= 0) {
			rc = -CM_E_TIMEOUT;
			break;
		}
		k = poll(&p, 1, (int)left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			continue;
		n = read(pfd[0], tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (outlen > 1 && used < outlen - 1) {
			size_t c = (size_t)n < outlen - 1 - used ? (size_t)n : outlen - 1 - used;

			memcpy(out + used, tmp, c);
			used += c;
			out[used] = '\0';
		}
	}
	close(pfd[0]);
	if (rc == -CM_E_TIMEOUT) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return rc;
	}
	/* stdout closed: the child is exiting; wait, still bounded */
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (vl_now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return -CM_E_TIMEOUT;
		}
		vl_sleep_ms(10);
	}
	if (WIFEXITED(st)) {
		if (WEXITSTATUS(st) == 127)
			return -ENOENT;
		return WEXITSTATUS(st);
	}
	return -EINTR;
}

/* The first line of a command's output, trimmed. */
static void vl_first_line(const char *out, char *dst, size_t len)
{
	char line[512];
	const char *nl = strchr(out, '\n');
	size_t n = nl ? (size_t)(nl - out) : strlen(out);

	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, out, n);
	line[n] = '\0';
	cm_strlcpy(dst, vl_trim(line), len);
}

/* The word after "version" (quotes stripped), else the last word of the
 * first line: "Corosync Cluster Engine, version '3.1.7'", "QEMU emulator
 * version 7.2.19 (Debian ...)", "libvirtd (libvirt) 9.0.0". */
static void vl_version_of(const char *out, char *dst, size_t len)
{
	char line[512], *p, *w, *last = NULL, *save = NULL;

	vl_first_line(out, line, sizeof(line));
	p = strstr(line, "version ");
	if (p != NULL) {
		p += 8;
		while (*p == ' ' || *p == '\'' || *p == '"')
			p++;
		w = p;
		while (*p && *p != ' ' && *p != '\'' && *p != '"' && *p != ',')
			p++;
		*p = '\0';
		cm_strlcpy(dst, w, len);
		return;
	}
	for (w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		last = w;
	if (last)
		cm_strlcpy(dst, last, len);
}

static void vl_cmd_version(const char *const argv[], char *dst, size_t len)
{
	char out[VL_CMD_OUT];
	int rc = vl_run(argv, VL_CMD_TIMEOUT_MS, out, sizeof(out));

	if (rc == 0 && out[0])
		vl_version_of(out, dst, len);
}

static void vl_versions(struct vl_ctx *c)
{
	static const char *const coro[] = { "corosync", "-v", NULL };
	static const char *const virtd[] = { "libvirtd", "--version", NULL };
	static const char *const qemu[] = { "qemu-system-x86_64", "--version", NULL };
	static const char *const pkgc[] = { "pkg-config", "--modversion", "libqb", NULL };
	static const char *const dpkg[] = { "dpkg-query", "-W", "-f", "${Version}",
					    "libqb100", NULL };
	static const char *const dpkg64[] = { "dpkg-query", "-W", "-f", "${Version}",
					      "libqb100t64", NULL };
	static const char *const rpm[] = { "rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}",
					   "libqb", NULL };
	const char *const *qb[] = { pkgc, dpkg, dpkg64, rpm };
	struct vl_facts *f = c->f;
	size_t i;

	vl_cmd_version(coro, f->ver_corosync, sizeof(f->ver_corosync));
	vl_cmd_version(virtd, f->ver_libvirt, sizeof(f->ver_libvirt));
	vl_cmd_version(qemu, f->ver_qemu, sizeof(f->ver_qemu));
	for (i = 0; i < sizeof(qb) / sizeof(qb[0]) && !f->ver_libqb[0]; i++) {
		char out[512];

		if (vl_run(qb[i], VL_CMD_TIMEOUT_MS, out, sizeof(out)) == 0 && out[0])
			vl_first_line(out, f->ver_libqb, sizeof(f->ver_libqb));
	}
	cm_strlcpy(f->ver_clusterd, PACKAGE_VERSION_STR, sizeof(f->ver_clusterd));
}

/* ---- inventory ---- */

static bool vl_is_mig_flag(const char *w)
{
	size_t i;

	for (i = 0; i < sizeof(vl_mig_flags) / sizeof(vl_mig_flags[0]); i++)
		if (strcmp(w, vl_mig_flags[i]) == 0)
			return true;
	return false;
}

static void vl_cpuinfo(struct vl_facts *f)
{
	char *buf, *line, *save = NULL;
	bool flags_done = false;
	size_t len;
	long n;

	n = sysconf(_SC_NPROCESSORS_ONLN);
	f->cpus = n > 0 ? (unsigned)n : 0;
	if (vl_slurp("/proc/cpuinfo", &buf, &len) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':'), *key, *val;

		if (colon == NULL)
			continue;
		*colon = '\0';
		key = vl_trim(line);
		val = vl_trim(colon + 1);
		if (strcmp(key, "vendor_id") == 0 && !f->cpu_vendor[0])
			cm_strlcpy(f->cpu_vendor, val, sizeof(f->cpu_vendor));
		else if (strcmp(key, "model name") == 0 && !f->cpu_model[0])
			cm_strlcpy(f->cpu_model, val, sizeof(f->cpu_model));
		else if ((strcmp(key, "flags") == 0 || strcmp(key, "Features") == 0) &&
			 !flags_done) {
			char *w, *s2 = NULL;

			/* the first CPU's flags; they are the same on all */
			flags_done = true;
			for (w = strtok_r(val, " \t", &s2); w; w = strtok_r(NULL, " \t", &s2)) {
				if (!vl_is_mig_flag(w) || f->n_cpu_flags >= VL_MAX_LIST)
					continue;
				cm_strlcpy(f->cpu_flags[f->n_cpu_flags++], w, VL_FLAG);
				if (strcmp(w, "vmx") == 0 || strcmp(w, "svm") == 0)
					f->virt_ext = true;
				if (strcmp(w, "lm") == 0)
					f->cpu_64bit = true;
			}
		}
	}
	free(buf);
}

static void vl_kvm(struct vl_facts *f)
{
	int fd, v;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		vl_set(f->kvm_detail, sizeof(f->kvm_detail), "/dev/kvm: %s%s",
		       strerror(errno), errno == ENOENT ?
		       " (kvm module not loaded, or no virtualization extensions)" : "");
		return;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v < 0)
		vl_set(f->kvm_detail, sizeof(f->kvm_detail),
		       "/dev/kvm: KVM_GET_API_VERSION failed: %s", strerror(errno));
	else if (v != VL_KVM_API)
		vl_set(f->kvm_detail, sizeof(f->kvm_detail),
		       "/dev/kvm: KVM API version %d, QEMU wants %d", v, VL_KVM_API);
	else {
		/* the API answering is not enough (a nested host may refuse VMs) */
		int vm = ioctl(fd, KVM_CREATE_VM, 0);

		if (vm < 0) {
			vl_set(f->kvm_detail, sizeof(f->kvm_detail),
			       "/dev/kvm answers (API %d) but creates no VM: %s", v, strerror(errno));
		} else {
			f->kvm_usable = true;
			vl_set(f->kvm_detail, sizeof(f->kvm_detail),
			       "/dev/kvm opens read-write, KVM API version %d, creates a VM", v);
			close(vm);
		}
	}
	close(fd);
}

static void vl_meminfo(struct vl_facts *f)
{
	char *buf, *line, *save = NULL;
	size_t len;

	if (vl_slurp("/proc/meminfo", &buf, &len) < 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long v;

		if (sscanf(line, "MemTotal: %llu", &v) == 1)
			f->mem_total_kib = v;
		else if (sscanf(line, "MemAvailable: %llu", &v) == 1)
			f->mem_avail_kib = v;
	}
	free(buf);
}

static void vl_inventory(struct vl_facts *f)
{
	struct utsname u;

	if (uname(&u) == 0) {
		cm_strlcpy(f->arch, u.machine, sizeof(f->arch));
		cm_strlcpy(f->kernel, u.release, sizeof(f->kernel));
		cm_strlcpy(f->hostname, u.nodename, sizeof(f->hostname));
	}
	vl_cpuinfo(f);
	/* non-x86 CPUs have no "lm" flag: a 64-bit kernel says enough */
	if (!f->cpu_64bit && strstr(f->arch, "64") != NULL)
		f->cpu_64bit = true;
	vl_kvm(f);
	vl_meminfo(f);
}

/* ---- system configuration ---- */

static void vl_hash_file(const char *path, char *dst, size_t len)
{
	char *buf;
	size_t n;

	if (vl_slurp(path, &buf, &n) < 0)
		return;
	vl_set(dst, len, "%016" PRIx64, cm_hash64(CM_HASH_INIT, buf, n));
	free(buf);
}

static void vl_services(struct vl_facts *f)
{
	char self_ns[64] = "";
	struct dirent *de;
	ssize_t n;
	DIR *d;

	n = readlink("/proc/self/ns/net", self_ns, sizeof(self_ns) - 1);
	self_ns[n > 0 ? n : 0] = '\0';
	d = opendir("/proc");
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[300], comm[64] = "", ns[64];
		FILE *fp;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		fp = fopen(path, "re");
		if (fp == NULL)
			continue;
		if (fgets(comm, sizeof(comm), fp) == NULL)
			comm[0] = '\0';
		fclose(fp);
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, "corosync") != 0 && strcmp(comm, "libvirtd") != 0 &&
		    strcmp(comm, "clusterd") != 0)
			continue;
		/* another network namespace: another node's daemon (see top) */
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		n = readlink(path, ns, sizeof(ns) - 1);
		if (n > 0 && self_ns[0]) {
			ns[n] = '\0';
			if (strcmp(ns, self_ns) != 0)
				continue;
		}
		if (strcmp(comm, "corosync") == 0)
			f->svc_corosync = true;
		else if (strcmp(comm, "libvirtd") == 0)
			f->svc_libvirtd = true;
		else
			f->svc_clusterd = true;
	}
	closedir(d);
}

static void vl_networks(struct vl_ctx *c)
{
	const char *argv[] = { "virsh", "-c", c->uri, "net-list", "--name", NULL };
	struct vl_facts *f = c->f;
	char out[VL_CMD_OUT], *line, *save = NULL;
	int rc;

	rc = vl_run(argv, c->timeout_s * 1000, out, sizeof(out));
	if (rc != 0)
		return;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *t = vl_trim(line);

		if (*t && f->n_networks < VL_MAX_LIST)
			cm_strlcpy(f->networks[f->n_networks++], t, VL_NAME);
	}
}

static int vl_cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Bridges by the driver ethtool names ("bridge"), which answers for this
 * network namespace even where /sys is another's; /sys as the fallback. */
static bool vl_is_bridge(int sock, const char *name)
{
	struct ethtool_drvinfo di;
	struct ifreq ifr;
	char path[300];
	struct stat st;

	memset(&ifr, 0, sizeof(ifr));
	memset(&di, 0, sizeof(di));
	cm_strlcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
	di.cmd = ETHTOOL_GDRVINFO;
	ifr.ifr_data = (void *)&di;
	if (sock >= 0 && ioctl(sock, SIOCETHTOOL, &ifr) == 0)
		return strcmp(di.driver, "bridge") == 0;
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", name);
	return stat(path, &st) == 0;
}

static void vl_ifaces(struct vl_facts *f)
{
	struct if_nameindex *ni, *p;
	struct ifaddrs *ifa, *a;
	int sock;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ni = if_nameindex();
	for (p = ni; p && p->if_index != 0; p++)
		if (vl_is_bridge(sock, p->if_name) && f->n_bridges < VL_MAX_LIST)
			cm_strlcpy(f->bridges[f->n_bridges++], p->if_name, VL_NAME);
	if (ni)
		if_freenameindex(ni);
	qsort(f->bridges, f->n_bridges, VL_NAME, vl_cmp_name);

	if (getifaddrs(&ifa) == 0) {
		for (a = ifa; a; a = a->ifa_next) {
			struct vl_iface *i;
			struct ifreq ifr;
			const void *src;

			if (a->ifa_addr == NULL || (a->ifa_flags & IFF_LOOPBACK))
				continue;
			if (a->ifa_addr->sa_family == AF_INET)
				src = &((struct sockaddr_in *)(void *)a->ifa_addr)->sin_addr;
			else if (a->ifa_addr->sa_family == AF_INET6)
				src = &((struct sockaddr_in6 *)(void *)a->ifa_addr)->sin6_addr;
			else
				continue;
			if (f->n_ifaces >= VL_MAX_LIST)
				break;
			i = &f->ifaces[f->n_ifaces];
			memset(i, 0, sizeof(*i));
			cm_strlcpy(i->name, a->ifa_name, sizeof(i->name));
			if (inet_ntop(a->ifa_addr->sa_family, src, i->addr, sizeof(i->addr)) == NULL)
				continue;
			i->up = (a->ifa_flags & IFF_UP) != 0;
			memset(&ifr, 0, sizeof(ifr));
			cm_strlcpy(ifr.ifr_name, a->ifa_name, sizeof(ifr.ifr_name));
			if (sock >= 0 && ioctl(sock, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
				i->mtu = (unsigned)ifr.ifr_mtu;
			f->n_ifaces++;
		}
		freeifaddrs(ifa);
	}
	if (sock >= 0)
		close(sock);
}

/* ---- peers ---- */

/* A numeric address (or a name, resolved: see the limits in the report)
 * into ss. */
static int vl_resolve(const char *addr, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST;
	rc = getaddrinfo(addr, NULL, &hints, &res);
	if (rc != 0) {
		hints.ai_flags = 0;
		rc = getaddrinfo(addr, NULL, &hints, &res);
	}
	if (rc != 0 || res == NULL)
		return -CM_E_UNREACHABLE;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static bool vl_is_our_addr(const struct vl_facts *f, const char *addr)
{
	struct sockaddr_storage ss;
	char txt[64];
	socklen_t sl;
	size_t i;

	cm_strlcpy(txt, addr, sizeof(txt));
	ss.ss_family = AF_UNSPEC;
	if (vl_resolve(addr, &ss, &sl) == 0) {
		if (ss.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, txt, sizeof(txt));
		else if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, txt, sizeof(txt));
	}
	for (i = 0; i < f->n_ifaces; i++)
		if (strcmp(f->ifaces[i].addr, txt) == 0)
			return true;
	/* loopback and addresses not listed: bind() succeeds only on ours */
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
		int s = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		bool ours = false;

		if (s >= 0) {
			ours = bind(s, (struct sockaddr *)&ss, sl) == 0;
			close(s);
		}
		return ours;
	}
	return false;
}

static void vl_add_peer(struct vl_ctx *c, const char *node, const char *addr, int link)
{
	struct vl_facts *f = c->f;
	struct vl_peer *p;
	size_t i;

	if (!*addr || (c->o->node && strcmp(node, c->o->node) == 0) ||
	    vl_is_our_addr(f, addr))
		return;
	for (i = 0; i < f->n_peers; i++)
		if (strcmp(f->peers[i].addr, addr) == 0)
			return;
	if (f->n_peers >= VL_MAX_LIST)
		return;
	p = &f->peers[f->n_peers++];
	memset(p, 0, sizeof(*p));
	cm_strlcpy(p->node, node, sizeof(p->node));
	cm_strlcpy(p->addr, addr, sizeof(p->addr));
	p->link = link;
	p->rtt_us = -1;
}

/* corosync.conf's nodelist: node { ringN_addr: A  name: N  nodeid: I }. */
#define VL_RINGS 8
struct vl_cnode {
	char name[VL_NAME];
	char nodeid[16];
	char addr[VL_RINGS][64];
};

static void vl_cnode_done(struct vl_ctx *c, const struct vl_cnode *n)
{
	char name[VL_NAME];
	int i;

	if (n->name[0])
		cm_strlcpy(name, n->name, sizeof(name));
	else
		vl_set(name, sizeof(name), "nodeid-%s", n->nodeid[0] ? n->nodeid : "?");
	if (strcmp(name, c->f->hostname) == 0)
		return;
	for (i = 0; i < VL_RINGS; i++)
		if (n->addr[i][0] && vl_is_our_addr(c->f, n->addr[i]))
			return;
	for (i = 0; i < VL_RINGS; i++)
		vl_add_peer(c, name, n->addr[i], i);
}

static void vl_conf_peers(struct vl_ctx *c)
{
	char *buf, *line, *save = NULL;
	char stack[8][32];
	int depth = 0;
	struct vl_cnode n;
	size_t len;

	if (vl_slurp(c->conf_path, &buf, &len) < 0)
		return;
	memset(&n, 0, sizeof(n));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *t, *br, *colon;

		line[strcspn(line, "#")] = '\0';
		t = vl_trim(line);
		if (!*t)
			continue;
		if ((br = strchr(t, '{')) != NULL) {
			*br = '\0';
			if (depth < 8)
				cm_strlcpy(stack[depth], vl_trim(t), sizeof(stack[0]));
			depth++;
			if (depth == 2 && strcmp(stack[0], "nodelist") == 0 &&
			    strcmp(stack[1], "node") == 0)
				memset(&n, 0, sizeof(n));
			continue;
		}
		if (strchr(t, '}') != NULL) {
			if (depth == 2 && strcmp(stack[0], "nodelist") == 0 &&
			    strcmp(stack[1], "node") == 0)
				vl_cnode_done(c, &n);
			if (depth > 0)
				depth--;
			continue;
		}
		if (depth != 2 || strcmp(stack[0], "nodelist") != 0 ||
		    strcmp(stack[1], "node") != 0 || (colon = strchr(t, ':')) == NULL)
			continue;
		*colon = '\0';
		{
			char *k = vl_trim(t), *v = vl_trim(colon + 1);
			int ring;

			if (strcmp(k, "name") == 0)
				cm_strlcpy(n.name, v, sizeof(n.name));
			else if (strcmp(k, "nodeid") == 0)
				cm_strlcpy(n.nodeid, v, sizeof(n.nodeid));
			else if (sscanf(k, "ring%d_addr", &ring) == 1 && ring >= 0 &&
				 ring < VL_RINGS)
				cm_strlcpy(n.addr[ring], v, sizeof(n.addr[0]));
		}
	}
	free(buf);
}

static void vl_opt_peers(struct vl_ctx *c)
{
	size_t i;

	for (i = 0; i < c->o->npeers; i++) {
		char spec[512], *eq, *a, *save = NULL;
		int link = 0;

		if (c->o->peers[i] == NULL)
			continue;
		cm_strlcpy(spec, c->o->peers[i], sizeof(spec));
		eq = strchr(spec, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		for (a = strtok_r(eq + 1, ",", &save); a; a = strtok_r(NULL, ",", &save), link++)
			vl_add_peer(c, vl_trim(spec), vl_trim(a), link);
	}
}

static uint16_t vl_csum(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t sum = 0;

	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* An ICMP socket for ss's family: an unprivileged ping socket where
 * net.ipv4.ping_group_range allows it, else a raw one (root). */
static int vl_icmp_socket(int family, bool *raw)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int s;

	*raw = false;
	s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, proto);
	if (s >= 0)
		return s;
	*raw = true;
	s = socket(family, SOCK_RAW | SOCK_CLOEXEC, proto);
	return s >= 0 ? s : -errno;
}

/* One echo of payload bytes, with DF (no fragmentation anywhere) if df.
 * 0 with *rtt_us, -ETIMEDOUT, -EMSGSIZE (bigger than our link), -errno. */
static int vl_echo(struct vl_ctx *c, const struct sockaddr_storage *ss,
		   socklen_t sl, size_t payload, bool df, int wait_ms,
		   int64_t *rtt_us)
{
	bool v4 = ss->ss_family == AF_INET, raw;
	size_t len = 8 + payload;
	unsigned char *pkt, *rbuf;
	int s, rc = -ETIMEDOUT;
	uint16_t seq, id;
	int64_t t0, deadline;

	s = vl_icmp_socket(ss->ss_family, &raw);
	if (s < 0)
		return s;
	pkt = calloc(1, len);
	rbuf = malloc(len + 128);
	if (pkt == NULL || rbuf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (df) {
		int v = v4 ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE, one = 1;

		if (v4)
			setsockopt(s, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
		else {
			setsockopt(s, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
			setsockopt(s, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
		}
	}
	seq = ++c->echo_seq;
	id = c->echo_id;
	pkt[0] = v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	pkt[4] = (unsigned char)(id >> 8);
	pkt[5] = (unsigned char)id;
	pkt[6] = (unsigned char)(seq >> 8);
	pkt[7] = (unsigned char)seq;
	memset(pkt + 8, 0xa5, payload);
	if (v4) {
		uint16_t cs = vl_csum(pkt, len);

		memcpy(pkt + 2, &cs, 2);
	}
	t0 = vl_now_us();
	if (sendto(s, pkt, len, 0, (const struct sockaddr *)ss, sl) < 0) {
		rc = -errno;
		goto out;
	}
	deadline = vl_now_ms() + wait_ms;
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		struct pollfd p = { .fd = s, .events = POLLIN };
		int64_t left = deadline - vl_now_ms();
		const unsigned char *ic;
		ssize_t n;
		size_t off = 0;

		if (left <= 0)
			break;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = recvfrom(s, rbuf, len + 128, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		if (raw && v4) {
			if (n < 20)
				continue;
			off = (size_t)(rbuf[0] & 0x0f) * 4;
		}
		if ((size_t)n < off + 8)
			continue;
		ic = rbuf + off;
		if (ic[0] != (v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY))
			continue;
		/* a ping socket's id is the kernel's and it filters for us */
		if (raw && ((ic[4] << 8 | ic[5]) != id))
			continue;
		if ((ic[6] << 8 | ic[7]) != seq)
			continue;
		if (from.ss_family != ss->ss_family ||
		    (v4 && memcmp(&((struct sockaddr_in *)&from)->sin_addr,
				  &((const struct sockaddr_in *)ss)->sin_addr, 4) != 0) ||
		    (!v4 && memcmp(&((struct sockaddr_in6 *)&from)->sin6_addr,
				   &((const struct sockaddr_in6 *)ss)->sin6_addr, 16) != 0))
			continue;
		*rtt_us = vl_now_us() - t0;
		rc = 0;
		break;
	}
out:
	free(pkt);
	free(rbuf);
	close(s);
	return rc;
}

static int vl_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* TCP connect within timeout_ms: 0 accepted, -ECONNREFUSED (the host is
 * there, the port closed), -ETIMEDOUT, -errno. */
static int vl_tcp(const struct sockaddr_storage *ss, socklen_t sl, int port,
		  int timeout_ms)
{
	struct sockaddr_storage a = *ss;
	struct pollfd p;
	int s, rc, err = 0;
	socklen_t el = sizeof(err);

	if (a.ss_family == AF_INET)
		((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&a)->sin6_port = htons((uint16_t)port);
	s = socket(a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sl) == 0) {
		close(s);
		return 0;
	}
	if (errno != EINPROGRESS) {
		rc = -errno;
		close(s);
		return rc;
	}
	p.fd = s;
	p.events = POLLOUT;
	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		rc = -ETIMEDOUT;
	else if (rc < 0)
		rc = -errno;
	else if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		rc = -errno;
	else
		rc = err ? -err : 0;
	close(s);
	return rc;
}

static void vl_probe_peer(struct vl_ctx *c, struct vl_peer *p)
{
	int64_t rtts[VL_ECHOES], deadline;
	struct sockaddr_storage ss;
	int n = 0, i, rc = 0, tcp, mtu_rc = 0;
	int echo_ms = c->timeout_s * 1000 / VL_ECHOES;
	size_t hdr;
	socklen_t sl;
	char why[96] = "";

	if (echo_ms > VL_ECHO_WAIT_MS)
		echo_ms = VL_ECHO_WAIT_MS;
	if (vl_resolve(p->addr, &ss, &sl) < 0) {
		vl_set(p->detail, sizeof(p->detail), "cannot resolve '%s'", p->addr);
		return;
	}
	hdr = ss.ss_family == AF_INET ? 28 : 48;
	deadline = vl_now_ms() + (int64_t)c->timeout_s * 1000;
	for (i = 0; i < VL_ECHOES && vl_now_ms() < deadline; i++) {
		int64_t rtt;

		rc = vl_echo(c, &ss, sl, VL_ECHO_PAYLOAD, false, echo_ms, &rtt);
		if (rc == 0)
			rtts[n++] = rtt;
		else if (rc != -ETIMEDOUT)
			break;
	}
	if (n > 0) {
		p->reachable = true;
		qsort(rtts, (size_t)n, sizeof(rtts[0]), vl_cmp_i64);
		p->rtt_us = rtts[n / 2];
		/* path MTU: 1500, then 9000, unfragmented */
		deadline = vl_now_ms() + (int64_t)c->timeout_s * 1000;
		mtu_rc = vl_echo(c, &ss, sl, VL_PMTU_STD - hdr, true, echo_ms, &rtts[0]);
		if (mtu_rc == 0) {
			p->path_mtu = VL_PMTU_STD;
			if (vl_now_ms() < deadline &&
			    vl_echo(c, &ss, sl, VL_PMTU_JUMBO - hdr, true, echo_ms, &rtts[0]) == 0)
				p->path_mtu = VL_PMTU_JUMBO;
		}
	} else if (rc == -ETIMEDOUT) {
		vl_set(why, sizeof(why), "no ICMP echo reply in %d ms", echo_ms * VL_ECHOES);
	} else {
		vl_set(why, sizeof(why), "ICMP echo: %s", strerror(-rc));
	}

	tcp = vl_tcp(&ss, sl, c->port, c->timeout_s * 1000);
	p->migration_port = tcp == 0;
	if (n > 0)
		vl_set(why, sizeof(why), "%d of %d ICMP echoes answered, %s", n, VL_ECHOES,
		       p->path_mtu == VL_PMTU_JUMBO ? "9000-byte packets pass unfragmented" :
		       p->path_mtu ? "1500-byte packets pass unfragmented, 9000-byte ones do not" :
		       mtu_rc == -EMSGSIZE ? "1500-byte packets do not fit this node's link MTU" :
		       "1500-byte packets do not pass unfragmented");
	else if (tcp == 0 || tcp == -ECONNREFUSED)
		p->reachable = true;    /* ICMP filtered, but the host answers TCP */
	vl_set(p->detail, sizeof(p->detail), "%s; TCP port %d: %s", why, c->port,
	       tcp == 0 ? "open" : tcp == -ECONNREFUSED ? "refused" :
	       tcp == -ETIMEDOUT ? "no answer in time" : strerror(-tcp));
}

/* ---- LUNs ---- */

struct vl_iwait {
	int done;
	int status;
	void *data;
};

static void vl_icb(struct iscsi_context *iscsi, int status, void *data, void *priv)
{
	struct vl_iwait *w = priv;

	(void)iscsi;
	w->done = 1;
	w->status = status;
	w->data = data;
}

static void vl_isilent(int level, const char *message)
{
	(void)level;
	(void)message;
}

static int vl_irun(struct iscsi_context *is, struct vl_iwait *w, int64_t deadline)
{
	while (!w->done) {
		int64_t left = deadline - vl_now_ms();
		struct pollfd p;
		int n;

		if (left <= 0)
			return -CM_E_TIMEOUT;
		p.fd = iscsi_get_fd(is);
		p.events = (short)iscsi_which_events(is);
		p.revents = 0;
		if (p.fd < 0)
			return -CM_E_UNREACHABLE;
		n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (iscsi_service(is, n > 0 ? p.revents : 0) < 0 && !w->done)
			return -CM_E_UNREACHABLE;
	}
	return 0;
}

/* One INQUIRY (unit attentions of the new session retried). On 0 *task
 * holds the answer (caller frees). */
static int vl_inquiry(struct iscsi_context *is, int lun, int evpd, int page,
		      int64_t deadline, struct scsi_task **task,
		      struct scsi_task **pending)
{
	int attempt;

	*task = NULL;
	if (*pending != NULL)
		return -CM_E_UNREACHABLE;   /* the session is not in a usable state */
	for (attempt = 0; attempt <= WIT_UA_RETRIES; attempt++) {
		struct vl_iwait w = { 0, 0, NULL };
		struct scsi_task *t;
		int rc;

		t = iscsi_inquiry_task(is, lun, evpd, page, 255, vl_icb, &w);
		if (t == NULL)
			return -ENOMEM;
		rc = vl_irun(is, &w, deadline);
		if (rc < 0) {
			/* still queued: freed after the context is destroyed */
			*pending = t;
			return rc;
		}
		if (w.status == SCSI_STATUS_GOOD && scsi_datain_unmarshall(t) != NULL) {
			*task = t;
			return 0;
		}
		if (w.status == SCSI_STATUS_CHECK_CONDITION &&
		    t->sense.key == SCSI_SENSE_UNIT_ATTENTION) {
			scsi_free_scsi_task(t);
			continue;
		}
		scsi_free_scsi_task(t);
		return -CM_E_IO;
	}
	return -CM_E_IO;
}

static void vl_hex(char *dst, size_t len, const char *pfx, const unsigned char *p, int n)
{
	size_t used;
	int i;

	cm_strlcpy(dst, pfx, len);
	used = strlen(dst);
	for (i = 0; i < n && used + 3 <= len; i++, used += 2)
		snprintf(dst + used, len - used, "%02x", p[i]);
}

static void vl_ascii(char *dst, size_t len, const char *pfx, const char *p, int n)
{
	char tmp[256];
	int i, k = 0;

	for (i = 0; i < n && k < (int)sizeof(tmp) - 1; i++)
		if (isprint((unsigned char)p[i]))
			tmp[k++] = p[i];
	tmp[k] = '\0';
	vl_set(dst, len, "%s%s", pfx, vl_trim(tmp));
}

/* The LUN's identity from VPD 0x83 (NAA, EUI-64, SCSI name, T10 vendor id,
 * in that order of preference, logical-unit association only), else the
 * unit serial number (VPD 0x80). */
static void vl_identity(struct iscsi_context *is, int lun, int64_t deadline,
			struct vl_lun *l, struct scsi_task **pending)
{
	static const int pref[] = { SCSI_DESIGNATOR_TYPE_NAA, SCSI_DESIGNATOR_TYPE_EUI_64,
				    SCSI_DESIGNATOR_TYPE_SCSI_NAME_STRING,
				    SCSI_DESIGNATOR_TYPE_T10_VENDORT_ID };
	struct scsi_task *t = NULL;
	size_t k;

	if (vl_inquiry(is, lun, 1, SCSI_INQUIRY_PAGECODE_DEVICE_IDENTIFICATION,
		       deadline, &t, pending) == 0) {
		struct scsi_inquiry_device_identification *di = scsi_datain_unmarshall(t);

		for (k = 0; k < sizeof(pref) / sizeof(pref[0]) && !l->identity[0]; k++) {
			struct scsi_inquiry_device_designator *d;

			for (d = di ? di->designators : NULL; d; d = d->next) {
				if ((int)d->designator_type != pref[k] ||
				    d->association != SCSI_ASSOCIATION_LOGICAL_UNIT)
					continue;
				if (d->code_set == SCSI_CODESET_BINARY)
					vl_hex(l->identity, sizeof(l->identity),
					       pref[k] == SCSI_DESIGNATOR_TYPE_NAA ? "naa." :
					       pref[k] == SCSI_DESIGNATOR_TYPE_EUI_64 ? "eui." : "t10.",
					       (const unsigned char *)d->designator, d->designator_length);
				else
					vl_ascii(l->identity, sizeof(l->identity),
						 pref[k] == SCSI_DESIGNATOR_TYPE_T10_VENDORT_ID ? "t10." : "",
						 d->designator, d->designator_length);
				break;
			}
		}
		scsi_free_scsi_task(t);
		t = NULL;
	}
	if (!l->identity[0] &&
	    vl_inquiry(is, lun, 1, SCSI_INQUIRY_PAGECODE_UNIT_SERIAL_NUMBER, deadline, &t,
		       pending) == 0) {
		struct scsi_inquiry_unit_serial_number *sn = scsi_datain_unmarshall(t);

		if (sn && sn->usn && sn->usn[0])
			vl_ascii(l->identity, sizeof(l->identity), "serial.", sn->usn,
				 (int)strlen(sn->usn));
		scsi_free_scsi_task(t);
	}
}

/* Vendor, product and identity through a session of our own: wit_scsi
 * keeps its libiscsi context to itself. Bounded by timeout_s as a whole. */
static int vl_lun_inquiry(struct vl_ctx *c, const struct wit_url *u, struct vl_lun *l,
			  char *err, size_t errlen)
{
	int64_t deadline = vl_now_ms() + (int64_t)c->timeout_s * 1000;
	struct iscsi_context *is;
	struct vl_iwait w = { 0, 0, NULL };
	struct scsi_task *t = NULL, *pending = NULL;
	int rc;

	is = iscsi_create_context(c->initiator);
	if (is == NULL) {
		vl_set(err, errlen, "INQUIRY: cannot create an iSCSI context");
		return -ENOMEM;
	}
	iscsi_set_log_level(is, 0);
	iscsi_set_log_fn(is, vl_isilent);
	iscsi_set_noautoreconnect(is, 1);
	iscsi_set_timeout(is, c->timeout_s + 1);
	if (iscsi_set_targetname(is, u->iqn) != 0 ||
	    iscsi_set_session_type(is, ISCSI_SESSION_NORMAL) != 0 ||
	    iscsi_connect_async(is, u->portal, vl_icb, &w) != 0) {
		rc = -CM_E_UNREACHABLE;
		goto out;
	}
	rc = vl_irun(is, &w, deadline);
	if (rc == 0 && w.status != SCSI_STATUS_GOOD)
		rc = -CM_E_UNREACHABLE;
	if (rc == 0) {
		memset(&w, 0, sizeof(w));
		if (iscsi_login_async(is, vl_icb, &w) != 0)
			rc = -CM_E_UNREACHABLE;
		else
			rc = vl_irun(is, &w, deadline);
		if (rc == 0 && w.status != SCSI_STATUS_GOOD)
			rc = -CM_E_UNREACHABLE;
	}
	if (rc == 0)
		rc = vl_inquiry(is, u->lun, 0, 0, deadline, &t, &pending);
	if (rc == 0) {
		struct scsi_inquiry_standard *s = scsi_datain_unmarshall(t);

		vl_ascii(l->vendor, sizeof(l->vendor), "", s->vendor_identification,
			 (int)strlen(s->vendor_identification));
		vl_ascii(l->product, sizeof(l->product), "", s->product_identification,
			 (int)strlen(s->product_identification));
		scsi_free_scsi_task(t);
		vl_identity(is, u->lun, deadline, l, &pending);
		if (!l->identity[0])
			vl_set(err, errlen, "INQUIRY: no VPD 0x83 logical-unit designator and no unit serial number");
		/* a polite logout, if time is left */
		memset(&w, 0, sizeof(w));
		if (pending == NULL && vl_now_ms() < deadline && iscsi_logout_async(is, vl_icb, &w) == 0)
			(void)vl_irun(is, &w, deadline);
	} else {
		vl_set(err, errlen, "INQUIRY: %s", rc == -CM_E_TIMEOUT ?
		       "no answer in time" : iscsi_get_error(is));
	}
out:
	iscsi_destroy_context(is);
	if (pending)
		scsi_free_scsi_task(pending);
	return rc;
}

static uint64_t vl_pr_key(struct vl_ctx *c, unsigned which)
{
	uint64_t h = CM_HASH_INIT;
	pid_t pid = getpid();

	h = cm_hash64(h, c->f->node, strlen(c->f->node));
	h = cm_hash64(h, c->f->hostname, strlen(c->f->hostname));
	h = cm_hash64(h, &pid, sizeof(pid));
	return VL_KEY_TAG | ((h & 0xffffff) << 8) | which;
}

/* Register, reserve, preempt from a second I_T nexus, release, unregister.
 * Another probe's test (its keys carry VL_KEY_TAG) is waited out. */
static void vl_pr_test(struct vl_ctx *c, const struct wit_url *u, struct wit_lun *a,
		       struct vl_lun *l)
{
	uint64_t ka = vl_pr_key(c, 1), kb = vl_pr_key(c, 2), holder = 0;
	int64_t deadline = vl_now_ms() + (int64_t)c->timeout_s * 1000;
	struct wit_lun *b = NULL;
	char init_b[240], err[VL_TEXT] = "";
	const char *step = "open a second session";
	bool reserved = false;
	int rc;

	vl_set(init_b, sizeof(init_b), "%s-b", c->initiator);
	rc = wit_lun_open(u, init_b, c->timeout_s, &b, err, sizeof(err));
	l->pr_tested = true;
	if (rc == 0) {
		step = "REGISTER";
		rc = wit_pr_register(a, ka, err, sizeof(err));
	}
	if (rc == 0)
		rc = wit_pr_register(b, kb, err, sizeof(err));
	if (rc == 0) {
		step = "RESERVE";
		for (;;) {
			char rerr[VL_TEXT];

			rc = wit_pr_reserve(a, ka, err, sizeof(err));
			if (rc != -CM_E_CONFLICT || vl_now_ms() >= deadline)
				break;
			/* Held by another probe's test: wait for its release. It
			 * may have released between our RESERVE and this read:
			 * then try again soon (a short pause bounds the loop if
			 * the target keeps refusing an unreserved LUN). Keep the
			 * RESERVE's error if the read fails. */
			if (wit_pr_read_reservation(a, &reserved, &holder, NULL, rerr,
						    sizeof(rerr)) != 0)
				break;
			if (!reserved) {
				vl_sleep_ms(VL_PR_RETRY_MS / 20);
				continue;
			}
			if ((holder & VL_KEY_TAG_MASK) != VL_KEY_TAG)
				break;
			vl_sleep_ms(VL_PR_RETRY_MS);
		}
	}
	if (rc == 0) {
		step = "PREEMPT";
		rc = wit_pr_preempt(b, kb, ka, err, sizeof(err));
	}
	if (rc == 0) {
		step = "READ RESERVATION after PREEMPT";
		rc = wit_pr_read_reservation(a, &reserved, &holder, NULL, err, sizeof(err));
		if (rc == 0 && (!reserved || holder != kb)) {
			vl_set(err, sizeof(err), "the reservation is %s, not with the preempting key 0x%" PRIx64,
			       reserved ? "held by another key" : "gone", kb);
			rc = -CM_E_IO;
		}
	}
	if (rc == 0) {
		step = "RELEASE";
		rc = wit_pr_release(b, kb, err, sizeof(err));
	}
	if (rc == 0) {
		step = "UNREGISTER";
		rc = wit_pr_unregister(b, kb, err, sizeof(err));
	}
	if (rc == 0)
		rc = wit_pr_unregister(a, ka, err, sizeof(err));
	if (rc == 0) {
		l->pr_ok = true;
		vl_set(l->detail, sizeof(l->detail),
		       "PR test passed: register, reserve, preempt from a second session, release, unregister");
	} else {
		char tmp[8];

		vl_set(l->detail, sizeof(l->detail), "PR test failed at %s: %s", step, err);
		/* leave nothing of ours behind (best effort) */
		if (b) {
			(void)wit_pr_release(b, kb, tmp, sizeof(tmp));
			(void)wit_pr_unregister(b, kb, tmp, sizeof(tmp));
		}
		(void)wit_pr_release(a, ka, tmp, sizeof(tmp));
		(void)wit_pr_unregister(a, ka, tmp, sizeof(tmp));
	}
	wit_lun_close(b);
}

static void vl_probe_lun(struct vl_ctx *c, const char *spec, struct vl_lun *l)
{
	char err[VL_TEXT] = "", ierr[VL_TEXT] = "";
	struct wit_lun *h = NULL;
	const char *eq = strchr(spec, '=');
	struct wit_url u;
	uint64_t holder = 0;
	bool reserved = false;
	int rc;

	memset(l, 0, sizeof(*l));
	if (eq == NULL) {
		cm_strlcpy(l->url, spec, sizeof(l->url));
		vl_set(l->detail, sizeof(l->detail), "'%s' is not ROLE=URL", spec);
		return;
	}
	vl_set(l->role, sizeof(l->role), "%.*s", (int)(eq - spec), spec);
	cm_strlcpy(l->url, eq + 1, sizeof(l->url));
	if (strcmp(l->role, "witness") != 0 && strcmp(l->role, "csv") != 0 &&
	    strcmp(l->role, "disk") != 0 && strcmp(l->role, "scratch") != 0) {
		vl_set(l->detail, sizeof(l->detail), "unknown role '%s' (witness, csv, disk, scratch)",
		       l->role);
		return;
	}
	if (wit_url_parse(l->url, &u, err, sizeof(err)) < 0) {
		cm_strlcpy(l->detail, err, sizeof(l->detail));
		return;
	}
	rc = wit_lun_open(&u, c->initiator, c->timeout_s, &h, err, sizeof(err));
	if (rc < 0) {
		cm_strlcpy(l->detail, err, sizeof(l->detail));
		return;
	}
	l->visible = true;
	l->bytes = wit_lun_bytes(h);
	rc = wit_pr_caps(h, err, sizeof(err));
	l->pr_caps = rc == 0;
	if (rc < 0) {
		cm_strlcpy(l->detail, err, sizeof(l->detail));
		goto out;
	}
	rc = wit_pr_read_reservation(h, &reserved, &holder, NULL, err, sizeof(err));
	if (rc < 0) {
		vl_set(l->detail, sizeof(l->detail), "READ RESERVATION: %s", err);
		goto out;
	}
	l->in_use = reserved && (holder & VL_KEY_TAG_MASK) != VL_KEY_TAG;
	if (l->in_use)
		vl_set(l->detail, sizeof(l->detail), "reserved by key 0x%" PRIx64 "%s", holder,
		       strcmp(l->role, "scratch") == 0 ? ": in use, PR test skipped" : "");
	else if (strcmp(l->role, "scratch") == 0)
		vl_pr_test(c, &u, h, l);
	else if (reserved)
		vl_set(l->detail, sizeof(l->detail), "reserved by another clusval probe's PR test (key 0x%" PRIx64 ")",
		       holder);
	else
		vl_set(l->detail, sizeof(l->detail), "not reserved");
out:
	wit_lun_close(h);
	/* after the close: never two sessions of one initiator name at once */
	(void)vl_lun_inquiry(c, &u, l, ierr, sizeof(ierr));
	if (ierr[0] && strlen(l->detail) + strlen(ierr) + 3 < sizeof(l->detail)) {
		size_t used = strlen(l->detail);

		snprintf(l->detail + used, sizeof(l->detail) - used, "; %s", ierr);
	}
}

/* ---- the probe ---- */

static void vl_default_initiator(struct vl_ctx *c)
{
	char *p;

	if (c->o->initiator && c->o->initiator[0]) {
		cm_strlcpy(c->initiator, c->o->initiator, sizeof(c->initiator));
		return;
	}
	/* not clusterd's name (iqn.2026-11.org.clusterd:NODE): a second
	 * session under the node's own name must never look like its witness */
	vl_set(c->initiator, sizeof(c->initiator), "iqn.2026-11.org.clusterd:clusval-%s",
	       c->f->node[0] ? c->f->node : c->f->hostname[0] ? c->f->hostname : "node");
	for (p = c->initiator; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != ':')
			*p = '-';
	}
}

int vl_probe(const struct vl_probe_opts *o, struct vl_facts *f)
{
	struct vl_ctx c;
	struct timespec ts;
	size_t i;

	memset(f, 0, sizeof(*f));
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.f = f;
	c.timeout_s = o->timeout_s > 0 ? o->timeout_s : VL_TIMEOUT_S;
	c.port = o->migration_port > 0 ? o->migration_port : VL_LIBVIRT_PORT;
	c.conf_path = o->corosync_conf ? o->corosync_conf : "/etc/corosync/corosync.conf";
	c.key_path = o->authkey ? o->authkey : "/etc/corosync/authkey";
	c.uri = o->libvirt_uri ? o->libvirt_uri : "qemu:///system";
	c.echo_id = (uint16_t)getpid();

	clock_gettime(CLOCK_REALTIME, &ts);
	f->time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	f->ok = true;
	cm_strlcpy(f->probe_version, PACKAGE_VERSION_STR, sizeof(f->probe_version));
	vl_inventory(f);
	{
		char *b = NULL;
		size_t bl = 0;

		if (vl_slurp("/proc/sys/kernel/random/boot_id", &b, &bl) == 0 && b)
			cm_strlcpy(f->boot_id, vl_trim(b), sizeof(f->boot_id));
		free(b);
	}
	cm_strlcpy(f->node, o->node && o->node[0] ? o->node : f->hostname, sizeof(f->node));
	vl_default_initiator(&c);
	vl_versions(&c);

	vl_hash_file(c.conf_path, f->corosync_conf_hash, sizeof(f->corosync_conf_hash));
	vl_hash_file(c.key_path, f->authkey_hash, sizeof(f->authkey_hash));
	vl_services(f);
	vl_networks(&c);
	vl_ifaces(f);

	vl_conf_peers(&c);
	vl_opt_peers(&c);
	for (i = 0; i < f->n_peers; i++)
		vl_probe_peer(&c, &f->peers[i]);

	for (i = 0; i < o->nluns && f->n_luns < sizeof(f->luns) / sizeof(f->luns[0]); i++)
		if (o->luns[i])
			vl_probe_lun(&c, o->luns[i], &f->luns[f->n_luns++]);
	vl_probe_files(o->files, o->nfiles, f);
	return 0;
}

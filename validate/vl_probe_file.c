/* vl_probe_file.c - the probe's facts about VM files (clusval probe --file).
 *
 * For each path asked about: whether it exists here, its kind, size,
 * device and inode, modification time, the filesystem type of the mount
 * holding it (from /proc/self/mountinfo, by device number), and for qcow2
 * images the backing file, which is then probed too (a differencing disk's
 * whole chain must be shared). Reads headers only; never writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cm_str.h"
#include "vl_probe.h"

#define QCOW2_MAGIC 0x514649fbu      /* "QFI\xfb" */
#define QCOW2_HDR 20                 /* magic, version, backing_file_offset, backing_file_size */
#define QCOW2_BACKING_MAX 1023       /* QEMU's own limit */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int vl_qcow2_backing_ref(const unsigned char *hdr, size_t len, uint64_t *off, uint32_t *size)
{
	*off = 0;
	*size = 0;
	if (len < QCOW2_HDR || be32(hdr) != QCOW2_MAGIC)
		return -1;
	*off = be64(hdr + 8);
	*size = be32(hdr + 16);
	if (*off == 0 || *size == 0) {
		*off = 0;
		*size = 0;
		return 0;
	}
	if (*size > QCOW2_BACKING_MAX || *off < QCOW2_HDR)
		return -2;
	return 1;
}

/* The filesystem type of the mount whose device is dev ("" unknown). */
static void fstype_of(dev_t dev, char *dst, size_t len)
{
	char line[4096], want[32];
	FILE *fp = fopen("/proc/self/mountinfo", "re");

	dst[0] = '\0';
	if (fp == NULL)
		return;
	snprintf(want, sizeof(want), "%u:%u", major(dev), minor(dev));
	while (fgets(line, sizeof(line), fp)) {
		char *save = NULL, *tok, *sep;
		int field = 0;
		bool match = false;

		for (tok = strtok_r(line, " ", &save); tok && field < 3; tok = strtok_r(NULL, " ", &save))
			if (++field == 3)
				match = strcmp(tok, want) == 0;
		if (!match || (sep = strstr(save ? save : "", " - ")) == NULL)
			continue;
		sep += 3;
		sep[strcspn(sep, " \n")] = '\0';
		cm_strlcpy(dst, sep, len);
		break;
	}
	fclose(fp);
}

/* Fill x (x->path already set); x->backing is the qcow2 backing file made
 * absolute, or "". */
static void probe_one(struct vl_file *x)
{
	unsigned char hdr[QCOW2_HDR];
	struct stat st;
	uint64_t off;
	uint32_t blen;
	ssize_t n;
	int fd, r;

	if (stat(x->path, &st) < 0) {
		snprintf(x->detail, sizeof(x->detail), "%s", strerror(errno));
		return;
	}
	x->exists = true;
	cm_strlcpy(x->kind, S_ISREG(st.st_mode) ? "file" : S_ISBLK(st.st_mode) ? "block" :
		   S_ISDIR(st.st_mode) ? "dir" : "other", sizeof(x->kind));
	x->size = (uint64_t)st.st_size;
	x->dev = (uint64_t)major(st.st_dev) << 32 | minor(st.st_dev);
	x->ino = (uint64_t)st.st_ino;
	x->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	fstype_of(st.st_dev, x->fstype, sizeof(x->fstype));
	if (!S_ISREG(st.st_mode))
		return;
	fd = open(x->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(x->detail, sizeof(x->detail), "exists, but cannot be read: %s", strerror(errno));
		return;
	}
	n = pread(fd, hdr, sizeof(hdr), 0);
	r = vl_qcow2_backing_ref(hdr, n > 0 ? (size_t)n : 0, &off, &blen);
	cm_strlcpy(x->format, r == -1 ? "raw" : "qcow2", sizeof(x->format));
	if (r == -2)
		snprintf(x->detail, sizeof(x->detail), "qcow2 header names a backing file the probe does not trust");
	if (r == 1) {
		char name[QCOW2_BACKING_MAX + 1];

		n = pread(fd, name, blen, (off_t)off);
		if (n != (ssize_t)blen || memchr(name, '\0', blen)) {
			snprintf(x->detail, sizeof(x->detail), "cannot read the qcow2 backing file name");
		} else {
			name[blen] = '\0';
			if (name[0] == '/' || strchr(name, ':')) {
				/* absolute, or a protocol (json:, nbd:, ...) kept as is */
				if (cm_strlcpy(x->backing, name, sizeof(x->backing)) < 0) {
					x->backing[0] = '\0';
					snprintf(x->detail, sizeof(x->detail), "backing file path too long");
				}
			} else {
				/* relative to the image's directory, as QEMU resolves it */
				const char *slash = strrchr(x->path, '/');
				int dl = slash ? (int)(slash - x->path) : 1;

				char full[VL_PATH + QCOW2_BACKING_MAX + 2];

				snprintf(full, sizeof(full), "%.*s/%s", dl, slash ? x->path : ".", name);
				if (cm_strlcpy(x->backing, full, sizeof(x->backing)) < 0) {
					x->backing[0] = '\0';
					snprintf(x->detail, sizeof(x->detail), "backing file path too long");
				}
			}
		}
	}
	close(fd);
}

static bool listed(const struct vl_facts *f, const char *path)
{
	for (size_t i = 0; i < f->n_files; i++)
		if (strcmp(f->files[i].path, path) == 0)
			return true;
	return false;
}

void vl_probe_files(const char *const *paths, size_t n, struct vl_facts *f)
{
	size_t i;

	for (i = 0; i < n && f->n_files < VL_MAX_FILES; i++) {
		if (paths[i] == NULL || paths[i][0] == '\0' || listed(f, paths[i]))
			continue;
		cm_strlcpy(f->files[f->n_files++].path, paths[i], VL_PATH);
	}
	/* the list grows as backing files are found: each is probed in turn */
	for (i = 0; i < f->n_files; i++) {
		struct vl_file *x = &f->files[i];

		probe_one(x);
		if (x->backing[0] == '\0' || strchr(x->backing, ':') || listed(f, x->backing))
			continue;
		if (f->n_files == VL_MAX_FILES) {
			snprintf(x->detail, sizeof(x->detail), "backing file not probed: more than %d files",
				 VL_MAX_FILES);
			continue;
		}
		cm_strlcpy(f->files[f->n_files].path, x->backing, VL_PATH);
		cm_strlcpy(f->files[f->n_files].of, x->path, VL_PATH);
		f->n_files++;
	}
}

/* res_disk.c - the 'physical-disk' resource type: a shared iSCSI LUN
 * that one node at a time owns through a SCSI-3 persistent reservation
 * (type WRITE EXCLUSIVE, key = the node's key).
 *
 * Every operation runs `<lun_tool> disk SUBCMD ...` (clusterd-lun, see
 * resources/lun_disk.c) as a child and waits on its pidfd; the tool's
 * exit status is the verdict and its one stderr line the text. The type
 * keeps no process while online (inst->main stays empty): the reservation
 * lives at the target, and QEMU's shim (cm_iscsi_pr.so) moves it onto
 * QEMU's own session.
 *
 * Properties (clusterd fills all but url; the first of a key wins):
 *   url           iscsi://ADDR[:PORT]/IQN/LUN (required, checked at create)
 *   lun_tool      absolute path of clusterd-lun
 *   initiator     this node's initiator IQN
 *   pr_key        this node's reservation key, hex (0x...)
 *   preempt_keys  keys the online may preempt (owner fenced, down or released)
 *   known_keys    keys of the cluster's nodes
 *   key_names     0xK=name,... for messages
 *   io_timeout_s  bound of each SCSI call (default 10)
 * online -> disk online, offline and terminate -> disk offline (a forced
 * stop of a disk is a release), looks_alive -> disk check, is_alive ->
 * disk check --defend (re-reserves a LUN nobody holds; never preempts).
 *
 * Also here: res_lun_run(), the spawn-and-wait step shared with res_csv.c.
 * Never here: SCSI (libresdrv links no libiscsi), waiting for a child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_err.h"
#include "res_type.h"

#define DISK_DEFAULT_IO_TIMEOUT_S 10
#define DISK_MAX_ARGS 24

/* ---- shared with res_csv.c: run the LUN tool, wait, report ---- */

static int lun_wait(struct res_call *c, int fd, res_step_fn next)
{
	c->fd = fd;
	c->next = next;
	return RES_CALL_WAIT;
}

static int lun_done(struct res_call *c)
{
	char why[RES_TEXT_MAX], line[RES_TEXT_MAX], how[64], ok_text[RES_TEXT_MAX];
	int status, failed;

	if (res_child_reap(&c->helper, &status) == -EAGAIN)
		return lun_wait(c, c->helper.pidfd, lun_done);
	snprintf(ok_text, sizeof(ok_text), "%s", c->text);  /* res_lun_run left it there */
	failed = res_child_exec_error(&c->helper, why, sizeof(why));
	res_child_stderr_line(&c->helper, line, sizeof(line));
	res_child_close(&c->helper);
	if (failed == 1)
		return res_call_done(c, false, "LUN tool: %s", why);
	if (status == 0)
		return res_call_done(c, true, "%s", line[0] ? line : ok_text[0] ? ok_text : "done");
	if (line[0])
		return res_call_done(c, false, "%s", line);
	res_status_to_str(status, how, sizeof(how));
	return res_call_done(c, false, "LUN tool %s", how);
}

int res_lun_spawn(struct res_call *c, const char *const *argv, res_step_fn next)
{
	struct res_spawn sp = { 0 };
	int rc;

	sp.argv = argv;
	sp.capture_stderr = true;
	rc = res_spawn(&sp, &c->helper);
	if (rc < 0)
		return res_call_done(c, false, "cannot start the LUN tool '%s': %s", argv[0], strerror(-rc));
	return lun_wait(c, c->helper.pidfd, next);
}

int res_lun_run(struct res_call *c, const char *const *argv, const char *ok_text)
{
	/* the text of a success without a line on stderr, kept in the
	 * call's own [out] text until the call is done */
	snprintf(c->text, sizeof(c->text), "%s", ok_text ? ok_text : "");
	return res_lun_spawn(c, argv, lun_done);
}

int res_lun_url_check(const char *url, char *err, size_t errlen)
{
	const char *p, *slash, *lsep, *q;
	size_t n;

	if (url == NULL || *url == '\0') {
		snprintf(err, errlen, "property 'url' is required (iscsi://ADDR[:PORT]/IQN/LUN)");
		return -CM_E_VALUE;
	}
	if (strncasecmp(url, "iscsi://", 8) != 0 || strpbrk(url, "?#@ \t") != NULL)
		goto bad;
	p = url + 8;
	slash = strchr(p, '/');
	if (slash == NULL || slash == p || *p == ':')
		goto bad;
	q = memchr(p, ':', (size_t)(slash - p));
	if (q && *p != '[') {
		if (q + 1 == slash || strspn(q + 1, "0123456789") != (size_t)(slash - q - 1) ||
		    strtoul(q + 1, NULL, 10) < 1 || strtoul(q + 1, NULL, 10) > 65535)
			goto bad;
	}
	lsep = strrchr(slash + 1, '/');
	if (lsep == NULL)
		goto bad;
	n = (size_t)(lsep - (slash + 1));
	if (n < 5 || (strncasecmp(slash + 1, "iqn.", 4) && strncasecmp(slash + 1, "eui.", 4) &&
		      strncasecmp(slash + 1, "naa.", 4)))
		goto bad;
	q = lsep + 1;
	if (*q == '\0' || strlen(q) > 5 || strspn(q, "0123456789") != strlen(q) ||
	    strtoul(q, NULL, 10) > 16383)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "property 'url' must be iscsi://ADDR[:PORT]/IQN/LUN (IQN starting with iqn., eui. or naa.; LUN 0..16383), not '%s'", url);
	return -CM_E_VALUE;
}

int res_lun_io_timeout(const struct res_call *c, char *buf, size_t len)
{
	const char *v = res_prop_get(c->props, c->nprops, "io_timeout_s");
	long t = DISK_DEFAULT_IO_TIMEOUT_S;

	if (v && *v)
		t = strtol(v, NULL, 10);
	if (t < 1 || t > 3600)
		t = DISK_DEFAULT_IO_TIMEOUT_S;
	/* an online makes a few bounded calls in a row: keep each well inside
	 * the operation's own timeout so the tool, not the executor, reports */
	if (c->timeout_ms > 0 && t * 1000 * 3 > c->timeout_ms)
		t = c->timeout_ms / 3000 > 0 ? c->timeout_ms / 3000 : 1;
	snprintf(buf, len, "%ld", t);
	return (int)t;
}

/* ---- the type ---- */

static bool disk_is_hex_key(const char *s)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 16);
	return errno == 0 && *end == '\0' && v != 0;
}

static int disk_check(const char *const *props, size_t nprops, char *err, size_t errlen)
{
	const char *tool = res_prop_get(props, nprops, "lun_tool");
	const char *key = res_prop_get(props, nprops, "pr_key");
	const char *to = res_prop_get(props, nprops, "io_timeout_s");
	int rc = res_lun_url_check(res_prop_get(props, nprops, "url"), err, errlen);

	if (rc < 0)
		return rc;
	if (tool && tool[0] != '/') {
		snprintf(err, errlen, "property 'lun_tool' must be an absolute path, not '%s'", tool);
		return -CM_E_VALUE;
	}
	if (key && !disk_is_hex_key(key)) {
		snprintf(err, errlen, "property 'pr_key' must be a non-zero hex number (0x...), not '%s'", key);
		return -CM_E_VALUE;
	}
	if (to) {
		char *end;
		long t = strtol(to, &end, 10);

		if (*to == '\0' || *end != '\0' || t < 1 || t > 3600) {
			snprintf(err, errlen, "property 'io_timeout_s' must be a number of seconds in 1..3600, not '%s'", to);
			return -CM_E_VALUE;
		}
	}
	return 0;
}

/* A property clusterd must have filled; NULL (and the call done) if not. */
static const char *disk_need(struct res_call *c, const char *key, int *rc)
{
	const char *v = res_prop_get(c->props, c->nprops, key);

	if (v == NULL || *v == '\0') {
		*rc = res_call_done(c, false, "property '%s' is not set (clusterd fills it for physical disks)", key);
		return NULL;
	}
	return v;
}

enum { DISK_ONLINE, DISK_OFFLINE, DISK_CHECK, DISK_DEFEND };

static int disk_run(struct res_call *c, int what)
{
	static const char *const sub[] = { "online", "offline", "check", "check" };
	static const char *const ok_text[] = { "reserved", "released", "reservation held",
					       "reservation held" };
	const char *argv[DISK_MAX_ARGS + 1];
	const char *tool, *url, *ini, *key, *v;
	char timeout[16];
	size_t n = 0;
	int rc = RES_CALL_DONE;

	if ((tool = disk_need(c, "lun_tool", &rc)) == NULL || (url = disk_need(c, "url", &rc)) == NULL ||
	    (ini = disk_need(c, "initiator", &rc)) == NULL || (key = disk_need(c, "pr_key", &rc)) == NULL)
		return rc;
	res_lun_io_timeout(c, timeout, sizeof(timeout));
	argv[n++] = tool;
	argv[n++] = "disk";
	argv[n++] = sub[what];
	argv[n++] = url;
	argv[n++] = "--initiator";
	argv[n++] = ini;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--timeout";
	argv[n++] = timeout;
	argv[n++] = "--report-stderr";
	if (what == DISK_ONLINE && (v = res_prop_get(c->props, c->nprops, "preempt_keys")) && *v) {
		argv[n++] = "--preempt";
		argv[n++] = v;
	}
	if (what == DISK_ONLINE && (v = res_prop_get(c->props, c->nprops, "known_keys")) && *v) {
		argv[n++] = "--known";
		argv[n++] = v;
	}
	if ((v = res_prop_get(c->props, c->nprops, "key_names")) && *v) {
		argv[n++] = "--names";
		argv[n++] = v;
	}
	if (what == DISK_DEFEND)
		argv[n++] = "--defend";
	argv[n] = NULL;
	return res_lun_run(c, argv, ok_text[what]);
}

static int disk_online(struct res_call *c) { return disk_run(c, DISK_ONLINE); }
static int disk_offline(struct res_call *c) { return disk_run(c, DISK_OFFLINE); }
static int disk_looks_alive(struct res_call *c) { return disk_run(c, DISK_CHECK); }
static int disk_is_alive(struct res_call *c) { return disk_run(c, DISK_DEFEND); }


const struct res_type_ops res_disk_ops = {
	.name = "physical-disk",
	.check = disk_check,
	.online = disk_online,
	.offline = disk_offline,
	.terminate = disk_offline,
	.looks_alive = disk_looks_alive,
	.is_alive = disk_is_alive,
	.migrate = NULL,
};

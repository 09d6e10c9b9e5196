/* res_process.c - the 'process' resource type: a command line run as a
 * service, like a generic application resource.
 *
 * Properties: command (required), check_command (is_alive; exit 0 = alive),
 * log_file (absolute; stdout and stderr appended, else /dev/null).
 * The command runs in its own session and process group, so offline and
 * terminate reach everything it started; it must stay in the foreground
 * (a command that daemonises looks like one that exited).
 *
 * A command that is a plain list of words starting with a path
 * ("/usr/bin/sleep 100") is exec'd directly, so a wrong program fails the
 * online through the exec-error pipe; anything else runs as
 * /bin/sh -c "$command", where a wrong program can only show as the shell
 * exiting 127 (a health failure right after a successful online).
 *
 * Never here: waiting for a child (every step returns at once).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "res_type.h"

#define PROC_MAX_ARGS 64
#define PROC_SHELL "/bin/sh"
#define PROC_ENV_NAME "CLUSTERD_RESOURCE"

/* Characters that mean nothing to the shell: a command made of these (and
 * blanks) is split on blanks and exec'd without one. */
static const char proc_plain_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_@%+=:,./- \t";


static int proc_wait(struct res_call *c, int fd, res_step_fn next)
{
	c->fd = fd;
	c->next = next;
	return RES_CALL_WAIT;
}

static bool proc_is_plain(const char *cmd)
{
	size_t first;

	cmd += strspn(cmd, " \t");
	first = strcspn(cmd, " \t");
	/* a first word with '=' would be an assignment to the shell */
	return cmd[strspn(cmd, proc_plain_chars)] == '\0' && memchr(cmd, '/', first) != NULL &&
	       memchr(cmd, '=', first) == NULL;
}

/* Split a plain command in place into argv; NULL if it has too many words. */
static const char **proc_split(char *cmd, const char **argv, size_t max)
{
	size_t n = 0;
	char *p = cmd;

	while (*(p += strspn(p, " \t")) != '\0') {
		if (n == max)
			return NULL;
		argv[n++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
	}
	argv[n] = NULL;
	return argv;
}

/* The program a command runs, for messages. */
static void proc_program(const char *cmd, char *buf, size_t len)
{
	if (!proc_is_plain(cmd)) {
		snprintf(buf, len, "%s", PROC_SHELL);
		return;
	}
	cmd += strspn(cmd, " \t");
	snprintf(buf, len, "%.*s", (int)strcspn(cmd, " \t"), cmd);
}

/* Start cmd for resource c->res: the service itself or its check_command. */
static int proc_spawn(const struct res_call *c, const char *cmd, struct res_child *ch)
{
	const char *argv[PROC_MAX_ARGS + 1];
	char env[sizeof(PROC_ENV_NAME) + RES_NAME_MAX + 1];
	struct res_spawn sp = { 0 };
	char *copy = NULL;
	int rc;

	snprintf(env, sizeof(env), PROC_ENV_NAME "=%s", c->res);
	sp.env_add = env;
	sp.out_path = res_prop_get(c->props, c->nprops, "log_file");
	if (proc_is_plain(cmd)) {
		copy = strdup(cmd);
		if (copy == NULL)
			return -ENOMEM;
		sp.argv = proc_split(copy, argv, PROC_MAX_ARGS);
	}
	if (sp.argv == NULL) { /* shell syntax, or too many words to split */
		argv[0] = PROC_SHELL;
		argv[1] = "-c";
		argv[2] = cmd;
		argv[3] = NULL;
		sp.argv = argv;
	}
	rc = res_spawn(&sp, ch);
	free(copy);
	return rc;
}

static int proc_check(const char *const *props, size_t nprops, char *err, size_t errlen)
{
	const char *cmd = res_prop_get(props, nprops, "command");
	const char *log = res_prop_get(props, nprops, "log_file");

	if (cmd == NULL || cmd[strspn(cmd, " \t")] == '\0') {
		snprintf(err, errlen, "a resource of type 'process' needs a non-empty 'command' property");
		return -CM_E_VALUE;
	}
	if (log && log[0] != '/') {
		snprintf(err, errlen, "property 'log_file' must be an absolute path, not '%s'", log);
		return -CM_E_VALUE;
	}
	return 0;
}

/* ---- online: done once the command has been exec'd ---- */

enum { ONLINE_STARTING = 0, ONLINE_EXEC_FAILED = 1, ONLINE_KILLED = 2 };

static int online_reaped(struct res_call *c)
{
	struct res_child *m = &c->inst->main;
	char t[RES_TEXT_MAX];
	int status;

	if (res_child_reap(m, &status) == -EAGAIN)
		return proc_wait(c, m->pidfd, online_reaped);
	res_child_close(m);
	if (c->stage == ONLINE_KILLED) {
		res_ms_to_str(c->timeout_ms, t, sizeof(t));
		return res_call_done(c, false, "not started within %s: killed", t);
	}
	return RES_CALL_DONE; /* ONLINE_EXEC_FAILED: text and ok are set */
}

static int online_exec_result(struct res_call *c)
{
	struct res_child *m = &c->inst->main;
	const char *cmd = res_prop_get(c->props, c->nprops, "command");
	char why[RES_TEXT_MAX], prog[64];
	int rc = res_child_exec_error(m, why, sizeof(why));

	if (rc == -EAGAIN)
		return proc_wait(c, m->errfd, online_exec_result);
	if (rc == 0)
		return res_call_done(c, true, "started (pid %d)", (int)m->pid);
	/* it exits 127 right after telling us; reap it before reporting */
	proc_program(cmd ? cmd : "", prog, sizeof(prog));
	res_call_done(c, false, "'%s': %s", prog, why);
	c->stage = ONLINE_EXEC_FAILED;
	return proc_wait(c, m->pidfd, online_reaped);
}

static int online_expire(struct res_call *c)
{
	res_child_kill(&c->inst->main, SIGKILL);
	c->stage = ONLINE_KILLED;
	return proc_wait(c, c->inst->main.pidfd, online_reaped);
}

static int proc_online(struct res_call *c)
{
	struct res_child *m = &c->inst->main;
	const char *cmd = res_prop_get(c->props, c->nprops, "command");
	int rc, status;

	if (m->pid > 0) {
		/* plans repeat: an online of a running service is a success */
		if (!res_child_exited(m))
			return res_call_done(c, true, "already running (pid %d)", (int)m->pid);
		res_child_reap(m, &status);
		res_child_close(m);
	}
	if (cmd == NULL || cmd[0] == '\0')
		return res_call_done(c, false, "no 'command' property");
	rc = proc_spawn(c, cmd, m);
	if (rc < 0)
		return res_call_done(c, false, "cannot start the command: %s", strerror(-rc));
	c->expire = online_expire;
	c->stage = ONLINE_STARTING;
	return proc_wait(c, m->errfd, online_exec_result);
}

/* ---- offline: SIGTERM, then SIGKILL at the timeout; ok once gone ---- */

static int offline_gone(struct res_call *c)
{
	struct res_child *m = &c->inst->main;
	char how[64], t[32];
	int status;

	if (res_child_reap(m, &status) == -EAGAIN)
		return proc_wait(c, m->pidfd, offline_gone);
	res_child_close(m);
	if (c->stage == 0) {
		res_status_to_str(status, how, sizeof(how));
		return res_call_done(c, true, "stopped: process %s", how);
	}
	res_ms_to_str(c->timeout_ms, t, sizeof(t));
	return res_call_done(c, true, "did not stop within %s of SIGTERM: killed", t);
}

static int offline_expire(struct res_call *c)
{
	res_child_kill(&c->inst->main, SIGKILL);
	c->stage = 1;
	return proc_wait(c, c->inst->main.pidfd, offline_gone);
}

static int proc_offline(struct res_call *c)
{
	struct res_child *m = &c->inst->main;

	if (m->pid <= 0)
		return res_call_done(c, true, "not running");
	res_child_kill(m, SIGTERM);
	c->expire = offline_expire;
	return proc_wait(c, m->pidfd, offline_gone);
}

/* ---- terminate: SIGKILL at once; ok once gone ---- */

static int terminate_gone(struct res_call *c)
{
	struct res_child *m = &c->inst->main;
	int status;

	if (res_child_reap(m, &status) == -EAGAIN)
		return proc_wait(c, m->pidfd, terminate_gone);
	res_child_close(m);
	return res_call_done(c, true, "killed");
}

static int proc_terminate(struct res_call *c)
{
	struct res_child *m = &c->inst->main;

	if (m->pid <= 0)
		return res_call_done(c, true, "not running");
	res_child_kill(m, SIGKILL);
	return proc_wait(c, m->pidfd, terminate_gone);
}

/* ---- health ---- */

static int proc_looks_alive(struct res_call *c)
{
	if (c->inst->main.pid > 0 && !res_child_exited(&c->inst->main))
		return res_call_done(c, true, "running");
	return res_call_done(c, false, "process is not running");
}

static int check_done(struct res_call *c)
{
	char why[RES_TEXT_MAX], how[64];
	int status, failed;

	if (res_child_reap(&c->helper, &status) == -EAGAIN)
		return proc_wait(c, c->helper.pidfd, check_done);
	failed = res_child_exec_error(&c->helper, why, sizeof(why));
	res_child_close(&c->helper);
	if (failed == 1)
		return res_call_done(c, false, "check_command: %s", why);
	if (status == 0)
		return res_call_done(c, true, "check_command passed");
	res_status_to_str(status, how, sizeof(how));
	return res_call_done(c, false, "check_command %s", how);
}

static int proc_is_alive(struct res_call *c)
{
	const char *chk = res_prop_get(c->props, c->nprops, "check_command");
	int rc;

	if (chk == NULL || chk[strspn(chk, " \t")] == '\0')
		return proc_looks_alive(c);
	rc = proc_spawn(c, chk, &c->helper);
	if (rc < 0)
		return res_call_done(c, false, "cannot start check_command: %s", strerror(-rc));
	return proc_wait(c, c->helper.pidfd, check_done);
}

static void proc_exited(struct res_inst *inst, char *text, size_t len)
{
	char how[64];
	int status, rc = res_child_reap(&inst->main, &status);

	if (rc < 0) {
		snprintf(text, len, "process is gone (%s)", strerror(-rc));
		return;
	}
	res_child_close(&inst->main);
	res_status_to_str(status, how, sizeof(how));
	snprintf(text, len, "process %s", how);
}

static void proc_kill_now(struct res_inst *inst)
{
	res_child_kill(&inst->main, SIGKILL);
}

const struct res_type_ops res_process_ops = {
	.name = "process",
	.check = proc_check,
	.online = proc_online,
	.offline = proc_offline,
	.terminate = proc_terminate,
	.looks_alive = proc_looks_alive,
	.is_alive = proc_is_alive,
	.migrate = NULL,
	.exited = proc_exited,
	.kill_now = proc_kill_now,
};

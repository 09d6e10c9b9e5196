/* res_type.c - the table of resource types and the child-process helpers
 * they share (spawn, exec-error pipe, reaping).
 *
 * Never here: waiting for a child (every function returns at once) or
 * touching a process that is not our unreaped child or its process group.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_err.h"
#include "res_type.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const struct res_type_ops *const res_types[] = {
	&res_process_ops,
	&res_vm_ops,
	&res_vmconfig_ops,
	&res_disk_ops,
	&res_csv_ops,
};
#define RES_NTYPES (sizeof(res_types) / sizeof(res_types[0]))

const struct res_type_ops *res_type_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < RES_NTYPES; i++)
		if (strcmp(res_types[i]->name, name) == 0)
			return res_types[i];
	return NULL;
}

int res_type_check(const char *type, const char *const *props, size_t nprops,
		   char *err, size_t errlen)
{
	const struct res_type_ops *t = res_type_find(type);
	size_t i, off = 0;
	char known[128] = "";

	if (t == NULL) {
		for (i = 0; i < RES_NTYPES && off < sizeof(known); i++)
			off += (size_t)snprintf(known + off, sizeof(known) - off, "%s%s",
						i ? ", " : "", res_types[i]->name);
		snprintf(err, errlen, "unknown resource type '%s' (known: %s)", type ? type : "", known);
		return -CM_E_VALUE;
	}
	return t->check ? t->check(props, nprops, err, errlen) : 0;
}

const char *res_prop_get(const char *const *props, size_t nprops, const char *key)
{
	size_t i, n = strlen(key);

	for (i = 0; i < nprops; i++)
		if (props[i] && strncmp(props[i], key, n) == 0 && props[i][n] == '=')
			return props[i] + n + 1;
	return NULL;
}

void res_ms_to_str(int64_t ms, char *buf, size_t len)
{
	if (ms > 0 && ms % 1000 == 0)
		snprintf(buf, len, "%lld s", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lld ms", (long long)ms);
}

void res_status_to_str(int status, char *buf, size_t len)
{
	if (status == -1)  /* res_child_reap: someone else reaped it */
		snprintf(buf, len, "exited (status unknown)");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "ended with wait status %#x", (unsigned)status);
}

/* ---- spawning ---- */

/* Where the child failed before exec, sent through the exec-error pipe. */
enum { SP_SESSION = 1, SP_DEATHSIG, SP_STDIN, SP_OUTPUT, SP_FDS, SP_EXEC };
struct spawn_err {
	int stage;
	int err;
};

static const char *spawn_stage_str(int stage)
{
	switch (stage) {
	case SP_SESSION: return "cannot start a session";
	case SP_DEATHSIG: return "cannot set the parent-death signal";
	case SP_STDIN: return "cannot open its stdin";
	case SP_OUTPUT: return "cannot open its output file";
	case SP_FDS: return "cannot set up its stdio";
	case SP_EXEC: return "cannot execute";
	default: return "cannot start";
	}
}

void res_child_init(struct res_child *ch)
{
	ch->pid = 0;
	ch->pidfd = ch->errfd = ch->outfd = -1;
}

/* The environment plus one "NAME=value" (replacing NAME), built before the
 * fork: after it only async-signal-safe calls are allowed (clusterd has
 * threads). The strings stay environ's; only the array is ours. */
static char **env_with(const char *add)
{
	const char *eq = strchr(add, '=');
	size_t klen = eq ? (size_t)(eq - add) + 1 : strlen(add);
	size_t n = 0, i, j = 0;
	char **env;

	while (environ && environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], add, klen) != 0)
			env[j++] = environ[i];
	env[j] = (char *)add;
	return env;
}

static int memfd_with(const char *name, const char *text)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	size_t off = 0, len = text ? strlen(text) : 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return (int)n;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	return fd;
}

static void __attribute__((noreturn)) child_fail(int pipefd, int stage, int err)
{
	struct spawn_err e = { stage, err };

	if (write(pipefd, &e, sizeof(e)) < 0)
		_exit(127); /* the parent is gone: nobody to tell */
	_exit(127);
}

/* Nothing of the daemon's (sockets, the database) may leak into the child. */
static void cloexec_from_3(void)
{
	struct rlimit rl;
	long fd, max = 4096;

	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	/* kernels before 5.11 */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536)
		max = (long)rl.rlim_cur;
	for (fd = 3; fd < max; fd++)
		fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

static void reset_signals(void)
{
	struct sigaction dfl;
	sigset_t none;
	int sig;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	/* clusterd ignores SIGPIPE and the loop may block signals: a service
	 * must start with the defaults. */
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn)) child_run(const struct res_spawn *sp, char *const *envp,
						int in, int err, int pipefd, pid_t parent)
{
	int out;

	/* fds 0-2 may be among ours if the parent had them closed */
	pipefd = fcntl(pipefd, F_DUPFD_CLOEXEC, 3);
	if (pipefd < 0)
		_exit(127);
	reset_signals();
	if (setsid() < 0)
		child_fail(pipefd, SP_SESSION, errno);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		child_fail(pipefd, SP_DEATHSIG, errno);
	if (getppid() != parent)
		_exit(127); /* the parent died before prctl: its death signal was missed */
	if (in < 0 && (in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		child_fail(pipefd, SP_STDIN, errno);
	if (sp->out_path)
		out = open(sp->out_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	else
		out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (out < 0)
		child_fail(pipefd, SP_OUTPUT, errno);
	if (err < 0)
		err = out;
	/* move the sources above 2 first so the dup2 calls cannot clobber them */
	in = fcntl(in, F_DUPFD_CLOEXEC, 3);
	out = fcntl(out, F_DUPFD_CLOEXEC, 3);
	err = fcntl(err, F_DUPFD_CLOEXEC, 3);
	if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		child_fail(pipefd, SP_FDS, errno);
	cloexec_from_3();
	execve(sp->argv[0], (char *const *)sp->argv, envp);
	child_fail(pipefd, SP_EXEC, errno);
}

static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int res_spawn(const struct res_spawn *sp, struct res_child *ch)
{
	int pipefd[2] = { -1, -1 }, in = -1, err = -1, rc = 0;
	char **env = NULL;
	pid_t parent = getpid(), pid;

	res_child_init(ch);
	if (sp->env_add && (env = env_with(sp->env_add)) == NULL)
		return -ENOMEM;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out;
	}
	if (sp->stdin_text && (in = rc = memfd_with("res-stdin", sp->stdin_text)) < 0)
		goto out;
	if (sp->capture_stderr && (err = rc = memfd_with("res-stderr", NULL)) < 0)
		goto out;
	rc = 0;
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		goto out;
	}
	if (pid == 0)
		child_run(sp, env ? env : environ, in, err, pipefd[1], parent);
	ch->pid = pid;
	ch->pidfd = pidfd_of(pid);
	if (ch->pidfd < 0) {
		rc = -errno;
		/* Without a pidfd nobody would ever reap it. It has not exec'd
		 * anything yet and SIGKILL ends it at once, so this wait is short. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ch->pid = 0;
		goto out;
	}
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	ch->errfd = pipefd[0];
	pipefd[0] = -1;
	ch->outfd = err;
	err = -1;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (in >= 0)
		close(in);
	if (err >= 0)
		close(err);
	free(env);
	return rc;
}

bool res_child_exited(const struct res_child *ch)
{
	struct pollfd p;

	if (ch->pid <= 0 || ch->pidfd < 0)
		return true;
	p.fd = ch->pidfd;
	p.events = POLLIN;
	p.revents = 0;
	return poll(&p, 1, 0) > 0;
}

void res_child_kill(const struct res_child *ch, int sig)
{
	if (ch->pid <= 0)
		return;
	if (kill(-ch->pid, sig) < 0 && errno == ESRCH)
		kill(ch->pid, sig);
}

int res_child_exec_error(struct res_child *ch, char *text, size_t len)
{
	struct spawn_err e;
	ssize_t n;

	if (ch->errfd < 0)
		return 0;
	n = read(ch->errfd, &e, sizeof(e));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	close(ch->errfd);
	ch->errfd = -1;
	if (n != (ssize_t)sizeof(e))
		return 0; /* EOF: the exec closed the pipe */
	snprintf(text, len, "%s: %s", spawn_stage_str(e.stage), strerror(e.err));
	return 1;
}

int res_child_reap(struct res_child *ch, int *status)
{
	siginfo_t si;

	if (ch->pid <= 0)
		return -ECHILD;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)ch->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno != ECHILD)
			return -errno;
		/* SIGCHLD ignored, or reaped elsewhere: the status is lost */
		*status = -1;
		goto gone;
	}
	if (si.si_pid == 0)
		return -EAGAIN;
	/* stragglers (background children of a shell) go with the leader */
	kill(-ch->pid, SIGKILL);
	if (waitpid(ch->pid, status, WNOHANG) <= 0)
		*status = -1;
gone:
	ch->pid = 0;
	if (ch->pidfd >= 0)
		close(ch->pidfd);
	ch->pidfd = -1;
	return 0;
}

void res_child_stderr_line(const struct res_child *ch, char *buf, size_t len)
{
	ssize_t n;
	char *nl;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (ch->outfd < 0)
		return;
	n = pread(ch->outfd, buf, len - 1, 0);
	if (n <= 0) {
		buf[0] = '\0';
		return;
	}
	buf[n] = '\0';
	nl = strpbrk(buf, "\r\n");
	if (nl)
		*nl = '\0';
}

void res_child_close(struct res_child *ch)
{
	if (ch->pidfd >= 0)
		close(ch->pidfd);
	if (ch->errfd >= 0)
		close(ch->errfd);
	if (ch->outfd >= 0)
		close(ch->outfd);
	res_child_init(ch);
}

int res_call_done(struct res_call *c, bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->text, sizeof(c->text), fmt, ap);
	va_end(ap);
	c->ok = ok;
	return RES_CALL_DONE;
}

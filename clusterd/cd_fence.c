/* cd_fence.c - fence agent runs for the executor: the fence-agents calling
 * convention ("key=value" lines on stdin: action=off, plug=NODE, then the
 * node's fence_args), a timeout per attempt, retries after a short pause,
 * one run per target at a time.
 *
 * Never here: blocking or sleeping (the agent's exit comes through its
 * pidfd, timeouts and pauses are loop timers), or reaping any child but the
 * agent (by pid).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <qb/qbdefs.h>

#include "cm_str.h"
#include "cd_exec.h"
#include "res_type.h"

#define CD_FENCE_DIR "/usr/sbin"            /* where fence-agents installs fence_* */
#define CD_FENCE_TIMEOUT_DEFAULT_MS 60000   /* fence_timeout_s default */
/* Pause before a retry: a device that just failed (a busy management board,
 * a dropped session) gets a moment, but recovery of the node's groups waits
 * on this run, so at most 1 s, and a quarter of a short attempt timeout. */
#define CD_FENCE_RETRY_MAX_MS 1000
/* After SIGKILL at an attempt's timeout: a killed agent is gone at once
 * unless stuck in the kernel, and then waiting longer does not help. */
#define CD_FENCE_KILL_GRACE_MS 5000

/* Keys the cluster sets itself: fence_args must not turn "off" into
 * something else or aim it at another node. */
static const char *const fence_own_keys[] = { "action", "option", "plug", "port", "nodename" };

struct fence_run {
	struct fence_run *next;
	struct cd_fencing *f;
	char target[RES_NAME_MAX];
	char agent[PATH_MAX];
	char *input;                 /* the stdin lines */
	int64_t timeout_ms;
	int attempts;                /* 1 + retries */
	int attempt;                 /* the current one, from 1 */
	struct res_child child;
	bool polled;
	qb_loop_timer_handle timer;  /* the attempt's timeout, or the pause before the next */
	bool timer_on;
	bool timed_out;
	char last[RES_TEXT_MAX + 64];   /* how the last attempt ended */
};

struct cd_fencing {
	qb_loop_t *loop;
	const struct cd_exec_ops *ops;
	void *ctx;
	struct fence_run *runs;
};

static void flog(struct cd_fencing *f, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void flog(struct cd_fencing *f, int prio, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (f->ops->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	f->ops->log(f->ctx, prio, buf);
}

static bool fence_own_key(const char *tok, size_t len)
{
	size_t i, klen = strcspn(tok, "=");

	if (klen > len)
		klen = len;
	for (i = 0; i < sizeof(fence_own_keys) / sizeof(fence_own_keys[0]); i++)
		if (strlen(fence_own_keys[i]) == klen && strncmp(tok, fence_own_keys[i], klen) == 0)
			return true;
	return false;
}

/* action=off, plug=target, then each whitespace-separated word of args on
 * its own line. NULL on allocation failure. */
static char *fence_input(struct cd_fencing *f, const char *target, const char *args)
{
	const char *p = args ? args : "";
	struct cm_sb sb;
	size_t len;

	cm_sb_init(&sb);
	cm_sb_printf(&sb, "action=off\nplug=%s\n", target);
	while (*(p += strspn(p, " \t\r\n")) != '\0') {
		len = strcspn(p, " \t\r\n");
		if (fence_own_key(p, len))
			flog(f, LOG_WARNING, "fencing '%s': fence_args word '%.*s' ignored: the cluster sets it",
			     target, (int)len, p);
		else {
			cm_sb_add(&sb, p, len);
			cm_sb_putc(&sb, '\n');
		}
		p += len;
	}
	return cm_sb_steal(&sb);
}

static void run_timer_stop(struct fence_run *run)
{
	if (run->timer_on)
		qb_loop_timer_del(run->f->loop, run->timer);
	run->timer_on = false;
}

static bool run_timer_arm(struct fence_run *run, int64_t ms, void (*fn)(void *))
{
	run_timer_stop(run);
	run->timer_on = qb_loop_timer_add(run->f->loop, QB_LOOP_MED,
					  (uint64_t)(ms > 0 ? ms : 0) * QB_TIME_NS_IN_MSEC, run, fn,
					  &run->timer) == 0;
	return run->timer_on;
}

static void run_unwatch(struct fence_run *run)
{
	if (run->polled)
		qb_loop_poll_del(run->f->loop, run->child.pidfd);
	run->polled = false;
}

static void run_free(struct fence_run *run)
{
	int status;

	run_timer_stop(run);
	run_unwatch(run);
	if (run->child.pid > 0) {
		/* killed now; reaped if already gone, else left to init */
		res_child_kill(&run->child, SIGKILL);
		res_child_reap(&run->child, &status);
	}
	res_child_close(&run->child);
	free(run->input);
	free(run);
}

static void run_finish(struct fence_run *run, bool ok)
{
	struct cd_fencing *f = run->f;
	struct fence_run **pp;
	char target[RES_NAME_MAX], text[PATH_MAX + 2 * RES_TEXT_MAX];

	cm_strlcpy(target, run->target, sizeof(target));
	if (ok)
		snprintf(text, sizeof(text), "agent '%s' fenced '%s' on attempt %d of %d (%s)", run->agent,
			 target, run->attempt, run->attempts, run->last);
	else
		snprintf(text, sizeof(text), "agent '%s' did not fence '%s' in %d attempt%s: %s", run->agent,
			 target, run->attempt, run->attempt == 1 ? "" : "s", run->last);
	for (pp = &f->runs; *pp; pp = &(*pp)->next)
		if (*pp == run) {
			*pp = run->next;
			break;
		}
	/* the target is free again before the callback, which may start a new run */
	run_free(run);
	if (f->ops->fenced)
		f->ops->fenced(f->ctx, target, ok, text);
}

static void attempt_start(void *data);

static void attempt_end(struct fence_run *run, bool ok)
{
	char t[32];
	int64_t pause = run->timeout_ms / 4;

	run_timer_stop(run);
	run_unwatch(run);
	res_child_close(&run->child);
	if (ok || run->attempt >= run->attempts) {
		run_finish(run, ok);
		return;
	}
	if (pause > CD_FENCE_RETRY_MAX_MS)
		pause = CD_FENCE_RETRY_MAX_MS;
	res_ms_to_str(pause, t, sizeof(t));
	flog(run->f, LOG_WARNING, "fencing '%s': agent '%s' attempt %d of %d failed (%s); retrying in %s",
	     run->target, run->agent, run->attempt, run->attempts, run->last, t);
	if (!run_timer_arm(run, pause, attempt_start)) {
		snprintf(run->last, sizeof(run->last), "cannot arm the retry timer");
		run_finish(run, false);
	}
}

static int32_t agent_exited(int32_t fd, int32_t revents, void *data)
{
	struct fence_run *run = data;
	char how[64], why[RES_TEXT_MAX], err[128], t[32];
	bool exec_failed;
	int status;

	(void)fd;
	(void)revents;
	if (res_child_reap(&run->child, &status) == -EAGAIN)
		return 0; /* spurious: still watched */
	run_unwatch(run);
	res_child_stderr_line(&run->child, err, sizeof(err));
	res_status_to_str(status, how, sizeof(how));
	res_ms_to_str(run->timeout_ms, t, sizeof(t));
	exec_failed = res_child_exec_error(&run->child, why, sizeof(why)) == 1;
	if (exec_failed)
		snprintf(run->last, sizeof(run->last), "%s", why);
	else if (run->timed_out)
		snprintf(run->last, sizeof(run->last), "timed out after %s: killed", t);
	else if (err[0])
		snprintf(run->last, sizeof(run->last), "%s: %s", how, err);
	else
		snprintf(run->last, sizeof(run->last), "%s", how);
	attempt_end(run, !run->timed_out && !exec_failed && status == 0);
	return 0;
}

static void agent_timeout(void *data)
{
	struct fence_run *run = data;
	char t[32];

	run->timer_on = false;
	if (!run->timed_out) {
		/* its group, so whatever the agent started goes too */
		run->timed_out = true;
		res_child_kill(&run->child, SIGKILL);
		run_timer_arm(run, CD_FENCE_KILL_GRACE_MS, agent_timeout);
		return;
	}
	res_ms_to_str(run->timeout_ms, t, sizeof(t));
	flog(run->f, LOG_ERR, "fencing '%s': agent pid %d does not exit after SIGKILL: left behind",
	     run->target, (int)run->child.pid);
	snprintf(run->last, sizeof(run->last), "timed out after %s, still running after SIGKILL", t);
	attempt_end(run, false);
}

static void attempt_start(void *data)
{
	struct fence_run *run = data;
	const char *argv[] = { run->agent, NULL };
	struct res_spawn sp = { .argv = argv, .stdin_text = run->input, .capture_stderr = true };
	int rc;

	run->timer_on = false;
	run->attempt++;
	run->timed_out = false;
	rc = res_spawn(&sp, &run->child);
	if (rc < 0) {
		snprintf(run->last, sizeof(run->last), "cannot start it: %s", strerror(-rc));
		attempt_end(run, false);
		return;
	}
	run->polled = qb_loop_poll_add(run->f->loop, QB_LOOP_MED, run->child.pidfd, POLLIN, run,
				       agent_exited) == 0;
	if (!run->polled || !run_timer_arm(run, run->timeout_ms, agent_timeout)) {
		res_child_kill(&run->child, SIGKILL);
		snprintf(run->last, sizeof(run->last), "cannot watch the agent");
		attempt_end(run, false);
	}
}

struct cd_fencing *cd_fencing_new(qb_loop_t *loop, const struct cd_exec_ops *ops, void *ctx)
{
	struct cd_fencing *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->loop = loop;
	f->ops = ops;
	f->ctx = ctx;
	return f;
}

void cd_fencing_free(struct cd_fencing *f)
{
	struct fence_run *run;

	if (f == NULL)
		return;
	while ((run = f->runs) != NULL) {
		f->runs = run->next;
		run_free(run);
	}
	free(f);
}

int cd_exec_fence(struct cd_exec *x, const char *target, const char *agent, const char *args,
		  int64_t timeout_ms, int retries)
{
	struct cd_fencing *f = cd_exec_fencing(x);
	struct fence_run *run;
	int n;

	if (f == NULL || target == NULL || target[0] == '\0' || strlen(target) >= RES_NAME_MAX ||
	    agent == NULL || agent[0] == '\0')
		return -EINVAL;
	for (run = f->runs; run; run = run->next)
		if (strcmp(run->target, target) == 0)
			return -EBUSY;
	run = calloc(1, sizeof(*run));
	if (run == NULL)
		return -ENOMEM;
	run->f = f;
	res_child_init(&run->child);
	cm_strlcpy(run->target, target, sizeof(run->target));
	/* fence-agents installs its agents in /usr/sbin and configurations name them bare */
	n = agent[0] == '/' ? snprintf(run->agent, sizeof(run->agent), "%s", agent) :
			      snprintf(run->agent, sizeof(run->agent), "%s/%s", CD_FENCE_DIR, agent);
	run->input = fence_input(f, target, args);
	run->timeout_ms = timeout_ms > 0 ? timeout_ms : CD_FENCE_TIMEOUT_DEFAULT_MS;
	run->attempts = 1 + (retries > 0 ? retries : 0);
	if (n < 0 || (size_t)n >= sizeof(run->agent) || run->input == NULL) {
		free(run->input);
		free(run);
		return n < 0 || (size_t)n >= sizeof(run->agent) ? -ENAMETOOLONG : -ENOMEM;
	}
	/* the first attempt starts from the loop: no callback from the caller's stack */
	if (!run_timer_arm(run, 0, attempt_start)) {
		free(run->input);
		free(run);
		return -ENOMEM;
	}
	run->next = f->runs;
	f->runs = run;
	return 0;
}

/* test_exec.c - the executor (clusterd/cd_exec.c, cd_fence.c) and the
 * process resource type, with a real qb loop and real child processes.
 * Every wait is for an event, bounded by a deadline; timeouts under test are
 * a few hundred ms, so each test takes well under a second. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <qb/qbdefs.h>
#include <qb/qbloop.h>

#include "ut.h"
#include "cm_err.h"
#include "cd_exec.h"
#include "res_type.h"

#define WAIT_MS 1500          /* deadline for something that should take milliseconds */

struct ev {
	char name[RES_NAME_MAX];
	uint64_t gen;
	enum res_op op;
	bool ok;
	char text[512];
};

static struct {
	qb_loop_t *loop;
	struct cd_exec *x;
	struct ev ev[64];
	int nev;
	struct ev fence[16];
	int nfence;
	int max_running;
	char dir[128];            /* this test's own directory */
	int want;                 /* run_until predicates' argument */
	pid_t pid;
} T;

static char base_dir[] = "/tmp/test_exec.XXXXXX";

/* ---- the executor's callbacks ---- */

static void on_result(void *ctx, const char *res, uint64_t gen, enum res_op op, bool ok, const char *text)
{
	struct ev *e;

	(void)ctx;
	ck_assert_int_lt(T.nev, 64);
	e = &T.ev[T.nev++];
	snprintf(e->name, sizeof(e->name), "%s", res);
	e->gen = gen;
	e->op = op;
	e->ok = ok;
	snprintf(e->text, sizeof(e->text), "%s", text);
}

static void on_fenced(void *ctx, const char *target, bool ok, const char *text)
{
	struct ev *e;

	(void)ctx;
	ck_assert_int_lt(T.nfence, 16);
	e = &T.fence[T.nfence++];
	snprintf(e->name, sizeof(e->name), "%s", target);
	e->ok = ok;
	snprintf(e->text, sizeof(e->text), "%s", text);
}

static void on_log(void *ctx, int prio, const char *text)
{
	(void)ctx;
	if (getenv("TEST_EXEC_VERBOSE"))
		fprintf(stderr, "log %d: %s\n", prio, text);
}

static const struct cd_exec_ops test_ops = { on_result, on_fenced, on_log, NULL };

/* ---- running the loop until something happened ---- */

static bool (*run_pred)(void);
static qb_loop_timer_handle tick_h, deadline_h;
static bool tick_on, deadline_on;

static void sample_counts(void)
{
	int running, queued;

	cd_exec_counts(T.x, &running, &queued);
	if (running > T.max_running)
		T.max_running = running;
}

static void tick(void *data)
{
	(void)data;
	tick_on = false;
	sample_counts();
	if (run_pred && run_pred()) {
		qb_loop_stop(T.loop);
		return;
	}
	tick_on = qb_loop_timer_add(T.loop, QB_LOOP_LOW, 2 * QB_TIME_NS_IN_MSEC, NULL, tick, &tick_h) == 0;
}

static void deadline(void *data)
{
	(void)data;
	deadline_on = false;
	qb_loop_stop(T.loop);
}

/* Run the loop until pred() holds (true) or max_ms passed (pred() then). */
static bool run_until(bool (*pred)(void), int max_ms)
{
	if (pred && pred())
		return true;
	run_pred = pred;
	tick_on = qb_loop_timer_add(T.loop, QB_LOOP_LOW, 0, NULL, tick, &tick_h) == 0;
	deadline_on = qb_loop_timer_add(T.loop, QB_LOOP_LOW, (uint64_t)max_ms * QB_TIME_NS_IN_MSEC, NULL,
					deadline, &deadline_h) == 0;
	ck_assert(tick_on && deadline_on);
	qb_loop_run(T.loop);
	if (tick_on)
		qb_loop_timer_del(T.loop, tick_h);
	if (deadline_on)
		qb_loop_timer_del(T.loop, deadline_h);
	tick_on = deadline_on = false;
	return pred ? pred() : true;
}

static bool have_events(void)
{
	return T.nev >= T.want;
}

static bool have_fences(void)
{
	return T.nfence >= T.want;
}

static void wait_events(int n)
{
	T.want = n;
	ck_assert_msg(run_until(have_events, WAIT_MS), "%d results after %d ms, wanted %d", T.nev, WAIT_MS, n);
}

static void wait_fences(int n)
{
	T.want = n;
	ck_assert_msg(run_until(have_fences, WAIT_MS), "%d fence results, wanted %d", T.nfence, n);
}

/* ---- processes and files ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void path_of(char *buf, size_t len, const char *file)
{
	snprintf(buf, len, "%s/%s", T.dir, file);
}

static int read_int(const char *file)
{
	char path[PATH_MAX + 64];
	FILE *f;
	int v = -1;

	path_of(path, sizeof(path), file);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void read_text(const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 64];
	ssize_t n;
	int fd;

	path_of(path, sizeof(path), file);
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

static void write_text(const char *file, const char *text, mode_t mode)
{
	char path[PATH_MAX + 64];
	FILE *f;

	path_of(path, sizeof(path), file);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static const char *pid_file;

static bool pid_written(void)
{
	return read_int(pid_file) > 0;
}

/* The pid the command wrote to file (it may not have run that far yet). */
static pid_t wait_pid(const char *file)
{
	pid_file = file;
	ck_assert_msg(run_until(pid_written, WAIT_MS), "no pid in '%s'", file);
	return read_int(file);
}

/* Gone, or a zombie nobody reaps (orphans of a shell go to init). */
static bool proc_gone_pid(pid_t pid)
{
	char path[64], buf[256], *p;
	int fd;
	ssize_t n;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static bool proc_gone(void)
{
	return proc_gone_pid(T.pid);
}

static void assert_gone(pid_t pid)
{
	T.pid = pid;
	ck_assert_msg(run_until(proc_gone, WAIT_MS), "process %d is still there", (int)pid);
}

static int count_fds(void)
{
	char path[64];
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

static bool zombies_reaped(void)
{
	return count_fds() <= T.want;
}

/* ---- submitting ---- */

static int submit_props(const char *res, enum res_op op, uint64_t gen, int64_t timeout_ms,
			const char *const *props, size_t nprops, int64_t looks_ms, int64_t is_ms)
{
	struct cd_exec_req req = {
		.op = op, .res = res, .type = "process", .gen = gen, .props = props, .nprops = nprops,
		.timeout_ms = timeout_ms, .looks_alive_ms = looks_ms, .is_alive_ms = is_ms,
	};

	return cd_exec_submit(T.x, &req);
}

/* text with every "DIR" replaced by the test's directory */
static void subst_dir(const char *key, const char *text, char *out, size_t len)
{
	size_t n = (size_t)snprintf(out, len, "%s=", key);
	const char *p;

	while ((p = strstr(text, "DIR")) != NULL && n < len) {
		n += (size_t)snprintf(out + n, len - n, "%.*s%s", (int)(p - text), text, T.dir);
		text = p + 3;
	}
	if (n < len)
		snprintf(out + n, len - n, "%s", text);
}

static int submit(const char *res, enum res_op op, uint64_t gen, int64_t timeout_ms, const char *cmd,
		  const char *check, int64_t looks_ms, int64_t is_ms)
{
	char c[1024], k[1024];
	const char *props[3] = { "restart_action=restart" };
	size_t n = 1;

	if (cmd) {
		subst_dir("command", cmd, c, sizeof(c));
		props[n++] = c;
	}
	if (check) {
		subst_dir("check_command", check, k, sizeof(k));
		props[n++] = k;
	}
	return submit_props(res, op, gen, timeout_ms, props, n, looks_ms, is_ms);
}

static void assert_ev(int i, const char *res, enum res_op op, uint64_t gen, bool ok, const char *text_has)
{
	const struct ev *e = &T.ev[i];

	ck_assert_int_lt(i, T.nev);
	ck_assert_str_eq(e->name, res);
	ck_assert_msg(e->op == op && e->gen == gen && e->ok == ok,
		      "event %d of '%s': op %d gen %llu ok %d (%s), wanted op %d gen %llu ok %d", i, res,
		      e->op, (unsigned long long)e->gen, e->ok, e->text, op, (unsigned long long)gen, ok);
	if (text_has)
		ck_assert_msg(strstr(e->text, text_has), "event %d text '%s' lacks '%s'", i, e->text, text_has);
}

/* ---- fixtures ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* once per test case, in the runner (so it also runs when a test fails) */
static void base_setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(base_dir));
}

static void base_teardown(void)
{
	nftw(base_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	memset(&T, 0, sizeof(T));
	snprintf(T.dir, sizeof(T.dir), "%s/t.XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(T.dir));
	T.loop = qb_loop_create();
	ck_assert_ptr_nonnull(T.loop);
	T.x = cd_exec_new(T.loop, &test_ops, NULL, 0);
	ck_assert_ptr_nonnull(T.x);
}

static void teardown(void)
{
	cd_exec_free(T.x);
	qb_loop_destroy(T.loop);
}

/* ---- resource types ---- */

START_TEST(test_type_table)
{
	const char *ok[] = { "command=sleep 1", "log_file=/tmp/x.log" };
	const char *empty[] = { "command=  " };
	const char *rel[] = { "command=sleep 1", "log_file=x.log" };
	const struct res_type_ops *t = res_type_find("process");
	char err[256];

	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->name, "process");
	ck_assert_ptr_null(t->migrate);
	ck_assert_ptr_nonnull(res_type_find("vm"));
	ck_assert_ptr_nonnull(res_type_find("vm")->migrate);
	ck_assert_ptr_nonnull(res_type_find("vm-config"));
	ck_assert_ptr_nonnull(res_type_find("physical-disk"));
	ck_assert_ptr_null(res_type_find("physical-disk")->migrate);
	ck_assert_ptr_nonnull(res_type_find("csv"));
	ck_assert_ptr_null(res_type_find("no-such-type"));
	ck_assert_int_eq(res_type_check("process", ok, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(res_type_check("process", NULL, 0, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "'command'"));
	ck_assert_int_eq(res_type_check("process", empty, 1, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(res_type_check("process", rel, 2, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "log_file"));
	ck_assert_int_eq(res_type_check("vm-nope", ok, 2, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_str_eq(err, "unknown resource type 'vm-nope' (known: process, vm, vm-config, physical-disk, csv)");
	ck_assert_str_eq(res_prop_get(ok, 2, "command"), "sleep 1");
	ck_assert_ptr_null(res_prop_get(ok, 2, "comm"));
}
END_TEST

/* physical-disk and csv: the create-time checks (no I/O) */
START_TEST(test_disk_csv_check)
{
	const char *good[] = { "url=iscsi://198.19.1.254:3260/iqn.2026-11.test:t/2", "io_timeout_s=5" };
	const char *noport[] = { "url=iscsi://san.example/iqn.2026-11.test:t/0" };
	const char *badurl[] = { "url=http://x/iqn.a:b/1" };
	const char *nolun[] = { "url=iscsi://198.19.1.254/iqn.2026-11.test:t" };
	const char *badiqn[] = { "url=iscsi://198.19.1.254/target/1" };
	const char *biglun[] = { "url=iscsi://198.19.1.254/iqn.2026-11.test:t/16384" };
	const char *badkey[] = { "url=iscsi://198.19.1.254/iqn.2026-11.test:t/1", "pr_key=xyz" };
	const char *reltool[] = { "url=iscsi://198.19.1.254/iqn.2026-11.test:t/1", "lun_tool=clusterd-lun" };
	const char *badto[] = { "url=iscsi://198.19.1.254/iqn.2026-11.test:t/1", "io_timeout_s=0" };
	char err[256];

	ck_assert_int_eq(res_type_check("physical-disk", good, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(res_type_check("physical-disk", noport, 1, err, sizeof(err)), 0);
	ck_assert_int_eq(res_type_check("physical-disk", NULL, 0, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "'url'"));
	ck_assert_int_eq(res_type_check("physical-disk", badurl, 1, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(res_type_check("physical-disk", nolun, 1, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(res_type_check("physical-disk", badiqn, 1, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(res_type_check("physical-disk", biglun, 1, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(res_type_check("physical-disk", badkey, 2, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_ptr_nonnull(strstr(err, "pr_key"));
	ck_assert_int_eq(res_type_check("physical-disk", reltool, 2, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(res_type_check("physical-disk", badto, 2, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(res_type_check("csv", good, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(res_type_check("csv", badurl, 1, err, sizeof(err)), -CM_E_VALUE);
	ck_assert_int_eq(res_type_check("csv", reltool, 2, err, sizeof(err)), -CM_E_VALUE);
}
END_TEST

START_TEST(test_submit_refused)
{
	struct cd_exec_req req = { .op = RES_OP_ONLINE, .res = "r1", .type = "nope", .gen = 1 };
	int running, queued;

	ck_assert_int_eq(cd_exec_submit(T.x, &req), -CM_E_VALUE);
	req.type = "process";
	req.op = RES_OP_HEALTH;
	ck_assert_int_eq(cd_exec_submit(T.x, &req), -EINVAL);
	req.op = RES_OP_ONLINE;
	req.res = "";
	ck_assert_int_eq(cd_exec_submit(T.x, &req), -EINVAL);
	cd_exec_counts(T.x, &running, &queued);
	ck_assert_int_eq(running + queued, 0);
	ck_assert(!cd_exec_is_running(T.x, "r1"));
}
END_TEST

/* ---- the process type through the executor ---- */

START_TEST(test_online_then_killed)
{
	char env[64];
	pid_t pid;

	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 2000,
				"echo $CLUSTERD_RESOURCE > DIR/env; echo $$ > DIR/pid; read x; exec sleep 30",
				NULL, 0, 0), 0);
	wait_events(1);
	assert_ev(0, "r1", RES_OP_ONLINE, 1, true, "started");
	pid = wait_pid("pid");
	ck_assert(cd_exec_is_running(T.x, "r1"));
	read_text("env", env, sizeof(env));
	ck_assert_str_eq(env, "r1\n");
	/* stdin is /dev/null: read got EOF and the command went on to exec */
	ck_assert(run_until(NULL, 30));
	ck_assert(cd_exec_is_running(T.x, "r1"));

	kill(pid, SIGKILL);
	wait_events(2);
	assert_ev(1, "r1", RES_OP_HEALTH, 1, false, "process killed by signal 9");
	ck_assert(!cd_exec_is_running(T.x, "r1"));
	ck_assert(proc_gone_pid(pid));
}
END_TEST

START_TEST(test_exit_reported_at_once)
{
	int64_t t0 = now_ms();

	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 3, 2000, "sleep 0.05; exit 7", NULL, 0, 0), 0);
	wait_events(2);
	assert_ev(0, "r1", RES_OP_ONLINE, 3, true, NULL);
	assert_ev(1, "r1", RES_OP_HEALTH, 3, false, "process exited with status 7");
	ck_assert_int_lt(now_ms() - t0, 500);
}
END_TEST

START_TEST(test_offline_stops_group)
{
	pid_t pid, bg;

	/* a background child that ignores SIGTERM: it goes with the group */
	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 2000,
				"(trap '' TERM; exec sh -c 'echo $$ > DIR/bg; exec sleep 30') & echo $$ > DIR/pid; wait",
				NULL, 0, 0), 0);
	wait_events(1);
	assert_ev(0, "r1", RES_OP_ONLINE, 1, true, NULL);
	pid = wait_pid("pid");
	bg = wait_pid("bg");
	ck_assert_int_eq(submit("r1", RES_OP_OFFLINE, 2, 2000, "unused", NULL, 0, 0), 0);
	wait_events(2);
	assert_ev(1, "r1", RES_OP_OFFLINE, 2, true, "stopped: process killed by signal 15");
	ck_assert(proc_gone_pid(pid));
	assert_gone(bg);
	ck_assert(!cd_exec_is_running(T.x, "r1"));

	/* offline of what does not run is a success */
	ck_assert_int_eq(submit("r1", RES_OP_OFFLINE, 3, 2000, "unused", NULL, 0, 0), 0);
	wait_events(3);
	assert_ev(2, "r1", RES_OP_OFFLINE, 3, true, "not running");
}
END_TEST

START_TEST(test_offline_kills_at_timeout)
{
	int64_t t0;
	pid_t pid;

	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 2000,
				"trap '' TERM; echo $$ > DIR/pid; while :; do sleep 0.05; done", NULL, 0, 0), 0);
	wait_events(1);
	pid = wait_pid("pid");
	t0 = now_ms();
	ck_assert_int_eq(submit("r1", RES_OP_OFFLINE, 2, 200, "unused", NULL, 0, 0), 0);
	wait_events(2);
	assert_ev(1, "r1", RES_OP_OFFLINE, 2, true, "did not stop within 200 ms of SIGTERM: killed");
	ck_assert_int_ge(now_ms() - t0, 190);
	ck_assert(proc_gone_pid(pid));
}
END_TEST

START_TEST(test_exec_failure)
{
	char lf[PATH_MAX + 32];
	const char *props[] = { "command=/bin/sleep 30", lf };

	/* a plain command is exec'd directly: a wrong program fails the online */
	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 2000, "/nonexistent/prog --flag", NULL, 0, 0), 0);
	wait_events(1);
	assert_ev(0, "r1", RES_OP_ONLINE, 1, false, "'/nonexistent/prog': cannot execute: No such file");
	ck_assert(!cd_exec_is_running(T.x, "r1"));

	/* so does a log file that cannot be opened */
	snprintf(lf, sizeof(lf), "log_file=%s/no/such/dir/log", T.dir);
	ck_assert_int_eq(submit_props("r2", RES_OP_ONLINE, 1, 2000, props, 2, 0, 0), 0);
	wait_events(2);
	assert_ev(1, "r2", RES_OP_ONLINE, 1, false, "cannot open its output file");

	/* through the shell, a wrong program shows as the shell exiting 127 */
	ck_assert_int_eq(submit("r3", RES_OP_ONLINE, 1, 2000, "no_such_program_xyz; exit $?", NULL, 0, 0), 0);
	wait_events(4);
	assert_ev(2, "r3", RES_OP_ONLINE, 1, true, NULL);
	assert_ev(3, "r3", RES_OP_HEALTH, 1, false, "process exited with status 127");
}
END_TEST

static bool log_written(void)
{
	char text[256];

	read_text("r1.log", text, sizeof(text));
	return strlen(text) >= 8;
}

START_TEST(test_log_file)
{
	char lf[PATH_MAX + 32], text[256];
	const char *props[] = { "command=echo out; echo err >&2; exec sleep 30", lf };

	snprintf(lf, sizeof(lf), "log_file=%s/r1.log", T.dir);
	ck_assert_int_eq(submit_props("r1", RES_OP_ONLINE, 1, 2000, props, 2, 0, 0), 0);
	wait_events(1);
	assert_ev(0, "r1", RES_OP_ONLINE, 1, true, NULL);
	ck_assert(run_until(log_written, WAIT_MS));
	read_text("r1.log", text, sizeof(text));
	ck_assert_str_eq(text, "out\nerr\n");
	ck_assert_int_eq(submit("r1", RES_OP_TERMINATE, 2, 2000, "unused", NULL, 0, 0), 0);
	wait_events(2);
	assert_ev(1, "r1", RES_OP_TERMINATE, 2, true, "killed");
}
END_TEST

START_TEST(test_max_parallel)
{
	char name[8], cmd[128];
	int running, queued, i;
	int64_t t0;

	cd_exec_free(T.x);
	T.x = cd_exec_new(T.loop, &test_ops, NULL, 2);
	/* each takes 100 ms to stop after SIGTERM */
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		snprintf(cmd, sizeof(cmd), "trap 'sleep 0.1; exit 0' TERM; echo $$ > DIR/%s; "
			 "while :; do sleep 0.02; done", name);
		ck_assert_int_eq(submit(name, RES_OP_ONLINE, 1, 2000, cmd, NULL, 0, 0), 0);
	}
	/* nothing starts from inside submit */
	cd_exec_counts(T.x, &running, &queued);
	ck_assert_int_eq(running, 0);
	ck_assert_int_eq(queued, 5);
	wait_events(5);
	ck_assert_int_le(T.max_running, 2);
	for (i = 0; i < 5; i++) { /* the traps are set */
		snprintf(name, sizeof(name), "p%d", i);
		wait_pid(name);
	}

	T.max_running = 0;
	t0 = now_ms();
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		ck_assert_int_eq(submit(name, RES_OP_OFFLINE, 2, 2000, "unused", NULL, 0, 0), 0);
	}
	wait_events(10);
	for (i = 5; i < 10; i++)
		ck_assert_msg(T.ev[i].ok && T.ev[i].op == RES_OP_OFFLINE, "%s: %s", T.ev[i].name, T.ev[i].text);
	ck_assert_int_eq(T.max_running, 2);
	/* three waves of 100 ms, not one */
	ck_assert_int_ge(now_ms() - t0, 250);
	cd_exec_counts(T.x, &running, &queued);
	ck_assert_int_eq(running + queued, 0);
}
END_TEST

START_TEST(test_check_command_timeout)
{
	int64_t t0;
	pid_t chk;

	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 200, "exec sleep 30",
				"echo $$ > DIR/chk; exec sleep 30", 0, 20), 0);
	wait_events(1);
	t0 = now_ms();
	assert_ev(0, "r1", RES_OP_ONLINE, 1, true, NULL);
	wait_events(2);
	assert_ev(1, "r1", RES_OP_HEALTH, 1, false, "is_alive: timed out after 200 ms");
	ck_assert_int_ge(now_ms() - t0, 200);
	chk = wait_pid("chk");
	assert_gone(chk);
	/* the service itself is left to the policy (restart: offline/terminate) */
	ck_assert(!cd_exec_is_running(T.x, "r1"));
	ck_assert_int_eq(submit("r1", RES_OP_TERMINATE, 2, 200, "unused", NULL, 0, 0), 0);
	wait_events(3);
	assert_ev(2, "r1", RES_OP_TERMINATE, 2, true, "killed");
}
END_TEST

START_TEST(test_health_checks)
{
	/* passing checks every 10 ms: no report */
	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 500, "exec sleep 30", "true", 10, 10), 0);
	wait_events(1);
	ck_assert(run_until(NULL, 100) && T.nev == 1);
	ck_assert(cd_exec_is_running(T.x, "r1"));

	/* a failing check_command */
	ck_assert_int_eq(submit("r2", RES_OP_ONLINE, 1, 500, "exec sleep 30", "echo bad >&2; exit 3", 0, 10), 0);
	wait_events(3);
	assert_ev(1, "r2", RES_OP_ONLINE, 1, true, NULL);
	assert_ev(2, "r2", RES_OP_HEALTH, 1, false, "is_alive: check_command exited with status 3");
	ck_assert(cd_exec_is_running(T.x, "r1"));

	/* health checks stop once an operation is submitted */
	ck_assert_int_eq(submit("r1", RES_OP_OFFLINE, 2, 500, "unused", NULL, 0, 0), 0);
	wait_events(4);
	assert_ev(3, "r1", RES_OP_OFFLINE, 2, true, NULL);
	ck_assert(run_until(NULL, 40) && T.nev == 4);
}
END_TEST

START_TEST(test_dedup)
{
	const char *cmd = "echo $$ >> DIR/pids; exec sleep 30";
	char pids[256];
	int running, queued;

	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 2000, cmd, NULL, 0, 10), 0);
	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 2000, cmd, NULL, 0, 10), 0);
	cd_exec_counts(T.x, &running, &queued);
	ck_assert_int_eq(queued, 1);
	wait_events(1);
	assert_ev(0, "r1", RES_OP_ONLINE, 1, true, "started");
	ck_assert(run_until(NULL, 30) && T.nev == 1);

	/* once done, a repeat (a result may have been lost) gets the same
	 * result again, and nothing runs a second time */
	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 2000, cmd, NULL, 0, 10), 0);
	wait_events(2);
	ck_assert_str_eq(T.ev[1].text, T.ev[0].text);
	assert_ev(1, "r1", RES_OP_ONLINE, 1, true, NULL);
	ck_assert(run_until(NULL, 30) && T.nev == 2);
	read_text("pids", pids, sizeof(pids));
	ck_assert_msg(strchr(pids, '\n') == pids + strlen(pids) - 1, "started more than once: %s", pids);
	/* and its health checks went on */
	ck_assert(cd_exec_is_running(T.x, "r1"));

	ck_assert_int_eq(submit("r1", RES_OP_OFFLINE, 2, 2000, "unused", NULL, 0, 0), 0);
	ck_assert_int_eq(submit("r1", RES_OP_OFFLINE, 2, 2000, "unused", NULL, 0, 0), 0);
	wait_events(3);
	ck_assert(run_until(NULL, 30) && T.nev == 3);
	assert_ev(2, "r1", RES_OP_OFFLINE, 2, true, "stopped");
}
END_TEST

START_TEST(test_terminate_cancels)
{
	pid_t pid;

	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 2000,
				"trap '' TERM; echo $$ > DIR/pid; while :; do sleep 0.05; done", NULL, 0, 0), 0);
	wait_events(1);
	pid = wait_pid("pid");
	/* an offline that would take its whole 5 s (SIGTERM is ignored) */
	ck_assert_int_eq(submit("r1", RES_OP_OFFLINE, 2, 5000, "unused", NULL, 0, 0), 0);
	ck_assert(run_until(NULL, 30));
	ck_assert_int_eq(submit("r1", RES_OP_TERMINATE, 3, 2000, "unused", NULL, 0, 0), 0);
	wait_events(2);
	assert_ev(1, "r1", RES_OP_TERMINATE, 3, true, "killed");
	ck_assert(proc_gone_pid(pid));
	/* the cancelled offline never reports */
	ck_assert(run_until(NULL, 50) && T.nev == 2);
}
END_TEST

START_TEST(test_stop_all)
{
	int running, queued, fds = count_fds();
	pid_t a, b;

	ck_assert_int_eq(submit("a", RES_OP_ONLINE, 1, 2000, "echo $$ > DIR/a; exec sleep 30", NULL, 10, 10), 0);
	ck_assert_int_eq(submit("b", RES_OP_ONLINE, 1, 2000, "echo $$ > DIR/b; exec sleep 30", NULL, 10, 10), 0);
	wait_events(2);
	a = wait_pid("a");
	b = wait_pid("b");
	ck_assert_int_eq(submit("c", RES_OP_ONLINE, 1, 2000, "exec sleep 30", NULL, 0, 0), 0);

	ck_assert_int_eq(cd_exec_stop_all(T.x), 2);
	cd_exec_counts(T.x, &running, &queued);
	ck_assert_int_eq(running + queued, 0);
	ck_assert(!cd_exec_is_running(T.x, "a") && !cd_exec_is_running(T.x, "b"));
	assert_gone(a);
	assert_gone(b);
	/* no results, no health failures */
	ck_assert(run_until(NULL, 50) && T.nev == 2);
	/* the killed children were reaped: their pidfds are closed */
	T.want = fds;
	ck_assert_msg(run_until(zombies_reaped, WAIT_MS), "%d fds open, %d before", count_fds(), fds);

	/* the plan may ask again with the same gen: it runs again */
	ck_assert_int_eq(submit("a", RES_OP_ONLINE, 1, 2000, "echo $$ > DIR/a2; exec sleep 30", NULL, 0, 0), 0);
	wait_events(3);
	assert_ev(2, "a", RES_OP_ONLINE, 1, true, NULL);
	wait_pid("a2");
}
END_TEST

/* ---- fencing ---- */

/* A fake agent: appends its stdin to DIR/stdin, counts its runs, fails
 * (with two stderr lines) while the count is at most DIR/fails, hangs if
 * DIR/hang exists. */
static void write_agent(int fails)
{
	char script[2048], n[16];

	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "d=%s\n"
		 "cat >> $d/stdin\n"
		 "n=$(cat $d/count 2>/dev/null || echo 0); n=$((n + 1)); echo $n > $d/count\n"
		 "echo $$ > $d/agentpid\n"
		 "[ -e $d/hang ] && exec sleep 30\n"
		 "if [ $n -le $(cat $d/fails) ]; then echo \"fake agent: failure $n\" >&2; echo more >&2; exit 1; fi\n"
		 "exit 0\n", T.dir);
	write_text("agent", script, 0755);
	snprintf(n, sizeof(n), "%d\n", fails);
	write_text("fails", n, 0644);
}

static const char *agent_path(void)
{
	static char p[PATH_MAX + 16];

	snprintf(p, sizeof(p), "%s/agent", T.dir);
	return p;
}

START_TEST(test_fence_ok)
{
	char in[512];

	write_agent(0);
	ck_assert_int_eq(cd_exec_fence(T.x, "n2", agent_path(), "  vc_dir=/tmp/vc\tfoo=bar action=reboot ",
				       2000, 0), 0);
	ck_assert_int_eq(cd_exec_fence(T.x, "n2", agent_path(), "", 2000, 0), -EBUSY);
	ck_assert_int_eq(cd_exec_fence(T.x, "", agent_path(), "", 2000, 0), -EINVAL);
	wait_fences(1);
	ck_assert_str_eq(T.fence[0].name, "n2");
	ck_assert_msg(T.fence[0].ok, "%s", T.fence[0].text);
	ck_assert_ptr_nonnull(strstr(T.fence[0].text, agent_path()));
	ck_assert_ptr_nonnull(strstr(T.fence[0].text, "attempt 1 of 1 (exited with status 0)"));
	/* the cluster's own keys cannot be overridden by fence_args */
	read_text("stdin", in, sizeof(in));
	ck_assert_str_eq(in, "action=off\nplug=n2\nvc_dir=/tmp/vc\nfoo=bar\n");

	/* the target is free again */
	ck_assert_int_eq(cd_exec_fence(T.x, "n2", agent_path(), NULL, 2000, 0), 0);
	wait_fences(2);
	ck_assert(T.fence[1].ok);
}
END_TEST

START_TEST(test_fence_retries)
{
	write_agent(2);
	ck_assert_int_eq(cd_exec_fence(T.x, "n2", agent_path(), "", 400, 2), 0);
	wait_fences(1);
	ck_assert_msg(T.fence[0].ok, "%s", T.fence[0].text);
	ck_assert_ptr_nonnull(strstr(T.fence[0].text, "attempt 3 of 3"));
	ck_assert_int_eq(read_int("count"), 3);

	/* out of retries: the last attempt's status and first stderr line */
	write_text("count", "0\n", 0644);
	write_text("fails", "5\n", 0644);
	ck_assert_int_eq(cd_exec_fence(T.x, "n3", agent_path(), "", 400, 1), 0);
	wait_fences(2);
	ck_assert(!T.fence[1].ok);
	ck_assert_msg(strstr(T.fence[1].text, "in 2 attempts: exited with status 1: fake agent: failure 2") &&
		      !strstr(T.fence[1].text, "more"), "%s", T.fence[1].text);
}
END_TEST

START_TEST(test_fence_hang)
{
	int64_t t0 = now_ms();
	pid_t pid;

	write_agent(0);
	write_text("hang", "", 0644);
	ck_assert_int_eq(cd_exec_fence(T.x, "n2", agent_path(), "", 150, 0), 0);
	wait_fences(1);
	ck_assert(!T.fence[0].ok);
	ck_assert_msg(strstr(T.fence[0].text, "timed out after 150 ms"), "%s", T.fence[0].text);
	ck_assert_int_ge(now_ms() - t0, 150);
	pid = read_int("agentpid");
	ck_assert_int_gt(pid, 0);
	assert_gone(pid);
}
END_TEST

START_TEST(test_fence_no_agent)
{
	ck_assert_int_eq(cd_exec_fence(T.x, "n2", "fence_no_such_agent_for_tests", "", 1000, 0), 0);
	wait_fences(1);
	ck_assert(!T.fence[0].ok);
	ck_assert_msg(strstr(T.fence[0].text, "'/usr/sbin/fence_no_such_agent_for_tests'") &&
		      strstr(T.fence[0].text, "cannot execute"), "%s", T.fence[0].text);
}
END_TEST

/* cd_exec_free with everything still running: kills, no callbacks, no leaks */
START_TEST(test_free_busy)
{
	int fds = count_fds();

	write_agent(0);
	write_text("hang", "", 0644);
	ck_assert_int_eq(submit("r1", RES_OP_ONLINE, 1, 2000, "exec sleep 30", "sleep 30", 5, 5), 0);
	wait_events(1);
	ck_assert(run_until(NULL, 20));
	ck_assert_int_eq(cd_exec_fence(T.x, "n2", agent_path(), "", 2000, 0), 0);
	ck_assert_int_eq(submit("r2", RES_OP_ONLINE, 1, 2000, "exec sleep 30", NULL, 0, 0), 0);
	ck_assert(run_until(NULL, 20));
	cd_exec_free(T.x);
	T.x = NULL;
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_le(T.nev, 2);
	ck_assert_int_eq(T.nfence, 0);
}
END_TEST

static Suite *exec_suite(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("exec");

	tcase_add_unchecked_fixture(tc, base_setup, base_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_type_table);
	tcase_add_test(tc, test_disk_csv_check);
	tcase_add_test(tc, test_submit_refused);
	tcase_add_test(tc, test_online_then_killed);
	tcase_add_test(tc, test_exit_reported_at_once);
	tcase_add_test(tc, test_offline_stops_group);
	tcase_add_test(tc, test_offline_kills_at_timeout);
	tcase_add_test(tc, test_exec_failure);
	tcase_add_test(tc, test_log_file);
	tcase_add_test(tc, test_max_parallel);
	tcase_add_test(tc, test_check_command_timeout);
	tcase_add_test(tc, test_health_checks);
	tcase_add_test(tc, test_dedup);
	tcase_add_test(tc, test_terminate_cancels);
	tcase_add_test(tc, test_stop_all);
	tcase_add_test(tc, test_fence_ok);
	tcase_add_test(tc, test_fence_retries);
	tcase_add_test(tc, test_fence_hang);
	tcase_add_test(tc, test_fence_no_agent);
	tcase_add_test(tc, test_free_busy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ut_run(exec_suite());
}

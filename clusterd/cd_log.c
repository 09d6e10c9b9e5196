/* cd_log.c - qb_log targets and the blackbox. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cm_str.h"
#include "cd_log.h"

/* The fatal-signal handler needs the dump directory; set once at start-up. */
static char fatal_dir[PATH_MAX];

int cd_log_init(const struct cd_conf *conf, bool foreground, char *err, size_t errlen)
{
	int fd;

	qb_log_init("clusterd", LOG_DAEMON, LOG_INFO);
	qb_log_format_set(QB_LOG_SYSLOG, "%b");
	qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, conf->syslog ? QB_TRUE : QB_FALSE);
	qb_log_filter_ctl(QB_LOG_SYSLOG, QB_LOG_FILTER_CLEAR_ALL, QB_LOG_FILTER_FILE, "*", LOG_TRACE);
	qb_log_filter_ctl(QB_LOG_SYSLOG, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_NOTICE);

	qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, foreground ? QB_TRUE : QB_FALSE);
	qb_log_format_set(QB_LOG_STDERR, "%t [%p] %b");
	qb_log_filter_ctl(QB_LOG_STDERR, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_NOTICE);

	fd = qb_log_file_open(conf->log_file);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the log file '%s': %s", conf->log_file, strerror(-fd));
		return fd;
	}
	qb_log_ctl(fd, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_format_set(fd, "%t [%P] %-7p %f:%l %b");
	qb_log_filter_ctl(fd, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", conf->debug ? LOG_DEBUG : LOG_INFO);

	/* The blackbox records everything, always, in a 1 MiB ring. */
	qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_SIZE, 1024 * 1024);
	qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_ENABLED, QB_TRUE);
	qb_log_filter_ctl(QB_LOG_BLACKBOX, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_TRACE);
	return 0;
}

void cd_log_fini(void)
{
	/* closing an enabled blackbox makes libqb print ring statistics */
	qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_ENABLED, QB_FALSE);
	qb_log_fini();
}

int cd_log_blackbox_dump(const char *dir, char *path, size_t len)
{
	ssize_t rc;

	snprintf(path, len, "%s/blackbox-%d-%ld", dir, (int)getpid(), (long)time(NULL));
	rc = qb_log_blackbox_write_to_file(path);
	if (rc < 0)
		return (int)rc;
	return 0;
}

static void fatal_handler(int sig)
{
	char path[PATH_MAX + 64];

	cd_log_blackbox_dump(fatal_dir, path, sizeof(path));
	signal(sig, SIG_DFL);
	raise(sig);
}

void cd_log_fatal_handlers(const char *dir)
{
	const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	size_t i;

	cm_strlcpy(fatal_dir, dir, sizeof(fatal_dir));
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], fatal_handler);
}

/* cd_log.h - clusterd's logging: syslog (notice and up), a log file, stderr
 * in the foreground, and an always-on blackbox ring dumped on fatal signals
 * and on request. */
#ifndef CD_LOG_H
#define CD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <qb/qblog.h>

#include "cd_conf.h"

#define cd_log(prio, fmt, ...) qb_log(prio, fmt, ##__VA_ARGS__)

int cd_log_init(const struct cd_conf *conf, bool foreground, char *err, size_t errlen);
void cd_log_fini(void);
/* Write the blackbox to <state_dir>/blackbox-<pid>-<time>; path returned. */
int cd_log_blackbox_dump(const char *dir, char *path, size_t len);
/* Dump the blackbox and re-raise on SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT. */
void cd_log_fatal_handlers(const char *dir);

#endif

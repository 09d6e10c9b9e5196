/* cd_main.c - clusterd: start-up, the main loop, signals, clean shutdown. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "cm_err.h"
#include "cm_str.h"
#include "cd_daemon.h"
#include "cd_log.h"

#define CD_CONNECT_RETRY_MS 1000

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: clusterd [-f] [-c FILE] [-s DIR] [-l FILE]\n"
		"       clusterd --init-db FILE --cluster NAME --uuid UUID --node ID:NAME:ADDR...\n"
		"The cluster daemon: membership through corosync, the replicated cluster\n"
		"database, and the IPC server for cluadmin.\n\n"
		"  -f, --foreground     stay in the foreground (log notices to stderr too)\n"
		"  -c, --config FILE    configuration (default %s/clusterd/clusterd.conf)\n"
		"  -s, --state-dir DIR  directory of cluster.db and blackbox dumps\n"
		"  -l, --log-file FILE  log file\n"
		"  -h, --help           this text\n"
		"  -V, --version        print the version\n\n"
		"Signals: TERM and INT stop it cleanly; USR1 writes the blackbox; HUP is ignored.\n"
		"See clusterd(8).\n", SYSCONFDIR);
}

static int32_t on_stop(int32_t sig, void *data)
{
	struct cd *cd = data;

	cd_log(LOG_NOTICE, "signal %d: shutting down", sig);
	qb_loop_stop(cd->loop);
	return 0;
}

static int32_t on_usr1(int32_t sig, void *data)
{
	struct cd *cd = data;
	char path[PATH_MAX + 64];

	(void)sig;
	if (cd_log_blackbox_dump(cd->conf.state_dir, path, sizeof(path)) == 0)
		cd_log(LOG_NOTICE, "blackbox written to '%s'", path);
	return 0;
}

static int32_t on_hup(int32_t sig, void *data)
{
	(void)sig;
	(void)data;
	cd_log(LOG_NOTICE, "SIGHUP ignored: clusterd has no configuration to reload (restart it instead)");
	return 0;
}

/* Fail in the foreground, where the caller sees it, before daemonising. */
static int precheck(const struct cd_conf *conf, const char *dbpath, char *err, size_t errlen)
{
	struct cd_db *db = NULL;
	FILE *f = fopen(conf->log_file, "a");

	if (f == NULL) {
		snprintf(err, errlen, "cannot open the log file '%s': %s", conf->log_file, strerror(errno));
		return -1;
	}
	fclose(f);
	if (cd_db_open(dbpath, &db, err, errlen) < 0)
		return -1;
	cd_db_close(db);
	return 0;
}

static void try_connect(void *data)
{
	struct cd *cd = data;
	qb_loop_timer_handle t;

	if (cd_corosync_connect(cd) == 0)
		return;
	/* corosync may still be starting: retry without blocking the loop */
	if (cd->connect_attempts++ % 10 == 0)
		cd_log(LOG_WARNING, "cannot connect to corosync yet; retrying every %d ms", CD_CONNECT_RETRY_MS);
	qb_loop_timer_add(cd->loop, QB_LOOP_MED, CD_CONNECT_RETRY_MS * QB_TIME_NS_IN_MSEC, cd, try_connect, &t);
}

static int mkdirs(const char *path)
{
	char tmp[PATH_MAX], *p;

	if (cm_strlcpy(tmp, path, sizeof(tmp)) < 0)
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int dir_of(const char *file, char *buf, size_t len)
{
	char *slash;

	if (cm_strlcpy(buf, file, len) < 0)
		return -ENAMETOOLONG;
	slash = strrchr(buf, '/');
	if (slash && slash != buf)
		*slash = '\0';
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "log-file", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = SYSCONFDIR "/clusterd/clusterd.conf";
	const char *state_dir = NULL, *log_file = NULL;
	bool foreground = false, config_given = false;
	char err[PATH_MAX + 256], dbpath[PATH_MAX + 16], logdir[PATH_MAX];
	struct cd cd;
	int opt, i, rc;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--init-db") == 0)
			return cd_init_main(argc, argv);

	while ((opt = getopt_long(argc, argv, "fc:s:l:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': foreground = true; break;
		case 'c': config = optarg; config_given = true; break;
		case 's': state_dir = optarg; break;
		case 'l': log_file = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("clusterd %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "clusterd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	umask(027);
	memset(&cd, 0, sizeof(cd));
	cd_conf_defaults(&cd.conf);
	if (cd_conf_load(&cd.conf, config, config_given, err, sizeof(err)) < 0) {
		fprintf(stderr, "clusterd: %s\n", err);
		return 1;
	}
	if (state_dir)
		cm_strlcpy(cd.conf.state_dir, state_dir, sizeof(cd.conf.state_dir));
	if (log_file)
		cm_strlcpy(cd.conf.log_file, log_file, sizeof(cd.conf.log_file));
	if ((rc = mkdirs(cd.conf.state_dir)) < 0 ||
	    (rc = dir_of(cd.conf.log_file, logdir, sizeof(logdir))) < 0 || (rc = mkdirs(logdir)) < 0) {
		fprintf(stderr, "clusterd: cannot create '%s' or the log directory: %s\n",
			cd.conf.state_dir, strerror(-rc));
		return 1;
	}
	cd_conf_db_path(&cd.conf, dbpath, sizeof(dbpath));
	if (precheck(&cd.conf, dbpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "clusterd: %s\n", err);
		return 1;
	}
	if (!foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "clusterd: cannot daemonise: %s\n", strerror(errno));
		return 1;
	}
	if (cd_log_init(&cd.conf, foreground, err, sizeof(err)) < 0) {
		fprintf(stderr, "clusterd: %s\n", err);
		return 1;
	}
	cd_log_fatal_handlers(cd.conf.state_dir);
	cd.started_ms = cd_wall_ms();
	cd_log(LOG_NOTICE, "clusterd %s starting (state in '%s')", PACKAGE_VERSION, cd.conf.state_dir);

	if (cd_db_open(dbpath, &cd.db, err, sizeof(err)) < 0) {
		cd_log(LOG_CRIT, "%s", err);
		cd_log_fini();
		return 1;
	}
	if (!cd_db_has_cluster(cd.db))
		cd_log(LOG_WARNING, "'%s' holds no cluster yet: waiting to receive it from a member", dbpath);

	cd.loop = qb_loop_create();
	if (cd.loop == NULL) {
		cd_log(LOG_CRIT, "cannot create the main loop");
		return 1;
	}
	qb_loop_signal_add(cd.loop, QB_LOOP_HIGH, SIGTERM, &cd, on_stop, NULL);
	qb_loop_signal_add(cd.loop, QB_LOOP_HIGH, SIGINT, &cd, on_stop, NULL);
	qb_loop_signal_add(cd.loop, QB_LOOP_HIGH, SIGUSR1, &cd, on_usr1, NULL);
	qb_loop_signal_add(cd.loop, QB_LOOP_HIGH, SIGHUP, &cd, on_hup, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = cd_ipc_start(&cd);
	if (rc < 0) {
		cd_log(LOG_CRIT, "cannot start the IPC server '%s': %s (is another clusterd running?)",
		       "clusterd", strerror(-rc));
		return 1;
	}
	if (cd_engine_start(&cd) < 0) {
		cd_log(LOG_CRIT, "cannot start the executor");
		return 1;
	}
	try_connect(&cd);
	qb_loop_run(cd.loop);

	cd_log(LOG_NOTICE, "clusterd stopping");
	cd_engine_stop(&cd);
	cd_ipc_stop(&cd);
	cd_corosync_disconnect(&cd);
	cd_repl_free(cd.repl);
	cd_db_close(cd.db);
	free(cd.seen);
	qb_loop_destroy(cd.loop);
	cd_log(LOG_NOTICE, "clusterd stopped");
	cd_log_fini();
	return cd.exit_code;
}

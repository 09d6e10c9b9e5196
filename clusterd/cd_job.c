/* cd_job.c - run blocking work (storage I/O for a command) in a thread and
 * answer its client from the main loop when it is done. The thread touches
 * nothing of clusterd's state: it gets its argument and fills its answer. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cd_daemon.h"
#include "cd_log.h"

struct cd_job {
	qb_ipcs_connection_t *conn;
	cd_job_fn fn;
	cd_job_then_fn then;
	void *arg;
	int rc;
	char out[4096];
	int fd;                      /* write end: the job's own pipe */
};

static int job_done(int fd, int revents, void *data)
{
	struct cd *cd = data;
	struct cd_job *j = NULL;

	(void)revents;
	if (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j) && j) {
		if (j->then)
			j->then(cd, j->conn, j->rc, j->out, j->arg);
		else
			cd_ipc_reply(j->conn, j->rc, j->out);
		qb_ipcs_connection_unref(j->conn);
		close(j->fd);
		free(j->arg);
		free(j);
	}
	qb_loop_poll_del(cd->loop, fd);
	close(fd);
	return 0;
}

static void *job_main(void *data)
{
	struct cd_job *j = data;

	j->rc = j->fn(j->arg, j->out, sizeof(j->out));
	if (write(j->fd, &j, sizeof(j)) != (ssize_t)sizeof(j))
		return NULL; /* the loop is gone: nobody to answer */
	return NULL;
}

int cd_job_start(struct cd *cd, qb_ipcs_connection_t *c, cd_job_fn fn, void *arg)
{
	return cd_job_start_then(cd, c, fn, arg, NULL);
}

int cd_job_start_then(struct cd *cd, qb_ipcs_connection_t *c, cd_job_fn fn, void *arg, cd_job_then_fn then)
{
	struct cd_job *j = calloc(1, sizeof(*j));
	pthread_attr_t at;
	pthread_t t;
	int p[2], rc;

	if (j == NULL || pipe2(p, O_CLOEXEC) < 0) {
		free(j);
		free(arg);
		return -ENOMEM;
	}
	j->conn = c;
	j->fn = fn;
	j->then = then;
	j->arg = arg;
	j->fd = p[1];
	qb_ipcs_connection_ref(c);
	qb_loop_poll_add(cd->loop, QB_LOOP_MED, p[0], POLLIN, cd, job_done);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &at, job_main, j);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		qb_loop_poll_del(cd->loop, p[0]);
		close(p[0]);
		close(p[1]);
		qb_ipcs_connection_unref(c);
		free(j->arg);
		free(j);
		return -rc;
	}
	return 0;
}

/* cli_ipc.c - one request/reply exchange with the local clusterd. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <qb/qbipcc.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_wire.h"
#include "cli.h"

static int exit_for(int rc)
{
	switch (-rc) {
	case CM_E_NO_QUORUM:
	case CM_E_NOT_READY:
	case CM_E_SYNCING:
	case CM_E_NOT_INIT:
		return CLI_ENOQUORUM;
	case CM_E_PERM:
		return CLI_EPERM;
	case CM_E_TIMEOUT:
		return CLI_ETIMEOUT;
	default:
		return CLI_EFAIL;
	}
}

static int cli_call_once(const struct cli_opts *o, int cmd, const char *const *args, int nargs, char **out);

/* libqb's connection handshake has no timeout of its own: a stopped
 * (SIGSTOP) or wedged clusterd would hold cluadmin forever. */
static void on_deadline(int sig)
{
	static const char msg[] = "cluadmin: clusterd did not answer in time (is it paused or overloaded?)\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(CLI_ETIMEOUT);
	_exit(CLI_ETIMEOUT);
}

/* One second more than the request's own timeout, which covers the rest. */
static void deadline_arm(int timeout_ms)
{
	signal(SIGALRM, on_deadline);
	alarm((unsigned)((timeout_ms + 999) / 1000 + 1));
}

int cli_call(const struct cli_opts *o, int cmd, const char *const *args, int nargs, char **out)
{
	int rc = cli_call_once(o, cmd, args, nargs, out);

	alarm(0);
	return rc;
}

static int cli_call_once(const struct cli_opts *o, int cmd, const char *const *args, int nargs, char **out)
{
	struct qb_ipc_request_header hdr;
	struct cm_sb req;
	struct cm_msg m, reply;
	struct iovec iov[2];
	qb_ipcc_connection_t *c;
	char *buf = NULL;
	ssize_t n;
	int i, rc = CLI_OK;

	*out = NULL;
	deadline_arm(o->timeout_ms);
	c = qb_ipcc_connect(CM_IPC_NAME, CM_IPC_MAX_MSG);
	if (c == NULL) {
		int e = errno;

		if (e == EACCES || e == EPERM)
			fprintf(stderr, "cluadmin: permission denied: clusterd accepts only root and members of its admin group (haclient by default)\n");
		else
			fprintf(stderr, "cluadmin: cannot reach clusterd on this node: %s (is it running? see 'systemctl status clusterd' or clusterd(8))\n",
				strerror(e));
		return e == EACCES || e == EPERM ? CLI_EPERM : CLI_ENOCONN;
	}
	cm_msg_init(&m, CM_MSG_REQUEST);
	cm_msg_add_int(&m, cmd);
	cm_msg_add_int(&m, 0);
	for (i = 0; i < nargs; i++)
		if (cm_msg_add_str(&m, args[i] ? args[i] : "") < 0) {
			fprintf(stderr, "cluadmin: too many or too long arguments\n");
			qb_ipcc_disconnect(c);
			return CLI_EUSAGE;
		}
	cm_sb_init(&req);
	if (cm_msg_encode(&m, &req) < 0) {
		fprintf(stderr, "cluadmin: the request is too large\n");
		rc = CLI_EUSAGE;
		goto out;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.id = CM_IPC_ID;
	hdr.size = (int32_t)(sizeof(hdr) + req.len);
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = req.buf;
	iov[1].iov_len = req.len;
	buf = malloc(CM_IPC_MAX_MSG);
	if (buf == NULL) {
		rc = CLI_EFAIL;
		goto out;
	}
	n = qb_ipcc_sendv_recv(c, iov, 2, buf, CM_IPC_MAX_MSG, o->timeout_ms);
	if (n < 0) {
		if (n == -ETIMEDOUT || n == -EAGAIN) {
			fprintf(stderr, "cluadmin: clusterd did not answer within %d ms\n", o->timeout_ms);
			rc = CLI_ETIMEOUT;
		} else {
			fprintf(stderr, "cluadmin: lost the connection to clusterd: %s\n", strerror((int)-n));
			rc = CLI_ENOCONN;
		}
		goto out;
	}
	if ((size_t)n < sizeof(struct qb_ipc_response_header) ||
	    cm_msg_decode(buf + sizeof(struct qb_ipc_response_header),
			  (size_t)n - sizeof(struct qb_ipc_response_header), &reply) < 0 ||
	    reply.type != CM_MSG_REPLY || cm_msg_str(&reply, 0) == NULL) {
		fprintf(stderr, "cluadmin: clusterd sent a malformed answer (different versions?)\n");
		rc = CLI_EFAIL;
		goto out;
	}
	if (cm_msg_int(&reply, 0, 0) < 0) {
		int code = (int)cm_msg_int(&reply, 0, 0);

		fprintf(stderr, "cluadmin: %s\n", cm_msg_str(&reply, 0)[0] ? cm_msg_str(&reply, 0) : cm_strerror(code));
		rc = exit_for(code);
		goto out;
	}
	*out = strdup(cm_msg_str(&reply, 0));
out:
	free(buf);
	cm_sb_free(&req);
	qb_ipcc_disconnect(c);
	return rc;
}

int cli_show(const struct cli_opts *o, int cmd, const char *const *args, int nargs,
	     void (*render)(const struct cm_jv *))
{
	struct cm_jv *v;
	char *text, err[128];
	int rc = cli_call(o, cmd, args, nargs, &text);

	if (rc != CLI_OK)
		return rc;
	v = cm_jv_parse(text, err, sizeof(err));
	if (v == NULL) {
		fprintf(stderr, "cluadmin: cannot read clusterd's answer: %s\n", err);
		free(text);
		return CLI_EFAIL;
	}
	if (o->json) {
		struct cm_sb sb;

		cm_sb_init(&sb);
		cm_jv_print(v, &sb, 2);
		printf("%s\n", cm_sb_str(&sb));
		cm_sb_free(&sb);
	} else if (render) {
		render(v);
	}
	cm_jv_free(v);
	free(text);
	return CLI_OK;
}

/* tc_ipc.c - raw IPC helpers for test tools (see tc_ipc.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cm_proto.h"
#include "cm_wire.h"
#include "tc_ipc.h"

#define TC_NO_REPLY (-1000000)

qb_ipcc_connection_t *tc_connect(void)
{
	return qb_ipcc_connect(CM_IPC_NAME, CM_IPC_MAX_MSG);
}

int tc_raw(qb_ipcc_connection_t *c, int32_t id, int32_t size, const void *body, size_t len,
	   char *text, size_t textlen)
{
	struct qb_ipc_request_header hdr = { .id = id, .size = size };
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)body, len } };
	static char buf[CM_IPC_MAX_MSG];
	struct cm_msg reply;
	ssize_t n;

	/* a busy server may not have drained the ring of the previous large
	 * request yet: libqb then says EAGAIN, which is not an answer */
	for (int tries = 0; tries < 3000; tries++) {
		n = qb_ipcc_sendv_recv(c, iov, body ? 2 : 1, buf, sizeof(buf), 30000);
		if (n != -EAGAIN)
			break;
		usleep(10 * 1000);
	}
	if (n < (ssize_t)sizeof(struct qb_ipc_response_header))
		return TC_NO_REPLY;
	if (cm_msg_decode(buf + sizeof(struct qb_ipc_response_header),
			  (size_t)n - sizeof(struct qb_ipc_response_header), &reply) < 0 ||
	    cm_msg_str(&reply, 0) == NULL)
		return TC_NO_REPLY;
	if (text)
		snprintf(text, textlen, "%s", cm_msg_str(&reply, 0));
	return (int)cm_msg_int(&reply, 0, TC_NO_REPLY);
}

int tc_request(qb_ipcc_connection_t *c, int cmd, const char *const *args, int nargs,
	       char *text, size_t textlen)
{
	struct cm_msg m;
	struct cm_sb sb;
	int i, rc;

	cm_msg_init(&m, CM_MSG_REQUEST);
	cm_msg_add_int(&m, cmd);
	cm_msg_add_int(&m, 0);
	for (i = 0; i < nargs; i++)
		cm_msg_add_str(&m, args[i]);
	cm_sb_init(&sb);
	if (cm_msg_encode(&m, &sb) < 0) {
		cm_sb_free(&sb);
		return TC_NO_REPLY;
	}
	rc = tc_raw(c, CM_IPC_ID, (int32_t)(sizeof(struct qb_ipc_request_header) + sb.len),
		    sb.buf, sb.len, text, textlen);
	cm_sb_free(&sb);
	return rc;
}

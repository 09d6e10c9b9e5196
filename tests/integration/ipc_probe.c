/* ipc_probe.c - sends hostile and malformed requests to the local clusterd
 * and checks that each gets a clear refusal and that the daemon keeps
 * serving. Prints PASS/FAIL lines; exit 0 only if all passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_err.h"
#include "cm_proto.h"
#include "cm_wire.h"
#include "tc_ipc.h"

static int failures;

static void expect(const char *name, int rc, int want, const char *text, const char *needle)
{
	if (rc == want && (needle == NULL || strstr(text, needle))) {
		printf("PASS ipc-%s\n", name);
		return;
	}
	printf("FAIL ipc-%s: rc %d (wanted %d), text '%.200s'%s%s\n", name, rc, want, text,
	       needle ? ", wanted text containing " : "", needle ? needle : "");
	failures++;
}

int main(void)
{
	qb_ipcc_connection_t *c = tc_connect();
	char text[4096], *big;
	struct cm_msg m;
	struct cm_sb sb;
	int32_t hsz = (int32_t)sizeof(struct qb_ipc_request_header);
	int rc;

	if (c == NULL) {
		printf("FAIL ipc-connect: cannot connect to clusterd\n");
		return 1;
	}
	cm_sb_init(&sb);

	rc = tc_raw(c, 77, hsz + 4, "abcd", 4, text, sizeof(text));
	expect("bad-header-id", rc, -CM_E_PROTO, text, "malformed request");

	rc = tc_raw(c, CM_IPC_ID, hsz + 4000, "abcd", 4, text, sizeof(text));
	expect("size-lies", rc, -CM_E_PROTO, text, "malformed");

	rc = tc_raw(c, CM_IPC_ID, hsz + 40, "this is not a wire message at all.......", 40, text, sizeof(text));
	expect("garbage-body", rc, -CM_E_PROTO, text, "malformed");

	cm_msg_init(&m, CM_MSG_REQUEST);
	m.version = 9;
	cm_msg_add_int(&m, CM_CMD_PING);
	cm_msg_encode(&m, &sb);
	rc = tc_raw(c, CM_IPC_ID, hsz + (int32_t)sb.len, sb.buf, sb.len, text, sizeof(text));
	expect("wrong-version", rc, -CM_E_VERSION, text, "protocol version");

	cm_msg_init(&m, CM_MSG_REPLY);
	cm_msg_encode(&m, &sb);
	rc = tc_raw(c, CM_IPC_ID, hsz + (int32_t)sb.len, sb.buf, sb.len, text, sizeof(text));
	expect("wrong-type", rc, -CM_E_PROTO, text, "malformed");

	rc = tc_request(c, 9999, NULL, 0, text, sizeof(text));
	expect("unknown-command", rc, -CM_E_UNKNOWN_CMD, text, "unknown command");

	cm_msg_init(&m, CM_MSG_REQUEST);
	cm_msg_add_int(&m, CM_CMD_NODE_SHOW);
	cm_msg_add_blob(&m, "n1\0x", 4);
	cm_msg_encode(&m, &sb);
	rc = tc_raw(c, CM_IPC_ID, hsz + (int32_t)sb.len, sb.buf, sb.len, text, sizeof(text));
	expect("nul-in-argument", rc, -CM_E_ARGS, text, "NUL");

	/* a body larger than any wire message may be */
	big = calloc(1, CM_WIRE_MAX_LEN + 100);
	memcpy(big, sb.buf, CM_WIRE_HDR_LEN);
	big[8] = (char)((CM_WIRE_MAX_LEN + 100) & 0xff);
	big[9] = (char)(((CM_WIRE_MAX_LEN + 100) >> 8) & 0xff);
	big[10] = (char)(((CM_WIRE_MAX_LEN + 100) >> 16) & 0xff);
	rc = tc_raw(c, CM_IPC_ID, hsz + CM_WIRE_MAX_LEN + 100, big, CM_WIRE_MAX_LEN + 100, text, sizeof(text));
	expect("oversized", rc, -CM_E_TOOBIG, text, NULL);

	/* a value far beyond any property's limit, in a valid message */
	memset(big, 'v', 2u * 1024 * 1024);
	big[2u * 1024 * 1024] = '\0';
	{
		const char *args[] = { "cluster", "", "description", big };

		rc = tc_request(c, CM_CMD_PROP_SET, args, 4, text, sizeof(text));
		expect("huge-value", rc, -CM_E_VALUE, text, "at most 256 characters");
	}
	free(big);
	{
		const char *bad[] = { "bad name", "../../etc/passwd", "", "-n1", "n1;rm" };
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *args[] = { bad[i] };
			char name[64];

			snprintf(name, sizeof(name), "malformed-node-name-%zu", i + 1);
			rc = tc_request(c, CM_CMD_NODE_SHOW, args, 1, text, sizeof(text));
			expect(name, rc, -CM_E_NAME, text, "is not valid");
		}
	}
	{
		const char *a1[] = { "node", "n1", "memory_mb", "12abc" };
		const char *a2[] = { "cluster", "", "description", "two\nlines" };
		const char *a3[] = { "galaxy", "", "description", "x" };
		const char *a4[] = { "node", "n99", "memory_mb", "1" };
		const char *a5[] = { "cluster", "" };

		rc = tc_request(c, CM_CMD_PROP_SET, a1, 4, text, sizeof(text));
		expect("malformed-int", rc, -CM_E_VALUE, text, "whole number");
		rc = tc_request(c, CM_CMD_PROP_SET, a2, 4, text, sizeof(text));
		expect("control-characters", rc, -CM_E_VALUE, text, "control characters");
		rc = tc_request(c, CM_CMD_PROP_SET, a3, 4, text, sizeof(text));
		expect("unknown-kind", rc, -CM_E_ARGS, text, "unknown object kind");
		rc = tc_request(c, CM_CMD_PROP_SET, a4, 4, text, sizeof(text));
		expect("unknown-node", rc, -CM_E_NO_OBJECT, text, "node 'n99' is not a member of cluster");
		rc = tc_request(c, CM_CMD_PROP_SET, a5, 2, text, sizeof(text));
		expect("missing-arguments", rc, -CM_E_ARGS, text, "needed");
	}
	/* the same connection and a new one still work */
	rc = tc_request(c, CM_CMD_PING, NULL, 0, text, sizeof(text));
	expect("still-serving", rc, 0, text, "\"local_node\"");
	qb_ipcc_disconnect(c);
	c = tc_connect();
	rc = c ? tc_request(c, CM_CMD_STATUS, NULL, 0, text, sizeof(text)) : -1;
	expect("new-connection", rc, 0, text, "\"nodes\"");
	if (c)
		qb_ipcc_disconnect(c);
	cm_sb_free(&sb);
	return failures ? 1 : 0;
}

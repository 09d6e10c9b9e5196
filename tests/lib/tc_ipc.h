/* tc_ipc.h - raw IPC to clusterd for test and benchmark tools: send any
 * bytes, read the reply. Not for cluadmin (cli/cli_ipc.c is). */
#ifndef TC_IPC_H
#define TC_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <qb/qbipcc.h>

qb_ipcc_connection_t *tc_connect(void);
/* Send a request made of cmd and args; returns clusterd's rc (0 or < 0),
 * or -1000000 if no valid reply came; text (optional) gets the reply text. */
int tc_request(qb_ipcc_connection_t *c, int cmd, const char *const *args, int nargs,
	       char *text, size_t textlen);
/* Send raw bytes after a libqb header whose id and size are given. Returns
 * the reply's rc, or -1000000 if no valid reply came. */
int tc_raw(qb_ipcc_connection_t *c, int32_t id, int32_t size, const void *body, size_t len,
	   char *text, size_t textlen);

#endif

/* res_virt_conn.c - the backend's libvirt connection (worker thread only).
 *
 * Opens the connection lazily, registers the lifecycle callback on it
 * (unless RES_VIRT_NO_EVENTS), notices when it died and reopens it. A lost
 * connection is reported once as a DISCONNECTED event.
 */
#include <stdio.h>
#include <string.h>

#include "res_virt_int.h"

/* ---- the connection (worker only) ---- */

void res_virt_conn_drop(struct res_virt *v, bool lost)
{
	struct res_virt_event ev;

	if (!v->conn)
		return;
	if (v->cb_id >= 0)
		virConnectDomainEventDeregisterAny(v->conn, v->cb_id);
	v->cb_id = -1;
	virConnectClose(v->conn);
	v->conn = NULL;
	virResetLastError();
	if (lost) {
		memset(&ev, 0, sizeof(ev));
		ev.type = RES_VIRT_EV_DISCONNECTED;
		res_virt_event_push(v, &ev);
	}
}

/* Register the lifecycle callback on the fresh connection; on failure
 * the connection is closed again (err says why). */
static int conn_watch_events(struct res_virt *v, char *err, size_t errlen)
{
	pthread_mutex_lock(&v->lock);
	v->cb_live = true;
	pthread_mutex_unlock(&v->lock);
	v->cb_id = virConnectDomainEventRegisterAny(v->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						    VIR_DOMAIN_EVENT_CALLBACK(res_virt_lifecycle_cb),
						    v, res_virt_lifecycle_freed);
	if (v->cb_id < 0) {
		snprintf(err, errlen, "cannot watch domain events on '%s': %s", v->uri, virt_msg());
		pthread_mutex_lock(&v->lock);
		v->cb_live = false;
		pthread_mutex_unlock(&v->lock);
		res_virt_conn_drop(v, false);
		return -1;
	}
	return 0;
}

int res_virt_conn_get(struct res_virt *v, char *err, size_t errlen)
{
	if (v->conn && virConnectIsAlive(v->conn) != 1)
		res_virt_conn_drop(v, true);
	if (v->conn)
		return 0;
	v->conn = virConnectOpen(v->uri);
	if (!v->conn) {
		snprintf(err, errlen, "cannot connect to '%s': %s", v->uri, virt_msg());
		return -1;
	}
	/* Only remote URIs support keepalive; the others say so harmlessly. */
	if (virConnectSetKeepAlive(v->conn, VIRT_KEEPALIVE_S, VIRT_KEEPALIVE_COUNT) < 0)
		virResetLastError();
	if (!(v->flags & RES_VIRT_NO_EVENTS) && conn_watch_events(v, err, errlen) < 0)
		return -1;
	v->was_connected = true;
	return 0;
}

/* While idle: a connection that died is reported (DISCONNECTED) and
 * reopened, so that events resume without waiting for a request. Only
 * once one was opened: an unused backend stays unconnected. */
void res_virt_conn_watch(struct res_virt *v)
{
	char err[RES_VIRT_TEXT_MAX];

	if (!v->conn && !v->was_connected)
		return;
	if (v->conn && virConnectIsAlive(v->conn) == 1)
		return;
	if (res_virt_conn_get(v, err, sizeof(err)) < 0)
		virResetLastError();   /* retried at the next tick or request */
}

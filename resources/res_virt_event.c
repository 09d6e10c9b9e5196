/* res_virt_event.c - libvirt's event loop and the lifecycle event bridge.
 *
 * Owns the one process-wide thread that runs libvirt's default event loop
 * (libvirt's event implementation is itself process-global: started with
 * the first backend, stopped with the last) and turns libvirt's lifecycle
 * callbacks into struct res_virt_event on the backend's queue. The
 * callbacks run in the event thread: they only copy and queue, never call
 * back into libvirt beyond virDomainGetName.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cm_err.h"
#include "common/cm_str.h"
#include "res_virt_int.h"

static void quiet_errors(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

/* ---- the process-wide event loop ---- */

/* libvirt's default event implementation is process-global, so its
 * registration and the thread that runs it are too. */
static pthread_mutex_t g_loop_lock = PTHREAD_MUTEX_INITIALIZER;
static bool g_loop_registered;
static int g_loop_refs;
static pthread_t g_loop_thread;
static volatile int g_loop_stop;

static void *loop_main(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&g_loop_stop, __ATOMIC_ACQUIRE)) {
		if (virEventRunDefaultImpl() < 0)
			break;
	}
	return NULL;
}

static void loop_wake(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

int res_virt_loop_get(char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&g_loop_lock);
	if (!g_loop_registered) {
		if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
			snprintf(err, errlen, "cannot set up libvirt's event loop: %s", virt_msg());
			rc = -CM_E_NOT_READY;
			goto out;
		}
		virSetErrorFunc(NULL, quiet_errors);
		g_loop_registered = true;
	}
	if (g_loop_refs == 0) {
		__atomic_store_n(&g_loop_stop, 0, __ATOMIC_RELEASE);
		rc = -pthread_create(&g_loop_thread, NULL, loop_main, NULL);
		if (rc) {
			snprintf(err, errlen, "cannot start the libvirt event thread: %s", strerror(-rc));
			goto out;
		}
	}
	g_loop_refs++;
out:
	pthread_mutex_unlock(&g_loop_lock);
	return rc;
}

void res_virt_loop_put(void)
{
	int timer;

	pthread_mutex_lock(&g_loop_lock);
	if (--g_loop_refs == 0) {
		__atomic_store_n(&g_loop_stop, 1, __ATOMIC_RELEASE);
		/* A timer that fires at once makes the blocked iteration return;
		 * it stays armed so that every further iteration also returns. */
		timer = virEventAddTimeout(0, loop_wake, NULL, NULL);
		pthread_join(g_loop_thread, NULL);
		if (timer >= 0)
			virEventRemoveTimeout(timer);
	}
	pthread_mutex_unlock(&g_loop_lock);
}

/* ---- events ---- */

void res_virt_event_push(struct res_virt *v, const struct res_virt_event *ev)
{
	struct vevent *e = calloc(1, sizeof(*e));
	struct vevent *old;

	if (!e)
		return;
	e->ev = *ev;
	pthread_mutex_lock(&v->lock);
	if (v->nev >= VIRT_EVENTS_MAX) {
		old = v->ev_head;
		v->ev_head = old->next;
		if (!v->ev_head)
			v->ev_tail = NULL;
		v->nev--;
		free(old);
	}
	if (v->ev_tail)
		v->ev_tail->next = e;
	else
		v->ev_head = e;
	v->ev_tail = e;
	v->nev++;
	fd_signal(v->ev_fd);
	pthread_mutex_unlock(&v->lock);
}

static const char *detail_word(int event, int detail)
{
	static const char *const started[] = { "booted", "migrated", "restored", "snapshot", "wakeup" };
	static const char *const suspended[] = { "paused", "migrated", "ioerror", "watchdog",
		"restored", "snapshot", "api-error", "postcopy", "postcopy-failed" };
	static const char *const resumed[] = { "unpaused", "migrated", "snapshot", "postcopy",
		"postcopy-failed" };
	static const char *const stopped[] = { "shutdown", "destroyed", "crashed", "migrated",
		"saved", "failed", "snapshot" };
	static const char *const *tab = NULL;
	size_t n = 0;

#define TAB(a) do { tab = (a); n = sizeof(a) / sizeof((a)[0]); } while (0)
	switch (event) {
	case VIR_DOMAIN_EVENT_STARTED: TAB(started); break;
	case VIR_DOMAIN_EVENT_SUSPENDED: TAB(suspended); break;
	case VIR_DOMAIN_EVENT_RESUMED: TAB(resumed); break;
	case VIR_DOMAIN_EVENT_STOPPED: TAB(stopped); break;
	default: return "";
	}
#undef TAB
	return detail >= 0 && (size_t)detail < n ? tab[detail] : "";
}

static enum res_virt_ev_type map_event(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_DEFINED: return RES_VIRT_EV_DEFINED;
	case VIR_DOMAIN_EVENT_UNDEFINED: return RES_VIRT_EV_UNDEFINED;
	case VIR_DOMAIN_EVENT_STARTED: return RES_VIRT_EV_STARTED;
	case VIR_DOMAIN_EVENT_SUSPENDED: return RES_VIRT_EV_SUSPENDED;
	case VIR_DOMAIN_EVENT_RESUMED: return RES_VIRT_EV_RESUMED;
	case VIR_DOMAIN_EVENT_STOPPED:
		if (detail == VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN)
			return RES_VIRT_EV_SHUTDOWN;
		if (detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED)
			return RES_VIRT_EV_CRASHED;
		if (detail == VIR_DOMAIN_EVENT_STOPPED_MIGRATED)
			return RES_VIRT_EV_MIGRATED;
		return RES_VIRT_EV_STOPPED;
	case VIR_DOMAIN_EVENT_CRASHED: return RES_VIRT_EV_CRASHED;
	default: return RES_VIRT_EV_OTHER;
	}
}

/* Runs in the event thread. */
int res_virt_lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail,
			void *opaque)
{
	struct res_virt_event ev;
	const char *name = virDomainGetName(dom);

	(void)conn;
	memset(&ev, 0, sizeof(ev));
	ev.type = map_event(event, detail);
	cm_strlcpy(ev.name, name ? name : "", sizeof(ev.name));
	ev.detail_code = detail;
	cm_strlcpy(ev.detail, detail_word(event, detail), sizeof(ev.detail));
	res_virt_event_push(opaque, &ev);
	return 0;
}

/* libvirt dropped our callback for good (deregistered or connection
 * closed): only then may v go away. */
void res_virt_lifecycle_freed(void *opaque)
{
	struct res_virt *v = opaque;

	pthread_mutex_lock(&v->lock);
	v->cb_live = false;
	pthread_cond_broadcast(&v->scond);
	pthread_mutex_unlock(&v->lock);
}

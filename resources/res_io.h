/* res_io.h - one policy input (the whole model plus one event) and one plan
 * as JSON.
 *
 * clusterd saves every input that led to actions; `clussim --replay FILE`
 * loads it back and runs res_step() once, so a decision made on a real
 * cluster can be reproduced and debugged (pacemaker's pe-input files). The
 * simulator also copies replicas with it (a joining node's sync).
 *
 * Pure: libc, cm_json and cm_str only. No I/O. Input is untrusted: every
 * field is checked and a bad document gives a sentence, never a crash.
 */
#ifndef RES_IO_H
#define RES_IO_H

#include <stddef.h>
#include <stdint.h>

#include "cm_str.h"
#include "res_core.h"

#define RES_IO_VERSION 1

/* Append the model (configuration and runtime state) and, unless ev is
 * NULL, the event to out as one JSON object. Objects are referenced by name
 * (resources, groups) and by id (nodes), never by index. 0 or -ENOMEM. */
int res_input_to_json(const struct res_model *m, const struct res_event *ev, struct cm_sb *out);

/* Parse a document written by res_input_to_json().
 * [in]  text, len: the document (need not be NUL-terminated).
 * [out] *m: a finished model (res_model_free()); NULL on error.
 * [out] ev: the event; zeroed, type RES_EV_TICK, when the document has none.
 *       ev->members and ev->text point into *members.
 * [out] *members: one block owned by the caller (free()) holding the member
 *       list and the event's text; NULL on error.
 * [out] err: a sentence naming the bad field on error.
 * Returns 0, -CM_E_PROTO (not JSON, wrong shape), -CM_E_VALUE (bad value),
 * -CM_E_NO_OBJECT (unknown reference), -CM_E_EXISTS (duplicate), -ENOMEM. */
int res_input_from_json(const char *text, size_t len, struct res_model **m,
			struct res_event *ev, uint32_t **members, char *err, size_t errlen);

/* Append a plan: actions (node, op, resource name, gen, target, reason),
 * notes, changed objects and next_wake_ms. 0 or -ENOMEM. */
int res_plan_to_json(const struct res_model *m, const struct res_plan *p, struct cm_sb *out);

/* Names of event types ("tick", "result", ...) for the JSON and the logs. */
const char *res_ev_to_str(enum res_ev t);
int res_ev_from_str(const char *s);   /* -1 when unknown */
int res_op_from_str(const char *s);   /* -1 when unknown */

#endif

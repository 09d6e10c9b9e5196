/* cm_prop.h - object kinds, names and typed properties.
 *
 * The schema of every property the cluster knows: its object kind, type,
 * range and default. Validation turns user input into a canonical value or a
 * sentence saying what is wrong. Properties whose name starts with "user."
 * are free-form strings for administrators. Pure: no I/O.
 */
#ifndef CM_PROP_H
#define CM_PROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CM_NAME_MAX 64      /* bytes including the NUL */
#define CM_VALUE_MAX 1024   /* bytes including the NUL */
#define CM_USER_PREFIX "user."

enum cm_obj_kind {
	CM_OBJ_CLUSTER = 0,
	CM_OBJ_NODE = 1,
	CM_OBJ_GROUP = 2,
	CM_OBJ_RESOURCE = 3,
	CM_OBJ_COUNT
};

enum cm_ptype { CM_PT_STRING, CM_PT_INT, CM_PT_BOOL, CM_PT_ENUM };

struct cm_prop_def {
	enum cm_obj_kind kind;
	const char *name;
	enum cm_ptype type;
	const char *def;             /* canonical default */
	int64_t min, max;            /* CM_PT_INT range; CM_PT_STRING max length */
	const char *const *choices;  /* CM_PT_ENUM, NULL-terminated */
	bool readonly;               /* changed by a dedicated command only */
	const char *help;
};

const char *cm_obj_kind_to_str(enum cm_obj_kind k);
int cm_obj_kind_from_str(const char *s); /* kind or -CM_E_ARGS */

/* 1..63 characters of [A-Za-z0-9_.-], starting with a letter or digit. */
bool cm_name_is_valid(const char *name);
/* Like cm_name_is_valid, with a sentence in err when it is not. */
int cm_name_check(const char *what, const char *name, char *err, size_t errlen);

const struct cm_prop_def *cm_prop_find(enum cm_obj_kind kind, const char *name);
/* Every property of a kind, in a fixed order; *n gets the count. */
const struct cm_prop_def *cm_prop_defs(enum cm_obj_kind kind, size_t *n);
const char *cm_ptype_to_str(enum cm_ptype t);

/* Validate value for property name of kind. On success writes the canonical
 * value to canon and returns 0; else -CM_E_PROP, -CM_E_VALUE or
 * -CM_E_READONLY with a sentence in err. */
int cm_prop_validate(enum cm_obj_kind kind, const char *name, const char *value,
		     char *canon, size_t canonlen, char *err, size_t errlen);

#endif

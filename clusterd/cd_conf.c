/* cd_conf.c - parse clusterd.conf (see cd_conf.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_err.h"
#include "cm_str.h"
#include "cd_conf.h"

void cd_conf_defaults(struct cd_conf *c)
{
	memset(c, 0, sizeof(*c));
	cm_strlcpy(c->state_dir, LOCALSTATEDIR "/lib/clusterd", sizeof(c->state_dir));
	cm_strlcpy(c->log_file, LOCALSTATEDIR "/log/clusterd/clusterd.log", sizeof(c->log_file));
	cm_strlcpy(c->admin_group, "haclient", sizeof(c->admin_group));
	cm_strlcpy(c->libvirt_uri, "qemu:///system", sizeof(c->libvirt_uri));
	c->syslog = true;
	c->write_timeout_ms = 15000;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

int cd_conf_parse(struct cd_conf *c, const char *text, char *err, size_t errlen)
{
	char *copy = strdup(text), *line, *save = NULL;
	int lineno = 0, rc = 0;

	if (copy == NULL)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#'), *eq, *key, *val;
		long n;

		lineno++;
		if (hash)
			*hash = '\0';
		if (*trim(line) == '\0')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "line %d: expected 'key = value'", lineno);
			rc = -CM_E_CONF;
			break;
		}
		*eq = '\0';
		key = trim(line);
		val = trim(eq + 1);
		if (!strcmp(key, "state_dir") && val[0] == '/') {
			rc = cm_strlcpy(c->state_dir, val, sizeof(c->state_dir));
		} else if (!strcmp(key, "log_file") && val[0] == '/') {
			rc = cm_strlcpy(c->log_file, val, sizeof(c->log_file));
		} else if (!strcmp(key, "initiator_iqn") && !strncmp(val, "iqn.", 4)) {
			rc = cm_strlcpy(c->initiator_iqn, val, sizeof(c->initiator_iqn));
		} else if (!strcmp(key, "libvirt_uri") && strstr(val, ":/")) {
			rc = cm_strlcpy(c->libvirt_uri, val, sizeof(c->libvirt_uri));
		} else if (!strcmp(key, "libvirt_uri")) {
			rc = -1;
		} else if (!strcmp(key, "admin_group") && val[0]) {
			rc = cm_strlcpy(c->admin_group, val, sizeof(c->admin_group));
		} else if (!strcmp(key, "syslog")) {
			rc = parse_bool(val, &c->syslog);
		} else if (!strcmp(key, "debug")) {
			rc = parse_bool(val, &c->debug);
		} else if (!strcmp(key, "write_timeout_ms")) {
			char *end;

			n = strtol(val, &end, 10);
			rc = (*end || n < 100 || n > 600000) ? -1 : 0;
			c->write_timeout_ms = (int)n;
		} else if (!strcmp(key, "state_dir") || !strcmp(key, "log_file") ||
			   !strcmp(key, "admin_group") || !strcmp(key, "initiator_iqn")) {
			rc = -1;
		} else {
			snprintf(err, errlen, "line %d: unknown setting '%s'", lineno, key);
			rc = -CM_E_CONF;
			break;
		}
		if (rc < 0) {
			snprintf(err, errlen, "line %d: bad value '%s' for '%s'", lineno, val, key);
			rc = -CM_E_CONF;
			break;
		}
	}
	free(copy);
	return rc;
}

int cd_conf_load(struct cd_conf *c, const char *path, bool required, char *err, size_t errlen)
{
	char buf[4096], sub[256];
	struct cm_sb sb;
	size_t n;
	FILE *f;
	int rc;

	f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT && !required)
			return 0;
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -errno;
	}
	cm_sb_init(&sb);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		cm_sb_add(&sb, buf, n);
	fclose(f);
	rc = cd_conf_parse(c, cm_sb_str(&sb), sub, sizeof(sub));
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, sub);
	cm_sb_free(&sb);
	return rc;
}

void cd_conf_db_path(const struct cd_conf *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s/cluster.db", c->state_dir);
}

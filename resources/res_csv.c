/* res_csv.c - the 'csv' resource type: the coordinator role of a cluster
 * shared volume on one node.
 *
 * The coordinator's own I/O (allocation table, locks) lives in clusterd;
 * this type only proves, by running `<lun_tool> csv check URL --uuid U
 * [--name N]` (csv/lun_csv.c), that this node reaches the LUN and that it
 * holds this cluster's CSV header. Giving the role up needs no I/O.
 *
 * Properties (clusterd fills all but url): url (required, checked at
 * create), lun_tool (absolute path of clusterd-lun), initiator,
 * cluster_uuid, csv_name (optional), io_timeout_s (default 10).
 *
 * Never here: SCSI or any wait (the spawn-and-wait step is res_lun_run in
 * res_disk.c).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "cm_err.h"
#include "res_type.h"

#define CSV_MAX_ARGS 16

static int csv_check_props(const char *const *props, size_t nprops, char *err, size_t errlen)
{
	const char *tool = res_prop_get(props, nprops, "lun_tool");
	int rc = res_lun_url_check(res_prop_get(props, nprops, "url"), err, errlen);

	if (rc < 0)
		return rc;
	if (tool && tool[0] != '/') {
		snprintf(err, errlen, "property 'lun_tool' must be an absolute path, not '%s'", tool);
		return -CM_E_VALUE;
	}
	return 0;
}

static int csv_run_check(struct res_call *c, const char *ok_text)
{
	const char *argv[CSV_MAX_ARGS + 1];
	const char *tool = res_prop_get(c->props, c->nprops, "lun_tool");
	const char *url = res_prop_get(c->props, c->nprops, "url");
	const char *ini = res_prop_get(c->props, c->nprops, "initiator");
	const char *uuid = res_prop_get(c->props, c->nprops, "cluster_uuid");
	const char *name = res_prop_get(c->props, c->nprops, "csv_name");
	char timeout[16];
	size_t n = 0;

	if (tool == NULL || *tool == '\0')
		return res_call_done(c, false, "property 'lun_tool' is not set (clusterd fills it for CSVs)");
	if (url == NULL || *url == '\0')
		return res_call_done(c, false, "property 'url' is not set");
	if (ini == NULL || *ini == '\0')
		return res_call_done(c, false, "property 'initiator' is not set (clusterd fills it for CSVs)");
	if (uuid == NULL || *uuid == '\0')
		return res_call_done(c, false, "property 'cluster_uuid' is not set (clusterd fills it for CSVs)");
	res_lun_io_timeout(c, timeout, sizeof(timeout));
	argv[n++] = tool;
	argv[n++] = "csv";
	argv[n++] = "check";
	argv[n++] = url;
	argv[n++] = "--initiator";
	argv[n++] = ini;
	argv[n++] = "--uuid";
	argv[n++] = uuid;
	argv[n++] = "--timeout";
	argv[n++] = timeout;
	if (name && *name) {
		argv[n++] = "--name";
		argv[n++] = name;
	}
	argv[n] = NULL;
	return res_lun_run(c, argv, ok_text);
}

static int csv_online(struct res_call *c)
{
	return csv_run_check(c, "LUN reachable, CSV header of this cluster: coordinator");
}

static int csv_offline(struct res_call *c)
{
	return res_call_done(c, true, "coordinator role given up");
}

static int csv_health(struct res_call *c)
{
	return csv_run_check(c, "LUN reachable, CSV header of this cluster");
}


const struct res_type_ops res_csv_ops = {
	.name = "csv",
	.check = csv_check_props,
	.online = csv_online,
	.offline = csv_offline,
	.terminate = csv_offline,
	.looks_alive = csv_health,
	.is_alive = csv_health,
	.migrate = NULL,
};

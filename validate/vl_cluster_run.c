/* vl_cluster_run.c - `clusval --cluster`: ask the local clusterd, through
 * `cluadmin --json`, for the members, the LUNs in use and the VMs
 * (vl_cluster.c reads the answers).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cm_err.h"
#include "cm_str.h"
#include "vl_cluster.h"
#include "vl_probe.h"

#define CLUADMIN_TIMEOUT_MS 30000
#define OUT_MAX (4u << 20)      /* a VM's XML is at most 1 MiB */

/* cluadmin next to clusval (installed), in the build tree, or on PATH. */
static void find_cluadmin(char *buf, size_t len)
{
	char self[PATH_MAX / 2], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(buf, len, "%s/cluadmin", self);
			if (access(buf, X_OK) == 0)
				return;
			snprintf(buf, len, "%s/../cli/cluadmin", self);
			if (access(buf, X_OK) == 0)
				return;
		}
	}
	cm_strlcpy(buf, "cluadmin", len);
}

/* `cluadmin --json WORDS...` into out; a sentence in err on failure. */
static int ask(const char *bin, const char *w1, const char *w2, const char *w3, char *out, char *err,
	       size_t errlen)
{
	const char *argv[] = { bin, "--json", w1, w2, w3, NULL };
	char msg[512];
	int rc = vl_run_split(argv, CLUADMIN_TIMEOUT_MS, out, OUT_MAX, msg, sizeof(msg));

	if (rc == 0)
		return 0;
	msg[strcspn(msg, "\n")] = '\0';
	if (rc == -ENOENT)
		snprintf(err, errlen, "cannot run '%s' (give its path with --cluadmin)", bin);
	else if (rc < 0)
		snprintf(err, errlen, "'cluadmin %s %s%s%s' failed: %s", w1, w2, w3 ? " " : "", w3 ? w3 : "",
			 cm_strerror(rc));
	else
		snprintf(err, errlen, "'cluadmin %s %s%s%s' failed (exit %d)%s%s", w1, w2, w3 ? " " : "",
			 w3 ? w3 : "", rc, msg[0] ? ": " : "", msg);
	return rc < 0 ? rc : -CM_E_STATE;
}

int vl_cluster_load(const char *cluadmin, struct vl_cluster *c, char *err, size_t errlen)
{
	char bin[PATH_MAX];
	char *nodes = malloc(OUT_MAX), *quorum = malloc(OUT_MAX), *csvs = malloc(OUT_MAX);
	char *vms = malloc(OUT_MAX), *one = malloc(OUT_MAX);
	int rc = -ENOMEM;

	memset(c, 0, sizeof(*c));
	if (cluadmin)
		cm_strlcpy(bin, cluadmin, sizeof(bin));
	else
		find_cluadmin(bin, sizeof(bin));
	if (!nodes || !quorum || !csvs || !vms || !one) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((rc = ask(bin, "node", "list", NULL, nodes, err, errlen)) < 0 ||
	    (rc = ask(bin, "quorum", "show", NULL, quorum, err, errlen)) < 0 ||
	    (rc = ask(bin, "csv", "list", NULL, csvs, err, errlen)) < 0 ||
	    (rc = ask(bin, "vm", "list", NULL, vms, err, errlen)) < 0 ||
	    (rc = vl_cluster_base(nodes, quorum, csvs, vms, c, err, errlen)) < 0)
		goto out;
	for (size_t i = 0; i < c->n_vm_names; i++)
		if ((rc = ask(bin, "vm", "show", c->vm_names[i], one, err, errlen)) < 0 ||
		    (rc = vl_cluster_add_vm(c, one, err, errlen)) < 0)
			goto out;
	rc = 0;
out:
	free(nodes);
	free(quorum);
	free(csvs);
	free(vms);
	free(one);
	return rc;
}

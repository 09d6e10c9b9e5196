/* res_virt_mig.c - migration (worker thread) and its sampler thread.
 *
 * While the worker is blocked in the migration call, a sampler thread
 * reads the job statistics every VIRT_SAMPLE_MS and issues
 * virDomainAbortJob on CANCEL. Both meet under v->lock on r->mig_done,
 * r->cancel and r->job.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/cm_str.h"
#include "res_virt_int.h"

/* ---- migration ---- */

/* Job statistics of d into job; flags 0 (running) or COMPLETED. 0 if any. */
static int job_read(virDomainPtr d, unsigned flags, struct res_virt_job *job)
{
	virTypedParameterPtr p = NULL;
	int n = 0, type = 0;
	unsigned long long x;

	if (virDomainGetJobStats(d, &type, &p, &n, flags) < 0) {
		virResetLastError();
		return -1;
	}
	if (type == VIR_DOMAIN_JOB_NONE) {
		virTypedParamsFree(p, n);
		return -1;
	}
	job->valid = true;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DATA_TOTAL, &x) == 1)
		job->data_total = x;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &x) == 1)
		job->data_processed = x;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DATA_REMAINING, &x) == 1)
		job->data_remaining = x;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_TIME_ELAPSED, &x) == 1)
		job->elapsed_ms = x;
	if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DOWNTIME, &x) == 1)
		job->downtime_ms = (int64_t)x;
	virTypedParamsFree(p, n);
	return 0;
}

struct sampler {
	struct res_virt *v;
	struct vreq *r;
	virDomainPtr dom;
};

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	struct res_virt *v = s->v;
	struct res_virt_job job;
	bool aborted = false, cancel;

	pthread_mutex_lock(&v->lock);
	while (!s->r->mig_done) {
		sleep_until_cond(&v->scond, &v->lock, VIRT_SAMPLE_MS);
		if (s->r->mig_done)
			break;
		cancel = s->r->cancel && !aborted;
		pthread_mutex_unlock(&v->lock);
		if (cancel) {
			aborted = true;
			if (virDomainAbortJob(s->dom) < 0)
				virResetLastError();
		}
		memset(&job, 0, sizeof(job));
		job.downtime_ms = -1;
		pthread_mutex_lock(&v->lock);
		if (!s->r->mig_done) {
			pthread_mutex_unlock(&v->lock);
			if (job_read(s->dom, 0, &job) < 0)
				job.valid = false;
			pthread_mutex_lock(&v->lock);
			if (job.valid)
				s->r->job = job;
		}
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

static unsigned mig_flags(unsigned f)
{
	unsigned out = 0;

	if (f & RES_VIRT_MIG_LIVE)
		out |= VIR_MIGRATE_LIVE;
	if (f & RES_VIRT_MIG_P2P)
		out |= VIR_MIGRATE_PEER2PEER;
	if (f & RES_VIRT_MIG_PERSISTENT)
		out |= VIR_MIGRATE_PERSIST_DEST;
	if (f & RES_VIRT_MIG_UNDEFINE_SOURCE)
		out |= VIR_MIGRATE_UNDEFINE_SOURCE;
	if (f & RES_VIRT_MIG_UNSAFE)
		out |= VIR_MIGRATE_UNSAFE;
	return out;
}

/* Final statistics: the source keeps them for a persistent domain; for a
 * domain gone from the source (transient, undefine_source) ask the target. */
static void mig_final(struct vreq *r, virDomainPtr src, virDomainPtr ddom,
		      virConnectPtr dconn, int64_t wall_ms)
{
	struct res_virt_job job;
	virConnectPtr c = dconn;
	virDomainPtr d = NULL;

	memset(&job, 0, sizeof(job));
	job.downtime_ms = -1;
	if (job_read(src, VIR_DOMAIN_JOB_STATS_COMPLETED, &job) < 0 && ddom)
		job_read(ddom, VIR_DOMAIN_JOB_STATS_COMPLETED, &job);
	if (!job.valid && !ddom) {
		if (!c)
			c = virConnectOpen(r->dest_uri);
		if (c)
			d = virDomainLookupByName(c, r->name);
		if (d) {
			job_read(d, VIR_DOMAIN_JOB_STATS_COMPLETED, &job);
			virDomainFree(d);
		}
		if (c && c != dconn)
			virConnectClose(c);
		virResetLastError();
	}
	if (!job.valid) {
		job = r->job;   /* the last sample */
		job.valid = true;
	}
	if (!job.elapsed_ms)
		job.elapsed_ms = (uint64_t)wall_ms;
	r->res.job = job;
}

void res_virt_op_migrate(struct res_virt *v, struct vreq *r)
{
	virDomainPtr d = res_virt_lookup(v, r), ddom = NULL;
	virConnectPtr dconn = NULL;
	virTypedParameterPtr p = NULL;
	int n = 0, maxp = 0, rc;
	struct sampler s;
	pthread_t th;
	bool th_ok;
	int64_t t0;
	char msg[RES_VIRT_TEXT_MAX];

	if (!d)
		return;
	if (r->max_downtime_ms && virDomainMigrateSetMaxDowntime(d, r->max_downtime_ms, 0) < 0) {
		res_virt_fail(v, r, "set the maximum migration downtime of");
		goto out;
	}
	if (r->bandwidth_mibs &&
	    virTypedParamsAddULLong(&p, &n, &maxp, VIR_MIGRATE_PARAM_BANDWIDTH, r->bandwidth_mibs) < 0) {
		res_virt_fail(v, r, "migrate");
		goto out;
	}
	s.v = v;
	s.r = r;
	s.dom = d;
	th_ok = pthread_create(&th, NULL, sampler_main, &s) == 0;
	t0 = now_ms();
	if (r->mig_flags & RES_VIRT_MIG_P2P) {
		rc = virDomainMigrateToURI3(d, r->dest_uri, p, n, mig_flags(r->mig_flags));
	} else {
		dconn = virConnectOpen(r->dest_uri);
		ddom = dconn ? virDomainMigrate3(d, dconn, p, n, mig_flags(r->mig_flags)) : NULL;
		rc = ddom ? 0 : -1;
	}
	cm_strlcpy(msg, rc < 0 ? virt_msg() : "", sizeof(msg));
	pthread_mutex_lock(&v->lock);
	r->mig_done = true;
	pthread_cond_broadcast(&v->scond);
	pthread_mutex_unlock(&v->lock);
	if (th_ok)
		pthread_join(th, NULL);
	if (rc < 0) {
		bool dead = virConnectIsAlive(v->conn) != 1;

		r->res.ok = false;
		r->res.job = r->job;
		/* truncation is fine: the sentence stays terminated */
		if (snprintf(r->res.text, sizeof(r->res.text), "%s domain '%s' to '%s'%s: %s%s%s",
			 r->cancel ? "cancelled the migration of" : "cannot migrate",
			 r->name, r->dest_uri, dconn || (r->mig_flags & RES_VIRT_MIG_P2P) ? "" :
			 " (cannot connect to the target)", msg,
			 dead ? "; lost the connection to " : "", dead ? v->uri : "") < 0)
			r->res.text[0] = '\0';
		virResetLastError();
		if (dead)
			res_virt_conn_drop(v, true);
		goto out;
	}
	mig_final(r, d, ddom, dconn, now_ms() - t0);
	res_virt_okf(r, "migrated domain '%s' to '%s' in %" PRIu64 " ms (downtime %" PRId64 " ms, %" PRIu64 " bytes)",
	    r->name, r->dest_uri, r->res.job.elapsed_ms, r->res.job.downtime_ms,
	    r->res.job.data_processed);
out:
	virTypedParamsFree(p, n);
	if (ddom)
		virDomainFree(ddom);
	if (dconn)
		virConnectClose(dconn);
	virDomainFree(d);
}

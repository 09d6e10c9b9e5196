/* vl_report.h - clusval's report: the terminal summary, a self-contained
 * HTML file and JSON, from the results and the facts. Pure: writes into
 * string buffers; the caller writes the files. */
#ifndef VL_REPORT_H
#define VL_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "cm_str.h"
#include "vl_checks.h"

struct vl_run_info {
	const char *title;        /* e.g. "Validation of n1, n2, n3" */
	int64_t started_ms, ended_ms;
	const char *version;      /* this project's */
	const char *const *nodes;
	size_t nnodes;
	bool color;               /* terminal colours in the text summary */
};

void vl_report_text(const struct vl_run_info *ri, const struct vl_result *r, size_t n, struct cm_sb *out);
void vl_report_html(const struct vl_run_info *ri, const struct vl_result *r, size_t n,
		    const struct vl_facts *facts, size_t nfacts, struct cm_sb *out);
void vl_report_json(const struct vl_run_info *ri, const struct vl_result *r, size_t n,
		    const struct vl_facts *facts, size_t nfacts, struct cm_sb *out);

#endif

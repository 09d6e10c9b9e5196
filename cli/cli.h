/* cli.h - cluadmin's parts: IPC to clusterd, rendering, cluster create,
 * groups and resources, virtual machines.
 * cluadmin talks only to clusterd; it never opens the database. */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>

#include "cm_json.h"

/* Exit codes, documented in cluadmin(8) and --help. */
enum cli_exit {
	CLI_OK = 0,
	CLI_EFAIL = 1,      /* the cluster refused or reported an error */
	CLI_EUSAGE = 2,     /* bad command line */
	CLI_ENOCONN = 3,    /* clusterd cannot be reached */
	CLI_ENOQUORUM = 4,  /* no quorum, not a member yet, or synchronising: retry later */
	CLI_EPERM = 5,      /* not root and not in the admin group */
	CLI_ETIMEOUT = 6,   /* no answer in time */
};

struct cli_opts {
	bool json;
	int timeout_ms;
	bool timeout_set;   /* --timeout was given (--wait's bound then, else 60 s) */
};

/* Send one request; on success *out holds clusterd's JSON (caller frees).
 * On failure prints "cluadmin: <sentence>" and returns the exit code. */
int cli_call(const struct cli_opts *o, int cmd, const char *const *args, int nargs, char **out);
/* Same, then print: JSON as-is (pretty) with --json, else through render. */
int cli_show(const struct cli_opts *o, int cmd, const char *const *args, int nargs,
	     void (*render)(const struct cm_jv *));

void cli_render_status(const struct cm_jv *v);
void cli_render_nodes(const struct cm_jv *v);
void cli_render_node(const struct cm_jv *v);
void cli_render_cluster(const struct cm_jv *v);
void cli_render_props(const struct cm_jv *v);
void cli_render_prop(const struct cm_jv *v);
void cli_render_events(const struct cm_jv *v);
void cli_render_ok(const struct cm_jv *v);
void cli_render_quorum(const struct cm_jv *v);
void cli_render_witness_init(const struct cm_jv *v);
void cli_render_groups(const struct cm_jv *v);
void cli_render_group(const struct cm_jv *v);
void cli_render_resources(const struct cm_jv *v);
void cli_render_resource(const struct cm_jv *v);
void cli_format_time(long long ms, char *buf, int len);

int cli_cluster_create(const struct cli_opts *o, int argc, char **argv);

/* group ..., resource ..., node drain|confirm-down (cli_res.c). argv[0] is
 * the noun. */
bool cli_res_handles(const char *noun, const char *verb);
/* Whether argv starts with verb ("list" or "snapshot create"); words: how many it took. */
bool cli_verb_matches(const char *verb, int argc, char **argv, int *words);
/* After a drain: how each VM left node since since_ms (wall clock). */
void cli_vm_drain_report(const struct cli_opts *o, const char *node, long long since_ms);
int cli_res_main(const struct cli_opts *o, int argc, char **argv);

/* Helpers of cli_res.c shared with cli_vm.c. */
long long cli_mono_ms(void);
void cli_sleep_ms(long long ms);
/* Parse clusterd's answer, or print why not and return NULL. */
struct cm_jv *cli_parse_reply(const char *text);
/* Pretty-print JSON as --json does. */
void cli_print_json(const struct cm_jv *v);
/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 when it matched (then
 * *i is advanced past a separate value); *bad set when the value is
 * missing or empty. */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **out, int *bad);

/* csv ... (cli_csv.c). argv[0] is "csv". */
int cli_csv_main(const struct cli_opts *o, int argc, char **argv);
/* vm ... (cli_vm.c). argv[0] is "vm". */
int cli_vm_main(const struct cli_opts *o, int argc, char **argv);

#endif

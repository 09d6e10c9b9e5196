/* cli_res.c - placeholder, being written */
typedef int cli_res_placeholder;

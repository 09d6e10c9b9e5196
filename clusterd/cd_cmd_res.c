/* cd_cmd_res.c - placeholder, being written */
typedef int cd_cmd_res_placeholder;

/* cd_db_res.c - placeholder, being written */
typedef int cd_db_res_placeholder;

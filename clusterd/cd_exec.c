/* cd_exec.c - placeholder, being written */
typedef int cd_exec_placeholder;

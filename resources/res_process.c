/* res_process.c - placeholder, being written */
typedef int res_process_placeholder;

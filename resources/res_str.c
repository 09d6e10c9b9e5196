/* res_str.c - placeholder, being written */
typedef int res_str_placeholder;

/* res_type.c - placeholder, being written */
typedef int res_type_placeholder;

/* res_io.c - placeholder, being written */
typedef int res_io_placeholder;

/* res_virt.c - placeholder, being written */
typedef int res_virt_placeholder;

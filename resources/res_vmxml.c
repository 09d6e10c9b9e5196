/* res_vmxml.c - placeholder, being written */
typedef int res_vmxml_placeholder;

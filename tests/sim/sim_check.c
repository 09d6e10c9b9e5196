/* sim_check.c - placeholder, being written */
typedef int sim_check_placeholder;

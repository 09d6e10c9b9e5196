/* sim_script.c - placeholder, being written */
typedef int sim_script_placeholder;

/* sim_world.c - placeholder, being written */
typedef int sim_world_placeholder;

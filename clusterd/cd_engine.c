/* cd_engine.c - placeholder, being written */
typedef int cd_engine_placeholder;

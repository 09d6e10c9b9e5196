/* res_model.c - placeholder, being written */
typedef int res_model_placeholder;

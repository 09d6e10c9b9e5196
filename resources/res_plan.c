/* res_plan.c - placeholder, being written */
typedef int res_plan_placeholder;

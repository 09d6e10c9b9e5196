/* cd_fence.c - placeholder, being written */
typedef int cd_fence_placeholder;

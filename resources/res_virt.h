#ifndef RES_VIRT_H
#define RES_VIRT_H
#endif

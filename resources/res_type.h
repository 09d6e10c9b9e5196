#ifndef RES_TYPE_H
#define RES_TYPE_H
#endif

#ifndef RES_IO_H
#define RES_IO_H
#endif

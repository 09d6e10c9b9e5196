#ifndef CD_EXEC_H
#define CD_EXEC_H
#endif

#ifndef RES_VMXML_H
#define RES_VMXML_H
#endif

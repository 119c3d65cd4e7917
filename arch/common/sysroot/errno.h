#ifndef ELYZ_ERRNO_H
#define ELYZ_ERRNO_H
extern int errno;
#endif

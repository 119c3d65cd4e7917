#ifndef ELYZ_PTHREAD_H
#define ELYZ_PTHREAD_H
/* No threads freestanding: only the type the RPython headers name. */
typedef unsigned int pthread_key_t;
#endif

/*
 * mutex.h - the stack lock, shareable between processes.
 *
 * A context's lock lives in its shared part (struct zc__shm, in the
 * context's arena) so that every process of the stack (a fork child, an
 * exec'd image) takes the same one. It is process-shared and robust: when
 * its holder dies (SIGKILL, a crash), the next locker gets it with
 * EOWNERDEAD, marks it consistent and counts the recovery, instead of every
 * process hanging on a lock no one will release. What the dead holder left
 * half done is not repaired here (issue 15's recovery stage): the counter
 * and a log line say that it happened.
 */
#ifndef ZC_SOCKAPI_MUTEX_H
#define ZC_SOCKAPI_MUTEX_H

#include <pthread.h>
#include <stdint.h>

struct zc__mutex {
	pthread_mutex_t m;
	uint64_t recoveries; /* holders that died with it */
};

/* Process-shared and robust; 0 or an errno. */
int zc__mutex_init(struct zc__mutex *l);
void zc__mutex_lock(struct zc__mutex *l);
static inline void zc__mutex_unlock(struct zc__mutex *l) { pthread_mutex_unlock(&l->m); }

#endif

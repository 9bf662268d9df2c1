/*
 * mutex.c - the stack lock (mutex.h): process-shared and robust, its
 * holders' deaths recovered from and counted.
 */
#include "sockapi/mutex.h"
#include "stack/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int zc__mutex_init(struct zc__mutex *l)
{
	pthread_mutexattr_t a;
	int r = pthread_mutexattr_init(&a);
	if (r == 0)
		r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (r == 0)
		r = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (r == 0)
		r = pthread_mutex_init(&l->m, &a);
	pthread_mutexattr_destroy(&a);
	l->recoveries = 0;
	return r;
}

void zc__mutex_lock(struct zc__mutex *l)
{
	int r = pthread_mutex_lock(&l->m);
	if (r == EOWNERDEAD) {
		/* the holder died inside the stack; what it left half done
		 * stays so (counted, told), the others go on */
		l->recoveries++;
		ZC_WARN("sockets: a process of this stack died holding its lock; recovered (%llu so far)",
			(unsigned long long)l->recoveries);
		pthread_mutex_consistent(&l->m);
	} else if (r != 0) {
		ZC_ERR("sockets: the stack lock: %s", strerror(r));
		abort();
	}
}

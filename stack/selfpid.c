/* selfpid.c - this process's pid, cached (selfpid.h). */
#include "stack/selfpid.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static _Atomic pid_t zc__self;
static pthread_once_t zc__self_once = PTHREAD_ONCE_INIT;

static void zc__self_child(void) { atomic_store(&zc__self, getpid()); }

static void zc__self_init(void)
{
	atomic_store(&zc__self, getpid());
	pthread_atfork(NULL, NULL, zc__self_child);
}

pid_t zc_self_pid(void)
{
	pid_t p = atomic_load_explicit(&zc__self, memory_order_relaxed);
	if (p)
		return p;
	pthread_once(&zc__self_once, zc__self_init);
	return atomic_load(&zc__self);
}

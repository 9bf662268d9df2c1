/* selfpid.c - this process's pid, cached (selfpid.h). */
#include "stack/selfpid.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

static _Atomic pid_t zc__self;

static void zc__self_child(void) { atomic_store(&zc__self, getpid()); }

/* At load, before any fork handler of the stack's is registered: a child's
 * handlers run in the order they were registered, and the socket layer's
 * starts threads that may ask for the pid (the Trapeze wire's wake-ups, in
 * a table keyed by pid) before a later handler would have renewed it. */
__attribute__((constructor)) static void zc__self_init(void)
{
	atomic_store(&zc__self, getpid());
	pthread_atfork(NULL, NULL, zc__self_child);
}

pid_t zc_self_pid(void)
{
	pid_t p = atomic_load_explicit(&zc__self, memory_order_relaxed);
	return p ? p : getpid();
}

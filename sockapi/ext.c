/*
 * ext.c - the registry of open contexts (ext_priv.h says what it is for):
 * a growing array of context pointers under one mutex.
 *
 * It holds the mutex across fork (pthread_atfork), so a child never
 * inherits it locked by a thread that the child does not have.
 */
#include "sockapi/ext_priv.h"
#include "stack/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t zc__ext_lk = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t zc__ext_once = PTHREAD_ONCE_INIT;
static struct zc_sockctx **zc__ext_v;
static unsigned zc__ext_n, zc__ext_cap;

static void zc__ext_lock(void) { pthread_mutex_lock(&zc__ext_lk); }
static void zc__ext_unlock(void) { pthread_mutex_unlock(&zc__ext_lk); }
static void zc__ext_init(void) { pthread_atfork(zc__ext_lock, zc__ext_unlock, zc__ext_unlock); }

void zc__ext_register(struct zc_sockctx *cx)
{
	pthread_once(&zc__ext_once, zc__ext_init);
	zc__ext_lock();
	unsigned i = 0;
	while (i < zc__ext_n && zc__ext_v[i] != cx)
		i++;
	if (i == zc__ext_n) {
		if (zc__ext_n == zc__ext_cap) {
			unsigned cap = zc__ext_cap ? 2 * zc__ext_cap : 4;
			struct zc_sockctx **v = realloc(zc__ext_v, cap * sizeof(*v));
			if (v == NULL) {
				zc__ext_unlock();
				ZC_WARN("sockets: no memory to register a context: zcx calls will not find its sockets");
				return;
			}
			zc__ext_v = v;
			zc__ext_cap = cap;
		}
		zc__ext_v[zc__ext_n++] = cx;
	}
	zc__ext_unlock();
}

void zc__ext_unregister(struct zc_sockctx *cx)
{
	zc__ext_lock();
	for (unsigned i = 0; i < zc__ext_n; i++)
		if (zc__ext_v[i] == cx) {
			memmove(&zc__ext_v[i], &zc__ext_v[i + 1], (zc__ext_n - i - 1) * sizeof(*zc__ext_v));
			zc__ext_n--;
			break;
		}
	zc__ext_unlock();
}

struct zc_sockctx *zc__ext_find(bool (*match)(struct zc_sockctx *cx, void *arg), void *arg)
{
	struct zc_sockctx *found = NULL;
	zc__ext_lock();
	for (unsigned i = 0; i < zc__ext_n && found == NULL; i++)
		if (match(zc__ext_v[i], arg))
			found = zc__ext_v[i];
	zc__ext_unlock();
	return found;
}

void zc__ext_each(void (*fn)(struct zc_sockctx *cx, void *arg), void *arg)
{
	zc__ext_lock();
	for (unsigned i = 0; i < zc__ext_n; i++)
		fn(zc__ext_v[i], arg);
	zc__ext_unlock();
}

unsigned zc__ext_count(void)
{
	zc__ext_lock();
	unsigned n = zc__ext_n;
	zc__ext_unlock();
	return n;
}

void zc__ext_reset(void)
{
	zc__ext_lock();
	free(zc__ext_v);
	zc__ext_v = NULL;
	zc__ext_n = zc__ext_cap = 0;
	zc__ext_unlock();
}

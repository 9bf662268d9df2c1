/*
 * preload_mem.c - memory a send by reference may still use: munmap, mremap,
 * madvise (DONTNEED, FREE, REMOVE) and mprotect first release sends by
 * reference from the range (zc_release_range), and so do free() and
 * realloc(), whose unmapping inside glibc nothing else sees (a lock-free
 * range check keeps them cheap); the block then goes to the program's own
 * allocator (found with RTLD_NEXT: jemalloc in redis).
 */
#include "sockapi/preload_priv.h"

#include <dlfcn.h>
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

/* --- memory a send may still reference ------------------------------------------------ */

static void zc__release(const void *a, size_t len)
{
	if (!zc__inside && atomic_load_explicit(&zc__state, memory_order_acquire) > 0 &&
	    zc_may_reference(zc__cx, a, len))
		ZC_CALL(zc_release_range(zc__cx, a, len));
}

/* The mapping itself changes (munmap, mremap, mprotect): always tell. */
static void zc__remap(const void *a, size_t len)
{
	if (!zc__inside && atomic_load_explicit(&zc__state, memory_order_acquire) > 0)
		ZC_CALL(zc_release_range(zc__cx, a, len));
}

/* glibc frees big blocks with its own internal munmap, which no
 * interposition sees: release them here. The block goes on to the
 * allocator the program really uses (jemalloc in redis-server, say: handing
 * its blocks to glibc's free aborted redis), found with RTLD_NEXT; glibc's
 * own only while that lookup is not done (or is under way: dlsym may free). */
extern void __libc_free(void *);
extern void *__libc_realloc(void *, size_t);
static void (*zc__next_free)(void *);
static void *(*zc__next_realloc)(void *, size_t);
static _Atomic int zc__alloc_state; /* 0 not looked up, 1 looking, 2 done */

static void zc__alloc_resolve(void)
{
	int z = 0;
	if (!atomic_compare_exchange_strong(&zc__alloc_state, &z, 1))
		return;
	void (*f)(void *) = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	void *(*r)(void *, size_t) = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	zc__next_free = f ? f : __libc_free;
	zc__next_realloc = r ? r : __libc_realloc;
	atomic_store(&zc__alloc_state, 2);
}

__attribute__((constructor)) static void zc__alloc_init(void) { zc__alloc_resolve(); }

/* The program's allocator is known (else glibc's is used). */
static bool zc__alloc_ready(void)
{
	if (atomic_load_explicit(&zc__alloc_state, memory_order_acquire) != 2)
		zc__alloc_resolve();
	return atomic_load_explicit(&zc__alloc_state, memory_order_acquire) == 2;
}

EXPORT void free(void *p)
{
	if (p && atomic_load_explicit(&zc__state, memory_order_relaxed) > 0 && !zc__inside) {
		size_t n = malloc_usable_size(p);
		zc__release((uint8_t *)p - 16, n + 16);
	}
	if (zc__alloc_ready())
		zc__next_free(p);
	else
		__libc_free(p);
}

EXPORT void *realloc(void *p, size_t n)
{
	if (p && atomic_load_explicit(&zc__state, memory_order_relaxed) > 0 && !zc__inside)
		zc__release((uint8_t *)p - 16, malloc_usable_size(p) + 16);
	if (zc__alloc_ready())
		return zc__next_realloc(p, n);
	return __libc_realloc(p, n);
}

EXPORT int munmap(void *a, size_t len)
{
	zc__load();
	zc__remap(a, len);
	return zc__real.munmap(a, len);
}

EXPORT void *mremap(void *a, size_t old, size_t nw, int flags, ...)
{
	zc__load();
	va_list ap;
	va_start(ap, flags);
	void *to = va_arg(ap, void *);
	va_end(ap);
	zc__remap(a, old);
	return zc__real.mremap(a, old, nw, flags, to);
}

EXPORT int madvise(void *a, size_t len, int advice)
{
	zc__load();
	if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE)
		zc__release(a, len);
	return zc__real.madvise(a, len, advice);
}

EXPORT int mprotect(void *a, size_t len, int prot)
{
	zc__load();
	zc__remap(a, len);
	return zc__real.mprotect(a, len, prot);
}

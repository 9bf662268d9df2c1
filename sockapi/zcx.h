/*
 * zcx.h - zcstack's zero-copy extensions by descriptor: receive by
 * reference (read-only views of the receive frames), the zero-copy
 * counters, and the release of memory that sends by reference may still
 * use. For programs that want them wherever they run:
 *  - linked with libzcstack (pkg-config zcstack): the calls act on the
 *    context, of those the program opened, whose socket fd is;
 *  - unmodified under zcrun: on the shim's context (libzcpreload.so);
 *  - without zcstack at all: zcx_available() is false and every call
 *    returns -1 with errno ENOSYS, so one binary serves all three.
 * No context is passed: each call finds its entry point (zc_ext_*) once
 * with dlsym(RTLD_DEFAULT) and keeps it. A program linked with libzcstack
 * is not also started under zcrun (two stacks would claim its sockets).
 *
 * The calls take the semantics of their socket.h counterparts:
 *  zcx_recv_zc(fd, z, max, flags)  zc_recv_zc: up to max bytes of in-order
 *      TCP data described as read-only views in z->iov[0 .. z->iovcnt - 1]
 *      (waits unless MSG_DONTWAIT or O_NONBLOCK); the bytes, 0 at the end
 *      of the stream, or -1 with errno (EBADF: fd is not a socket of
 *      zcstack; EOPNOTSUPP: a UDP socket). z->iovcnt is -1 when the bytes
 *      took more than ZC_RXZC_IOV views: iov[0] then holds them all, copied
 *      (a view a page at worst: max up to ZC_RXZC_IOV pages avoids that).
 *      The views stay valid, and the frames the stack's, until
 *      zcx_recv_zc_done(fd, z), which must come before fd is closed.
 *  zcx_zstats(fd, out)             zc_sock_zstats of the socket fd.
 *  zcx_ctx_zstats(fd, out)         the totals of the context that fd is a
 *      socket of (every socket it had, the NIC's DMA bytes).
 *  zcx_release_range(addr, len)    zc_release_range in every context: call
 *      it before unmapping or dropping memory that was sent from (under
 *      zcrun the shim does it already in munmap, free, ...); 0.
 * Each returns 0 (or the bytes) on success, else -1 with errno.
 */
#ifndef ZC_SOCKAPI_ZCX_H
#define ZC_SOCKAPI_ZCX_H

#include "sockapi/socket.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The version of the entry points' interface (their signatures and struct
 * zc_rxzc and struct zc_zstats): an entry point of another version is not
 * used (the calls answer ENOSYS). */
#define ZCX_ABI 1

/* The entry points that libzcstack and libzcpreload.so export. Programs
 * call them through the zcx_* functions below, never by name (a program
 * would not start without zcstack then). */
int zc_ext_abi(void);
ssize_t zc_ext_recv_zc(int fd, struct zc_rxzc *z, size_t max, int flags);
int zc_ext_recv_zc_done(int fd, struct zc_rxzc *z);
int zc_ext_zstats(int fd, struct zc_zstats *out);
int zc_ext_ctx_zstats(int fd, struct zc_zstats *out);
int zc_ext_release_range(const void *addr, size_t len);

/* --- the lookups (internal) ------------------------------------------------- */
#ifdef RTLD_DEFAULT
#define ZCX__DEFAULT RTLD_DEFAULT
#else
#define ZCX__DEFAULT ((void *)0) /* glibc's and musl's value, without _GNU_SOURCE */
#endif
/* a slot's value once the lookup found nothing (no symbol's address) */
#define ZCX__NONE ((void *)-1)

/* The entry point called name, looked up once per slot; NULL when absent. */
static inline void *zcx__sym(void **slot, const char *name)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (p == NULL) {
		p = dlsym(ZCX__DEFAULT, name);
		__atomic_store_n(slot, p ? p : ZCX__NONE, __ATOMIC_RELEASE);
	}
	return p == ZCX__NONE ? NULL : p;
}

/* Is zcstack in this process, with entry points of this interface? */
static inline bool zcx_available(void)
{
	static int known; /* 0 not yet, 1 yes, -1 no */
	static void *slot;
	int k = __atomic_load_n(&known, __ATOMIC_ACQUIRE);
	if (k == 0) {
		union { void *p; int (*f)(void); } u = { .p = zcx__sym(&slot, "zc_ext_abi") };
		k = u.p && u.f() == ZCX_ABI ? 1 : -1;
		__atomic_store_n(&known, k, __ATOMIC_RELEASE);
	}
	return k > 0;
}

/* The entry point, if zcstack is here; else NULL with errno ENOSYS. */
static inline void *zcx__entry(void **slot, const char *name)
{
	void *p = zcx_available() ? zcx__sym(slot, name) : NULL;
	if (p == NULL)
		errno = ENOSYS;
	return p;
}

/* --- the calls ---------------------------------------------------------------- */

static inline ssize_t zcx_recv_zc(int fd, struct zc_rxzc *z, size_t max, int flags)
{
	static void *slot;
	union { void *p; ssize_t (*f)(int, struct zc_rxzc *, size_t, int); } u = {
		.p = zcx__entry(&slot, "zc_ext_recv_zc") };
	if (u.p == NULL) {
		z->iovcnt = 0;
		z->priv = NULL;
		return -1;
	}
	return u.f(fd, z, max, flags);
}

static inline int zcx_recv_zc_done(int fd, struct zc_rxzc *z)
{
	static void *slot;
	union { void *p; int (*f)(int, struct zc_rxzc *); } u = { .p = zcx__entry(&slot, "zc_ext_recv_zc_done") };
	return u.p ? u.f(fd, z) : -1;
}

static inline int zcx_zstats(int fd, struct zc_zstats *out)
{
	static void *slot;
	union { void *p; int (*f)(int, struct zc_zstats *); } u = { .p = zcx__entry(&slot, "zc_ext_zstats") };
	return u.p ? u.f(fd, out) : -1;
}

static inline int zcx_ctx_zstats(int fd, struct zc_zstats *out)
{
	static void *slot;
	union { void *p; int (*f)(int, struct zc_zstats *); } u = { .p = zcx__entry(&slot, "zc_ext_ctx_zstats") };
	return u.p ? u.f(fd, out) : -1;
}

static inline int zcx_release_range(const void *addr, size_t len)
{
	static void *slot;
	union { void *p; int (*f)(const void *, size_t); } u = { .p = zcx__entry(&slot, "zc_ext_release_range") };
	return u.p ? u.f(addr, len) : -1;
}

#endif

/*
 * preload_priv.h - what the files of the LD_PRELOAD shim share (internal
 * to libzcpreload.so; preload.c says what the shim is).
 *
 * preload.c makes the context and holds the state below; preload_calls.c,
 * preload_poll.c, preload_io.c and preload_mem.c define the libc names and
 * send each call either to the socket layer (ZC_CALL, with zc__inside set)
 * or to the C library's own function (zc__real, found with RTLD_NEXT).
 * Every exported function starts with zc__load(), which finds those
 * functions once (or calls one that does).
 */
#ifndef ZC_SOCKAPI_PRELOAD_PRIV_H
#define ZC_SOCKAPI_PRELOAD_PRIV_H

#include "sockapi/bypass.h"
#include "sockapi/socket.h"

#include <aio.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#pragma GCC visibility push(hidden)

/* Only what carries this is exported from libzcpreload.so (it is built
 * with -fvisibility=hidden). */
#define EXPORT __attribute__((visibility("default")))
/* Descriptor numbers the shim keeps a byte for (64 Ki): a stack socket
 * whose number would be above fails with EMFILE. */
#define ZC__MAXFD 65536

/* The C library's functions. */
struct zc__libc {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*close)(int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*pselect)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*shutdown)(int, int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	ssize_t (*pread64)(int, void *, size_t, off64_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*pwrite64)(int, const void *, size_t, off64_t);
	ssize_t (*preadv)(int, const struct iovec *, int, off_t);
	ssize_t (*preadv64)(int, const struct iovec *, int, off64_t);
	ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
	ssize_t (*pwritev64)(int, const struct iovec *, int, off64_t);
	ssize_t (*preadv2)(int, const struct iovec *, int, off_t, int);
	ssize_t (*preadv64v2)(int, const struct iovec *, int, off64_t, int);
	ssize_t (*pwritev2)(int, const struct iovec *, int, off_t, int);
	ssize_t (*pwritev64v2)(int, const struct iovec *, int, off64_t, int);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
	ssize_t (*splice)(int, off64_t *, int, off64_t *, size_t, unsigned int);
	ssize_t (*tee)(int, int, size_t, unsigned int);
	ssize_t (*vmsplice)(int, const struct iovec *, size_t, unsigned int);
	FILE *(*fdopen)(int, const char *);
	int (*aio_read)(struct aiocb *);
	int (*aio_write)(struct aiocb *);
	int (*aio_read64)(struct aiocb64 *);
	int (*aio_write64)(struct aiocb64 *);
	int (*lio_listio)(int, struct aiocb *const[], int, struct sigevent *);
	int (*lio_listio64)(int, struct aiocb64 *const[], int, struct sigevent *);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	int (*madvise)(void *, size_t, int);
	int (*mprotect)(void *, size_t, int);
	int (*epoll_create)(int);
	int (*epoll_create1)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
};
extern struct zc__libc zc__real;

extern pthread_once_t zc__once;
extern struct zc_sockctx *zc__cx;     /* the process's context, made at the first socket */
extern _Atomic int zc__state;         /* 0 not yet, 1 on, -1 off (kernel), -2 failed */
extern _Atomic uint8_t zc__is[ZC__MAXFD]; /* 1: the stack's descriptor */
/* by epoll fd: ZC__EP_* bits; how many kernel fds were added to it */
extern _Atomic uint8_t zc__ep_stack[ZC__MAXFD];
#define ZC__EP_STACK 1 /* holds stack sockets or epoll fds: waits go to the socket layer */
#define ZC__EP_MADE 2  /* made by epoll_create here: an epoll fd */
#define ZC__EP_KNOWN 4 /* known to the socket layer (nested in another): forgotten at close */
extern _Atomic uint16_t zc__ep_kernel[ZC__MAXFD];
/* what this process did not carry on the stack (bypass.h); its context
 * counts into it too, so zcstat shows the pass-bys from before it existed */
extern struct zc_bypasses *_Atomic zc__bypass;
/* a call into the socket layer is under way, or one of its threads (socket.h) */
#define zc__inside zc_thread_inside

void zc__resolve(void);
static inline void zc__load(void) { pthread_once(&zc__once, zc__resolve); }

/* The context, made on first use from the environment; NULL when off. */
struct zc_sockctx *zc__ctx(void);

/* Is fd the stack's (and the shim on)? */
static inline bool zc__mine(int fd)
{
	return fd >= 0 && fd < ZC__MAXFD && !zc__inside && atomic_load_explicit(&zc__is[fd], memory_order_relaxed);
}

static inline void zc__mark(int fd, bool on)
{
	if (fd >= 0 && fd < ZC__MAXFD)
		atomic_store_explicit(&zc__is[fd], on ? 1 : 0, memory_order_relaxed);
}

/* A send's result r, told and counted when it was refused for a native
 * IPv6 destination a (preload_calls.c); returns r, errno kept. */
ssize_t zc__sent(int fd, ssize_t r, const struct sockaddr *a, socklen_t len);

/* Calls into the socket layer run with the flag set. */
#define ZC_CALL(expr)                      \
	({                                 \
		zc__inside++;              \
		__typeof__(expr) _r = (expr); \
		zc__inside--;              \
		_r;                        \
	})

#pragma GCC visibility pop

#endif

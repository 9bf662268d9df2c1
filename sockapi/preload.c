/*
 * preload.c - the LD_PRELOAD shim: unmodified programs on the stack.
 *
 * libzcpreload.so defines socket(), connect(), read(), poll(), ... and
 * sends AF_INET stream and datagram sockets to one socket-layer context
 * (socket.h), made at the first such socket() from the environment that
 * zcrun sets: ZCS_NIC, ZCS_IP, ZCS_GW, ZCS_ZC (ZCS_PCAP, ZCS_FAULTS and
 * ZCS_LOG as everywhere). Everything else goes to the C library untouched:
 * files, pipes, unix sockets, and sockets bound or connected to addresses
 * the stack does not reach (loopback, other subnets without a gateway),
 * which are given back to the kernel before their bind or connect (the
 * descriptor already is a kernel socket of the same type; options set
 * before are applied to it too).
 *
 * Which descriptors are the stack's is one byte per descriptor number,
 * read without a lock. Calls made by the socket layer itself (it reserves
 * descriptors with socket(), closes them, maps memory) pass straight
 * through: a thread-local flag is set around every call into it.
 *
 * epoll: an epoll instance stays the kernel's and holds the kernel fds;
 * the stack sockets added to it are kept by the socket layer (by epoll fd),
 * and epoll_wait/epoll_pwait/epoll_pwait2 on an instance that holds any
 * look at both (the kernel's part with one non-blocking epoll_wait when
 * kernel fds were added to it). Closing an epoll fd forgets its sockets.
 *
 * munmap, mremap, madvise (DONTNEED, FREE, REMOVE) and mprotect first
 * release sends by reference from the range (zc_release_range), and so do
 * free() and realloc(), whose unmapping inside glibc nothing else sees
 * (a lock-free range check keeps them cheap); the block then goes to the
 * program's own allocator (found with RTLD_NEXT: jemalloc in redis).
 *
 * fork: the child cannot use the parent's sockets (EBADF and a log line).
 * exec: every descriptor of the stack is close-on-exec; the new program
 * starts a stack of its own if it opens sockets.
 */
#include "sockapi/socket.h"
#include "stack/log.h"
#include "stack/stack.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <stddef.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define ZC__MAXFD 65536

/* The C library's functions. */
static struct {
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
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	int (*madvise)(void *, size_t, int);
	int (*mprotect)(void *, size_t, int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
} real;

static pthread_once_t zc__once = PTHREAD_ONCE_INIT;
static pthread_mutex_t zc__init_lk = PTHREAD_MUTEX_INITIALIZER;
static struct zc_sockctx *zc__cx;     /* the process's context, made at the first socket */
static _Atomic int zc__state;         /* 0 not yet, 1 on, -1 off (kernel), -2 failed */
static _Atomic uint8_t zc__is[ZC__MAXFD]; /* 1: the stack's descriptor */
/* by epoll fd: holds a stack socket; how many kernel fds were added to it */
static _Atomic uint8_t zc__ep_stack[ZC__MAXFD];
static _Atomic uint16_t zc__ep_kernel[ZC__MAXFD];
/* a call into the socket layer is under way, or one of its threads (socket.h) */
#define zc__inside zc_thread_inside

static void zc__resolve(void)
{
#define R(n) real.n = dlsym(RTLD_NEXT, #n)
	R(socket); R(bind); R(listen); R(accept4); R(connect); R(close); R(read); R(write);
	R(readv); R(writev); R(recv); R(send); R(recvfrom); R(sendto); R(recvmsg); R(sendmsg);
	R(select); R(pselect); R(poll); R(ppoll); R(fcntl); R(ioctl); R(setsockopt); R(getsockopt);
	R(getsockname); R(getpeername); R(shutdown); R(sendfile); R(dup); R(dup2); R(dup3);
	R(munmap); R(mremap); R(madvise); R(mprotect);
	R(epoll_ctl); R(epoll_wait); R(epoll_pwait); R(epoll_pwait2);
#undef R
}

static void zc__load(void) { pthread_once(&zc__once, zc__resolve); }

static void zc__stat_start(void);

/* The context, made on first use from the environment; NULL when off. */
static struct zc_sockctx *zc__ctx(void)
{
	int st = atomic_load_explicit(&zc__state, memory_order_acquire);
	if (st)
		return st > 0 ? zc__cx : NULL;
	pthread_mutex_lock(&zc__init_lk);
	if (atomic_load(&zc__state) == 0) {
		const char *nic = getenv("ZCS_NIC"), *ip = getenv("ZCS_IP");
		if (nic == NULL || ip == NULL || !*nic || !*ip) {
			ZC_WARN("preload: ZCS_NIC and ZCS_IP are not set: sockets go to the kernel "
				"(start programs with zcrun)");
			atomic_store(&zc__state, -1);
		} else {
			zc__inside++;
			zc__cx = zc_sockctx_open(&(struct zc_sockctx_config){
				.nic = nic, .addr = ip, .gateway = getenv("ZCS_GW"), .zcopy = -1 });
			zc__inside--;
			if (zc__cx == NULL)
				ZC_ERR("preload: the stack did not start (above): IPv4 sockets fail with ENETDOWN");
			else
				zc__stat_start();
			atomic_store(&zc__state, zc__cx ? 1 : -2);
		}
	}
	pthread_mutex_unlock(&zc__init_lk);
	return atomic_load(&zc__state) > 0 ? zc__cx : NULL;
}

/* Is fd the stack's (and the shim on)? */
static inline bool zc__mine(int fd)
{
	return fd >= 0 && fd < ZC__MAXFD && !zc__inside && atomic_load_explicit(&zc__is[fd], memory_order_relaxed);
}

static void zc__mark(int fd, bool on)
{
	if (fd >= 0 && fd < ZC__MAXFD)
		atomic_store_explicit(&zc__is[fd], on ? 1 : 0, memory_order_relaxed);
}

/* Calls into the socket layer run with the flag set. */
#define ZC_CALL(expr)                      \
	({                                 \
		zc__inside++;              \
		__typeof__(expr) _r = (expr); \
		zc__inside--;              \
		_r;                        \
	})

/* zcstat's window: an abstract unix socket "zcstack-PID"; whoever connects
 * gets zc_sockctx_dump()'s text. */
static void *zc__stat_thread(void *arg)
{
	zc__inside = 1; /* the dump's own calls; signals are blocked (zc_thread_start) */
	int l = (int)(intptr_t)arg;
	for (;;) {
		int c = real.accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		FILE *f = fdopen(c, "w");
		if (f == NULL) {
			real.close(c);
			continue;
		}
		if (atomic_load(&zc__state) > 0)
			zc_sockctx_dump(zc__cx, f);
		fclose(f);
	}
	return NULL;
}

static void zc__stat_start(void)
{
	int l = real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "zcstack-%d", (int)getpid());
	pthread_t t;
	if (l < 0 || real.bind(l, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0 ||
	    real.listen(l, 4) != 0 || zc_thread_start(&t, zc__stat_thread, (void *)(intptr_t)l) != 0) {
		ZC_INFO("preload: no zcstat socket: %s", strerror(errno));
		if (l >= 0)
			real.close(l);
		return;
	}
	pthread_detach(t);
}

/* At exit the sockets' data is still in this process: close the context,
 * which lets the connections drain (as the kernel would after exit). */
__attribute__((destructor)) static void zc__fini(void)
{
	if (atomic_load(&zc__state) > 0 && zc__cx) {
		ZC_INFO("preload: exit: letting the connections drain");
		atomic_store(&zc__state, -1);
		zc__inside++;
		zc_sockctx_close(zc__cx);
		zc__inside--;
		zc__cx = NULL;
	}
}

/* --- sockets ------------------------------------------------------------------ */

EXPORT int socket(int domain, int type, int protocol)
{
	zc__load();
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (zc__inside || domain != AF_INET || (base != SOCK_STREAM && base != SOCK_DGRAM))
		return real.socket(domain, type, protocol);
	struct zc_sockctx *cx = zc__ctx();
	if (cx == NULL) {
		if (atomic_load(&zc__state) == -2) { /* never the kernel behind the user's back */
			errno = ENETDOWN;
			return -1;
		}
		return real.socket(domain, type, protocol);
	}
	int fd = ZC_CALL(zc_socket(cx, domain, type, protocol));
	if (fd >= ZC__MAXFD) {
		ZC_CALL(zc_close(cx, fd));
		errno = EMFILE;
		return -1;
	}
	if (fd >= 0)
		zc__mark(fd, true);
	return fd;
}

static uint32_t zc__dst(const struct sockaddr *a, socklen_t len, bool *ok)
{
	*ok = a && len >= sizeof(struct sockaddr_in) && a->sa_family == AF_INET;
	return *ok ? ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) : 0;
}

/* The socket talks to where the stack does not go: the kernel takes it. */
static int zc__to_kernel(int fd)
{
	int nb = 0;
	if (ZC_CALL(zc_detach(zc__cx, fd, &nb)) != 0)
		return -1;
	zc__mark(fd, false);
	if (nb)
		real.fcntl(fd, F_SETFL, real.fcntl(fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

EXPORT int bind(int fd, const struct sockaddr *a, socklen_t len)
{
	zc__load();
	if (!zc__mine(fd))
		return real.bind(fd, a, len);
	bool ok;
	uint32_t ip = zc__dst(a, len, &ok);
	if (ok && ip != 0 && ip != zc_sockctx_ip(zc__cx) && zc__to_kernel(fd) == 0)
		return real.bind(fd, a, len);
	return ZC_CALL(zc_bind(zc__cx, fd, a, len));
}

EXPORT int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	zc__load();
	if (!zc__mine(fd))
		return real.connect(fd, a, len);
	bool ok;
	uint32_t ip = zc__dst(a, len, &ok);
	if (ok && !ZC_CALL(zc_reaches(zc__cx, ip)) && zc__to_kernel(fd) == 0)
		return real.connect(fd, a, len);
	return ZC_CALL(zc_connect(zc__cx, fd, a, len));
}

EXPORT int listen(int fd, int backlog)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_listen(zc__cx, fd, backlog)) : real.listen(fd, backlog);
}

EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	zc__load();
	if (!zc__mine(fd))
		return real.accept4(fd, a, len, flags);
	int n = ZC_CALL(zc_accept4(zc__cx, fd, a, len, flags));
	if (n >= ZC__MAXFD) {
		ZC_CALL(zc_close(zc__cx, n));
		errno = EMFILE;
		return -1;
	}
	if (n >= 0)
		zc__mark(n, true);
	return n;
}

EXPORT int accept(int fd, struct sockaddr *a, socklen_t *len) { return accept4(fd, a, len, 0); }

EXPORT int close(int fd)
{
	zc__load();
	if (!zc__mine(fd)) {
		if (fd >= 0 && fd < ZC__MAXFD && !zc__inside) {
			atomic_store_explicit(&zc__ep_kernel[fd], 0, memory_order_relaxed);
			if (atomic_exchange(&zc__ep_stack[fd], 0) && zc__cx) { /* an epoll fd with stack sockets */
				zc__inside++;
				zc_epoll_forget(zc__cx, fd);
				zc__inside--;
			}
		}
		return real.close(fd);
	}
	zc__mark(fd, false);
	return ZC_CALL(zc_close(zc__cx, fd));
}

EXPORT int shutdown(int fd, int how)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_shutdown(zc__cx, fd, how)) : real.shutdown(fd, how);
}

EXPORT int setsockopt(int fd, int lv, int name, const void *v, socklen_t len)
{
	zc__load();
	if (!zc__mine(fd))
		return real.setsockopt(fd, lv, name, v, len);
	int r = ZC_CALL(zc_setsockopt(zc__cx, fd, lv, name, v, len));
	if (r == 0) {
		int e = errno; /* the kernel socket too, should it take over later */
		real.setsockopt(fd, lv, name, v, len);
		errno = e;
	}
	return r;
}

EXPORT int getsockopt(int fd, int lv, int name, void *v, socklen_t *len)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_getsockopt(zc__cx, fd, lv, name, v, len))
			    : real.getsockopt(fd, lv, name, v, len);
}

EXPORT int getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_getsockname(zc__cx, fd, a, len)) : real.getsockname(fd, a, len);
}

EXPORT int getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_getpeername(zc__cx, fd, a, len)) : real.getpeername(fd, a, len);
}

/* --- data ------------------------------------------------------------------------ */

EXPORT ssize_t read(int fd, void *b, size_t n)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_read(zc__cx, fd, b, n)) : real.read(fd, b, n);
}

EXPORT ssize_t write(int fd, const void *b, size_t n)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_write(zc__cx, fd, b, n)) : real.write(fd, b, n);
}

EXPORT ssize_t readv(int fd, const struct iovec *v, int n)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_readv(zc__cx, fd, v, n)) : real.readv(fd, v, n);
}

EXPORT ssize_t writev(int fd, const struct iovec *v, int n)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_writev(zc__cx, fd, v, n)) : real.writev(fd, v, n);
}

EXPORT ssize_t recv(int fd, void *b, size_t n, int fl)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_recv(zc__cx, fd, b, n, fl)) : real.recv(fd, b, n, fl);
}

EXPORT ssize_t send(int fd, const void *b, size_t n, int fl)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_send(zc__cx, fd, b, n, fl)) : real.send(fd, b, n, fl);
}

EXPORT ssize_t recvfrom(int fd, void *b, size_t n, int fl, struct sockaddr *a, socklen_t *l)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_recvfrom(zc__cx, fd, b, n, fl, a, l)) : real.recvfrom(fd, b, n, fl, a, l);
}

EXPORT ssize_t sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *a, socklen_t l)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_sendto(zc__cx, fd, b, n, fl, a, l)) : real.sendto(fd, b, n, fl, a, l);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int fl)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_recvmsg(zc__cx, fd, m, fl)) : real.recvmsg(fd, m, fl);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int fl)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_sendmsg(zc__cx, fd, m, fl)) : real.sendmsg(fd, m, fl);
}

/* sendfile into a stack socket: read the file, send what was read. */
static ssize_t zc__sendfile(int out, int in, off_t *off, size_t count)
{
	char buf[65536];
	size_t done = 0;
	off_t pos = off ? *off : 0;
	while (done < count) {
		size_t k = count - done < sizeof(buf) ? count - done : sizeof(buf);
		ssize_t r = off ? pread(in, buf, k, pos) : real.read(in, buf, k);
		if (r <= 0) {
			if (r < 0 && done == 0)
				return -1;
			break;
		}
		ssize_t w = ZC_CALL(zc_send(zc__cx, out, buf, (size_t)r, 0));
		if (w <= 0) {
			if (done == 0)
				return -1;
			break;
		}
		done += (size_t)w;
		pos += w;
		if (w < r) { /* the socket took part of it: the file position follows */
			if (!off)
				lseek(in, (off_t)w - r, SEEK_CUR);
			break;
		}
	}
	if (off)
		*off = pos;
	return (ssize_t)done;
}

EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	zc__load();
	return zc__mine(out) ? zc__sendfile(out, in, off, count) : real.sendfile(out, in, off, count);
}

EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t count) { return sendfile(out, in, off, count); }

/* --- readiness ---------------------------------------------------------------------- */

static bool zc__any_mine(const struct pollfd *p, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++)
		if (zc__mine(p[i].fd))
			return true;
	return false;
}

EXPORT int poll(struct pollfd *p, nfds_t n, int ms)
{
	zc__load();
	if (zc__inside || !zc__any_mine(p, n))
		return real.poll(p, n, ms);
	return ZC_CALL(zc_poll(zc__cx, p, n, ms));
}

EXPORT int __poll_chk(struct pollfd *p, nfds_t n, int ms, size_t len)
{
	(void)len;
	return poll(p, n, ms);
}

EXPORT int ppoll(struct pollfd *p, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	zc__load();
	if (zc__inside || !zc__any_mine(p, n))
		return real.ppoll(p, n, ts, mask);
	sigset_t old;
	if (mask)
		pthread_sigmask(SIG_SETMASK, mask, &old);
	int ms = ts ? (int)(ts->tv_sec * 1000 + ts->tv_nsec / 1000000) : -1;
	int r = ZC_CALL(zc_poll(zc__cx, p, n, ms));
	if (mask) {
		int e = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		errno = e;
	}
	return r;
}

/* --- epoll: the stack's sockets are kept by the socket layer, kernel fds
 * by the kernel's epoll; a wait looks at both --------------------------------- */

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	zc__load();
	if (!zc__mine(fd)) {
		int r = real.epoll_ctl(epfd, op, fd, ev);
		if (r == 0 && epfd >= 0 && epfd < ZC__MAXFD) {
			if (op == EPOLL_CTL_ADD && atomic_load(&zc__ep_kernel[epfd]) < UINT16_MAX)
				atomic_fetch_add(&zc__ep_kernel[epfd], 1);
			else if (op == EPOLL_CTL_DEL && atomic_load(&zc__ep_kernel[epfd]) > 0)
				atomic_fetch_sub(&zc__ep_kernel[epfd], 1);
		}
		return r;
	}
	if (epfd < 0 || epfd >= ZC__MAXFD || epfd == fd) {
		errno = EINVAL;
		return -1;
	}
	int r = ZC_CALL(zc_epoll_ctl(zc__cx, epfd, op, fd, ev));
	if (r == 0 && op == EPOLL_CTL_ADD)
		atomic_store(&zc__ep_stack[epfd], 1);
	return r;
}

static bool zc__ep_mine(int epfd)
{
	return epfd >= 0 && epfd < ZC__MAXFD && !zc__inside && atomic_load_explicit(&zc__ep_stack[epfd], memory_order_relaxed);
}

static int zc__ep_wait(int epfd, struct epoll_event *ev, int max, int ms, const sigset_t *mask)
{
	sigset_t old;
	if (mask)
		pthread_sigmask(SIG_SETMASK, mask, &old);
	int r = ZC_CALL(zc_epoll_wait(zc__cx, epfd, ev, max, ms, atomic_load(&zc__ep_kernel[epfd]) > 0));
	if (mask) {
		int e = errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		errno = e;
	}
	return r;
}

EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int ms)
{
	zc__load();
	return zc__ep_mine(epfd) ? zc__ep_wait(epfd, ev, max, ms, NULL) : real.epoll_wait(epfd, ev, max, ms);
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int ms, const sigset_t *mask)
{
	zc__load();
	return zc__ep_mine(epfd) ? zc__ep_wait(epfd, ev, max, ms, mask) : real.epoll_pwait(epfd, ev, max, ms, mask);
}

EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *ts, const sigset_t *mask)
{
	zc__load();
	if (!zc__ep_mine(epfd) || (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)))
		return real.epoll_pwait2 ? real.epoll_pwait2(epfd, ev, max, ts, mask) : (errno = ENOSYS, -1);
	long long ms = ts ? (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000 : -1;
	return zc__ep_wait(epfd, ev, max, ms > INT_MAX ? INT_MAX : (int)ms, mask);
}

/* select over poll: the sets become pollfds and back. */
static int zc__select(int nfds, fd_set *r, fd_set *w, fd_set *x, int ms, bool *handled)
{
	*handled = false;
	if (nfds < 0 || nfds > FD_SETSIZE)
		return 0;
	bool any = false;
	for (int fd = 0; fd < nfds && !any; fd++)
		any = zc__mine(fd) && ((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (x && FD_ISSET(fd, x)));
	if (!any)
		return 0;
	*handled = true;
	struct pollfd p[FD_SETSIZE];
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) | (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
				   (x && FD_ISSET(fd, x) ? POLLPRI : 0));
		if (ev)
			p[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	int k = ZC_CALL(zc_poll(zc__cx, p, n, ms));
	if (k < 0)
		return -1;
	if (r)
		FD_ZERO(r);
	if (w)
		FD_ZERO(w);
	if (x)
		FD_ZERO(x);
	int cnt = 0;
	for (nfds_t i = 0; i < n; i++) {
		short re = p[i].revents;
		if (r && (re & (POLLIN | POLLHUP | POLLERR)) && (p[i].events & POLLIN)) {
			FD_SET(p[i].fd, r);
			cnt++;
		}
		if (w && (re & (POLLOUT | POLLERR | POLLHUP)) && (p[i].events & POLLOUT)) {
			FD_SET(p[i].fd, w);
			cnt++;
		}
		if (x && (re & POLLPRI) && (p[i].events & POLLPRI)) {
			FD_SET(p[i].fd, x);
			cnt++;
		}
		if (re & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
	}
	return cnt;
}

EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
	zc__load();
	bool handled;
	/* a bad timeval is the kernel's to refuse; a part of a millisecond
	 * waits a whole one rather than none */
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000))
		return real.select(nfds, r, w, x, tv);
	long long tms = tv ? (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000 : -1;
	int ms = tms > INT_MAX ? INT_MAX : (int)tms;
	if (!zc__inside) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int k = zc__select(nfds, r, w, x, ms, &handled);
		if (handled) {
			if (tv) { /* as Linux: the time not slept is left in it */
				clock_gettime(CLOCK_MONOTONIC, &t1);
				long long left = (long long)tv->tv_sec * 1000000 + tv->tv_usec -
						 ((long long)(t1.tv_sec - t0.tv_sec) * 1000000 +
						  (t1.tv_nsec - t0.tv_nsec) / 1000);
				if (left < 0)
					left = 0;
				tv->tv_sec = (time_t)(left / 1000000);
				tv->tv_usec = (suseconds_t)(left % 1000000);
			}
			return k;
		}
	}
	return real.select(nfds, r, w, x, tv);
}

EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts, const sigset_t *mask)
{
	zc__load();
	bool handled;
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
		return real.pselect(nfds, r, w, x, ts, mask);
	long long tms = ts ? (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000 : -1;
	int ms = tms > INT_MAX ? INT_MAX : (int)tms;
	if (!zc__inside) {
		sigset_t old;
		if (mask)
			pthread_sigmask(SIG_SETMASK, mask, &old);
		int k = zc__select(nfds, r, w, x, ms, &handled);
		if (mask) {
			int e = errno;
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			errno = e;
		}
		if (handled)
			return k;
	}
	return real.pselect(nfds, r, w, x, ts, mask);
}

/* --- descriptors ------------------------------------------------------------------- */

EXPORT int fcntl(int fd, int cmd, ...)
{
	zc__load();
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	if (zc__mine(fd)) {
		if (cmd == F_GETFL || cmd == F_SETFL)
			return ZC_CALL(zc_fcntl(zc__cx, fd, cmd, arg));
		if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
			/* the lowest free number >= arg, as the kernel picks it */
			int k = real.fcntl(fd, cmd, arg);
			if (k < 0)
				return -1;
			int n = ZC_CALL(zc_dup(zc__cx, fd, k, cmd == F_DUPFD_CLOEXEC ? O_CLOEXEC : 0));
			if (n >= 0)
				zc__mark(n, true);
			return n;
		}
	}
	return real.fcntl(fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	zc__load();
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (zc__mine(fd) && (req == FIONBIO || req == FIONREAD))
		return ZC_CALL(zc_ioctl(zc__cx, fd, req, arg));
	return real.ioctl(fd, req, arg);
}

EXPORT int dup(int fd)
{
	zc__load();
	if (!zc__mine(fd))
		return real.dup(fd);
	int n = ZC_CALL(zc_dup(zc__cx, fd, -1, 0));
	if (n >= 0)
		zc__mark(n, true);
	return n;
}

static int zc__dup23(int old, int nw, int flags)
{
	if (zc__mine(old)) {
		if (nw >= ZC__MAXFD) {
			errno = EBADF;
			return -1;
		}
		int n = ZC_CALL(zc_dup(zc__cx, old, nw, flags));
		if (n >= 0)
			zc__mark(n, true);
		return n;
	}
	if (zc__mine(nw)) { /* a kernel fd over one of ours: ours is closed first */
		zc__mark(nw, false);
		ZC_CALL(zc_close(zc__cx, nw));
	}
	return flags < 0 ? real.dup2(old, nw) : real.dup3(old, nw, flags);
}

EXPORT int dup2(int old, int nw)
{
	zc__load();
	return zc__dup23(old, nw, zc__mine(old) ? 0 : -1);
}

EXPORT int dup3(int old, int nw, int flags)
{
	zc__load();
	return zc__dup23(old, nw, flags);
}

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
	return real.munmap(a, len);
}

EXPORT void *mremap(void *a, size_t old, size_t nw, int flags, ...)
{
	zc__load();
	va_list ap;
	va_start(ap, flags);
	void *to = va_arg(ap, void *);
	va_end(ap);
	zc__remap(a, old);
	return real.mremap(a, old, nw, flags, to);
}

EXPORT int madvise(void *a, size_t len, int advice)
{
	zc__load();
	if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE)
		zc__release(a, len);
	return real.madvise(a, len, advice);
}

EXPORT int mprotect(void *a, size_t len, int prot)
{
	zc__load();
	zc__remap(a, len);
	return real.mprotect(a, len, prot);
}

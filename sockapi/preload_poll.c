/*
 * preload_poll.c - readiness in the shim: poll, ppoll (and __poll_chk,
 * __ppoll_chk), select, pselect, epoll_ctl, epoll_wait, epoll_pwait,
 * epoll_pwait2.
 *
 * A set without stack sockets goes to the kernel untouched. poll, ppoll,
 * select and pselect with stack sockets go to zc_poll, which looks at the
 * kernel fds of the set too (select and pselect by way of pollfds).
 * epoll: an epoll instance stays the kernel's and holds the kernel fds;
 * the stack sockets added to it are kept by the socket layer (by epoll fd),
 * and epoll_wait/epoll_pwait/epoll_pwait2 on an instance that holds any
 * look at both (the kernel's part with one non-blocking epoll_wait when
 * kernel fds were added to it). Closing an epoll fd forgets its sockets
 * (close, preload_calls.c).
 */
#include "sockapi/preload_priv.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

/* --- readiness ---------------------------------------------------------------------- */

/* A stack socket, or an epoll fd holding any: the socket layer's to poll. */
static bool zc__pollable(int fd)
{
	return zc__mine(fd) || (fd >= 0 && fd < ZC__MAXFD && !zc__inside &&
				(atomic_load_explicit(&zc__ep_stack[fd], memory_order_relaxed) & ZC__EP_STACK));
}

static bool zc__any_mine(const struct pollfd *p, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++)
		if (zc__pollable(p[i].fd))
			return true;
	return false;
}

EXPORT int poll(struct pollfd *p, nfds_t n, int ms)
{
	zc__load();
	if (zc__inside || !zc__any_mine(p, n))
		return zc__real.poll(p, n, ms);
	return ZC_CALL(zc_poll(zc__cx, p, n, ms));
}

/* _FORTIFY_SOURCE's poll and ppoll (glibc's call the kernel directly):
 * the array must hold n entries. */
extern void __chk_fail(void) __attribute__((noreturn));

EXPORT int __poll_chk(struct pollfd *p, nfds_t n, int ms, size_t len)
{
	if (len / sizeof(*p) < n)
		__chk_fail();
	return poll(p, n, ms);
}

EXPORT int ppoll(struct pollfd *p, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	zc__load();
	if (zc__inside || !zc__any_mine(p, n))
		return zc__real.ppoll(p, n, ts, mask);
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

EXPORT int __ppoll_chk(struct pollfd *p, nfds_t n, const struct timespec *ts, const sigset_t *mask, size_t len)
{
	if (len / sizeof(*p) < n)
		__chk_fail();
	return ppoll(p, n, ts, mask);
}

/* --- epoll: the stack's sockets are kept by the socket layer, kernel fds
 * by the kernel's epoll; a wait looks at both --------------------------------- */

/* A new epoll fd is known as one (epoll_ctl nests it, zc__epoll_fd). */
static int zc__ep_made(int fd)
{
	if (fd >= 0 && fd < ZC__MAXFD)
		atomic_store(&zc__ep_stack[fd], ZC__EP_MADE);
	return fd;
}

EXPORT int epoll_create(int size)
{
	zc__load();
	return zc__ep_made(zc__real.epoll_create(size));
}

EXPORT int epoll_create1(int flags)
{
	zc__load();
	return zc__ep_made(zc__real.epoll_create1(flags));
}

/* Whether epfd is an epoll instance (0), else the kernel's errno for
 * epoll_ctl: EBADF not open, EINVAL something else. One made here is
 * known; another (inherited, dup'd) is asked of /proc. */
static int zc__epoll_fd(int epfd)
{
	if (epfd < 0 || epfd >= ZC__MAXFD)
		return EBADF;
	if (atomic_load(&zc__ep_stack[epfd]) & (ZC__EP_MADE | ZC__EP_STACK))
		return 0;
	if (zc__mine(epfd))
		return EINVAL;
	char path[40], link[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", epfd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno == ENOENT ? EBADF : 0; /* no /proc: the kernel will say at the wait */
	link[n] = 0;
	return strcmp(link, "anon_inode:[eventpoll]") == 0 ? 0 : EINVAL;
}

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	zc__load();
	if (!zc__mine(fd)) {
		int r = zc__real.epoll_ctl(epfd, op, fd, ev);
		if (r == 0 && epfd >= 0 && epfd < ZC__MAXFD) {
			if (op == EPOLL_CTL_ADD && atomic_load(&zc__ep_kernel[epfd]) < UINT16_MAX)
				atomic_fetch_add(&zc__ep_kernel[epfd], 1);
			else if (op == EPOLL_CTL_DEL && atomic_load(&zc__ep_kernel[epfd]) > 0)
				atomic_fetch_sub(&zc__ep_kernel[epfd], 1);
			/* an epoll fd in another: the kernel sees its kernel fds, the
			 * socket layer its stack sockets (zc_epoll_nest) */
			struct zc_sockctx *cx;
			if (!zc__inside && fd >= 0 && fd < ZC__MAXFD && (atomic_load(&zc__ep_stack[fd]) & ZC__EP_MADE) &&
			    (cx = zc__ctx()) != NULL) {
				int e = errno;
				if (ZC_CALL(zc_epoll_nest(cx, epfd, op, fd, ev)) == 0 && op == EPOLL_CTL_ADD) {
					atomic_fetch_or(&zc__ep_stack[epfd], ZC__EP_STACK);
					atomic_fetch_or(&zc__ep_stack[fd], ZC__EP_KNOWN);
				}
				errno = e;
			}
		}
		return r;
	}
	int bad = zc__epoll_fd(epfd);
	if (bad || epfd == fd) {
		errno = bad ? bad : EINVAL;
		return -1;
	}
	int r = ZC_CALL(zc_epoll_ctl(zc__cx, epfd, op, fd, ev));
	if (r == 0 && op == EPOLL_CTL_ADD)
		atomic_fetch_or(&zc__ep_stack[epfd], ZC__EP_STACK);
	return r;
}

static bool zc__ep_mine(int epfd)
{
	return epfd >= 0 && epfd < ZC__MAXFD && !zc__inside &&
	       (atomic_load_explicit(&zc__ep_stack[epfd], memory_order_relaxed) & ZC__EP_STACK);
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
	return zc__ep_mine(epfd) ? zc__ep_wait(epfd, ev, max, ms, NULL) : zc__real.epoll_wait(epfd, ev, max, ms);
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int ms, const sigset_t *mask)
{
	zc__load();
	return zc__ep_mine(epfd) ? zc__ep_wait(epfd, ev, max, ms, mask) : zc__real.epoll_pwait(epfd, ev, max, ms, mask);
}

EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max, const struct timespec *ts, const sigset_t *mask)
{
	zc__load();
	if (!zc__ep_mine(epfd) || (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)))
		return zc__real.epoll_pwait2 ? zc__real.epoll_pwait2(epfd, ev, max, ts, mask) : (errno = ENOSYS, -1);
	long long ms = ts ? (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000 : -1;
	return zc__ep_wait(epfd, ev, max, ms > INT_MAX ? INT_MAX : (int)ms, mask);
}

/* select over poll: the sets become pollfds and back. The sets are as
 * long as nfds says, above FD_SETSIZE too (a program that allocates larger
 * sets): their bits are read as the kernel reads them, not with FD_ISSET,
 * which _FORTIFY_SOURCE stops at FD_SETSIZE. */
#define ZC__NFDBITS (8 * (int)sizeof(unsigned long))
static inline bool zc__fd_isset(int fd, const fd_set *s)
{
	return s && ((((const unsigned long *)(const void *)s)[fd / ZC__NFDBITS] >> (fd % ZC__NFDBITS)) & 1);
}

static inline void zc__fd_set(int fd, fd_set *s) { ((unsigned long *)(void *)s)[fd / ZC__NFDBITS] |= 1ul << (fd % ZC__NFDBITS); }

static void zc__fd_zero(fd_set *s, int nfds)
{
	if (s)
		memset(s, 0, (size_t)(nfds + ZC__NFDBITS - 1) / ZC__NFDBITS * sizeof(unsigned long));
}

static int zc__select(int nfds, fd_set *r, fd_set *w, fd_set *x, int ms, bool *handled)
{
	*handled = false;
	if (nfds < 0 || nfds > ZC__MAXFD)
		return 0; /* the kernel's to refuse */
	bool any = false;
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++)
		if (zc__fd_isset(fd, r) || zc__fd_isset(fd, w) || zc__fd_isset(fd, x)) {
			n++;
			any = any || zc__pollable(fd);
		}
	if (!any)
		return 0;
	*handled = true;
	struct pollfd ps[64], *p = n <= 64 ? ps : malloc(n * sizeof(*p));
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((zc__fd_isset(fd, r) ? POLLIN : 0) | (zc__fd_isset(fd, w) ? POLLOUT : 0) |
				   (zc__fd_isset(fd, x) ? POLLPRI : 0));
		if (ev)
			p[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	int k = ZC_CALL(zc_poll(zc__cx, p, n, ms));
	int cnt = 0;
	for (nfds_t i = 0; k >= 0 && i < n; i++)
		if (p[i].revents & POLLNVAL) {
			errno = EBADF;
			k = -1;
		}
	if (k >= 0) {
		zc__fd_zero(r, nfds);
		zc__fd_zero(w, nfds);
		zc__fd_zero(x, nfds);
		for (nfds_t i = 0; i < n; i++) {
			short re = p[i].revents;
			if (r && (re & (POLLIN | POLLHUP | POLLERR)) && (p[i].events & POLLIN)) {
				zc__fd_set(p[i].fd, r);
				cnt++;
			}
			if (w && (re & (POLLOUT | POLLERR | POLLHUP)) && (p[i].events & POLLOUT)) {
				zc__fd_set(p[i].fd, w);
				cnt++;
			}
			if (x && (re & POLLPRI) && (p[i].events & POLLPRI)) {
				zc__fd_set(p[i].fd, x);
				cnt++;
			}
		}
	}
	if (p != ps) {
		int e = errno;
		free(p);
		errno = e;
	}
	return k < 0 ? -1 : cnt;
}

EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
	zc__load();
	bool handled;
	/* a bad timeval is the kernel's to refuse; a part of a millisecond
	 * waits a whole one rather than none */
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000))
		return zc__real.select(nfds, r, w, x, tv);
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
	return zc__real.select(nfds, r, w, x, tv);
}

EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts, const sigset_t *mask)
{
	zc__load();
	bool handled;
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
		return zc__real.pselect(nfds, r, w, x, ts, mask);
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
	return zc__real.pselect(nfds, r, w, x, ts, mask);
}

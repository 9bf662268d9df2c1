/* test_socket.c - the socket layer: POSIX semantics (each scenario runs on
 * the Linux kernel over loopback and on two zcstack contexts over a Trapeze
 * wire, and must give the same results and errno values), and the
 * zero-copy invariants under each policy (never, auto, always). */
#include "sockapi/socket.h"
#include "nic/trapeze.h"
#include "stack/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#define MiB (1u << 20)
#define SRV_IP 0x0a090001u
#define CLI_IP 0x0a090002u

/* --- two backends with one set of calls -------------------------------------- */

struct be {
	const char *name;
	struct zc_sockctx *cx[2]; /* [0] server side, [1] client side; NULL: the kernel */
	uint32_t ip[2];
	char wire[32];
};

static int b_socket(const struct be *b, int side, int type)
{
	return b->cx[side] ? zc_socket(b->cx[side], AF_INET, type, 0) : socket(AF_INET, type, 0);
}
static struct sockaddr_in sin_of(uint32_t ip, uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip) };
}
static int b_bind(const struct be *b, int side, int fd, uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = sin_of(ip, port);
	return b->cx[side] ? zc_bind(b->cx[side], fd, (struct sockaddr *)&a, sizeof(a))
			   : bind(fd, (struct sockaddr *)&a, sizeof(a));
}
static int b_listen(const struct be *b, int side, int fd)
{
	return b->cx[side] ? zc_listen(b->cx[side], fd, 16) : listen(fd, 16);
}
static int b_connect(const struct be *b, int side, int fd, uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = sin_of(ip, port);
	return b->cx[side] ? zc_connect(b->cx[side], fd, (struct sockaddr *)&a, sizeof(a))
			   : connect(fd, (struct sockaddr *)&a, sizeof(a));
}
static int b_accept(const struct be *b, int side, int fd, int flags)
{
	return b->cx[side] ? zc_accept4(b->cx[side], fd, NULL, NULL, flags) : accept4(fd, NULL, NULL, flags);
}
static ssize_t b_send(const struct be *b, int side, int fd, const void *p, size_t n, int fl)
{
	return b->cx[side] ? zc_send(b->cx[side], fd, p, n, fl) : send(fd, p, n, fl);
}
static ssize_t b_recv(const struct be *b, int side, int fd, void *p, size_t n, int fl)
{
	return b->cx[side] ? zc_recv(b->cx[side], fd, p, n, fl) : recv(fd, p, n, fl);
}
static int b_close(const struct be *b, int side, int fd)
{
	return b->cx[side] ? zc_close(b->cx[side], fd) : close(fd);
}
static int b_shutdown(const struct be *b, int side, int fd, int how)
{
	return b->cx[side] ? zc_shutdown(b->cx[side], fd, how) : shutdown(fd, how);
}
static int b_getsockopt(const struct be *b, int side, int fd, int lv, int nm, void *v, socklen_t *l)
{
	return b->cx[side] ? zc_getsockopt(b->cx[side], fd, lv, nm, v, l) : getsockopt(fd, lv, nm, v, l);
}
static int b_setsockopt(const struct be *b, int side, int fd, int lv, int nm, const void *v, socklen_t l)
{
	return b->cx[side] ? zc_setsockopt(b->cx[side], fd, lv, nm, v, l) : setsockopt(fd, lv, nm, v, l);
}
static int b_poll(const struct be *b, int side, struct pollfd *p, nfds_t n, int ms)
{
	return b->cx[side] ? zc_poll(b->cx[side], p, n, ms) : poll(p, n, ms);
}
static int b_getname(const struct be *b, int side, int fd, bool peer, uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int r = b->cx[side] ? (peer ? zc_getpeername : zc_getsockname)(b->cx[side], fd, (struct sockaddr *)&a, &l)
			    : (peer ? getpeername : getsockname)(fd, (struct sockaddr *)&a, &l);
	if (r == 0 && port)
		*port = ntohs(a.sin_port);
	return r;
}
static int b_ioctl(const struct be *b, int side, int fd, unsigned long req, int *v)
{
	return b->cx[side] ? zc_ioctl(b->cx[side], fd, req, v) : ioctl(fd, req, v);
}
static int b_nonblock(const struct be *b, int side, int fd)
{
	return b->cx[side] ? zc_fcntl(b->cx[side], fd, F_SETFL, O_NONBLOCK) : fcntl(fd, F_SETFL, O_NONBLOCK);
}
static int b_getint(const struct be *b, int side, int fd, int lv, int nm)
{
	int v = -12345;
	socklen_t l = sizeof(v);
	assert_int_equal(b_getsockopt(b, side, fd, lv, nm, &v, &l), 0);
	return v;
}
static int b_setint(const struct be *b, int side, int fd, int lv, int nm, int v)
{
	return b_setsockopt(b, side, fd, lv, nm, &v, sizeof(v));
}

/* -1 with this errno */
#define assert_errno(call, e)                      \
	do {                                        \
		errno = 0;                          \
		assert_int_equal((long)(call), -1); \
		assert_int_equal(errno, (e));       \
	} while (0)

/* A listener on the server side: returns its fd, its port in *port. */
static int listener(const struct be *b, uint16_t *port)
{
	int l = b_socket(b, 0, SOCK_STREAM);
	assert_true(l >= 0);
	assert_int_equal(b_bind(b, 0, l, b->ip[0], 0), 0);
	assert_int_equal(b_listen(b, 0, l), 0);
	assert_int_equal(b_getname(b, 0, l, false, port), 0);
	return l;
}

/* A connected pair: *c on the client side, *a on the server side. */
static void pair(const struct be *b, int *c, int *a, int *l)
{
	uint16_t port;
	*l = listener(b, &port);
	*c = b_socket(b, 1, SOCK_STREAM);
	assert_int_equal(b_connect(b, 1, *c, b->ip[0], port), 0);
	*a = b_accept(b, 0, *l, 0);
	assert_true(*a >= 0);
}

/* A port on the server side with nobody listening. */
static uint16_t closed_port(const struct be *b)
{
	int t = b_socket(b, 0, SOCK_STREAM);
	uint16_t port;
	assert_int_equal(b_bind(b, 0, t, b->ip[0], 0), 0);
	assert_int_equal(b_getname(b, 0, t, false, &port), 0);
	b_close(b, 0, t);
	return port;
}

/* --- the scenarios -------------------------------------------------------------- */

static void sc_unconnected(const struct be *b)
{
	char buf[16];
	int fd = b_socket(b, 1, SOCK_STREAM);
	assert_true(fd >= 0);
	assert_errno(b_recv(b, 1, fd, buf, sizeof(buf), MSG_DONTWAIT), ENOTCONN);
	assert_errno(b_send(b, 1, fd, "x", 1, MSG_NOSIGNAL), EPIPE);
	assert_errno(b_getname(b, 1, fd, true, NULL), ENOTCONN);
	assert_errno(b_shutdown(b, 1, fd, 7), EINVAL);
	assert_errno(b_shutdown(b, 1, fd, SHUT_RDWR), ENOTCONN);
	assert_errno(b_accept(b, 1, fd, 0), EINVAL);
	assert_int_equal(b_getint(b, 1, fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	assert_int_equal(b_getint(b, 1, fd, SOL_SOCKET, SO_ERROR), 0);
	assert_int_equal(b_getint(b, 1, fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
	assert_int_equal(b_close(b, 1, fd), 0);
	assert_errno(b_close(b, 1, fd), EBADF);
}

static void sc_bind(const struct be *b)
{
	int f1 = b_socket(b, 0, SOCK_STREAM), f2 = b_socket(b, 0, SOCK_STREAM);
	uint16_t p;
	assert_int_equal(b_bind(b, 0, f1, b->ip[0], 0), 0);
	assert_int_equal(b_getname(b, 0, f1, false, &p), 0);
	assert_true(p != 0);
	assert_errno(b_bind(b, 0, f1, b->ip[0], 0), EINVAL);
	assert_errno(b_bind(b, 0, f2, b->ip[0], p), EADDRINUSE);
	assert_errno(b_bind(b, 0, f2, 0x0ac80009u, 0), EADDRNOTAVAIL);
	struct sockaddr_in a = sin_of(b->ip[0], 0);
	a.sin_family = AF_INET6;
	assert_errno(b->cx[0] ? zc_bind(b->cx[0], f2, (struct sockaddr *)&a, sizeof(a))
			      : bind(f2, (struct sockaddr *)&a, sizeof(a)),
		     EAFNOSUPPORT);
	a.sin_family = AF_INET;
	assert_errno(b->cx[0] ? zc_bind(b->cx[0], f2, (struct sockaddr *)&a, 4) : bind(f2, (struct sockaddr *)&a, 4),
		     EINVAL);
	assert_int_equal(b_listen(b, 0, f1), 0);
	assert_int_equal(b_getint(b, 0, f1, SOL_SOCKET, SO_ACCEPTCONN), 1);
	assert_errno(b_accept(b, 0, f1, SOCK_NONBLOCK | 0x4000000), EINVAL);
	b_close(b, 0, f1);
	b_close(b, 0, f2);
}

static void sc_refused(const struct be *b)
{
	uint16_t port = closed_port(b);
	int c = b_socket(b, 1, SOCK_STREAM);
	assert_errno(b_connect(b, 1, c, b->ip[0], port), ECONNREFUSED);
	b_close(b, 1, c);
	/* non-blocking: EINPROGRESS, then POLLERR and SO_ERROR, read once */
	c = b_socket(b, 1, SOCK_STREAM | SOCK_NONBLOCK);
	int r = b_connect(b, 1, c, b->ip[0], port);
	assert_true(r == -1 && (errno == EINPROGRESS || errno == ECONNREFUSED));
	if (errno == EINPROGRESS) {
		struct pollfd p = { .fd = c, .events = POLLOUT };
		assert_int_equal(b_poll(b, 1, &p, 1, 2000), 1);
		assert_true(p.revents & POLLERR);
		assert_int_equal(b_getint(b, 1, c, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
		assert_int_equal(b_getint(b, 1, c, SOL_SOCKET, SO_ERROR), 0);
	}
	b_close(b, 1, c);
}

static void sc_nonblock_connect(const struct be *b)
{
	uint16_t port;
	int l = listener(b, &port);
	assert_int_equal(b_setint(b, 0, l, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(b_getint(b, 0, l, SOL_SOCKET, SO_REUSEADDR), 1);
	int c = b_socket(b, 1, SOCK_STREAM | SOCK_NONBLOCK);
	assert_errno(b_connect(b, 1, c, b->ip[0], port), EINPROGRESS);
	int r = b_connect(b, 1, c, b->ip[0], port);
	assert_true(r == 0 || errno == EALREADY || errno == EISCONN); /* loopback may be done already */
	struct pollfd p = { .fd = c, .events = POLLOUT | POLLIN };
	assert_int_equal(b_poll(b, 1, &p, 1, 2000), 1);
	assert_int_equal(p.revents, POLLOUT);
	assert_int_equal(b_getint(b, 1, c, SOL_SOCKET, SO_ERROR), 0);
	assert_errno(b_connect(b, 1, c, b->ip[0], port), EISCONN);
	/* the listener became readable, and accept takes the connection */
	struct pollfd pl = { .fd = l, .events = POLLIN };
	assert_int_equal(b_poll(b, 0, &pl, 1, 2000), 1);
	assert_int_equal(pl.revents, POLLIN);
	int a = b_accept(b, 0, l, SOCK_NONBLOCK);
	assert_true(a >= 0);
	char buf[8];
	assert_errno(b_recv(b, 0, a, buf, sizeof(buf), 0), EAGAIN);
	assert_int_equal(b_nonblock(b, 0, l), 0);
	assert_errno(b_accept(b, 0, l, 0), EAGAIN);
	b_close(b, 0, a);
	b_close(b, 1, c);
	b_close(b, 0, l);
}

struct later { const struct be *b; int side, fd; const char *msg; int delay_ms; };
static void *send_later(void *arg)
{
	struct later *w = arg;
	nanosleep(&(struct timespec){ 0, w->delay_ms * 1000000L }, NULL);
	b_send(w->b, w->side, w->fd, w->msg, strlen(w->msg), 0);
	return NULL;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sc_data(const struct be *b)
{
	int c, a, l;
	pair(b, &c, &a, &l);
	char buf[256];
	assert_errno(b_recv(b, 0, a, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	assert_int_equal(b_send(b, 1, c, "hello world", 11, 0), 11);
	struct pollfd p = { .fd = a, .events = POLLIN };
	assert_int_equal(b_poll(b, 0, &p, 1, 2000), 1);
	int n = -1;
	for (int i = 0; i < 200 && n != 11; i++) { /* all of it may take a moment */
		assert_int_equal(b_ioctl(b, 0, a, FIONREAD, &n), 0);
		if (n != 11)
			usleep(1000);
	}
	assert_int_equal(n, 11);
	assert_int_equal(b_recv(b, 0, a, buf, 5, MSG_PEEK), 5);
	assert_memory_equal(buf, "hello", 5);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(b_recv(b, 0, a, buf, 11, MSG_WAITALL), 11);
	assert_memory_equal(buf, "hello world", 11);
	/* MSG_WAITALL waits for the rest */
	pthread_t th;
	struct later w = { b, 1, c, "-second-half", 30 };
	assert_int_equal(b_send(b, 1, c, "first-half", 10, 0), 10);
	pthread_create(&th, NULL, send_later, &w);
	assert_int_equal(b_recv(b, 0, a, buf, 22, MSG_WAITALL), 22);
	pthread_join(th, NULL);
	assert_memory_equal(buf, "first-half-second-half", 22);
	/* a receive timeout */
	struct timeval tv = { 0, 50000 };
	assert_int_equal(b_setsockopt(b, 0, a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	uint64_t t0 = mono_ms();
	assert_errno(b_recv(b, 0, a, buf, 1, 0), EAGAIN);
	assert_true(mono_ms() - t0 >= 40);
	/* options */
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	assert_int_equal(b_getsockopt(b, 1, c, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	assert_int_equal(ti.tcpi_state, 1 /* TCP_ESTABLISHED */);
	assert_true(ti.tcpi_snd_mss > 0);
	assert_int_equal(b_setint(b, 1, c, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	assert_int_equal(b_getint(b, 1, c, IPPROTO_TCP, TCP_NODELAY), 1);
	assert_int_equal(b_setint(b, 1, c, SOL_SOCKET, SO_SNDBUF, 65536), 0);
	assert_int_equal(b_getint(b, 1, c, SOL_SOCKET, SO_SNDBUF), 131072);
	assert_int_equal(b_setint(b, 1, c, SOL_SOCKET, SO_KEEPALIVE, 1), 0);
	assert_int_equal(b_getint(b, 1, c, SOL_SOCKET, SO_KEEPALIVE), 1);
	assert_int_equal(b_setint(b, 1, c, IPPROTO_TCP, TCP_KEEPIDLE, 30), 0);
	assert_int_equal(b_getint(b, 1, c, IPPROTO_TCP, TCP_KEEPIDLE), 30);
	assert_errno(b_setint(b, 1, c, IPPROTO_TCP, TCP_KEEPIDLE, 0), EINVAL);
	assert_errno(b_setsockopt(b, 1, c, IPPROTO_TCP, TCP_CONGESTION, "no-such-cc", 10), ENOENT);
	assert_errno(b_setint(b, 1, c, SOL_SOCKET, 9999, 1), ENOPROTOOPT);
	struct linger lg = { 1, 5 };
	assert_int_equal(b_setsockopt(b, 1, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	memset(&lg, 0, sizeof(lg));
	socklen_t ll = sizeof(lg);
	assert_int_equal(b_getsockopt(b, 1, c, SOL_SOCKET, SO_LINGER, &lg, &ll), 0);
	assert_true(lg.l_onoff && lg.l_linger == 5);
	lg.l_onoff = 0;
	b_setsockopt(b, 1, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	/* half close: the client is done sending, the server still talks */
	assert_int_equal(b_shutdown(b, 1, c, SHUT_WR), 0);
	tv.tv_usec = 0;
	tv.tv_sec = 2;
	b_setsockopt(b, 0, a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(b_recv(b, 0, a, buf, sizeof(buf), 0), 0);
	assert_int_equal(b_send(b, 0, a, "bye", 3, 0), 3);
	assert_int_equal(b_recv(b, 1, c, buf, 3, MSG_WAITALL), 3);
	assert_memory_equal(buf, "bye", 3);
	assert_errno(b_send(b, 1, c, "x", 1, MSG_NOSIGNAL), EPIPE);
	b_close(b, 0, a);
	b_close(b, 1, c);
	b_close(b, 0, l);
}

/* The peer closed: reads see the end, and a write is answered with a reset
 * that turns the next writes into EPIPE. */
static void sc_peer_closed(const struct be *b)
{
	int c, a, l;
	pair(b, &c, &a, &l);
	assert_int_equal(b_close(b, 0, a), 0);
	char buf[8];
	assert_int_equal(b_recv(b, 1, c, buf, sizeof(buf), 0), 0);
	struct pollfd p = { .fd = c, .events = POLLIN | POLLRDHUP };
	assert_int_equal(b_poll(b, 1, &p, 1, 1000), 1);
	assert_true(p.revents & POLLIN);
	assert_true(p.revents & POLLRDHUP);
	int err = 0;
	for (int i = 0; i < 200 && err == 0; i++) {
		if (b_send(b, 1, c, "x", 1, MSG_NOSIGNAL) < 0)
			err = errno;
		else
			usleep(5000);
	}
	assert_int_equal(err, EPIPE);
	b_close(b, 1, c);
	b_close(b, 0, l);
}

/* epoll: level- and edge-triggered, one-shot, errors, a kernel fd (a pipe)
 * in the same instance, and a socket that leaves when it is closed. */
static int b_epctl(const struct be *b, int side, int ep, int op, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	return b->cx[side] ? zc_epoll_ctl(b->cx[side], ep, op, fd, &ev) : epoll_ctl(ep, op, fd, &ev);
}
static int b_epwait(const struct be *b, int side, int ep, struct epoll_event *ev, int max, int ms)
{
	return b->cx[side] ? zc_epoll_wait(b->cx[side], ep, ev, max, ms, true) : epoll_wait(ep, ev, max, ms);
}

static void sc_epoll(const struct be *b)
{
	int c, a, l;
	pair(b, &c, &a, &l);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	struct epoll_event ev[8];
	char buf[4096];
	/* a listener is ready when a connection waits */
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_ADD, l, EPOLLIN, 1), 0);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0);
	uint16_t port;
	assert_int_equal(b_getname(b, 0, l, false, &port), 0);
	int c2 = b_socket(b, 1, SOCK_STREAM);
	assert_int_equal(b_connect(b, 1, c2, b->ip[0], port), 0);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 2000), 1);
	assert_int_equal(ev[0].data.u64, 1);
	assert_true(ev[0].events & EPOLLIN);
	int a2 = b_accept(b, 0, l, 0);
	assert_true(a2 >= 0);
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_DEL, l, 0, 0), 0);
	/* errors as Linux gives them */
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_DEL, l, 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_MOD, a, EPOLLIN, 0), -1);
	assert_int_equal(errno, ENOENT);
	/* edge-triggered: told once per arrival */
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_ADD, a, EPOLLIN | EPOLLET, 7), 0);
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_ADD, a, EPOLLIN, 7), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0);
	assert_int_equal(b_send(b, 1, c, "0123456789", 10, 0), 10);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 2000), 1);
	assert_int_equal(ev[0].data.u64, 7);
	assert_int_equal(ev[0].events, EPOLLIN);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0); /* nothing new */
	assert_int_equal(b_send(b, 1, c, "abc", 3, 0), 3);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 2000), 1);
	assert_int_equal(b_recv(b, 0, a, buf, 13, MSG_WAITALL), 13);
	/* level-triggered: told while readable */
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_MOD, a, EPOLLIN, 8), 0);
	assert_int_equal(b_send(b, 1, c, "xy", 2, 0), 2);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 2000), 1);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 1);
	assert_int_equal(ev[0].data.u64, 8);
	assert_int_equal(b_recv(b, 0, a, buf, 2, 0), 2);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0);
	/* one-shot: once until re-armed */
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 9), 0);
	assert_int_equal(b_send(b, 1, c, "q", 1, 0), 1);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 2000), 1);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0);
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLONESHOT, 9), 0);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 1);
	assert_int_equal(b_recv(b, 0, a, buf, 1, 0), 1);
	/* writable, edge-triggered: once */
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_ADD, a2, EPOLLOUT | EPOLLET, 10), 0);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 2000), 1);
	assert_int_equal(ev[0].data.u64, 10);
	assert_int_equal(ev[0].events, EPOLLOUT);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0);
	/* a kernel fd in the same instance */
	int pp[2];
	assert_int_equal(pipe(pp), 0);
	struct epoll_event pe = { .events = EPOLLIN, .data.u64 = 11 };
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &pe), 0);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0);
	assert_int_equal(write(pp[1], "k", 1), 1);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 2000), 1);
	assert_int_equal(ev[0].data.u64, 11);
	assert_int_equal(read(pp[0], buf, 1), 1);
	/* the peer closes: readable with RDHUP */
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_MOD, a, EPOLLIN | EPOLLRDHUP, 12), 0);
	assert_int_equal(b_close(b, 1, c), 0);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 2000), 1);
	assert_int_equal(ev[0].data.u64, 12);
	assert_true(ev[0].events & EPOLLRDHUP);
	/* a closed socket leaves the instance */
	assert_int_equal(b_close(b, 0, a), 0);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0);
	close(pp[0]);
	close(pp[1]);
	close(ep);
	b_close(b, 0, a2);
	b_close(b, 1, c2);
	b_close(b, 0, l);
}

static void sc_udp(const struct be *b)
{
	int s = b_socket(b, 0, SOCK_DGRAM), c = b_socket(b, 1, SOCK_DGRAM);
	assert_int_equal(b_bind(b, 0, s, b->ip[0], 0), 0);
	uint16_t port;
	assert_int_equal(b_getname(b, 0, s, false, &port), 0);
	char buf[64];
	assert_errno(b_recv(b, 0, s, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	assert_errno(b_send(b, 1, c, "x", 1, 0), EDESTADDRREQ);
	assert_int_equal(b_connect(b, 1, c, b->ip[0], port), 0);
	assert_int_equal(b_send(b, 1, c, "datagram-one", 12, 0), 12);
	struct pollfd p = { .fd = s, .events = POLLIN };
	assert_int_equal(b_poll(b, 0, &p, 1, 2000), 1);
	int n = 0;
	assert_int_equal(b_ioctl(b, 0, s, FIONREAD, &n), 0);
	assert_int_equal(n, 12);
	assert_int_equal(b_recv(b, 0, s, buf, 8, 0), 8); /* the rest is discarded */
	assert_memory_equal(buf, "datagram", 8);
	assert_int_equal(b_getint(b, 0, s, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	b_close(b, 0, s);
	b_close(b, 1, c);
}


/* --- zero-copy invariants -------------------------------------------------------- */

/* The stream's byte at offset o is a function of o, so any piece can be checked. */
static uint64_t pat_word(uint64_t i)
{
	uint64_t z = i + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint8_t pat_byte(uint64_t o)
{
	return (uint8_t)(pat_word(o / 8) >> (8 * (o % 8)));
}
static void pat_fill(uint8_t *p, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat_byte(off + i);
}
/* Offset of the first wrong byte, or -1. */
static long pat_check(const uint8_t *p, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat_byte(off + i))
			return (long)i;
	return -1;
}

struct zenv {
	struct be b;
	int c, a, l;
	pthread_t tx;
	uint64_t total;
	int policy;
};

static void *zsender(void *arg)
{
	struct zenv *e = arg;
	size_t chunk = 1 * MiB + 12345; /* not aligned to anything: the receiver must not care */
	uint8_t *buf = malloc(chunk);
	for (uint64_t off = 0; off < e->total;) {
		size_t n = e->total - off < chunk ? (size_t)(e->total - off) : chunk;
		pat_fill(buf, off, n);
		ssize_t r = zc_send(e->b.cx[1], e->c, buf, n, MSG_NOSIGNAL);
		if (r <= 0)
			break;
		off += (uint64_t)r;
	}
	free(buf);
	zc_shutdown(e->b.cx[1], e->c, SHUT_WR);
	return NULL;
}

static struct zenv *zenv_open(int policy, uint64_t total, uint32_t rx_huge)
{
	struct zenv *e = calloc(1, sizeof(*e));
	e->policy = policy;
	e->total = total;
	e->b.ip[0] = SRV_IP;
	e->b.ip[1] = CLI_IP;
	snprintf(e->b.wire, sizeof(e->b.wire), "zk%d", (int)getpid());
	zc_trapeze_unlink(e->b.wire);
	char n0[64], n1[64];
	snprintf(n0, sizeof(n0), "trapeze:%s,port=0", e->b.wire);
	snprintf(n1, sizeof(n1), "trapeze:%s,port=1", e->b.wire);
	e->b.cx[0] = zc_sockctx_open(&(struct zc_sockctx_config){
		.nic = n0, .addr = "10.9.0.1/24", .seed = 3, .zcopy = policy, .rx_huge = rx_huge });
	e->b.cx[1] = zc_sockctx_open(&(struct zc_sockctx_config){
		.nic = n1, .addr = "10.9.0.2/24", .seed = 4, .zcopy = ZC_ZCOPY_NEVER });
	assert_non_null(e->b.cx[0]);
	assert_non_null(e->b.cx[1]);
	pair(&e->b, &e->c, &e->a, &e->l);
	pthread_create(&e->tx, NULL, zsender, e);
	return e;
}

static void zenv_close(struct zenv *e)
{
	pthread_join(e->tx, NULL);
	zc_close(e->b.cx[0], e->a);
	zc_close(e->b.cx[1], e->c);
	zc_close(e->b.cx[0], e->l);
	zc_sockctx_close(e->b.cx[1]);
	zc_sockctx_close(e->b.cx[0]);
	zc_trapeze_unlink(e->b.wire);
	free(e);
}

/* n bytes (MSG_WAITALL) into p, checked against the stream at *off. */
static void zread(struct zenv *e, uint8_t *p, size_t n, uint64_t *off)
{
	ssize_t r = zc_recv(e->b.cx[0], e->a, p, n, MSG_WAITALL);
	assert_int_equal(r, (ssize_t)n);
	long bad = pat_check(p, *off, n);
	if (bad >= 0)
		fail_msg("byte %ld of a %zu-byte read at stream offset %llu is wrong", bad, n,
			 (unsigned long long)*off);
	*off += n;
}

/* A 2 MiB-aligned anonymous buffer of n bytes. */
static uint8_t *abuf(size_t n)
{
	size_t raw = n + 2 * MiB;
	uint8_t *p = mmap(NULL, raw, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	uint8_t *a = (uint8_t *)(((uintptr_t)p + 2 * MiB - 1) & ~(uintptr_t)(2 * MiB - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + n, (size_t)(p + raw - (a + n)));
	return a;
}

static bool expect_trades(struct zenv *e)
{
	struct zc_zcopy_costs c[2];
	zc_sockctx_costs(e->b.cx[0], c);
	if (c[1].frame_size == 0)
		return false; /* no 2 MiB frames on this machine */
	return e->policy == ZC_ZCOPY_ALWAYS || (e->policy == ZC_ZCOPY_AUTO && c[1].trade);
}

static void zc_invariants(int policy)
{
	const uint64_t total = 96ull * MiB;
	struct zenv *e = zenv_open(policy, total, 0);
	uint64_t off = 0;
	uint8_t *A = abuf(2 * MiB), *B = abuf(2 * MiB);
	/* 1. data never changes after a read, as more data arrives */
	zread(e, A, 2 * MiB, &off);
	uint64_t offA = off - 2 * MiB;
	for (int i = 0; i < 4; i++)
		zread(e, B, 2 * MiB, &off);
	assert_int_equal(pat_check(A, offA, 2 * MiB), -1);
	/* 2. a traded buffer written by the application: its bytes stay the
	 * application's, and later receives are not disturbed */
	memset(A, 0x55, 2 * MiB);
	for (int i = 0; i < 4; i++)
		zread(e, B, 2 * MiB, &off);
	for (size_t i = 0; i < 2 * MiB; i += 4096)
		assert_int_equal(A[i], 0x55);
	zread(e, A, 2 * MiB, &off); /* A's old frame may come home now */
	/* 3. a partial read: bytes past it are never touched */
	uint8_t *C = abuf(4 * MiB);
	memset(C, 0xaa, 4 * MiB);
	zread(e, C, 2 * MiB + 100, &off);
	for (size_t i = 2 * MiB + 100; i < 4 * MiB; i++)
		if (C[i] != 0xaa)
			fail_msg("byte %zu past a partial read changed", i);
	/* 4. a buffer aligned to a page but not to 2 MiB */
	zread(e, C + 4096, 2 * MiB, &off);
	/* 5. munmap'd and reused buffers */
	munmap(A, 2 * MiB);
	for (int i = 0; i < 6; i++)
		zread(e, B, 2 * MiB, &off);
	uint8_t *H = malloc(2 * MiB + 4096);
	uint8_t *Ha = (uint8_t *)(((uintptr_t)H + 4095) & ~(uintptr_t)4095);
	zread(e, Ha, 2 * MiB, &off);
	H = realloc(H, 6 * MiB); /* glibc moves big blocks with mremap */
	Ha = (uint8_t *)(((uintptr_t)H + 4095) & ~(uintptr_t)4095);
	zread(e, Ha, 2 * MiB, &off);
	free(H);
	/* 6. fork: parent and child never see each other's writes */
	zread(e, B, 2 * MiB, &off);
	uint64_t offB = off - 2 * MiB;
	int p1[2], p2[2];
	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char go;
		memset(B, 0x11, 4096); /* the child's write */
		if (write(p1[1], "w", 1) != 1 || read(p2[0], &go, 1) != 1)
			_exit(3);
		/* the parent wrote after the fork: not here */
		_exit(B[4096] == pat_byte(offB + 4096) && B[0] == 0x11 ? 0 : 1);
	}
	char go;
	assert_int_equal(read(p1[0], &go, 1), 1);
	assert_int_equal(pat_check(B, offB, 2 * MiB), -1); /* not the child's */
	memset(B + 4096, 0x22, 4096);
	assert_int_equal(write(p2[1], "g", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(p1[0]), close(p1[1]), close(p2[0]), close(p2[1]);
	/* and the stack goes on, in the parent */
	while (off < total - 2 * MiB - 100)
		zread(e, B, 2 * MiB, &off);
	size_t rest = (size_t)(total - off);
	zread(e, C, rest, &off);
	char x;
	assert_int_equal(zc_recv(e->b.cx[0], e->a, &x, 1, 0), 0); /* end of stream */
	struct zc_zstats zs;
	assert_int_equal(zc_sock_zstats(e->b.cx[0], e->a, &zs), 0);
	struct zc_zstats tot;
	assert_int_equal(zc_sock_zstats(e->b.cx[0], -1, &tot), 0);
	/* auto may stop trading where its trades cost more than copies did
	 * (trade_pauses); never without saying so */
	if (expect_trades(e) && (policy == ZC_ZCOPY_ALWAYS || tot.trade_pauses == 0))
		assert_true(zs.bytes_traded >= 8 * 2 * MiB);
	else if (policy == ZC_ZCOPY_NEVER)
		assert_int_equal(zs.bytes_traded, 0);
	assert_int_equal(zs.bytes_traded + zs.bytes_copied, total);
	munmap(B, 2 * MiB);
	munmap(C, 4 * MiB);
	zenv_close(e);
}

/* auto watches its trades: where they cost more than the measured copy it
 * copies for a while, and trades again once the costs say so. */
static void test_zc_auto_watches_trades(void **st)
{
	(void)st;
	const uint64_t total = 64ull * MiB;
	struct zenv *e = zenv_open(ZC_ZCOPY_AUTO, total, 0);
	struct zc_zcopy_costs c[2];
	zc_sockctx_costs(e->b.cx[0], c);
	uint64_t off = 0;
	uint8_t *B = abuf(2 * MiB);
	if (c[1].frame_size == 0) { /* no 2 MiB frames here: nothing to watch */
		while (off < total)
			zread(e, B, 2 * MiB, &off);
		munmap(B, 2 * MiB);
		zenv_close(e);
		skip();
	}
	/* a copy that costs nothing: the first trade costs more */
	c[1].copy_ns = 1;
	c[1].trade = true;
	zc_sockctx_set_costs(e->b.cx[0], c);
	for (int i = 0; i < 16; i++)
		zread(e, B, 2 * MiB, &off);
	struct zc_zstats a, t;
	assert_int_equal(zc_sock_zstats(e->b.cx[0], e->a, &a), 0);
	assert_int_equal(zc_sock_zstats(e->b.cx[0], -1, &t), 0);
	/* eight trades judge, then the next read (well within the pause of
	 * 100 ms) copies */
	assert_true(t.trade_pauses >= 1);
	assert_true(a.trades >= 8);
	assert_true(a.bytes_copied >= 2 * MiB);
	/* a copy that costs more than any trade: trading goes on at once */
	c[1].copy_ns = UINT64_MAX / 4;
	zc_sockctx_set_costs(e->b.cx[0], c);
	uint64_t before = a.bytes_traded;
	while (off < total)
		zread(e, B, 2 * MiB, &off);
	assert_int_equal(zc_sock_zstats(e->b.cx[0], e->a, &a), 0);
	assert_true(a.bytes_traded - before >= 8 * 2 * MiB);
	assert_int_equal(a.bytes_traded + a.bytes_copied, total);
	munmap(B, 2 * MiB);
	zenv_close(e);
}

static void test_zc_never(void **st) { (void)st; zc_invariants(ZC_ZCOPY_NEVER); }
static void test_zc_auto(void **st) { (void)st; zc_invariants(ZC_ZCOPY_AUTO); }
static void test_zc_always(void **st) { (void)st; zc_invariants(ZC_ZCOPY_ALWAYS); }

/* Opt-in views: the bytes are right, the views are read-only, and the
 * frames return when released. */
static void test_zc_views(void **st)
{
	(void)st;
	const uint64_t total = 16ull * MiB;
	struct zenv *e = zenv_open(ZC_ZCOPY_NEVER, total, 0);
	uint64_t off = 0;
	bool tried_write = false;
	while (off < total) {
		struct zc_rxzc z;
		ssize_t r = zc_recv_zc(e->b.cx[0], e->a, &z, 1 * MiB, 0);
		assert_true(r > 0);
		size_t seen = 0;
		for (int i = 0; i < z.iovcnt; i++) {
			assert_int_equal(pat_check(z.iov[i].iov_base, off + seen, z.iov[i].iov_len), -1);
			seen += z.iov[i].iov_len;
		}
		if (z.iovcnt == -1) {
			assert_int_equal(pat_check(z.iov[0].iov_base, off, (size_t)r), -1);
			seen = (size_t)r;
		}
		assert_int_equal(seen, (size_t)r);
		if (!tried_write && z.iovcnt > 0 && z.iov[0].iov_len >= 4096) {
			pid_t pid = fork();
			if (pid == 0) {
				signal(SIGSEGV, SIG_DFL); /* not cmocka's handler */
				((volatile uint8_t *)z.iov[0].iov_base)[0] = 1; /* must fault */
				_exit(0);
			}
			int status;
			waitpid(pid, &status, 0);
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
			tried_write = true;
		}
		zc_recv_zc_done(e->b.cx[0], &z);
		off += (uint64_t)r;
	}
	assert_true(tried_write);
	struct zc_zstats zs;
	zc_sock_zstats(e->b.cx[0], e->a, &zs);
	assert_true(zs.bytes_viewed > total / 2);
	zenv_close(e);
}

/* --- copy-on-write sends ---------------------------------------------------------- */

#define COW_CH (1u * MiB)
#define COW_N 48
enum cow_mode { COW_UNCHANGED, COW_REWRITE, COW_KERNEL_WRITE, COW_DONTNEED, COW_SMALL_READS, COW_SMALL_SNDBUF };

struct cow_rx {
	struct zenv *e;
	uint64_t base[COW_N]; /* what send k carried: the stream pattern from base[k] */
	int bad;              /* first wrong chunk + 1 */
	size_t piece;         /* reads of this size (the receive window follows them) */
};

static void *cow_reader(void *arg)
{
	struct cow_rx *x = arg;
	uint8_t *buf = malloc(COW_CH);
	for (int k = 0; k < COW_N; k++) {
		ssize_t r = 0;
		for (size_t off = 0; off < COW_CH && r >= 0; off += (size_t)r)
			r = zc_recv(x->e->b.cx[0], x->e->a, buf + off, x->piece, MSG_WAITALL);
		if (r < 0 || pat_check(buf, x->base[k], COW_CH) != -1) {
			x->bad = k + 1;
			break;
		}
	}
	free(buf);
	return NULL;
}

static void cow_run(int policy, enum cow_mode mode)
{
	struct zenv *e = calloc(1, sizeof(*e));
	e->b.ip[0] = SRV_IP;
	e->b.ip[1] = CLI_IP;
	snprintf(e->b.wire, sizeof(e->b.wire), "cw%d", (int)getpid());
	zc_trapeze_unlink(e->b.wire);
	char n0[64], n1[64];
	snprintf(n0, sizeof(n0), "trapeze:%s,port=0", e->b.wire);
	snprintf(n1, sizeof(n1), "trapeze:%s,port=1", e->b.wire);
	e->b.cx[0] = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = n0, .addr = "10.9.0.1/24", .seed = 5, .zcopy = ZC_ZCOPY_NEVER });
	e->b.cx[1] = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = n1, .addr = "10.9.0.2/24", .seed = 6, .zcopy = policy });
	assert_non_null(e->b.cx[0]);
	assert_non_null(e->b.cx[1]);
	pair(&e->b, &e->c, &e->a, &e->l);
	struct cow_rx *x = calloc(1, sizeof(*x));
	x->e = e;
	/* small reads keep the window small (the sender's buffer follows the
	 * writes); a small SO_SNDBUF keeps the send buffer below what auto
	 * sends by reference: it must copy then, not wait for room it cannot
	 * have (redis-cli hung so) */
	x->piece = mode == COW_SMALL_READS ? 64u << 10 : COW_CH;
	if (mode == COW_SMALL_SNDBUF) {
		int sb = 256 << 10;
		assert_int_equal(zc_setsockopt(e->b.cx[1], e->c, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)), 0);
	}
	for (int k = 0; k < COW_N; k++)
		x->base[k] = mode == COW_UNCHANGED || mode >= COW_SMALL_READS ? 0 : (uint64_t)k * COW_CH;
	pthread_t th;
	pthread_create(&th, NULL, cow_reader, x);
	uint8_t *B = abuf(COW_CH);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	uint8_t *page = malloc(4096);
	pat_fill(B, x->base[0], COW_CH);
	for (int k = 0; k < COW_N; k++) {
		assert_int_equal(zc_send(e->b.cx[1], e->c, B, COW_CH, MSG_NOSIGNAL), (ssize_t)COW_CH);
		if (k + 1 == COW_N || mode == COW_UNCHANGED || mode >= COW_SMALL_READS)
			continue;
		uint64_t nb = x->base[k + 1];
		switch (mode) {
		case COW_REWRITE: /* the application rewrites at once: before the ACK */
			pat_fill(B, nb, COW_CH);
			break;
		case COW_KERNEL_WRITE: /* the kernel writes the first page: read(2) from a pipe */
			pat_fill(page, nb, 4096);
			assert_int_equal(write(pfd[1], page, 4096), 4096);
			assert_int_equal(read(pfd[0], B, 4096), 4096);
			pat_fill(B + 4096, nb + 4096, COW_CH - 4096);
			break;
		case COW_DONTNEED: /* the pages are dropped and come back as zeros; the
				   * kernel tells madvise only after it returns, so the
				   * program (or the shim) releases the range first */
			zc_release_range(e->b.cx[1], B, COW_CH);
			assert_int_equal(madvise(B, COW_CH, MADV_DONTNEED), 0);
			assert_int_equal(B[100], 0);
			pat_fill(B, nb, COW_CH);
			break;
		default:
			break;
		}
	}
	pthread_join(th, NULL);
	assert_int_equal(x->bad, 0);
	struct zc_zstats zs, tot;
	assert_int_equal(zc_sock_zstats(e->b.cx[1], e->c, &zs), 0);
	assert_int_equal(zc_sock_zstats(e->b.cx[1], -1, &tot), 0);
	if (policy == ZC_ZCOPY_NEVER) {
		assert_int_equal(zs.bytes_cow, 0);
	} else if (mode == COW_SMALL_SNDBUF && policy == ZC_ZCOPY_AUTO) {
		assert_int_equal(zs.bytes_cow, 0);
	} else {
		assert_true(zs.bytes_cow > 0);
		if (mode == COW_UNCHANGED) { /* no host copy at all */
			assert_int_equal(zs.bytes_copied, 0);
			assert_int_equal(tot.deferred_copies, 0);
		}
		if (policy == ZC_ZCOPY_ALWAYS && (mode == COW_REWRITE || mode == COW_KERNEL_WRITE))
			assert_true(tot.deferred_copies > 0); /* writes before the ACK were caught */
	}
	assert_int_equal(zs.bytes_cow + zs.bytes_copied, (uint64_t)COW_N * COW_CH);
	/* unmapping after a release is safe, whatever is in flight */
	zc_release_range(e->b.cx[1], B, COW_CH);
	munmap(B, COW_CH);
	close(pfd[0]);
	close(pfd[1]);
	free(page);
	free(x);
	zc_close(e->b.cx[1], e->c);
	zc_close(e->b.cx[0], e->a);
	zc_close(e->b.cx[0], e->l);
	zc_sockctx_close(e->b.cx[1]);
	zc_sockctx_close(e->b.cx[0]);
	zc_trapeze_unlink(e->b.wire);
	free(e);
}

static void test_cow_unchanged(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++)
		cow_run(p, COW_UNCHANGED);
}
static void test_cow_rewrite(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++)
		cow_run(p, COW_REWRITE);
}
static void test_cow_kernel_write(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++)
		cow_run(p, COW_KERNEL_WRITE);
}
static void test_cow_dontneed(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++)
		cow_run(p, COW_DONTNEED);
}
static void test_cow_small_reads(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++) {
		cow_run(p, COW_SMALL_READS);
		cow_run(p, COW_SMALL_SNDBUF);
	}
}

typedef void (*scenario)(const struct be *b);

static void run_both(scenario sc, const char *what)
{
	struct be kb = { .name = "kernel", .ip = { 0x7f000001u, 0x7f000001u } };
	sc(&kb);
	struct be zb = { .name = "zcstack", .ip = { SRV_IP, CLI_IP } };
	snprintf(zb.wire, sizeof(zb.wire), "sk%d", (int)getpid());
	zc_trapeze_unlink(zb.wire);
	char n0[64], n1[64];
	snprintf(n0, sizeof(n0), "trapeze:%s,port=0", zb.wire);
	snprintf(n1, sizeof(n1), "trapeze:%s,port=1", zb.wire);
	zb.cx[0] = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = n0, .addr = "10.9.0.1/24", .seed = 1, .zcopy = -1 });
	zb.cx[1] = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = n1, .addr = "10.9.0.2/24", .seed = 2, .zcopy = -1 });
	assert_non_null(zb.cx[0]);
	assert_non_null(zb.cx[1]);
	sc(&zb);
	zc_sockctx_close(zb.cx[1]);
	zc_sockctx_close(zb.cx[0]);
	zc_trapeze_unlink(zb.wire);
	(void)what;
}

static void test_unconnected(void **st) { (void)st; run_both(sc_unconnected, "unconnected"); }
static void test_bind(void **st) { (void)st; run_both(sc_bind, "bind"); }
static void test_refused(void **st) { (void)st; run_both(sc_refused, "refused"); }
static void test_nonblock_connect(void **st) { (void)st; run_both(sc_nonblock_connect, "nonblock"); }
static void test_data(void **st) { (void)st; run_both(sc_data, "data"); }
static void test_peer_closed(void **st) { (void)st; run_both(sc_peer_closed, "peer closed"); }
static void test_udp(void **st) { (void)st; run_both(sc_udp, "udp"); }
static void test_epoll(void **st) { (void)st; run_both(sc_epoll, "epoll"); }

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* e.g. "test_zc_*" */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unconnected),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_nonblock_connect),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_peer_closed),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_epoll),
		cmocka_unit_test(test_zc_never),
		cmocka_unit_test(test_zc_auto),
		cmocka_unit_test(test_zc_auto_watches_trades),
		cmocka_unit_test(test_zc_always),
		cmocka_unit_test(test_zc_views),
		cmocka_unit_test(test_cow_unchanged),
		cmocka_unit_test(test_cow_rewrite),
		cmocka_unit_test(test_cow_kernel_write),
		cmocka_unit_test(test_cow_dontneed),
		cmocka_unit_test(test_cow_small_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

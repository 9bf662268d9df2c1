/* test_socket_api.c - the socket layer's POSIX semantics: each scenario
 * runs on the Linux kernel over loopback and on two zcstack contexts over a
 * Trapeze wire, and must give the same results and errno values (errors,
 * bind, connect refused and non-blocking, data with PEEK/WAITALL/timeouts
 * and options, a peer that closed, UDP, epoll). */
#include "socket_fixture.h"
#include "stack/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

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

/* reads n bytes of the pattern from fd; how many were right, or -1 */
struct drain { const struct be *b; int side, fd; size_t n; long ok; };
static void *drain_pat(void *arg)
{
	struct drain *d = arg;
	static uint8_t buf[1 << 16];
	size_t got = 0;
	d->ok = 0;
	while (got < d->n) {
		ssize_t r = b_recv(d->b, d->side, d->fd, buf, sizeof(buf), 0);
		if (r <= 0 || pat_check(buf, got, (size_t)r) >= 0) {
			d->ok = -1;
			return NULL;
		}
		got += (size_t)r;
	}
	d->ok = (long)got;
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
	char ccn[16] = "";
	socklen_t ccl = sizeof(ccn);
	assert_int_equal(b_getsockopt(b, 1, c, IPPROTO_TCP, TCP_CONGESTION, ccn, &ccl), 0);
	if (b->cx[1]) /* the stack: cubic, as Linux's default (this kernel's may differ) */
		assert_string_equal(ccn, "cubic");
	assert_int_equal(b_setsockopt(b, 1, c, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), 0);
	ccl = sizeof(ccn);
	assert_int_equal(b_getsockopt(b, 1, c, IPPROTO_TCP, TCP_CONGESTION, ccn, &ccl), 0);
	assert_string_equal(ccn, b->cx[1] ? "newreno" : "reno");
	if (b->cx[1])
		assert_int_equal(b_setsockopt(b, 1, c, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5), 0);
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

/* SO_LINGER with a positive time: close returns once the data and FIN are
 * acknowledged, or when the time runs out while the peer's window is full;
 * zero: close resets (the peer's read fails ECONNRESET). */
static void sc_linger(const struct be *b)
{
	int c, a, l;
	pair(b, &c, &a, &l);
	static uint8_t chunk[65536];
	struct linger lg = { 1, 5 };
	const size_t n = 100000;
	for (size_t off = 0; off < n;) {
		size_t k = n - off < sizeof(chunk) ? n - off : sizeof(chunk);
		pat_fill(chunk, off, k);
		assert_int_equal(b_send(b, 1, c, chunk, k, 0), (ssize_t)k);
		off += k;
	}
	assert_int_equal(b_setsockopt(b, 1, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(b_close(b, 1, c), 0);
	/* acknowledged: all of it is at the peer already, and the FIN */
	int q = -1;
	assert_int_equal(b_ioctl(b, 0, a, FIONREAD, &q), 0);
	assert_int_equal(q, (int)n);
	static uint8_t buf[100001];
	assert_int_equal(b_recv(b, 0, a, buf, sizeof(buf), MSG_WAITALL | MSG_DONTWAIT), (ssize_t)n);
	assert_int_equal(pat_check(buf, 0, n), -1);
	assert_int_equal(b_recv(b, 0, a, buf, 1, MSG_DONTWAIT), 0);
	b_close(b, 0, a);
	/* the peer reads nothing: the windows fill, and close waits out 1 s */
	c = b_socket(b, 1, SOCK_STREAM | SOCK_NONBLOCK);
	uint16_t port;
	assert_int_equal(b_getname(b, 0, l, false, &port), 0);
	int r = b_connect(b, 1, c, b->ip[0], port);
	assert_true(r == 0 || errno == EINPROGRESS);
	struct pollfd p = { .fd = c, .events = POLLOUT };
	assert_int_equal(b_poll(b, 1, &p, 1, 2000), 1);
	a = b_accept(b, 0, l, 0);
	assert_true(a >= 0);
	size_t sent = 0;
	for (int idle = 0; idle < 3 && sent < (64u << 20);) {
		ssize_t k = b_send(b, 1, c, chunk, sizeof(chunk), 0);
		if (k > 0) {
			sent += (size_t)k;
			idle = 0;
			continue;
		}
		assert_int_equal(errno, EAGAIN);
		idle++;
		usleep(20000);
	}
	assert_true(sent < (64u << 20));
	lg.l_linger = 1;
	assert_int_equal(b_setsockopt(b, 1, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	uint64_t t0 = mono_ms();
	assert_int_equal(b_close(b, 1, c), 0);
	assert_true(mono_ms() - t0 >= 900);
	b_close(b, 0, a);
	/* linger 0: a reset, at once */
	pair(b, &c, &a, &q);
	b_close(b, 0, q);
	lg.l_linger = 0;
	assert_int_equal(b_setsockopt(b, 1, c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(b_send(b, 1, c, "lost", 4, 0), 4);
	assert_int_equal(b_close(b, 1, c), 0);
	struct timeval tv = { 2, 0 };
	b_setsockopt(b, 0, a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int err = 0;
	for (int i = 0; i < 10 && err == 0; i++) /* "lost" may arrive before the reset */
		if (b_recv(b, 0, a, buf, sizeof(buf), 0) < 0)
			err = errno;
	assert_int_equal(err, ECONNRESET);
	b_close(b, 0, a);
	b_close(b, 0, l);
}

/* MSG_MORE holds a short segment until a send without it, so three
 * sends arrive as one; a held tail (MSG_MORE or TCP_CORK) still leaves
 * within Linux's 200 ms ceiling. */
static void sc_more(const struct be *b)
{
	int c, a, l;
	pair(b, &c, &a, &l);
	assert_int_equal(b_setint(b, 1, c, IPPROTO_TCP, TCP_NODELAY, 1), 0); /* no Nagle to hide it */
	assert_int_equal(b_send(b, 1, c, "ab", 2, MSG_MORE), 2);
	usleep(10000);
	assert_int_equal(b_send(b, 1, c, "cd", 2, MSG_MORE), 2);
	usleep(10000);
	assert_int_equal(b_send(b, 1, c, "ef", 2, 0), 2);
	struct pollfd p = { .fd = a, .events = POLLIN };
	assert_int_equal(b_poll(b, 0, &p, 1, 2000), 1);
	int q = -1;
	assert_int_equal(b_ioctl(b, 0, a, FIONREAD, &q), 0);
	assert_int_equal(q, 6); /* one segment: the first readiness sees all */
	char buf[8];
	assert_int_equal(b_recv(b, 0, a, buf, 6, MSG_WAITALL), 6);
	assert_memory_equal(buf, "abcdef", 6);
	/* nothing follows: the ceiling lets it go */
	struct timeval tv = { 5, 0 };
	assert_int_equal(b_setsockopt(b, 0, a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(b_send(b, 1, c, "gh", 2, MSG_MORE), 2);
	assert_int_equal(b_recv(b, 0, a, buf, 2, MSG_WAITALL), 2);
	assert_memory_equal(buf, "gh", 2);
	assert_int_equal(b_setint(b, 1, c, IPPROTO_TCP, TCP_CORK, 1), 0);
	assert_int_equal(b_send(b, 1, c, "ij", 2, 0), 2);
	assert_int_equal(b_recv(b, 0, a, buf, 2, MSG_WAITALL), 2);
	assert_memory_equal(buf, "ij", 2);
	b_close(b, 1, c);
	b_close(b, 0, a);
	b_close(b, 0, l);
}

/* Urgent data as Linux gives it: one byte out of band (the last of a
 * MSG_OOB send), POLLPRI while it waits, a read that stops at the mark,
 * SIOCATMARK there, MSG_OOB reading it once; SO_OOBINLINE keeps it in the
 * stream. */
static void sc_oob(const struct be *b)
{
	int c, a, l;
	pair(b, &c, &a, &l);
	char buf[16];
	uint8_t o = 0;
	assert_errno(b_recv(b, 0, a, &o, 1, MSG_OOB), EINVAL); /* none yet */
	assert_int_equal(b_send(b, 1, c, "hello", 5, 0), 5);
	assert_int_equal(b_send(b, 1, c, "!X", 2, MSG_OOB), 2);
	assert_int_equal(b_send(b, 1, c, "world", 5, 0), 5);
	struct pollfd p = { .fd = a, .events = POLLPRI };
	assert_int_equal(b_poll(b, 0, &p, 1, 2000), 1);
	assert_int_equal(p.revents, POLLPRI);
	int at = -1;
	assert_int_equal(b_ioctl(b, 0, a, SIOCATMARK, &at), 0);
	assert_int_equal(at, 0);
	/* a read stops at the mark, even under MSG_WAITALL */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(b_recv(b, 0, a, buf, sizeof(buf), MSG_WAITALL), 6);
	assert_memory_equal(buf, "hello!", 6);
	assert_int_equal(b_ioctl(b, 0, a, SIOCATMARK, &at), 0);
	assert_int_equal(at, 1);
	assert_int_equal(b_recv(b, 0, a, &o, 1, MSG_OOB | MSG_PEEK), 1);
	assert_int_equal(o, 'X');
	o = 0;
	assert_int_equal(b_recv(b, 0, a, &o, 1, MSG_OOB), 1);
	assert_int_equal(o, 'X');
	assert_errno(b_recv(b, 0, a, &o, 1, MSG_OOB), EINVAL); /* read once */
	p.revents = 0;
	assert_int_equal(b_poll(b, 0, &p, 1, 0), 0);
	/* the urgent byte is not in the stream */
	assert_int_equal(b_recv(b, 0, a, buf, 5, MSG_WAITALL), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(b_ioctl(b, 0, a, SIOCATMARK, &at), 0);
	assert_int_equal(at, 0);
	/* SO_OOBINLINE: the byte stays where it was sent */
	assert_int_equal(b_setint(b, 0, a, SOL_SOCKET, SO_OOBINLINE, 1), 0);
	assert_int_equal(b_getint(b, 0, a, SOL_SOCKET, SO_OOBINLINE), 1);
	assert_int_equal(b_send(b, 1, c, "12Y", 3, MSG_OOB), 3);
	assert_int_equal(b_send(b, 1, c, "34", 2, 0), 2);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(b_recv(b, 0, a, buf, 2, MSG_WAITALL), 2);
	assert_int_equal(b_ioctl(b, 0, a, SIOCATMARK, &at), 0);
	assert_int_equal(at, 1);
	assert_errno(b_recv(b, 0, a, &o, 1, MSG_OOB), EINVAL);
	assert_int_equal(b_recv(b, 0, a, buf + 2, 3, MSG_WAITALL), 3);
	assert_memory_equal(buf, "12Y34", 5);
	b_close(b, 1, c);
	b_close(b, 0, a);
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

/* MSG_PEEK leaves a datagram queued; a connected socket takes datagrams
 * from its peer only (another sender's are dropped: udp_not_from_peer). */
static void sc_udp_peek_peer(const struct be *b)
{
	int s = b_socket(b, 0, SOCK_DGRAM), c1 = b_socket(b, 1, SOCK_DGRAM), c2 = b_socket(b, 1, SOCK_DGRAM);
	uint16_t sp, p1;
	assert_int_equal(b_bind(b, 0, s, b->ip[0], 0), 0);
	assert_int_equal(b_getname(b, 0, s, false, &sp), 0);
	assert_int_equal(b_bind(b, 1, c1, b->ip[1], 0), 0);
	assert_int_equal(b_getname(b, 1, c1, false, &p1), 0);
	assert_int_equal(b_connect(b, 0, s, b->ip[1], p1), 0);
	assert_int_equal(b_connect(b, 1, c2, b->ip[0], sp), 0);
	assert_int_equal(b_connect(b, 1, c1, b->ip[0], sp), 0);
	/* the stranger's first, then the peer's */
	assert_int_equal(b_send(b, 1, c2, "stranger", 8, 0), 8);
	assert_int_equal(b_send(b, 1, c1, "peer-one", 8, 0), 8);
	struct pollfd p = { .fd = s, .events = POLLIN };
	assert_int_equal(b_poll(b, 0, &p, 1, 2000), 1);
	char buf[16];
	memset(buf, 0, sizeof(buf));
	assert_int_equal(b_recv(b, 0, s, buf, 4, MSG_PEEK), 4);
	assert_memory_equal(buf, "peer", 4);
	assert_int_equal(b_recv(b, 0, s, buf, sizeof(buf), MSG_PEEK), 8);
	assert_memory_equal(buf, "peer-one", 8);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(b_recv(b, 0, s, buf, sizeof(buf), 0), 8);
	assert_memory_equal(buf, "peer-one", 8);
	assert_errno(b_recv(b, 0, s, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK), EAGAIN);
	assert_errno(b_recv(b, 0, s, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	if (b->cx[0]) {
		char *out = NULL;
		size_t ol = 0;
		FILE *f = open_memstream(&out, &ol);
		zc_sockctx_dump(b->cx[0], f);
		fclose(f);
		assert_non_null(strstr(out, "udp_not_from_peer 1"));
		free(out);
	}
	b_close(b, 0, s);
	b_close(b, 1, c1);
	b_close(b, 1, c2);
}

/* A datagram to a port nobody has: the ICMP port unreachable fails the
 * connected sender's next call with ECONNREFUSED, or shows in SO_ERROR. */
static void sc_udp_refused(const struct be *b)
{
	int t = b_socket(b, 0, SOCK_DGRAM), c = b_socket(b, 1, SOCK_DGRAM);
	uint16_t port;
	assert_int_equal(b_bind(b, 0, t, b->ip[0], 0), 0);
	assert_int_equal(b_getname(b, 0, t, false, &port), 0);
	b_close(b, 0, t); /* nobody there now */
	assert_int_equal(b_connect(b, 1, c, b->ip[0], port), 0);
	char buf[8];
	for (int round = 0; round < 3; round++) {
		assert_int_equal(b_send(b, 1, c, "anyone?", 7, 0), 7);
		struct pollfd p = { .fd = c, .events = POLLIN };
		assert_int_equal(b_poll(b, 1, &p, 1, 5000), 1);
		assert_int_equal(p.revents, POLLERR);
		if (round == 0)
			assert_errno(b_recv(b, 1, c, buf, sizeof(buf), 0), ECONNREFUSED);
		else if (round == 1)
			assert_errno(b_send(b, 1, c, "again", 5, 0), ECONNREFUSED);
		else
			assert_int_equal(b_getint(b, 1, c, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
		/* told once */
		assert_int_equal(b_getint(b, 1, c, SOL_SOCKET, SO_ERROR), 0);
		assert_errno(b_recv(b, 1, c, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	}
	b_close(b, 1, c);
}

/* A program that connects to its own address: the stack loops the packets
 * inside itself (ip_output.c) instead of sending a SYN no one answers. */
struct pump { const struct be *b; int side, fd; size_t n; };
static void *pump_out(void *arg)
{
	struct pump *p = arg;
	static uint8_t chunk[65536];
	for (size_t off = 0; off < p->n;) {
		size_t k = p->n - off < sizeof(chunk) ? p->n - off : sizeof(chunk);
		pat_fill(chunk, off, k);
		ssize_t r = b_send(p->b, p->side, p->fd, chunk, k, 0);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	b_shutdown(p->b, p->side, p->fd, SHUT_WR);
	return NULL;
}

static void sc_self(const struct be *b)
{
	uint16_t port;
	int l = listener(b, &port);
	int c = b_socket(b, 0, SOCK_STREAM);
	assert_int_equal(b_connect(b, 0, c, b->ip[0], port), 0);
	int a = b_accept(b, 0, l, 0);
	assert_true(a >= 0);
	uint16_t lp, pp;
	assert_int_equal(b_getname(b, 0, c, false, &lp), 0);
	assert_int_equal(b_getname(b, 0, a, true, &pp), 0);
	assert_int_equal(lp, pp);
	const size_t n = 3 * MiB + 777;
	pthread_t th;
	struct pump w = { b, 0, c, n };
	pthread_create(&th, NULL, pump_out, &w);
	static uint8_t buf[100000];
	size_t got = 0;
	long bad = -1;
	for (;;) {
		ssize_t r = b_recv(b, 0, a, buf, sizeof(buf), 0);
		if (r < 0)
			fail_msg("%s: recv after %zu bytes: %s", b->name, got, strerror(errno));
		if (r == 0)
			break;
		if (bad < 0 && (bad = pat_check(buf, got, (size_t)r)) >= 0)
			bad += (long)got;
		got += (size_t)r;
	}
	pthread_join(th, NULL);
	assert_int_equal(bad, -1);
	assert_int_equal(got, n);
	assert_int_equal(b_send(b, 0, a, "back", 4, 0), 4);
	char rb[8];
	assert_int_equal(b_recv(b, 0, c, rb, 4, MSG_WAITALL), 4);
	assert_memory_equal(rb, "back", 4);
	/* a datagram to ourselves */
	int u = b_socket(b, 0, SOCK_DGRAM), v = b_socket(b, 0, SOCK_DGRAM);
	assert_int_equal(b_bind(b, 0, u, b->ip[0], 0), 0);
	assert_int_equal(b_getname(b, 0, u, false, &port), 0);
	assert_int_equal(b_connect(b, 0, v, b->ip[0], port), 0);
	assert_int_equal(b_send(b, 0, v, "self-datagram", 13, 0), 13);
	struct pollfd p = { .fd = u, .events = POLLIN };
	assert_int_equal(b_poll(b, 0, &p, 1, 2000), 1);
	assert_int_equal(b_recv(b, 0, u, rb, 8, 0), 8);
	assert_memory_equal(rb, "self-dat", 8);
	b_close(b, 0, u);
	b_close(b, 0, v);
	b_close(b, 0, c);
	b_close(b, 0, a);
	b_close(b, 0, l);
	if (b->cx[0]) { /* the stack's own counters say it looped them */
		char *out = NULL;
		size_t ol = 0;
		FILE *f = open_memstream(&out, &ol);
		zc_sockctx_dump(b->cx[0], f);
		fclose(f);
		assert_non_null(strstr(out, "ip_loop "));
		assert_null(strstr(out, "arp_unresolved"));
		free(out);
	}
}

/* --- dual-stack: AF_INET6 sockets serving IPv4 peers ------------------------ */

static int x_socket6(const struct be *b, int side, int type)
{
	return b->cx[side] ? zc_socket(b->cx[side], AF_INET6, type, 0) : socket(AF_INET6, type, 0);
}
static struct sockaddr_in6 sin6_of(uint32_t ip, uint16_t port, bool mapped)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	if (mapped) {
		a.sin6_addr.s6_addr[10] = a.sin6_addr.s6_addr[11] = 0xff;
		uint32_t n = htonl(ip);
		memcpy(&a.sin6_addr.s6_addr[12], &n, 4);
	}
	return a;
}
static int x_bind6(const struct be *b, int side, int fd, const struct sockaddr_in6 *a)
{
	return b->cx[side] ? zc_bind(b->cx[side], fd, (const struct sockaddr *)a, sizeof(*a))
			   : bind(fd, (const struct sockaddr *)a, sizeof(*a));
}
static int x_connect6(const struct be *b, int side, int fd, const struct sockaddr_in6 *a)
{
	return b->cx[side] ? zc_connect(b->cx[side], fd, (const struct sockaddr *)a, sizeof(*a))
			   : connect(fd, (const struct sockaddr *)a, sizeof(*a));
}
/* getsockname / getpeername / accept's name of a v6 socket: AF_INET6,
 * ::ffff:ip (or :: for ip 0) and port */
static void expect_name6(const struct sockaddr_in6 *a, socklen_t l, uint32_t ip, uint16_t port)
{
	assert_int_equal(l, sizeof(struct sockaddr_in6));
	assert_int_equal(a->sin6_family, AF_INET6);
	struct sockaddr_in6 want = sin6_of(ip, port, ip != 0);
	assert_memory_equal(&a->sin6_addr, &want.sin6_addr, 16);
	if (port)
		assert_int_equal(ntohs(a->sin6_port), port);
}
static void x_name6(const struct be *b, int side, int fd, bool peer, uint32_t ip, uint16_t *port)
{
	struct sockaddr_in6 a;
	socklen_t l = sizeof(a);
	int r = b->cx[side] ? (peer ? zc_getpeername : zc_getsockname)(b->cx[side], fd, (struct sockaddr *)&a, &l)
			    : (peer ? getpeername : getsockname)(fd, (struct sockaddr *)&a, &l);
	assert_int_equal(r, 0);
	expect_name6(&a, l, ip, port ? *port : 0);
	if (port)
		*port = ntohs(a.sin6_port);
}

static void sc_dual(const struct be *b)
{
	FILE *f = fopen("/proc/sys/net/ipv6/bindv6only", "r");
	int v6only_default = 0;
	if (f) {
		assert_int_equal(fscanf(f, "%d", &v6only_default), 1);
		fclose(f);
	}
	/* a TCP listener on [::] takes an IPv4 client */
	int l = x_socket6(b, 0, SOCK_STREAM);
	assert_true(l >= 0);
	assert_int_equal(b_getint(b, 0, l, SOL_SOCKET, SO_DOMAIN), AF_INET6);
	assert_int_equal(b_getint(b, 0, l, IPPROTO_IPV6, IPV6_V6ONLY), v6only_default);
	assert_int_equal(b_setint(b, 0, l, IPPROTO_IPV6, IPV6_V6ONLY, 0), 0);
	struct sockaddr_in6 any = sin6_of(0, 0, false);
	assert_int_equal(x_bind6(b, 0, l, &any), 0);
	assert_errno(b_setint(b, 0, l, IPPROTO_IPV6, IPV6_V6ONLY, 1), EINVAL); /* bound: too late */
	assert_int_equal(b_getint(b, 0, l, IPPROTO_IPV6, IPV6_V6ONLY), 0);
	uint16_t port = 0;
	x_name6(b, 0, l, false, 0, &port);
	assert_int_equal(b_listen(b, 0, l), 0);
	int c = b_socket(b, 1, SOCK_STREAM);
	assert_int_equal(b_connect(b, 1, c, b->ip[0], port), 0);
	struct sockaddr_in6 pa;
	socklen_t pl = sizeof(pa);
	int a = b->cx[0] ? zc_accept4(b->cx[0], l, (struct sockaddr *)&pa, &pl, 0)
			 : accept4(l, (struct sockaddr *)&pa, &pl, 0);
	assert_true(a >= 0);
	uint16_t cport;
	assert_int_equal(b_getname(b, 1, c, false, &cport), 0);
	expect_name6(&pa, pl, b->ip[1], cport);
	x_name6(b, 0, a, true, b->ip[1], &cport);
	uint16_t lport = port;
	x_name6(b, 0, a, false, b->ip[0], &lport);
	assert_int_equal(b_getint(b, 0, a, SOL_SOCKET, SO_DOMAIN), AF_INET6);
	assert_int_equal(b_send(b, 1, c, "over v6", 7, 0), 7);
	char buf[32];
	assert_int_equal(b_recv(b, 0, a, buf, 7, MSG_WAITALL), 7);
	assert_memory_equal(buf, "over v6", 7);
	assert_int_equal(b_send(b, 0, a, "back", 4, 0), 4);
	assert_int_equal(b_recv(b, 1, c, buf, 4, MSG_WAITALL), 4);
	assert_memory_equal(buf, "back", 4);
	b_close(b, 1, c);
	b_close(b, 0, a);

	/* a v6 client reaches the listener by the v4-mapped address */
	int c6 = x_socket6(b, 1, SOCK_STREAM);
	struct sockaddr_in6 to = sin6_of(b->ip[0], port, true);
	assert_int_equal(x_connect6(b, 1, c6, &to), 0);
	x_name6(b, 1, c6, true, b->ip[0], &port);
	a = b_accept(b, 0, l, 0);
	assert_true(a >= 0);
	assert_int_equal(b_send(b, 1, c6, "mapped", 6, 0), 6);
	assert_int_equal(b_recv(b, 0, a, buf, 6, MSG_WAITALL), 6);
	assert_memory_equal(buf, "mapped", 6);
	b_close(b, 1, c6);
	b_close(b, 0, a);
	b_close(b, 0, l);

	/* IPV6_V6ONLY: no v4-mapped address, bound or reached */
	int o = x_socket6(b, 0, SOCK_STREAM);
	assert_int_equal(b_setint(b, 0, o, IPPROTO_IPV6, IPV6_V6ONLY, 1), 0);
	assert_int_equal(b_getint(b, 0, o, IPPROTO_IPV6, IPV6_V6ONLY), 1);
	struct sockaddr_in6 mine = sin6_of(b->ip[0], 0, true);
	assert_errno(x_bind6(b, 0, o, &mine), EINVAL);
	assert_errno(x_connect6(b, 0, o, &to), ENETUNREACH);
	b_close(b, 0, o);
	/* a TCP v6 socket takes no sockaddr_in */
	o = x_socket6(b, 0, SOCK_STREAM);
	struct sockaddr_in v4 = sin_of(b->ip[0], port);
	assert_errno(b->cx[0] ? zc_connect(b->cx[0], o, (struct sockaddr *)&v4, sizeof(v4))
			      : connect(o, (struct sockaddr *)&v4, sizeof(v4)), EINVAL);
	b_close(b, 0, o);

	/* UDP on [::]: recvfrom names the v4 sender v4-mapped, sendto answers it */
	int u = x_socket6(b, 0, SOCK_DGRAM), v = b_socket(b, 1, SOCK_DGRAM);
	assert_int_equal(b_setint(b, 0, u, IPPROTO_IPV6, IPV6_V6ONLY, 0), 0);
	assert_int_equal(x_bind6(b, 0, u, &any), 0);
	uint16_t uport = 0;
	x_name6(b, 0, u, false, 0, &uport);
	assert_int_equal(b_connect(b, 1, v, b->ip[0], uport), 0);
	assert_int_equal(b_send(b, 1, v, "dgram6", 6, 0), 6);
	struct sockaddr_in6 from;
	socklen_t fl = sizeof(from);
	struct pollfd p = { .fd = u, .events = POLLIN };
	assert_int_equal(b_poll(b, 0, &p, 1, 2000), 1);
	ssize_t r = b->cx[0] ? zc_recvfrom(b->cx[0], u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)
			     : recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	assert_int_equal(r, 6);
	uint16_t vport;
	assert_int_equal(b_getname(b, 1, v, false, &vport), 0);
	expect_name6(&from, fl, b->ip[1], vport);
	r = b->cx[0] ? zc_sendto(b->cx[0], u, "reply6", 6, 0, (struct sockaddr *)&from, fl)
		     : sendto(u, "reply6", 6, 0, (struct sockaddr *)&from, fl);
	assert_int_equal(r, 6);
	assert_int_equal(b_recv(b, 1, v, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "reply6", 6);
	b_close(b, 0, u);
	b_close(b, 1, v);

	if (b->cx[0]) { /* native IPv6 is not the stack's: the kernel's errors for it */
		o = x_socket6(b, 0, SOCK_STREAM);
		struct sockaddr_in6 lo = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		assert_errno(x_bind6(b, 0, o, &lo), EADDRNOTAVAIL);
		lo.sin6_port = htons(9);
		assert_errno(x_connect6(b, 0, o, &lo), ENETUNREACH);
		b_close(b, 0, o);
	}
}

/* A wildcard listener is reached through the kernel's loopback too: a
 * local tool connecting to 127.0.0.1 lands in the same accept queue and
 * readiness (poll, epoll, blocking accept) as the stack's peers, as a
 * kernel socket (addr.c, klisten). On the kernel: what it does anyway. */
struct late { uint16_t port; int fd; };
static void *late_connect(void *arg)
{
	struct late *t = arg;
	nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	t->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in lo = sin_of(0x7f000001u, t->port);
	if (connect(t->fd, (struct sockaddr *)&lo, sizeof(lo)) != 0)
		t->fd = -1;
	return NULL;
}

static void echo_check(int kfd, const struct be *b, int side, int a, bool stack, const char *msg)
{
	size_t n = strlen(msg);
	char buf[64];
	assert_int_equal(write(kfd, msg, n), (ssize_t)n);
	ssize_t r = stack ? b_recv(b, side, a, buf, n, MSG_WAITALL) : recv(a, buf, n, MSG_WAITALL);
	assert_int_equal(r, (ssize_t)n);
	assert_memory_equal(buf, msg, n);
	r = stack ? b_send(b, side, a, "ok", 2, 0) : send(a, "ok", 2, 0);
	assert_int_equal(r, 2);
	assert_int_equal(recv(kfd, buf, 2, MSG_WAITALL), 2);
	assert_memory_equal(buf, "ok", 2);
}

static void sc_wild(const struct be *b)
{
	struct zc_sockctx *cx = b->cx[0];
	int l = b_socket(b, 0, SOCK_STREAM);
	assert_int_equal(b_setint(b, 0, l, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(b_bind(b, 0, l, 0, 0), 0);
	assert_int_equal(b_listen(b, 0, l), 0);
	uint16_t port;
	assert_int_equal(b_getname(b, 0, l, false, &port), 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev[8];
	assert_int_equal(b_epctl(b, 0, ep, EPOLL_CTL_ADD, l, EPOLLIN, 5), 0);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0);
	/* a kernel client over loopback: epoll (with no kernel fd of its own
	 * in the set) and poll see it, accept gives a kernel socket */
	int k = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in lo = sin_of(0x7f000001u, port);
	assert_int_equal(connect(k, (struct sockaddr *)&lo, sizeof(lo)), 0);
	int n = cx ? zc_epoll_wait(cx, ep, ev, 8, 2000, false) : epoll_wait(ep, ev, 8, 2000);
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].data.u64, 5);
	assert_int_equal(ev[0].events, EPOLLIN);
	struct pollfd p = { .fd = l, .events = POLLIN | POLLOUT };
	assert_int_equal(b_poll(b, 0, &p, 1, 2000), 1);
	assert_int_equal(p.revents, POLLIN);
	int a = b_accept(b, 0, l, 0);
	assert_true(a >= 0);
	if (cx)
		assert_false(zc_is_socket(cx, a));
	assert_int_equal(fcntl(a, F_GETFD) & FD_CLOEXEC, 0); /* only when asked */
	assert_int_equal(fcntl(a, F_GETFL) & O_NONBLOCK, 0);
	echo_check(k, b, 0, a, false, "through the kernel's loopback");
	assert_int_equal(b_nonblock(b, 0, l), 0);
	assert_errno(b_accept(b, 0, l, 0), EAGAIN);
	assert_int_equal(b_epwait(b, 0, ep, ev, 8, 0), 0);
	/* the stack's peer reaches the same listener */
	int c = b_socket(b, 1, SOCK_STREAM);
	assert_int_equal(b_connect(b, 1, c, b->ip[0], port), 0);
	p.revents = 0;
	assert_int_equal(b_poll(b, 0, &p, 1, 2000), 1);
	int a2 = b_accept(b, 0, l, SOCK_CLOEXEC);
	assert_true(a2 >= 0);
	assert_int_equal(b_send(b, 1, c, "peer", 4, 0), 4);
	char buf[8];
	assert_int_equal(b_recv(b, 0, a2, buf, 4, MSG_WAITALL), 4);
	assert_memory_equal(buf, "peer", 4);
	/* a blocking accept wakes for a kernel connection */
	assert_int_equal(cx ? zc_fcntl(cx, l, F_SETFL, 0) : fcntl(l, F_SETFL, 0), 0);
	struct late t = { port, -1 };
	pthread_t th;
	pthread_create(&th, NULL, late_connect, &t);
	int a3 = b_accept(b, 0, l, SOCK_NONBLOCK);
	pthread_join(th, NULL);
	assert_true(a3 >= 0);
	assert_true(t.fd >= 0);
	assert_true(fcntl(a3, F_GETFL) & O_NONBLOCK);
	int fl = fcntl(a3, F_GETFL);
	fcntl(a3, F_SETFL, fl & ~O_NONBLOCK);
	echo_check(t.fd, b, 0, a3, false, "a late one");
	if (cx) { /* counted: the listener's kernel side, the pass-by */
		char *out = NULL, want[80];
		size_t ol = 0;
		FILE *f = open_memstream(&out, &ol);
		zc_sockctx_dump(cx, f);
		fclose(f);
		snprintf(want, sizeof(want), "fd %d tcp LISTEN kernel-side 0.0.0.0:%u accepted 2\n", l, port);
		assert_non_null(strstr(out, want));
		assert_non_null(strstr(out, "bypass_loopback_accept 2\n"));
		assert_non_null(strstr(out, "bypass_loopback_listen 0\n"));
		free(out);
	}
	close(t.fd);
	close(a3);
	close(k);
	close(a);
	close(ep);
	b_close(b, 1, c);
	b_close(b, 0, a2);
	b_close(b, 0, l);
}

/* SO_REUSEADDR and SO_REUSEPORT as Linux's bind conflicts have them: a
 * server's old connection in TIME_WAIT keeps its port from a plain bind,
 * and from one with SO_REUSEADDR unless the old listener had it too (its
 * connections inherit it); two listeners share a port only both with
 * SO_REUSEPORT, and then share its connections. */
static int tw_port(const struct be *b, bool reuse, uint16_t *port)
{
	int c, a, l = b_socket(b, 0, SOCK_STREAM);
	if (reuse)
		assert_int_equal(b_setint(b, 0, l, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(b_bind(b, 0, l, b->ip[0], 0), 0);
	assert_int_equal(b_listen(b, 0, l), 0);
	assert_int_equal(b_getname(b, 0, l, false, port), 0);
	c = b_socket(b, 1, SOCK_STREAM);
	assert_int_equal(b_connect(b, 1, c, b->ip[0], *port), 0);
	a = b_accept(b, 0, l, 0);
	assert_true(a >= 0);
	b_close(b, 0, l);
	b_close(b, 0, a); /* the server closes first: its end goes to TIME_WAIT */
	char ch;
	assert_int_equal(b_recv(b, 1, c, &ch, 1, 0), 0);
	b_close(b, 1, c);
	int n = b_socket(b, 0, SOCK_STREAM);
	assert_errno(b_bind(b, 0, n, b->ip[0], *port), EADDRINUSE);
	b_close(b, 0, n);
	n = b_socket(b, 0, SOCK_STREAM);
	assert_int_equal(b_setint(b, 0, n, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(b_getint(b, 0, n, SOL_SOCKET, SO_REUSEADDR), 1);
	return n;
}

static void sc_reuse(const struct be *b)
{
	int c, a;
	uint16_t port;
	int n = tw_port(b, false, &port);
	assert_errno(b_bind(b, 0, n, b->ip[0], port), EADDRINUSE);
	b_close(b, 0, n);
	n = tw_port(b, true, &port);
	assert_int_equal(b_bind(b, 0, n, b->ip[0], port), 0);
	assert_int_equal(b_listen(b, 0, n), 0);
	/* SO_REUSEADDR does not share a listening port */
	int m = b_socket(b, 0, SOCK_STREAM);
	assert_int_equal(b_setint(b, 0, m, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_errno(b_bind(b, 0, m, b->ip[0], port), EADDRINUSE);
	b_close(b, 0, m);
	c = b_socket(b, 1, SOCK_STREAM);
	assert_int_equal(b_connect(b, 1, c, b->ip[0], port), 0);
	a = b_accept(b, 0, n, 0);
	assert_true(a >= 0);
	b_close(b, 0, a);
	b_close(b, 1, c);
	b_close(b, 0, n);

	/* two listeners with SO_REUSEPORT share the port and its connections */
	int ls[2];
	uint16_t rp = 0;
	for (int i = 0; i < 2; i++) {
		ls[i] = b_socket(b, 0, SOCK_STREAM);
		assert_int_equal(b_setint(b, 0, ls[i], SOL_SOCKET, SO_REUSEPORT, 1), 0);
		assert_int_equal(b_bind(b, 0, ls[i], b->ip[0], rp), 0);
		assert_int_equal(b_getname(b, 0, ls[i], false, &rp), 0);
		assert_int_equal(b_listen(b, 0, ls[i]), 0);
		assert_int_equal(b_nonblock(b, 0, ls[i]), 0);
	}
	m = b_socket(b, 0, SOCK_STREAM); /* a third without the option may not */
	assert_errno(b_bind(b, 0, m, b->ip[0], rp), EADDRINUSE);
	b_close(b, 0, m);
	enum { N = 16 };
	int cs[N], got[2] = { 0, 0 }, total = 0;
	for (int i = 0; i < N; i++) {
		cs[i] = b_socket(b, 1, SOCK_STREAM);
		assert_int_equal(b_connect(b, 1, cs[i], b->ip[0], rp), 0);
	}
	for (int round = 0; round < 200 && total < N; round++) {
		struct pollfd p[2] = { { .fd = ls[0], .events = POLLIN }, { .fd = ls[1], .events = POLLIN } };
		b_poll(b, 0, p, 2, 20);
		for (int i = 0; i < 2; i++) {
			int x;
			while ((x = b_accept(b, 0, ls[i], 0)) >= 0) {
				got[i]++;
				total++;
				b_close(b, 0, x);
			}
			assert_int_equal(errno, EAGAIN);
		}
	}
	assert_int_equal(total, N);
	assert_true(got[0] > 0 && got[1] > 0); /* both had a share (each misses all: 2^-15) */
	for (int i = 0; i < N; i++)
		b_close(b, 1, cs[i]);
	b_close(b, 0, ls[0]);
	b_close(b, 0, ls[1]);
}

/* UDP's SO_REUSEADDR and SO_REUSEPORT as Linux's: a port is shared only
 * when both sockets have one of them; a datagram goes to exactly one
 * socket, one bound to the address before the wildcard, one connected to
 * the sender before both; in a SO_REUSEPORT group each source ip:port
 * keeps to one socket. Datagrams carry their client and number and a
 * checked pattern. */
enum { UR_CLI = 16, UR_MSG = 3, UR_LEN = 64 };

static void ur_fill(uint8_t *p, int c, int n)
{
	snprintf((char *)p, 24, "udp-reuse c=%02d n=%02d", c, n);
	pat_fill(p + 22, (uint64_t)(c * UR_MSG + n) * UR_LEN, UR_LEN - 22);
}

/* Each client sends UR_MSG datagrams; the nsrv sockets receive them
 * (polled, bounded): each exactly once, all of a client's at one socket,
 * at[c] its index. */
static void ur_exchange(const struct be *b, const int *srv, int nsrv, const int *cli, int ncli, int *at)
{
	int seen[UR_CLI][UR_MSG], total = 0;
	uint8_t buf[UR_LEN + 8], want[UR_LEN];
	memset(seen, 0, sizeof(seen));
	for (int c = 0; c < ncli; c++)
		at[c] = -1;
	for (int n = 0; n < UR_MSG; n++)
		for (int c = 0; c < ncli; c++) {
			ur_fill(want, c, n);
			assert_int_equal(b_send(b, 1, cli[c], want, UR_LEN, 0), UR_LEN);
		}
	for (int round = 0; round < 200 && total < ncli * UR_MSG; round++) {
		struct pollfd p[4];
		for (int i = 0; i < nsrv; i++)
			p[i] = (struct pollfd){ .fd = srv[i], .events = POLLIN };
		b_poll(b, 0, p, (nfds_t)nsrv, 20);
		for (int i = 0; i < nsrv; i++) {
			ssize_t r;
			while ((r = b_recv(b, 0, srv[i], buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
				int c = -1, n = -1;
				assert_int_equal(r, UR_LEN);
				assert_int_equal(sscanf((char *)buf, "udp-reuse c=%d n=%d", &c, &n), 2);
				assert_true(c >= 0 && c < ncli && n >= 0 && n < UR_MSG);
				ur_fill(want, c, n);
				assert_memory_equal(buf, want, UR_LEN);
				assert_int_equal(seen[c][n]++, 0);
				if (at[c] < 0)
					at[c] = i;
				assert_int_equal(at[c], i);
				total++;
			}
			assert_int_equal(errno, EAGAIN);
		}
	}
	assert_int_equal(total, ncli * UR_MSG);
	struct pollfd p[4]; /* and no copy anywhere else */
	for (int i = 0; i < nsrv; i++)
		p[i] = (struct pollfd){ .fd = srv[i], .events = POLLIN };
	assert_int_equal(b_poll(b, 0, p, (nfds_t)nsrv, 50), 0);
}

static void ur_clients(const struct be *b, int *cli, int ncli, uint16_t port)
{
	for (int c = 0; c < ncli; c++) {
		cli[c] = b_socket(b, 1, SOCK_DGRAM);
		assert_int_equal(b_connect(b, 1, cli[c], b->ip[0], port), 0);
	}
}

static void ur_close(const struct be *b, int side, int *fd, int n)
{
	for (int i = 0; i < n; i++)
		b_close(b, side, fd[i]);
}

/* n sockets on side 0, each with option opt set (and read back), bound to
 * the one port: the last to the wildcard, the others to the side's address */
static uint16_t ur_group(const struct be *b, int *fd, int n, int opt)
{
	uint16_t p = 0;
	for (int i = 0; i < n; i++) {
		fd[i] = b_socket(b, 0, SOCK_DGRAM);
		assert_int_equal(b_setint(b, 0, fd[i], SOL_SOCKET, opt, 1), 0);
		assert_int_equal(b_getint(b, 0, fd[i], SOL_SOCKET, opt), 1);
		assert_int_equal(b_bind(b, 0, fd[i], i == n - 1 ? 0 : b->ip[0], p), 0);
		assert_int_equal(b_getname(b, 0, fd[i], false, &p), 0);
	}
	return p;
}

static void sc_udp_reuse(const struct be *b)
{
	int s[4], cli[UR_CLI], at[UR_CLI];
	uint16_t p = 0;
	/* without the option the port is taken, on the address and the
	 * wildcard, and when only the newcomer has it */
	s[0] = b_socket(b, 0, SOCK_DGRAM);
	s[1] = b_socket(b, 0, SOCK_DGRAM);
	assert_int_equal(b_bind(b, 0, s[0], b->ip[0], 0), 0);
	assert_int_equal(b_getname(b, 0, s[0], false, &p), 0);
	assert_int_equal(b_getint(b, 0, s[1], SOL_SOCKET, SO_REUSEADDR), 0);
	assert_int_equal(b_getint(b, 0, s[1], SOL_SOCKET, SO_REUSEPORT), 0);
	assert_errno(b_bind(b, 0, s[1], b->ip[0], p), EADDRINUSE);
	assert_errno(b_bind(b, 0, s[1], 0, p), EADDRINUSE);
	assert_int_equal(b_setint(b, 0, s[1], SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(b_setint(b, 0, s[1], SOL_SOCKET, SO_REUSEPORT, 1), 0);
	assert_errno(b_bind(b, 0, s[1], b->ip[0], p), EADDRINUSE);
	ur_close(b, 0, s, 2);

	/* SO_REUSEADDR on both: shared, the wildcard too; not with a third
	 * without it. Which of the two on the address gets the datagrams is
	 * the last bound on zcstack (as Linux's chain order gives it, but not
	 * asserted of the kernel); never the wildcard one */
	p = ur_group(b, s, 3, SO_REUSEADDR);
	s[3] = b_socket(b, 0, SOCK_DGRAM);
	assert_errno(b_bind(b, 0, s[3], b->ip[0], p), EADDRINUSE);
	b_close(b, 0, s[3]);
	ur_clients(b, cli, 4, p);
	ur_exchange(b, s, 3, cli, 4, at);
	for (int c = 0; c < 4; c++) {
		assert_true(at[c] == 0 || at[c] == 1);
		if (b->cx[0])
			assert_int_equal(at[c], 1);
	}
	ur_close(b, 1, cli, 4);
	ur_close(b, 0, s, 3);

	/* SO_REUSEPORT on both: shared, not with one without it or with
	 * SO_REUSEADDR only; a wildcard member of its own never gets any */
	p = ur_group(b, s, 3, SO_REUSEPORT);
	s[3] = b_socket(b, 0, SOCK_DGRAM);
	assert_errno(b_bind(b, 0, s[3], b->ip[0], p), EADDRINUSE);
	assert_int_equal(b_setint(b, 0, s[3], SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_errno(b_bind(b, 0, s[3], b->ip[0], p), EADDRINUSE);
	b_close(b, 0, s[3]);
	ur_clients(b, cli, UR_CLI, p);
	ur_exchange(b, s, 3, cli, UR_CLI, at);
	int got[3] = { 0, 0, 0 };
	for (int c = 0; c < UR_CLI; c++)
		got[at[c]]++;
	assert_int_equal(got[2], 0);
	assert_true(got[0] > 0 && got[1] > 0); /* both had a share (each misses all: 2^-15) */

	/* one of the group connected to client 0 takes its datagrams alone */
	uint16_t cp;
	assert_int_equal(b_getname(b, 1, cli[0], false, &cp), 0);
	s[3] = b_socket(b, 0, SOCK_DGRAM);
	assert_int_equal(b_setint(b, 0, s[3], SOL_SOCKET, SO_REUSEPORT, 1), 0);
	assert_int_equal(b_bind(b, 0, s[3], b->ip[0], p), 0);
	assert_int_equal(b_connect(b, 0, s[3], b->ip[1], cp), 0);
	ur_exchange(b, s, 4, cli, UR_CLI, at);
	assert_int_equal(at[0], 3);
	for (int c = 1; c < UR_CLI; c++)
		assert_true(at[c] == 0 || at[c] == 1);
	ur_close(b, 1, cli, UR_CLI);
	ur_close(b, 0, s, 4);
}

static void test_unconnected(void **st) { (void)st; run_both(sc_unconnected, "unconnected"); }
static void test_bind(void **st) { (void)st; run_both(sc_bind, "bind"); }
static void test_refused(void **st) { (void)st; run_both(sc_refused, "refused"); }
static void test_nonblock_connect(void **st) { (void)st; run_both(sc_nonblock_connect, "nonblock"); }
static void test_data(void **st) { (void)st; run_both(sc_data, "data"); }
static void test_peer_closed(void **st) { (void)st; run_both(sc_peer_closed, "peer closed"); }
/* A blocking writev of more than the send buffer holds returns all of it
 * (Linux's sendmsg waits for room for every iovec), byte-exact. */
static void sc_writev(const struct be *b)
{
	int c, a, l;
	pair(b, &c, &a, &l);
	size_t n = 12 * MiB;
	uint8_t *p = abuf(n);
	pat_fill(p, 0, n);
	struct iovec v[3] = { { p, 1 }, { p + 1, 5 * MiB }, { p + 1 + 5 * MiB, n - 1 - 5 * MiB } };
	struct drain d = { b, 0, a, n, 0 };
	pthread_t th;
	pthread_create(&th, NULL, drain_pat, &d);
	assert_int_equal(b_writev(b, 1, c, v, 3), (ssize_t)n);
	pthread_join(th, NULL);
	assert_int_equal(d.ok, (long)n);
	b_close(b, 1, c);
	b_close(b, 0, a);
	b_close(b, 0, l);
	if (b->cx[1]) /* a send by reference may still hold its pages */
		zc_release_range(b->cx[1], p, n);
	munmap(p, n);
}

/* A writev of small pieces on a TCP_NODELAY socket leaves as one segment,
 * as Linux's sendmsg copies every piece before it sends (nginx writes a
 * response's header and body so: two segments doubled the packets and
 * made the peer ACK every response at once). */
static void sc_writev_one_segment(const struct be *b)
{
	int c, a, l;
	pair(b, &c, &a, &l);
	assert_int_equal(b_setint(b, 1, c, IPPROTO_TCP, TCP_NODELAY, 1), 0);
	uint8_t p[600], q[600];
	pat_fill(p, 0, sizeof(p));
	struct iovec v[4] = { { p, 100 }, { p + 100, 0 }, { p + 100, 200 }, { p + 300, 300 } };
	struct zc_tcp_info t0, t1; /* Linux's layout */
	socklen_t tl = sizeof(t0);
	assert_int_equal(b_getsockopt(b, 1, c, IPPROTO_TCP, TCP_INFO, &t0, &tl), 0);
	assert_int_equal(b_writev(b, 1, c, v, 4), 600);
	size_t got = 0;
	while (got < sizeof(q)) {
		ssize_t r = b_recv(b, 0, a, q + got, sizeof(q) - got, 0);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_int_equal(pat_check(q, 0, sizeof(q)), -1);
	tl = sizeof(t1);
	assert_int_equal(b_getsockopt(b, 1, c, IPPROTO_TCP, TCP_INFO, &t1, &tl), 0);
	assert_int_equal(t1.tcpi_data_segs_out - t0.tcpi_data_segs_out, 1);
	b_close(b, 1, c);
	b_close(b, 0, a);
	b_close(b, 0, l);
}

static void test_writev_one_segment(void **st) { (void)st; run_both(sc_writev_one_segment, "writev one segment"); }
static void test_udp(void **st) { (void)st; run_both(sc_udp, "udp"); }
static void test_writev(void **st) { (void)st; run_both(sc_writev, "writev"); }
static void test_linger(void **st) { (void)st; run_both(sc_linger, "linger"); }
static void test_more(void **st) { (void)st; run_both(sc_more, "more"); }
static void test_oob(void **st) { (void)st; run_both(sc_oob, "oob"); }
static void test_udp_peek_peer(void **st) { (void)st; run_both(sc_udp_peek_peer, "udp peek peer"); }
static void test_udp_refused(void **st) { (void)st; run_both(sc_udp_refused, "udp refused"); }
static void test_epoll(void **st) { (void)st; run_both(sc_epoll, "epoll"); }
static void test_self(void **st) { (void)st; run_both(sc_self, "self"); }
static void test_dual(void **st) { (void)st; run_both(sc_dual, "dual-stack"); }
static void test_wild(void **st) { (void)st; run_both(sc_wild, "wildcard"); }
static void test_reuse(void **st) { (void)st; run_both(sc_reuse, "reuse"); }
static void test_udp_reuse(void **st) { (void)st; run_both(sc_udp_reuse, "udp reuse"); }

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* e.g. "test_data" */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unconnected),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_nonblock_connect),
		cmocka_unit_test(test_data),
		cmocka_unit_test(test_writev),
		cmocka_unit_test(test_writev_one_segment),
		cmocka_unit_test(test_peer_closed),
		cmocka_unit_test(test_linger),
		cmocka_unit_test(test_more),
		cmocka_unit_test(test_oob),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_udp_peek_peer),
		cmocka_unit_test(test_udp_refused),
		cmocka_unit_test(test_epoll),
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_dual),
		cmocka_unit_test(test_wild),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_udp_reuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

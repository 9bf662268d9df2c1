/*
 * addr.c - addresses and connections: bind (the stack's address or the
 * wildcard 0.0.0.0, nothing else: EADDRNOTAVAIL), listen, accept4,
 * connect (blocking, or EINPROGRESS then EALREADY/EISCONN as Linux),
 * shutdown, getsockname/getpeername, and the questions the shim asks
 * before it gives a socket to the stack (the stack's address, does it
 * reach a destination). IPv4 only, in an AF_INET socket or an AF_INET6 one
 * (v4-mapped addresses); sockaddrs in and out through zc__sin/zc__put_sin
 * (socket_priv.h).
 */
#include "sockapi/socket_priv.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int zc_bind(struct zc_sockctx *cx, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	uint32_t ip;
	uint16_t port;
	int r = zc__sin(s, addr, len, ZC__A_BIND, &ip, &port);
	if (r == 0 && ip != 0 && ip != zc_stack_ip(cx->st))
		r = -EADDRNOTAVAIL;
	if (r == 0 && s->tcp)
		r = zc_tcp_bind(s->tcp, ip, port);
	if (r == 0 && s->udp) {
		r = s->udp_bound ? -EINVAL : zc_udp_bind(s->udp, ip, port);
		s->udp_bound = r == 0;
	}
	return (int)zc__ret(cx, s, r);
}

/*
 * A listener on the wildcard (0.0.0.0, or [::] not v6-only) serves the
 * kernel's interfaces too, its loopback above all, so that local tools
 * reach a server started under zcrun: the socket's own kernel descriptor
 * (the number it reserves, socket.h) is bound to the same wildcard and port
 * and listens, non-blocking; accept takes from the stack's queue, then the
 * kernel's, and readiness (poll, epoll) is of both. A connection accepted
 * from the kernel's side is a kernel socket (counted: loopback_accept).
 * When the kernel's port is taken the stack serves the listener alone, and
 * says so once (loopback_listen). The calls are system calls, not the C
 * library's, which the shim would send back here.
 */
static void zc__klisten(struct zc_sockctx *cx, struct zc__sock *s, int backlog)
{
	uint32_t ip;
	uint16_t port;
	if (s->klisten) { /* listen() again: the new backlog for the kernel's side too */
		syscall(SYS_listen, s->fd, backlog);
		return;
	}
	zc_tcp_local(s->tcp, &ip, &port);
	if (ip != 0 || s->v6only)
		return;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int zero = 0, r = 0;
	if (s->family == AF_INET6)
		r = (int)syscall(SYS_setsockopt, s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (r == 0)
		r = s->family == AF_INET6 ? (int)syscall(SYS_bind, s->fd, &in6, sizeof(in6))
					  : (int)syscall(SYS_bind, s->fd, &in, sizeof(in));
	if (r == 0)
		r = (int)syscall(SYS_listen, s->fd, backlog);
	int fl = r == 0 ? (int)syscall(SYS_fcntl, s->fd, F_GETFL) : -1;
	if (fl >= 0)
		r = (int)syscall(SYS_fcntl, s->fd, F_SETFL, fl | O_NONBLOCK);
	if (r != 0 || fl < 0) {
		zc_bypass(cx->bypass, ZC_BYPASS_LOOPBACK_LISTEN, 0,
			  "listen(fd %d, %s:%u): the kernel's side of this wildcard listener failed (%s: "
			  "another program has the port?): the stack serves it on its NIC only, and local "
			  "tools (127.0.0.1) do not reach it", s->fd, s->family == AF_INET6 ? "[::]" : "0.0.0.0",
			  port, strerror(errno));
		return;
	}
	s->klisten = true;
	zc__ep_kernel_add(cx, s);
}

int zc_listen(struct zc_sockctx *cx, int fd, int backlog)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	backlog = backlog < 0 ? 128 : backlog > 4096 ? 4096 : backlog;
	int r = s->udp ? -EOPNOTSUPP : zc_tcp_listen(s->tcp, backlog);
	if (r == 0)
		zc__klisten(cx, s, backlog);
	return (int)zc__ret(cx, s, r);
}

/* The kernel's side of a klisten socket: a connection or -EAGAIN. */
static int zc__kaccept(struct zc_sockctx *cx, struct zc__sock *s, struct sockaddr *addr, socklen_t *alen, int flags)
{
	int k = (int)syscall(SYS_accept4, s->fd, addr, alen, flags);
	if (k < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	s->kaccepted++;
	zc_bypass(cx->bypass, ZC_BYPASS_LOOPBACK_ACCEPT, 0,
		  "accept(fd %d): a connection to this wildcard listener came through the kernel (a local "
		  "client, 127.0.0.1 or ::1): it is a kernel socket (fd %d), not the stack's", s->fd, k);
	return k;
}

int zc_accept4(struct zc_sockctx *cx, int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return zc__fail(EINVAL);
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	if (s->udp)
		return (int)zc__ret(cx, s, -EOPNOTSUPP);
	uint64_t spin = 0, deadline = zc__deadline(s->nonblock, s->rcvtimeo);
	struct zc_tcp_sock *c;
	int err;
	for (;;) {
		c = zc_tcp_accept(s->tcp, &err);
		if (c == NULL && err == -EAGAIN && s->klisten) {
			int k = zc__kaccept(cx, s, addr, alen, flags);
			if (k != -EAGAIN)
				return (int)zc__ret(cx, s, k);
		}
		if (c || err != -EAGAIN || s->nonblock || s->closed)
			break;
		int r = zc__block_fd(cx, &spin, deadline, s->klisten ? s->fd : -1);
		if (r < 0) {
			err = r;
			break;
		}
	}
	if (c == NULL)
		return (int)zc__ret(cx, s, s->closed ? -EBADF : err);
	struct zc__sock *n = zc_arena_zalloc(cx->arena, sizeof(*n));
	int r = n ? 0 : -ENOMEM;
	if (n) {
		n->family = s->family;
		n->type = SOCK_STREAM;
		n->tcp = c;
		n->nonblock = (flags & SOCK_NONBLOCK) != 0;
		n->sndbuf = s->sndbuf;
		n->rcvbuf = s->rcvbuf;
		r = zc__install(cx, n, flags);
	}
	if (r < 0) {
		zc_tcp_close(c);
		zc_arena_free(cx->arena, n);
		return (int)zc__ret(cx, s, r);
	}
	uint32_t ip;
	uint16_t port;
	zc_tcp_remote(c, &ip, &port);
	zc__put_sin(s, addr, alen, ip, port);
	return (int)zc__ret(cx, s, r);
}

int zc_connect(struct zc_sockctx *cx, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	uint32_t ip;
	uint16_t port;
	int r = zc__sin(s, addr, len, ZC__A_CONNECT, &ip, &port);
	if (r)
		return (int)zc__ret(cx, s, r);
	if (s->udp) {
		if (!s->udp_bound) {
			r = zc_udp_bind(s->udp, 0, 0);
			s->udp_bound = r == 0;
		}
		s->peer_ip = ip;
		s->peer_port = port;
		if (r == 0)
			zc_udp_connect(s->udp, ip, port); /* datagrams from the peer only */
		return (int)zc__ret(cx, s, r);
	}
	if (s->connecting) {
		enum zc_tcp_state st = zc_tcp_get_state(s->tcp);
		if (st == ZC_TCP_SYN_SENT)
			return (int)zc__ret(cx, s, -EALREADY);
		s->connecting = false;
		int e = zc_tcp_error(s->tcp);
		if (e)
			return (int)zc__ret(cx, s, -e);
		return (int)zc__ret(cx, s, st == ZC_TCP_CLOSED ? -ECONNREFUSED : -EISCONN);
	}
	r = zc_tcp_connect(s->tcp, ip, port);
	if (r != -EINPROGRESS)
		return (int)zc__ret(cx, s, r == -EINVAL ? -EISCONN : r);
	if (s->nonblock) {
		s->connecting = true;
		return (int)zc__ret(cx, s, -EINPROGRESS);
	}
	uint64_t spin = 0, deadline = zc__deadline(false, s->sndtimeo);
	for (;;) {
		enum zc_tcp_state st = zc_tcp_get_state(s->tcp);
		if (st != ZC_TCP_SYN_SENT)
			break;
		r = zc__block(cx, &spin, deadline);
		if (r < 0) {
			/* interrupted: the handshake goes on, as the kernel's does */
			s->connecting = true;
			return (int)zc__ret(cx, s, r == -EAGAIN ? -EINPROGRESS : r);
		}
	}
	int e = zc_tcp_error(s->tcp);
	if (e == 0 && zc_tcp_get_state(s->tcp) == ZC_TCP_CLOSED)
		e = ECONNREFUSED;
	return (int)zc__ret(cx, s, -e);
}

int zc_shutdown(struct zc_sockctx *cx, int fd, int how)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int r;
	if (how < SHUT_RD || how > SHUT_RDWR)
		r = -EINVAL;
	else if (s->udp)
		r = s->peer_port ? 0 : -ENOTCONN;
	else
		r = zc_tcp_shutdown(s->tcp, how);
	zc__notify(cx);
	return (int)zc__ret(cx, s, r);
}

int zc_getsockname(struct zc_sockctx *cx, int fd, struct sockaddr *addr, socklen_t *len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	uint32_t ip = 0;
	uint16_t port = 0;
	if (s->tcp)
		zc_tcp_local(s->tcp, &ip, &port);
	else if (s->udp_bound)
		port = zc_udp_local_port(s->udp);
	if (len == NULL || addr == NULL)
		return (int)zc__ret(cx, s, -EFAULT);
	zc__put_sin(s, addr, len, ip, port);
	return (int)zc__ret(cx, s, 0);
}

int zc_getpeername(struct zc_sockctx *cx, int fd, struct sockaddr *addr, socklen_t *len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	uint32_t ip = 0;
	uint16_t port = 0;
	int r = 0;
	if (s->tcp) {
		enum zc_tcp_state st = zc_tcp_get_state(s->tcp);
		r = st == ZC_TCP_CLOSED || st == ZC_TCP_LISTEN || st == ZC_TCP_SYN_SENT ||
				    zc_tcp_remote(s->tcp, &ip, &port) != 0
			    ? -ENOTCONN
			    : 0;
	} else {
		ip = s->peer_ip;
		port = s->peer_port;
		r = port ? 0 : -ENOTCONN;
	}
	if (r == 0 && (addr == NULL || len == NULL))
		r = -EFAULT;
	if (r == 0)
		zc__put_sin(s, addr, len, ip, port);
	return (int)zc__ret(cx, s, r);
}

uint32_t zc_sockctx_ip(const struct zc_sockctx *cx) { return zc_stack_ip(cx->st); }

bool zc_reaches(struct zc_sockctx *cx, uint32_t ip)
{
	return zc_stack_reaches(cx->st, ip);
}

/*
 * preload_calls.c - the shim's socket, data and descriptor calls: socket,
 * bind, listen, accept, accept4, connect, close, shutdown, setsockopt,
 * getsockopt, getsockname, getpeername, read, write, readv, writev, recv,
 * send, recvfrom, sendto, recvmsg, sendmsg, fcntl, ioctl, dup, dup2, dup3
 * (the other ways to read and write, sendfile among them: preload_io.c).
 *
 * Each sends a stack descriptor (zc__mine) to its socket-layer namesake and
 * anything else to the C library. The exceptions are the places where the
 * kernel and the stack meet: a socket bound or connected to where the stack
 * does not go is given back to the kernel first (zc__to_kernel); options
 * set on a stack socket are set on its kernel descriptor too; close of an
 * epoll fd forgets the stack sockets it held; F_DUPFD and dup2/dup3 over a stack descriptor
 * keep the marks (preload.c) right. Every place a socket or a call passes
 * the stack by counts it (zc__bypass, bypass.h) and tells it once.
 */
#include "sockapi/preload_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* --- sockets ------------------------------------------------------------------ */

/* A socket the stack does not take: counted and told (bypass.h), unless
 * the socket layer itself asks for it. */
static int zc__kernel_socket(int domain, int type, int protocol)
{
	if (!zc__inside)
		zc_bypass_socket(zc__bypass, domain, type, protocol);
	return zc__real.socket(domain, type, protocol);
}

EXPORT int socket(int domain, int type, int protocol)
{
	zc__load();
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (zc__inside || (domain != AF_INET && domain != AF_INET6) || (base != SOCK_STREAM && base != SOCK_DGRAM))
		return zc__kernel_socket(domain, type, protocol);
	struct zc_sockctx *cx = zc__ctx();
	if (cx == NULL) {
		if (atomic_load(&zc__state) == -2) { /* never the kernel behind the user's back */
			errno = ENETDOWN;
			return -1;
		}
		zc_bypass(zc__bypass, ZC_BYPASS_NOSTACK, 0, "socket(%s): no stack in this process: ZCS_NIC and ZCS_IP are not set (start programs with zcrun), or it has shut down at exit: the kernel's socket",
			  domain == AF_INET ? "AF_INET" : "AF_INET6");
		return zc__real.socket(domain, type, protocol);
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

/* What an address names, for deciding who carries the socket: an IPv4
 * address (AF_INET; in AF_INET6 a v4-mapped one, ::ffff:a.b.c.d, or the
 * any-address ::, both of which the stack serves), a native IPv6 one
 * (which it does not), or nothing to decide on (NULL, short, another
 * family: the socket layer gives the kernel's error). */
enum zc__dst_kind { ZC__DST_NONE, ZC__DST_V4, ZC__DST_ANY6, ZC__DST_V6 };

static enum zc__dst_kind zc__dst(int family, const struct sockaddr *a, socklen_t len, uint32_t *ip)
{
	*ip = 0;
	if (a == NULL || a->sa_family != family)
		return ZC__DST_NONE;
	if (family == AF_INET) {
		if (len < sizeof(struct sockaddr_in))
			return ZC__DST_NONE;
		*ip = ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr);
		return ZC__DST_V4;
	}
	if (len < sizeof(struct sockaddr_in6))
		return ZC__DST_NONE;
	const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
	if (IN6_IS_ADDR_UNSPECIFIED(x))
		return ZC__DST_ANY6;
	if (!IN6_IS_ADDR_V4MAPPED(x))
		return ZC__DST_V6;
	*ip = (uint32_t)x->s6_addr[12] << 24 | (uint32_t)x->s6_addr[13] << 16 | (uint32_t)x->s6_addr[14] << 8 |
	      x->s6_addr[15];
	return ZC__DST_V4;
}

static const char *zc__addr_str(const struct sockaddr *a, char *buf, size_t n)
{
	const void *ip = a->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
						  : (const void *)&((const struct sockaddr_in *)a)->sin_addr;
	uint16_t port = ntohs(a->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
						       : ((const struct sockaddr_in *)a)->sin_port);
	char s[INET6_ADDRSTRLEN] = "?";
	inet_ntop(a->sa_family, ip, s, sizeof(s));
	snprintf(buf, n, a->sa_family == AF_INET6 ? "[%s]:%u" : "%s:%u", s, port);
	return buf;
}

/* The socket talks to where the stack does not go: the kernel takes it,
 * and that is counted and told (why: ZC_BYPASS_BIND, _CONNECT, _IPV6 or
 * _V6ONLY; call: "bind" or "connect"). */
static int zc__to_kernel(int fd, enum zc_bypass_reason why, const char *call, const struct sockaddr *a)
{
	int nb = 0;
	if (ZC_CALL(zc_detach(zc__cx, fd, &nb)) != 0)
		return -1;
	zc__mark(fd, false);
	if (nb)
		zc__real.fcntl(fd, F_SETFL, zc__real.fcntl(fd, F_GETFL) | O_NONBLOCK);
	char to[INET6_ADDRSTRLEN + 16], me[INET_ADDRSTRLEN] = "?";
	uint32_t ip = htonl(zc_sockctx_ip(zc__cx));
	inet_ntop(AF_INET, &ip, me, sizeof(me));
	zc__addr_str(a, to, sizeof(to));
	if (why == ZC_BYPASS_BIND)
		zc_bypass(zc__bypass, why, 0, "bind(fd %d, %s): not the stack's address (%s) nor the "
			  "any-address: the socket is the kernel's from now on; bind to %s or 0.0.0.0 to be "
			  "on the stack", fd, to, me, me);
	else if (why == ZC_BYPASS_CONNECT)
		zc_bypass(zc__bypass, why, 0, "connect(fd %d, %s): the stack (%s) does not reach it "
			  "(loopback, or another subnet and no --gw): the socket is the kernel's from now on",
			  fd, to, me);
	else if (why == ZC_BYPASS_IPV6)
		zc_bypass(zc__bypass, why, 0, "%s(fd %d, %s): an IPv6 address, and the stack carries IPv4 "
			  "(in AF_INET6 sockets too, as ::ffff:%s): the socket is the kernel's from now on",
			  call, fd, to, me);
	else
		zc_bypass(zc__bypass, why, 0, "bind(fd %d, %s): an IPV6_V6ONLY socket serves IPv6 peers "
			  "only, and the stack carries IPv4: the socket is the kernel's from now on (IPV6_V6ONLY "
			  "0, the default of net.ipv6.bindv6only=0, puts it on the stack)", fd, to);
	return 0;
}

EXPORT int bind(int fd, const struct sockaddr *a, socklen_t len)
{
	zc__load();
	if (!zc__mine(fd))
		return zc__real.bind(fd, a, len);
	bool v6only = false;
	int fam = ZC_CALL(zc_sock_family(zc__cx, fd, &v6only));
	uint32_t ip;
	enum zc__dst_kind k = zc__dst(fam, a, len, &ip);
	enum zc_bypass_reason why = ZC_BYPASS__COUNT;
	if (k == ZC__DST_V6)
		why = ZC_BYPASS_IPV6;
	else if (k == ZC__DST_ANY6 && v6only)
		why = ZC_BYPASS_V6ONLY;
	else if (k == ZC__DST_V4 && ip != 0 && ip != zc_sockctx_ip(zc__cx) && !(fam == AF_INET6 && v6only))
		why = ZC_BYPASS_BIND;
	if (why != ZC_BYPASS__COUNT && zc__to_kernel(fd, why, "bind", a) == 0)
		return zc__real.bind(fd, a, len);
	return ZC_CALL(zc_bind(zc__cx, fd, a, len));
}

EXPORT int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	zc__load();
	if (!zc__mine(fd))
		return zc__real.connect(fd, a, len);
	bool v6only = false;
	int fam = ZC_CALL(zc_sock_family(zc__cx, fd, &v6only));
	uint32_t ip;
	enum zc__dst_kind k = zc__dst(fam, a, len, &ip);
	enum zc_bypass_reason why = ZC_BYPASS__COUNT;
	if (k == ZC__DST_V6)
		why = ZC_BYPASS_IPV6;
	else if ((k == ZC__DST_V4 || k == ZC__DST_ANY6) && !(fam == AF_INET6 && v6only) &&
		 !ZC_CALL(zc_reaches(zc__cx, ip)))
		why = ZC_BYPASS_CONNECT;
	if (why != ZC_BYPASS__COUNT && zc__to_kernel(fd, why, "connect", a) == 0)
		return zc__real.connect(fd, a, len);
	return ZC_CALL(zc_connect(zc__cx, fd, a, len));
}

/* A datagram to a native IPv6 address from a stack socket: the socket
 * layer refuses it (ENETUNREACH, as the kernel without a route); tell and
 * count that here, where the address is still known. */
ssize_t zc__sent(int fd, ssize_t r, const struct sockaddr *a, socklen_t len)
{
	uint32_t ip;
	if (r < 0 && errno == ENETUNREACH && a && zc__dst(AF_INET6, a, len, &ip) == ZC__DST_V6) {
		int e = errno;
		char to[INET6_ADDRSTRLEN + 16];
		zc_bypass(zc__bypass, ZC_BYPASS_IPV6, 1, "sendto(fd %d, %s): an IPv6 address, and the "
			  "stack carries IPv4 only: refused with ENETUNREACH", fd, zc__addr_str(a, to, sizeof(to)));
		errno = e;
	}
	return r;
}

EXPORT int listen(int fd, int backlog)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_listen(zc__cx, fd, backlog)) : zc__real.listen(fd, backlog);
}

EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	zc__load();
	if (!zc__mine(fd))
		return zc__real.accept4(fd, a, len, flags);
	int n = ZC_CALL(zc_accept4(zc__cx, fd, a, len, flags));
	if (n >= ZC__MAXFD) {
		ZC_CALL(zc_close(zc__cx, n));
		errno = EMFILE;
		return -1;
	}
	if (n >= 0) /* a wildcard listener's connection over the kernel's loopback is the kernel's */
		zc__mark(n, ZC_CALL(zc_is_socket(zc__cx, n)));
	return n;
}

EXPORT int accept(int fd, struct sockaddr *a, socklen_t *len) { return accept4(fd, a, len, 0); }

EXPORT int close(int fd)
{
	zc__load();
	if (!zc__mine(fd)) {
		if (fd >= 0 && fd < ZC__MAXFD && !zc__inside) {
			atomic_store_explicit(&zc__ep_kernel[fd], 0, memory_order_relaxed);
			if ((atomic_exchange(&zc__ep_stack[fd], 0) & (ZC__EP_STACK | ZC__EP_KNOWN)) && zc__cx) {
				/* an epoll fd the socket layer knows */
				zc__inside++;
				zc_epoll_forget(zc__cx, fd);
				zc__inside--;
			}
		}
		return zc__real.close(fd);
	}
	zc__mark(fd, false);
	return ZC_CALL(zc_close(zc__cx, fd));
}

EXPORT int shutdown(int fd, int how)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_shutdown(zc__cx, fd, how)) : zc__real.shutdown(fd, how);
}

EXPORT int setsockopt(int fd, int lv, int name, const void *v, socklen_t len)
{
	zc__load();
	if (!zc__mine(fd))
		return zc__real.setsockopt(fd, lv, name, v, len);
	int r = ZC_CALL(zc_setsockopt(zc__cx, fd, lv, name, v, len));
	if (r == 0) {
		int e = errno; /* the kernel socket too, should it take over later */
		zc__real.setsockopt(fd, lv, name, v, len);
		errno = e;
	}
	return r;
}

EXPORT int getsockopt(int fd, int lv, int name, void *v, socklen_t *len)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_getsockopt(zc__cx, fd, lv, name, v, len))
			    : zc__real.getsockopt(fd, lv, name, v, len);
}

EXPORT int getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_getsockname(zc__cx, fd, a, len)) : zc__real.getsockname(fd, a, len);
}

EXPORT int getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_getpeername(zc__cx, fd, a, len)) : zc__real.getpeername(fd, a, len);
}

/* --- data ------------------------------------------------------------------------ */

EXPORT ssize_t read(int fd, void *b, size_t n)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_read(zc__cx, fd, b, n)) : zc__real.read(fd, b, n);
}

EXPORT ssize_t write(int fd, const void *b, size_t n)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_write(zc__cx, fd, b, n)) : zc__real.write(fd, b, n);
}

EXPORT ssize_t readv(int fd, const struct iovec *v, int n)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_readv(zc__cx, fd, v, n)) : zc__real.readv(fd, v, n);
}

EXPORT ssize_t writev(int fd, const struct iovec *v, int n)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_writev(zc__cx, fd, v, n)) : zc__real.writev(fd, v, n);
}

EXPORT ssize_t recv(int fd, void *b, size_t n, int fl)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_recv(zc__cx, fd, b, n, fl)) : zc__real.recv(fd, b, n, fl);
}

EXPORT ssize_t send(int fd, const void *b, size_t n, int fl)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_send(zc__cx, fd, b, n, fl)) : zc__real.send(fd, b, n, fl);
}

EXPORT ssize_t recvfrom(int fd, void *b, size_t n, int fl, struct sockaddr *a, socklen_t *l)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_recvfrom(zc__cx, fd, b, n, fl, a, l)) : zc__real.recvfrom(fd, b, n, fl, a, l);
}

EXPORT ssize_t sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *a, socklen_t l)
{
	zc__load();
	return zc__mine(fd) ? zc__sent(fd, ZC_CALL(zc_sendto(zc__cx, fd, b, n, fl, a, l)), a, l)
			    : zc__real.sendto(fd, b, n, fl, a, l);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int fl)
{
	zc__load();
	return zc__mine(fd) ? ZC_CALL(zc_recvmsg(zc__cx, fd, m, fl)) : zc__real.recvmsg(fd, m, fl);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int fl)
{
	zc__load();
	return zc__mine(fd) ? zc__sent(fd, ZC_CALL(zc_sendmsg(zc__cx, fd, m, fl)), m ? m->msg_name : NULL,
				      m ? m->msg_namelen : 0)
			    : zc__real.sendmsg(fd, m, fl);
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
			int k = zc__real.fcntl(fd, cmd, arg);
			if (k < 0)
				return -1;
			int n = ZC_CALL(zc_dup(zc__cx, fd, k, cmd == F_DUPFD_CLOEXEC ? O_CLOEXEC : 0));
			if (n >= 0)
				zc__mark(n, true);
			return n;
		}
	}
	return zc__real.fcntl(fd, cmd, arg);
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
	if (zc__mine(fd) && (req == FIONBIO || req == FIONREAD || req == SIOCATMARK || req == FIOASYNC))
		return ZC_CALL(zc_ioctl(zc__cx, fd, req, arg));
	if (zc__mine(fd))
		zc_bypass(zc__bypass, ZC_BYPASS_IOCTL, req, "ioctl(fd %d, %#lx) on a stack socket: the stack has FIONBIO, FIOASYNC, FIONREAD and SIOCATMARK only; this request goes to the kernel's placeholder socket behind the descriptor (unbound, unconnected), so its answer is not about this socket", fd, req);
	return zc__real.ioctl(fd, req, arg);
}

EXPORT int dup(int fd)
{
	zc__load();
	if (!zc__mine(fd))
		return zc__real.dup(fd);
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
	return flags < 0 ? zc__real.dup2(old, nw) : zc__real.dup3(old, nw, flags);
}

EXPORT int dup2(int old, int nw)
{
	zc__load();
	return zc__dup23(old, nw, zc__mine(old) ? 0 : -1);
}

EXPORT int dup3(int old, int nw, int flags)
{
	zc__load();
	if ((flags & ~O_CLOEXEC) || old == nw) { /* the kernel refuses before it closes nw */
		errno = EINVAL;
		return -1;
	}
	return zc__dup23(old, nw, flags);
}

/*
 * sockopt.c - socket options and descriptor flags: setsockopt and
 * getsockopt (SOL_SOCKET and IPPROTO_TCP, with Linux's values: SO_SNDBUF
 * doubled as Linux reports it, TCP_INFO in Linux's layout, "reno" as the
 * only congestion control), fcntl (O_NONBLOCK, FD_CLOEXEC) and ioctl
 * (FIONBIO, FIONREAD). TCP options go to the stack (zc_tcp_setopt), and
 * SO_REUSEADDR/SO_REUSEPORT to UDP's too (zc_udp_setopt).
 * An option the stack does not have fails with ENOPROTOOPT, counted and
 * told once per option (bypass.h), as programs often ignore the error.
 */
#include "sockapi/socket_priv.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

static int zc__getint(const void *val, socklen_t len, int *out)
{
	if (val == NULL)
		return -EFAULT;
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int zc__tv_ns(const void *val, socklen_t len, uint64_t *ns)
{
	struct timeval tv;
	if (val == NULL)
		return -EFAULT;
	if (len < sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	*ns = tv.tv_sec < 0 ? 0 : (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
	return 0;
}

int zc_setsockopt(struct zc_sockctx *cx, int fd, int level, int name, const void *val, socklen_t len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int v = 0, r = 0;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		r = zc__tv_ns(val, len, name == SO_RCVTIMEO ? &s->rcvtimeo : &s->sndtimeo);
		return (int)zc__ret(cx, s, r);
	}
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (val == NULL || len < sizeof(l))
			return (int)zc__ret(cx, s, val ? -EINVAL : -EFAULT);
		memcpy(&l, val, sizeof(l));
		r = s->tcp ? zc_tcp_setopt(s->tcp, ZC_TCP_OPT_LINGER, l.l_onoff ? l.l_linger : -1) : 0;
		return (int)zc__ret(cx, s, r);
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		char cc[16] = "";
		if (val == NULL)
			return (int)zc__ret(cx, s, -EFAULT);
		memcpy(cc, val, len < sizeof(cc) - 1 ? len : sizeof(cc) - 1);
		r = s->udp ? -EOPNOTSUPP : zc_tcp_set_cc(s->tcp, cc);
		return (int)zc__ret(cx, s, r);
	}
	if ((r = zc__getint(val, len, &v)) != 0)
		return (int)zc__ret(cx, s, r);
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR:
			s->reuseaddr = v != 0;
			r = s->tcp ? zc_tcp_setopt(s->tcp, ZC_TCP_OPT_REUSEADDR, v)
				   : zc_udp_setopt(s->udp, ZC_UDP_OPT_REUSEADDR, v);
			break;
		case SO_REUSEPORT:
			s->reuseport = v != 0;
			r = s->tcp ? zc_tcp_setopt(s->tcp, ZC_TCP_OPT_REUSEPORT, v)
				   : zc_udp_setopt(s->udp, ZC_UDP_OPT_REUSEPORT, v);
			break;
		case SO_KEEPALIVE: r = s->tcp ? zc_tcp_setopt(s->tcp, ZC_TCP_OPT_KEEPALIVE, v) : 0; break;
		case SO_OOBINLINE:
			if (s->tcp)
				r = zc_tcp_setopt(s->tcp, ZC_TCP_OPT_OOBINLINE, v);
			else
				s->oobinline = v != 0;
			break;
		case SO_SNDBUF:
		case SO_RCVBUF: {
			/* Linux doubles the request (bookkeeping room) and reports that */
			long d = (long)(v < 0 ? 0 : v) * 2;
			if (d < 4608)
				d = 4608;
			if (d > (1l << 30))
				d = 1l << 30;
			if (name == SO_SNDBUF)
				s->sndbuf = (int)d;
			else
				s->rcvbuf = (int)d;
			if (s->tcp)
				r = zc_tcp_setopt(s->tcp, name == SO_SNDBUF ? ZC_TCP_OPT_SNDBUF : ZC_TCP_OPT_RCVBUF,
						  (int)(d / 2 < 4096 ? 4096 : d / 2));
			else if (name == SO_RCVBUF)
				zc_udp_set_rcvbuf(s->udp, (uint32_t)d);
			break;
		}
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && s->family == AF_INET6) {
		/* as Linux: only before the socket has an address */
		uint32_t ip;
		uint16_t port = 0;
		if (s->tcp)
			zc_tcp_local(s->tcp, &ip, &port);
		else if (s->udp_bound)
			port = zc_udp_local_port(s->udp);
		if (port)
			r = -EINVAL;
		else
			s->v6only = v != 0;
	} else if (level == IPPROTO_TCP) {
		static const struct { int name; enum zc_tcp_opt opt; } map[] = {
			{ TCP_NODELAY, ZC_TCP_OPT_NODELAY },     { TCP_CORK, ZC_TCP_OPT_CORK },
			{ TCP_KEEPIDLE, ZC_TCP_OPT_KEEPIDLE },   { TCP_KEEPINTVL, ZC_TCP_OPT_KEEPINTVL },
			{ TCP_KEEPCNT, ZC_TCP_OPT_KEEPCNT },     { TCP_MAXSEG, ZC_TCP_OPT_MAXSEG },
			{ TCP_QUICKACK, ZC_TCP_OPT_QUICKACK },
		};
		r = -ENOPROTOOPT;
		for (size_t i = 0; s->tcp && i < sizeof(map) / sizeof(map[0]); i++)
			if (map[i].name == name)
				r = zc_tcp_setopt(s->tcp, map[i].opt, v);
		if (s->udp)
			r = -EOPNOTSUPP;
	} else {
		r = -ENOPROTOOPT;
	}
	/* IPv6 options on an AF_INET socket: the kernel's ENOPROTOOPT too, not
	 * something the stack lacks (Python's dual-stack servers try them) */
	if (r == -ENOPROTOOPT && !(level == IPPROTO_IPV6 && s->family == AF_INET))
		zc_bypass_option(cx->bypass, true, level, name, ENOPROTOOPT);
	return (int)zc__ret(cx, s, r);
}

static int zc__putopt(void *val, socklen_t *len, const void *src, size_t n)
{
	if (val == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	size_t k = *len < n ? *len : n;
	memcpy(val, src, k);
	*len = (socklen_t)k;
	return 0;
}

int zc_getsockopt(struct zc_sockctx *cx, int fd, int level, int name, void *val, socklen_t *len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int v = 0, r = 0;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR: /* a hard error first, else a soft one (Linux) */
			v = s->tcp ? zc_tcp_error(s->tcp) : zc_udp_error(s->udp);
			if (v == 0 && s->tcp)
				v = zc_tcp_soft_error(s->tcp);
			break;
		case SO_TYPE: v = s->type; break;
		case SO_DOMAIN: v = s->family; break;
		case SO_PROTOCOL: v = s->tcp ? IPPROTO_TCP : IPPROTO_UDP; break;
		case SO_ACCEPTCONN: v = s->tcp && zc_tcp_get_state(s->tcp) == ZC_TCP_LISTEN; break;
		case SO_REUSEADDR:
			v = s->reuseaddr;
			if (s->udp)
				zc_udp_getopt(s->udp, ZC_UDP_OPT_REUSEADDR, &v);
			break;
		case SO_REUSEPORT:
			v = s->reuseport;
			if (s->udp)
				zc_udp_getopt(s->udp, ZC_UDP_OPT_REUSEPORT, &v);
			break;
		case SO_KEEPALIVE: if (s->tcp) zc_tcp_getopt(s->tcp, ZC_TCP_OPT_KEEPALIVE, &v); break;
		case SO_OOBINLINE:
			v = s->oobinline;
			if (s->tcp)
				zc_tcp_getopt(s->tcp, ZC_TCP_OPT_OOBINLINE, &v);
			break;
		case SO_SNDBUF: v = s->sndbuf; break;
		case SO_RCVBUF: v = s->rcvbuf; break;
		case SO_LINGER: {
			int l = -1;
			if (s->tcp)
				zc_tcp_getopt(s->tcp, ZC_TCP_OPT_LINGER, &l);
			struct linger lg = { l >= 0, l >= 0 ? l : 0 };
			return (int)zc__ret(cx, s, zc__putopt(val, len, &lg, sizeof(lg)));
		}
		case SO_RCVTIMEO:
		case SO_SNDTIMEO: {
			uint64_t ns = name == SO_RCVTIMEO ? s->rcvtimeo : s->sndtimeo;
			struct timeval tv = { (time_t)(ns / 1000000000u), (suseconds_t)(ns % 1000000000u / 1000u) };
			return (int)zc__ret(cx, s, zc__putopt(val, len, &tv, sizeof(tv)));
		}
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && s->family == AF_INET6) {
		v = s->v6only;
	} else if (level == IPPROTO_TCP && s->tcp) {
		switch (name) {
		case TCP_NODELAY: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_NODELAY, &v); break;
		case TCP_CORK: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_CORK, &v); break;
		case TCP_KEEPIDLE: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_KEEPIDLE, &v); break;
		case TCP_KEEPINTVL: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_KEEPINTVL, &v); break;
		case TCP_KEEPCNT: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_KEEPCNT, &v); break;
		case TCP_MAXSEG: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_MAXSEG, &v); break;
		case TCP_QUICKACK: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_QUICKACK, &v); break;
		case TCP_INFO: {
			struct zc_tcp_info ti;
			zc_tcp_get_info(s->tcp, &ti);
			return (int)zc__ret(cx, s, zc__putopt(val, len, &ti, sizeof(ti)));
		}
		case TCP_CONGESTION:
		{
			const char *n = zc_tcp_get_cc(s->tcp);
			return (int)zc__ret(cx, s, zc__putopt(val, len, n, strlen(n) + 1));
		}
		default: r = -ENOPROTOOPT;
		}
	} else {
		r = level == IPPROTO_TCP ? -EOPNOTSUPP : -ENOPROTOOPT;
	}
	if (r == -ENOPROTOOPT && !(level == IPPROTO_IPV6 && s->family == AF_INET))
		zc_bypass_option(cx->bypass, false, level, name, ENOPROTOOPT);
	if (r == 0)
		r = zc__putopt(val, len, &v, sizeof(v));
	return (int)zc__ret(cx, s, r);
}

int zc_fcntl(struct zc_sockctx *cx, int fd, int cmd, long arg)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int r;
	switch (cmd) {
	case F_GETFL: r = O_RDWR | (s->nonblock ? O_NONBLOCK : 0) | (s->async ? O_ASYNC : 0); break;
	case F_SETFL:
		s->nonblock = (arg & O_NONBLOCK) != 0;
		zc__set_async(cx, s, (arg & O_ASYNC) != 0); /* signal-driven I/O: sigio.c */
		r = 0;
		break;
	case F_GETFD: r = fcntl(fd, F_GETFD); break;
	case F_SETFD: r = fcntl(fd, F_SETFD, arg); break;
	default: r = -EINVAL;
	}
	if (r < 0 && (cmd == F_GETFD || cmd == F_SETFD))
		r = -errno;
	return (int)zc__ret(cx, s, r);
}

int zc_ioctl(struct zc_sockctx *cx, int fd, unsigned long req, int *arg)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int r = 0;
	if (arg == NULL)
		r = -EFAULT;
	else if (req == FIONBIO)
		s->nonblock = *arg != 0;
	else if (req == FIOASYNC)
		zc__set_async(cx, s, *arg != 0);
	else if (req == SIOCATMARK) /* UDP: never (Linux gives 0 too) */
		*arg = s->tcp ? zc_tcp_at_mark(s->tcp) : 0;
	else if (req == FIONREAD) {
		if (s->tcp && zc_tcp_get_state(s->tcp) == ZC_TCP_LISTEN)
			r = -EINVAL;
		else
			*arg = s->tcp ? (int)zc_tcp_readable(s->tcp) : 0;
		if (s->udp) /* the size of the next datagram, as Linux gives it */
			*arg = (int)zc_udp_next_len(s->udp);
	} else
		r = -ENOTTY;
	return (int)zc__ret(cx, s, r);
}

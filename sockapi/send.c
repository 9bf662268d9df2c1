/*
 * send.c - the send path: send, sendto, sendmsg, write, writev.
 *
 * TCP: a run of whole pages of a private anonymous mapping goes by
 * reference (copy-on-write, cow.h) where the policy says so; the bytes up
 * to the first page boundary, and everything that does not qualify, are
 * copied into the send buffer. A write waits for room as the socket and
 * flags say; EPIPE raises SIGPIPE unless MSG_NOSIGNAL. MSG_MORE holds
 * the short tail as TCP_CORK would, until a send without it (or 200 ms);
 * MSG_OOB makes the last byte urgent. UDP: one datagram
 * per call, to connect()'s peer or the given address.
 *
 * Memory that a send by reference may still use must be released before
 * it is unmapped or dropped (zc_release_range, zc_may_reference).
 */
#include "sockapi/socket_priv.h"
#include "sockapi/cow.h"
#include "sockapi/zerocopy.h"

#include <signal.h>
#include <stdlib.h>

static void zc__sigpipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
}

/* TCP write from one buffer (lock held): by reference where the policy
 * and the memory allow, else copied; waits as the flags and socket say. */
static ssize_t zc__tcp_write(struct zc_sockctx *cx, struct zc__sock *s, const uint8_t *buf, size_t len, int flags)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->sndtimeo);
	size_t done = 0;
	const uintptr_t pg = 4096;
	zc_tcp_snd_hint(s->tcp, len);
	bool by_ref = zc__zc_policy(cx->zz) != ZC_ZCOPY_NEVER && len >= 2 * pg && len >= zc__cow_min(cx->cow);
	/* corks this send's tail or not; an urgent send's goes after the mark */
	zc_tcp_setopt(s->tcp, ZC_TCP_OPT_MORE, (flags & (MSG_MORE | MSG_OOB)) != 0);
	for (;;) {
		ssize_t r = 0;
		size_t n = len - done;
		/* whether to go by reference is the whole write's question: the
		 * rest of one already going so (the send buffer took part of it)
		 * goes so too down to its last whole page, not copied because
		 * it has become short */
		if (by_ref && n >= pg) {
			uintptr_t mis = (uintptr_t)(buf + done) & (pg - 1);
			if (mis) {
				n = pg - mis; /* copy up to a page boundary, then by reference */
			} else if (zc__zc_private_anon(cx->zz, buf + done, n & ~(pg - 1))) {
				ssize_t k = zc__cow_send(cx->cow, s->tcp, buf + done, n, &s->zs);
				if (k > 0) {
					done += (size_t)k;
					continue;
				}
				if (k == -EAGAIN)
					n = 0; /* by reference once there is room */
			}
		}
		if (n) {
			r = zc_tcp_send(s->tcp, buf + done, n);
		} else { /* waiting for room to send by reference, or the error */
			int w = zc_tcp_writable(s->tcp);
			r = w == 0 ? -EAGAIN : w;
		}
		if (r > 0) {
			s->zs.bytes_copied += (size_t)r;
			done += (size_t)r;
		}
		if (r > 0 && done < len)
			continue;
		if (done == len)
			return (ssize_t)done;
		if (r < 0 && r != -EAGAIN && r != -ENOBUFS) {
			if (done)
				return (ssize_t)done;
			if (r == -ENOTCONN && zc_tcp_get_state(s->tcp) == ZC_TCP_CLOSED)
				r = -EPIPE; /* Linux: a socket that never connected gives EPIPE */
			if (r == -EPIPE)
				zc__sigpipe(flags);
			return r;
		}
		if (nb || s->closed)
			return done ? (ssize_t)done : s->closed ? -EBADF : -EAGAIN;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0)
			return done ? (ssize_t)done : b;
	}
}

static ssize_t zc__udp_send(struct zc_sockctx *cx, struct zc__sock *s, const void *buf, size_t len,
			    uint32_t ip, uint16_t port, bool to)
{
	if (!to) {
		if (s->peer_port == 0)
			return -EDESTADDRREQ;
		ip = s->peer_ip;
		port = s->peer_port;
	}
	ssize_t r = zc_udp_sendto(s->udp, buf, len, ip, port);
	s->udp_bound = true;
	if (r >= 0)
		s->zs.bytes_copied += (size_t)r;
	(void)cx;
	return r;
}

ssize_t zc_sendto(struct zc_sockctx *cx, int fd, const void *buf, size_t len, int flags,
		  const struct sockaddr *to, socklen_t tolen)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	ssize_t r;
	if (s->tcp) {
		r = zc__tcp_write(cx, s, buf, len, flags);
		if (r > 0 && (flags & MSG_OOB))
			zc_tcp_send_urgent(s->tcp); /* its last byte is urgent (Linux) */
	} else if (flags & MSG_OOB) {
		r = -EOPNOTSUPP;
	} else {
		uint32_t ip = 0;
		uint16_t port = 0;
		r = to ? zc__sin(s, to, tolen, ZC__A_SENDTO, &ip, &port) : 0;
		if (r == 0)
			r = zc__udp_send(cx, s, buf, len, ip, port, to != NULL);
	}
	return zc__ret(cx, s, r);
}

ssize_t zc_send(struct zc_sockctx *cx, int fd, const void *buf, size_t len, int flags)
{
	return zc_sendto(cx, fd, buf, len, flags, NULL, 0);
}

ssize_t zc_write(struct zc_sockctx *cx, int fd, const void *buf, size_t len)
{
	return zc_sendto(cx, fd, buf, len, 0, NULL, 0);
}

ssize_t zc_sendmsg(struct zc_sockctx *cx, int fd, const struct msghdr *msg, int flags)
{
	ssize_t tot = zc__iov_total(msg->msg_iov, (int)msg->msg_iovlen);
	if (tot < 0)
		return zc__fail((int)-tot);
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	ssize_t r = 0;
	if (s->udp) {
		uint8_t *tmp = malloc((size_t)tot + 1);
		uint32_t ip = 0;
		uint16_t port = 0;
		r = tmp ? 0 : -ENOMEM;
		if (r == 0 && msg->msg_name)
			r = zc__sin(s, msg->msg_name, msg->msg_namelen, ZC__A_SENDTO, &ip, &port);
		if (r == 0) {
			size_t off = 0;
			for (size_t i = 0; i < msg->msg_iovlen; i++) {
				memcpy(tmp + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
				off += msg->msg_iov[i].iov_len;
			}
			r = zc__udp_send(cx, s, tmp, (size_t)tot, ip, port, msg->msg_name != NULL);
		}
		free(tmp);
		return zc__ret(cx, s, r);
	}
	size_t done = 0, last = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		if (msg->msg_iov[i].iov_len)
			last = i;
	bool held = false;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_len == 0)
			continue;
		/* a blocking socket waits for room for every piece, as Linux's
		 * sendmsg does; an error or the deadline after some returns them.
		 * The pieces go as one write would (Linux copies them all, then
		 * sends): all but the last as with MSG_MORE, so that nginx's
		 * header and body leave in one segment, not two */
		held = i < last && !(flags & MSG_MORE);
		r = zc__tcp_write(cx, s, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len,
				  held ? flags | MSG_MORE : flags);
		if (r <= 0)
			break;
		done += (size_t)r;
		if ((size_t)r < msg->msg_iov[i].iov_len)
			break;
		held = false;
	}
	if (held || (r <= 0 && done && !(flags & MSG_MORE)))
		zc_tcp_push(s->tcp); /* stopped before the last piece: what is held goes */
	if (done && (flags & MSG_OOB))
		zc_tcp_send_urgent(s->tcp);
	return zc__ret(cx, s, done ? (ssize_t)done : r);
}

ssize_t zc_writev(struct zc_sockctx *cx, int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)(iovcnt < 0 ? 0 : iovcnt) };
	if (iovcnt < 0)
		return zc__fail(EINVAL);
	return zc_sendmsg(cx, fd, &m, 0);
}

/* --- memory a send by reference may still use ------------------------------------ */

int zc_release_range(struct zc_sockctx *cx, const void *addr, size_t len)
{
	zc__lock(cx);
	zc__cow_release(cx->cow, addr, len, true);
	zc__zc_forget_range(cx->zz, addr, len);
	zc__unlock(cx);
	return 0;
}

bool zc_may_reference(const struct zc_sockctx *cx, const void *addr, size_t len)
{
	return zc__cow_may_reference(cx->cow, addr, len);
}

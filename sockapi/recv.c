/*
 * recv.c - the receive path: recv, recvfrom, recvmsg, read, readv, and
 * the opt-in views (zc_recv_zc, zc_recv_zc_done).
 *
 * TCP: a read takes the in-order data, trading whole frames where the
 * policy allows and copying the rest, and waits as the socket and flags
 * say (MSG_DONTWAIT, MSG_WAITALL, SO_RCVTIMEO); MSG_PEEK copies without
 * taking; MSG_OOB takes the urgent byte, and a read stops at its mark. UDP: one datagram per call (the rest is discarded, MSG_TRUNC
 * tells its length; MSG_PEEK leaves it queued); a pending ICMP error fails
 * the call first, as Linux's sock_error. Views hand out the frames themselves, read-only.
 */
#include "sockapi/socket_priv.h"
#include "sockapi/cow.h"
#include "sockapi/zerocopy.h"
#include "stack/pool.h"

#include <stdlib.h>

/* TCP read into one buffer (lock held): zerocopy.c trades whole frames
 * where the policy allows and copies the rest (zc__zc_recv); this waits
 * as the flags and socket say. */
static ssize_t zc__tcp_read(struct zc_sockctx *cx, struct zc__sock *s, uint8_t *buf, size_t len, int flags)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->rcvtimeo);
	if (flags & MSG_OOB) { /* the urgent byte; never waits (Linux's tcp_recv_urg) */
		uint8_t c;
		ssize_t r = zc_tcp_recv_oob(s->tcp, &c, (flags & MSG_PEEK) != 0);
		if (r == 1 && len)
			*buf = c;
		return r == 1 && len == 0 ? 0 : r;
	}
	/* a read stops at the urgent mark (it continues from there) */
	uint32_t lim = zc_tcp_urg_limit(s->tcp);
	if (len > lim)
		len = lim;
	struct zc__zc_read rd = { .buf = buf, .len = len, .waitall = (flags & MSG_WAITALL) && !nb };
	if (len == 0)
		return 0;
	zc_tcp_rcv_hint(s->tcp, len); /* big reads open the window */
	for (;;) {
		ssize_t r;
		/* the stack is about to write the caller's pages: a send by
		 * reference on them is copied first (the fault handler needs the
		 * lock this thread holds) */
		zc__cow_release(cx->cow, buf + rd.done, len - rd.done, false);
		if (flags & MSG_PEEK) {
			r = zc_tcp_peek(s->tcp, buf, len);
			if (r != -EAGAIN)
				return r;
		} else {
			r = zc__zc_recv(cx->zz, s->tcp, &rd, &s->zs);
			if (rd.done == len || (rd.done > 0 && !(flags & MSG_WAITALL)) || r == 0 ||
			    (r < 0 && r != -EAGAIN))
				return rd.done > 0 ? (ssize_t)rd.done : r;
		}
		if (nb || s->closed)
			return rd.done ? (ssize_t)rd.done : s->closed ? -EBADF : -EAGAIN;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0)
			return rd.done ? (ssize_t)rd.done : b;
	}
}

static ssize_t zc__udp_recv(struct zc_sockctx *cx, struct zc__sock *s, void *buf, size_t len, int flags,
			    uint32_t *ip, uint16_t *port)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->rcvtimeo);
	for (;;) {
		ssize_t r = (flags & MSG_PEEK) ? zc_udp_peekfrom(s->udp, buf, len, ip, port)
					       : zc_udp_recvfrom(s->udp, buf, len, ip, port);
		if (r >= 0) {
			s->zs.bytes_copied += (size_t)r < len ? (size_t)r : len;
			return (flags & MSG_TRUNC) ? r : (ssize_t)((size_t)r < len ? (size_t)r : len);
		}
		if (r != -EAGAIN || nb || s->closed)
			return s->closed ? -EBADF : r;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0)
			return b;
	}
}

ssize_t zc_recvfrom(struct zc_sockctx *cx, int fd, void *buf, size_t len, int flags, struct sockaddr *from,
		    socklen_t *fromlen)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	ssize_t r;
	if (s->tcp) {
		r = zc__tcp_read(cx, s, buf, len, flags);
		if (from && fromlen)
			*fromlen = 0; /* a connected stream says nothing (as Linux) */
	} else {
		uint32_t ip = 0;
		uint16_t port = 0;
		r = (flags & MSG_OOB) ? -EOPNOTSUPP : zc__udp_recv(cx, s, buf, len, flags, &ip, &port);
		if (r >= 0)
			zc__put_sin(s, from, fromlen, ip, port);
	}
	return zc__ret(cx, s, r);
}

ssize_t zc_recv(struct zc_sockctx *cx, int fd, void *buf, size_t len, int flags)
{
	return zc_recvfrom(cx, fd, buf, len, flags, NULL, NULL);
}

ssize_t zc_read(struct zc_sockctx *cx, int fd, void *buf, size_t len)
{
	return zc_recvfrom(cx, fd, buf, len, 0, NULL, NULL);
}

ssize_t zc_recvmsg(struct zc_sockctx *cx, int fd, struct msghdr *msg, int flags)
{
	ssize_t tot = zc__iov_total(msg->msg_iov, (int)msg->msg_iovlen);
	if (tot < 0)
		return zc__fail((int)-tot);
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	ssize_t r = 0;
	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	if (s->udp) {
		/* one datagram, spread over the iovecs */
		uint8_t *tmp = malloc(65536);
		uint32_t ip = 0;
		uint16_t port = 0;
		r = tmp ? zc__udp_recv(cx, s, tmp, 65536, flags | MSG_TRUNC, &ip, &port) : -ENOMEM;
		if (r >= 0) {
			size_t off = 0, n = (size_t)r < (size_t)tot ? (size_t)r : (size_t)tot;
			for (size_t i = 0; i < msg->msg_iovlen && off < n; i++) {
				size_t k = msg->msg_iov[i].iov_len < n - off ? msg->msg_iov[i].iov_len : n - off;
				memcpy(msg->msg_iov[i].iov_base, tmp + off, k);
				off += k;
			}
			if ((size_t)r > (size_t)tot)
				msg->msg_flags |= MSG_TRUNC;
			if (!(flags & MSG_TRUNC))
				r = (ssize_t)n;
			socklen_t nl = msg->msg_namelen;
			zc__put_sin(s, msg->msg_name, msg->msg_name ? &nl : NULL, ip, port);
			msg->msg_namelen = msg->msg_name ? nl : 0;
		}
		free(tmp);
		return zc__ret(cx, s, r);
	}
	msg->msg_namelen = 0;
	size_t done = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_len == 0)
			continue;
		/* after the first bytes, take only what is there */
		int f = done ? (flags | MSG_DONTWAIT) & ~MSG_WAITALL : flags;
		if (done && (flags & MSG_WAITALL))
			f = flags;
		r = zc__tcp_read(cx, s, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len, f);
		if (r <= 0)
			break;
		done += (size_t)r;
		if ((size_t)r < msg->msg_iov[i].iov_len || (flags & MSG_PEEK))
			break;
	}
	return zc__ret(cx, s, done ? (ssize_t)done : r);
}

ssize_t zc_readv(struct zc_sockctx *cx, int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)(iovcnt < 0 ? 0 : iovcnt) };
	if (iovcnt < 0)
		return zc__fail(EINVAL);
	return zc_recvmsg(cx, fd, &m, 0);
}

/* --- opt-in zero-copy receive ----------------------------------------------------- */

/* A list of packets (nextpkt links) goes back to the stack (lock held). */
static void zc__pkts_free(struct zc_mbuf *m)
{
	for (struct zc_mbuf *n; m; m = n) {
		n = m->nextpkt;
		m->nextpkt = NULL;
		zc_mbuf_free(m);
	}
}

ssize_t zc_recv_zc(struct zc_sockctx *cx, int fd, struct zc_rxzc *z, size_t max, int flags)
{
	z->iovcnt = 0;
	z->priv = NULL;
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	if (s->udp)
		return zc__ret(cx, s, -EOPNOTSUPP);
	zc_tcp_rcv_hint(s->tcp, max);
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->rcvtimeo);
	ssize_t r;
	struct zc_mbuf *pk = NULL;
	for (;;) {
		/* no more than the views can describe (payload kept by
		 * reference lies in pages of the sender's, scattered) */
		size_t span = zc_tcp_rq_span(s->tcp, ZC_RXZC_IOV);
		r = zc_tcp_recv_chain(s->tcp, span && span < max ? span : max, &pk);
		if (r != -EAGAIN || nb || s->closed)
			break;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0) {
			r = b;
			break;
		}
	}
	if (r > 0 && zc__zc_view(cx->zz, pk, (size_t)r, z, &s->zs) != 0) {
		zc__pkts_free(pk);
		r = -ENOMEM;
	}
	return zc__ret(cx, s, r);
}

void zc_recv_zc_done(struct zc_sockctx *cx, struct zc_rxzc *z)
{
	if (z->priv == NULL)
		return;
	zc__lock(cx);
	zc__pkts_free(z->priv);
	zc__unlock(cx);
	if (z->iovcnt == -1)
		free(z->iov[0].iov_base);
	z->priv = NULL;
	z->iovcnt = 0;
}

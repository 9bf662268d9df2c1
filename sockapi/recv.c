/*
 * recv.c - the receive path: recv, recvfrom, recvmsg, read, readv, and
 * the opt-in views (zc_recv_zc, zc_recv_zc_done).
 *
 * TCP: a read takes the in-order data, trading whole frames where the
 * policy allows and copying the rest, and waits as the socket and flags
 * say (MSG_DONTWAIT, MSG_WAITALL, SO_RCVTIMEO); MSG_PEEK copies without
 * taking. UDP: one datagram per call (the rest is discarded, MSG_TRUNC
 * tells its length). Views hand out the frames themselves, read-only.
 */
#include "sockapi/socket_priv.h"
#include "sockapi/cow.h"
#include "sockapi/zerocopy.h"
#include "stack/pool.h"

#include <stdlib.h>

/* TCP read into one buffer (lock held): trade whole frames where the
 * policy allows, copy the rest; waits as the flags and socket say. */
static ssize_t zc__tcp_read(struct zc_sockctx *cx, struct zc__sock *s, uint8_t *buf, size_t len, int flags)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->rcvtimeo);
	size_t done = 0;
	bool fell_back = false;
	if (len == 0)
		return 0;
	zc_tcp_rcv_hint(s->tcp, len); /* big reads open the window */
	for (;;) {
		ssize_t r;
		/* the stack is about to write the caller's pages: a send by
		 * reference on them is copied first (the fault handler needs the
		 * lock this thread holds) */
		zc__cow_release(cx->cow, buf + done, len - done, false);
		if (flags & MSG_PEEK) {
			r = zc_tcp_peek(s->tcp, buf, len);
		} else {
			size_t k = zc__zc_trade(cx->zz, s->tcp, buf + done, len - done, &s->zs);
			done += k;
			r = 0;
			/* MSG_WAITALL into a buffer that could take the next frame
			 * whole: wait for the frame rather than copy a piece of it */
			bool hold = false;
			if ((flags & MSG_WAITALL) && !nb && done < len && zc_tcp_readable(s->tcp) &&
			    !(zc_tcp_events(s->tcp) & (POLLRDHUP | POLLERR | POLLHUP))) {
				uint32_t fs = zc__zc_tradeable(cx->zz, s->tcp, buf + done, len - done);
				hold = fs && zc_tcp_readable(s->tcp) < fs;
			}
			if (hold)
				r = -EAGAIN;
			if (done < len && !hold) {
				uint64_t t0 = len - done >= 4096 ? zc__now() : 0;
				r = zc_tcp_recv(s->tcp, buf + done, len - done);
				if (r > 0) {
					zc__zc_count_copy(cx->zz, &s->zs, (size_t)r, t0 ? zc__now() - t0 : 0);
					done += (size_t)r;
					if (!fell_back && len >= 4096 && !((uintptr_t)buf & 4095) &&
					    zc__zc_policy(cx->zz) != ZC_ZCOPY_NEVER) {
						s->zs.trade_fallbacks++; /* a read that could have traded copied */
						fell_back = true;
					}
				}
			}
			if (k && r == -EAGAIN)
				r = 0;
		}
		if (flags & MSG_PEEK) {
			if (r != -EAGAIN)
				return r;
		} else if (done == len || (done > 0 && !(flags & MSG_WAITALL)) || r == 0 ||
			   (r < 0 && r != -EAGAIN)) {
			if (done > 0)
				return (ssize_t)done;
			return r;
		}
		if (nb || s->closed)
			return done ? (ssize_t)done : s->closed ? -EBADF : -EAGAIN;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0)
			return done ? (ssize_t)done : b;
	}
}

static ssize_t zc__udp_recv(struct zc_sockctx *cx, struct zc__sock *s, void *buf, size_t len, int flags,
			    uint32_t *ip, uint16_t *port)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->rcvtimeo);
	for (;;) {
		ssize_t r = zc_udp_recvfrom(s->udp, buf, len, ip, port);
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
		r = zc__udp_recv(cx, s, buf, len, flags, &ip, &port);
		if (r >= 0)
			zc__put_sin(from, fromlen, ip, port);
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
			zc__put_sin(msg->msg_name, msg->msg_name ? &nl : NULL, ip, port);
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
		/* as many bytes as the iovec array can describe: a page each at worst */
		size_t cap = max;
		r = zc_tcp_recv_chain(s->tcp, cap, &pk);
		if (r != -EAGAIN || nb || s->closed)
			break;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0) {
			r = b;
			break;
		}
	}
	if (r > 0) {
		int k = zc__zc_views(cx->zz, pk, z->iov, ZC_RXZC_IOV);
		if (k < 0) {
			/* more pieces than iovecs: describe what fits, keep it all held;
			 * the caller sees fewer bytes than taken, so copy instead */
			k = 0;
		}
		z->iovcnt = k;
		z->priv = pk;
		size_t described = 0;
		for (int i = 0; i < k; i++)
			described += z->iov[i].iov_len;
		if (described != (size_t)r) {
			/* cannot describe it all: never lose bytes; the caller gets
			 * them through one bounce view */
			uint8_t *bounce = malloc((size_t)r);
			if (bounce == NULL) {
				zc_mbuf_free(pk);
				z->priv = NULL;
				return zc__ret(cx, s, -ENOMEM);
			}
			size_t off = 0;
			for (struct zc_mbuf *m = pk; m; m = m->nextpkt)
				off += zc_mbuf_copydata(m, 0, m->pkt_len, bounce + off);
			s->zs.bytes_copied += (size_t)r;
			z->iov[0].iov_base = bounce;
			z->iov[0].iov_len = (size_t)r;
			z->iovcnt = -1; /* marks the bounce buffer for zc_recv_zc_done */
		} else {
			s->zs.bytes_viewed += (size_t)r;
		}
	}
	return zc__ret(cx, s, r);
}

void zc_recv_zc_done(struct zc_sockctx *cx, struct zc_rxzc *z)
{
	if (z->priv == NULL)
		return;
	pthread_mutex_lock(&cx->lk);
	for (struct zc_mbuf *m = z->priv, *n; m; m = n) {
		n = m->nextpkt;
		m->nextpkt = NULL;
		zc_mbuf_free(m);
	}
	pthread_mutex_unlock(&cx->lk);
	if (z->iovcnt == -1)
		free(z->iov[0].iov_base);
	z->priv = NULL;
	z->iovcnt = 0;
}

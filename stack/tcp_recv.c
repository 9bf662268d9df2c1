/*
 * tcp_recv.c - the receive queue as the application reads it: copies out
 * (zc_tcp_recv, zc_tcp_peek), packets over the frames they arrived in
 * (zc_tcp_recv_chain), whole frames for page trading (zc_tcp_recv_frame),
 * and after each read a window update when the opening is worth telling.
 * tcp_reass.c fills the queue in sequence order.
 */
#include "stack/tcp_priv.h"

#include <errno.h>

/* What a read finds when the queue is empty: 0 at end of stream, an error,
 * or -EAGAIN. */
static ssize_t zc__tcp_recv_empty(struct zc_tcp_sock *s)
{
	if (s->fin_rcvd || s->rd_shut)
		return 0;
	if (s->error)
		return -zc_tcp_error(s);
	if (s->state == ZC_TCP_CLOSED)
		return s->rport ? 0 : -ENOTCONN;
	if (s->state == ZC_TCP_LISTEN)
		return -ENOTCONN;
	return -EAGAIN;
}

/* After a read took `done` bytes: a window update when the opening is worth
 * telling (RFC 1122 4.2.3.3). */
static void zc__tcp_read_done(struct zc_tcp_sock *s, uint32_t done)
{
	uint32_t space0 = zc__tcp_rcv_space(s);
	s->rq_len -= done;
	if (s->urg_marked && done) {
		if (done > s->urg_mark) { /* past the mark: the urgent byte is forgotten (Linux) */
			s->urg_marked = false;
			s->urg_state = ZC__URG_NONE;
		} else {
			s->urg_mark -= done;
		}
	}
	uint32_t space = zc__tcp_rcv_space(s);
	uint32_t adv = seq_gt(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
	if (zc__tcp_connected(s) && space > space0 &&
	    (space - adv >= 2u * s->adv_mss || space - adv >= s->rb_win / 2)) {
		zc__tcp_ack_now(s, ZC_TCP_TX_WINDOW_UPDATE);
		zc__tcp_output(s);
		zc__tx_flush(s->st);
	}
}

void zc_tcp_rcv_hint(struct zc_tcp_sock *s, size_t len)
{
	if (!s->rb_auto || len <= s->rb_win / 3)
		return;
	uint64_t want = 3ull * len;
	uint32_t old = s->rb_win;
	s->rb_win = want < s->rb_max ? (uint32_t)want : s->rb_max;
	uint32_t adv = seq_gt(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
	if (s->rb_win > old && zc__tcp_connected(s) && zc__tcp_rcv_space(s) >= adv + 2u * s->adv_mss) {
		zc__tcp_ack_now(s, ZC_TCP_TX_WINDOW_UPDATE);
		zc__tcp_output(s);
		zc__tx_flush(s->st);
	}
}

void zc_tcp_rx_place(struct zc_tcp_sock *s, bool on)
{
	uint8_t v = on ? 2 : 1;
	if (s->rx_place == v)
		return;
	s->rx_place = v;
	struct zc_netif *nif = s->st->nif;
	if (nif->ops->rx_place)
		nif->ops->rx_place(nif, s->rip, s->lip, s->rport, s->lport, on);
}

static void zc__tcp_rq_pop(struct zc_tcp_sock *s)
{
	struct zc_mbuf *m = s->rq_head;
	s->rq_head = m->nextpkt;
	if (s->rq_head == NULL)
		s->rq_tail = NULL;
	m->nextpkt = NULL;
}

ssize_t zc_tcp_recv(struct zc_tcp_sock *s, void *buf, size_t len)
{
	if (s->rq_len == 0)
		return zc__tcp_recv_empty(s);
	uint8_t *p = buf;
	size_t done = 0;
	while (done < len && s->rq_head) {
		struct zc_mbuf *m = s->rq_head;
		uint32_t k = zc_mbuf_copydata(m, 0, (uint32_t)(len - done < m->pkt_len ? len - done : m->pkt_len),
					      p + done);
		done += k;
		if (k == m->pkt_len) {
			zc__tcp_rq_pop(s);
			zc_mbuf_free(m);
		} else {
			zc_mbuf_adj(m, k);
		}
	}
	zc__tcp_read_done(s, (uint32_t)done);
	return (ssize_t)done;
}

ssize_t zc_tcp_peek(const struct zc_tcp_sock *s, void *buf, size_t len)
{
	if (s->rq_len == 0)
		return zc__tcp_recv_empty((struct zc_tcp_sock *)s);
	uint8_t *p = buf;
	size_t done = 0;
	for (const struct zc_mbuf *m = s->rq_head; m && done < len; m = m->nextpkt)
		done += zc_mbuf_copydata(m, 0, (uint32_t)(len - done < m->pkt_len ? len - done : m->pkt_len),
					 p + done);
	return (ssize_t)done;
}

uint32_t zc_tcp_readable(const struct zc_tcp_sock *s) { return s->rq_len; }
const struct zc_mbuf *zc_tcp_rq_peek(const struct zc_tcp_sock *s) { return s->rq_head; }

size_t zc_tcp_rq_span(const struct zc_tcp_sock *s, unsigned nseg)
{
	size_t n = 0;
	for (const struct zc_mbuf *m = s->rq_head; m; m = m->nextpkt)
		for (const struct zc_mbuf *g = m; g; g = g->next) {
			if (g->len == 0)
				continue;
			if (nseg-- == 0)
				return n;
			n += g->len;
		}
	return n;
}

ssize_t zc_tcp_recv_chain(struct zc_tcp_sock *s, size_t len, struct zc_mbuf **out)
{
	*out = NULL;
	if (s->rq_len == 0)
		return zc__tcp_recv_empty(s);
	struct zc_mbuf *head = NULL, **tail = &head;
	size_t done = 0;
	while (done < len && s->rq_head) {
		struct zc_mbuf *m = s->rq_head;
		if (m->pkt_len <= len - done) {
			zc__tcp_rq_pop(s);
		} else {
			/* the front of this packet: new segments over the same buffers */
			struct zc_mbuf *c = zc_mbuf_clone(m);
			if (c == NULL)
				break;
			zc_mbuf_trim(c, c->pkt_len - (uint32_t)(len - done));
			zc_mbuf_adj(m, (uint32_t)(len - done));
			m = c;
		}
		done += m->pkt_len;
		*tail = m;
		tail = &m->nextpkt;
	}
	*out = head;
	if (done == 0)
		return -ENOBUFS;
	zc__tcp_read_done(s, (uint32_t)done);
	return (ssize_t)done;
}

int64_t zc_tcp_recv_frame(struct zc_tcp_sock *s, const struct zc_pool *pool)
{
	uint32_t fs = zc_pool_frame_size(pool);
	if (s->rq_len < fs)
		return -1;
	/* the next fs bytes: one frame from its first byte on, in order (the
	 * last packet may go on into the next frame) */
	int64_t frame = -1;
	uint32_t got = 0, refs = 0, npkts = 0;
	for (const struct zc_mbuf *m = s->rq_head; m && got < fs; m = m->nextpkt, npkts++) {
		for (const struct zc_mbuf *g = m; g && got < fs; g = g->next) {
			/* an emptied piece holds nothing of the frame's bytes: a
			 * packet that went on into this frame and was read up to
			 * the end of the last one starts with one (it still holds
			 * the last frame, or this one: counted then) */
			if (g->len == 0) {
				if (g->kind == ZC_MBUF_FRAME_BUF && g->pool == pool && frame >= 0 &&
				    g->frame == (uint32_t)frame)
					refs++;
				continue;
			}
			if (g->kind != ZC_MBUF_FRAME_BUF || g->pool != pool)
				return -1;
			if (frame < 0)
				frame = g->frame;
			if (g->frame != (uint32_t)frame || g->data != zc_pool_frame_addr(pool, g->frame) + got)
				return -1;
			got += g->len;
			refs++;
		}
	}
	if (got != fs || zc_pool_frame_refcnt(pool, (uint32_t)frame) != refs)
		return -1;
	/* take it: whole packets leave the queue; the last one may keep bytes
	 * of the next frame. The caller keeps one reference to the frame. */
	bool kept = false;
	uint32_t taken = 0;
	for (uint32_t i = 0; i < npkts; i++) {
		struct zc_mbuf *p = s->rq_head;
		bool whole = taken + p->pkt_len <= fs;
		if (!whole)
			zc_mbuf_adj(p, fs - taken);
		else
			taken += p->pkt_len;
		for (struct zc_mbuf *g = p; g; g = g->next) {
			if (g->kind != ZC_MBUF_FRAME_BUF || g->frame != (uint32_t)frame || (!whole && g->len))
				continue;
			zc_mbuf_detach_frame(g);
			if (kept)
				zc_pool_frame_put((struct zc_pool *)pool, (uint32_t)frame);
			kept = true;
		}
		if (whole) {
			zc__tcp_rq_pop(s);
			zc_mbuf_free(p);
		}
	}
	zc__tcp_read_done(s, fs);
	return frame;
}

/* --- urgent data ------------------------------------------------------------ */

ssize_t zc_tcp_recv_oob(struct zc_tcp_sock *s, uint8_t *c, bool peek)
{
	if (s->oobinline || s->urg_state == ZC__URG_NONE || s->urg_state == ZC__URG_READ)
		return -EINVAL; /* as Linux's tcp_recv_urg */
	if (s->urg_state == ZC__URG_VALID) {
		*c = s->urg_byte;
		if (!peek)
			s->urg_state = ZC__URG_READ;
		return 1;
	}
	if (s->state == ZC_TCP_CLOSED || s->fin_rcvd || s->rd_shut)
		return 0;
	return -EAGAIN; /* never blocks */
}

uint32_t zc_tcp_urg_limit(const struct zc_tcp_sock *s)
{
	return s->urg_marked && s->urg_mark > 0 ? s->urg_mark : UINT32_MAX;
}

bool zc_tcp_at_mark(const struct zc_tcp_sock *s) { return s->urg_marked && s->urg_mark == 0; }

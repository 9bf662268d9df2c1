/*
 * tcp_reass.c - putting received data in sequence order: the in-order
 * queue the application reads (tcp_recv.c), the out-of-order queue
 * (sorted by sequence number, kept in each packet's tstamp, overlaps
 * trimmed, bounded by ZC__TCP_OOO_MAX segments, by the window, and in the
 * memory it pins by 4 x the receive buffer (ZC__TCP_OOO_MEM_MIN)), what
 * becomes in order when a hole fills, and the SACK blocks (RFC 2018) that
 * describe the out-of-order queue to the peer.
 */
#include "stack/tcp_priv.h"

#include <string.h>

static void zc__tcp_rq_link(struct zc_tcp_sock *s, struct zc_mbuf *m)
{
	m->nextpkt = NULL;
	if (s->rq_tail)
		s->rq_tail->nextpkt = m;
	else
		s->rq_head = m;
	s->rq_tail = m;
	s->rq_len += m->pkt_len;
	s->wake_in++;
}

/* m is the in-order data up to rcv_nxt. The urgent byte, when it is in m,
 * is read out and the mark set where it lies; out of line (no SO_OOBINLINE)
 * it leaves the stream: m is trimmed, or split into two packets over the
 * same frames (a clone), around it. */
void zc__tcp_rq_append(struct zc_tcp_sock *s, struct zc_mbuf *m)
{
	tcp_seq seq0 = s->rcv_nxt - m->pkt_len;
	if (s->urg_state != ZC__URG_NOTYET || seq_lt(s->urg_seq, seq0) || seq_ge(s->urg_seq, s->rcv_nxt)) {
		zc__tcp_rq_link(s, m);
		return;
	}
	uint32_t k = s->urg_seq - seq0, len = m->pkt_len;
	zc_mbuf_copydata(m, k, 1, &s->urg_byte);
	s->urg_state = ZC__URG_VALID;
	s->urg_marked = true;
	s->urg_mark = s->rq_len + k;
	struct zc_mbuf *tail = NULL;
	if (s->oobinline) {
		zc__tcp_rq_link(s, m);
		return;
	}
	if (k + 1 < len && k > 0) {
		tail = zc_mbuf_clone(m);
		if (tail == NULL) { /* no header to split with: the byte stays, as inline */
			zc__tcp_rq_link(s, m);
			return;
		}
		zc_mbuf_adj(tail, k + 1);
		zc_mbuf_trim(m, len - k);
	} else if (k == 0) {
		zc_mbuf_adj(m, 1);
	} else {
		zc_mbuf_trim(m, 1);
	}
	if (m->pkt_len)
		zc__tcp_rq_link(s, m);
	else
		zc_mbuf_free(m);
	if (tail)
		zc__tcp_rq_link(s, tail);
}

/* The memory a queued segment pins: its frames, or its mbuf when inline. */
static uint64_t zc__ooo_cost(const struct zc_tcp_sock *s, const struct zc_mbuf *m)
{
	uint64_t c = 0, fs = s->st->nif->caps.page_size ? s->st->nif->caps.page_size : 4096;
	for (; m; m = m->next)
		c += m->kind == ZC_MBUF_INLINE_BUF ? ZC_MBUF_INLINE : fs;
	return c;
}

/* Insert [seq, seq+len) into the out-of-order queue, trimming overlaps
 * with what is there; the queue keeps at most ZC__TCP_OOO_MAX segments and
 * pins at most max(4 x rb_max, ZC__TCP_OOO_MEM_MIN). */
void zc__tcp_ooo_insert(struct zc_tcp_sock *s, tcp_seq seq, struct zc_mbuf *m)
{
	struct zc__tcp *t = s->st->tcp;
	struct zc_mbuf **pp = &s->ooo;
	while (*pp && seq_le((tcp_seq)(*pp)->tstamp + (*pp)->pkt_len, seq))
		pp = &(*pp)->nextpkt;
	/* trim against the segment before (already passed) and after */
	if (*pp && seq_lt((tcp_seq)(*pp)->tstamp, seq)) {
		uint32_t over = (tcp_seq)(*pp)->tstamp + (*pp)->pkt_len - seq;
		if (over >= m->pkt_len) {
			zc_drop(&s->st->drops, ZC_DROP_TCP_OOO_DUP);
			zc__tcp_dsack(s, seq, seq + m->pkt_len);
			zc_mbuf_free(m);
			return;
		}
		zc_mbuf_adj(m, over);
		seq += over;
		pp = &(*pp)->nextpkt;
	}
	/* m must fit once the queued segments it covers are gone; if it does
	 * not, they stay and m goes: the peer may count them SACKed */
	uint64_t cost = zc__ooo_cost(s, m), lim = 4ull * s->rb_max, freed = 0;
	uint32_t nfreed = 0;
	if (lim < ZC__TCP_OOO_MEM_MIN)
		lim = ZC__TCP_OOO_MEM_MIN;
	for (const struct zc_mbuf *d = *pp; d && seq_le((tcp_seq)d->tstamp + d->pkt_len, seq + m->pkt_len);
	     d = d->nextpkt) {
		freed += zc__ooo_cost(s, d);
		nfreed++;
	}
	if (s->ooo_n - nfreed >= ZC__TCP_OOO_MAX || s->ooo_mem - freed + cost > lim) {
		zc_drop(&s->st->drops, ZC_DROP_TCP_OOO_FULL);
		zc_mbuf_free(m);
		return;
	}
	/* drop queued segments that m covers completely (the first reported
	 * as a duplicate), trim a partial one */
	bool dup = false;
	while (*pp && seq_le((tcp_seq)(*pp)->tstamp + (*pp)->pkt_len, seq + m->pkt_len)) {
		struct zc_mbuf *d = *pp;
		if (!dup)
			zc__tcp_dsack(s, (tcp_seq)d->tstamp, (tcp_seq)d->tstamp + d->pkt_len);
		dup = true;
		*pp = d->nextpkt;
		s->ooo_n--;
		s->ooo_bytes -= d->pkt_len;
		s->ooo_mem -= zc__ooo_cost(s, d);
		d->nextpkt = NULL;
		zc_mbuf_free(d);
	}
	if (*pp && seq_lt((tcp_seq)(*pp)->tstamp, seq + m->pkt_len))
		zc_mbuf_trim(m, seq + m->pkt_len - (tcp_seq)(*pp)->tstamp);
	if (m->pkt_len == 0) {
		zc_drop(&s->st->drops, ZC_DROP_TCP_OOO_DUP);
		zc_mbuf_free(m);
		return;
	}
	m->tstamp = seq;
	m->nextpkt = *pp;
	*pp = m;
	unsigned keep = s->n_last_ooo < ZC__TCP_SACK_RECENT ? s->n_last_ooo : ZC__TCP_SACK_RECENT - 1;
	memmove(&s->last_ooo[1], &s->last_ooo[0], keep * sizeof(s->last_ooo[0]));
	s->last_ooo[0] = seq;
	s->n_last_ooo = (uint8_t)(keep + 1);
	s->ooo_n++;
	s->ooo_bytes += m->pkt_len;
	s->ooo_mem += cost;
	s->ooo_packets++;
	t->stats.ooo_segs++;
}

/* Move what became in order from the out-of-order queue. */
void zc__tcp_ooo_drain(struct zc_tcp_sock *s)
{
	while (s->ooo && seq_le((tcp_seq)s->ooo->tstamp, s->rcv_nxt)) {
		struct zc_mbuf *m = s->ooo;
		s->ooo = m->nextpkt;
		s->ooo_n--;
		s->ooo_bytes -= m->pkt_len;
		s->ooo_mem -= zc__ooo_cost(s, m);
		tcp_seq seq = (tcp_seq)m->tstamp;
		uint32_t over = s->rcv_nxt - seq;
		if (over >= m->pkt_len) {
			m->nextpkt = NULL;
			zc_mbuf_free(m);
			continue;
		}
		zc_mbuf_adj(m, over);
		s->rcv_nxt += m->pkt_len;
		s->bytes_received += m->pkt_len;
		zc__tcp_rq_append(s, m);
	}
}

/* Forget the out-of-order queue: the connection closed, or the peer's FIN
 * came in order with data queued above it, which no stream can hold.
 * Returns the number of segments dropped. */
uint32_t zc__tcp_ooo_discard(struct zc_tcp_sock *s)
{
	uint32_t n = s->ooo_n;
	zc__free_chain_list(s->ooo);
	s->ooo = NULL;
	s->ooo_n = s->ooo_bytes = 0;
	s->ooo_mem = 0;
	s->n_last_ooo = 0;
	return n;
}

/* A duplicate arrival [l, r): the next ACK reports it (RFC 2883). */
void zc__tcp_dsack(struct zc_tcp_sock *s, tcp_seq l, tcp_seq r)
{
	if (!s->sack_ok || !seq_lt(l, r))
		return;
	s->dsack_pending = true;
	s->dsack_l = l;
	s->dsack_r = r;
}

/* SACK blocks (RFC 2018 4) from the out-of-order queue: a duplicate
 * arrival first when there is one (RFC 2883 4: a DSACK block, then the
 * block holding it if queued), then the block holding the newest arrival,
 * then the others in sequence order. */
void zc__tcp_sack_blocks(const struct zc_tcp_sock *s, struct zc_tcp_opts *o, unsigned max)
{
	struct zc_tcp_sack_block b[ZC__TCP_SACK_SCAN];
	unsigned n = 0;
	for (struct zc_mbuf *m = s->ooo; m && n < ZC__TCP_SACK_SCAN; m = m->nextpkt) {
		tcp_seq l = (tcp_seq)m->tstamp, r = l + m->pkt_len;
		if (n && b[n - 1].right == l)
			b[n - 1].right = r; /* contiguous: one block */
		else
			b[n++] = (struct zc_tcp_sack_block){ l, r };
	}
	/* RFC 2018 4: the DSACK first (RFC 2883), then the block of the
	 * newest arrival, then those of the arrivals before it, newest first;
	 * the rest from the lowest */
	bool used[ZC__TCP_SACK_SCAN] = { false };
	o->nsack = 0;
	if (s->dsack_pending)
		o->sack[o->nsack++] = (struct zc_tcp_sack_block){ s->dsack_l, s->dsack_r };
	for (unsigned j = 0; j < s->n_last_ooo && o->nsack < max; j++)
		for (unsigned i = 0; i < n; i++)
			if (!used[i] && seq_le(b[i].left, s->last_ooo[j]) && seq_lt(s->last_ooo[j], b[i].right)) {
				used[i] = true;
				o->sack[o->nsack++] = b[i];
			}
	for (unsigned i = 0; i < n && o->nsack < max; i++)
		if (!used[i])
			o->sack[o->nsack++] = b[i];
}

/*
 * rx.c - receive: the port's ring of descriptors, written by the peer's
 * transmit (tx.c), read here at each receive burst. Each descriptor comes
 * from another process: it is copied out of the ring, and the copy is
 * validated before use (a bad one is dropped and counted, never followed).
 * Then the packet is built: the control message into an mbuf, and the
 * payload frames either adopted (traded to us, their place taken by our
 * posted frames), taken back (our posted frames the peer copied into),
 * filled by the pull DMA (dma.c), or left where they are in the sender's
 * frames, kept by reference until the stack is done with them (dma.c).
 */
#include "nic/trapeze/trapeze_priv.h"

#include <string.h>

/* May the copied descriptor d be followed? Counts within the arrays and the
 * MTU, frames of the wire that are (or are not) ours as its kind says. */
static bool zc__desc_valid(struct zc__trapeze *t, const struct zc__tz_desc *d)
{
	struct zc_pool *pool = t->nif.pool;
	if (d->flags & ZC__TZ_DESC_PULL) {
		/* pieces of frames that are not ours, within a frame, adding up */
		uint64_t total = 0;
		uint32_t fs = zc_pool_frame_size(pool);
		if (d->ctrl_len > ZC_TRAPEZE_CTRL_MAX || d->nsrc > ZC__TZ_MAX_SRC ||
		    d->payload_len > t->maxpages * t->page)
			return false;
		for (unsigned i = 0; i < d->nsrc; i++) {
			const struct zc__tz_src *r = &d->src[i];
			if (r->frame >= t->nframes || zc_pool_owns(pool, r->frame) || r->off > fs ||
			    r->len > fs - r->off)
				return false;
			total += r->len;
		}
		return total == d->payload_len;
	}
	if (d->ctrl_len > (d->npages ? ZC_TRAPEZE_CTRL_MAX : ZC__TZ_CTRL_BYTES) || d->npages > t->maxpages ||
	    d->payload_len > (uint32_t)d->npages * t->page ||
	    (d->npages && d->payload_len <= (uint32_t)(d->npages - 1) * t->page))
		return false;
	bool copy = d->flags & ZC__TZ_DESC_COPY;
	for (unsigned i = 0; i < d->npages; i++) {
		if (d->pages[i] >= t->nframes || (!copy && d->taken[i] >= t->nframes))
			return false;
		if (copy) {
			/* our own posted frame, held once */
			if (!zc_pool_owns(pool, d->pages[i]) || zc_pool_frame_refcnt(pool, d->pages[i]) != 1)
				return false;
		} else {
			if (zc_pool_owns(pool, d->pages[i]) || !zc_pool_owns(pool, d->taken[i]) ||
			    zc_pool_frame_refcnt(pool, d->taken[i]) != 1)
				return false;
		}
	}
	return true;
}

/* Build an mbuf chain from a validated copy of a descriptor; NULL when out of mbufs. */
static struct zc_mbuf *zc__rx_one(struct zc__trapeze *t, const struct zc__tz_desc *d, uint64_t now)
{
	if (d->flags & ZC__TZ_DESC_PULL) {
		if (!(d->flags & ZC__TZ_DESC_REF))
			return zc__rx_pull(t, d, now);
		/* offered by reference: kept so unless the flow's reader trades
		 * placed frames, the checksum is not the NIC's to finish (the
		 * sender's own, to verify in the pull's pass) or the id is one
		 * we hold (a confused peer) */
		struct zc_mbuf *m = NULL;
		if (t->ref_rx && (d->flags & ZC__TZ_DESC_CSUM_REQ) && !t->ref_held[d->ref % ZC__TZ_REFS] &&
		    !zc__flow_wants_place(t, d->ctrl, d->ctrl_len))
			m = zc__rx_ref(t, d, now);
		if (m == NULL) {
			m = zc__rx_pull(t, d, now);
			zc__ref_decline(t, d->ref);
		}
		return m;
	}
	if (t->rxp && d->payload_len == 0)
		zc__flow_syn(t, d->ctrl, d->ctrl_len);
	struct zc_pool *pool = t->nif.pool;
	bool copy = d->flags & ZC__TZ_DESC_COPY;
	/* Ownership first, so that no frame is lost whatever happens next. */
	for (unsigned i = 0; !copy && i < d->npages; i++)
		zc_pool_adopt_frame(pool, d->pages[i]);
	for (unsigned i = 0; !copy && i < d->npages; i++)
		zc_pool_give_frame(pool, d->taken[i]);
	struct zc_mbuf *h = zc_mbuf_alloc(pool);
	if (h == NULL)
		goto nomem;
	if (d->ctrl_len > ZC_MBUF_INLINE - ZC_MBUF_HEADROOM)
		h->data = h->buf; /* a whole small packet: no headroom needed on receive */
	memcpy(h->data, d->ctrl, d->ctrl_len);
	h->len = d->ctrl_len;
	h->pkt_len = d->ctrl_len;
	h->tstamp = now;
	h->flags = (d->flags & ZC__TZ_DESC_CSUM) ? ZC_MBUF_F_L4_CSUM_OK : 0;
	uint32_t left = d->payload_len;
	struct zc_mbuf *last = h;
	for (unsigned i = 0; i < d->npages; i++) {
		struct zc_mbuf *s = zc_mbuf_attach_frame(pool, d->pages[i]);
		if (s == NULL) {
			for (unsigned k = i; k < d->npages; k++)
				zc_pool_frame_put(pool, d->pages[k]);
			zc_mbuf_free(h);
			return NULL;
		}
		s->len = left < t->page ? left : t->page;
		left -= s->len;
		last->next = s;
		last = s;
		h->pkt_len += s->len;
		h->nb_segs++;
	}
	return h;
nomem:
	for (unsigned i = 0; i < d->npages; i++)
		zc_pool_frame_put(pool, d->pages[i]);
	return NULL;
}

int zc__tz_rx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__trapeze *t = zc__tz(nif);
	struct zc__tz_port *me = t->me;
	zc__ref_return(t);
	zc__reap(t);
	zc__refill(t);
	uint32_t tail = zc__tz_rx_tail(me, memory_order_relaxed);
	uint32_t head = zc__tz_rx_head(me, memory_order_acquire);
	int got = 0;
	while (got < n && tail != head) {
		struct zc__tz_desc d;
		const struct zc__tz_desc *sd = zc__tz_rx_slot(me, tail);
		zc__tz_desc_read_fixed(sd, &d);
		if (d.deliver_at > now)
			break;
		/* the copy is what is checked and used */
		zc__tz_desc_read_rest(sd, &d);
		if (!zc__desc_valid(t, &d)) {
			t->st.rx_dropped++;
			tail++;
			continue;
		}
		struct zc_mbuf *m = zc__rx_one(t, &d, now);
		if (m == NULL) {
			t->st.rx_dropped++;
			tail++;
			continue;
		}
		tail++;
		t->st.rx_packets++;
		t->st.rx_bytes += m->pkt_len;
		pkts[got++] = m;
	}
	zc__tz_set_rx_tail(me, tail, memory_order_release);
	return got;
}

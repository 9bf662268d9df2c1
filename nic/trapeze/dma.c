/*
 * dma.c - what the simulated NIC's DMA engine does with frames: it keeps the
 * post ring filled with free frames for the peer to trade or copy into
 * (refill), copies a pulled payload out of the sender's frames on the
 * receiving side (pull), copies a payload the peer cannot read into frames
 * of the sending port (stage), and frees pulled packets once the peer has
 * read them (reap). Each copy is counted as DMA bytes.
 *
 * Receive (rx.c) refills and reaps at each burst and pulls each pull
 * descriptor; transmit (tx.c) reaps at each burst and stages a packet with
 * payload in user memory.
 */
#include "nic/trapeze/trapeze_priv.h"
#include "stack/wire.h"

#include <string.h>

void zc__refill(struct zc__trapeze *t)
{
	struct zc__tz_port *me = t->me;
	uint32_t head = zc__tz_post_head(me, memory_order_relaxed);
	uint32_t have = zc__tz_post_count(me);
	uint32_t n = 0;
	while (have + n < t->post_target) {
		int64_t f = zc_pool_frame_alloc(t->nif.pool);
		if (f < 0)
			break;
		zc__tz_post_set(me, head + n, (uint32_t)f);
		n++;
	}
	if (n)
		zc__tz_set_post_head(me, head + n, memory_order_release);
}


/* Pull: the receiving side's DMA copies the payload out of the sender's
 * frames into frames of its own (placed by sequence number when it can, in
 * page frames otherwise), summing as it goes; it finishes the checksum the
 * sender left partial, or verifies a complete one. */
struct zc_mbuf *zc__rx_pull(struct zc__trapeze *t, const struct zc__tz_desc *d, uint64_t now)
{
	struct zc_pool *pool = t->nif.pool;
	struct zc_mbuf *h = zc_mbuf_alloc(pool);
	if (h == NULL)
		return NULL;
	memcpy(h->data, d->ctrl, d->ctrl_len);
	h->len = h->pkt_len = d->ctrl_len;
	h->tstamp = now;
	if (!zc__place(t, h, d->payload_len)) {
		for (uint32_t left = d->payload_len; left;) {
			struct zc_mbuf *f = zc_mbuf_alloc_frame(pool);
			if (f == NULL) {
				zc_mbuf_free(h);
				return NULL;
			}
			f->len = f->pkt_len = left < t->page ? left : t->page;
			left -= f->len;
			zc_mbuf_cat(h, f);
		}
	}
	/* fill the segments from the sender's pieces */
	uint32_t sum = 0, pos = 0, si = 0, soff = 0;
	for (struct zc_mbuf *g = h->next; g; g = g->next) {
		uint32_t filled = 0;
		while (filled < g->len && si < d->nsrc) {
			const struct zc__tz_src *r = &d->src[si];
			uint32_t k = r->len - soff < g->len - filled ? r->len - soff : g->len - filled;
			uint32_t part = zc_csum_copy(g->data + filled, zc_pool_frame_addr(pool, r->frame) + r->off + soff, k);
			if (pos & 1)
				part = zc_csum_swap(part);
			sum = zc_csum_combine(sum, part);
			filled += k;
			pos += k;
			soff += k;
			if (soff == r->len) {
				si++;
				soff = 0;
			}
		}
	}
	t->st.dma_bytes += d->payload_len;
	struct zc_hdr_peek pk;
	if (zc_hdr_peek(h->data, h->len, &pk) && pk.csum_off) {
		if (d->flags & ZC__TZ_DESC_CSUM_REQ) {
			zc_l4_csum_finish(h->data, h->len, &pk, sum);
			h->flags |= ZC_MBUF_F_L4_CSUM_OK;
		} else if (zc_l4_csum_check(h->data, h->len, h->pkt_len, &pk, sum)) {
			/* a checksum the sender computed: verified in the same pass */
			h->flags |= ZC_MBUF_F_L4_CSUM_OK;
		}
	}
	return h;
}

/* A copy of packet m: its head segment, then the payload in frames of this
 * port (the transmit DMA, counted); m is freed. NULL (m untouched) when
 * frames or headers run out. */
struct zc_mbuf *zc__stage(struct zc__trapeze *t, struct zc_mbuf *m)
{
	struct zc_pool *pool = t->nif.pool;
	if (m->len == 0 || m->len > ZC_TRAPEZE_CTRL_MAX)
		return NULL;
	struct zc_mbuf *h = zc_mbuf_alloc(pool);
	if (h == NULL)
		return NULL;
	memcpy(h->data, m->data, m->len);
	h->len = h->pkt_len = m->len;
	h->flags = m->flags;
	uint32_t payload = m->pkt_len - m->len;
	for (uint32_t off = 0; off < payload;) {
		struct zc_mbuf *f = zc_mbuf_alloc_frame(pool);
		if (f == NULL) {
			zc_mbuf_free(h);
			return NULL;
		}
		uint32_t k = payload - off < t->page ? payload - off : t->page;
		zc_mbuf_copydata(m, m->len + off, k, f->data);
		f->len = f->pkt_len = k;
		zc_mbuf_cat(h, f);
		off += k;
	}
	t->st.dma_bytes += payload;
	zc_mbuf_free(m);
	return h;
}

/* Free the pull packets the peer has consumed. */
void zc__reap(struct zc__trapeze *t)
{
	if (t->nheld == 0) {
		/* nothing held: every slot below our head is empty */
		t->reaped = zc__tz_rx_head(t->peer, memory_order_relaxed);
		return;
	}
	uint32_t tail = zc__tz_rx_tail(t->peer, memory_order_acquire);
	t->peer_tail = tail;
	while ((int32_t)(tail - t->reaped) > 0) {
		struct zc_mbuf **h = &t->held[t->reaped % ZC__TZ_RX_RING];
		if (*h) {
			zc_mbuf_free(*h);
			*h = NULL;
			t->nheld--;
		}
		t->reaped++;
	}
}

void zc_trapeze_reap(struct zc_netif *nif)
{
	zc__reap(zc__tz(nif));
	zc__flows_release(zc__tz(nif));
}

uint32_t zc_trapeze_posted(struct zc_netif *nif)
{
	return zc__tz_post_count(zc__tz(nif)->me);
}

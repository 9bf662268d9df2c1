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
#include <time.h>

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
/* The head of a pulled or referenced packet: its control message. */
static struct zc_mbuf *zc__rx_head(struct zc_pool *pool, const struct zc__tz_desc *d, uint64_t now)
{
	struct zc_mbuf *h = zc_mbuf_alloc(pool);
	if (h == NULL)
		return NULL;
	memcpy(h->data, d->ctrl, d->ctrl_len);
	h->len = h->pkt_len = d->ctrl_len;
	h->tstamp = now;
	return h;
}

struct zc_mbuf *zc__rx_pull(struct zc__trapeze *t, const struct zc__tz_desc *d, uint64_t now)
{
	struct zc_pool *pool = t->nif.pool;
	struct zc_mbuf *h = zc__rx_head(pool, d, now);
	if (h == NULL)
		return NULL;
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

/* The peer is gone for good (left, or dead for a second, so that a process
 * of its stack taking the port over has had its time): every reference it
 * held comes back. */
static bool zc__peer_gone(struct zc__trapeze *t)
{
	int32_t pid = zc__tz_owner(t->peer, memory_order_acquire);
	if (pid == 0)
		return true;
	if (++t->ref_checks < 4096)
		return false;
	t->ref_checks = 0;
	if (zc__pid_alive(pid)) {
		t->ref_dead = 0;
		return false;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (t->ref_dead != pid) {
		t->ref_dead = pid;
		t->ref_dead_since = now;
		return false;
	}
	return now - t->ref_dead_since >= 1000000000u;
}

static void zc__ref_free(struct zc__trapeze *t, uint32_t slot)
{
	zc_mbuf_free(t->refs[slot]);
	t->refs[slot] = NULL;
	t->ref_free[t->nref_free++] = slot;
}

/* Free the pull packets the peer has consumed, and those whose references
 * it gave back (ids are checked: a stale or forged one frees nothing). */
void zc__reap(struct zc__trapeze *t)
{
	if (t->nref_free < ZC__TZ_REFS) {
		uint32_t head = zc__tz_ret_head(t->peer, memory_order_acquire);
		if (head - t->ret_tail > ZC__TZ_REFS) /* a peer's bad index: skip to it */
			t->ret_tail = head - ZC__TZ_REFS;
		while (t->ret_tail != head) {
			uint32_t v = zc__tz_ret_get(t->peer, t->ret_tail++);
			uint32_t slot = v % ZC__TZ_REFS;
			if (t->refs[slot] && t->ref_val[slot] == v) {
				zc__ref_free(t, slot);
				t->ref_taken_back++;
			} else {
				t->ref_bad++;
			}
		}
		if (t->nref_free < ZC__TZ_REFS && zc__peer_gone(t)) {
			for (uint32_t i = 0; i < ZC__TZ_REFS; i++)
				if (t->refs[i]) {
					zc__ref_free(t, i);
					t->ref_taken_back++;
				}
		}
	}
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

/* Receive by reference: the packet's payload segments point at the
 * sender's pieces in the wire's file (which this port maps whole), all
 * counting on one shared info; the stack never writes received payload,
 * and views of it are read-only (the socket layer's view of the file); the id goes back once the last of them is freed
 * (zc__ref_return). The sender left the checksum to the NIC: the bytes
 * never left memory, so it is trusted without a pass over them, as Linux
 * trusts loopback's (CHECKSUM_UNNECESSARY); the fault layer clears the mark
 * on what it corrupts. */
struct zc_mbuf *zc__rx_ref(struct zc__trapeze *t, const struct zc__tz_desc *d, uint64_t now)
{
	struct zc_pool *pool = t->nif.pool;
	uint32_t slot = d->ref % ZC__TZ_REFS;
	struct zc_mbuf *h = zc__rx_head(pool, d, now);
	if (h == NULL)
		return NULL;
	struct zc_ext_shinfo *sh = &t->refsh[slot];
	sh->free_cb = NULL;
	sh->arg = NULL;
	sh->refcnt = 0;
	for (uint32_t i = 0; i < d->nsrc; i++) {
		const struct zc__tz_src *r = &d->src[i];
		if (r->len == 0)
			continue;
		uint8_t *p = zc_pool_frame_addr(pool, r->frame) + r->off;
		struct zc_mbuf *g = zc_mbuf_attach_ext(pool, p, r->len, sh);
		if (g == NULL) {
			zc_mbuf_free(h); /* frees the pieces taken so far; the slot is not held yet */
			sh->refcnt = 0;
			return NULL;
		}
		g->len = g->pkt_len = r->len;
		zc_mbuf_cat(h, g);
	}
	struct zc_hdr_peek pk;
	if (zc_hdr_peek(h->data, h->len, &pk) && pk.csum_off)
		h->flags |= ZC_MBUF_F_L4_CSUM_OK;
	t->ref_held[slot] = 1;
	t->ref_id[slot] = d->ref;
	t->refout[t->nrefout++] = slot;
	t->ref_bytes += d->payload_len;
	return h;
}

/* Give an id back through our return ring. */
static void zc__ret_put(struct zc__trapeze *t, uint32_t id, uint32_t *head)
{
	zc__tz_ret_set(t->me, (*head)++, id);
	t->ref_given++;
}

void zc__ref_return(struct zc__trapeze *t)
{
	if (t->nrefout == 0)
		return;
	uint32_t head = zc__tz_ret_head(t->me, memory_order_relaxed), h0 = head;
	for (uint32_t i = 0; i < t->nrefout;) {
		uint32_t slot = t->refout[i];
		if (t->refsh[slot].refcnt) {
			i++;
			continue;
		}
		t->ref_held[slot] = 0;
		zc__ret_put(t, t->ref_id[slot], &head);
		t->refout[i] = t->refout[--t->nrefout];
	}
	if (head != h0)
		zc__tz_set_ret_head(t->me, head, memory_order_release);
}

/* A reference offered and not kept (pulled, or refused): straight back. */
void zc__ref_decline(struct zc__trapeze *t, uint32_t id)
{
	uint32_t head = zc__tz_ret_head(t->me, memory_order_relaxed);
	zc__ret_put(t, id, &head);
	zc__tz_set_ret_head(t->me, head, memory_order_release);
}

void zc_trapeze_reap(struct zc_netif *nif)
{
	zc__ref_return(zc__tz(nif));
	zc__reap(zc__tz(nif));
	zc__flows_release(zc__tz(nif));
}

uint32_t zc_trapeze_posted(struct zc_netif *nif)
{
	return zc__tz_post_count(zc__tz(nif)->me);
}

/*
 * tx.c - transmit: each packet becomes one descriptor in the peer's receive
 * ring (rx.c reads it there), by one of three paths:
 *   trade  the payload is whole page frames of our pool held once: they go
 *          to the peer, and as many of its posted frames come to us;
 *   pull   the payload is references to frames we own and keep (a send
 *          buffer): the descriptor lists the pieces and the peer's DMA
 *          copies them out (dma.c), while we hold the packet until it has;
 *          or, offered by an id, the peer keeps references to the pieces
 *          and we hold the packet until the peer gives the id back;
 *   copy   anything else: headers in the control message (a small packet
 *          whole), the payload copied into the peer's posted frames.
 * The NIC fills an offloaded TCP/UDP checksum as it reads or copies the
 * payload; a burst ends by raising the peer's interrupt if it sleeps.
 */
#include "nic/trapeze/trapeze_priv.h"
#include "stack/log.h"
#include "stack/selfpid.h"
#include "stack/wire.h"

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

/* Header bytes to put in the control message of a frame whose first bytes are b. */
static uint32_t zc__split_len(const uint8_t *b, uint32_t avail, uint32_t total)
{
	struct zc_hdr_peek pk;
	zc_hdr_peek(b, avail, &pk);
	uint32_t h = pk.hdr_len;
	if (h > ZC_TRAPEZE_CTRL_MAX)
		h = ZC_TRAPEZE_CTRL_MAX;
	if (h > total)
		h = total;
	return h;
}

/* The copy path's separation: the sender's own when it made one, else parse. */
static uint32_t zc__copy_split(struct zc__trapeze *t, const struct zc_mbuf *m, bool small)
{
	uint32_t split;
	if (small) {
		split = m->pkt_len;
	} else if (m->next && m->len > 0 && m->len <= ZC_TRAPEZE_CTRL_MAX) {
		split = m->len;
	} else {
		uint8_t first[ZC_TRAPEZE_CTRL_MAX];
		uint32_t avail = zc_mbuf_copydata(m, 0, sizeof(first), first);
		split = zc__split_len(first, avail, m->pkt_len);
	}
	/* a payload one page too long: fill the control message
	 * with the first payload bytes, as far as it holds them */
	if (m->pkt_len - split > t->maxpages * t->page && m->pkt_len > ZC_TRAPEZE_CTRL_MAX)
		split = ZC_TRAPEZE_CTRL_MAX;
	return split;
}

/* Can the payload segments be handed over as they are? */
static bool zc__zc_eligible(struct zc__trapeze *t, const struct zc_mbuf *m, unsigned *npages)
{
	if (m->len == 0 || m->len > ZC_TRAPEZE_CTRL_MAX)
		return false;
	unsigned n = 0;
	for (const struct zc_mbuf *s = m->next; s; s = s->next) {
		if (s->kind != ZC_MBUF_FRAME_BUF || s->pool != t->nif.pool || s->data != s->buf ||
		    s->len == 0 || s->len > t->page || (s->next && s->len != t->page) ||
		    zc_pool_frame_refcnt(s->pool, s->frame) != 1)
			return false;
		n++;
	}
	*npages = n;
	return true;
}

/* Pull: a header segment, then pieces of frames this port owns (a send
 * buffer's references): the receiver can copy them out of the shared file
 * while the sender holds them. */
static bool zc__pull_eligible(struct zc__trapeze *t, const struct zc_mbuf *m, unsigned *nsrc)
{
	if (m->len == 0 || m->len > ZC_TRAPEZE_CTRL_MAX || m->next == NULL ||
	    m->pkt_len - m->len > t->maxpages * t->page)
		return false;
	unsigned k = 0;
	for (const struct zc_mbuf *s = m->next; s; s = s->next) {
		if (s->len == 0)
			continue;
		if (s->kind != ZC_MBUF_FRAME_BUF || s->pool != t->nif.pool || !zc_pool_owns(s->pool, s->frame) ||
		    ++k > ZC__TZ_MAX_SRC)
			return false;
	}
	*nsrc = k;
	return k > 0;
}

static bool zc__has_ext(const struct zc_mbuf *m)
{
	for (const struct zc_mbuf *s = m->next; s; s = s->next)
		if (s->kind == ZC_MBUF_EXT_BUF && s->len)
			return true;
	return false;
}

/* Pull: the receiver's DMA reads our frames; we keep them until it has. */
static void zc__desc_pull(struct zc__tz_desc *d, const struct zc_mbuf *m, bool csum, unsigned np,
			  uint32_t payload)
{
	zc__tz_desc_set(d, ZC__TZ_DESC_PULL | (csum ? ZC__TZ_DESC_CSUM_REQ : 0), (uint16_t)m->len, (uint8_t)np,
			payload);
	memcpy(zc__tz_desc_ctrl(d), m->data, m->len);
	uint32_t k = 0;
	for (const struct zc_mbuf *sg = m->next; sg; sg = sg->next) {
		if (sg->len == 0)
			continue;
		zc__tz_desc_set_src(d, k++, sg->frame, (uint32_t)(sg->data - sg->buf), sg->len);
	}
	zc__tz_desc_set_nsrc(d, k);
}

/* Trade: our payload frames go to the peer, its posted frames (from *ptail
 * on) come to us. */
static void zc__desc_trade(struct zc__trapeze *t, struct zc__tz_desc *d, struct zc_mbuf *m,
			   const struct zc_hdr_peek *pk, bool csum, unsigned np, uint32_t payload, uint32_t *ptail)
{
	struct zc_pool *pool = t->nif.pool;
	zc__tz_desc_set(d, 0, (uint16_t)m->len, (uint8_t)np, payload);
	uint8_t *ctrl = zc__tz_desc_ctrl(d);
	memcpy(ctrl, m->data, m->len);
	if (csum) { /* the NIC reads the payload it hands over */
		zc_l4_csum_finish(ctrl, (uint16_t)m->len, pk, zc_csum_mbuf(0, m, m->len, m->pkt_len - m->len));
		zc__tz_desc_add_flags(d, ZC__TZ_DESC_CSUM);
	}
	unsigned k = 0;
	for (struct zc_mbuf *s = m->next; s; s = s->next, k++) {
		uint32_t r = zc__tz_post_get(t->peer, (*ptail)++);
		int64_t f = zc_mbuf_detach_frame(s);
		/* the peer validates r when it reads the descriptor; we must too */
		if (zc_pool_adopt_frame(pool, r) == 0)
			zc_pool_frame_put(pool, r);
		zc_pool_give_frame(pool, (uint32_t)f);
		zc__tz_desc_set_page(d, k, (uint32_t)f, r);
	}
	t->st.zc_frames += np;
}

/* Copy: the first split bytes into the control message, the payload into
 * the peer's posted frames (from *ptail on) by the transmit DMA. */
static void zc__desc_copy(struct zc__trapeze *t, struct zc__tz_desc *d, const struct zc_mbuf *m,
			  const struct zc_hdr_peek *pk, bool csum, uint32_t split, unsigned np, uint32_t payload,
			  uint32_t *ptail)
{
	struct zc_pool *pool = t->nif.pool;
	zc__tz_desc_set(d, ZC__TZ_DESC_COPY, (uint16_t)split, (uint8_t)np, payload);
	uint8_t *ctrl = zc__tz_desc_ctrl(d);
	zc_mbuf_copydata(m, 0, split, ctrl);
	csum = csum && zc_hdr_csum_within(pk, split);
	uint32_t psum = 0;
	for (unsigned k = 0; k < np; k++) {
		uint32_t r = zc__tz_post_get(t->peer, (*ptail)++);
		uint32_t off = split + k * t->page;
		uint32_t len = payload - k * t->page;
		if (len > t->page)
			len = t->page;
		/* never write a frame of ours that a bad post names */
		if (r < t->nframes && !zc_pool_owns(pool, r)) {
			if (csum) /* the DMA engine sums as it copies */
				psum = zc_csum_combine(psum, zc_csum_copy_mbuf(m, off, len, zc_pool_frame_addr(pool, r)));
			else
				zc_mbuf_copydata(m, off, len, zc_pool_frame_addr(pool, r));
		}
		zc__tz_desc_set_page(d, k, r, 0);
	}
	if (csum) {
		zc_l4_csum_finish(ctrl, (uint16_t)split, pk, psum);
		zc__tz_desc_add_flags(d, ZC__TZ_DESC_CSUM);
	}
	t->st.dma_bytes += payload;
}

/* When a packet of wire_bytes sent now arrives: after the link's rate (the
 * packets before it go first) and the propagation delay. */
static uint64_t zc__deliver_at(struct zc__trapeze *t, uint32_t wire_bytes, uint64_t now)
{
	if (t->rate_bps) {
		uint64_t start = now > t->link_free_at ? now : t->link_free_at;
		t->link_free_at = start + (uint64_t)wire_bytes * 8u * 1000000000u / t->rate_bps;
		return t->link_free_at + t->delay_ns;
	}
	return now + t->delay_ns;
}

/* This process's entry in the kicker table: its own, else a free one or
 * one whose process is gone (its fd went with it). NULL: table full. */
static struct zc__tz_kicker *zc__kicker(struct zc__trapeze *t, int32_t pid)
{
	struct zc__tz_kicker *spare = NULL;
	for (unsigned i = 0; i < ZC__TZ_KICKERS; i++) {
		struct zc__tz_kicker *k = &t->kick[i];
		if (k->pid == pid)
			return k;
		if (spare == NULL && (k->pid == 0 || !zc__pid_alive(k->pid)))
			spare = k;
	}
	if (spare) {
		spare->pid = pid;
		spare->fd = -1;
	}
	return spare;
}

/* Wake a sleeping peer: a byte into its FIFO. The FIFO is opened by path
 * (a process of another user can: nginx's workers run as nobody), once per
 * process and per claim of the peer's port. */
void zc__kick(struct zc__trapeze *t)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!zc__tz_sleeping(t->peer, memory_order_relaxed))
		return;
	uint32_t gen = zc__tz_gen(t->peer);
	struct zc__tz_kicker *k = zc__kicker(t, (int32_t)zc_self_pid());
	if (k == NULL)
		return; /* more processes than entries: the peer wakes on its timeout */
	if (k->fd < 0 || gen != k->gen) {
		if (k->fd >= 0)
			close(k->fd);
		k->fd = open(t->peer_irq_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (k->fd < 0) {
			/* ENOENT: the peer is between claims; ENXIO: nobody reads
			 * it (the peer died); anything else is told */
			if (errno != ENOENT && errno != ENXIO && !t->irq_warned) {
				ZC_WARN("trapeze %s: cannot open the peer's interrupt %s: %s; "
					"the peer wakes on its timeout only",
					t->nif.name, t->peer_irq_path, strerror(errno));
				t->irq_warned = true;
			}
			return;
		}
		k->gen = gen;
	}
	/* EAGAIN: the FIFO is full of wake-ups the peer has not read yet */
	if (write(k->fd, "", 1) == 1) {
		t->st.irq_raised++;
	} else if (errno == EPIPE) {
		/* the peer died asleep (nobody reads its FIFO): open it again
		 * next time, which fails (ENXIO) while nobody does, rather than
		 * write into it (EPIPE and SIGPIPE) at every wake-up */
		close(k->fd);
		k->fd = -1;
	}
}

int zc__tz_tx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__trapeze *t = zc__tz(nif);
	struct zc__tz_port *peer = t->peer;
	/* inside a burst (odd), then look at the peer: a peer that leaves
	 * clears its pid and then waits for an odd count to end. Link down:
	 * frames are lost, as on a cable with nobody at the end */
	uint32_t seq = zc__tz_tx_seq(t->me, memory_order_relaxed);
	zc__tz_set_tx_seq(t->me, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	if (zc__tz_owner(peer, memory_order_relaxed) == 0) {
		zc__tz_set_tx_seq(t->me, seq + 2, memory_order_release);
		for (int i = 0; i < n; i++)
			zc_mbuf_free(pkts[i]);
		t->st.tx_dropped += (uint64_t)n;
		return n;
	}
	zc__ref_return(t);
	zc__reap(t);
	uint32_t head = zc__tz_rx_head(peer, memory_order_relaxed);
	uint32_t ptail = zc__tz_post_tail(peer, memory_order_relaxed);
	const uint32_t ptail0 = ptail;
	const uint32_t maxpages = t->maxpages;
	int i;
	for (i = 0; i < n; i++) {
		struct zc_mbuf *m = pkts[i];
		if (zc__tz_rx_full(head, t->peer_tail) &&
		    zc__tz_rx_full(head, t->peer_tail = zc__tz_rx_tail(peer, memory_order_acquire))) {
			t->st.tx_busy++;
			break;
		}
		unsigned np = 0, nsrc = 0;
		/* a small packet goes whole in the control message */
		bool small = m->pkt_len <= ZC__TZ_CTRL_BYTES;
		bool zc = !small && zc__zc_eligible(t, m, &np);
		bool pull = !small && !zc && zc__pull_eligible(t, m, &nsrc);
		if (!small && !zc && !pull && zc__has_ext(m)) {
			/* payload in memory the peer cannot read (a user's pages sent
			 * by reference): the transmit DMA stages it in frames of
			 * ours, and the receiver pulls it from there like the rest,
			 * so its placement works for it too */
			struct zc_mbuf *sm = zc__stage(t, m);
			if (sm) {
				pkts[i] = m = sm;
				pull = zc__pull_eligible(t, m, &nsrc);
			}
		}
		uint32_t split = 0, payload;
		if (zc) {
			payload = m->pkt_len - m->len;
		} else if (pull) {
			payload = m->pkt_len - m->len;
			np = (payload + t->page - 1) / t->page;
		} else {
			split = zc__copy_split(t, m, small);
			payload = m->pkt_len - split;
			np = (payload + t->page - 1) / t->page;
		}
		if (np > maxpages || m->pkt_len == 0) {
			t->st.tx_dropped++;
			zc_mbuf_free(m);
			continue;
		}
		if (t->peer_phead - ptail < np &&
		    (t->peer_phead = zc__tz_post_head(peer, memory_order_acquire)) - ptail < np) {
			t->st.tx_busy++;
			break;
		}
		struct zc__tz_desc *d = zc__tz_rx_slot(peer, head);
		uint32_t wire_bytes = m->pkt_len;
		/* checksum offload: where the field is in the headers */
		struct zc_hdr_peek pk = { 0 };
		bool csum = (m->flags & ZC_MBUF_F_TX_L4_CSUM) &&
			    zc_hdr_peek(m->data, m->len < ZC_TRAPEZE_CTRL_MAX ? m->len : ZC_TRAPEZE_CTRL_MAX, &pk) &&
			    pk.csum_off;
		if (pull)
			zc__desc_pull(d, m, csum, np, payload);
		else if (zc)
			zc__desc_trade(t, d, m, &pk, csum, np, payload, &ptail);
		else
			zc__desc_copy(t, d, m, &pk, csum, split, np, payload, &ptail);
		zc__tz_desc_set_due(d, zc__deliver_at(t, wire_bytes, now));
		if (pull && csum && t->ref_tx && t->nref_free) {
			/* the peer may keep the pieces where they are: held by id
			 * until it gives the id back */
			uint32_t slot = t->ref_free[--t->nref_free];
			uint32_t v = slot + ZC__TZ_REFS * (++t->ref_serial % (UINT32_MAX / ZC__TZ_REFS));
			t->refs[slot] = m;
			t->ref_val[slot] = v;
			zc__tz_desc_set_ref(d, v);
		} else if (pull) {
			t->held[head % ZC__TZ_RX_RING] = m;
			t->nheld++;
		} else
			zc_mbuf_free(m);
		head++;
		t->st.tx_packets++;
		t->st.tx_bytes += wire_bytes;
	}
	if (ptail != ptail0)
		zc__tz_set_post_tail(peer, ptail, memory_order_release);
	zc__tz_set_rx_head(peer, head, memory_order_release);
	zc__tz_set_tx_seq(t->me, seq + 2, memory_order_release);
	if (i > 0)
		zc__kick(t);
	return i;
}

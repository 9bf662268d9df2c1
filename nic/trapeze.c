/*
 * trapeze.c - the simulated Trapeze NIC (see trapeze.h).
 *
 * Shared file layout:  [ struct zc__tz_shared | padding to a page | frames ]
 * Each port has an SPSC receive ring of descriptors (written by the peer's
 * tx_burst, read by this port's rx_burst) and an SPSC post ring of free frame
 * indices (written by this port, read by the peer when it trades). Indices
 * are free-running uint32 counters; acquire/release orders the entries.
 *
 * Interrupts: a port that wants to sleep sets "sleeping", then re-checks its
 * ring (a Dekker pair with the sender's fence); a sender that sees "sleeping"
 * writes the peer's eventfd, which it obtained with pidfd_getfd(2).
 *
 * Descriptors come from another process and are validated before use: a bad
 * one is dropped and counted, never followed.
 */
#include "nic/trapeze.h"
#include "nic/trapeze_priv.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ZC__TZ_MAGIC 0x5a4354524150455aULL
#define ZC__TZ_VERSION 4u
#define ZC__TZ_RX_RING 256u   /* descriptors per port */
#define ZC__TZ_POST_RING 4096u /* posted frames per port */
#define ZC__TZ_DESC_COPY 0x1u /* pages are the receiver's own posted frames */
#define ZC__TZ_DESC_CSUM 0x2u /* the NIC computed the TCP/UDP checksum over these bytes */
#define ZC__TZ_DESC_PULL 0x4u /* the receiver copies the payload from src[] (sender's frames) */
#define ZC__TZ_DESC_CSUM_REQ 0x8u /* pull: the field holds the pseudo sum, finish it */
#define ZC__TZ_MAX_SRC 24u    /* pull: pieces of the sender's frames per packet */
/* Control message room: headers (<= ZC_TRAPEZE_CTRL_MAX) on the payload
 * paths; a whole small packet (up to this size) travels in it alone, as a
 * Trapeze control message without payload did. */
#define ZC__TZ_CTRL_BYTES 256u

struct zc__tz_src {
	uint32_t frame, off, len;
};

/* What the receiver reads of a small packet comes first: the fixed fields
 * and the control message share the first three cache lines; the page and
 * piece lists follow and are read only as far as npages/nsrc say (every
 * line crossing between the two processes' cores costs ~0.3 us here). */
struct zc__tz_desc {
	uint64_t deliver_at;
	uint32_t payload_len;
	uint16_t ctrl_len;
	uint8_t npages;
	uint8_t flags;
	uint32_t nsrc;
	uint32_t pad;
	uint8_t ctrl[ZC__TZ_CTRL_BYTES];
	uint32_t pages[ZC_TRAPEZE_MAX_PAGES]; /* frames delivered */
	uint32_t taken[ZC_TRAPEZE_MAX_PAGES]; /* receiver's posted frames traded away */
	struct zc__tz_src src[ZC__TZ_MAX_SRC]; /* pull: where the payload lies */
} __attribute__((aligned(64)));

struct zc__tz_port {
	_Atomic int32_t owner_pid;  /* 0: unclaimed */
	_Atomic int32_t efd;        /* the owner's eventfd number, in its process */
	_Atomic uint32_t gen;       /* bumped at each claim */
	_Atomic uint32_t sleeping;
	_Atomic uint32_t rx_head __attribute__((aligned(64))); /* written by the peer */
	_Atomic uint32_t rx_tail __attribute__((aligned(64))); /* written by the owner */
	_Atomic uint32_t post_head __attribute__((aligned(64))); /* written by the owner */
	_Atomic uint32_t post_tail __attribute__((aligned(64))); /* written by the peer */
	/* written by the owner: odd while inside a transmit burst (a port that
	 * leaves waits for its peer's burst to end); clean: the owner left in
	 * order, and its frames are listed in its part of the ownership map
	 * after the frames (the next owner of the port takes them over) */
	_Atomic uint32_t tx_seq __attribute__((aligned(64)));
	_Atomic uint32_t clean;
	struct zc__tz_desc rx[ZC__TZ_RX_RING];
	uint32_t post[ZC__TZ_POST_RING];
};

#define ZC__TZ_FLOWS 8u
#define ZC__TZ_FLOW_RANGES 16u
/* One flow's receive placement; the key fields first. */
struct zc__tz_flow {
	uint32_t saddr, daddr;
	uint16_t sport, dport;
	bool used;
	uint32_t base;         /* sequence number at offset 0 of window 0 */
	uint32_t win;          /* window (2 MiB of sequence space) of tmpl's frame */
	struct zc_mbuf *tmpl;  /* holds the current frame; NULL: none */
	uint64_t lru;
	bool full;             /* window win was written whole and let go */
	uint32_t nr;           /* byte ranges of the frame written so far */
	uint32_t r[ZC__TZ_FLOW_RANGES][2];
};

struct zc__tz_shared {
	_Atomic uint64_t magic; /* set last, when the file is initialised */
	uint32_t version;
	uint32_t page_size;
	uint32_t mtu;
	uint32_t nframes;
	uint64_t frames_off;
	struct zc__tz_port port[2];
};

struct zc__trapeze {
	struct zc_netif nif;
	char path[64];
	int fd;
	struct zc__tz_shared *sh;
	size_t sh_len;
	int port;
	struct zc__tz_port *me, *peer;
	int efd;
	int peer_efd;
	uint32_t peer_gen;
	bool irq_warned;
	uint32_t page;
	uint32_t maxpages;  /* payload pages per frame (the wire's MTU / page) */
	uint32_t nframes;   /* frames in the wire: read once, the file is shared */
	uint32_t post_target;
	uint64_t rate_bps, delay_ns, link_free_at;
	struct zc_netif_stats st;
	/* pull descriptors sent: the packets stay here (their frames readable by
	 * the peer) until the peer's rx_tail passes them */
	struct zc_mbuf *held[ZC__TZ_RX_RING];
	uint32_t reaped;
	uint32_t nheld;     /* non-NULL entries of held[] */
	/* the peer's rx_tail and post_head as last read: lines the peer writes
	 * are read again only when these say the ring is full, a posted frame
	 * is missing or a held packet waits (each read of a line the other
	 * core wrote costs ~0.3 us here) */
	uint32_t peer_tail, peer_phead;
	/* receive placement (rx_huge) */
	struct zc_pool *rxp;
	struct zc__tz_flow flows[ZC__TZ_FLOWS];
	uint64_t flow_clock, placed_bytes, place_nobuf;
};

static struct zc__trapeze *zc__tz(struct zc_netif *n) { return (struct zc__trapeze *)n; }

static bool zc__pid_alive(int32_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static size_t zc__shared_len(uint32_t page)
{
	return (sizeof(struct zc__tz_shared) + page - 1) / page * page;
}

static bool zc__name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > ZC_TRAPEZE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return n[0] != '.';
}

int zc_trapeze_unlink(const char *name)
{
	char path[64];
	if (!zc__name_ok(name))
		return -EINVAL;
	snprintf(path, sizeof(path), "/dev/shm/zcwire-%s", name);
	return unlink(path) == 0 ? 0 : -errno;
}

/* Reset rings and claims; caller holds the file lock and no live process uses the wire. */
static void zc__reset_ports(struct zc__tz_shared *sh)
{
	for (int p = 0; p < 2; p++) {
		struct zc__tz_port *pt = &sh->port[p];
		atomic_store(&pt->owner_pid, 0);
		atomic_store(&pt->efd, -1);
		atomic_store(&pt->sleeping, 0);
		atomic_store(&pt->rx_head, 0);
		atomic_store(&pt->rx_tail, 0);
		atomic_store(&pt->post_head, 0);
		atomic_store(&pt->post_tail, 0);
		atomic_store(&pt->tx_seq, 0);
		atomic_store(&pt->clean, 0);
	}
}

/* The ownership map: after the frames, one bitmap of nframes bits per port. */
static size_t zc__map_bytes(uint32_t nframes) { return ((size_t)nframes + 63) / 64 * 8; }
/* Both ports' bitmaps, in whole pages (the file's tail). */
static size_t zc__maps_len(uint32_t nframes, size_t page)
{
	return (2 * zc__map_bytes(nframes) + page - 1) / page * page;
}

static uint64_t *zc__map_port(struct zc__trapeze *t, uint32_t nframes, uint64_t frames_off, int port,
			      void **base, size_t *len)
{
	size_t page = t->page, start = frames_off + (size_t)nframes * page;
	*len = zc__maps_len(nframes, page);
	*base = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, (off_t)start);
	if (*base == MAP_FAILED)
		return NULL;
	return (uint64_t *)((uint8_t *)*base + (size_t)port * zc__map_bytes(nframes));
}

/* --- receive ---------------------------------------------------------------- */

static uint32_t zc__post_count(struct zc__tz_port *p)
{
	return atomic_load_explicit(&p->post_head, memory_order_relaxed) -
	       atomic_load_explicit(&p->post_tail, memory_order_acquire);
}

static void zc__refill(struct zc__trapeze *t)
{
	struct zc__tz_port *me = t->me;
	uint32_t head = atomic_load_explicit(&me->post_head, memory_order_relaxed);
	uint32_t have = zc__post_count(me);
	uint32_t n = 0;
	while (have + n < t->post_target) {
		int64_t f = zc_pool_frame_alloc(t->nif.pool);
		if (f < 0)
			break;
		me->post[(head + n) % ZC__TZ_POST_RING] = (uint32_t)f;
		n++;
	}
	if (n)
		atomic_store_explicit(&me->post_head, head + n, memory_order_release);
}

static void zc__reap(struct zc__trapeze *t);

/* --- receive placement (see trapeze.h) ---------------------------------------- */

static bool zc__flow_key(const uint8_t *c, uint32_t len, struct zc__tz_flow *k, uint32_t *seq, uint8_t *flags)
{
	struct zc_tcp_flow_peek p;
	if (!zc_tcp_flow_peek(c, len, &p))
		return false;
	k->saddr = p.saddr;
	k->daddr = p.daddr;
	k->sport = p.sport;
	k->dport = p.dport;
	*seq = p.seq;
	*flags = p.flags;
	return true;
}

static void zc__flow_drop(struct zc__tz_flow *f)
{
	zc_mbuf_free(f->tmpl);
	f->tmpl = NULL;
	f->nr = 0;
}

static struct zc__tz_flow *zc__flow_find(struct zc__trapeze *t, const struct zc__tz_flow *k, bool make,
					  bool *made)
{
	*made = false;
	struct zc__tz_flow *victim = &t->flows[0];
	for (unsigned i = 0; i < ZC__TZ_FLOWS; i++) {
		struct zc__tz_flow *f = &t->flows[i];
		if (f->used && f->saddr == k->saddr && f->daddr == k->daddr && f->sport == k->sport &&
		    f->dport == k->dport) {
			f->lru = ++t->flow_clock;
			return f;
		}
		if (!f->used || (victim->used && f->lru < victim->lru))
			victim = f;
	}
	if (!make)
		return NULL;
	zc__flow_drop(victim);
	*victim = *k;
	victim->used = true;
	victim->lru = ++t->flow_clock;
	victim->win = 0;
	*made = true;
	return victim;
}

/* A SYN names the first sequence number of a flow's data: placement starts there. */
static void zc__flow_syn(struct zc__trapeze *t, const uint8_t *ctrl, uint32_t len)
{
	struct zc__tz_flow k = { 0 };
	uint32_t seq;
	uint8_t fl;
	if (!t->rxp || !zc__flow_key(ctrl, len, &k, &seq, &fl))
		return;
	bool made;
	struct zc__tz_flow *f = zc__flow_find(t, &k, (fl & ZC_TCP_SYN) != 0, &made);
	if (f == NULL)
		return;
	if (fl & ZC_TCP_SYN) {
		zc__flow_drop(f);
		f->base = seq + 1;
		f->win = 0;
	} else if (fl & ZC_TCP_RST) { /* the flow is over */
		zc__flow_drop(f);
		f->used = false;
	}
}

static bool zc__range_free(const struct zc__tz_flow *f, uint32_t a, uint32_t b)
{
	for (unsigned i = 0; i < f->nr; i++)
		if (a < f->r[i][1] && f->r[i][0] < b)
			return false;
	return true;
}

static void zc__range_add(struct zc__tz_flow *f, uint32_t a, uint32_t b)
{
	for (unsigned i = 0; i < f->nr; i++) {
		if (f->r[i][1] == a) {
			f->r[i][1] = b;
			for (unsigned j = 0; j < f->nr; j++) /* now touching the next one? */
				if (j != i && f->r[j][0] == b) {
					f->r[i][1] = f->r[j][1];
					f->r[j][0] = f->r[--f->nr][0];
					f->r[j][1] = f->r[f->nr][1];
					break;
				}
			return;
		}
		if (f->r[i][0] == b) {
			f->r[i][0] = a;
			return;
		}
	}
	f->r[f->nr][0] = a;
	f->r[f->nr][1] = b;
	f->nr++;
}

/* Where a pulled TCP payload goes: up to two segments (it may cross into
 * the next window) over the flow's frames, appended to h. false: nothing
 * changed, use page frames. */
static bool zc__place(struct zc__trapeze *t, struct zc_mbuf *h, uint32_t len)
{
	struct zc__tz_flow k = { 0 };
	uint32_t seq;
	uint8_t fl;
	if (t->rxp == NULL || len == 0 || !zc__flow_key(h->data, h->len, &k, &seq, &fl))
		return false;
	bool made;
	struct zc__tz_flow *f = zc__flow_find(t, &k, true, &made);
	if (made)
		f->base = seq; /* a flow met in the middle: place from here */
	const uint32_t fs = ZC_HUGE_FRAME;
	uint32_t rel = seq - f->base;
	uint32_t w = rel / fs, off = rel % fs;
	uint32_t first = fs - off < len ? fs - off : len;
	/* the piece in window w must go to the current frame (or open the
	 * next window); a second piece opens window w + 1 */
	/* windows count modulo 2^32 / 2 MiB (sequence numbers wrap every
	 * 4 GiB): d is how far ahead of the current window this one lies */
	const uint32_t nwin = (uint32_t)((1ull << 32) / fs);
	int32_t d = (int32_t)((w - f->win) & (nwin - 1));
	if (d >= (int32_t)nwin / 2)
		d -= (int32_t)nwin;
	bool cur = f->tmpl && d == 0;
	/* old windows are never written again; a jump ahead (a window that
	 * went to page frames) opens the new one */
	if (d < 0 || (d == 0 && !cur && f->full))
		return false;
	if (cur && (f->nr >= ZC__TZ_FLOW_RANGES || !zc__range_free(f, off, off + first)))
		return false;
	uint32_t need = (cur ? 0 : 1) + (first < len ? 1 : 0);
	struct zc_pool_stats ps;
	zc_pool_get_stats(t->rxp, &ps);
	if (ps.frames_free < need + 1) { /* keep one for a reader's trade */
		t->place_nobuf++;
		return false;
	}
	uint32_t done = 0;
	while (done < len) {
		if (!(f->tmpl && w == f->win)) {
			struct zc_mbuf *nt = zc_mbuf_alloc_frame(t->rxp);
			if (nt == NULL)
				break;
			zc__flow_drop(f);
			nt->len = nt->pkt_len = fs; /* references may cover the whole frame */
			f->tmpl = nt;
			f->win = w;
			f->full = false;
		}
		uint32_t k2 = fs - off < len - done ? fs - off : len - done;
		struct zc_mbuf *sg = zc_mbuf_ref(f->tmpl, off, k2);
		if (sg == NULL)
			break;
		zc__range_add(f, off, off + k2);
		sg->len = k2;
		sg->pkt_len = k2;
		zc_mbuf_cat(h, sg);
		if (f->nr == 1 && f->r[0][0] == 0 && f->r[0][1] == fs) {
			/* the window is whole: let the frame go now, so that a
			 * reader can take it before the next window begins */
			zc__flow_drop(f);
			f->full = true;
		}
		done += k2;
		w = (w + 1) & (nwin - 1);
		off = 0;
	}
	if (done < len) { /* out of headers half-way: undo the pieces */
		zc_mbuf_free(h->next);
		h->next = NULL;
		h->nb_segs = 1;
		h->pkt_len = h->len;
		return false;
	}
	t->placed_bytes += len;
	return true;
}

/* Pull: the receiving side's DMA copies the payload out of the sender's
 * frames into frames of its own (placed by sequence number when it can, in
 * page frames otherwise), summing as it goes; it finishes the checksum the
 * sender left partial, or verifies a complete one. */
static struct zc_mbuf *zc__rx_pull(struct zc__trapeze *t, const struct zc__tz_desc *d, uint64_t now)
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

/* Build an mbuf chain from a validated copy of a descriptor; NULL when out of mbufs. */
static struct zc_mbuf *zc__rx_one(struct zc__trapeze *t, const struct zc__tz_desc *d, uint64_t now)
{
	if (d->flags & ZC__TZ_DESC_PULL)
		return zc__rx_pull(t, d, now);
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

static int zc__tz_rx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__trapeze *t = zc__tz(nif);
	struct zc__tz_port *me = t->me;
	zc__reap(t);
	zc__refill(t);
	uint32_t tail = atomic_load_explicit(&me->rx_tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&me->rx_head, memory_order_acquire);
	int got = 0;
	while (got < n && tail != head) {
		struct zc__tz_desc d;
		const struct zc__tz_desc *sd = &me->rx[tail % ZC__TZ_RX_RING];
		memcpy(&d, sd, offsetof(struct zc__tz_desc, ctrl));
		if (d.deliver_at > now)
			break;
		/* the copy is what is checked and used; counts past their
		 * arrays are left for zc__desc_valid to refuse */
		if (d.ctrl_len <= ZC__TZ_CTRL_BYTES)
			memcpy(d.ctrl, sd->ctrl, d.ctrl_len);
		if (d.npages <= ZC_TRAPEZE_MAX_PAGES) {
			memcpy(d.pages, sd->pages, d.npages * sizeof(d.pages[0]));
			memcpy(d.taken, sd->taken, d.npages * sizeof(d.taken[0]));
		}
		if ((d.flags & ZC__TZ_DESC_PULL) && d.nsrc <= ZC__TZ_MAX_SRC)
			memcpy(d.src, sd->src, d.nsrc * sizeof(d.src[0]));
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
	atomic_store_explicit(&me->rx_tail, tail, memory_order_release);
	return got;
}

/* --- transmit --------------------------------------------------------------- */

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

static void zc__kick(struct zc__trapeze *t)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&t->peer->sleeping, memory_order_relaxed))
		return;
	uint32_t gen = atomic_load(&t->peer->gen);
	if (t->peer_efd < 0 || gen != t->peer_gen) {
		if (t->peer_efd >= 0)
			close(t->peer_efd);
		t->peer_efd = -1;
		int32_t pid = atomic_load(&t->peer->owner_pid);
		int32_t efd = atomic_load(&t->peer->efd);
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pidfd >= 0) {
			t->peer_efd = (int)syscall(SYS_pidfd_getfd, pidfd, efd, 0);
			close(pidfd);
		}
		if (t->peer_efd < 0) {
			if (!t->irq_warned)
				ZC_WARN("trapeze %s: cannot reach the peer's interrupt (pid %d): %s; "
					"the peer wakes on its timeout only",
					t->nif.name, pid, strerror(errno));
			t->irq_warned = true;
			return;
		}
		t->peer_gen = gen;
	}
	uint64_t one = 1;
	if (write(t->peer_efd, &one, sizeof(one)) == sizeof(one))
		t->st.irq_raised++;
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

/* A copy of packet m: its head segment, then the payload in frames of this
 * port (the transmit DMA, counted); m is freed. NULL (m untouched) when
 * frames or headers run out. */
static struct zc_mbuf *zc__stage(struct zc__trapeze *t, struct zc_mbuf *m)
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
static void zc__reap(struct zc__trapeze *t)
{
	if (t->nheld == 0) {
		/* nothing held: every slot below our head is empty */
		t->reaped = atomic_load_explicit(&t->peer->rx_head, memory_order_relaxed);
		return;
	}
	uint32_t tail = atomic_load_explicit(&t->peer->rx_tail, memory_order_acquire);
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

static int zc__tz_tx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct zc__trapeze *t = zc__tz(nif);
	struct zc__tz_port *peer = t->peer;
	struct zc_pool *pool = nif->pool;
	/* inside a burst (odd), then look at the peer: a peer that leaves
	 * clears its pid and then waits for an odd count to end. Link down:
	 * frames are lost, as on a cable with nobody at the end */
	uint32_t seq = atomic_load_explicit(&t->me->tx_seq, memory_order_relaxed);
	atomic_store_explicit(&t->me->tx_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&peer->owner_pid, memory_order_relaxed) == 0) {
		atomic_store_explicit(&t->me->tx_seq, seq + 2, memory_order_release);
		for (int i = 0; i < n; i++)
			zc_mbuf_free(pkts[i]);
		t->st.tx_dropped += (uint64_t)n;
		return n;
	}
	zc__reap(t);
	uint32_t head = atomic_load_explicit(&peer->rx_head, memory_order_relaxed);
	uint32_t ptail = atomic_load_explicit(&peer->post_tail, memory_order_relaxed);
	const uint32_t ptail0 = ptail;
	const uint32_t maxpages = t->maxpages;
	int i;
	for (i = 0; i < n; i++) {
		struct zc_mbuf *m = pkts[i];
		if (head - t->peer_tail >= ZC__TZ_RX_RING &&
		    head - (t->peer_tail = atomic_load_explicit(&peer->rx_tail, memory_order_acquire)) >=
			    ZC__TZ_RX_RING) {
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
			/* the sender's own separation when it made one, else parse */
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
			if (m->pkt_len - split > maxpages * t->page && m->pkt_len > ZC_TRAPEZE_CTRL_MAX)
				split = ZC_TRAPEZE_CTRL_MAX;
			payload = m->pkt_len - split;
			np = (payload + t->page - 1) / t->page;
		}
		if (np > maxpages || m->pkt_len == 0) {
			t->st.tx_dropped++;
			zc_mbuf_free(m);
			continue;
		}
		if (t->peer_phead - ptail < np &&
		    (t->peer_phead = atomic_load_explicit(&peer->post_head, memory_order_acquire)) - ptail < np) {
			t->st.tx_busy++;
			break;
		}
		struct zc__tz_desc *d = &peer->rx[head % ZC__TZ_RX_RING];
		d->npages = (uint8_t)np;
		d->payload_len = payload;
		uint32_t wire_bytes = m->pkt_len;
		/* checksum offload: where the field is in the headers */
		struct zc_hdr_peek pk;
		bool csum = (m->flags & ZC_MBUF_F_TX_L4_CSUM) &&
			    zc_hdr_peek(m->data, m->len < ZC_TRAPEZE_CTRL_MAX ? m->len : ZC_TRAPEZE_CTRL_MAX, &pk) &&
			    pk.csum_off;
		if (pull) {
			/* the receiver's DMA reads our frames; we keep them until it has */
			d->flags = ZC__TZ_DESC_PULL | (csum ? ZC__TZ_DESC_CSUM_REQ : 0);
			d->ctrl_len = (uint16_t)m->len;
			memcpy(d->ctrl, m->data, m->len);
			d->nsrc = 0;
			for (const struct zc_mbuf *sg = m->next; sg; sg = sg->next) {
				if (sg->len == 0)
					continue;
				d->src[d->nsrc++] = (struct zc__tz_src){ sg->frame, (uint32_t)(sg->data - sg->buf), sg->len };
			}
		} else if (zc) {
			d->flags = 0;
			d->ctrl_len = (uint16_t)m->len;
			memcpy(d->ctrl, m->data, m->len);
			if (csum) { /* the NIC reads the payload it hands over */
				zc_l4_csum_finish(d->ctrl, d->ctrl_len, &pk, zc_csum_mbuf(0, m, m->len, m->pkt_len - m->len));
				d->flags |= ZC__TZ_DESC_CSUM;
			}
			unsigned k = 0;
			for (struct zc_mbuf *s = m->next; s; s = s->next, k++) {
				uint32_t r = peer->post[(ptail++) % ZC__TZ_POST_RING];
				int64_t f = zc_mbuf_detach_frame(s);
				/* the peer validates r when it reads the descriptor; we must too */
				if (zc_pool_adopt_frame(pool, r) == 0)
					zc_pool_frame_put(pool, r);
				zc_pool_give_frame(pool, (uint32_t)f);
				d->pages[k] = (uint32_t)f;
				d->taken[k] = r;
			}
			t->st.zc_frames += np;
		} else {
			d->flags = ZC__TZ_DESC_COPY;
			d->ctrl_len = (uint16_t)split;
			zc_mbuf_copydata(m, 0, split, d->ctrl);
			csum = csum && zc_hdr_csum_within(&pk, split);
			uint32_t psum = 0;
			for (unsigned k = 0; k < np; k++) {
				uint32_t r = peer->post[(ptail++) % ZC__TZ_POST_RING];
				uint32_t off = split + k * t->page;
				uint32_t len = payload - k * t->page;
				if (len > t->page)
					len = t->page;
				/* never write a frame of ours that a bad post names */
				if (r < t->nframes && !zc_pool_owns(pool, r)) {
					if (csum) /* the DMA engine sums as it copies */
						psum = zc_csum_combine(psum, zc_csum_copy_mbuf(m, off, len,
												zc_pool_frame_addr(pool, r)));
					else
						zc_mbuf_copydata(m, off, len, zc_pool_frame_addr(pool, r));
				}
				d->pages[k] = r;
				d->taken[k] = 0;
			}
			if (csum) {
				zc_l4_csum_finish(d->ctrl, d->ctrl_len, &pk, psum);
				d->flags |= ZC__TZ_DESC_CSUM;
			}
			t->st.dma_bytes += payload;
		}
		if (t->rate_bps) {
			uint64_t start = now > t->link_free_at ? now : t->link_free_at;
			t->link_free_at = start + (uint64_t)wire_bytes * 8u * 1000000000u / t->rate_bps;
			d->deliver_at = t->link_free_at + t->delay_ns;
		} else {
			d->deliver_at = now + t->delay_ns;
		}
		if (pull) {
			t->held[head % ZC__TZ_RX_RING] = m;
			t->nheld++;
		} else
			zc_mbuf_free(m);
		head++;
		t->st.tx_packets++;
		t->st.tx_bytes += wire_bytes;
	}
	if (ptail != ptail0)
		atomic_store_explicit(&peer->post_tail, ptail, memory_order_release);
	atomic_store_explicit(&peer->rx_head, head, memory_order_release);
	atomic_store_explicit(&t->me->tx_seq, seq + 2, memory_order_release);
	if (i > 0)
		zc__kick(t);
	return i;
}

/* The next free slot of the peer's ring, zeroed, for a forged descriptor. */
static struct zc__tz_desc *zc__forge_slot(struct zc__trapeze *t, uint32_t *head)
{
	*head = atomic_load(&t->peer->rx_head);
	if (*head - atomic_load(&t->peer->rx_tail) >= ZC__TZ_RX_RING)
		return NULL;
	struct zc__tz_desc *d = &t->peer->rx[*head % ZC__TZ_RX_RING];
	memset(d, 0, sizeof(*d));
	return d;
}

int zc__trapeze_forge_pull(struct zc_netif *nif, uint32_t payload_len, uint32_t nsrc, const uint32_t *frames,
			   const uint32_t *offs, const uint32_t *lens)
{
	struct zc__trapeze *t = zc__tz(nif);
	uint32_t head;
	struct zc__tz_desc *d = zc__forge_slot(t, &head);
	if (d == NULL)
		return -ENOSPC;
	d->ctrl_len = 40;
	d->flags = ZC__TZ_DESC_PULL;
	d->payload_len = payload_len;
	d->nsrc = nsrc;
	for (uint32_t i = 0; i < nsrc && i < ZC__TZ_MAX_SRC; i++)
		d->src[i] = (struct zc__tz_src){ frames[i], offs[i], lens[i] };
	atomic_store_explicit(&t->peer->rx_head, head + 1, memory_order_release);
	return 0;
}

int zc__trapeze_forge(struct zc_netif *nif, uint16_t ctrl_len, uint8_t npages, uint8_t flags,
		      uint32_t payload_len, const uint32_t *pages, const uint32_t *taken)
{
	struct zc__trapeze *t = zc__tz(nif);
	uint32_t head;
	struct zc__tz_desc *d = zc__forge_slot(t, &head);
	if (d == NULL)
		return -ENOSPC;
	d->ctrl_len = ctrl_len;
	d->npages = npages;
	d->flags = flags;
	d->payload_len = payload_len;
	for (unsigned i = 0; i < npages && i < ZC_TRAPEZE_MAX_PAGES; i++) {
		d->pages[i] = pages[i];
		d->taken[i] = taken[i];
	}
	atomic_store_explicit(&t->peer->rx_head, head + 1, memory_order_release);
	return 0;
}

/* --- interrupts, stats, close ------------------------------------------------ */

static bool zc__tz_rx_ready(struct zc_netif *nif)
{
	struct zc__tz_port *me = zc__tz(nif)->me;
	return atomic_load_explicit(&me->rx_head, memory_order_acquire) !=
	       atomic_load_explicit(&me->rx_tail, memory_order_relaxed);
}

static int zc__tz_irq_fd(struct zc_netif *nif) { return zc__tz(nif)->efd; }

static int zc__tz_irq_arm(struct zc_netif *nif)
{
	struct zc__trapeze *t = zc__tz(nif);
	atomic_store(&t->me->sleeping, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&t->me->rx_head) != atomic_load(&t->me->rx_tail)) {
		atomic_store(&t->me->sleeping, 0);
		return -EAGAIN;
	}
	t->st.irq_waits++;
	return 0;
}

static void zc__tz_irq_ack(struct zc_netif *nif)
{
	struct zc__trapeze *t = zc__tz(nif);
	atomic_store(&t->me->sleeping, 0);
	uint64_t v;
	while (read(t->efd, &v, sizeof(v)) == sizeof(v))
		;
}

static uint64_t zc__tz_next_due(struct zc_netif *nif)
{
	struct zc__trapeze *t = zc__tz(nif);
	uint32_t tail = atomic_load_explicit(&t->me->rx_tail, memory_order_relaxed);
	if (tail == atomic_load_explicit(&t->me->rx_head, memory_order_acquire))
		return UINT64_MAX;
	return t->me->rx[tail % ZC__TZ_RX_RING].deliver_at;
}

static void zc__tz_stats(struct zc_netif *nif, struct zc_netif_stats *st)
{
	*st = zc__tz(nif)->st;
	st->placed_bytes = zc__tz(nif)->placed_bytes;
}

/* Frames this port posted, or traded away in descriptors it has not read:
 * back to the pool's accounting, as the port leaves the wire. */
static void zc__return_posted(struct zc__trapeze *t)
{
	struct zc_pool *pool = t->nif.pool;
	uint32_t h = atomic_load(&t->me->post_head);
	for (uint32_t i = atomic_load(&t->me->post_tail); i != h; i++) {
		uint32_t f = t->me->post[i % ZC__TZ_POST_RING];
		if (zc_pool_owns(pool, f) && zc_pool_frame_refcnt(pool, f) == 1)
			zc_pool_frame_put(pool, f);
	}
	h = atomic_load(&t->me->rx_head);
	for (uint32_t i = atomic_load(&t->me->rx_tail); i != h; i++) {
		const struct zc__tz_desc *d = &t->me->rx[i % ZC__TZ_RX_RING];
		for (unsigned k = 0; k < d->npages && k < ZC_TRAPEZE_MAX_PAGES; k++) {
			uint32_t f = (d->flags & ZC__TZ_DESC_COPY) ? d->pages[k] : d->taken[k];
			if (f < t->nframes && zc_pool_owns(pool, f) && zc_pool_frame_refcnt(pool, f) == 1)
				zc_pool_frame_put(pool, f);
		}
	}
}

static void zc__flows_release(struct zc__trapeze *t)
{
	for (unsigned i = 0; i < ZC__TZ_FLOWS; i++) {
		zc__flow_drop(&t->flows[i]);
		t->flows[i].used = false;
	}
}

void zc_trapeze_reap(struct zc_netif *nif)
{
	zc__reap(zc__tz(nif));
	zc__flows_release(zc__tz(nif));
}

uint32_t zc_trapeze_posted(struct zc_netif *nif)
{
	return zc__post_count(zc__tz(nif)->me);
}

/* Leaving while the peer stays: so that the next owner of this port can
 * take over, everything in flight between the ports is settled first: the
 * peer's transmit burst under way ends, the peer reads what we sent (its
 * DMA may be reading our frames), our ring is drained (frames traded to us
 * become ours); then the frames we own and nobody uses are listed in the
 * ownership map. Frames still posted to the peer stay posted. false when
 * the peer did not settle in time (the port is then not reusable). */
static bool zc__leave_clean(struct zc__trapeze *t)
{
	struct timespec nap = { 0, 200000 };
	int i;
	for (i = 0; i < 1000 && (atomic_load(&t->peer->tx_seq) & 1); i++)
		nanosleep(&nap, NULL);
	if (i == 1000)
		return false;
	zc__kick(t);
	for (i = 0; i < 5000 && atomic_load(&t->peer->rx_tail) != atomic_load(&t->peer->rx_head); i++)
		nanosleep(&nap, NULL);
	if (i == 5000)
		return false;
	struct zc_mbuf *m[32];
	for (int k; (k = zc__tz_rx(&t->nif, m, 32, UINT64_MAX)) > 0;)
		while (k > 0)
			zc_mbuf_free(m[--k]);
	zc__reap(t);
	if (t->nheld)
		return false;
	void *base;
	size_t len;
	uint64_t *map = zc__map_port(t, t->nframes, t->sh->frames_off, t->port, &base, &len);
	if (map == NULL)
		return false;
	struct zc_pool *pool = t->nif.pool;
	uint32_t listed = 0, owned = 0;
	memset(map, 0, zc__map_bytes(t->nframes));
	for (uint32_t f = 0; f < t->nframes; f++) {
		if (!zc_pool_owns(pool, f))
			continue;
		owned++;
		if (zc_pool_frame_refcnt(pool, f) == 0) {
			map[f / 64] |= 1ull << (f % 64);
			listed++;
		}
	}
	munmap(base, len);
	uint32_t posted = zc__post_count(t->me);
	if (listed + posted < owned)
		ZC_WARN("trapeze %s: %u frames still in use at close are lost to the wire", t->nif.name,
			owned - listed - posted);
	atomic_store(&t->me->clean, 1);
	return true;
}

static void zc__tz_close(struct zc_netif *nif)
{
	struct zc__trapeze *t = zc__tz(nif);
	flock(t->fd, LOCK_EX);
	atomic_store(&t->me->owner_pid, 0); /* the peer's bursts from now on drop */
	atomic_thread_fence(memory_order_seq_cst);
	atomic_store(&t->me->clean, 0);
	bool last = !zc__pid_alive(atomic_load(&t->peer->owner_pid));
	if (!last && !zc__leave_clean(t))
		ZC_WARN("trapeze %s: the peer did not settle; this port cannot be reused until both ends restart",
			t->nif.name);
	for (unsigned i = 0; i < ZC__TZ_RX_RING; i++) { /* the peer may still read them: it is going too */
		zc_mbuf_free(t->held[i]);
		t->held[i] = NULL;
	}
	t->nheld = 0;
	atomic_store(&t->me->efd, -1);
	zc__return_posted(t);
	if (last)
		unlink(t->path);
	flock(t->fd, LOCK_UN);
	zc_pool_destroy(nif->pool);
	zc__flows_release(t);
	if (t->rxp)
		zc_pool_destroy(t->rxp);
	munmap(t->sh, t->sh_len);
	close(t->fd);
	close(t->efd);
	if (t->peer_efd >= 0)
		close(t->peer_efd);
	free(t);
}

bool zc_trapeze_link_up(struct zc_netif *nif)
{
	return atomic_load(&zc__tz(nif)->peer->owner_pid) != 0;
}

static const struct zc_netif_ops zc__tz_ops = {
	.rx_burst = zc__tz_rx,
	.tx_burst = zc__tz_tx,
	.next_due = zc__tz_next_due,
	.rx_ready = zc__tz_rx_ready,
	.irq_fd = zc__tz_irq_fd,
	.irq_arm = zc__tz_irq_arm,
	.irq_ack = zc__tz_irq_ack,
	.get_stats = zc__tz_stats,
	.close = zc__tz_close,
};

/* --- open ------------------------------------------------------------------- */

/* Wait (up to 2 s) for another process to finish initialising the file. */
static int zc__wait_init(int fd, size_t need)
{
	for (int i = 0; i < 2000; i++) {
		struct stat st;
		if (fstat(fd, &st) != 0)
			return -errno;
		if ((size_t)st.st_size >= need) {
			uint64_t magic = 0;
			if (pread(fd, &magic, sizeof(magic), 0) == sizeof(magic) && magic == ZC__TZ_MAGIC)
				return 0;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

struct zc_netif *zc_trapeze_open(const struct zc_trapeze_config *cfg)
{
	const uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	int err = EINVAL;
	if (cfg == NULL || cfg->name == NULL) {
		ZC_ERR("trapeze: no wire name given");
		goto fail_early;
	}
	if (strlen(cfg->name) > ZC_TRAPEZE_NAME_MAX) {
		ZC_ERR("trapeze: wire name '%.40s...' is longer than %u characters", cfg->name,
		       ZC_TRAPEZE_NAME_MAX);
		err = ENAMETOOLONG;
		goto fail_early;
	}
	if (!zc__name_ok(cfg->name)) {
		ZC_ERR("trapeze: wire name '%s' must be letters, digits, '_', '-' or '.'", cfg->name);
		goto fail_early;
	}
	if (cfg->port != 0 && cfg->port != 1) {
		ZC_ERR("trapeze: port %d: a wire has ports 0 and 1", cfg->port);
		goto fail_early;
	}
	uint32_t mtu = cfg->mtu ? cfg->mtu : ZC_TRAPEZE_MAX_PAGES * page;
	if (mtu % page || mtu > ZC_TRAPEZE_MAX_PAGES * page) {
		ZC_ERR("trapeze: MTU %u: the payload must be a whole number of %u-byte pages, at most %u",
		       mtu, page, ZC_TRAPEZE_MAX_PAGES * page);
		goto fail_early;
	}
	uint32_t nframes = cfg->nframes ? cfg->nframes : 16384;
	if (nframes < 4 * ZC_TRAPEZE_MAX_PAGES || nframes > (1u << 22) || nframes % 2) {
		ZC_ERR("trapeze: %u frames: need an even number between %u and %u", nframes,
		       4 * ZC_TRAPEZE_MAX_PAGES, 1u << 22);
		goto fail_early;
	}

	struct zc__trapeze *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		err = ENOMEM;
		goto fail_early;
	}
	t->fd = -1;
	t->efd = -1;
	t->peer_efd = -1;
	t->page = page;
	snprintf(t->path, sizeof(t->path), "/dev/shm/zcwire-%s", cfg->name);
	snprintf(t->nif.name, sizeof(t->nif.name), "trapeze:%s/%d", cfg->name, cfg->port);
	size_t sh_len = zc__shared_len(page);
	bool created = false;

	t->fd = open(t->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (t->fd >= 0) {
		created = true;
		if (ftruncate(t->fd, (off_t)(sh_len + (size_t)nframes * page + zc__maps_len(nframes, page))) != 0) {
			err = errno;
			unlink(t->path);
			ZC_ERR("trapeze: cannot size %s: %s", t->path, strerror(err));
			goto fail;
		}
	} else if (errno == EEXIST) {
		t->fd = open(t->path, O_RDWR | O_CLOEXEC);
		if (t->fd < 0 || (err = -zc__wait_init(t->fd, sh_len)) != 0) {
			if (t->fd < 0)
				err = errno;
			ZC_ERR("trapeze: cannot open wire %s: %s", t->path, strerror(err));
			goto fail;
		}
	} else {
		err = errno;
		ZC_ERR("trapeze: cannot create %s: %s", t->path, strerror(err));
		goto fail;
	}
	t->sh = mmap(NULL, sh_len, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	if (t->sh == MAP_FAILED) {
		err = errno;
		t->sh = NULL;
		ZC_ERR("trapeze: cannot map %s: %s", t->path, strerror(err));
		goto fail;
	}
	t->sh_len = sh_len;
	struct zc__tz_shared *sh = t->sh;
	flock(t->fd, LOCK_EX);
	if (created) {
		sh->version = ZC__TZ_VERSION;
		sh->page_size = page;
		sh->mtu = mtu;
		sh->nframes = nframes;
		sh->frames_off = sh_len;
		zc__reset_ports(sh);
		atomic_store(&sh->magic, ZC__TZ_MAGIC);
	} else if (sh->version != ZC__TZ_VERSION || sh->page_size != page ||
		   (cfg->mtu && sh->mtu != mtu) || (cfg->nframes && sh->nframes != nframes)) {
		ZC_ERR("trapeze: wire %s exists with version %u, MTU %u, %u frames; asked MTU %u, %u frames",
		       t->path, sh->version, sh->mtu, sh->nframes, mtu, nframes);
		err = EINVAL;
		flock(t->fd, LOCK_UN);
		goto fail;
	}
	t->port = cfg->port;
	t->me = &sh->port[cfg->port];
	t->peer = &sh->port[1 - cfg->port];
	int32_t mine = atomic_load(&t->me->owner_pid), theirs = atomic_load(&t->peer->owner_pid);
	if (zc__pid_alive(mine)) {
		ZC_ERR("trapeze: port %d of wire '%s' is already claimed by pid %d", cfg->port, cfg->name,
		       mine);
		err = EBUSY;
		flock(t->fd, LOCK_UN);
		goto fail;
	}
	void *map_base = NULL;
	size_t map_len = 0;
	const uint64_t *own_map = NULL;
	if (!zc__pid_alive(theirs)) {
		zc__reset_ports(sh); /* nobody alive on the wire: start it afresh */
	} else if (mine == 0 && atomic_load(&t->me->clean) == 1) {
		/* the previous owner left in order: take over its frames */
		own_map = zc__map_port(t, sh->nframes, sh->frames_off, cfg->port, &map_base, &map_len);
		if (own_map == NULL) {
			err = errno;
			ZC_ERR("trapeze: cannot map the ownership map of %s: %s", t->path, strerror(err));
			flock(t->fd, LOCK_UN);
			goto fail;
		}
	} else if (mine != 0 || atomic_load(&t->me->rx_head) != 0 || atomic_load(&t->me->post_head) != 0) {
		ZC_ERR("trapeze: port %d of wire '%s' was used by a process that did not close it (it "
		       "died?) and its peer (pid %d) is still attached; its frames cannot be recovered: "
		       "restart both ends",
		       cfg->port, cfg->name, theirs);
		err = EBUSY;
		flock(t->fd, LOCK_UN);
		goto fail;
	}
	t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct zc_pool_config pc = {
		.name = t->nif.name,
		.nframes = sh->nframes,
		.fd = t->fd,
		.offset = sh->frames_off,
		.own_first = cfg->port ? sh->nframes / 2 : 0,
		.own_count = sh->nframes / 2,
		.own_map = own_map,
	};
	t->nif.pool = t->efd >= 0 ? zc_pool_create(&pc) : NULL;
	if (own_map && t->nif.pool) {
		/* frames still posted to the peer stay posted (in flight) */
		uint32_t h = atomic_load(&t->me->post_head);
		for (uint32_t i = atomic_load(&t->me->post_tail); i != h; i++) {
			uint32_t f = t->me->post[i % ZC__TZ_POST_RING];
			if (f < sh->nframes)
				zc_pool_adopt_frame(t->nif.pool, f);
		}
		atomic_store(&t->me->clean, 0);
		atomic_store(&t->me->sleeping, 0);
	}
	if (map_base)
		munmap(map_base, map_len);
	if (t->nif.pool == NULL) {
		err = errno;
		flock(t->fd, LOCK_UN);
		goto fail;
	}
	atomic_store(&t->me->efd, t->efd);
	atomic_fetch_add(&t->me->gen, 1);
	atomic_store(&t->me->owner_pid, (int32_t)getpid());
	t->reaped = atomic_load(&t->peer->rx_head);
	t->peer_tail = atomic_load(&t->peer->rx_tail);
	t->peer_phead = atomic_load(&t->peer->post_head);
	flock(t->fd, LOCK_UN);

	t->nif.ops = &zc__tz_ops;
	t->nif.caps = (struct zc_netif_caps){
		.mtu = ZC_TRAPEZE_CTRL_MAX - ZC_ETH_HLEN + sh->mtu > 65535 ? 65535
									 : ZC_TRAPEZE_CTRL_MAX - ZC_ETH_HLEN + sh->mtu,
		.max_hdr = ZC_TRAPEZE_CTRL_MAX,
		.page_size = page,
		.hdr_split = true,
		/* checksum offload, as Trapeze's Myrinet firmware did: the NIC sums
		 * while it copies (or reads) the payload and the receiver trusts it */
		.rx_csum = true,
		.tx_csum = true,
	};
	if (cfg->mac)
		memcpy(t->nif.mac, cfg->mac, 6);
	else
		memcpy(t->nif.mac, (uint8_t[6]){ 0x02, 0x7a, 0x63, 0, 0, (uint8_t)(cfg->port + 1) }, 6);
	t->nframes = sh->nframes;
	t->maxpages = sh->mtu / page;
	t->rate_bps = cfg->rate_bps;
	t->delay_ns = cfg->delay_ns;
	uint32_t half = sh->nframes / 2;
	t->post_target = half / 2 < ZC__TZ_POST_RING - 1 ? half / 2 : ZC__TZ_POST_RING - 1;
	zc__refill(t);
	if (cfg->rx_huge) {
		char pname[64];
		snprintf(pname, sizeof(pname), "%s-rx", t->nif.name);
		t->rxp = zc_pool_create(&(struct zc_pool_config){ .name = pname, .nframes = cfg->rx_huge,
								  .nmbufs = 64 * cfg->rx_huge + 256,
								  .huge = true, .fd = -1 });
		if (t->rxp && zc_pool_frame_size(t->rxp) != ZC_HUGE_FRAME) {
			ZC_INFO("trapeze %s: no 2 MiB frames on this machine: receive placement is off",
				t->nif.name);
			zc_pool_destroy(t->rxp);
			t->rxp = NULL;
		}
		t->nif.rx_pool = t->rxp;
	}
	return &t->nif;
fail:
	if (t->sh)
		munmap(t->sh, t->sh_len);
	if (t->fd >= 0)
		close(t->fd);
	if (t->efd >= 0)
		close(t->efd);
	free(t);
fail_early:
	errno = err;
	return NULL;
}

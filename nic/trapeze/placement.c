/*
 * placement.c - receive placement (trapeze.h, rx_huge): the payload of a TCP
 * flow that the receiving port pulls is put into a 2 MiB frame at offset
 * (seq - base) mod 2 MiB, so that a stream read in 2 MiB pieces finds each
 * piece whole in one frame, ready to be mapped into the reader's buffer.
 *
 * Called by the pull DMA (dma.c) for each pulled payload and by receive
 * (rx.c) for each packet without payload (a SYN starts a flow's placement,
 * an RST ends it). Eight flows at a time, least recently used first out; a
 * byte range is never written twice into a frame, and a frame is written
 * only while the flow's placement holds it. Where the port keeps payload
 * by reference (dma.c), only the flows whose reader said it trades 2 MiB
 * frames (rx_place) are placed; the rest stay in the sender's frames.
 */
#include "nic/trapeze/trapeze_priv.h"
#include "stack/wire.h"

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

void zc__flow_syn(struct zc__trapeze *t, const uint8_t *ctrl, uint32_t len)
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
		f->based = true;
		f->win = 0;
	} else if (fl & ZC_TCP_RST) { /* the flow is over */
		zc__flow_drop(f);
		f->used = false;
	}
}

bool zc__flow_wants_place(struct zc__trapeze *t, const uint8_t *ctrl, uint32_t len)
{
	struct zc__tz_flow k = { 0 };
	uint32_t seq;
	uint8_t fl;
	bool made;
	if (t->rxp == NULL || !zc__flow_key(ctrl, len, &k, &seq, &fl))
		return false;
	const struct zc__tz_flow *f = zc__flow_find(t, &k, false, &made);
	return f && f->place;
}

void zc__tz_rx_place(struct zc_netif *nif, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
		     bool on)
{
	struct zc__trapeze *t = zc__tz(nif);
	if (t->rxp == NULL)
		return;
	struct zc__tz_flow k = { .saddr = saddr, .daddr = daddr, .sport = sport, .dport = dport };
	bool made;
	struct zc__tz_flow *f = zc__flow_find(t, &k, on, &made);
	if (f)
		f->place = on;
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
 * the next window) over the flow's frames, appended to h. */
bool zc__place(struct zc__trapeze *t, struct zc_mbuf *h, uint32_t len)
{
	struct zc__tz_flow k = { 0 };
	uint32_t seq;
	uint8_t fl;
	if (t->rxp == NULL || len == 0 || !zc__flow_key(h->data, h->len, &k, &seq, &fl))
		return false;
	bool made;
	struct zc__tz_flow *f = zc__flow_find(t, &k, true, &made);
	if (made || !f->based) {
		f->base = seq; /* a flow met in the middle: place from here */
		f->based = true;
	}
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

void zc__flows_release(struct zc__trapeze *t)
{
	for (unsigned i = 0; i < ZC__TZ_FLOWS; i++) {
		zc__flow_drop(&t->flows[i]);
		t->flows[i].used = false;
	}
}

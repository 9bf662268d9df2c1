/*
 * tcp_rack.c - RACK (RFC 8985 6): loss found by time, for a connection
 * whose peer SACKs. A segment is lost when a segment sent after it was
 * delivered and more than an RTT plus a reordering window has passed since
 * it went. This replaces RFC 6675's count of SACKed segments (IsLost), as
 * it does on Linux: it finds a lost retransmission, a loss at the tail
 * that a probe made visible, and it waits out mild reordering instead of
 * retransmitting for it.
 *
 * What it needs is the send time of every unacknowledged segment. Linux
 * keeps one in each skb. Here the send buffer holds frames, not segments,
 * so the times live in a map of its own: a sorted array of ranges covering
 * [SND.UNA, SND.MAX), each with the time it last went and whether it was
 * retransmitted, is marked lost, or the peer SACKed it. Times rise strictly
 * from one send to the next (the clock is read once a poll). New segments
 * sent one after another within a sixteenth of the minimum RTT of the
 * range's first share a range (one burst of output is one range), so a
 * window of thousands of segments takes a handful of ranges; a
 * retransmission or a SACK block splits one.
 * The array has ZC__RACK_SEGS entries (4 KiB, from the stack's arena),
 * allocated at a connection's first data segment; a connection that never
 * sends has none. When it is full, the two neighbours of one kind whose
 * times are closest become one range with the later time (a loss is found
 * a little later, never sooner); when none are of one kind, or the array
 * could not be had, the connection falls back to RFC 6675's rules for
 * good (counted: rack_fallbacks).
 *
 * While RACK runs, the pipe counts the ranges neither SACKed nor lost, and
 * NextSeg's rule 1 retransmits the lost ranges from the lowest; RFC 6675's
 * rules 3 and 4 (holes not yet lost, the rescue) are left to the tail loss
 * probe, as Linux does.
 *
 * Left out: the timestamp test for a retransmission's ambiguous delivery
 * (7.2 step 2 uses only the minimum-RTT test), and a minimum RTT over a
 * moving window (it is the minimum since the connection began).
 */
#include "stack/tcp_priv.h"

#include <string.h>

enum { ZC__RACK_RETRANS = 1u, ZC__RACK_LOST = 2u, ZC__RACK_SACKED = 4u };

static struct zc__rack_seg *zc__rack_first(const struct zc_tcp_sock *s)
{
	return &s->rack.seg[s->rack.head];
}

/* The left edge of entry i (an index from head): where entry i-1 ends. */
static tcp_seq zc__rack_left(const struct zc_tcp_sock *s, unsigned i)
{
	return i == 0 ? s->snd_una : zc__rack_first(s)[i - 1].r;
}

static tcp_seq zc__rack_end(const struct zc_tcp_sock *s)
{
	return s->rack.n ? zc__rack_first(s)[s->rack.n - 1].r : s->snd_una;
}

bool zc__rack_on(const struct zc_tcp_sock *s)
{
	return s->rack.seg != NULL;
}

void zc__rack_free(struct zc_tcp_sock *s)
{
	if (s->rack.seg)
		zc__st_free(s->st->arena, s->rack.seg);
	s->rack.seg = NULL;
	s->rack.n = s->rack.head = 0;
}

/* RACK gives up on this connection: RFC 6675's rules from now on. */
static void zc__rack_fall_back(struct zc_tcp_sock *s)
{
	s->st->tcp->stats.rack_fallbacks++;
	zc__rack_free(s);
	s->rack.failed = true;
	zc__tcp_timer_set(s, ZC__T_RACK, 0);
}

/* Merge the two neighbours of one kind whose times are closest (into the
 * later time). False: none alike, and RACK fell back. */
static bool zc__rack_merge(struct zc_tcp_sock *s)
{
	struct zc__rack *k = &s->rack;
	unsigned best = UINT32_MAX;
	uint64_t gap = UINT64_MAX;
	for (unsigned i = 0; i + 1 < k->n; i++) {
		const struct zc__rack_seg *a = &k->seg[i], *b = &k->seg[i + 1];
		if (a->flags != b->flags)
			continue;
		uint64_t d = a->xmit_ns > b->xmit_ns ? a->xmit_ns - b->xmit_ns : b->xmit_ns - a->xmit_ns;
		if ((a->flags & ZC__RACK_SACKED) || d < gap) {
			best = i;
			gap = d;
			if (a->flags & ZC__RACK_SACKED)
				break; /* times no longer matter */
		}
	}
	if (best == UINT32_MAX) {
		zc__rack_fall_back(s);
		return false;
	}
	struct zc__rack_seg *a = &k->seg[best], *b = &k->seg[best + 1];
	if (a->xmit_ns > b->xmit_ns)
		b->xmit_ns = a->xmit_ns;
	memmove(a, b, (k->n - best - 1) * sizeof(k->seg[0]));
	k->n--;
	s->st->tcp->stats.rack_merges++;
	return true;
}

/* Make room for `need` more entries: compact, else merge two neighbours
 * of one kind (the pair whose times are closest) until there is. Callers
 * ask before they split, so that no merge undoes an edge just made (a
 * split leaves two halves of one time: the closest pair). False: RACK
 * fell back. */
static bool zc__rack_room(struct zc_tcp_sock *s, unsigned need)
{
	struct zc__rack *k = &s->rack;
	if (k->head + k->n + need <= ZC__RACK_SEGS)
		return true;
	if (k->head) {
		memmove(k->seg, &k->seg[k->head], k->n * sizeof(k->seg[0]));
		k->head = 0;
	}
	while (k->n + need > ZC__RACK_SEGS)
		if (!zc__rack_merge(s))
			return false;
	return true;
}

/* Make x the edge of an entry (when it lies inside one), in room the
 * caller made (zc__rack_room). */
static void zc__rack_split(struct zc_tcp_sock *s, tcp_seq x)
{
	struct zc__rack *k = &s->rack;
	unsigned i = 0;
	while (i < k->n && !seq_lt(x, zc__rack_first(s)[i].r))
		i++;
	if (i == k->n || !seq_gt(x, zc__rack_left(s, i)))
		return; /* past the map, or an edge already */
	struct zc__rack_seg *e = &zc__rack_first(s)[i];
	memmove(e + 1, e, (k->n - i) * sizeof(*e));
	e->r = x;
	k->n++;
}

/* Split at l and r (in room made by zc__rack_room): the entries covering
 * [l, r) are then [*i, *j). */
static void zc__rack_span(struct zc_tcp_sock *s, tcp_seq l, tcp_seq r, unsigned *i, unsigned *j)
{
	zc__rack_split(s, l);
	zc__rack_split(s, r);
	unsigned a = 0, b;
	while (a < s->rack.n && seq_le(zc__rack_first(s)[a].r, l))
		a++;
	for (b = a; b < s->rack.n && seq_le(zc__rack_first(s)[b].r, r);)
		b++;
	*i = a;
	*j = b;
}

static bool zc__rack_ready(struct zc_tcp_sock *s)
{
	struct zc__rack *k = &s->rack;
	if (k->seg)
		return true;
	if (k->failed || !s->sack_ok || s->st->tcp->cfg.no_rack)
		return false;
	k->seg = zc__st_zalloc(s->st->arena, ZC__RACK_SEGS * sizeof(k->seg[0]));
	if (k->seg == NULL) {
		zc__rack_fall_back(s);
		return false;
	}
	k->head = k->n = 0;
	k->fack = s->snd_una;
	k->reo_wnd_mult = 1;
	if (s->snd_max != s->snd_una) /* sent before: times unknown, taken as now */
		k->seg[k->n++] = (struct zc__rack_seg){ s->st->now, s->snd_max, 0 };
	return true;
}

void zc__rack_sent(struct zc_tcp_sock *s, tcp_seq l, uint32_t len)
{
	if (len == 0 || !zc__rack_ready(s))
		return;
	struct zc__rack *k = &s->rack;
	/* a time per send, strictly rising: segments sent in one poll share
	 * the clock, and RACK_sent_after's tie on sequence numbers would put
	 * a retransmission sent after new data before it */
	uint64_t now = s->st->now > k->stamp ? s->st->now : k->stamp + 1;
	bool tail_last = k->n && zc__rack_first(s)[k->n - 1].xmit_ns == k->stamp;
	k->stamp = now;
	tcp_seq r = l + len, end = zc__rack_end(s);
	if (seq_lt(l, s->snd_una))
		l = s->snd_una;
	if (!zc__rack_room(s, (seq_lt(l, end) ? 2u : 0u) + (seq_gt(r, end) ? 1u : 0u)))
		return;
	if (seq_lt(l, end)) { /* sent again: [l, min(r, end)) */
		unsigned i, j;
		for (zc__rack_span(s, l, seq_min(r, end), &i, &j); i < j; i++) {
			struct zc__rack_seg *e = &zc__rack_first(s)[i];
			if (!(e->flags & ZC__RACK_SACKED)) {
				e->xmit_ns = now;
				e->flags = ZC__RACK_RETRANS;
			}
		}
	}
	if (!seq_gt(r, end))
		return;
	struct zc__rack_seg *last = k->n ? &zc__rack_first(s)[k->n - 1] : NULL;
	if (last && tail_last && last->flags == 0 && now - k->tail_start <= k->min_rtt / 16) {
		/* one range with the last send: nothing else went between */
		last->r = r;
		last->xmit_ns = now;
		return;
	}
	zc__rack_first(s)[k->n++] = (struct zc__rack_seg){ now, r, 0 };
	k->tail_start = now;
}

/* RACK_sent_after (RFC 8985 6.2) */
static bool zc__rack_after(uint64_t t1, tcp_seq s1, uint64_t t2, tcp_seq s2)
{
	return t1 > t2 || (t1 == t2 && seq_gt(s1, s2));
}

/* 6.2 steps 2 and 3 for [.., r) of entry e, newly delivered: the most
 * recently sent delivered segment and its RTT; reordering when a segment
 * never retransmitted arrives below the highest delivered one. */
static void zc__rack_deliver(struct zc_tcp_sock *s, const struct zc__rack_seg *e, tcp_seq r)
{
	struct zc__rack *k = &s->rack;
	uint64_t now = s->st->now, rtt = now > e->xmit_ns ? now - e->xmit_ns : 0;
	bool rxt = (e->flags & ZC__RACK_RETRANS) != 0;
	if (!rxt) {
		if (seq_lt(r, k->fack)) {
			if (!k->reordering_seen)
				s->st->tcp->stats.rack_reordering++;
			k->reordering_seen = true;
		} else {
			k->fack = r;
		}
		if (k->min_rtt == 0 || rtt < k->min_rtt)
			k->min_rtt = rtt ? rtt : 1;
	} else if (rtt < k->min_rtt) {
		return; /* the original's delivery, most likely: no sample */
	}
	if (zc__rack_after(e->xmit_ns, r, k->xmit_ns, k->end_seq) || k->xmit_ns == 0) {
		k->rtt = rtt;
		k->xmit_ns = e->xmit_ns;
		k->end_seq = r;
	}
}

void zc__rack_sacked(struct zc_tcp_sock *s, tcp_seq l, tcp_seq r)
{
	if (!zc__rack_on(s) || !seq_lt(l, r))
		return;
	if (seq_gt(r, zc__rack_end(s)))
		r = zc__rack_end(s);
	if (!seq_lt(l, r) || !zc__rack_room(s, 2))
		return;
	unsigned i, j;
	for (zc__rack_span(s, l, r, &i, &j); i < j; i++) {
		struct zc__rack_seg *e = &zc__rack_first(s)[i];
		if (!(e->flags & ZC__RACK_SACKED)) {
			zc__rack_deliver(s, e, e->r);
			e->flags = ZC__RACK_SACKED;
		}
	}
}

void zc__rack_acked(struct zc_tcp_sock *s, tcp_seq ack)
{
	if (!zc__rack_on(s))
		return;
	struct zc__rack *k = &s->rack;
	for (tcp_seq left = s->snd_una; k->n && seq_gt(ack, left);) {
		struct zc__rack_seg *e = zc__rack_first(s);
		left = e->r;
		tcp_seq r = seq_le(e->r, ack) ? e->r : ack;
		if (!(e->flags & ZC__RACK_SACKED))
			zc__rack_deliver(s, e, r);
		if (seq_gt(e->r, ack))
			break; /* it now starts at the new SND.UNA */
		k->head++;
		k->n--;
		if (k->n == 0)
			k->head = 0;
	}
	if (seq_lt(k->fack, ack))
		k->fack = ack;
}

void zc__rack_unsack(struct zc_tcp_sock *s)
{
	for (unsigned i = 0; zc__rack_on(s) && i < s->rack.n; i++)
		if (zc__rack_first(s)[i].flags & ZC__RACK_SACKED)
			zc__rack_first(s)[i].flags = ZC__RACK_LOST;
}

void zc__rack_rto(struct zc_tcp_sock *s)
{
	for (unsigned i = 0; zc__rack_on(s) && i < s->rack.n; i++)
		if (!(zc__rack_first(s)[i].flags & ZC__RACK_SACKED))
			zc__rack_first(s)[i].flags = ZC__RACK_LOST;
	zc__tcp_timer_set(s, ZC__T_RACK, 0);
}

void zc__rack_exit_recovery(struct zc_tcp_sock *s)
{
	struct zc__rack *k = &s->rack;
	if (k->reo_wnd_persist && --k->reo_wnd_persist == 0)
		k->reo_wnd_mult = 1;
}

/* 6.2 step 4: the reordering window. None before reordering was seen,
 * once a recovery runs or DupThresh segments are SACKed (a loss then
 * costs no wait); else a quarter of the minimum RTT, times a multiplier
 * that each round with a DSACK raises (16 recoveries without one reset
 * it), at most SRTT. */
static uint64_t zc__rack_reo_wnd(struct zc_tcp_sock *s, bool dsack)
{
	struct zc__rack *k = &s->rack;
	if (k->dsack_round_on && seq_ge(s->snd_una, k->dsack_round))
		k->dsack_round_on = false;
	if (!k->dsack_round_on && dsack) {
		k->dsack_round_on = true;
		k->dsack_round = s->snd_max;
		if (k->reo_wnd_mult < 255)
			k->reo_wnd_mult++;
		k->reo_wnd_persist = 16;
	}
	if (!k->reordering_seen &&
	    (s->in_recovery || seq_lt(s->snd_una, s->recover) || s->nsacked >= ZC__TCP_DUPTHRESH ||
	     s->sacked_bytes > (ZC__TCP_DUPTHRESH - 1) * (uint32_t)s->mss))
		return 0;
	uint64_t w = (uint64_t)k->reo_wnd_mult * k->min_rtt / 4;
	return s->rtt_valid && w > s->srtt ? s->srtt : w;
}

bool zc__rack_detect(struct zc_tcp_sock *s, bool dsack)
{
	if (!zc__rack_on(s))
		return false;
	struct zc__rack *k = &s->rack;
	uint64_t reo = zc__rack_reo_wnd(s, dsack), now = s->st->now, wait = 0;
	bool lost = false;
	for (unsigned i = 0; i < k->n; i++) {
		struct zc__rack_seg *e = &zc__rack_first(s)[i];
		if (e->flags & ZC__RACK_LOST)
			lost = true;
		if (e->flags & (ZC__RACK_SACKED | ZC__RACK_LOST) || k->xmit_ns == 0 ||
		    !zc__rack_after(k->xmit_ns, k->end_seq, e->xmit_ns, e->r))
			continue;
		uint64_t due = e->xmit_ns + k->rtt + reo;
		if (due <= now) {
			if (e->flags & ZC__RACK_RETRANS)
				s->st->tcp->stats.lost_retransmits++;
			s->st->tcp->stats.rack_marked++;
			e->flags = ZC__RACK_LOST;
			lost = true;
		} else if (due - now > wait) {
			wait = due - now;
		}
	}
	zc__tcp_timer_set(s, ZC__T_RACK, wait ? now + wait : 0);
	return lost;
}

void zc__rack_timer(struct zc_tcp_sock *s)
{
	s->st->tcp->stats.rack_timeouts++;
	if (zc__rack_detect(s, false))
		zc__tcp_rack_loss(s);
}

bool zc__rack_lost_at(const struct zc_tcp_sock *s, tcp_seq seq)
{
	for (unsigned i = 0; zc__rack_on(s) && i < s->rack.n; i++)
		if (seq_lt(seq, zc__rack_first(s)[i].r))
			return seq_ge(seq, zc__rack_left(s, i)) && (zc__rack_first(s)[i].flags & ZC__RACK_LOST);
	return false;
}

uint32_t zc__rack_pipe(const struct zc_tcp_sock *s)
{
	uint32_t pipe = 0;
	for (unsigned i = 0; i < s->rack.n; i++)
		if (!(zc__rack_first(s)[i].flags & (ZC__RACK_SACKED | ZC__RACK_LOST)))
			pipe += zc__rack_first(s)[i].r - zc__rack_left(s, i);
	return pipe;
}

bool zc__rack_next_lost(const struct zc_tcp_sock *s, tcp_seq *seq, uint32_t *len)
{
	for (unsigned i = 0; i < s->rack.n; i++)
		if (zc__rack_first(s)[i].flags & ZC__RACK_LOST) {
			*seq = zc__rack_left(s, i);
			*len = zc__rack_first(s)[i].r - *seq;
			return true;
		}
	return false;
}

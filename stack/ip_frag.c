/*
 * ip_frag.c - IPv4 reassembly (RFC 791, with RFC 815's idea of keeping the
 * pieces in order and looking for holes), in bounded memory and time.
 *
 * A datagram being reassembled is a queue keyed by (source, destination,
 * protocol, identification) holding its fragments sorted by offset, each
 * fragment the packet as it arrived (the first keeps its IP header, the
 * others have theirs cut off). The bounds, each a counted drop:
 *  - ZC__FRAG_QUEUES datagrams at once, ZC__FRAG_PER_SRC from one source:
 *    a new datagram from a source at its share is dropped; with every queue
 *    taken, the oldest datagram is evicted (ip_frag_limit), as Linux evicts
 *    the oldest queues when over ipfrag_high_thresh;
 *  - ZC__FRAG_PER_DGRAM fragments per datagram and ZC__FRAG_HELD in all
 *    (so at most ZC__FRAG_HELD frames of the pool are held);
 *  - frag_timeout_ns (30 s as Linux's ipfrag_time) from the first
 *    fragment: then the datagram is dropped (ip_frag_timeout), with an ICMP
 *    "fragment reassembly time exceeded" when its first fragment had come
 *    (RFC 792, RFC 1122 3.3.2).
 * A fragment that overlaps another one of the queue without being the same
 * range, or disagrees with the end a last fragment set, discards the whole
 * datagram (ip_frag_overlap): RFC 5722's rule for IPv6, which Linux also
 * applies to IPv4 since 2018. An exact duplicate is dropped alone
 * (ip_frag_duplicate): a retransmitting path makes those harmless.
 */
#include "stack/stack_priv.h"

#include <string.h>

/* The queue goes back to the free ones; its fragments are the caller's. */
static void zc__frag_release(struct zc_stack *st, struct zc__frag_q *q)
{
	st->frag_held -= q->n;
	st->frag_queues--;
	memset(q, 0, sizeof(*q));
}

/* The datagram is thrown away, each fragment counted under why (NONE: not
 * counted, at the stack's end). */
static void zc__frag_free(struct zc_stack *st, struct zc__frag_q *q, enum zc_drop_reason why)
{
	for (uint32_t i = 0; i < q->n; i++) {
		zc_mbuf_free(q->f[i].m);
		if (why != ZC_DROP_NONE)
			zc_drop(&st->drops, why);
	}
	zc__frag_release(st, q);
}

static struct zc__frag_q *zc__frag_oldest(struct zc_stack *st, const struct zc__frag_q *not)
{
	struct zc__frag_q *o = NULL;
	for (uint32_t i = 0; i < ZC__FRAG_QUEUES; i++) {
		struct zc__frag_q *q = &st->frag[i];
		if (q->used && q != not && (o == NULL || q->expires < o->expires))
			o = q;
	}
	return o;
}

/* The queue of ip's datagram, or a new one; NULL (counted) past a bound. */
static struct zc__frag_q *zc__frag_find(struct zc_stack *st, const struct zc_ipv4 *ip)
{
	struct zc__frag_q *fr = NULL;
	uint32_t from_src = 0;
	for (uint32_t i = 0; i < ZC__FRAG_QUEUES; i++) {
		struct zc__frag_q *q = &st->frag[i];
		if (!q->used) {
			if (fr == NULL)
				fr = q;
			continue;
		}
		if (q->src == ip->src && q->dst == ip->dst && q->id == ip->id && q->proto == ip->proto)
			return q;
		from_src += q->src == ip->src;
	}
	if (from_src >= ZC__FRAG_PER_SRC) {
		zc_drop(&st->drops, ZC_DROP_IP_FRAG_LIMIT);
		return NULL;
	}
	if (fr == NULL) {
		fr = zc__frag_oldest(st, NULL);
		zc__frag_free(st, fr, ZC_DROP_IP_FRAG_LIMIT);
	}
	fr->used = true;
	fr->src = ip->src;
	fr->dst = ip->dst;
	fr->id = ip->id;
	fr->proto = ip->proto;
	fr->expires = st->now + st->frag_timeout_ns;
	st->frag_queues++;
	return fr;
}

/* The datagram of q, whole: the fragments chained behind the first, whose
 * header now tells the whole length and no fragmentation. NULL (counted)
 * when it would pass 65535 bytes or no header buffer is left. */
static struct zc_mbuf *zc__frag_join(struct zc_stack *st, struct zc__frag_q *q, struct zc_ipv4 *ip)
{
	struct zc_mbuf *m = q->f[0].m;
	uint32_t hl = q->hdr_len, n = q->n;
	if (hl + q->end > 0xffffu) {
		zc__frag_free(st, q, ZC_DROP_IP_FRAG_BAD);
		return NULL;
	}
	for (uint32_t i = 1; i < n; i++)
		zc_mbuf_cat(m, q->f[i].m);
	zc__frag_release(st, q);
	m = zc_mbuf_pullup_private(m, hl);
	if (m == NULL) {
		zc_drop(&st->drops, ZC_DROP_RX_NOBUFS);
		return NULL;
	}
	uint8_t *h = m->data;
	zc_put16(h + 2, (uint16_t)m->pkt_len);
	zc_put16(h + 6, (uint16_t)(zc_get16(h + 6) & 0x4000)); /* DF stays */
	zc_put16(h + 10, 0);
	zc_put16(h + 10, zc_csum(h, hl));
	m->flags &= ZC_MBUF_F_LOOP; /* no checksum verdict of a NIC covers the whole */
	ip->total_len = (uint16_t)m->pkt_len;
	ip->mf = false;
	ip->frag_off = 0;
	ip->csum = zc_get16(h + 10);
	st->stats.ip_reassembled++;
	return m;
}

struct zc_mbuf *zc__ip_reass(struct zc_stack *st, struct zc_mbuf *m, struct zc_ipv4 *ip)
{
	st->stats.ip_frags_in++;
	uint32_t off = (uint32_t)ip->frag_off * 8, len = ip->total_len - ip->hdr_len, end = off + len;
	enum zc_drop_reason why = ZC_DROP_IP_FRAG_OVERLAP;
	struct zc__frag_q *q = zc__frag_find(st, ip);
	if (q == NULL)
		goto drop;
	if ((q->have_last && (end > q->end || (!ip->mf && end != q->end))) ||
	    (!ip->mf && end < q->end_seen))
		goto discard;
	uint32_t at = 0; /* where the fragment goes: after every one that starts before it */
	while (at < q->n && q->f[at].off < off)
		at++;
	if (at < q->n && q->f[at].off == off && q->f[at].len == len) {
		zc_drop(&st->drops, ZC_DROP_IP_FRAG_DUP);
		goto drop;
	}
	if ((at > 0 && q->f[at - 1].off + q->f[at - 1].len > off) || (at < q->n && q->f[at].off < end))
		goto discard; /* overlaps a neighbour */
	if (q->n == ZC__FRAG_PER_DGRAM) {
		why = ZC_DROP_IP_FRAG_LIMIT;
		goto discard;
	}
	while (st->frag_held >= ZC__FRAG_HELD) {
		struct zc__frag_q *o = zc__frag_oldest(st, q);
		if (o == NULL) {
			zc_drop(&st->drops, ZC_DROP_IP_FRAG_LIMIT);
			goto drop;
		}
		zc__frag_free(st, o, ZC_DROP_IP_FRAG_LIMIT);
	}
	if (off == 0)
		q->hdr_len = ip->hdr_len;
	else
		zc_mbuf_adj(m, ip->hdr_len);
	memmove(&q->f[at + 1], &q->f[at], (q->n - at) * sizeof(q->f[0]));
	q->f[at] = (struct zc__frag){ .m = m, .off = (uint16_t)off, .len = (uint16_t)len };
	q->n++;
	st->frag_held++;
	if (end > q->end_seen)
		q->end_seen = end;
	if (!ip->mf) {
		q->have_last = true;
		q->end = end;
	}
	if (!q->have_last || q->f[0].off != 0)
		return NULL;
	for (uint32_t i = 1; i < q->n; i++)
		if (q->f[i - 1].off + q->f[i - 1].len != q->f[i].off)
			return NULL;
	if (q->f[q->n - 1].off + q->f[q->n - 1].len != q->end)
		return NULL;
	return zc__frag_join(st, q, ip);
discard: /* this fragment and its datagram's */
	zc__frag_free(st, q, why);
	zc_drop(&st->drops, why);
drop:
	zc_mbuf_free(m);
	return NULL;
}

void zc__ip_frag_timer(struct zc_stack *st)
{
	for (uint32_t i = 0; i < ZC__FRAG_QUEUES && st->frag_queues; i++) {
		struct zc__frag_q *q = &st->frag[i];
		if (!q->used || q->expires > st->now)
			continue;
		struct zc_ipv4 ip;
		if (q->f[0].off == 0 &&
		    zc_ipv4_parse(q->f[0].m->data, q->f[0].m->len, q->f[0].m->pkt_len, false, &ip, NULL) ==
			    ZC_DROP_NONE)
			zc__icmp_error(st, q->f[0].m, &ip, ZC_ICMP_TIME_EXCEEDED, ZC_ICMP_TIMEX_REASS);
		zc__frag_free(st, q, ZC_DROP_IP_FRAG_TIMEOUT);
	}
}

uint64_t zc__ip_frag_next_timer(const struct zc_stack *st)
{
	uint64_t t = UINT64_MAX;
	for (uint32_t i = 0; i < ZC__FRAG_QUEUES && st->frag_queues; i++)
		if (st->frag[i].used && st->frag[i].expires < t)
			t = st->frag[i].expires;
	return t;
}

void zc__ip_frag_flush(struct zc_stack *st)
{
	for (uint32_t i = 0; i < ZC__FRAG_QUEUES; i++)
		if (st->frag[i].used)
			zc__frag_free(st, &st->frag[i], ZC_DROP_NONE);
}

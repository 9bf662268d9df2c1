/*
 * ip_output.c - IPv4 send: a 20-byte header (no options, DF set: the stack
 * never fragments, and callers keep packets within the MTU), a route
 * (on-link, or the gateway) and ARP for the next hop. A packet to our own
 * address does not go to the wire (no one there answers for it): it is
 * copied, header apart from a page-aligned payload as the NIC delivers it,
 * onto the loop queue that the next zc_stack_poll receives (zc__loop_input),
 * so a program can connect to its own stack's address.
 */
#include "stack/stack_priv.h"

#include <errno.h>
#include <string.h>

/* A copy of IP packet m as a receiving NIC would hand it up: the headers
 * in the head, the payload in frames of its own (the sender's frames may be
 * its retransmission queue or a program's pages lent by reference), with
 * the checksums marked good as a loopback device does. NULL: no buffers. */
static struct zc_mbuf *zc__loop_copy(struct zc_stack *st, const struct zc_mbuf *m)
{
	uint8_t h[ZC_MBUF_INLINE - ZC_MBUF_HEADROOM];
	uint32_t hn = zc_mbuf_copydata(m, 0, m->pkt_len < sizeof(h) ? m->pkt_len : (uint32_t)sizeof(h), h);
	uint32_t l4 = (uint32_t)(h[0] & 0xf) * 4, hl = l4;
	if (hn == m->pkt_len) /* small: all of it in the head */
		hl = hn;
	else if (h[9] == ZC_IPPROTO_TCP && hn >= l4 + 13)
		hl = l4 + (uint32_t)(h[l4 + 12] >> 4) * 4;
	else if (h[9] == ZC_IPPROTO_UDP || h[9] == ZC_IPPROTO_ICMP)
		hl = l4 + 8;
	if (hl > hn)
		hl = hn;
	struct zc_mbuf *c = zc_mbuf_alloc(st->pool);
	if (c == NULL)
		return NULL;
	memcpy(zc_mbuf_append(c, hl), h, hl);
	uint32_t fs = zc_pool_frame_size(st->pool);
	for (uint32_t off = hl; off < m->pkt_len;) {
		struct zc_mbuf *f = zc_mbuf_alloc_frame(st->pool);
		if (f == NULL) {
			zc_mbuf_free(c);
			return NULL;
		}
		uint32_t k = m->pkt_len - off < fs ? m->pkt_len - off : fs;
		zc_mbuf_copydata(m, off, k, f->data);
		f->len = k;
		f->pkt_len = k;
		zc_mbuf_cat(c, f);
		off += k;
	}
	c->flags = ZC_MBUF_F_L3_CSUM_OK | ZC_MBUF_F_L4_CSUM_OK | ZC_MBUF_F_LOOP;
	return c;
}

/* Packet m (owned) to our own address: onto the loop queue. */
static int zc__loop_output(struct zc_stack *st, struct zc_mbuf *m)
{
	struct zc_mbuf *c = st->loq_n < ZC__LOOPQ ? zc__loop_copy(st, m) : NULL;
	zc_mbuf_free(m);
	if (c == NULL) {
		zc_drop(&st->drops, st->loq_n < ZC__LOOPQ ? ZC_DROP_TX_NOBUFS : ZC_DROP_TX_LOOP_FULL);
		return -ENOBUFS;
	}
	c->nextpkt = NULL;
	if (st->loq)
		st->loq_tail->nextpkt = c;
	else
		st->loq = c;
	st->loq_tail = c;
	st->loq_n++;
	st->stats.ip_loop++;
	return 0;
}

void zc__loop_input(struct zc_stack *st)
{
	/* what this round sends to itself waits for the next: no recursion,
	 * and a poll does bounded work */
	struct zc_mbuf *m = st->loq;
	st->loq = st->loq_tail = NULL;
	st->loq_n = 0;
	while (m) {
		struct zc_mbuf *n = m->nextpkt;
		m->nextpkt = NULL;
		zc__ip_input(st, m);
		m = n;
	}
}

void zc__loop_flush(struct zc_stack *st)
{
	while (st->loq) {
		struct zc_mbuf *n = st->loq->nextpkt;
		zc_mbuf_free(st->loq);
		st->loq = n;
	}
	st->loq_tail = NULL;
	st->loq_n = 0;
}

int zc__ip_output(struct zc_stack *st, struct zc_mbuf *m, uint32_t src, uint32_t dst, uint8_t proto)
{
	return zc__ip_output_tos(st, m, src, dst, proto, 0);
}

int zc__ip_output_tos(struct zc_stack *st, struct zc_mbuf *m, uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos)
{
	uint32_t nh;
	if (zc__on_link(st, dst) || dst == ZC_IPV4_BROADCAST)
		nh = dst;
	else if (st->gw)
		nh = st->gw;
	else {
		zc_drop(&st->drops, ZC_DROP_TX_NO_ROUTE);
		zc_mbuf_free(m);
		return -ENETUNREACH;
	}
	uint8_t *p = zc_mbuf_prepend(m, ZC_IPV4_HLEN);
	if (p == NULL) {
		zc_drop(&st->drops, ZC_DROP_TX_NOBUFS);
		zc_mbuf_free(m);
		return -ENOBUFS;
	}
	struct zc_ipv4 ip = {
		.total_len = (uint16_t)m->pkt_len,
		.tos = tos,
		.id = st->ip_id++,
		.df = true,
		.ttl = st->ttl,
		.proto = proto,
		.src = src,
		.dst = dst,
	};
	zc_ipv4_build(p, &ip);
	st->stats.ip_out++;
	if (dst == st->ip)
		return zc__loop_output(st, m);
	zc__arp_output(st, m, nh);
	return 0;
}

/*
 * ip_output.c - IPv4 send: a 20-byte header (no options, DF set: the stack
 * never fragments, and callers keep packets within the MTU), a route
 * (on-link, or the gateway) and ARP for the next hop.
 */
#include "stack/stack_priv.h"

#include <errno.h>

int zc__ip_output(struct zc_stack *st, struct zc_mbuf *m, uint32_t src, uint32_t dst, uint8_t proto)
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
		.id = st->ip_id++,
		.df = true,
		.ttl = st->ttl,
		.proto = proto,
		.src = src,
		.dst = dst,
	};
	zc_ipv4_build(p, &ip);
	st->stats.ip_out++;
	zc__arp_output(st, m, nh);
	return 0;
}

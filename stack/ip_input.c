/*
 * ip_input.c - IPv4 receive: header checks (wire_ipv4.c), then is it ours,
 * from a plausible source, and for which protocol.
 *
 * Only the header is gathered into the head segment (zc_mbuf_pullup of
 * exactly its length), so a payload that arrived page-aligned in its own
 * frames stays there. Ethernet padding past the IP total length is trimmed.
 * A host does not forward: a packet for another address is dropped
 * (ip_not_for_us), which a promiscuous NIC makes common. Fragments of a
 * datagram for us go to ip_frag.c, and the datagram on once it is whole.
 */
#include "stack/stack_priv.h"

struct zc_mbuf *zc__rx_pullup(struct zc_stack *st, struct zc_mbuf *m, uint32_t n, bool writable)
{
	m = writable ? zc_mbuf_pullup_private(m, n) : zc_mbuf_pullup(m, n);
	if (m == NULL)
		zc_drop(&st->drops, ZC_DROP_RX_NOBUFS);
	return m;
}

struct zc_mbuf *zc__l4_pullup(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip,
			      uint32_t l4hdr, bool writable)
{
	uint32_t len = m->pkt_len - ip->hdr_len;
	uint32_t need = ip->hdr_len + (len < l4hdr ? len : l4hdr);
	return zc__rx_pullup(st, m, need, writable);
}

void zc__ip_input(struct zc_stack *st, struct zc_mbuf *m)
{
	struct zc_ipv4 ip;
	uint32_t n = m->pkt_len < ZC_IPV4_HLEN ? m->pkt_len : ZC_IPV4_HLEN;
	m = zc__rx_pullup(st, m, n, false);
	if (m == NULL)
		return;
	size_t hl = zc_ipv4_peek_hdr_len(m->data, m->len);
	if (hl > ZC_IPV4_HLEN && hl <= m->pkt_len) {
		m = zc__rx_pullup(st, m, (uint32_t)hl, false); /* options */
		if (m == NULL)
			return;
	}
	bool verify = !(m->flags & ZC_MBUF_F_L3_CSUM_OK);
	if (zc_ipv4_parse(m->data, m->len, m->pkt_len, verify, &ip, &st->drops) != ZC_DROP_NONE)
		goto drop;
	if (m->pkt_len > ip.total_len)
		zc_mbuf_trim(m, m->pkt_len - ip.total_len);
	if (ip.dst != st->ip && !zc__is_bcast(st, ip.dst)) {
		zc_drop(&st->drops, ZC_DROP_IP_NOT_US);
		goto drop;
	}
	/* our own address as the source: only from the loop queue */
	bool looped = (m->flags & ZC_MBUF_F_LOOP) && ip.src == st->ip && ip.dst == st->ip;
	if ((zc__is_martian_src(st, ip.src) && !looped) || ip.src == 0) {
		zc_drop(&st->drops, ZC_DROP_IP_BAD_SRC);
		goto drop;
	}
	st->stats.ip_in++;
	if (ip.mf || ip.frag_off) {
		m = zc__ip_reass(st, m, &ip);
		if (m == NULL)
			return;
	}
	switch (ip.proto) {
	case ZC_IPPROTO_ICMP:
		zc__icmp_input(st, m, &ip);
		return;
	case ZC_IPPROTO_UDP:
		zc__udp_input(st, m, &ip);
		return;
	case ZC_IPPROTO_TCP:
		zc__tcp_input(st, m, &ip);
		return;
	default:
		zc_drop(&st->drops, ZC_DROP_IP_PROTO);
		if (ip.dst == st->ip)
			zc__icmp_error(st, m, &ip, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_PROTO);
		goto drop;
	}
drop:
	zc_mbuf_free(m);
}

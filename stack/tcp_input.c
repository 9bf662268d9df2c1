/*
 * tcp_input.c - TCP receive. For now (before the TCP issue) it checks the
 * segment - header, options, checksum, each failure under its own drop
 * name - and counts every valid segment as tcp_no_socket: there are no TCP
 * sockets yet.
 */
#include "stack/stack_priv.h"

void zc__tcp_input(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip)
{
	struct zc_tcp t;
	uint32_t len = m->pkt_len - ip->hdr_len;
	m = zc__l4_pullup(st, m, ip, ZC_TCP_HLEN, false);
	if (m == NULL)
		return;
	if (len >= ZC_TCP_HLEN) { /* and the options */
		uint32_t hl = (uint32_t)(m->data[ip->hdr_len + 12] >> 4) * 4;
		if (hl > ZC_TCP_HLEN && hl <= len && (m = zc__l4_pullup(st, m, ip, hl, false)) == NULL)
			return;
	}
	if (zc_tcp_parse_header(m->data + ip->hdr_len, m->len - ip->hdr_len, len, &t, &st->drops) !=
	    ZC_DROP_NONE)
		goto drop;
	if (!(m->flags & ZC_MBUF_F_L4_CSUM_OK)) {
		uint32_t s = zc_csum_pseudo_v4(ip->src, ip->dst, ZC_IPPROTO_TCP, (uint16_t)len);
		if (zc_csum_fold(zc_csum_mbuf(s, m, ip->hdr_len, len)) != 0) {
			zc_drop(&st->drops, ZC_DROP_TCP_CSUM);
			goto drop;
		}
	}
	zc_drop(&st->drops, ZC_DROP_TCP_NO_SOCKET);
drop:
	zc_mbuf_free(m);
}

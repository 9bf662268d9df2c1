/* wire_udp.c - the UDP header (RFC 768) and the TCP and UDP pseudo-header
 * checksum: set by the stack, checked for a driver that offloads it. */
#include "stack/wire.h"

void zc_l4_set_csum(uint8_t *p, size_t len, uint8_t proto, uint32_t src, uint32_t dst)
{
	uint8_t *cf = p + (proto == ZC_IPPROTO_TCP ? 16 : 6);
	zc_put16(cf, 0);
	uint32_t s = zc_csum_pseudo_v4(src, dst, proto, (uint16_t)len);
	uint16_t c = zc_csum_fold(zc_csum_add(s, p, len));
	if (proto == ZC_IPPROTO_UDP && c == 0)
		c = 0xffff; /* zero means "no checksum" in UDP */
	zc_put16(cf, c);
}

enum zc_drop_reason zc_udp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
				 bool verify_csum, struct zc_udp *u, struct zc_drops *d)
{
	if (len < ZC_UDP_HLEN)
		return zc_drop(d, ZC_DROP_UDP_SHORT);
	u->sport = zc_get16(p);
	u->dport = zc_get16(p + 2);
	u->len = zc_get16(p + 4);
	u->csum = zc_get16(p + 6);
	if (u->len < ZC_UDP_HLEN || u->len > len)
		return zc_drop(d, ZC_DROP_UDP_LEN);
	if (verify_csum && u->csum != 0) {
		uint32_t s = zc_csum_pseudo_v4(src, dst, ZC_IPPROTO_UDP, u->len);
		if (zc_csum_fold(zc_csum_add(s, p, u->len)) != 0)
			return zc_drop(d, ZC_DROP_UDP_CSUM);
	}
	return ZC_DROP_NONE;
}

size_t zc_udp_build(uint8_t *p, const struct zc_udp *u, uint32_t src, uint32_t dst, size_t dlen,
		    bool with_csum)
{
	zc_put16(p, u->sport);
	zc_put16(p + 2, u->dport);
	zc_put16(p + 4, (uint16_t)(ZC_UDP_HLEN + dlen));
	zc_put16(p + 6, 0);
	if (with_csum)
		zc_l4_set_csum(p, ZC_UDP_HLEN + dlen, ZC_IPPROTO_UDP, src, dst);
	return ZC_UDP_HLEN;
}

/* --- read by drivers ------------------------------------------------------------ */

bool zc_l4_csum_check(const uint8_t *f, uint32_t len, uint32_t pkt_len, const struct zc_hdr_peek *pk,
		      uint32_t payload_sum)
{
	const uint8_t *ip = f + ZC_ETH_HLEN;
	uint32_t l4 = pk->l4;
	uint32_t hs = zc_csum_add(0, f + l4, len - l4);
	uint32_t ps = ((len - l4) & 1) ? zc_csum_swap(payload_sum) : payload_sum;
	uint16_t ip_len = zc_get16(ip + 2); /* total length */
	uint32_t l4len = ip_len - (l4 - ZC_ETH_HLEN);
	uint32_t ph = zc_csum_pseudo_v4(zc_get32(ip + 12), zc_get32(ip + 16), ip[9], (uint16_t)l4len);
	return l4len == pkt_len - l4 && zc_csum_fold(zc_csum_combine(zc_csum_combine(hs, ps), ph)) == 0;
}

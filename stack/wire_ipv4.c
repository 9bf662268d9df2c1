/* wire_ipv4.c - the IPv4 header (RFC 791): checked, options walked and skipped. */
#include "stack/wire.h"

/* Options lie in p[20..hlen). Returns false when one is malformed. */
static bool zc__ipv4_options_ok(const uint8_t *p, size_t hlen)
{
	size_t i = ZC_IPV4_HLEN;
	while (i < hlen) {
		uint8_t kind = p[i];
		if (kind == 0) /* end of option list */
			return true;
		if (kind == 1) { /* no-operation */
			i++;
			continue;
		}
		if (i + 1 >= hlen)
			return false;
		uint8_t olen = p[i + 1];
		if (olen < 2 || i + olen > hlen)
			return false;
		i += olen;
	}
	return true;
}

enum zc_drop_reason zc_ipv4_parse(const uint8_t *p, size_t contig, size_t total, bool verify_csum,
				  struct zc_ipv4 *ip, struct zc_drops *d)
{
	if (contig < ZC_IPV4_HLEN || total < ZC_IPV4_HLEN)
		return zc_drop(d, ZC_DROP_IP_SHORT);
	if ((p[0] >> 4) != 4)
		return zc_drop(d, ZC_DROP_IP_VERSION);
	size_t hlen = (size_t)(p[0] & 0xf) * 4;
	if (hlen < ZC_IPV4_HLEN)
		return zc_drop(d, ZC_DROP_IP_IHL_SMALL);
	if (hlen > contig || hlen > total)
		return zc_drop(d, ZC_DROP_IP_IHL_LONG);
	uint16_t tl = zc_get16(p + 2);
	if (tl < hlen)
		return zc_drop(d, ZC_DROP_IP_TOTLEN_SMALL);
	if (tl > total)
		return zc_drop(d, ZC_DROP_IP_TOTLEN_LONG);
	if (verify_csum && zc_csum(p, hlen) != 0)
		return zc_drop(d, ZC_DROP_IP_CSUM);
	if (!zc__ipv4_options_ok(p, hlen))
		return zc_drop(d, ZC_DROP_IP_OPT_BAD);
	uint16_t fo = zc_get16(p + 6);
	ip->hdr_len = (uint8_t)hlen;
	ip->tos = p[1];
	ip->total_len = tl;
	ip->id = zc_get16(p + 4);
	ip->df = (fo & 0x4000) != 0;
	ip->mf = (fo & 0x2000) != 0;
	ip->frag_off = fo & 0x1fff;
	ip->ttl = p[8];
	ip->proto = p[9];
	ip->csum = zc_get16(p + 10);
	ip->src = zc_get32(p + 12);
	ip->dst = zc_get32(p + 16);
	uint32_t plen = tl - (uint32_t)hlen;
	if ((ip->mf && (plen == 0 || plen % 8)) || (uint32_t)ip->frag_off * 8 + tl > 0xffffu)
		return zc_drop(d, ZC_DROP_IP_FRAG_BAD);
	return ZC_DROP_NONE;
}

size_t zc_ipv4_build(uint8_t *p, const struct zc_ipv4 *ip)
{
	p[0] = 0x45;
	p[1] = ip->tos;
	zc_put16(p + 2, ip->total_len);
	zc_put16(p + 4, ip->id);
	zc_put16(p + 6, (uint16_t)((ip->df ? 0x4000 : 0) | (ip->mf ? 0x2000 : 0) | (ip->frag_off & 0x1fff)));
	p[8] = ip->ttl;
	p[9] = ip->proto;
	zc_put16(p + 10, 0);
	zc_put32(p + 12, ip->src);
	zc_put32(p + 16, ip->dst);
	zc_put16(p + 10, zc_csum(p, ZC_IPV4_HLEN));
	return ZC_IPV4_HLEN;
}

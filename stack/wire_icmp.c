/* wire_icmp.c - ICMP messages (RFC 792): the 8-byte header and its checksum. */
#include "stack/wire.h"

enum zc_drop_reason zc_icmp_parse(const uint8_t *p, size_t len, bool verify_csum, struct zc_icmp *ic,
				  struct zc_drops *d)
{
	if (len < ZC_ICMP_HLEN)
		return zc_drop(d, ZC_DROP_ICMP_SHORT);
	if (verify_csum && zc_csum(p, len) != 0)
		return zc_drop(d, ZC_DROP_ICMP_CSUM);
	ic->type = p[0];
	ic->code = p[1];
	ic->csum = zc_get16(p + 2);
	ic->id = zc_get16(p + 4);
	ic->seq = zc_get16(p + 6);
	return ZC_DROP_NONE;
}

size_t zc_icmp_build(uint8_t *p, const struct zc_icmp *ic, size_t dlen)
{
	p[0] = ic->type;
	p[1] = ic->code;
	zc_put16(p + 2, 0);
	zc_put16(p + 4, ic->id);
	zc_put16(p + 6, ic->seq);
	zc_put16(p + 2, zc_csum(p, ZC_ICMP_HLEN + dlen));
	return ZC_ICMP_HLEN;
}

void zc_icmp_set_type(uint8_t *p, uint8_t type)
{
	uint16_t old = zc_get16(p), now = (uint16_t)(type << 8 | p[1]);
	p[0] = type;
	zc_put16(p + 2, zc_csum_update16(zc_get16(p + 2), old, now));
}

bool zc_icmp_quote_parse(const uint8_t *q, size_t n, struct zc_icmp_quote *out)
{
	if (n < ZC_IPV4_HLEN + 8u || (q[0] >> 4) != 4)
		return false;
	size_t hl = (q[0] & 0xfu) * 4u;
	if (hl < ZC_IPV4_HLEN || n < hl + 8u)
		return false;
	out->proto = q[9];
	out->src = zc_get32(q + 12);
	out->dst = zc_get32(q + 16);
	out->sport = zc_get16(q + hl);
	out->dport = zc_get16(q + hl + 2);
	out->seq = zc_get32(q + hl + 4);
	return true;
}

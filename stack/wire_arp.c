/* wire_arp.c - ARP for IPv4 over Ethernet (RFC 826); anything else is dropped. */
#include "stack/wire.h"

#include <string.h>

enum zc_drop_reason zc_arp_parse(const uint8_t *p, size_t len, struct zc_arp *a, struct zc_drops *d)
{
	if (len < ZC_ARP_LEN)
		return zc_drop(d, ZC_DROP_ARP_SHORT);
	if (zc_get16(p) != 1 || zc_get16(p + 2) != ZC_ETHERTYPE_IPV4 || p[4] != 6 || p[5] != 4)
		return zc_drop(d, ZC_DROP_ARP_FORMAT);
	a->op = zc_get16(p + 6);
	if (a->op != ZC_ARP_REQUEST && a->op != ZC_ARP_REPLY)
		return zc_drop(d, ZC_DROP_ARP_OP);
	memcpy(a->sha, p + 8, 6);
	a->spa = zc_get32(p + 14);
	memcpy(a->tha, p + 18, 6);
	a->tpa = zc_get32(p + 24);
	return ZC_DROP_NONE;
}

size_t zc_arp_build(uint8_t *p, const struct zc_arp *a)
{
	zc_put16(p, 1);
	zc_put16(p + 2, ZC_ETHERTYPE_IPV4);
	p[4] = 6;
	p[5] = 4;
	zc_put16(p + 6, a->op);
	memcpy(p + 8, a->sha, 6);
	zc_put32(p + 14, a->spa);
	memcpy(p + 18, a->tha, 6);
	zc_put32(p + 24, a->tpa);
	return ZC_ARP_LEN;
}

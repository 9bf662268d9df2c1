/* wire_ether.c - Ethernet II header (no 802.1Q: tagged frames parse with type 0x8100). */
#include "stack/wire.h"

#include <string.h>

enum zc_drop_reason zc_eth_parse(const uint8_t *p, size_t len, struct zc_eth *e, struct zc_drops *d)
{
	if (len < ZC_ETH_HLEN)
		return zc_drop(d, ZC_DROP_ETH_SHORT);
	memcpy(e->dst, p, 6);
	memcpy(e->src, p + 6, 6);
	e->type = zc_get16(p + 12);
	return ZC_DROP_NONE;
}

size_t zc_eth_build(uint8_t *p, const struct zc_eth *e)
{
	memcpy(p, e->dst, 6);
	memcpy(p + 6, e->src, 6);
	zc_put16(p + 12, e->type);
	return ZC_ETH_HLEN;
}

/*
 * ether.c - Ethernet in and out, and the transmit queue in front of the NIC.
 *
 * Input checks the frame's size against the MTU, its destination (ours or
 * broadcast; a NIC in promiscuous mode hands us everyone's frames) and its
 * source, then passes IPv4 and ARP up. Output prepends the header and queues
 * the frame; zc__tx_flush hands the queue to the NIC in bursts and keeps
 * what a busy NIC refused, up to ZC__TXQ packets.
 */
#include "stack/stack_priv.h"

#include <string.h>

static const uint8_t zc__bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void zc__ether_input(struct zc_stack *st, struct zc_mbuf *m)
{
	struct zc_eth e;
	if (m->pkt_len > st->nif->caps.mtu + ZC_ETH_HLEN + ZC_ETH_VLAN_TAG_LEN) {
		zc_drop(&st->drops, ZC_DROP_ETH_OVERSIZE);
		goto drop;
	}
	if (m->pkt_len < ZC_ETH_HLEN) {
		zc_drop(&st->drops, ZC_DROP_ETH_SHORT);
		goto drop;
	}
	uint32_t n = ZC_ETH_HLEN + ZC_IPV4_HLEN; /* an IPv4 header comes up with it */
	m = zc__rx_pullup(st, m, m->pkt_len < n ? m->pkt_len : n, false);
	if (m == NULL)
		return;
	if (zc_eth_parse(m->data, m->len, &e, &st->drops) != ZC_DROP_NONE)
		goto drop;
	bool bcast = memcmp(e.dst, zc__bcast_mac, 6) == 0;
	if (!bcast && memcmp(e.dst, st->mac, 6) != 0) {
		zc_drop(&st->drops, ZC_DROP_ETH_NOT_US);
		goto drop;
	}
	if (zc_eth_is_multicast(e.src) || memcmp(e.src, st->mac, 6) == 0) {
		zc_drop(&st->drops, ZC_DROP_ETH_BAD_SRC);
		goto drop;
	}
	st->stats.eth_in++;
	zc_mbuf_adj(m, ZC_ETH_HLEN);
	if (e.type == ZC_ETHERTYPE_IPV4) {
		zc__ip_input(st, m);
		return;
	}
	if (e.type == ZC_ETHERTYPE_ARP) {
		zc__arp_input(st, m);
		return;
	}
	zc_drop(&st->drops, ZC_DROP_ETH_TYPE);
drop:
	zc_mbuf_free(m);
}

void zc__tx_flush(struct zc_stack *st)
{
	while (st->txn > 0) {
		struct zc_mbuf *b[ZC__TX_BURST];
		uint32_t n = st->txn < ZC__TX_BURST ? st->txn : ZC__TX_BURST;
		for (uint32_t i = 0; i < n; i++)
			b[i] = st->txq[(st->txh + i) % ZC__TXQ];
		int k = zc_netif_tx(st->nif, b, (int)n, st->now);
		if (k < 0)
			k = 0;
		st->txh = (st->txh + (uint32_t)k) % ZC__TXQ;
		st->txn -= (uint32_t)k;
		if ((uint32_t)k < n) {
			st->stats.tx_busy++;
			return;
		} /* busy: the rest waits for the next poll */
	}
}

void zc__ether_output(struct zc_stack *st, struct zc_mbuf *m, const uint8_t dst[6], uint16_t type)
{
	uint8_t *p = zc_mbuf_prepend(m, ZC_ETH_HLEN);
	if (p == NULL) {
		zc_drop(&st->drops, ZC_DROP_TX_NOBUFS);
		zc_mbuf_free(m);
		return;
	}
	struct zc_eth e = { .type = type };
	memcpy(e.dst, dst ? dst : zc__bcast_mac, 6);
	memcpy(e.src, st->mac, 6);
	zc_eth_build(p, &e);
	if (st->txn == ZC__TXQ) {
		zc__tx_flush(st);
		if (st->txn == ZC__TXQ) {
			zc_drop(&st->drops, ZC_DROP_TX_BUSY);
			zc_mbuf_free(m);
			return;
		}
	}
	st->txq[(st->txh + st->txn) % ZC__TXQ] = m;
	st->txn++;
	st->stats.eth_out++;
	if (st->txn >= ZC__TX_BURST)
		zc__tx_flush(st);
}

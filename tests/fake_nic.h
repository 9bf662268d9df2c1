/* fake_nic.h - a NIC in memory for tests and fuzzers: frames are handed
 * to the stack through a small receive queue, and what it sends is copied
 * (the last frame kept) and freed. No test framework: the fuzzers in
 * tests/fuzz/ use it as test_drops.c does (drops_fixture.h). */
#ifndef ZC_TESTS_FAKE_NIC_H
#define ZC_TESTS_FAKE_NIC_H

#include "stack/netif.h"
#include "stack/pool.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_MAX 2048u

struct fake_nic {
	struct zc_netif nif;
	struct zc_mbuf *rxq[8];
	int rxn;
	bool refuse_tx;          /* a full ring: tx_burst takes nothing */
	uint8_t last[FRAME_MAX]; /* the last frame the stack sent */
	uint32_t last_len, nsent;
};

static inline int fake_rx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	struct fake_nic *f = (struct fake_nic *)nif;
	(void)now;
	int k = f->rxn < n ? f->rxn : n;
	memcpy(pkts, f->rxq, (size_t)k * sizeof(*pkts));
	memmove(f->rxq, f->rxq + k, (size_t)(f->rxn - k) * sizeof(*pkts));
	f->rxn -= k;
	return k;
}

static inline int fake_tx(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now)
{
	(void)now;
	struct fake_nic *f = (struct fake_nic *)nif;
	if (f->refuse_tx)
		return 0;
	for (int i = 0; i < n; i++, f->nsent++) {
		f->last_len = zc_mbuf_copydata(pkts[i], 0, FRAME_MAX, f->last);
		zc_mbuf_free(pkts[i]);
	}
	return n;
}

static inline void fake_close(struct zc_netif *nif)
{
	struct fake_nic *f = (struct fake_nic *)nif;
	while (f->rxn)
		zc_mbuf_free(f->rxq[--f->rxn]);
	zc_pool_destroy(nif->pool);
	free(f);
}

static const struct zc_netif_ops fake_ops = {
	.rx_burst = fake_rx, .tx_burst = fake_tx, .close = fake_close,
};

#endif

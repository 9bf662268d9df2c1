/*
 * forge.c - test hooks (nic/trapeze_priv.h): descriptors written into the
 * peer's receive ring as a buggy or hostile peer process could, with no
 * check and no frame handed over, for tests of the receiver's validation
 * (rx.c), and ids in the return ring for the sender's; the counters of
 * receive by reference. Not on any data path.
 */
#include "nic/trapeze_priv.h"
#include "nic/trapeze/trapeze_priv.h"

#include <errno.h>

/* The next free slot of the peer's ring, zeroed, for a forged descriptor. */
static struct zc__tz_desc *zc__forge_slot(struct zc__trapeze *t, uint32_t *head)
{
	*head = zc__tz_rx_head(t->peer, memory_order_seq_cst);
	if (zc__tz_rx_full(*head, zc__tz_rx_tail(t->peer, memory_order_seq_cst)))
		return NULL;
	struct zc__tz_desc *d = zc__tz_rx_slot(t->peer, *head);
	zc__tz_desc_clear(d);
	return d;
}

int zc__trapeze_forge_pull(struct zc_netif *nif, uint32_t payload_len, uint32_t nsrc, const uint32_t *frames,
			   const uint32_t *offs, const uint32_t *lens)
{
	struct zc__trapeze *t = zc__tz(nif);
	uint32_t head;
	struct zc__tz_desc *d = zc__forge_slot(t, &head);
	if (d == NULL)
		return -ENOSPC;
	zc__tz_desc_set(d, ZC__TZ_DESC_PULL, ZC__TRAPEZE_FORGE_CTRL_LEN, 0, payload_len);
	zc__tz_desc_set_nsrc(d, nsrc);
	for (uint32_t i = 0; i < nsrc && i < ZC__TZ_MAX_SRC; i++)
		zc__tz_desc_set_src(d, i, frames[i], offs[i], lens[i]);
	zc__tz_set_rx_head(t->peer, head + 1, memory_order_release);
	return 0;
}

int zc__trapeze_forge(struct zc_netif *nif, uint16_t ctrl_len, uint8_t npages, uint8_t flags,
		      uint32_t payload_len, const uint32_t *pages, const uint32_t *taken)
{
	struct zc__trapeze *t = zc__tz(nif);
	uint32_t head;
	struct zc__tz_desc *d = zc__forge_slot(t, &head);
	if (d == NULL)
		return -ENOSPC;
	zc__tz_desc_set(d, flags, ctrl_len, npages, payload_len);
	for (unsigned i = 0; i < npages && i < ZC_TRAPEZE_MAX_PAGES; i++)
		zc__tz_desc_set_page(d, i, pages[i], taken[i]);
	zc__tz_set_rx_head(t->peer, head + 1, memory_order_release);
	return 0;
}

void zc__trapeze_forge_return(struct zc_netif *nif, uint32_t id)
{
	struct zc__trapeze *t = zc__tz(nif);
	uint32_t head = zc__tz_ret_head(t->me, memory_order_relaxed);
	zc__tz_ret_set(t->me, head, id);
	zc__tz_set_ret_head(t->me, head + 1, memory_order_release);
}

void zc__trapeze_ref_stats(struct zc_netif *nif, struct zc__trapeze_ref_stats *out)
{
	struct zc__trapeze *t = zc__tz(nif);
	*out = (struct zc__trapeze_ref_stats){ .out = ZC__TZ_REFS - t->nref_free, .held = t->nrefout,
					       .given = t->ref_given, .taken_back = t->ref_taken_back,
					       .bad = t->ref_bad };
}

void *zc__trapeze_shared(struct zc_netif *nif, size_t *len)
{
	struct zc__trapeze *t = zc__tz(nif);
	*len = sizeof(struct zc__tz_shared);
	return t->sh;
}

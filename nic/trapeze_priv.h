/*
 * trapeze_priv.h - test hooks of the Trapeze driver; not for the stack.
 */
#ifndef ZC_TRAPEZE_PRIV_H
#define ZC_TRAPEZE_PRIV_H

#include "stack/netif.h"

#include <stdint.h>

/* Write a raw descriptor into the peer's receive ring, as a buggy or hostile
 * peer process could: no check, no frame handed over. 0, or -ENOSPC. */
int zc__trapeze_forge(struct zc_netif *nif, uint16_t ctrl_len, uint8_t npages, uint8_t flags,
		      uint32_t payload_len, const uint32_t *pages, const uint32_t *taken);

/* The same for a pull descriptor: the receiver is to copy nsrc pieces
 * (frame, off, len) of the shared file. */
int zc__trapeze_forge_pull(struct zc_netif *nif, uint32_t payload_len, uint32_t nsrc, const uint32_t *frames,
			   const uint32_t *offs, const uint32_t *lens);

#endif

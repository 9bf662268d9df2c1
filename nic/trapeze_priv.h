/*
 * trapeze_priv.h - test hooks of the Trapeze driver (nic/trapeze/forge.c);
 * not for the stack. The driver's own internals are in
 * nic/trapeze/trapeze_priv.h.
 */
#ifndef ZC_TRAPEZE_PRIV_H
#define ZC_TRAPEZE_PRIV_H

#include "stack/netif.h"

#include <stddef.h>
#include <stdint.h>

/* Write a raw descriptor into the peer's receive ring, as a buggy or hostile
 * peer process could: no check, no frame handed over; flags are the wire's
 * ZC__TZ_DESC_* (nic/trapeze/wire_layout.h). 0, or -ENOSPC. */
int zc__trapeze_forge(struct zc_netif *nif, uint16_t ctrl_len, uint8_t npages, uint8_t flags,
		      uint32_t payload_len, const uint32_t *pages, const uint32_t *taken);

/* The same for a pull descriptor: the receiver is to copy nsrc pieces
 * (frame, off, len) of the shared file after a control message of
 * ZC__TRAPEZE_FORGE_CTRL_LEN zero bytes. */
#define ZC__TRAPEZE_FORGE_CTRL_LEN 40u
int zc__trapeze_forge_pull(struct zc_netif *nif, uint32_t payload_len, uint32_t nsrc, const uint32_t *frames,
			   const uint32_t *offs, const uint32_t *lens);

/* A hostile or confused receiver: id written into this port's return ring
 * (ids of the peer's references it is done with), unchecked. */
void zc__trapeze_forge_return(struct zc_netif *nif, uint32_t id);

/* The wire's shared header (struct zc__tz_shared of nic/trapeze/wire_layout.h:
 * both ports' rings, indices, claims) as this port maps it, and its length,
 * for a test that plays a hostile peer writing it directly. */
void *zc__trapeze_shared(struct zc_netif *nif, size_t *len);

/* Receive by reference: this port's counters. */
struct zc__trapeze_ref_stats {
	uint32_t out;        /* sending side: packets the peer holds by reference */
	uint32_t held;       /* receiving side: the peer's packets we hold */
	uint64_t given;      /* receiving side: ids given back */
	uint64_t taken_back; /* sending side: packets freed, their id given back or the peer gone */
	uint64_t bad;        /* sending side: ids given back that name nothing of ours */
};
void zc__trapeze_ref_stats(struct zc_netif *nif, struct zc__trapeze_ref_stats *out);

#endif

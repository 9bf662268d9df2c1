/*
 * zerocopy.h - page trading on receive, read-only views, and the policy
 * that chooses between trading and copying (internal to sockapi/).
 *
 * Trading (FreeBSD's uiomoveco, in user space): the next frame-size bytes of
 * a TCP stream that lie in one receive frame, from its first byte, are
 * mapped over the caller's page-aligned buffer (mmap MAP_FIXED of the pool's
 * memfd at the frame's offset) instead of being copied. The frame is then
 * lent to the caller. When the caller's old pages were a frame we lent
 * before, and the address still maps it, that frame comes back to the pool
 * (equilibrium). Rules:
 *  - only whole frames of the connection's own in-order data; partial
 *    frames and everything else are copied;
 *  - only over a private anonymous mapping or one of our own lent frames,
 *    writable, covering the whole range (asked of the kernel with the
 *    PROCMAP_QUERY ioctl, or /proc/self/maps where that is missing); other
 *    mappings (files, shared memory) are copied into;
 *  - a frame that left the pool comes back only when no mapping of it is
 *    left in the process: verified by a scan of /proc/self/maps (when the
 *    pool runs low), never assumed;
 *  - before fork(), every mapping of a pool in the process is made private
 *    anonymous memory with the same bytes (a copy at fork time), so parent
 *    and child never share a page, and those frames come home.
 * Policy: at start-up the cost of copying one frame and of trading one is
 * measured for each frame size (the cheapest of 8 rounds after a first);
 * auto trades a size only where trading was cheaper, and then only into
 * buffers aligned to the frame size (a 2 MiB frame mapped at an address
 * that is not 2 MiB-aligned is mapped with 512 small pages).
 *
 * All functions run under the socket layer's lock.
 */
#ifndef ZC_SOCKAPI_ZEROCOPY_H
#define ZC_SOCKAPI_ZEROCOPY_H

#include "sockapi/socket.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct zc_pool;
struct zc_tcp_sock;
struct zc_mbuf;
struct zc__zc;

/* pools[0]: the NIC's page frames, pools[1]: the 2 MiB placement pool or NULL. */
struct zc__zc *zc__zc_create(struct zc_pool *page_pool, struct zc_pool *huge_pool, int policy);
void zc__zc_destroy(struct zc__zc *z);
void zc__zc_set_policy(struct zc__zc *z, int policy);
int zc__zc_policy(const struct zc__zc *z);
void zc__zc_costs(const struct zc__zc *z, struct zc_zcopy_costs out[2]);
void zc__zc_set_costs(struct zc__zc *z, const struct zc_zcopy_costs in[2]);

/* Read up to len bytes of t's in-order data into buf by trading whole
 * frames, as the policy allows; stops at the first piece it cannot trade.
 * Returns the bytes traded (0: copy all of it). Counts into st and the
 * context's totals. */
size_t zc__zc_trade(struct zc__zc *z, struct zc_tcp_sock *t, uint8_t *buf, size_t len,
		    struct zc_zstats *st);
/* Would a read of len bytes into buf trade, once a whole frame is queued?
 * (the head of t's data starts a frame and the policy and buffer allow).
 * Returns that frame size, or 0. */
uint32_t zc__zc_tradeable(struct zc__zc *z, struct zc_tcp_sock *t, const uint8_t *buf, size_t len);
/* Is [buf, buf+len) inside one private anonymous, writable mapping (not a
 * stack)? For sends by copy-on-write. */
bool zc__zc_private_anon(struct zc__zc *z, const void *buf, size_t len);
/* Mappings in [addr, addr+len) may change: forget what was learnt of them. */
void zc__zc_forget_range(struct zc__zc *z, const void *addr, size_t len);
/* Count a copy of len bytes that took ns (0: not timed; copy_ns on
 * frame-size reads); copies of 64 KiB or more are also what auto weighs its
 * trades against. */
void zc__zc_count_copy(struct zc__zc *z, struct zc_zstats *st, size_t len, uint64_t ns);

/* Views of a chain of received packets: fills iov (up to n entries) with
 * read-only pointers; returns the entries used, or -1 when they do not fit. */
int zc__zc_views(struct zc__zc *z, const struct zc_mbuf *pkts, struct iovec *iov, int n);

/* Totals of the context (bytes_traded, trades, remap_ns, ...). */
void zc__zc_totals(const struct zc__zc *z, struct zc_zstats *out);
void zc__zc_add(struct zc__zc *z, const struct zc_zstats *delta);
/* The counters a socket keeps itself (the rest the context counts), added
 * into a total. */
void zc__zstats_add_sock(struct zc_zstats *to, const struct zc_zstats *d);

/* Before fork: make every mapping of a pool private memory (see above). */
void zc__zc_before_fork(struct zc__zc *z);
/* Take back lent frames that no mapping references any more; returns how many. */
unsigned zc__zc_reclaim(struct zc__zc *z);

#endif

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
 * One way through: every step of a TCP read calls zc__zc_recv, which
 * decides (trade, copy or hold for a frame), trades, copies and counts;
 * zc_recv_zc's views are made and counted by zc__zc_view. The receive path
 * (recv.c) only waits.
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
struct zc__zc *zc__zc_create(struct zc_pool *page_pool, struct zc_pool *huge_pool, int policy, bool rx_ref);
void zc__zc_destroy(struct zc__zc *z);
void zc__zc_set_policy(struct zc__zc *z, int policy);
int zc__zc_policy(const struct zc__zc *z);
void zc__zc_costs(const struct zc__zc *z, struct zc_zcopy_costs out[2]);
void zc__zc_set_costs(struct zc__zc *z, const struct zc_zcopy_costs in[2]);

/* One TCP read's progress across its waits (the receive path keeps it). */
struct zc__zc_read {
	uint8_t *buf;
	size_t len;
	size_t done;    /* bytes delivered into buf so far */
	bool waitall;   /* MSG_WAITALL on a blocking socket: may hold for a frame */
	bool fell_back; /* trade_fallbacks counted for this read */
};
/*
 * One step of a TCP read into rd->buf + rd->done: trades whole frames as
 * the policy and the buffer allow, then copies what is queued of the rest,
 * except that with waitall, when the next frame would be traded whole once
 * all of it is here, it holds (the caller waits for the frame rather than
 * copy a piece of it). Everything is counted here, in st and the context's
 * totals: trades and their remap time, copies (timed from a page up; the
 * copies of 64 KiB or more are what auto weighs its trades against), and
 * a read of a page or more into a page-aligned buffer that copied under a
 * policy other than never (trade_fallbacks, once a read). Advances
 * rd->done. Returns 0 when it traded and copied nothing more, -EAGAIN when
 * nothing was queued or it holds, else what zc_tcp_recv returned for the
 * copy (> 0, 0 at the end of the stream, -errno).
 */
ssize_t zc__zc_recv(struct zc__zc *z, struct zc_tcp_sock *t, struct zc__zc_read *rd, struct zc_zstats *st);
/* The len bytes of a chain of received packets (nextpkt links) as views
 * in out: read-only pointers into the pools' view mapping, counted as
 * bytes_viewed; when they need more than ZC_RXZC_IOV entries, one bounce
 * copy instead (out->iovcnt -1, counted as bytes_copied). out->priv holds
 * the packets until zc_recv_zc_done. 0, or -ENOMEM (the packets stay the
 * caller's, out->priv NULL). */
int zc__zc_view(struct zc__zc *z, struct zc_mbuf *pkts, size_t len, struct zc_rxzc *out, struct zc_zstats *st);

/* Is [buf, buf+len) inside one private anonymous, writable mapping (not a
 * stack)? For sends by copy-on-write. */
bool zc__zc_private_anon(struct zc__zc *z, const void *buf, size_t len);
/* Mappings in [addr, addr+len) may change: forget what was learnt of them. */
void zc__zc_forget_range(struct zc__zc *z, const void *addr, size_t len);

/* Totals of the context (bytes_traded, trades, remap_ns, ...). */
void zc__zc_totals(const struct zc__zc *z, struct zc_zstats *out);
void zc__zc_add(struct zc__zc *z, const struct zc_zstats *delta);
/* The counters a socket keeps itself (the rest the context counts), added
 * into a total. */
void zc__zstats_add_sock(struct zc_zstats *to, const struct zc_zstats *d);

/* Before fork: make every mapping of a pool private memory (see above). */
void zc__zc_before_fork(struct zc__zc *z);
/* In a fork child: its own view of its mappings. */
void zc__zc_after_fork_child(struct zc__zc *z);
/* Take back lent frames that no mapping references any more; returns how many. */
unsigned zc__zc_reclaim(struct zc__zc *z);

#endif

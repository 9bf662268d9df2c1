/*
 * netif.h - the contract between the stack and a NIC driver.
 *
 * A driver (nic/trapeze/, nic/dpdk.c, ...) or a middleware (nic/faults.c,
 * nic/capture.c) fills a struct zc_netif; the stack calls it only through
 * these operations and never includes a driver's own header.
 *
 * Buffer ownership:
 *  - rx_burst hands the caller up to n packets (mbuf chains of the netif's
 *    pool); the caller owns them and must zc_mbuf_free() each one.
 *  - tx_burst takes ownership of the first k packets it returns (k <= n),
 *    whether it sends, copies or drops them; packets [k, n) stay the caller's
 *    (to retry or free). A packet whose payload the caller still needs (a
 *    retransmission queue) is passed as a clone: the driver then cannot hand
 *    the frame over and copies it instead (counted as DMA bytes).
 *  - The first segment of a packet holds the headers (Ethernet onward); on a
 *    header-split NIC, payload segments follow, page-aligned, whole pages but
 *    the last.
 *
 * Time: both bursts take the caller's clock (ns); a driver never reads one
 * on the data path, so simulations run in virtual time.
 *
 * Sleeping: irq_fd() is a pollable fd. The caller calls irq_arm(); if it
 * returns 0, no packet is pending and the fd will become readable when one
 * arrives; then it polls the fd and calls irq_ack() after waking. If
 * irq_arm() returns -EAGAIN, packets are pending: do not sleep. A NIC
 * without a receive interrupt (the DPDK backend) returns -1 from irq_fd()
 * and -EOPNOTSUPP from irq_arm(): callers poll it, sleeping briefly when idle.
 */
#ifndef ZC_NETIF_H
#define ZC_NETIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zc_mbuf;
struct zc_pool;

struct zc_netif_caps {
	uint32_t mtu;          /* bytes of L3 packet (IP header + payload) per frame */
	uint32_t max_hdr;      /* header-split NICs: most header bytes in the first segment */
	uint32_t page_size;    /* payload alignment on receive */
	bool hdr_split;        /* payload arrives page-aligned apart from headers */
	bool rx_csum;          /* ZC_MBUF_F_*_CSUM_OK flags are set on receive */
	bool tx_csum;          /* the NIC fills IPv4/TCP/UDP checksums */
	/* Received payload may be ext segments over the sending peer's frames
	 * in the pool's file (Trapeze's receive by reference): a copy out of
	 * them is the only copy, so trading placed frames saves none. */
	bool rx_ref;
};

/* Counters every netif keeps (a middleware adds its own). */
struct zc_netif_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_dropped;   /* lost inside the driver (no buffer, bad descriptor) */
	uint64_t tx_dropped;   /* refused by the driver (too big, malformed) */
	uint64_t tx_busy;      /* tx_burst returned early: ring full or no receive buffer */
	uint64_t dma_bytes;    /* bytes the NIC had to copy (not host-stack copies) */
	uint64_t zc_frames;    /* payload frames handed over without a copy */
	uint64_t placed_bytes; /* payload put in large frames by sequence number (rx_pool) */
	uint64_t ref_bytes;    /* payload received by reference: left in the sender's frames, no copy */
	uint64_t irq_raised;   /* interrupts sent to a sleeping peer */
	uint64_t irq_waits;    /* times this side armed its interrupt and slept */
};

struct zc_netif;

struct zc_netif_ops {
	int (*rx_burst)(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now);
	int (*tx_burst)(struct zc_netif *nif, struct zc_mbuf **pkts, int n, uint64_t now);
	/* Move anything held back (delayed frames) that is due by now; may be NULL. */
	void (*flush)(struct zc_netif *nif, uint64_t now);
	/* Earliest time a held-back frame becomes due, or UINT64_MAX; may be NULL. */
	uint64_t (*next_due)(struct zc_netif *nif);
	/* Whether a receive burst might find something, without taking it:
	 * lock-free and callable by any thread while another uses the netif
	 * (a spinning waiter's cheap look). May be NULL: "maybe", always. */
	bool (*rx_ready)(struct zc_netif *nif);
	int (*irq_fd)(struct zc_netif *nif);
	int (*irq_arm)(struct zc_netif *nif);
	void (*irq_ack)(struct zc_netif *nif);
	/* Take the interrupt's pending wake-ups without ending the sleep
	 * (irq_ack does both): a waker that leaves others of its stack
	 * asleep on the fd, so that they do not find it ready for ever. May
	 * be NULL: nothing piles up. */
	void (*irq_drain)(struct zc_netif *nif);
	/* A hint from the reader of a TCP flow (named as its packets name it:
	 * the source is the peer): it trades large frames (on), so received
	 * payload should be placed for that, or it copies (off). May be NULL. */
	void (*rx_place)(struct zc_netif *nif, uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
			 bool on);
	void (*get_stats)(struct zc_netif *nif, struct zc_netif_stats *st);
	void (*close)(struct zc_netif *nif); /* frees nif and everything below it */
};

struct zc_netif {
	const struct zc_netif_ops *ops;
	struct zc_netif_caps caps;
	struct zc_pool *pool;   /* the pool packets are allocated from (rx and tx) */
	/* NULL, or a second pool of large (2 MiB) frames that received payload
	 * may land in, laid out by TCP sequence number so that a whole frame can
	 * be traded into a reader's buffer (zc_tcp_recv_frame). Segments say
	 * which pool they belong to. */
	struct zc_pool *rx_pool;
	uint8_t mac[6];
	char name[48];
	struct zc_netif *lower; /* middleware: the netif it wraps */
};

static inline int zc_netif_rx(struct zc_netif *n, struct zc_mbuf **p, int k, uint64_t now)
{
	return n->ops->rx_burst(n, p, k, now);
}
static inline int zc_netif_tx(struct zc_netif *n, struct zc_mbuf **p, int k, uint64_t now)
{
	return n->ops->tx_burst(n, p, k, now);
}
static inline void zc_netif_flush(struct zc_netif *n, uint64_t now)
{
	if (n->ops->flush)
		n->ops->flush(n, now);
}
static inline bool zc_netif_rx_ready(struct zc_netif *n)
{
	return n->ops->rx_ready == NULL || n->ops->rx_ready(n);
}
static inline uint64_t zc_netif_next_due(struct zc_netif *n)
{
	return n->ops->next_due ? n->ops->next_due(n) : UINT64_MAX;
}
static inline void zc_netif_close(struct zc_netif *n)
{
	if (n)
		n->ops->close(n);
}

#endif

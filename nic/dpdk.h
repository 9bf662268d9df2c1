/*
 * dpdk.h - a NIC backend over one DPDK ethdev port: a virtual device such as
 * net_tap (the Linux kernel on the other end), net_memif (another process),
 * net_ring or net_pcap (replay and record files), named by the string a
 * user would pass to DPDK's --vdev.
 *
 * EAL starts inside the process on first use, without hugepages
 * ("--no-huge -m MB --no-pci --no-shconf --iova-mode=va"; ZCS_DPDK_MEM sets
 * MB, ZCS_DPDK_ARGS adds EAL arguments, ZCS_DPDK_HUGE=1 uses hugepages), and
 * gives the calling thread back its CPU affinity. EAL cannot start twice in
 * a process: that one flag is the only state kept outside the netif.
 *
 * Memory: one zcstack pool (a memfd) holds both the stack's own frames and,
 * in a range the pool does not own, the receive buffers of the DPDK mempool
 * (registered with rte_extmem_register). Receive buffers are laid so that a
 * header of `hdr` bytes (default 66: Ethernet + IPv4 + TCP with timestamps)
 * ends on a page boundary and the payload starts page-aligned; each packet
 * counts as a hit or a miss of that guess. Received packets reach the stack
 * without a copy of the payload: an inline head with the headers, and an
 * external segment on the DPDK buffer (freed back to DPDK with the mbuf).
 * Transmit copies the inline headers into a DPDK mbuf and attaches frame and
 * external segments with rte_pktmbuf_attach_extbuf; the DPDK free callback
 * releases the zcstack segment.
 */
#ifndef ZC_NIC_DPDK_H
#define ZC_NIC_DPDK_H

#include "stack/netif.h"

#include <stdint.h>

struct zc_dpdk_config {
	const char *devargs;   /* e.g. "net_tap0,iface=zc0" */
	const uint8_t *mac;    /* the stack's MAC; NULL: 02:7a:63:10:<pid> */
	uint32_t hdr;          /* expected header length for the alignment (0 = 66) */
	uint32_t nframes;      /* the stack's own frames (0 = 4096) */
	uint32_t rx_bufs;      /* DPDK receive buffers (0 = 8192: a TCP receive window
				* of 1448-byte segments must fit, or a hole in it could
				* never be filled) */
	uint16_t mtu;          /* 0: the port's own */
};

/* Returns NULL with errno set and one log line naming the problem (bad
 * device string, missing /dev/net/tun, a busy memif socket, ...); EAL
 * errors never abort the process. ENOTSUP when built without DPDK. */
struct zc_netif *zc_dpdk_open(const struct zc_dpdk_config *cfg);

struct zc_dpdk_stats {
	uint64_t align_hits;   /* payload started page-aligned */
	uint64_t align_misses; /* a packet with payload whose header was not `hdr` long */
	uint64_t rx_copied;    /* packets copied whole (short, or headers across DPDK segments) */
	uint64_t rx_chained;   /* packets received in several DPDK segments, each kept */
	uint64_t tx_csum;      /* TCP/UDP checksums the port filled */
	uint64_t tx_csum_sw;   /* ... finished here (an odd-length piece before the last) */
	uint64_t tx_attached;  /* segments sent by reference (extbuf) */
	uint64_t tx_copied_bytes; /* header bytes copied into DPDK mbufs */
	uint64_t link_up;      /* 1 when the port reports link up */
};
/* 0, or -EINVAL when nif (below any middleware) is not a DPDK netif. */
int zc_dpdk_get_stats(struct zc_netif *nif, struct zc_dpdk_stats *st);

#endif

/*
 * stack_priv.h - the stack's internals, shared by its layer files
 * (ether.c, arp.c, ip_input.c, ip_output.c, icmp.c, udp.c, stack.c).
 * Nothing outside stack/ includes it.
 *
 * Calls go down only: input functions climb (ether_input -> ip_input ->
 * icmp/udp input) and output functions descend (udp_output -> ip_output ->
 * ether_output -> the transmit queue); an input function that answers calls
 * an output function, never the reverse.
 */
#ifndef ZC_STACK_PRIV_H
#define ZC_STACK_PRIV_H

#include "stack/arena.h"
#include "stack/pool.h"
#include "stack/rng.h"
#include "stack/stack.h"
#include "stack/wire.h"

#include <stdlib.h>

#define ZC__ARP_ENTRIES 64u
#define ZC__TXQ 256u                 /* packets waiting for a busy NIC */
#define ZC__LOOPQ 1024u              /* packets to ourselves waiting for the next poll */
#define ZC__TX_BURST 32u
#define ZC__UDP_SOCKS 256u
#define ZC__UDP_QLEN 1024u           /* datagrams per socket, besides the byte limit */
#define ZC__UDP_RCVBUF (256u << 10)
#define ZC__EPHEMERAL_LO 49152u     /* RFC 6335's dynamic ports: 49152-65535 */
#define ZC__ICMP_TOKEN 1000u        /* one ICMP error, in the bucket's milli-tokens */
#define ZC__FRAG_QUEUES 16u         /* datagrams in reassembly at once (ip_frag.c) */
#define ZC__FRAG_PER_SRC 4u         /* of them from one source */
#define ZC__FRAG_PER_DGRAM 64u      /* fragments of one datagram */
#define ZC__FRAG_HELD 256u          /* fragments held in all: so many pool buffers at most */

enum zc__arp_state { ZC__ARP_FREE = 0, ZC__ARP_INCOMPLETE, ZC__ARP_REACHABLE };

struct zc__arp_entry {
	uint32_t ip;
	uint8_t state;
	uint8_t mac[6];
	uint32_t tries;          /* requests sent while incomplete */
	uint64_t expires;        /* reachable: until then; incomplete: next request */
	uint64_t used;           /* last use, for eviction */
	struct zc_mbuf *q_head, *q_tail; /* IP packets waiting (nextpkt) */
	uint32_t qlen;
};

struct zc__dgram {
	struct zc_mbuf *m;       /* UDP payload only */
	uint32_t ip;
	uint16_t port;
};

struct zc_udp_sock {
	struct zc_stack *st;
	bool bound;
	uint32_t lip;            /* 0 = any */
	uint16_t lport;
	uint32_t rip;            /* connected: only datagrams from rip:rport (0 = any) */
	uint16_t rport;
	bool reuseaddr, reuseport; /* SO_REUSEADDR, SO_REUSEPORT (udp.c: bind conflicts, delivery) */
	uint32_t bind_seq;       /* order of binds: SO_REUSEADDR delivers to the latest */
	int error;               /* pending SO_ERROR from an ICMP error (positive errno) */
	uint32_t rcvbuf, queued_bytes;
	struct zc__dgram q[ZC__UDP_QLEN];
	uint32_t qh, qn;         /* ring: head index and count */
};

#define ZC__PING_QLEN 64u
struct zc__echo {
	struct zc_mbuf *m;       /* echo data */
	uint32_t src;
	uint16_t seq;
};
struct zc_ping {
	bool open;
	uint16_t id;
	struct zc__echo q[ZC__PING_QLEN];
	uint32_t h, n;
};

struct zc__frag {
	struct zc_mbuf *m;       /* the first: from its IP header; the others: payload only */
	uint16_t off, len;       /* payload bytes [off, off + len) of the datagram */
};

/* A datagram in reassembly (ip_frag.c): its fragments sorted by offset. */
struct zc__frag_q {
	bool used, have_last;
	uint8_t proto, hdr_len;  /* hdr_len: the first fragment's IP header */
	uint16_t id;
	uint32_t src, dst;
	uint32_t end;            /* with have_last: payload bytes of the whole datagram */
	uint32_t end_seen;       /* the furthest end of a fragment so far */
	uint64_t expires;
	uint32_t n;
	struct zc__frag f[ZC__FRAG_PER_DGRAM];
};

struct zc__tcp;

struct zc_stack {
	struct zc_netif *nif;
	struct zc_pool *pool;
	struct zc_arena *arena;  /* where this struct and the stack's state live; NULL: the heap */
	uint32_t ip, mask, gw;
	uint8_t mac[6];
	uint8_t ttl;
	uint16_t ip_id;
	uint64_t arp_reachable_ns, arp_retry_ns;
	uint32_t arp_retries;
	uint64_t now;
	bool announced;          /* gratuitous ARP sent */
	struct zc_rng rng;
	struct zc_drops drops;
	struct zc_stack_stats stats;

	struct zc__arp_entry arp[ZC__ARP_ENTRIES];
	uint32_t arp_queued;     /* packets in all ARP queues */
	uint32_t arp_incomplete; /* entries waiting for an answer */

	/* ICMP error token bucket, in milli-tokens for integer arithmetic:
	 * an error costs ZC__ICMP_TOKEN */
	uint64_t icmp_tokens, icmp_max, icmp_rate;
	uint64_t icmp_last;

	struct zc_udp_sock *udp[ZC__UDP_SOCKS];
	uint32_t udp_binds;      /* binds so far: the next zc_udp_sock.bind_seq */
	struct zc_ping ping;
	struct zc__tcp *tcp;     /* tcp_priv.h */

	struct zc__frag_q frag[ZC__FRAG_QUEUES]; /* IPv4 reassembly (ip_frag.c) */
	uint32_t frag_queues, frag_held;         /* queues in use, fragments in them */
	uint64_t frag_timeout_ns;

	/* transmit queue: packets built, not yet taken by the NIC */
	struct zc_mbuf *txq[ZC__TXQ];
	uint32_t txh, txn;

	/* packets to our own address (ip_output.c): received at the next poll */
	struct zc_mbuf *loq, *loq_tail;
	uint32_t loq_n;
};

static inline bool zc__is_bcast(const struct zc_stack *st, uint32_t ip)
{
	/* a /32 has no directed broadcast */
	return ip == ZC_IPV4_BROADCAST || (st->mask != 0xffffffffu && ip == (st->ip | ~st->mask));
}
static inline bool zc__is_martian_src(const struct zc_stack *st, uint32_t ip)
{
	return zc__is_bcast(st, ip) || zc_ipv4_is_multicast(ip) || zc_ipv4_is_loopback(ip) || ip == st->ip;
}
static inline bool zc__on_link(const struct zc_stack *st, uint32_t ip)
{
	return (ip & st->mask) == (st->ip & st->mask);
}

/* ether.c: frames in and out. ether_output prepends the Ethernet header and
 * queues the frame for the NIC (it owns m in every case). */
void zc__ether_input(struct zc_stack *st, struct zc_mbuf *m);
void zc__ether_output(struct zc_stack *st, struct zc_mbuf *m, const uint8_t dst[6], uint16_t type);
void zc__tx_flush(struct zc_stack *st);

/* arp.c */
void zc__arp_input(struct zc_stack *st, struct zc_mbuf *m);
/* Send IP packet m to next hop nh: now if resolved, else after resolution. */
void zc__arp_output(struct zc_stack *st, struct zc_mbuf *m, uint32_t nh);
void zc__arp_announce(struct zc_stack *st);
void zc__arp_timer(struct zc_stack *st);
uint64_t zc__arp_next_timer(const struct zc_stack *st);
void zc__arp_flush_all(struct zc_stack *st);

/* ip_input.c */
void zc__ip_input(struct zc_stack *st, struct zc_mbuf *m);
/* zc_mbuf_pullup (zc_mbuf_pullup_private when writable) of the first n
 * bytes of a received packet (n <= its length); NULL (m freed) when no
 * header is left, counted as rx_no_buffers. Every layer's input gathers its
 * header through it, so that drop is counted once, where it happens. */
struct zc_mbuf *zc__rx_pullup(struct zc_stack *st, struct zc_mbuf *m, uint32_t n, bool writable);
/* The same for the IP header and l4hdr bytes after it (fewer when the
 * packet is shorter). */
struct zc_mbuf *zc__l4_pullup(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip,
			      uint32_t l4hdr, bool writable);

/* ip_frag.c. ip_reass takes a fragment m (owned; its header parsed into
 * ip) and returns NULL while its datagram is incomplete or when it was
 * dropped (counted), else the whole datagram with its header rewritten
 * (total length, no fragment bits, checksum) and ip updated to match. */
struct zc_mbuf *zc__ip_reass(struct zc_stack *st, struct zc_mbuf *m, struct zc_ipv4 *ip);
void zc__ip_frag_timer(struct zc_stack *st);
uint64_t zc__ip_frag_next_timer(const struct zc_stack *st);
void zc__ip_frag_flush(struct zc_stack *st);

/* ip_output.c: prepends a 20-byte header to m (whose head segment has the
 * headroom) and routes it; it owns m. Returns 0, or -ENETUNREACH or
 * -ENOBUFS (then m is freed and the drop counted). */
int zc__ip_output(struct zc_stack *st, struct zc_mbuf *m, uint32_t src, uint32_t dst, uint8_t proto);
/* The same with the header's TOS byte (its low 2 bits: ECN, RFC 3168 5) */
int zc__ip_output_tos(struct zc_stack *st, struct zc_mbuf *m, uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos);
/* Receive what was sent to our own address (zc_stack_poll); free it all
 * (zc_stack_destroy). */
void zc__loop_input(struct zc_stack *st);
void zc__loop_flush(struct zc_stack *st);

/* icmp.c. icmp_input takes m (owned) starting at the IP header.
 * icmp_error answers the offending IP packet m (headers at m->data; not
 * owned: the caller frees it). */
void zc__icmp_input(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip);
void zc__icmp_error(struct zc_stack *st, const struct zc_mbuf *m, const struct zc_ipv4 *ip,
		    uint8_t type, uint8_t code);

/* tcp_input.c; like icmp_input, m starts at the IP header */
void zc__tcp_input(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip);
/* An ICMP error quoting a segment we sent, lport -> rip:rport with sequence
 * number seq: err (positive errno) for the connection, or for "fragmentation
 * needed" (needfrag) a next-hop MTU. Returns false when the quote matches
 * no connection or its sequence number is outside SND.UNA..SND.NXT (RFC
 * 5927 4.1): the caller counts icmp_bad_quote. */
bool zc__tcp_icmp_error(struct zc_stack *st, uint16_t lport, uint32_t rip, uint16_t rport, uint32_t seq,
			int err, bool needfrag, uint32_t mtu);

/* udp.c; like icmp_input, m starts at the IP header (ip->hdr_len long) */
void zc__udp_input(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip);
void zc__udp_close_all(struct zc_stack *st);
/* An ICMP error (type, code) quoting a datagram we sent, lport -> rip:rport:
 * a hard error (port or protocol unreachable, ...) on the socket connected
 * to that peer becomes its pending error, as Linux's __udp4_lib_err without
 * IP_RECVERR. Returns false when no socket of ours sent it (a bad quote). */
bool zc__udp_icmp_error(struct zc_stack *st, uint16_t lport, uint32_t rip, uint16_t rport, int err, bool hard);
/* A packet holding a copy of data[0..len), with room for hdr bytes of
 * headers before it in an inline head: small payloads inline, larger ones
 * page-aligned in pool frames (whole frames but the last), so a
 * header-split NIC can hand the frames over. NULL when the pool is dry. */
struct zc_mbuf *zc__udp_build_payload(struct zc_stack *st, const void *data, size_t len, uint32_t hdr);

/* The stack's own memory: from its arena when it has one (so that every
 * process of the stack reaches it at the same address), else the heap.
 * Zeroed; NULL with errno ENOMEM. */
static inline void *zc__st_zalloc(struct zc_arena *a, size_t n)
{
	return a ? zc_arena_zalloc(a, n) : calloc(1, n);
}
static inline void *zc__st_realloc(struct zc_arena *a, void *p, size_t n)
{
	return a ? zc_arena_realloc(a, p, n) : realloc(p, n);
}
static inline void zc__st_free(struct zc_arena *a, void *p)
{
	if (a)
		zc_arena_free(a, p);
	else
		free(p);
}

#endif

/*
 * stack.h - one instance of the IPv4 stack on one NIC: Ethernet, ARP, IPv4,
 * ICMP and UDP (TCP joins in its own files).
 *
 * The stack runs to completion from zc_stack_poll(st, now): it takes a burst
 * of frames from the NIC, climbs each one up the layers, runs the timers
 * that are due and hands what it queued to the NIC. It never reads a clock
 * or a global RNG: time comes in as `now` (ns, any epoch, never going back)
 * and randomness from the seed in the configuration, so a run replays.
 * zc_stack_next_timer() says when the stack must be polled again at the
 * latest when no frame arrives.
 *
 * One address per stack, with a prefix length and an optional gateway.
 * Every frame the stack does not take is counted under a named reason
 * (drop.h) in the stack's own struct zc_drops.
 *
 * Not thread-safe: the caller serialises calls (the socket layer's lock).
 */
#ifndef ZC_STACK_H
#define ZC_STACK_H

#include "stack/drop.h"
#include "stack/netif.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct zc_stack;

/* Packets an unresolved address holds while ARP asks (more are dropped as
 * arp_queue_full), and all unresolved addresses together. Sized like Linux's
 * unres_qlen_bytes (208 KiB, some 150 small packets a neighbour): a peer
 * that learned our address from the announcement may send a burst before
 * we know its MAC (the kernel flushed 25 pings queued while our port
 * started). Each queued packet holds a pool frame. */
#define ZC_ARP_QUEUE_PER_ENTRY 128u
#define ZC_ARP_QUEUE_TOTAL 256u

struct zc_arena;

struct zc_stack_config {
	struct zc_netif *nif;      /* not owned: the caller closes it after the stack */
	uint32_t ip;               /* host order */
	uint8_t prefix_len;        /* 1..32 */
	uint32_t gateway;          /* 0: none (off-link destinations are unreachable) */
	uint64_t seed;             /* for the stack's RNG (ephemeral ports, ISNs) */
	uint8_t ttl;               /* 0 = 64 */
	uint64_t arp_reachable_ns; /* 0 = 60 s: how long a resolved entry is trusted */
	uint64_t arp_retry_ns;     /* 0 = 1 s: between requests for an unresolved address */
	uint32_t arp_retries;      /* 0 = 3: requests before queued packets are dropped */
	uint32_t icmp_rate;        /* ICMP errors per second (0 = 1000), burst icmp_burst */
	uint32_t icmp_burst;       /* 0 = 50 */
	bool no_gratuitous_arp;    /* do not announce the address at start */
	uint64_t frag_timeout_ns;  /* 0 = 30 s: how long fragments wait for the rest of their datagram */
	uint64_t now;              /* the caller's clock at creation (timers start from it) */
	struct zc_arena *arena;    /* not owned: where the stack's state lives, shared by every
	                            * process that maps it (stack/arena.h); NULL: this
	                            * process's heap */
};

/* Counters of work done (drops are in zc_stack_drops()). */
struct zc_stack_stats {
	uint64_t eth_in, eth_out;
	uint64_t arp_requests_in, arp_replies_in, arp_requests_out, arp_replies_out;
	uint64_t arp_conflicts;   /* someone else claims our address */
	uint64_t ip_in, ip_out;
	uint64_t ip_loop;         /* packets to our own address, looped inside the stack */
	uint64_t ip_frags_in, ip_reassembled; /* fragments taken, datagrams made whole */
	uint64_t icmp_echo_in, icmp_echo_out, icmp_unreach_out, icmp_other_in;
	uint64_t udp_in, udp_out;
	uint64_t tx_busy;         /* bursts the NIC took only in part (its queue was full) */
};

/* Returns NULL with errno set (EINVAL for a bad configuration, ENOMEM) and
 * a log line. */
struct zc_stack *zc_stack_create(const struct zc_stack_config *cfg);
/* Frees the stack, its sockets and every queued packet; not the NIC. */
void zc_stack_destroy(struct zc_stack *st);

/* Receive, process, run timers, transmit. Returns the number of frames
 * received (0: nothing arrived). */
int zc_stack_poll(struct zc_stack *st, uint64_t now);
/* The time by which zc_stack_poll must run again, or UINT64_MAX. */
uint64_t zc_stack_next_timer(const struct zc_stack *st);
/* Sleep until a frame may have arrived or the next timer is due, at most
 * max_ns: on the NIC's interrupt when it has one (armed first; returns at
 * once when frames are pending), else a short sleep. now: the caller's
 * clock (CLOCK_MONOTONIC ns). Returns 1 when woken by the NIC, else 0. */
int zc_stack_wait(struct zc_stack *st, uint64_t now, uint64_t max_ns);
/* True when packets wait for the NIC (it was busy): poll again soon. */
bool zc_stack_tx_pending(const struct zc_stack *st);

void zc_stack_get_stats(const struct zc_stack *st, struct zc_stack_stats *s);
const struct zc_drops *zc_stack_drops(const struct zc_stack *st);
uint32_t zc_stack_ip(const struct zc_stack *st);
/* Is ip (host order) one this stack sends to: its subnet or through its
 * gateway (never loopback, multicast or broadcast)? */
bool zc_stack_reaches(const struct zc_stack *st, uint32_t ip);

/* Print every non-zero counter and drop ("name value" lines) to f. */
void zc_stack_dump(const struct zc_stack *st, FILE *f);

/* ARP cache, for tests and zcstat: the MAC of ip if resolved (0), else -ENOENT. */
int zc_stack_arp_lookup(const struct zc_stack *st, uint32_t ip, uint8_t mac[6]);

/* "10.0.0.1/24" -> ip and prefix; "10.0.0.1" alone gives /32 unless
 * def_prefix > 0. 0 or -EINVAL. */
int zc_parse_ipv4(const char *s, uint32_t *ip, uint8_t *prefix_len, uint8_t def_prefix);
/* "a.b.c.d" of a host-order address into buf (16 bytes); returns buf. */
char *zc_ipv4_str(uint32_t ip, char buf[16]);

/* --- UDP sockets (the stack's own API; the socket layer builds on it) ---
 * Non-blocking: calls that would wait return -EAGAIN. Errors are -errno. */
struct zc_udp_sock;

struct zc_udp_sock *zc_udp_open(struct zc_stack *st);
/* ip 0 = the stack's address; port 0 = an ephemeral port.
 * -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL (already bound). */
int zc_udp_bind(struct zc_udp_sock *s, uint32_t ip, uint16_t port);
/* Sends one datagram (binding an ephemeral port first if needed).
 * -EMSGSIZE past the MTU (no fragmentation), -ENETUNREACH without a route,
 * -ENOBUFS when the pool is exhausted. Returns len. */
ssize_t zc_udp_sendto(struct zc_udp_sock *s, const void *buf, size_t len, uint32_t ip,
		      uint16_t port);
/* Receives one datagram: copies at most len bytes, the rest is discarded;
 * returns the datagram's full length (as MSG_TRUNC), or -EAGAIN. ip/port may
 * be NULL. */
ssize_t zc_udp_recvfrom(struct zc_udp_sock *s, void *buf, size_t len, uint32_t *ip,
			uint16_t *port);
/* MSG_PEEK: as zc_udp_recvfrom, but the datagram stays queued. */
ssize_t zc_udp_peekfrom(struct zc_udp_sock *s, void *buf, size_t len, uint32_t *ip, uint16_t *port);
/* Connect (ip 0: disconnect): from then on only datagrams from ip:port are
 * taken; others count as udp_not_from_peer (and get a port unreachable, as
 * Linux answers a datagram that matches no socket). */
void zc_udp_connect(struct zc_udp_sock *s, uint32_t ip, uint16_t port);
/* Takes the pending error (SO_ERROR): 0 or a positive errno. A pending
 * error also fails the next zc_udp_sendto/recvfrom (and is taken by it). */
int zc_udp_error(struct zc_udp_sock *s);
bool zc_udp_has_error(const struct zc_udp_sock *s);
/* Datagrams waiting. */
unsigned zc_udp_pending(const struct zc_udp_sock *s);
/* Length of the next datagram (FIONREAD), 0 when none. */
uint32_t zc_udp_next_len(const struct zc_udp_sock *s);
/* Changes whenever a datagram arrives (edge-triggered epoll). */
uint32_t zc_udp_change(const struct zc_udp_sock *s);
/* Receive buffer limit in bytes (payload); default 256 KiB. */
void zc_udp_set_rcvbuf(struct zc_udp_sock *s, uint32_t bytes);
uint16_t zc_udp_local_port(const struct zc_udp_sock *s);
/* Options, 0/1, as Linux's for UDP: set before bind to share a port. Two
 * sockets may bind one port if both have SO_REUSEADDR (datagrams go to the
 * last bound) or both SO_REUSEPORT (each source ip:port to one of them, by
 * a hash). 0 or -ENOPROTOOPT. */
enum zc_udp_opt {
	ZC_UDP_OPT_REUSEADDR,
	ZC_UDP_OPT_REUSEPORT,
};
int zc_udp_setopt(struct zc_udp_sock *s, enum zc_udp_opt opt, int val);
int zc_udp_getopt(const struct zc_udp_sock *s, enum zc_udp_opt opt, int *val);
void zc_udp_close(struct zc_udp_sock *s);

/* --- echo (ping) from the stack: one id per stack ---------------------
 * Replies with that id are queued (64 at most) for zc_ping_recv. */
int zc_ping_open(struct zc_stack *st, uint16_t id);       /* 0 or -EBUSY */
void zc_ping_close(struct zc_stack *st);
/* -EMSGSIZE, -ENETUNREACH, -ENOBUFS, -ENOTCONN (not open) */
int zc_ping_send(struct zc_stack *st, uint32_t dst, uint16_t seq, const void *data, size_t len);
/* Copies the reply's data; returns its full length, or -EAGAIN. */
ssize_t zc_ping_recv(struct zc_stack *st, uint16_t *seq, uint32_t *src, void *buf, size_t len);

#endif

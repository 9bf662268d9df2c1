/* fuzz_env.h - what the libFuzzer harnesses share: a stack B (10.0.0.2/24)
 * on a fake NIC (tests/fake_nic.h), made new for every input so that an
 * input's effect is its own and a crash replays from the input alone; the
 * pool and the NIC live for the whole run, and after each input, with the
 * stack destroyed, every frame and mbuf must be back in the pool (else
 * the harness aborts: a leak is a finding). Frames are handed over as a
 * header-split NIC gives them: up to 128 bytes inline, the rest in frames.
 * A harness that finds a broken invariant calls fuzz_fail(), which prints
 * why and aborts, so that libFuzzer keeps the input. */
#ifndef ZC_TESTS_FUZZ_ENV_H
#define ZC_TESTS_FUZZ_ENV_H

#include "../fake_nic.h"
#include "fuzz_fail.h"
#include "stack/checksum.h"
#include "stack/log.h"
#include "stack/stack.h"
#include "stack/tcp.h"
#include "stack/wire.h"

#include <errno.h>
#include <stdio.h>

#define IP_B 0x0a000002u /* the stack */
#define IP_X 0x0a000005u /* its neighbour: the fuzzer */
#define T0 1000000000ull
#define FUZZ_MTU 1500u

static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t MAC_X[6] = { 0x02, 0, 0, 0, 0, 0x05 };

struct fuzz_env {
	struct fake_nic *nic;
	struct zc_pool *pool;
	struct zc_stack *st;
	uint64_t now;
};

/* The run's NIC and pool, made at the first input. */
static inline struct fuzz_env *fuzz_env(void)
{
	static struct fuzz_env e;
	if (e.nic == NULL) {
		zc_log_set_level(ZC_LOG_QUIET);
		struct zc_pool_config pc = { .name = "fuzz", .nframes = 512, .nmbufs = 4 * 512 + 256, .fd = -1 };
		e.pool = zc_pool_create(&pc);
		e.nic = calloc(1, sizeof(*e.nic));
		if (e.pool == NULL || e.nic == NULL)
			fuzz_fail("no pool");
		e.nic->nif = (struct zc_netif){ .ops = &fake_ops, .pool = e.pool,
						.caps = { .mtu = FUZZ_MTU, .page_size = 4096 } };
		memcpy(e.nic->nif.mac, MAC_B, 6);
		snprintf(e.nic->nif.name, sizeof(e.nic->nif.name), "fuzz");
	}
	return &e;
}

/* A new stack for one input, its clock at T0. */
static inline struct fuzz_env *fuzz_begin(void)
{
	struct fuzz_env *e = fuzz_env();
	e->now = T0;
	e->nic->nsent = 0;
	e->nic->last_len = 0;
	struct zc_stack_config c = { .nif = &e->nic->nif, .ip = IP_B, .prefix_len = 24, .seed = 1,
				     .no_gratuitous_arp = true, .now = T0 };
	e->st = zc_stack_create(&c);
	if (e->st == NULL)
		fuzz_fail("no stack");
	return e;
}

/* The input is over: the stack goes, and everything it held must be back. */
static inline void fuzz_end(struct fuzz_env *e)
{
	zc_stack_destroy(e->st);
	e->st = NULL;
	while (e->nic->rxn)
		zc_mbuf_free(e->nic->rxq[--e->nic->rxn]);
	if (zc_pool_outstanding(e->pool) != 0)
		fuzz_fail("%u buffers not back in the pool", (unsigned)zc_pool_outstanding(e->pool));
}

/* Hand the stack one frame and let it run. False: no buffer for it (the
 * pool is dry because the stack holds what it was given: not a finding). */
static inline bool fuzz_inject(struct fuzz_env *e, const uint8_t *f, size_t len)
{
	struct zc_mbuf *m = zc_mbuf_alloc(e->pool);
	if (m == NULL)
		return false;
	uint32_t k = len < ZC_MBUF_INLINE - ZC_MBUF_HEADROOM ? (uint32_t)len : ZC_MBUF_INLINE - ZC_MBUF_HEADROOM;
	memcpy(zc_mbuf_append(m, k), f, k);
	for (size_t off = k; off < len;) {
		struct zc_mbuf *s = zc_mbuf_alloc_frame(e->pool);
		if (s == NULL) {
			zc_mbuf_free(m);
			return false;
		}
		uint32_t n = len - off < 4096 ? (uint32_t)(len - off) : 4096;
		memcpy(zc_mbuf_append(s, n), f + off, n);
		s->pkt_len = n;
		zc_mbuf_cat(m, s);
		off += n;
	}
	if (e->nic->rxn == 8) {
		zc_mbuf_free(m);
		return false;
	}
	e->nic->rxq[e->nic->rxn++] = m;
	zc_stack_poll(e->st, e->now);
	return true;
}

/* Run the clock ns on, polling the stack when its next timer is due (and
 * at the end): what polling every millisecond would do, in far fewer
 * polls (nothing arrives meanwhile). */
static inline void fuzz_advance(struct fuzz_env *e, uint64_t ns)
{
	uint64_t end = e->now + ns;
	while (e->now < end) {
		uint64_t t = zc_stack_next_timer(e->st);
		e->now = t > e->now && t < end ? t : end;
		zc_stack_poll(e->st, e->now);
	}
}

/* Ethernet X -> B, type; returns its length. */
static inline size_t fuzz_eth(uint8_t *f, uint16_t type)
{
	struct zc_eth h = { .type = type };
	memcpy(h.dst, MAC_B, 6);
	memcpy(h.src, MAC_X, 6);
	return zc_eth_build(f, &h);
}

/* Tell the stack X's MAC (an ARP request from X), so that it answers. */
static inline void fuzz_arp(struct fuzz_env *e)
{
	uint8_t f[64] = { 0 };
	fuzz_eth(f, ZC_ETHERTYPE_ARP);
	memset(f, 0xff, 6);
	struct zc_arp a = { .op = ZC_ARP_REQUEST, .spa = IP_X, .tpa = IP_B };
	memcpy(a.sha, MAC_X, 6);
	zc_arp_build(f + ZC_ETH_HLEN, &a);
	fuzz_inject(e, f, 60);
}

/* Make the checksums of an IPv4 frame right, where it has room for them:
 * the header's (ip) and the TCP/UDP/ICMP one (l4), so that the fuzzer's
 * frames get past them to the code behind. */
static inline void fuzz_fix_csums(uint8_t *f, size_t len, bool ip, bool l4)
{
	if (len < ZC_ETH_HLEN + ZC_IPV4_HLEN || zc_get16(f + 12) != ZC_ETHERTYPE_IPV4)
		return;
	uint8_t *h = f + ZC_ETH_HLEN;
	size_t room = len - ZC_ETH_HLEN, hl = (size_t)(h[0] & 15) * 4;
	if (hl < ZC_IPV4_HLEN || hl > room)
		return;
	size_t tot = zc_get16(h + 2);
	if (tot > room)
		tot = room;
	if (l4 && tot > hl) {
		uint8_t proto = h[9];
		uint8_t *p = h + hl;
		size_t n = tot - hl;
		if (proto == ZC_IPPROTO_ICMP && n >= 4) {
			zc_put16(p + 2, 0);
			zc_put16(p + 2, zc_csum(p, n));
		} else if ((proto == ZC_IPPROTO_TCP && n >= ZC_TCP_HLEN) || (proto == ZC_IPPROTO_UDP && n >= 8)) {
			zc_l4_set_csum(p, n, proto, zc_get32(h + 12), zc_get32(h + 16));
		}
	}
	if (ip) {
		zc_put16(h + 10, 0);
		zc_put16(h + 10, zc_csum(h, hl));
	}
}

/* A connection from X:40000 to the stack's listener on port 80: X's SYN
 * (ISN x_isn; MSS 1460, window scale 7, SACK permitted, timestamps), then
 * its ACK of the stack's SYN-ACK. Returns the stack's ISN. */
static inline uint32_t fuzz_handshake(struct fuzz_env *e, uint32_t x_isn)
{
	uint8_t f[128];
	size_t n = fuzz_eth(f, ZC_ETHERTYPE_IPV4);
	struct zc_tcp th = { .sport = 40000, .dport = 80, .seq = x_isn, .flags = ZC_TCP_SYN, .win = 65535,
			     .opt = { .has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 7,
				      .sack_ok = true, .has_ts = true, .tsval = 1 } };
	size_t hl = zc_tcp_build(f + n + ZC_IPV4_HLEN, &th);
	struct zc_ipv4 ip = { .total_len = (uint16_t)(ZC_IPV4_HLEN + hl), .ttl = 64, .proto = ZC_IPPROTO_TCP,
			      .src = IP_X, .dst = IP_B };
	zc_ipv4_build(f + n, &ip);
	fuzz_fix_csums(f, n + ZC_IPV4_HLEN + hl, true, true);
	fuzz_inject(e, f, n + ZC_IPV4_HLEN + hl);
	struct zc_tcp sa;
	const uint8_t *l = e->nic->last;
	if (e->nic->last_len < ZC_ETH_HLEN + ZC_IPV4_HLEN + ZC_TCP_HLEN ||
	    zc_tcp_parse(l + ZC_ETH_HLEN + ZC_IPV4_HLEN, e->nic->last_len - ZC_ETH_HLEN - ZC_IPV4_HLEN, IP_B, IP_X,
			 false, &sa, NULL) != 0 ||
	    sa.flags != (ZC_TCP_SYN | ZC_TCP_ACK))
		fuzz_fail("no SYN-ACK");
	th = (struct zc_tcp){ .sport = 40000, .dport = 80, .seq = x_isn + 1, .ack = sa.seq + 1, .flags = ZC_TCP_ACK,
			      .win = 512, .opt = { .has_ts = true, .tsval = 2, .tsecr = sa.opt.tsval } };
	hl = zc_tcp_build(f + n + ZC_IPV4_HLEN, &th);
	ip.total_len = (uint16_t)(ZC_IPV4_HLEN + hl);
	zc_ipv4_build(f + n, &ip);
	fuzz_fix_csums(f, n + ZC_IPV4_HLEN + hl, true, true);
	fuzz_inject(e, f, n + ZC_IPV4_HLEN + hl);
	return sa.seq;
}

#endif

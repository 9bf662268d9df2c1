/* drops_fixture.h - what test_drops.c's cases are built from: a fake NIC
 * (the test hands the stack frames and keeps a copy of the last one it
 * sent), the environment of one case, frame builders from Ethernet to TCP,
 * and a TCP connection X:40000 -> B:80 set up through the handshake.
 * Included by test_drops.c and test_icmp.c (functions are static inline so that it
 * need not use all of them). */
#ifndef ZC_TESTS_DROPS_FIXTURE_H
#define ZC_TESTS_DROPS_FIXTURE_H

#include "fake_nic.h"
#include "stack/log.h"
#include "stack/netif.h"
#include "stack/pool.h"
#include "stack/stack.h"
#include "stack/tcp.h"
#include "stack/wire.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define IP_B 0x0a000002u      /* 10.0.0.2/24: the stack */
#define IP_X 0x0a000005u      /* its neighbour, played by the test */
#define IP_NOBODY 0x0a000009u /* on the link, never answers */
#define IP_BCAST 0x0a0000ffu
#define T0 1000000000ull
#define MTU 1500u

static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t MAC_X[6] = { 0x02, 0, 0, 0, 0, 0x05 };
static const uint8_t MAC_BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* --- the environment of one case -------------------------------------------- */

struct drop_case;

struct env {
	const struct drop_case *c;
	struct fake_nic *nic;
	struct zc_pool *pool;
	struct zc_stack *st;
	uint64_t now;
	struct zc_drops mark;
	bool marked;
	uint8_t f[FRAME_MAX], l4[FRAME_MAX]; /* a frame and its L4 part, for the builders */
};

/* A stack B on a fake NIC with a pool of 256 frames and the default mbufs
 * (4 per frame and 64) plus extra_mbufs; its clock at T0. */
static inline struct env *env_create(const char *name, uint32_t extra_mbufs)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	struct zc_pool_config pc = { .name = name, .nframes = 256, .nmbufs = 4 * 256 + 64 + extra_mbufs, .fd = -1 };
	e->pool = zc_pool_create(&pc);
	e->nic = calloc(1, sizeof(*e->nic));
	assert_non_null(e->pool);
	assert_non_null(e->nic);
	e->nic->nif = (struct zc_netif){ .ops = &fake_ops, .pool = e->pool,
					 .caps = { .mtu = MTU, .page_size = 4096 } };
	memcpy(e->nic->nif.mac, MAC_B, 6);
	snprintf(e->nic->nif.name, sizeof(e->nic->nif.name), "fake");
	e->now = T0;
	struct zc_stack_config c = { .nif = &e->nic->nif, .ip = IP_B, .prefix_len = 24, .seed = 1,
				     .no_gratuitous_arp = true, .now = T0 };
	e->st = zc_stack_create(&c);
	assert_non_null(e->st);
	return e;
}

/* Destroy the stack, check that it gave every buffer back, close the NIC. */
static inline void env_destroy(struct env *e)
{
	zc_stack_destroy(e->st);
	assert_int_equal(zc_pool_outstanding(e->pool), 0); /* nothing leaked */
	zc_netif_close(&e->nic->nif);
	free(e);
}

/* The counters as they are before the one bad input. */
static inline void mark(struct env *e)
{
	e->mark = *zc_stack_drops(e->st);
	e->marked = true;
}

/* Hand the stack one frame of len bytes: the first 128 in an inline head
 * (as a header-split NIC gives them), the rest in pool frames. */
static inline void inject(struct env *e, const uint8_t *f, size_t len)
{
	struct zc_mbuf *m = zc_mbuf_alloc(e->pool);
	assert_non_null(m);
	uint32_t k = len < ZC_MBUF_INLINE - ZC_MBUF_HEADROOM ? (uint32_t)len : ZC_MBUF_INLINE - ZC_MBUF_HEADROOM;
	memcpy(zc_mbuf_append(m, k), f, k);
	for (size_t off = k; off < len;) {
		struct zc_mbuf *s = zc_mbuf_alloc_frame(e->pool);
		assert_non_null(s);
		uint32_t n = len - off < 4096 ? (uint32_t)(len - off) : 4096;
		memcpy(zc_mbuf_append(s, n), f + off, n);
		s->pkt_len = n;
		zc_mbuf_cat(m, s);
		off += n;
	}
	assert_true(e->nic->rxn < 8);
	e->nic->rxq[e->nic->rxn++] = m;
	zc_stack_poll(e->st, e->now);
}

/* Frame builders: each writes into f and returns the frame's length. */
static inline size_t eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	struct zc_eth h = { .type = type };
	memcpy(h.dst, dst, 6);
	memcpy(h.src, src, 6);
	return zc_eth_build(f, &h);
}

/* Ethernet X -> B and a 20-byte IPv4 header src -> dst around l4[0..len). */
static inline size_t ip_frame_from(uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto, const void *l4, size_t len)
{
	eth(f, zc_ipv4_is_multicast(dst) || dst == IP_BCAST ? MAC_BCAST : MAC_B, MAC_X, ZC_ETHERTYPE_IPV4);
	struct zc_ipv4 ip = { .total_len = (uint16_t)(ZC_IPV4_HLEN + len), .ttl = 64, .proto = proto,
			      .src = src, .dst = dst };
	zc_ipv4_build(f + ZC_ETH_HLEN, &ip);
	memcpy(f + ZC_ETH_HLEN + ZC_IPV4_HLEN, l4, len);
	return ZC_ETH_HLEN + ZC_IPV4_HLEN + len;
}
static inline size_t ip_frame(uint8_t *f, uint8_t proto, const void *l4, size_t len)
{
	return ip_frame_from(f, IP_X, IP_B, proto, l4, len);
}

/* Recompute the IPv4 header checksum after a test changed the header. */
static inline void ip_fix_csum(uint8_t *f)
{
	uint8_t *ip = f + ZC_ETH_HLEN;
	size_t hl = zc_ipv4_peek_hdr_len(ip, ZC_IPV4_HLEN);
	zc_put16(ip + 10, 0);
	zc_put16(ip + 10, zc_csum(ip, hl));
}

static inline size_t arp_frame(uint8_t *f, uint16_t op, const uint8_t sha[6], uint32_t spa, uint32_t tpa)
{
	size_t n = eth(f, MAC_BCAST, MAC_X, ZC_ETHERTYPE_ARP);
	struct zc_arp a = { .op = op, .spa = spa, .tpa = tpa };
	memcpy(a.sha, sha, 6);
	return n + zc_arp_build(f + n, &a);
}

static inline size_t echo_request(uint8_t *p, uint8_t type)
{
	memset(p + ZC_ICMP_HLEN, 0xab, 16);
	struct zc_icmp ic = { .type = type, .id = 1, .seq = 2 };
	return zc_icmp_build(p, &ic, 16) + 16;
}

static inline size_t udp_dgram(uint8_t *p, uint16_t dport, size_t dlen)
{
	memset(p + ZC_UDP_HLEN, 0x5a, dlen);
	struct zc_udp u = { .sport = 4000, .dport = dport };
	return zc_udp_build(p, &u, IP_X, IP_B, dlen, true) + dlen;
}

/* An ICMP error (type, code, rest-of-header word) from X quoting what B
 * would have sent: an IP header B -> dst with proto and 8 bytes of L4
 * header (ports sport -> dport, then seq). Into p; returns its length. */
static inline size_t icmp_error_msg(uint8_t *p, uint8_t type, uint8_t code, uint16_t mtu, uint8_t proto, uint32_t dst,
				    uint16_t sport, uint16_t dport, uint32_t seq)
{
	uint8_t *q = p + ZC_ICMP_HLEN;
	struct zc_ipv4 ip = { .total_len = 40, .ttl = 64, .proto = proto, .src = IP_B, .dst = dst };
	zc_ipv4_build(q, &ip);
	zc_put16(q + 20, sport);
	zc_put16(q + 22, dport);
	zc_put32(q + 24, seq);
	struct zc_icmp ic = { .type = type, .code = code, .seq = mtu };
	return zc_icmp_build(p, &ic, 28) + 28;
}

/* A TCP segment X:sport -> B:dport with the options flagged in t->opt. */
static inline size_t tcp_seg(uint8_t *p, struct zc_tcp *t, size_t dlen)
{
	uint8_t hb[ZC_TCP_MAXHLEN];
	size_t hl = zc_tcp_build(hb, t);
	memmove(p + hl, p, dlen);
	memcpy(p, hb, hl);
	zc_l4_set_csum(p, hl + dlen, ZC_IPPROTO_TCP, IP_X, IP_B);
	return hl + dlen;
}

/* The neighbour asks for B: B learns X's MAC and answers, so what B sends
 * X later leaves at once instead of waiting for ARP. */
static inline void resolve_x(struct env *e)
{
	uint8_t f[64];
	inject(e, f, arp_frame(f, ZC_ARP_REQUEST, MAC_X, IP_X, IP_B));
	uint8_t mac[6];
	assert_int_equal(zc_stack_arp_lookup(e->st, IP_X, mac), 0);
}

/* The TCP segment in the last frame B sent. */
static inline void last_sent_tcp(struct env *e, struct zc_tcp *t)
{
	assert_true(e->nic->nsent > 0);
	const uint8_t *ip = e->nic->last + ZC_ETH_HLEN;
	size_t len = e->nic->last_len - ZC_ETH_HLEN;
	struct zc_ipv4 h;
	assert_int_equal(zc_ipv4_parse(ip, len, len, true, &h, NULL), ZC_DROP_NONE);
	assert_int_equal(h.proto, ZC_IPPROTO_TCP);
	assert_int_equal(zc_tcp_parse(ip + h.hdr_len, h.total_len - h.hdr_len, h.src, h.dst, true, t, NULL),
			 ZC_DROP_NONE);
}

/* A connection X:40000 -> B:80 through the three-way handshake, with
 * timestamps (X's clock at 1000, then 1001). */
struct conn {
	uint32_t snd_nxt, rcv_nxt, ts_peer; /* X's view */
	struct zc_tcp_sock *l, *s;          /* B's listener and connection */
};

static inline struct zc_tcp_sock *tcp_listen(struct env *e, uint16_t port, int backlog)
{
	struct zc_tcp_sock *l = zc_tcp_socket(e->st);
	assert_non_null(l);
	assert_int_equal(zc_tcp_bind(l, 0, port), 0);
	assert_int_equal(zc_tcp_listen(l, backlog), 0);
	return l;
}

static inline size_t syn(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t iss)
{
	uint8_t p[ZC_TCP_MAXHLEN];
	struct zc_tcp t = { .sport = sport, .dport = dport, .seq = iss, .flags = ZC_TCP_SYN, .win = 65535,
			    .opt = { .has_mss = true, .mss = 1460, .has_ts = true, .tsval = 1000 } };
	return ip_frame(f, ZC_IPPROTO_TCP, p, tcp_seg(p, &t, 0));
}

static inline void tcp_establish(struct env *e, struct conn *c)
{
	uint8_t f[256], p[128];
	resolve_x(e);
	struct zc_tcp_sock *l = c->l = tcp_listen(e, 80, 8);
	inject(e, f, syn(f, 40000, 80, 7000));
	struct zc_tcp sa;
	last_sent_tcp(e, &sa);
	assert_int_equal(sa.flags, ZC_TCP_SYN | ZC_TCP_ACK);
	assert_int_equal(sa.ack, 7001);
	c->snd_nxt = 7001;
	c->rcv_nxt = sa.seq + 1;
	c->ts_peer = sa.opt.tsval;
	struct zc_tcp a = { .sport = 40000, .dport = 80, .seq = c->snd_nxt, .ack = c->rcv_nxt,
			    .flags = ZC_TCP_ACK, .win = 65535,
			    .opt = { .has_ts = true, .tsval = 1001, .tsecr = c->ts_peer } };
	inject(e, f, ip_frame(f, ZC_IPPROTO_TCP, p, tcp_seg(p, &a, 0)));
	int err;
	struct zc_tcp_sock *s = c->s = zc_tcp_accept(l, &err);
	assert_non_null(s);
	assert_int_equal(zc_tcp_get_state(s), ZC_TCP_ESTABLISHED);
}

/* A segment of dlen data bytes (at most 64) on the connection. */
static inline size_t tcp_conn_seg(uint8_t *f, const struct conn *c, uint32_t seq, uint32_t ack, uint8_t flags,
				  uint32_t tsval, size_t dlen)
{
	uint8_t p[128];
	memset(p, 'd', dlen);
	struct zc_tcp t = { .sport = 40000, .dport = 80, .seq = seq, .ack = ack, .flags = flags,
			    .win = 65535, .opt = { .has_ts = true, .tsval = tsval, .tsecr = c->ts_peer } };
	return ip_frame(f, ZC_IPPROTO_TCP, p, tcp_seg(p, &t, dlen));
}

/* A segment of 10 data bytes on the connection. */
static inline size_t tcp_data(uint8_t *f, const struct conn *c, uint32_t seq, uint8_t flags, uint32_t tsval)
{
	return tcp_conn_seg(f, c, seq, c->rcv_nxt, flags, tsval, 10);
}

/* A 20-byte SYN header X:40000 -> B:80 and optlen bytes of options after
 * it, with byte 12 (the data offset, high nibble) as given; checksum right. */
static inline size_t tcp_raw(uint8_t *p, uint8_t doff_byte, const uint8_t *opts, size_t optlen)
{
	struct zc_tcp t = { .sport = 40000, .dport = 80, .seq = 1, .flags = ZC_TCP_SYN, .win = 1000 };
	zc_tcp_build(p, &t);
	if (optlen)
		memcpy(p + ZC_TCP_HLEN, opts, optlen);
	p[12] = doff_byte;
	zc_l4_set_csum(p, ZC_TCP_HLEN + optlen, ZC_IPPROTO_TCP, IP_X, IP_B);
	return ZC_TCP_HLEN + optlen;
}

#endif

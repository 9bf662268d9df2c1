/* tcp_fixture.h - what the TCP unit tests (test_tcp_conn.c, test_tcp_data.c)
 * share: the stack under test is on port 1 of a Trapeze wire; the test
 * plays the peer on port 0 with frames it builds itself, in virtual time,
 * and asserts exactly what the stack sends back (or that it sends nothing).
 * Included once by each test program (its functions are static inline so
 * that a program need not use all of them). */
#ifndef ZC_TESTS_TCP_FIXTURE_H
#define ZC_TESTS_TCP_FIXTURE_H

#include "nic/trapeze.h"
#include "stack/arena.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/stack.h"
#include "stack/tcp.h"
#include "stack/wire.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#define IP_P 0x0a000001u /* the peer (the test) */
#define IP_S 0x0a000002u /* the stack */
#define T0 1000000000ull
#define MS 1000000ull
#define F_S ZC_TCP_SYN
#define F_A ZC_TCP_ACK
#define F_F ZC_TCP_FIN
#define F_R ZC_TCP_RST
#define F_P ZC_TCP_PSH

struct env {
	char name[32];
	struct zc_netif *np, *ns;
	struct zc_stack *st;
	struct zc_arena *arena; /* the stack's memory (setup_in with an arena), or NULL: the heap */
	uint64_t now;
	uint16_t pport;   /* the peer's port */
	uint16_t sport;   /* the stack's port (5000 unless a test connects out) */
	uint32_t pseq;    /* the peer's next sequence number */
	uint32_t ptsval;  /* the peer's timestamp clock */
	bool pts;         /* peer sends timestamps */
	uint32_t last_tsval; /* the stack's last TSval seen */
	uint8_t ptos;     /* the TOS byte of the peer's packets (its ECN bits) */
};

struct seg {
	struct zc_tcp th;
	uint8_t tos;      /* of the IP header */
	uint32_t len;
	uint8_t data[2048];
};

/* The wire, the stack and the peer's ARP; the stack's memory from an arena
 * of its own when `arena` (for tests that inject allocation failures). */
static inline int setup_in(void **state, bool arena)
{
	struct env *e = calloc(1, sizeof(*e));
	if (arena && zc_arena_create(64u << 20, &e->arena) != 0)
		return -1;
	snprintf(e->name, sizeof(e->name), "tt%d", (int)getpid());
	zc_trapeze_unlink(e->name);
	/* the raw peer reads frames as a capture does, checksums and all: it
	 * pulls every payload (a packet kept by reference has its checksum
	 * left to the NIC) */
	struct zc_trapeze_config c = { .name = e->name, .port = 0, .nframes = 2048, .mtu = 4096, .no_ref = true };
	e->np = zc_trapeze_open(&c);
	c.port = 1;
	c.no_ref = false;
	e->ns = zc_trapeze_open(&c);
	if (!e->np || !e->ns)
		return -1;
	e->now = T0;
	struct zc_stack_config sc = { .nif = e->ns, .ip = IP_S, .prefix_len = 24, .seed = 5, .now = e->now,
				      .no_gratuitous_arp = true, .arena = e->arena };
	e->st = zc_stack_create(&sc);
	struct zc_tcp_config tc = { .msl_ns = 1000 * MS };
	zc_tcp_configure(e->st, &tc);
	e->pport = 40000;
	e->sport = 5000;
	e->pseq = 1000;
	e->ptsval = 100;
	e->pts = true;
	*state = e;
	/* an ARP request so the stack knows the peer's MAC, and its reply */
	uint8_t f[60] = { 0 };
	struct zc_eth eh = { .type = ZC_ETHERTYPE_ARP };
	memset(eh.dst, 0xff, 6);
	memcpy(eh.src, e->np->mac, 6);
	zc_eth_build(f, &eh);
	struct zc_arp a = { .op = ZC_ARP_REQUEST, .spa = IP_P, .tpa = IP_S };
	memcpy(a.sha, e->np->mac, 6);
	zc_arp_build(f + 14, &a);
	struct zc_mbuf *m = zc_mbuf_alloc(e->np->pool);
	memcpy(zc_mbuf_append(m, 60), f, 60);
	zc_netif_tx(e->np, &m, 1, e->now);
	zc_stack_poll(e->st, e->now);
	struct zc_mbuf *r[8];
	int n = zc_netif_rx(e->np, r, 8, e->now);
	for (int i = 0; i < n; i++)
		zc_mbuf_free(r[i]);
	return 0;
}

static inline int setup(void **state)
{
	return setup_in(state, false);
}

static inline int teardown(void **state)
{
	struct env *e = *state;
	/* every segment the stack sent went for a reason, counted once */
	struct zc_tcp_path_stats ps;
	struct zc_tcp_stats ts;
	zc_tcp_get_path_stats(e->st, &ps);
	zc_tcp_get_stats(e->st, &ts);
	uint64_t sends = 0;
	for (int r = 0; r < ZC_TCP_TX__COUNT; r++)
		if (ZC_TCP_TX_IS_SEND(r))
			sends += ps.tx[r];
	assert_int_equal(sends, ts.segs_out);
	zc_stack_destroy(e->st);
	if (e->arena)
		zc_arena_destroy(e->arena);
	struct zc_mbuf *r[32];
	int n;
	while ((n = zc_netif_rx(e->np, r, 32, e->now)) > 0)
		for (int i = 0; i < n; i++)
			zc_mbuf_free(r[i]);
	zc_trapeze_reap(e->ns); /* take back what the peer pulled */
	assert_int_equal(zc_pool_outstanding(e->np->pool), zc_trapeze_posted(e->np));
	assert_int_equal(zc_pool_outstanding(e->ns->pool), zc_trapeze_posted(e->ns));
	zc_netif_close(e->np);
	zc_netif_close(e->ns);
	free(e);
	return 0;
}

/* The peer sends one segment to the stack, which then runs. */
static inline void tx_opts(struct env *e, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
			   const void *data, uint32_t len, const struct zc_tcp_opts *opt)
{
	uint8_t f[2048];
	struct zc_tcp th = { .sport = e->pport, .dport = e->sport, .seq = seq, .ack = ack, .flags = flags, .win = win };
	if (opt)
		th.opt = *opt;
	else if (e->pts && !(flags & F_R)) {
		th.opt.has_ts = true;
		th.opt.tsval = e->ptsval;
		th.opt.tsecr = e->last_tsval;
	}
	size_t hl = zc_tcp_build(f + 34, &th);
	if (len)
		memcpy(f + 34 + hl, data, len);
	zc_l4_set_csum(f + 34, hl + len, ZC_IPPROTO_TCP, IP_P, IP_S);
	struct zc_ipv4 ip = { .total_len = (uint16_t)(20 + hl + len), .ttl = 64, .proto = ZC_IPPROTO_TCP,
			      .src = IP_P, .dst = IP_S, .df = true, .tos = e->ptos };
	zc_ipv4_build(f + 14, &ip);
	struct zc_eth eh = { .type = ZC_ETHERTYPE_IPV4 };
	memcpy(eh.dst, e->ns->mac, 6);
	memcpy(eh.src, e->np->mac, 6);
	zc_eth_build(f, &eh);
	struct zc_mbuf *m = zc_mbuf_alloc(e->np->pool);
	uint32_t total = (uint32_t)(34 + hl + len);
	if (total <= 128) {
		memcpy(zc_mbuf_append(m, total), f, total);
	} else {
		memcpy(zc_mbuf_append(m, 128), f, 128);
		struct zc_mbuf *d = zc_mbuf_alloc_frame(e->np->pool);
		memcpy(d->data, f + 128, total - 128);
		d->len = d->pkt_len = total - 128;
		zc_mbuf_cat(m, d);
	}
	assert_int_equal(zc_netif_tx(e->np, &m, 1, e->now), 1);
	zc_stack_poll(e->st, e->now);
}

static inline void tx(struct env *e, uint8_t flags, uint32_t seq, uint32_t ack, const void *data,
		      uint32_t len)
{
	tx_opts(e, flags, seq, ack, 65535, data, len, NULL);
}

/* The next TCP segment the stack sent, or false when there is none. */
static inline bool rx(struct env *e, struct seg *s)
{
	for (;;) {
		struct zc_mbuf *m;
		if (zc_netif_rx(e->np, &m, 1, e->now) != 1)
			return false;
		uint8_t f[4096];
		uint32_t n = zc_mbuf_copydata(m, 0, sizeof(f), f);
		zc_mbuf_free(m);
		struct zc_eth eh;
		if (zc_eth_parse(f, n, &eh, NULL) != ZC_DROP_NONE || eh.type != ZC_ETHERTYPE_IPV4)
			continue;
		struct zc_ipv4 ip;
		assert_int_equal(zc_ipv4_parse(f + ZC_ETH_HLEN, n - ZC_ETH_HLEN, n - ZC_ETH_HLEN, true, &ip, NULL), 0);
		if (ip.proto != ZC_IPPROTO_TCP)
			continue;
		const uint8_t *t = f + ZC_ETH_HLEN + ip.hdr_len;
		uint32_t tlen = ip.total_len - (uint32_t)ip.hdr_len;
		assert_int_equal(zc_tcp_parse(t, tlen, ip.src, ip.dst, true, &s->th, NULL), 0);
		assert_int_equal(zc_tcp_peek_hdr_len(t, tlen), s->th.hdr_len);
		s->len = tlen - s->th.hdr_len;
		s->tos = ip.tos;
		memcpy(s->data, t + s->th.hdr_len, s->len < sizeof(s->data) ? s->len : sizeof(s->data));
		if (s->th.opt.has_ts)
			e->last_tsval = s->th.opt.tsval;
		return true;
	}
}

static inline void expect_nothing(struct env *e)
{
	struct seg s;
	if (rx(e, &s))
		fail_msg("unexpected segment: flags %#x seq %u ack %u len %u", s.th.flags, s.th.seq, s.th.ack, s.len);
}

static inline void expect(struct env *e, struct seg *s, uint8_t flags)
{
	if (!rx(e, s))
		fail_msg("no segment (expected flags %#x)", flags);
	if (s->th.flags != flags)
		fail_msg("flags %#x, expected %#x (seq %u ack %u len %u)", s->th.flags, flags, s->th.seq, s->th.ack,
			 s->len);
}

/* Advance virtual time by ns, polling every millisecond. */
static inline void run(struct env *e, uint64_t ns)
{
	for (uint64_t end = e->now + ns; e->now < end;) {
		e->now += MS;
		zc_stack_poll(e->st, e->now);
	}
}

static inline uint64_t drop_n(struct env *e, const char *name)
{
	return zc_stack_drops(e->st)->n[zc_drop_by_name(name)];
}

/* Passive open on port 5000: returns the accepted socket; *iss the stack's ISN. */
static inline struct zc_tcp_sock *open_passive(struct env *e, struct zc_tcp_sock **lsock, uint32_t *iss)
{
	struct zc_tcp_sock *l = zc_tcp_socket(e->st);
	assert_int_equal(zc_tcp_bind(l, 0, 5000), 0);
	assert_int_equal(zc_tcp_listen(l, 8), 0);
	struct zc_tcp_opts o = { .has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 2, .has_ts = e->pts,
				 .tsval = e->ptsval };
	tx_opts(e, F_S, e->pseq, 0, 65535, NULL, 0, &o);
	struct seg s;
	expect(e, &s, F_S | F_A);
	assert_int_equal(s.th.ack, e->pseq + 1);
	e->pseq++;
	*iss = s.th.seq;
	tx(e, F_A, e->pseq, s.th.seq + 1, NULL, 0);
	int err;
	struct zc_tcp_sock *c = zc_tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_ESTABLISHED);
	*lsock = l;
	zc_tcp_setopt(c, ZC_TCP_OPT_QUICKACK, 0);
	return c;
}

/* The stack's TCP counters now. */
static inline struct zc_tcp_stats tcp_stats(struct env *e)
{
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	return ts;
}

/* How many output decisions gave reason r so far. */
static inline uint64_t why_n(struct env *e, enum zc_tcp_tx_reason r)
{
	struct zc_tcp_path_stats ps;
	zc_tcp_get_path_stats(e->st, &ps);
	return ps.tx[r];
}

#endif

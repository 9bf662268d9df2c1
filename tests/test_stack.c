/* test_stack.c - ARP, IPv4, ICMP and UDP of two stacks on one Trapeze wire
 * in one process, in virtual time; and a stack facing raw frames the test
 * writes itself (port 0 used as a bare NIC). */
#include "nic/trapeze.h"
#include "stack/arena.h"
#include "stack/log.h"
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
#include <unistd.h>
#include <cmocka.h>

#define IP_A 0x0a000001u /* 10.0.0.1 */
#define IP_B 0x0a000002u
#define IP_NOBODY 0x0a000063u

struct env {
	char name[32];
	struct zc_netif *na, *nb;
	struct zc_stack *a, *b; /* a is NULL in raw tests: the test drives na itself */
	uint64_t now;
};

#define T0 1000000000ull

static struct zc_stack *mk(struct zc_netif *n, uint32_t ip, uint64_t seed)
{
	struct zc_stack_config c = { .nif = n, .ip = ip, .prefix_len = 24, .seed = seed, .now = T0 };
	return zc_stack_create(&c);
}

static int open_env(void **state, bool raw)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "st%d", (int)getpid());
	zc_trapeze_unlink(e->name);
	struct zc_trapeze_config c = { .name = e->name, .port = 0, .nframes = 2048 };
	e->na = zc_trapeze_open(&c);
	c.port = 1;
	e->nb = zc_trapeze_open(&c);
	if (!e->na || !e->nb)
		return -1;
	e->a = raw ? NULL : mk(e->na, IP_A, 1);
	e->b = mk(e->nb, IP_B, 2);
	e->now = T0;
	*state = e;
	return 0;
}
static int setup(void **state) { return open_env(state, false); }
static int setup_raw(void **state) { return open_env(state, true); }

static int teardown(void **state)
{
	struct env *e = *state;
	zc_stack_destroy(e->a);
	zc_stack_destroy(e->b);
	/* nothing leaked: only the posted receive frames are out */
	assert_int_equal(zc_pool_outstanding(e->na->pool), zc_trapeze_posted(e->na));
	assert_int_equal(zc_pool_outstanding(e->nb->pool), zc_trapeze_posted(e->nb));
	zc_netif_close(e->na);
	zc_netif_close(e->nb);
	free(e);
	return 0;
}

/* Poll both stacks for `ns` of virtual time in 100 us steps. */
static void run(struct env *e, uint64_t ns)
{
	for (uint64_t end = e->now + ns; e->now < end; e->now += 100000) {
		if (e->a)
			zc_stack_poll(e->a, e->now);
		if (e->b)
			zc_stack_poll(e->b, e->now);
	}
}

static uint64_t drop_n(struct zc_stack *s, const char *name)
{
	return zc_stack_drops(s)->n[zc_drop_by_name(name)];
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 131u + i * 7u + (i >> 9));
}

static void test_ping_resolves_and_echoes(void **state)
{
	struct env *e = *state;
	run(e, 1000000); /* gratuitous ARPs cross */
	struct zc_stack_stats sb;
	zc_stack_get_stats(e->b, &sb);
	assert_int_equal(sb.arp_requests_in, 1); /* A's announcement */
	assert_int_equal(zc_ping_open(e->a, 77), 0);
	assert_int_equal(zc_ping_open(e->a, 78), -EBUSY);
	static uint8_t out[40000], in[40000];
	size_t sizes[] = { 0, 56, 1000, 4096, 40000 };
	for (uint16_t i = 0; i < 5; i++) {
		fill(out, sizes[i], i);
		assert_int_equal(zc_ping_send(e->a, IP_B, i, out, sizes[i]), 0);
		run(e, 1000000);
		uint16_t seq;
		uint32_t src;
		ssize_t n = zc_ping_recv(e->a, &seq, &src, in, sizeof(in));
		assert_int_equal(n, (ssize_t)sizes[i]);
		assert_int_equal(seq, i);
		assert_int_equal(src, IP_B);
		assert_memory_equal(in, out, sizes[i]);
	}
	assert_int_equal(zc_ping_recv(e->a, NULL, NULL, in, 1), -EAGAIN);
	uint8_t mac[6];
	assert_int_equal(zc_stack_arp_lookup(e->a, IP_B, mac), 0);
	assert_memory_equal(mac, e->nb->mac, 6);
	zc_stack_get_stats(e->b, &sb);
	assert_int_equal(sb.icmp_echo_in, 5);
	assert_int_equal(sb.icmp_echo_out, 5);
	/* one ARP exchange: A asked once, B answered once */
	assert_int_equal(sb.arp_replies_out, 1);
	assert_int_equal(zc_ping_send(e->a, IP_B, 9, out, 70000), -EMSGSIZE);
	zc_ping_close(e->a);
}

static void test_udp_both_ways_all_sizes(void **state)
{
	struct env *e = *state;
	struct zc_udp_sock *sa = zc_udp_open(e->a), *sb = zc_udp_open(e->b);
	assert_int_equal(zc_udp_bind(sb, 0, 5000), 0);
	assert_int_equal(zc_udp_bind(sb, 0, 5001), -EINVAL);
	static uint8_t out[65507], in[65536];
	size_t sizes[] = { 0, 1, 100, 128, 129, 1472, 4095, 4096, 4097, 20000, 65507 - 20 };
	uint16_t aport = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(out, sizes[i], (uint32_t)i);
		assert_int_equal(zc_udp_sendto(sa, out, sizes[i], IP_B, 5000), (ssize_t)sizes[i]);
		run(e, 1000000);
		uint32_t ip;
		uint16_t port;
		assert_int_equal(zc_udp_recvfrom(sb, in, sizeof(in), &ip, &port), (ssize_t)sizes[i]);
		assert_memory_equal(in, out, sizes[i]);
		assert_int_equal(ip, IP_A);
		aport = port;
		/* and back to the ephemeral port A bound on its first send */
		assert_int_equal(zc_udp_sendto(sb, in, sizes[i], ip, port), (ssize_t)sizes[i]);
		run(e, 1000000);
		memset(in, 0, sizes[i]);
		assert_int_equal(zc_udp_recvfrom(sa, in, sizeof(in), &ip, &port), (ssize_t)sizes[i]);
		assert_memory_equal(in, out, sizes[i]);
		assert_int_equal(port, 5000);
	}
	assert_true(aport >= 49152);
	assert_int_equal(zc_udp_local_port(sa), aport);
	/* truncation: the full length is reported, only len bytes copied */
	fill(out, 3000, 5);
	zc_udp_sendto(sa, out, 3000, IP_B, 5000);
	run(e, 1000000);
	memset(in, 0xee, 200);
	assert_int_equal(zc_udp_recvfrom(sb, in, 100, NULL, NULL), 3000);
	assert_memory_equal(in, out, 100);
	assert_int_equal(in[100], 0xee);
	/* limits */
	assert_int_equal(zc_udp_sendto(sa, out, e->na->caps.mtu, IP_B, 5000), -EMSGSIZE);
	assert_int_equal(zc_udp_sendto(sa, out, 1, 0, 5000), -EDESTADDRREQ);
	assert_int_equal(zc_udp_sendto(sa, out, 1, 0x0b000001u, 5000), -ENETUNREACH);
	assert_int_equal(drop_n(e->a, "tx_no_route"), 1);
	struct zc_udp_sock *sc = zc_udp_open(e->b);
	assert_int_equal(zc_udp_bind(sc, 0, 5000), -EADDRINUSE);
	assert_int_equal(zc_udp_bind(sc, IP_A, 5002), -EADDRNOTAVAIL);
	zc_udp_close(sc);
	zc_udp_close(sa);
	zc_udp_close(sb);
}

static void test_udp_rcvbuf_limit(void **state)
{
	struct env *e = *state;
	struct zc_udp_sock *sa = zc_udp_open(e->a), *sb = zc_udp_open(e->b);
	zc_udp_bind(sb, 0, 6000);
	zc_udp_set_rcvbuf(sb, 10000);
	uint8_t out[1000] = { 1 };
	zc_udp_sendto(sa, out, 10, IP_B, 6000); /* resolve first: ARP queues only 8 */
	run(e, 1000000);
	assert_int_equal(zc_udp_recvfrom(sb, out, sizeof(out), NULL, NULL), 10);
	for (int i = 0; i < 15; i++)
		zc_udp_sendto(sa, out, sizeof(out), IP_B, 6000);
	run(e, 2000000);
	assert_int_equal(zc_udp_pending(sb), 10);
	assert_int_equal(drop_n(e->b, "udp_rcvbuf_full"), 5);
	zc_udp_close(sa);
	zc_udp_close(sb); /* frees what is queued: the teardown checks */
}

static void test_port_unreachable_rate_limited(void **state)
{
	struct env *e = *state;
	struct zc_udp_sock *sa = zc_udp_open(e->a);
	uint8_t b[10] = { 0 };
	zc_udp_sendto(sa, b, sizeof(b), IP_B, 9); /* resolve ARP first */
	run(e, 1000000);
	for (int i = 0; i < 199; i++) {
		zc_udp_sendto(sa, b, sizeof(b), IP_B, 9);
		if (i % 16 == 0)
			zc_stack_poll(e->b, e->now); /* same instant: no refill */
		zc_stack_poll(e->a, e->now);
	}
	run(e, 100000);
	struct zc_stack_stats sb, sa_st;
	zc_stack_get_stats(e->b, &sb);
	zc_stack_get_stats(e->a, &sa_st);
	assert_int_equal(drop_n(e->b, "udp_no_port"), 200);
	/* the burst of 50 went out; the rest were held back (one refill step
	 * of 100 us at 1000/s adds a tenth of a token) */
	assert_int_equal(sb.icmp_unreach_out, 50);
	assert_int_equal(drop_n(e->b, "icmp_rate_limited"), 150);
	assert_int_equal(sa_st.icmp_other_in, 50);
	/* after a second the bucket is full again */
	run(e, 1000000000);
	zc_udp_sendto(sa, b, sizeof(b), IP_B, 9);
	run(e, 1000000);
	zc_stack_get_stats(e->b, &sb);
	assert_int_equal(sb.icmp_unreach_out, 51);
	zc_udp_close(sa);
}

static void test_arp_unresolved_and_queue_bound(void **state)
{
	struct env *e = *state;
	struct zc_udp_sock *sa = zc_udp_open(e->a);
	uint8_t b[10] = { 0 };
	for (unsigned i = 0; i < ZC_ARP_QUEUE_PER_ENTRY + 12; i++)
		assert_int_equal(zc_udp_sendto(sa, b, sizeof(b), IP_NOBODY, 7), 10);
	assert_int_equal(drop_n(e->a, "arp_queue_full"), 12);
	assert_true(zc_stack_next_timer(e->a) <= e->now + 1000000000ull);
	run(e, 5000000000ull);
	assert_int_equal(drop_n(e->a, "arp_unresolved"), ZC_ARP_QUEUE_PER_ENTRY);
	struct zc_stack_stats s;
	zc_stack_get_stats(e->a, &s);
	assert_int_equal(s.arp_requests_out, 1 + 3); /* announcement + 3 tries */
	assert_int_equal(zc_stack_next_timer(e->a), UINT64_MAX);
	/* B saw the requests for another host (and A's announcement) and
	 * answered none */
	assert_int_equal(drop_n(e->b, "arp_not_for_us"), 1 + 3);
	zc_stack_get_stats(e->b, &s);
	assert_int_equal(s.arp_replies_out, 0);
	zc_udp_close(sa);
}

/* A resolved entry past its reachable time keeps being used while a
 * unicast request refreshes it; with the peer silent it is forgotten. */
static void test_arp_stale_entry_is_refreshed(void **state)
{
	struct env *e = *state;
	zc_stack_destroy(e->a);
	struct zc_stack_config c = { .nif = e->na, .ip = IP_A, .prefix_len = 24, .seed = 1, .now = e->now,
				     .arp_reachable_ns = 10000000ull /* 10 ms */ };
	e->a = zc_stack_create(&c);
	struct zc_udp_sock *sa = zc_udp_open(e->a), *sb = zc_udp_open(e->b);
	zc_udp_bind(sb, 0, 5000);
	uint8_t b[8] = { 1 }, in[8];
	zc_udp_sendto(sa, b, sizeof(b), IP_B, 5000);
	run(e, 1000000);
	assert_int_equal(zc_udp_recvfrom(sb, in, sizeof(in), NULL, NULL), 8);
	struct zc_stack_stats s0, s1;
	zc_stack_get_stats(e->a, &s0);
	run(e, 20000000); /* past reachable */
	zc_udp_sendto(sa, b, sizeof(b), IP_B, 5000);
	/* sent at once (in the same poll), not queued behind the refresh */
	zc_stack_poll(e->a, e->now);
	zc_stack_poll(e->b, e->now);
	assert_int_equal(zc_udp_recvfrom(sb, in, sizeof(in), NULL, NULL), 8);
	run(e, 1000000);
	zc_stack_get_stats(e->a, &s1);
	assert_int_equal(s1.arp_requests_out, s0.arp_requests_out + 1);
	assert_int_equal(s1.arp_replies_in, s0.arp_replies_in + 1);
	/* B goes silent: after the retries the entry is dropped, and the next
	 * packet waits for a fresh resolution that fails */
	zc_stack_destroy(e->b);
	e->b = NULL;
	for (int i = 0; i < 5; i++) { /* one refresh per arp_retry_ns (1 s) */
		e->now += 1100000000ull;
		zc_udp_sendto(sa, b, sizeof(b), IP_B, 5000);
		zc_stack_poll(e->a, e->now);
	}
	uint8_t mac[6];
	assert_int_equal(zc_stack_arp_lookup(e->a, IP_B, mac), -ENOENT);
	zc_udp_close(sa);
}

/* Off-link destinations go to the gateway's MAC: B (a host, not a
 * router) receives the frame and drops it as not for it. */
static void test_gateway_route(void **state)
{
	struct env *e = *state;
	zc_stack_destroy(e->a);
	struct zc_stack_config c = { .nif = e->na, .ip = IP_A, .prefix_len = 24, .gateway = IP_B,
				     .seed = 1, .now = e->now };
	e->a = zc_stack_create(&c);
	struct zc_udp_sock *sa = zc_udp_open(e->a);
	uint8_t b[20] = { 0 };
	assert_int_equal(zc_udp_sendto(sa, b, sizeof(b), 0xc0a80101u /* 192.168.1.1 */, 53), 20);
	run(e, 1000000);
	uint8_t mac[6];
	assert_int_equal(zc_stack_arp_lookup(e->a, IP_B, mac), 0);
	assert_int_equal(zc_stack_arp_lookup(e->a, 0xc0a80101u, mac), -ENOENT);
	assert_int_equal(drop_n(e->b, "ip_not_for_us"), 1);
	zc_udp_close(sa);
}

static void test_bad_configuration(void **state)
{
	struct env *e = *state;
	struct zc_stack_config c = { .nif = e->na, .ip = IP_A, .prefix_len = 24 };
	zc_log_set_level(ZC_LOG_QUIET);
	c.prefix_len = 33;
	assert_null(zc_stack_create(&c));
	assert_int_equal(errno, EINVAL);
	c.prefix_len = 24;
	c.ip = 0x0a000000u; /* network address */
	assert_null(zc_stack_create(&c));
	c.ip = 0x7f000001u;
	assert_null(zc_stack_create(&c));
	c.ip = IP_A;
	c.gateway = 0x0b000001u; /* off-link gateway */
	assert_null(zc_stack_create(&c));
	c.gateway = 0;
	c.nif = NULL;
	assert_null(zc_stack_create(&c));
	zc_log_set_level(ZC_LOG_WARN);
	uint32_t ip;
	uint8_t pl;
	assert_int_equal(zc_parse_ipv4("10.1.2.3/16", &ip, &pl, 0), 0);
	assert_int_equal(ip, 0x0a010203u);
	assert_int_equal(pl, 16);
	assert_int_equal(zc_parse_ipv4("10.1.2.3", &ip, &pl, 24), 0);
	assert_int_equal(pl, 24);
	assert_int_equal(zc_parse_ipv4("10.1.2/8", &ip, &pl, 0), -EINVAL);
	assert_int_equal(zc_parse_ipv4("10.1.2.3/0", &ip, &pl, 0), -EINVAL);
	assert_int_equal(zc_parse_ipv4("10.1.2.3/x", &ip, &pl, 0), -EINVAL);
	assert_int_equal(zc_parse_ipv4("10.1.2.3/24", &ip, NULL, 0), -EINVAL);
}

/* --- raw frames from port 0 into stack B ------------------------------------ */

static const uint8_t MAC_X[6] = { 0x02, 0, 0, 0, 0, 0x99 };

static void raw_send(struct env *e, const uint8_t *f, size_t len)
{
	struct zc_mbuf *m = zc_mbuf_alloc(e->na->pool);
	assert_non_null(m);
	assert_true(len <= 128);
	memcpy(zc_mbuf_append(m, (uint32_t)len), f, len);
	assert_int_equal(zc_netif_tx(e->na, &m, 1, e->now), 1);
	zc_stack_poll(e->b, e->now);
}

/* Frames that came back from B, written into f; returns how many. */
static int raw_recv(struct env *e, uint8_t f[][128], size_t *lens, int max)
{
	struct zc_mbuf *m[32];
	int n = zc_netif_rx(e->na, m, max < 32 ? max : 32, e->now);
	for (int i = 0; i < n; i++) {
		lens[i] = zc_mbuf_copydata(m[i], 0, 128, f[i]);
		zc_mbuf_free(m[i]);
	}
	return n;
}

static size_t mk_echo(uint8_t *f, const uint8_t *dmac, uint32_t src, uint32_t dst)
{
	struct zc_eth eh = { .type = ZC_ETHERTYPE_IPV4 };
	memcpy(eh.dst, dmac, 6);
	memcpy(eh.src, MAC_X, 6);
	zc_eth_build(f, &eh);
	uint8_t *ic = f + 34;
	memset(ic + 8, 0xab, 16);
	struct zc_icmp h = { .type = ZC_ICMP_ECHO_REQUEST, .id = 1, .seq = 2 };
	zc_icmp_build(ic, &h, 16);
	struct zc_ipv4 ip = { .total_len = 20 + 24, .ttl = 64, .proto = ZC_IPPROTO_ICMP, .src = src, .dst = dst };
	zc_ipv4_build(f + 14, &ip);
	return 14 + 44;
}

static void test_raw_answers_only_what_it_should(void **state)
{
	struct env *e = *state;
	uint8_t f[128], back[32][128];
	size_t lens[32];
	const uint8_t *bmac = e->nb->mac, bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	zc_stack_poll(e->b, e->now);
	raw_recv(e, back, lens, 32); /* B's gratuitous ARP */
	/* B does not know MAC_X yet: ARP first, as the kernel would */
	size_t n = mk_echo(f, bmac, 0x0a000005u, IP_B);
	raw_send(e, f, n);
	assert_int_equal(raw_recv(e, back, lens, 32), 1);
	struct zc_arp a;
	assert_int_equal(zc_arp_parse(back[0] + 14, lens[0] - 14, &a, NULL), ZC_DROP_NONE);
	assert_int_equal(a.op, ZC_ARP_REQUEST);
	assert_int_equal(a.tpa, 0x0a000005u);
	/* answer it: the queued echo reply follows */
	struct zc_eth eh = { .type = ZC_ETHERTYPE_ARP };
	memcpy(eh.dst, bmac, 6);
	memcpy(eh.src, MAC_X, 6);
	zc_eth_build(f, &eh);
	struct zc_arp r = { .op = ZC_ARP_REPLY, .spa = 0x0a000005u, .tpa = IP_B };
	memcpy(r.sha, MAC_X, 6);
	memcpy(r.tha, bmac, 6);
	zc_arp_build(f + 14, &r);
	raw_send(e, f, 42);
	assert_int_equal(raw_recv(e, back, lens, 32), 1);
	struct zc_ipv4 ip;
	assert_int_equal(zc_ipv4_parse(back[0] + 14, lens[0] - 14, lens[0] - 14, true, &ip, NULL), 0);
	assert_int_equal(ip.proto, ZC_IPPROTO_ICMP);
	assert_int_equal(ip.dst, 0x0a000005u);
	assert_int_equal(back[0][34], ZC_ICMP_ECHO_REPLY);
	assert_int_equal(zc_csum(back[0] + 34, 24), 0);
	/* echo to another host's IP, to the broadcast address, from a martian
	 * source, to another MAC: no answer, each counted under its name */
	raw_send(e, f, mk_echo(f, bmac, 0x0a000005u, 0x0a000009u));
	raw_send(e, f, mk_echo(f, bcast, 0x0a000005u, 0x0a0000ffu));
	raw_send(e, f, mk_echo(f, bmac, 0x7f000001u, IP_B));
	raw_send(e, f, mk_echo(f, MAC_X, 0x0a000005u, IP_B));
	assert_int_equal(raw_recv(e, back, lens, 32), 0);
	assert_int_equal(drop_n(e->b, "ip_not_for_us"), 1);
	assert_int_equal(drop_n(e->b, "icmp_broadcast_echo"), 1);
	assert_int_equal(drop_n(e->b, "ip_bad_source"), 1);
	assert_int_equal(drop_n(e->b, "eth_not_for_us"), 1);
	/* ARP from another subnet and for another host: ignored */
	r.op = ZC_ARP_REQUEST;
	r.spa = 0x0b000001u;
	zc_eth_build(f, &eh);
	zc_arp_build(f + 14, &r);
	raw_send(e, f, 42);
	r.spa = 0x0a000006u;
	r.tpa = 0x0a000007u;
	zc_arp_build(f + 14, &r);
	raw_send(e, f, 42);
	assert_int_equal(raw_recv(e, back, lens, 32), 0);
	assert_int_equal(drop_n(e->b, "arp_other_subnet"), 1);
	assert_int_equal(drop_n(e->b, "arp_not_for_us"), 1);
	/* someone else claiming B's address is a conflict, not an update */
	r.spa = IP_B;
	zc_arp_build(f + 14, &r);
	raw_send(e, f, 42);
	struct zc_stack_stats s;
	zc_stack_get_stats(e->b, &s);
	assert_int_equal(s.arp_conflicts, 1);
}

/* Both stacks' state in one arena (issue 15: what a forked child shares):
 * the stacks, their connections and sockets are the arena's; a TCP
 * transfer and UDP work as on the heap, byte-exact; after destroy the
 * arena holds what it held before, so no state went to the heap and
 * nothing leaked. */
static void test_state_in_arena(void **state)
{
	struct env *e = *state;
	struct zc_arena *ar;
	assert_int_equal(zc_arena_create(64u << 20, &ar), 0);
	struct zc_arena_stats s0, s1;
	zc_arena_stats(ar, &s0);
	zc_stack_destroy(e->a);
	zc_stack_destroy(e->b);
	struct zc_stack_config c = { .nif = e->na, .ip = IP_A, .prefix_len = 24, .seed = 1, .now = e->now, .arena = ar };
	e->a = zc_stack_create(&c);
	c = (struct zc_stack_config){ .nif = e->nb, .ip = IP_B, .prefix_len = 24, .seed = 2, .now = e->now, .arena = ar };
	e->b = zc_stack_create(&c);
	assert_non_null(e->a);
	assert_non_null(e->b);
	assert_true(zc_arena_owns(ar, e->a) && zc_arena_owns(ar, e->b));

	struct zc_tcp_sock *l = zc_tcp_socket(e->b);
	assert_true(zc_arena_owns(ar, l));
	assert_int_equal(zc_tcp_bind(l, IP_B, 5001), 0);
	assert_int_equal(zc_tcp_listen(l, 4), 0);
	struct zc_tcp_sock *cl = zc_tcp_socket(e->a);
	assert_true(zc_arena_owns(ar, cl));
	assert_int_equal(zc_tcp_connect(cl, IP_B, 5001), -EINPROGRESS);
	struct zc_tcp_sock *sv = NULL;
	int err = 0;
	for (int i = 0; i < 100 && sv == NULL; i++) {
		run(e, 1000000);
		sv = zc_tcp_accept(l, &err);
	}
	assert_non_null(sv);
	assert_true(zc_arena_owns(ar, sv));
	enum { N = 1u << 20 };
	uint8_t *tx = malloc(N), *rx = malloc(N);
	fill(tx, N, 15);
	size_t sent = 0, got = 0;
	for (int i = 0; i < 100000 && got < N; i++) {
		if (sent < N) {
			ssize_t n = zc_tcp_send(cl, tx + sent, N - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		run(e, 100000);
		ssize_t n = zc_tcp_recv(sv, rx + got, N - got);
		if (n > 0)
			got += (size_t)n;
	}
	assert_int_equal(got, N);
	assert_memory_equal(tx, rx, N);
	free(tx);
	free(rx);

	struct zc_udp_sock *u = zc_udp_open(e->a);
	assert_true(zc_arena_owns(ar, u));
	zc_arena_stats(ar, &s1);
	assert_true(s1.bytes_in_use > s0.bytes_in_use);
	zc_udp_close(u);
	zc_tcp_close(cl);
	zc_tcp_close(sv);
	zc_tcp_close(l);
	run(e, 1000000);
	zc_stack_destroy(e->a);
	zc_stack_destroy(e->b);
	e->a = e->b = NULL;
	zc_arena_stats(ar, &s1);
	assert_int_equal(s1.bytes_in_use, s0.bytes_in_use);
	zc_arena_destroy(ar);
	/* the teardown's stacks are on the heap again */
	e->a = mk(e->na, IP_A, 1);
	e->b = mk(e->nb, IP_B, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ping_resolves_and_echoes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_both_ways_all_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_rcvbuf_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_unreachable_rate_limited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_unresolved_and_queue_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arp_stale_entry_is_refreshed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_configuration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_answers_only_what_it_should, setup_raw, teardown),
		cmocka_unit_test_setup_teardown(test_state_in_arena, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

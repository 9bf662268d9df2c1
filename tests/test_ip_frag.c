/*
 * test_ip_frag.c - IPv4 reassembly (stack/ip_frag.c) on test_drops.c's fake
 * NIC: fragments out of order, duplicated, overlapping, conflicting and never
 * completed, the bounds per source, per datagram and in all, a fragmented
 * TCP segment on a live connection. Each test checks what the application
 * receives byte for byte, the counters, and (teardown) that every buffer
 * went back to the pool.
 */
#include "drops_fixture.h"

#define IP_Y 0x0a000006u  /* other neighbours, for the bounds across sources */
#define DLEN 3000u        /* UDP payload of the test datagram */
#define PORT 9u
#define TIMEOUT_NS 30000000000ull

static int setup(void **state)
{
	*state = env_create("frag", 0);
	return 0;
}

static int teardown(void **state)
{
	env_destroy(*state);
	return 0;
}

static uint64_t drops(struct env *e, enum zc_drop_reason r) { return zc_stack_drops(e->st)->n[r]; }
static struct zc_stack_stats stats(struct env *e)
{
	struct zc_stack_stats s;
	zc_stack_get_stats(e->st, &s);
	return s;
}

/* The test datagram X:4000 -> B:9, UDP header and DLEN bytes of a pattern
 * seeded by id, into d; returns its length (the IP payload). */
static size_t dgram(uint8_t *d, uint16_t id)
{
	for (uint32_t i = 0; i < DLEN; i++)
		d[ZC_UDP_HLEN + i] = (uint8_t)(i * 7 + id);
	struct zc_udp u = { .sport = 4000, .dport = PORT };
	return zc_udp_build(d, &u, IP_X, IP_B, DLEN, true) + DLEN;
}

/* The fragment of d covering [off, off + len), from src, identification id;
 * mf: more fragments follow. */
static void frag_from(struct env *e, uint32_t src, uint16_t id, const uint8_t *d, uint32_t off, uint32_t len, bool mf)
{
	uint8_t f[FRAME_MAX];
	size_t n = ip_frame_from(f, src, IP_B, ZC_IPPROTO_UDP, d + off, len);
	uint8_t *ip = f + ZC_ETH_HLEN;
	zc_put16(ip + 4, id);
	zc_put16(ip + 6, (uint16_t)((mf ? 0x2000 : 0) | (off / 8)));
	ip_fix_csum(f);
	inject(e, f, n);
}
static void frag(struct env *e, uint16_t id, const uint8_t *d, uint32_t off, uint32_t len, bool mf)
{
	frag_from(e, IP_X, id, d, off, len, mf);
}

/* The datagram arrives at the socket whole and unchanged. */
static void expect_dgram(struct zc_udp_sock *u, const uint8_t *d)
{
	uint8_t got[DLEN + 1];
	uint32_t ip;
	uint16_t port;
	assert_int_equal(zc_udp_recvfrom(u, got, sizeof(got), &ip, &port), DLEN);
	assert_memory_equal(got, d + ZC_UDP_HLEN, DLEN);
	assert_int_equal(ip, IP_X);
	assert_int_equal(port, 4000);
}
static void expect_nothing(struct zc_udp_sock *u)
{
	uint8_t got[16];
	assert_int_equal(zc_udp_recvfrom(u, got, sizeof(got), NULL, NULL), -EAGAIN);
}

static struct zc_udp_sock *sock(struct env *e)
{
	struct zc_udp_sock *u = zc_udp_open(e->st);
	assert_non_null(u);
	assert_int_equal(zc_udp_bind(u, 0, PORT), 0);
	return u;
}

/* Last, first, middle: whole once the hole is filled, not before. */
static void test_out_of_order(void **state)
{
	struct env *e = *state;
	struct zc_udp_sock *u = sock(e);
	uint8_t d[DLEN + ZC_UDP_HLEN];
	size_t n = dgram(d, 1);
	frag(e, 1, d, 2000, (uint32_t)n - 2000, false);
	frag(e, 1, d, 0, 1000, true);
	expect_nothing(u);
	frag(e, 1, d, 1000, 1000, true);
	expect_dgram(u, d);
	assert_int_equal(stats(e).ip_frags_in, 3);
	assert_int_equal(stats(e).ip_reassembled, 1);
	assert_int_equal(stats(e).udp_in, 1);
	zc_udp_close(u);
}

/* The same fragment twice is dropped alone; the datagram still completes. */
static void test_duplicate(void **state)
{
	struct env *e = *state;
	struct zc_udp_sock *u = sock(e);
	uint8_t d[DLEN + ZC_UDP_HLEN];
	size_t n = dgram(d, 2);
	frag(e, 2, d, 0, 1000, true);
	frag(e, 2, d, 1000, 1000, true);
	frag(e, 2, d, 1000, 1000, true);
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_DUP), 1);
	frag(e, 2, d, 2000, (uint32_t)n - 2000, false);
	expect_dgram(u, d);
	/* once delivered, a late copy starts a new datagram that never completes */
	frag(e, 2, d, 1000, 1000, true);
	expect_nothing(u);
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_DUP), 1);
	zc_udp_close(u);
}

/* A fragment overlapping another without matching it discards the whole
 * datagram (RFC 5722); what comes after starts afresh and never completes:
 * its timeout sends no ICMP error, since its first fragment is gone. */
static void test_overlap(void **state)
{
	struct env *e = *state;
	resolve_x(e);
	struct zc_udp_sock *u = sock(e);
	uint8_t d[DLEN + ZC_UDP_HLEN];
	size_t n = dgram(d, 3);
	frag(e, 3, d, 0, 1000, true);
	frag(e, 3, d, 1000, 1000, true);
	frag(e, 3, d, 992, 16, true); /* inside both */
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_OVERLAP), 3);
	frag(e, 3, d, 2000, (uint32_t)n - 2000, false);
	frag(e, 3, d, 1000, 1000, true);
	expect_nothing(u);
	uint32_t sent = e->nic->nsent;
	e->now += TIMEOUT_NS;
	zc_stack_poll(e->st, e->now);
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_TIMEOUT), 2);
	assert_int_equal(e->nic->nsent, sent);
	assert_int_equal(stats(e).ip_reassembled, 0);
	zc_udp_close(u);
}

/* Fragments that disagree about where the datagram ends discard it: a
 * second last fragment with another end, data past the end, a last
 * fragment ending before data already held. */
static void test_conflicting_end(void **state)
{
	struct env *e = *state;
	struct zc_udp_sock *u = sock(e);
	uint8_t d[DLEN + ZC_UDP_HLEN];
	dgram(d, 4);
	frag(e, 4, d, 1000, 1000, false); /* ends at 2000 */
	frag(e, 4, d, 2000, 1000, true);  /* past it */
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_OVERLAP), 2);
	frag(e, 5, d, 1000, 1000, true);
	frag(e, 5, d, 8, 504, false);     /* the end before 2000 */
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_OVERLAP), 4);
	frag(e, 6, d, 2000, 1000, false);
	frag(e, 6, d, 1000, 1000, false); /* a second, other end */
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_OVERLAP), 6);
	assert_int_equal(stats(e).ip_reassembled, 0);
	expect_nothing(u);
	zc_udp_close(u);
}

/* A datagram missing a fragment waits frag_timeout_ns from its first
 * fragment, then its fragments are dropped and X gets "fragment reassembly
 * time exceeded" quoting the first. */
static void test_never_completed(void **state)
{
	struct env *e = *state;
	resolve_x(e);
	struct zc_udp_sock *u = sock(e);
	uint8_t d[DLEN + ZC_UDP_HLEN];
	size_t n = dgram(d, 7);
	frag(e, 7, d, 0, 1000, true);
	frag(e, 7, d, 2000, (uint32_t)n - 2000, false);
	assert_int_equal(zc_stack_next_timer(e->st), T0 + TIMEOUT_NS);
	e->now += TIMEOUT_NS - 1;
	zc_stack_poll(e->st, e->now);
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_TIMEOUT), 0);
	uint32_t sent = e->nic->nsent;
	e->now += 1;
	zc_stack_poll(e->st, e->now);
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_TIMEOUT), 2);
	assert_int_equal(e->nic->nsent, sent + 1);
	const uint8_t *ip = e->nic->last + ZC_ETH_HLEN;
	size_t len = e->nic->last_len - ZC_ETH_HLEN;
	struct zc_ipv4 h;
	assert_int_equal(zc_ipv4_parse(ip, len, len, true, &h, NULL), ZC_DROP_NONE);
	assert_int_equal(h.proto, ZC_IPPROTO_ICMP);
	assert_int_equal(h.dst, IP_X);
	assert_int_equal(ip[h.hdr_len], ZC_ICMP_TIME_EXCEEDED);
	assert_int_equal(ip[h.hdr_len + 1], ZC_ICMP_TIMEX_REASS);
	assert_int_equal(zc_get16(ip + h.hdr_len + ZC_ICMP_HLEN + 4), 7); /* the quote's identification */
	/* the rest arriving now starts a new datagram */
	frag(e, 7, d, 1000, 1000, true);
	expect_nothing(u);
	assert_int_equal(zc_stack_next_timer(e->st), e->now + TIMEOUT_NS);
	zc_udp_close(u);
}

/* The bounds: ZC__FRAG_PER_SRC (4) datagrams from one source, 64 fragments
 * of one datagram, 16 datagrams in all (the oldest evicted for a new one). */
static void test_limits(void **state)
{
	struct env *e = *state;
	struct zc_udp_sock *u = sock(e);
	uint8_t d[DLEN + ZC_UDP_HLEN];
	dgram(d, 8);
	for (uint16_t id = 10; id < 14; id++)
		frag(e, id, d, 0, 8, true);
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_LIMIT), 0);
	frag(e, 14, d, 0, 8, true); /* a fifth from X */
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_LIMIT), 1);
	/* 64 fragments of datagram 10 held, the 65th drops all */
	for (uint32_t i = 1; i < 64; i++)
		frag(e, 10, d, i * 8, 8, true);
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_LIMIT), 1);
	frag(e, 10, d, 64 * 8, 8, true);
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_LIMIT), 1 + 65);
	/* X has 3 left; 13 more from 4 other sources fill the 16 queues */
	for (uint32_t i = 0; i < 13; i++) {
		e->now += 1000;
		frag_from(e, IP_Y + i / 4, (uint16_t)(20 + i), d, 0, 8, true);
	}
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_LIMIT), 66);
	/* a 17th evicts the oldest, X's datagram 11 */
	frag_from(e, IP_Y + 4, 40, d, 0, 8, true);
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_LIMIT), 67);
	frag(e, 11, d, 8, 8, true); /* so this starts a new queue from X, within its share */
	assert_int_equal(drops(e, ZC_DROP_IP_FRAG_LIMIT), 68); /* ... by evicting the next oldest */
	expect_nothing(u);
	zc_udp_close(u);
}

/* A TCP segment that a path fragmented reaches the connection whole. */
static void test_tcp_segment(void **state)
{
	struct env *e = *state;
	struct conn c;
	tcp_establish(e, &c);
	uint8_t seg[ZC_TCP_MAXHLEN + 1200];
	for (uint32_t i = 0; i < 1200; i++)
		seg[i] = (uint8_t)(i * 13);
	struct zc_tcp t = { .sport = 40000, .dport = 80, .seq = c.snd_nxt, .ack = c.rcv_nxt, .flags = ZC_TCP_ACK,
			    .win = 65535, .opt = { .has_ts = true, .tsval = 1002, .tsecr = c.ts_peer } };
	size_t n = tcp_seg(seg, &t, 1200);
	uint8_t f[FRAME_MAX];
	size_t hl = ip_frame_from(f, IP_X, IP_B, ZC_IPPROTO_TCP, seg + 600, n - 600);
	zc_put16(f + ZC_ETH_HLEN + 4, 99);
	zc_put16(f + ZC_ETH_HLEN + 6, 600 / 8);
	ip_fix_csum(f);
	inject(e, f, hl);
	hl = ip_frame_from(f, IP_X, IP_B, ZC_IPPROTO_TCP, seg, 600);
	zc_put16(f + ZC_ETH_HLEN + 4, 99);
	zc_put16(f + ZC_ETH_HLEN + 6, 0x2000);
	ip_fix_csum(f);
	inject(e, f, hl);
	uint8_t got[1300];
	assert_int_equal(zc_tcp_recv(c.s, got, sizeof(got)), 1200);
	for (uint32_t i = 0; i < 1200; i++)
		assert_int_equal(got[i], (uint8_t)(i * 13));
	assert_int_equal(stats(e).ip_reassembled, 1);
	zc_tcp_close(c.s);
	zc_tcp_close(c.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflicting_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_completed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_segment, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

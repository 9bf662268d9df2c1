/* test_tcp.c - TCP rules as the RFCs state them: the stack under test is on
 * port 1 of a Trapeze wire; the test plays the peer on port 0 with frames it
 * builds itself, in virtual time, and asserts exactly what the stack sends
 * back (or that it sends nothing). */
#include "nic/trapeze.h"
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
	uint64_t now;
	uint16_t pport;   /* the peer's port */
	uint16_t sport;   /* the stack's port (5000 unless a test connects out) */
	uint32_t pseq;    /* the peer's next sequence number */
	uint32_t ptsval;  /* the peer's timestamp clock */
	bool pts;         /* peer sends timestamps */
	uint32_t last_tsval; /* the stack's last TSval seen */
};

struct seg {
	struct zc_tcp th;
	uint32_t len;
	uint8_t data[2048];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "tt%d", (int)getpid());
	zc_trapeze_unlink(e->name);
	struct zc_trapeze_config c = { .name = e->name, .port = 0, .nframes = 2048, .mtu = 4096 };
	e->np = zc_trapeze_open(&c);
	c.port = 1;
	e->ns = zc_trapeze_open(&c);
	if (!e->np || !e->ns)
		return -1;
	e->now = T0;
	struct zc_stack_config sc = { .nif = e->ns, .ip = IP_S, .prefix_len = 24, .seed = 5, .now = e->now,
				      .no_gratuitous_arp = true };
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

static int teardown(void **state)
{
	struct env *e = *state;
	zc_stack_destroy(e->st);
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
static void tx_opts(struct env *e, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, const void *data,
		    uint32_t len, const struct zc_tcp_opts *opt)
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
			      .src = IP_P, .dst = IP_S, .df = true };
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

static void tx(struct env *e, uint8_t flags, uint32_t seq, uint32_t ack, const void *data, uint32_t len)
{
	tx_opts(e, flags, seq, ack, 65535, data, len, NULL);
}

/* The next TCP segment the stack sent, or false when there is none. */
static bool rx(struct env *e, struct seg *s)
{
	for (;;) {
		struct zc_mbuf *m;
		if (zc_netif_rx(e->np, &m, 1, e->now) != 1)
			return false;
		uint8_t f[4096];
		uint32_t n = zc_mbuf_copydata(m, 0, sizeof(f), f);
		zc_mbuf_free(m);
		if (n < 34 || zc_get16(f + 12) != ZC_ETHERTYPE_IPV4 || f[23] != ZC_IPPROTO_TCP)
			continue;
		struct zc_ipv4 ip;
		assert_int_equal(zc_ipv4_parse(f + 14, n - 14, n - 14, true, &ip, NULL), 0);
		assert_int_equal(zc_tcp_parse(f + 34, ip.total_len - 20u, ip.src, ip.dst, true, &s->th, NULL), 0);
		s->len = ip.total_len - 20u - s->th.hdr_len;
		memcpy(s->data, f + 34 + s->th.hdr_len, s->len < sizeof(s->data) ? s->len : sizeof(s->data));
		if (s->th.opt.has_ts)
			e->last_tsval = s->th.opt.tsval;
		return true;
	}
}

static void expect_nothing(struct env *e)
{
	struct seg s;
	if (rx(e, &s))
		fail_msg("unexpected segment: flags %#x seq %u ack %u len %u", s.th.flags, s.th.seq, s.th.ack, s.len);
}

static void expect(struct env *e, struct seg *s, uint8_t flags)
{
	if (!rx(e, s))
		fail_msg("no segment (expected flags %#x)", flags);
	if (s->th.flags != flags)
		fail_msg("flags %#x, expected %#x (seq %u ack %u len %u)", s->th.flags, flags, s->th.seq, s->th.ack,
			 s->len);
}

/* Advance virtual time by ns, polling every millisecond. */
static void run(struct env *e, uint64_t ns)
{
	for (uint64_t end = e->now + ns; e->now < end;) {
		e->now += MS;
		zc_stack_poll(e->st, e->now);
	}
}

static uint64_t drop_n(struct env *e, const char *name)
{
	return zc_stack_drops(e->st)->n[zc_drop_by_name(name)];
}

/* Passive open on port 5000: returns the accepted socket; *iss the stack's ISN. */
static struct zc_tcp_sock *open_passive(struct env *e, struct zc_tcp_sock **lsock, uint32_t *iss)
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

/* --- handshakes ------------------------------------------------------------- */

static void test_passive_open_options(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l = zc_tcp_socket(e->st);
	zc_tcp_bind(l, 0, 5000);
	zc_tcp_listen(l, 8);
	int err;
	assert_null(zc_tcp_accept(l, &err));
	assert_int_equal(err, -EAGAIN);
	struct zc_tcp_opts o = { .has_mss = true, .mss = 1000, .has_wscale = true, .wscale = 3, .has_ts = true,
				 .tsval = 77 };
	tx_opts(e, F_S, 5000, 0, 4000, NULL, 0, &o);
	struct seg s;
	expect(e, &s, F_S | F_A);
	assert_int_equal(s.th.ack, 5001);
	assert_true(s.th.opt.has_mss);
	assert_int_equal(s.th.opt.mss, 4096 + 128 - 14 - 40); /* from the wire's MTU */
	assert_true(s.th.opt.has_wscale);
	assert_true(s.th.opt.has_ts);
	assert_int_equal(s.th.opt.tsecr, 77);
	assert_int_equal(zc_tcp_events(l) & POLLIN, 0); /* not before the ACK */
	tx(e, F_A, 5001, s.th.seq + 1, NULL, 0);
	assert_int_equal(zc_tcp_events(l) & POLLIN, POLLIN);
	struct zc_tcp_sock *c = zc_tcp_accept(l, &err);
	assert_non_null(c);
	struct zc_tcp_info ti;
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_state, 1); /* Linux's TCP_ESTABLISHED */
	assert_int_equal(ti.tcpi_snd_wscale, 3);
	assert_int_equal(ti.tcpi_snd_mss, 1000 - 12); /* the peer's MSS less the timestamps */
	/* without window scale from the peer, neither side scales */
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_active_open_and_syn_ack_checks(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *c = zc_tcp_socket(e->st);
	assert_int_equal(zc_tcp_connect(c, IP_P, e->pport), -EINPROGRESS);
	assert_int_equal(zc_tcp_connect(c, IP_P, e->pport), -EALREADY);
	assert_int_equal(zc_tcp_send(c, "x", 1), -EAGAIN);
	struct seg s;
	expect(e, &s, F_S);
	assert_true(s.th.opt.has_mss && s.th.opt.has_wscale && s.th.opt.has_ts);
	uint32_t iss = s.th.seq;
	e->sport = s.th.sport;
	assert_true(e->sport >= 49152);
	/* a SYN-ACK acking the wrong number: RST with SEQ = SEG.ACK (3.10.7.3) */
	tx(e, F_S | F_A, 9000, iss + 7, NULL, 0);
	expect(e, &s, F_R);
	assert_int_equal(s.th.seq, iss + 7);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_SYN_SENT);
	/* the right one: ACK, established */
	tx(e, F_S | F_A, 9000, iss + 1, NULL, 0);
	expect(e, &s, F_A);
	assert_int_equal(s.th.seq, iss + 1);
	assert_int_equal(s.th.ack, 9001);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_ESTABLISHED);
	assert_int_equal(zc_tcp_events(c) & POLLOUT, POLLOUT);
	assert_int_equal(zc_tcp_connect(c, IP_P, e->pport), -EISCONN);
	uint32_t ip;
	uint16_t port;
	assert_int_equal(zc_tcp_remote(c, &ip, &port), 0);
	assert_int_equal(ip, IP_P);
	assert_int_equal(port, e->pport);
	zc_tcp_close(c);
}

/* RFC 6528: ISNs differ per 4-tuple and move with the clock. */
static void test_isn_per_tuple_and_clock(void **state)
{
	struct env *e = *state;
	uint32_t isn[3];
	for (int i = 0; i < 3; i++) {
		struct zc_tcp_sock *c = zc_tcp_socket(e->st);
		zc_tcp_bind(c, 0, (uint16_t)(6000 + (i == 2 ? 0 : i)));
		zc_tcp_connect(c, IP_P, e->pport);
		struct seg s;
		expect(e, &s, F_S);
		isn[i] = s.th.seq;
		zc_tcp_close(c);
		if (i == 1)
			run(e, 100 * MS);
	}
	assert_int_not_equal(isn[0], isn[1]); /* other port */
	/* same tuple 100+ ms later: the 4 us clock moved it by about 25000 */
	uint32_t d = isn[2] - isn[0];
	assert_true(d >= 25000 && d < 30000);
}

static void test_simultaneous_open(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *c = zc_tcp_socket(e->st);
	zc_tcp_bind(c, 0, 5000);
	assert_int_equal(zc_tcp_connect(c, IP_P, e->pport), -EINPROGRESS);
	struct seg s;
	expect(e, &s, F_S);
	uint32_t iss = s.th.seq;
	/* the peer's SYN crosses ours */
	tx(e, F_S, 7000, 0, NULL, 0);
	expect(e, &s, F_S | F_A);
	assert_int_equal(s.th.seq, iss);
	assert_int_equal(s.th.ack, 7001);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_SYN_RECEIVED);
	/* the peer's SYN-ACK acks our SYN */
	tx(e, F_S | F_A, 7000, iss + 1, NULL, 0);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_ESTABLISHED);
	assert_int_equal(zc_tcp_events(c) & POLLOUT, POLLOUT);
	zc_tcp_close(c);
}

static void test_connect_refused_by_rst(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *c = zc_tcp_socket(e->st);
	zc_tcp_bind(c, 0, 5000);
	zc_tcp_connect(c, IP_P, e->pport);
	struct seg s;
	expect(e, &s, F_S);
	/* RST without ACK in SYN_SENT: ignored */
	tx(e, F_R, 0, 0, NULL, 0);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_SYN_SENT);
	/* RST with an unacceptable ACK: ignored */
	tx(e, F_R | F_A, 0, s.th.seq + 5, NULL, 0);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_SYN_SENT);
	/* RST with the right ACK: refused */
	tx(e, F_R | F_A, 0, s.th.seq + 1, NULL, 0);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_CLOSED);
	assert_true(zc_tcp_events(c) & POLLERR);
	assert_int_equal(zc_tcp_error(c), ECONNREFUSED);
	assert_int_equal(zc_tcp_error(c), 0); /* taken once */
	expect_nothing(e);
	zc_tcp_close(c);
}

static void test_syn_retries_then_timeout(void **state)
{
	struct env *e = *state;
	struct zc_tcp_config tc = { .syn_retries = 3 };
	zc_tcp_configure(e->st, &tc);
	struct zc_tcp_sock *c = zc_tcp_socket(e->st);
	zc_tcp_connect(c, IP_P, e->pport);
	struct seg s;
	expect(e, &s, F_S);
	uint64_t t_prev = e->now;
	uint64_t want[] = { 1000, 2000, 4000 }; /* RTO 1 s, doubling (RFC 6298 5.5) */
	for (int i = 0; i < 3; i++) {
		uint64_t start = e->now;
		while (!rx(e, &s)) {
			run(e, MS);
			assert_true(e->now - start < 10000 * MS);
		}
		assert_int_equal(s.th.flags, F_S);
		assert_int_equal((e->now - t_prev) / MS, want[i]);
		t_prev = e->now;
	}
	run(e, 8000 * MS);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_CLOSED);
	assert_int_equal(zc_tcp_error(c), ETIMEDOUT);
	zc_tcp_close(c);
}

/* --- RST and SYN rules in synchronized states (RFC 5961) ----------------- */

static void test_rst_rules(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	/* out of window: dropped silently */
	tx(e, F_R, e->pseq + 10000000, 0, NULL, 0);
	expect_nothing(e);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_ESTABLISHED);
	/* in window but not RCV.NXT: a challenge ACK */
	tx(e, F_R, e->pseq + 100, 0, NULL, 0);
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_ESTABLISHED);
	/* a SYN in ESTABLISHED: a challenge ACK too */
	tx(e, F_S, e->pseq + 5, 0, NULL, 0);
	expect(e, &s, F_A);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_ESTABLISHED);
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.challenge_acks, 2);
	/* exactly RCV.NXT: reset */
	tx(e, F_R, e->pseq, 0, NULL, 0);
	expect_nothing(e);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_CLOSED);
	assert_int_equal(zc_tcp_recv(c, s.data, 10), -ECONNRESET);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_ack_range_checks(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	/* ACK of data never sent: answered by an ACK, otherwise ignored */
	tx(e, F_A, e->pseq, iss + 1 + 5000, "x", 1);
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq); /* the byte was not taken */
	/* data with an ACK far in the past (below SND.UNA - MAX.SND.WND): challenge ACK */
	tx(e, F_A, e->pseq, iss + 1 - 300000, "x", 1); /* MAX.SND.WND is 65535 << 2 */
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq);
	/* no ACK bit: dropped */
	tx(e, F_P, e->pseq, 0, "x", 1);
	expect_nothing(e);
	assert_int_equal(drop_n(e, "tcp_no_ack"), 1);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_unacceptable_segment_gets_ack(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	tx(e, F_A, e->pseq - 3000, iss + 1, "old", 3); /* wholly before RCV.NXT */
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq);
	assert_int_equal(drop_n(e, "tcp_out_of_window"), 1);
	assert_int_equal(zc_tcp_recv(c, s.data, 10), -EAGAIN);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* --- data, ACK policy, reassembly --------------------------------------------- */

static void test_delayed_ack_and_every_second_segment(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	char d[1000];
	memset(d, 'a', sizeof(d));
	tx(e, F_A, e->pseq, iss + 1, d, 1000);
	e->pseq += 1000;
	expect_nothing(e); /* one segment: the ACK waits */
	run(e, 39 * MS);
	expect_nothing(e);
	run(e, 2 * MS);
	expect(e, &s, F_A); /* at most 40 ms later */
	assert_int_equal(s.th.ack, e->pseq);
	tx(e, F_A, e->pseq, iss + 1, d, 1000);
	e->pseq += 1000;
	expect_nothing(e);
	tx(e, F_A, e->pseq, iss + 1, d, 1000);
	e->pseq += 1000;
	expect(e, &s, F_A); /* the second segment: at once */
	assert_int_equal(s.th.ack, e->pseq);
	char buf[4000];
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 3000);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_out_of_order_reassembly(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	char d[300];
	for (int i = 0; i < 300; i++)
		d[i] = (char)i;
	uint32_t base = e->pseq;
	tx(e, F_A, base + 200, iss + 1, d + 200, 100); /* third */
	expect(e, &s, F_A);                            /* a duplicate ACK at once */
	assert_int_equal(s.th.ack, base);
	tx(e, F_A, base + 100, iss + 1, d + 100, 100); /* second */
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, base);
	tx(e, F_A, base + 50, iss + 1, d + 50, 100); /* overlaps the first and second */
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, base);
	char buf[400];
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), -EAGAIN);
	tx(e, F_A, base, iss + 1, d, 100); /* fills the hole: ACK everything at once */
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, base + 300);
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 300);
	assert_memory_equal(buf, d, 300);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_sequence_wraparound(void **state)
{
	struct env *e = *state;
	e->pseq = 0xffffff00u; /* the peer's ISN just below 2^32 */
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	char d[1024], buf[2048];
	for (int i = 0; i < 1024; i++)
		d[i] = (char)(i * 7);
	tx(e, F_A, e->pseq, iss + 1, d, 512); /* crosses 2^32 */
	tx(e, F_A, e->pseq + 512, iss + 1, d + 512, 512);
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, (uint32_t)(0xffffff01u + 1024));
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 1024);
	assert_memory_equal(buf, d, 1024);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_paws_drops_old_timestamp(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	e->ptsval = 1000;
	tx(e, F_A, e->pseq, iss + 1, "new", 3);
	e->pseq += 3;
	run(e, 50 * MS);
	expect(e, &s, F_A);
	e->ptsval = 900; /* older than TS.Recent */
	tx(e, F_A, e->pseq, iss + 1, "old", 3);
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq); /* not taken */
	assert_int_equal(drop_n(e, "tcp_paws"), 1);
	/* a timestamp that wrapped past 2^31 ahead counts as old too */
	e->ptsval = 1000 + 0x80000001u;
	tx(e, F_A, e->pseq, iss + 1, "old", 3);
	expect(e, &s, F_A);
	assert_int_equal(drop_n(e, "tcp_paws"), 2);
	char buf[8];
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 3);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* --- sending: windows, Nagle, retransmission -------------------------------- */

static void test_window_scale_limits_sending(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss); /* the peer's wscale is 2 */
	struct seg s;
	zc_tcp_setopt(c, ZC_TCP_OPT_NODELAY, 1);
	/* window 724 << 2 = 2896 bytes: two full segments (a partial third
	 * would be silly-window sending, RFC 1122 4.2.3.4) */
	tx_opts(e, F_A, e->pseq, iss + 1, 724, NULL, 0, NULL);
	static char d[8000];
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	uint32_t sent = 0;
	while (rx(e, &s))
		sent += s.len;
	assert_int_equal(sent, 2896);
	struct zc_tcp_info ti;
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_snd_wnd, 2896);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_zero_window_probe(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	tx_opts(e, F_A, e->pseq, iss + 1, 0, NULL, 0, NULL); /* zero window */
	assert_int_equal(zc_tcp_send(c, "hello", 5), 5);
	expect_nothing(e);
	/* the persist timer sends a one-byte probe, backing off */
	uint64_t start = e->now;
	while (!rx(e, &s)) {
		run(e, MS);
		assert_true(e->now - start < 5000 * MS);
	}
	assert_int_equal(s.len, 1);
	assert_int_equal(s.data[0], 'h');
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.zero_window_probes, 1);
	/* the window opens: the rest goes */
	tx_opts(e, F_A, e->pseq, iss + 2, 1000, NULL, 0, NULL);
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.len, 4);
	assert_memory_equal(s.data, "ello", 4);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_nagle_and_cork(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	zc_tcp_send(c, "a", 1);
	expect(e, &s, F_A | F_P); /* nothing in flight: it goes */
	zc_tcp_send(c, "b", 1);
	expect_nothing(e); /* Nagle: waits for the ACK */
	tx(e, F_A, e->pseq, iss + 2, NULL, 0);
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.data[0], 'b');
	tx(e, F_A, e->pseq, iss + 3, NULL, 0);
	zc_tcp_setopt(c, ZC_TCP_OPT_NODELAY, 1);
	zc_tcp_send(c, "c", 1);
	zc_tcp_send(c, "d", 1);
	expect(e, &s, F_A | F_P);
	expect(e, &s, F_A | F_P); /* NODELAY: both at once */
	tx(e, F_A, e->pseq, iss + 5, NULL, 0);
	zc_tcp_setopt(c, ZC_TCP_OPT_CORK, 1);
	zc_tcp_send(c, "e", 1);
	zc_tcp_send(c, "f", 1);
	expect_nothing(e); /* corked */
	zc_tcp_setopt(c, ZC_TCP_OPT_CORK, 0);
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.len, 2);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_rto_backoff_then_timeout(void **state)
{
	struct env *e = *state;
	struct zc_tcp_config tc = { .retries = 4 };
	zc_tcp_configure(e->st, &tc);
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	zc_tcp_send(c, "data", 4);
	expect(e, &s, F_A | F_P);
	struct zc_tcp_info ti;
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_rto, 200000); /* us: the minimum, the RTT here is ~0 */
	uint64_t t_prev = e->now;
	uint64_t want[] = { 200, 400, 800, 1600 }; /* doubling (RFC 6298 5.5) */
	for (int i = 0; i < 4; i++) {
		while (!rx(e, &s))
			run(e, MS);
		assert_int_equal(s.th.seq, iss + 1); /* the same data again */
		assert_int_equal(s.len, 4);
		assert_int_equal((e->now - t_prev) / MS, want[i]);
		t_prev = e->now;
	}
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_total_retrans, 4);
	assert_int_equal(ti.tcpi_snd_cwnd, 1); /* the loss window */
	/* the fifth expiry gives up: RST, ETIMEDOUT */
	while (!rx(e, &s))
		run(e, MS);
	assert_int_equal(s.th.flags & F_R, F_R);
	assert_int_equal((e->now - t_prev) / MS, 3200);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_CLOSED);
	assert_int_equal(zc_tcp_send(c, "x", 1), -ETIMEDOUT);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* RFC 5681 3.2 and RFC 6582: three duplicate ACKs retransmit the first
 * unacknowledged segment at once; ssthresh = FlightSize / 2; a partial ACK
 * retransmits the next hole; a full ACK ends recovery with cwnd <= ssthresh. */
static void test_fast_retransmit_and_recovery(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	zc_tcp_setopt(c, ZC_TCP_OPT_NODELAY, 1);
	static char d[8 * 1448];
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (char)i;
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	uint32_t mss = 0, nseg = 0;
	while (rx(e, &s)) {
		mss = mss ? mss : s.len;
		nseg++;
	}
	assert_int_equal(mss, 1448); /* the peer's 1460 less the timestamps */
	assert_int_equal(nseg, 8);
	uint32_t una = iss + 1;
	/* segment 1 arrived, segment 2 was lost: the ACKs stop at segment 2 */
	tx(e, F_A, e->pseq, una + mss, NULL, 0);
	expect_nothing(e);
	for (int i = 0; i < 2; i++) {
		tx(e, F_A, e->pseq, una + mss, NULL, 0);
		expect_nothing(e); /* limited transmit has no new data to send */
	}
	tx(e, F_A, e->pseq, una + mss, NULL, 0); /* the third duplicate */
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.th.seq, una + mss);
	assert_int_equal(s.len, mss);
	assert_memory_equal(s.data, d + mss, mss);
	struct zc_tcp_info ti;
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_ca_state, 3); /* recovery */
	assert_int_equal(ti.tcpi_snd_ssthresh, 7 * mss / 2 / mss);
	/* a partial ACK (segment 4 also lost): retransmit it at once */
	tx(e, F_A, e->pseq, una + 3 * mss, NULL, 0);
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.th.seq, una + 3 * mss);
	/* the full ACK: recovery ends */
	tx(e, F_A, e->pseq, una + 8 * mss, NULL, 0);
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_ca_state, 0);
	assert_true(ti.tcpi_snd_cwnd <= ti.tcpi_snd_ssthresh);
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.fast_retransmits, 1);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* --- closing ------------------------------------------------------------------ */

static void test_passive_close(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	tx(e, F_A | F_F, e->pseq, iss + 1, "bye", 3);
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq + 4); /* data and FIN */
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_CLOSE_WAIT);
	char buf[8];
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 3);
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 0); /* end of stream */
	assert_true(zc_tcp_events(c) & POLLRDHUP);
	zc_tcp_close(c);
	expect(e, &s, F_A | F_F);
	assert_int_equal(s.th.seq, iss + 1);
	assert_int_equal(zc_tcp_count(e->st), 2); /* LAST_ACK, and the listener */
	tx(e, F_A, e->pseq + 4, iss + 2, NULL, 0);
	assert_int_equal(zc_tcp_count(e->st), 1); /* gone at the last ACK */
	zc_tcp_close(l);
	assert_int_equal(zc_tcp_count(e->st), 0);
}

static void test_active_close_time_wait(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	zc_tcp_shutdown(c, 1);
	expect(e, &s, F_A | F_F);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_FIN_WAIT_1);
	assert_int_equal(zc_tcp_send(c, "x", 1), -EPIPE);
	tx(e, F_A, e->pseq, iss + 2, NULL, 0);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_FIN_WAIT_2);
	tx(e, F_A, e->pseq, iss + 2, "late", 4); /* the peer still sends */
	tx(e, F_A | F_F, e->pseq + 4, iss + 2, NULL, 0);
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq + 5);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_TIME_WAIT);
	char buf[8];
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 4);
	zc_tcp_close(c);
	/* a retransmitted FIN in TIME_WAIT is ACKed again */
	tx(e, F_A | F_F, e->pseq + 4, iss + 2, NULL, 0);
	expect(e, &s, F_A);
	assert_int_equal(zc_tcp_count(e->st), 2);
	run(e, 1999 * MS); /* 2*MSL = 2 s here */
	assert_int_equal(zc_tcp_count(e->st), 2);
	run(e, 2 * MS);
	assert_int_equal(zc_tcp_count(e->st), 1);
	zc_tcp_close(l);
}

static void test_simultaneous_close(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	zc_tcp_shutdown(c, 1);
	expect(e, &s, F_A | F_F);
	tx(e, F_A | F_F, e->pseq, iss + 1, NULL, 0); /* the FINs cross */
	expect(e, &s, F_A);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_CLOSING);
	tx(e, F_A, e->pseq + 1, iss + 2, NULL, 0);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_TIME_WAIT);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

static void test_close_with_unread_data_resets(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	tx(e, F_A, e->pseq, iss + 1, "unread", 6);
	zc_tcp_close(c);
	while (rx(e, &s) && !(s.th.flags & F_R))
		;
	assert_int_equal(s.th.flags & F_R, F_R);
	assert_int_equal(zc_tcp_count(e->st), 1);
	zc_tcp_close(l);
}

/* --- listeners ----------------------------------------------------------------- */

static void test_syn_flood_is_bounded(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l = zc_tcp_socket(e->st);
	zc_tcp_bind(l, 0, 5000);
	zc_tcp_listen(l, 4);
	for (int i = 0; i < 100; i++) {
		e->pport = (uint16_t)(20000 + i);
		tx(e, F_S, 1000, 0, NULL, 0);
	}
	assert_int_equal(zc_tcp_count(e->st), 1 + 8); /* the SYN queue holds 2 * backlog */
	assert_int_equal(drop_n(e, "tcp_syn_queue_full"), 92);
	/* and the embryos go away after their SYN-ACK retries */
	run(e, 200000 * MS);
	assert_int_equal(zc_tcp_count(e->st), 1);
	zc_tcp_close(l);
}

static void test_closed_port_answers_rst(void **state)
{
	struct env *e = *state;
	struct seg s;
	tx(e, F_S, 1000, 0, NULL, 0);
	expect(e, &s, F_R | F_A);
	assert_int_equal(s.th.seq, 0);
	assert_int_equal(s.th.ack, 1001);
	tx(e, F_A, 1000, 777, "x", 1);
	expect(e, &s, F_R);
	assert_int_equal(s.th.seq, 777);
	tx(e, F_R, 1000, 0, NULL, 0); /* never a RST for a RST */
	expect_nothing(e);
	assert_int_equal(drop_n(e, "tcp_no_socket"), 3);
}

static void test_keepalive(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	assert_int_equal(zc_tcp_setopt(c, ZC_TCP_OPT_KEEPIDLE, 10), 0);
	assert_int_equal(zc_tcp_setopt(c, ZC_TCP_OPT_KEEPINTVL, 2), 0);
	assert_int_equal(zc_tcp_setopt(c, ZC_TCP_OPT_KEEPCNT, 3), 0);
	assert_int_equal(zc_tcp_setopt(c, ZC_TCP_OPT_KEEPIDLE, 0), -EINVAL);
	zc_tcp_setopt(c, ZC_TCP_OPT_KEEPALIVE, 1);
	run(e, 9990 * MS);
	expect_nothing(e);
	run(e, 20 * MS);
	expect(e, &s, F_A);
	assert_int_equal(s.th.seq, iss); /* SND.NXT - 1 */
	tx(e, F_A, e->pseq, iss + 1, NULL, 0); /* answered: idle again */
	run(e, 9990 * MS);
	expect_nothing(e);
	/* unanswered: 3 probes 2 s apart, then ETIMEDOUT */
	for (int i = 0; i < 3; i++) {
		while (!rx(e, &s))
			run(e, MS);
		assert_int_equal(s.th.flags, F_A);
	}
	while (!rx(e, &s))
		run(e, MS);
	assert_int_equal(s.th.flags & F_R, F_R);
	assert_int_equal(zc_tcp_error(c), ETIMEDOUT);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

int main(void)
{
	zc_log_set_level(ZC_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_passive_open_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_open_and_syn_ack_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isn_per_tuple_and_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simultaneous_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused_by_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_retries_then_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_range_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unacceptable_segment_gets_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delayed_ack_and_every_second_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_reassembly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paws_drops_old_timestamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_scale_limits_sending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_window_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nagle_and_cork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rto_backoff_then_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_retransmit_and_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passive_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_close_time_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simultaneous_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_with_unread_data_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_flood_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_port_answers_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

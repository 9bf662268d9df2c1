/*
 * test_tcp_cookie.c - SYN cookies (stack/tcp_syncookie.c) and a SYN flood,
 * against a scripted peer on a Trapeze wire (tcp_fixture.h): a SYN past a
 * full SYN queue gets a SYN-ACK and no state; its ACK makes a connection
 * with the MSS, window scale and SACK the SYN asked for; a forged, old or
 * unsolicited cookie is refused with a RST; 100 000 SYNs keep the stack
 * within a bounded number of TCBs and pool buffers while an established
 * transfer goes on byte-exact and a legitimate client connects through a
 * cookie.
 */
#include "tcp_fixture.h"

#include "sha256.h"

#include <sys/resource.h>

/* A SYN from the peer's port `port` with ISN seq, asking for MSS 1460,
 * window scale 7, SACK and timestamps. */
static void syn_from(struct env *e, uint16_t port, uint32_t seq)
{
	uint16_t keep = e->pport;
	e->pport = port;
	struct zc_tcp_opts o = { .has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 7, .sack_ok = true,
				 .has_ts = true, .tsval = e->ptsval };
	tx_opts(e, F_S, seq, 0, 65535, NULL, 0, &o);
	e->pport = keep;
}

/* Everything the stack sent, taken off the wire; the last SYN-ACK in *sa
 * (when sa is not NULL) and how many there were. */
static uint32_t drain(struct env *e, struct seg *sa)
{
	struct seg s;
	uint32_t n = 0;
	while (rx(e, &s))
		if (s.th.flags == (F_S | F_A)) {
			n++;
			if (sa)
				*sa = s;
		}
	return n;
}

/* A listener on 5000 with backlog 1 (a SYN queue of 2), the queue filled. */
static struct zc_tcp_sock *full_listener(struct env *e)
{
	struct zc_tcp_sock *l = zc_tcp_socket(e->st);
	assert_int_equal(zc_tcp_bind(l, 0, 5000), 0);
	assert_int_equal(zc_tcp_listen(l, 1), 0);
	syn_from(e, 20000, 5000);
	syn_from(e, 20001, 6000);
	assert_int_equal(drain(e, NULL), 2);
	assert_int_equal(zc_tcp_count(e->st), 3);
	return l;
}

/* The peer's ACK from port `port` of SYN-ACK sa, for a SYN of ISN seq. */
static void ack_from(struct env *e, uint16_t port, uint32_t seq, const struct seg *sa, uint32_t ack_delta)
{
	uint16_t keep = e->pport;
	e->pport = port;
	struct zc_tcp_opts o = { .has_ts = true, .tsval = e->ptsval, .tsecr = sa->th.opt.tsval };
	tx_opts(e, F_A, seq + 1, sa->th.seq + 1 + ack_delta, 65535 >> 7, NULL, 0, &o);
	e->pport = keep;
}

/* A RST among what the stack sent (the embryos' SYN-ACKs may come again). */
static void expect_rst(struct env *e)
{
	struct seg s;
	while (rx(e, &s))
		if (s.th.flags & F_R)
			return;
	fail_msg("no RST");
}

static void test_cookie_makes_the_connection(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l = full_listener(e);
	syn_from(e, 30000, 7000);
	struct seg sa = { 0 };
	assert_int_equal(drain(e, &sa), 1);
	assert_int_equal(zc_tcp_count(e->st), 3); /* nothing kept */
	assert_int_equal(tcp_stats(e).syncookies_sent, 1);
	assert_int_equal(why_n(e, ZC_TCP_TX_SYN_COOKIE), 1);
	assert_int_equal(sa.th.ack, 7001);
	assert_true(sa.th.opt.has_mss && sa.th.opt.has_wscale && sa.th.opt.sack_ok && sa.th.opt.has_ts);
	assert_int_equal(sa.th.opt.tsecr, e->ptsval);
	ack_from(e, 30000, 7000, &sa, 0);
	assert_int_equal(tcp_stats(e).syncookies_recv, 1);
	int err;
	struct zc_tcp_sock *c = zc_tcp_accept(l, &err);
	assert_non_null(c);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_ESTABLISHED);
	struct zc_tcp_info ti;
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_snd_wscale, 7);
	assert_int_equal(ti.tcpi_rcv_wscale, sa.th.opt.wscale);
	assert_true(ti.tcpi_options & 2 /* TCPI_OPT_SACK */);
	assert_true(ti.tcpi_options & 1 /* TCPI_OPT_TIMESTAMPS */);
	assert_int_equal(ti.tcpi_snd_mss, 1460 - 12);
	/* data both ways; the stack's timestamps go on from the SYN-ACK's */
	e->pport = 30000;
	tx(e, F_A | F_P, 7001, sa.th.seq + 1, "hello", 5);
	char got[8];
	assert_int_equal(zc_tcp_recv(c, got, sizeof(got)), 5);
	assert_memory_equal(got, "hello", 5);
	assert_int_equal(zc_tcp_send(c, "world", 5), 5);
	struct seg s;
	bool seen = false;
	while (rx(e, &s))
		if (s.len == 5) {
			assert_memory_equal(s.data, "world", 5);
			assert_int_equal(s.th.seq, sa.th.seq + 1);
			assert_true((int32_t)(s.th.opt.tsval - sa.th.opt.tsval) > 0);
			seen = true;
		}
	assert_true(seen);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* A cookie is refused with a RST (and counted) when it is forged, older
 * than its 2-tick life, or came while no cookie was out. */
static void test_cookie_refused(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l = full_listener(e);
	syn_from(e, 30000, 7000);
	struct seg sa = { 0 };
	assert_int_equal(drain(e, &sa), 1);
	ack_from(e, 30000, 7000, &sa, 1); /* one off */
	expect_rst(e);
	assert_int_equal(tcp_stats(e).syncookies_failed, 1);
	ack_from(e, 30000, 7001, &sa, 0); /* another ISN than the SYN's */
	expect_rst(e);
	assert_int_equal(tcp_stats(e).syncookies_failed, 2);
	e->now += 3 * 64000 * MS; /* past the cookie's life */
	ack_from(e, 30000, 7000, &sa, 0);
	expect_rst(e);
	assert_int_equal(tcp_stats(e).syncookies_failed, 3);
	e->now += 64000 * MS; /* no cookie out for as long: a plain RST, not a check */
	ack_from(e, 30000, 7000, &sa, 0);
	expect_rst(e);
	assert_int_equal(tcp_stats(e).syncookies_failed, 3);
	assert_int_equal(tcp_stats(e).syncookies_recv, 0);
	assert_true(zc_tcp_count(e->st) <= 3); /* no connection from a refused cookie */
	int err;
	assert_null(zc_tcp_accept(l, &err));
	zc_tcp_close(l);
}

/* Cookies off (Linux's tcp_syncookies = 0): past the queue, SYNs are dropped. */
static void test_cookies_off(void **state)
{
	struct env *e = *state;
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .syncookies = ZC_TCP_SYNCOOKIES_OFF }),
			 0);
	struct zc_tcp_sock *l = full_listener(e);
	syn_from(e, 30000, 7000);
	assert_int_equal(drain(e, NULL), 0);
	assert_int_equal(drop_n(e, "tcp_syn_queue_full"), 1);
	assert_int_equal(tcp_stats(e).syncookies_sent, 0);
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .syncookies = 3 }), -EINVAL);
	zc_tcp_close(l);
}

#define FLOOD 100000u
#define CHUNK 1000u /* bytes each way between bursts of SYNs */

/* 100 000 SYNs from 30 000 ports and random ISNs, with an established connection
 * carrying data both ways between every 100 of them, and a legitimate
 * client in the middle that gets through by a cookie. Bounded: TCBs stay
 * the listener, the connection, the SYN queue and the client; the pool's
 * frames in use stay within a few bursts'. */
static void test_syn_flood(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss); /* backlog 8: a SYN queue of 16 */
	uint32_t snd = iss + 1; /* the stack's next byte, as the peer sees it */
	struct sha256 hin, hout, gin, gout;
	sha256_init(&hin);
	sha256_init(&hout);
	sha256_init(&gin);
	sha256_init(&gout);
	static uint8_t buf[CHUNK], got[CHUNK];
	uint64_t rng = 12345, sent = 0, recvd = 0;
	unsigned peak_tcbs = 0, peak_frames = 0;
	struct zc_tcp_sock *legit = NULL;
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	for (uint32_t i = 0; i < FLOOD; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		syn_from(e, (uint16_t)(1024 + i % 30000), (uint32_t)(rng >> 16)); /* below 33333 and 40000 */
		drain(e, NULL);
		if (zc_tcp_count(e->st) > peak_tcbs)
			peak_tcbs = zc_tcp_count(e->st);
		unsigned fr = (unsigned)zc_pool_outstanding(e->ns->pool) - (unsigned)zc_trapeze_posted(e->ns);
		if (fr > peak_frames)
			peak_frames = fr;
		if (i == FLOOD / 2) { /* the legitimate client, through a cookie */
			syn_from(e, 33333, 424242);
			struct seg sa = { 0 };
			assert_int_equal(drain(e, &sa), 1);
			ack_from(e, 33333, 424242, &sa, 0);
			int err;
			legit = zc_tcp_accept(l, &err);
			assert_non_null(legit);
			e->pport = 33333;
			tx(e, F_A | F_P, 424243, sa.th.seq + 1, "legit", 5);
			e->pport = 40000;
			char lg[8];
			assert_int_equal(zc_tcp_recv(legit, lg, sizeof(lg)), 5);
			assert_memory_equal(lg, "legit", 5);
		}
		if (i % 100 != 99)
			continue;
		/* the transfer: CHUNK bytes each way, acknowledged */
		for (uint32_t k = 0; k < CHUNK; k++)
			buf[k] = (uint8_t)(rng >> (k % 48));
		sha256_update(&hin, buf, CHUNK);
		tx(e, F_A | F_P, e->pseq, snd, buf, CHUNK);
		e->pseq += CHUNK;
		ssize_t n;
		while ((n = zc_tcp_recv(c, got, sizeof(got))) > 0) {
			sha256_update(&gin, got, (size_t)n);
			recvd += (uint64_t)n;
		}
		sha256_update(&hout, buf, CHUNK);
		assert_int_equal(zc_tcp_send(c, buf, CHUNK), CHUNK);
		sent += CHUNK;
		struct seg s;
		while (rx(e, &s)) {
			if (s.th.dport != 40000 || s.len == 0)
				continue;
			assert_int_equal(s.th.seq, snd); /* nothing lost on a clean wire */
			sha256_update(&gout, s.data, s.len);
			snd += s.len;
			tx(e, F_A, e->pseq, snd, NULL, 0);
		}
		e->now += MS; /* 1 s of virtual time in all */
		zc_stack_poll(e->st, e->now);
	}
	char a[65], b[65];
	sha256_hex(&hin, a);
	sha256_hex(&gin, b);
	assert_int_equal(recvd, (uint64_t)(FLOOD / 100) * CHUNK);
	assert_string_equal(a, b);
	sha256_hex(&hout, a);
	sha256_hex(&gout, b);
	assert_int_equal(snd - (iss + 1), sent);
	assert_string_equal(a, b);
	/* all but the SYN queue's 16, and the SYNs that came again to those 16 ports */
	assert_true(tcp_stats(e).syncookies_sent >= FLOOD - 16 - 16 * (FLOOD / 30000));
	assert_int_equal(tcp_stats(e).syncookies_recv, 1);
	/* the listener, the connection, 16 embryos, the client */
	assert_true(peak_tcbs <= 1 + 1 + 16 + 1);
	assert_true(tcp_stats(e).conns_peak <= 1 + 1 + 16 + 1);
	assert_true(peak_frames <= 64);
	getrusage(RUSAGE_SELF, &ru1);
	long grew = ru1.ru_maxrss - ru0.ru_maxrss; /* KiB */
	assert_true(grew < 8192);
	print_message("syn flood: %u SYNs, %llu cookies, peak %u TCBs, peak %u pool buffers held between polls, "
		      "peak RSS grew %ld KiB\n",
		      FLOOD, (unsigned long long)tcp_stats(e).syncookies_sent, peak_tcbs, peak_frames, grew);
	zc_tcp_close(legit);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cookie_makes_the_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookies_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_flood, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

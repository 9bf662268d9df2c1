/* test_tcp_conn.c - TCP connections as the RFCs state them: handshakes and
 * simultaneous open, ISNs, the RST and SYN rules of RFC 5961 and ACK
 * ranges, passive, active and simultaneous close, TIME_WAIT, resets,
 * listeners (SYN flood bound, RST for closed ports), keepalive, and the
 * state changes counted. The test plays the peer (tcp_fixture.h). */
#include "tcp_fixture.h"

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

/* RFC 5961 7, as Linux's tcp_challenge_ack_limit: at most a budget of
 * challenge ACKs a second, drawn from [limit/2, limit*3/2); the rest are
 * counted and not sent; the next second has a new budget. */
static void test_challenge_ack_limit(void **state)
{
	struct env *e = *state;
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .challenge_ack_limit = 100 }), 0);
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	uint32_t sent = 0;
	for (int i = 0; i < 400; i++) {
		tx(e, F_R, e->pseq + 100, 0, NULL, 0); /* in window, not RCV.NXT */
		while (rx(e, &s))
			sent++;
	}
	assert_true(sent >= 50 && sent < 150);
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.challenge_acks, sent);
	assert_int_equal(ts.challenge_acks_limited, 400 - sent);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_ESTABLISHED);
	run(e, 1000 * MS); /* a new second, a new budget */
	tx(e, F_R, e->pseq + 100, 0, NULL, 0);
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq);
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
	/* without SYN cookies (test_tcp_cookie.c has the flood with them) */
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .syncookies = ZC_TCP_SYNCOOKIES_OFF }), 0);
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

/* --- state changes ------------------------------------------------------------ */

/* Every change of state goes through one place that counts it (and logs it
 * at debug level): a passive open and close, then a refused connect. */
static void test_state_changes_counted(void **state)
{
	struct env *e = *state;
	struct zc_tcp_path_stats p0, p1;
	zc_tcp_get_path_stats(e->st, &p0);
	zc_log_set_level(ZC_LOG_DEBUG); /* each change logs a line to stderr */
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss); /* LISTEN; the child SYN_RECEIVED, ESTABLISHED */
	struct seg s;
	tx(e, F_A | F_F, e->pseq, iss + 1, NULL, 0); /* CLOSE_WAIT */
	expect(e, &s, F_A);
	zc_tcp_close(c); /* LAST_ACK */
	expect(e, &s, F_A | F_F);
	tx(e, F_A, e->pseq + 1, iss + 2, NULL, 0); /* CLOSED, and freed */
	assert_int_equal(zc_tcp_count(e->st), 1);
	zc_tcp_close(l); /* CLOSED */
	struct zc_tcp_sock *a = zc_tcp_socket(e->st);
	assert_int_equal(zc_tcp_connect(a, IP_P, e->pport), -EINPROGRESS); /* SYN_SENT */
	expect(e, &s, F_S);
	e->sport = s.th.sport;
	tx(e, F_R | F_A, 0, s.th.seq + 1, NULL, 0); /* refused: CLOSED */
	assert_int_equal(zc_tcp_get_state(a), ZC_TCP_CLOSED);
	zc_tcp_close(a); /* CLOSED already: no change */
	zc_log_set_level(ZC_LOG_ERROR);
	zc_tcp_get_path_stats(e->st, &p1);
	const uint64_t want[ZC_TCP_NSTATES] = {
		[ZC_TCP_CLOSED] = 3,      [ZC_TCP_LISTEN] = 1,     [ZC_TCP_SYN_SENT] = 1,
		[ZC_TCP_SYN_RECEIVED] = 1, [ZC_TCP_ESTABLISHED] = 1, [ZC_TCP_CLOSE_WAIT] = 1,
		[ZC_TCP_LAST_ACK] = 1,
	};
	for (int i = 0; i < ZC_TCP_NSTATES; i++)
		if (p1.entered[i] - p0.entered[i] != want[i])
			fail_msg("%s entered %llu times, expected %llu", zc_tcp_state_name((enum zc_tcp_state)i),
				 (unsigned long long)(p1.entered[i] - p0.entered[i]), (unsigned long long)want[i]);
	/* the header accessor the stack reads the data offset with: needs byte 12 */
	uint8_t h[ZC_TCP_MAXHLEN] = { 0 };
	struct zc_tcp th = { .sport = 1, .dport = 2, .opt = { .has_mss = true, .mss = 1460 } };
	size_t hl = zc_tcp_build(h, &th);
	assert_int_equal(zc_tcp_peek_hdr_len(h, hl), 24);
	assert_int_equal(zc_tcp_peek_hdr_len(h, 13), 24);
	assert_int_equal(zc_tcp_peek_hdr_len(h, 12), 0);
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
		cmocka_unit_test_setup_teardown(test_challenge_ack_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_range_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unacceptable_segment_gets_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passive_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_close_time_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simultaneous_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_with_unread_data_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_flood_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closed_port_answers_rst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_changes_counted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_tcp_data.c - TCP data as the RFCs state it: the ACK policy (delayed
 * ACK, every second segment), reassembly, wrap-around, PAWS; sending under
 * window scale, zero-window probes, Nagle and cork, RTO backoff, fast
 * retransmit and recovery; and why each segment went out (the output
 * reasons). The test plays the peer (tcp_fixture.h). */
#include "tcp_fixture.h"
#include "stack/tcp_priv.h"

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
	/* "full-sized" is the largest the peer sent (1000 here), as Linux
	 * measures it: two small segments (a response's header and body)
	 * do not call for an ACK at once; the delayed ACK covers both */
	tx(e, F_A, e->pseq, iss + 1, d, 100);
	e->pseq += 100;
	tx(e, F_A, e->pseq, iss + 1, d, 200);
	e->pseq += 200;
	expect_nothing(e);
	run(e, 41 * MS);
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq);
	char buf[4000];
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 3300);
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

/* A FIN in order below queued out-of-order data (fuzz_tcp's finding,
 * tests/fuzz/corpus/tcp/found-ooo-above-fin): the stream ends at the FIN,
 * so the data above it is dropped, counted, and never read. Before the fix
 * it stayed queued at RCV.NXT for a drain that never came. */
static void test_fin_below_out_of_order_data(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	char d[400];
	memset(d, 'x', sizeof(d));
	uint32_t base = e->pseq;
	uint64_t after0 = drop_n(e, "tcp_data_after_fin");
	tx(e, F_A, base + 1, iss + 1, d, sizeof(d)); /* out of order, above the hole */
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, base);
	assert_int_equal(c->ooo_n, 1);
	tx(e, F_A | F_F, base, iss + 1, NULL, 0); /* the stream ends before it */
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, base + 1);
	assert_int_equal(zc_tcp_get_state(c), ZC_TCP_CLOSE_WAIT);
	assert_int_equal(c->ooo_n, 0);
	assert_int_equal(c->ooo_bytes, 0);
	assert_int_equal(drop_n(e, "tcp_data_after_fin") - after0, 1);
	char buf[500];
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 0); /* end of stream, nothing else */
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

/* RFC 9293 3.10.7.4: into a closed receive window no text is taken, but
 * the segment's ACK is; the reply says the window is still closed. */
static void test_zero_window_refuses_data(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .rcvbuf = 8192 }), 0);
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	zc_tcp_setopt(c, ZC_TCP_OPT_NODELAY, 1);
	assert_int_equal(zc_tcp_send(c, "ours", 4), 4); /* left unacknowledged */
	expect(e, &s, F_A | F_P);
	static char d[1000];
	memset(d, 'x', sizeof(d));
	uint32_t sent = 0;
	bool closed = false;
	for (int i = 0; i < 64 && !closed; i++) { /* fill the window, never reading */
		tx(e, F_A, e->pseq + sent, iss + 1, d, sizeof(d));
		run(e, 50 * MS); /* the delayed ACK */
		while (rx(e, &s)) {
			closed = s.th.win == 0;
			sent = s.th.ack - e->pseq; /* RCV.NXT, as the stack says it */
		}
	}
	assert_true(closed);
	assert_true(sent >= 2000);
	struct zc_tcp_info ti;
	/* one byte at RCV.NXT into the closed window, acknowledging our 4 */
	tx(e, F_A | F_P, e->pseq + sent, iss + 1 + 4, "y", 1);
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq + sent); /* the byte was not taken */
	assert_int_equal(s.th.win, 0);
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_unacked, 0); /* its ACK was */
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.zero_window_drops, 1);
	/* what the application reads is exactly what the window held */
	static char r[65536];
	ssize_t n, all = 0;
	while ((n = zc_tcp_recv(c, r, sizeof(r))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			assert_int_equal(r[i], 'x');
		all += n;
	}
	assert_int_equal(all, (ssize_t)sent);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* A reordering flood: segments past a hole, each pinning a frame. The
 * out-of-order queue stops at 4 x the receive buffer in what it pins
 * (here the 256 KiB floor: 64 frames), the rest are counted drops, and
 * when the hole fills what was kept is delivered in order. */
static void test_ooo_memory_bound(void **state)
{
	struct env *e = *state;
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .rcvbuf = 65536 }), 0);
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct seg s;
	static char d[500];
	uint64_t full0 = drop_n(e, "tcp_ooo_queue_full");
	/* 120 segments of 500 bytes after a hole of 500: within the 64 KiB window */
	for (int i = 1; i <= 120; i++) {
		memset(d, 'a' + i % 26, sizeof(d));
		tx(e, F_A, e->pseq + (uint32_t)i * 500, iss + 1, d, sizeof(d));
		while (rx(e, &s))
			;
	}
	uint64_t dropped = drop_n(e, "tcp_ooo_queue_full") - full0;
	assert_true(dropped >= 120 - 64 && dropped < 120); /* about a frame and an mbuf each */
	uint32_t kept = 120 - (uint32_t)dropped;
	/* the hole: everything kept (the first `kept` after it) becomes in order */
	memset(d, 'a', sizeof(d));
	tx(e, F_A, e->pseq, iss + 1, d, sizeof(d));
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, e->pseq + (1 + kept) * 500);
	static char r[65536];
	ssize_t n = zc_tcp_recv(c, r, sizeof(r));
	assert_int_equal(n, (ssize_t)(1 + kept) * 500);
	for (uint32_t i = 0; i <= kept; i++)
		assert_int_equal(r[i * 500], i == 0 ? 'a' : 'a' + (int)(i % 26));
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
	assert_string_equal(zc_tcp_get_cc(c), "cubic"); /* the default, as on Linux */
	assert_int_equal(zc_tcp_set_cc(c, "reno"), 0); /* this test is NewReno's (CUBIC: test_tcp_cc) */
	assert_string_equal(zc_tcp_get_cc(c), "newreno");
	assert_int_equal(zc_tcp_set_cc(c, "vegas"), -ENOENT);
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

/* --- why segments went out ------------------------------------------------------ */

#define R(x) [ZC_TCP_TX_##x]
#define WHY(...) ((const uint64_t[ZC_TCP_TX__COUNT]){ __VA_ARGS__ })

/* Since the snapshot *p: the send reasons rose exactly as in want (0 where
 * not named), and each hold reason named in want rose; then *p is now. */
static void why_since(struct env *e, struct zc_tcp_path_stats *p, const uint64_t want[ZC_TCP_TX__COUNT])
{
	struct zc_tcp_path_stats n;
	zc_tcp_get_path_stats(e->st, &n);
	for (int r = 0; r < ZC_TCP_TX__COUNT; r++) {
		uint64_t d = n.tx[r] - p->tx[r];
		const char *name = zc_tcp_tx_reason_name((enum zc_tcp_tx_reason)r);
		if (ZC_TCP_TX_IS_SEND(r) && d != want[r])
			fail_msg("%s: %llu segments, expected %llu", name, (unsigned long long)d,
				 (unsigned long long)want[r]);
		if (!ZC_TCP_TX_IS_SEND(r) && want[r] && d == 0)
			fail_msg("%s: never held", name);
	}
	*p = n;
}

/* A passive open where the peer offers `win` bytes and no window scale. */
static struct zc_tcp_sock *open_passive_win(struct env *e, struct zc_tcp_sock **lsock, uint32_t *iss,
					    uint16_t win)
{
	struct zc_tcp_sock *l = zc_tcp_socket(e->st);
	assert_int_equal(zc_tcp_bind(l, 0, 5000), 0);
	assert_int_equal(zc_tcp_listen(l, 8), 0);
	struct zc_tcp_opts o = { .has_mss = true, .mss = 1460, .has_ts = true, .tsval = e->ptsval };
	tx_opts(e, F_S, e->pseq, 0, win, NULL, 0, &o);
	struct seg s;
	expect(e, &s, F_S | F_A);
	e->pseq++;
	*iss = s.th.seq;
	tx_opts(e, F_A, e->pseq, s.th.seq + 1, win, NULL, 0, NULL);
	int err;
	struct zc_tcp_sock *c = zc_tcp_accept(l, &err);
	assert_non_null(c);
	*lsock = l;
	zc_tcp_setopt(c, ZC_TCP_OPT_QUICKACK, 0);
	return c;
}

/* Data: full segments up to the congestion window, Nagle's tail, cork, FIN. */
static void test_output_reasons_data(void **state)
{
	struct env *e = *state;
	struct zc_tcp_path_stats p;
	zc_tcp_get_path_stats(e->st, &p);
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	why_since(e, &p, WHY(R(SYN) = 1)); /* the SYN-ACK */
	struct seg s;
	static char d[16 * 1448];
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	uint32_t n = 0;
	while (rx(e, &s))
		n++;
	assert_int_equal(n, 10); /* the initial window (RFC 6928) */
	why_since(e, &p, WHY(R(DATA) = 10, R(HOLD_CWND) = 1));
	uint32_t una = iss + 1 + 10 * 1448;
	tx(e, F_A, e->pseq, una, NULL, 0);
	while (rx(e, &s))
		n++;
	assert_int_equal(n, 16);
	why_since(e, &p, WHY(R(DATA) = 6, R(HOLD_NOTHING) = 1));
	una += 6 * 1448;
	tx(e, F_A, e->pseq, una, NULL, 0);
	/* Nagle: a short segment goes when nothing is in flight, the next waits */
	zc_tcp_send(c, "a", 1);
	expect(e, &s, F_A | F_P);
	zc_tcp_send(c, "b", 1);
	expect_nothing(e);
	why_since(e, &p, WHY(R(DATA_TAIL) = 1, R(HOLD_NAGLE) = 1));
	tx(e, F_A, e->pseq, ++una, NULL, 0);
	expect(e, &s, F_A | F_P);
	why_since(e, &p, WHY(R(DATA_TAIL) = 1));
	tx(e, F_A, e->pseq, ++una, NULL, 0);
	zc_tcp_setopt(c, ZC_TCP_OPT_CORK, 1);
	zc_tcp_send(c, "c", 1);
	expect_nothing(e);
	why_since(e, &p, WHY(R(HOLD_CORK) = 1));
	zc_tcp_setopt(c, ZC_TCP_OPT_CORK, 0);
	expect(e, &s, F_A | F_P);
	why_since(e, &p, WHY(R(DATA_TAIL) = 1));
	tx(e, F_A, e->pseq, ++una, NULL, 0);
	zc_tcp_shutdown(c, 1);
	expect(e, &s, F_A | F_F);
	why_since(e, &p, WHY(R(FIN) = 1));
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* The peer's window: a short segment of half its largest window goes (sender
 * SWS avoidance), a shorter one waits, a closed window is probed. */
static void test_output_reasons_window(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive_win(e, &l, &iss, 1000);
	struct zc_tcp_path_stats p;
	zc_tcp_get_path_stats(e->st, &p);
	struct seg s;
	static char d[3000];
	zc_tcp_setopt(c, ZC_TCP_OPT_NODELAY, 1);
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	expect(e, &s, F_A);
	assert_int_equal(s.len, 1000);
	expect_nothing(e);
	why_since(e, &p, WHY(R(DATA_SWS) = 1, R(HOLD_WINDOW) = 1));
	tx_opts(e, F_A, e->pseq, iss + 1 + 1000, 400, NULL, 0, NULL); /* 400 < 1000 / 2 */
	expect_nothing(e);
	why_since(e, &p, WHY(R(HOLD_SWS) = 1));
	tx_opts(e, F_A, e->pseq, iss + 1 + 1000, 0, NULL, 0, NULL); /* closed */
	why_since(e, &p, WHY(R(HOLD_WINDOW) = 1));
	uint64_t start = e->now;
	while (!rx(e, &s)) {
		run(e, MS);
		assert_true(e->now - start < 5000 * MS);
	}
	assert_int_equal(s.len, 1);
	why_since(e, &p, WHY(R(PERSIST_PROBE) = 1));
	tx_opts(e, F_A, e->pseq, iss + 1 + 1001, 1000, NULL, 0, NULL);
	expect(e, &s, F_A);
	assert_int_equal(s.len, 1000);
	why_since(e, &p, WHY(R(DATA_SWS) = 1));
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* ACKs: delayed, at once, a window update after a read, a reply to an
 * unacceptable segment, a challenge; a RST at close with unread data and
 * one for a closed port. */
static void test_output_reasons_acks(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct zc_tcp_path_stats p;
	zc_tcp_get_path_stats(e->st, &p);
	struct seg s;
	char d[1000], buf[16000];
	memset(d, 'x', sizeof(d));
	tx(e, F_A, e->pseq, iss + 1, d, 1000);
	e->pseq += 1000;
	expect_nothing(e);
	run(e, 41 * MS);
	expect(e, &s, F_A);
	why_since(e, &p, WHY(R(DELAYED_ACK) = 1));
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 1000);
	why_since(e, &p, WHY(0));
	/* ten segments (an ACK at every second), then a read that opens the
	 * window by more than two MSS: the peer hears of it */
	for (int i = 0; i < 10; i++) {
		tx(e, F_A, e->pseq, iss + 1, d, 1000);
		e->pseq += 1000;
	}
	for (int i = 0; i < 5; i++)
		expect(e, &s, F_A);
	expect_nothing(e);
	why_since(e, &p, WHY(R(ACK_NOW) = 5));
	assert_int_equal(zc_tcp_recv(c, buf, sizeof(buf)), 10000);
	expect(e, &s, F_A);
	why_since(e, &p, WHY(R(WINDOW_UPDATE) = 1));
	tx(e, F_A, e->pseq - 3000, iss + 1, "old", 3); /* before RCV.NXT */
	expect(e, &s, F_A);
	why_since(e, &p, WHY(R(ACK_REPLY) = 1));
	tx(e, F_R, e->pseq + 100, 0, NULL, 0); /* in window, not RCV.NXT */
	expect(e, &s, F_A);
	why_since(e, &p, WHY(R(CHALLENGE_ACK) = 1));
	tx(e, F_A, e->pseq, iss + 1, "unread", 6);
	e->pseq += 6;
	zc_tcp_close(c);
	while (rx(e, &s) && !(s.th.flags & F_R))
		;
	assert_int_equal(s.th.flags & F_R, F_R);
	why_since(e, &p, WHY(R(RST) = 1)); /* "unread" waited for a delayed ACK */
	zc_tcp_close(l);
	tx(e, F_S, 1, 0, NULL, 0); /* nobody listens now */
	expect(e, &s, F_R | F_A);
	why_since(e, &p, WHY(R(RST_REPLY) = 1));
}

/* Timers: the SYN again, a retransmission after a timeout, keepalive. */
static void test_output_reasons_timers(void **state)
{
	struct env *e = *state;
	struct zc_tcp_path_stats p;
	zc_tcp_get_path_stats(e->st, &p);
	struct zc_tcp_sock *c = zc_tcp_socket(e->st);
	zc_tcp_connect(c, IP_P, e->pport);
	struct seg s;
	expect(e, &s, F_S);
	e->sport = s.th.sport;
	uint32_t iss = s.th.seq;
	while (!rx(e, &s))
		run(e, MS);
	assert_int_equal(s.th.flags, F_S);
	why_since(e, &p, WHY(R(SYN) = 1, R(SYN_RETRANSMIT) = 1));
	struct zc_tcp_opts o = { .has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 2, .has_ts = true,
				 .tsval = e->ptsval, .tsecr = e->last_tsval };
	tx_opts(e, F_S | F_A, e->pseq, iss + 1, 65535, NULL, 0, &o);
	e->pseq++;
	expect(e, &s, F_A);
	why_since(e, &p, WHY(R(ACK_NOW) = 1)); /* the handshake's ACK */
	zc_tcp_setopt(c, ZC_TCP_OPT_NODELAY, 1);
	uint32_t una = iss + 1;
	/* a short segment, nothing in flight: it goes, and again when its
	 * timer runs out */
	zc_tcp_send(c, "data", 4);
	expect(e, &s, F_A | F_P);
	while (!rx(e, &s))
		run(e, MS);
	assert_int_equal(s.th.seq, una);
	why_since(e, &p, WHY(R(DATA_TAIL) = 1, R(RETRANSMIT) = 1));
	una += 4;
	tx(e, F_A, e->pseq, una, NULL, 0);
	zc_tcp_get_path_stats(e->st, &p);
	zc_tcp_setopt(c, ZC_TCP_OPT_KEEPIDLE, 1);
	zc_tcp_setopt(c, ZC_TCP_OPT_KEEPALIVE, 1);
	while (!rx(e, &s))
		run(e, MS);
	assert_int_equal(s.th.seq, una - 1); /* SND.NXT - 1 */
	why_since(e, &p, WHY(R(KEEPALIVE) = 1));
	zc_tcp_close(c);
}

/* Recovery: fast retransmit at the third duplicate ACK, the next hole at a
 * partial ACK (RFC 5681, RFC 6582). */
static void test_output_reasons_recovery(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	struct zc_tcp_path_stats p;
	zc_tcp_get_path_stats(e->st, &p);
	struct seg s;
	zc_tcp_setopt(c, ZC_TCP_OPT_NODELAY, 1);
	uint32_t una = iss + 1;
	/* eight segments, the second lost: three duplicate ACKs, then a partial ACK */
	static char d[8 * 1448];
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	while (rx(e, &s))
		;
	why_since(e, &p, WHY(R(DATA) = 8));
	for (int i = 0; i < 4; i++)
		tx(e, F_A, e->pseq, una + 1448, NULL, 0);
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.th.seq, una + 1448);
	why_since(e, &p, WHY(R(FAST_RETRANSMIT) = 1));
	tx(e, F_A, e->pseq, una + 3 * 1448, NULL, 0);
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.th.seq, una + 3 * 1448);
	why_since(e, &p, WHY(R(RECOVERY_RETRANSMIT) = 1));
	tx(e, F_A, e->pseq, una + 8 * 1448, NULL, 0);
	while (rx(e, &s))
		;
	why_since(e, &p, WHY(0));
	zc_tcp_close(c);
	zc_tcp_close(l);
}

int main(void)
{
	zc_log_set_level(ZC_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_delayed_ack_and_every_second_segment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order_reassembly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fin_below_out_of_order_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paws_drops_old_timestamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_scale_limits_sending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_window_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_window_refuses_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ooo_memory_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nagle_and_cork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rto_backoff_then_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_retransmit_and_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_reasons_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_reasons_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_reasons_acks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_reasons_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_reasons_recovery, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

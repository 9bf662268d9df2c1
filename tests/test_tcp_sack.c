/* test_tcp_sack.c - SACK both ways: the sender's scoreboard (merging,
 * trimming, bad and duplicate blocks), RFC 6675 loss recovery against a
 * scripted peer that SACKs (holes retransmitted without waiting for
 * partial ACKs, SACKed data never resent, the rescue retransmission), SACK
 * turned off by configuration, and DSACK (RFC 2883) sent for a duplicate
 * arrival and counted when received. The test plays the peer
 * (tcp_fixture.h). */
#include "sack_fixture.h"
#include "stack/tcp_priv.h"

/* A SACK connection for each test (setup_sack), closed after it. These
 * tests are of RFC 6675's rules, which RACK (test_tcp_rack.c) replaces
 * when on: they run with no_rack, as RACK's fallback does. */
struct conn {
	struct env *e;
	struct zc_tcp_sock *c, *l;
	uint32_t iss, una;
	bool ok;
	char d[64 * MSS];
};

static int setup_sack(void **state)
{
	if (setup(state) != 0)
		return -1;
	struct conn *k = calloc(1, sizeof(*k));
	k->e = *state;
	assert_int_equal(zc_tcp_configure(k->e->st, &(struct zc_tcp_config){ .no_rack = true }), 0);
	k->c = open_sack(k->e, &k->l, &k->iss, &k->ok, 0);
	*state = k;
	return 0;
}

static int teardown_sack(void **state)
{
	struct conn *k = *state;
	zc_tcp_close(k->c);
	zc_tcp_close(k->l);
	*state = k->e;
	free(k);
	return teardown(state);
}

/* The test's connection, with nseg full segments of a pattern sent and
 * taken off the wire (k->d holds them, k->una is their start). */
static struct conn *start(void **state, uint32_t nseg);

/* The peer's 100 bytes of data, acknowledging `ack` and SACKing [l, r). */
static void tx_data_sack(struct env *e, uint32_t ack, uint32_t l, uint32_t r)
{
	static const char pd[100];
	tx_opts(e, F_A | F_P, e->pseq, ack, 65535, pd, sizeof(pd),
		&(struct zc_tcp_opts){ .has_ts = true, .tsval = e->ptsval, .tsecr = e->last_tsval, .nsack = 1,
				       .sack = { { l, r } } });
	e->pseq += sizeof(pd);
}

static struct conn *start(void **state, uint32_t nseg)
{
	struct conn *k = *state;
	send_segments(k->e, k->c, nseg, k->d);
	k->una = k->iss + 1;
	return k;
}

/* Ten segments, the 2nd and the 5th lost. The peer's ACKs stay at the 2nd
 * and SACK what came. RFC 6675: once more than two segments are SACKed
 * above a hole it is lost; both holes go again in the same recovery, the
 * 5th without waiting for a partial ACK (NewReno would), and no SACKed
 * segment is ever resent. */
static void test_sack_recovery_fills_every_hole(void **state)
{
	struct conn *k = *state;
	struct env *e = k->e;
	struct zc_tcp_sock *c = k->c;
	uint32_t iss = k->iss;
	assert_true(k->ok); /* SACK-permitted answered */
	struct zc_tcp_info ti;
	zc_tcp_get_info(c, &ti);
	assert_true(ti.tcpi_options & 2); /* TCPI_OPT_SACK */
	static char d[10 * MSS];
	send_segments(e, c, 10, d);
	uint32_t una = iss + 1, seg2 = una + MSS;
#define SEG(k) (una + (k - 1) * MSS) /* start of segment k (1-based) */
	/* segments 3, 4 arrive: two above the hole, not yet lost */
	tx_sack(e, seg2, 1, (uint32_t[]){ SEG(3), SEG(4) });
	tx_sack(e, seg2, 1, (uint32_t[]){ SEG(3), SEG(5) });
	expect_nothing(e);
	/* segment 6 (after the lost 5th): three SACKed above the 2nd, two ranges */
	tx_sack(e, seg2, 2, (uint32_t[]){ SEG(6), SEG(7), SEG(3), SEG(5) });
	struct seg s;
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.th.seq, SEG(2));
	assert_memory_equal(s.data, d + MSS, MSS);
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_ca_state, 3);
	/* 7..10 arrive: the 5th now has four SACKed above it. What goes is
	 * never what the peer said it holds: the 5th (at once: rule 3 lets a
	 * hole below the highest SACK go while the pipe has room) and at most
	 * one rescue of the highest unSACKed segment (rule 4) */
	uint32_t seen5 = 0;
	for (int k = 6; k <= 10; k++) {
		if (k > 6)
			tx_sack(e, seg2, 2, (uint32_t[]){ SEG(6), SEG(k + 1), SEG(3), SEG(5) });
		while (rx(e, &s)) {
			if (s.len == 0)
				continue;
			bool held = (seq_ge(s.th.seq, SEG(3)) && seq_lt(s.th.seq, SEG(5))) ||
				    (seq_ge(s.th.seq, SEG(6)) && seq_lt(s.th.seq, SEG(k + 1)));
			assert_false(held);
			if (s.th.seq == SEG(5)) {
				assert_memory_equal(s.data, d + 4 * MSS, MSS);
				seen5++;
			}
		}
	}
	assert_int_equal(seen5, 1);     /* the second hole, before any partial ACK */
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_sacked, 7); /* 3, 4, 6..10 */
	/* the 2nd arrives: a partial ACK up to the 5th; then all */
	tx_sack(e, SEG(5), 1, (uint32_t[]){ SEG(6), SEG(11) });
	while (rx(e, &s))
		assert_true(s.len == 0 || seq_lt(s.th.seq, SEG(6)));
	tx(e, F_A, e->pseq, SEG(11), NULL, 0);
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_ca_state, 0);
	assert_int_equal(ti.tcpi_sacked, 0);
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.fast_retransmits, 1);
	assert_int_equal(ts.sack_recoveries, 1);
	assert_true(ts.sack_rescues <= 1);
	assert_int_equal(ts.retrans_segs, 2 + ts.sack_rescues);
	assert_int_equal(ts.timeouts, 0);
#undef SEG
}

/* The last segment lost with the one before the SACKed run: after the
 * first hole goes again there is nothing new to send and no hole below
 * the highest SACK, so the rescue retransmission (RFC 6675 rule 4) sends
 * the tail once, long before the retransmission timer. */
static void test_sack_rescue_retransmission(void **state)
{
	struct conn *k = start(state, 6);
	struct env *e = k->e;
	uint32_t una = k->una;
	/* 1 arrives, 2 lost, 3..5 arrive, 6 lost */
	for (int k = 3; k <= 5; k++)
		tx_sack(e, una + MSS, 1, (uint32_t[]){ una + 2 * MSS, una + k * MSS });
	struct seg s;
	bool got2 = false, got6 = false;
	while (rx(e, &s)) {
		got2 |= s.len && s.th.seq == una + MSS;
		if (s.len && s.th.seq == una + 5 * MSS) {
			assert_memory_equal(s.data, k->d + 5 * MSS, MSS);
			got6 = true;
		}
	}
	assert_true(got2);
	assert_true(got6); /* the rescue, at once */
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.sack_rescues, 1);
	assert_int_equal(ts.timeouts, 0);
	/* another duplicate: no second rescue in the same recovery */
	tx_sack(e, una + MSS, 1, (uint32_t[]){ una + 2 * MSS, una + 5 * MSS });
	while (rx(e, &s))
		assert_true(s.len == 0);
	tx(e, F_A, e->pseq, una + 6 * MSS, NULL, 0);
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.sack_rescues, 1);
}

/* no_sack (Linux's tcp_sack = 0): SACK-permitted is not answered, blocks
 * are ignored and recovery is NewReno's. */
static void test_sack_off(void **state)
{
	struct env *e = *state;
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .no_sack = true }), 0);
	struct zc_tcp_sock *l;
	uint32_t iss;
	bool ok;
	struct zc_tcp_sock *c = open_sack(e, &l, &iss, &ok, 0);
	assert_false(ok);
	static char d[10 * MSS];
	send_segments(e, c, 10, d);
	uint32_t una = iss + 1;
	for (int k = 3; k <= 6; k++)
		tx_sack(e, una + MSS, 1, (uint32_t[]){ una + 2 * MSS, una + k * MSS });
	struct seg s;
	expect(e, &s, F_A | F_P); /* the third duplicate: fast retransmit */
	assert_int_equal(s.th.seq, una + MSS);
	struct zc_tcp_info ti;
	zc_tcp_get_info(c, &ti);
	assert_int_equal(ti.tcpi_sacked, 0);
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.sack_recoveries, 0);
	tx(e, F_A, e->pseq, una + 10 * MSS, NULL, 0);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* DSACK as a receiver: data that arrives twice is reported once in the
 * first block of the next ACK, below its cumulative ACK (RFC 2883 4.1);
 * a duplicate of queued out-of-order data comes first, then the block
 * holding it (4.2). */
static void test_dsack_sent(void **state)
{
	struct conn *k = *state;
	struct env *e = k->e;
	uint32_t iss = k->iss;
	static char d[500];
	memset(d, 'q', sizeof(d));
	uint32_t p = e->pseq;
	tx(e, F_A | F_P, p, iss + 1, d, 100);
	run(e, 50 * MS);
	struct seg s;
	expect(e, &s, F_A);
	assert_int_equal(s.th.opt.nsack, 0);
	tx(e, F_A | F_P, p, iss + 1, d, 100); /* again */
	expect(e, &s, F_A);
	assert_int_equal(s.th.ack, p + 100);
	assert_int_equal(s.th.opt.nsack, 1);
	assert_int_equal(s.th.opt.sack[0].left, p);
	assert_int_equal(s.th.opt.sack[0].right, p + 100);
	/* out of order: [300, 400) queued, then again */
	tx(e, F_A | F_P, p + 300, iss + 1, d, 100);
	expect(e, &s, F_A);
	assert_int_equal(s.th.opt.nsack, 1); /* the queue's block, no DSACK */
	assert_int_equal(s.th.opt.sack[0].left, p + 300);
	tx(e, F_A | F_P, p + 300, iss + 1, d, 100);
	expect(e, &s, F_A);
	assert_int_equal(s.th.opt.nsack, 2);
	assert_int_equal(s.th.opt.sack[0].left, p + 300); /* the duplicate */
	assert_int_equal(s.th.opt.sack[0].right, p + 400);
	assert_int_equal(s.th.opt.sack[1].left, p + 300); /* the block holding it */
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.dsacks_out, 2);
}

/* DSACK as a sender: a first block below the ACK is counted (a spurious
 * retransmission), never taken into the scoreboard. */
static void test_dsack_received(void **state)
{
	struct conn *k = start(state, 4);
	struct env *e = k->e;
	uint32_t una = k->una;
	tx(e, F_A, e->pseq, una + 2 * MSS, NULL, 0);
	tx_sack(e, una + 2 * MSS, 1, (uint32_t[]){ una + MSS, una + 2 * MSS });
	struct zc_tcp_info ti;
	zc_tcp_get_info(k->c, &ti);
	assert_int_equal(ti.tcpi_dsack_dups, 1);
	assert_int_equal(ti.tcpi_sacked, 0);
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.dsacks_in, 1);
	tx(e, F_A, e->pseq, una + 4 * MSS, NULL, 0);
}

/* The first hole's retransmission is lost too. The peer keeps ACKing at
 * SND.UNA (its own data carries the ACKs); more than 5/4 SRTT after the
 * retransmission, the hole goes a third time instead of waiting for the
 * RTO, and not before. When the full ACK ends the recovery, cwnd is
 * ssthresh (PRR's exit), not one segment. */
static void test_lost_retransmission_by_time(void **state)
{
	struct conn *k = start(state, 8);
	struct env *e = k->e;
	uint32_t una = k->una;
	/* the 1st is lost; 2..5 SACKed, on the peer's data segments */
	for (uint32_t j = 2; j <= 5; j++)
		tx_data_sack(e, una, una + MSS, una + j * MSS);
	struct seg s;
	uint32_t first = 0;
	while (rx(e, &s))
		first += s.len && s.th.seq == una;
	assert_int_equal(first, 1); /* the fast retransmit (lost: the peer never gets it) */
	/* the peer goes on within the RTT: no third copy yet */
	tx_data_sack(e, una, una + MSS, una + 6 * MSS);
	while (rx(e, &s))
		assert_true(s.len == 0 || s.th.seq != una);
	run(e, 5 * MS); /* more than 5/4 SRTT + 1 ms (SRTT: about 0 here) */
	tx_data_sack(e, una, una + MSS, una + 7 * MSS);
	uint32_t again = 0;
	while (rx(e, &s))
		again += s.len && s.th.seq == una;
	assert_int_equal(again, 1);
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.lost_retransmits, 1);
	assert_int_equal(ts.timeouts, 0);
	struct zc_tcp_info ti;
	zc_tcp_get_info(k->c, &ti);
	uint32_t ssthresh = ti.tcpi_snd_ssthresh;
	tx(e, F_A, e->pseq, una + 8 * MSS, NULL, 0);
	zc_tcp_get_info(k->c, &ti);
	assert_int_equal(ti.tcpi_ca_state, 0);
	assert_int_equal(ti.tcpi_snd_cwnd, ssthresh); /* not FlightSize (0) + 1 */
	assert_true(ssthresh >= 2);
}

/* PRR (RFC 6937): in a recovery with the pipe above ssthresh, what goes
 * keeps pace with what is delivered, scaled by ssthresh / RecoverFS:
 * twenty segments out, one lost, then an ACK SACKing one more segment
 * each: CUBIC's ssthresh is 0.7 of the window, so sending resumes at
 * once, where RFC 6675's cwnd = ssthresh waits for the pipe to drain. */
static void test_prr_paces_recovery(void **state)
{
	struct conn *k = *state;
	struct env *e = k->e;
	struct zc_tcp_sock *c = k->c;
	uint32_t iss = k->iss;
	uint32_t una = iss + 1;
	/* grow the window to 20: send 10, ACK them (slow start: +10) */
	static char d[60 * MSS];
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	struct seg s;
	while (rx(e, &s))
		;
	uint32_t out = 0;
	for (uint32_t i = 1; i <= 10; i++) { /* an ACK a segment: +1 each (RFC 3465, L = 1) */
		tx(e, F_A, e->pseq, una + i * MSS, NULL, 0);
		while (rx(e, &s))
			out++;
	}
	assert_int_equal(out, 20); /* cwnd 20, all in flight: segments 11..30 */
	una += 10 * MSS;
	/* segment 11 lost: 12.. SACKed one by one */
	uint32_t sent_in_rec = 0, delivered = 0;
	for (int k = 2; k <= 20; k++) {
		tx_sack(e, una, 1, (uint32_t[]){ una + MSS, una + k * MSS });
		delivered++;
		while (rx(e, &s))
			sent_in_rec += s.len && seq_ge(s.th.seq, una + 20 * MSS); /* new data */
		/* by the 9th ACK, PRR has sent 4 new segments (2 by limited
		 * transmit, 2 keeping pace); cwnd = ssthresh over the pipe would
		 * still wait for the pipe to drain below ssthresh (2) */
		if (k == 9)
			assert_true(sent_in_rec >= 4);
	}
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.sack_recoveries, 1);
	/* over the recovery: about ssthresh / RecoverFS of what was delivered */
	assert_true(sent_in_rec >= 10 && sent_in_rec <= 15);
	tx(e, F_A, e->pseq, iss + 1 + 60 * MSS, NULL, 0);
}

/* A timeout keeps what the peer SACKed, once: going back from SND.UNA,
 * the SACKed segments are stepped over (they are never sent again). */
static void test_rto_skips_sacked(void **state)
{
	struct conn *k = start(state, 6);
	struct env *e = k->e;
	uint32_t una = k->una;
	/* 1 and 2 lost, 3 and 4 SACKed (too little to call 1 lost), 5 and 6 lost */
	tx_sack(e, una, 1, (uint32_t[]){ una + 2 * MSS, una + 4 * MSS });
	struct seg s;
	bool again34 = false;
	uint32_t got = 0;
	for (int i = 0; i < 40 && got < 4; i++) { /* the probe, the RTO, then going back */
		run(e, 50 * MS);
		while (rx(e, &s)) {
			if (s.len == 0)
				continue;
			again34 |= seq_ge(s.th.seq, una + 2 * MSS) && seq_lt(s.th.seq, una + 4 * MSS);
			if (s.th.seq == una) /* the RTO's first: 1 and 2 arrive now (an ACK
					      * without blocks: only the kept ones say 3, 4) */
				tx(e, F_A, e->pseq, una + 2 * MSS, NULL, 0);
			got++;
		}
	}
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.timeouts, 1);
	assert_false(again34);
	tx(e, F_A, e->pseq, una + 6 * MSS, NULL, 0);
}

/* An RTO during a SACK recovery, and a second one after it, answer the
 * loss the recovery already answered: cwnd goes to one segment, ssthresh
 * stays (as Linux's tcp_enter_loss). */
static void test_rto_in_recovery_keeps_ssthresh(void **state)
{
	struct conn *k = start(state, 8);
	struct env *e = k->e;
	uint32_t una = k->una;
	tx_sack(e, una, 1, (uint32_t[]){ una + MSS, una + 5 * MSS });
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.sack_recoveries, 1);
	struct zc_tcp_info ti;
	zc_tcp_get_info(k->c, &ti);
	uint32_t ssthresh = ti.tcpi_snd_ssthresh;
	struct seg s;
	for (uint32_t want = 1; want <= 2; want++) {
		for (int i = 0; i < 40 && ts.timeouts < want; i++) {
			run(e, 50 * MS);
			while (rx(e, &s))
				;
			zc_tcp_get_stats(e->st, &ts);
		}
		assert_int_equal(ts.timeouts, want);
		zc_tcp_get_info(k->c, &ti);
		assert_int_equal(ti.tcpi_snd_ssthresh, ssthresh);
	}
	tx(e, F_A, e->pseq, una + 8 * MSS, NULL, 0);
}

/* --- tail loss probes (RFC 8985 7) ---------------------------------------------- */

/* The last two of four segments lost, nothing more to send: no duplicate
 * ACK will come. Within 2 SRTT (here the 10 ms floor) the last segment goes
 * again as a probe, long before the 200 ms RTO; an ACK past the probe's
 * end, with no DSACK, says it repaired a loss, and the window is cut as
 * for a fast recovery. */
static void test_tlp_retransmits_tail(void **state)
{
	struct conn *k = start(state, 4);
	struct env *e = k->e;
	uint32_t una = k->una;
	tx(e, F_A, e->pseq, una + 2 * MSS, NULL, 0);
	expect_nothing(e);
	run(e, 15 * MS);
	struct seg s;
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.th.seq, una + 3 * MSS);
	assert_memory_equal(s.data, k->d + 3 * MSS, MSS);
	assert_int_equal(why_n(e, ZC_TCP_TX_TAIL_LOSS_PROBE), 1);
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.tlp_probes, 1);
	assert_int_equal(ts.timeouts, 0);
	/* the probe's ACK SACKs it: the 3rd is lost, and recovery resends it */
	tx_sack(e, una + 2 * MSS, 1, (uint32_t[]){ una + 3 * MSS, una + 4 * MSS });
	while (rx(e, &s))
		;
	struct zc_tcp_info ti;
	zc_tcp_get_info(k->c, &ti);
	uint32_t cwnd0 = ti.tcpi_snd_cwnd;
	/* an ACK up to the probe's end: the original may have come late, its
	 * DSACK on the next ACK; nothing is decided yet */
	tx(e, F_A, e->pseq, una + 4 * MSS, NULL, 0);
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.tlp_recoveries, 0);
	/* an ACK past it without one: the probe repaired a loss. The cut is
	 * cubic's of the window, not of what is left in flight after the ACK */
	static char more[MSS];
	assert_int_equal(zc_tcp_send(k->c, more, MSS), MSS);
	assert_true(rx(e, &s));
	tx(e, F_A, e->pseq, una + 5 * MSS, NULL, 0);
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.timeouts, 0);
	assert_int_equal(ts.tlp_recoveries, 1);
	zc_tcp_get_info(k->c, &ti);
	assert_true(ti.tcpi_snd_ssthresh < 1000); /* a loss was answered */
	assert_true(ti.tcpi_snd_ssthresh >= cwnd0 * 7 / 10 - 1);
	assert_true(ti.tcpi_snd_cwnd >= ti.tcpi_snd_ssthresh);
}

/* A probe sends new data when there is some, whatever cwnd says; one
 * probe only, then the RTO; an ACK of a probe that the peer reports twice
 * (DSACK: nothing was lost) leaves the window alone. */
static void test_tlp_new_data_then_rto(void **state)
{
	struct conn *k = *state;
	struct env *e = k->e;
	struct zc_tcp_sock *c = k->c;
	uint32_t iss = k->iss;
	static char d[14 * MSS];
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	struct seg s;
	uint32_t n = 0;
	while (rx(e, &s))
		n++;
	assert_int_equal(n, 10); /* the initial window */
	uint32_t una = iss + 1;
	run(e, 15 * MS);
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.th.seq, una + 10 * MSS); /* new: the 11th */
	expect_nothing(e);
	run(e, 100 * MS);
	expect_nothing(e); /* one probe */
	run(e, 150 * MS);
	assert_true(rx(e, &s)); /* then the RTO: the first again */
	assert_int_equal(s.th.seq, una);
	assert_int_equal(s.len, MSS);
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.tlp_probes, 1);
	assert_int_equal(ts.timeouts, 1);
	assert_int_equal(ts.tlp_recoveries, 0);
}

/* A probe's retransmission reported twice (DSACK): spurious, no cut. */
static void test_tlp_spurious(void **state)
{
	struct conn *k = start(state, 3);
	struct env *e = k->e;
	uint32_t una = k->una;
	tx(e, F_A, e->pseq, una + MSS, NULL, 0);
	run(e, 15 * MS);
	struct seg s;
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.th.seq, una + 2 * MSS);
	/* the original arrived, its ACK was lost: the peer says it got it twice */
	tx_sack(e, una + 3 * MSS, 1, (uint32_t[]){ una + 2 * MSS, una + 3 * MSS });
	struct zc_tcp_stats ts;
	zc_tcp_get_stats(e->st, &ts);
	assert_int_equal(ts.dsacks_in, 1);
	assert_int_equal(ts.tlp_recoveries, 0);
	struct zc_tcp_info ti;
	zc_tcp_get_info(k->c, &ti);
	assert_true(ti.tcpi_snd_ssthresh > 1000000); /* untouched */
}

/* --- the scoreboard on a bare TCB ------------------------------------------------ */

struct bare {
	struct zc_stack st;
	struct zc__tcp t;
	struct zc_tcp_sock s;
};

static struct bare *bare_new(void)
{
	struct bare *b = calloc(1, sizeof(*b));
	b->st.tcp = &b->t;
	b->s.st = &b->st;
	b->s.mss = 1000;
	b->s.snd_una = 0xfffff000u; /* across the wrap */
	b->s.snd_max = b->s.snd_una + 100000;
	b->s.max_sndwnd = 100000;
	b->s.high_rxt = b->s.snd_una; /* as recovery starts it */
	return b;
}

static void board(struct bare *b, unsigned n, const uint32_t *lr)
{
	struct zc_tcp_opts o = { .nsack = (uint8_t)n };
	for (unsigned i = 0; i < n; i++)
		o.sack[i] = (struct zc_tcp_sack_block){ b->s.snd_una + lr[2 * i], b->s.snd_una + lr[2 * i + 1] };
	zc__sack_update(&b->s, &o, b->s.snd_una);
}

/* the scoreboard is sorted, disjoint, non-adjacent, and sacked_bytes its sum */
static void check_board(const struct bare *b)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i < b->s.nsacked; i++) {
		assert_true(seq_lt(b->s.sacked[i].l, b->s.sacked[i].r));
		assert_true(seq_gt(b->s.sacked[i].l, b->s.snd_una) || b->s.sacked[i].l == b->s.snd_una);
		if (i)
			assert_true(seq_gt(b->s.sacked[i].l, b->s.sacked[i - 1].r));
		sum += b->s.sacked[i].r - b->s.sacked[i].l;
	}
	assert_int_equal(sum, b->s.sacked_bytes);
}

static void test_scoreboard(void **state)
{
	(void)state;
	struct bare *b = bare_new();
	struct zc_tcp_sock *s = &b->s;
	board(b, 2, (uint32_t[]){ 5000, 6000, 1000, 2000 });
	check_board(b);
	assert_int_equal(s->nsacked, 2);
	board(b, 1, (uint32_t[]){ 2000, 3000 }); /* adjacent: merges */
	check_board(b);
	assert_int_equal(s->nsacked, 2);
	assert_int_equal(s->sacked_bytes, 3000);
	board(b, 1, (uint32_t[]){ 2500, 5500 }); /* bridges two ranges */
	check_board(b);
	assert_int_equal(s->nsacked, 1);
	assert_int_equal(s->sacked_bytes, 5000);
	board(b, 1, (uint32_t[]){ 1500, 2500 }); /* inside: nothing new */
	assert_int_equal(s->sacked_bytes, 5000);
	/* beyond SND.MAX, empty, reversed: ignored and counted */
	board(b, 3, (uint32_t[]){ 99000, 100001, 7000, 7000, 9000, 8000 });
	assert_int_equal(b->t.stats.sack_bad_blocks, 3);
	check_board(b);
	/* IsLost: more than two segments SACKed above, or three ranges */
	assert_true(zc__sack_is_lost(s, s->snd_una));
	assert_false(zc__sack_is_lost(s, s->snd_una + 3500));
	/* pipe: hole [una, +1000) lost; the tail [6000, 100000) not */
	assert_int_equal(zc__sack_pipe(s), 100000 - 6000);
	s->high_rxt = s->snd_una + 1000; /* the lost hole went again */
	assert_int_equal(zc__sack_pipe(s), 100000 - 6000 + 1000);
	/* SND.UNA moves into the range: trimmed, then past it: gone */
	zc__sack_trim(s, s->snd_una + 3000);
	check_board(b);
	assert_int_equal(s->sacked_bytes, 3000);
	s->snd_una += 7000;
	zc__sack_trim(s, s->snd_una);
	assert_int_equal(s->nsacked, 0);
	assert_int_equal(s->sacked_bytes, 0);
	/* a full board ignores a new range, keeps the rest right */
	for (uint32_t i = 0; i < ZC__TCP_SACKBOARD + 4; i++)
		board(b, 1, (uint32_t[]){ 2000 * i + 1000, 2000 * i + 1500 });
	check_board(b);
	assert_int_equal(s->nsacked, ZC__TCP_SACKBOARD);
	assert_int_equal(b->t.stats.sack_board_full, 4);
	/* one block over all of them: one range again */
	board(b, 1, (uint32_t[]){ 500, 90000 });
	check_board(b);
	assert_int_equal(s->nsacked, 1);
	assert_int_equal(s->sacked_bytes, 89500);
	free(b);
}

int main(void)
{
	zc_log_set_level(ZC_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sack_recovery_fills_every_hole, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_sack_rescue_retransmission, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_sack_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dsack_sent, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_dsack_received, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_lost_retransmission_by_time, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_prr_paces_recovery, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_rto_in_recovery_keeps_ssthresh, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_rto_skips_sacked, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_tlp_retransmits_tail, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_tlp_new_data_then_rto, setup_sack, teardown_sack),
		cmocka_unit_test_setup_teardown(test_tlp_spurious, setup_sack, teardown_sack),
		cmocka_unit_test(test_scoreboard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_tcp_cc.c - congestion control algorithms (cc_cubic.c,
 * cc_newreno.c) driven through their ops on a bare TCB with a virtual
 * clock, and their selection by name (zc_tcp_set_cc, the stack's default);
 * HyStart++ (cc_hystart.c) under both.
 * Windows are checked against RFC 9438's formulas, not against recorded
 * numbers.
 */
#include "stack/stack_priv.h"
#include "stack/tcp_priv.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#define MSS 1000u
#define RTT_NS 100000000ull /* 100 ms: CUBIC's own region (Reno's is for short RTTs) */

struct bed {
	struct zc_stack *st;
	struct zc_tcp_sock s;
};

static int setup(void **state)
{
	struct bed *b = calloc(1, sizeof(*b));
	b->st = calloc(1, sizeof(*b->st));
	b->st->tcp = calloc(1, sizeof(*b->st->tcp));
	b->st->now = 1000000000ull;
	b->s.st = b->st;
	b->s.mss = MSS;
	b->s.srtt = RTT_NS;
	b->s.rtt_valid = true;
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bed *b = *state;
	free(b->st->tcp);
	free(b->st);
	free(b);
	return 0;
}

/* One round trip of ACKs for the whole window, one segment each. */
static void one_rtt(struct bed *b)
{
	uint32_t n = b->s.cwnd / MSS;
	for (uint32_t i = 0; i < n; i++) {
		b->st->now += b->s.srtt / n;
		b->s.snd_una += MSS;
		b->s.snd_max += MSS;
		b->s.cc->ack(&b->s, MSS);
	}
}

/* A loss with a window of w segments in flight: three duplicates, then
 * the full ACK that ends recovery. */
static void loss(struct bed *b, uint32_t w)
{
	b->s.snd_max = b->s.snd_una + w * MSS;
	b->s.cc->enter_recovery(&b->s);
	b->s.cc->exit_recovery(&b->s);
	b->s.snd_max = b->s.snd_una;
}

/* RFC 9438 4.6: ssthresh = 0.7 cwnd (NewReno: half the flight, RFC 5681) */
static void test_cubic_beta(void **state)
{
	struct bed *b = *state;
	b->s.cc = &zc__cc_cubic;
	b->s.cc->init(&b->s);
	assert_int_equal(b->s.cwnd, 10 * MSS); /* RFC 6928, as Linux */
	b->s.cwnd = 100 * MSS;
	loss(b, 100);
	assert_int_equal(b->s.ssthresh, 70 * MSS);
	assert_true(b->s.cwnd <= 70 * MSS);
	b->s.cc = &zc__cc_newreno;
	b->s.cwnd = 100 * MSS;
	loss(b, 100);
	assert_int_equal(b->s.ssthresh, 50 * MSS);
}

/* The window after a loss follows W_cubic(t) = C (t - K)^3 + W_max: it
 * grows fast, then slowly near W_max (concave), flat around t = K, then
 * faster again (convex): each RTT's growth falls before K and rises after. */
static void test_cubic_curve(void **state)
{
	struct bed *b = *state;
	b->s.cc = &zc__cc_cubic;
	b->s.cc->init(&b->s);
	b->s.cwnd = 100 * MSS;
	b->s.ssthresh = 100 * MSS; /* in congestion avoidance */
	loss(b, 100);
	assert_int_equal(b->s.cwnd, 70 * MSS);
	double k = cbrt(30.0 / 0.4); /* seconds: (W_max - beta W_max) / C */
	uint64_t t0 = b->st->now;
	uint32_t prev = b->s.cwnd, grow_early = 0, grow_k = 0, grow_late = 0;
	double at_k = 0;
	while (b->st->now - t0 < (uint64_t)(2 * k * 1e9)) {
		one_rtt(b);
		double t = (double)(b->st->now - t0) / 1e9;
		uint32_t g = b->s.cwnd - prev;
		prev = b->s.cwnd;
		if (t < 0.5)
			grow_early += g;
		else if (fabs(t - k) < 0.25)
			grow_k += g, at_k = at_k ? at_k : b->s.cwnd / (double)MSS;
		else if (t > 2 * k - 0.5)
			grow_late += g;
		/* never above the curve one RTT ahead (or Reno's estimate) */
		double d = t + RTT_NS / 1e9 - k;
		double w = 0.4 * d * d * d + 100;
		if (w < b->s.cubic.w_est)
			w = b->s.cubic.w_est;
		assert_true(b->s.cwnd / (double)MSS <= w + 1);
	}
	assert_true(grow_early > grow_k);  /* concave before K */
	assert_true(grow_late > grow_k);   /* convex after K */
	assert_true(at_k > 95 && at_k < 105); /* the plateau is at W_max */
	/* beyond: probing up, above W_max */
	assert_true(b->s.cwnd > 110 * MSS);
}

/* 4.7 fast convergence: a loss below the last W_max remembers less */
static void test_cubic_fast_convergence(void **state)
{
	struct bed *b = *state;
	b->s.cc = &zc__cc_cubic;
	b->s.cc->init(&b->s);
	b->s.cwnd = 100 * MSS;
	loss(b, 100);
	assert_true(fabs(b->s.cubic.w_max - 100) < 1e-9);
	b->s.cwnd = 80 * MSS;
	loss(b, 80);
	assert_true(fabs(b->s.cubic.w_max - 80 * 1.7 / 2) < 1e-9);
}

/* 4.3: where Reno would do better (short RTT, small window), the window
 * grows as Reno's estimate: alpha = 3 (1 - 0.7) / (1 + 0.7) a RTT. */
static void test_cubic_reno_friendly(void **state)
{
	struct bed *b = *state;
	b->s.cc = &zc__cc_cubic;
	b->s.cc->init(&b->s);
	b->s.srtt = 1000000; /* 1 ms */
	b->s.cwnd = 20 * MSS;
	loss(b, 20);
	uint32_t w0 = b->s.cwnd;
	for (int i = 0; i < 10; i++) { /* W_est stays below W_max (20) */
		uint32_t n = b->s.cwnd / MSS;
		for (uint32_t j = 0; j < n; j++) {
			b->st->now += 1000000 / n;
			b->s.cc->ack(&b->s, MSS);
		}
	}
	double alpha = 3 * 0.3 / 1.7, got = (b->s.cwnd - w0) / (double)MSS;
	/* W_cubic alone would give C (t - K)^3 growth over 10 ms: under one segment */
	assert_true(got > 10 * alpha * 0.8 && got < 10 * alpha * 1.2);
}

/* A timeout: the loss window of one segment, ssthresh from CUBIC's beta */
static void test_cubic_timeout(void **state)
{
	struct bed *b = *state;
	b->s.cc = &zc__cc_cubic;
	b->s.cc->init(&b->s);
	b->s.cwnd = 50 * MSS;
	b->s.cc->timeout(&b->s);
	assert_int_equal(b->s.cwnd, MSS);
	assert_int_equal(b->s.ssthresh, 35 * MSS);
	/* slow start again up to ssthresh, one segment an ACKed segment */
	b->s.cc->ack(&b->s, MSS);
	assert_int_equal(b->s.cwnd, 2 * MSS);
}

/* Names: cubic is the default; newreno and Linux's reno are NewReno */
/* One round of slow start, every ACK with an RTT sample of rtt: SND.NXT
 * keeps the window in flight, so the round ends where the next begins.
 * Returns the window's growth in segments. */
static uint32_t ss_round(struct bed *b, uint64_t rtt)
{
	uint32_t w0 = b->s.cwnd, n = w0 / MSS;
	for (uint32_t i = 0; i < n; i++) {
		b->st->now += rtt / n;
		b->s.snd_una += MSS;
		zc__hystart_rtt(&b->s, rtt);
		b->s.cc->ack(&b->s, MSS);
		b->s.snd_nxt = b->s.snd_max = b->s.snd_una + b->s.cwnd;
	}
	return (b->s.cwnd - w0) / MSS;
}

static void hs_start(struct bed *b, const struct zc__cc_ops *cc)
{
	b->s.cc = cc;
	cc->init(&b->s);
	b->s.snd_una = 1000;
	b->s.snd_nxt = b->s.snd_max = b->s.snd_una + b->s.cwnd;
}

/* The RTT rises by more than an eighth (12.5 ms of 100): Conservative
 * Slow Start grows by a quarter for 5 rounds, then congestion avoidance
 * from that window, with no loss. */
static void test_hystart_rising_rtt(void **state)
{
	struct bed *b = *state;
	hs_start(b, &zc__cc_cubic);
	assert_int_equal(ss_round(b, RTT_NS), 10); /* doubling */
	assert_int_equal(ss_round(b, RTT_NS), 20);
	const uint64_t up = RTT_NS + 13000000ull; /* +13 ms */
	struct zc_tcp_stats *ts = &b->st->tcp->stats;
	int r = 0, quarter = 0;
	for (; r < 12 && ts->hystart_exits == 0; r++) {
		bool css = b->s.hystart.css;
		uint32_t w = b->s.cwnd / MSS, g = ss_round(b, up);
		if (css && b->s.hystart.css && ts->hystart_exits == 0) {
			assert_true(g >= w / 4 - 1 && g <= w / 4 + 1); /* a quarter a round */
			quarter++;
		}
	}
	assert_int_equal(ts->hystart_css, 1); /* the rounds' hystart and the test's are not aligned: */
	assert_in_range(r, 5, 7);             /* 5 CSS rounds after the one that saw the rise */
	assert_true(quarter >= 3);
	assert_true(b->s.ssthresh != ZC__TCP_SSTHRESH_INIT); /* avoidance from there, with no loss */
	assert_true(b->s.cwnd >= b->s.ssthresh && b->s.cwnd - b->s.ssthresh < 2 * MSS);
	assert_true(ss_round(b, up) <= 1);          /* a segment a round */
}

/* A rise within the threshold is not one; a rise undone by the next
 * round sends CSS back to slow start. */
static void test_hystart_noise(void **state)
{
	struct bed *b = *state;
	hs_start(b, &zc__cc_newreno);
	ss_round(b, RTT_NS);
	ss_round(b, RTT_NS);
	uint32_t w = b->s.cwnd / MSS;
	assert_int_equal(ss_round(b, RTT_NS + 12000000ull), w); /* +12 ms < 12.5 */
	assert_int_equal(b->st->tcp->stats.hystart_css, 0);
	ss_round(b, RTT_NS + 30000000ull);
	assert_int_equal(b->st->tcp->stats.hystart_css, 1);
	ss_round(b, RTT_NS); /* back below the RTT that started CSS */
	assert_int_equal(b->st->tcp->stats.hystart_css_undone, 1);
	w = b->s.cwnd / MSS;
	assert_int_equal(ss_round(b, RTT_NS), w); /* doubling again */
}

/* no_hystart: slow start doubles through any RTT. */
static void test_hystart_off(void **state)
{
	struct bed *b = *state;
	b->st->tcp->cfg.no_hystart = true;
	hs_start(b, &zc__cc_cubic);
	ss_round(b, RTT_NS);
	ss_round(b, RTT_NS);
	uint32_t w = b->s.cwnd / MSS;
	assert_int_equal(ss_round(b, 2 * RTT_NS), w);
	assert_int_equal(b->st->tcp->stats.hystart_css, 0);
}

static void test_cc_names(void **state)
{
	(void)state;
	assert_ptr_equal(zc__cc_find("cubic"), &zc__cc_cubic);
	assert_ptr_equal(zc__cc_find("newreno"), &zc__cc_newreno);
	assert_ptr_equal(zc__cc_find("reno"), &zc__cc_newreno);
	assert_null(zc__cc_find("bbr"));
	assert_null(zc__cc_find(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cubic_beta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cubic_curve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cubic_fast_convergence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cubic_reno_friendly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cubic_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hystart_rising_rtt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hystart_noise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hystart_off, setup, teardown),
		cmocka_unit_test(test_cc_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_tcp_rack.c - RACK (RFC 8985 6, stack/tcp_rack.c) against a scripted
 * peer that SACKs, in virtual time with a 10 ms round trip: loss found by
 * time where RFC 6675 would count, the reorder timer, reordering waited
 * out and the window widened by a DSACK, a lost retransmission found
 * again without the RTO, and the fallback to RFC 6675 when the send-time
 * map cannot be had or can no longer hold the ranges. Tail loss probes are
 * off (no_tlp) so that every segment the stack sends is RACK's. The test
 * plays the peer (tcp_fixture.h, sack_fixture.h). */
#include "sack_fixture.h"
#include "stack/tcp_priv.h"

#define RTT (10 * MS)

struct conn {
	struct env *e;
	struct zc_tcp_sock *c, *l;
	uint32_t una; /* the first byte of the test's data */
	char d[32 * MSS];
};

static int setup_conn(void **state, bool arena)
{
	if (setup_in(state, arena) != 0)
		return -1;
	struct conn *k = calloc(1, sizeof(*k));
	k->e = *state;
	assert_int_equal(zc_tcp_configure(k->e->st, &(struct zc_tcp_config){ .no_tlp = true }), 0);
	uint32_t iss;
	bool ok;
	k->c = open_sack(k->e, &k->l, &iss, &ok, RTT);
	assert_true(ok);
	k->una = iss + 1;
	*state = k;
	return 0;
}

static int setup_rack(void **state)
{
	return setup_conn(state, false);
}

static int setup_rack_arena(void **state)
{
	return setup_conn(state, true);
}

static int teardown_rack(void **state)
{
	struct conn *k = *state;
	zc_tcp_close(k->c);
	zc_tcp_close(k->l);
	*state = k->e;
	free(k);
	return teardown(state);
}

/* Start of the k-th segment (1-based) of the test's data. */
#define SEG(k) (c->una + ((k) - 1) * MSS)

/* Segments `from`..`to` (1-based) of a pattern sent now, one burst. */
static void send_burst(struct conn *c, uint32_t from, uint32_t to)
{
	char *d = c->d + (from - 1) * MSS;
	uint32_t n = to - from + 1;
	for (uint32_t i = 0; i < n * MSS; i++)
		d[i] = (char)(i * 13 + from);
	assert_int_equal(zc_tcp_send(c->c, d, n * MSS), (ssize_t)(n * MSS));
	struct seg s;
	uint32_t got = 0;
	while (rx(c->e, &s)) {
		assert_int_equal(s.len, MSS);
		assert_int_equal(s.th.seq, SEG(from + got));
		got++;
	}
	assert_int_equal(got, n);
}

/* The data segments the stack sends now: a bit per segment number, each
 * checked against what was sent. */
static uint32_t resent(struct conn *c)
{
	uint32_t bits = 0;
	struct seg s;
	while (rx(c->e, &s)) {
		if (s.len == 0)
			continue;
		assert_int_equal(s.len, MSS);
		uint32_t k = (s.th.seq - c->una) / MSS + 1;
		assert_int_equal(s.th.seq, SEG(k));
		assert_memory_equal(s.data, c->d + (k - 1) * MSS, MSS);
		bits |= 1u << k;
	}
	return bits;
}

/* One segment SACKed above three outstanding: RFC 6675 would wait for two
 * more, RACK waits a reordering window (a quarter of the minimum RTT)
 * after the RTT has passed, on its reorder timer, then takes the three as
 * lost and recovers without the retransmission timer. */
static void test_rack_reorder_timer(void **state)
{
	struct conn *c = *state;
	struct env *e = c->e;
	send_burst(c, 1, 4);
	run(e, RTT);
	tx_sack(e, SEG(1), 1, (uint32_t[]){ SEG(4), SEG(5) });
	assert_int_equal(resent(c), 0);
	run(e, 2 * MS); /* RTT + 2 ms: inside the window */
	assert_int_equal(resent(c), 0);
	assert_int_equal(tcp_stats(e).rack_timeouts, 0);
	run(e, 1 * MS); /* RTT + 3 ms: past RTT + RTT/4 */
	uint32_t bits = resent(c);
	assert_true(bits & (1u << 1));
	assert_false(bits & (1u << 4)); /* never what the peer holds */
	struct zc_tcp_stats ts = tcp_stats(e);
	assert_int_equal(ts.rack_timeouts, 1);
	assert_int_equal(ts.rack_marked, 3);
	assert_int_equal(ts.sack_recoveries, 1);
	assert_int_equal(ts.timeouts, 0);
	tx(e, F_A, e->pseq, SEG(5), NULL, 0);
	assert_int_equal(resent(c), 0);
}

/* Reordering: the three segments below a SACKed one arrive inside the
 * window, and nothing is resent (RACK notes the reordering). A recovery
 * that a DSACK proves spurious widens the window to twice a quarter of the
 * minimum RTT: the next such wait lasts past RTT + 3 ms. */
static void test_rack_reordering_then_dsack(void **state)
{
	struct conn *c = *state;
	struct env *e = c->e;
	send_burst(c, 1, 4);
	run(e, RTT);
	tx_sack(e, SEG(1), 1, (uint32_t[]){ SEG(4), SEG(5) });
	run(e, 1 * MS);
	tx(e, F_A, e->pseq, SEG(5), NULL, 0);
	run(e, 5 * MS);
	assert_int_equal(resent(c), 0);
	struct zc_tcp_stats ts = tcp_stats(e);
	assert_int_equal(ts.rack_reordering, 1);
	assert_int_equal(ts.retrans_segs, 0);

	/* reordering again, longer than the window: a spurious recovery */
	send_burst(c, 5, 8);
	run(e, RTT);
	tx_sack(e, SEG(5), 1, (uint32_t[]){ SEG(8), SEG(9) });
	run(e, 3 * MS);
	assert_true(resent(c) & (1u << 5));
	/* the originals were only late: all acknowledged, the first resent
	 * one reported twice (a DSACK below the cumulative ACK) */
	tx_sack(e, SEG(9), 1, (uint32_t[]){ SEG(5), SEG(6) });
	assert_int_equal(tcp_stats(e).dsacks_in, 1);
	assert_int_equal(resent(c), 0);

	/* the same pattern now waits out RTT + 3 ms, and is resent by 6 */
	send_burst(c, 9, 12);
	run(e, RTT);
	tx_sack(e, SEG(9), 1, (uint32_t[]){ SEG(12), SEG(13) });
	run(e, 3 * MS);
	assert_int_equal(resent(c), 0);
	run(e, 3 * MS);
	assert_true(resent(c) & (1u << 9));
	assert_int_equal(tcp_stats(e).timeouts, 0);
	tx(e, F_A, e->pseq, SEG(13), NULL, 0);
}

/* Three of six lost and resent; the first retransmission is lost again.
 * When the peer SACKs the retransmissions sent after it, RACK finds it
 * lost by time and sends it a third time, long before the RTO (RFC
 * 6675's count cannot: its SACKed segments above it were counted once). */
static void test_rack_lost_retransmission(void **state)
{
	struct conn *c = *state;
	struct env *e = c->e;
	send_burst(c, 1, 6);
	run(e, RTT);
	/* three SACKed above: no window to wait */
	tx_sack(e, SEG(1), 1, (uint32_t[]){ SEG(4), SEG(7) });
	uint32_t bits = resent(c);
	assert_int_equal(bits, (1u << 1) | (1u << 2) | (1u << 3));
	run(e, RTT + MS);
	/* the resent 2nd and 3rd arrive, the 1st does not */
	tx_sack(e, SEG(1), 1, (uint32_t[]){ SEG(2), SEG(7) });
	assert_int_equal(resent(c), 1u << 1);
	struct zc_tcp_stats ts = tcp_stats(e);
	assert_int_equal(ts.lost_retransmits, 1);
	assert_int_equal(ts.timeouts, 0);
	tx(e, F_A, e->pseq, SEG(7), NULL, 0);
	assert_int_equal(resent(c), 0);
}

/* No memory for the send-time map at the first data segment: the
 * connection goes on with RFC 6675's rules (three SACKed segments above
 * a hole make it lost at once), counted as a fallback. */
static void test_rack_fallback_no_memory(void **state)
{
	struct conn *c = *state;
	struct env *e = c->e;
	zc_arena_fail_nth(e->arena, 1);
	send_burst(c, 1, 4);
	struct zc_arena_stats as;
	zc_arena_stats(e->arena, &as);
	assert_int_equal(as.injected, 1);
	assert_false(zc__rack_on(c->c));
	assert_int_equal(tcp_stats(e).rack_fallbacks, 1);
	send_burst(c, 5, 5); /* it does not try again */
	assert_false(zc__rack_on(c->c));
	run(e, RTT);
	tx_sack(e, SEG(1), 1, (uint32_t[]){ SEG(2), SEG(3) });
	tx_sack(e, SEG(1), 1, (uint32_t[]){ SEG(2), SEG(4) });
	assert_int_equal(resent(c), 0);
	tx_sack(e, SEG(1), 1, (uint32_t[]){ SEG(2), SEG(5) });
	assert_true(resent(c) & (1u << 1));
	struct zc_tcp_stats ts = tcp_stats(e);
	assert_int_equal(ts.rack_marked, 0);
	assert_int_equal(ts.sack_recoveries, 1);
	tx(e, F_A, e->pseq, SEG(6), NULL, 0);
	assert_int_equal(resent(c), 0);
}

/* The map itself: more ranges than entries merge neighbours of one kind
 * (the map still covers every byte, in order); SACK blocks on every other
 * segment leave no two neighbours alike, and the connection falls back to
 * RFC 6675 instead of losing a range. Driven through the map's own calls
 * on a connection that has sent nothing on the wire. */
static void test_rack_map_full(void **state)
{
	struct conn *c = *state;
	struct env *e = c->e;
	struct zc_tcp_sock *s = c->c;
	const uint32_t n = ZC__RACK_SEGS + 44;
	for (uint32_t i = 0; i < n; i++)
		zc__rack_sent(s, SEG(i + 1), MSS); /* each its own range: no RTT yet */
	assert_true(zc__rack_on(s));
	assert_int_equal(s->rack.n, ZC__RACK_SEGS);
	assert_int_equal(tcp_stats(e).rack_merges, 44);
	const struct zc__rack_seg *m = &s->rack.seg[s->rack.head];
	for (uint32_t i = 1; i < s->rack.n; i++) {
		assert_true(seq_lt(m[i - 1].r, m[i].r));
		assert_true(m[i - 1].xmit_ns < m[i].xmit_ns);
	}
	assert_int_equal(m[s->rack.n - 1].r, SEG(n + 1));
	for (uint32_t i = 1; i < n && zc__rack_on(s); i += 2)
		zc__rack_sacked(s, SEG(i + 1), SEG(i + 2));
	assert_false(zc__rack_on(s));
	assert_true(s->rack.failed);
	assert_int_equal(tcp_stats(e).rack_fallbacks, 1);
	zc__rack_sent(s, SEG(1), MSS);
	assert_false(zc__rack_on(s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rack_reorder_timer, setup_rack, teardown_rack),
		cmocka_unit_test_setup_teardown(test_rack_reordering_then_dsack, setup_rack, teardown_rack),
		cmocka_unit_test_setup_teardown(test_rack_lost_retransmission, setup_rack, teardown_rack),
		cmocka_unit_test_setup_teardown(test_rack_fallback_no_memory, setup_rack_arena, teardown_rack),
		cmocka_unit_test_setup_teardown(test_rack_map_full, setup_rack, teardown_rack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

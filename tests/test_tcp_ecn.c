/*
 * test_tcp_ecn.c - ECN (RFC 3168) against a scripted peer on a Trapeze
 * wire (tcp_fixture.h): the handshake's negotiation both ways and by
 * default (accepted, never asked), ECT(0) on new data only, ECE from a CE
 * mark until the peer's CWR, and the sender's reduction for an ECE, once a
 * window, with CWR on the next new data.
 */
#include "tcp_fixture.h"

#define F_E ZC_TCP_ECE
#define F_C ZC_TCP_CWR

/* The peer opens with an ECN-setup SYN (ECE and CWR); returns the
 * connection and its listener in *l, our ISN in *iss. */
static struct zc_tcp_sock *open_ecn(struct env *e, struct zc_tcp_sock **l, uint32_t *iss, uint8_t *synack_flags)
{
	*l = zc_tcp_socket(e->st);
	assert_int_equal(zc_tcp_bind(*l, 0, 5000), 0);
	assert_int_equal(zc_tcp_listen(*l, 8), 0);
	struct zc_tcp_opts o = { .has_mss = true, .mss = 1460, .has_ts = true, .tsval = e->ptsval };
	tx_opts(e, F_S | F_E | F_C, e->pseq, 0, 65535, NULL, 0, &o);
	struct seg s;
	assert_true(rx(e, &s));
	*synack_flags = s.th.flags;
	e->pseq++;
	*iss = s.th.seq;
	tx(e, F_A, e->pseq, s.th.seq + 1, NULL, 0);
	int err;
	struct zc_tcp_sock *c = zc_tcp_accept(*l, &err);
	assert_non_null(c);
	zc_tcp_setopt(c, ZC_TCP_OPT_QUICKACK, 0); /* delayed ACKs from the start */
	return c;
}

/* By default ECN is accepted: the SYN-ACK says ECE (not CWR); new data
 * goes ECT(0), pure ACKs and retransmissions do not. */
static void test_accepted_and_ect(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l, *c;
	uint32_t iss;
	uint8_t fl;
	c = open_ecn(e, &l, &iss, &fl);
	assert_int_equal(fl, F_S | F_A | F_E);
	assert_int_equal(tcp_stats(e).ecn_conns, 1);
	assert_int_equal(zc_tcp_send(c, "abcd", 4), 4);
	struct seg s;
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.tos & ZC_IP_ECN_MASK, ZC_IP_ECN_ECT0);
	run(e, 1500 * MS); /* its retransmissions (a probe, the RTO): not ECT */
	uint32_t again = 0;
	while (rx(e, &s)) {
		assert_int_equal(s.len, 4);
		assert_int_equal(s.tos & ZC_IP_ECN_MASK, 0);
		again++;
	}
	assert_true(again >= 1);
	tx(e, F_A | F_P, e->pseq, iss + 5, "xy", 2);
	e->pseq += 2;
	run(e, 100 * MS);
	expect(e, &s, F_A); /* the ACK of the peer's data */
	assert_int_equal(s.tos & ZC_IP_ECN_MASK, 0);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* With ECN off, an ECN-setup SYN gets a plain SYN-ACK and data goes Not-ECT. */
static void test_off(void **state)
{
	struct env *e = *state;
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .ecn = ZC_TCP_ECN_OFF }), 0);
	struct zc_tcp_sock *l, *c;
	uint32_t iss;
	uint8_t fl;
	c = open_ecn(e, &l, &iss, &fl);
	assert_int_equal(fl, F_S | F_A);
	assert_int_equal(zc_tcp_send(c, "abcd", 4), 4);
	struct seg s;
	expect(e, &s, F_A | F_P);
	assert_int_equal(s.tos & ZC_IP_ECN_MASK, 0);
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .ecn = 7 }), -EINVAL);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* A CE mark: every ACK carries ECE until a segment with CWR comes. */
static void test_ce_echoed_until_cwr(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l, *c;
	uint32_t iss;
	uint8_t fl;
	c = open_ecn(e, &l, &iss, &fl);
	struct seg s;
	e->ptos = ZC_IP_ECN_CE;
	tx(e, F_A | F_P, e->pseq, iss + 1, "a", 1);
	e->pseq += 1;
	e->ptos = ZC_IP_ECN_ECT0;
	expect(e, &s, F_A | F_E); /* at once */
	assert_int_equal(tcp_stats(e).ecn_ce_in, 1);
	tx(e, F_A | F_P, e->pseq, iss + 1, "b", 1);
	e->pseq += 1;
	run(e, 100 * MS);
	expect(e, &s, F_A | F_E); /* still */
	tx(e, F_A | F_P | F_C, e->pseq, iss + 1, "c", 1);
	e->pseq += 1;
	run(e, 100 * MS);
	expect(e, &s, F_A); /* the CWR ends it */
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* The peer's ECE cuts the window once a window (cubic: to 0.7), the next
 * new data says CWR; another ECE for the same window changes nothing; one
 * after SND.UNA passed the window cuts again. */
static void test_ece_reduces_once_a_window(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l, *c;
	uint32_t iss;
	uint8_t fl;
	c = open_ecn(e, &l, &iss, &fl);
	static char d[8 * 1000];
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	struct seg s;
	uint32_t end = iss + 1;
	while (rx(e, &s))
		end = s.th.seq + s.len;
	struct zc_tcp_info ti;
	zc_tcp_get_info(c, &ti);
	uint32_t cwnd0 = ti.tcpi_snd_cwnd;
	tx(e, F_A | F_E, e->pseq, iss + 1 + 1000, NULL, 0);
	assert_int_equal(tcp_stats(e).ecn_reductions, 1);
	zc_tcp_get_info(c, &ti);
	assert_true(ti.tcpi_snd_cwnd <= cwnd0 * 7 / 10 + 1);
	uint32_t cwnd1 = ti.tcpi_snd_cwnd;
	tx(e, F_A | F_E, e->pseq, iss + 1 + 2000, NULL, 0); /* the same window */
	assert_int_equal(tcp_stats(e).ecn_reductions, 1);
	tx(e, F_A, e->pseq, end, NULL, 0); /* all of it */
	while (rx(e, &s))
		;
	assert_int_equal(zc_tcp_send(c, d, 1000), 1000);
	expect(e, &s, F_A | F_P | F_C); /* CWR on the new data */
	assert_int_equal(s.tos & ZC_IP_ECN_MASK, ZC_IP_ECN_ECT0);
	tx(e, F_A, e->pseq, end + 1000, NULL, 0);
	assert_int_equal(zc_tcp_send(c, d, 1000), 1000);
	expect(e, &s, F_A | F_P); /* once */
	tx(e, F_A | F_E, e->pseq, end + 2000, NULL, 0); /* past the window: again */
	assert_int_equal(tcp_stats(e).ecn_reductions, 2);
	zc_tcp_get_info(c, &ti);
	assert_true(ti.tcpi_snd_cwnd < cwnd1 + 2);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* Active opens: by default the SYN does not ask; with ECN on it does,
 * and the connection uses ECN only if the SYN-ACK agrees. */
static void test_active(void **state)
{
	struct env *e = *state;
	for (int on = 0; on < 2; on++) {
		for (int agree = 0; agree < 2; agree++) {
			assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){
						.ecn = on ? ZC_TCP_ECN_ON : ZC_TCP_ECN_DEFAULT }), 0);
			struct zc_tcp_sock *c = zc_tcp_socket(e->st);
			e->pport = (uint16_t)(41000 + on * 2 + agree);
			assert_int_equal(zc_tcp_connect(c, IP_P, e->pport), -EINPROGRESS);
			struct seg s;
			assert_true(rx(e, &s));
			assert_int_equal(s.th.flags, on ? (F_S | F_E | F_C) : F_S);
			e->sport = s.th.sport;
			struct zc_tcp_opts o = { .has_mss = true, .mss = 1460 };
			tx_opts(e, F_S | F_A | (agree ? F_E : 0), 9000, s.th.seq + 1, 65535, NULL, 0, &o);
			assert_int_equal(zc_tcp_get_state(c), ZC_TCP_ESTABLISHED);
			while (rx(e, &s))
				;
			assert_int_equal(zc_tcp_send(c, "q", 1), 1);
			expect(e, &s, F_A | F_P);
			assert_int_equal(s.tos & ZC_IP_ECN_MASK, on && agree ? ZC_IP_ECN_ECT0 : 0);
			zc_tcp_close(c);
			while (rx(e, &s))
				;
		}
	}
	e->sport = 5000;
	e->pport = 40000;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accepted_and_ect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ce_echoed_until_cwr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ece_reduces_once_a_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

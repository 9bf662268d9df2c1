/*
 * test_tcp_pmtu.c - path MTU discovery without ICMP (stack/tcp_pmtu.c)
 * against a scripted peer on a Trapeze wire: a path that silently drops
 * full segments (a black hole) makes the MSS fall to 1024 after three
 * timeouts of the same data, the data then gets through, and the MSS
 * steps back up after the probe interval (mtu_probing on); off, the
 * default as on Linux, it stays.
 */
#include "tcp_fixture.h"

/* The data segments the stack sends for the next ms of virtual time:
 * the largest length seen, and the count. */
static uint32_t largest(struct env *e, uint64_t ms, uint32_t *n)
{
	uint32_t big = 0;
	*n = 0;
	struct seg s;
	for (uint64_t t = 0; t < ms; t += 10) {
		run(e, 10 * MS);
		while (rx(e, &s))
			if (s.len) {
				big = s.len > big ? s.len : big;
				(*n)++;
			}
	}
	return big;
}

/* The peer ACKs whatever arrives, until all up to `end` is acknowledged;
 * returns the largest data segment seen. */
static uint32_t ack_through(struct env *e, uint32_t end)
{
	uint32_t big = 0, acked = 0;
	struct seg s;
	for (int i = 0; i < 1000 && acked != end; i++) {
		run(e, 10 * MS);
		while (rx(e, &s))
			if (s.len) {
				big = s.len > big ? s.len : big;
				acked = s.th.seq + s.len;
				tx(e, F_A, e->pseq, acked, NULL, 0);
			}
	}
	assert_int_equal(acked, end);
	return big;
}

static void test_black_hole(void **state)
{
	struct env *e = *state;
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .mtu_probing = ZC_TCP_MTU_PROBING_ON }), 0);
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	static char d[4 * 1448];
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	uint32_t n, big = largest(e, 10, &n);
	assert_int_equal(big, 1448);
	/* nothing of that size arrives: the probe and three timeouts */
	for (int i = 0; i < 60 && tcp_stats(e).pmtu_blackholes == 0; i++)
		largest(e, 100, &n);
	assert_int_equal(tcp_stats(e).pmtu_blackholes, 1);
	assert_int_equal(tcp_stats(e).timeouts, 3);
	big = largest(e, 3000, &n);
	assert_true(n > 0);
	assert_int_equal(big, 1024); /* the retransmission, smaller */
	tx(e, F_A, e->pseq, iss + 1 + sizeof(d), NULL, 0); /* small ones get through */
	uint32_t end = iss + 1 + sizeof(d);
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	end += sizeof(d);
	assert_int_equal(ack_through(e, end), 1024);
	/* the probe interval later, an ACK of new data steps back up */
	e->now += 600000 * MS;
	assert_int_equal(zc_tcp_send(c, d, 1024), 1024);
	end += 1024;
	ack_through(e, end);
	assert_int_equal(tcp_stats(e).pmtu_probes, 1);
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	end += sizeof(d);
	assert_int_equal(ack_through(e, end), 1448);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

/* mtu_probing off (the default): the timeouts keep the segment size. */
static void test_off(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *l;
	uint32_t iss;
	struct zc_tcp_sock *c = open_passive(e, &l, &iss);
	static char d[2 * 1448];
	assert_int_equal(zc_tcp_send(c, d, sizeof(d)), (ssize_t)sizeof(d));
	uint32_t n;
	for (int i = 0; i < 80 && tcp_stats(e).timeouts < 4; i++)
		largest(e, 100, &n);
	assert_true(tcp_stats(e).timeouts >= 4);
	assert_int_equal(tcp_stats(e).pmtu_blackholes, 0);
	assert_int_equal(largest(e, 4000, &n), 1448);
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .mtu_probing = 9 }), -EINVAL);
	zc_tcp_close(c);
	zc_tcp_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_black_hole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_off, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

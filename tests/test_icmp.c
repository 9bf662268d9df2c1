/*
 * test_icmp.c - ICMP errors the stack receives, and what each does to the
 * socket its quote names (stack/icmp.c, udp.c, tcp_input.c), as Linux does:
 * a port unreachable fails a connected UDP socket's next call with
 * ECONNREFUSED; an unreachable aborts a TCP connect in SYN_SENT and is a
 * soft error (SO_ERROR, or instead of ETIMEDOUT) once connected;
 * "fragmentation needed" lowers the MSS (floor 512) and resends; a quote
 * outside SND.UNA..SND.NXT changes nothing. On test_drops.c's fake NIC.
 */
#include "drops_fixture.h"

#include <poll.h>

static int setup(void **state)
{
	*state = env_create("icmp", 0);
	return 0;
}

static int teardown(void **state)
{
	env_destroy(*state);
	return 0;
}

/* X tells B about a packet B sent: type/code, quoting proto sport -> dport, seq. */
static void icmp_in(struct env *e, uint8_t type, uint8_t code, uint16_t mtu, uint8_t proto, uint16_t sport,
		    uint16_t dport, uint32_t seq)
{
	size_t n = icmp_error_msg(e->l4, type, code, mtu, proto, IP_X, sport, dport, seq);
	inject(e, e->f, ip_frame(e->f, ZC_IPPROTO_ICMP, e->l4, n));
}

static uint64_t bad_quotes(struct env *e) { return zc_stack_drops(e->st)->n[ZC_DROP_ICMP_BAD_QUOTE]; }

static void test_udp_port_unreachable(void **state)
{
	struct env *e = *state;
	char buf[8];
	struct zc_udp_sock *c = zc_udp_open(e->st), *u = zc_udp_open(e->st);
	assert_int_equal(zc_udp_bind(c, 0, 9), 0);
	assert_int_equal(zc_udp_bind(u, 0, 10), 0);
	zc_udp_connect(c, IP_X, 4000);
	/* to the connected socket: its next call fails, once */
	icmp_in(e, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_PORT, 0, ZC_IPPROTO_UDP, 9, 4000, 0);
	assert_true(zc_udp_has_error(c));
	assert_int_equal(zc_udp_recvfrom(c, buf, sizeof(buf), NULL, NULL), -ECONNREFUSED);
	assert_int_equal(zc_udp_recvfrom(c, buf, sizeof(buf), NULL, NULL), -EAGAIN);
	icmp_in(e, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_PORT, 0, ZC_IPPROTO_UDP, 9, 4000, 0);
	assert_int_equal(zc_udp_sendto(c, "x", 1, IP_X, 4000), -ECONNREFUSED);
	icmp_in(e, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_PORT, 0, ZC_IPPROTO_UDP, 9, 4000, 0);
	assert_int_equal(zc_udp_error(c), ECONNREFUSED);
	assert_int_equal(zc_udp_error(c), 0);
	/* a soft error (host unreachable), another peer, an unconnected
	 * socket: nobody is told (Linux without IP_RECVERR) */
	icmp_in(e, ZC_ICMP_UNREACH, 1 /* host */, 0, ZC_IPPROTO_UDP, 9, 4000, 0);
	icmp_in(e, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_PORT, 0, ZC_IPPROTO_UDP, 9, 4001, 0);
	icmp_in(e, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_PORT, 0, ZC_IPPROTO_UDP, 10, 4000, 0);
	assert_false(zc_udp_has_error(c));
	assert_false(zc_udp_has_error(u));
	assert_int_equal(bad_quotes(e), 0);
	zc_udp_close(c);
	zc_udp_close(u);
}

/* B connects to X:40000 from port 80; returns the ISS. */
static uint32_t connect_x(struct env *e, struct zc_tcp_sock **sp)
{
	resolve_x(e);
	struct zc_tcp_sock *s = *sp = zc_tcp_socket(e->st);
	assert_int_equal(zc_tcp_bind(s, 0, 80), 0);
	assert_int_equal(zc_tcp_connect(s, IP_X, 40000), -EINPROGRESS);
	struct zc_tcp t;
	last_sent_tcp(e, &t);
	return t.seq;
}

static void test_tcp_syn_sent(void **state)
{
	struct env *e = *state;
	struct zc_tcp_sock *s;
	uint32_t iss = connect_x(e, &s);
	/* a quote of a sequence number not sent: dropped, the connect goes on */
	icmp_in(e, ZC_ICMP_UNREACH, 1, 0, ZC_IPPROTO_TCP, 80, 40000, iss + 2);
	assert_int_equal(bad_quotes(e), 1);
	assert_int_equal(zc_tcp_get_state(s), ZC_TCP_SYN_SENT);
	/* another connection's ports: dropped */
	icmp_in(e, ZC_ICMP_UNREACH, 1, 0, ZC_IPPROTO_TCP, 81, 40000, iss);
	assert_int_equal(bad_quotes(e), 2);
	assert_int_equal(zc_tcp_get_state(s), ZC_TCP_SYN_SENT);
	/* our SYN's: the connect fails with the error (Linux: tcp_done_with_error) */
	icmp_in(e, ZC_ICMP_UNREACH, 1, 0, ZC_IPPROTO_TCP, 80, 40000, iss);
	assert_int_equal(zc_tcp_get_state(s), ZC_TCP_CLOSED);
	assert_true(zc_tcp_events(s) & POLLERR);
	assert_int_equal(zc_tcp_error(s), EHOSTUNREACH);
	zc_tcp_close(s);
}

static void test_tcp_soft_error(void **state)
{
	struct env *e = *state;
	struct conn c;
	tcp_establish(e, &c);
	icmp_in(e, ZC_ICMP_UNREACH, 1, 0, ZC_IPPROTO_TCP, 80, 40000, c.rcv_nxt);
	assert_int_equal(bad_quotes(e), 0);
	assert_int_equal(zc_tcp_get_state(c.s), ZC_TCP_ESTABLISHED);
	assert_int_equal(zc_tcp_error(c.s), 0);
	assert_int_equal(zc_tcp_soft_error(c.s), EHOSTUNREACH);
	assert_int_equal(zc_tcp_soft_error(c.s), 0);
	/* kept until the retries run out: then it replaces ETIMEDOUT */
	icmp_in(e, ZC_ICMP_UNREACH, 1, 0, ZC_IPPROTO_TCP, 80, 40000, c.rcv_nxt);
	assert_int_equal(zc_tcp_send(c.s, "abc", 3), 3);
	zc_stack_poll(e->st, e->now);
	for (int i = 0; i < 40 && zc_tcp_get_state(c.s) != ZC_TCP_CLOSED; i++) {
		e->now += 130000000000ull; /* past any backed-off RTO */
		zc_stack_poll(e->st, e->now);
	}
	assert_int_equal(zc_tcp_get_state(c.s), ZC_TCP_CLOSED);
	assert_int_equal(zc_tcp_error(c.s), EHOSTUNREACH);
	zc_tcp_close(c.s);
	zc_tcp_close(c.l);
}

/* The data length of the last TCP segment B sent. */
static uint32_t last_data_len(struct env *e)
{
	const uint8_t *ip = e->nic->last + ZC_ETH_HLEN;
	size_t hl = zc_ipv4_peek_hdr_len(ip, ZC_IPV4_HLEN);
	size_t th = zc_tcp_peek_hdr_len(ip + hl, e->nic->last_len - ZC_ETH_HLEN - hl);
	return (uint32_t)(e->nic->last_len - ZC_ETH_HLEN - hl - th);
}

static void test_tcp_frag_needed(void **state)
{
	struct env *e = *state;
	struct conn c;
	tcp_establish(e, &c);
	struct zc_tcp_info ti;
	zc_tcp_get_info(c.s, &ti);
	assert_int_equal(ti.tcpi_snd_mss, 1460 - 12);
	static uint8_t data[1448];
	memset(data, 'm', sizeof(data));
	assert_int_equal(zc_tcp_send(c.s, data, sizeof(data)), (ssize_t)sizeof(data));
	zc_stack_poll(e->st, e->now);
	assert_int_equal(last_data_len(e), 1448);
	uint32_t sent = e->nic->nsent;
	/* outside SND.UNA..SND.NXT: dropped, the MSS stays */
	icmp_in(e, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_NEEDFRAG, 1000, ZC_IPPROTO_TCP, 80, 40000, c.rcv_nxt + 2000);
	assert_int_equal(bad_quotes(e), 1);
	zc_tcp_get_info(c.s, &ti);
	assert_int_equal(ti.tcpi_snd_mss, 1448);
	/* in the window: MTU 1000, and what is outstanding goes again in smaller segments */
	icmp_in(e, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_NEEDFRAG, 1000, ZC_IPPROTO_TCP, 80, 40000, c.rcv_nxt);
	zc_tcp_get_info(c.s, &ti);
	assert_int_equal(ti.tcpi_snd_mss, 1000 - 40 - 12);
	assert_true(e->nic->nsent > sent);
	assert_int_equal(last_data_len(e), 1448 - 948);
	/* an MTU below 552 (or 0, an old router's): 552 */
	icmp_in(e, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_NEEDFRAG, 68, ZC_IPPROTO_TCP, 80, 40000, c.rcv_nxt);
	zc_tcp_get_info(c.s, &ti);
	assert_int_equal(ti.tcpi_snd_mss, 512 - 12);
	/* a larger MTU never raises it */
	icmp_in(e, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_NEEDFRAG, 1400, ZC_IPPROTO_TCP, 80, 40000, c.rcv_nxt);
	zc_tcp_get_info(c.s, &ti);
	assert_int_equal(ti.tcpi_snd_mss, 500);
	assert_int_equal(bad_quotes(e), 1);
	assert_int_equal(zc_tcp_get_state(c.s), ZC_TCP_ESTABLISHED);
	zc_tcp_close(c.s);
	zc_tcp_close(c.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_port_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_syn_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_soft_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_frag_needed, setup, teardown),
	};
	zc_log_set_level(ZC_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

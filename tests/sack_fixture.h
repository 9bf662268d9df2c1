/* sack_fixture.h - what the SACK and RACK tests (test_tcp_sack.c,
 * test_tcp_rack.c) share on top of tcp_fixture.h: a passive open where the
 * peer offers SACK, the peer's ACK carrying SACK blocks, and a run of full
 * segments sent and taken off the wire. */
#ifndef ZC_TESTS_SACK_FIXTURE_H
#define ZC_TESTS_SACK_FIXTURE_H

#include "tcp_fixture.h"

#define MSS 1448u

/* A passive open where the peer offers SACK (and timestamps, as Linux);
 * the handshake's ACK comes rtt ns after the SYN-ACK. */
static inline struct zc_tcp_sock *open_sack(struct env *e, struct zc_tcp_sock **lsock, uint32_t *iss, bool *peer_ok,
					    uint64_t rtt)
{
	struct zc_tcp_sock *l = zc_tcp_socket(e->st);
	assert_int_equal(zc_tcp_bind(l, 0, 5000), 0);
	assert_int_equal(zc_tcp_listen(l, 8), 0);
	struct zc_tcp_opts o = { .has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 2, .has_ts = true,
				 .tsval = e->ptsval, .sack_ok = true };
	tx_opts(e, F_S, e->pseq, 0, 65535, NULL, 0, &o);
	struct seg s;
	expect(e, &s, F_S | F_A);
	*peer_ok = s.th.opt.sack_ok;
	e->pseq++;
	*iss = s.th.seq;
	run(e, rtt);
	tx(e, F_A, e->pseq, s.th.seq + 1, NULL, 0);
	int err;
	struct zc_tcp_sock *c = zc_tcp_accept(l, &err);
	assert_non_null(c);
	*lsock = l;
	zc_tcp_setopt(c, ZC_TCP_OPT_QUICKACK, 0);
	zc_tcp_setopt(c, ZC_TCP_OPT_NODELAY, 1);
	return c;
}

/* The peer's ACK of `ack` carrying SACK blocks [l0, r0), [l1, r1), ... */
static inline void tx_sack(struct env *e, uint32_t ack, unsigned n, const uint32_t *lr)
{
	struct zc_tcp_opts o = { .has_ts = true, .tsval = e->ptsval, .tsecr = e->last_tsval, .nsack = (uint8_t)n };
	for (unsigned i = 0; i < n; i++)
		o.sack[i] = (struct zc_tcp_sack_block){ lr[2 * i], lr[2 * i + 1] };
	tx_opts(e, F_A, e->pseq, ack, 65535, NULL, 0, &o);
}

/* Sends nseg full segments of a pattern and takes them off the wire. */
static inline void send_segments(struct env *e, struct zc_tcp_sock *c, uint32_t nseg, char *d)
{
	for (uint32_t i = 0; i < nseg * MSS; i++)
		d[i] = (char)(i * 7 + i / MSS);
	assert_int_equal(zc_tcp_send(c, d, nseg * MSS), (ssize_t)(nseg * MSS));
	struct seg s;
	uint32_t got = 0;
	while (rx(e, &s)) {
		assert_int_equal(s.len, MSS);
		got++;
	}
	assert_int_equal(got, nseg);
}

#endif

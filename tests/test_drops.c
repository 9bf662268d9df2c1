/*
 * test_drops.c - every drop reason in stack/drop.h, provoked once.
 *
 * One test per reason, named after it: a fresh stack on a fake NIC (the
 * test hands it frames and sees what it sends) is fed one bad input, and
 * exactly that reason's counter must rise by one while every other drop
 * counter stays where it was. The cases are a table of {reason, how}: one
 * bad frame (built after any preparation: a resolved neighbour, a listener,
 * a connection), or steps that mark() the counters before their last one.
 * The tests are made from drop.h's list, not from the table, so a reason
 * added there without an entry here fails as "no case"; an entry that
 * cannot provoke its reason says why instead, and the test reports it.
 */
#include "drops_fixture.h"

/* --- the cases that are one frame: built into f (after any preparation);
 * the test marks the counters and hands the frame over ------------------- */

static size_t f_eth_short(struct env *e, uint8_t *f)
{
	(void)e;
	memset(f, 0, 10);
	return 10;
}

static size_t arp_from_x(struct env *e, uint8_t *f, uint16_t op, uint32_t spa, uint32_t tpa)
{
	(void)e;
	return arp_frame(f, op, MAC_X, spa, tpa);
}

static size_t f_arp_short(struct env *e, uint8_t *f)
{
	return arp_from_x(e, f, ZC_ARP_REQUEST, IP_X, IP_B) - ZC_ARP_LEN + 20;
}

static size_t f_arp_format(struct env *e, uint8_t *f)
{
	size_t n = arp_from_x(e, f, ZC_ARP_REQUEST, IP_X, IP_B);
	zc_put16(f + ZC_ETH_HLEN, 6); /* hardware type: IEEE 802, not Ethernet */
	return n;
}

static size_t f_arp_op(struct env *e, uint8_t *f) { return arp_from_x(e, f, 3 /* RARP request */, IP_X, IP_B); }

static size_t f_ip_short(struct env *e, uint8_t *f)
{
	(void)e;
	eth(f, MAC_B, MAC_X, ZC_ETHERTYPE_IPV4);
	memset(f + ZC_ETH_HLEN, 0x45, 10);
	return ZC_ETH_HLEN + 10;
}

/* A datagram to port 9, from X to B. */
static size_t udp_frame(struct env *e, uint8_t *f)
{
	return ip_frame(f, ZC_IPPROTO_UDP, e->l4, udp_dgram(e->l4, 9, 8));
}

/* The same with byte 0 of the IP header (version and IHL) replaced, or the
 * total length, or the fragment field, and the checksum made right again. */
static size_t ip_changed(struct env *e, uint8_t *f, int first_byte, int total_len, int frag)
{
	size_t n = udp_frame(e, f);
	uint8_t *ip = f + ZC_ETH_HLEN;
	if (first_byte >= 0)
		ip[0] = (uint8_t)first_byte;
	if (total_len >= 0)
		zc_put16(ip + 2, (uint16_t)total_len);
	if (frag >= 0)
		zc_put16(ip + 6, (uint16_t)frag);
	ip_fix_csum(f);
	return n;
}
static size_t f_ip_version(struct env *e, uint8_t *f) { return ip_changed(e, f, 0x65, -1, -1); }
static size_t f_ip_ihl_small(struct env *e, uint8_t *f) { return ip_changed(e, f, 0x44, -1, -1); }
static size_t f_ip_ihl_long(struct env *e, uint8_t *f) { return ip_changed(e, f, 0x4f, -1, -1); } /* 60 of 36 */
static size_t f_ip_totlen_small(struct env *e, uint8_t *f) { return ip_changed(e, f, -1, 12, -1); }
static size_t f_ip_totlen_long(struct env *e, uint8_t *f) { return ip_changed(e, f, -1, 200, -1); }
static size_t f_ip_frag_bad(struct env *e, uint8_t *f) { return ip_changed(e, f, -1, -1, 8190 /* past 65535 */); }

static size_t f_ip_csum(struct env *e, uint8_t *f)
{
	size_t n = udp_frame(e, f);
	f[ZC_ETH_HLEN + 10] ^= 0x40;
	return n;
}

static size_t f_ip_opt_bad(struct env *e, uint8_t *f)
{
	size_t l4 = udp_dgram(e->l4, 9, 8);
	eth(f, MAC_B, MAC_X, ZC_ETHERTYPE_IPV4);
	struct zc_ipv4 ip = { .total_len = (uint16_t)(24 + l4), .ttl = 64, .proto = ZC_IPPROTO_UDP,
			      .src = IP_X, .dst = IP_B };
	uint8_t *h = f + ZC_ETH_HLEN;
	zc_ipv4_build(h, &ip);
	h[0] = 0x46; /* IHL 6: one option word */
	const uint8_t opt[4] = { 7 /* record route */, 1 /* length 1: malformed */, 0, 0 };
	memcpy(h + 20, opt, 4);
	memcpy(h + 24, e->l4, l4);
	ip_fix_csum(f);
	return ZC_ETH_HLEN + 24 + l4;
}

static size_t f_icmp_short(struct env *e, uint8_t *f)
{
	const uint8_t p[4] = { ZC_ICMP_ECHO_REQUEST, 0, 0, 0 };
	(void)e;
	return ip_frame(f, ZC_IPPROTO_ICMP, p, sizeof(p));
}

static size_t f_icmp_csum(struct env *e, uint8_t *f)
{
	size_t n = echo_request(e->l4, ZC_ICMP_ECHO_REQUEST);
	e->l4[2] ^= 0x11;
	return ip_frame(f, ZC_IPPROTO_ICMP, e->l4, n);
}

static size_t f_udp_short(struct env *e, uint8_t *f)
{
	memset(e->l4, 0, 4);
	return ip_frame(f, ZC_IPPROTO_UDP, e->l4, 4);
}

static size_t f_udp_len(struct env *e, uint8_t *f)
{
	struct zc_udp u = { .sport = 4000, .dport = 9 };
	zc_udp_build(e->l4, &u, IP_X, IP_B, 92, false); /* says 100 bytes; 18 follow */
	memset(e->l4 + ZC_UDP_HLEN, 0, 10);
	return ip_frame(f, ZC_IPPROTO_UDP, e->l4, 18);
}

static size_t f_udp_csum(struct env *e, uint8_t *f)
{
	size_t n = udp_dgram(e->l4, 9, 8);
	e->l4[ZC_UDP_HLEN] ^= 0x01;
	return ip_frame(f, ZC_IPPROTO_UDP, e->l4, n);
}

static size_t f_tcp_short(struct env *e, uint8_t *f)
{
	memset(e->l4, 0, 10);
	return ip_frame(f, ZC_IPPROTO_TCP, e->l4, 10);
}

static size_t tcp_header(struct env *e, uint8_t *f, uint8_t doff_byte, const uint8_t *opts, size_t optlen)
{
	return ip_frame(f, ZC_IPPROTO_TCP, e->l4, tcp_raw(e->l4, doff_byte, opts, optlen));
}
static size_t f_tcp_doff_small(struct env *e, uint8_t *f) { return tcp_header(e, f, 0x40, NULL, 0); }
static size_t f_tcp_doff_long(struct env *e, uint8_t *f) { return tcp_header(e, f, 0xf0, NULL, 0); }
static size_t f_tcp_opt_len(struct env *e, uint8_t *f)
{
	const uint8_t o[4] = { ZC_TCPOPT_MSS, 1, 0, 0 };
	return tcp_header(e, f, 0x60, o, sizeof(o));
}
static size_t f_tcp_opt_overrun(struct env *e, uint8_t *f)
{
	const uint8_t o[4] = { ZC_TCPOPT_TS, 10, 0, 0 };
	return tcp_header(e, f, 0x60, o, sizeof(o));
}
static size_t f_tcp_opt_size(struct env *e, uint8_t *f)
{
	const uint8_t o[4] = { ZC_TCPOPT_MSS, 3, 5, ZC_TCPOPT_EOL };
	return tcp_header(e, f, 0x60, o, sizeof(o));
}

static size_t f_tcp_csum(struct env *e, uint8_t *f)
{
	size_t n = tcp_raw(e->l4, 0x50, NULL, 0);
	e->l4[16] ^= 0x08;
	return ip_frame(f, ZC_IPPROTO_TCP, e->l4, n);
}

static size_t f_eth_oversize(struct env *e, uint8_t *f)
{
	(void)e;
	size_t n = ZC_ETH_HLEN + MTU + ZC_ETH_VLAN_TAG_LEN + 1;
	memset(f, 0, n);
	eth(f, MAC_B, MAC_X, ZC_ETHERTYPE_IPV4);
	return n;
}

static size_t f_eth_not_us(struct env *e, uint8_t *f)
{
	size_t n = udp_frame(e, f);
	f[5] ^= 0x40; /* another host's unicast MAC */
	return n;
}

static size_t f_eth_bad_src(struct env *e, uint8_t *f)
{
	size_t n = udp_frame(e, f);
	memcpy(f + 6, MAC_B, 6); /* our own source */
	return n;
}

static size_t f_eth_type(struct env *e, uint8_t *f)
{
	(void)e;
	memset(f, 0, 60);
	eth(f, MAC_B, MAC_X, 0x86dd /* IPv6 */);
	return 60;
}

static size_t f_arp_other_subnet(struct env *e, uint8_t *f)
{
	return arp_from_x(e, f, ZC_ARP_REQUEST, 0x0b000005u, IP_B);
}
static size_t f_arp_not_us(struct env *e, uint8_t *f) { return arp_from_x(e, f, ZC_ARP_REQUEST, IP_X, 0x0a000007u); }

static size_t f_arp_bad_sender(struct env *e, uint8_t *f)
{
	const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	(void)e;
	return arp_frame(f, ZC_ARP_REQUEST, mcast, IP_X, IP_B);
}

static size_t echo_frame(struct env *e, uint8_t *f, uint32_t src, uint32_t dst, uint8_t type)
{
	return ip_frame_from(f, src, dst, ZC_IPPROTO_ICMP, e->l4, echo_request(e->l4, type));
}
static size_t f_ip_not_us(struct env *e, uint8_t *f) { return echo_frame(e, f, IP_X, IP_NOBODY, ZC_ICMP_ECHO_REQUEST); }
static size_t f_ip_bad_src(struct env *e, uint8_t *f) { return echo_frame(e, f, 0x7f000001u, IP_B, ZC_ICMP_ECHO_REQUEST); }
static size_t f_icmp_type(struct env *e, uint8_t *f) { return echo_frame(e, f, IP_X, IP_B, 13 /* timestamp */); }
static size_t f_icmp_bcast(struct env *e, uint8_t *f) { return echo_frame(e, f, IP_X, IP_BCAST, ZC_ICMP_ECHO_REQUEST); }

static size_t f_ip_proto(struct env *e, uint8_t *f)
{
	resolve_x(e); /* the protocol unreachable leaves at once */
	memset(e->l4, 0, 16);
	return ip_frame(f, 99 /* unassigned */, e->l4, 16);
}

/* Datagrams to a port nobody bound, at one instant: the first ones take
 * the burst of error tokens (50 by default), then one more finds none. */
static size_t f_icmp_rate(struct env *e, uint8_t *f)
{
	resolve_x(e);
	size_t n = udp_frame(e, f);
	struct zc_stack_stats s0, s1;
	do {
		zc_stack_get_stats(e->st, &s0);
		inject(e, f, n);
		zc_stack_get_stats(e->st, &s1);
		assert_int_equal(s1.icmp_unreach_out, s0.icmp_unreach_out + 1);
	} while (s1.icmp_unreach_out < 50);
	return n;
}

static size_t f_udp_no_port(struct env *e, uint8_t *f)
{
	resolve_x(e);
	return udp_frame(e, f);
}

static size_t f_udp_rcvbuf(struct env *e, uint8_t *f)
{
	struct zc_udp_sock *s = zc_udp_open(e->st);
	assert_int_equal(zc_udp_bind(s, 0, 7000), 0);
	zc_udp_set_rcvbuf(s, 10);
	return ip_frame(f, ZC_IPPROTO_UDP, e->l4, udp_dgram(e->l4, 7000, 100));
}

static size_t f_tcp_no_socket(struct env *e, uint8_t *f)
{
	resolve_x(e); /* the RST leaves at once */
	return syn(f, 40000, 81, 7000);
}

static size_t f_tcp_syn_queue(struct env *e, uint8_t *f)
{
	resolve_x(e);
	/* without SYN cookies, that would answer it */
	assert_int_equal(zc_tcp_configure(e->st, &(struct zc_tcp_config){ .syncookies = ZC_TCP_SYNCOOKIES_OFF }), 0);
	tcp_listen(e, 80, 1); /* a SYN queue of twice the backlog */
	inject(e, f, syn(f, 40001, 80, 7000));
	inject(e, f, syn(f, 40002, 80, 7000));
	return syn(f, 40003, 80, 7000);
}

static size_t f_tcp_paws(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	return tcp_data(f, &c, c.snd_nxt, ZC_TCP_ACK, 500 /* older than 1001 */);
}

static size_t f_tcp_out_of_window(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	return tcp_data(f, &c, c.snd_nxt + 100000000u, ZC_TCP_ACK, 1002);
}

static size_t f_tcp_no_ack(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	return tcp_data(f, &c, c.snd_nxt, ZC_TCP_PSH, 1002);
}

/* A segment X:40000 -> B:80 (no options) with the flags given, to dst. */
static size_t tcp_flags_to(uint8_t *f, uint32_t dst, uint8_t flags, uint32_t seq, uint32_t ack)
{
	uint8_t p[ZC_TCP_MAXHLEN];
	struct zc_tcp t = { .sport = 40000, .dport = 80, .seq = seq, .ack = ack, .flags = flags, .win = 65535 };
	size_t n = tcp_seg(p, &t, 0);
	zc_l4_set_csum(p, n, ZC_IPPROTO_TCP, IP_X, dst);
	return ip_frame_from(f, IP_X, dst, ZC_IPPROTO_TCP, p, n);
}

/* A listener on port 80, B's neighbour resolved (a RST leaves at once). */
static size_t to_listener(struct env *e, uint8_t *f, uint32_t dst, uint8_t flags)
{
	resolve_x(e);
	tcp_listen(e, 80, 8);
	return tcp_flags_to(f, dst, flags, 7000, 1);
}
static size_t f_tcp_listen_rst(struct env *e, uint8_t *f) { return to_listener(e, f, IP_B, ZC_TCP_RST); }
static size_t f_tcp_listen_ack(struct env *e, uint8_t *f) { return to_listener(e, f, IP_B, ZC_TCP_ACK); }
static size_t f_tcp_listen_no_syn(struct env *e, uint8_t *f) { return to_listener(e, f, IP_B, ZC_TCP_FIN); }
static size_t f_tcp_syn_bcast(struct env *e, uint8_t *f) { return to_listener(e, f, IP_BCAST, ZC_TCP_SYN); }

/* B connects to X:40000 (port 80 is B's, so the segments the builders make
 * are X's answers): the SYN leaves, and its ISS is returned. */
static uint32_t syn_sent(struct env *e)
{
	resolve_x(e);
	struct zc_tcp_sock *s = zc_tcp_socket(e->st);
	assert_non_null(s);
	assert_int_equal(zc_tcp_bind(s, 0, 80), 0);
	assert_int_equal(zc_tcp_connect(s, IP_X, 40000), -EINPROGRESS);
	struct zc_tcp t;
	last_sent_tcp(e, &t);
	assert_int_equal(t.flags, ZC_TCP_SYN);
	assert_int_equal(zc_tcp_get_state(s), ZC_TCP_SYN_SENT);
	return t.seq;
}
static size_t f_tcp_bad_hs_ack(struct env *e, uint8_t *f)
{
	uint32_t iss = syn_sent(e);
	return tcp_flags_to(f, IP_B, ZC_TCP_SYN | ZC_TCP_ACK, 7000, iss + 1000); /* answered by a RST */
}
static size_t f_tcp_syn_sent_rst(struct env *e, uint8_t *f)
{
	syn_sent(e);
	return tcp_flags_to(f, IP_B, ZC_TCP_RST, 7000, 0);
}
static size_t f_tcp_syn_sent_no_syn(struct env *e, uint8_t *f)
{
	uint32_t iss = syn_sent(e);
	return tcp_flags_to(f, IP_B, ZC_TCP_ACK, 7000, iss + 1);
}

/* B closes first; X's FIN completes it: TIME_WAIT, the listener gone. A new
 * SYN past the old sequence numbers closes the TIME_WAIT connection and
 * finds nobody to take it. */
static size_t f_tcp_tw_no_listener(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	zc_tcp_close(c.l);
	zc_tcp_close(c.s);
	struct zc_tcp fin;
	last_sent_tcp(e, &fin);
	assert_true(fin.flags & ZC_TCP_FIN);
	inject(e, f, tcp_conn_seg(f, &c, c.snd_nxt, c.rcv_nxt + 1, ZC_TCP_FIN | ZC_TCP_ACK, 1002, 0));
	last_sent_tcp(e, &fin);
	assert_int_equal(fin.ack, c.snd_nxt + 1); /* X's FIN acknowledged: TIME_WAIT */
	return tcp_flags_to(f, IP_B, ZC_TCP_SYN, c.snd_nxt + 100000, 0);
}

static size_t f_tcp_challenge_ack(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	return tcp_conn_seg(f, &c, c.snd_nxt + 1, c.rcv_nxt, ZC_TCP_RST, 1002, 0); /* in window, not exact */
}

static size_t f_tcp_ack_unsent(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	return tcp_conn_seg(f, &c, c.snd_nxt, c.rcv_nxt + 1000, ZC_TCP_ACK, 1002, 0);
}

/* X's FIN (CLOSE_WAIT), then data after it. */
static size_t f_tcp_data_after_fin(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	inject(e, f, tcp_conn_seg(f, &c, c.snd_nxt, c.rcv_nxt, ZC_TCP_FIN | ZC_TCP_ACK, 1002, 0));
	assert_int_equal(zc_tcp_get_state(c.s), ZC_TCP_CLOSE_WAIT);
	return tcp_data(f, &c, c.snd_nxt + 1, ZC_TCP_ACK, 1003);
}

/* B's application closes; X sends new data anyway: a reset answers it. */
static size_t f_tcp_data_after_close(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	zc_tcp_close(c.s);
	return tcp_data(f, &c, c.snd_nxt, ZC_TCP_ACK, 1002);
}

/* 20 bytes out of order, then 10 inside them: nothing new. (The same
 * segment twice is no drop: the second replaces the first.) */
static size_t f_tcp_ooo_dup(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	inject(e, f, tcp_conn_seg(f, &c, c.snd_nxt + 100, c.rcv_nxt, ZC_TCP_ACK, 1002, 20));
	return tcp_data(f, &c, c.snd_nxt + 105, ZC_TCP_ACK, 1002);
}

/* ZC__TCP_OOO_MAX in stack/tcp_priv.h: out-of-order segments a connection keeps */
#define OOO_MAX 8192u

/* OOO_MAX one-byte segments with a byte's gap before each, then one more. */
static size_t f_tcp_ooo_full(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	for (uint32_t i = 0; i < OOO_MAX; i++)
		inject(e, f, tcp_conn_seg(f, &c, c.snd_nxt + 1 + 2 * i, c.rcv_nxt, ZC_TCP_ACK, 1002, 1));
	return tcp_conn_seg(f, &c, c.snd_nxt + 1 + 2 * OOO_MAX, c.rcv_nxt, ZC_TCP_ACK, 1002, 1);
}

/* ZC__PING_QLEN in stack/stack_priv.h: echo replies the ping socket keeps */
#define PING_QLEN 64u

/* Echo replies to the stack's ping socket (id 1) that nobody reads. */
static size_t f_icmp_ping_queue(struct env *e, uint8_t *f)
{
	assert_int_equal(zc_ping_open(e->st, 1), 0);
	size_t n = echo_frame(e, f, IP_X, IP_B, ZC_ICMP_ECHO_REPLY);
	for (unsigned i = 0; i < PING_QLEN; i++)
		inject(e, f, n);
	return n;
}

/* B's UDP socket on port 9 is connected to X:4001; X's datagram from 4000. */
static size_t f_udp_not_peer(struct env *e, uint8_t *f)
{
	resolve_x(e);
	struct zc_udp_sock *s = zc_udp_open(e->st);
	assert_int_equal(zc_udp_bind(s, 0, 9), 0);
	zc_udp_connect(s, IP_X, 4001);
	return udp_frame(e, f);
}

/* A port unreachable about a datagram from a port B has no socket on. */
static size_t f_icmp_bad_quote(struct env *e, uint8_t *f)
{
	size_t n = icmp_error_msg(e->l4, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_PORT, 0, ZC_IPPROTO_UDP, IP_X, 5555, 9, 0);
	return ip_frame(f, ZC_IPPROTO_ICMP, e->l4, n);
}

/* "Fragmentation needed" for B's connection, quoting a sequence number it
 * never sent (RFC 5927 4.1): the MSS stays. */
static size_t f_icmp_bad_quote_seq(struct env *e, uint8_t *f)
{
	struct conn c;
	tcp_establish(e, &c);
	size_t n = icmp_error_msg(e->l4, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_NEEDFRAG, 576, ZC_IPPROTO_TCP, IP_X, 80,
				  40000, c.rcv_nxt + 100000);
	return ip_frame(f, ZC_IPPROTO_ICMP, e->l4, n);
}

/* --- the cases that take steps: each marks before its last one ------------ */

static void p_arp_queue_full(struct env *e)
{
	struct zc_udp_sock *s = zc_udp_open(e->st);
	for (unsigned i = 0; i < ZC_ARP_QUEUE_PER_ENTRY; i++)
		assert_int_equal(zc_udp_sendto(s, "q", 1, IP_NOBODY, 9), 1);
	mark(e);
	assert_int_equal(zc_udp_sendto(s, "q", 1, IP_NOBODY, 9), 1);
}

static void p_arp_unresolved(struct env *e)
{
	struct zc_udp_sock *s = zc_udp_open(e->st);
	mark(e);
	assert_int_equal(zc_udp_sendto(s, "q", 1, IP_NOBODY, 9), 1);
	for (int i = 0; i < 5; i++) { /* 3 requests a second apart, then it gives up */
		e->now += 1100000000ull;
		zc_stack_poll(e->st, e->now);
	}
}

/* A fragment X -> B of datagram id: 16 bytes at byte offset off, more to come. */
static void inject_frag(struct env *e, uint16_t id, uint16_t off)
{
	size_t n = ip_changed(e, e->f, -1, -1, 0x2000 | off / 8);
	zc_put16(e->f + ZC_ETH_HLEN + 4, id);
	ip_fix_csum(e->f);
	inject(e, e->f, n);
}

static void p_ip_frag_dup(struct env *e)
{
	inject_frag(e, 1, 0);
	mark(e);
	inject_frag(e, 1, 0);
}

static void p_ip_frag_overlap(struct env *e)
{
	inject_frag(e, 1, 0);
	mark(e);
	inject_frag(e, 1, 8);
}

static void p_ip_frag_timeout(struct env *e)
{
	inject_frag(e, 1, 64); /* not the first: no ICMP error follows */
	mark(e);
	e->now += 30000000000ull;
	zc_stack_poll(e->st, e->now);
}

/* A fifth datagram in reassembly from one source */
static void p_ip_frag_limit(struct env *e)
{
	for (uint16_t id = 1; id <= 4; id++)
		inject_frag(e, id, 0);
	mark(e);
	inject_frag(e, 5, 0);
}

/* An echo request in one pool frame: answering it needs a private inline
 * head (the reply rewrites the header), and that allocation fails. */
static void p_rx_nobufs(struct env *e)
{
	size_t n = echo_frame(e, e->f, IP_X, IP_B, ZC_ICMP_ECHO_REQUEST);
	struct zc_mbuf *m = zc_mbuf_alloc_frame(e->pool);
	assert_non_null(m);
	memcpy(zc_mbuf_append(m, (uint32_t)n), e->f, n);
	e->nic->rxq[e->nic->rxn++] = m;
	zc_pool_fail_nth(e->pool, 1);
	mark(e);
	zc_stack_poll(e->st, e->now);
}

static void p_tx_no_route(struct env *e)
{
	struct zc_udp_sock *s = zc_udp_open(e->st);
	mark(e);
	assert_int_equal(zc_udp_sendto(s, "r", 1, 0x0b000001u, 9), -ENETUNREACH);
}

static void p_tx_nobufs(struct env *e)
{
	struct zc_udp_sock *s = zc_udp_open(e->st);
	zc_pool_fail_nth(e->pool, 1);
	mark(e);
	assert_int_equal(zc_udp_sendto(s, "n", 1, IP_X, 9), -ENOBUFS);
}

/* A SYN to a closed port, and no mbuf for the RST that answers it: the
 * segment counts as tcp_no_socket, the RST as tx_no_buffers. */
static void p_tx_nobufs_rst(struct env *e)
{
	resolve_x(e);
	size_t n = syn(e->f, 40000, 81, 7000);
	struct zc_mbuf *m = zc_mbuf_alloc(e->pool);
	assert_non_null(m);
	memcpy(zc_mbuf_append(m, (uint32_t)n), e->f, n); /* the headers in the head: no pull-up */
	e->nic->rxq[e->nic->rxn++] = m;
	uint32_t sent = e->nic->nsent;
	zc_pool_fail_nth(e->pool, 1);
	mark(e);
	zc_stack_poll(e->st, e->now);
	assert_int_equal(e->nic->nsent, sent);
}

/* The NIC takes nothing: the stack's transmit queue (256 packets) fills,
 * then one more packet has nowhere to go. Broadcasts need no ARP. */
static void p_tx_busy(struct env *e)
{
	struct zc_udp_sock *s = zc_udp_open(e->st);
	e->nic->refuse_tx = true;
	for (int i = 0; i < 256; i++)
		assert_int_equal(zc_udp_sendto(s, "b", 1, IP_BCAST, 9), 1);
	assert_true(zc_stack_tx_pending(e->st));
	mark(e);
	assert_int_equal(zc_udp_sendto(s, "b", 1, IP_BCAST, 9), 1);
}

/* Datagrams to our own address wait on the loop queue for the next poll
 * (ip_output.c); with no poll between, the queue fills. */
static void p_tx_loop_full(struct env *e)
{
	struct zc_udp_sock *s = zc_udp_open(e->st);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(zc_udp_sendto(s, "l", 1, IP_B, 9), 1);
	mark(e);
	assert_int_equal(zc_udp_sendto(s, "l", 1, IP_B, 9), -ENOBUFS);
}

/* --- the table and the test ------------------------------------------------ */

struct drop_case {
	enum zc_drop_reason reason;
	size_t (*frame)(struct env *e, uint8_t *f); /* one bad frame */
	void (*provoke)(struct env *e);             /* or steps */
	/* a second counter the same input must raise (see its entry); else NONE */
	enum zc_drop_reason also;
	const char *why; /* neither: why this reason cannot be provoked here */
	uint32_t times;  /* how many the reason counts (0: one) */
};
#define FRAME(r, fn) { ZC_DROP_##r, fn, NULL, ZC_DROP_NONE, NULL, 0 }
#define STEPS(r, fn) { ZC_DROP_##r, NULL, fn, ZC_DROP_NONE, NULL, 0 }

static const struct drop_case cases[] = {
	FRAME(ETH_SHORT, f_eth_short),
	FRAME(ARP_SHORT, f_arp_short),
	FRAME(ARP_FORMAT, f_arp_format),
	FRAME(ARP_OP, f_arp_op),
	FRAME(IP_SHORT, f_ip_short),
	FRAME(IP_VERSION, f_ip_version),
	FRAME(IP_IHL_SMALL, f_ip_ihl_small),
	FRAME(IP_IHL_LONG, f_ip_ihl_long),
	FRAME(IP_TOTLEN_SMALL, f_ip_totlen_small),
	FRAME(IP_TOTLEN_LONG, f_ip_totlen_long),
	FRAME(IP_CSUM, f_ip_csum),
	FRAME(IP_OPT_BAD, f_ip_opt_bad),
	FRAME(IP_FRAG_BAD, f_ip_frag_bad),
	FRAME(ICMP_SHORT, f_icmp_short),
	FRAME(ICMP_CSUM, f_icmp_csum),
	FRAME(UDP_SHORT, f_udp_short),
	FRAME(UDP_LEN, f_udp_len),
	FRAME(UDP_CSUM, f_udp_csum),
	FRAME(TCP_SHORT, f_tcp_short),
	FRAME(TCP_DOFF_SMALL, f_tcp_doff_small),
	FRAME(TCP_DOFF_LONG, f_tcp_doff_long),
	FRAME(TCP_OPT_LEN, f_tcp_opt_len),
	FRAME(TCP_OPT_OVERRUN, f_tcp_opt_overrun),
	FRAME(TCP_OPT_SIZE, f_tcp_opt_size),
	FRAME(TCP_CSUM, f_tcp_csum),
	FRAME(ETH_OVERSIZE, f_eth_oversize),
	FRAME(ETH_NOT_US, f_eth_not_us),
	FRAME(ETH_BAD_SRC, f_eth_bad_src),
	FRAME(ETH_TYPE, f_eth_type),
	FRAME(ARP_OTHER_SUBNET, f_arp_other_subnet),
	FRAME(ARP_NOT_US, f_arp_not_us),
	FRAME(ARP_BAD_SENDER, f_arp_bad_sender),
	STEPS(ARP_QUEUE_FULL, p_arp_queue_full),
	STEPS(ARP_UNRESOLVED, p_arp_unresolved),
	FRAME(IP_NOT_US, f_ip_not_us),
	FRAME(IP_BAD_SRC, f_ip_bad_src),
	FRAME(IP_PROTO, f_ip_proto),
	STEPS(IP_FRAG_DUP, p_ip_frag_dup),
	/* the fragment that overlaps, and the one it overlaps: the datagram */
	{ ZC_DROP_IP_FRAG_OVERLAP, NULL, p_ip_frag_overlap, ZC_DROP_NONE, NULL, 2 },
	STEPS(IP_FRAG_TIMEOUT, p_ip_frag_timeout),
	STEPS(IP_FRAG_LIMIT, p_ip_frag_limit),
	FRAME(ICMP_TYPE, f_icmp_type),
	FRAME(ICMP_PING_QUEUE, f_icmp_ping_queue),
	FRAME(ICMP_BCAST, f_icmp_bcast),
	/* icmp_rate_limited counts an error the stack did not send, never a
	 * frame: the frame that asked for the error is dropped under its own
	 * reason (udp_no_port here, or ip_unknown_protocol) */
	{ ZC_DROP_ICMP_RATE, f_icmp_rate, NULL, ZC_DROP_UDP_NO_PORT, NULL, 0 },
	FRAME(UDP_NO_PORT, f_udp_no_port),
	FRAME(UDP_RCVBUF, f_udp_rcvbuf),
	FRAME(UDP_NOT_PEER, f_udp_not_peer),
	FRAME(ICMP_BAD_QUOTE, f_icmp_bad_quote),
	FRAME(ICMP_BAD_QUOTE, f_icmp_bad_quote_seq),
	FRAME(TCP_NO_SOCKET, f_tcp_no_socket),
	FRAME(TCP_SYN_QUEUE, f_tcp_syn_queue),
	FRAME(TCP_PAWS, f_tcp_paws),
	FRAME(TCP_OUT_OF_WINDOW, f_tcp_out_of_window),
	FRAME(TCP_NO_ACK, f_tcp_no_ack),
	FRAME(TCP_LISTEN_RST, f_tcp_listen_rst),
	FRAME(TCP_LISTEN_ACK, f_tcp_listen_ack),
	FRAME(TCP_LISTEN_NO_SYN, f_tcp_listen_no_syn),
	FRAME(TCP_SYN_BCAST, f_tcp_syn_bcast),
	FRAME(TCP_BAD_HS_ACK, f_tcp_bad_hs_ack),
	FRAME(TCP_SYN_SENT_RST, f_tcp_syn_sent_rst),
	FRAME(TCP_SYN_SENT_NO_SYN, f_tcp_syn_sent_no_syn),
	FRAME(TCP_TW_NO_LISTENER, f_tcp_tw_no_listener),
	FRAME(TCP_CHALLENGE_ACK, f_tcp_challenge_ack),
	FRAME(TCP_ACK_UNSENT, f_tcp_ack_unsent),
	FRAME(TCP_DATA_AFTER_FIN, f_tcp_data_after_fin),
	FRAME(TCP_DATA_AFTER_CLOSE, f_tcp_data_after_close),
	FRAME(TCP_OOO_DUP, f_tcp_ooo_dup),
	FRAME(TCP_OOO_FULL, f_tcp_ooo_full),
	STEPS(RX_NOBUFS, p_rx_nobufs),
	STEPS(TX_NO_ROUTE, p_tx_no_route),
	STEPS(TX_NOBUFS, p_tx_nobufs),
	STEPS(TX_BUSY, p_tx_busy),
	STEPS(TX_LOOP_FULL, p_tx_loop_full),
	/* more cases for a reason already provoked above: each is a test of
	 * its own, named "reason/function" */
	{ ZC_DROP_TX_NOBUFS, NULL, p_tx_nobufs_rst, ZC_DROP_TCP_NO_SOCKET, NULL, 0 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const struct drop_case *case_of(enum zc_drop_reason r)
{
	for (size_t i = 0; i < NCASES; i++)
		if (cases[i].reason == r)
			return &cases[i];
	return NULL;
}

/* The tests' initial states: each reason's first case (NULL: none), then
 * the further cases of the table. */
static const struct drop_case *chosen[ZC_DROP__COUNT + NCASES];
static char extra_names[NCASES][64];

static int setup(void **state)
{
	/* one more mbuf for each segment tcp_ooo_queue_full keeps out of order */
	const struct drop_case *c = *(const struct drop_case **)*state;
	struct env *e = env_create("drops", OOO_MAX);
	e->c = c;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env_destroy(*state);
	return 0;
}

static void test_reason(void **state)
{
	struct env *e = *state;
	if (e->c == NULL)
		fail_msg("no case in test_drops.c for a reason drop.h lists");
	if (e->c->frame == NULL && e->c->provoke == NULL) {
		print_message("[ REPORT   ] %s is not provoked: %s\n", zc_drop_name(e->c->reason), e->c->why);
		skip();
	}
	if (e->c->frame) {
		size_t n = e->c->frame(e, e->f);
		mark(e);
		inject(e, e->f, n);
	} else {
		e->c->provoke(e);
	}
	assert_true(e->marked);
	const struct zc_drops *now = zc_stack_drops(e->st);
	bool ok = true;
	for (int i = 1; i < ZC_DROP__COUNT; i++) {
		uint64_t want = e->mark.n[i] + (i == (int)e->c->reason ? (e->c->times ? e->c->times : 1)
						     : i == (int)e->c->also ? 1 : 0);
		if (now->n[i] != want) {
			print_error("%s: %llu, expected %llu\n", zc_drop_name((enum zc_drop_reason)i),
				    (unsigned long long)now->n[i], (unsigned long long)want);
			ok = false;
		}
	}
	assert_true(ok);
}

int main(void)
{
	static struct CMUnitTest tests[ZC_DROP__COUNT + NCASES];
	size_t n = 0;
	for (int i = 1; i < ZC_DROP__COUNT; i++) {
		chosen[n] = case_of((enum zc_drop_reason)i);
		tests[n] = (struct CMUnitTest){ .name = zc_drop_name((enum zc_drop_reason)i), .test_func = test_reason,
						.setup_func = setup, .teardown_func = teardown,
						.initial_state = &chosen[n] };
		n++;
	}
	for (size_t k = 0; k < NCASES; k++) {
		if (case_of(cases[k].reason) == &cases[k])
			continue;
		snprintf(extra_names[k], sizeof(extra_names[k]), "%s/%s", zc_drop_name(cases[k].reason),
			 zc_drop_name(cases[k].also));
		chosen[n] = &cases[k];
		tests[n] = (struct CMUnitTest){ .name = extra_names[k], .test_func = test_reason,
						.setup_func = setup, .teardown_func = teardown,
						.initial_state = &chosen[n] };
		n++;
	}
	zc_log_set_level(ZC_LOG_WARN);
	return _cmocka_run_group_tests("drops", tests, n, NULL, NULL);
}

/*
 * drop.h - named reasons for every frame the stack or a parser throws away.
 *
 * Each layer counts a drop in a struct zc_drops that its owner passes in
 * (a stack, a test); there is no global counter. Names are what zcstat and
 * tests print and look up.
 */
#ifndef ZC_DROP_H
#define ZC_DROP_H

#include <stdint.h>

/* Reasons a wire-format parser gives (each has a malformed test vector). */
#define ZC_DROP_PARSER_REASONS(X)                                            \
	X(ETH_SHORT, "eth_short")                 /* < 14 bytes */           \
	X(ARP_SHORT, "arp_short")                 /* < 28 bytes */           \
	X(ARP_FORMAT, "arp_bad_format")           /* not Ethernet/IPv4 ARP */\
	X(ARP_OP, "arp_bad_op")                   /* neither request nor reply */ \
	X(IP_SHORT, "ip_short")                   /* < 20 bytes */           \
	X(IP_VERSION, "ip_bad_version")                                      \
	X(IP_IHL_SMALL, "ip_ihl_too_small")       /* IHL < 5 */              \
	X(IP_IHL_LONG, "ip_ihl_past_frame")       /* header past the frame */\
	X(IP_TOTLEN_SMALL, "ip_totlen_too_small") /* total length < IHL */   \
	X(IP_TOTLEN_LONG, "ip_totlen_past_frame")                            \
	X(IP_CSUM, "ip_bad_checksum")                                        \
	X(IP_OPT_BAD, "ip_bad_option")            /* option length 0/1 or past IHL */ \
	/* a fragment not the last whose payload is empty or not a multiple of 8, \
	 * or one that ends past 65535 bytes (RFC 791) */ \
	X(IP_FRAG_BAD, "ip_bad_fragment")                                    \
	X(ICMP_SHORT, "icmp_short")                                          \
	X(ICMP_CSUM, "icmp_bad_checksum")                                    \
	X(UDP_SHORT, "udp_short")                                            \
	X(UDP_LEN, "udp_bad_length")              /* length < 8 or past IP payload */ \
	X(UDP_CSUM, "udp_bad_checksum")                                      \
	X(TCP_SHORT, "tcp_short")                                            \
	X(TCP_DOFF_SMALL, "tcp_doff_too_small")   /* data offset < 5 */      \
	X(TCP_DOFF_LONG, "tcp_doff_past_segment")                            \
	X(TCP_OPT_LEN, "tcp_option_len_0_or_1")                              \
	X(TCP_OPT_OVERRUN, "tcp_option_past_header")                         \
	X(TCP_OPT_SIZE, "tcp_option_bad_size")    /* e.g. MSS length != 4 */ \
	X(TCP_CSUM, "tcp_bad_checksum")

/* Reasons the stack gives to well-formed frames it will not take, and to
 * packets it could not send. */
#define ZC_DROP_STACK_REASONS(X)                                             \
	X(ETH_OVERSIZE, "eth_oversize")           /* longer than MTU + 14 */ \
	X(ETH_NOT_US, "eth_not_for_us")           /* unicast to another MAC */ \
	X(ETH_BAD_SRC, "eth_bad_source")          /* multicast or our own source MAC */ \
	X(ETH_TYPE, "eth_unknown_type")                                      \
	X(ARP_OTHER_SUBNET, "arp_other_subnet")   /* sender outside our prefix */ \
	X(ARP_NOT_US, "arp_not_for_us")           /* target is another host */ \
	X(ARP_BAD_SENDER, "arp_bad_sender")       /* sender MAC multicast, or our IP (conflict) */ \
	X(ARP_QUEUE_FULL, "arp_queue_full")       /* too many packets await resolution */ \
	X(ARP_UNRESOLVED, "arp_unresolved")       /* no reply after the retries */ \
	X(IP_NOT_US, "ip_not_for_us")             /* another host's address */ \
	X(IP_BAD_SRC, "ip_bad_source")            /* broadcast, multicast, loopback, ours */ \
	X(IP_PROTO, "ip_unknown_protocol")                                   \
	/* reassembly (ip_frag.c): each fragment thrown away is counted */ \
	X(IP_FRAG_DUP, "ip_frag_duplicate")       /* the same range again: that one */ \
	X(IP_FRAG_OVERLAP, "ip_frag_overlap")     /* overlapping or conflicting: the whole datagram (RFC 5722) */ \
	X(IP_FRAG_TIMEOUT, "ip_frag_timeout")     /* incomplete after frag_timeout_ns */ \
	X(IP_FRAG_LIMIT, "ip_frag_limit")         /* past a bound of queues, fragments, or per source */ \
	X(ICMP_TYPE, "icmp_ignored_type")         /* not an echo request */  \
	X(ICMP_PING_QUEUE, "icmp_ping_queue_full") /* echo replies for our pings wait unread */ \
	X(ICMP_BCAST, "icmp_broadcast_echo")      /* echo to a broadcast address */ \
	X(ICMP_RATE, "icmp_rate_limited")         /* an error we did not send */ \
	/* an ICMP error whose quoted header is short, not ours, names no socket or connection of ours, \
	 * or quotes a sequence number outside SND.UNA..SND.NXT (RFC 5927 4.1) */ \
	X(ICMP_BAD_QUOTE, "icmp_bad_quote")                                   \
	X(UDP_NO_PORT, "udp_no_port")             /* no socket bound */      \
	X(UDP_RCVBUF, "udp_rcvbuf_full")                                     \
	X(UDP_NOT_PEER, "udp_not_from_peer")      /* a connected socket's port, another sender */ \
	X(TCP_NO_SOCKET, "tcp_no_socket")         /* answered with a RST */  \
	X(TCP_SYN_QUEUE, "tcp_syn_queue_full")    /* a listener's queues are full */ \
	X(TCP_PAWS, "tcp_paws")                   /* an old timestamp (RFC 7323) */ \
	X(TCP_OUT_OF_WINDOW, "tcp_out_of_window") /* answered with an ACK */ \
	X(TCP_NO_ACK, "tcp_no_ack")               /* synchronized state, ACK bit off */ \
	X(TCP_LISTEN_RST, "tcp_listen_rst")       /* an RST to a listener: ignored (RFC 9293 3.10.7.2) */ \
	X(TCP_LISTEN_ACK, "tcp_listen_ack")       /* an ACK to a listener: a RST (3.10.7.2) */ \
	X(TCP_LISTEN_NO_SYN, "tcp_listen_no_syn") /* to a listener, none of SYN, ACK, RST */ \
	X(TCP_SYN_BCAST, "tcp_syn_broadcast")     /* a SYN to a broadcast or multicast address */ \
	/* SYN_SENT or SYN_RECEIVED: the ACK is not for our SYN; a RST unless it is one (3.10.7.3, 3.10.7.4) */ \
	X(TCP_BAD_HS_ACK, "tcp_handshake_bad_ack")                            \
	X(TCP_SYN_SENT_RST, "tcp_syn_sent_rst_no_ack") /* SYN_SENT: an RST without ACK (3.10.7.3) */ \
	X(TCP_SYN_SENT_NO_SYN, "tcp_syn_sent_no_syn") /* SYN_SENT: neither SYN nor RST (3.10.7.3) */ \
	/* a new SYN for a TIME_WAIT connection (RFC 6191) and no listener to take it */ \
	X(TCP_TW_NO_LISTENER, "tcp_time_wait_no_listener")                    \
	/* an RST or SYN in the window but not exact, or an ACK too old: a challenge ACK (RFC 5961) */ \
	X(TCP_CHALLENGE_ACK, "tcp_challenge_ack")                             \
	X(TCP_ACK_UNSENT, "tcp_ack_unsent")       /* ACKs what was not sent: an ACK (RFC 9293 3.10.7.4) */ \
	/* data after the peer's FIN: CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT (3.10.7.4, seventh) */ \
	X(TCP_DATA_AFTER_FIN, "tcp_data_after_fin")                           \
	/* new data for an application that closed: the connection is reset (RFC 2525 2.17) */ \
	X(TCP_DATA_AFTER_CLOSE, "tcp_data_after_close")                       \
	X(TCP_OOO_DUP, "tcp_ooo_duplicate")       /* all its data already out of order */ \
	X(TCP_OOO_FULL, "tcp_ooo_queue_full")     /* ZC__TCP_OOO_MAX segments, or the memory bound, reached */ \
	X(RX_NOBUFS, "rx_no_buffers")             /* no mbuf to gather headers */ \
	X(TX_NO_ROUTE, "tx_no_route")             /* off-link without a gateway */ \
	X(TX_NOBUFS, "tx_no_buffers")             /* no mbuf or frame to build it */ \
	X(TX_BUSY, "tx_ring_full")                /* the NIC queue stayed full */ \
	X(TX_LOOP_FULL, "tx_loop_queue_full")     /* ZC__LOOPQ packets to ourselves wait */

#define ZC_DROP_REASONS(X) ZC_DROP_PARSER_REASONS(X) ZC_DROP_STACK_REASONS(X)

enum zc_drop_reason {
	ZC_DROP_NONE = 0,
#define ZC__DROP_ENUM(id, name) ZC_DROP_##id,
	ZC_DROP_PARSER_REASONS(ZC__DROP_ENUM)
	ZC_DROP__PARSER_END, /* reasons below this one come from parsers */
	ZC_DROP__STACK_FIRST = ZC_DROP__PARSER_END - 1,
	ZC_DROP_STACK_REASONS(ZC__DROP_ENUM)
#undef ZC__DROP_ENUM
	ZC_DROP__COUNT
};

struct zc_drops {
	uint64_t n[ZC_DROP__COUNT];
};

/* The reason's name ("ip_bad_checksum"), or "none"/"unknown". */
const char *zc_drop_name(enum zc_drop_reason r);
/* The reason with that name, or ZC_DROP_NONE. */
enum zc_drop_reason zc_drop_by_name(const char *name);

/* Count r in d (d may be NULL) and return r, for "return zc_drop(d, R);". */
static inline enum zc_drop_reason zc_drop(struct zc_drops *d, enum zc_drop_reason r)
{
	if (d)
		d->n[r]++;
	return r;
}

#endif

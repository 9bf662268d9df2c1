/*
 * tcp.h - TCP (RFC 9293) in the stack, and its native API.
 *
 * The API is non-blocking throughout: a call that would wait returns
 * -EAGAIN (or -EINPROGRESS for connect), and zc_tcp_events() tells what is
 * ready, as poll(2) would. The stack moves only inside zc_stack_poll(), so a
 * caller alternates calls and polls (the socket layer will do that for
 * applications). Errors are -errno values as Linux gives them.
 *
 * What is implemented: the full state machine with simultaneous open and
 * close and TIME_WAIT; the RST rules of RFC 9293 and RFC 5961 (challenge
 * ACKs for in-window RST and SYN, ACK range checks); ISNs by RFC 6528
 * (SipHash of the 4-tuple under a per-stack key, plus a 4 us clock); MSS
 * from the NIC's MTU; window scaling, timestamps and PAWS (RFC 7323);
 * RFC 6298 retransmission timer with Karn's rule and backoff; NewReno
 * (RFC 5681, RFC 6582) with limited transmit (RFC 3042) behind a
 * congestion-control ops struct; delayed ACK (every second full segment or
 * 40 ms) and quick ACK; Nagle (with Minshall's change, as Linux: a short
 * segment waits only while an earlier short one is unacknowledged), TCP_NODELAY
 * and TCP_CORK; zero-window probes
 * (persist timer); silly-window avoidance on both sides; keepalive; bounded
 * SYN queue, accept queue, out-of-order queue, send and receive buffers.
 * SACK (RFC 2018) both ways: SACK-permitted is offered, SACK blocks
 * describe the out-of-order queue, a duplicate arrival is reported as a
 * DSACK (RFC 2883); as a sender, the peer's blocks make a scoreboard and
 * loss recovery is RFC 6675's (pipe, NextSeg, rescue retransmission) with
 * PRR (RFC 6937) for the window, tail loss probes (RFC 8985 7) and a lost
 * retransmission of the first hole found by time; NewReno's where the peer
 * does not SACK.
 */
#ifndef ZC_TCP_H
#define ZC_TCP_H

#include "stack/stack.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum zc_tcp_state {
	ZC_TCP_CLOSED = 0,
	ZC_TCP_LISTEN,
	ZC_TCP_SYN_SENT,
	ZC_TCP_SYN_RECEIVED,
	ZC_TCP_ESTABLISHED,
	ZC_TCP_FIN_WAIT_1,
	ZC_TCP_FIN_WAIT_2,
	ZC_TCP_CLOSE_WAIT,
	ZC_TCP_CLOSING,
	ZC_TCP_LAST_ACK,
	ZC_TCP_TIME_WAIT,
};
const char *zc_tcp_state_name(enum zc_tcp_state s);

/* Linux's struct tcp_info, field for field up to tcpi_snd_wnd (so the
 * socket layer can hand it out for TCP_INFO). Times in microseconds. */
struct zc_tcp_info {
	uint8_t tcpi_state, tcpi_ca_state, tcpi_retransmits, tcpi_probes, tcpi_backoff, tcpi_options;
	uint8_t tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4;
	uint8_t tcpi_delivery_rate_app_limited : 1, tcpi_fastopen_client_fail : 2;
	uint32_t tcpi_rto, tcpi_ato, tcpi_snd_mss, tcpi_rcv_mss;
	uint32_t tcpi_unacked, tcpi_sacked, tcpi_lost, tcpi_retrans, tcpi_fackets;
	uint32_t tcpi_last_data_sent, tcpi_last_ack_sent, tcpi_last_data_recv, tcpi_last_ack_recv;
	uint32_t tcpi_pmtu, tcpi_rcv_ssthresh, tcpi_rtt, tcpi_rttvar, tcpi_snd_ssthresh, tcpi_snd_cwnd;
	uint32_t tcpi_advmss, tcpi_reordering, tcpi_rcv_rtt, tcpi_rcv_space, tcpi_total_retrans;
	uint64_t tcpi_pacing_rate, tcpi_max_pacing_rate, tcpi_bytes_acked, tcpi_bytes_received;
	uint32_t tcpi_segs_out, tcpi_segs_in, tcpi_notsent_bytes, tcpi_min_rtt;
	uint32_t tcpi_data_segs_in, tcpi_data_segs_out;
	uint64_t tcpi_delivery_rate, tcpi_busy_time, tcpi_rwnd_limited, tcpi_sndbuf_limited;
	uint32_t tcpi_delivered, tcpi_delivered_ce;
	uint64_t tcpi_bytes_sent, tcpi_bytes_retrans;
	uint32_t tcpi_dsack_dups, tcpi_reord_seen, tcpi_rcv_ooopack, tcpi_snd_wnd;
};

/* Stack-wide TCP settings (zc_tcp_configure); 0 keeps the default. */
struct zc_tcp_config {
	uint64_t msl_ns;          /* TIME_WAIT lasts 2*MSL (default MSL 30 s) */
	uint64_t rto_min_ns;      /* default 200 ms (Linux; RFC 6298 says 1 s) */
	uint64_t rto_max_ns;      /* default 60 s */
	uint64_t rto_initial_ns;  /* default 1 s (RFC 6298) */
	uint64_t delack_ns;       /* default 40 ms */
	uint32_t syn_retries;     /* default 6 */
	uint32_t retries;         /* data and FIN retransmissions before ETIMEDOUT, default 12 */
	uint32_t sndbuf, rcvbuf;  /* default per socket: 4 MiB each */
	uint32_t max_conns;       /* all TCBs of the stack, default 65536 */
	/* 0 (default): the buffers are sndbuf and rcvbuf. Else buffer
	 * autotuning for sockets whose SO_SNDBUF/SO_RCVBUF nobody set: the
	 * receive window starts at this size and grows toward rcvbuf as reads
	 * ask for more (zc_tcp_rcv_hint); the send buffer holds at most twice
	 * the peer's largest window, and at least this much. Data in flight
	 * then stays in the caches instead of spreading over 4 MiB per side. */
	uint32_t autotune_min;
	/* congestion control of new sockets: "cubic" (default, as Linux),
	 * "newreno" (or Linux's "reno"); -ENOENT when unknown. Read only here. */
	const char *cc;
	/* challenge ACKs (RFC 5961) the stack sends a second, all connections
	 * together, as Linux's tcp_challenge_ack_limit: each second's budget is
	 * drawn at random from [limit/2, limit*3/2) so that a blind attacker
	 * cannot count them (CVE-2016-5696). Default 1000. */
	uint32_t challenge_ack_limit;
	/* SACK (RFC 2018) neither offered nor accepted, as Linux's tcp_sack = 0:
	 * loss recovery is then NewReno's alone. Default false (SACK on). */
	bool no_sack;
	/* no tail loss probes (RFC 8985 7; they need SACK): a tail loss waits
	 * for the retransmission timer, as before. Default false (on, as Linux). */
	bool no_tlp;
	/* no RACK (RFC 8985 6; it needs SACK): losses are found by RFC 6675's
	 * count of SACKed segments instead of by time. Default false (on, as
	 * Linux's tcp_recovery = 1). */
	bool no_rack;
	/* SYN cookies (RFC 4987 3.6) as Linux's tcp_syncookies:
	 * ZC_TCP_SYNCOOKIES_DEFAULT (1 on Linux) when a listener's SYN queue is
	 * full; _OFF never (such a SYN is dropped: tcp_syn_queue_full); _ALWAYS
	 * for every SYN (2 on Linux). */
	uint8_t syncookies;
	/* slow start without HyStart++ (RFC 9406), as Linux's tcp_cubic
	 * hystart=0: it runs to ssthresh or the first loss. Default false. */
	bool no_hystart;
	/* ECN (RFC 3168) as Linux's tcp_ecn: ZC_TCP_ECN_DEFAULT (2 on Linux)
	 * accepts it when a peer's SYN asks and never asks; _ON asks in our
	 * SYNs too (1); _OFF neither (0). */
	uint8_t ecn;
	/* path MTU discovery without ICMP (RFC 4821), as Linux's
	 * tcp_mtu_probing: ZC_TCP_MTU_PROBING_OFF (0, the default as on Linux)
	 * never; _ON (1) lowers the MSS after three timeouts in a row of the
	 * same data (a black hole) and steps back up every
	 * mtu_probe_interval_ns (0 = 600 s). */
	uint8_t mtu_probing;
	uint64_t mtu_probe_interval_ns;
};
enum { ZC_TCP_ECN_DEFAULT = 0, ZC_TCP_ECN_OFF, ZC_TCP_ECN_ON };
enum { ZC_TCP_MTU_PROBING_OFF = 0, ZC_TCP_MTU_PROBING_ON };
enum { ZC_TCP_SYNCOOKIES_DEFAULT = 0, ZC_TCP_SYNCOOKIES_OFF, ZC_TCP_SYNCOOKIES_ALWAYS };
/* Numbers and cc take effect when non-zero; no_sack, no_tlp, no_rack, syncookies,
 * no_hystart, ecn and mtu_probing are set as given. The whole is checked first: -EINVAL (or -ENOENT for an
 * unknown cc) changes nothing. */
int zc_tcp_configure(struct zc_stack *st, const struct zc_tcp_config *c);

struct zc_tcp_sock;

struct zc_tcp_sock *zc_tcp_socket(struct zc_stack *st); /* NULL: -ENOBUFS/-EMFILE in errno */
/* ip 0 = the stack's address; port 0 = ephemeral. -EADDRINUSE, -EADDRNOTAVAIL, -EINVAL */
int zc_tcp_bind(struct zc_tcp_sock *s, uint32_t ip, uint16_t port);
int zc_tcp_listen(struct zc_tcp_sock *s, int backlog);
/* A connection that completed the handshake, or NULL with *err = -EAGAIN
 * (none yet), -EINVAL (not listening). */
struct zc_tcp_sock *zc_tcp_accept(struct zc_tcp_sock *s, int *err);
/* Starts the handshake: -EINPROGRESS; then zc_tcp_events() shows POLLOUT
 * when established or POLLERR with zc_tcp_error() set. -EISCONN, -EALREADY. */
int zc_tcp_connect(struct zc_tcp_sock *s, uint32_t ip, uint16_t port);
/* A number that changes when the socket would wake its waiters, as
 * Linux's wake-ups that edge-triggered epoll re-reports on: `in` readers'
 * (data or a FIN arrived, a connection completed for a listener, an
 * error), `out` writers' (the send buffer became writable, an error), and
 * every change of state for both. */
uint32_t zc_tcp_change(const struct zc_tcp_sock *s, bool in, bool out);
/* New urgent pointers seen so far (each one is SIGURG for the owner). */
uint32_t zc_tcp_urg_count(const struct zc_tcp_sock *s);
/* A reader is about to ask for len bytes: with autotuning, the receive
 * window grows to three times that (up to rcvbuf), and the peer hears of
 * it: one piece being read, one arriving, one more on the way, so that a
 * reader who takes whole pieces (2 MiB frames) never stops the sender. */
void zc_tcp_rcv_hint(struct zc_tcp_sock *s, size_t len);
/* The reader trades large frames (on) or copies: passed to the NIC
 * (zc_netif_ops.rx_place) when it changes. */
void zc_tcp_rx_place(struct zc_tcp_sock *s, bool on);
/* Copies into the send buffer; returns bytes taken (possibly fewer than
 * len), -EAGAIN when full, -EPIPE after shutdown, -ENOTCONN, or the
 * connection's error. */
ssize_t zc_tcp_send(struct zc_tcp_sock *s, const void *buf, size_t len);
/* 0 when zc_tcp_send would take bytes now, else what it would return
 * (-EAGAIN when the buffer is full, -EPIPE, the connection's error...). */
int zc_tcp_writable(struct zc_tcp_sock *s);
/* Bytes zc_tcp_send would take now (0 when it would not take any). */
uint32_t zc_tcp_send_room(struct zc_tcp_sock *s);
/* The send buffer's size now: what the room comes back to when all is
 * acknowledged (with autotuning it follows the peer's window). */
uint32_t zc_tcp_send_limit(const struct zc_tcp_sock *s);
/* A writer is about to hand over len bytes: with autotuning, the send
 * buffer holds at least twice that (up to sndbuf), so that a large write
 * can be taken whole (by reference) from the first one on. */
void zc_tcp_snd_hint(struct zc_tcp_sock *s, size_t len);
/* Sends len bytes of caller memory by reference (no copy): one ext segment
 * on sh (pool.h) joins the send buffer; sh->free_cb runs when no segment or
 * packet references the memory any more (acknowledged, or copied by
 * zc_tcp_unref_ext). The caller keeps the bytes unchanged until then.
 * Returns bytes taken (<= zc_tcp_send_room) or what zc_tcp_send returns. */
struct zc_ext_shinfo;
ssize_t zc_tcp_send_ext(struct zc_tcp_sock *s, void *buf, size_t len, struct zc_ext_shinfo *sh);
/* A deferred copy: the send buffer's bytes on sh are copied into frames of
 * the stack's pool and its segments leave sh (packets already handed to the
 * NIC may still hold sh until it is done with them). Returns bytes copied
 * or -ENOBUFS (then some may have moved; call again). */
ssize_t zc_tcp_unref_ext(struct zc_tcp_sock *s, const struct zc_ext_shinfo *sh);
/* The data held for a send with ZC_TCP_OPT_MORE set goes as the rules
 * allow, as if that send had come without it (a gathering send that
 * stopped half-way). */
void zc_tcp_push(struct zc_tcp_sock *s);
/* Copies in-order data out; 0 at end of stream (FIN), -EAGAIN when none. */
ssize_t zc_tcp_recv(struct zc_tcp_sock *s, void *buf, size_t len);
/* Urgent data (MSG_OOB, as Linux: one byte, the last of a send; BSD's
 * pointer, one past it). zc_tcp_send_urgent marks the last byte in the send
 * buffer urgent: segments up to it carry URG and it goes at once.
 * zc_tcp_recv_oob takes the peer's urgent byte: 1, -EINVAL (none, already
 * read, or oobinline), -EAGAIN (announced, not here yet), 0 at the end.
 * zc_tcp_urg_limit: how much a read may take before it stops at the mark
 * (UINT32_MAX: no mark ahead); zc_tcp_at_mark: SIOCATMARK. POLLPRI in
 * zc_tcp_events while the byte waits. */
void zc_tcp_send_urgent(struct zc_tcp_sock *s);
ssize_t zc_tcp_recv_oob(struct zc_tcp_sock *s, uint8_t *c, bool peek);
uint32_t zc_tcp_urg_limit(const struct zc_tcp_sock *s);
bool zc_tcp_at_mark(const struct zc_tcp_sock *s);
/* MSG_PEEK: copies in-order data without taking it. */
ssize_t zc_tcp_peek(const struct zc_tcp_sock *s, void *buf, size_t len);
/* The first packet of in-order data (headers removed), or NULL: for a
 * caller that decides how to read it. */
const struct zc_mbuf *zc_tcp_rq_peek(const struct zc_tcp_sock *s);
/* In-order bytes queued (FIONREAD). */
uint32_t zc_tcp_readable(const struct zc_tcp_sock *s);
/* Takes up to len bytes of in-order data as a list of packets (nextpkt
 * links) over the frames they arrived in, for callers that hand out
 * references instead of copying (zc_mbuf_free each packet). Returns the
 * bytes taken, or what zc_tcp_recv returns when none are queued. */
ssize_t zc_tcp_recv_chain(struct zc_tcp_sock *s, size_t len, struct zc_mbuf **out);
/* Bytes of in-order data in the first nseg segments of the receive queue
 * (all of it when it has fewer). */
size_t zc_tcp_rq_span(const struct zc_tcp_sock *s, unsigned nseg);
/* Page trading: when the next frame-size bytes of in-order data are exactly
 * one frame of `pool`, from its first byte, and nothing else holds that
 * frame, they are taken and the frame index returned (the caller holds its
 * one reference). Else -1 and nothing changes. */
struct zc_pool;
int64_t zc_tcp_recv_frame(struct zc_tcp_sock *s, const struct zc_pool *pool);
/* SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2 */
int zc_tcp_shutdown(struct zc_tcp_sock *s, int how);
/* Close: the socket handle is gone; the connection finishes on its own
 * (FIN, TIME_WAIT), or is reset when unread data remains or linger is 0. */
void zc_tcp_close(struct zc_tcp_sock *s);
/* Our FIN is sent and not yet acknowledged (FIN_WAIT_1, CLOSING,
 * LAST_ACK): what a close under SO_LINGER waits out (Linux's
 * sk_stream_closing). */
bool zc_tcp_closing(const struct zc_tcp_sock *s);
/* poll(2) bits: POLLIN, POLLOUT, POLLERR, POLLHUP, POLLRDHUP */
unsigned zc_tcp_events(const struct zc_tcp_sock *s);
/* Takes the pending error: 0 or a positive errno. */
int zc_tcp_error(struct zc_tcp_sock *s);
/* Takes the soft error an ICMP error left on a connection (0 if none):
 * SO_ERROR reports it when no hard error is pending, as Linux. */
int zc_tcp_soft_error(struct zc_tcp_sock *s);
enum zc_tcp_state zc_tcp_get_state(const struct zc_tcp_sock *s);
void zc_tcp_get_info(const struct zc_tcp_sock *s, struct zc_tcp_info *info);
int zc_tcp_local(const struct zc_tcp_sock *s, uint32_t *ip, uint16_t *port);
int zc_tcp_remote(const struct zc_tcp_sock *s, uint32_t *ip, uint16_t *port);

enum zc_tcp_opt {
	ZC_TCP_OPT_NODELAY,   /* 0/1 */
	ZC_TCP_OPT_CORK,      /* 0/1 */
	ZC_TCP_OPT_KEEPALIVE, /* 0/1 */
	ZC_TCP_OPT_KEEPIDLE,  /* seconds */
	ZC_TCP_OPT_KEEPINTVL, /* seconds */
	ZC_TCP_OPT_KEEPCNT,
	ZC_TCP_OPT_SNDBUF,    /* bytes */
	ZC_TCP_OPT_RCVBUF,    /* bytes (before connect/listen: sets the window scale) */
	ZC_TCP_OPT_MAXSEG,    /* bytes, before connect */
	ZC_TCP_OPT_LINGER,    /* -1 off, else seconds (0: close resets) */
	ZC_TCP_OPT_QUICKACK,  /* 1: acknowledge the next segments at once */
	ZC_TCP_OPT_REUSEADDR, /* 0/1, before bind: SO_REUSEADDR (bind beside connections, TIME_WAIT) */
	ZC_TCP_OPT_REUSEPORT, /* 0/1, before bind: SO_REUSEPORT (listeners sharing a port share its SYNs) */
	ZC_TCP_OPT_OOBINLINE, /* 0/1: SO_OOBINLINE, the urgent byte stays in the stream */
	ZC_TCP_OPT_MORE,      /* 1: the send that follows has more after it (MSG_MORE): a short
			       * segment waits as under TCP_CORK; 0 (the next send without
			       * MSG_MORE) lets it go. Sends nothing by itself. Under either, a
			       * held segment leaves after 200 ms at most (Linux's ceiling). */
};
int zc_tcp_setopt(struct zc_tcp_sock *s, enum zc_tcp_opt opt, int val);
/* TCP_CONGESTION: "cubic", "newreno" or "reno" (the same); -ENOENT else.
 * Changing it mid-connection starts the new algorithm from the current
 * window and ssthresh. */
int zc_tcp_set_cc(struct zc_tcp_sock *s, const char *name);
const char *zc_tcp_get_cc(const struct zc_tcp_sock *s);
/* true when name is one zc_tcp_set_cc takes (for checking configuration) */
bool zc_tcp_cc_known(const char *name);
int zc_tcp_getopt(const struct zc_tcp_sock *s, enum zc_tcp_opt opt, int *val);

/* Stack-wide TCP counters (also printed by zc_stack_dump). */
struct zc_tcp_stats {
	uint64_t active_opens, passive_opens, attempt_fails, estab_resets, curr_estab;
	uint64_t segs_in, segs_out, retrans_segs, rsts_out, challenge_acks;
	uint64_t fast_retransmits, timeouts, syn_queue_drops, accept_queue_drops, ooo_segs;
	uint64_t delayed_acks, zero_window_probes, keepalive_probes, paws_drops;
	uint64_t bytes_sent, bytes_received;
	uint64_t aborts_on_data; /* data after the application closed: reset */
	uint64_t urg_in;         /* new urgent pointers (SIGURG's occasions) */
	uint64_t challenge_acks_limited; /* challenge ACKs not sent: over the second's budget */
	uint64_t zero_window_drops; /* text at RCV.NXT into a closed window: refused, its ACK taken */
	uint64_t sack_recoveries;  /* recoveries run on the SACK scoreboard (RFC 6675) */
	uint64_t sack_rescues;     /* RFC 6675 rescue retransmissions */
	uint64_t dsacks_in;        /* duplicate SACKs received (RFC 2883): data the peer got twice */
	uint64_t dsacks_out;       /* duplicate SACKs sent: data we got twice */
	uint64_t sack_bad_blocks;  /* SACK blocks outside what is outstanding: ignored */
	uint64_t sack_board_full;  /* SACK blocks ignored: the scoreboard's ranges were all in use */
	uint64_t bytes_retrans;    /* data bytes sent again */
	uint64_t tlp_probes;       /* tail loss probes sent (RFC 8985 7) */
	uint64_t tlp_recoveries;   /* a probe's retransmission repaired a loss: cwnd reduced (7.4.2) */
	uint64_t lost_retransmits; /* a retransmission found lost by time, sent again */
	uint64_t syncookies_sent;  /* SYN-ACKs with a SYN cookie (the SYN queue was full) */
	uint64_t syncookies_recv;  /* ACKs with a good cookie: connections made from one */
	uint64_t syncookies_failed; /* ACKs to a listener while cookies were out, no good cookie */
	uint64_t conns_peak;       /* the most TCBs at once */
	uint64_t hystart_css;      /* slow starts that met a rising RTT: Conservative Slow Start (RFC 9406) */
	uint64_t hystart_css_undone; /* ... and went back to slow start (the RTT fell again) */
	uint64_t hystart_exits;    /* ... and ended in congestion avoidance, with no loss */
	uint64_t ecn_conns;        /* connections that agreed on ECN */
	uint64_t ecn_ce_in;        /* segments that came marked CE (congestion experienced) */
	uint64_t ecn_reductions;   /* window reductions for the peer's ECE, at most one a window */
	uint64_t pmtu_blackholes;  /* MSS lowered after timeouts with no ICMP (RFC 4821) */
	uint64_t pmtu_probes;      /* MSS raised again a step, to probe the path */
	uint64_t rack_marked;      /* ranges of segments RACK found lost by time (RFC 8985 6.2) */
	uint64_t rack_timeouts;    /* RACK's reorder timer fired */
	uint64_t rack_reordering;  /* connections that saw a segment delivered out of order */
	uint64_t rack_merges;      /* send-time ranges merged for room (a loss found later) */
	uint64_t rack_fallbacks;   /* connections that went back to RFC 6675 (no room, no memory) */
};
void zc_tcp_get_stats(const struct zc_stack *st, struct zc_tcp_stats *out);
uint64_t zc_tcp_urg_in(const struct zc_stack *st); /* stats.urg_in, cheaply */

/* Why TCP's output sent a segment, or why it sent nothing (tcp_output.c:
 * every decision counts one). Sends first, then the holds. */
#define ZC_TCP_TX_SEND_REASONS(X)                                                        \
	X(SYN, "syn")                 /* our SYN or SYN-ACK, the first time */             \
	X(SYN_RETRANSMIT, "syn_retransmit") /* again: its timer ran out, or the peer's SYN came again */ \
	X(SYN_COOKIE, "syn_cookie")   /* a SYN-ACK whose ISN is a SYN cookie: nothing kept */ \
	X(DATA, "data")               /* a full segment of new data */                     \
	X(DATA_TAIL, "data_tail")     /* a short one ending the buffer: Nagle (with Minshall's \
				       * change) or TCP_NODELAY let it go */              \
	X(DATA_SWS, "data_sws")       /* a short one of at least half the peer's largest window \
				       * (RFC 1122 4.2.3.4) */                            \
	X(FIN, "fin")                 /* our FIN, with the last data if any */             \
	X(RETRANSMIT, "retransmit")   /* data or FIN below SND.MAX again (a timeout went back \
				       * to SND.UNA) */                                   \
	X(FAST_RETRANSMIT, "fast_retransmit") /* the first unacknowledged segment at the third \
					       * duplicate ACK (RFC 5681 3.2) */          \
	X(RECOVERY_RETRANSMIT, "recovery_retransmit") /* the next hole at a partial ACK \
						       * (RFC 6582), or with SACK what \
						       * NextSeg chose (RFC 6675) */      \
	X(ACK_NOW, "ack_now")         /* an ACK input asked for at once: a second segment, out \
				       * of order, a hole filled, a FIN, quick ACK, the handshake */ \
	X(DELAYED_ACK, "delayed_ack") /* the delayed-ACK timer ran out */                  \
	X(WINDOW_UPDATE, "window_update") /* a read opened the window enough to tell \
					   * (RFC 1122 4.2.3.3) */                        \
	X(ACK_REPLY, "ack_reply")     /* an ACK answering a segment not taken (out of window, \
				       * PAWS, ACK of unsent data) or a FIN again in TIME_WAIT */ \
	X(CHALLENGE_ACK, "challenge_ack") /* RFC 5961: an in-window RST or SYN, an old ACK */ \
	X(PERSIST_PROBE, "persist_probe") /* one byte into a zero window (RFC 9293 3.8.6.1) */ \
	X(TAIL_LOSS_PROBE, "tail_loss_probe") /* RFC 8985 7: new data, or the last segment \
					       * again, when the probe timeout ran out */ \
	X(KEEPALIVE, "keepalive")     /* SND.UNA - 1 with no data (RFC 9293 3.8.4) */      \
	X(RST, "rst")                 /* reset: unread data at close, SO_LINGER 0, retries or \
				       * keepalive probes ran out, data after close, the listener \
				       * of an unaccepted child closed */                 \
	X(RST_REPLY, "rst_reply")     /* a segment for no connection, or unacceptable in a \
				       * handshake (RFC 9293 3.10.7.1) */
#define ZC_TCP_TX_HOLD_REASONS(X)                                                        \
	X(HOLD_NOTHING, "hold_nothing") /* nothing to send */                              \
	X(HOLD_WINDOW, "hold_window") /* data waits: the peer's window is full or closed */ \
	X(HOLD_CWND, "hold_cwnd")     /* data waits: the congestion window is full */      \
	X(HOLD_NAGLE, "hold_nagle")   /* a short segment waits for the ACK of an earlier short \
				       * one (Nagle, Minshall) */                         \
	X(HOLD_SWS, "hold_sws")       /* the window has room for a short segment only: it \
				       * waits (sender SWS avoidance) */                  \
	X(HOLD_CORK, "hold_cork")     /* TCP_CORK holds a short segment */                 \
	X(HOLD_FAILED, "hold_failed") /* the last segment could not be built or sent */
enum zc_tcp_tx_reason {
#define ZC__TCP_TX_ENUM(id, name) ZC_TCP_TX_##id,
	ZC_TCP_TX_SEND_REASONS(ZC__TCP_TX_ENUM)
	ZC_TCP_TX_HOLD_REASONS(ZC__TCP_TX_ENUM)
#undef ZC__TCP_TX_ENUM
	ZC_TCP_TX__COUNT
};
#define ZC_TCP_TX_IS_SEND(r) ((r) < ZC_TCP_TX_HOLD_NOTHING)
const char *zc_tcp_tx_reason_name(enum zc_tcp_tx_reason r);

#define ZC_TCP_NSTATES (ZC_TCP_TIME_WAIT + 1)
/* The paths TCP took, stack-wide: why segments went out (or did not) and
 * which states connections entered. Apart from struct zc_tcp_stats (the
 * counters Linux's TCP MIB has), which keeps its layout. */
struct zc_tcp_path_stats {
	uint64_t tx[ZC_TCP_TX__COUNT];    /* output decisions, by reason */
	uint64_t entered[ZC_TCP_NSTATES]; /* state changes, by the state entered */
};
void zc_tcp_get_path_stats(const struct zc_stack *st, struct zc_tcp_path_stats *out);
/* Connections that still have something to say or hear: our data or FIN
 * not yet acknowledged, or a handshake under way (not LISTEN, FIN_WAIT_2,
 * TIME_WAIT, CLOSED). */
unsigned zc_tcp_unfinished(const struct zc_stack *st);
/* TCBs alive (including TIME_WAIT and unaccepted ones). */
unsigned zc_tcp_count(const struct zc_stack *st);

#endif

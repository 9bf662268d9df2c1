/*
 * tcp_priv.h - TCP's internals, shared by the tcp_*.c files and the
 * congestion controls (cc_*.c). Nothing outside stack/ includes it.
 *
 * The files: tcp_table.c (configuration, connection hash, listeners,
 * ports, ISNs), tcp_cb.c (TCB life and state changes), tcp_usrreq.c (the
 * application's calls), tcp_send.c and tcp_recv.c (send buffer, receive
 * queue), tcp_opt.c (options and MSS), tcp_input.c (segment arrives),
 * tcp_reass.c (in-order and out-of-order queues, SACK blocks, DSACK),
 * tcp_sack.c (the sender's SACK scoreboard, RFC 6675's IsLost, pipe and
 * NextSeg),
 * tcp_output.c (what to send, building segments), tcp_timer.c (timers,
 * RTT), tcp_info.c (tcp_info, counters).
 *
 * A struct zc_tcp_sock is the TCB itself: the handle an application holds
 * until zc_tcp_close(), after which the connection lives on "orphaned"
 * until it is done (FIN exchange, TIME_WAIT) and then frees itself.
 */
#ifndef ZC_TCP_PRIV_H
#define ZC_TCP_PRIV_H

#include "stack/stack_priv.h"
#include "stack/tcp.h"

/* Sequence numbers: 32-bit, compared modulo 2^32 (RFC 9293 3.4). */
typedef uint32_t tcp_seq;
static inline bool seq_lt(tcp_seq a, tcp_seq b) { return (int32_t)(a - b) < 0; }
static inline bool seq_le(tcp_seq a, tcp_seq b) { return (int32_t)(a - b) <= 0; }
static inline bool seq_gt(tcp_seq a, tcp_seq b) { return (int32_t)(a - b) > 0; }
static inline bool seq_ge(tcp_seq a, tcp_seq b) { return (int32_t)(a - b) >= 0; }
static inline tcp_seq seq_max(tcp_seq a, tcp_seq b) { return seq_gt(a, b) ? a : b; }
static inline tcp_seq seq_min(tcp_seq a, tcp_seq b) { return seq_lt(a, b) ? a : b; }

#define ZC__TCP_HASH 4096u         /* connection hash buckets (power of two) */
#define ZC__TCP_OOO_MEM_MIN (256u << 10) /* the out-of-order queue pins at most
	* max(4 x the receive buffer, this): a flood of tiny segments, each in a
	* frame of its own, stays bounded in memory, not only in bytes */
#define ZC__TCP_OOO_MAX 8192u      /* out-of-order segments per connection (the
				     * window bounds their bytes; this bounds headers) */
#define ZC__TCP_SACK_SCAN 16u      /* out-of-order runs looked at for SACK blocks */
#define ZC__TCP_SACK_RECENT 4u     /* recent out-of-order arrivals kept for SACK blocks */
#define ZC__TCP_SACKBOARD 32u      /* SACKed ranges a sender keeps (tcp_sack.c) */
#define ZC__TCP_QUICKACKS 16u      /* segments ACKed at once after the handshake */
#define ZC__TCP_DUPTHRESH 3u       /* duplicate ACKs that start fast retransmit (RFC 5681 3.2) */
#define ZC__TCP_WSCALE_MAX 14u
/* SO_SNDBUF/SO_RCVBUF and the configured buffers: at least a page, at most
 * what window scale 14 can advertise (65535 << 14, about 2^30; RFC 7323 2.3) */
#define ZC__TCP_BUF_MIN 4096u
#define ZC__TCP_BUF_MAX (1u << 30)
#define ZC__TCP_MSS_DEFAULT 536u   /* without an MSS option (RFC 9293 3.7.1) */
#define ZC__TCP_MSS_MAX (65535u - ZC_TCP_MAXHLEN)
/* keepalive defaults: RFC 1122 4.2.3.6 (idle at least two hours), with
 * Linux's tcp_keepalive_time, tcp_keepalive_intvl, tcp_keepalive_probes */
#define ZC__TCP_KEEPIDLE_S 7200u
#define ZC__TCP_KEEPINTVL_S 75u
#define ZC__TCP_KEEPCNT 9u

struct zc_tcp_sock;

/* Congestion control, one file per algorithm (cc_newreno.c). */
struct zc__cc_ops {
	const char *name;
	void (*init)(struct zc_tcp_sock *s);
	/* acked bytes of new data, outside recovery */
	void (*ack)(struct zc_tcp_sock *s, uint32_t acked);
	/* a third duplicate ACK: enter fast recovery (returns after setting
	 * ssthresh/cwnd; the caller retransmits) */
	void (*enter_recovery)(struct zc_tcp_sock *s);
	void (*dupack_in_recovery)(struct zc_tcp_sock *s);
	/* an ACK in recovery: partial (below recover) or full */
	void (*partial_ack)(struct zc_tcp_sock *s, uint32_t acked);
	void (*exit_recovery)(struct zc_tcp_sock *s);
	void (*timeout)(struct zc_tcp_sock *s);
};
extern const struct zc__cc_ops zc__cc_newreno;
extern const struct zc__cc_ops zc__cc_cubic;
/* by name: cubic, newreno (and Linux's reno); NULL when unknown */
const struct zc__cc_ops *zc__cc_find(const char *name);
/* NewReno's pieces that CUBIC shares (cc_newreno.c) */
void zc__cc_reno_init(struct zc_tcp_sock *s);
void zc__cc_reno_slow_start(struct zc_tcp_sock *s, uint32_t acked);
void zc__cc_reno_dupack(struct zc_tcp_sock *s);
void zc__cc_reno_partial(struct zc_tcp_sock *s, uint32_t acked);
void zc__cc_reno_exit(struct zc_tcp_sock *s);
#define ZC__CUBIC_CWND_MAX (1u << 30)
/* HyStart++'s state (cc_hystart.c): RTTs in ns, 0 = none yet */
struct zc__hystart {
	uint64_t last_min, cur_min, css_base;
	tcp_seq window_end;    /* the round ends when SND.UNA passes it (0: no round yet) */
	uint32_t samples;      /* RTT samples this round */
	uint8_t css_rounds;
	bool css;              /* in Conservative Slow Start */
};
#define ZC__TCP_SSTHRESH_INIT 0x7fffffffu
/* cc_hystart.c: an RTT sample; and of add bytes slow start would grow by,
 * what it may (all, a quarter in CSS, 0 when CSS ends in avoidance) */
void zc__hystart_rtt(struct zc_tcp_sock *s, uint64_t rtt);
uint32_t zc__hystart_grow(struct zc_tcp_sock *s, uint32_t add);
/* CUBIC's state (cc_cubic.c): windows in segments, K in seconds */
struct zc__cubic {
	uint64_t epoch_ns;     /* 0: no epoch yet (starts at the next ACK in avoidance) */
	double w_max, origin, k_s, w_est, frac;
};

/* ZC__T_CORK: the 200 ms ceiling on data held by TCP_CORK or MSG_MORE (Linux's) */
/* ZC__T_RACK: RACK's reorder timer (tcp_rack.c) */
enum zc__tcp_timer { ZC__T_REXMT, ZC__T_PERSIST, ZC__T_DELACK, ZC__T_KEEP, ZC__T_2MSL, ZC__T_CORK, ZC__T_RACK, ZC__T_N };
#define ZC__TCP_CORK_NS 200000000ull

/* RACK's state (tcp_rack.c, RFC 8985 6): the send-time map, entries
 * [head, head + n) of seg (an arena block of ZC__RACK_SEGS, NULL until the
 * first data segment, or for good once failed), each covering from the end
 * of the one before (SND.UNA for the first) to r; and RACK.xmit_ts,
 * end_seq, fack, rtt, min_RTT, reordering_seen and the DSACK round. */
#define ZC__RACK_SEGS 256u
struct zc__rack_seg {
	uint64_t xmit_ns;
	tcp_seq r;
	uint32_t flags;
};
struct zc__rack {
	struct zc__rack_seg *seg;
	uint16_t head, n;
	bool failed, reordering_seen, dsack_round_on;
	uint8_t reo_wnd_mult, reo_wnd_persist;
	tcp_seq end_seq, fack, dsack_round;
	uint64_t xmit_ns, rtt, min_rtt;
	uint64_t stamp;              /* the last send's time */
	uint64_t tail_start;         /* when the last range's first segment went */
};

struct zc_tcp_sock {
	struct zc_stack *st;
	struct zc__rack rack;
	struct zc__hystart hystart;
	uint8_t state;
	bool orphan;             /* the application closed its handle */
	bool hashed, in_listeners;
	uint32_t lip, rip;
	uint16_t lport, rport;
	struct zc_tcp_sock *hnext;   /* hash chain or listener list */
	struct zc_tcp_sock *anext, *aprev; /* all TCBs of the stack */

	/* listener: children in SYN_RECEIVED and established-not-accepted */
	struct zc_tcp_sock *parent;  /* the listener of an unaccepted child */
	struct zc_tcp_sock *qnext;   /* child queue link */
	struct zc_tcp_sock *acc_head, *acc_tail;
	uint32_t backlog, nsyn, nacc;
	uint64_t cookie_sent_ns;      /* listener: when it last answered with a SYN cookie (0: never) */
	bool from_cookie;            /* child: made from a SYN cookie's ACK */
	uint32_t wake_in, wake_out;
	uint32_t urg_count;          /* new urgent pointers seen */  /* readers' and writers' wake-ups (zc_tcp_change: epoll's edges) */
	bool accepted_ready;         /* child: in the accept queue */
	uint8_t rx_place;            /* zc_tcp_rx_place as last told: 0 never, 1 off, 2 on */

	/* send side */
	tcp_seq iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
	tcp_seq snd_up;              /* urgent mode: segments below it carry URG (MSG_OOB) */
	bool urg_send;
	tcp_seq snd_sml;             /* end of the last segment sent shorter than the MSS (Minshall) */
	uint32_t snd_wnd, max_sndwnd;
	uint8_t snd_wscale, rcv_wscale;
	bool ws_ok, ts_ok, sack_ok;  /* options agreed in the handshake */
	/* ECN (RFC 3168): agreed in the handshake; ECE to send until the
	 * peer's CWR; CWR to send on the next new data; the window was
	 * reduced for an ECE until SND.UNA passes ecn_recover */
	bool ecn_ok, ecn_asked, ece_pending, cwr_pending;
	tcp_seq ecn_recover;
	/* PLPMTUD (tcp_pmtu.c): the MSS before a black hole lowered it (0:
	 * none), and when the next step back up may be tried */
	uint16_t mss_full;
	uint64_t mss_probe_ns;
	/* starts of the newest out-of-order arrivals, newest first: SACK
	 * blocks are reported in that order (RFC 2018 4), so each block goes
	 * in several ACKs before a newer one pushes it out */
	tcp_seq last_ooo[ZC__TCP_SACK_RECENT];
	uint8_t n_last_ooo;
	/* DSACK (RFC 2883) as a receiver: a duplicate arrival to report in
	 * the first block of the next ACK */
	bool dsack_pending;
	tcp_seq dsack_l, dsack_r;
	/* SACK as a sender (tcp_sack.c, RFC 6675): the scoreboard, and this
	 * recovery's HighRxt (the end of what it retransmitted) and RescueRxt */
	struct zc__sack_range { tcp_seq l, r; } sacked[ZC__TCP_SACKBOARD];
	uint8_t nsacked;
	bool sack_rec;               /* this recovery is RFC 6675's (the peer SACKs) */
	bool rescue_set;
	uint32_t sacked_bytes;
	tcp_seq high_rxt, rescue_rxt;
	/* PRR (RFC 6937) in that recovery: data delivered and sent since it
	 * began, and the flight when it began */
	uint32_t prr_delivered, prr_out, prr_recover_fs;
	/* the last retransmission of SND.UNA's segment in that recovery: when,
	 * and SND.UNA then (a lost one is found by time, as RACK would) */
	uint64_t rxt_una_ns;
	tcp_seq rxt_una;
	uint32_t dsacks_in;
	/* tail loss probe (RFC 8985 7): the retransmission timer runs as the
	 * probe timeout (tlp_armed); one probe out at a time, up to tlp_high
	 * (SND.MAX when it went), a retransmission or new data (tlp_rxt) */
	bool tlp_armed, tlp_out, tlp_rxt;
	tcp_seq tlp_high;
	uint16_t mss;                /* we send at most this much data per segment */
	uint16_t adv_mss;            /* what we advertised */
	uint16_t user_mss;           /* TCP_MAXSEG, 0 = none */
	struct zc_mbuf *sb_head, *sb_tail; /* data from snd_una on, in frames */
	/* where the last transmit found its data: segment sb_cur starts at byte
	 * sb_cur_off of the send buffer (NULL: look from sb_head); keeps a
	 * send from walking the whole buffer (1024 frames of 4 MiB) */
	struct zc_mbuf *sb_cur;
	uint32_t sb_cur_off;
	uint32_t sb_len, sb_max;
	bool sb_auto, rb_auto;  /* autotuning (tcp.h autotune_min), until SO_*BUF is set */
	uint32_t rb_win;        /* the receive buffer the window is made of (<= rb_max) */
	uint32_t sb_floor;      /* autotuning: twice the largest write (zc_tcp_snd_hint) */
	bool fin_pending;            /* no more data from the application: FIN after sb */
	bool fin_acked;              /* our FIN is acknowledged: never send it again */
	bool wr_shut;

	/* receive side */
	tcp_seq irs, rcv_nxt, rcv_adv;
	struct zc_mbuf *rq_head, *rq_tail; /* in-order data (nextpkt list) */
	uint32_t rq_len, rb_max;
	struct zc_mbuf *ooo;         /* sorted by seq (kept in tstamp), nextpkt list */
	uint32_t ooo_n, ooo_bytes;
	uint64_t ooo_mem;       /* what the out-of-order queue pins: a frame a segment (inline ones their mbuf) */
	bool fin_rcvd, rd_shut;
	/* urgent data in (Linux's one byte of out-of-band, RFC 6093): the byte
	 * before the peer's urgent pointer is taken out of the stream (unless
	 * oobinline) for recv(MSG_OOB); urg_mark bytes of rq lie before the mark */
	uint8_t urg_state;           /* ZC__URG_* */
	uint8_t urg_byte;
	bool oobinline, urg_marked;
	tcp_seq urg_seq;             /* the urgent byte's sequence number */
	uint32_t urg_mark;

	/* timestamps (RFC 7323) */
	uint32_t ts_recent, ts_offset;
	uint64_t ts_recent_age;
	tcp_seq last_ack_sent;

	/* RTT and retransmission (RFC 6298) */
	uint64_t srtt, rttvar, rto;  /* ns */
	bool rtt_valid, rtt_timing;
	tcp_seq rtt_seq;
	uint64_t rtt_start;
	uint32_t backoff, rexmt_count, syn_tries, persist_shift;

	/* congestion control */
	const struct zc__cc_ops *cc;
	uint32_t cwnd, ssthresh, dupacks, ca_acked;
	struct zc__cubic cubic;
	tcp_seq recover;
	bool in_recovery;

	/* ACK policy */
	uint32_t segs_unacked, quickack;
	uint32_t rcv_mss;            /* the largest segment the peer sent (Linux's rcv_mss): what "full-sized" means for the ACK policy */
	bool ack_now;                /* an ACK goes with the next output (zc__tcp_ack_now) */
	uint8_t ack_why;             /* enum zc_tcp_tx_reason: why, if it goes alone */

	/* options */
	bool nodelay, cork, keepalive;
	bool reuseaddr, reuseport; /* SO_REUSEADDR, SO_REUSEPORT (tcp_table.c: bind conflicts) */
	bool more;                   /* the last send said MSG_MORE: hold a short segment, as cork */
	bool cork_expired;           /* the cork timer fired: a held short segment goes */
	uint32_t keepidle_s, keepintvl_s, keepcnt, keep_probes;
	int linger_s;

	/* timers: absolute deadlines, 0 = off; heap position of the earliest */
	uint64_t t[ZC__T_N];
	uint64_t deadline;
	int32_t heap_idx;            /* -1 when not in the heap */

	int error;                   /* pending SO_ERROR (positive errno) */
	int soft_error;              /* an ICMP error while connected: SO_ERROR once, or the
				      * error instead of ETIMEDOUT when retries run out (Linux's
				      * sk_err_soft) */
	uint64_t last_rx, last_data_rx, last_data_tx, last_ack_rx;

	/* tcp_info counters */
	uint64_t bytes_acked, bytes_received, bytes_sent, bytes_retrans;
	uint32_t segs_in, segs_out, data_segs_in, data_segs_out, total_retrans, ooo_packets;
};

struct zc__tcp {
	struct zc_tcp_config cfg;
	const struct zc__cc_ops *cc_default; /* cfg.cc resolved (cfg.cc itself is not kept) */
	uint64_t chal_sec;  /* the second whose challenge-ACK budget chal_left is (+1: 0 is none) */
	uint32_t chal_left;
	struct zc_tcp_sock *hash[ZC__TCP_HASH];
	struct zc_tcp_sock *listeners;
	struct zc_tcp_sock *all;
	struct zc_tcp_sock **heap;
	uint32_t nheap, heapcap;
	uint32_t count;
	uint64_t key[2];             /* SipHash key for ISNs */
	struct zc_tcp_stats stats;
	struct zc_tcp_path_stats paths;
};

/* Synchronized: the handshake is done (the connection may be closing). */
static inline bool zc__tcp_connected(const struct zc_tcp_sock *s) { return s->state >= ZC_TCP_ESTABLISHED; }

/* An ACK is due: the next zc__tcp_output sends one, on data or alone
 * (then counted under why: the first reason since the last ACK went). */
static inline void zc__tcp_ack_now(struct zc_tcp_sock *s, enum zc_tcp_tx_reason why)
{
	if (!s->ack_now)
		s->ack_why = (uint8_t)why;
	s->ack_now = true;
}

enum { ZC__URG_NONE = 0, ZC__URG_NOTYET, ZC__URG_VALID, ZC__URG_READ };

/* tcp_input.c: a segment's urgent pointer (URG set), before its data. */
void zc__tcp_urg_input(struct zc_tcp_sock *s, tcp_seq seq, uint16_t up);

/* tcp_pmtu.c: a retransmission timeout of data (a black hole after the
 * third in a row lowers the MSS); an ACK of new data (a step back up when
 * due) */
void zc__tcp_pmtu_rto(struct zc_tcp_sock *s);
void zc__tcp_pmtu_ack(struct zc_tcp_sock *s);

/* tcp_syncookie.c. wanted: should a SYN to l get a cookie (queue_full:
 * its SYN queue is)? recent: may an ACK to l carry one? send: the SYN-ACK
 * for SYN th, stateless. check: is th's ACK a cookie of ours; then *syn is
 * the SYN it stood for (options included) and *ts_offset the connection's
 * timestamp offset. A failed check is counted (syncookies_failed). */
bool zc__syncookie_wanted(const struct zc_tcp_sock *l, bool queue_full);
bool zc__syncookie_recent(const struct zc_tcp_sock *l);
void zc__syncookie_send(struct zc_stack *st, struct zc_tcp_sock *l, const struct zc_ipv4 *ip,
			const struct zc_tcp *th);
bool zc__syncookie_check(struct zc_stack *st, const struct zc_ipv4 *ip, const struct zc_tcp *th,
			 struct zc_tcp *syn, uint32_t *ts_offset);

/* tcp_table.c */
uint64_t zc__siphash(const uint64_t k[2], uint64_t m0, uint64_t m1); /* SipHash-2-4 */
int zc__tcp_init(struct zc_stack *st);
void zc__tcp_fini(struct zc_stack *st);
void zc__tcp_hash(struct zc_tcp_sock *s);
void zc__tcp_hash_listener(struct zc_tcp_sock *s);
void zc__tcp_unhash(struct zc_tcp_sock *s);
struct zc_tcp_sock *zc__tcp_lookup(struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
				   uint16_t rport);
struct zc_tcp_sock *zc__tcp_listener(struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
				     uint16_t rport);
int zc__tcp_bind_tuple(struct zc_tcp_sock *s, uint32_t ip, uint16_t port);
tcp_seq zc__tcp_isn(struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport);

/* tcp_cb.c */
struct zc_tcp_sock *zc__tcp_alloc(struct zc_stack *st);
void zc__tcp_free(struct zc_tcp_sock *s);
/* Every change of s->state: counted (zc_tcp_path_stats), logged at debug
 * level, and curr_estab kept. */
void zc__tcp_set_state(struct zc_tcp_sock *s, enum zc_tcp_state st);
/* The connection is over: err (0 or errno) becomes SO_ERROR, queues are
 * freed, timers stop; an orphan or unaccepted child is freed. */
void zc__tcp_drop(struct zc_tcp_sock *s, int err);
/* TIME_WAIT ran out or the last ACK came: state CLOSED; an orphan is freed
 * (returns true: s is gone). */
bool zc__tcp_closed(struct zc_tcp_sock *s);
/* The 2*MSL timer (re)starts: how long TIME_WAIT lasts, and how long an
 * orphan waits in FIN_WAIT_2 (Linux's tcp_fin_timeout). */
void zc__tcp_2msl(struct zc_tcp_sock *s);
/* Both FINs are acknowledged: TIME_WAIT, with no timer but 2*MSL. */
void zc__tcp_time_wait(struct zc_tcp_sock *s);
/* A listener's child became established: queue it for accept. */
void zc__tcp_child_ready(struct zc_tcp_sock *c);
/* Remove a child from its listener's queues. */
void zc__tcp_unlink_child(struct zc_tcp_sock *c);

/* tcp_send.c */
void zc__tcp_sb_drop(struct zc_tcp_sock *s, uint32_t n); /* acked bytes leave the send buffer */

/* tcp_opt.c */
/* Window scale that lets a buffer of `buf` bytes be advertised. */
uint8_t zc__tcp_wscale_for(uint32_t buf);
/* The MSS our SYN or SYN-ACK offers: the NIC's MTU less the headers, at
 * most user_mss (TCP_MAXSEG) when set. */
uint32_t zc__tcp_adv_mss(const struct zc_stack *st, uint16_t user_mss);
/* The initial state of a new connection's send side (MSS from the NIC). */
void zc__tcp_init_conn(struct zc_tcp_sock *s);
/* Options of the peer's SYN: MSS, window scale, timestamps, SACK-permitted. */
void zc__tcp_syn_options(struct zc_tcp_sock *s, const struct zc_tcp *th);

/* tcp_reass.c */
void zc__tcp_rq_append(struct zc_tcp_sock *s, struct zc_mbuf *m);
/* Insert [seq, seq+len) into the out-of-order queue, trimming overlaps. */
void zc__tcp_ooo_insert(struct zc_tcp_sock *s, tcp_seq seq, struct zc_mbuf *m);
/* Move what became in order from the out-of-order queue. */
void zc__tcp_ooo_drain(struct zc_tcp_sock *s);
uint32_t zc__tcp_ooo_discard(struct zc_tcp_sock *s);
void zc__free_chain_list(struct zc_mbuf *m); /* a nextpkt list of chains */
/* A duplicate arrival [l, r) for the next ACK's DSACK block (RFC 2883). */
void zc__tcp_dsack(struct zc_tcp_sock *s, tcp_seq l, tcp_seq r);
/* Up to max SACK blocks describing the out-of-order queue, into o. */
void zc__tcp_sack_blocks(const struct zc_tcp_sock *s, struct zc_tcp_opts *o, unsigned max);

/* tcp_sack.c: the sender's scoreboard and RFC 6675 */
void zc__sack_clear(struct zc_tcp_sock *s);
void zc__sack_trim(struct zc_tcp_sock *s, tcp_seq una);
/* An ACK's blocks into the scoreboard (DSACKs counted, bad blocks
 * ignored); returns the bytes newly SACKed. */
uint32_t zc__sack_update(struct zc_tcp_sock *s, const struct zc_tcp_opts *o, tcp_seq ack);
bool zc__sack_is_lost(const struct zc_tcp_sock *s, tcp_seq seq);
uint32_t zc__sack_pipe(const struct zc_tcp_sock *s);
/* NextSeg rule 1 (rule = 1: a lost hole) or rule 3 (rule = 3: one not
 * lost, below the highest SACKed octet), from HighRxt; rule 4, the rescue */
bool zc__sack_next_rexmt(const struct zc_tcp_sock *s, int rule, tcp_seq *seq, uint32_t *len);
bool zc__sack_rescue(const struct zc_tcp_sock *s, tcp_seq *seq, uint32_t *len);
/* Going back after a timeout: SND.NXT past SACKed data; the bytes that
 * may go from SND.NXT before the next SACKed range. */
void zc__sack_skip(struct zc_tcp_sock *s);
/* SACKed bytes below seq (they are not in flight) */
uint32_t zc__sack_below(const struct zc_tcp_sock *s, tcp_seq seq);
uint32_t zc__sack_room(const struct zc_tcp_sock *s);

/* tcp_rack.c: RACK (RFC 8985 6). on: the map exists (the peer SACKs,
 * cfg.no_rack is off, nothing failed). sent: [l, l + len) went (new or
 * again; a FIN counts one). sacked: [l, r) newly SACKed. acked: the
 * cumulative ACK is about to become ack (before SND.UNA moves). detect:
 * mark what time says is lost, arm the reorder timer for the rest; true
 * when anything is marked lost (dsack: this ACK carried one). unsack: the
 * scoreboard was expunged (reneging). rto: all that is not SACKed is
 * lost. pipe/next_lost/lost_at: RFC 6675's pipe, NextSeg rule 1 and
 * IsLost over the map. */
bool zc__rack_on(const struct zc_tcp_sock *s);
void zc__rack_free(struct zc_tcp_sock *s);
void zc__rack_sent(struct zc_tcp_sock *s, tcp_seq l, uint32_t len);
void zc__rack_sacked(struct zc_tcp_sock *s, tcp_seq l, tcp_seq r);
void zc__rack_acked(struct zc_tcp_sock *s, tcp_seq ack);
bool zc__rack_detect(struct zc_tcp_sock *s, bool dsack);
void zc__rack_timer(struct zc_tcp_sock *s);
void zc__rack_unsack(struct zc_tcp_sock *s);
void zc__rack_rto(struct zc_tcp_sock *s);
void zc__rack_exit_recovery(struct zc_tcp_sock *s);
uint32_t zc__rack_pipe(const struct zc_tcp_sock *s);
bool zc__rack_next_lost(const struct zc_tcp_sock *s, tcp_seq *seq, uint32_t *len);
bool zc__rack_lost_at(const struct zc_tcp_sock *s, tcp_seq seq);
/* tcp_input.c: RACK marked losses: a fast recovery begins if none runs
 * (and no timeout's go-back does), and output sends what it may. */
void zc__tcp_rack_loss(struct zc_tcp_sock *s);

/* tcp_timer.c */
/* Room in the timer heap for n connections (each is in it at most once),
 * so that setting a timer never allocates: 0, or -ENOMEM. */
int zc__tcp_timer_reserve(struct zc_stack *st, uint32_t n);
void zc__tcp_timer_set(struct zc_tcp_sock *s, enum zc__tcp_timer t, uint64_t when);
void zc__tcp_timer_clear_all(struct zc_tcp_sock *s);
void zc__tcp_timers(struct zc_stack *st);
uint64_t zc__tcp_next_timer(const struct zc_stack *st);
void zc__tcp_rtt_sample(struct zc_tcp_sock *s, uint64_t rtt);
void zc__tcp_arm_rexmt(struct zc_tcp_sock *s);
void zc__tcp_keep_reset(struct zc_tcp_sock *s);

/* tcp_output.c: every segment of a connection leaves through one decision
 * (zc__tcp_decide) and one send path, counted under its reason. */
/* Send what the state, windows and policies allow: the SYN, data, the FIN,
 * an ACK asked for (zc__tcp_ack_now). */
void zc__tcp_output(struct zc_tcp_sock *s);
/* The one segment an event calls for: ZC_TCP_TX_SYN (the SYN-ACK of a
 * simultaneous open), _SYN_RETRANSMIT, _FAST_RETRANSMIT,
 * _RECOVERY_RETRANSMIT, _ACK_REPLY, _CHALLENGE_ACK, _PERSIST_PROBE,
 * _KEEPALIVE or _RST (none in a state that has no peer to tell). */
void zc__tcp_output_for(struct zc_tcp_sock *s, enum zc_tcp_tx_reason why);
/* A RST answering a segment that has no connection or is unacceptable
 * (RFC 9293 3.10.7.1). */
void zc__tcp_respond_rst(struct zc_stack *st, const struct zc_ipv4 *ip, const struct zc_tcp *th,
			 uint32_t seglen);
/* Segment th (options included) src -> dst with no connection behind it
 * (a RST reply, a SYN cookie's SYN-ACK), counted under why. 0, or -ENOBUFS
 * (counted as tx_no_buffers). */
int zc__tcp_send_bare(struct zc_stack *st, uint32_t src, uint32_t dst, const struct zc_tcp *th,
		      enum zc_tcp_tx_reason why);
uint32_t zc__tcp_rcv_space(const struct zc_tcp_sock *s);
uint32_t zc__tcp_now_ts(const struct zc_tcp_sock *s);

#endif

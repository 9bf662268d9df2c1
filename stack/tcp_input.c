/*
 * tcp_input.c - TCP receive: RFC 9293 3.10.7 "SEGMENT ARRIVES", step by
 * step, with RFC 5961 (challenge ACKs, ACK range check), RFC 7323 (PAWS,
 * timestamps for RTT), RFC 6298 (Karn), RFC 5681/6582 (duplicate ACKs, fast
 * retransmit and recovery) and RFC 3042 (limited transmit).
 *
 * Segments are first checked (header, options, checksum, each failure under
 * its own drop name). Data stays in the received frames: trimmed to the
 * window, the mbufs themselves join the in-order or out-of-order queue
 * (tcp_reass.c). What to answer is decided in tcp_output.c.
 */
#include "stack/tcp_priv.h"

#include <errno.h>
#include <string.h>

struct zc__seg {
	struct zc_tcp th;
	tcp_seq seq, end;   /* end: seq + data + SYN + FIN */
	uint32_t len;       /* data bytes */
	struct zc_mbuf *m;  /* data only (headers removed); may be NULL */
};

static void zc__tcp_bad(struct zc_stack *st, enum zc_drop_reason r) { zc_drop(&st->drops, r); }

/* --- the steps ---------------------------------------------------------------- */

/* RFC 9293 3.10.7.4 first check: is the segment acceptable? */
static bool zc__seq_acceptable(const struct zc_tcp_sock *s, const struct zc__seg *g)
{
	uint32_t wnd = seq_gt(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
	uint32_t seglen = g->end - g->seq;
	if (seglen == 0)
		return wnd == 0 ? g->seq == s->rcv_nxt
				: seq_le(s->rcv_nxt, g->seq) && seq_lt(g->seq, s->rcv_nxt + wnd);
	if (wnd == 0)
		return false;
	return (seq_le(s->rcv_nxt, g->seq) && seq_lt(g->seq, s->rcv_nxt + wnd)) ||
	       (seq_le(s->rcv_nxt, g->end - 1) && seq_lt(g->end - 1, s->rcv_nxt + wnd));
}

/* The segment is dropped and answered with a challenge ACK (RFC 5961),
 * within the stack's budget for this second (RFC 5961 7: a rate limit;
 * Linux's, with its budget drawn at random each second). */
static void zc__challenge_ack(struct zc_tcp_sock *s)
{
	struct zc_stack *st = s->st;
	struct zc__tcp *t = st->tcp;
	zc__tcp_bad(st, ZC_DROP_TCP_CHALLENGE_ACK);
	uint64_t sec = st->now / 1000000000ull + 1;
	if (sec != t->chal_sec) {
		uint32_t lim = t->cfg.challenge_ack_limit, half = (lim + 1) / 2;
		t->chal_sec = sec;
		t->chal_left = half + (uint32_t)zc_rng_below(&st->rng, lim);
	}
	if (t->chal_left == 0) {
		t->stats.challenge_acks_limited++;
		return;
	}
	t->chal_left--;
	t->stats.challenge_acks++;
	zc__tcp_output_for(s, ZC_TCP_TX_CHALLENGE_ACK);
}

/* A child of listener l in SYN_RECEIVED for the peer's SYN th (its
 * options taken), our ISN iss, hashed; NULL (counted) without a TCB. */
static struct zc_tcp_sock *zc__tcp_child(struct zc_stack *st, struct zc_tcp_sock *l, const struct zc_ipv4 *ip,
					 const struct zc_tcp *th, tcp_seq iss)
{
	struct zc_tcp_sock *c = zc__tcp_alloc(st);
	if (c == NULL) {
		zc__tcp_bad(st, ZC_DROP_TCP_SYN_QUEUE);
		return NULL;
	}
	c->lip = ip->dst;
	c->lport = th->dport;
	c->rip = ip->src;
	c->rport = th->sport;
	c->parent = l;
	c->orphan = true; /* until accepted */
	l->nsyn++;
	c->nodelay = l->nodelay;
	c->reuseaddr = l->reuseaddr; /* a connection keeps its listener's, to TIME_WAIT (bind conflicts) */
	c->reuseport = l->reuseport;
	c->sb_max = l->sb_max;
	c->rb_max = l->rb_max;
	c->rb_win = l->rb_win;
	c->sb_auto = l->sb_auto;
	c->rb_auto = l->rb_auto;
	c->user_mss = l->user_mss;
	c->keepalive = l->keepalive;
	c->keepidle_s = l->keepidle_s;
	c->keepintvl_s = l->keepintvl_s;
	c->keepcnt = l->keepcnt;
	c->linger_s = l->linger_s;
	c->cc = l->cc; /* TCP_CONGESTION passes to accepted connections, as on Linux */
	zc__tcp_init_conn(c);
	zc__tcp_syn_options(c, th);
	/* an ECN-setup SYN (RFC 3168 6.1.1), answered unless ECN is off */
	if ((th->flags & (ZC_TCP_ECE | ZC_TCP_CWR)) == (ZC_TCP_ECE | ZC_TCP_CWR) &&
	    st->tcp->cfg.ecn != ZC_TCP_ECN_OFF) {
		c->ecn_ok = true;
		st->tcp->stats.ecn_conns++;
	}
	c->irs = th->seq;
	c->rcv_nxt = th->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	c->snd_wnd = th->win; /* a SYN's window is never scaled */
	c->max_sndwnd = c->snd_wnd;
	c->snd_wl1 = th->seq;
	c->iss = iss;
	c->snd_una = c->snd_nxt = c->snd_max = c->snd_sml = c->iss;
	c->recover = c->iss; /* RFC 6582 3.2 step 1: recover starts at the ISS */
	c->ecn_recover = c->iss;
	c->snd_wl2 = c->iss;
	c->cc->init(c);
	zc__tcp_set_state(c, ZC_TCP_SYN_RECEIVED);
	zc__tcp_hash(c);
	c->last_rx = st->now;
	st->tcp->stats.passive_opens++;
	return c;
}

static void zc__tcp_established_input(struct zc_tcp_sock *s, const struct zc_ipv4 *ip, struct zc__seg *g);

/* An ACK to a listener that may complete a handshake answered with a SYN
 * cookie: the connection is made now, as if its SYN-ACK had gone from a
 * child, and the ACK (with any data) is that child's. False: it is not. */
static bool zc__tcp_cookie_ack(struct zc_stack *st, struct zc_tcp_sock *l, const struct zc_ipv4 *ip,
			       struct zc__seg *g)
{
	struct zc_tcp syn;
	uint32_t ts_offset;
	if ((g->th.flags & (ZC_TCP_SYN | ZC_TCP_RST | ZC_TCP_FIN)) || !zc__syncookie_recent(l) ||
	    !zc__syncookie_check(st, ip, &g->th, &syn, &ts_offset))
		return false;
	if (l->nacc >= l->backlog) { /* the accept queue is full: as Linux, the ACK is dropped */
		st->tcp->stats.accept_queue_drops++;
		zc__tcp_bad(st, ZC_DROP_TCP_SYN_QUEUE);
		return true;
	}
	struct zc_tcp_sock *c = zc__tcp_child(st, l, ip, &syn, g->th.ack - 1);
	if (c == NULL)
		return true;
	c->from_cookie = true;
	c->ts_offset = ts_offset;
	c->snd_nxt = c->snd_max = c->iss + 1; /* the SYN-ACK went, with this window */
	c->rcv_adv = c->rcv_nxt + (c->rb_win > 65535 ? 65535 : c->rb_win);
	zc__tcp_established_input(c, ip, g);
	return true;
}

/* A SYN for a listener: a child in SYN_RECEIVED, if the queues allow;
 * else a SYN cookie, if they allow that. */
static void zc__tcp_listen_input(struct zc_stack *st, struct zc_tcp_sock *l, const struct zc_ipv4 *ip,
				 struct zc__seg *g)
{
	const struct zc_tcp *th = &g->th;
	if (th->flags & ZC_TCP_RST) {
		zc__tcp_bad(st, ZC_DROP_TCP_LISTEN_RST);
		return;
	}
	if (th->flags & ZC_TCP_ACK) {
		if (zc__tcp_cookie_ack(st, l, ip, g))
			return;
		zc__tcp_bad(st, ZC_DROP_TCP_LISTEN_ACK);
		zc__tcp_respond_rst(st, ip, th, g->len);
		return;
	}
	if (!(th->flags & ZC_TCP_SYN)) {
		zc__tcp_bad(st, ZC_DROP_TCP_LISTEN_NO_SYN);
		return;
	}
	if (zc__is_bcast(st, ip->dst)) {
		zc__tcp_bad(st, ZC_DROP_TCP_SYN_BCAST);
		return;
	}
	/* the SYN queue is bounded: past it, a flood gets cookies (no state)
	 * or is dropped; a full accept queue drops it in any case, as Linux */
	bool full = l->nsyn >= 2 * l->backlog, cookie = zc__syncookie_wanted(l, full);
	if (l->nacc >= l->backlog || (full && !cookie)) {
		st->tcp->stats.syn_queue_drops++;
		zc__tcp_bad(st, ZC_DROP_TCP_SYN_QUEUE);
		return;
	}
	if (cookie) {
		zc__syncookie_send(st, l, ip, th);
		return;
	}
	struct zc_tcp_sock *c = zc__tcp_child(st, l, ip, th, zc__tcp_isn(st, ip->dst, th->dport, ip->src, th->sport));
	if (c)
		zc__tcp_output(c); /* SYN-ACK */
}

/* RFC 9293 3.10.7.3 */
static void zc__tcp_syn_sent_input(struct zc_tcp_sock *s, const struct zc_ipv4 *ip, struct zc__seg *g)
{
	const struct zc_tcp *th = &g->th;
	bool ack = (th->flags & ZC_TCP_ACK) != 0;
	if (ack && (seq_le(th->ack, s->iss) || seq_gt(th->ack, s->snd_max))) {
		zc__tcp_bad(s->st, ZC_DROP_TCP_BAD_HS_ACK);
		if (!(th->flags & ZC_TCP_RST))
			zc__tcp_respond_rst(s->st, ip, th, g->len);
		return;
	}
	if (th->flags & ZC_TCP_RST) {
		if (ack)
			zc__tcp_drop(s, ECONNREFUSED);
		else
			zc__tcp_bad(s->st, ZC_DROP_TCP_SYN_SENT_RST);
		return;
	}
	if (!(th->flags & ZC_TCP_SYN)) {
		zc__tcp_bad(s->st, ZC_DROP_TCP_SYN_SENT_NO_SYN);
		return;
	}
	zc__tcp_syn_options(s, th);
	if (s->ecn_asked && (th->flags & (ZC_TCP_ECE | ZC_TCP_CWR)) == ZC_TCP_ECE) { /* an ECN-setup SYN-ACK */
		s->ecn_ok = true;
		s->st->tcp->stats.ecn_conns++;
	}
	s->irs = g->seq;
	s->rcv_nxt = g->seq + 1;
	s->rcv_adv = s->rcv_nxt;
	s->snd_wnd = th->win;
	s->max_sndwnd = s->snd_wnd;
	s->snd_wl1 = g->seq;
	s->snd_wl2 = th->ack;
	s->cc->init(s); /* the MSS may have shrunk */
	if (ack) {
		s->snd_una = th->ack;
		if (s->ts_ok && th->opt.tsecr)
			zc__tcp_rtt_sample(s, (uint64_t)(zc__tcp_now_ts(s) - th->opt.tsecr) * 1000000u);
		else if (s->syn_tries == 0)
			zc__tcp_rtt_sample(s, s->st->now - (s->t[ZC__T_REXMT] - s->rto));
		s->backoff = 0;
		s->syn_tries = 0;
		zc__tcp_timer_set(s, ZC__T_REXMT, 0);
		zc__tcp_set_state(s, ZC_TCP_ESTABLISHED);
		zc__tcp_keep_reset(s);
		zc__tcp_ack_now(s, ZC_TCP_TX_ACK_NOW);
		zc__tcp_output(s); /* the ACK, and any data already queued */
		return;
	}
	/* simultaneous open (RFC 9293 3.5, figure 7) */
	zc__tcp_set_state(s, ZC_TCP_SYN_RECEIVED);
	zc__tcp_output_for(s, ZC_TCP_TX_SYN); /* our SYN-ACK */
}

/* A congestion signal that needs no retransmission (a loss a probe
 * repaired, an ECE): ssthresh as for a fast recovery, from the flight
 * before the ACK, and cwnd = ssthresh (Linux's CWR state, ended at once). */
static void zc__tcp_cwnd_reduce(struct zc_tcp_sock *s)
{
	s->cc->enter_recovery(s);
	s->cwnd = s->ssthresh;
	s->ca_acked = 0;
}

/* What an ACK says of a tail loss probe (RFC 8985 7.4.2, as Linux's
 * tcp_process_tlp_ack): a DSACK, that it was not needed; an ACK past its
 * end without one, that its retransmission repaired a loss: the window is
 * cut as a fast recovery would cut it, ssthresh from the flight before this
 * ACK and cwnd = ssthresh. An ACK just up to its end decides nothing (the
 * original may have come late, its DSACK on the next ACK). A probe of new
 * data says nothing of a loss. */
static void zc__tlp_ack(struct zc_tcp_sock *s, tcp_seq ack, bool dsack)
{
	if (!s->tlp_out || seq_lt(ack, s->tlp_high))
		return;
	if (!s->tlp_rxt || dsack) {
		s->tlp_out = false;
		return;
	}
	if (ack == s->tlp_high)
		return;
	s->tlp_out = false;
	if (s->in_recovery)
		return;
	s->st->tcp->stats.tlp_recoveries++;
	zc__tcp_cwnd_reduce(s);
}

/* ECN on a synchronized connection (RFC 3168 6.1): a CE mark asks for ECE
 * on our ACKs until the peer's CWR; the peer's ECE reduces the window, at
 * most once a window of data and not during a recovery, and our next new
 * data carries CWR. */
static void zc__tcp_ecn_input(struct zc_tcp_sock *s, const struct zc_ipv4 *ip, const struct zc_tcp *th)
{
	struct zc__tcp *t = s->st->tcp;
	if (th->flags & ZC_TCP_CWR)
		s->ece_pending = false;
	if ((ip->tos & ZC_IP_ECN_MASK) == ZC_IP_ECN_CE) {
		t->stats.ecn_ce_in++;
		s->ece_pending = true;
		zc__tcp_ack_now(s, ZC_TCP_TX_ACK_NOW);
	}
	if ((th->flags & ZC_TCP_ECE) && zc__tcp_connected(s) && !s->in_recovery && s->snd_max != s->snd_una &&
	    seq_ge(s->snd_una, s->ecn_recover)) {
		t->stats.ecn_reductions++;
		zc__tcp_cwnd_reduce(s);
		s->ecn_recover = s->snd_max;
		s->cwr_pending = true;
	}
}

/* New data acknowledged: RTT, send buffer, congestion window, timers.
 * Returns false when the connection ended and s is gone. */
static bool zc__tcp_ack_new(struct zc_tcp_sock *s, const struct zc__seg *g, bool dsack)
{
	const struct zc_tcp *th = &g->th;
	uint32_t acked = th->ack - s->snd_una;
	/* RTT: the echoed timestamp, or the timed segment if it was not resent */
	if (s->ts_ok && th->opt.has_ts && th->opt.tsecr)
		zc__tcp_rtt_sample(s, (uint64_t)(uint32_t)(zc__tcp_now_ts(s) - th->opt.tsecr) * 1000000u);
	else if (s->rtt_timing && seq_gt(th->ack, s->rtt_seq)) {
		zc__tcp_rtt_sample(s, s->st->now - s->rtt_start);
		s->rtt_timing = false;
	}
	s->backoff = 0;
	s->rexmt_count = 0;
	uint32_t data = acked;
	bool fin_acked = false;
	if (s->fin_pending && !s->fin_acked && acked > s->sb_len) {
		data = s->sb_len;
		fin_acked = true;
		s->fin_acked = true;
	}
	zc__tlp_ack(s, th->ack, dsack);
	zc__tcp_pmtu_ack(s);
	zc__rack_acked(s, th->ack);
	zc__tcp_sb_drop(s, data);
	s->bytes_acked += data;
	s->snd_una = th->ack;
	if (seq_lt(s->snd_nxt, s->snd_una))
		s->snd_nxt = s->snd_una;
	/* congestion control */
	if (s->in_recovery) {
		if (seq_ge(th->ack, s->recover)) {
			s->in_recovery = false;
			s->cc->exit_recovery(s);
			zc__rack_exit_recovery(s);
			/* PRR's exit (RFC 6937): cwnd = ssthresh. NewReno's
			 * min(ssthresh, FlightSize + MSS) leaves one segment when the
			 * full ACK takes everything, and a peer that delays the ACK
			 * of a lone segment (Linux: 40 ms) then holds each of slow
			 * start's first rounds: measured against the kernel, 18 stalls
			 * of 40 ms in 3 s */
			if (s->sack_rec)
				s->cwnd = s->ssthresh;
			s->sack_rec = false;
		} else if (!s->sack_rec) {
			s->cc->partial_ack(s, acked);
			zc__tcp_output_for(s, ZC_TCP_TX_RECOVERY_RETRANSMIT); /* RFC 6582: the next hole */
		} /* with SACK, NextSeg in the output that follows picks what goes (RFC 6675) */
	} else {
		s->cc->ack(s, acked);
	}
	s->dupacks = 0;
	if (s->snd_una == s->snd_max)
		zc__tcp_timer_set(s, ZC__T_REXMT, 0);
	else
		zc__tcp_arm_rexmt(s); /* RFC 6298 5.3 */
	if (fin_acked) {
		switch (s->state) {
		case ZC_TCP_FIN_WAIT_1:
			zc__tcp_set_state(s, ZC_TCP_FIN_WAIT_2);
			if (s->orphan) /* nobody will read: do not wait forever */
				zc__tcp_2msl(s);
			break;
		case ZC_TCP_CLOSING:
			zc__tcp_time_wait(s);
			break;
		case ZC_TCP_LAST_ACK:
			return !zc__tcp_closed(s);
		default:
			break;
		}
	}
	return true;
}

/* Fast retransmit and recovery: RFC 6582's, or with SACK information RFC
 * 6675's (cwnd = ssthresh without inflation; after the first segment
 * again, the output's NextSeg sends while cwnd - pipe allows). */
static void zc__tcp_enter_recovery(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	t->stats.fast_retransmits++;
	s->recover = s->snd_max;
	s->in_recovery = true;
	s->cc->enter_recovery(s);
	if (s->sack_ok && s->nsacked) {
		s->sack_rec = true;
		s->cwnd = s->ssthresh; /* until this ACK's PRR step sets it */
		s->high_rxt = s->snd_una;
		s->rescue_set = false;
		s->prr_delivered = s->prr_out = 0;
		s->prr_recover_fs = s->snd_max - s->snd_una;
		t->stats.sack_recoveries++;
	}
	/* with RACK, the first segment only when time says it is lost (a
	 * probe may have resent it); the output that follows sends the rest */
	if (!zc__rack_on(s) || !s->sack_rec || zc__rack_lost_at(s, s->snd_una))
		zc__tcp_output_for(s, ZC_TCP_TX_FAST_RETRANSMIT);
	zc__tcp_arm_rexmt(s);
}

/* Whether a SACK recovery may begin now: none runs, the peer SACKed
 * something above data in flight, and no timeout's go-back is under way
 * (SND.UNA has reached recover). */
static bool zc__tcp_sack_may_recover(const struct zc_tcp_sock *s)
{
	return !s->in_recovery && s->nsacked && s->snd_max != s->snd_una && seq_ge(s->snd_una, s->recover);
}

void zc__tcp_rack_loss(struct zc_tcp_sock *s)
{
	if (zc__tcp_sack_may_recover(s))
		zc__tcp_enter_recovery(s);
	zc__tcp_output(s);
}

/* PRR (RFC 6937), each ACK of a SACK recovery: what may go now, as cwnd
 * over the pipe. While the pipe is above ssthresh, sending keeps pace with
 * delivery scaled by ssthresh / RecoverFS (the window falls smoothly to
 * ssthresh instead of waiting for the pipe to drain, then bursting); below
 * it, slow start's bound (SSRB) brings it back up, at most one segment more
 * than was delivered. */
static void zc__tcp_prr(struct zc_tcp_sock *s, int64_t delivered)
{
	if (delivered < 0)
		delivered = 0;
	s->prr_delivered += (uint32_t)delivered;
	uint32_t pipe = zc__sack_pipe(s);
	int64_t sndcnt;
	if (pipe > s->ssthresh) {
		uint64_t fs = s->prr_recover_fs ? s->prr_recover_fs : 1;
		sndcnt = (int64_t)(((uint64_t)s->prr_delivered * s->ssthresh + fs - 1) / fs) - (int64_t)s->prr_out;
	} else {
		int64_t lim = (int64_t)s->prr_delivered - (int64_t)s->prr_out;
		if (lim < delivered)
			lim = delivered;
		lim += s->mss;
		sndcnt = (int64_t)s->ssthresh - (int64_t)pipe;
		if (sndcnt > lim)
			sndcnt = lim;
	}
	if (sndcnt < 0)
		sndcnt = 0;
	s->cwnd = pipe + (uint32_t)sndcnt;
}

/* Step 5 of 3.10.7.4: the ACK field. Returns false when the segment must
 * be dropped (the connection may be gone). */
static bool zc__tcp_ack_input(struct zc_tcp_sock *s, const struct zc__seg *g)
{
	const struct zc_tcp *th = &g->th;
	if (s->state == ZC_TCP_SYN_RECEIVED) {
		if (seq_lt(s->snd_una, th->ack) && seq_le(th->ack, s->snd_max)) {
			zc__tcp_set_state(s, ZC_TCP_ESTABLISHED);
			s->snd_una = s->iss + 1; /* our SYN is acknowledged */
			if (s->from_cookie)
				; /* the echoed timestamp's low bits carried options, not time */
			else if (s->ts_ok && th->opt.has_ts && th->opt.tsecr)
				zc__tcp_rtt_sample(s, (uint64_t)(uint32_t)(zc__tcp_now_ts(s) - th->opt.tsecr) * 1000000u);
			else if (s->syn_tries == 0 && s->t[ZC__T_REXMT])
				zc__tcp_rtt_sample(s, s->st->now - (s->t[ZC__T_REXMT] - s->rto));
			zc__tcp_timer_set(s, ZC__T_REXMT, 0);
			s->snd_wnd = (uint32_t)th->win << s->snd_wscale;
			s->max_sndwnd = s->snd_wnd;
			s->snd_wl1 = g->seq;
			s->snd_wl2 = th->ack;
			s->backoff = 0;
			s->syn_tries = 0;
			zc__tcp_keep_reset(s);
			if (s->parent)
				zc__tcp_child_ready(s);
		} else {
			struct zc_ipv4 ip = { .src = s->rip, .dst = s->lip };
			zc__tcp_bad(s->st, ZC_DROP_TCP_BAD_HS_ACK);
			zc__tcp_respond_rst(s->st, &ip, th, g->len);
			return false;
		}
	}
	/* RFC 5961 5.2: acceptable if SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT */
	if (seq_gt(th->ack, s->snd_max)) {
		zc__tcp_bad(s->st, ZC_DROP_TCP_ACK_UNSENT);
		zc__tcp_output_for(s, ZC_TCP_TX_ACK_REPLY);
		return false;
	}
	if (seq_lt(th->ack, s->snd_una - s->max_sndwnd)) {
		zc__challenge_ack(s);
		return false;
	}
	s->last_ack_rx = s->st->now;
	uint32_t dsacks = s->dsacks_in;
	tcp_seq una0 = s->snd_una;
	uint32_t sacked0 = s->sacked_bytes;
	if (s->sack_ok && zc__tcp_connected(s) && (th->opt.nsack || s->nsacked))
		zc__sack_update(s, &th->opt, th->ack);
	uint32_t wnd = (uint32_t)th->win << s->snd_wscale;
	if (th->ack == s->snd_una)
		zc__tlp_ack(s, th->ack, s->dsacks_in != dsacks); /* a DSACK on a duplicate ACK */
	if (seq_gt(th->ack, s->snd_una)) {
		if (!zc__tcp_ack_new(s, g, s->dsacks_in != dsacks))
			return false;
		if (s->state == ZC_TCP_CLOSED)
			return false;
	} else if (th->ack == s->snd_una && g->len == 0 && !(th->flags & (ZC_TCP_SYN | ZC_TCP_FIN)) &&
		   wnd == s->snd_wnd && s->snd_max != s->snd_una) {
		/* a duplicate ACK (RFC 5681 section 2) */
		s->dupacks++;
		if (s->in_recovery) {
			if (!s->sack_rec)
				s->cc->dupack_in_recovery(s);
		} else if (s->dupacks == ZC__TCP_DUPTHRESH && (!zc__rack_on(s) || s->nsacked == 0)) {
			/* RFC 6582 3.2 step 2: only when the ACK covers recover.
			 * With RACK and SACK blocks, time decides instead (below) */
			if (seq_gt(th->ack, s->recover) || s->recover == s->snd_una)
				zc__tcp_enter_recovery(s);
		}
	}
	/* RFC 6675 5 (C): also when the scoreboard says the first segment is
	 * lost, whatever else the ACK carried (data, a window update) */
	if (zc__rack_on(s)) {
		/* RACK (RFC 8985 6.2 step 5): what time says is lost starts a
		 * recovery, or is retransmitted in the one that runs */
		bool dsack = s->dsacks_in != dsacks;
		if ((s->nsacked || dsack) && zc__rack_detect(s, dsack) && zc__tcp_sack_may_recover(s))
			zc__tcp_enter_recovery(s);
	} else if (zc__tcp_sack_may_recover(s) && zc__sack_is_lost(s, s->snd_una)) {
		zc__tcp_enter_recovery(s);
	}
	/* DeliveredData (RFC 6937): newly acknowledged plus newly SACKed */
	if (s->sack_rec)
		zc__tcp_prr(s, (int64_t)(s->snd_una - una0) + (int64_t)s->sacked_bytes - (int64_t)sacked0);
	/* A lost retransmission of the first hole (RFC 8985's idea, for that
	 * hole alone: the scoreboard keeps no send time per segment). The
	 * receiver ACKs a segment that fills its first hole at once, so when
	 * ACKs still stop at SND.UNA more than 5/4 SRTT (+1 ms, the clock's
	 * grain) after it went again, and the hole is still lost, it is sent
	 * once more instead of waiting for the RTO and its cwnd of one. */
	if (s->sack_rec && !zc__rack_on(s) && s->rxt_una_ns && s->rxt_una == s->snd_una && s->rtt_valid &&
	    s->st->now - s->rxt_una_ns > s->srtt + s->srtt / 4 + 1000000u && zc__sack_is_lost(s, s->snd_una)) {
		s->st->tcp->stats.lost_retransmits++;
		zc__tcp_output_for(s, ZC_TCP_TX_RECOVERY_RETRANSMIT);
	}
	/* window update (RFC 9293 3.10.7.4, fifth check) */
	if (seq_lt(s->snd_wl1, g->seq) || (s->snd_wl1 == g->seq && seq_le(s->snd_wl2, th->ack))) {
		s->snd_wnd = wnd;
		if (wnd > s->max_sndwnd)
			s->max_sndwnd = wnd;
		s->snd_wl1 = g->seq;
		s->snd_wl2 = th->ack;
		if (wnd > 0) {
			zc__tcp_timer_set(s, ZC__T_PERSIST, 0);
			s->persist_shift = 0;
		}
	}
	return true;
}

/* Step 6: the URG bit (RFC 9293 3.10.7.4 sixth; Linux's tcp_check_urg):
 * the urgent byte is the one before the pointer (BSD's reading, which RFC
 * 6093 recommends keeping); a pointer already passed or no newer than the
 * one pending is ignored. */
void zc__tcp_urg_input(struct zc_tcp_sock *s, tcp_seq seq, uint16_t up)
{
	if (up == 0)
		return;
	tcp_seq ptr = seq + up - 1u;
	if (seq_lt(ptr, s->rcv_nxt))
		return;
	if (s->urg_state != ZC__URG_NONE && seq_le(ptr, s->urg_seq))
		return;
	s->urg_state = ZC__URG_NOTYET;
	s->urg_seq = ptr;
	s->urg_marked = false;
	s->urg_count++; /* the owner is sent SIGURG, as Linux's tcp_check_urg */
	s->st->tcp->stats.urg_in++;
}

/* Step 7: segment text. Takes g->m. */
static void zc__tcp_data_input(struct zc_tcp_sock *s, struct zc__seg *g)
{
	struct zc_mbuf *m = g->m;
	g->m = NULL;
	if ((g->th.flags & ZC_TCP_URG) && zc__tcp_connected(s) && !s->fin_rcvd)
		zc__tcp_urg_input(s, g->seq, g->th.urg);
	if (g->len == 0) {
		zc_mbuf_free(m);
		return;
	}
	if (s->state != ZC_TCP_ESTABLISHED && s->state != ZC_TCP_FIN_WAIT_1 &&
	    s->state != ZC_TCP_FIN_WAIT_2) {
		/* the peer's FIN came before it (SYN_RECEIVED never gets here) */
		zc__tcp_bad(s->st, ZC_DROP_TCP_DATA_AFTER_FIN);
		zc_mbuf_free(m);
		return;
	}
	/* trim to the window: what is before rcv_nxt and past rcv_adv */
	tcp_seq seq = g->seq;
	if (seq_lt(seq, s->rcv_nxt)) {
		uint32_t d = s->rcv_nxt - seq;
		zc__tcp_dsack(s, seq, d < m->pkt_len ? s->rcv_nxt : seq + m->pkt_len);
		zc_mbuf_adj(m, d);
		seq = s->rcv_nxt;
	}
	tcp_seq edge = seq_gt(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv : s->rcv_nxt;
	if (seq_gt(seq + m->pkt_len, edge))
		zc_mbuf_trim(m, seq + m->pkt_len - edge);
	if (m->pkt_len == 0) {
		zc_mbuf_free(m);
		zc__tcp_ack_now(s, ZC_TCP_TX_ACK_NOW);
		return;
	}
	s->data_segs_in++;
	s->last_data_rx = s->st->now;
	if (s->orphan && s->rd_shut) {
		/* closed by the application: nobody will read; take it and forget
		 * it (out of order, it is only forgotten) */
		if (seq == s->rcv_nxt)
			s->rcv_nxt += m->pkt_len;
		else
			zc__tcp_bad(s->st, ZC_DROP_TCP_DATA_AFTER_CLOSE);
		zc_mbuf_free(m);
		zc__tcp_ack_now(s, ZC_TCP_TX_ACK_NOW);
		return;
	}
	if (seq == s->rcv_nxt) {
		uint32_t len = m->pkt_len;
		s->rcv_nxt += len;
		s->bytes_received += len;
		zc__tcp_rq_append(s, m);
		bool had_ooo = s->ooo != NULL;
		zc__tcp_ooo_drain(s);
		/* ACK policy: at once when filling a hole, in quick-ACK mode, or
		 * when more than one full-sized segment is unacknowledged (RFC
		 * 5681 4.2: at least every second full-sized segment; "full" as
		 * Linux measures it, the largest the peer sent, so that a
		 * response in two small segments waits for the next request to
		 * carry its ACK); else within delack_ns */
		s->segs_unacked++;
		if (len > s->rcv_mss)
			s->rcv_mss = len < s->adv_mss ? len : s->adv_mss;
		if (had_ooo || s->quickack > 0 || s->rcv_nxt - s->last_ack_sent > s->rcv_mss) {
			if (s->quickack)
				s->quickack--;
			zc__tcp_ack_now(s, ZC_TCP_TX_ACK_NOW);
		} else if (s->t[ZC__T_DELACK] == 0)
			zc__tcp_timer_set(s, ZC__T_DELACK, s->st->now + s->st->tcp->cfg.delack_ns);
	} else {
		zc__tcp_ooo_insert(s, seq, m);
		zc__tcp_ack_now(s, ZC_TCP_TX_ACK_NOW); /* a duplicate ACK tells the sender (RFC 5681 4.2) */
	}
}

/* Step 8: FIN. */
static void zc__tcp_fin_input(struct zc_tcp_sock *s, const struct zc__seg *g)
{
	if (!(g->th.flags & ZC_TCP_FIN) || s->fin_rcvd)
		return;
	/* the FIN counts only when everything before it has arrived */
	if (g->end - 1 != s->rcv_nxt)
		return;
	s->fin_rcvd = true;
	s->wake_in++;
	s->rcv_nxt++;
	/* data queued above the end of the stream is the peer's lie: drop it,
	 * counted, so that nothing waits at RCV.NXT for a drain that never
	 * comes (found by fuzz_tcp) */
	for (uint32_t n = zc__tcp_ooo_discard(s); n > 0; n--)
		zc__tcp_bad(s->st, ZC_DROP_TCP_DATA_AFTER_FIN);
	zc__tcp_ack_now(s, ZC_TCP_TX_ACK_NOW);
	switch (s->state) {
	case ZC_TCP_SYN_RECEIVED:
	case ZC_TCP_ESTABLISHED:
		zc__tcp_set_state(s, ZC_TCP_CLOSE_WAIT);
		break;
	case ZC_TCP_FIN_WAIT_1:
		/* our FIN not yet acked (else we would be in FIN_WAIT_2) */
		zc__tcp_set_state(s, ZC_TCP_CLOSING);
		break;
	case ZC_TCP_FIN_WAIT_2:
		zc__tcp_time_wait(s);
		break;
	case ZC_TCP_TIME_WAIT:
		zc__tcp_2msl(s);
		break;
	default:
		break;
	}
}

/* 3.10.7.4 for the synchronized states and SYN_RECEIVED. */
static void zc__tcp_established_input(struct zc_tcp_sock *s, const struct zc_ipv4 *ip, struct zc__seg *g)
{
	struct zc_stack *st = s->st;
	const struct zc_tcp *th = &g->th;
	/* simultaneous open: the peer's SYN-ACK acknowledges our SYN (RFC 9293
	 * figure 7); its SYN repeats the one we have, so skip the window test */
	if (s->state == ZC_TCP_SYN_RECEIVED && !s->parent && (th->flags & (ZC_TCP_SYN | ZC_TCP_ACK | ZC_TCP_RST)) ==
	    (ZC_TCP_SYN | ZC_TCP_ACK) && g->seq == s->irs && th->ack == s->iss + 1) {
		zc__tcp_set_state(s, ZC_TCP_ESTABLISHED);
		s->snd_una = s->iss + 1;
		s->snd_wnd = (uint32_t)th->win << s->snd_wscale;
		s->max_sndwnd = s->snd_wnd;
		s->snd_wl1 = g->seq;
		s->snd_wl2 = th->ack;
		s->backoff = 0;
		zc__tcp_timer_set(s, ZC__T_REXMT, 0);
		zc__tcp_keep_reset(s);
		zc__tcp_ack_now(s, ZC_TCP_TX_ACK_NOW);
		zc__tcp_output(s);
		return;
	}
	/* PAWS (RFC 7323 5.3) */
	if (s->ts_ok && th->opt.has_ts && !(th->flags & ZC_TCP_RST) && th->opt.tsval != s->ts_recent &&
	    (int32_t)(th->opt.tsval - s->ts_recent) < 0) {
		if (st->now - s->ts_recent_age > 24ull * 24 * 3600 * 1000000000ull) {
			s->ts_recent = th->opt.tsval; /* idle past 24 days: the old value is void */
		} else {
			st->tcp->stats.paws_drops++;
			zc__tcp_bad(st, ZC_DROP_TCP_PAWS);
			zc__tcp_output_for(s, ZC_TCP_TX_ACK_REPLY);
			return;
		}
	}
	/* first: sequence number. With the window closed, a segment at
	 * RCV.NXT (a zero-window probe, or a peer that ignores the window)
	 * has its text and FIN refused, and its ACK, RST and URG are still
	 * taken (RFC 9293 3.10.7.4): what it acknowledges frees our send
	 * buffer, and the ACK sent back says the window is still closed. */
	if (!zc__seq_acceptable(s, g)) {
		zc__tcp_bad(st, ZC_DROP_TCP_OUT_OF_WINDOW);
		if (g->len && seq_le(g->seq + g->len, s->rcv_nxt) && zc__tcp_connected(s))
			zc__tcp_dsack(s, g->seq, g->seq + g->len); /* all of it came before */
		bool closed = !seq_gt(s->rcv_adv, s->rcv_nxt);
		if (!(closed && g->seq == s->rcv_nxt && g->end != g->seq)) {
			if (!(th->flags & ZC_TCP_RST))
				zc__tcp_output_for(s, ZC_TCP_TX_ACK_REPLY);
			return;
		}
		st->tcp->stats.zero_window_drops++;
		g->len = 0;
		g->end = g->seq;
		g->th.flags &= (uint8_t)~ZC_TCP_FIN;
		if (!(th->flags & ZC_TCP_RST))
			zc__tcp_ack_now(s, ZC_TCP_TX_ACK_REPLY);
	}
	/* timestamps: remember the newest one at the left edge (RFC 7323 4.3) */
	if (s->ts_ok && th->opt.has_ts && seq_le(g->seq, s->last_ack_sent) &&
	    seq_lt(s->last_ack_sent, g->end + ((th->flags & (ZC_TCP_SYN | ZC_TCP_FIN)) ? 0 : 1))) {
		s->ts_recent = th->opt.tsval;
		s->ts_recent_age = st->now;
	}
	/* second: RST (RFC 5961 3.2) */
	if (th->flags & ZC_TCP_RST) {
		if (g->seq != s->rcv_nxt) {
			zc__challenge_ack(s);
			return;
		}
		if (s->state == ZC_TCP_SYN_RECEIVED && s->parent) {
			zc__tcp_drop(s, 0); /* back to LISTEN: the child goes */
			return;
		}
		int err = s->state == ZC_TCP_SYN_RECEIVED ? ECONNREFUSED
			  : (s->state == ZC_TCP_CLOSING || s->state == ZC_TCP_LAST_ACK || s->state == ZC_TCP_TIME_WAIT) ? 0
			  : s->state == ZC_TCP_CLOSE_WAIT ? EPIPE : ECONNRESET;
		zc__tcp_drop(s, err);
		return;
	}
	/* fourth: SYN in a synchronized state (RFC 5961 4.2) */
	if (th->flags & ZC_TCP_SYN) {
		if (s->state == ZC_TCP_SYN_RECEIVED && s->parent && g->seq == s->irs) {
			zc__tcp_output_for(s, ZC_TCP_TX_SYN_RETRANSMIT); /* a resent SYN: our SYN-ACK again */
			return;
		}
		zc__challenge_ack(s);
		return;
	}
	/* fifth: ACK */
	if (!(th->flags & ZC_TCP_ACK)) {
		zc__tcp_bad(st, ZC_DROP_TCP_NO_ACK);
		return;
	}
	if (s->ecn_ok)
		zc__tcp_ecn_input(s, ip, th);
	if (!zc__tcp_ack_input(s, g))
		return;
	if (s->state == ZC_TCP_CLOSED)
		return;
	if (s->state == ZC_TCP_TIME_WAIT) {
		if (g->len)
			zc__tcp_bad(st, ZC_DROP_TCP_DATA_AFTER_FIN);
		/* a retransmitted FIN: ACK it and restart the 2MSL wait */
		if (th->flags & ZC_TCP_FIN) {
			zc__tcp_2msl(s);
			zc__tcp_output_for(s, ZC_TCP_TX_ACK_REPLY);
		}
		return;
	}
	/* seventh and eighth: text and FIN. New data for an application that
	 * closed: nobody will ever read it, so the peer learns it with a reset
	 * (RFC 2525 2.17; Linux's TCPAbortOnData). */
	if (s->orphan && s->rd_shut && g->len && seq_gt(g->seq + g->len, s->rcv_nxt) &&
	    (s->state == ZC_TCP_FIN_WAIT_1 || s->state == ZC_TCP_FIN_WAIT_2)) {
		st->tcp->stats.aborts_on_data++;
		zc__tcp_bad(st, ZC_DROP_TCP_DATA_AFTER_CLOSE);
		zc__tcp_output_for(s, ZC_TCP_TX_RST);
		zc__tcp_closed(s);
		return;
	}
	zc__tcp_data_input(s, g);
	zc__tcp_fin_input(s, g);
	if (s->state == ZC_TCP_CLOSED)
		return;
	zc__tcp_output(s);
}

void zc__tcp_input(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip)
{
	struct zc__seg g = { 0 };
	uint32_t len = m->pkt_len - ip->hdr_len;
	m = zc__l4_pullup(st, m, ip, ZC_TCP_HLEN, false);
	if (m == NULL)
		return;
	if (len >= ZC_TCP_HLEN) { /* and the options */
		uint32_t hl = (uint32_t)zc_tcp_peek_hdr_len(m->data + ip->hdr_len, m->len - ip->hdr_len);
		if (hl > ZC_TCP_HLEN && hl <= len && (m = zc__l4_pullup(st, m, ip, hl, false)) == NULL)
			return;
	}
	if (zc_tcp_parse_header(m->data + ip->hdr_len, m->len - ip->hdr_len, len, &g.th, &st->drops) !=
	    ZC_DROP_NONE)
		goto drop;
	if (!(m->flags & ZC_MBUF_F_L4_CSUM_OK)) {
		uint32_t sum = zc_csum_pseudo_v4(ip->src, ip->dst, ZC_IPPROTO_TCP, (uint16_t)len);
		if (zc_csum_fold(zc_csum_mbuf(sum, m, ip->hdr_len, len)) != 0) {
			zc_drop(&st->drops, ZC_DROP_TCP_CSUM);
			goto drop;
		}
	}
	struct zc__tcp *t = st->tcp;
	t->stats.segs_in++;
	g.seq = g.th.seq;
	g.len = len - g.th.hdr_len;
	g.end = g.seq + g.len + ((g.th.flags & ZC_TCP_SYN) ? 1 : 0) + ((g.th.flags & ZC_TCP_FIN) ? 1 : 0);
	zc_mbuf_adj(m, ip->hdr_len + g.th.hdr_len);
	g.m = m;

	struct zc_tcp_sock *s = zc__tcp_lookup(st, ip->dst, g.th.dport, ip->src, g.th.sport);
	if (s == NULL) {
		struct zc_tcp_sock *l = zc__tcp_listener(st, ip->dst, g.th.dport, ip->src, g.th.sport);
		if (l) {
			zc__tcp_listen_input(st, l, ip, &g);
		} else {
			zc__tcp_bad(st, ZC_DROP_TCP_NO_SOCKET);
			zc__tcp_respond_rst(st, ip, &g.th, g.len);
		}
		goto drop_g;
	}
	s->segs_in++;
	s->last_rx = st->now;
	if (s->keepalive && s->t[ZC__T_KEEP])
		zc__tcp_keep_reset(s);
	if (s->state == ZC_TCP_SYN_SENT)
		zc__tcp_syn_sent_input(s, ip, &g);
	else if (s->state == ZC_TCP_TIME_WAIT && (g.th.flags & ZC_TCP_SYN) && !(g.th.flags & ZC_TCP_ACK) &&
		 seq_gt(g.seq, s->rcv_nxt)) {
		/* a new incarnation (RFC 9293 3.6.1, RFC 6191): let the listener take it */
		struct zc_tcp_sock *l = zc__tcp_listener(st, ip->dst, g.th.dport, ip->src, g.th.sport);
		zc__tcp_closed(s);
		if (l)
			zc__tcp_listen_input(st, l, ip, &g);
		else
			zc__tcp_bad(st, ZC_DROP_TCP_TW_NO_LISTENER);
	} else
		zc__tcp_established_input(s, ip, &g);
drop_g:
	zc_mbuf_free(g.m);
	return;
drop:
	zc_mbuf_free(m);
}

/* --- ICMP errors about our segments (icmp.c found the quote ours) ---------------
 * As Linux's tcp_v4_err: the quoted sequence number must lie in
 * SND.UNA..SND.NXT (RFC 5927 4.1), else the message is dropped. "Fragmentation
 * needed" lowers the MSS to the next-hop MTU less the headers (never below
 * 552 - 40 = 512, Linux's min_pmtu) and sends again what is outstanding in
 * the smaller segments. Other errors abort a connection in SYN_SENT or an
 * unaccepted SYN_RECEIVED one with the error (Linux: tcp_done_with_error);
 * on a synchronized connection they are soft (RFC 1122 4.2.3.9): kept for
 * SO_ERROR, and given instead of ETIMEDOUT if the retries run out. */
#define ZC__TCP_PMTU_MIN 552u

bool zc__tcp_icmp_error(struct zc_stack *st, uint16_t lport, uint32_t rip, uint16_t rport, uint32_t seq,
			int err, bool needfrag, uint32_t mtu)
{
	struct zc_tcp_sock *s = zc__tcp_lookup(st, st->ip, lport, rip, rport);
	if (s == NULL || s->state == ZC_TCP_LISTEN || s->state == ZC_TCP_CLOSED)
		return false;
	if (s->state == ZC_TCP_TIME_WAIT)
		return true; /* ours, but nothing is outstanding to be told about */
	if (!(seq_le(s->snd_una, seq) && seq_le(seq, s->snd_nxt)))
		return false;
	if (needfrag) {
		if (mtu < ZC__TCP_PMTU_MIN)
			mtu = ZC__TCP_PMTU_MIN; /* also an old router's 0 (RFC 1191 5) */
		uint32_t mss = mtu - ZC_IPV4_HLEN - ZC_TCP_HLEN;
		if (s->ts_ok)
			mss -= ZC_TCPOLEN_TS_ALIGNED;
		if (mss < s->mss) {
			s->mss = (uint16_t)mss;
			s->mss_full = 0; /* no probing past what the router said */
			if (zc__tcp_connected(s) && seq_lt(s->snd_una, s->snd_nxt)) {
				/* Linux's tcp_simple_retransmit: what was sent is lost */
				s->rtt_timing = false;
				if (s->sack_rec) { /* the SACK recovery ends: its window without PRR */
					s->in_recovery = false;
					s->cwnd = s->ssthresh;
				}
				zc__sack_clear(s);
				s->snd_nxt = s->snd_una;
				zc__tcp_output(s);
			}
		}
		return true;
	}
	if (s->state == ZC_TCP_SYN_SENT || (s->state == ZC_TCP_SYN_RECEIVED && s->parent == NULL)) {
		zc__tcp_drop(s, err);
		return true;
	}
	s->soft_error = err;
	return true;
}

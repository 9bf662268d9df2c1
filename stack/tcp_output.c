/*
 * tcp_output.c - deciding what to send, and building and sending segments.
 *
 * One decision, zc__tcp_decide (FreeBSD's tcp_output in one function),
 * says what goes now and why, as an enum zc_tcp_tx_reason (tcp.h): either
 * what the state, windows and policies allow (zc__tcp_output: the SYN or
 * SYN-ACK, data within min(send window, cwnd) under Nagle, CORK and sender
 * silly-window avoidance, the FIN after the data, an ACK asked for), or the
 * one segment an event calls for (zc__tcp_output_for: a retransmission, a
 * probe, an ACK or RST answering a segment). Every send reason and every
 * reason for sending nothing is counted (zc_tcp_get_path_stats), and every
 * segment leaves through one path, zc__tcp_send.
 *
 * Data segments reference the send buffer's frames (zc_mbuf_ref): the
 * buffer keeps the bytes until they are acknowledged, and a NIC that
 * trades frames sees shared frames and copies them (DMA). Segments of at
 * most 128 data bytes are copied into the header segment instead, so small
 * messages travel as one control message.
 */
#include "stack/tcp_priv.h"

#include <errno.h>
#include <string.h>

#define ZC__INLINE_DATA 128u

uint32_t zc__tcp_rcv_space(const struct zc_tcp_sock *s)
{
	return s->rb_win > s->rq_len ? s->rb_win - s->rq_len : 0;
}

uint32_t zc__tcp_now_ts(const struct zc_tcp_sock *s)
{
	return (uint32_t)(s->st->now / 1000000u) + s->ts_offset;
}

/* The window to advertise, scaled, and rcv_adv moved with it. The right
 * edge never moves left (RFC 9293 3.8.6.2.2); small openings are not
 * advertised (receiver SWS avoidance, RFC 1122 4.2.3.3). */
static uint16_t zc__tcp_win(struct zc_tcp_sock *s, bool syn)
{
	uint32_t space = zc__tcp_rcv_space(s);
	uint32_t adv = seq_gt(s->rcv_adv, s->rcv_nxt) ? s->rcv_adv - s->rcv_nxt : 0;
	uint32_t small = s->rb_win / 4 < s->adv_mss ? s->rb_win / 4 : s->adv_mss;
	if (space < adv)
		space = adv;
	else if (space - adv < small && space < s->rb_win / 2 && space != adv)
		space = adv; /* not worth a new edge yet */
	if (syn) {
		uint32_t w = space > 65535 ? 65535 : space;
		if (seq_gt(s->rcv_nxt + w, s->rcv_adv))
			s->rcv_adv = s->rcv_nxt + w;
		return (uint16_t)w;
	}
	uint32_t w = space >> s->rcv_wscale;
	if (w > 65535)
		w = 65535;
	tcp_seq edge = s->rcv_nxt + (w << s->rcv_wscale);
	if (seq_gt(edge, s->rcv_adv))
		s->rcv_adv = edge;
	return (uint16_t)w;
}

/* The send buffer's segment holding byte off, and off made relative to it
 * (the segment's end when off is the buffer's end); from the cursor when
 * it is at or before off. */
static struct zc_mbuf *zc__tcp_sb_seek(struct zc_tcp_sock *s, uint32_t *off)
{
	struct zc_mbuf *m = s->sb_head;
	uint32_t start = 0;
	if (s->sb_cur && s->sb_cur_off <= *off) {
		m = s->sb_cur;
		start = s->sb_cur_off;
	}
	while (m && *off - start >= m->len && m->next) {
		start += m->len;
		m = m->next;
	}
	if (m) {
		s->sb_cur = m;
		s->sb_cur_off = start;
	}
	*off -= start;
	return m;
}

/* Data [off, off+len) of the send buffer appended to packet h. */
static int zc__tcp_sb_ref(struct zc_tcp_sock *s, struct zc_mbuf *h, uint32_t off, uint32_t len)
{
	struct zc_mbuf *from = zc__tcp_sb_seek(s, &off);
	if (len <= ZC__INLINE_DATA) {
		uint8_t *p = zc_mbuf_append(h, len);
		if (p == NULL)
			return -1;
		uint32_t done = 0;
		for (struct zc_mbuf *m = from; m && done < len; m = m->next) {
			if (off >= m->len) {
				off -= m->len;
				continue;
			}
			uint32_t k = m->len - off < len - done ? m->len - off : len - done;
			memcpy(p + done, m->data + off, k);
			done += k;
			off = 0;
		}
		return 0;
	}
	for (struct zc_mbuf *m = from; m && len; m = m->next) {
		if (off >= m->len) {
			off -= m->len;
			continue;
		}
		uint32_t k = m->len - off < len ? m->len - off : len;
		struct zc_mbuf *r = zc_mbuf_ref(m, off, k);
		if (r == NULL)
			return -1;
		zc_mbuf_cat(h, r);
		len -= k;
		off = 0;
	}
	return 0;
}

/* One segment: flags, data [seq, seq+len) from the send buffer, built and
 * handed to IP. 0 or -errno. Only zc__tcp_send calls it. */
static int zc__tcp_xmit(struct zc_tcp_sock *s, tcp_seq seq, uint32_t len, uint8_t flags)
{
	struct zc_stack *st = s->st;
	struct zc_mbuf *h = zc_mbuf_alloc(st->pool);
	if (h == NULL) {
		zc_drop(&st->drops, ZC_DROP_TX_NOBUFS);
		return -ENOBUFS;
	}
	if (len && zc__tcp_sb_ref(s, h, seq - s->snd_una, len) != 0) {
		zc_mbuf_free(h);
		zc_drop(&st->drops, ZC_DROP_TX_NOBUFS);
		return -ENOBUFS;
	}
	bool syn = (flags & ZC_TCP_SYN) != 0;
	struct zc_tcp th = {
		.sport = s->lport, .dport = s->rport, .seq = seq,
		.ack = (flags & ZC_TCP_ACK) ? s->rcv_nxt : 0, .flags = flags,
	};
	if (!(flags & ZC_TCP_RST))
		th.win = zc__tcp_win(s, syn);
	if (s->urg_send && seq_ge(s->snd_una, s->snd_up))
		s->urg_send = false; /* the urgent byte is acknowledged */
	if (s->urg_send && !syn && !(flags & ZC_TCP_RST) && seq_lt(seq, s->snd_up)) {
		uint32_t up = s->snd_up - seq;
		th.flags |= ZC_TCP_URG;
		th.urg = up > 0xffffu ? 0xffffu : (uint16_t)up;
	}
	if (syn) {
		th.opt.has_mss = true;
		th.opt.mss = s->adv_mss;
		bool offer = !(flags & ZC_TCP_ACK); /* our SYN offers; a SYN-ACK answers */
		if (offer || s->ws_ok) {
			th.opt.has_wscale = true;
			th.opt.wscale = s->rcv_wscale;
		}
		if (offer || s->ts_ok) {
			th.opt.has_ts = true;
			th.opt.tsval = zc__tcp_now_ts(s);
			th.opt.tsecr = s->ts_recent;
		}
		th.opt.sack_ok = (offer && !st->tcp->cfg.no_sack) || s->sack_ok;
		/* ECN-setup (RFC 3168 6.1.1): our SYN asks with ECE and CWR, the
		 * first time only (a retransmitted SYN goes without, as Linux's,
		 * in case a middlebox drops it); a SYN-ACK agrees with ECE */
		if (offer) {
			s->ecn_asked = st->tcp->cfg.ecn == ZC_TCP_ECN_ON && s->syn_tries == 0;
			if (s->ecn_asked)
				th.flags |= ZC_TCP_ECE | ZC_TCP_CWR;
		} else if (s->ecn_ok) {
			th.flags |= ZC_TCP_ECE;
		}
	} else if (!(flags & ZC_TCP_RST)) {
		if (s->ecn_ok && s->ece_pending && (flags & ZC_TCP_ACK))
			th.flags |= ZC_TCP_ECE; /* until the peer's CWR (6.1.3) */
		if (s->ecn_ok && s->cwr_pending && len && !seq_lt(seq, s->snd_max)) {
			th.flags |= ZC_TCP_CWR; /* on the first new data after the reduction (6.1.2) */
			s->cwr_pending = false;
		}
		if (s->ts_ok) {
			th.opt.has_ts = true;
			th.opt.tsval = zc__tcp_now_ts(s);
			th.opt.tsecr = s->ts_recent;
		}
		if (s->sack_ok && (s->ooo || s->dsack_pending) && (flags & ZC_TCP_ACK)) {
			/* as many blocks as fit beside the data within the MTU, and
			 * within the header's 40 bytes of options (3 beside the
			 * timestamps, else 4) */
			int ts = s->ts_ok ? (int)ZC_TCPOLEN_TS_ALIGNED : 0;
			int room = (int)st->nif->caps.mtu - (int)(ZC_IPV4_HLEN + ZC_TCP_HLEN) - ts - (int)len;
			int n = room >= (int)(ZC_TCPOLEN_SACK_BASE + ZC_TCPOLEN_SACK_BLOCK)
				? (room - (int)ZC_TCPOLEN_SACK_BASE) / (int)ZC_TCPOLEN_SACK_BLOCK : 0;
			int max = ((int)ZC_TCP_MAXOPTLEN - ts - (int)ZC_TCPOLEN_SACK_BASE) / (int)ZC_TCPOLEN_SACK_BLOCK;
			if (n > 0) {
				zc__tcp_sack_blocks(s, &th.opt, (unsigned)(n < max ? n : max));
				if (s->dsack_pending) {
					s->dsack_pending = false; /* reported once (RFC 2883 4) */
					st->tcp->stats.dsacks_out++;
				}
			}
		}
	}
	uint8_t hb[ZC_TCP_MAXHLEN];
	size_t hl = zc_tcp_build(hb, &th);
	uint8_t *p = zc_mbuf_prepend(h, (uint32_t)hl);
	memcpy(p, hb, hl);
	uint32_t sum = zc_csum_pseudo_v4(s->lip, s->rip, ZC_IPPROTO_TCP, (uint16_t)h->pkt_len);
	if (st->nif->caps.tx_csum && len > ZC__INLINE_DATA) {
		/* the NIC sums the payload as it moves it */
		zc_tcp_put_csum(p, (uint16_t)~zc_csum_fold(sum));
		h->flags |= ZC_MBUF_F_TX_L4_CSUM;
	} else {
		zc_tcp_put_csum(p, zc_csum_fold(zc_csum_mbuf(sum, h, 0, h->pkt_len)));
	}
	if (flags & ZC_TCP_ACK) {
		s->last_ack_sent = s->rcv_nxt;
		s->segs_unacked = 0;
		s->ack_now = false;
		zc__tcp_timer_set(s, ZC__T_DELACK, 0);
	}
	struct zc_tcp_stats *ts = &st->tcp->stats;
	ts->segs_out++;
	s->segs_out++;
	if (flags & ZC_TCP_RST)
		ts->rsts_out++;
	if (len) {
		s->data_segs_out++;
		s->last_data_tx = st->now;
		if (seq_lt(seq, s->snd_max)) {
			ts->retrans_segs++;
			s->total_retrans++;
			s->bytes_retrans += len;
			ts->bytes_retrans += len;
		} else {
			s->bytes_sent += len;
		}
	}
	/* ECT(0) on new data only: not on ACKs, SYNs, RSTs, retransmissions
	 * or window probes (RFC 3168 6.1.5, 6.1.6) */
	bool ect = s->ecn_ok && len && !syn && !(flags & ZC_TCP_RST) && !seq_lt(seq, s->snd_max) && s->snd_wnd;
	return zc__ip_output_tos(st, h, s->lip, s->rip, ZC_IPPROTO_TCP, ect ? ZC_IP_ECN_ECT0 : 0);
}

/* --- what to send, and why ------------------------------------------------ */

/* One decision: the segment, and this zc__tcp_output call so far. */
struct zc__tx {
	tcp_seq seq;
	uint32_t len;
	uint8_t flags;
	bool sent;    /* a data segment went (it carried the ACK) */
	bool no_data; /* a data segment could not be sent: only an ACK may go */
	uint8_t sack_rule; /* a retransmission NextSeg chose (RFC 6675 rule 1, 3 or 4) */
};

/* No event asks: whatever the state, windows and policies allow. */
#define ZC__TX_ANY ZC_TCP_TX__COUNT

static bool zc__tx_is_data(enum zc_tcp_tx_reason why)
{
	return why == ZC_TCP_TX_DATA || why == ZC_TCP_TX_DATA_TAIL || why == ZC_TCP_TX_DATA_SWS ||
	       why == ZC_TCP_TX_FIN || why == ZC_TCP_TX_RETRANSMIT;
}

/* Data and the FIN: the next segment from SND.NXT that the windows (the
 * peer's, the congestion window, limited transmit) and the policies (Nagle
 * with Minshall's change, TCP_CORK, sender SWS avoidance) let go now, or
 * why none goes. */
static enum zc_tcp_tx_reason zc__tcp_decide_data(const struct zc_tcp_sock *s, struct zc__tx *tx, uint32_t pipe)
{
	uint32_t flight = s->snd_nxt - s->snd_una;
	uint32_t off = flight;               /* data already sent, from snd_una */
	bool fin_sent = s->fin_acked || (s->fin_pending && seq_gt(s->snd_nxt, s->snd_una + s->sb_len));
	if (fin_sent)
		off = s->sb_len;
	uint32_t avail = s->sb_len > off ? s->sb_len - off : 0;
	uint32_t win = s->snd_wnd < s->cwnd ? s->snd_wnd : s->cwnd;
	/* limited transmit (RFC 3042): one more segment per early dupack */
	if (!s->in_recovery && s->dupacks > 0 && s->dupacks < ZC__TCP_DUPTHRESH && s->snd_wnd > win)
		win = s->snd_wnd < win + s->dupacks * s->mss ? s->snd_wnd : win + s->dupacks * s->mss;
	uint32_t usable = win > flight ? win - flight : 0;
	if (s->sack_rec) {
		/* in SACK recovery the congestion window holds the pipe, not the
		 * flight (RFC 6675 5); the peer's window still holds the flight */
		uint32_t w = s->snd_wnd > flight ? s->snd_wnd - flight : 0;
		uint32_t c = s->cwnd > pipe ? s->cwnd - pipe : 0;
		usable = w < c ? w : c;
	} else if (s->nsacked && seq_lt(s->snd_nxt, s->snd_max)) {
		/* going back after a timeout: what the peer SACKed below SND.NXT
		 * was stepped over and is not in flight */
		uint32_t f = flight - zc__sack_below(s, s->snd_nxt);
		uint32_t w = s->snd_wnd > flight ? s->snd_wnd - flight : 0;
		uint32_t c = win > f ? win - f : 0;
		usable = w < c ? w : c;
	}
	uint32_t len = avail < usable ? avail : usable;
	if (len > s->mss)
		len = s->mss;
	if (s->nsacked && seq_lt(s->snd_nxt, s->snd_max)) {
		uint32_t room = zc__sack_room(s); /* going back: not into what the peer holds */
		if (len > room)
			len = room;
	}
	bool fin = s->fin_pending && !fin_sent && len == avail;
	enum zc_tcp_tx_reason why;
	if (fin)
		why = ZC_TCP_TX_FIN;
	else if (len == 0)
		return avail == 0 ? ZC_TCP_TX_HOLD_NOTHING
		       : s->snd_wnd <= flight ? ZC_TCP_TX_HOLD_WINDOW : ZC_TCP_TX_HOLD_CWND;
	else if (len == s->mss)
		why = ZC_TCP_TX_DATA;
	else if (s->urg_send && seq_lt(s->snd_nxt, s->snd_up) && len == avail)
		why = ZC_TCP_TX_DATA_TAIL; /* urgent data goes at once (Linux's tcp_nagle_test) */
	else if ((s->cork || s->more) && !s->cork_expired)
		return ZC_TCP_TX_HOLD_CORK; /* until uncorked, a send without MSG_MORE or 200 ms */
	else if (len == avail && (s->nodelay || flight == 0 || seq_le(s->snd_sml, s->snd_una)))
		why = ZC_TCP_TX_DATA_TAIL; /* Nagle with Minshall's change (as Linux): a small
					    * segment waits only while an earlier small one is
					    * unacknowledged, so the tail of a bulk write does not
					    * wait for a delayed ACK of full segments */
	else if (s->max_sndwnd && len >= s->max_sndwnd / 2)
		why = ZC_TCP_TX_DATA_SWS; /* sender SWS avoidance */
	else
		return len == avail ? ZC_TCP_TX_HOLD_NAGLE : ZC_TCP_TX_HOLD_SWS;
	tx->seq = s->snd_nxt;
	tx->len = len;
	tx->flags = ZC_TCP_ACK;
	if (fin)
		tx->flags |= ZC_TCP_FIN;
	if (len && len == avail)
		tx->flags |= ZC_TCP_PSH;
	return seq_lt(s->snd_nxt, s->snd_max) ? ZC_TCP_TX_RETRANSMIT : why;
}

/* A retransmission of [seq, seq + len) that NextSeg chose (rule 1, 3 or
 * 4), cut to the data and the MSS; the FIN again if the range held it. */
static enum zc_tcp_tx_reason zc__tcp_sack_tx(const struct zc_tcp_sock *s, struct zc__tx *tx, tcp_seq seq,
					     uint32_t len, uint8_t rule)
{
	tcp_seq data_end = s->snd_una + s->sb_len;
	bool fin_in = s->fin_pending && !s->fin_acked && seq_gt(s->snd_max, data_end) &&
		      seq_gt(seq + len, data_end);
	if (seq_gt(seq + len, data_end))
		len = seq_lt(seq, data_end) ? data_end - seq : 0;
	if (len > s->mss)
		len = s->mss;
	tx->seq = seq;
	tx->len = len;
	tx->flags = ZC_TCP_ACK;
	if (fin_in && seq + len == data_end)
		tx->flags |= ZC_TCP_FIN;
	if (len == 0 && !(tx->flags & ZC_TCP_FIN))
		return ZC_TCP_TX_HOLD_NOTHING;
	if (len)
		tx->flags |= ZC_TCP_PSH;
	tx->sack_rule = rule;
	return ZC_TCP_TX_RECOVERY_RETRANSMIT;
}

/* In SACK recovery, RFC 6675 4's NextSeg while cwnd - pipe allows a
 * segment: a lost hole (rule 1), new data (2), a hole below the highest
 * SACKed octet (3), the rescue retransmission (4). */
static enum zc_tcp_tx_reason zc__tcp_decide_sack(const struct zc_tcp_sock *s, struct zc__tx *tx)
{
	uint32_t pipe = zc__sack_pipe(s);
	if (pipe + s->mss > s->cwnd)
		return ZC_TCP_TX_HOLD_CWND;
	tcp_seq seq;
	uint32_t len;
	if (zc__sack_next_rexmt(s, 1, &seq, &len))
		return zc__tcp_sack_tx(s, tx, seq, len, 1);
	enum zc_tcp_tx_reason why = zc__tcp_decide_data(s, tx, pipe);
	if (ZC_TCP_TX_IS_SEND(why))
		return why;
	if (zc__sack_next_rexmt(s, 3, &seq, &len))
		return zc__tcp_sack_tx(s, tx, seq, len, 3);
	if (zc__sack_rescue(s, &seq, &len))
		return zc__tcp_sack_tx(s, tx, seq, len, 4);
	return why;
}

/* What to send now and why, or why nothing: the one decision (as FreeBSD's
 * tcp_output). ask is the event that calls for one segment (a send reason
 * of zc__tcp_output_for), or ZC__TX_ANY. Fills tx when the answer is a
 * send reason. A pure ACK carries SND.MAX, not SND.NXT (as BSD's
 * tcp_output): after a timeout rewound SND.NXT, the peer may already hold
 * data past it, and an ACK below its RCV.NXT would be unacceptable there
 * and answered by an ACK of its own, forever. */
static enum zc_tcp_tx_reason zc__tcp_decide(const struct zc_tcp_sock *s, enum zc_tcp_tx_reason ask,
					    struct zc__tx *tx)
{
	tx->seq = s->snd_max;
	tx->len = 0;
	tx->flags = ZC_TCP_ACK;
	tx->sack_rule = 0;
	switch (ask) {
	case ZC_TCP_TX_SYN:
	case ZC_TCP_TX_SYN_RETRANSMIT:
		tx->seq = s->iss;
		tx->flags = ZC_TCP_SYN | (s->state == ZC_TCP_SYN_RECEIVED ? ZC_TCP_ACK : 0);
		return ask;
	case ZC_TCP_TX_FAST_RETRANSMIT:
	case ZC_TCP_TX_RECOVERY_RETRANSMIT:
		/* the first unacknowledged segment */
		tx->seq = s->snd_una;
		tx->len = s->sb_len < s->mss ? s->sb_len : s->mss;
		if (s->fin_pending && !s->fin_acked && tx->len == s->sb_len &&
		    seq_gt(s->snd_max, s->snd_una + s->sb_len))
			tx->flags |= ZC_TCP_FIN; /* the FIN was sent: it goes again with the last data */
		if (tx->len == 0 && !(tx->flags & ZC_TCP_FIN))
			return ZC_TCP_TX_HOLD_NOTHING;
		if (tx->len)
			tx->flags |= ZC_TCP_PSH;
		return ask;
	case ZC_TCP_TX_PERSIST_PROBE:
		tx->seq = s->snd_nxt;
		tx->len = 1;
		return ask;
	case ZC_TCP_TX_TAIL_LOSS_PROBE: {
		/* RFC 8985 7.3: a new segment if the peer's window lets one go
		 * (whatever cwnd says), else the last one sent, again */
		uint32_t flight = s->snd_nxt - s->snd_una;
		bool fin_sent = s->fin_acked || (s->fin_pending && seq_gt(s->snd_nxt, s->snd_una + s->sb_len));
		uint32_t avail = !fin_sent && s->sb_len > flight ? s->sb_len - flight : 0;
		uint32_t room = s->snd_wnd > flight ? s->snd_wnd - flight : 0;
		if (avail && room && s->snd_nxt == s->snd_max) {
			uint32_t len = avail < room ? avail : room;
			tx->seq = s->snd_nxt;
			tx->len = len < s->mss ? len : s->mss;
			tx->flags = ZC_TCP_ACK | ZC_TCP_PSH;
			if (s->fin_pending && tx->len == avail)
				tx->flags |= ZC_TCP_FIN;
			return ask;
		}
		tcp_seq top = seq_min(s->snd_max, s->snd_una + s->sb_len);
		uint32_t n = top - s->snd_una < s->mss ? top - s->snd_una : s->mss;
		enum zc_tcp_tx_reason why = zc__tcp_sack_tx(s, tx, top - n, s->snd_max - (top - n), 0);
		return ZC_TCP_TX_IS_SEND(why) ? ask : why;
	}
	case ZC_TCP_TX_KEEPALIVE:
		tx->seq = s->snd_una - 1; /* SND.NXT - 1 with no data elicits an ACK (RFC 9293 3.8.4) */
		return ask;
	case ZC_TCP_TX_RST:
		if (s->state == ZC_TCP_CLOSED || s->state == ZC_TCP_LISTEN || s->state == ZC_TCP_SYN_SENT ||
		    s->state == ZC_TCP_TIME_WAIT)
			return ZC_TCP_TX_HOLD_NOTHING;
		tx->seq = s->snd_nxt;
		tx->flags = ZC_TCP_RST | ZC_TCP_ACK;
		return ask;
	case ZC_TCP_TX_ACK_REPLY:
	case ZC_TCP_TX_CHALLENGE_ACK:
		return ask;
	default:
		break;
	}
	switch (s->state) {
	case ZC_TCP_CLOSED:
	case ZC_TCP_LISTEN:
		return ZC_TCP_TX_HOLD_NOTHING;
	case ZC_TCP_SYN_SENT:
	case ZC_TCP_SYN_RECEIVED:
		/* the SYN or SYN-ACK once (connect, a listener's child); its timer resends it */
		return s->snd_nxt == s->iss ? zc__tcp_decide(s, ZC_TCP_TX_SYN, tx) : ZC_TCP_TX_HOLD_NOTHING;
	case ZC_TCP_TIME_WAIT:
		return s->ack_now ? (enum zc_tcp_tx_reason)s->ack_why : ZC_TCP_TX_HOLD_NOTHING;
	default:
		break;
	}
	enum zc_tcp_tx_reason why = ZC_TCP_TX_HOLD_FAILED;
	if (!tx->no_data) {
		why = s->sack_rec ? zc__tcp_decide_sack(s, tx) : zc__tcp_decide_data(s, tx, 0);
		if (ZC_TCP_TX_IS_SEND(why))
			return why;
	}
	if (!tx->sent && s->ack_now)
		return (enum zc_tcp_tx_reason)s->ack_why; /* a pure ACK */
	return why;
}

/* --- sending ------------------------------------------------------------------ */

/* After a data segment or FIN went: the sequence space, the RTT sample
 * (without timestamps, one timed segment at a time: Karn) and the timers. */
static void zc__tcp_sent_data(struct zc_tcp_sock *s, const struct zc__tx *tx)
{
	bool fin = (tx->flags & ZC_TCP_FIN) != 0;
	if (!s->rtt_timing && !s->ts_ok && seq_ge(tx->seq, s->snd_max) && tx->len) {
		s->rtt_timing = true;
		s->rtt_seq = tx->seq;
		s->rtt_start = s->st->now;
	}
	s->snd_nxt += tx->len + (fin ? 1 : 0);
	if (tx->len && tx->len < s->mss)
		s->snd_sml = s->snd_nxt;
	if (seq_gt(s->snd_nxt, s->snd_max))
		s->snd_max = s->snd_nxt;
	if (s->t[ZC__T_REXMT] == 0 || s->tlp_armed)
		zc__tcp_arm_rexmt(s); /* the probe timeout restarts with new data (RFC 8985 7.2) */
	zc__tcp_timer_set(s, ZC__T_PERSIST, 0);
	s->persist_shift = 0;
}

/* The one way a connection's segment leaves: counted under why, built and
 * sent, then what it means for the sequence space and the timers. Returns
 * what zc__tcp_xmit returned. */
static int zc__tcp_send(struct zc_tcp_sock *s, enum zc_tcp_tx_reason why, const struct zc__tx *tx)
{
	s->st->tcp->paths.tx[why]++;
	int r = zc__tcp_xmit(s, tx->seq, tx->len, tx->flags);
	if (r == 0 && zc__tcp_connected(s) && !(tx->flags & (ZC_TCP_SYN | ZC_TCP_RST)))
		zc__rack_sent(s, tx->seq, tx->len + ((tx->flags & ZC_TCP_FIN) ? 1u : 0u));
	if (r == 0 && s->sack_rec) {
		s->prr_out += tx->len; /* PRR's prr_out (RFC 6937) */
		if (tx->len && tx->seq == s->snd_una && seq_lt(tx->seq, s->snd_max)) {
			s->rxt_una_ns = s->st->now;
			s->rxt_una = s->snd_una;
		}
	}
	switch (why) {
	case ZC_TCP_TX_SYN:
		if (s->snd_nxt == s->iss)
			s->snd_nxt = s->snd_max = s->iss + 1;
		zc__tcp_arm_rexmt(s);
		break;
	case ZC_TCP_TX_FAST_RETRANSMIT:
	case ZC_TCP_TX_RECOVERY_RETRANSMIT:
		s->rtt_timing = false; /* Karn: no sample from a retransmitted segment */
		if (s->sack_rec && r == 0) {
			if (tx->sack_rule == 4) { /* RescueRxt = RecoveryPoint; HighRxt stays */
				s->rescue_set = true;
				s->rescue_rxt = s->recover;
				s->st->tcp->stats.sack_rescues++;
			} else {
				s->high_rxt = seq_max(s->high_rxt, tx->seq + tx->len + ((tx->flags & ZC_TCP_FIN) ? 1 : 0));
			}
		}
		break;
	case ZC_TCP_TX_TAIL_LOSS_PROBE:
		if (r != 0)
			break;
		s->tlp_rxt = seq_lt(tx->seq, s->snd_max);
		if (s->tlp_rxt)
			s->rtt_timing = false;
		else
			zc__tcp_sent_data(s, tx);
		s->tlp_high = s->snd_max;
		break;
	case ZC_TCP_TX_PERSIST_PROBE:
		/* the byte counts as sent for the ACK check, but SND.NXT stays: while
		 * the window is closed the same byte is probed again (BSD's persist case) */
		if (seq_gt(s->snd_nxt + 1, s->snd_max))
			s->snd_max = s->snd_nxt + 1;
		break;
	default:
		if (zc__tx_is_data(why) && r == 0)
			zc__tcp_sent_data(s, tx);
		break;
	}
	return r;
}

void zc__tcp_output_for(struct zc_tcp_sock *s, enum zc_tcp_tx_reason ask)
{
	struct zc__tx tx = { 0 };
	enum zc_tcp_tx_reason why = zc__tcp_decide(s, ask, &tx);
	if (ZC_TCP_TX_IS_SEND(why))
		zc__tcp_send(s, why, &tx);
	else
		s->st->tcp->paths.tx[why]++;
}

void zc__tcp_output(struct zc_tcp_sock *s)
{
	struct zc__tx tx = { 0 };
	for (;;) {
		if (s->nsacked && seq_lt(s->snd_nxt, s->snd_max))
			zc__sack_skip(s);
		enum zc_tcp_tx_reason why = zc__tcp_decide(s, ZC__TX_ANY, &tx);
		if (!ZC_TCP_TX_IS_SEND(why)) {
			s->st->tcp->paths.tx[why]++;
			if (why == ZC_TCP_TX_HOLD_CORK && s->t[ZC__T_CORK] == 0)
				zc__tcp_timer_set(s, ZC__T_CORK, s->st->now + ZC__TCP_CORK_NS);
			break;
		}
		int r = zc__tcp_send(s, why, &tx);
		if (!zc__tx_is_data(why) && !tx.sack_rule)
			break; /* the SYN, or an ACK alone */
		if (r != 0) {
			tx.no_data = true;
			continue;
		}
		tx.sent = true;
		if (tx.flags & ZC_TCP_FIN)
			break;
	}
	if (s->state < ZC_TCP_ESTABLISHED || s->state == ZC_TCP_TIME_WAIT)
		return;
	/* a zero window with data waiting and nothing in flight: probe it */
	uint32_t flight = s->snd_nxt - s->snd_una;
	if (s->snd_wnd == 0 && s->sb_len > flight && flight == 0 && s->t[ZC__T_REXMT] == 0 &&
	    s->t[ZC__T_PERSIST] == 0) {
		uint64_t d = s->rto << (s->persist_shift < 10 ? s->persist_shift : 10);
		if (d > s->st->tcp->cfg.rto_max_ns)
			d = s->st->tcp->cfg.rto_max_ns;
		zc__tcp_timer_set(s, ZC__T_PERSIST, s->st->now + d);
	}
}

/* --- a RST without a connection ---------------------------------------------- */

void zc__tcp_respond_rst(struct zc_stack *st, const struct zc_ipv4 *ip, const struct zc_tcp *th,
			 uint32_t seglen)
{
	if (th->flags & ZC_TCP_RST)
		return;
	if (zc__is_bcast(st, ip->dst))
		return;
	struct zc_tcp r = { .sport = th->dport, .dport = th->sport };
	if (th->flags & ZC_TCP_ACK) {
		r.seq = th->ack;
		r.flags = ZC_TCP_RST;
	} else {
		r.ack = th->seq + seglen + ((th->flags & ZC_TCP_SYN) ? 1 : 0) + ((th->flags & ZC_TCP_FIN) ? 1 : 0);
		r.flags = ZC_TCP_RST | ZC_TCP_ACK;
	}
	if (zc__tcp_send_bare(st, ip->dst, ip->src, &r, ZC_TCP_TX_RST_REPLY) == 0)
		st->tcp->stats.rsts_out++;
}

int zc__tcp_send_bare(struct zc_stack *st, uint32_t src, uint32_t dst, const struct zc_tcp *th,
		      enum zc_tcp_tx_reason why)
{
	struct zc_mbuf *h = zc_mbuf_alloc(st->pool);
	if (h == NULL) {
		zc_drop(&st->drops, ZC_DROP_TX_NOBUFS); /* this segment, not the one it answers */
		return -ENOBUFS;
	}
	uint8_t hb[ZC_TCP_MAXHLEN];
	size_t hl = zc_tcp_build(hb, th);
	uint8_t *p = zc_mbuf_append(h, (uint32_t)hl);
	memcpy(p, hb, hl);
	zc_l4_set_csum(p, (uint32_t)hl, ZC_IPPROTO_TCP, src, dst);
	st->tcp->stats.segs_out++;
	st->tcp->paths.tx[why]++;
	zc__ip_output(st, h, src, dst, ZC_IPPROTO_TCP);
	return 0;
}

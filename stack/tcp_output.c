/*
 * tcp_output.c - building and sending segments, and deciding what to send:
 * SYN and SYN-ACK, data within min(send window, cwnd) under Nagle, CORK and
 * sender silly-window avoidance, FIN after the data, pure ACKs, RSTs.
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

int zc__tcp_xmit(struct zc_tcp_sock *s, tcp_seq seq, uint32_t len, uint8_t flags)
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
		th.opt.sack_ok = offer || s->sack_ok;
	} else if (!(flags & ZC_TCP_RST)) {
		if (s->ts_ok) {
			th.opt.has_ts = true;
			th.opt.tsval = zc__tcp_now_ts(s);
			th.opt.tsecr = s->ts_recent;
		}
		if (s->sack_ok && s->ooo && (flags & ZC_TCP_ACK)) {
			/* as many blocks as fit beside the data within the MTU, and
			 * within the header's 40 bytes of options (3 beside the
			 * timestamps, else 4) */
			int ts = s->ts_ok ? (int)ZC_TCPOLEN_TS_ALIGNED : 0;
			int room = (int)st->nif->caps.mtu - (int)(ZC_IPV4_HLEN + ZC_TCP_HLEN) - ts - (int)len;
			int n = room >= (int)(ZC_TCPOLEN_SACK_BASE + ZC_TCPOLEN_SACK_BLOCK)
				? (room - (int)ZC_TCPOLEN_SACK_BASE) / (int)ZC_TCPOLEN_SACK_BLOCK : 0;
			int max = ((int)ZC_TCP_MAXOPTLEN - ts - (int)ZC_TCPOLEN_SACK_BASE) / (int)ZC_TCPOLEN_SACK_BLOCK;
			if (n > 0)
				zc__tcp_sack_blocks(s, &th.opt, (unsigned)(n < max ? n : max));
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
		} else {
			s->bytes_sent += len;
		}
	}
	return zc__ip_output(st, h, s->lip, s->rip, ZC_IPPROTO_TCP);
}

/* A pure ACK carries SND.MAX, not SND.NXT (as BSD's tcp_output): after a
 * timeout rewound SND.NXT, the peer may already hold data past it, and an
 * ACK below its RCV.NXT would be unacceptable there and answered by an ACK
 * of its own, forever. */
void zc__tcp_send_ack(struct zc_tcp_sock *s)
{
	zc__tcp_xmit(s, s->snd_max, 0, ZC_TCP_ACK);
}

void zc__tcp_send_rst(struct zc_tcp_sock *s)
{
	if (s->state == ZC_TCP_CLOSED || s->state == ZC_TCP_LISTEN || s->state == ZC_TCP_SYN_SENT ||
	    s->state == ZC_TCP_TIME_WAIT)
		return;
	zc__tcp_xmit(s, s->snd_nxt, 0, ZC_TCP_RST | ZC_TCP_ACK);
}

void zc__tcp_respond_rst(struct zc_stack *st, const struct zc_ipv4 *ip, const struct zc_tcp *th,
			 uint32_t seglen)
{
	if (th->flags & ZC_TCP_RST)
		return;
	if (zc__is_bcast(st, ip->dst))
		return;
	struct zc_mbuf *h = zc_mbuf_alloc(st->pool);
	if (h == NULL)
		return;
	struct zc_tcp r = { .sport = th->dport, .dport = th->sport };
	if (th->flags & ZC_TCP_ACK) {
		r.seq = th->ack;
		r.flags = ZC_TCP_RST;
	} else {
		r.ack = th->seq + seglen + ((th->flags & ZC_TCP_SYN) ? 1 : 0) + ((th->flags & ZC_TCP_FIN) ? 1 : 0);
		r.flags = ZC_TCP_RST | ZC_TCP_ACK;
	}
	uint8_t *p = zc_mbuf_append(h, ZC_TCP_HLEN);
	zc_tcp_build(p, &r);
	zc_l4_set_csum(p, ZC_TCP_HLEN, ZC_IPPROTO_TCP, ip->dst, ip->src);
	st->tcp->stats.rsts_out++;
	st->tcp->stats.segs_out++;
	zc__ip_output(st, h, ip->dst, ip->src, ZC_IPPROTO_TCP);
}

void zc__tcp_rexmit_first(struct zc_tcp_sock *s)
{
	uint32_t len = s->sb_len < s->mss ? s->sb_len : s->mss;
	uint8_t flags = ZC_TCP_ACK;
	if (s->fin_pending && !s->fin_acked && len == s->sb_len && seq_gt(s->snd_max, s->snd_una + s->sb_len))
		flags |= ZC_TCP_FIN; /* the FIN was sent: it goes again with the last data */
	if (len == 0 && !(flags & ZC_TCP_FIN))
		return;
	if (len)
		flags |= ZC_TCP_PSH;
	s->rtt_timing = false; /* Karn: no sample from a retransmitted segment */
	zc__tcp_xmit(s, s->snd_una, len, flags);
}

/* Send the SYN or SYN-ACK when it is due (connect, timer). */
static void zc__tcp_output_syn(struct zc_tcp_sock *s)
{
	uint8_t flags = ZC_TCP_SYN | (s->state == ZC_TCP_SYN_RECEIVED ? ZC_TCP_ACK : 0);
	zc__tcp_xmit(s, s->iss, 0, flags);
	if (s->snd_nxt == s->iss)
		s->snd_nxt = s->snd_max = s->iss + 1;
	zc__tcp_arm_rexmt(s);
}

void zc__tcp_output(struct zc_tcp_sock *s)
{
	switch (s->state) {
	case ZC_TCP_CLOSED:
	case ZC_TCP_LISTEN:
		return;
	case ZC_TCP_SYN_SENT:
	case ZC_TCP_SYN_RECEIVED:
		if (s->snd_nxt == s->iss)
			zc__tcp_output_syn(s);
		return;
	case ZC_TCP_TIME_WAIT:
		if (s->ack_now)
			zc__tcp_send_ack(s);
		return;
	default:
		break;
	}
	bool sent_any = false;
	for (;;) {
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
		uint32_t len = avail < usable ? avail : usable;
		if (len > s->mss)
			len = s->mss;
		bool fin = s->fin_pending && !fin_sent && len == avail;
		bool go = false;
		if (len > 0) {
			if (len == s->mss || fin)
				go = true;
			else if (s->cork)
				go = false;
			else if (len == avail && (s->nodelay || flight == 0 || seq_le(s->snd_sml, s->snd_una)))
				go = true; /* Nagle with Minshall's change (as Linux): a small
					    * segment waits only while an earlier small one is
					    * unacknowledged, so the tail of a bulk write does not
					    * wait for a delayed ACK of full segments */
			else if (s->max_sndwnd && len >= s->max_sndwnd / 2)
				go = true; /* sender SWS avoidance */
		} else if (fin && avail == 0) {
			go = true;
		}
		if (!go)
			break;
		uint8_t flags = ZC_TCP_ACK;
		if (fin)
			flags |= ZC_TCP_FIN;
		if (len && len == avail)
			flags |= ZC_TCP_PSH;
		tcp_seq seq = s->snd_nxt;
		if (zc__tcp_xmit(s, seq, len, flags) != 0)
			break;
		if (!s->rtt_timing && !s->ts_ok && seq_ge(seq, s->snd_max) && len) {
			s->rtt_timing = true;
			s->rtt_seq = seq;
			s->rtt_start = s->st->now;
		}
		s->snd_nxt += len + (fin ? 1 : 0);
		if (len && len < s->mss)
			s->snd_sml = s->snd_nxt;
		if (seq_gt(s->snd_nxt, s->snd_max))
			s->snd_max = s->snd_nxt;
		if (s->t[ZC__T_REXMT] == 0)
			zc__tcp_arm_rexmt(s);
		zc__tcp_timer_set(s, ZC__T_PERSIST, 0);
		s->persist_shift = 0;
		sent_any = true;
		if (fin)
			break;
	}
	if (!sent_any && s->ack_now)
		zc__tcp_send_ack(s);
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

/*
 * tcp_syncookie.c - SYN cookies (RFC 4987 3.6), as Linux's tcp_syncookies:
 * when a listener's SYN queue is full, a SYN is answered with a SYN-ACK
 * whose ISN encodes what the connection needs and nothing is kept; the
 * ACK that completes the handshake brings it back, and the connection is
 * made from it then.
 *
 * The ISN (32 bits): the minute counter's low 2 bits (a 64 s tick), the
 * peer's MSS as an index into a table (3 bits), and 27 bits of SipHash
 * keyed by the stack's secret over the 4-tuple, the peer's ISN and the
 * tick. A cookie is good for 2 ticks after the one that made it (Linux's
 * MAX_SYNCOOKIE_AGE), so a blind attacker must guess 27 bits per try.
 * Window scale and SACK-permitted ride in the low 5 bits of our SYN-ACK's
 * timestamp, which the ACK echoes (Linux's cookie_init_timestamp): without
 * timestamps the connection gets the MSS alone, as on Linux. The rest of
 * the timestamp is the connection's clock with an offset hashed from the
 * 4-tuple, so that the connection's later timestamps never go back.
 */
#include "stack/tcp_priv.h"

#define ZC__COOKIE_TICK_NS (64ull * 1000000000ull)
#define ZC__COOKIE_AGE 2u           /* ticks a cookie stays good after its own */
#define ZC__COOKIE_HASH 0x07ffffffu /* the 27 bits of hash */
#define ZC__COOKIE_TS_BITS 0x1fu    /* timestamp bits that carry options */
#define ZC__COOKIE_NO_WS 0xfu       /* in those bits: no window scale */
#define ZC__COOKIE_SACK 0x10u
/* MSS values a cookie can say: the largest not above the peer's is taken
 * (Linux's msstab, and the MTUs of jumbo and Trapeze links) */
static const uint16_t zc__cookie_mss[8] = { 536, 1300, 1440, 1460, 4056, 8960, 16344, 65495 };

static uint32_t zc__cookie_hash(const struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
				uint16_t rport, tcp_seq irs, uint64_t tick)
{
	uint64_t a = (uint64_t)lip << 32 | rip, b = (uint64_t)lport << 48 | (uint64_t)rport << 32 | irs;
	return (uint32_t)zc__siphash(st->tcp->key, a ^ (tick << 2 | 1u), b) & ZC__COOKIE_HASH;
}

/* The timestamp offset of a cookie's connection: hashed from the 4-tuple,
 * so the ACK's side can find it again. */
static uint32_t zc__cookie_ts_offset(const struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
				     uint16_t rport)
{
	uint64_t a = (uint64_t)lip << 32 | rip, b = (uint64_t)lport << 16 | rport;
	return (uint32_t)(zc__siphash(st->tcp->key, a, b ^ 0x636f6f6b69650000ull) >> 32);
}

bool zc__syncookie_wanted(const struct zc_tcp_sock *l, bool queue_full)
{
	uint8_t mode = l->st->tcp->cfg.syncookies;
	return mode == ZC_TCP_SYNCOOKIES_ALWAYS || (mode == ZC_TCP_SYNCOOKIES_DEFAULT && queue_full);
}

bool zc__syncookie_recent(const struct zc_tcp_sock *l)
{
	uint8_t mode = l->st->tcp->cfg.syncookies;
	if (mode == ZC_TCP_SYNCOOKIES_OFF)
		return false;
	/* only while cookies may be out: a bare ACK is otherwise answered by a
	 * RST at once (Linux's tcp_synq_no_recent_overflow) */
	return mode == ZC_TCP_SYNCOOKIES_ALWAYS ||
	       (l->cookie_sent_ns && l->st->now - l->cookie_sent_ns <= (ZC__COOKIE_AGE + 1) * ZC__COOKIE_TICK_NS);
}

void zc__syncookie_send(struct zc_stack *st, struct zc_tcp_sock *l, const struct zc_ipv4 *ip,
			const struct zc_tcp *th)
{
	struct zc__tcp *t = st->tcp;
	uint32_t lip = ip->dst, rip = ip->src;
	uint32_t peer_mss = th->opt.has_mss ? th->opt.mss : ZC__TCP_MSS_DEFAULT;
	uint32_t idx = 0;
	while (idx + 1 < 8 && zc__cookie_mss[idx + 1] <= peer_mss)
		idx++;
	uint64_t tick = st->now / ZC__COOKIE_TICK_NS;
	tcp_seq iss = (uint32_t)(tick & 3u) << 30 | idx << 27 |
		      zc__cookie_hash(st, lip, th->dport, rip, th->sport, th->seq, tick);
	uint32_t mss = zc__tcp_adv_mss(st, l->user_mss);
	struct zc_tcp r = { .sport = th->dport, .dport = th->sport, .seq = iss, .ack = th->seq + 1,
			    .flags = ZC_TCP_SYN | ZC_TCP_ACK, .win = l->rb_win > 65535 ? 65535 : (uint16_t)l->rb_win,
			    .opt = { .has_mss = true, .mss = (uint16_t)mss } };
	if (th->opt.has_ts) {
		uint32_t bits = ZC__COOKIE_NO_WS;
		if (th->opt.has_wscale) {
			r.opt.has_wscale = true;
			r.opt.wscale = zc__tcp_wscale_for(l->rb_max);
			bits = th->opt.wscale > ZC__TCP_WSCALE_MAX ? ZC__TCP_WSCALE_MAX : th->opt.wscale;
		}
		if (th->opt.sack_ok && !t->cfg.no_sack) {
			r.opt.sack_ok = true;
			bits |= ZC__COOKIE_SACK;
		}
		uint32_t ts = (uint32_t)(st->now / 1000000u) + zc__cookie_ts_offset(st, lip, th->dport, rip, th->sport);
		r.opt.has_ts = true;
		r.opt.tsval = (ts & ~ZC__COOKIE_TS_BITS) | bits;
		r.opt.tsecr = th->opt.tsval;
	}
	if (zc__tcp_send_bare(st, lip, rip, &r, ZC_TCP_TX_SYN_COOKIE) != 0)
		return;
	l->cookie_sent_ns = st->now;
	t->stats.syncookies_sent++;
}

bool zc__syncookie_check(struct zc_stack *st, const struct zc_ipv4 *ip, const struct zc_tcp *th,
			 struct zc_tcp *syn, uint32_t *ts_offset)
{
	tcp_seq cookie = th->ack - 1, irs = th->seq - 1;
	uint64_t now_tick = st->now / ZC__COOKIE_TICK_NS;
	bool ok = false;
	for (uint64_t age = 0; age <= ZC__COOKIE_AGE && age <= now_tick && !ok; age++) {
		uint64_t tick = now_tick - age;
		ok = (cookie >> 30) == (tick & 3u) &&
		     (cookie & ZC__COOKIE_HASH) == zc__cookie_hash(st, ip->dst, th->dport, ip->src, th->sport, irs, tick);
	}
	if (!ok) {
		st->tcp->stats.syncookies_failed++;
		return false;
	}
	/* the SYN as the cookie remembers it */
	*syn = (struct zc_tcp){ .sport = th->sport, .dport = th->dport, .seq = irs, .flags = ZC_TCP_SYN,
				.win = th->win };
	syn->opt.has_mss = true;
	syn->opt.mss = zc__cookie_mss[(cookie >> 27) & 7u];
	*ts_offset = zc__cookie_ts_offset(st, ip->dst, th->dport, ip->src, th->sport);
	if (th->opt.has_ts && th->opt.tsecr) {
		uint32_t bits = th->opt.tsecr & ZC__COOKIE_TS_BITS;
		syn->opt.has_ts = true;
		syn->opt.tsval = th->opt.tsval;
		if ((bits & ZC__COOKIE_NO_WS) != ZC__COOKIE_NO_WS) {
			syn->opt.has_wscale = true;
			syn->opt.wscale = (uint8_t)(bits & ZC__COOKIE_NO_WS);
		}
		syn->opt.sack_ok = (bits & ZC__COOKIE_SACK) != 0;
		/* the connection's clock from here on: past the SYN-ACK's value */
		*ts_offset += ZC__COOKIE_TS_BITS + 1;
	}
	st->tcp->stats.syncookies_recv++;
	return true;
}

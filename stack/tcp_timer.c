/*
 * tcp_timer.c - TCP's timers: retransmission (RFC 6298, with Karn's rule
 * and exponential backoff; SYN and data retries bounded), persist (zero
 * window probes), delayed ACK, keepalive and 2*MSL.
 *
 * Each connection keeps absolute deadlines per timer; the earliest one sits
 * in a binary min-heap per stack (the connection stores its heap index), so
 * zc_stack_next_timer() is O(1) and a change is O(log n) with many
 * connections in TIME_WAIT.
 */
#include "stack/tcp_priv.h"

#include <errno.h>
#include <stdlib.h>

/* --- the heap ----------------------------------------------------------------- */

static void zc__heap_swap(struct zc__tcp *t, uint32_t a, uint32_t b)
{
	struct zc_tcp_sock *x = t->heap[a];
	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->heap[a]->heap_idx = (int32_t)a;
	t->heap[b]->heap_idx = (int32_t)b;
}

static void zc__heap_fix(struct zc__tcp *t, uint32_t i)
{
	while (i > 0 && t->heap[(i - 1) / 2]->deadline > t->heap[i]->deadline) {
		zc__heap_swap(t, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < t->nheap && t->heap[l]->deadline < t->heap[m]->deadline)
			m = l;
		if (r < t->nheap && t->heap[r]->deadline < t->heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		zc__heap_swap(t, i, m);
		i = m;
	}
}

static void zc__heap_remove(struct zc__tcp *t, struct zc_tcp_sock *s)
{
	uint32_t i = (uint32_t)s->heap_idx;
	s->heap_idx = -1;
	t->nheap--;
	if (i == t->nheap)
		return;
	t->heap[i] = t->heap[t->nheap];
	t->heap[i]->heap_idx = (int32_t)i;
	zc__heap_fix(t, i);
}

int zc__tcp_timer_reserve(struct zc_stack *st, uint32_t n)
{
	struct zc__tcp *t = st->tcp;
	if (n <= t->heapcap)
		return 0;
	uint32_t nc = t->heapcap ? 2 * t->heapcap : 256;
	while (nc < n)
		nc *= 2;
	struct zc_tcp_sock **nh = zc__st_realloc(st->arena, t->heap, nc * sizeof(*nh));
	if (nh == NULL)
		return -ENOMEM;
	t->heap = nh;
	t->heapcap = nc;
	return 0;
}

static void zc__timer_update(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	uint64_t d = 0;
	for (int i = 0; i < ZC__T_N; i++)
		if (s->t[i] && (d == 0 || s->t[i] < d))
			d = s->t[i];
	s->deadline = d;
	if (d == 0) {
		if (s->heap_idx >= 0)
			zc__heap_remove(t, s);
		return;
	}
	if (s->heap_idx < 0) {
		if (t->nheap == t->heapcap)
			abort(); /* cannot be: zc__tcp_alloc reserved a slot for every connection */
		s->heap_idx = (int32_t)t->nheap;
		t->heap[t->nheap++] = s;
	}
	zc__heap_fix(t, (uint32_t)s->heap_idx);
}

void zc__tcp_timer_set(struct zc_tcp_sock *s, enum zc__tcp_timer which, uint64_t when)
{
	if (s->t[which] == when)
		return;
	s->t[which] = when;
	zc__timer_update(s);
}

void zc__tcp_timer_clear_all(struct zc_tcp_sock *s)
{
	for (int i = 0; i < ZC__T_N; i++)
		s->t[i] = 0;
	zc__timer_update(s);
}

uint64_t zc__tcp_next_timer(const struct zc_stack *st)
{
	const struct zc__tcp *t = st->tcp;
	return t->nheap ? t->heap[0]->deadline : UINT64_MAX;
}

/* --- RTT (RFC 6298 section 2) ------------------------------------------------- */

void zc__tcp_rtt_sample(struct zc_tcp_sock *s, uint64_t r)
{
	const struct zc_tcp_config *c = &s->st->tcp->cfg;
	zc__hystart_rtt(s, r);
	if (!s->rtt_valid) {
		s->srtt = r;
		s->rttvar = r / 2;
		s->rtt_valid = true;
	} else {
		uint64_t d = s->srtt > r ? s->srtt - r : r - s->srtt;
		s->rttvar = (3 * s->rttvar + d) / 4;
		s->srtt = (7 * s->srtt + r) / 8;
	}
	uint64_t k = 4 * s->rttvar;
	if (k < 1000000) /* clock granularity G: 1 ms (timestamps tick in ms) */
		k = 1000000;
	s->rto = s->srtt + k;
	if (s->rto < c->rto_min_ns)
		s->rto = c->rto_min_ns;
	if (s->rto > c->rto_max_ns)
		s->rto = c->rto_max_ns;
}

/* RFC 8985 7.2: the probe timeout replaces the RTO while the peer SACKs,
 * no recovery runs, no probe is out and no timeout backed the timer off.
 * PTO = 2 SRTT (at least 10 ms, Linux's floor), plus a worst-case delayed
 * ACK (200 ms) when one segment is in flight, and never past the RTO: at
 * worst the probe goes when the RTO would have, and the RTO follows it. */
#define ZC__TLP_MIN_NS 10000000ull
#define ZC__TLP_DELACK_NS 200000000ull

static bool zc__tlp_eligible(const struct zc_tcp_sock *s)
{
	return s->sack_ok && !s->st->tcp->cfg.no_tlp && !s->in_recovery && s->backoff == 0 && !s->tlp_out &&
	       s->rtt_valid && zc__tcp_connected(s) && s->state != ZC_TCP_TIME_WAIT;
}

void zc__tcp_arm_rexmt(struct zc_tcp_sock *s)
{
	uint64_t d = s->rto << (s->backoff < 16 ? s->backoff : 16);
	if (d > s->st->tcp->cfg.rto_max_ns)
		d = s->st->tcp->cfg.rto_max_ns;
	s->tlp_armed = false;
	if (zc__tlp_eligible(s)) {
		uint64_t pto = 2 * s->srtt;
		if (pto < ZC__TLP_MIN_NS)
			pto = ZC__TLP_MIN_NS;
		if (s->snd_max - s->snd_una <= s->mss)
			pto += ZC__TLP_DELACK_NS;
		d = pto < d ? pto : d;
		s->tlp_armed = true;
	}
	zc__tcp_timer_set(s, ZC__T_REXMT, s->st->now + d);
}

void zc__tcp_keep_reset(struct zc_tcp_sock *s)
{
	s->keep_probes = 0;
	bool on = s->keepalive && s->state >= ZC_TCP_ESTABLISHED && s->state != ZC_TCP_TIME_WAIT;
	zc__tcp_timer_set(s, ZC__T_KEEP, on ? s->st->now + (uint64_t)s->keepidle_s * 1000000000ull : 0);
}

/* --- expiry ------------------------------------------------------------------- */

static void zc__tcp_rexmt_fire(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	if (s->state == ZC_TCP_SYN_SENT || s->state == ZC_TCP_SYN_RECEIVED) {
		if (++s->syn_tries > t->cfg.syn_retries) {
			zc__tcp_drop(s, s->soft_error ? s->soft_error : ETIMEDOUT);
			return;
		}
		s->backoff++;
		t->stats.timeouts++;
		zc__tcp_output_for(s, ZC_TCP_TX_SYN_RETRANSMIT);
		zc__tcp_arm_rexmt(s);
		return;
	}
	if (s->snd_una == s->snd_max)
		return; /* nothing outstanding */
	if (s->tlp_armed) {
		/* the probe timeout (RFC 8985 7.3): one probe, then the RTO proper */
		s->tlp_armed = false;
		t->stats.tlp_probes++;
		zc__tcp_output_for(s, ZC_TCP_TX_TAIL_LOSS_PROBE);
		s->tlp_out = true;
		zc__tcp_arm_rexmt(s);
		return;
	}
	s->tlp_out = false;
	if (++s->rexmt_count > t->cfg.retries) {
		zc__tcp_output_for(s, ZC_TCP_TX_RST);
		zc__tcp_drop(s, s->soft_error ? s->soft_error : ETIMEDOUT); /* Linux's tcp_write_err */
		return;
	}
	t->stats.timeouts++;
	s->backoff++;
	zc__tcp_pmtu_rto(s);
	if (s->in_recovery || s->rexmt_count > 1) {
		/* the loss was answered already, by the recovery this ends or
		 * by the RTO before: ssthresh stays (as Linux's tcp_enter_loss) */
		s->cwnd = s->mss;
		s->ca_acked = 0;
	} else {
		s->cc->timeout(s);
	}
	/* the first timeout keeps what the peer SACKed: going back, only the
	 * rest is sent again (as Linux). A second one in a row expunges it, as
	 * RFC 2018 8 says, in case the peer reneged on its SACKs. */
	zc__rack_rto(s);
	if (s->rexmt_count > 1)
		zc__sack_clear(s);
	s->sack_rec = false;
	s->in_recovery = false;
	s->dupacks = 0;
	s->recover = s->snd_max;
	s->rtt_timing = false; /* Karn */
	s->snd_nxt = s->snd_una; /* go back: resend from the first unacknowledged byte */
	zc__tcp_arm_rexmt(s);
	zc__tcp_output(s);
}

static void zc__tcp_persist_fire(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	uint32_t flight = s->snd_nxt - s->snd_una;
	if (s->snd_wnd > 0 || s->sb_len <= flight) {
		s->persist_shift = 0;
		return;
	}
	/* a one-byte probe of new data (RFC 9293 3.8.6.1) */
	t->stats.zero_window_probes++;
	zc__tcp_output_for(s, ZC_TCP_TX_PERSIST_PROBE);
	if (s->persist_shift < 16)
		s->persist_shift++;
	uint64_t d = s->rto << s->persist_shift;
	if (d > t->cfg.rto_max_ns)
		d = t->cfg.rto_max_ns;
	zc__tcp_timer_set(s, ZC__T_PERSIST, s->st->now + d);
}

static void zc__tcp_keep_fire(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	if (!s->keepalive || s->state < ZC_TCP_ESTABLISHED || s->state == ZC_TCP_TIME_WAIT)
		return;
	if (s->keep_probes >= s->keepcnt) {
		zc__tcp_output_for(s, ZC_TCP_TX_RST);
		zc__tcp_drop(s, s->soft_error ? s->soft_error : ETIMEDOUT);
		return;
	}
	s->keep_probes++;
	t->stats.keepalive_probes++;
	zc__tcp_output_for(s, ZC_TCP_TX_KEEPALIVE);
	zc__tcp_timer_set(s, ZC__T_KEEP, s->st->now + (uint64_t)s->keepintvl_s * 1000000000ull);
}

void zc__tcp_timers(struct zc_stack *st)
{
	struct zc__tcp *t = st->tcp;
	while (t->nheap && t->heap[0]->deadline <= st->now) {
		struct zc_tcp_sock *s = t->heap[0];
		int which = -1;
		for (int i = 0; i < ZC__T_N; i++)
			if (s->t[i] && s->t[i] <= st->now && (which < 0 || s->t[i] < s->t[which]))
				which = i;
		if (which < 0) { /* cannot happen: the deadline is one of them */
			zc__timer_update(s);
			continue;
		}
		s->t[which] = 0;
		zc__timer_update(s);
		switch (which) {
		case ZC__T_REXMT: zc__tcp_rexmt_fire(s); break;
		case ZC__T_RACK: zc__rack_timer(s); break;
		case ZC__T_PERSIST: zc__tcp_persist_fire(s); break;
		case ZC__T_DELACK:
			t->stats.delayed_acks++;
			zc__tcp_ack_now(s, ZC_TCP_TX_DELAYED_ACK);
			zc__tcp_output(s);
			break;
		case ZC__T_KEEP: zc__tcp_keep_fire(s); break;
		case ZC__T_2MSL: zc__tcp_closed(s); break;
		case ZC__T_CORK: /* the ceiling on corking: what is held goes */
			s->cork_expired = true;
			zc__tcp_output(s);
			s->cork_expired = false;
			break;
		}
	}
}

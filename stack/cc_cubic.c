/*
 * cc_cubic.c - CUBIC congestion control (RFC 9438), the default as on
 * Linux. Slow start, fast recovery's inflation and deflation and the
 * partial-ACK rule are NewReno's (cc_newreno.c); CUBIC changes how the
 * window grows in congestion avoidance and how far it falls:
 *
 *   W_cubic(t) = C (t - K)^3 + W_max,  K = cbrt((W_max - cwnd_epoch) / C)
 *
 * in segments, t the seconds since the epoch (the first ACK of congestion
 * avoidance after a congestion event), aiming one RTT ahead (4.2), the
 * target held within [cwnd, 1.5 cwnd] (4.2); the Reno-friendly estimate
 * W_est grows by alpha = 3 (1 - beta) / (1 + beta) segments a window until
 * it reaches the W_max of the last event, then by one (4.3), and the window
 * follows it where it is larger (the Reno-friendly region). A congestion
 * event sets ssthresh = max(beta cwnd, 2 MSS) with beta 0.7 (4.6), and
 * W_max with fast convergence (4.7). The state lives in the TCB (struct
 * zc__cubic in tcp_priv.h), so it is shared as the TCB is.
 */
#include "stack/stack_priv.h"
#include "stack/tcp_priv.h"

#define ZC__CUBIC_C 0.4
#define ZC__CUBIC_BETA 0.7
#define ZC__CUBIC_ALPHA (3.0 * (1.0 - ZC__CUBIC_BETA) / (1.0 + ZC__CUBIC_BETA))

/* Cube root by Newton's method (x > 0): libm is not otherwise needed. */
static double zc__cbrt(double x)
{
	if (x <= 0)
		return 0;
	double r = x > 1 ? x / 3 : 1;
	for (int i = 0; i < 60; i++) {
		double n = r - (r * r * r - x) / (3 * r * r);
		if (n == r)
			break;
		r = n;
	}
	return r;
}

static double zc__segs(const struct zc_tcp_sock *s) { return (double)s->cwnd / (double)s->mss; }

static void zc__cubic_init(struct zc_tcp_sock *s)
{
	zc__cc_reno_init(s);
	s->cubic = (struct zc__cubic){ 0 };
}

/* The start of congestion avoidance after an event (or at its first ACK). */
static void zc__cubic_epoch(struct zc_tcp_sock *s, uint64_t now)
{
	struct zc__cubic *c = &s->cubic;
	double w = zc__segs(s);
	c->epoch_ns = now ? now : 1;
	c->w_est = w;
	c->frac = 0;
	if (c->w_max <= w) {
		c->k_s = 0;
		c->origin = w;
	} else {
		c->k_s = zc__cbrt((c->w_max - w) / ZC__CUBIC_C);
		c->origin = c->w_max;
	}
}

static void zc__cubic_ack(struct zc_tcp_sock *s, uint32_t acked)
{
	if (s->cwnd < s->ssthresh) {
		zc__cc_reno_slow_start(s, acked);
		return;
	}
	struct zc__cubic *c = &s->cubic;
	uint64_t now = s->st->now;
	if (c->epoch_ns == 0)
		zc__cubic_epoch(s, now);
	double w = zc__segs(s);
	double rtt = s->rtt_valid ? (double)s->srtt / 1e9 : 0;
	double t = (double)(now - c->epoch_ns) / 1e9 + rtt;
	double d = t - c->k_s;
	double target = ZC__CUBIC_C * d * d * d + c->origin;
	if (target < w)
		target = w;
	else if (target > 1.5 * w)
		target = 1.5 * w;
	double a = acked / (double)s->mss; /* segments acked */
	/* Reno-friendly estimate (4.3): alpha a window, one once past W_max */
	c->w_est += (c->w_est >= c->w_max ? 1.0 : ZC__CUBIC_ALPHA) * a / w;
	double grow = (target - w) * a / w; /* segments, (target - cwnd) / cwnd an ACKed segment */
	double cub_t = ZC__CUBIC_C * (d - rtt) * (d - rtt) * (d - rtt) + c->origin; /* W_cubic(t) */
	if (cub_t < c->w_est && c->w_est - w > grow)
		grow = c->w_est - w;
	c->frac += grow * s->mss;
	if (c->frac >= 1) {
		uint32_t add = c->frac > (double)(1u << 30) ? 1u << 30 : (uint32_t)c->frac;
		c->frac -= add;
		s->cwnd = s->cwnd + add > ZC__CUBIC_CWND_MAX ? ZC__CUBIC_CWND_MAX : s->cwnd + add;
	}
}

/* W_max with fast convergence (4.7), ssthresh (4.6); a new epoch follows */
static void zc__cubic_event(struct zc_tcp_sock *s)
{
	struct zc__cubic *c = &s->cubic;
	double w = zc__segs(s);
	c->w_max = w < c->w_max ? w * (1.0 + ZC__CUBIC_BETA) / 2.0 : w;
	double th = (double)s->cwnd * ZC__CUBIC_BETA;
	s->ssthresh = th > 2.0 * s->mss ? (uint32_t)th : 2u * s->mss;
	c->epoch_ns = 0;
}

/* fast recovery as NewReno's (RFC 6582), from CUBIC's ssthresh */
static void zc__cubic_enter(struct zc_tcp_sock *s)
{
	zc__cubic_event(s);
	s->cwnd = s->ssthresh + 3u * s->mss;
}

/* 4.8: ssthresh as for any event, then one segment */
static void zc__cubic_timeout(struct zc_tcp_sock *s)
{
	zc__cubic_event(s);
	s->cwnd = s->mss;
	s->ca_acked = 0;
}

const struct zc__cc_ops zc__cc_cubic = {
	.name = "cubic",
	.init = zc__cubic_init,
	.ack = zc__cubic_ack,
	.enter_recovery = zc__cubic_enter,
	.dupack_in_recovery = zc__cc_reno_dupack,
	.partial_ack = zc__cc_reno_partial,
	.exit_recovery = zc__cc_reno_exit, /* the epoch was ended at the event */
	.timeout = zc__cubic_timeout,
};

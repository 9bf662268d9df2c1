/*
 * cc_newreno.c - NewReno congestion control: slow start and congestion
 * avoidance (RFC 5681), fast retransmit and fast recovery with partial
 * ACKs (RFC 6582). Byte counting: slow start grows by the bytes acked (at
 * most one MSS per ACK), congestion avoidance by one MSS per window.
 * Initial window 10 segments (RFC 6928, as Linux); slow start through
 * HyStart++ (cc_hystart.c). The pieces CUBIC
 * shares (cc_cubic.c) are the zc__cc_reno_* functions.
 */
#include "stack/tcp_priv.h"

static uint32_t zc__flight(const struct zc_tcp_sock *s) { return s->snd_max - s->snd_una; }

void zc__cc_reno_init(struct zc_tcp_sock *s)
{
	s->cwnd = 10u * s->mss;
	s->ssthresh = ZC__TCP_SSTHRESH_INIT;
	s->hystart = (struct zc__hystart){ 0 };
}

void zc__cc_reno_slow_start(struct zc_tcp_sock *s, uint32_t acked)
{
	s->cwnd += zc__hystart_grow(s, acked < s->mss ? acked : s->mss);
}

static void zc__nr_ack(struct zc_tcp_sock *s, uint32_t acked)
{
	if (s->cwnd < s->ssthresh) {
		zc__cc_reno_slow_start(s, acked);
		return;
	}
	s->ca_acked += acked;
	if (s->ca_acked >= s->cwnd) {
		s->ca_acked -= s->cwnd;
		s->cwnd += s->mss;
	}
}

/* RFC 5681 eq. 4 and step 3 of RFC 6582 3.2 */
static void zc__nr_enter(struct zc_tcp_sock *s)
{
	uint32_t half = zc__flight(s) / 2;
	s->ssthresh = half > 2u * s->mss ? half : 2u * s->mss;
	s->cwnd = s->ssthresh + 3u * s->mss;
}

void zc__cc_reno_dupack(struct zc_tcp_sock *s) { s->cwnd += s->mss; }

/* RFC 6582 3.2 step 5: deflate by the amount acked, add back one MSS */
void zc__cc_reno_partial(struct zc_tcp_sock *s, uint32_t acked)
{
	s->cwnd = s->cwnd > acked ? s->cwnd - acked : s->mss;
	if (acked >= s->mss)
		s->cwnd += s->mss;
}

/* RFC 6582 3.2 step 6, option 1: min(ssthresh, FlightSize + MSS) */
void zc__cc_reno_exit(struct zc_tcp_sock *s)
{
	uint32_t f = zc__flight(s) + s->mss;
	s->cwnd = f < s->ssthresh ? f : s->ssthresh;
	s->ca_acked = 0;
}

/* RFC 5681 eq. 4, then one segment (loss window) */
static void zc__nr_timeout(struct zc_tcp_sock *s)
{
	uint32_t half = zc__flight(s) / 2;
	s->ssthresh = half > 2u * s->mss ? half : 2u * s->mss;
	s->cwnd = s->mss;
	s->ca_acked = 0;
}

const struct zc__cc_ops zc__cc_newreno = {
	.name = "newreno",
	.init = zc__cc_reno_init,
	.ack = zc__nr_ack,
	.enter_recovery = zc__nr_enter,
	.dupack_in_recovery = zc__cc_reno_dupack,
	.partial_ack = zc__cc_reno_partial,
	.exit_recovery = zc__cc_reno_exit,
	.timeout = zc__nr_timeout,
};

/*
 * cc_hystart.c - HyStart++ (RFC 9406): slow start that leaves early when
 * the RTT rises, before the loss that would end it. Both NewReno and CUBIC
 * grow through it (zc__cc_reno_slow_start).
 *
 * Rounds are windows of data: one ends when SND.UNA passes the SND.NXT
 * of its start. In a round the first N_RTT_SAMPLE (8) RTT samples give its
 * minimum; when that is above the last round's by RttThresh (an eighth of
 * it, held within 4..16 ms), slow start gives way to Conservative Slow
 * Start: growth by a quarter for CSS_ROUNDS (5) rounds, then congestion
 * avoidance from cwnd (ssthresh = cwnd). A round in CSS whose minimum falls
 * below the RTT that started it says the rise was noise: back to slow
 * start. Only the first slow start runs it (the RFC's choice; after a
 * loss ssthresh bounds slow start anyway). zc_tcp_config.no_hystart turns
 * it off, as Linux's tcp_cubic hystart=0.
 */
#include "stack/stack_priv.h"
#include "stack/tcp_priv.h"

#define ZC__HS_MIN_THRESH_NS 4000000ull
#define ZC__HS_MAX_THRESH_NS 16000000ull
#define ZC__HS_THRESH_DIV 8u
#define ZC__HS_N_SAMPLES 8u
#define ZC__HS_CSS_DIV 4u
#define ZC__HS_CSS_ROUNDS 5u

static bool zc__hs_on(const struct zc_tcp_sock *s)
{
	return !s->st->tcp->cfg.no_hystart && s->ssthresh == ZC__TCP_SSTHRESH_INIT;
}

void zc__hystart_rtt(struct zc_tcp_sock *s, uint64_t rtt)
{
	struct zc__hystart *h = &s->hystart;
	if (!zc__hs_on(s))
		return;
	h->samples++;
	if (h->cur_min == 0 || rtt < h->cur_min)
		h->cur_min = rtt ? rtt : 1;
}

uint32_t zc__hystart_grow(struct zc_tcp_sock *s, uint32_t add)
{
	struct zc__hystart *h = &s->hystart;
	if (!zc__hs_on(s))
		return add;
	struct zc__tcp *t = s->st->tcp;
	if (h->window_end == 0 || seq_ge(s->snd_una, h->window_end)) { /* a new round */
		if (h->css && ++h->css_rounds >= ZC__HS_CSS_ROUNDS) {
			s->ssthresh = s->cwnd; /* congestion avoidance from here */
			h->css = false;
			t->stats.hystart_exits++;
			return 0;
		}
		h->last_min = h->cur_min;
		h->cur_min = 0;
		h->samples = 0;
		h->window_end = s->snd_nxt ? s->snd_nxt : 1;
	}
	if (h->samples >= ZC__HS_N_SAMPLES && h->cur_min && h->last_min) {
		if (!h->css) {
			uint64_t th = h->last_min / ZC__HS_THRESH_DIV;
			th = th < ZC__HS_MIN_THRESH_NS ? ZC__HS_MIN_THRESH_NS : th > ZC__HS_MAX_THRESH_NS ? ZC__HS_MAX_THRESH_NS : th;
			if (h->cur_min >= h->last_min + th) {
				h->css = true;
				h->css_rounds = 0;
				h->css_base = h->cur_min;
				t->stats.hystart_css++;
			}
		} else if (h->cur_min < h->css_base) {
			h->css = false; /* the rise was noise: slow start again */
			t->stats.hystart_css_undone++;
		}
	}
	return h->css ? add / ZC__HS_CSS_DIV : add;
}

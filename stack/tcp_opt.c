/*
 * tcp_opt.c - a connection's options: what the application sets
 * (zc_tcp_setopt/getopt: TCP_NODELAY, TCP_CORK, keepalive, buffers,
 * TCP_MAXSEG, SO_LINGER, TCP_QUICKACK), what we offer in our SYN (MSS from
 * the NIC's MTU, a window scale sized to the receive buffer) and what we
 * take from the peer's (MSS, window scale, timestamps, SACK-permitted).
 */
#include "stack/tcp_priv.h"

#include <string.h>

#include <errno.h>

/* An MSS option below this is not believed, and the timestamps do not
 * shrink the MSS below it (Linux's floor is 88, FreeBSD's tcp_minmss 216). */
#define ZC__TCP_MSS_MIN 64u
/* The largest MSS we advertise: a 16-bit option, less the longest header. */
#define ZC__TCP_MAXSEG_MIN 88    /* TCP_MAXSEG at least: Linux's TCP_MIN_MSS */
#define ZC__TCP_KEEPTIME_MAX 32767 /* TCP_KEEPIDLE/INTVL at most: Linux's MAX_TCP_KEEPIDLE */
#define ZC__TCP_KEEPCNT_MAX 127  /* TCP_KEEPCNT at most: Linux's MAX_TCP_KEEPCNT */

uint8_t zc__tcp_wscale_for(uint32_t buf)
{
	uint8_t ws = 0;
	while (ws < ZC__TCP_WSCALE_MAX && (buf >> ws) > 65535u)
		ws++;
	return ws;
}

uint32_t zc__tcp_adv_mss(const struct zc_stack *st, uint16_t user_mss)
{
	uint32_t mss = st->nif->caps.mtu - ZC_IPV4_HLEN - ZC_TCP_HLEN;
	if (mss > ZC__TCP_MSS_MAX)
		mss = ZC__TCP_MSS_MAX;
	if (user_mss && user_mss < mss)
		mss = user_mss;
	return mss;
}

void zc__tcp_init_conn(struct zc_tcp_sock *s)
{
	uint32_t mss = zc__tcp_adv_mss(s->st, s->user_mss);
	s->adv_mss = (uint16_t)mss;
	s->rcv_mss = mss < ZC__TCP_MSS_DEFAULT ? mss : ZC__TCP_MSS_DEFAULT;
	s->mss = (uint16_t)mss; /* until the peer's MSS option says less */
	s->rcv_wscale = zc__tcp_wscale_for(s->rb_max);
	s->quickack = ZC__TCP_QUICKACKS;
	s->ts_offset = (uint32_t)zc_rng_next(&s->st->rng);
}

/* Options of the peer's SYN (the one that makes a listener's child, or the
 * SYN-ACK in SYN_SENT): MSS, window scale, timestamps, SACK-permitted. */
void zc__tcp_syn_options(struct zc_tcp_sock *s, const struct zc_tcp *th)
{
	if (th->opt.has_mss && th->opt.mss >= ZC__TCP_MSS_MIN && th->opt.mss < s->mss)
		s->mss = th->opt.mss;
	else if (!th->opt.has_mss && s->mss > ZC__TCP_MSS_DEFAULT)
		s->mss = ZC__TCP_MSS_DEFAULT;
	if (th->opt.has_wscale) {
		s->ws_ok = true;
		s->snd_wscale = th->opt.wscale;
	} else {
		s->ws_ok = false;
		s->snd_wscale = 0;
		s->rcv_wscale = 0;
	}
	s->sack_ok = th->opt.sack_ok && !s->st->tcp->cfg.no_sack;
	if (th->opt.has_ts) {
		s->ts_ok = true;
		s->ts_recent = th->opt.tsval;
		s->ts_recent_age = s->st->now;
	} else {
		s->ts_ok = false;
	}
	if (s->ts_ok && s->mss > ZC_TCPOLEN_TS_ALIGNED + ZC__TCP_MSS_MIN)
		s->mss -= ZC_TCPOLEN_TS_ALIGNED; /* the timestamps option rides on every segment */
}

const struct zc__cc_ops *zc__cc_find(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, "cubic") == 0)
		return &zc__cc_cubic;
	if (strcmp(name, "newreno") == 0 || strcmp(name, "reno") == 0)
		return &zc__cc_newreno;
	return NULL;
}

int zc_tcp_set_cc(struct zc_tcp_sock *s, const char *name)
{
	const struct zc__cc_ops *ops = zc__cc_find(name);
	if (ops == NULL)
		return -ENOENT;
	if (ops == s->cc)
		return 0;
	s->cc = ops;
	/* the window and ssthresh stay; the new algorithm's own state starts
	 * afresh (CUBIC's epoch at its next ACK in congestion avoidance) */
	s->cubic = (struct zc__cubic){ 0 };
	s->ca_acked = 0;
	if (s->state == ZC_TCP_CLOSED || s->state == ZC_TCP_LISTEN)
		ops->init(s);
	return 0;
}

const char *zc_tcp_get_cc(const struct zc_tcp_sock *s) { return s->cc->name; }

bool zc_tcp_cc_known(const char *name) { return zc__cc_find(name) != NULL; }

int zc_tcp_setopt(struct zc_tcp_sock *s, enum zc_tcp_opt opt, int v)
{
	switch (opt) {
	case ZC_TCP_OPT_NODELAY:
		s->nodelay = v != 0;
		break;
	case ZC_TCP_OPT_CORK:
		s->cork = v != 0;
		break;
	case ZC_TCP_OPT_KEEPALIVE:
		s->keepalive = v != 0;
		zc__tcp_keep_reset(s);
		return 0;
	case ZC_TCP_OPT_KEEPIDLE:
	case ZC_TCP_OPT_KEEPINTVL:
		if (v < 1 || v > ZC__TCP_KEEPTIME_MAX)
			return -EINVAL;
		*(opt == ZC_TCP_OPT_KEEPIDLE ? &s->keepidle_s : &s->keepintvl_s) = (uint32_t)v;
		zc__tcp_keep_reset(s);
		return 0;
	case ZC_TCP_OPT_KEEPCNT:
		if (v < 1 || v > ZC__TCP_KEEPCNT_MAX)
			return -EINVAL;
		s->keepcnt = (uint32_t)v;
		return 0;
	case ZC_TCP_OPT_SNDBUF:
	case ZC_TCP_OPT_RCVBUF:
		if (v < (int)ZC__TCP_BUF_MIN || v > (int)ZC__TCP_BUF_MAX)
			return -EINVAL;
		if (opt == ZC_TCP_OPT_SNDBUF) {
			s->sb_max = (uint32_t)v;
			s->sb_auto = false; /* set by the application: no autotuning */
		} else {
			s->rb_max = s->rb_win = (uint32_t)v;
			s->rb_auto = false;
		}
		return 0;
	case ZC_TCP_OPT_MAXSEG:
		if (v < ZC__TCP_MAXSEG_MIN || v > 65535 || (s->state != ZC_TCP_CLOSED && s->state != ZC_TCP_LISTEN))
			return -EINVAL;
		s->user_mss = (uint16_t)v;
		return 0;
	case ZC_TCP_OPT_LINGER:
		s->linger_s = v < 0 ? -1 : v;
		return 0;
	case ZC_TCP_OPT_QUICKACK:
		s->quickack = v ? ZC__TCP_QUICKACKS : 0;
		return 0;
	case ZC_TCP_OPT_REUSEADDR:
		s->reuseaddr = v != 0;
		return 0;
	case ZC_TCP_OPT_REUSEPORT:
		s->reuseport = v != 0;
		return 0;
	case ZC_TCP_OPT_MORE:
		s->more = v != 0; /* the send that follows decides */
		return 0;
	case ZC_TCP_OPT_OOBINLINE:
		s->oobinline = v != 0;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
	if (s->state >= ZC_TCP_ESTABLISHED) {
		zc__tcp_output(s); /* uncorking or NODELAY may release data */
		zc__tx_flush(s->st);
	}
	return 0;
}

int zc_tcp_getopt(const struct zc_tcp_sock *s, enum zc_tcp_opt opt, int *v)
{
	switch (opt) {
	case ZC_TCP_OPT_NODELAY: *v = s->nodelay; break;
	case ZC_TCP_OPT_CORK: *v = s->cork; break;
	case ZC_TCP_OPT_KEEPALIVE: *v = s->keepalive; break;
	case ZC_TCP_OPT_KEEPIDLE: *v = (int)s->keepidle_s; break;
	case ZC_TCP_OPT_KEEPINTVL: *v = (int)s->keepintvl_s; break;
	case ZC_TCP_OPT_KEEPCNT: *v = (int)s->keepcnt; break;
	case ZC_TCP_OPT_SNDBUF: *v = (int)s->sb_max; break;
	case ZC_TCP_OPT_RCVBUF: *v = (int)s->rb_max; break;
	case ZC_TCP_OPT_MAXSEG: *v = s->state >= ZC_TCP_ESTABLISHED ? s->mss : (s->user_mss ? s->user_mss : (int)ZC__TCP_MSS_DEFAULT); break;
	case ZC_TCP_OPT_LINGER: *v = s->linger_s; break;
	case ZC_TCP_OPT_QUICKACK: *v = s->quickack > 0; break;
	case ZC_TCP_OPT_REUSEADDR: *v = s->reuseaddr; break;
	case ZC_TCP_OPT_REUSEPORT: *v = s->reuseport; break;
	case ZC_TCP_OPT_MORE: *v = s->more; break;
	case ZC_TCP_OPT_OOBINLINE: *v = s->oobinline; break;
	default: return -ENOPROTOOPT;
	}
	return 0;
}

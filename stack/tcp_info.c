/*
 * tcp_info.c - what TCP tells about itself: state names, a connection's
 * struct zc_tcp_info (Linux's TCP_INFO layout), the stack-wide counters,
 * and how many connections there are.
 */
#include "stack/tcp_priv.h"

#include <string.h>

/* Linux's values for the fields of struct tcp_info we fill */
#define ZC__TCP_CA_RECOVERY 3        /* TCP_CA_Recovery (tcpi_ca_state) */
#define ZC__TCPI_OPT_TIMESTAMPS 1
#define ZC__TCPI_OPT_SACK 2
#define ZC__TCPI_OPT_WSCALE 4

const char *zc_tcp_state_name(enum zc_tcp_state s)
{
	static const char *const n[] = { "CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RECEIVED",
					 "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
					 "CLOSING",    "LAST_ACK",   "TIME_WAIT" };
	return (unsigned)s < sizeof(n) / sizeof(n[0]) ? n[s] : "?";
}

void zc_tcp_get_info(const struct zc_tcp_sock *s, struct zc_tcp_info *i)
{
	memset(i, 0, sizeof(*i));
	/* Linux's TCP_* state numbers differ from RFC order */
	static const uint8_t linux_state[] = { 7, 10, 2, 3, 1, 4, 5, 8, 11, 9, 6 };
	uint64_t now = s->st->now;
	i->tcpi_state = linux_state[s->state];
	i->tcpi_ca_state = s->in_recovery ? ZC__TCP_CA_RECOVERY : 0;
	i->tcpi_retransmits = (uint8_t)s->rexmt_count;
	i->tcpi_backoff = (uint8_t)s->backoff;
	i->tcpi_options = (uint8_t)((s->ts_ok ? ZC__TCPI_OPT_TIMESTAMPS : 0) | (s->ws_ok ? ZC__TCPI_OPT_WSCALE : 0) |
				    (s->sack_ok ? ZC__TCPI_OPT_SACK : 0));
	i->tcpi_sacked = s->mss ? s->sacked_bytes / s->mss : 0;
	i->tcpi_dsack_dups = s->dsacks_in;
	i->tcpi_snd_wscale = s->ws_ok ? s->snd_wscale : 0;
	i->tcpi_rcv_wscale = s->ws_ok ? s->rcv_wscale : 0;
	i->tcpi_rto = (uint32_t)(s->rto / 1000);
	i->tcpi_ato = (uint32_t)(s->st->tcp->cfg.delack_ns / 1000);
	i->tcpi_snd_mss = s->mss;
	i->tcpi_rcv_mss = s->adv_mss;
	i->tcpi_unacked = s->mss ? (s->snd_max - s->snd_una + s->mss - 1) / s->mss : 0;
	i->tcpi_last_data_sent = (uint32_t)((now - s->last_data_tx) / 1000000);
	i->tcpi_last_data_recv = (uint32_t)((now - s->last_data_rx) / 1000000);
	i->tcpi_last_ack_recv = (uint32_t)((now - s->last_ack_rx) / 1000000);
	i->tcpi_pmtu = s->st->nif->caps.mtu;
	i->tcpi_rcv_ssthresh = zc__tcp_rcv_space(s);
	i->tcpi_rtt = (uint32_t)(s->srtt / 1000);
	i->tcpi_rttvar = (uint32_t)(s->rttvar / 1000);
	i->tcpi_snd_ssthresh = s->mss ? s->ssthresh / s->mss : 0;
	i->tcpi_snd_cwnd = s->mss ? s->cwnd / s->mss : 0;
	i->tcpi_advmss = s->adv_mss;
	i->tcpi_reordering = ZC__TCP_DUPTHRESH;
	i->tcpi_rcv_space = s->rb_win;
	i->tcpi_total_retrans = s->total_retrans;
	i->tcpi_bytes_acked = s->bytes_acked;
	i->tcpi_bytes_received = s->bytes_received;
	i->tcpi_segs_out = s->segs_out;
	i->tcpi_segs_in = s->segs_in;
	i->tcpi_notsent_bytes = s->sb_len > (s->snd_nxt - s->snd_una) ? s->sb_len - (s->snd_nxt - s->snd_una) : 0;
	i->tcpi_data_segs_in = s->data_segs_in;
	i->tcpi_data_segs_out = s->data_segs_out;
	i->tcpi_bytes_sent = s->bytes_sent;
	i->tcpi_bytes_retrans = s->bytes_retrans;
	i->tcpi_rcv_ooopack = s->ooo_packets;
	i->tcpi_snd_wnd = s->snd_wnd;
}

void zc_tcp_get_stats(const struct zc_stack *st, struct zc_tcp_stats *out) { *out = st->tcp->stats; }
uint64_t zc_tcp_urg_in(const struct zc_stack *st) { return st->tcp->stats.urg_in; }
const char *zc_tcp_tx_reason_name(enum zc_tcp_tx_reason r)
{
	static const char *const n[] = {
#define ZC__TCP_TX_NAME(id, name) name,
		ZC_TCP_TX_SEND_REASONS(ZC__TCP_TX_NAME) ZC_TCP_TX_HOLD_REASONS(ZC__TCP_TX_NAME)
#undef ZC__TCP_TX_NAME
	};
	return (unsigned)r < ZC_TCP_TX__COUNT ? n[r] : "?";
}

void zc_tcp_get_path_stats(const struct zc_stack *st, struct zc_tcp_path_stats *out) { *out = st->tcp->paths; }
unsigned zc_tcp_count(const struct zc_stack *st) { return st->tcp->count; }

unsigned zc_tcp_unfinished(const struct zc_stack *st)
{
	unsigned n = 0;
	for (const struct zc_tcp_sock *s = st->tcp->all; s; s = s->anext)
		switch (s->state) {
		case ZC_TCP_SYN_SENT:
		case ZC_TCP_SYN_RECEIVED:
		case ZC_TCP_ESTABLISHED:
		case ZC_TCP_CLOSE_WAIT:
		case ZC_TCP_FIN_WAIT_1:
		case ZC_TCP_CLOSING:
		case ZC_TCP_LAST_ACK:
			n++;
			break;
		default:
			break;
		}
	return n;
}

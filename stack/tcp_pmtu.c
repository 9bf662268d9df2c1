/*
 * tcp_pmtu.c - finding the path MTU where ICMP does not arrive
 * (PLPMTUD, RFC 4821, in the form Linux's tcp_mtu_probing = 1 takes).
 *
 * A path that drops large packets without an ICMP "fragmentation needed"
 * (a filtering firewall: a black hole) shows as full segments that are
 * never acknowledged. When the same data has timed out ZC__PMTU_BH_RTOS
 * (3) times in a row, the MSS drops to 1024 bytes (RFC 4821's and Linux's
 * base MSS) and then halves at each further black hole, never below 512
 * (the floor ICMP's path also keeps); the retransmission goes in the
 * smaller segments (pmtu_blackholes). After mtu_probe_interval_ns (600 s,
 * Linux's tcp_probe_interval) at the smaller size, an ACK of new data
 * doubles it again towards the size the connection had, one step a probe
 * (pmtu_probes): if the path still drops it, three timeouts bring it back
 * down. Unlike RFC 4821's separate probe packets, the probe is ordinary
 * data, so a failed probe costs those timeouts; Linux's search between
 * bounds is not built. Off by default, as Linux's (a dead or very lossy
 * path also times out three times in a row); zc_tcp_config.mtu_probing =
 * ZC_TCP_MTU_PROBING_ON turns it on.
 */
#include "stack/tcp_priv.h"

#define ZC__PMTU_BH_RTOS 3u
#define ZC__PMTU_BASE_MSS 1024u
#define ZC__PMTU_FLOOR_MSS 512u
#define ZC__PMTU_INTERVAL_NS (600ull * 1000000000ull)

static uint64_t zc__pmtu_interval(const struct zc_tcp_sock *s)
{
	uint64_t i = s->st->tcp->cfg.mtu_probe_interval_ns;
	return i ? i : ZC__PMTU_INTERVAL_NS;
}

void zc__tcp_pmtu_rto(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	if (t->cfg.mtu_probing != ZC_TCP_MTU_PROBING_ON || s->rexmt_count != ZC__PMTU_BH_RTOS ||
	    s->mss <= ZC__PMTU_FLOOR_MSS)
		return;
	if (s->mss_full == 0)
		s->mss_full = s->mss;
	uint32_t mss = s->mss > ZC__PMTU_BASE_MSS ? ZC__PMTU_BASE_MSS : s->mss / 2;
	s->mss = (uint16_t)(mss < ZC__PMTU_FLOOR_MSS ? ZC__PMTU_FLOOR_MSS : mss);
	s->mss_probe_ns = s->st->now + zc__pmtu_interval(s);
	s->rtt_timing = false;
	t->stats.pmtu_blackholes++;
}

void zc__tcp_pmtu_ack(struct zc_tcp_sock *s)
{
	if (s->mss_full == 0 || s->mss >= s->mss_full || s->st->now < s->mss_probe_ns)
		return;
	uint32_t mss = 2u * s->mss;
	s->mss = (uint16_t)(mss > s->mss_full ? s->mss_full : mss);
	if (s->mss == s->mss_full)
		s->mss_full = 0; /* back where it was */
	s->mss_probe_ns = s->st->now + zc__pmtu_interval(s);
	s->st->tcp->stats.pmtu_probes++;
}

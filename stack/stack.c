/*
 * stack.c - a stack instance: configuration, the poll loop, timers and
 * counters (see stack.h).
 */
#include "stack/tcp_priv.h"
#include "stack/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

/* Defaults of struct zc_stack_config (stack.h), for the fields left 0. */
#define ZC__DEFAULT_TTL 64                       /* Linux's ip_default_ttl; RFC 1700 */
#define ZC__DEFAULT_ARP_REACHABLE_NS 60000000000ull /* 60 s */
#define ZC__DEFAULT_ARP_RETRY_NS 1000000000ull   /* 1 s */
#define ZC__DEFAULT_ARP_RETRIES 3u
#define ZC__DEFAULT_ICMP_RATE 1000u              /* errors per second */
#define ZC__DEFAULT_ICMP_BURST 50u
#define ZC__DEFAULT_FRAG_TIMEOUT_NS 30000000000ull /* Linux's ipfrag_time */
/* zc_stack_wait on a NIC without an interrupt: the longest nap at a time */
#define ZC__IDLE_NAP_NS 50000ull /* 50 us */

int zc_parse_ipv4(const char *s, uint32_t *ip, uint8_t *prefix_len, uint8_t def_prefix)
{
	char buf[32];
	if (s == NULL || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	char *slash = strchr(buf, '/');
	unsigned long pl = def_prefix ? def_prefix : 32;
	if (slash) {
		char *end;
		*slash = '\0';
		errno = 0;
		pl = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || pl < 1 || pl > 32)
			return -EINVAL;
	}
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	if (prefix_len)
		*prefix_len = (uint8_t)pl;
	else if (slash)
		return -EINVAL;
	return 0;
}

char *zc_ipv4_str(uint32_t ip, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
	return buf;
}

struct zc_stack *zc_stack_create(const struct zc_stack_config *c)
{
	char b1[16], b2[16];
	if (c == NULL || c->nif == NULL || c->nif->pool == NULL) {
		ZC_ERR("stack: no NIC");
		errno = EINVAL;
		return NULL;
	}
	if (c->prefix_len < 1 || c->prefix_len > 32 || c->ip == 0 || zc_ipv4_is_multicast(c->ip) ||
	    zc_ipv4_is_reserved(c->ip) || zc_ipv4_is_loopback(c->ip)) {
		ZC_ERR("stack: %s/%u is not a usable host address", zc_ipv4_str(c->ip, b1), c->prefix_len);
		errno = EINVAL;
		return NULL;
	}
	uint32_t mask = c->prefix_len == 32 ? 0xffffffffu : ~(0xffffffffu >> c->prefix_len);
	if (c->prefix_len < 31 && ((c->ip & ~mask) == 0 || (c->ip & ~mask) == ~mask)) {
		ZC_ERR("stack: %s is the network or broadcast address of /%u", zc_ipv4_str(c->ip, b1),
		       c->prefix_len);
		errno = EINVAL;
		return NULL;
	}
	if (c->gateway && ((c->gateway & mask) != (c->ip & mask) || c->gateway == c->ip)) {
		ZC_ERR("stack: gateway %s is not another host of %s/%u", zc_ipv4_str(c->gateway, b1),
		       zc_ipv4_str(c->ip, b2), c->prefix_len);
		errno = EINVAL;
		return NULL;
	}
	struct zc_stack *st = zc__st_zalloc(c->arena, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->arena = c->arena;
	st->nif = c->nif;
	st->pool = c->nif->pool;
	memcpy(st->mac, c->nif->mac, 6);
	st->ip = c->ip;
	st->mask = mask;
	st->gw = c->gateway;
	st->ttl = c->ttl ? c->ttl : ZC__DEFAULT_TTL;
	st->arp_reachable_ns = c->arp_reachable_ns ? c->arp_reachable_ns : ZC__DEFAULT_ARP_REACHABLE_NS;
	st->arp_retry_ns = c->arp_retry_ns ? c->arp_retry_ns : ZC__DEFAULT_ARP_RETRY_NS;
	st->arp_retries = c->arp_retries ? c->arp_retries : ZC__DEFAULT_ARP_RETRIES;
	st->icmp_rate = c->icmp_rate ? c->icmp_rate : ZC__DEFAULT_ICMP_RATE;
	st->icmp_max = (uint64_t)(c->icmp_burst ? c->icmp_burst : ZC__DEFAULT_ICMP_BURST) * ZC__ICMP_TOKEN;
	st->icmp_tokens = st->icmp_max;
	st->frag_timeout_ns = c->frag_timeout_ns ? c->frag_timeout_ns : ZC__DEFAULT_FRAG_TIMEOUT_NS;
	st->announced = c->no_gratuitous_arp;
	st->now = c->now;
	st->icmp_last = c->now;
	zc_rng_seed(&st->rng, c->seed);
	st->ip_id = (uint16_t)zc_rng_next(&st->rng);
	if (zc__tcp_init(st) != 0) {
		zc__st_free(st->arena, st);
		errno = ENOMEM;
		return NULL;
	}
	ZC_INFO("stack: %s/%u on %s", zc_ipv4_str(st->ip, b1), c->prefix_len, c->nif->name);
	return st;
}

void zc_stack_destroy(struct zc_stack *st)
{
	if (st == NULL)
		return;
	zc__tcp_fini(st);
	zc__udp_close_all(st);
	zc_ping_close(st);
	zc__arp_flush_all(st);
	zc__loop_flush(st);
	zc__ip_frag_flush(st);
	while (st->txn) {
		zc_mbuf_free(st->txq[st->txh]);
		st->txh = (st->txh + 1) % ZC__TXQ;
		st->txn--;
	}
	zc__st_free(st->arena, st);
}

int zc_stack_poll(struct zc_stack *st, uint64_t now)
{
	if (now > st->now)
		st->now = now;
	if (!st->announced)
		zc__arp_announce(st);
	struct zc_mbuf *b[ZC__TX_BURST];
	int n = zc_netif_rx(st->nif, b, ZC__TX_BURST, st->now);
	for (int i = 0; i < n; i++)
		zc__ether_input(st, b[i]);
	if (st->loq)
		zc__loop_input(st);
	if (zc__arp_next_timer(st) <= st->now)
		zc__arp_timer(st);
	zc__tcp_timers(st);
	if (st->frag_queues)
		zc__ip_frag_timer(st);
	zc__tx_flush(st);
	zc_netif_flush(st->nif, st->now);
	return n < 0 ? 0 : n;
}

uint64_t zc_stack_next_timer(const struct zc_stack *st)
{
	uint64_t t = zc__arp_next_timer(st);
	uint64_t d = zc_netif_next_due(st->nif);
	uint64_t tt = zc__tcp_next_timer(st);
	if (tt < t)
		t = tt;
	tt = zc__ip_frag_next_timer(st);
	if (tt < t)
		t = tt;
	if (d < t)
		t = d;
	if ((st->txn || st->loq) && st->now < t)
		t = st->now;
	return t;
}

bool zc_stack_tx_pending(const struct zc_stack *st) { return st->txn > 0 || st->loq != NULL; }

int zc_stack_wait(struct zc_stack *st, uint64_t now, uint64_t max_ns)
{
	uint64_t t = zc_stack_next_timer(st);
	uint64_t wait = t <= now ? 0 : t - now;
	if (wait > max_ns)
		wait = max_ns;
	if (wait == 0 || st->txn || st->loq)
		return 0;
	struct zc_netif *n = st->nif;
	int fd = n->ops->irq_fd ? n->ops->irq_fd(n) : -1;
	if (fd < 0) {
		uint64_t w = wait < ZC__IDLE_NAP_NS ? wait : ZC__IDLE_NAP_NS; /* no interrupt: a short nap */
		nanosleep(&(struct timespec){ 0, (long)w }, NULL);
		return 0;
	}
	if (n->ops->irq_arm(n) != 0)
		return 1; /* frames are pending */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ms = (int)((wait + 999999) / 1000000);
	int r = poll(&p, 1, ms);
	n->ops->irq_ack(n);
	return r > 0;
}
void zc_stack_get_stats(const struct zc_stack *st, struct zc_stack_stats *s) { *s = st->stats; }
const struct zc_drops *zc_stack_drops(const struct zc_stack *st) { return &st->drops; }
uint32_t zc_stack_ip(const struct zc_stack *st) { return st->ip; }

bool zc_stack_reaches(const struct zc_stack *st, uint32_t ip)
{
	if (zc_ipv4_is_loopback(ip) || ip == 0 || zc_ipv4_is_multicast(ip) || ip == ZC_IPV4_BROADCAST)
		return false;
	return ip == st->ip || zc__on_link(st, ip) || st->gw != 0;
}

void zc_stack_dump(const struct zc_stack *st, FILE *f)
{
	const struct zc_stack_stats *s = &st->stats;
#define ZC__P(field)                                                 \
	do {                                                         \
		if (s->field)                                        \
			fprintf(f, "%s %llu\n", #field, (unsigned long long)s->field); \
	} while (0)
	ZC__P(eth_in); ZC__P(eth_out);
	ZC__P(arp_requests_in); ZC__P(arp_replies_in); ZC__P(arp_requests_out);
	ZC__P(arp_replies_out); ZC__P(arp_conflicts);
	ZC__P(ip_in); ZC__P(ip_out); ZC__P(ip_loop); ZC__P(ip_frags_in); ZC__P(ip_reassembled);
	ZC__P(icmp_echo_in); ZC__P(icmp_echo_out); ZC__P(icmp_unreach_out); ZC__P(icmp_other_in);
	ZC__P(udp_in); ZC__P(udp_out); ZC__P(tx_busy);
#undef ZC__P
	const struct zc_tcp_stats *ts = &st->tcp->stats;
#define ZC__T(field)                                                 \
	do {                                                         \
		if (ts->field)                                       \
			fprintf(f, "tcp.%s %llu\n", #field, (unsigned long long)ts->field); \
	} while (0)
	ZC__T(active_opens); ZC__T(passive_opens); ZC__T(attempt_fails); ZC__T(estab_resets);
	ZC__T(curr_estab); ZC__T(segs_in); ZC__T(segs_out); ZC__T(retrans_segs); ZC__T(rsts_out);
	ZC__T(challenge_acks); ZC__T(fast_retransmits); ZC__T(timeouts); ZC__T(syn_queue_drops);
	ZC__T(accept_queue_drops); ZC__T(ooo_segs); ZC__T(delayed_acks); ZC__T(zero_window_probes);
	ZC__T(keepalive_probes); ZC__T(paws_drops); ZC__T(bytes_sent); ZC__T(bytes_received); ZC__T(aborts_on_data);
	ZC__T(urg_in); ZC__T(challenge_acks_limited); ZC__T(zero_window_drops);
	ZC__T(sack_recoveries); ZC__T(sack_rescues); ZC__T(dsacks_in); ZC__T(dsacks_out);
	ZC__T(sack_bad_blocks); ZC__T(sack_board_full); ZC__T(bytes_retrans);
	ZC__T(tlp_probes); ZC__T(tlp_recoveries); ZC__T(lost_retransmits);
	ZC__T(rack_marked); ZC__T(rack_timeouts); ZC__T(rack_reordering); ZC__T(rack_merges); ZC__T(rack_fallbacks);
	ZC__T(syncookies_sent); ZC__T(syncookies_recv); ZC__T(syncookies_failed); ZC__T(conns_peak);
	ZC__T(hystart_css); ZC__T(hystart_css_undone); ZC__T(hystart_exits);
	ZC__T(ecn_conns); ZC__T(ecn_ce_in); ZC__T(ecn_reductions); ZC__T(pmtu_blackholes); ZC__T(pmtu_probes);
#undef ZC__T
	struct zc_tcp_path_stats ps;
	zc_tcp_get_path_stats(st, &ps);
	for (int i = 0; i < ZC_TCP_TX__COUNT; i++)
		if (ps.tx[i])
			fprintf(f, "tcp.tx.%s %llu\n", zc_tcp_tx_reason_name((enum zc_tcp_tx_reason)i),
				(unsigned long long)ps.tx[i]);
	for (int i = 0; i < ZC_TCP_NSTATES; i++)
		if (ps.entered[i])
			fprintf(f, "tcp.entered.%s %llu\n", zc_tcp_state_name((enum zc_tcp_state)i),
				(unsigned long long)ps.entered[i]);
	for (int i = 1; i < ZC_DROP__COUNT; i++)
		if (st->drops.n[i])
			fprintf(f, "drop.%s %llu\n", zc_drop_name((enum zc_drop_reason)i),
				(unsigned long long)st->drops.n[i]);
}

/*
 * arp.c - address resolution (RFC 826) with a bounded cache and bounded
 * queues of packets waiting for an answer.
 *
 * Cache: ZC__ARP_ENTRIES entries, least recently used evicted. An entry is
 * incomplete (requests sent every arp_retry_ns, up to arp_retries, then its
 * queued packets are dropped as arp_unresolved) or reachable until
 * arp_reachable_ns after the last answer; a reachable entry used after that
 * keeps being used while a unicast request refreshes it, and is forgotten
 * when no answer comes.
 *
 * Input follows RFC 826's merge rule: a sender already in the cache is
 * updated; a request or reply aimed at our address adds the sender; only
 * requests for our address are answered. Senders outside our prefix, with a
 * multicast MAC or with our own address (a conflict, logged) are dropped.
 * RFC 5227 probes (sender 0.0.0.0) for our address are answered.
 */
#include "stack/stack_priv.h"
#include "stack/log.h"

#include <errno.h>
#include <string.h>

static void zc__arp_send(struct zc_stack *st, uint16_t op, const uint8_t tha[6], uint32_t tpa,
			 const uint8_t *eth_dst)
{
	struct zc_mbuf *m = zc_mbuf_alloc(st->pool);
	if (m == NULL) {
		zc_drop(&st->drops, ZC_DROP_TX_NOBUFS);
		return;
	}
	uint8_t *p = zc_mbuf_append(m, ZC_ETH_MIN_PAYLOAD); /* 28 bytes of ARP, padded */
	memset(p, 0, ZC_ETH_MIN_PAYLOAD);
	struct zc_arp a = { .op = op, .spa = st->ip, .tpa = tpa };
	memcpy(a.sha, st->mac, 6);
	if (tha)
		memcpy(a.tha, tha, 6);
	zc_arp_build(p, &a);
	if (op == ZC_ARP_REQUEST)
		st->stats.arp_requests_out++;
	else
		st->stats.arp_replies_out++;
	zc__ether_output(st, m, eth_dst, ZC_ETHERTYPE_ARP);
}

void zc__arp_announce(struct zc_stack *st)
{
	/* gratuitous ARP: a request for our own address */
	zc__arp_send(st, ZC_ARP_REQUEST, NULL, st->ip, NULL);
	st->announced = true;
}

static struct zc__arp_entry *zc__arp_find(struct zc_stack *st, uint32_t ip)
{
	for (unsigned i = 0; i < ZC__ARP_ENTRIES; i++)
		if (st->arp[i].state != ZC__ARP_FREE && st->arp[i].ip == ip)
			return &st->arp[i];
	return NULL;
}

static void zc__arp_drop_queue(struct zc_stack *st, struct zc__arp_entry *e, enum zc_drop_reason r)
{
	while (e->q_head) {
		struct zc_mbuf *m = e->q_head;
		e->q_head = m->nextpkt;
		m->nextpkt = NULL;
		zc_drop(&st->drops, r);
		zc_mbuf_free(m);
	}
	st->arp_queued -= e->qlen;
	e->q_tail = NULL;
	e->qlen = 0;
}

static void zc__arp_forget(struct zc_stack *st, struct zc__arp_entry *e, enum zc_drop_reason r)
{
	if (e->state == ZC__ARP_INCOMPLETE)
		st->arp_incomplete--;
	zc__arp_drop_queue(st, e, r);
	memset(e, 0, sizeof(*e));
}

/* A free entry for ip, evicting the least recently used one if needed. */
static struct zc__arp_entry *zc__arp_new(struct zc_stack *st, uint32_t ip)
{
	struct zc__arp_entry *victim = NULL;
	for (unsigned i = 0; i < ZC__ARP_ENTRIES; i++) {
		struct zc__arp_entry *e = &st->arp[i];
		if (e->state == ZC__ARP_FREE) {
			victim = e;
			break;
		}
		if (victim == NULL || e->used < victim->used)
			victim = e;
	}
	if (victim->state != ZC__ARP_FREE)
		zc__arp_forget(st, victim, ZC_DROP_ARP_UNRESOLVED);
	victim->ip = ip;
	victim->used = st->now;
	return victim;
}

/* The entry is now resolved: send what waited for it. */
static void zc__arp_resolved(struct zc_stack *st, struct zc__arp_entry *e, const uint8_t mac[6])
{
	memcpy(e->mac, mac, 6);
	if (e->state == ZC__ARP_INCOMPLETE)
		st->arp_incomplete--;
	e->state = ZC__ARP_REACHABLE;
	e->tries = 0;
	e->expires = st->now + st->arp_reachable_ns;
	while (e->q_head) {
		struct zc_mbuf *m = e->q_head;
		e->q_head = m->nextpkt;
		m->nextpkt = NULL;
		e->qlen--;
		st->arp_queued--;
		zc__ether_output(st, m, e->mac, ZC_ETHERTYPE_IPV4);
	}
	e->q_tail = NULL;
}

void zc__arp_input(struct zc_stack *st, struct zc_mbuf *m)
{
	struct zc_arp a;
	m = zc__rx_pullup(st, m, m->pkt_len < ZC_ARP_LEN ? m->pkt_len : ZC_ARP_LEN, false);
	if (m == NULL)
		return;
	if (zc_arp_parse(m->data, m->len, &a, &st->drops) != ZC_DROP_NONE)
		goto out;
	if (a.op == ZC_ARP_REQUEST)
		st->stats.arp_requests_in++;
	else
		st->stats.arp_replies_in++;
	if (zc_eth_is_multicast(a.sha) || memcmp(a.sha, st->mac, 6) == 0) {
		zc_drop(&st->drops, ZC_DROP_ARP_BAD_SENDER);
		goto out;
	}
	if (a.spa == st->ip) {
		char b[16];
		st->stats.arp_conflicts++;
		ZC_WARN("arp: %02x:%02x:%02x:%02x:%02x:%02x also claims %s", a.sha[0], a.sha[1], a.sha[2],
			a.sha[3], a.sha[4], a.sha[5], zc_ipv4_str(a.spa, b));
		zc_drop(&st->drops, ZC_DROP_ARP_BAD_SENDER);
		goto out;
	}
	if (a.spa == 0) { /* RFC 5227 probe: answer for our address, learn nothing */
		if (a.op == ZC_ARP_REQUEST && a.tpa == st->ip)
			zc__arp_send(st, ZC_ARP_REPLY, a.sha, 0, a.sha);
		else
			zc_drop(&st->drops, ZC_DROP_ARP_NOT_US);
		goto out;
	}
	if (!zc__on_link(st, a.spa) || zc__is_bcast(st, a.spa)) {
		zc_drop(&st->drops, ZC_DROP_ARP_OTHER_SUBNET);
		goto out;
	}
	struct zc__arp_entry *e = zc__arp_find(st, a.spa);
	if (e)
		zc__arp_resolved(st, e, a.sha);
	if (a.tpa != st->ip) {
		zc_drop(&st->drops, ZC_DROP_ARP_NOT_US);
		goto out;
	}
	if (e == NULL)
		zc__arp_resolved(st, zc__arp_new(st, a.spa), a.sha);
	if (a.op == ZC_ARP_REQUEST)
		zc__arp_send(st, ZC_ARP_REPLY, a.sha, a.spa, a.sha);
out:
	zc_mbuf_free(m);
}

void zc__arp_output(struct zc_stack *st, struct zc_mbuf *m, uint32_t nh)
{
	if (zc__is_bcast(st, nh)) {
		zc__ether_output(st, m, NULL, ZC_ETHERTYPE_IPV4);
		return;
	}
	struct zc__arp_entry *e = zc__arp_find(st, nh);
	if (e && e->state == ZC__ARP_REACHABLE) {
		e->used = st->now;
		if (st->now >= e->expires) {
			/* stale: keep using it, refresh it with a unicast request */
			if (e->tries >= st->arp_retries) {
				zc__arp_forget(st, e, ZC_DROP_ARP_UNRESOLVED);
				e = NULL;
			} else {
				e->tries++;
				e->expires = st->now + st->arp_retry_ns;
				zc__arp_send(st, ZC_ARP_REQUEST, e->mac, nh, e->mac);
			}
		}
		if (e) {
			zc__ether_output(st, m, e->mac, ZC_ETHERTYPE_IPV4);
			return;
		}
	}
	if (e == NULL) {
		e = zc__arp_new(st, nh);
		e->state = ZC__ARP_INCOMPLETE;
		st->arp_incomplete++;
		e->tries = 1;
		e->expires = st->now + st->arp_retry_ns;
		zc__arp_send(st, ZC_ARP_REQUEST, NULL, nh, NULL);
	}
	if (e->qlen >= ZC_ARP_QUEUE_PER_ENTRY || st->arp_queued >= ZC_ARP_QUEUE_TOTAL) {
		zc_drop(&st->drops, ZC_DROP_ARP_QUEUE_FULL);
		zc_mbuf_free(m);
		return;
	}
	m->nextpkt = NULL;
	if (e->q_tail)
		e->q_tail->nextpkt = m;
	else
		e->q_head = m;
	e->q_tail = m;
	e->qlen++;
	st->arp_queued++;
}

void zc__arp_timer(struct zc_stack *st)
{
	for (unsigned i = 0; i < ZC__ARP_ENTRIES; i++) {
		struct zc__arp_entry *e = &st->arp[i];
		if (e->state != ZC__ARP_INCOMPLETE || e->expires > st->now)
			continue;
		if (e->tries >= st->arp_retries) {
			zc__arp_forget(st, e, ZC_DROP_ARP_UNRESOLVED);
			continue;
		}
		e->tries++;
		e->expires = st->now + st->arp_retry_ns;
		zc__arp_send(st, ZC_ARP_REQUEST, NULL, e->ip, NULL);
	}
}

uint64_t zc__arp_next_timer(const struct zc_stack *st)
{
	uint64_t t = UINT64_MAX;
	if (st->arp_incomplete == 0)
		return t; /* the common case, on every poll: nothing unresolved */
	for (unsigned i = 0; i < ZC__ARP_ENTRIES; i++)
		if (st->arp[i].state == ZC__ARP_INCOMPLETE && st->arp[i].expires < t)
			t = st->arp[i].expires;
	return t;
}

void zc__arp_flush_all(struct zc_stack *st)
{
	for (unsigned i = 0; i < ZC__ARP_ENTRIES; i++)
		if (st->arp[i].state != ZC__ARP_FREE)
			zc__arp_forget(st, &st->arp[i], ZC_DROP_ARP_UNRESOLVED);
}

int zc_stack_arp_lookup(const struct zc_stack *st, uint32_t ip, uint8_t mac[6])
{
	for (unsigned i = 0; i < ZC__ARP_ENTRIES; i++)
		if (st->arp[i].state == ZC__ARP_REACHABLE && st->arp[i].ip == ip) {
			memcpy(mac, st->arp[i].mac, 6);
			return 0;
		}
	return -ENOENT;
}

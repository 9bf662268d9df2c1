/*
 * tcp_table.c - the stack's TCP state and its connection table: the
 * configuration, the 4-tuple hash and the listeners (where tcp_input.c
 * finds a segment's connection), local ports (bind, ephemeral choice) and
 * ISNs (RFC 6528, SipHash-2-4 under a per-stack key).
 */
#include "stack/tcp_priv.h"

#include <errno.h>
#include <stdlib.h>

static const struct zc_tcp_config zc__tcp_defaults = {
	.msl_ns = 30000000000ull,
	.rto_min_ns = 200000000ull,
	.rto_max_ns = 60000000000ull,
	.rto_initial_ns = 1000000000ull,
	.delack_ns = 40000000ull,
	.syn_retries = 6,
	.retries = 12,
	.sndbuf = 4u << 20,
	.rcvbuf = 4u << 20,
	.max_conns = 65536,
	.challenge_ack_limit = 1000,
};

int zc__tcp_init(struct zc_stack *st)
{
	struct zc__tcp *t = zc__st_zalloc(st->arena, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	t->cfg = zc__tcp_defaults;
	t->cc_default = &zc__cc_cubic;
	t->key[0] = zc_rng_next(&st->rng);
	t->key[1] = zc_rng_next(&st->rng);
	st->tcp = t;
	return 0;
}

int zc_tcp_configure(struct zc_stack *st, const struct zc_tcp_config *c)
{
	/* checked whole before any of it applies */
	struct zc_tcp_config n = st->tcp->cfg;
#define ZC__SET(f)        \
	if (c->f)         \
		n.f = c->f;
	ZC__SET(msl_ns) ZC__SET(rto_min_ns) ZC__SET(rto_max_ns) ZC__SET(rto_initial_ns)
	ZC__SET(delack_ns) ZC__SET(syn_retries) ZC__SET(retries) ZC__SET(sndbuf) ZC__SET(rcvbuf)
	ZC__SET(max_conns) ZC__SET(autotune_min) ZC__SET(challenge_ack_limit) ZC__SET(mtu_probe_interval_ns)
#undef ZC__SET
	n.no_sack = c->no_sack;
	n.no_tlp = c->no_tlp;
	n.no_rack = c->no_rack;
	n.syncookies = c->syncookies;
	n.no_hystart = c->no_hystart;
	n.ecn = c->ecn;
	n.mtu_probing = c->mtu_probing;
	n.cc = NULL;
	const struct zc__cc_ops *ops = NULL;
	if (c->cc && (ops = zc__cc_find(c->cc)) == NULL)
		return -ENOENT;
	if (n.rto_min_ns > n.rto_max_ns || n.rto_initial_ns > n.rto_max_ns || n.sndbuf < ZC__TCP_BUF_MIN ||
	    n.rcvbuf < ZC__TCP_BUF_MIN || n.rcvbuf > ZC__TCP_BUF_MAX || n.syncookies > ZC_TCP_SYNCOOKIES_ALWAYS ||
	    n.ecn > ZC_TCP_ECN_ON || n.mtu_probing > ZC_TCP_MTU_PROBING_ON)
		return -EINVAL;
	st->tcp->cfg = n;
	if (ops)
		st->tcp->cc_default = ops;
	return 0;
}

void zc__tcp_fini(struct zc_stack *st)
{
	struct zc__tcp *t = st->tcp;
	if (t == NULL)
		return;
	while (t->all)
		zc__tcp_free(t->all);
	zc__st_free(st->arena, t->heap);
	zc__st_free(st->arena, t);
	st->tcp = NULL;
}

/* --- tables ------------------------------------------------------------------- */

/* Multiplicative hashing of the 4-tuple (Knuth's golden-ratio constant and
 * two of xxHash's 32-bit primes), the high bits folded down. */
static uint32_t zc__bucket(uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	uint32_t h = lip * 2654435761u ^ rip * 2246822519u ^ ((uint32_t)lport << 16 | rport) * 3266489917u;
	return (h ^ (h >> 15)) & (ZC__TCP_HASH - 1);
}

void zc__tcp_unhash(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	if (!s->hashed)
		return;
	struct zc_tcp_sock **pp = s->in_listeners
		? &t->listeners : &t->hash[zc__bucket(s->lip, s->lport, s->rip, s->rport)];
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	s->hashed = false;
	s->in_listeners = false;
}

void zc__tcp_hash(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	uint32_t b = zc__bucket(s->lip, s->lport, s->rip, s->rport);
	s->hnext = t->hash[b];
	t->hash[b] = s;
	s->hashed = true;
}

/* A listening socket joins the listener list (zc__tcp_listener finds it). */
void zc__tcp_hash_listener(struct zc_tcp_sock *s)
{
	struct zc__tcp *t = s->st->tcp;
	s->hnext = t->listeners;
	t->listeners = s;
	s->hashed = true;
	s->in_listeners = true;
}

struct zc_tcp_sock *zc__tcp_lookup(struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
				   uint16_t rport)
{
	for (struct zc_tcp_sock *s = st->tcp->hash[zc__bucket(lip, lport, rip, rport)]; s; s = s->hnext)
		if (s->lport == lport && s->rport == rport && s->rip == rip && s->lip == lip)
			return s;
	return NULL;
}

/* The listener for a SYN to lip:lport from rip:rport: one bound to lip
 * before one on the wildcard, as Linux scores them; among listeners that
 * share the port (SO_REUSEPORT), one chosen by a hash of the remote end,
 * so each gets its share and a retransmitted SYN the same one. */
struct zc_tcp_sock *zc__tcp_listener(struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip,
				     uint16_t rport)
{
	struct zc_tcp_sock *best = NULL;
	unsigned n = 0;
	for (struct zc_tcp_sock *s = st->tcp->listeners; s; s = s->hnext) {
		if (s->lport != lport || !(s->lip == 0 || s->lip == lip))
			continue;
		if (best == NULL || (best->lip == 0 && s->lip != 0)) {
			best = s;
			n = 1;
		} else if (s->lip == best->lip) {
			n++;
		}
	}
	if (best == NULL || n == 1 || !best->reuseport)
		return best;
	uint32_t h = (rip ^ ((uint32_t)rport << 16 | rport)) * 2654435761u;
	unsigned pick = (h >> 16) % n;
	for (struct zc_tcp_sock *s = st->tcp->listeners; s; s = s->hnext)
		if (s->lport == lport && s->lip == best->lip && s->reuseport && pick-- == 0)
			return s;
	return best;
}

/* --- ports ------------------------------------------------------------------ */

/*
 * Is port taken for a bind of me to ip? Linux's bind conflicts
 * (inet_csk_bind_conflict), for sockets on an overlapping address (the
 * same, or either the wildcard): a listener takes the port unless both
 * have SO_REUSEPORT; a socket bound and not yet listening unless both have
 * SO_REUSEADDR (or SO_REUSEPORT); a connection on the port, in any state
 * to TIME_WAIT, accepted ones too, unless both have SO_REUSEADDR (an
 * accepted one has its listener's) or both SO_REUSEPORT: the restart of a
 * server whose old connections linger works when the server sets it.
 * me NULL: an ephemeral port for a connect, where only listeners and bound
 * sockets count (the 4-tuple is checked apart).
 */
static bool zc__port_in_use(struct zc_stack *st, const struct zc_tcp_sock *me, uint32_t ip, uint16_t port)
{
	for (struct zc_tcp_sock *s = st->tcp->all; s; s = s->anext) {
		if (s == me || s->lport != port || !(s->lip == 0 || ip == 0 || s->lip == ip))
			continue;
		bool both_port = me && me->reuseport && s->reuseport;
		bool conn = s->parent != NULL || (s->state != ZC_TCP_LISTEN && s->state != ZC_TCP_CLOSED) ||
			    (s->state == ZC_TCP_CLOSED && s->rport != 0);
		if (conn) {
			if (me && !both_port && !(me->reuseaddr && s->reuseaddr))
				return true;
		} else if (s->state == ZC_TCP_LISTEN) {
			if (!both_port)
				return true;
		} else if (!both_port && !(me && me->reuseaddr && s->reuseaddr)) {
			return true;
		}
	}
	return false;
}

int zc_tcp_bind(struct zc_tcp_sock *s, uint32_t ip, uint16_t port)
{
	struct zc_stack *st = s->st;
	if (s->lport || s->state != ZC_TCP_CLOSED)
		return -EINVAL;
	if (ip != 0 && ip != st->ip)
		return -EADDRNOTAVAIL;
	if (port == 0) {
		uint32_t span = 65536u - ZC__EPHEMERAL_LO, start = (uint32_t)zc_rng_below(&st->rng, span);
		for (uint32_t i = 0; i < span && port == 0; i++) {
			uint16_t p = (uint16_t)(ZC__EPHEMERAL_LO + (start + i) % span);
			if (!zc__port_in_use(st, s, ip, p))
				port = p;
		}
		if (port == 0)
			return -EADDRINUSE;
	} else if (zc__port_in_use(st, s, ip, port)) {
		return -EADDRINUSE;
	}
	s->lip = ip;
	s->lport = port;
	return 0;
}

/* The 4-tuple of a connect to ip:port: the stack's address and the bound
 * port, or an ephemeral one free for this remote end. 0, -EADDRNOTAVAIL
 * (no port left) or -EADDRINUSE (the bound port already talks to it). */
int zc__tcp_bind_tuple(struct zc_tcp_sock *s, uint32_t ip, uint16_t port)
{
	struct zc_stack *st = s->st;
	s->rip = ip;
	s->rport = port;
	if (s->lport == 0) {
		/* an ephemeral port free for this 4-tuple */
		uint32_t span = 65536u - ZC__EPHEMERAL_LO, start = (uint32_t)zc_rng_below(&st->rng, span);
		for (uint32_t i = 0; i < span && s->lport == 0; i++) {
			uint16_t p = (uint16_t)(ZC__EPHEMERAL_LO + (start + i) % span);
			if (!zc__port_in_use(st, NULL, 0, p) && !zc__tcp_lookup(st, st->ip, p, ip, port))
				s->lport = p;
		}
		if (s->lport == 0) {
			s->rip = 0;
			s->rport = 0;
			return -EADDRNOTAVAIL;
		}
	} else if (zc__tcp_lookup(st, st->ip, s->lport, ip, port)) {
		s->rip = 0;
		s->rport = 0;
		return -EADDRINUSE;
	}
	s->lip = st->ip;
	return 0;
}

/* --- ISNs: SipHash-2-4 (Aumasson and Bernstein) ---------------------------- */

#define ZC__ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define ZC__SIPROUND                                                          \
	do {                                                                  \
		v0 += v1; v1 = ZC__ROTL(v1, 13); v1 ^= v0; v0 = ZC__ROTL(v0, 32); \
		v2 += v3; v3 = ZC__ROTL(v3, 16); v3 ^= v2;                    \
		v0 += v3; v3 = ZC__ROTL(v3, 21); v3 ^= v0;                    \
		v2 += v1; v1 = ZC__ROTL(v1, 17); v1 ^= v2; v2 = ZC__ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 of two 64-bit words. */
uint64_t zc__siphash(const uint64_t k[2], uint64_t m0, uint64_t m1)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ k[0], v1 = 0x646f72616e646f6dull ^ k[1];
	uint64_t v2 = 0x6c7967656e657261ull ^ k[0], v3 = 0x7465646279746573ull ^ k[1];
	uint64_t m[3] = { m0, m1, (uint64_t)16 << 56 };
	for (int i = 0; i < 3; i++) {
		v3 ^= m[i];
		ZC__SIPROUND;
		ZC__SIPROUND;
		v0 ^= m[i];
	}
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		ZC__SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

#define ZC__TCP_ISN_TICK_NS 4000u /* RFC 6528's M: a clock of 4 microseconds */

/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4-microsecond clock. */
tcp_seq zc__tcp_isn(struct zc_stack *st, uint32_t lip, uint16_t lport, uint32_t rip, uint16_t rport)
{
	struct zc__tcp *t = st->tcp;
	uint64_t f = zc__siphash(t->key, (uint64_t)lip << 32 | rip, (uint64_t)lport << 16 | rport);
	return (tcp_seq)(st->now / ZC__TCP_ISN_TICK_NS) + (tcp_seq)f;
}

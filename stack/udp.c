/*
 * udp.c - UDP (RFC 768) and the stack's own datagram sockets.
 *
 * Receive: header and checksum checks (a zero checksum means none; the
 * NIC's verified flag is honoured), then the socket for the destination
 * port as Linux picks it (zc__udp_lookup: SO_REUSEADDR, SO_REUSEPORT; a
 * broadcast goes to that one socket too, not to every match); the
 * datagram is queued, payload only, with its source, within the socket's
 * byte limit and ZC__UDP_QLEN datagrams (udp_rcvbuf_full otherwise). A datagram for a port nobody bound gets an
 * ICMP port unreachable (rate-limited, never for broadcasts) and counts as
 * udp_no_port. A connected socket takes datagrams from its peer only; one
 * from elsewhere is treated as Linux treats it (no socket matches: a port
 * unreachable) and counts as udp_not_from_peer.
 * ICMP errors (icmp.c) about a datagram a connected socket sent leave a
 * pending error for its next call, as Linux without IP_RECVERR: only hard
 * ones (port or protocol unreachable, ...).
 * Send: no fragmentation (-EMSGSIZE past the MTU); the payload is copied
 * once into pool frames, page-aligned, so the NIC can trade the frames.
 */
#include "stack/stack_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct zc_mbuf *zc__udp_build_payload(struct zc_stack *st, const void *data, size_t len, uint32_t hdr)
{
	(void)hdr; /* every header chain we build fits the inline headroom */
	struct zc_mbuf *h = zc_mbuf_alloc(st->pool);
	if (h == NULL)
		return NULL;
	if (len <= ZC_MBUF_INLINE - ZC_MBUF_HEADROOM) {
		if (len)
			memcpy(zc_mbuf_append(h, (uint32_t)len), data, len);
		return h;
	}
	uint32_t fs = zc_pool_frame_size(st->pool);
	for (size_t off = 0; off < len;) {
		struct zc_mbuf *f = zc_mbuf_alloc_frame(st->pool);
		if (f == NULL) {
			zc_mbuf_free(h);
			return NULL;
		}
		uint32_t k = len - off < fs ? (uint32_t)(len - off) : fs;
		memcpy(f->data, (const uint8_t *)data + off, k);
		f->len = k;
		f->pkt_len = k;
		zc_mbuf_cat(h, f);
		off += k;
	}
	return h;
}

/*
 * The socket for a datagram from src:sport to dst:dport, scored as Linux's
 * udp4_lib_lookup2 scores them: one connected to the sender above one
 * bound to dst, above one on the wildcard. Among equals the last bound
 * (Linux puts a new IPv4 socket at the head of its chain, so of servers
 * sharing a port by SO_REUSEADDR the newest gets everything); when that
 * one has SO_REUSEPORT, one of its group (the same address, unconnected,
 * the option set) by a hash of the source, so each source ip:port stays
 * with one socket. *stranger: a socket on the port is connected to
 * another peer (udp_not_from_peer when no other takes the datagram).
 */
static struct zc_udp_sock *zc__udp_lookup(struct zc_stack *st, uint32_t src, uint16_t sport, uint32_t dst,
					  uint16_t dport, bool *stranger)
{
	struct zc_udp_sock *best = NULL;
	int best_score = -1;
	for (unsigned i = 0; i < ZC__UDP_SOCKS; i++) {
		struct zc_udp_sock *s = st->udp[i];
		if (!s || !s->bound || s->lport != dport || (s->lip != 0 && s->lip != dst))
			continue;
		if (s->rip && (s->rip != src || s->rport != sport)) {
			*stranger = true;
			continue;
		}
		int score = (s->rip ? 8 : 0) + (s->lip ? 4 : 0);
		if (score > best_score || (score == best_score && (int32_t)(s->bind_seq - best->bind_seq) > 0)) {
			best = s;
			best_score = score;
		}
	}
	if (best == NULL || !best->reuseport || best->rip)
		return best;
	unsigned n = 0;
	for (unsigned i = 0; i < ZC__UDP_SOCKS; i++) {
		const struct zc_udp_sock *s = st->udp[i];
		n += s && s->bound && s->lport == dport && s->lip == best->lip && !s->rip && s->reuseport;
	}
	uint32_t h = (src ^ ((uint32_t)sport << 16 | sport)) * 2654435761u;
	unsigned pick = (h >> 16) % n;
	for (unsigned i = 0; i < ZC__UDP_SOCKS; i++) {
		struct zc_udp_sock *s = st->udp[i];
		if (s && s->bound && s->lport == dport && s->lip == best->lip && !s->rip && s->reuseport &&
		    pick-- == 0)
			return s;
	}
	return best;
}

void zc__udp_input(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip)
{
	struct zc_udp u;
	uint32_t len = m->pkt_len - ip->hdr_len;
	m = zc__l4_pullup(st, m, ip, ZC_UDP_HLEN, false);
	if (m == NULL)
		return;
	if (zc_udp_parse(m->data + ip->hdr_len, len, ip->src, ip->dst, false, &u, &st->drops) !=
	    ZC_DROP_NONE)
		goto drop;
	if (u.csum != 0 && !(m->flags & ZC_MBUF_F_L4_CSUM_OK)) {
		uint32_t s = zc_csum_pseudo_v4(ip->src, ip->dst, ZC_IPPROTO_UDP, u.len);
		if (zc_csum_fold(zc_csum_mbuf(s, m, ip->hdr_len, u.len)) != 0) {
			zc_drop(&st->drops, ZC_DROP_UDP_CSUM);
			goto drop;
		}
	}
	st->stats.udp_in++;
	bool stranger = false;
	struct zc_udp_sock *s = zc__udp_lookup(st, ip->src, u.sport, ip->dst, u.dport, &stranger);
	if (s == NULL) {
		zc_drop(&st->drops, stranger ? ZC_DROP_UDP_NOT_PEER : ZC_DROP_UDP_NO_PORT);
		zc__icmp_error(st, m, ip, ZC_ICMP_UNREACH, ZC_ICMP_UNREACH_PORT);
		goto drop;
	}
	uint32_t dlen = u.len - ZC_UDP_HLEN;
	if (s->qn == ZC__UDP_QLEN || s->queued_bytes + dlen > s->rcvbuf) {
		zc_drop(&st->drops, ZC_DROP_UDP_RCVBUF);
		goto drop;
	}
	zc_mbuf_adj(m, ip->hdr_len + ZC_UDP_HLEN);
	if (m->pkt_len > dlen)
		zc_mbuf_trim(m, m->pkt_len - dlen);
	struct zc__dgram *d = &s->q[(s->qh + s->qn) % ZC__UDP_QLEN];
	d->m = m;
	d->ip = ip->src;
	d->port = u.sport;
	s->qn++;
	s->queued_bytes += dlen;
	return;
drop:
	zc_mbuf_free(m);
}

struct zc_udp_sock *zc_udp_open(struct zc_stack *st)
{
	for (unsigned i = 0; i < ZC__UDP_SOCKS; i++) {
		if (st->udp[i])
			continue;
		struct zc_udp_sock *s = zc__st_zalloc(st->arena, sizeof(*s));
		if (s == NULL)
			return NULL;
		s->st = st;
		s->rcvbuf = ZC__UDP_RCVBUF;
		st->udp[i] = s;
		return s;
	}
	errno = EMFILE;
	return NULL;
}

/*
 * Is port taken for a bind of me to ip? Linux's udp_lib_lport_inuse: a
 * socket on the port whose address overlaps (the same, or either the
 * wildcard) takes it unless both have SO_REUSEADDR or both SO_REUSEPORT.
 * me NULL: an ephemeral port, which any socket on it takes (Linux may hand
 * a sharer a port already shared; a fresh one is what a caller of port 0
 * expects).
 */
static bool zc__udp_port_used(struct zc_stack *st, const struct zc_udp_sock *me, uint32_t ip, uint16_t port)
{
	for (unsigned i = 0; i < ZC__UDP_SOCKS; i++) {
		const struct zc_udp_sock *s = st->udp[i];
		if (!s || s == me || !s->bound || s->lport != port)
			continue;
		if (me == NULL)
			return true;
		if (s->lip != 0 && ip != 0 && s->lip != ip)
			continue;
		if (!(me->reuseaddr && s->reuseaddr) && !(me->reuseport && s->reuseport))
			return true;
	}
	return false;
}

int zc_udp_bind(struct zc_udp_sock *s, uint32_t ip, uint16_t port)
{
	struct zc_stack *st = s->st;
	if (s->bound)
		return -EINVAL;
	if (ip != 0 && ip != st->ip)
		return -EADDRNOTAVAIL;
	if (port == 0) {
		uint32_t span = 65536u - ZC__EPHEMERAL_LO;
		uint32_t start = (uint32_t)zc_rng_below(&st->rng, span);
		for (uint32_t i = 0; i < span && port == 0; i++) {
			uint16_t p = (uint16_t)(ZC__EPHEMERAL_LO + (start + i) % span);
			if (!zc__udp_port_used(st, NULL, ip, p))
				port = p;
		}
		if (port == 0)
			return -EADDRINUSE;
	} else if (zc__udp_port_used(st, s, ip, port)) {
		return -EADDRINUSE;
	}
	s->lip = ip;
	s->lport = port;
	s->bound = true;
	s->bind_seq = ++st->udp_binds;
	return 0;
}

ssize_t zc_udp_sendto(struct zc_udp_sock *s, const void *buf, size_t len, uint32_t ip, uint16_t port)
{
	struct zc_stack *st = s->st;
	if (s->error)
		return -zc_udp_error(s);
	if (ip == 0 || port == 0)
		return -EDESTADDRREQ;
	if (len + ZC_UDP_HLEN + ZC_IPV4_HLEN > st->nif->caps.mtu)
		return -EMSGSIZE;
	if (!s->bound) {
		int r = zc_udp_bind(s, 0, 0);
		if (r)
			return r;
	}
	struct zc_mbuf *m = zc__udp_build_payload(st, buf, len, ZC_UDP_HLEN);
	if (m == NULL) {
		zc_drop(&st->drops, ZC_DROP_TX_NOBUFS);
		return -ENOBUFS;
	}
	uint8_t *p = zc_mbuf_prepend(m, ZC_UDP_HLEN);
	struct zc_udp u = { .sport = s->lport, .dport = port };
	/* header only; the sum covers the chain below */
	zc_udp_build(p, &u, st->ip, ip, m->pkt_len - ZC_UDP_HLEN, false);
	uint32_t sum = zc_csum_pseudo_v4(st->ip, ip, ZC_IPPROTO_UDP, (uint16_t)m->pkt_len);
	if (st->nif->caps.tx_csum && m->next) {
		zc_udp_put_csum(p, (uint16_t)~zc_csum_fold(sum)); /* the NIC finishes it */
		m->flags |= ZC_MBUF_F_TX_L4_CSUM;
	} else {
		uint16_t c = zc_csum_fold(zc_csum_mbuf(sum, m, 0, m->pkt_len));
		zc_udp_put_csum(p, c == 0 ? 0xffff : c); /* 0 would mean none */
	}
	st->stats.udp_out++;
	int r = zc__ip_output(st, m, st->ip, ip, ZC_IPPROTO_UDP);
	zc__tx_flush(st); /* a send leaves now, not at the next poll */
	return r < 0 ? r : (ssize_t)len;
}

ssize_t zc_udp_peekfrom(struct zc_udp_sock *s, void *buf, size_t len, uint32_t *ip, uint16_t *port)
{
	if (s->error)
		return -zc_udp_error(s); /* as Linux's sock_error: taken, peek or not */
	if (s->qn == 0)
		return -EAGAIN;
	const struct zc__dgram *d = &s->q[s->qh];
	uint32_t full = d->m->pkt_len;
	zc_mbuf_copydata(d->m, 0, len < full ? (uint32_t)len : full, buf);
	if (ip)
		*ip = d->ip;
	if (port)
		*port = d->port;
	return full;
}

void zc_udp_connect(struct zc_udp_sock *s, uint32_t ip, uint16_t port)
{
	s->rip = ip;
	s->rport = ip ? port : 0;
}

int zc_udp_error(struct zc_udp_sock *s)
{
	int e = s->error;
	s->error = 0;
	return e;
}

bool zc_udp_has_error(const struct zc_udp_sock *s) { return s->error != 0; }

bool zc__udp_icmp_error(struct zc_stack *st, uint16_t lport, uint32_t rip, uint16_t rport, int err, bool hard)
{
	/* the socket that would take the peer's answer: the one connected to it */
	bool stranger = false;
	struct zc_udp_sock *s = zc__udp_lookup(st, rip, rport, st->ip, lport, &stranger);
	if (s == NULL)
		return stranger;
	/* Linux: an unconnected socket, or a soft error, is not told without
	 * IP_RECVERR; the error is still about a datagram of ours */
	if (hard && s->rip == rip && s->rport == rport)
		s->error = err;
	return true;
}

ssize_t zc_udp_recvfrom(struct zc_udp_sock *s, void *buf, size_t len, uint32_t *ip, uint16_t *port)
{
	if (s->error)
		return -zc_udp_error(s);
	if (s->qn == 0)
		return -EAGAIN;
	struct zc__dgram *d = &s->q[s->qh];
	s->qh = (s->qh + 1) % ZC__UDP_QLEN;
	s->qn--;
	uint32_t full = d->m->pkt_len;
	s->queued_bytes -= full;
	zc_mbuf_copydata(d->m, 0, len < full ? (uint32_t)len : full, buf);
	if (ip)
		*ip = d->ip;
	if (port)
		*port = d->port;
	zc_mbuf_free(d->m);
	return full;
}

unsigned zc_udp_pending(const struct zc_udp_sock *s) { return s->qn; }
uint32_t zc_udp_change(const struct zc_udp_sock *s) { return s->qh + s->qn; }
uint32_t zc_udp_next_len(const struct zc_udp_sock *s) { return s->qn ? s->q[s->qh].m->pkt_len : 0; }
void zc_udp_set_rcvbuf(struct zc_udp_sock *s, uint32_t bytes) { s->rcvbuf = bytes; }
uint16_t zc_udp_local_port(const struct zc_udp_sock *s) { return s->lport; }

int zc_udp_setopt(struct zc_udp_sock *s, enum zc_udp_opt opt, int val)
{
	switch (opt) {
	case ZC_UDP_OPT_REUSEADDR: s->reuseaddr = val != 0; return 0;
	case ZC_UDP_OPT_REUSEPORT: s->reuseport = val != 0; return 0;
	default: return -ENOPROTOOPT;
	}
}

int zc_udp_getopt(const struct zc_udp_sock *s, enum zc_udp_opt opt, int *val)
{
	switch (opt) {
	case ZC_UDP_OPT_REUSEADDR: *val = s->reuseaddr; return 0;
	case ZC_UDP_OPT_REUSEPORT: *val = s->reuseport; return 0;
	default: return -ENOPROTOOPT;
	}
}

void zc_udp_close(struct zc_udp_sock *s)
{
	if (s == NULL)
		return;
	struct zc_stack *st = s->st;
	while (s->qn) {
		zc_mbuf_free(s->q[s->qh].m);
		s->qh = (s->qh + 1) % ZC__UDP_QLEN;
		s->qn--;
	}
	for (unsigned i = 0; i < ZC__UDP_SOCKS; i++)
		if (st->udp[i] == s)
			st->udp[i] = NULL;
	zc__st_free(st->arena, s);
}

void zc__udp_close_all(struct zc_stack *st)
{
	for (unsigned i = 0; i < ZC__UDP_SOCKS; i++)
		if (st->udp[i])
			zc_udp_close(st->udp[i]);
}

/*
 * icmp.c - ICMP (RFC 792, RFC 1122 3.2.2): echo replies, destination
 * unreachable errors under a token bucket, and an echo "socket" for the
 * stack's own pings (tools and benchmarks).
 *
 * An echo request is answered in place: the same mbuf chain with the type
 * changed (incremental checksum, RFC 1624) and a new IP header, so a large
 * ping's payload frames go back without a copy. Echoes to a broadcast
 * address are ignored (no smurf amplifier). Errors are never sent about
 * ICMP errors, broadcasts, or packets from martian sources (RFC 1122
 * 3.2.2), and at most icmp_rate per second after a burst of icmp_burst.
 *
 * Errors we receive (destination unreachable, time exceeded) quote the IP
 * header and at least 8 bytes of what we sent: the quote must be ours (our
 * source address, a UDP socket's port, a TCP connection and a sequence
 * number it has outstanding) or it counts as icmp_bad_quote (RFC 5927).
 * The error then goes where Linux sends it (icmp_err_convert): a hard one
 * to a connected UDP socket, to TCP as tcp_input.c's zc__tcp_icmp_error
 * decides ("fragmentation needed" lowers the connection's MSS).
 */
#include "stack/stack_priv.h"

#include <errno.h>
#include <string.h>

#define ZC__SECOND_NS 1000000000ull

static void zc__ping_deliver(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip,
			     const struct zc_icmp *ic)
{
	struct zc_ping *pg = &st->ping;
	if (!pg->open || ic->id != pg->id || pg->n == ZC__PING_QLEN) {
		zc_drop(&st->drops, pg->open && ic->id == pg->id ? ZC_DROP_ICMP_PING_QUEUE : ZC_DROP_ICMP_TYPE);
		zc_mbuf_free(m);
		return;
	}
	zc_mbuf_adj(m, ip->hdr_len + ZC_ICMP_HLEN);
	struct zc__echo *e = &pg->q[(pg->h + pg->n) % ZC__PING_QLEN];
	e->m = m;
	e->src = ip->src;
	e->seq = ic->seq;
	pg->n++;
}

/* Linux's icmp_err_convert: the errno of each unreachable code, and whether
 * it is "hard" (a connected UDP socket is told; RFC 1122 4.2.3.9). */
static const struct {
	int err;
	bool hard;
} zc__unreach[16] = {
	{ ENETUNREACH, false }, { EHOSTUNREACH, false }, { ENOPROTOOPT, true }, { ECONNREFUSED, true },
	{ EMSGSIZE, false },    { EOPNOTSUPP, false },   { ENETUNREACH, true }, { EHOSTDOWN, true },
	{ ENONET, true },       { ENETUNREACH, true },   { EHOSTUNREACH, true }, { ENETUNREACH, false },
	{ EHOSTUNREACH, false }, { EHOSTUNREACH, true }, { EHOSTUNREACH, true }, { EHOSTUNREACH, true },
};

/* An error message (header in ic) about a packet we sent: the quote starts
 * at off in m. false: the quote is short or not ours (icmp_bad_quote). */
static bool zc__icmp_error_in(struct zc_stack *st, const struct zc_mbuf *m, uint32_t off, const struct zc_icmp *ic)
{
	uint8_t b[ZC_ICMP_QUOTE_MAX];
	struct zc_icmp_quote q;
	uint32_t n = zc_mbuf_copydata(m, off, sizeof(b), b);
	if (!zc_icmp_quote_parse(b, n, &q) || q.src != st->ip)
		return false;
	int err = ic->type == ZC_ICMP_TIME_EXCEEDED ? EHOSTUNREACH : zc__unreach[ic->code].err;
	bool hard = ic->type == ZC_ICMP_UNREACH && zc__unreach[ic->code].hard;
	if (q.proto == ZC_IPPROTO_UDP)
		return zc__udp_icmp_error(st, q.sport, q.dst, q.dport, err, hard);
	if (q.proto == ZC_IPPROTO_TCP)
		return zc__tcp_icmp_error(st, q.sport, q.dst, q.dport, q.seq, err,
					  ic->type == ZC_ICMP_UNREACH && ic->code == ZC_ICMP_UNREACH_NEEDFRAG, ic->seq);
	return false;
}

void zc__icmp_input(struct zc_stack *st, struct zc_mbuf *m, const struct zc_ipv4 *ip)
{
	struct zc_icmp ic;
	uint32_t len = m->pkt_len - ip->hdr_len;
	m = zc__l4_pullup(st, m, ip, ZC_ICMP_HLEN, true); /* an echo reply rewrites it */
	if (m == NULL)
		return;
	if (zc_icmp_parse(m->data + ip->hdr_len, m->len - ip->hdr_len, false, &ic, &st->drops) !=
	    ZC_DROP_NONE)
		goto drop;
	if (zc_csum_fold(zc_csum_mbuf(0, m, ip->hdr_len, len)) != 0) {
		zc_drop(&st->drops, ZC_DROP_ICMP_CSUM);
		goto drop;
	}
	if (ic.type == ZC_ICMP_ECHO_REPLY) {
		st->stats.icmp_other_in++;
		zc__ping_deliver(st, m, ip, &ic);
		return;
	}
	if ((ic.type == ZC_ICMP_UNREACH && ic.code < 16) || ic.type == ZC_ICMP_TIME_EXCEEDED) {
		st->stats.icmp_other_in++;
		if (!zc__icmp_error_in(st, m, ip->hdr_len + ZC_ICMP_HLEN, &ic))
			zc_drop(&st->drops, ZC_DROP_ICMP_BAD_QUOTE);
		goto drop;
	}
	if (ic.type != ZC_ICMP_ECHO_REQUEST || ic.code != 0) {
		st->stats.icmp_other_in++;
		zc_drop(&st->drops, ZC_DROP_ICMP_TYPE);
		goto drop;
	}
	st->stats.icmp_echo_in++;
	if (ip->dst != st->ip) {
		zc_drop(&st->drops, ZC_DROP_ICMP_BCAST);
		goto drop;
	}
	zc_mbuf_adj(m, ip->hdr_len);
	zc_icmp_set_type(m->data, ZC_ICMP_ECHO_REPLY);
	st->stats.icmp_echo_out++;
	zc__ip_output(st, m, st->ip, ip->src, ZC_IPPROTO_ICMP);
	return;
drop:
	zc_mbuf_free(m);
}

static bool zc__icmp_take_token(struct zc_stack *st)
{
	uint64_t el = st->now - st->icmp_last;
	st->icmp_last = st->now;
	/* a second refills the bucket; less adds icmp_rate tokens a second:
	 * el ns * rate * ZC__ICMP_TOKEN milli-tokens / 1e9 ns */
	uint64_t add = el >= ZC__SECOND_NS ? st->icmp_max : el * st->icmp_rate / (ZC__SECOND_NS / ZC__ICMP_TOKEN);
	st->icmp_tokens = st->icmp_tokens + add > st->icmp_max ? st->icmp_max : st->icmp_tokens + add;
	if (st->icmp_tokens < ZC__ICMP_TOKEN)
		return false;
	st->icmp_tokens -= ZC__ICMP_TOKEN;
	return true;
}

void zc__icmp_error(struct zc_stack *st, const struct zc_mbuf *m, const struct zc_ipv4 *ip,
		    uint8_t type, uint8_t code)
{
	if (zc__is_bcast(st, ip->dst) || zc__is_martian_src(st, ip->src) || ip->src == 0)
		return;
	if (ip->proto == ZC_IPPROTO_ICMP) {
		uint8_t t[1];
		uint32_t n = zc_mbuf_copydata(m, ip->hdr_len, sizeof(t), t);
		if (zc_icmp_peek_type(t, n) != ZC_ICMP_ECHO_REQUEST)
			return; /* never an error about an error */
	}
	if (!zc__icmp_take_token(st)) {
		zc_drop(&st->drops, ZC_DROP_ICMP_RATE);
		return;
	}
	struct zc_mbuf *r = zc_mbuf_alloc(st->pool);
	if (r == NULL) {
		zc_drop(&st->drops, ZC_DROP_TX_NOBUFS);
		return;
	}
	uint32_t quote = ip->hdr_len + 8u; /* the header and 64 bits of data */
	if (quote > m->pkt_len)
		quote = m->pkt_len;
	uint8_t *p = zc_mbuf_append(r, ZC_ICMP_HLEN + quote);
	zc_mbuf_copydata(m, 0, quote, p + ZC_ICMP_HLEN);
	struct zc_icmp ic = { .type = type, .code = code };
	zc_icmp_build(p, &ic, quote);
	st->stats.icmp_unreach_out++;
	zc__ip_output(st, r, st->ip, ip->src, ZC_IPPROTO_ICMP);
}

/* --- echo socket ------------------------------------------------------------ */

int zc_ping_open(struct zc_stack *st, uint16_t id)
{
	if (st->ping.open)
		return -EBUSY;
	st->ping.open = true;
	st->ping.id = id;
	return 0;
}

void zc_ping_close(struct zc_stack *st)
{
	struct zc_ping *pg = &st->ping;
	while (pg->n) {
		zc_mbuf_free(pg->q[pg->h].m);
		pg->h = (pg->h + 1) % ZC__PING_QLEN;
		pg->n--;
	}
	pg->open = false;
}

int zc_ping_send(struct zc_stack *st, uint32_t dst, uint16_t seq, const void *data, size_t len)
{
	if (!st->ping.open)
		return -ENOTCONN;
	if (len + ZC_ICMP_HLEN + ZC_IPV4_HLEN > st->nif->caps.mtu)
		return -EMSGSIZE;
	struct zc_mbuf *m = zc__udp_build_payload(st, data, len, ZC_ICMP_HLEN);
	if (m == NULL) {
		zc_drop(&st->drops, ZC_DROP_TX_NOBUFS); /* as zc_udp_sendto counts it */
		return -ENOBUFS;
	}
	uint8_t *p = zc_mbuf_prepend(m, ZC_ICMP_HLEN);
	struct zc_icmp ic = { .type = ZC_ICMP_ECHO_REQUEST, .id = st->ping.id, .seq = seq };
	zc_icmp_build(p, &ic, 0);
	/* the header's own sum was taken alone: add the data's */
	zc_icmp_put_csum(p, 0);
	zc_icmp_put_csum(p, zc_csum_fold(zc_csum_mbuf(0, m, 0, m->pkt_len)));
	int r = zc__ip_output(st, m, st->ip, dst, ZC_IPPROTO_ICMP);
	zc__tx_flush(st);
	return r;
}

ssize_t zc_ping_recv(struct zc_stack *st, uint16_t *seq, uint32_t *src, void *buf, size_t len)
{
	struct zc_ping *pg = &st->ping;
	if (pg->n == 0)
		return -EAGAIN;
	struct zc__echo *e = &pg->q[pg->h];
	pg->h = (pg->h + 1) % ZC__PING_QLEN;
	pg->n--;
	ssize_t full = e->m->pkt_len;
	zc_mbuf_copydata(e->m, 0, (uint32_t)(len < (size_t)full ? len : (size_t)full), buf);
	if (seq)
		*seq = e->seq;
	if (src)
		*src = e->src;
	zc_mbuf_free(e->m);
	return full;
}

/* wire_tcp.c - the TCP header (RFC 9293) and its options: MSS, window scale
 * and timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018). */
#include "stack/wire.h"

#include <string.h>

static enum zc_drop_reason zc__tcp_options(const uint8_t *p, size_t hlen, struct zc_tcp_opts *o,
					   struct zc_drops *d)
{
	memset(o, 0, sizeof(*o));
	size_t i = ZC_TCP_HLEN;
	while (i < hlen) {
		uint8_t kind = p[i];
		if (kind == ZC_TCPOPT_EOL)
			break;
		if (kind == ZC_TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= hlen)
			return zc_drop(d, ZC_DROP_TCP_OPT_OVERRUN);
		uint8_t olen = p[i + 1];
		if (olen < 2)
			return zc_drop(d, ZC_DROP_TCP_OPT_LEN);
		if (i + olen > hlen)
			return zc_drop(d, ZC_DROP_TCP_OPT_OVERRUN);
		const uint8_t *v = p + i + 2;
		switch (kind) {
		case ZC_TCPOPT_MSS:
			if (olen != 4)
				return zc_drop(d, ZC_DROP_TCP_OPT_SIZE);
			o->has_mss = true;
			o->mss = zc_get16(v);
			break;
		case ZC_TCPOPT_WSCALE:
			if (olen != 3)
				return zc_drop(d, ZC_DROP_TCP_OPT_SIZE);
			o->has_wscale = true;
			o->wscale = v[0] > ZC_TCP_MAX_WSCALE ? ZC_TCP_MAX_WSCALE : v[0];
			break;
		case ZC_TCPOPT_SACK_OK:
			if (olen != 2)
				return zc_drop(d, ZC_DROP_TCP_OPT_SIZE);
			o->sack_ok = true;
			break;
		case ZC_TCPOPT_SACK: {
			unsigned n = (olen - 2u) / 8u;
			if ((olen - 2u) % 8u || n == 0 || n > 4)
				return zc_drop(d, ZC_DROP_TCP_OPT_SIZE);
			o->nsack = (uint8_t)n;
			for (unsigned k = 0; k < n; k++) {
				o->sack[k].left = zc_get32(v + 8 * k);
				o->sack[k].right = zc_get32(v + 8 * k + 4);
			}
			break;
		}
		case ZC_TCPOPT_TS:
			if (olen != 10)
				return zc_drop(d, ZC_DROP_TCP_OPT_SIZE);
			o->has_ts = true;
			o->tsval = zc_get32(v);
			o->tsecr = zc_get32(v + 4);
			break;
		default: /* unknown options are skipped by their length */
			break;
		}
		i += olen;
	}
	return ZC_DROP_NONE;
}

#define ZC__TCP_OFF_DOFF 12u /* data offset: the high 4 bits, in 32-bit words */
#define ZC__TCP_OFF_CSUM 16u

size_t zc_tcp_peek_hdr_len(const uint8_t *p, size_t len)
{
	if (len <= ZC__TCP_OFF_DOFF)
		return 0;
	return (size_t)(p[ZC__TCP_OFF_DOFF] >> 4) * 4;
}

void zc_tcp_put_csum(uint8_t *p, uint16_t csum) { zc_put16(p + ZC__TCP_OFF_CSUM, csum); }

enum zc_drop_reason zc_tcp_parse_header(const uint8_t *p, size_t contig, size_t len, struct zc_tcp *t,
					struct zc_drops *d)
{
	if (contig < ZC_TCP_HLEN || len < ZC_TCP_HLEN)
		return zc_drop(d, ZC_DROP_TCP_SHORT);
	size_t hlen = zc_tcp_peek_hdr_len(p, contig);
	if (hlen < ZC_TCP_HLEN)
		return zc_drop(d, ZC_DROP_TCP_DOFF_SMALL);
	if (hlen > len || hlen > contig)
		return zc_drop(d, ZC_DROP_TCP_DOFF_LONG);
	t->sport = zc_get16(p);
	t->dport = zc_get16(p + 2);
	t->seq = zc_get32(p + 4);
	t->ack = zc_get32(p + 8);
	t->hdr_len = (uint8_t)hlen;
	t->flags = p[13];
	t->win = zc_get16(p + 14);
	t->csum = zc_get16(p + 16);
	t->urg = zc_get16(p + 18);
	return zc__tcp_options(p, hlen, &t->opt, d);
}

enum zc_drop_reason zc_tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
				 bool verify_csum, struct zc_tcp *t, struct zc_drops *d)
{
	enum zc_drop_reason r = zc_tcp_parse_header(p, len, len, t, d);
	if (r)
		return r;
	if (verify_csum && len <= 0xffff) {
		uint32_t s = zc_csum_pseudo_v4(src, dst, ZC_IPPROTO_TCP, (uint16_t)len);
		if (zc_csum_fold(zc_csum_add(s, p, len)) != 0)
			return zc_drop(d, ZC_DROP_TCP_CSUM);
	}
	return ZC_DROP_NONE;
}

size_t zc_tcp_build(uint8_t *p, const struct zc_tcp *t)
{
	const struct zc_tcp_opts *o = &t->opt;
	uint8_t opt[40];
	size_t n = 0;
	if (o->has_mss) {
		opt[n++] = ZC_TCPOPT_MSS;
		opt[n++] = 4;
		zc_put16(opt + n, o->mss);
		n += 2;
	}
	if (o->sack_ok) {
		/* NOP, NOP, SACK-permitted keeps later options aligned */
		opt[n++] = ZC_TCPOPT_NOP;
		opt[n++] = ZC_TCPOPT_NOP;
		opt[n++] = ZC_TCPOPT_SACK_OK;
		opt[n++] = 2;
	}
	if (o->has_ts) {
		opt[n++] = ZC_TCPOPT_NOP;
		opt[n++] = ZC_TCPOPT_NOP;
		opt[n++] = ZC_TCPOPT_TS;
		opt[n++] = 10;
		zc_put32(opt + n, o->tsval);
		zc_put32(opt + n + 4, o->tsecr);
		n += 8;
	}
	if (o->has_wscale) {
		opt[n++] = ZC_TCPOPT_NOP;
		opt[n++] = ZC_TCPOPT_WSCALE;
		opt[n++] = 3;
		opt[n++] = o->wscale;
	}
	if (o->nsack) {
		if (o->nsack > 4 || n + 4 + 8u * o->nsack > sizeof(opt))
			return 0;
		opt[n++] = ZC_TCPOPT_NOP;
		opt[n++] = ZC_TCPOPT_NOP;
		opt[n++] = ZC_TCPOPT_SACK;
		opt[n++] = (uint8_t)(2 + 8 * o->nsack);
		for (unsigned k = 0; k < o->nsack; k++) {
			zc_put32(opt + n, o->sack[k].left);
			zc_put32(opt + n + 4, o->sack[k].right);
			n += 8;
		}
	}
	while (n % 4)
		opt[n++] = ZC_TCPOPT_EOL;
	size_t hlen = ZC_TCP_HLEN + n;
	zc_put16(p, t->sport);
	zc_put16(p + 2, t->dport);
	zc_put32(p + 4, t->seq);
	zc_put32(p + 8, t->ack);
	p[12] = (uint8_t)((hlen / 4) << 4);
	p[13] = t->flags;
	zc_put16(p + 14, t->win);
	zc_put16(p + 16, 0);
	zc_put16(p + 18, t->urg);
	memcpy(p + ZC_TCP_HLEN, opt, n);
	return hlen;
}

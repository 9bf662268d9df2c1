/*
 * testframe.h - self-checking test frames for the NIC tests and benches.
 *
 * A frame is Ethernet (type 0x88b5, local experimental) + a 32-byte test
 * header + payload. The header carries a sequence number, the payload length,
 * the send time and a 64-bit hash of every other byte of the frame, so a
 * receiver detects any flipped bit anywhere and knows which frame it got.
 * The payload is a pattern derived from the sequence number.
 *
 * Built as the Trapeze NIC wants it (zc = true): headers in an inline
 * segment, payload in whole pool frames; or linear (zc = false): all bytes
 * in frames from offset 0, which the NIC must split and copy.
 */
#ifndef ZC_TESTFRAME_H
#define ZC_TESTFRAME_H

#include "stack/pool.h"
#include "stack/wire.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define TF_MAGIC 0x7a637466u
#define TF_HDR 32u
#define TF_HLEN (ZC_ETH_HLEN + TF_HDR)
#define TF_HASH_OFF (ZC_ETH_HLEN + 24u)

struct tf_hasher {
	uint64_t h;
	uint8_t buf[8];
	unsigned nb;
};

static inline void tf_hash_word(struct tf_hasher *s, uint64_t w)
{
	s->h = (s->h ^ w) * 0x9e3779b97f4a7c15ULL;
	s->h ^= s->h >> 29;
}

static inline void tf_hash_bytes(struct tf_hasher *s, const uint8_t *p, size_t n)
{
	while (n && s->nb) {
		s->buf[s->nb++] = *p++;
		n--;
		if (s->nb == 8) {
			uint64_t w;
			memcpy(&w, s->buf, 8);
			tf_hash_word(s, w);
			s->nb = 0;
		}
	}
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		tf_hash_word(s, w);
		p += 8;
		n -= 8;
	}
	while (n--)
		s->buf[s->nb++] = *p++;
}

static inline uint64_t tf_hash_end(struct tf_hasher *s)
{
	if (s->nb) {
		memset(s->buf + s->nb, 0, 8 - s->nb);
		uint64_t w;
		memcpy(&w, s->buf, 8);
		tf_hash_word(s, w ^ ((uint64_t)s->nb << 56));
	}
	return s->h ^ (s->h >> 31);
}

/* Hash of a frame's bytes with the hash field itself skipped. */
static inline uint64_t tf_hash_mbuf(const struct zc_mbuf *m)
{
	struct tf_hasher s = { .h = 0x243f6a8885a308d3ULL };
	uint32_t off = 0;
	for (const struct zc_mbuf *g = m; g; g = g->next) {
		const uint8_t *p = g->data;
		uint32_t len = g->len;
		/* skip bytes [TF_HASH_OFF, TF_HASH_OFF + 8) of the frame */
		if (off < TF_HASH_OFF + 8 && off + len > TF_HASH_OFF) {
			uint32_t a = off < TF_HASH_OFF ? TF_HASH_OFF - off : 0;
			uint32_t b = TF_HASH_OFF + 8 - off < len ? TF_HASH_OFF + 8 - off : len;
			tf_hash_bytes(&s, p, a);
			tf_hash_bytes(&s, p + b, len - b);
		} else {
			tf_hash_bytes(&s, p, len);
		}
		off += len;
	}
	return tf_hash_end(&s);
}

static inline void tf_fill(uint8_t *p, uint32_t len, uint64_t seq, uint32_t off)
{
	/* 8-byte words from a counter: cheap, and different for every frame */
	uint64_t x = seq * 0x9e3779b97f4a7c15ULL + off / 8;
	uint32_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = (x + i / 8) * 0xbf58476d1ce4e5b9ULL;
		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)(seq + i);
}

/* Build a test frame of payload_len bytes; NULL when the pool is short. */
static inline struct zc_mbuf *tf_build(struct zc_pool *pool, const uint8_t src[6], const uint8_t dst[6],
				       uint64_t seq, uint32_t payload_len, uint64_t now, bool zc, bool fill)
{
	uint32_t page = zc_pool_frame_size(pool);
	uint8_t hdr[TF_HLEN];
	struct zc_eth e;
	memcpy(e.dst, dst, 6);
	memcpy(e.src, src, 6);
	e.type = ZC_ETHERTYPE_TEST;
	zc_eth_build(hdr, &e);
	uint8_t *t = hdr + ZC_ETH_HLEN;
	memset(t, 0, TF_HDR);
	zc_put32(t, TF_MAGIC);
	memcpy(t + 4, &seq, 8);
	memcpy(t + 12, &payload_len, 4);
	memcpy(t + 16, &now, 8);
	struct zc_mbuf *h;
	uint32_t done = 0;
	if (zc) {
		h = zc_mbuf_alloc(pool);
		if (h == NULL)
			return NULL;
		memcpy(zc_mbuf_append(h, TF_HLEN), hdr, TF_HLEN);
	} else {
		h = zc_mbuf_alloc_frame(pool);
		if (h == NULL)
			return NULL;
		uint32_t k = payload_len < page - TF_HLEN ? payload_len : page - TF_HLEN;
		uint8_t *p = zc_mbuf_append(h, TF_HLEN + k);
		memcpy(p, hdr, TF_HLEN);
		if (fill)
			tf_fill(p + TF_HLEN, k, seq, 0);
		done = k;
	}
	while (done < payload_len) {
		struct zc_mbuf *s = zc_mbuf_alloc_frame(pool);
		if (s == NULL) {
			zc_mbuf_free(h);
			return NULL;
		}
		uint32_t k = payload_len - done < page ? payload_len - done : page;
		uint8_t *p = zc_mbuf_append(s, k);
		s->pkt_len = k;
		if (fill)
			tf_fill(p, k, seq, done);
		zc_mbuf_cat(h, s);
		done += k;
	}
	uint64_t hash = tf_hash_mbuf(h);
	memcpy(h->data + TF_HASH_OFF, &hash, 8);
	return h;
}

struct tf_info {
	uint64_t seq;
	uint32_t payload_len;
	uint64_t sent_at;
};

/* 0 when the frame is intact (info filled), -1 when any byte is wrong. */
static inline int tf_check(const struct zc_mbuf *m, struct tf_info *info)
{
	uint8_t hdr[TF_HLEN];
	if (m->pkt_len < TF_HLEN || zc_mbuf_copydata(m, 0, TF_HLEN, hdr) != TF_HLEN)
		return -1;
	if (zc_get16(hdr + 12) != ZC_ETHERTYPE_TEST || zc_get32(hdr + ZC_ETH_HLEN) != TF_MAGIC)
		return -1;
	uint64_t want;
	memcpy(&info->seq, hdr + ZC_ETH_HLEN + 4, 8);
	memcpy(&info->payload_len, hdr + ZC_ETH_HLEN + 12, 4);
	memcpy(&info->sent_at, hdr + ZC_ETH_HLEN + 16, 8);
	memcpy(&want, hdr + TF_HASH_OFF, 8);
	if (m->pkt_len != TF_HLEN + info->payload_len)
		return -1;
	return tf_hash_mbuf(m) == want ? 0 : -1;
}

#endif

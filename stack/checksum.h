/*
 * checksum.h - the Internet checksum (RFC 1071) and its incremental update
 * (RFC 1624).
 *
 * Values are host integers of the big-endian 16-bit field: store a result
 * with zc_put16(). A "sum" is an unfolded 32-bit accumulator of big-endian
 * words; zc_csum_fold() folds and complements it into the field value.
 */
#ifndef ZC_CHECKSUM_H
#define ZC_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

struct zc_mbuf;

/* Add len bytes at p to sum; an odd trailing byte counts as a high byte. */
uint32_t zc_csum_add(uint32_t sum, const void *p, size_t len);
/* Fold a sum to 16 bits and complement it: the checksum field value. */
uint16_t zc_csum_fold(uint32_t sum);
/* Checksum of one buffer. */
uint16_t zc_csum(const void *p, size_t len);
/* Sum of the IPv4 pseudo header (addresses in host order). */
uint32_t zc_csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len);
/* Sum of len bytes of a packet from offset off (odd segment boundaries handled). */
uint32_t zc_csum_mbuf(uint32_t sum, const struct zc_mbuf *m, uint32_t off, uint32_t len);
/* Copy len bytes from src to dst and return their sum, as zc_csum_add(0,
 * src, len) would: one pass where a copy and a checksum would take two. */
uint32_t zc_csum_copy(void *dst, const void *src, size_t len);
/* The same for len bytes of a packet from offset off (segments of any
 * length and parity). */
uint32_t zc_csum_copy_mbuf(const struct zc_mbuf *m, uint32_t off, uint32_t len, void *dst);
/* Two folded sums added with the end-around carry, folded again. */
static inline uint32_t zc_csum_combine(uint32_t a, uint32_t b)
{
	uint32_t s = a + b;
	s = (s & 0xffff) + (s >> 16);
	return (s & 0xffff) + (s >> 16);
}
/* The sum with its bytes swapped: for a piece that starts at an odd offset
 * of the region being summed (RFC 1071 2(B)). */
static inline uint32_t zc_csum_swap(uint32_t s) { return ((s & 0xff) << 8) | ((s >> 8) & 0xff); }

/* RFC 1624 eqn. 3: new checksum after a 16-bit field changes from old to new. */
uint16_t zc_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val);
/* The same for a 32-bit field (e.g. an address). */
uint16_t zc_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val);

static inline uint16_t zc_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t zc_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void zc_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void zc_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

#endif

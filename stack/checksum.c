/*
 * checksum.c - see checksum.h. The bulk loop sums native 32-bit loads in a
 * 64-bit accumulator; the ones' complement sum is independent of byte order
 * (RFC 1071, section 2(B)), so the folded result is swapped once at the end.
 */
#include "stack/checksum.h"
#include "stack/pool.h"

#include <stdbool.h>
#include <string.h>

static uint16_t zc__fold64(uint64_t s);

/* A sum of native-order words, folded and turned into the big-endian-word
 * sum the rest of the file keeps (RFC 1071 2(B): the bytes swap once). */
static uint32_t zc__to_be(uint64_t acc)
{
	uint16_t native = zc__fold64(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint16_t)((native >> 8) | (native << 8));
#else
	return native;
#endif
}

static uint16_t zc__fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

#if defined(__x86_64__)
#include <immintrin.h>

static bool zc__have_avx2(void)
{
	return __builtin_cpu_supports("avx2"); /* libgcc reads CPUID once at start */
}

/* n a multiple of 64: 32-bit words widened into 64-bit lanes, 64 bytes a
 * round (no carry can be lost: 2^32 rounds would be needed); with d, each
 * round is also stored there (a copy and its checksum in one pass). */
__attribute__((target("avx2"), always_inline)) static inline uint64_t zc__sum_avx2_body(uint8_t *d,
											 const uint8_t *p,
											 size_t n)
{
	__m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
	__m256i a2 = _mm256_setzero_si256(), a3 = _mm256_setzero_si256();
	for (size_t i = 0; i < n; i += 64) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(p + i));
		__m256i y = _mm256_loadu_si256((const __m256i *)(p + i + 32));
		if (d) {
			_mm256_storeu_si256((__m256i *)(d + i), x);
			_mm256_storeu_si256((__m256i *)(d + i + 32), y);
		}
		a0 = _mm256_add_epi64(a0, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(x)));
		a1 = _mm256_add_epi64(a1, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(x, 1)));
		a2 = _mm256_add_epi64(a2, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(y)));
		a3 = _mm256_add_epi64(a3, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(y, 1)));
	}
	uint64_t l[16], acc = 0;
	_mm256_storeu_si256((__m256i *)l, a0);
	_mm256_storeu_si256((__m256i *)(l + 4), a1);
	_mm256_storeu_si256((__m256i *)(l + 8), a2);
	_mm256_storeu_si256((__m256i *)(l + 12), a3);
	for (int i = 0; i < 16; i++) {
		uint64_t x = acc + l[i];
		acc = x + (x < acc);
	}
	return acc;
}

/* Two instances, so the loop that only sums has no store test in it. */
__attribute__((target("avx2"))) static uint64_t zc__sum_avx2(uint8_t *d, const uint8_t *p, size_t n)
{
	return d ? zc__sum_avx2_body(d, p, n) : zc__sum_avx2_body(NULL, p, n);
}
#endif

uint32_t zc_csum_copy(void *dst, const void *src, size_t len)
{
#if defined(__x86_64__)
	if (len >= 64 && zc__have_avx2()) {
		size_t n = len & ~(size_t)63;
		uint64_t acc = zc__sum_avx2(dst, src, n);
		uint32_t be = zc__to_be(acc);
		memcpy((uint8_t *)dst + n, (const uint8_t *)src + n, len - n);
		/* n is even: the tail keeps its parity */
		return zc_csum_add(be, (const uint8_t *)src + n, len - n);
	}
#endif
	memcpy(dst, src, len);
	return zc_csum_add(0, src, len);
}

/* Sum len bytes of packet m from offset off onto sum, copying them to dst
 * as well when dst is not NULL. A segment that starts at an odd position
 * of the summed bytes has its sum's bytes swapped (RFC 1071 2(B)). */
static uint32_t zc__csum_walk(uint32_t sum, const struct zc_mbuf *m, uint32_t off, uint32_t len, uint8_t *dst)
{
	uint64_t acc = sum;
	uint32_t pos = 0;
	for (const struct zc_mbuf *s = m; s && len; s = s->next) {
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint32_t k = s->len - off < len ? s->len - off : len;
		uint32_t part = dst ? zc_csum_copy(dst + pos, s->data + off, k) : zc_csum_add(0, s->data + off, k);
		acc += (pos & 1) ? zc_csum_swap(part) : part;
		pos += k;
		len -= k;
		off = 0;
	}
	return zc__fold64(acc);
}

uint32_t zc_csum_copy_mbuf(const struct zc_mbuf *m, uint32_t off, uint32_t len, void *dst)
{
	return zc__csum_walk(0, m, off, len, dst);
}

uint32_t zc_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t acc = 0;
#if defined(__x86_64__)
	if (len >= 64 && zc__have_avx2()) {
		size_t n = len & ~(size_t)63;
		acc = zc__sum_avx2(NULL, p, n);
		p += n;
		len -= n;
	}
#endif
	/* the portable path: 32 bytes a round into independent accumulators */
	if (len >= 32) {
		uint64_t a[4] = { 0 };
		while (len >= 32) {
			uint64_t w[4];
			memcpy(w, p, 32);
			for (int i = 0; i < 4; i++)
				a[i] += (w[i] & 0xffffffffu) + (w[i] >> 32);
			p += 32;
			len -= 32;
		}
		for (int i = 0; i < 4; i++) {
			uint64_t x = acc + a[i];
			acc = x + (x < acc); /* end-around carry */
		}
	}
	while (len >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	uint32_t be = zc__to_be(acc);
	if (len >= 2) {
		be += zc_get16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		be += (uint32_t)p[0] << 8;
	uint64_t s = (uint64_t)sum + be;
	return zc__fold64(s);
}

uint16_t zc_csum_fold(uint32_t sum)
{
	return (uint16_t)~zc__fold64(sum);
}

uint16_t zc_csum(const void *p, size_t len)
{
	return zc_csum_fold(zc_csum_add(0, p, len));
}

uint32_t zc_csum_pseudo_v4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t l4_len)
{
	uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + l4_len;
	return zc__fold64(s);
}

uint32_t zc_csum_mbuf(uint32_t sum, const struct zc_mbuf *m, uint32_t off, uint32_t len)
{
	return zc__csum_walk(sum, m, off, len, NULL);
}

uint16_t zc_csum_update16(uint16_t csum, uint16_t old_val, uint16_t new_val)
{
	/* HC' = ~(~HC + ~m + m') */
	uint32_t s = (uint16_t)~csum + (uint16_t)~old_val + (uint32_t)new_val;
	return (uint16_t)~zc__fold64(s);
}

uint16_t zc_csum_update32(uint16_t csum, uint32_t old_val, uint32_t new_val)
{
	csum = zc_csum_update16(csum, (uint16_t)(old_val >> 16), (uint16_t)(new_val >> 16));
	return zc_csum_update16(csum, (uint16_t)old_val, (uint16_t)new_val);
}

/* test_checksum.c - the Internet checksum against RFC 1071's worked example,
 * odd lengths and mbuf chains with odd boundaries, and RFC 1624 incremental
 * updates checked against recomputation. */
#include "sha256.h"
#include "stack/checksum.h"
#include "stack/pool.h"
#include "stack/rng.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* RFC 1071, 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (one's complement
 * sum), so the checksum is ~ddf2 = 220d. */
static void test_rfc1071_example(void **state)
{
	(void)state;
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	assert_int_equal(zc_csum_add(0, b, sizeof(b)), 0xddf2);
	assert_int_equal(zc_csum(b, sizeof(b)), 0x220d);
	/* appending the checksum makes the total verify to zero */
	uint8_t c[10];
	memcpy(c, b, 8);
	zc_put16(c + 8, 0x220d);
	assert_int_equal(zc_csum(c, 10), 0);
}

/* A plain big-endian reference, byte by byte. */
static uint16_t ref_csum(const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += (i % 2) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void test_matches_reference_all_lengths(void **state)
{
	(void)state;
	uint8_t buf[300];
	struct zc_rng r;
	zc_rng_seed(&r, 7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)zc_rng_next(&r);
	for (size_t off = 0; off < 4; off++)
		for (size_t n = 0; n + off <= sizeof(buf); n++)
			assert_int_equal(zc_csum(buf + off, n), ref_csum(buf + off, n));
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(zc_csum(buf, 256), ref_csum(buf, 256));
}

static void test_mbuf_chain_with_odd_segments(void **state)
{
	(void)state;
	struct zc_pool_config c = { .nframes = 8, .fd = -1 };
	struct zc_pool *p = zc_pool_create(&c);
	uint8_t all[3 + 4096 + 4001];
	struct zc_rng r;
	zc_rng_seed(&r, 11);
	for (size_t i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)zc_rng_next(&r);
	struct zc_mbuf *h = zc_mbuf_alloc(p);
	memcpy(zc_mbuf_append(h, 3), all, 3);
	struct zc_mbuf *a = zc_mbuf_alloc_frame(p), *b = zc_mbuf_alloc_frame(p);
	memcpy(zc_mbuf_append(a, 4096), all + 3, 4096);
	a->pkt_len = 4096;
	memcpy(zc_mbuf_append(b, 4001), all + 3 + 4096, 4001);
	b->pkt_len = 4001;
	zc_mbuf_cat(h, a);
	zc_mbuf_cat(h, b);
	assert_int_equal(zc_csum_fold(zc_csum_mbuf(0, h, 0, h->pkt_len)), ref_csum(all, sizeof(all)));
	assert_int_equal(zc_csum_fold(zc_csum_mbuf(0, h, 1, 5000)), ref_csum(all + 1, 5000));
	zc_mbuf_free(h);
	assert_int_equal(zc_pool_destroy(p), 0);
}

static void test_incremental_update(void **state)
{
	(void)state;
	struct zc_rng r;
	zc_rng_seed(&r, 3);
	uint8_t hdr[20];
	for (int iter = 0; iter < 2000; iter++) {
		for (int i = 0; i < 20; i++)
			hdr[i] = (uint8_t)zc_rng_next(&r);
		zc_put16(hdr + 10, 0);
		zc_put16(hdr + 10, zc_csum(hdr, 20));
		/* change the TTL/proto word, then an address */
		uint16_t old16 = zc_get16(hdr + 8), new16 = (uint16_t)zc_rng_next(&r);
		if (iter == 0)
			new16 = (uint16_t)~old16; /* the all-ones corner */
		zc_put16(hdr + 8, new16);
		uint16_t upd = zc_csum_update16(zc_get16(hdr + 10), old16, new16);
		uint32_t old32 = zc_get32(hdr + 12), new32 = (uint32_t)zc_rng_next(&r);
		zc_put32(hdr + 12, new32);
		upd = zc_csum_update32(upd, old32, new32);
		zc_put16(hdr + 10, upd);
		assert_int_equal(zc_csum(hdr, 20), 0); /* the updated header verifies */
	}
}

static void test_pseudo_header(void **state)
{
	(void)state;
	/* pseudo header of 10.0.0.1 -> 10.0.0.2, UDP, length 20, summed by hand:
	 * 0a00 + 0001 + 0a00 + 0002 + 0011 + 0014 = 0x1428 */
	assert_int_equal(zc_csum_pseudo_v4(0x0a000001, 0x0a000002, 17, 20), 0x1428);
}

/* The tests' SHA-256 (sha256.h) against FIPS 180-4 examples, on both the
 * SHA-extension path and the portable one, in pieces of every size. */
static void test_sha256_vectors(void **state)
{
	(void)state;
	struct sha256 c;
	char hex[65];
	sha256_init(&c);
	sha256_update(&c, "abc", 3);
	sha256_hex(&c, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	for (size_t step = 1; step <= 56; step++) {
		sha256_init(&c);
		for (size_t i = 0; i < 56; i += step)
			sha256_update(&c, m + i, 56 - i < step ? 56 - i : step);
		sha256_hex(&c, hex);
		assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	}
	static uint8_t a[1000000];
	memset(a, 'a', sizeof(a));
	sha256_init(&c);
	sha256_update(&c, a, sizeof(a));
	sha256_hex(&c, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* the portable compression gives the same state as the fast one */
	struct sha256 p1, p2;
	sha256_init(&p1);
	sha256_init(&p2);
	for (int i = 0; i < 100; i++)
		sha256_block(&p1, a + 64 * i);
	sha256_blocks(&p2, a, 100);
	assert_memory_equal(p1.h, p2.h, sizeof(p1.h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_matches_reference_all_lengths),
		cmocka_unit_test(test_mbuf_chain_with_odd_segments),
		cmocka_unit_test(test_incremental_update),
		cmocka_unit_test(test_pseudo_header),
	};
	return cmocka_run_group_tests_name("checksum", tests, NULL, NULL);
}

/* test_pool.c - the page-frame pool and mbufs: accounting, chains, edits that
 * succeed or change nothing, external buffers, clones, failure injection,
 * and a leak check after every test. */
#include "stack/log.h"
#include "stack/pool.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

static int setup(void **state)
{
	struct zc_pool_config c = { .name = "test", .nframes = 64, .nmbufs = 128, .fd = -1 };
	struct zc_pool *p = zc_pool_create(&c);
	if (p == NULL)
		return -1;
	*state = p;
	return 0;
}

/* Every test ends here: nothing may be left allocated. */
static int teardown(void **state)
{
	struct zc_pool *p = *state;
	struct zc_pool_stats st;
	zc_pool_get_stats(p, &st);
	assert_int_equal(zc_pool_outstanding(p), 0);
	assert_int_equal(st.frames_free + st.frames_lent, st.frames_owned);
	assert_int_equal(zc_pool_destroy(p), 0);
	return 0;
}

static void test_accounting(void **state)
{
	struct zc_pool *p = *state;
	struct zc_pool_stats st;
	zc_pool_get_stats(p, &st);
	assert_int_equal(st.frames_total, 64);
	assert_int_equal(st.frames_free, 64);
	assert_int_equal(st.frame_size, (uint32_t)sysconf(_SC_PAGESIZE));
	struct zc_mbuf *m[64];
	for (int i = 0; i < 64; i++) {
		m[i] = zc_mbuf_alloc_frame(p);
		assert_non_null(m[i]);
		assert_int_equal((uintptr_t)m[i]->data % 4096, 0);
	}
	assert_null(zc_mbuf_alloc_frame(p)); /* exhausted */
	zc_pool_get_stats(p, &st);
	assert_int_equal(st.frames_free, 0);
	assert_int_equal(st.frames_in_flight, 64);
	assert_int_equal(st.alloc_failures, 1);
	/* the frame is writable through the pool's mapping and the file */
	memset(m[5]->data, 0xab, 100);
	uint8_t b = 0;
	assert_int_equal(pread(zc_pool_fd(p), &b, 1, (off_t)zc_pool_frame_offset(p, m[5]->frame)), 1);
	assert_int_equal(b, 0xab);
	assert_ptr_equal(zc_pool_frame_addr(p, m[5]->frame), m[5]->data);
	for (int i = 0; i < 64; i++)
		zc_mbuf_free(m[i]);
}

static void test_prepend_append_all_or_nothing(void **state)
{
	struct zc_pool *p = *state;
	struct zc_mbuf *m = zc_mbuf_alloc(p);
	assert_non_null(m);
	assert_int_equal(m->data - m->buf, ZC_MBUF_HEADROOM);
	uint8_t *d = zc_mbuf_append(m, 10);
	assert_non_null(d);
	memcpy(d, "0123456789", 10);
	uint8_t *h = zc_mbuf_prepend(m, 14);
	assert_ptr_equal(h, m->data);
	assert_int_equal(m->pkt_len, 24);
	/* too much: nothing changes */
	uint8_t *before = m->data;
	assert_null(zc_mbuf_prepend(m, ZC_MBUF_HEADROOM));
	assert_ptr_equal(m->data, before);
	assert_int_equal(m->pkt_len, 24);
	assert_null(zc_mbuf_append(m, ZC_MBUF_INLINE));
	assert_int_equal(m->pkt_len, 24);
	assert_int_equal(zc_mbuf_adj(m, 25), -EINVAL);
	assert_int_equal(zc_mbuf_trim(m, 25), -EINVAL);
	assert_int_equal(m->pkt_len, 24);
	assert_int_equal(zc_mbuf_adj(m, 14), 0);
	assert_memory_equal(m->data, "0123456789", 10);
	assert_int_equal(zc_mbuf_trim(m, 5), 0);
	assert_int_equal(m->pkt_len, 5);
	assert_int_equal(zc_mbuf_check(m), 0);
	zc_mbuf_free(m);
}

static struct zc_mbuf *chain3(struct zc_pool *p)
{
	struct zc_mbuf *h = zc_mbuf_alloc(p);
	memcpy(zc_mbuf_append(h, 3), "hdr", 3);
	for (int i = 0; i < 2; i++) {
		struct zc_mbuf *s = zc_mbuf_alloc_frame(p);
		memset(zc_mbuf_append(s, 4096), 'a' + i, 4096);
		s->pkt_len = 4096;
		zc_mbuf_cat(h, s);
	}
	return h;
}

static void test_chain_adj_trim_copydata(void **state)
{
	struct zc_pool *p = *state;
	struct zc_mbuf *h = chain3(p);
	assert_int_equal(h->pkt_len, 3 + 8192);
	assert_int_equal(h->nb_segs, 3);
	assert_int_equal(zc_mbuf_check(h), 0);
	uint8_t buf[8];
	assert_int_equal(zc_mbuf_copydata(h, 4097, 6, buf), 6);
	assert_memory_equal(buf, "aabbbb", 6);
	assert_int_equal(zc_mbuf_copydata(h, 8193, 8, buf), 2); /* short at the end */
	assert_int_equal(zc_mbuf_adj(h, 4100), 0); /* across two segments */
	assert_int_equal(h->len, 0);
	assert_int_equal(h->next->len, 0);
	assert_int_equal(h->next->next->len, 4095);
	assert_int_equal(zc_mbuf_trim(h, 4000), 0);
	assert_int_equal(h->pkt_len, 95);
	assert_int_equal(zc_mbuf_check(h), 0);
	zc_mbuf_free(h);
}

static void test_clone_shares_frames(void **state)
{
	struct zc_pool *p = *state;
	struct zc_mbuf *h = chain3(p);
	uint32_t f = h->next->frame;
	struct zc_mbuf *c = zc_mbuf_clone(h);
	assert_non_null(c);
	assert_int_equal(zc_pool_frame_refcnt(p, f), 2);
	assert_ptr_equal(c->next->data, h->next->data);
	assert_ptr_not_equal(c->data, h->data); /* inline data is copied */
	assert_memory_equal(c->data, "hdr", 3);
	zc_mbuf_free(h);
	assert_int_equal(zc_pool_frame_refcnt(p, f), 1);
	struct zc_pool_stats st;
	zc_pool_get_stats(p, &st);
	assert_int_equal(st.frames_in_flight, 2);
	zc_mbuf_free(c);
	assert_int_equal(zc_pool_frame_refcnt(p, f), 0);
}

static int ext_freed;
static void ext_free(void *addr, void *arg)
{
	(void)addr;
	ext_freed += *(int *)arg;
}

static void test_external_buffer(void **state)
{
	struct zc_pool *p = *state;
	static uint8_t mem[1000];
	int weight = 7;
	struct zc_ext_shinfo sh = { .free_cb = ext_free, .arg = &weight };
	ext_freed = 0;
	struct zc_mbuf *m = zc_mbuf_attach_ext(p, mem, sizeof(mem), &sh);
	assert_non_null(m);
	assert_non_null(zc_mbuf_append(m, 1000));
	struct zc_mbuf *c = zc_mbuf_clone(m);
	assert_int_equal(sh.refcnt, 2);
	zc_mbuf_free(m);
	assert_int_equal(ext_freed, 0);
	zc_mbuf_free(c);
	assert_int_equal(ext_freed, 7); /* exactly once, at the last reference */
}

static void test_failure_injection(void **state)
{
	struct zc_pool *p = *state;
	/* every allocation path survives a failure at each position */
	for (uint32_t n = 1; n <= 6; n++) {
		zc_pool_fail_nth(p, n);
		struct zc_mbuf *h = zc_mbuf_alloc(p);
		struct zc_mbuf *s = zc_mbuf_alloc_frame(p); /* 2 allocations: frame, header */
		struct zc_mbuf *c = h ? zc_mbuf_clone(h) : NULL;
		int64_t f = zc_pool_frame_alloc(p);
		int failures = (h == NULL) + (s == NULL) + (h && c == NULL) + (f < 0);
		assert_int_equal(failures, n <= 5 ? 1 : 0);
		zc_mbuf_free(h);
		zc_mbuf_free(s);
		zc_mbuf_free(c);
		if (f >= 0)
			zc_pool_frame_put(p, (uint32_t)f);
		zc_pool_fail_nth(p, 0);
	}
	struct zc_pool_stats st;
	zc_pool_get_stats(p, &st);
	assert_int_equal(st.injected_failures, 5);
	/* a clone that fails half-way frees what it built */
	struct zc_mbuf *h = chain3(p);
	zc_pool_fail_nth(p, 2);
	assert_null(zc_mbuf_clone(h));
	assert_int_equal(zc_pool_frame_refcnt(p, h->next->frame), 1);
	zc_mbuf_free(h);
}

static void test_trade_and_lend_states(void **state)
{
	struct zc_pool *p = *state;
	int64_t f = zc_pool_frame_alloc(p);
	assert_true(f >= 0);
	int64_t g = zc_pool_frame_alloc(p);
	zc_pool_frame_put(p, (uint32_t)g);
	struct zc_mbuf *m = zc_mbuf_attach_frame(p, (uint32_t)f);
	struct zc_mbuf *c = zc_mbuf_clone(m);
	assert_int_equal(zc_pool_give_frame(p, (uint32_t)f), -EBUSY); /* shared */
	zc_mbuf_free(c);
	assert_int_equal(zc_mbuf_detach_frame(m), f);
	zc_mbuf_free(m);
	assert_int_equal(zc_pool_give_frame(p, (uint32_t)f), 0);
	assert_false(zc_pool_owns(p, (uint32_t)f));
	assert_int_equal(zc_pool_adopt_frame(p, (uint32_t)g), -EINVAL); /* already ours */
	assert_int_equal(zc_pool_adopt_frame(p, (uint32_t)f), 0);
	assert_int_equal(zc_pool_lend_frame(p, (uint32_t)f), 0);
	struct zc_pool_stats st;
	zc_pool_get_stats(p, &st);
	assert_int_equal(st.frames_lent, 1);
	assert_int_equal(st.frames_in_flight, 0);
	assert_int_equal(zc_pool_unlend_frame(p, (uint32_t)f), 0);
	zc_pool_frame_put(p, (uint32_t)f);
	/* a lent frame can be lost for good (e.g. still mapped after fork) */
	f = zc_pool_frame_alloc(p);
	assert_int_equal(zc_pool_lend_frame(p, (uint32_t)f), 0);
	assert_int_equal(zc_pool_lose_frame(p, (uint32_t)f), 0);
	zc_pool_get_stats(p, &st);
	assert_int_equal(st.frames_lost, 1);
	assert_int_equal(st.frames_owned, 63);
	assert_false(zc_pool_owns(p, (uint32_t)f));
}

/* pullup gathers exactly n header bytes and leaves the rest where it was:
 * a page-aligned payload stays page-aligned in its frame. */
/* take_back: a frame lent to a holder that is gone comes back free; one
 * whose holder lives, or lent to nobody in particular (0), stays lent */
static bool gone_is_7(uint32_t holder, void *arg)
{
	(*(int *)arg)++;
	return holder == 7;
}

static void test_take_back_gone_holder(void **state)
{
	struct zc_pool *p = *state;
	int64_t a = zc_pool_frame_alloc(p), b = zc_pool_frame_alloc(p), c = zc_pool_frame_alloc(p);
	int64_t d = zc_pool_frame_alloc(p);
	assert_true(a >= 0 && b >= 0 && c >= 0 && d >= 0);
	assert_int_equal(zc_pool_lend_frame_to(p, (uint32_t)a, 7), 0);
	assert_int_equal(zc_pool_lend_frame_to(p, (uint32_t)b, 7), 0);
	assert_int_equal(zc_pool_lend_frame_to(p, (uint32_t)c, 8), 0);
	assert_int_equal(zc_pool_lend_frame(p, (uint32_t)d), 0);
	assert_int_equal(zc_pool_frame_holder(p, (uint32_t)a), 7);
	assert_int_equal(zc_pool_frame_holder(p, (uint32_t)c), 8);
	assert_int_equal(zc_pool_frame_holder(p, (uint32_t)d), 0);
	struct zc_pool_stats st;
	zc_pool_get_stats(p, &st);
	uint32_t free0 = st.frames_free;
	int asked = 0;
	assert_int_equal(zc_pool_take_back(p, gone_is_7, &asked), 2);
	assert_int_equal(asked, 3); /* holders 7, 7, 8; never the unnamed frame */
	zc_pool_get_stats(p, &st);
	assert_int_equal(st.frames_free, free0 + 2);
	assert_int_equal(st.frames_lent, 2);
	assert_int_equal(st.frames_taken_back, 2);
	assert_int_equal(st.frames_owned, st.frames_free + st.frames_in_flight + st.frames_lent);
	assert_int_equal(zc_pool_frame_holder(p, (uint32_t)a), 0); /* not lent any more */
	assert_int_equal(zc_pool_take_back(p, gone_is_7, &asked), 0);
	/* an unlent frame forgets its holder */
	assert_int_equal(zc_pool_unlend_frame(p, (uint32_t)c), 0);
	assert_int_equal(zc_pool_frame_holder(p, (uint32_t)c), 0);
	zc_pool_frame_put(p, (uint32_t)c);
	assert_int_equal(zc_pool_unlend_frame(p, (uint32_t)d), 0);
	zc_pool_frame_put(p, (uint32_t)d);
	assert_int_equal(zc_pool_outstanding(p), 0);
}

static void test_pullup(void **state)
{
	struct zc_pool *p = *state;
	/* head: 10 inline bytes; then a frame holding 100 + 3900 bytes */
	struct zc_mbuf *h = zc_mbuf_alloc(p);
	for (int i = 0; i < 10; i++)
		zc_mbuf_append(h, 1)[0] = (uint8_t)i;
	struct zc_mbuf *f = zc_mbuf_alloc_frame(p);
	for (uint32_t i = 0; i < 4000; i++)
		f->data[i] = (uint8_t)(10 + i);
	f->len = f->pkt_len = 4000;
	zc_mbuf_cat(h, f);
	uint8_t *frame_start = f->data;
	h = zc_mbuf_pullup(h, 110);
	assert_non_null(h);
	assert_int_equal(h->len, 110);
	assert_int_equal(h->pkt_len, 4010);
	for (int i = 0; i < 110; i++)
		assert_int_equal(h->data[i], (uint8_t)i);
	assert_ptr_equal(h->next->data, frame_start + 100); /* 3900 bytes left in place */
	assert_int_equal(zc_mbuf_check(h), 0);
	/* already contiguous: nothing moves */
	assert_ptr_equal(zc_mbuf_pullup(h, 50), h);
	zc_mbuf_free(h);

	/* a frame head gets a new inline head in front */
	f = zc_mbuf_alloc_frame(p);
	memset(f->data, 7, 3000);
	f->len = f->pkt_len = 20; /* shorter than asked: needs the next segment */
	struct zc_mbuf *g = zc_mbuf_alloc_frame(p);
	memset(g->data, 9, 40);
	g->len = g->pkt_len = 40;
	zc_mbuf_cat(f, g);
	h = zc_mbuf_pullup(f, 50);
	assert_non_null(h);
	assert_int_equal(h->kind, ZC_MBUF_INLINE_BUF);
	assert_int_equal(h->len, 50);
	assert_int_equal(h->pkt_len, 60);
	assert_int_equal(h->data[19], 7);
	assert_int_equal(h->data[20], 9);
	assert_int_equal(zc_mbuf_check(h), 0);
	zc_mbuf_free(h);

	/* too short a packet, or more than the inline room: freed, NULL */
	h = zc_mbuf_alloc(p);
	zc_mbuf_append(h, 10);
	assert_null(zc_mbuf_pullup(h, 11));
	h = zc_mbuf_alloc_frame(p);
	h->len = h->pkt_len = 1000;
	struct zc_mbuf *h2 = zc_mbuf_alloc(p);
	zc_mbuf_append(h2, 1);
	zc_mbuf_cat(h2, h);
	assert_null(zc_mbuf_pullup(h2, 200));
}

static void test_double_free_is_caught(void **state)
{
	struct zc_pool *p = *state;
	struct zc_mbuf *m = zc_mbuf_alloc_frame(p);
	uint32_t f = m->frame;
	zc_log_set_level(ZC_LOG_QUIET); /* the expected error line is noise here */
	zc_mbuf_free(m);
	zc_mbuf_free(m); /* logged and ignored: the frame is not put twice */
	zc_log_set_level(ZC_LOG_WARN);
	assert_int_equal(zc_pool_frame_refcnt(p, f), 0);
	struct zc_pool_stats st;
	zc_pool_get_stats(p, &st);
	assert_int_equal(st.frames_free, 64);
}

static void test_leak_is_reported(void **state)
{
	(void)state;
	struct zc_pool_config c = { .nframes = 8, .fd = -1 };
	struct zc_pool *p = zc_pool_create(&c);
	struct zc_mbuf *m = zc_mbuf_alloc_frame(p);
	assert_non_null(m);
	zc_log_set_level(ZC_LOG_QUIET);
	assert_int_equal(zc_pool_destroy(p), 2); /* one frame and one mbuf */
	zc_log_set_level(ZC_LOG_WARN);
}

static void test_bad_config(void **state)
{
	(void)state;
	zc_log_set_level(ZC_LOG_QUIET);
	struct zc_pool_config c = { .nframes = 0, .fd = -1 };
	assert_null(zc_pool_create(&c));
	assert_int_equal(errno, EINVAL);
	c = (struct zc_pool_config){ .nframes = 8, .fd = -1, .own_first = 6, .own_count = 4 };
	assert_null(zc_pool_create(&c));
	c = (struct zc_pool_config){ .nframes = 8, .fd = 0, .offset = 100 };
	assert_null(zc_pool_create(&c));
	zc_log_set_level(ZC_LOG_WARN);
}

static void test_huge_frames_or_fallback(void **state)
{
	(void)state;
	struct zc_pool_config c = { .name = "huge", .nframes = 2, .huge = true, .fd = -1 };
	struct zc_pool *p = zc_pool_create(&c);
	assert_non_null(p);
	struct zc_pool_stats st;
	zc_pool_get_stats(p, &st);
	if (st.frame_size == ZC_HUGE_FRAME) { /* shmem THP or hugetlb */
		assert_int_equal(st.frame_size, 2u << 20);
		assert_int_equal(st.frames_total, 2);
		struct zc_mbuf *m = zc_mbuf_alloc_frame(p);
		assert_int_equal((uintptr_t)m->data % (2u << 20), 0);
		zc_mbuf_free(m);
	} else {
		/* same bytes in 4 KiB frames, after one log line */
		assert_int_equal(st.frame_size, 4096);
		assert_int_equal(st.frames_total, 2 * 512);
	}
	assert_int_equal(zc_pool_destroy(p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accounting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prepend_append_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_adj_trim_copydata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clone_shares_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_injection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trade_and_lend_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_back_gone_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pullup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_free_is_caught, setup, teardown),
		cmocka_unit_test(test_leak_is_reported),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_huge_frames_or_fallback),
	};
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}

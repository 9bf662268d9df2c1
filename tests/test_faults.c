/* test_faults.c - the fault middleware: the same seed replays the same
 * faults bit for bit, another seed does not, counters match what arrives,
 * a corrupted clone never changes the sender's kept copy, and bad
 * configuration strings are refused with a message. */
#include "nic/faults.h"
#include "nic/open.h"
#include "nic/trapeze.h"
#include "stack/log.h"
#include "testframe.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>

struct run {
	uint64_t trace;       /* hash of (seq, ok) of every arrival, in order */
	uint64_t arrivals, bad;
	struct zc_fault_stats f;
};

/* Receive what is ready on n at now and fold each arrival into the trace. */
static void take(struct zc_netif *n, uint64_t now, struct run *r)
{
	struct zc_mbuf *in[32];
	int k = zc_netif_rx(n, in, 32, now);
	for (int i = 0; i < k; i++) {
		struct tf_info info = { 0 };
		int ok = tf_check(in[i], &info) == 0;
		r->trace = (r->trace ^ (ok ? info.seq : 0xbad)) * 1099511628211ULL;
		r->arrivals++;
		r->bad += !ok;
		zc_mbuf_free(in[i]);
	}
}

static struct run one_run(uint64_t seed, enum zc_fault_dir dir)
{
	char name[32];
	snprintf(name, sizeof(name), "uf%d", (int)getpid());
	struct zc_trapeze_config c = { .name = name, .port = 0, .nframes = 2048 };
	struct zc_netif *a = zc_trapeze_open(&c);
	c.port = 1;
	struct zc_netif *b = zc_trapeze_open(&c);
	assert_non_null(a);
	assert_non_null(b);
	struct zc_fault_config fc = { .loss = 0.05, .dup = 0.05, .reorder = 0.05, .corrupt = 0.05,
				      .delay_ns = 1000, .seed = seed, .dir = dir };
	struct zc_netif *fa = dir == ZC_FAULT_TX ? zc_faults_wrap(a, &fc) : a;
	struct zc_netif *fb = dir == ZC_FAULT_RX ? zc_faults_wrap(b, &fc) : b;
	struct run r = { .trace = 1469598103934665603ULL };
	uint64_t now = 0;
	for (uint64_t seq = 0; seq < 600; seq++, now += 100) {
		struct zc_mbuf *m = tf_build(fa->pool, fa->mac, fb->mac, seq, (uint32_t)(seq * 97 % 9000), now,
					     true, true);
		assert_non_null(m);
		assert_int_equal(zc_netif_tx(fa, &m, 1, now), 1);
		take(fb, now, &r);
		take(fb, now, &r);
	}
	/* let everything held back go, then drain */
	for (int i = 0; i < 20; i++, now += 1000000) {
		zc_netif_flush(fa, now);
		for (int j = 0; j < 40; j++)
			take(fb, now, &r);
	}
	zc_faults_get_stats(dir == ZC_FAULT_TX ? fa : fb, dir, &r.f);
	zc_trapeze_reap(a); /* take back the duplicates the peer pulled */
	assert_int_equal(zc_pool_outstanding(fa->pool), zc_trapeze_posted(a));
	zc_netif_close(fa);
	zc_netif_close(fb);
	return r;
}

static void check_counts(const struct run *r)
{
	assert_int_equal(r->f.seen, 600);
	assert_true(r->f.dropped > 0 && r->f.duplicated > 0 && r->f.reordered > 0 && r->f.corrupted > 0);
	assert_int_equal(r->arrivals, 600 - r->f.dropped + r->f.duplicated);
	assert_int_equal(r->bad, r->f.corrupted);
}

static void test_same_seed_same_run(void **state)
{
	(void)state;
	for (int dir = ZC_FAULT_TX; dir <= ZC_FAULT_RX; dir++) {
		struct run a = one_run(42, (enum zc_fault_dir)dir);
		struct run b = one_run(42, (enum zc_fault_dir)dir);
		struct run c = one_run(43, (enum zc_fault_dir)dir);
		check_counts(&a);
		check_counts(&c);
		assert_int_equal(a.trace, b.trace);
		assert_memory_equal(&a.f, &b.f, sizeof(a.f));
		assert_int_not_equal(a.trace, c.trace);
	}
}

static void test_corrupting_a_clone_spares_the_original(void **state)
{
	(void)state;
	char name[32];
	snprintf(name, sizeof(name), "uc%d", (int)getpid());
	struct zc_trapeze_config c = { .name = name, .port = 0, .nframes = 256 };
	struct zc_netif *a = zc_trapeze_open(&c);
	c.port = 1;
	struct zc_netif *b = zc_trapeze_open(&c);
	struct zc_fault_config fc = { .corrupt = 1.0, .seed = 5 };
	struct zc_netif *fa = zc_faults_wrap(a, &fc);
	for (int i = 0; i < 20; i++) {
		struct zc_mbuf *m = tf_build(fa->pool, fa->mac, b->mac, (uint64_t)i, 5000, 0, true, true);
		struct zc_mbuf *keep = zc_mbuf_clone(m);
		assert_int_equal(zc_netif_tx(fa, &m, 1, 0), 1);
		struct tf_info info;
		assert_int_equal(tf_check(keep, &info), 0); /* the retained copy is intact */
		zc_mbuf_free(keep);
		struct zc_mbuf *in;
		assert_int_equal(zc_netif_rx(b, &in, 1, 0), 1);
		assert_int_equal(tf_check(in, &info), -1); /* the wire copy is not */
		zc_mbuf_free(in);
	}
	zc_netif_close(fa);
	zc_netif_close(b);
}

static void test_parse(void **state)
{
	(void)state;
	struct zc_fault_config c;
	assert_int_equal(zc_faults_parse("loss=0.1,dup=0.2,reorder=0.3,corrupt=0.4,delay=50ms,seed=9,dir=both", &c), 0);
	assert_true(c.loss == 0.1 && c.dup == 0.2 && c.reorder == 0.3 && c.corrupt == 0.4);
	assert_int_equal(c.delay_ns, 50000000);
	assert_int_equal(c.seed, 9);
	assert_int_equal(c.dir, ZC_FAULT_BOTH);
	zc_log_set_level(ZC_LOG_QUIET);
	assert_int_equal(zc_faults_parse("loss=2", &c), -EINVAL);
	assert_int_equal(zc_faults_parse("loss", &c), -EINVAL);
	assert_int_equal(zc_faults_parse("jitter=1", &c), -EINVAL);
	assert_int_equal(zc_faults_parse("delay=5 parsecs", &c), -EINVAL);
	assert_int_equal(zc_faults_parse("dir=up", &c), -EINVAL);
	assert_int_equal(zc_faults_parse("seed=x", &c), -EINVAL);
	/* not a number, nor a duration or rate: fuzz_config's finding (the
	 * cast of NaN to an integer; corpus/config/found-*-nan) */
	uint64_t u = 7;
	assert_int_equal(zc_faults_parse("delay=nan", &c), -EINVAL);
	assert_int_equal(zc_faults_parse("hold=-nan", &c), -EINVAL);
	assert_int_equal(zc_parse_duration("nan", &u), -EINVAL);
	assert_int_equal(zc_parse_duration("inf", &u), -EINVAL);
	assert_int_equal(zc_parse_rate("nanG", &u), -EINVAL);
	assert_int_equal(zc_parse_rate("infM", &u), -EINVAL);
	assert_int_equal(zc_parse_rate(".41", &u), -EINVAL); /* 0: no limit at all */
	assert_int_equal(u, 7);
	zc_log_set_level(ZC_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_run),
		cmocka_unit_test(test_corrupting_a_clone_spares_the_original),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}

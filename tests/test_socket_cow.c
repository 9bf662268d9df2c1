/* test_socket_cow.c - sends by copy-on-write under each policy: an
 * unchanged buffer goes with no host copy, rewrites by the application or
 * by the kernel before the ACK are caught (deferred copies), dropped pages
 * are released first, and small reads or a small send buffer copy rather
 * than wait. Every byte the receiver gets is checked. */
#include "socket_fixture.h"
#include "nic/trapeze.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- copy-on-write sends ---------------------------------------------------------- */

#define COW_CH (1u * MiB)
#define COW_N 48
enum cow_mode { COW_UNCHANGED, COW_REWRITE, COW_KERNEL_WRITE, COW_DONTNEED, COW_SMALL_READS, COW_SMALL_SNDBUF };

struct cow_rx {
	struct zenv *e;
	uint64_t base[COW_N]; /* what send k carried: the stream pattern from base[k] */
	int bad;              /* first wrong chunk + 1 */
	size_t piece;         /* reads of this size (the receive window follows them) */
};

static void *cow_reader(void *arg)
{
	struct cow_rx *x = arg;
	uint8_t *buf = malloc(COW_CH);
	for (int k = 0; k < COW_N; k++) {
		ssize_t r = 0;
		for (size_t off = 0; off < COW_CH && r >= 0; off += (size_t)r)
			r = zc_recv(x->e->b.cx[0], x->e->a, buf + off, x->piece, MSG_WAITALL);
		if (r < 0 || pat_check(buf, x->base[k], COW_CH) != -1) {
			x->bad = k + 1;
			break;
		}
	}
	free(buf);
	return NULL;
}

static void cow_run(int policy, enum cow_mode mode)
{
	struct zenv *e = calloc(1, sizeof(*e));
	e->b.ip[0] = SRV_IP;
	e->b.ip[1] = CLI_IP;
	snprintf(e->b.wire, sizeof(e->b.wire), "cw%d", (int)getpid());
	zc_trapeze_unlink(e->b.wire);
	char n0[64], n1[64];
	snprintf(n0, sizeof(n0), "trapeze:%s,port=0", e->b.wire);
	snprintf(n1, sizeof(n1), "trapeze:%s,port=1", e->b.wire);
	e->b.cx[0] = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = n0, .addr = "10.9.0.1/24", .seed = 5, .zcopy = ZC_ZCOPY_NEVER });
	e->b.cx[1] = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = n1, .addr = "10.9.0.2/24", .seed = 6, .zcopy = policy });
	assert_non_null(e->b.cx[0]);
	assert_non_null(e->b.cx[1]);
	pair(&e->b, &e->c, &e->a, &e->l);
	struct cow_rx *x = calloc(1, sizeof(*x));
	x->e = e;
	/* small reads keep the window small (the sender's buffer follows the
	 * writes); a small SO_SNDBUF keeps the send buffer below what auto
	 * sends by reference: it must copy then, not wait for room it cannot
	 * have (redis-cli hung so) */
	x->piece = mode == COW_SMALL_READS ? 64u << 10 : COW_CH;
	if (mode == COW_SMALL_SNDBUF) {
		int sb = 256 << 10;
		assert_int_equal(zc_setsockopt(e->b.cx[1], e->c, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)), 0);
	}
	for (int k = 0; k < COW_N; k++)
		x->base[k] = mode == COW_UNCHANGED || mode >= COW_SMALL_READS ? 0 : (uint64_t)k * COW_CH;
	pthread_t th;
	pthread_create(&th, NULL, cow_reader, x);
	uint8_t *B = abuf(COW_CH);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	uint8_t *page = malloc(4096);
	pat_fill(B, x->base[0], COW_CH);
	for (int k = 0; k < COW_N; k++) {
		assert_int_equal(zc_send(e->b.cx[1], e->c, B, COW_CH, MSG_NOSIGNAL), (ssize_t)COW_CH);
		if (k + 1 == COW_N || mode == COW_UNCHANGED || mode >= COW_SMALL_READS)
			continue;
		uint64_t nb = x->base[k + 1];
		switch (mode) {
		case COW_REWRITE: /* the application rewrites at once: before the ACK */
			pat_fill(B, nb, COW_CH);
			break;
		case COW_KERNEL_WRITE: /* the kernel writes the first page: read(2) from a pipe */
			pat_fill(page, nb, 4096);
			assert_int_equal(write(pfd[1], page, 4096), 4096);
			assert_int_equal(read(pfd[0], B, 4096), 4096);
			pat_fill(B + 4096, nb + 4096, COW_CH - 4096);
			break;
		case COW_DONTNEED: /* the pages are dropped and come back as zeros; the
				   * kernel tells madvise only after it returns, so the
				   * program (or the shim) releases the range first */
			zc_release_range(e->b.cx[1], B, COW_CH);
			assert_int_equal(madvise(B, COW_CH, MADV_DONTNEED), 0);
			assert_int_equal(B[100], 0);
			pat_fill(B, nb, COW_CH);
			break;
		default:
			break;
		}
	}
	pthread_join(th, NULL);
	assert_int_equal(x->bad, 0);
	struct zc_zstats zs, tot;
	assert_int_equal(zc_sock_zstats(e->b.cx[1], e->c, &zs), 0);
	assert_int_equal(zc_sock_zstats(e->b.cx[1], -1, &tot), 0);
	if (policy == ZC_ZCOPY_NEVER) {
		assert_int_equal(zs.bytes_cow, 0);
	} else if (mode == COW_SMALL_SNDBUF && policy == ZC_ZCOPY_AUTO) {
		assert_int_equal(zs.bytes_cow, 0);
	} else {
		assert_true(zs.bytes_cow > 0);
		if (mode == COW_UNCHANGED) { /* no host copy at all */
			assert_int_equal(zs.bytes_copied, 0);
			assert_int_equal(tot.deferred_copies, 0);
		}
		if (policy == ZC_ZCOPY_ALWAYS && (mode == COW_REWRITE || mode == COW_KERNEL_WRITE))
			assert_true(tot.deferred_copies > 0); /* writes before the ACK were caught */
	}
	assert_int_equal(zs.bytes_cow + zs.bytes_copied, (uint64_t)COW_N * COW_CH);
	/* unmapping after a release is safe, whatever is in flight */
	zc_release_range(e->b.cx[1], B, COW_CH);
	munmap(B, COW_CH);
	close(pfd[0]);
	close(pfd[1]);
	free(page);
	free(x);
	zc_close(e->b.cx[1], e->c);
	zc_close(e->b.cx[0], e->a);
	zc_close(e->b.cx[0], e->l);
	zc_sockctx_close(e->b.cx[1]);
	zc_sockctx_close(e->b.cx[0]);
	zc_trapeze_unlink(e->b.wire);
	free(e);
}

static void test_cow_unchanged(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++)
		cow_run(p, COW_UNCHANGED);
}
static void test_cow_rewrite(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++)
		cow_run(p, COW_REWRITE);
}
static void test_cow_kernel_write(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++)
		cow_run(p, COW_KERNEL_WRITE);
}
static void test_cow_dontneed(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++)
		cow_run(p, COW_DONTNEED);
}
static void test_cow_small_reads(void **st)
{
	(void)st;
	for (int p = ZC_ZCOPY_NEVER; p <= ZC_ZCOPY_ALWAYS; p++) {
		cow_run(p, COW_SMALL_READS);
		cow_run(p, COW_SMALL_SNDBUF);
	}
}
int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* e.g. "test_cow_rewrite" */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cow_unchanged),
		cmocka_unit_test(test_cow_rewrite),
		cmocka_unit_test(test_cow_kernel_write),
		cmocka_unit_test(test_cow_dontneed),
		cmocka_unit_test(test_cow_small_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_socket_zc.c - zero-copy receive: the invariants of page trading
 * under each policy (never, auto, always: data never changes after a
 * read, a traded buffer stays the application's, partial and unaligned
 * reads, munmap/realloc, fork), auto's watch of what its trades cost, and
 * the opt-in read-only views. */
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

static void *zsender(void *arg)
{
	struct zenv *e = arg;
	size_t chunk = 1 * MiB + 12345; /* not aligned to anything: the receiver must not care */
	uint8_t *buf = malloc(chunk);
	for (uint64_t off = 0; off < e->total;) {
		size_t n = e->total - off < chunk ? (size_t)(e->total - off) : chunk;
		pat_fill(buf, off, n);
		ssize_t r = zc_send(e->b.cx[1], e->c, buf, n, MSG_NOSIGNAL);
		if (r <= 0)
			break;
		off += (uint64_t)r;
	}
	free(buf);
	zc_shutdown(e->b.cx[1], e->c, SHUT_WR);
	return NULL;
}

/* ref: the receiver's NIC receives by reference (the default), or pulls
 * every payload into its own frames (ref=0) */
static struct zenv *zenv_open(int policy, uint64_t total, bool ref)
{
	struct zenv *e = calloc(1, sizeof(*e));
	e->policy = policy;
	e->total = total;
	e->b.ip[0] = SRV_IP;
	e->b.ip[1] = CLI_IP;
	snprintf(e->b.wire, sizeof(e->b.wire), "zk%d", (int)getpid());
	zc_trapeze_unlink(e->b.wire);
	char n0[64], n1[64];
	snprintf(n0, sizeof(n0), "trapeze:%s,port=0%s", e->b.wire, ref ? "" : ",ref=0");
	snprintf(n1, sizeof(n1), "trapeze:%s,port=1", e->b.wire);
	e->ref = ref;
	e->b.cx[0] = zc_sockctx_open(&(struct zc_sockctx_config){
		.nic = n0, .addr = "10.9.0.1/24", .seed = 3, .zcopy = policy });
	e->b.cx[1] = zc_sockctx_open(&(struct zc_sockctx_config){
		.nic = n1, .addr = "10.9.0.2/24", .seed = 4, .zcopy = ZC_ZCOPY_NEVER });
	assert_non_null(e->b.cx[0]);
	assert_non_null(e->b.cx[1]);
	pair(&e->b, &e->c, &e->a, &e->l);
	pthread_create(&e->tx, NULL, zsender, e);
	return e;
}

static void zenv_close(struct zenv *e)
{
	pthread_join(e->tx, NULL);
	zc_close(e->b.cx[0], e->a);
	zc_close(e->b.cx[1], e->c);
	zc_close(e->b.cx[0], e->l);
	zc_sockctx_close(e->b.cx[1]);
	zc_sockctx_close(e->b.cx[0]);
	zc_trapeze_unlink(e->b.wire);
	free(e);
}

/* n bytes (MSG_WAITALL) into p, checked against the stream at *off. */
static void zread(struct zenv *e, uint8_t *p, size_t n, uint64_t *off)
{
	ssize_t r = zc_recv(e->b.cx[0], e->a, p, n, MSG_WAITALL);
	assert_int_equal(r, (ssize_t)n);
	long bad = pat_check(p, *off, n);
	if (bad >= 0)
		fail_msg("byte %ld of a %zu-byte read at stream offset %llu is wrong", bad, n,
			 (unsigned long long)*off);
	*off += n;
}

static bool expect_trades(struct zenv *e)
{
	struct zc_zcopy_costs c[2];
	zc_sockctx_costs(e->b.cx[0], c);
	if (c[1].frame_size == 0)
		return false; /* no 2 MiB frames on this machine */
	/* auto does not trade over a NIC that receives by reference: the
	 * placement a trade needs would cost the copy it saves */
	return e->policy == ZC_ZCOPY_ALWAYS || (e->policy == ZC_ZCOPY_AUTO && c[1].trade && !e->ref);
}

static void zc_invariants(int policy, bool ref)
{
	const uint64_t total = 96ull * MiB;
	struct zenv *e = zenv_open(policy, total, ref);
	uint64_t off = 0;
	uint8_t *A = abuf(2 * MiB), *B = abuf(2 * MiB);
	/* 1. data never changes after a read, as more data arrives */
	zread(e, A, 2 * MiB, &off);
	uint64_t offA = off - 2 * MiB;
	for (int i = 0; i < 4; i++)
		zread(e, B, 2 * MiB, &off);
	assert_int_equal(pat_check(A, offA, 2 * MiB), -1);
	/* 2. a traded buffer written by the application: its bytes stay the
	 * application's, and later receives are not disturbed */
	memset(A, 0x55, 2 * MiB);
	for (int i = 0; i < 4; i++)
		zread(e, B, 2 * MiB, &off);
	for (size_t i = 0; i < 2 * MiB; i += 4096)
		assert_int_equal(A[i], 0x55);
	zread(e, A, 2 * MiB, &off); /* A's old frame may come home now */
	/* 3. a partial read: bytes past it are never touched */
	uint8_t *C = abuf(4 * MiB);
	memset(C, 0xaa, 4 * MiB);
	zread(e, C, 2 * MiB + 100, &off);
	for (size_t i = 2 * MiB + 100; i < 4 * MiB; i++)
		if (C[i] != 0xaa)
			fail_msg("byte %zu past a partial read changed", i);
	/* 4. a buffer aligned to a page but not to 2 MiB */
	zread(e, C + 4096, 2 * MiB, &off);
	/* 5. munmap'd and reused buffers */
	munmap(A, 2 * MiB);
	for (int i = 0; i < 6; i++)
		zread(e, B, 2 * MiB, &off);
	uint8_t *H = malloc(2 * MiB + 4096);
	uint8_t *Ha = (uint8_t *)(((uintptr_t)H + 4095) & ~(uintptr_t)4095);
	zread(e, Ha, 2 * MiB, &off);
	H = realloc(H, 6 * MiB); /* glibc moves big blocks with mremap */
	Ha = (uint8_t *)(((uintptr_t)H + 4095) & ~(uintptr_t)4095);
	zread(e, Ha, 2 * MiB, &off);
	free(H);
	/* 6. fork: parent and child never see each other's writes */
	zread(e, B, 2 * MiB, &off);
	uint64_t offB = off - 2 * MiB;
	int p1[2], p2[2];
	assert_int_equal(pipe(p1), 0);
	assert_int_equal(pipe(p2), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char go;
		memset(B, 0x11, 4096); /* the child's write */
		if (write(p1[1], "w", 1) != 1 || read(p2[0], &go, 1) != 1)
			_exit(3);
		/* the parent wrote after the fork: not here */
		_exit(B[4096] == pat_byte(offB + 4096) && B[0] == 0x11 ? 0 : 1);
	}
	char go;
	assert_int_equal(read(p1[0], &go, 1), 1);
	assert_int_equal(pat_check(B, offB, 2 * MiB), -1); /* not the child's */
	memset(B + 4096, 0x22, 4096);
	assert_int_equal(write(p2[1], "g", 1), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(p1[0]), close(p1[1]), close(p2[0]), close(p2[1]);
	/* and the stack goes on, in the parent */
	while (off < total - 2 * MiB - 100)
		zread(e, B, 2 * MiB, &off);
	size_t rest = (size_t)(total - off);
	zread(e, C, rest, &off);
	char x;
	assert_int_equal(zc_recv(e->b.cx[0], e->a, &x, 1, 0), 0); /* end of stream */
	struct zc_zstats zs;
	assert_int_equal(zc_sock_zstats(e->b.cx[0], e->a, &zs), 0);
	struct zc_zstats tot;
	assert_int_equal(zc_sock_zstats(e->b.cx[0], -1, &tot), 0);
	/* auto may stop trading where its trades cost more than copies did
	 * (trade_pauses); never without saying so */
	if (expect_trades(e) && (policy == ZC_ZCOPY_ALWAYS || tot.trade_pauses == 0))
		assert_true(zs.bytes_traded >= 8 * 2 * MiB);
	else if (policy == ZC_ZCOPY_NEVER || (policy == ZC_ZCOPY_AUTO && ref))
		assert_int_equal(zs.bytes_traded, 0);
	assert_int_equal(zs.bytes_traded + zs.bytes_copied, total);
	/* what was not traded came by reference: the NIC copied none of it
	 * (or, with references off, all of it) */
	if (ref && zs.bytes_traded == 0) {
		assert_true(tot.ref_bytes >= total - 4 * MiB);
		assert_true(tot.dma_bytes <= 4 * MiB);
	} else if (!ref) {
		assert_int_equal(tot.ref_bytes, 0);
		assert_true(tot.dma_bytes >= total);
	}
	munmap(B, 2 * MiB);
	munmap(C, 4 * MiB);
	zenv_close(e);
}

/* auto watches its trades: where they cost more than the measured copy it
 * copies for a while, and trades again once the costs say so. */
static void test_zc_auto_watches_trades(void **st)
{
	(void)st;
	const uint64_t total = 64ull * MiB;
	struct zenv *e = zenv_open(ZC_ZCOPY_AUTO, total, false);
	struct zc_zcopy_costs c[2];
	zc_sockctx_costs(e->b.cx[0], c);
	uint64_t off = 0;
	uint8_t *B = abuf(2 * MiB);
	if (c[1].frame_size == 0) { /* no 2 MiB frames here: nothing to watch */
		while (off < total)
			zread(e, B, 2 * MiB, &off);
		munmap(B, 2 * MiB);
		zenv_close(e);
		skip();
	}
	/* a copy that costs nothing: the first trade costs more */
	c[1].copy_ns = 1;
	c[1].trade = true;
	zc_sockctx_set_costs(e->b.cx[0], c);
	for (int i = 0; i < 16; i++)
		zread(e, B, 2 * MiB, &off);
	struct zc_zstats a, t;
	assert_int_equal(zc_sock_zstats(e->b.cx[0], e->a, &a), 0);
	assert_int_equal(zc_sock_zstats(e->b.cx[0], -1, &t), 0);
	/* eight trades judge, then the next read (well within the pause of
	 * 100 ms) copies */
	assert_true(t.trade_pauses >= 1);
	assert_true(a.trades >= 8);
	assert_true(a.bytes_copied >= 2 * MiB);
	/* a copy that costs more than any trade: trading goes on at once */
	c[1].copy_ns = UINT64_MAX / 4;
	zc_sockctx_set_costs(e->b.cx[0], c);
	uint64_t before = a.bytes_traded;
	while (off < total)
		zread(e, B, 2 * MiB, &off);
	assert_int_equal(zc_sock_zstats(e->b.cx[0], e->a, &a), 0);
	assert_true(a.bytes_traded - before >= 8 * 2 * MiB);
	assert_int_equal(a.bytes_traded + a.bytes_copied, total);
	munmap(B, 2 * MiB);
	zenv_close(e);
}

static void test_zc_never(void **st) { (void)st; zc_invariants(ZC_ZCOPY_NEVER, true); }
static void test_zc_auto(void **st) { (void)st; zc_invariants(ZC_ZCOPY_AUTO, true); }
static void test_zc_always(void **st) { (void)st; zc_invariants(ZC_ZCOPY_ALWAYS, true); }
static void test_zc_never_pull(void **st) { (void)st; zc_invariants(ZC_ZCOPY_NEVER, false); }
static void test_zc_auto_pull(void **st) { (void)st; zc_invariants(ZC_ZCOPY_AUTO, false); }
static void test_zc_always_pull(void **st) { (void)st; zc_invariants(ZC_ZCOPY_ALWAYS, false); }

/* Opt-in views: the bytes are right, the views are read-only, and the
 * frames return when released. */
static void test_zc_views(void **st)
{
	(void)st;
	const uint64_t total = 16ull * MiB;
	struct zenv *e = zenv_open(ZC_ZCOPY_NEVER, total, true);
	uint64_t off = 0;
	bool tried_write = false;
	while (off < total) {
		struct zc_rxzc z;
		ssize_t r = zc_recv_zc(e->b.cx[0], e->a, &z, 1 * MiB, 0);
		assert_true(r > 0);
		size_t seen = 0;
		for (int i = 0; i < z.iovcnt; i++) {
			assert_int_equal(pat_check(z.iov[i].iov_base, off + seen, z.iov[i].iov_len), -1);
			seen += z.iov[i].iov_len;
		}
		if (z.iovcnt == -1) {
			assert_int_equal(pat_check(z.iov[0].iov_base, off, (size_t)r), -1);
			seen = (size_t)r;
		}
		assert_int_equal(seen, (size_t)r);
		if (!tried_write && z.iovcnt > 0 && z.iov[0].iov_len >= 4096) {
			pid_t pid = fork();
			if (pid == 0) {
				signal(SIGSEGV, SIG_DFL); /* not cmocka's handler */
				((volatile uint8_t *)z.iov[0].iov_base)[0] = 1; /* must fault */
				_exit(0);
			}
			int status;
			waitpid(pid, &status, 0);
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
			tried_write = true;
		}
		zc_recv_zc_done(e->b.cx[0], &z);
		off += (uint64_t)r;
	}
	assert_true(tried_write);
	struct zc_zstats zs;
	zc_sock_zstats(e->b.cx[0], e->a, &zs);
	assert_true(zs.bytes_viewed > total / 2);
	zenv_close(e);
}

/* A view of payload kept by reference (the sender's frames) is held while
 * three times the sender's share of the wire's frames flows behind it: the
 * sender never writes those frames again until the view is let go. */
static void test_zc_view_held_by_reference(void **st)
{
	(void)st;
	const uint64_t total = 112ull * MiB;
	struct zenv *e = zenv_open(ZC_ZCOPY_NEVER, total, true);
	uint64_t off = 0;
	struct zc_rxzc held;
	ssize_t hr = zc_recv_zc(e->b.cx[0], e->a, &held, 256 << 10, MSG_WAITALL);
	assert_true(hr > 0);
	assert_true(held.iovcnt > 0);
	off += (uint64_t)hr;
	uint8_t *buf = malloc(1 * MiB);
	while (off < total) {
		size_t want = total - off < MiB ? (size_t)(total - off) : MiB;
		ssize_t r = zc_recv(e->b.cx[0], e->a, buf, want, 0);
		assert_true(r > 0);
		assert_int_equal(pat_check(buf, off, (size_t)r), -1);
		off += (uint64_t)r;
	}
	size_t seen = 0;
	for (int i = 0; i < held.iovcnt; i++) {
		assert_int_equal(pat_check(held.iov[i].iov_base, seen, held.iov[i].iov_len), -1);
		seen += held.iov[i].iov_len;
	}
	assert_int_equal(seen, (size_t)hr);
	zc_recv_zc_done(e->b.cx[0], &held);
	struct zc_zstats tot;
	assert_int_equal(zc_sock_zstats(e->b.cx[0], -1, &tot), 0);
	assert_true(tot.ref_bytes >= total - 4 * MiB); /* it was by reference */
	free(buf);
	zenv_close(e);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* e.g. "test_zc_*" */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zc_never),
		cmocka_unit_test(test_zc_auto),
		cmocka_unit_test(test_zc_auto_watches_trades),
		cmocka_unit_test(test_zc_always),
		cmocka_unit_test(test_zc_never_pull),
		cmocka_unit_test(test_zc_auto_pull),
		cmocka_unit_test(test_zc_always_pull),
		cmocka_unit_test(test_zc_views),
		cmocka_unit_test(test_zc_view_held_by_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

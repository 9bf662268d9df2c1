/* test_ext.c - the registry of open contexts (sockapi/ext.c) and the
 * zero-copy extensions' entry points of libzcstack (sockapi/zcx.c): the
 * registry's rules on stand-in pointers, from several threads at once, and
 * the entry points on two real contexts over a Trapeze wire, each socket
 * found in its own context by descriptor alone. */
#include "sockapi/ext_priv.h"
#include "sockapi/socket.h"
#include "sockapi/zcx.h"
#include "nic/trapeze.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

/* --- the registry on stand-ins (never dereferenced: the callbacks here only
 * compare pointers) ------------------------------------------------------------ */

static char stand_in[64];
#define FAKE(i) ((struct zc_sockctx *)(void *)&stand_in[i])

static bool is_arg(struct zc_sockctx *cx, void *arg) { return cx == arg; }
static bool never(struct zc_sockctx *cx, void *arg)
{
	(void)cx;
	(void)arg;
	return false;
}

struct order {
	struct zc_sockctx *seen[8];
	int n;
};
static void note(struct zc_sockctx *cx, void *arg)
{
	struct order *o = arg;
	if (o->n < 8)
		o->seen[o->n++] = cx;
}

static void test_registry_rules(void **state)
{
	(void)state;
	zc__ext_reset();
	assert_int_equal(zc__ext_count(), 0);
	assert_null(zc__ext_find(is_arg, FAKE(0)));
	zc__ext_register(FAKE(0));
	zc__ext_register(FAKE(1));
	zc__ext_register(FAKE(2));
	zc__ext_register(FAKE(0)); /* again: still once */
	assert_int_equal(zc__ext_count(), 3);
	assert_ptr_equal(zc__ext_find(is_arg, FAKE(1)), FAKE(1));
	assert_null(zc__ext_find(never, NULL));
	struct order o = { .n = 0 };
	zc__ext_each(note, &o);
	assert_int_equal(o.n, 3);
	assert_ptr_equal(o.seen[0], FAKE(0)); /* in the order of registration */
	assert_ptr_equal(o.seen[1], FAKE(1));
	assert_ptr_equal(o.seen[2], FAKE(2));
	zc__ext_unregister(FAKE(1));
	zc__ext_unregister(FAKE(7)); /* never registered: nothing */
	assert_int_equal(zc__ext_count(), 2);
	assert_null(zc__ext_find(is_arg, FAKE(1)));
	o.n = 0;
	zc__ext_each(note, &o);
	assert_int_equal(o.n, 2);
	assert_ptr_equal(o.seen[0], FAKE(0));
	assert_ptr_equal(o.seen[1], FAKE(2));
	zc__ext_reset();
	assert_int_equal(zc__ext_count(), 0);
	assert_null(zc__ext_find(is_arg, FAKE(0)));
	zc__ext_register(FAKE(3)); /* usable after a reset */
	assert_int_equal(zc__ext_count(), 1);
	zc__ext_reset();
}

/* Four threads register and unregister stand-ins of their own while they
 * and a fifth look them up: each thread always finds its own registered
 * ones and never its unregistered ones; at the end exactly the last
 * registrations remain. */
#define THREADS 4
#define PER_THREAD 8
#define ROUNDS 2000

static _Atomic int finders_stop;
static _Atomic unsigned wrong;

static void *churn(void *arg)
{
	int t = (int)(intptr_t)arg;
	for (int r = 0; r < ROUNDS; r++) {
		int i = t * PER_THREAD + r % PER_THREAD;
		zc__ext_register(FAKE(i));
		if (zc__ext_find(is_arg, FAKE(i)) != FAKE(i))
			wrong++;
		if (r < ROUNDS - PER_THREAD) { /* the last round of each stays */
			zc__ext_unregister(FAKE(i));
			if (zc__ext_find(is_arg, FAKE(i)) != NULL)
				wrong++;
		}
	}
	return NULL;
}

static void *finder(void *arg)
{
	(void)arg;
	while (!finders_stop) {
		if (zc__ext_count() > THREADS * PER_THREAD)
			wrong++;
		(void)zc__ext_find(never, NULL);
	}
	return NULL;
}

static void test_registry_threads(void **state)
{
	(void)state;
	zc__ext_reset();
	pthread_t t[THREADS], f;
	assert_int_equal(pthread_create(&f, NULL, finder, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	finders_stop = 1;
	pthread_join(f, NULL);
	assert_int_equal(wrong, 0);
	assert_int_equal(zc__ext_count(), THREADS * PER_THREAD);
	for (int i = 0; i < THREADS * PER_THREAD; i++)
		assert_ptr_equal(zc__ext_find(is_arg, FAKE(i)), FAKE(i));
	zc__ext_reset();
	assert_int_equal(zc__ext_count(), 0);
}

/* --- the entry points on two real contexts -------------------------------------- */

#define PAYLOAD (3u << 20)

static struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

struct sender {
	struct zc_sockctx *cx;
	int fd;
	const uint8_t *buf;
};

static void *send_all(void *arg)
{
	struct sender *s = arg;
	size_t off = 0;
	while (off < PAYLOAD) {
		ssize_t w = zc_write(s->cx, s->fd, s->buf + off, PAYLOAD - off);
		if (w <= 0)
			return (void *)1;
		off += (size_t)w;
	}
	return zc_shutdown(s->cx, s->fd, SHUT_WR) == 0 ? NULL : (void *)1;
}

static void test_entry_points(void **state)
{
	(void)state;
	zc__ext_reset();
	char wire[32], n0[64], n1[64];
	snprintf(wire, sizeof(wire), "ex%d", (int)getpid());
	zc_trapeze_unlink(wire);
	snprintf(n0, sizeof(n0), "trapeze:%s,port=0", wire);
	snprintf(n1, sizeof(n1), "trapeze:%s,port=1", wire);
	struct zc_sockctx *a = zc_sockctx_open(&(struct zc_sockctx_config){
		.nic = n0, .addr = "10.9.1.1/24", .seed = 11, .zcopy = ZC_ZCOPY_NEVER, .rx_huge = UINT32_MAX });
	struct zc_sockctx *b = zc_sockctx_open(&(struct zc_sockctx_config){
		.nic = n1, .addr = "10.9.1.2/24", .seed = 12, .zcopy = ZC_ZCOPY_NEVER, .rx_huge = UINT32_MAX });
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(zc__ext_count(), 2); /* zc_sockctx_open registered both */
	assert_int_equal(zc_ext_abi(), ZCX_ABI);

	int l = zc_socket(a, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = sin_of("10.9.1.1", 7100);
	assert_int_equal(zc_bind(a, l, (struct sockaddr *)&la, sizeof(la)), 0);
	assert_int_equal(zc_listen(a, l, 4), 0);
	int c = zc_socket(b, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(zc_connect(b, c, (struct sockaddr *)&la, sizeof(la)), 0);
	int s = zc_accept4(a, l, NULL, NULL, 0);
	assert_true(s >= 0);

	/* each descriptor is found in its own context */
	struct zc_zstats z;
	assert_int_equal(zc_ext_zstats(s, &z), 0);
	assert_int_equal(zc_ext_zstats(c, &z), 0);
	assert_int_equal(zc_ext_ctx_zstats(c, &z), 0);
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0); /* a kernel descriptor, no context's */
	errno = 0;
	assert_int_equal(zc_ext_zstats(pipefd[0], &z), -1);
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_int_equal(zc_ext_ctx_zstats(-1, &z), -1);
	assert_int_equal(errno, EBADF);
	struct zc_rxzc rz;
	errno = 0;
	assert_int_equal(zc_ext_recv_zc(pipefd[0], &rz, 4096, 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(rz.iovcnt, 0);
	assert_null(rz.priv);
	assert_int_equal(zc_ext_recv_zc_done(pipefd[0], &rz), 0); /* nothing held */
	close(pipefd[0]);
	close(pipefd[1]);

	/* the stream by reference, through the entry points alone */
	uint8_t *buf = malloc(PAYLOAD);
	assert_non_null(buf);
	for (size_t i = 0; i < PAYLOAD; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 12));
	struct sender sd = { b, c, buf };
	pthread_t tx;
	assert_int_equal(pthread_create(&tx, NULL, send_all, &sd), 0);
	size_t got = 0;
	bool same = true;
	for (;;) {
		ssize_t r = zc_ext_recv_zc(s, &rz, 1u << 20, 0);
		assert_true(r >= 0);
		if (r == 0)
			break;
		size_t piece = 0;
		int n = rz.iovcnt < 0 ? 1 : rz.iovcnt;
		for (int i = 0; i < n; i++) {
			same = same && got + piece + rz.iov[i].iov_len <= PAYLOAD &&
			       memcmp(rz.iov[i].iov_base, buf + got + piece, rz.iov[i].iov_len) == 0;
			piece += rz.iov[i].iov_len;
		}
		assert_int_equal(piece, (size_t)r);
		got += (size_t)r;
		assert_int_equal(zc_ext_recv_zc_done(s, &rz), 0);
		assert_null(rz.priv);
	}
	void *txr;
	pthread_join(tx, &txr);
	assert_null(txr);
	assert_int_equal(got, PAYLOAD);
	assert_true(same);
	assert_int_equal(zc_ext_zstats(s, &z), 0);
	assert_int_equal(z.bytes_viewed + z.bytes_copied, PAYLOAD);
	assert_true(z.bytes_viewed > 0);
	struct zc_zstats tot;
	assert_int_equal(zc_ext_ctx_zstats(s, &tot), 0);
	assert_true(tot.bytes_viewed >= z.bytes_viewed);
	assert_int_equal(zc_ext_release_range(buf, PAYLOAD), 0);
	free(buf);

	zc_close(a, s);
	zc_close(a, l);
	zc_close(b, c);
	zc_sockctx_close(b);
	assert_int_equal(zc__ext_count(), 1); /* zc_sockctx_close unregistered it */
	errno = 0;
	assert_int_equal(zc_ext_ctx_zstats(c, &z), -1);
	assert_int_equal(errno, EBADF);
	zc_sockctx_close(a);
	assert_int_equal(zc__ext_count(), 0);
	assert_int_equal(zc_ext_release_range(stand_in, sizeof(stand_in)), 0); /* no context: nothing to do */
	zc_trapeze_unlink(wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_rules),
		cmocka_unit_test(test_registry_threads),
		cmocka_unit_test(test_entry_points),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_arena.c - the shared-memory arena (issue 15, stage 1): allocation
 * patterns, realloc across classes, sharing with a forked child and with an
 * exec'd image (this program re-executed with --attach), EEXIST instead of a
 * clobbered mapping, recovery of a dead holder's lock, failure injection,
 * and two processes of several threads at once. Every test ends with the
 * arena's books balanced. */
#include "stack/arena.h"
#include "stack/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#define ARENA_SIZE (256u << 20)

/* --- helpers ---------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: seeded, so a failure replays */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static uint8_t pat(uint64_t seed, size_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + i;
	return (uint8_t)(x ^ (x >> 8) ^ (x >> 16) ^ (seed >> 3));
}

static void fill(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = pat(seed, i);
}

static int intact(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(seed, i))
			return 0;
	return 1;
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

struct span {
	uintptr_t lo, hi;
};

static int span_cmp(const void *x, const void *y)
{
	const struct span *a = x, *b = y;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Do the n blocks [p[i], p[i] + sz[i]) overlap? */
static int overlap(void *const *p, const size_t *sz, size_t n)
{
	struct span *s = calloc(n, sizeof(*s));
	for (size_t i = 0; i < n; i++)
		s[i] = (struct span){ (uintptr_t)p[i], (uintptr_t)p[i] + sz[i] };
	qsort(s, n, sizeof(*s), span_cmp);
	int bad = 0;
	for (size_t i = 1; i < n; i++)
		bad |= s[i].lo < s[i - 1].hi;
	free(s);
	return bad;
}

static int wait_exit(pid_t pid)
{
	int status;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int setup(void **state)
{
	struct zc_arena *a;
	if (zc_arena_create(ARENA_SIZE, &a) != 0)
		return -1;
	*state = a;
	return 0;
}

/* Every test ends here: nothing may be left allocated. */
static int teardown(void **state)
{
	struct zc_arena *a = *state;
	struct zc_arena_stats st;
	zc_arena_stats(a, &st);
	assert_int_equal(st.bytes_in_use, 0);
	assert_int_equal(st.allocs, st.frees);
	zc_arena_destroy(a);
	return 0;
}

/* --- 0. create, sizes, layout --------------------------------------------------- */

static void test_create(void **state)
{
	(void)state;
	unsetenv("ZCS_ARENA_MB");
	assert_int_equal(zc_arena_default_size(), (size_t)ZC_ARENA_DEFAULT_MB << 20);
	setenv("ZCS_ARENA_MB", "8", 1);
	assert_int_equal(zc_arena_default_size(), 8u << 20);
	zc_log_set_level(ZC_LOG_ERROR);
	setenv("ZCS_ARENA_MB", "8x", 1);
	assert_int_equal(zc_arena_default_size(), (size_t)ZC_ARENA_DEFAULT_MB << 20);
	zc_log_set_level(ZC_LOG_WARN);

	setenv("ZCS_ARENA_MB", "8", 1);
	struct zc_arena *a;
	assert_int_equal(zc_arena_create(0, &a), 0);
	unsetenv("ZCS_ARENA_MB");
	struct zc_arena_stats st;
	zc_arena_stats(a, &st);
	assert_int_equal(st.reserved, 8u << 20);
	assert_true(st.data_bytes < st.reserved && st.data_bytes > st.reserved - (st.reserved >> 5));
	assert_int_equal(st.top_bytes, 0);
	assert_int_equal(fcntl(zc_arena_fd(a), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* a second arena in the same process cannot take the same address */
	struct zc_arena *b;
	assert_int_equal(zc_arena_create(1, &b), 0);
	assert_ptr_not_equal(a, b);
	zc_arena_stats(b, &st);
	assert_int_equal(st.reserved, ZC_ARENA_MIN_SIZE);
	/* the whole data area in one piece, then one byte too many */
	void *all = zc_arena_alloc(b, st.data_bytes);
	assert_non_null(all);
	assert_null(zc_arena_alloc(b, 1));
	assert_int_equal(errno, ENOMEM);
	zc_arena_free(b, all);
	zc_arena_destroy(b);
	assert_null(zc_arena_get_root(a, ZC_ARENA_ROOTS));
	assert_int_equal(zc_arena_set_root(a, ZC_ARENA_ROOTS, a), -EINVAL);
	zc_arena_destroy(a);
}

/* --- 1. alloc/free patterns ----------------------------------------------------- */

enum { NPAT = 480 };

static size_t pattern_size(size_t i, uint64_t *rng)
{
	static const size_t fixed[] = { 1, 15, 16, 17, 31, 32, 33, 4095, 4096, 4097,
					8191, 8192, 65535, 65536, 65537, 1u << 20 };
	if (i < sizeof(fixed) / sizeof(fixed[0]))
		return fixed[i];
	uint64_t r = rng_next(rng);
	switch (i % 4) {
	case 0: return 1 + r % 64;
	case 1: return 1 + r % 4096;
	case 2: return 1 + r % 65536;
	default: return 1 + r % (1u << 20);
	}
}

static void alloc_all(struct zc_arena *a, void **p, const size_t *sz, uint64_t salt)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	for (size_t i = 0; i < NPAT; i++) {
		p[i] = zc_arena_alloc(a, sz[i]);
		assert_non_null(p[i]);
		assert_true(zc_arena_owns(a, p[i]));
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		if (sz[i] > ZC_ARENA_SLAB_MAX)
			assert_int_equal((uintptr_t)p[i] % page, 0);
		assert_true(zc_arena_usable(a, p[i]) >= sz[i]);
		fill(p[i], sz[i], i ^ salt);
	}
	assert_false(overlap(p, sz, NPAT));
	for (size_t i = 0; i < NPAT; i++)
		assert_true(intact(p[i], sz[i], i ^ salt));
}

static void test_patterns(void **state)
{
	struct zc_arena *a = *state;
	struct zc_arena_stats base, st;
	static void *p[NPAT];
	static size_t sz[NPAT], order[NPAT];
	uint64_t rng = 12345;
	zc_arena_stats(a, &base);
	for (size_t i = 0; i < NPAT; i++) {
		sz[i] = pattern_size(i, &rng);
		order[i] = i;
	}
	for (size_t i = NPAT - 1; i > 0; i--) {
		size_t j = rng_next(&rng) % (i + 1), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}

	/* all at once, then freed in a seeded random order, checking each */
	alloc_all(a, p, sz, 0);
	zc_arena_stats(a, &st);
	assert_true(st.bytes_in_use > base.bytes_in_use);
	assert_int_equal(st.allocs - base.allocs, NPAT);
	for (size_t k = 0; k < NPAT; k++) {
		size_t i = order[k];
		assert_true(intact(p[i], sz[i], i));
		zc_arena_free(a, p[i]);
	}
	zc_arena_stats(a, &st);
	assert_int_equal(st.bytes_in_use, base.bytes_in_use);
	assert_int_equal(st.frees - base.frees, NPAT);
	uint64_t top = st.top_bytes;

	/* again: freed memory is reused (the carved area hardly grows) */
	alloc_all(a, p, sz, 0x5a5a);
	zc_arena_stats(a, &st);
	assert_true(st.top_bytes <= top + (top >> 2));
	for (size_t k = NPAT; k-- > 0;)
		zc_arena_free(a, p[order[k]]);

	/* zalloc on reused, dirty memory */
	for (size_t i = 0; i < NPAT; i++) {
		p[i] = zc_arena_alloc(a, sz[i]);
		memset(p[i], 0xff, sz[i]);
	}
	for (size_t i = 0; i < NPAT; i++)
		zc_arena_free(a, p[i]);
	for (size_t i = 0; i < NPAT; i++) {
		p[i] = zc_arena_zalloc(a, sz[i]);
		assert_non_null(p[i]);
		assert_true(all_zero(p[i], sz[i]));
	}
	for (size_t i = 0; i < NPAT; i++)
		zc_arena_free(a, p[i]);

	/* calloc: zeroed, and its product checked for overflow */
	uint64_t *c = zc_arena_calloc(a, 1000, sizeof(uint64_t));
	assert_non_null(c);
	assert_true(all_zero(c, 1000 * sizeof(uint64_t)));
	zc_arena_free(a, c);
	errno = 0;
	assert_null(zc_arena_calloc(a, SIZE_MAX / 2 + 1, 2));
	assert_int_equal(errno, ENOMEM);
	errno = 0;
	assert_null(zc_arena_alloc(a, SIZE_MAX));
	assert_int_equal(errno, ENOMEM);

	/* alloc(0) is a unique block */
	void *z0 = zc_arena_alloc(a, 0), *z1 = zc_arena_alloc(a, 0);
	assert_non_null(z0);
	assert_ptr_not_equal(z0, z1);
	zc_arena_free(a, z0);
	zc_arena_free(a, z1);
	zc_arena_free(a, NULL);

	zc_arena_stats(a, &st);
	assert_int_equal(st.bytes_in_use, base.bytes_in_use);
	assert_int_equal(st.allocs - st.frees, base.allocs - base.frees);
	assert_int_equal(st.failures - base.failures, 1); /* alloc(SIZE_MAX); calloc never asked */
}

/* A big block's pages go back to the OS when it is freed. */
static void test_pages_returned(void **state)
{
	struct zc_arena *a = *state;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = 1u << 20, np = len / page;
	unsigned char *vec = calloc(np, 1);
	char *p = zc_arena_alloc(a, len);
	assert_non_null(p);
	memset(p, 1, len);
	assert_int_equal(mincore(p, len, vec), 0);
	size_t resident = 0;
	for (size_t i = 0; i < np; i++)
		resident += vec[i] & 1;
	assert_int_equal(resident, np);
	zc_arena_free(a, p);
	assert_int_equal(mincore(p, len, vec), 0);
	resident = 0;
	for (size_t i = 0; i < np; i++)
		resident += vec[i] & 1;
	assert_int_equal(resident, 0);
	free(vec);
}

/* --- 2. realloc ---------------------------------------------------------------- */

static void test_resize(void **state)
{
	struct zc_arena *a = *state;
	static const size_t steps[] = { 1, 16, 17, 100, 2048, 4096, 4097, 8192, 12289,
					65536, 70000, 300000, 1u << 20, 3u << 20 };
	const size_t n = sizeof(steps) / sizeof(steps[0]);
	const uint64_t seed = 77;
	char *p = zc_arena_realloc(a, NULL, steps[0]);
	assert_non_null(p);
	fill(p, steps[0], seed);
	for (size_t i = 1; i < n; i++) {
		p = zc_arena_realloc(a, p, steps[i]);
		assert_non_null(p);
		assert_true(zc_arena_usable(a, p) >= steps[i]);
		assert_true(intact(p, steps[i - 1], seed));
		fill(p, steps[i], seed);
		/* an allocation in between, so that growing cannot always stay at top */
		void *q = zc_arena_alloc(a, steps[i] / 2 + 1);
		assert_non_null(q);
		memset(q, 0xee, steps[i] / 2 + 1);
		assert_true(intact(p, steps[i], seed));
		zc_arena_free(a, q);
	}
	/* and back down: each shrink keeps the prefix */
	for (size_t i = n - 1; i-- > 0;) {
		p = zc_arena_realloc(a, p, steps[i]);
		assert_non_null(p);
		assert_true(zc_arena_usable(a, p) >= steps[i]);
		assert_true(intact(p, steps[i], seed));
		if (steps[i] > ZC_ARENA_SLAB_MAX)
			assert_true(zc_arena_usable(a, p) < steps[i] + (size_t)sysconf(_SC_PAGESIZE));
	}
	/* growing a run at the top stays in place (no free run is this long) */
	char *big = zc_arena_alloc(a, 8u << 20);
	fill(big, 8u << 20, 5);
	char *big2 = zc_arena_realloc(a, big, 12u << 20);
	assert_ptr_equal(big, big2);
	assert_true(intact(big2, 8u << 20, 5));
	zc_arena_free(a, big2);
	assert_null(zc_arena_realloc(a, p, 0)); /* frees */
}

/* --- 3. fork ------------------------------------------------------------------- */

enum { NFORK = 300 };

static size_t fork_size(size_t i)
{
	return 1 + (i * 7919) % (i % 10 == 0 ? 200000 : 3000);
}

static void test_fork(void **state)
{
	struct zc_arena *a = *state;
	char *pa = zc_arena_alloc(a, 100);
	assert_non_null(pa);
	strcpy(pa, "the parent's object");

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *c = zc_arena_alloc(a, 200);
		if (c == NULL)
			_exit(2);
		fill(c, 200, 99);
		zc_arena_set_root(a, 0, c);
		_exit(0);
	}
	assert_int_equal(wait_exit(pid), 0);
	char *c = zc_arena_get_root(a, 0);
	assert_non_null(c);
	assert_true(intact(c, 200, 99));
	assert_true(c + 200 <= pa || pa + 100 <= c);
	assert_string_equal(pa, "the parent's object");

	/* both at once: parent's blocks in [0, NFORK), the child's after */
	void **blk = zc_arena_zalloc(a, 2 * NFORK * sizeof(void *));
	assert_non_null(blk);
	size_t sz[2 * NFORK];
	for (size_t i = 0; i < 2 * NFORK; i++)
		sz[i] = fork_size(i);
	pid = fork();
	assert_true(pid >= 0);
	size_t from = pid == 0 ? NFORK : 0;
	for (size_t i = from; i < from + NFORK; i++) {
		blk[i] = zc_arena_alloc(a, sz[i]);
		if (blk[i] == NULL) {
			if (pid == 0)
				_exit(3);
			fail_msg("parent's allocation %zu failed", i);
		}
		fill(blk[i], sz[i], i);
	}
	if (pid == 0)
		_exit(0);
	assert_int_equal(wait_exit(pid), 0);
	for (size_t i = 0; i < 2 * NFORK; i++) {
		assert_non_null(blk[i]);
		assert_true(intact(blk[i], sz[i], i));
	}
	assert_false(overlap(blk, sz, 2 * NFORK));
	for (size_t i = 0; i < 2 * NFORK; i++)
		zc_arena_free(a, blk[i]); /* the child's too: one heap */
	zc_arena_free(a, blk);
	zc_arena_free(a, c);
	zc_arena_free(a, pa);
	zc_arena_set_root(a, 0, NULL);
}

/* --- 4. exec and attach --------------------------------------------------------- */

#define EXEC_HELLO "hello from the parent"
#define EXEC_REPLY "hello from the exec'd image"

/* This program re-executed with --attach <fd> <base>: attach the arena,
 * check the parent's string at root 2, answer at root 3. */
static int attach_helper(int fd, uintptr_t base)
{
	struct zc_arena *a;
	int r = zc_arena_attach(fd, &a);
	if (r != 0) {
		fprintf(stderr, "attach: %s\n", strerror(-r));
		return 10;
	}
	if ((uintptr_t)a != base || zc_arena_fd(a) != fd)
		return 11;
	const char *s = zc_arena_get_root(a, 2);
	if (s == NULL || strcmp(s, EXEC_HELLO) != 0)
		return 12;
	char *reply = zc_arena_alloc(a, sizeof(EXEC_REPLY));
	if (reply == NULL)
		return 13;
	strcpy(reply, EXEC_REPLY);
	zc_arena_set_root(a, 3, reply);
	zc_arena_detach(a);
	return 0;
}

static void test_exec_attach(void **state)
{
	struct zc_arena *a = *state;
	char *s = zc_arena_alloc(a, sizeof(EXEC_HELLO));
	assert_non_null(s);
	strcpy(s, EXEC_HELLO);
	zc_arena_set_root(a, 2, s);
	int fd = zc_arena_fd(a);
	char fds[16], bases[32];
	snprintf(fds, sizeof(fds), "%d", fd);
	snprintf(bases, sizeof(bases), "%" PRIuPTR, (uintptr_t)a);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fcntl(fd, F_SETFD, 0); /* only the child's copy loses close-on-exec */
		execl("/proc/self/exe", "test_arena", "--attach", fds, bases, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(wait_exit(pid), 0);
	char *reply = zc_arena_get_root(a, 3);
	assert_non_null(reply);
	assert_string_equal(reply, EXEC_REPLY);
	assert_true(zc_arena_owns(a, reply));
	zc_arena_free(a, reply);
	zc_arena_free(a, s);
	zc_arena_set_root(a, 2, NULL);
	zc_arena_set_root(a, 3, NULL);
}

/* --- 5. attach where the arena already is ------------------------------------- */

static void test_attach_eexist(void **state)
{
	struct zc_arena *a = *state;
	char *s = zc_arena_alloc(a, 32);
	assert_non_null(s);
	strcpy(s, "intact");
	zc_arena_set_root(a, 4, s);

	/* here: the arena's own address is taken by the arena */
	struct zc_arena *b = NULL;
	int fd2 = dup(zc_arena_fd(a));
	assert_int_equal(zc_arena_attach(fd2, &b), -EEXIST);
	assert_null(b);
	assert_string_equal(zc_arena_get_root(a, 4), "intact");

	/* in a forked child, which has the same mapping */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (zc_arena_attach(fd2, &b) != -EEXIST)
			_exit(1);
		if (b != NULL)
			_exit(2);
		const char *t = zc_arena_get_root(a, 4);
		if (t != s || strcmp(t, "intact") != 0)
			_exit(3);
		void *q = zc_arena_alloc(a, 10); /* the mapping still works */
		if (q == NULL)
			_exit(4);
		zc_arena_free(a, q);
		_exit(0);
	}
	assert_int_equal(wait_exit(pid), 0);
	assert_string_equal(s, "intact");
	/* the failed attaches kept fd2 open and usable */
	assert_int_equal(fcntl(fd2, F_GETFD) >= 0, 1);
	close(fd2);

	/* not an arena: EINVAL, and the caller keeps the fd */
	int junk = memfd_create("junk", MFD_CLOEXEC);
	assert_true(junk >= 0);
	assert_int_equal(ftruncate(junk, 1 << 20), 0);
	assert_int_equal(zc_arena_attach(junk, &b), -EINVAL);
	assert_int_equal(pwrite(junk, "x", 1, 0), 1);
	assert_int_equal(zc_arena_attach(junk, &b), -EINVAL);
	close(junk);

	zc_arena_set_root(a, 4, NULL);
	zc_arena_free(a, s);
}

/* --- 6. robust lock -------------------------------------------------------------- */

static void test_robust_lock(void **state)
{
	struct zc_arena *a = *state;
	zc_log_set_level(ZC_LOG_ERROR); /* the recovery's warning is expected */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (zc_arena_lock(a) != 0)
			_exit(1);
		_exit(0); /* holding it */
	}
	assert_int_equal(wait_exit(pid), 0);
	void *p = zc_arena_alloc(a, 64);
	assert_non_null(p);
	struct zc_arena_stats st;
	zc_arena_stats(a, &st);
	assert_int_equal(st.lock_recoveries, 1);
	zc_arena_free(a, p);

	/* killed while holding it (and the lock works across that) */
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (zc_arena_lock(a) != 0)
			_exit(1);
		if (write(ready[1], "l", 1) != 1)
			_exit(2);
		for (;;)
			pause();
	}
	char c;
	assert_int_equal(read(ready[0], &c, 1), 1);
	kill(pid, SIGKILL);
	assert_int_equal(wait_exit(pid), 128 + SIGKILL);
	p = zc_arena_alloc(a, 5000);
	assert_non_null(p);
	zc_arena_free(a, p);
	zc_arena_stats(a, &st);
	assert_int_equal(st.lock_recoveries, 2);
	close(ready[0]);
	close(ready[1]);
	zc_log_set_level(ZC_LOG_WARN);
}

/* --- 7. failure injection ------------------------------------------------------- */

static void test_fail_nth(void **state)
{
	struct zc_arena *a = *state;
	struct zc_arena_stats st0, st;
	void *p[6];
	zc_arena_stats(a, &st0);
	zc_arena_fail_nth(a, 3);
	for (int i = 0; i < 6; i++) {
		errno = 0;
		p[i] = zc_arena_alloc(a, i % 2 ? 10000 : 24); /* slabs and runs alike */
		if (i == 2) {
			assert_null(p[i]);
			assert_int_equal(errno, ENOMEM);
		} else {
			assert_non_null(p[i]);
		}
	}
	zc_arena_stats(a, &st);
	assert_int_equal(st.injected - st0.injected, 1);
	assert_int_equal(st.failures - st0.failures, 1);
	assert_int_equal(st.allocs - st0.allocs, 5);
	for (int i = 0; i < 6; i++)
		zc_arena_free(a, p[i]);

	/* the next one; a realloc that must move counts as an allocation */
	zc_arena_fail_nth(a, 1);
	assert_null(zc_arena_zalloc(a, 8));
	void *q = zc_arena_alloc(a, 8);
	assert_non_null(q);
	zc_arena_fail_nth(a, 1);
	assert_null(zc_arena_realloc(a, q, 100000));
	assert_non_null(q);
	zc_arena_free(a, q);

	/* armed, then disarmed */
	zc_arena_fail_nth(a, 2);
	zc_arena_fail_nth(a, 0);
	for (int i = 0; i < 6; i++) {
		p[i] = zc_arena_alloc(a, 32);
		assert_non_null(p[i]);
	}
	for (int i = 0; i < 6; i++)
		zc_arena_free(a, p[i]);
	zc_arena_stats(a, &st);
	assert_int_equal(st.injected - st0.injected, 3);
	assert_int_equal(st.failures - st0.failures, 3);
}

/* --- 8. two processes, several threads ------------------------------------------ */

enum { NTHREADS = 4, NOPS = 20000, NSLOTS = 64 };

struct worker {
	struct zc_arena *a;
	uint64_t seed;
	int bad;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct {
		uint8_t *p;
		size_t n;
		uint64_t tag;
	} slot[NSLOTS] = { { 0 } };
	uint64_t rng = w->seed;
	for (int op = 0; op < NOPS; op++) {
		uint64_t r = rng_next(&rng);
		unsigned s = r % NSLOTS;
		if (slot[s].p != NULL) {
			w->bad += !intact(slot[s].p, slot[s].n, slot[s].tag);
			zc_arena_free(w->a, slot[s].p);
			slot[s].p = NULL;
			continue;
		}
		unsigned kind = (r >> 8) % 100;
		size_t n = 1 + (r >> 16) % (kind < 70 ? 256 : kind < 95 ? 8192 : 131072);
		uint8_t *p = (r >> 40) % 8 == 0 ? zc_arena_zalloc(w->a, n) : zc_arena_alloc(w->a, n);
		if (p == NULL) {
			w->bad++;
			continue;
		}
		slot[s].p = p;
		slot[s].n = n;
		slot[s].tag = w->seed << 20 | (uint64_t)op;
		fill(p, n, slot[s].tag);
	}
	for (unsigned s = 0; s < NSLOTS; s++) {
		if (slot[s].p != NULL) {
			w->bad += !intact(slot[s].p, slot[s].n, slot[s].tag);
			zc_arena_free(w->a, slot[s].p);
		}
	}
	return NULL;
}

static int run_workers(struct zc_arena *a, uint64_t seed)
{
	pthread_t t[NTHREADS];
	struct worker w[NTHREADS];
	int bad = 0;
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ a, seed + (uint64_t)i, 0 };
		if (pthread_create(&t[i], NULL, worker_run, &w[i]) != 0)
			return -1;
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
	}
	return bad;
}

static void test_concurrent(void **state)
{
	struct zc_arena *a = *state;
	struct zc_arena_stats st0, st;
	zc_arena_stats(a, &st0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(run_workers(a, 1000) == 0 ? 0 : 1);
	int bad = run_workers(a, 2000);
	assert_int_equal(wait_exit(pid), 0);
	assert_int_equal(bad, 0);
	zc_arena_stats(a, &st);
	assert_int_equal(st.bytes_in_use, st0.bytes_in_use);
	assert_int_equal(st.allocs - st0.allocs, st.frees - st0.frees);
	assert_true(st.allocs - st0.allocs > 2 * NTHREADS * NOPS / 3);
	assert_int_equal(st.failures, st0.failures);
	assert_int_equal(st.lock_recoveries, 0);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--attach") == 0)
		return attach_helper(atoi(argv[2]), (uintptr_t)strtoull(argv[3], NULL, 10));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test_setup_teardown(test_patterns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages_returned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_attach, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_eexist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_robust_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_nth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

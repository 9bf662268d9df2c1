/* test_procs.c - processes of one stack (issue 15): the socket layer's
 * shared part. A context's state lives in its arena (the stack, its
 * connections) and its lock is robust: a process that dies holding it
 * leaves a stack the others go on with, and zcstat counts the recovery. */
#include "nic/trapeze.h"
#include "sockapi/socket_priv.h"
#include "stack/arena.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

struct env {
	char wire[32], nic[64];
	struct zc_sockctx *cx;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	snprintf(e->wire, sizeof(e->wire), "pr%d", (int)getpid());
	zc_trapeze_unlink(e->wire);
	snprintf(e->nic, sizeof(e->nic), "trapeze:%s,port=0", e->wire);
	e->cx = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = e->nic, .addr = "10.9.0.1/24",
							     .no_helper = true, .linger_ns = 1000000 });
	if (e->cx == NULL)
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	zc_sockctx_close(e->cx);
	zc_trapeze_unlink(e->wire);
	free(e);
	return 0;
}

/* the stack's sockets are the arena's */
static void test_state_in_arena(void **state)
{
	struct env *e = *state;
	int t = zc_socket(e->cx, AF_INET, SOCK_STREAM, 0), u = zc_socket(e->cx, AF_INET, SOCK_DGRAM, 0);
	assert_true(t >= 0 && u >= 0);
	assert_true(zc_arena_owns(e->cx->arena, e->cx->st));
	assert_true(zc_arena_owns(e->cx->arena, e->cx->tab[t]->tcp));
	assert_true(zc_arena_owns(e->cx->arena, e->cx->tab[u]->udp));
	assert_true(zc_arena_owns(e->cx->arena, e->cx->lk));
	assert_true(zc_arena_owns(e->cx->arena, e->cx->tab[t]));
	assert_true(zc_arena_owns(e->cx->arena, e->cx->tab));
	assert_int_equal(zc_close(e->cx, t), 0);
	assert_int_equal(zc_close(e->cx, u), 0);
}

static uint64_t dumped(struct zc_sockctx *cx, const char *key)
{
	char *buf = NULL, line[256];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	zc_sockctx_dump(cx, f);
	fclose(f);
	f = fmemopen(buf, len, "r");
	uint64_t v = UINT64_MAX;
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, kl) == 0 && line[kl] == ' ')
			v = strtoull(line + kl + 1, NULL, 10);
	fclose(f);
	free(buf);
	return v;
}

/* A child takes the stack lock and is killed with it: the parent's next
 * call does not hang (alarm ends the test if it does), the recovery is
 * counted once and shown by zcstat's dump, and the stack works on. */
static void test_holder_killed(void **state)
{
	struct env *e = *state;
	assert_int_equal(dumped(e->cx, "lock_recoveries"), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		zc__lock(e->cx);
		raise(SIGKILL);
		_exit(1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	alarm(10);
	int fd = zc_socket(e->cx, AF_INET, SOCK_DGRAM, 0);
	alarm(0);
	assert_true(fd >= 0);
	assert_int_equal(dumped(e->cx, "lock_recoveries"), 1);
	assert_int_equal(zc_bind(e->cx, fd, (struct sockaddr *)&(struct sockaddr_in){ .sin_family = AF_INET,
			 .sin_port = htons(7000) }, sizeof(struct sockaddr_in)), 0);
	assert_int_equal(zc_close(e->cx, fd), 0);
	assert_int_equal(dumped(e->cx, "lock_recoveries"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_in_arena, setup, teardown),
		cmocka_unit_test_setup_teardown(test_holder_killed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_bypass.c - the pass-by counters (sockapi/bypass.c) without the
 * preload: every call counts, each (reason, kind) is told once however
 * often it comes, quiet reasons are never told, the log level hides lines
 * but not counts, a full table of kinds still tells each reason's first,
 * reset starts over; sockets and options are classified as bypass.h says;
 * a context counts an option it does not have in its own counters and
 * zc_sockctx_dump prints them. What is told is read back from stderr. */
#include "sockapi/bypass.h"
#include "sockapi/socket.h"
#include "nic/trapeze.h"
#include "stack/log.h"

#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

/* --- stderr into a file while a test speaks ------------------------------------ */

static int saved_err = -1;
static FILE *cap;

static void cap_start(void)
{
	fflush(stderr);
	cap = tmpfile();
	assert_non_null(cap);
	saved_err = dup(2);
	assert_true(dup2(fileno(cap), 2) == 2);
}

/* The lines told since cap_start that contain what (all: NULL). */
static int cap_lines(const char *what)
{
	fflush(stderr);
	rewind(cap);
	char line[1024];
	int n = 0;
	while (fgets(line, sizeof(line), cap))
		n += what == NULL || strstr(line, what) != NULL;
	fseek(cap, 0, SEEK_END);
	return n;
}

static void cap_stop(void)
{
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	fclose(cap);
	cap = NULL;
}

static struct zc_bypasses b; /* each test starts with zc_bypass_reset */

static void test_count_once_reset(void **state)
{
	(void)state;
	zc_bypass_reset(&b);
	cap_start();
	assert_true(zc_bypass(&b, ZC_BYPASS_BIND, 0, "first %d", 1));
	for (int i = 0; i < 4; i++)
		assert_false(zc_bypass(&b, ZC_BYPASS_BIND, 0, "again %d", i));
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_BIND), 5);
	assert_int_equal(cap_lines("bypass bind: first 1"), 1);
	assert_int_equal(cap_lines(NULL), 1);
	/* the same kind under another reason is another kind */
	assert_true(zc_bypass(&b, ZC_BYPASS_CONNECT, 0, "connect"));
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_BIND), 5);
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_CONNECT), 1);
	/* kinds of one reason: each told once */
	assert_true(zc_bypass(&b, ZC_BYPASS_IOCTL, 0x5411, "ioctl a"));
	assert_true(zc_bypass(&b, ZC_BYPASS_IOCTL, 0x8933, "ioctl b"));
	assert_false(zc_bypass(&b, ZC_BYPASS_IOCTL, 0x5411, "ioctl a"));
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_IOCTL), 3);
	assert_int_equal(cap_lines("bypass ioctl:"), 2);
	/* reset: counted and told again from nothing */
	zc_bypass_reset(&b);
	for (int i = 0; i < ZC_BYPASS__COUNT; i++)
		assert_int_equal(zc_bypass_count(&b, (enum zc_bypass_reason)i), 0);
	assert_true(zc_bypass(&b, ZC_BYPASS_BIND, 0, "first %d", 2));
	assert_int_equal(cap_lines("bypass bind:"), 2);
	cap_stop();
}

static void test_quiet_and_level(void **state)
{
	(void)state;
	zc_bypass_reset(&b);
	cap_start();
	for (int i = 0; i < 3; i++)
		assert_false(zc_bypass(&b, ZC_BYPASS_FAMILY_LOCAL, AF_UNIX, "unix"));
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_FAMILY_LOCAL), 3);
	assert_int_equal(cap_lines(NULL), 0);
	/* hidden by the level: counted, not marked told */
	enum zc_log_level old = zc_log_get_level();
	zc_log_set_level(ZC_LOG_ERROR);
	assert_false(zc_bypass(&b, ZC_BYPASS_OPTION, 7, "hidden"));
	assert_true(zc_bypass(&b, ZC_BYPASS_FORK, 0, "an error still shows"));
	assert_int_equal(cap_lines("zcstack: error: bypass fork: an error still shows"), 1);
	zc_log_set_level(old);
	assert_true(zc_bypass(&b, ZC_BYPASS_OPTION, 7, "shown"));
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_OPTION), 2);
	assert_int_equal(cap_lines("zcstack: warn: bypass option: shown"), 1);
	assert_int_equal(cap_lines(NULL), 2);
	cap_stop();
}

static void test_table_full(void **state)
{
	(void)state;
	zc_bypass_reset(&b);
	cap_start();
	for (uint64_t k = 1; k <= ZC_BYPASS_TOLD_MAX; k++)
		assert_true(zc_bypass(&b, ZC_BYPASS_OPTION, k, "option %llu", (unsigned long long)k));
	/* full: a new kind of a reason already told is counted, not told */
	assert_false(zc_bypass(&b, ZC_BYPASS_OPTION, 1000, "option 1000"));
	assert_false(zc_bypass(&b, ZC_BYPASS_OPTION, 1001, "option 1001"));
	/* the first of another reason is told all the same */
	assert_true(zc_bypass(&b, ZC_BYPASS_TYPE, 3, "type"));
	assert_false(zc_bypass(&b, ZC_BYPASS_TYPE, 3, "type"));
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_OPTION), ZC_BYPASS_TOLD_MAX + 2);
	assert_int_equal(cap_lines("bypass option:"), ZC_BYPASS_TOLD_MAX);
	assert_int_equal(cap_lines("further kinds are counted"), 1);
	cap_stop();
}

static void test_classify(void **state)
{
	(void)state;
	zc_bypass_reset(&b);
	cap_start();
	zc_bypass_socket(&b, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	zc_bypass_socket(&b, AF_NETLINK, SOCK_RAW, 0);
	zc_bypass_socket(&b, AF_ALG, SOCK_SEQPACKET, 0);
	zc_bypass_socket(&b, AF_PACKET, SOCK_RAW, 0);
	zc_bypass_socket(&b, AF_PACKET, SOCK_DGRAM, 0); /* one family, one line */
	zc_bypass_socket(&b, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	zc_bypass_socket(&b, AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_FAMILY_LOCAL), 3);
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_FAMILY), 2);
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_TYPE), 2);
	assert_int_equal(cap_lines("bypass family: socket(AF_PACKET, SOCK_RAW, 0)"), 1);
	assert_int_equal(cap_lines("bypass family:"), 1);
	assert_int_equal(cap_lines("bypass type: socket(AF_INET, SOCK_RAW, 1)"), 1);
	assert_int_equal(cap_lines("bypass type: socket(AF_INET6, SOCK_RAW, 58)"), 1);
	assert_int_equal(cap_lines("family_local:"), 0);
	/* options: set and get of one are two kinds; names as in the source */
	zc_bypass_option(&b, true, IPPROTO_IP, IP_TOS, ENOPROTOOPT);
	zc_bypass_option(&b, true, IPPROTO_IP, IP_TOS, ENOPROTOOPT);
	zc_bypass_option(&b, false, IPPROTO_IP, IP_TOS, ENOPROTOOPT);
	zc_bypass_option(&b, true, 277, 5, ENOPROTOOPT);
	assert_int_equal(zc_bypass_count(&b, ZC_BYPASS_OPTION), 4);
	assert_int_equal(cap_lines("bypass option: setsockopt(IPPROTO_IP, IP_TOS): not an option the stack has: "
				   "the call fails with ENOPROTOOPT"), 1);
	assert_int_equal(cap_lines("bypass option: getsockopt(IPPROTO_IP, IP_TOS)"), 1);
	assert_int_equal(cap_lines("bypass option: setsockopt(277, 5)"), 1);
	cap_stop();
}

static bool dump_has(char *buf, const char *line)
{
	for (char *p = buf; (p = strstr(p, line)) != NULL; p++)
		if (p == buf || p[-1] == '\n')
			return true;
	return false;
}

static void test_dump(void **state)
{
	(void)state;
	zc_bypass_reset(&b);
	zc_log_set_level(ZC_LOG_QUIET);
	zc_bypass_socket(&b, AF_PACKET, SOCK_RAW, 0);
	zc_bypass_socket(&b, AF_PACKET, SOCK_RAW, 0);
	zc_log_set_level(ZC_LOG_WARN);
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	zc_bypass_dump(&b, f);
	fclose(f);
	assert_true(dump_has(buf, "bypass_family 2\n"));
	assert_true(dump_has(buf, "bypass_family_local 0\n"));
	assert_true(dump_has(buf, "bypass_fork 0\n"));
	int lines = 0;
	for (char *p = buf; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, ZC_BYPASS__COUNT);
	free(buf);
}

/* A native program's context counts in its own counters; the dump shows them. */
static void test_context(void **state)
{
	(void)state;
	char wire[32], nic[64];
	snprintf(wire, sizeof(wire), "bp%d", (int)getpid());
	zc_trapeze_unlink(wire);
	snprintf(nic, sizeof(nic), "trapeze:%s,port=0", wire);
	struct zc_sockctx *cx = zc_sockctx_open(&(struct zc_sockctx_config){
		.nic = nic, .addr = "10.9.2.1/24", .seed = 3, .zcopy = ZC_ZCOPY_NEVER, .rx_huge = UINT32_MAX });
	assert_non_null(cx);
	int fd = zc_socket(cx, AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	int one = 1;
	cap_start();
	for (int i = 0; i < 3; i++) {
		errno = 0;
		assert_int_equal(zc_setsockopt(cx, fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)), -1);
		assert_int_equal(errno, ENOPROTOOPT);
	}
	assert_int_equal(zc_setsockopt(cx, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(cap_lines("bypass option: setsockopt(SOL_SOCKET, SO_BROADCAST)"), 1);
	assert_int_equal(cap_lines(NULL), 1);
	cap_stop();
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	zc_sockctx_dump(cx, f);
	fclose(f);
	assert_true(dump_has(buf, "bypass_option 3\n"));
	assert_true(dump_has(buf, "sockets 1\n"));
	free(buf);
	/* early counts (the preload's, before the stack started) join the
	 * context's: the numbers add, and a kind told early is not told again */
	struct zc_bypasses *cb = zc__sockctx_bypasses(cx);
	zc_bypass_reset(&b);
	cap_start();
	zc_bypass(&b, ZC_BYPASS_NOSTACK, 0, "early");
	zc_bypass(&b, ZC_BYPASS_OPTION, 7, "early option");
	zc_bypass_merge(cb, &b);
	assert_int_equal(zc_bypass_count(cb, ZC_BYPASS_NOSTACK), 1);
	assert_int_equal(zc_bypass_count(cb, ZC_BYPASS_OPTION), 4);
	assert_false(zc_bypass(cb, ZC_BYPASS_NOSTACK, 0, "again"));
	assert_int_equal(zc_bypass_count(cb, ZC_BYPASS_NOSTACK), 2);
	assert_int_equal(cap_lines("again"), 0);
	cap_stop();
	zc_close(cx, fd);
	zc_sockctx_close(cx);
	zc_trapeze_unlink(wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_once_reset),
		cmocka_unit_test(test_quiet_and_level),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_context),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

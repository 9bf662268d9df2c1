/*
 * epoll_conf.c IP - epoll, poll and select as the kernel has them: a list
 * of scenarios over TCP connections to IP (a listener on IP, clients of it,
 * all in this process), pipes, eventfds, timerfds and unix sockets, each
 * printing what it saw as lines of text. epoll_conf.sh runs it on the
 * kernel (IP 127.0.0.1) and under zcrun (IP its own stack address: every
 * TCP socket on the stack, the rest the kernel's) and wants the same lines.
 *
 * A wait that should see something waits up to 2 s; one that should not
 * waits 0 ms (or 50 ms after a send whose effect would show). Events of one
 * wait are printed sorted by their tags, so that the order within one
 * wait (which nobody promises) does not count.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static struct in_addr g_ip;
static int g_failed;

#define CHECK(c)                                                                       \
	do {                                                                           \
		if (!(c)) {                                                            \
			printf("CHECK FAILED %s:%d: %s (errno %d)\n", __FILE__, __LINE__, #c, errno); \
			g_failed = 1;                                                  \
		}                                                                      \
	} while (0)

/* --- connections ------------------------------------------------------------ */

static int listener(uint16_t *port)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = g_ip };
	CHECK(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(l, 16) == 0);
	socklen_t al = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &al);
	*port = ntohs(a.sin_port);
	return l;
}

static int connect_to(uint16_t port)
{
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = g_ip, .sin_port = htons(port) };
	CHECK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return c;
}

/* A connected pair: *c the client, *a the accepted end (non-blocking). */
static void pair(int *c, int *a)
{
	uint16_t port;
	int l = listener(&port);
	*c = connect_to(port);
	*a = accept(l, NULL, NULL);
	CHECK(*a >= 0);
	close(l);
	fcntl(*a, F_SETFL, O_NONBLOCK);
	int one = 1;
	setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void put(int fd, size_t n)
{
	char b[256];
	memset(b, 'x', sizeof(b));
	CHECK(n <= sizeof(b) && send(fd, b, n, 0) == (ssize_t)n);
}

/* Reads n bytes (all there is when n is 0) of a non-blocking socket;
 * returns how many, -1 at EOF. */
static long take(int fd, size_t n)
{
	char b[4096];
	long got = 0;
	for (;;) {
		size_t want = n ? n - (size_t)got : sizeof(b);
		if (n && want == 0)
			return got;
		ssize_t r = recv(fd, b, want < sizeof(b) ? want : sizeof(b), MSG_DONTWAIT);
		if (r == 0)
			return got ? got : -1;
		if (r < 0) {
			if (n) { /* the rest is on its way */
				struct pollfd p = { .fd = fd, .events = POLLIN };
				if (poll(&p, 1, 2000) == 1)
					continue;
			}
			return got;
		}
		got += r;
	}
}

/* --- events as text --------------------------------------------------------- */

static const char *g_tags[64];

static void tag(unsigned t, const char *name) { g_tags[t] = name; }

static void mask_str(uint32_t m, char *out)
{
	static const struct { uint32_t bit; const char *name; } b[] = {
		{ EPOLLIN, "IN" }, { EPOLLPRI, "PRI" }, { EPOLLOUT, "OUT" }, { EPOLLRDNORM, "RDNORM" },
		{ EPOLLWRNORM, "WRNORM" }, { EPOLLRDHUP, "RDHUP" }, { EPOLLERR, "ERR" }, { EPOLLHUP, "HUP" },
	};
	out[0] = 0;
	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++)
		if (m & b[i].bit) {
			if (out[0])
				strcat(out, "|");
			strcat(out, b[i].name);
			m &= ~b[i].bit;
		}
	if (m)
		sprintf(out + strlen(out), "%s0x%x", out[0] ? "|" : "", m);
	if (!out[0])
		strcpy(out, "0");
}

static int ev_cmp(const void *x, const void *y)
{
	const struct epoll_event *a = x, *b = y;
	return a->data.u64 < b->data.u64 ? -1 : a->data.u64 > b->data.u64;
}

/* One epoll_wait, printed as "what: n [tag MASK ...]". */
static int wait_print(const char *what, int ep, int ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(ep, ev, 16, ms);
	printf("%s: ", what);
	if (n < 0) {
		printf("-1 %s\n", strerrorname_np(errno));
		return n;
	}
	qsort(ev, (size_t)n, sizeof(ev[0]), ev_cmp);
	printf("%d", n);
	for (int i = 0; i < n; i++) {
		char m[128];
		mask_str(ev[i].events, m);
		unsigned t = (unsigned)ev[i].data.u64;
		printf(" [%s %s]", t < 64 && g_tags[t] ? g_tags[t] : "?", m);
	}
	printf("\n");
	return n;
}

static int add(int ep, int fd, uint32_t events, unsigned t)
{
	struct epoll_event e = { .events = events, .data.u64 = t };
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

static int mod(int ep, int fd, uint32_t events, unsigned t)
{
	struct epoll_event e = { .events = events, .data.u64 = t };
	return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

static void res(const char *what, int r)
{
	printf("%s: %s\n", what, r == 0 ? "0" : r > 0 ? "positive" : strerrorname_np(errno));
}

/* --- scenarios -------------------------------------------------------------- */

static void sc_level(void)
{
	int c, a, ep = epoll_create1(0);
	pair(&c, &a);
	tag(1, "a");
	tag(2, "c");
	CHECK(add(ep, a, EPOLLIN, 1) == 0);
	wait_print("lt idle", ep, 0);
	put(c, 10);
	wait_print("lt data", ep, 2000);
	wait_print("lt again", ep, 0);
	printf("lt read 4: %ld\n", take(a, 4));
	wait_print("lt rest", ep, 0);
	printf("lt read rest: %ld\n", take(a, 6));
	wait_print("lt drained", ep, 0);
	CHECK(add(ep, c, EPOLLOUT, 2) == 0);
	wait_print("lt out", ep, 0);
	wait_print("lt out again", ep, 0);
	close(c);
	close(a);
	close(ep);
}

static void sc_edge(void)
{
	int c, a, ep = epoll_create1(0);
	pair(&c, &a);
	tag(1, "a");
	tag(2, "c");
	CHECK(add(ep, a, EPOLLIN | EPOLLET, 1) == 0);
	wait_print("et idle", ep, 0);
	put(c, 10);
	wait_print("et data", ep, 2000);
	wait_print("et again", ep, 0);
	printf("et read 4: %ld\n", take(a, 4));
	wait_print("et after part", ep, 0);
	put(c, 10);
	wait_print("et more data", ep, 2000);
	wait_print("et more again", ep, 0);
	printf("et read rest: %ld\n", take(a, 16));
	wait_print("et drained", ep, 0);
	CHECK(mod(ep, a, EPOLLIN | EPOLLET, 1) == 0);
	wait_print("et rearmed empty", ep, 0);
	put(c, 5);
	wait_print("et data 2", ep, 2000);
	CHECK(mod(ep, a, EPOLLIN | EPOLLET, 1) == 0);
	wait_print("et mod re-reports", ep, 0);
	CHECK(add(ep, c, EPOLLOUT | EPOLLET, 2) == 0);
	wait_print("et out", ep, 0);
	wait_print("et out again", ep, 0);
	close(c);
	close(a);
	close(ep);
}

static void sc_oneshot(void)
{
	int c, a, ep = epoll_create1(0);
	pair(&c, &a);
	tag(1, "a");
	CHECK(add(ep, a, EPOLLIN | EPOLLONESHOT, 1) == 0);
	put(c, 10);
	wait_print("oneshot data", ep, 2000);
	wait_print("oneshot disabled", ep, 0);
	put(c, 10);
	wait_print("oneshot more data", ep, 50);
	CHECK(mod(ep, a, EPOLLIN | EPOLLONESHOT, 1) == 0);
	wait_print("oneshot rearmed", ep, 0);
	wait_print("oneshot disabled again", ep, 0);
	printf("oneshot read: %ld\n", take(a, 20));
	CHECK(mod(ep, a, EPOLLIN | EPOLLONESHOT, 1) == 0);
	wait_print("oneshot rearmed empty", ep, 0);
	put(c, 1);
	wait_print("oneshot armed data", ep, 2000);
	res("oneshot del", epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL));
	res("oneshot del again", epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL));
	close(c);
	close(a);
	close(ep);
}

static void sc_hup(void)
{
	int c, a, ep = epoll_create1(0);
	pair(&c, &a);
	tag(1, "a");
	tag(2, "c");
	CHECK(add(ep, a, EPOLLIN | EPOLLRDHUP, 1) == 0);
	put(c, 3);
	wait_print("rdhup data", ep, 2000);
	shutdown(c, SHUT_WR);
	/* the FIN is behind the data: wait until it is here */
	for (int i = 0; i < 200; i++) {
		struct pollfd p = { .fd = a, .events = POLLRDHUP };
		if (poll(&p, 1, 10) == 1)
			break;
	}
	wait_print("rdhup fin", ep, 2000);
	printf("rdhup read: %ld\n", take(a, 0));
	wait_print("rdhup eof", ep, 0);
	CHECK(mod(ep, a, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 1) == 0);
	wait_print("rdhup in out", ep, 0);
	shutdown(a, SHUT_WR);
	wait_print("rdhup both shut", ep, 0);
	close(a);
	close(c);

	/* a reset: the peer closes with unread data */
	pair(&c, &a);
	CHECK(add(ep, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 2) == 0);
	put(c, 10);
	usleep(100000);
	struct linger lg = { 1, 0 };
	setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(a);
	for (int i = 0; i < 200; i++) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		if (poll(&p, 1, 10) == 1 && (p.revents & (POLLERR | POLLHUP)))
			break;
	}
	wait_print("rst", ep, 2000);
	int err = 0;
	socklen_t el = sizeof(err);
	getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el);
	printf("rst so_error: %s\n", err ? strerrorname_np(err) : "0");
	wait_print("rst after so_error", ep, 0);
	close(c);
	close(ep);
}

static void sc_listen(void)
{
	uint16_t port;
	int l = listener(&port), ep = epoll_create1(0);
	tag(1, "l");
	fcntl(l, F_SETFL, O_NONBLOCK);
	CHECK(add(ep, l, EPOLLIN | EPOLLOUT, 1) == 0);
	wait_print("listen idle", ep, 0);
	int c1 = connect_to(port), c2 = connect_to(port);
	wait_print("listen 2 pending", ep, 2000);
	int a1 = accept(l, NULL, NULL);
	wait_print("listen 1 pending", ep, 0);
	int a2 = accept(l, NULL, NULL);
	CHECK(a1 >= 0 && a2 >= 0);
	wait_print("listen none pending", ep, 0);
	errno = 0;
	printf("listen accept empty: %s\n", accept(l, NULL, NULL) < 0 ? strerrorname_np(errno) : "fd");
	close(c1);
	close(c2);
	close(a1);
	close(a2);
	close(l);
	close(ep);
}

static void sc_ctl_errors(void)
{
	int c, a, ep = epoll_create1(0), ep2 = epoll_create1(0);
	pair(&c, &a);
	struct epoll_event e = { .events = EPOLLIN };
	res("ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, a, &e));
	res("ctl add twice", epoll_ctl(ep, EPOLL_CTL_ADD, a, &e));
	res("ctl mod absent", epoll_ctl(ep, EPOLL_CTL_MOD, c, &e));
	res("ctl del absent", epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL));
	res("ctl bad op", epoll_ctl(ep, 99, a, &e));
	res("ctl self", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
	res("ctl bad fd", epoll_ctl(ep, EPOLL_CTL_ADD, 9999, &e));
	res("ctl not an epoll fd", epoll_ctl(c, EPOLL_CTL_ADD, a, &e));
	int f = open("/proc/self/exe", O_RDONLY);
	res("ctl regular file", epoll_ctl(ep, EPOLL_CTL_ADD, f, &e));
	close(f);
	struct epoll_event x = { .events = EPOLLIN | EPOLLEXCLUSIVE };
	res("ctl exclusive add", epoll_ctl(ep2, EPOLL_CTL_ADD, a, &x));
	res("ctl exclusive mod", epoll_ctl(ep2, EPOLL_CTL_MOD, a, &x));
	struct epoll_event y = { .events = EPOLLIN };
	res("ctl mod of exclusive", epoll_ctl(ep2, EPOLL_CTL_MOD, a, &y));
	struct epoll_event z = { .events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT };
	res("ctl exclusive oneshot", epoll_ctl(ep2, EPOLL_CTL_ADD, c, &z));
	res("ctl exclusive epoll fd", epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &x));
	struct epoll_event ev[4];
	errno = 0;
	printf("wait maxevents 0: %s\n", epoll_wait(ep, ev, 0, 0) < 0 ? strerrorname_np(errno) : "ok");
	close(c);
	close(a);
	close(ep);
	close(ep2);
}

/* Stack sockets, a unix socket, a pipe, an eventfd and a timerfd in one
 * set, each made ready in turn. */
static void sc_mixed(void)
{
	int c, a, ep = epoll_create1(0), pp[2], us[2];
	pair(&c, &a);
	CHECK(pipe2(pp, O_NONBLOCK) == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, us) == 0);
	int efd = eventfd(0, EFD_NONBLOCK), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	tag(1, "tcp");
	tag(2, "pipe");
	tag(3, "unix");
	tag(4, "eventfd");
	tag(5, "timerfd");
	tag(6, "tcp-et");
	CHECK(add(ep, a, EPOLLIN, 1) == 0);
	CHECK(add(ep, pp[0], EPOLLIN, 2) == 0);
	CHECK(add(ep, us[0], EPOLLIN, 3) == 0);
	CHECK(add(ep, efd, EPOLLIN | EPOLLET, 4) == 0);
	CHECK(add(ep, tfd, EPOLLIN, 5) == 0);
	wait_print("mixed idle", ep, 0);
	CHECK(write(pp[1], "p", 1) == 1);
	wait_print("mixed pipe", ep, 2000);
	uint64_t one = 1;
	CHECK(write(efd, &one, 8) == 8);
	wait_print("mixed pipe eventfd", ep, 2000);
	wait_print("mixed eventfd told once", ep, 0);
	char b[8];
	CHECK(read(pp[0], b, 1) == 1);
	put(c, 7);
	wait_print("mixed tcp", ep, 2000);
	printf("mixed tcp read: %ld\n", take(a, 7));
	CHECK(write(us[1], "u", 1) == 1);
	wait_print("mixed unix", ep, 2000);
	CHECK(read(us[0], b, 1) == 1);
	struct itimerspec it = { .it_value = { 0, 50 * 1000000 } };
	timerfd_settime(tfd, 0, &it, NULL);
	wait_print("mixed timerfd", ep, 2000);
	CHECK(read(tfd, &one, 8) == 8);
	wait_print("mixed quiet", ep, 0);
	/* all at once */
	CHECK(write(pp[1], "p", 1) == 1);
	CHECK(write(us[1], "u", 1) == 1);
	CHECK(write(efd, &one, 8) == 8);
	put(c, 2);
	usleep(100000);
	for (int i = 0; i < 200; i++) { /* the TCP bytes are here */
		struct pollfd p = { .fd = a, .events = POLLIN };
		if (poll(&p, 1, 10) == 1)
			break;
	}
	wait_print("mixed all", ep, 2000);
	close(c);
	close(a);
	close(pp[0]);
	close(pp[1]);
	close(us[0]);
	close(us[1]);
	close(efd);
	close(tfd);
	close(ep);
}

/* An epoll fd holding a stack socket, inside another epoll set, in poll
 * and in select. */
static void sc_nested(void)
{
	int c, a, in = epoll_create1(0), out = epoll_create1(0), pp[2], k;
	pair(&c, &a);
	CHECK(pipe2(pp, O_NONBLOCK) == 0);
	tag(1, "a");
	tag(2, "inner");
	tag(3, "pipe");
	CHECK(add(out, in, EPOLLIN, 2) == 0); /* before the inner set has anything */
	CHECK(add(in, a, EPOLLIN, 1) == 0);
	CHECK(add(out, pp[0], EPOLLIN, 3) == 0);
	wait_print("nested idle", out, 0);
	struct pollfd p = { .fd = in, .events = POLLIN };
	printf("nested poll idle: %d\n", poll(&p, 1, 0));
	put(c, 4);
	wait_print("nested data", out, 2000);
	wait_print("nested data again", out, 0);
	p.revents = 0;
	k = poll(&p, 1, 0);
	printf("nested poll: %d revents %s\n", k, p.revents == POLLIN ? "IN" : p.revents == (POLLIN | POLLRDNORM) ? "IN|RDNORM" : "other");
	fd_set r;
	FD_ZERO(&r);
	FD_SET(in, &r);
	struct timeval tv = { 0, 0 };
	k = select(in + 1, &r, NULL, NULL, &tv);
	printf("nested select: %d %s\n", k, FD_ISSET(in, &r) ? "set" : "clear");
	wait_print("nested inner", in, 0);
	printf("nested read: %ld\n", take(a, 4));
	wait_print("nested drained", out, 0);
	p.revents = 0;
	printf("nested poll drained: %d\n", poll(&p, 1, 0));
	/* the inner set's kernel side: a pipe in it */
	int q[2];
	CHECK(pipe2(q, O_NONBLOCK) == 0);
	tag(4, "inner-pipe");
	CHECK(add(in, q[0], EPOLLIN, 4) == 0);
	CHECK(write(q[1], "q", 1) == 1);
	wait_print("nested inner pipe", out, 2000);
	wait_print("nested inner has", in, 0);
	char b[4];
	CHECK(read(q[0], b, 1) == 1);
	/* a blocking outer wait woken by the stack socket in the inner set */
	put(c, 1);
	wait_print("nested wakes", out, 2000);
	printf("nested read 2: %ld\n", take(a, 1));
	/* the outer set told of the inner once when edge-triggered */
	CHECK(mod(out, in, EPOLLIN | EPOLLET, 2) == 0);
	put(c, 1);
	wait_print("nested et", out, 2000);
	wait_print("nested et again", out, 0);
	printf("nested read 3: %ld\n", take(a, 1));
	close(q[0]);
	close(q[1]);
	close(c);
	close(a);
	close(pp[0]);
	close(pp[1]);
	close(in);
	close(out);
}

/* Several threads each waiting on its own epoll set holding one listener
 * with EPOLLEXCLUSIVE: a connection wakes one of them, not all. */
#define WAITERS 3
static int g_lfd;
static atomic_int g_woken, g_accepted, g_stop;

static void *excl_waiter(void *arg)
{
	int ep = *(int *)arg;
	while (!atomic_load(&g_stop)) {
		struct epoll_event e;
		int n = epoll_wait(ep, &e, 1, 100);
		if (n == 1) {
			atomic_fetch_add(&g_woken, 1);
			int fd;
			while ((fd = accept(g_lfd, NULL, NULL)) >= 0) {
				atomic_fetch_add(&g_accepted, 1);
				close(fd);
			}
		}
	}
	return NULL;
}

static void sc_exclusive(void)
{
	uint16_t port;
	g_lfd = listener(&port);
	fcntl(g_lfd, F_SETFL, O_NONBLOCK);
	int eps[WAITERS];
	pthread_t t[WAITERS];
	for (int i = 0; i < WAITERS; i++) {
		eps[i] = epoll_create1(0);
		CHECK(add(eps[i], g_lfd, EPOLLIN | EPOLLEXCLUSIVE, 1) == 0);
		pthread_create(&t[i], NULL, excl_waiter, &eps[i]);
	}
	usleep(300000); /* all asleep in epoll_wait */
	int cs[5];
	for (int k = 0; k < 5; k++) {
		cs[k] = connect_to(port);
		for (int i = 0; i < 200 && atomic_load(&g_accepted) < k + 1; i++)
			usleep(10000);
		usleep(150000); /* time for any other waiter to wake too */
	}
	atomic_store(&g_stop, 1);
	for (int i = 0; i < WAITERS; i++)
		pthread_join(t[i], NULL);
	int w = atomic_load(&g_woken);
	printf("exclusive: 5 connections, accepted %d, one waiter woken per connection: %s\n",
	       atomic_load(&g_accepted), w == 5 ? "yes" : w > 5 ? "no (more)" : "no (fewer)");
	if (w != 5)
		printf("exclusive: woken %d\n", w);
	for (int k = 0; k < 5; k++)
		close(cs[k]);
	for (int i = 0; i < WAITERS; i++)
		close(eps[i]);
	close(g_lfd);
}

static void sc_pwait2(void)
{
	int c, a, ep = epoll_create1(0);
	pair(&c, &a);
	CHECK(add(ep, a, EPOLLIN, 1) == 0);
	struct epoll_event e;
	struct timespec ts = { 0, 20 * 1000000 }, t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int n = epoll_pwait2(ep, &e, 1, &ts, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	printf("pwait2 timeout: %d, slept at least 20 ms: %s\n", n, ms >= 19 ? "yes" : "no");
	put(c, 1);
	ts.tv_sec = 2;
	n = epoll_pwait2(ep, &e, 1, &ts, NULL);
	printf("pwait2 data: %d %s\n", n, n == 1 && e.events == EPOLLIN ? "IN" : "other");
	struct timespec bad = { 0, 1000000000 };
	errno = 0;
	n = epoll_pwait2(ep, &e, 1, &bad, NULL);
	printf("pwait2 bad timespec: %d %s\n", n, n < 0 ? strerrorname_np(errno) : "");
	close(c);
	close(a);
	close(ep);
}

/* A dup of a socket in a set keeps it there after the first fd closes: the
 * set holds the open file, as the kernel's does. */
static void sc_dup_close(void)
{
	int c, a, ep = epoll_create1(0);
	pair(&c, &a);
	tag(1, "a");
	CHECK(add(ep, a, EPOLLIN, 1) == 0);
	int d = dup(a);
	close(a);
	put(c, 2);
	wait_print("dup: first fd closed, data", ep, 2000);
	printf("dup: read: %ld\n", take(d, 2));
	close(d);
	put(c, 2);
	wait_print("dup: both closed", ep, 50);
	close(c);
	close(ep);
}

/* select with a descriptor above FD_SETSIZE, on sets sized by the program. */
static void sc_select_big(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2100 && rl.rlim_max >= 2100) {
		rl.rlim_cur = 2100;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int c, a;
	pair(&c, &a);
	int big = dup2(a, 2000), bigc = dup2(c, 2001);
	if (big != 2000 || bigc != 2001) {
		printf("select big: no fd 2000 (%s)\n", strerrorname_np(errno));
		return;
	}
	close(a);
	close(c);
	size_t words = (2048 + 8 * sizeof(long) - 1) / (8 * sizeof(long));
	unsigned long *r = calloc(words, sizeof(long)), *w = calloc(words, sizeof(long));
#define BSET(s, fd) ((s)[(fd) / (8 * sizeof(long))] |= 1ul << ((fd) % (8 * sizeof(long))))
#define BISSET(s, fd) (((s)[(fd) / (8 * sizeof(long))] >> ((fd) % (8 * sizeof(long)))) & 1)
	BSET(r, 2000);
	BSET(w, 2001);
	struct timeval tv = { 0, 0 };
	int k = select(2002, (fd_set *)r, (fd_set *)w, NULL, &tv);
	printf("select big idle: %d r2000 %lu w2001 %lu\n", k, BISSET(r, 2000), BISSET(w, 2001));
	put(2001, 3);
	memset(r, 0, words * sizeof(long));
	memset(w, 0, words * sizeof(long));
	BSET(r, 2000);
	tv.tv_sec = 2;
	k = select(2001, (fd_set *)r, NULL, NULL, &tv);
	printf("select big data: %d r2000 %lu\n", k, BISSET(r, 2000));
	close(2000);
	close(2001);
	free(r);
	free(w);
}

/* Signal-driven I/O: O_ASYNC with F_SETOWN gives SIGIO on arrivals,
 * urgent data SIGURG; none once O_ASYNC is off. */
static volatile sig_atomic_t g_sigio, g_sigurg;
static void on_sig(int sig)
{
	if (sig == SIGIO)
		g_sigio++;
	else
		g_sigurg++;
}

static const char *sig_wait(volatile sig_atomic_t *n, int ms)
{
	for (int i = 0; i < ms / 10 && *n == 0; i++)
		usleep(10000);
	return *n ? "yes" : "no";
}

static void sc_signals(void)
{
	struct sigaction sa = { .sa_handler = on_sig };
	sigaction(SIGIO, &sa, NULL);
	sigaction(SIGURG, &sa, NULL);
	int c, a;
	pair(&c, &a);
	res("sig F_SETOWN", fcntl(a, F_SETOWN, getpid()));
	printf("sig F_GETOWN is us: %s\n", fcntl(a, F_GETOWN) == getpid() ? "yes" : "no");
	int fl = fcntl(a, F_GETFL);
	res("sig F_SETFL O_ASYNC", fcntl(a, F_SETFL, fl | O_ASYNC));
	printf("sig F_GETFL O_ASYNC: %s\n", (fcntl(a, F_GETFL) & O_ASYNC) ? "yes" : "no");
	usleep(50000);
	g_sigio = 0;
	put(c, 5);
	printf("sig SIGIO on data: %s\n", sig_wait(&g_sigio, 2000));
	printf("sig read: %ld\n", take(a, 5));
	CHECK(send(c, "u", 1, MSG_OOB) == 1);
	printf("sig SIGURG on urgent data: %s\n", sig_wait(&g_sigurg, 2000));
	char u;
	printf("sig oob read: %zd\n", recv(a, &u, 1, MSG_OOB));
	res("sig F_SETFL without O_ASYNC", fcntl(a, F_SETFL, fl));
	printf("sig F_GETFL O_ASYNC after: %s\n", (fcntl(a, F_GETFL) & O_ASYNC) ? "yes" : "no");
	usleep(100000);
	g_sigio = 0;
	put(c, 5);
	printf("sig read 2: %ld\n", take(a, 5));
	printf("sig SIGIO with O_ASYNC off: %s\n", sig_wait(&g_sigio, 200));
	int on = 1;
	res("sig FIOASYNC", ioctl(a, FIOASYNC, &on));
	g_sigio = 0;
	put(c, 5);
	printf("sig SIGIO after FIOASYNC: %s\n", sig_wait(&g_sigio, 2000));
	close(c);
	close(a);
	signal(SIGIO, SIG_IGN);
	signal(SIGURG, SIG_DFL);
}

static const struct {
	const char *name;
	void (*fn)(void);
} g_sc[] = {
	{ "level", sc_level }, { "edge", sc_edge }, { "oneshot", sc_oneshot }, { "hup", sc_hup },
	{ "listen", sc_listen }, { "ctl-errors", sc_ctl_errors }, { "mixed", sc_mixed },
	{ "nested", sc_nested }, { "exclusive", sc_exclusive }, { "pwait2", sc_pwait2 },
	{ "dup-close", sc_dup_close }, { "select-big", sc_select_big }, { "signals", sc_signals },
};

/* With --hold DIR: at the end a connection stays open, DIR/hold says so,
 * until DIR/go appears (at most 30 s), so that zcstat can look. */
static void hold(const char *dir)
{
	int c, a;
	pair(&c, &a);
	char p[512];
	snprintf(p, sizeof(p), "%s/hold", dir);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	snprintf(p, sizeof(p), "%s/go", dir);
	for (int i = 0; i < 3000 && access(p, F_OK) != 0; i++)
		usleep(10000);
	close(c);
	close(a);
}

int main(int argc, char **argv)
{
	const char *hold_dir = NULL;
	if (argc >= 3 && strcmp(argv[1], "--hold") == 0) {
		hold_dir = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2 || inet_pton(AF_INET, argv[1], &g_ip) != 1) {
		fprintf(stderr, "usage: epoll_conf [--hold DIR] IP [SCENARIO...]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(g_sc) / sizeof(g_sc[0]); i++) {
		bool run = argc == 2;
		for (int k = 2; k < argc; k++)
			run |= strcmp(argv[k], g_sc[i].name) == 0;
		if (!run)
			continue;
		printf("== %s\n", g_sc[i].name);
		memset(g_tags, 0, sizeof(g_tags));
		g_sc[i].fn();
	}
	if (hold_dir)
		hold(hold_dir);
	return g_failed;
}

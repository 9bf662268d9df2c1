/*
 * udp_bench.c - ping round-trip time and UDP request/response rate of the
 * stack, beside the Linux kernel, measured side by side in one run.
 *
 *   udp_bench [--seconds S] [--size B] [--csv FILE] [--no-tap]
 *
 * Paths (each measured for S seconds per test, one request in flight):
 *   trapeze   two stack processes on a Trapeze wire (a forked responder)
 *   tap       the stack on DPDK net_tap, the Linux kernel as peer: it answers
 *             the pings itself and a kernel UDP echo thread answers the
 *             datagrams; all in a network namespace the bench makes (root)
 *   kernel    the kernel's own ICMP echo and UDP echo over loopback
 * Tests: "ping" (56-byte ICMP echo) and "udp" (B-byte datagram echoed).
 * Reported: median and p99 round trip (us), transactions per second, and
 * the requesting thread's CPU time per transaction (us): a stack thread
 * busy-polls, so its CPU time equals its wall time; the kernel's client
 * sleeps in recv.
 */
#include "nic/open.h"
#include "stack/log.h"
#include "stack/stack.h"
#include "stack/wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PORT 7007
#define PING_BYTES 56      /* ICMP echo payload: ping(8)'s default */
#define MAX_DATAGRAM 1472  /* --size: a 1500-byte MTU less the IPv4 (20) and UDP (8) headers */
#define DGRAM_BUF 65536    /* receive buffers: the largest datagram */
#define PROBE_SEQ 60000    /* the first pings' sequence number, apart from the timed ones' */
#define FIRST_PINGS 50     /* first pings (ARP, a link coming up) before the peer counts as gone */
#define STACK_PING_ID 0x5a5a /* ICMP echo ids: any two, so that each side's replies are its own */
#define KERNEL_PING_ID 0x4b4b
/* How long a stack side waits or polls (ns). */
#define REPLY_NS 100000000ull        /* a request's reply: after 100 ms it counts as lost */
#define FIRST_REPLY_NS 200000000ull  /* a first ping's reply */
#define WARM_NS 1000000000ull        /* the warm-up datagram's reply */
#define BYE_DRAIN_NS 50000000ull     /* the client after "BYE", so that it goes out */
#define LINGER_NS 20000000ull        /* the responder after "BYE" (its last replies) */
/* The paths' addresses (host order): 10.6.0.1-2 on the Trapeze wire,
 * 10.9.1.1 (the kernel) and 10.9.1.2 (the stack) on the tap device. */
#define TRAPEZE_IP0 0x0a060001u
#define TRAPEZE_IP1 0x0a060002u
#define TAP_KERNEL_IP 0x0a090101u
#define TAP_STACK_IP 0x0a090102u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct result {
	char path[16], test[8];
	uint64_t n, lost;
	double median_us, p99_us, rate, cpu_us;
};

struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void add_sample(struct samples *s, uint64_t x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (s->v == NULL)
			abort();
	}
	s->v[s->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void finish(struct result *r, const char *path, const char *test, struct samples *s,
		   uint64_t lost, uint64_t wall, uint64_t cpu)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->test, sizeof(r->test), "%s", test);
	r->n = s->n;
	r->lost = lost;
	if (s->n) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
		r->median_us = (double)s->v[s->n / 2] / 1e3;
		r->p99_us = (double)s->v[(s->n * 99) / 100] / 1e3;
		r->rate = (double)s->n / ((double)wall / 1e9);
		r->cpu_us = (double)cpu / 1e3 / (double)s->n;
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Run once(ctx, i) for `secs`; each true return is a timed transaction. */
typedef bool (*once_fn)(void *ctx, uint32_t i);

static void timed(const char *path, const char *test, double secs, once_fn once, void *ctx,
		  struct result *r)
{
	struct samples s = { 0 };
	uint64_t lost = 0, t0 = now_ns(), c0 = cpu_ns(), end = t0 + (uint64_t)(secs * 1e9);
	for (uint32_t i = 0; now_ns() < end; i++) {
		uint64_t a = now_ns();
		if (once(ctx, i))
			add_sample(&s, now_ns() - a);
		else
			lost++;
	}
	finish(r, path, test, &s, lost, now_ns() - t0, cpu_ns() - c0);
}

static uint8_t *pattern(size_t size)
{
	uint8_t *d = malloc(size);
	if (d == NULL)
		abort();
	for (size_t i = 0; i < size; i++)
		d[i] = (uint8_t)(i * 13);
	return d;
}

/* --- the stack side ------------------------------------------------------- */

static bool stack_ping_once(struct zc_stack *st, uint32_t peer, uint16_t seq, uint64_t timeout)
{
	uint8_t d[PING_BYTES], in[128];
	memset(d, (int)seq, sizeof(d));
	if (zc_ping_send(st, peer, seq, d, sizeof(d)) != 0)
		return false;
	for (uint64_t end = now_ns() + timeout; now_ns() < end;) {
		zc_stack_poll(st, now_ns());
		uint16_t s;
		while (zc_ping_recv(st, &s, NULL, in, sizeof(in)) >= 0)
			if (s == seq)
				return true;
	}
	return false;
}

static bool stack_udp_once(struct zc_stack *st, struct zc_udp_sock *u, uint32_t peer, const uint8_t *d,
			   size_t n, uint64_t timeout)
{
	static uint8_t in[DGRAM_BUF];
	if (zc_udp_sendto(u, d, n, peer, PORT) < 0)
		return false;
	for (uint64_t end = now_ns() + timeout; now_ns() < end;) {
		zc_stack_poll(st, now_ns());
		ssize_t r;
		while ((r = zc_udp_recvfrom(u, in, sizeof(in), NULL, NULL)) >= 0)
			if ((size_t)r == n && memcmp(in, d, n) == 0)
				return true;
	}
	return false;
}

struct stack_ctx {
	struct zc_stack *st;
	struct zc_udp_sock *u;
	uint32_t peer;
	uint8_t *d;
	size_t size;
};

static bool stack_ping_i(void *c, uint32_t i)
{
	struct stack_ctx *x = c;
	return stack_ping_once(x->st, x->peer, (uint16_t)i, REPLY_NS);
}

static bool stack_udp_i(void *c, uint32_t i)
{
	struct stack_ctx *x = c;
	x->d[0] = (uint8_t)i;
	return stack_udp_once(x->st, x->u, x->peer, x->d, x->size, REPLY_NS);
}

/* Ping then UDP against peer for `secs` each; results into r[0], r[1]. */
static int stack_measure(struct zc_stack *st, const char *path, uint32_t peer, double secs,
			 size_t size, struct result *r)
{
	zc_ping_open(st, STACK_PING_ID);
	bool up = false;
	for (int i = 0; i < FIRST_PINGS && !up; i++) /* ARP, and a link coming up */
		up = stack_ping_once(st, peer, PROBE_SEQ, FIRST_REPLY_NS);
	if (!up) {
		fprintf(stderr, "udp_bench: %s: the peer does not answer\n", path);
		zc_ping_close(st);
		return -1;
	}
	struct stack_ctx x = { .st = st, .peer = peer, .size = size };
	timed(path, "ping", secs, stack_ping_i, &x, &r[0]);
	zc_ping_close(st);

	x.u = zc_udp_open(st);
	x.d = pattern(size);
	stack_udp_once(st, x.u, peer, x.d, size, WARM_NS); /* warm up */
	timed(path, "udp", secs, stack_udp_i, &x, &r[1]);
	zc_udp_sendto(x.u, "BYE", 3, peer, PORT);
	for (uint64_t e2 = now_ns() + BYE_DRAIN_NS; now_ns() < e2;)
		zc_stack_poll(st, now_ns());
	zc_udp_close(x.u);
	free(x.d);
	return 0;
}

static struct zc_stack *stack_on(const char *nic, uint32_t ip, struct zc_netif **nif)
{
	*nif = zc_nic_open(nic);
	if (*nif == NULL)
		return NULL;
	struct zc_stack_config c = { .nif = *nif, .ip = ip, .prefix_len = 24, .seed = (uint64_t)getpid(),
				     .now = now_ns() };
	struct zc_stack *st = zc_stack_create(&c);
	if (st == NULL)
		zc_netif_close(*nif);
	return st;
}

/* A busy-polling stack that echoes UDP to PORT until "BYE" or `secs`. */
static void stack_responder(const char *nic, uint32_t ip, double secs)
{
	struct zc_netif *nif;
	struct zc_stack *st = stack_on(nic, ip, &nif);
	if (st == NULL)
		_exit(2);
	struct zc_udp_sock *u = zc_udp_open(st);
	zc_udp_bind(u, 0, PORT);
	static uint8_t b[DGRAM_BUF];
	for (uint64_t end = now_ns() + (uint64_t)(secs * 1e9); now_ns() < end;) {
		zc_stack_poll(st, now_ns());
		uint32_t from;
		uint16_t port;
		ssize_t n;
		while ((n = zc_udp_recvfrom(u, b, sizeof(b), &from, &port)) >= 0) {
			if (n == 3 && memcmp(b, "BYE", 3) == 0)
				goto out;
			zc_udp_sendto(u, b, (size_t)n, from, port);
		}
	}
out:
	for (uint64_t e2 = now_ns() + LINGER_NS; now_ns() < e2;)
		zc_stack_poll(st, now_ns());
	zc_udp_close(u);
	zc_stack_destroy(st);
	zc_netif_close(nif);
	_exit(0);
}

/* --- the kernel side ------------------------------------------------------ */

struct echo_arg {
	int fd;
};

static void *kernel_echo(void *p)
{
	struct echo_arg *a = p;
	static uint8_t b[DGRAM_BUF];
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(a->fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return NULL;
		if (n == 3 && memcmp(b, "BYE", 3) == 0)
			return NULL;
		sendto(a->fd, b, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static int kernel_echo_start(uint32_t ip, pthread_t *t, struct echo_arg *a)
{
	a->fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(PORT), .sin_addr.s_addr = htonl(ip) };
	int one = 1;
	setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->fd < 0 || bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("udp_bench: kernel echo bind");
		return -1;
	}
	return pthread_create(t, NULL, kernel_echo, a);
}

struct kernel_ctx {
	int fd;
	struct sockaddr_in to;
	uint8_t *d, *in;
	size_t size;
};

static bool kernel_ping_i(void *c, uint32_t i)
{
	struct kernel_ctx *x = c;
	uint8_t pkt[8 + PING_BYTES], in[256]; /* ICMP header and payload */
	uint16_t seq = (uint16_t)i;
	memset(pkt, (int)seq, sizeof(pkt));
	struct zc_icmp ic = { .type = ZC_ICMP_ECHO_REQUEST, .id = KERNEL_PING_ID, .seq = seq };
	zc_icmp_build(pkt, &ic, PING_BYTES);
	sendto(x->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&x->to, sizeof(x->to));
	for (;;) {
		ssize_t n = recv(x->fd, in, sizeof(in), 0);
		if (n < 0)
			return false;
		size_t ihl = (size_t)(in[0] & 15) * 4;
		/* a raw socket on lo also sees our own request */
		if ((size_t)n >= ihl + 8 && in[ihl] == ZC_ICMP_ECHO_REPLY && zc_get16(in + ihl + 6) == seq)
			return true;
	}
}

static bool kernel_udp_i(void *c, uint32_t i)
{
	struct kernel_ctx *x = c;
	x->d[0] = (uint8_t)i;
	send(x->fd, x->d, x->size, 0);
	ssize_t n = recv(x->fd, x->in, x->size + 1, 0);
	return n == (ssize_t)x->size && memcmp(x->in, x->d, x->size) == 0;
}

/* The kernel's ICMP echo and UDP echo over loopback. */
static int kernel_measure(double secs, size_t size, struct result *r)
{
	struct timeval tv = { 0, (suseconds_t)(REPLY_NS / 1000) };
	struct kernel_ctx x = { .size = size };
	x.to = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(PORT),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	x.fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (x.fd >= 0) {
		setsockopt(x.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		timed("kernel", "ping", secs, kernel_ping_i, &x, &r[0]);
		close(x.fd);
	} else {
		fprintf(stderr, "udp_bench: kernel ping needs a raw socket (root): skipped\n");
		memset(&r[0], 0, sizeof(r[0]));
	}

	pthread_t t;
	struct echo_arg ea;
	if (kernel_echo_start(INADDR_LOOPBACK, &t, &ea) != 0)
		return -1;
	x.fd = socket(AF_INET, SOCK_DGRAM, 0);
	connect(x.fd, (struct sockaddr *)&x.to, sizeof(x.to));
	setsockopt(x.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	x.d = pattern(size);
	x.in = malloc(size + 1);
	timed("kernel", "udp", secs, kernel_udp_i, &x, &r[1]);
	send(x.fd, "BYE", 3, 0);
	pthread_join(t, NULL);
	close(x.fd);
	close(ea.fd);
	free(x.d);
	free(x.in);
	return 0;
}

/* --- the paths ---------------------------------------------------------------- */

static int trapeze_path(double secs, size_t size, struct result *r)
{
	char wire[32], nic0[64], nic1[64];
	snprintf(wire, sizeof(wire), "ub%d", (int)getpid());
	snprintf(nic0, sizeof(nic0), "trapeze:%s,port=0", wire);
	snprintf(nic1, sizeof(nic1), "trapeze:%s,port=1", wire);
	pid_t pid = fork();
	if (pid == 0)
		stack_responder(nic1, TRAPEZE_IP1, 4 * secs + 10); /* both tests and their warm-ups, with room */
	struct zc_netif *nif;
	struct zc_stack *st = stack_on(nic0, TRAPEZE_IP0, &nif);
	int rc = st ? stack_measure(st, "trapeze", TRAPEZE_IP1, secs, size, r) : -1;
	if (st) {
		zc_stack_destroy(st);
		zc_netif_close(nif);
	}
	if (rc)
		kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return rc;
}

/* In a child with its own network namespace: the tap device, its kernel
 * address, a kernel echo thread, the stack measuring against them. Results
 * come back through a pipe. */
static int tap_path(double secs, size_t size, struct result *r)
{
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		fprintf(stderr, "udp_bench: tap path needs root and /dev/net/tun: skipped\n");
		return -1;
	}
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (unshare(CLONE_NEWNET) != 0) {
			perror("udp_bench: unshare(CLONE_NEWNET)");
			_exit(2);
		}
		if (system("ip link set lo up") != 0)
			_exit(2);
		struct zc_netif *nif;
		struct zc_stack *st = stack_on("dpdk:net_tap0,iface=zcb0", TAP_STACK_IP, &nif);
		if (st == NULL)
			_exit(2);
		if (system("ip addr add 10.9.1.1/24 dev zcb0 && ip link set zcb0 up") != 0)
			_exit(2);
		pthread_t t;
		struct echo_arg ea;
		if (kernel_echo_start(TAP_KERNEL_IP, &t, &ea) != 0)
			_exit(2);
		struct result rr[2];
		int rc = stack_measure(st, "tap", TAP_KERNEL_IP, secs, size, rr);
		if (rc == 0)
			pthread_join(t, NULL);
		zc_stack_destroy(st);
		zc_netif_close(nif);
		if (rc == 0 && write(p[1], rr, sizeof(rr)) != (ssize_t)sizeof(rr))
			_exit(2);
		_exit(rc ? 2 : 0);
	}
	close(p[1]);
	ssize_t n = read(p[0], r, 2 * sizeof(*r));
	close(p[0]);
	waitpid(pid, NULL, 0);
	return n == (ssize_t)(2 * sizeof(*r)) ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: udp_bench [--seconds S] [--size BYTES] [--csv FILE] [--no-tap]\n"
		   "  ping RTT and UDP request/response: two stacks on a Trapeze wire, the stack\n"
		   "  against the Linux kernel over DPDK net_tap, and the kernel over loopback.\n");
}

int main(int argc, char **argv)
{
	double secs = 1.5;
	long size = 64;
	const char *csv = NULL;
	bool tap = true;
	static const struct option opts[] = { { "seconds", required_argument, 0, 's' },
					      { "size", required_argument, 0, 'b' },
					      { "csv", required_argument, 0, 'c' },
					      { "no-tap", no_argument, 0, 'n' },
					      { "help", no_argument, 0, 'h' },
					      { 0, 0, 0, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': secs = atof(optarg); break;
		case 'b': size = strtol(optarg, NULL, 0); break;
		case 'c': csv = optarg; break;
		case 'n': tap = false; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (secs <= 0 || secs > 60 || size < 1 || size > MAX_DATAGRAM) {
		fprintf(stderr, "udp_bench: --seconds must be in (0, 60] and --size 1..%d\n", MAX_DATAGRAM);
		return 2;
	}
	zc_log_init_env();
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct result r[6];
	int have[3];
	printf("udp_bench: %.1f s per test, %ld-byte datagrams, one request in flight\n", secs, size);
	have[0] = trapeze_path(secs, (size_t)size, r) == 0;
	have[1] = tap && tap_path(secs, (size_t)size, r + 2) == 0;
	have[2] = kernel_measure(secs, (size_t)size, r + 4) == 0;
	FILE *f = csv ? fopen(csv, "w") : NULL;
	if (csv && f == NULL)
		perror(csv);
	if (f)
		fprintf(f, "path,test,transactions,lost,median_us,p99_us,per_s,cpu_us_per_op\n");
	printf("\n| path    | test | median us | p99 us | transactions/s | CPU us/op | lost |\n"
	       "|---------|------|-----------|--------|----------------|-----------|------|\n");
	for (int i = 0; i < 6; i++) {
		if (!have[i / 2] || r[i].n == 0)
			continue;
		printf("| %-7s | %-4s | %9.1f | %6.1f | %14.0f | %9.1f | %4llu |\n", r[i].path, r[i].test,
		       r[i].median_us, r[i].p99_us, r[i].rate, r[i].cpu_us, (unsigned long long)r[i].lost);
		if (f)
			fprintf(f, "%s,%s,%llu,%llu,%.2f,%.2f,%.0f,%.2f\n", r[i].path, r[i].test,
				(unsigned long long)r[i].n, (unsigned long long)r[i].lost, r[i].median_us,
				r[i].p99_us, r[i].rate, r[i].cpu_us);
	}
	if (have[0] && have[2] && r[5].n && r[1].n)
		printf("\ntrapeze UDP round trip: %.2fx the kernel loopback's (median), %.1fx its rate\n",
		       r[1].median_us / r[5].median_us, r[1].rate / r[5].rate);
	if (have[1] && have[2] && r[3].n && r[5].n)
		printf("tap (kernel peer) UDP round trip: %.2fx the kernel loopback's (median)\n",
		       r[3].median_us / r[5].median_us);
	if (f)
		fclose(f);
	return have[0] && have[2] ? 0 : 1;
}

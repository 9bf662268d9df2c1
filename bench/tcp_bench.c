/*
 * tcp_bench.c - TCP bulk throughput and connection rate of two stack
 * processes on a Trapeze wire (native API, copying), beside the Linux
 * kernel's TCP over loopback, in the same run.
 *
 *   tcp_bench [--seconds S] [--conns N] [--rounds R] [--csv FILE]
 *
 * bulk: one connection; the client writes a 128 KiB buffer again and again
 *   for S seconds (iperf3's pattern), the server reads into a 128 KiB
 *   buffer; throughput is the server's bytes over the time from its first
 *   byte to end of stream. CPU: both processes' user+system time per GB.
 * rate: N times connect, accept, the server closes, the client sees end of
 *   stream and closes (the server side holds TIME_WAIT, as web servers do);
 *   connections per second at the client.
 * Each figure is the median of R rounds, stack and kernel alternating.
 */
#include "nic/open.h"
#include "stack/log.h"
#include "stack/stack.h"
#include "stack/tcp.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF (128u << 10) /* iperf3's default write and read */
#define PORT 5201
#define BACKLOG 128 /* listen() backlog, both sides */
#define MAX_ROUNDS 15 /* --rounds */
#define SERVER_IP 0x0a050002u /* 10.5.0.2 on the wire's port 1; the client 10.5.0.1 on port 0 */
#define CLIENT_IP 0x0a050001u
/* The stack sides' polling and patience (ns). */
#define IDLE_NS 50000ull             /* polling without work this long, then sleep on the NIC */
#define SLEEP_NS 1000000ull          /* the longest such sleep */
#define DEADLINE_NS 60000000000ull   /* a round that takes longer has failed */
#define CLOSE_GRACE_NS 30000000000ull /* the bulk client's handshake and close, past its seconds */
#define LINGER_NS 100000000ull       /* running on after the last close: the last ACKs and FINs */
#define WARM_NS 20000000ull          /* the rate client's ARP and the peer's listener */
#define MAX_CONNS (1u << 20)         /* the rate server's table: every connection in TIME_WAIT */
/* The kernel's client connects until the server listens: every 5 ms, for 1 s. */
#define CONNECT_TRIES 200
#define CONNECT_WAIT_US 5000
/* The stack's client starts this long after the server's fork, so that the
 * server claims its port of the wire (and its address) first. */
#define SERVER_START_US 100000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

struct report {
	uint64_t bytes, conns;
	double secs, cpu;
	int ok;
};

/* --- the stack side ------------------------------------------------------------ */

struct sx {
	struct zc_netif *nif;
	struct zc_stack *st;
	uint64_t idle_since;
};

static int sx_open(struct sx *x, const char *wire, int port, uint32_t ip)
{
	char spec[96];
	snprintf(spec, sizeof(spec), "trapeze:%s,port=%d", wire, port);
	x->nif = zc_nic_open(spec);
	if (x->nif == NULL)
		return -1;
	struct zc_stack_config c = { .nif = x->nif, .ip = ip, .prefix_len = 24, .seed = (uint64_t)getpid(),
				     .now = now_ns() };
	x->st = zc_stack_create(&c);
	return x->st ? 0 : -1;
}

static void sx_close(struct sx *x)
{
	zc_stack_destroy(x->st);
	zc_netif_close(x->nif);
}

/* Poll; after IDLE_NS without work, sleep on the NIC until the next timer. */
static void sx_step(struct sx *x, bool moved)
{
	uint64_t t = now_ns();
	if (zc_stack_poll(x->st, t) > 0 || moved)
		x->idle_since = t;
	else if (t - x->idle_since > IDLE_NS)
		zc_stack_wait(x->st, t, SLEEP_NS);
}

/* Keep the stack running for ns (the last ACKs and FINs, or a warm-up). */
static void sx_run(struct sx *x, uint64_t ns)
{
	for (uint64_t e = now_ns() + ns; now_ns() < e;)
		sx_step(x, false);
}

static struct zc_tcp_sock *sx_listen(struct sx *x)
{
	struct zc_tcp_sock *l = zc_tcp_socket(x->st);
	zc_tcp_bind(l, 0, PORT);
	zc_tcp_listen(l, BACKLOG);
	return l;
}

static struct zc_tcp_sock *sx_accept(struct sx *x, struct zc_tcp_sock *l, uint64_t deadline)
{
	int err;
	struct zc_tcp_sock *s;
	while ((s = zc_tcp_accept(l, &err)) == NULL && now_ns() < deadline)
		sx_step(x, false);
	return s;
}

static void stack_bulk_server(const char *wire, struct report *r)
{
	struct sx x = { 0 };
	if (sx_open(&x, wire, 1, SERVER_IP))
		return;
	struct zc_tcp_sock *l = sx_listen(&x);
	uint64_t deadline = now_ns() + DEADLINE_NS;
	struct zc_tcp_sock *s = sx_accept(&x, l, deadline);
	static uint8_t buf[BUF];
	uint64_t t0 = 0;
	double c0 = cpu_s();
	while (s && now_ns() < deadline) {
		ssize_t n = zc_tcp_recv(s, buf, sizeof(buf));
		if (n > 0) {
			if (t0 == 0)
				t0 = now_ns();
			r->bytes += (uint64_t)n;
			continue;
		}
		if (n == 0) {
			r->ok = 1;
			break;
		}
		if (n != -EAGAIN)
			break;
		sx_step(&x, false);
	}
	r->secs = (double)(now_ns() - t0) / 1e9;
	r->cpu = cpu_s() - c0;
	if (s)
		zc_tcp_close(s);
	sx_run(&x, LINGER_NS);
	zc_tcp_close(l);
	sx_close(&x);
}

static void stack_bulk_client(const char *wire, double secs, struct report *r)
{
	struct sx x = { 0 };
	if (sx_open(&x, wire, 0, CLIENT_IP))
		return;
	struct zc_tcp_sock *s = zc_tcp_socket(x.st);
	zc_tcp_connect(s, SERVER_IP, PORT);
	static uint8_t buf[BUF];
	memset(buf, 0x5a, sizeof(buf));
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9), hard = end + CLOSE_GRACE_NS;
	while (zc_tcp_get_state(s) == ZC_TCP_SYN_SENT && now_ns() < hard)
		sx_step(&x, false);
	double c0 = cpu_s();
	uint32_t off = 0;
	while (now_ns() < end) {
		ssize_t n = zc_tcp_send(s, buf + off, sizeof(buf) - off);
		if (n > 0) {
			off = (off + (uint32_t)n) % sizeof(buf);
			r->bytes += (uint64_t)n;
			sx_step(&x, true);
		} else if (n == -EAGAIN) {
			sx_step(&x, false);
		} else {
			break;
		}
	}
	zc_tcp_shutdown(s, 1);
	while (zc_tcp_get_state(s) != ZC_TCP_FIN_WAIT_2 && zc_tcp_get_state(s) != ZC_TCP_TIME_WAIT &&
	       zc_tcp_get_state(s) != ZC_TCP_CLOSED && now_ns() < hard)
		sx_step(&x, false);
	r->cpu = cpu_s() - c0;
	r->ok = zc_tcp_get_state(s) != ZC_TCP_CLOSED;
	zc_tcp_close(s);
	sx_run(&x, LINGER_NS);
	sx_close(&x);
}

static void stack_rate_server(const char *wire, uint64_t n, struct report *r)
{
	struct sx x = { 0 };
	if (sx_open(&x, wire, 1, SERVER_IP))
		return;
	struct zc_tcp_config tc = { .max_conns = MAX_CONNS };
	zc_tcp_configure(x.st, &tc);
	struct zc_tcp_sock *l = sx_listen(&x);
	uint64_t deadline = now_ns() + DEADLINE_NS;
	double c0 = cpu_s();
	while (r->conns < n && now_ns() < deadline) {
		int err;
		struct zc_tcp_sock *s = zc_tcp_accept(l, &err);
		if (s == NULL) {
			sx_step(&x, false);
			continue;
		}
		zc_tcp_close(s); /* the server closes first: TIME_WAIT stays here */
		r->conns++;
		sx_step(&x, true);
	}
	r->cpu = cpu_s() - c0;
	sx_run(&x, LINGER_NS);
	r->ok = r->conns == n;
	zc_tcp_close(l);
	sx_close(&x);
}

static void stack_rate_client(const char *wire, uint64_t n, struct report *r)
{
	struct sx x = { 0 };
	if (sx_open(&x, wire, 0, CLIENT_IP))
		return;
	uint64_t deadline = now_ns() + DEADLINE_NS;
	/* warm up ARP and the peer's listener */
	sx_run(&x, WARM_NS);
	uint64_t t0 = now_ns();
	double c0 = cpu_s();
	char b[16];
	while (r->conns < n && now_ns() < deadline) {
		struct zc_tcp_sock *s = zc_tcp_socket(x.st);
		if (zc_tcp_connect(s, SERVER_IP, PORT) != -EINPROGRESS) {
			zc_tcp_close(s);
			break;
		}
		ssize_t got;
		while ((got = zc_tcp_recv(s, b, sizeof(b))) == -EAGAIN && now_ns() < deadline)
			sx_step(&x, false);
		zc_tcp_close(s);
		if (got != 0)
			break;
		r->conns++;
	}
	r->secs = (double)(now_ns() - t0) / 1e9;
	r->cpu = cpu_s() - c0;
	r->ok = r->conns == n;
	sx_run(&x, LINGER_NS);
	sx_close(&x);
}

/* --- the kernel side ------------------------------------------------------------ */

static int k_listen(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, BACKLOG)) {
		perror("tcp_bench: kernel listen");
		exit(2);
	}
	return l;
}

static int k_connect(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	for (int i = 0; i < CONNECT_TRIES; i++) {
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			return s;
		if (errno != ECONNREFUSED)
			break;
		usleep(CONNECT_WAIT_US); /* the server is not listening yet */
	}
	close(s);
	return -1;
}

static void kernel_bulk_server(int l, struct report *r)
{
	int s = accept(l, NULL, NULL);
	static uint8_t buf[BUF];
	uint64_t t0 = 0;
	double c0 = cpu_s();
	ssize_t n;
	while ((n = read(s, buf, sizeof(buf))) > 0) {
		if (t0 == 0)
			t0 = now_ns();
		r->bytes += (uint64_t)n;
	}
	r->ok = n == 0;
	r->secs = (double)(now_ns() - t0) / 1e9;
	r->cpu = cpu_s() - c0;
	close(s);
}

static void kernel_bulk_client(double secs, struct report *r)
{
	int s = k_connect();
	if (s < 0)
		return;
	static uint8_t buf[BUF];
	memset(buf, 0x5a, sizeof(buf));
	double c0 = cpu_s();
	for (uint64_t end = now_ns() + (uint64_t)(secs * 1e9); now_ns() < end;) {
		ssize_t n = write(s, buf, sizeof(buf));
		if (n <= 0)
			break;
		r->bytes += (uint64_t)n;
	}
	shutdown(s, SHUT_WR);
	r->cpu = cpu_s() - c0;
	r->ok = 1;
	close(s);
}

static void kernel_rate_server(int l, uint64_t n, struct report *r)
{
	double c0 = cpu_s();
	while (r->conns < n) {
		int s = accept(l, NULL, NULL);
		if (s < 0)
			break;
		close(s);
		r->conns++;
	}
	r->cpu = cpu_s() - c0;
	r->ok = r->conns == n;
}

static void kernel_rate_client(uint64_t n, struct report *r)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PORT), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s0 = k_connect(); /* wait for the listener; counts as one */
	if (s0 < 0)
		return;
	char b[16];
	while (read(s0, b, sizeof(b)) > 0)
		;
	close(s0);
	r->conns = 1;
	uint64_t t0 = now_ns();
	double c0 = cpu_s();
	while (r->conns < n) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
			close(s);
			break;
		}
		ssize_t got;
		while ((got = read(s, b, sizeof(b))) > 0)
			;
		close(s);
		if (got != 0)
			break;
		r->conns++;
	}
	r->secs = (double)(now_ns() - t0) / 1e9;
	r->cpu = cpu_s() - c0;
	r->ok = r->conns == n;
}

/* --- rounds --------------------------------------------------------------------- */

/* Run server(child) and client(parent); both reports come back. */
static int run_pair(bool stack, bool bulk, double secs, uint64_t n, struct report *srv, struct report *cli)
{
	char wire[32];
	snprintf(wire, sizeof(wire), "tb%d", (int)getpid());
	int kl = stack ? -1 : k_listen();
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		struct report r = { 0 };
		if (stack)
			bulk ? stack_bulk_server(wire, &r) : stack_rate_server(wire, n, &r);
		else
			bulk ? kernel_bulk_server(kl, &r) : kernel_rate_server(kl, n, &r);
		if (write(p[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	if (kl >= 0)
		close(kl);
	memset(cli, 0, sizeof(*cli));
	if (stack) {
		usleep(SERVER_START_US); /* let the server claim its port */
		bulk ? stack_bulk_client(wire, secs, cli) : stack_rate_client(wire, n, cli);
	} else {
		bulk ? kernel_bulk_client(secs, cli) : kernel_rate_client(n, cli);
	}
	memset(srv, 0, sizeof(*srv));
	ssize_t got = read(p[0], srv, sizeof(*srv));
	close(p[0]);
	waitpid(pid, NULL, 0);
	return got == (ssize_t)sizeof(*srv) && srv->ok && cli->ok ? 0 : -1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	double secs = 2;
	long conns = 3000, rounds = 5;
	const char *csv = NULL;
	static const struct option lo[] = { { "seconds", required_argument, 0, 's' },
					    { "conns", required_argument, 0, 'n' },
					    { "rounds", required_argument, 0, 'r' },
					    { "csv", required_argument, 0, 'c' },
					    { "help", no_argument, 0, 'h' },
					    { 0, 0, 0, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's': secs = atof(optarg); break;
		case 'n': conns = strtol(optarg, NULL, 0); break;
		case 'r': rounds = strtol(optarg, NULL, 0); break;
		case 'c': csv = optarg; break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: tcp_bench [--seconds S] [--conns N] [--rounds R] [--csv FILE]\n"
				"  TCP bulk throughput and connection rate: two stack processes on a Trapeze\n"
				"  wire (native API) beside the kernel over loopback, alternating rounds.\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (secs <= 0 || secs > 60 || conns < 10 || conns > 30000 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "tcp_bench: --seconds 0..60, --conns 10..30000, --rounds 1..15\n");
		return 2;
	}
	zc_log_init_env();
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	printf("tcp_bench: bulk %.1f s per round, %ld connections per rate round, %ld rounds (median)\n", secs,
	       conns, rounds);
	double gbps[2][MAX_ROUNDS], cpugb[2][MAX_ROUNDS], rate[2][MAX_ROUNDS], cpuconn[2][MAX_ROUNDS];
	int fails = 0;
	for (int i = 0; i < rounds; i++) {
		for (int k = 0; k < 2; k++) { /* 0 stack, 1 kernel */
			struct report s, cl;
			if (run_pair(k == 0, true, secs, 0, &s, &cl) != 0) {
				fprintf(stderr, "tcp_bench: %s bulk round %d failed\n", k ? "kernel" : "stack", i);
				fails++;
			}
			gbps[k][i] = s.secs > 0 ? (double)s.bytes / s.secs / 1e9 : 0;
			cpugb[k][i] = s.bytes ? (s.cpu + cl.cpu) / ((double)s.bytes / 1e9) : 0;
			if (run_pair(k == 0, false, 0, (uint64_t)conns, &s, &cl) != 0) {
				fprintf(stderr, "tcp_bench: %s rate round %d failed\n", k ? "kernel" : "stack", i);
				fails++;
			}
			rate[k][i] = cl.secs > 0 ? (double)(cl.conns - (k ? 1 : 0)) / cl.secs : 0;
			cpuconn[k][i] = cl.conns ? (s.cpu + cl.cpu) / (double)cl.conns * 1e6 : 0;
		}
	}
	double g[2], cg[2], r[2], cc[2];
	for (int k = 0; k < 2; k++) {
		g[k] = median(gbps[k], (int)rounds);
		cg[k] = median(cpugb[k], (int)rounds);
		r[k] = median(rate[k], (int)rounds);
		cc[k] = median(cpuconn[k], (int)rounds);
	}
	printf("\n| path                          | bulk GB/s | CPU s per GB | connections/s | CPU us per conn |\n"
	       "|-------------------------------|----------:|-------------:|--------------:|----------------:|\n");
	printf("| zcstack, 2 processes, Trapeze | %9.2f | %12.2f | %13.0f | %15.1f |\n", g[0], cg[0], r[0], cc[0]);
	printf("| Linux kernel, loopback        | %9.2f | %12.2f | %13.0f | %15.1f |\n", g[1], cg[1], r[1], cc[1]);
	printf("\nzcstack / kernel: bulk %.2fx, connection rate %.2fx\n", g[1] > 0 ? g[0] / g[1] : 0,
	       r[1] > 0 ? r[0] / r[1] : 0);
	if (csv) {
		FILE *f = fopen(csv, "w");
		if (f) {
			fprintf(f, "path,bulk_gbps,cpu_s_per_gb,conns_per_s,cpu_us_per_conn\n");
			fprintf(f, "zcstack-trapeze,%.3f,%.3f,%.0f,%.2f\n", g[0], cg[0], r[0], cc[0]);
			fprintf(f, "kernel-loopback,%.3f,%.3f,%.0f,%.2f\n", g[1], cg[1], r[1], cc[1]);
			fclose(f);
		}
	}
	return fails ? 1 : 0;
}

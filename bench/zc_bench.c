/*
 * zc_bench.c - copy vs page trading / copy-on-write through the socket
 * layer, two processes on a Trapeze wire, in one run.
 *
 *   zc_bench [--rounds R] [--sizes 4K,64K,2M,...] [--scale F] [--csv FILE]
 *   zc_bench --verify --policy never|auto|always [--bytes N] [--size S]
 *
 * Part 1 measures what the policy decides from: remapping k bytes of a
 * pool file into a buffer (4 KiB pages, and 2 MiB transparent huge pages)
 * against copying them, for k from 4 KiB to 4 MiB, and prints the crossover.
 *
 * Part 2 sweeps read/write sizes from 4 KiB to 4 MiB. For each size the
 * three policies run back to back (never, auto, always), R rounds, and the
 * medians are reported: throughput, CPU time per GiB of both processes
 * (all threads, getrusage), host-stack bytes copied per byte delivered
 * (sender copy-in + receiver copy-out + deferred copies; the NIC's DMA is
 * reported apart), and the shares traded and sent by copy-on-write. The
 * sender writes one page-aligned buffer it never rewrites (iperf3's
 * pattern); the receiver reads with MSG_WAITALL into a 2 MiB-aligned one.
 *
 * --verify moves N bytes (default 1 GiB) whose every byte is a function of
 * its stream offset, rewriting the send buffer before each write, under one
 * policy, and compares SHA-256 of what was sent and received.
 */
#include "nic/trapeze.h"
#include "sockapi/socket.h"
#include "stack/log.h"
#include "tests/sha256.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1ull << 20)
#define KiB (1ull << 10)
#define MAX_SIZES 16
#define PORT_CTL 5001
#define PORT_DATA 5002
#define RX_IP "10.8.0.1"

enum { OP_CELL = 1, OP_QUIT = 2 };
struct cmd {
	uint32_t op, policy;
	uint64_t size, bytes;
	uint32_t verify;
};
struct result {
	uint64_t cpu_ns, copied, cow, deferred_bytes, deferred_copies;
	char sha[65];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

static void die(const char *what)
{
	fprintf(stderr, "zc_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A 2 MiB-aligned anonymous buffer. */
static uint8_t *abuf(size_t n)
{
	size_t raw = n + 2 * MiB;
	uint8_t *p = mmap(NULL, raw, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	uint8_t *a = (uint8_t *)(((uintptr_t)p + 2 * MiB - 1) & ~(uintptr_t)(2 * MiB - 1));
	memset(a, 0, n);
	return a;
}

static uint64_t pat_word(uint64_t i)
{
	uint64_t z = i + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* bytes [off, off+n) of the stream; off and n multiples of 8 */
static void pat_fill(uint8_t *p, uint64_t off, size_t n)
{
	uint64_t *w = (uint64_t *)p;
	for (size_t i = 0; i < n / 8; i++)
		w[i] = pat_word(off / 8 + i);
}

static int xfer(struct zc_sockctx *cx, int fd, void *p, size_t n, bool rd)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = rd ? zc_recv(cx, fd, (uint8_t *)p + done, n - done, MSG_WAITALL)
			       : zc_send(cx, fd, (uint8_t *)p + done, n - done, MSG_NOSIGNAL);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static struct zc_sockctx *open_ctx(const char *wire, int port, int policy)
{
	char nic[96];
	snprintf(nic, sizeof(nic), "trapeze:%s,port=%d", wire, port);
	struct zc_sockctx *cx = zc_sockctx_open(&(struct zc_sockctx_config){
		.nic = nic, .addr = port ? "10.8.0.2/24" : "10.8.0.1/24", .zcopy = policy });
	if (cx == NULL)
		die("cannot open the socket layer");
	return cx;
}

/* --- the sender (child) ------------------------------------------------------------ */

static int sender(const char *wire)
{
	struct zc_sockctx *cx = open_ctx(wire, 1, ZC_ZCOPY_NEVER);
	struct sockaddr_in a = { .sin_family = AF_INET };
	inet_pton(AF_INET, RX_IP, &a.sin_addr);
	int fd[2];
	for (int i = 0; i < 2; i++) {
		a.sin_port = htons(i ? PORT_DATA : PORT_CTL);
		for (int tries = 0;; tries++) {
			fd[i] = zc_socket(cx, AF_INET, SOCK_STREAM, 0);
			if (zc_connect(cx, fd[i], (struct sockaddr *)&a, sizeof(a)) == 0)
				break;
			zc_close(cx, fd[i]);
			if (tries > 500)
				die("connect");
			usleep(10000);
		}
	}
	int one = 1;
	zc_setsockopt(cx, fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t *buf = abuf(4 * MiB);
	pat_fill(buf, 0, 4 * MiB);
	for (;;) {
		struct cmd c;
		if (xfer(cx, fd[0], &c, sizeof(c), true) != 0 || c.op != OP_CELL)
			break;
		zc_sockctx_set_zcopy(cx, (int)c.policy);
		struct zc_zstats z0, z1;
		zc_sock_zstats(cx, fd[1], &z0);
		struct zc_zstats t0, t1;
		zc_sock_zstats(cx, -1, &t0);
		struct sha256 h;
		sha256_init(&h);
		uint64_t c0 = cpu_ns();
		for (uint64_t off = 0; off < c.bytes; off += c.size) {
			size_t n = c.bytes - off < c.size ? (size_t)(c.bytes - off) : (size_t)c.size;
			if (c.verify) { /* a new piece of the stream in the same buffer */
				pat_fill(buf, off, n);
				sha256_update(&h, buf, n);
			}
			if (xfer(cx, fd[1], buf, n, false) != 0)
				die("send");
		}
		struct result r = { .cpu_ns = cpu_ns() - c0 };
		zc_sock_zstats(cx, fd[1], &z1);
		zc_sock_zstats(cx, -1, &t1);
		r.copied = z1.bytes_copied - z0.bytes_copied;
		r.cow = z1.bytes_cow - z0.bytes_cow;
		r.deferred_bytes = t1.deferred_bytes - t0.deferred_bytes;
		r.deferred_copies = t1.deferred_copies - t0.deferred_copies;
		if (c.verify)
			sha256_hex(&h, r.sha);
		if (xfer(cx, fd[0], &r, sizeof(r), false) != 0)
			break;
	}
	zc_close(cx, fd[1]);
	zc_close(cx, fd[0]);
	zc_sockctx_close(cx);
	return 0;
}

/* --- the receiver (parent) ------------------------------------------------------------ */

struct cell {
	uint64_t size;
	int policy;
	double gbps, cpu_s_per_gib, copied_per_byte, dma_per_byte, traded, cow, rx_cpu, tx_cpu;
	double deliver_ms_per_gib; /* receiver: time copying out or remapping, per GiB */
	uint64_t deferred;
};

struct rx {
	struct zc_sockctx *cx;
	int ctl, data;
	uint8_t *buf;
};

static struct rx rx_open(const char *wire)
{
	struct rx x = { .cx = open_ctx(wire, 0, ZC_ZCOPY_NEVER) };
	int l[2];
	for (int i = 0; i < 2; i++) {
		l[i] = zc_socket(x.cx, AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(i ? PORT_DATA : PORT_CTL) };
		if (zc_bind(x.cx, l[i], (struct sockaddr *)&a, sizeof(a)) || zc_listen(x.cx, l[i], 4))
			die("listen");
	}
	x.ctl = zc_accept4(x.cx, l[0], NULL, NULL, 0);
	x.data = zc_accept4(x.cx, l[1], NULL, NULL, 0);
	if (x.ctl < 0 || x.data < 0)
		die("accept");
	zc_close(x.cx, l[0]);
	zc_close(x.cx, l[1]);
	int one = 1;
	zc_setsockopt(x.cx, x.ctl, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	x.buf = abuf(4 * MiB + 2 * MiB);
	return x;
}

/* One cell: returns 0, or -1 when the hashes differ (verify). */
static int run_cell(struct rx *x, int policy, uint64_t size, uint64_t bytes, bool verify, struct cell *out)
{
	zc_sockctx_set_zcopy(x->cx, policy);
	struct cmd c = { .op = OP_CELL, .policy = (uint32_t)policy, .size = size, .bytes = bytes, .verify = verify };
	struct zc_zstats z0, z1, t0, t1;
	zc_sock_zstats(x->cx, x->data, &z0);
	zc_sock_zstats(x->cx, -1, &t0);
	struct sha256 h;
	sha256_init(&h);
	if (xfer(x->cx, x->ctl, &c, sizeof(c), false) != 0)
		die("control");
	uint64_t w0 = now_ns(), c0 = cpu_ns();
	for (uint64_t off = 0; off < bytes; off += size) {
		size_t n = bytes - off < size ? (size_t)(bytes - off) : (size_t)size;
		if (xfer(x->cx, x->data, x->buf, n, true) != 0)
			die("receive");
		if (verify)
			sha256_update(&h, x->buf, n);
	}
	uint64_t w1 = now_ns(), c1 = cpu_ns();
	struct result r;
	if (xfer(x->cx, x->ctl, &r, sizeof(r), true) != 0)
		die("control");
	zc_sock_zstats(x->cx, x->data, &z1);
	zc_sock_zstats(x->cx, -1, &t1);
	double gib = (double)bytes / (double)(1ull << 30);
	out->size = size;
	out->policy = policy;
	out->gbps = (double)bytes / (double)(w1 - w0);
	out->rx_cpu = (double)(c1 - c0) / 1e9 / gib;
	out->tx_cpu = (double)r.cpu_ns / 1e9 / gib;
	out->cpu_s_per_gib = out->rx_cpu + out->tx_cpu;
	uint64_t copied = (z1.bytes_copied - z0.bytes_copied) + r.copied + r.deferred_bytes;
	out->copied_per_byte = (double)copied / (double)bytes;
	out->dma_per_byte = (double)(t1.dma_bytes - t0.dma_bytes) / (double)bytes;
	out->traded = (double)(z1.bytes_traded - z0.bytes_traded) / (double)bytes;
	out->cow = (double)r.cow / (double)bytes;
	out->deferred = r.deferred_copies;
	out->deliver_ms_per_gib = (double)((z1.copy_ns - z0.copy_ns) + (z1.remap_ns - z0.remap_ns)) / 1e6 / gib;
	if (verify) {
		char d[65];
		sha256_hex(&h, d);
		printf("sent     sha256 %s\nreceived sha256 %s\n", r.sha, d);
		return strcmp(d, r.sha) == 0 ? 0 : -1;
	}
	return 0;
}

static void rx_quit(struct rx *x)
{
	struct cmd c = { .op = OP_QUIT };
	xfer(x->cx, x->ctl, &c, sizeof(c), false);
	zc_close(x->cx, x->data);
	zc_close(x->cx, x->ctl);
}

/* --- part 1: remap vs copy ------------------------------------------------------------- */

struct rc { uint64_t size; double copy_us, remap4k_us, remap2m_us; };

static double med(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

/* Median time to map `size` bytes of fd (pages already in the file) over
 * an aligned buffer, alternating two file ranges, as a trade does. */
static double remap_us(int fd, uint64_t size, uint8_t *dst)
{
	enum { N = 9 };
	double t[N];
	for (int i = 0; i < N; i++) {
		uint64_t t0 = now_ns();
		void *m = mmap(dst, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd,
			       (off_t)((i & 1) ? 4 * MiB : 0));
		t[i] = (double)(now_ns() - t0) / 1000.0;
		if (m == MAP_FAILED)
			return -1;
	}
	return med(t, N);
}

static int part1(struct rc *out, int *n)
{
	static const uint64_t sizes[] = { 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 2 * MiB, 4 * MiB };
	int f4 = memfd_create("zcb4k", MFD_CLOEXEC), f2 = memfd_create("zcb2m", MFD_CLOEXEC);
	if (f4 < 0 || f2 < 0 || ftruncate(f4, 8 * MiB) || ftruncate(f2, 8 * MiB))
		die("memfd");
	/* the huge file: touched through a MADV_HUGEPAGE mapping, as the pool does */
	uint8_t *h = mmap(NULL, 10 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *ha = (uint8_t *)(((uintptr_t)h + 2 * MiB - 1) & ~(uintptr_t)(2 * MiB - 1));
	mmap(ha, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f2, 0);
	madvise(ha, 8 * MiB, MADV_HUGEPAGE);
	memset(ha, 1, 8 * MiB);
	uint8_t *p4 = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, f4, 0);
	memset(p4, 1, 8 * MiB);
	uint8_t *src = abuf(4 * MiB), *dst = abuf(4 * MiB), *dm = abuf(4 * MiB);
	memset(src, 7, 4 * MiB);
	*n = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t s = sizes[i];
		double t[9];
		for (int k = 0; k < 9; k++) {
			uint64_t t0 = now_ns();
			memcpy(dst, src, s);
			t[k] = (double)(now_ns() - t0) / 1000.0;
		}
		out[*n].size = s;
		out[*n].copy_us = med(t, 9);
		out[*n].remap4k_us = remap_us(f4, s, dm);
		out[*n].remap2m_us = s >= 2 * MiB ? remap_us(f2, s, dm) : -1;
		(*n)++;
	}
	close(f4);
	close(f2);
	return 0;
}

/* --- main ----------------------------------------------------------------------------------- */

static int parse_size(const char *s, uint64_t *out)
{
	char *e;
	double v = strtod(s, &e);
	if (e == s || v <= 0)
		return -1;
	if (*e == 'K' || *e == 'k')
		v *= KiB, e++;
	else if (*e == 'M' || *e == 'm')
		v *= MiB, e++;
	else if (*e == 'G' || *e == 'g')
		v *= 1024.0 * MiB, e++;
	if (*e)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static const char *pname(int p) { return zc_zcopy_name(p); }

static void usage(void)
{
	fprintf(stderr,
		"usage: zc_bench [--rounds R] [--sizes 4K,64K,2M] [--scale F] [--csv FILE]\n"
		"       zc_bench --verify --policy never|auto|always [--bytes 1G] [--size 1M]\n"
		"Two processes on a Trapeze wire, through the socket layer: copy (never) against\n"
		"page trading and copy-on-write (auto, always), medians of R rounds.\n");
}

int main(int argc, char **argv)
{
	int rounds = 3, policy = -1;
	double scale = 1.0;
	const char *csv = NULL, *sizes_arg = "4K,16K,64K,256K,1M,2M,4M";
	bool verify = false;
	uint64_t vbytes = 1024 * MiB, vsize = 1 * MiB;
	static const struct option lo[] = {
		{ "rounds", required_argument, 0, 'r' }, { "sizes", required_argument, 0, 's' },
		{ "scale", required_argument, 0, 'x' },  { "csv", required_argument, 0, 'c' },
		{ "verify", no_argument, 0, 'v' },       { "policy", required_argument, 0, 'p' },
		{ "bytes", required_argument, 0, 'b' },  { "size", required_argument, 0, 'z' },
		{ "help", no_argument, 0, 'h' },         { 0, 0, 0, 0 },
	};
	for (int o; (o = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
		switch (o) {
		case 'r': rounds = atoi(optarg); break;
		case 's': sizes_arg = optarg; break;
		case 'x': scale = atof(optarg); break;
		case 'c': csv = optarg; break;
		case 'v': verify = true; break;
		case 'p': policy = zc_zcopy_parse(optarg); break;
		case 'b': if (parse_size(optarg, &vbytes)) { usage(); return 2; } break;
		case 'z': if (parse_size(optarg, &vsize)) { usage(); return 2; } break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (rounds < 1 || rounds > 99 || scale <= 0 || (verify && policy < 0) || vsize > 4 * MiB || vsize % 8) {
		usage();
		return 2;
	}
	uint64_t sizes[MAX_SIZES];
	int nsizes = 0;
	char *list = strdup(sizes_arg);
	for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
		if (nsizes == MAX_SIZES || parse_size(t, &sizes[nsizes]) || sizes[nsizes] > 4 * MiB ||
		    sizes[nsizes] % 8) {
			fprintf(stderr, "zc_bench: size '%s': 8 B to 4 MiB, a multiple of 8\n", t);
			return 2;
		}
		nsizes++;
	}
	free(list);
	signal(SIGPIPE, SIG_IGN);
	char wire[32];
	snprintf(wire, sizeof(wire), "zb%d", (int)getpid());
	zc_trapeze_unlink(wire);
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		_exit(sender(wire));
	struct rx x = rx_open(wire);
	int rc = 0;
	if (verify) {
		struct cell c;
		rc = run_cell(&x, policy, vsize, vbytes, true, &c);
		printf("policy %s: %.0f MiB in %llu KiB writes and reads, %.2f GB/s, traded %.0f%%, by COW %.0f%%, "
		       "host bytes copied per byte %.3f, deferred copies %llu: %s\n",
		       pname(policy), (double)vbytes / MiB, (unsigned long long)(vsize / KiB), c.gbps, c.traded * 100,
		       c.cow * 100, c.copied_per_byte, (unsigned long long)c.deferred, rc ? "MISMATCH" : "equal");
		rx_quit(&x);
		waitpid(child, NULL, 0);
		if (getenv("ZC_BENCH_DUMP"))
			zc_sockctx_dump(x.cx, stdout);
		zc_sockctx_close(x.cx);
		zc_trapeze_unlink(wire);
		return rc ? 1 : 0;
	}
	/* part 1 */
	struct rc r1[16];
	int n1;
	part1(r1, &n1);
	struct zc_zcopy_costs costs[2];
	zc_sockctx_costs(x.cx, costs);
	printf("\n## What a trade costs here (median us): copy vs remap of k bytes of a pool file\n\n");
	printf("| bytes | memcpy | remap, 4 KiB pages | remap, 2 MiB pages |\n|---|---|---|---|\n");
	uint64_t cross4 = 0, cross2 = 0;
	for (int i = 0; i < n1; i++) {
		printf("| %llu KiB | %.1f | %.1f | ", (unsigned long long)(r1[i].size / KiB), r1[i].copy_us,
		       r1[i].remap4k_us);
		if (r1[i].remap2m_us >= 0)
			printf("%.1f |\n", r1[i].remap2m_us);
		else
			printf("- |\n");
		if (!cross4 && r1[i].remap4k_us >= 0 && r1[i].remap4k_us < r1[i].copy_us)
			cross4 = r1[i].size;
		if (!cross2 && r1[i].remap2m_us >= 0 && r1[i].remap2m_us < r1[i].copy_us)
			cross2 = r1[i].size;
	}
	printf("\ncrossover: 4 KiB pages: %s; 2 MiB pages: %s\n",
	       cross4 ? "remap is cheaper from here" : "remap never cheaper up to 4 MiB",
	       cross2 ? "remap cheaper at 2 MiB and above" : "remap not cheaper");
	printf("start-up decision of the stack: 4 KiB frame copy %llu ns, remap %llu ns -> %s; "
	       "2 MiB frame copy %llu ns, remap %llu ns -> %s\n",
	       (unsigned long long)costs[0].copy_ns, (unsigned long long)costs[0].remap_ns,
	       costs[0].trade ? "trade" : "copy", (unsigned long long)costs[1].copy_ns,
	       (unsigned long long)costs[1].remap_ns,
	       costs[1].frame_size ? (costs[1].trade ? "trade" : "copy") : "no 2 MiB frames");
	/* part 2 */
	struct cell *all = calloc((size_t)nsizes * 3 * (size_t)rounds, sizeof(*all));
	for (int si = 0; si < nsizes; si++) {
		uint64_t s = sizes[si];
		uint64_t bytes = s >= 1 * MiB ? 768 * MiB : s >= 64 * KiB ? 384 * MiB : 192 * MiB;
		bytes = (uint64_t)((double)bytes * scale);
		bytes = (bytes + 4 * MiB - 1) / (4 * MiB) * (4 * MiB); /* cells keep the stream aligned */
		if (bytes < 4 * MiB)
			bytes = 4 * MiB;
		for (int r = 0; r < rounds; r++)
			for (int p = 0; p < 3; p++) {
				struct cell *c = &all[((size_t)si * 3 + (size_t)p) * (size_t)rounds + (size_t)r];
				run_cell(&x, p, s, bytes, false, c);
				if (getenv("ZC_BENCH_DUMP"))
					printf("cell %llu %s round %d: %.2f GB/s traded %.2f cow %.2f\n",
					       (unsigned long long)s, pname(p), r, c->gbps, c->traded, c->cow);
			}
	}
	rx_quit(&x);
	waitpid(child, NULL, 0);
	if (getenv("ZC_BENCH_DUMP"))
		zc_sockctx_dump(x.cx, stdout);
	printf("\n## Socket layer, two processes on the Trapeze wire: medians of %d rounds\n\n", rounds);
	printf("| size | policy | GB/s | CPU s/GiB (rx+tx) | read delivery ms/GiB | host bytes copied per byte | "
	       "traded | sent by COW | vs never |\n|---|---|---|---|---|---|---|---|---|\n");
	FILE *f = csv ? fopen(csv, "w") : NULL;
	if (f)
		fprintf(f, "size,policy,gbps,cpu_s_per_gib,rx_cpu_s_per_gib,tx_cpu_s_per_gib,deliver_ms_per_gib,"
			   "copied_per_byte,dma_per_byte,traded_share,cow_share,deferred_copies\n");
	double worst_auto = 0;
	for (int si = 0; si < nsizes; si++) {
		double gnever = 0;
		for (int p = 0; p < 3; p++) {
			struct cell *c = &all[((size_t)si * 3 + (size_t)p) * (size_t)rounds];
			double g[99], cpu[99], cp[99], rxc[99], txc[99], dl[99];
			for (int r = 0; r < rounds; r++) {
				dl[r] = c[r].deliver_ms_per_gib;
				g[r] = c[r].gbps;
				cpu[r] = c[r].cpu_s_per_gib;
				cp[r] = c[r].copied_per_byte;
				rxc[r] = c[r].rx_cpu;
				txc[r] = c[r].tx_cpu;
			}
			double gm = med(g, rounds), cm = med(cpu, rounds), pm = med(cp, rounds);
			double rm = med(rxc, rounds), tm = med(txc, rounds), dm = med(dl, rounds);
			if (p == 0)
				gnever = gm;
			double rel = gnever > 0 ? gm / gnever : 0;
			if (p == 1 && 1 - rel > worst_auto)
				worst_auto = 1 - rel;
			char sz[32];
			if (sizes[si] >= MiB)
				snprintf(sz, sizeof(sz), "%llu MiB", (unsigned long long)(sizes[si] / MiB));
			else
				snprintf(sz, sizeof(sz), "%llu KiB", (unsigned long long)(sizes[si] / KiB));
			printf("| %s | %s | %.2f | %.3f (%.3f+%.3f) | %.1f | %.3f | %.0f%% | %.0f%% | %.2fx |\n", sz, pname(p),
			       gm, cm, rm, tm, dm, pm, c[rounds - 1].traded * 100, c[rounds - 1].cow * 100, rel);
			if (f)
				fprintf(f, "%llu,%s,%.4f,%.4f,%.4f,%.4f,%.2f,%.4f,%.4f,%.4f,%.4f,%llu\n",
					(unsigned long long)sizes[si], pname(p), gm, cm, rm, tm, dm, pm,
					c[rounds - 1].dma_per_byte, c[rounds - 1].traded, c[rounds - 1].cow,
					(unsigned long long)c[rounds - 1].deferred);
		}
	}
	printf("\nauto at worst %.1f%% slower than never (target: 5%%)\n", worst_auto * 100);
	if (f) {
		fclose(f);
		printf("CSV written to %s\n", csv);
	}
	free(all);
	zc_sockctx_close(x.cx);
	zc_trapeze_unlink(wire);
	return rc;
}

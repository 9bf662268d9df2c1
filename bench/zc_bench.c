/*
 * zc_bench.c - copy vs page trading / copy-on-write through the socket
 * layer, two processes on a Trapeze wire, beside the Linux kernel over
 * loopback with and without its zero-copy interfaces, in one run.
 *
 *   zc_bench [--rounds R] [--sizes 4K,64K,2M,...] [--modes LIST] [--scale F] [--csv FILE]
 *   zc_bench --verify --policy never|auto|always [--bytes N] [--size S]
 *
 * Part 1 measures what the policy decides from: remapping k bytes of a
 * pool file into a buffer (4 KiB pages, and 2 MiB transparent huge pages)
 * against copying them, for k from 4 KiB to 4 MiB, and prints the crossover.
 *
 * Part 2 sweeps read/write sizes from 4 KiB to 4 MiB. For each size the
 * modes run back to back, R rounds, and the medians are reported: the
 * three policies (never, auto, always) on the Trapeze wire, and two
 * single-threaded processes over a kernel loopback connection: send/recv,
 * MSG_ZEROCOPY sends (completions read from the error queue),
 * TCP_ZEROCOPY_RECEIVE reads (pages mapped into a mapping of the socket,
 * recv for what it cannot map) and both. Measures: throughput, CPU time
 * per GiB of both processes (all threads, getrusage), host-stack bytes
 * copied per byte delivered (socket layer: sender copy-in + receiver
 * copy-out + deferred copies, the NIC's DMA reported apart; kernel: bytes
 * recv'd, sent plainly, or whose MSG_ZEROCOPY completion says COPIED), and
 * the shares received and sent without a copy. The sender writes one
 * page-aligned buffer it never rewrites (iperf3's pattern); the receiver
 * reads with MSG_WAITALL into a 2 MiB-aligned one; kernel cells check one
 * word of every page received. With --csv, a plot beside it (gnuplot).
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
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <getopt.h>
#include <poll.h>
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

/* What a cell measures: the three zero-copy policies of the socket layer
 * (ZC_ZCOPY_NEVER, _AUTO, _ALWAYS: 0..2), then the Linux kernel over
 * loopback, plain and with its two zero-copy interfaces. */
enum { M_KCOPY = 3, M_KMSGZC, M_KZCRX, M_KBOTH, NMODES };
static const char *const mode_name[NMODES] = { "never", "auto", "always", "kernel", "kernel MSG_ZEROCOPY",
					       "kernel ZC receive", "kernel MSG_ZEROCOPY + ZC receive" };
static const char *const mode_csv[NMODES] = { "never", "auto", "always", "kernel-copy", "kernel-msg_zerocopy",
					      "kernel-zerocopy_receive", "kernel-both" };
static bool mode_msgzc(int m) { return m == M_KMSGZC || m == M_KBOTH; }
static bool mode_zcrx(int m) { return m == M_KZCRX || m == M_KBOTH; }
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

/* Receivers run on CPU 0 and senders on CPU 1 (with their threads), as
 * netperf -T does, unless --no-pin or there is one CPU: left to the
 * scheduler, both sides here swung between two speeds from round to round
 * (3.5 or 8.6 GB/s at 4 MiB), by where it put the four threads. */
static int pin_cpus = 1;

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pin_cpus && sched_setaffinity(0, sizeof(set), &set) != 0)
		fprintf(stderr, "zc_bench: cannot run on CPU %d: %s\n", cpu, strerror(errno));
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
	pin(1);
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

/* A cell's throughput and CPU time per GiB (the rest is cleared). */
static void cell_rate(struct cell *out, uint64_t size, int mode, uint64_t bytes, uint64_t wall_ns,
		      uint64_t rx_cpu_ns, uint64_t tx_cpu_ns)
{
	double gib = (double)bytes / (double)(1ull << 30);
	*out = (struct cell){ .size = size, .policy = mode };
	out->gbps = (double)bytes / (double)wall_ns;
	out->rx_cpu = (double)rx_cpu_ns / 1e9 / gib;
	out->tx_cpu = (double)tx_cpu_ns / 1e9 / gib;
	out->cpu_s_per_gib = out->rx_cpu + out->tx_cpu;
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
	cell_rate(out, size, policy, bytes, w1 - w0, c1 - c0, r.cpu_ns);
	double gib = (double)bytes / (double)(1ull << 30);
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

/* --- the Linux kernel over loopback ----------------------------------------------------------- */

/* The kernel's cells run between two processes of their own, forked before
 * anything else: single-threaded, so that neither the socket layer's
 * threads nor its mappings are in their way. The parent sends each a
 * struct cmd on a socketpair and reads a struct kres back. */
struct kres {
	uint64_t cpu_ns, wall_ns; /* wall: the receiver's, from the command to the last byte */
	uint64_t copied, nocopy;  /* bytes copied; bytes mapped (receiver) or sent without a copy */
	uint32_t unconfirmed;     /* MSG_ZEROCOPY sends whose completion never came */
	int32_t err;              /* the first message: 0, or why the zero-copy mode cannot run */
};

static void kio(int fd, void *p, size_t n, bool rd)
{
	for (size_t done = 0; done < n;) {
		ssize_t r = rd ? read(fd, (uint8_t *)p + done, n - done) : write(fd, (const uint8_t *)p + done, n - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (rd && r == 0 && done == 0) { /* the parent went away */
				memset(p, 0, n);
				return;
			}
			die("kernel pair control");
		}
		done += (size_t)r;
	}
}

/*
 * MSG_ZEROCOPY (Documentation/networking/msg_zerocopy.rst): every send call
 * that takes bytes gets the next 32-bit id; completions arrive on the error
 * queue as id ranges, with SO_EE_CODE_ZEROCOPY_COPIED when the kernel copied
 * after all (on loopback it copies at delivery). The bytes of each id are
 * kept so that the completions say how many bytes went without a copy.
 */
#define ZCN_RING (1u << 16)
struct zcn {
	uint32_t next, done; /* ids handed out, ids completed */
	uint32_t len[ZCN_RING];
	uint64_t copied, zero;
};

/* Takes the completions queued; with wait, until every id has completed
 * or a second passes without one (returns the ids still open). */
static uint32_t zcn_reap(int fd, struct zcn *z, bool wait)
{
	while (z->done != z->next) {
		char ctl[256];
		struct msghdr m = { .msg_control = ctl, .msg_controllen = sizeof(ctl) };
		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN || !wait)
				break;
			struct pollfd p = { .fd = fd, .events = 0 };
			if (poll(&p, 1, 1000) <= 0)
				break;
			continue;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			if (!((cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
			      (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
				continue;
			struct sock_extended_err e;
			memcpy(&e, CMSG_DATA(cm), sizeof(e));
			if (e.ee_origin != SO_EE_ORIGIN_ZEROCOPY || e.ee_errno != 0)
				continue;
			for (uint32_t id = e.ee_info; id - e.ee_info <= e.ee_data - e.ee_info; id++) {
				uint32_t b = z->len[id % ZCN_RING];
				if (e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
					z->copied += b;
				else
					z->zero += b;
				z->done++;
			}
		}
	}
	return z->next - z->done;
}

/* The sender's side of a kernel cell: `bytes` in writes of `size` from the
 * page-aligned pattern buffer, with MSG_ZEROCOPY or plain send. */
static void ksend(int fd, const uint8_t *buf, uint64_t size, uint64_t bytes, bool msgzc, struct kres *r,
		  struct zcn *z)
{
	z->copied = z->zero = 0;
	uint64_t plain = 0;
	for (uint64_t off = 0; off < bytes; off += size) {
		size_t n = bytes - off < size ? (size_t)(bytes - off) : (size_t)size;
		for (size_t done = 0; done < n;) {
			if (msgzc && z->next - z->done >= ZCN_RING - 1)
				zcn_reap(fd, z, true);
			ssize_t k = send(fd, buf + done, n - done, MSG_NOSIGNAL | (msgzc ? MSG_ZEROCOPY : 0));
			if (k < 0) {
				if (errno == EINTR)
					continue;
				if (errno == ENOBUFS && msgzc) { /* completions hold the socket's option memory */
					zcn_reap(fd, z, true);
					continue;
				}
				die("kernel send");
			}
			done += (size_t)k;
			if (msgzc) {
				z->len[z->next % ZCN_RING] = (uint32_t)k;
				z->next++;
				zcn_reap(fd, z, false);
			} else {
				plain += (uint64_t)k;
			}
		}
	}
	r->unconfirmed = msgzc ? zcn_reap(fd, z, true) : 0;
	r->copied = plain + z->copied;
	r->nocopy = z->zero;
}

/* TCP_ZEROCOPY_RECEIVE's argument as Linux 5.11+ defines it (linux/tcp.h;
 * glibc's netinet/tcp.h has only its first three fields). */
struct kzc_receive {
	uint64_t address;
	uint32_t length, recv_skip_hint, inq;
	int32_t err;
	uint64_t copybuf_address;
	int32_t copybuf_len;
	uint32_t flags;
	uint64_t msg_control, msg_controllen;
	uint32_t msg_flags, reserved;
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

/* One word of every page of what arrived, at offsets [from, to) of a write
 * (the sender writes its pattern buffer from its start each time). */
static void kcheck(const uint8_t *p, uint64_t from, uint64_t to)
{
	for (uint64_t o = (from + 7) & ~7ull; o + 8 <= to; o += 4096) {
		uint64_t w;
		memcpy(&w, p + (o - from), 8);
		if (w != pat_word(o / 8)) {
			fprintf(stderr, "zc_bench: kernel cell: wrong bytes at offset %llu of a write\n",
				(unsigned long long)o);
			exit(1);
		}
	}
}

/* The receiver's side of a kernel cell: reads of `size` with recv into
 * buf, or TCP_ZEROCOPY_RECEIVE for whole pages (mapped at kmap) and recv
 * for what it cannot map. */
static void krecv(int fd, uint8_t *buf, uint8_t *kmap, int mode, uint64_t size, uint64_t bytes, uint64_t *copied,
		  uint64_t *mapped)
{
	for (uint64_t off = 0; off < bytes; off += size) {
		size_t n = bytes - off < size ? (size_t)(bytes - off) : (size_t)size;
		size_t got = 0;
		while (got < n) {
			size_t want = n - got;
			int flags = MSG_WAITALL;
			if (mode_zcrx(mode) && n - got >= 4096) {
				struct kzc_receive z = { .address = (uintptr_t)kmap,
							 .length = (uint32_t)((n - got) & ~(size_t)4095) };
				socklen_t zl = sizeof(z);
				if (getsockopt(fd, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &z, &zl) != 0)
					die("TCP_ZEROCOPY_RECEIVE");
				if (z.err) {
					errno = -z.err;
					die("TCP_ZEROCOPY_RECEIVE");
				}
				if (z.length) {
					kcheck(kmap, got, got + z.length);
					*mapped += z.length;
					got += z.length;
					continue;
				}
				if (z.recv_skip_hint == 0) { /* nothing queued: the call does not wait */
					struct pollfd p = { .fd = fd, .events = POLLIN };
					poll(&p, 1, 1000);
					continue;
				}
				want = z.recv_skip_hint < n - got ? z.recv_skip_hint : n - got;
				flags = 0; /* what cannot be mapped, then map again */
			}
			ssize_t r = recv(fd, buf + got, want, flags);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				die("kernel receive");
			}
			kcheck(buf + got, got, got + (size_t)r);
			*copied += (uint64_t)r;
			got += (size_t)r;
		}
	}
}

/* The parent's next command, r cleared for its result: false at the end. */
static bool knext(int ctl, struct cmd *c, struct kres *r)
{
	kio(ctl, c, sizeof(*c), true);
	*r = (struct kres){ 0 };
	return c->op == OP_CELL;
}

static int kreceiver(int ctl, int kl)
{
	pin(0);
	int fd = accept4(kl, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		die("kernel accept");
	close(kl);
	uint8_t *buf = abuf(4 * MiB);
	/* TCP_ZEROCOPY_RECEIVE (Linux 4.18): a read-only shared mapping of the
	 * socket, into which getsockopt maps received pages; probed with
	 * nothing received yet, which maps nothing */
	struct kres r = { 0 };
	uint8_t *kmap = mmap(NULL, 4 * MiB, PROT_READ, MAP_SHARED, fd, 0);
	if (kmap == MAP_FAILED) {
		r.err = errno;
	} else {
		struct kzc_receive z = { .address = (uintptr_t)kmap };
		socklen_t zl = sizeof(z);
		if (getsockopt(fd, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &z, &zl) != 0)
			r.err = errno;
	}
	kio(ctl, &r, sizeof(r), false);
	for (struct cmd c; knext(ctl, &c, &r);) {
		uint64_t w0 = now_ns(), c0 = cpu_ns();
		krecv(fd, buf, kmap, (int)c.policy, c.size, c.bytes, &r.copied, &r.nocopy);
		r.wall_ns = now_ns() - w0;
		r.cpu_ns = cpu_ns() - c0;
		kio(ctl, &r, sizeof(r), false);
	}
	close(fd);
	return 0;
}

static int ksender(int ctl, int port)
{
	pin(1);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in k = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || connect(fd, (struct sockaddr *)&k, sizeof(k)) != 0)
		die("kernel connect");
	int one = 1;
	struct kres r = { 0 }; /* MSG_ZEROCOPY needs SO_ZEROCOPY (Linux 4.14) */
	if (setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)) != 0)
		r.err = errno;
	kio(ctl, &r, sizeof(r), false);
	struct zcn *zn = calloc(1, sizeof(*zn));
	uint8_t *buf = abuf(4 * MiB);
	pat_fill(buf, 0, 4 * MiB);
	for (struct cmd c; knext(ctl, &c, &r);) {
		uint64_t c0 = cpu_ns();
		ksend(fd, buf, c.size, c.bytes, mode_msgzc((int)c.policy), &r, zn);
		r.cpu_ns = cpu_ns() - c0;
		kio(ctl, &r, sizeof(r), false);
	}
	free(zn);
	close(fd);
	return 0;
}

struct kpair {
	pid_t rx, tx;
	int rxc, txc;            /* control sockets */
	int msgzc_err, zcrx_err; /* 0, or why that zero-copy mode cannot run */
};

static struct kpair kpair_start(void)
{
	struct kpair k;
	int kl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (kl < 0 || bind(kl, (struct sockaddr *)&a, sizeof(a)) || listen(kl, 1) ||
	    getsockname(kl, (struct sockaddr *)&a, &al))
		die("kernel listener");
	int sr[2], st[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sr) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st))
		die("socketpair");
	fflush(stdout);
	if ((k.rx = fork()) < 0)
		die("fork");
	if (k.rx == 0) {
		close(sr[0]), close(st[0]), close(st[1]);
		_exit(kreceiver(sr[1], kl));
	}
	close(kl);
	if ((k.tx = fork()) < 0)
		die("fork");
	if (k.tx == 0) {
		close(sr[0]), close(sr[1]), close(st[0]);
		_exit(ksender(st[1], ntohs(a.sin_port)));
	}
	close(sr[1]);
	close(st[1]);
	k.rxc = sr[0];
	k.txc = st[0];
	struct kres r;
	kio(k.txc, &r, sizeof(r), true);
	k.msgzc_err = r.err;
	kio(k.rxc, &r, sizeof(r), true);
	k.zcrx_err = r.err;
	return k;
}

static void kpair_stop(struct kpair *k)
{
	struct cmd c = { .op = OP_QUIT };
	kio(k->rxc, &c, sizeof(c), false);
	kio(k->txc, &c, sizeof(c), false);
	close(k->rxc);
	close(k->txc);
	waitpid(k->rx, NULL, 0);
	waitpid(k->tx, NULL, 0);
}

/* A kernel cell: the same measures as the socket layer's, from the
 * kernel's own reports: bytes copied are those received with recv and
 * those sent plainly or whose MSG_ZEROCOPY completion says COPIED. */
static void run_kcell(struct kpair *k, int mode, uint64_t size, uint64_t bytes, struct cell *out)
{
	struct cmd c = { .op = OP_CELL, .policy = (uint32_t)mode, .size = size, .bytes = bytes };
	kio(k->rxc, &c, sizeof(c), false);
	kio(k->txc, &c, sizeof(c), false);
	struct kres rr, tr;
	kio(k->rxc, &rr, sizeof(rr), true);
	kio(k->txc, &tr, sizeof(tr), true);
	cell_rate(out, size, mode, bytes, rr.wall_ns, rr.cpu_ns, tr.cpu_ns);
	out->copied_per_byte = (double)(rr.copied + tr.copied) / (double)bytes;
	out->traded = (double)rr.nocopy / (double)bytes;
	out->cow = (double)tr.nocopy / (double)bytes;
	if (tr.unconfirmed)
		fprintf(stderr, "zc_bench: %u MSG_ZEROCOPY sends had no completion after a second\n",
			(unsigned)tr.unconfirmed);
	out->deliver_ms_per_gib = -1; /* inside the kernel's receive: not apart */
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

/* The sweep as a plot beside the CSV (FILE.csv -> FILE.png), when gnuplot
 * is installed: throughput and CPU per GiB against the write size. */
static void plot(const char *csv, const uint64_t *sizes, int nsizes, const int *modes, int nm,
		 const struct cell *all, int rounds)
{
	if (system("command -v gnuplot >/dev/null 2>&1") != 0)
		return;
	char png[512];
	size_t n = strlen(csv);
	if (n >= 4 && strcmp(csv + n - 4, ".csv") == 0)
		n -= 4;
	if (n + 5 > sizeof(png))
		return;
	memcpy(png, csv, n);
	strcpy(png + n, ".png");
	FILE *g = popen("gnuplot", "w");
	if (g == NULL)
		return;
	for (int i = 0; i < nm; i++) {
		fprintf(g, "$m%d << EOD\n", i);
		for (int si = 0; si < nsizes; si++) {
			const struct cell *c = &all[((size_t)si * NMODES + (size_t)modes[i]) * (size_t)rounds];
			fprintf(g, "%.3f %.4f %.4f\n", (double)sizes[si] / KiB, c->gbps, c->cpu_s_per_gib);
		}
		fprintf(g, "EOD\n");
	}
	fprintf(g, "set terminal pngcairo size 1000,440 font ',10' noenhanced\nset output '%s'\n"
		   "set multiplot layout 1,2 title 'zcstack (Trapeze wire, socket layer) and the Linux kernel "
		   "(loopback), two processes, medians of %d rounds'\n"
		   "set logscale x 2\nset xlabel 'write and read size (KiB)'\nset grid\n"
		   "set key top left font ',9'\n",
		   png, rounds);
	for (int panel = 0; panel < 2; panel++) {
		fprintf(g, "set title '%s'\n%s\nplot ",
			panel ? "CPU s per GiB, both processes (lower is better)" : "GB/s (higher is better)",
			panel ? "set logscale y 2\nset yrange [*:*]\nset offsets 0,0,0,0\nunset key"
			      : "set yrange [0:*]\nset offsets 0,0,graph 0.55,0");
		for (int i = 0; i < nm; i++)
			fprintf(g, "%s$m%d using 1:%d with linespoints lw 2 %s title '%s'", i ? ", " : "", i, panel ? 3 : 2,
				modes[i] >= M_KCOPY ? "dt 2" : "dt 1", mode_name[modes[i]]);
		fprintf(g, "\n");
	}
	fprintf(g, "unset multiplot\n");
	if (pclose(g) == 0)
		printf("plot: %s\n", png);
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
		"usage: zc_bench [--rounds R] [--sizes 4K,64K,2M] [--modes LIST] [--scale F] [--csv FILE] [--no-pin]\n"
		"       zc_bench --verify --policy never|auto|always [--bytes 1G] [--size 1M]\n"
		"Two processes on a Trapeze wire, through the socket layer: copy (never) against\n"
		"page trading and copy-on-write (auto, always); beside them, alternating, two\n"
		"single-threaded processes over the kernel's loopback: send/recv (kernel-copy),\n"
		"MSG_ZEROCOPY sends (kernel-msg_zerocopy), TCP_ZEROCOPY_RECEIVE reads\n"
		"(kernel-zerocopy_receive) and both (kernel-both). Medians of R rounds.\n"
		"--modes: a comma list of those names (default: all seven); 'kernel' means the four\n"
		"kernel modes. Receivers run on CPU 0 and senders on CPU 1; --no-pin leaves them\n"
		"to the scheduler.\n");
}

/* Adds the modes named in a comma list; -1 for an unknown name. */
static int parse_modes(const char *arg, bool on[NMODES])
{
	char *list = strdup(arg);
	int rc = 0;
	for (char *t = strtok(list, ","); t && rc == 0; t = strtok(NULL, ",")) {
		int m = -1;
		for (int i = 0; i < NMODES; i++)
			if (strcmp(t, mode_csv[i]) == 0)
				m = i;
		if (strcmp(t, "kernel") == 0)
			on[M_KCOPY] = on[M_KMSGZC] = on[M_KZCRX] = on[M_KBOTH] = true;
		else if (m >= 0)
			on[m] = true;
		else
			rc = -1;
	}
	free(list);
	return rc;
}

int main(int argc, char **argv)
{
	int rounds = 5, policy = -1;
	double scale = 1.0;
	const char *csv = NULL, *sizes_arg = "4K,16K,64K,256K,1M,2M,4M", *modes_arg = "never,auto,always,kernel";
	bool verify = false;
	uint64_t vbytes = 1024 * MiB, vsize = 1 * MiB;
	static const struct option lo[] = {
		{ "rounds", required_argument, 0, 'r' }, { "sizes", required_argument, 0, 's' },
		{ "scale", required_argument, 0, 'x' },  { "csv", required_argument, 0, 'c' },
		{ "verify", no_argument, 0, 'v' },       { "policy", required_argument, 0, 'p' },
		{ "bytes", required_argument, 0, 'b' },  { "size", required_argument, 0, 'z' },
		{ "modes", required_argument, 0, 'm' }, { "no-pin", no_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	for (int o; (o = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
		switch (o) {
		case 'r': rounds = atoi(optarg); break;
		case 's': sizes_arg = optarg; break;
		case 'm': modes_arg = optarg; break;
		case 'n': pin_cpus = 0; break;
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
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		pin_cpus = 0;
	bool on[NMODES] = { false };
	if (parse_modes(modes_arg, on) != 0) {
		fprintf(stderr, "zc_bench: --modes '%s': names are never, auto, always, kernel-copy, "
				"kernel-msg_zerocopy, kernel-zerocopy_receive, kernel-both, kernel\n", modes_arg);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	bool kany = on[M_KCOPY] || on[M_KMSGZC] || on[M_KZCRX] || on[M_KBOTH];
	struct kpair kp = { .rxc = -1, .txc = -1 };
	if (kany && !verify) {
		kp = kpair_start();
		if ((on[M_KMSGZC] || on[M_KBOTH]) && kp.msgzc_err) {
			printf("kernel MSG_ZEROCOPY: not measured, SO_ZEROCOPY: %s\n", strerror(kp.msgzc_err));
			on[M_KMSGZC] = on[M_KBOTH] = false;
		}
		if ((on[M_KZCRX] || on[M_KBOTH]) && kp.zcrx_err) {
			printf("kernel TCP_ZEROCOPY_RECEIVE: not measured: %s\n", strerror(kp.zcrx_err));
			on[M_KZCRX] = on[M_KBOTH] = false;
		}
	}
	char wire[32];
	snprintf(wire, sizeof(wire), "zb%d", (int)getpid());
	zc_trapeze_unlink(wire);
	fflush(stdout);
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		if (kp.rxc >= 0)
			close(kp.rxc), close(kp.txc);
		_exit(sender(wire));
	}
	pin(0);
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
	/* part 2: for each size, R rounds of every mode back to back */
	int modes[NMODES], nm = 0;
	for (int m = 0; m < NMODES; m++)
		if (on[m])
			modes[nm++] = m;
	struct cell *all = calloc((size_t)nsizes * NMODES * (size_t)rounds, sizeof(*all));
#define CELL(si, m, r) (&all[(((size_t)(si) * NMODES) + (size_t)(m)) * (size_t)rounds + (size_t)(r)])
	for (int si = 0; si < nsizes; si++) {
		uint64_t s = sizes[si];
		uint64_t bytes = s >= 1 * MiB ? 768 * MiB : s >= 64 * KiB ? 384 * MiB : 192 * MiB;
		bytes = (uint64_t)((double)bytes * scale);
		bytes = (bytes + 4 * MiB - 1) / (4 * MiB) * (4 * MiB); /* cells keep the stream aligned */
		if (bytes < 4 * MiB)
			bytes = 4 * MiB;
		/* the socket layer's policies alternate round by round, then
		 * the kernel's modes do: switching sides within a round put the
		 * scheduler's placement of one side's processes into the other's
		 * cells (auto measured 0.89-1.21x never with the kernel's cells
		 * between, where without them it is 0.98-1.01x) */
		for (int side = 0; side < 2; side++)
			for (int r = -1; r < rounds; r++)
				for (int i = 0; i < nm; i++) {
					int m = modes[i];
					if ((m >= M_KCOPY) != side)
						continue;
					/* round -1: half a cell of the side's first mode, not
					 * counted, so that the processes are placed and warm */
					struct cell warm, *c = r < 0 ? &warm : CELL(si, m, r);
					uint64_t b = r < 0 ? bytes / 2 / (4 * MiB) * (4 * MiB) + 4 * MiB : bytes;
					if (m >= M_KCOPY)
						run_kcell(&kp, m, s, b, c);
					else
						run_cell(&x, m, s, b, false, c);
					if (r < 0)
						break;
					if (getenv("ZC_BENCH_DUMP"))
						printf("cell %llu %s round %d: %.2f GB/s traded %.2f cow %.2f\n",
						       (unsigned long long)s, mode_csv[m], r, c->gbps, c->traded, c->cow);
				}
	}
	rx_quit(&x);
	waitpid(child, NULL, 0);
	if (kp.rxc >= 0)
		kpair_stop(&kp);
	if (getenv("ZC_BENCH_DUMP"))
		zc_sockctx_dump(x.cx, stdout);
	/* medians, in place in round 0 of each mode */
	for (int si = 0; si < nsizes; si++)
		for (int i = 0; i < nm; i++) {
			struct cell *c = CELL(si, modes[i], 0);
			double v[8][99];
			for (int r = 0; r < rounds; r++) {
				double row[8] = { c[r].gbps, c[r].cpu_s_per_gib, c[r].rx_cpu, c[r].tx_cpu,
						  c[r].deliver_ms_per_gib, c[r].copied_per_byte, c[r].traded, c[r].cow };
				for (int k = 0; k < 8; k++)
					v[k][r] = row[k];
			}
			c->gbps = med(v[0], rounds), c->cpu_s_per_gib = med(v[1], rounds), c->rx_cpu = med(v[2], rounds);
			c->tx_cpu = med(v[3], rounds), c->deliver_ms_per_gib = med(v[4], rounds);
			c->copied_per_byte = med(v[5], rounds), c->traded = med(v[6], rounds), c->cow = med(v[7], rounds);
		}
	printf("\n## Trapeze wire through the socket layer beside the Linux kernel's loopback: "
	       "medians of %d rounds\n\n", rounds);
	printf("| size | mode | GB/s | vs never | vs kernel | CPU s/GiB (rx+tx) | read delivery ms/GiB | "
	       "host bytes copied per byte | received without copy | sent without copy |\n"
	       "|---|---|---|---|---|---|---|---|---|---|\n");
	FILE *f = csv ? fopen(csv, "w") : NULL;
	if (f)
		fprintf(f, "size,policy,gbps,cpu_s_per_gib,rx_cpu_s_per_gib,tx_cpu_s_per_gib,deliver_ms_per_gib,"
			   "copied_per_byte,dma_per_byte,traded_share,cow_share,deferred_copies\n");
	double worst_auto = on[0] && on[1] ? 0 : -1;
	for (int si = 0; si < nsizes; si++) {
		double gnever = on[0] ? CELL(si, 0, 0)->gbps : 0, gkernel = on[M_KCOPY] ? CELL(si, M_KCOPY, 0)->gbps : 0;
		char sz[32];
		if (sizes[si] >= MiB)
			snprintf(sz, sizeof(sz), "%llu MiB", (unsigned long long)(sizes[si] / MiB));
		else
			snprintf(sz, sizeof(sz), "%llu KiB", (unsigned long long)(sizes[si] / KiB));
		for (int i = 0; i < nm; i++) {
			int m = modes[i];
			const struct cell *c = CELL(si, m, 0);
			if (m == ZC_ZCOPY_AUTO && worst_auto >= 0 && 1 - c->gbps / gnever > worst_auto)
				worst_auto = 1 - c->gbps / gnever;
			char rel[16] = "-", relk[16] = "-", dl[16] = "-";
			if (gnever > 0)
				snprintf(rel, sizeof(rel), "%.2fx", c->gbps / gnever);
			if (gkernel > 0)
				snprintf(relk, sizeof(relk), "%.2fx", c->gbps / gkernel);
			if (c->deliver_ms_per_gib >= 0)
				snprintf(dl, sizeof(dl), "%.1f", c->deliver_ms_per_gib);
			printf("| %s | %s | %.2f | %s | %s | %.3f (%.3f+%.3f) | %s | %.3f | %.0f%% | %.0f%% |\n", sz,
			       mode_name[m], c->gbps, rel, relk, c->cpu_s_per_gib, c->rx_cpu, c->tx_cpu, dl,
			       c->copied_per_byte, c->traded * 100, c->cow * 100);
			if (f) {
				fprintf(f, "%llu,%s,%.4f,%.4f,%.4f,%.4f,", (unsigned long long)sizes[si], mode_csv[m],
					c->gbps, c->cpu_s_per_gib, c->rx_cpu, c->tx_cpu);
				if (c->deliver_ms_per_gib >= 0)
					fprintf(f, "%.2f", c->deliver_ms_per_gib);
				fprintf(f, ",%.4f,%.4f,%.4f,%.4f,%llu\n", c->copied_per_byte, c->dma_per_byte, c->traded,
					c->cow, (unsigned long long)c->deferred);
			}
		}
	}
	printf("\n\"received without copy\": traded pages (socket layer) or pages TCP_ZEROCOPY_RECEIVE mapped;\n"
	       "\"sent without copy\": sent by copy-on-write reference (socket layer) or MSG_ZEROCOPY sends\n"
	       "whose completion did not say COPIED. Host bytes copied: the socket layer's counters; the\n"
	       "kernel's from recv, plain sends and COPIED completions (its DMA is none: loopback).\n");
	if (worst_auto >= 0)
		printf("\nauto at worst %.1f%% slower than never (target: 5%%)\n", worst_auto * 100);
	/* the best of each side, size by size */
	bool sany = on[0] || on[1] || on[2];
	kany = on[M_KCOPY] || on[M_KMSGZC] || on[M_KZCRX] || on[M_KBOTH];
	if (kany && sany) {
		printf("best of zcstack against the best of the kernel:");
		for (int si = 0; si < nsizes; si++) {
			int bs = -1, bk = -1;
			for (int i = 0; i < nm; i++) {
				int m = modes[i];
				int *b = m >= M_KCOPY ? &bk : &bs;
				if (*b < 0 || CELL(si, m, 0)->gbps > CELL(si, *b, 0)->gbps)
					*b = m;
			}
			printf("%s %llu KiB %.2fx (%s / %s)", si ? "," : "", (unsigned long long)(sizes[si] / KiB),
			       CELL(si, bs, 0)->gbps / CELL(si, bk, 0)->gbps, mode_name[bs], mode_name[bk]);
		}
		printf("\n");
	}
	if (f) {
		fclose(f);
		printf("CSV written to %s\n", csv);
		plot(csv, sizes, nsizes, modes, nm, all, rounds);
	}
#undef CELL
	free(all);
	zc_sockctx_close(x.cx);
	zc_trapeze_unlink(wire);
	return rc;
}

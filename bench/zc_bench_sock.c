/*
 * zc_bench_sock.c - the socket layer's cells: two processes on a Trapeze
 * wire, the receiver (the benchmark's parent) and a forked sender, each
 * with a socket-layer context of its own, a control connection (PORT_CTL:
 * a struct cmd one way, a struct result back) and a data connection
 * (PORT_DATA). A cell sets both sides' zero-copy policy, moves `bytes` in
 * writes and MSG_WAITALL reads of `size`, and reads the layer's counters
 * on both sides before and after.
 */
#include "zc_bench.h"
#include "sockapi/socket.h"
#include "tests/sha256.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The sender connects until the receiver listens (the receiver's socket
 * layer starts after the fork): every 10 ms, for 5 s. */
#define CONNECT_TRIES 500
#define CONNECT_WAIT_US 10000

/* The sender's report of a cell, on the control connection. */
struct result {
	uint64_t cpu_ns, copied, cow, deferred_bytes, deferred_copies;
	char sha[65]; /* --verify: SHA-256 of what it sent, in hex */
};

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

int sender(const char *wire)
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
			if (tries > CONNECT_TRIES)
				die("connect");
			usleep(CONNECT_WAIT_US);
		}
	}
	int one = 1;
	zc_setsockopt(cx, fd[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t *buf = abuf(MAX_IO);
	pat_fill(buf, 0, MAX_IO);
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

struct rx rx_open(const char *wire)
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
int run_cell(struct rx *x, int policy, uint64_t size, uint64_t bytes, bool verify, struct cell *out)
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

void rx_quit(struct rx *x)
{
	struct cmd c = { .op = OP_QUIT };
	xfer(x->cx, x->ctl, &c, sizeof(c), false);
	zc_close(x->cx, x->data);
	zc_close(x->cx, x->ctl);
}

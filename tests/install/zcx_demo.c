/*
 * zcx_demo.c - a small program built against an installed zcstack
 * (tests/install.sh): a TCP server that reads by reference with
 * zcx_recv_zc and a client that sends; the SHA-256 of what was received
 * goes back to the client, which compares it with what it sent.
 *
 * Two builds of this one file:
 *   cc -DZCX_DEMO_LINKED zcx_demo.c $(pkg-config --cflags --libs zcstack)
 *     linked with libzcstack: a context of its own from ZCS_NIC and ZCS_IP,
 *     the zc_* socket calls on it;
 *   cc zcx_demo.c $(pkg-config --cflags zcstack)
 *     plain POSIX sockets and the header-only zcx_* calls: zcstack when it
 *     runs under zcrun, the kernel's sockets (and ENOSYS) without.
 * Both use the same zcx_* calls, which find zcstack at run time.
 *
 *   zcx_demo server IP PORT READYFILE  serve one client; READYFILE appears
 *                                      once it listens
 *   zcx_demo client IP PORT BYTES      send BYTES (a seeded pattern)
 *   zcx_demo probe                     print "available N" and the errno
 *                                      names of zcx calls on a bad fd
 * Exit 0 when every check held; 1 otherwise (with a line saying which).
 */
#ifdef ZCX_DEMO_LINKED
#include "zcstack.h"
#else
#include "sockapi/zcx.h"
#endif
#include "../sha256.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- the sockets: the library's or the C library's -------------------------------- */
#ifdef ZCX_DEMO_LINKED
static struct zc_sockctx *cx;

static int d_start(void)
{
	const char *nic = getenv("ZCS_NIC"), *ip = getenv("ZCS_IP");
	if (nic == NULL || ip == NULL) {
		fprintf(stderr, "zcx_demo: set ZCS_NIC and ZCS_IP\n");
		return -1;
	}
	cx = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = nic, .addr = ip, .zcopy = -1 });
	return cx ? 0 : -1;
}
static void d_stop(void) { zc_sockctx_close(cx); } /* lets the connection drain */
#define d_socket(d, t, p) zc_socket(cx, d, t, p)
#define d_bind(f, a, l) zc_bind(cx, f, a, l)
#define d_listen(f, n) zc_listen(cx, f, n)
#define d_accept(f) zc_accept4(cx, f, NULL, NULL, 0)
#define d_connect(f, a, l) zc_connect(cx, f, a, l)
#define d_write(f, b, n) zc_write(cx, f, b, n)
#define d_read(f, b, n) zc_read(cx, f, b, n)
#define d_shutdown(f, h) zc_shutdown(cx, f, h)
#define d_close(f) zc_close(cx, f)
#else
static int d_start(void) { return 0; }
static void d_stop(void) {}
#define d_socket socket
#define d_bind bind
#define d_listen listen
#define d_accept(f) accept(f, NULL, NULL)
#define d_connect connect
#define d_write write
#define d_read read
#define d_shutdown shutdown
#define d_close close
#endif

static int bad(const char *what)
{
	fprintf(stderr, "zcx_demo: %s: %s\n", what, strerror(errno));
	return 1;
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

/* The counters of fd and of its stack, printed; 0 when both calls worked. */
static int print_stats(int fd, const char *who)
{
	struct zc_zstats s, t;
	if (zcx_zstats(fd, &s) != 0)
		return bad("zcx_zstats");
	if (zcx_ctx_zstats(fd, &t) != 0)
		return bad("zcx_ctx_zstats");
	printf("%s socket viewed %llu copied %llu cow %llu; stack viewed %llu copied %llu dma %llu\n", who,
	       (unsigned long long)s.bytes_viewed, (unsigned long long)s.bytes_copied,
	       (unsigned long long)s.bytes_cow, (unsigned long long)t.bytes_viewed,
	       (unsigned long long)t.bytes_copied, (unsigned long long)t.dma_bytes);
	return 0;
}

/* --- server ------------------------------------------------------------------------ */

/* What one zcx_recv_zc asks for: a view per page at worst, so that the
 * views of a read fit its ZC_RXZC_IOV iovecs (more would come as one copy). */
#define VIEW_MAX (ZC_RXZC_IOV * 4096u)

static int server(const char *ip, const char *port, const char *ready)
{
	if (!zcx_available()) {
		fprintf(stderr, "zcx_demo: no zcstack in this process (zcx_available)\n");
		return 1;
	}
	struct sockaddr_in a = addr_of(ip, port);
	int l = d_socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || d_bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || d_listen(l, 1) != 0)
		return bad("listen");
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
	FILE *f = fopen(tmp, "w");
	if (f == NULL || fclose(f) != 0 || rename(tmp, ready) != 0)
		return bad("the ready file");
	int s = d_accept(l);
	if (s < 0)
		return bad("accept");
	struct sha256 h;
	sha256_init(&h);
	unsigned long long got = 0;
	for (;;) {
		struct zc_rxzc z;
		ssize_t r = zcx_recv_zc(s, &z, VIEW_MAX, 0);
		if (r < 0)
			return bad("zcx_recv_zc");
		if (r == 0)
			break;
		size_t piece = 0;
		int n = z.iovcnt < 0 ? 1 : z.iovcnt; /* -1: one copied view (zcx.h) */
		for (int i = 0; i < n; i++) {
			sha256_update(&h, z.iov[i].iov_base, z.iov[i].iov_len);
			piece += z.iov[i].iov_len;
		}
		if (piece != (size_t)r) {
			fprintf(stderr, "zcx_demo: the views hold %zu bytes, zcx_recv_zc said %zd\n", piece, r);
			return 1;
		}
		got += (unsigned long long)r;
		if (zcx_recv_zc_done(s, &z) != 0)
			return bad("zcx_recv_zc_done");
	}
	char hex[65];
	sha256_hex(&h, hex);
	struct zc_zstats st;
	if (zcx_zstats(s, &st) != 0)
		return bad("zcx_zstats");
	if (st.bytes_viewed == 0 || st.bytes_viewed + st.bytes_copied != got) {
		fprintf(stderr, "zcx_demo: counters: viewed %llu + copied %llu, received %llu\n",
			(unsigned long long)st.bytes_viewed, (unsigned long long)st.bytes_copied, got);
		return 1;
	}
	if (print_stats(s, "server") != 0)
		return 1;
	char line[128];
	int k = snprintf(line, sizeof(line), "%llu %s\n", got, hex);
	if (d_write(s, line, (size_t)k) != k)
		return bad("write the hash");
	printf("received %llu sha256 %s\n", got, hex);
	d_close(s);
	d_close(l);
	return 0;
}

/* --- client ------------------------------------------------------------------------ */

#define CHUNK (1u << 20) /* a page-aligned 1 MiB buffer, refilled before each write */

static int client(const char *ip, const char *port, unsigned long long bytes)
{
	struct sockaddr_in a = addr_of(ip, port);
	int c = d_socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || d_connect(c, (struct sockaddr *)&a, sizeof(a)) != 0)
		return bad("connect");
	uint8_t *buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return bad("mmap");
	struct sha256 h;
	sha256_init(&h);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned long long sent = 0; sent < bytes;) {
		size_t n = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;
		for (size_t i = 0; i + 8 <= n; i += 8) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(buf + i, &x, 8);
		}
		memset(buf + (n & ~(size_t)7), 0x5a, n & 7);
		sha256_update(&h, buf, n);
		for (size_t off = 0; off < n;) {
			ssize_t w = d_write(c, buf + off, n - off);
			if (w <= 0)
				return bad("write");
			off += (size_t)w;
		}
		sent += n;
	}
	if (d_shutdown(c, SHUT_WR) != 0)
		return bad("shutdown");
	char line[128];
	size_t have = 0;
	for (ssize_t r; have < sizeof(line) - 1 && (r = d_read(c, line + have, sizeof(line) - 1 - have)) != 0;) {
		if (r < 0)
			return bad("read the hash");
		have += (size_t)r;
	}
	line[have] = '\0';
	if (print_stats(c, "client") != 0)
		return 1;
	/* sends by reference from buf are released before it goes (the shim
	 * does it in munmap too; a linked program must) */
	if (zcx_release_range(buf, CHUNK) != 0)
		return bad("zcx_release_range");
	munmap(buf, CHUNK);
	d_close(c);
	char hex[65], want[128];
	sha256_hex(&h, hex);
	snprintf(want, sizeof(want), "%llu %s\n", bytes, hex);
	printf("sent %llu sha256 %s\n", bytes, hex);
	if (strcmp(line, want) != 0) {
		fprintf(stderr, "zcx_demo: the server received %s", have ? line : "nothing\n");
		return 1;
	}
	return 0;
}

/* --- probe ------------------------------------------------------------------------- */

static const char *errname(int e)
{
	return e == ENOSYS ? "ENOSYS" : e == EBADF ? "EBADF" : e == 0 ? "none" : strerror(e);
}

static int probe(void)
{
	struct zc_rxzc z;
	struct zc_zstats s;
	printf("available %d\n", zcx_available() ? 1 : 0);
	errno = 0;
	int r1 = (int)zcx_recv_zc(-1, &z, 4096, 0);
	printf("recv_zc %d %s\n", r1, errname(errno));
	errno = 0;
	int r2 = zcx_zstats(-1, &s);
	printf("zstats %d %s\n", r2, errname(errno));
	errno = 0;
	int r3 = zcx_ctx_zstats(-1, &s);
	printf("ctx_zstats %d %s\n", r3, errname(errno));
	errno = 0;
	int r4 = zcx_recv_zc_done(-1, &z);
	printf("recv_zc_done %d %s\n", r4, errname(errno));
	errno = 0;
	int r5 = zcx_release_range(&z, sizeof(z));
	printf("release_range %d %s\n", r5, errname(errno));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "probe") == 0)
		return probe();
	int st;
	if (argc == 5 && strcmp(argv[1], "server") == 0) {
		if (d_start() != 0)
			return bad("the stack");
		st = server(argv[2], argv[3], argv[4]);
	} else if (argc == 5 && strcmp(argv[1], "client") == 0) {
		if (d_start() != 0)
			return bad("the stack");
		st = client(argv[2], argv[3], strtoull(argv[4], NULL, 10));
	} else {
		fprintf(stderr, "usage: zcx_demo server IP PORT READYFILE | client IP PORT BYTES | probe\n");
		return 2;
	}
	d_stop();
	return st;
}

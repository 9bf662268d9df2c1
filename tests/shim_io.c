/* shim_io.c - every way a program reads and writes a socket, run under
 * zcrun at both ends of a Trapeze wire (tests/shim_io.sh). Built with
 * -D_FORTIFY_SOURCE=2 -O2, so read/recv/recvfrom/pread/poll/ppoll into
 * buffers of known size are glibc's __*_chk entry points.
 *   shim_io server IP PORT HOLD   (listens on PORT, UDP on PORT+1)
 *   shim_io client IP PORT GO HOLD
 * Phases, in order, each checked by SHA-256 of what arrived against what
 * was sent (a pattern both ends compute):
 *   fortify   read/recv/recvfrom between __poll_chk/__ppoll_chk waits
 *   vectors   writev/readv, pwritev2/preadv2 at offset -1; ESPIPE/EINVAL
 *             for pread, pwrite, preadv, pwritev, preadv2/pwritev2 at 0
 *   mmsg-tcp  sendmmsg, recvmmsg (MSG_WAITFORONE)
 *   splice    pipe -> socket (client), socket -> pipe (server); tee,
 *             vmsplice and splice to a file refused as the kernel does
 *   aio       aio_read on a stack socket refused (ENOSYS, not carried),
 *             aio_write on a pipe works
 *   sendfile  from a file, with an offset and from its position
 *   dup       data over dup, F_DUPFD, dup2 after the first number closed
 *   mmsg-udp  16 datagrams by sendmmsg, received by recvmmsg, echoed back
 *   fdopen    a second connection as a FILE both ways; fileno, ESPIPE on
 *             fseek, fclose closes the socket (EBADF after, EOF at the peer)
 *   hold      the server makes HOLD and waits; the client waits for GO
 *             (zcstat looks at both meanwhile), then one byte ends it
 * plus descriptor flags: socket/accept4 set FD_CLOEXEC and O_NONBLOCK only
 * when asked; dup, dup2, dup3, F_DUPFD(_CLOEXEC), F_SETFD, F_SETFL. */
#include "sha256.h"

#include <aio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *role = "?";
static volatile size_t chunk = 8192; /* not a constant: the fortified calls check it */
static volatile nfds_t one = 1;

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL: shim_io %s: ", role);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (errno %d %s)\n", errno, strerror(errno));
	va_end(ap);
	exit(1);
}
#define CHECK(c, ...) \
	do { \
		if (!(c)) \
			fail(__VA_ARGS__); \
	} while (0)
/* a call that must fail with errno e */
#define REFUSED(call, e, what) \
	do { \
		errno = 0; \
		long _r = (long)(call); \
		CHECK(_r == -1 && errno == (e), "%s: returned %ld, want -1 errno %d", what, _r, e); \
	} while (0)

/* the pattern: byte i of stream seed */
static uint8_t pat1(uint32_t seed, size_t i)
{
	uint64_t x = (uint64_t)i * 0x9E3779B97F4A7C15ull + (uint64_t)seed * 0xD1B54A32D192ED03ull;
	x ^= x >> 29;
	return (uint8_t)(x >> 23);
}
static void pat(uint32_t seed, size_t off, void *b, size_t n)
{
	for (size_t k = 0; k < n; k++)
		((uint8_t *)b)[k] = pat1(seed, off + k);
}
static void pat_hex(uint32_t seed, size_t off, size_t n, char hex[65])
{
	struct sha256 h;
	uint8_t b[4096];
	sha256_init(&h);
	for (size_t d = 0; d < n;) {
		size_t k = n - d < sizeof(b) ? n - d : sizeof(b);
		pat(seed, off + d, b, k);
		sha256_update(&h, b, k);
		d += k;
	}
	sha256_hex(&h, hex);
}
static void expect(struct sha256 *got, uint32_t seed, size_t n, const char *what)
{
	char g[65], w[65];
	sha256_hex(got, g);
	pat_hex(seed, 0, n, w);
	CHECK(strcmp(g, w) == 0, "%s: %zu bytes differ (got %s, want %s)", what, n, g, w);
	printf("ok: %s %s %zu bytes byte-exact\n", role, what, n);
}

static void write_all(int fd, const void *b, size_t n)
{
	for (size_t d = 0; d < n;) {
		ssize_t w = write(fd, (const char *)b + d, n - d);
		CHECK(w > 0, "write");
		d += (size_t)w;
	}
}
/* n bytes of pattern seed, written in pieces of 64 KiB */
static void send_pat(int fd, uint32_t seed, size_t n)
{
	static uint8_t b[65536];
	for (size_t d = 0; d < n;) {
		size_t k = n - d < sizeof(b) ? n - d : sizeof(b);
		pat(seed, d, b, k);
		write_all(fd, b, k);
		d += k;
	}
}
/* n bytes read by read() into a hash */
static void recv_hash(int fd, size_t n, struct sha256 *h)
{
	char b[65536];
	for (size_t d = 0; d < n;) {
		ssize_t r = read(fd, b, n - d < sizeof(b) ? n - d : sizeof(b));
		CHECK(r > 0, "read: %zd after %zu of %zu", r, d, n);
		sha256_update(h, b, (size_t)r);
		d += (size_t)r;
	}
}

static int getfd(int fd) { return fcntl(fd, F_GETFD); }
static int nonblock(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

/* Descriptor flags on a fresh stream and datagram socket and their dups. */
static void flags_check(void)
{
	int a = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(a >= 0, "socket");
	CHECK(getfd(a) == 0, "socket(SOCK_STREAM): FD_CLOEXEC %d set unasked", getfd(a));
	CHECK(!nonblock(a) && (fcntl(a, F_GETFL) & O_ACCMODE) == O_RDWR, "socket: F_GETFL %#x", fcntl(a, F_GETFL));
	int b = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(b >= 0 && getfd(b) == FD_CLOEXEC && nonblock(b), "socket(SOCK_CLOEXEC|SOCK_NONBLOCK)");
	int d = dup(b);
	CHECK(d >= 0 && getfd(d) == 0 && nonblock(d), "dup: no FD_CLOEXEC, O_NONBLOCK shared");
	CHECK(fcntl(d, F_SETFL, 0) == 0 && !nonblock(b), "F_SETFL on a dup is the socket's");
	CHECK(fcntl(d, F_SETFD, FD_CLOEXEC) == 0 && getfd(d) == FD_CLOEXEC && getfd(b) == FD_CLOEXEC, "F_SETFD");
	CHECK(fcntl(b, F_SETFD, 0) == 0 && getfd(b) == 0 && getfd(d) == FD_CLOEXEC, "F_SETFD is per number");
	int e = fcntl(a, F_DUPFD, 300);
	CHECK(e >= 300 && getfd(e) == 0, "F_DUPFD 300: %d", e);
	int f = fcntl(a, F_DUPFD_CLOEXEC, 310);
	CHECK(f >= 310 && getfd(f) == FD_CLOEXEC, "F_DUPFD_CLOEXEC 310: %d", f);
	CHECK(dup2(a, 320) == 320 && getfd(320) == 0, "dup2");
	CHECK(dup3(a, 321, O_CLOEXEC) == 321 && getfd(321) == FD_CLOEXEC, "dup3 O_CLOEXEC");
	CHECK(dup3(a, 322, 0) == 322 && getfd(322) == 0, "dup3 0");
	REFUSED(dup3(a, a, 0), EINVAL, "dup3 onto itself");
	REFUSED(dup3(a, 323, O_NONBLOCK), EINVAL, "dup3 O_NONBLOCK");
	CHECK(dup2(a, a) == a, "dup2 onto itself");
	CHECK(dup2(b, 320) == 320, "dup2 over another stack socket's number");
	int t = -1;
	socklen_t tl = sizeof(t);
	CHECK(getsockopt(320, SOL_SOCKET, SO_TYPE, &t, &tl) == 0 && t == SOCK_DGRAM, "dup2 over: now the datagram socket");
	int all[] = { a, b, d, e, f, 320, 321, 322 };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		CHECK(close(all[i]) == 0, "close %d", all[i]);
	REFUSED(fcntl(321, F_GETFD), EBADF, "closed number");
	printf("ok: %s descriptor flags (socket, dup, dup2, dup3, F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, F_SETFL)\n", role);
}

/* Positioned calls on a socket have no position. */
static void nopos_check(int s)
{
	char b[64];
	struct iovec v = { b, sizeof(b) };
	REFUSED(pread(s, b, chunk < sizeof(b) ? chunk : sizeof(b), 0), ESPIPE, "pread (__pread_chk)");
	REFUSED(pread(s, b, sizeof(b), -1), EINVAL, "pread at -1");
	REFUSED(pwrite(s, b, 1, 0), ESPIPE, "pwrite");
	REFUSED(preadv(s, &v, 1, 0), ESPIPE, "preadv");
	REFUSED(pwritev(s, &v, 1, 0), ESPIPE, "pwritev");
	REFUSED(preadv2(s, &v, 1, 5, 0), ESPIPE, "preadv2 at 5");
	REFUSED(pwritev2(s, &v, 1, 0, 0), ESPIPE, "pwritev2 at 0");
	REFUSED(lseek(s, 0, SEEK_CUR), ESPIPE, "lseek");
}

static struct sockaddr_in addr_of(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	CHECK(inet_pton(AF_INET, ip, &a.sin_addr) == 1, "address %s", ip);
	return a;
}

#define FORTIFY_N (1u << 20)
#define VEC_N 300000
#define V2_N 100000
#define MMSG_N 8
#define SPLICE_N 500000
#define FILE_N 700000
#define FILE_OFF 100000
#define DUP_N 131072
#define UDP_N 16
#define FDOPEN_N 200000

static size_t mmsg_len(int i) { return 1000 + (size_t)i * 7919; }
static size_t udp_len(int i) { return 64 + (size_t)i * 83; }

/* ---------------------------------------------------------------------------- */

static int server(const char *ip, int port, const char *hold)
{
	flags_check();
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int one_ = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one_, sizeof(one_));
	struct sockaddr_in a = addr_of(ip, port);
	CHECK(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 4) == 0, "bind/listen");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = addr_of(ip, port + 1);
	CHECK(bind(u, (struct sockaddr *)&ua, sizeof(ua)) == 0, "bind udp");

	int s = accept4(l, NULL, NULL, 0);
	CHECK(s >= 0, "accept4");
	CHECK(getfd(s) == 0 && !nonblock(s), "accept4(0): FD_CLOEXEC %d O_NONBLOCK %d", getfd(s), nonblock(s));

	/* fortify: __read_chk, __recv_chk, __recvfrom_chk between __poll_chk
	 * and __ppoll_chk waits */
	struct sha256 h;
	sha256_init(&h);
	char buf[8192];
	struct pollfd pf[1] = { { .fd = s, .events = POLLIN } };
	size_t got = 0;
	for (int i = 0; got < FORTIFY_N; i++) {
		int k = i % 2 ? ppoll(pf, one, &(struct timespec){ 30, 0 }, NULL) : poll(pf, one, 30000);
		CHECK(k == 1 && (pf[0].revents & POLLIN), "%s: %d", i % 2 ? "ppoll" : "poll", k);
		size_t want = FORTIFY_N - got < chunk ? FORTIFY_N - got : chunk;
		ssize_t r = i % 3 == 0 ? read(s, buf, want) : i % 3 == 1 ? recv(s, buf, want, 0)
									: recvfrom(s, buf, want, 0, NULL, NULL);
		CHECK(r > 0, "read/recv/recvfrom: %zd", r);
		sha256_update(&h, buf, (size_t)r);
		got += (size_t)r;
	}
	expect(&h, 1, FORTIFY_N, "fortify (__read_chk __recv_chk __recvfrom_chk __poll_chk __ppoll_chk)");

	/* vectors: readv, then preadv2 at -1 */
	nopos_check(s);
	sha256_init(&h);
	static char big[VEC_N];
	for (size_t d = 0; d < VEC_N;) {
		struct iovec v[3] = { { big + d, (VEC_N - d) / 3 + 1 }, { 0 }, { 0 } };
		if (v[0].iov_len > VEC_N - d)
			v[0].iov_len = VEC_N - d;
		v[1] = (struct iovec){ big + d + v[0].iov_len, (VEC_N - d - v[0].iov_len) / 2 };
		v[2] = (struct iovec){ (char *)v[1].iov_base + v[1].iov_len, VEC_N - d - v[0].iov_len - v[1].iov_len };
		ssize_t r = readv(s, v, 3);
		CHECK(r > 0, "readv: %zd", r);
		d += (size_t)r;
	}
	sha256_update(&h, big, VEC_N);
	expect(&h, 2, VEC_N, "readv");
	sha256_init(&h);
	for (size_t d = 0; d < V2_N;) {
		struct iovec v[2] = { { big + d, (V2_N - d) / 2 }, { big + d + (V2_N - d) / 2, V2_N - d - (V2_N - d) / 2 } };
		ssize_t r = preadv2(s, v, 2, -1, 0);
		CHECK(r > 0, "preadv2 at -1");
		d += (size_t)r;
	}
	sha256_update(&h, big, V2_N);
	expect(&h, 3, V2_N, "preadv2 at -1");

	/* mmsg-tcp: recvmmsg with MSG_WAITFORONE until all arrived */
	size_t total = 0;
	for (int i = 0; i < MMSG_N; i++)
		total += mmsg_len(i);
	sha256_init(&h);
	for (size_t d = 0; d < total;) {
		static char mb[4][16384];
		struct iovec iv[4];
		struct mmsghdr mm[4];
		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < 4; i++) {
			iv[i] = (struct iovec){ mb[i], sizeof(mb[i]) };
			mm[i].msg_hdr.msg_iov = &iv[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		size_t left = total - d;
		for (int i = 0; i < 4; i++) { /* never past this phase's bytes */
			iv[i].iov_len = left < sizeof(mb[i]) ? left : sizeof(mb[i]);
			left -= iv[i].iov_len;
		}
		int n = recvmmsg(s, mm, iv[1].iov_len ? (iv[2].iov_len ? (iv[3].iov_len ? 4 : 3) : 2) : 1, MSG_WAITFORONE, NULL);
		CHECK(n >= 1, "recvmmsg tcp: %d", n);
		for (int i = 0; i < n; i++) {
			CHECK(mm[i].msg_len > 0, "recvmmsg tcp: message %d empty", i);
			sha256_update(&h, mb[i], mm[i].msg_len);
			d += mm[i].msg_len;
		}
	}
	expect(&h, 4, total, "recvmmsg tcp");

	/* splice: socket -> pipe, read from the pipe */
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	int fz = open("/dev/null", O_WRONLY);
	loff_t off = 0;
	REFUSED(splice(s, NULL, fz, NULL, 10, 0), EINVAL, "splice socket -> file");
	REFUSED(splice(s, &off, p[1], NULL, 10, 0), EINVAL, "splice with an offset on the socket");
	REFUSED(splice(s, NULL, p[0], NULL, 10, 0), EBADF, "splice into the pipe's read end");
	REFUSED(tee(p[0], s, 10, 0), EINVAL, "tee into a socket");
	REFUSED(vmsplice(s, &(struct iovec){ buf, 10 }, 1, 0), EBADF, "vmsplice on a socket");
	close(fz);
	sha256_init(&h);
	for (size_t d = 0; d < SPLICE_N;) {
		ssize_t r = splice(s, NULL, p[1], NULL, SPLICE_N - d, 0);
		CHECK(r > 0, "splice socket -> pipe: %zd", r);
		for (ssize_t q = 0; q < r;) {
			ssize_t k = read(p[0], buf, (size_t)(r - q) < sizeof(buf) ? (size_t)(r - q) : sizeof(buf));
			CHECK(k > 0, "read the pipe");
			sha256_update(&h, buf, (size_t)k);
			q += k;
		}
		d += (size_t)r;
	}
	expect(&h, 5, SPLICE_N, "splice socket -> pipe");

	/* sendfile: the file from FILE_OFF, then its first FILE_OFF bytes */
	sha256_init(&h);
	char w1[65], w2[65], g[65];
	recv_hash(s, FILE_N - FILE_OFF, &h);
	sha256_hex(&h, g);
	pat_hex(6, FILE_OFF, FILE_N - FILE_OFF, w1);
	CHECK(strcmp(g, w1) == 0, "sendfile with an offset: bytes differ");
	sha256_init(&h);
	recv_hash(s, FILE_OFF, &h);
	sha256_hex(&h, g);
	pat_hex(6, 0, FILE_OFF, w2);
	CHECK(strcmp(g, w2) == 0, "sendfile from the file's position: bytes differ");
	printf("ok: %s sendfile %d bytes byte-exact\n", role, FILE_N);

	/* dup: the first number closed, the socket goes on under dup2's */
	CHECK(dup2(s, 100) == 100 && close(s) == 0, "dup2, close");
	s = 100;
	sha256_init(&h);
	recv_hash(s, DUP_N, &h);
	expect(&h, 7, DUP_N, "dup2 then close: the socket lives on");

	/* mmsg-udp: 16 datagrams in, the same 16 back */
	static char ub[UDP_N][2048];
	struct iovec uv[UDP_N];
	struct mmsghdr um[UDP_N];
	struct sockaddr_in from[UDP_N];
	int nd = 0;
	while (nd < UDP_N) {
		memset(um, 0, sizeof(um));
		for (int i = 0; i < UDP_N - nd; i++) {
			uv[i] = (struct iovec){ ub[nd + i], sizeof(ub[0]) };
			um[i].msg_hdr = (struct msghdr){ .msg_name = &from[nd + i], .msg_namelen = sizeof(from[0]),
							 .msg_iov = &uv[i], .msg_iovlen = 1 };
		}
		int n = recvmmsg(u, um, (unsigned)(UDP_N - nd), MSG_WAITFORONE, NULL);
		CHECK(n >= 1, "recvmmsg udp");
		for (int i = 0; i < n; i++)
			CHECK(um[i].msg_len == udp_len(nd + i), "datagram %d: %u bytes, want %zu", nd + i, um[i].msg_len,
			      udp_len(nd + i));
		nd += n;
	}
	sha256_init(&h);
	size_t ut = 0;
	for (int i = 0; i < UDP_N; i++) {
		sha256_update(&h, ub[i], udp_len(i));
		ut += udp_len(i);
	}
	expect(&h, 9, ut, "recvmmsg udp (16 datagrams)");
	memset(um, 0, sizeof(um));
	for (int i = 0; i < UDP_N; i++) {
		uv[i] = (struct iovec){ ub[i], udp_len(i) };
		um[i].msg_hdr = (struct msghdr){ .msg_name = &from[0], .msg_namelen = sizeof(from[0]), .msg_iov = &uv[i],
						 .msg_iovlen = 1 };
	}
	for (int sent = 0; sent < UDP_N;) {
		int n = sendmmsg(u, um + sent, (unsigned)(UDP_N - sent), 0);
		CHECK(n >= 1, "sendmmsg udp echo");
		sent += n;
	}

	/* fdopen: a second connection, accepted close-on-exec and non-blocking */
	int s2 = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	for (int i = 0; s2 < 0 && errno == EAGAIN && i < 30000; i++) { /* the first accept4 waits */
		poll(&(struct pollfd){ .fd = l, .events = POLLIN }, 1, 1000);
		s2 = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	}
	CHECK(s2 >= 0, "accept4(SOCK_CLOEXEC|SOCK_NONBLOCK)");
	CHECK(getfd(s2) == FD_CLOEXEC && nonblock(s2), "accept4(CLOEXEC|NONBLOCK): %d %d", getfd(s2), nonblock(s2));
	CHECK(fcntl(s2, F_SETFL, fcntl(s2, F_GETFL) & ~O_NONBLOCK) == 0 && !nonblock(s2), "F_SETFL blocking");
	FILE *f = fdopen(s2, "r+");
	CHECK(f != NULL && fileno(f) == s2, "fdopen: fileno %d, want %d", f ? fileno(f) : -1, s2);
	static char fb[FDOPEN_N];
	CHECK(fread(fb, 1, FDOPEN_N, f) == FDOPEN_N, "fread");
	sha256_init(&h);
	sha256_update(&h, fb, FDOPEN_N);
	sha256_hex(&h, g);
	pat_hex(10, 0, FDOPEN_N, w1);
	CHECK(strcmp(g, w1) == 0, "fdopen fread: %d bytes differ", FDOPEN_N);
	printf("ok: %s fdopen fread %d bytes byte-exact\n", role, FDOPEN_N);
	CHECK(fprintf(f, "OK %s\n", g) > 0 && fflush(f) == 0, "fprintf");
	CHECK(fgetc(f) == EOF && feof(f) && !ferror(f), "fgetc: the peer's fclose is an end of stream");
	CHECK(fclose(f) == 0, "fclose");
	REFUSED(fcntl(s2, F_GETFD), EBADF, "the number after fclose");
	printf("ok: %s fdopen: fileno, fclose closed the socket\n", role);

	/* hold: zcstat looks, the client's byte ends it */
	int hf = open(hold, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(hf >= 0, "create %s", hold);
	close(hf);
	CHECK(read(s, buf, 1) == 1 && buf[0] == 'z', "the last byte");
	CHECK(read(s, buf, 1) == 0, "end of stream");
	close(s);
	close(u);
	close(l);
	printf("PASS: shim_io server\n");
	return 0;
}

/* ---------------------------------------------------------------------------- */

static int client(const char *ip, int port, const char *go, const char *hold)
{
	flags_check();
	struct sockaddr_in a = addr_of(ip, port);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	for (int i = 0; connect(c, (struct sockaddr *)&a, sizeof(a)) != 0; i++) {
		CHECK(i < 200, "connect");
		close(c);
		c = socket(AF_INET, SOCK_STREAM, 0);
		usleep(50000);
	}

	send_pat(c, 1, FORTIFY_N);

	/* vectors */
	nopos_check(c);
	static uint8_t big[VEC_N];
	pat(2, 0, big, VEC_N);
	struct iovec v[3] = { { big, 1 }, { big + 1, 150000 }, { big + 150001, VEC_N - 150001 } };
	ssize_t wv = writev(c, v, 3);
	CHECK(wv == VEC_N, "writev: %zd of %d", wv, VEC_N);
	pat(3, 0, big, V2_N);
	struct iovec v2[2] = { { big, 4096 }, { big + 4096, V2_N - 4096 } };
	wv = pwritev2(c, v2, 2, -1, 0);
	CHECK(wv == V2_N, "pwritev2 at -1: %zd of %d", wv, V2_N);

	/* mmsg-tcp: 8 messages of 2 iovecs */
	size_t total = 0;
	for (int i = 0; i < MMSG_N; i++)
		total += mmsg_len(i);
	static uint8_t mb[1 << 17];
	pat(4, 0, mb, total);
	struct iovec iv[MMSG_N][2];
	struct mmsghdr mm[MMSG_N];
	memset(mm, 0, sizeof(mm));
	size_t o = 0;
	for (int i = 0; i < MMSG_N; i++) {
		iv[i][0] = (struct iovec){ mb + o, mmsg_len(i) / 3 };
		iv[i][1] = (struct iovec){ mb + o + mmsg_len(i) / 3, mmsg_len(i) - mmsg_len(i) / 3 };
		mm[i].msg_hdr.msg_iov = iv[i];
		mm[i].msg_hdr.msg_iovlen = 2;
		o += mmsg_len(i);
	}
	CHECK(sendmmsg(c, mm, MMSG_N, 0) == MMSG_N, "sendmmsg tcp");
	for (int i = 0; i < MMSG_N; i++)
		CHECK(mm[i].msg_len == mmsg_len(i), "sendmmsg: msg_len %u of %d", mm[i].msg_len, i);

	/* splice: pipe -> socket */
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	loff_t off = 0;
	REFUSED(splice(p[0], &off, c, NULL, 10, 0), ESPIPE, "splice with an offset on the pipe");
	REFUSED(splice(p[0], NULL, c, &off, 10, 0), EINVAL, "splice with an offset on the socket");
	REFUSED(splice(p[0], NULL, c, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN, "splice from an empty pipe, non-blocking");
	CHECK(splice(p[0], NULL, c, NULL, 0, 0) == 0, "splice of 0 bytes");
	static uint8_t piece[65536];
	for (size_t d = 0; d < SPLICE_N;) {
		size_t k = SPLICE_N - d < sizeof(piece) ? SPLICE_N - d : sizeof(piece);
		pat(5, d, piece, k);
		write_all(p[1], piece, k);
		for (size_t q = 0; q < k;) {
			ssize_t r = splice(p[0], NULL, c, NULL, k - q, SPLICE_F_MORE);
			CHECK(r > 0, "splice pipe -> socket: %zd", r);
			q += (size_t)r;
		}
		d += k;
	}

	/* aio: not carried on a stack socket (ENOSYS, counted as bypass_call,
	 * told once), the kernel's on a pipe */
	struct aiocb ab = { .aio_fildes = c, .aio_buf = piece, .aio_nbytes = 10 };
	REFUSED(aio_read(&ab), ENOSYS, "aio_read on a stack socket");
	REFUSED(aio_read(&ab), ENOSYS, "aio_read on a stack socket, again");
	struct aiocb aw = { .aio_fildes = p[1], .aio_buf = (void *)"aio", .aio_nbytes = 3 };
	CHECK(aio_write(&aw) == 0, "aio_write on a pipe");
	const struct aiocb *al[1] = { &aw };
	while (aio_error(&aw) == EINPROGRESS)
		aio_suspend(al, 1, NULL);
	char ar[3];
	CHECK(aio_return(&aw) == 3 && read(p[0], ar, 3) == 3 && memcmp(ar, "aio", 3) == 0, "aio_write on a pipe: the bytes");
	printf("ok: %s aio_read refused on a stack socket, aio_write on a pipe the kernel's\n", role);

	/* sendfile: from FILE_OFF by offset, then from the file's position */
	char tmpl[] = "/tmp/shim_io.XXXXXX";
	int fd = mkstemp(tmpl);
	CHECK(fd >= 0, "mkstemp");
	unlink(tmpl);
	send_pat(fd, 6, FILE_N);
	off_t fo = FILE_OFF;
	while (fo < FILE_N) {
		ssize_t r = sendfile(c, fd, &fo, (size_t)(FILE_N - fo));
		CHECK(r > 0, "sendfile with an offset");
	}
	CHECK(lseek(fd, 0, SEEK_CUR) == FILE_N, "sendfile with an offset moved the file's position");
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek");
	for (size_t d = 0; d < FILE_OFF;) {
		ssize_t r = sendfile(c, fd, NULL, FILE_OFF - d);
		CHECK(r > 0, "sendfile");
		d += (size_t)r;
	}
	CHECK(lseek(fd, 0, SEEK_CUR) == FILE_OFF, "sendfile from the position: position %ld", (long)lseek(fd, 0, SEEK_CUR));
	close(fd);

	/* dup: dup, close the first, F_DUPFD, close the second, write on */
	int d1 = dup(c);
	CHECK(d1 >= 0 && close(c) == 0, "dup, close");
	send_pat(d1, 7, DUP_N / 2);
	int d2 = fcntl(d1, F_DUPFD, 200);
	CHECK(d2 >= 200 && close(d1) == 0, "F_DUPFD, close");
	static uint8_t db[DUP_N / 2];
	pat(7, DUP_N / 2, db, DUP_N / 2);
	write_all(d2, db, DUP_N / 2);
	c = d2;

	/* mmsg-udp */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in ua = addr_of(ip, port + 1);
	static uint8_t ub[UDP_N][2048];
	struct iovec uv[UDP_N];
	struct mmsghdr um[UDP_N];
	memset(um, 0, sizeof(um));
	size_t uo = 0;
	for (int i = 0; i < UDP_N; i++) {
		pat(9, uo, ub[i], udp_len(i));
		uo += udp_len(i);
		uv[i] = (struct iovec){ ub[i], udp_len(i) };
		um[i].msg_hdr = (struct msghdr){ .msg_name = &ua, .msg_namelen = sizeof(ua), .msg_iov = &uv[i], .msg_iovlen = 1 };
	}
	for (int sent = 0; sent < UDP_N;) {
		int n = sendmmsg(u, um + sent, (unsigned)(UDP_N - sent), 0);
		CHECK(n >= 1, "sendmmsg udp");
		sent += n;
	}
	static char rb[UDP_N][2048];
	int nd = 0;
	struct timespec tmo = { 30, 0 };
	while (nd < UDP_N) {
		memset(um, 0, sizeof(um));
		for (int i = 0; i < UDP_N - nd; i++) {
			uv[i] = (struct iovec){ rb[nd + i], sizeof(rb[0]) };
			um[i].msg_hdr = (struct msghdr){ .msg_iov = &uv[i], .msg_iovlen = 1 };
		}
		int n = recvmmsg(u, um, (unsigned)(UDP_N - nd), MSG_WAITFORONE, &tmo);
		CHECK(n >= 1, "recvmmsg udp with a timeout");
		CHECK(tmo.tv_sec <= 30 && tmo.tv_nsec >= 0 && tmo.tv_nsec < 1000000000, "recvmmsg: timeout left");
		for (int i = 0; i < n; i++)
			CHECK(um[i].msg_len == udp_len(nd + i), "echo %d: %u bytes", nd + i, um[i].msg_len);
		nd += n;
	}
	struct sha256 h;
	sha256_init(&h);
	for (int i = 0; i < UDP_N; i++)
		sha256_update(&h, rb[i], udp_len(i));
	expect(&h, 9, uo, "sendmmsg, recvmmsg udp echo (16 datagrams)");
	close(u);

	/* fdopen */
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(c2, (struct sockaddr *)&a, sizeof(a)) == 0, "connect 2");
	FILE *f = fdopen(c2, "r+");
	CHECK(f != NULL && fileno(f) == c2, "fdopen: fileno %d, want %d", f ? fileno(f) : -1, c2);
	errno = 0;
	CHECK(fseek(f, 0, SEEK_SET) == -1 && errno == ESPIPE, "fseek on a socket stream");
	CHECK(ftell(f) == -1, "ftell on a socket stream");
	static uint8_t fb[FDOPEN_N];
	pat(10, 0, fb, FDOPEN_N);
	CHECK(fwrite(fb, 1, FDOPEN_N, f) == FDOPEN_N && fflush(f) == 0, "fwrite");
	char line[128], want[65];
	CHECK(fgets(line, sizeof(line), f) != NULL, "fgets the server's answer");
	pat_hex(10, 0, FDOPEN_N, want);
	CHECK(strncmp(line, "OK ", 3) == 0 && strncmp(line + 3, want, 64) == 0, "the server read: %s", line);
	CHECK(fclose(f) == 0, "fclose");
	REFUSED(fcntl(c2, F_GETFD), EBADF, "the number after fclose");
	printf("ok: %s fdopen fwrite/fgets %d bytes, fileno, fclose closed the socket\n", role, FDOPEN_N);

	/* hold until GO, while zcstat looks */
	for (int i = 0; access(go, F_OK) != 0; i++) {
		CHECK(i < 3000, "no %s after 30 s", go);
		usleep(10000);
	}
	(void)hold;
	write_all(c, "z", 1);
	CHECK(close(c) == 0, "close");
	printf("PASS: shim_io client\n");
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && strcmp(argv[1], "server") == 0) {
		role = "server";
		return server(argv[2], atoi(argv[3]), argv[4]);
	}
	if (argc == 6 && strcmp(argv[1], "client") == 0) {
		role = "client";
		return client(argv[2], atoi(argv[3]), argv[4], argv[5]);
	}
	fprintf(stderr, "usage: shim_io server IP PORT HOLD | client IP PORT GO HOLD\n");
	return 2;
}

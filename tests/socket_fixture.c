/* socket_fixture.c - the socket tests' shared calls and helpers (see
 * socket_fixture.h). */
#include "socket_fixture.h"
#include "nic/trapeze.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* --- two backends with one set of calls -------------------------------------- */

int b_socket(const struct be *b, int side, int type)
{
	return b->cx[side] ? zc_socket(b->cx[side], AF_INET, type, 0) : socket(AF_INET, type, 0);
}
struct sockaddr_in sin_of(uint32_t ip, uint16_t port)
{
	return (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip) };
}
int b_bind(const struct be *b, int side, int fd, uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = sin_of(ip, port);
	return b->cx[side] ? zc_bind(b->cx[side], fd, (struct sockaddr *)&a, sizeof(a))
			   : bind(fd, (struct sockaddr *)&a, sizeof(a));
}
int b_listen(const struct be *b, int side, int fd)
{
	return b->cx[side] ? zc_listen(b->cx[side], fd, 16) : listen(fd, 16);
}
int b_connect(const struct be *b, int side, int fd, uint32_t ip, uint16_t port)
{
	struct sockaddr_in a = sin_of(ip, port);
	return b->cx[side] ? zc_connect(b->cx[side], fd, (struct sockaddr *)&a, sizeof(a))
			   : connect(fd, (struct sockaddr *)&a, sizeof(a));
}
int b_accept(const struct be *b, int side, int fd, int flags)
{
	return b->cx[side] ? zc_accept4(b->cx[side], fd, NULL, NULL, flags) : accept4(fd, NULL, NULL, flags);
}
ssize_t b_send(const struct be *b, int side, int fd, const void *p, size_t n, int fl)
{
	return b->cx[side] ? zc_send(b->cx[side], fd, p, n, fl) : send(fd, p, n, fl);
}
ssize_t b_recv(const struct be *b, int side, int fd, void *p, size_t n, int fl)
{
	return b->cx[side] ? zc_recv(b->cx[side], fd, p, n, fl) : recv(fd, p, n, fl);
}
ssize_t b_writev(const struct be *b, int side, int fd, const struct iovec *v, int n)
{
	return b->cx[side] ? zc_writev(b->cx[side], fd, v, n) : writev(fd, v, n);
}
int b_close(const struct be *b, int side, int fd)
{
	return b->cx[side] ? zc_close(b->cx[side], fd) : close(fd);
}
int b_shutdown(const struct be *b, int side, int fd, int how)
{
	return b->cx[side] ? zc_shutdown(b->cx[side], fd, how) : shutdown(fd, how);
}
int b_getsockopt(const struct be *b, int side, int fd, int lv, int nm, void *v, socklen_t *l)
{
	return b->cx[side] ? zc_getsockopt(b->cx[side], fd, lv, nm, v, l) : getsockopt(fd, lv, nm, v, l);
}
int b_setsockopt(const struct be *b, int side, int fd, int lv, int nm, const void *v, socklen_t l)
{
	return b->cx[side] ? zc_setsockopt(b->cx[side], fd, lv, nm, v, l) : setsockopt(fd, lv, nm, v, l);
}
int b_poll(const struct be *b, int side, struct pollfd *p, nfds_t n, int ms)
{
	return b->cx[side] ? zc_poll(b->cx[side], p, n, ms) : poll(p, n, ms);
}
int b_getname(const struct be *b, int side, int fd, bool peer, uint16_t *port)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	int r = b->cx[side] ? (peer ? zc_getpeername : zc_getsockname)(b->cx[side], fd, (struct sockaddr *)&a, &l)
			    : (peer ? getpeername : getsockname)(fd, (struct sockaddr *)&a, &l);
	if (r == 0 && port)
		*port = ntohs(a.sin_port);
	return r;
}
int b_ioctl(const struct be *b, int side, int fd, unsigned long req, int *v)
{
	return b->cx[side] ? zc_ioctl(b->cx[side], fd, req, v) : ioctl(fd, req, v);
}
int b_nonblock(const struct be *b, int side, int fd)
{
	return b->cx[side] ? zc_fcntl(b->cx[side], fd, F_SETFL, O_NONBLOCK) : fcntl(fd, F_SETFL, O_NONBLOCK);
}
int b_getint(const struct be *b, int side, int fd, int lv, int nm)
{
	int v = -12345;
	socklen_t l = sizeof(v);
	assert_int_equal(b_getsockopt(b, side, fd, lv, nm, &v, &l), 0);
	return v;
}
int b_setint(const struct be *b, int side, int fd, int lv, int nm, int v)
{
	return b_setsockopt(b, side, fd, lv, nm, &v, sizeof(v));
}

/* A listener on the server side: returns its fd, its port in *port. */
int listener(const struct be *b, uint16_t *port)
{
	int l = b_socket(b, 0, SOCK_STREAM);
	assert_true(l >= 0);
	assert_int_equal(b_bind(b, 0, l, b->ip[0], 0), 0);
	assert_int_equal(b_listen(b, 0, l), 0);
	assert_int_equal(b_getname(b, 0, l, false, port), 0);
	return l;
}

/* A connected pair: *c on the client side, *a on the server side. */
void pair(const struct be *b, int *c, int *a, int *l)
{
	uint16_t port;
	*l = listener(b, &port);
	*c = b_socket(b, 1, SOCK_STREAM);
	assert_int_equal(b_connect(b, 1, *c, b->ip[0], port), 0);
	*a = b_accept(b, 0, *l, 0);
	assert_true(*a >= 0);
}

/* A port on the server side with nobody listening. */
uint16_t closed_port(const struct be *b)
{
	int t = b_socket(b, 0, SOCK_STREAM);
	uint16_t port;
	assert_int_equal(b_bind(b, 0, t, b->ip[0], 0), 0);
	assert_int_equal(b_getname(b, 0, t, false, &port), 0);
	b_close(b, 0, t);
	return port;
}

/* --- a checkable stream and buffers ---------------------------------------------- */

/* The stream's byte at offset o is a function of o, so any piece can be checked. */
static uint64_t pat_word(uint64_t i)
{
	uint64_t z = i + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
uint8_t pat_byte(uint64_t o)
{
	return (uint8_t)(pat_word(o / 8) >> (8 * (o % 8)));
}
void pat_fill(uint8_t *p, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat_byte(off + i);
}
/* Offset of the first wrong byte, or -1. */
long pat_check(const uint8_t *p, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat_byte(off + i))
			return (long)i;
	return -1;
}

/* A 2 MiB-aligned anonymous buffer of n bytes. */
uint8_t *abuf(size_t n)
{
	size_t raw = n + 2 * MiB;
	uint8_t *p = mmap(NULL, raw, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	uint8_t *a = (uint8_t *)(((uintptr_t)p + 2 * MiB - 1) & ~(uintptr_t)(2 * MiB - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	munmap(a + n, (size_t)(p + raw - (a + n)));
	return a;
}

/* --- both backends ----------------------------------------------------------------- */

void run_both(scenario sc, const char *what)
{
	struct be kb = { .name = "kernel", .ip = { 0x7f000001u, 0x7f000001u } };
	sc(&kb);
	struct be zb = { .name = "zcstack", .ip = { SRV_IP, CLI_IP } };
	snprintf(zb.wire, sizeof(zb.wire), "sk%d", (int)getpid());
	zc_trapeze_unlink(zb.wire);
	char n0[64], n1[64];
	snprintf(n0, sizeof(n0), "trapeze:%s,port=0", zb.wire);
	snprintf(n1, sizeof(n1), "trapeze:%s,port=1", zb.wire);
	zb.cx[0] = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = n0, .addr = "10.9.0.1/24", .seed = 1, .zcopy = -1 });
	zb.cx[1] = zc_sockctx_open(&(struct zc_sockctx_config){ .nic = n1, .addr = "10.9.0.2/24", .seed = 2, .zcopy = -1 });
	assert_non_null(zb.cx[0]);
	assert_non_null(zb.cx[1]);
	sc(&zb);
	zc_sockctx_close(zb.cx[1]);
	zc_sockctx_close(zb.cx[0]);
	zc_trapeze_unlink(zb.wire);
	(void)what;
}


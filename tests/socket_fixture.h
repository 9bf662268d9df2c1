/* socket_fixture.h - what the socket layer's tests share (test_socket_api,
 * test_socket_zc, test_socket_cow): one set of calls over two backends
 * (the Linux kernel over loopback, or two zcstack contexts over a Trapeze
 * wire), connected pairs, a byte stream any piece of which can be checked,
 * and 2 MiB-aligned buffers. */
#ifndef ZC_TESTS_SOCKET_FIXTURE_H
#define ZC_TESTS_SOCKET_FIXTURE_H

#include "sockapi/socket.h"

#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <cmocka.h>

#define MiB (1u << 20)
#define SRV_IP 0x0a090001u
#define CLI_IP 0x0a090002u

/* --- two backends with one set of calls -------------------------------------- */

struct be {
	const char *name;
	struct zc_sockctx *cx[2]; /* [0] server side, [1] client side; NULL: the kernel */
	uint32_t ip[2];
	char wire[32];
};

struct sockaddr_in sin_of(uint32_t ip, uint16_t port);
int b_socket(const struct be *b, int side, int type);
int b_bind(const struct be *b, int side, int fd, uint32_t ip, uint16_t port);
int b_listen(const struct be *b, int side, int fd);
int b_connect(const struct be *b, int side, int fd, uint32_t ip, uint16_t port);
int b_accept(const struct be *b, int side, int fd, int flags);
ssize_t b_send(const struct be *b, int side, int fd, const void *p, size_t n, int fl);
ssize_t b_recv(const struct be *b, int side, int fd, void *p, size_t n, int fl);
ssize_t b_writev(const struct be *b, int side, int fd, const struct iovec *v, int n);
int b_close(const struct be *b, int side, int fd);
int b_shutdown(const struct be *b, int side, int fd, int how);
int b_getsockopt(const struct be *b, int side, int fd, int lv, int nm, void *v, socklen_t *l);
int b_setsockopt(const struct be *b, int side, int fd, int lv, int nm, const void *v, socklen_t l);
int b_poll(const struct be *b, int side, struct pollfd *p, nfds_t n, int ms);
int b_getname(const struct be *b, int side, int fd, bool peer, uint16_t *port);
int b_ioctl(const struct be *b, int side, int fd, unsigned long req, int *v);
int b_nonblock(const struct be *b, int side, int fd);
int b_getint(const struct be *b, int side, int fd, int lv, int nm);
int b_setint(const struct be *b, int side, int fd, int lv, int nm, int v);

/* -1 with this errno */
#define assert_errno(call, e)                      \
	do {                                        \
		errno = 0;                          \
		assert_int_equal((long)(call), -1); \
		assert_int_equal(errno, (e));       \
	} while (0)

/* A listener on the server side: returns its fd, its port in *port. */
int listener(const struct be *b, uint16_t *port);
/* A connected pair: *c on the client side, *a on the server side. */
void pair(const struct be *b, int *c, int *a, int *l);
/* A port on the server side with nobody listening. */
uint16_t closed_port(const struct be *b);

/* Runs a scenario on the kernel, then on two fresh contexts (policy from
 * $ZCS_ZC): both must pass it. */
typedef void (*scenario)(const struct be *b);
void run_both(scenario sc, const char *what);

/* --- a checkable stream and buffers ---------------------------------------------- */

/* The stream's byte at offset o is a function of o, so any piece can be checked. */
uint8_t pat_byte(uint64_t o);
void pat_fill(uint8_t *p, uint64_t off, size_t n);
/* Offset of the first wrong byte, or -1. */
long pat_check(const uint8_t *p, uint64_t off, size_t n);
/* A 2 MiB-aligned anonymous buffer of n bytes. */
uint8_t *abuf(size_t n);

/* Two contexts with a connection between them, for the zero-copy tests:
 * c on cx[1] sends, a on cx[0] receives. */
struct zenv {
	struct be b;
	int c, a, l;
	pthread_t tx;
	uint64_t total;
	int policy;
	bool ref; /* the receiver's NIC receives by reference */
};

#endif

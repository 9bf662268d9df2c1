/*
 * socket.h - POSIX sockets over one zcstack instance: the socket layer that
 * the LD_PRELOAD shim and native programs share.
 *
 * A context (struct zc_sockctx) is one NIC, one stack, one lock and one
 * helper thread. Its calls have the signatures and the errno values of
 * their POSIX namesakes (return -1 and set errno), with the context first:
 *   zc_socket(cx, AF_INET, SOCK_STREAM, 0) ... zc_close(cx, fd)
 * IPv4 only, SOCK_STREAM (TCP) and SOCK_DGRAM (UDP), in AF_INET sockets or
 * AF_INET6 ones (dual-stack: names are v4-mapped, ::ffff:a.b.c.d, and
 * IPV6_V6ONLY, whose default is the kernel's net.ipv6.bindv6only, keeps
 * the v4 side out; a native IPv6 address is EADDRNOTAVAIL to bind and
 * ENETUNREACH to reach).
 *
 * Descriptors are real kernel descriptor numbers: each socket reserves one
 * (an unbound kernel socket of the same type, close-on-exec), so numbers
 * never collide with the process's own files and select()'s fd_set holds
 * them. Only this context's calls act on them.
 *
 * Threads: every call takes the context's lock and the calling thread
 * drives the stack (run to completion). A call that must wait busy-polls
 * for spin_ns, then sleeps on the NIC's interrupt (one thread; the others on
 * a condition variable) with a timeout at the next TCP timer. A helper
 * thread runs timers and ACKs while no application thread is inside; it
 * sleeps on the NIC's interrupt only when the application has been away
 * for a millisecond, so a busy application costs its peer no interrupts.
 * Blocking calls return EINTR when a signal interrupts their sleep.
 *
 * Zero-copy (zerocopy.h says how): a read into a page-aligned buffer of a
 * frame or more may be served by mapping receive frames into it (page
 * trading), by the policy zc (never | auto | always); everything else is
 * copied. zc_recv_zc() hands out read-only views of the frames instead, for
 * applications that opt in.
 */
#ifndef ZC_SOCKET_H
#define ZC_SOCKET_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

enum zc_zcopy {
	ZC_ZCOPY_NEVER = 0,  /* always copy */
	ZC_ZCOPY_AUTO = 1,   /* trade where the start-up measurement says it is cheaper */
	ZC_ZCOPY_ALWAYS = 2, /* trade whenever the rules allow */
};
/* "never" | "auto" | "always" -> policy, or -EINVAL */
int zc_zcopy_parse(const char *s);
const char *zc_zcopy_name(int policy);

struct zc_sockctx_config {
	const char *nic;       /* device string (nic/open.h), e.g. "trapeze:w0,port=0" */
	const char *addr;      /* "10.0.0.1/24" */
	const char *gateway;   /* NULL: none */
	uint64_t seed;         /* 0: from getrandom() */
	int zcopy;             /* enum zc_zcopy; -1: $ZCS_ZC, else auto */
	uint64_t spin_ns;      /* busy-poll before sleeping (0 = 50 us) */
	bool no_helper;        /* no helper thread (tests that drive by hand) */
	uint64_t linger_ns;    /* zc_sockctx_close lets connections drain this long (0 = 2 s) */
	/* Trapeze: 2 MiB receive placement frames added to the device string
	 * when it names none (0 = 64; UINT32_MAX = none). */
	uint32_t rx_huge;
};

struct zc_sockctx;

/* Opens the NIC and the stack and starts the helper. NULL with errno and a
 * log line naming the problem. */
struct zc_sockctx *zc_sockctx_open(const struct zc_sockctx_config *cfg);
/* Closes every socket (as close(2) would), lets the connections send what
 * they hold and their FIN for up to linger_ns, stops the helper, frees all. */
void zc_sockctx_close(struct zc_sockctx *cx);
/* In an image that a process of a stack exec'd (the preload, from ZCS_SHM):
 * map the stack's shared memory from fd, the arena's memfd that passed
 * through exec, and take back this process's part of the stack with the
 * sockets whose descriptors passed. NULL with errno and a message when it
 * cannot (the sockets are then closed for this program). */
struct zc_sockctx *zc_sockctx_attach(int fd);
/* Changes the zero-copy policy of sockets from now on; 0 or -EINVAL. */
int zc_sockctx_set_zcopy(struct zc_sockctx *cx, int policy);

/* Is fd one of this context's sockets? */
bool zc_is_socket(struct zc_sockctx *cx, int fd);

int zc_socket(struct zc_sockctx *cx, int domain, int type, int protocol);
int zc_bind(struct zc_sockctx *cx, int fd, const struct sockaddr *addr, socklen_t len);
int zc_listen(struct zc_sockctx *cx, int fd, int backlog);
int zc_accept4(struct zc_sockctx *cx, int fd, struct sockaddr *addr, socklen_t *len, int flags);
int zc_connect(struct zc_sockctx *cx, int fd, const struct sockaddr *addr, socklen_t len);
ssize_t zc_read(struct zc_sockctx *cx, int fd, void *buf, size_t len);
ssize_t zc_write(struct zc_sockctx *cx, int fd, const void *buf, size_t len);
ssize_t zc_readv(struct zc_sockctx *cx, int fd, const struct iovec *iov, int iovcnt);
ssize_t zc_writev(struct zc_sockctx *cx, int fd, const struct iovec *iov, int iovcnt);
/* flags: MSG_DONTWAIT, MSG_PEEK (recv), MSG_WAITALL (recv), MSG_NOSIGNAL (send) */
ssize_t zc_recv(struct zc_sockctx *cx, int fd, void *buf, size_t len, int flags);
ssize_t zc_send(struct zc_sockctx *cx, int fd, const void *buf, size_t len, int flags);
ssize_t zc_recvfrom(struct zc_sockctx *cx, int fd, void *buf, size_t len, int flags,
		    struct sockaddr *from, socklen_t *fromlen);
ssize_t zc_sendto(struct zc_sockctx *cx, int fd, const void *buf, size_t len, int flags,
		  const struct sockaddr *to, socklen_t tolen);
ssize_t zc_recvmsg(struct zc_sockctx *cx, int fd, struct msghdr *msg, int flags);
ssize_t zc_sendmsg(struct zc_sockctx *cx, int fd, const struct msghdr *msg, int flags);
int zc_shutdown(struct zc_sockctx *cx, int fd, int how);
int zc_close(struct zc_sockctx *cx, int fd);
/* dup (newfd < 0), dup2 (flags 0) and dup3 (flags O_CLOEXEC) of a stack
 * socket: the kernel reserves the new number, both name one socket, which
 * lives until the last is closed. */
int zc_dup(struct zc_sockctx *cx, int oldfd, int newfd, int flags);
/* Give fd back to the kernel: the stack socket goes, the descriptor (an
 * unbound kernel socket of the same type) stays, for sockets that turn out
 * to talk to addresses the stack does not reach. *nonblock: its O_NONBLOCK.
 * -1/EBUSY when it is shared (dup) or in use. */
int zc_detach(struct zc_sockctx *cx, int fd, int *nonblock);
/* The socket's family (AF_INET or AF_INET6) and, for AF_INET6, whether it
 * is IPV6_V6ONLY; -1/EBADF when fd is not a socket of cx. */
int zc_sock_family(struct zc_sockctx *cx, int fd, bool *v6only);
/* The stack's address (host order). */
uint32_t zc_sockctx_ip(const struct zc_sockctx *cx);
/* Might a send by reference still use [addr, addr+len)? A lock-free,
 * conservative check (false means surely not) for callers that would
 * otherwise call zc_release_range() very often (the shim's free()). */
bool zc_may_reference(const struct zc_sockctx *cx, const void *addr, size_t len);
/* Does the stack reach ip (host order): its subnet, or a gateway, and not
 * loopback? */
bool zc_reaches(struct zc_sockctx *cx, uint32_t ip);
int zc_getsockname(struct zc_sockctx *cx, int fd, struct sockaddr *addr, socklen_t *len);
int zc_getpeername(struct zc_sockctx *cx, int fd, struct sockaddr *addr, socklen_t *len);
int zc_setsockopt(struct zc_sockctx *cx, int fd, int level, int name, const void *val, socklen_t len);
int zc_getsockopt(struct zc_sockctx *cx, int fd, int level, int name, void *val, socklen_t *len);
/* fcntl F_GETFL / F_SETFL (O_NONBLOCK, O_ASYNC) and ioctl FIONBIO / FIOASYNC / FIONREAD
 * (O_ASYNC: the owner set with F_SETOWN gets SIGIO or F_SETSIG's signal) */
int zc_fcntl(struct zc_sockctx *cx, int fd, int cmd, long arg);
int zc_ioctl(struct zc_sockctx *cx, int fd, unsigned long req, int *arg);
/* poll(2) over any mix of this context's sockets and kernel fds. No
 * syscall when a socket of the stack is ready. */
int zc_poll(struct zc_sockctx *cx, struct pollfd *fds, nfds_t n, int timeout_ms);

/* Non-zero on a thread while the socket layer runs on it: always on its
 * own threads (the helper, the copy-on-write handler), and for the length
 * of a call where the preload shim sets it. libc calls made then are the
 * layer's own, and the shim passes them straight through (a free() on the
 * helper must not come back for the lock the helper holds). */
extern __thread int zc_thread_inside;
/* pthread_create for the layer's own threads: they start with every signal
 * blocked (signals are the application's: a SIGTERM taken by one of ours
 * would not interrupt the application's wait). */
int zc_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* --- epoll ------------------------------------------------------------------
 * An epoll instance is a kernel epoll fd holding the kernel fds; the stack
 * sockets added to it are kept here, by epfd. zc_epoll_ctl: EPOLL_CTL_ADD,
 * MOD, DEL for a stack socket fd (EEXIST, ENOENT, EBADF, EINVAL as Linux).
 * zc_epoll_wait: ready stack sockets first (level- or edge-triggered,
 * EPOLLONESHOT), then the kernel fds (one look without waiting when
 * `kernel` says the epoll holds any); waits on both, as epoll_wait. A
 * socket closed while in an epoll leaves it, as on Linux.
 * zc_epoll_nest: epoll fd `inner` was added to (MOD, DEL: in) epfd's kernel
 * set; its stack sockets' readiness makes it readable in epfd too (and in
 * zc_poll).
 * zc_epoll_forget: the epoll fd was closed. */
struct epoll_event;
int zc_epoll_ctl(struct zc_sockctx *cx, int epfd, int op, int fd, const struct epoll_event *ev);
int zc_epoll_wait(struct zc_sockctx *cx, int epfd, struct epoll_event *evs, int max, int timeout_ms, bool kernel);
int zc_epoll_nest(struct zc_sockctx *cx, int epfd, int op, int inner, const struct epoll_event *ev);
void zc_epoll_forget(struct zc_sockctx *cx, int epfd);

/* --- opt-in zero-copy receive --------------------------------------------
 * zc_recv_zc() takes up to max bytes of in-order data (waiting as recv does
 * unless MSG_DONTWAIT) and describes them as read-only views: frame bytes
 * through a read-only mapping of the receive pools made once per context,
 * so no page is remapped and nothing is copied. The frames stay the stack's
 * until zc_recv_zc_done(); the receive window counts them as read. Returns
 * the bytes described, 0 at end of stream, or -1 with errno. */
#define ZC_RXZC_IOV 64
struct zc_rxzc {
	struct iovec iov[ZC_RXZC_IOV];
	int iovcnt;
	void *priv; /* the held packets */
};
ssize_t zc_recv_zc(struct zc_sockctx *cx, int fd, struct zc_rxzc *z, size_t max, int flags);
void zc_recv_zc_done(struct zc_sockctx *cx, struct zc_rxzc *z);

/* Before unmapping, remapping, dropping (MADV_DONTNEED/FREE) or changing
 * the protection of memory that was sent from (munmap, mremap, madvise,
 * mprotect): sends still in flight from it are copied now. The preload
 * shim calls it from those calls; a native program that sends from buffers
 * it later unmaps or drops must call it (the kernel tells the stack only
 * once they are under way). Returns 0. */
int zc_release_range(struct zc_sockctx *cx, const void *addr, size_t len);

/* --- counters --------------------------------------------------------- */
struct zc_zstats {
	uint64_t bytes_copied;    /* host-stack copies between user buffers and frames */
	uint64_t bytes_traded;    /* received bytes mapped into user buffers (page trading) */
	uint64_t bytes_viewed;    /* received bytes handed out as views (zc_recv_zc) */
	uint64_t bytes_cow;       /* sent from user pages by reference (copy-on-write) */
	uint64_t deferred_copies; /* COW pages the application wrote before the ACK */
	uint64_t deferred_bytes;  /* bytes those deferred copies moved */
	uint64_t dma_bytes;       /* bytes the NIC copied (per context only) */
	uint64_t trades;          /* frames traded in */
	uint64_t frames_reclaimed;/* the caller's old frames taken back into the pool */
	uint64_t trade_fallbacks; /* reads that qualified by size but were copied */
	uint64_t trade_pauses;    /* auto stopped trading a size for a while: trades cost more
				     than the copy (per context only) */
	uint64_t remap_ns;        /* time spent remapping */
	uint64_t copy_ns;         /* time spent copying user data (measured on traded-size reads) */
	uint64_t ref_bytes;       /* received payload the NIC left in the sender's frames, by
				     reference: no NIC copy (per context only) */
};
/* Per socket (fd >= 0) or for the whole context (fd < 0); 0 or -1/errno. */
int zc_sock_zstats(struct zc_sockctx *cx, int fd, struct zc_zstats *out);

/* What the start-up measurement found for each receive frame size. */
struct zc_zcopy_costs {
	uint32_t frame_size;   /* 0: no such pool */
	uint64_t copy_ns;      /* cheapest memcpy of one frame into a warm buffer */
	uint64_t remap_ns;     /* cheapest trade of one frame into an aligned buffer */
	bool trade;            /* auto trades this size */
};
/* [0]: the NIC's page frames, [1]: the 2 MiB receive placement frames */
void zc_sockctx_costs(const struct zc_sockctx *cx, struct zc_zcopy_costs out[2]);
/* Replace the measurement for the sizes whose frame_size matches (tests,
 * or a caller that measured better); auto decides from them from now on. */
void zc_sockctx_set_costs(struct zc_sockctx *cx, const struct zc_zcopy_costs in[2]);
/* Print the context's counters, pools and sockets (zcstat's view). */
void zc_sockctx_dump(struct zc_sockctx *cx, FILE *f);

#endif

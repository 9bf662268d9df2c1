/*
 * socket_priv.h - what the files of the socket layer share (internal to
 * sockapi/; socket.h is the public contract).
 *
 * A call enters through zc__enter (fd -> socket, the context's lock taken,
 * the thread counted inside), does its work with the lock held, waits with
 * zc__block or zc__sleep (wait.c) when it must, and leaves through zc__ret
 * (errno set the POSIX way, the lock dropped). The files:
 *   context.c  contexts: open/close, fork, policy, the helper thread
 *   wait.c     driving the stack, spinning, sleeping, waking sleepers
 *   fdtable.c  the socket table and descriptor numbers (socket, close, dup)
 *   addr.c     addresses and connections (bind ... connect, shutdown, names)
 *   send.c     the send path (copy, or by reference with copy-on-write)
 *   recv.c     the receive path (waiting; zerocopy.c trades or copies)
 *   sockopt.c  get/setsockopt, fcntl, ioctl
 *   poll.c     readiness and zc_poll; epoll.c: epoll instances
 *   stats.c    counters and zcstat's dump
 * The functions here that every call runs (enter, leave, the clock) are
 * static inline, as they were when one file held the layer.
 */
#ifndef ZC_SOCKAPI_SOCKET_PRIV_H
#define ZC_SOCKAPI_SOCKET_PRIV_H

#include "sockapi/bypass.h"
#include "sockapi/mutex.h"
#include "sockapi/socket.h"
#include "stack/arena.h"
#include "stack/log.h"
#include "stack/stack.h"
#include "stack/tcp.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#define ZC__MAX_SLEEPERS 64

struct zc__sock {
	int fd;
	int family;            /* AF_INET, or AF_INET6 carrying IPv4 (v4-mapped) */
	int type;              /* SOCK_STREAM or SOCK_DGRAM */
	bool v6only;           /* IPV6_V6ONLY: nothing the stack can carry */
	bool nonblock;
	bool reuseaddr, reuseport;
	bool oobinline;        /* SO_OOBINLINE on UDP: only kept to be read back */
	struct zc_tcp_sock *tcp;
	struct zc_udp_sock *udp;
	bool udp_bound;
	uint32_t peer_ip;      /* UDP: connect()'s default destination */
	uint16_t peer_port;
	bool connecting;       /* a connect in progress (EALREADY) */
	int sndbuf, rcvbuf;    /* as getsockopt reports them (Linux doubles what is set) */
	uint64_t rcvtimeo, sndtimeo; /* ns, 0 = none */
	int users;             /* threads inside a call on this socket */
	int nfds;              /* descriptor numbers naming it (dup) */
	bool closed;           /* close() ran while a thread was inside */
	bool klisten;          /* a wildcard listener whose kernel descriptor listens too (loopback) */
	uint64_t kaccepted;    /* connections accepted from the kernel's side */
	uint64_t sid;          /* unique in the context: epoll tells sockets apart by it */
	uint32_t excl_change;  /* EPOLLEXCLUSIVE: the change last told, and to which instance */
	int excl_ep;
	bool async;            /* O_ASYNC: the owner gets SIGIO (or F_SETSIG's) on each wake-up */
	uint32_t sig_change, sig_urg; /* the wake-ups and urgent pointers signalled so far (sigio.c) */
	struct zc_zstats zs;
};

/* What every process of a stack shares, in the context's arena (issue 15:
 * fork and exec). For now the stack lock; the stack's own state is in the
 * same arena (zc_stack_config.arena). */
#define ZC__SLOTS 64 /* processes of one stack */
enum { ZC__SLOT_FREE, ZC__SLOT_PENDING, ZC__SLOT_LIVE };
/* A process of the stack and its descriptor table (procs.c): kept in the
 * arena so that the others can let go of a dead one's sockets. */
struct zc__slot {
	int state;
	pid_t pid;
	uint64_t born;            /* PENDING: when the fork began */
	unsigned sleepers;        /* its threads asleep in zc__sleep (lock held to change) */
	unsigned nic_sleepers;    /* of which on the NIC's interrupt (counted in shm->nic_sleepers) */
	int bell;                 /* a doorbell datagram is on its way to it (atomic) */
	struct zc__sock **tab;
	int tabcap;
	uint8_t *exec_pass;       /* exec under way: 1 for each descriptor that passes */
};
#define ZC__ROOT_SHM 0 /* the arena's root that holds struct zc__shm */
struct zc__shm {
	struct zc__mutex lk;
	uint64_t next_sid;        /* the next zc__sock.sid: unique across the processes */
	unsigned nprocs;          /* slots LIVE or PENDING */
	unsigned max_procs;       /* ZCS_MAX_PROCS, at most ZC__SLOTS */
	bool fork_warned;
	unsigned nic_sleepers;    /* threads of every process asleep on the NIC's interrupt:
	                           * the first arms it, the last acknowledges it */
	pid_t id_pid;             /* with id_ns, names this stack's doorbells */
	uint64_t id_ns;
	pid_t nic_owner;          /* the process the NIC names as its owner */
	bool nic_shared;          /* the NIC's state is in the arena too (Trapeze without capture or faults) */
	uint64_t procs_reaped;    /* processes gone without closing (exit without destructors, kill) */
	uint64_t forks;
	uint64_t bells;           /* doorbells rung (a process woken by another's progress) */
	struct zc_bypasses bypass; /* every process's pass-bys (bypass.h) */
	struct zc_stack *st;      /* for an exec'd image: what the context points to */
	struct zc_netif *nif;
	uintptr_t image;          /* where the exec'ing image had zc__procs_exec_prepare */
	uint64_t execs;           /* images that took over a process's part of the stack */
	bool lent_check;          /* a process left: look for frames it holds (procs.c) */
	uint64_t lent_taken_back; /* frames lent to processes gone, come back */
	struct zc__slot slot[ZC__SLOTS];
};

struct zc_sockctx {
	struct zc__mutex *lk;     /* &shm->lk */
	struct zc_arena *arena;   /* the shared memory of this stack */
	struct zc__shm *shm;
	int slot;                 /* this process's in shm->slot[] */
	int fork_slot;            /* the child's slot while a fork is under way, else -1 */
	int bell_fd;              /* this process's doorbell (procs.c), -1 until the first fork */
	uint64_t last_reap;
	struct zc_netif *nif;
	struct zc_stack *st;
	struct zc__zc *zz;
	struct zc__cow *cow;
	struct zc__sock **tab;
	int tabcap;
	unsigned nsocks;
	uint64_t spin_ns;
	uint64_t linger_ns;       /* close: how long connections may drain */
	bool bindv6only;          /* net.ipv6.bindv6only: IPV6_V6ONLY's default */
	unsigned spinners;
	uint32_t gen;             /* bumped on progress; a spinner reads it unlocked */
	unsigned inside;          /* application threads inside a call */
	uint64_t last_app;        /* when the last one left */
	uint64_t last_now;        /* the clock of the last poll of the stack */
	unsigned nasync;          /* sockets with O_ASYNC */
	uint64_t urg_in;          /* the stack's urgent pointers signalled so far */
	int sleepers[ZC__MAX_SLEEPERS]; /* eventfds of sleeping threads */
	unsigned nsleepers;
	pthread_t helper;
	int helper_efd;           /* wakes the helper (close) */
	bool helper_on, stop;
	bool helper_later;        /* a fork child: the helper starts at its first call (zc__app_out) */
	pid_t pid;
	struct zc_sockctx *next;  /* the registry of live contexts (fork) */
	struct zc__ep *eps;       /* epoll instances holding stack sockets */
	struct zc_bypasses *bypass; /* &shm->bypass */
};

/* A stack socket in an epoll instance, or an epoll instance in another
 * one (nest: fd is the inner epoll fd, sid its instance's). */
struct zc__epi {
	int fd;
	uint64_t sid;             /* a number closed and reused names another socket */
	bool nest;
	bool told;                /* told in the wait that runs (the kernel's report of a nest is the same event) */
	uint32_t events;          /* EPOLL* asked for */
	epoll_data_t data;
	uint32_t last_mask, last_change;
	bool reported;            /* edge-triggered: told since the socket last changed */
	bool disabled;            /* EPOLLONESHOT fired; EPOLL_CTL_MOD re-arms */
};

struct zc__ep {
	int epfd;
	uint64_t sid;             /* this instance, for the sets it is nested in */
	struct zc__epi *v;
	unsigned n, cap, rr;      /* rr: where the next scan starts, for fairness */
	unsigned nk;              /* entries also in the kernel's epoll (klisten sockets; may be stale high) */
	struct zc__ep *next;
};

/* --- context.c ------------------------------------------------------------- */
extern pid_t zc__pid; /* this process's pid (getpid is a system call) */

/* --- procs.c: the processes of one stack ------------------------------------- */
void zc__procs_init(struct zc_sockctx *cx);
/* fork (lock held): a slot for the child with a copy of the table, every
 * socket in it held once more; zero-copy by reference ends (procs.c). */
void zc__procs_before_fork(struct zc_sockctx *cx);
void zc__procs_child(struct zc_sockctx *cx);
/* exec (lock held): before it, this process's descriptors that pass (pass
 * [fd] nonzero, tabcap entries) are noted in its slot, zero-copy buffers
 * are made private and the stack's descriptors inheritable. false: this
 * stack cannot follow an exec (its NIC keeps its state in one process, or
 * no memory). exec_failed undoes it; attach, in the new image, takes the
 * slot back with the descriptors that passed (the others are let go). */
bool zc__procs_exec_prepare(struct zc_sockctx *cx, const uint8_t *pass);
void zc__procs_exec_failed(struct zc_sockctx *cx);
int zc__procs_attach(struct zc_sockctx *cx);

/* This process leaves (lock held): its descriptors let go, sockets whose
 * last descriptor that was closed. false when it was the last process,
 * which then closes the stack. */
bool zc__procs_leave(struct zc_sockctx *cx);
/* Let go of dead processes' descriptors (lock held; at most every 100 ms). */
void zc__procs_reap(struct zc_sockctx *cx, uint64_t now);
/* Ring the doorbells of the other processes that have sleepers (lock held). */
void zc__procs_ring(struct zc_sockctx *cx);
/* This process's doorbell rang: take its datagrams. */
void zc__procs_bell_drain(struct zc_sockctx *cx);
/* The table moved (fdtable.c). */
static inline void zc__procs_tab(struct zc_sockctx *cx)
{
	cx->shm->slot[cx->slot].tab = cx->tab;
	cx->shm->slot[cx->slot].tabcap = cx->tabcap;
}

/* --- wait.c ---------------------------------------------------------------- */
/* The per-thread eventfds' key (made once, from context.c). */
void zc__wait_once(void);
void zc__wait_after_fork(void);
/* Wake every sleeper but the caller. */
void zc__notify(struct zc_sockctx *cx);
/* Poll the stack now; what zc_stack_poll returns. */
int zc__drive(struct zc_sockctx *cx);
/* Drive the stack now and while its own loopback has packets in flight
 * (a few rounds); > 0 when anything came in or went round. */
int zc__drive_pending(struct zc_sockctx *cx);
/* sigio.c: after a poll of the stack, signal the owners of sockets that
 * had a wake-up (O_ASYNC) or new urgent data; O_ASYNC on or off. */
void zc__signals(struct zc_sockctx *cx);
void zc__set_async(struct zc_sockctx *cx, struct zc__sock *s, bool on);
/*
 * Sleep once, lock dropped: until woken, a kernel fd in kfds is ready, the
 * next TCP timer, `until` (0 = none) or a slice. nic: sleep on the NIC's
 * interrupt too. Returns kernel fds ready (>= 0), or -EINTR.
 */
int zc__sleep(struct zc_sockctx *cx, uint64_t until, struct pollfd *kfds, nfds_t nk, bool nic, bool helper);
/* One step of waiting for an application thread (lock held): 0 (look
 * again), -EAGAIN (deadline passed) or -EINTR. *spin_end starts at 0. */
int zc__block(struct zc_sockctx *cx, uint64_t *spin_end, uint64_t deadline);
/* zc__block that also wakes when kernel descriptor kfd (>= 0) is readable. */
int zc__block_fd(struct zc_sockctx *cx, uint64_t *spin_end, uint64_t deadline, int kfd);
/* --- epoll.c --------------------------------------------------------------- */
/* s has just become klisten: add its kernel side to the epoll sets that
 * hold it. */
void zc__ep_kernel_add(struct zc_sockctx *cx, struct zc__sock *s);
/* s loses descriptor fd and keeps others: its epoll entries move to one. */
void zc__ep_refd(struct zc_sockctx *cx, struct zc__sock *s, int fd);
/* Kernel fd fd is an epoll instance whose stack part would tell something. */
bool zc__ep_readable(struct zc_sockctx *cx, int fd);

/* --- fdtable.c ------------------------------------------------------------- */
/* The socket itself goes (its descriptor numbers are closed by the caller). */
void zc__sock_free(struct zc_sockctx *cx, struct zc__sock *s);
/* A new socket gets its descriptor number (lock held): the fd or -errno.
 * flags: SOCK_CLOEXEC makes it close-on-exec (others are ignored). */
int zc__install(struct zc_sockctx *cx, struct zc__sock *s, int flags);

/* --- small helpers ----------------------------------------------------------- */

static inline uint64_t zc__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline int zc__fail(int e)
{
	errno = e;
	return -1;
}

static inline uint64_t zc__deadline(bool nonblock, uint64_t timeo)
{
	return nonblock ? 0 : timeo ? zc__now() + timeo : 0;
}

/* --- entering and leaving a call ------------------------------------------------- */

static inline void zc__lock(struct zc_sockctx *cx) { zc__mutex_lock(cx->lk); }
static inline void zc__unlock(struct zc_sockctx *cx) { zc__mutex_unlock(cx->lk); }

/* Look up fd and mark this thread inside; NULL with errno EBADF/ENOTSOCK. */
static inline struct zc__sock *zc__enter(struct zc_sockctx *cx, int fd)
{
	zc__lock(cx);
	if (cx->pid != zc__pid) {
		zc__unlock(cx);
		zc_bypass(cx->bypass, ZC_BYPASS_FORK, 0, "sockets: fd %d belongs to the stack of process %d; "
			  "a child cannot use it (no room for another process of the stack): EBADF", fd, (int)cx->pid);
		errno = EBADF;
		return NULL;
	}
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	if (s == NULL) {
		zc__unlock(cx);
		errno = EBADF;
		return NULL;
	}
	cx->inside++;
	s->users++;
	return s;
}

/* An application thread leaves the layer (lock held): the helper goes back
 * to sleeping on the interrupt 1 ms after the last one left. */
/* A fork child's helper starts at its first call into the stack
 * (context.c): a child that never calls, or dies first, never holds the
 * shared stack's lock. */
void zc__helper_later(struct zc_sockctx *cx);

static inline void zc__app_out(struct zc_sockctx *cx)
{
	if (--cx->inside == 0)
		cx->last_app = zc__now();
	if (__builtin_expect(cx->helper_later, 0))
		zc__helper_later(cx);
}

static inline void zc__leave(struct zc_sockctx *cx, struct zc__sock *s)
{
	zc__app_out(cx);
	if (--s->users == 0 && s->closed && s->nfds == 0)
		zc__sock_free(cx, s);
	zc__unlock(cx);
}

/* Returns r as a syscall would: r >= 0 as is, else -1 with errno = -r. */
static inline long zc__ret(struct zc_sockctx *cx, struct zc__sock *s, long r)
{
	zc__leave(cx, s);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* --- addresses and iovecs (the send and receive paths share them) ----------- */

/*
 * Addresses in: a sockaddr_in for an AF_INET socket; for an AF_INET6 one a
 * sockaddr_in6 holding :: (the wildcard, *ip = 0) or a v4-mapped address
 * (::ffff:a.b.c.d), or a sockaddr_in where Linux takes one on a v6 socket
 * (UDP connect and sendto). The stack has no native IPv6: any other v6
 * address, or a v6-only socket, gets what the kernel says for an address it
 * has not (bind: EADDRNOTAVAIL) or cannot reach (ENETUNREACH); the shim
 * hands such sockets to the kernel before they get here.
 */
enum zc__addr_use { ZC__A_BIND, ZC__A_CONNECT, ZC__A_SENDTO };

static inline int zc__sin(const struct zc__sock *s, const struct sockaddr *a, socklen_t len,
			  enum zc__addr_use use, uint32_t *ip, uint16_t *port)
{
	if (a == NULL)
		return -EFAULT;
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	bool v4_ok = s->family == AF_INET || (s->udp && use != ZC__A_BIND && !s->v6only);
	if (a->sa_family == AF_INET && v4_ok) {
		if (len < sizeof(struct sockaddr_in))
			return -EINVAL;
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;
		*ip = ntohl(in->sin_addr.s_addr);
		*port = ntohs(in->sin_port);
		return 0;
	}
	if (s->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (len < 24) /* SIN6_LEN_RFC2133 (without the scope id): checked first, as Linux */
		return -EINVAL;
	if (a->sa_family != AF_INET6)
		return -EAFNOSUPPORT;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
	const uint8_t *b = in6->sin6_addr.s6_addr;
	static const uint8_t zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };
	*port = ntohs(in6->sin6_port);
	if (memcmp(b, zero, 16) == 0 && !s->v6only) {
		*ip = 0;
		return 0;
	}
	if (memcmp(b, mapped, 12) == 0 && !s->v6only) {
		*ip = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
		return 0;
	}
	if (use == ZC__A_BIND)
		return s->v6only && memcmp(b, mapped, 12) == 0 ? -EINVAL : -EADDRNOTAVAIL;
	return -ENETUNREACH;
}

/* An address out in the socket's family: v4-mapped (or ::) for AF_INET6. */
static inline void zc__put_sin(const struct zc__sock *s, struct sockaddr *a, socklen_t *len, uint32_t ip,
			       uint16_t port)
{
	if (a == NULL || len == NULL)
		return;
	if (s->family == AF_INET6) {
		struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
		if (ip) {
			uint8_t *b = in6.sin6_addr.s6_addr;
			b[10] = b[11] = 0xff;
			b[12] = (uint8_t)(ip >> 24);
			b[13] = (uint8_t)(ip >> 16);
			b[14] = (uint8_t)(ip >> 8);
			b[15] = (uint8_t)ip;
		}
		memcpy(a, &in6, *len < sizeof(in6) ? *len : sizeof(in6));
		*len = sizeof(in6);
		return;
	}
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(ip) };
	memcpy(a, &in, *len < sizeof(in) ? *len : sizeof(in));
	*len = sizeof(in);
}

static inline ssize_t zc__iov_total(const struct iovec *iov, int n)
{
	if (n < 0 || n > IOV_MAX || (n && iov == NULL))
		return -EINVAL;
	size_t t = 0;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - t)
			return -EINVAL;
		t += iov[i].iov_len;
	}
	return (ssize_t)t;
}

/* --- readiness (poll.c and epoll.c) ------------------------------------------ */

static inline short zc__revents(struct zc__sock *s, short events)
{
	unsigned ev;
	if (s->tcp) {
		ev = zc_tcp_events(s->tcp);
		if (s->connecting && zc_tcp_get_state(s->tcp) == ZC_TCP_SYN_SENT)
			ev &= ~(unsigned)POLLOUT;
		if (zc_tcp_get_state(s->tcp) == ZC_TCP_CLOSED && !s->connecting && (ev & POLLHUP) == 0)
			ev |= POLLOUT | POLLHUP; /* a fresh socket: as Linux reports it */
	} else {
		ev = POLLOUT | (zc_udp_pending(s->udp) ? POLLIN : 0) | (zc_udp_has_error(s->udp) ? POLLERR : 0);
	}
	return (short)(ev & ((unsigned)events | POLLERR | POLLHUP));
}

#endif

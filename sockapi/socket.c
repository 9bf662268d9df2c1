/*
 * socket.c - POSIX sockets over the stack (see socket.h).
 *
 * Locking: one mutex per context guards the stack and every socket. A
 * thread that must wait (zc__block) first busy-polls (one spinner per
 * context), then sleeps in ppoll() on its own eventfd, the NIC's interrupt
 * and whatever kernel fds the caller waits for. Whoever makes progress
 * (frames arrived, a socket closed) writes the eventfds of the other
 * sleepers. The NIC's interrupt is armed by the first sleeper and
 * acknowledged by the last one, so no sleeper misses it.
 *
 * Per-thread state: each thread that ever sleeps keeps one eventfd
 * (closed at thread exit by a pthread key), nothing else.
 */
#include "sockapi/socket.h"
#include "nic/open.h"
#include "sockapi/cow.h"
#include "sockapi/ext_priv.h"
#include "sockapi/zerocopy.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/stack.h"
#include "stack/tcp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ZC__MAX_SLEEPERS 64
#define ZC__SLICE_NS 50000000ull /* no sleep longer than this without a look */
#define ZC__SPIN_MAX_NS 2000000ull /* a wait with packets arriving spins up to this */
#define ZC__AUTOTUNE_MIN (256u << 10) /* the receive window a connection starts with */

struct zc__sock {
	int fd;
	int type;              /* SOCK_STREAM or SOCK_DGRAM */
	bool nonblock;
	bool reuseaddr, reuseport;
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
	uint64_t sid;          /* unique in the context: epoll tells sockets apart by it */
	struct zc_zstats zs;
};

struct zc_sockctx {
	pthread_mutex_t lk;
	struct zc_netif *nif;
	struct zc_stack *st;
	struct zc__zc *zz;
	struct zc__cow *cow;
	struct zc__sock **tab;
	int tabcap;
	unsigned nsocks;
	uint64_t spin_ns;
	uint64_t linger_ns;       /* close: how long connections may drain */
	unsigned spinners;
	uint32_t gen;             /* bumped on progress; a spinner reads it unlocked */
	unsigned inside;          /* application threads inside a call */
	uint64_t last_app;        /* when the last one left */
	uint64_t last_now;        /* the clock of the last poll of the stack */
	int sleepers[ZC__MAX_SLEEPERS]; /* eventfds of sleeping threads */
	unsigned nsleepers;
	unsigned nic_sleepers;
	pthread_t helper;
	int helper_efd;           /* wakes the helper (close) */
	bool helper_on, stop;
	pid_t pid;
	struct zc_sockctx *next;  /* the registry of live contexts (fork) */
	uint64_t next_sid;
	struct zc__ep *eps;       /* epoll instances holding stack sockets */
};

/* A stack socket in an epoll instance. */
struct zc__epi {
	int fd;
	uint64_t sid;             /* a number closed and reused names another socket */
	uint32_t events;          /* EPOLL* asked for */
	epoll_data_t data;
	uint32_t last_mask, last_change;
	bool reported;            /* edge-triggered: told since the socket last changed */
	bool disabled;            /* EPOLLONESHOT fired; EPOLL_CTL_MOD re-arms */
};

struct zc__ep {
	int epfd;
	struct zc__epi *v;
	unsigned n, cap, rr;      /* rr: where the next scan starts, for fairness */
	struct zc__ep *next;
};

/* --- the registry of contexts, for fork ------------------------------------- */
static pthread_mutex_t zc__reg_lk = PTHREAD_MUTEX_INITIALIZER;
static struct zc_sockctx *zc__reg;
static pthread_once_t zc__once = PTHREAD_ONCE_INIT;
static pthread_key_t zc__efd_key;

__thread int zc_thread_inside;

/* fork: the locks are held across it, and the privatising of traded
 * buffers maps memory: the shim must not come back for those locks */
static void zc__before_fork(void)
{
	zc_thread_inside++;
	pthread_mutex_lock(&zc__reg_lk);
	for (struct zc_sockctx *cx = zc__reg; cx; cx = cx->next) {
		pthread_mutex_lock(&cx->lk);
		zc__zc_before_fork(cx->zz);
	}
}
static void zc__after_fork_parent(void)
{
	for (struct zc_sockctx *cx = zc__reg; cx; cx = cx->next)
		pthread_mutex_unlock(&cx->lk);
	pthread_mutex_unlock(&zc__reg_lk);
	zc_thread_inside--;
}
static pid_t zc__pid; /* this process's pid (getpid is a system call) */

static void zc__after_fork_child(void)
{
	zc__pid = getpid();
	for (struct zc_sockctx *cx = zc__reg; cx; cx = cx->next) {
		pthread_mutex_init(&cx->lk, NULL);
		cx->nsleepers = cx->nic_sleepers = cx->spinners = cx->inside = 0;
		cx->helper_on = false;
	}
	pthread_mutex_init(&zc__reg_lk, NULL);
	zc_thread_inside--;
}
static void zc__close_efd(void *p) { close((int)(intptr_t)p - 1); }
static void zc__init_once(void)
{
	zc__pid = getpid();
	pthread_atfork(zc__before_fork, zc__after_fork_parent, zc__after_fork_child);
	pthread_key_create(&zc__efd_key, zc__close_efd);
}

static int zc__my_efd(void)
{
	intptr_t v = (intptr_t)pthread_getspecific(zc__efd_key);
	if (v)
		return (int)v - 1;
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd >= 0)
		pthread_setspecific(zc__efd_key, (void *)(intptr_t)(fd + 1));
	return fd;
}

/* --- small helpers ------------------------------------------------------------ */

static uint64_t zc__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void zc__relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ volatile("" ::: "memory");
#endif
}

static int zc__fail(int e)
{
	errno = e;
	return -1;
}

int zc_zcopy_parse(const char *s)
{
	if (s == NULL)
		return -EINVAL;
	if (strcmp(s, "never") == 0)
		return ZC_ZCOPY_NEVER;
	if (strcmp(s, "auto") == 0)
		return ZC_ZCOPY_AUTO;
	if (strcmp(s, "always") == 0)
		return ZC_ZCOPY_ALWAYS;
	return -EINVAL;
}

const char *zc_zcopy_name(int p)
{
	return p == ZC_ZCOPY_NEVER ? "never" : p == ZC_ZCOPY_ALWAYS ? "always" : "auto";
}

/* Tell a spinner (lock-free) that something changed. */
static void zc__bump(struct zc_sockctx *cx)
{
	__atomic_store_n(&cx->gen, cx->gen + 1, __ATOMIC_RELEASE);
}

/* Wake every sleeper but the caller. */
static void zc__notify(struct zc_sockctx *cx)
{
	zc__bump(cx);
	int me = (int)(intptr_t)pthread_getspecific(zc__efd_key) - 1;
	uint64_t one = 1;
	for (unsigned i = 0; i < cx->nsleepers; i++)
		if (cx->sleepers[i] != me && write(cx->sleepers[i], &one, sizeof(one)) < 0)
			(void)0; /* a full counter wakes it anyway */
}

/* Poll the stack at `now` (never earlier than a poll before it). */
static int zc__drive_at(struct zc_sockctx *cx, uint64_t now)
{
	if (now < cx->last_now)
		now = cx->last_now;
	cx->last_now = now;
	int n = zc_stack_poll(cx->st, now);
	if (n > 0) {
		if (cx->nsleepers)
			zc__notify(cx);
		else
			zc__bump(cx);
	}
	return n;
}

static int zc__drive(struct zc_sockctx *cx) { return zc__drive_at(cx, zc__now()); }

/* The clock read every eighth time on a spinning thread: a clock read
 * costs ~0.3 us in this VM, a fifth of a spin step. */
static __thread uint64_t zc__tnow;
static __thread uint64_t zc__spin_cap; /* the latest a spin may last, this wait */
static __thread unsigned zc__tcnt;
static uint64_t zc__now_coarse(void)
{
	if ((zc__tcnt++ & 7) == 0 || zc__tnow == 0)
		zc__tnow = zc__now();
	return zc__tnow;
}

static void zc__drive_cb(void *arg) { zc__drive(arg); }

/*
 * Sleep once, lock dropped: until woken, a kernel fd in kfds is ready, the
 * next TCP timer, `until` (0 = none) or a slice. nic: sleep on the NIC's
 * interrupt too. Returns kernel fds ready (>= 0), or -EINTR.
 */
static int zc__sleep(struct zc_sockctx *cx, uint64_t until, struct pollfd *kfds, nfds_t nk, bool nic, bool helper)
{
	uint64_t now = zc__now();
	uint64_t end = now + ZC__SLICE_NS;
	uint64_t tmr = zc_stack_next_timer(cx->st);
	if (tmr < end)
		end = tmr;
	if (until && until < end)
		end = until;
	/* packets the NIC refused wait in the stack: the waiting thread comes
	 * back soon to hand them over (the helper leaves that to it) */
	if (!helper && zc_stack_tx_pending(cx->st) && end > now + 20000)
		end = now + 20000;
	if (end <= now) {
		zc__drive(cx);
		if (helper) { /* a timer due now: never spin on the lock */
			pthread_mutex_unlock(&cx->lk);
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
			pthread_mutex_lock(&cx->lk);
		}
		return 0;
	}
	struct zc_netif *n = cx->nif;
	int irq = nic && n->ops->irq_fd ? n->ops->irq_fd(n) : -1;
	if (nic && irq < 0 && end > now + 50000)
		end = now + 50000; /* no interrupt (DPDK): short naps */
	/* the helper waits for no socket: progress does not wake it (it
	 * would only take the lock from the thread that made it) */
	int me = helper ? cx->helper_efd : zc__my_efd();
	if (me < 0 || (!helper && cx->nsleepers == ZC__MAX_SLEEPERS)) {
		pthread_mutex_unlock(&cx->lk);
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
		pthread_mutex_lock(&cx->lk);
		zc__drive(cx);
		return 0;
	}
	if (irq >= 0 && cx->nic_sleepers++ == 0 && n->ops->irq_arm(n) != 0) {
		cx->nic_sleepers--;
		zc__drive(cx); /* frames are waiting */
		return 0;
	}
	struct pollfd stackfds[2 + 16], *pf = stackfds;
	if (nk > 16 && (pf = malloc((2 + nk) * sizeof(*pf))) == NULL)
		pf = stackfds, nk = 0;
	nfds_t np = 0;
	pf[np++] = (struct pollfd){ .fd = me, .events = POLLIN };
	if (irq >= 0)
		pf[np++] = (struct pollfd){ .fd = irq, .events = POLLIN };
	nfds_t kfirst = np;
	for (nfds_t i = 0; i < nk; i++)
		pf[np++] = (struct pollfd){ .fd = kfds[i].fd, .events = kfds[i].events };
	if (!helper)
		cx->sleepers[cx->nsleepers++] = me;
	pthread_mutex_unlock(&cx->lk);
	uint64_t d = end - now;
	struct timespec ts = { (time_t)(d / 1000000000u), (long)(d % 1000000000u) };
	int r = ppoll(pf, np, &ts, NULL);
	int e = errno;
	pthread_mutex_lock(&cx->lk);
	for (unsigned i = 0; !helper && i < cx->nsleepers; i++)
		if (cx->sleepers[i] == me) {
			cx->sleepers[i] = cx->sleepers[--cx->nsleepers];
			break;
		}
	uint64_t v;
	if (pf[0].revents && read(me, &v, sizeof(v)) < 0)
		(void)0;
	if (irq >= 0 && --cx->nic_sleepers == 0)
		n->ops->irq_ack(n);
	int ready = 0;
	for (nfds_t i = 0; i < nk; i++) {
		kfds[i].revents = r > 0 ? pf[kfirst + i].revents : 0;
		ready += kfds[i].revents != 0;
	}
	if (pf != stackfds)
		free(pf);
	zc__drive(cx);
	if (r < 0 && e == EINTR)
		return -EINTR;
	return ready;
}

/* A signal interrupted a sleep: the kernel restarts a blocking socket call
 * when the handler has SA_RESTART, else it returns EINTR. Which signal came
 * is not known here, so: EINTR when any caught signal lacks SA_RESTART (as
 * the kernel would for that one), else restart. Rare, so a scan is fine. */
static bool zc__restartable(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0)
			continue;
		bool caught = (sa.sa_flags & SA_SIGINFO) ? sa.sa_sigaction != NULL
							 : sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
		if (caught && !(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

/*
 * One step of waiting for an application thread (lock held): spin when
 * nobody else does and the spin time lasts, else sleep. Returns 0 (look
 * again), -EAGAIN (deadline passed) or -EINTR.
 *
 * The spin runs without the lock and without polling the stack: it looks
 * at what could change the caller's socket (a frame for the NIC, progress
 * another thread made, the next timer, packets the NIC refused) and takes
 * the lock only then, so a frame is noticed within a few pauses and the
 * lock is left to the other threads meanwhile.
 */
static int zc__block(struct zc_sockctx *cx, uint64_t *spin_end, uint64_t deadline)
{
	uint64_t now = *spin_end ? zc__now_coarse() : zc__now();
	if (deadline && now >= deadline)
		return -EAGAIN;
	if (*spin_end == 0) {
		*spin_end = now + cx->spin_ns;
		zc__spin_cap = now + ZC__SPIN_MAX_NS;
	}
	if (now < *spin_end && cx->spinners == 0) {
		cx->spinners++;
		uint32_t gen = cx->gen;
		uint64_t until = zc_stack_next_timer(cx->st);
		if (*spin_end < until)
			until = *spin_end;
		if (deadline && deadline < until)
			until = deadline;
		bool busy = zc_stack_tx_pending(cx->st);
		pthread_mutex_unlock(&cx->lk);
		for (unsigned i = 1;; i++) {
			zc__relax();
			if (busy || zc_netif_rx_ready(cx->nif) || __atomic_load_n(&cx->gen, __ATOMIC_ACQUIRE) != gen)
				break;
			if ((i & 31) == 0 && (zc__tnow = zc__now()) >= until)
				break;
		}
		pthread_mutex_lock(&cx->lk);
		cx->spinners--;
		if (zc__drive_at(cx, zc__now_coarse()) > 0) {
			/* packets are coming: the wait is not idle, spin on (a
			 * reader holding out for a whole 2 MiB frame waits for
			 * ~0.4 ms of arrivals; sleeping through it costs the
			 * sender a wake-up system call per burst) */
			uint64_t e = zc__tnow + cx->spin_ns;
			*spin_end = e < zc__spin_cap ? e : zc__spin_cap;
		}
		return 0;
	}
	int r = zc__sleep(cx, deadline, NULL, 0, true, false);
	if (r == -EINTR && zc__restartable())
		return 0;
	return r < 0 ? r : 0;
}

/* --- the helper thread ---------------------------------------------------------- */

int zc_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int r = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

static void *zc__helper(void *arg)
{
	struct zc_sockctx *cx = arg;
	zc_thread_inside = 1; /* signals are blocked: zc_thread_start */
	pthread_mutex_lock(&cx->lk);
	while (!cx->stop) {
		zc__drive(cx);
		uint64_t now = zc__now();
		bool away = cx->inside == 0 && now - cx->last_app >= 1000000u;
		if (away) {
			zc__sleep(cx, 0, NULL, 0, true, true);
		} else {
			/* the application drives: look again at the next timer, at
			 * most 10 ms from now */
			uint64_t t = zc_stack_next_timer(cx->st);
			uint64_t until = now + 10000000u;
			if (t > now + 1000000u && t < until)
				until = t;
			zc__sleep(cx, until, NULL, 0, false, true);
		}
	}
	pthread_mutex_unlock(&cx->lk);
	return NULL;
}

/* --- contexts --------------------------------------------------------------------- */

struct zc_sockctx *zc_sockctx_open(const struct zc_sockctx_config *cfg)
{
	pthread_once(&zc__once, zc__init_once);
	if (cfg == NULL || cfg->nic == NULL || cfg->addr == NULL) {
		ZC_ERR("sockets: a NIC and an address are needed");
		errno = EINVAL;
		return NULL;
	}
	int policy = cfg->zcopy;
	if (policy < 0) {
		const char *e = getenv("ZCS_ZC");
		policy = e && *e ? zc_zcopy_parse(e) : ZC_ZCOPY_AUTO;
		if (policy < 0) {
			ZC_ERR("sockets: ZCS_ZC=%s: expected never, auto or always", e);
			errno = EINVAL;
			return NULL;
		}
	} else if (policy > ZC_ZCOPY_ALWAYS) {
		ZC_ERR("sockets: zero-copy policy %d: expected never, auto or always", policy);
		errno = EINVAL;
		return NULL;
	}
	uint32_t ip, gw = 0;
	uint8_t plen;
	if (zc_parse_ipv4(cfg->addr, &ip, &plen, 24) != 0) {
		ZC_ERR("sockets: address '%s': expected a.b.c.d/prefix such as 10.0.0.1/24", cfg->addr);
		errno = EINVAL;
		return NULL;
	}
	if (cfg->gateway && zc_parse_ipv4(cfg->gateway, &gw, &(uint8_t){ 0 }, 32) != 0) {
		ZC_ERR("sockets: gateway '%s': expected a.b.c.d", cfg->gateway);
		errno = EINVAL;
		return NULL;
	}
	char spec[320];
	snprintf(spec, sizeof(spec), "%s", cfg->nic);
	if (strncmp(spec, "trapeze:", 8) == 0 && strstr(spec, "rxhuge=") == NULL && cfg->rx_huge != UINT32_MAX)
		snprintf(spec, sizeof(spec), "%s,rxhuge=%u", cfg->nic, cfg->rx_huge ? cfg->rx_huge : 64);
	struct zc_sockctx *cx = calloc(1, sizeof(*cx));
	if (cx == NULL)
		return NULL;
	pthread_mutex_init(&cx->lk, NULL);
	cx->helper_efd = -1;
	cx->spin_ns = cfg->spin_ns ? cfg->spin_ns : 50000;
	cx->linger_ns = cfg->linger_ns ? cfg->linger_ns : 2000000000ull;
	cx->pid = getpid();
	cx->nif = zc_nic_open(spec);
	if (cx->nif == NULL)
		goto fail;
	uint64_t seed = cfg->seed;
	if (seed == 0 && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = zc__now() ^ (uint64_t)getpid() << 32;
	cx->st = zc_stack_create(&(struct zc_stack_config){
		.nif = cx->nif, .ip = ip, .prefix_len = plen, .gateway = gw, .seed = seed, .now = zc__now() });
	if (cx->st == NULL)
		goto fail;
	/* buffers that follow the application (tcp.h): 4 MiB a side made
	 * iperf3 -P 4 four times slower than windows of 256 KiB, the data no
	 * longer fitting the caches; a reader of 2 MiB frames gets 4 MiB */
	if (zc_tcp_configure(cx->st, &(struct zc_tcp_config){ .autotune_min = ZC__AUTOTUNE_MIN,
								 .sndbuf = 8u << 20,
								 .rcvbuf = 8u << 20 }) != 0)
		goto fail;
	cx->zz = zc__zc_create(cx->nif->pool, cx->nif->rx_pool, policy);
	if (cx->zz == NULL) {
		ZC_ERR("sockets: zero-copy set-up failed: %s", strerror(errno));
		goto fail;
	}
	cx->cow = zc__cow_create(&cx->lk, zc__drive_cb, cx);
	if (cx->cow == NULL)
		goto fail;
	zc__cow_set_policy(cx->cow, policy);
	cx->helper_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!cfg->no_helper) {
		if (cx->helper_efd < 0 || zc_thread_start(&cx->helper, zc__helper, cx) != 0) {
			ZC_ERR("sockets: cannot start the helper thread");
			goto fail;
		}
		cx->helper_on = true;
	}
	pthread_mutex_lock(&zc__reg_lk);
	cx->next = zc__reg;
	zc__reg = cx;
	pthread_mutex_unlock(&zc__reg_lk);
	zc__ext_register(cx);
	return cx;
fail:;
	int e = errno ? errno : EINVAL;
	if (cx->helper_efd >= 0)
		close(cx->helper_efd);
	zc__cow_destroy(cx->cow);
	if (cx->zz)
		zc__zc_destroy(cx->zz);
	if (cx->st)
		zc_stack_destroy(cx->st);
	zc_netif_close(cx->nif);
	free(cx);
	errno = e;
	return NULL;
}

/* The socket itself goes (its descriptor numbers are closed by the caller). */
static void zc__sock_free(struct zc_sockctx *cx, struct zc__sock *s)
{
	if (s->tcp)
		zc_tcp_close(s->tcp);
	if (s->udp)
		zc_udp_close(s->udp);
	zc__zc_add(cx->zz, &s->zs);
	free(s);
}

void zc_sockctx_close(struct zc_sockctx *cx)
{
	if (cx == NULL)
		return;
	zc__ext_unregister(cx);
	pthread_mutex_lock(&zc__reg_lk);
	for (struct zc_sockctx **p = &zc__reg; *p; p = &(*p)->next)
		if (*p == cx) {
			*p = cx->next;
			break;
		}
	pthread_mutex_unlock(&zc__reg_lk);
	pthread_mutex_lock(&cx->lk);
	cx->stop = true;
	zc__notify(cx);
	uint64_t one = 1;
	if (cx->helper_efd >= 0 && write(cx->helper_efd, &one, sizeof(one)) < 0)
		(void)0;
	pthread_mutex_unlock(&cx->lk);
	if (cx->helper_on)
		pthread_join(cx->helper, NULL);
	if (cx->helper_efd >= 0)
		close(cx->helper_efd);
	pthread_mutex_lock(&cx->lk);
	for (int fd = 0; fd < cx->tabcap; fd++)
		if (cx->tab[fd]) {
			struct zc__sock *s = cx->tab[fd];
			cx->tab[fd] = NULL;
			close(fd);
			if (--s->nfds == 0)
				zc__sock_free(cx, s);
		}
	/* the process may be ending: what the application sent is still in
	 * this process's send buffers, so they are given time to drain (the
	 * kernel would keep them after exit). linger_ns bounds it. */
	for (uint64_t end = zc__now() + cx->linger_ns; zc__now() < end &&
	     (zc_tcp_unfinished(cx->st) || zc_stack_tx_pending(cx->st));) {
		zc__drive(cx);
		if (zc_tcp_unfinished(cx->st))
			zc__sleep(cx, zc__now() + 1000000u, NULL, 0, true, false);
	}
	zc__drive(cx);
	pthread_mutex_unlock(&cx->lk);
	zc_stack_destroy(cx->st); /* the send buffers go, and with them every COW block */
	zc__cow_destroy(cx->cow);
	zc__zc_destroy(cx->zz);
	zc_netif_close(cx->nif);
	while (cx->eps) {
		struct zc__ep *e = cx->eps;
		cx->eps = e->next;
		free(e->v);
		free(e);
	}
	free(cx->tab);
	pthread_mutex_destroy(&cx->lk);
	free(cx);
}

int zc_sockctx_set_zcopy(struct zc_sockctx *cx, int policy)
{
	if (policy < ZC_ZCOPY_NEVER || policy > ZC_ZCOPY_ALWAYS)
		return -EINVAL;
	pthread_mutex_lock(&cx->lk);
	zc__zc_set_policy(cx->zz, policy);
	zc__cow_set_policy(cx->cow, policy);
	pthread_mutex_unlock(&cx->lk);
	return 0;
}

int zc_sockctx_get_zcopy(const struct zc_sockctx *cx) { return zc__zc_policy(cx->zz); }

void zc_sockctx_costs(const struct zc_sockctx *cx, struct zc_zcopy_costs out[2])
{
	zc__zc_costs(cx->zz, out);
}

void zc_sockctx_set_costs(struct zc_sockctx *cx, const struct zc_zcopy_costs in[2])
{
	pthread_mutex_lock(&cx->lk);
	zc__zc_set_costs(cx->zz, in);
	pthread_mutex_unlock(&cx->lk);
}

/* --- entering and leaving a call ------------------------------------------------- */

/* Look up fd and mark this thread inside; NULL with errno EBADF/ENOTSOCK. */
static struct zc__sock *zc__enter(struct zc_sockctx *cx, int fd)
{
	pthread_mutex_lock(&cx->lk);
	if (cx->pid != zc__pid) {
		pthread_mutex_unlock(&cx->lk);
		ZC_ERR("sockets: fd %d belongs to the stack of process %d; a child cannot use it "
		       "(fork is not supported yet)", fd, (int)cx->pid);
		errno = EBADF;
		return NULL;
	}
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	if (s == NULL) {
		pthread_mutex_unlock(&cx->lk);
		errno = EBADF;
		return NULL;
	}
	cx->inside++;
	s->users++;
	return s;
}

/* An application thread leaves the layer (lock held): the helper goes back
 * to sleeping on the interrupt 1 ms after the last one left. */
static void zc__app_out(struct zc_sockctx *cx)
{
	if (--cx->inside == 0)
		cx->last_app = zc__now();
}

static void zc__leave(struct zc_sockctx *cx, struct zc__sock *s)
{
	zc__app_out(cx);
	if (--s->users == 0 && s->closed && s->nfds == 0)
		zc__sock_free(cx, s);
	pthread_mutex_unlock(&cx->lk);
}

bool zc_is_socket(struct zc_sockctx *cx, int fd)
{
	pthread_mutex_lock(&cx->lk);
	bool r = fd >= 0 && fd < cx->tabcap && cx->tab[fd] != NULL;
	pthread_mutex_unlock(&cx->lk);
	return r;
}

/* Returns r as a syscall would: r >= 0 as is, else -1 with errno = -r. */
static long zc__ret(struct zc_sockctx *cx, struct zc__sock *s, long r)
{
	zc__leave(cx, s);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static uint64_t zc__deadline(bool nonblock, uint64_t timeo)
{
	return nonblock ? 0 : timeo ? zc__now() + timeo : 0;
}

/* --- socket, bind, listen, accept, connect ------------------------------------------ */

static int zc__tab_grow(struct zc_sockctx *cx, int fd);

static int zc__install(struct zc_sockctx *cx, struct zc__sock *s)
{
	/* a kernel socket of the same type holds the number */
	s->sid = ++cx->next_sid;
	s->fd = socket(AF_INET, s->type | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (zc__tab_grow(cx, s->fd) != 0) {
		close(s->fd);
		return -ENOMEM;
	}
	cx->tab[s->fd] = s;
	s->nfds = 1;
	cx->nsocks++;
	return s->fd;
}

/* Make room in the table for descriptor fd (lock held); 0 or -ENOMEM. */
static int zc__tab_grow(struct zc_sockctx *cx, int fd)
{
	if (fd < cx->tabcap)
		return 0;
	int cap = cx->tabcap ? cx->tabcap : 256;
	while (cap <= fd)
		cap *= 2;
	struct zc__sock **t = realloc(cx->tab, (size_t)cap * sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	memset(t + cx->tabcap, 0, (size_t)(cap - cx->tabcap) * sizeof(*t));
	cx->tab = t;
	cx->tabcap = cap;
	return 0;
}

int zc_socket(struct zc_sockctx *cx, int domain, int type, int protocol)
{
	if (domain != AF_INET)
		return zc__fail(EAFNOSUPPORT);
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (base != SOCK_STREAM && base != SOCK_DGRAM)
		return zc__fail(ESOCKTNOSUPPORT);
	if (protocol != 0 && protocol != (base == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
		return zc__fail(EPROTONOSUPPORT);
	struct zc__sock *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return zc__fail(ENOMEM);
	s->type = base;
	s->nonblock = (type & SOCK_NONBLOCK) != 0;
	pthread_mutex_lock(&cx->lk);
	if (base == SOCK_STREAM) {
		s->tcp = zc_tcp_socket(cx->st);
		s->sndbuf = s->rcvbuf = 4 << 20;
	} else {
		s->udp = zc_udp_open(cx->st);
		s->sndbuf = s->rcvbuf = 256 << 10;
	}
	int r = (s->tcp || s->udp) ? zc__install(cx, s) : -ENOBUFS;
	if (r < 0) {
		if (s->tcp)
			zc_tcp_close(s->tcp);
		if (s->udp)
			zc_udp_close(s->udp);
		free(s);
	}
	pthread_mutex_unlock(&cx->lk);
	return r < 0 ? zc__fail(-r) : r;
}

static int zc__sin(const struct sockaddr *a, socklen_t len, uint32_t *ip, uint16_t *port)
{
	if (a == NULL)
		return -EFAULT;
	if (len < sizeof(struct sockaddr_in))
		return -EINVAL;
	const struct sockaddr_in *in = (const struct sockaddr_in *)a;
	if (in->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	*ip = ntohl(in->sin_addr.s_addr);
	*port = ntohs(in->sin_port);
	return 0;
}

static void zc__put_sin(struct sockaddr *a, socklen_t *len, uint32_t ip, uint16_t port)
{
	if (a == NULL || len == NULL)
		return;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(ip) };
	memcpy(a, &in, *len < sizeof(in) ? *len : sizeof(in));
	*len = sizeof(in);
}

int zc_bind(struct zc_sockctx *cx, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	uint32_t ip;
	uint16_t port;
	int r = zc__sin(addr, len, &ip, &port);
	if (r == 0 && ip != 0 && ip != zc_stack_ip(cx->st))
		r = -EADDRNOTAVAIL;
	if (r == 0 && s->tcp)
		r = zc_tcp_bind(s->tcp, ip, port);
	if (r == 0 && s->udp) {
		r = s->udp_bound ? -EINVAL : zc_udp_bind(s->udp, ip, port);
		s->udp_bound = r == 0;
	}
	return (int)zc__ret(cx, s, r);
}

int zc_listen(struct zc_sockctx *cx, int fd, int backlog)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int r = s->udp ? -EOPNOTSUPP : zc_tcp_listen(s->tcp, backlog < 0 ? 128 : backlog > 4096 ? 4096 : backlog);
	return (int)zc__ret(cx, s, r);
}

int zc_accept4(struct zc_sockctx *cx, int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return zc__fail(EINVAL);
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	if (s->udp)
		return (int)zc__ret(cx, s, -EOPNOTSUPP);
	uint64_t spin = 0, deadline = zc__deadline(s->nonblock, s->rcvtimeo);
	struct zc_tcp_sock *c;
	int err;
	for (;;) {
		c = zc_tcp_accept(s->tcp, &err);
		if (c || err != -EAGAIN || s->nonblock || s->closed)
			break;
		int r = zc__block(cx, &spin, deadline);
		if (r < 0) {
			err = r;
			break;
		}
	}
	if (c == NULL)
		return (int)zc__ret(cx, s, s->closed ? -EBADF : err);
	struct zc__sock *n = calloc(1, sizeof(*n));
	int r = n ? 0 : -ENOMEM;
	if (n) {
		n->type = SOCK_STREAM;
		n->tcp = c;
		n->nonblock = (flags & SOCK_NONBLOCK) != 0;
		n->sndbuf = s->sndbuf;
		n->rcvbuf = s->rcvbuf;
		r = zc__install(cx, n);
	}
	if (r < 0) {
		zc_tcp_close(c);
		free(n);
		return (int)zc__ret(cx, s, r);
	}
	uint32_t ip;
	uint16_t port;
	zc_tcp_remote(c, &ip, &port);
	zc__put_sin(addr, alen, ip, port);
	return (int)zc__ret(cx, s, r);
}

int zc_connect(struct zc_sockctx *cx, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	uint32_t ip;
	uint16_t port;
	int r = zc__sin(addr, len, &ip, &port);
	if (r)
		return (int)zc__ret(cx, s, r);
	if (s->udp) {
		if (!s->udp_bound) {
			r = zc_udp_bind(s->udp, 0, 0);
			s->udp_bound = r == 0;
		}
		s->peer_ip = ip;
		s->peer_port = port;
		return (int)zc__ret(cx, s, r);
	}
	if (s->connecting) {
		enum zc_tcp_state st = zc_tcp_get_state(s->tcp);
		if (st == ZC_TCP_SYN_SENT)
			return (int)zc__ret(cx, s, -EALREADY);
		s->connecting = false;
		int e = zc_tcp_error(s->tcp);
		if (e)
			return (int)zc__ret(cx, s, -e);
		return (int)zc__ret(cx, s, st == ZC_TCP_CLOSED ? -ECONNREFUSED : -EISCONN);
	}
	r = zc_tcp_connect(s->tcp, ip, port);
	if (r != -EINPROGRESS)
		return (int)zc__ret(cx, s, r == -EINVAL ? -EISCONN : r);
	if (s->nonblock) {
		s->connecting = true;
		return (int)zc__ret(cx, s, -EINPROGRESS);
	}
	uint64_t spin = 0, deadline = zc__deadline(false, s->sndtimeo);
	for (;;) {
		enum zc_tcp_state st = zc_tcp_get_state(s->tcp);
		if (st != ZC_TCP_SYN_SENT)
			break;
		r = zc__block(cx, &spin, deadline);
		if (r < 0) {
			/* interrupted: the handshake goes on, as the kernel's does */
			s->connecting = true;
			return (int)zc__ret(cx, s, r == -EAGAIN ? -EINPROGRESS : r);
		}
	}
	int e = zc_tcp_error(s->tcp);
	if (e == 0 && zc_tcp_get_state(s->tcp) == ZC_TCP_CLOSED)
		e = ECONNREFUSED;
	return (int)zc__ret(cx, s, -e);
}

/* --- data ------------------------------------------------------------------------- */

static void zc__sigpipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
}

/* TCP read into one buffer (lock held): trade whole frames where the
 * policy allows, copy the rest; waits as the flags and socket say. */
static ssize_t zc__tcp_read(struct zc_sockctx *cx, struct zc__sock *s, uint8_t *buf, size_t len, int flags)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->rcvtimeo);
	size_t done = 0;
	bool fell_back = false;
	if (len == 0)
		return 0;
	zc_tcp_rcv_hint(s->tcp, len); /* big reads open the window */
	for (;;) {
		ssize_t r;
		/* the stack is about to write the caller's pages: a send by
		 * reference on them is copied first (the fault handler needs the
		 * lock this thread holds) */
		zc__cow_release(cx->cow, buf + done, len - done, false);
		if (flags & MSG_PEEK) {
			r = zc_tcp_peek(s->tcp, buf, len);
		} else {
			size_t k = zc__zc_trade(cx->zz, s->tcp, buf + done, len - done, &s->zs);
			done += k;
			r = 0;
			/* MSG_WAITALL into a buffer that could take the next frame
			 * whole: wait for the frame rather than copy a piece of it */
			bool hold = false;
			if ((flags & MSG_WAITALL) && !nb && done < len && zc_tcp_readable(s->tcp) &&
			    !(zc_tcp_events(s->tcp) & (POLLRDHUP | POLLERR | POLLHUP))) {
				uint32_t fs = zc__zc_tradeable(cx->zz, s->tcp, buf + done, len - done);
				hold = fs && zc_tcp_readable(s->tcp) < fs;
			}
			if (hold)
				r = -EAGAIN;
			if (done < len && !hold) {
				uint64_t t0 = len - done >= 4096 ? zc__now() : 0;
				r = zc_tcp_recv(s->tcp, buf + done, len - done);
				if (r > 0) {
					zc__zc_count_copy(cx->zz, &s->zs, (size_t)r, t0 ? zc__now() - t0 : 0);
					done += (size_t)r;
					if (!fell_back && len >= 4096 && !((uintptr_t)buf & 4095) &&
					    zc__zc_policy(cx->zz) != ZC_ZCOPY_NEVER) {
						s->zs.trade_fallbacks++; /* a read that could have traded copied */
						fell_back = true;
					}
				}
			}
			if (k && r == -EAGAIN)
				r = 0;
		}
		if (flags & MSG_PEEK) {
			if (r != -EAGAIN)
				return r;
		} else if (done == len || (done > 0 && !(flags & MSG_WAITALL)) || r == 0 ||
			   (r < 0 && r != -EAGAIN)) {
			if (done > 0)
				return (ssize_t)done;
			return r;
		}
		if (nb || s->closed)
			return done ? (ssize_t)done : s->closed ? -EBADF : -EAGAIN;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0)
			return done ? (ssize_t)done : b;
	}
}

static ssize_t zc__tcp_write(struct zc_sockctx *cx, struct zc__sock *s, const uint8_t *buf, size_t len, int flags)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->sndtimeo);
	size_t done = 0;
	const uintptr_t pg = 4096;
	zc_tcp_snd_hint(s->tcp, len);
	for (;;) {
		ssize_t r = 0;
		size_t n = len - done;
		if (zc__zc_policy(cx->zz) != ZC_ZCOPY_NEVER && n >= 2 * pg && n >= zc__cow_min(cx->cow)) {
			uintptr_t mis = (uintptr_t)(buf + done) & (pg - 1);
			if (mis) {
				n = pg - mis; /* copy up to a page boundary, then by reference */
			} else if (zc__zc_private_anon(cx->zz, buf + done, n & ~(pg - 1))) {
				ssize_t k = zc__cow_send(cx->cow, s->tcp, buf + done, n, &s->zs);
				if (k > 0) {
					done += (size_t)k;
					continue;
				}
				if (k == -EAGAIN)
					n = 0; /* by reference once there is room */
			}
		}
		if (n) {
			r = zc_tcp_send(s->tcp, buf + done, n);
		} else { /* waiting for room to send by reference, or the error */
			int w = zc_tcp_writable(s->tcp);
			r = w == 0 ? -EAGAIN : w;
		}
		if (r > 0) {
			s->zs.bytes_copied += (size_t)r;
			done += (size_t)r;
		}
		if (r > 0 && done < len)
			continue;
		if (done == len)
			return (ssize_t)done;
		if (r < 0 && r != -EAGAIN && r != -ENOBUFS) {
			if (done)
				return (ssize_t)done;
			if (r == -ENOTCONN && zc_tcp_get_state(s->tcp) == ZC_TCP_CLOSED)
				r = -EPIPE; /* Linux: a socket that never connected gives EPIPE */
			if (r == -EPIPE)
				zc__sigpipe(flags);
			return r;
		}
		if (nb || s->closed)
			return done ? (ssize_t)done : s->closed ? -EBADF : -EAGAIN;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0)
			return done ? (ssize_t)done : b;
	}
}

static ssize_t zc__udp_recv(struct zc_sockctx *cx, struct zc__sock *s, void *buf, size_t len, int flags,
			    uint32_t *ip, uint16_t *port)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->rcvtimeo);
	for (;;) {
		ssize_t r = zc_udp_recvfrom(s->udp, buf, len, ip, port);
		if (r >= 0) {
			s->zs.bytes_copied += (size_t)r < len ? (size_t)r : len;
			return (flags & MSG_TRUNC) ? r : (ssize_t)((size_t)r < len ? (size_t)r : len);
		}
		if (r != -EAGAIN || nb || s->closed)
			return s->closed ? -EBADF : r;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0)
			return b;
	}
}

static ssize_t zc__udp_send(struct zc_sockctx *cx, struct zc__sock *s, const void *buf, size_t len,
			    uint32_t ip, uint16_t port, bool to)
{
	if (!to) {
		if (s->peer_port == 0)
			return -EDESTADDRREQ;
		ip = s->peer_ip;
		port = s->peer_port;
	}
	ssize_t r = zc_udp_sendto(s->udp, buf, len, ip, port);
	s->udp_bound = true;
	if (r >= 0)
		s->zs.bytes_copied += (size_t)r;
	(void)cx;
	return r;
}

ssize_t zc_recvfrom(struct zc_sockctx *cx, int fd, void *buf, size_t len, int flags, struct sockaddr *from,
		    socklen_t *fromlen)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	ssize_t r;
	if (s->tcp) {
		r = zc__tcp_read(cx, s, buf, len, flags);
		if (from && fromlen)
			*fromlen = 0; /* a connected stream says nothing (as Linux) */
	} else {
		uint32_t ip = 0;
		uint16_t port = 0;
		r = zc__udp_recv(cx, s, buf, len, flags, &ip, &port);
		if (r >= 0)
			zc__put_sin(from, fromlen, ip, port);
	}
	return zc__ret(cx, s, r);
}

ssize_t zc_recv(struct zc_sockctx *cx, int fd, void *buf, size_t len, int flags)
{
	return zc_recvfrom(cx, fd, buf, len, flags, NULL, NULL);
}

ssize_t zc_read(struct zc_sockctx *cx, int fd, void *buf, size_t len)
{
	return zc_recvfrom(cx, fd, buf, len, 0, NULL, NULL);
}

ssize_t zc_sendto(struct zc_sockctx *cx, int fd, const void *buf, size_t len, int flags,
		  const struct sockaddr *to, socklen_t tolen)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	ssize_t r;
	if (s->tcp) {
		r = zc__tcp_write(cx, s, buf, len, flags);
	} else {
		uint32_t ip = 0;
		uint16_t port = 0;
		r = to ? zc__sin(to, tolen, &ip, &port) : 0;
		if (r == 0)
			r = zc__udp_send(cx, s, buf, len, ip, port, to != NULL);
	}
	return zc__ret(cx, s, r);
}

ssize_t zc_send(struct zc_sockctx *cx, int fd, const void *buf, size_t len, int flags)
{
	return zc_sendto(cx, fd, buf, len, flags, NULL, 0);
}

ssize_t zc_write(struct zc_sockctx *cx, int fd, const void *buf, size_t len)
{
	return zc_sendto(cx, fd, buf, len, 0, NULL, 0);
}

static ssize_t zc__iov_total(const struct iovec *iov, int n)
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

ssize_t zc_recvmsg(struct zc_sockctx *cx, int fd, struct msghdr *msg, int flags)
{
	ssize_t tot = zc__iov_total(msg->msg_iov, (int)msg->msg_iovlen);
	if (tot < 0)
		return zc__fail((int)-tot);
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	ssize_t r = 0;
	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	if (s->udp) {
		/* one datagram, spread over the iovecs */
		uint8_t *tmp = malloc(65536);
		uint32_t ip = 0;
		uint16_t port = 0;
		r = tmp ? zc__udp_recv(cx, s, tmp, 65536, flags | MSG_TRUNC, &ip, &port) : -ENOMEM;
		if (r >= 0) {
			size_t off = 0, n = (size_t)r < (size_t)tot ? (size_t)r : (size_t)tot;
			for (size_t i = 0; i < msg->msg_iovlen && off < n; i++) {
				size_t k = msg->msg_iov[i].iov_len < n - off ? msg->msg_iov[i].iov_len : n - off;
				memcpy(msg->msg_iov[i].iov_base, tmp + off, k);
				off += k;
			}
			if ((size_t)r > (size_t)tot)
				msg->msg_flags |= MSG_TRUNC;
			if (!(flags & MSG_TRUNC))
				r = (ssize_t)n;
			socklen_t nl = msg->msg_namelen;
			zc__put_sin(msg->msg_name, msg->msg_name ? &nl : NULL, ip, port);
			msg->msg_namelen = msg->msg_name ? nl : 0;
		}
		free(tmp);
		return zc__ret(cx, s, r);
	}
	msg->msg_namelen = 0;
	size_t done = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_len == 0)
			continue;
		/* after the first bytes, take only what is there */
		int f = done ? (flags | MSG_DONTWAIT) & ~MSG_WAITALL : flags;
		if (done && (flags & MSG_WAITALL))
			f = flags;
		r = zc__tcp_read(cx, s, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len, f);
		if (r <= 0)
			break;
		done += (size_t)r;
		if ((size_t)r < msg->msg_iov[i].iov_len || (flags & MSG_PEEK))
			break;
	}
	return zc__ret(cx, s, done ? (ssize_t)done : r);
}

ssize_t zc_sendmsg(struct zc_sockctx *cx, int fd, const struct msghdr *msg, int flags)
{
	ssize_t tot = zc__iov_total(msg->msg_iov, (int)msg->msg_iovlen);
	if (tot < 0)
		return zc__fail((int)-tot);
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	ssize_t r = 0;
	if (s->udp) {
		uint8_t *tmp = malloc((size_t)tot + 1);
		uint32_t ip = 0;
		uint16_t port = 0;
		r = tmp ? 0 : -ENOMEM;
		if (r == 0 && msg->msg_name)
			r = zc__sin(msg->msg_name, msg->msg_namelen, &ip, &port);
		if (r == 0) {
			size_t off = 0;
			for (size_t i = 0; i < msg->msg_iovlen; i++) {
				memcpy(tmp + off, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
				off += msg->msg_iov[i].iov_len;
			}
			r = zc__udp_send(cx, s, tmp, (size_t)tot, ip, port, msg->msg_name != NULL);
		}
		free(tmp);
		return zc__ret(cx, s, r);
	}
	size_t done = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_len == 0)
			continue;
		r = zc__tcp_write(cx, s, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len,
				  done ? flags | MSG_DONTWAIT : flags);
		if (r <= 0)
			break;
		done += (size_t)r;
		if ((size_t)r < msg->msg_iov[i].iov_len)
			break;
	}
	return zc__ret(cx, s, done ? (ssize_t)done : r);
}

ssize_t zc_readv(struct zc_sockctx *cx, int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)(iovcnt < 0 ? 0 : iovcnt) };
	if (iovcnt < 0)
		return zc__fail(EINVAL);
	return zc_recvmsg(cx, fd, &m, 0);
}

ssize_t zc_writev(struct zc_sockctx *cx, int fd, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)(iovcnt < 0 ? 0 : iovcnt) };
	if (iovcnt < 0)
		return zc__fail(EINVAL);
	return zc_sendmsg(cx, fd, &m, 0);
}

/* --- opt-in zero-copy receive ----------------------------------------------------- */

ssize_t zc_recv_zc(struct zc_sockctx *cx, int fd, struct zc_rxzc *z, size_t max, int flags)
{
	z->iovcnt = 0;
	z->priv = NULL;
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	if (s->udp)
		return zc__ret(cx, s, -EOPNOTSUPP);
	zc_tcp_rcv_hint(s->tcp, max);
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	uint64_t spin = 0, deadline = zc__deadline(nb, s->rcvtimeo);
	ssize_t r;
	struct zc_mbuf *pk = NULL;
	for (;;) {
		/* as many bytes as the iovec array can describe: a page each at worst */
		size_t cap = max;
		r = zc_tcp_recv_chain(s->tcp, cap, &pk);
		if (r != -EAGAIN || nb || s->closed)
			break;
		int b = zc__block(cx, &spin, deadline);
		if (b < 0) {
			r = b;
			break;
		}
	}
	if (r > 0) {
		int k = zc__zc_views(cx->zz, pk, z->iov, ZC_RXZC_IOV);
		if (k < 0) {
			/* more pieces than iovecs: describe what fits, keep it all held;
			 * the caller sees fewer bytes than taken, so copy instead */
			k = 0;
		}
		z->iovcnt = k;
		z->priv = pk;
		size_t described = 0;
		for (int i = 0; i < k; i++)
			described += z->iov[i].iov_len;
		if (described != (size_t)r) {
			/* cannot describe it all: never lose bytes; the caller gets
			 * them through one bounce view */
			uint8_t *bounce = malloc((size_t)r);
			if (bounce == NULL) {
				zc_mbuf_free(pk);
				z->priv = NULL;
				return zc__ret(cx, s, -ENOMEM);
			}
			size_t off = 0;
			for (struct zc_mbuf *m = pk; m; m = m->nextpkt)
				off += zc_mbuf_copydata(m, 0, m->pkt_len, bounce + off);
			s->zs.bytes_copied += (size_t)r;
			z->iov[0].iov_base = bounce;
			z->iov[0].iov_len = (size_t)r;
			z->iovcnt = -1; /* marks the bounce buffer for zc_recv_zc_done */
		} else {
			s->zs.bytes_viewed += (size_t)r;
		}
	}
	return zc__ret(cx, s, r);
}

void zc_recv_zc_done(struct zc_sockctx *cx, struct zc_rxzc *z)
{
	if (z->priv == NULL)
		return;
	pthread_mutex_lock(&cx->lk);
	for (struct zc_mbuf *m = z->priv, *n; m; m = n) {
		n = m->nextpkt;
		m->nextpkt = NULL;
		zc_mbuf_free(m);
	}
	pthread_mutex_unlock(&cx->lk);
	if (z->iovcnt == -1)
		free(z->iov[0].iov_base);
	z->priv = NULL;
	z->iovcnt = 0;
}

/* --- shutdown, close, names -------------------------------------------------------- */

int zc_shutdown(struct zc_sockctx *cx, int fd, int how)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int r;
	if (how < SHUT_RD || how > SHUT_RDWR)
		r = -EINVAL;
	else if (s->udp)
		r = s->peer_port ? 0 : -ENOTCONN;
	else
		r = zc_tcp_shutdown(s->tcp, how);
	zc__notify(cx);
	return (int)zc__ret(cx, s, r);
}

int zc_close(struct zc_sockctx *cx, int fd)
{
	pthread_mutex_lock(&cx->lk);
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	if (s == NULL) {
		pthread_mutex_unlock(&cx->lk);
		return zc__fail(EBADF);
	}
	cx->tab[fd] = NULL;
	close(fd);
	if (--s->nfds == 0) {
		cx->nsocks--;
		if (s->users) {
			s->closed = true; /* the last thread inside frees it */
			zc__notify(cx);
		} else {
			zc__sock_free(cx, s);
		}
	}
	pthread_mutex_unlock(&cx->lk);
	return 0;
}

int zc_dup(struct zc_sockctx *cx, int oldfd, int newfd, int flags)
{
	pthread_mutex_lock(&cx->lk);
	struct zc__sock *s = oldfd >= 0 && oldfd < cx->tabcap ? cx->tab[oldfd] : NULL;
	if (s == NULL) {
		pthread_mutex_unlock(&cx->lk);
		return zc__fail(EBADF);
	}
	if (newfd == oldfd) {
		pthread_mutex_unlock(&cx->lk);
		return flags ? zc__fail(EINVAL) : newfd; /* dup3 refuses, dup2 returns it */
	}
	if (newfd >= 0 && newfd < cx->tabcap && cx->tab[newfd]) {
		/* dup2 over another of our sockets: that one is closed first */
		struct zc__sock *o = cx->tab[newfd];
		cx->tab[newfd] = NULL;
		if (--o->nfds == 0) {
			cx->nsocks--;
			if (o->users)
				o->closed = true;
			else
				zc__sock_free(cx, o);
		}
	}
	/* the kernel reserves the number: a duplicate of the reserved socket */
	int fd = newfd < 0 ? dup(oldfd) : dup3(oldfd, newfd, flags & O_CLOEXEC);
	if (fd < 0 || zc__tab_grow(cx, fd) != 0) {
		int e = fd < 0 ? errno : ENOMEM;
		if (fd >= 0)
			close(fd);
		pthread_mutex_unlock(&cx->lk);
		return zc__fail(e);
	}
	cx->tab[fd] = s;
	s->nfds++;
	pthread_mutex_unlock(&cx->lk);
	return fd;
}

int zc_detach(struct zc_sockctx *cx, int fd, int *nonblock)
{
	pthread_mutex_lock(&cx->lk);
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	if (s == NULL || s->nfds != 1 || s->users) {
		pthread_mutex_unlock(&cx->lk);
		return zc__fail(s ? EBUSY : EBADF);
	}
	cx->tab[fd] = NULL;
	cx->nsocks--;
	*nonblock = s->nonblock;
	zc__sock_free(cx, s);
	pthread_mutex_unlock(&cx->lk);
	return 0;
}

uint32_t zc_sockctx_ip(const struct zc_sockctx *cx) { return zc_stack_ip(cx->st); }

bool zc_may_reference(const struct zc_sockctx *cx, const void *addr, size_t len)
{
	return zc__cow_may_reference(cx->cow, addr, len);
}

bool zc_reaches(struct zc_sockctx *cx, uint32_t ip)
{
	return zc_stack_reaches(cx->st, ip);
}

int zc_getsockname(struct zc_sockctx *cx, int fd, struct sockaddr *addr, socklen_t *len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	uint32_t ip = 0;
	uint16_t port = 0;
	if (s->tcp)
		zc_tcp_local(s->tcp, &ip, &port);
	else if (s->udp_bound)
		port = zc_udp_local_port(s->udp);
	if (len == NULL || addr == NULL)
		return (int)zc__ret(cx, s, -EFAULT);
	zc__put_sin(addr, len, ip, port);
	return (int)zc__ret(cx, s, 0);
}

int zc_getpeername(struct zc_sockctx *cx, int fd, struct sockaddr *addr, socklen_t *len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	uint32_t ip = 0;
	uint16_t port = 0;
	int r = 0;
	if (s->tcp) {
		enum zc_tcp_state st = zc_tcp_get_state(s->tcp);
		r = st == ZC_TCP_CLOSED || st == ZC_TCP_LISTEN || st == ZC_TCP_SYN_SENT ||
				    zc_tcp_remote(s->tcp, &ip, &port) != 0
			    ? -ENOTCONN
			    : 0;
	} else {
		ip = s->peer_ip;
		port = s->peer_port;
		r = port ? 0 : -ENOTCONN;
	}
	if (r == 0 && (addr == NULL || len == NULL))
		r = -EFAULT;
	if (r == 0)
		zc__put_sin(addr, len, ip, port);
	return (int)zc__ret(cx, s, r);
}

/* --- options ------------------------------------------------------------------------ */

static int zc__getint(const void *val, socklen_t len, int *out)
{
	if (val == NULL)
		return -EFAULT;
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int zc__tv_ns(const void *val, socklen_t len, uint64_t *ns)
{
	struct timeval tv;
	if (val == NULL)
		return -EFAULT;
	if (len < sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	*ns = tv.tv_sec < 0 ? 0 : (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
	return 0;
}

int zc_setsockopt(struct zc_sockctx *cx, int fd, int level, int name, const void *val, socklen_t len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int v = 0, r = 0;
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		r = zc__tv_ns(val, len, name == SO_RCVTIMEO ? &s->rcvtimeo : &s->sndtimeo);
		return (int)zc__ret(cx, s, r);
	}
	if (level == SOL_SOCKET && name == SO_LINGER) {
		struct linger l;
		if (val == NULL || len < sizeof(l))
			return (int)zc__ret(cx, s, val ? -EINVAL : -EFAULT);
		memcpy(&l, val, sizeof(l));
		r = s->tcp ? zc_tcp_setopt(s->tcp, ZC_TCP_OPT_LINGER, l.l_onoff ? l.l_linger : -1) : 0;
		return (int)zc__ret(cx, s, r);
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		char cc[16] = "";
		if (val == NULL)
			return (int)zc__ret(cx, s, -EFAULT);
		memcpy(cc, val, len < sizeof(cc) - 1 ? len : sizeof(cc) - 1);
		r = s->udp ? -EOPNOTSUPP : (strcmp(cc, "reno") == 0 || strcmp(cc, "newreno") == 0) ? 0 : -ENOENT;
		return (int)zc__ret(cx, s, r);
	}
	if ((r = zc__getint(val, len, &v)) != 0)
		return (int)zc__ret(cx, s, r);
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_REUSEADDR: s->reuseaddr = v != 0; break;
		case SO_REUSEPORT: s->reuseport = v != 0; break;
		case SO_KEEPALIVE: r = s->tcp ? zc_tcp_setopt(s->tcp, ZC_TCP_OPT_KEEPALIVE, v) : 0; break;
		case SO_SNDBUF:
		case SO_RCVBUF: {
			/* Linux doubles the request (bookkeeping room) and reports that */
			long d = (long)(v < 0 ? 0 : v) * 2;
			if (d < 4608)
				d = 4608;
			if (d > (1l << 30))
				d = 1l << 30;
			if (name == SO_SNDBUF)
				s->sndbuf = (int)d;
			else
				s->rcvbuf = (int)d;
			if (s->tcp)
				r = zc_tcp_setopt(s->tcp, name == SO_SNDBUF ? ZC_TCP_OPT_SNDBUF : ZC_TCP_OPT_RCVBUF,
						  (int)(d / 2 < 4096 ? 4096 : d / 2));
			else if (name == SO_RCVBUF)
				zc_udp_set_rcvbuf(s->udp, (uint32_t)d);
			break;
		}
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_TCP) {
		static const struct { int name; enum zc_tcp_opt opt; } map[] = {
			{ TCP_NODELAY, ZC_TCP_OPT_NODELAY },     { TCP_CORK, ZC_TCP_OPT_CORK },
			{ TCP_KEEPIDLE, ZC_TCP_OPT_KEEPIDLE },   { TCP_KEEPINTVL, ZC_TCP_OPT_KEEPINTVL },
			{ TCP_KEEPCNT, ZC_TCP_OPT_KEEPCNT },     { TCP_MAXSEG, ZC_TCP_OPT_MAXSEG },
			{ TCP_QUICKACK, ZC_TCP_OPT_QUICKACK },
		};
		r = -ENOPROTOOPT;
		for (size_t i = 0; s->tcp && i < sizeof(map) / sizeof(map[0]); i++)
			if (map[i].name == name)
				r = zc_tcp_setopt(s->tcp, map[i].opt, v);
		if (s->udp)
			r = -EOPNOTSUPP;
	} else {
		r = -ENOPROTOOPT;
	}
	return (int)zc__ret(cx, s, r);
}

static int zc__putopt(void *val, socklen_t *len, const void *src, size_t n)
{
	if (val == NULL || len == NULL)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	size_t k = *len < n ? *len : n;
	memcpy(val, src, k);
	*len = (socklen_t)k;
	return 0;
}

int zc_getsockopt(struct zc_sockctx *cx, int fd, int level, int name, void *val, socklen_t *len)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int v = 0, r = 0;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR: v = s->tcp ? zc_tcp_error(s->tcp) : 0; break;
		case SO_TYPE: v = s->type; break;
		case SO_DOMAIN: v = AF_INET; break;
		case SO_PROTOCOL: v = s->tcp ? IPPROTO_TCP : IPPROTO_UDP; break;
		case SO_ACCEPTCONN: v = s->tcp && zc_tcp_get_state(s->tcp) == ZC_TCP_LISTEN; break;
		case SO_REUSEADDR: v = s->reuseaddr; break;
		case SO_REUSEPORT: v = s->reuseport; break;
		case SO_KEEPALIVE: if (s->tcp) zc_tcp_getopt(s->tcp, ZC_TCP_OPT_KEEPALIVE, &v); break;
		case SO_SNDBUF: v = s->sndbuf; break;
		case SO_RCVBUF: v = s->rcvbuf; break;
		case SO_LINGER: {
			int l = -1;
			if (s->tcp)
				zc_tcp_getopt(s->tcp, ZC_TCP_OPT_LINGER, &l);
			struct linger lg = { l >= 0, l >= 0 ? l : 0 };
			return (int)zc__ret(cx, s, zc__putopt(val, len, &lg, sizeof(lg)));
		}
		case SO_RCVTIMEO:
		case SO_SNDTIMEO: {
			uint64_t ns = name == SO_RCVTIMEO ? s->rcvtimeo : s->sndtimeo;
			struct timeval tv = { (time_t)(ns / 1000000000u), (suseconds_t)(ns % 1000000000u / 1000u) };
			return (int)zc__ret(cx, s, zc__putopt(val, len, &tv, sizeof(tv)));
		}
		default: r = -ENOPROTOOPT;
		}
	} else if (level == IPPROTO_TCP && s->tcp) {
		switch (name) {
		case TCP_NODELAY: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_NODELAY, &v); break;
		case TCP_CORK: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_CORK, &v); break;
		case TCP_KEEPIDLE: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_KEEPIDLE, &v); break;
		case TCP_KEEPINTVL: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_KEEPINTVL, &v); break;
		case TCP_KEEPCNT: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_KEEPCNT, &v); break;
		case TCP_MAXSEG: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_MAXSEG, &v); break;
		case TCP_QUICKACK: zc_tcp_getopt(s->tcp, ZC_TCP_OPT_QUICKACK, &v); break;
		case TCP_INFO: {
			struct zc_tcp_info ti;
			zc_tcp_get_info(s->tcp, &ti);
			return (int)zc__ret(cx, s, zc__putopt(val, len, &ti, sizeof(ti)));
		}
		case TCP_CONGESTION:
			return (int)zc__ret(cx, s, zc__putopt(val, len, "reno", 5));
		default: r = -ENOPROTOOPT;
		}
	} else {
		r = level == IPPROTO_TCP ? -EOPNOTSUPP : -ENOPROTOOPT;
	}
	if (r == 0)
		r = zc__putopt(val, len, &v, sizeof(v));
	return (int)zc__ret(cx, s, r);
}

int zc_fcntl(struct zc_sockctx *cx, int fd, int cmd, long arg)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int r;
	switch (cmd) {
	case F_GETFL: r = O_RDWR | (s->nonblock ? O_NONBLOCK : 0); break;
	case F_SETFL: s->nonblock = (arg & O_NONBLOCK) != 0; r = 0; break;
	case F_GETFD: r = fcntl(fd, F_GETFD); break;
	case F_SETFD: r = fcntl(fd, F_SETFD, arg); break;
	default: r = -EINVAL;
	}
	if (r < 0 && (cmd == F_GETFD || cmd == F_SETFD))
		r = -errno;
	return (int)zc__ret(cx, s, r);
}

int zc_ioctl(struct zc_sockctx *cx, int fd, unsigned long req, int *arg)
{
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	int r = 0;
	if (arg == NULL)
		r = -EFAULT;
	else if (req == FIONBIO)
		s->nonblock = *arg != 0;
	else if (req == FIONREAD) {
		if (s->tcp && zc_tcp_get_state(s->tcp) == ZC_TCP_LISTEN)
			r = -EINVAL;
		else
			*arg = s->tcp ? (int)zc_tcp_readable(s->tcp) : 0;
		if (s->udp) /* the size of the next datagram, as Linux gives it */
			*arg = (int)zc_udp_next_len(s->udp);
	} else
		r = -ENOTTY;
	return (int)zc__ret(cx, s, r);
}

/* --- poll ------------------------------------------------------------------------------ */

static short zc__revents(struct zc__sock *s, short events)
{
	unsigned ev;
	if (s->tcp) {
		ev = zc_tcp_events(s->tcp);
		if (s->connecting && zc_tcp_get_state(s->tcp) == ZC_TCP_SYN_SENT)
			ev &= ~(unsigned)POLLOUT;
		if (zc_tcp_get_state(s->tcp) == ZC_TCP_CLOSED && !s->connecting && (ev & POLLHUP) == 0)
			ev |= POLLOUT | POLLHUP; /* a fresh socket: as Linux reports it */
	} else {
		ev = POLLOUT | (zc_udp_pending(s->udp) ? POLLIN : 0);
	}
	return (short)(ev & ((unsigned)events | POLLERR | POLLHUP));
}

int zc_poll(struct zc_sockctx *cx, struct pollfd *fds, nfds_t n, int timeout_ms)
{
	if (n > 0 && fds == NULL)
		return zc__fail(EFAULT);
	struct pollfd kst[16], *k = kst;
	nfds_t nk = 0;
	int *kidx = NULL, kis[16];
	kidx = n > 16 ? malloc(n * sizeof(int)) : kis;
	if (n > 16)
		k = malloc(n * sizeof(*k));
	if (k == NULL || kidx == NULL) {
		if (k != kst)
			free(k);
		if (kidx != kis)
			free(kidx);
		return zc__fail(ENOMEM);
	}
	pthread_mutex_lock(&cx->lk);
	cx->inside++;
	uint64_t spin = 0, deadline = timeout_ms < 0 ? 0 : zc__now() + (uint64_t)timeout_ms * 1000000u;
	bool kernel_checked = false;
	int ready;
	for (;;) {
		ready = 0;
		nk = 0;
		for (nfds_t i = 0; i < n; i++) {
			fds[i].revents = 0;
			if (fds[i].fd < 0)
				continue;
			struct zc__sock *s = fds[i].fd < cx->tabcap ? cx->tab[fds[i].fd] : NULL;
			if (s) {
				fds[i].revents = zc__revents(s, fds[i].events);
				ready += fds[i].revents != 0;
			} else {
				kidx[nk] = (int)i;
				k[nk++] = (struct pollfd){ .fd = fds[i].fd, .events = fds[i].events };
			}
		}
		/* kernel fds: one look without waiting, also when stack sockets
		 * are ready, so every ready fd is reported (a socket's POLLHUP
		 * must not hide nc's writable stdout); a call with stack sockets
		 * only makes no syscall at all */
		if (nk && !kernel_checked) {
			int r = poll(k, nk, 0);
			for (nfds_t j = 0; r > 0 && j < nk; j++) {
				fds[kidx[j]].revents = k[j].revents;
				ready += k[j].revents != 0;
			}
			kernel_checked = true;
		}
		if (ready || timeout_ms == 0)
			break;
		uint64_t now = zc__now();
		if (deadline && now >= deadline)
			break;
		if (nk == 0) {
			int b = zc__block(cx, &spin, timeout_ms < 0 ? 0 : deadline);
			if (b == -EINTR) {
				ready = -EINTR;
				break;
			}
			continue;
		}
		/* kernel fds too: sleep on them and the NIC together */
		int r = zc__sleep(cx, timeout_ms < 0 ? 0 : deadline, k, nk, true, false);
		if (r == -EINTR) {
			ready = -EINTR;
			break;
		}
		if (r > 0) {
			for (nfds_t j = 0; j < nk; j++)
				fds[kidx[j]].revents = k[j].revents;
			/* the stack's sockets may be ready as well */
			for (nfds_t i = 0; i < n; i++) {
				struct zc__sock *s = fds[i].fd >= 0 && fds[i].fd < cx->tabcap ? cx->tab[fds[i].fd] : NULL;
				if (s)
					fds[i].revents = zc__revents(s, fds[i].events);
			}
			ready = 0;
			for (nfds_t i = 0; i < n; i++)
				ready += fds[i].revents != 0;
			break;
		}
	}
	zc__app_out(cx);
	pthread_mutex_unlock(&cx->lk);
	if (k != kst)
		free(k);
	if (kidx != kis)
		free(kidx);
	return ready < 0 ? zc__fail(-ready) : ready;
}

/* --- epoll ---------------------------------------------------------------------------- */

static struct zc__ep *zc__ep_find(struct zc_sockctx *cx, int epfd)
{
	for (struct zc__ep *e = cx->eps; e; e = e->next)
		if (e->epfd == epfd)
			return e;
	return NULL;
}

/* The entry for fd, dropping entries whose socket is gone on the way. */
static struct zc__epi *zc__epi_find(struct zc_sockctx *cx, struct zc__ep *e, int fd)
{
	for (unsigned i = 0; i < e->n;) {
		struct zc__epi *x = &e->v[i];
		struct zc__sock *s = x->fd < cx->tabcap ? cx->tab[x->fd] : NULL;
		if (s == NULL || s->sid != x->sid) {
			e->v[i] = e->v[--e->n];
			continue;
		}
		if (x->fd == fd)
			return x;
		i++;
	}
	return NULL;
}

int zc_epoll_ctl(struct zc_sockctx *cx, int epfd, int op, int fd, const struct epoll_event *ev)
{
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return zc__fail(EINVAL);
	if (op != EPOLL_CTL_DEL && ev == NULL)
		return zc__fail(EFAULT);
	pthread_mutex_lock(&cx->lk);
	struct zc__sock *s = fd >= 0 && fd < cx->tabcap ? cx->tab[fd] : NULL;
	int err = 0;
	struct zc__ep *e = zc__ep_find(cx, epfd);
	struct zc__epi *x = s && e ? zc__epi_find(cx, e, fd) : NULL;
	if (s == NULL) {
		err = EBADF;
	} else if (op == EPOLL_CTL_ADD) {
		if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
			e->epfd = epfd;
			e->next = cx->eps;
			cx->eps = e;
		}
		if (x) {
			err = EEXIST;
		} else if (e == NULL) {
			err = ENOMEM;
		} else {
			if (e->n == e->cap) {
				unsigned cap = e->cap ? 2 * e->cap : 8;
				struct zc__epi *v = realloc(e->v, cap * sizeof(*v));
				if (v == NULL) {
					err = ENOMEM;
					goto out;
				}
				e->v = v;
				e->cap = cap;
			}
			e->v[e->n++] = (struct zc__epi){ .fd = fd, .sid = s->sid, .events = ev->events, .data = ev->data };
		}
	} else if (x == NULL) {
		err = ENOENT;
	} else if (op == EPOLL_CTL_MOD) {
		x->events = ev->events;
		x->data = ev->data;
		x->reported = x->disabled = false; /* re-armed: readiness is told again */
	} else {
		*x = e->v[--e->n];
	}
out:
	pthread_mutex_unlock(&cx->lk);
	return err ? zc__fail(err) : 0;
}

void zc_epoll_forget(struct zc_sockctx *cx, int epfd)
{
	pthread_mutex_lock(&cx->lk);
	for (struct zc__ep **p = &cx->eps; *p; p = &(*p)->next)
		if ((*p)->epfd == epfd) {
			struct zc__ep *e = *p;
			*p = e->next;
			free(e->v);
			free(e);
			break;
		}
	pthread_mutex_unlock(&cx->lk);
}

/* Ready stack sockets of e into evs (lock held): level-triggered entries
 * while ready; edge-triggered ones when they became ready or something
 * arrived for them since they were last told (as Linux re-reports on every
 * wake-up of the socket); a one-shot entry once until re-armed. */
static int zc__ep_collect(struct zc_sockctx *cx, struct zc__ep *e, struct epoll_event *evs, int max)
{
	int n = 0;
	zc__epi_find(cx, e, -1); /* drop entries of closed sockets */
	for (unsigned k = 0; k < e->n && n < max; k++) {
		struct zc__epi *x = &e->v[(e->rr + k) % e->n];
		if (x->disabled)
			continue;
		struct zc__sock *s = cx->tab[x->fd];
		short want = (short)(x->events & (EPOLLIN | EPOLLOUT | EPOLLPRI | EPOLLRDHUP));
		uint32_t mask = (uint32_t)(unsigned short)zc__revents(s, want);
		if (mask == 0) {
			x->reported = false;
			continue;
		}
		uint32_t change = s->tcp ? zc_tcp_change(s->tcp) : zc_udp_change(s->udp);
		if ((x->events & EPOLLET) && x->reported && change == x->last_change && !(mask & ~x->last_mask))
			continue;
		x->reported = true;
		x->last_mask = mask;
		x->last_change = change;
		if (x->events & EPOLLONESHOT)
			x->disabled = true;
		evs[n].events = mask;
		evs[n].data = x->data;
		n++;
	}
	if (e->n)
		e->rr = (e->rr + 1) % e->n;
	return n;
}

int zc_epoll_wait(struct zc_sockctx *cx, int epfd, struct epoll_event *evs, int max, int timeout_ms, bool kernel)
{
	if (max <= 0)
		return zc__fail(EINVAL);
	pthread_mutex_lock(&cx->lk);
	cx->inside++;
	uint64_t spin = 0, deadline = timeout_ms < 0 ? 0 : zc__now() + (uint64_t)timeout_ms * 1000000u;
	int n;
	for (;;) {
		struct zc__ep *e = zc__ep_find(cx, epfd);
		n = e ? zc__ep_collect(cx, e, evs, max) : 0;
		if (kernel && n < max) {
			int k = epoll_wait(epfd, evs + n, max - n, 0);
			if (k < 0 && errno != EINTR) {
				n = n ? n : -errno;
				break;
			}
			n += k > 0 ? k : 0;
		}
		if (n > 0 || timeout_ms == 0)
			break;
		if (deadline && zc__now() >= deadline)
			break;
		int r;
		if (!kernel) {
			r = zc__block(cx, &spin, deadline);
		} else { /* kernel fds too: sleep on the epoll fd and the NIC together */
			struct pollfd k = { .fd = epfd, .events = POLLIN };
			r = zc__sleep(cx, deadline, &k, 1, true, false);
		}
		if (r == -EINTR) {
			n = -EINTR;
			break;
		}
	}
	zc__app_out(cx);
	pthread_mutex_unlock(&cx->lk);
	return n < 0 ? zc__fail(-n) : n;
}

int zc_release_range(struct zc_sockctx *cx, const void *addr, size_t len)
{
	pthread_mutex_lock(&cx->lk);
	zc__cow_release(cx->cow, addr, len, true);
	zc__zc_forget_range(cx->zz, addr, len);
	pthread_mutex_unlock(&cx->lk);
	return 0;
}

/* --- counters ---------------------------------------------------------------------------- */

int zc_sock_zstats(struct zc_sockctx *cx, int fd, struct zc_zstats *out)
{
	if (fd < 0) {
		pthread_mutex_lock(&cx->lk);
		zc__zc_totals(cx->zz, out);
		/* sockets still open add their own, once each (dup gives a socket
		 * several numbers: it counts at the first) */
		for (int i = 0; i < cx->tabcap; i++) {
			struct zc__sock *s = cx->tab[i];
			bool seen = false;
			for (int j = 0; s && s->nfds > 1 && j < i && !seen; j++)
				seen = cx->tab[j] == s;
			if (s == NULL || seen)
				continue;
			zc__zstats_add_sock(out, &s->zs);
		}
		zc__cow_totals(cx->cow, out);
		struct zc_netif_stats ns = { 0 };
		if (cx->nif->ops->get_stats)
			cx->nif->ops->get_stats(cx->nif, &ns);
		out->dma_bytes = ns.dma_bytes;
		pthread_mutex_unlock(&cx->lk);
		return 0;
	}
	struct zc__sock *s = zc__enter(cx, fd);
	if (s == NULL)
		return -1;
	*out = s->zs;
	return (int)zc__ret(cx, s, 0);
}

void zc_sockctx_dump(struct zc_sockctx *cx, FILE *f)
{
	struct zc_zstats z;
	zc_sock_zstats(cx, -1, &z);
	struct zc_zcopy_costs c[2];
	zc_sockctx_costs(cx, c);
	pthread_mutex_lock(&cx->lk);
	fprintf(f, "zcopy_policy %s\n", zc_zcopy_name(zc__zc_policy(cx->zz)));
	for (int i = 0; i < 2; i++)
		if (c[i].frame_size)
			fprintf(f, "zcopy_frame_%u copy_ns %llu remap_ns %llu trade %s\n", c[i].frame_size,
				(unsigned long long)c[i].copy_ns, (unsigned long long)c[i].remap_ns,
				c[i].trade ? "yes" : "no");
	fprintf(f, "bytes_copied %llu\nbytes_traded %llu\nbytes_viewed %llu\nbytes_cow %llu\n"
		   "deferred_copies %llu\ndeferred_bytes %llu\ndma_bytes %llu\ntrades %llu\n"
		   "frames_reclaimed %llu\ntrade_fallbacks %llu\ntrade_pauses %llu\nremap_ns %llu\n",
		(unsigned long long)z.bytes_copied, (unsigned long long)z.bytes_traded,
		(unsigned long long)z.bytes_viewed, (unsigned long long)z.bytes_cow,
		(unsigned long long)z.deferred_copies, (unsigned long long)z.deferred_bytes,
		(unsigned long long)z.dma_bytes, (unsigned long long)z.trades,
		(unsigned long long)z.frames_reclaimed, (unsigned long long)z.trade_fallbacks,
		(unsigned long long)z.trade_pauses, (unsigned long long)z.remap_ns);
	struct zc_netif_stats ns = { 0 };
	if (cx->nif->ops->get_stats)
		cx->nif->ops->get_stats(cx->nif, &ns);
	fprintf(f, "nic %s rx_packets %llu rx_dropped %llu tx_packets %llu tx_dropped %llu tx_busy %llu "
		   "zc_frames %llu placed_bytes %llu irq_raised %llu irq_waits %llu\n",
		cx->nif->name, (unsigned long long)ns.rx_packets, (unsigned long long)ns.rx_dropped,
		(unsigned long long)ns.tx_packets, (unsigned long long)ns.tx_dropped,
		(unsigned long long)ns.tx_busy, (unsigned long long)ns.zc_frames,
		(unsigned long long)ns.placed_bytes, (unsigned long long)ns.irq_raised,
		(unsigned long long)ns.irq_waits);
	for (int i = 0; i < 2; i++) {
		struct zc_pool *P = i ? cx->nif->rx_pool : cx->nif->pool;
		if (P == NULL)
			continue;
		struct zc_pool_stats ps;
		zc_pool_get_stats(P, &ps);
		fprintf(f, "pool%d frame_size %u owned %u free %u in_flight %u lent %u lost %u mbufs_free %u/%u "
			   "alloc_failures %llu\n",
			i, ps.frame_size, ps.frames_owned, ps.frames_free, ps.frames_in_flight, ps.frames_lent,
			ps.frames_lost, ps.mbufs_free, ps.mbufs_total, (unsigned long long)ps.alloc_failures);
	}
	fprintf(f, "sockets %u\n", cx->nsocks);
	for (int fd = 0; fd < cx->tabcap; fd++) {
		struct zc__sock *s = cx->tab[fd];
		if (s == NULL)
			continue;
		char a[16], b[16];
		uint32_t lip = 0, rip = 0;
		uint16_t lp = 0, rp = 0;
		if (s->tcp) {
			zc_tcp_local(s->tcp, &lip, &lp);
			zc_tcp_remote(s->tcp, &rip, &rp);
			struct zc_tcp_info ti;
			zc_tcp_get_info(s->tcp, &ti);
			fprintf(f, "fd %d tcp %s %s:%u -> %s:%u recvq %u unacked %u rtt_us %u cwnd %u retrans %u "
				   "copied %llu traded %llu cow %llu\n",
				fd, zc_tcp_state_name(zc_tcp_get_state(s->tcp)), zc_ipv4_str(lip ? lip : zc_stack_ip(cx->st), a),
				lp, zc_ipv4_str(rip, b), rp, zc_tcp_readable(s->tcp), ti.tcpi_unacked, ti.tcpi_rtt,
				ti.tcpi_snd_cwnd, ti.tcpi_total_retrans, (unsigned long long)s->zs.bytes_copied,
				(unsigned long long)s->zs.bytes_traded, (unsigned long long)s->zs.bytes_cow);
		} else {
			fprintf(f, "fd %d udp port %u queued %u peer %s:%u\n", fd,
				s->udp_bound ? zc_udp_local_port(s->udp) : 0, zc_udp_pending(s->udp),
				zc_ipv4_str(s->peer_ip, b), s->peer_port);
		}
	}
	zc_stack_dump(cx->st, f);
	pthread_mutex_unlock(&cx->lk);
}

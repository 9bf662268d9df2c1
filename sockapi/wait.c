/*
 * wait.c - how a thread of the socket layer waits (run to completion: the
 * waiting thread drives the stack itself).
 *
 * A thread that must wait (zc__block) first busy-polls (one spinner per
 * context), then sleeps in ppoll() on its own eventfd, the NIC's interrupt
 * and whatever kernel fds the caller waits for (zc__sleep). Whoever makes
 * progress (frames arrived, a socket closed) writes the eventfds of the
 * other sleepers (zc__notify). The NIC's interrupt is armed by the first
 * sleeper and acknowledged by the last one, so no sleeper misses it.
 *
 * Per-thread state: each thread that ever sleeps keeps one eventfd
 * (closed at thread exit by a pthread key), nothing else.
 */
#include "stack/fdhigh.h"
#include "sockapi/socket_priv.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define ZC__SLICE_NS 50000000ull /* no sleep longer than this without a look */
#define ZC__SHARED_SLICE_NS 10000000ull /* the same while processes share the stack */
#define ZC__SPIN_MAX_NS 2000000ull /* a wait with packets arriving spins up to this */

static pthread_key_t zc__efd_key;

static void zc__close_efd(void *p) { close((int)(intptr_t)p - 1); }
void zc__wait_once(void) { pthread_key_create(&zc__efd_key, zc__close_efd); }

/* A fork child's thread has its parent's thread's eventfd: its own from now
 * on, so that a wake-up meant for one is not taken by the other. */
void zc__wait_after_fork(void)
{
	intptr_t v = (intptr_t)pthread_getspecific(zc__efd_key);
	if (v) {
		close((int)v - 1);
		pthread_setspecific(zc__efd_key, NULL);
	}
}

static int zc__my_efd(void)
{
	intptr_t v = (intptr_t)pthread_getspecific(zc__efd_key);
	if (v)
		return (int)v - 1;
	int fd = zc_fd_high(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (fd >= 0)
		pthread_setspecific(zc__efd_key, (void *)(intptr_t)(fd + 1));
	return fd;
}

static inline void zc__relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/* Tell a spinner (lock-free) that something changed. */
static void zc__bump(struct zc_sockctx *cx)
{
	__atomic_store_n(&cx->gen, cx->gen + 1, __ATOMIC_RELEASE);
}

/* Wake every sleeper but the caller. */
void zc__notify(struct zc_sockctx *cx)
{
	zc__bump(cx);
	int me = (int)(intptr_t)pthread_getspecific(zc__efd_key) - 1;
	uint64_t one = 1;
	for (unsigned i = 0; i < cx->nsleepers; i++)
		if (cx->sleepers[i] != me && write(cx->sleepers[i], &one, sizeof(one)) < 0)
			(void)0; /* a full counter wakes it anyway */
	if (cx->shm->nprocs > 1)
		zc__procs_ring(cx); /* the other processes' sleepers */
}

/* Poll the stack at `now` (never earlier than a poll before it). */
static int zc__drive_at(struct zc_sockctx *cx, uint64_t now)
{
	if (now < cx->last_now)
		now = cx->last_now;
	cx->last_now = now;
	int n = zc_stack_poll(cx->st, now);
	if (cx->nasync || zc_tcp_urg_in(cx->st) != cx->urg_in)
		zc__signals(cx);
	if (n > 0) {
		if (cx->nsleepers || cx->shm->nprocs > 1)
			zc__notify(cx);
		else
			zc__bump(cx);
	}
	return n;
}

int zc__drive(struct zc_sockctx *cx) { return zc__drive_at(cx, zc__now()); }

int zc__drive_pending(struct zc_sockctx *cx)
{
	bool loop = zc_stack_tx_pending(cx->st);
	int n = zc__drive(cx);
	/* a packet to our own address is received on the round after it went */
	for (int i = 0; i < 4 && zc_stack_tx_pending(cx->st); i++, loop = true)
		n += zc__drive(cx);
	return n + loop;
}

/* The clock read every eighth time on a spinning thread: a clock read
 * costs ~0.3 us in this VM, a fifth of a spin step. */
static __thread uint64_t zc__tnow;
static __thread uint64_t zc__spin_cap; /* the latest a spin may last, this wait */
static __thread unsigned zc__tcnt;
static inline uint64_t zc__now_coarse(void)
{
	if ((zc__tcnt++ & 7) == 0 || zc__tnow == 0)
		zc__tnow = zc__now();
	return zc__tnow;
}

/*
 * Sleep once, lock dropped: until woken, a kernel fd in kfds is ready, the
 * next TCP timer, `until` (0 = none) or a slice. nic: sleep on the NIC's
 * interrupt too. Returns kernel fds ready (>= 0), or -EINTR.
 */
int zc__sleep(struct zc_sockctx *cx, uint64_t until, struct pollfd *kfds, nfds_t nk, bool nic, bool helper)
{
	uint64_t now = zc__now();
	/* another process's progress rings this one's doorbell; should a
	 * ring be missed, a sleeper looks again after a shorter slice while
	 * processes share the stack */
	uint64_t end = now + (cx->shm->nprocs > 1 ? ZC__SHARED_SLICE_NS : ZC__SLICE_NS);
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
			zc__unlock(cx);
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
			zc__lock(cx);
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
		zc__unlock(cx);
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
		zc__lock(cx);
		zc__drive(cx);
		return 0;
	}
	if (irq >= 0 && cx->shm->nic_sleepers++ == 0 && n->ops->irq_arm(n) != 0) {
		cx->shm->nic_sleepers--;
		zc__drive(cx); /* frames are waiting */
		return 0;
	}
	if (irq >= 0 && cx->slot >= 0)
		cx->shm->slot[cx->slot].nic_sleepers++; /* the reaper takes a dead one's back */
	struct pollfd stackfds[3 + 16], *pf = stackfds;
	if (nk > 16 && (pf = malloc((3 + nk) * sizeof(*pf))) == NULL)
		pf = stackfds, nk = 0;
	nfds_t np = 0;
	pf[np++] = (struct pollfd){ .fd = me, .events = POLLIN };
	nfds_t irq_at = np;
	if (irq >= 0)
		pf[np++] = (struct pollfd){ .fd = irq, .events = POLLIN };
	nfds_t bell = 0;
	if (!helper && cx->bell_fd >= 0 && cx->slot >= 0) {
		bell = np;
		pf[np++] = (struct pollfd){ .fd = cx->bell_fd, .events = POLLIN };
		cx->shm->slot[cx->slot].sleepers++;
	}
	nfds_t kfirst = np;
	for (nfds_t i = 0; i < nk; i++)
		pf[np++] = (struct pollfd){ .fd = kfds[i].fd, .events = kfds[i].events };
	if (!helper)
		cx->sleepers[cx->nsleepers++] = me;
	zc__unlock(cx);
	uint64_t d = end - now;
	struct timespec ts = { (time_t)(d / 1000000000u), (long)(d % 1000000000u) };
	int r = ppoll(pf, np, &ts, NULL);
	int e = errno;
	zc__lock(cx);
	for (unsigned i = 0; !helper && i < cx->nsleepers; i++)
		if (cx->sleepers[i] == me) {
			cx->sleepers[i] = cx->sleepers[--cx->nsleepers];
			break;
		}
	uint64_t v;
	if (pf[0].revents && read(me, &v, sizeof(v)) < 0)
		(void)0;
	if (bell) {
		cx->shm->slot[cx->slot].sleepers--;
		if (pf[bell].revents)
			zc__procs_bell_drain(cx);
	}
	/* others still asleep: the last one acknowledges the interrupt, but
	 * the wake-ups must not pile up meanwhile, or every sleeper finds it
	 * ready at once, for ever (a Trapeze port's FIFO, non-blocking) */
	if (irq >= 0 && r > 0 && pf[irq_at].revents && cx->shm->nic_sleepers > 1 && n->ops->irq_drain)
		n->ops->irq_drain(n);
	if (irq >= 0 && cx->slot >= 0 && cx->shm->slot[cx->slot].nic_sleepers)
		cx->shm->slot[cx->slot].nic_sleepers--;
	if (irq >= 0 && --cx->shm->nic_sleepers == 0)
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
int zc__block(struct zc_sockctx *cx, uint64_t *spin_end, uint64_t deadline)
{
	return zc__block_fd(cx, spin_end, deadline, -1);
}

int zc__block_fd(struct zc_sockctx *cx, uint64_t *spin_end, uint64_t deadline, int kfd)
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
		zc__unlock(cx);
		for (unsigned i = 1;; i++) {
			zc__relax();
			if (busy || zc_netif_rx_ready(cx->nif) || __atomic_load_n(&cx->gen, __ATOMIC_ACQUIRE) != gen)
				break;
			if ((i & 31) == 0 && (zc__tnow = zc__now()) >= until)
				break;
		}
		zc__lock(cx);
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
	struct pollfd k = { .fd = kfd, .events = POLLIN };
	int r = zc__sleep(cx, deadline, kfd >= 0 ? &k : NULL, kfd >= 0, true, false);
	if (r == -EINTR && zc__restartable())
		return 0;
	return r < 0 ? r : 0;
}

/*
 * context.c - a socket layer context (socket.h): one NIC, one stack, one
 * lock and one helper thread. Opening measures the zero-copy costs and
 * starts the helper; closing closes every socket and lets connections
 * drain. The registry of live contexts lets fork take every lock and
 * privatise traded buffers (zerocopy.h), and the child learn it is one.
 *
 * The helper runs timers and ACKs while no application thread is inside a
 * call (wait.c does the sleeping for it).
 */
#include "stack/fdhigh.h"
#include "sockapi/socket_priv.h"
#include "nic/open.h"
#include "sockapi/cow.h"
#include "sockapi/ext_priv.h"
#include "sockapi/zerocopy.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#define ZC__AUTOTUNE_MIN (256u << 10) /* the receive window a connection starts with */

/* --- the registry of contexts, for fork ------------------------------------- */
static pthread_mutex_t zc__reg_lk = PTHREAD_MUTEX_INITIALIZER;
static struct zc_sockctx *zc__reg;
static pthread_once_t zc__once = PTHREAD_ONCE_INIT;

__thread int zc_thread_inside;

/* fork: the locks are held across it, and the privatising of traded
 * buffers maps memory: the shim must not come back for those locks */
static void zc__before_fork(void)
{
	zc_thread_inside++;
	pthread_mutex_lock(&zc__reg_lk);
	for (struct zc_sockctx *cx = zc__reg; cx; cx = cx->next) {
		zc__lock(cx);
		zc__zc_before_fork(cx->zz);
		zc__procs_before_fork(cx);
	}
}
static void zc__after_fork_parent(void)
{
	for (struct zc_sockctx *cx = zc__reg; cx; cx = cx->next) {
		cx->fork_slot = -1;
		zc__unlock(cx);
	}
	pthread_mutex_unlock(&zc__reg_lk);
	zc_thread_inside--;
}
pid_t zc__pid; /* set at the first open and in a child */

static void *zc__helper(void *arg);
static void zc__helper_restart(struct zc_sockctx *cx);

static void zc__after_fork_child(void)
{
	zc__pid = getpid();
	for (struct zc_sockctx *cx = zc__reg; cx; cx = cx->next) {
		/* the stack lock is shared: the parent, which holds it across
		 * fork, lets it go in zc__after_fork_parent */
		cx->nsleepers = cx->spinners = cx->inside = 0;
		cx->helper_on = false;
		zc__zc_after_fork_child(cx->zz);
		zc__procs_child(cx);
		/* a helper of its own: timers and the reaper go on in whichever
		 * process lives (nginx's master daemonises: its first process,
		 * the one with the first helper, exits). It starts at the
		 * child's first call into the stack: a child that only execs,
		 * or dies at once (a test's child that faults on purpose),
		 * never takes the shared lock, so never dies inside it */
		if (cx->helper_efd >= 0)
			close(cx->helper_efd); /* the parent's helper's */
		cx->helper_efd = cx->slot >= 0 ? zc_fd_high(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) : -1;
		cx->helper_later = cx->slot >= 0;
	}
	zc__wait_after_fork();
	pthread_mutex_init(&zc__reg_lk, NULL);
	zc_thread_inside--;
}
static void zc__init_once(void)
{
	zc__pid = getpid();
	pthread_atfork(zc__before_fork, zc__after_fork_parent, zc__after_fork_child);
	zc__wait_once();
}

/* --- the zero-copy policy by name ------------------------------------------------ */

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

#define ZC__REAP_WAKE_NS 100000000ull /* procs.c reaps this often */
#define ZC__SPIN_NS 50000ull           /* zc_sockctx_config.spin_ns 0 */
#define ZC__LINGER_NS 2000000000ull    /* zc_sockctx_config.linger_ns 0 */

static void *zc__helper(void *arg)
{
	struct zc_sockctx *cx = arg;
	zc_thread_inside = 1; /* signals are blocked: zc_thread_start */
	zc__lock(cx);
	while (!cx->stop) {
		zc__drive(cx);
		uint64_t now = zc__now();
		zc__procs_reap(cx, now);
		bool away = cx->inside == 0 && now - cx->last_app >= 1000000u;
		if (away && cx->pid == cx->shm->nic_owner && cx->shm->nic_sleepers == 0) {
			/* shared with other processes: wake for the reaper */
			zc__sleep(cx, cx->shm->nprocs > 1 || cx->shm->lent_check ? now + ZC__REAP_WAKE_NS : 0, NULL,
				  0, true, true);
		} else if (away) {
			/* one helper (the NIC owner's) waits on the NIC, and only
			 * while no other thread of the stack does (nginx's master,
			 * idle, woke at every packet its workers woke for, and took
			 * the lock from them); the others, and it meanwhile, on the
			 * next timer and the reaper, the owner's at most 10 ms away
			 * (the NIC's sleepers may all have left by then) */
			uint64_t t = zc_stack_next_timer(cx->st);
			uint64_t until = now + (cx->pid == cx->shm->nic_owner ? 10000000u : ZC__REAP_WAKE_NS);
			zc__sleep(cx, t > now && t < until ? t : until, NULL, 0, false, true);
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
	zc__unlock(cx);
	return NULL;
}

/* --- contexts --------------------------------------------------------------------- */

static void zc__drive_cb(void *arg) { zc__drive(arg); }

/* The kernel's default for IPV6_V6ONLY (net.ipv6.bindv6only; 0 if unread). */
static bool zc__bindv6only(void)
{
	FILE *f = fopen("/proc/sys/net/ipv6/bindv6only", "re");
	int v = 0;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v != 0;
}

/* Has the stack been shared with other processes? Then sends by reference
 * are off: the shared send buffer would point at one process's private
 * pages, which the process that drives the NIC cannot read (procs.c). */
static bool zc__shared(const struct zc_sockctx *cx)
{
	return cx->shm->nprocs > 1 || cx->shm->forks;
}

/* What each process has of its own: zero-copy bookkeeping, the helper
 * thread, the registry entry. 0, or -1 with a message. */
static int zc__sockctx_start(struct zc_sockctx *cx, int policy, bool helper)
{
	cx->zz = zc__zc_create(cx->nif->pool, cx->nif->rx_pool, policy, cx->nif->caps.rx_ref);
	if (cx->zz == NULL) {
		ZC_ERR("sockets: zero-copy set-up failed: %s", strerror(errno));
		return -1;
	}
	cx->cow = zc__cow_create(cx->lk, zc__drive_cb, cx);
	if (cx->cow == NULL)
		return -1;
	zc__cow_set_policy(cx->cow, zc__shared(cx) ? ZC_ZCOPY_NEVER : policy);
	cx->helper_efd = zc_fd_high(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
	if (helper) {
		if (cx->helper_efd < 0 || zc_thread_start(&cx->helper, zc__helper, cx) != 0) {
			ZC_ERR("sockets: cannot start the helper thread");
			return -1;
		}
		cx->helper_on = true;
	}
	pthread_mutex_lock(&zc__reg_lk);
	cx->next = zc__reg;
	zc__reg = cx;
	pthread_mutex_unlock(&zc__reg_lk);
	zc__ext_register(cx);
	return 0;
}

/* The zero-copy policy from ZCS_ZC (auto when unset); -1 when malformed. */
static int zc__env_policy(void)
{
	const char *e = getenv("ZCS_ZC");
	int policy = e && *e ? zc_zcopy_parse(e) : ZC_ZCOPY_AUTO;
	if (policy < 0)
		ZC_ERR("sockets: ZCS_ZC=%s: expected never, auto or always", e);
	return policy;
}

struct zc_sockctx *zc_sockctx_attach(int fd)
{
	pthread_once(&zc__once, zc__init_once);
	struct zc_sockctx *cx = calloc(1, sizeof(*cx));
	if (cx == NULL)
		return NULL;
	cx->helper_efd = -1;
	int r = zc_arena_attach(fd, &cx->arena);
	if (r == 0 && (r = zc_arena_remap(cx->arena)) != 0) {
		zc_arena_detach(cx->arena);
		cx->arena = NULL;
	}
	if (r != 0) {
		ZC_ERR("sockets: exec: cannot map the stack's shared memory again (fd %d): %s: "
		       "the stack's sockets are closed in this program",
		       fd, r == -EEXIST ? "its address is taken in this image" : strerror(-r));
		free(cx);
		errno = -r;
		return NULL;
	}
	cx->shm = zc_arena_get_root(cx->arena, ZC__ROOT_SHM);
	cx->lk = &cx->shm->lk;
	cx->pid = zc__pid = getpid();
	cx->bell_fd = -1;
	cx->fork_slot = -1;
	cx->spin_ns = ZC__SPIN_NS;
	cx->linger_ns = ZC__LINGER_NS;
	cx->bindv6only = zc__bindv6only();
	cx->bypass = &cx->shm->bypass;
	cx->st = cx->shm->st;
	cx->nif = cx->shm->nif;
	zc__lock(cx);
	r = zc__procs_attach(cx);
	zc__unlock(cx);
	if (r != 0) {
		ZC_ERR("sockets: exec: this process has no part of the stack to take back (%s): "
		       "its sockets are closed in this program",
		       r == -ENOEXEC ? "the library is another build or at another address" : strerror(-r));
		zc_arena_detach(cx->arena); /* its mappings stay: the others' addresses */
		free(cx);
		errno = -r;
		return NULL;
	}
	int policy = zc__env_policy();
	if (policy < 0)
		policy = ZC_ZCOPY_NEVER;
	if (zc__sockctx_start(cx, policy, true) != 0) {
		ZC_ERR("sockets: exec: the stack's sockets cannot be served in this program");
		free(cx); /* its part of the stack is let go by the reaper when it exits */
		return NULL;
	}
	ZC_INFO("sockets: exec: process %d took back its part of the stack, %u descriptors", (int)cx->pid, cx->nsocks);
	return cx;
}

/* The helper is stopped before an exec (it would die there, perhaps
 * holding the stack lock, with its work half done) and started again if
 * the exec fails. */
static void zc__helper_stop(struct zc_sockctx *cx)
{
	zc__lock(cx);
	cx->stop = true;
	zc__notify(cx);
	uint64_t one = 1;
	if (cx->helper_efd >= 0 && write(cx->helper_efd, &one, sizeof(one)) < 0)
		(void)0;
	zc__unlock(cx);
	if (cx->helper_on)
		pthread_join(cx->helper, NULL);
	cx->helper_on = false;
	cx->stop = false;
}

static void zc__helper_restart(struct zc_sockctx *cx)
{
	cx->helper_later = false;
	if (!cx->helper_on && cx->helper_efd >= 0 && zc_thread_start(&cx->helper, zc__helper, cx) == 0)
		cx->helper_on = true;
}

void zc__helper_later(struct zc_sockctx *cx)
{
	zc__helper_restart(cx);
	if (!cx->helper_on)
		ZC_WARN("sockets: process %d: no helper thread: timers run when it calls", (int)zc__pid);
}

bool zc__sockctx_exec_prepare(struct zc_sockctx *cx, const uint8_t *pass)
{
	bool had = cx->helper_on;
	zc__helper_stop(cx);
	zc__lock(cx);
	bool ok = zc__procs_exec_prepare(cx, pass);
	zc__unlock(cx);
	if (!ok && had)
		zc__helper_restart(cx);
	return ok;
}

void zc__sockctx_exec_failed(struct zc_sockctx *cx)
{
	zc__lock(cx);
	zc__procs_exec_failed(cx);
	zc__unlock(cx);
	zc__helper_restart(cx);
}

void zc__sockctx_hold(struct zc_sockctx *cx, unsigned ms, FILE *f)
{
	zc__lock(cx);
	fprintf(f, "holding the stack lock for %u ms in process %d\n", ms, (int)getpid());
	fflush(f);
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
	zc__unlock(cx);
	fprintf(f, "released\n");
}

pid_t zc__sockctx_pid(struct zc_sockctx *cx)
{
	return cx->pid;
}

int zc__sockctx_shm_fd(struct zc_sockctx *cx)
{
	return zc_arena_fd(cx->arena);
}

int zc__sockctx_fds(struct zc_sockctx *cx, void (*each)(int fd))
{
	int n = 0;
	zc__lock(cx);
	for (int fd = 0; fd < cx->tabcap; fd++)
		if (cx->tab[fd]) {
			each(fd);
			n++;
		}
	zc__unlock(cx);
	return n;
}

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
		if ((policy = zc__env_policy()) < 0) {
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
	cx->helper_efd = -1;
	int ar = zc_arena_create(0, &cx->arena);
	if (ar != 0) {
		ZC_ERR("sockets: no shared memory for the stack: %s", strerror(-ar));
		free(cx);
		errno = -ar;
		return NULL;
	}
	cx->shm = zc_arena_zalloc(cx->arena, sizeof(*cx->shm));
	if (cx->shm == NULL || zc__mutex_init(&cx->shm->lk) != 0) {
		zc_arena_destroy(cx->arena);
		free(cx);
		errno = ENOMEM;
		return NULL;
	}
	cx->lk = &cx->shm->lk;
	cx->pid = getpid();
	zc_arena_set_root(cx->arena, ZC__ROOT_SHM, cx->shm);
	zc__procs_init(cx);
	cx->spin_ns = cfg->spin_ns ? cfg->spin_ns : ZC__SPIN_NS;
	cx->linger_ns = cfg->linger_ns ? cfg->linger_ns : ZC__LINGER_NS;
	cx->bypass = &cx->shm->bypass;
	cx->bindv6only = zc__bindv6only();
	cx->nif = zc_nic_open_in(spec, cx->arena, &cx->shm->nic_shared);
	if (cx->nif == NULL)
		goto fail;
	uint64_t seed = cfg->seed;
	if (seed == 0 && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = zc__now() ^ (uint64_t)getpid() << 32;
	cx->st = zc_stack_create(&(struct zc_stack_config){
		.nif = cx->nif, .ip = ip, .prefix_len = plen, .gateway = gw, .seed = seed, .now = zc__now(),
		.arena = cx->arena });
	if (cx->st == NULL)
		goto fail;
	cx->shm->st = cx->st;
	cx->shm->nif = cx->nif;
	/* buffers that follow the application (tcp.h): 4 MiB a side made
	 * iperf3 -P 4 four times slower than windows of 256 KiB, the data no
	 * longer fitting the caches; a reader of 2 MiB frames gets 4 MiB */
	const char *ccname = getenv("ZCS_CC");
	int tr = zc_tcp_configure(cx->st, &(struct zc_tcp_config){ .autotune_min = ZC__AUTOTUNE_MIN,
								  .sndbuf = 8u << 20,
								  .rcvbuf = 8u << 20,
								  .cc = ccname && *ccname ? ccname : NULL });
	if (tr == -ENOENT)
		ZC_ERR("sockets: ZCS_CC=%s: expected cubic, newreno or reno", ccname);
	if (tr != 0)
		goto fail;
	if (zc__sockctx_start(cx, policy, !cfg->no_helper) != 0)
		goto fail;
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
	zc_arena_destroy(cx->arena);
	free(cx);
	errno = e;
	return NULL;
}

/* The socket itself goes (its descriptor numbers are closed by the caller). */
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
	zc__helper_stop(cx);
	if (cx->helper_efd >= 0)
		close(cx->helper_efd);
	zc__lock(cx);
	if (zc__procs_leave(cx)) {
		/* other processes go on with the stack: this one let go of its
		 * descriptors (the FINs of sockets that were only its own go
		 * now, and the others drive what is left) */
		zc__drive(cx);
		ZC_INFO("sockets: process %d leaves the stack to the %u others", (int)zc__pid, cx->shm->nprocs);
		zc__unlock(cx);
		return;
	}
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
	zc__unlock(cx);
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
	zc_arena_free(cx->arena, cx->tab);
	zc_arena_destroy(cx->arena); /* the stack's state and the lock with it */
	free(cx);
}

int zc_sockctx_set_zcopy(struct zc_sockctx *cx, int policy)
{
	if (policy < ZC_ZCOPY_NEVER || policy > ZC_ZCOPY_ALWAYS)
		return -EINVAL;
	zc__lock(cx);
	zc__zc_set_policy(cx->zz, policy);
	if (!zc__shared(cx))
		zc__cow_set_policy(cx->cow, policy);
	zc__unlock(cx);
	return 0;
}

void zc_sockctx_costs(const struct zc_sockctx *cx, struct zc_zcopy_costs out[2])
{
	zc__zc_costs(cx->zz, out);
}

void zc_sockctx_set_costs(struct zc_sockctx *cx, const struct zc_zcopy_costs in[2])
{
	zc__lock(cx);
	zc__zc_set_costs(cx->zz, in);
	zc__unlock(cx);
}

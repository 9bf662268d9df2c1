/*
 * preload.c - the LD_PRELOAD shim: unmodified programs on the stack.
 *
 * libzcpreload.so defines socket(), connect(), read(), poll(), ... and
 * sends AF_INET stream and datagram sockets to one socket-layer context
 * (socket.h), made at the first such socket() from the environment that
 * zcrun sets: ZCS_NIC, ZCS_IP, ZCS_GW, ZCS_ZC (ZCS_PCAP, ZCS_FAULTS and
 * ZCS_LOG as everywhere). Everything else goes to the C library untouched:
 * files, pipes, unix sockets, and sockets bound or connected to addresses
 * the stack does not reach (loopback, other subnets without a gateway),
 * which are given back to the kernel before their bind or connect (the
 * descriptor already is a kernel socket of the same type; options set
 * before are applied to it too).
 *
 * Which descriptors are the stack's is one byte per descriptor number,
 * read without a lock. Calls made by the socket layer itself (it reserves
 * descriptors with socket(), closes them, maps memory) pass straight
 * through: a thread-local flag is set around every call into it.
 *
 * The shim's files: this one starts it (the C library's functions, the
 * context, zcstat's window, the drain at exit); preload_calls.c the
 * socket, data and descriptor calls; preload_poll.c poll, select and epoll
 * over stack sockets and kernel fds together; preload_io.c the other ways
 * to read and write (fortified calls, pread and friends, sendmmsg,
 * recvmmsg, splice, sendfile, fdopen); preload_mem.c the memory
 * calls (munmap, mremap, madvise, mprotect, free, realloc) that must first
 * release sends by reference from the memory; preload_zcx.c the zero-copy
 * extensions (sockapi/zcx.h) on the shim's context; preload_priv.h what
 * they share.
 *
 * Nothing passes by silently: what the shim leaves to the kernel (another
 * family or type, a bind or connect off the stack, an ioctl it does not
 * have, a process without a stack) and what the socket layer refuses (an
 * option) is counted by reason in zc__bypass and told once per kind
 * (bypass.h); zcstat prints the counters.
 *
 * fork: the child cannot use the parent's sockets (EBADF and a log line).
 * exec: a stack descriptor is close-on-exec when the program asked
 * (SOCK_CLOEXEC, FD_CLOEXEC, ...), as the kernel's; one left open reaches
 * the new program as its unbound kernel placeholder, not the connection.
 * The new program starts a stack of its own if it opens sockets.
 */
#include "stack/fdhigh.h"
#include "sockapi/preload_priv.h"
#include "stack/log.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

struct zc__libc zc__real;

pthread_once_t zc__once = PTHREAD_ONCE_INIT;
static pthread_mutex_t zc__init_lk = PTHREAD_MUTEX_INITIALIZER;
struct zc_sockctx *zc__cx;
_Atomic int zc__state;
_Atomic uint8_t zc__is[ZC__MAXFD];
_Atomic uint8_t zc__ep_stack[ZC__MAXFD];
_Atomic uint16_t zc__ep_kernel[ZC__MAXFD];
/* pass-bys before the stack starts (or without one), then the stack's */
static struct zc_bypasses zc__bypass_early;
struct zc_bypasses *_Atomic zc__bypass = &zc__bypass_early;

void zc__resolve(void)
{
#define R(n) zc__real.n = dlsym(RTLD_NEXT, #n)
	R(socket); R(bind); R(listen); R(accept4); R(connect); R(close); R(read); R(write);
	R(readv); R(writev); R(recv); R(send); R(recvfrom); R(sendto); R(recvmsg); R(sendmsg);
	R(select); R(pselect); R(poll); R(ppoll); R(fcntl); R(ioctl); R(setsockopt); R(getsockopt);
	R(getsockname); R(getpeername); R(shutdown); R(sendfile); R(dup); R(dup2); R(dup3);
	R(pread); R(pread64); R(pwrite); R(pwrite64); R(preadv); R(preadv64); R(pwritev); R(pwritev64);
	R(preadv2); R(preadv64v2); R(pwritev2); R(pwritev64v2); R(sendmmsg); R(recvmmsg);
	R(splice); R(tee); R(vmsplice); R(fdopen);
	R(aio_read); R(aio_write); R(aio_read64); R(aio_write64); R(lio_listio); R(lio_listio64);
	R(munmap); R(mremap); R(madvise); R(mprotect);
	R(epoll_create); R(epoll_create1); R(epoll_ctl); R(epoll_wait); R(epoll_pwait); R(epoll_pwait2);
#undef R
	zc_log_init_env(); /* ZCS_LOG (zcrun -v sets it) */
}

static void zc__stat_start(void);
/* zcstat's connection, from accept to close, is served with this held,
 * and fork takes it first: a child must not inherit the connection (fork
 * copies every descriptor, close-on-exec or not), or zcstat waits for an
 * end of file that comes only when the child exits. nginx forked its
 * workers while the master's thread waited for the stack lock (which fork
 * holds) to dump: a worker kept the connection, tests/lib.sh's
 * wait_for_zc_listen waited in zcstat until nginx's `timeout 60` ended it,
 * and the curl that followed hung on a wire with nobody at the end. */
static pthread_mutex_t zc__stat_lk = PTHREAD_MUTEX_INITIALIZER;
static int zc__stat_l = -1; /* this process's zcstat socket */
static void zc__stat_before_fork(void) { pthread_mutex_lock(&zc__stat_lk); }
static void zc__stat_parent(void) { pthread_mutex_unlock(&zc__stat_lk); }
/* A forked child of the stack gets a zcstat socket of its own: the
 * parent's thread did not come along (nor is the parent's socket its own) */
static void zc__stat_after_fork(void)
{
	pthread_mutex_init(&zc__stat_lk, NULL);
	if (zc__stat_l >= 0)
		zc__real.close(zc__stat_l);
	zc__stat_l = -1;
	if (atomic_load(&zc__state) > 0)
		zc__stat_start();
}

/* zc__cx has just started (or attached): pass-bys count in the stack's
 * set from now on, and zcstat can reach this process (and its forks). */
static void zc__started(void)
{
	/* a pass-by counted by another thread in between stays in the early
	 * counts (no message is lost) */
	struct zc_bypasses *b = zc__sockctx_bypasses(zc__cx);
	atomic_store(&zc__bypass, b);
	zc_bypass_merge(b, &zc__bypass_early);
	zc__stat_start();
	/* after the context's own (registered first, so zc__pid is the
	 * child's by then) */
	pthread_atfork(zc__stat_before_fork, zc__stat_parent, zc__stat_after_fork);
}

/* The context, made on first use from the environment; NULL when off. */
struct zc_sockctx *zc__ctx(void)
{
	int st = atomic_load_explicit(&zc__state, memory_order_acquire);
	if (st)
		return st > 0 ? zc__cx : NULL;
	pthread_mutex_lock(&zc__init_lk);
	if (atomic_load(&zc__state) == 0) {
		const char *nic = getenv("ZCS_NIC"), *ip = getenv("ZCS_IP");
		if (nic == NULL || ip == NULL || !*nic || !*ip) {
			/* socket() tells it (bypass nostack), once, and counts each */
			atomic_store(&zc__state, -1);
		} else {
			zc__inside++;
			zc__cx = zc_sockctx_open(&(struct zc_sockctx_config){
				.nic = nic, .addr = ip, .gateway = getenv("ZCS_GW"), .zcopy = -1 });
			zc__inside--;
			if (zc__cx == NULL) {
				ZC_ERR("preload: the stack did not start (above): IPv4 sockets fail with ENETDOWN");
			} else {
				zc__started();
			}
			atomic_store(&zc__state, zc__cx ? 1 : -2);
		}
	}
	pthread_mutex_unlock(&zc__init_lk);
	return atomic_load(&zc__state) > 0 ? zc__cx : NULL;
}

/* zcstat's window: an abstract unix socket "zcstack-PID"; whoever connects
 * gets zc_sockctx_dump()'s text. */
static void *zc__stat_thread(void *arg)
{
	zc__inside = 1; /* the dump's own calls; signals are blocked (zc_thread_start) */
	int l = (int)(intptr_t)arg;
	for (;;) {
		/* wait unlocked (l is non-blocking), accept and serve locked:
		 * a fork meanwhile waits (zc__stat_lk) */
		struct pollfd lp = { .fd = l, .events = POLLIN };
		if (zc__real.poll(&lp, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		pthread_mutex_lock(&zc__stat_lk);
		int c = zc__real.accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			pthread_mutex_unlock(&zc__stat_lk);
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			break;
		}
		/* the request: "dump" (or nothing within a second), or "hold MS" */
		char req[64] = "";
		struct pollfd pf = { .fd = c, .events = POLLIN };
		if (zc__real.poll(&pf, 1, 1000) == 1) {
			ssize_t n = zc__real.read(c, req, sizeof(req) - 1);
			req[n > 0 ? n : 0] = 0;
		}
		FILE *f = fdopen(c, "w");
		if (f == NULL) {
			zc__real.close(c);
			pthread_mutex_unlock(&zc__stat_lk);
			continue;
		}
		unsigned ms;
		if (atomic_load(&zc__state) > 0 && sscanf(req, "hold %u", &ms) == 1 && ms <= 60000)
			zc__sockctx_hold(zc__cx, ms, f);
		else if (atomic_load(&zc__state) > 0)
			zc_sockctx_dump(zc__cx, f);
		fclose(f);
		pthread_mutex_unlock(&zc__stat_lk);
	}
	return NULL;
}

static void zc__stat_start(void)
{
	int l = zc_fd_high(zc__real.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "zcstack-%d", (int)getpid());
	pthread_t t;
	if (l < 0 || zc__real.bind(l, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0 ||
	    zc__real.listen(l, 4) != 0 || zc_thread_start(&t, zc__stat_thread, (void *)(intptr_t)l) != 0) {
		ZC_INFO("preload: no zcstat socket: %s", strerror(errno));
		if (l >= 0)
			zc__real.close(l);
		return;
	}
	zc__stat_l = l;
	pthread_detach(t);
}

static void zc__mark_on(int fd) { zc__mark(fd, true); }

/* An image exec'd by a process of a stack (preload_exec.c put ZCS_SHM=FD:PID
 * in its environment): the stack's sockets are there at the same numbers
 * from the program's first call, so the stack is attached now, before
 * main. A ZCS_SHM of another pid (a child that inherited the variable) is
 * not this process's to take. */
__attribute__((constructor)) static void zc__exec_attach(void)
{
	const char *e = getenv("ZCS_SHM");
	int fd, pid;
	if (e == NULL || *e == 0)
		return;
	int ok = sscanf(e, "%d:%d", &fd, &pid) == 2 && pid == (int)getpid();
	unsetenv("ZCS_SHM");
	if (!ok)
		return;
	zc__load();
	pthread_mutex_lock(&zc__init_lk);
	if (atomic_load(&zc__state) == 0) {
		zc__inside++;
		zc__cx = zc_sockctx_attach(fd);
		zc__inside--;
		if (zc__cx) {
			zc__sockctx_fds(zc__cx, zc__mark_on);
			zc__started();
		}
		/* without it, the port is still this pid's: no new stack */
		atomic_store(&zc__state, zc__cx ? 1 : -2);
	}
	pthread_mutex_unlock(&zc__init_lk);
}

/* At exit the sockets' data is still in this process: close the context,
 * which lets the connections drain (as the kernel would after exit). */
__attribute__((destructor)) static void zc__fini(void)
{
	if (atomic_load(&zc__state) > 0 && zc__cx) {
		ZC_INFO("preload: exit: letting the connections drain");
		atomic_store(&zc__state, -1);
		zc__inside++;
		zc_sockctx_close(zc__cx);
		zc__inside--;
		zc__cx = NULL;
	}
}

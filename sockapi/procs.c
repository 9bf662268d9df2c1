/*
 * procs.c - the processes of one stack (issue 15): fork, leaving, and the
 * dead.
 *
 * Every process of a stack has a slot in the shared part (struct zc__shm)
 * holding its pid and its descriptor table, which lives in the arena like
 * the sockets it points to. A socket counts its descriptors in every
 * process (zc__sock.nfds), so it closes (FIN) only when the last one in the
 * last process goes, as the kernel's open file descriptions do.
 *
 * fork: before it, with the stack lock held, the parent makes the child's
 * slot (PENDING) with a copy of its table and counts each socket in it once
 * more; the child takes the slot (LIVE) in its atfork handler. A fork that
 * failed leaves a PENDING slot that the reaper frees after a second.
 * Zero-copy by reference (copy-on-write sends, traded receive buffers) ends
 * at the first fork: a send by reference points the shared send buffer at
 * one process's private pages, which another process driving the stack
 * would read other bytes from. Traded buffers are made private before fork
 * (zerocopy.c), so no frame is lost to the child; after it every process
 * trades received pages into its own buffers, and the pool names each lent
 * frame's holder (its pid), so the frames of a process that is gone come
 * back (zc__take_back).
 *
 * Leaving: a process that exits through exit() lets go of its descriptors
 * (zc__procs_leave); the last one closes the stack. One that dies without
 * its destructors (SIGKILL, _exit) is found by the reaper, which runs in the
 * helper of any live process, by its pid no longer running (or a zombie):
 * its descriptors are let go for it.
 */
#include "stack/fdhigh.h"
#include "sockapi/cow.h"
#include "sockapi/socket_priv.h"
#include "sockapi/zerocopy.h"
#include "nic/trapeze.h"
#include "stack/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ZC__PENDING_NS 1000000000ull /* a fork not taken by then has failed */
#define ZC__REAP_NS 100000000ull

static void zc__bell_open(struct zc_sockctx *cx);

void zc__procs_init(struct zc_sockctx *cx)
{
	cx->slot = 0;
	cx->fork_slot = -1;
	cx->bell_fd = -1;
	cx->shm->id_pid = cx->pid;
	cx->shm->id_ns = zc__now();
	cx->shm->slot[0] = (struct zc__slot){ .state = ZC__SLOT_LIVE, .pid = cx->pid };
	cx->shm->nprocs = 1;
	cx->shm->nic_owner = cx->pid;
	cx->shm->max_procs = ZC__SLOTS;
	const char *m = getenv("ZCS_MAX_PROCS");
	if (m && *m) {
		char *end;
		unsigned long v = strtoul(m, &end, 10);
		if (*end || v < 1 || v > ZC__SLOTS)
			ZC_WARN("sockets: ZCS_MAX_PROCS=%s: expected 1..%d processes; %d it is", m, ZC__SLOTS,
				ZC__SLOTS);
		else
			cx->shm->max_procs = (unsigned)v;
	}
}

/* Drop one process's references: the descriptors of table t (the caller's
 * own: close the numbers too). */
static void zc__drop_tab(struct zc_sockctx *cx, struct zc__sock **t, int cap, bool own)
{
	for (int fd = 0; fd < cap; fd++) {
		struct zc__sock *s = t[fd];
		if (s == NULL)
			continue;
		t[fd] = NULL;
		if (own)
			close(fd);
		if (--s->nfds == 0) {
			if (own)
				cx->nsocks--;
			if (s->users) {
				s->closed = true;
				zc__notify(cx);
			} else {
				zc__sock_free(cx, s);
			}
		}
	}
}

/* The NIC's owner is a live process of the stack: the one that calls, if
 * the owner was slot i that is going. */
static void zc__hand_nic(struct zc_sockctx *cx, int i)
{
	pid_t gone = cx->shm->slot[i].pid;
	if (cx->shm->nic_owner != gone)
		return;
	pid_t to = 0;
	for (int j = 0; j < ZC__SLOTS && to == 0; j++)
		if (j != i && cx->shm->slot[j].state == ZC__SLOT_LIVE)
			to = cx->shm->slot[j].pid;
	if (to == 0)
		return;
	zc_trapeze_set_owner(cx->nif, to);
	cx->shm->nic_owner = to;
	ZC_INFO("sockets: the NIC %s is driven for process %d now", cx->nif->name, (int)to);
}

/* A process's threads are gone (it died, or exec'd): their sleeps on the
 * NIC's interrupt no longer count; the last one acknowledges it. */
static void zc__slot_unsleep(struct zc_sockctx *cx, struct zc__slot *sl)
{
	unsigned n = sl->nic_sleepers;
	sl->nic_sleepers = 0;
	sl->sleepers = 0;
	if (n == 0)
		return;
	cx->shm->nic_sleepers = cx->shm->nic_sleepers > n ? cx->shm->nic_sleepers - n : 0;
	if (cx->shm->nic_sleepers == 0)
		cx->nif->ops->irq_ack(cx->nif);
}

static void zc__slot_free(struct zc_sockctx *cx, int i, bool own)
{
	zc__hand_nic(cx, i);
	struct zc__slot *sl = &cx->shm->slot[i];
	if (!own)
		zc__slot_unsleep(cx, sl);
	if (sl->tab)
		zc__drop_tab(cx, sl->tab, sl->tabcap, own);
	zc_arena_free(cx->arena, sl->tab);
	*sl = (struct zc__slot){ .state = ZC__SLOT_FREE };
	cx->shm->nprocs--;
	cx->shm->lent_check = true; /* frames it holds come back once it is gone */
}

void zc__procs_before_fork(struct zc_sockctx *cx)
{
	cx->fork_slot = -1;
	int i = 0;
	while (i < ZC__SLOTS && cx->shm->slot[i].state != ZC__SLOT_FREE)
		i++;
	if (cx->shm->nprocs >= cx->shm->max_procs)
		i = ZC__SLOTS;
	if (!cx->shm->nic_shared) {
		if (!cx->shm->fork_warned)
			ZC_WARN("sockets: this NIC (%s) keeps its state in one process (DPDK, or a capture "
				"or fault layer): a forked child gets EBADF on the stack's sockets",
				cx->nif->name);
		cx->shm->fork_warned = true;
		return;
	}
	struct zc__sock **t = NULL;
	if (i < ZC__SLOTS && cx->tabcap)
		t = zc_arena_calloc(cx->arena, (size_t)cx->tabcap, sizeof(*t));
	if (i == ZC__SLOTS || (cx->tabcap && t == NULL)) {
		ZC_WARN("sockets: no room for another process of the stack (%u at most): "
			"the child gets EBADF on its sockets", cx->shm->max_procs);
		return;
	}
	for (int fd = 0; fd < cx->tabcap; fd++)
		if ((t[fd] = cx->tab[fd]) != NULL)
			t[fd]->nfds++;
	cx->shm->slot[i] = (struct zc__slot){ .state = ZC__SLOT_PENDING, .born = zc__now(), .tab = t,
					      .tabcap = cx->tabcap };
	cx->shm->nprocs++;
	cx->shm->forks++;
	cx->fork_slot = i;
	if (cx->bell_fd < 0)
		zc__bell_open(cx);
	if (cx->shm->forks == 1 && zc__cow_min(cx->cow) != SIZE_MAX)
		ZC_INFO("sockets: the stack is shared by processes from now on: sends by reference "
			"end (sends copy; receives still trade pages)");
	zc__cow_set_policy(cx->cow, ZC_ZCOPY_NEVER);
	zc__cow_flush(cx->cow);
}

void zc__procs_child(struct zc_sockctx *cx)
{
	int i = cx->fork_slot;
	cx->fork_slot = -1;
	if (i < 0) { /* no slot: the sockets are not this process's (cx->pid
		      * stays the parent's: zc__enter says so, EBADF) */
		cx->tab = NULL;
		cx->tabcap = 0;
		cx->slot = -1;
		return;
	}
	cx->pid = zc__pid;
	zc__bell_open(cx);
	struct zc__slot *sl = &cx->shm->slot[i];
	sl->pid = zc__pid;
	__atomic_store_n(&sl->state, ZC__SLOT_LIVE, __ATOMIC_RELEASE);
	cx->slot = i;
	cx->tab = sl->tab;
	cx->tabcap = sl->tabcap;
}

bool zc__procs_leave(struct zc_sockctx *cx)
{
	if (cx->slot < 0)
		return true; /* not a process of the stack: nothing of it to close */
	if (cx->shm->nprocs <= 1)
		return false;
	zc__slot_free(cx, cx->slot, true);
	cx->slot = -1;
	cx->tab = NULL;
	cx->tabcap = 0;
	return true;
}

static bool zc__pid_gone(pid_t pid)
{
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return true;
	char path[64], st = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return true;
	/* "pid (comm) S ...": comm may hold spaces and parentheses */
	char buf[512];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (p && p[1] == ' ')
		st = p[2];
	return st == 'Z' || st == 'X';
}

/* Is the holder of a lent frame gone? Not while a slot names it; else
 * when its pid has ended (a process that left the stack still maps its
 * frames until it exits). */
struct zc__holders {
	struct zc_sockctx *cx;
	bool waiting;   /* a holder left the stack but lives on */
	uint32_t last;  /* the last holder asked about, and the answer */
	bool last_gone;
};

static bool zc__holder_gone(uint32_t holder, void *arg)
{
	struct zc__holders *h = arg;
	if (holder == h->last)
		return h->last_gone;
	h->last = holder;
	h->last_gone = false;
	for (int i = 0; i < ZC__SLOTS; i++)
		if (h->cx->shm->slot[i].state != ZC__SLOT_FREE && (uint32_t)h->cx->shm->slot[i].pid == holder)
			return false;
	h->last_gone = zc__pid_gone((pid_t)holder);
	if (!h->last_gone)
		h->waiting = true;
	return h->last_gone;
}

/* Frames traded into the buffers of processes that are gone come back
 * (the mappings went with the process): after a slot is freed, until no
 * holder that left is alive. */
static void zc__take_back(struct zc_sockctx *cx)
{
	struct zc__holders h = { cx, false, 0, false };
	struct zc_pool *pools[2] = { cx->nif->pool, cx->nif->rx_pool };
	unsigned n = 0;
	for (int i = 0; i < 2; i++)
		if (pools[i] && (i == 0 || pools[1] != pools[0]))
			n += zc_pool_take_back(pools[i], zc__holder_gone, &h);
	cx->shm->lent_check = h.waiting;
	if (n) {
		cx->shm->lent_taken_back += n;
		ZC_INFO("sockets: %u frames traded to processes that are gone came back to the pool", n);
	}
}

void zc__procs_reap(struct zc_sockctx *cx, uint64_t now)
{
	if ((cx->shm->nprocs <= 1 && !cx->shm->lent_check) || now - cx->last_reap < ZC__REAP_NS)
		return;
	cx->last_reap = now;
	for (int i = 0; i < ZC__SLOTS; i++) {
		struct zc__slot *sl = &cx->shm->slot[i];
		if (i == cx->slot || sl->state == ZC__SLOT_FREE)
			continue;
		bool dead = sl->state == ZC__SLOT_PENDING ? now - sl->born > ZC__PENDING_NS : zc__pid_gone(sl->pid);
		if (!dead)
			continue;
		ZC_INFO("sockets: process %d of the stack is gone without closing its sockets: "
			"its descriptors are let go", (int)sl->pid);
		cx->shm->procs_reaped++;
		zc__slot_free(cx, i, false);
	}
	if (cx->shm->lent_check)
		zc__take_back(cx);
}

/* --- exec -------------------------------------------------------------------------- */

bool zc__procs_exec_prepare(struct zc_sockctx *cx, const uint8_t *pass)
{
	if (!cx->shm->nic_shared || cx->slot < 0)
		return false;
	struct zc__slot *sl = &cx->shm->slot[cx->slot];
	uint8_t *p = zc_arena_calloc(cx->arena, (size_t)(cx->tabcap ? cx->tabcap : 1), 1);
	if (p == NULL)
		return false;
	if (cx->tabcap)
		memcpy(p, pass, (size_t)cx->tabcap);
	zc_arena_free(cx->arena, sl->exec_pass);
	sl->exec_pass = p;
	/* the new image has none of this one's memory: buffers lent to it
	 * come back, sends by reference are copied into the stack */
	zc__zc_before_fork(cx->zz);
	zc__cow_flush(cx->cow);
	cx->shm->image = (uintptr_t)&zc__procs_exec_prepare;
	zc_arena_cloexec(cx->arena, 0);
	return true;
}

void zc__procs_exec_failed(struct zc_sockctx *cx)
{
	zc_arena_cloexec(cx->arena, 1);
	struct zc__slot *sl = &cx->shm->slot[cx->slot];
	zc_arena_free(cx->arena, sl->exec_pass);
	sl->exec_pass = NULL;
}

int zc__procs_attach(struct zc_sockctx *cx)
{
	pid_t me = getpid();
	int i = 0;
	while (i < ZC__SLOTS && !(cx->shm->slot[i].state == ZC__SLOT_LIVE && cx->shm->slot[i].pid == me &&
				  cx->shm->slot[i].exec_pass))
		i++;
	if (i == ZC__SLOTS)
		return -ENOENT;
	if (cx->shm->image != (uintptr_t)&zc__procs_exec_prepare)
		return -ENOEXEC; /* another build, or the library elsewhere */
	struct zc__slot *sl = &cx->shm->slot[i];
	uint8_t *pass = sl->exec_pass;
	sl->exec_pass = NULL;
	zc__slot_unsleep(cx, sl); /* the old image's threads are gone */
	sl->bell = 0;
	cx->slot = i;
	cx->tab = sl->tab;
	cx->tabcap = sl->tabcap;
	cx->nsocks = 0;
	for (int fd = 0; fd < cx->tabcap; fd++) {
		struct zc__sock *s = cx->tab[fd];
		if (s == NULL)
			continue;
		if (pass[fd]) {
			cx->nsocks++;
			continue;
		}
		/* close-on-exec: the kernel closed the number, the socket loses
		 * a descriptor (its last: it closes) */
		cx->tab[fd] = NULL;
		if (--s->nfds == 0)
			zc__sock_free(cx, s);
	}
	zc_arena_free(cx->arena, pass);
	cx->shm->execs++;
	zc_arena_cloexec(cx->arena, 1);
	if (cx->shm->nprocs > 1 || cx->shm->forks)
		zc__bell_open(cx);
	return 0;
}

/* --- doorbells ------------------------------------------------------------------ */

/* A sleeper's eventfd is its process's, so another process's progress
 * reaches it through the process's doorbell: an abstract unix datagram
 * socket named after the stack and the pid (no ptrace rights needed, as
 * pidfd_getfd would). One datagram at a time is on its way (slot->bell);
 * the woken sleeper clears the flag before it takes the datagrams, so a
 * ring after that sends again. */
static socklen_t zc__bell_name(const struct zc_sockctx *cx, pid_t pid, struct sockaddr_un *a)
{
	*a = (struct sockaddr_un){ .sun_family = AF_UNIX };
	int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "zcstack-bell-%d-%llu-%d",
			 (int)cx->shm->id_pid, (unsigned long long)cx->shm->id_ns, (int)pid);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static void zc__bell_open(struct zc_sockctx *cx)
{
	if (cx->bell_fd >= 0)
		close(cx->bell_fd); /* a fork child's copy of its parent's */
	cx->bell_fd = zc_fd_high(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	struct sockaddr_un a;
	socklen_t l = zc__bell_name(cx, zc__pid, &a);
	if (cx->bell_fd >= 0 && bind(cx->bell_fd, (struct sockaddr *)&a, l) != 0) {
		close(cx->bell_fd);
		cx->bell_fd = -1;
	}
	if (cx->bell_fd < 0)
		ZC_WARN("sockets: no doorbell for process %d (%s): its sleepers wake on their slice",
			(int)zc__pid, strerror(errno));
}

void zc__procs_ring(struct zc_sockctx *cx)
{
	for (int i = 0; i < ZC__SLOTS; i++) {
		struct zc__slot *sl = &cx->shm->slot[i];
		if (i == cx->slot || sl->state != ZC__SLOT_LIVE || sl->sleepers == 0 ||
		    __atomic_exchange_n(&sl->bell, 1, __ATOMIC_ACQ_REL))
			continue;
		struct sockaddr_un a;
		socklen_t l = zc__bell_name(cx, sl->pid, &a);
		int fd = cx->bell_fd;
		if (fd < 0 || sendto(fd, "", 1, MSG_DONTWAIT, (struct sockaddr *)&a, l) < 0)
			__atomic_store_n(&sl->bell, 0, __ATOMIC_RELEASE); /* try again next time */
		else
			cx->shm->bells++;
	}
}

void zc__procs_bell_drain(struct zc_sockctx *cx)
{
	__atomic_store_n(&cx->shm->slot[cx->slot].bell, 0, __ATOMIC_RELEASE);
	char b[16];
	while (recv(cx->bell_fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		;
}

/*
 * cow.c - sends by copy-on-write with userfaultfd write protection (see cow.h).
 *
 * State: a hash of the pages this context protected (page address ->
 * flags), and a list of "blocks": one per send by reference, with the
 * shared info its segments count on. A block is freed by its free callback
 * when the last segment on it goes (the stack calls it with the lock held).
 */
#include "stack/fdhigh.h"
#include "sockapi/cow.h"
#include "sockapi/socket.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/tcp.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#define ZC__PG_REG 0x1u   /* registered with our userfaultfd */
#define ZC__PG_PROT 0x2u  /* write-protected now */
#define ZC__PG_HOT 0x4u   /* written while a send referenced it (auto stops) */
/* auto sends by reference from this many pages (1 MiB): zc_bench, 2026-11-30,
 * copy vs copy-on-write throughput 64 KiB 0.58-0.79x, 256 KiB 0.93-1.02x,
 * 1 MiB 1.03-1.10x (16 pages had won on the machine of 2026-11-25) */
#define ZC__COW_AUTO_PAGES 256u

struct zc__cow_block {
	struct zc_ext_shinfo sh;
	uintptr_t start;
	size_t len;
	struct zc_tcp_sock *tcp;
	struct zc__cow *cow;
	struct zc__cow_block *next, *prev;
};

struct zc__pg {
	uintptr_t page; /* 0: empty slot */
	uint32_t flags;
};

struct zc__cow {
	int uffd;
	int stop_efd;
	pthread_t thr;
	bool thr_on;
	struct zc__mutex *lk;
	void (*drive)(void *);
	void *arg;
	int policy;
	uintptr_t page;
	struct zc__pg *pg;      /* open addressing, power-of-two size */
	size_t pgcap, pgn;
	uintptr_t lo, hi;       /* bounds of all registered pages */
	_Atomic uintptr_t alo, ahi; /* the same, for lock-free readers */
	struct zc__cow_block *blocks;
	struct zc_zstats tot;
	bool warned;
};

/* --- the page table ------------------------------------------------------------ */

static size_t zc__h(uintptr_t p, size_t cap) { return (size_t)((p >> 12) * 0x9e3779b97f4a7c15ull) & (cap - 1); }

static struct zc__pg *zc__pg_find(struct zc__cow *c, uintptr_t p)
{
	if (c->pgcap == 0 || p < c->lo || p >= c->hi)
		return NULL;
	for (size_t i = zc__h(p, c->pgcap);; i = (i + 1) & (c->pgcap - 1)) {
		if (c->pg[i].page == p)
			return &c->pg[i];
		if (c->pg[i].page == 0)
			return NULL;
	}
}

static struct zc__pg *zc__pg_add(struct zc__cow *c, uintptr_t p)
{
	struct zc__pg *e = zc__pg_find(c, p);
	if (e)
		return e;
	if ((c->pgn + 1) * 2 > c->pgcap) {
		size_t ncap = c->pgcap ? c->pgcap * 2 : 1024;
		struct zc__pg *n = calloc(ncap, sizeof(*n));
		if (n == NULL)
			return NULL;
		for (size_t i = 0; i < c->pgcap; i++) {
			if (c->pg[i].page == 0)
				continue;
			size_t j = zc__h(c->pg[i].page, ncap);
			while (n[j].page)
				j = (j + 1) & (ncap - 1);
			n[j] = c->pg[i];
		}
		free(c->pg);
		c->pg = n;
		c->pgcap = ncap;
	}
	size_t j = zc__h(p, c->pgcap);
	while (c->pg[j].page)
		j = (j + 1) & (c->pgcap - 1);
	c->pg[j] = (struct zc__pg){ p, 0 };
	c->pgn++;
	if (c->lo == 0 || p < c->lo)
		c->lo = p;
	if (p + c->page > c->hi)
		c->hi = p + c->page;
	atomic_store(&c->alo, c->lo);
	atomic_store(&c->ahi, c->hi);
	return &c->pg[j];
}

/* Remove pages [a, b) from the table (their mapping went away). */
static void zc__pg_drop(struct zc__cow *c, uintptr_t a, uintptr_t b)
{
	if (c->pgcap == 0 || b <= c->lo || a >= c->hi)
		return;
	/* rebuild without them: rare (unmaps), simple */
	struct zc__pg *old = c->pg;
	size_t cap = c->pgcap;
	c->pg = calloc(cap, sizeof(*c->pg));
	if (c->pg == NULL) {
		c->pg = old;
		for (size_t i = 0; i < cap; i++)
			if (old[i].page >= a && old[i].page < b)
				old[i].flags = 0; /* forgotten in place: not registered, not protected */
		return;
	}
	c->pgn = 0;
	for (size_t i = 0; i < cap; i++) {
		if (old[i].page == 0 || (old[i].page >= a && old[i].page < b))
			continue;
		size_t j = zc__h(old[i].page, cap);
		while (c->pg[j].page)
			j = (j + 1) & (cap - 1);
		c->pg[j] = old[i];
		c->pgn++;
	}
	free(old);
}

/* --- protection ------------------------------------------------------------------ */

static int zc__wp(struct zc__cow *c, uintptr_t a, size_t len, bool on)
{
	struct uffdio_writeprotect w = { .range = { a, len }, .mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0 };
	return ioctl(c->uffd, UFFDIO_WRITEPROTECT, &w) == 0 ? 0 : -errno;
}

static int zc__register(struct zc__cow *c, uintptr_t a, size_t len)
{
	struct uffdio_register r = { .range = { a, len }, .mode = UFFDIO_REGISTER_MODE_WP };
	return ioctl(c->uffd, UFFDIO_REGISTER, &r) == 0 ? 0 : -errno;
}

static void zc__block_free(void *addr, void *arg)
{
	(void)addr;
	struct zc__cow_block *b = arg;
	struct zc__cow *c = b->cow;
	if (b->prev)
		b->prev->next = b->next;
	else
		c->blocks = b->next;
	if (b->next)
		b->next->prev = b->prev;
	free(b);
}

static bool zc__overlaps(const struct zc__cow_block *b, uintptr_t a, uintptr_t e)
{
	return b->start < e && a < b->start + b->len;
}

/*
 * Deferred copies of every send on [a, e), then wait (driving the stack)
 * until no packet holds those bytes. Lock held. Returns bytes copied.
 */
static size_t zc__materialize(struct zc__cow *c, uintptr_t a, uintptr_t e)
{
	size_t copied = 0;
	for (int round = 0; round < 20000; round++) {
		bool left = false;
		for (struct zc__cow_block *b = c->blocks, *n; b; b = n) {
			n = b->next;
			if (!zc__overlaps(b, a, e))
				continue;
			if (b->tcp) {
				struct zc_tcp_sock *t = b->tcp;
				b->tcp = NULL; /* segments left after this are the NIC's */
				ssize_t r = zc_tcp_unref_ext(t, &b->sh);
				if (r < 0) {
					b->tcp = t; /* out of frames: try again after a poll */
					left = true;
					continue;
				}
				copied += (size_t)r;
				/* b may be gone now (its last segment freed) */
				left = true;
				break;
			}
			left = true;
		}
		if (!left)
			break;
		/* packets handed to the NIC may still hold the bytes */
		bool busy = false;
		for (struct zc__cow_block *b = c->blocks; b; b = b->next)
			if (zc__overlaps(b, a, e))
				busy = true;
		if (!busy)
			break;
		c->drive(c->arg);
		if (round > 100) {
			zc__mutex_unlock(c->lk);
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
			zc__mutex_lock(c->lk);
		}
	}
	return copied;
}

/* Lift the protection of [a, e) where we set it; forget pages if asked. */
static void zc__unprotect(struct zc__cow *c, uintptr_t a, uintptr_t e, bool hot)
{
	uintptr_t run = 0;
	for (uintptr_t p = a; p <= e; p += c->page) {
		struct zc__pg *g = p < e ? zc__pg_find(c, p) : NULL;
		bool prot = g && (g->flags & ZC__PG_PROT);
		if (prot) {
			g->flags &= ~ZC__PG_PROT;
			if (hot)
				g->flags |= ZC__PG_HOT;
			if (run == 0)
				run = p;
			continue;
		}
		if (run) {
			zc__wp(c, run, p - run, false);
			run = 0;
		}
	}
}

void zc__cow_release(struct zc__cow *c, const void *addr, size_t len, bool forget)
{
	if (c == NULL || c->pgn == 0)
		return;
	uintptr_t a = (uintptr_t)addr & ~(c->page - 1);
	uintptr_t e = ((uintptr_t)addr + len + c->page - 1) & ~(c->page - 1);
	if (e <= c->lo || a >= c->hi)
		return;
	bool any = false;
	for (uintptr_t p = a; p < e && !any; p += c->page) {
		struct zc__pg *g = zc__pg_find(c, p);
		any = g && (g->flags & ZC__PG_PROT);
	}
	if (any) {
		size_t n = zc__materialize(c, a, e);
		if (n) {
			c->tot.deferred_copies++;
			c->tot.deferred_bytes += n;
		}
		zc__unprotect(c, a, e, false);
	}
	/* the memory may leave now: the next send from here registers and
	 * protects afresh */
	if (forget)
		zc__pg_drop(c, a, e);
}

/* --- the fault handler ------------------------------------------------------------- */

static void zc__on_fault(struct zc__cow *c, uintptr_t addr)
{
	uintptr_t p = addr & ~(c->page - 1);
	zc__mutex_lock(c->lk);
	size_t n = zc__materialize(c, p, p + c->page);
	c->tot.deferred_copies++;
	c->tot.deferred_bytes += n;
	struct zc__pg *g = zc__pg_find(c, p);
	if (g) {
		g->flags &= ~ZC__PG_PROT;
		g->flags |= ZC__PG_HOT;
	}
	/* lifting the protection wakes the writer */
	if (zc__wp(c, p, c->page, false) != 0) {
		struct uffdio_range r = { p, c->page };
		ioctl(c->uffd, UFFDIO_WAKE, &r);
	}
	zc__mutex_unlock(c->lk);
}

static void *zc__handler(void *arg)
{
	zc_thread_inside = 1; /* signals are blocked: zc_thread_start */
	struct zc__cow *c = arg;
	for (;;) {
		struct pollfd p[2] = { { .fd = c->uffd, .events = POLLIN }, { .fd = c->stop_efd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		struct uffd_msg m[16];
		ssize_t r = read(c->uffd, m, sizeof(m));
		if (r <= 0)
			continue;
		for (size_t i = 0; i < (size_t)r / sizeof(m[0]); i++) {
			switch (m[i].event) {
			case UFFD_EVENT_PAGEFAULT:
				zc__on_fault(c, (uintptr_t)m[i].arg.pagefault.address);
				break;
			default:
				break;
			}
		}
	}
	return NULL;
}

/* --- set-up -------------------------------------------------------------------------- */

static int zc__uffd_open(uint64_t features, uint64_t *got)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	if (ioctl(fd, UFFDIO_API, &api) != 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	*got = api.features;
	return fd;
}

struct zc__cow *zc__cow_create(struct zc__mutex *lk, void (*drive)(void *), void *arg)
{
	struct zc__cow *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->lk = lk;
	c->drive = drive;
	c->arg = arg;
	c->policy = ZC_ZCOPY_AUTO;
	c->page = (uintptr_t)sysconf(_SC_PAGESIZE);
	c->stop_efd = -1;
	/* No REMOVE/UNMAP/REMAP events: the kernel reports them once under
	 * way, too late to act on, and handling them late races with new
	 * sends; zc__cow_release() before the call is the rule instead. */
	uint64_t want = UFFD_FEATURE_PAGEFAULT_FLAG_WP, got = 0;
	c->uffd = zc__uffd_open(want | UFFD_FEATURE_WP_UNPOPULATED, &got);
	if (c->uffd < 0)
		c->uffd = zc__uffd_open(want, &got);
	if (c->uffd < 0) {
		ZC_INFO("cow: userfaultfd with write protection is unavailable (%s): sends are copied",
			strerror(-c->uffd));
		return c;
	}
	c->stop_efd = zc_fd_high(eventfd(0, EFD_CLOEXEC));
	if (c->stop_efd < 0 || zc_thread_start(&c->thr, zc__handler, c) != 0) {
		ZC_WARN("cow: no handler thread: sends are copied");
		close(c->uffd);
		c->uffd = -1;
		return c;
	}
	c->thr_on = true;
	return c;
}

void zc__cow_destroy(struct zc__cow *c)
{
	if (c == NULL)
		return;
	if (c->thr_on) {
		uint64_t one = 1;
		if (write(c->stop_efd, &one, sizeof(one)) < 0)
			(void)0;
		pthread_join(c->thr, NULL);
	}
	/* the sockets are gone: no block is left. Protection ends with the uffd. */
	if (c->uffd >= 0)
		close(c->uffd);
	if (c->stop_efd >= 0)
		close(c->stop_efd);
	free(c->pg);
	free(c);
}

void zc__cow_set_policy(struct zc__cow *c, int policy) { c->policy = policy; }

void zc__cow_flush(struct zc__cow *c)
{
	if (c && c->blocks)
		zc__materialize(c, 0, UINTPTR_MAX);
}

bool zc__cow_may_reference(const struct zc__cow *c, const void *addr, size_t len)
{
	if (c == NULL)
		return false;
	uintptr_t a = (uintptr_t)addr;
	return a < atomic_load((_Atomic uintptr_t *)&c->ahi) && a + len > atomic_load((_Atomic uintptr_t *)&c->alo);
}

size_t zc__cow_min(const struct zc__cow *c)
{
	if (c == NULL || c->uffd < 0 || c->policy == ZC_ZCOPY_NEVER)
		return SIZE_MAX;
	return c->policy == ZC_ZCOPY_AUTO ? ZC__COW_AUTO_PAGES * c->page : c->page;
}

void zc__cow_totals(const struct zc__cow *c, struct zc_zstats *out)
{
	out->deferred_copies += c->tot.deferred_copies;
	out->deferred_bytes += c->tot.deferred_bytes;
}

/* --- sending ----------------------------------------------------------------------------- */

/* The caller (send.c) has asked whether the pages are private anonymous
 * memory (zc__zc_private_anon, through vma.c's PROCMAP_QUERY). */
ssize_t zc__cow_send(struct zc__cow *c, struct zc_tcp_sock *t, const uint8_t *buf, size_t len,
		     struct zc_zstats *st)
{
	if (c == NULL || c->uffd < 0 || c->policy == ZC_ZCOPY_NEVER || ((uintptr_t)buf & (c->page - 1)))
		return 0;
	/* auto: a send by reference costs a mapping query, a block and the
	 * bookkeeping of its pages, and on the Trapeze wire the transmit DMA
	 * still copies the pages on this core (the peer cannot read them);
	 * zc_bench measured it slower than a copy below 1 MiB (ZC__COW_AUTO_PAGES),
	 * so auto copies smaller runs */
	size_t minimum = zc__cow_min(c);
	size_t want = len & ~(c->page - 1);
	if (want < minimum)
		return 0;
	size_t n = want;
	uint32_t room = zc_tcp_send_room(t) & ~(uint32_t)(c->page - 1);
	if (n > room)
		n = room;
	if (n < want && want - n < minimum) /* leave a rest that still qualifies */
		n = want - minimum;
	if (n < minimum) { /* wait for room rather than copy, if it can come */
		if ((zc_tcp_send_limit(t) & ~(uint32_t)(c->page - 1)) < minimum)
			return 0;
		int w = zc_tcp_writable(t);
		return w == 0 || w == -EAGAIN ? -EAGAIN : 0;
	}
	uintptr_t a = (uintptr_t)buf, e = a + n;
	/* auto: pages the application rewrites are not worth protecting */
	if (c->policy == ZC_ZCOPY_AUTO)
		for (uintptr_t p = a; p < e; p += c->page) {
			struct zc__pg *g = zc__pg_find(c, p);
			if (g && (g->flags & ZC__PG_HOT))
				return 0;
		}
	/* register what is not yet, then protect what is not yet */
	uintptr_t run = 0;
	for (uintptr_t p = a; p <= e; p += c->page) {
		struct zc__pg *g = p < e ? zc__pg_find(c, p) : NULL;
		if (p < e && !(g && (g->flags & ZC__PG_REG))) {
			if (run == 0)
				run = p;
			continue;
		}
		if (run) {
			int r = zc__register(c, run, p - run);
			if (r) {
				if (!c->warned)
					ZC_INFO("cow: cannot write-protect %p (%s): such sends are copied",
						(void *)run, strerror(-r));
				c->warned = true;
				return 0;
			}
			for (uintptr_t q = run; q < p; q += c->page) {
				struct zc__pg *h = zc__pg_add(c, q);
				if (h == NULL)
					return 0;
				h->flags |= ZC__PG_REG;
			}
			run = 0;
		}
	}
	run = 0;
	for (uintptr_t p = a; p <= e; p += c->page) {
		struct zc__pg *g = p < e ? zc__pg_find(c, p) : NULL;
		if (g && !(g->flags & ZC__PG_PROT)) {
			if (run == 0)
				run = p;
			continue;
		}
		if (run) {
			if (zc__wp(c, run, p - run, true) != 0)
				return 0;
			for (uintptr_t q = run; q < p; q += c->page)
				zc__pg_find(c, q)->flags |= ZC__PG_PROT;
			run = 0;
		}
	}
	struct zc__cow_block *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return 0;
	b->sh.free_cb = zc__block_free;
	b->sh.arg = b;
	b->start = a;
	b->len = n;
	b->tcp = t;
	b->cow = c;
	b->next = c->blocks;
	if (c->blocks)
		c->blocks->prev = b;
	c->blocks = b;
	ssize_t r = zc_tcp_send_ext(t, (void *)buf, n, &b->sh);
	if (r <= 0) {
		zc__block_free(NULL, b);
		return r == -EAGAIN ? -EAGAIN : 0;
	}
	st->bytes_cow += (size_t)r;
	return r;
}

/*
 * arena.c - the shared-memory arena: a memfd mapped MAP_SHARED at one
 * address in every process, with a header, a page map and an allocator
 * inside it (all of its state is in the mapping; this file has none).
 *
 * Place in the design (issue 15): later stages allocate the stack's state
 * here, so that forked children and exec'd images share one stack. Nothing
 * uses it yet.
 *
 * Layout of the mapping, in pages:
 *   0        struct zc_arena: identity, layout, lock, free lists, counters, roots
 *   1        struct zc__arena_local: an anonymous private page over the shared
 *            one, so each process has its own fd number at the same address
 *   2..      the page map: one struct zc__arena_page per data page
 *   data..   the allocatable pages
 *
 * Data pages are handed out as runs (first page's map entry says LARGE and
 * the length) or as 64 KiB slab chunks of one size class (every page of the
 * chunk says SLAB and the class). Free runs sit on singly linked lists by
 * length (runs[n], and runs[0] for long ones, first fit), linked through
 * their map entries so that freed memory is never touched; the untouched
 * rest is above `top`. Slab blocks of a class sit on one LIFO list linked
 * through their first word, the class's current chunk is carved by a bump
 * pointer; chunks stay with their class.
 *
 * A death while holding the lock: every update of the lists is ordered
 * (ZC__ORDER) so that each intermediate state is consistent: a block is
 * first taken off a list, then handed out; first linked, then published.
 * A death between the two steps leaks that block (and counters may be off
 * by that one operation); no block can be handed out twice.
 */
#include "stack/fdhigh.h"
#include "stack/arena.h"
#include "stack/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000 /* Linux 4.17; older kernels take it as a hint */
#endif

#define ZC__ARENA_MAGIC 0x616e657261637a7aull /* "zzcarena" */
#define ZC__ARENA_VERSION 2u
/* High in the 47-bit user space, far below the stack and the kernel's mmap
 * base, so an exec'd image almost always finds it free. */
#define ZC__ARENA_HINT ((uintptr_t)0x7e0000000000ull)
#define ZC__ARENA_CHUNK (64u << 10)
#define ZC__VSPACE_GAP (1ull << 30) /* zc_arena_map's addresses start this far past the arena */
#define ZC__VSPACE_TRIES 64
#define ZC__ARENA_NCLASS 9u /* 16 B .. 4 KiB */
#define ZC__ARENA_RUN_LISTS 64u
#define ZC__ARENA_PUNCH_MIN (64u << 10) /* freed runs this long go back to the OS */
#define ZC__NONE UINT32_MAX

_Static_assert((16u << (ZC__ARENA_NCLASS - 1)) == ZC_ARENA_SLAB_MAX, "classes end at SLAB_MAX");

/* Keeps the order of stores that a dead lock holder may leave half done. */
#define ZC__ORDER() __atomic_thread_fence(__ATOMIC_RELEASE)

enum { ZC__PG_NONE = 0, ZC__PG_FREE, ZC__PG_LARGE, ZC__PG_SLAB };

/* One per data page. Run heads: kind FREE or LARGE and npages; free heads
 * also next (page index of the next run on the same list). Slab pages:
 * kind SLAB and cls. Other entries are stale and never read. */
struct zc__arena_page {
	uint8_t kind;
	uint8_t cls;
	uint16_t spare;
	uint32_t npages;
	uint32_t next;
};

/* What zc_arena_attach reads with pread before it maps anything. */
struct zc__arena_id {
	uint64_t magic;
	uint32_t version;
	uint32_t page_size;
	uint64_t base; /* the mapping's address in every process */
	uint64_t size; /* bytes reserved: the memfd's length */
	uint32_t header_size; /* sizeof(struct zc_arena): the same layout */
	uint32_t spare;
};

struct zc__arena_local {
	int fd;
	pid_t pid;
};

/* A size class: bump + end carve the current chunk; end is NULL while it
 * changes (bump + size > end then reads as empty). */
struct zc__arena_class {
	void *free;
	char *bump;
	char *end;
};

/* A mapping of another file that lives at the same address in every
 * process of the arena (zc_arena_map); len 0: a free entry. */
struct zc__arena_map {
	uint64_t addr, len;
	int64_t off;
	int32_t fd, prot;
};

struct zc_arena {
	struct zc__arena_id id;
	/* layout, fixed at creation */
	uint32_t page_shift;
	uint32_t chunk_pages;
	uint32_t npages; /* data pages */
	uint32_t spare;
	struct zc__arena_page *pagemap;
	char *data;
	struct zc__arena_local *local;
	pthread_mutex_t lock; /* process-shared, robust: guards all below */
	uint32_t top; /* data pages [top, npages) were never carved (or came back) */
	uint32_t runs[ZC__ARENA_RUN_LISTS];
	struct zc__arena_class cls[ZC__ARENA_NCLASS];
	uint64_t fail_countdown;
	struct zc_arena_stats st;
	void *roots[ZC_ARENA_ROOTS];
	uint64_t vnext; /* where the next zc_arena_map goes */
	struct zc__arena_map maps[ZC_ARENA_MAPS];
	int32_t fds[ZC_ARENA_FDS]; /* zc_arena_keep_fd's; -1: free */
};

/* --- helpers --------------------------------------------------------------- */

static unsigned zc__class_of(size_t size)
{
	if (size <= 16)
		return 0;
	return (unsigned)(64 - __builtin_clzll((unsigned long long)size - 1)) - 4;
}

static size_t zc__class_size(unsigned c)
{
	return (size_t)16 << c;
}

static char *zc__page_addr(const struct zc_arena *a, uint32_t idx)
{
	return a->data + ((size_t)idx << a->page_shift);
}

static uint32_t zc__page_of(const struct zc_arena *a, const void *p)
{
	return (uint32_t)(((const char *)p - a->data) >> a->page_shift);
}

static size_t zc__data_bytes(const struct zc_arena *a)
{
	return (size_t)a->npages << a->page_shift;
}

static __attribute__((noreturn)) void zc__bad_free(const void *p, const char *why)
{
	ZC_ERR("arena: free(%p): %s", p, why);
	abort();
}

static void zc__account(struct zc_arena *a, size_t got)
{
	a->st.allocs++;
	a->st.bytes_in_use += got;
	if (a->st.bytes_in_use > a->st.bytes_peak)
		a->st.bytes_peak = a->st.bytes_in_use;
}

/* --- lock ------------------------------------------------------------------ */

int zc_arena_lock(struct zc_arena *a)
{
	int r = pthread_mutex_lock(&a->lock);
	if (r == EOWNERDEAD) {
		/* the lists are consistent by construction (see the top of the file) */
		pthread_mutex_consistent(&a->lock);
		a->st.lock_recoveries++;
		ZC_WARN("arena: a process died holding the lock; recovered");
		return 0;
	}
	return -r;
}

void zc_arena_unlock(struct zc_arena *a)
{
	pthread_mutex_unlock(&a->lock);
}

/* --- page runs (under the lock) --------------------------------------------- */

/* Put the run headed at idx (npages set) on its free list, or below top. */
static void zc__run_give(struct zc_arena *a, uint32_t idx)
{
	struct zc__arena_page *pg = &a->pagemap[idx];
	if (idx + pg->npages == a->top) {
		pg->kind = ZC__PG_NONE;
		ZC__ORDER();
		a->top = idx;
		return;
	}
	unsigned l = pg->npages < ZC__ARENA_RUN_LISTS ? pg->npages : 0;
	pg->kind = ZC__PG_FREE;
	pg->next = a->runs[l];
	ZC__ORDER();
	a->runs[l] = idx;
}

/* A run of n pages with its head's npages set (the caller sets kind), or
 * ZC__NONE. Exact lists, then longer short runs, then long runs first fit
 * (split; the rest goes back), then fresh pages above top. */
static uint32_t zc__run_take(struct zc_arena *a, uint32_t n)
{
	struct zc__arena_page *pm = a->pagemap;
	uint32_t idx = ZC__NONE;
	for (unsigned l = n; l < ZC__ARENA_RUN_LISTS && idx == ZC__NONE; l++) {
		idx = a->runs[l];
		if (idx != ZC__NONE)
			a->runs[l] = pm[idx].next;
	}
	if (idx == ZC__NONE) {
		uint32_t *link = &a->runs[0];
		while (*link != ZC__NONE && pm[*link].npages < n)
			link = &pm[*link].next;
		idx = *link;
		if (idx != ZC__NONE)
			*link = pm[idx].next;
	}
	if (idx != ZC__NONE) {
		uint32_t have = pm[idx].npages;
		if (have > n) {
			pm[idx].npages = n;
			ZC__ORDER();
			pm[idx + n].npages = have - n;
			zc__run_give(a, idx + n);
		}
		return idx;
	}
	if (a->npages - a->top < n)
		return ZC__NONE;
	idx = a->top;
	pm[idx].npages = n;
	ZC__ORDER();
	a->top = idx + n;
	return idx;
}

/* --- slab classes (under the lock) ------------------------------------------ */

static void *zc__slab_alloc(struct zc_arena *a, unsigned c)
{
	struct zc__arena_class *k = &a->cls[c];
	size_t sz = zc__class_size(c);
	void *p = k->free;
	if (p != NULL) {
		k->free = *(void **)p;
		return p;
	}
	if (k->end == NULL || (size_t)(k->end - k->bump) < sz) {
		uint32_t idx = zc__run_take(a, a->chunk_pages);
		if (idx == ZC__NONE)
			return NULL;
		for (uint32_t i = 0; i < a->chunk_pages; i++) {
			a->pagemap[idx + i].kind = ZC__PG_SLAB;
			a->pagemap[idx + i].cls = (uint8_t)c;
		}
		/* the rest of the old chunk (less than one block) stays unused */
		ZC__ORDER();
		k->end = NULL;
		ZC__ORDER();
		k->bump = zc__page_addr(a, idx);
		ZC__ORDER();
		k->end = k->bump + ((size_t)a->chunk_pages << a->page_shift);
		ZC__ORDER();
	}
	p = k->bump;
	k->bump += sz;
	return p;
}

/* --- allocation -------------------------------------------------------------- */

static bool zc__inject(struct zc_arena *a)
{
	if (a->fail_countdown == 0 || --a->fail_countdown != 0)
		return false;
	a->st.injected++;
	return true;
}

void *zc_arena_alloc(struct zc_arena *a, size_t size)
{
	void *p = NULL;
	size_t got = 0;
	if (zc_arena_lock(a) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	if (zc__inject(a) || size > zc__data_bytes(a))
		goto out;
	if (size <= ZC_ARENA_SLAB_MAX) {
		unsigned c = zc__class_of(size);
		p = zc__slab_alloc(a, c);
		got = zc__class_size(c);
	} else {
		uint32_t n = (uint32_t)((size + ((size_t)1 << a->page_shift) - 1) >> a->page_shift);
		uint32_t idx = zc__run_take(a, n);
		if (idx != ZC__NONE) {
			a->pagemap[idx].kind = ZC__PG_LARGE;
			p = zc__page_addr(a, idx);
			got = (size_t)n << a->page_shift;
		}
	}
out:
	if (p != NULL)
		zc__account(a, got);
	else
		a->st.failures++;
	zc_arena_unlock(a);
	if (p == NULL)
		errno = ENOMEM;
	return p;
}

void *zc_arena_zalloc(struct zc_arena *a, size_t size)
{
	void *p = zc_arena_alloc(a, size);
	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void *zc_arena_calloc(struct zc_arena *a, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return zc_arena_zalloc(a, total);
}

int zc_arena_owns(const struct zc_arena *a, const void *p)
{
	const char *c = p;
	return c >= a->data && c < a->data + zc__data_bytes(a);
}

size_t zc_arena_usable(const struct zc_arena *a, const void *p)
{
	if (p == NULL || !zc_arena_owns(a, p))
		return 0;
	const struct zc__arena_page *pg = &a->pagemap[zc__page_of(a, p)];
	if (pg->kind == ZC__PG_SLAB)
		return zc__class_size(pg->cls);
	if (pg->kind == ZC__PG_LARGE)
		return (size_t)pg->npages << a->page_shift;
	return 0;
}

/* The caller owns a live block: its map entries change only under its own
 * free, so reading them before the lock is safe. */
void zc_arena_free(struct zc_arena *a, void *p)
{
	if (p == NULL)
		return;
	if (!zc_arena_owns(a, p))
		zc__bad_free(p, "not in the arena");
	uint32_t idx = zc__page_of(a, p);
	struct zc__arena_page *pg = &a->pagemap[idx];
	if (pg->kind == ZC__PG_SLAB) {
		struct zc__arena_class *k = &a->cls[pg->cls];
		size_t sz = zc__class_size(pg->cls);
		if ((size_t)((char *)p - a->data) % sz != 0)
			zc__bad_free(p, "not the start of a block");
		zc_arena_lock(a);
		*(void **)p = k->free;
		ZC__ORDER();
		k->free = p;
		a->st.frees++;
		a->st.bytes_in_use -= sz;
		zc_arena_unlock(a);
		return;
	}
	if (pg->kind != ZC__PG_LARGE || p != zc__page_addr(a, idx))
		zc__bad_free(p, pg->kind == ZC__PG_FREE ? "double free" : "not the start of a block");
	size_t len = (size_t)pg->npages << a->page_shift;
	if (len >= ZC__ARENA_PUNCH_MIN)
		madvise(p, len, MADV_REMOVE); /* still ours: no one can reuse it yet */
	zc_arena_lock(a);
	zc__run_give(a, idx);
	a->st.frees++;
	a->st.bytes_in_use -= len;
	zc_arena_unlock(a);
}

/* A page run resized in place: shrink by giving the tail back, grow when the
 * run ends at top. Returns false when it cannot. */
static bool zc__run_resize(struct zc_arena *a, uint32_t idx, size_t size)
{
	struct zc__arena_page *pg = &a->pagemap[idx];
	uint32_t have = pg->npages;
	uint32_t n = (uint32_t)((size + ((size_t)1 << a->page_shift) - 1) >> a->page_shift);
	if (n == have)
		return true;
	if (n < have) {
		size_t tail = (size_t)(have - n) << a->page_shift;
		if (tail >= ZC__ARENA_PUNCH_MIN)
			madvise(zc__page_addr(a, idx + n), tail, MADV_REMOVE);
		zc_arena_lock(a);
		pg->npages = n;
		ZC__ORDER();
		a->pagemap[idx + n].npages = have - n;
		zc__run_give(a, idx + n);
		a->st.bytes_in_use -= tail;
		zc_arena_unlock(a);
		return true;
	}
	bool ok = false;
	zc_arena_lock(a);
	if (idx + have == a->top && a->npages - a->top >= n - have) {
		/* top first: a death in between leaks the pages, never shares them */
		a->top = idx + n;
		ZC__ORDER();
		pg->npages = n;
		a->st.bytes_in_use += (size_t)(n - have) << a->page_shift;
		if (a->st.bytes_in_use > a->st.bytes_peak)
			a->st.bytes_peak = a->st.bytes_in_use;
		ok = true;
	}
	zc_arena_unlock(a);
	return ok;
}

void *zc_arena_realloc(struct zc_arena *a, void *p, size_t size)
{
	if (p == NULL)
		return zc_arena_alloc(a, size);
	if (size == 0) {
		zc_arena_free(a, p);
		return NULL;
	}
	size_t have = zc_arena_usable(a, p);
	if (have == 0)
		zc__bad_free(p, "realloc of a pointer that is not a block");
	if (have <= ZC_ARENA_SLAB_MAX) {
		if (size <= ZC_ARENA_SLAB_MAX && zc__class_size(zc__class_of(size)) == have)
			return p;
	} else if (size > ZC_ARENA_SLAB_MAX && size <= zc__data_bytes(a) &&
		   zc__run_resize(a, zc__page_of(a, p), size)) {
		return p;
	}
	void *q = zc_arena_alloc(a, size);
	if (q == NULL)
		return size <= have ? p : NULL;
	memcpy(q, p, size < have ? size : have);
	zc_arena_free(a, p);
	return q;
}

/* --- mappings and descriptors that follow the arena --------------------------- */

void *zc_arena_map(struct zc_arena *a, size_t len, size_t align, int prot, int fd, off_t off)
{
	const uint64_t page = 1ull << a->page_shift;
	if (len == 0 || align < page || (align & (align - 1)) || off % (off_t)page) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	len = (len + page - 1) & ~(page - 1);
	if (zc_arena_lock(a) < 0) {
		errno = EDEADLK;
		return MAP_FAILED;
	}
	int slot = -1;
	for (unsigned i = 0; i < ZC_ARENA_MAPS && slot < 0; i++)
		if (a->maps[i].len == 0)
			slot = (int)i;
	void *m = MAP_FAILED;
	int err = ENOSPC;
	for (int t = 0; slot >= 0 && t < ZC__VSPACE_TRIES; t++) {
		uint64_t at = (a->vnext + align - 1) & ~(uint64_t)(align - 1);
		a->vnext = at + len;
		m = mmap((void *)(uintptr_t)at, len, prot, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, off);
		if (m != MAP_FAILED && m != (void *)(uintptr_t)at) {
			munmap(m, len); /* a kernel that took the flag as a hint */
			m = MAP_FAILED;
			errno = EEXIST;
		}
		if (m != MAP_FAILED) {
			a->maps[slot] = (struct zc__arena_map){ .addr = at, .len = len, .off = off, .fd = fd,
								.prot = prot };
			break;
		}
		err = errno;
		if (err != EEXIST)
			break; /* something else went wrong: no point in moving on */
		if (t + 1 == ZC__VSPACE_TRIES / 2) {
			/* a crowded neighbourhood (an arena away from the hint):
			 * where the kernel likes; an exec'd image may not get it */
			m = mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (m == MAP_FAILED)
				break;
			munmap(m, len + align);
			a->vnext = (uintptr_t)m;
			m = MAP_FAILED;
		}
	}
	zc_arena_unlock(a);
	if (m == MAP_FAILED)
		errno = err;
	return m;
}

void zc_arena_unmap(struct zc_arena *a, void *addr)
{
	if (zc_arena_lock(a) < 0)
		return;
	for (unsigned i = 0; i < ZC_ARENA_MAPS; i++)
		if (a->maps[i].len && a->maps[i].addr == (uintptr_t)addr) {
			munmap(addr, a->maps[i].len);
			a->maps[i] = (struct zc__arena_map){ 0 };
			break;
		}
	zc_arena_unlock(a);
}

int zc_arena_keep_fd(struct zc_arena *a, int fd, int keep)
{
	int r = -ENOSPC;
	if (zc_arena_lock(a) < 0)
		return -EDEADLK;
	for (unsigned i = 0; i < ZC_ARENA_FDS; i++)
		if (keep ? a->fds[i] < 0 : a->fds[i] == fd) {
			a->fds[i] = keep ? fd : -1;
			r = 0;
			break;
		}
	zc_arena_unlock(a);
	return keep ? r : 0;
}

/* Every descriptor the arena's processes need: its own, the mapped files',
 * the kept ones; fn(fd, arg) for each (a file mapped twice, twice). */
static void zc__arena_each_fd(struct zc_arena *a, void (*fn)(int fd, int on), int on)
{
	fn(a->local->fd, on);
	for (unsigned i = 0; i < ZC_ARENA_MAPS; i++)
		if (a->maps[i].len)
			fn(a->maps[i].fd, on);
	for (unsigned i = 0; i < ZC_ARENA_FDS; i++)
		if (a->fds[i] >= 0)
			fn(a->fds[i], on);
}

static void zc__set_cloexec(int fd, int on)
{
	int f = fcntl(fd, F_GETFD);
	if (f >= 0)
		fcntl(fd, F_SETFD, on ? f | FD_CLOEXEC : f & ~FD_CLOEXEC);
}

void zc_arena_cloexec(struct zc_arena *a, int on)
{
	zc__arena_each_fd(a, zc__set_cloexec, on);
}

int zc_arena_remap(struct zc_arena *a)
{
	for (unsigned i = 0; i < ZC_ARENA_MAPS; i++) {
		struct zc__arena_map *e = &a->maps[i];
		if (e->len == 0)
			continue;
		void *want = (void *)(uintptr_t)e->addr;
		void *m = mmap(want, e->len, e->prot, MAP_SHARED | MAP_FIXED_NOREPLACE, e->fd, e->off);
		if (m == want)
			continue;
		int err = m == MAP_FAILED ? errno : EEXIST;
		if (m != MAP_FAILED)
			munmap(m, e->len);
		for (unsigned j = 0; j < i; j++) /* undo: this process does not use the arena */
			if (a->maps[j].len)
				munmap((void *)(uintptr_t)a->maps[j].addr, a->maps[j].len);
		return -err;
	}
	return 0;
}

/* --- roots, counters, failure injection ----------------------------------- */

int zc_arena_set_root(struct zc_arena *a, unsigned i, void *p)
{
	if (i >= ZC_ARENA_ROOTS)
		return -EINVAL;
	__atomic_store_n(&a->roots[i], p, __ATOMIC_RELEASE);
	return 0;
}

void *zc_arena_get_root(const struct zc_arena *a, unsigned i)
{
	if (i >= ZC_ARENA_ROOTS)
		return NULL;
	return __atomic_load_n(&a->roots[i], __ATOMIC_ACQUIRE);
}

void zc_arena_stats(struct zc_arena *a, struct zc_arena_stats *out)
{
	zc_arena_lock(a);
	*out = a->st;
	out->reserved = a->id.size;
	out->data_bytes = zc__data_bytes(a);
	out->top_bytes = (uint64_t)a->top << a->page_shift;
	zc_arena_unlock(a);
}

void zc_arena_fail_nth(struct zc_arena *a, uint64_t n)
{
	zc_arena_lock(a);
	a->fail_countdown = n;
	zc_arena_unlock(a);
}

/* --- create, attach, detach -------------------------------------------------- */

size_t zc_arena_default_size(void)
{
	const char *s = getenv("ZCS_ARENA_MB");
	if (s != NULL && *s != '\0') {
		char *end;
		errno = 0;
		unsigned long long mb = strtoull(s, &end, 10);
		if (errno == 0 && *end == '\0' && mb > 0 && mb <= (SIZE_MAX >> 20))
			return (size_t)mb << 20;
		ZC_WARN("arena: ZCS_ARENA_MB=%s is not a size in MiB; using %u", s, ZC_ARENA_DEFAULT_MB);
	}
	return (size_t)ZC_ARENA_DEFAULT_MB << 20;
}

/* Give this process its own page 1 (fd number, pid) over the shared one. */
static int zc__map_local(void *base, size_t page, int fd)
{
	void *l = mmap((char *)base + page, page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (l == MAP_FAILED)
		return -errno;
	struct zc__arena_local *loc = l;
	loc->fd = fd;
	loc->pid = getpid();
	return 0;
}

int zc_arena_create(size_t size, struct zc_arena **out)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (out == NULL || page < 4096 || (page & (page - 1)) != 0)
		return -EINVAL;
	if (size == 0)
		size = zc_arena_default_size();
	if (size < ZC_ARENA_MIN_SIZE)
		size = ZC_ARENA_MIN_SIZE;
	if (size > SIZE_MAX - page || (size + page - 1) / page >= ZC__NONE)
		return -EINVAL;
	size = (size + page - 1) & ~(page - 1);

	int err;
	int fd = zc_fd_high(memfd_create("zcstack-arena", MFD_CLOEXEC));
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) != 0) {
		err = -errno;
		goto fail_fd;
	}
	const int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED | MAP_NORESERVE;
	void *m = mmap((void *)ZC__ARENA_HINT, size, prot, flags | MAP_FIXED_NOREPLACE, fd, 0);
	if (m != MAP_FAILED && m != (void *)ZC__ARENA_HINT) {
		munmap(m, size); /* a kernel that took the flag as a hint */
		m = MAP_FAILED;
	}
	if (m == MAP_FAILED)
		m = mmap(NULL, size, prot, flags, fd, 0);
	if (m == MAP_FAILED) {
		err = -errno;
		goto fail_fd;
	}
	err = zc__map_local(m, page, fd);
	if (err)
		goto fail_map;

	struct zc_arena *a = m;
	a->page_shift = (uint32_t)__builtin_ctzll(page);
	uint64_t total = size / page, entry = sizeof(struct zc__arena_page);
	uint64_t n = (total - 2) * page / (page + entry);
	while (2 + (n * entry + page - 1) / page + n > total)
		n--;
	a->npages = (uint32_t)n;
	a->chunk_pages = ZC__ARENA_CHUNK > page ? (uint32_t)(ZC__ARENA_CHUNK / page) : 1;
	a->local = (struct zc__arena_local *)((char *)m + page);
	a->pagemap = (struct zc__arena_page *)((char *)m + 2 * page);
	a->data = (char *)m + (2 + (n * entry + page - 1) / page) * page;
	for (unsigned i = 0; i < ZC__ARENA_RUN_LISTS; i++)
		a->runs[i] = ZC__NONE;

	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	int r = pthread_mutex_init(&a->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (r != 0) {
		err = -r;
		goto fail_map;
	}
	a->vnext = ((uintptr_t)m + size + ZC__VSPACE_GAP + ZC__VSPACE_GAP - 1) & ~(uint64_t)(ZC__VSPACE_GAP - 1);
	for (unsigned i = 0; i < ZC_ARENA_FDS; i++)
		a->fds[i] = -1;
	a->id.version = ZC__ARENA_VERSION;
	a->id.page_size = (uint32_t)page;
	a->id.base = (uintptr_t)m;
	a->id.size = size;
	a->id.header_size = sizeof(struct zc_arena);
	ZC__ORDER();
	a->id.magic = ZC__ARENA_MAGIC; /* last: a header with a magic is complete */
	*out = a;
	return 0;

fail_map:
	munmap(m, size);
fail_fd:
	close(fd);
	return err;
}

int zc_arena_attach(int fd, struct zc_arena **out)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct zc__arena_id id;
	struct stat st;
	if (out == NULL)
		return -EINVAL;
	ssize_t r = pread(fd, &id, sizeof(id), 0);
	if (r < 0)
		return -errno;
	if (r != (ssize_t)sizeof(id) || id.magic != ZC__ARENA_MAGIC || id.version != ZC__ARENA_VERSION ||
	    id.page_size != page || id.header_size != sizeof(struct zc_arena) || id.base % page != 0 ||
	    id.size < ZC_ARENA_MIN_SIZE || id.size % page != 0 || id.base + id.size < id.base)
		return -EINVAL;
	if (fstat(fd, &st) != 0)
		return -errno;
	if ((uint64_t)st.st_size < id.size)
		return -EINVAL;

	void *want = (void *)(uintptr_t)id.base;
	void *m = mmap(want, id.size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE | MAP_FIXED_NOREPLACE, fd, 0);
	if (m == MAP_FAILED)
		return -errno; /* EEXIST: something lives there, and stays */
	if (m != want) {
		/* a kernel without MAP_FIXED_NOREPLACE mapped elsewhere */
		munmap(m, id.size);
		return -EEXIST;
	}
	int err = zc__map_local(m, page, fd);
	if (err) {
		munmap(m, id.size);
		return err;
	}
	*out = m;
	return 0;
}

int zc_arena_fd(const struct zc_arena *a)
{
	return a->local->fd;
}

void zc_arena_detach(struct zc_arena *a)
{
	if (a == NULL)
		return;
	int fd = a->local->fd;
	munmap(a, a->id.size); /* the private page 1 too */
	close(fd);
}

void zc_arena_destroy(struct zc_arena *a)
{
	zc_arena_detach(a);
}

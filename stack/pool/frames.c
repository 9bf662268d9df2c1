/*
 * frames.c - the pool's page frames: the shared file (a memfd the pool makes,
 * or a caller's file such as a Trapeze wire) mapped once, with 2 MiB pages
 * when asked (shmem THP, then hugetlb, else 4 KiB frames and a log line);
 * creating and destroying a pool, its counters, and raw frame allocation for
 * drivers (alloc/put, address and file offset of a frame).
 *
 * Place in the data path: a driver takes frames here for receive buffers and
 * mbuf.c takes them for payload; every frame comes back through
 * zc_pool_frame_put when its last reference goes. Trading and lending (a
 * frame leaving the pool or a user holding it) are lending.c; the
 * fault-injection hook armed here is asked by every allocation.
 */
#include "stack/fdhigh.h"
#include "stack/pool/pool_priv.h"
#include "stack/arena.h"
#include "stack/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21u << 26) /* linux/memfd.h: MFD_HUGE_SHIFT 26 */
#endif

/* Sanity bounds on a configuration, not limits of the design: 2^26 frames
 * are 256 GiB of 4 KiB frames; 2^24 headers are about 6 GiB of mbufs. */
#define ZC__POOL_MAX_FRAMES (1u << 26)
#define ZC__POOL_MAX_MBUFS (1u << 24)
/* nmbufs = 0 gives 4 * nframes + 64 headers, the default pool.h documents:
 * more headers than frames, as inline heads, clones and references need
 * headers of their own. */
#define ZC__POOL_MBUFS_PER_FRAME 4u
#define ZC__POOL_MBUFS_SPARE 64u

/* The pool's bookkeeping: in its arena, else the heap. */
static void *zc__pool_calloc(struct zc_pool *p, size_t n, size_t size)
{
	return p->arena ? zc_arena_calloc(p->arena, n, size) : calloc(n, size);
}
static void zc__pool_free(struct zc_pool *p, void *x)
{
	struct zc_arena *a = p->arena; /* p may be x */
	if (a)
		zc_arena_free(a, x);
	else
		free(x);
}

/* --- huge page detection -------------------------------------------------- */

static bool zc__shmem_thp_allowed(void)
{
	char buf[128] = { 0 };
	int fd = open("/sys/kernel/mm/transparent_hugepage/shmem_enabled", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	return strstr(buf, "[always]") || strstr(buf, "[within_size]") || strstr(buf, "[advise]") ||
	       strstr(buf, "[force]");
}

/* Does the mapping at addr have PMD-mapped (2 MiB) shmem pages? */
static bool zc__mapping_is_huge(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	if (f == NULL)
		return false;
	char line[256];
	bool in = false, huge = false;
	unsigned long want = (unsigned long)addr;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			if (in)
				break;
			in = (lo == want);
			continue;
		}
		unsigned long kb;
		if (in && (sscanf(line, "ShmemPmdMapped: %lu kB", &kb) == 1 ||
			   sscanf(line, "FilePmdMapped: %lu kB", &kb) == 1) && kb > 0)
			huge = true;
	}
	fclose(f);
	return huge;
}

/* Map len bytes of fd at off, aligned to align. A pool in an arena maps
 * where the arena says, so that an exec'd image finds it at the address. */
static int zc__map(struct zc_pool *p, size_t len, size_t align)
{
	void *raw, *m;
	size_t raw_len = len;
	if (p->arena) {
		raw = m = zc_arena_map(p->arena, len, align, PROT_READ | PROT_WRITE, p->fd, (off_t)p->offset);
		if (m == MAP_FAILED)
			return -errno;
	} else {
		raw_len = len + (align > 4096 ? align : 0);
		raw = mmap(NULL, raw_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (raw == MAP_FAILED)
			return -errno;
		uintptr_t a = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
		m = mmap((void *)a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, p->fd, (off_t)p->offset);
		if (m == MAP_FAILED) {
			int e = errno;
			munmap(raw, raw_len);
			return -e;
		}
	}
	p->map_raw = raw;
	p->map_raw_len = raw_len;
	p->base = m;
	p->map_len = len;
	return 0;
}

static void zc__unmap(struct zc_pool *p)
{
	if (p->map_raw && p->arena)
		zc_arena_unmap(p->arena, p->map_raw);
	else if (p->map_raw)
		munmap(p->map_raw, p->map_raw_len);
	p->map_raw = NULL;
	p->base = NULL;
}

/* Try THP shmem, then hugetlb. Returns 0 with p mapped, or -errno. */
static int zc__setup_huge(struct zc_pool *p, uint32_t nframes)
{
	size_t len = (size_t)nframes * ZC_HUGE_FRAME;
	if (zc__shmem_thp_allowed()) {
		p->fd = zc_fd_high(memfd_create(p->name, MFD_CLOEXEC));
		if (p->fd >= 0 && ftruncate(p->fd, (off_t)len) == 0 && zc__map(p, len, ZC_HUGE_FRAME) == 0) {
			madvise(p->base, len, MADV_HUGEPAGE);
			p->base[0] = 0; /* first touch allocates the first frame */
			if (zc__mapping_is_huge(p->base)) {
				p->huge = ZC__HUGE_THP;
				return 0;
			}
			zc__unmap(p);
		}
		if (p->fd >= 0)
			close(p->fd);
		p->fd = -1;
	}
	p->fd = zc_fd_high(memfd_create(p->name, MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB));
	if (p->fd >= 0) {
		if (ftruncate(p->fd, (off_t)len) == 0 && zc__map(p, len, ZC_HUGE_FRAME) == 0) {
			/* hugetlb faults SIGBUS when the reserve is short: fallocate reserves now */
			if (fallocate(p->fd, 0, 0, (off_t)len) == 0) {
				p->huge = ZC__HUGE_HUGETLB;
				return 0;
			}
			zc__unmap(p);
		}
		close(p->fd);
		p->fd = -1;
	}
	return -ENOTSUP;
}

/* --- create / destroy ----------------------------------------------------- */

struct zc_pool *zc_pool_create(const struct zc_pool_config *cfg)
{
	const uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	if (cfg == NULL || cfg->nframes == 0 || cfg->nframes > ZC__POOL_MAX_FRAMES ||
	    (cfg->fd >= 0 && (cfg->offset % page) != 0) ||
	    (cfg->own_count && (uint64_t)cfg->own_first + cfg->own_count > cfg->nframes) ||
	    (cfg->fd >= 0 && cfg->huge)) {
		ZC_ERR("pool: invalid configuration");
		errno = EINVAL;
		return NULL;
	}
	struct zc_pool *p = cfg->arena ? zc_arena_zalloc(cfg->arena, sizeof(*p)) : calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->arena = cfg->arena;
	snprintf(p->name, sizeof(p->name), "zc-pool-%s", cfg->name ? cfg->name : "anon");
	p->fd = -1;
	uint32_t nframes = cfg->nframes;
	int err = 0;

	if (cfg->fd >= 0) {
		p->fd = cfg->fd;
		p->offset = cfg->offset;
		p->frame_size = page;
		err = zc__map(p, (size_t)nframes * page, page);
	} else {
		p->own_fd = true;
		if (cfg->huge && zc__setup_huge(p, nframes) == 0) {
			p->frame_size = ZC_HUGE_FRAME;
		} else {
			if (cfg->huge) {
				ZC_WARN("pool %s: 2 MiB frames unavailable (no shmem THP and no free hugetlb "
					"pages); using 4 KiB frames",
					p->name);
				nframes = (uint32_t)((uint64_t)nframes * (ZC_HUGE_FRAME / page));
			}
			p->frame_size = page;
			p->fd = zc_fd_high(memfd_create(p->name, MFD_CLOEXEC));
			if (p->fd < 0 || ftruncate(p->fd, (off_t)nframes * page) != 0)
				err = -errno;
			else
				err = zc__map(p, (size_t)nframes * page, page);
		}
	}
	if (err) {
		ZC_ERR("pool %s: cannot map %u frames: %s", p->name, nframes, strerror(-err));
		goto fail;
	}
	p->nframes = nframes;
	p->frames = zc__pool_calloc(p, nframes, sizeof(*p->frames));
	p->free_stack = zc__pool_calloc(p, nframes, sizeof(*p->free_stack));
	uint32_t nm = cfg->nmbufs ? cfg->nmbufs : ZC__POOL_MBUFS_PER_FRAME * nframes + ZC__POOL_MBUFS_SPARE;
	if (nm > ZC__POOL_MAX_MBUFS)
		nm = ZC__POOL_MAX_MBUFS;
	/* an arena's blocks of 64 B and up are aligned to 64 (page runs, or
	 * power-of-two slabs in page-aligned chunks) */
	p->mbufs = p->arena ? zc_arena_alloc(p->arena, (size_t)nm * sizeof(struct zc_mbuf))
			    : aligned_alloc(64, (size_t)nm * sizeof(struct zc_mbuf));
	if (p->frames == NULL || p->free_stack == NULL || p->mbufs == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	p->nmbufs = nm;
	for (uint32_t i = nm; i-- > 0;) {
		struct zc_mbuf *m = &p->mbufs[i];
		memset(m, 0, offsetof(struct zc_mbuf, inline_buf));
		m->pool = p;
		m->next = p->mfree;
		p->mfree = m;
	}
	p->nmfree = nm;
	uint32_t first = cfg->own_count ? cfg->own_first : 0;
	uint32_t count = cfg->own_count ? cfg->own_count : nframes;
	if (cfg->own_map) {
		first = 0;
		count = nframes;
	}
	p->owned = 0;
	for (uint32_t i = first + count; i-- > first;) {
		if (cfg->own_map && !(cfg->own_map[i / 64] >> (i % 64) & 1))
			continue;
		p->frames[i].state = ZC__F_FREE;
		p->free_stack[p->nfree++] = i;
		p->owned++;
	}
	if (p->huge)
		ZC_INFO("pool %s: %u frames of 2 MiB (%s)", p->name, nframes,
			p->huge == ZC__HUGE_THP ? "shmem THP" : "hugetlb");
	return p;
fail:
	zc__unmap(p);
	if (p->own_fd && p->fd >= 0)
		close(p->fd);
	zc__pool_free(p, p->frames);
	zc__pool_free(p, p->free_stack);
	zc__pool_free(p, p->mbufs);
	zc__pool_free(p, p);
	errno = -err;
	return NULL;
}

unsigned zc_pool_destroy(struct zc_pool *pool)
{
	if (pool == NULL)
		return 0;
	unsigned mb = pool->nmbufs - pool->nmfree;
	pool->leaked += pool->in_flight;
	if (pool->in_flight || mb)
		ZC_WARN("pool %s: destroyed with %u frames and %u mbufs leaked", pool->name,
			pool->in_flight, mb);
	unsigned out = pool->in_flight + mb;
	zc__unmap(pool);
	if (pool->own_fd && pool->fd >= 0)
		close(pool->fd);
	zc__pool_free(pool, pool->frames);
	zc__pool_free(pool, pool->free_stack);
	zc__pool_free(pool, pool->mbufs);
	zc__pool_free(pool, pool);
	return out;
}

void zc_pool_get_stats(const struct zc_pool *p, struct zc_pool_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->frame_size = p->frame_size;
	st->frames_total = p->nframes;
	st->frames_owned = p->owned;
	st->frames_free = p->nfree;
	st->frames_in_flight = p->in_flight;
	st->frames_lent = p->lent;
	st->frames_lost = p->lost;
	st->frames_leaked = p->leaked;
	st->mbufs_total = p->nmbufs;
	st->mbufs_free = p->nmfree;
	st->alloc_failures = p->alloc_failures;
	st->injected_failures = p->injected_failures;
	st->alloc_calls = p->alloc_calls;
	st->frames_given = p->given;
	st->frames_adopted = p->adopted;
	st->frames_taken_back = p->taken_back;
}

unsigned zc_pool_outstanding(const struct zc_pool *p)
{
	return p->in_flight + (p->nmbufs - p->nmfree);
}

uint32_t zc_pool_frame_size(const struct zc_pool *p) { return p->frame_size; }
int zc_pool_fd(const struct zc_pool *p) { return p->fd; }

uint8_t *zc_pool_frame_addr(const struct zc_pool *p, uint32_t frame)
{
	return p->base + (size_t)frame * p->frame_size;
}

uint64_t zc_pool_frame_offset(const struct zc_pool *p, uint32_t frame)
{
	return p->offset + (uint64_t)frame * p->frame_size;
}

bool zc_pool_owns(const struct zc_pool *p, uint32_t frame)
{
	return frame < p->nframes && p->frames[frame].state != ZC__F_FOREIGN &&
	       p->frames[frame].state != ZC__F_LOST;
}

/* --- fault injection: asked by every allocation (zc__fail_now) ------------- */

void zc_pool_fail_nth(struct zc_pool *pool, uint32_t n)
{
	pool->fail_countdown = n;
}

/* --- frames for drivers ----------------------------------------------------- */

int64_t zc_pool_frame_alloc(struct zc_pool *p)
{
	if (zc__fail_now(p))
		return -1;
	if (p->nfree == 0) {
		p->alloc_failures++;
		return -1;
	}
	uint32_t f = p->free_stack[--p->nfree];
	p->frames[f].state = ZC__F_INUSE;
	p->frames[f].refcnt = 1;
	p->in_flight++;
	return f;
}

void zc_pool_frame_put(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_INUSE || p->frames[f].refcnt == 0) {
		ZC_ERR("pool %s: put of frame %u that is not in use (state %u)", p->name, f,
		       f < p->nframes ? p->frames[f].state : 255);
		return;
	}
	struct zc__frame *fr = &p->frames[f];
	if (--fr->refcnt)
		return;
	fr->state = ZC__F_FREE;
	p->in_flight--;
	p->free_stack[p->nfree++] = f;
}

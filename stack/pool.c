/*
 * pool.c - page frames in one shared file, and the mbuf headers over them.
 *
 * Bookkeeping is private to the process: per-frame state and refcount, a
 * stack of free frame indices, and a slab of mbuf headers with a free list.
 * The frames themselves live in the file mapping, which another process (or
 * a user buffer, later) may map too; see pool.h for the ownership rules.
 */
#include "stack/pool.h"
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

enum zc__frame_state {
	ZC__F_FOREIGN = 0, /* not owned by this pool */
	ZC__F_FREE,
	ZC__F_INUSE,
	ZC__F_LENT,
	ZC__F_LOST,
};

struct zc__frame {
	uint32_t refcnt;
	uint8_t state;
};

struct zc_pool {
	char name[32];
	int fd;
	bool own_fd;
	enum zc_pool_huge huge;
	uint32_t frame_size;
	uint32_t nframes;
	uint64_t offset;
	uint8_t *base;          /* mapping of frame 0 */
	size_t map_len;
	void *map_raw;          /* what munmap takes (may be larger, for alignment) */
	size_t map_raw_len;
	struct zc__frame *frames;
	uint32_t *free_stack;
	uint32_t nfree;
	uint32_t owned, in_flight, lent, lost, leaked;
	struct zc_mbuf *mbufs;
	struct zc_mbuf *mfree;
	uint32_t nmbufs, nmfree;
	uint32_t fail_countdown;
	uint64_t alloc_failures, injected_failures, given, adopted;
};

static bool zc__fail_now(struct zc_pool *p)
{
	if (p->fail_countdown == 0)
		return false;
	if (--p->fail_countdown == 0) {
		p->injected_failures++;
		p->alloc_failures++;
		return true;
	}
	return false;
}

void zc_pool_fail_nth(struct zc_pool *pool, uint32_t n)
{
	pool->fail_countdown = n;
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

/* Map len bytes of fd at off, aligned to align. */
static int zc__map(struct zc_pool *p, size_t len, size_t align)
{
	size_t raw_len = len + (align > 4096 ? align : 0);
	void *raw = mmap(NULL, raw_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return -errno;
	uintptr_t a = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
	void *m = mmap((void *)a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, p->fd,
		       (off_t)p->offset);
	if (m == MAP_FAILED) {
		int e = errno;
		munmap(raw, raw_len);
		return -e;
	}
	p->map_raw = raw;
	p->map_raw_len = raw_len;
	p->base = m;
	p->map_len = len;
	return 0;
}

static void zc__unmap(struct zc_pool *p)
{
	if (p->map_raw)
		munmap(p->map_raw, p->map_raw_len);
	p->map_raw = NULL;
	p->base = NULL;
}

/* Try THP shmem, then hugetlb. Returns 0 with p mapped, or -errno. */
static int zc__setup_huge(struct zc_pool *p, uint32_t nframes)
{
	size_t len = (size_t)nframes * ZC_HUGE_FRAME;
	if (zc__shmem_thp_allowed()) {
		p->fd = memfd_create(p->name, MFD_CLOEXEC);
		if (p->fd >= 0 && ftruncate(p->fd, (off_t)len) == 0 && zc__map(p, len, ZC_HUGE_FRAME) == 0) {
			madvise(p->base, len, MADV_HUGEPAGE);
			p->base[0] = 0; /* first touch allocates the first frame */
			if (zc__mapping_is_huge(p->base)) {
				p->huge = ZC_HUGE_THP;
				return 0;
			}
			zc__unmap(p);
		}
		if (p->fd >= 0)
			close(p->fd);
		p->fd = -1;
	}
	p->fd = memfd_create(p->name, MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
	if (p->fd >= 0) {
		if (ftruncate(p->fd, (off_t)len) == 0 && zc__map(p, len, ZC_HUGE_FRAME) == 0) {
			/* hugetlb faults SIGBUS when the reserve is short: fallocate reserves now */
			if (fallocate(p->fd, 0, 0, (off_t)len) == 0) {
				p->huge = ZC_HUGE_HUGETLB;
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
	if (cfg == NULL || cfg->nframes == 0 || cfg->nframes > (1u << 26) ||
	    (cfg->fd >= 0 && (cfg->offset % page) != 0) ||
	    (cfg->own_count && (uint64_t)cfg->own_first + cfg->own_count > cfg->nframes) ||
	    (cfg->fd >= 0 && cfg->huge)) {
		ZC_ERR("pool: invalid configuration");
		errno = EINVAL;
		return NULL;
	}
	struct zc_pool *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
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
			p->fd = memfd_create(p->name, MFD_CLOEXEC);
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
	p->frames = calloc(nframes, sizeof(*p->frames));
	p->free_stack = calloc(nframes, sizeof(*p->free_stack));
	uint32_t nm = cfg->nmbufs ? cfg->nmbufs : 4 * nframes + 64;
	if (nm > (1u << 24))
		nm = 1u << 24;
	p->mbufs = aligned_alloc(64, (size_t)nm * sizeof(struct zc_mbuf));
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
			p->huge == ZC_HUGE_THP ? "shmem THP" : "hugetlb");
	return p;
fail:
	zc__unmap(p);
	if (p->own_fd && p->fd >= 0)
		close(p->fd);
	free(p->frames);
	free(p->free_stack);
	free(p->mbufs);
	free(p);
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
	free(pool->frames);
	free(pool->free_stack);
	free(pool->mbufs);
	free(pool);
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
	st->frames_given = p->given;
	st->frames_adopted = p->adopted;
}

unsigned zc_pool_outstanding(const struct zc_pool *p)
{
	return p->in_flight + (p->nmbufs - p->nmfree);
}

uint32_t zc_pool_frame_size(const struct zc_pool *p) { return p->frame_size; }
enum zc_pool_huge zc_pool_huge_kind(const struct zc_pool *p) { return p->huge; }
int zc_pool_fd(const struct zc_pool *p) { return p->fd; }

uint8_t *zc_pool_frame_addr(const struct zc_pool *p, uint32_t frame)
{
	return p->base + (size_t)frame * p->frame_size;
}

int64_t zc_pool_frame_of(const struct zc_pool *p, const void *addr)
{
	const uint8_t *a = addr;
	if (a < p->base || a >= p->base + p->map_len)
		return -1;
	return (int64_t)((size_t)(a - p->base) / p->frame_size);
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

/* --- frames ---------------------------------------------------------------- */

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

uint32_t zc_pool_frame_refcnt(const struct zc_pool *p, uint32_t f)
{
	return f < p->nframes ? p->frames[f].refcnt : 0;
}

int zc_pool_give_frame(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_INUSE)
		return -EINVAL;
	if (p->frames[f].refcnt != 1)
		return -EBUSY;
	p->frames[f].state = ZC__F_FOREIGN;
	p->frames[f].refcnt = 0;
	p->in_flight--;
	p->owned--;
	p->given++;
	return 0;
}

int zc_pool_adopt_frame(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_FOREIGN)
		return -EINVAL;
	p->frames[f].state = ZC__F_INUSE;
	p->frames[f].refcnt = 1;
	p->in_flight++;
	p->owned++;
	p->adopted++;
	return 0;
}

int zc_pool_lend_frame(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_INUSE || p->frames[f].refcnt != 1)
		return -EINVAL;
	p->frames[f].state = ZC__F_LENT;
	p->in_flight--;
	p->lent++;
	return 0;
}

int zc_pool_unlend_frame(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_LENT)
		return -EINVAL;
	p->frames[f].state = ZC__F_INUSE;
	p->lent--;
	p->in_flight++;
	return 0;
}

int zc_pool_lose_frame(struct zc_pool *p, uint32_t f)
{
	if (f >= p->nframes || p->frames[f].state != ZC__F_LENT)
		return -EINVAL;
	p->frames[f].state = ZC__F_LOST;
	p->lent--;
	p->owned--;
	p->lost++;
	return 0;
}

/* --- mbufs ------------------------------------------------------------------ */

static struct zc_mbuf *zc__mget(struct zc_pool *p)
{
	if (zc__fail_now(p))
		return NULL;
	struct zc_mbuf *m = p->mfree;
	if (m == NULL) {
		p->alloc_failures++;
		return NULL;
	}
	p->mfree = m->next;
	p->nmfree--;
	memset(m, 0, offsetof(struct zc_mbuf, inline_buf));
	m->pool = p;
	m->in_use = 1;
	m->nb_segs = 1;
	return m;
}

static void zc__mput(struct zc_mbuf *m)
{
	struct zc_pool *p = m->pool;
	m->in_use = 0;
	m->next = p->mfree;
	p->mfree = m;
	p->nmfree++;
}

struct zc_mbuf *zc_mbuf_alloc(struct zc_pool *p)
{
	struct zc_mbuf *m = zc__mget(p);
	if (m == NULL)
		return NULL;
	m->kind = ZC_MBUF_INLINE_BUF;
	m->buf = m->inline_buf;
	m->buf_len = ZC_MBUF_INLINE;
	m->data = m->buf + ZC_MBUF_HEADROOM;
	return m;
}

struct zc_mbuf *zc_mbuf_attach_frame(struct zc_pool *p, uint32_t f)
{
	struct zc_mbuf *m = zc__mget(p);
	if (m == NULL)
		return NULL;
	m->kind = ZC_MBUF_FRAME_BUF;
	m->frame = f;
	m->buf = zc_pool_frame_addr(p, f);
	m->buf_len = p->frame_size;
	m->data = m->buf;
	return m;
}

struct zc_mbuf *zc_mbuf_alloc_frame(struct zc_pool *p)
{
	int64_t f = zc_pool_frame_alloc(p);
	if (f < 0)
		return NULL;
	struct zc_mbuf *m = zc_mbuf_attach_frame(p, (uint32_t)f);
	if (m == NULL)
		zc_pool_frame_put(p, (uint32_t)f);
	return m;
}

struct zc_mbuf *zc_mbuf_attach_ext(struct zc_pool *p, void *buf, uint32_t buf_len,
				   struct zc_ext_shinfo *sh)
{
	if (sh == NULL || buf == NULL)
		return NULL;
	struct zc_mbuf *m = zc__mget(p);
	if (m == NULL)
		return NULL;
	m->kind = ZC_MBUF_EXT_BUF;
	m->buf = buf;
	m->buf_len = buf_len;
	m->data = buf;
	m->shinfo = sh;
	sh->refcnt++;
	return m;
}

int64_t zc_mbuf_detach_frame(struct zc_mbuf *m)
{
	if (m->kind != ZC_MBUF_FRAME_BUF)
		return -1;
	uint32_t f = m->frame;
	m->kind = ZC_MBUF_INLINE_BUF;
	m->buf = m->inline_buf;
	m->buf_len = ZC_MBUF_INLINE;
	m->data = m->buf;
	m->len = 0;
	return f;
}

static void zc__release_buf(struct zc_mbuf *m)
{
	if (m->kind == ZC_MBUF_FRAME_BUF) {
		zc_pool_frame_put(m->pool, m->frame);
	} else if (m->kind == ZC_MBUF_EXT_BUF) {
		if (--m->shinfo->refcnt == 0 && m->shinfo->free_cb)
			m->shinfo->free_cb(m->buf, m->shinfo->arg);
	}
}

void zc_mbuf_free(struct zc_mbuf *m)
{
	while (m) {
		struct zc_mbuf *n = m->next;
		if (!m->in_use) {
			ZC_ERR("pool %s: double free of an mbuf", m->pool->name);
			return;
		}
		zc__release_buf(m);
		zc__mput(m);
		m = n;
	}
}

struct zc_mbuf *zc_mbuf_clone(struct zc_mbuf *m)
{
	struct zc_mbuf *head = NULL, **tail = &head;
	for (const struct zc_mbuf *s = m; s; s = s->next) {
		struct zc_mbuf *c = zc__mget(s->pool);
		if (c == NULL) {
			zc_mbuf_free(head);
			return NULL;
		}
		c->kind = s->kind;
		c->frame = s->frame;
		c->buf_len = s->buf_len;
		c->shinfo = s->shinfo;
		c->len = s->len;
		if (s->kind == ZC_MBUF_INLINE_BUF) {
			c->buf = c->inline_buf;
			memcpy(c->inline_buf, s->inline_buf, ZC_MBUF_INLINE);
			c->data = c->buf + (s->data - s->buf);
		} else {
			c->buf = s->buf;
			c->data = s->data;
			if (s->kind == ZC_MBUF_FRAME_BUF)
				s->pool->frames[s->frame].refcnt++;
			else
				s->shinfo->refcnt++;
		}
		*tail = c;
		tail = &c->next;
	}
	head->pkt_len = m->pkt_len;
	head->nb_segs = m->nb_segs;
	head->flags = m->flags;
	head->tstamp = m->tstamp;
	return head;
}

struct zc_mbuf *zc_mbuf_ref(const struct zc_mbuf *s, uint32_t off, uint32_t len)
{
	if ((uint64_t)off + len > s->len)
		return NULL;
	struct zc_mbuf *c = zc__mget(s->pool);
	if (c == NULL)
		return NULL;
	c->kind = s->kind;
	c->frame = s->frame;
	c->buf_len = s->buf_len;
	c->shinfo = s->shinfo;
	c->len = len;
	c->pkt_len = len;
	if (s->kind == ZC_MBUF_INLINE_BUF) {
		c->buf = c->inline_buf;
		c->data = c->buf + (s->data - s->buf) + off;
		memcpy(c->data, s->data + off, len);
	} else {
		c->buf = s->buf;
		c->data = s->data + off;
		if (s->kind == ZC_MBUF_FRAME_BUF)
			s->pool->frames[s->frame].refcnt++;
		else
			s->shinfo->refcnt++;
	}
	return c;
}

void zc_mbuf_cat(struct zc_mbuf *h, struct zc_mbuf *t)
{
	struct zc_mbuf *l = h;
	while (l->next)
		l = l->next;
	l->next = t;
	h->pkt_len += t->pkt_len;
	h->nb_segs = (uint16_t)(h->nb_segs + t->nb_segs);
}

static struct zc_mbuf *zc__pullup(struct zc_mbuf *m, uint32_t n, bool private_head)
{
	if (m->len >= n && (!private_head || m->kind == ZC_MBUF_INLINE_BUF))
		return m;
	if (n > m->pkt_len || n > ZC_MBUF_INLINE - ZC_MBUF_HEADROOM)
		goto fail;
	if (m->kind != ZC_MBUF_INLINE_BUF) {
		struct zc_mbuf *h = zc_mbuf_alloc(m->pool);
		if (h == NULL)
			goto fail;
		h->next = m;
		h->pkt_len = m->pkt_len;
		h->nb_segs = (uint16_t)(m->nb_segs + 1);
		h->flags = m->flags;
		h->tstamp = m->tstamp;
		m = h;
	} else if (m->data + n > m->buf + m->buf_len) {
		uint8_t *to = m->buf + ZC_MBUF_HEADROOM;
		memmove(to, m->data, m->len);
		m->data = to;
	}
	/* move bytes from the following segments; emptied ones are unlinked */
	while (m->len < n) {
		struct zc_mbuf *s = m->next;
		uint32_t k = n - m->len < s->len ? n - m->len : s->len;
		memcpy(m->data + m->len, s->data, k);
		m->len += k;
		s->data += k;
		s->len -= k;
		if (s->len == 0) {
			m->next = s->next;
			s->next = NULL;
			m->nb_segs--;
			zc_mbuf_free(s);
		}
	}
	return m;
fail:
	zc_mbuf_free(m);
	return NULL;
}

struct zc_mbuf *zc_mbuf_pullup(struct zc_mbuf *m, uint32_t n) { return zc__pullup(m, n, false); }
struct zc_mbuf *zc_mbuf_pullup_private(struct zc_mbuf *m, uint32_t n) { return zc__pullup(m, n, true); }

uint32_t zc_mbuf_headroom(const struct zc_mbuf *m)
{
	return (uint32_t)(m->data - m->buf);
}

uint32_t zc_mbuf_tailroom(const struct zc_mbuf *m)
{
	const struct zc_mbuf *l = m;
	while (l->next)
		l = l->next;
	return (uint32_t)(l->buf + l->buf_len - (l->data + l->len));
}

uint8_t *zc_mbuf_prepend(struct zc_mbuf *m, uint32_t n)
{
	if (n > zc_mbuf_headroom(m))
		return NULL;
	m->data -= n;
	m->len += n;
	m->pkt_len += n;
	return m->data;
}

uint8_t *zc_mbuf_append(struct zc_mbuf *m, uint32_t n)
{
	struct zc_mbuf *l = m;
	while (l->next)
		l = l->next;
	if (n > (uint32_t)(l->buf + l->buf_len - (l->data + l->len)))
		return NULL;
	uint8_t *p = l->data + l->len;
	l->len += n;
	m->pkt_len += n;
	return p;
}

int zc_mbuf_adj(struct zc_mbuf *m, uint32_t n)
{
	if (n > m->pkt_len)
		return -EINVAL;
	m->pkt_len -= n;
	for (struct zc_mbuf *s = m; s && n; s = s->next) {
		uint32_t k = n < s->len ? n : s->len;
		s->data += k;
		s->len -= k;
		n -= k;
	}
	return 0;
}

int zc_mbuf_trim(struct zc_mbuf *m, uint32_t n)
{
	if (n > m->pkt_len)
		return -EINVAL;
	uint32_t keep = m->pkt_len - n;
	m->pkt_len = keep;
	for (struct zc_mbuf *s = m; s; s = s->next) {
		if (keep >= s->len) {
			keep -= s->len;
		} else {
			s->len = keep;
			keep = 0;
		}
	}
	return 0;
}

uint32_t zc_mbuf_copydata(const struct zc_mbuf *m, uint32_t off, uint32_t len, void *dst)
{
	uint8_t *d = dst;
	uint32_t done = 0;
	for (const struct zc_mbuf *s = m; s && done < len; s = s->next) {
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint32_t k = s->len - off;
		if (k > len - done)
			k = len - done;
		memcpy(d + done, s->data + off, k);
		done += k;
		off = 0;
	}
	return done;
}

int zc_mbuf_check(const struct zc_mbuf *m)
{
	uint32_t total = 0, segs = 0;
	for (const struct zc_mbuf *s = m; s; s = s->next) {
		if (!s->in_use || s->data < s->buf || s->data + s->len > s->buf + s->buf_len)
			return -EFAULT;
		if (s->kind == ZC_MBUF_INLINE_BUF && s->buf != s->inline_buf)
			return -EFAULT;
		total += s->len;
		segs++;
	}
	if (total != m->pkt_len || segs != m->nb_segs)
		return -EFAULT;
	return 0;
}

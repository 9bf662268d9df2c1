/*
 * zerocopy.c - page trading, read-only views and the measured policy
 * (see zerocopy.h for the rules this file keeps).
 */
#include "sockapi/zerocopy.h"
#include "sockapi/vma.h"
#include "stack/log.h"
#include "stack/pool.h"
#include "stack/selfpid.h"
#include "stack/tcp.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

struct zc__zpool {
	struct zc_pool *pool;
	uint32_t fs, nframes;
	uint64_t inode;
	unsigned dev_major, dev_minor;
	uint8_t **lent;         /* per frame: the user address it was traded to */
	const uint8_t *ro;      /* read-only view of all frames */
	size_t ro_len;
	struct zc_zcopy_costs cost;
	uint64_t trade_avg;     /* auto: recent trades, ns a frame (7/8 old + 1/8 new) */
	uint32_t trades_seen;   /* trades in trade_avg since it (re)started */
	uint64_t paused_until;  /* auto: trades cost more than a copy: copy until then */
	uint64_t pause_ns;      /* the next pause: doubles while judgements fail */
};

struct zc__zc {
	struct zc__zpool p[2];
	int policy;
	bool rx_ref;            /* the NIC receives by reference (zc_netif_caps.rx_ref) */
	struct zc__maps maps;   /* what maps an address (vma.h) */
	uint32_t page;
	struct zc_zstats tot;
	uint64_t copy_ps_avg;   /* recent reads' copies, picoseconds a byte (7/8 old + 1/8 new) */
	uint64_t last_reclaim;
	uintptr_t no_start[4], no_end[4]; /* mappings that do not qualify for COW */
	unsigned no_next;
	struct zc__zc *next; /* zc__all */
};

/* Every live zero-copy state of the process: a scan of the process's
 * mappings must tell the stack's own mappings of a pool file (any
 * context's pool and view, a Trapeze wire mapped by both ends) from the
 * application's. */
static pthread_mutex_t zc__all_lk = PTHREAD_MUTEX_INITIALIZER;
static struct zc__zc *zc__all;

static uint64_t zc__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- set-up and the measurement ----------------------------------------------- */

/*
 * Copy one frame into a warm buffer, and trade one over it: the cheapest of
 * each after a first round that is not counted (the first trade replaces
 * anonymous memory, the first copy may fault). The cheapest, not the
 * median: a trade's cost here is bimodal with the moment (2 MiB: 7-13 us,
 * or 16-136 us with a first trade of 1-2.5 ms, when the peer process
 * measured at the same time), and with medians auto copied 2 MiB frames in
 * 5 runs of 8 where trading them was 1.2x faster all run long; the cheapest
 * trade was below the median copy in every run (16-25 us against 38-63 us).
 */
static void zc__measure(struct zc__zpool *zp)
{
	enum { ROUNDS = 9 };
	struct zc_pool *P = zp->pool;
	uint32_t fs = zp->fs;
	int64_t a = zc_pool_frame_alloc(P), b = zc_pool_frame_alloc(P);
	size_t raw_len = 3 * (size_t)fs;
	uint8_t *raw = mmap(NULL, raw_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a < 0 || b < 0 || raw == MAP_FAILED)
		goto out;
	uint8_t *buf = (uint8_t *)(((uintptr_t)raw + fs - 1) & ~(uintptr_t)(fs - 1));
	madvise(buf, fs, MADV_HUGEPAGE);
	memset(buf, 1, fs);
	memset(zc_pool_frame_addr(P, (uint32_t)a), 2, fs);
	memset(zc_pool_frame_addr(P, (uint32_t)b), 3, fs);
	uint64_t cp[ROUNDS], rm[ROUNDS];
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t0 = zc__now();
		memcpy(buf, zc_pool_frame_addr(P, (uint32_t)(i & 1 ? b : a)), fs);
		cp[i] = zc__now() - t0;
	}
	for (int i = 0; i < ROUNDS; i++) {
		uint32_t f = (uint32_t)(i & 1 ? b : a);
		uint64_t t0 = zc__now();
		void *m = mmap(buf, fs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE,
			       zc_pool_fd(P), (off_t)zc_pool_frame_offset(P, f));
		rm[i] = zc__now() - t0;
		if (m == MAP_FAILED) { /* never trade this size */
			for (int k = i; k < ROUNDS; k++)
				rm[k] = UINT64_MAX / 2;
			break;
		}
	}
	zp->cost.copy_ns = cp[1];
	zp->cost.remap_ns = rm[1];
	for (int i = 2; i < ROUNDS; i++) {
		if (cp[i] < zp->cost.copy_ns)
			zp->cost.copy_ns = cp[i];
		if (rm[i] < zp->cost.remap_ns)
			zp->cost.remap_ns = rm[i];
	}
	zp->cost.trade = zp->cost.remap_ns < zp->cost.copy_ns;
out:
	if (raw != MAP_FAILED)
		munmap(raw, raw_len); /* no mapping of a or b is left */
	if (a >= 0)
		zc_pool_frame_put(P, (uint32_t)a);
	if (b >= 0)
		zc_pool_frame_put(P, (uint32_t)b);
}

static int zc__zpool_init(struct zc__zpool *zp, struct zc_pool *P)
{
	struct zc_pool_stats ps;
	zc_pool_get_stats(P, &ps);
	struct stat st;
	if (fstat(zc_pool_fd(P), &st) != 0)
		return -errno;
	zp->pool = P;
	zp->fs = ps.frame_size;
	zp->nframes = ps.frames_total;
	zp->inode = st.st_ino;
	zp->dev_major = major(st.st_dev);
	zp->dev_minor = minor(st.st_dev);
	zp->lent = calloc(zp->nframes, sizeof(*zp->lent));
	if (zp->lent == NULL)
		return -ENOMEM;
	zp->ro_len = (size_t)zp->nframes * zp->fs;
	void *ro = mmap(NULL, zp->ro_len, PROT_READ, MAP_SHARED, zc_pool_fd(P),
			(off_t)zc_pool_frame_offset(P, 0));
	if (ro == MAP_FAILED)
		return -errno;
	zp->ro = ro;
	zp->cost.frame_size = zp->fs;
	zc__measure(zp);
	return 0;
}

struct zc__zc *zc__zc_create(struct zc_pool *page_pool, struct zc_pool *huge_pool, int policy, bool rx_ref)
{
	struct zc__zc *z = calloc(1, sizeof(*z));
	if (z == NULL)
		return NULL;
	z->policy = policy;
	z->rx_ref = rx_ref;
	z->page = (uint32_t)sysconf(_SC_PAGESIZE);
	zc__maps_open(&z->maps);
	int r = zc__zpool_init(&z->p[0], page_pool);
	if (r == 0 && huge_pool)
		r = zc__zpool_init(&z->p[1], huge_pool);
	if (r) {
		zc__zc_destroy(z);
		errno = -r;
		return NULL;
	}
	pthread_mutex_lock(&zc__all_lk);
	z->next = zc__all;
	zc__all = z;
	pthread_mutex_unlock(&zc__all_lk);
	return z;
}

void zc__zc_destroy(struct zc__zc *z)
{
	if (z == NULL)
		return;
	zc__zc_reclaim(z);
	pthread_mutex_lock(&zc__all_lk);
	for (struct zc__zc **p = &zc__all; *p; p = &(*p)->next)
		if (*p == z) {
			*p = z->next;
			break;
		}
	pthread_mutex_unlock(&zc__all_lk);
	for (int i = 0; i < 2; i++) {
		struct zc__zpool *zp = &z->p[i];
		if (zp->ro)
			munmap((void *)zp->ro, zp->ro_len);
		/* frames still mapped in the application's buffers stay lent: the
		 * file lives on under those mappings, and the pool counts them */
		free(zp->lent);
	}
	zc__maps_close(&z->maps);
	free(z);
}

void zc__zc_set_policy(struct zc__zc *z, int policy) { z->policy = policy; }
int zc__zc_policy(const struct zc__zc *z) { return z->policy; }

void zc__zc_costs(const struct zc__zc *z, struct zc_zcopy_costs out[2])
{
	for (int i = 0; i < 2; i++)
		out[i] = z->p[i].pool ? z->p[i].cost : (struct zc_zcopy_costs){ 0 };
}

void zc__zc_set_costs(struct zc__zc *z, const struct zc_zcopy_costs in[2])
{
	for (int i = 0; i < 2; i++)
		if (z->p[i].pool && in[i].frame_size == z->p[i].fs) {
			z->p[i].cost = in[i];
			z->p[i].trade_avg = 0;
			z->p[i].trades_seen = 0;
			z->p[i].paused_until = 0;
			z->p[i].pause_ns = 0;
			z->copy_ps_avg = 0; /* the given copy cost until reads copy again */
		}
}

void zc__zc_totals(const struct zc__zc *z, struct zc_zstats *out) { *out = z->tot; }

void zc__zstats_add_sock(struct zc_zstats *to, const struct zc_zstats *d)
{
	to->bytes_copied += d->bytes_copied;
	to->bytes_cow += d->bytes_cow;
	to->bytes_viewed += d->bytes_viewed;
	to->deferred_copies += d->deferred_copies;
	to->deferred_bytes += d->deferred_bytes;
	to->copy_ns += d->copy_ns;
	to->trade_fallbacks += d->trade_fallbacks;
}

void zc__zc_add(struct zc__zc *z, const struct zc_zstats *d) { zc__zstats_add_sock(&z->tot, d); }

/* Count a copy of len bytes that took ns (0: not timed; copy_ns on
 * frame-size reads); copies of 64 KiB or more are also what auto weighs its
 * trades against. */
static void zc__count_copy(struct zc__zc *z, struct zc_zstats *st, size_t len, uint64_t ns)
{
	/* the context's total takes the socket's at close */
	st->bytes_copied += len;
	st->copy_ns += ns;
	if (len < 64 * 1024 || ns == 0)
		return; /* short copies say little about a frame's */
	uint64_t ps = ns * 1000 / len;
	z->copy_ps_avg = z->copy_ps_avg ? (7 * z->copy_ps_avg + ps) / 8 : ps;
}

/* --- reclaim ------------------------------------------------------------------ */

struct zc__mark {
	struct zc__zc *z;
	uint8_t *mapped[2]; /* per frame: 1 when some mapping other than ours covers it */
};

static bool zc__is_pool_vma(const struct zc__zpool *zp, const struct zc__vma *v)
{
	return zp->pool && v->inode == zp->inode && v->dev_major == zp->dev_major &&
	       v->dev_minor == zp->dev_minor;
}

/* A pool's own mapping and our read-only views are not the application's:
 * those of every context in the process. */
static bool zc__is_ours_one(const struct zc__zpool *zp, const struct zc__vma *v)
{
	if (zp->pool == NULL)
		return false;
	uintptr_t base = (uintptr_t)zc_pool_frame_addr(zp->pool, 0);
	return (v->start >= base && v->end <= base + (size_t)zp->nframes * zp->fs) ||
	       (v->start >= (uintptr_t)zp->ro && v->end <= (uintptr_t)zp->ro + zp->ro_len);
}

static bool zc__is_ours(const struct zc__zpool *zp, const struct zc__vma *v)
{
	(void)zp;
	bool r = false;
	pthread_mutex_lock(&zc__all_lk);
	for (struct zc__zc *z = zc__all; z && !r; z = z->next)
		r = zc__is_ours_one(&z->p[0], v) || zc__is_ours_one(&z->p[1], v);
	pthread_mutex_unlock(&zc__all_lk);
	return r;
}

/* A frame this process lent comes back to the pool. The pool names who
 * holds each lent frame (its pid), so a process's record (zp->lent, which
 * a fork child copies) never takes back a frame another process holds. */
static void zc__unlend(struct zc__zpool *zp, uint32_t f, uint32_t me)
{
	if (zc_pool_frame_holder(zp->pool, f) == me && zc_pool_unlend_frame(zp->pool, f) == 0)
		zc_pool_frame_put(zp->pool, f);
}

/* Does the mapping cover a frame of zp that we lent? */
static bool zc__covers_lent(const struct zc__zpool *zp, const struct zc__vma *v)
{
	uint64_t first = zc_pool_frame_offset(zp->pool, 0);
	uint64_t lo = v->offset, hi = v->offset + (v->end - v->start);
	for (uint64_t o = lo < first ? first : lo; o < hi; o += zp->fs) {
		uint64_t f = (o - first) / zp->fs;
		if (f >= zp->nframes)
			break;
		if (zp->lent[f])
			return true;
	}
	return false;
}

static void zc__mark_cb(const struct zc__vma *v, void *arg)
{
	struct zc__mark *m = arg;
	for (int i = 0; i < 2; i++) {
		struct zc__zpool *zp = &m->z->p[i];
		if (!zc__is_pool_vma(zp, v) || zc__is_ours(zp, v))
			continue;
		uint64_t first = zc_pool_frame_offset(zp->pool, 0);
		uint64_t lo = v->offset, hi = v->offset + (v->end - v->start);
		for (uint64_t o = lo; o < hi; o += zp->fs) {
			if (o < first)
				continue;
			uint64_t f = (o - first) / zp->fs;
			if (f < zp->nframes)
				m->mapped[i][f] = 1;
		}
	}
}

unsigned zc__zc_reclaim(struct zc__zc *z)
{
	struct zc__mark m = { z, { NULL, NULL } };
	unsigned back = 0;
	for (int i = 0; i < 2; i++)
		if (z->p[i].pool && (m.mapped[i] = calloc(z->p[i].nframes, 1)) == NULL)
			goto out;
	if (zc__maps_each(zc__mark_cb, &m) != 0)
		goto out;
	uint32_t me = (uint32_t)zc_self_pid();
	for (int i = 0; i < 2; i++) {
		struct zc__zpool *zp = &z->p[i];
		for (uint32_t f = 0; zp->pool && f < zp->nframes; f++) {
			if (zp->lent[f] == NULL || m.mapped[i][f])
				continue;
			zp->lent[f] = NULL;
			zc__unlend(zp, f, me);
			back++;
		}
	}
	z->tot.frames_reclaimed += back;
out:
	free(m.mapped[0]);
	free(m.mapped[1]);
	return back;
}

/* Every mapping of a pool in the application becomes private memory with
 * the same bytes and protection; then its frames are unmapped and return. */
static void zc__privatize_cb(const struct zc__vma *v, void *arg)
{
	struct zc__zc *z = arg;
	for (int i = 0; i < 2; i++) {
		struct zc__zpool *zp = &z->p[i];
		if (!zc__is_pool_vma(zp, v) || !zc__covers_lent(zp, v) || zc__is_ours(zp, v))
			continue;
		size_t len = v->end - v->start;
		int prot = ((v->flags & ZC__VMA_READ) ? PROT_READ : 0) | ((v->flags & ZC__VMA_WRITE) ? PROT_WRITE : 0);
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			ZC_ERR("zerocopy: before fork: no memory to make %zu bytes at %p private: "
			       "parent and child would share them", len, (void *)v->start);
			continue;
		}
		if (v->flags & ZC__VMA_READ)
			memcpy(p, (void *)v->start, len);
		mprotect(p, len, prot);
		if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)v->start) == MAP_FAILED) {
			ZC_ERR("zerocopy: before fork: mremap over %p failed: %s", (void *)v->start, strerror(errno));
			munmap(p, len);
		}
	}
}

void zc__zc_before_fork(struct zc__zc *z)
{
	zc__maps_each(zc__privatize_cb, z);
	zc__zc_reclaim(z);
}

void zc__zc_after_fork_child(struct zc__zc *z)
{
	/* the parent's /proc/self/maps is the parent's: a child that asked
	 * it would see none of its own new mappings, and trade over none */
	zc__maps_close(&z->maps);
	zc__maps_open(&z->maps);
}

/* --- trading ------------------------------------------------------------------ */

/* May frame-size bytes at addr be replaced by a frame of zp? Sets *old to a
 * frame of ours mapped there now (to take back), or -1. */
static bool zc__target_ok(struct zc__zc *z, struct zc__zpool *zp, uint8_t *addr, int64_t *old)
{
	struct zc__vma v;
	*old = -1;
	if (zc__vma_at(&z->maps, addr, &v) != 0 || v.special || !(v.flags & ZC__VMA_WRITE) ||
	    v.start > (uintptr_t)addr || v.end < (uintptr_t)addr + zp->fs)
		return false;
	if (v.inode == 0 && !(v.flags & ZC__VMA_SHARED))
		return true; /* private anonymous memory */
	if (!zc__is_pool_vma(zp, &v) || zc__is_ours(zp, &v) || !(v.flags & ZC__VMA_SHARED))
		return false;
	uint64_t off = v.offset + ((uintptr_t)addr - v.start), first = zc_pool_frame_offset(zp->pool, 0);
	if (off < first || (off - first) % zp->fs)
		return false;
	uint64_t f = (off - first) / zp->fs;
	if (f >= zp->nframes || zp->lent[f] != addr)
		return false; /* a frame we did not lend here: not ours to take */
	*old = (int64_t)f;
	return true;
}

bool zc__zc_private_anon(struct zc__zc *z, const void *buf, size_t len)
{
	/* one or more adjacent mappings (userfaultfd registration splits them) */
	uintptr_t a = (uintptr_t)buf, e = a + len;
	/* the last mapping that did not qualify (iperf3 sends from a file
	 * mapping, every time): no question to the kernel; zc_release_range
	 * (munmap, mremap, ...) forgets it */
	for (int i = 0; i < 4; i++)
		if (a >= z->no_start[i] && e <= z->no_end[i])
			return false;
	while (a < e) {
		struct zc__vma v;
		if (zc__vma_at(&z->maps, (void *)a, &v) != 0 || v.special || v.inode != 0 || (v.flags & ZC__VMA_SHARED) ||
		    !(v.flags & ZC__VMA_WRITE) || v.start > a) {
			if (v.start <= a && v.end > a) { /* iperf3 -P 4 has four such buffers */
				unsigned k = z->no_next++ % 4;
				z->no_start[k] = v.start;
				z->no_end[k] = v.end;
			}
			return false;
		}
		a = v.end;
	}
	return true;
}

void zc__zc_forget_range(struct zc__zc *z, const void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	for (int i = 0; i < 4; i++)
		if (a < z->no_end[i] && a + len > z->no_start[i])
			z->no_start[i] = z->no_end[i] = 0;
}

/*
 * auto watches what its trades cost: the start-up measurement is one
 * moment (a 2 MiB trade here costs 7-13 us or 40-60 us by the state of
 * the machine, for minutes at a time), so a frame size whose trades cost
 * more on average than reads' copies lately did (per byte, from
 * zc__count_copy; the start-up measurement until a read copied) is
 * copied for the next ZC__TRADE_PAUSE_NS; then ZC__TRADE_PROBE trades
 * judge again (one trade is no judge: the first after a pause cost more).
 * Pauses double while judgements keep failing, up to 1.6 s: eight dear
 * trades every 100 ms cost 3-5% where trades stay dear.
 */
#define ZC__TRADE_PAUSE_NS 100000000ull
#define ZC__TRADE_PAUSE_MAX_NS 1600000000ull

#define ZC__TRADE_PROBE 8u

static void zc__trade_watch(struct zc__zc *z, struct zc__zpool *zp, uint64_t now, uint64_t dt)
{
	if (zp->paused_until) { /* the first probe after a pause */
		zp->paused_until = 0;
		zp->trades_seen = 0;
	}
	/* the mean of the first ZC__TRADE_PROBE trades, then a moving average */
	zp->trades_seen++;
	if (zp->trades_seen <= ZC__TRADE_PROBE)
		zp->trade_avg = zp->trades_seen == 1 ? dt
			: (zp->trade_avg * (zp->trades_seen - 1) + dt) / zp->trades_seen;
	else
		zp->trade_avg = (7 * zp->trade_avg + dt) / 8;
	if (zp->trades_seen < ZC__TRADE_PROBE)
		return;
	/* against what reads' copies cost lately, for a frame's bytes (the
	 * start-up measurement while no read has copied) */
	uint64_t copy = z->copy_ps_avg ? z->copy_ps_avg * zp->fs / 1000 : zp->cost.copy_ns;
	if (zp->trade_avg > copy) {
		zp->pause_ns = zp->pause_ns ? zp->pause_ns * 2 : ZC__TRADE_PAUSE_NS;
		if (zp->pause_ns > ZC__TRADE_PAUSE_MAX_NS)
			zp->pause_ns = ZC__TRADE_PAUSE_MAX_NS;
		zp->paused_until = now + zp->pause_ns;
		z->tot.trade_pauses++;
	} else if (zp->trades_seen == ZC__TRADE_PROBE) {
		zp->pause_ns = 0; /* trades paid off again */
	}
}

/* The pool trading may use for buf/len under the policy, or -1. */
static int zc__pick(const struct zc__zc *z, int i, const uint8_t *buf, size_t len)
{
	const struct zc__zpool *zp = &z->p[i];
	if (zp->pool == NULL || len < zp->fs)
		return -1;
	if (z->policy == ZC_ZCOPY_AUTO && (!zp->cost.trade || (zp->paused_until && zc__now() < zp->paused_until)))
		return -1;
	uintptr_t align = z->policy == ZC_ZCOPY_AUTO ? zp->fs : z->page;
	return ((uintptr_t)buf & (align - 1)) == 0 ? i : -1;
}

/* The pool whose frame the next in-order byte starts, or NULL. */
static const struct zc_pool *zc__head_frame(struct zc_tcp_sock *t)
{
	const struct zc_mbuf *g = zc_tcp_rq_peek(t);
	while (g && g->len == 0)
		g = g->next;
	if (g == NULL || g->kind != ZC_MBUF_FRAME_BUF || g->data != zc_pool_frame_addr(g->pool, g->frame))
		return NULL;
	return g->pool;
}

/* Would a read of len bytes into buf trade, once a whole frame is queued?
 * (the head of t's data starts a frame and the policy and buffer allow).
 * Returns that frame size, or 0. */
static uint32_t zc__tradeable(struct zc__zc *z, struct zc_tcp_sock *t, const uint8_t *buf, size_t len)
{
	if (z->policy == ZC_ZCOPY_NEVER)
		return 0;
	const struct zc_pool *P = zc__head_frame(t);
	for (int i = 1; P && i >= 0; i--)
		if (z->p[i].pool == P)
			return zc__pick(z, i, buf, len) >= 0 ? z->p[i].fs : 0;
	return 0;
}

/* Read up to len bytes of t's in-order data into buf by trading whole
 * frames, as the policy allows; stops at the first piece it cannot trade.
 * Returns the bytes traded (0: copy all of it). Counts into st and the
 * context's totals. */
static size_t zc__trade(struct zc__zc *z, struct zc_tcp_sock *t, uint8_t *buf, size_t len, struct zc_zstats *st)
{
	if (z->policy == ZC_ZCOPY_NEVER || ((uintptr_t)buf & (z->page - 1)))
		return 0;
	size_t done = 0;
	for (int i = 1; i >= 0 && done == 0; i--) {
		struct zc__zpool *zp = &z->p[i];
		if (zc__pick(z, i, buf, len) < 0)
			continue;
		/* frames smaller than 2 MiB lie scattered in the file: trading
		 * several into one buffer would split it into as many mappings
		 * (rule 4), so only a buffer of one frame takes one */
		if (zp->fs < ZC_HUGE_FRAME && len >= 2 * (size_t)zp->fs)
			continue;
		uintptr_t align = z->policy == ZC_ZCOPY_AUTO ? zp->fs : z->page;
		struct zc_pool_stats ps;
		zc_pool_get_stats(zp->pool, &ps);
		uint64_t now = zc__now();
		uint32_t me = (uint32_t)zc_self_pid();
		if (ps.frames_free < ps.frames_total / 8 && now - z->last_reclaim > 10000000u) {
			z->last_reclaim = now;
			zc__zc_reclaim(z);
		}
		while (len - done >= zp->fs && ((uintptr_t)(buf + done) & (align - 1)) == 0) {
			uint8_t *addr = buf + done;
			int64_t old;
			/* cheap first: does the data start a frame of this pool? */
			if (zc_tcp_readable(t) < zp->fs || zc__head_frame(t) != zp->pool ||
			    !zc__target_ok(z, zp, addr, &old))
				break;
			int64_t f = zc_tcp_recv_frame(t, zp->pool);
			if (f < 0)
				break;
			uint64_t t0 = zc__now();
			void *m = mmap(addr, zp->fs, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED | MAP_POPULATE,
				       zc_pool_fd(zp->pool), (off_t)zc_pool_frame_offset(zp->pool, (uint32_t)f));
			uint64_t dt = zc__now() - t0;
			if (m == MAP_FAILED) {
				/* the bytes are ours to deliver: copy them */
				ZC_WARN("zerocopy: mmap over %p failed (%s): copying", (void *)addr, strerror(errno));
				memcpy(addr, zc_pool_frame_addr(zp->pool, (uint32_t)f), zp->fs);
				zc_pool_frame_put(zp->pool, (uint32_t)f);
				zc__count_copy(z, st, zp->fs, 0);
				done += zp->fs;
				continue;
			}
			zc_pool_lend_frame_to(zp->pool, (uint32_t)f, me);
			zp->lent[f] = addr;
			if (old >= 0) { /* the caller's old page was our frame: it comes home */
				zp->lent[old] = NULL;
				zc__unlend(zp, (uint32_t)old, me);
				st->frames_reclaimed++;
				z->tot.frames_reclaimed++;
			}
			if (z->policy == ZC_ZCOPY_AUTO)
				zc__trade_watch(z, zp, t0 + dt, dt);
			st->bytes_traded += zp->fs;
			st->trades++;
			st->remap_ns += dt;
			z->tot.bytes_traded += zp->fs;
			z->tot.trades++;
			z->tot.remap_ns += dt;
			done += zp->fs;
		}
	}
	return done;
}

/* --- a read: trade, copy the rest, count ----------------------------------------- */

ssize_t zc__zc_recv(struct zc__zc *z, struct zc_tcp_sock *t, struct zc__zc_read *rd, struct zc_zstats *st)
{
	/* A NIC that receives by reference leaves the payload in the
	 * sender's frames, and the read's copy is its only one; placing it
	 * for a trade costs the NIC's copy plus the remap. So auto asks for
	 * placement only of a NIC that copies anyway, always whenever the
	 * read could trade. */
	if (z->p[1].pool && rd->done == 0)
		zc_tcp_rx_place(t, (z->policy == ZC_ZCOPY_ALWAYS || (z->policy == ZC_ZCOPY_AUTO && !z->rx_ref)) &&
					   zc__pick(z, 1, rd->buf, rd->len) >= 0);
	size_t k = zc__trade(z, t, rd->buf + rd->done, rd->len - rd->done, st);
	rd->done += k;
	ssize_t r = 0;
	/* MSG_WAITALL into a buffer that could take the next frame
	 * whole: wait for the frame rather than copy a piece of it */
	bool hold = false;
	if (rd->waitall && rd->done < rd->len && zc_tcp_readable(t) &&
	    !(zc_tcp_events(t) & (POLLRDHUP | POLLERR | POLLHUP))) {
		uint32_t fs = zc__tradeable(z, t, rd->buf + rd->done, rd->len - rd->done);
		hold = fs && zc_tcp_readable(t) < fs;
	}
	if (hold)
		r = -EAGAIN;
	if (rd->done < rd->len && !hold) {
		uint64_t t0 = rd->len - rd->done >= z->page ? zc__now() : 0;
		r = zc_tcp_recv(t, rd->buf + rd->done, rd->len - rd->done);
		if (r > 0) {
			zc__count_copy(z, st, (size_t)r, t0 ? zc__now() - t0 : 0);
			rd->done += (size_t)r;
			if (!rd->fell_back && rd->len >= z->page && !((uintptr_t)rd->buf & (z->page - 1)) &&
			    z->policy != ZC_ZCOPY_NEVER) {
				st->trade_fallbacks++; /* a read that could have traded copied */
				rd->fell_back = true;
			}
		}
	}
	if (k && r == -EAGAIN)
		r = 0;
	return r;
}

/* --- views -------------------------------------------------------------------- */

/* Views of a chain of received packets: fills iov (up to n entries) with
 * read-only pointers; returns the entries used, or -1 when they do not fit. */
static int zc__views(struct zc__zc *z, const struct zc_mbuf *pkts, struct iovec *iov, int n)
{
	int k = 0;
	for (const struct zc_mbuf *m = pkts; m; m = m->nextpkt) {
		for (const struct zc_mbuf *g = m; g; g = g->next) {
			if (g->len == 0)
				continue;
			const uint8_t *p = g->data;
			for (int i = 0; i < 2 && g->kind == ZC_MBUF_FRAME_BUF; i++) {
				struct zc__zpool *zp = &z->p[i];
				if (zp->pool && g->pool == zp->pool) {
					p = zp->ro + (size_t)g->frame * zp->fs + (size_t)(g->data - g->buf);
					break;
				}
			}
			if (g->kind == ZC_MBUF_EXT_BUF && z->p[0].pool && z->p[0].ro) {
				/* kept by reference: the peer's frame in the same file */
				const struct zc__zpool *zp = &z->p[0];
				const uint8_t *base = zc_pool_frame_addr(zp->pool, 0);
				if (g->data >= base && g->data + g->len <= base + (size_t)zp->nframes * zp->fs)
					p = zp->ro + (size_t)(g->data - base);
			}
			if (k > 0 && (const uint8_t *)iov[k - 1].iov_base + iov[k - 1].iov_len == p) {
				iov[k - 1].iov_len += g->len;
				continue;
			}
			if (k == n)
				return -1;
			iov[k].iov_base = (void *)p;
			iov[k].iov_len = g->len;
			k++;
		}
	}
	return k;
}

int zc__zc_view(struct zc__zc *z, struct zc_mbuf *pkts, size_t len, struct zc_rxzc *out, struct zc_zstats *st)
{
	int k = zc__views(z, pkts, out->iov, ZC_RXZC_IOV);
	if (k < 0) {
		/* more pieces than iovecs: none described, so the bounce
		 * view below takes them all */
		k = 0;
	}
	out->iovcnt = k;
	out->priv = pkts;
	size_t described = 0;
	for (int i = 0; i < k; i++)
		described += out->iov[i].iov_len;
	if (described == len) {
		st->bytes_viewed += len;
		return 0;
	}
	/* cannot describe it all: never lose bytes; the caller gets
	 * them through one bounce view */
	uint8_t *bounce = malloc(len);
	if (bounce == NULL) {
		out->iovcnt = 0;
		out->priv = NULL;
		return -ENOMEM;
	}
	size_t off = 0;
	for (struct zc_mbuf *m = pkts; m; m = m->nextpkt)
		off += zc_mbuf_copydata(m, 0, m->pkt_len, bounce + off);
	st->bytes_copied += len;
	out->iov[0].iov_base = bounce;
	out->iov[0].iov_len = len;
	out->iovcnt = -1; /* marks the bounce buffer for zc_recv_zc_done */
	return 0;
}

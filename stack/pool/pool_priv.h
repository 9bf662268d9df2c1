/*
 * pool_priv.h - the pool's bookkeeping, shared by the files of stack/pool/
 * (frames.c, lending.c, mbuf.c). Nothing outside stack/pool/ includes it;
 * everyone else sees struct zc_pool as opaque through stack/pool.h.
 *
 * Bookkeeping: per-frame state, refcount and holder, a stack of free frame
 * indices, and a slab of mbuf headers with a free list. It lives in the
 * pool's arena when it has one (then every process of a stack shares it,
 * under the stack's lock), else on the heap. The frames themselves live in
 * the file mapping, which another process (or a user buffer) may map too;
 * see pool.h for the ownership rules.
 */
#ifndef ZC_POOL_PRIV_H
#define ZC_POOL_PRIV_H

#include "stack/pool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A frame's place in its life (pool.h: owned == free + in flight + lent). */
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
	uint32_t holder;        /* LENT: to whom (zc_pool_lend_frame_to), 0 unnamed */
};

/* Which kind of 2 MiB pages back the frames, if any. */
enum zc__pool_huge { ZC__HUGE_NONE = 0, ZC__HUGE_THP = 1, ZC__HUGE_HUGETLB = 2 };

struct zc_pool {
	char name[32];
	struct zc_arena *arena; /* where this struct, frames[], free_stack[] and the mbufs are; NULL: heap */
	int fd;
	bool own_fd;
	enum zc__pool_huge huge;
	uint32_t frame_size;
	uint32_t nframes;
	uint64_t offset;
	uint8_t *base;          /* mapping of frame 0 */
	size_t map_len;         /* bytes of frames mapped at base */
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
	uint64_t alloc_failures, injected_failures, given, adopted, taken_back;
	uint64_t alloc_calls; /* allocations asked for (zc__fail_now), failed or not */
};

/* The fault-injection hook (zc_pool_fail_nth, frames.c): every allocation,
 * of a frame (frames.c) or of an mbuf header (mbuf.c), asks it first.
 * True when this allocation is the one armed to fail (then counted). */
static inline bool zc__fail_now(struct zc_pool *p)
{
	p->alloc_calls++;
	if (p->fail_countdown == 0)
		return false;
	if (--p->fail_countdown == 0) {
		p->injected_failures++;
		p->alloc_failures++;
		return true;
	}
	return false;
}

#endif

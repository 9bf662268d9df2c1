/*
 * pool.h - the page-frame pool and mbufs.
 *
 * Frames are fixed-size, page-aligned pieces of one shared file (a memfd the
 * pool makes, or a file the caller gives, such as a Trapeze wire under
 * /dev/shm), so a frame can be mapped into a caller's buffer or handed to
 * another process. A pool owns a subset of the file's frames; frames can
 * leave a pool (zc_pool_give_frame) and join one (zc_pool_adopt_frame): the
 * Trapeze NIC trades frames between the pools of its two ports this way.
 *
 * mbufs are small headers (FreeBSD mbufs with external clusters, rte_mbuf
 * with external buffers). A segment's data lies in one of three buffers:
 *   inline - the header's own ZC_MBUF_INLINE bytes (protocol headers),
 *   frame  - one pool frame, which may be referenced by several segments,
 *   ext    - caller memory with a shared info block: refcount + free callback.
 *
 * A pool is one object with no hidden globals; it is not thread-safe (the
 * stack serialises access). Frame and mbuf accounting:
 *   frames_owned == free + in_flight + lent   (lost frames are no longer owned)
 *   mbufs_total  == mbufs_free + mbufs_in_use
 *
 * The code is in stack/pool/: frames.c (the file, huge pages, create and
 * destroy, frames for drivers), lending.c (trading, lending, refcounts),
 * mbuf.c (headers and chains); pool_priv.h holds what they share.
 */
#ifndef ZC_POOL_H
#define ZC_POOL_H

struct zc_arena;

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZC_MBUF_INLINE 256u   /* bytes of data inside every mbuf header */
#define ZC_MBUF_HEADROOM 128u /* default headroom of an inline mbuf */
#define ZC_HUGE_FRAME (2u << 20)

struct zc_pool;

/* Shared info of an external buffer; the caller owns the storage and sets
 * free_cb, arg and refcnt = 0 before the first attach. free_cb runs when the
 * last segment that references the buffer is freed. */
struct zc_ext_shinfo {
	void (*free_cb)(void *addr, void *arg);
	void *arg;
	uint32_t refcnt;
};

enum zc_mbuf_kind {
	ZC_MBUF_INLINE_BUF = 0,
	ZC_MBUF_FRAME_BUF = 1,
	ZC_MBUF_EXT_BUF = 2,
};

/* Receive/offload flags carried with a packet (head segment). */
#define ZC_MBUF_F_L3_CSUM_OK 0x1u /* the NIC verified the IPv4 header checksum */
#define ZC_MBUF_F_L4_CSUM_OK 0x2u /* the NIC verified the TCP/UDP checksum */
/* Transmit: the NIC fills the TCP/UDP checksum (caps.tx_csum); the field
 * holds the folded, uncomplemented pseudo-header sum (as Linux's
 * CHECKSUM_PARTIAL). */
#define ZC_MBUF_F_TX_L4_CSUM 0x4u
/* Receive: the stack sent it to itself (its own loop queue, ip_output.c);
 * never set by a NIC. */
#define ZC_MBUF_F_LOOP 0x8u

/*
 * One segment of a packet. Invariants (checked by zc_mbuf_check()):
 *   buf <= data && data + len <= buf + buf_len
 *   in a head segment: pkt_len == sum of len over the chain, nb_segs == its length
 *   a segment is referenced by exactly one chain (segments are never shared;
 *   buffers are, through the frame or ext reference counts)
 * Hot receive fields first.
 */
struct zc_mbuf {
	uint8_t *data;          /* first valid byte */
	uint32_t len;           /* valid bytes in this segment */
	uint32_t pkt_len;       /* head only: bytes in the whole chain */
	struct zc_mbuf *next;   /* next segment of this packet, or NULL */
	struct zc_mbuf *nextpkt;/* link for queues of packets; free for users */
	uint16_t nb_segs;       /* head only */
	uint8_t kind;           /* enum zc_mbuf_kind */
	uint8_t flags;          /* ZC_MBUF_F_* (head only) */
	uint32_t frame;         /* frame index when kind == FRAME */
	uint8_t *buf;           /* start of the buffer holding data */
	uint32_t buf_len;       /* size of that buffer */
	uint32_t in_use;        /* 1 while allocated: catches double frees */
	struct zc_pool *pool;
	struct zc_ext_shinfo *shinfo; /* kind == EXT */
	uint64_t tstamp;        /* free for drivers: e.g. receive time */
	uint8_t inline_buf[ZC_MBUF_INLINE] __attribute__((aligned(64)));
};

struct zc_pool_config {
	const char *name;      /* for log lines; may be NULL */
	uint32_t nframes;      /* frames in the backing file (or in the given range) */
	uint32_t nmbufs;       /* mbuf headers; 0 = 4 * nframes + 64 */
	bool huge;             /* ask for 2 MiB frames (falls back to 4 KiB, logged) */
	int fd;                /* -1: the pool makes its own memfd; else a shared file */
	uint64_t offset;       /* with fd >= 0: file offset of frame 0 (page-aligned) */
	uint32_t own_first;    /* frames owned at start: [own_first, own_first+own_count) */
	uint32_t own_count;    /* 0 = all frames */
	/* NULL, or the frames owned at start as a bitmap (bit f of word f/64;
	 * nframes bits): overrides own_first/own_count (a port of a shared
	 * wire that takes over what the previous owner left) */
	const uint64_t *own_map;
	/* NULL: the pool's bookkeeping is this process's (the heap); else it
	 * lives in this arena, shared by every process that maps it (the
	 * frames themselves are in the shared file either way) */
	struct zc_arena *arena;
};

struct zc_pool_stats {
	uint32_t frame_size;
	uint32_t frames_total;   /* frames in the file range */
	uint32_t frames_owned;   /* owned by this pool now */
	uint32_t frames_free;
	uint32_t frames_in_flight; /* held by mbufs, drivers or the stack */
	uint32_t frames_lent;    /* lent out to users (mapped into their buffers) */
	uint32_t frames_lost;    /* given up for good: e.g. still mapped after fork */
	uint32_t frames_leaked;  /* in flight when the pool was destroyed */
	uint32_t mbufs_total;
	uint32_t mbufs_free;
	uint64_t alloc_failures; /* allocations that failed (exhausted or injected) */
	uint64_t injected_failures;
	uint64_t alloc_calls;    /* allocations asked for (frames and mbuf headers), failed or not */
	uint64_t frames_given;   /* frames traded away (zc_pool_give_frame) */
	uint64_t frames_adopted; /* frames traded in */
	uint64_t frames_taken_back; /* lent to a holder gone, come back (zc_pool_take_back) */
};

/* Create a pool. Returns NULL with errno set (EINVAL, ENOMEM, ...) and a log line. */
struct zc_pool *zc_pool_create(const struct zc_pool_config *cfg);
/* Destroy a pool; frames still in flight are counted as leaked and logged.
 * Returns the number of leaked frames plus mbufs still allocated. */
unsigned zc_pool_destroy(struct zc_pool *pool);

void zc_pool_get_stats(const struct zc_pool *pool, struct zc_pool_stats *st);
/* Frames in flight plus mbufs allocated: 0 in a quiescent, leak-free pool. */
unsigned zc_pool_outstanding(const struct zc_pool *pool);

uint32_t zc_pool_frame_size(const struct zc_pool *pool);
uint8_t *zc_pool_frame_addr(const struct zc_pool *pool, uint32_t frame);
int zc_pool_fd(const struct zc_pool *pool);
uint64_t zc_pool_frame_offset(const struct zc_pool *pool, uint32_t frame);
bool zc_pool_owns(const struct zc_pool *pool, uint32_t frame);

/* Allocation-failure injection: the n-th allocation from now (frame or mbuf,
 * counting from 1) fails, then allocations succeed again. n = 0 disarms. */
void zc_pool_fail_nth(struct zc_pool *pool, uint32_t n);

/* Raw frames, for drivers: alloc returns an index (frame refcount 1, in
 * flight) or -1 (ENOBUFS); put drops one reference. */
int64_t zc_pool_frame_alloc(struct zc_pool *pool);
void zc_pool_frame_put(struct zc_pool *pool, uint32_t frame);
uint32_t zc_pool_frame_refcnt(const struct zc_pool *pool, uint32_t frame);

/* Trading. give: an in-flight frame with refcount 1 and no segment on it
 * leaves this pool (returns 0, or -EBUSY/-EINVAL and changes nothing).
 * adopt: a frame of the file that this pool does not own joins it, in
 * flight with refcount 1 (returns 0 or -EINVAL). */
int zc_pool_give_frame(struct zc_pool *pool, uint32_t frame);
int zc_pool_adopt_frame(struct zc_pool *pool, uint32_t frame);

/* Lending to users (page trading): an in-flight frame becomes lent, and a
 * lent frame comes back in flight. lose: a lent frame is given up for good.
 * lend_frame_to names the holder (a process id; 0: nobody in particular),
 * frame_holder tells it (0 for a frame not lent). take_back: every lent
 * frame whose holder gone(holder, arg) says is gone comes back and is put
 * (free again); frames of holder 0 never do. Returns how many came back
 * (counted in zc_pool_stats.taken_back). */
int zc_pool_lend_frame(struct zc_pool *pool, uint32_t frame);
int zc_pool_lend_frame_to(struct zc_pool *pool, uint32_t frame, uint32_t holder);
uint32_t zc_pool_frame_holder(const struct zc_pool *pool, uint32_t frame);
unsigned zc_pool_take_back(struct zc_pool *pool, bool (*gone)(uint32_t holder, void *arg), void *arg);
int zc_pool_unlend_frame(struct zc_pool *pool, uint32_t frame);
int zc_pool_lose_frame(struct zc_pool *pool, uint32_t frame);

/* mbufs. alloc: one inline segment, len 0, data at ZC_MBUF_HEADROOM.
 * alloc_frame: one segment on a fresh frame, data at the frame's start
 * (page-aligned), len 0. attach_frame: one segment on a frame the caller
 * holds a reference to (the reference moves to the segment).
 * All return NULL when exhausted (counted in alloc_failures). */
struct zc_mbuf *zc_mbuf_alloc(struct zc_pool *pool);
struct zc_mbuf *zc_mbuf_alloc_frame(struct zc_pool *pool);
struct zc_mbuf *zc_mbuf_attach_frame(struct zc_pool *pool, uint32_t frame);
/* One segment on caller memory; sh->refcnt counts segments on it. */
struct zc_mbuf *zc_mbuf_attach_ext(struct zc_pool *pool, void *buf, uint32_t buf_len,
				   struct zc_ext_shinfo *sh);

/* Take the frame out of a FRAME segment: the segment becomes an empty inline
 * one and the caller receives its frame reference. Returns the frame index,
 * or -1 (nothing changed) when the segment holds no frame. */
int64_t zc_mbuf_detach_frame(struct zc_mbuf *seg);

/* Free a whole chain (each segment and its buffer reference). NULL is fine. */
void zc_mbuf_free(struct zc_mbuf *m);
/* A new chain of segments over the same buffers (inline data is copied);
 * NULL (and nothing changed) when headers run out. */
struct zc_mbuf *zc_mbuf_clone(struct zc_mbuf *m);
/* One new segment (a packet of its own) over bytes [off, off+len) of
 * segment s's buffer: a frame or ext reference, or a copy of inline bytes.
 * NULL when the range is outside s or headers ran out. */
struct zc_mbuf *zc_mbuf_ref(const struct zc_mbuf *s, uint32_t off, uint32_t len);
/* Append chain t to chain h; h stays the head. */
void zc_mbuf_cat(struct zc_mbuf *h, struct zc_mbuf *t);

/* Edit the packet; each succeeds or changes nothing.
 * prepend: n bytes before data in the head segment; returns the new data
 *   pointer or NULL when headroom is short.
 * append: n bytes after the last segment's data; returns a pointer to them
 *   or NULL when tailroom is short.
 * adj: drop n bytes from the front of the packet (across segments; emptied
 *   segments stay with len 0); trim: drop n bytes from the end. 0 or -EINVAL. */
uint8_t *zc_mbuf_prepend(struct zc_mbuf *m, uint32_t n);
uint8_t *zc_mbuf_append(struct zc_mbuf *m, uint32_t n);
int zc_mbuf_adj(struct zc_mbuf *m, uint32_t n);
int zc_mbuf_trim(struct zc_mbuf *m, uint32_t n);

/* Make the first n bytes (n <= ZC_MBUF_INLINE - ZC_MBUF_HEADROOM) of the
 * packet contiguous in its head segment, moving them from later segments
 * into an inline head (a new head segment when the head is not inline).
 * Returns the head, or NULL after freeing the whole chain when the packet is
 * shorter than n or no header is left (as BSD's m_pullup). */
struct zc_mbuf *zc_mbuf_pullup(struct zc_mbuf *m, uint32_t n);
/* The same, and the head is always an inline segment, so its bytes can be
 * rewritten without touching a frame or buffer that others may share. */
struct zc_mbuf *zc_mbuf_pullup_private(struct zc_mbuf *m, uint32_t n);

/* Copy len bytes at offset off of the packet into dst; returns bytes copied
 * (less when the packet is shorter). */
uint32_t zc_mbuf_copydata(const struct zc_mbuf *m, uint32_t off, uint32_t len, void *dst);
/* Returns 0 when the chain keeps every invariant above, else -EFAULT. */
int zc_mbuf_check(const struct zc_mbuf *m);

#endif

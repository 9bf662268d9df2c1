/*
 * arena.h - a shared-memory arena: one memfd mapped at the same address in
 * every process that uses it, and an allocator over it.
 *
 * The stack's state (TCBs, socket table, pool bookkeeping, timers) lives in
 * one such arena, so that forked children and exec'd images of a program
 * share one stack; the files it maps beside it (frame pools, the wire) are
 * recorded here so that an exec'd image maps them at the same addresses.
 *
 * The same-address rule: the arena is mapped at the address recorded in its
 * header (zc_arena_create tries a fixed hint high in the address space;
 * zc_arena_attach maps there or fails with -EEXIST), so pointers stored
 * inside it are plain absolute pointers, valid in every process, and the
 * struct zc_arena pointer itself is the same everywhere.
 *
 * Allocation: power-of-two slab classes of 16 B .. ZC_ARENA_SLAB_MAX carved
 * from 64 KiB chunks; anything larger is a run of whole pages (page-
 * aligned). Every allocation is at least 16-byte aligned. Freed runs are
 * reused and, when large, their pages go back to the OS.
 *
 * Locking: one process-shared robust mutex guards the allocator. A holder
 * that dies is recovered from by the next locker (counted in
 * lock_recoveries); metadata updates are ordered so that such a death costs
 * at worst a leaked block, never a block handed out twice.
 */
#ifndef ZC_ARENA_H
#define ZC_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ZC_ARENA_ROOTS 16u       /* root slots: how an attacher finds top-level objects */
#define ZC_ARENA_SLAB_MAX 4096u  /* larger allocations are page runs */
#define ZC_ARENA_MIN_SIZE (1u << 20)
#define ZC_ARENA_DEFAULT_MB 1024u
#define ZC_ARENA_MAPS 32u        /* zc_arena_map's mappings at once */
#define ZC_ARENA_FDS 8u          /* zc_arena_keep_fd's descriptors at once */

struct zc_arena;

struct zc_arena_stats {
	uint64_t bytes_in_use;    /* usable bytes of live allocations */
	uint64_t bytes_peak;
	uint64_t allocs;          /* successful allocations (realloc that moves counts) */
	uint64_t frees;
	uint64_t failures;        /* allocations that returned NULL, injected ones included */
	uint64_t injected;        /* failures made by zc_arena_fail_nth */
	uint64_t lock_recoveries; /* lock owners that died holding the lock */
	uint64_t reserved;        /* bytes of the mapping (the memfd's length) */
	uint64_t data_bytes;      /* of which allocatable */
	uint64_t top_bytes;       /* allocatable bytes ever carved (high-water mark) */
};

/* The arena size from ZCS_ARENA_MB (whole MiB), else ZC_ARENA_DEFAULT_MB MiB;
 * a malformed value is logged and ignored. */
size_t zc_arena_default_size(void);

/* Create an arena of size bytes (0: zc_arena_default_size()), rounded up to
 * pages, at least ZC_ARENA_MIN_SIZE. The memfd is sparse: pages cost only
 * once touched. Returns 0 with *out set, or -errno. The fd is close-on-exec;
 * clear FD_CLOEXEC to hand it to an exec'd image. */
int zc_arena_create(size_t size, struct zc_arena **out);

/* Map the arena in fd at the address its header records. Returns 0 with
 * *out set (the arena then owns fd), -EINVAL when fd holds no arena of this
 * version and page size, -EEXIST when something is mapped at that address
 * (nothing is clobbered), or another -errno; on failure the caller keeps fd. */
int zc_arena_attach(int fd, struct zc_arena **out);

/* This process's descriptor of the arena's memfd. */
int zc_arena_fd(const struct zc_arena *a);

/* Unmap the arena and close this process's fd. Others keep their mappings;
 * the memory goes when the last mapping and fd go. */
void zc_arena_detach(struct zc_arena *a);
void zc_arena_destroy(struct zc_arena *a); /* the same as detach */

/* Allocate; NULL with errno ENOMEM on failure. alloc(0) returns a unique
 * 16-byte block. zalloc and calloc zero it; calloc checks n * size for
 * overflow. realloc(NULL, s) allocates, realloc(p, 0) frees and returns
 * NULL; on failure p stays valid (a shrink that cannot move keeps p). */
void *zc_arena_alloc(struct zc_arena *a, size_t size);
void *zc_arena_zalloc(struct zc_arena *a, size_t size);
void *zc_arena_calloc(struct zc_arena *a, size_t n, size_t size);
void *zc_arena_realloc(struct zc_arena *a, void *p, size_t size);
/* Free a block from this arena (NULL is ignored); an invalid pointer aborts. */
void zc_arena_free(struct zc_arena *a, void *p);

/* Is p inside the arena's allocatable area (allocated or not)? */
int zc_arena_owns(const struct zc_arena *a, const void *p);
/* Bytes usable at p, a live allocation (0 for NULL or a pointer not owned). */
size_t zc_arena_usable(const struct zc_arena *a, const void *p);

/* Root slots, i < ZC_ARENA_ROOTS (release store / acquire load); get returns
 * NULL and set -EINVAL for a bad index. */
int zc_arena_set_root(struct zc_arena *a, unsigned i, void *p);
void *zc_arena_get_root(const struct zc_arena *a, unsigned i);

/* Mappings that follow the arena: len bytes of fd at off (MAP_SHARED),
 * aligned to align (a power of two, at least a page), at an address the
 * arena chooses past its own and records, so that zc_arena_remap puts it
 * at the same address in an exec'd image (a fork child has it already).
 * Returns the address, or MAP_FAILED with errno (ENOSPC: ZC_ARENA_MAPS in
 * use). unmap takes an address map returned. */
void *zc_arena_map(struct zc_arena *a, size_t len, size_t align, int prot, int fd, off_t off);
void zc_arena_unmap(struct zc_arena *a, void *addr);
/* A descriptor the arena's processes need that no mapping names (keep 1;
 * keep 0 forgets it). 0, or -ENOSPC. */
int zc_arena_keep_fd(struct zc_arena *a, int fd, int keep);
/* Set (on 1) or clear (on 0) close-on-exec on every descriptor of the
 * arena: its memfd, its mappings' files, the kept descriptors. Cleared,
 * they pass through exec at the same numbers. */
void zc_arena_cloexec(struct zc_arena *a, int on);
/* In an image that has just attached the arena (zc_arena_attach): map
 * every recorded mapping at its address, from the inherited descriptors.
 * 0, or -errno with none of them mapped (EEXIST: an address is taken). */
int zc_arena_remap(struct zc_arena *a);

/* Counters and layout, read under the lock. */
void zc_arena_stats(struct zc_arena *a, struct zc_arena_stats *out);

/* Failure injection: the n-th allocation from now returns NULL (once);
 * n = 0 disarms. */
void zc_arena_fail_nth(struct zc_arena *a, uint64_t n);

/* The allocator's lock, for callers that must exclude it (and for tests of
 * recovery). Not recursive: do not allocate while holding it. Returns 0
 * (recovering a dead owner's lock) or -errno. */
int zc_arena_lock(struct zc_arena *a);
void zc_arena_unlock(struct zc_arena *a);

#endif

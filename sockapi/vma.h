/*
 * vma.h - what maps an address in this process (internal to sockapi/):
 * trading (zerocopy.c) asks whether a buffer is private anonymous memory
 * or a frame it lent there, copy-on-write whether a send's pages may be
 * protected, reclaim and fork which mappings hold pool frames.
 *
 * One mapping is asked of the kernel with the PROCMAP_QUERY ioctl on an
 * open /proc/self/maps (~1.4 us); where the kernel lacks it (before Linux
 * 6.11) /proc/self/maps is read and parsed instead. A scan of every
 * mapping always reads the file.
 */
#ifndef ZC_SOCKAPI_VMA_H
#define ZC_SOCKAPI_VMA_H

#include <stdbool.h>
#include <stdint.h>

#define ZC__VMA_READ 0x1u
#define ZC__VMA_WRITE 0x2u
#define ZC__VMA_SHARED 0x8u

struct zc__vma {
	uintptr_t start, end;
	uint64_t offset, inode;
	unsigned dev_major, dev_minor;
	unsigned flags; /* ZC__VMA_* */
	bool special;   /* [stack], [vdso], ...: never traded into */
};

struct zc__maps {
	int fd;        /* /proc/self/maps, for PROCMAP_QUERY */
	bool procmap;  /* the ioctl works here */
};

void zc__maps_open(struct zc__maps *m);
void zc__maps_close(struct zc__maps *m);
/* The mapping that holds addr: 0, -ENOENT (none) or -errno. */
int zc__vma_at(struct zc__maps *m, const void *addr, struct zc__vma *v);
/* Calls fn for every mapping of the process; -errno when maps is unreadable. */
int zc__maps_each(void (*fn)(const struct zc__vma *v, void *arg), void *arg);

#endif

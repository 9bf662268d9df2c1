/*
 * cow.h - sends by copy-on-write (internal to sockapi/).
 *
 * A page-aligned run of whole pages in a send, from a private anonymous
 * mapping, is not copied: the pages are write-protected with userfaultfd
 * (UFFDIO_REGISTER_MODE_WP, then UFFDIO_WRITEPROTECT) and referenced from
 * the TCP send buffer (zc_tcp_send_ext). When the data is acknowledged the
 * references go; the pages stay protected, so sending the same buffer again
 * costs no system call (protecting is dear here: ~5 us a page).
 *
 * The first write to a protected page, by the application or by the kernel
 * on its behalf (read(2) into it, which mprotect could not catch), stops
 * the writer in the fault; a handler thread then copies the bytes still
 * needed of every send that references the page into pool frames (a
 * deferred copy), waits until the NIC holds no packet on them, and lifts
 * the protection of that page, which lets the writer go on. An application
 * that never rewrites its buffer before the ACK sends with no host copy.
 *
 * Anything else is copied by the caller: file mappings (userfaultfd WP
 * refuses private file mappings with EINVAL; iperf3's buffer is one),
 * shared mappings, the stack, partial pages, and everything when
 * userfaultfd is unavailable (logged once).
 *
 * Memory that leaves: munmap, mremap, MADV_DONTNEED and mprotect of a
 * referenced page. The kernel reports the first three to userfaultfd only
 * once they are under way (the reader of the event releases the caller),
 * too late to copy what they take away, so the caller must call
 * zc__cow_release() before them: the preload shim interposes them, and a
 * native program calls zc_release_range() (socket.h). The handler logs an
 * error when it sees one on memory a send still needed. Writes by the stack
 * itself into user memory (a receive into a protected page) call
 * zc__cow_release() first, as the lock that the handler needs is held then.
 *
 * Policy: never copies; always uses COW for every qualifying run; auto
 * uses it for runs of 256 pages (1 MiB) or more, where zc_bench measured it
 * no slower than a copy (on the Trapeze wire the transmit DMA still copies
 * the pages on the sender's core), and stops using it for a page once the
 * application has written it while a send referenced it.
 */
#ifndef ZC_SOCKAPI_COW_H
#define ZC_SOCKAPI_COW_H

#include "sockapi/mutex.h"
#include "sockapi/socket.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct zc__cow;
struct zc_tcp_sock;

/* lk: the socket layer's lock, which the handler takes; drive: polls the
 * stack (called with lk held) while the handler waits for the NIC. */
/* Every send still by reference becomes a copy (lock held): before a fork,
 * whose child would read other bytes at those addresses. */
void zc__cow_flush(struct zc__cow *c);
struct zc__cow *zc__cow_create(struct zc__mutex *lk, void (*drive)(void *), void *arg);
void zc__cow_destroy(struct zc__cow *c);
void zc__cow_set_policy(struct zc__cow *c, int policy);
/* The smallest send (bytes, page-aligned) the policy sends by reference;
 * SIZE_MAX when none. */
size_t zc__cow_min(const struct zc__cow *c);

/* Send what it can of buf[0, len) by reference (lock held): returns the
 * bytes taken from the front of buf, counted in st; 0: copy them instead;
 * -EAGAIN: they qualify but the send buffer has no room for them yet. */
ssize_t zc__cow_send(struct zc__cow *c, struct zc_tcp_sock *t, const uint8_t *buf, size_t len,
		    struct zc_zstats *st);
/* The stack is about to write [addr, addr+len), or the application to
 * unmap, remap, drop or protect it (lock held): deferred copies of any sends
 * on it and protection lifted; forget: the pages are forgotten too (the
 * next send from them registers them again). */
void zc__cow_release(struct zc__cow *c, const void *addr, size_t len, bool forget);
/* Lock-free and conservative: could [addr, addr+len) hold protected pages? */
bool zc__cow_may_reference(const struct zc__cow *c, const void *addr, size_t len);
/* Totals: deferred copies and their bytes. */
void zc__cow_totals(const struct zc__cow *c, struct zc_zstats *out);

#endif

/*
 * wire_layout.h - the Trapeze wire's shared-memory format: the file both
 * ports map, its header, the two ports' rings, the descriptors and the
 * ownership maps.
 *
 * File /dev/shm/zcwire-NAME:
 *   [ struct zc__tz_shared | padding to a page | frames | ownership maps ]
 * Each port has an SPSC receive ring of descriptors (written by the peer's
 * transmit, read by this port's receive) and an SPSC post ring of free frame
 * indices (written by this port, read by the peer when it trades). Indices
 * are free-running uint32 counters; acquire/release orders the entries.
 *
 * Driver code touches the shared mapping only through the functions here
 * (no offsets, no pointer arithmetic on the region elsewhere); they are
 * inline because every packet goes through them. A descriptor the receiver
 * has copied out of its ring is private memory, validated before use, and
 * is read by field name.
 */
#ifndef ZC_TRAPEZE_WIRE_LAYOUT_H
#define ZC_TRAPEZE_WIRE_LAYOUT_H

#include "nic/trapeze.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define ZC__TZ_PATH_FMT "/dev/shm/zcwire-%s" /* the wire's file, by name */
#define ZC__TZ_IRQ_FMT "%s.irq%d" /* a port's interrupt: a FIFO beside the file */
#define ZC__TZ_PATH_MAX 64u /* room for ZC__TZ_PATH_FMT with a name of ZC_TRAPEZE_NAME_MAX */
#define ZC__TZ_MAGIC 0x5a4354524150455aULL /* "ZCTRAPEZ" */
#define ZC__TZ_VERSION 6u
#define ZC__TZ_RX_RING 256u   /* descriptors per port */
#define ZC__TZ_POST_RING 4096u /* posted frames per port */
#define ZC__TZ_DESC_COPY 0x1u /* pages are the receiver's own posted frames */
#define ZC__TZ_DESC_CSUM 0x2u /* the NIC computed the TCP/UDP checksum over these bytes */
#define ZC__TZ_DESC_PULL 0x4u /* the receiver copies the payload from src[] (sender's frames) */
#define ZC__TZ_DESC_CSUM_REQ 0x8u /* pull: the field holds the pseudo sum, finish it */
#define ZC__TZ_DESC_REF 0x10u /* pull: the receiver may keep references instead (ref names them) */
#define ZC__TZ_MAX_SRC 24u    /* pull: pieces of the sender's frames per packet */
/* References a port may have out at once (ids 0..ZC__TZ_REFS-1): packets
 * whose payload the peer keeps in our frames until it gives the id back
 * through its return ring. */
#define ZC__TZ_REFS 1024u
/* Control message room: headers (<= ZC_TRAPEZE_CTRL_MAX) on the payload
 * paths; a whole small packet (up to this size) travels in it alone, as a
 * Trapeze control message without payload did. */
#define ZC__TZ_CTRL_BYTES 256u

struct zc__tz_src {
	uint32_t frame, off, len;
};

/* What the receiver reads of a small packet comes first: the fixed fields
 * and the control message share the first three cache lines; the page and
 * piece lists follow and are read only as far as npages/nsrc say (every
 * line crossing between the two processes' cores costs ~0.3 us here). */
struct zc__tz_desc {
	uint64_t deliver_at;
	uint32_t payload_len;
	uint16_t ctrl_len;
	uint8_t npages;
	uint8_t flags;
	uint32_t nsrc;
	uint32_t ref; /* ZC__TZ_DESC_REF: the sender's id for this packet's payload */
	uint8_t ctrl[ZC__TZ_CTRL_BYTES];
	uint32_t pages[ZC_TRAPEZE_MAX_PAGES]; /* frames delivered */
	uint32_t taken[ZC_TRAPEZE_MAX_PAGES]; /* receiver's posted frames traded away */
	struct zc__tz_src src[ZC__TZ_MAX_SRC]; /* pull: where the payload lies */
} __attribute__((aligned(64)));

struct zc__tz_port {
	_Atomic int32_t owner_pid;  /* 0: unclaimed */
	_Atomic uint32_t gen;       /* bumped at each claim */
	_Atomic uint32_t sleeping;
	_Atomic uint32_t rx_head __attribute__((aligned(64))); /* written by the peer */
	_Atomic uint32_t rx_tail __attribute__((aligned(64))); /* written by the owner */
	_Atomic uint32_t post_head __attribute__((aligned(64))); /* written by the owner */
	_Atomic uint32_t post_tail __attribute__((aligned(64))); /* written by the peer */
	/* written by the owner: odd while inside a transmit burst (a port that
	 * leaves waits for its peer's burst to end); clean: the owner left in
	 * order, and its frames are listed in its part of the ownership map
	 * after the frames (the next owner of the port takes them over) */
	_Atomic uint32_t tx_seq __attribute__((aligned(64)));
	_Atomic uint32_t clean;
	/* written by the owner: ids of the peer's references (ZC__TZ_DESC_REF)
	 * it is done with, for the peer to free; never more than ZC__TZ_REFS
	 * unread, as the peer re-uses an id only once it has read it here */
	_Atomic uint32_t ret_head __attribute__((aligned(64)));
	struct zc__tz_desc rx[ZC__TZ_RX_RING];
	uint32_t post[ZC__TZ_POST_RING];
	uint32_t ret[ZC__TZ_REFS];
};

struct zc__tz_shared {
	_Atomic uint64_t magic; /* set last, when the file is initialised */
	uint32_t version;
	uint32_t page_size;
	uint32_t mtu;
	uint32_t nframes;
	uint64_t frames_off;
	struct zc__tz_port port[2];
};

/* --- the file ------------------------------------------------------------------ */

/* The header's part of the file, in whole pages: frame 0 starts here. */
static inline size_t zc__tz_shared_len(uint32_t page)
{
	return (sizeof(struct zc__tz_shared) + page - 1) / page * page;
}

/* The ownership map: after the frames, one bitmap of nframes bits per port. */
static inline size_t zc__tz_map_bytes(uint32_t nframes) { return ((size_t)nframes + 63) / 64 * 8; }
/* Both ports' bitmaps, in whole pages (the file's tail). */
static inline size_t zc__tz_maps_len(uint32_t nframes, size_t page)
{
	return (2 * zc__tz_map_bytes(nframes) + page - 1) / page * page;
}
/* Where the maps start in the file. */
static inline size_t zc__tz_maps_off(uint64_t frames_off, uint32_t nframes, size_t page)
{
	return frames_off + (size_t)nframes * page;
}
/* The whole file of a new wire. */
static inline size_t zc__tz_file_len(uint32_t page, uint32_t nframes)
{
	return zc__tz_shared_len(page) + (size_t)nframes * page + zc__tz_maps_len(nframes, page);
}
/* One port's bitmap within the maps mapped at base. */
static inline uint64_t *zc__tz_map_of(void *base, uint32_t nframes, int port)
{
	return (uint64_t *)((uint8_t *)base + (size_t)port * zc__tz_map_bytes(nframes));
}
static inline void zc__tz_map_clear(uint64_t *map, uint32_t nframes)
{
	memset(map, 0, zc__tz_map_bytes(nframes));
}
/* Bit f of word f / 64: the layout zc_pool_config.own_map reads. */
static inline void zc__tz_map_set(uint64_t *map, uint32_t f) { map[f / 64] |= 1ull << (f % 64); }

/* True when the file behind fd has been initialised (its magic is set). */
static inline bool zc__tz_file_ready(int fd)
{
	uint64_t magic = 0;
	return pread(fd, &magic, sizeof(magic), offsetof(struct zc__tz_shared, magic)) == sizeof(magic) &&
	       magic == ZC__TZ_MAGIC;
}

/* --- the header ------------------------------------------------------------------ */

static inline uint32_t zc__tz_version(const struct zc__tz_shared *sh) { return sh->version; }
static inline uint32_t zc__tz_page_size(const struct zc__tz_shared *sh) { return sh->page_size; }
static inline uint32_t zc__tz_mtu(const struct zc__tz_shared *sh) { return sh->mtu; }
static inline uint32_t zc__tz_nframes(const struct zc__tz_shared *sh) { return sh->nframes; }
static inline uint64_t zc__tz_frames_off(const struct zc__tz_shared *sh) { return sh->frames_off; }
static inline struct zc__tz_port *zc__tz_port(struct zc__tz_shared *sh, int port) { return &sh->port[port]; }

/* Reset rings and claims; caller holds the file lock and no live process uses the wire. */
static inline void zc__tz_reset_ports(struct zc__tz_shared *sh)
{
	for (int p = 0; p < 2; p++) {
		struct zc__tz_port *pt = &sh->port[p];
		atomic_store(&pt->owner_pid, 0);
		atomic_store(&pt->sleeping, 0);
		atomic_store(&pt->rx_head, 0);
		atomic_store(&pt->rx_tail, 0);
		atomic_store(&pt->post_head, 0);
		atomic_store(&pt->post_tail, 0);
		atomic_store(&pt->tx_seq, 0);
		atomic_store(&pt->clean, 0);
		atomic_store(&pt->ret_head, 0);
	}
}

/* Initialise a new wire's header (under the file lock); the magic goes last. */
static inline void zc__tz_shared_init(struct zc__tz_shared *sh, uint32_t page, uint32_t mtu, uint32_t nframes)
{
	sh->version = ZC__TZ_VERSION;
	sh->page_size = page;
	sh->mtu = mtu;
	sh->nframes = nframes;
	sh->frames_off = zc__tz_shared_len(page);
	zc__tz_reset_ports(sh);
	atomic_store(&sh->magic, ZC__TZ_MAGIC);
}

/* --- a port's claim and interrupt ---------------------------------------------------- */

static inline int32_t zc__tz_owner(struct zc__tz_port *p, memory_order mo)
{
	return atomic_load_explicit(&p->owner_pid, mo);
}
static inline void zc__tz_set_owner(struct zc__tz_port *p, int32_t pid) { atomic_store(&p->owner_pid, pid); }
static inline uint32_t zc__tz_gen(struct zc__tz_port *p) { return atomic_load(&p->gen); }
static inline void zc__tz_bump_gen(struct zc__tz_port *p) { atomic_fetch_add(&p->gen, 1); }
static inline uint32_t zc__tz_sleeping(struct zc__tz_port *p, memory_order mo)
{
	return atomic_load_explicit(&p->sleeping, mo);
}
static inline void zc__tz_set_sleeping(struct zc__tz_port *p, uint32_t v) { atomic_store(&p->sleeping, v); }
static inline uint32_t zc__tz_clean(struct zc__tz_port *p) { return atomic_load(&p->clean); }
static inline void zc__tz_set_clean(struct zc__tz_port *p, uint32_t v) { atomic_store(&p->clean, v); }
static inline uint32_t zc__tz_tx_seq(struct zc__tz_port *p, memory_order mo)
{
	return atomic_load_explicit(&p->tx_seq, mo);
}
static inline void zc__tz_set_tx_seq(struct zc__tz_port *p, uint32_t v, memory_order mo)
{
	atomic_store_explicit(&p->tx_seq, v, mo);
}

/* --- the rings ------------------------------------------------------------------------ */

static inline uint32_t zc__tz_rx_head(struct zc__tz_port *p, memory_order mo)
{
	return atomic_load_explicit(&p->rx_head, mo);
}
static inline void zc__tz_set_rx_head(struct zc__tz_port *p, uint32_t v, memory_order mo)
{
	atomic_store_explicit(&p->rx_head, v, mo);
}
static inline uint32_t zc__tz_rx_tail(struct zc__tz_port *p, memory_order mo)
{
	return atomic_load_explicit(&p->rx_tail, mo);
}
static inline void zc__tz_set_rx_tail(struct zc__tz_port *p, uint32_t v, memory_order mo)
{
	atomic_store_explicit(&p->rx_tail, v, mo);
}
static inline uint32_t zc__tz_post_head(struct zc__tz_port *p, memory_order mo)
{
	return atomic_load_explicit(&p->post_head, mo);
}
static inline void zc__tz_set_post_head(struct zc__tz_port *p, uint32_t v, memory_order mo)
{
	atomic_store_explicit(&p->post_head, v, mo);
}
static inline uint32_t zc__tz_post_tail(struct zc__tz_port *p, memory_order mo)
{
	return atomic_load_explicit(&p->post_tail, mo);
}
static inline void zc__tz_set_post_tail(struct zc__tz_port *p, uint32_t v, memory_order mo)
{
	atomic_store_explicit(&p->post_tail, v, mo);
}

/* True when a receive ring with these indices has no free slot. */
static inline bool zc__tz_rx_full(uint32_t head, uint32_t tail) { return head - tail >= ZC__TZ_RX_RING; }
/* Descriptor slot i (a free-running index) of port p's receive ring. */
static inline struct zc__tz_desc *zc__tz_rx_slot(struct zc__tz_port *p, uint32_t i)
{
	return &p->rx[i % ZC__TZ_RX_RING];
}

/* Frames posted and not yet taken by the peer. */
static inline uint32_t zc__tz_post_count(struct zc__tz_port *p)
{
	return atomic_load_explicit(&p->post_head, memory_order_relaxed) -
	       atomic_load_explicit(&p->post_tail, memory_order_acquire);
}
/* The entries of port p's post ring the peer has not taken, from *first
 * to the head: the tail is the peer's to write, so a count past the ring's
 * size is a lie, and the ring's last entries are all there can be. */
static inline uint32_t zc__tz_post_pending(struct zc__tz_port *p, uint32_t *first)
{
	uint32_t h = atomic_load_explicit(&p->post_head, memory_order_seq_cst);
	uint32_t n = h - atomic_load_explicit(&p->post_tail, memory_order_seq_cst);
	if (n > ZC__TZ_POST_RING)
		n = ZC__TZ_POST_RING;
	*first = h - n;
	return n;
}
/* Entry i (a free-running index) of port p's post ring. */
static inline uint32_t zc__tz_post_get(const struct zc__tz_port *p, uint32_t i)
{
	return p->post[i % ZC__TZ_POST_RING];
}
static inline void zc__tz_post_set(struct zc__tz_port *p, uint32_t i, uint32_t frame)
{
	p->post[i % ZC__TZ_POST_RING] = frame;
}

/* The return ring: ids of the peer's references this port is done with. */
static inline uint32_t zc__tz_ret_head(struct zc__tz_port *p, memory_order mo)
{
	return atomic_load_explicit(&p->ret_head, mo);
}
static inline void zc__tz_set_ret_head(struct zc__tz_port *p, uint32_t v, memory_order mo)
{
	atomic_store_explicit(&p->ret_head, v, mo);
}
static inline uint32_t zc__tz_ret_get(const struct zc__tz_port *p, uint32_t i) { return p->ret[i % ZC__TZ_REFS]; }
static inline void zc__tz_ret_set(struct zc__tz_port *p, uint32_t i, uint32_t id) { p->ret[i % ZC__TZ_REFS] = id; }

/* --- descriptors in the ring ------------------------------------------------------------- */

/* Receive: copy the fixed fields of slot sd into d (the control message and
 * lists stay for zc__tz_desc_read_rest, once the packet is due). */
static inline void zc__tz_desc_read_fixed(const struct zc__tz_desc *sd, struct zc__tz_desc *d)
{
	memcpy(d, sd, offsetof(struct zc__tz_desc, ctrl));
}
/* The rest of it, as far as d's counts say: the copy is what is checked and
 * used; counts past their arrays are left for the validation to refuse. */
static inline void zc__tz_desc_read_rest(const struct zc__tz_desc *sd, struct zc__tz_desc *d)
{
	if (d->ctrl_len <= ZC__TZ_CTRL_BYTES)
		memcpy(d->ctrl, sd->ctrl, d->ctrl_len);
	if (d->npages <= ZC_TRAPEZE_MAX_PAGES) {
		memcpy(d->pages, sd->pages, d->npages * sizeof(d->pages[0]));
		memcpy(d->taken, sd->taken, d->npages * sizeof(d->taken[0]));
	}
	if ((d->flags & ZC__TZ_DESC_PULL) && d->nsrc <= ZC__TZ_MAX_SRC)
		memcpy(d->src, sd->src, d->nsrc * sizeof(d->src[0]));
}
static inline uint64_t zc__tz_desc_due(const struct zc__tz_desc *sd) { return sd->deliver_at; }
/* Leaving: the frames of ours that an unread descriptor holds (the posted
 * frames it was copied into, or the ones traded away for its pages). */
static inline unsigned zc__tz_desc_npages(const struct zc__tz_desc *sd)
{
	return sd->npages < ZC_TRAPEZE_MAX_PAGES ? sd->npages : ZC_TRAPEZE_MAX_PAGES;
}
static inline uint32_t zc__tz_desc_own_frame(const struct zc__tz_desc *sd, unsigned k)
{
	return (sd->flags & ZC__TZ_DESC_COPY) ? sd->pages[k] : sd->taken[k];
}

/* Transmit (and forging): the fixed fields of slot d. */
static inline void zc__tz_desc_set(struct zc__tz_desc *d, uint8_t flags, uint16_t ctrl_len, uint8_t npages,
				   uint32_t payload_len)
{
	d->flags = flags;
	d->ctrl_len = ctrl_len;
	d->npages = npages;
	d->payload_len = payload_len;
}
static inline void zc__tz_desc_add_flags(struct zc__tz_desc *d, uint8_t flags) { d->flags |= flags; }
static inline void zc__tz_desc_set_due(struct zc__tz_desc *d, uint64_t t) { d->deliver_at = t; }
/* The control message of slot d (ZC__TZ_CTRL_BYTES), to fill. */
static inline uint8_t *zc__tz_desc_ctrl(struct zc__tz_desc *d) { return d->ctrl; }
/* Page k: the frame delivered and the receiver's posted frame taken for it. */
static inline void zc__tz_desc_set_page(struct zc__tz_desc *d, unsigned k, uint32_t page, uint32_t taken)
{
	d->pages[k] = page;
	d->taken[k] = taken;
}
/* Pull: the payload may be kept by reference, under id. */
static inline void zc__tz_desc_set_ref(struct zc__tz_desc *d, uint32_t id)
{
	d->flags |= ZC__TZ_DESC_REF;
	d->ref = id;
}
/* Pull pieces: the count, and piece i (i < ZC__TZ_MAX_SRC). */
static inline void zc__tz_desc_set_nsrc(struct zc__tz_desc *d, uint32_t n) { d->nsrc = n; }
static inline void zc__tz_desc_set_src(struct zc__tz_desc *d, uint32_t i, uint32_t frame, uint32_t off,
				       uint32_t len)
{
	d->src[i] = (struct zc__tz_src){ frame, off, len };
}
/* A forged descriptor starts from zeros. */
static inline void zc__tz_desc_clear(struct zc__tz_desc *d) { memset(d, 0, sizeof(*d)); }

#endif
